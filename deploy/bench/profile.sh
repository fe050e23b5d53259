#!/usr/bin/env bash
# Profiles reftrack's redirect path under wrk load with perf (software cpu-clock sampling,
# which works where hardware counters are not exposed) and prints where the server core's
# time goes: by thread and library, then the hottest symbols.
#
# With LINKS=n the clicks spread over n cached links /lk0.. as in spread.sh (SPREAD=uniform|zipf,
# VISITORS=one|many); without it they all go to one link.
#
# Usage: deploy/bench/profile.sh        (DURATION=6 seconds of sampling; PERF_DATA=path to keep;
#        LINKS, SPREAD, VISITORS; BIN=prebuilt binary, with line tables for useful symbols)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-6}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TOKEN=bench-admin-token-0123456789

ensure_installed wrk wrk
ensure_installed perf linux-perf
ensure_installed redis-server redis-server

CARGO_PROFILE_RELEASE_DEBUG=line-tables-only build_reftrack
bench_init
port=$(free_port)
base="http://127.0.0.1:$port"

start_redis "$LOAD_CPU"
REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
  REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
  REFTRACK_LOG__LEVEL=warn REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
  REFTRACK_FRAUD__ADDRESS_BURST_MAX_CLICKS=0 REFTRACK_CLICKS__SPOOL_DIR="$work/spool" \
  taskset -c "$SERVER_CPU" "$BIN" serve >"$work/reftrack.log" 2>&1 &
server=$!
pids+=("$server")
wait_http "$base/healthz"
if [ -n "${LINKS:-}" ]; then
  seed_links "$base" "$LINKS"
  warm_links "$base" "$LINKS"
  write_spread_lua
  SPREAD_LINKS=$LINKS SPREAD_DISTRIBUTION=${SPREAD:-uniform} VISITORS=${VISITORS:-many} \
    taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$((DURATION + 3))s" -s "$work/spread.lua" "$base" >"$work/wrk.txt" &
else
  influencer=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"handle":"bench"}' "$base/api/v1/influencers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"influencer_id\":\"$influencer\",\"destination\":\"https://shop.example/p?utm_source=ig\",\"code\":\"bench\"}" \
    "$base/api/v1/links"
  taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$((DURATION + 3))s" "$base/bench" >"$work/wrk.txt" &
fi
pids+=($!)
sleep 1
data=${PERF_DATA:-$work/perf.data}
perf record -q -e cpu-clock -F "${FREQUENCY:-2000}" --call-graph "${CALL_GRAPH:-fp}" -p "$server" -o "$data" -- sleep "$DURATION" 2>/dev/null
wait "${pids[-1]}"
grep "Requests/sec" "$work/wrk.txt"
echo "--- by thread and library"
perf report -i "$data" --no-children --sort comm,dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -8
echo "--- hottest user-space symbols"
perf report -i "$data" --no-children --sort comm,symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' \
  | grep -v '\[k\]' | cut -c1-140 | head -40
