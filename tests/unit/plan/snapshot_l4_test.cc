// The L4 part of the Snapshot (control/snapshot_builder.h): YAML -> make_plan ->
// compile_services -> build_snapshot, then the lb::Tables read back: service ports, backends
// (order, ports, terminating, next hops), Maglev tables (terminating endpoints get no slot,
// services with the same endpoints share one), SNAT and interface addresses, warnings for
// endpoints no route reaches, and backend ids across builds (kept while the backend stays,
// forgotten when it leaves, so one that comes back gets a new id; new ids are never reused).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/loader.h"
#include "control/neighbors.h"
#include "control/plan.h"
#include "control/services.h"
#include "control/snapshot_builder.h"

namespace control {
namespace {

constexpr const char* kNode = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata: {name: edge-1}
spec:
  interfaces:
    - name: uplink
      device: net_null0
      addresses: ["198.51.100.10/24", "2001:db8:100::10/64"]
    - name: storage
      device: net_null1
      addresses: ["192.0.2.10/24"]
  routes:
    - destination: 198.18.0.0/15
      gateway: 198.51.100.1
  loadBalancer:
    snatAddresses: ["198.51.100.11", "2001:db8:100::11"]
    maglevTableSize: 101
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool, namespace: metallb-system}
spec:
  addresses: ["203.0.113.10-203.0.113.29", "2001:db8:200::10-2001:db8:200::29"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations: {metallb.io/loadBalancerIPs: "203.0.113.20,2001:db8:200::20"}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  ports:
    - {name: http, port: 80, targetPort: 8080}
    - {name: https, port: 443, targetPort: 8443}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["2001:db8:100::21"]}]
ports: [{name: http, port: 8080}, {name: https, port: 8443}]
---
apiVersion: v1
kind: Service
metadata:
  name: dns
  namespace: demo
  annotations: {metallb.io/loadBalancerIPs: "203.0.113.21", portico.io/forwarding-mode: dsr}
spec:
  type: LoadBalancer
  ports: [{name: dns, protocol: UDP, port: 53}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: demo, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}, {addresses: ["198.51.100.22"]}]
ports: [{name: dns, protocol: UDP, port: 53}]
---
apiVersion: v1
kind: Service
metadata:
  name: empty
  namespace: demo
  annotations: {metallb.io/loadBalancerIPs: "203.0.113.22"}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
)";

// The IPv4 endpoints of demo/web, one YAML flow mapping per line.
const std::vector<std::string> kWebEndpoints = {
    R"({addresses: ["198.51.100.21"]})",
    R"({addresses: ["198.51.100.22"]})",
    R"({addresses: ["198.51.100.23"], conditions: {ready: false, serving: true, terminating: true}})",
    R"({addresses: ["198.18.0.5"]})",  // via the route's gateway 198.51.100.1
    R"({addresses: ["192.0.2.50"]})",  // on storage
    R"({addresses: ["10.9.9.9"]})",    // nothing reaches it
};

std::string yaml(const std::vector<std::string>& web_endpoints) {
  std::string s = std::string(kNode) + R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
)";
  for (const auto& e : web_endpoints) s += "  - " + e + "\n";
  s += "ports: [{name: http, port: 8080}, {name: https, port: 8443}]\n";
  return s;
}

std::vector<std::string> without(std::vector<std::string> v, const std::string& needle) {
  std::erase_if(v, [&](const std::string& e) { return e.find(needle) != std::string::npos; });
  return v;
}

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

nf::lb::Addr addr(const char* text) {
  const auto ip = config::IpAddress::parse(text);
  EXPECT_TRUE(ip) << text;
  nf::lb::Addr a{};
  std::copy_n(ip->bytes().begin(), ip->is_v4() ? 4 : 16, a.begin());
  return a;
}

