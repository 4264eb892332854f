// Pool membership, compatibility, order and capacity for IPAM; see ipam_pools.h.
#include "control/ipam_pools.h"

#include <algorithm>

namespace control::ipam {

namespace {

constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";
constexpr uint64_t kHugeRange = uint64_t{1} << 62;

uint64_t add_saturating(uint64_t a, uint64_t b) {
  return a >= kUnlimited - std::min(b, kUnlimited) ? kUnlimited : a + b;
}

// Numbers x in [first, last] with x % 256 == rest.
uint64_t count_with_last_octet(uint64_t first, uint64_t last, uint64_t rest) {
  auto up_to = [rest](uint64_t x) { return x >= rest ? (x - rest) / 256 + 1 : 0; };  // [0, x]
  return up_to(last) - (first == 0 ? 0 : up_to(first - 1));
}

// Addresses of one pool entry that the pool may hand out.
uint64_t usable_in_range(const config::IpRange& range, bool avoid_buggy_ips) {
  const uint64_t size = range.size();  // 0 for a malformed range
  if (size == 0) return 0;
  if (size >= kHugeRange) return kUnlimited;
  if (!avoid_buggy_ips || !range.first.is_v4()) return size;
  const uint64_t first = range.first.v4_host_order();
  const uint64_t last = range.last.v4_host_order();
  const uint64_t buggy =
      count_with_last_octet(first, last, 0) + count_with_last_octet(first, last, 255);
  return size - std::min(size, buggy);
}

bool namespace_allowed(const config::ServiceAllocation& sa, const std::string& ns,
                       const config::Labels& ns_labels) {
  if (sa.namespaces.empty() && sa.namespace_selectors.empty()) return true;
  if (std::find(sa.namespaces.begin(), sa.namespaces.end(), ns) != sa.namespaces.end()) return true;
  return std::any_of(sa.namespace_selectors.begin(), sa.namespace_selectors.end(),
                     [&](const config::LabelSelector& sel) { return sel.matches(ns_labels); });
}

// sortPools: a set priority (> 0) before an unset one (0), lower number first.
bool before_by_priority(const config::IPAddressPool* a, const config::IPAddressPool* b) {
  const int pa = a->service_allocation->priority;
  const int pb = b->service_allocation->priority;
  if (pa > 0 && pb > 0) return pa < pb;
  return pa > 0 && pb <= 0;
}

}  // namespace

bool confuses_buggy_firmware(const config::IpAddress& ip) {
  return ip.is_v4() && (ip.bytes()[3] == 0 || ip.bytes()[3] == 255);
}

bool pool_may_hand_out(const config::IPAddressPool& pool, const config::IpAddress& ip) {
  if (pool.avoid_buggy_ips && confuses_buggy_firmware(ip)) return false;
  return std::any_of(pool.addresses.begin(), pool.addresses.end(),
                     [&](const config::PoolEntry& e) { return e.range.contains(ip); });
}

PoolCapacity capacity_of(const config::IPAddressPool& pool) {
  PoolCapacity c;
  for (const auto& entry : pool.addresses) {
    uint64_t& total = entry.range.family() == config::IpFamily::kIPv4 ? c.ipv4 : c.ipv6;
    total = add_saturating(total, usable_in_range(entry.range, pool.avoid_buggy_ips));
  }
  return c;
}

PoolSet::PoolSet(const config::ObjectSet& objects) : pools_(objects.pools) {
  for (const auto& ns : objects.namespaces) {
    namespace_labels_.emplace(ns.meta.name, ns.meta.labels);  // first wins on duplicates
  }
}

config::Labels PoolSet::namespace_labels(const std::string& name) const {
  config::Labels labels;
  if (auto it = namespace_labels_.find(name); it != namespace_labels_.end()) labels = it->second;
  labels.emplace(kNamespaceNameLabel, name);
  return labels;
}

const config::IPAddressPool* PoolSet::find(const std::string& name) const {
  for (const auto& p : pools_) {
    if (p.meta.name == name) return &p;
  }
  return nullptr;
}

const config::IPAddressPool* PoolSet::pool_for(const std::vector<config::IpAddress>& ips) const {
  if (ips.empty()) return nullptr;
  for (const auto& p : pools_) {
    const bool all = std::all_of(ips.begin(), ips.end(), [&](const config::IpAddress& ip) {
      return pool_may_hand_out(p, ip);
    });
    if (all) return &p;
  }
  return nullptr;
}

bool PoolSet::compatible(const config::IPAddressPool& pool, const config::Service& s) const {
  if (!pool.service_allocation) return true;
  const auto& sa = *pool.service_allocation;
  if (!namespace_allowed(sa, s.meta.namespace_, namespace_labels(s.meta.namespace_))) {
    return false;
  }
  return config::any_matches(sa.service_selectors, s.meta.labels);
}

std::vector<const config::IPAddressPool*> PoolSet::pinned_pools(const config::Service& s) const {
  std::vector<const config::IPAddressPool*> out;
  for (const auto& p : pools_) {
    if (p.service_allocation && p.auto_assign && compatible(p, s)) out.push_back(&p);
  }
  std::stable_sort(out.begin(), out.end(), before_by_priority);
  return out;
}

std::vector<const config::IPAddressPool*> PoolSet::generic_pools() const {
  std::vector<const config::IPAddressPool*> out;
  for (const auto& p : pools_) {
    if (p.auto_assign && !p.service_allocation) out.push_back(&p);
  }
  return out;
}

}  // namespace control::ipam
