// config/loader.h, kind by kind: NodeConfig, IPAddressPool, L2Advertisement, Service,
// EndpointSlice, and the rules across objects. Every error is checked with its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::find;

std::string yaml(const char* text) { return text[0] == '\n' ? text + 1 : text; }

// Loads `text` and expects an error containing `message` at `line` (any position in the list).
void expect_error(const std::string& name, const std::string& text, int line,
                  const std::string& message) {
  const LoadResult r = load_text(text, "in.yaml");
  const Diagnostic* e = find(r.errors, message);
  ASSERT_NE(e, nullptr) << name << ": no error containing: " << message << "\n" << dump(r);
  EXPECT_EQ(e->line, line) << name << "\n" << dump(r);
  EXPECT_EQ(e->file, "in.yaml") << name;
}

struct Case {
  const char* name;
  const char* text;  // appended to the kind's header
  int line;          // counted from the header's first line
  const char* message;
};

void run_cases(const char* header, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    expect_error(c.name, yaml(header) + yaml(c.text), c.line, c.message);
  }
}

// ================================ NodeConfig ================================

// The example of DESIGN.md, verbatim.
const char* const kDesignNodeConfig = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1                     # node name: L2 election, status, BGP router id default
spec:
  dpdk:
    lcores: "0-1"                  # first = main (control) lcore, rest = workers
    memoryMB: 512
    hugepages: false               # false -> --no-huge (tests, demo)
    extraArgs: []                  # passed to rte_eal_init as is
  interfaces:
    - name: uplink
      device: "net_af_packet0,iface=veth0"   # a vdev spec, or a PCI address such as 0000:3b:02.0
      addresses: ["198.51.100.10/24", "2001:db8:100::10/64"]
      mtu: 1500
  routes:
    - destination: 0.0.0.0/0
      gateway: 198.51.100.1
  exception:
    tap: portico0
  loadBalancer:
    snatAddresses: ["198.51.100.11"]    # full-NAT source addresses
  api:
    grpc: "unix:///run/portico/api.sock"
    metrics: "127.0.0.1:9478"
  kubernetes:
    kubeconfig: ""                 # empty: files only
)";

TEST(NodeConfig, DesignExampleLoads) {
  const LoadResult r = load_text(yaml(kDesignNodeConfig), "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.node_configs.size(), 1u);
  const NodeConfig& n = r.objects.node_configs[0];
  EXPECT_EQ(n.meta.name, "edge-1");
  EXPECT_EQ(n.meta.namespace_, "");
  EXPECT_EQ(n.src.file, "node.yaml");
  EXPECT_EQ(n.src.line, 1);
  EXPECT_EQ(n.dpdk.lcores, "0-1");
  EXPECT_EQ(n.dpdk.memory_mb, 512u);
  EXPECT_FALSE(n.dpdk.hugepages);
  EXPECT_TRUE(n.dpdk.extra_args.empty());
  EXPECT_EQ(n.dpdk.mbufs, 0u);  // sized automatically
  EXPECT_EQ(n.dpdk.idle_sleep_us, 100u);
  ASSERT_EQ(n.interfaces.size(), 1u);
  const NodeInterface& i = n.interfaces[0];
  EXPECT_EQ(i.name, "uplink");
  EXPECT_EQ(i.device, "net_af_packet0,iface=veth0");
  ASSERT_EQ(i.addresses.size(), 2u);
  EXPECT_EQ(i.addresses[0].str(), "198.51.100.10/24");
  EXPECT_EQ(i.addresses[1].str(), "2001:db8:100::10/64");
  EXPECT_EQ(i.mtu, 1500);
  EXPECT_EQ(i.tap, "portico0");
  ASSERT_EQ(n.routes.size(), 1u);
  EXPECT_EQ(n.routes[0].destination.str(), "0.0.0.0/0");
  EXPECT_EQ(n.routes[0].gateway.str(), "198.51.100.1");
  EXPECT_EQ(n.exception.tap, "portico0");
  ASSERT_EQ(n.load_balancer.snat_addresses.size(), 1u);
  EXPECT_EQ(n.load_balancer.snat_addresses[0].str(), "198.51.100.11");
  EXPECT_EQ(n.api.grpc, "unix:///run/portico/api.sock");
  EXPECT_EQ(n.api.metrics, "127.0.0.1:9478");
  EXPECT_EQ(n.kubernetes.kubeconfig, "");
}

const char* const kNodeHeader = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1
  labels: {zone: a}
)";

TEST(NodeConfig, KubernetesSection) {
  LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
spec:
  interfaces: [{name: a, device: net_null0}]
  kubernetes:
    kubeconfig: /etc/portico/kubeconfig
    context: edge
    leaderElection:
      leaseNamespace: edge-system
      leaseName: portico-writer
      identity: edge-1a
      leaseDuration: 30s
      renewDeadline: 20s
      retryPeriod: 4s
)"),
                           "node.yaml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].str());
  const auto& k = r.objects.node_configs.at(0).kubernetes;
  EXPECT_EQ(k.kubeconfig, "/etc/portico/kubeconfig");
  EXPECT_EQ(k.context, "edge");
  EXPECT_EQ(k.leader_election.lease_namespace, "edge-system");
  EXPECT_EQ(k.leader_election.lease_name, "portico-writer");
  EXPECT_EQ(k.leader_election.identity, "edge-1a");
  EXPECT_EQ(k.leader_election.lease_duration_ms, 30000u);
  EXPECT_EQ(k.leader_election.renew_deadline_ms, 20000u);
  EXPECT_EQ(k.leader_election.retry_period_ms, 4000u);
  // Defaults: client-go's 15 s / 10 s / 2 s.
  r = load_text(yaml(kNodeHeader) + yaml("spec:\n  interfaces: [{name: a, device: d}]\n"),
                "node.yaml");
  ASSERT_TRUE(r.ok());
  const auto& d = r.objects.node_configs.at(0).kubernetes;
  EXPECT_EQ(d.kubeconfig, "");
  EXPECT_EQ(d.leader_election.lease_namespace, "portico-system");
  EXPECT_EQ(d.leader_election.lease_duration_ms, 15000u);
  EXPECT_EQ(d.leader_election.renew_deadline_ms, 10000u);
  EXPECT_EQ(d.leader_election.retry_period_ms, 2000u);
}

