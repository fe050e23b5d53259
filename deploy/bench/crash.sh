#!/usr/bin/env bash
# Measures what `kill -9` loses in the default (non-durable) mode: reftrack answers redirects
# under full load from wrk, is killed with SIGKILL mid-run, and the clicks wrk saw answered
# are compared with the clicks counted in Redis. Repeated RUNS times; prints each loss.
#
# Usage: deploy/bench/crash.sh        (RUNS=5 CONNECTIONS=64 KILL_AFTER=2 DURABLE=false)
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
CONNECTIONS=${CONNECTIONS:-64}
KILL_AFTER=${KILL_AFTER:-2}
DURABLE=${DURABLE:-false}
TOKEN=crash-admin-token-0123456789

command -v wrk >/dev/null 2>&1 || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet --bin reftrack
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$work/redis.sock" --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
start_reftrack() {
  REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
    REFTRACK_REDIS__URL="redis+unix://$work/redis.sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
    REFTRACK_CLICKS__SPOOL_DIR="$work/spool" REFTRACK_CLICKS__DURABLE_REDIRECTS="$DURABLE" \
    REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
    REFTRACK_LOG__LEVEL=error target/release/reftrack serve >>"$work/reftrack.log" 2>&1 &
  reftrack_pid=$!
  pids+=("$reftrack_pid")
  for _ in $(seq 200); do curl -sf -o /dev/null "$base/healthz" && return; sleep 0.05; done
  echo "reftrack did not start" >&2; exit 1
}

start_reftrack
auth=(-H "Authorization: Bearer $TOKEN" -H "content-type: application/json")
influencer=$(curl -sf "${auth[@]}" -d '{"handle":"crash"}' "$base/api/v1/influencers" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null "${auth[@]}" \
  -d "{\"influencer_id\":\"$influencer\",\"destination\":\"https://shop.example/\",\"code\":\"crash\"}" "$base/api/v1/links"

# The key of an influencer's click counters: in count shard FNV-1a("i:<id>") mod 16 (keys.rs).
click_counts_key() {
  python3 -c 'import sys
h = 0xcbf29ce484222325
for b in ("i:" + sys.argv[1]).encode(): h = ((h ^ b) * 0x100000001b3) % 2**64
print("rt:{rt:cs:%d}:clicks:i:%s" % (h % 16, sys.argv[1]))' "$1"
}

counted() {
  local n
  n=$(redis-cli -s "$work/redis.sock" --raw hget "$(click_counts_key "$influencer")" "h:m:$(date -u +%Y%m)")
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
