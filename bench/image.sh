#!/usr/bin/env bash
# Image benchmarks (BENCHMARKS.md, section "image"):
#   1. cold `cargo xtask build-image`: an empty target directory, so xtask,
#      every dependency and the three LTO binaries are compiled (podman)
#   2. incremental: one binary's source touched (re-link of that binary, image)
#   3. nothing changed (cargo no-op, image)
#   4. sizes of the image, per layer, against the floor (the binaries alone),
#      as podman writes it and as xtask writes it without a container tool
#   5. container start to /ready: `podman run` of the image against a
#      throwaway PostgreSQL and the fake LlamaStack, 10 starts
#   6. the MCP server images (`cargo xtask build-image --all`): sizes per
#      layer against their binaries, and container start to /health, 10 starts
# Usage: bench/image.sh [--no-cold]   (needs podman; prints the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Sandbox quirk, as in `cargo xtask test`: this podman cannot set rlimits.
if [ -z "${CONTAINERS_CONF:-}" ]; then
  mkdir -p target
  printf '[containers]\ndefault_ulimits = []\n' > target/containers.conf
  export CONTAINERS_CONF="$root/target/containers.conf"
fi
unset VERSION REGISTRY AGENT_IMG
export CONTAINER_TOOL=podman
timed() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1; end=$(date +%s.%N); python3 -c "print(f'{$end - $start:.1f} s')"; }

if [ "${1:-}" != "--no-cold" ]; then
  cold=$(mktemp -d)
  echo "cold cargo xtask build-image (empty CARGO_TARGET_DIR): $(CARGO_TARGET_DIR=$cold timed cargo xtask build-image)"
  rm -rf "$cold"
fi
cargo xtask build-image >/dev/null 2>&1
echo "nothing changed: $(timed cargo xtask build-image)"
touch bins/register-assets/src/main.rs
echo "incremental (register-assets touched): $(timed cargo xtask build-image)"

record=target/image/last-build.json
archive=$(python3 -c "import json; print(json.load(open('$record'))['archive'])")
image=$(python3 -c "import json; print(json.load(open('$record'))['reference'])")
bins=target/x86_64-unknown-linux-musl/release
python3 bench/image_sizes.py "$archive" "$bins/db-migrate" "$bins/register-assets" "$bins/self-service-agent"
echo "podman's view: $(podman image inspect --format '{{.Size}}' "$image") bytes uncompressed"
# The same image written by xtask without a container tool (flate2 level 6,
# the compressor the floor is measured with)
native=$(CONTAINER_TOOL=none cargo xtask build-image --no-cargo --out-dir target/image/bench-native 2>/dev/null)
echo "without a container tool: $native"
python3 bench/image_sizes.py target/image/bench-native/self-service-agent.oci.tar \
  "$bins/db-migrate" "$bins/register-assets" "$bins/self-service-agent"

cargo build -q --release -p test-support --bin with-postgres --bin fake-llamastack --bin time-to-ready
export TOOLS="$root/target/release" BINS="$root/$bins" IMAGE="$image"
"$TOOLS/with-postgres" -- bash -c '
  set -euo pipefail
  RUST_LOG=warn "$BINS/db-migrate" up
  fake_port=$((20000 + RANDOM % 10000)); port=$((30000 + RANDOM % 10000))
  "$TOOLS/fake-llamastack" --port "$fake_port" >/dev/null &
  fake=$!
  trap "kill -INT $fake 2>/dev/null || true" EXIT
  sleep 0.5
  echo "container start to /ready (10 starts, podman run --read-only --network host):"
  for i in $(seq 10); do
    "$TOOLS/time-to-ready" "http://127.0.0.1:$port/ready" -- \
      podman run --rm --runtime runc --read-only --network host \
        -e POSTGRES_HOST -e POSTGRES_PORT -e POSTGRES_DB -e POSTGRES_USER -e POSTGRES_PASSWORD \
        -e LLAMA_STACK_URL="http://127.0.0.1:$fake_port" -e LISTEN_ADDR="127.0.0.1:$port" -e RUST_LOG=warn \
        "$IMAGE"
    sleep 0.3
  done | python3 -c "
import statistics, sys
ms = [float(line.split(\"ready_ms=\")[1].split()[0]) for line in sys.stdin if \"ready_ms=\" in line]
print(f\"  median {statistics.median(ms):.0f} ms over {len(ms)} starts (min {min(ms):.0f}, max {max(ms):.0f})\")"
'

# The MCP server images, built beside the agent image.
cargo xtask build-image --all >/dev/null 2>&1
small=target/x86_64-unknown-linux-musl/release-small
for binary in mcp-employee-info mcp-snow; do
  record=target/image/last-build-mcp-$binary.json
  archive=$(python3 -c "import json; print(json.load(open('$record'))['archive'])")
  image=$(python3 -c "import json; print(json.load(open('$record'))['reference'])")
  echo "$binary ($image, binary $(stat -c %s "$small/$binary") bytes):"
  python3 bench/image_sizes.py "$archive" "$small/$binary"
  port=$((40000 + RANDOM % 10000))
  for i in $(seq 10); do
    "$TOOLS/time-to-ready" "http://127.0.0.1:$port/health" -- \
      podman run --rm --runtime runc --read-only --network host \
        -e LISTEN_ADDR="127.0.0.1:$port" -e RUST_LOG=warn "$image"
    sleep 0.3
  done | python3 -c "
import statistics, sys
ms = [float(line.split('ready_ms=')[1].split()[0]) for line in sys.stdin if 'ready_ms=' in line]
print(f'  container start to /health: median {statistics.median(ms):.0f} ms over {len(ms)} starts (min {min(ms):.0f}, max {max(ms):.0f})')"
done
