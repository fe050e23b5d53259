-- Renews (ARGV[3] 'renew', for ARGV[2] ms) or releases (ARGV[3] 'release') the lease KEYS[1]
-- if it is still held under token ARGV[1]. Returns 1 when done, 0 when the lease is another's
-- or gone.
if type(ARGV[1]) ~= 'string' or #ARGV[1] == 0 then
  error('reftrack: the lease token is missing')
end
local ms = integer(ARGV[2], 'lease ms', MAX_COUNTER)
if ARGV[3] ~= 'renew' and ARGV[3] ~= 'release' then
  error('reftrack: a lease is renewed or released, not: ' .. tostring(ARGV[3]))
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ms)
else
  redis.call('DEL', KEYS[1])
end
return 1
