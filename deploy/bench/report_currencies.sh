#!/usr/bin/env bash
# The influencer report over many currencies (issue 12, defect 11): INFLUENCERS (3,000)
# influencers created through the API, each with a year of per-month counters in one to three
# of CURRENCIES (32) currencies written straight into a private Redis, then the report's time
# over a calendar month and a calendar year, as JSON (every currency) and as CSV (one), the
# median of RUNS requests each.
#
# Usage: deploy/bench/report_currencies.sh [path/to/reftrack]   (default $BIN, else target/release/reftrack)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

BIN=${1:-${BIN:-target/release/reftrack}}
INFLUENCERS=${INFLUENCERS:-3000}
CURRENCIES=${CURRENCIES:-32}
RUNS=${RUNS:-3}
PORT=${PORT:-18093}
TOKEN=bench-admin-token-0123456789

bench_init
start_redis any

REFTRACK_REDIS__URL="redis+unix://$redis_sock" REFTRACK_ADMIN__TOKEN=$TOKEN \
  REFTRACK_HTTP__BIND=127.0.0.1:$PORT REFTRACK_LOG__LEVEL=warn \
  REFTRACK_CLICKS__SPOOL_DIR="$work/spool" "$BIN" serve >"$work/server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$PORT/healthz"

year=$(( $(date -u +%Y) - 1 ))
python3 - "http://127.0.0.1:$PORT" "$TOKEN" "$INFLUENCERS" "$CURRENCIES" "$year" >"$work/seed.redis" <<'PY'
import http.client, json, random, sys, urllib.parse
base, token, count, ncur, year = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
codes = ["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN",
         "CZK", "HUF", "RON", "BGN", "ISK", "TRY", "ILS", "AED", "SAR", "INR", "SGD", "HKD",
         "KRW", "TWD", "THB", "MYR", "IDR", "PHP", "MXN", "BRL", "CLP", "COP", "ZAR", "KWD"][:ncur]
url = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
def resp(*parts):
    return "*%d\r\n" % len(parts) + "".join("$%d\r\n%s\r\n" % (len(p.encode()), p) for p in parts)
out = sys.stdout
out.write(resp("SADD", "rt:{rt:cat}:currencies", *codes))
for i in range(count):
    conn.request("POST", "/api/v1/influencers", json.dumps({"handle": f"creator{i}"}), headers)
    reply = conn.getresponse()
    influencer = json.loads(reply.read())["id"]
    assert reply.status == 201, reply.status
    # Clicks live in the influencer's count shard (keys.rs), per month; money per month and year.
    h = 0xcbf29ce484222325
    for b in f"i:{influencer}".encode():
        h = ((h ^ b) * 0x100000001b3) % 2**64
    fields, clicks_fields = [], []
    totals = {}
    for month in range(1, 13):
        bucket = f"m:{year}{month:02d}"
        clicks = random.randint(50, 5000)
        clicks_fields += [f"h:{bucket}", str(clicks), f"b:{bucket}", str(clicks // 10)]
        for cur in random.sample(codes, random.randint(1, 3)):
            orders = random.randint(1, 50)
            revenue = orders * random.randint(1500, 9000)
            for kind, value in (("o", orders), ("r", revenue), ("c", revenue // 10), ("k", random.randint(0, 20000))):
                fields += [f"{kind}:{cur}:{bucket}", str(value)]
                totals[f"{kind}:{cur}"] = totals.get(f"{kind}:{cur}", 0) + value
    for kind, value in totals.items():
        fields += [f"{kind}:y:{year}", str(value)]
    out.write(resp("HSET", f"rt:{{rt:cs:{h % 16}}}:clicks:i:{influencer}", *clicks_fields))
    out.write(resp("HSET", f"rt:{{rt:i:{influencer}}}:counts", *fields))
PY
redis-cli -s "$redis_sock" --pipe <"$work/seed.redis" >/dev/null

time_of() {
  local times=()
  for _ in $(seq "$RUNS"); do
    times+=("$(curl -s -o "$work/report.out" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:$PORT/api/v1/reports/influencers?$1")")
  done
  # Every answer must be a 200: a report past redis.timeout_ms answers 503 in about 1 s.
  printf '%s\n' "${times[@]}" | awk '$1 != 200 { print "status " $1 > "/dev/stderr"; exit 1 }'
  printf '%s\n' "${times[@]}" | awk '{ print $2 }' | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"
}
echo "$INFLUENCERS influencers, $CURRENCIES currencies, median of $RUNS ($BIN):"
echo "  month, JSON: $(time_of "from=$year-06-01&to=$year-06-30") s"
echo "  year,  JSON: $(time_of "from=$year-01-01&to=$year-12-31") s"
echo "  year,  CSV:  $(time_of "from=$year-01-01&to=$year-12-31&format=csv") s"
redis-cli -s "$redis_sock" info commandstats | grep -E 'cmdstat_(hmget|hgetall|hlen|pfcount)' | tr -d '\r' | sed 's/^/  redis /'
