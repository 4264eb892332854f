#!/usr/bin/env bash
# Kubernetes sync against tests/k8s/fake_apiserver.py (the real wire protocol: list with
# limit/continue, chunked watches cut at random byte offsets, bookmarks, 410, Status bodies),
# run in Portico's namespace on its loopback: the NodeConfig, pool and L2Advertisement come
# from a file, the Services and EndpointSlices from the API server. A Service created there
# answers ARP and HTTP through its backends; a deleted one stops answering; an invalid one is
# left out while the others stay; an API server outage (connections refused, then dropped
# watches) leaves traffic flowing, and after it a new Service is picked up.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317
. "$(dirname "$0")/lib.sh"

K8S="$T_TMP/k8s"
CONF="$T_TMP/k8s.yaml"
VIP1=203.0.113.30
VIP2=203.0.113.31
VIP3=203.0.113.32
BAD=203.0.113.33

require portico_built portico_built
require python_cryptography "$PYTHON" -c "import cryptography"
require testbed_up testbed_up
require backends_listening start_backends --tcp 8080

# The API server in Portico's namespace, on its loopback.
mkdir -p "$K8S"
ip netns exec "$P-portico" ip link set lo up
ip netns exec "$P-portico" "$PYTHON" "$SYS_DIR/../k8s/fake_apiserver.py" --dir "$K8S" --seed 7 \
  --bind 127.0.0.1 >"$T_TMP/apiserver.log" 2>&1 &
BG_PIDS+=($!)
apiserver_up() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $K8S/port ]] && return 0
    sleep 0.1
  done
  tail -n 5 "$T_TMP/apiserver.log"
  return 1
}
require apiserver_up apiserver_up
PORT=$(cat "$K8S/port")

# kapi METHOD PATH [JSON]: a request as kubectl would send it; prints the body, fails on non-2xx.
kapi() {
  ip netns exec "$P-portico" curl -sS --fail-with-body --cacert "$K8S/ca.crt" \
    -H "Authorization: Bearer $(cat "$K8S/token")" -H "Content-Type: application/json" \
    -X "$1" "https://127.0.0.1:$PORT$2" ${3:+--data-binary "$3"}
}
admin() {
  ip netns exec "$P-portico" curl -sS --fail -k -H "Content-Type: application/json" \
    -X POST "https://127.0.0.1:$PORT/_admin/$1" ${2:+--data-binary "$2"} >/dev/null
}

sed -n '/^apiVersion: portico.io/,/^---$/p' "$SYS_DIR/configs/l4.yaml" | sed '$d' |
  sed -e "s|kubeconfig: \"\"|kubeconfig: \"$K8S/kubeconfig\"|" \
    -e 's|grpc: "unix:///run/portico/api.sock"|grpc: ""|' -e 's|metrics: "127.0.0.1:9478"|metrics: "127.0.0.1:9479"|' >"$CONF"
cat >>"$CONF" <<'YAML'
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: k8s-pool
  namespace: metallb-system
spec:
  addresses: [203.0.113.30-203.0.113.39]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: k8s-l2
  namespace: metallb-system
spec:
  ipAddressPools: [k8s-pool]
YAML
require config_names_kubeconfig grep -q "kubeconfig: \"$K8S/kubeconfig\"" "$CONF"

service_json() { # NAME VIP PORT
  printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"k8s","annotations":{"metallb.io/loadBalancerIPs":"%s"}},"spec":{"type":"LoadBalancer","ports":[{"name":"http","protocol":"TCP","port":%s,"targetPort":8080}]}}' "$1" "$2" "$3"
}
slice_json() { # SERVICE
  printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s-v4","namespace":"k8s","labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","endpoints":[{"addresses":["%s"],"conditions":{"ready":true}},{"addresses":["%s"],"conditions":{"ready":true}}],"ports":[{"name":"http","protocol":"TCP","port":8080}]}' "$1" "$1" "${TB_ADDR4[be1]}" "${TB_ADDR4[be2]}"
}
create() { # NAME VIP PORT
  kapi POST /api/v1/namespaces/k8s/services "$(service_json "$1" "$2" "$3")" >/dev/null &&
    kapi POST /apis/discovery.k8s.io/v1/namespaces/k8s/endpointslices "$(slice_json "$1")" >/dev/null
}

