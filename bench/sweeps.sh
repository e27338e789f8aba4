# How cost grows: the sweeps of ../shared/BENCH.md, sourced by `bench/run.sh --sweep` (bash).
#
# Each headline figure measured again against size, with the same load generator, pinning and
# helpers as the main suite (start_beacon, start_nginx, lg, read_pair, capture_answer,
# restart_and_probe, emit, rss_kb, log: run.sh):
#   S2  W2's read (64 connections) of a service of 1, 10, 100, 1,000 and 10,000 passing
#       instances, Beacon beside nginx serving the same bytes;
#   S3  W3 with 1,000, 10,000 and 50,000 watchers (50,000 needs a descriptor limit above 50,500
#       in both processes, and several client addresses; under a lower limit the largest
#       thousand below it is measured instead, and the table says so);
#   S4  W4 with 10,000, 100,000 and 1,000,000 instances: load rate, RSS at rest, clean stop time
#       and restart time;
#   S1  W1 at concurrency 64 (10,000 new instances) into an agent already holding 0, 10,000,
#       100,000 and 1,000,000 (the S4 agent after its restarts; a fresh one for 0).
# etcd is not swept: one 50,000-stream etcd run alone would need ~5 GB and minutes.
# Labels: S2.i<n>.beacon|nginx, S3.w<n>.beacon, S4.n<n>.load|stop|restart (+ rss lines),
# S1.n<n>.beacon. bench/summarize.py --sweep turns them into tables with a cost per unit.

run_sweeps() {
  local n r w sources port dir services last what t0 ms

  # ---- S2: reads against the size of the service ------------------------------------------------
  local s2_start=$SECONDS
  start_beacon s2 0 -dev
  local s2_pid=$BEACON_PID s2_port=$BEACON_PORT
  for n in 1 10 100 1000 10000; do
    lg register --port "$s2_port" --conns 64 --services 1 --instances "$n" \
      --service-prefix "size$n-" --label "S2.load"
    capture_answer "$s2_port" "size$n-0" "$n"
  done
  start_nginx
  for ((r = 1; r <= REPS; r++)); do
    for n in 1 10 100 1000 10000; do
      log "S2 rep $r, $n instances"
      read_pair "$s2_port" "$s2_pid" "size$n-0" "$SWEEP_READ_S" "S2.i$n"
    done
  done
  stop_pid "$NGINX_PID"
  stop_pid "$s2_pid"
  log "S2 took $((SECONDS - s2_start)) s"

  # ---- S3: watchers ------------------------------------------------------------------------------
  local s3_start=$SECONDS
  # Past the descriptor limit (both processes need one per watcher), the largest thousand under
  # it stands in for 50,000, and the table says so.
  local limit_w=$((($(ulimit -n) - 500) / 1000 * 1000)) sizes="1000 10000 50000"
  if ((limit_w < 50000)); then
    emit "$(printf '{"tool":"run.sh","label":"S3.w50000.skipped","nofile":%d,"instead":%d}' "$(ulimit -n)" "$limit_w")" >>"$LOG"
    log "S3: 50,000 watchers need more than $(ulimit -n) descriptors; $limit_w instead"
    sizes="1000 10000 $limit_w"
  fi
  for ((r = 1; r <= REPS; r++)); do
    for w in $sizes; do
      # At most 20,000 watchers per client address (one address has ~28,000 ports towards one
      # server port).
      sources=$(((w + 19999) / 20000))
      log "S3 rep $r, $w watchers"
      start_beacon "s3-r$r-$w" 0 -dev
      lg watch --port "$BEACON_PORT" --server-pid "$BEACON_PID" --watchers "$w" \
        --source-addresses "$sources" --timeout 120 --label "S3.w$w.beacon"
      stop_pid "$BEACON_PID"
    done
  done
  log "S3 took $((SECONDS - s3_start)) s"

  # ---- S1 at 0, then S4 (and S1 on top of each size) ----------------------------------------------
  local s4_start=$SECONDS
  port=$(free_port)
  dir=$WORK/s1-empty
  mkdir -p "$dir"
  log "S1 into an empty agent"
  start_beacon s1-empty "$port" -data-dir "$dir"
  lg register --port "$port" --server-pid "$BEACON_PID" --conns 64 --services 100 \
    --instances 100 --service-prefix more- --label "S1.n0.beacon"
  stop_pid "$BEACON_PID"
  rm -rf "$dir"
  for n in 10000 100000 1000000; do
    services=$((n / 100))
    last=$((services - 1))
    port=$(free_port)
    dir=$WORK/s4-$n
    mkdir -p "$dir"
    log "S4 loading $n instances"
    start_beacon "s4-$n" "$port" -data-dir "$dir"
    lg register --port "$port" --server-pid "$BEACON_PID" --conns 64 --services "$services" \
      --instances 100 --max-seconds 600 --label "S4.n$n.load"
    sleep 2
    emit "$(printf '{"tool":"run.sh","label":"S4.n%d.rss_at_rest","rss_kb":%s}' "$n" "$(rss_kb "$BEACON_PID")")" >>"$LOG"
    for ((r = 1; r <= REPS; r++)); do
      log "S4 $n instances, restart $r"
      # A clean stop first folds the commit log's backlog into SQLite (src/store/sqlite/): timed.
      t0=$(date +%s%N)
      stop_pid "$BEACON_PID" 300
      what=stop
      ((r == 1)) && what=stop_after_load
      ms=$((($(date +%s%N) - t0) / 1000000))
      emit "$(printf '{"tool":"run.sh","label":"S4.n%d.%s","stop_s":%d.%03d}' "$n" "$what" \
        $((ms / 1000)) $((ms % 1000)))" >>"$LOG"
      restart_and_probe "$port" "$dir" "svc-$last" "S4.n$n" 120
    done
    log "S1 into an agent holding $n instances"
    lg register --port "$port" --server-pid "$BEACON_PID" --conns 64 --services 100 \
      --instances 100 --service-prefix more- --label "S1.n$n.beacon"
    stop_pid "$BEACON_PID" 300
    rm -rf "$dir"
  done
  log "S4 and S1 took $((SECONDS - s4_start)) s"
}
