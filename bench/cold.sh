#!/usr/bin/env bash
# Cold: what a user meets with the raw files of a company and no running server. `tenure import`
# into a new store, then the seven core reports from the CLI one after the other (status, mrr,
# retention, cohorts, survival, unit-economics --by channel, attribution --compare), against
# DuckDB computing the same figures from the same raw files (bench/duckdb/figures.sql). Each
# binary given and DuckDB run in turn, RUNS times (default 2), interleaved; wall time and peak
# RSS of every step from `/usr/bin/time -v`.
#   bench/cold.sh [ACCOUNTS] [BINARY...]      (ACCOUNTS default 20000; env SEED, SIM_FLAGS, WORK)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
accounts=${1:-20000}
shift || true
prepare "$@"
sim=$(company "$accounts")
bench/duckdb/figures.py "$sim" /dev/null 2>/dev/null # installs DuckDB on first use
entries=$(( $(wc -l <"$sim/events.ndjson") + $(cat "$sim"/*.csv | wc -l) - 5 ))
echo "company: $accounts accounts (tenure sim --seed ${SEED:-5} ${SIM_FLAGS:-}), $entries raw lines"
echo
echo "| run | tool | step | wall s | CPU s | peak RSS MB |"
echo "|---|---|---|---:|---:|---:|"
row() { read -r wall rss rc cpu <"$3"; echo "| $1 | $2 | $4 | $wall$([ "$rc" = 0 ] || echo " (exit $rc)") | $cpu | $((rss / 1024)) |"; }
for run in $(seq 1 "${RUNS:-2}"); do
  for b in "${BINS[@]}"; do
    data="$WORK/cold-data"
    rm -rf "$data"
    total=0
    total_cpu=0
    peak=0
    timed "$WORK/step" "$b" --data-dir "$data" import "$sim"/events.ndjson "$sim"/accounts.csv \
      "$sim"/subscriptions.csv "$sim"/deals.csv "$sim"/spend.csv "$sim"/touchpoints.csv
    row "$run" "$b" "$WORK/step" import
    read -r wall rss _ cpu <"$WORK/step"
    total=$(echo "$total + $wall" | bc); total_cpu=$(echo "$total_cpu + $cpu" | bc)
    peak=$(( rss > peak ? rss : peak ))
    for i in "${!CORE_CLI[@]}"; do
      # shellcheck disable=SC2086
      timed "$WORK/step" "$b" --data-dir "$data" ${CORE_CLI[$i]}
      row "$run" "$b" "$WORK/step" "${CORE_CLI[$i]}"
      read -r wall rss _ cpu <"$WORK/step"
      total=$(echo "$total + $wall" | bc); total_cpu=$(echo "$total_cpu + $cpu" | bc)
      peak=$(( rss > peak ? rss : peak ))
    done
    echo "| $run | $b | **import + 7 reports** | **$total** | **$total_cpu** | **$((peak / 1024))** |"
  done
  timed "$WORK/step" bench/.venv/bin/python bench/duckdb/figures.py "$sim" /dev/null
  row "$run" "DuckDB $(bench/.venv/bin/python -c 'import duckdb; print(duckdb.__version__)')" "$WORK/step" "**all figures from the raw files**"
done
rm -rf "$WORK/cold-data"
