#!/usr/bin/env bash
# Slack bridge benchmark, on this machine: how fast POST /slack/events is
# acknowledged when the inbox's processing takes 2 s in the background
# (crates/slack-bridge/examples/ack_bench.rs, release build; the router,
# the load client and the fake Slack share the machine's cores).
#   - latency: signed app_mention events one after another, each new;
#     time to the 200, p50/p99/max
#   - throughput: new events from 32 concurrent clients; then one event
#     delivered again and again (as Slack's retries are): deduplicated
#   - wrk: one pre-signed body with a fresh timestamp, 32 connections; the
#     first delivery is submitted, every later one is a redelivery of the
#     same event_id, so this measures the deduplicated path
#   - through the whole service: the shipped self-service-agent (release,
#     musl) with a throwaway PostgreSQL, the fake LlamaStack taking 2 s per
#     agent turn and the fake Slack Web API (test-support bins); signed
#     app_mention events paced 100 ms: the time to the 200, and from the
#     request's acceptance to its chat.postMessage answered (the SLACK
#     delivery's delivered_at)
# Usage: bench/slack.sh [seconds per throughput run, default 10] [events through the service, default 200]
set -euo pipefail
cd "$(dirname "$0")/.."
# The signing secret of ack_bench.rs, and of the service below.
export SECRET="bench-signing-secret-0123456789abcdef"

if [ "${SLACK_BENCH_INSIDE:-}" = 1 ]; then
  # the service part (the end of this script), against a throwaway PostgreSQL
  export PGOPTIONS="--client-min-messages=warning" RUST_LOG=warn
  work=$(mktemp -d)
  pids=""
  trap 'kill $pids 2>/dev/null || true; exec 3>&- || true; rm -rf "$work"' EXIT
  "$BIN_DIR/db-migrate" up
  q() { psql -qAtX "$DATABASE_URL" -c "$1"; }
  fake_port=$((20000 + RANDOM % 10000)) api_port=$((30000 + RANDOM % 20000))
  "$TOOLS/fake-llamastack" --port "$fake_port" --turn-latency-ms 2000 >/dev/null &
  pids="$!"
  exec 3> >("$TOOLS/fake-slack" > "$work/slack-url")
  until [ -s "$work/slack-url" ]; do sleep 0.05; done
  # the fake Slack's bot token (test-support fake_slack::BOT_TOKEN)
  LISTEN_ADDR="127.0.0.1:$api_port" LLAMA_STACK_URL="http://127.0.0.1:$fake_port" ASSET_CONFIG_DIR="$PWD/assets/config" \
    SLACK_API_URL="$(cat "$work/slack-url")" SLACK_SIGNING_SECRET="$SECRET" \
    SLACK_BOT_TOKEN=xoxb-000000000001-000000000002-fakeSlackBotToken \
    "$BIN_DIR/self-service-agent" serve &
  pids="$pids $!"
  until curl -sf "http://127.0.0.1:$api_port/ready" >/dev/null; do sleep 0.05; done
  python3 bench/slack_load.py "http://127.0.0.1:$api_port/slack/events" "$SECRET" "$EVENTS" 0.1
  until [ "$(q "SELECT count(*) FROM delivery_logs WHERE integration_type = 'SLACK' AND status = 'DELIVERED'")" -ge "$EVENTS" ]; do sleep 0.2; done
  q "SELECT 'accepted -> chat.postMessage answered: p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s) * 1000) || ' ms, p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY s) * 1000) || ' ms, max ' || round(max(s) * 1000) || ' ms'
     FROM (SELECT extract(epoch FROM d.delivered_at - r.created_at) AS s FROM delivery_logs d JOIN request_logs r USING (request_id) WHERE d.integration_type = 'SLACK') t"
  q "SELECT 'of which the agent turn (accepted -> completed): p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY s) * 1000) || ' ms' FROM (SELECT extract(epoch FROM completed_at - created_at) AS s FROM request_logs) t"
  echo "requests: $(q "SELECT count(*) FROM request_logs"), deliveries not DELIVERED: $(q "SELECT count(*) FROM delivery_logs WHERE status <> 'DELIVERED'")"
  exit 0
fi
SECONDS_PER_RUN="${1:-10}"
export EVENTS="${2:-200}"
cargo build -q --release -p slack-bridge --example ack_bench
BENCH="$PWD/target/release/examples/ack_bench"
export RUST_LOG=warn

"$BENCH" latency 5000
"$BENCH" throughput "$SECONDS_PER_RUN" 32

work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$BENCH" serve $((SECONDS_PER_RUN + 30)) > "$work/url" &
server=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(cat "$work/url")
body='{"type":"event_callback","team_id":"TBENCH","event_id":"EvWrk1","authorizations":[{"user_id":"UBOT","is_bot":true}],"event":{"type":"app_mention","user":"UBENCH0001","channel":"CBENCH","ts":"1700000000.000100","text":"<@UBOT> my laptop is slow"}}'
timestamp=$(date +%s)
signature="v0=$(printf 'v0:%s:%s' "$timestamp" "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Slack-Request-Timestamp"] = "$timestamp"
wrk.headers["X-Slack-Signature"] = "$signature"
LUA
status=$(curl -s -o /dev/null -w '%{http_code}' "$url" -H 'content-type: application/json' \
  -H "x-slack-request-timestamp: $timestamp" -H "x-slack-signature: $signature" -d "$body")
[ "$status" = 200 ] || { echo "the pre-signed body was answered $status" >&2; exit 1; }
echo "wrk, one pre-signed body (redeliveries of one event), 32 connections, ${SECONDS_PER_RUN} s:"
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency -s "$work/post.lua" "$url" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"

echo "through the whole service, $EVENTS events paced 100 ms, agent turn 2 s:"
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p db-migrate -p self-service-agent
cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin fake-slack
BIN_DIR="$PWD/target/$target/release" TOOLS="$PWD/target/release" SLACK_BENCH_INSIDE=1 \
  "$PWD/target/release/with-postgres" -- bash "$0"
