#!/usr/bin/env bash
# BGP (tests/system/configs/bgp.yaml): Portico's speaker against real routers in the testbed's
# router namespace (tests/system/lib_bgp.sh): BIRD 2 (passive: Portico opens the sessions),
# GoBGP 3 and FRR 8 (active: they connect to Portico, which accepts), one session per address
# family. Each receives bgp/web's VIPs, 203.0.113.20/32 via 198.51.100.10 and
# 2001:db8:200::20/128 via 2001:db8:100::10, Gateway bgp/gw's pool addresses 203.0.113.10/32 and
# 2001:db8:200::10/128 the same way, AS path 64512, communities 64512:100 and 65535:65281
# (no-export, written as a Community alias), large community 64512:1:2, and nothing else
# (bgp/empty has no endpoint: its 203.0.113.24 stays unannounced). With BIRD: a far client that
# knows only the router reaches the VIP over HTTP (v4 and v6), and the Gateway for Host
# app.example (another host gets a 404 from it); a reload deleting the Service's
# EndpointSlices, then one deleting the Service, withdraws its routes within 10 s, and one
# deleting the EndpointSlices behind the Gateway's HTTPRoute withdraws the Gateway's; BIRD
# restarted gets its sessions and routes back; TCP-MD5 with the right key comes up and with a
# wrong one does not. With FRR over iBGP (AS 64512 both ends): LOCAL_PREF 150 arrives (and no
# AS path); then SIGTERM: Portico withdraws its routes (or ends the session with a
# NOTIFICATION) before it closes the connection, checked on the wire, and exits 0. Last, graceful
# restart (RFC 4724, enableGracefulRestart on both BGPPeers, FRR with `bgp graceful-restart`):
# both ends negotiate it; SIGTERM: Portico exits 0 within 2 s without a NOTIFICATION, FRR keeps
# every route marked stale for 5 s (and in its kernel); Portico started again: the sessions come
# back and the routes are fresh.
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
GW4=203.0.113.10 # Gateway bgp/gw, from the pool (IPAM's first free address of each family)
GW6=2001:db8:200::10
GW_HOST=app.example # the hostname of HTTPRoute bgp/app
MD5_KEY=portico-md5-key
COMMS="communities=64512:100,65535:65281 large=64512:1:2"
WEB_EBGP4="$WEB4/32 nexthop=$NODE4 aspath=64512 $COMMS"
WEB_EBGP6="$WEB6/128 nexthop=$NODE6 aspath=64512 $COMMS"
GW_EBGP4="$GW4/32 nexthop=$NODE4 aspath=64512 $COMMS"
GW_EBGP6="$GW6/128 nexthop=$NODE6 aspath=64512 $COMMS"
# Everything a router gets (bgp_routes_are takes the lines in any order).
EBGP4=("$GW_EBGP4" "$WEB_EBGP4")
EBGP6=("$GW_EBGP6" "$WEB_EBGP6")
IBGP4=("$GW4/32 nexthop=$NODE4 $COMMS localpref=150"
  "$WEB4/32 nexthop=$NODE4 $COMMS localpref=150")
# shellcheck disable=SC2034 # read through router_sees_portico's nameref
IBGP6=("$GW6/128 nexthop=$NODE6 $COMMS localpref=150"
  "$WEB6/128 nexthop=$NODE6 $COMMS localpref=150")
CONF="$T_TMP/bgp.yaml" # what Portico runs; every reload rewrites it from configs/bgp.yaml

