#!/usr/bin/env bash
# tenure's exact Markov model (order 1) against channelattribution.markov_model (order 1,
# nsim_start = 1e6) on the same journeys: BENCH_JOURNEYS (default 1,000,000) seeded synthetic
# journeys (bench/attribution/gen_paths.py, seed BENCH_SEED, default 42), aggregated by path into
# one CSV that both sides read; tenure expands it back into journeys
# (crates/attribution/examples/markov_bench.rs). Each side runs BENCH_RUNS times (default 3), each
# in a fresh process that calls the model twice: the first call (cold: fresh allocations) is the
# headline, the second (warm) is shown beside it. Only the model computation is compared;
# reading/parsing/expanding is reported apart. Prints a Markdown table. Needs channelattribution
# (crates/attribution/tests/reference/install.sh). Takes about half a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
JOURNEYS="${BENCH_JOURNEYS:-1000000}"
SEED="${BENCH_SEED:-42}"
RUNS="${BENCH_RUNS:-3}"
NSIM=1000000

python3 -c 'import ChannelAttribution' >/dev/null 2>&1 || {
  echo "channelattribution is not installed: run crates/attribution/tests/reference/install.sh" >&2
  exit 1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
csv="$work/paths.csv"
python3 bench/attribution/gen_paths.py "$csv" "$JOURNEYS" "$SEED"
cargo build -q -p tenure-attribution --release --example markov_bench

for run in $(seq "$RUNS"); do
  echo "run $run/$RUNS: channelattribution ..." >&2
  python3 bench/attribution/time_channelattribution.py "$csv" "$NSIM" 2 >>"$work/package.jsonl"
  echo "run $run/$RUNS: tenure ..." >&2
  cargo run -q -p tenure-attribution --release --example markov_bench -- "$csv" 2 \
    >>"$work/tenure.jsonl"
done

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
ram="$(free -g | awk '/Mem:/ {print $2}')"
echo
echo "machine: $(nproc) cores, ${cpu}, ${ram} GiB RAM; $(rustc --version); Python $(python3 -c 'import platform; print(platform.python_version())')"
echo
python3 bench/attribution/report.py "$work/package.jsonl" "$work/tenure.jsonl" "$csv"
