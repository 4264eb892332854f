// Canned API answers for porticoctl's tests (see fixtures.h). The objects' JSON has the shape
// the server computes (`portico check -o json` plus spec): apiVersion, kind, metadata, spec,
// status, events.
#include "tests/unit/ctl/fixtures.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace porticoctl::testing {

namespace pb = portico::v1;

namespace {

pb::Object object(const std::string& api_version, const std::string& kind, const std::string& ns,
                  const std::string& name, const std::string& source, const std::string& json) {
  pb::Object o;
  o.mutable_ref()->set_api_version(api_version);
  o.mutable_ref()->set_kind(kind);
  o.mutable_ref()->set_namespace_(ns);
  o.mutable_ref()->set_name(name);
  o.set_source(source);
  o.set_json(json);
  return o;
}

pb::Counter* add(google::protobuf::RepeatedPtrField<pb::Counter>* cs, const std::string& name,
                 uint64_t value) {
  pb::Counter* c = cs->Add();
  c->set_name(name);
  c->set_value(value);
  return c;
}

void traffic(pb::TrafficCounters* t, uint64_t packets, uint64_t bytes, uint64_t connections) {
  t->set_packets(packets);
  t->set_bytes(bytes);
  t->set_connections(connections);
}

// A sample with every counter scaled by `k` (k=1 before, k=2 one second later), and lcore
// cycles advanced by `cycles`.
pb::Stats stats(uint64_t k, uint64_t busy1, uint64_t idle1, uint64_t busy2, uint64_t idle2) {
  pb::Stats s;
  s.set_generation(7);
  s.set_tsc_hz(1000000000);
  s.set_last_reload("ok");
  s.set_last_reload_unix(1767323045);  // 2026-01-02T03:04:05Z
  add(s.mutable_totals(), "rx", 150000 * k);
  add(s.mutable_totals(), "tx", 149000 * k);
  add(s.mutable_totals(), "fwd.to_backend", 148000 * k);
  add(s.mutable_totals(), "drop.ipv4_bad_checksum", 0);
  add(s.mutable_totals(), "drop.no_endpoint", 700 * k);
  add(s.mutable_totals(), "drop.not_for_us", 300 * k);
  pb::LcoreStats* l1 = s.add_lcores();
  l1->set_lcore(1);
  l1->set_busy_cycles(busy1);
  l1->set_idle_cycles(idle1);
  add(l1->mutable_counters(), "rx", 100000 * k);
  add(l1->mutable_counters(), "tx", 99000 * k);
  add(l1->mutable_counters(), "drop.no_endpoint", 700 * k);
  pb::LcoreStats* l2 = s.add_lcores();
  l2->set_lcore(2);
  l2->set_busy_cycles(busy2);
  l2->set_idle_cycles(idle2);
  add(l2->mutable_counters(), "rx", 50000 * k);
  add(l2->mutable_counters(), "tx", 50000 * k);
  add(l2->mutable_counters(), "drop.not_for_us", 300 * k);
  pb::VipStats* v4 = s.add_vips();
  v4->set_address("203.0.113.11");
  traffic(v4->mutable_traffic(), 120000 * k, 96000000 * k, 3000 * k);
  pb::VipStats* v6 = s.add_vips();
  v6->set_address("2001:db8:200::10");
  traffic(v6->mutable_traffic(), 28000 * k, 2100000 * k, 40 * k);
  pb::ServiceStats* svc = s.add_services();
  svc->set_service("demo/web");
  svc->set_address("203.0.113.11");
  svc->set_protocol("TCP");
  svc->set_port(80);
  traffic(svc->mutable_traffic(), 120000 * k, 96000000 * k, 3000 * k);
  pb::BackendStats* b1 = s.add_backends();
  b1->set_service("demo/web");
  b1->set_address("203.0.113.11");
  b1->set_port(80);
  b1->set_backend("198.51.100.21:8080");
  traffic(b1->mutable_traffic(), 60000 * k, 48000000 * k, 1500 * k);
  pb::BackendStats* b2 = s.add_backends();
  *b2 = *b1;
  b2->set_backend("198.51.100.22:8080");
  b2->set_draining(true);
  return s;
}

}  // namespace

