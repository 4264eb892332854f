// Services -> L4 service ports (control/services.h), golden: Kubernetes YAML in, the dump of the
// compiled service ports and the events out. Each case is one Service (and its slices) on top of
// a node with a dual-stack pool; the first Service gets 203.0.113.10 and 2001:db8:200::10.
#include "control/services.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace control {
namespace {

constexpr const char* kBase = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata: {name: edge-1}
spec:
  interfaces:
    - name: uplink
      device: net_null0
      addresses: ["198.51.100.10/24", "2001:db8:100::10/64"]
  loadBalancer:
    snatAddresses: ["198.51.100.11"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool, namespace: metallb-system}
spec:
  addresses: ["203.0.113.10-203.0.113.19", "2001:db8:200::10-2001:db8:200::19"]
)";

// The Service most cases use: demo/web, port http 80 -> 8080.
constexpr const char* kWeb = R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
)";

std::string dump_events(const ServicesResult& r) {
  std::string out;
  for (const auto& [key, events] : r.events) {
    for (const auto& e : events)
      out += key + " " + e.type + " " + e.reason + ": " + e.message + "\n";
  }
  return out;
}

struct Case {
  const char* name;
  std::string objects;  // appended to kBase
  std::string dump;     // dump() of the result
  std::string events;   // dump_events() of the result
};

class ServicesGolden : public ::testing::TestWithParam<Case> {};

TEST_P(ServicesGolden, Dump) {
  const Case& c = GetParam();
  const auto loaded = config::load_text(std::string(kBase) + c.objects, "services.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  const Plan plan = make_plan(loaded.objects, &loaded.objects.node_configs.at(0), {});
  const ServicesResult r = compile_services(loaded.objects, plan);
  EXPECT_EQ(dump(r), c.dump);
  EXPECT_EQ(dump_events(r), c.events);
}

const std::string kNoEndpoints =
    ": no ready (or serving and terminating) IPv4 endpoint in the Service's EndpointSlices\n";

INSTANTIATE_TEST_SUITE_P(
    Services, ServicesGolden,
    ::testing::Values(
        Case{"basic", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - addresses: ["198.51.100.22"]
    conditions: {ready: true}
  - addresses: ["198.51.100.21"]
    nodeName: node-a
ports: [{name: http, protocol: TCP, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "  198.51.100.22:8080\n",
             ""},
        Case{"dual_stack", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv6, IPv4]
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["2001:db8:100::21"]}, {addresses: ["2001:db8:100::22"]}]
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "[2001:db8:200::10]:80/TCP demo/web:http nat policy=Cluster\n"
             "  [2001:db8:100::21]:8080\n"
             "  [2001:db8:100::22]:8080\n",
             ""},
        Case{"named_target_port_from_slice", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: web-http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: metrics, port: 9100}, {name: http, port: 8443}]
---
# No port named http: the named targetPort is not resolved, the slice is skipped.
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-2, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.22"]}]
ports: [{name: metrics, port: 9100}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8443\n",
             ""},
        Case{"numeric_target_port_fallback", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports:
    - {name: a, port: 80, targetPort: 9090}
    - {name: b, port: 81}
    - {name: c, port: 82, targetPort: 9092}
---
# No ports at all: a uses its targetPort, b its port; c is published under its name.
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-2, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.22"]}]
ports: [{name: c, port: 7000}, {name: a, protocol: UDP, port: 7001}]
)",
             "203.0.113.10:80/TCP demo/web:a nat policy=Cluster\n"
             "  198.51.100.21:9090\n"
             "  198.51.100.22:9090\n"
             "203.0.113.10:81/TCP demo/web:b nat policy=Cluster\n"
             "  198.51.100.21:81\n"
             "  198.51.100.22:81\n"
             "203.0.113.10:82/TCP demo/web:c nat policy=Cluster\n"
             "  198.51.100.21:9092\n"
             "  198.51.100.22:7000\n",
             ""},
        Case{"unnamed_port", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web nat policy=Cluster\n"
             "  198.51.100.21:8080\n",
             ""},
        Case{"all_ready", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.21"], conditions: {ready: true, serving: true, terminating: false}}
  - {addresses: ["198.51.100.22"], conditions: {ready: true}}
  - {addresses: ["198.51.100.23"], conditions: {}}
  - {addresses: ["198.51.100.24"]}
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "  198.51.100.22:8080\n"
             "  198.51.100.23:8080\n"
             "  198.51.100.24:8080\n",
             ""},
        Case{"some_terminating", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.21"], conditions: {ready: true}}
  # serving and terminating: existing flows only while others are ready
  - {addresses: ["198.51.100.22"], conditions: {ready: false, serving: true, terminating: true}}
  # terminating and no longer serving: gone
  - {addresses: ["198.51.100.23"], conditions: {ready: false, serving: false, terminating: true}}
  # not ready; serving defaults to ready: gone
  - {addresses: ["198.51.100.24"], conditions: {ready: false}}
  # ready but terminating: not for new flows
  - {addresses: ["198.51.100.25"], conditions: {ready: true, terminating: true}}
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "  198.51.100.22:8080 terminating\n"
             "  198.51.100.25:8080 terminating\n",
             ""},
        Case{"none_ready_falls_back_to_serving_terminating", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.23"], conditions: {ready: false, serving: true, terminating: true}}
  - {addresses: ["198.51.100.22"], conditions: {ready: false, serving: true, terminating: true}}
  - {addresses: ["198.51.100.24"], conditions: {ready: false, serving: false, terminating: true}}
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.22:8080\n"
             "  198.51.100.23:8080\n",
             ""},
        Case{"not_serving_excluded", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.21"], conditions: {ready: false}}
  - {addresses: ["198.51.100.22"], conditions: {ready: false, serving: false, terminating: true}}
  - {addresses: ["198.51.100.23"], conditions: {ready: false, serving: true}}
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n",
             "demo/web Warning NoEndpoints: no endpoint can take new connections on "
             "203.0.113.10:80/TCP (port http)" +
                 kNoEndpoints},
        Case{"two_slices_merged_without_duplicates", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.21"]}
  - {addresses: ["198.51.100.22"], conditions: {ready: false, serving: true, terminating: true}}
  - {addresses: ["198.51.100.24"], conditions: {ready: false, serving: true, terminating: true}}
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-2, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
  - {addresses: ["198.51.100.21"]}
  - {addresses: ["198.51.100.22"], conditions: {ready: true}}
  - {addresses: ["198.51.100.23"]}
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "  198.51.100.22:8080\n"
             "  198.51.100.23:8080\n"
             "  198.51.100.24:8080 terminating\n",
             ""},
        Case{"other_services_slices_ignored", std::string(kWeb) + R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: other, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.31"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-1, namespace: demo, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.32"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: unlabelled, namespace: demo}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.33"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-fqdn, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: FQDN
