#!/usr/bin/env bash
# Clicks spread over many links: what counting every click costs as the spread grows.
#
# For each number of links in LINKS (10 links per influencer, as "10,000 links of 1,000
# influencers"), links are seeded straight into Redis, every one is clicked once to load the
# link cache, and then wrk clicks them chosen uniformly or by a Zipf law (wrk Lua script
# spread.lua), alternating with nginx `return 302` on the same paths in ROUNDS rounds. Each
# round prints counted clicks/s, Redis CPU per click (Redis CPU time over the round, from
# /proc, which is what INFO cpu reports), server CPU per click, the clicks still buffered at
# the end of the round, and the ratio to nginx; the last line of each spread compares with the
# figures of issue 14 ("today"). After every spread reftrack is stopped (SIGTERM flushes its
# buffer) and the clicks counted in Redis must equal the redirects it answered.
#
# The server under test is pinned to SERVER_CPU; wrk and Redis share LOAD_CPU (as run.sh).
# Absolute numbers on a shared machine are noise; compare within a run.
#
# Usage: deploy/bench/spread.sh   (LINKS="1 1000 10000 100000 1000000" DISTRIBUTIONS="uniform zipf"
#        ROUNDS=5 DURATION=8s CONNECTIONS=64 VISITORS=one|many BIN=target/release/reftrack to vary)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LINKS=${LINKS:-1 1000 10000 100000 1000000}
DISTRIBUTIONS=${DISTRIBUTIONS:-uniform zipf}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TOKEN=bench-admin-token-0123456789

VISITORS=${VISITORS:-many}
export VISITORS
build_reftrack
bench_init

cat >"$work/spread.lua" <<'LUA'
-- Paths /lk0 .. /lk<n-1>, uniform or Zipf (s = 1, drawn as n^u: log-uniform ranks).
local n = tonumber(os.getenv("SPREAD_LINKS"))
local zipf = os.getenv("SPREAD_DISTRIBUTION") == "zipf"
-- VISITORS=many: each request from a random address (X-Forwarded-For, trusted from loopback by
-- default), so the unique-visitor sketches take a new visitor almost every click.
local many = os.getenv("VISITORS") == "many"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
request = function()
  local i
  if zipf then
    i = math.floor(math.exp(math.random() * math.log(n))) - 1
  else
    i = math.random(n) - 1
  end
  if many then
    local ip = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(0, 255))
    return wrk.format("GET", "/lk" .. i, { ["X-Forwarded-For"] = ip })
  end
  return wrk.format("GET", "/lk" .. i)
end
LUA

start_redis "$LOAD_CPU"
start_nginx "$SERVER_CPU"