std::string str(const nf::lb::Addr& a, bool v6) {
  if (v6) return config::IpAddress::v6(a).str();
  return config::IpAddress::v4(uint32_t{a[0]} << 24 | uint32_t{a[1]} << 16 | uint32_t{a[2]} << 8 |
                               a[3])
      .str();
}

// Builds the Snapshot of `text` the way the runner does, with state kept across builds.
struct Builder {
  Builder() : table(64), neighbors(table, 1000) {}

  std::unique_ptr<lcore::Snapshot> build(const std::string& text) {
    const auto loaded = config::load_text(text, "l4.yaml");
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.at(0).str());
    if (!loaded.ok()) return nullptr;
    node = loaded.objects.node_configs.at(0);
    const Plan plan = make_plan(loaded.objects, &node, {});
    services = compile_services(loaded.objects, plan);
    result = L4BuildResult{};
    neighbors.begin_build();
    auto snap = build_snapshot(plan, node, ++generation, &services, &ids, &neighbors, &result);
    neighbors.end_build_published();
    return snap;
  }

  nf::NeighborTable table;
  NeighborManager neighbors;
  L4Ids ids;
  config::NodeConfig node;
  ServicesResult services;
  L4BuildResult result;
  uint64_t generation = 0;
};

const nf::lb::Service* find(const nf::lb::Tables& t, const char* vip, uint8_t proto,
                            uint16_t port) {
  const auto a = addr(vip);
  const bool v6 = std::string(vip).find(':') != std::string::npos;
  return t.find_service(a.data(), v6, proto, be16(port));
}

// "address:port" of each backend of a service, with " terminating" where set.
std::vector<std::string> backends(const nf::lb::Tables& t, const nf::lb::Service& s) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < s.n_backends; ++i) {
    const nf::lb::Backend& b = t.backends()[s.first_backend + i];
    out.push_back(str(b.addr, b.v6) + ":" + std::to_string(be16(b.port)) +
                  (b.terminating ? " terminating" : ""));
  }
  return out;
}

// address:port -> id of each backend of a service.
std::map<std::string, uint32_t> ids_of(const nf::lb::Tables& t, const nf::lb::Service& s) {
  std::map<std::string, uint32_t> out;
  for (uint32_t i = 0; i < s.n_backends; ++i) {
    const nf::lb::Backend& b = t.backends()[s.first_backend + i];
    out[str(b.addr, b.v6) + ":" + std::to_string(be16(b.port))] = b.id;
  }
  return out;
}

// How many Maglev slots each backend address of a service has (pick() over every slot).
std::map<std::string, int> slots(const nf::lb::Tables& t, const nf::lb::Service& s) {
  std::map<std::string, int> out;
  for (uint32_t slot = 0; slot < s.maglev_size; ++slot) {
    const uint32_t h =
        static_cast<uint32_t>(((uint64_t{slot} << 32) + s.maglev_size - 1) / s.maglev_size);
    const nf::lb::Backend* b = t.pick(s, h);
    if (b != nullptr) ++out[str(b->addr, b->v6)];
  }
  return out;
}

