#!/usr/bin/env bash
# Sustained HTTP ingest benchmark (see crates/server/benches/ingest.rs): 100-message batches of
# realistic events with unique messageIds, durable acks; then half that rate for latency; then the
# same rows appended straight to the store. Prints the machine and a Markdown table.
#   BENCH_SECONDS (default 15) per phase, BENCH_CLIENTS (default 16) concurrent senders.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ), commit: $(git rev-parse --short HEAD)"
cargo bench -p tenure-server --bench ingest 2>/dev/null
