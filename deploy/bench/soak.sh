#!/usr/bin/env bash
# Soak test: reftrack under sustained high load for DURATION (default 5 minutes), from many
# simulated followers (random X-Forwarded-For addresses through a trusted proxy) over several
# links. It samples reftrack's resident memory every SAMPLE seconds and fails if memory keeps
# growing (the peak of the last third of the run is more than GROWTH_PERCENT above the peak of
# the middle third; peaks, because bounded caches fill and empty in a sawtooth),
# if any request gets an error, or if a click answered is not counted in Redis.
#
# Usage: deploy/bench/soak.sh     (DURATION=300 CONNECTIONS=64 SAMPLE=10 GROWTH_PERCENT=10)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-300}
CONNECTIONS=${CONNECTIONS:-64}
SAMPLE=${SAMPLE:-10}
GROWTH_PERCENT=${GROWTH_PERCENT:-10}
LINKS=${LINKS:-20}
TOKEN=soak-admin-token-0123456789

ensure_installed wrk wrk
ensure_installed redis-server redis-server

build_reftrack
bench_init
start_redis any

port=$(free_port)
base="http://127.0.0.1:$port"
REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_REDIS__URL="redis+unix://$redis_sock" \
  REFTRACK_ADMIN__TOKEN="$TOKEN" REFTRACK_CLICKS__SPOOL_DIR="$work/spool" REFTRACK_LOG__LEVEL=warn \
  "$BIN" serve >"$work/reftrack.log" 2>&1 &
reftrack_pid=$!
pids+=("$reftrack_pid")
wait_http "$base/healthz"

auth=(-H "Authorization: Bearer $TOKEN" -H "content-type: application/json")
influencers=()
for i in $(seq "$LINKS"); do
  id=$(curl -sf "${auth[@]}" -d "{\"handle\":\"soak$i\"}" "$base/api/v1/influencers" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  influencers+=("$id")
  curl -sf -o /dev/null "${auth[@]}" \
    -d "{\"influencer_id\":\"$id\",\"destination\":\"https://shop.example/p\",\"code\":\"soak$i\"}" "$base/api/v1/links"
done

cat >"$work/followers.lua" <<LUA
-- Each request: one of the links, from a random follower behind the (trusted) local proxy.
math.randomseed(os.time())
request = function()
  local ip = math.random(1, 223) .. "." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", "/soak" .. math.random(1, $LINKS), { ["X-Forwarded-For"] = ip,
    ["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1" })
end
LUA

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$reftrack_pid/status"; }
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/followers.lua" "$base/" >"$work/wrk.txt" &
wrk_pid=$!
samples=()
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep "$SAMPLE"
  kill -0 "$wrk_pid" 2>/dev/null || break
  samples+=("$(rss_kib)")
  echo "rss ${samples[-1]} KiB" >&2
done
wait "$wrk_pid"
cat "$work/wrk.txt"
if grep -qE "Non-2xx|Socket errors" "$work/wrk.txt"; then
  echo "FAIL: errors under load" >&2
  exit 1
fi

answered=$(metric "$base" 'reftrack_redirects_total{outcome="redirected"}')
kill -TERM "$reftrack_pid"
wait "$reftrack_pid"
counted=0
for id in "${influencers[@]}"; do
  for field in h b s; do
    n=$(redis-cli -s "$redis_sock" --raw hget "$(click_counts_key "$id")" "$field:m:$(date -u +%Y%m)")
    counted=$((counted + ${n:-0}))
  done
done

python3 - "$answered" "$counted" "$GROWTH_PERCENT" "${samples[@]}" <<'PY'
import sys
answered, counted, growth = int(float(sys.argv[1])), int(sys.argv[2]), float(sys.argv[3])
samples = [int(s) for s in sys.argv[4:]]
print(f"clicks answered: {answered}, counted: {counted}")
if len(samples) >= 3:
    third = len(samples) // 3
    middle = max(samples[third:2 * third])
    last = max(samples[2 * third:])
    change = (last - middle) / middle * 100
    print(f"resident memory: first {samples[0]} KiB, peak of middle third {middle} KiB, peak of last third {last} KiB ({change:+.1f}%)")
    if change > growth:
        sys.exit(f"FAIL: memory grew {change:.1f}% (limit {growth}%)")
if answered != counted:
    sys.exit("FAIL: not every answered click was counted")
print("memory flat, no errors, every click counted")
PY