TEST(NodeConfig, DefaultsAndTapNaming) {
  const LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
spec:
  dpdk:
    lcores: "0,2,4-5"
    hugepages: yes
    extraArgs: ["--log-level=8"]
    idleSleepUs: 0
  exception:
    tap: ptc
  interfaces:
    - name: a
      device: net_null0
    - name: b
      device: net_null1
      mtu: 9000
    - name: c
      device: net_null2
      tap: custom
)"),
                                 "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const NodeConfig& n = r.objects.node_configs.at(0);
  EXPECT_EQ(n.meta.labels.at("zone"), "a");
  EXPECT_EQ(n.dpdk.lcores, "0,2,4-5");
  EXPECT_TRUE(n.dpdk.hugepages);  // YAML 1.1 "yes", as kubectl reads it
  EXPECT_EQ(n.dpdk.extra_args, std::vector<std::string>{"--log-level=8"});
  EXPECT_EQ(n.dpdk.idle_sleep_us, 0u);
  EXPECT_EQ(n.dpdk.memory_mb, 512u);
  ASSERT_EQ(n.interfaces.size(), 3u);
  EXPECT_EQ(n.interfaces[0].tap, "ptc");
  EXPECT_EQ(n.interfaces[1].tap, "ptc1");
  EXPECT_EQ(n.interfaces[1].mtu, 9000);
  EXPECT_EQ(n.interfaces[2].tap, "custom");
  EXPECT_EQ(n.interfaces[0].mtu, 1500);
}

TEST(NodeConfig, DefaultTapNamesAreNumbered) {
  const LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
spec:
  interfaces:
    - name: a
      device: net_null0
    - name: b
      device: net_null1
    - name: c
      device: net_null2
)"),
                                 "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const NodeConfig& n = r.objects.node_configs.at(0);
  EXPECT_EQ(n.interfaces[0].tap, "portico0");
  EXPECT_EQ(n.interfaces[1].tap, "portico1");
  EXPECT_EQ(n.interfaces[2].tap, "portico2");
}

