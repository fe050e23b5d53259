-- Adds a batch of click counts to one counters hash, once.
-- KEYS[1] applied-batches hash, KEYS[2] counters hash
-- ARGV[1] writer instance id, ARGV[2] batch sequence number, ARGV[3] ttl of KEYS[1] in seconds,
-- ARGV[4..] field, increment, field, increment, ...
-- A writer applies its batches in order and retries a failed one before the next, so a batch
-- whose number is not above the last one applied has been counted already.
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local seq = tonumber(ARGV[2])
if seq <= last then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
for i = 4, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
