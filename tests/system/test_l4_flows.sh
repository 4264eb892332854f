#!/usr/bin/env bash
# L4 connection tracking (tests/system/configs/l4_flows.yaml, backend.py in be1..be3), full NAT:
#  - a flow whose backend is removed from the EndpointSlices is reset at its next client packet
#    (curl fails with "Connection reset by peer" within seconds, flows.backend_gone grows);
#  - a backend marked serving-terminating keeps its flow (the download ends byte-identical) and
#    gets no new connections;
#  - UDP: datagrams of one client socket stay on one backend, new sockets spread;
#  - ICMP errors: a "fragmentation needed" the client sends to the VIP about a flow reaches that
#    flow's backend translated (from the SNAT address, quoting backend:8080 -> SNAT:port), and
#    one a backend sends to the SNAT address reaches the client translated (from the VIP,
#    quoting client:port -> VIP:80);
#  - two workers (lcores "0@0,1@1,2@1"): 200 connections, UDP and a 20 MB download through the
#    VIP, ICMP errors still translated; replies that reach the worker not owning their SNAT port
#    are handed over (handoff.in), whenever the kernel spread the traffic over both workers.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

WEB4=203.0.113.20 # l4/web, nat, TCP 80 -> 8080
WEB6=2001:db8:200::20
UDP4=203.0.113.21 # l4/echo-udp, nat, UDP 53 -> 5353
BACKENDS=("${L4_BACKENDS[@]}")
TEMPLATE="$SYS_DIR/configs/l4_flows.yaml"
CONF="$T_TMP/l4_flows.yaml" # the running configuration: reloads rewrite it from TEMPLATE
CONF2="$T_TMP/l4_flows_two_workers.yaml"

require portico_built portico_built
require curl_installed command -v curl
require tshark_installed command -v tshark
require scapy_installed "$PYTHON" -c 'import scapy.all'
cp "$TEMPLATE" "$CONF"

l4_flows_allocation() {
  "$PORTICO" check --config "$CONF" -o json >"$T_TMP/check.json" || return 1
  local got
  got=$(service_ips "$T_TMP/check.json" l4/web | tr '\n' ' ')
  [[ $got == "$WEB4 $WEB6 " ]] || {
    echo "l4/web: got '$got', expected '$WEB4 $WEB6'"
    return 1
  }
  got=$(service_ips "$T_TMP/check.json" l4/echo-udp | tr '\n' ' ')
  [[ $got == "$UDP4 " ]] || {
    echo "l4/echo-udp: got '$got', expected '$UDP4'"
    return 1
  }
}
check config_allocation l4_flows_allocation

require testbed_up testbed_up
require backends_listening start_backends --tcp 8080 --udp 5353
require portico_ready start_portico "$CONF"
MAC=$(portico_mac)
echo "# Portico's port MAC: $MAC"

# --- helpers ---------------------------------------------------------------------------------

# set_endpoints BE=STATE...: rewrite $CONF from the template with these web endpoints changed
# (edit_endpoints: absent, ready, terminating), check it, reload; the reload must succeed.
set_endpoints() {
  edit_endpoints "$TEMPLATE" "$CONF" "$@" || return 1
  "$PORTICO" check --config "$CONF" >"$T_TMP/check.txt" 2>&1 || {
    cat "$T_TMP/check.txt"
    echo "portico check refuses the edited configuration"
    return 1
  }
  reload_ok
}

# same_counter LINE0 LINE1 KEY: KEY did not change between two stats lines.
same_counter() {
  local a b
  a=$(stat_value "$1" "$3")
  b=$(stat_value "$2" "$3")
  [[ -n $a && $a == "$b" ]] || {
    echo "$3 went from '$a' to '$b', expected no change"
    return 1
  }
}

# --- (e) UDP flows ---------------------------------------------------------------------------