TEST(NodeConfig, IntegersInEveryYaml11Form) {
  struct Case {
    const char* text;
    uint32_t value;
  };
  for (const Case& c : {Case{"1024", 1024}, Case{"+1024", 1024}, Case{"1_024", 1024},
                        Case{"0x400", 1024}, Case{"0o2000", 1024}, Case{"02000", 1024},
                        Case{"0b10000000000", 1024}, Case{"!!int 1024", 1024}}) {
    const LoadResult r = load_text(yaml(kNodeHeader) + "spec:\n  dpdk:\n    memoryMB: " + c.text +
                                       "\n  interfaces: [{name: a, device: d}]\n",
                                   "node.yaml");
    ASSERT_TRUE(r.ok()) << c.text << "\n" << dump(r);
    EXPECT_EQ(r.objects.node_configs.at(0).dpdk.memory_mb, c.value) << c.text;
  }
  for (const char* text : {"1024.0", "1e3", "\"1024\"", "08", "0x", "1024MB", "true", "~1"}) {
    const LoadResult r = load_text(yaml(kNodeHeader) + "spec:\n  dpdk:\n    memoryMB: " + text +
                                       "\n  interfaces: [{name: a, device: d}]\n",
                                   "node.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << text << "\n" << dump(r);
    EXPECT_NE(r.errors[0].message.find("must be of type integer"), std::string::npos) << text;
  }
  const LoadResult big = load_text(yaml(kNodeHeader) +
                                       "spec:\n  dpdk:\n    memoryMB: 99999999999999999999999\n"
                                       "  interfaces: [{name: a, device: d}]\n",
                                   "node.yaml");
  ASSERT_EQ(big.errors.size(), 1u) << dump(big);
  EXPECT_EQ(big.errors[0].message,
            "spec.dpdk.memoryMB: Invalid value: 99999999999999999999999: must be between 64 and "
            "4294967295, inclusive");
}

TEST(NodeConfig, Errors) {
  // Header lines 1-5; the case text starts at line 6.
  run_cases(
      kNodeHeader,
      {
          {"spec missing", "", 1, "spec: Required value"},
          {"interfaces missing", "spec:\n  dpdk: {}\n", 6, "spec.interfaces: Required value"},
          {"interfaces empty", "spec:\n  interfaces: []\n", 7, "spec.interfaces: Required value"},
          {"interfaces not a list", "spec:\n  interfaces:\n    name: a\n", 7,
           "spec.interfaces: Invalid value: \"object\": must be of type array"},
          {"one lcore", R"(
spec:
  dpdk:
    lcores: "3"
  interfaces: [{name: a, device: d}]
)",
           8,
           "spec.dpdk.lcores: Invalid value: \"3\": at least two lcores: the first is the control "
           "thread, the others run workers"},
          {"lcore syntax",
           "spec:\n  dpdk: {lcores: \"0-a\"}\n  interfaces: [{name: a, device: d}]\n", 7,
           "spec.dpdk.lcores: Invalid value: \"0-a\": invalid lcore list item \"0-a\""},
          {"lcores as a number",
           "spec:\n  dpdk:\n    lcores: 2\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.lcores: Invalid value: 2: must be of type string"},
          {"memory too small",
           "spec:\n  dpdk:\n    memoryMB: 32\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.memoryMB: Invalid value: 32: must be greater than or equal to 64"},
          {"memory quoted",
           "spec:\n  dpdk:\n    memoryMB: \"512\"\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.memoryMB: Invalid value: \"512\": must be of type integer"},
          {"mbufs too few",
           "spec:\n  dpdk:\n    mbufs: 100\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.mbufs: Invalid value: 100: must be greater than or equal to 1023"},
          {"idle sleep too long",
           "spec:\n  dpdk:\n    idleSleepUs: 200000\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.idleSleepUs: Invalid value: 200000: must be between 0 and 100000, inclusive"},
          {"hugepages quoted",
           "spec:\n  dpdk:\n    hugepages: \"true\"\n  interfaces: [{name: a, device: d}]\n", 8,
           "spec.dpdk.hugepages: Invalid value: \"true\": must be of type boolean"},
          {"interface name", "spec:\n  interfaces:\n    - name: Uplink\n      device: d\n", 8,
           "spec.interfaces[0].name: Invalid value: \"Uplink\": a lowercase RFC 1123 label"},
          {"interface name missing", "spec:\n  interfaces:\n    - device: d\n", 8,
           "spec.interfaces[0].name: Required value"},
          {"duplicate interface name", R"(
spec:
  interfaces:
    - name: a
      device: d0
    - name: a
      device: d1
)",
           10, "spec.interfaces[1].name: Duplicate value: \"a\" (also spec.interfaces[0].name)"},
          {"device missing", "spec:\n  interfaces:\n    - name: a\n", 8,
           "spec.interfaces[0].device: Required value"},
          {"address without length", R"(
spec:
  interfaces:
    - name: a
      device: d
      addresses:
        - 198.51.100.10/24
        - 198.51.100.11
)",
           12,
           "spec.interfaces[0].addresses[1]: Invalid value: \"198.51.100.11\": must be an IP "
           "address with its prefix length"},
          {"duplicate address", R"(
spec:
  interfaces:
    - name: a
      device: d
      addresses: [198.51.100.10/24]
    - name: b
      device: e
      addresses: [198.51.100.10/25]
)",
           13, "Duplicate value: \"198.51.100.10\" (also spec.interfaces[0].addresses[0])"},
          {"mtu too big", "spec:\n  interfaces:\n    - name: a\n      device: d\n      mtu: 9001\n",
           10,
           "spec.interfaces[0].mtu: Invalid value: 9001: must be between 68 and 9000, inclusive"},
          {"mtu too small for IPv6", R"(
spec:
  interfaces:
    - name: a
      device: d
      addresses: ["2001:db8:100::10/64"]
      mtu: 1000
)",
           11, "spec.interfaces[0].mtu: Invalid value: 1000: must be at least 1280"},
          {"tap too long",
           "spec:\n  interfaces:\n    - name: a\n      device: d\n      tap: abcdefghijklmnop\n",
           10,
           "spec.interfaces[0].tap: Invalid value: \"abcdefghijklmnop\": must be no more than 15"},
          {"default tap too long", R"(
spec:
  exception:
    tap: abcdefghijklmno
  interfaces:
    - name: a
      device: d
    - name: b
      device: e
)",
           12,
           "spec.interfaces[1].tap: Invalid value: \"abcdefghijklmno1\": the default tap name "
           "(spec.exception.tap numbered by index) must be no more than 15 characters"},
          {"tap clash", R"(
spec:
  interfaces:
    - name: a
      device: d
    - name: b
      device: e
      tap: portico0
)",
           12, "spec.interfaces[1].tap: Duplicate value: \"portico0\""},
          {"route family", R"(
spec:
  interfaces: [{name: a, device: d, addresses: [198.51.100.10/24]}]
  routes:
    - destination: "::/0"
      gateway: 198.51.100.1
)",
           10,
           "spec.routes[0].gateway: Invalid value: \"198.51.100.1\": is IPv4 but the destination "
           "is IPv6"},
          {"route host bits", R"(
spec:
  interfaces: [{name: a, device: d}]
  routes:
    - destination: 203.0.113.7/24
      gateway: 198.51.100.1
)",
           9, "host bits are set; did you mean 203.0.113.0/24?"},
          {"route gateway missing", R"(
spec:
  interfaces: [{name: a, device: d}]
  routes:
    - destination: 0.0.0.0/0
)",
           9, "spec.routes[0].gateway: Required value"},
          {"snat address", R"(
spec:
  interfaces: [{name: a, device: d}]
  loadBalancer:
    snatAddresses: [198.51.100.11, 198.51.100.300]
)",
           9,
           "spec.loadBalancer.snatAddresses[1]: Invalid value: \"198.51.100.300\": must be a valid "
           "IP address"},
      });
  run_cases(kNodeHeader,
            {
                {"lease shorter than the renew deadline", R"(
spec:
  interfaces: [{name: a, device: d}]
  kubernetes:
    leaderElection:
      leaseDuration: 10s
)",
                 10,
                 "spec.kubernetes.leaderElection.leaseDuration: leaseDuration (10s) must be longer "
                 "than renewDeadline (10s)"},
                {"retry too close to the renew deadline", R"(
spec:
  interfaces: [{name: a, device: d}]
  kubernetes:
    leaderElection:
      renewDeadline: 5s
      retryPeriod: 4500ms
)",
                 10,
                 "spec.kubernetes.leaderElection.renewDeadline: renewDeadline (5s) must be longer "
                 "than 1.2 x retryPeriod (4s500ms)"},
                {"lease namespace", R"(
spec:
  interfaces: [{name: a, device: d}]
  kubernetes:
    leaderElection: {leaseNamespace: Portico}
)",
                 9,
                 "spec.kubernetes.leaderElection.leaseNamespace: Invalid value: \"Portico\": must "
                 "be a DNS-1123 label"},
            });
  expect_error("node name",
               "apiVersion: portico.io/v1alpha1\nkind: NodeConfig\nmetadata:\n  name: Edge_1\n"
               "spec:\n  interfaces: [{name: a, device: d}]\n",
               4, "metadata.name: Invalid value: \"Edge_1\": a lowercase RFC 1123 subdomain");
}

