#!/usr/bin/env bash
# Malformed frames from the client (scapy): Portico drops each under its named reason, keeps
# running and keeps answering. See malformed_frames.py for the frames.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

VIP4=203.0.113.10
VIP6=2001:db8:200::10
COUNT=30 # of each of the 7 kinds: 210 frames

require portico_built portico_built
require testbed_up testbed_up
require portico_ready start_portico "$DEMO_CONFIG"
MAC=$(portico_mac)

check ping_vip4_before ping_ok "$VIP4" 2
STATS0=""
check stats_before snap_stats STATS0

SENT="$T_TMP/sent.json"
send_malformed() {
  in_ns client timeout 60 "$PYTHON" "$SYS_DIR/malformed_frames.py" --iface eth0 \
    --dst-mac "$MAC" --src-mac "${TB_MAC[client]}" --src4 "${TB_ADDR4[client]}" \
    --src6 "${TB_ADDR6[client]}" --vip4 "$VIP4" --vip6 "$VIP6" --count "$COUNT" >"$SENT" || return 1
  cat "$SENT"
}
check send_malformed send_malformed
sleep 0.5 # let the last frames through the poll loop

check still_running portico_running
check ping_vip4_after ping_ok "$VIP4" 3
check ping_vip6_after ping_ok "$VIP6" 3
check arp_vip4_after arp_from "$VIP4" "$MAC" 2

STATS1=""
check stats_after snap_stats STATS1
echo "# $STATS1"

# Expected growth per reason, from what the sender says it sent.
sent_for() {
  "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["by_reason"].get(sys.argv[2], 0))' \
    "$SENT" "$1" 2>/dev/null || echo 0
}
for reason in arp_malformed ipv4_malformed ipv4_bad_checksum icmpv6_malformed ndp_invalid \
  unsupported_ethertype; do
  n=$(sent_for "$reason")
  ((n > 0)) || n=$COUNT
  check "drop_$reason" stat_grew "$STATS0" "$STATS1" "drop.$reason" "$n"
done
check drop_total stat_grew "$STATS0" "$STATS1" dropped $((COUNT * 7))
check rx_counted stat_grew "$STATS0" "$STATS1" rx $((COUNT * 7))

# None of them may have been answered: replies grew only by what the pings and arping above took.
no_extra_replies() {
  local k a b max=$1
  for k in reply.arp reply.nd reply.echo reply.echo6; do
    a=$(stat_value "$STATS0" "$k")
    b=$(stat_value "$STATS1" "$k")
    ((${b:-0} - ${a:-0} <= max)) || {
      echo "$k grew by $((${b:-0} - ${a:-0})), more than the $max the probes account for"
      return 1
    }
  done
}
check malformed_not_answered no_extra_replies 10

check clean_stop stop_portico
finish
