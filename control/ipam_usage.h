// The addresses handed out so far in one allocation pass, who uses them, and who may join.
//
// Pure code run by allocate() on the control thread. Holds one entry per address in use (the
// used set is small next to the pools, which may be whole IPv6 /64s), so finding a free address
// walks a range from its start and only ever steps over used or buggy addresses; a range is
// never enumerated. Sharing follows MetalLB internal/allocator checkSharing/sharingOK (§3.5 of
// shared/reference/metallb.md): same non-empty sharing key, same backend key, no (protocol, port)
// used twice on the address.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/ip.h"
#include "control/ipam.h"
#include "control/ipam_claim.h"

namespace control::ipam {

struct FamilyCounts {
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
};

class AddressUsage {
 public:
  // Why `claim` may not use `ip` (it is in use by a Service it cannot share with), or "".
  std::string conflict(const config::IpAddress& ip, const Claim& claim) const;

  // The lowest address of `range` that `claim` may use, skipping IPv4 .0/.255 addresses when
  // `avoid_buggy_ips`; nullopt if there is none.
  std::optional<config::IpAddress> first_free(const config::IpRange& range, bool avoid_buggy_ips,
                                              const Claim& claim) const;

  // Records that `claim` now holds `assignment`.
  void add(const Claim& claim, const Assignment& assignment);

  // Distinct addresses in use from the pool named `pool`.
  FamilyCounts assigned(const std::string& pool) const;

 private:
  struct User {
    ServiceKey key;
    std::string sharing_key;
    std::string backend_key;
    std::vector<PortKey> ports;
  };
  struct Entry {
    std::string pool;
    std::vector<User> users;  // in the order they were added
  };
  static std::string user_conflict(const config::IpAddress& ip, const User& user,
                                   const Claim& claim);

  std::map<config::IpAddress, Entry> entries_;
};

}  // namespace control::ipam
