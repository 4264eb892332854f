// Address usage and sharing checks for one IPAM pass; see ipam_usage.h.
#include "control/ipam_usage.h"

#include <algorithm>

#include "control/ipam_events.h"
#include "control/ipam_pools.h"

namespace control::ipam {

std::string AddressUsage::user_conflict(const config::IpAddress& ip, const User& user,
                                        const Claim& claim) {
  const std::string in_use = quote(ip.str()) + " already in use by " + user.key;
  if (user.sharing_key.empty()) {
    return in_use + ", sharing key mismatch: the existing service does not allow sharing";
  }
  if (claim.sharing_key.empty()) {
    return in_use + ", sharing key mismatch: this service does not allow sharing";
  }
  if (user.sharing_key != claim.sharing_key) {
    return in_use + ", sharing key mismatch: " + quote(claim.sharing_key) +
           " does not match existing " + quote(user.sharing_key);
  }
  if (user.backend_key != claim.backend_key) {
    return in_use + ", backend key mismatch: " + quote(claim.backend_key) +
           " does not match existing " + quote(user.backend_key);
  }
  for (const auto& port : claim.ports) {
    if (std::find(user.ports.begin(), user.ports.end(), port) != user.ports.end()) {
      return in_use + ", port " + port.str() + " is used by both";
    }
  }
  return "";
}

std::string AddressUsage::conflict(const config::IpAddress& ip, const Claim& claim) const {
  const auto it = entries_.find(ip);
  if (it == entries_.end()) return "";
  for (const auto& user : it->second.users) {
    if (user.key == claim.key) continue;
    if (std::string why = user_conflict(ip, user, claim); !why.empty()) return why;
  }
  return "";
}

std::optional<config::IpAddress> AddressUsage::first_free(const config::IpRange& range,
                                                          bool avoid_buggy_ips,
                                                          const Claim& claim) const {
  if (range.last < range.first || range.first.family() != range.last.family()) return std::nullopt;
  // Each step passes a used address or one of at most two buggy addresses in a row, so the walk
  // is bounded by the size of the used set, never by the size of the range.
  config::IpAddress candidate = range.first;
  while (true) {
    const bool skip = avoid_buggy_ips && confuses_buggy_firmware(candidate);
    if (!skip && conflict(candidate, claim).empty()) return candidate;
    if (candidate == range.last) return std::nullopt;
    bool wrapped = false;
    candidate = candidate.next(&wrapped);
    if (wrapped) return std::nullopt;
  }
}

void AddressUsage::add(const Claim& claim, const Assignment& assignment) {
  for (const auto& ip : assignment.ips) {
    Entry& entry = entries_[ip];
    if (entry.users.empty()) entry.pool = assignment.pool;
    entry.users.push_back({claim.key, claim.sharing_key, claim.backend_key, claim.ports});
  }
}

FamilyCounts AddressUsage::assigned(const std::string& pool) const {
  FamilyCounts counts;
  for (const auto& [ip, entry] : entries_) {
    if (entry.pool != pool) continue;
    ++(ip.is_v4() ? counts.ipv4 : counts.ipv6);
  }
  return counts;
}

}  // namespace control::ipam