TEST(NodeConfig, Warnings) {
  const LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
spec:
  interfaces: [{name: a, device: d, addresses: [198.51.100.10/24]}]
  routes:
    - destination: 203.0.113.0/24
      gateway: 192.0.2.1
  dpdk:
    lcore: "0-1"
)"),
                                 "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  EXPECT_EQ(r.warnings[0].line, 10);
  EXPECT_EQ(r.warnings[0].message,
            "spec.routes[0].gateway: gateway 192.0.2.1 is not in the subnet of any interface "
            "address");
  EXPECT_EQ(r.warnings[1].line, 12);
  EXPECT_EQ(r.warnings[1].message, "unknown field \"spec.dpdk.lcore\"");
}

// ============================== IPAddressPool ==============================

const char* const kPoolHeader = R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: metallb-system
)";

TEST(IPAddressPool, LoadsEntriesAndServiceAllocation) {
  const LoadResult r = load_text(yaml(kPoolHeader) + yaml(R"(
spec:
  addresses:
    - 203.0.113.0/28
    - 203.0.113.20 - 203.0.113.29
    - 2001:db8:200::/124
  autoAssign: false
  avoidBuggyIPs: true
  serviceAllocation:
    priority: 10
    namespaces: [team-a, team-b]
    namespaceSelectors:
      - matchLabels: {tier: edge}
    serviceSelectors:
      - matchExpressions:
          - {key: app, operator: In, values: [web, api]}
          - {key: canary, operator: DoesNotExist}
)"),
                                 "pool.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  const IPAddressPool& p = r.objects.pools.at(0);
  EXPECT_EQ(p.meta.namespace_, "metallb-system");
  ASSERT_EQ(p.addresses.size(), 3u);
  EXPECT_EQ(p.addresses[0].text, "203.0.113.0/28");
  EXPECT_EQ(p.addresses[1].text, "203.0.113.20 - 203.0.113.29");
  EXPECT_EQ(p.addresses[1].range.first.str(), "203.0.113.20");
  EXPECT_EQ(p.addresses[1].range.last.str(), "203.0.113.29");
  EXPECT_EQ(p.addresses[2].range.family(), IpFamily::kIPv6);
  EXPECT_FALSE(p.auto_assign);
  EXPECT_TRUE(p.avoid_buggy_ips);
  ASSERT_TRUE(p.service_allocation.has_value());
  EXPECT_EQ(p.service_allocation->priority, 10);
  EXPECT_EQ(p.service_allocation->namespaces, (std::vector<std::string>{"team-a", "team-b"}));
  ASSERT_EQ(p.service_allocation->namespace_selectors.size(), 1u);
  EXPECT_EQ(p.service_allocation->namespace_selectors[0].str(), "tier=edge");
  ASSERT_EQ(p.service_allocation->service_selectors.size(), 1u);
  EXPECT_EQ(p.service_allocation->service_selectors[0].str(), "app in (web,api),!canary");
  EXPECT_TRUE(p.service_allocation->service_selectors[0].matches({{"app", "web"}}));
  EXPECT_FALSE(
      p.service_allocation->service_selectors[0].matches({{"app", "web"}, {"canary", "1"}}));
}

TEST(IPAddressPool, Defaults) {
  const LoadResult r =
      load_text(yaml(kPoolHeader) + "spec:\n  addresses: [203.0.113.0/28]\n", "pool.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const IPAddressPool& p = r.objects.pools.at(0);
  EXPECT_TRUE(p.auto_assign);
  EXPECT_FALSE(p.avoid_buggy_ips);
  EXPECT_FALSE(p.service_allocation.has_value());
}

TEST(IPAddressPool, Errors) {
  // Header lines 1-5; the case text starts at line 6.
  run_cases(
      kPoolHeader,
      {
          {"spec missing", "", 1, "spec: Required value"},
          {"addresses missing", "spec:\n  autoAssign: true\n", 6, "spec.addresses: Required value"},
          {"addresses empty", "spec:\n  addresses: []\n", 7, "spec.addresses: Required value"},
          {"addresses a string", "spec:\n  addresses: 203.0.113.0/28\n", 7,
           "spec.addresses: Invalid value: \"203.0.113.0/28\": must be of type array"},
          {"bare address", "spec:\n  addresses:\n    - 203.0.113.0/28\n    - 203.0.113.77\n", 9,
           "spec.addresses[1]: Invalid value: \"203.0.113.77\": invalid CIDR \"203.0.113.77\""},
          {"reversed range", "spec:\n  addresses:\n    - 203.0.113.9-203.0.113.1\n", 8,
           "start IP 203.0.113.9 is after the end IP 203.0.113.1"},
          {"mixed families", "spec:\n  addresses:\n    - 203.0.113.1-2001:db8::1\n", 8,
           "is IPv4 but end IP 2001:db8::1 is IPv6"},
          {"entry not a string", "spec:\n  addresses:\n    - {cidr: 203.0.113.0/28}\n", 8,
           "spec.addresses[0]: Invalid value: \"object\": must be of type string"},
          {"autoAssign quoted", "spec:\n  addresses: [203.0.113.0/28]\n  autoAssign: \"false\"\n",
           8, "spec.autoAssign: Invalid value: \"false\": must be of type boolean"},
          {"priority text", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    priority: high
)",
           9, "spec.serviceAllocation.priority: Invalid value: \"high\": must be of type integer"},
          {"duplicate namespaces", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    namespaces:
      - a
      - b
      - a
)",
           12, "spec.serviceAllocation.namespaces[2]: Duplicate value: \"a\""},
          {"overlap inside one pool", R"(
spec:
  addresses:
    - 203.0.113.0/24
    - 203.0.113.10-203.0.113.12
)",
           9,
           "spec.addresses[1]: range 203.0.113.10-203.0.113.12 overlaps with already defined CIDR "
           "203.0.113.0/24 of pool pool (in.yaml:8)"},
          {"selector with a bad operator", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    serviceSelectors:
      - matchExpressions:
          - key: app
            operator: in
            values: [web]
)",
           12,
           "spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].operator: Unsupported "
           "value: \"in\": supported values: \"DoesNotExist\", \"Exists\", \"In\", \"NotIn\""},
          {"In without values", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    serviceSelectors:
      - matchExpressions:
          - {key: app, operator: In}
)",
           11,
           "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' "
           "or 'NotIn'"},
          {"Exists with values", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    namespaceSelectors:
      - matchExpressions:
          - key: app
            operator: Exists
            values: [a]
)",
           13,
           "spec.serviceAllocation.namespaceSelectors[0].matchExpressions[0].values: Forbidden: "
           "may "
           "not be specified when `operator` is 'Exists' or 'DoesNotExist'"},
          {"duplicate selectors", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    serviceSelectors:
      - matchLabels: {app: web}
      - matchLabels: {app: web}
)",
           11, "spec.serviceAllocation.serviceSelectors[1]: Duplicate value: \"app=web\""},
          {"selector key", R"(
spec:
  addresses: [203.0.113.0/28]
  serviceAllocation:
    serviceSelectors:
      - matchExpressions:
          - {key: "a/b/c", operator: Exists}
)",
           11, "matchExpressions[0].key: Invalid value: \"a/b/c\": a qualified name must consist"},
      });
}

