-- Makes an owner's counters hold what one order adds at a revision, replacing what an earlier
-- revision added; a revision not newer than the one applied changes nothing. Replays, retries
-- and deliveries racing on two replicas therefore leave each order counted once, as of its
-- latest revision.
-- KEYS[1] contributions hash, KEYS[2] counters hash, KEYS[3] order index zset
-- ARGV[1] order key, ARGV[2] revision, ARGV[3] order time (ms, the index score), or 'gone'
-- when the order no longer belongs to this owner (then no amounts follow: what it added is
-- taken back and it leaves the index, while its revision stays recorded so that an older
-- revision arriving late cannot add it back),
-- ARGV[4..] field, amount, field, amount, ... (integers within MAX_AMOUNT, none zero)
-- Everything is checked before the first write (see checks.lua).
local rev = integer(ARGV[2], 'revision', MAX_COUNTER)
local gone = ARGV[3] == 'gone'
if gone then
  if #ARGV ~= 3 then
    error('reftrack: an owner the order left gets no amounts')
  end
else
  integer(ARGV[3], 'order time', MAX_COUNTER)
end
if #ARGV % 2 ~= 1 then
  error('reftrack: fields and amounts do not pair up')
end
check_type(KEYS[3], 'zset')
local old = redis.call('HGET', KEYS[1], ARGV[1])
local deltas = {}
if old then
  -- What the applied revision added: `<revision>( <field>=<amount>)*`, read whole; anything
  -- else is damage, refused rather than half read (an amount skipped would never be taken
  -- back).
  local old_rev, rest = string.match(old, '^(%d+)(.*)$')
  old_rev = integer(old_rev, 'applied revision of ' .. ARGV[1], MAX_COUNTER)
  if old_rev >= rev then
    return 0
  end
  local at = 1
  while at <= #rest do
    local field, amount, after = string.match(rest, '^ ([^ =]+)=(%-?%d+)()', at)
    if not field then
      error('reftrack: the applied record of ' .. ARGV[1] .. ' is damaged: ' .. old)
    end
    deltas[field] = (deltas[field] or 0) - integer(amount, 'applied ' .. field, MAX_AMOUNT)
    at = after
  end
end
local record = ARGV[2]
for i = 4, #ARGV, 2 do
  local amount = integer(ARGV[i + 1], ARGV[i], MAX_AMOUNT)
  deltas[ARGV[i]] = (deltas[ARGV[i]] or 0) + amount
  record = record .. ' ' .. ARGV[i] .. '=' .. ARGV[i + 1]
end
check_counters(KEYS[2], deltas)
add_to_money_counters(KEYS[2], deltas)
redis.call('HSET', KEYS[1], ARGV[1], record)
if gone then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
return 1
