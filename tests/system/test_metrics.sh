#!/usr/bin/env bash
# The Prometheus endpoint (spec.api.metrics, 127.0.0.1:9478 in the demo and test configs),
# scraped with curl inside Portico's namespace and read with prometheus_client's text parser:
# every family with its type, HELP and labels; one lcore label per worker, every drop reason,
# the uplink's interface name; counters grow with traffic (ARP, echo to a VIP) and the lcore's
# busy + idle seconds follow the wall clock; a reload moves the generation and the reload
# gauges, a rejected one sets last_reload_success to 0; HEAD, 404 and 405; then with BIRD
# peering over IPv4 (configs/bgp.yaml): the session is up, Established, with prefixes sent.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/system/lib_bgp.sh
. "$(dirname "$0")/lib_bgp.sh"

VIP4=203.0.113.10  # held by a demo Service (test_l2 checks the allocation)
WEB4=203.0.113.11  # demo/web's IPv4 address, endpoints be1..be3:8080
URL=http://127.0.0.1:9478/metrics
CONF="$T_TMP/conf"

require portico_built portico_built
require prometheus_parser "$PYTHON" -c 'import prometheus_client.parser'

# scrape FILE: GET /metrics from inside Portico's namespace; headers in FILE.head.
scrape() {
  in_ns portico curl -sS -m 5 -D "$1.head" -o "$1" "$URL" || return 1
  head -n 1 "$1.head"
  grep -q '^HTTP/1.1 200' "$1.head" || return 1
}

# metrics MODE ARGS...: the parser-side checks (below), one Python for all of them.
metrics() {
  "$PYTHON" - "$REPO_ROOT" "$@" <<'PY'
import re, sys
from prometheus_client.parser import text_string_to_metric_families

root, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def load(path):
    fams = {}
    for f in text_string_to_metric_families(open(path).read()):
        if f.name in fams:
            sys.exit(f"family {f.name} appears twice")
        fams[f.name] = f
    return fams

def total(fams, fam, sample, **want):
    return sum(s.value for s in fams[fam].samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in want.items()))

# The drop reasons and L7 counters from the source's x-macros, not a copy of them.
reasons = re.findall(r'X\(k\w+, "(\w+)"\)', open(f"{root}/nf/drop_reason.h").read())
l7 = re.findall(r'X\(\w+, "(\w+)"\)', open(f"{root}/nf/l7.h").read())
LC = {"lcore"}
expected = {  # family (as the parser names it: counters without _total) -> type, label names
    "portico_info": ("gauge", {"version"}),
    "portico_config_generation": ("gauge", set()),
    "portico_config_last_reload_success": ("gauge", set()),
    "portico_config_last_reload_timestamp_seconds": ("gauge", set()),
    "portico_announce_failures": ("counter", set()),
    "portico_lcore_rx_packets": ("counter", LC), "portico_lcore_tx_packets": ("counter", LC),
    "portico_lcore_punted_packets": ("counter", LC),
    "portico_lcore_from_kernel_packets": ("counter", LC),
    "portico_lcore_announced_packets": ("counter", LC),
    "portico_flows_created": ("counter", LC), "portico_flows_stateless": ("counter", LC),
    "portico_flows_backend_gone": ("counter", LC), "portico_flows_expired": ("counter", LC),
    "portico_connections": ("gauge", LC),
    "portico_handoffs_sent": ("counter", LC), "portico_handoffs_received": ("counter", LC),
    "portico_neighbor_held_packets": ("counter", LC),
    "portico_neighbor_released_packets": ("counter", LC),
    "portico_l7_consumed_packets": ("counter", LC),
    "portico_replies": ("counter", {"lcore", "kind"}),
    "portico_forwards": ("counter", {"lcore", "kind"}),
    "portico_drops": ("counter", {"lcore", "reason"}),
    "portico_lcore_busy_seconds": ("counter", LC), "portico_lcore_idle_seconds": ("counter", LC),
    "portico_lcore_driver_seconds": ("counter", LC),
    "portico_bgp_session_up": ("gauge", {"peer", "address"}),
    "portico_bgp_session_state": ("gauge", {"peer", "state"}),
    "portico_bgp_established_transitions": ("counter", {"peer"}),
    "portico_bgp_updates_sent": ("counter", {"peer"}),
    "portico_bgp_updates_received": ("counter", {"peer"}),
    "portico_bgp_prefixes_advertised": ("gauge", {"peer"}),
    "portico_bgp_prefixes_received": ("counter", {"peer"}),
    "portico_bgp_notifications_sent": ("counter", {"peer"}),
    "portico_bgp_notifications_received": ("counter", {"peer"}),
}
for kind, labels in (("vip", {"vip"}), ("service", {"service", "vip", "protocol", "port"}),
                     ("backend", {"service", "vip", "port", "backend"})):
    expected[f"portico_{kind}_packets"] = ("counter", labels | {"direction"})
    expected[f"portico_{kind}_bytes"] = ("counter", labels | {"direction"})
    expected[f"portico_{kind}_connections"] = ("counter", labels)