const char* const kTwoPools = R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: other
spec:
  addresses:
    - 203.0.113.128/25
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: this
spec:
  addresses:
    - 198.51.100.64/27
    - 203.0.113.0/24
)";

TEST(IPAddressPool, OverlapAcrossPoolsNamesBothPoolsAndEntries) {
  const LoadResult r = load_text(yaml(kTwoPools), "pools.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "pools.yaml:16: IPAddressPool/default/this: spec.addresses[1]: CIDR 203.0.113.0/24 "
            "overlaps with already defined CIDR 203.0.113.128/25 of pool other (pools.yaml:7)");
}

TEST(IPAddressPool, AdjacentAndOtherFamilyDoNotOverlap) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: a
spec:
  addresses: [203.0.113.0/25, "2001:db8:200::/64"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: b
spec:
  addresses: [203.0.113.128-203.0.113.255, "2001:db8:201::/64", 192.0.2.0/24]
)"),
                                 "pools.yaml");
  EXPECT_TRUE(r.ok()) << dump(r);
}

TEST(IPAddressPool, DuplicateNamesAcrossNamespaces) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: a}
spec: {addresses: [203.0.113.0/28]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: b}
spec: {addresses: [203.0.113.16/28]}
)"),
                                 "pools.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 6);
  EXPECT_EQ(r.errors[0].message,
            "duplicate definition of pool \"p\" (already defined as IPAddressPool/a/p at "
            "pools.yaml:1)");
}

TEST(IPAddressPool, MustNotHoldNodeAddresses) {
  const LoadResult r = load_text(yaml(kDesignNodeConfig) + "---\n" + yaml(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: bad
spec:
  addresses:
    - 198.51.100.10/32
    - 198.51.100.11-198.51.100.11
)"),
                                 "all.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 35);
  EXPECT_EQ(r.errors[0].message,
            "spec.addresses[0]: CIDR 198.51.100.10/32 contains the node address 198.51.100.10 "
            "(NodeConfig/edge-1 spec.interfaces[0].addresses[0])");
  EXPECT_EQ(r.errors[1].line, 36);
  EXPECT_NE(r.errors[1].message.find("contains the SNAT address 198.51.100.11"), std::string::npos);
}

TEST(IPAddressPool, AmplifiedEntriesGiveBoundedDiagnostics) {
  // 1000 copies of one CIDR (through an alias), and a node with 1000 copies of an address in it.
  std::string cidrs = "[", addresses = "[";
  for (int i = 0; i < 1000; ++i) {
    cidrs += i ? ", *c" : "*c";
    addresses += i ? ", *a" : "*a";
  }
  const std::string text =
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
      "x: [&c 203.0.113.0/24]\nspec:\n  addresses: " +
      cidrs + "]\n---\n" +
      "apiVersion: portico.io/v1alpha1\nkind: NodeConfig\nmetadata: {name: n}\n"
      "x: [&a 203.0.113.7/24]\nspec:\n  interfaces: [{name: a, device: d, addresses: " +
      addresses + "]}]\n";
  const LoadResult r = load_text(text, "amp.yaml");
  // Per document: 100 duplicate addresses + 1; across objects: 100 overlaps + 1.
  ASSERT_EQ(r.errors.size(), 202u) << dump(r);
  EXPECT_EQ(r.errors[101].message,
            "spec.addresses[1]: CIDR 203.0.113.0/24 overlaps with already defined CIDR "
            "203.0.113.0/24 of pool p (amp.yaml:4)");  // aliases point at their anchor
  EXPECT_EQ(r.errors.back().message, "too many problems across objects; the rest are not shown");
  EXPECT_EQ(r.objects.node_configs.at(0).interfaces.at(0).addresses.size(), 1u);
}

// ============================== L2Advertisement ==============================

TEST(L2Advertisement, NoSpecAppliesToEverything) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2
  namespace: metallb-system
)"),
                                 "l2.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.l2_advertisements.size(), 1u);
  const L2Advertisement& a = r.objects.l2_advertisements[0];
  EXPECT_TRUE(a.ip_address_pools.empty());
  EXPECT_TRUE(a.ip_address_pool_selectors.empty());
  EXPECT_TRUE(a.node_selectors.empty());
  EXPECT_TRUE(a.interfaces.empty());
}