have_commands() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || missing+=("$c"); done
  ((${#missing[@]} == 0)) || {
    echo "missing: ${missing[*]} (run scripts/deps.sh)"
    return 1
  }
}

# bgp_variant [ibgp] [md5] [gr] [no-slices] [no-web] [no-app-slices]: write $CONF from
# configs/bgp.yaml: both BGPPeers iBGP (peerASN 64512), both with the MD5 key, both with
# enableGracefulRestart, without bgp/web's EndpointSlices, without the bgp/web Service, without
# the EndpointSlices of bgp/app (the Gateway's backend). Every edit must find what it edits.
bgp_variant() {
  "$PYTHON" - "$SYS_DIR/configs/bgp.yaml" "$CONF" "$MD5_KEY" "$@" <<'PY'
import sys
src, out, key, edits = sys.argv[1], sys.argv[2], sys.argv[3], set(sys.argv[4:])
unknown = edits - {"ibgp", "md5", "gr", "no-slices", "no-web", "no-app-slices"}
if unknown:
    sys.exit("unknown variant %s" % sorted(unknown))
docs = open(src).read().split("\n---\n")
def named(doc, kind, names):
    lines = doc.split("\n")
    return "kind: %s" % kind in lines and any("  name: %s" % n in lines for n in names)
kept, peers, slices, services, app_slices = [], 0, 0, 0, 0
for doc in docs:
    if named(doc, "BGPPeer", ["router-v4", "router-v6"]):
        if "\n  peerASN: 64500" not in doc:
            sys.exit("BGPPeer without 'peerASN: 64500' in " + src)
        peers += 1
        extra = "\n  password: %s" % key if "md5" in edits else ""
        if "gr" in edits:
            extra += "\n  enableGracefulRestart: true"
        asn = "64512" if "ibgp" in edits else "64500"
        doc = doc.replace("\n  peerASN: 64500", "\n  peerASN: %s%s" % (asn, extra))
    if "no-slices" in edits and named(doc, "EndpointSlice", ["web-v4", "web-v6"]):
        slices += 1
        continue
    if "no-web" in edits and named(doc, "Service", ["web"]):
        services += 1
        continue
    if "no-app-slices" in edits and named(doc, "EndpointSlice", ["app-v4", "app-v6"]):
        app_slices += 1
        continue
    kept.append(doc)
if peers != 2:
    sys.exit("found %d of the 2 BGPPeers in %s" % (peers, src))
if "no-slices" in edits and slices != 2:
    sys.exit("found %d of the 2 web EndpointSlices in %s" % (slices, src))
if "no-web" in edits and services != 1:
    sys.exit("found %d web Services in %s" % (services, src))
if "no-app-slices" in edits and app_slices != 2:
    sys.exit("found %d of the 2 app EndpointSlices in %s" % (app_slices, src))
open(out, "w").write("\n---\n".join(kept))
PY
}

# reload_variant [EDITS...]: rewrite $CONF, SIGHUP, event=reload_ok.
reload_variant() {
  bgp_variant "$@" || return 1
  reload_ok
}

# far_get URL [CURL_ARGS...]: one GET from the far client (through the router); a backend must
# answer.
far_get() {
  local body
  body=$(in_far curl -sS -g --fail --connect-timeout 2 --max-time 5 "${@:2}" "$1" 2>&1) || {
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

# far_status URL CODE [CURL_ARGS...]: the far client's GET gets HTTP status CODE.
far_status() {
  local code
  code=$(in_far curl -sS -g -o /dev/null -w '%{http_code}' --connect-timeout 2 --max-time 5 \
    "${@:3}" "$1" 2>&1)
  [[ $code == "$2" ]] || {
    echo "$1 answered with status '$code', expected $2"
    return 1
  }
}

# portico_log_count N REGEX: exactly N lines of Portico's log (since its start) match REGEX.
portico_log_count() {
  local n
  n=$(grep -cE -- "$2" "$PORTICO_LOG")
  ((n == $1)) || {
    grep -E -- "$2" "$PORTICO_LOG" | tail -n 5
    echo "$n log lines match '$2', expected $1"
    return 1
  }
}

# stop_portico_within SECONDS: stop_portico with a shorter limit (it KILLs and fails past it).
stop_portico_within() {
  local PORTICO_STOP_TIMEOUT=$1
  stop_portico
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
  got=$(gateway_ips "$T_TMP/check.json" bgp/gw | tr '\n' ' ')
  [[ ${got% } == "$GW4 $GW6" ]] || {
    echo "Gateway bgp/gw: got '${got% }', expected '$GW4 $GW6'"
    return 1
  }
}

# gateway_ips JSON_FILE NAMESPACE/NAME: the Gateway's status.addresses, one a line.
gateway_ips() {
  "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ns, name = sys.argv[2].split("/")
for o in doc.get("objects", []):
    m = o.get("metadata", {})
    if o.get("kind") == "Gateway" and m.get("namespace") == ns and m.get("name") == name:
        for a in (o.get("status") or {}).get("addresses") or []:
            print(a.get("value", ""))
PY
}

# One daemon's view: both sessions with Portico, exactly the web routes (so nothing for
# bgp/empty either), and bgp/empty's VIP explicitly absent.
# router_sees_portico NAME DAEMON WANT4 WANT6: NAME prefixes the checks' names; WANT4 and WANT6
# name arrays of route lines.
router_sees_portico() {
  local n=$1 d=$2
  local -n want4=$3 want6=$4
  check "${n}_session_v4" bgp_session_up "$d" "$NODE4"
  # Both sessions start together: the second has had most of its time already.
  check "${n}_session_v6" bgp_session_up "$d" "$NODE6" 15
  check "${n}_routes_v4" bgp_routes_are "$d" ipv4 10 "${want4[@]}"
  check "${n}_routes_v6" bgp_routes_are "$d" ipv6 5 "${want6[@]}"
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
check bird_routes_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check bird_routes_v6 bgp_routes_are bird ipv6 5 "${EBGP6[@]}"
check bird_empty_service_not_announced bgp_route_absent bird ipv4 "$EMPTY4/32"

# BIRD installs what it learns (protocol kernel): the far client reaches the VIP through it.
check bird_kernel_route_v4 kernel_route_via "$WEB4/32" "$NODE4"
check bird_kernel_route_v6 kernel_route_via "$WEB6/128" "$NODE6"
check far_client_http_v4 far_get "http://$WEB4/"
check far_client_http_v6 far_get "http://[$WEB6]/"
# The Gateway's addresses come from the pool and go out like the VIPs; its HTTP listener answers
# the far client for the host HTTPRoute bgp/app matches (and only for it).
check bird_kernel_route_gateway_v4 kernel_route_via "$GW4/32" "$NODE4"
check far_client_gateway_http_v4 far_get "http://$GW4/" -H "Host: $GW_HOST"
check far_client_gateway_http_v6 far_get "http://[$GW6]/" -H "Host: $GW_HOST"
check far_client_gateway_other_host_404 far_status "http://$GW4/" 404 -H "Host: other.example"

# Withdrawal by reload: the Service loses its endpoints, then the Service itself goes.
check reload_without_endpointslices reload_variant no-slices
check no_endpoints_withdraws_v4 bgp_route_absent bird ipv4 "$WEB4/32" 10
check no_endpoints_withdraws_v6 bgp_route_absent bird ipv6 "$WEB6/128" 10
check reload_endpointslices_back reload_variant
check endpoints_back_announced_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check endpoints_back_announced_v6 bgp_routes_are bird ipv6 10 "${EBGP6[@]}"
check reload_without_service reload_variant no-web
check service_deleted_withdraws_v4 bgp_route_absent bird ipv4 "$WEB4/32" 10
check service_deleted_withdraws_v6 bgp_route_absent bird ipv6 "$WEB6/128" 10
check reload_service_back reload_variant
check service_back_announced_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check service_back_announced_v6 bgp_routes_are bird ipv6 10 "${EBGP6[@]}"
# The Gateway's HTTPRoute loses its backend's endpoints: its addresses go, the VIPs stay.
check reload_without_gateway_backends reload_variant no-app-slices
check gateway_no_endpoints_withdraws_v4 bgp_route_absent bird ipv4 "$GW4/32" 10
check gateway_no_endpoints_withdraws_v6 bgp_route_absent bird ipv6 "$GW6/128" 10
check gateway_withdrawal_keeps_web_v4 bgp_routes_are bird ipv4 0 "$WEB_EBGP4"
check gateway_withdrawal_keeps_web_v6 bgp_routes_are bird ipv6 0 "$WEB_EBGP6"
check reload_gateway_backends_back reload_variant
check gateway_back_announced_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check gateway_back_announced_v6 bgp_routes_are bird ipv6 10 "${EBGP6[@]}"

# The router restarts (BIRD sends a Cease and goes away): Portico reconnects.
check bird_restart restart_router bird
check bird_restarted_session_v4 bgp_session_up bird "$NODE4"
check bird_restarted_session_v6 bgp_session_up bird "$NODE6" 15
check bird_restarted_routes_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check bird_restarted_routes_v6 bgp_routes_are bird ipv6 5 "${EBGP6[@]}"

# TCP-MD5: the router first (Portico's unsigned attempts are dropped meanwhile), then Portico's
# BGPPeers get the key; then the router with another key: no session.
check bird_start_md5 start_bird --passive --password "$MD5_KEY"
check reload_md5 reload_variant md5
check bird_md5_session_v4 bgp_session_up bird "$NODE4"
check bird_md5_session_v6 bgp_session_up bird "$NODE6" 15
check bird_md5_routes_v4 bgp_routes_are bird ipv4 10 "${EBGP4[@]}"
check bird_start_wrong_md5 start_bird --passive --password "wrong-$MD5_KEY"
check bird_wrong_md5_no_session_v4 bgp_session_not_up bird "$NODE4" 10
check bird_wrong_md5_no_session_v6 bgp_session_not_up bird "$NODE6" 1
check bird_wrong_md5_no_routes bgp_routes_are bird ipv4 0
stop_bird

# --- GoBGP: active; Portico (now without the key) accepts the connection. ---------------------

check reload_without_md5 reload_variant
check gobgp_start start_gobgp
router_sees_portico gobgp gobgp EBGP4 EBGP6
stop_gobgp

# --- FRR: active, eBGP; then iBGP for LOCAL_PREF. ------------------------------------------------

check frr_start start_frr
router_sees_portico frr frr EBGP4 EBGP6
check frr_kernel_route_v4 kernel_route_via "$WEB4/32" "$NODE4"
stop_frr

check reload_ibgp reload_variant ibgp
check frr_start_ibgp start_frr --as 64512 --peer-as 64512
router_sees_portico frr_ibgp frr IBGP4 IBGP6

# --- SIGTERM: the routes go before the connection does. -----------------------------------------

PCAP="$T_TMP/router-bgp.pcap"
check capture_started start_capture router "$PCAP" tcp port 179
check routes_present_before_sigterm bgp_routes_are frr ipv4 0 "${IBGP4[@]}"
check portico_sigterm_exit_0 stop_portico
check sigterm_routes_gone_v4 bgp_routes_are frr ipv4 3
check sigterm_routes_gone_v6 bgp_routes_are frr ipv6 3
sleep 1 # tcpdump writes per packet (-U); let the last ones land
check sigterm_withdrawn_before_close_v4 bgp_withdrawn_before_close "$PCAP" "$NODE4" "$WEB4/32" \
  "$GW4/32"
check sigterm_withdrawn_before_close_v6 bgp_withdrawn_before_close "$PCAP" "$NODE6" "$WEB6/128" \
  "$GW6/128"

# --- Graceful restart (RFC 4724) with FRR: SIGTERM keeps the routes at the router, as stale. ----

stop_frr
check config_graceful_restart bgp_variant gr
check frr_start_gr start_frr --graceful-restart
check portico_start_gr start_portico "$CONF"
router_sees_portico frr_gr frr EBGP4 EBGP6
check frr_gr_negotiated_v4 frr_gr_negotiated "$NODE4"
check frr_gr_negotiated_v6 frr_gr_negotiated "$NODE6"
check portico_gr_negotiated portico_log_count 2 'event=bgp_session_established .*graceful_restart=true'
PCAP_GR="$T_TMP/router-bgp-gr.pcap"
check gr_capture_started start_capture router "$PCAP_GR" tcp port 179
# Nothing to withdraw and nothing to wait for: Portico closes its connections and goes.
check gr_sigterm_exit_0_within_2s stop_portico_within 2
# Portico advertises 120 s; 5 s of it is enough to tell "kept" from "dropped at once".
check gr_routes_kept_stale frr_routes_stale_for 5 "$GW4/32" "$WEB4/32" "$GW6/128" "$WEB6/128"
check gr_kernel_route_kept_v4 kernel_route_via "$WEB4/32" "$NODE4" 0
check gr_sigterm_no_notification_v4 bgp_closed_without_notification "$PCAP_GR" "$NODE4"
check gr_sigterm_no_notification_v6 bgp_closed_without_notification "$PCAP_GR" "$NODE6"
# Back with the same configuration: new sessions, the same routes, no longer stale.
check portico_restart_gr start_portico "$CONF"
check gr_restarted_session_v4 bgp_session_up frr "$NODE4"
check gr_restarted_session_v6 bgp_session_up frr "$NODE6" 15
check gr_restarted_routes_fresh frr_routes_fresh 10 "$GW4/32" "$WEB4/32" "$GW6/128" "$WEB6/128"
check gr_restarted_routes_v4 bgp_routes_are frr ipv4 0 "${EBGP4[@]}"
check gr_restarted_routes_v6 bgp_routes_are frr ipv6 0 "${EBGP6[@]}"
check portico_gr_final_sigterm stop_portico

finish