expected["portico_backend_draining"] = ("gauge", {"service", "vip", "port", "backend"})
for name in ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors",
             "rx_missed", "rx_nombuf"):
    expected[f"portico_port_{name}"] = ("counter", {"interface"})
for name in l7:
    expected[f"portico_l7_{name}"] = ("counter", LC)

if mode == "structure":  # FILE WORKERS(comma-separated lcores) VERSION
    path, workers, version = args
    fams = load(path)
    problems = []
    for name, (typ, labels) in expected.items():
        f = fams.get(name)
        if f is None:
            problems.append(f"missing family {name}")
            continue
        if f.type != typ:
            problems.append(f"{name}: type {f.type}, expected {typ}")
        if not f.documentation.strip():
            problems.append(f"{name}: no HELP text")
        for s in f.samples:
            if set(s.labels) != labels:
                problems.append(f"{s.name}: labels {sorted(s.labels)}, expected {sorted(labels)}")
                break
        if typ == "counter" and any(not s.name.endswith("_total") for s in f.samples):
            problems.append(f"{name}: a counter sample without _total")
    extra = set(fams) - set(expected)
    if extra:
        problems.append(f"families nobody expects: {sorted(extra)}")
    want_lcores = set(workers.split(","))
    for name in ("portico_lcore_rx_packets", "portico_lcore_busy_seconds", "portico_connections"):
        got = {s.labels["lcore"] for s in fams[name].samples}
        if got != want_lcores:
            problems.append(f"{name}: lcores {sorted(got)}, expected {sorted(want_lcores)}")
    for lc in want_lcores:
        got = {s.labels["reason"] for s in fams["portico_drops"].samples if s.labels["lcore"] == lc}
        if got != set(reasons):
            problems.append(f"lcore {lc}: drop reasons {sorted(set(reasons) ^ got)} differ")
    ifaces = {s.labels["interface"] for s in fams["portico_port_rx_packets"].samples}
    if ifaces != {"uplink"}:
        problems.append(f"port interfaces {sorted(ifaces)}, expected ['uplink']")
    info = fams["portico_info"].samples
    if len(info) != 1 or info[0].labels != {"version": version} or info[0].value != 1:
        problems.append(f"portico_info: {info}, expected version {version}")
    for p in problems:
        print(p)
    print(f"{len(fams)} families, {sum(len(f.samples) for f in fams.values())} samples")
    sys.exit(1 if problems else 0)

