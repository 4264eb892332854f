#!/usr/bin/env bash
# The gRPC API's introspection and drains against a running Portico, through porticoctl (the
# real client), with configs/bgp.yaml plus an L2Advertisement (so the client on the segment
# reaches the VIPs by ARP while BIRD, in the router, peers over BGP) and backend.py in
# be1..be3: Match equals `portico match` byte for byte; ListFlows shows a paced download with
# its client, VIP, backend and SNAT address, and its filters and limit work; a backend drain
# keeps new connections off it while its download goes on intact, and --undo brings it back;
# WatchEvents replays an earlier apply's events and streams a new one; GetStats has per-lcore
# rows and totals that grow; ListBgpPeers matches what BIRD received; a node drain withdraws
# the routes from BIRD while ARP is still answered; both drains hold across a restart
# (drains.json), and --undo announces the routes again.
# test_api.sh covers Apply/Delete/restart/TLS with its own small client.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/system/lib_bgp.sh
. "$(dirname "$0")/lib_bgp.sh"

CTL=${PORTICOCTL:-$(dirname "$PORTICO")/porticoctl}
WEB4=203.0.113.20  # bgp/web, full NAT, TCP 80 -> be1..be3:8080
GW4=203.0.113.10   # Gateway bgp/gw (from the pool), HTTPRoute bgp/app: Host app.example
GW6=2001:db8:200::10
EMPTY4=203.0.113.24  # bgp/empty: no endpoints, never announced
NEW4=203.0.113.46    # Services applied through the API during the test
NEW5=203.0.113.47
SOCK="$T_TMP/run/api.sock"
CONF="$T_TMP/live.yaml"
ROUTE_ATTRS="nexthop=$TB_NODE4 aspath=64512 communities=64512:100,65535:65281 large=64512:1:2"

ctl() { "$CTL" --api "unix://$SOCK" "$@"; }

ctl_built() {
  [[ -x $CTL ]] || {
    echo "$CTL not built (ninja -C build porticoctl)"
    return 1
  }
}
require portico_built portico_built
require porticoctl_built ctl_built
require curl_installed command -v curl
require bird_installed command -v bird

# The API on a socket of this test; an L2Advertisement for the same pool (bgp.yaml has none).
sed -e "s|grpc: \"unix:///run/portico/api.sock\"|grpc: \"unix://$SOCK\"\n    stateDir: \"$T_TMP/state\"|" \
  "$SYS_DIR/configs/bgp.yaml" >"$CONF"
cat >>"$CONF" <<'YAML'
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: live-l2
  namespace: metallb-system
spec:
  ipAddressPools: [bgp-pool]
  interfaces: [uplink]
YAML
require config_has_api grep -q "stateDir: \"$T_TMP/state\"" "$CONF"

require testbed_up testbed_up
require backends_listening start_backends --tcp 8080
require portico_ready start_portico "$CONF"
require bird_started start_bird --passive
MAC=$(portico_mac)

# --- Match: the live Snapshot answers as `portico match` does from the files ------------------

# match_same NAME ARGS...: porticoctl match and portico match print the same bytes.
match_same() {
  local name=$1
  shift
  ctl match "$@" >"$T_TMP/$name.live" 2>"$T_TMP/$name.live.err" || {
    cat "$T_TMP/$name.live.err"
    echo "porticoctl match $* failed"
    return 1
  }
  "$PORTICO" match --config "$CONF" "$@" >"$T_TMP/$name.file" 2>&1 || {
    cat "$T_TMP/$name.file"
    echo "portico match $* failed"
    return 1
  }
  cmp "$T_TMP/$name.file" "$T_TMP/$name.live" || {
    diff "$T_TMP/$name.file" "$T_TMP/$name.live" | head -n 20
    echo "porticoctl match differs from portico match"
    return 1
  }
  head -c 300 "$T_TMP/$name.live"
}
check match_routed match_same m1 --to "$GW4:80" --host app.example --path /some/where
check match_routed_v6 match_same m2 --to "[$GW6]:80" --host app.example --path /x --method POST \
  --header 'X-Test: 1'
