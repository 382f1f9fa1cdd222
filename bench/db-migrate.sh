#!/usr/bin/env bash
# db-migrate benchmarks: the release (musl, as shipped) binary against a
# throwaway PostgreSQL 15 on loopback.
#   1. database already current: wall time over 30 runs, peak RSS
#   2. cold migration of an empty database: wall time over 10 runs, peak RSS
# Usage: bench/db-migrate.sh   (prints the figures recorded in BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
cargo build -q --release --target "$target" -p db-migrate
cargo build -q --release -p test-support --bin with-postgres
export BIN="$PWD/target/$target/release/db-migrate"
export MEDIAN="$PWD/bench/median.py"
export PGOPTIONS="--client-min-messages=warning"

target/release/with-postgres -- bash -c '
  set -euo pipefail
  median() { python3 "$MEDIAN" "$1"; }
  out=$(mktemp)
  RUST_LOG=warn "$BIN" up
  echo "database already current:"
  hyperfine -N --warmup 3 --runs 30 --style none --export-json "$out" "$BIN up"
  echo "  $(median "$out")"
  /usr/bin/time -f "  peak RSS %M KiB" "$BIN" up 2>&1 | grep "peak RSS"
  echo "empty database (cold migration):"
  reset="psql -q $DATABASE_URL -c \"DROP SCHEMA public CASCADE; CREATE SCHEMA public\""
  hyperfine -N --runs 10 --style none --export-json "$out" --prepare "$reset" "$BIN up"
  echo "  $(median "$out")"
  eval "$reset"
  /usr/bin/time -f "  peak RSS %M KiB" "$BIN" up 2>&1 | grep "peak RSS"
'
