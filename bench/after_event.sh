#!/usr/bin/env bash
# Report latency right after one new event: `tenure serve` on an imported company, every report
# asked once to warm it, then per report, REPS times (default 3): POST one event to /v1/track
# (a product event of a known user and account) and at once GET the report, timing the GET; then
# the same after one `page` with UTMs (a new touchpoint). Each binary in turn on its own store.
# REPORTS=core limits it to status and the seven core reports.
#   bench/after_event.sh [ACCOUNTS] [BINARY...]   (default 20000; env SEED, SIM_FLAGS, WORK, REPS, REPORTS)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
accounts=${1:-20000}
shift || true
prepare "$@"
port=7492
if [ "${REPORTS:-all}" = core ]; then paths=("${CORE_PATHS[@]}"); else paths=("${ALL_PATHS[@]}"); fi
sim=$(company "$accounts")
user=$(grep -m1 -o '"userId":"u_[0-9]*_0"' "$sim/events.ndjson" | cut -d'"' -f4)
account="acct_${user:2:6}"
post() {
  local n=$1 kind=$2 body
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  if [ "$kind" = track ]; then
    body="{\"userId\":\"$user\",\"event\":\"Report Created\",\"context\":{\"groupId\":\"$account\"},\"messageId\":\"bench-after-$n-$RANDOM$RANDOM\",\"timestamp\":\"$now\"}"
  else
    body="{\"userId\":\"$user\",\"anonymousId\":\"anon-bench\",\"context\":{\"page\":{\"url\":\"https://www.tenure-demo.io/?utm_source=google&utm_medium=cpc&utm_campaign=bench$n\"}},\"messageId\":\"bench-after-$n-$RANDOM$RANDOM\",\"timestamp\":\"$now\"}"
  fi
  curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$port/v1/$kind"
}
for b in "${BINS[@]}"; do
  data="$WORK/after-data"
  import_into "$b" "$sim" "$data"
  key=$("$b" --data-dir "$data" keys create --scope admin 2>/dev/null)
  serve "$b" "$data" "$port"
  for path in "${paths[@]}"; do get "$port" "$key" "$path" >/dev/null; done
  echo
  echo "$b, $accounts accounts (tenure sim --seed ${SEED:-5} ${SIM_FLAGS:-}); events from $user of $account; seconds of each GET, REPS=${REPS:-3}"
  echo
  echo "| report | warm | after a track | after a page |"
  echo "|---|---:|---:|---:|"
  n=0
  for path in "${paths[@]}"; do
    read -r warm _ < <(get "$port" "$key" "$path")
    cells=()
    for kind in track page; do
      times=()
      for _ in $(seq 1 "${REPS:-3}"); do
        n=$((n + 1))
        post "$n" "$kind"
        read -r seconds code < <(get "$port" "$key" "$path")
        times+=("$seconds$([ "$code" = 200 ] || echo " ($code)")")
      done
      cells+=("$(IFS=,; echo "${times[*]}" | sed 's/,/, /g')")
    done
    echo "| \`${path#/api/v1/}\` | $warm | ${cells[0]} | ${cells[1]} |"
  done
  stop
  rm -rf "$data"
done
