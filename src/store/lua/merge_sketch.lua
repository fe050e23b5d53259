-- Merges a unique-visitor sketch read from the layout before the count shards (another slot
-- on a cluster, so PFMERGE cannot reach it) into an owner's sketch in its count shard.
-- A union: merging the same sketch twice changes nothing, so no marker is needed.
-- KEYS[1] the owner's sketch in the shard, KEYS[2] a scratch key in the same slot.
-- ARGV[1] the old sketch's bytes (GET of a HyperLogLog).
-- Checked before the first write: the bytes are a HyperLogLog's (the `HYLL` header; dense ones
-- of their fixed size). PFMERGE checks the rest, and the scratch key is deleted either way.
local hll = ARGV[1]
if type(hll) ~= 'string' or #hll < 16 or string.sub(hll, 1, 4) ~= 'HYLL' then
  error('reftrack: not a HyperLogLog')
end
local encoding = string.byte(hll, 5)
if not (encoding == 1 or (encoding == 0 and #hll == 16 + 12288)) then
  error('reftrack: a HyperLogLog of unknown encoding or size')
end
redis.call('SET', KEYS[2], hll)
local merged = redis.pcall('PFMERGE', KEYS[1], KEYS[2])
redis.call('DEL', KEYS[2])
if type(merged) == 'table' and merged.err then
  error('reftrack: the old sketch does not merge: ' .. merged.err)
end
return 1
