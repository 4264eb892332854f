#!/usr/bin/env bash
# Sets up and runs Portico on the embedded default: installs missing packages, builds, brings
# up the network-namespace testbed (scripts/testbed.sh) and runs Portico in namespace pt-portico
# on config/examples/demo.yaml, with a test backend (tests/system/backend.py: HTTP on 8080, UDP
# echo on 5353) in each of pt-be1..3, the endpoints of the demo's Service demo/web. Prints what
# to try, then follows Portico's log until Ctrl-C, which stops Portico and the backends and
# removes the testbed. The backends stop by themselves after DEMO_BACKEND_SECONDS (3600).
# With the default configs, BIRD runs in pt-router as the BGP router Portico peers with
# (config/examples/bgp.yaml: AS 64512 -> AS 64500, IPv4 and IPv6 sessions).
#   sudo scripts/demo.sh [--config PATH ...] [--no-build]
#     --config      default: config/examples/demo.yaml, gateway.yaml and bgp.yaml
#     --no-build    skip scripts/deps.sh and scripts/build.sh: use the portico already built in
#                   $PORTICO_BUILD_DIR (default build/)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it creates network namespaces)" >&2; exit 2; }

configs=()
build_it=1
while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || { echo "demo.sh: --config needs a path" >&2; exit 2; }
              configs+=(--config "$2"); shift 2 ;;
    --no-build) build_it=0; shift ;;
    *) echo "usage: demo.sh [--config PATH ...] [--no-build]" >&2; exit 2 ;;
  esac