if mode == "grew":  # BEFORE AFTER SECONDS_BETWEEN: traffic counters grew, time adds up
    a, b, elapsed = load(args[0]), load(args[1]), float(args[2])
    problems = []
    def grew(fam, sample, at_least, **labels):
        d = total(b, fam, sample, **labels) - total(a, fam, sample, **labels)
        print(f"{sample}{labels or ''}: +{d:g}")
        if d < at_least:
            problems.append(f"{sample}{labels or ''} grew by {d:g}, expected at least {at_least}")
    grew("portico_lcore_rx_packets", "portico_lcore_rx_packets_total", 8)
    grew("portico_lcore_tx_packets", "portico_lcore_tx_packets_total", 8)
    grew("portico_replies", "portico_replies_total", 3, kind="arp")
    grew("portico_replies", "portico_replies_total", 5, kind="echo")
    grew("portico_port_rx_packets", "portico_port_rx_packets_total", 8, interface="uplink")
    grew("portico_port_rx_bytes", "portico_port_rx_bytes_total", 8 * 42, interface="uplink")
    grew("portico_lcore_busy_seconds", "portico_lcore_busy_seconds_total", 1e-7)
    grew("portico_lcore_idle_seconds", "portico_lcore_idle_seconds_total", 0.1)
    # Each worker's busy + idle is its whole time: per lcore it follows the wall clock.
    for s in b["portico_lcore_busy_seconds"].samples:
        lc = s.labels["lcore"]
        spent = sum(total(x, f"portico_lcore_{k}_seconds", f"portico_lcore_{k}_seconds_total",
                          lcore=lc) * sign
                    for x, sign in ((b, 1), (a, -1)) for k in ("busy", "idle"))
        print(f"lcore {lc}: busy + idle grew {spent:.3f} s in {elapsed:.3f} s")
        if not 0.7 * elapsed <= spent <= 1.1 * elapsed + 0.5:
            problems.append(f"lcore {lc}: busy + idle grew {spent:.3f} s, wall clock {elapsed:.3f} s")
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)

if mode == "value":  # FILE SAMPLE [label=value...]: the sum of the matching samples
    fams = load(args[0])
    labels = dict(kv.split("=", 1) for kv in args[2:])
    fam = re.sub(r"_total$", "", args[1])
    if fam not in fams:
        sys.exit(f"no family {fam}")
    v = total(fams, fam, args[1], **labels)
    print(int(v) if v == int(v) else repr(v))  # exact: no %g rounding of timestamps
    sys.exit(0)

sys.exit(f"unknown mode {mode}")
PY
}

# value_is FILE SAMPLE WANT [label=value...]
value_is() {
  local got
  got=$(metrics value "$1" "$2" "${@:4}") || {
    echo "$got"
    return 1
  }
  [[ $got == "$3" ]] || {
    echo "$2 ${*:4} is $got, expected $3"
    return 1
  }
}

# value_at_least FILE SAMPLE MIN [label=value...]
value_at_least() {
  local got
  got=$(metrics value "$1" "$2" "${@:4}") || {
    echo "$got"
    return 1
  }
  "$PYTHON" -c "import sys; sys.exit(0 if float('$got') >= float('$3') else 1)" || {
    echo "$2 ${*:4} is $got, expected at least $3"
    return 1
  }
}

