-- Adds a batch's clicks to the counters and unique-visitor sketches of the owners (links and
-- influencers) of one count shard, once.
-- KEYS[1] the shard's applied-batches hash; then, per owner in ARGV's order, its counters hash
--   followed by one sketch key per sketch the owner's group names.
-- ARGV[1] writer instance id, ARGV[2] batch sequence number, ARGV[3] ttl of KEYS[1] in seconds,
-- ARGV[4..] one group per owner: F (counter fields), S (sketches), F field/increment pairs,
--   then per sketch V (visitors) and V visitors (8-byte hashes).
-- Returns 1 when applied, 0 when the batch had been applied already.
-- A writer applies its batches in order and retries a failed one before the next, so a batch
-- whose number is not above the last one applied here has been counted already.
-- Every argument is checked before the first write (see checks.lua). The counters are not read
-- for an overflow check: a batch adds at most the writer's buffer (10^6 clicks), so reaching
-- 2^62 would take over four trillion batches, and reading them would double the flush's cost.
local MAX_BATCH = 100000000
local MAX_ITEMS = 100000000
-- unpack() of more values than this overflows Lua's C stack.
local CHUNK = 4000
local seq = integer(ARGV[2], 'batch number', MAX_COUNTER)
integer(ARGV[3], 'ttl', MAX_COUNTER)

-- Walks the groups; with `write`, applies them, otherwise only checks them.
local function walk(write)
  local i, k = 4, 2
  while i <= #ARGV do
    local fields = integer(ARGV[i], 'field count', MAX_ITEMS)
    local sketches = integer(ARGV[i + 1], 'sketch count', MAX_ITEMS)
    local counts = KEYS[k]
    if fields < 0 or sketches < 0 or counts == nil then
      error('reftrack: a group does not match its keys')
    end
    i, k = i + 2, k + 1
    for j = i, i + 2 * fields - 1, 2 do
      if write then
        redis.call('HINCRBY', counts, ARGV[j], ARGV[j + 1])
      elseif ARGV[j + 1] == nil or integer(ARGV[j + 1], ARGV[j], MAX_BATCH) < 0 then
        error('reftrack: a click count is missing or goes down: ' .. tostring(ARGV[j]))
      end
    end
    i = i + 2 * fields
    for _ = 1, sketches do
      local visitors = integer(ARGV[i] or '', 'visitor count', MAX_ITEMS)
      local sketch = KEYS[k]
      if visitors < 1 or sketch == nil or i + visitors > #ARGV then
        error('reftrack: a sketch does not match its keys or visitors')
      end
      for first = i + 1, i + visitors, CHUNK do
        local last = math.min(first + CHUNK - 1, i + visitors)
        if write then
          redis.call('PFADD', sketch, unpack(ARGV, first, last))
        else
          for j = first, last do
            if #ARGV[j] ~= 8 then
              error('reftrack: a visitor is not an 8-byte hash')
            end
          end
        end
      end
      i, k = i + 1 + visitors, k + 1
    end
  end
  if k ~= #KEYS + 1 then
    error('reftrack: keys and groups do not pair up')
  end
end

walk(false)
local last = integer(redis.call('HGET', KEYS[1], ARGV[1]) or '0', 'applied batch', MAX_COUNTER)
if seq <= last then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
walk(true)
return 1
