#!/usr/bin/env bash
# Installs the Debian packages that only the benchmark suite (bench/run.sh) needs, on top of
# scripts/install-deps.sh (which builds and tests Beacon):
#   nginx                     the read limit: serves Beacon's own response bytes as a static file
#   etcd-server, etcd-client  the peer: etcd 3.4 and its v3 JSON gateway (etcdctl for debugging)
#   wrk                       an independent HTTP load tool, to cross-check beacon_loadgen's reads
#   util-linux, procps        taskset (pinning to cores), ps/kill
#   python3                   bench/summarize.py (medians and the markdown table)
#   curl                      captures the bytes nginx serves, health probes
#
# Idempotent and quick on reruns: when dpkg reports every package installed it exits without
# touching apt. Otherwise it runs `apt-get update` once and installs the list. Installing nginx on
# Debian may start the distribution's own nginx service; the suite never uses or stops it (it runs
# its own nginx with its own prefix and port).
#
# Usage: bench/install-bench-deps.sh
set -euo pipefail

packages=(nginx etcd-server etcd-client wrk util-linux procps python3 curl)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-bench-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-bench-deps: not root and sudo is not available; install as root: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-bench-deps: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
