#!/usr/bin/env bash
# MCP server benchmark, all on this machine in one run: mcp-employee-info
# (release, musl, as shipped) and the Python system's stack (FastMCP from
# the mcp 1.13.1 venv target/venv/mcp, bench/fastmcp_employee_info.py) on
# the same data (assets/mcp/employees.json), side by side:
#   - start to /health, 10 starts each; RSS at start
#   - tools/call get_employee_laptop_info over streamable HTTP (stateless,
#     JSON answers) with wrk at 1, 8 and 32 connections
#   - RSS idle (after one call) and after the load (now and peak)
# Usage: bench/mcp.sh [seconds per level, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export DURATION="${1:-10}"
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p mcp-employee-info
cargo build -q --release -p test-support --bin time-to-ready
RUST_BIN="$PWD/target/$target/release/mcp-employee-info"
TOOLS="$PWD/target/release"
PYTHON="$PWD/target/venv/mcp/bin/python"
DATA="$PWD/assets/mcp/employees.json"
BENCH="$PWD/bench"
[ -x "$PYTHON" ] || { echo "no $PYTHON: run cargo xtask provision" >&2; exit 69; }
export RUST_LOG=warn EMPLOYEE_DATA_FILE="$DATA"

rss() { grep "$2" "/proc/$1/status" | tr -s " " | cut -d" " -f2; }
check_call() { # the answer is a tool result for the employee, not an error
  local answer
  answer=$(curl -sf "http://127.0.0.1:$1/mcp" -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' -H 'AUTHORITATIVE_USER_ID: 1001' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_employee_laptop_info","arguments":{}}}')
  grep -q '"isError":false' <<<"$answer" && grep -q 'Alice Johnson' <<<"$answer" \
    || { echo "port $1: the tool call failed: $answer" >&2; exit 1; }
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rust_port=$(free_port); py_port=$(free_port)

echo "start to /health (10 starts each):"
for i in $(seq 10); do
  LISTEN_ADDR="127.0.0.1:$rust_port" "$TOOLS/time-to-ready" "http://127.0.0.1:$rust_port/health" -- "$RUST_BIN"
done | python3 "$BENCH/stats.py" ready | sed 's/^/  mcp-employee-info:/'
for i in $(seq 10); do
  "$TOOLS/time-to-ready" "http://127.0.0.1:$py_port/health" -- "$PYTHON" "$BENCH/fastmcp_employee_info.py" "$DATA" "$py_port"
done | python3 "$BENCH/stats.py" ready | sed 's/^/  FastMCP:/'

LISTEN_ADDR="127.0.0.1:$rust_port" "$RUST_BIN" &
rust=$!
"$PYTHON" "$BENCH/fastmcp_employee_info.py" "$DATA" "$py_port" &
python=$!
trap 'kill -TERM $rust $python 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$rust_port/health" >/dev/null && curl -sf "http://127.0.0.1:$py_port/health" >/dev/null; do sleep 0.05; done
check_call $rust_port
check_call $py_port
echo "idle RSS after one call: mcp-employee-info $(rss $rust VmRSS) kB, FastMCP $(rss $python VmRSS) kB"

for c in 1 8 32; do
  t=$(( c < 2 ? c : 2 ))
  r=$(wrk -t $t -c $c -d "${DURATION}s" --latency -s "$BENCH/mcp_call.lua" "http://127.0.0.1:$rust_port/mcp" | grep RESULT)
  p=$(wrk -t $t -c $c -d "${DURATION}s" --latency -s "$BENCH/mcp_call.lua" "http://127.0.0.1:$py_port/mcp" | grep RESULT)
  echo "concurrency $c: mcp-employee-info $r | FastMCP $p"
done
echo "RSS after load: mcp-employee-info now $(rss $rust VmRSS) kB, peak $(rss $rust VmHWM) kB; FastMCP now $(rss $python VmRSS) kB, peak $(rss $python VmHWM) kB"