http_status_is() {  # METHOD PATH WANT
  local code
  code=$(in_ns portico curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" \
    "http://127.0.0.1:9478$2")
  [[ $code == "$3" ]] || {
    echo "$1 $2: HTTP $code, expected $3"
    return 1
  }
}

reload_is() {  # ok|failed
  local line
  line=$(portico_reload) || {
    printf '%s\n' "$line"
    return 1
  }
  printf '%s\n' "$line"
  [[ $line == *"event=reload_$1"* ]] || {
    echo "expected event=reload_$1, got: $line"
    return 1
  }
}

head_has_no_body() {
  local out
  out=$(in_ns portico curl -sS -m 5 -I "$URL") || return 1
  printf '%s\n' "$out"
  grep -q '^HTTP/1.1 200' <<<"$out" && grep -qi '^Content-Length: [1-9]' <<<"$out"
}

content_type_ok() {
  grep -i '^Content-Type:' "$1.head"
  grep -qi '^Content-Type: text/plain; version=0.0.4' "$1.head"
}

listening_logged() {
  grep -m 1 'event=metrics_listening' "$PORTICO_LOG" || {
    log_tail
    echo "no event=metrics_listening in the log"
    return 1
  }
}

# ---- the demo, from a directory (reloads below) ----
require testbed_up testbed_up
mkdir -p "$CONF"
cp "$DEMO_CONFIG" "$CONF/00-demo.yaml"
require portico_ready start_portico "$CONF"
require metrics_listening listening_logged
WORKERS=$(grep -m 1 -oE 'event=ready .* workers=[0-9,]+' "$PORTICO_LOG" | sed 's/.*workers=//')
GEN0=$(grep -m 1 -oE 'event=ready .* generation=[0-9]+' "$PORTICO_LOG" | sed 's/.*generation=//')
VERSION=$("$PORTICO" --version | awk '{print $2}')
echo "# workers=$WORKERS generation=$GEN0 version=$VERSION"

S1="$T_TMP/scrape1.txt"
S2="$T_TMP/scrape2.txt"
require scrape_first scrape "$S1"
T1=$(date +%s.%N)
check content_type content_type_ok "$S1"
check families_types_help_labels metrics structure "$S1" "$WORKERS" "$VERSION"
check generation_at_start value_is "$S1" portico_config_generation "$GEN0"
check reload_success_at_start value_is "$S1" portico_config_last_reload_success 1
check reload_timestamp_at_start value_at_least "$S1" \
  portico_config_last_reload_timestamp_seconds "$(($(date +%s) - 120))"

# Traffic: ARP and echo to a VIP, answered by the workers.
check arp_vip arp_from "$VIP4" "$(portico_mac)" 3
check ping_vip ping_ok "$VIP4" 5
# And two connection attempts to demo/web (203.0.113.11:80): no backend listens here, but each
# SYN is balanced to one of be1..be3, a new flow of that service port and backend.
in_ns client curl -s --max-time 2 "http://$WEB4/" >/dev/null 2>&1
in_ns client curl -s --max-time 2 "http://$WEB4/" >/dev/null 2>&1
sleep 1.2  # past the control thread's once-a-second refresh of the port counters
require scrape_second scrape "$S2"
T2=$(date +%s.%N)
check counters_grew metrics grew "$S1" "$S2" "$(awk "BEGIN {print $T2 - $T1}")"
check service_connections value_at_least "$S2" portico_service_connections_total 2 \
  service=demo/web vip="$WEB4" protocol=TCP port=80
check backend_connections value_at_least "$S2" portico_backend_connections_total 2 \
  service=demo/web vip="$WEB4"
check vip_packets_in value_at_least "$S2" portico_vip_packets_total 2 vip="$WEB4" direction=in

check head_request head_has_no_body
check not_found_path http_status_is GET / 404
check post_not_allowed http_status_is POST /metrics 405

# ---- reloads: generation and the last reload's result ----
cat >"$CONF/10-extra.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: extra
  namespace: demo
  annotations:
    metallb.io/loadBalancerIPs: 203.0.113.45
spec:
  type: LoadBalancer
  selector:
    app: extra
  ports:
    - name: http
      port: 8081
YAML
S3="$T_TMP/scrape3.txt"
check reload_ok reload_is ok
check scrape_after_reload scrape "$S3"
check generation_after_reload value_is "$S3" portico_config_generation $((GEN0 + 1))
check reload_success_after_reload value_is "$S3" portico_config_last_reload_success 1

printf 'apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: bad, namespace: metallb-system}\nspec: {addresses: [300.1.2.0/24]}\n' \
  >"$CONF/20-bad.yaml"
S4="$T_TMP/scrape4.txt"
check reload_rejected reload_is failed
check scrape_after_rejected scrape "$S4"
check generation_kept value_is "$S4" portico_config_generation $((GEN0 + 1))
check reload_failure_reported value_is "$S4" portico_config_last_reload_success 0
rm -f "$CONF/20-bad.yaml"
check no_bgp_peers value_is "$S4" portico_bgp_session_up 0
check stopped stop_portico

# ---- BGP: BIRD on the router, one IPv4 session ----
require portico_bgp_ready start_portico "$REPO_ROOT/tests/system/configs/bgp.yaml"
require bird_started start_bird --passive --peer 198.51.100.10
check bgp_established bgp_session_up bird 198.51.100.10
sleep 1.2
S5="$T_TMP/scrape5.txt"
check scrape_bgp scrape "$S5"
check bgp_session_up_metric value_is "$S5" portico_bgp_session_up 1 address=198.51.100.1
check bgp_state_established value_is "$S5" portico_bgp_session_state 1 state=Established
check bgp_one_state_per_peer value_is "$S5" portico_bgp_session_state 2
check bgp_updates_sent value_at_least "$S5" portico_bgp_updates_sent_total 1
check bgp_prefixes_advertised value_at_least "$S5" portico_bgp_prefixes_advertised 1
check bgp_transitions value_at_least "$S5" portico_bgp_established_transitions_total 1
check stopped_bgp stop_portico
finish
