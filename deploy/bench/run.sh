#!/usr/bin/env bash
# reftrack's benchmark, every figure a ratio to a reference measured in the same run.
#
# 1. Redirects: reftrack against nginx `return 302`, on the same core.
# 2. Webhooks: signed Shopify order deliveries (each a new order) into the same reftrack, as a
#    ratio to its redirect figure. Every delivery answered 200 must be stored.
# 3. Reports: the ROI report over a whole year for REPORT_INFLUENCERS (10,000) influencers,
#    each with a year of counters; the median time of REPORT_RUNS requests.
# 4. Redis Cluster: a second reftrack on the same core with the cluster client, over a local
#    three-master cluster on the load core, measured in the same alternating rounds as a ratio
#    to reftrack over the single Redis. Every answered redirect must be counted there too.
#
# The server under test (nginx, then reftrack with one worker) is pinned to SERVER_CPU;
# wrk -t1 -c64 and redis-server share LOAD_CPU. Every answered redirect must be counted:
# after the run the script stops reftrack (SIGTERM flushes its buffer) and checks that the
# clicks in Redis equal the redirects reftrack answered. Absolute numbers on a shared machine
# are noise; the ratios are the figure.
#
# The two servers run side by side (only the one under load uses its core) and are measured
# in alternating rounds; the script prints each round and the median ratios, which damps the
# noise of a shared machine. Each round also measures nginx and reftrack at light load
# (LIGHT_CONNECTIONS, 8), where p99 is the server's own latency rather than queueing.
#
# QUERY (e.g. '?utm_campaign=bf') is added to reftrack's redirect URLs, to measure the
# forwarding of a follower's query (http.forward_query); nginx answers the same either way.
#
# Usage: deploy/bench/run.sh     (ROUNDS=5 DURATION=10s CONNECTIONS=64 DURABLE=true to vary)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
LIGHT_CONNECTIONS=${LIGHT_CONNECTIONS:-8}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
DURABLE=${DURABLE:-false}
QUERY=${QUERY:-}
TOKEN=bench-admin-token-0123456789
SHOPIFY_SECRET=bench-shopify-secret
WEBHOOK_CONNECTIONS=${WEBHOOK_CONNECTIONS:-32}
REPORT_INFLUENCERS=${REPORT_INFLUENCERS:-10000}
REPORT_RUNS=${REPORT_RUNS:-5}

ensure_installed wrk wrk
ensure_installed nginx nginx-light
ensure_installed redis-server redis-server
ensure_installed curl curl
ensure_installed python3 python3

build_reftrack_and_webhook_load
bench_init

