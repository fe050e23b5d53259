-- Creates a link if its code is free and its influencer is active.
-- KEYS[1] link hash, KEYS[2] influencer hash, KEYS[3] influencer's links zset, KEYS[4] changes stream,
-- KEYS[5] influencers' last-change zset, KEYS[6] every link's zset, KEYS[7] (when the link
-- belongs to a campaign) the campaign's links zset
-- ARGV[1] code, ARGV[2] created_ms, ARGV[3] changes stream max length, ARGV[4..] field, value, ...
-- The change is appended to the stream and its time (the entry id's milliseconds) noted against
-- the influencer, so a replica that missed trimmed entries reloads only the influencers changed.
-- Returns 1 created, 0 code taken, -1 no such influencer, -2 influencer disabled.
-- Keys it writes without reading them first are type-checked before the first write (see
-- checks.lua), so a key holding another type cannot fail a write after others.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for _, k in ipairs({3, 5, 6, 7}) do
  if KEYS[k] then
    check_type(KEYS[k], 'zset')
  end
end
check_type(KEYS[4], 'stream')
if redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
if redis.call('HGET', KEYS[2], 'disabled') == '1' then
  return -2
end
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[1], 'created_ms', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
if KEYS[7] then
  redis.call('ZADD', KEYS[7], ARGV[2], ARGV[1])
end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'link', ARGV[1])
redis.call('ZADD', KEYS[5], string.match(id, '^%d+'), redis.call('HGET', KEYS[1], 'influencer_id'))
return 1
