#!/usr/bin/env bash
# The newcomer's one command: install dependencies, build the release preset, start an agent.
#
# Usage: scripts/run-agent.sh [extra `beacon agent` flags...]
#   e.g. scripts/run-agent.sh -http-port 8501 -log-level debug
# The agent keeps its state in ./data of the repository root and is named after this host (or
# "beacon" when the host name is unknown). Later flags override earlier ones, so extra arguments
# can replace the defaults.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/install-deps.sh
cmake --preset release
cmake --build --preset release

node=$(hostname 2>/dev/null || true)
node=${node:-beacon}
mkdir -p data
exec build/release/apps/beacon/beacon agent -data-dir ./data -node "$node" "$@"