check match_unknown_host match_same m3 --to "$GW4:80" --host other.example --path /
# The answers differ from each other (a comparison of two empty answers proves nothing).
match_answers_differ() {
  "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["backends"] else 1)' \
    "$T_TMP/m1.live" || {
    cat "$T_TMP/m1.live"
    echo "app.example got no backend"
    return 1
  }
  ! cmp -s "$T_TMP/m1.live" "$T_TMP/m3.live" || {
    echo "a known and an unknown host got the same answer"
    return 1
  }
}
check match_answers_differ match_answers_differ
# A bad --to is a request the server refuses: exit 1, INVALID_ARGUMENT (docs/operations.md).
match_bad_to() {
  local out rc
  out=$(ctl match --to nowhere --host a --path / 2>&1)
  rc=$?
  if ((rc == 1)) && [[ $out == *"Error from server (INVALID_ARGUMENT)"* ]]; then return 0; fi
  echo "$out"
  echo "porticoctl match --to nowhere: exit $rc, expected 1 with INVALID_ARGUMENT"
  return 1
}
check match_bad_to_exits_1 match_bad_to

# --- GetStats: per-lcore rows, totals grow with traffic ---------------------------------------

ctl stats -o json >"$T_TMP/stats0.json" 2>&1
check connections_answered get_many first 30 "http://$WEB4/"
check three_backends_answered distinct_backends "$T_TMP/first.out" 3
ctl stats -o json >"$T_TMP/stats1.json" 2>&1
ctl stats >"$T_TMP/stats1.txt" 2>&1
# stats_grew: every lcore has busy+idle cycles that advanced; rx, fwd.to_backend and flows.new
# grew by at least the traffic sent; the JSON parses; the text has an LCORE row per lcore.
stats_grew_json() {
  "$PYTHON" - "$T_TMP/stats0.json" "$T_TMP/stats1.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def totals(s):
    return {c["name"]: int(c["value"]) for c in s["totals"]}
ta, tb = totals(a), totals(b)
bad = []
for name, least in (("rx", 30 * 3), ("fwd.to_backend", 30 * 3), ("flows.new", 30),
                    ("fwd.to_client", 30 * 3)):
    if tb.get(name, 0) - ta.get(name, 0) < least:
        bad.append("%s: %s -> %s (expected +%d)" % (name, ta.get(name), tb.get(name), least))
if not b["lcores"]:
    bad.append("no lcores")
la = {l["lcore"]: l for l in a["lcores"]}
for l in b["lcores"]:
    before = la.get(l["lcore"], {})
    cyc = lambda x: int(x.get("busyCycles", 0)) + int(x.get("idleCycles", 0))
    if cyc(l) <= cyc(before):
        bad.append("lcore %s: busy+idle cycles did not advance" % l["lcore"])
    if int(l.get("busyCycles", 0)) <= 0:
        bad.append("lcore %s: no busy cycles" % l["lcore"])
    names = {c["name"] for c in l["counters"]}
    if "rx" not in names or "drop.ipv4_bad_checksum" not in names:
        bad.append("lcore %s: counters incomplete" % l["lcore"])
if int(b["generation"]) < 1:
    bad.append("generation %s" % b["generation"])
print("lcores:", [l["lcore"] for l in b["lcores"]], "rx:", ta.get("rx"), "->", tb.get("rx"))
if bad:
    print("; ".join(bad))
    sys.exit(1)
PY
}
check stats_json_totals_grew stats_grew_json
stats_text_lcores() {
  local n want
  want=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["lcores"]))' \
    "$T_TMP/stats1.json") || return 1
  # Rows of the LCORE table: "<lcore> <busy%> <rx> <tx> <drops>".
  n=$(awk '$1 == "LCORE" {t = 1; next} t && NF == 5 && $2 ~ /%$/ {n++} NF == 0 {t = 0} END {print n + 0}' \
    "$T_TMP/stats1.txt")
  ((n == want && n > 0)) || {
    cat "$T_TMP/stats1.txt"
    echo "$n lcore rows with a BUSY percentage in porticoctl stats, expected $want"
    return 1
  }
  grep -qE '^fwd\.to_backend +[1-9]' "$T_TMP/stats1.txt" || {
    echo "no non-zero fwd.to_backend in the totals"
    return 1
  }
}
check stats_text_lcore_rows stats_text_lcores

