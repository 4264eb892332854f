#!/usr/bin/env bash
# Gateway API HTTP routing (tests/system/configs/l7.yaml): requests to the Gateway's address are
# answered by Portico itself (SYN cookie), classified by host, path, header, query and method,
# and spliced to the backend their rule chooses (backend.py in be1..be3 answers with its name and
# echoes the request it received); Portico's own answers (404, 500, 503, redirects); weights
# 70/30/0; a head split over three segments; HTTP/1.0; keep-alive across two routes; 200
# concurrent connections; a 50 MB response and a 4 MB request body intact; IPv6.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

GW4=203.0.113.30
GW6=2001:db8:200::30
BACKENDS=(be1 be2 be3)
CONF="$SYS_DIR/configs/l7.yaml"

require portico_built portico_built
require curl_installed command -v curl

# --- status (portico check) ------------------------------------------------------------------

# jq-free reading of check's JSON with python: prints "Kind/ns/name cond=status/reason ...".
status_lines() {
  "$PORTICO" check --config "$CONF" -o json >"$T_TMP/check.json" || {
    cat "$T_TMP/check.json"
    return 1
  }
  "$PYTHON" - "$T_TMP/check.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for o in doc["objects"]:
    kind, meta, st = o["kind"], o["metadata"], o.get("status") or {}
    name = "%s/%s/%s" % (kind, meta.get("namespace") or "", meta["name"])
    for c in st.get("conditions", []):
        print(name, "%s=%s/%s" % (c["type"], c["status"], c["reason"]))
    for l in st.get("listeners", []):
        for c in l.get("conditions", []):
            print(name, "listener", l["name"], "%s=%s/%s" % (c["type"], c["status"], c["reason"]),
                  "attached=%d" % l.get("attachedRoutes", 0))
    for a in st.get("addresses", []):
        print(name, "address", a["value"])
    for p in st.get("parents", []):
        for c in p.get("conditions", []):
            print(name, "parent", p["parentRef"]["name"], "%s=%s/%s" % (c["type"], c["status"], c["reason"]))
PY
}

status_has() {
  grep -qxF -- "$1" "$T_TMP/status.txt" || {
    echo "status has no line '$1'; it has:"
    sed 's/^/  /' "$T_TMP/status.txt"
    return 1
  }
}
require check_runs eval 'status_lines >"$T_TMP/status.txt"'
check gatewayclass_accepted status_has "GatewayClass//portico Accepted=True/Accepted"
check gateway_programmed status_has "Gateway/l7/gw Programmed=True/Programmed"
check gateway_address status_has "Gateway/l7/gw address $GW4"
check https_listener_not_accepted grep -q "Gateway/l7/gw listener https Accepted=False" "$T_TMP/status.txt"
check http_listener_attached status_has "Gateway/l7/gw listener http Accepted=True/Accepted attached=3"
check route_accepted status_has "HTTPRoute/l7/main parent gw Accepted=True/Accepted"
check route_missing_backend status_has "HTTPRoute/l7/main parent gw ResolvedRefs=False/BackendNotFound"

# --- portico match: the same classifier, asked from the command line -------------------------

# match_is ARGS... -- EXPR: `portico match` on the config; the python expression over the JSON
# answer `d` is true.
match_is() {
  local args=() expr
  while [[ $1 != -- ]]; do args+=("$1"); shift; done
  expr=$2
  "$PORTICO" match --config "$CONF" "${args[@]}" >"$T_TMP/match.json" || return 1
  "$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($expr) else 1)" \
    "$T_TMP/match.json" || { echo "not ($expr):"; cat "$T_TMP/match.json"; return 1; }
}
check match_prefix match_is --to $GW4:80 --host app.example --path /a/x -- \
  'd["listener"] == "l7/gw/http" and d["route"]["name"] == "main" and d["rule"] == 0 and d["backends"][0]["name"] == "svc-a" and d["response"] is None'
check match_header match_is --to $GW4:80 --host app.example --path /z --header X-Canary:1 -- \
  'd["backends"][0]["name"] == "svc-c"'
check match_method match_is --to $GW4:80 --host app.example --path /m --method POST -- \
  'd["backends"][0]["name"] == "svc-c"'
