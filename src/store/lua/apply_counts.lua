-- Adds a batch's click counts to the counters of the owners (links and influencers) of one
-- count shard, once.
-- KEYS[1] the shard's applied-batches hash; then one counters hash per owner, in ARGV's order.
-- ARGV[1] writer instance id, ARGV[2] batch sequence number, ARGV[3] ttl of KEYS[1] in seconds,
-- ARGV[4..] one group per owner: T (1 to keep its counters a hash table, else 0), F (counter
-- fields), then F field/increment pairs.
-- Returns 1 when applied, 0 when the batch had been applied already, or, when applied with
-- counters that refused their increment, those counters as key, field, key, field...
-- A counter refuses alone: a damaged field (not an integer, or at the end of Redis' range) or
-- a key that is not a hash. Redis changes nothing for a refused HINCRBY, and the rest of the
-- batch is counted; an error part-way would leave the batch recorded as applied with its
-- later owners never counted (a retry returns 0). The writer logs and counts what is refused.
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
-- Every argument is checked before the first write, with string patterns rather than the
-- shared integer() (checks.lua): this script runs two checks per owner per flush, and at
-- 10,000 links in play its checks had cost more than its writes. A count is digits without
-- a leading zero (no sign, exponent, spaces or `007`, which HINCRBY would refuse part-way),
-- under 10^9; a field is a click counter of a day or a month (`h:`, `b:`, `s:`). The
-- counters are not read for an overflow check: a batch adds under 10^9 to a field, so
-- reaching 2^62 would take over four billion batches, and reading them would double the
-- flush's cost.
local MAX_ITEMS = 100000000
local seq = integer(ARGV[2], 'batch number', MAX_COUNTER)
integer(ARGV[3], 'ttl', MAX_COUNTER)

-- Checks the groups; returns the index of each group's first ARGV and its key's, in order.
local function checked_groups()
  local groups = {}
  local i, k = 4, 2
  while i <= #ARGV do
    local flag = ARGV[i]
    local fields = integer(ARGV[i + 1], 'field count', MAX_ITEMS)
    local last = i + 1 + 2 * fields
    if (flag ~= '0' and flag ~= '1') or fields < 0 or KEYS[k] == nil or last > #ARGV then
      error('reftrack: a group does not match its keys')
    end
    for j = i + 2, last, 2 do
      if not string.find(ARGV[j], '^[hbs]:[dm]:%d+$') then
        error('reftrack: not a click counter field: ' .. ARGV[j])
      end
      local count = ARGV[j + 1]
      if #count > 9 or not (count == '0' or string.find(count, '^[1-9]%d*$')) then
        error('reftrack: a click count of ' .. ARGV[j] .. ' is not 0 to 999999999: ' .. count)
      end
    end
    groups[#groups + 1] = { i, k }
    i, k = last + 1, k + 1
  end
  if k ~= #KEYS + 1 then
    error('reftrack: keys and groups do not pair up')
  end
  return groups
end

local groups = checked_groups()
local last = integer(redis.call('HGET', KEYS[1], ARGV[1]) or '0', 'applied batch', MAX_COUNTER)
if seq <= last then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
-- A refused HINCRBY answers a table ({err = ...}), a counted one a number; the check is
-- written out at each call rather than in a function, as it runs for every counter a flush
-- writes.
local refused = {}
for _, group in ipairs(groups) do
  local i, counts = group[1], KEYS[group[2]]
  local last_field = i + 2 * tonumber(ARGV[i + 1])
  if last_field > i then
    local now = redis.pcall('HINCRBY', counts, ARGV[i + 2], ARGV[i + 3])
    if type(now) == 'table' then
      refused[#refused + 1] = counts
      refused[#refused + 1] = ARGV[i + 2]
    elseif ARGV[i] == '1' and now == tonumber(ARGV[i + 3]) then
      redis.call('HSETNX', counts, TABLE_FIELD, TABLE_NOTE)
    end
  end
  for j = i + 4, last_field, 2 do
    if type(redis.pcall('HINCRBY', counts, ARGV[j], ARGV[j + 1])) == 'table' then
      refused[#refused + 1] = counts
      refused[#refused + 1] = ARGV[j]
    end
  end
end
if #refused > 0 then
  return refused
end
return 1