# --- ListFlows: a paced download, filters, limit ---------------------------------------------

# A download held open on be1 (the drain below needs one there): new connections until one
# lands on be1, at most 8 tries (each lands there with probability 1/3).
download_on_be1() {
  local i
  for ((i = 1; i <= 8; i++)); do
    slow_start "dl$i" 6000000 500000 "$WEB4" || return 1
    [[ ${SLOW_BE[dl$i]} == be1 ]] && {
      DL=dl$i
      return 0
    }
  done
  echo "none of 8 downloads went to be1"
  return 1
}
DL=""
require download_on_be1 download_on_be1
SNAT_PORT=${SLOW_PEER[$DL]#* }

# flows_json NAME ARGS...: porticoctl flows -o json ARGS into $T_TMP/NAME.json.
flows_json() {
  local name=$1
  shift
  ctl flows -o json "$@" >"$T_TMP/$name.json" 2>&1 || {
    cat "$T_TMP/$name.json"
    echo "porticoctl flows $* failed"
    return 1
  }
}
# has_dl NAME YES|NO: the flows of NAME.json include the download (client 198.51.100.2, VIP
# WEB4:80, backend be1:8080, SNAT 198.51.100.11:<the port be1 saw>, established) or not.
has_dl() {
  "$PYTHON" - "$T_TMP/$1.json" "$2" "${TB_ADDR4[client]}" "$WEB4:80" "${TB_ADDR4[be1]}:8080" \
    "$TB_SNAT4:$SNAT_PORT" <<'PY'
import json, sys
path, want, client, vip, backend, snat = sys.argv[1:]
flows = json.load(open(path)).get("flows", [])
# A SNAT port is unique per backend only: the download is its backend and SNAT address:port.
hits = [f for f in flows if f.get("snat") == snat and f["backend"] == backend]
ok = [f for f in hits if f["client"].rsplit(":", 1)[0] == client and f["vip"] == vip
      and f["protocol"] == "TCP" and f["state"] == "established"]
print("%d flows, %d from %s to %s" % (len(flows), len(hits), snat, backend))
if want == "YES" and len(ok) != 1:
    print(json.dumps(hits or flows[:5]))
    print("the download's flow (client %s, vip %s, backend %s, snat %s) is not listed once"
          % (client, vip, backend, snat))
    sys.exit(1)
if want == "NO" and hits:
    print("the download's flow is listed: %s" % json.dumps(hits))
    sys.exit(1)
PY
}
flows_show() {
  local name=$1 want=$2
  shift 2
  flows_json "$name" "$@" && has_dl "$name" "$want"
}
check flows_all flows_show f_all YES
check flows_vip flows_show f_vip YES --vip "$WEB4"
check flows_vip_port flows_show f_vipp YES --vip "$WEB4:80"
check flows_other_vip flows_show f_novip NO --vip "$EMPTY4"
check flows_backend flows_show f_be YES --backend "${TB_ADDR4[be1]}:8080"
check flows_other_backend flows_show f_nobe NO --backend "${TB_ADDR4[be2]}"
check flows_client flows_show f_cl YES --client "${TB_ADDR4[client]}"
check flows_other_client flows_show f_nocl NO --client 198.51.100.99
# Every flow the backend filter lets through goes to that backend (the filter narrows).
flows_narrowed() {
  "$PYTHON" - "$T_TMP/f_be.json" "${TB_ADDR4[be1]}:8080" "$T_TMP/f_all.json" <<'PY'
import json, sys
be = json.load(open(sys.argv[1])).get("flows", [])
every = json.load(open(sys.argv[3])).get("flows", [])
other = [f for f in be if f["backend"] != sys.argv[2]]
print("%d flows in all, %d to %s" % (len(every), len(be), sys.argv[2]))
if other:
    print("the backend filter let through: %s" % json.dumps(other[:3]))
    sys.exit(1)
if not [f for f in every if f["backend"] != sys.argv[2]]:
    print("every flow goes to %s: the filter was not put to the test" % sys.argv[2])
    sys.exit(1)
PY
}
check flows_backend_narrows flows_narrowed
# --limit: exactly N and `truncated` when more match; N = all of them: not truncated.
flows_limit() {
  local total out
  flows_json f_lim_all --vip "$WEB4" || return 1
  total=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("flows", [])))' \
    "$T_TMP/f_lim_all.json")
  ((total >= 2)) || {
    echo "only $total flow(s) to $WEB4: --limit cannot be checked"
    return 1
  }
  flows_json f_lim1 --vip "$WEB4" --limit 1 || return 1
  "$PYTHON" - "$T_TMP/f_lim1.json" <<'PY' || return 1
