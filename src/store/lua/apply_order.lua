-- Makes an owner's counters hold what one order adds at a revision, replacing what an earlier
-- revision added; a revision not newer than the one applied changes nothing. Replays, retries
-- and deliveries racing on two replicas therefore leave each order counted once, as of its
-- latest revision.
-- KEYS[1] contributions hash, KEYS[2] counters hash, KEYS[3] order index zset
-- ARGV[1] order key, ARGV[2] revision, ARGV[3] order time (ms, the index score),
-- ARGV[4..] field, amount, field, amount, ... (integers, none zero)
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local old_rev = tonumber(string.match(old, '^(%d+)'))
  if old_rev >= tonumber(ARGV[2]) then
    return 0
  end
  -- Amounts stay strings: negating text keeps integers exact beyond a double's 2^53.
  for field, amount in string.gmatch(old, ' ([^ =]+)=(%-?%d+)') do
    local negated
    if string.sub(amount, 1, 1) == '-' then
      negated = string.sub(amount, 2)
    else
      negated = '-' .. amount
    end
    redis.call('HINCRBY', KEYS[2], field, negated)
  end
end
local record = ARGV[2]
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
  record = record .. ' ' .. ARGV[i] .. '=' .. ARGV[i + 1]
end
redis.call('HSET', KEYS[1], ARGV[1], record)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
