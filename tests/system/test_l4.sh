#!/usr/bin/env bash
# L4 load balancing (tests/system/configs/l4.yaml): TCP and UDP to a VIP:port are spread over
# the Service's EndpointSlice endpoints (backend.py in be1..be3) in full-NAT mode (v4 and v6,
# the backends see the SNAT address), DSR mode (the backends see the client and answer it
# directly) and IPIP/IP6IP6 mode (checked on the wire: the backends cannot decapsulate); a 50 MB
# download is byte-identical; a transfer survives a reload that removes another endpoint, which
# then gets no new connections; a service port without endpoints refuses connections at once.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

WEB4=203.0.113.20      # l4/web, nat, TCP 80 -> 8080
WEB6=2001:db8:200::20
UDP4=203.0.113.21      # l4/echo-udp, nat, UDP 53 -> 5353
DSR4=203.0.113.22      # l4/web-dsr, dsr, TCP 8080
IPIP4=203.0.113.23     # l4/web-ipip, ipip, TCP 8080
IPIP6=2001:db8:200::23
EMPTY4=203.0.113.24    # l4/empty, TCP 80, no endpoints
BACKENDS=(be1 be2 be3)
CONF="$T_TMP/l4.yaml"  # a copy: the reload check edits it

require portico_built portico_built
require curl_installed command -v curl
cp "$SYS_DIR/configs/l4.yaml" "$CONF"