import json, sys
d = json.load(open(sys.argv[1]))
if len(d.get("flows", [])) != 1 or d.get("truncated") is not True:
    print(json.dumps(d))
    print("--limit 1: expected one flow and truncated")
    sys.exit(1)
PY
  out=$(ctl flows --vip "$WEB4" --limit 1)
  grep -q '^(more flows match' <<<"$out" || {
    echo "$out"
    echo "the text output does not say that more flows match"
    return 1
  }
  # Flows may end between two calls, never start: none is started now.
  flows_json f_lim_n --vip "$WEB4" --limit "$total" || return 1
  "$PYTHON" - "$T_TMP/f_lim_n.json" "$total" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = len(d.get("flows", []))
if n > int(sys.argv[2]) or d.get("truncated"):
    print(json.dumps(d)[:500])
    print("--limit %s (every flow): %d flows, truncated %s" % (sys.argv[2], n, d.get("truncated")))
    sys.exit(1)
PY
}
check flows_limit flows_limit
flows_bad_filter() {
  local out rc
  out=$(ctl flows --vip not-an-address 2>&1)
  rc=$?
  if ((rc == 1)) && [[ $out == *INVALID_ARGUMENT* ]]; then return 0; fi
  echo "$out"
  echo "flows --vip not-an-address: exit $rc, expected 1 (INVALID_ARGUMENT)"
  return 1
}
check flows_bad_filter_refused flows_bad_filter

# --- Drain of a backend ----------------------------------------------------------------------

