#!/usr/bin/env bash
# What reftrack's count writes cost Redis, alone: no server, no wrk sharing Redis's core, so
# two versions of the counts script or of the sketch layout compare within a few percent on
# a machine where spread.sh's Redis figure swings by half from run to run.
#
# A Python generator writes the commands the flusher sends for INTERVALS count intervals (seconds) of
# clicks spread uniformly over LINKS links (10 per influencer), CLICKS a second, each from a
# new visitor: per interval, the tallies in parts of 1,000 links with an influencer's links
# together (tallies.rs `split`), per part one `lua/apply_counts.lua` call per count shard
# (the script as scripts.rs assembles it, or SCRIPT=path) with a day and a month field per
# owner (FIELDS=day: the day's only), and a `PFADD` of the day's and the month's sketch per
# owner (SKETCHES=day: the day's only, as reftrack writes today's visitors; SKETCHES=none: no
# sketch, to price the counters alone). The key and field names follow keys.rs;
# the click records (one SETRANGE per flush, whatever the spread) are left out.
# `redis-cli --pipe` sends them to a private redis-server pinned to REDIS_CPU, and the script
# prints Redis's CPU time (from /proc) per click, and INFO commandstats.
#
# Usage: deploy/bench/flush_redis.sh   (LINKS=10000 CLICKS=35000 INTERVALS=20 SKETCHES=day
#        FIELDS=day+month SCRIPT=src/store/lua/apply_counts.lua REDIS_CPU=1 RUNS=3)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

LINKS=${LINKS:-10000}
CLICKS=${CLICKS:-35000}
INTERVALS=${INTERVALS:-20}
SKETCHES=${SKETCHES:-day}
FIELDS=${FIELDS:-day+month}
SCRIPT=${SCRIPT:-src/store/lua/apply_counts.lua}
REDIS_CPU=${REDIS_CPU:-1}
RUNS=${RUNS:-3}

ensure_installed redis-server redis-server
bench_init

# The script as reftrack loads it (scripts.rs `checked_source`): the table field's names, the
# shared checks, then the body.
python3 - "$SCRIPT" >"$work/script.lua" <<'PY'
import re, sys
keys = open("src/store/keys.rs").read()
table = re.search(r'pub const TABLE: &str = "([^"]+)"', keys).group(1)
note = re.search(r'pub const TABLE_NOTE: &str =\s*"((?:[^"\\]|\\.)*)"', keys, re.S).group(1)
note = re.sub(r"\\\n\s*", "", note)
print(f"local TABLE_FIELD, TABLE_NOTE = '{table}', '{note}'")
print(open("src/store/lua/checks.lua").read() + open(sys.argv[1]).read())
PY

python3 - "$LINKS" "$CLICKS" "$INTERVALS" "$SKETCHES" "$FIELDS" "$work/script.lua" >"$work/commands" <<'PY'
import hashlib, random, sys
links, clicks, seconds, sketches, fields, script = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
source = open(script).read()
sha = hashlib.sha1(source.encode()).hexdigest()
out = sys.stdout.buffer
def resp(*parts):
    parts = [p if isinstance(p, bytes) else str(p).encode() for p in parts]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
def shard(owner):  # keys.rs count_shard: FNV-1a of "<kind>:<name>", mod 16
    h = 0xcbf29ce484222325
    for b in owner.encode(): h = ((h ^ b) * 0x100000001b3) % 2**64
    return h % 16
out.write(resp("SCRIPT", "LOAD", source))
random.seed(1)
influencers = max(1, links // 10)
day, month = "20261128", "202611"
for second in range(seconds):
    per_link = {}
    for _ in range(clicks):
        per_link.setdefault(random.randrange(links), []).append(random.getrandbits(64).to_bytes(8, "little"))
    by_influencer = {}
    for link, visitors in per_link.items():
        by_influencer.setdefault(link % influencers, []).append((link, visitors))
    parts, part, in_part = [], [], 0
    for influencer, its_links in by_influencer.items():
        if in_part >= 1000:
            parts.append(part); part, in_part = [], 0
        part.append((influencer, its_links)); in_part += len(its_links)
    parts.append(part)
    for n, part in enumerate(parts):
        shards = {}
        for influencer, its_links in part:
            all_visitors = []
            for link, visitors in its_links:
                owner = f"l:lk{link}"
                shards.setdefault(shard(owner), []).append((owner, 0, visitors))
                all_visitors += visitors
            owner = f"i:inf{influencer}"
            shards.setdefault(shard(owner), []).append((owner, 1, all_visitors))
        seq = second * 1000 + n + 1
        for s, owners in shards.items():
            tag = f"rt:{{rt:cs:{s}}}"
            args = ["EVALSHA", sha, 1 + len(owners), f"{tag}:applied"]
            args += [f"{tag}:clicks:{o[0]}" for o in owners] + ["bench-writer", seq, 604800]
            for _, table, visitors in owners:
                if fields == "day":
                    args += [table, 1, f"h:d:{day}", len(visitors)]
                else:
                    args += [table, 2, f"h:d:{day}", len(visitors), f"h:m:{month}", len(visitors)]
            out.write(resp(*args))
            for owner, _, visitors in owners:
                if sketches == "none":
                    continue
                out.write(resp("PFADD", f"{tag}:uniq:{owner}:d:{day}", *visitors))
                if sketches == "day+month":
                    out.write(resp("PFADD", f"{tag}:uniq:{owner}:m:{month}", *visitors))
PY

for run in $(seq "$RUNS"); do
  start_redis "$REDIS_CPU"
  t0=$(cpu_ticks "$redis_pid")
  replies=$(redis-cli -s "$redis_sock" --pipe <"$work/commands" | tail -n 1)
  t1=$(cpu_ticks "$redis_pid")
  case $replies in *"errors: 0,"*) ;; *) echo "the commands were refused: $replies" >&2; exit 1 ;; esac
  python3 -c "import sys; t, hz, n = map(int, sys.argv[1:]); print(f'run $run: Redis {t / hz * 1e6 / n:.2f} us a click ({n} clicks over $LINKS links, sketches $SKETCHES, fields $FIELDS)')" \
    "$((t1 - t0))" "$(getconf CLK_TCK)" "$((CLICKS * INTERVALS))"
  redis-cli -s "$redis_sock" info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_(evalsha|pfadd|hincrby)/ {
    printf "  %-8s calls %9d  usec %10d  per call %8.2f\n", substr($1, 9), $3, $5, $7 }'
  bench_stop "$redis_pid"
  rm -f "$redis_sock"
done
