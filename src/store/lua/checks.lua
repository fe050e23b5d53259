-- Checks shared by the scripts that change counters; prepended to each of them (see
-- scripts.rs). Every script runs all of its checks before its first write, so a script either
-- applies whole or changes nothing: an error part-way would leave some counters changed and a
-- retry would change them again.
--
-- Amounts are bounded at the edge to 10^12 minor units (money::MAX_AMOUNT_MINOR), so they and
-- their differences are exact in Lua's doubles (below 2^53). Counters are kept within 2^62,
-- far inside Redis' signed 64-bit integers; a double's rounding at that size (under 1024) is
-- nothing against the margin to 2^63.
local MAX_AMOUNT = 1000000000000
local MAX_COUNTER = 4611686018427387904

-- The integer a script argument or stored amount holds, within +-limit; an error otherwise.
local function integer(text, what, limit)
  if type(text) ~= 'string' or #text > 20 or not string.match(text, '^%-?%d+$') then
    error('reftrack: ' .. what .. ' is not an integer: ' .. tostring(text))
  end
  local value = tonumber(text)
  if value > limit or value < -limit then
    error('reftrack: ' .. what .. ' is out of bounds: ' .. text)
  end
  return value
end

-- Fields read by one HMGET at most: unpack() fails past about 8,000 values (Lua's stack), and
-- an owner of many years has more click fields than that.
local READ_CHUNK = 1000

-- Refuses, before any write, changes that would take a counter of hash `key` beyond
-- MAX_COUNTER either way. `deltas` maps field to change.
local function check_counters(key, deltas)
  local fields = {}
  for field in pairs(deltas) do
    fields[#fields + 1] = field
  end
  for first = 1, #fields, READ_CHUNK do
    local last = math.min(first + READ_CHUNK - 1, #fields)
    local current = redis.call('HMGET', key, unpack(fields, first, last))
    for i = first, last do
      local field = fields[i]
      local now = integer(current[i - first + 1] or '0', 'counter ' .. field, MAX_COUNTER)
      local after = now + deltas[field]
      if after > MAX_COUNTER or after < -MAX_COUNTER then
        error('reftrack: counter ' .. field .. ' would leave its bounds')
      end
    end
  end
end

-- Refuses, before any write, a key a script writes without reading it first when it holds
-- something other than `kind` (a Redis type name): the write would fail after the others.
local function check_type(key, kind)
  local held = redis.call('TYPE', key)['ok']
  if held ~= kind and held ~= 'none' then
    error('reftrack: ' .. key .. ' holds a ' .. tostring(held) .. ', not a ' .. kind)
  end
end

-- An integer as the decimal text HINCRBY takes.
local function text(value)
  return string.format('%d', value)
end

-- The same `amount` for each counter field named from ARGV[first] on (a field named twice
-- gets it twice).
local function same_amount(amount, first)
  local deltas = {}
  for i = first, #ARGV do
    deltas[ARGV[i]] = (deltas[ARGV[i]] or 0) + amount
  end
  return deltas
end

-- Applies checked `deltas` to the counters of hash `key`; call after check_counters.
local function add_to_counters(key, deltas)
  for field, delta in pairs(deltas) do
    if delta ~= 0 then
      redis.call('HINCRBY', key, field, text(delta))
    end
  end
end

-- Applies checked `deltas` to the money counters of hash `key`, first giving it the field
-- TABLE_FIELD (inlined in front of these checks by scripts.rs) whose long value makes Redis
-- keep the hash as a hash table: reports then look up their fields rather than search a list
-- (keys.rs, field::TABLE).
local function add_to_money_counters(key, deltas)
  redis.call('HSETNX', key, TABLE_FIELD, TABLE_NOTE)
  add_to_counters(key, deltas)
end


-- Whether `name` is a click counter field: `h:`, `b:` or `s:` and a day (`d:YYYYMMDD`), month
-- (`m:YYYYMM`) or year (`y:YYYY`) bucket.
local function is_click_field(name)
  return type(name) == 'string'
    and (string.match(name, '^[hbs]:d:%d%d%d%d%d%d%d%d$') ~= nil
      or string.match(name, '^[hbs]:m:%d%d%d%d%d%d$') ~= nil
      or string.match(name, '^[hbs]:y:%d%d%d%d$') ~= nil)
end
