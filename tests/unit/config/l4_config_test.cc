// L4 settings of the NodeConfig (spec.loadBalancer maglevTableSize, connectionsPerLcore,
// timeouts; spec.neighbors), the duration syntax they use (config/duration.h), and the
// portico.io/forwarding-mode annotation on Services. Every error is checked with its line.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/duration.h"
#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::find;

std::string yaml(const char* text) { return text[0] == '\n' ? text + 1 : text; }

// ================================ durations ================================

TEST(Duration, GoSyntaxInWholeMilliseconds) {
  struct Case {
    const char* text;
    uint64_t ms;
  };
  for (const Case& c : {
           Case{"500ms", 500},
           Case{"30s", 30000},
           Case{"15m", 900000},
           Case{"1h30m", 5400000},
           Case{"2h45m30.5s", 9930500},
           Case{"1.5s", 1500},
           Case{".5s", 500},
           Case{"5.s", 5000},
           Case{"+5s", 5000},
           Case{"1000us", 1},
           Case{"1000\xC2\xB5s", 1},  // micro sign
           Case{"1000\xCE\xBCs", 1},  // Greek mu
           Case{"2000000ns", 2},
           Case{"1m0s", 60000},
           Case{"0", 0},
           Case{"0s", 0},
           Case{"30", 30000},  // a bare integer is seconds
           Case{"0030", 30000},
           Case{"2562047h", 9223369200000},  // Go's largest whole hour
       }) {
    uint64_t ms = 12345;
    EXPECT_TRUE(parse_duration_ms(c.text, &ms)) << c.text;
    EXPECT_EQ(ms, c.ms) << c.text;
  }
}

TEST(Duration, RefusesWhatGoRefusesAndSubMilliseconds) {
  for (const char* text : {"",
                           "s",
                           "ms",
                           ".s",
                           "1x",
                           "5 s",
                           " 5s",
                           "5s ",
                           "1h-5m",
                           "-5s",
                           "-0",
                           "1.5ms",
                           "1500us",
                           "1ns",
                           "1e3s",
                           "2562048h",
                           "99999999999999999999s",
                           "99999999999999999999",
                           "1S",
                           "1H",
                           "1sec",
                           "1d",
                           "+",
                           "+30"}) {
    uint64_t ms = 12345;
    EXPECT_FALSE(parse_duration_ms(text, &ms)) << '"' << text << '"';
    EXPECT_EQ(ms, 12345u) << text;  // unchanged
  }
}

TEST(Duration, FormatRoundTrips) {
  EXPECT_EQ(format_duration_ms(0), "0s");
  EXPECT_EQ(format_duration_ms(500), "500ms");
  EXPECT_EQ(format_duration_ms(1500), "1s500ms");
  EXPECT_EQ(format_duration_ms(5400000), "1h30m");
  EXPECT_EQ(format_duration_ms(604800000), "168h");
  for (uint64_t ms : {1ULL, 999ULL, 61001ULL, 3600000ULL, 86399999ULL, 9223369200000ULL}) {
    uint64_t back = 0;
    ASSERT_TRUE(parse_duration_ms(format_duration_ms(ms), &back)) << format_duration_ms(ms);
    EXPECT_EQ(back, ms);
  }
}

// ================================ NodeConfig ================================

// Lines 1-8; a case's text starts at line 9 inside spec.
const char* const kNodeHeader = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1
spec:
  interfaces:
    - name: uplink
      device: net_null0
)";

