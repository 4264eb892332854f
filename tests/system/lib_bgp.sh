# shellcheck shell=bash disable=SC2034
# BGP routers for the system tests: BIRD 2, GoBGP 3 or FRR 8 (Debian 12 packages) in the
# testbed's router namespace, a normalized view of the routes they receive, and a "far" client
# that reaches the VIPs only through the router. Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_bgp.sh"
#   testbed_up
#   start_bird --passive                        # eBGP AS 64500 <-> 64512 at Portico's node
#   bgp_session_up bird 198.51.100.10           # Established within BGP_WAIT s
#   bgp_routes_are bird ipv4 "203.0.113.20/32 nexthop=198.51.100.10 aspath=64512"
#
# Daemons (one at a time: all three listen on port 179 in the router namespace):
#   start_bird|start_gobgp|start_frr [--as N] [--peer-as N] [--peer ADDR]... [--passive]
#       [--password KEY] [--graceful-restart]
#     --as        the router's AS (default 64500); --peer-as the peer's (default 64512); equal
#                 ASes make every session iBGP.
#     --peer      a neighbour address, v4 or v6, one session each (default: Portico's node
#                 addresses 198.51.100.10 and 2001:db8:100::10). IPv4 routes over the IPv4
#                 session, IPv6 over the IPv6 one (k8s-and-bgp.md B0).
#     --passive   never connect: the peer must. Otherwise the router connects (and accepts).
#     --password  TCP-MD5 (RFC 2385) on every session; --graceful-restart: RFC 4724.
#   Each writes its configuration into $T_TMP/<daemon>/ (the daemon's log, control socket and
#   pid file live there too), starts it in the foreground as a background job of the test (so
#   lib.sh's EXIT trap stops it whatever happens; this file's trap stops it first, politely),
#   and waits at most BGP_START_TIMEOUT s for its control socket to answer.
#   stop_bird|stop_gobgp|stop_frr: TERM, at most 5 s, then KILL. Never fail.
#   restart_router DAEMON: stop, then start again with the same arguments.
#
# Queries (DAEMON is bird, gobgp or frr; FAMILY ipv4 or ipv6):
#   bgp_state DAEMON PEER          the session's state as the daemon names it (Established...)
#   bgp_session_up DAEMON PEER [S] wait at most S (BGP_WAIT, 30) s for Established
#   bgp_session_not_up DAEMON PEER S   never Established during S seconds
#   bgp_routes DAEMON FAMILY       one normalized line per received route (bgp/normalize.py):
#       PREFIX nexthop=ADDR aspath=64512 communities=64512:100,65535:65281 large=64512:1:2
#       localpref=N  -- sorted, absent attributes omitted; LOCAL_PREF only as received, so
#       only on iBGP (BIRD's own default on eBGP routes is not printed)
#   bgp_routes_are DAEMON FAMILY [S] LINE...   wait at most S s (default 10) until bgp_routes
#       prints exactly LINE... (none: no routes at all)
#   bgp_route_absent DAEMON FAMILY PREFIX [S]  wait at most S s (default 0) until PREFIX is
#       not among the routes
#   kernel_route_via PREFIX NEXTHOP   the router's kernel forwards PREFIX via NEXTHOP (BIRD's
#       protocol kernel and FRR's zebra install what they learn; GoBGP does not)
#   bgp_withdrawn_before_close PCAP SPEAKER_ADDR PREFIX...   in a capture of the router's
#       eth0, the speaker withdrew each PREFIX (UPDATE or MP_UNREACH) or sent a NOTIFICATION
#       on that session before its own FIN or RST
#   bgp_closed_without_notification PCAP SPEAKER_ADDR   in such a capture the speaker closed a
#       connection (FIN or RST) and sent no NOTIFICATION at all (RFC 4724 shutdown)
#
# Graceful restart (RFC 4724), FRR only (it shows both the capability and the stale marks):
#   frr_gr_negotiated PEER    the session with PEER is Established and FRR both advertised and
#       received capability 64, the peer's restart time is 120 s and it listed the session's
#       address family
#   frr_routes_stale_for SECONDS PREFIX...   within 3 s every PREFIX is kept and marked stale,
#       and stays so (present, stale) for SECONDS more; the family follows from the prefix
#   frr_routes_fresh TIMEOUT PREFIX...   wait at most TIMEOUT s until every PREFIX is present
#       and no path of it is stale
#
# Far client: far_up / far_down: namespace $P-far, joined only to the router by a veth pair
# (router far0 203.0.113.249/30 and 2001:db8:300::1/64; far eth0 .250 and ::2, default routes
# via the router). Documentation ranges only; nothing is added to the root namespace.
# in_far CMD...: run CMD there.

