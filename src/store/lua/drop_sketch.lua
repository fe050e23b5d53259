-- Deletes an old unique-visitor sketch once merged into the count shard, unless it changed
-- since it was read (an old build still running added visitors): then the next run merges it
-- again, which a union allows.
-- KEYS[1] the old sketch, ARGV[1] the bytes that were merged.
-- Returns 1 when deleted, 0 when it changed.
if type(ARGV[1]) ~= 'string' then
  error('reftrack: the merged bytes are missing')
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