# udp_sticky COUNT: COUNT datagrams from one client socket are all answered by one backend.
udp_sticky() {
  local out="$T_TMP/udp_sticky.out" bes
  in_ns client "$PYTHON" "$SYS_DIR/backend.py" --udp-query "$UDP4" 53 --count "$1" \
    --timeout 1 --same-socket >"$out"
  local rc=$?
  head -n 1 "$out"
  ((rc == 0)) || {
    tail -n 3 "$out"
    echo "$(grep -cE '^be[1-3] ' "$out") of $1 datagrams from one socket answered"
    return 1
  }
  bes=$(grep -oE '^be[1-3]\b' "$out" | sort | uniq -c | tr -s ' \n' ' ')
  echo "# answered by: $bes"
  (($(grep -oE '^be[1-3]\b' "$out" | sort -u | grep -c .) == 1)) || {
    echo "datagrams of one socket (one flow) reached several backends: $bes"
    return 1
  }
}
check udp_one_socket_20_datagrams_one_backend udp_sticky 20

# udp_spread NAME COUNT: COUNT datagrams, each from a new socket: all answered, >= 2 backends.
udp_spread() {
  udp_many "$UDP4" 53 "$2" >"$T_TMP/$1.out" || {
    tail -n 3 "$T_TMP/$1.out"
    echo "$(grep -cE '^be[1-3] ' "$T_TMP/$1.out") of $2 datagrams from new sockets answered"
    return 1
  }
  distinct_backends "$T_TMP/$1.out" 2
}
check udp_new_sockets_spread udp_spread udp_new 20

# --- (d) ICMP errors, both ways --------------------------------------------------------------

# icmp_captures TAG: capture ICMP in the client and the backends into $T_TMP/icmp-TAG-ROLE.pcap
# (tcpdump stops by itself after 120 s: each phase starts its own).
ICMP_TAG=""
icmp_captures() {
  local role
  ICMP_TAG=$1
  for role in client "${BACKENDS[@]}"; do
    start_capture "$role" "$T_TMP/icmp-$ICMP_TAG-$role.pcap" icmp || return 1
  done
}
check icmp_captures icmp_captures w1

CPORT="" # the client's port of the held connection (client -> VIP:80)
SPORT="" # its SNAT port (SNAT -> backend:8080)

# flow_ports NAME: the client port of download NAME (ss in the client, by curl's pid) and its
# SNAT port (the port its backend saw: header X-Peer).
flow_ports() {
  local pid=${SLOW_PID[$1]:-} lines peer
  [[ -n $pid && -n ${SLOW_PEER[$1]:-} ]] || {
    echo "download $1 was not started or has no X-Peer header"
    return 1
  }
  lines=$(in_ns client ss -Htnp state established "( dst $WEB4 and dport = :80 )" |
    grep -F "pid=$pid,")
  (($(grep -c . <<<"$lines") == 1)) || {
    in_ns client ss -Htnp state established
    echo "expected one established connection of curl (pid $pid) to $WEB4:80 in the client"
    return 1
  }
  CPORT=$(awk '{print $3}' <<<"$lines" | sed 's/.*://')
  peer=${SLOW_PEER[$1]% *}
  SPORT=${SLOW_PEER[$1]#* }
  echo "# client port $CPORT, ${SLOW_BE[$1]} sees $peer port $SPORT"
  [[ $peer == "$TB_SNAT4" && $CPORT =~ ^[0-9]+$ && $SPORT =~ ^[0-9]+$ ]] || {
    echo "unexpected ports or peer: client port '$CPORT', ${SLOW_BE[$1]} saw '$peer' port '$SPORT'"
    return 1
  }
}

# send_frag_needed ROLE DST_MAC SRC DST INNER_SRC INNER_DST INNER_SPORT INNER_DPORT: scapy in
# ROLE sends on eth0 an ICMP destination unreachable / fragmentation needed (MTU 1400) from SRC
# to DST quoting a 40-byte TCP segment INNER_SRC:INNER_SPORT -> INNER_DST:INNER_DPORT (valid
# checksums).
send_frag_needed() {
  local role=$1
  shift
  in_ns "$role" timeout 30 "$PYTHON" - "${TB_MAC[$role]}" "$@" <<'PY'
import logging
import sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ICMP, IP, TCP, Ether, sendp  # noqa: E402
src_mac, dst_mac, src, dst, isrc, idst, isport, idport = sys.argv[1:9]
quoted = IP(src=isrc, dst=idst, ttl=64, id=4242) / TCP(
    sport=int(isport), dport=int(idport), flags="A", seq=1000, ack=2000, window=502)
frame = Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst, ttl=64) / ICMP(
    type=3, code=4, nexthopmtu=1400) / IP(bytes(quoted))
sendp(frame, iface="eth0", verbose=False)
print("sent %s" % frame.summary())
PY
}