std::vector<pb::Object> canned_objects() {
  return {
      object("v1", "Service", "demo", "web", "api", R"({
  "apiVersion": "v1",
  "kind": "Service",
  "metadata": {"namespace": "demo", "name": "web", "labels": {"app": "web"},
               "annotations": {"metallb.io/ip-allocated-from-pool": "demo-pool"}},
  "spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                                             {"name": "https", "port": 443}]},
  "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.11"}, {"ip": "2001:db8:200::10"}]}},
  "events": [{"type": "Normal", "reason": "IPAllocated",
              "message": "Assigned IP [\"203.0.113.11\" \"2001:db8:200::10\"]"},
             {"type": "Warning", "reason": "NoEndpoints", "message": "no endpoint on [2001:db8:200::10]:80/TCP"}]
})"),
      object("v1", "Service", "demo", "dns", "/etc/portico/demo.yaml:66", R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"namespace": "demo", "name": "dns"},
  "spec": {"type": "LoadBalancer", "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
  "status": {}
})"),
      object("v1", "Service", "other", "web", "api", R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"namespace": "other", "name": "web"},
  "spec": {"type": "ClusterIP", "ports": [{"port": 8080}]}
})"),
      object("metallb.io/v1beta1", "IPAddressPool", "metallb-system", "demo-pool",
             "/etc/portico/demo.yaml:37", R"({
  "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
  "metadata": {"namespace": "metallb-system", "name": "demo-pool"},
  "spec": {"addresses": ["203.0.113.10-203.0.113.49", "2001:db8:200::/122"]},
  "status": {"assignedIPv4": 2, "assignedIPv6": 1, "availableIPv4": 38, "availableIPv6": 63}
})"),
      object("metallb.io/v1beta1", "IPAddressPool", "metallb-system", "reserved", "api", R"({
  "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
  "metadata": {"namespace": "metallb-system", "name": "reserved"},
  "spec": {"addresses": ["203.0.113.200/29"], "autoAssign": false}
})"),
      object("metallb.io/v1beta1", "L2Advertisement", "metallb-system", "l2", "api", R"({
  "apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
  "metadata": {"namespace": "metallb-system", "name": "l2"},
  "spec": {"ipAddressPools": ["demo-pool"]}
})"),
      object("gateway.networking.k8s.io/v1", "GatewayClass", "", "portico", "api", R"({
  "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
  "metadata": {"name": "portico"},
  "spec": {"controllerName": "portico.io/gateway-controller"},
  "status": {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                             "message": "handled by Portico"}]}
})"),
      object("gateway.networking.k8s.io/v1", "Gateway", "demo", "edge", "api", R"({
  "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
  "metadata": {"namespace": "demo", "name": "edge"},
  "spec": {"gatewayClassName": "portico",
           "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
  "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.202"}],
             "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "gateway accepted"},
                            {"type": "Programmed", "status": "True", "reason": "Programmed", "message": "gateway programmed"}],
             "listeners": [{"name": "http", "attachedRoutes": 2,
                            "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "listener accepted"}]}]},
  "events": [{"type": "Normal", "reason": "IPAllocated", "message": "Assigned IP [\"203.0.113.202\"]"}]
})"),
      object("gateway.networking.k8s.io/v1", "Gateway", "demo", "pending", "api", R"({
  "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
  "metadata": {"namespace": "demo", "name": "pending"},
  "spec": {"gatewayClassName": "portico"},
  "status": {"conditions": [{"type": "Programmed", "status": "False", "reason": "AddressNotAssigned", "message": "no address"}]}
})"),
      object("gateway.networking.k8s.io/v1", "HTTPRoute", "demo", "www", "api", R"({
  "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
  "metadata": {"namespace": "demo", "name": "www"},
  "spec": {"hostnames": ["www.example.com", "example.com"], "parentRefs": [{"name": "edge"}]},
  "status": {"parents": [{"parentRef": {"name": "edge", "sectionName": "http"},
                          "controllerName": "portico.io/gateway-controller",
                          "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "route accepted"},
                                         {"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound", "message": "Service demo/gone not found"}]}]}
})"),
      object("gateway.networking.k8s.io/v1", "HTTPRoute", "demo", "catchall", "api", R"({
  "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
  "metadata": {"namespace": "demo", "name": "catchall"},
  "spec": {"parentRefs": [{"name": "edge"}]}
})"),
      object("metallb.io/v1beta2", "BGPPeer", "metallb-system", "router", "api", R"({
  "apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer",
  "metadata": {"namespace": "metallb-system", "name": "router"},
  "spec": {"myASN": 64512, "peerASN": 64513, "peerAddress": "192.0.2.1", "password": "<redacted>"}
})"),
  };
}

