#!/usr/bin/env bash
# The request queue and the delivery dispatcher, all on this machine in one
# run (a throwaway PostgreSQL, an instant fake LlamaStack, an instant
# webhook receiver):
#   - asynchronous requests: accepted -> completed, against synchronous ones
#     (both from the rows' timestamps), paced so nothing queues up
#   - dispatcher throughput: N queued webhook deliveries drained by 1, then
#     by 2 `self-service-agent dispatch` processes; and the receiver alone
#     under wrk with the same payload (the ceiling)
#   - answer -> delivery latency with one dispatcher, requests paced
# Usage: bench/queue.sh [deliveries per run, default 4000]
set -euo pipefail
cd "$(dirname "$0")/.."
export DELIVERIES="${1:-4000}"
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p db-migrate -p self-service-agent
cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin instant-receiver
export BIN_DIR="$PWD/target/$target/release" TOOLS="$PWD/target/release" BENCH="$PWD/bench"

"$TOOLS/with-postgres" -- bash -c '
  set -euo pipefail
  export PGOPTIONS="--client-min-messages=warning" RUST_LOG=warn
  "$BIN_DIR/db-migrate" up
  q() { psql -qAtX "$DATABASE_URL" -c "$1"; }
  fake_port=$((20000 + RANDOM % 10000))
  "$TOOLS/fake-llamastack" --port "$fake_port" >/dev/null &
  pids="$!"
  exec 3> >("$TOOLS/instant-receiver" > /tmp/ssa-receiver-url.$$)
  trap "kill $pids 2>/dev/null || true; exec 3>&-" EXIT
  sleep 0.5
  hook=$(cat /tmp/ssa-receiver-url.$$)
  export LLAMA_STACK_URL="http://127.0.0.1:$fake_port" WORKER_POLL_INTERVAL=0.2 DISPATCH_POLL_INTERVAL=0.2
  port() { echo $((30000 + RANDOM % 20000)); }
  start() { # role, port, extra env...
    local role=$1 p=$2; shift 2
    env LISTEN_ADDR="127.0.0.1:$p" "$@" "$BIN_DIR/self-service-agent" "$role" &
    pids="$pids $!"
    until curl -sf "http://127.0.0.1:$p/health" >/dev/null; do sleep 0.02; done
    echo $! > /dev/null
  }
  api=$(port); start serve "$api" DISPATCHER_ENABLED=false
  api_url="http://127.0.0.1:$api"

  echo "accepted -> completed (300 each, paced 20 ms, 1 at a time):"
  python3 "$BENCH/queue_load.py" "$api_url" latency 300 0.02
  q "SELECT request_type, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000, 2) AS p50_ms, round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000, 2) AS p99_ms FROM request_logs WHERE request_type IN (''sync-bench'', ''async-bench'') GROUP BY request_type ORDER BY 1"

  echo "webhook integrations for 100 users -> $hook"
  python3 "$BENCH/queue_load.py" "$api_url" integrate 100 "$hook"
  for dispatchers in 1 2; do
    python3 "$BENCH/queue_load.py" "$api_url" accept "$DELIVERIES" 0
    until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status = ''PENDING''")" -ge "$DELIVERIES" ]; do sleep 0.2; done
    started=$(date +%s.%N)
    dpids=""
    for i in $(seq "$dispatchers"); do
      p=$(port); start dispatch "$p" DISPATCH_CONCURRENCY=32; dpids="$dpids $(pgrep -n -f "self-service-agent dispatch")"
    done
    until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status IN (''PENDING'', ''RETRYING'')")" -eq 0 ]; do sleep 0.05; done
    ended=$(date +%s.%N)
    kill $dpids; wait $dpids 2>/dev/null || true
    echo "$dispatchers dispatcher(s): $DELIVERIES deliveries in $(python3 -c "print(round($ended - $started, 2))") s: $(python3 -c "print(round($DELIVERIES / ($ended - $started)))") deliveries/s (failed: $(q "SELECT count(*) FROM delivery_logs WHERE status <> ''DELIVERED''"))"
    q "DELETE FROM delivery_logs"
  done
  echo "the receiver alone (wrk, 32 connections, the same payload):"
  python3 -c "import json; print(\"wrk.method=\\\"POST\\\"\nwrk.headers[\\\"content-type\\\"]=\\\"application/json\\\"\nwrk.body=\" + json.dumps(json.dumps({\"type\": \"request.completed\", \"content\": \"hello\" * 20})))" > /tmp/ssa-hook.lua.$$
  wrk -t 2 -c 32 -d 10s -s /tmp/ssa-hook.lua.$$ "$hook" | grep -E "Requests/sec|Latency"

  echo "answer -> delivery, one dispatcher, 500 requests paced 20 ms:"
  p=$(port); start dispatch "$p"
  python3 "$BENCH/queue_load.py" "$api_url" accept 500 0.02
  until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status = ''DELIVERED''")" -ge 500 ]; do sleep 0.1; done
  q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - r.completed_at)) * 1000, 1) AS p50_ms, round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - r.completed_at)) * 1000, 1) AS p99_ms FROM delivery_logs d JOIN request_logs r USING (request_id)"
  rm -f /tmp/ssa-receiver-url.$$ /tmp/ssa-hook.lua.$$
'