BGP_ROUTER_AS=${BGP_ROUTER_AS:-64500}
BGP_SPEAKER_AS=${BGP_SPEAKER_AS:-64512}
BGP_WAIT=${BGP_WAIT:-30}                   # seconds for a session to reach Established
BGP_START_TIMEOUT=${BGP_START_TIMEOUT:-10} # seconds for a daemon's control socket to answer
BGP_NORMALIZE="$SYS_DIR/bgp/normalize.py"
BGP_GOBGP_API=127.0.0.1:50051 # inside the namespace it runs in

FAR4=203.0.113.250
FAR6=2001:db8:300::2
FAR_ROUTER4=203.0.113.249
FAR_ROUTER6=2001:db8:300::1
FAR_NET4=203.0.113.248/30
FAR_NET6=2001:db8:300::/64

declare -gA BGP_PIDS=()   # daemon -> pids of its processes (frr: zebra and bgpd)
declare -gA BGP_EBGP=()   # daemon -> 1 when its sessions are eBGP (BIRD's LOCAL_PREF default)
declare -gA BGP_ARGS=()   # daemon -> its start arguments, shell-quoted (restart_router)
BGP_FAR=0

# --- cleanup: registered before lib.sh's own (which stops the test's other processes and
# removes the testbed) ---------------------------------------------------------------------------

_bgp_cleanup() {
  local d
  for d in "${!BGP_PIDS[@]}"; do "stop_$d" >/dev/null 2>&1; done
  ((BGP_FAR)) && far_down >/dev/null 2>&1
  return 0
}
_bgp_status() { return "$1"; }
_bgp_exit() {
  local rc=$?
  _bgp_cleanup
  _bgp_status "$rc" # lib.sh's cleanup reads the test's exit status from $?
  cleanup
}
trap _bgp_exit EXIT

# --- options -----------------------------------------------------------------------------------

