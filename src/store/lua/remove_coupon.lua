-- Takes a coupon code from an influencer, if it is theirs.
-- KEYS[1] coupons hash, KEYS[2] influencer's coupons set
-- ARGV[1] code (lower case), ARGV[2] influencer id
-- Returns 1 removed, 0 not this influencer's code.
-- Keys it writes without reading them first are type-checked before the first write (see
-- checks.lua), so a key holding another type cannot fail a write after others.
check_type(KEYS[2], 'set')
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
