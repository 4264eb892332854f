#!/usr/bin/env bash
# The netns testbed itself (scripts/testbed.sh), without Portico: addressing and reachability on
# the segment, frames reach Portico's veth0, the kernel of the portico namespace stays silent on
# veth0, `up` twice is fine, and `down` leaves nothing behind.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

root_links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)

require up testbed_up
P_SAVED=$P

check namespaces_exist bash -c '
  for r in "$@"; do ip netns list | awk "{print \$1}" | grep -qx "$0-$r" || { echo "missing $0-$r"; exit 1; }; done' \
  "$P" "${TB_ROLES[@]}"

check root_namespace_untouched bash -c '
  now=$(ip -o link show | awk -F": " "{print \$2}" | sort)
  [[ "$now" == "$0" ]] || { echo "root namespace links changed:"; diff <(echo "$0") <(echo "$now"); exit 1; }' \
  "$root_links_before"

for role in router be1 be2 be3; do
  check "client_ping_${role}_v4" ping_ok "${TB_ADDR4[$role]}" 2
  check "client_ping_${role}_v6" ping_ok "${TB_ADDR6[$role]}" 2
done

backend_via_router() {
  local r4 r6
  r4=$(in_ns be1 ip -4 route show default)
  r6=$(in_ns be1 ip -6 route show default)
  [[ $r4 == *"via ${TB_ADDR4[router]}"* && $r6 == *"via ${TB_ADDR6[router]}"* ]] || {
    echo "be1 default routes: '$r4' / '$r6'"
    return 1
  }
  [[ $(in_ns router sysctl -n net.ipv4.ip_forward) == 1 ]] || { echo "router does not forward"; return 1; }
}
check backends_route_via_router backend_via_router

client_vip_routes() {
  local r4 r6
  r4=$(in_ns client ip route get 203.0.113.10)
  r6=$(in_ns client ip -6 route get 2001:db8:200::10)
  if [[ $r4 != *"dev eth0"* || $r4 == *via* || $r6 != *"dev eth0"* || $r6 == *via* ]]; then
    echo "client routes to the VIP pools are not on-link: '$r4' / '$r6'"
    return 1
  fi
}
check client_vip_routes_on_link client_vip_routes

veth0_bare() {
  local a
  a=$(in_ns portico ip -o addr show dev "$TB_PORTICO_IF")
  [[ -z $a ]] || { echo "veth0 has addresses: $a"; return 1; }
  in_ns portico ip -br link show "$TB_PORTICO_IF" | grep -q UP || { echo "veth0 not up"; return 1; }
  [[ $(in_ns portico ethtool -k "$TB_PORTICO_IF" | awk '/^tx-checksumming:/{print $2}') == off ]] ||
    { echo "tx checksum offload still on"; return 1; }
  [[ $(in_ns client ethtool -k eth0 | awk '/^tx-checksumming:/{print $2}') == off ]] ||
    { echo "tx checksum offload still on on client eth0"; return 1; }
}
check portico_veth0_bare_no_offload veth0_bare

# An ARP broadcast from the client reaches veth0 (what net_af_packet will read).
frames_reach_veth0() {
  local cap="$T_TMP/veth0.txt" pid i
  in_ns portico timeout 5 tcpdump -l -nn -e -i "$TB_PORTICO_IF" -c 1 'arp and arp[24:4] = 0xcb00712a' \
    >"$cap" 2>"$cap.err" &
  pid=$!
  for ((i = 0; i < 30; i++)); do grep -q listening "$cap.err" && break; sleep 0.1; done
  in_ns client arping -c 2 -W 0.3 -w 2 -i eth0 203.0.113.42 >/dev/null 2>&1
  wait "$pid"
  grep -q "${TB_MAC[client]} > ff:ff:ff:ff:ff:ff.*who-has 203.0.113.42" "$cap" || {
    cat "$cap" "$cap.err"
    echo "the client's ARP request did not show up on veth0"
    return 1
  }
}
check frames_reach_portico_veth0 frames_reach_veth0

# NDP multicast crosses the bridge (multicast snooping off): an NS for a VIP reaches veth0.
ns_reach_veth0() {
  local cap="$T_TMP/veth0-ns.txt" pid i
  in_ns portico timeout 5 tcpdump -l -nn -i "$TB_PORTICO_IF" -c 1 'icmp6 and ip6[40] = 135' \
    >"$cap" 2>"$cap.err" &
  pid=$!
  for ((i = 0; i < 30; i++)); do grep -q listening "$cap.err" && break; sleep 0.1; done
  in_ns client ndisc6 -r 1 -w 300 2001:db8:200::42 eth0 >/dev/null 2>&1
  wait "$pid"
  grep -q 'who has 2001:db8:200::42' "$cap" || {
    cat "$cap" "$cap.err"
    echo "the client's Neighbor Solicitation did not show up on veth0"
    return 1
  }
}
check ndp_multicast_reaches_portico_veth0 ns_reach_veth0

# Stand in for Portico's tap: put the node addresses on a tap in the portico namespace. The
# namespace's kernel must not answer for them on veth0 (only Portico may, through its tap).
kernel_silent_on_veth0() {
  in_ns portico ip tuntap add fake0 mode tap || return 1
  in_ns portico ip addr add "$TB_NODE4/24" dev fake0
  in_ns portico ip -6 addr add "$TB_NODE6/64" dev fake0 nodad
  in_ns portico ip link set fake0 up
  local bad=0
  no_arp "$TB_NODE4" || bad=1
  no_nd "$TB_NODE6" || bad=1
  in_ns client ip neigh replace "$TB_NODE4" lladdr "${TB_MAC[portico]}" dev eth0
  ping_fails "$TB_NODE4" || bad=1
  in_ns client ip neigh del "$TB_NODE4" dev eth0
  in_ns portico ip link del fake0
  return "$bad"
}
check portico_ns_kernel_silent_on_veth0 kernel_silent_on_veth0

check up_again_is_idempotent bash -c '"$0" up --prefix "$1" >/dev/null && ip netns exec "$1-client" ping -c 1 -W 2 198.51.100.1 >/dev/null' \
  "$TESTBED" "$P"

down_leaves_nothing() {
  "$TESTBED" down --prefix "$P_SAVED" || return 1
  local left now
  left=$(ip netns list | awk '{print $1}' | grep -- "^$P_SAVED-")
  [[ -z $left ]] || { echo "namespaces left: $left"; return 1; }
  now=$(ip -o link show | awk -F': ' '{print $2}' | sort)
  [[ $now == "$root_links_before" ]] || { echo "root namespace links changed"; return 1; }
  "$TESTBED" down --prefix "$P_SAVED" || { echo "second down failed"; return 1; }
}
check down_leaves_nothing down_leaves_nothing
P="" # already down

finish
