#!/usr/bin/env bash
# Builds everything, starts a throwaway MariaDB (installing it when missing),
# runs every unit and integration test against it, and stops it again.
# Exits non-zero on any failure.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

. scripts/lib.sh
need_cargo test.sh

export RDUMP_TEST_STATE="$repo/target/test-db-tests.state"
mkdir -p "$repo/target"
scripts/test-db.sh stop >/dev/null 2>&1 || true
cargo build --workspace --all-targets
scripts/test-db.sh start
trap 'scripts/test-db.sh stop' EXIT
eval "$(scripts/test-db.sh env)"

cargo test --workspace --no-fail-fast -- --test-threads="${RDUMP_TEST_THREADS:-4}"