TEST(L4NodeConfig, Defaults) {
  const LoadResult r = load_text(yaml(kNodeHeader), "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const NodeConfig& n = r.objects.node_configs.at(0);
  EXPECT_EQ(n.load_balancer.maglev_table_size, 65537u);
  EXPECT_EQ(n.load_balancer.connections_per_lcore, 262144u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_syn_ms, 30000u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_established_ms, 900000u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_closing_ms, 60000u);
  EXPECT_EQ(n.load_balancer.timeouts.udp_ms, 60000u);
  EXPECT_EQ(n.neighbors.capacity, 4096u);
  EXPECT_EQ(n.neighbors.reachable_ms, 30000u);
  EXPECT_EQ(n.neighbors.retransmit_ms, 1000u);
  EXPECT_EQ(n.neighbors.max_probes, 3u);
}

TEST(L4NodeConfig, EveryField) {
  const LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
  loadBalancer:
    snatAddresses: ["198.51.100.11"]
    maglevTableSize: 131071
    connectionsPerLcore: 1048576
    timeouts:
      tcpSyn: 5s
      tcpEstablished: 1h30m
      tcpClosing: "90"
      udp: 45
  neighbors:
    capacity: 16
    reachableTime: 2m
    retransmitTime: 250ms
    maxProbes: 10
)"),
                                 "node.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  const NodeConfig& n = r.objects.node_configs.at(0);
  ASSERT_EQ(n.load_balancer.snat_addresses.size(), 1u);
  EXPECT_EQ(n.load_balancer.maglev_table_size, 131071u);
  EXPECT_EQ(n.load_balancer.connections_per_lcore, 1048576u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_syn_ms, 5000u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_established_ms, 5400000u);
  EXPECT_EQ(n.load_balancer.timeouts.tcp_closing_ms, 90000u);
  EXPECT_EQ(n.load_balancer.timeouts.udp_ms, 45000u);
  EXPECT_EQ(n.neighbors.capacity, 16u);
  EXPECT_EQ(n.neighbors.reachable_ms, 120000u);
  EXPECT_EQ(n.neighbors.retransmit_ms, 250u);
  EXPECT_EQ(n.neighbors.max_probes, 10u);
}

TEST(L4NodeConfig, Limits) {
  struct Case {
    const char* text;
    uint32_t maglev, connections;
  };
  for (const Case& c :
       {Case{"maglevTableSize: 101\n    connectionsPerLcore: 1", 101, 1},
        Case{"maglevTableSize: 1000003\n    connectionsPerLcore: 16777216", 1000003, 16777216}}) {
    const LoadResult r =
        load_text(yaml(kNodeHeader) + "  loadBalancer:\n    " + c.text + "\n", "node.yaml");
    ASSERT_TRUE(r.ok()) << c.text << "\n" << dump(r);
    EXPECT_EQ(r.objects.node_configs.at(0).load_balancer.maglev_table_size, c.maglev);
    EXPECT_EQ(r.objects.node_configs.at(0).load_balancer.connections_per_lcore, c.connections);
  }
  const LoadResult week = load_text(
      yaml(kNodeHeader) + "  loadBalancer:\n    timeouts: {tcpEstablished: 168h}\n", "node.yaml");
  ASSERT_TRUE(week.ok()) << dump(week);
  EXPECT_EQ(week.objects.node_configs.at(0).load_balancer.timeouts.tcp_established_ms, 604800000u);
}

struct ErrorCase {
  const char* name;
  const char* text;  // appended to kNodeHeader
  int line;
  const char* message;  // exact
};

