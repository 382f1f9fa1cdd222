#!/usr/bin/env bash
# self-service-agent benchmarks, all on this machine in one run:
#   - start to /ready (PostgreSQL and LlamaStack up), 10 starts; RSS when ready
#   - generic/sync throughput and latency with wrk at several concurrency
#     levels, against an instant fake LlamaStack
#   - pgbench running the same per-request SQL at the same levels
#   - RSS idle and after load
# Usage: bench/service.sh [seconds per level, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export DURATION="${1:-10}"
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p db-migrate -p self-service-agent
cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin time-to-ready
mkdir -p target/bench
# the service's own two statements, as pgbench runs them
cargo run -q --release -p agent-service --example hot_path_sql > target/bench/sync.pgbench
export BIN_DIR="$PWD/target/$target/release" TOOLS="$PWD/target/release" BENCH="$PWD/bench" ASSETS="$PWD/assets/config" \
  PGBENCH_SCRIPT="$PWD/target/bench/sync.pgbench"

"$TOOLS/with-postgres" -- bash -c '
  set -euo pipefail
  export PGOPTIONS="--client-min-messages=warning" RUST_LOG=warn
  "$BIN_DIR/db-migrate" up
  fake_port=$((20000 + RANDOM % 10000)); port=$((30000 + RANDOM % 10000))
  "$TOOLS/fake-llamastack" --port "$fake_port" >/dev/null &
  fake=$!
  trap "kill -INT $fake 2>/dev/null || true" EXIT
  export LLAMA_STACK_URL="http://127.0.0.1:$fake_port" LISTEN_ADDR="127.0.0.1:$port" ASSET_CONFIG_DIR="$ASSETS"
  sleep 0.5

  echo "start to ready (10 starts):"
  for i in $(seq 10); do
    "$TOOLS/time-to-ready" "http://127.0.0.1:$port/ready" -- "$BIN_DIR/self-service-agent"
  done | python3 "$BENCH/stats.py" ready

  "$BIN_DIR/self-service-agent" &
  service=$!
  trap "kill -INT $fake 2>/dev/null || true; kill -TERM $service 2>/dev/null || true" EXIT
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.01; done
  wrk -t 1 -c 1 -d 3s -s "$BENCH/sync.lua" "http://127.0.0.1:$port" >/dev/null
  # pgbench has a user of its own per client (pgb-user-<client>, see
  # hot_path_sql.rs), each with a session from one request
  for i in $(seq 0 63); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/api/v1/requests/generic/sync" -H "x-user-id: pgb-user-$i" \
      -H "content-type: application/json" -d "{\"content\": \"hello\", \"integration_type\": \"CLI\"}"
  done
  echo "idle RSS: $(grep VmRSS /proc/$service/status | tr -s " " | cut -d" " -f2) kB"

  for c in 1 8 32 64; do
    t=$(( c < 2 ? c : 2 ))
    s=$(wrk -t $t -c $c -d "${DURATION}s" --latency -s "$BENCH/sync.lua" "http://127.0.0.1:$port" | grep RESULT)
    p=$(pgbench -n -M prepared -c $c -j $t -T "$DURATION" -f "$PGBENCH_SCRIPT" "$DATABASE_URL" 2>/dev/null | grep -E "^tps" | sed -E "s/tps = ([0-9.]+).*/\1/")
    echo "concurrency $c: service $s | pgbench tps=$p | ratio $(python3 "$BENCH/stats.py" ratio "$s" "$p")"
  done
  echo "RSS after load: now $(grep VmRSS /proc/$service/status | tr -s " " | cut -d" " -f2) kB, peak $(grep VmHWM /proc/$service/status | tr -s " " | cut -d" " -f2) kB"
'