# Seeds influencers (through the API) and `links` links /lk0.. straight into the catalog.
seed() {
  local base=$1 links=$2
  python3 - "$base" "$TOKEN" "$links" >"$work/links.redis" <<'PY'
import http.client, json, sys, time, urllib.parse
base, token, links = sys.argv[1], sys.argv[2], int(sys.argv[3])
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
influencers = []
for i in range(max(1, links // 10)):
    conn.request("POST", "/api/v1/influencers", json.dumps({"handle": f"spread{links}x{i}"}), headers)
    reply = conn.getresponse()
    influencers.append(json.loads(reply.read())["id"])
def resp(*parts):
    return "*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts)
now = str(int(time.time() * 1000))
out = sys.stdout
for n in range(links):
    out.write(resp("HSET", f"rt:{{rt:cat}}:link:lk{n}", "influencer_id", influencers[n % len(influencers)],
                   "destination", "https://shop.example/p?utm_source=ig", "disabled", "0", "created_ms", now))
PY
  redis-cli -s "$redis_sock" --pipe <"$work/links.redis" >/dev/null
}

# wrk over $1 for DURATION; prints "requests_per_second requests".
run_wrk() {
  local out
  out=$(SPREAD_LINKS=$2 SPREAD_DISTRIBUTION=$3 taskset -c "$LOAD_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -s "$work/spread.lua" "$1")
  if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; tail -n 5 "$work"/reftrack-*.log >&2; echo "unexpected responses" >&2; exit 1; fi
  python3 -c 'import re,sys; o=sys.argv[1]; print(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1), re.search(r"(\d+) requests in", o).group(1))' "$out"
}

hz=$(getconf CLK_TCK)
summary=()
for links in $LINKS; do
  redis-cli -s "$redis_sock" flushall >/dev/null
  port=$(free_port)
  REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
    REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
    REFTRACK_CLICKS__SPOOL_DIR="$work/spool-$links" REFTRACK_LOG__LEVEL=warn \
    REFTRACK_FRAUD__REPEAT_WINDOW_SECS=0 REFTRACK_FRAUD__BURST_MAX_CLICKS=1000000000 \
    REFTRACK_FRAUD__ADDRESS_BURST_MAX_CLICKS=0 \
    taskset -c "$SERVER_CPU" "$BIN" serve >"$work/reftrack-$links.log" 2>&1 &
  rt_pid=$!
  pids+=("$rt_pid")
  base="http://127.0.0.1:$port"
  wait_http "$base/healthz"
  seed "$base" "$links"
  # Load every link into the cache (a cached link is the case measured).
  python3 - "$links" >"$work/warm.lua" <<'PY'
import sys
print(f"local n, i = {sys.argv[1]}, -1\nrequest = function() i = (i + 1) % n; return wrk.format('GET', '/lk' .. i) end")
PY
  warm_s=$(( links / 20000 + 2 ))
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${warm_s}s" -s "$work/warm.lua" "$base" >/dev/null
  for dist in $DISTRIBUTIONS; do
    for round in $(seq "$ROUNDS"); do
      read -r n_rps _ < <(run_wrk "http://127.0.0.1:$nginx_port" "$links" "$dist")
      s0=$(cpu_ticks "$rt_pid"); r0=$(cpu_ticks "$redis_pid")
      read -r r_rps r_total < <(run_wrk "$base" "$links" "$dist")
      s1=$(cpu_ticks "$rt_pid"); r1=$(cpu_ticks "$redis_pid")
      buffered=$(metric "$base" reftrack_click_buffer_depth)
      line=$(python3 -c "
n,r,t,s,rc,hz=$n_rps,$r_rps,$r_total,$((s1 - s0)),$((r1 - r0)),$hz
print(f'{r:.0f} {s/hz/t*1e6:.2f} {rc/hz/t*1e6:.2f} {r/n:.3f}')")
      read -r rps server_us redis_us ratio <<<"$line"
      echo "links $links $dist round $round: nginx ${n_rps%.*}/s | reftrack ${rps}/s (${ratio}x), server ${server_us} us/click, Redis ${redis_us} us/click, buffered ${buffered}" >&2
      summary+=("$links $dist $rps $server_us $redis_us $ratio $buffered")
    done
  done
  # Where Redis spent its time over this spread: the commands by total time (those run by
  # scripts included), then resets the figures for the next spread.
  redis-cli -s "$work/redis.sock" info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ {
    printf "  %-24s calls %10d  usec %12d  per call %8.2f\n", substr($1, 9), $3, $5, $7 }' |
    sort -k5 -nr | head -n 6 >&2
  redis-cli -s "$work/redis.sock" config resetstat >/dev/null
  answered=$(metric "$base" 'reftrack_redirects_total{outcome="redirected"}')
  dropped=$(metric "$base" reftrack_clicks_dropped_total)
  spilled=$(metric "$base" reftrack_clicks_spilled_total)
  failed=$(metric "$base" 'reftrack_click_flushes_total{result="error"}')
  echo "links $links: clicks spilled to the spool ${spilled%.*}, failed flushes ${failed%.*}" >&2
  kill -TERM "$rt_pid"; wait "$rt_pid" || true
  counted=$(python3 - "$redis_sock" <<'PY'
import subprocess, sys, datetime
sock = sys.argv[1]
day = datetime.datetime.now(datetime.timezone.utc).strftime("h:d:%Y%m%d")
keys = subprocess.run(["redis-cli", "-s", sock, "--scan", "--pattern", "rt:{rt:cs:*}:clicks:l:*"],
                      capture_output=True, text=True).stdout.split()
total = 0
for i in range(0, len(keys), 1000):
    cmds = "".join(f"HGET {k} {day}\n" for k in keys[i:i + 1000])
    out = subprocess.run(["redis-cli", "-s", sock], input=cmds, capture_output=True, text=True).stdout
    total += sum(int(v) for v in out.split() if v.isdigit())
print(total)
PY
)
  echo "links $links: answered ${answered%.*}, counted $counted, dropped ${dropped%.*}" >&2
  summary+=("check $links ${answered%.*} $counted ${dropped%.*}")
done

python3 - "${summary[@]}" <<'PY'
import statistics, sys
today = {1: "110k-125k/s, Redis 0.20-0.26 us, server 7.5-8.2 us, buffered 0",
         1000: "52k-54k/s, Redis 7.4-7.9 us, server 11.5 us, buffered 0",
         10000: "36k/s, Redis 13-14 us, server 14 us, buffered 135k-221k",
         100000: "31k-32k/s, Redis 16.8 us, server 16 us, buffered 201k-237k"}
runs, checks, failed = {}, [], False
for line in sys.argv[1:]:
    parts = line.split()
    if parts[0] == "check":
        links, answered, counted, dropped = map(int, parts[1:])
        print(f"{links} links: answered {answered}, counted {counted}, dropped {dropped}")
        failed |= answered != counted or dropped != 0
        continue
    links, dist = int(parts[0]), parts[1]
    runs.setdefault((links, dist), []).append(list(map(float, parts[2:])))
print(f"{'links':>8} {'spread':>8} {'clicks/s':>9} {'x nginx':>8} {'server us':>10} {'Redis us':>9} {'buffered':>9}   today (issue 14, uniform)")
for (links, dist), rs in runs.items():
    med = lambda i: statistics.median(r[i] for r in rs)
    print(f"{links:>8} {dist:>8} {med(0):>9.0f} {med(3):>8.2f} {med(1):>10.2f} {med(2):>9.2f} {max(r[4] for r in rs):>9.0f}   {today.get(links, '-')}")
if failed:
    sys.exit("FAIL: not every answered click was counted, or some were dropped")
print("every answered click was counted, none dropped")
PY
