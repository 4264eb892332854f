// What one LoadBalancer Service asks of IPAM, read from its spec and MetalLB annotations.
//
// Pure code run by allocate() on the control thread. A Claim is a Service reduced to what
// allocation needs: its IP families (primary first) and family policy, the pool or addresses it
// requests, and the keys that decide whether it may share an address with another Service
// (MetalLB controller/service.go getDesiredLbIPs, SharingKey; internal/allocator/k8salloc).
// Families follow Kubernetes defaulting: spec.clusterIPs when given, else spec.ipFamilies, with a
// missing policy meaning RequireDualStack when two families or cluster IPs are written.
// A malformed request becomes the Warning event that leaves the Service pending.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/ip.h"
#include "config/objects.h"
#include "control/ipam.h"

namespace control::ipam {

inline constexpr const char* kAnnotationPrefix = "metallb.io/";
inline constexpr const char* kDeprecatedAnnotationPrefix = "metallb.universe.tf/";

// A (protocol, port) pair: two Services sharing an address may not both use one.
struct PortKey {
  std::string protocol;
  uint16_t port = 0;
  std::string str() const { return protocol + "/" + std::to_string(port); }
  auto operator<=>(const PortKey&) const = default;
};

struct Claim {
  ServiceKey key;
  const config::Service* service = nullptr;
  std::vector<config::IpFamily> families;  // one or two, primary first
  config::IpFamilyPolicy policy = config::IpFamilyPolicy::kSingleStack;
  std::string requested_pool;                    // address-pool annotation; "" = none
  std::vector<config::IpAddress> requested_ips;  // loadBalancerIPs or spec.loadBalancerIP
  std::string sharing_key;                       // allow-shared-ip; "" = never shares
  std::string backend_key;  // "" for Cluster; the selector as "k=v,k2=v2" for Local
  std::vector<PortKey> ports;

  bool prefer_dual_stack() const { return policy == config::IpFamilyPolicy::kPreferDualStack; }
  bool wants_family(config::IpFamily f) const;
};

// Either a claim, or the Warning event that explains why the Service cannot get an address.
struct ClaimResult {
  std::optional<Claim> claim;
  Event error;
};

ClaimResult make_claim(const config::Service& s);
// The same with the key given (claims that are not Services, see ExtraClaim).
ClaimResult make_claim(const config::Service& s, const ServiceKey& key);

// Value of annotation `name` ("address-pool"...) under metallb.io/, else under the deprecated
// metallb.universe.tf/ prefix; nullptr if neither is present. *used gets the full key found.
const std::string* metallb_annotation(const config::Service& s, const std::string& name,
                                      std::string* used = nullptr);

// `ips` ordered like `families` (addresses of other families keep their order, at the end).
std::vector<config::IpAddress> in_family_order(std::vector<config::IpAddress> ips,
                                               const std::vector<config::IpFamily>& families);

}  // namespace control::ipam