check namespace_created kapi POST /api/v1/namespaces \
  '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"k8s"}}'
check lease_namespace_created kapi POST /api/v1/namespaces \
  '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"portico-system"}}'
# Objects that exist before Portico starts come with the first list.
check create_before_start create web1 "$VIP1" 80
require portico_ready start_portico "$CONF"
MAC=$(portico_mac)
synced() { wait_until 15 grep -q "event=k8s_synced" "$PORTICO_LOG"; }
check informers_synced synced
check listed_service_arp arp_from "$VIP1" "$MAC" 5
check listed_service_http get_many listed 10 "http://$VIP1/"

# Status write-back: this node takes the Lease and writes the Service's address (server-side
# apply, field manager portico) and the pool annotation.
lease_holder_is() { # IDENTITY SECONDS
  wait_until "$2" bash -c "ip netns exec '$P-portico' curl -sS --cacert '$K8S/ca.crt' \
    -H \"Authorization: Bearer \$(cat '$K8S/token')\" \
    https://127.0.0.1:$PORT/apis/coordination.k8s.io/v1/namespaces/portico-system/leases/portico-status-writer |
    grep -q '\"holderIdentity\": *\"$1\"'" || {
    kapi GET /apis/coordination.k8s.io/v1/namespaces/portico-system/leases/portico-status-writer
    echo
    echo "the Lease is not held by $1"
    return 1
  }
}
check lease_taken lease_holder_is edge-1 10
# status_is NAME VIP POOL: the Service as the API server has it (what kubectl get svc shows).
status_is() {
  local body
  [[ -z $2 ]] || wait_until 10 bash -c "ip netns exec '$P-portico' curl -sS --cacert '$K8S/ca.crt' \
    -H \"Authorization: Bearer \$(cat '$K8S/token')\" \
    https://127.0.0.1:$PORT/api/v1/namespaces/k8s/services/$1 | grep -q '\"ip\": *\"$2\"'"
  body=$(kapi GET "/api/v1/namespaces/k8s/services/$1") || return 1
  "$PYTHON" - "$body" "$2" "$3" <<'PY' || return 1
import json, sys
svc, vip, pool = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])
if [i.get("ip") for i in ingress] != ([vip] if vip else []):
    sys.exit("status.loadBalancer.ingress is %r, expected [{ip: %s}]" % (ingress, vip))
got = svc["metadata"].get("annotations", {}).get("metallb.io/ip-allocated-from-pool")
if got != (pool or None):
    sys.exit("annotation metallb.io/ip-allocated-from-pool is %r, expected %r" % (got, pool))
owners = {(m.get("manager"), m.get("operation"), m.get("subresource", ""))
          for m in svc["metadata"].get("managedFields", [])}
if ("portico", "Apply", "status") not in owners:
    sys.exit("no server-side apply by manager portico on /status: %r" % sorted(owners))
