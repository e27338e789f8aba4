# Process bookkeeping shared by the bench scripts (sourced; bash). The sourcing script keeps every
# PID it starts in PIDS and stops them with stop_pid (from its EXIT trap, too); nothing else is
# ever signalled. A `log` function, if the script defines one, gets the KILL warning; otherwise
# it goes to stderr.

PIDS=()

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [[ "$p" != "$1" ]] && keep+=("$p"); done
  PIDS=("${keep[@]+"${keep[@]}"}")
}

# stop_pid PID [SECONDS]: TERM, wait up to SECONDS (10), then KILL. Only ever called with PIDs the
# script started.
stop_pid() {
  local pid=$1 seconds=${2:-10} i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < seconds * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      if declare -F log >/dev/null; then
        log "pid $pid ignored TERM for $seconds s; sending KILL"
      else
        echo "pid $pid ignored TERM for $seconds s; sending KILL" >&2
      fi
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