TEST(SnapshotL4, ServicePortsAndBackends) {
  Builder b;
  const auto snap = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(snap);
  const nf::lb::Tables& t = snap->lb;
  EXPECT_EQ(snap->generation, 1u);
  // web: 80 and 443 on both VIPs; dns: 53/UDP; empty: 80.
  EXPECT_EQ(t.services().size(), 6u);
  EXPECT_EQ(b.result.service_ports, 6u);
  EXPECT_EQ(b.services.ports.size(), 6u);

  const nf::lb::Service* http = find(t, "203.0.113.20", 6, 80);
  const nf::lb::Service* https = find(t, "203.0.113.20", 6, 443);
  const nf::lb::Service* http6 = find(t, "2001:db8:200::20", 6, 80);
  const nf::lb::Service* dns = find(t, "203.0.113.21", 17, 53);
  const nf::lb::Service* empty = find(t, "203.0.113.22", 6, 80);
  ASSERT_TRUE(http && https && http6 && dns && empty);
  EXPECT_EQ(find(t, "203.0.113.21", 6, 53), nullptr) << "dns is UDP only";
  EXPECT_EQ(find(t, "2001:db8:200::20", 6, 8080), nullptr) << "target ports are not services";

  EXPECT_EQ(http->mode, nf::lb::Mode::kNat);
  EXPECT_EQ(dns->mode, nf::lb::Mode::kDsr);
  EXPECT_EQ(http6->v6, 1);
  EXPECT_EQ(backends(t, *http),
            (std::vector<std::string>{"192.0.2.50:8080", "198.18.0.5:8080", "198.51.100.21:8080",
                                      "198.51.100.22:8080", "198.51.100.23:8080 terminating"}));
  EXPECT_EQ(backends(t, *https),
            (std::vector<std::string>{"192.0.2.50:8443", "198.18.0.5:8443", "198.51.100.21:8443",
                                      "198.51.100.22:8443", "198.51.100.23:8443 terminating"}));
  EXPECT_EQ(backends(t, *http6), (std::vector<std::string>{"2001:db8:100::21:8080"}));
  EXPECT_EQ(backends(t, *dns), (std::vector<std::string>{"198.51.100.21:53", "198.51.100.22:53"}));
  EXPECT_TRUE(backends(t, *empty).empty());
  EXPECT_EQ(empty->maglev_size, 0u);
  EXPECT_EQ(t.pick(*empty, 42), nullptr);
  EXPECT_EQ(b.result.backends, 5u + 5u + 1u + 1u + 2u);
}

TEST(SnapshotL4, EndpointsWithoutARouteAreSkippedWithAWarning) {
  Builder b;
  const auto snap = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(snap);
  int about = 0;
  for (const auto& w : b.result.warnings) {
    if (w.find("10.9.9.9") != std::string::npos) {
      ++about;
      EXPECT_NE(w.find("demo/web"), std::string::npos) << w;
      EXPECT_NE(w.find("no connected subnet or route"), std::string::npos) << w;
    }
  }
  EXPECT_EQ(about, 2) << "one per service port (80 and 443)";
  for (const auto& be : snap->lb.backends()) EXPECT_NE(str(be.addr, be.v6), "10.9.9.9");

  Builder clean;
  clean.build(yaml(without(kWebEndpoints, "10.9.9.9")));
  EXPECT_TRUE(clean.result.warnings.empty());
}

TEST(SnapshotL4, TerminatingEndpointsGetNoMaglevSlot) {
  Builder b;
  const auto snap = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(snap);
  const nf::lb::Tables& t = snap->lb;
  const nf::lb::Service* http = find(t, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http);
  EXPECT_EQ(http->maglev_size, 101u) << "spec.loadBalancer.maglevTableSize";
  const auto s = slots(t, *http);
  EXPECT_EQ(s.count("198.51.100.23"), 0u);
  for (const char* a : {"192.0.2.50", "198.18.0.5", "198.51.100.21", "198.51.100.22"}) {
    EXPECT_GE(s.count(a) ? s.at(a) : 0, 20) << a << ": about a quarter of 101";
  }
  // Still a backend of the service: its flows find it.
  const auto ids = ids_of(t, *http);
  const nf::lb::Backend* term = t.backend_by_id(ids.at("198.51.100.23:8080"));
  ASSERT_NE(term, nullptr);
  EXPECT_EQ(term->terminating, 1);
}

