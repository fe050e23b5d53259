-- Records a cost and adds its amount to the owner's counters, once.
-- KEYS[1] costs hash, KEYS[2] counters hash
-- ARGV[1] cost id, ARGV[2] cost (JSON), ARGV[3] amount, ARGV[4..] counter fields
-- Returns 1 recorded, 0 the id existed. Everything is checked before the first write.
local amount = integer(ARGV[3], 'cost amount', MAX_AMOUNT)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return 0
end
local deltas = same_amount(amount, 4)
check_counters(KEYS[2], deltas)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
add_to_money_counters(KEYS[2], deltas)
return 1