port_free() { python3 -c 'import socket,sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }

# Runs wrk against $1 while accounting the CPU of the server ($2) and of Redis ($3, one pid or
# several separated by spaces). Prints "requests_per_second p99_ms total_requests
# server_cores redis_cores", where *_cores is the share of one core used during the run.
load() {
  local out start_ns end_ns server0 redis0 server1 redis1 redis
  read -ra redis <<<"$3"
  start_ns=$(date +%s%N); server0=$(cpu_ticks "$2"); redis0=$(cpu_ticks "${redis[@]}")
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$1")
  end_ns=$(date +%s%N); server1=$(cpu_ticks "$2"); redis1=$(cpu_ticks "${redis[@]}")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; echo "unexpected responses" >&2; exit 1; fi
  python3 - "$out" "$((end_ns - start_ns))" "$((server1 - server0))" "$((redis1 - redis0))" "$(getconf CLK_TCK)" <<'PY'
import re, sys
out, elapsed_ns, server_ticks, redis_ticks, hz = sys.argv[1], *map(int, sys.argv[2:])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
total = int(re.search(r"(\d+) requests in", out).group(1))
value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
seconds = elapsed_ns / 1e9
print(f"{rps:.0f} {p99:.3f} {total} {server_ticks / hz / seconds:.3f} {redis_ticks / hz / seconds:.3f}")
PY
}

# Redis, on the load core.
start_redis "$LOAD_CPU"

# nginx: the reference, answering every request with a 302 of the same shape.
start_nginx "$SERVER_CPU"

# A Redis Cluster of three masters, also on the load core, each node on a port whose cluster
# bus port (10000 above) is free too.
cluster_pids=""
cluster_nodes=()
for _ in 1 2 3; do
  while :; do p=$((12000 + RANDOM % 10000)); port_free "$p" && port_free $((p + 10000)) && break; done
  mkdir -p "$work/node$p"
  taskset -c "$LOAD_CPU" redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
    --cluster-config-file "$work/node$p/nodes.conf" --dir "$work/node$p" --save "" \
    --appendonly no --logfile "$work/node$p/redis.log" &
  pids+=($!)
  cluster_pids+=" $!"
  cluster_nodes+=("127.0.0.1:$p")
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done
redis-cli --cluster create "${cluster_nodes[@]}" --cluster-yes >/dev/null
for node in "${cluster_nodes[@]}"; do
  for _ in $(seq 200); do redis-cli -p "${node#*:}" cluster info | grep -q cluster_state:ok && break; sleep 0.05; done
done
cluster_url=$(printf 'redis://%s,' "${cluster_nodes[@]}"); cluster_url=${cluster_url%,}

# reftrack, one worker on the server core, named $1, over Redis at $2 ($3: a cluster or not).
# Sets started_pid and started_base (not in a subshell, so this shell can wait for it).
start_reftrack() {
  local name=$1 url=$2 cluster=$3 port
  port=$(free_port)
  REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
    REFTRACK_REDIS__URL="$url" REFTRACK_REDIS__CLUSTER="$cluster" REFTRACK_ADMIN__TOKEN="$TOKEN" \
    REFTRACK_CLICKS__DURABLE_REDIRECTS="$DURABLE" REFTRACK_CLICKS__SPOOL_DIR="$work/spool-$name" \
    REFTRACK_LOG__LEVEL=warn REFTRACK_WEBHOOKS__SHOPIFY_SECRET="$SHOPIFY_SECRET" \
    REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
    taskset -c "$SERVER_CPU" "$BIN" serve >"$work/reftrack-$name.log" 2>&1 &
  started_pid=$!
  started_base="http://127.0.0.1:$port"
  pids+=("$started_pid")
}

# Creates the benchmark's influencer and its link `bench` on the reftrack at $1; prints the id.
create_link() {
  local influencer
  wait_http "$1/healthz"
  influencer=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"handle":"bench"}' "$1/api/v1/influencers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"influencer_id\":\"$influencer\",\"destination\":\"https://shop.example/p?utm_source=ig\",\"code\":\"bench\"}" \
    "$1/api/v1/links"
  echo "$influencer"
}

start_reftrack single "redis+unix://$redis_sock" false
reftrack_pid=$started_pid base=$started_base
influencer=$(create_link "$base")
start_reftrack cluster "$cluster_url" true
cluster_reftrack_pid=$started_pid cluster_base=$started_base
cluster_influencer=$(create_link "$cluster_base")

# Warm all up, then alternate.
for url in "http://127.0.0.1:$nginx_port/bench" "$base/bench$QUERY" "$cluster_base/bench$QUERY"; do
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d2s "$url" >/dev/null
done
results=()
cluster_results=()
for round in $(seq "$ROUNDS"); do
  read -r n_rps n_p99 _ n_cpu _ < <(load "http://127.0.0.1:$nginx_port/bench" "$nginx_worker" "$redis_pid")
  read -r r_rps r_p99 _ r_cpu r_redis < <(load "$base/bench$QUERY" "$reftrack_pid" "$redis_pid")
  read -r c_rps c_p99 _ c_cpu c_redis < <(load "$cluster_base/bench$QUERY" "$cluster_reftrack_pid" "$cluster_pids")
  # Latency at light load, where p99 is the server's own and not queueing behind saturation.
  read -r _ l_n_p99 _ < <(CONNECTIONS=$LIGHT_CONNECTIONS load "http://127.0.0.1:$nginx_port/bench" "$nginx_worker" "$redis_pid")
  read -r _ l_r_p99 _ < <(CONNECTIONS=$LIGHT_CONNECTIONS load "$base/bench$QUERY" "$reftrack_pid" "$redis_pid")
  echo "round $round: nginx $n_rps req/s p99 ${n_p99} ms core ${n_cpu} | reftrack $r_rps req/s p99 ${r_p99} ms core ${r_cpu}, redis ${r_redis} | reftrack on cluster $c_rps req/s p99 ${c_p99} ms core ${c_cpu}, redis ${c_redis} | -c$LIGHT_CONNECTIONS p99 nginx ${l_n_p99} ms, reftrack ${l_r_p99} ms" >&2
  results+=("$n_rps $n_p99 $r_rps $r_p99 $n_cpu $r_cpu $r_redis $l_n_p99 $l_r_p99")
  cluster_results+=("$r_rps $r_p99 $r_cpu $c_rps $c_p99 $c_cpu $c_redis")
