#!/usr/bin/env bash
# Measures what `kill -9` loses in the default (non-durable) mode: reftrack answers redirects
# under full load from wrk, is killed with SIGKILL mid-run, and the clicks wrk saw answered
# are compared with the clicks counted in Redis. Repeated RUNS times; prints each loss.
#
# Usage: deploy/bench/crash.sh        (RUNS=5 CONNECTIONS=64 KILL_AFTER=2 DURABLE=false)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

RUNS=${RUNS:-5}
CONNECTIONS=${CONNECTIONS:-64}
KILL_AFTER=${KILL_AFTER:-2}
DURABLE=${DURABLE:-false}
TOKEN=crash-admin-token-0123456789

command -v wrk >/dev/null 2>&1 || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
build_reftrack
bench_init
bench_signal=KILL   # what is left at exit is killed, as the runs kill reftrack
start_redis any

port=$(free_port)
base="http://127.0.0.1:$port"
start_reftrack() {
  REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
    REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
    REFTRACK_CLICKS__SPOOL_DIR="$work/spool" REFTRACK_CLICKS__DURABLE_REDIRECTS="$DURABLE" \
    REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
    REFTRACK_LOG__LEVEL=error "$BIN" serve >>"$work/reftrack.log" 2>&1 &
  reftrack_pid=$!
  pids+=("$reftrack_pid")
  wait_http "$base/healthz"
}

start_reftrack
auth=(-H "Authorization: Bearer $TOKEN" -H "content-type: application/json")
influencer=$(curl -sf "${auth[@]}" -d '{"handle":"crash"}' "$base/api/v1/influencers" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null "${auth[@]}" \
  -d "{\"influencer_id\":\"$influencer\",\"destination\":\"https://shop.example/\",\"code\":\"crash\"}" "$base/api/v1/links"

counted() {
  local n
  n=$(redis-cli -s "$redis_sock" --raw hget "$(click_counts_key "$influencer")" "h:m:$(date -u +%Y%m)")
  echo "${n:-0}"
}

losses=()
for run in $(seq "$RUNS"); do
  before=$(counted)
  wrk -t1 -c"$CONNECTIONS" -d"$((KILL_AFTER + 2))s" "$base/crash" >"$work/wrk.txt" 2>&1 &
  wrk_pid=$!
  sleep "$KILL_AFTER"
  kill -9 "$reftrack_pid"
  wait "$wrk_pid" || true
  # wrk counts a request when its response has arrived: the clicks that were answered.
  answered=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  start_reftrack   # replays anything a previous run left in the spool
  sleep 1
  got=$(( $(counted) - before ))
  losses+=("$answered $got")
  echo "run $run: answered $answered, counted $got" >&2
done

python3 - "$DURABLE" "${losses[@]}" <<'PY'
import statistics, sys
durable, runs = sys.argv[1], [tuple(map(int, r.split())) for r in sys.argv[2:]]
# More counted than answered means clicks committed whose answers the kill cut off: none lost.
lost = [max(0, a - c) for a, c in runs]
extra = [max(0, c - a) for a, c in runs]
print(f"durable_redirects={durable}: clicks lost per kill -9, over {len(runs)} runs: {lost} (median {statistics.median(lost)})")
print(f"committed but never answered (cut off by the kill): {extra}")
PY
