#!/usr/bin/env bash
# The agent runtime's overhead per turn, all on this machine in one run:
#   - POST /api/v1/requests/generic/sync through the whole service (request
#     API, queue statements in PostgreSQL, one Responses call, answer
#     stored), against the instant fake Responses server
#   - the same Responses call made directly to that server (the body the
#     service sends on a first turn), the physical limit
#   - at concurrency 1 and 32; median and p99 of each; the difference is the
#     service's overhead per turn
#   - start to /ready with the asset directory loaded (10 starts), and the
#     time a reload takes (10 saved prompt changes, from the service's own
#     asset_reload_duration_seconds)
# Needs wrk (apt install wrk). Usage: bench/responses.sh [seconds per level, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export DURATION="${1:-10}"
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p db-migrate -p self-service-agent
cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin time-to-ready
mkdir -p target/bench
export BIN_DIR="$PWD/target/$target/release" TOOLS="$PWD/target/release" BENCH="$PWD/bench"

"$TOOLS/with-postgres" -- bash -c '
  set -euo pipefail
  export PGOPTIONS="--client-min-messages=warning" RUST_LOG=warn
  "$BIN_DIR/db-migrate" up
  assets=$(mktemp -d)
  mkdir -p "$assets/agents" "$assets/prompts"
  printf "name: routing-agent\ndescription: bench\ninstructions: You are the routing-agent.\n" \
    > "$assets/agents/routing-agent.yaml"
  fake_port=$((20000 + RANDOM % 10000)); port=$((30000 + RANDOM % 10000))
  "$TOOLS/fake-llamastack" --port "$fake_port" --plain >/dev/null &
  fake=$!
  trap "kill -INT $fake 2>/dev/null || true; rm -rf $assets" EXIT
  export LLAMA_STACK_URL="http://127.0.0.1:$fake_port" LISTEN_ADDR="127.0.0.1:$port" \
    ASSET_CONFIG_DIR="$assets" ASSET_RELOAD_INTERVAL=3600
  sleep 0.5

  echo "start to ready with the asset directory loaded (10 starts):"
  for i in $(seq 10); do
    "$TOOLS/time-to-ready" "http://127.0.0.1:$port/ready" -- "$BIN_DIR/self-service-agent"
  done | python3 "$BENCH/stats.py" ready

  "$BIN_DIR/self-service-agent" &
  service=$!
  trap "kill -INT $fake 2>/dev/null || true; kill -TERM $service 2>/dev/null || true; rm -rf $assets" EXIT
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.01; done

  # The body of a first turn, as the service sends it (its model resolved).
  model=$(curl -sf "http://127.0.0.1:$fake_port/v1/models" | python3 -c "import json,sys; print(next(m[\"id\"] for m in json.load(sys.stdin)[\"data\"] if m.get(\"custom_metadata\",{}).get(\"model_type\")==\"llm\"))")
  export DIRECT_BODY=$(python3 -c "import json,sys; print(json.dumps({\"model\": sys.argv[1], \"instructions\": \"You are the routing-agent.\", \"input\": [{\"type\": \"message\", \"role\": \"user\", \"content\": \"[Context from the self-service system, not typed by the user] The user is authenticated as user-1.\"}, {\"type\": \"message\", \"role\": \"user\", \"content\": \"hello\"}], \"stream\": True, \"store\": True}))" "$model")

  wrk -t 1 -c 1 -d 3s -s "$BENCH/sync.lua" "http://127.0.0.1:$port" >/dev/null
  for c in 1 32; do
    t=$(( c < 2 ? c : 2 ))
    s=$(wrk -t $t -c $c -d "${DURATION}s" --latency -s "$BENCH/sync.lua" "http://127.0.0.1:$port" | grep RESULT)
    d=$(wrk -t $t -c $c -d "${DURATION}s" --latency -s "$BENCH/responses_direct.lua" "http://127.0.0.1:$fake_port" | grep RESULT)
    echo "concurrency $c: service   $s"
    echo "concurrency $c: direct    $d"
    python3 "$BENCH/stats.py" overhead "$s" "$d"
  done

  echo "reload (10 saved prompt changes):"
  for i in $(seq 10); do
    echo "You are the routing-agent. Change $i." > "$assets/prompts/routing-agent.txt"
    sleep 0.5
  done
  curl -sf "http://127.0.0.1:$port/metrics" | python3 "$BENCH/stats.py" reload
'
