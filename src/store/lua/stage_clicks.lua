-- Moves an owner's click counters of the layout before the count shards out of its old
-- counters hash into a staging hash in the same slot, so the migration adds a fixed set of
-- figures to the count shard however the old hash changes meanwhile (an old build still
-- running keeps counting into it; the next run moves those).
-- KEYS[1] the old counters hash, KEYS[2] the staging hash.
-- ARGV[1] the staging token, ARGV[2..] the click fields to move (`h:`, `b:`, `s:` and a
--   `d:`, `m:` or `y:` bucket).
-- Returns the staging hash (HGETALL, `_token` among its fields): an unfinished one when it
-- exists (nothing moved then), otherwise the one made now, empty when none of the fields was
-- there.
-- Only the named click fields leave the old hash: its order, money and cost fields stay.
local token = ARGV[1]
if type(token) ~= 'string' or not string.match(token, '^%x+$') or #token > 64 then
  error('reftrack: the staging token is not hex: ' .. tostring(token))
end
for i = 2, #ARGV do
  if not is_click_field(ARGV[i]) then
    error('reftrack: not a click field: ' .. tostring(ARGV[i]))
  end
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.call('HGETALL', KEYS[2])
end
local moved = {}
for i = 2, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value then
    integer(value, 'counter ' .. ARGV[i], MAX_COUNTER)
    moved[#moved + 1] = ARGV[i]
    moved[#moved + 1] = value
  end
end
if #moved == 0 then
  return {}
end
for i = 1, #moved, 2 do
  redis.call('HSET', KEYS[2], moved[i], moved[i + 1])
  redis.call('HDEL', KEYS[1], moved[i])
end
redis.call('HSET', KEYS[2], '_token', token)
return redis.call('HGETALL', KEYS[2])
