#!/usr/bin/env bash
# `cargo xtask up` benchmark (BENCHMARKS.md, "cargo xtask up"), with
# everything built and provisioned beforehand (the build is not timed):
#   - cold: `up --detach` to ready with an empty state directory (initdb,
#     LlamaStack's stores, every asset created), then `down`;
#   - warm: the same with the state kept (nothing to create);
#   - edit: a prompt file saved while the stack runs, to the service's
#     reload that puts it in force (`asset_reloads_total{outcome="replaced"}`
#     on its /metrics): from then on the next turn sends the new
#     instructions. Includes up's 200 ms debounce, the copy into the
#     service's asset directory and the service's own 100 ms debounce.
# Each RUNS times (default 3); median, min and max. Uses the default ports
# (8080, 8321, 15432, 8100-8102): nothing else may hold them.
# Usage: bench/up.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
cargo build -q -p xtask
cargo build -q -p db-migrate -p register-assets -p self-service-agent \
  -p mcp-employee-info -p mcp-snow -p test-support \
  --bin db-migrate --bin register-assets --bin self-service-agent \
  --bin mcp-employee-info --bin mcp-snow --bin openai-stub
XTASK="$PWD/target/debug/xtask"
WORK=$(mktemp -d)
chmod 755 "$WORK" # as root, PostgreSQL runs as postgres and must reach the state directory
STATE="$WORK/state"
ASSETS="$WORK/assets"
cp -r assets/config "$ASSETS"
trap '"$XTASK" down --state-dir "$STATE" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
unset INFERENCE_URL DATABASE_URL SSA_UP_STATE_DIR

now() { date +%s.%N; }
up() { "$XTASK" up --detach --no-build --state-dir "$STATE" --assets "$ASSETS" >/dev/null; }
down() { "$XTASK" down --state-dir "$STATE" >/dev/null; }
updates() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["updates"])' "$STATE/up.json"; }
reloaded() { # the service's count of reloads that put new agents in force
  curl -s http://127.0.0.1:8080/metrics |
    awk '/^asset_reloads_total\{outcome="replaced"\}/ { n = $2 } END { print n + 0 }'
}
stats() { # label, then seconds
  local label=$1; shift
  printf '%s\n' "$@" | python3 -c '
import statistics, sys
label = sys.argv[1]
times = [float(line) for line in sys.stdin if line.strip()]
print(f"{label}: median {statistics.median(times):.2f} s over {len(times)} runs (min {min(times):.2f}, max {max(times):.2f})")
' "$label"
}

cold=() warm=() edit=()
for _ in $(seq "$RUNS"); do
  rm -rf "$STATE"
  start=$(now); up; end=$(now); down
  cold+=("$(echo "$end - $start" | bc)")
done
for _ in $(seq "$RUNS"); do
  start=$(now); up; end=$(now)
  warm+=("$(echo "$end - $start" | bc)")
  before=$(reloaded)
  updated=$(updates)
  printf '\nSaved at %s.\n' "$(date +%s%N)" >>"$ASSETS/prompts/laptop-refresh.txt"
  start=$(now)
  while [ "$(reloaded)" = "$before" ]; do sleep 0.02; done
  end=$(now)
  edit+=("$(echo "$end - $start" | bc)")
  # up said so, and register-assets found nothing to change on the server
  while [ "$(updates)" = "$updated" ]; do sleep 0.05; done
  python3 -c '
import json, sys
state = json.load(open(sys.argv[1]))
assert state["last_update"] == {"changed": ["prompts/laptop-refresh.txt"], "reload": "replaced"}, state
assert state["last_reconcile"]["changes"] == [], state["last_reconcile"]
' "$STATE/up.json"
  down
done
echo "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
stats "cold (empty state) to ready" "${cold[@]}"
stats "warm (state kept) to ready" "${warm[@]}"
stats "prompt saved to the next turn sending it (the service reloaded)" "${edit[@]}"
