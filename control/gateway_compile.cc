// Gateway API controller: route attachment, statuses, and the RouteModel (see gateway.h).
//
// Control thread; pure code. Order of work:
//   1. GatewayClasses of ours get Accepted; Gateways of those classes are evaluated alone
//      (gateway.cc) and get their addresses from the IPAM result;
//   2. every HTTPRoute rule is checked once (filters, matches) and every backendRef resolved
//      once (kind, ReferenceGrant, Service and port), which gives the route's ResolvedRefs;
//   3. every parentRef to a Gateway of ours is attached per digest §2.3 (sectionName/port,
//      allowedRoutes namespaces and kinds, hostname intersection), counting attachedRoutes;
//   4. attached (route, listener) pairs become nf::route rules on one PortSpec per (Gateway
//      address, listener port), each pointing at an Action.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "control/gateway.h"
#include "control/gateway_internal.h"

namespace control::gateway {

namespace {

using detail::condition;
using detail::GatewayEval;
using detail::ListenerEval;

const std::set<std::string> kMethods = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                        "CONNECT", "OPTIONS", "TRACE", "PATCH"};

// A route's rule, checked once for every parent.
struct RuleEval {
  std::string problem;  // "" = implemented; else why the rule is answered 500
  std::string reason;   // UnsupportedValue or IncompatibleFilters
  std::vector<Backend> backends;
  std::string matched_prefix;  // the single PathPrefix match, if there is exactly one
};

struct RouteEval {
  const config::HttpRoute* spec = nullptr;
  std::vector<RuleEval> rules;
  size_t valid_rules = 0;
  std::string refs_reason;  // "" = ResolvedRefs
  std::string refs_message;
};

std::string filter_problem(const config::HttpRouteFilter& f, bool backend_level) {
  static const std::set<std::string> kKnownUnsupported = {"ResponseHeaderModifier", "RequestMirror",
                                                          "CORS", "ExtensionRef", "ExternalAuth"};
  if (f.type == "RequestHeaderModifier") return "";
  if (!backend_level && (f.type == "RequestRedirect" || f.type == "URLRewrite")) return "";
  if (kKnownUnsupported.count(f.type) || f.type == "RequestRedirect" || f.type == "URLRewrite") {
    return std::string(backend_level ? "backendRef " : "") + "filter " + f.type +
           " is not supported by Portico yet";
  }
  return "unknown filter type " + f.type;
}

bool valid_path_modifier(const std::optional<config::HttpPathModifier>& m, const RuleEval& r) {
  return !m || m->type != config::PathModifierType::kReplacePrefixMatch ||
         !r.matched_prefix.empty();
}

RuleEval check_rule(const config::HttpRouteRule& rule) {
  RuleEval r;
  auto fail = [&](std::string reason, std::string why) {
    if (r.problem.empty()) {
      r.reason = std::move(reason);
      r.problem = std::move(why);
    }
  };
  if (rule.matches.size() == 1 && rule.matches[0].path.type == config::PathMatchType::kPathPrefix) {
    r.matched_prefix = rule.matches[0].path.value;
  } else if (rule.matches.empty()) {
    r.matched_prefix = "/";
  }
  for (const auto& m : rule.matches) {
    if (!m.method.empty() && !kMethods.count(m.method)) {
      fail("UnsupportedValue", "unsupported method " + m.method);
    }
  }
  std::set<std::string> seen;
  bool redirect = false;
  bool rewrite = false;
  for (const auto& f : rule.filters) {
    if (std::string why = filter_problem(f, false); !why.empty()) {
      fail("UnsupportedValue", why);
      continue;
    }
    if (!seen.insert(f.type).second) fail("UnsupportedValue", "filter " + f.type + " repeated");
    if (f.type == "RequestRedirect" && f.request_redirect) {
      redirect = true;
      const auto& rr = *f.request_redirect;
      if (!rr.scheme.empty() && rr.scheme != "http" && rr.scheme != "https") {
        fail("UnsupportedValue", "unsupported redirect scheme " + rr.scheme);
      }
      static const std::set<uint16_t> kCodes = {301, 302, 303, 307, 308};
      if (!kCodes.count(rr.status_code)) {
        fail("UnsupportedValue",
             "unsupported redirect statusCode " + std::to_string(rr.status_code));
      }
      if (!valid_path_modifier(rr.path, r)) {
        fail("UnsupportedValue", "ReplacePrefixMatch needs exactly one PathPrefix match");
      }
    }
    if (f.type == "URLRewrite" && f.url_rewrite) {
      rewrite = true;
      if (!valid_path_modifier(f.url_rewrite->path, r)) {
        fail("UnsupportedValue", "ReplacePrefixMatch needs exactly one PathPrefix match");
      }
    }
  }
  if (redirect && rewrite) {
    fail("IncompatibleFilters", "RequestRedirect and URLRewrite cannot be combined");
  }
  if (redirect && !rule.backend_refs.empty()) {
    fail("IncompatibleFilters", "RequestRedirect cannot be combined with backendRefs");
  }
  for (const auto& b : rule.backend_refs) {
    for (const auto& f : b.filters) {
      if (std::string why = filter_problem(f, true); !why.empty()) fail("UnsupportedValue", why);
    }
  }
  return r;
}

// Resolves a backendRef; on failure sets *reason (InvalidKind, RefNotPermitted, BackendNotFound).
Backend resolve_backend(const config::ObjectSet& objects, const config::HttpRoute& route,
                        const config::HttpBackendRef& ref, std::string* reason) {
  Backend b;
  b.namespace_ = ref.namespace_.empty() ? route.meta.namespace_ : ref.namespace_;
  b.name = ref.name;
  b.port = ref.port;
  b.weight = ref.weight;
  for (const auto& f : ref.filters) {
    if (f.type == "RequestHeaderModifier") b.request_header_modifier = f.request_header_modifier;
  }
  const std::string what = b.namespace_ + "/" + b.name;
  if (!ref.group.empty() || ref.kind != "Service") {
    *reason = "InvalidKind";
    b.problem = "backendRef " + b.name + ": kind " + ref.kind + " of group \"" + ref.group +
                "\" is not supported (Service only)";
    return b;
  }
  // Do not reveal whether the target exists when no grant allows the reference (§4).
  if (!reference_granted(objects, kGroup, "HTTPRoute", route.meta.namespace_, "", "Service", b.name,
                         b.namespace_)) {
    *reason = "RefNotPermitted";
    b.problem = "backendRef to Service " + what + " is not permitted by any ReferenceGrant";
    return b;
  }
  const config::Service* svc = nullptr;
  for (const auto& s : objects.services) {
    if (s.meta.namespace_ == b.namespace_ && s.meta.name == b.name) {
      svc = &s;
      break;
    }
  }
  if (svc == nullptr) {
    *reason = "BackendNotFound";
    b.problem = "Service " + what + " not found";
    return b;
  }
  const bool has_port = std::any_of(svc->ports.begin(), svc->ports.end(),
                                    [&](const config::ServicePort& p) { return p.port == b.port; });
  if (!has_port) {
    *reason = "BackendNotFound";
    b.problem = "Service " + what + " has no port " + std::to_string(b.port);
    return b;
  }
  b.resolved = true;
  return b;
}

RouteEval evaluate_route(const config::ObjectSet& objects, const config::HttpRoute& route) {
  RouteEval re;
  re.spec = &route;
  for (const auto& rule : route.rules) {
    RuleEval r = check_rule(rule);
    for (const auto& ref : rule.backend_refs) {
      std::string reason;
      Backend b = resolve_backend(objects, route, ref, &reason);
      if (!reason.empty() && re.refs_reason.empty()) {
        re.refs_reason = reason;
        re.refs_message = b.problem;
      }
      r.backends.push_back(std::move(b));
    }
    re.valid_rules += r.problem.empty();
    re.rules.push_back(std::move(r));
  }
  return re;
}

struct Attachment {
  size_t route = 0;  // index in RouteEval list
  std::vector<std::string> hostnames;
  bool any_host = false;
};

struct GatewayWork {
  GatewayEval eval;
  std::vector<config::IpAddress> addresses;
  // per listener: attached routes (by route index, deduplicated)
  std::vector<std::map<size_t, Attachment>> attached;
};

std::string gateway_name(const config::Gateway& g) { return g.meta.namespace_ + "/" + g.meta.name; }

bool namespace_allowed(const config::ObjectSet& objects, const config::GatewayListener& l,
                       const config::Gateway& gw, const std::string& route_ns) {
  switch (l.allowed_routes.from) {
    case config::FromNamespaces::kAll:
      return true;
    case config::FromNamespaces::kSame:
      return route_ns == gw.meta.namespace_;
    case config::FromNamespaces::kSelector:
      return l.allowed_routes.selector &&
             l.allowed_routes.selector->matches(detail::namespace_labels(objects, route_ns));
  }
  return false;
}

// Attaches one parentRef; returns its status entry.
RouteParentStatus attach(const config::ObjectSet& objects, const RouteEval& re, size_t route_index,
                         const config::ParentReference& ref, GatewayWork& gw) {
  const config::HttpRoute& route = *re.spec;
  const int64_t gen = route.meta.generation;
  RouteParentStatus ps;
  ps.parent_ref = ref;
  ps.parent_ref.group = kGroup;
  ps.parent_ref.kind = "Gateway";
  auto accepted = [&](bool ok, const std::string& reason, const std::string& message) {
    ps.conditions.push_back(condition("Accepted", ok, reason, message, gen));
  };
  const std::string gw_text = "Gateway " + gateway_name(*gw.eval.spec);

  std::vector<size_t> candidates;
  std::vector<size_t> admitted;
  std::map<size_t, Attachment> attaching;
  if (gw.eval.accepted) {
    for (size_t i = 0; i < gw.eval.listeners.size(); ++i) {
      const auto& l = *gw.eval.listeners[i].spec;
      if (!ref.section_name.empty() && ref.section_name != l.name) continue;
      if (ref.port != 0 && ref.port != l.port) continue;
      candidates.push_back(i);
      const ListenerEval& le = gw.eval.listeners[i];
      if (!le.admits_http_routes()) continue;
      if (!namespace_allowed(objects, l, *gw.eval.spec, route.meta.namespace_)) continue;
      admitted.push_back(i);
      Attachment a;
      a.route = route_index;
      a.hostnames = effective_hostnames(l.hostname, route.hostnames, &a.any_host);
      if (a.any_host || !a.hostnames.empty()) attaching.emplace(i, std::move(a));
    }
  }

  if (!gw.eval.accepted) {
    accepted(false, "NoMatchingParent", gw_text + " is not accepted");
  } else if (candidates.empty()) {
    std::string which;
    if (!ref.section_name.empty()) which += " named " + ref.section_name;
    if (ref.port != 0) which += " on port " + std::to_string(ref.port);
    accepted(false, "NoMatchingParent", gw_text + " has no listener" + which);
  } else if (admitted.empty()) {
    accepted(false, "NotAllowedByListeners",
             "no listener of " + gw_text + " allows an HTTPRoute from namespace " +
                 route.meta.namespace_);
  } else if (attaching.empty()) {
    accepted(false, "NoMatchingListenerHostname",
             "no hostname of the route intersects a listener hostname of " + gw_text);
  } else if (re.rules.empty()) {  // the loader defaults rules; never trust it blindly
    accepted(false, "UnsupportedValue", "the route has no rules");
  } else if (re.valid_rules == 0) {
    const RuleEval& first = re.rules.front();
    accepted(false, first.reason, "no rule is implemented: " + first.problem);
  } else {
    accepted(true, "Accepted", "route accepted");
    for (auto& [i, a] : attaching) gw.attached[i].emplace(route_index, std::move(a));
  }

  if (re.refs_reason.empty()) {
    ps.conditions.push_back(
        condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", gen));
  } else {
    ps.conditions.push_back(condition("ResolvedRefs", false, re.refs_reason, re.refs_message, gen));
  }
  if (re.valid_rules > 0 && re.valid_rules < re.rules.size()) {
    std::string msg = "Dropped Rule(s):";
    for (size_t i = 0; i < re.rules.size(); ++i) {
      if (!re.rules[i].problem.empty()) {
        msg += " " + std::to_string(i) + " (" + re.rules[i].problem + ")";
      }
    }
    msg += "; requests they match are answered 500";
    ps.conditions.push_back(condition("PartiallyInvalid", true, "UnsupportedValue", msg, gen));
  }
  return ps;
}

// ---- the model ----

nf::route::Match to_match(const config::HttpRouteMatch& m) {
  nf::route::Match out;
  switch (m.path.type) {
    case config::PathMatchType::kExact:
      out.path_type = nf::route::PathType::kExact;
      break;
    case config::PathMatchType::kPathPrefix:
      out.path_type = nf::route::PathType::kPrefix;
      break;
    case config::PathMatchType::kRegularExpression:
      out.path_type = nf::route::PathType::kRegex;
      break;
  }
  out.path = m.path.value;
  out.method = m.method;
  auto strings = [](const std::vector<config::HttpHeaderMatch>& in) {
    std::vector<nf::route::StringMatch> v;
    for (const auto& h : in) {
      v.push_back({h.type == config::StringMatchType::kRegularExpression, h.name, h.value});
    }
    return v;
  };
  out.headers = strings(m.headers);
  out.query = strings(m.query_params);
  return out;
}

Action make_action(const RouteEval& re, size_t rule_index, uint16_t listener_port) {
  const config::HttpRoute& route = *re.spec;
  const config::HttpRouteRule& rule = route.rules[rule_index];
  const RuleEval& r = re.rules[rule_index];
  Action a;
  a.route = route.meta.namespace_ + "/" + route.meta.name;
  a.rule_index = static_cast<uint32_t>(rule_index);
  a.listener_port = listener_port;
  a.matched_prefix = r.matched_prefix;
  if (!r.problem.empty()) {
    a.kind = ActionKind::kFixedResponse;
    a.reason = r.problem;
    return a;
  }
  for (const auto& f : rule.filters) {
    if (f.type == "RequestHeaderModifier") a.request_header_modifier = f.request_header_modifier;
    if (f.type == "URLRewrite") a.url_rewrite = f.url_rewrite;
    if (f.type == "RequestRedirect") a.redirect = f.request_redirect;
  }
  if (a.redirect) {
    a.kind = ActionKind::kRedirect;
    return a;
  }
  a.backends = r.backends;
  if (a.backends.empty()) {
    a.kind = ActionKind::kFixedResponse;
    a.reason = "no backendRefs";
    return a;
  }
  if (std::none_of(a.backends.begin(), a.backends.end(),
                   [](const Backend& b) { return b.resolved; })) {
    a.kind = ActionKind::kFixedResponse;
    a.reason = "no backendRef resolved: " + a.backends.front().problem;
    return a;
  }
  a.kind = ActionKind::kForward;
  return a;
}

void compile_model(const std::vector<GatewayWork>& gateways, const std::vector<RouteEval>& routes,
                   Result& result) {
  std::map<std::pair<config::IpAddress, uint16_t>, nf::route::PortSpec> ports;
  std::map<std::tuple<size_t, size_t, uint16_t>, uint32_t> action_index;
  for (const auto& gw : gateways) {
    if (!gw.eval.accepted) continue;
    for (size_t i = 0; i < gw.eval.listeners.size(); ++i) {
      const ListenerEval& le = gw.eval.listeners[i];
      if (!le.valid() || le.spec->protocol != "HTTP") continue;
      nf::route::Listener listener;
      listener.name = gateway_name(*gw.eval.spec) + "/" + le.spec->name;
      std::string host = le.spec->hostname;
      std::transform(host.begin(), host.end(), host.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      listener.hostname = host;
      for (const auto& [route_index, att] : gw.attached[i]) {
        const RouteEval& re = routes[route_index];
        const config::HttpRoute& route = *re.spec;
        for (size_t r = 0; r < route.rules.size(); ++r) {
          const auto key = std::make_tuple(route_index, r, le.spec->port);
          auto [it, fresh] = action_index.try_emplace(key, 0);
          if (fresh) {
            it->second = static_cast<uint32_t>(result.actions.size());
            result.actions.push_back(make_action(re, r, le.spec->port));
          }
          nf::route::Rule rule;
          rule.action = it->second;
          rule.hostnames = att.hostnames;
          for (const auto& m : route.rules[r].matches) rule.matches.push_back(to_match(m));
          if (rule.matches.empty()) rule.matches.emplace_back();  // PathPrefix "/"
          rule.created = route.meta.creation_timestamp;
          rule.route = route.meta.namespace_ + "/" + route.meta.name;
          rule.rule_index = static_cast<uint32_t>(r);
          listener.rules.push_back(std::move(rule));
        }
      }
      for (const auto& ip : gw.addresses) {
        nf::route::PortSpec& spec = ports[{ip, le.spec->port}];
        if (spec.listeners.empty()) {
          std::copy(ip.bytes().begin(), ip.bytes().end(), spec.address);
          spec.v6 = ip.is_v6();
          spec.port = le.spec->port;
        }
        spec.listeners.push_back(listener);
      }
    }
  }
  for (auto& [key, spec] : ports) result.model.ports.push_back(std::move(spec));
}

}  // namespace

Result compile(const config::ObjectSet& objects, const ipam::Result& ipam) {
  Result result;
  for (const auto& c : objects.gateway_classes) {
    if (c.controller_name != kControllerName) continue;
    GatewayClassStatus s;
    s.name = c.meta.name;
    if (c.has_parameters_ref) {
      s.conditions.push_back(condition("Accepted", false, "InvalidParameters",
                                       "Portico takes no parametersRef (" + c.parameters_ref + ")",
                                       c.meta.generation));
    } else {
      s.conditions.push_back(
          condition("Accepted", true, "Accepted", "handled by Portico", c.meta.generation));
    }
    result.gateway_classes.push_back(std::move(s));
  }

  std::vector<GatewayWork> gateways;
  std::map<std::pair<std::string, std::string>, size_t> by_name;
  for (auto& ge : detail::evaluate_gateways(objects)) {
    GatewayWork w;
    w.attached.resize(ge.listeners.size());
    w.eval = std::move(ge);
    by_name[{w.eval.spec->meta.namespace_, w.eval.spec->meta.name}] = gateways.size();
    gateways.push_back(std::move(w));
  }

  std::vector<RouteEval> routes;
  for (const auto& route : objects.http_routes) routes.push_back(evaluate_route(objects, route));

  for (size_t ri = 0; ri < routes.size(); ++ri) {
    const config::HttpRoute& route = *routes[ri].spec;
    HttpRouteStatus rs;
    rs.namespace_ = route.meta.namespace_;
    rs.name = route.meta.name;
    for (const auto& ref : route.parent_refs) {
      if (ref.group != kGroup || ref.kind != "Gateway") continue;
      const std::string ns = ref.namespace_.empty() ? route.meta.namespace_ : ref.namespace_;
      auto it = by_name.find({ns, ref.name});
      if (it == by_name.end()) continue;  // not a Gateway of ours
      GatewayWork& gw = gateways[it->second];
      rs.parents.push_back(attach(objects, routes[ri], ri, ref, gw));
    }
    if (!rs.parents.empty()) result.http_routes.push_back(std::move(rs));
  }

  for (auto& gw : gateways) {
    const config::Gateway& spec = *gw.eval.spec;
    const int64_t gen = spec.meta.generation;
    GatewayStatus gs;
    gs.namespace_ = spec.meta.namespace_;
    gs.name = spec.meta.name;
    gs.conditions.push_back(gw.eval.accepted_condition);

    Condition programmed = condition("Programmed", false, "Invalid", "gateway not accepted", gen);
    if (gw.eval.accepted) {
      auto it = ipam.services.find(gateway_key(spec));
      std::string why = "no address assigned";
      if (it != ipam.services.end()) {
        const ipam::ServiceResult& r = it->second;
        if (r.state == ipam::ServiceState::kAssigned) gw.addresses = r.assignment.ips;
        for (const auto& e : r.events) {
          if (e.type == "Warning") why = e.message;
        }
      }
      if (!gw.addresses.empty()) {
        programmed = condition("Programmed", true, "Programmed", "gateway programmed", gen);
      } else if (gw.eval.static_addresses ||
                 spec.infrastructure.annotations.count("metallb.io/loadBalancerIPs") ||
                 spec.infrastructure.annotations.count("metallb.universe.tf/loadBalancerIPs")) {
        programmed = condition("Programmed", false, "AddressNotUsable", why, gen);
      } else {
        programmed = condition("Programmed", false, "AddressNotAssigned", why, gen);
      }
    }
    gs.conditions.push_back(programmed);
    for (const auto& ip : gw.addresses) gs.addresses.push_back({"IPAddress", ip.str()});

    for (size_t i = 0; i < gw.eval.listeners.size(); ++i) {
      const ListenerEval& le = gw.eval.listeners[i];
      ListenerStatus ls;
      ls.name = le.spec->name;
      ls.supported_kinds = le.kinds;
      ls.attached_routes = static_cast<int32_t>(gw.attached[i].size());
      ls.conditions = le.conditions;
      if (le.valid() && !gw.addresses.empty()) {
        ls.conditions.push_back(
            condition("Programmed", true, "Programmed", "listener programmed", gen));
      } else if (le.valid() && gw.eval.accepted) {
        ls.conditions.push_back(
            condition("Programmed", false, "Pending", "the Gateway has no address yet", gen));
      } else {
        ls.conditions.push_back(
            condition("Programmed", false, "Invalid", "listener is not valid", gen));
      }
      gs.listeners.push_back(std::move(ls));
    }
    result.gateways.push_back(std::move(gs));
  }

  compile_model(gateways, routes, result);
  return result;
}

}  // namespace control::gateway
