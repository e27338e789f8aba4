#!/usr/bin/env bash
# Installs every Debian package that building and testing Beacon needs (Debian 12).
#
# Idempotent and fast on reruns: when dpkg already reports every package as installed, it exits
# without touching apt (no `apt-get update`, no network). Otherwise it runs `apt-get update` once and
# installs the whole list non-interactively. Uses sudo only when not already root.
#
# Usage: scripts/install-deps.sh
set -euo pipefail

packages=(
  # toolchain
  build-essential g++ cmake ninja-build ccache pkg-config
  # libraries (Boost 1.81: the default 1.74 lacks asio::as_tuple, see STYLE.md section 9)
  libboost1.81-dev libsimdjson-dev rapidjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libre2-dev libsqlite3-dev sqlite3 libssl-dev zlib1g-dev libjemalloc-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # end-to-end and fault tests: python-consul 0.7.1, dig, curl, ps/kill
  python3 python3-consul python3-grpcio dnsutils curl procps
  # promtool (checks the Prometheus metrics output)
  prometheus
  # cluster mode (issue #9): real etcd members started by the tests
  etcd-server
  # fuzzing: clang with libFuzzer and the sanitizer runtimes (tools/fuzz.sh)
  clang libclang-rt-14-dev
)

missing=()
for pkg in "${packages[@]}"; do
  # Status-Abbrev is "ii " for a fully installed package; anything else (absent, half-configured,
  # removed with config left) needs apt.
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and sudo is not available; install as root: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${packages[@]}"