TEST(L2Advertisement, FullSpec) {
  const LoadResult r = load_text(yaml(kDesignNodeConfig) + "---\n" + yaml(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: vips
  labels: {exposure: public}
spec:
  addresses: [203.0.113.0/24]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2
spec:
  ipAddressPools: [vips, later]
  ipAddressPoolSelectors:
    - matchLabels: {exposure: public}
  nodeSelectors:
    - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [edge-1]}
  serviceSelectors:
    - matchLabels: {app: web}
  interfaces: [uplink, eth9]
  preferredNodeSelectors: []
)"),
                                 "all.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const L2Advertisement& a = r.objects.l2_advertisements.at(0);
  EXPECT_EQ(a.ip_address_pools, (std::vector<std::string>{"vips", "later"}));
  ASSERT_EQ(a.ip_address_pool_selectors.size(), 1u);
  EXPECT_TRUE(a.ip_address_pool_selectors[0].matches(r.objects.pools.at(0).meta.labels));
  ASSERT_EQ(a.node_selectors.size(), 1u);
  EXPECT_EQ(a.node_selectors[0].str(), "kubernetes.io/hostname in (edge-1)");
  ASSERT_EQ(a.service_selectors.size(), 1u);
  EXPECT_EQ(a.interfaces, (std::vector<std::string>{"uplink", "eth9"}));
  ASSERT_EQ(r.warnings.size(), 3u) << dump(r);
  EXPECT_EQ(r.warnings[0].line, 51);
  EXPECT_EQ(r.warnings[0].message,
            "spec.preferredNodeSelectors: not supported by this version of Portico; ignored");
  EXPECT_EQ(r.warnings[1].message,
            "spec.ipAddressPools: pool \"later\" is not defined; it is ignored until it is");
  EXPECT_EQ(r.warnings[1].object, "L2Advertisement/default/l2");
  EXPECT_EQ(r.warnings[2].message,
            "spec.interfaces: no interface named \"eth9\" in the NodeConfig; nothing is announced "
            "on it");
}

TEST(L2Advertisement, Errors) {
  const char* const header = R"(
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: l2
)";
  run_cases(header,
            {
                {"duplicate pool", "spec:\n  ipAddressPools: [a, b, a]\n", 6,
                 "spec.ipAddressPools[2]: Duplicate value: \"a\" (also spec.ipAddressPools[0])"},
                {"interfaces not a list", "spec:\n  interfaces: uplink\n", 6,
                 "spec.interfaces: Invalid value: \"uplink\": must be of type array"},
                {"node selector not a list", "spec:\n  nodeSelectors:\n    matchLabels: {a: b}\n",
                 6, "spec.nodeSelectors: Invalid value: \"object\": must be of type array"},
                // yaml-cpp gives an empty item no position of its own: the list's line is used.
                {"selector item null", "spec:\n  nodeSelectors:\n    -\n", 6,
                 "spec.nodeSelectors[0]: Invalid value: null: must be of type object"},
                {"spec a list", "spec: []\n", 5,
                 "spec: Invalid value: \"array\": must be of type object"},
            });
}

// ================================= Service =================================

TEST(Service, LoadsLoadBalancerFields) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    metallb.io/address-pool: vips
spec:
  type: LoadBalancer
  loadBalancerClass: portico.io/lb
  loadBalancerIP: 203.0.113.10
  externalTrafficPolicy: Local
  selector: {app: web}
  clusterIPs: [10.96.0.10, "fd00::10"]
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: PreferDualStack
  sessionAffinity: None
  ports:
    - name: http
      port: 80
      targetPort: 8080
      nodePort: 30080
    - name: dns
      protocol: UDP
      port: 53
      targetPort: dns-udp
status:
  loadBalancer:
    ingress:
      - ip: 203.0.113.10
      - ip: "2001:db8:200::10"
)"),
                                 "svc.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  const Service& s = r.objects.services.at(0);
  EXPECT_EQ(s.meta.namespace_, "shop");
  EXPECT_EQ(s.meta.annotations.at("metallb.io/address-pool"), "vips");
  EXPECT_EQ(s.type, "LoadBalancer");
  EXPECT_EQ(s.load_balancer_class, std::optional<std::string>("portico.io/lb"));
  EXPECT_EQ(s.load_balancer_ip, "203.0.113.10");
  EXPECT_EQ(s.external_traffic_policy, "Local");
  EXPECT_EQ(s.selector, (Labels{{"app", "web"}}));
  EXPECT_EQ(s.cluster_ips, (std::vector<std::string>{"10.96.0.10", "fd00::10"}));
  EXPECT_EQ(s.ip_families, (std::vector<IpFamily>{IpFamily::kIPv4, IpFamily::kIPv6}));
  EXPECT_EQ(s.ip_family_policy, IpFamilyPolicy::kPreferDualStack);
  EXPECT_TRUE(s.ip_family_policy_set);
  ASSERT_EQ(s.ports.size(), 2u);
  EXPECT_EQ(s.ports[0].name, "http");
  EXPECT_EQ(s.ports[0].protocol, "TCP");
  EXPECT_EQ(s.ports[0].port, 80);
  EXPECT_EQ(s.ports[0].target_port, "8080");
  EXPECT_EQ(s.ports[0].node_port, 30080);
  EXPECT_EQ(s.ports[1].protocol, "UDP");
  EXPECT_EQ(s.ports[1].target_port, "dns-udp");
  ASSERT_EQ(s.status_ingress.size(), 2u);
  EXPECT_EQ(s.status_ingress[0].str(), "203.0.113.10");
  EXPECT_EQ(s.status_ingress[1].str(), "2001:db8:200::10");
}