PY
}
check status_written status_is web1 "$VIP1" k8s-pool
# The requests as sent: what a real API server requires of a server-side apply.
ssa_requests_ok() {
  ip netns exec "$P-portico" curl -sS -k "https://127.0.0.1:$PORT/_admin/requests" >"$T_TMP/requests.json" || return 1
  "$PYTHON" - "$T_TMP/requests.json" <<'PY'
import json, sys
reqs = json.load(open(sys.argv[1]))["requests"]
ssa = [r for r in reqs if r["method"] == "PATCH" and r["path"].endswith("/services/web1/status")]
if not ssa:
    sys.exit("no PATCH of services/web1/status")
for r in ssa:
    if r["content_type"] != "application/apply-patch+yaml":
        sys.exit("content type %r" % r["content_type"])
    q = r.get("params") or {}
    fm = q.get("fieldManager"); force = q.get("force")
    fm = fm[0] if isinstance(fm, list) else fm
    force = force[0] if isinstance(force, list) else force
    if fm != "portico" or force != "true":
        sys.exit("query %r: fieldManager=portico&force=true expected" % q)
    body = json.loads(r["body"])
    if body.get("apiVersion") != "v1" or body.get("kind") != "Service":
        sys.exit("apply body without apiVersion v1 / kind Service: %r" % body)
    if body["metadata"].get("name") != "web1" or body["metadata"].get("namespace") != "k8s":
        sys.exit("apply body metadata %r" % body["metadata"])
    if set(body) - {"apiVersion", "kind", "metadata", "status"}:
        sys.exit("the status apply carries more than status: %r" % sorted(body))
print("%d server-side applies checked" % len(ssa))
PY
}
check ssa_request_shape ssa_requests_ok
# metric_is NAME_AND_LABELS VALUE: one sample of /metrics (the second node has no metrics).
metric_is() {
  local got
  got=$(ip netns exec "$P-portico" curl -sS http://127.0.0.1:9479/metrics | grep -v "^#" | grep -F "$1 " | awk '{print $2}')
  [[ $got == "$2" ]] || {
    echo "$1 is '$got', expected $2"
    return 1
  }
}
check metric_leader metric_is "portico_k8s_leader" 1
check metric_services_synced metric_is 'portico_k8s_informer_synced{kind="Service"}' 1
check metric_service_watching metric_is 'portico_k8s_informer_state{kind="Service",state="watching"}' 1

# Gateway API status: the GatewayClass is accepted, the Gateway gets its address and listener
# status, and the HTTPRoute gets Portico's parent entry next to another controller's, which
# stays as it was (read-modify-write on /status).
gateway_objects() {
  kapi POST /apis/gateway.networking.k8s.io/v1/gatewayclasses \
    '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"GatewayClass","metadata":{"name":"portico"},"spec":{"controllerName":"portico.io/gateway-controller"}}' >/dev/null &&
    kapi POST /apis/gateway.networking.k8s.io/v1/namespaces/k8s/gateways \
      '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":"gw","namespace":"k8s"},"spec":{"gatewayClassName":"portico","addresses":[{"type":"IPAddress","value":"203.0.113.35"}],"listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}}' >/dev/null &&
    kapi POST /apis/gateway.networking.k8s.io/v1/namespaces/k8s/httproutes \
      '{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"app","namespace":"k8s"},"spec":{"parentRefs":[{"name":"gw"},{"name":"other-gw"}],"hostnames":["app.example"],"rules":[{"backendRefs":[{"name":"web1","port":80}]}]}}' >"$T_TMP/route.json" &&
    "$PYTHON" - "$T_TMP/route.json" >"$T_TMP/route-status.json" <<'PY' &&
import json, sys
r = json.load(open(sys.argv[1]))
r["status"] = {"parents": [{"parentRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                          "name": "other-gw"},
                            "controllerName": "example.com/other-controller",
                            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                            "message": "theirs", "observedGeneration": 1,
                                            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}]}
print(json.dumps(r))
PY
    kapi PUT /apis/gateway.networking.k8s.io/v1/namespaces/k8s/httproutes/app/status \
      "$(cat "$T_TMP/route-status.json")" >/dev/null
}
check gateway_objects_created gateway_objects
gateway_status() {
  local i ok=0
  for ((i = 0; i < 50; i++)); do
    kapi GET /apis/gateway.networking.k8s.io/v1/gatewayclasses/portico >"$T_TMP/gc.json" &&
      kapi GET /apis/gateway.networking.k8s.io/v1/namespaces/k8s/gateways/gw >"$T_TMP/gw.json" &&
      kapi GET /apis/gateway.networking.k8s.io/v1/namespaces/k8s/httproutes/app >"$T_TMP/rt.json" || return 1
    if "$PYTHON" - "$T_TMP/gc.json" "$T_TMP/gw.json" "$T_TMP/rt.json" 2>"$T_TMP/gwcheck.txt" <<'PY'; then
import json, sys
gc, gw, rt = (json.load(open(f)) for f in sys.argv[1:4])
def cond(obj_status, t):
    return next((c for c in obj_status.get("conditions", []) if c["type"] == t), None)
c = cond(gc.get("status", {}), "Accepted")
assert c and c["status"] == "True", "GatewayClass Accepted: %r" % c
assert c.get("observedGeneration") == gc["metadata"].get("generation"), "observedGeneration"
st = gw.get("status", {})
assert [a.get("value") for a in st.get("addresses", [])] == ["203.0.113.35"], st.get("addresses")
assert cond(st, "Programmed") and cond(st, "Programmed")["status"] == "True", cond(st, "Programmed")
assert [l["name"] for l in st.get("listeners", [])] == ["http"], st.get("listeners")
parents = rt.get("status", {}).get("parents", [])
ours = [p for p in parents if p.get("controllerName") == "portico.io/gateway-controller"]
theirs = [p for p in parents if p.get("controllerName") == "example.com/other-controller"]
assert len(ours) == 1 and ours[0]["parentRef"]["name"] == "gw", parents
assert cond(ours[0], "Accepted")["status"] == "True", ours[0]
assert len(theirs) == 1 and theirs[0]["conditions"][0]["message"] == "theirs" and \
    theirs[0]["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:00Z", theirs
PY
      ok=1
      break
    fi
    sleep 0.2
  done
  ((ok)) || {
    cat "$T_TMP/gwcheck.txt"
    return 1
  }
}
check gateway_status_written gateway_status
check gateway_answers arp_from 203.0.113.35 "$MAC" 3
check gateway_routes_http get_many gw 5 "http://203.0.113.35/" -H "Host: app.example"

# An address that cannot be allocated: a Warning Event AllocationFailed on the Service.
no_address() {
  kapi POST /api/v1/namespaces/k8s/services \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"noaddr","namespace":"k8s","annotations":{"metallb.io/loadBalancerIPs":"203.0.113.99"}},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}' >/dev/null
}
check create_unallocatable no_address
allocation_event() {
  wait_until 10 bash -c "ip netns exec '$P-portico' curl -sS --cacert '$K8S/ca.crt' \
    -H \"Authorization: Bearer \$(cat '$K8S/token')\" \
    https://127.0.0.1:$PORT/api/v1/namespaces/k8s/events | grep -q AllocationFailed" || {
    kapi GET /api/v1/namespaces/k8s/events | head -c 600
    echo
    echo "no AllocationFailed event for Service k8s/noaddr"
    return 1
  }
  kapi GET /api/v1/namespaces/k8s/events | "$PYTHON" -c '
import json, sys
evs = [e for e in json.load(sys.stdin)["items"] if e.get("reason") == "AllocationFailed"]
e = evs[0]
io = e["involvedObject"]
assert io["kind"] == "Service" and io["name"] == "noaddr" and io["namespace"] == "k8s", io
assert e["type"] == "Warning" and "203.0.113.99" in e["message"], e
'
}
check allocation_failed_event allocation_event
check unallocatable_status_empty status_is noaddr "" ""