TEST(SnapshotL4, ServicesWithTheSameEndpointsShareOneMaglevTable) {
  Builder b;
  const auto snap = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(snap);
  const nf::lb::Tables& t = snap->lb;
  const nf::lb::Service* http = find(t, "203.0.113.20", 6, 80);
  const nf::lb::Service* https = find(t, "203.0.113.20", 6, 443);
  const nf::lb::Service* http6 = find(t, "2001:db8:200::20", 6, 80);
  const nf::lb::Service* https6 = find(t, "2001:db8:200::20", 6, 443);
  const nf::lb::Service* dns = find(t, "203.0.113.21", 17, 53);
  ASSERT_TRUE(http && https && http6 && https6 && dns);
  EXPECT_EQ(http->maglev_offset, https->maglev_offset);
  EXPECT_EQ(http6->maglev_offset, https6->maglev_offset);
  EXPECT_NE(http->maglev_offset, http6->maglev_offset);
  EXPECT_NE(http->maglev_offset, dns->maglev_offset);
  EXPECT_EQ(b.result.maglev_tables, 3u);
  EXPECT_EQ(t.maglev_entries(), 3u * 101u);
  // A client goes to the same endpoint on both ports.
  for (uint32_t h = 0; h < 4000; h += 97) {
    EXPECT_EQ(str(t.pick(*http, h * 1000003u)->addr, false),
              str(t.pick(*https, h * 1000003u)->addr, false));
  }
}

TEST(SnapshotL4, NextHopsAddressesAndSnat) {
  Builder b;
  const auto snap = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(snap);
  const nf::lb::Tables& t = snap->lb;
  const nf::lb::Service* http = find(t, "203.0.113.20", 6, 80);
  const nf::lb::Service* https = find(t, "203.0.113.20", 6, 443);
  ASSERT_TRUE(http && https);
  std::map<std::string, const nf::lb::Backend*> by_addr;
  for (uint32_t i = 0; i < http->n_backends; ++i) {
    const auto& be = t.backends()[http->first_backend + i];
    by_addr[str(be.addr, be.v6)] = &be;
  }
  const auto nexthop = [&](const char* a) { return t.nexthop_index(addr(a).data(), 0); };
  // On-link backends are their own next hops; 198.18.0.5 goes through the gateway.
  EXPECT_EQ(by_addr.at("198.51.100.21")->nexthop, nexthop("198.51.100.21"));
  EXPECT_EQ(by_addr.at("198.51.100.22")->nexthop, nexthop("198.51.100.22"));
  EXPECT_EQ(by_addr.at("198.18.0.5")->nexthop, nexthop("198.51.100.1"));
  EXPECT_EQ(nexthop("198.18.0.5"), -1) << "not a next hop itself";
  EXPECT_EQ(by_addr.at("192.0.2.50")->nexthop, nexthop("192.0.2.50"));
  EXPECT_EQ(by_addr.at("192.0.2.50")->port_index, 1) << "reached on storage";
  EXPECT_EQ(by_addr.at("198.51.100.21")->port_index, 0);
  EXPECT_EQ(by_addr.at("198.18.0.5")->port_index, 0);
  std::set<int> distinct;
  for (const auto& [a, be] : by_addr) {
    EXPECT_GE(be->nexthop, 0);
    distinct.insert(be->nexthop);
  }
  EXPECT_EQ(distinct.size(), 5u) << "five next hops, five indices";
  EXPECT_GE(t.nexthop_index(addr("2001:db8:100::21").data(), 1), 0);
  // The same next hop for the other port of the service, and for the dns service.
  for (uint32_t i = 0; i < https->n_backends; ++i) {
    const auto& be = t.backends()[https->first_backend + i];
    EXPECT_EQ(be.nexthop, by_addr.at(str(be.addr, be.v6))->nexthop);
  }
  EXPECT_EQ(b.neighbors.in_use(), 6u) << "5 IPv4 next hops and one IPv6";

  ASSERT_NE(t.snat_for(0, 12345), nullptr);
  EXPECT_EQ(str(*t.snat_for(0, 12345), false), "198.51.100.11");
  ASSERT_NE(t.snat_for(1, 12345), nullptr);
  EXPECT_EQ(str(*t.snat_for(1, 12345), true), "2001:db8:100::11");
  ASSERT_NE(t.interface_address(0, 0), nullptr);
  EXPECT_EQ(str(*t.interface_address(0, 0), false), "198.51.100.10");
  ASSERT_NE(t.interface_address(1, 0), nullptr);
  EXPECT_EQ(str(*t.interface_address(1, 0), false), "192.0.2.10");
  ASSERT_NE(t.interface_address(0, 1), nullptr);
  EXPECT_EQ(str(*t.interface_address(0, 1), true), "2001:db8:100::10");
  EXPECT_EQ(t.interface_address(1, 1), nullptr);
}

