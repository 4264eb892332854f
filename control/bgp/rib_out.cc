// Adj-RIB-Out: diffing and packing routes into UPDATEs. Overview in rib_out.h.
#include "control/bgp/rib_out.h"

#include <algorithm>
#include <tuple>

namespace bgp {

namespace {

// Bytes one prefix takes in NLRI, withdrawn routes or MP_(UN)REACH: length octet + the
// significant octets (RFC 4271 4.3).
size_t prefix_bytes(const Prefix& p) { return 1 + (size_t(p.length) + 7) / 8; }

// Room kept while adding prefixes by arithmetic: an MP_(UN)REACH attribute growing past 255
// bytes takes the extended-length form, one octet more. The classic IPv4 fields have fixed
// 2-octet lengths and need none. The result is checked against the codec's own size anyway.
size_t slack(Afi family) { return family == Afi::kIPv4 ? 0 : 2; }

// What can differ between two routes of one session: the grouping key.
using GroupKey =
    std::tuple<std::optional<uint32_t>, std::vector<uint32_t>, std::vector<LargeCommunity>>;

GroupKey key_of(const Attributes& a) { return {a.local_pref, a.communities, a.large_communities}; }

config::IpFamily family_of(Afi afi) {
  return afi == Afi::kIPv4 ? config::IpFamily::kIPv4 : config::IpFamily::kIPv6;
}

}  // namespace

AdjRibOut::AdjRibOut(const RibOutOptions& options) : options_(options) {}

Update AdjRibOut::end_of_rib(const AfiSafi& af) {
  Update u;
  if (!(af.afi == Afi::kIPv4 && af.safi == kSafiUnicast)) u.mp_unreach_af = af;
  return u;
}

Attributes AdjRibOut::attributes_for(const Route& route) const {
  Attributes a;
  a.origin = Origin::kIgp;
  if (!options_.ibgp) a.as_path = {options_.my_asn};
  a.next_hop = options_.next_hop;
  // RFC 4271 5.1.5: LOCAL_PREF is for internal peers only, and on those it is always sent.
  if (options_.ibgp) a.local_pref = route.local_pref.value_or(kDefaultLocalPref);
  a.communities = route.communities;
  std::sort(a.communities.begin(), a.communities.end());
  a.communities.erase(std::unique(a.communities.begin(), a.communities.end()), a.communities.end());
  a.large_communities = route.large_communities;
  std::sort(a.large_communities.begin(), a.large_communities.end());
  a.large_communities.erase(std::unique(a.large_communities.begin(), a.large_communities.end()),
                            a.large_communities.end());
  return a;
}

void AdjRibOut::set_desired(const std::vector<Route>& routes) {
  desired_.clear();
  ignored_ = 0;
  const auto family = family_of(options_.family);
  for (const auto& r : routes) {
    if (r.prefix.address.family() != family || r.prefix.length > r.prefix.address.bit_length()) {
      ++ignored_;
      continue;
    }
    if (!desired_.emplace(r.prefix, attributes_for(r)).second) ++ignored_;
  }
}

void AdjRibOut::pack_withdrawals(const std::vector<Prefix>& prefixes,
                                 std::vector<Update>& out) const {
  const bool v4 = options_.family == Afi::kIPv4;
  size_t i = 0;
  while (i < prefixes.size()) {
    Update u;
    if (!v4) u.mp_unreach_af = AfiSafi{options_.family, kSafiUnicast};
    auto& field = v4 ? u.withdrawn : u.mp_unreach;
    field.push_back(prefixes[i++]);
    size_t size = encoded_update_size(u, options_.codec);
    while (i < prefixes.size() &&
           size + prefix_bytes(prefixes[i]) + slack(options_.family) <= kMaxMessageLen) {
      size += prefix_bytes(prefixes[i]);
      field.push_back(prefixes[i++]);
    }
    while (field.size() > 1 && encoded_update_size(u, options_.codec) > kMaxMessageLen) {
      field.pop_back();
      --i;
    }
    out.push_back(std::move(u));
  }
}

std::vector<Prefix> AdjRibOut::pack_announcements(const Attributes& attrs,
                                                  const std::vector<Prefix>& prefixes,
                                                  std::vector<Update>& out) const {
  std::vector<Prefix> unsendable;
  const bool v4 = options_.family == Afi::kIPv4;
  size_t i = 0;
  while (i < prefixes.size()) {
    Update u;
    u.attrs = attrs;
    if (!v4) u.mp_reach_af = AfiSafi{options_.family, kSafiUnicast};
    auto& field = v4 ? u.nlri : u.mp_reach;
    field.push_back(prefixes[i++]);
    size_t size = encoded_update_size(u, options_.codec);
    if (size > kMaxMessageLen) {
      // The attributes alone do not fit: no prefix with them can ever be sent.
      unsendable.push_back(field.back());
      continue;
    }
    while (i < prefixes.size() &&
           size + prefix_bytes(prefixes[i]) + slack(options_.family) <= kMaxMessageLen) {
      size += prefix_bytes(prefixes[i]);
      field.push_back(prefixes[i++]);
    }
    while (field.size() > 1 && encoded_update_size(u, options_.codec) > kMaxMessageLen) {
      field.pop_back();
      --i;
    }
    out.push_back(std::move(u));
  }
  return unsendable;
}

std::vector<Update> AdjRibOut::build(bool resend_all) {
  std::vector<Prefix> withdrawn;
  for (const auto& [prefix, attrs] : sent_) {
    if (!desired_.contains(prefix)) withdrawn.push_back(prefix);
  }
  std::map<GroupKey, std::pair<Attributes, std::vector<Prefix>>> groups;
  for (const auto& [prefix, attrs] : desired_) {
    auto it = sent_.find(prefix);
    if (!resend_all && it != sent_.end() && it->second == attrs) continue;
    auto& g = groups[key_of(attrs)];
    g.first = attrs;
    g.second.push_back(prefix);
  }

  std::vector<Update> out;
  pack_withdrawals(withdrawn, out);
  for (const auto& prefix : withdrawn) sent_.erase(prefix);
  too_large_ = 0;
  for (const auto& [key, group] : groups) {
    const auto& [attrs, prefixes] = group;
    const auto unsendable = pack_announcements(attrs, prefixes, out);
    for (const auto& prefix : prefixes) {
      if (std::find(unsendable.begin(), unsendable.end(), prefix) == unsendable.end()) {
        sent_[prefix] = attrs;
        continue;
      }
      // Announced before with attributes that fitted? Then the peer still has the old
      // attributes; withdraw rather than leave a stale route there.
      if (sent_.erase(prefix)) pack_withdrawals({prefix}, out);
      ++too_large_;
    }
  }
  return out;
}

std::vector<Update> AdjRibOut::sync() { return build(false); }

std::vector<Update> AdjRibOut::initial_sync() {
  auto out = build(false);
  out.push_back(end_of_rib(AfiSafi{options_.family, kSafiUnicast}));
  return out;
}

std::vector<Update> AdjRibOut::refresh(const AfiSafi& af) {
  if (af.afi != options_.family || af.safi != kSafiUnicast) return {};
  auto out = build(true);
  out.push_back(end_of_rib(af));
  return out;
}

std::vector<Update> AdjRibOut::withdraw_all() {
  std::vector<Prefix> all;
  for (const auto& [prefix, attrs] : sent_) all.push_back(prefix);
  std::vector<Update> out;
  pack_withdrawals(all, out);
  sent_.clear();
  return out;
}

}  // namespace bgp
