#!/usr/bin/env bash
# Two workers on the two-core test machine: lcores mapped with the --lcores form
# ("0@0,1@1,2@1": control thread on CPU 0, workers 1 and 2 sharing CPU 1). Each worker owns
# one af_packet queue (PACKET_FANOUT) and one tap queue; traffic for several VIPs must be
# answered whichever worker the kernel's fanout hands it to, and both workers must see some.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

require portico_built portico_built
require testbed_up testbed_up
CONF="$T_TMP/two-workers.yaml"
sed 's/lcores: "0-1"/lcores: "0@0,1@1,2@1"/' "$DEMO_CONFIG" >"$CONF"
require portico_ready start_portico "$CONF"
MAC=$(portico_mac)

check two_workers_ready bash -c 'grep -q "event=ready .*workers=1,2 " "$0" ||
  { echo "ready line does not name workers 1,2"; exit 1; }' "$PORTICO_LOG"
check ports_have_two_queues bash -c 'grep -q "event=port_up .*queues=2" "$0" ||
  { echo "port_up line does not show 2 queues"; exit 1; }' "$PORTICO_LOG"

# Flows to several VIPs and from the node's kernel: spread by the fanout hash.
for vip in 203.0.113.10 203.0.113.11 203.0.113.200; do
  check "arp_$vip" arp_from "$vip" "$MAC" 2
  check "ping_$vip" ping_ok "$vip" 2
done
check ping6_vip ping_ok 2001:db8:200::10 2
check ping_node ping_ok 198.51.100.10 2
check ping6_node ping_ok 2001:db8:100::10 2

check clean_stop stop_portico
both_workers_busy() {
  local n
  n=$(grep -E 'event=lcore_stats lcore=(1|2) ' "$PORTICO_LOG" | grep -cvE ' rx=0 ')
  [[ $n == 2 ]] || {
    grep -E 'event=lcore_stats' "$PORTICO_LOG" | cut -c1-160
    echo "expected both workers to have received frames"
    return 1
  }
}
check both_workers_received both_workers_busy
finish