TEST(SnapshotL4, BackendIdsAcrossBuilds) {
  Builder b;
  const std::string all = yaml(kWebEndpoints);
  const auto first = b.build(all);
  ASSERT_TRUE(first);
  const auto* http1 = find(first->lb, "203.0.113.20", 6, 80);
  const auto* https1 = find(first->lb, "203.0.113.20", 6, 443);
  ASSERT_TRUE(http1 && https1);
  const auto ids1 = ids_of(first->lb, *http1);
  ASSERT_EQ(ids1.size(), 5u);
  // Every backend of every service port has its own id.
  std::set<uint32_t> unique;
  for (const auto& be : first->lb.backends()) {
    EXPECT_NE(be.id, 0u);
    unique.insert(be.id);
  }
  EXPECT_EQ(unique.size(), first->lb.backends().size());
  EXPECT_NE(ids_of(first->lb, *https1).at("198.51.100.21:8443"), ids1.at("198.51.100.21:8080"));
  const uint32_t max1 = *unique.rbegin();

  // The same objects again: the same ids, the same next hops.
  const auto second = b.build(all);
  const auto* http2 = find(second->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http2);
  EXPECT_EQ(ids_of(second->lb, *http2), ids1);
  for (uint32_t i = 0; i < http2->n_backends; ++i) {
    EXPECT_EQ(second->lb.backends()[http2->first_backend + i].nexthop,
              first->lb.backends()[http1->first_backend + i].nexthop);
  }

  // 198.51.100.22 leaves: its id is gone from the tables, the others keep theirs.
  const auto third = b.build(yaml(without(kWebEndpoints, "198.51.100.22")));
  const auto* http3 = find(third->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http3);
  auto expect3 = ids1;
  expect3.erase("198.51.100.22:8080");
  EXPECT_EQ(ids_of(third->lb, *http3), expect3);
  EXPECT_EQ(third->lb.backend_by_id(ids1.at("198.51.100.22:8080")), nullptr)
      << "flows recorded against it find no backend";
  EXPECT_NE(third->lb.backend_by_id(ids1.at("198.51.100.21:8080")), nullptr);

  // It comes back: its id was forgotten when it left (the map must not grow with endpoint
  // churn), so it gets a new one, never used before; the others keep theirs.
  const auto fourth = b.build(all);
  const auto* http4 = find(fourth->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http4);
  const auto ids4 = ids_of(fourth->lb, *http4);
  ASSERT_EQ(ids4.size(), ids1.size());
  uint32_t max4 = 0;
  for (const auto& [key, id] : ids1) {
    max4 = std::max(max4, ids4.at(key));
    if (key == "198.51.100.22:8080") {
      EXPECT_GT(ids4.at(key), max1) << key;
    } else {
      EXPECT_EQ(ids4.at(key), id) << key;
    }
  }

  // A new endpoint gets a new id, never one used before.
  auto more = kWebEndpoints;
  more.push_back(R"({addresses: ["198.51.100.24"]})");
  const auto fifth = b.build(yaml(more));
  const auto* http5 = find(fifth->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http5);
  const auto ids5 = ids_of(fifth->lb, *http5);
  ASSERT_EQ(ids5.size(), 6u);
  EXPECT_GT(ids5.at("198.51.100.24:8080"), max4);
  for (const auto& [key, id] : ids4) EXPECT_EQ(ids5.at(key), id) << key;

  // A terminating endpoint keeps its id (it is the same backend, draining).
  auto draining = kWebEndpoints;
  draining[0] =
      R"({addresses: ["198.51.100.21"], conditions: {ready: false, serving: true, terminating: true}})";
  const auto sixth = b.build(yaml(draining));
  const auto* http6 = find(sixth->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http6);
  EXPECT_EQ(ids_of(sixth->lb, *http6), ids4);
  EXPECT_EQ(sixth->lb.backend_by_id(ids4.at("198.51.100.21:8080"))->terminating, 1);
}

