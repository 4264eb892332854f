#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan (build-fuzz/) and runs each for
# FUZZ_SECONDS (default 20) from the seed corpus in tests/fuzz/corpus/. Prints
# "PASS <target>" or "FAIL <target>" with the crash log, and "N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PORTICO_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
# The libraries are built with coverage instrumentation too (fuzzer-no-link), so libFuzzer
# sees which branches of nf/ and config/ an input reaches, not only the harness's.
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++ CC=clang meson setup "$build" "$root" -Dfuzz=enabled -Dtests=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized \
    -Dcpp_args=-fsanitize=fuzzer-no-link >/dev/null || {
    echo "FAIL fuzz-build: meson setup failed"; echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C "$build" tests/fuzz/frame_fuzzer tests/fuzz/config_fuzzer tests/fuzz/http_head_fuzzer tests/fuzz/l7_fuzzer tests/fuzz/bgp_fuzzer >/dev/null || {
  echo "FAIL fuzz-build: ninja failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
for target in frame config http_head l7 bgp; do
  work=$(mktemp -d)            # corpus copy: the fuzzer adds what it finds
  mkdir -p "$work/corpus" "$work/artifacts"
  cp -r "$root/tests/fuzz/corpus/$target/." "$work/corpus/" 2>/dev/null
  log="$work/log"
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
     "$build/tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1; then
    echo "PASS fuzz-$target ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | cut -d' ' -f2 || true) runs in ${seconds}s)"
    passed=$((passed + 1))
  else
    echo "FAIL fuzz-$target: see $log; the input is in $work/artifacts/"
    tail -n 40 "$log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
