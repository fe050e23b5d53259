-- Replaces an order's record if nobody has written it since it was read (compare-and-set).
-- KEYS[1] order hash
-- ARGV[1] revision read ('0' when there was no record), ARGV[2] new state (JSON)
-- Returns 1 saved (the record is now at revision ARGV[1] + 1), 0 someone else wrote first.
local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', tonumber(rev) + 1, 'state', ARGV[2])
return 1
