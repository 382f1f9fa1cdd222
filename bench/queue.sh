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
# Needs wrk (apt install wrk) and psql.
# Usage: bench/queue.sh [deliveries per run, default 4000]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${QUEUE_BENCH_INSIDE:-}" != 1 ]; then
  export DELIVERIES="${1:-4000}"
  target=x86_64-unknown-linux-musl
  cargo build -q --release --target "$target" -p db-migrate -p self-service-agent
  cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin instant-receiver
  export BIN_DIR="$PWD/target/$target/release" TOOLS="$PWD/target/release" QUEUE_BENCH_INSIDE=1
  # the rest of this script, against a throwaway PostgreSQL (DATABASE_URL)
  exec "$TOOLS/with-postgres" -- bash "$0"
fi

export PGOPTIONS="--client-min-messages=warning" RUST_LOG=warn
work=$(mktemp -d)
pids=""
cleanup() {
  kill $pids 2>/dev/null || true
  exec 3>&- || true
  rm -rf "$work"
}
trap cleanup EXIT
"$BIN_DIR/db-migrate" up
q() { psql -qAtX "$DATABASE_URL" -c "$1"; }
port() { echo $((30000 + RANDOM % 20000)); }
# starts `self-service-agent ROLE` on PORT with the extra environment; its pid in $started_pid
start() {
  local role=$1 p=$2
  shift 2
  env LISTEN_ADDR="127.0.0.1:$p" "$@" "$BIN_DIR/self-service-agent" "$role" &
  started_pid=$!
  pids="$pids $started_pid"
  until curl -sf "http://127.0.0.1:$p/health" >/dev/null; do sleep 0.02; done
}

fake_port=$(port)
"$TOOLS/fake-llamastack" --port "$fake_port" >/dev/null &
pids="$pids $!"
exec 3> >("$TOOLS/instant-receiver" > "$work/receiver-url")
until [ -s "$work/receiver-url" ]; do sleep 0.05; done
hook=$(cat "$work/receiver-url")
export LLAMA_STACK_URL="http://127.0.0.1:$fake_port" WORKER_POLL_INTERVAL=0.2 DISPATCH_POLL_INTERVAL=0.2 ASSET_CONFIG_DIR="$PWD/assets/config"
api=$(port)
start serve "$api" DISPATCHER_ENABLED=false
api_url="http://127.0.0.1:$api"

echo "accepted -> completed (300 each, paced 20 ms, 1 at a time):"
python3 bench/queue_load.py "$api_url" latency 300 0.02
q "SELECT request_type,
          round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000)::numeric, 2) AS p50_ms,
          round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)) * 1000)::numeric, 2) AS p99_ms
   FROM request_logs WHERE request_type IN ('sync-bench', 'async-bench') GROUP BY request_type ORDER BY 1"

echo "webhook integrations for 100 users -> $hook"
python3 bench/queue_load.py "$api_url" integrate 100 "$hook"
q "DELETE FROM delivery_logs"
for dispatchers in 1 2; do
  python3 bench/queue_load.py "$api_url" accept "$DELIVERIES" 0
  until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status = 'PENDING'")" -ge "$DELIVERIES" ]; do sleep 0.2; done
  began=$(date +%s.%N)
  dpids=""
  for _ in $(seq "$dispatchers"); do
    start dispatch "$(port)" DISPATCH_CONCURRENCY=32
    dpids="$dpids $started_pid"
  done
  until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status IN ('PENDING', 'RETRYING')")" -eq 0 ]; do sleep 0.05; done
  ended=$(date +%s.%N)
  kill $dpids 2>/dev/null || true
  wait $dpids 2>/dev/null || true
  echo "$dispatchers dispatcher(s): $DELIVERIES deliveries in $(python3 -c "print(round($ended - $began, 2))") s: $(python3 -c "print(round($DELIVERIES / ($ended - $began)))") deliveries/s (not delivered: $(q "SELECT count(*) FROM delivery_logs WHERE status <> 'DELIVERED'"))"
  q "DELETE FROM delivery_logs"
done

echo "the receiver alone (wrk, 2 threads, 32 connections, 10 s, the same payload):"
body=$(python3 -c 'import json; print(json.dumps({"type": "request.completed", "content": "hello " * 20}))')
cat > "$work/hook.lua" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '$body'
LUA
wrk -t 2 -c 32 -d 10s -s "$work/hook.lua" "$hook" | grep -E "Requests/sec|Latency"

latency() { # p50|p99 of completed -> delivered, in ms, over what is delivered
  q "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - r.completed_at)) * 1000)::numeric, 1) AS p50_ms,
            round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - r.completed_at)) * 1000)::numeric, 1) AS p99_ms
     FROM delivery_logs d JOIN request_logs r USING (request_id)"
}
echo "answer -> delivery (p50|p99 ms), 500 requests paced 20 ms:"
start dispatch "$(port)" DISPATCH_POLL_INTERVAL=1
python3 bench/queue_load.py "$api_url" accept 500 0.02
until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status = 'DELIVERED'")" -ge 500 ]; do sleep 0.1; done
echo "  a separate dispatcher (polling every 1 s, woken by the answers' NOTIFY): $(latency)"
q "DELETE FROM delivery_logs"
kill $pids 2>/dev/null || true
wait $pids 2>/dev/null || true
pids=""
"$TOOLS/fake-llamastack" --port "$fake_port" >/dev/null &
pids="$!"
api=$(port)
start serve "$api" DISPATCH_POLL_INTERVAL=1
python3 bench/queue_load.py "http://127.0.0.1:$api" accept 500 0.02
until [ "$(q "SELECT count(*) FROM delivery_logs WHERE status = 'DELIVERED'")" -ge 500 ]; do sleep 0.1; done
echo "  the dispatcher of serve (the default), woken by its own answers: $(latency)"
