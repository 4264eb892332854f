// IPAddressPools as the allocator sees them: which addresses a pool may hand out, which Services
// may use it, in which order pools are tried, and how many addresses each one holds.
//
// Pure code run by allocate() on the control thread; follows MetalLB internal/allocator
// (poolFor, isPoolCompatibleWithService, pinnedPoolsForService, sortPools, poolCount).
// Where MetalLB's order is arbitrary (Go map iteration, unstable sort), ours is input order.
// serviceAllocation namespaceSelectors are matched against the labels of the Namespace objects
// of the input; every namespace also carries kubernetes.io/metadata.name=<name>, as the API
// server sets it, so a selector on that label works without a Namespace object.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/ip.h"
#include "config/objects.h"

namespace control::ipam {

// IPv4 addresses ending in .0 or .255, which confuse the smurf protection of some CPE firmware
// (MetalLB ipConfusesBuggyFirmwares); avoidBuggyIPs pools neither hand them out nor accept them.
bool confuses_buggy_firmware(const config::IpAddress& ip);

// True if `pool` may hand out `ip`: inside one of its entries, and not a buggy address when the
// pool avoids them.
bool pool_may_hand_out(const config::IPAddressPool& pool, const config::IpAddress& ip);

// Addresses a pool may hand out, per family, counting any range of 2^62 or more addresses (and
// any total beyond) as INT64_MAX, like MetalLB's pool status.
struct PoolCapacity {
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
};
PoolCapacity capacity_of(const config::IPAddressPool& pool);
inline constexpr uint64_t kUnlimited = INT64_MAX;

class PoolSet {
 public:
  explicit PoolSet(const config::ObjectSet& objects);

  const config::IPAddressPool* find(const std::string& name) const;  // first with that name
  // The pool that may hand out every address of `ips`, or nullptr (first in input order).
  const config::IPAddressPool* pool_for(const std::vector<config::IpAddress>& ips) const;
  // serviceAllocation allows `s`: namespace in namespaces or matched by a namespaceSelector
  // (when either list is set) and labels matched by a serviceSelector (when set).
  bool compatible(const config::IPAddressPool& pool, const config::Service& s) const;
  // Pools with a serviceAllocation compatible with `s` and autoAssign, by priority: 1, 2, ...
  // first, then 0 (unset); input order among equals.
  std::vector<const config::IPAddressPool*> pinned_pools(const config::Service& s) const;
  // Pools with autoAssign and no serviceAllocation, in input order.
  std::vector<const config::IPAddressPool*> generic_pools() const;

 private:
  config::Labels namespace_labels(const std::string& name) const;

  const std::vector<config::IPAddressPool>& pools_;
  std::map<std::string, config::Labels> namespace_labels_;
};

}  // namespace control::ipam