std::vector<pb::Object> canned_of_kind(const std::string& kind) {
  std::vector<pb::Object> out;
  for (const pb::Object& o : canned_objects())
    if (o.ref().kind() == kind) out.push_back(o);
  return out;
}

pb::Stats canned_stats_before() { return stats(1, 250000000, 750000000, 100000000, 900000000); }
// One second later on both lcores (1e9 cycles at 1 GHz): lcore 1 was busy 50%, lcore 2 10%.
pb::Stats canned_stats_after() { return stats(2, 750000000, 1250000000, 200000000, 1800000000); }

pb::FlowsResponse canned_flows() {
  pb::FlowsResponse r;
  pb::Flow* f = r.add_flows();
  f->set_lcore(1);
  f->set_protocol("TCP");
  f->set_client("192.0.2.77:40000");
  f->set_vip("203.0.113.11:80");
  f->set_backend("198.51.100.21:8080");
  f->set_state("established");
  f->set_idle_ms(1500);
  f = r.add_flows();
  f->set_lcore(2);
  f->set_protocol("UDP");
  f->set_client("[2001:db8::77]:5353");
  f->set_vip("[2001:db8:200::10]:53");
  f->set_backend("[2001:db8:100::21]:53");
  f->set_snat("[2001:db8:300::1]:61000");
  f->set_state("udp");
  f->set_idle_ms(20);
  r.set_truncated(true);
  return r;
}

pb::BgpPeersResponse canned_peers(uint64_t now) {
  pb::BgpPeersResponse r;
  pb::BgpPeer* p = r.add_peers();
  p->set_name("metallb-system/router");
  p->set_address("192.0.2.1");
  p->set_my_asn(64512);
  p->set_peer_asn(64513);
  p->set_state("Established");
  p->set_state_since_unix(now - 3 * 3600 - 20 * 60);
  p->set_last_error("received Cease/Administrative Reset");
  p->set_last_error_unix(now - 3 * 3600 - 21 * 60);
  p->set_hold_time(90);
  p->set_established_transitions(2);
  p->set_prefixes_received(1);
  pb::BgpRoute* route = p->add_routes();
  route->set_prefix("203.0.113.11/32");
  route->add_communities("64512:100");
  route->add_communities("large:64512:1:2");
  route->set_local_pref(200);
  route->set_has_local_pref(true);
  route = p->add_routes();
  route->set_prefix("203.0.113.202/32");
  p = r.add_peers();
  p->set_name("metallb-system/router-v6");
  p->set_address("2001:db8::1");
  p->set_my_asn(64512);
  p->set_peer_asn(64513);
  p->set_state("Active");
  p->set_state_since_unix(now - 10 * 60 - 5);
  p->set_last_error("connect: connection refused");
  p->set_last_error_unix(now - 5 * 60 - 5);
  return r;
}

std::vector<pb::Event> canned_events() {
  std::vector<pb::Event> out(3);
  out[0].set_unix_ms(1767323045123);
  out[0].set_type("Normal");
  out[0].set_reason("IPAllocated");
  out[0].set_object("Service/demo/web");
  out[0].set_message("Assigned IP [\"203.0.113.11\"]");
  out[1].set_unix_ms(1767323046000);
  out[1].set_type("Normal");
  out[1].set_reason("BgpPeerState");
  out[1].set_object("BGPPeer/metallb-system/router");
  out[1].set_message("Established");
  out[2].set_unix_ms(1767323047999);
  out[2].set_type("Warning");
  out[2].set_reason("ConfigRejected");
  out[2].set_message("IPAddressPool/metallb-system/x: spec.addresses[0]: not an address range");
  return out;
}

std::string golden(const std::string& name) {
  std::ifstream in(std::string(PORTICO_CTL_GOLDEN) + "/" + name + ".txt", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(PORTICO_CTL_GOLDEN) + "/" + name + ".txt";
  const char* update = std::getenv("PORTICO_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path
                  << " (PORTICO_UPDATE_GOLDEN=1 writes it; review it before committing)";
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), actual) << "golden " << path;
}

}  // namespace porticoctl::testing
