#!/usr/bin/env bash
# Sets up and runs Portico on the embedded default: installs missing packages, builds, brings
# up the network-namespace testbed (scripts/testbed.sh) and runs Portico in namespace pt-portico
# on config/examples/demo.yaml. Prints what to try, then follows Portico's log until Ctrl-C,
# which stops Portico and removes the testbed.
#   sudo scripts/demo.sh [--config PATH ...]   (default: config/examples/demo.yaml)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 2; }

configs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) configs+=(--config "$2"); shift 2 ;;
    *) echo "usage: demo.sh [--config PATH ...]" >&2; exit 2 ;;
  esac
done
[ ${#configs[@]} -gt 0 ] || configs=(--config "$root/config/examples/demo.yaml")

scripts/deps.sh
scripts/build.sh
build=${PORTICO_BUILD_DIR:-$root/build}
export TB_PREFIX=pt
log=$(mktemp /tmp/portico-demo.XXXXXX.log)
pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    grep -E 'event=(summary|lcore_stats)' "$log" || true
  fi
  scripts/testbed.sh down >/dev/null 2>&1 || true
  echo "demo: stopped; testbed removed; log kept at $log"
}
trap cleanup EXIT INT TERM

scripts/testbed.sh up
"$build/portico" check "${configs[@]}"
ip netns exec pt-portico "$build/portico" run "${configs[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q 'event=ready' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "demo: portico exited" >&2; exit 1; }
  sleep 0.1
done
grep -q 'event=ready' "$log" || { cat "$log"; echo "demo: portico did not become ready" >&2; exit 1; }
mac=$(ip netns exec pt-portico cat /sys/class/net/veth0/address)

cat <<MSG

Portico is running in namespace pt-portico (pid $pid, port MAC $mac). Try, in another shell:
  ip netns exec pt-client arping -c 3 -i eth0 203.0.113.10      # a VIP: answered by the data plane
  ip netns exec pt-client ping -c 3 203.0.113.11                 # ICMP echo to a VIP
  ip netns exec pt-client ping -6 -c 3 2001:db8:200::10          # ICMPv6 echo to an IPv6 VIP
  ip netns exec pt-client ndisc6 2001:db8:200::10 eth0           # NDP for an IPv6 VIP
  ip netns exec pt-client ping -c 3 198.51.100.10                # the node: answered by the kernel (tap)
  $build/portico check --config config/examples/demo.yaml   # the statuses computed
  kill -USR1 $pid                                                # counters into the log (event=stats)
  kill -HUP $pid                                                 # reload the config files
Following the log ($log); Ctrl-C stops Portico and removes the testbed.

MSG
tail -n +1 -f "$log" --pid="$pid" || true
wait "$pid" || true
pid=""
