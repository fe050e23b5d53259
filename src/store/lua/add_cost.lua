-- Records a cost and adds its amount to the owner's counters, once.
-- KEYS[1] costs hash, KEYS[2] counters hash
-- ARGV[1] cost id, ARGV[2] cost (JSON), ARGV[3] amount, ARGV[4..] counter fields
-- Returns 1 recorded, 0 the id existed.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
for i = 4, #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[3])
end
return 1
