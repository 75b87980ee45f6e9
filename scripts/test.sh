#!/usr/bin/env bash
# The whole test suite: installs the Debian tools it needs, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
tools_bin=$(scripts/setup.sh)
export PATH="$tools_bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sealer-rs-target}"
export CARGO_TERM_COLOR=never
cargo build --workspace --all-targets --locked 2>&1 | tail -n 3 >&2
cargo test --workspace --locked --no-fail-fast -- --test-threads="${SEALER_TEST_THREADS:-4}"
