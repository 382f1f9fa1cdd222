#!/usr/bin/env bash
# `cargo xtask up` benchmark (BENCHMARKS.md, "cargo xtask up"), with
# everything built and provisioned beforehand (the build is not timed):
#   - cold: `up --detach` to ready with an empty state directory (initdb,
#     LlamaStack's stores, every asset created), then `down`;
#   - warm: the same with the state kept (nothing to create);
#   - edit: a prompt file saved while the stack runs, to the reconcile that
#     replaced its agent (`reconciles` in up.json; the watcher's 200 ms
#     debounce included).
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
reconciles() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reconciles"])' "$STATE/up.json"; }
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
  before=$(reconciles)
  printf '\nSaved at %s.\n' "$(date +%s%N)" >>"$ASSETS/prompts/laptop-refresh.txt"
  start=$(now)
  while [ "$(reconciles)" = "$before" ]; do sleep 0.02; done
  end=$(now)
  edit+=("$(echo "$end - $start" | bc)")
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["last_reconcile"]; assert r["changes"] == ["replace agent laptop-refresh"], r' "$STATE/up.json"
  down
done
echo "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
stats "cold (empty state) to ready" "${cold[@]}"
stats "warm (state kept) to ready" "${warm[@]}"
stats "prompt saved to agent replaced" "${edit[@]}"