endpoints: [{addresses: ["backend.example.com"]}]
ports: [{name: http, port: 8080}]
---
# IPv6 slice of a single-stack IPv4 Service
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["2001:db8:100::21"]}]
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n",
             ""},
        Case{"udp_and_tcp", R"(
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: demo}
spec:
  type: LoadBalancer
  ports:
    - {name: dns-udp, protocol: UDP, port: 53}
    - {name: dns-tcp, protocol: TCP, port: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: dns-1, namespace: demo, labels: {kubernetes.io/service-name: dns}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: dns-udp, protocol: UDP, port: 5353}, {name: dns-tcp, protocol: TCP, port: 5354}]
)",
             "203.0.113.10:53/TCP demo/dns:dns-tcp nat policy=Cluster\n"
             "  198.51.100.21:5354\n"
             "203.0.113.10:53/UDP demo/dns:dns-udp nat policy=Cluster\n"
             "  198.51.100.21:5353\n",
             ""},
        Case{"sctp_warning", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports:
    - {name: http, port: 80, targetPort: 8080}
    - {name: sig, protocol: SCTP, port: 9999}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 8080}, {name: sig, protocol: SCTP, port: 9999}]
)",
             "203.0.113.10:80/TCP demo/web:http nat policy=Cluster\n"
             "  198.51.100.21:8080\n",
             "demo/web Warning UnsupportedProtocol: 9999/SCTP (port sig): Portico balances TCP and "
             "UDP only; this port is not served\n"},
        Case{"modes_from_annotation", R"(
---
apiVersion: v1
kind: Service
metadata: {name: a-nat, namespace: demo, annotations: {portico.io/forwarding-mode: nat}}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: b-dsr, namespace: demo, annotations: {portico.io/forwarding-mode: dsr}}
spec:
  type: LoadBalancer
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: c-ipip, namespace: demo, annotations: {portico.io/forwarding-mode: ipip}}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: d-default, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a, namespace: demo, labels: {kubernetes.io/service-name: a-nat}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: b, namespace: demo, labels: {kubernetes.io/service-name: b-dsr}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.22"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: c, namespace: demo, labels: {kubernetes.io/service-name: c-ipip}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.23"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: d, namespace: demo, labels: {kubernetes.io/service-name: d-default}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.24"]}]
)",
             "203.0.113.10:80/TCP demo/a-nat nat policy=Cluster\n"
             "  198.51.100.21:80\n"
             "203.0.113.11:80/TCP demo/b-dsr dsr policy=Cluster\n"
             "  198.51.100.22:80\n"
             "203.0.113.12:80/TCP demo/c-ipip ipip policy=Cluster\n"
             "  198.51.100.23:80\n"
             "203.0.113.13:80/TCP demo/d-default nat policy=Cluster\n"
             "  198.51.100.24:80\n",
             ""},
        Case{"ipip_cannot_translate_ports", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo, annotations: {portico.io/forwarding-mode: ipip}}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}, {addresses: ["198.51.100.22"]}]
