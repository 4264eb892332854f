#!/usr/bin/env bash
# HTTP side by side on the netns testbed (issue 4, point 7): the same requests, through the same
# routes to the same backends, sent
#
#   direct   from wrk straight to one backend (be1:8080): no load balancer at all, the ceiling
#            that only the client and the backends set;
#   nginx    through nginx configured as the reverse proxy equivalent to the Gateway
#            (perf/l7_compare/nginx-lb.conf.in), one worker pinned to CPU 1;
#   portico  through Portico's Gateway VIP 203.0.113.30:80 (perf/l7_compare/gateway.yaml), one
#            worker pinned to CPU 1, busy-polling;
#
# each in two modes: keep-alive (wrk's default: connections reused) and new connection per
# request (wrk sends "Connection: close", the server closes, wrk reconnects). wrk and the three
# backends (nginx, body "beN\n", header X-Backend) share CPU 0; the load balancer has CPU 1 to
# itself. Printed: one markdown table with requests/s, p99 latency, and the load balancer's CPU
# time per request:
#
#   nginx    utime + stime of the nginx worker (/proc/PID/stat, clock ticks) / requests. The
#            kernel's TCP work for nginx's sockets counts where it runs in nginx's context
#            (sends, and softirqs the kernel charges to the running task);
#   portico  the growth of cycles.busy in Portico's event=stats lines (TSC cycles of the
#            worker's non-empty polls, SIGUSR1 before and after) / TSC rate / requests;
#
# and, for context, all of CPU 1's non-idle time per request (/proc/stat): for a busy-polling
# Portico that is the whole run, and on a shared machine it includes anybody else's work there.
#
#   sudo perf/l7_compare.sh [--duration S] [--connections N] [--rounds R] [--nice N]
#                           [--no-rps] [--no-peer-rps] [--with-portico | --no-portico] [--ka-host HOST]
#                           [--out DIR]
#
# A veth delivers a frame in the sender's context: left alone, the kernel receive path of
# everything nginx or Portico receives would run on CPU 0 and be paid by wrk and the backends.
# Receive packet steering (rps_cpus of nginx's eth0 and of Portico's veth0 = CPU 1) moves it to
# the load balancer's core, where it belongs, and that of the client's and backends' eth0 (CPU
# 0) keeps their receive work off the load balancer's core, where the sender's context would
# otherwise put it; --no-rps turns both off.
#
# The testbed is its own (prefix "pf": namespaces pf-client, pf-be1..3, pf-router, pf-portico,
# pf-lan) plus pf-nginx, a namespace this script adds to the segment for the nginx proxy at
# 198.51.100.40. All of it is removed on exit, whatever happens. Documentation addresses only;
# nothing is added to the root namespace. Raw outputs (wrk, configs, logs, stats lines) go under
# perf/results/tmp/ (gitignored) unless --out says otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$repo/scripts/lib/common.sh"
# shellcheck source=scripts/lib/testbed_env.sh
. "$repo/scripts/lib/testbed_env.sh"

