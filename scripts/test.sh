#!/usr/bin/env bash
# The one command for tests: install dependencies, build a preset, run every test through CTest.
#
# Usage: scripts/test.sh [extra ctest arguments...]
#   BEACON_PRESET=debug scripts/test.sh          # another preset (release, debug, asan, tsan)
#   scripts/test.sh -L unit                      # only the unit tests
# Exits non-zero when the build or any test fails; prints the elapsed time either way.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

preset=${BEACON_PRESET:-release}
start=$SECONDS
report_elapsed() {
  local rc=$?
  local elapsed=$((SECONDS - start))
  printf 'test.sh: preset %s, exit %d, elapsed %dm%02ds\n' "$preset" "$rc" \
    $((elapsed / 60)) $((elapsed % 60))
}
trap report_elapsed EXIT

bash scripts/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j2
# --no-tests=error: a run that finds no test is a broken build setup, not a pass.
ctest --preset "$preset" -j2 --output-on-failure --no-tests=error "$@"