# A Service created while Portico runs arrives by watch.
check create_while_running create web2 "$VIP2" 80
check watched_service_arp arp_from "$VIP2" "$MAC" 5
check watched_service_http get_many watched 10 "http://$VIP2/"

# An invalid Service is left out with an event; the rest stays.
bad_service() {
  kapi POST /api/v1/namespaces/k8s/services \
    '{"apiVersion":"v1","kind":"Service","metadata":{"name":"bad","namespace":"k8s","annotations":{"metallb.io/loadBalancerIPs":"'"$BAD"'"}},"spec":{"type":"LoadBalancer","ports":[{"port":70000}]}}' >/dev/null
}
check create_invalid bad_service
rejected() { wait_until 5 grep -q "event=k8s_object_rejected object=Service/k8s/bad" "$PORTICO_LOG"; }
check invalid_rejected rejected
check invalid_not_answered no_arp "$BAD"
# ... and an Event on the object says why (kubectl describe service bad), posted once.
rejected_event() {
  wait_until 10 bash -c "ip netns exec '$P-portico' curl -sS --cacert '$K8S/ca.crt' \
    -H \"Authorization: Bearer \$(cat '$K8S/token')\" \
    https://127.0.0.1:$PORT/api/v1/namespaces/k8s/events | grep -q ObjectRejected" || {
    echo "no ObjectRejected event for Service k8s/bad"
    return 1
  }
  kapi GET /api/v1/namespaces/k8s/events | "$PYTHON" -c '
import json, sys
evs = [e for e in json.load(sys.stdin)["items"] if e.get("reason") == "ObjectRejected"]
assert len(evs) == 1, evs
e = evs[0]
io = e["involvedObject"]
assert (io["apiVersion"], io["kind"], io["namespace"], io["name"]) == ("v1", "Service", "k8s", "bad"), io
assert io.get("uid"), "the event names the object by uid too"
assert e["type"] == "Warning" and "spec.ports[0].port" in e["message"], e
assert e.get("count", 1) == 1, "posted once, not at every publication: %r" % e.get("count")
'
}
check others_kept arp_from "$VIP1" "$MAC" 3

