#!/usr/bin/env bash
# CPU an idle `tenure serve` spends, over 30 s with no traffic, once started and settled, on a
# simulated company of ACCOUNTS accounts (default 20,000); with a second binary given, both are
# measured on the same store, alternately, for a comparison within one run.
#   bench/idle.sh [ACCOUNTS] [OTHER_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-20000}
other=${2:-}
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
target/release/tenure sim --out "$work/sim" --accounts "$accounts" --months 24 >/dev/null 2>&1
target/release/tenure --data-dir "$work/data" import "$work"/sim/*.ndjson "$work"/sim/*.csv >/dev/null 2>&1
idle() {
  local bin=$1 port=$2 pid a b tick
  "$bin" --data-dir "$work/data" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 1; done
  sleep 45 # the first start backfills the daily health history; let it finish
  tick=$(getconf CLK_TCK)
  a=$(awk '{print $14+$15}' "/proc/$pid/stat"); sleep 30; b=$(awk '{print $14+$15}' "/proc/$pid/stat")
  echo "| $bin | $accounts | $(echo "scale=2; ($b-$a)/$tick" | bc) | $(( $(awk '/VmRSS/{print $2}' "/proc/$pid/status") / 1024 )) |"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
echo "| binary | accounts | CPU s in 30 s idle | RSS MB |"
echo "|---|---:|---:|---:|"
for _ in 1 2; do
  idle target/release/tenure 7391
  if [ -n "$other" ]; then idle "$other" 7392; fi
done