# frag_needed_seen ROLE: one line per ICMP fragmentation-needed ROLE received (not sent):
#   OUTER_SRC,INNER_SRC OUTER_DST,INNER_DST INNER_SPORT INNER_DPORT MTU
#   OUTER_IP_CSUM,INNER_IP_CSUM ICMP_CSUM   (checksum status as tshark prints it, 1 = good)
frag_needed_seen() {
  tshark -r "$T_TMP/icmp-$ICMP_TAG-$1.pcap" -o ip.check_checksum:TRUE \
    -Y "icmp.type == 3 && icmp.code == 4 && eth.src != ${TB_MAC[$1]}" \
    -T fields -E occurrence=a -E aggregator=, -e ip.src -e ip.dst -e tcp.srcport \
    -e tcp.dstport -e icmp.mtu -e ip.checksum.status -e icmp.checksum.status 2>/dev/null |
    tr '\t' ' '
}

# icmp_mark: remember how many fragmentation-needed each capture holds (ICMP_SEEN[role]).
# icmp_arrives_only ROLE WANT: within 3 s ROLE received exactly one new fragmentation-needed
# and it is WANT; no other role received a new one.
declare -A ICMP_SEEN=()
icmp_mark() {
  local role
  for role in client "${BACKENDS[@]}"; do
    ICMP_SEEN[$role]=$(frag_needed_seen "$role" | grep -c .)
  done
}
icmp_new() { frag_needed_seen "$1" | tail -n "+$((${ICMP_SEEN[$1]:-0} + 1))"; }
icmp_arrives_only() {
  local role=$1 want=$2 got other r i
  for ((i = 0; i < 30; i++)); do
    got=$(icmp_new "$role")
    [[ -n $got ]] && break
    sleep 0.1
  done
  sleep 0.3 # a duplicate or a copy elsewhere would be there by now
  got=$(icmp_new "$role")
  echo "# in $role: ${got:-nothing}"
  for r in client "${BACKENDS[@]}"; do
    [[ $r == "$role" ]] && continue
    other=$(icmp_new "$r")
    [[ -z $other ]] || {
      echo "the ICMP error (also) reached $r: $other"
      return 1
    }
  done
  [[ -n $got ]] || {
    echo "no ICMP fragmentation-needed reached $role within 3 s (expected '$want')"
    return 1
  }
  [[ $got == "$want" ]] || {
    echo "$role got '$got', expected '$want' (outer,inner src; outer,inner dst; inner ports;" \
      "MTU; IP checksums; ICMP checksum)"
    return 1
  }
}

# icmp_to_backend NAME: the client sends the VIP a fragmentation-needed about the download NAME
# (quoting VIP:80 -> client:CPORT, what it received); its backend gets it from the SNAT address,
# quoting what it sent: backend:8080 -> SNAT:SPORT; fwd.icmp_to_backend +1.
icmp_to_backend() {
  local be=${SLOW_BE[$1]} s0 s1
  snap_stats s0 || return 1
  icmp_mark
  send_frag_needed client "$MAC" "${TB_ADDR4[client]}" "$WEB4" \
    "$WEB4" "${TB_ADDR4[client]}" 80 "$CPORT" || return 1
  icmp_arrives_only "$be" \
    "$TB_SNAT4,${TB_ADDR4[$be]} ${TB_ADDR4[$be]},$TB_SNAT4 8080 $SPORT 1400 1,1 1" || return 1
  snap_stats s1 || return 1
  stat_grew "$s0" "$s1" fwd.icmp_to_backend 1
}

# icmp_to_client NAME: the download's backend sends the SNAT address a fragmentation-needed
# quoting SNAT:SPORT -> backend:8080 (what it received); the client gets it from the VIP,
# quoting client:CPORT -> VIP:80; fwd.icmp_to_client +1.
icmp_to_client() {
  local be=${SLOW_BE[$1]} s0 s1
  snap_stats s0 || return 1
  icmp_mark
  send_frag_needed "$be" "$MAC" "${TB_ADDR4[$be]}" "$TB_SNAT4" \
    "$TB_SNAT4" "${TB_ADDR4[$be]}" "$SPORT" 8080 || return 1
  icmp_arrives_only client \
    "$WEB4,${TB_ADDR4[client]} ${TB_ADDR4[client]},$WEB4 ${CPORT} 80 1400 1,1 1" || return 1
  snap_stats s1 || return 1
  stat_grew "$s0" "$s1" fwd.icmp_to_client 1
}