# _bgp_opts ARGS...: sets _AS _PEER_AS _PEERS _PASSIVE _PASSWORD _GR; prints errors.
_bgp_opts() {
  _AS=$BGP_ROUTER_AS _PEER_AS=$BGP_SPEAKER_AS _PEERS=() _PASSIVE=0 _PASSWORD="" _GR=0
  while (($#)); do
    case $1 in
      --as) _AS=${2:-}; shift 2 || return 1 ;;
      --peer-as) _PEER_AS=${2:-}; shift 2 || return 1 ;;
      --peer) _PEERS+=("${2:-}"); shift 2 || return 1 ;;
      --passive) _PASSIVE=1; shift ;;
      --password) _PASSWORD=${2:-}; shift 2 || return 1 ;;
      --graceful-restart) _GR=1; shift ;;
      *) echo "unknown router option '$1'"; return 1 ;;
    esac
  done
  ((${#_PEERS[@]})) || _PEERS=("$TB_NODE4" "$TB_NODE6")
  [[ $_AS =~ ^[0-9]+$ && $_PEER_AS =~ ^[0-9]+$ ]] || {
    echo "AS numbers must be numbers: '$_AS' '$_PEER_AS'"
    return 1
  }
  # Keys go into configuration files between double quotes.
  [[ $_PASSWORD != *[\"\\\'[:space:]]* ]] || {
    echo "MD5 password must not contain quotes, backslashes or spaces"
    return 1
  }
}

_bgp_ebgp() { ((_AS != _PEER_AS)); }

# The router's own address of the same family as PEER.
_router_addr_for() {
  if [[ $1 == *:* ]]; then printf '%s' "${TB_ADDR6[router]}"; else printf '%s' "${TB_ADDR4[router]}"; fi
}

# One daemon at a time: all three bind port 179 in the router namespace.
_bgp_only() {
  local d
  for d in "${!BGP_PIDS[@]}"; do
    [[ $d == "$1" ]] && continue
    echo "$d is still running in the router (all three listen on port 179): stop_$d first"
    return 1
  done
}

_bgp_dir() {
  local dir="$T_TMP/$1"
  mkdir -p "$dir"
  printf '%s' "$dir"
}

# _bgp_started DAEMON PID...: remember the processes (the EXIT traps stop them).
_bgp_started() {
  local d=$1
  shift
  BGP_PIDS[$d]="${BGP_PIDS[$d]:+${BGP_PIDS[$d]} }$*"
  BG_PIDS+=("$@")
}

_bgp_log_tail() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "--- last lines of $f"
    tail -n 15 "$f"
  done
}

# _bgp_stop DAEMON: TERM every process of DAEMON, wait at most 5 s, then KILL.
_bgp_stop() {
  local pid
  for pid in ${BGP_PIDS[$1]:-}; do kill -TERM "$pid" 2>/dev/null; done
  for pid in ${BGP_PIDS[$1]:-}; do stop_pid "$pid" 5; done
  unset "BGP_PIDS[$1]"
  return 0
}

restart_router() {
  local d=$1
  [[ -n ${BGP_ARGS[$d]+x} ]] || {
    echo "$d was never started"
    return 1
  }
  "stop_$d"
  eval "start_$d ${BGP_ARGS[$d]}"
}

# --- BIRD 2 --------------------------------------------------------------------------------------

# BIRD names protocols with symbols: letters, digits, underscores.
_bird_proto() {
  local p=${1//[.:]/_}
  printf 'n_%s' "$p"
}

birdc_() { in_ns router birdc -s "$T_TMP/bird/bird.ctl" "$@"; }

start_bird() {
  _bgp_opts "$@" || return 1
  _bgp_only bird || return 1
  stop_bird
  local dir conf peer af proto
  dir=$(_bgp_dir bird)
  conf="$dir/bird.conf"
  {
    echo "# written by tests/system/lib_bgp.sh: start_bird $*"
    echo "router id ${TB_ADDR4[router]};"
    echo "log \"$dir/bird.log\" all;"
    # device: interface state, so direct next hops resolve (k8s-and-bgp.md B1).
    echo "protocol device { scan time 2; }"
    # What BGP learns goes into the kernel, so the router forwards to the VIPs; nothing else
    # (the connected routes are the kernel's already), and nothing is read back from it.
    echo "protocol kernel k4 { ipv4 { import none; export where source = RTS_BGP; }; }"
    echo "protocol kernel k6 { ipv6 { import none; export where source = RTS_BGP; }; }"
    for peer in "${_PEERS[@]}"; do
      af=ipv4
      [[ $peer == *:* ]] && af=ipv6
      proto=$(_bird_proto "$peer")
      echo "protocol bgp $proto {"
      echo "  local $(_router_addr_for "$peer") as $_AS;"
      echo "  neighbor $peer as $_PEER_AS;"
      # Single hop also for iBGP (BIRD's iBGP default is multihop with recursive next hops,
      # which would need an IGP table): the peer is on the segment.
      echo "  direct;"
      ((_PASSIVE)) && echo "  passive on;"
      [[ -n $_PASSWORD ]] && echo "  password \"$_PASSWORD\";"
      ((_GR)) && echo "  graceful restart on;"
      # BIRD's defaults wait 5 s before the first connect, 120 s between attempts and 60 s
      # after an error: far longer than a test waits for a session.
      echo "  connect delay time 1; connect retry time 2; error wait time 1, 4;"
      echo "  $af { import all; export none; };"
      echo "}"
    done
  } >"$conf"
  in_ns router bird -p -c "$conf" >"$dir/check.out" 2>&1 || {
    cat "$dir/check.out"
    echo "bird rejected $conf"
    return 1
  }
  rm -f "$dir/bird.ctl"
  ip netns exec "$P-router" bird -f -c "$conf" -s "$dir/bird.ctl" -P "$dir/bird.pid" \
    </dev/null >>"$dir/bird.out" 2>&1 &
  _bgp_started bird $!
  BGP_EBGP[bird]=$(_bgp_ebgp && echo 1 || echo 0)
  BGP_ARGS[bird]=$(printf '%q ' "$@")
  wait_until "$BGP_START_TIMEOUT" birdc_ show status >/dev/null 2>&1 || {
    _bgp_log_tail "$dir/bird.out" "$dir/bird.log"
    echo "bird's control socket does not answer after $BGP_START_TIMEOUT s"
    return 1
  }
}

stop_bird() { _bgp_stop bird; }

# --- GoBGP 3 -------------------------------------------------------------------------------------

gobgp_() {
  in_ns router gobgp -u "${BGP_GOBGP_API%:*}" -p "${BGP_GOBGP_API##*:}" "$@"
}

# _gobgp_conf AS ROUTER_ID PEER_AS PASSIVE PASSWORD GR LOCAL_ADDRS PEERS...: gobgpd TOML on
# stdout (also used by the stand-in speaker of bgp/selftest.sh).
_gobgp_conf() {
  local as=$1 rid=$2 peer_as=$3 passive=$4 password=$5 gr=$6 peer af
  shift 6
  cat <<EOF
[global.config]
  as = $as
  router-id = "$rid"
EOF
  for peer in "$@"; do
    af=ipv4-unicast
    [[ $peer == *:* ]] && af=ipv6-unicast
    cat <<EOF
[[neighbors]]
  [neighbors.config]
    neighbor-address = "$peer"
    peer-as = $peer_as
EOF
    [[ -n $password ]] && echo "    auth-password = \"$password\""
    # connect-retry: GoBGP's 120 s default; idle-hold-time-after-reset: it stays idle for
    # 30 s after a reset otherwise (k8s-and-bgp.md B2: slow to reconnect).
    cat <<EOF
  [neighbors.timers.config]
    connect-retry = 2
    idle-hold-time-after-reset = 1
  [neighbors.transport.config]
    passive-mode = $( ((passive)) && echo true || echo false)
EOF
    if ((gr)); then
      cat <<EOF
  [neighbors.graceful-restart.config]
    enabled = true
    restart-time = 120
EOF
    fi
    cat <<EOF
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "$af"
EOF
    if ((gr)); then
      cat <<EOF
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
EOF
    fi
  done
}

start_gobgp() {
  _bgp_opts "$@" || return 1
  _bgp_only gobgp || return 1
  stop_gobgp
  local dir conf
  dir=$(_bgp_dir gobgp)
  conf="$dir/gobgpd.toml"
  _gobgp_conf "$_AS" "${TB_ADDR4[router]}" "$_PEER_AS" "$_PASSIVE" "$_PASSWORD" "$_GR" \
    "${_PEERS[@]}" >"$conf"
  in_ns router gobgpd -f "$conf" -d >"$dir/check.out" 2>&1 || {
    cat "$dir/check.out"
    echo "gobgpd rejected $conf"
    return 1
  }
  ip netns exec "$P-router" gobgpd -f "$conf" -p --api-hosts "$BGP_GOBGP_API" --pprof-disable \
    </dev/null >>"$dir/gobgpd.log" 2>&1 &
  _bgp_started gobgp $!
  BGP_EBGP[gobgp]=$(_bgp_ebgp && echo 1 || echo 0)
  BGP_ARGS[gobgp]=$(printf '%q ' "$@")
  wait_until "$BGP_START_TIMEOUT" gobgp_ global >/dev/null 2>&1 || {
    _bgp_log_tail "$dir/gobgpd.log"
    echo "gobgpd's API does not answer after $BGP_START_TIMEOUT s"
    return 1
  }
}

stop_gobgp() { _bgp_stop gobgp; }

# --- FRR 8 ---------------------------------------------------------------------------------------

vtysh_() { in_ns router vtysh --vty_socket "$T_TMP/frr" -d bgpd "$@"; }

start_frr() {
  _bgp_opts "$@" || return 1
  _bgp_only frr || return 1
  stop_frr
  local dir conf peer af peer_af
  dir=$(_bgp_dir frr)
  conf="$dir/bgpd.conf"
  {
    echo "! written by tests/system/lib_bgp.sh: start_frr $*"
    echo "frr defaults traditional"
    echo "router bgp $_AS"
    echo " bgp router-id ${TB_ADDR4[router]}"
    # RFC 8212: without this FRR accepts no eBGP route (k8s-and-bgp.md B3).
    echo " no bgp ebgp-requires-policy"
    echo " no bgp default ipv4-unicast"
    ((_GR)) && echo " bgp graceful-restart"
    for peer in "${_PEERS[@]}"; do
      echo " neighbor $peer remote-as $_PEER_AS"
      echo " neighbor $peer update-source $(_router_addr_for "$peer")"
      # FRR's default connect timer is 120 s.
      echo " neighbor $peer timers connect 2"
      ((_PASSIVE)) && echo " neighbor $peer passive"
      [[ -n $_PASSWORD ]] && echo " neighbor $peer password $_PASSWORD"
    done
    for af in ipv4 ipv6; do
      echo " address-family $af unicast"
      for peer in "${_PEERS[@]}"; do
        [[ $peer == *:* ]] && peer_af=ipv6 || peer_af=ipv4
        [[ $peer_af == "$af" ]] || continue
        echo "  neighbor $peer activate"
        echo "  neighbor $peer soft-reconfiguration inbound"
      done
      echo " exit-address-family"
    done
  } >"$conf"
  : >"$dir/zebra.conf"
  # bgpd and zebra refuse to run as root ("root is not part of vty group frrvty"): they run as
  # frr, which must reach and write their directory (the test's own is root's, mode 0700).
  chmod o+x "$T_TMP"
  chown -R frr:frr "$dir"
  in_ns router /usr/lib/frr/bgpd -C -f "$conf" >"$dir/check.out" 2>&1 || {
    cat "$dir/check.out"
    echo "bgpd rejected $conf"
    return 1
  }
  rm -f "$dir/zserv.api"
  # Foreground (no -d), so these pids are the daemons'. -P 0: no vty on TCP.
  ip netns exec "$P-router" /usr/lib/frr/zebra -u frr -g frr -f "$dir/zebra.conf" \
    -i "$dir/zebra.pid" -z "$dir/zserv.api" --vty_socket "$dir" -A 127.0.0.1 -P 0 \
    --log "file:$dir/zebra.log" </dev/null >>"$dir/zebra.out" 2>&1 &
  local zpid=$!
  _bgp_started frr "$zpid"
  wait_until "$BGP_START_TIMEOUT" test -S "$dir/zserv.api" || {
    _bgp_log_tail "$dir/zebra.out" "$dir/zebra.log"
    echo "zebra did not open $dir/zserv.api within $BGP_START_TIMEOUT s"
    return 1
  }
  ip netns exec "$P-router" /usr/lib/frr/bgpd -u frr -g frr -f "$conf" \
    -i "$dir/bgpd.pid" -z "$dir/zserv.api" --vty_socket "$dir" -A 127.0.0.1 -P 0 \
    --log "file:$dir/bgpd.log" </dev/null >>"$dir/bgpd.out" 2>&1 &
  _bgp_started frr $!
  BGP_EBGP[frr]=$(_bgp_ebgp && echo 1 || echo 0)
  BGP_ARGS[frr]=$(printf '%q ' "$@")
  wait_until "$BGP_START_TIMEOUT" vtysh_ -c 'show bgp summary json' >/dev/null 2>&1 || {
    _bgp_log_tail "$dir/bgpd.out" "$dir/bgpd.log"
    echo "bgpd's vty does not answer after $BGP_START_TIMEOUT s"
    return 1
  }
}

# bgpd first: it withdraws through zebra, which then removes what it installed.
stop_frr() {
  local pids i
  read -r -a pids <<<"${BGP_PIDS[frr]:-}"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}" 5; done
  unset "BGP_PIDS[frr]"
  return 0
}

# --- sessions ------------------------------------------------------------------------------------

_bgp_known() {
  case $1 in
    bird | gobgp | frr) [[ -n ${BGP_PIDS[$1]:-} ]] && return 0
      echo "$1 is not running"
      return 1 ;;
    *) echo "unknown router daemon '$1' (bird, gobgp or frr)"; return 1 ;;
  esac
}

# bgp_state DAEMON PEER: one word, Established when the session is up.
bgp_state() {
  local d=$1 peer=$2 out
  _bgp_known "$d" >/dev/null || {
    echo "not-running"
    return 0
  }
  case $d in
    bird)
      # "Name Proto Table State Since Info": Info is the BGP state (or empty while down).
      out=$(birdc_ show protocols "$(_bird_proto "$peer")" 2>/dev/null |
        awk -v n="$(_bird_proto "$peer")" '$1 == n {print ($6 == "" ? $4 : $6)}')
      ;;
    gobgp)
      out=$(gobgp_ -j neighbor "$peer" 2>/dev/null | "$PYTHON" -c '
import json, sys
try:
    n = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
s = (n.get("state") or {}).get("session_state")
names = {1: "Idle", 2: "Connect", 3: "Active", 4: "OpenSent", 5: "OpenConfirm", 6: "Established"}
print(names.get(s, s) if isinstance(s, int) else str(s).capitalize())')
      ;;
    frr)
      out=$(vtysh_ -c "show bgp neighbors $peer json" 2>/dev/null | "$PYTHON" -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for n in doc.values():
    if isinstance(n, dict) and "bgpState" in n:
        print(n["bgpState"])
        break')
      ;;
  esac
  printf '%s\n' "${out:-unknown}"
}