# Deleted in the cluster: the address stops answering.
check delete_service kapi DELETE /api/v1/namespaces/k8s/services/web2
# silent_within SECONDS VIP: the address stops answering ARP within SECONDS (a watch event away).
silent_within() {
  wait_until "$1" no_arp "$2" >/dev/null 2>&1
  no_arp "$2"
}
check deleted_silent silent_within 5 "$VIP2"

# API server outage: connections refused for 6 s; traffic keeps flowing meanwhile.
PUBLISHED=$(grep -c "event=reload_ok" "$PORTICO_LOG")
check outage_starts admin fault '{"action":"restart","seconds":6}'
check outage_traffic_flows get_many outage 10 "http://$VIP1/"
check outage_arp_answered arp_from "$VIP1" "$MAC" 3
sleep 6
# all_watching: every kind's informer is watching again (after its backoff).
all_watching() {
  local n
  n=$(ip netns exec "$P-portico" curl -sS http://127.0.0.1:9479/metrics |
    grep -c '^portico_k8s_informer_state{kind="[A-Za-z0-9]*",state="watching"} 1$')
  ((n == 13))
}
informers_watching() {
  wait_until 60 all_watching && return 0
  ip netns exec "$P-portico" curl -sS http://127.0.0.1:9479/metrics >"$T_TMP/metrics.txt"
  grep -E '^portico_k8s_informer_state\{.*\} 1$' "$T_TMP/metrics.txt" | grep -v 'state="watching"'
  echo "$(grep -c '^portico_k8s_informer_state{kind="[A-Za-z0-9]*",state="watching"} 1$' "$T_TMP/metrics.txt") kinds watching"
  return 1
}
check informers_back informers_watching
# Nothing changed in the cluster meanwhile: the return republishes nothing (no VIP flaps).
same_generation() {
  local now
  now=$(grep -c "event=reload_ok" "$PORTICO_LOG")
  ((now == PUBLISHED)) || {
    grep "event=reload_ok" "$PORTICO_LOG" | tail -n 3
    echo "published $((now - PUBLISHED)) times across an outage that changed nothing"
    return 1
  }
}
check no_republish_after_outage same_generation
# A watch too old for the server (410 in the stream): the informer lists again, still no change.
check too_old_armed admin fault '{"action":"watch_too_old","mode":"event"}'
check watches_dropped admin fault '{"action":"drop_watches"}'
relisted() { wait_until 20 grep -q "event=k8s_informer_relist" "$PORTICO_LOG"; }
check relist_after_410 relisted
check informers_back_again informers_watching
check no_republish_after_relist same_generation
# Server errors and slow answers: the Services informer gets a 500 for its next request and
# requests wait 1.5 s; it backs off (its delay has grown with the faults above: client-go resets
# it only after 2 minutes without failure), comes back, and nothing is republished.
check errors_armed admin fault '{"action":"fail","code":500,"count":1,"path":"/api/v1/services"}'
check slow_armed admin fault '{"action":"delay","ms":1500,"count":6}'
check watches_dropped_again admin fault '{"action":"drop_watches"}'
services_errors_grew() {
  wait_until 20 grep -q 'event=k8s_informer_error resource=services error=".*500' "$PORTICO_LOG" || {
    grep "resource=services" "$PORTICO_LOG" | tail -n 3
    return 1
  }
}
check server_errors_logged services_errors_grew
check traffic_during_errors get_many errors 5 "http://$VIP1/"
check informers_back_after_errors informers_watching
check no_republish_after_errors same_generation
check create_after_outage create web3 "$VIP3" 80
# The informers back off after the outage (client-go's 0.8 s doubling, with jitter): the new
# Service arrives within their next attempts, without a restart of Portico.
serves_within() { # SECONDS VIP
  wait_until "$1" get_many probe 1 "http://$2/" >/dev/null 2>&1
  arp_from "$2" "$MAC" 3
}
check after_outage_arp serves_within 30 "$VIP3"
check after_outage_http get_many after 10 "http://$VIP3/"
check still_serving_first arp_from "$VIP1" "$MAC" 3
check rejected_event_once rejected_event
errors_logged() { grep -qE "event=k8s_informer_[a-z_]*(error|backoff|fail)" "$PORTICO_LOG"; }
check outage_logged errors_logged
errors_counted() {
  local n
  n=$(ip netns exec "$P-portico" curl -sS http://127.0.0.1:9479/metrics |
    awk '/^portico_k8s_informer_errors_total/ {s += $2} END {print s + 0}')
  ((n > 0)) || {
    echo "portico_k8s_informer_errors_total sums to $n after the outage"
    return 1
  }
}
check outage_counted errors_counted

