#!/usr/bin/env bash
# The user's Gateway API seed (shared/seeds/003, tabs fixed: tests/unit/config/testdata/gateway/)
# with what it assumes (configs/l7_seeds.yaml): the Gateway takes an address from the pool, its
# HTTP listener on port 8000 routes sample.www.local to sample/whoami (backend.py on be2), and
# its HTTPS listener says that TLS termination is not available yet.
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

SEEDS="$(cd "$SYS_DIR/../unit/config/testdata/gateway" && pwd)"
CONFS=(--config "$SYS_DIR/configs/l7_seeds.yaml" --config "$SEEDS/seed003_gateway.yaml"
  --config "$SEEDS/seed003_httproute.yaml")

require portico_built portico_built

gateway_status() {
  "$PORTICO" check "${CONFS[@]}" -o json >"$T_TMP/check.json" || { cat "$T_TMP/check.json"; return 1; }
  "$PYTHON" - "$T_TMP/check.json" >"$T_TMP/gw.txt" <<'PY' || return 1
import json, sys
doc = json.load(open(sys.argv[1]))
gw = [o for o in doc["objects"] if o["kind"] == "Gateway" and o["metadata"]["name"] == "traefik-gateway"][0]
st = gw["status"]
print("address", st["addresses"][0]["value"])
for l in st["listeners"]:
    acc = [c for c in l["conditions"] if c["type"] == "Accepted"][0]
    print("listener", l["name"], acc["status"], acc["reason"], acc["message"].replace(" ", "_"), l["attachedRoutes"])
rt = [o for o in doc["objects"] if o["kind"] == "HTTPRoute"][0]
for p in rt["status"]["parents"]:
    for c in p["conditions"]:
        print("route", c["type"], c["status"], c["reason"])
PY
  cat "$T_TMP/gw.txt"
}
require seed_status gateway_status
GW=$(awk '$1 == "address" {print $2}' "$T_TMP/gw.txt")
check gateway_has_pool_address bash -c '[[ $0 == 203.0.113.* ]]' "$GW"
check web_listener_accepted_with_route grep -q "^listener web True Accepted .* 1$" "$T_TMP/gw.txt"
check https_listener_says_tls_not_available grep -q "^listener https False UnsupportedProtocol TLS_termination_is_not_available" "$T_TMP/gw.txt"
check route_accepted grep -qx "route Accepted True Accepted" "$T_TMP/gw.txt"
check route_refs_resolved grep -qx "route ResolvedRefs True ResolvedRefs" "$T_TMP/gw.txt"

require testbed_up testbed_up
require backends_listening start_backends --tcp 8080
require portico_ready start_portico "$SYS_DIR/configs/l7_seeds.yaml" "$SEEDS/seed003_gateway.yaml" \
  "$SEEDS/seed003_httproute.yaml"

routed() {
  local got
  got=$(in_ns client curl -sS --max-time 5 -H 'Host: sample.www.local' "http://$GW:8000/any/path" |
    head -n 1) || return 1
  [[ $got == be2 ]] || { echo "got '$got', expected be2"; return 1; }
}
check seed_route_reaches_whoami routed
other_host_404() {
  local code
  code=$(in_ns client curl -sS -o /dev/null -w '%{http_code}' --max-time 5 \
    -H 'Host: other.local' "http://$GW:8000/") || return 1
  [[ $code == 404 ]] || { echo "got $code"; return 1; }
}
check other_host_404 other_host_404

finish
