#!/usr/bin/env bash
# Build, tear down or show the network-namespace testbed Portico's demo and system tests run on
# (DESIGN.md "Testbed"; names and addresses in scripts/lib/testbed_env.sh).
#
#   scripts/testbed.sh up|down|status [--prefix P]      (P defaults to $TB_PREFIX, else "pt")
#
# One L2 segment: bridge br0 in namespace ${P}-lan. Each host namespace (${P}-client, -be1..3,
# -router) holds a kernel stack on eth0; ${P}-portico holds veth0 without any address, for
# Portico's net_af_packet port. Portico adds its node address itself on its tap portico0.
# Veth pairs are created directly inside their namespaces: nothing ever appears in, and no
# address or route is ever added to, the root namespace.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=scripts/lib/testbed_env.sh
. "$here/lib/testbed_env.sh"

usage() {
  cat >&2 <<USAGE
usage: ${0##*/} up|down|status [--prefix P]
  up      (re)build the testbed (tears down an existing one with the same prefix first)
  down    remove the testbed's namespaces (never fails when they are missing)
  status  show the testbed's namespaces, interfaces and addresses
  --prefix P   namespace prefix (default: \$TB_PREFIX or "pt"); namespaces are P-lan, P-client...
USAGE
  exit 2
}

# (awk reads all of its input: no early exit, so no SIGPIPE to trip pipefail)
ns_exists() { ip netns list | awk -v n="$1" '$1 == n { found = 1 } END { exit !found }'; }

# Run in namespace: nx NS CMD...
nx() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# Stop the processes still inside a namespace (a Portico, a capture...), so that deleting the
# namespace really frees its interfaces. TERM, up to 3 s, then KILL.
stop_ns_processes() {
  local ns=$1 pids
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || true
  [[ -n ${pids// /} ]] || return 0
  log "stopping processes in $ns: $pids"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  local i
  for ((i = 0; i < 30; i++)); do
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || true
    [[ -n ${pids// /} ]] || return 0
    sleep 0.1
  done
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
}

tb_down() {
  local role ns
  for role in "${TB_ROLES[@]}"; do
    ns="$P-$role"
    ns_exists "$ns" || continue
    stop_ns_processes "$ns"
    ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
  done
  # Namespace teardown is asynchronous in the kernel; wait (bounded) until the names are gone.
  local i
  for ((i = 0; i < 50; i++)); do
    any_left || return 0
    sleep 0.1
  done
  log "warning: namespaces of testbed $P still listed after 5 s"
}

any_left() {
  local role
  for role in "${TB_ROLES[@]}"; do ns_exists "$P-$role" && return 0; done
  return 1
}

# sysctl inside a namespace; fails loudly (every key set here must exist).
nsysctl() {
  local ns=$1 kv=$2
  nx "$ns" sysctl -q -w "$kv" >/dev/null || die "sysctl $kv in $ns failed"
}

# Turn off checksum and segmentation offloads on an interface inside a namespace. `tx off` is
# required (net_af_packet hands Portico frames whose checksum was left to offload otherwise);
# the rest are best effort: veth does not offer every feature on every kernel.
offloads_off() {
  local ns=$1 dev=$2 f
  shift 2
  nx "$ns" ethtool -K "$dev" "$@" >/dev/null 2>&1 || die "ethtool -K $dev $* in $ns failed"
  for f in gro gso tso; do nx "$ns" ethtool -K "$dev" "$f" off >/dev/null 2>&1 || true; done
}

make_namespace() {
  local ns=$1
  ip netns add "$ns"
  nx "$ns" ip link set lo up
  # Interfaces created afterwards inherit "default": no DAD (tests do not wait for tentative
  # addresses) and no router advertisements taken from anyone.
  nsysctl "$ns" net.ipv6.conf.default.accept_dad=0
  nsysctl "$ns" net.ipv6.conf.all.accept_dad=0
  nsysctl "$ns" net.ipv6.conf.default.accept_ra=0
}

make_lan() {
  local ns="$P-lan"
  make_namespace "$ns"
  # The segment itself speaks no IP: no addresses, no IPv6 (no MLD/RS noise from br0 or ports).
  nsysctl "$ns" net.ipv6.conf.default.disable_ipv6=1
  nsysctl "$ns" net.ipv6.conf.all.disable_ipv6=1
  # br_netfilter would validate (and drop) the malformed frames the tests send on purpose.
  local k
  for k in arptables iptables ip6tables; do
    if nx "$ns" test -e "/proc/sys/net/bridge/bridge-nf-call-$k"; then
      nsysctl "$ns" "net.bridge.bridge-nf-call-$k=0"
    fi
  done
  # No STP, no forward delay, no multicast snooping: NDP multicast reaches every port at once.
  nx "$ns" ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0 \
    nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0
  [[ $(nx "$ns" cat /sys/class/net/br0/bridge/multicast_snooping) == 0 ]] ||
    die "multicast snooping still on for br0 in $ns"
  nx "$ns" ip link set br0 up
}

# A veth pair with `inner` in namespace ns and `port` in the lan namespace, enslaved to br0.
# Both ends are created directly in their namespaces (never visible in the root namespace).
plug() {
  local ns=$1 inner=$2 port=$3 mac=$4
  ip link add "$inner" netns "$ns" address "$mac" type veth peer name "$port" netns "$P-lan"
  nx "$P-lan" ip link set "$port" master br0
  nx "$P-lan" ip link set "$port" up
}

make_host() {
  local role=$1 ns="$P-$1"
  make_namespace "$ns"
  plug "$ns" eth0 "$role" "${TB_MAC[$role]}"
  offloads_off "$ns" eth0 tx off
  nx "$ns" ip addr add "${TB_ADDR4[$role]}/$TB_PREFIX_LEN4" dev eth0
  nx "$ns" ip -6 addr add "${TB_ADDR6[$role]}/$TB_PREFIX_LEN6" dev eth0 nodad
  nx "$ns" ip link set eth0 up
}

make_portico() {
  local ns="$P-portico" dev=$TB_PORTICO_IF
  make_namespace "$ns"
  plug "$ns" "$dev" portico "${TB_MAC[portico]}"
  # veth0 belongs to Portico (net_af_packet). The namespace's kernel must stay silent on it and
  # must not answer for the node addresses Portico later puts on portico0, or every ARP and
  # ping to the node would get a second answer straight from the kernel:
  #   no IPv6 (no NDP, no link-local), never answer ARP, drop IPv4 arriving there (strict
  #   reverse-path check: no route points at veth0), never forward.
  nsysctl "$ns" "net.ipv6.conf.$dev.disable_ipv6=1"
  nsysctl "$ns" "net.ipv4.conf.$dev.arp_ignore=8"
  nsysctl "$ns" "net.ipv4.conf.$dev.rp_filter=1"
  nsysctl "$ns" "net.ipv4.conf.$dev.forwarding=0"
  offloads_off "$ns" "$dev" tx off rx off
  nx "$ns" ip link set "$dev" up
}

tb_up() {
  tb_down
  # If anything below fails (a command under set -e, or die), leave nothing half-built behind.
  trap 'log "testbed up failed; removing partial testbed $P"; tb_down' EXIT
  make_lan
  local role
  for role in "${TB_HOSTS[@]}"; do make_host "$role"; done
  make_portico

  nsysctl "$P-router" net.ipv4.ip_forward=1
  nsysctl "$P-router" net.ipv6.conf.all.forwarding=1

  # The client reaches VIPs on the segment: Portico answers ARP/NDP for them directly.
  nx "$P-client" ip route add "$TB_VIP_NET4" dev eth0
  nx "$P-client" ip -6 route add "$TB_VIP_NET6" dev eth0

  for role in be1 be2 be3; do
    nx "$P-$role" ip route add default via "${TB_ADDR4[router]}"
    nx "$P-$role" ip -6 route add default via "${TB_ADDR6[router]}"
  done
  trap - EXIT
  summary
}

summary() {
  local role
  printf 'testbed %s is up (segment: bridge br0 in %s-lan)\n' "$P" "$P"
  printf '  %-14s %-6s %-15s %-18s %s\n' namespace iface ipv4 ipv6 mac
  for role in "${TB_HOSTS[@]}"; do
    printf '  %-14s %-6s %-15s %-18s %s\n' "$P-$role" eth0 "${TB_ADDR4[$role]}" \
      "${TB_ADDR6[$role]}" "${TB_MAC[$role]}"
  done
  printf '  %-14s %-6s %-15s %-18s %s\n' "$P-portico" "$TB_PORTICO_IF" "-" "-" "${TB_MAC[portico]}"
  printf '  Portico (run it in %s-portico) adds node %s %s on its tap portico0.\n' \
    "$P" "$TB_NODE4" "$TB_NODE6"
  printf '  client routes %s and %s on-link (VIPs answered by ARP/NDP).\n' \
    "$TB_VIP_NET4" "$TB_VIP_NET6"
}

tb_status() {
  local role ns found=0 pids
  for role in "${TB_ROLES[@]}"; do
    ns="$P-$role"
    ns_exists "$ns" || continue
    found=1
    printf '%s:\n' "$ns"
    nx "$ns" ip -br addr | sed 's/^/  /'
    pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
    [[ -z ${pids// /} ]] || printf '  processes: %s\n' "$pids"
  done
  ((found)) || printf 'testbed %s: no namespaces\n' "$P"
}

main() {
  local cmd=${1:-}
  [[ -n $cmd ]] || usage
  shift
  P=$(tb_default_prefix)
  while (($#)); do
    case $1 in
      --prefix) (($# >= 2)) || usage; P=$2; shift 2 ;;
      --prefix=*) P=${1#--prefix=}; shift ;;
      -h | --help) usage ;;
      *) usage ;;
    esac
  done
  tb_valid_prefix "$P" || die "bad prefix '$P' (letters, digits, _ . -; at most 24 characters)"
  case $cmd in
    up) require_root; require_commands ip ethtool sysctl; tb_up ;;
    down) require_root; tb_down ;;
    status) tb_status ;;
    -h | --help | help) usage ;;
    *) usage ;;
  esac
}

main "$@"