# A second node (edge-2: no traffic, a net_null port) follows while edge-1 holds the Lease, and
# takes it over when edge-1 stops (edge-1 releases it); edge-2 then writes status.
sed -e 's/name: edge-1$/name: edge-2/' -e 's|net_af_packet0,iface=veth0|net_null0|' \
  -e 's|tap: portico0|tap: portico9|' -e 's|metrics: "127.0.0.1:9479"|metrics: ""|' "$CONF" >"$T_TMP/k8s-b.yaml"
start_second() {
  ip netns exec "$P-portico" "$PORTICO" run --config "$T_TMP/k8s-b.yaml" </dev/null \
    >"$T_TMP/portico-b.log" 2>&1 &
  SECOND_PID=$!
  BG_PIDS+=("$SECOND_PID")
  wait_until 20 grep -q "event=k8s_synced" "$T_TMP/portico-b.log" || {
    tail -n 5 "$T_TMP/portico-b.log"
    return 1
  }
}
check second_node_started start_second
sleep 3
check first_still_leads lease_holder_is edge-1 1
check first_stopped stop_portico
check second_takes_over lease_holder_is edge-2 10
check create_for_second create web4 203.0.113.34 80
check second_writes_status status_is web4 203.0.113.34 k8s-pool
second_stops() {
  kill -TERM "$SECOND_PID" && wait_until 15 bash -c "! kill -0 $SECOND_PID 2>/dev/null"
}
check second_stopped second_stops
check lease_released lease_holder_is "" 5
finish
