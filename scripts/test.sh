#!/usr/bin/env bash
# Runs every test of the workspace: doc tests, then unit tests and the integration binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cuda-libs.sh
# The benchmarks are not run here, but they must build.
cargo test --workspace --benches --no-run --quiet
if cargo nextest --version >/dev/null 2>&1; then
    cargo test --workspace --doc --quiet
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