done
router_bgp=0
if [ ${#configs[@]} -eq 0 ]; then
  configs=(--config "$root/config/examples/demo.yaml" --config "$root/config/examples/gateway.yaml"
    --config "$root/config/examples/bgp.yaml")
  router_bgp=1
fi

build=${PORTICO_BUILD_DIR:-$root/build}
if [ "$build_it" = 1 ]; then
  scripts/deps.sh
  scripts/build.sh
fi
[ -x "$build/portico" ] || { echo "demo.sh: no $build/portico (build it, or drop --no-build)" >&2; exit 1; }
export TB_PREFIX=pt
log=$(mktemp /tmp/portico-demo.XXXXXX.log)
backend_log=${log%.log}.backends.log
ready_dir=$(mktemp -d /tmp/portico-demo.XXXXXX.ready)
python=/usr/bin/python3 # Debian's, as the system tests use
[ -x "$python" ] || python=python3
pid=""
backend_pids=()
bird_dir=""

# stop PID: TERM, up to 5 s, then KILL.
stop() {
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    stop "$pid"
    grep -E 'event=(summary|lcore_stats)' "$log" || true
  fi
  for b in "${backend_pids[@]}"; do stop "$b"; done
  scripts/testbed.sh down >/dev/null 2>&1 || true   # also stops BIRD in pt-router
  rm -rf "$ready_dir"
  [ -z "$bird_dir" ] || rm -rf "$bird_dir"
  echo "demo: stopped; testbed removed; log kept at $log (backends: $backend_log)"
}
trap cleanup EXIT INT TERM

scripts/testbed.sh up
# The router's side of config/examples/bgp.yaml: BIRD, passive (Portico dials it), taking
# Portico's routes into its table (RFC 8212 wants an explicit import policy for eBGP).
bird_dir=""
bgp_note="BGP: not in this run (custom --config, or no bird in PATH)"
if [ "$router_bgp" = 1 ] && command -v bird >/dev/null; then
  bird_dir=$(mktemp -d /tmp/portico-demo.XXXXXX.bird)
  cat >"$bird_dir/bird.conf" <<'BIRD'
router id 198.51.100.1;
protocol device { }
protocol bgp portico4 { local 198.51.100.1 as 64500; neighbor 198.51.100.10 as 64512; passive on;
  ipv4 { import all; export none; }; }
protocol bgp portico6 { local 2001:db8:100::1 as 64500; neighbor 2001:db8:100::10 as 64512;
  passive on; ipv6 { import all; export none; }; }
BIRD
  if ip netns exec pt-router bird -c "$bird_dir/bird.conf" -s "$bird_dir/bird.ctl" \
      -P "$bird_dir/bird.pid" >"$bird_dir/bird.log" 2>&1; then
    bgp_note="BGP: BIRD in pt-router (AS 64500) peers with Portico (AS 64512, config/examples/bgp.yaml):
  ip netns exec pt-router birdc -s $bird_dir/bird.ctl show protocols            # both sessions Established
  ip netns exec pt-router birdc -s $bird_dir/bird.ctl show route all            # the VIPs, next hop Portico
  (only addresses with usable endpoints: demo/web's and the Gateway demo/edge's, not demo/dns-tcp's)"
  else
    bgp_note="BGP: BIRD did not start in pt-router (see $bird_dir/bird.log)"
  fi
fi
"$build/portico" check "${configs[@]}"
ip netns exec pt-portico "$build/portico" run "${configs[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  grep -q 'event=ready' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "demo: portico exited" >&2; exit 1; }
  sleep 0.1
done
grep -q 'event=ready' "$log" || { cat "$log"; echo "demo: portico did not become ready" >&2; exit 1; }
mac=$(ip netns exec pt-portico cat /sys/class/net/veth0/address)

# The backends of demo/web (its EndpointSlice lists be1..be3, port 8080).
for be in be1 be2 be3; do
  ip netns exec "pt-$be" "$python" "$root/tests/system/backend.py" --name "$be" --tcp 8080 \
    --udp 5353 --ready-file "$ready_dir/$be" --max-seconds "${DEMO_BACKEND_SECONDS:-3600}" \
    </dev/null >>"$backend_log" 2>&1 &
  backend_pids+=($!)
done
for be in be1 be2 be3; do
  for _ in $(seq 50); do [ -f "$ready_dir/$be" ] && break; sleep 0.1; done
  [ -f "$ready_dir/$be" ] || { cat "$backend_log"; echo "demo: backend in pt-$be did not start" >&2; exit 1; }
done

# demo/web's IPv4 address as `portico check` assigns it (203.0.113.11 with demo.yaml).
web=$("$build/portico" check "${configs[@]}" -o json 2>/dev/null | "$python" -c '
import json, sys
for o in json.load(sys.stdin).get("objects", []):
    m = o.get("metadata", {})
    if o.get("kind") == "Service" and (m.get("namespace"), m.get("name")) == ("demo", "web"):
        for i in ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if ":" not in i.get("ip", ":"):
                print(i["ip"])
                break
' 2>/dev/null || true)
web=${web:-203.0.113.11}
first=$(ip netns exec pt-client curl -s --connect-timeout 2 --max-time 3 "http://$web/" || true)
if [ -n "$first" ]; then
  first="answered by $first"
else
  first="NOT answering yet: see $log and $backend_log"
fi

cat <<MSG

Portico is running in namespace pt-portico (pid $pid, port MAC $mac). Try, in another shell:
  ip netns exec pt-client arping -c 3 -i eth0 203.0.113.10      # a VIP: answered by the data plane
  ip netns exec pt-client ping -c 3 $web                 # ICMP echo to a VIP
  ip netns exec pt-client ping -6 -c 3 2001:db8:200::10          # ICMPv6 echo to an IPv6 VIP
  ip netns exec pt-client ndisc6 2001:db8:200::10 eth0           # NDP for an IPv6 VIP
  ip netns exec pt-client ping -c 3 198.51.100.10                # the node: answered by the kernel (tap)
  $build/portico check ${configs[*]}
  kill -USR1 $pid                                                # counters (event=stats) and BGP sessions (event=bgp_peer) into the log
  kill -HUP $pid                                                 # reload the config files

L4: demo/web is http://$web/, full NAT to be1..be3:8080 ($first):
  ip netns exec pt-client curl http://$web/                # the backend's name
  ip netns exec pt-client curl http://$web/peer            # what the backend sees: the SNAT address
  for i in \$(seq 30); do ip netns exec pt-client curl -s http://$web/; done | sort | uniq -c
  ip netns exec pt-client curl -o /dev/null -w '%{speed_download} B/s\n' 'http://$web/download?bytes=100000000'
  ip netns exec pt-client curl http://203.0.113.10:53/           # demo/dns-tcp has no endpoints: refused at once
L7: the Gateway demo/edge (config/examples/gateway.yaml) on 203.0.113.202:80, HTTPRoutes by host:
  ip netns exec pt-client curl -H 'Host: www.example.com' http://203.0.113.202/      # 90% web, 10% internal
  ip netns exec pt-client curl -H 'Host: www.example.com' -H 'X-Canary: always' http://203.0.113.202/api
  ip netns exec pt-client curl -si -H 'Host: old.example.com' http://203.0.113.202/x  # Portico's 301
  ip netns exec pt-client curl -si -H 'Host: nowhere.example' http://203.0.113.202/  # Portico's 404
  $build/portico match --config config/examples/demo.yaml --config config/examples/gateway.yaml \
      --to 203.0.113.202:80 --host www.example.com --path /search?engine=v2        # which rule, as JSON
$bgp_note
The loop shows the spread over be1..be3 (one new connection each). The backends log to
$backend_log and stop after ${DEMO_BACKEND_SECONDS:-3600} s.
Following the log ($log); Ctrl-C stops Portico and the backends and removes the testbed.

MSG
tail -n +1 -f "$log" --pid="$pid" || true
wait "$pid" || true
pid=""
