#!/usr/bin/env bash
# `portico check`: the demo's computed Service statuses as JSON, and file:line errors for bad
# input. No namespaces needed.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

require portico_built portico_built

JSON="$T_TMP/demo.json"
demo_check() {
  "$PORTICO" check --config "$DEMO_CONFIG" -o json >"$JSON" 2>"$T_TMP/demo.err"
  local rc=$?
  ((rc == 0)) || {
    cat "$T_TMP/demo.err" "$JSON"
    echo "portico check of the demo exited $rc"
    return 1
  }
  "$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["errors"] == [], d["errors"]' \
    "$JSON" || {
    head -c 2000 "$JSON"
    echo "output is not JSON with an empty errors list"
    return 1
  }
}
require demo_check_exit_0 demo_check

# in_range IP FIRST LAST: print IP if within [FIRST, LAST] (same family).
ip_in_range() {
  "$PYTHON" -c 'import ipaddress as I,sys; a,f,l=(I.ip_address(x) for x in sys.argv[1:4]); sys.exit(0 if a.version==f.version and f<=a<=l else 1)' "$@" 2>/dev/null
}

web_dual_stack() {
  local ips v4="" v6="" ip
  ips=$(service_ips "$JSON" demo/web)
  for ip in $ips; do
    ip_in_range "$ip" 203.0.113.10 203.0.113.49 && v4=$ip
    ip_in_range "$ip" 2001:db8:200::10 2001:db8:200::49 && v6=$ip
  done
  [[ -n $v4 && -n $v6 && $(wc -w <<<"$ips") -eq 2 ]] || {
    echo "demo/web ingress: [$(tr '\n' ' ' <<<"$ips")], expected one IPv4 of 203.0.113.10-49 and one IPv6 of 2001:db8:200::10-49"
    return 1
  }
}
check web_ingress_dual_stack web_dual_stack

no_ingress() {
  local ips
  "$PYTHON" - "$JSON" "$1" <<'PY' || return 1
import json, sys
ns, name = sys.argv[2].split("/")
found = [o for o in json.load(open(sys.argv[1]))["objects"]
         if o.get("kind") == "Service" and o["metadata"].get("namespace") == ns
         and o["metadata"].get("name") == name]
if not found:
    sys.exit(f"Service {sys.argv[2]} missing from the output")
PY
  ips=$(service_ips "$JSON" "$1")
  [[ -z $ips ]] || {
    echo "$1 has ingress $ips"
    return 1
  }
}
check clusterip_no_ingress no_ingress demo/internal

dns_shared() {
  local a b
  a=$(service_ips "$JSON" demo/dns-tcp)
  b=$(service_ips "$JSON" demo/dns-udp)
  if [[ -z $a || $a != "$b" ]] || ! ip_in_range "$a" 203.0.113.10 203.0.113.49; then
    echo "dns-tcp [$a] and dns-udp [$b] should share one IPv4 of demo-pool (allow-shared-ip: dns)"
    return 1
  fi
}
check shared_ip_dns dns_shared

api_reserved() {
  local a
  a=$(service_ips "$JSON" demo/api)
  if [[ -z $a ]] || ! ip_in_range "$a" 203.0.113.200 203.0.113.207; then
    echo "demo/api ingress [$a], expected one address of the reserved pool 203.0.113.200/29"
    return 1
  fi
}
check address_pool_annotation api_reserved

# An L2Advertisement whose name is not a DNS-1123 subdomain.
BAD="$T_TMP/bad-l2.yaml"
cat >"$BAD" <<'YAML'
# an invalid object name
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: Uplink_L2!
  namespace: metallb-system
spec:
  ipAddressPools: [demo-pool]
YAML
# The error must point into the L2Advertisement document: lines 3 to 9.
bad_name_text() {
  local out rc
  out=$("$PORTICO" check --config "$DEMO_CONFIG" --config "$BAD" 2>&1)
  rc=$?
  printf '%s\n' "$out"
  ((rc == 1)) || {
    echo "exit status $rc, expected 1"
    return 1
  }
  grep -qE "$BAD:[3-9]:" <<<"$out" || {
    echo "no '$BAD:<line 3-9>:' in the output"
    return 1
  }
}
check invalid_l2_name_text bad_name_text

bad_name_json() {
  local rc
  "$PORTICO" check --config "$DEMO_CONFIG" --config "$BAD" -o json >"$T_TMP/bad.json" 2>"$T_TMP/bad.err"
  rc=$?
  cat "$T_TMP/bad.json" "$T_TMP/bad.err"
  ((rc == 1)) || {
    echo "exit status $rc, expected 1"
    return 1
  }
  "$PYTHON" - "$T_TMP/bad.json" "$BAD" <<'PY'
import json, sys
errors = json.load(open(sys.argv[1]))["errors"]
ok = [e for e in errors if e.get("file", "").endswith(sys.argv[2].split("/")[-1])
      and 3 <= int(e.get("line", 0)) <= 9 and e.get("message")]
if not ok:
    sys.exit(f"no error with file {sys.argv[2]}, line 3-9 and a message: {errors}")
PY
}
check invalid_l2_name_json bad_name_json

finish
