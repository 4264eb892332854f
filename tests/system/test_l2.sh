#!/usr/bin/env bash
# Portico on the testbed with config/examples/demo.yaml: it answers ARP, NDP and echo for its
# VIPs and SNAT addresses from its port's MAC, the kernel behind its tap answers for the node
# address, addresses no Service holds stay silent, and the stats line counts the replies.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

VIP4=203.0.113.10      # first address of demo-pool: some Service of the demo holds it
VIP6=2001:db8:200::10  # demo/web is the only dual-stack Service: first v6 address of demo-pool
FREE4=203.0.113.40     # in demo-pool, held by no Service
FREE6=2001:db8:200::40

require portico_built portico_built

# The addresses above are assumptions about the demo's allocation; check them first so that a
# change to demo.yaml or IPAM fails here, with a clear message, rather than below.
demo_allocation() {
  "$PORTICO" check --config "$DEMO_CONFIG" -o json >"$T_TMP/check.json" || return 1
  "$PYTHON" - "$T_TMP/check.json" "$VIP4" "$VIP6" "$FREE4" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
held = set()
for o in doc["objects"]:
    for ing in ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        held.add(ing.get("ip"))
vip4, vip6, free4 = sys.argv[2:5]
missing = [a for a in (vip4, vip6) if a not in held]
if missing or free4 in held:
    sys.exit(f"demo allocation changed: held={sorted(held)} expected {vip4} {vip6} held, {free4} free")
PY
}
check demo_allocation demo_allocation

require testbed_up testbed_up
require portico_ready start_portico "$DEMO_CONFIG"
MAC=$(portico_mac)
echo "# Portico's port MAC: $MAC"

STATS0=""
check stats_before snap_stats STATS0

# (a) ARP for a VIP: every request answered, only by Portico's port.
check arp_vip4_from_portico_mac arp_from "$VIP4" "$MAC" 3

# (b) the client's neighbour table learns the VIP at Portico's MAC.
neigh_learned() {
  in_ns client ip neigh flush dev eth0
  in_ns client ping -n -c 1 -W 2 "$VIP4" >/dev/null 2>&1
  local n
  n=$(in_ns client ip neigh show "$VIP4" dev eth0)
  [[ ${n,,} == *"lladdr $MAC"* ]] || {
    echo "neighbour entry for $VIP4: '$n' (expected lladdr $MAC)"
    return 1
  }
}
check neighbour_entry_vip4 neigh_learned

# (c) echo to the VIPs, answered once each.
check ping_vip4 ping_ok "$VIP4" 3
check ping_vip6 ping_ok "$VIP6" 3

# (d) NDP for the v6 VIP.
check nd_vip6_from_portico_mac nd_from "$VIP6" "$MAC"

# (e) the node address is the kernel's (through Portico's tap); SNAT addresses are Portico's.
check ping_node4 ping_ok "$TB_NODE4" 3
check ping_node6 ping_ok "$TB_NODE6" 3
check ping_snat4 ping_ok "$TB_SNAT4" 3
check ping_snat6 ping_ok "$TB_SNAT6" 3
check arp_snat4_from_portico_mac arp_from "$TB_SNAT4" "$MAC" 2

# (f) addresses of the pool that no Service holds get no answer.
check no_arp_for_unheld_vip4 no_arp "$FREE4"
check no_nd_for_unheld_vip6 no_nd "$FREE6"

# (g) the counters saw it.
STATS1=""
check stats_after snap_stats STATS1
echo "# $STATS1"
check stats_reply_arp stat_grew "$STATS0" "$STATS1" reply.arp 5
check stats_reply_nd stat_grew "$STATS0" "$STATS1" reply.nd 1
check stats_reply_echo stat_grew "$STATS0" "$STATS1" reply.echo 7
check stats_reply_echo6 stat_grew "$STATS0" "$STATS1" reply.echo6 6
check stats_punted stat_grew "$STATS0" "$STATS1" punted 6
check stats_rx_tx bash -c 'for k in rx tx from_kernel; do
    v=$(grep -oE "(^| )$k=[0-9]+" <<<"$0" | sed "s/.*=//"); [[ ${v:-0} -gt 0 ]] || { echo "$k=${v:-missing}"; exit 1; }
  done' "$STATS1"

check still_running portico_running
check clean_stop stop_portico
finish