_bgp_established() { [[ $(bgp_state "$1" "$2") == [Ee]stablished ]]; }

_bgp_logs_of() {
  case $1 in
    bird) _bgp_log_tail "$T_TMP/bird/bird.log" ;;
    gobgp) _bgp_log_tail "$T_TMP/gobgp/gobgpd.log" ;;
    frr) _bgp_log_tail "$T_TMP/frr/bgpd.log" ;;
  esac
}

# bgp_session_up DAEMON PEER [TIMEOUT]
bgp_session_up() {
  local d=$1 peer=$2 timeout=${3:-$BGP_WAIT} start=$SECONDS
  _bgp_known "$d" || return 1
  if wait_until "$timeout" _bgp_established "$d" "$peer"; then
    echo "# $d: session with $peer Established after $((SECONDS - start)) s"
    return 0
  fi
  _bgp_logs_of "$d"
  # The speaker's side, when it is Portico (lib.sh's log): its BGP lines say why.
  if [[ -s ${PORTICO_LOG:-} ]] && grep -qi 'bgp' "$PORTICO_LOG"; then
    echo "--- Portico's last BGP log lines"
    grep -i 'bgp' "$PORTICO_LOG" | tail -n 10
  fi
  echo "$d: session with $peer is $(bgp_state "$d" "$peer") after $timeout s, not Established"
  return 1
}

