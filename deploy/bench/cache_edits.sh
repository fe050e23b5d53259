#!/usr/bin/env bash
# Influencer edits as the link cache grows (issue 14): for each count in COUNTS (1,000,
# 100,000 and 1,000,000), a fresh private Redis is seeded straight through its protocol with
# that many links spread over 1,000 influencers, and reftrack (one worker, on SERVER_CPU)
# caches every one of them (HEAD requests, which count nothing). Then:
#   - the latency of EDITS influencer edits (PATCH, one at a time), median and p99;
#   - redirects per second on one cached code (wrk, DURATION), alone and while edits run
#     back to back,
# each printed beside the figure issue 14 measured before this change. wrk, Redis and the
# edit loop share LOAD_CPU.
#
# Usage: deploy/bench/cache_edits.sh [path/to/reftrack]   (default $BIN, else target/release/reftrack)
#        COUNTS="1000 100000" EDITS=300 DURATION=10s to vary.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BIN=${1:-${BIN:-target/release/reftrack}}
COUNTS=${COUNTS:-"1000 100000 1000000"}
EDITS=${EDITS:-300}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18095}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
INFLUENCERS=1000
TOKEN=bench-admin-token-0123456789

bench_init

today_figure() {
  case "$1" in
    1000) echo "edit 0.38 ms; redirects 122k/s alone" ;;
    1000000) echo "edit 50 ms; redirects 122k/s alone, 3.2k/s during edits" ;;
    *) echo "-" ;;
  esac
}

# Edits influencer 0 back to back; with a count, that many, printing the median and p99 in ms.
edits() {
  python3 - "$PORT" "$TOKEN" "$1" <<'PY'
import http.client, json, sys, time
port, token, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
times, i = [], 0
while count == 0 or i < count:
    started = time.perf_counter()
    conn.request("PATCH", "/api/v1/influencers/inf_bench0000000", json.dumps({"name": f"n{i}"}), headers)
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 200, reply.status
    times.append((time.perf_counter() - started) * 1000)
    i += 1
times.sort()
print(f"{times[len(times) // 2]:.2f} {times[int(len(times) * 0.99)]:.2f}")
PY
}

rps() {
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT/$1" |
    awk '/Requests\/sec/ { printf "%.0f", $2 }'
}

printf '%-9s %-12s %-12s %-14s %-14s   %s\n' links "edit p50 ms" "edit p99 ms" "redirects/s" \
  "during edits" "today (issue 14)"
for count in $COUNTS; do
  start_redis "$LOAD_CPU"
  python3 - "$count" "$INFLUENCERS" >"$work/seed.redis" <<'PY'
import sys, time
count, influencers = int(sys.argv[1]), int(sys.argv[2])
now_ms = int(time.time() * 1000)
out = sys.stdout
def resp(*parts):
    parts = [str(p) for p in parts]
    out.write("*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts))
cat = "rt:{rt:cat}"
for i in range(influencers):
    inf = "inf_bench%07d" % i
    resp("HSET", f"{cat}:inf:{inf}", "handle", f"creator{i}", "created_ms", now_ms, "disabled", "0")
    resp("ZADD", f"{cat}:infs", now_ms + i, inf)
    resp("HSET", f"{cat}:handles", f"creator{i}", inf)
for i in range(count):
    inf = "inf_bench%07d" % (i % influencers)
    code = "c%07d" % i
    resp("HSET", f"{cat}:link:{code}", "influencer_id", inf, "destination",
         "https://shop.example/p?utm_source=ig", "disabled", "0", "created_ms", now_ms)
    resp("ZADD", f"{cat}:inf:{inf}:links", now_ms + i, code)
PY
  taskset -c "$LOAD_CPU" redis-cli -s "$redis_sock" --pipe <"$work/seed.redis" >/dev/null
  REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN=$TOKEN \
    REFTRACK_HTTP__BIND=127.0.0.1:$PORT REFTRACK_HTTP__WORKERS=1 REFTRACK_LOG__LEVEL=warn \
    REFTRACK_CLICKS__SPOOL_DIR="$work/spool" REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 \
    REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 REFTRACK_FRAUD__ADDRESS_BURST_MAX_CLICKS=0 \
    taskset -c "$SERVER_CPU" "$BIN" serve >"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_http "http://127.0.0.1:$PORT/healthz"

  # Cache every link: HEAD requests walk the codes in order until all are held.
  # Each wrk run goes on from the codes already cached (they are loaded in order), so a
  # catalog bigger than one run's worth of requests is cached in a few runs.
  until [[ $(metric "http://127.0.0.1:$PORT" reftrack_link_cache_entries) -ge $count ]]; do
    cached=$(metric "http://127.0.0.1:$PORT" reftrack_link_cache_entries)
    cat >"$work/warm.lua" <<LUA
wrk.method = "HEAD"
local i = ${cached%.*} - 1
request = function()
  i = (i + 1) % $count
  return wrk.format(nil, string.format("/c%07d", i))
end
LUA
    taskset -c "$LOAD_CPU" wrk -t1 -c32 -d5s -s "$work/warm.lua" "http://127.0.0.1:$PORT" >/dev/null
  done

  read -r p50 p99 <<<"$(edits "$EDITS")"
  alone=$(rps c0000001)
  edits 0 >/dev/null 2>&1 &
  edits_pid=$!
  pids+=("$edits_pid")
  during=$(rps c0000001)
  bench_stop "$edits_pid"
  printf '%-9s %-12s %-12s %-14s %-14s   %s\n' "$count" "$p50" "$p99" "$alone" "$during" \
    "$(today_figure "$count")"

  bench_stop "$server_pid" "$redis_pid"
  rm -rf "${work:?}"/*
done
