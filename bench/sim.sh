#!/usr/bin/env bash
# Simulator generation time and peak memory (GNU time's max RSS) at 2,000 and 100,000 accounts.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; commit $(git rev-parse --short HEAD)"
echo "| accounts | months | wall s | peak RSS MB | events | output MB |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in 2000 100000; do
  /usr/bin/time -o "$out/time" -f "%e %M" target/release/tenure sim --out "$out/$n" --accounts "$n" --months 24 --seed 42 --end 2026-11-01 >"$out/summary" 2>/dev/null
  stats=$(tail -1 "$out/time")
  events=$(sed -n 's/.*, \([0-9]*\) events$/\1/p' "$out/summary")
  size=$(du -sm "$out/$n" | cut -f1)
  echo "| $n | 24 | ${stats% *} | $(( ${stats#* } / 1024 )) | $events | $size |"
  rm -rf "${out:?}/$n"
done
