#!/usr/bin/env bash
# Fuzzes the admin API from its own OpenAPI document with schemathesis (from PyPI): generated
# requests, valid and invalid, against a real server and a private Redis. It fails on any 500,
# any response that breaks the documented schema, and the other schemathesis checks.
#
# Usage: deploy/schemathesis.sh        (MAX_EXAMPLES=50 per operation; EXTRA="..." for more flags)
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXAMPLES=${MAX_EXAMPLES:-50}
TOKEN=schemathesis-admin-token-0123456789

command -v schemathesis >/dev/null 2>&1 || python3 -m pip install --quiet schemathesis
command -v redis-server >/dev/null 2>&1 || {
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
}

cargo build --release --quiet --bin reftrack
work=$(mktemp -d)
server=
cleanup() {
  [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
(cd "$work" && REFTRACK_HTTP__BIND="127.0.0.1:$port" REFTRACK_ADMIN__TOKEN="$TOKEN" \
  REFTRACK_LOG__LEVEL=warn exec "$OLDPWD/target/release/reftrack" serve >"$work/reftrack.log" 2>&1) &
server=$!
for _ in $(seq 200); do curl -sf -o /dev/null "$base/healthz" && break; sleep 0.05; done

# Something for the generated requests to find: an influencer with a link, a coupon, a cost.
auth=(-H "Authorization: Bearer $TOKEN" -H "content-type: application/json")
influencer=$(curl -sf "${auth[@]}" -d '{"handle":"fuzz","commission":{"percent":"10"}}' \
  "$base/api/v1/influencers" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null "${auth[@]}" -d "{\"influencer_id\":\"$influencer\",\"destination\":\"https://shop.example/\",\"code\":\"fuzz\"}" "$base/api/v1/links"
curl -sf -o /dev/null "${auth[@]}" -d '{"code":"FUZZ10"}' "$base/api/v1/influencers/$influencer/coupons"

# Two checks are left out, by design:
# - positive_data_acceptance: the document gives types, and the server's validation is
#   stricter than types (a handle's characters, a destination's scheme, an id's shape), so a
#   "schema-valid" request can rightly get a 400 that names the rule it broke.
# - use_after_free: DELETE disables an influencer or link (its history stays in reports), so
#   it can still be read afterwards.
status=0
schemathesis run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --exclude-checks positive_data_acceptance,use_after_free \
  --max-examples "$MAX_EXAMPLES" \
  --report junit --report-junit-path "$work/junit.xml" \
  ${EXTRA:-} || status=$?
python3 - "$work/junit.xml" <<'PY' || true
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
operations = sum(int(s.get("tests", 0)) for s in suites)
failures = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
print(f"schemathesis: {operations} operations tested, {failures} failing")
PY
if grep -q "panicked" "$work/reftrack.log"; then
  echo "the server panicked:" >&2
  grep -m5 "panicked" "$work/reftrack.log" >&2
  status=1
fi
exit "$status"
