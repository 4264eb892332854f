// Gateway API controller: hostnames, ReferenceGrants, Gateway and listener evaluation, and the
// claims a Gateway makes on IPAM (see gateway.h). Control thread; pure code.
//
// Listener rules (digest §1.2, §3.3): Portico serves HTTP. Other protocols are reported
// Accepted=False UnsupportedProtocol with supportedKinds [] and attach no routes. Listeners on
// one port conflict (Conflicted=True) when their protocols cannot share a port (ProtocolConflict;
// HTTPS and TLS may share one, UDP shares with nothing else on the TCP side) or when they have
// the same protocol and hostname (HostnameConflict). A conflicted listener keeps its Accepted
// condition but is never programmed.
#include <algorithm>
#include <set>

#include "control/gateway.h"
#include "control/gateway_internal.h"

namespace control::gateway {

namespace {

bool is_wildcard(const std::string& h) { return h.size() > 2 && h[0] == '*' && h[1] == '.'; }

// `name` (precise) is matched by `pattern` (precise or "*.suffix"): a wildcard stands for one
// or more labels, so "*.example.com" matches "a.b.example.com" but not "example.com".
bool host_matches(const std::string& pattern, const std::string& name) {
  if (!is_wildcard(pattern)) return pattern == name;
  const std::string suffix = pattern.substr(1);  // ".example.com"
  return name.size() > suffix.size() && name.ends_with(suffix);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<std::string> intersect_hostname(const std::string& listener_in,
                                              const std::string& route_in) {
  const std::string listener = lower(listener_in);
  const std::string route = lower(route_in);
  if (listener.empty()) return route;
  if (route.empty()) return listener;
  const bool lw = is_wildcard(listener);
  const bool rw = is_wildcard(route);
  if (!lw && !rw) return listener == route ? std::optional(route) : std::nullopt;
  if (lw && !rw) return host_matches(listener, route) ? std::optional(route) : std::nullopt;
  if (!lw && rw) return host_matches(route, listener) ? std::optional(listener) : std::nullopt;
  // Both wildcards: the one with the longer suffix is the more specific; it wins if the other
  // covers it.
  if (listener == route) return route;
  const std::string& longer = listener.size() > route.size() ? listener : route;
  const std::string& shorter = listener.size() > route.size() ? route : listener;
  return longer.ends_with(shorter.substr(1)) ? std::optional(longer) : std::nullopt;
}

std::vector<std::string> effective_hostnames(const std::string& listener,
                                             const std::vector<std::string>& route, bool* any) {
  std::vector<std::string> out;
  *any = false;
  if (route.empty()) {
    if (listener.empty()) {
      *any = true;
    } else {
      out.push_back(lower(listener));
    }
    return out;
  }
  for (const auto& h : route) {
    auto e = intersect_hostname(listener, h);
    if (e && std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
  }
  return out;
}

bool reference_granted(const config::ObjectSet& objects, const std::string& from_group,
                       const std::string& from_kind, const std::string& from_namespace,
                       const std::string& to_group, const std::string& to_kind,
                       const std::string& to_name, const std::string& to_namespace) {
  if (from_namespace == to_namespace) return true;
  for (const auto& grant : objects.reference_grants) {
    if (grant.meta.namespace_ != to_namespace) continue;
    const bool from_ok = std::any_of(grant.from.begin(), grant.from.end(), [&](const auto& f) {
      return f.group == from_group && f.kind == from_kind && f.namespace_ == from_namespace;
    });
    const bool to_ok = std::any_of(grant.to.begin(), grant.to.end(), [&](const auto& t) {
      return t.group == to_group && t.kind == to_kind && (t.name.empty() || t.name == to_name);
    });
    if (from_ok && to_ok) return true;
  }
  return false;
}

ipam::ServiceKey gateway_key(const config::Gateway& g) {
  return "Gateway/" + g.meta.namespace_ + "/" + g.meta.name;
}

namespace detail {

Condition condition(const std::string& type, bool status, const std::string& reason,
                    const std::string& message, int64_t generation) {
  return {type, status, reason, message, generation};
}

bool ListenerEval::admits_http_routes() const {
  return supported && std::any_of(kinds.begin(), kinds.end(), [](const auto& k) {
           return k.group == kGroup && k.kind == "HTTPRoute";
         });
}

std::map<std::string, bool> our_classes(const config::ObjectSet& objects) {
  std::map<std::string, bool> out;
  for (const auto& c : objects.gateway_classes) {
    if (c.controller_name == kControllerName) out.emplace(c.meta.name, !c.has_parameters_ref);
  }
  return out;
}

config::Labels namespace_labels(const config::ObjectSet& objects, const std::string& name) {
  config::Labels labels;
  for (const auto& ns : objects.namespaces) {
    if (ns.meta.name == name) {
      labels = ns.meta.labels;
      break;
    }
  }
  labels["kubernetes.io/metadata.name"] = name;
  return labels;
}

namespace {

// Why Portico does not serve a listener of this protocol, or "" when it does.
std::string unsupported_protocol(const config::GatewayListener& l) {
  if (l.protocol == "HTTP") return "";
  if (l.protocol == "HTTPS") return "TLS termination is not available yet in Portico";
  if (l.protocol == "TLS") {
    if (l.tls && l.tls->mode == "Passthrough") {
      return "TLS passthrough (TLSRoute) is not available yet in Portico";
    }
    return "TLS termination is not available yet in Portico";
  }
  if (l.protocol == "TCP" || l.protocol == "UDP") {
    return l.protocol + " listeners (" + l.protocol + "Route) are not available yet in Portico";
  }
  return "protocol " + l.protocol + " is not supported";
}

// The route kind a protocol implies.
std::string default_kind(const std::string& protocol) {
  if (protocol == "HTTP" || protocol == "HTTPS") return "HTTPRoute";
  if (protocol == "TLS") return "TLSRoute";
  if (protocol == "TCP") return "TCPRoute";
  if (protocol == "UDP") return "UDPRoute";
  return "";
}

// Protocols that may share a port: the same one (told apart by hostname), or HTTPS with TLS
// (both choose by SNI). UDP lives on another transport, so it never conflicts with the others.
bool protocols_compatible(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if ((a == "UDP") != (b == "UDP")) return true;
  return (a == "HTTPS" && b == "TLS") || (a == "TLS" && b == "HTTPS");
}

void evaluate_listener(const config::ObjectSet& objects, const config::Gateway& gw,
                       ListenerEval& le) {
  const auto& l = *le.spec;
  const int64_t gen = gw.meta.generation;
  const std::string why = unsupported_protocol(l);
  le.supported = why.empty();
  if (le.supported) {
    le.conditions.push_back(condition("Accepted", true, "Accepted", "listener accepted", gen));
  } else {
    le.conditions.push_back(condition("Accepted", false, "UnsupportedProtocol", why, gen));
  }

  // Route kinds: what the listener allows and Portico can attach (HTTPRoute on HTTP only).
  std::string refs_reason;
  std::string refs_message;
  const std::string implied = default_kind(l.protocol);
  if (l.allowed_routes.kinds.empty()) {
    if (le.supported) le.kinds.push_back({kGroup, implied});
  } else {
    std::vector<std::string> invalid;
    for (const auto& k : l.allowed_routes.kinds) {
      if (k.group == kGroup && k.kind == "HTTPRoute" && implied == "HTTPRoute") {
        if (le.supported && le.kinds.empty()) le.kinds.push_back(k);
      } else {
        invalid.push_back(k.group + "/" + k.kind);
      }
    }
    if (!invalid.empty()) {
      refs_reason = "InvalidRouteKinds";
      refs_message = "route kinds not supported on a " + l.protocol + " listener:";
      for (const auto& k : invalid) refs_message += " " + k;
    }
  }

  // Certificate references (HTTPS, TLS Terminate). Secrets are not part of the configuration
  // Portico reads yet, so only the reference itself is checked: kind and ReferenceGrant.
  if (refs_reason.empty() && l.tls) {
    for (const auto& ref : l.tls->certificate_refs) {
      const std::string ns = ref.namespace_.empty() ? gw.meta.namespace_ : ref.namespace_;
      if (!ref.group.empty() || ref.kind != "Secret") {
        refs_reason = "InvalidCertificateRef";
        refs_message = "certificateRef " + ref.name + ": kind " + ref.kind + " of group \"" +
                       ref.group + "\" is not a Secret";
        break;
      }
      if (!reference_granted(objects, kGroup, "Gateway", gw.meta.namespace_, "", "Secret", ref.name,
                             ns)) {
        refs_reason = "RefNotPermitted";
        refs_message = "certificateRef to Secret " + ns + "/" + ref.name +
                       " is not permitted by any ReferenceGrant";
        break;
      }
    }
  }
  le.refs_ok = refs_reason.empty();
  if (le.refs_ok) {
    le.conditions.push_back(
        condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", gen));
  } else {
    le.conditions.push_back(condition("ResolvedRefs", false, refs_reason, refs_message, gen));
  }
}

void find_conflicts(const config::Gateway& gw, std::vector<ListenerEval>& ls) {
  const int64_t gen = gw.meta.generation;
  for (size_t i = 0; i < ls.size(); ++i) {
    const auto& a = *ls[i].spec;
    std::string reason;
    std::string other;
    std::string other_protocol;
    for (size_t j = 0; j < ls.size(); ++j) {
      const auto& b = *ls[j].spec;
      if (i == j || a.port != b.port) continue;
      if (!protocols_compatible(a.protocol, b.protocol)) {
        reason = "ProtocolConflict";
      } else if (a.protocol == b.protocol && lower(a.hostname) == lower(b.hostname)) {
        reason =
            a.protocol == "TCP" || a.protocol == "UDP" ? "ProtocolConflict" : "HostnameConflict";
      } else {
        continue;
      }
      other = b.name;
      other_protocol = b.protocol;
      break;
    }
    ls[i].conflicted = !reason.empty();
    if (reason.empty()) {
      ls[i].conditions.push_back(
          condition("Conflicted", false, "NoConflicts", "no conflicting listener", gen));
    } else {
      const std::string what =
          reason == "HostnameConflict" ? "the same hostname" : "protocol " + other_protocol;
      ls[i].conditions.push_back(condition(
          "Conflicted", true, reason,
          "listener " + other + " uses port " + std::to_string(a.port) + " with " + what, gen));
    }
  }
}

}  // namespace

std::vector<GatewayEval> evaluate_gateways(const config::ObjectSet& objects) {
  const auto classes = our_classes(objects);
  std::vector<GatewayEval> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& gw : objects.gateways) {
    auto cls = classes.find(gw.gateway_class_name);
    if (cls == classes.end()) continue;  // another controller's, or no such class
    if (!seen.emplace(gw.meta.namespace_, gw.meta.name).second) continue;  // duplicate
    GatewayEval ge;
    ge.spec = &gw;
    const int64_t gen = gw.meta.generation;
    for (const auto& l : gw.listeners) {
      ListenerEval le;
      le.spec = &l;
      evaluate_listener(objects, gw, le);
      ge.listeners.push_back(std::move(le));
    }
    find_conflicts(gw, ge.listeners);

    std::string unsupported_address;
    for (const auto& a : gw.addresses) {
      if (a.type != "IPAddress") {
        unsupported_address = a.type;
      } else if (!a.value.empty()) {
        ge.static_addresses = true;
      }
    }
    size_t valid = 0;
    std::string invalid;  // names of the listeners not served, for messages
    for (const auto& l : ge.listeners) {
      if (l.valid()) {
        ++valid;
      } else {
        invalid += (invalid.empty() ? "" : ", ") + l.spec->name;
      }
    }
    if (!cls->second) {
      ge.accepted_condition = condition(
          "Accepted", false, "Invalid",
          "GatewayClass " + gw.gateway_class_name + " is not accepted (it has a parametersRef)",
          gen);
    } else if (!unsupported_address.empty()) {
      ge.accepted_condition = condition(
          "Accepted", false, "UnsupportedAddress",
          "address type " + unsupported_address + " is not supported: Portico binds IP addresses",
          gen);
    } else if (valid == 0) {
      ge.accepted_condition =
          condition("Accepted", false, "ListenersNotValid",
                    ge.listeners.empty() ? "no listener" : "no listener is valid: " + invalid, gen);
    } else if (static_cast<size_t>(valid) < ge.listeners.size()) {
      ge.accepted = true;
      ge.accepted_condition = condition("Accepted", true, "ListenersNotValid",
                                        std::to_string(ge.listeners.size() - valid) +
                                            " listener(s) not valid; the others are served",
                                        gen);
    } else {
      ge.accepted = true;
      ge.accepted_condition = condition("Accepted", true, "Accepted", "gateway accepted", gen);
    }
    out.push_back(std::move(ge));
  }
  return out;
}

}  // namespace detail

std::vector<ipam::ExtraClaim> gateway_claims(const config::ObjectSet& objects) {
  std::vector<ipam::ExtraClaim> out;
  for (const auto& ge : detail::evaluate_gateways(objects)) {
    if (!ge.accepted) continue;
    const config::Gateway& gw = *ge.spec;
    ipam::ExtraClaim c;
    c.key = gateway_key(gw);
    config::Service& s = c.service;
    s.meta.namespace_ = gw.meta.namespace_;
    s.meta.name = gw.meta.name;
    s.meta.labels = gw.infrastructure.labels;
    s.meta.annotations = gw.infrastructure.annotations;
    s.type = "LoadBalancer";
    s.load_balancer_class = ipam::kPorticoLoadBalancerClass;
    s.ip_families = {config::IpFamily::kIPv4, config::IpFamily::kIPv6};
    s.ip_family_policy = config::IpFamilyPolicy::kPreferDualStack;
    s.ip_family_policy_set = true;
    if (ge.static_addresses) {
      std::string ips;
      for (const auto& a : gw.addresses) {
        if (!a.value.empty()) ips += (ips.empty() ? "" : ",") + a.value;
      }
      s.meta.annotations.erase("metallb.universe.tf/loadBalancerIPs");
      s.meta.annotations["metallb.io/loadBalancerIPs"] = ips;
    }
    std::set<uint16_t> ports;
    for (const auto& l : gw.listeners) {
      if (ports.insert(l.port).second) s.ports.push_back({l.name, "TCP", l.port, "", 0});
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace control::gateway
