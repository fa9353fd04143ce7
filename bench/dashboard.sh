#!/usr/bin/env bash
# Every dashboard page rendered by the server from the warm model, through the whole router as a
# signed-in browser asks it (see crates/server/benches/dashboard.rs). BENCH_ACCOUNTS (default
# 20000), BENCH_RUNS per page (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
cargo bench -p tenure-server --bench dashboard 2>/dev/null
