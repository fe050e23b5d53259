#!/usr/bin/env bash
# Clicks spread over many links: what counting every click costs as the spread grows.
#
# For each number of links in LINKS (10 links per influencer, as "10,000 links of 1,000
# influencers"), links are seeded straight into Redis, every one is clicked once to load the
# link cache, and then wrk clicks them chosen uniformly or by a Zipf law (wrk Lua script
# spread.lua), alternating with nginx `return 302` on the same paths in ROUNDS rounds. Each
# round prints counted clicks/s, Redis CPU per click (Redis CPU time from the round's start
# until its clicks are all written and Redis is idle, from /proc, which is what INFO cpu
# reports), server CPU per click (over the same span), the clicks still buffered at the end
# of the round, and the ratio to nginx; the last line of each spread compares with the
# figures of issue 14 ("today"), and how busy each core was in each run (the server's core
# near 100% means the server was the limit; the load core near 100% means wrk, with Redis
# beside it, was). After every spread reftrack is stopped (SIGTERM flushes its
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

write_spread_lua

start_redis "$LOAD_CPU"
start_nginx "$SERVER_CPU"


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
  seed_links "$base" "$links"
  warm_links "$base" "$links"
  # Redis's command figures count the rounds alone: the warm-up's clicks (a million or more
  # at 1,000,000 links) are written first.
  wait_quiet "$base"
  redis-cli -s "$redis_sock" config resetstat >/dev/null
  rounds_clicks0=$(metric "$base" 'reftrack_redirects_total{outcome="redirected"}')
  for dist in $DISTRIBUTIONS; do
    for round in $(seq "$ROUNDS"); do
      c0=$(core_ticks "$SERVER_CPU"); l0=$(core_ticks "$LOAD_CPU")
      read -r n_rps _ < <(run_wrk "http://127.0.0.1:$nginx_port" "$links" "$dist")
      c1=$(core_ticks "$SERVER_CPU"); l1=$(core_ticks "$LOAD_CPU")
      s0=$(cpu_ticks "$rt_pid"); r0=$(cpu_ticks "$redis_pid")
      read -r r_rps r_total < <(run_wrk "$base" "$links" "$dist")
      c2=$(core_ticks "$SERVER_CPU"); l2=$(core_ticks "$LOAD_CPU")
      # Which core was the limit: near 100% busy is the bottleneck of that side's run.
      cores="cores busy: nginx run $(busy_percent "$c0" "$c1")%/$(busy_percent "$l0" "$l1")%, reftrack run $(busy_percent "$c1" "$c2")%/$(busy_percent "$l1" "$l2")% (server/load)"
      buffered=$(metric "$base" reftrack_click_buffer_depth)
      # The CPU a round's clicks cost includes writing those still buffered when it ended,
      # and the next round starts only then.
      wait_quiet "$base"
      s1=$(cpu_ticks "$rt_pid"); r1=$(cpu_ticks "$redis_pid")
      line=$(python3 -c "
n,r,t,s,rc,hz=$n_rps,$r_rps,$r_total,$((s1 - s0)),$((r1 - r0)),$hz
print(f'{r:.0f} {s/hz/t*1e6:.2f} {rc/hz/t*1e6:.2f} {r/n:.3f}')")
      read -r rps server_us redis_us ratio <<<"$line"
      echo "links $links $dist round $round: nginx ${n_rps%.*}/s | reftrack ${rps}/s (${ratio}x), server ${server_us} us/click, Redis ${redis_us} us/click, buffered ${buffered}; ${cores}" >&2
      summary+=("$links $dist $rps $server_us $redis_us $ratio $buffered")
    done
  done
  # Where Redis spent its time over this spread's rounds: the commands by total time (those
  # run by scripts included), and per click answered in the rounds (each round ended quiet).
  rounds_clicks=$(( $(metric "$base" 'reftrack_redirects_total{outcome="redirected"}' | cut -d. -f1) - ${rounds_clicks0%.*} ))
  redis-cli -s "$work/redis.sock" info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$rounds_clicks" '/^cmdstat_/ {
    printf "  %-12s calls %10d  usec %11d  per call %8.2f  us per click %6.3f\n", substr($1, 9), $3, $5, $7, $5 / n }' |
    sort -k5 -nr | head -n 10 >&2
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
