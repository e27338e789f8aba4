#!/usr/bin/env bash
# W6 (../shared/BENCH.md): DNS SRV queries for a 100-instance service with dnsperf, Beacon against
# a static authoritative server (nsd) answering the same SRV question from a zone file, measured
# in the same run.
#
# What it does, all on 127.0.0.1:
#   1. starts `beacon agent -dev` pinned to the server core and registers service `web` with 100
#      passing instances (own addresses 127.0.1.N, ports 20001..20100);
#   2. for each variant — plain UDP (no EDNS0: Consul's 3-answer limit) and EDNS0 with the 4096-byte
#      buffer dnsperf -e advertises — asks Beacon once with dig and writes Beacon's answer (answer +
#      additional sections) into a zone file, so nsd serves an answer of the same shape and size;
#   3. starts nsd (one server process) on a free port pinned to the same core, and runs dnsperf
#      pinned to the client core for W6_SECONDS against Beacon, then against nsd, W6_REPEATS times,
#      interleaved so both see the same machine noise;
#   4. prints a markdown table: median queries/s of each, the ratio (target >= 0.7), response
#      sizes, and every run's figures. Raw dnsperf output is kept in W6_OUT.
# Beacon answers with a fresh random subset each time (3 of 100 for plain UDP); nsd's answer is
# fixed. Both are authoritative, non-recursive answers of the same size.
#
# Usage: bench/dns/run.sh [path/to/beacon]        (default: build/release/apps/beacon/beacon)
#   W6_SECONDS=15 W6_REPEATS=3 W6_SERVER_CPU=0 W6_CLIENT_CPU=1 W6_OUT=<dir> bench/dns/run.sh
# (raw output goes to build/bench-w6/<timestamp> unless W6_OUT says otherwise)
# Needs: dnsperf, nsd, dig, taskset, curl (bench/dns/install.sh).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
beacon=${1:-$root/build/release/apps/beacon/beacon}
seconds=${W6_SECONDS:-15}
repeats=${W6_REPEATS:-3}
server_cpu=${W6_SERVER_CPU:-0}
client_cpu=${W6_CLIENT_CPU:-1}
out=${W6_OUT:-$root/build/bench-w6/$(date +%Y%m%d-%H%M%S)}
instances=100
qname=_web._tcp.service.consul

for tool in dnsperf nsd dig taskset curl; do
  command -v "$tool" >/dev/null || { echo "w6: $tool not found; run bench/dns/install.sh" >&2; exit 1; }
done
[[ -x "$beacon" ]] || { echo "w6: beacon binary not found: $beacon" >&2; exit 1; }
mkdir -p "$out"

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

