#!/usr/bin/env bash
# Self-test of tests/system/lib_bgp.sh, without Portico: a GoBGP "stand-in" in the testbed's
# client namespace (198.51.100.2 / 2001:db8:100::2, AS 64512) plays the speaker and announces
# 203.0.113.10/32 and 2001:db8:200::10/128 with communities 64512:100 and no-export and large
# community 64512:1:2 (and local-pref 150 on iBGP), holding both addresses on its lo, while BIRD,
# GoBGP and FRR take turns in the router namespace. Checks that each daemon's sessions come up
# (v4 and v6, passive and active, MD5, iBGP, graceful restart), that bgp_routes prints the
# same normalized lines for all three, that BIRD and FRR install the routes so a far client
# reaches the stand-in through the router (and that it does not when GoBGP, which installs
# nothing, is the router), and that the withdrawal and capture helpers can fail.
#
#   sudo tests/system/bgp/selftest.sh          (testbed prefix $TB_PREFIX, default "bt")
#
# Not named test_*.sh: run.sh does not run it. Same output contract as the system tests.
# shellcheck source=tests/system/lib.sh disable=SC2317
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/system/lib_bgp.sh
. "$(dirname "$0")/../lib_bgp.sh"

SPK4=${TB_ADDR4[client]} # the stand-in speaker
SPK6=${TB_ADDR6[client]}
RTR4=${TB_ADDR4[router]}
RTR6=${TB_ADDR6[router]}
VIP4=203.0.113.10
VIP6=2001:db8:200::10
COMMS="communities=64512:100,65535:65281 large=64512:1:2"
EBGP4="$VIP4/32 nexthop=$SPK4 aspath=64512 $COMMS"
EBGP6="$VIP6/128 nexthop=$SPK6 aspath=64512 $COMMS"
IBGP4="$VIP4/32 nexthop=$SPK4 $COMMS localpref=150"
IBGP6="$VIP6/128 nexthop=$SPK6 $COMMS localpref=150"
PEERS=(--peer "$SPK4" --peer "$SPK6")

selftest_testbed() {
  P=${TB_PREFIX:-bt}
  "$TESTBED" up --prefix "$P" >"$T_TMP/testbed.out" 2>&1 || {
    cat "$T_TMP/testbed.out"
    return 1
  }
}

have_commands() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]} == 0)) || {
    echo "missing: ${missing[*]} (run scripts/deps.sh)"
    return 1
  }
}
require commands_installed have_commands bird birdc gobgpd gobgp vtysh /usr/lib/frr/bgpd \
  /usr/lib/frr/zebra tshark tcpdump
require testbed_up selftest_testbed
require far_up far_up

# --- the stand-in speaker ------------------------------------------------------------------------

SPK_PID=""
spk_gobgp() { in_ns client gobgp -u 127.0.0.1 -p 50051 "$@"; }

# standin_start ROUTER_AS [PASSWORD]: gobgpd in the client namespace, active, peering with the
# router's two addresses, then the two routes (local-pref 150 when iBGP).
standin_start() {
  local ras=$1 pw=${2:-} dir="$T_TMP/standin" lp=()
  mkdir -p "$dir"
  _gobgp_conf 64512 "$SPK4" "$ras" 0 "$pw" 0 "$RTR4" "$RTR6" >"$dir/gobgpd.toml"
  ip netns exec "$P-client" gobgpd -f "$dir/gobgpd.toml" -p --api-hosts 127.0.0.1:50051 \
    --pprof-disable </dev/null >>"$dir/gobgpd.log" 2>&1 &
  SPK_PID=$!
  BG_PIDS+=("$SPK_PID")
  wait_until 10 spk_gobgp global >/dev/null 2>&1 || {
    tail -n 5 "$dir/gobgpd.log"
    echo "stand-in gobgpd does not answer"
    return 1
  }
  ((ras == 64512)) && lp=(local-pref 150)
  spk_gobgp global rib -a ipv4 add "$VIP4/32" community 64512:100,no-export \
    large-community 64512:1:2 "${lp[@]}" || return 1
  spk_gobgp global rib -a ipv6 add "$VIP6/128" community 64512:100,no-export \
    large-community 64512:1:2 "${lp[@]}"
}

