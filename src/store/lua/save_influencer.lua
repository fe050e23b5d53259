-- Creates or updates an influencer, keeping handles unique.
-- KEYS[1] handles hash, KEYS[2] influencer hash, KEYS[3] influencer index zset,
-- KEYS[4] changes stream, KEYS[5] influencers' last-change zset
-- ARGV[1] id, ARGV[2] handle, ARGV[3] created_ms, ARGV[4] 1 to create / 0 to update,
-- ARGV[5] changes stream max length, ARGV[6..] field, value, ... ; the value '' removes a field.
-- An update is appended to the stream and its time (the entry id's milliseconds) noted against
-- the influencer.
-- Returns 1 when saved, 0 when the handle belongs to someone else, -1 when updating an
-- influencer that does not exist, -2 when creating one that exists.
-- Keys it writes without reading them first are type-checked before the first write (see
-- checks.lua), so a key holding another type cannot fail a write after others.
check_type(KEYS[2], 'hash')
check_type(KEYS[3], 'zset')
check_type(KEYS[4], 'stream')
check_type(KEYS[5], 'zset')
local exists = redis.call('EXISTS', KEYS[2]) == 1
if ARGV[4] == '1' and exists then
  return -2
end
if ARGV[4] == '0' and not exists then
  return -1
end
local owner = redis.call('HGET', KEYS[1], ARGV[2])
if owner and owner ~= ARGV[1] then
  return 0
end
local old = redis.call('HGET', KEYS[2], 'handle')
if old and old ~= ARGV[2] then
  redis.call('HDEL', KEYS[1], old)
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], 'handle', ARGV[2])
for i = 6, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[2], ARGV[i])
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[2], 'created_ms', ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
else
  local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'influencer', ARGV[1])
  redis.call('ZADD', KEYS[5], string.match(id, '^%d+'), ARGV[1])
end
return 1
