#!/usr/bin/env bash
# BGP (tests/system/configs/bgp.yaml): Portico's speaker against real routers in the testbed's
# router namespace (tests/system/lib_bgp.sh): BIRD 2 (passive: Portico opens the sessions),
# GoBGP 3 and FRR 8 (active: they connect to Portico, which accepts), one session per address
# family. Each receives bgp/web's VIPs, 203.0.113.20/32 via 198.51.100.10 and
# 2001:db8:200::20/128 via 2001:db8:100::10, AS path 64512, communities 64512:100 and
# 65535:65281 (no-export, written as a Community alias), large community 64512:1:2, and nothing
# else (bgp/empty has no endpoint: its 203.0.113.24 stays unannounced). With BIRD: a far client
# that knows only the router reaches the VIP over HTTP (v4 and v6); a reload deleting the
# Service's EndpointSlices, then one deleting the Service, withdraws its routes within 10 s;
# BIRD restarted gets its sessions and routes back; TCP-MD5 with the right key comes up and with
# a wrong one does not. With FRR over iBGP (AS 64512 both ends): LOCAL_PREF 150 arrives (and no
# AS path); then SIGTERM: Portico withdraws its routes (or ends the session with a
# NOTIFICATION) before it closes the connection, checked on the wire, and exits 0.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/system/lib_bgp.sh
. "$(dirname "$0")/lib_bgp.sh"

NODE4=$TB_NODE4 # Portico's end of every session, and the next hop it announces
NODE6=$TB_NODE6
WEB4=203.0.113.20 # bgp/web, announced
WEB6=2001:db8:200::20
EMPTY4=203.0.113.24 # bgp/empty, no endpoints: never announced
MD5_KEY=portico-md5-key
COMMS="communities=64512:100,65535:65281 large=64512:1:2"
EBGP4="$WEB4/32 nexthop=$NODE4 aspath=64512 $COMMS"
EBGP6="$WEB6/128 nexthop=$NODE6 aspath=64512 $COMMS"
IBGP4="$WEB4/32 nexthop=$NODE4 $COMMS localpref=150"
IBGP6="$WEB6/128 nexthop=$NODE6 $COMMS localpref=150"
CONF="$T_TMP/bgp.yaml" # what Portico runs; every reload rewrites it from configs/bgp.yaml

have_commands() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]} == 0)) || {
    echo "missing: ${missing[*]} (run scripts/deps.sh)"
    return 1
  }
}

# bgp_variant [ibgp] [md5] [no-slices] [no-web]: write $CONF from configs/bgp.yaml: both
# BGPPeers iBGP (peerASN 64512), both with the MD5 key, without bgp/web's EndpointSlices,
# without the bgp/web Service. Every edit must find what it edits.
bgp_variant() {
  "$PYTHON" - "$SYS_DIR/configs/bgp.yaml" "$CONF" "$MD5_KEY" "$@" <<'PY'
import sys
src, out, key, edits = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
unknown = edits - {"ibgp", "md5", "no-slices", "no-web"}
if unknown:
    sys.exit("unknown variant %s" % sorted(unknown))
docs = open(src).read().split("\n---\n")
def named(doc, kind, names):
    lines = doc.split("\n")
    return "kind: %s" % kind in lines and any("  name: %s" % n in lines for n in names)
kept, peers, slices, services = [], 0, 0, 0
for doc in docs:
    if named(doc, "BGPPeer", ["router-v4", "router-v6"]):
        if "\n  peerASN: 64500" not in doc:
            sys.exit("BGPPeer without 'peerASN: 64500' in " + src)
        peers += 1
        extra = "\n  password: %s" % key if "md5" in edits else ""
        asn = "64512" if "ibgp" in edits else "64500"
        doc = doc.replace("\n  peerASN: 64500", "\n  peerASN: %s%s" % (asn, extra))
    if "no-slices" in edits and named(doc, "EndpointSlice", ["web-v4", "web-v6"]):
        slices += 1
        continue
    if "no-web" in edits and named(doc, "Service", ["web"]):
        services += 1
        continue
    kept.append(doc)
if peers != 2:
    sys.exit("found %d of the 2 BGPPeers in %s" % (peers, src))
if "no-slices" in edits and slices != 2:
    sys.exit("found %d of the 2 web EndpointSlices in %s" % (slices, src))
if "no-web" in edits and services != 1:
    sys.exit("found %d web Services in %s" % (services, src))
open(out, "w").write("\n---\n".join(kept))
PY
}

