// Unit tests of the IPAM allocator (control/ipam.h): MetalLB's allocation rules as tables.
//
// Each table row builds pools and Services in C++ (no YAML), runs one allocation pass, and states
// for every Service its state, addresses, pool and the exact events. The rows follow
// shared/reference/metallb.md §2.1 and §3 (and §8 items 1-14): pool order and autoAssign,
// avoidBuggyIPs, serviceAllocation, requests by annotation and spec, loadBalancerClass,
// dual-stack, sharing, and stability across passes (previous assignments, status ingress).
// The TESTs after the table cover multi-pass scenarios, pool status, determinism and robustness.
#include "control/ipam.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/ip.h"
#include "config/objects.h"

namespace control::ipam {
namespace {

using config::IpAddress;
using config::IpFamily;
using config::IpFamilyPolicy;

constexpr uint64_t kInt64Max = INT64_MAX;

IpAddress ip(const std::string& text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << "bad address in test: " << text;
  return a.value_or(IpAddress{});
}

std::vector<IpAddress> ips(const std::vector<std::string>& texts) {
  std::vector<IpAddress> out;
  for (const auto& t : texts) out.push_back(ip(t));
  return out;
}

// ---- builders ----

class Pool {
 public:
  Pool(std::string name, const std::vector<std::string>& entries) {
    p_.meta.name = std::move(name);
    p_.meta.namespace_ = "metallb-system";
    for (const auto& e : entries) {
      std::string error;
      auto range = config::IpRange::parse_pool_entry(e, &error);
      EXPECT_TRUE(range.has_value()) << e << ": " << error;
      p_.addresses.push_back({e, range.value_or(config::IpRange{})});
    }
  }
  Pool& manual() {  // autoAssign: false
    p_.auto_assign = false;
    return *this;
  }
  Pool& avoid_buggy_ips() {
    p_.avoid_buggy_ips = true;
    return *this;
  }
  Pool& priority(int p) {
    sa().priority = p;
    return *this;
  }
  Pool& pinned() {  // serviceAllocation present, every list empty
    sa();
    return *this;
  }
  Pool& namespaces(std::vector<std::string> ns) {
    sa().namespaces = std::move(ns);
    return *this;
  }
  Pool& namespace_selector(config::Labels labels) {
    sa().namespace_selectors.push_back({std::move(labels), {}});
    return *this;
  }
  Pool& service_selector(config::Labels labels) {
    sa().service_selectors.push_back({std::move(labels), {}});
    return *this;
  }
  operator config::IPAddressPool() const { return p_; }

 private:
  config::ServiceAllocation& sa() {
    if (!p_.service_allocation) p_.service_allocation.emplace();
    return *p_.service_allocation;
  }
  config::IPAddressPool p_;
};

class Svc {
 public:
  explicit Svc(const std::string& key) {
    const auto slash = key.find('/');
    s_.meta.namespace_ = key.substr(0, slash);
    s_.meta.name = key.substr(slash + 1);
    s_.type = "LoadBalancer";
    s_.ports = {{"http", "TCP", 80, "", 0}};
  }
  Svc& type(std::string t) {
    s_.type = std::move(t);
    return *this;
  }
  Svc& annotate(const std::string& k, std::string v) {
    s_.meta.annotations[k] = std::move(v);
    return *this;
  }
  Svc& pool(std::string name) { return annotate("metallb.io/address-pool", std::move(name)); }
  Svc& lb_ips(std::string list) { return annotate("metallb.io/loadBalancerIPs", std::move(list)); }
  Svc& share(std::string key) { return annotate("metallb.io/allow-shared-ip", std::move(key)); }
  Svc& label(const std::string& k, std::string v) {
    s_.meta.labels[k] = std::move(v);
    return *this;
  }
  Svc& lb_ip(std::string text) {
    s_.load_balancer_ip = std::move(text);
    return *this;
  }
  Svc& lb_class(std::string c) {
    s_.load_balancer_class = std::move(c);
    return *this;
  }
  Svc& ports(const std::vector<std::pair<std::string, uint16_t>>& ports) {
    s_.ports.clear();
    for (const auto& [proto, port] : ports) s_.ports.push_back({"", proto, port, "", 0});
    return *this;
  }
  Svc& local(config::Labels selector) {
    s_.external_traffic_policy = "Local";
    s_.selector = std::move(selector);
    return *this;
  }
  Svc& policy(IpFamilyPolicy p) {
    s_.ip_family_policy = p;
    s_.ip_family_policy_set = true;
    return *this;
  }
  Svc& families(std::vector<IpFamily> f) {
    s_.ip_families = std::move(f);
    return *this;
  }
  Svc& cluster_ips(std::vector<std::string> c) {
    s_.cluster_ips = std::move(c);
    return *this;
  }
  Svc& ingress(const std::vector<std::string>& addresses) {
    s_.status_ingress = ips(addresses);
    return *this;
  }
  operator config::Service() const { return s_; }

