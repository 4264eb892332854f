// IPAM: give LoadBalancer Services addresses from IPAddressPools with MetalLB's semantics.
//
// Pure code (no I/O, no clock, no DPDK): the same inputs always give the same result. The
// control thread runs it on every configuration change; `portico check` runs it once. It
// follows MetalLB's controller (controller/service.go, internal/allocator): which Services are
// served (type LoadBalancer, loadBalancerClass), requested pools and IPs (annotations under
// metallb.io/ and metallb.universe.tf/, spec.loadBalancerIP), pool choice (serviceAllocation
// priority, namespaces, selectors, autoAssign), lowest free address first (avoidBuggyIPs),
// sharing (allow-shared-ip key, ports, traffic policy), and single/prefer/require dual-stack.
// See shared/reference/metallb.md §2.1 and §3 for the rules this reproduces.
//
// Stability: addresses a Service already holds (from the previous run of the allocator, or from
// its status.loadBalancer.ingress in the input) are kept when still valid, and all such Services
// are placed before any Service that holds nothing, so a reload never moves an address.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/objects.h"

namespace control::ipam {

inline constexpr const char* kPorticoLoadBalancerClass = "portico.io/lb";

// "namespace/name"
using ServiceKey = std::string;
ServiceKey service_key(const config::Service& s);

struct Event {
  std::string type;    // "Normal" or "Warning", as Kubernetes events
  std::string reason;  // MetalLB's reasons: IPAllocated, AllocationFailed, ClearAssignment, ...
  std::string message;
  bool operator==(const Event&) const = default;
};

enum class ServiceState : uint8_t {
  kIgnored,   // not ours: not LoadBalancer, another loadBalancerClass, headless
  kAssigned,  // holds ips (one or two families)
  kPending,   // ours but no address could be given; events say why
};

struct Assignment {
  std::vector<config::IpAddress> ips;  // in ipFamilies order; at most one per family
  std::string pool;                    // pool every ip comes from
  bool operator==(const Assignment&) const = default;
};

struct ServiceResult {
  ServiceKey key;
  ServiceState state = ServiceState::kIgnored;
  Assignment assignment;      // set when kAssigned
  std::vector<Event> events;  // what the controller would emit for this pass
};

struct PoolStatus {
  std::string name;
  uint64_t assigned_ipv4 = 0;  // distinct addresses in use (a shared ip counts once)
  uint64_t assigned_ipv6 = 0;
  uint64_t available_ipv4 = 0;  // still free (saturating at INT64_MAX like MetalLB)
  uint64_t available_ipv6 = 0;
};

struct Result {
  std::map<ServiceKey, ServiceResult> services;  // every Service of the input
  std::vector<PoolStatus> pools;                 // in input order
};

struct Options {
  std::string load_balancer_class = kPorticoLoadBalancerClass;
};

// Something other than a Service that takes addresses from the pools (a Gateway: see
// control/gateway.h gateway_claims), presented as the LoadBalancer Service it stands for. Its
// key must differ from every Service key; its result lands in Result::services under that key.
struct ExtraClaim {
  ServiceKey key;
  config::Service service;
};

// previous: what each Service held after the last successful run (empty at start-up).
// extra: further claimants, served after the Services holding nothing (so a reload never takes
// an address from a Service to give it to a Gateway), with the same rules otherwise.
Result allocate(const config::ObjectSet& objects, const std::map<ServiceKey, Assignment>& previous,
                const Options& options = {}, const std::vector<ExtraClaim>& extra = {});

// The assignments of a result, to feed back as `previous` on the next run.
std::map<ServiceKey, Assignment> assignments_of(const Result& r);

}  // namespace control::ipam