# reload_variant [EDITS...]: rewrite $CONF, SIGHUP, event=reload_ok.
reload_variant() {
  bgp_variant "$@" || return 1
  reload_ok
}

# far_get URL: one GET from the far client (through the router); a backend must answer.
far_get() {
  local body
  body=$(in_far curl -sS -g --fail --connect-timeout 2 --max-time 5 "$1" 2>&1) || {
    printf '%s\n' "$body"
    echo "the far client got no answer from $1"
    return 1
  }
  [[ $body =~ ^be[1-3]$ ]] || {
    echo "$1 answered '$body', expected a backend's name (be1..be3)"
    return 1
  }
  echo "# $1 answered by $body"
}

# The VIPs this file pins (a change to the file or to IPAM fails here, clearly).
bgp_allocation() {
  "$PORTICO" check --config "$CONF" -o json >"$T_TMP/check.json" || return 1
  local got
  got=$(service_ips "$T_TMP/check.json" bgp/web | tr '\n' ' ')
  [[ ${got% } == "$WEB4 $WEB6" ]] || {
    echo "bgp/web: got '${got% }', expected '$WEB4 $WEB6'"
    return 1
  }
  got=$(service_ips "$T_TMP/check.json" bgp/empty | tr '\n' ' ')
  [[ ${got% } == "$EMPTY4" ]] || {
    echo "bgp/empty: got '${got% }', expected '$EMPTY4'"
    return 1
  }
}

# One daemon's view: both sessions with Portico, exactly the web routes (so nothing for
# bgp/empty either), and bgp/empty's VIP explicitly absent.
# router_sees_portico NAME DAEMON WANT4 WANT6 (NAME prefixes the checks' names)
router_sees_portico() {
  local n=$1 d=$2 want4=$3 want6=$4
  check "${n}_session_v4" bgp_session_up "$d" "$NODE4"
  # Both sessions start together: the second has had most of its time already.
  check "${n}_session_v6" bgp_session_up "$d" "$NODE6" 15
  check "${n}_routes_v4" bgp_routes_are "$d" ipv4 10 "$want4"
  check "${n}_routes_v6" bgp_routes_are "$d" ipv6 5 "$want6"
  check "${n}_empty_service_not_announced" bgp_route_absent "$d" ipv4 "$EMPTY4/32"
}

require portico_built portico_built
require routers_installed have_commands bird birdc gobgpd gobgp vtysh /usr/lib/frr/bgpd \
  /usr/lib/frr/zebra curl tcpdump tshark
require config_written bgp_variant
check config_allocation bgp_allocation

require testbed_up testbed_up
require far_client far_up
require backends_listening start_backends --tcp 8080

# --- BIRD: passive, so Portico connects. Started first: Portico's first attempt finds it. ------

require bird_start start_bird --passive
require portico_ready start_portico "$CONF"
# Nothing below means anything without one session: stop here rather than time out on each.
require bird_session_v4 bgp_session_up bird "$NODE4"
check bird_session_v6 bgp_session_up bird "$NODE6" 15
check bird_routes_v4 bgp_routes_are bird ipv4 10 "$EBGP4"
check bird_routes_v6 bgp_routes_are bird ipv6 5 "$EBGP6"
check bird_empty_service_not_announced bgp_route_absent bird ipv4 "$EMPTY4/32"

# BIRD installs what it learns (protocol kernel): the far client reaches the VIP through it.
check bird_kernel_route_v4 kernel_route_via "$WEB4/32" "$NODE4"
check bird_kernel_route_v6 kernel_route_via "$WEB6/128" "$NODE6"
check far_client_http_v4 far_get "http://$WEB4/"
check far_client_http_v6 far_get "http://[$WEB6]/"