# 5 MB at 500 kB/s: 10 s to hold the connection open while the ICMP errors pass.
check icmp_flow_download_started slow_start icmp 5000000 500000 "$WEB4"
check icmp_flow_ports flow_ports icmp
check icmp_frag_needed_to_flow_backend icmp_to_backend icmp
check icmp_frag_needed_to_client icmp_to_client icmp
check icmp_flow_download_intact slow_intact icmp 30

# --- (a) the backend of a flow is removed: the flow is reset ---------------------------------

# (a1) An idle keep-alive connection: after the reload the client speaks first.
HOLD_PID=""
hold_start() {
  rm -f "$T_TMP/hold.go"
  in_ns client "$PYTHON" "$SYS_DIR/backend.py" --hold "$WEB4" 80 --go-file "$T_TMP/hold.go" \
    --timeout 3 --wait-seconds 30 >"$T_TMP/hold.out" 2>&1 &
  HOLD_PID=$!
  BG_PIDS+=("$HOLD_PID")
  wait_until 5 grep -qE '^(first|ERROR)' "$T_TMP/hold.out"
  cat "$T_TMP/hold.out"
  grep -qE '^first be[1-3]$' "$T_TMP/hold.out"
}
hold_backend() { sed -n 's/^first //p' "$T_TMP/hold.out"; }
hold_reset() {
  touch "$T_TMP/hold.go"
  wait_until 6 bash -c '! kill -0 "$0" 2>/dev/null' "$HOLD_PID"
  cat "$T_TMP/hold.out"
  grep -qE '^reset after [0-9]+ ms$' "$T_TMP/hold.out" || {
    echo "second request on the held connection: '$(tail -n 1 "$T_TMP/hold.out")'," \
      "expected a reset"
    return 1
  }
}
STATS_H0=""
STATS_H1=""
check idle_connection_opened hold_start
check idle_stats_before snap_stats STATS_H0
check idle_reload_removes_its_backend set_endpoints "$(hold_backend)=absent"
check idle_connection_reset_at_next_request hold_reset
check idle_stats_after snap_stats STATS_H1
check idle_counted_backend_gone stat_grew "$STATS_H0" "$STATS_H1" flows.backend_gone 1
check idle_reset_sent stat_grew "$STATS_H0" "$STATS_H1" reply.tcp_reset 1
check idle_all_ready_again set_endpoints be1=ready

# (a2) A download in progress: the backend keeps sending while the client only acknowledges.
# The client's side and every backend's side on the wire, to show what happened.
check gone_capture_client start_capture client "$T_TMP/gone-client.pcap" tcp port 80
for be in "${BACKENDS[@]}"; do
  check "gone_capture_$be" start_capture "$be" "$T_TMP/gone-$be.pcap" tcp port 8080
done
STATS_A0=""
RELOAD_NS=0
# 8 MB at 500 kB/s: 16 s, so it can only end early through the reset.
check gone_download_started slow_start gone 8000000 500000 "$WEB4"
check gone_stats_before snap_stats STATS_A0
remove_flow_backend() {
  set_endpoints "${SLOW_BE[gone]:-none}=absent" || return 1
  RELOAD_NS=$(date +%s%N)
}
check gone_reload_removes_its_backend remove_flow_backend

# wire_after PCAP FILTER: segments in PCAP since the reload matching FILTER, one a line.
wire_after() {
  local t
  t=$(printf '%d.%09d' $((RELOAD_NS / 1000000000)) $((RELOAD_NS % 1000000000)))
  tshark -r "$1" -Y "frame.time_epoch >= $t && ($2)" -T fields -e frame.time_epoch -e ip.src \
    -e tcp.srcport -e ip.dst -e tcp.dstport -e tcp.flags.str -e tcp.len 2>/dev/null |
    awk -v t="$t" '{ $1 = sprintf("+%.3fs", $1 - t); print }'
}

