// L2 announcement planning: which interfaces answer for which address (MetalLB §2.2, §4.1).
#include "control/plan.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace control {
namespace {

constexpr const char* kNode = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1
  labels: {rack: r1}
spec:
  interfaces:
    - name: uplink
      device: net_null0
      addresses: ["198.51.100.10/24"]
    - name: storage
      device: net_null1
      addresses: ["198.51.100.130/25"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool-a, namespace: metallb-system, labels: {tier: front}}
spec:
  addresses: ["203.0.113.10-203.0.113.19"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool-b, namespace: metallb-system}
spec:
  addresses: ["203.0.113.20-203.0.113.29"]
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: demo, labels: {app: a}}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
  selector: {app: a}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: demo, annotations: {metallb.io/address-pool: pool-b}}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
)";

struct Case {
  const char* name;
  const char* advertisements;  // YAML appended to kNode
  uint32_t ports_a;            // announce mask expected for Service a's VIP (pool-a)
  uint32_t ports_b;            // ... for Service b's VIP (pool-b)
};

class PlanTable : public ::testing::TestWithParam<Case> {};

TEST_P(PlanTable, AnnouncePorts) {
  const Case& c = GetParam();
  auto loaded = config::load_text(std::string(kNode) + c.advertisements, "plan.yaml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  const Plan plan = make_plan(loaded.objects, &loaded.objects.node_configs.at(0), {});
  ASSERT_EQ(plan.vips.size(), 2u);
  EXPECT_EQ(plan.vips[0].ip.str(), "203.0.113.10");
  EXPECT_EQ(plan.vips[0].announce_ports, c.ports_a) << c.name;
  EXPECT_EQ(plan.vips[1].ip.str(), "203.0.113.20");
  EXPECT_EQ(plan.vips[1].announce_ports, c.ports_b) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Selectors, PlanTable,
    ::testing::Values(
        Case{"no advertisement: allocated, never announced", "", 0, 0},
        Case{"empty advertisement: every pool, every interface",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: all, namespace: metallb-system}\n",
             3, 3},
        Case{"pool by name and interface selector",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {ipAddressPools: [pool-a], interfaces: [storage]}\n",
             2, 0},
        Case{"pool selector by label",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {ipAddressPoolSelectors: [{matchLabels: {tier: front}}]}\n",
             3, 0},
        Case{"node selector that does not match this node",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {nodeSelectors: [{matchLabels: {rack: r2}}]}\n",
             0, 0},
        Case{"node selector that matches",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {nodeSelectors: [{matchLabels: {rack: r1}}], interfaces: [uplink]}\n",
             1, 1},
        Case{"service selector",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {serviceSelectors: [{matchExpressions: [{key: app, operator: In, values: "
             "[a]}]}]}\n",
             3, 0},
        Case{"two advertisements: union of interfaces",
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: a, namespace: metallb-system}\n"
             "spec: {interfaces: [uplink]}\n"
             "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
             "metadata: {name: b, namespace: metallb-system}\n"
             "spec: {ipAddressPools: [pool-b], interfaces: [storage]}\n",
             1, 3}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(Plan, UnknownInterfaceIsReported) {
  auto loaded = config::load_text(std::string(kNode) +
                                      "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\n"
                                      "metadata: {name: a, namespace: metallb-system}\n"
                                      "spec: {interfaces: [eth9]}\n",
                                  "plan.yaml");
  ASSERT_TRUE(loaded.ok());
  const Plan plan = make_plan(loaded.objects, &loaded.objects.node_configs.at(0), {});
  EXPECT_EQ(plan.vips[0].announce_ports, 0u);
  const auto& events = plan.l2_events.at("demo/a");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].reason, "announceFailed");
}

TEST(Plan, ReloadKeepsAddresses) {
  auto loaded = config::load_text(kNode, "plan.yaml");
  ASSERT_TRUE(loaded.ok());
  const Plan first = make_plan(loaded.objects, &loaded.objects.node_configs.at(0), {});
  // A new Service sorted before "a" appears: a keeps .10, the newcomer gets the next address.
  auto more = config::load_text(std::string(kNode) +
                                    "---\napiVersion: v1\nkind: Service\n"
                                    "metadata: {name: aa, namespace: alpha}\n"
                                    "spec: {type: LoadBalancer, ports: [{port: 80}]}\n",
                                "plan.yaml");
  ASSERT_TRUE(more.ok());
  const Plan second =
      make_plan(more.objects, &more.objects.node_configs.at(0), ipam::assignments_of(first.ipam));
  EXPECT_EQ(second.ipam.services.at("demo/a").assignment.ips.at(0).str(), "203.0.113.10");
  EXPECT_EQ(second.ipam.services.at("alpha/aa").assignment.ips.at(0).str(), "203.0.113.11");
}

}  // namespace
}  // namespace control
