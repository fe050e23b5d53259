-- Changes fields of an existing link and announces the change to every replica's cache.
-- KEYS[1] link hash, KEYS[2] changes stream, KEYS[3] influencers' last-change zset
-- ARGV[1] code, ARGV[2] changes stream max length, ARGV[3..] field, value, ...
-- The change's time (the stream entry id's milliseconds) is noted against the link's influencer.
-- Returns 1 updated, 0 no such link.
-- Keys it writes without reading them first are type-checked before the first write (see
-- checks.lua), so a key holding another type cannot fail a write after others.
check_type(KEYS[1], 'hash')
check_type(KEYS[2], 'stream')
check_type(KEYS[3], 'zset')
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'link', ARGV[1])
redis.call('ZADD', KEYS[3], string.match(id, '^%d+'), redis.call('HGET', KEYS[1], 'influencer_id'))
return 1
