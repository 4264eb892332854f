#!/usr/bin/env bash
# SIGHUP reload: a new LoadBalancer Service gets its VIP announced (gratuitous ARP) and
# answered; a broken file is rejected whole and the old configuration keeps working; removing
# the Service withdraws its VIP while the others still answer.
# Checks run through `check`, so shellcheck sees their functions as unreachable (SC2317).
# shellcheck source=tests/system/lib.sh disable=SC2317,SC2016
. "$(dirname "$0")/lib.sh"

VIP4=203.0.113.10   # held by a demo Service (test_l2 checks the allocation)
NEW4=203.0.113.45   # requested by the Service this test adds
CONF="$T_TMP/conf"

require portico_built portico_built
require testbed_up testbed_up
mkdir -p "$CONF"
cp "$DEMO_CONFIG" "$CONF/00-demo.yaml"
require portico_ready start_portico "$CONF"
MAC=$(portico_mac)

check old_vip_answers arp_from "$VIP4" "$MAC" 2
check new_vip_silent_before_reload no_arp "$NEW4"

PCAP="$T_TMP/client-arp.pcap"
require capture_started start_capture client "$PCAP" arp

cat >"$CONF/10-extra.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: extra
  namespace: demo
  annotations:
    metallb.io/loadBalancerIPs: $NEW4
spec:
  type: LoadBalancer
  selector:
    app: extra
  ports:
    - name: http
      port: 8081
YAML

reload_is() {
  local want=$1 line
  line=$(portico_reload) || {
    printf '%s\n' "$line"
    return 1
  }
  printf '%s\n' "$line"
  [[ $line == *"event=reload_$want"* ]] || {
    echo "expected event=reload_$want, got: $line"
    return 1
  }
}

LINES_BEFORE=$(log_lines)
check reload_add_service reload_is ok
check garp_for_new_vip garp_seen "$PCAP" "$NEW4" "$MAC" 10
check new_vip_arp arp_from "$NEW4" "$MAC" 3
check new_vip_ping ping_ok "$NEW4" 3
check old_vip_still_answers arp_from "$VIP4" "$MAC" 2

# A pool with an impossible CIDR: the whole reload is refused, nothing changes.
cat >"$CONF/20-broken.yaml" <<'YAML'
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: broken
  namespace: metallb-system
spec:
  addresses:
    - 203.0.113.300/24
YAML
LINES_BEFORE=$(log_lines)
check reload_broken_refused reload_is failed
check reload_error_names_file bash -c 'tail -n "+$(($1 + 1))" "$0" | grep -q "20-broken.yaml" ||
  { echo "no mention of 20-broken.yaml in the log after SIGHUP"; exit 1; }' "$PORTICO_LOG" "$LINES_BEFORE"
check still_running_after_bad_reload portico_running
check old_vip_answers_after_bad_reload arp_from "$VIP4" "$MAC" 2
check new_vip_answers_after_bad_reload arp_from "$NEW4" "$MAC" 2
check new_vip_ping_after_bad_reload ping_ok "$NEW4" 2

# NodeConfig on reload: a new SNAT address is answered at once; a change that needs a restart
# (spec.dpdk) is named in event=reload_partial and the rest of the reload still applies.
sed -i 's/snatAddresses: \["198.51.100.11", /snatAddresses: ["198.51.100.11", "198.51.100.12", /; s/memoryMB: 512/memoryMB: 600/' \
  "$CONF/00-demo.yaml"
rm -f "$CONF/20-broken.yaml"
LINES_BEFORE=$(log_lines)
check reload_node_config reload_is ok
check reload_partial_names_dpdk bash -c 'tail -n "+$(($1 + 1))" "$0" |
  grep -q "event=reload_partial changed=\"spec.dpdk\"" ||
  { echo "no event=reload_partial naming spec.dpdk after SIGHUP"; exit 1; }' "$PORTICO_LOG" "$LINES_BEFORE"
check new_snat_answers_ping ping_ok 198.51.100.12 2

# Remove the Service (and the broken file): its VIP is withdrawn, the demo's stay.
rm -f "$CONF/20-broken.yaml" "$CONF/10-extra.yaml"
check reload_remove_service reload_is ok
check removed_vip_silent wait_until 4 no_arp "$NEW4"
check old_vip_answers_after_removal arp_from "$VIP4" "$MAC" 2
check ping_old_vip_after_removal ping_ok "$VIP4" 2

check clean_stop stop_portico
finish
