// `portico match` (see match.h).
#include "control/match.h"

#include <arpa/inet.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>

#include "config/loader.h"
#include "control/gateway.h"
#include "control/plan.h"
#include "control/services.h"
#include "nf/http_head.h"
#include "nf/http_rewrite.h"
#include "nf/route_classifier.h"

namespace control {

namespace {

using nlohmann::ordered_json;

bool parse_to(const std::string& to, uint8_t addr[16], bool* v6, uint16_t* port) {
  std::string host;
  std::string port_text;
  if (!to.empty() && to.front() == '[') {
    const size_t close = to.find(']');
    if (close == std::string::npos || close + 1 >= to.size() || to[close + 1] != ':') return false;
    host = to.substr(1, close - 1);
    port_text = to.substr(close + 2);
  } else {
    const size_t colon = to.rfind(':');
    if (colon == std::string::npos) return false;
    host = to.substr(0, colon);
    port_text = to.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const unsigned long p = std::stoul(port_text);
  if (p == 0 || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  std::memset(addr, 0, 16);
  if (inet_pton(AF_INET, host.c_str(), addr) == 1) {
    *v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), addr) == 1) {
    *v6 = true;
    return true;
  }
  return false;
}

// The head the query describes, as a client would send it.
std::string head_text(const MatchQuery& q) {
  std::string h = q.method + " " + q.path + " HTTP/1.1\r\n";
  h += "Host: " + q.host + "\r\n";
  for (const auto& [n, v] : q.headers) h += n + ": " + v + "\r\n";
  return h + "\r\n";
}

ordered_json request_json(const nf::http::RequestHead& head) {
  ordered_json r;
  r["host"] = std::string(head.host);
  r["path"] = std::string(head.target);
  ordered_json headers = ordered_json::object();
  for (uint32_t i = 0; i < head.n_headers; ++i) {
    const std::string name(head.headers[i].name);
    if (nf::http::iequals(name, "host")) continue;
    const std::string value(head.headers[i].value);
    if (headers.contains(name)) {
      headers[name] = headers[name].get<std::string>() + ", " + value;
    } else {
      headers[name] = value;
    }
  }
  r["headers"] = headers;
  return r;
}

ordered_json response_json(uint16_t status, const std::string& location = "") {
  ordered_json r;
  r["status"] = status;
  ordered_json h = ordered_json::object();
  if (!location.empty()) h["Location"] = location;
  r["headers"] = h;
  return r;
}

void edits_of(const config::HttpHeaderFilter& f, std::vector<nf::http::HeaderEdit>* set,
              std::vector<nf::http::HeaderEdit>* add, std::vector<std::string_view>* remove) {
  for (const auto& h : f.set) set->push_back({h.name, h.value});
  for (const auto& h : f.add) add->push_back({h.name, h.value});
  for (const auto& n : f.remove) remove->emplace_back(n);
}

// Whether any endpoint of a backend's Service port takes new connections in `family`.
bool has_endpoint(const config::ObjectSet& objects, const gateway::Backend& b,
                  config::IpFamily family) {
  for (const auto& s : objects.services) {
    if (s.meta.namespace_ != b.namespace_ || s.meta.name != b.name) continue;
    for (const auto& p : s.ports) {
      if (p.port != b.port || p.protocol != "TCP") continue;
      for (const auto& e : service_endpoints(objects, s, p, family)) {
        if (!e.terminating) return true;
      }
    }
  }
  return false;
}

}  // namespace

int match(const std::vector<std::string>& paths, const MatchQuery& query, std::ostream& out,
          std::ostream& err) {
  uint8_t addr[16];
  bool v6 = false;
  uint16_t port = 0;
  if (!parse_to(query.to, addr, &v6, &port)) {
    err << "portico: --to \"" << query.to << "\" is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)\n";
    return 2;
  }
  config::LoadResult loaded = config::load(paths);
  for (const auto& w : loaded.warnings) err << "warning: " << w.str() << "\n";
  for (const auto& e : loaded.errors) err << e.str() << "\n";
  if (!loaded.ok()) {
    err << loaded.errors.size() << " error(s): the configuration would be refused\n";
    return 1;
  }
  const config::NodeConfig* node =
      loaded.objects.node_configs.size() == 1 ? &loaded.objects.node_configs.front() : nullptr;
  const Plan plan = make_plan(loaded.objects, node, {});
  return match(loaded.objects, plan, query, out, err);
}

int match(const config::ObjectSet& objects, const Plan& plan, const MatchQuery& query,
          std::ostream& out, std::ostream& err) {
  uint8_t addr[16];
  bool v6 = false;
  uint16_t port = 0;
  if (!parse_to(query.to, addr, &v6, &port)) {
    err << "portico: --to \"" << query.to << "\" is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)\n";
    return 2;
  }
  const gateway::Result& g = plan.gateway;

  const std::string text = head_text(query);
  nf::http::RequestHead head;
  const auto st = nf::http::parse_request_head(reinterpret_cast<const uint8_t*>(text.data()),
                                               text.size(), nf::http::kDefaultHeadLimit, &head);

  ordered_json doc;
  doc["listener"] = nullptr;
  doc["route"] = nullptr;
  doc["rule"] = nullptr;
  doc["backends"] = ordered_json::array();
  doc["request"] = nullptr;
  doc["response"] = nullptr;
  auto finish = [&](int rc) {
    out << doc.dump(2) << "\n";
    return rc;
  };
  if (st != nf::http::ParseStatus::kComplete) {
    // What the data plane answers to such a head (400, 431, 501, 505).
    doc["response"] = response_json(head.reject_status != 0 ? head.reject_status : 400);
    doc["error"] = head.error != nullptr ? head.error : "malformed request";
    return finish(0);
  }
  doc["request"] = request_json(head);

  nf::route::CompileResult compiled = nf::route::compile(g.model);
  if (compiled.classifier == nullptr) {
    err << "portico: HTTP routes do not compile: " << compiled.error << "\n";
    return 1;
  }
  const nf::route::Classifier& c = *compiled.classifier;
  const int pi = c.find_port(addr, v6, port);
  if (pi < 0) {
    doc["error"] = "no Gateway HTTP listener on " + query.to +
                   ": Portico would not answer the connection";
    return finish(0);
  }
  nf::route::Classifier::Scratch scratch = c.make_scratch();
  const nf::route::Decision d = c.classify(pi, head.request(), scratch);
  const auto& listeners = g.model.ports[pi].listeners;
  if (d.listener >= 0 && static_cast<size_t>(d.listener) < listeners.size()) {
    doc["listener"] = listeners[d.listener].name;
  }
  if (d.outcome != nf::route::Decision::kMatched || d.action >= g.actions.size()) {
    doc["response"] = response_json(d.outcome == nf::route::Decision::kScanError ? 500 : 404);
    return finish(0);
  }
  const gateway::Action& a = g.actions[d.action];
  const size_t slash = a.route.find('/');
  ordered_json route;
  route["kind"] = "HTTPRoute";
  route["namespace"] = a.route.substr(0, slash);
  route["name"] = slash == std::string::npos ? a.route : a.route.substr(slash + 1);
  doc["route"] = route;
  doc["rule"] = a.rule_index;

  auto path_mode = [](const config::HttpPathModifier& m) -> uint8_t {
    return m.type == config::PathModifierType::kReplaceFullPath ? nf::http::kPathFull
                                                                : nf::http::kPathPrefix;
  };
  switch (a.kind) {
    case gateway::ActionKind::kFixedResponse:
      doc["response"] = response_json(a.status_code);
      return finish(0);
    case gateway::ActionKind::kRedirect: {
      nf::http::Redirect r;
      if (a.redirect) {
        r.scheme = a.redirect->scheme;
        r.hostname = a.redirect->hostname;
        r.port = a.redirect->port;
        if (a.redirect->path) {
          r.path_mode = path_mode(*a.redirect->path);
          r.path_value = a.redirect->path->value;
        }
      }
      r.matched_prefix = a.matched_prefix;
      char loc[4096];
      const size_t n =
          nf::http::build_redirect_location(head, r, "http", a.listener_port, loc, sizeof loc);
      if (n == 0) {
        doc["response"] = response_json(500);
      } else {
        doc["response"] =
            response_json(a.redirect ? a.redirect->status_code : 302, std::string(loc, n));
      }
      return finish(0);
    }
    case gateway::ActionKind::kForward:
      break;
  }
  uint64_t total = 0, valid = 0;
  bool any_endpoint = false;
  const config::IpFamily fam = v6 ? config::IpFamily::kIPv6 : config::IpFamily::kIPv4;
  for (const auto& b : a.backends) {
    ordered_json j;
    j["namespace"] = b.namespace_;
    j["name"] = b.name;
    j["port"] = b.port;
    j["weight"] = b.weight;
    if (!b.resolved) j["problem"] = b.problem;
    doc["backends"].push_back(j);
    total += b.weight;
    if (b.resolved && b.weight > 0) {
      valid += b.weight;
      any_endpoint = any_endpoint || has_endpoint(objects, b, fam);
    }
  }
  if (valid == 0) {
    doc["response"] = response_json(500);
    return finish(0);
  }
  if (!any_endpoint) {
    doc["response"] = response_json(503);
    return finish(0);
  }
  // The head as forwarded: the rule's filters applied (per-backend filters depend on the
  // backend chosen per connection and are not applied here).
  std::vector<nf::http::HeaderEdit> set, add;
  std::vector<std::string_view> remove;
  if (a.request_header_modifier) edits_of(*a.request_header_modifier, &set, &add, &remove);
  nf::http::HeadEdits e;
  e.set = set.data();
  e.n_set = static_cast<uint32_t>(set.size());
  e.add = add.data();
  e.n_add = static_cast<uint32_t>(add.size());
  e.remove = remove.data();
  e.n_remove = static_cast<uint32_t>(remove.size());
  if (a.url_rewrite) {
    e.host = a.url_rewrite->hostname;
    if (a.url_rewrite->path) {
      e.path_mode = path_mode(*a.url_rewrite->path);
      e.path_value = a.url_rewrite->path->value;
      e.matched_prefix = a.matched_prefix;
    }
  }
  std::string fwd(text.size() + 8192, '\0');
  const size_t n = nf::http::rewrite_head(head, reinterpret_cast<const uint8_t*>(text.data()), e,
                                          reinterpret_cast<uint8_t*>(fwd.data()), fwd.size());
  nf::http::RequestHead out_head;
  if (n == 0 || nf::http::parse_request_head(reinterpret_cast<const uint8_t*>(fwd.data()), n,
                                             fwd.size(), &out_head) !=
                    nf::http::ParseStatus::kComplete) {
    doc["response"] = response_json(500);
    return finish(0);
  }
  doc["request"] = request_json(out_head);
  if (valid < total) {
    doc["note"] = "part of the rule's weight goes to invalid backendRefs: that share of "
                  "requests gets 500";
  }
  return finish(0);
}

}  // namespace control
