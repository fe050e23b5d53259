-- Adds a staging hash's click counters (see stage_clicks.lua) to an owner's counters in its
-- count shard, once per staging token.
-- KEYS[1] the owner's click counters in the shard, KEYS[2] the shard's migration markers
--   (old key -> token of the staging applied).
-- ARGV[1] the old counters key, ARGV[2] the staging token, ARGV[3..] field, value pairs.
-- Returns 1 when added, 0 when this staging had been added already.
-- Day and month buckets are added; year buckets are dropped, since a year's clicks are read
-- as the sum of its months.
local token = ARGV[2]
if type(ARGV[1]) ~= 'string' or #ARGV[1] == 0 then
  error('reftrack: the old counters key is missing')
end
if type(token) ~= 'string' or not string.match(token, '^%x+$') or #token > 64 then
  error('reftrack: the staging token is not hex: ' .. tostring(token))
end
if #ARGV % 2 ~= 0 then
  error('reftrack: fields and values do not pair up')
end
local deltas = {}
for i = 3, #ARGV, 2 do
  if not is_click_field(ARGV[i]) then
    error('reftrack: not a click field: ' .. tostring(ARGV[i]))
  end
  local value = integer(ARGV[i + 1], 'counter ' .. ARGV[i], MAX_COUNTER)
  if value < 0 then
    error('reftrack: a click count is negative: ' .. ARGV[i])
  end
  if not string.match(ARGV[i], '^%a:y:') then
    deltas[ARGV[i]] = (deltas[ARGV[i]] or 0) + value
  end
end
if redis.call('HGET', KEYS[2], ARGV[1]) == token then
  return 0
end
check_counters(KEYS[1], deltas)
add_to_counters(KEYS[1], deltas)
redis.call('HSET', KEYS[2], ARGV[1], token)
return 1