TEST(Service, DefaultsAndHeadless) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: plain
spec:
  ports: [{port: 443}]
---
apiVersion: v1
kind: Service
metadata:
  name: headless
spec:
  clusterIP: None
)"),
                                 "svc.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Service& s = r.objects.services.at(0);
  EXPECT_EQ(s.meta.namespace_, "default");
  EXPECT_EQ(s.type, "ClusterIP");
  EXPECT_FALSE(s.load_balancer_class.has_value());
  EXPECT_EQ(s.external_traffic_policy, "Cluster");
  EXPECT_TRUE(s.cluster_ips.empty());
  EXPECT_TRUE(s.ip_families.empty());
  EXPECT_FALSE(s.ip_family_policy_set);
  EXPECT_EQ(s.ports.at(0).protocol, "TCP");
  EXPECT_EQ(s.ports.at(0).target_port, "");
  EXPECT_EQ(r.objects.services.at(1).cluster_ips, std::vector<std::string>{"None"});
}

TEST(Service, Errors) {
  const char* const header = R"(
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
)";
  // Header lines 1-6; the case text starts at line 7.
  run_cases(
      header,
      {
          {"port not a number", "  ports:\n    - port: abc\n", 8,
           "spec.ports[0].port: Invalid value: \"abc\": must be of type integer"},
          {"port zero", "  ports:\n    - port: 0\n", 8,
           "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
          {"port too big", "  ports:\n    - port: 70000\n", 8,
           "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
          {"port missing", "  ports:\n    - name: x\n", 8, "spec.ports[0].port: Required value"},
          {"ports missing", "  selector: {a: b}\n", 5, "spec.ports: Required value"},
          {"protocol", "  ports:\n    - port: 80\n      protocol: ICMP\n", 9,
           "spec.ports[0].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", "
           "\"TCP\", \"UDP\""},
          {"names required with two ports", "  ports:\n    - port: 80\n    - port: 443\n", 9,
           "spec.ports[1].name: Required value"},
          {"duplicate port", "  ports:\n    - {name: a, port: 80}\n    - {name: b, port: 80}\n", 9,
           "spec.ports[1]: Duplicate value: \"80/TCP\" (also spec.ports[0])"},
          {"duplicate port name",
           "  ports:\n    - {name: a, port: 80}\n    - {name: a, port: 81}\n", 9,
           "spec.ports[1].name: Duplicate value: \"a\""},
          {"port name", "  ports:\n    - {name: HTTP, port: 80}\n", 8,
           "spec.ports[0].name: Invalid value: \"HTTP\": a lowercase RFC 1123 label"},
          {"target port name", "  ports:\n    - {port: 80, targetPort: \"8080\"}\n", 8,
           "spec.ports[0].targetPort: Invalid value: \"8080\": must contain at least one letter "
           "(a-z)"},
          {"target port range", "  ports:\n    - {port: 80, targetPort: 65536}\n", 8,
           "spec.ports[0].targetPort: Invalid value: 65536: must be between 0 and 65535, "
           "inclusive"},
          {"target port type", "  ports:\n    - {port: 80, targetPort: [1]}\n", 8,
           "spec.ports[0].targetPort: Invalid value: \"array\": must be an integer or a string"},
          {"traffic policy", "  ports: [{port: 80}]\n  externalTrafficPolicy: Global\n", 8,
           "spec.externalTrafficPolicy: Unsupported value: \"Global\": supported values: "
           "\"Cluster\", \"Local\""},
          {"traffic policy lower case", "  ports: [{port: 80}]\n  externalTrafficPolicy: local\n",
           8, "Unsupported value: \"local\""},
          {"three families", "  ports: [{port: 80}]\n  ipFamilies: [IPv4, IPv6, IPv4]\n", 8,
           "spec.ipFamilies: Too many: 3: must have at most 2 items"},
          {"duplicate family", "  ports: [{port: 80}]\n  ipFamilies:\n    - IPv6\n    - IPv6\n", 10,
           "spec.ipFamilies[1]: Duplicate value: \"IPv6\""},
          {"unknown family", "  ports: [{port: 80}]\n  ipFamilies: [IPv5]\n", 8,
           "spec.ipFamilies[0]: Unsupported value: \"IPv5\""},
          {"single stack with two families",
           "  ports: [{port: 80}]\n  ipFamilies: [IPv4, IPv6]\n  ipFamilyPolicy: SingleStack\n", 9,
           "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be RequireDualStack or "
           "PreferDualStack when multiple IP families are specified"},
          {"policy", "  ports: [{port: 80}]\n  ipFamilyPolicy: DualStack\n", 8,
           "spec.ipFamilyPolicy: Unsupported value: \"DualStack\""},
          {"cluster IP", "  ports: [{port: 80}]\n  clusterIP: 10.96.0.300\n", 8,
           "spec.clusterIP: Invalid value: \"10.96.0.300\": must be a valid IP address"},
          {"cluster IPs disagree",
           "  ports: [{port: 80}]\n  clusterIP: 10.96.0.1\n  clusterIPs: [10.96.0.2]\n", 9,
           "spec.clusterIPs[0]: Invalid value: \"10.96.0.2\": must be same as spec.clusterIP"},
          {"cluster IPs same family",
           "  ports: [{port: 80}]\n  clusterIPs:\n    - 10.96.0.1\n    - 10.96.0.2\n", 10,
           "may specify no more than one IP for each IP family"},
          {"family and cluster IP disagree",
           "  ports: [{port: 80}]\n  clusterIPs: [10.96.0.1]\n  ipFamilies: [IPv6]\n", 9,
           "spec.ipFamilies[0]: Invalid value: \"IPv6\": does not match the family of "
           "spec.clusterIPs[0] (10.96.0.1)"},
          {"ingress IP",
           "  ports: [{port: 80}]\nstatus:\n  loadBalancer:\n    ingress:\n      - ip: 203.0.113\n",
           11,
           "status.loadBalancer.ingress[0].ip: Invalid value: \"203.0.113\": must be a valid IP"},
          {"selector value", "  ports: [{port: 80}]\n  selector:\n    app: 1.10\n", 9,
           "spec.selector.app: Invalid value: 1.10: must be of type string"},
          {"ports a map", "  ports:\n    port: 80\n", 7,
           "spec.ports: Invalid value: \"object\": must be of type array"},
      });
  run_cases(
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n",
      {
          {"type", "  ports: [{port: 80}]\n  type: Balancer\n", 7,
           "spec.type: Unsupported value: \"Balancer\": supported values: \"ClusterIP\", "
           "\"ExternalName\", \"LoadBalancer\", \"NodePort\""},
          {"class needs LoadBalancer", "  ports: [{port: 80}]\n  loadBalancerClass: x.io/lb\n", 7,
           "spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"},
          {"traffic policy needs external access",
           "  ports: [{port: 80}]\n  externalTrafficPolicy: Local\n", 7,
           "spec.externalTrafficPolicy: Invalid value: \"Local\": may only be set for "
           "externally-accessible services"},
          {"node port needs NodePort", "  ports: [{port: 80, nodePort: 30000}]\n", 6,
           "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
      });
  expect_error(
      "DNS-1035 name",
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\nspec:\n  ports: [{port: 80}]\n", 4,
      "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of");
}

// ============================== EndpointSlice ==============================

TEST(EndpointSlice, LoadsEndpointsAndPorts) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: shop
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
  - addresses: [198.51.100.21]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: node-a
    hostname: pod-1
    zone: zone-a
    targetRef: {kind: Pod, name: web-1}
  - addresses: [198.51.100.22]
ports:
  - name: http
    port: 8080
    appProtocol: http
)"),
                                 "eps.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  const EndpointSlice& e = r.objects.endpoint_slices.at(0);
  EXPECT_EQ(e.service_name, "web");
  EXPECT_EQ(e.address_type, "IPv4");
  ASSERT_EQ(e.endpoints.size(), 2u);
  EXPECT_EQ(e.endpoints[0].addresses, std::vector<std::string>{"198.51.100.21"});
  EXPECT_EQ(e.endpoints[0].conditions.ready, std::optional<bool>(true));
  EXPECT_EQ(e.endpoints[0].conditions.terminating, std::optional<bool>(false));
  EXPECT_EQ(e.endpoints[0].node_name, "node-a");
  EXPECT_EQ(e.endpoints[0].hostname, "pod-1");
  EXPECT_EQ(e.endpoints[0].zone, "zone-a");
  EXPECT_FALSE(e.endpoints[1].conditions.ready.has_value());
  ASSERT_EQ(e.ports.size(), 1u);
  EXPECT_EQ(e.ports[0].name, "http");
  EXPECT_EQ(e.ports[0].protocol, "TCP");
  EXPECT_EQ(e.ports[0].port, 8080);
  EXPECT_EQ(e.ports[0].app_protocol, "http");
}