 private:
  config::Service s_;
};

config::Namespace ns(std::string name, config::Labels labels) {
  config::Namespace n;
  n.meta.name = std::move(name);
  n.meta.labels = std::move(labels);
  return n;
}

Assignment held(std::string pool, const std::vector<std::string>& addresses) {
  return {ips(addresses), std::move(pool)};
}

constexpr auto kV4 = IpFamily::kIPv4;
constexpr auto kV6 = IpFamily::kIPv6;
constexpr auto kSingle = IpFamilyPolicy::kSingleStack;
constexpr auto kPrefer = IpFamilyPolicy::kPreferDualStack;
constexpr auto kRequire = IpFamilyPolicy::kRequireDualStack;

// ---- expected events, spelled out as MetalLB prints them ----

Event allocated(const std::string& list) {
  return {"Normal", "IPAllocated", "Assigned IP " + list};
}
Event additional(const std::string& quoted_ip) {
  return {"Normal", "IPAllocated", "Assigned additional IP " + quoted_ip};
}
Event failed(const std::string& key, const std::string& why) {
  return {"Warning", "AllocationFailed", "Failed to allocate IP for \"" + key + "\": " + why};
}
Event cleared(const std::string& key, const std::string& why) {
  return {"Normal", "ClearAssignment",
          "current IP for \"" + key +
              "\" not allowed by config, will attempt for new IP assignment: " + why};
}
Event lb_failed(const std::string& why) {
  return {"Warning", "LoadBalancerFailed", "invalid requested loadbalancer IPs: " + why};
}
Event deprecated(const std::string& annotation) {
  return {"Warning", "deprecatedAnnotation", "Service uses deprecated annotation " + annotation};
}

struct Expect {
  ServiceKey key;
  ServiceState state = ServiceState::kIgnored;
  std::vector<std::string> ips;
  std::string pool;
  std::vector<Event> events;
};

Expect assigned(ServiceKey key, std::string pool, std::vector<std::string> addresses,
                std::vector<Event> events = {}) {
  return {std::move(key), ServiceState::kAssigned, std::move(addresses), std::move(pool),
          std::move(events)};
}
Expect pending(ServiceKey key, std::vector<Event> events) {
  return {std::move(key), ServiceState::kPending, {}, "", std::move(events)};
}
Expect ignored(ServiceKey key) { return {std::move(key), ServiceState::kIgnored, {}, "", {}}; }

std::string state_name(ServiceState s) {
  switch (s) {
    case ServiceState::kIgnored:
      return "ignored";
    case ServiceState::kAssigned:
      return "assigned";
    case ServiceState::kPending:
      return "pending";
  }
  return "?";
}

std::string dump(const std::vector<Event>& events) {
  std::string out;
  for (const auto& e : events) out += "  " + e.type + " " + e.reason + ": " + e.message + "\n";
  return out.empty() ? "  (none)\n" : out;
}

std::string dump(const Result& r) {
  std::ostringstream out;
  for (const auto& [key, s] : r.services) {
    out << key << " " << state_name(s.state);
    for (const auto& a : s.assignment.ips) out << " " << a.str();
    if (!s.assignment.pool.empty()) out << " pool=" << s.assignment.pool;
    out << "\n" << dump(s.events);
  }
  for (const auto& p : r.pools) {
    out << "pool " << p.name << " v4 " << p.assigned_ipv4 << "/" << p.available_ipv4 << " v6 "
        << p.assigned_ipv6 << "/" << p.available_ipv6 << "\n";
  }
  return out.str();
}

void expect_services(const Result& r, const std::vector<Expect>& expected) {
  EXPECT_EQ(r.services.size(), expected.size()) << dump(r);
  for (const auto& e : expected) {
    SCOPED_TRACE("service " + e.key);
    const auto it = r.services.find(e.key);
    ASSERT_NE(it, r.services.end()) << dump(r);
    const ServiceResult& s = it->second;
    EXPECT_EQ(s.key, e.key);
    EXPECT_EQ(state_name(s.state), state_name(e.state)) << dump(r);
    std::vector<std::string> got;
    for (const auto& a : s.assignment.ips) got.push_back(a.str());
    EXPECT_EQ(got, e.ips) << dump(r);
    EXPECT_EQ(s.assignment.pool, e.pool) << dump(r);
    EXPECT_EQ(s.events, e.events) << "got:\n" << dump(s.events) << "want:\n" << dump(e.events);
  }
}

config::ObjectSet objects(std::vector<config::IPAddressPool> pools,
                          std::vector<config::Service> services,
                          std::vector<config::Namespace> namespaces = {}) {
  config::ObjectSet o;
  o.pools = std::move(pools);
  o.services = std::move(services);
  o.namespaces = std::move(namespaces);
  return o;
}

// ---- the table ----

struct Case {
  std::string name;
  std::vector<config::Namespace> namespaces;
  std::vector<config::IPAddressPool> pools;
  std::map<ServiceKey, Assignment> previous;
  std::vector<config::Service> services;
  std::vector<Expect> expect;
  Options options = {};
};

const std::string kLb = "metallb.io/loadBalancerIPs";
const std::string kPoolOld = "metallb.universe.tf/address-pool";
const std::string kShareOld = "metallb.universe.tf/allow-shared-ip";

std::vector<Case> cases() {
  return {
      // ---- pools: order, forms, autoAssign, avoidBuggyIPs (§2.1, §3.3 steps 5-6; §8.1-5) ----
      {.name = "LowestFreeAddressFirst",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.12"})},
       .services = {Svc("ns/b"), Svc("ns/a"), Svc("ns/c")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.11"}, {allocated(R"(["203.0.113.11"])")}),
                  assigned("ns/c", "p", {"203.0.113.12"}, {allocated(R"(["203.0.113.12"])")})}},
      {.name = "ExhaustedPoolLeavesServicePending",
       .pools = {Pool("p", {"203.0.113.10/32"})},
       .services = {Svc("ns/a"), Svc("ns/b")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  pending("ns/b", {failed("ns/b", "no available IPs")})}},
      {.name = "EntriesInWrittenOrder",
       .pools = {Pool("p", {"203.0.113.20-203.0.113.20", "203.0.113.8/31"})},
       .services = {Svc("ns/a"), Svc("ns/b"), Svc("ns/c")},
       .expect = {assigned("ns/a", "p", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("ns/b", "p", {"203.0.113.8"}, {allocated(R"(["203.0.113.8"])")}),
                  assigned("ns/c", "p", {"203.0.113.9"}, {allocated(R"(["203.0.113.9"])")})}},
      {.name = "GenericPoolsInInputOrder",
       .pools = {Pool("z-first", {"203.0.113.50/32"}), Pool("a-second", {"203.0.113.10/32"})},
       .services = {Svc("ns/a"), Svc("ns/b")},
       .expect = {assigned("ns/a", "z-first", {"203.0.113.50"}, {allocated(R"(["203.0.113.50"])")}),
                  assigned("ns/b", "a-second", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])")})}},
      {.name = "DotZeroAllocatableWithoutAvoidBuggyIPs",
       .pools = {Pool("p", {"203.0.113.0/31"})},
       .services = {Svc("ns/a")},
       .expect = {assigned("ns/a", "p", {"203.0.113.0"}, {allocated(R"(["203.0.113.0"])")})}},
      {.name = "AvoidBuggyIPsSkipsDotZeroAndDot255",
       .pools = {Pool("p", {"203.0.113.254-203.0.114.1"}).avoid_buggy_ips()},
       .services = {Svc("ns/a"), Svc("ns/b"), Svc("ns/c")},
       .expect = {assigned("ns/a", "p", {"203.0.113.254"}, {allocated(R"(["203.0.113.254"])")}),
                  assigned("ns/b", "p", {"203.0.114.1"}, {allocated(R"(["203.0.114.1"])")}),
                  pending("ns/c", {failed("ns/c", "no available IPs")})}},
      {.name = "AvoidBuggyIPsRefusesRequestedDotZero",
       .pools = {Pool("p", {"203.0.113.0/24"}).avoid_buggy_ips()},
       .services = {Svc("ns/a").lb_ip("203.0.113.0"), Svc("ns/b").lb_ip("203.0.113.255")},
       .expect = {pending("ns/a", {failed("ns/a", R"(["203.0.113.0"] is not allowed in config)")}),
                  pending("ns/b",
                          {failed("ns/b", R"(["203.0.113.255"] is not allowed in config)")})}},
      {.name = "AutoAssignFalseSkippedButReachableByAnnotation",
       .pools = {Pool("manual", {"203.0.113.10/32"}).manual(), Pool("auto", {"203.0.113.20/32"})},
       .services = {Svc("ns/a"), Svc("ns/b").pool("manual"), Svc("ns/c")},
       .expect = {assigned("ns/a", "auto", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("ns/b", "manual", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  pending("ns/c", {failed("ns/c", "no available IPs")})}},
      {.name = "AutoAssignFalseReachableByRequestedIP",
       .pools = {Pool("manual", {"203.0.113.10-203.0.113.19"}).manual()},
       .services = {Svc("ns/a").lb_ip("203.0.113.15")},
       .expect = {assigned("ns/a", "manual", {"203.0.113.15"},
                           {allocated(R"(["203.0.113.15"])")})}},
      {.name = "RequestedPoolFullOrUnknown",
       .pools = {Pool("small", {"203.0.113.10/32"}), Pool("big", {"203.0.113.20/30"})},
       .services = {Svc("ns/a").pool("small"), Svc("ns/b").pool("small"), Svc("ns/c").pool("nope")},
       .expect = {assigned("ns/a", "small", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  pending("ns/b", {failed("ns/b", R"(no available IPs in pool "small" for IPv4)")}),
                  pending("ns/c", {failed("ns/c", R"(unknown pool "nope")")})}},

      // ---- serviceAllocation (§2.1; §8.6) ----
      {.name = "PriorityTenBeforeTwentyBeforeUnset",
       .pools = {Pool("unset", {"203.0.113.30/32"}).pinned(),
                 Pool("twenty", {"203.0.113.20/32"}).priority(20),
                 Pool("ten", {"203.0.113.10/32"}).priority(10),
                 Pool("generic", {"203.0.113.40/32"})},
       .services = {Svc("ns/a"), Svc("ns/b"), Svc("ns/c"), Svc("ns/d")},
       .expect = {assigned("ns/a", "ten", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "twenty", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("ns/c", "unset", {"203.0.113.30"}, {allocated(R"(["203.0.113.30"])")}),
                  assigned("ns/d", "generic", {"203.0.113.40"},
                           {allocated(R"(["203.0.113.40"])")})}},
      {.name = "EqualPrioritiesKeepInputOrder",
       .pools = {Pool("b", {"203.0.113.20/32"}).priority(5),
                 Pool("a", {"203.0.113.10/32"}).priority(5)},
       .services = {Svc("ns/a"), Svc("ns/b")},
       .expect = {assigned("ns/a", "b", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("ns/b", "a", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "EmptyServiceAllocationMatchesEveryServiceBeforeGenericPools",
       .pools = {Pool("generic", {"203.0.113.10/32"}),
                 Pool("pinned", {"203.0.113.20/32"}).pinned()},
       .services = {Svc("x/a"), Svc("y/b"), Svc("z/c")},
       .expect = {assigned("x/a", "pinned", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("y/b", "generic", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  pending("z/c", {failed("z/c", "no available IPs")})}},
      {.name = "NamespacesRestrictPool",
       .pools = {Pool("team", {"203.0.113.10/32"}).namespaces({"team-a"}),
                 Pool("generic", {"203.0.113.20/31"})},
       .services = {Svc("other/x"), Svc("team-a/y")},
       .expect = {assigned("other/x", "generic", {"203.0.113.20"},
                           {allocated(R"(["203.0.113.20"])")}),
                  assigned("team-a/y", "team", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])")})}},
      {.name = "NamespaceSelectorsUseNamespaceLabels",
       .namespaces = {ns("shop", {{"env", "prod"}}), ns("dev", {{"env", "dev"}})},
       .pools = {Pool("prod", {"203.0.113.10/31"}).namespace_selector({{"env", "prod"}}),
                 Pool("generic", {"203.0.113.20/31"})},
       .services = {Svc("dev/a"), Svc("shop/b"), Svc("unknown/c")},
       .expect = {assigned("dev/a", "generic", {"203.0.113.20"},
                           {allocated(R"(["203.0.113.20"])")}),
                  assigned("shop/b", "prod", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("unknown/c", "generic", {"203.0.113.21"},
                           {allocated(R"(["203.0.113.21"])")})}},
      {.name = "NamespaceSelectorOnImplicitNameLabel",
       .pools = {Pool("named", {"203.0.113.10/32"})
                     .namespace_selector({{"kubernetes.io/metadata.name", "edge"}})},
       .services = {Svc("edge/a"), Svc("core/b")},
       .expect = {pending("core/b", {failed("core/b", "no available IPs")}),
                  assigned("edge/a", "named", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])")})}},
      {.name = "NamespacesOrNamespaceSelector",
       .namespaces = {ns("shop", {{"env", "prod"}})},
       .pools = {Pool("p", {"203.0.113.10/30"})
                     .namespaces({"listed"})
                     .namespace_selector({{"env", "prod"}})},
       .services = {Svc("listed/a"), Svc("other/b"), Svc("shop/c")},
       .expect = {assigned("listed/a", "p", {"203.0.113.8"}, {allocated(R"(["203.0.113.8"])")}),
                  pending("other/b", {failed("other/b", "no available IPs")}),
                  assigned("shop/c", "p", {"203.0.113.9"}, {allocated(R"(["203.0.113.9"])")})}},
      {.name = "ServiceSelectorsRestrictPool",
       .pools = {Pool("web", {"203.0.113.10/32"}).service_selector({{"app", "web"}}),
                 Pool("generic", {"203.0.113.20/32"})},
       .services = {Svc("ns/a").label("app", "db"), Svc("ns/b").label("app", "web")},
       .expect = {assigned("ns/a", "generic", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("ns/b", "web", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "NamespacesAndServiceSelectorsAreAnded",
       .pools =
           {Pool("p", {"203.0.113.10/32"}).namespaces({"a"}).service_selector({{"app", "web"}}),
            Pool("generic", {"203.0.113.20/31"})},
       .services = {Svc("a/db").label("app", "db"), Svc("b/web").label("app", "web"),
                    Svc("a/web").label("app", "web")},
       .expect = {assigned("a/db", "generic", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")}),
                  assigned("a/web", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("b/web", "generic", {"203.0.113.21"},
                           {allocated(R"(["203.0.113.21"])")})}},
      {.name = "PinnedPoolsNeverUsedByGenericFallback",
       .pools = {Pool("team", {"203.0.113.10/30"}).namespaces({"team-a"})},
       .services = {Svc("other/x")},
       .expect = {pending("other/x", {failed("other/x", "no available IPs")})}},
      {.name = "FullPinnedPoolFallsBackToGenericPools",
       .pools = {Pool("team", {"203.0.113.10/32"}).namespaces({"team-a"}),
                 Pool("generic", {"203.0.113.20/32"})},
       .services = {Svc("team-a/x"), Svc("team-a/y")},
       .expect = {assigned("team-a/x", "team", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])")}),
                  assigned("team-a/y", "generic", {"203.0.113.20"},
                           {allocated(R"(["203.0.113.20"])")})}},
      {.name = "PinnedPoolWithAutoAssignFalseOnlyByRequest",
       .pools = {Pool("team", {"203.0.113.10/32"}).namespaces({"a"}).manual()},
       .services = {Svc("a/x"), Svc("a/y").pool("team")},
       .expect = {pending("a/x", {failed("a/x", "no available IPs")}),
                  assigned("a/y", "team", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "RequestedPoolMustAllowService",
       .pools = {Pool("team", {"203.0.113.10/32"}).namespaces({"team-a"})},
       .services = {Svc("other/x").pool("team")},
       .expect = {pending("other/x",
                          {failed("other/x", "pool team not compatible for ip assignment")})}},

      // ---- requested addresses (§3.2; §8.7-8) ----
      {.name = "SpecLoadBalancerIP",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19"})},
       .services = {Svc("ns/a").lb_ip("203.0.113.15"), Svc("ns/b")},
       .expect = {assigned("ns/a", "p", {"203.0.113.15"}, {allocated(R"(["203.0.113.15"])")}),
                  assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "LoadBalancerIPsAnnotationWithSpaces",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19", "2001:db8:200::/120"})},
       .services = {Svc("ns/a").policy(kRequire).lb_ips(" 2001:db8:200::5 , 203.0.113.15")},
       .expect = {assigned("ns/a", "p", {"203.0.113.15", "2001:db8:200::5"},
                           {allocated(R"(["203.0.113.15" "2001:db8:200::5"])")})}},
      {.name = "RequestedIPOutsideEveryPool",
       .pools = {Pool("p", {"203.0.113.10/32"})},
       .services = {Svc("ns/a").lb_ip("198.51.100.7")},
       .expect = {pending("ns/a",
                          {failed("ns/a", R"(["198.51.100.7"] is not allowed in config)")})}},
      {.name = "RequestedIPInIncompatiblePool",
       .pools = {Pool("team", {"203.0.113.10/30"}).namespaces({"team-a"})},
       .services = {Svc("other/x").lb_ip("203.0.113.9")},
       .expect = {pending("other/x",
                          {failed("other/x", "pool team not compatible for ip assignment")})}},
      {.name = "RequestedIPOfWrongFamily",
       .pools = {Pool("p", {"203.0.113.10/32", "2001:db8:200::/120"})},
       .services = {Svc("ns/a").lb_ip("2001:db8:200::5"),
                    Svc("ns/b").policy(kRequire).lb_ips("203.0.113.10")},
       .expect = {pending("ns/a",
                          {failed("ns/a", R"(requested loadBalancer IP(s) ["2001:db8:200::5"] )"
                                          "does not match the ipFamily of the service")}),
                  pending("ns/b",
                          {failed("ns/b", R"(requested loadBalancer IP(s) ["203.0.113.10"] )"
                                          "does not match the ipFamily of the service")})}},
      {.name = "RequestedIPInUse",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/a").lb_ip("203.0.113.9"), Svc("ns/b").lb_ip("203.0.113.9")},
       .expect = {assigned("ns/a", "p", {"203.0.113.9"}, {allocated(R"(["203.0.113.9"])")}),
                  pending(
                      "ns/b",
                      {failed("ns/b", R"("203.0.113.9" already in use by ns/a, sharing key )"
                                      "mismatch: the existing service does not allow sharing")})}},
      {.name = "RequestedIPAndPoolMustAgree",
       .pools = {Pool("a", {"203.0.113.10/32"}), Pool("b", {"203.0.113.20/32"})},
       .services = {Svc("ns/x").lb_ip("203.0.113.10").pool("b"),
                    Svc("ns/y").lb_ip("203.0.113.20").pool("b")},
       .expect = {pending("ns/x",
                          {failed("ns/x", R"(requested loadBalancer IP(s) ["203.0.113.10"] is not )"
                                          "compatible with requested address pool b")}),
                  assigned("ns/y", "b", {"203.0.113.20"}, {allocated(R"(["203.0.113.20"])")})}},
      {.name = "LoadBalancerIPAndAnnotationConflict",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/a").lb_ip("203.0.113.9").lb_ips("203.0.113.9")},
       .expect = {pending("ns/a", {failed("ns/a",
                                          "service can not have both metallb.io/loadBalancerIPs "
                                          "and svc.Spec.LoadBalancerIP")})}},
      {.name = "UnparsableRequestedIPs",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/a").lb_ips("203.0.113.300"), Svc("ns/b").lb_ip("nope"),
                    Svc("ns/c").lb_ips("203.0.113.9,")},
       .expect = {pending("ns/a",
                          {lb_failed(R"(invalid metallb.io/loadBalancerIPs: "203.0.113.300")")}),
                  pending("ns/b", {lb_failed(R"(invalid spec.loadBalancerIP "nope")")}),
                  pending("ns/c",
                          {lb_failed(R"(invalid metallb.io/loadBalancerIPs: "203.0.113.9,")")})}},
      {.name = "AtMostTwoRequestedIPsOfDistinctFamilies",
       .pools = {Pool("p", {"203.0.113.8/29", "2001:db8:200::/120"})},
       .services = {Svc("ns/a").policy(kRequire).lb_ips("203.0.113.9,2001:db8:200::9,203.0.113.10"),
                    Svc("ns/b").policy(kRequire).lb_ips("203.0.113.9,203.0.113.10")},
       .expect = {pending("ns/a",
                          {failed("ns/a", R"(requested loadBalancer IPs ["203.0.113.9" )"
                                          R"("2001:db8:200::9" "203.0.113.10"]: at most two )"
                                          "addresses, one per family")}),
                  pending("ns/b", {failed("ns/b", R"(requested loadBalancer IPs ["203.0.113.9" )"
                                                  R"("203.0.113.10"] have the same family)")})}},

      // ---- annotation prefixes, loadBalancerClass, which Services (§3.1-3.2; §8.12) ----
      {.name = "DeprecatedAnnotationPrefixIsReadAndWarned",
       .pools = {Pool("a", {"203.0.113.10/32"}), Pool("b", {"203.0.113.20/32"})},
       .services = {Svc("ns/x").annotate(kPoolOld, "b")},
       .expect = {assigned("ns/x", "b", {"203.0.113.20"},
                           {allocated(R"(["203.0.113.20"])"), deprecated(kPoolOld)})}},
      {.name = "CurrentAnnotationPrefixWins",
       .pools = {Pool("a", {"203.0.113.10/32"}), Pool("b", {"203.0.113.20/32"}),
                 Pool("c", {"203.0.113.30/32"})},
       .services = {Svc("ns/x").annotate(kPoolOld, "b").pool("c"),
                    Svc("ns/y").annotate("metallb.universe.tf/loadBalancerIPs", "203.0.113.10")},
       .expect = {assigned("ns/x", "c", {"203.0.113.30"},
                           {allocated(R"(["203.0.113.30"])"), deprecated(kPoolOld)}),
                  assigned("ns/y", "a", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])"),
                            deprecated("metallb.universe.tf/loadBalancerIPs")})}},
      {.name = "LoadBalancerClass",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/ours").lb_class("portico.io/lb"), Svc("ns/theirs").lb_class("foo"),
                    Svc("ns/unset")},
       .expect = {assigned("ns/ours", "p", {"203.0.113.8"}, {allocated(R"(["203.0.113.8"])")}),
                  ignored("ns/theirs"),
                  assigned("ns/unset", "p", {"203.0.113.9"}, {allocated(R"(["203.0.113.9"])")})}},
      {.name = "ConfiguredLoadBalancerClass",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/ours").lb_class("portico.io/lb"), Svc("ns/theirs").lb_class("foo")},
       .expect = {ignored("ns/ours"),
                  assigned("ns/theirs", "p", {"203.0.113.8"}, {allocated(R"(["203.0.113.8"])")})},
       .options = {.load_balancer_class = "foo"}},
      {.name = "OnlyLoadBalancerServicesWithClusterIP",
       .pools = {Pool("p", {"203.0.113.10/30"})},
       .services = {Svc("ns/cluster-ip").type("ClusterIP"), Svc("ns/node-port").type("NodePort"),
                    Svc("ns/headless").cluster_ips({"None"}), Svc("ns/lb")},
       .expect = {ignored("ns/cluster-ip"), ignored("ns/node-port"), ignored("ns/headless"),
                  assigned("ns/lb", "p", {"203.0.113.8"}, {allocated(R"(["203.0.113.8"])")})}},

      // ---- dual-stack (§3.3 table; §8.9) ----
      {.name = "SingleStackIPv4ByDefault",
       .pools = {Pool("dual", {"2001:db8:200::/120", "203.0.113.10/32"})},
       .services = {Svc("ns/a")},
       .expect = {assigned("ns/a", "dual", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "SingleStackIPv6",
       .pools = {Pool("v4", {"203.0.113.10/32"}),
                 Pool("dual", {"203.0.113.20/32", "2001:db8:200::10-2001:db8:200::1f"})},
       .services = {Svc("ns/a").families({kV6}), Svc("ns/b").cluster_ips({"fd00::10"})},
       .expect = {assigned("ns/a", "dual", {"2001:db8:200::10"},
                           {allocated(R"(["2001:db8:200::10"])")}),
                  assigned("ns/b", "dual", {"2001:db8:200::11"},
                           {allocated(R"(["2001:db8:200::11"])")})}},
      {.name = "RequireDualStackTakesBothFromOneDualPool",
       .pools = {Pool("v4", {"203.0.113.10/32"}), Pool("v6", {"2001:db8:200::10/128"}),
                 Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .services = {Svc("ns/a").policy(kRequire)},
       .expect = {assigned("ns/a", "dual", {"203.0.113.20", "2001:db8:200::20"},
                           {allocated(R"(["203.0.113.20" "2001:db8:200::20"])")})}},
      {.name = "RequireDualStackWithoutDualPoolIsPending",
       .pools = {Pool("v4", {"203.0.113.10/32"}), Pool("v6", {"2001:db8:200::10/128"})},
       .services = {Svc("ns/a").policy(kRequire)},
       .expect = {pending("ns/a", {failed("ns/a", "no available IPs")})}},
      {.name = "RequireDualStackInIPv6FirstOrder",
       .pools = {Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .services = {Svc("ns/a").policy(kRequire).families({kV6, kV4})},
       .expect = {assigned("ns/a", "dual", {"2001:db8:200::20", "203.0.113.20"},
                           {allocated(R"(["2001:db8:200::20" "203.0.113.20"])")})}},
      {.name = "RequireDualStackNeedsTwoClusterIPs",
       .pools = {Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .services = {Svc("ns/a").policy(kRequire).cluster_ips({"10.96.0.1"})},
       .expect = {pending("ns/a", {failed("ns/a",
                                          "service requires dual stack but not enough "
                                          "clusterips [10.96.0.1]")})}},
      {.name = "TwoClusterIPsWithoutPolicyRequireDualStack",
       .pools = {Pool("v4", {"203.0.113.10/32"}),
                 Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .services = {Svc("ns/a").cluster_ips({"fd00::1", "10.96.0.1"})},
       .expect = {assigned("ns/a", "dual", {"2001:db8:200::20", "203.0.113.20"},
                           {allocated(R"(["2001:db8:200::20" "203.0.113.20"])")})}},
      {.name = "PreferDualStackPrefersDualPool",
       .pools = {Pool("v4", {"203.0.113.10/32"}),
                 Pool("dual", {"2001:db8:200::20/128", "203.0.113.20/32"})},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "dual", {"203.0.113.20", "2001:db8:200::20"},
                           {allocated(R"(["203.0.113.20" "2001:db8:200::20"])")})}},
      {.name = "PreferDualStackFallsBackToPrimaryFamily",
       .pools = {Pool("v6", {"2001:db8:200::10/128"}), Pool("v4", {"203.0.113.10/32"})},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "v4", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "PreferDualStackWithIPv6FirstPicksIPv6",
       .pools = {Pool("v4", {"203.0.113.10/32"}), Pool("v6", {"2001:db8:200::10/128"})},
       .services = {Svc("ns/a").policy(kPrefer).families({kV6, kV4})},
       .expect = {assigned("ns/a", "v6", {"2001:db8:200::10"},
                           {allocated(R"(["2001:db8:200::10"])")})}},
      {.name = "PreferDualStackTakesSecondaryFamilyLast",
       .pools = {Pool("v6", {"2001:db8:200::10/128"})},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "v6", {"2001:db8:200::10"},
                           {allocated(R"(["2001:db8:200::10"])")})}},
      {.name = "PreferDualStackWithOneClusterIPIsSingleFamily",
       .pools = {Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .services = {Svc("ns/a").policy(kPrefer).cluster_ips({"fd00::1"})},
       .expect = {assigned("ns/a", "dual", {"2001:db8:200::20"},
                           {allocated(R"(["2001:db8:200::20"])")})}},
      {.name = "PreferDualStackFromRequestedPool",
       .pools = {Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"}),
                 Pool("v6", {"2001:db8:200::30/128"}).manual()},
       .services = {Svc("ns/a").policy(kPrefer).pool("v6")},
       .expect = {assigned("ns/a", "v6", {"2001:db8:200::30"},
                           {allocated(R"(["2001:db8:200::30"])")})}},

      // ---- sharing (§3.5; §8.13) ----
      {.name = "SharingSameKeyDisjointPorts",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").share("k").ports({{"TCP", 443}})},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "SharingDeprecatedKeyAnnotation",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").annotate(kShareOld, "k").ports({{"TCP", 443}})},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])"), deprecated(kShareOld)})}},
      {.name = "SharingKeyMismatch",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/a").share("k1").ports({{"TCP", 80}}),
                    Svc("ns/b").share("k2").ports({{"TCP", 443}}),
                    Svc("ns/c").share("k2").ports({{"TCP", 8080}}).lb_ip("203.0.113.10")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.11"}, {allocated(R"(["203.0.113.11"])")}),
                  pending("ns/c",
                          {failed("ns/c", R"("203.0.113.10" already in use by ns/a, sharing key )"
                                          R"(mismatch: "k2" does not match existing "k1")")})}},
      {.name = "SharingNeedsKeyOnBothSides",
       .pools = {Pool("p", {"203.0.113.10/32"})},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").ports({{"TCP", 443}}).lb_ip("203.0.113.10")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  pending("ns/b",
                          {failed("ns/b", R"("203.0.113.10" already in use by ns/a, sharing key )"
                                          "mismatch: this service does not allow sharing")})}},
      {.name = "SharingPortClash",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services =
           {Svc("ns/a").share("k").ports({{"TCP", 80}}),
            Svc("ns/b").share("k").ports({{"TCP", 80}}),
            Svc("ns/c").share("k").ports({{"TCP", 443}, {"TCP", 80}}).lb_ip("203.0.113.10")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.11"}, {allocated(R"(["203.0.113.11"])")}),
                  pending("ns/c",
                          {failed("ns/c", R"("203.0.113.10" already in use by ns/a, port TCP/80 )"
                                          "is used by both")})}},
      {.name = "SharingTcpAndUdpOnSamePort",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/dns-tcp").share("dns").ports({{"TCP", 53}}),
                    Svc("ns/dns-udp").share("dns").ports({{"UDP", 53}})},
       .expect = {assigned("ns/dns-tcp", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/dns-udp", "p", {"203.0.113.10"},
                           {allocated(R"(["203.0.113.10"])")})}},
      {.name = "SharingClusterWithLocalIsRefused",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").share("k").ports({{"TCP", 443}}).local({{"app", "web"}}),
                    Svc("ns/c")
                        .share("k")
                        .ports({{"TCP", 8443}})
                        .local({{"app", "web"}})
                        .lb_ip("203.0.113.10")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.11"}, {allocated(R"(["203.0.113.11"])")}),
                  pending("ns/c",
                          {failed("ns/c", R"("203.0.113.10" already in use by ns/a, backend key )"
                                          R"(mismatch: "app=web" does not match existing "")")})}},
      {.name = "SharingLocalWithSameSelector",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services =
           {Svc("ns/a").share("k").ports({{"TCP", 80}}).local({{"app", "web"}, {"t", "1"}}),
            Svc("ns/b").share("k").ports({{"TCP", 443}}).local({{"t", "1"}, {"app", "web"}}),
            Svc("ns/c").share("k").ports({{"TCP", 8080}}).local({{"app", "api"}})},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/c", "p", {"203.0.113.11"}, {allocated(R"(["203.0.113.11"])")})}},
      {.name = "SharingLocalWithEmptySelectorMatchesCluster",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").share("k").ports({{"TCP", 443}}).local({})},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")}),
                  assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},

      // ---- stability across passes (§3.3 step 1, §3.4; §8.10-11) ----
      {.name = "PreviousKeptEvenWhenLowerAddressIsFree",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19"})},
       .previous = {{"ns/a", held("p", {"203.0.113.15"})}},
       .services = {Svc("ns/a"), Svc("ns/b")},
       .expect = {assigned("ns/a", "p", {"203.0.113.15"}),
                  assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})}},
      {.name = "HoldersBeforeNewcomers",
       .pools = {Pool("p", {"203.0.113.10/32"})},
       .previous = {{"ns/z", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/a"), Svc("ns/z")},
       .expect = {pending("ns/a", {failed("ns/a", "no available IPs")}),
                  assigned("ns/z", "p", {"203.0.113.10"})}},
      {.name = "HeldAddressBeatsRequestOfAnother",
       .pools = {Pool("p", {"203.0.113.10/32"})},
       .services = {Svc("ns/a").lb_ip("203.0.113.10"), Svc("ns/z").ingress({"203.0.113.10"})},
       .expect = {pending(
                      "ns/a",
                      {failed("ns/a", R"("203.0.113.10" already in use by ns/z, sharing key )"
                                      "mismatch: the existing service does not allow sharing")}),
                  assigned("ns/z", "p", {"203.0.113.10"})}},
      {.name = "StatusIngressHonoured",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19", "2001:db8:200::/120"})},
       .services = {Svc("ns/a").ingress({"203.0.113.17"}),
                    Svc("ns/b").policy(kRequire).ingress({"2001:db8:200::7", "203.0.113.18"})},
       .expect = {assigned("ns/a", "p", {"203.0.113.17"}),
                  assigned("ns/b", "p", {"203.0.113.18", "2001:db8:200::7"})}},
      {.name = "PreviousWinsOverStatusIngress",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19"})},
       .previous = {{"ns/a", held("p", {"203.0.113.12"})}},
       .services = {Svc("ns/a").ingress({"203.0.113.17"})},
       .expect = {assigned("ns/a", "p", {"203.0.113.12"})}},
      {.name = "HeldAddressInRenamedPoolIsKept",
       .pools = {Pool("renamed", {"203.0.113.10-203.0.113.19"})},
       .previous = {{"ns/a", held("old", {"203.0.113.15"})}},
       .services = {Svc("ns/a")},
       .expect = {assigned("ns/a", "renamed", {"203.0.113.15"})}},
      {.name = "PoolDeletedServiceMovesWithClearAssignment",
       .pools = {Pool("new", {"203.0.113.20/30"})},
       .previous = {{"ns/a", held("old", {"203.0.113.10"})}},
       .services = {Svc("ns/a")},
       .expect = {assigned("ns/a", "new", {"203.0.113.20"},
                           {cleared("ns/a", R"(["203.0.113.10"] is not allowed in config)"),
                            allocated(R"(["203.0.113.20"])")})}},
      {.name = "FormerHolderReallocatedBeforeNewcomers",
       .pools = {Pool("new", {"203.0.113.20/32"})},
       .previous = {{"ns/z", held("old", {"203.0.113.10"})}},
       .services = {Svc("ns/a"), Svc("ns/z")},
       .expect = {pending("ns/a", {failed("ns/a", "no available IPs")}),
                  assigned("ns/z", "new", {"203.0.113.20"},
                           {cleared("ns/z", R"(["203.0.113.10"] is not allowed in config)"),
                            allocated(R"(["203.0.113.20"])")})}},
      {.name = "AllPoolsDeletedLeavesPending",
       .previous = {{"ns/a", held("old", {"203.0.113.10"})}},
       .services = {Svc("ns/a")},
       .expect = {pending("ns/a", {cleared("ns/a", R"(["203.0.113.10"] is not allowed in config)"),
                                   failed("ns/a", "no available IPs")})}},
      {.name = "AvoidBuggyIPsTurnedOnClearsDotZero",
       .pools = {Pool("p", {"203.0.113.0/30"}).avoid_buggy_ips()},
       .previous = {{"ns/a", held("p", {"203.0.113.0"})}},
       .services = {Svc("ns/a")},
       .expect = {assigned("ns/a", "p", {"203.0.113.1"},
                           {cleared("ns/a", R"(["203.0.113.0"] is not allowed in config)"),
                            allocated(R"(["203.0.113.1"])")})}},
      {.name = "ServiceAllocationNowExcludesHolder",
       .pools = {Pool("team", {"203.0.113.10/32"}).namespaces({"team-a"}),
                 Pool("generic", {"203.0.113.20/32"})},
       .previous = {{"other/x", held("team", {"203.0.113.10"})}},
       .services = {Svc("other/x")},
       .expect = {assigned("other/x", "generic", {"203.0.113.20"},
                           {cleared("other/x", "pool team not compatible for ip assignment"),
                            allocated(R"(["203.0.113.20"])")})}},
      {.name = "TwoHoldersOfOneAddressFirstByKeyKeepsIt",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .previous = {{"ns/b", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/a").ingress({"203.0.113.10"}), Svc("ns/b")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}),
                  assigned(
                      "ns/b", "p", {"203.0.113.11"},
                      {cleared("ns/b", R"("203.0.113.10" already in use by ns/a, sharing key )"
                                       "mismatch: the existing service does not allow sharing"),
                       allocated(R"(["203.0.113.11"])")})}},
      {.name = "AnnotationAsksForAnotherPool",
       .pools = {Pool("a", {"203.0.113.10/32"}), Pool("b", {"203.0.113.20/32"}).manual()},
       .previous = {{"ns/x", held("a", {"203.0.113.10"})}},
       .services = {Svc("ns/x").pool("b")},
       .expect = {assigned("ns/x", "b", {"203.0.113.20"},
                           {cleared("ns/x", R"(user requested a different pool "b" than the )"
                                            R"(current pool "a")"),
                            allocated(R"(["203.0.113.20"])")})}},
      {.name = "AnnotationAsksForAnotherIP",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19"})},
       .previous = {{"ns/x", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/x").lb_ip("203.0.113.19")},
       .expect = {assigned("ns/x", "p", {"203.0.113.19"},
                           {cleared("ns/x", R"(user requested a different IP ["203.0.113.19"])"),
                            allocated(R"(["203.0.113.19"])")})}},
      {.name = "RequestedIPAlreadyHeldIsKept",
       .pools = {Pool("p", {"203.0.113.10-203.0.113.19"})},
       .previous = {{"ns/x", held("p", {"203.0.113.19"})}},
       .services = {Svc("ns/x").lb_ip("203.0.113.19").pool("p")},
       .expect = {assigned("ns/x", "p", {"203.0.113.19"})}},
      {.name = "SharingBrokenTheOneThatChangedMoves",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .previous = {{"ns/a", held("p", {"203.0.113.10"})}, {"ns/b", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/a").share("k").ports({{"TCP", 80}}),
                    Svc("ns/b").share("k").ports({{"TCP", 443}}).local({{"app", "b"}})},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"}),
                  assigned("ns/b", "p", {"203.0.113.11"},
                           {cleared("ns/b", R"("203.0.113.10" already in use by ns/a, backend key )"
                                            R"(mismatch: "app=b" does not match existing "")"),
                            allocated(R"(["203.0.113.11"])")})}},
      {.name = "SoleUserMayChangeSharingKeyInPlace",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .previous = {{"ns/a", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/a").share("new-key")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"})}},
      {.name = "KeptAssignmentEmitsNoDeprecationWarning",
       .pools = {Pool("p", {"203.0.113.10/31"})},
       .previous = {{"ns/a", held("p", {"203.0.113.10"})}},
       .services = {Svc("ns/a").annotate(kPoolOld, "p")},
       .expect = {assigned("ns/a", "p", {"203.0.113.10"})}},
      {.name = "HeldFamilyNoLongerFitsPolicy",
       .pools = {Pool("v4", {"203.0.113.10/31"})},
       .previous = {{"ns/a", held("v4", {"203.0.113.10"})}},
       .services = {Svc("ns/a").policy(kRequire)},
       .expect = {pending("ns/a", {cleared("ns/a", R"(["203.0.113.10"] does not match the )"
                                                   "ipFamily of the service"),
                                   failed("ns/a", "no available IPs")})}},
      {.name = "PreferDualStackGetsAdditionalIPWhenSamePoolBecomesDual",
       .pools = {Pool("p", {"203.0.113.10/31", "2001:db8:200::10-2001:db8:200::1f"}),
                 Pool("other-dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .previous = {{"ns/a", held("p", {"203.0.113.11"})}},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "p", {"203.0.113.11", "2001:db8:200::10"},
                           {additional(R"("2001:db8:200::10")")})}},
      {.name = "PreferDualStackDoesNotJumpToNewDualPool",
       .pools = {Pool("v4", {"203.0.113.10/31"}),
                 Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .previous = {{"ns/a", held("v4", {"203.0.113.11"})}},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "v4", {"203.0.113.11"})}},
      {.name = "DualPoolLosingAFamilyReallocatesBoth",
       .pools = {Pool("was-dual", {"203.0.113.10/31"}),
                 Pool("dual", {"203.0.113.20/32", "2001:db8:200::20/128"})},
       .previous = {{"ns/a", held("was-dual", {"203.0.113.10", "2001:db8:200::10"})}},
       .services = {Svc("ns/a").policy(kPrefer)},
       .expect = {assigned("ns/a", "dual", {"203.0.113.20", "2001:db8:200::20"},
                           {cleared("ns/a",
                                    R"(["203.0.113.10" "2001:db8:200::10"] is not allowed in )"
                                    "config"),
                            allocated(R"(["203.0.113.20" "2001:db8:200::20"])")})}},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class IpamTable : public ::testing::TestWithParam<Case> {};

TEST_P(IpamTable, Allocates) {
  const Case& c = GetParam();
  config::ObjectSet o = objects(c.pools, c.services, c.namespaces);
  const Result r = allocate(o, c.previous, c.options);
  expect_services(r, c.expect);
}

INSTANTIATE_TEST_SUITE_P(Rules, IpamTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// ---- multi-pass scenarios ----

TEST(IpamPasses, SteadyStateKeepsEverythingAndEmitsNothing) {
  const auto o = objects(
      {Pool("p", {"203.0.113.10/30", "2001:db8:200::/120"})},
      {Svc("ns/a"), Svc("ns/b").policy(kRequire), Svc("ns/c").share("k").ports({{"UDP", 53}}),
       Svc("ns/d").share("k").ports({{"TCP", 53}})});
  const Result first = allocate(o, {});
  const Result second = allocate(o, assignments_of(first));
  EXPECT_EQ(assignments_of(first), assignments_of(second));
  for (const auto& [key, s] : second.services) {
    EXPECT_EQ(s.state, ServiceState::kAssigned) << key;
    EXPECT_TRUE(s.events.empty()) << key << "\n" << dump(s.events);
  }
}

TEST(IpamPasses, FreedAddressGoesToPendingService) {
  const auto pools = std::vector<config::IPAddressPool>{Pool("p", {"203.0.113.10/32"})};
  const Result first = allocate(objects(pools, {Svc("ns/a"), Svc("ns/b")}), {});
  ASSERT_EQ(first.services.at("ns/b").state, ServiceState::kPending);

  // ns/a is deleted: ns/b gets the address, even though `previous` still names ns/a.
  const Result second = allocate(objects(pools, {Svc("ns/b")}), assignments_of(first));
  expect_services(second,
                  {assigned("ns/b", "p", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})});

  // ns/a turning into a ClusterIP Service frees the address as well.
  const Result third =
      allocate(objects(pools, {Svc("ns/a").type("ClusterIP"), Svc("ns/b")}), assignments_of(first));
  expect_services(third, {ignored("ns/a"), assigned("ns/b", "p", {"203.0.113.10"},
                                                    {allocated(R"(["203.0.113.10"])")})});
}

TEST(IpamPasses, ControllerRestartKeepsAssignedAndPendingCannotSteal) {
  const auto pools = std::vector<config::IPAddressPool>{Pool("p", {"203.0.113.10/31"})};
  // Two addresses, four Services: the last two by key are assigned, the first two pending.
  const Result before =
      allocate(objects(pools, {Svc("ns/c").ingress({"203.0.113.11"}),
                               Svc("ns/d").ingress({"203.0.113.10"}), Svc("ns/a"), Svc("ns/b")}),
               {});
  for (int restart = 0; restart < 3; ++restart) {
    const Result after =
        allocate(objects(pools, {Svc("ns/a"), Svc("ns/b"), Svc("ns/c").ingress({"203.0.113.11"}),
                                 Svc("ns/d").ingress({"203.0.113.10"})}),
                 {});
    EXPECT_EQ(dump(after), dump(before));
    EXPECT_EQ(after.services.at("ns/c").assignment.ips, ips({"203.0.113.11"}));
    EXPECT_EQ(after.services.at("ns/d").assignment.ips, ips({"203.0.113.10"}));
    EXPECT_EQ(after.services.at("ns/a").state, ServiceState::kPending);
    EXPECT_EQ(after.services.at("ns/b").state, ServiceState::kPending);
  }
}

TEST(IpamPasses, PreferRequirePreferOnSingleStackPool) {
  const auto pools = std::vector<config::IPAddressPool>{Pool("v4", {"203.0.113.10/32"})};
  const Result prefer = allocate(objects(pools, {Svc("ns/a").policy(kPrefer)}), {});
  expect_services(prefer,
                  {assigned("ns/a", "v4", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})});
  const Result require =
      allocate(objects(pools, {Svc("ns/a").policy(kRequire)}), assignments_of(prefer));
  EXPECT_EQ(require.services.at("ns/a").state, ServiceState::kPending);
  EXPECT_TRUE(assignments_of(require).empty());
  const Result again =
      allocate(objects(pools, {Svc("ns/a").policy(kPrefer)}), assignments_of(require));
  expect_services(again,
                  {assigned("ns/a", "v4", {"203.0.113.10"}, {allocated(R"(["203.0.113.10"])")})});
}

TEST(IpamPasses, AdditionalFamilyDoesNotTakeAnotherHoldersAddress) {
  // ns/a (first by key) gains the IPv6 family; ns/b already holds the lowest IPv6 address.
  const auto o = objects({Pool("p", {"203.0.113.10/31", "2001:db8:200::10-2001:db8:200::11"})},
                         {Svc("ns/a").policy(kPrefer), Svc("ns/b").families({kV6})});
  const Result r = allocate(
      o, {{"ns/a", held("p", {"203.0.113.10"})}, {"ns/b", held("p", {"2001:db8:200::10"})}});
  expect_services(r, {assigned("ns/a", "p", {"203.0.113.10", "2001:db8:200::11"},
                               {additional(R"("2001:db8:200::11")")}),
                      assigned("ns/b", "p", {"2001:db8:200::10"})});
}

// ---- pool status (§2.1 status; §8.14) ----

TEST(IpamPoolStatus, CountsSharedAddressOnceAndPerFamily) {
  const auto o = objects(
      {Pool("dual", {"203.0.113.8/29", "2001:db8:200::/124"}), Pool("empty", {"203.0.113.32/30"})},
      {Svc("ns/a").share("k").ports({{"TCP", 80}}), Svc("ns/b").share("k").ports({{"TCP", 443}}),
       Svc("ns/c"), Svc("ns/d").policy(kRequire), Svc("ns/e").families({kV6})});
  const Result r = allocate(o, {});
  ASSERT_EQ(r.pools.size(), 2u);
  EXPECT_EQ(r.pools[0].name, "dual");
  EXPECT_EQ(r.pools[0].assigned_ipv4, 3u);  // .8 shared by a and b, .9 for c, .10 for d
  EXPECT_EQ(r.pools[0].available_ipv4, 5u);
  EXPECT_EQ(r.pools[0].assigned_ipv6, 2u);  // ::0 for d, ::1 for e
  EXPECT_EQ(r.pools[0].available_ipv6, 14u);
  EXPECT_EQ(r.pools[1].name, "empty");
  EXPECT_EQ(r.pools[1].assigned_ipv4, 0u);
  EXPECT_EQ(r.pools[1].available_ipv4, 4u);
  EXPECT_EQ(r.pools[1].assigned_ipv6, 0u);
  EXPECT_EQ(r.pools[1].available_ipv6, 0u);
  EXPECT_EQ(r.services.at("ns/b").assignment.ips, ips({"203.0.113.8"}));
}

TEST(IpamPoolStatus, AvoidBuggyIPsAreNotAvailable) {
  const auto o = objects({Pool("cidr", {"203.0.112.0/23"}).avoid_buggy_ips(),
                          Pool("range", {"203.0.113.250-203.0.114.5"}).avoid_buggy_ips(),
                          Pool("small", {"203.0.115.1-203.0.115.4"}).avoid_buggy_ips(),
                          Pool("plain", {"203.0.116.0/24"})},
                         {});
  const Result r = allocate(o, {});
  ASSERT_EQ(r.pools.size(), 4u);
  EXPECT_EQ(r.pools[0].available_ipv4, 512u - 4u);
  EXPECT_EQ(r.pools[1].available_ipv4, 12u - 2u);
  EXPECT_EQ(r.pools[2].available_ipv4, 4u);
  EXPECT_EQ(r.pools[3].available_ipv4, 256u);
}

TEST(IpamPoolStatus, HugeIPv6PoolWorksAndSaturates) {
  const auto o = objects(
      {Pool("huge", {"2001:db8:200::/64", "203.0.113.10/32"}),
       Pool("two-huge", {"2001:db8:300::/64", "2001:db8:400::/56"}),
       Pool("just-below", {"2001:db8:500::/67"}), Pool("threshold", {"2001:db8:600::/66"})},
      {Svc("ns/a").families({kV6}), Svc("ns/b").families({kV6}), Svc("ns/c").policy(kRequire)});
  const Result r = allocate(o, {{"ns/a", held("huge", {"2001:db8:200::1"})}});
  expect_services(
      r, {assigned("ns/a", "huge", {"2001:db8:200::1"}),
          assigned("ns/b", "huge", {"2001:db8:200::"}, {allocated(R"(["2001:db8:200::"])")}),
          assigned("ns/c", "huge", {"203.0.113.10", "2001:db8:200::2"},
                   {allocated(R"(["203.0.113.10" "2001:db8:200::2"])")})});
  ASSERT_EQ(r.pools.size(), 4u);
  EXPECT_EQ(r.pools[0].assigned_ipv6, 3u);
  EXPECT_EQ(r.pools[0].available_ipv6, kInt64Max);
  EXPECT_EQ(r.pools[0].assigned_ipv4, 1u);
  EXPECT_EQ(r.pools[0].available_ipv4, 0u);
  EXPECT_EQ(r.pools[1].available_ipv6, kInt64Max);
  EXPECT_EQ(r.pools[2].available_ipv6, uint64_t{1} << 61);
  EXPECT_EQ(r.pools[3].available_ipv6, kInt64Max);  // 2^62 addresses: MetalLB's MaxInt64
}

TEST(IpamPoolStatus, LastAddressOfTheSpaceDoesNotWrap) {
  const auto o = objects({Pool("top4", {"255.255.255.254/31"}),
                          Pool("top6", {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"})},
                         {Svc("ns/a"), Svc("ns/b"), Svc("ns/c"), Svc("ns/d").families({kV6}),
                          Svc("ns/e").families({kV6}), Svc("ns/f").families({kV6})});
  const Result r = allocate(o, {});
  EXPECT_EQ(r.services.at("ns/b").assignment.ips, ips({"255.255.255.255"}));
  EXPECT_EQ(r.services.at("ns/c").state, ServiceState::kPending);
  EXPECT_EQ(r.services.at("ns/e").assignment.ips, ips({"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}));
  EXPECT_EQ(r.services.at("ns/f").state, ServiceState::kPending);
}

TEST(IpamPoolStatus, ManyHoldersInHugePoolStayFast) {
  // 2000 holders at the start of a /64 and one newcomer: the walk steps over the used set only.
  std::vector<config::Service> services;
  std::map<ServiceKey, Assignment> previous;
  IpAddress next = ip("2001:db8:200::");
  for (int i = 0; i < 2000; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "ns/s%04d", i);
    services.push_back(Svc(key).families({kV6}));
    previous[key] = {{next}, "huge"};
    next = next.next();
  }
  services.push_back(Svc("ns/zz-new").families({kV6}));
  const Result r = allocate(objects({Pool("huge", {"2001:db8:200::/64"})}, services), previous);
  EXPECT_EQ(r.services.at("ns/zz-new").assignment.ips, ips({"2001:db8:200::7d0"}));
  EXPECT_EQ(r.pools[0].assigned_ipv6, 2001u);
}

// ---- determinism, feedback, robustness ----

TEST(IpamDeterminism, SameInputSameResultWhateverTheServiceOrder) {
  std::vector<config::Service> services = {Svc("b/one"),
                                           Svc("a/two").policy(kPrefer),
                                           Svc("c/three").share("k").ports({{"TCP", 1}}),
                                           Svc("a/four").share("k").ports({{"TCP", 2}}),
                                           Svc("d/five").families({kV6}),
                                           Svc("a/six").policy(kRequire),
                                           Svc("e/seven").lb_ip("203.0.113.3")};
  const std::vector<config::IPAddressPool> pools = {
      Pool("v4", {"203.0.113.0/29"}), Pool("dual", {"203.0.113.16/30", "2001:db8:200::/126"})};
  const Result first = allocate(objects(pools, services), {});
  const Result again = allocate(objects(pools, services), {});
  EXPECT_EQ(dump(first), dump(again));
  std::reverse(services.begin(), services.end());
  const Result reversed = allocate(objects(pools, services), {});
  EXPECT_EQ(dump(first), dump(reversed));
}

TEST(IpamAssignmentsOf, OnlyAssignedServices) {
  const auto o = objects({Pool("p", {"203.0.113.10/32"})},
                         {Svc("ns/a"), Svc("ns/b"), Svc("ns/c").type("ClusterIP")});
  const auto a = assignments_of(allocate(o, {}));
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a.at("ns/a"), held("p", {"203.0.113.10"}));
}

TEST(IpamRobustness, OddInputsNeverThrow) {
  config::IPAddressPool empty_pool = Pool("empty", {});
  config::IPAddressPool inverted = Pool("inverted", {});
  inverted.addresses.push_back({"x", {ip("203.0.113.20"), ip("203.0.113.10")}});
  config::IPAddressPool mixed = Pool("mixed", {});
  mixed.addresses.push_back({"y", {ip("203.0.113.30"), ip("2001:db8:200::1")}});
  config::IPAddressPool negative = Pool("negative", {"203.0.113.40/32"}).priority(-3);
  const auto o = objects(
      {empty_pool, inverted, mixed, negative, Pool("dup", {"203.0.113.50/32"}),
       Pool("dup", {"203.0.113.60/32"})},
      {Svc("ns/garbage-cluster-ips").cluster_ips({"nope"}),
       Svc("ns/three-cluster-ips").cluster_ips({"10.0.0.1", "fd00::1", "10.0.0.2"}),
       Svc("ns/same-family-cluster-ips").cluster_ips({"10.0.0.1", "10.0.0.2"}), Svc("ns/dup"),
       Svc("ns/dup").lb_ip("203.0.113.60"), Svc("/no-namespace"),
       Svc("ns/three-ingress").ingress({"203.0.113.50", "203.0.113.60", "2001:db8:200::1"}),
       Svc("ns/same-ingress").ingress({"203.0.113.50", "203.0.113.50"}),
       Svc("ns/duplicate-families").families({kV4, kV4}).policy(kSingle),
       Svc("ns/empty-annotations").lb_ips("").pool("").share(""), Svc("ns/no-ports").ports({})});
  std::map<ServiceKey, Assignment> previous = {
      {"ns/dup", held("gone", {"2001:db8:200::1", "2001:db8:200::2"})},
      {"ns/unknown", held("dup", {"203.0.113.50"})},
      {"ns/no-ports", {{}, "dup"}}};
  Result r;
  EXPECT_NO_THROW(r = allocate(o, previous));
  EXPECT_EQ(r.services.size(), 10u) << dump(r);
  EXPECT_EQ(r.pools.size(), 6u);
  expect_services(Result{{{"ns/garbage-cluster-ips", r.services.at("ns/garbage-cluster-ips")}}, {}},
                  {pending("ns/garbage-cluster-ips",
                           {failed("ns/garbage-cluster-ips",
                                   "invalid clusterIPs [nope], can't determine family")})});
  EXPECT_EQ(r.services.at("ns/three-cluster-ips").state, ServiceState::kPending);
  EXPECT_EQ(r.services.at("ns/same-family-cluster-ips").state, ServiceState::kPending);
  EXPECT_EQ(r.pools[1].available_ipv4, 0u);  // the inverted range holds nothing
}

}  // namespace
}  // namespace control::ipam
