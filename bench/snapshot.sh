#!/usr/bin/env bash
# A cold CLI command on an existing store, answered from a snapshot against a full replay of
# the log, and `tenure serve` until /healthz answers, likewise; on a simulated company of
# ACCOUNTS accounts (default 20,000), RUNS interleaved rounds (default 3). The full-replay runs
# start with snapshots/ deleted, so they also save the snapshot the next run reads (the
# --verbose log's timestamps split the two).
#   bench/snapshot.sh [ACCOUNTS] [RUNS]
# TENURE_BIN=path skips the build; TENURE_DATA=dir reuses a data directory already imported
# (its snapshots/ is deleted and rewritten).
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-20000}
runs=${2:-3}
bin=${TENURE_BIN:-target/release/tenure}
if [ -z "${TENURE_BIN:-}" ]; then cargo build --release --quiet -p tenure; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data=${TENURE_DATA:-$work/data}
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
if [ -z "${TENURE_DATA:-}" ]; then
  "$bin" sim --out "$work/sim" --accounts "$accounts" --months 24 >/dev/null 2>&1
  "$bin" --data-dir "$data" import "$work"/sim/*.ndjson "$work"/sim/*.csv >/dev/null 2>&1
fi
entries=$("$bin" --data-dir "$data" status --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])')
echo "entries: $entries"
snapshot="$data/snapshots/default.snapshot"

# One command under /usr/bin/time -v: "| what | how | wall s | CPU s | max RSS MB |".
timed() {
  local what=$1 how=$2; shift 2
  /usr/bin/time -v "$bin" --data-dir "$data" --verbose "$@" >/dev/null 2>"$work/time.log"
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$work/time.log")
  cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time.log")
  rss=$(awk -F': ' '/Maximum resident/ {print int($2/1024)}' "$work/time.log")
  grep -q "answering from the snapshot" "$work/time.log" && [ "$how" = "full replay" ] && { echo "expected a full replay" >&2; exit 1; }
  echo "| $what | $how | $wall | $cpu | $rss |"
}

# Seconds from starting `tenure serve` until /healthz answers, and its RSS then.
serve_start() {
  local how=$1 pid start end
  start=$(date +%s.%N)
  "$bin" --data-dir "$data" serve --listen 127.0.0.1:7393 >"$work/serve.log" 2>&1 &
  pid=$!
  until curl -s -o /dev/null http://127.0.0.1:7393/healthz; do sleep 0.05; done
  end=$(date +%s.%N)
  echo "| serve until /healthz | $how | $(echo "$end - $start" | bc) | | $(( $(awk '/VmRSS/{print $2}' "/proc/$pid/status") / 1024 )) |"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| command | from | wall s | CPU s | max RSS MB (serve: RSS at /healthz) |"
echo "|---|---|---:|---:|---:|"
for _ in $(seq 1 "$runs"); do
  rm -rf "$data/snapshots"
  timed "status" "full replay" status
  timed "status" "snapshot + 0 entries" status
  rm -rf "$data/snapshots"
  timed "report mrr" "full replay" report mrr
  timed "report mrr" "snapshot + 0 entries" report mrr
  cp "$snapshot" "$work/kept.snapshot"
  rm -rf "$data/snapshots"
  serve_start "full replay"
  mkdir -p "$data/snapshots"; cp "$work/kept.snapshot" "$snapshot"
  serve_start "snapshot + 0 entries"
done
ls -l "$snapshot" | awk '{print "snapshot bytes: " $5}'