standin_stop() {
  stop_pid "$SPK_PID" 5
  SPK_PID=""
}

# The stand-in holds the announced addresses and routes the far network back via the router
# (the client's on-link 203.0.113.0/24 would swallow the replies otherwise).
standin_host() {
  in_ns client ip addr add "$VIP4/32" dev lo &&
    in_ns client ip -6 addr add "$VIP6/128" dev lo &&
    in_ns client ip route add "$FAR_NET4" via "$RTR4" &&
    in_ns client ip -6 route add "$FAR_NET6" via "$RTR6"
}
require standin_host standin_host

far_ping() {
  local fam=-4
  [[ $1 == *:* ]] && fam=-6
  in_far ping "$fam" -n -c 2 -i 0.2 -W 2 "$1" || {
    echo "the far client cannot ping $1"
    return 1
  }
}

far_no_ping() {
  local fam=-4
  [[ $1 == *:* ]] && fam=-6
  ! in_far ping "$fam" -n -c 2 -i 0.2 -W 1 "$1" >/dev/null 2>&1 || {
    echo "the far client pings $1"
    return 1
  }
}

# expect_fail CMD...: CMD must fail (a helper that cannot fail proves nothing).
expect_fail() {
  if "$@"; then
    echo "'$*' passed but should have failed"
    return 1
  fi
  echo "# failed as it should"
}

sessions_up() {
  bgp_session_up "$1" "$SPK4" && bgp_session_up "$1" "$SPK6"
}

# --- BIRD: passive eBGP, kernel routes, far client, withdrawal, restart ---------------------------

require bird_start start_bird --as 64500 --peer-as 64512 "${PEERS[@]}" --passive
require standin_start_ebgp standin_start 64500
check bird_sessions_up sessions_up bird
check bird_routes_v4 bgp_routes_are bird ipv4 "$EBGP4"
check bird_routes_v6 bgp_routes_are bird ipv6 "$EBGP6"
check bird_kernel_v4 kernel_route_via "$VIP4/32" "$SPK4"
check bird_kernel_v6 kernel_route_via "$VIP6/128" "$SPK6"
check bird_far_ping_v4 far_ping "$VIP4"
check bird_far_ping_v6 far_ping "$VIP6"
check routes_are_can_fail expect_fail bgp_routes_are bird ipv4 1 "$IBGP4"

PCAP1="$T_TMP/router-withdraw.pcap"
require capture1 start_capture router "$PCAP1" tcp port 179
withdraw_v4() { spk_gobgp global rib -a ipv4 del "$VIP4/32"; }
check standin_withdraws_v4 withdraw_v4
check bird_v4_withdrawn bgp_route_absent bird ipv4 "$VIP4/32" 5
check bird_v6_kept bgp_routes_are bird ipv6 "$EBGP6"
check bird_far_no_ping_after_withdraw far_no_ping "$VIP4"
standin_stop
check bird_v6_gone_after_standin_stop bgp_route_absent bird ipv6 "$VIP6/128" 5
sleep 1 # the capture's last packets
check capture_withdraw_before_close bgp_withdrawn_before_close "$PCAP1" "$SPK4" "$VIP4/32"
check capture_notification_v6 bgp_withdrawn_before_close "$PCAP1" "$SPK6" "$VIP6/128"

require standin_start_again standin_start 64500
check bird_sessions_up_again sessions_up bird
check bird_restart restart_router bird
check bird_sessions_after_restart sessions_up bird
check bird_routes_after_restart bgp_routes_are bird ipv4 "$EBGP4"

# --- BIRD: iBGP (local-pref), then MD5 -----------------------------------------------------------

standin_stop
require bird_start_ibgp start_bird --as 64512 --peer-as 64512 "${PEERS[@]}" --passive
require standin_start_ibgp standin_start 64512
check bird_ibgp_sessions_up sessions_up bird
check bird_ibgp_routes_v4 bgp_routes_are bird ipv4 "$IBGP4"
check bird_ibgp_routes_v6 bgp_routes_are bird ipv6 "$IBGP6"

