#!/usr/bin/env bash
# Report times as influencers grow (issue 14): for each count in COUNTS (1,000, 10,000 and
# 50,000), a fresh private Redis is seeded straight through its protocol with that many
# influencers, each with 60 days of day counters and 14 months of month counters (human and
# bot clicks, orders, revenue), year counters of money, and unique-visitor sketches for the
# last 35 days and all 14 months (the ranges below read no seeded day older than 35 days), and
# one link in a campaign with its own counters. Then the median
# of RUNS requests of the influencer report over a calendar month, the last 30 days (the
# default and the dashboard's first load, also as CSV), the last 366 days and last calendar
# year, and of the campaign report over the last 30 days, each printed beside the figure
# issue 14 measured before this change.
#
# Usage: deploy/bench/report_scale.sh [path/to/reftrack]   (default $BIN, else target/release/reftrack)
#        COUNTS="1000 10000" RUNS=3 to vary; PROFILE=1 prints Redis's time per report by command;
#        TABLE=0 seeds the money counters as builds before `field::TABLE` left them (lists);
#        CLICK_TABLE=0 seeds the influencers' click counters as builds before 2026-11-28 left
#        them (lists).
# Counters are seeded as today's writers keep them: money counters and influencers' click
# counters with the `_table` field whose long value makes Redis hold them as hash tables
# (src/store/keys.rs); links' click counters as lists.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BIN=${1:-${BIN:-target/release/reftrack}}
COUNTS=${COUNTS:-"1000 10000 50000"}
RUNS=${RUNS:-5}
TABLE=${TABLE:-1}
CLICK_TABLE=${CLICK_TABLE:-1}
PORT=${PORT:-18094}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TOKEN=bench-admin-token-0123456789

bench_init

# Today's figures from issue 14, in seconds ("-" where the issue gave none).
today_figure() {
  case "$1 $2" in
    "10000 rolling-30") echo "0.95" ;;
    "10000 calendar-year") echo "0.28 (README, read the year bucket)" ;;
    "50000 rolling-30") echo "503 after 1 s" ;;
    "10000 campaign") echo "0.33" ;;
    "50000 campaign") echo "5.95" ;;
    *) echo "-" ;;
  esac
}

start() {
  start_redis "$LOAD_CPU"
  REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN=$TOKEN \
    REFTRACK_HTTP__BIND=127.0.0.1:$PORT REFTRACK_HTTP__WORKERS=1 REFTRACK_LOG__LEVEL=warn \
    REFTRACK_CLICKS__SPOOL_DIR="$work/spool" taskset -c "$SERVER_CPU" "$BIN" serve \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_http "http://127.0.0.1:$PORT/healthz"
}

