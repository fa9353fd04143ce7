#!/usr/bin/env bash
# Serving memory: for each size, `tenure import` into a new store, then `tenure serve`: the time
# from start to the first answer of /healthz and the RSS then (bytes per log entry), the RSS after
# each report of the catalog asked in turn over the HTTP API (status, the seven core reports,
# then every other report that needs no account; with an admin key from `tenure keys create`),
# the high-water mark; then a second start on the same store (what a restart costs once the
# first start has written what it keeps). Each binary in turn on its own store.
#   bench/memory.sh [ACCOUNTS,...] [BINARY...]   (default 20000,50000,100000; env SEED, SIM_FLAGS, WORK)
# KEEP=1 keeps each binary's store ($WORK/memory-data-SIZE-N, N its place among the binaries) and
# reuses it on the next run instead of importing again: "first start" is then a start from the
# snapshot that binary wrote. BODIES=DIR saves each answer as DIR/N/PATH, to compare binaries'.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
sizes=${1:-20000,50000,100000}
shift || true
prepare "$@"
port=7491
for accounts in ${sizes//,/ }; do
  sim=$(company "$accounts")
  n=0
  for b in "${BINS[@]}"; do
    n=$(( ${n:-0} + 1 ))
    data="$WORK/memory-data"
    if [ -n "${KEEP:-}" ]; then
      data="$WORK/memory-data-$accounts-$n"
      [ -f "$data/tenure.db" ] || import_into "$b" "$sim" "$data"
    else
      import_into "$b" "$sim" "$data"
    fi
    key=$("$b" --data-dir "$data" keys create --scope admin 2>/dev/null)
    serve "$b" "$data" "$port"
    # Before anything is asked: `status` builds the touchpoints and journeys.
    rss=$(rss_mb "$SERVE_PID")
    entries=$(curl -s -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/v1/status" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["entries"])')
    echo
    echo "$b, $accounts accounts, $entries log entries: first start to /healthz $SERVE_SECONDS s, RSS $rss MB ($((rss * 1048576 / entries)) bytes per entry)"
    echo
    echo "| after | seconds | HTTP | RSS MB | bytes per entry | high-water MB |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| start | $SERVE_SECONDS | 200 | $rss | $((rss * 1048576 / entries)) | $(hwm_mb "$SERVE_PID") |"
    for path in "${ALL_PATHS[@]}"; do
      if [ -n "${BODIES:-}" ]; then
        mkdir -p "$BODIES/$n"
        read -r seconds code < <(curl -s -o "$BODIES/$n/$(echo "${path#/api/v1/}" | tr -c 'a-z0-9\n' '_')" \
          -w '%{time_total} %{http_code}\n' -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path")
      else
        read -r seconds code < <(get "$port" "$key" "$path")
      fi
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
    [ -n "${KEEP:-}" ] || rm -rf "$data"
  done
done
