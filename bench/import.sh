#!/usr/bin/env bash
# `tenure import` of one events.ndjson into a new data directory, each binary in turn, ROUNDS
# times (default 3), interleaved: rows, wall, CPU, peak RSS and rows per second (the whole
# command: the check pass, the store pass, and the final durable commit).
#   bench/import.sh EVENTS_NDJSON NAME=BINARY...   (e.g. a `tenure sim --accounts 20000` company)
set -euo pipefail
events=$1
shift
rows=$(grep -c . "$events")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM; $events: $rows rows, $(du -h "$events" | cut -f1)"
echo
echo "| round | binary | wall s | user s | sys s | peak RSS MB | rows/s |"
echo "|---|---|---:|---:|---:|---:|---:|"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for variant in "$@"; do
    rm -rf "$work/data"
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${variant#*=}" --data-dir "$work/data" import "$events" >/dev/null 2>&1
    read -r wall user sys rss <"$work/time"
    echo "| $round | ${variant%%=*} | $wall | $user | $sys | $((rss / 1024)) | $(awk -v r="$rows" -v w="$wall" 'BEGIN {printf "%d", r / w}') |"
  done
done
