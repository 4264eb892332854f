#!/usr/bin/env bash
# The gRPC API of `portico run` (control/api): Apply of a Service with a new address makes it
# answer ARP; an invalid object is refused with INVALID_ARGUMENT naming the field and nothing
# changes (generation, VIPs); an object a file defines is refused (FAILED_PRECONDITION); Delete
# withdraws the address; the applied object comes back after a restart (state directory); a
# TCP API requires TLS with a client certificate.
# Client: build/tests/api_client (tests/system/api_client.cc), not porticoctl.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

CLIENT=${API_CLIENT:-$(dirname "$PORTICO")/tests/api_client}
VIP4=203.0.113.10  # a demo Service's (file)
NEW4=203.0.113.46  # the Service applied through the API
SOCK="$T_TMP/run/api.sock"
STATE="$T_TMP/state"
CONF="$T_TMP/demo.yaml"

client_built() {
  [[ -x $CLIENT ]] || {
    echo "$CLIENT not built (ninja -C build tests/api_client)"
    return 1
  }
}
require client_built client_built
require portico_built portico_built
require testbed_up testbed_up

sed -e "s|grpc: \"unix:///run/portico/api.sock\"|grpc: \"unix://$SOCK\"\n    stateDir: \"$STATE\"|" \
  "$DEMO_CONFIG" >"$CONF"
require config_has_api grep -q "stateDir: \"$STATE\"" "$CONF"
require portico_ready start_portico "$CONF"
MAC=$(portico_mac)

api() { "$CLIENT" "unix:$SOCK" "$@"; }

socket_root_only() {
  local mode
  mode=$(stat -c %a "$SOCK") || return 1
  [[ $mode == 600 ]] || {
    echo "socket mode $mode, expected 600"
    return 1
  }
}
check socket_0600 socket_root_only

cat >"$T_TMP/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: api-extra
  namespace: demo
  annotations:
    metallb.io/loadBalancerIPs: $NEW4
spec:
  type: LoadBalancer
  ports:
    - name: http
      port: 8082
YAML
# Line 10 of this request holds the bad port.
cat >"$T_TMP/bad.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: api-bad
  namespace: demo
spec:
  type: LoadBalancer
  ports:
    - name: http
      port: 70000
YAML
cat >"$T_TMP/file-owned.yaml" <<YAML
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: demo-pool
  namespace: metallb-system
spec:
  addresses: ["203.0.113.10-203.0.113.20"]
YAML

generation() { api stats | awk '$1 == "generation" {print $2}'; }

check new_vip_silent_before no_arp "$NEW4"
GEN0=$(generation)
check stats_answer test -n "$GEN0"

applied() {
  local out
  out=$(api apply "$T_TMP/svc.yaml") || {
    echo "$out"
    return 1
  }
  grep -qx "created Service/demo/api-extra" <<<"$out" || {
    echo "$out"
    return 1
  }
}
check apply_service applied
check applied_vip_arp arp_from "$NEW4" "$MAC" 3
check applied_vip_ping ping_ok "$NEW4" 3
check state_file_written test -f "$STATE/Service_demo_api-extra.yaml"
get_is_api() {
  local out
  out=$(api get Service demo api-extra)
  grep -qx "source api" <<<"$out" && grep -q "\"ip\":\"$NEW4\"" <<<"$out" || {
    echo "$out"
    return 1
  }
}
check get_shows_source_and_status get_is_api
# porticoctl (the real client) against the same server.
CTL=$(dirname "$PORTICO")/porticoctl
ctl_lists_api_object() {
  local out
  out=$("$CTL" --api "unix://$SOCK" get svc -n demo) || {
    echo "$out"
    return 1
  }
  grep -E "^api-extra .*$NEW4.* api$" <<<"$out" >/dev/null || {
    echo "$out"
    return 1
  }
}
[[ -x $CTL ]] && check porticoctl_get ctl_lists_api_object
GEN1=$(generation)

