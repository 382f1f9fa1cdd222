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
# Usage: bench/slack.sh [seconds per throughput run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
cargo build -q --release -p slack-bridge --example ack_bench
BENCH="$PWD/target/release/examples/ack_bench"
export RUST_LOG=warn

"$BENCH" latency 5000
"$BENCH" throughput "$SECONDS_PER_RUN" 32

# The signing secret of ack_bench.rs.
SECRET="bench-signing-secret-0123456789abcdef"
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
