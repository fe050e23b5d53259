-- Changes fields of an existing link and announces the change to every replica's cache.
-- KEYS[1] link hash, KEYS[2] changes stream
-- ARGV[1] code, ARGV[2] changes stream max length, ARGV[3..] field, value, ...
-- Returns 1 updated, 0 no such link.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'link', ARGV[1])
return 1
