#!/usr/bin/env bash
# Runs README.md's ```sh blocks in order, top to bottom, in one shell, as a newcomer would in a
# fresh folder, against a fresh server, and fails on the first command that fails.
#
# Two things differ from a newcomer's machine, both to keep CI fast, neither skipping a line:
# - `cargo` is a shim: `cargo run --release -- serve` starts the debug build of this checkout
#   in the background (and waits until it answers), `cargo install --path .` finds `reftrack`
#   already on PATH (the same debug build), and `cargo test` says the suite runs in its own CI
#   step. Any other cargo command runs the real cargo.
# - http://127.0.0.1:8080 becomes a free port, so the test never meets another server.
# The webhook example needs REFTRACK_WEBHOOKS__GENERIC_SECRET in the server's environment and
# the shell's, as the README says; the script sets it for both.
#
# Usage: deploy/readme_test.sh      (KEEP=1 keeps the work directory)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cargo build --quiet --bin reftrack
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  if [ -f "$work/server.pid" ]; then
    kill "$(cat "$work/server.pid")" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$(cat "$work/server.pid")" 2>/dev/null || break; sleep 0.05; done
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

mkdir -p "$work/bin" "$work/folder"
ln -s "$root/target/debug/reftrack" "$work/bin/reftrack"
real_cargo=$(command -v cargo)
cat > "$work/bin/cargo" <<SHIM
#!/usr/bin/env bash
set -euo pipefail
case "\$*" in
  "run --release -- serve"*)
    shift 3
    REFTRACK_HTTP__BIND=127.0.0.1:$port reftrack "\$@" > "$work/server.log" 2>&1 &
    echo \$! > "$work/server.pid"
    for _ in \$(seq 400); do
      curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && { cat "$work/server.log"; exit 0; }
      kill -0 "\$(cat "$work/server.pid")" 2>/dev/null || break
      sleep 0.05
    done
    cat "$work/server.log" >&2; echo "the server did not start" >&2; exit 1 ;;
  "install --path ."*) echo "(README test: reftrack is on PATH already: \$(command -v reftrack))" ;;
  "test"*) echo "(README test: the test suite runs in its own CI step)" ;;
  *) exec "$real_cargo" "\$@" ;;
esac
SHIM
chmod +x "$work/bin/cargo"

# The blocks, each announced with its line in README.md.
awk -v port="$port" '
  /^```sh$/ { inside = 1; printf "echo \"--- README.md line %d\"\n", NR; next }
  /^```/    { inside = 0; next }
  inside    { gsub(/127\.0\.0\.1:8080/, "127.0.0.1:" port); print }
' README.md > "$work/readme.sh"

cd "$work/folder"
export PATH="$work/bin:$PATH" REFTRACK_WEBHOOKS__GENERIC_SECRET=readme-test-generic-secret
env -u REFTRACK_URL -u REFTRACK_TOKEN -u REFTRACK_ADMIN__TOKEN \
  bash -euo pipefail -x "$work/readme.sh" 2>&1 | tee "$work/readme.log"

# What the README says the commands do, checked on the server they ran against.
fail() { echo "README test: $*" >&2; exit 1; }
grep -q "^location: https://shop.example/p?utm_source=ig&utm_campaign=bf&rtclid=" "$work/readme.log" \
  || fail "the quick start's click did not redirect with the follower's query and a click id"
grep -q '{"status":"stored"}' "$work/readme.log" || fail "the signed generic order was not stored"
token=$(cat data/admin_token)
for _ in $(seq 200); do
  report=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/reports/influencers")
  # Quiet while it polls: the last report is shown if it never matches.
  if python3 - "$report" 2>/dev/null <<'PY'
import json, sys
rows = {r["handle"]: r for r in json.loads(sys.argv[1])["rows"] if r.get("handle")}
assert rows["alice.bakes"]["clicks"] == 1, rows
assert rows["alice.bakes"]["bot_clicks"] == 0, rows
assert "bob.cooks" in rows, rows
PY
  then echo "README test: every block ran, and the report shows what the README says"; exit 0; fi
  sleep 0.05
done
fail "the report does not show alice's click and bob: $report"
