#!/usr/bin/env bash
# The binary's allocator: `tenure status` (a full replay of the log) on one data directory, each
# variant in turn, ROUNDS times (default 3), interleaved; wall, user and system CPU seconds and
# peak RSS from GNU time. Variants: every binary given as NAME=PATH, plus glibc's binary under
# Debian's jemalloc (LD_PRELOAD) when JEMALLOC_BINARY names a glibc build.
#   bench/allocator.sh DATA_DIR NAME=BINARY... (e.g. glibc=/tmp/glibc/tenure mimalloc=target/release/tenure)
set -euo pipefail
data=$1
shift
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM; data: $data"
echo
echo "| round | allocator | wall s | user s | sys s | peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|"
run() {
  local round=$1 name=$2
  shift 2
  /usr/bin/time -f "%e %U %S %M" -o /tmp/allocator-bench.$$ "$@" --data-dir "$data" status --format json >/dev/null 2>&1
  read -r wall user sys rss </tmp/allocator-bench.$$
  echo "| $round | $name | $wall | $user | $sys | $((rss / 1024)) |"
}
for round in $(seq 1 "${ROUNDS:-3}"); do
  for variant in "$@"; do
    run "$round" "${variant%%=*}" "${variant#*=}"
  done
  if [ -n "${JEMALLOC_BINARY:-}" ]; then
    run "$round" "jemalloc (LD_PRELOAD)" env LD_PRELOAD="$jemalloc" "$JEMALLOC_BINARY"
  fi
done
rm -f /tmp/allocator-bench.$$
