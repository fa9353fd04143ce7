#!/usr/bin/env bash
# Acknowledgement-to-status latency under sustained ingest, and the time to score every account
# (see crates/server/benches/live.rs). BENCH_ACCOUNTS (default 10000), BENCH_RATE events/s
# (default 10000), BENCH_SECONDS (default 20), BENCH_CLIENTS (default 8), BENCH_HISTORY (default 1:
# the stored health history catches up from nothing during the load; 0 leaves it out),
# BENCH_FUNNEL (turns or whole: the funnel report runs over and over during the load).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
cargo bench -p tenure-server --bench live 2>/dev/null
