"""The Lua scripts behind the budgets, ledger and cool-downs several replicas share.

Each script touches the keys of one provider only (they share the `{provider}` hash tag), so
it is one atomic step on one Redis node. Times come from Redis (`TIME`, `PTTL`), never from a
replica's clock: replicas' monotonic clocks have nothing in common, and Redis's clock is the
one every replica sees. Times in keys are milliseconds as text with three decimals.
"""

from __future__ import annotations

#: One request about to leave. KEYS: cool-down, month's counts, last runs, then the GCRA
#: cells to check and spend. ARGV: purpose, monthly cap (-1: none), ceiling (-1: none),
#: run time (ISO, "" for a client), counts TTL (s), then per cell: interval and tolerance (ms).
#: Answers {status, wait_ms, reason, counts...}; status: ok | cool | quota | ceiling | rate.
GATE = """
local cool_ms = redis.call('PTTL', KEYS[1])
if cool_ms > 0 then
  return {'cool', tostring(cool_ms), redis.call('HGET', KEYS[1], 'reason') or ''}
end
local counts = redis.call('HGETALL', KEYS[2])
local used = 0
for i = 2, #counts, 2 do used = used + tonumber(counts[i]) end
local cap = tonumber(ARGV[2])
if cap >= 0 and used >= cap then return {'quota', '0', '', unpack(counts)} end
local ceiling = tonumber(ARGV[3])
if ceiling >= 0 and used >= ceiling then return {'ceiling', '0', '', unpack(counts)} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
local tats = {}
for i = 4, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  local w = tat - tonumber(ARGV[5 + 2 * (i - 3)]) - now
  if w > wait then wait = w end
end
if wait > 0 then return {'rate', string.format('%.3f', wait), ''} end
for i = 4, #KEYS do
  local tat = tats[i] + tonumber(ARGV[4 + 2 * (i - 3)])
  redis.call('SET', KEYS[i], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[4]) end
return {'ok', '0', '', unpack(redis.call('HGETALL', KEYS[2]))}
"""

#: One replica's breaker opened (or disabled the provider): every replica keeps away for
#: ARGV[1] ms. A longer cool-down already set is kept. KEYS: cool-down. ARGV: ms, reason.
COOL = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= ms then return 0 end
redis.call('HSET', KEYS[1], 'reason', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ms)
return 1
"""

#: What one replica spent while Redis was away, added once. KEYS: batch marker, last runs,
#: then the month count keys, then the GCRA cells. ARGV: marker TTL (s), counts TTL (s),
#: months, cells, then per month: fields, then (purpose, delta, seen) per field; then
#: (job, ISO time) pairs for last runs (until the cell backlogs); then per cell its backlog
#: (ms). `seen` is the count this replica last read from Redis: a count below it means Redis
#: lost its data (a restart without persistence), so the count is first raised to it. Each
#: count becomes max(count, seen) + delta: exact while Redis keeps its data, and after a loss
#: the largest view any replica had plus every replica's own spends, never one spend twice.
#: Answers 0 when the batch was already applied (a lost reply), else 1. A marker TTL of 0:
#: no deltas, only views (applying them twice changes nothing), so no marker is kept.
RECONCILE = """
local marked = tonumber(ARGV[1]) > 0
if marked and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local months = tonumber(ARGV[3])
local cells = tonumber(ARGV[4])
local a = 5
for m = 1, months do
  local key = KEYS[2 + m]
  local fields = tonumber(ARGV[a])
  a = a + 1
  for f = 1, fields do
    local purpose, delta, seen = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    a = a + 3
    local count = tonumber(redis.call('HGET', key, purpose) or '0')
    local merged = math.max(count, seen) + delta
    if merged < 0 then merged = 0 end
    if merged ~= count then redis.call('HSET', key, purpose, merged) end
  end
  if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, ARGV[2]) end
end
local runs_end = #ARGV - cells
while a < runs_end do
  local current = redis.call('HGET', KEYS[2], ARGV[a])
  if not current or current < ARGV[a + 1] then redis.call('HSET', KEYS[2], ARGV[a], ARGV[a + 1]) end
  a = a + 2
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for c = 1, cells do
  local backlog = tonumber(ARGV[runs_end + c])
  if backlog > 0 then
    local key = KEYS[2 + months + c]
    local tat = tonumber(redis.call('GET', key) or '0')
    if tat < now then tat = now end
    tat = tat + backlog
    redis.call('SET', key, string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
  end
end
if marked then redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) end
return 1
"""