ports: [{name: http, port: 8080}]
)",
             "203.0.113.10:80/TCP demo/web:http ipip policy=Cluster\n"
             "  198.51.100.21:8080\n"
             "  198.51.100.22:8080\n",
             "demo/web Warning PortTranslationUnsupported: 203.0.113.10:80/TCP (port http): "
             "endpoint 198.51.100.21:8080 listens on another port, but ipip mode cannot translate "
             "ports: packets reach the endpoint on port 80; use nat mode or a targetPort equal to "
             "80\n"},
        Case{"local_policy", R"(
---
apiVersion: v1
kind: Service
metadata: {name: a-nat, namespace: demo}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: b-dsr, namespace: demo, annotations: {portico.io/forwarding-mode: dsr}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a, namespace: demo, labels: {kubernetes.io/service-name: a-nat}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: b, namespace: demo, labels: {kubernetes.io/service-name: b-dsr}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.22"]}]
)",
             "203.0.113.10:80/TCP demo/a-nat nat policy=Local\n"
             "  198.51.100.21:80\n"
             "203.0.113.11:80/TCP demo/b-dsr dsr policy=Local\n"
             "  198.51.100.22:80\n",
             "demo/a-nat Warning ClientAddressNotPreserved: externalTrafficPolicy is Local, but in "
             "nat mode Portico forwards with full NAT, which replaces the client address with an "
             "SNAT address; set the annotation portico.io/forwarding-mode to dsr or ipip to "
             "preserve client addresses\n"},
        Case{"no_endpoints", R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  ports: [{port: 80}]
)",
             "203.0.113.10:80/TCP demo/web nat policy=Cluster\n"
             "[2001:db8:200::10]:80/TCP demo/web nat policy=Cluster\n",
             "demo/web Warning NoEndpoints: no endpoint can take new connections on "
             "203.0.113.10:80/TCP" +
                 kNoEndpoints +
                 "demo/web Warning NoEndpoints: no endpoint can take new connections on "
                 "[2001:db8:200::10]:80/TCP: no ready (or serving and terminating) IPv6 endpoint "
                 "in the Service's EndpointSlices\n"},
        Case{"services_without_address_ignored", R"(
---
apiVersion: v1
kind: Service
metadata: {name: internal, namespace: demo}
spec:
  type: ClusterIP
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: elsewhere, namespace: demo}
spec:
  type: LoadBalancer
  loadBalancerClass: example.com/other
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: pending, namespace: demo, annotations: {metallb.io/address-pool: missing}}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: internal-1, namespace: demo, labels: {kubernetes.io/service-name: internal}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 80}]
)",
             "", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Services, ForwardingModeNames) {
  EXPECT_STREQ(forwarding_mode_name(ForwardingMode::kNat), "nat");
  EXPECT_STREQ(forwarding_mode_name(ForwardingMode::kDsr), "dsr");
  EXPECT_STREQ(forwarding_mode_name(ForwardingMode::kIpip), "ipip");
}

TEST(Services, FieldsBeyondTheDump) {
  const auto loaded = config::load_text(std::string(kBase) + R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo, annotations: {portico.io/forwarding-mode: dsr}}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{name: http, protocol: UDP, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21", "198.51.100.99"], nodeName: worker-1}]
ports: [{name: http, protocol: UDP, port: 80}]
)",
                                        "services.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  const Plan plan = make_plan(loaded.objects, &loaded.objects.node_configs.at(0), {});
  const ServicesResult r = compile_services(loaded.objects, plan);
  ASSERT_EQ(r.ports.size(), 1u);
  const L4ServicePort& p = r.ports[0];
  EXPECT_EQ(p.service, "demo/web");
  EXPECT_EQ(p.port_name, "http");
  EXPECT_EQ(p.vip.str(), "203.0.113.10");
  EXPECT_EQ(p.protocol, 17);
  EXPECT_EQ(p.port, 80);
  EXPECT_EQ(p.mode, ForwardingMode::kDsr);
  EXPECT_TRUE(p.local_traffic_policy);
  ASSERT_EQ(p.endpoints.size(), 1u);  // the first address only
  EXPECT_EQ(p.endpoints[0].address.str(), "198.51.100.21");
  EXPECT_EQ(p.endpoints[0].port, 80);
  EXPECT_FALSE(p.endpoints[0].terminating);
  EXPECT_EQ(p.endpoints[0].node_name, "worker-1");
  EXPECT_TRUE(r.events.empty());
}

}  // namespace
}  // namespace control
