// IPAM allocator: one pass over all Services, MetalLB's rules, deterministic order.
//
// Runs on the control thread (and in `portico check`); pure code. A pass goes:
//   1. read every served Service into a Claim (ipam_claim.h); a malformed request leaves the
//      Service pending with a Warning;
//   2. keep what holders already hold (previous run, else status.loadBalancer.ingress) when it is
//      still valid, in key order, so an address never moves on a reload and two holders of one
//      address resolve to the first by key; an invalid holding gets ClearAssignment;
//   3. give PreferDualStack holders the missing family from the pool they already use;
//   4. allocate afresh, in key order, for the holders that lost their addresses and then for
//      every Service that held nothing: requested IPs, else the requested pool, else pools whose
//      serviceAllocation matches (by priority), else the pools without one (input order).
// MetalLB does the same per Service in controller/service.go convergeBalancer and
// internal/allocator Allocate/AllocateFromPool/Assign; we run it for the whole set at once.
#include "control/ipam.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "control/ipam_claim.h"
#include "control/ipam_events.h"
#include "control/ipam_pools.h"
#include "control/ipam_usage.h"

namespace control::ipam {

ServiceKey service_key(const config::Service& s) { return s.meta.namespace_ + "/" + s.meta.name; }

std::map<ServiceKey, Assignment> assignments_of(const Result& r) {
  std::map<ServiceKey, Assignment> out;
  for (const auto& [key, service] : r.services) {
    if (service.state == ServiceState::kAssigned) out.emplace(key, service.assignment);
  }
  return out;
}

namespace {

using config::IpAddress;
using config::IPAddressPool;
using config::IpFamily;

// Either addresses for a claim, or why there are none.
struct Outcome {
  std::optional<Assignment> assignment;
  std::string error;

