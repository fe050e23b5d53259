-- Clears what a migration step left once the next step is done, only if it is still that
-- step's: a staging hash (ARGV[3] 'key': deletes KEYS[1]) or a marker (ARGV[3] 'field':
-- deletes field ARGV[1] of KEYS[1]), when field ARGV[1] of KEYS[1] holds ARGV[2].
-- Returns 1 when cleared, 0 when it held something else (or nothing).
if type(ARGV[1]) ~= 'string' or type(ARGV[2]) ~= 'string' then
  error('reftrack: the field and the value to compare are missing')
end
if ARGV[3] ~= 'key' and ARGV[3] ~= 'field' then
  error('reftrack: what to clear is neither key nor field: ' .. tostring(ARGV[3]))
end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
if ARGV[3] == 'key' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