// Traffic counter slots: every service port and backend has its own, with the names the
// directory gives it; a slot stays with its key across builds, a freed one goes to the next
// new key (with a new owner id, so counts of the old key never show up under the new one).
TEST(SnapshotL4, TrafficSlotsAndDirectoryAcrossBuilds) {
  Builder b;
  const auto first = b.build(yaml(kWebEndpoints));
  ASSERT_TRUE(first);
  const nf::lb::Tables& t = first->lb;
  std::set<uint32_t> service_slots, backend_slots;
  for (const auto& s : t.services()) {
    EXPECT_NE(s.stats_slot, nf::kTrafficOtherSlot);
    EXPECT_NE(s.stats_id, 0u);
    service_slots.insert(s.stats_slot);
  }
  for (const auto& be : t.backends()) backend_slots.insert(be.stats_slot);
  EXPECT_EQ(service_slots.size(), t.services().size());
  EXPECT_EQ(backend_slots.size(), t.backends().size());
  EXPECT_EQ(backend_slots.count(nf::kTrafficOtherSlot), 0u);

  // The directory names each slot.
  const TrafficDirectory& dir = b.result.traffic;
  ASSERT_EQ(dir.services.size(), t.services().size());
  ASSERT_EQ(dir.backends.size(), t.backends().size());
  const auto* http = find(t, "203.0.113.20", 6, 80);
  const auto* dns = find(t, "203.0.113.21", 17, 53);
  ASSERT_TRUE(http && dns);
  const auto service_entry = [&](uint32_t slot) {
    for (const auto& e : dir.services) {
      if (e.slot == slot)
        return e.service + " " + e.address + " " + e.protocol + " " + std::to_string(e.port) +
               " id " + std::to_string(e.id);
    }
    return std::string("none");
  };
  EXPECT_EQ(service_entry(http->stats_slot),
            "demo/web 203.0.113.20 TCP 80 id " + std::to_string(http->stats_id));
  EXPECT_EQ(service_entry(dns->stats_slot),
            "demo/dns 203.0.113.21 UDP 53 id " + std::to_string(dns->stats_id));
  const auto backend_entry = [&](const nf::lb::Backend& be) {
    for (const auto& e : dir.backends) {
      if (e.slot == be.stats_slot) {
        return e.service + " " + e.address + ":" + std::to_string(e.port) + " -> " + e.backend +
               (e.draining ? " draining" : "") + (e.id == be.id ? "" : " wrong id");
      }
    }
    return std::string("none");
  };
  std::vector<std::string> http_backends;
  for (uint32_t i = 0; i < http->n_backends; ++i) {
    http_backends.push_back(backend_entry(t.backends()[http->first_backend + i]));
  }
  EXPECT_EQ(http_backends, (std::vector<std::string>{
                               "demo/web 203.0.113.20:80 -> 192.0.2.50:8080",
                               "demo/web 203.0.113.20:80 -> 198.18.0.5:8080",
                               "demo/web 203.0.113.20:80 -> 198.51.100.21:8080",
                               "demo/web 203.0.113.20:80 -> 198.51.100.22:8080",
                               "demo/web 203.0.113.20:80 -> 198.51.100.23:8080 draining",
                           }));
  const auto* http6 = find(t, "2001:db8:200::20", 6, 80);
  ASSERT_TRUE(http6 && http6->n_backends == 1);
  EXPECT_EQ(backend_entry(t.backends()[http6->first_backend]),
            "demo/web 2001:db8:200::20:80 -> [2001:db8:100::21]:8080");

  // The slots of each key, by name.
  const auto slots_by_name = [](const nf::lb::Tables& tables, const nf::lb::Service& s) {
    std::map<std::string, uint32_t> out;
    for (uint32_t i = 0; i < s.n_backends; ++i) {
      const nf::lb::Backend& be = tables.backends()[s.first_backend + i];
      out[str(be.addr, be.v6) + ":" + std::to_string(be16(be.port))] = be.stats_slot;
    }
    return out;
  };
  const auto slots1 = slots_by_name(t, *http);

  // 198.51.100.22 leaves: the others keep their slots, the service port too.
  const auto second = b.build(yaml(without(kWebEndpoints, "198.51.100.22")));
  const auto* http2 = find(second->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http2);
  EXPECT_EQ(http2->stats_slot, http->stats_slot);
  EXPECT_EQ(http2->stats_id, http->stats_id);
  auto expect2 = slots1;
  const uint32_t freed = expect2.at("198.51.100.22:8080");
  expect2.erase("198.51.100.22:8080");
  EXPECT_EQ(slots_by_name(second->lb, *http2), expect2);

  // A new endpoint takes a freed slot (198.51.100.22 left both web ports), under a new owner id.
  const auto* https = find(t, "203.0.113.20", 6, 443);
  ASSERT_TRUE(https);
  const std::set<uint32_t> freed_slots{freed, slots_by_name(t, *https).at("198.51.100.22:8443")};
  auto more = without(kWebEndpoints, "198.51.100.22");
  more.push_back(R"({addresses: ["198.51.100.24"]})");
  const auto third = b.build(yaml(more));
  const auto* http3 = find(third->lb, "203.0.113.20", 6, 80);
  ASSERT_TRUE(http3);
  const auto slots3 = slots_by_name(third->lb, *http3);
  EXPECT_EQ(freed_slots.count(slots3.at("198.51.100.24:8080")), 1u);
  for (const auto& [key, slot] : expect2) EXPECT_EQ(slots3.at(key), slot) << key;
  const uint32_t new_id = ids_of(third->lb, *http3).at("198.51.100.24:8080");
  EXPECT_NE(new_id, ids_of(t, *http).at("198.51.100.22:8080"));
  EXPECT_NE(new_id, ids_of(t, *https).at("198.51.100.22:8443"));
}

