# shellcheck shell=bash
# What the benchmark scripts in deploy/bench/ share: each sources it after its own
# `set -euo pipefail` with `. "$(dirname "$0")/lib.sh"`. Sourcing it moves to the repository
# root, so the scripts' paths (and a relative BIN) are read from there.
#
# BIN=path runs a prebuilt reftrack instead of building target/release/reftrack, and
# WEBHOOK_LOAD=path a prebuilt examples/webhook_load (run.sh, overload.sh); cargo is not run
# when every binary a script needs is given.
#
# Every process a script starts goes in `pids`, which bench_init's trap stops at exit, however
# the script ends, before it removes the work directory.
#
# The variables the functions set (work, pids, redis_pid, nginx_port, ...) are read by the
# scripts, not here.
# shellcheck disable=SC2034

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit

# Installs PACKAGE with apt-get (through sudo when not root) when COMMAND is missing.
ensure_installed() {
  command -v "$1" >/dev/null 2>&1 && return
  local sudo=
  echo "installing $2" >&2
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# Makes the work directory ($work) and the list of processes to stop ($pids), and at exit
# sends each bench_signal (TERM; crash.sh sets KILL after this) and removes the directory.
bench_init() {
  work=$(mktemp -d)
  pids=()
  bench_signal=TERM
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -s "$bench_signal" "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# Stops PID... now (SIGTERM, waiting for each) and drops them from $pids, for scripts that
# start a fresh server per size so that the exit trap never signals a pid reused since.
bench_stop() {
  local pid kept=()
  for pid in "$@"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do [[ " $* " == *" $pid "* ]] || kept+=("$pid"); done
  pids=("${kept[@]}")
}

# Sets BIN to the reftrack binary; a path given in the environment is used as it is (to
# compare builds, or to run one built elsewhere), else target/release/reftrack is built.
build_reftrack() { bench_build reftrack; }

# As build_reftrack, and sets WEBHOOK_LOAD to the webhook load generator
# (examples/webhook_load.rs) the same way. Cargo does not run when both are given.
build_reftrack_and_webhook_load() { bench_build reftrack webhook_load; }

# Builds whichever of reftrack and webhook_load (BIN, WEBHOOK_LOAD) is not given, in one cargo
# invocation as the scripts always did: the example's dev-dependencies join the feature set.
bench_build() {
  local targets=()
  if [ -z "${BIN:-}" ]; then
    BIN=target/release/reftrack
    targets+=(--bin reftrack)
  fi
  if [ "${2:-}" = webhook_load ] && [ -z "${WEBHOOK_LOAD:-}" ]; then
    WEBHOOK_LOAD=target/release/examples/webhook_load
    targets+=(--example webhook_load)
  fi
  if [ ${#targets[@]} -gt 0 ]; then cargo build --release --quiet "${targets[@]}"; fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to 20 s until something answers HTTP at URL (any status), else stops the script.
wait_http() {
  for _ in $(seq 400); do curl -s -o /dev/null "$1" && return; sleep 0.05; done
  echo "nothing answered at $1" >&2; exit 1
}

# CPU time (user + system, in clock ticks) the processes PID... have used so far, all threads
# included, summed.
cpu_ticks() {
  local pid sum=0
  for pid in "$@"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
  echo "$sum"
}

# Busy and total clock ticks of core CPU so far (from /proc/stat: idle and iowait are not
# busy): two readings give how busy the core was in between, which says whether the server's
# core or the load generator's was the limit of a run.
core_ticks() {
  awk -v c="cpu$1" '$1 == c {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}

# Waits (up to 300 s) until the reftrack at BASE has no clicks buffered and Redis (pid
# $redis_pid) used under 5% of a core over the last half second: the count writes of one
# round must not run into the next, whose core they share (at 1,000,000 links they take
# seconds of Redis after the round ends, and minutes after the warm-up).
wait_quiet() {
  local base=$1 hz t0 t1
  hz=$(getconf CLK_TCK)
  for _ in $(seq 600); do
    t0=$(cpu_ticks "$redis_pid"); sleep 0.5; t1=$(cpu_ticks "$redis_pid")
    [ "$(metric "$base" reftrack_click_buffer_depth)" = 0 ] \
      && [ "$(metric "$base" reftrack_click_tallies_held)" = 0 ] \
      && [ $(((t1 - t0) * 40)) -le "$hz" ] && return
  done
  echo "wait_quiet: Redis, the click buffer or the held counts still busy after 300 s" >&2
}

# Starts keeping, in Redis's slow log (Redis at $redis_sock), every command that holds Redis
# $1 microseconds or longer, from now on.
slowlog_start() {
  redis-cli -s "$redis_sock" config set slowlog-log-slower-than "$1" >/dev/null
  redis-cli -s "$redis_sock" config set slowlog-max-len 100000 >/dev/null
  redis-cli -s "$redis_sock" slowlog reset >/dev/null
}

# Prints what the slow log kept since slowlog_start: how many commands, the longest, and the
# count and longest of each command name ("none" when it kept none).
slowlog_summary() {
  redis-cli -s "$redis_sock" --json slowlog get -1 | python3 -c '
import collections, json, sys
entries = json.load(sys.stdin)
if not entries:
    print("none"); sys.exit()
by = collections.defaultdict(list)
for entry in entries:
    by[entry[3][0].upper()].append(entry[2])
worst = max(e[2] for e in entries)
parts = ", ".join(f"{c} {len(t)} (longest {max(t) / 1000:.1f} ms)" for c, t in sorted(by.items(), key=lambda kv: -len(kv[1])))
print(f"{len(entries)}, longest {worst / 1000:.1f} ms: {parts}")'
}

# Percent busy of a core between two core_ticks readings ("busy total" each).
busy_percent() {
  python3 -c 'import sys; b0, t0, b1, t1 = map(int, sys.argv[1:]); print("%.0f" % (100 * (b1 - b0) / max(1, t1 - t0)))' $1 $2
}

# Prints the value of the metric NAME (with its labels, as /metrics spells them) of the
# reftrack at BASE.
metric() { curl -sf "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }

# The key of an influencer's click counters: in count shard FNV-1a("i:<id>") mod 16 (keys.rs).
click_counts_key() {
  python3 -c 'import sys
h = 0xcbf29ce484222325
for b in ("i:" + sys.argv[1]).encode(): h = ((h ^ b) * 0x100000001b3) % 2**64
print("rt:{rt:cs:%d}:clicks:i:%s" % (h % 16, sys.argv[1]))' "$1"
}

# Starts a private redis-server on a unix socket in the work directory ($redis_sock), without
# persistence, pinned to core CPU (`any`: not pinned); ARG... are further redis-server options
# (later ones win). Sets redis_pid and returns once it answers.
start_redis() {
  local cpu=$1 pin=()
  shift
  [ "$cpu" = any ] || pin=(taskset -c "$cpu")
  redis_sock=$work/redis.sock
  "${pin[@]}" redis-server --port 0 --unixsocket "$redis_sock" --save "" --appendonly no \
    --dir "$work" --logfile "$work/redis.log" "$@" &
  redis_pid=$!
  pids+=("$redis_pid")
  for _ in $(seq 200); do redis-cli -s "$redis_sock" ping >/dev/null 2>&1 && return; sleep 0.05; done
  tail -n 5 "$work/redis.log" >&2
  echo "redis-server did not answer on $redis_sock" >&2; exit 1
}

# Starts the reference: nginx answering every request with a 302 of the same shape as
# reftrack's, one worker pinned to core CPU. Sets nginx_port, and nginx_worker (the worker's
# pid, whose CPU time is the reference's).
start_nginx() {
  nginx_port=$(free_port)
  cat >"$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 302 "https://shop.example/p?utm_source=ig&rtclid=V1StGXR8_Z5jdHi6B-myT"; }
  }
}
CONF
  taskset -c "$1" nginx -c "$work/nginx.conf" -p "$work" &
  pids+=($!)
  wait_http "http://127.0.0.1:$nginx_port/x"
  nginx_worker=$(pgrep -P "$(cat "$work/nginx.pid")")
}

# Writes $work/spread.lua, the wrk script of the spread benchmarks: paths /lk0 .. /lk<n-1>
# (n from SPREAD_LINKS), chosen uniformly or, with SPREAD_DISTRIBUTION=zipf, by a Zipf law;
# with VISITORS=many each request comes from a random address.
write_spread_lua() {
  cat >"$work/spread.lua" <<'LUA'
-- Zipf with s = 1, drawn as n^u: log-uniform ranks.
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
}

# Seeds LINKS links /lk0.. of the reftrack at BASE (admin token $TOKEN), 10 per influencer:
# the influencers through the API, the links straight into the catalog in Redis ($redis_sock).
seed_links() {
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

# Clicks every one of the LINKS links /lk0.. of the reftrack at BASE (with wrk on LOAD_CPU),
# so that each is in its link cache: a cached link is the case the spread benchmarks measure.
warm_links() {
  local base=$1 links=$2 cached=0
  python3 - "$links" >"$work/warm.lua" <<'PY'
import sys
print(f"local n, i = {sys.argv[1]}, -1\nrequest = function() i = (i + 1) % n; return wrk.format('GET', '/lk' .. i) end")
PY
  # A pass is timed for 20,000 loads a second; a slower machine needs more than one (each
  # walks the links from the first, the cached ones at full speed).
  for _ in $(seq 10); do
    taskset -c "$LOAD_CPU" wrk -t1 -c"${CONNECTIONS:-64}" -d"$((links / 20000 + 2))s" -s "$work/warm.lua" "$base" >/dev/null
    cached=$(metric "$base" reftrack_link_cache_entries)
    [ "${cached:-0}" -ge "$links" ] && return
  done
  echo "warm_links: the link cache holds ${cached:-0} of $links links after 10 passes" >&2
}