TEST(L4NodeConfig, Errors) {
  const std::vector<ErrorCase> cases = {
      {"maglev not prime", "  loadBalancer:\n    maglevTableSize: 65536\n", 10,
       "spec.loadBalancer.maglevTableSize: Invalid value: 65536: must be a prime number (the size "
       "of a Maglev lookup table), e.g. 65537"},
      {"maglev too small", "  loadBalancer:\n    maglevTableSize: 97\n", 10,
       "spec.loadBalancer.maglevTableSize: Invalid value: 97: must be between 101 and 1000003, "
       "inclusive"},
      {"maglev too big", "  loadBalancer:\n    maglevTableSize: 1000033\n", 10,
       "spec.loadBalancer.maglevTableSize: Invalid value: 1000033: must be between 101 and "
       "1000003, inclusive"},
      {"maglev quoted", "  loadBalancer:\n    maglevTableSize: \"65537\"\n", 10,
       "spec.loadBalancer.maglevTableSize: Invalid value: \"65537\": must be of type integer"},
      {"no connections", "  loadBalancer:\n    connectionsPerLcore: 0\n", 10,
       "spec.loadBalancer.connectionsPerLcore: Invalid value: 0: must be between 1 and "
       "16777216, inclusive"},
      {"too many connections", "  loadBalancer:\n    connectionsPerLcore: 16777217\n", 10,
       "spec.loadBalancer.connectionsPerLcore: Invalid value: 16777217: must be between 1 and "
       "16777216, inclusive"},
      {"duration syntax", "  loadBalancer:\n    timeouts:\n      tcpSyn: 30 s\n", 11,
       "spec.loadBalancer.timeouts.tcpSyn: Invalid value: \"30 s\": must be a duration such as "
       "\"500ms\", \"30s\", \"15m\" or \"1h30m\" (whole milliseconds), or an integer number of "
       "seconds"},
      {"duration in days", "  loadBalancer:\n    timeouts:\n      tcpEstablished: 1d\n", 11,
       "spec.loadBalancer.timeouts.tcpEstablished: Invalid value: \"1d\": must be a duration"},
      {"sub-millisecond", "  loadBalancer:\n    timeouts:\n      udp: 1500us\n", 11,
       "spec.loadBalancer.timeouts.udp: Invalid value: \"1500us\": must be a duration"},
      {"zero duration", "  loadBalancer:\n    timeouts:\n      tcpClosing: 0s\n", 11,
       "spec.loadBalancer.timeouts.tcpClosing: Invalid value: \"0s\": must be greater than 0 and "
       "at most 168h (7 days)"},
      {"zero seconds", "  loadBalancer:\n    timeouts:\n      udp: 0\n", 11,
       "spec.loadBalancer.timeouts.udp: Invalid value: 0: must be greater than 0 and at most 168h "
       "(7 days)"},
      {"negative", "  loadBalancer:\n    timeouts:\n      udp: -1s\n", 11,
       "spec.loadBalancer.timeouts.udp: Invalid value: \"-1s\": must be greater than 0 and at "
       "most 168h (7 days)"},
      {"negative seconds", "  loadBalancer:\n    timeouts:\n      udp: -5\n", 11,
       "spec.loadBalancer.timeouts.udp: Invalid value: -5: must be greater than 0"},
      {"over a week", "  loadBalancer:\n    timeouts:\n      tcpEstablished: 168h1ms\n", 11,
       "spec.loadBalancer.timeouts.tcpEstablished: Invalid value: \"168h1ms\": must be greater "
       "than 0 and at most 168h (7 days)"},
      {"over a week in seconds", "  loadBalancer:\n    timeouts:\n      tcpEstablished: 604801\n",
       11,
       "spec.loadBalancer.timeouts.tcpEstablished: Invalid value: 604801: must be greater than 0 "
       "and at most 168h (7 days)"},
      {"float seconds", "  loadBalancer:\n    timeouts:\n      tcpSyn: 1.5\n", 11,
       "spec.loadBalancer.timeouts.tcpSyn: Invalid value: 1.5: must be a duration"},
      {"boolean", "  loadBalancer:\n    timeouts:\n      tcpSyn: yes\n", 11,
       "spec.loadBalancer.timeouts.tcpSyn: Invalid value: yes: must be a duration"},
      {"timeouts not a mapping", "  loadBalancer:\n    timeouts: 30s\n", 10,
       "spec.loadBalancer.timeouts: Invalid value: \"30s\": must be of type object"},
      {"neighbors not a mapping", "  neighbors: [1]\n", 9,
       "spec.neighbors: Invalid value: \"array\": must be of type object"},
      {"neighbor capacity", "  neighbors:\n    capacity: 8\n", 10,
       "spec.neighbors.capacity: Invalid value: 8: must be between 16 and 1048576, inclusive"},
      {"neighbor capacity too big", "  neighbors:\n    capacity: 1048577\n", 10,
       "spec.neighbors.capacity: Invalid value: 1048577: must be between 16 and 1048576, "
       "inclusive"},
      {"probes", "  neighbors:\n    maxProbes: 11\n", 10,
       "spec.neighbors.maxProbes: Invalid value: 11: must be between 1 and 10, inclusive"},
      {"no probes", "  neighbors:\n    maxProbes: 0\n", 10,
       "spec.neighbors.maxProbes: Invalid value: 0: must be between 1 and 10, inclusive"},
      {"reachable time", "  neighbors:\n    reachableTime: fast\n", 10,
       "spec.neighbors.reachableTime: Invalid value: \"fast\": must be a duration"},
      {"retransmit time", "  neighbors:\n    retransmitTime: 0ms\n", 10,
       "spec.neighbors.retransmitTime: Invalid value: \"0ms\": must be greater than 0"},
  };
  for (const ErrorCase& c : cases) {
    const LoadResult r = load_text(yaml(kNodeHeader) + c.text, "in.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << c.name << "\n" << dump(r);
    const Diagnostic& e = r.errors[0];
    EXPECT_EQ(e.file, "in.yaml") << c.name;
    EXPECT_EQ(e.line, c.line) << c.name << "\n" << dump(r);
    EXPECT_EQ(e.object, "NodeConfig/edge-1") << c.name;
    EXPECT_EQ(e.message.substr(0, std::string(c.message).size()), c.message) << c.name << "\n"
                                                                             << dump(r);
  }
}

TEST(L4NodeConfig, ErrorKeepsTheDefault) {
  const LoadResult r = load_text(
      yaml(kNodeHeader) + "  loadBalancer:\n    maglevTableSize: 1000\n    timeouts: {udp: x}\n",
      "in.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  const NodeConfig& n = r.objects.node_configs.at(0);
  EXPECT_EQ(n.load_balancer.maglev_table_size, 65537u);
  EXPECT_EQ(n.load_balancer.timeouts.udp_ms, 60000u);
}

TEST(L4NodeConfig, UnknownKeysAreWarnings) {
  const LoadResult r = load_text(yaml(kNodeHeader) + yaml(R"(
  loadBalancer:
    maglevTablesize: 65537
    timeouts:
      tcpFin: 10s
  neighbors:
    gcInterval: 1m
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 3u) << dump(r);
  EXPECT_EQ(r.warnings[0].message, "unknown field \"spec.loadBalancer.maglevTablesize\"");
  EXPECT_EQ(r.warnings[0].line, 10);
  EXPECT_EQ(r.warnings[1].message, "unknown field \"spec.loadBalancer.timeouts.tcpFin\"");
  EXPECT_EQ(r.warnings[1].line, 12);
  EXPECT_EQ(r.warnings[2].message, "unknown field \"spec.neighbors.gcInterval\"");
  EXPECT_EQ(r.warnings[2].line, 14);
}

// ========================= portico.io/forwarding-mode =========================

std::string service(const std::string& annotations, const std::string& spec) {
  return "apiVersion: v1\n"
         "kind: Service\n"
         "metadata:\n"
         "  name: web\n"
         "  namespace: demo\n" +
         annotations + spec;
}

const char* const kSpec = "spec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n";

TEST(ForwardingMode, AllowedValues) {
  for (const char* mode : {"nat", "dsr", "ipip"}) {
    const LoadResult r = load_text(
        service(std::string("  annotations:\n    portico.io/forwarding-mode: ") + mode + "\n",
                kSpec),
        "svc.yaml");
    EXPECT_TRUE(r.ok()) << mode << "\n" << dump(r);
    EXPECT_TRUE(r.warnings.empty()) << mode << "\n" << dump(r);
  }
}

TEST(ForwardingMode, OtherValuesAreRefusedAtTheAnnotationsLine) {
  struct Case {
    std::string annotations;
    std::string spec;
    int line;
    const char* shown;
  };
  for (const Case& c : {
           Case{"  annotations:\n    a.io/x: y\n    portico.io/forwarding-mode: DSR\n", kSpec, 8,
                "\"DSR\""},
           Case{"  annotations:\n    portico.io/forwarding-mode: \"\"\n", kSpec, 7, "\"\""},
           Case{"  annotations: {portico.io/forwarding-mode: tunnel}\n", kSpec, 6, "\"tunnel\""},
           // Checked even when the rest of the Service is wrong.
           Case{"  annotations:\n    portico.io/forwarding-mode: l2\n", "", 7, "\"l2\""},
           // ClusterIP Services too: the rule is about the annotation.
           Case{"  annotations:\n    portico.io/forwarding-mode: snat\n",
                "spec:\n  ports: [{port: 80}]\n", 7, "\"snat\""},
       }) {
    const LoadResult r = load_text(service(c.annotations, c.spec), "svc.yaml");
    const Diagnostic* e = find(r.errors, "portico.io/forwarding-mode");
    ASSERT_NE(e, nullptr) << c.annotations << dump(r);
    EXPECT_EQ(e->file, "svc.yaml");
    EXPECT_EQ(e->line, c.line) << c.annotations << dump(r);
    EXPECT_EQ(e->object, "Service/demo/web");
    EXPECT_EQ(e->message, std::string("metadata.annotations[portico.io/forwarding-mode]: "
                                      "Unsupported value: ") +
                              c.shown + ": supported values: \"dsr\", \"ipip\", \"nat\"");
  }
}

}  // namespace
}  // namespace config