# The VIPs above are what l4.yaml pins; check them first so that a change to the file or to
# IPAM fails here, with a clear message, rather than as a silent VIP below.
l4_allocation() {
  "$PORTICO" check --config "$CONF" -o json >"$T_TMP/check.json" || return 1
  local svc want got bad=0
  for svc in "web=$WEB4 $WEB6" "echo-udp=$UDP4" "web-dsr=$DSR4" "web-ipip=$IPIP4 $IPIP6" \
    "empty=$EMPTY4"; do
    want=${svc#*=}
    got=$(service_ips "$T_TMP/check.json" "l4/${svc%%=*}" | tr '\n' ' ')
    if [[ ${got% } != "$want" ]]; then
      echo "l4/${svc%%=*}: got '${got% }', expected '$want'"
      bad=1
    fi
  done
  return "$bad"
}
check config_allocation l4_allocation

require testbed_up testbed_up

# Portico rewrites frames and computes checksums in software: the hosts' kernels must put real
# checksums on what they send (testbed.sh turns tx offload off on every eth0).
tx_offload_off() {
  local role state
  for role in client "${BACKENDS[@]}"; do
    state=$(in_ns "$role" ethtool -k eth0 | awk '/^tx-checksumming:/ {print $2}')
    [[ $state == off ]] || {
      echo "$role eth0: tx-checksumming is '$state', expected off"
      return 1
    }
  done
}
check tx_offload_off tx_offload_off

require backends_listening start_backends --tcp 8080 --udp 5353

# The backends themselves, straight from the client (no Portico involved).
backends_direct() {
  local be got
  for be in "${BACKENDS[@]}"; do
    got=$(in_ns client curl -sS --max-time 3 "http://${TB_ADDR4[$be]}:8080/") || return 1
    [[ $got == "$be" ]] || {
      echo "http://${TB_ADDR4[$be]}:8080/ answered '$got', expected $be"
      return 1
    }
    got=$(in_ns client curl -sS -g --max-time 3 "http://[${TB_ADDR6[$be]}]:8080/") || return 1
    [[ $got == "$be" ]] || {
      echo "http://[${TB_ADDR6[$be]}]:8080/ answered '$got', expected $be"
      return 1
    }
  done
}
require backends_answer_directly backends_direct

# DSR: every backend holds the VIP on lo and neither answers ARP for it nor uses it as the
# source of its own ARP requests (in the backend namespaces only).
dsr_backend_setup() {
  local be
  for be in "${BACKENDS[@]}"; do
    in_ns "$be" sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1 \
      net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2 || return 1
    in_ns "$be" ip addr add "$DSR4/32" dev lo || return 1
  done
}
require dsr_backend_setup dsr_backend_setup

require portico_ready start_portico "$CONF"
MAC=$(portico_mac)
echo "# Portico's port MAC: $MAC"
STATS0=""
check stats_before snap_stats STATS0
echo "# $STATS0"

# --- helpers ---------------------------------------------------------------------------------

# shares_between FILE TOTAL MIN_PCT MAX_PCT: each backend answered MIN..MAX % of TOTAL.
shares_between() {
  local file=$1 total=$2 lo=$3 hi=$4 be n bad=0 line=""
  for be in "${BACKENDS[@]}"; do
    n=$(count_of "$file" "$be")
    line+="$be=$n "
    ((n * 100 >= lo * total && n * 100 <= hi * total)) || bad=1
  done
  echo "# answers of $total: $line"
  ((bad == 0)) || {
    echo "shares $line(of $total): each should be ${lo}-${hi}%"
    return 1
  }
}

# --- (a, b) full NAT, IPv4 -------------------------------------------------------------------

check nat4_300_connections_answered get_many web4 300 "http://$WEB4/"
check nat4_spread_20_to_45_percent shares_between "$T_TMP/web4.out" 300 20 45

# peer_is NAME URL WANT [CURL_ARGS...]: 5 requests to URL (a /peer or /local), all say WANT.
peer_is() {
  local name=$1 url=$2 want=$3
  shift 3
  get_many "$name" 5 "$url" "$@" || return 1
  all_lines_are "$T_TMP/$name.out" "$want"
}
check nat4_backend_sees_snat_address peer_is peer4 "http://$WEB4/peer" "$TB_SNAT4"

# --- (c) full NAT, IPv6 ----------------------------------------------------------------------

check nat6_30_connections_answered get_many web6 30 "http://[$WEB6]/" -g
check nat6_spread_over_2_backends distinct_backends "$T_TMP/web6.out" 2
check nat6_backend_sees_snat_address peer_is peer6 "http://[$WEB6]/peer" "$TB_SNAT6" -g

# --- (d) UDP, full NAT, 53 -> 5353 -----------------------------------------------------------

# udp_answers NAME HOST PORT COUNT: every datagram answered by "<backend> hello <i>".
udp_answers() {
  local out="$T_TMP/$1.out" rc
  udp_many "$2" "$3" "$4" >"$out"
  rc=$?
  tail -n 3 "$out"
  ((rc == 0)) || {
    echo "$(grep -cE '^be[1-3] ' "$out") of $4 datagrams to $2:$3 answered"
    return 1
  }
  local bad
  bad=$(grep -vcE '^be[1-3] hello [0-9]+$' "$out")
  ((bad == 0)) || {
    echo "$bad replies are not '<backend> hello <i>'"
    return 1
  }
}
check udp4_30_datagrams_answered udp_answers udp4 "$UDP4" 53 30
check udp4_spread_over_2_backends distinct_backends "$T_TMP/udp4.out" 2

# --- (e) DSR ---------------------------------------------------------------------------------

check dsr_10_connections_answered get_many dsr 10 "http://$DSR4:8080/"
check dsr_backend_sees_client_address peer_is dsr_peer "http://$DSR4:8080/peer" \
  "${TB_ADDR4[client]}"
check dsr_backend_sees_vip_as_destination peer_is dsr_local "http://$DSR4:8080/local" "$DSR4"

# --- (f) IPIP / IP6IP6, on the wire ----------------------------------------------------------

for be in "${BACKENDS[@]}"; do
  check "ipip_capture_$be" start_capture "$be" "$T_TMP/ipip-$be.pcap" 'ip proto 4 or ip6 proto 41'
done

# tunnelled_syns PCAP v4|v6: one line per tunnelled TCP SYN (no ACK) in PCAP:
#   OUTER_SRC,INNER_SRC OUTER_DST,INNER_DST DPORT [OUTER_IP_CSUM,INNER_IP_CSUM] TCP_CSUM
# (checksum status as tshark prints it, 1 = good; IPv6 headers have none: v4 only).
tunnelled_syns() {
  local ip=ip filter="ip.proto == 4"
  [[ $2 == v6 ]] && ip=ipv6 filter="ipv6.nxt == 41"
  local fields=(-e "$ip.src" -e "$ip.dst" -e tcp.dstport)
  [[ $2 == v4 ]] && fields+=(-e ip.checksum.status)
  fields+=(-e tcp.checksum.status)
  tshark -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE \
    -Y "$filter && tcp.flags.syn == 1 && tcp.flags.ack == 0" \
    -T fields -E occurrence=a -E aggregator=, "${fields[@]}" 2>/dev/null | tr '\t' ' '
}

# ipip_on_wire v4|v6 VIP: one connection attempt from the client to VIP:8080 (it times out: the
# backends cannot decapsulate) reaches exactly one backend as SYNs tunnelled from the node
# address, inner packet as the client sent it (addresses, port, valid checksums).
ipip_on_wire() {
  local fam=$1 vip=$2 node=$TB_NODE4 client=${TB_ADDR4[client]} url="http://$2:8080/"
  local be lines want got=() bad=0 i
  if [[ $fam == v6 ]]; then
    node=$TB_NODE6 client=${TB_ADDR6[client]} url="http://[$2]:8080/"
  fi
  in_ns client curl -s -g --connect-timeout 2 --max-time 2 "$url" >/dev/null 2>&1
  # tcpdump writes packet by packet; give the last one a moment to reach the file.
  for ((i = 0; i < 30; i++)); do
    for be in "${BACKENDS[@]}"; do
      [[ -n $(tunnelled_syns "$T_TMP/ipip-$be.pcap" "$fam") ]] && break 2
    done
    sleep 0.1
  done
  for be in "${BACKENDS[@]}"; do
    lines=$(tunnelled_syns "$T_TMP/ipip-$be.pcap" "$fam")
    [[ -n $lines ]] || continue
    got+=("$be")
    if [[ $fam == v4 ]]; then
      want="$node,$client ${TB_ADDR4[$be]},$vip 8080 1,1 1"
    else
      want="$node,$client ${TB_ADDR6[$be]},$vip 8080 1"
    fi
    echo "# $be: $(grep -c . <<<"$lines") tunnelled SYN(s): $(head -n 1 <<<"$lines")"
    if grep -vxF -- "$want" <<<"$lines" | grep -q .; then
      echo "$be: tunnelled SYN '$(grep -vxF -- "$want" <<<"$lines" | head -n 1)', expected '$want'"
      bad=1
    fi
  done
  ((${#got[@]} == 1)) || {
    echo "tunnelled SYNs for $vip in ${#got[@]} backends (${got[*]}), expected exactly one"
    return 1
  }
  return "$bad"
}
check ipip4_syn_tunnelled_to_one_backend ipip_on_wire v4 "$IPIP4"
check ip6ip6_syn_tunnelled_to_one_backend ipip_on_wire v6 "$IPIP6"

# --- (i) a service port without endpoints ----------------------------------------------------

# refused_fast URL: curl fails with "couldn't connect" (7: Portico sent a RST) well within 2 s,
# three times.
refused_fast() {
  local t0 ms rc i
  for ((i = 0; i < 3; i++)); do
    t0=$(date +%s%N)
    in_ns client curl -sS --connect-timeout 2 --max-time 2 "$1"
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    ((rc == 7 && ms < 2000)) || {
      echo "curl $1: exit status $rc after $ms ms, expected 7 (connection refused) within 2 s"
      return 1
    }
  done
}
check no_endpoints_connection_refused refused_fast "http://$EMPTY4/"

# --- (g) large downloads ---------------------------------------------------------------------

check nat4_download_50MB_intact download_intact big4 52428800 \
  "http://$WEB4/download?bytes=52428800"
check nat6_download_10MB_intact download_intact big6 10485760 \
  "http://[$WEB6]/download?bytes=10485760" -g

# --- (h) a long transfer survives a reload that removes another endpoint ---------------------

# 8 MB at 1 MB/s: 8 s, long enough to span the reload and the new connections below.
check slow_download_started slow_start slow 8000000 1000000 "$WEB4"

# Remove a backend that is not serving the slow download.
REMOVED=""
for be in "${BACKENDS[@]}"; do
  [[ $be == "${SLOW_BE[slow]:-}" ]] || {
    REMOVED=$be
    break
  }
done
echo "# removing $REMOVED from the web EndpointSlices"

check edit_config_remove_endpoint edit_endpoints "$SYS_DIR/configs/l4.yaml" "$CONF" \
  "$REMOVED=absent"
check edited_config_valid "$PORTICO" check --config "$CONF"
check reload_removed_endpoint reload_ok
check slow_download_running_across_reload slow_running slow

check nat4_30_connections_after_reload get_many after4 30 "http://$WEB4/"
check nat4_removed_endpoint_gets_no_new_connections never_from after4 "$REMOVED"
check nat6_10_connections_after_reload get_many after6 10 "http://[$WEB6]/" -g
check nat6_removed_endpoint_gets_no_new_connections never_from after6 "$REMOVED"

# The slow download (bounded by curl's --max-time 60) ends well and is byte-identical.
check slow_download_survives_reload slow_intact slow 70

# --- the end ---------------------------------------------------------------------------------

STATS1=""
check stats_after snap_stats STATS1
echo "# $STATS1"
check still_running portico_running
check clean_stop stop_portico
finish
