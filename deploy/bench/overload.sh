#!/usr/bin/env bash
# Overload: clicks spread over LINKS links for OVERLOAD_SECS (100) seconds at full speed, with
# a small click buffer (BUFFER, 200,000) so Redis falls behind and the buffer passes its spill
# mark: batches must go to the spool and be replayed, and no click may be dropped. During the
# run, and before it (idle), it measures the latency of signed Shopify webhooks (examples/
# webhook_load, one connection) and of admin calls (link creation): the flusher's own Redis
# connection keeps them within 2x of idle however far behind the flusher is.
#
# Prints answered, counted, spilled and dropped clicks, and the latencies (the clients', and the mean
# time inside the server of webhooks and link creation, from /metrics) beside issue 14's
# "today" (2,455,944 of 5,760,375 clicks dropped; webhooks 339 ms p50, link creation 120 ms).
#
# API_BIND=1 serves the API and the webhooks on a listener of their own (http.api_bind, with
# API_WORKERS worker threads, default 1, on the server's core like all its threads) and sends
# the webhook and admin probes there; the redirects and /metrics stay on the public port.
# Without it everything shares the one listener, as by default. With it the redirect workers
# and the click flusher run REDIRECT_NICE (http.redirect_nice, default 5) nice steps below the
# API's threads; REDIRECT_NICE=0 keeps them level, to compare.
#
# WRK_NICE=n runs wrk n nice steps below Redis and the probes on the load core they share, as
# where Redis has a core of its own: a probe then measures reftrack, not the wait for wrk's
# time slice at each of its Redis round trips (default 0: all level, as before).
#
# It also prints the Redis commands of the run that held Redis SLOW_US (1,000) microseconds or
# longer, from Redis's slow log: what a webhook or an admin call may have waited behind.
#
# Usage: deploy/bench/overload.sh   (LINKS=100000 OVERLOAD_SECS=100 BUFFER=200000 API_BIND=1
# WRK_NICE=10 SLOW_US=500 to vary)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LINKS=${LINKS:-100000}
OVERLOAD_SECS=${OVERLOAD_SECS:-100}
BUFFER=${BUFFER:-200000}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
API_BIND=${API_BIND:-0}
API_WORKERS=${API_WORKERS:-1}
REDIRECT_NICE=${REDIRECT_NICE:-5}
WRK_NICE=${WRK_NICE:-0}
SLOW_US=${SLOW_US:-1000}
TOKEN=bench-admin-token-0123456789
SHOPIFY_SECRET=bench-shopify-secret

build_reftrack_and_webhook_load
bench_init
start_redis "$LOAD_CPU"

port=$(free_port)
base="http://127.0.0.1:$port"
# $api: where the probes go; api_bind empty keeps the API on the public port.
api=$base
api_bind=
listener="one listener for everything"
if [ "$API_BIND" = 1 ]; then
  api_bind="127.0.0.1:$(free_port)"
  api="http://$api_bind"
  listener="API on its own listener, $API_WORKERS worker thread(s), redirects $REDIRECT_NICE nice steps below"
fi
REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
  REFTRACK_HTTP__API_BIND="$api_bind" REFTRACK_HTTP__API_WORKERS="$API_WORKERS" \
  REFTRACK_HTTP__REDIRECT_NICE="$REDIRECT_NICE" \
  REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
  REFTRACK_CLICKS__SPOOL_DIR="$work/spool" REFTRACK_CLICKS__BUFFER_CAPACITY="$BUFFER" \
  REFTRACK_LOG__LEVEL=warn REFTRACK_WEBHOOKS__SHOPIFY_SECRET="$SHOPIFY_SECRET" \
  REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
  REFTRACK_FRAUD__ADDRESS_BURST_MAX_CLICKS=0 \
  taskset -c "$SERVER_CPU" "$BIN" serve >"$work/reftrack.log" 2>&1 &
rt_pid=$!
pids+=("$rt_pid")
wait_http "$base/healthz"
wait_http "$api/healthz"

influencer=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"handle":"overload"}' "$api/api/v1/influencers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
python3 - "$influencer" "$LINKS" >"$work/links.redis" <<'PY'
import sys, time
influencer, links = sys.argv[1], int(sys.argv[2])
def resp(*parts):
    return "*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts)
now = str(int(time.time() * 1000))
for n in range(links):
    sys.stdout.write(resp("HSET", f"rt:{{rt:cat}}:link:lk{n}", "influencer_id", influencer,
                          "destination", "https://shop.example/p", "disabled", "0", "created_ms", now))
PY
redis-cli -s "$redis_sock" --pipe <"$work/links.redis" >/dev/null
cat >"$work/spread.lua" <<LUA
request = function() return wrk.format("GET", "/lk" .. (math.random($LINKS) - 1)) end
LUA