P=pf
NGINX_NS=$P-nginx
NGINX_ADDR=198.51.100.40
NGINX_MAC=00:00:5e:00:53:40
VIP=203.0.113.30
CONF_DIR=$here/l7_compare
PORTICO=${PORTICO:-$repo/build/portico}
[[ $PORTICO == /* ]] || PORTICO=$PWD/$PORTICO
LB_CPU=1   # the load balancer's core
LOAD_CPU=0 # wrk's and the backends' core

duration=10
connections=50
rounds=1
nice_level=-15
rps=1
peer_rps=1
portico_mode=auto # auto: when the binary exists and answers; on: --with-portico; off
ka_host=single.example
nc_host=bench.example
path=/a/bench
out=""

usage() {
  cat <<USAGE
usage: ${0##*/} [options]   (as root)
  --duration S        seconds per wrk run (default $duration)
  --connections N     concurrent wrk connections (default $connections)
  --rounds R          repeat the whole sequence R times (default $rounds); the table shows
                      medians, OUT/rounds.md every run (a shared machine is noisy)
  --nice N            niceness of wrk, the backends and the load balancers (default $nice_level:
                      ahead of other work on a shared machine; 0 = as the shell's)
  --no-peer-rps       leave the client's and backends' receive processing where veth puts it
                      (in the sender's context: what the load balancer sends is then
                      received on the load balancer's core, and charged to it)
  --no-rps            leave the load balancer's receive processing where veth puts it (on
                      the sender's CPU, CPU 0) instead of steering it to CPU 1 (see below)
  --with-portico      measure Portico even if $PORTICO is not where it is looked for
                      (set PORTICO=path); still skipped if it does not answer through the VIP
  --no-portico        direct and nginx only
  --ka-host HOST      Host of the keep-alive runs (default $ka_host: one backend set, so
                      Portico keeps the splice; bench.example makes it close every connection)
  --out DIR           where the raw outputs go (default perf/results/tmp/l7_compare-<time>)
  -h, --help          this text
Rows: direct (wrk -> be1:8080), nginx (wrk -> $NGINX_ADDR:80), portico (wrk -> $VIP:80), each
keep-alive and new connection per request ("Connection: close"). Path $path; new-connection
runs use Host $nc_host.
USAGE
}

while (($#)); do
  case $1 in
    --duration) (($# >= 2)) || die "--duration needs a value"; duration=$2; shift 2 ;;
    --connections) (($# >= 2)) || die "--connections needs a value"; connections=$2; shift 2 ;;
    --rounds) (($# >= 2)) || die "--rounds needs a value"; rounds=$2; shift 2 ;;
    --nice) (($# >= 2)) || die "--nice needs a value"; nice_level=$2; shift 2 ;;
    --no-rps) rps=0; shift ;;
    --no-peer-rps) peer_rps=0; shift ;;
    --with-portico) portico_mode=on; shift ;;
    --no-portico) portico_mode=off; shift ;;
    --ka-host) (($# >= 2)) || die "--ka-host needs a value"; ka_host=$2; shift 2 ;;
    --out) (($# >= 2)) || die "--out needs a value"; out=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
if ! [[ $duration =~ ^[0-9]+$ ]] || ((duration < 1 || duration > 600)); then
  die "--duration: 1..600 seconds"
fi
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 20)); then
  die "--rounds: 1..20"
fi
if ! [[ $nice_level =~ ^-?[0-9]+$ ]] || ((nice_level < -20 || nice_level > 19)); then
  die "--nice: -20..19"
fi
if ! [[ $connections =~ ^[0-9]+$ ]] || ((connections < 1 || connections > 10000)); then
  die "--connections: 1..10000"
fi
[[ $ka_host =~ ^(bench|single)\.example$ ]] || die "--ka-host: bench.example or single.example"

require_root
(($(nproc) >= 2)) || die "needs CPUs 0 and 1 (this machine has $(nproc))"

# wrk and nginx come from Debian; install them when missing (the Debian nginx package's service
# is never started: everything here runs nginx by hand with its own configuration).
install_missing() {
  local pkgs=()
  command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
  command -v nginx >/dev/null 2>&1 || pkgs+=(nginx-light)
  ((${#pkgs[@]} == 0)) && return 0
  log "installing ${pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${pkgs[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q "${pkgs[@]}" >/dev/null; } || die "apt-get install ${pkgs[*]} failed"
}
install_missing
require_commands ip ethtool sysctl taskset curl wrk nginx awk sed timeout

if [[ -z $out ]]; then
  out=$here/results/tmp/l7_compare-$(date -u +%Y%m%dT%H%M%SZ)
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
log "raw outputs: $out"

# --- processes and cleanup ---------------------------------------------------------------------

BG_PIDS=()
PORTICO_PID=""

alive() {
  [[ -n ${1:-} ]] || return 1
  local state
  state=$(awk '/^State:/ {print $2; exit}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# stop_pid PID [TIMEOUT]: TERM, up to TIMEOUT s (default 5), then KILL.
stop_pid() {
  local pid=$1 timeout=${2:-5} i
  alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

ns_exists() { ip netns list | awk -v n="$1" '$1 == n { f = 1 } END { exit !f }'; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  set +e
  [[ -n $PORTICO_PID ]] && stop_pid "$PORTICO_PID" 10
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid" 5; done
  if ns_exists "$NGINX_NS"; then
    # Only what this script started can be in its own namespace.
    for pid in $(ip netns pids "$NGINX_NS" 2>/dev/null); do stop_pid "$pid" 2; done
    ip netns del "$NGINX_NS" 2>/dev/null || log "warning: could not delete $NGINX_NS"
  fi
  "$repo/scripts/testbed.sh" down --prefix "$P" >/dev/null 2>&1 ||
    log "warning: testbed $P down failed"
  log "raw outputs kept in $out"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nx() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# --- testbed -----------------------------------------------------------------------------------

testbed_up() {
  log "testbed $P up"
  TB_PREFIX=$P "$repo/scripts/testbed.sh" up >"$out/testbed.out" 2>&1 ||
    { cat "$out/testbed.out" >&2; die "testbed up failed"; }
  # New connection per request makes tens of thousands of connections per run from one
  # address to one address and port: widen the client's (and nginx's, towards the backends)
  # ephemeral ports and let them reuse TIME_WAIT ports, inside the testbed's namespaces only.
  nx "$P-client" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null
  nx "$P-client" sysctl -q -w net.ipv4.tcp_tw_reuse=1 >/dev/null
}

# The nginx proxy's host: a namespace on the segment like the testbed's own hosts (offloads off
# as there), at 198.51.100.40; the backends reach it on-link.
nginx_ns_up() {
  ip netns add "$NGINX_NS"
  nx "$NGINX_NS" ip link set lo up
  nx "$NGINX_NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 >/dev/null
  nx "$NGINX_NS" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  ip link add eth0 netns "$NGINX_NS" address "$NGINX_MAC" type veth peer name nginx \
    netns "$P-lan"
  nx "$P-lan" ip link set nginx master br0
  nx "$P-lan" ip link set nginx up
  local f
  for f in tx gro gso tso; do nx "$NGINX_NS" ethtool -K eth0 "$f" off >/dev/null 2>&1 || true; done
  nx "$NGINX_NS" ip addr add "$NGINX_ADDR/$TB_PREFIX_LEN4" dev eth0
  nx "$NGINX_NS" ip link set eth0 up
  nx "$NGINX_NS" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null
  nx "$NGINX_NS" sysctl -q -w net.ipv4.tcp_tw_reuse=1 >/dev/null
  steer_rx "$NGINX_NS" eth0
}

# steer_rx NS DEV [CPU]: with RPS on, DEV's receive processing runs on CPU (default: the load
# balancer's). (ip netns exec mounts the namespace's own /sys.)
steer_rx() {
  ((rps)) || return 0
  local mask
  mask=$(printf '%x' $((1 << ${3:-$LB_CPU})))
  nx "$1" sh -c "echo $mask > /sys/class/net/$2/queues/rx-0/rps_cpus" ||
    die "could not set rps_cpus of $2 in $1"
  [[ $(nx "$1" cat "/sys/class/net/$2/queues/rx-0/rps_cpus") =~ ^0*$mask$ ]] ||
    die "rps_cpus of $2 in $1 did not take"
}

# --- nginx processes ---------------------------------------------------------------------------

# render TEMPLATE OUT KEY=VALUE...: the template with @KEY@ replaced (values without "|").
render() {
  local template=$1 file=$2 kv script=()
  shift 2
  for kv in "$@"; do script+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${script[@]}" "$template" >"$file"
  ! grep -q '@[A-Z_]*@' "$file" || die "unreplaced placeholder in $file"
}

# start_nginx NS CPU CONF NAME: nginx (master, daemon off) in NS pinned to CPU; its pid goes to
# NGINX_PID (taskset and ip netns exec both exec: $! is nginx itself).
NGINX_PID=""
start_nginx() {
  local ns=$1 cpu=$2 conf=$3 name=$4
  nx "$ns" nginx -t -q -p "$out" -e "$out/$name.early.log" -c "$conf" >"$out/$name.t.out" 2>&1 ||
    { cat "$out/$name.t.out" >&2; die "nginx -t failed for $conf"; }
  taskset -c "$cpu" nice -n "$nice_level" ip netns exec "$ns" \
    nginx -p "$out" -e "$out/$name.early.log" -c "$conf" \
    </dev/null >"$out/$name.stdout" 2>&1 &
  NGINX_PID=$!
  BG_PIDS+=("$NGINX_PID")
}

# worker_of MASTER: the pid of its only worker (waits at most 5 s for it).
worker_of() {
  local i w
  for ((i = 0; i < 50; i++)); do
    w=$(ps -o pid= --ppid "$1" | awk 'NR == 1 {print $1}')
    [[ -n $w ]] && { printf '%s\n' "$w"; return 0; }
    sleep 0.1
  done
  return 1
}

# get NS URL [CURL_ARGS...]: the body's first line, 1 s to connect, 2 s in all.
get() {
  local ns=$1 url=$2
  shift 2
  nx "$ns" curl -sS --fail --connect-timeout 1 --max-time 2 "$@" "$url" 2>&1 | head -n 1
}

# body_is WANT_REGEX NS URL [CURL_ARGS...]: quietly, one GET whose first body line matches.
body_is() {
  local want=$1 got
  shift
  got=$(get "$@") || true
  [[ $got =~ ^($want)$ ]]
}

# status_of NS URL [CURL_ARGS...]: the HTTP status code of one GET (000: no answer).
status_of() {
  local ns=$1 url=$2
  shift 2
  nx "$ns" curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 2 "$@" \
    "$url" 2>/dev/null || true
}

# expect NAME WANT_REGEX NS URL [CURL_ARGS...]: one GET whose first body line matches WANT
# (a regex), or, when WANT is "status=N", whose status is N. Logged in $out/checks.txt.
expect() {
  local name=$1 want=$2 got
  shift 2
  if [[ $want == status=* ]]; then
    got="status=$(status_of "$@")"
  else
    got=$(get "$@") || true
  fi
  if [[ $got =~ ^($want)$ ]]; then
    printf '  ok   %-34s %s\n' "$name" "$got" >>"$out/checks.txt"
    return 0
  fi
  printf '  FAIL %-34s got "%s", want %s\n' "$name" "$got" "$want" | tee -a "$out/checks.txt" >&2
  return 1
}

backends_up() {
  local be
  for be in be1 be2 be3; do
    render "$CONF_DIR/nginx-backend.conf.in" "$out/$be.conf" NAME="$be" ADDR="${TB_ADDR4[$be]}" \
      DIR="$out"
    start_nginx "$P-$be" "$LOAD_CPU" "$out/$be.conf" "$be"
  done
  for be in be1 be2 be3; do
    wait_until 5 body_is "$be" "$P-client" "http://${TB_ADDR4[$be]}:8080/" ||
      die "backend $be does not answer (see $out/$be.error.log)"
    expect "backend $be" "$be" "$P-client" "http://${TB_ADDR4[$be]}:8080/"
  done
}

# The routing checks every load balancer must pass before it is measured: the same answers
# from the same routes. BASE is http://ADDR[:PORT].
routes_ok() {
  local base=$1 ns=$P-client ok=0
  expect "$2 bench.example /a" 'be1|be2' "$ns" "$base/a" -H 'Host: bench.example' || ok=1
  expect "$2 bench.example /a/x" 'be1|be2' "$ns" "$base/a/x" -H 'Host: bench.example' || ok=1
  expect "$2 bench.example /a/x canary" be3 "$ns" "$base/a/x" -H 'Host: bench.example' \
    -H 'X-Canary: 1' || ok=1
  expect "$2 bench.example /b/x" be3 "$ns" "$base/b/x" -H 'Host: bench.example' || ok=1
  expect "$2 bench.example /ab" status=404 "$ns" "$base/ab" -H 'Host: bench.example' || ok=1
  expect "$2 bench.example /" status=404 "$ns" "$base/" -H 'Host: bench.example' || ok=1
  expect "$2 other.example /a" status=404 "$ns" "$base/a" -H 'Host: other.example' || ok=1
  expect "$2 single.example /b/x" 'be1|be2' "$ns" "$base/b/x" -H 'Host: single.example' || ok=1
  expect "$2 headers reach the backend" 'host=single.example canary=1' "$ns" "$base/headers" \
    -H 'Host: single.example' -H 'X-Canary: 1' || ok=1
  return "$ok"
}

# --- measurements ------------------------------------------------------------------------------

# worker_task: "/proc/PID/task/TID" of Portico's worker thread (EAL names it rte-worker-N;
# PORTICO_PID may be the shell that started it, so look for the thread itself).
worker_task() {
  local t
  for t in /proc/[0-9]*/task/[0-9]*; do
    [[ $(cat "$t/comm" 2>/dev/null) == rte-worker* ]] || continue
    [[ $(readlink "${t%/task/*}/exe" 2>/dev/null) == "$(readlink -f "$PORTICO")" ]] || continue
    echo "$t"
    return 0
  done
  return 1
}
# user_sys TASKDIR: "utime stime" of one thread in clock ticks.
user_sys() { sed 's/^.*) //' "$1/stat" | awk '{print $12, $13}'; }

# ticks PID: utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat, counted
# after the command name, which is in parentheses).
ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# cpu_busy CPU: non-idle jiffies of that CPU (user nice system irq softirq steal; not idle,
# iowait, guest: guest time is in user already).
cpu_busy() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# run_wrk TAG URL HOST MODE: wrk from the client on CPU 0; the output goes to $out/TAG.wrk.
run_wrk() {
  local tag=$1 url=$2 host=$3 mode=$4 hdr=()
  [[ $mode == nc ]] && hdr=(-H 'Connection: close')
  printf '# %s  load %s\n' "$(date -u +%FT%TZ)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    >"$out/$tag.wrk"
  printf '# wrk -t1 -c%s -d%ss --latency --timeout 2s -H "Host: %s" %s %s\n' "$connections" \
    "$duration" "$host" "${hdr[*]}" "$url" >>"$out/$tag.wrk"
  taskset -c "$LOAD_CPU" nice -n "$nice_level" timeout $((duration + 30)) \
    ip netns exec "$P-client" \
    wrk -t1 -c"$connections" -d"${duration}s" --latency --timeout 2s -H "Host: $host" \
    "${hdr[@]}" "$url" >>"$out/$tag.wrk" 2>&1 || log "warning: wrk exited with $? ($tag)"
}

# wrk_requests FILE, wrk_rps FILE, wrk_p99_ms FILE, wrk_errors FILE
wrk_requests() { awk '/ requests in / {print $1; exit}' "$1"; }
wrk_rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2; exit}' "$1"; }
wrk_p99_ms() {
  awk '$1 == "99%" {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f > 0) printf "%.2f", v * f; exit
  }' "$1"
}
wrk_errors() {
  awk '/Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10}
       /Non-2xx or 3xx responses:/ {n += $NF}
       END {print n + 0}' "$1"
}

# us_per UNITS UNITS_PER_SECOND REQUESTS: microseconds per request, two decimals.
us_per() {
  awk -v u="$1" -v hz="$2" -v n="$3" \
    'BEGIN { if (n > 0 && hz > 0) printf "%.2f", u / hz * 1e6 / n; else print "-" }'
}

# Results: one line per run in ROUND_ROWS; per row key ("nginx-ka") and column the values of
# every round in VALS["key col"], space-separated, for the medians of the final table.
ROUND_ROWS=()
KEYS=()
NOTES=()
declare -A VALS=()
ROUND=1

# row TARGET MODE TAG LB_US CPU1_US
row() {
  local f="$out/$3.wrk" key="$1-$2" v col
  local -a vals=("$(wrk_rps "$f")" "$(wrk_p99_ms "$f")" "$4" "$5" "$(wrk_requests "$f")"
    "$(wrk_errors "$f")")
  local IFS='|'
  ROUND_ROWS+=("| $ROUND | $1 | $(mode_name "$2") |${vals[*]}|")
  unset IFS
  [[ " ${KEYS[*]} " == *" $key "* ]] || KEYS+=("$key")
  for col in 0 1 2 3 4 5; do
    v=${vals[$col]}
    [[ $v =~ ^[0-9.]+$ ]] || v=-
    VALS["$key $col"]+="$v "
  done
}

mode_name() { if [[ $1 == nc ]]; then echo new-connection; else echo keep-alive; fi; }

# median VALUES...: the median of the numbers among VALUES ("-" when there are none); errors
# and requests are summed by the caller instead.
median() {
  printf '%s\n' "$@" | awk '/^[0-9.]+$/ {print}' | sort -g | awk '
    {v[NR] = $1} END {
      if (NR == 0) { print "-"; exit }
      if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f\n", m
    }'
}
sum() { printf '%s\n' "$@" | awk '/^[0-9]+$/ {n += $1} END {print n + 0}'; }

hz=$(getconf CLK_TCK)

measure_direct() {
  local mode host
  for mode in ka nc; do
    host=$ka_host
    [[ $mode == nc ]] && host=$nc_host
    log "direct $mode"
    local c0 c1
    c0=$(cpu_busy "$LB_CPU")
    run_wrk "direct-$mode-r$ROUND" "http://${TB_ADDR4[be1]}:8080$path" "$host" "$mode"
    c1=$(cpu_busy "$LB_CPU")
    row direct "$mode" "direct-$mode-r$ROUND" - \
      "$(us_per $((c1 - c0)) "$hz" "$(wrk_requests "$out/direct-$mode-r$ROUND.wrk")")"
  done
}

measure_nginx() {
  local mode host ka_up ka_proxy master worker t0 t1 c0 c1 n
  for mode in ka nc; do
    host=$ka_host ka_up="" ka_proxy=""
    if [[ $mode == ka ]]; then
      ka_up="keepalive 64;"
      ka_proxy='proxy_http_version 1.1; proxy_set_header Connection "";'
    else
      host=$nc_host
    fi
    render "$CONF_DIR/nginx-lb.conf.in" "$out/nginx-lb-$mode.conf" DIR="$out" \
      ADDR="$NGINX_ADDR" UPSTREAM_KEEPALIVE="$ka_up" PROXY_KEEPALIVE="$ka_proxy"
    start_nginx "$NGINX_NS" "$LB_CPU" "$out/nginx-lb-$mode.conf" "nginx-lb-$mode"
    master=$NGINX_PID
    worker=$(worker_of "$master") || die "nginx proxy has no worker (see $out/nginx-lb.error.log)"
    wait_until 5 body_is 'be1|be2' "$P-client" "http://$NGINX_ADDR/a" -H 'Host: bench.example' ||
      true
    routes_ok "http://$NGINX_ADDR" "nginx-$mode" || die "nginx does not route as the Gateway does"
    log "nginx $mode (worker $worker on CPU $(taskset -pc "$worker" | awk '{print $NF}'))"
    t0=$(ticks "$worker")
    c0=$(cpu_busy "$LB_CPU")
    run_wrk "nginx-$mode-r$ROUND" "http://$NGINX_ADDR$path" "$host" "$mode"
    t1=$(ticks "$worker")
    c1=$(cpu_busy "$LB_CPU")
    n=$(wrk_requests "$out/nginx-$mode-r$ROUND.wrk")
    printf 'worker %s ticks %s -> %s (CLK_TCK %s); cpu%s busy %s -> %s\n' "$worker" "$t0" "$t1" \
      "$hz" "$LB_CPU" "$c0" "$c1" >"$out/nginx-$mode-r$ROUND.cpu"
    row nginx "$mode" "nginx-$mode-r$ROUND" "$(us_per $((t1 - t0)) "$hz" "$n")" \
      "$(us_per $((c1 - c0)) "$hz" "$n")"
    stop_pid "$master" 5
  done
}

# --- Portico -----------------------------------------------------------------------------------

PORTICO_LOG=$out/portico.log # one per round: portico_up sets it
PORTICO_NOTE=""

# portico_stats_line: SIGUSR1, then the new event=stats line (5 s at most).
portico_stats_line() {
  local n i line
  n=$(wc -l <"$PORTICO_LOG")
  kill -USR1 "$PORTICO_PID"
  for ((i = 0; i < 50; i++)); do
    line=$(tail -n "+$((n + 1))" "$PORTICO_LOG" | grep -m 1 'event=stats' || true)
    [[ -n $line ]] && { printf '%s\n' "$line"; return 0; }
    sleep 0.1
  done
  return 1
}

stat_value() { grep -oE "(^|[[:space:]])${2//./\\.}=[0-9]+" <<<"$1" | head -n 1 | sed 's/.*=//'; }

portico_up() {
  [[ -x $PORTICO ]] || { PORTICO_NOTE="no binary at $PORTICO"; return 1; }
  PORTICO_LOG=$out/portico-r$ROUND.log
  : >"$PORTICO_LOG"
  nice -n "$nice_level" ip netns exec "$P-portico" \
    "$PORTICO" run --config "$CONF_DIR/gateway.yaml" </dev/null \
    >>"$PORTICO_LOG" 2>&1 &
  PORTICO_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q 'event=ready' "$PORTICO_LOG" && break
    alive "$PORTICO_PID" || { PORTICO_NOTE="exited before event=ready"; PORTICO_PID=""; return 1; }
    sleep 0.1
  done
  grep -q 'event=ready' "$PORTICO_LOG" || { PORTICO_NOTE="no event=ready in 30 s"; return 1; }
  # The probe: one request through the VIP answered by a backend of the right route.
  wait_until 5 body_is 'be1|be2' "$P-client" "http://$VIP/a" -H 'Host: bench.example' || true
  expect "portico probe" 'be1|be2' "$P-client" "http://$VIP/a" -H 'Host: bench.example' \
    2>/dev/null || { PORTICO_NOTE="L7 not answering"; return 1; }
}

measure_portico() {
  if ! portico_up; then
    printf 'portico: skipped (%s)\n' "${PORTICO_NOTE:-L7 not answering}"
    local why=${PORTICO_NOTE:-L7 not answering}
    NOTES+=("portico: skipped in round $ROUND ($why; log: $PORTICO_LOG)")
    [[ -n $PORTICO_PID ]] && stop_pid "$PORTICO_PID" 10
    PORTICO_PID=""
    return 0
  fi
  routes_ok "http://$VIP" portico ||
    log "warning: Portico does not route as nginx does (see $out/checks.txt)"
  local tsc_hz src mode host s0 s1 b0 b1 c0 c1 n lb
  tsc_hz=$(grep -oE 'tsc_hz=[0-9]+' "$PORTICO_LOG" | head -n 1 | sed 's/.*=//')
  src="Portico's tsc_hz= log field"
  if [[ -z $tsc_hz ]]; then
    tsc_hz=$(awk -F': *' '/^cpu MHz/ {printf "%.0f", $2 * 1e6; exit}' /proc/cpuinfo)
    src="'cpu MHz' of /proc/cpuinfo (no tsc_hz= in Portico's log)"
  fi
  printf 'TSC rate %s Hz, from %s\n' "$tsc_hz" "$src" | tee "$out/portico.tsc" >&2
  for mode in ka nc; do
    host=$ka_host
    [[ $mode == nc ]] && host=$nc_host
    log "portico $mode"
    s0=$(portico_stats_line) || s0=""
    c0=$(cpu_busy "$LB_CPU")
    local tid us0 us1
    tid=$(worker_task) || tid=""
    [[ -z $tid ]] || us0=$(user_sys "$tid")
    run_wrk "portico-$mode-r$ROUND" "http://$VIP$path" "$host" "$mode"
    c1=$(cpu_busy "$LB_CPU")
    [[ -z $tid ]] || us1=$(user_sys "$tid")
    s1=$(portico_stats_line) || s1=""
    printf '%s\n%s\n' "$s0" "$s1" >"$out/portico-$mode-r$ROUND.stats"
    n=$(wrk_requests "$out/portico-$mode-r$ROUND.wrk")
    b0=$(stat_value "$s0" cycles.busy)
    b1=$(stat_value "$s1" cycles.busy)
    if [[ -n $b0 && -n $b1 ]]; then
      lb=$(us_per $((b1 - b0)) "$tsc_hz" "$n")
    else
      lb="n/a (no cycles.busy)"
    fi
    row portico "$mode" "portico-$mode-r$ROUND" "$lb" "$(us_per $((c1 - c0)) "$hz" "$n")"
    local d0 d1
    d0=$(stat_value "$s0" cycles.driver)
    d1=$(stat_value "$s1" cycles.driver)
    if [[ -n $b0 && -n $b1 && -n $d0 && -n $d1 ]]; then
      # The busy cycles split: inside the port drivers' rx/tx calls (here af_packet and tap
      # system calls, with the veth and bridge work they run) and Portico's own processing.
      printf 'portico %s round %s: busy %s us/request = driver calls %s + own %s\n' "$mode" \
        "$ROUND" "$lb" "$(us_per $((d1 - d0)) "$tsc_hz" "$n")" \
        "$(us_per $((b1 - b0 - d1 + d0)) "$tsc_hz" "$n")" | tee -a "$out/portico-cycles.txt" >&2
    fi
    if [[ -n $tid && -n ${us0:-} && -n ${us1:-} ]]; then
      # Where the worker's time went: user space (Portico's own code and the PMDs' copies)
      # against the kernel (af_packet's sendto, the taps' read, and what the veth does in them).
      read -r u0 k0 <<<"$us0"
      read -r u1 k1 <<<"$us1"
      printf 'portico %s round %s: worker user %s us/request, system %s us/request\n' "$mode" \
        "$ROUND" "$(us_per $((u1 - u0)) "$hz" "$n")" "$(us_per $((k1 - k0)) "$hz" "$n")" |
        tee -a "$out/portico-worker-time.txt" >&2
    fi
  done
  stop_pid "$PORTICO_PID" 10
  PORTICO_PID=""
}

# --- main --------------------------------------------------------------------------------------

testbed_up
steer_rx "$P-portico" "$TB_PORTICO_IF"
# And the other way round: what the load balancer sends is received by the client and the
# backends on their own core, not in the load balancer's context.
if ((peer_rps)); then
  for role in client be1 be2 be3; do steer_rx "$P-$role" eth0 "$LOAD_CPU"; done
fi
nginx_ns_up
: >"$out/checks.txt"
backends_up

for ((ROUND = 1; ROUND <= rounds; ROUND++)); do
  ((rounds == 1)) || log "round $ROUND of $rounds"
  measure_direct
  measure_nginx
  case $portico_mode in
    on) measure_portico ;;
    auto) if [[ -x $PORTICO ]]; then measure_portico; fi ;;
  esac
done
case $portico_mode in
  off) NOTES+=("portico: not run (--no-portico)") ;;
  auto)
    [[ -x $PORTICO ]] ||
      NOTES+=("portico: skipped (no binary at $PORTICO; build it, or set PORTICO)")
    ;;
esac

{
  printf '%s: %s round(s) of %s s per run, %s connections; wrk and backends on CPU %s, the load' \
    "$(date -u +%FT%TZ)" "$rounds" "$duration" "$connections" "$LOAD_CPU"
  printf ' balancer alone on CPU %s (its receive path too: %s); Host %s (keep-alive), %s' \
    "$LB_CPU" "$( ((rps)) && echo "RPS on" || echo "no, --no-rps")" "$ka_host" "$nc_host"
  printf ' (new connection), path %s; nice %s\n\n' "$path" "$nice_level"
  if ((rounds > 1)); then printf 'Medians over the rounds (requests and errors: totals).\n\n'; fi
  printf '| target | mode | requests/s | p99 ms | LB CPU µs/request | CPU %s µs/request |' \
    "$LB_CPU"
  printf ' requests | errors |\n'
  printf '|---|---|---|---|---|---|---|---|\n'
  for key in "${KEYS[@]}"; do
    line="| ${key%-*} | $(mode_name "${key##*-}") |"
    # shellcheck disable=SC2086 # the values are space-separated numbers
    line+=" $(median ${VALS["$key 0"]} | awk '$1 == "-" {print; next} {printf "%.0f", $1}') |"
    for col in 1 2 3; do
      # shellcheck disable=SC2086
      line+=" $(median ${VALS["$key $col"]}) |"
    done
    # shellcheck disable=SC2086
    line+=" $(sum ${VALS["$key 4"]}) | $(sum ${VALS["$key 5"]}) |"
    printf '%s\n' "$line"
  done
  for note in "${NOTES[@]}"; do printf '\n%s\n' "$note"; done
} | tee "$out/table.md"
{
  printf '| round | target | mode | requests/s | p99 ms | LB CPU µs/request |'
  printf ' CPU %s µs/request |' \
    "$LB_CPU"
  printf ' requests | errors |\n|---|---|---|---|---|---|---|---|---|\n'
  printf '%s\n' "${ROUND_ROWS[@]}"
} >"$out/rounds.md"
