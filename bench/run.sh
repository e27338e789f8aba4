#!/usr/bin/env bash
# Beacon benchmark suite: workloads W1-W4 and W7 of ../shared/BENCH.md in one command, with nginx
# (the limit for a read) and etcd (the peer) measured beside Beacon in the same run.
#
#   bash bench/run.sh            full run: every figure 3 times, W2/W7 windows of 15 s (< 15 min)
#   bash bench/run.sh --quick    every figure once, 5 s windows (< 4 min with a warm build)
#   bash bench/run.sh --sweep    instead, how cost grows with size (bench/sweeps.sh; ~9 min,
#                                ~5 min with --quick)
#
# How: installs the bench packages if missing (bench/install-bench-deps.sh), builds the release
# preset (only `beacon` and `beacon_loadgen`), then runs each workload against processes it starts
# itself: every server (Beacon, nginx, etcd) pinned to core 0 with taskset, beacon_loadgen pinned
# to core 1. Beacon and etcd runs alternate inside each repetition, so background noise on this
# shared machine hits both alike. Each load generator run prints one JSON line; all of them go to
# bench/results/<date-time>/raw.jsonl, and bench/summarize.py turns them into table.md (medians,
# ratios, the targets of issue #3 and whether each is met), which is printed at the end.
#
# Invariants: every process the script starts is recorded by PID and stopped (TERM, then KILL
# after 10 s) by the EXIT trap, whatever way the script ends; nothing else is ever signalled.
# Servers listen on 127.0.0.1 only, on free ports picked at run time; all their data lives in one
# temporary directory, removed at exit. Every wait is bounded.
#
# Environment:
#   BENCH_BUILD_DIR   build here with the release preset's settings instead of build/release
#                     (`cmake --preset release -B $BENCH_BUILD_DIR`), e.g. to keep a private tree.
#   BENCH_NO_BUILD=1  use the binaries already in the build directory.
set -euo pipefail

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; }

QUICK=0
SWEEP=0
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=1 ;;
    --sweep) SWEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument $arg" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build/release}

if ((QUICK)); then
  REPS=1; READ_S=5; MIXED_S=5; C1_CAP_S=5; WARMUP_S=1; SWEEP_READ_S=3
else
  REPS=3; READ_S=15; MIXED_S=15; C1_CAP_S=10; WARMUP_S=1; SWEEP_READ_S=5
fi

STAMP=$(date +%Y-%m-%d_%H%M%S)
OUT=$ROOT/bench/results/$STAMP
mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
LOG=$OUT/run.log
: >"$RAW"
WORK=$(mktemp -d /tmp/beacon-bench.XXXXXX)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$LOG" >&2; }

# ---- process bookkeeping ------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"  # PIDS, forget_pid, stop_pid, free_port

cleanup() {
  local status=$? p
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do stop_pid "$p"; done
  rm -rf "$WORK"
  if ((status != 0)); then
    echo "run.sh: failed (exit $status); log and raw results in $OUT" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }

emit() { echo "$1" | tee -a "$RAW"; }

