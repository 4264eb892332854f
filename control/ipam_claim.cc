// Reading a Service into an IPAM Claim; see ipam_claim.h.
#include "control/ipam_claim.h"

#include <algorithm>

#include "control/ipam_events.h"

namespace control::ipam {

namespace {

using config::IpAddress;
using config::IpFamily;
using config::IpFamilyPolicy;

IpFamily other_family(IpFamily f) {
  return f == IpFamily::kIPv4 ? IpFamily::kIPv6 : IpFamily::kIPv4;
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::string bracketed(const std::vector<std::string>& items) {  // Go's %v of a []string
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? " " : "") + items[i];
  return out + "]";
}

// Kubernetes defaulting of spec.ipFamilyPolicy: two families or two cluster IPs without a
// policy mean RequireDualStack.
IpFamilyPolicy policy_of(const config::Service& s) {
  if (s.ip_family_policy_set) return s.ip_family_policy;
  if (s.cluster_ips.size() >= 2 || s.ip_families.size() >= 2) {
    return IpFamilyPolicy::kRequireDualStack;
  }
  return IpFamilyPolicy::kSingleStack;
}

// Families from spec.clusterIPs, which Kubernetes fills to match the family policy. Returns the
// reason the Service cannot be served, or "".
std::string families_from_cluster_ips(const config::Service& s, IpFamilyPolicy policy,
                                      std::vector<IpFamily>* families) {
  for (const auto& text : s.cluster_ips) {
    const auto ip = IpAddress::parse(text);
    const bool duplicate =
        ip && std::find(families->begin(), families->end(), ip->family()) != families->end();
    if (!ip || duplicate || families->size() == 2) {
      return "invalid clusterIPs " + bracketed(s.cluster_ips) + ", can't determine family";
    }
    families->push_back(ip->family());
  }
  if (policy == IpFamilyPolicy::kRequireDualStack && families->size() < 2) {
    return "service requires dual stack but not enough clusterips " + bracketed(s.cluster_ips);
  }
  return "";
}

// Families from spec.ipFamilies, completed as the API server of a dual-stack cluster would.
std::vector<IpFamily> families_from_spec(const config::Service& s, IpFamilyPolicy policy) {
  std::vector<IpFamily> families;
  for (IpFamily f : s.ip_families) {
    if (std::find(families.begin(), families.end(), f) == families.end()) families.push_back(f);
  }
  if (families.empty()) families.push_back(IpFamily::kIPv4);
  if (policy != IpFamilyPolicy::kSingleStack && families.size() == 1) {
    families.push_back(other_family(families[0]));
  }
  return families;
}

// The addresses the Service asks for, or the event explaining why the request is unusable.
std::optional<Event> requested_ips(const config::Service& s, const ServiceKey& key,
                                   std::vector<IpAddress>* out) {
  std::string annotation_name;
  const std::string* annotation = metallb_annotation(s, "loadBalancerIPs", &annotation_name);
  const bool by_annotation = annotation && !annotation->empty();
  if (by_annotation && !s.load_balancer_ip.empty()) {
    return allocation_failed(
        key, "service can not have both " + annotation_name + " and svc.Spec.LoadBalancerIP");
  }
  if (!by_annotation) {
    if (s.load_balancer_ip.empty()) return std::nullopt;
    const auto ip = IpAddress::parse(s.load_balancer_ip);
    if (!ip) {
      return load_balancer_failed("invalid spec.loadBalancerIP " + quote(s.load_balancer_ip));
    }
    out->push_back(*ip);
    return std::nullopt;
  }
  std::string_view rest = *annotation;
  while (true) {
    const auto comma = rest.find(',');
    const auto ip = IpAddress::parse(trim(rest.substr(0, comma)));
    if (!ip) return load_balancer_failed("invalid " + annotation_name + ": " + quote(*annotation));
    out->push_back(*ip);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (out->size() > 2) {
    return allocation_failed(key, "requested loadBalancer IPs " + quote_ips(*out) +
                                      ": at most two addresses, one per family");
  }
  if (out->size() == 2 && (*out)[0].family() == (*out)[1].family()) {
    return allocation_failed(
        key, "requested loadBalancer IPs " + quote_ips(*out) + " have the same family");
  }
  return std::nullopt;
}

std::string backend_key_of(const config::Service& s) {
  if (s.external_traffic_policy != "Local") return "";
  std::string out;  // labels.Set.String(): sorted keys, "k=v" joined by commas
  for (const auto& [k, v] : s.selector) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace

bool Claim::wants_family(config::IpFamily f) const {
  return std::find(families.begin(), families.end(), f) != families.end();
}

const std::string* metallb_annotation(const config::Service& s, const std::string& name,
                                      std::string* used) {
  for (const char* prefix : {kAnnotationPrefix, kDeprecatedAnnotationPrefix}) {
    const std::string full = prefix + name;
    if (auto it = s.meta.annotations.find(full); it != s.meta.annotations.end()) {
      if (used) *used = full;
      return &it->second;
    }
  }
  return nullptr;
}

std::vector<IpAddress> in_family_order(std::vector<IpAddress> ips,
                                       const std::vector<IpFamily>& families) {
  auto rank = [&](const IpAddress& ip) {
    return std::find(families.begin(), families.end(), ip.family()) - families.begin();
  };
  std::stable_sort(ips.begin(), ips.end(),
                   [&](const IpAddress& a, const IpAddress& b) { return rank(a) < rank(b); });
  return ips;
}

ClaimResult make_claim(const config::Service& s) { return make_claim(s, service_key(s)); }

ClaimResult make_claim(const config::Service& s, const ServiceKey& key) {
  ClaimResult r;
  Claim c;
  c.key = key;
  c.service = &s;
  c.policy = policy_of(s);
  if (!s.cluster_ips.empty()) {
    const std::string why = families_from_cluster_ips(s, c.policy, &c.families);
    if (!why.empty()) {
      r.error = allocation_failed(c.key, why);
      return r;
    }
  } else {
    c.families = families_from_spec(s, c.policy);
  }
  if (c.policy == IpFamilyPolicy::kSingleStack) c.families.resize(1);

  if (auto error = requested_ips(s, c.key, &c.requested_ips)) {
    r.error = *error;
    return r;
  }
  c.requested_ips = in_family_order(std::move(c.requested_ips), c.families);
  if (const std::string* pool = metallb_annotation(s, "address-pool")) c.requested_pool = *pool;
  if (const std::string* key = metallb_annotation(s, "allow-shared-ip")) c.sharing_key = *key;
  c.backend_key = backend_key_of(s);
  for (const auto& p : s.ports) c.ports.push_back({p.protocol, p.port});
  r.claim = std::move(c);
  return r;
}

}  // namespace control::ipam
