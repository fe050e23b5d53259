-- Gives a coupon code to an influencer, unless another influencer has it.
-- KEYS[1] coupons hash, KEYS[2] influencer hash, KEYS[3] influencer's coupons set
-- ARGV[1] code (lower case), ARGV[2] influencer id
-- Returns 1 added, 0 already this influencer's, -1 no such influencer, -2 influencer
-- disabled (as a link is refused for one), or the owner's id.
-- Keys it writes without reading them first are type-checked before the first write (see
-- checks.lua), so a key holding another type cannot fail a write after others.
check_type(KEYS[3], 'set')
if redis.call('EXISTS', KEYS[2]) == 0 then
  return -1
end
if redis.call('HGET', KEYS[2], 'disabled') == '1' then
  return -2
end
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner == ARGV[2] then
  return 0
end
if owner then
  return owner
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
