#!/usr/bin/env bash
# Serving memory: for each size, `tenure import` into a new store, then `tenure serve`: the time
# from start to the first answer of /healthz and the RSS then (bytes per log entry), the RSS after
# each report of the catalog asked in turn over the HTTP API (status, the seven core reports,
# then every other report that needs no account; with an admin key from `tenure keys create`),
# the high-water mark; then a second start on the same store (what a restart costs once the
# first start has written what it keeps). Each binary in turn on its own store.
#   bench/memory.sh [ACCOUNTS,...] [BINARY...]   (default 20000,50000,100000; env SEED, SIM_FLAGS, WORK)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
sizes=${1:-20000,50000,100000}
shift || true
prepare "$@"
port=7491
for accounts in ${sizes//,/ }; do
  sim=$(company "$accounts")
  for b in "${BINS[@]}"; do
    data="$WORK/memory-data"
    import_into "$b" "$sim" "$data"
    key=$("$b" --data-dir "$data" keys create --scope admin 2>/dev/null)
    serve "$b" "$data" "$port"
    entries=$(curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/status" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["entries"])')
    rss=$(rss_mb "$SERVE_PID")
    echo
    echo "$b, $accounts accounts, $entries log entries: first start to /healthz $SERVE_SECONDS s, RSS $rss MB ($((rss * 1048576 / entries)) bytes per entry)"
    echo
    echo "| after | seconds | HTTP | RSS MB | bytes per entry | high-water MB |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| start | $SERVE_SECONDS | 200 | $rss | $((rss * 1048576 / entries)) | $(hwm_mb "$SERVE_PID") |"
    for path in "${ALL_PATHS[@]}"; do
      read -r seconds code < <(get "$port" "$key" "$path")
      rss=$(rss_mb "$SERVE_PID")
      echo "| \`${path#/api/v1/}\` | $seconds | $code | $rss | $((rss * 1048576 / entries)) | $(hwm_mb "$SERVE_PID") |"
    done
    stop
    serve "$b" "$data" "$port"
    rss=$(rss_mb "$SERVE_PID")
    echo "| second start | $SERVE_SECONDS | 200 | $rss | $((rss * 1048576 / entries)) | $(hwm_mb "$SERVE_PID") |"
    stop
    echo
    echo "store: $(du -sm "$data" | cut -f1) MB"
    rm -rf "$data"
  done
done
