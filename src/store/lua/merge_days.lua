-- Merges owners' day sketches into their month sketches, in one slot (a count shard).
-- KEYS: pairs of (an owner's day sketch, the same owner's sketch of that day's month).
-- Returns the number of pairs left as they were because a key holds no HyperLogLog.
-- A union: merging a day twice changes nothing, so a run cut short is simply run again. A
-- day sketch that does not exist (the owner had no human click that day) is skipped rather
-- than merged, since PFMERGE would create an empty month sketch for it. A pair whose key
-- holds something else (WRONGTYPE, or INVALIDOBJ for a damaged sketch) is counted and left,
-- and the others are merged: one bad key must not keep every other owner's month from its
-- visitors. Any other error (Redis out of memory, writes refused) ends the script with it,
-- so the caller does not record the day as merged.
if #KEYS % 2 ~= 0 then
  error('reftrack: day and month sketches do not pair up')
end
local refused = 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local merged = redis.pcall('PFMERGE', KEYS[i + 1], KEYS[i])
    if type(merged) == 'table' and merged.err then
      local err = tostring(merged.err)
      if string.find(err, '^WRONGTYPE') or string.find(err, '^INVALIDOBJ') then
        refused = refused + 1
      else
        error(err)
      end
    end
  end
end
return refused
