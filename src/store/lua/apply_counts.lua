-- Adds a batch of click counts to one counters hash, once.
-- KEYS[1] applied-batches hash, KEYS[2] counters hash
-- ARGV[1] writer instance id, ARGV[2] batch sequence number, ARGV[3] ttl of KEYS[1] in seconds,
-- ARGV[4..] field, increment, field, increment, ...
-- A writer applies its batches in order and retries a failed one before the next, so a batch
-- whose number is not above the last one applied has been counted already.
-- Every argument is checked before the first write (see checks.lua). The counters are not read
-- for an overflow check: a batch adds at most the writer's buffer (10^6 clicks), so reaching
-- 2^62 would take over four trillion batches, and reading them would double the flush's cost.
local MAX_BATCH = 100000000
local seq = integer(ARGV[2], 'batch number', MAX_COUNTER)
integer(ARGV[3], 'ttl', MAX_COUNTER)
if #ARGV % 2 ~= 1 then
  error('reftrack: fields and increments do not pair up')
end
for i = 5, #ARGV, 2 do
  if integer(ARGV[i], ARGV[i - 1], MAX_BATCH) < 0 then
    error('reftrack: a click count does not go down: ' .. ARGV[i - 1])
  end
end
local last = integer(redis.call('HGET', KEYS[1], ARGV[1]) or '0', 'applied batch', MAX_COUNTER)
if seq <= last then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
