#!/usr/bin/env bash
# Where a serving tenure's heap goes: `tenure serve` under heaptrack on an imported simulated
# company, `status` and every report that needs no account asked once each (under heaptrack
# the slowest take longer than the server's 60 s and answer 503; their work is still done and
# counted), then stopped; the heap at its peak, by holder (bench/heap_holders.py).
#   bench/heap.sh [ACCOUNTS]   (default 100000; env SEED, WORK as for the other scripts)
# Needs Debian's heaptrack. Builds `tenure --features system-allocator` (heaptrack sees only the
# system's malloc), which leaves target/release/tenure without mimalloc until the next plain
# `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
accounts=${1:-100000}
cargo build --release --quiet -p tenure --features system-allocator
workdir
machine
bin="$WORK/tenure-system-allocator"
cp target/release/tenure "$bin"
BINS=("$bin")
sim=$(company "$accounts")
data="$WORK/heap-data"
import_into "$bin" "$sim" "$data"
key=$("$bin" --data-dir "$data" keys create --scope admin 2>/dev/null)
port=7495
heaptrack -o "$WORK/heap" "$bin" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$data.serve.log" 2>&1 &
until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.5; done
for path in "${ALL_PATHS[@]}"; do
  curl -s -o /dev/null -m 900 -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path" || true
done
pkill -INT -f "$data serve --listen 127.0.0.1:$port" || true
wait
heaptrack_print -f "$WORK"/heap.zst --flamegraph-cost-type peak -F "$WORK/heap-stacks.txt" |
  grep -E 'peak heap memory|peak RSS'
python3 bench/heap_holders.py "$WORK/heap-stacks.txt" crates