# Withdrawal by reload: the Service loses its endpoints, then the Service itself goes.
check reload_without_endpointslices reload_variant no-slices
check no_endpoints_withdraws_v4 bgp_route_absent bird ipv4 "$WEB4/32" 10
check no_endpoints_withdraws_v6 bgp_route_absent bird ipv6 "$WEB6/128" 10
check reload_endpointslices_back reload_variant
check endpoints_back_announced_v4 bgp_routes_are bird ipv4 10 "$EBGP4"
check endpoints_back_announced_v6 bgp_routes_are bird ipv6 10 "$EBGP6"
check reload_without_service reload_variant no-web
check service_deleted_withdraws_v4 bgp_route_absent bird ipv4 "$WEB4/32" 10
check service_deleted_withdraws_v6 bgp_route_absent bird ipv6 "$WEB6/128" 10
check reload_service_back reload_variant
check service_back_announced_v4 bgp_routes_are bird ipv4 10 "$EBGP4"
check service_back_announced_v6 bgp_routes_are bird ipv6 10 "$EBGP6"

# The router restarts (BIRD sends a Cease and goes away): Portico reconnects.
check bird_restart restart_router bird
check bird_restarted_session_v4 bgp_session_up bird "$NODE4"
check bird_restarted_session_v6 bgp_session_up bird "$NODE6" 15
check bird_restarted_routes_v4 bgp_routes_are bird ipv4 10 "$EBGP4"
check bird_restarted_routes_v6 bgp_routes_are bird ipv6 5 "$EBGP6"

# TCP-MD5: the router first (Portico's unsigned attempts are dropped meanwhile), then Portico's
# BGPPeers get the key; then the router with another key: no session.
check bird_start_md5 start_bird --passive --password "$MD5_KEY"
check reload_md5 reload_variant md5
check bird_md5_session_v4 bgp_session_up bird "$NODE4"
check bird_md5_session_v6 bgp_session_up bird "$NODE6" 15
check bird_md5_routes_v4 bgp_routes_are bird ipv4 10 "$EBGP4"
check bird_start_wrong_md5 start_bird --passive --password "wrong-$MD5_KEY"
check bird_wrong_md5_no_session_v4 bgp_session_not_up bird "$NODE4" 10
check bird_wrong_md5_no_session_v6 bgp_session_not_up bird "$NODE6" 1
check bird_wrong_md5_no_routes bgp_routes_are bird ipv4 0
stop_bird

# --- GoBGP: active; Portico (now without the key) accepts the connection. ---------------------

check reload_without_md5 reload_variant
check gobgp_start start_gobgp
router_sees_portico gobgp gobgp "$EBGP4" "$EBGP6"
stop_gobgp

# --- FRR: active, eBGP; then iBGP for LOCAL_PREF. ------------------------------------------------

check frr_start start_frr
router_sees_portico frr frr "$EBGP4" "$EBGP6"
check frr_kernel_route_v4 kernel_route_via "$WEB4/32" "$NODE4"
stop_frr

check reload_ibgp reload_variant ibgp
check frr_start_ibgp start_frr --as 64512 --peer-as 64512
router_sees_portico frr_ibgp frr "$IBGP4" "$IBGP6"

# --- SIGTERM: the routes go before the connection does. -----------------------------------------

PCAP="$T_TMP/router-bgp.pcap"
check capture_started start_capture router "$PCAP" tcp port 179
check routes_present_before_sigterm bgp_routes_are frr ipv4 0 "$IBGP4"
check portico_sigterm_exit_0 stop_portico
check sigterm_routes_gone_v4 bgp_routes_are frr ipv4 3
check sigterm_routes_gone_v6 bgp_routes_are frr ipv6 3
sleep 1 # tcpdump writes per packet (-U); let the last ones land
check sigterm_withdrawn_before_close_v4 bgp_withdrawn_before_close "$PCAP" "$NODE4" "$WEB4/32"
check sigterm_withdrawn_before_close_v6 bgp_withdrawn_before_close "$PCAP" "$NODE6" "$WEB6/128"

finish