drain_be1() {
  local out
  out=$(ctl drain backend "${TB_ADDR4[be1]}:8080") || {
    echo "$out"
    return 1
  }
  echo "$out"
  grep -q "Service bgp/web: ${TB_ADDR4[be1]}:8080" <<<"$out" || {
    echo "the drain does not name Service bgp/web's endpoint"
    return 1
  }
}
check drain_backend drain_be1
ctl stats -o json >"$T_TMP/stats_drain0.json" 2>&1
check drained_no_new_connections get_many drained 30 "http://$WEB4/"
ctl stats -o json >"$T_TMP/stats_drain1.json" 2>&1
# Per-backend connections in GetStats: be1 got none of the 30, the two others all of them.
drained_backend_counts() {
  "$PYTHON" - "$T_TMP/stats_drain0.json" "$T_TMP/stats_drain1.json" "$WEB4" \
    "${TB_ADDR4[be1]}:8080" <<'PY'
import json, sys
def conns(path):
    out = {}
    for b in json.load(open(path)).get("backends", []):
        if b["service"] == "bgp/web" and b["address"] == sys.argv[3] and b["port"] == 80:
            out[b["backend"]] = int(b.get("traffic", {}).get("connections", 0))
    return out
a, b = conns(sys.argv[1]), conns(sys.argv[2])
grew = {k: b.get(k, 0) - a.get(k, 0) for k in b}
print("new connections per backend during the drain:", grew)
be1 = sys.argv[4]
if be1 not in grew or len(grew) != 3:
    sys.exit("expected bgp/web's three IPv4 backends in GetStats, got %s" % sorted(b))
if grew[be1] != 0:
    sys.exit("the drained backend counts %d new connections" % grew[be1])
if sum(grew.values()) < 30:
    sys.exit("the other backends count %d new connections, expected 30" % sum(grew.values()))
PY
}
check stats_drained_backend_counts drained_backend_counts
check drained_backend_avoided never_from drained be1
# The drain covers the Gateway's backend pools too (HTTPRoute bgp/app -> Service bgp/app).
gw_after_drain() {
  ctl stats -o json >"$T_TMP/stats_gw0.json" 2>&1
  get_many drained_gw 30 "http://$GW4/" -H "Host: app.example" && return 0
  ctl stats -o json >"$T_TMP/stats_gw1.json" 2>&1
  grep -n ERR "$T_TMP/drained_gw.out"
  "$PYTHON" - "$T_TMP/stats_gw0.json" "$T_TMP/stats_gw1.json" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ta = {c["name"]: int(c.get("value", 0)) for c in a.get("totals", [])}
for c in b.get("totals", []):
    d = int(c.get("value", 0)) - ta.get(c["name"], 0)
    if d and (c["name"].startswith(("l7.", "drop.", "fwd.", "reply.", "flows."))):
        print("  %s +%d" % (c["name"], d))
PY
  return 1
}
check drained_gateway_answered gw_after_drain
check drained_gateway_avoided never_from drained_gw be1
check drained_download_running slow_running "$DL"
# draining_is BACKEND yes|no: porticoctl stats' backend table says so for bgp/web's v4 port.
draining_is() {
  local out got
  out=$(ctl stats) || return 1
  got=$(awk -v vip="$WEB4" -v be="$1" '$1 == "bgp/web" && $2 == vip && $3 == 80 && $4 == be {print $NF}' \
    <<<"$out")
  [[ $got == "$2" ]] || {
    echo "$out" | grep -E "^(SERVICE|bgp/web) "
    echo "porticoctl stats: DRAINING of $1 is '${got:-no row}', expected $2"
    return 1
  }
}
check stats_shows_drained draining_is "${TB_ADDR4[be1]}:8080" yes
check stats_others_not_drained draining_is "${TB_ADDR4[be2]}:8080" no
drain_events() {
  ctl events --replay --timeout 1 >"$T_TMP/ev_drain.txt" 2>&1
  grep -E "Drained +backend ${TB_ADDR4[be1]}:8080 drained" "$T_TMP/ev_drain.txt" || {
    tail -n 5 "$T_TMP/ev_drain.txt"
    echo "no Drained event for ${TB_ADDR4[be1]}:8080"
    return 1
  }
}
check drain_event drain_events
check undrain_backend ctl drain backend "${TB_ADDR4[be1]}:8080" --undo
undo_again() {
  local out rc
  out=$(ctl drain backend "${TB_ADDR4[be1]}:8080" --undo 2>&1)
  rc=$?
  if ((rc == 1)) && [[ $out == *NOT_FOUND* ]]; then return 0; fi
  echo "$out"
  echo "a second --undo: exit $rc, expected 1 (NOT_FOUND)"
  return 1
}
check undrain_twice_not_found undo_again
be1_again() {
  local n
  get_many undrained 30 "http://$WEB4/" || return 1
  n=$(count_of "$T_TMP/undrained.out" be1)
  ((n > 0)) || {
    echo "be1 got none of 30 new connections after --undo"
    return 1
  }
}
check undrained_backend_used be1_again
check stats_shows_undrained draining_is "${TB_ADDR4[be1]}:8080" no
check download_on_drained_intact slow_intact "$DL" 30

# --- WatchEvents: replay of an earlier apply, then a live one ---------------------------------

