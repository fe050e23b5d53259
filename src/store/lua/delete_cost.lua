-- Deletes a cost and takes its amount out of the owner's counters, if the cost is still the
-- one read (so two deletions of one cost subtract it once).
-- KEYS[1] costs hash, KEYS[2] counters hash
-- ARGV[1] cost id, ARGV[2] cost as read (JSON), ARGV[3] negated amount, ARGV[4..] counter fields
-- Returns 1 deleted, 0 not there (any more).
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 4, #ARGV do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[3])
end
return 1
