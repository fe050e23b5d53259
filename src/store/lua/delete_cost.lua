-- Deletes a cost and takes its amount out of the owner's counters, if the cost is still the
-- one read (so two deletions of one cost subtract it once).
-- KEYS[1] costs hash, KEYS[2] counters hash
-- ARGV[1] cost id, ARGV[2] cost as read (JSON), ARGV[3] negated amount, ARGV[4..] counter fields
-- Returns 1 deleted, 0 not there (any more). Everything is checked before the first write.
local amount = integer(ARGV[3], 'cost amount', MAX_AMOUNT)
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
local deltas = same_amount(amount, 4)
check_counters(KEYS[2], deltas)
redis.call('HDEL', KEYS[1], ARGV[1])
add_to_money_counters(KEYS[2], deltas)
return 1
