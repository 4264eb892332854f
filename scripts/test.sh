#!/usr/bin/env bash
# Sets up and runs every test: installs missing packages, builds, then runs the unit and
# pipeline tests (GoogleTest), the libFuzzer targets (FUZZ_SECONDS each, default 15) and the
# system tests on the netns testbed. Prints one line per suite and a last line
# "N passed, M failed" (test cases). Exit status 0 only if nothing failed.
#   sudo scripts/test.sh            everything
#   sudo scripts/test.sh unit       unit + pipeline only (no fuzzing, no namespaces)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
what=${1:-all}

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: run as root (the system tests create network namespaces)" >&2
  exit 2
fi
scripts/deps.sh || { echo "test.sh: installing dependencies failed" >&2; exit 1; }
scripts/build.sh || { echo "test.sh: build failed" >&2; exit 1; }
build=${PORTICO_BUILD_DIR:-$root/build}

passed=0
failed=0
logdir=$(mktemp -d /tmp/portico-test.XXXXXX)

# Runs one GoogleTest binary and adds its counts; a crash counts as one failure.
run_gtest() {
  local name=$1 bin=$2 log="$logdir/$1.log"
  if [ ! -x "$bin" ]; then
    echo "FAIL $name: $bin was not built"
    failed=$((failed + 1))
    return
  fi
  "$bin" --gtest_color=no >"$log" 2>&1
  local rc=$? p f
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" = 0 ]; then
    echo "PASS $name ($p tests)"
  else
    echo "FAIL $name ($p passed, $f failed); log:"
    grep -E '^\[  FAILED  \]|Failure|error' "$log" | head -n 30
    tail -n 20 "$log"
  fi
}

run_gtest unit-config "$build/tests/unit/config/config_test"
run_gtest unit-nf "$build/tests/unit/nf/nf_test"
run_gtest unit-ipam "$build/tests/unit/control/ipam_test"
run_gtest unit-plan "$build/tests/unit/plan/plan_test"
run_gtest unit-bgp-codec "$build/tests/unit/bgp/bgp_codec_test"
run_gtest unit-bgp-speaker "$build/tests/unit/bgp/bgp_speaker_test"
run_gtest unit-bgp-announce "$build/tests/unit/bgp/bgp_announce_test"
run_gtest unit-ctl "$build/tests/unit/ctl/ctl_test"
run_gtest unit-metrics "$build/tests/unit/metrics/metrics_test"
run_gtest unit-api "$build/tests/unit/api/api_test"
run_gtest unit-api-live "$build/tests/unit/api/api_live_test"
# control/k8s: every test program of tests/unit/k8s (the client's parts land one by one).
while IFS= read -r t; do
  run_gtest "unit-k8s-$(basename "$t" | sed -e 's/^k8s_//' -e 's/_test$//' -e 's/_/-/g')" "$t"
done < <(find "$build/tests/unit/k8s" -maxdepth 1 -type f -executable 2>/dev/null | sort)
run_gtest pipeline "$build/tests/pipeline/pipeline_test"
run_gtest pipeline-l4 "$build/tests/pipeline/l4_pipeline_test"

# Adds the counts of a runner that ends with "N passed, M failed".
add_summary() {
  local name=$1 out=$2 line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
  if [ -n "$line" ]; then
    passed=$((passed + $(echo "$line" | cut -d' ' -f1)))
    failed=$((failed + $(echo "$line" | cut -d' ' -f3)))
  else
    echo "FAIL $name: printed no summary"
    failed=$((failed + 1))
  fi
}

# Python unittest suites: "Ran N tests" and OK, or FAILED (failures=F, errors=E).
run_pyunit() {
  local name=$1 log="$logdir/$1.log" n f
  shift
  local ok=0
  if timeout 300 python3 -m unittest "$@" >"$log" 2>&1; then ok=1; fi
  n=$(grep -oE '^Ran [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -n1)
  n=${n:-0}
  if [ "$ok" = 1 ] && [ "$n" -gt 0 ]; then
    echo "PASS $name ($n tests)"
    passed=$((passed + n))
  else
    f=$(grep -oE '(failures|errors)=[0-9]+' "$log" | grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}')
    f=${f:-1}
    [ "$f" -gt 0 ] || f=1
    echo "FAIL $name ($n tests, $f failed); log:"
    tail -n 30 "$log"
    passed=$((passed + n - f))
    failed=$((failed + f))
  fi
}
# The deploy files against the code, and the test Kubernetes API server's own checks.
run_pyunit k8s-deploy-files tests/k8s/test_deploy_files.py
if [ "$what" = all ]; then
  run_pyunit k8s-fake-apiserver tests/k8s/test_fake_apiserver.py
fi

if [ "$what" = all ]; then
  out="$logdir/fuzz.log"
  FUZZ_SECONDS=${FUZZ_SECONDS:-15} tests/fuzz/run.sh 2>&1 | tee "$out" | grep -E '^(PASS|FAIL)'
  add_summary fuzz "$out"

  out="$logdir/system.log"
  PORTICO="$build/portico" tests/system/run.sh 2>&1 | tee "$out"
  add_summary system "$out"
fi

echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