TEST(EndpointSlice, Errors) {
  const char* const header = R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
)";
  // Header lines 1-4; the case text starts at line 5.
  std::string many = "addressType: IPv4\nendpoints:\n  - addresses: [";
  for (int i = 0; i < 101; ++i) many += (i ? ", 198.51.100." : "198.51.100.") + std::to_string(i);
  many += "]\n";
  run_cases(
      header,
      {
          {"address type missing", "endpoints: []\n", 1, "addressType: Required value"},
          {"address type", "addressType: IPv5\n", 5,
           "addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", "
           "\"IPv6\""},
          {"address family", "addressType: IPv6\nendpoints:\n  - addresses: [198.51.100.1]\n", 7,
           "endpoints[0].addresses[0]: Invalid value: \"198.51.100.1\": must be a valid IPv6 "
           "address"},
          {"address junk",
           "addressType: IPv4\nendpoints:\n  - addresses:\n      - 198.51.100.1\n      - x\n", 9,
           "endpoints[0].addresses[1]: Invalid value: \"x\": must be a valid IPv4 address"},
          {"FQDN", "addressType: FQDN\nendpoints:\n  - addresses: [Bad_Name]\n", 7,
           "endpoints[0].addresses[0]: Invalid value: \"Bad_Name\": a lowercase RFC 1123 "
           "subdomain"},
          {"no addresses", "addressType: IPv4\nendpoints:\n  - conditions: {ready: true}\n", 7,
           "endpoints[0].addresses: Required value: must contain at least 1 address"},
          {"ready not a bool",
           "addressType: IPv4\nendpoints:\n  - addresses: [198.51.100.1]\n    conditions: {ready: "
           "1}\n",
           8, "endpoints[0].conditions.ready: Invalid value: 1: must be of type boolean"},
          {"port", "addressType: IPv4\nports:\n  - port: 0\n", 7,
           "ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
          {"duplicate port names",
           "addressType: IPv4\nports:\n  - {name: a, port: 1}\n  - {name: a, port: 2}\n", 8,
           "ports[1].name: Duplicate value: \"a\""},
          {"too many addresses", many.c_str(), 7,
           "endpoints[0].addresses: Too many: 101: must have at most 100 items"},
      });
}

}  // namespace
}  // namespace config
