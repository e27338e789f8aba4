#!/usr/bin/env bash
# Installs the Debian packages workload W6 needs beyond scripts/install-deps.sh: dnsperf (the load
# generator), nsd (the static authoritative reference server), dig and taskset.
#
# Idempotent: exits without touching apt when everything is installed. nsd's package enables a
# system service; run.sh never uses it (it starts its own nsd on a loopback port), and the service
# is not started where no init system runs (containers, CI).
#
# Usage: bench/dns/install.sh
set -euo pipefail

packages=(dnsperf nsd dnsutils util-linux curl)
missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "bench/dns/install: all ${#packages[@]} packages already installed"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "bench/dns/install: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
