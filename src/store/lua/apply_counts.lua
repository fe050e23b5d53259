-- Adds a batch's click counts to the counters of the owners (links and influencers) of one
-- count shard, once.
-- KEYS[1] the shard's applied-batches hash; then one counters hash per owner, in ARGV's order.
-- ARGV[1] writer instance id, ARGV[2] batch sequence number, ARGV[3] ttl of KEYS[1] in seconds,
-- ARGV[4..] one group per owner: T (1 to keep its counters a hash table, else 0), F (counter
-- fields), then F field/increment pairs.
-- Returns 1 when applied, 0 when the batch had been applied already.
-- A writer applies its batches in order and retries a failed one before the next, so a batch
-- whose number is not above the last one applied here has been counted already.
-- Unique-visitor sketches are not here: adding a visitor twice changes no sketch, so they go
-- as plain PFADDs beside this script, which keeps the visitors (most of a batch's arguments)
-- out of Lua.
-- An influencer's counters are kept a hash table (T = 1, see keys.rs field::TABLE): a report
-- names a dozen or more of their fields for a long range, and a list is searched from its
-- start for each. A link's stay a list (about a quarter of the memory; a flush touches ten
-- times as many of them, and reports of links are paged). TABLE_FIELD is set when the
-- group's first field is new (a group starts with a day field, so this is the owner's first
-- flush of a day, or a new owner): only that reply is looked at, and most flushes add nothing.
-- Every argument is checked before the first write (see checks.lua). The counters are not read
-- for an overflow check: a batch adds at most the writer's buffer (10^6 clicks), so reaching
-- 2^62 would take over four trillion batches, and reading them would double the flush's cost.
local MAX_BATCH = 100000000
local MAX_ITEMS = 100000000
local seq = integer(ARGV[2], 'batch number', MAX_COUNTER)
integer(ARGV[3], 'ttl', MAX_COUNTER)

-- Walks the groups; with `write`, applies them, otherwise only checks them.
local function walk(write)
  local i, k = 4, 2
  while i <= #ARGV do
    local as_table = integer(ARGV[i], 'table flag', 1)
    local fields = integer(ARGV[i + 1], 'field count', MAX_ITEMS)
    local counts = KEYS[k]
    if as_table < 0 or fields < 0 or counts == nil or i + 1 + 2 * fields > #ARGV then
      error('reftrack: a group does not match its keys')
    end
    for j = i + 2, i + 1 + 2 * fields, 2 do
      if write then
        local now = redis.call('HINCRBY', counts, ARGV[j], ARGV[j + 1])
        if as_table == 1 and j == i + 2 and now == tonumber(ARGV[j + 1]) then
          redis.call('HSETNX', counts, TABLE_FIELD, TABLE_NOTE)
        end
      elseif integer(ARGV[j + 1], ARGV[j], MAX_BATCH) < 0 then
        error('reftrack: a click count goes down: ' .. tostring(ARGV[j]))
      end
    end
    i, k = i + 2 + 2 * fields, k + 1
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
