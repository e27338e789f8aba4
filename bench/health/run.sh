#!/usr/bin/env bash
# W5 of ../shared/BENCH.md: 10,000 HTTP health checks at a 1 s interval against local endpoints.
#
#   bash bench/health/run.sh                 10,000 checks, 20 s measuring window, 5 detections
#   CHECKS=2000 WINDOW_S=10 bash bench/health/run.sh   a smaller run
#
# What it does: starts nginx (one worker, pinned to core 1, access log off, `return 200` for every
# check path, /fail answering 503 while a flag file exists, stub_status for the request counter)
# and a `beacon agent -dev` pinned to core 0 (so its one event loop is the only loop), registers
# CHECKS services with one HTTP check each (Interval 1s, Timeout 1s) plus one extra check on
# /fail, waits until every check is passing, then measures over WINDOW_S seconds:
#   - checks/s: nginx's request counter (stub_status) divided by the window;
#   - agent CPU%: utime+stime from /proc/<pid>/stat over the same window, in % of one core;
#   - agent RSS at the end;
#   - detection delay (DETECTIONS times): the flag file is created, and a blocking
#     /v1/health/service/w5-fail?passing query (parked before) is timed until it returns without
#     the instance; then the flag is removed and the check is let pass again.
# Prints one JSON line and a Markdown summary; raw output goes to bench/results/<stamp>-w5/.
#
# Invariants: every process started here is recorded by PID and stopped (TERM, then KILL) by the
# EXIT trap; nothing else is signalled. Everything listens on 127.0.0.1 on free ports; data lives
# in one temporary directory removed at exit. Every wait is bounded.
#
# Environment: BENCH_BUILD_DIR (default build/release, configured with the release preset's
# settings), BENCH_NO_BUILD=1 to use the binary already built, CHECKS, WINDOW_S, DETECTIONS.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BENCH_BUILD_DIR:-$ROOT/build/release}
CHECKS=${CHECKS:-10000}
WINDOW_S=${WINDOW_S:-20}
DETECTIONS=${DETECTIONS:-5}
STAMP=$(date +%Y-%m-%d_%H%M%S)
OUT=$ROOT/bench/results/$STAMP-w5
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/beacon-w5.XXXXXX)
chmod 755 "$WORK"  # nginx's worker (www-data) must see the flag file

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" | tee -a "$OUT/run.log" >&2; }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # bounded: 30 s
  local port=$1
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))"; then
      return 0
    fi
    sleep 0.1
  done
  echo "port $port never opened" >&2
  return 1
}

command -v nginx >/dev/null || { echo "nginx is required (apt-get install nginx)" >&2; exit 1; }

if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  log "building beacon (release settings) in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" -DBEACON_BUILD_TESTS=OFF \
    -DBEACON_BUILD_BENCH=OFF >"$OUT/build.log" 2>&1
  cmake --build "$BUILD_DIR" --target beacon -j2 >>"$OUT/build.log" 2>&1
fi
BEACON=$BUILD_DIR/apps/beacon/beacon
[[ -x "$BEACON" ]] || { echo "no beacon binary at $BEACON" >&2; exit 1; }

# Beacon keeps each HTTP check's connection open between attempts (src/health/http_probe.h), so
# nginx holds one connection per check: size worker_connections for all of them, or nginx evicts
# idle ones to make room and every check reconnects.
NGINX_CONNS=$(( CHECKS + 1024 > 8192 ? CHECKS + 1024 : 8192 ))
NGINX_PORT=$(free_port)
AGENT_PORT=$(free_port)
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections $NGINX_CONNS; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=8192;
    location = /nginx_status { stub_status; }
    location = /fail {
      if (-f $WORK/down) { return 503 "down"; }
      return 200 "ok";
    }
    location / { return 200 "ok"; }
  }
}
CONF
log "nginx on 127.0.0.1:$NGINX_PORT (core 1)"
taskset -c 1 nginx -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NGINX_PORT"

log "beacon agent on 127.0.0.1:$AGENT_PORT (core 0)"
taskset -c 0 "$BEACON" agent --dev --node w5-node --http-port "$AGENT_PORT" --dns-port -1 \
  --log-level warn >"$OUT/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=($AGENT_PID)
wait_port "$AGENT_PORT"

python3 "$ROOT/bench/health/w5.py" --agent-port "$AGENT_PORT" --agent-pid "$AGENT_PID" \
  --target-port "$NGINX_PORT" --down-file "$WORK/down" --checks "$CHECKS" \
  --window "$WINDOW_S" --detections "$DETECTIONS" --out "$OUT" | tee "$OUT/summary.md"