# gone_wire: what the client and the download's backend exchanged since the reload.
gone_wire() {
  local be=${SLOW_BE[gone]:-be1} f
  f=$(wire_after "$T_TMP/gone-client.pcap" "ip.dst == ${TB_ADDR4[client]}")
  echo "# client received since the reload: $(grep -c . <<<"$f") segment(s)"
  head -n 3 <<<"$f" | sed 's/^/#   /'
  f=$(wire_after "$T_TMP/gone-client.pcap" "ip.src == ${TB_ADDR4[client]}")
  echo "# client sent since the reload: $(grep -c . <<<"$f") segment(s)"
  head -n 3 <<<"$f" | sed 's/^/#   /'
  f=$(wire_after "$T_TMP/gone-$be.pcap" "ip.src == ${TB_ADDR4[$be]}")
  echo "# $be sent since the reload: $(grep -c . <<<"$f") segment(s)"
  head -n 3 <<<"$f" | sed 's/^/#   /'
  f=$(wire_after "$T_TMP/gone-$be.pcap" "ip.dst == ${TB_ADDR4[$be]}")
  echo "# $be received since the reload: $(grep -c . <<<"$f") segment(s)"
  head -n 3 <<<"$f" | sed 's/^/#   /'
}

# reset_quickly NAME SECONDS: curl ends within SECONDS of the reload with exit 56 ("Recv
# failure: Connection reset by peer"), before the whole body arrived.
reset_quickly() {
  local name=$1 limit=$2 ms size err
  if ! slow_wait "$name" $((limit + 2)) >/dev/null; then
    size=$(stat -c %s "$T_TMP/$name.bin" 2>/dev/null || echo 0)
    stop_pid "${SLOW_PID[$name]}" 2
    gone_wire
    echo "download $name neither reset nor finished $((limit + 2)) s after the reload" \
      "($size bytes so far; curl stopped)"
    return 1
  fi
  ms=$((($(date +%s%N) - RELOAD_NS) / 1000000))
  size=$(stat -c %s "$T_TMP/$name.bin" 2>/dev/null || echo 0)
  err=$(tr -d '\n' <"$T_TMP/$name.err")
  echo "# curl exit ${SLOW_RC[$name]} about $ms ms after the reload, $size bytes: $err"
  if ((${SLOW_RC[$name]} != 56)) || [[ ${err,,} != *"reset by peer"* ]]; then
    gone_wire
    echo "download $name: curl exit ${SLOW_RC[$name]} ($err), expected 56 (connection reset)"
    return 1
  fi
  ((size < ${SLOW_BYTES[$name]})) || {
    echo "download $name got all $size bytes despite the reset"
    return 1
  }
  ((ms <= limit * 1000)) || {
    echo "the reset came $ms ms after the reload, expected within $limit s"
    return 1
  }
}
check gone_download_reset_within_3s reset_quickly gone 3

STATS_A1=""
check gone_stats_after snap_stats STATS_A1
check gone_counted_backend_gone stat_grew "$STATS_A0" "$STATS_A1" flows.backend_gone 1
# The backend spoke first after the reload, so its segment became the client's reset.
check gone_reset_sent stat_grew "$STATS_A0" "$STATS_A1" fwd.reset_to_client 1

# New connections avoid the removed backend.
check gone_20_new_connections get_many gone_after 20 "http://$WEB4/"
check gone_backend_gets_no_new_connections never_from gone_after "${SLOW_BE[gone]:-none}"

# --- (b) a serving-terminating endpoint keeps its flows, gets no new ones --------------------

check all_ready_again set_endpoints be1=ready
# 6 MB at 1 MB/s: 6 s, across the reload and the new connections below.
check term_download_started slow_start term 6000000 1000000 "$WEB4"
STATS_B0=""
check term_stats_before snap_stats STATS_B0
check term_reload_marks_its_backend set_endpoints "${SLOW_BE[term]:-none}=terminating"
check term_download_running_after_reload slow_running term
check term_30_new_connections get_many term_after 30 "http://$WEB4/"
check term_backend_gets_no_new_connections never_from term_after "${SLOW_BE[term]:-none}"
check term_10_new_connections_v6 get_many term_after6 10 "http://[$WEB6]/" -g
check term_backend_gets_no_new_connections_v6 never_from term_after6 "${SLOW_BE[term]:-none}"
check term_download_intact slow_intact term 30
STATS_B1=""
check term_stats_after snap_stats STATS_B1
check term_no_flow_lost same_counter "$STATS_B0" "$STATS_B1" flows.backend_gone