refused() {
  local file=$1 want=$2 out
  out=$(api apply "$file")
  [[ $? -ne 0 && $out == *"$want"* ]] || {
    echo "expected a refusal with: $want; got: $out"
    return 1
  }
}
check invalid_refused refused "$T_TMP/bad.yaml" "error INVALID_ARGUMENT: <apply>:10"
check invalid_names_object refused "$T_TMP/bad.yaml" "Service/demo/api-bad"
check file_owned_refused refused "$T_TMP/file-owned.yaml" "error FAILED_PRECONDITION"
same_generation() {
  local g
  g=$(generation)
  [[ $g == "$GEN1" ]] || {
    echo "generation $g after refused changes, was $GEN1"
    return 1
  }
}
check refused_keeps_generation same_generation
check refused_keeps_old_vip arp_from "$VIP4" "$MAC" 2
check refused_keeps_new_vip arp_from "$NEW4" "$MAC" 2
check no_bad_state_file test ! -e "$STATE/Service_demo_api-bad.yaml"
delete_refused() {
  local out
  out=$(api delete IPAddressPool metallb-system demo-pool)
  [[ $out == "error FAILED_PRECONDITION"*"edit that file"* ]] || {
    echo "$out"
    return 1
  }
}
check file_object_delete_refused delete_refused

# Restart: the applied object comes back from the state directory.
check stopped stop_portico
require portico_restarted start_portico "$CONF"
check restored_vip_arp arp_from "$NEW4" "$MAC" 3

check delete_service api delete Service demo api-extra
check deleted_vip_silent no_arp "$NEW4"
check deleted_state_file test ! -e "$STATE/Service_demo_api-extra.yaml"
check old_vip_still_answers arp_from "$VIP4" "$MAC" 2
deleted_not_found() {
  local out
  out=$(api delete Service demo api-extra)
  [[ $out == "error NOT_FOUND"* ]] || {
    echo "$out"
    return 1
  }
}
check delete_again_not_found deleted_not_found
check stopped_again stop_portico

# TCP with TLS and client certificates (openssl in the test's directory).
PKI="$T_TMP/pki"
mkdir -p "$PKI"
make_pki() {
  (
    cd "$PKI" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 1 -subj "/CN=test-ca" &&
      openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" &&
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 1 -extfile server.ext &&
      openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=client" &&
      openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 1
  ) >"$PKI/openssl.log" 2>&1 || {
    cat "$PKI/openssl.log"
    return 1
  }
}
require pki make_pki
sed -e "s|grpc: \"unix:///run/portico/api.sock\"|grpc: \"tcp://127.0.0.1:9479\"\n    stateDir: \"$STATE\"\n    tls: {certFile: \"$PKI/server.crt\", keyFile: \"$PKI/server.key\", clientCAFile: \"$PKI/ca.crt\"}|" \
  "$DEMO_CONFIG" >"$T_TMP/tls.yaml"
sed -e "s|grpc: \"unix:///run/portico/api.sock\"|grpc: \"tcp://127.0.0.1:9479\"|" \
  "$DEMO_CONFIG" >"$T_TMP/notls.yaml"

refuses_without_tls() {
  local out
  out=$(ip netns exec "$P-portico" timeout 20 "$PORTICO" run --config "$T_TMP/notls.yaml" 2>&1)
  [[ $? -ne 0 && $out == *"spec.api.tls"* ]] || {
    tail -n 5 <<<"$out"
    echo "expected portico to refuse a TCP API without TLS"
    return 1
  }
}
check tcp_without_tls_refused refuses_without_tls

require portico_tls_ready start_portico "$T_TMP/tls.yaml"
tls_api() { in_ns portico "$CLIENT" "127.0.0.1:9479" "$@"; }
with_cert() { tls_api --tls "$PKI/ca.crt" "$PKI/client.crt" "$PKI/client.key" stats | grep -q '^generation '; }
without_cert() {
  local out
  out=$(tls_api --tls-no-cert "$PKI/ca.crt" stats)
  [[ $out == "error UNAVAILABLE"* ]] || {
    echo "a client without a certificate got: $out"
    return 1
  }
}
check tls_client_cert_accepted with_cert
check tls_no_client_cert_refused without_cert
check tls_stopped stop_portico

finish