# Median milliseconds of N link creations (admin writes through the API).
admin_ms() {
  python3 - "$api" "$TOKEN" "$influencer" "$1" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse, uuid
base, token, influencer, tag = sys.argv[1:]
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
times = []
for i in range(20):
    body = json.dumps({"influencer_id": influencer, "destination": "https://shop.example/a",
                       "code": f"adm{tag}{uuid.uuid4().hex[:10]}"})
    started = time.perf_counter()
    conn.request("POST", "/api/v1/links", body, headers)
    conn.getresponse().read()
    times.append((time.perf_counter() - started) * 1000)
    time.sleep(0.1)
print(f"{statistics.median(times):.2f}")
PY
}
# "p50/p99" milliseconds of 3 s of signed webhooks from one connection.
webhook_ms() {
  taskset -c "$LOAD_CPU" "$WEBHOOK_LOAD" "$api/webhooks/shopify" "$SHOPIFY_SECRET" 3 1 \
    | awk '{print $5 "/" $2}'
}
# "sum count" of the server's own webhook handling time (reftrack_webhook_duration_seconds):
# two readings give the mean time inside the server, apart from waiting to be read and the
# client's own core.
webhook_server() {
  curl -sf "$base/metrics" | awk '/^reftrack_webhook_duration_seconds_sum/ {s += $2}
    /^reftrack_webhook_duration_seconds_count/ {c += $2} END {print s, c}'
}
# The same for link creation (reftrack_api_request_duration_seconds of POST /api/v1/links).
admin_server() {
  curl -sf "$base/metrics" | awk '/^reftrack_api_request_duration_seconds_sum\{method="POST",route="\/api\/v1\/links",status="2xx"\}/ {s += $2}
    /^reftrack_api_request_duration_seconds_count\{method="POST",route="\/api\/v1\/links",status="2xx"\}/ {c += $2} END {print s + 0, c + 0}'
}
mean_ms() { python3 -c 'import sys; s0, c0, s1, c1 = map(float, sys.argv[1:]); print("%.3f" % (1000 * (s1 - s0) / max(1, c1 - c0)))' $1 $2; }

w0=$(webhook_server)
idle_webhook=$(webhook_ms)
idle_server=$(mean_ms "$w0" "$(webhook_server)")
a0=$(admin_server)
idle_admin=$(admin_ms idle)
idle_admin_server=$(mean_ms "$a0" "$(admin_server)")
echo "$listener" >&2
echo "idle: webhook p50/p99 ${idle_webhook} ms (mean inside the server ${idle_server} ms), link creation median ${idle_admin} ms" >&2

# Any other client's call (a webhook's, a link creation's) may wait out a long command.
slowlog_start "$SLOW_US"
taskset -c "$LOAD_CPU" nice -n "$WRK_NICE" wrk -t1 -c"$CONNECTIONS" -d"${OVERLOAD_SECS}s" -s "$work/spread.lua" "$base" >"$work/wrk.out" &
wrk_pid=$!
pids+=("$wrk_pid")
sleep $(( OVERLOAD_SECS / 3 ))
busy_buffer=$(metric "$base" reftrack_click_buffer_depth)
busy_spool=$(metric "$base" reftrack_click_spool_bytes)
w0=$(webhook_server)
busy_webhook=$(webhook_ms)
busy_server=$(mean_ms "$w0" "$(webhook_server)")
a0=$(admin_server)
busy_admin=$(admin_ms busy)
busy_admin_server=$(mean_ms "$a0" "$(admin_server)")
echo "during the backlog (buffer ${busy_buffer}, spool ${busy_spool} bytes): webhook p50/p99 ${busy_webhook} ms (mean inside the server ${busy_server} ms), link creation median ${busy_admin} ms" >&2
wait "$wrk_pid"
slow=$(slowlog_summary)
# Let the flusher catch up (replay the spool), then stop it (SIGTERM flushes the rest).
for _ in $(seq 600); do
  [ "$(metric "$base" reftrack_click_spool_bytes)" = "0" ] && [ "$(metric "$base" reftrack_click_buffer_depth)" = "0" ] && break
  sleep 1
done
answered=$(metric "$base" 'reftrack_redirects_total{outcome="redirected"}')
spilled=$(metric "$base" reftrack_clicks_spilled_total)
dropped=$(metric "$base" reftrack_clicks_dropped_total)
spool_dropped=$(metric "$base" reftrack_click_spool_dropped_total)
kill -TERM "$rt_pid"; wait "$rt_pid" || true
counted=$(redis-cli -s "$redis_sock" --raw hget "$(click_counts_key "$influencer")" "h:d:$(date -u +%Y%m%d)")
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")

echo "overload over $LINKS links for ${OVERLOAD_SECS} s: ${rps} redirects/s ($listener)"
echo "answered ${answered%.*}, counted ${counted}, spilled to the spool ${spilled%.*}, dropped ${dropped%.*} (buffer) + ${spool_dropped%.*} (spool)"
echo "   today: 5,760,375 answered, 2,455,944 dropped"
echo "webhook p50/p99: idle ${idle_webhook} ms, during the backlog ${busy_webhook} ms   (today: 339 ms p50 during a backlog)"
echo "webhook time inside the server (mean): idle ${idle_server} ms, during the backlog ${busy_server} ms: $(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) / max(float(sys.argv[1]), 1e-9)))' "$idle_server" "$busy_server")x idle (goal: within 2x)"
echo "Redis commands of ${SLOW_US} us or longer during the run: ${slow}"
echo "link creation median: idle ${idle_admin} ms, during the backlog ${busy_admin} ms   (today: 120 ms during a backlog)"
echo "link creation inside the server (mean): idle ${idle_admin_server} ms, during the backlog ${busy_admin_server} ms: $(python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) / max(float(sys.argv[1]), 1e-9)))' "$idle_admin_server" "$busy_admin_server")x idle (goal: within 2x)"
if [ "${answered%.*}" != "$counted" ] || [ "${dropped%.*}" != "0" ] || [ "${spool_dropped%.*}" != "0" ]; then
  echo "FAIL: a click was dropped or not counted" >&2; exit 1
fi
echo "every answered click was counted, none dropped"