# bgp_session_not_up DAEMON PEER SECONDS: the session stays short of Established throughout.
bgp_session_not_up() {
  local d=$1 peer=$2 deadline=$((SECONDS + $3)) state
  _bgp_known "$d" || return 1
  while ((SECONDS < deadline)); do
    state=$(bgp_state "$d" "$peer")
    [[ $state == [Ee]stablished ]] && {
      echo "$d: session with $peer became Established"
      return 1
    }
    sleep 0.5
  done
  echo "# $d: session with $peer still $state after $3 s"
}

# --- routes --------------------------------------------------------------------------------------

_bgp_family() {
  case $1 in
    ipv4 | ipv6) return 0 ;;
    *) echo "address family must be ipv4 or ipv6, not '$1'"; return 1 ;;
  esac
}

# bgp_routes DAEMON FAMILY: normalized lines (see bgp/normalize.py); fails when the daemon
# cannot be asked.
bgp_routes() {
  local d=$1 fam=$2 ebgp=() raw prefixes cmds=() p
  _bgp_known "$d" || return 1
  _bgp_family "$fam" || return 1
  [[ ${BGP_EBGP[$d]:-0} == 1 ]] && ebgp=(--ebgp)
  case $d in
    bird)
      raw=$(birdc_ show route all table "master${fam#ipv}") || {
        echo "birdc show route failed: $raw"
        return 1
      }
      "$PYTHON" "$BGP_NORMALIZE" bird "${ebgp[@]}" <<<"$raw"
      ;;
    gobgp)
      raw=$(gobgp_ -j global rib -a "$fam") || {
        echo "gobgp global rib failed: $raw"
        return 1
      }
      "$PYTHON" "$BGP_NORMALIZE" gobgp <<<"$raw"
      ;;
    frr)
      # The table's JSON has no communities: ask for every prefix in it (one vtysh run).
      raw=$(vtysh_ -c "show bgp $fam unicast json") || {
        echo "vtysh show bgp $fam unicast failed: $raw"
        return 1
      }
      prefixes=$("$PYTHON" "$BGP_NORMALIZE" frr-prefixes <<<"$raw") || return 1
      [[ -n $prefixes ]] || return 0
      for p in $prefixes; do cmds+=(-c "show bgp $fam unicast $p json"); done
      raw=$(vtysh_ "${cmds[@]}") || {
        echo "vtysh show bgp $fam unicast PREFIX failed: $raw"
        return 1
      }
      "$PYTHON" "$BGP_NORMALIZE" frr <<<"$raw"
      ;;
  esac
}

