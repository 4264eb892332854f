# shellcheck shell=bash disable=SC2034
# Shared helpers for the system tests (tests/system/test_*.sh). Source it first thing:
#
#   . "$(dirname "$0")/lib.sh"
#   testbed_up                        # a private testbed, removed on exit whatever happens
#   start_portico "$DEMO_CONFIG"      # Portico in ${P}-portico, waits for event=ready
#   check arping_vip arp_from 203.0.113.10 "$(portico_mac)"
#   finish                            # exit status: 0 when every check passed
#
# Output contract (tests/system/run.sh counts it): one line per check, "PASS <suite>/<name>" or
# "FAIL <suite>/<name>: why", followed for failures by the command's output indented by four
# spaces. Everything else a test prints is indented or starts with "#".
#
# Rules every test follows: traffic only inside the testbed's namespaces; every wait is bounded
# in time and tries; the EXIT trap stops what the test started and removes its namespaces.

set -uo pipefail # no -e: a failed check must not stop the others

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SYS_DIR/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
. "$REPO_ROOT/scripts/lib/common.sh"
# shellcheck source=scripts/lib/testbed_env.sh
. "$REPO_ROOT/scripts/lib/testbed_env.sh"

PORTICO=${PORTICO:-$REPO_ROOT/build/portico}
# Debian's python3 (it has python3-scapy), not whatever python3 comes first on PATH.
PYTHON=${PYTHON:-/usr/bin/python3}
[[ -x $PYTHON ]] || PYTHON=python3
[[ $PORTICO == /* ]] || PORTICO=$PWD/$PORTICO
TESTBED="$REPO_ROOT/scripts/testbed.sh"
DEMO_CONFIG="$REPO_ROOT/config/examples/demo.yaml"
PORTICO_START_TIMEOUT=${PORTICO_START_TIMEOUT:-30} # seconds until event=ready
PORTICO_STOP_TIMEOUT=${PORTICO_STOP_TIMEOUT:-10}   # seconds after SIGTERM

SUITE=$(basename "$0" .sh)
SUITE=${SUITE#test_}
T_TMP=$(mktemp -d "/tmp/portico-system-$SUITE.XXXXXX")
T_PASSED=0
T_FAILED=0
P=""            # testbed prefix, set by testbed_up
PORTICO_PID=""  # running Portico, set by start_portico
PORTICO_LOG="$T_TMP/portico.log"
BG_PIDS=()      # other background processes this test started (captures)

# --- results ---------------------------------------------------------------------------------

pass() {
  printf 'PASS %s/%s\n' "$SUITE" "$1"
  T_PASSED=$((T_PASSED + 1))
}

# fail NAME WHY [DETAILS_FILE]
fail() {
  printf 'FAIL %s/%s: %s\n' "$SUITE" "$1" "${2:-failed}"
  # The details, when there is more to them than the one line already printed.
  local lines
  lines=$(grep -c . "${3:-/dev/null}" 2>/dev/null) # prints 0 (and fails) for an empty file
  if [[ -n ${3:-} ]] && ((${lines:-0} > 1)); then
    tail -n 25 "$3" | sed 's/^/    /'
  fi
  T_FAILED=$((T_FAILED + 1))
}

# check NAME CMD...: run CMD in this shell (so it may set variables), output captured; PASS if it
# exits 0. The "why" of a failure is CMD's last output line, or its exit status.
check() {
  local name=$1
  shift
  local out="$T_TMP/check.out" rc why
  "$@" >"$out" 2>&1
  rc=$?
  if ((rc == 0)); then
    pass "$name"
    return 0
  fi
  why=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
  fail "$name" "${why:-exit status $rc}" "$out"
  return 1
}

# require NAME CMD...: a check the rest of the test depends on; stop the test when it fails.
require() {
  check "$@" && return 0
  printf '# %s: stopping after failed prerequisite %s\n' "$SUITE" "$1"
  exit 1
}

# finish: the last line of a test; its exit status says whether every check passed.
finish() {
  printf '# %s: %d passed, %d failed\n' "$SUITE" "$T_PASSED" "$T_FAILED"
  ((T_FAILED == 0)) && exit 0
  exit 1
}

# --- cleanup ---------------------------------------------------------------------------------

# alive PID: the process exists and is not a zombie. Reads /proc once: a process reaped between
# two looks (kill -0, then /proc) must not count as alive.
alive() {
  [[ -n ${1:-} ]] || return 1
  local state
  state=$(awk '/^State:/ {print $2; exit}' "/proc/$1/status" 2>/dev/null)
  [[ -n $state && $state != Z && $state != X ]]
}

# Stop one process we started: TERM, wait up to $2 s, then KILL. Returns once it is gone.
stop_pid() {
  local pid=$1 timeout=${2:-5} i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  if alive "$PORTICO_PID"; then
    printf '# %s: Portico still running at exit; stopping it\n' "$SUITE"
    stop_pid "$PORTICO_PID" 5
  fi
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid" 2; done
  if [[ -n $P ]]; then
    "$TESTBED" down --prefix "$P" >/dev/null 2>&1 ||
      printf '# %s: testbed %s down failed\n' "$SUITE" "$P"
  fi
  if ((T_FAILED > 0 || rc != 0)) || [[ -n ${KEEP_TMP:-} ]]; then
    printf '# %s: logs kept in %s\n' "$SUITE" "$T_TMP"
  else
    rm -rf "$T_TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- testbed ---------------------------------------------------------------------------------

# in_ns ROLE CMD...: run CMD in the testbed namespace of ROLE (client, be1, router, portico...).
in_ns() {
  local role=$1
  shift
  ip netns exec "$P-$role" "$@"
}

# testbed_up: build a private testbed. The prefix is unique per test process; interface names
# inside the namespaces do not depend on it, so its length does not matter to them.
testbed_up() {
  P="pts$$"
  "$TESTBED" up --prefix "$P" >"$T_TMP/testbed.out" 2>&1 || {
    cat "$T_TMP/testbed.out"
    return 1
  }
}

# Portico's port MAC: net_af_packet uses the MAC of the interface it attaches to.
portico_mac() {
  ip -n "$P-portico" -br link show "$TB_PORTICO_IF" | awk '{print tolower($3)}'
}

# --- Portico process -------------------------------------------------------------------------

portico_built() {
  [[ -x $PORTICO ]] && return 0
  echo "portico binary not found at $PORTICO (build: meson setup build && ninja -C build, or set PORTICO)"
  return 1
}

log_lines() { [[ -f $PORTICO_LOG ]] && wc -l <"$PORTICO_LOG" || echo 0; }

# Lines of the log after line N.
log_since() { tail -n "+$(($1 + 1))" "$PORTICO_LOG"; }

log_tail() {
  echo "--- last lines of $PORTICO_LOG"
  tail -n 20 "$PORTICO_LOG" 2>/dev/null
}

# start_portico CONFIG...: run `portico run --config C...` in ${P}-portico, in the background,
# stdout and stderr to $PORTICO_LOG; wait until the log says event=ready.
start_portico() {
  portico_built || return 1
  local args=() c i
  for c in "$@"; do args+=(--config "$c"); done
  : >"$PORTICO_LOG"
  ip netns exec "$P-portico" "$PORTICO" run "${args[@]}" </dev/null >>"$PORTICO_LOG" 2>&1 &
  PORTICO_PID=$!
  for ((i = 0; i < PORTICO_START_TIMEOUT * 10; i++)); do
    if grep -q 'event=ready' "$PORTICO_LOG"; then return 0; fi
    if ! alive "$PORTICO_PID"; then
      wait "$PORTICO_PID"
      local rc=$?
      log_tail
      echo "portico exited with status $rc before event=ready"
      PORTICO_PID=""
      return 1
    fi
    sleep 0.1
  done
  log_tail
  echo "no event=ready within ${PORTICO_START_TIMEOUT}s"
  return 1
}

# stop_portico: SIGTERM; it must exit 0 within PORTICO_STOP_TIMEOUT and log event=summary.
stop_portico() {
  local pid=$PORTICO_PID i rc
  [[ -n $pid ]] || {
    echo "portico is not running"
    return 1
  }
  PORTICO_PID=""
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < PORTICO_STOP_TIMEOUT * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    log_tail
    echo "portico still running ${PORTICO_STOP_TIMEOUT}s after SIGTERM (killed)"
    return 1
  fi
  wait "$pid"
  rc=$?
  if ((rc != 0)); then
    log_tail
    echo "portico exited with status $rc after SIGTERM"
    return 1
  fi
  grep -q 'event=summary' "$PORTICO_LOG" || {
    log_tail
    echo "no event=summary line after SIGTERM"
    return 1
  }
}

portico_running() {
  alive "$PORTICO_PID" && return 0
  log_tail
  echo "portico is not running"
  return 1
}

# portico_signal SIG EVENT_REGEX [TIMEOUT]: send SIG, wait for a new log line matching
# EVENT_REGEX (an extended regex), print that line. Fails if none appears in time.
portico_signal() {
  local sig=$1 re=$2 timeout=${3:-5} n i line
  portico_running || return 1
  n=$(log_lines)
  kill "-$sig" "$PORTICO_PID"
  for ((i = 0; i < timeout * 10; i++)); do
    line=$(log_since "$n" | grep -E -m 1 -- "$re")
    if [[ -n $line ]]; then
      printf '%s\n' "$line"
      return 0
    fi
    sleep 0.1
  done
  log_tail
  echo "no log line matching '$re' within ${timeout}s of SIG$sig"
  return 1
}

# portico_stats: SIGUSR1, then print the new event=stats line.
portico_stats() { portico_signal USR1 'event=stats' 5; }

# portico_reload: SIGHUP, then print the first new event=reload_ok or event=reload_failed line.
portico_reload() { portico_signal HUP 'event=reload_(ok|failed)' 10; }

# stat_value LINE KEY: the number after "KEY=" in LINE (empty if absent).
stat_value() {
  local key=${2//./\\.}
  grep -oE "(^|[[:space:]])$key=[0-9]+" <<<"$1" | head -n 1 | sed 's/.*=//'
}

# stat_at_least LINE KEY MIN
stat_at_least() {
  local v
  v=$(stat_value "$1" "$2")
  [[ -n $v ]] || {
    echo "no $2= in: $1"
    return 1
  }
  ((v >= $3)) || {
    echo "$2=$v, expected >= $3"
    return 1
  }
}

# stat_grew BEFORE_LINE AFTER_LINE KEY MIN: the counter grew by at least MIN between two lines.
stat_grew() {
  local a b
  a=$(stat_value "$1" "$3")
  b=$(stat_value "$2" "$3")
  [[ -n $b ]] || {
    echo "no $3= in: $2"
    return 1
  }
  a=${a:-0}
  ((b - a >= $4)) || {
    echo "$3 went from $a to $b (+$((b - a))), expected at least +$4"
    return 1
  }
}

# --- network probes from the client ----------------------------------------------------------

# arp_macs IP [COUNT]: ARP requests from the client; prints the MAC of every reply (lowercase).
arp_macs() {
  local count=${2:-3}
  in_ns client arping -c "$count" -W 0.3 -w $((count + 2)) -i eth0 "$1" 2>&1 |
    grep -oE 'bytes from ([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}' | awk '{print tolower($3)}'
}

# arp_from IP MAC [COUNT]: every one of COUNT requests is answered, only by MAC.
arp_from() {
  local ip=$1 mac=${2,,} count=${3:-3} macs n other
  macs=$(arp_macs "$ip" "$count")
  n=$(grep -c . <<<"$macs")
  other=$(grep -v -x -- "$mac" <<<"$macs" | grep . | sort -u | tr '\n' ' ')
  [[ -z $other ]] || {
    echo "ARP replies for $ip from other MACs: $other(expected only $mac)"
    return 1
  }
  ((n == count)) || {
    echo "$n ARP replies for $ip out of $count requests (expected all, from $mac)"
    return 1
  }
}

# no_arp IP: two requests, no reply at all.
no_arp() {
  local macs
  macs=$(arp_macs "$1" 2)
  [[ -z $macs ]] || {
    echo "unexpected ARP reply for $1 from: $(tr '\n' ' ' <<<"$macs")"
    return 1
  }
}

# nd_mac IP6: Neighbor Solicitation from the client, prints the advertised MAC (lowercase).
nd_mac() {
  in_ns client ndisc6 -q -1 -r 3 -w 500 "$1" eth0 2>/dev/null | head -n 1 | tr 'A-F' 'a-f'
}

nd_from() {
  local mac
  mac=$(nd_mac "$1")
  [[ -n $mac ]] || {
    echo "no Neighbor Advertisement for $1"
    return 1
  }
  [[ $mac == "${2,,}" ]] || {
    echo "Neighbor Advertisement for $1 carries $mac, expected ${2,,}"
    return 1
  }
}

no_nd() {
  local mac
  mac=$(in_ns client ndisc6 -q -1 -r 2 -w 400 "$1" eth0 2>/dev/null | head -n 1)
  [[ -z $mac ]] || {
    echo "unexpected Neighbor Advertisement for $1 with $mac"
    return 1
  }
}

# ping_ok IP [COUNT] (from the client; v4 or v6 by the address): every echo answered, once.
ping_ok() {
  local ip=$1 count=${2:-3} out fam=-4
  [[ $ip == *:* ]] && fam=-6
  out=$(in_ns client ping "$fam" -n -c "$count" -i 0.2 -W 2 "$ip" 2>&1)
  printf '%s\n' "$out"
  grep -q "$count packets transmitted, $count received" <<<"$out" || {
    echo "ping $ip: not every echo was answered"
    return 1
  }
  ! grep -q 'DUP!' <<<"$out" || {
    echo "ping $ip: duplicate replies (more than one host answers)"
    return 1
  }
}

ping_fails() {
  local ip=$1 fam=-4
  [[ $ip == *:* ]] && fam=-6
  ! in_ns client ping "$fam" -n -c 2 -i 0.2 -W 1 "$ip" >/dev/null 2>&1 || {
    echo "ping $ip was answered"
    return 1
  }
}

# --- portico check ---------------------------------------------------------------------------

# service_ips JSON_FILE NAMESPACE/NAME: the Service's status.loadBalancer.ingress IPs, one a line.
service_ips() {
  "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
ns, name = sys.argv[2].split("/")
for o in doc.get("objects", []):
    m = o.get("metadata", {})
    if o.get("kind") == "Service" and m.get("namespace") == ns and m.get("name") == name:
        lb = (o.get("status") or {}).get("loadBalancer") or {}
        for ing in lb.get("ingress") or []:
            if ing.get("ip"):
                print(ing["ip"])
PY
}

# snap_stats VAR: SIGUSR1 and store the new event=stats line in VAR.
snap_stats() {
  local out
  out=$(portico_stats) || {
    printf '%s\n' "$out"
    return 1
  }
  printf -v "$1" '%s' "$out"
}

# start_capture ROLE FILE FILTER...: tcpdump on eth0 (veth0 for portico) of ROLE into FILE
# (packet-buffered, so the file can be read while it runs) until the test ends, at most 120 s.
start_capture() {
  local role=$1 file=$2 dev=eth0 i
  shift 2
  [[ $role == portico ]] && dev=$TB_PORTICO_IF
  in_ns "$role" timeout 120 tcpdump -i "$dev" -U -n -w "$file" "$@" 2>"$file.err" &
  BG_PIDS+=($!)
  for ((i = 0; i < 50; i++)); do
    grep -q 'listening on' "$file.err" && return 0
    sleep 0.1
  done
  cat "$file.err"
  echo "tcpdump did not start listening on $role/$dev"
  return 1
}

# garp_macs PCAP IP: source MACs of gratuitous ARPs (sender IP == target IP == IP) in PCAP.
garp_macs() {
  tshark -r "$1" -Y "arp && arp.src.proto_ipv4 == $2 && arp.dst.proto_ipv4 == $2" \
    -T fields -e eth.src -e arp.src.hw_mac 2>/dev/null | tr 'A-F' 'a-f' | sort -u
}

# garp_seen PCAP IP MAC [TIMEOUT]: wait until PCAP holds a gratuitous ARP for IP, sent by MAC
# and announcing MAC.
garp_seen() {
  local pcap=$1 ip=$2 mac=${3,,} timeout=${4:-10} deadline seen
  deadline=$((SECONDS + timeout))
  while :; do
    seen=$(garp_macs "$pcap" "$ip")
    grep -qx "$mac	$mac" <<<"$seen" && return 0
    ((SECONDS < deadline)) || break
    sleep 0.5
  done
  echo "captured ARP:"
  tshark -r "$pcap" -Y arp 2>/dev/null | tail -n 10
  echo "no gratuitous ARP for $ip from $mac within ${timeout}s (seen: $(tr '\n' ' ' <<<"$seen"))"
  return 1
}

# --- L4 backends and clients (tests/system/backend.py) ---------------------------------------

# start_backends ARGS...: backend.py in be1, be2 and be3 (`--name beN ARGS...`, log in
# $T_TMP/beN.log) until the test ends (cleanup stops them; they stop themselves after
# BACKEND_MAX_SECONDS, default 600); waits at most 5 s for each to listen.
start_backends() {
  local be
  for be in be1 be2 be3; do
    rm -f "$T_TMP/$be.ready"
    ip netns exec "$P-$be" "$PYTHON" "$SYS_DIR/backend.py" --name "$be" \
      --ready-file "$T_TMP/$be.ready" --max-seconds "${BACKEND_MAX_SECONDS:-600}" "$@" \
      </dev/null >"$T_TMP/$be.log" 2>&1 &
    BG_PIDS+=($!)
  done
  for be in be1 be2 be3; do
    wait_until 5 test -f "$T_TMP/$be.ready" || {
      tail -n 5 "$T_TMP/$be.log"
      echo "backend.py in $be is not listening after 5 s"
      return 1
    }
  done
}

# http_many COUNT URL [CURL_ARGS...]: COUNT GETs from the client, one curl (so one new TCP
# connection) each, 1 s to connect and 3 s in all. Prints per request the first line of the
# body, or "ERR curl exit N: message". Gives up after 3 failures in a row or 60 s. Exit 0 only
# when all COUNT were answered (HTTP status < 400).
http_many() {
  local count=$1 url=$2
  shift 2
  # shellcheck disable=SC2016 # the script's own variables, expanded inside the namespace
  in_ns client bash -c '
    count=$1 url=$2
    shift 2
    ok=0 miss=0 deadline=$((SECONDS + 60))
    for ((i = 0; i < count; i++)); do
      if body=$(curl -sS --fail --connect-timeout 1 --max-time 3 "$@" "$url" 2>&1); then
        IFS= read -r line <<<"$body"
        printf "%s\n" "$line"
        ok=$((ok + 1))
        miss=0
      else
        rc=$?
        IFS= read -r line <<<"$body"
        printf "ERR curl exit %d: %s\n" "$rc" "$line"
        miss=$((miss + 1))
        ((miss < 3)) || break
      fi
      ((SECONDS < deadline)) || break
    done
    if ((ok == count)); then exit 0; fi
    echo "$ok of $count requests to $url answered"
    exit 1
  ' http_many "$count" "$url" "$@"
}

# udp_many HOST PORT COUNT: COUNT datagrams from the client, each from a new socket (new source
# port) connected to HOST:PORT, so only a reply from HOST:PORT counts; 1 s each. Prints each
# reply ("<backend> hello <i>") or TIMEOUT/ERROR; gives up after 3 misses in a row. Exit 0 only
# when every one was answered.
udp_many() {
  in_ns client "$PYTHON" "$SYS_DIR/backend.py" --udp-query "$1" "$2" --count "$3" --timeout 1
}

# --- L4 checks shared by test_l4.sh and test_l4_flows.sh -------------------------------------

L4_BACKENDS=(be1 be2 be3)

# count_of FILE LINE: how many lines of FILE are exactly LINE.
count_of() { grep -cxF -- "$2" "$1"; }

# distinct_backends FILE MIN: lines naming at least MIN different backends ("beN ...").
distinct_backends() {
  local n
  n=$(grep -oE '^be[1-3]\b' "$1" | sort -u | grep -c .)
  echo "# backends that answered: $(grep -oE '^be[1-3]\b' "$1" | sort | uniq -c | tr -s ' \n' ' ')"
  ((n >= $2)) || {
    echo "$n different backend(s) answered, expected at least $2"
    return 1
  }
}

# all_lines_are FILE WANT: FILE is not empty and every line is WANT.
all_lines_are() {
  local other
  [[ -s $1 ]] || {
    echo "no answers"
    return 1
  }
  other=$(grep -vxF -- "$2" "$1" | sort | uniq -c | tr -s ' \n' ' ')
  [[ -z $other ]] || {
    echo "expected only '$2', also got: $other"
    return 1
  }
}

# get_many NAME COUNT URL [CURL_ARGS...]: http_many into $T_TMP/NAME.out (one line per request).
get_many() {
  local name=$1 rc
  shift
  http_many "$@" >"$T_TMP/$name.out"
  rc=$?
  tail -n 3 "$T_TMP/$name.out"
  return "$rc"
}

# never_from NAME BE: no line of $T_TMP/NAME.out came from BE, and both others answered.
never_from() {
  local n
  n=$(count_of "$T_TMP/$1.out" "$2")
  ((n == 0)) || {
    echo "$n of the new connections went to $2 (it must get none)"
    return 1
  }
  distinct_backends "$T_TMP/$1.out" 2
}

# download_intact NAME BYTES URL [CURL_ARGS...]: GET URL (a backend.py /download of BYTES) from
# the client; what arrives has the pattern's sha256.
download_intact() {
  local name=$1 bytes=$2 url=$3 want got size
  shift 3
  want=$("$PYTHON" "$SYS_DIR/backend.py" --expect-sha256 "$bytes") || return 1
  in_ns client curl -sS --fail --connect-timeout 2 --max-time 60 -o "$T_TMP/$name.bin" "$@" \
    "$url" || return 1
  got=$(sha256sum <"$T_TMP/$name.bin" | cut -d' ' -f1)
  size=$(stat -c %s "$T_TMP/$name.bin")
  rm -f "$T_TMP/$name.bin"
  [[ $got == "$want" ]] || {
    echo "$name: got $size bytes with sha256 $got, expected $bytes bytes with sha256 $want"
    return 1
  }
}

# reload_ok: SIGHUP; the reload must succeed (event=reload_ok).
reload_ok() {
  local line
  line=$(portico_reload) || {
    printf '%s\n' "$line"
    return 1
  }
  printf '%s\n' "$line"
  [[ $line == *"event=reload_ok"* ]] || {
    echo "expected event=reload_ok, got: $line"
    return 1
  }
}

# Background downloads through Portico, by name: curl in the client namespace writes
# $T_TMP/NAME.hdr (response headers), NAME.bin (body) and NAME.err; bounded by --max-time 60.
declare -gA SLOW_PID=() SLOW_BE=() SLOW_PEER=() SLOW_BYTES=() SLOW_RC=()

# slow_start NAME BYTES RATE HOST [CURL_ARGS...]: GET http://HOST/download?bytes=BYTES&rate=RATE
# (HOST may be [v6]) in the background; waits at most 5 s for the response headers and sets
# SLOW_BE[NAME] to the backend that serves it (header X-Backend) and SLOW_PEER[NAME] to the
# address and port it sees the connection come from ("ADDR PORT", header X-Peer).
slow_start() {
  local name=$1 bytes=$2 rate=$3 host=$4
  shift 4
  rm -f "$T_TMP/$name".{hdr,bin,err}
  ip netns exec "$P-client" curl -sS -g --fail --connect-timeout 2 --max-time 60 \
    -D "$T_TMP/$name.hdr" -o "$T_TMP/$name.bin" "$@" \
    "http://$host/download?bytes=$bytes&rate=$rate" </dev/null 2>"$T_TMP/$name.err" &
  SLOW_PID[$name]=$!
  SLOW_BYTES[$name]=$bytes
  BG_PIDS+=("${SLOW_PID[$name]}")
  wait_until 5 grep -qi '^x-backend:' "$T_TMP/$name.hdr" 2>/dev/null || {
    cat "$T_TMP/$name.err"
    echo "no response headers for download $name within 5 s"
    return 1
  }
  SLOW_BE[$name]=$(awk 'tolower($1) == "x-backend:" {print $2}' "$T_TMP/$name.hdr" | tr -d '\r')
  SLOW_PEER[$name]=$(awk 'tolower($1) == "x-peer:" {print $2, $3}' "$T_TMP/$name.hdr" |
    tr -d '\r')
  echo "# download $name served by ${SLOW_BE[$name]}"
}

# slow_running NAME: the download is still going (a check across a change proves nothing
# otherwise).
slow_running() {
  alive "${SLOW_PID[$1]:-}" || {
    cat "$T_TMP/$1.err" 2>/dev/null
    echo "download $1 is not running (any more)"
    return 1
  }
}

# slow_wait NAME TIMEOUT: wait at most TIMEOUT s for the download to end; sets SLOW_RC[NAME]
# to curl's exit status. Fails if it is still running.
slow_wait() {
  local name=$1 pid=${SLOW_PID[$1]:-} i
  [[ -n $pid ]] || {
    echo "download $name was not started"
    return 1
  }
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && {
    echo "download $name still running after $2 s"
    return 1
  }
  wait "$pid"
  SLOW_RC[$name]=$?
  return 0
}

# slow_intact NAME [TIMEOUT]: the download ends (within TIMEOUT s, default 60) with curl exit 0
# and is byte-identical to the pattern.
slow_intact() {
  local name=$1 want got
  slow_wait "$name" "${2:-60}" || return 1
  ((${SLOW_RC[$name]} == 0)) || {
    cat "$T_TMP/$name.err"
    echo "download $name: curl exit status ${SLOW_RC[$name]}"
    return 1
  }
  want=$("$PYTHON" "$SYS_DIR/backend.py" --expect-sha256 "${SLOW_BYTES[$name]}")
  got=$(sha256sum <"$T_TMP/$name.bin" | cut -d' ' -f1)
  [[ $got == "$want" ]] || {
    echo "download $name: $(stat -c %s "$T_TMP/$name.bin") bytes with sha256 $got," \
      "expected ${SLOW_BYTES[$name]} bytes with sha256 $want"
    return 1
  }
}

# edit_endpoints TEMPLATE OUT BE=STATE...: write OUT, a copy of TEMPLATE where the endpoint line
# of each BE (by its address) in the EndpointSlices named web-v4 and web-v6 is removed
# (STATE "absent"), ready (STATE "ready") or serving-terminating (STATE "terminating":
# ready false, serving true, terminating true). Every BE must be found in both slices.
edit_endpoints() {
  local template=$1 out=$2 arg be
  shift 2
  local specs=()
  for arg in "$@"; do
    be=${arg%%=*}
    specs+=("${TB_ADDR4[$be]}=${arg#*=}" "${TB_ADDR6[$be]}=${arg#*=}")
  done
  "$PYTHON" - "$template" "$out" "${specs[@]}" <<'PY'
import sys
template, out, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
conditions = {
    "ready": "{ready: true}",
    "terminating": "{ready: false, serving: true, terminating: true}",
}
docs = open(template).read().split("\n---\n")
for spec in specs:
    addr, state = spec.split("=")
    if state not in conditions and state != "absent":
        sys.exit("unknown endpoint state %r" % state)
    found = 0
    for i, doc in enumerate(docs):
        lines = doc.split("\n")
        if "kind: EndpointSlice" not in lines or not (
                "  name: web-v4" in lines or "  name: web-v6" in lines):
            continue
        kept = []
        for l in lines:
            if '"%s"' % addr in l:
                found += 1
                if state == "absent":
                    continue
                l = '  - {addresses: ["%s"], conditions: %s}' % (addr, conditions[state])
            kept.append(l)
        docs[i] = "\n".join(kept)
    if found != 1:
        sys.exit("endpoint %s found %d times in the web slices, expected once" % (addr, found))
open(out, "w").write("\n---\n".join(docs))
PY
}