check match_redirect match_is --to $GW4:80 --host app.example --path '/redirect/x?y=1' -- \
  'd["response"]["status"] == 301 and d["response"]["headers"]["Location"] == "https://app.example/redirect/x?y=1"'
check match_404 match_is --to $GW4:80 --host unknown.example --path /a -- \
  'd["response"]["status"] == 404 and d["route"] is None'
check match_503 match_is --to $GW4:80 --host app.example --path /empty -- 'd["response"]["status"] == 503'
check match_rewrite match_is --to $GW4:80 --host app.example --path '/old/p?k=v' -- \
  'd["request"]["path"] == "/new/p?k=v"'
check match_ipv6 match_is --to "[$GW6]:80" --host other.example --path / -- \
  'd["backends"][0]["name"] == "svc-b"'
check match_bad_to_exits_2 bash -c '"$0" match --config "$1" --to nowhere --host a --path / 2>/dev/null; [[ $? == 2 ]]' "$PORTICO" "$CONF"

# --- traffic -------------------------------------------------------------------------------

require testbed_up testbed_up
require backends_listening start_backends --tcp 8080
require portico_ready start_portico "$CONF"

# ask NAME PATH [CURL_ARGS...]: one request to the Gateway (Host app.example unless given);
# $T_TMP/NAME.out holds "<status> <first body line>".
ask() {
  local name=$1 path=$2 host=(-H 'Host: app.example')
  shift 2
  [[ " $* " != *" Host: "* ]] || host=()  # the caller names the host itself
  in_ns client curl -sS --connect-timeout 2 --max-time 5 -o "$T_TMP/$name.body" \
    -D "$T_TMP/$name.headers" -w '%{http_code}\n' "${host[@]}" "$@" \
    "http://$GW4$path" >"$T_TMP/$name.code" || return 1
  printf '%s %s\n' "$(cat "$T_TMP/$name.code")" "$(head -n 1 "$T_TMP/$name.body")" >"$T_TMP/$name.out"
}

# routes_to NAME PATH WANT [CURL_ARGS...]: the answer is "WANT" ("200 be1", "404 ..." ...).
routes_to() {
  local name=$1 path=$2 want=$3 got
  shift 3
  ask "$name" "$path" "$@" || return 1
  got=$(cat "$T_TMP/$name.out")
  [[ $got == "$want"* ]] || {
    echo "$path $*: got '$got', expected '$want'"
    return 1
  }
}

check prefix_a_to_be1 routes_to a /a/x "200 be1"
check exact_b_to_be2 routes_to b /b "200 be2"
check exact_is_not_prefix_404 routes_to bb /bb "404"
check header_canary_to_be3 routes_to canary /zzz "200 be3" -H 'X-Canary: 1'
check query_v3_to_be3 routes_to q3 '/q?v=3' "200 be3"
check query_other_to_be2 routes_to q2 '/q?v=2' "200 be2"
check method_post_to_be3 routes_to post /m "200 be3" -X POST
check method_get_to_be1 routes_to get /m "200 be1"
check host_other_to_be2 routes_to other /anything "200 be2" -H 'Host: other.example'
check host_with_port_matches routes_to hostport /a "200 be1" -H 'Host: app.example:8080'
check unknown_host_404 routes_to unknown /a "404" -H 'Host: unknown.example'
check missing_backend_500 routes_to broken /broken "500"
check no_endpoint_503 routes_to empty /empty "503"

header_is() {  # header_is NAME HEADER VALUE
  local got
  got=$(tr -d '\r' <"$T_TMP/$1.headers" | awk -v h="$2" 'tolower($1) == tolower(h) ":" {print $2}')
  [[ $got == "$3" ]] || {
    echo "$2: got '$got', expected '$3'"
    return 1
  }
}
check redirect_301 routes_to redir '/redirect/x?y=1' "301"
check redirect_location header_is redir Location "https://app.example/redirect/x?y=1"
check redirect_302_host routes_to moved /moved "302"
check redirect_302_location header_is moved Location "http://new.example/moved"

