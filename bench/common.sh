# Shared by bench/cold.sh, bench/memory.sh and bench/after_event.sh (sourced, not run).
# Binaries come as arguments (none: target/release/tenure, built first); a simulated company is
# written once per size into $WORK (a temporary directory unless set, so that several scripts
# can share one; kept then) by the first binary, with `tenure sim --seed ${SEED:-5}` and any
# $SIM_FLAGS (shape flags).

# On exit, however it comes: the server left running and the temporary directory go.
cleanup() {
  if [ -n "${SERVE_PID:-}" ]; then kill "$SERVE_PID" 2>/dev/null || true; fi
  if [ -n "${TEMP_WORK:-}" ]; then rm -rf "$TEMP_WORK"; fi
}
trap cleanup EXIT

machine() {
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM; load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD); $(date -u +%Y-%m-%dT%H:%MZ)"
}

# binaries ARG... : sets BINS to the arguments, or to a fresh build of target/release/tenure.
binaries() {
  if [ $# -gt 0 ]; then
    BINS=("$@")
  else
    cargo build --release --quiet -p tenure
    BINS=("$PWD/target/release/tenure")
  fi
  for b in "${BINS[@]}"; do
    [ -x "$b" ] || { echo "$b: not an executable tenure binary" >&2; exit 2; }
  done
}

workdir() {
  if [ -n "${WORK:-}" ]; then
    mkdir -p "$WORK"
  else
    WORK=$(mktemp -d)
    TEMP_WORK=$WORK
  fi
}

# prepare BINARY... : what every script does first: the binaries to compare (BINS), the work
# directory, and the machine line.
prepare() {
  binaries "$@"
  workdir
  machine
}

# company ACCOUNTS : echoes the directory of the simulated company of that size.
company() {
  local dir="$WORK/sim-$1-seed${SEED:-5}${SIM_FLAGS:+-$(echo "$SIM_FLAGS" | tr -dc 'a-z0-9.')}"
  if [ ! -f "$dir/ground_truth.json" ]; then
    # shellcheck disable=SC2086
    "${BINS[0]}" sim --out "$dir" --accounts "$1" --seed "${SEED:-5}" ${SIM_FLAGS:-} >/dev/null 2>"$dir.err" ||
      { echo "tenure sim failed (shape flags need a binary that has them, first): $(cat "$dir.err")" >&2; exit 1; }
  fi
  echo "$dir"
}

# import BINARY SIM_DIR DATA_DIR : a fresh store of the company.
import_into() {
  rm -rf "$3"
  "$1" --data-dir "$3" import "$2"/events.ndjson "$2"/*.csv >/dev/null 2>&1
}

# timed FILE CMD... : runs CMD under `/usr/bin/time -v`, its output discarded; writes
# "wall_seconds peak_rss_kb exit_code cpu_seconds" (user + system) to FILE.
timed() {
  local out=$1; shift
  local rc=0
  /usr/bin/time -v -o "$out.time" "$@" >/dev/null 2>"$out.err" || rc=$?
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; print s}' "$out.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out.time")
  cpu=$(awk -F': ' '/(User|System) time \(seconds\)/ {s+=$2} END {print s}' "$out.time")
  echo "$wall $rss $rc $cpu" >"$out.new" && mv "$out.new" "$out"
}

rss_mb() { echo $(( $(awk '/VmRSS/ {print $2}' "/proc/$1/status") / 1024 )); }
hwm_mb() { echo $(( $(awk '/VmHWM/ {print $2}' "/proc/$1/status") / 1024 )); }

# serve BINARY DATA_DIR PORT : starts `tenure serve`, waits for /healthz; sets SERVE_PID and
# SERVE_SECONDS (start to the first 200 of /healthz).
serve() {
  local start end
  if curl -s -o /dev/null "http://127.0.0.1:$3/healthz"; then
    echo "port $3 already answers: stop what serves there first" >&2
    exit 1
  fi
  start=$(date +%s.%N)
  "$1" --data-dir "$2" serve --listen "127.0.0.1:$3" >"$2.serve.log" 2>&1 &
  SERVE_PID=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$3/healthz"; do
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "tenure serve exited; see $2.serve.log" >&2; exit 1; }
    sleep 0.1
  done
  end=$(date +%s.%N)
  SERVE_SECONDS=$(printf "%.2f" "$(echo "$end - $start" | bc)")
}

stop() {
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
}

# get PORT KEY PATH : "seconds http_code" of one GET of the API.
get() {
  curl -s -o /dev/null -w '%{time_total} %{http_code}\n' -H "Authorization: Bearer $2" "http://127.0.0.1:$1$3"
}

# The seven core reports as API paths and as CLI arguments, in the same order.
CORE_NAMES=(status mrr retention cohorts survival unit-economics attribution)
CORE_PATHS=(/api/v1/status /api/v1/reports/mrr /api/v1/reports/retention /api/v1/reports/cohorts
  /api/v1/reports/survival "/api/v1/reports/unit-economics?by=channel"
  "/api/v1/reports/attribution?compare=true")
CORE_CLI=("status" "report mrr" "report retention" "report cohorts" "report survival"
  "report unit-economics --by channel" "report attribution --compare")
# Every report of the catalog that needs no account argument, by API path.
ALL_PATHS=("${CORE_PATHS[@]}" /api/v1/reports/attribution /api/v1/reports/ltv
  /api/v1/reports/touchpoints /api/v1/reports/funnel /api/v1/reports/adoption
  /api/v1/reports/accounts /api/v1/reports/signals /api/v1/reports/renewals
  /api/v1/reports/health-backtest /api/v1/reports/churn-model /api/v1/reports/forecast)