stop() {
  bench_stop "$server_pid" "$redis_pid"
  rm -rf "${work:?}"/*
}

time_of() {
  local times=() ticks
  ticks=("$(cpu_ticks "$server_pid")" "$(cpu_ticks "$redis_pid")")
  for _ in $(seq "$RUNS"); do
    times+=("$(curl -s -o "$work/report.out" -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/reports/$1")")
  done
  # CPU per report (ms), server and Redis: steadier than the wall time on a busy machine.
  cpu_ms="$(( ($(cpu_ticks "$server_pid") - ticks[0]) * 1000 / $(getconf CLK_TCK) / RUNS ))"
  cpu_ms+=" / $(( ($(cpu_ticks "$redis_pid") - ticks[1]) * 1000 / $(getconf CLK_TCK) / RUNS ))"
  printf '%s\n' "${times[@]}" | awk '$1 != 200 { print "status " $1 > "/dev/stderr"; exit 1 }'
  printf '%s\n' "${times[@]}" | awk '{ print $2 }' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}

today=$(date -u +%F)
month_start=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%F)
month_end=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%F)
year_from=$(date -u -d "$today -365 days" +%F)
last_year=$(( $(date -u +%Y) - 1 ))

printf '%-7s %-13s %-6s %10s %17s   %s\n' influencers range format seconds "CPU ms srv/redis" \
  "today (issue 14)"
for count in $COUNTS; do
  start
  campaign=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"name": "bench", "currency": "USD"}' "http://127.0.0.1:$PORT/api/v1/campaigns" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  python3 - "$count" "$campaign" "$TABLE" "$CLICK_TABLE" >"$work/seed.redis" <<'PY'
import datetime, random, sys
count, campaign = int(sys.argv[1]), sys.argv[2]
table, click_table = sys.argv[3] == "1", sys.argv[4] == "1"
note = ("reftrack: a value longer than hash-max-listpack-value keeps this hash a "
        "hash table, so reports look its fields up instead of searching a list")
out = sys.stdout
def resp(*parts):
    parts = [str(p) for p in parts]
    out.write("*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts))
today = datetime.datetime.now(datetime.timezone.utc).date()
days = [today - datetime.timedelta(days=i) for i in range(60)]
months = sorted({(today.year * 12 + today.month - 1 - i) for i in range(14)})
months = ["%04d%02d" % (m // 12, m % 12 + 1) for m in months]
now_ms = int(datetime.datetime.now().timestamp() * 1000)
cat = "rt:{rt:cat}"
for i in range(count):
    inf = "inf_bench%07d" % i
    code = "c%07d" % i
    resp("HSET", f"{cat}:inf:{inf}", "handle", f"creator{i}", "created_ms", now_ms + i, "disabled", "0")
    resp("ZADD", f"{cat}:infs", now_ms + i, inf)
    resp("HSET", f"{cat}:handles", f"creator{i}", inf)
    resp("HSET", f"{cat}:link:{code}", "influencer_id", inf, "destination", "https://shop.example/",
         "campaign_id", campaign, "disabled", "0", "created_ms", now_ms + i)
    resp("ZADD", f"{cat}:inf:{inf}:links", now_ms + i, code)
    resp("ZADD", f"{cat}:campaign:{campaign}:links", now_ms + i, code)
    for kind, name in (("i", inf), ("l", code)):
        # Money in the owner's counts; clicks and sketches in its count shard (keys.rs).
        owner = f"rt:{{rt:{kind}:{name}}}"
        h = 0xcbf29ce484222325
        for b in f"{kind}:{name}".encode():
            h = ((h ^ b) * 0x100000001b3) % 2**64
        shard = f"rt:{{rt:cs:{h % 16}}}"
        fields, click_fields = [], []
        if table:
            fields += ["_table", note]
        if click_table and kind == "i":
            click_fields += ["_table", note]
        for bucket in [f"d:{d:%Y%m%d}" for d in days] + [f"m:{m}" for m in months]:
            clicks = random.randint(1, 50)
            orders = random.randint(0, 3)
            click_fields += [f"h:{bucket}", clicks, f"b:{bucket}", clicks // 10]
            fields += [f"o:USD:{bucket}", orders, f"r:USD:{bucket}", orders * 2500]
        for year in sorted({m[:4] for m in months}):
            fields += [f"o:USD:y:{year}", 40, f"r:USD:y:{year}", 100000]
        resp("HSET", f"{owner}:counts", *fields)
        resp("HSET", f"{shard}:clicks:{kind}:{name}", *click_fields)
        for bucket in [f"d:{d:%Y%m%d}" for d in days[:35]] + [f"m:{m}" for m in months]:
            resp("PFADD", f"{shard}:uniq:{kind}:{name}:{bucket}", *("v%d" % random.randint(0, 5000) for _ in range(5)))
PY
  taskset -c "$LOAD_CPU" redis-cli -s "$redis_sock" --pipe <"$work/seed.redis" >/dev/null
  for spec in \
    "calendar-month json influencers?from=$month_start&to=$month_end" \
    "rolling-30 json influencers" \
    "rolling-30 csv influencers?format=csv" \
    "rolling-366 json influencers?from=$year_from&to=$today" \
    "calendar-year json influencers?from=$last_year-01-01&to=$last_year-12-31" \
    "campaign json influencers?campaign_id=$campaign"; do
    read -r name format query <<<"$spec"
    redis-cli -s "$redis_sock" config resetstat >/dev/null
    time_of "$query" >"$work/seconds"
    printf '%-11s %-13s %-6s %10s %17s   %s\n' "$count" "$name" "$format" "$(cat "$work/seconds")" \
      "$cpu_ms" "$(today_figure "$count" "$name")"
    if [ -n "${PROFILE:-}" ]; then
      # Redis's time per report by command, over the RUNS requests.
      redis-cli -s "$redis_sock" info commandstats | tr -d '\r' | awk -F'[:=,]' -v n="$RUNS" '/^cmdstat_/ {
        printf "    %-10s calls %8d  per call %7.2f us  ms per report %8.1f\n", substr($1, 9), $3 / n, $7, $5 / n / 1000 }' |
        sort -k11 -nr | head -n 4
    fi
  done
  time_of "links?influencer_id=inf_bench0000000" >"$work/seconds"
  printf '%-11s %-13s %-6s %10s %17s   %s\n' "$count" "links(1)" json "$(cat "$work/seconds")" \
    "$cpu_ms" "-"
  stop
done