svc_yaml() {
  cat <<YAML
apiVersion: v1
kind: Service
metadata:
  name: $1
  namespace: live
  annotations:
    metallb.io/loadBalancerIPs: $2
spec:
  type: LoadBalancer
  ports:
    - name: http
      port: 80
YAML
}
svc_yaml api-one "$NEW4" >"$T_TMP/one.yaml"
svc_yaml api-two "$NEW5" >"$T_TMP/two.yaml"
check apply_before_watch ctl apply -f "$T_TMP/one.yaml"
replayed() {
  local out
  # --count ends it at once: well before the timeout.
  out=$(timeout 10 "$CTL" --api "unix://$SOCK" events --replay --count 1 --timeout 8)
  [[ $(grep -c . <<<"$out") == 1 ]] || {
    echo "$out"
    echo "--count 1 printed $(grep -c . <<<"$out") lines"
    return 1
  }
  ctl events --replay --timeout 1 >"$T_TMP/ev_replay.txt" 2>&1 || {
    cat "$T_TMP/ev_replay.txt"
    return 1
  }
  if grep -E "ConfigApplied +Service/live/api-one: created through the API" "$T_TMP/ev_replay.txt" &&
    grep -E "IPAllocated +Service/live/api-one: .*$NEW4" "$T_TMP/ev_replay.txt"; then
    return 0
  fi
  tail -n 8 "$T_TMP/ev_replay.txt"
  echo "the replay lacks ConfigApplied or IPAllocated of Service/live/api-one"
  return 1
}
check events_replay replayed
live_event() {
  local pid n
  ctl events --replay --timeout 15 >"$T_TMP/ev_live.txt" 2>&1 &
  pid=$!
  BG_PIDS+=("$pid")
  # The replay has arrived: the stream is open before the apply.
  wait_until 5 grep -q "Service/live/api-one: created" "$T_TMP/ev_live.txt" || {
    echo "the watcher printed no replay within 5 s"
    return 1
  }
  n=$(grep -c . "$T_TMP/ev_live.txt")
  ctl apply -f "$T_TMP/two.yaml" || return 1
  wait_until 5 grep -qE "ConfigApplied +Service/live/api-two: created" "$T_TMP/ev_live.txt" || {
    tail -n 5 "$T_TMP/ev_live.txt"
    echo "no live ConfigApplied event for Service/live/api-two within 5 s"
    return 1
  }
  grep -qE "IPAllocated +Service/live/api-two: .*$NEW5" "$T_TMP/ev_live.txt" || {
    echo "no live IPAllocated event for $NEW5"
    return 1
  }
  echo "# $n lines before the apply, $(grep -c . "$T_TMP/ev_live.txt") after"
  stop_pid "$pid" 2
}
check events_live live_event
check applied_vip_answers arp_from "$NEW5" "$MAC" 2

# --- ListBgpPeers against what BIRD received; the node drain ---------------------------------

check bird_session_v4 bgp_session_up bird "$TB_NODE4"
check bird_session_v6 bgp_session_up bird "$TB_NODE6" 15
WANT4=("$GW4/32 $ROUTE_ATTRS" "$WEB4/32 $ROUTE_ATTRS")
check bird_routes_v4 bgp_routes_are bird ipv4 10 "${WANT4[@]}"

