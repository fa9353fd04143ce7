#!/usr/bin/env bash
# The conversions' pass (issue 18): how long deciding every account's conversions takes, with
# and without a `stage_entered` rule (which evaluates each account's lifecycle), and the memory
# of a `tenure conversions dry-run` (which rebuilds the model first, as any CLI command does).
# The company ends today, so the 90-day lookback holds conversions.
#   bench/conversions.sh [ACCOUNTS] [BINARY]   (default 10000; env SEED, WORK)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
accounts=${1:-10000}
shift || true
SIM_FLAGS="--months 24 --end $(date -u +%F)"
prepare "$@"
sim=$(company "$accounts")
data="$WORK/conversions-data"
import_into "${BINS[0]}" "$sim" "$data"

config() {
  cat <<TOML
[[destinations]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
url = "http://127.0.0.1:9"
secret_env = "BENCH_TOKEN"

[[destinations]]
name = "google"
kind = "google"
customer_id = "123-456-7890"
url = "http://127.0.0.1:9"
secret_env = "BENCH_TOKEN"

[[destinations]]
name = "hooks"
kind = "webhook"
url = "http://127.0.0.1:9"
secret_env = "BENCH_TOKEN"

[[conversions]]
name = "paid"
milestone = "first_payment"
value = "predicted_ltv"
send = [{ destination = "meta", as = "Purchase" }, { destination = "google", as = "111" }, { destination = "hooks" }]

[[conversions]]
name = "renewed"
milestone = "renewed"
value = "predicted_ltv"
send = [{ destination = "google", as = "222" }, { destination = "hooks" }]

[[conversions]]
name = "expanded"
milestone = "expanded"
value = "expansion_arr"
send = [{ destination = "google", as = "333" }]
TOML
  if [ "$1" = stage ]; then
    cat <<TOML

[[conversions]]
name = "at_risk"
milestone = "stage_entered"
stage = "at_risk"
send = [{ destination = "hooks" }]
TOML
  fi
}

for variant in milestones stage; do
  config "$variant" >"$WORK/conversions-$variant.toml"
  for rep in 1 2 3; do
    BENCH_TOKEN=bench timed "$WORK/conversions-$variant-$rep" \
      "${BINS[0]}" --data-dir "$data" --config "$WORK/conversions-$variant.toml" conversions dry-run --format json
    read -r wall rss rc cpu <"$WORK/conversions-$variant-$rep"
    decided=$(sed -n 's/^decided in \([0-9]*\) ms, .*$/\1/p' "$WORK/conversions-$variant-$rep.err")
    turn=$(sed -n 's/^decided in .* held at most \([0-9]*\) ms at once$/\1/p' "$WORK/conversions-$variant-$rep.err")
    echo "$accounts accounts, rules: $variant, rep $rep: decided in ${decided} ms, longest hold of the model's lock ${turn} ms; dry-run wall ${wall} s, peak RSS $((rss / 1024)) MB, exit $rc"
  done
done