TEST(SnapshotL4, NextHopsFreedWhenNoBackendUsesThem) {
  Builder b;
  b.build(yaml(kWebEndpoints));
  EXPECT_EQ(b.neighbors.in_use(), 6u);
  const auto snap = b.build(yaml(without(kWebEndpoints, "198.18.0.5")));
  ASSERT_TRUE(snap);
  EXPECT_EQ(b.neighbors.in_use(), 5u) << "the gateway was only 198.18.0.5's next hop";
  EXPECT_EQ(snap->lb.nexthop_index(addr("198.51.100.1").data(), 0), -1);
}

TEST(SnapshotL4, WithoutServicesNoL4Tables) {
  const auto loaded = config::load_text(yaml(kWebEndpoints), "l4.yaml");
  ASSERT_TRUE(loaded.ok());
  const auto& node = loaded.objects.node_configs.at(0);
  const Plan plan = make_plan(loaded.objects, &node, {});
  const auto snap = build_snapshot(plan, node, 7);
  ASSERT_TRUE(snap);
  EXPECT_EQ(snap->generation, 7u);
  EXPECT_TRUE(snap->lb.services().empty());
  EXPECT_EQ(snap->lb.find_service(addr("203.0.113.20").data(), 0, 6, be16(80)), nullptr);
}

}  // namespace
}  // namespace control
