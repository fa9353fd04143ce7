#!/usr/bin/env bash
# `funnel` from a running server: its first answer, warm, and right after one new event. Every
# binary serves its own copy of one imported store at the same time, each on its own port, and
# the requests alternate between them, so each round compares the builds under the same load.
# Per round and binary: GET the funnel (warm), then POST one product event (a known user and
# account, timestamped now) and GET it at once.
#   bench/funnel.sh [ACCOUNTS] [BINARY...]   (default 20000; env SEED, SIM_FLAGS, WORK, REPS)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
accounts=${1:-20000}
shift || true
prepare "$@"
sim=$(company "$accounts")
user=$(grep -m1 -o '"userId":"u_[0-9]*_0"' "$sim/events.ndjson" | cut -d'"' -f4)
account="acct_${user:2:6}"
import_into "${BINS[0]}" "$sim" "$WORK/funnel-data"
key=$("${BINS[0]}" --data-dir "$WORK/funnel-data" keys create --scope admin 2>/dev/null)

pids=()
ports=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${TEMP_WORK:-}" ]; then rm -rf "$TEMP_WORK"; fi
}
trap stop_all EXIT
for i in "${!BINS[@]}"; do
  data="$WORK/funnel-data-$i"
  rm -rf "$data"
  cp -r "$WORK/funnel-data" "$data"
  port=$((7600 + i))
  "${BINS[$i]}" --data-dir "$data" serve --listen "127.0.0.1:$port" >"$data.serve.log" 2>&1 &
  pids+=($!)
  ports+=("$port")
done
for i in "${!BINS[@]}"; do
  until curl -sf -o /dev/null "http://127.0.0.1:${ports[$i]}/healthz"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo "${BINS[$i]} serve exited" >&2; exit 1; }
    sleep 0.5
  done
done

funnel() { get "$1" "$key" /api/v1/reports/funnel; }
n=0
post() {
  n=$((n + 1))
  local now body
  now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  body="{\"userId\":\"$user\",\"event\":\"Report Created\",\"context\":{\"groupId\":\"$account\"},\"messageId\":\"bench-funnel-$n-$RANDOM$RANDOM\",\"timestamp\":\"$now\"}"
  curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d "$body" "http://127.0.0.1:$1/v1/track"
}

declare -A first warm after
for i in "${!BINS[@]}"; do
  read -r first[$i] _ < <(funnel "${ports[$i]}")
done
for _ in $(seq 1 "${REPS:-5}"); do
  for i in "${!BINS[@]}"; do
    read -r seconds code < <(funnel "${ports[$i]}")
    warm[$i]="${warm[$i]:-}${warm[$i]:+, }$seconds$([ "$code" = 200 ] || echo " ($code)")"
    post "${ports[$i]}"
    read -r seconds code < <(funnel "${ports[$i]}")
    after[$i]="${after[$i]:-}${after[$i]:+, }$seconds$([ "$code" = 200 ] || echo " ($code)")"
  done
done
echo
echo "$accounts accounts (tenure sim --seed ${SEED:-5} ${SIM_FLAGS:-}); events from $user of $account; seconds of each GET /api/v1/reports/funnel, REPS=${REPS:-5}, rounds interleaved across binaries"
echo
echo "| binary | first | warm (each round) | right after one event (each round) |"
echo "|---|---:|---|---|"
for i in "${!BINS[@]}"; do
  echo "| \`${BINS[$i]}\` | ${first[$i]} | ${warm[$i]} | ${after[$i]} |"
done
