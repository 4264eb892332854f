#!/usr/bin/env bash
# Run Portico's system tests: every tests/system/test_*.sh (or the ones named), one after the
# other (they share the DPDK runtime directory and the demo's API socket, so never in parallel).
#
#   tests/system/run.sh                       # all
#   tests/system/run.sh l2 reload             # tests/system/test_l2.sh, test_reload.sh
#   PORTICO=/path/to/portico tests/system/run.sh
#
# Prints every check as "PASS <name>" or "FAIL <name>: why", and last "N passed, M failed".
# Exit status 0 only when nothing failed. A test file that exits non-zero without reporting a
# failure (a crash, a syntax error) counts as one failure. Each test file is bounded by
# SYSTEM_TEST_TIMEOUT seconds (default 300).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=${SYSTEM_TEST_TIMEOUT:-300}

if [[ ${EUID:-$(id -u)} -ne 0 ]]; then
  echo "FAIL system: must run as root (network namespaces)"
  echo "0 passed, 1 failed"
  exit 1
fi

tests=()
if (($#)); then
  for t in "$@"; do
    t=${t##*/}
    t=${t%.sh}
    t=${t#test_}
    [[ -f $here/test_$t.sh ]] || {
      echo "no such test: $here/test_$t.sh" >&2
      exit 2
    }
    tests+=("$here/test_$t.sh")
  done
else
  for t in "$here"/test_*.sh; do tests+=("$t"); done
fi

# A test runs in its own process group under `timeout`: at the time limit, or when this runner
# is interrupted, the whole group gets SIGTERM (so a test's foreground command ends too and its
# EXIT trap cleans up at once), and SIGKILL 30 s later if it is still there.
tpid=""
interrupted=0
on_signal() {
  interrupted=1
  [[ -n $tpid ]] && kill -TERM "$tpid" 2>/dev/null
}
trap on_signal INT TERM

passed=0
failed=0
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  echo "# $name"
  out=$(mktemp)
  start=$SECONDS
  timeout -k 30 "$timeout_s" bash "$t" > >(tee "$out") 2>&1 &
  tpid=$!
  while :; do
    wait "$tpid"
    rc=$?
    # wait returns early (status > 128) when a trapped signal arrives; the test still runs.
    kill -0 "$tpid" 2>/dev/null || break
  done
  tpid=""
  sleep 0.1 # let tee finish writing
  p=$(grep -c '^PASS ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  if ((interrupted)); then
    echo "FAIL ${name#test_}: interrupted"
    f=$((f + 1))
  elif ((rc == 124 || rc == 137)); then
    echo "FAIL ${name#test_}: timed out after ${timeout_s}s"
    f=$((f + 1))
  elif ((rc != 0 && f == 0)); then
    echo "FAIL ${name#test_}: exited with status $rc without reporting a failed check"
    f=$((f + 1))
  elif ((rc == 0 && f > 0)); then
    echo "# $name reported failures but exited 0"
  fi
  echo "# $name: $((SECONDS - start))s"
  passed=$((passed + p))
  failed=$((failed + f))
  rm -f "$out"
  ((interrupted)) && break
done

echo "$passed passed, $failed failed"
((failed == 0))