body_has() { grep -qxF -- "$2" "$T_TMP/$1.body" || { echo "$1: no line '$2' in:"; cat "$T_TMP/$1.body"; return 1; }; }
body_lacks() { ! grep -qi -- "$2" "$T_TMP/$1.body" || { echo "$1: '$2' should not be in:"; cat "$T_TMP/$1.body"; return 1; }; }
check header_modifier_forwarded routes_to mod /mod "200 be1" -H 'X-Secret: s'
check header_modifier_set body_has mod "X-Added: yes"
check header_modifier_removed body_lacks mod "X-Secret"
check host_forwarded_unchanged body_has hostport "Host: app.example:8080"
check url_rewrite_prefix routes_to rewrite '/old/page?k=v' "200 be2"
check url_rewrite_path body_has rewrite "GET /new/page?k=v HTTP/1.1"
check http10 routes_to h10 /a "200 be1" -0

v6_routes() {
  local got
  got=$(in_ns client curl -sS -g --connect-timeout 2 --max-time 5 -H 'Host: app.example' \
    "http://[$GW6]/a" | head -n 1) || return 1
  [[ $got == be1 ]] || { echo "IPv6: got '$got'"; return 1; }
}
check ipv6_prefix_a_to_be1 v6_routes

# The head in three segments, 300 ms apart (TCP_NODELAY: each send is its own segment).
split_head() {
  in_ns client "$PYTHON" - "$GW4" <<'PY'
import socket, sys, time
s = socket.create_connection((sys.argv[1], 80), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for part in (b"GET /b HTTP/1.1\r\nHo", b"st: app.exa", b"mple\r\nConnection: close\r\n\r\n"):
    s.sendall(part)
    time.sleep(0.3)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
body = data.split(b"\r\n\r\n", 1)[1].split(b"\n")[0]
print(body.decode())
sys.exit(0 if body == b"be2" else 1)
PY
}
check head_in_three_segments split_head

# Weights 70/30/0 over 500 new connections: within 5 points.
weights() {
  get_many weights 500 "http://$GW4/weights" -H 'Host: app.example' || return 1
  local n1 n2 n3
  n1=$(count_of "$T_TMP/weights.out" be1)
  n2=$(count_of "$T_TMP/weights.out" be2)
  n3=$(count_of "$T_TMP/weights.out" be3)
  echo "# weights 70/30/0 over 500: be1=$n1 be2=$n2 be3=$n3"
  ((n1 >= 325 && n1 <= 375 && n2 >= 125 && n2 <= 175 && n3 == 0)) || {
    echo "be1=$n1 be2=$n2 be3=$n3 of 500: expected 350+-25, 150+-25, 0"
    return 1
  }
}
check weights_70_30_0 weights

# Keep-alive across two routes: /a then /b on one curl; Portico sends the head with
# Connection: close (the host's rules lead to different backends), so the second request goes
# out on a new connection and is classified on its own.
two_routes() {
  local out
  out=$(in_ns client curl -sS --max-time 5 -H 'Host: app.example' "http://$GW4/a" \
    "http://$GW4/b" | grep -x 'be[123]' | tr '\n' ' ') || return 1
  [[ $out == "be1 be2 " ]] || { echo "got '$out', expected 'be1 be2'"; return 1; }
}
check keepalive_two_routes_land_right two_routes

# One route for the host: later requests ride the spliced connection.
same_backend_reused() {
  local out
  out=$(in_ns client curl -sS -v --max-time 5 -H 'Host: single.example' "http://$GW4/x" \
    "http://$GW4/y" 2>&1) || return 1
  [[ $(grep -cx 'be3' <<<"$out") == 2 ]] || { echo "two answers from be3 expected"; return 1; }
  grep -q 'Re-using existing connection' <<<"$out" || {
    echo "curl opened a second connection"
    return 1
  }
}
check keepalive_same_backend_reuses_connection same_backend_reused

check download_50mb_intact download_intact dl 52428800 "http://$GW4/download?bytes=52428800" \
  -H 'Host: app.example'

upload_intact() {
  head -c 4194304 /dev/urandom >"$T_TMP/upload.bin"
  local want
  want=$(sha256sum <"$T_TMP/upload.bin" | cut -d' ' -f1)
  in_ns client curl -sS --max-time 20 -D "$T_TMP/up.headers" -o /dev/null -H 'Host: app.example' \
    --data-binary @"$T_TMP/upload.bin" "http://$GW4/a/upload" || return 1
  header_is up X-Body-Sha256 "$want"
}
check upload_4mb_intact upload_intact

concurrent() {
  command -v wrk >/dev/null || { echo "wrk not installed"; return 1; }
  in_ns client timeout 30 wrk -t 2 -c 200 -d 5s -H 'Host: single.example' "http://$GW4/x" \
    >"$T_TMP/wrk.out" 2>&1 || { cat "$T_TMP/wrk.out"; return 1; }
  cat "$T_TMP/wrk.out" | sed 's/^/# /'
  ! grep -q 'Non-2xx\|Socket errors' "$T_TMP/wrk.out" || return 1
  local n
  n=$(awk '/requests in/ {print $1}' "$T_TMP/wrk.out")
  ((n >= 1000)) || { echo "only $n requests in 5 s"; return 1; }
}
check wrk_200_connections concurrent

# A reload (SIGHUP, same files) republishes the classifier: routing goes on, and a download
# spliced before it ends intact after it.
reload_keeps_routing() {
  in_ns client curl -sS --max-time 20 -o "$T_TMP/during.bin" -H 'Host: app.example' \
    "http://$GW4/download?bytes=8000000&rate=2000000" &
  local dl=$!
  sleep 1
  reload_ok || return 1
  routes_to after_reload /b "200 be2" || return 1
  wait "$dl" || { echo "the download across the reload failed"; return 1; }
  local want got
  want=$("$PYTHON" "$SYS_DIR/backend.py" --expect-sha256 8000000)
  got=$(sha256sum <"$T_TMP/during.bin" | cut -d' ' -f1)
  [[ $got == "$want" ]] || { echo "the download across the reload is not intact"; return 1; }
}
check reload_keeps_routing_and_spliced_connections reload_keeps_routing

l7_stats() {
  portico_stats >"$T_TMP/stats.txt" || return 1
  stat_at_least "$(cat "$T_TMP/stats.txt")" l7.spliced 500 || return 1
}
check stats_count_spliced l7_stats

# --- two workers ------------------------------------------------------------------------------
# Two workers sharing CPU 1 (lcores 0@0,1@1,2@1): af_packet's fanout spreads the clients'
# connections over both, and a backend's answers reach the worker whose SNAT port they carry
# (passed over the handoff ring when they land on the other one).
require portico_stopped stop_portico
sed 's/    lcores: "0-1"/    lcores: "0@0,1@1,2@1"/' "$CONF" >"$T_TMP/l7_two_workers.yaml"
require portico_two_workers start_portico "$T_TMP/l7_two_workers.yaml"
check two_workers_ready grep -q 'event=ready .*workers=1,2' "$PORTICO_LOG"
check two_workers_prefix_a routes_to a2 /a/x "200 be1"
check two_workers_header routes_to canary2 /zzz "200 be3" -H 'X-Canary: 1'
two_workers_weights() {
  get_many weights2 200 "http://$GW4/weights" -H 'Host: app.example' || return 1
  local n3
  n3=$(count_of "$T_TMP/weights2.out" be3)
  ((n3 == 0)) || { echo "be3 (weight 0) answered $n3"; return 1; }
  distinct_backends "$T_TMP/weights2.out" 2
}
check two_workers_200_connections two_workers_weights
check two_workers_download_20mb_intact download_intact dl2 20971520 \
  "http://$GW4/download?bytes=20971520" -H 'Host: app.example'
two_workers_stats() {
  portico_stats >"$T_TMP/stats2.txt" || return 1
  local line
  line=$(cat "$T_TMP/stats2.txt")
  stat_at_least "$line" l7.spliced 200 || return 1
  [[ $(stat_value "$line" drop.handoff_full) == 0 ]] || { echo "drop.handoff_full > 0"; return 1; }
  echo "# handoff.in=$(stat_value "$line" handoff.in) l7.cookie_rejected=$(stat_value "$line" l7.cookie_rejected)"
}
check two_workers_stats two_workers_stats

finish
