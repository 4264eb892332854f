// control/metrics render(): golden exposition text, escaping, and the format's structural rules
// (every family once, HELP and TYPE before its samples, samples of a family together).
// PORTICO_UPDATE_GOLDEN=1 rewrites the golden file from the current output.
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "control/metrics.h"

namespace control::metrics {
namespace {

const std::string kGolden = std::string(PORTICO_SOURCE_ROOT) + "/tests/unit/metrics/testdata/";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = kGolden + name;
  if (std::getenv("PORTICO_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << text;
  }
  const std::string want = read_file(path);
  ASSERT_FALSE(want.empty()) << path << " is missing (PORTICO_UPDATE_GOLDEN=1 writes it)";
  EXPECT_EQ(text, want) << "differs from " << path;
}

uint64_t drop(nf::DropReason r) { return static_cast<uint64_t>(r); }

// Two lcores with distinct values in every kind of field, one port, two BGP peers (one with a
// name that needs escaping).
Values sample_values() {
  Values v;
  v.version = "1.2.3";
  v.tsc_hz = 2'000'000'000;
  v.generation = 7;
  v.last_reload_success = false;
  v.last_reload_timestamp_seconds = 1767225600.25;
  v.announce_failures = 3;
  for (unsigned id : {1u, 3u}) {
    LcoreValues l;
    l.lcore = id;
    auto& c = l.counters;
    c.rx = 1000 * id;
    c.tx = 900 * id;
    c.punted = 10 * id;
    c.from_kernel = 11 * id;
    c.announced = 2 * id;
    c.dropped[drop(nf::DropReason::kOtherHost)] = 5 * id;
    c.dropped[drop(nf::DropReason::kHandoffFull)] = id;
    c.replies[0] = 4 * id;  // arp
    c.replies[6] = 6 * id;  // l7_segment
    c.forwarded[0] = 700 * id;
    c.forwarded[3] = 650 * id;
    c.new_flows = 40 * id;
    c.stateless_flows = id;
    c.backend_gone = 2 * id;
    c.handoffs_out = 3 * id;
    c.handoffs_in = 4 * id;
    c.conns = 17 * id;
    c.expired = 20 * id;
    c.held = 5 * id;
    c.released = 4 * id;
    c.consumed = 9 * id;
    c.busy_cycles = 3'000'000'000ull * id;  // 1.5 s per id
    c.idle_cycles = 1'000'000'000ull * id;  // 0.5 s
    c.driver_cycles = 500'000'000ull * id;  // 0.25 s
    c.l7[0] = 12 * id;
    c.l7[lcore::kL7Counters - 1] = id;
    v.lcores.push_back(l);
  }
  v.ports.push_back({"uplink", 1001, 902, 150000, 120000, 1, 2, 3, 4});
  BgpPeerValues tor;
  tor.peer = "tor-1";
  tor.address = "198.51.100.1";
  tor.state = "Established";
  tor.established_transitions = 1;
  tor.updates_sent = 5;
  tor.updates_received = 2;
  tor.prefixes_advertised = 4;
  tor.prefixes_received = 9;
  v.bgp_peers.push_back(tor);
  BgpPeerValues odd;
  odd.peer = "we\"ird\\name\nx";
  odd.address = "2001:db8:100::1";
  odd.state = "Active";
  odd.notifications_sent = 1;
  odd.notifications_received = 2;
  v.bgp_peers.push_back(odd);
  return v;
}

TEST(MetricsRender, Golden) { expect_golden("render.golden", render(sample_values())); }

TEST(MetricsRender, GoldenEmpty) {
  // A node without workers' values, ports or peers still names every family (HELP/TYPE).
  Values v;
  v.version = "0.1.0";
  expect_golden("render_empty.golden", render(v));
}

TEST(MetricsRender, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value("a\"b"), "a\\\"b");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("a\nb"), "a\\nb");
  EXPECT_EQ(escape_label_value(""), "");
  const std::string text = render(sample_values());
  EXPECT_NE(text.find("portico_bgp_session_up{peer=\"we\\\"ird\\\\name\\nx\",address="
                      "\"2001:db8:100::1\"} 0\n"),
            std::string::npos);
}

TEST(MetricsRender, SecondsFromCycles) {
  const std::string text = render(sample_values());
  EXPECT_NE(text.find("portico_lcore_busy_seconds_total{lcore=\"1\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("portico_lcore_idle_seconds_total{lcore=\"3\"} 1.5\n"), std::string::npos);
  EXPECT_NE(text.find("portico_lcore_driver_seconds_total{lcore=\"3\"} 0.75\n"), std::string::npos);
  Values no_clock = sample_values();
  no_clock.tsc_hz = 0;  // unknown clock: no seconds rather than a division by zero
  EXPECT_EQ(render(no_clock).find("_seconds_total{"), std::string::npos);
}

TEST(MetricsRender, BgpStateIsOneHot) {
  const std::string text = render(sample_values());
  int ones = 0, zeros = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("portico_bgp_session_state{peer=\"tor-1\"", 0) != 0) continue;
    if (line.ends_with(" 1")) {
      ++ones;
      EXPECT_NE(line.find("state=\"Established\""), std::string::npos) << line;
    } else {
      ++zeros;
    }
  }
  EXPECT_EQ(ones, 1);
  EXPECT_EQ(zeros, static_cast<int>(std::size(kBgpStates)) - 1);
}