# A UDP+TCP port nobody listens on right now (the kernel picks it).
free_port() {
  python3 - <<'PY'
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(('127.0.0.1', 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(('127.0.0.1', port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    print(port)
    break
PY
}

# ---- Beacon ---------------------------------------------------------------------------------
# Created here, not by the redirect below: that happens in the child, maybe after our first read.
: >"$out/beacon.log"
taskset -c "$server_cpu" "$beacon" agent -dev -http-port 0 -dns-port 0 -node bench \
  -log-level warn >"$out/beacon.log" 2>&1 &
pids+=($!)
http_port=
dns_port=
for _ in $(seq 300); do
  http_port=$(sed -n 's/^beacon: http listening on [0-9.]*:\([0-9]*\)$/\1/p' "$out/beacon.log" || true)
  dns_port=$(sed -n 's/^beacon: dns listening on [0-9.]*:\([0-9]*\)$/\1/p' "$out/beacon.log" || true)
  [[ -n "$http_port" && -n "$dns_port" ]] && break
  sleep 0.1
done
[[ -n "$dns_port" ]] || { echo "w6: beacon did not start" >&2; cat "$out/beacon.log" >&2; exit 1; }

for i in $(seq 1 "$instances"); do
  curl -sf --max-time 10 -X PUT "http://127.0.0.1:$http_port/v1/agent/service/register" -d \
    "{\"ID\":\"web-$i\",\"Name\":\"web\",\"Address\":\"127.0.1.$i\",\"Port\":$((20000 + i)),\
\"Tags\":[\"v1\"],\"Check\":{\"TTL\":\"1h\",\"Status\":\"passing\"}}" >/dev/null
done
got=$(dig @127.0.0.1 -p "$dns_port" +tcp +short "$qname" SRV | wc -l)
[[ "$got" -eq "$instances" ]] || { echo "w6: expected $instances SRV records over TCP, got $got" >&2; exit 1; }

# ---- one variant: zone from Beacon's answer, nsd, interleaved dnsperf runs --------------------
declare -a rows=()
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
qps_of() { sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$1"; }
lost_of() { sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$1"; }
resp_size_of() { sed -n 's/^ *Average packet size: *request [0-9]*, response \([0-9]*\).*/\1/p' "$1"; }

run_variant() {
  local variant=$1 dig_opts=$2 perf_opts=$3
  local dir="$out/$variant"
  mkdir -p "$dir"
  echo "$qname SRV" >"$dir/queries.txt"

  # The zone: SOA/NS for the apex plus exactly the records of one Beacon answer.
  dig @127.0.0.1 -p "$dns_port" $dig_opts +noall +answer +additional "$qname" SRV >"$dir/beacon-answer.txt"
  {
    echo '$ORIGIN consul.'
    echo '$TTL 0'
    echo '@ IN SOA ns.consul. hostmaster.consul. 1 3600 600 86400 0'
    echo '@ IN NS ns.consul.'
    echo 'ns IN A 127.0.0.1'
    awk 'NF >= 5 && $1 !~ /^;/ {print}' "$dir/beacon-answer.txt"
  } >"$dir/consul.zone"

  local nsd_port
  nsd_port=$(free_port)
  cat >"$dir/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$nsd_port
  port: $nsd_port
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  verbosity: 0
  hide-version: yes
  tcp-count: 10
  # Debian's nsd limits responses to 200 q/s per client netblock (RRL): off for a load test.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  # Answers as big as the client allows (nsd's default caps EDNS0 answers at 1232 bytes).
  ipv4-edns-size: 4096
  # Full responses: the SRV targets' A records in the additional section, as Beacon sends them
  # (nsd also adds the zone's NS record and its glue; the table shows both sizes).
  minimal-responses: no
remote-control:
  control-enable: no
zone:
  name: consul.
  zonefile: "$dir/consul.zone"
CONF
  taskset -c "$server_cpu" nsd -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
  local nsd_pid=$!
  pids+=("$nsd_pid")
  local ok=
  for _ in $(seq 100); do
    if dig @127.0.0.1 -p "$nsd_port" +time=1 +tries=1 +short "$qname" SRV 2>/dev/null | grep -q .; then
      ok=1
      break
    fi
    sleep 0.1
  done
  [[ -n "$ok" ]] || { echo "w6: nsd did not answer" >&2; cat "$dir/nsd.out" "$dir/nsd.log" >&2 || true; exit 1; }
  dig @127.0.0.1 -p "$nsd_port" $dig_opts +noall +answer +additional "$qname" SRV >"$dir/nsd-answer.txt"

  local r beacon_runs=() nsd_runs=()
  for r in $(seq 1 "$repeats"); do
    for target in beacon nsd; do
      local port=$dns_port
      [[ $target == nsd ]] && port=$nsd_port
      taskset -c "$client_cpu" dnsperf -s 127.0.0.1 -p "$port" -d "$dir/queries.txt" \
        -l "$seconds" -c 1 -q 100 -t 2 -b 1024 $perf_opts >"$dir/$target-$r.txt" 2>&1
      local q
      q=$(qps_of "$dir/$target-$r.txt")
      [[ -n "$q" ]] || { echo "w6: dnsperf failed" >&2; cat "$dir/$target-$r.txt" >&2; exit 1; }
      if [[ $target == beacon ]]; then beacon_runs+=("$q"); else nsd_runs+=("$q"); fi
      printf 'w6: %-6s %-7s run %d: %10.0f q/s, lost %s, response %s bytes\n' "$variant" "$target" \
        "$r" "$q" "$(lost_of "$dir/$target-$r.txt")" "$(resp_size_of "$dir/$target-$r.txt")" >&2
    done
  done
  kill "$nsd_pid" 2>/dev/null || true
  wait "$nsd_pid" 2>/dev/null || true

  local bm nm
  bm=$(printf '%s\n' "${beacon_runs[@]}" | median)
  nm=$(printf '%s\n' "${nsd_runs[@]}" | median)
  local answers
  answers=$(awk '$4 == "SRV"' "$dir/beacon-answer.txt" | wc -l)
  rows+=("$(printf '| %s | %s SRV + %s A | %s / %s | %.0f | %.0f | **%.2f** | %s | %s |' \
    "$variant" "$answers" "$(awk '$4 == "A"' "$dir/beacon-answer.txt" | wc -l)" \
    "$(resp_size_of "$dir/beacon-1.txt")" "$(resp_size_of "$dir/nsd-1.txt")" "$bm" "$nm" \
    "$(awk -v b="$bm" -v n="$nm" 'BEGIN {print b / n}')" \
    "$(printf '%.0f ' "${beacon_runs[@]}")" "$(printf '%.0f ' "${nsd_runs[@]}")")")
}

run_variant udp-512 "+noedns" ""
run_variant edns-4096 "+bufsize=4096" "-e"

echo
echo "W6 DNS: \`$qname SRV\`, service of $instances passing instances; dnsperf -c 1 -q 100 -b 1024 -l $seconds" \
  "(x$repeats, median); server on CPU $server_cpu, dnsperf on CPU $client_cpu; $(date -u +%Y-%m-%d)"
echo
echo "| variant | answer | response bytes Beacon / nsd | Beacon q/s | nsd q/s | ratio | Beacon runs | nsd runs |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "raw output: $out"
