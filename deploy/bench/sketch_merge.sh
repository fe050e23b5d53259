#!/usr/bin/env bash
# What the daily merge of day sketches into month sketches costs as the catalog grows (issue 14:
# the merge looks at every influencer and every link, not only those clicked that day).
#
# A fresh private Redis is seeded straight through its protocol with INFLUENCERS influencers
# (50,000) of LINKS_PER links each (10), and a day sketch of 20 visitors two days ago for
# ACTIVE_PCT percent of the influencers and of the links (10). The record of merged days is set
# to three days ago, so reftrack's merge task (`src/clicks/sketch_merger.rs`), which looks at
# once when reftrack starts, merges every settled day since: two days ago and, from 01:00 UTC,
# yesterday (which no owner has a sketch of: the case of a quiet day). The script prints the
# time until the record reaches the last settled day, the CPU Redis and reftrack used for it,
# per day merged, the Redis commands that held Redis SLOW_US (1,000) microseconds or longer,
# and checks that an active owner's month sketch counts its 20 visitors.
#
# Usage: deploy/bench/sketch_merge.sh   (INFLUENCERS=50000 LINKS_PER=10 ACTIVE_PCT=10
#        SLOW_US=1000; BIN=prebuilt)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

INFLUENCERS=${INFLUENCERS:-50000}
LINKS_PER=${LINKS_PER:-10}
ACTIVE_PCT=${ACTIVE_PCT:-10}
SLOW_US=${SLOW_US:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TOKEN=bench-admin-token-0123456789

ensure_installed redis-server redis-server
build_reftrack
bench_init
start_redis "$LOAD_CPU"

sketch_day=$(date -u -d '2 days ago' +%Y%m%d)
recorded=$(date -u -d '3 days ago' +%Y-%m-%d)
# The last settled day (as sketch_merger::settled_through, in UTC): yesterday from 01:00.
settled=$(date -u -d '1 hour ago 1 day ago' +%Y-%m-%d)

# The seed also names, in check.txt, the month sketches of an active link and influencer,
# which the merge must fill.
python3 - "$INFLUENCERS" "$LINKS_PER" "$ACTIVE_PCT" "$sketch_day" "$recorded" "$work/check.txt" >"$work/seed.redis" <<'PY'
import sys
influencers, links_per, active_pct, day, recorded = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
check = sys.argv[6]
out = sys.stdout
def resp(*parts):
    out.write("*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts))
def shard(kind, name):
    # store/keys.rs count_shard: FNV-1a of "kind:name", modulo 16.
    h = 0xcbf29ce484222325
    for b in f"{kind}:{name}".encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h % 16
def sketch(kind, name, n):
    resp("PFADD", f"rt:{{rt:cs:{shard(kind, name)}}}:uniq:{kind}:{name}:d:{day}",
         *(f"visitor{n}x{v}" for v in range(20)))
catalog = "rt:{rt:cat}"
numbers = []
for i in range(influencers):
    inf = f"inf_bench{i:08d}"
    resp("ZADD", f"{catalog}:infs", "0", inf)
    codes = [f"sm{i}x{k}" for k in range(links_per)]
    args = []
    for code in codes:
        args += ["0", code]
    resp("ZADD", f"{catalog}:inf:{inf}:links", *args)
    for k, code in enumerate(codes):
        numbers += [str(i * links_per + k), code]
    if len(numbers) >= 2000:
        resp("HSET", f"{catalog}:link_numbers", *numbers)
        numbers = []
    if i % 100 < active_pct:
        sketch("i", inf, i)
        for k, code in enumerate(codes):
            sketch("l", code, i * links_per + k)
if numbers:
    resp("HSET", f"{catalog}:link_numbers", *numbers)
resp("SET", f"{catalog}:sketches_merged", recorded)
with open(check, "w") as f:
    for kind, name in (("l", "sm0x0"), ("i", "inf_bench00000000")):
        f.write(f"rt:{{rt:cs:{shard(kind, name)}}}:uniq:{kind}:{name}:m:{day[:6]}\n")
PY
redis-cli -s "$redis_sock" --pipe <"$work/seed.redis" >/dev/null
echo "seeded $INFLUENCERS influencers, $((INFLUENCERS * LINKS_PER)) links, day sketches for ${ACTIVE_PCT}% of them on $sketch_day; merged through $recorded" >&2

port=$(free_port)
slowlog_start "$SLOW_US"
redis0=$(cpu_ticks "$redis_pid")
started=$(date +%s.%N)
REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_HTTP__WORKERS=1 \
  REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN="$TOKEN" \
  REFTRACK_LOG__LEVEL=info REFTRACK_CLICKS__SPOOL_DIR="$work/spool" \
  taskset -c "$SERVER_CPU" "$BIN" serve >"$work/reftrack.log" 2>&1 &
rt_pid=$!
pids+=("$rt_pid")
for _ in $(seq 6000); do
  [ "$(redis-cli -s "$redis_sock" --raw get 'rt:{rt:cat}:sketches_merged')" = "$settled" ] && break
  sleep 0.1
done
finished=$(date +%s.%N)
merged=$(redis-cli -s "$redis_sock" --raw get 'rt:{rt:cat}:sketches_merged')
if [ "$merged" != "$settled" ]; then
  tail -n 20 "$work/reftrack.log" >&2
  echo "FAIL: the merge reached $merged, not $settled, in 600 s" >&2; exit 1
fi
redis_ticks=$(( $(cpu_ticks "$redis_pid") - redis0 ))
server_ticks=$(cpu_ticks "$rt_pid")
days=$(( ( $(date -u -d "$settled" +%s) - $(date -u -d "$recorded" +%s) ) / 86400 ))

for key in $(cat "$work/check.txt"); do
  n=$(redis-cli -s "$redis_sock" --raw pfcount "$key")
  [ "$n" = 20 ] || { echo "FAIL: $key counts $n visitors, not 20" >&2; exit 1; }
done

hz=$(getconf CLK_TCK)
python3 - "$INFLUENCERS" "$LINKS_PER" "$ACTIVE_PCT" "$days" "$started" "$finished" "$redis_ticks" "$server_ticks" "$hz" <<'PY'
import sys
influencers, links_per, active, days = map(int, sys.argv[1:5])
started, finished = float(sys.argv[5]), float(sys.argv[6])
redis_ticks, server_ticks, hz = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9])
owners = influencers * (1 + links_per)
print(f"{influencers:,} influencers, {influencers * links_per:,} links ({owners:,} owners), {active}% with a day sketch: "
      f"{days} day(s) merged in {finished - started:.1f} s (reftrack's start included)")
print(f"per day merged: Redis {redis_ticks / hz / days:.2f} s CPU, reftrack {server_ticks / hz / days:.2f} s CPU "
      f"(start included), Redis {1e6 * redis_ticks / hz / days / owners:.2f} us an owner")
PY
echo "Redis commands of ${SLOW_US} us or longer from reftrack's start: $(slowlog_summary)"
echo "an active owner's month sketch counts its 20 visitors"