// The rules a Prometheus parser enforces: a family's HELP and TYPE once, before its samples;
// samples of one family contiguous; counters end in _total; names and values well formed.
TEST(MetricsRender, KubernetesFamiliesOnlyWhenConfigured) {
  Values v;
  EXPECT_EQ(render(v).find("portico_k8s_"), std::string::npos);
  v.k8s.enabled = true;
  v.k8s.kinds.push_back({"Service", "watching", true, 2, 7, 1});
  v.k8s.kinds.push_back({"BGPPeer", "not-installed", false, 0, 0, 0});
  v.k8s.leading = true;
  v.k8s.leader_transitions = 3;
  v.k8s.status_written = 12;
  v.k8s.objects_rejected = 1;
  const std::string text = render(v);
  for (const char* line : {
           "portico_k8s_informer_state{kind=\"Service\",state=\"watching\"} 1",
           "portico_k8s_informer_state{kind=\"Service\",state=\"backoff\"} 0",
           "portico_k8s_informer_state{kind=\"BGPPeer\",state=\"not-installed\"} 1",
           "portico_k8s_informer_synced{kind=\"Service\"} 1",
           "portico_k8s_informer_synced{kind=\"BGPPeer\"} 0",
           "portico_k8s_informer_relists_total{kind=\"Service\"} 2",
           "portico_k8s_informer_watch_restarts_total{kind=\"Service\"} 7",
           "portico_k8s_informer_errors_total{kind=\"Service\"} 1",
           "portico_k8s_leader 1",
           "portico_k8s_leader_transitions_total 3",
           "portico_k8s_status_writes_total{result=\"written\"} 12",
           "portico_k8s_objects_rejected_total 1",
       }) {
    EXPECT_NE(text.find(std::string("\n") + line + "\n"), std::string::npos) << line;
  }
  // Exactly one state per kind.
  size_t ones = 0;
  for (size_t p = 0; (p = text.find("portico_k8s_informer_state{", p)) != std::string::npos; ++p)
    ones += text.compare(text.find('}', p) + 1, 3, " 1\n") == 0;
  EXPECT_EQ(ones, 2u);
}

TEST(MetricsRender, ExpositionStructure) {
  const std::string text = render(sample_values());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::set<std::string> seen;
  std::map<std::string, std::string> types;
  std::string current;
  std::istringstream in(text);
  int samples = 0;
  for (std::string line; std::getline(in, line);) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const std::string name = line.substr(7, line.find(' ', 7) - 7);
      ASSERT_TRUE(seen.insert(name).second) << "family twice: " << name;
      current = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const std::string name = rest.substr(0, rest.find(' '));
      const std::string type = rest.substr(rest.find(' ') + 1);
      ASSERT_EQ(name, current) << "TYPE without its HELP: " << line;
      ASSERT_TRUE(type == "counter" || type == "gauge") << line;
      EXPECT_EQ(type == "counter", name.ends_with("_total")) << name;
      types[name] = type;
      continue;
    }
    const std::string name = line.substr(0, line.find_first_of("{ "));
    ASSERT_EQ(name, current) << "sample outside its family: " << line;
    ASSERT_EQ(name.rfind("portico_", 0), 0u) << name;
    const std::string value = line.substr(line.rfind(' ') + 1);
    char* end = nullptr;
    std::strtod(value.c_str(), &end);
    EXPECT_EQ(*end, '\0') << "value: " << line;
    ++samples;
  }
  EXPECT_EQ(types.size(), seen.size());
  EXPECT_GT(samples, 100);
}

TEST(MetricsRender, TrafficPerVipServiceAndBackend) {
  Values v = sample_values();
  EXPECT_EQ(render(v).find("portico_vip_"), std::string::npos);  // nothing configured: silent
  v.vips.push_back({"203.0.113.20", {10, 1000, 8, 4000, 2}});
  v.services.push_back({"demo/web", "203.0.113.20", "TCP", 80, {10, 1000, 8, 4000, 2}});
  v.backends.push_back(
      {"demo/web", "203.0.113.20", 80, "198.51.100.21:8080", true, {10, 1000, 8, 4000, 2}});
  const std::string text = render(v);
  for (const char* line : {
           "# TYPE portico_vip_packets_total counter\n",
           "portico_vip_packets_total{vip=\"203.0.113.20\",direction=\"in\"} 10\n",
           "portico_vip_bytes_total{vip=\"203.0.113.20\",direction=\"out\"} 4000\n",
           "portico_vip_connections_total{vip=\"203.0.113.20\"} 2\n",
           "portico_service_packets_total{service=\"demo/web\",vip=\"203.0.113.20\","
           "protocol=\"TCP\",port=\"80\",direction=\"out\"} 8\n",
           "portico_backend_connections_total{service=\"demo/web\",vip=\"203.0.113.20\","
           "port=\"80\",backend=\"198.51.100.21:8080\"} 2\n",
           "portico_backend_draining{service=\"demo/web\",vip=\"203.0.113.20\",port=\"80\","
           "backend=\"198.51.100.21:8080\"} 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace control::metrics