PEER4=metallb-system/router-v4
PEER6=metallb-system/router-v6
peers_established() {
  local out p
  out=$(ctl bgp) || return 1
  echo "$out"
  for p in "$PEER4 ${TB_ADDR4[router]}" "$PEER6 ${TB_ADDR6[router]}"; do
    awk -v n="${p% *}" -v a="${p#* }" \
      '$1 == n && $2 == a && $3 == 64500 && $4 == "Established" {f = 1} END {exit !f}' \
      <<<"$out" || {
      echo "peer ${p% *} is not listed Established at ${p#* } (AS 64500)"
      return 1
    }
  done
}
check bgp_peers_established peers_established
# api_routes_match_bird FAMILY PEER: the peer's routes in ListBgpPeers (-o json) are what
# BIRD received, prefix and communities.
api_routes_match_bird() {
  ctl bgp -o json >"$T_TMP/bgp.json" || return 1
  bgp_routes bird "$1" >"$T_TMP/bird_$1.txt" || return 1
  "$PYTHON" - "$T_TMP/bgp.json" "$2" "$T_TMP/bird_$1.txt" <<'PY'
import json, sys
peers = json.load(open(sys.argv[1])).get("peers", [])
peer = [p for p in peers if p["name"] == sys.argv[2]]
if len(peer) != 1:
    print("peer %s listed %d times" % (sys.argv[2], len(peer)))
    sys.exit(1)
api = {}
for r in peer[0].get("routes", []):
    api[r["prefix"]] = sorted(r.get("communities", []))
bird = {}
for line in open(sys.argv[3]):
    f = line.split()
    if not f:
        continue
    attrs = dict(a.split("=", 1) for a in f[1:])
    comms = attrs.get("communities", "").split(",") if attrs.get("communities") else []
    comms += ["large:" + c for c in attrs.get("large", "").split(",") if c]
    bird[f[0]] = sorted(comms)
print("api:", api)
print("bird:", bird)
ebgp_lp = [r["prefix"] for r in peer[0].get("routes", []) if r.get("hasLocalPref")]
if ebgp_lp:
    print("LOCAL_PREF reported for eBGP peer %s on %s (it is sent to iBGP peers only)"
          % (sys.argv[2], ebgp_lp))
    sys.exit(1)
if not api or api != bird:
    print("ListBgpPeers' routes for %s differ from BIRD's" % sys.argv[2])
    sys.exit(1)
PY
}
check bgp_routes_match_bird_v4 api_routes_match_bird ipv4 "$PEER4"
check bgp_routes_match_bird_v6 api_routes_match_bird ipv6 "$PEER6"
bgp_routes_text() {
  local out
  out=$(ctl bgp routes) || return 1
  # eBGP: no LOCAL-PREF (bgp.yaml's localPref 150 is for iBGP peers only).
  grep -qE "^$PEER4 +$WEB4/32 +64512:100,65535:65281,large:64512:1:2 +-$" <<<"$out" || {
    echo "$out"
    echo "porticoctl bgp routes has no row for $WEB4/32 to $PEER4 with its communities and no LOCAL-PREF"
    return 1
  }
}
check bgp_routes_text bgp_routes_text

check drain_node ctl drain node
check node_drain_withdraws_web bgp_route_absent bird ipv4 "$WEB4/32" 10
check node_drain_withdraws_gateway bgp_route_absent bird ipv4 "$GW4/32" 5
check node_drain_withdraws_v6 bgp_route_absent bird ipv6 "2001:db8:200::20/128" 5
drained_node_api() {
  local out
  out=$(ctl bgp) || return 1
  echo "$out"
  awk -v n="$PEER4" '$1 == n && $4 == "Established" && $7 == 0 {f = 1} END {exit !f}' <<<"$out" || {
    echo "$PEER4 should stay Established with 0 prefixes sent while the node is drained"
    return 1
  }
}
check node_drain_session_kept drained_node_api
check node_drain_arp_answered arp_from "$WEB4" "$MAC" 3
check node_drain_still_serves get_many nodedrained 5 "http://$WEB4/"
# Drains survive a restart (STATE_DIR/drains.json): the node stays drained (its session comes
# back with nothing announced) and be1 takes no new connection until --undo.
check drain_backend_again ctl drain backend "${TB_ADDR4[be1]}:8080"
check drains_file_kept grep -q "\"${TB_ADDR4[be1]}:8080\"" "$T_TMP/state/drains.json"
check stopped_drained stop_portico
require portico_restarted_drained start_portico "$CONF"
check restart_logs_drains grep -q "event=drains_kept node=true" "$PORTICO_LOG"
check restart_session_back bgp_session_up bird "$TB_NODE4" 20
check restart_node_still_drained drained_node_api
check restart_web_not_announced bgp_route_absent bird ipv4 "$WEB4/32" 3
check restart_drained_avoided get_many restarted 20 "http://$WEB4/"
check restart_be1_avoided never_from restarted be1
check restart_undrain_backend ctl drain backend "${TB_ADDR4[be1]}:8080" --undo
check undrain_node ctl drain node --undo
check drains_file_removed test ! -e "$T_TMP/state/drains.json"
check node_undrain_routes_back bgp_routes_are bird ipv4 10 "${WANT4[@]}"
check node_undrain_routes_match api_routes_match_bird ipv4 "$PEER4"

check stopped stop_portico

finish
