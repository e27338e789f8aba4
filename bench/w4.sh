#!/usr/bin/env bash
# W4 alone (100,000 instances at rest, then restarts to the first correct read), the way
# bench/run.sh measures it, against binaries already built: for iterating on memory and restart
# time without the rest of the suite.
#
#   bash bench/w4.sh [BUILD_DIR]     default BUILD_DIR: build/release
#
# Prints one line per figure: the load rate, VmRSS 2 s after the load, then for each restart the
# time from exec to `svc-<last>?passing` answering with every instance and VmRSS 2 s later; the
# load average is printed beside each. Same pinning as run.sh: the agent on core 0, the load
# generator on core 1.
#
# Environment: W4_SERVICES (1000), W4_INSTANCES (100), W4_RESTARTS (3), W4_KEEP_DATA=<dir> (copy
# the loaded data directory there before the restarts, for profiling a restart by hand).
#
# Invariants, as in run.sh: every process started here is recorded by PID and stopped (TERM, then
# KILL after 10 s) by the EXIT trap; nothing else is signalled. Loopback only, free ports, one
# temporary directory removed at exit, every wait bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build/release}
SERVICES=${W4_SERVICES:-1000}
INSTANCES=${W4_INSTANCES:-100}
RESTARTS=${W4_RESTARTS:-3}
BEACON=$BUILD_DIR/apps/beacon/beacon
LOADGEN=$BUILD_DIR/bench/beacon_loadgen
for bin in "$BEACON" "$LOADGEN"; do
  [[ -x "$bin" ]] || { echo "w4.sh: $bin is missing (build beacon and beacon_loadgen)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/beacon-w4.XXXXXX)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"  # PIDS, stop_pid, free_port

cleanup() {
  local p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo -1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# json_field LINE KEY: a number or string field of one loadgen JSON line.
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

PORT=$(free_port)
DATA=$WORK/data
mkdir -p "$DATA"
BEACON_PID=0

start_agent() {  # start_agent LOGNAME: the agent on $PORT with $DATA, pinned to core 0
  taskset -c 0 "$BEACON" agent -http-port "$PORT" -dns-port 0 -node bench -log-level warn \
    -data-dir "$DATA" >"$WORK/$1.log" 2>&1 &
  BEACON_PID=$!
  PIDS+=("$BEACON_PID")
}

# Runs one loadgen command on core 1 in the background (so a signal is handled at once) and
# prints its JSON line.
lg() {
  local pid status=0
  timeout 900 taskset -c 1 "$LOADGEN" "$@" >"$WORK/lg.out" 2>>"$WORK/lg.err" &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || status=$?
  stop_pid "$pid"
  ((status == 0)) || echo "w4.sh: loadgen exited $status: $*" >&2
  cat "$WORK/lg.out"
}

start_agent load
for ((i = 0; i < 300; i++)); do
  grep -q 'http listening' "$WORK/load.log" 2>/dev/null && break
  kill -0 "$BEACON_PID" 2>/dev/null || { cat "$WORK/load.log" >&2; exit 1; }
  sleep 0.05
done
TOTAL=$((SERVICES * INSTANCES))
LAST_SVC="svc-$((SERVICES - 1))"
echo "w4: $TOTAL instances ($SERVICES x $INSTANCES), $BEACON; load average $(loadavg)"
line=$(lg register --port "$PORT" --server-pid "$BEACON_PID" --conns 64 --services "$SERVICES" \
  --instances "$INSTANCES" --max-seconds 400 --label W4.load)
echo "load: $(json_field "$line" acked) acked at $(json_field "$line" rps)/s," \
  "non_2xx $(json_field "$line" non_2xx), errors $(json_field "$line" errors)"
sleep 2
echo "rss_at_rest_mb $(rss_mb "$BEACON_PID")  (load average $(loadavg))"

for ((r = 1; r <= RESTARTS; r++)); do
  stop_pid "$BEACON_PID"
  if ((r == 1)) && [[ -n "${W4_KEEP_DATA:-}" ]]; then
    rm -rf "$W4_KEEP_DATA" && cp -r "$DATA" "$W4_KEEP_DATA"
  fi
  t0=$(date +%s%N)
  start_agent "restart-$r"
  line=$(lg probe --port "$PORT" --server-pid "$BEACON_PID" \
    --path "/v1/health/service/$LAST_SVC?passing" --count-substr '{"Node":{' \
    --expect-count "$INSTANCES" --t0-epoch-ns "$t0" --timeout 60 --interval-ms 2 \
    --label W4.restart)
  ok=$(json_field "$line" ok)
  ready_ms=$(json_field "$line" ready_ms)
  sleep 2
  echo "restart $r: ok=$ok ready_s $(python3 -c "print(round(float('${ready_ms:-0}')/1000, 3))")" \
    " rss_after_restart_mb $(rss_mb "$BEACON_PID")  (load average $(loadavg))"
done
stop_pid "$BEACON_PID"