# --- (c) two workers -------------------------------------------------------------------------

check one_worker_clean_stop stop_portico
cp "$PORTICO_LOG" "$T_TMP/portico-one-worker.log"
sed 's/lcores: "0-1"/lcores: "0@0,1@1,2@1"/' "$TEMPLATE" >"$CONF2"
require two_workers_config grep -q 'lcores: "0@0,1@1,2@1"' "$CONF2"
require two_workers_ready start_portico "$CONF2"
check two_workers_named bash -c 'grep -q "event=ready .*workers=1,2 " "$0" ||
  { grep "event=ready" "$0"; echo "ready line does not name workers 1,2"; exit 1; }' \
  "$PORTICO_LOG"

check two_workers_200_connections get_many w200 200 "http://$WEB4/"
check two_workers_200_spread_over_3 distinct_backends "$T_TMP/w200.out" 3
check two_workers_30_connections_v6 get_many w6 30 "http://[$WEB6]/" -g
check two_workers_udp_30_sockets udp_spread w_udp 30
check two_workers_download_20MB_intact download_intact w20m 20971520 \
  "http://$WEB4/download?bytes=20971520"
check two_workers_icmp_captures icmp_captures w2
check two_workers_icmp_download_started slow_start w_icmp 5000000 500000 "$WEB4"
check two_workers_icmp_flow_ports flow_ports w_icmp
check two_workers_icmp_to_flow_backend icmp_to_backend w_icmp
check two_workers_icmp_to_client icmp_to_client w_icmp
check two_workers_icmp_download_intact slow_intact w_icmp 30
STATS_C=""
check two_workers_stats snap_stats STATS_C
echo "# $STATS_C"
check two_workers_still_running portico_running
check two_workers_clean_stop stop_portico

# handoffs_when_spread: from the per-worker lines of the summary. When both workers received
# client traffic (each created flows) and frames, some backend replies reached the worker not
# owning their SNAT port: handoff.in > 0. If the kernel kept everything on one worker, there is
# nothing to hand over; say so and pass.
handoffs_when_spread() {
  local lines l lc rx fnew hin hout full busy=0 tin=0 tout=0
  lines=$(grep -E 'event=lcore_stats lcore=(1|2) ' "$PORTICO_LOG")
  (($(grep -c . <<<"$lines") == 2)) || {
    grep -E 'event=lcore_stats' "$PORTICO_LOG" | cut -c1-200
    echo "expected lcore_stats lines for lcores 1 and 2"
    return 1
  }
  while IFS= read -r l; do
    lc=$(stat_value "$l" lcore)
    rx=$(stat_value "$l" rx)
    fnew=$(stat_value "$l" flows.new)
    hout=$(stat_value "$l" handoff.out)
    hin=$(stat_value "$l" handoff.in)
    full=$(stat_value "$l" drop.handoff_full)
    echo "# worker lcore $lc: rx=$rx flows.new=$fnew handoff.out=$hout handoff.in=$hin" \
      "drop.handoff_full=$full"
    ((${rx:-0} > 0 && ${fnew:-0} > 0)) && busy=$((busy + 1))
    tin=$((tin + ${hin:-0}))
    tout=$((tout + ${hout:-0}))
  done <<<"$lines"
  if ((busy < 2)); then
    echo "# only $busy worker(s) got client flows: the kernel did not spread them; handoff" \
      "not required (handoff.in=$tin)"
    return 0
  fi
  ((tin > 0)) || {
    echo "both workers created flows but handoff.in=$tin (handoff.out=$tout): replies never" \
      "crossed workers"
    return 1
  }
  echo "# handoff.out=$tout handoff.in=$tin"
}
check two_workers_handoff_when_spread handoffs_when_spread
handoffs_when_spread 2>&1 | grep '^#'
check two_workers_no_handoff_drops bash -c '
  v=$(grep -E "event=summary" "$0" | grep -oE "drop\.handoff_full=[0-9]+" | head -n 1)
  [[ $v == drop.handoff_full=0 ]] || { echo "summary: ${v:-no drop.handoff_full}"; exit 1; }' \
  "$PORTICO_LOG"
finish