done
cluster_answered=$(metric "$cluster_base" 'reftrack_redirects_total{outcome="redirected"}')
kill -TERM "$cluster_reftrack_pid"
wait "$cluster_reftrack_pid"
cluster_counted=$(redis-cli -c -p "${cluster_nodes[0]#*:}" --raw hget "$(click_counts_key "$cluster_influencer")" "h:d:$(date -u +%Y%m%d)")
answered=$(metric "$base" 'reftrack_redirects_total{outcome="redirected"}')

# Webhook ingestion: signed Shopify deliveries, each a new order, with the same CPU accounting.
webhooks_start_ns=$(date +%s%N); server0=$(cpu_ticks "$reftrack_pid"); redis0=$(cpu_ticks "$redis_pid")
read -r w_rps w_p99 w_ok w_errors _ < <(taskset -c "$LOAD_CPU" "$WEBHOOK_LOAD" \
  "$base/webhooks/shopify" "$SHOPIFY_SECRET" "${DURATION%s}" "$WEBHOOK_CONNECTIONS")
webhooks_ns=$(( $(date +%s%N) - webhooks_start_ns ))
w_cpu=$(python3 -c "print('%.3f' % (($(cpu_ticks "$reftrack_pid") - $server0) / $(getconf CLK_TCK) / ($webhooks_ns / 1e9)))")
w_redis=$(python3 -c "print('%.3f' % (($(cpu_ticks "$redis_pid") - $redis0) / $(getconf CLK_TCK) / ($webhooks_ns / 1e9)))")
echo "webhooks: $w_rps deliveries/s p99 ${w_p99} ms core ${w_cpu}, redis ${w_redis}, errors $w_errors" >&2
stored=$(redis-cli -s "$redis_sock" --raw zcard "rt:{rt:u}:order_index")

# Reports: influencers created through the API, then a year of counters for each (clicks,
# bots, uniques, orders, revenue, commission, costs per month) written straight into Redis.
year=$(( $(date -u +%Y) - 1 ))
python3 - "$base" "$TOKEN" "$REPORT_INFLUENCERS" "$year" >"$work/seed.redis" <<'PY'
import http.client, json, random, sys, urllib.parse
base, token, count, year = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
def resp(*parts):
    return "*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts)