# ---- servers ------------------------------------------------------------------------------------
# Generous file limits: W3 holds 10,000 watcher connections in the server and in the client.
# The sweep's 50,000 watchers need more than a usual hard limit; only root may raise it.
((SWEEP)) && { ulimit -n 131072 2>/dev/null || true; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

BEACON_PID=0
BEACON_PORT=0
# start_beacon NAME PORT [agent flags...]: PORT 0 = any; waits until the agent prints its port.
# -dns-port 0: DNS stays on, as in production, but on a free port, so no run collides with
# another agent on this machine over the default 8600.
start_beacon() {
  local name=$1 port=$2 i
  shift 2
  : >"$WORK/$name.log"  # exists before the background job opens it, for the sed below
  taskset -c 0 "$BEACON" agent -http-port "$port" -dns-port 0 -node bench -log-level warn "$@" \
    >"$WORK/$name.log" 2>&1 &
  BEACON_PID=$!
  PIDS+=("$BEACON_PID")
  for ((i = 0; i < 300; i++)); do
    BEACON_PORT=$(sed -n 's/^beacon: http listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/$name.log" 2>/dev/null || true)
    [[ -n "$BEACON_PORT" ]] && return 0
    kill -0 "$BEACON_PID" 2>/dev/null || break
    sleep 0.05
  done
  log "beacon ($name) did not start:"; cat "$WORK/$name.log" >&2
  return 1
}

ETCD_PID=0
ETCD_PORT=0
start_etcd() {
  local name=$1 peer_port i
  ETCD_PORT=$(free_port)
  peer_port=$(free_port)
  rm -rf "$WORK/$name.etcd"
  taskset -c 0 etcd --name bench --data-dir "$WORK/$name.etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$peer_port" \
    --logger zap --log-level error >"$WORK/$name.log" 2>&1 &
  ETCD_PID=$!
  PIDS+=("$ETCD_PID")
  for ((i = 0; i < 200; i++)); do
    if curl -sf "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; then
      return 0
    fi
    kill -0 "$ETCD_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "etcd ($name) did not start:"; cat "$WORK/$name.log" >&2
  return 1
}

NGINX_PID=0
NGINX_PORT=0
# start_nginx: serves $WORK/nginx/www/<name>.json at /v1/health/service/<name> (the query string
# is ignored), one worker, keep-alive, no access log: the same request line as Beacon's read.
start_nginx() {
  local prefix=$WORK/nginx i locations="" f name
  NGINX_PORT=$(free_port)
  mkdir -p "$prefix/logs" "$prefix/tmp"
  for f in "$prefix"/www/*.json; do
    name=$(basename "$f" .json)
    locations+="    location = /v1/health/service/$name { default_type application/json; alias $f; }"$'\n'
  done
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $prefix/logs/error.log warn;
pid $prefix/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
$locations  }
}
EOF
  # master_process off: one process that is the worker, so $! is the PID that serves (and pins).
  taskset -c 0 nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
    >"$WORK/nginx.log" 2>&1 &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/health/service/$name" && return 0
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  log "nginx did not start:"; cat "$WORK/nginx.log" "$prefix/logs/error.log" >&2
  return 1
}

# lg ARGS...: one beacon_loadgen run on core 1; its JSON line goes to raw.jsonl and the log.
# It runs in the background and is waited for, so a TERM/INT to this script is handled at once
# (bash defers traps while a foreground child runs) and the EXIT trap stops the load generator too.
lg() {
  local out=$WORK/loadgen.out pid line status=0
  : >"$out"
  timeout 900 taskset -c 1 "$LOADGEN" "$@" >"$out" 2>>"$LOG" &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || status=$?
  forget_pid "$pid"
  line=$(cat "$out")
  if ((status != 0)); then
    log "loadgen exited $status: $* -> ${line:-no output}"
  fi
  if [[ -n "$line" ]]; then
    echo "$line" >>"$RAW"
    echo "$line" >>"$LOG"
  fi
}

# read_pair PORT PID SERVICE SECONDS LABEL: the same read of SERVICE?passing, 64 connections, from
# Beacon (PORT, PID) and then from nginx; labels LABEL.beacon and LABEL.nginx.
read_pair() {
  local path="/v1/health/service/$3?passing"
  lg read --port "$1" --server-pid "$2" --path "$path" --conns 64 --duration "$4" \
    --warmup "$WARMUP_S" --label "$5.beacon"
  lg read --port "$NGINX_PORT" --server-pid "$NGINX_PID" --path "$path" --conns 64 \
    --duration "$4" --warmup "$WARMUP_S" --label "$5.nginx"
}

# capture_answer PORT SERVICE WANT: Beacon's answer to SERVICE?passing, saved for nginx to serve
# ($WORK/nginx/www/SERVICE.json); exits unless it holds WANT instances.
capture_answer() {
  local file=$WORK/nginx/www/$2.json got
  mkdir -p "$WORK/nginx/www"
  curl -sf -o "$file" "http://127.0.0.1:$1/v1/health/service/$2?passing"
  got=$(grep -o '{"Node":{' "$file" | wc -l)
  if [[ "$got" != "$3" ]]; then
    echo "run.sh: $2 has $got passing instances, want $3" >&2
    exit 1
  fi
}

# restart_and_probe PORT DIR SERVICE LABEL TIMEOUT: starts Beacon on DIR (BEACON_PID), times exec
# to SERVICE?passing answering with all its 100 instances (LABEL.restart), and records VmRSS 2 s
# later (LABEL.rss_after_restart).
restart_and_probe() {
  local t0
  t0=$(date +%s%N)
  taskset -c 0 "$BEACON" agent -http-port "$1" -dns-port 0 -node bench -log-level warn \
    -data-dir "$2" >>"$WORK/$4-restarts.log" 2>&1 &
  BEACON_PID=$!
  PIDS+=("$BEACON_PID")
  lg probe --port "$1" --server-pid "$BEACON_PID" --path "/v1/health/service/$3?passing" \
    --count-substr '{"Node":{' --expect-count 100 --t0-epoch-ns "$t0" --timeout "$5" \
    --interval-ms 2 --label "$4.restart"
  sleep 2
  emit "$(printf '{"tool":"run.sh","label":"%s.rss_after_restart","rss_kb":%s}' "$4" "$(rss_kb "$BEACON_PID")")" >>"$LOG"
}

# ---- set-up -------------------------------------------------------------------------------------
START_S=$SECONDS
log "results in $OUT"
bash "$ROOT/bench/install-bench-deps.sh" >>"$LOG" 2>&1 || {
  echo "run.sh: installing bench packages failed; see $LOG" >&2
  exit 1
}
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  log "building beacon and beacon_loadgen (release preset) in $BUILD_DIR"
  (
    cd "$ROOT"
    if [[ -n "${BENCH_BUILD_DIR:-}" ]]; then
      cmake --preset release -B "$BUILD_DIR"
      cmake --build "$BUILD_DIR" --target beacon beacon_loadgen
    else
      cmake --preset release
      cmake --build --preset release --target beacon beacon_loadgen
    fi
  ) >>"$LOG" 2>&1 || {
    echo "run.sh: build failed; see $LOG" >&2
    exit 1
  }
fi
BEACON=$BUILD_DIR/apps/beacon/beacon
LOADGEN=$BUILD_DIR/bench/beacon_loadgen
for bin in "$BEACON" "$LOADGEN"; do
  [[ -x "$bin" ]] || { echo "run.sh: $bin is missing" >&2; exit 1; }
done

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
commit=""
if [[ -f "$ROOT/.git/HEAD" ]]; then  # read, not run: no git command
  head_ref=$(cat "$ROOT/.git/HEAD")
  if [[ "$head_ref" == ref:* && -f "$ROOT/.git/${head_ref#ref: }" ]]; then
    commit=$(cat "$ROOT/.git/${head_ref#ref: }")
  elif [[ "$head_ref" != ref:* ]]; then
    commit=$head_ref
  fi
fi
emit "$(printf '{"tool":"run.sh","label":"meta","date":"%s","quick":%d,"sweep":%d,"reps":%d,"nproc":%d,"cpu":"%s","kernel":"%s","commit":"%s","loadavg":"%s"}' \
  "$(date -Iseconds)" "$QUICK" "$SWEEP" "$REPS" "$(nproc)" "$cpu_model" "$(uname -r)" "$commit" \
  "$(cut -d' ' -f1-3 /proc/loadavg)")" >/dev/null
SETUP_S=$((SECONDS - START_S))
log "build and set-up took $SETUP_S s; machine load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- sweeps (--sweep): instead of the workloads below ------------------------------------------
if ((SWEEP)); then
  # shellcheck source=bench/sweeps.sh
  source "$ROOT/bench/sweeps.sh"
  run_sweeps
  log "all sweeps done in $((SECONDS - START_S)) s"
  python3 "$ROOT/bench/summarize.py" "$RAW" --sweep --setup-seconds "$SETUP_S" \
    --seconds "$((SECONDS - START_S - SETUP_S))" >"$OUT/table.md"
  cat "$OUT/table.md"
  echo
  echo "run.sh: sweep tables in $OUT/table.md, raw JSON lines in $RAW, log in $LOG"
  exit 0
fi

# ---- W1: register 10,000 instances at concurrency 1, 16, 64 -----------------------------------
# A fresh Beacon per run (an empty catalog each time); one etcd for the whole workload, with a
# new key prefix per run so every put creates a key.
W1_START=$SECONDS
# Where a -dev agent keeps its data (std::filesystem::temp_directory_path()).
DEV_DATA_PARENT=${TMPDIR:-/tmp}
start_etcd w1-etcd
for ((r = 1; r <= REPS; r++)); do
  for c in 1 16 64; do
    cap=60
    ((c == 1)) && cap=$C1_CAP_S
    log "W1 rep $r concurrency $c"
    # At c=1 every registration waits for one fdatasync: the disk's own rate for the same
    # append-and-sync, just before and just after, is that figure's ceiling at the time.
    ((c == 1)) && lg disk --dir "$DEV_DATA_PARENT" --max-seconds 2 --label W1.c1.disk
    start_beacon "w1-r$r-c$c" 0 -dev
    lg register --port "$BEACON_PORT" --server-pid "$BEACON_PID" --conns "$c" \
      --max-seconds "$cap" --label "W1.c$c.beacon"
    stop_pid "$BEACON_PID"
    ((c == 1)) && lg disk --dir "$DEV_DATA_PARENT" --max-seconds 2 --label W1.c1.disk
    lg register --peer etcd --port "$ETCD_PORT" --server-pid "$ETCD_PID" --conns "$c" \
      --max-seconds "$cap" --key-prefix "w1r${r}c$c" --label "W1.c$c.etcd"
  done
done
stop_pid "$ETCD_PID"
log "W1 took $((SECONDS - W1_START)) s"

# ---- W2: reads of a 100- and a 5-instance service, Beacon vs nginx with the same bytes ----------
W2_START=$SECONDS
start_beacon w2 0 -dev
W2_PID=$BEACON_PID
W2_PORT=$BEACON_PORT
lg register --port "$W2_PORT" --server-pid "$W2_PID" --conns 64 --label "W2.load"
lg register --port "$W2_PORT" --conns 1 --services 1 --instances 5 --service-prefix small- \
  --label "W2.load_small"
for svc in svc-0:100 small-0:5; do
  name=${svc%%:*}
  capture_answer "$W2_PORT" "$name" "${svc##*:}"
  cp "$WORK/nginx/www/$name.json" "$OUT/w2-$name.json"
done
start_nginx
for ((r = 1; r <= REPS; r++)); do
  for svc in svc-0:100 small-0:5; do
    n=${svc##*:}
    log "W2 rep $r, $n instances"
    read_pair "$W2_PORT" "$W2_PID" "${svc%%:*}" "$READ_S" "W2.i$n"
  done
done
stop_pid "$NGINX_PID"
log "W2 took $((SECONDS - W2_START)) s"

# ---- W7: 95% reads / 5% writes with 1,000 watchers, on the W2 catalog ----------------------------
W7_START=$SECONDS
for ((r = 1; r <= REPS; r++)); do
  log "W7 rep $r"
  lg mixed --port "$W2_PORT" --server-pid "$W2_PID" --path "/v1/health/service/svc-0?passing" \
    --conns 64 --watchers 1000 --write-every 20 --duration "$MIXED_S" --warmup "$WARMUP_S" \
    --label "W7.beacon"
done
stop_pid "$W2_PID"
log "W7 took $((SECONDS - W7_START)) s"

# ---- W3: 1,000 and 10,000 watchers, one change -------------------------------------------------
# Fresh servers per run, so (RSS with watchers - RSS before) is not blurred by freed memory an
# earlier run left in the allocator.
W3_START=$SECONDS
for ((r = 1; r <= REPS; r++)); do
  for w in 1000 10000; do
    log "W3 rep $r, $w watchers"
    start_beacon "w3-r$r-$w" 0 -dev
    lg watch --port "$BEACON_PORT" --server-pid "$BEACON_PID" --watchers "$w" \
      --label "W3.w$w.beacon"
    stop_pid "$BEACON_PID"
    start_etcd "w3-r$r-$w-etcd"
    lg watch --peer etcd --port "$ETCD_PORT" --server-pid "$ETCD_PID" --watchers "$w" \
      --label "W3.w$w.etcd"
    stop_pid "$ETCD_PID"
  done
done
log "W3 took $((SECONDS - W3_START)) s"

# ---- W4: 100,000 instances at rest, then restart to the first correct read ---------------------
W4_START=$SECONDS
W4_PORT=$(free_port)
W4_DIR=$WORK/w4-data
mkdir -p "$W4_DIR"
start_beacon w4 "$W4_PORT" -data-dir "$W4_DIR"
log "W4 loading 100,000 instances"
lg register --port "$W4_PORT" --server-pid "$BEACON_PID" --conns 64 --services 1000 \
  --instances 100 --max-seconds 400 --label "W4.load"
sleep 2
emit "$(printf '{"tool":"run.sh","label":"W4.rss_at_rest","rss_kb":%s}' "$(rss_kb "$BEACON_PID")")" >>"$LOG"
for ((r = 1; r <= REPS; r++)); do
  log "W4 restart $r"
  stop_pid "$BEACON_PID"
  restart_and_probe "$W4_PORT" "$W4_DIR" svc-999 W4 60
done
stop_pid "$BEACON_PID"
log "W4 took $((SECONDS - W4_START)) s"

# ---- summary ------------------------------------------------------------------------------------
log "all workloads done in $((SECONDS - START_S)) s"
python3 "$ROOT/bench/summarize.py" "$RAW" --setup-seconds "$SETUP_S" \
  --seconds "$((SECONDS - START_S - SETUP_S))" >"$OUT/table.md"
cat "$OUT/table.md"
echo
echo "run.sh: table in $OUT/table.md, raw JSON lines in $RAW, log in $LOG"
