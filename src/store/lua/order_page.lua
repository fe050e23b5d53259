-- One page of an order index: the entries after a cursor, in (score, member) order, read
-- atomically so an order added meanwhile neither shifts the page nor is skipped.
-- KEYS[1] order index zset
-- ARGV[1] from (ms, inclusive), ARGV[2] count (entries to return),
-- ARGV[3] cursor score or '' for the first page, ARGV[4] cursor member
-- Returns member, score, member, score, ... from the first entry after the cursor (or at or
-- after `from`); the caller drops entries past its `to`.
local index = KEYS[1]

-- Whether `a` sorts after `b` byte by byte, as Redis orders the members of one score (Lua's
-- own comparison follows the server's locale).
local function sorts_after(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x > y
    end
  end
  return #a > #b
end

local start = redis.call('ZCOUNT', index, '-inf', '(' .. ARGV[1])
if ARGV[3] ~= '' then
  local score = tonumber(ARGV[3])
  local member = ARGV[4]
  local after
  local stored = redis.call('ZSCORE', index, member)
  if stored and tonumber(stored) == score then
    -- The cursor's order is still where it was: the page starts right after it.
    after = redis.call('ZRANK', index, member) + 1
  else
    -- It moved: start after everything with a lower score, then skip the equal scores whose
    -- member sorts at or before the cursor's (members of one score are in byte order).
    after = redis.call('ZCOUNT', index, '-inf', '(' .. ARGV[3])
    while true do
      local entry = redis.call('ZRANGE', index, after, after, 'WITHSCORES')
      if #entry == 0 or tonumber(entry[2]) ~= score or sorts_after(entry[1], member) then
        break
      end
      after = after + 1
    end
  end
  if after > start then
    start = after
  end
end
return redis.call('ZRANGE', index, start, start + tonumber(ARGV[2]) - 1, 'WITHSCORES')