out = sys.stdout
for i in range(count):
    body = json.dumps({"handle": f"creator{i}", "commission": {"percent": "10"}})
    conn.request("POST", "/api/v1/influencers", body, headers)
    reply = conn.getresponse()
    influencer = json.loads(reply.read())["id"]
    assert reply.status == 201, reply.status
    # Clicks and unique visitors in the influencer's count shard, per month (a year is read as
    # its months); money in its own counters, per month and year.
    h = 0xcbf29ce484222325
    for b in f"i:{influencer}".encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    shard = f"rt:{{rt:cs:{h % 16}}}"
    fields, clicks_fields, year_totals = [], [], [0] * 4
    for month in range(1, 13):
        bucket = f"m:{year}{month:02d}"
        clicks = random.randint(50, 5000)
        orders = clicks // random.randint(20, 100)
        revenue = orders * random.randint(1500, 9000)
        money = [orders, revenue, revenue // 10, random.randint(0, 20000)]
        year_totals = [a + b for a, b in zip(year_totals, money)]
        clicks_fields += [f"h:{bucket}", str(clicks), f"b:{bucket}", str(clicks // 10)]
        for kind, value in zip(["o:USD", "r:USD", "c:USD", "k:USD"], money):
            fields += [f"{kind}:{bucket}", str(value)]
        month_visitors = [str(random.random()) for _ in range(20)]
        out.write(resp("PFADD", f"{shard}:uniq:i:{influencer}:{bucket}", *month_visitors))
    for kind, value in zip(["o:USD", "r:USD", "c:USD", "k:USD"], year_totals):
        fields += [f"{kind}:y:{year}", str(value)]
    out.write(resp("HSET", f"{shard}:clicks:i:{influencer}", *clicks_fields))
    out.write(resp("HSET", f"rt:{{rt:i:{influencer}}}:counts", *fields))
PY
redis-cli -s "$redis_sock" --pipe <"$work/seed.redis" >/dev/null
report_times=()
for _ in $(seq "$REPORT_RUNS"); do
  report_times+=("$(curl -sf -o "$work/report.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
    "$base/api/v1/reports/influencers?from=$year-01-01&to=$year-12-31&sort=roi")")
done
report_rows=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["rows"]))' "$work/report.json")
echo "report of a year: ${report_times[*]} s, $report_rows rows" >&2

kill -TERM "$reftrack_pid"
wait "$reftrack_pid"
counted=$(redis-cli -s "$redis_sock" --raw hget "$(click_counts_key "$influencer")" "h:d:$(date -u +%Y%m%d)")

cluster_summary=$(printf '%s;' "${cluster_results[@]}")
python3 - "$LIGHT_CONNECTIONS" "$answered" "$counted" "$DURABLE" "$w_rps $w_p99 $w_ok $w_errors $w_cpu $stored" \
  "$report_rows ${report_times[*]}" "$cluster_answered $cluster_counted" "${cluster_summary%;}" \
  "${results[@]}" <<'PY'
import statistics, sys
light = sys.argv.pop(1)
answered, counted, durable = int(float(sys.argv[1])), int(sys.argv[2] or 0), sys.argv[3]
w_rps, w_p99, w_ok, w_errors, w_cpu, stored = map(float, sys.argv[4].split())
report_rows, *report_times = map(float, sys.argv[5].split())
cluster_answered, cluster_counted = (int(float(x)) for x in sys.argv[6].split())
cluster_rounds = [tuple(map(float, r.split())) for r in sys.argv[7].split(";")]
rounds = [tuple(map(float, r.split())) for r in sys.argv[8:]]
med = lambda xs: statistics.median(xs)
n_rps, n_p99 = med(r[0] for r in rounds), med(r[1] for r in rounds)
r_rps, r_p99 = med(r[2] for r in rounds), med(r[3] for r in rounds)
print(f"{'median of ' + str(len(rounds)) + ' rounds':<28}{'req/s':>10}{'p99 ms':>10}")
print(f"{'nginx return 302':<28}{n_rps:>10.0f}{n_p99:>10.3f}")
print(f"{'reftrack (durable=' + durable + ')':<28}{r_rps:>10.0f}{r_p99:>10.3f}")
print(f"throughput ratio reftrack/nginx: {med(r[2] / r[0] for r in rounds):.2f}x")
print(f"p99 ratio reftrack/nginx: {med(r[3] / r[1] for r in rounds):.2f}x")
print(f"p99 at light load (-c{light}): nginx {med(r[7] for r in rounds):.3f} ms, reftrack {med(r[8] for r in rounds):.3f} ms, "
      f"ratio {med(r[8] / r[7] for r in rounds):.2f}x")
# Requests per second of server CPU: what each server does with the core it has, whether or
# not the load generator (which shares its core with Redis) kept it busy.
print(f"server core busy: nginx {med(r[4] for r in rounds):.0%}, reftrack {med(r[5] for r in rounds):.0%}")
print(f"requests per server CPU-second ratio reftrack/nginx: {med((r[2] / r[5]) / (r[0] / r[4]) for r in rounds):.2f}x")
print(f"Redis CPU per counted click: {med(r[6] / r[2] * 1e6 for r in rounds):.2f} us (on the load core)")
r_per_cpu = med(r[2] / r[5] for r in rounds)
print(f"{'signed Shopify deliveries':<28}{w_rps:>10.0f}{w_p99:>10.3f}")
print(f"webhook deliveries per server CPU-second: {w_rps / w_cpu:.0f} (reftrack core busy {w_cpu:.0%})")
print(f"webhook/redirect ratio: {w_rps / r_rps:.2f}x by throughput, {(w_rps / w_cpu) / r_per_cpu:.2f}x per server CPU-second")
print(f"ROI report over a year, {int(report_rows) - 1} influencers: median {statistics.median(report_times) * 1000:.0f} ms of {len(report_times)} requests")
c_rps, c_p99 = med(r[3] for r in cluster_rounds), med(r[4] for r in cluster_rounds)
print(f"{'reftrack on a 3-master cluster':<28}{c_rps:>10.0f}{c_p99:>10.3f}")
print(f"cluster/single ratio: {med(r[3] / r[0] for r in cluster_rounds):.2f}x by throughput, "
      f"{med((r[3] / r[5]) / (r[0] / r[2]) for r in cluster_rounds):.2f}x per server CPU-second, "
      f"p99 {med(r[4] / r[1] for r in cluster_rounds):.2f}x")
print(f"Redis CPU per counted click on the cluster (3 nodes): {med(r[6] / r[3] * 1e6 for r in cluster_rounds):.2f} us")
print(f"redirects answered: {answered}, clicks counted in Redis: {counted}")
print(f"on the cluster: redirects answered: {cluster_answered}, clicks counted: {cluster_counted}")
print(f"webhook deliveries answered 200: {int(w_ok)}, orders stored: {int(stored)}, errors: {int(w_errors)}")
if answered != counted or cluster_answered != cluster_counted:
    sys.exit("FAIL: not every answered click was counted")
if int(w_ok) != int(stored) or w_errors:
    sys.exit("FAIL: not every acknowledged delivery was stored once")
print("every answered click was counted and every acknowledged delivery stored once")
PY
