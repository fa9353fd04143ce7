#!/usr/bin/env bash
# Every report on a simulated company from the warm in-memory model, and the time to rebuild the
# model from the log (see crates/server/benches/reports.rs). BENCH_ACCOUNTS (default 100000),
# BENCH_RUNS per report (default 20), BENCH_REPORTS (comma-separated names; default all). Takes about three minutes at 100,000 accounts.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
cargo bench -p tenure-server --bench reports 2>/dev/null
