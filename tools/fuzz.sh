#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan+UBSan) and runs each for a while.
#
# Usage: tools/fuzz.sh [seconds per target, default 60] [target...]
#   tools/fuzz.sh 300            # the 5-minute local run
#   tools/fuzz.sh 10             # the short CI run
# The committed seed corpus in fuzz/corpus/<target>/ is copied to a scratch directory first, so a
# run never changes the repository; inputs that crash are kept in build/fuzz/artifacts/. Exits
# non-zero if any target finds a crash, leak or undefined behaviour. Prints the execution counts.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
shift || true
build="$root/build/fuzz"

CXX=${FUZZ_CXX:-clang++} cmake -S "$root/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  >/dev/null
cmake --build "$build" -j2 >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in "$root"/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi

mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp -r "$root/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
  log="$build/$t.log"
  if "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$build/artifacts/$t-" "$work" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
  if [[ -z "$execs" ]]; then
    execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  printf 'fuzz: %-22s %-6s %12s executions in %ss\n' "$t" "$result" "${execs:-?}" "$seconds"
  if [[ $result == FAILED ]]; then tail -40 "$log"; fi
  rm -rf "$work"
done
exit $status