standin_stop
require bird_start_md5 start_bird "${PEERS[@]}" --passive --password portico-md5
require standin_start_md5 standin_start 64500 portico-md5
check bird_md5_sessions_up sessions_up bird
check bird_md5_routes_v4 bgp_routes_are bird ipv4 "$EBGP4"
require bird_start_md5_wrong start_bird "${PEERS[@]}" --passive --password wrong-key
check bird_md5_wrong_key_v4_not_up bgp_session_not_up bird "$SPK4" 8
check bird_md5_wrong_key_v6_not_up bgp_session_not_up bird "$SPK6" 1
check bird_md5_wrong_key_no_routes bgp_routes_are bird ipv4 0
check session_up_can_fail expect_fail bgp_session_up bird "$SPK4" 1
standin_stop
stop_bird
check far_no_ping_without_router far_no_ping "$VIP4"

# --- GoBGP: active eBGP; it installs nothing ------------------------------------------------------

require gobgp_start start_gobgp "${PEERS[@]}"
require standin_start_gobgp standin_start 64500
check gobgp_sessions_up sessions_up gobgp
check gobgp_routes_v4 bgp_routes_are gobgp ipv4 "$EBGP4"
check gobgp_routes_v6 bgp_routes_are gobgp ipv6 "$EBGP6"
check gobgp_far_no_ping far_no_ping "$VIP4"

# A speaker killed outright withdraws nothing: the capture check must say so.
PCAP2="$T_TMP/router-kill.pcap"
require capture2 start_capture router "$PCAP2" tcp port 179
# (waited for with stderr closed: bash reports a job killed by SIGKILL otherwise)
{
  kill -KILL "$SPK_PID"
  wait "$SPK_PID"
} 2>/dev/null
standin_stop
check gobgp_routes_gone_after_kill bgp_routes_are gobgp ipv4 10
sleep 1
check capture_check_can_fail expect_fail bgp_withdrawn_before_close "$PCAP2" "$SPK4" "$VIP4/32"

require gobgp_start_ibgp start_gobgp --as 64512 --peer-as 64512 "${PEERS[@]}"
require standin_start_gobgp_ibgp standin_start 64512
check gobgp_ibgp_sessions_up sessions_up gobgp
check gobgp_ibgp_routes_v4 bgp_routes_are gobgp ipv4 "$IBGP4"
check gobgp_ibgp_routes_v6 bgp_routes_are gobgp ipv6 "$IBGP6"
standin_stop
stop_gobgp

# --- FRR: active eBGP with graceful restart, then iBGP -------------------------------------------

require frr_start start_frr "${PEERS[@]}" --graceful-restart
require standin_start_frr standin_start 64500
check frr_sessions_up sessions_up frr
check frr_routes_v4 bgp_routes_are frr ipv4 "$EBGP4"
check frr_routes_v6 bgp_routes_are frr ipv6 "$EBGP6"
check frr_kernel_v4 kernel_route_via "$VIP4/32" "$SPK4"
check frr_kernel_v6 kernel_route_via "$VIP6/128" "$SPK6"
check frr_far_ping_v4 far_ping "$VIP4"
check frr_far_ping_v6 far_ping "$VIP6"
check frr_restart restart_router frr
check frr_sessions_after_restart sessions_up frr
check frr_routes_after_restart bgp_routes_are frr ipv6 "$EBGP6"

standin_stop
require frr_start_ibgp start_frr --as 64512 --peer-as 64512 "${PEERS[@]}" --passive
require standin_start_frr_ibgp standin_start 64512
check frr_ibgp_sessions_up sessions_up frr
check frr_ibgp_routes_v4 bgp_routes_are frr ipv4 "$IBGP4"
check frr_ibgp_routes_v6 bgp_routes_are frr ipv6 "$IBGP6"

standin_stop
require frr_start_md5 start_frr "${PEERS[@]}" --password portico-md5
require standin_start_frr_md5 standin_start 64500 portico-md5
check frr_md5_sessions_up sessions_up frr
check frr_md5_routes_v6 bgp_routes_are frr ipv6 "$EBGP6"
standin_stop
stop_frr
check frr_stopped_kernel_route_gone expect_fail kernel_route_via "$VIP4/32" "$SPK4" 2

check far_down far_down
finish