# bgp_routes_are DAEMON FAMILY [TIMEOUT] LINE...: exactly these routes (order does not matter).
bgp_routes_are() {
  local d=$1 fam=$2 timeout=10 want got deadline
  shift 2
  if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    timeout=$1
    shift
  fi
  want=$( (($#)) && printf '%s\n' "$@" | sort)
  deadline=$((SECONDS + timeout))
  while :; do
    got=$(bgp_routes "$d" "$fam" 2>&1 | sort)
    [[ $got == "$want" ]] && return 0
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  echo "expected ($fam, $d):"
  printf '%s\n' "${want:-(no routes)}" | sed 's/^/  /'
  echo "got:"
  printf '%s\n' "${got:-(no routes)}" | sed 's/^/  /'
  echo "$d: the $fam routes are not as expected after $timeout s"
  return 1
}

# bgp_route_absent DAEMON FAMILY PREFIX [TIMEOUT]
bgp_route_absent() {
  local d=$1 fam=$2 prefix=$3 timeout=${4:-0} deadline got
  deadline=$((SECONDS + timeout))
  while :; do
    got=$(bgp_routes "$d" "$fam") || {
      printf '%s\n' "$got"
      return 1
    }
    grep -q "^$prefix " <<<"$got" || return 0
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  printf '%s\n' "$got"
  echo "$d still has a route to $prefix after $timeout s"
  return 1
}

# kernel_route_via PREFIX NEXTHOP [TIMEOUT]: the router's kernel has PREFIX via NEXTHOP.
_kernel_route_has() {
  local fam=-4
  [[ $1 == *:* ]] && fam=-6
  _KERNEL_ROUTE=$(in_ns router ip "$fam" route show exact "$1" 2>&1)
  grep -q " via $2 " <<<"$_KERNEL_ROUTE "
}

kernel_route_via() {
  local prefix=$1 nh=$2 timeout=${3:-5}
  _KERNEL_ROUTE=""
  wait_until "$timeout" _kernel_route_has "$prefix" "$nh" && return 0
  echo "router kernel: ${_KERNEL_ROUTE:-no route}"
  echo "the router's kernel has no route to $prefix via $nh"
  return 1
}

# bgp_withdrawn_before_close PCAP SPEAKER PREFIX...: see the header.
bgp_withdrawn_before_close() {
  local pcap=$1 speaker=$2
  shift 2
  local src=ip.src
  [[ $speaker == *:* ]] && src=ipv6.src
  tshark -r "$pcap" -Y "$src == $speaker && tcp.port == 179" -T fields -E separator='|' \
    -e frame.number -e tcp.stream -e tcp.flags.fin -e tcp.flags.reset -e bgp.type \
    -e bgp.withdrawn_prefix -e bgp.mp_unreach_nlri_ipv4_prefix \
    -e bgp.mp_unreach_nlri_ipv6_prefix >"$pcap.fields" 2>"$pcap.tshark" || {
    cat "$pcap.tshark"
    echo "tshark could not read $pcap"
    return 1
  }
  "$PYTHON" - "$pcap.fields" "$@" <<'PY'
import ipaddress, sys
rows = []
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split("|")
    if len(f) < 8:
        continue
    rows.append({
        "frame": int(f[0]), "stream": f[1],
        "close": f[2] in ("1", "True") or f[3] in ("1", "True"),
        "types": [t for t in f[4].split(",") if t],
        "withdrawn": {str(ipaddress.ip_address(a)) for x in f[5:8] for a in x.split(",") if a},
    })
bad = []
for prefix in sys.argv[2:]:
    addr = str(ipaddress.ip_network(prefix, strict=False).network_address)
    # The first message from the speaker that takes the route away on some session: an UPDATE
    # withdrawing it, or a NOTIFICATION (the session ends, the peer drops its routes).
    first = next((r for r in rows if addr in r["withdrawn"] or "3" in r["types"]), None)
    if first is None:
        bad.append("%s: neither withdrawn nor a NOTIFICATION from the speaker" % prefix)
        continue
    closed = next((r for r in rows if r["stream"] == first["stream"] and r["close"]), None)
    how = "withdrawn" if addr in first["withdrawn"] else "NOTIFICATION"
    if closed is not None and closed["frame"] < first["frame"]:
        bad.append("%s: the speaker closed the TCP connection (frame %d) before the %s "
                   "(frame %d)" % (prefix, closed["frame"], how, first["frame"]))
        continue
    print("# %s: %s in frame %d, speaker's FIN/RST in frame %s" % (
        prefix, how, first["frame"], closed["frame"] if closed else "-"))
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
}

# bgp_closed_without_notification PCAP SPEAKER: see the header.
bgp_closed_without_notification() {
  local pcap=$1 speaker=$2 src=ip.src
  [[ $speaker == *:* ]] && src=ipv6.src
  tshark -r "$pcap" -Y "$src == $speaker && tcp.port == 179" \
    -T fields -E separator='|' -e frame.number -e tcp.flags.fin -e tcp.flags.reset -e bgp.type \
    >"$pcap.$speaker.fields" 2>"$pcap.tshark" || {
    cat "$pcap.tshark"
    echo "tshark could not read $pcap"
    return 1
  }
  "$PYTHON" - "$pcap.$speaker.fields" "$speaker" <<'PY'
import sys
closed, notifications = None, []
for l in open(sys.argv[1]):
    f = l.rstrip("\n").split("|")
    if len(f) < 4:
        continue
    if closed is None and (f[1] in ("1", "True") or f[2] in ("1", "True")):
        closed = int(f[0])
    if "3" in f[3].split(","):
        notifications.append(f[0])
if notifications:
    sys.exit("%s sent a NOTIFICATION (frames %s)" % (sys.argv[2], ", ".join(notifications)))
if closed is None:
    sys.exit("no FIN or RST from %s in the capture: the close was not seen" % sys.argv[2])
print("# %s: FIN/RST in frame %d, no NOTIFICATION" % (sys.argv[2], closed))
PY
}

# --- graceful restart (FRR) ---------------------------------------------------------------------

frr_gr_negotiated() {
  local peer=$1 af=ipv4Unicast
  [[ $peer == *:* ]] && af=ipv6Unicast
  _bgp_known frr || return 1
  vtysh_ -c "show bgp neighbors $peer json" >"$T_TMP/frr/gr-$peer.json" 2>&1 || {
    cat "$T_TMP/frr/gr-$peer.json"
    echo "vtysh show bgp neighbors $peer failed"
    return 1
  }
  # FRR 8.4's names: neighborCapabilities.gracefulRestart "advertisedAndReceived" once both
  # OPENs carried capability 64; gracefulRestartRemoteTimerMsecs is the peer's restart time;
  # gracefulRestartInfo has one entry per family the peer listed in its capability.
  "$PYTHON" - "$T_TMP/frr/gr-$peer.json" "$peer" "$af" <<'PY'
import json, sys
path, peer, af = sys.argv[1:]
try:
    doc = json.load(open(path))
except ValueError as e:
    sys.exit("show bgp neighbors %s json: not JSON (%s)" % (peer, e))
n = next((v for v in doc.values() if isinstance(v, dict) and "bgpState" in v), None)
if n is None:
    sys.exit("FRR does not know the neighbor %s" % peer)
caps = n.get("neighborCapabilities") or {}
info = n.get("gracefulRestartInfo") or {}
got = "state=%s gracefulRestart=%s remoteTimerMsecs=%s remoteGrMode=%s %s=%s" % (
    n.get("bgpState"), caps.get("gracefulRestart"), caps.get("gracefulRestartRemoteTimerMsecs"),
    info.get("remoteGrMode"), af, json.dumps(info.get(af)))
print("# " + got)
bad = []
if n.get("bgpState") != "Established":
    bad.append("not Established")
if caps.get("gracefulRestart") != "advertisedAndReceived":
    bad.append("capability 64 not advertised and received")
if caps.get("gracefulRestartRemoteTimerMsecs") != 120000:
    bad.append("the peer's restart time is not 120 s")
if not isinstance(info.get(af), dict):
    bad.append("the peer did not list %s in its capability" % af)
if bad:
    sys.exit("%s: graceful restart not negotiated as expected: %s" % (peer, "; ".join(bad)))
PY
}

# _frr_path_marks PREFIX...: "PREFIX stale|fresh|absent" per prefix, one vtysh run. A prefix is
# stale when every path FRR holds for it is (there is one: only Portico announces it).
_frr_path_marks() {
  local p fam cmds=() raw
  for p in "$@"; do
    fam=ipv4
    [[ $p == *:* ]] && fam=ipv6
    cmds+=(-c "show bgp $fam unicast $p json")
  done
  raw=$(vtysh_ "${cmds[@]}") || {
    echo "vtysh show bgp FAMILY unicast PREFIX failed: $raw"
    return 1
  }
  "$PYTHON" -c '
import json, sys
sys.path.insert(0, sys.argv[1])
from normalize import json_docs
docs = json_docs(sys.stdin.read())
seen = {}
for d in docs:
    if d.get("prefix") and d.get("paths"):
        seen[d["prefix"]] = all(p.get("stale") is True for p in d["paths"])
for p in sys.argv[2:]:
    print(p, "absent" if p not in seen else "stale" if seen[p] else "fresh")
' "$(dirname "$BGP_NORMALIZE")" "$@" <<<"$raw"
}

# _frr_all_marked MARK PREFIX...: every prefix shows MARK (the marks land in _FRR_MARKS).
_frr_all_marked() {
  local mark=$1
  shift
  _FRR_MARKS=$(_frr_path_marks "$@") || return 1
  ! grep -qv " $mark\$" <<<"$_FRR_MARKS"
}

frr_routes_stale_for() {
  local seconds=$1 i
  shift
  _bgp_known frr || return 1
  _FRR_MARKS=""
  # FRR marks them once it sees the connection close (it reads the FIN at once).
  wait_until 3 _frr_all_marked stale "$@" || {
    printf '%s\n' "$_FRR_MARKS"
    echo "FRR did not keep every route as stale within 3 s"
    return 1
  }
  # Samples every 0.5 s (plus the time vtysh takes): SECONDS at least, whatever the clock's tick.
  for ((i = 0; i < seconds * 2; i++)); do
    sleep 0.5
    _frr_all_marked stale "$@" || {
      printf '%s\n' "$_FRR_MARKS"
      echo "FRR stopped keeping every route as stale before $seconds s"
      return 1
    }
  done
  printf '# %s\n' "${_FRR_MARKS//$'\n'/, }"
  echo "# stale for $seconds s"
}

frr_routes_fresh() {
  local timeout=$1
  shift
  _bgp_known frr || return 1
  _FRR_MARKS=""
  wait_until "$timeout" _frr_all_marked fresh "$@" && return 0
  printf '%s\n' "$_FRR_MARKS"
  echo "not every route is present and fresh (not stale) after $timeout s"
  return 1
}

# --- far client ----------------------------------------------------------------------------------

in_far() { ip netns exec "$P-far" "$@"; }

far_up() {
  local ns="$P-far"
  ip netns add "$ns" || return 1
  BGP_FAR=1
  in_far ip link set lo up || return 1
  in_far sysctl -q -w net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 \
    net.ipv6.conf.default.accept_ra=0 >/dev/null || return 1
  # Both ends created directly in their namespaces: never visible in the root namespace.
  ip link add far0 netns "$P-router" type veth peer name eth0 netns "$ns" || return 1
  # Real checksums on what the far client sends, as on every testbed host (Portico checks them).
  in_far ethtool -K eth0 tx off >/dev/null 2>&1
  in_ns router ethtool -K far0 tx off >/dev/null 2>&1
  in_ns router ip addr add "$FAR_ROUTER4/30" dev far0 &&
    in_ns router ip -6 addr add "$FAR_ROUTER6/64" dev far0 nodad &&
    in_ns router ip link set far0 up &&
    in_far ip addr add "$FAR4/30" dev eth0 &&
    in_far ip -6 addr add "$FAR6/64" dev eth0 nodad &&
    in_far ip link set eth0 up &&
    in_far ip route add default via "$FAR_ROUTER4" &&
    in_far ip -6 route add default via "$FAR_ROUTER6" || return 1
  in_far ping -c 1 -W 2 "$FAR_ROUTER4" >/dev/null || {
    echo "the far client cannot ping the router at $FAR_ROUTER4"
    return 1
  }
}

far_down() {
  local ns="$P-far" pids
  ip netns list | awk -v n="$ns" '$1 == n {f = 1} END {exit !f}' || {
    BGP_FAR=0
    return 0
  }
  pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
  # shellcheck disable=SC2086
  [[ -z ${pids// /} ]] || kill -KILL $pids 2>/dev/null
  ip netns del "$ns" # takes the veth pair (far0 in the router) with it
  BGP_FAR=0
}