  static Outcome fail(std::string why) { return {std::nullopt, std::move(why)}; }
  static Outcome of(Assignment a) { return {std::move(a), ""}; }
};

// The first usable address of each family in one pool.
struct FreeAddresses {
  std::optional<IpAddress> v4;
  std::optional<IpAddress> v6;
  std::optional<IpAddress>& of(IpFamily f) { return f == IpFamily::kIPv4 ? v4 : v6; }
};

// True if `ips` is a valid set of load balancer addresses for the claim: one per family, only
// families the Service has, all of them unless it prefers (rather than requires) dual-stack.
bool fits_families(const Claim& c, const std::vector<IpAddress>& ips) {
  if (ips.empty() || ips.size() > c.families.size()) return false;
  for (const auto& ip : ips) {
    if (!c.wants_family(ip.family())) return false;
  }
  if (ips.size() == 2 && ips[0].family() == ips[1].family()) return false;
  return ips.size() == c.families.size() || c.prefer_dual_stack();
}

bool same_addresses(std::vector<IpAddress> a, std::vector<IpAddress> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

const char* families_text(const Claim& c) {
  if (c.families.size() == 2) return "dual-stack";
  return config::family_name(c.families[0]);
}

class Allocator {
 public:
  explicit Allocator(const config::ObjectSet& objects) : pools_(objects) {}

  // The claim's held addresses as an assignment if they are still valid for it.
  Outcome keep(const Claim& c, const std::vector<IpAddress>& held) const;
  // For a PreferDualStack claim holding one family: a free address of the other family in the
  // same pool, if the pool has one.
  std::optional<IpAddress> additional(const Claim& c, const Assignment& a) const;
  // New addresses for a claim that holds none.
  Outcome allocate(const Claim& c) const;
  // Marks the addresses of `a` as used by `c`.
  void commit(const Claim& c, const Assignment& a) { usage_.add(c, a); }
  std::vector<PoolStatus> pool_status(const std::vector<IPAddressPool>& pools) const;

 private:
  // Why `c` may not have `ips` (pool membership, serviceAllocation, sharing), or "".
  std::string check_addresses(const Claim& c, const std::vector<IpAddress>& ips,
                              const IPAddressPool** pool) const;
  Outcome from_requested_ips(const Claim& c) const;
  Outcome from_requested_pool(const Claim& c) const;
  Outcome from_automatic_pools(const Claim& c) const;
  std::optional<Assignment> best_pool(const std::vector<const IPAddressPool*>& pools,
                                      const Claim& c) const;
  FreeAddresses free_in(const IPAddressPool& pool, const Claim& c) const;

  PoolSet pools_;
  AddressUsage usage_;
};

std::string Allocator::check_addresses(const Claim& c, const std::vector<IpAddress>& ips,
                                       const IPAddressPool** pool) const {
  *pool = pools_.pool_for(ips);
  if (!*pool) return quote_ips(ips) + " is not allowed in config";
  if (!pools_.compatible(**pool, *c.service)) {
    return "pool " + (*pool)->meta.name + " not compatible for ip assignment";
  }
  for (const auto& ip : ips) {
    if (std::string why = usage_.conflict(ip, c); !why.empty()) return why;
  }
  return "";
}

Outcome Allocator::keep(const Claim& c, const std::vector<IpAddress>& held) const {
  if (!fits_families(c, held)) {
    return Outcome::fail(quote_ips(held) + " does not match the ipFamily of the service");
  }
  if (!c.requested_ips.empty() && !same_addresses(held, c.requested_ips)) {
    return Outcome::fail("user requested a different IP " + quote_ips(c.requested_ips));
  }
  if (!c.requested_pool.empty()) {
    const IPAddressPool* pool = pools_.pool_for(held);
    if (pool && pool->meta.name != c.requested_pool) {
      return Outcome::fail("user requested a different pool " + quote(c.requested_pool) +
                           " than the current pool " + quote(pool->meta.name));
    }
  }
  const IPAddressPool* pool = nullptr;
  if (std::string why = check_addresses(c, held, &pool); !why.empty()) return Outcome::fail(why);
  return Outcome::of({in_family_order(held, c.families), pool->meta.name});
}

std::optional<IpAddress> Allocator::additional(const Claim& c, const Assignment& a) const {
  const IPAddressPool* pool = pools_.find(a.pool);
  if (!pool || a.ips.size() != 1) return std::nullopt;
  const IpFamily missing = a.ips[0].is_v4() ? IpFamily::kIPv6 : IpFamily::kIPv4;
  if (!c.wants_family(missing)) return std::nullopt;
  return free_in(*pool, c).of(missing);
}

Outcome Allocator::allocate(const Claim& c) const {
  if (!c.requested_ips.empty()) return from_requested_ips(c);
  if (!c.requested_pool.empty()) return from_requested_pool(c);
  return from_automatic_pools(c);
}

Outcome Allocator::from_requested_ips(const Claim& c) const {
  if (!fits_families(c, c.requested_ips)) {
    return Outcome::fail("requested loadBalancer IP(s) " + quote_ips(c.requested_ips) +
                         " does not match the ipFamily of the service");
  }
  const IPAddressPool* pool = nullptr;
  if (std::string why = check_addresses(c, c.requested_ips, &pool); !why.empty()) {
    return Outcome::fail(why);
  }
  if (!c.requested_pool.empty() && pool->meta.name != c.requested_pool) {
    return Outcome::fail("requested loadBalancer IP(s) " + quote_ips(c.requested_ips) +
                         " is not compatible with requested address pool " + c.requested_pool);
  }
  return Outcome::of({c.requested_ips, pool->meta.name});
}

Outcome Allocator::from_requested_pool(const Claim& c) const {
  const IPAddressPool* pool = pools_.find(c.requested_pool);
  if (!pool) return Outcome::fail("unknown pool " + quote(c.requested_pool));
  if (!pools_.compatible(*pool, *c.service)) {
    return Outcome::fail("pool " + pool->meta.name + " not compatible for ip assignment");
  }
  if (auto a = best_pool({pool}, c)) return Outcome::of(std::move(*a));
  return Outcome::fail("no available IPs in pool " + quote(pool->meta.name) + " for " +
                       families_text(c));
}

Outcome Allocator::from_automatic_pools(const Claim& c) const {
  if (auto a = best_pool(pools_.pinned_pools(*c.service), c)) return Outcome::of(std::move(*a));
  if (auto a = best_pool(pools_.generic_pools(), c)) return Outcome::of(std::move(*a));
  return Outcome::fail("no available IPs");
}

// MetalLB findBestPoolForService + selectIPsForFamilyAndPolicy: the first pool that has every
// family of the claim; for PreferDualStack, failing that, the first pool with the primary
// family, else the first with the secondary one.
std::optional<Assignment> Allocator::best_pool(const std::vector<const IPAddressPool*>& pools,
                                               const Claim& c) const {
  const IpFamily primary = c.families[0];
  std::optional<Assignment> primary_only;
  std::optional<Assignment> secondary_only;
  for (const IPAddressPool* pool : pools) {
    FreeAddresses free = free_in(*pool, c);
    const auto& first = free.of(primary);
    if (c.families.size() == 1) {
      if (first) return Assignment{{*first}, pool->meta.name};
      continue;
    }
    const auto& second = free.of(c.families[1]);
    if (first && second) return Assignment{{*first, *second}, pool->meta.name};
    if (!c.prefer_dual_stack()) continue;
    if (first && !primary_only) primary_only = Assignment{{*first}, pool->meta.name};
    if (second && !secondary_only) secondary_only = Assignment{{*second}, pool->meta.name};
  }
  return primary_only ? primary_only : secondary_only;
}

FreeAddresses Allocator::free_in(const IPAddressPool& pool, const Claim& c) const {
  FreeAddresses free;
  for (const auto& entry : pool.addresses) {
    const IpFamily family = entry.range.family();
    auto& slot = free.of(family);
    if (slot || !c.wants_family(family)) continue;
    slot = usage_.first_free(entry.range, pool.avoid_buggy_ips, c);
  }
  return free;
}

std::vector<PoolStatus> Allocator::pool_status(const std::vector<IPAddressPool>& pools) const {
  auto available = [](uint64_t capacity, uint64_t used) {
    return capacity == kUnlimited ? kUnlimited : capacity - std::min(capacity, used);
  };
  std::vector<PoolStatus> out;
  for (const auto& pool : pools) {
    const PoolCapacity capacity = capacity_of(pool);
    const FamilyCounts used = usage_.assigned(pool.meta.name);
    out.push_back({pool.meta.name, used.ipv4, used.ipv6, available(capacity.ipv4, used.ipv4),
                   available(capacity.ipv6, used.ipv6)});
  }
  return out;
}

// ---- the pass ----

struct Work {
  Claim claim;
  std::vector<IpAddress> held;  // what the Service held before this pass
  ServiceResult* result = nullptr;
  bool kept = false;   // its holding survived the pass
  bool extra = false;  // an ExtraClaim (a Gateway), not a Service
};

bool is_served(const config::Service& s, const Options& options) {
  if (s.type != "LoadBalancer") return false;
  if (!s.cluster_ips.empty() && s.cluster_ips[0] == "None") return false;  // headless
  return !s.load_balancer_class || *s.load_balancer_class == options.load_balancer_class;
}

std::vector<IpAddress> held_addresses(const config::Service& s, const ServiceKey& key,
                                      const std::map<ServiceKey, Assignment>& previous) {
  const auto it = previous.find(key);
  if (it != previous.end() && !it->second.ips.empty()) return it->second.ips;
  return s.status_ingress;
}

void assign(Work& w, Assignment a) {
  w.result->state = ServiceState::kAssigned;
  w.result->assignment = std::move(a);
}

// MetalLB warns about metallb.universe.tf/ annotations only when it updates the Service, so only
// when the addresses change.
void warn_deprecated_annotations(const config::Service& s, const std::vector<IpAddress>& held,
                                 ServiceResult& r) {
  if (same_addresses(held, r.assignment.ips)) return;
  for (const auto& [name, value] : s.meta.annotations) {
    if (name.starts_with(kDeprecatedAnnotationPrefix)) {
      r.events.push_back(deprecated_annotation(name));
    }
  }
}

void keep_valid_holdings(Allocator& alloc, std::map<ServiceKey, Work>& work) {
  for (auto& [key, w] : work) {
    if (w.held.empty()) continue;
    Outcome o = alloc.keep(w.claim, w.held);
    if (!o.assignment) {
      w.result->events.push_back(clear_assignment(key, o.error));
      continue;
    }
    alloc.commit(w.claim, *o.assignment);
    assign(w, std::move(*o.assignment));
    w.kept = true;
  }
}

// PreferDualStack holders of one family get the other one when their pool gained it; they never
// move to another pool for it. A Service that requested its addresses keeps exactly those.
void add_missing_families(Allocator& alloc, std::map<ServiceKey, Work>& work) {
  for (auto& [key, w] : work) {
    Assignment& a = w.result->assignment;
    if (!w.kept || !w.claim.prefer_dual_stack() || !w.claim.requested_ips.empty() ||
        a.ips.size() != 1) {
      continue;
    }
    const std::optional<IpAddress> ip = alloc.additional(w.claim, a);
    if (!ip) continue;
    alloc.commit(w.claim, {{*ip}, a.pool});
    a.ips.push_back(*ip);
    a.ips = in_family_order(std::move(a.ips), w.claim.families);
    w.result->events.push_back(additional_ip_allocated(*ip));
  }
}

void allocate_afresh(Allocator& alloc, Work& w) {
  Outcome o = alloc.allocate(w.claim);
  if (!o.assignment) {
    w.result->events.push_back(allocation_failed(w.claim.key, o.error));
    return;
  }
  alloc.commit(w.claim, *o.assignment);
  w.result->events.push_back(ip_allocated(o.assignment->ips));
  assign(w, std::move(*o.assignment));
}

}  // namespace

Result allocate(const config::ObjectSet& objects, const std::map<ServiceKey, Assignment>& previous,
                const Options& options, const std::vector<ExtraClaim>& extra) {
  Result result;
  Allocator alloc(objects);
  std::map<ServiceKey, Work> work;  // served claimants with a usable claim, in key order

  auto add = [&](const config::Service& s, const ServiceKey& key, bool is_extra) {
    auto [it, inserted] = result.services.try_emplace(key);
    if (!inserted) return;  // duplicate name (the loader rejects it): the first one counts
    ServiceResult& r = it->second;
    r.key = key;
    if (!is_served(s, options)) return;
    r.state = ServiceState::kPending;
    std::vector<IpAddress> held = held_addresses(s, key, previous);
    ClaimResult claim = make_claim(s, key);
    if (!claim.claim) {
      r.events.push_back(claim.error);
      warn_deprecated_annotations(s, held, r);
      return;
    }
    work.emplace(key, Work{std::move(*claim.claim), std::move(held), &r, false, is_extra});
  };
  for (const auto& s : objects.services) add(s, service_key(s), false);
  for (const auto& e : extra) add(e.service, e.key, true);

  keep_valid_holdings(alloc, work);
  add_missing_families(alloc, work);
  for (auto& [key, w] : work) {  // former holders first: they lost their address to config
    if (!w.kept && !w.held.empty()) allocate_afresh(alloc, w);
  }
  for (bool extras : {false, true}) {
    for (auto& [key, w] : work) {
      if (w.held.empty() && w.extra == extras) allocate_afresh(alloc, w);
    }
  }
  for (auto& [key, w] : work) warn_deprecated_annotations(*w.claim.service, w.held, *w.result);

  result.pools = alloc.pool_status(objects.pools);
  return result;
}

}  // namespace control::ipam
