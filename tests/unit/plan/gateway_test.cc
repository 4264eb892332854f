// Gateway API controller side (control/gateway.h): hostname intersection (digest §2.3), the
// status-only and attachment conformance cases of §5.3/§5.4, Gateway addresses from IPAM, and
// the compiled RouteModel. Inputs are built as config structs, as the loader leaves them (CRD
// defaults applied), modelled on the conformance base manifests (§5.2).
#include "control/gateway.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "control/plan.h"
#include "control/status.h"

namespace control::gateway {
namespace {

const std::string kInfra = "gateway-conformance-infra";
const std::string kWeb = "gateway-conformance-web-backend";
const std::string kApp = "gateway-conformance-app-backend";

config::IpRange range(const std::string& first, const std::string& last) {
  return {*config::IpAddress::parse(first), *config::IpAddress::parse(last)};
}

config::GatewayListener listener(const std::string& name, uint16_t port,
                                 const std::string& protocol = "HTTP",
                                 const std::string& hostname = "",
                                 config::FromNamespaces from = config::FromNamespaces::kSame) {
  config::GatewayListener l;
  l.name = name;
  l.port = port;
  l.protocol = protocol;
  l.hostname = hostname;
  l.allowed_routes.from = from;
  return l;
}

config::Gateway gateway(const std::string& name, std::vector<config::GatewayListener> listeners,
                        const std::string& ns = kInfra) {
  config::Gateway g;
  g.meta.namespace_ = ns;
  g.meta.name = name;
  g.gateway_class_name = "portico";
  g.listeners = std::move(listeners);
  return g;
}

config::ParentReference parent(const std::string& name, const std::string& section = "",
                               uint16_t port = 0, const std::string& ns = "") {
  config::ParentReference p;
  p.name = name;
  p.section_name = section;
  p.port = port;
  p.namespace_ = ns;
  return p;
}

config::HttpBackendRef backend(const std::string& name, uint16_t port = 8080,
                               const std::string& ns = "") {
  config::HttpBackendRef b;
  b.name = name;
  b.port = port;
  b.namespace_ = ns;
  return b;
}

config::HttpRouteRule rule(std::vector<config::HttpBackendRef> backends,
                           const std::string& prefix = "") {
  config::HttpRouteRule r;
  if (!prefix.empty()) {
    config::HttpRouteMatch m;
    m.path.value = prefix;
    r.matches.push_back(m);
  }
  r.backend_refs = std::move(backends);
  return r;
}

config::HttpRoute route(const std::string& name, std::vector<config::ParentReference> parents,
                        std::vector<config::HttpRouteRule> rules,
                        std::vector<std::string> hostnames = {}, const std::string& ns = kInfra) {
  config::HttpRoute r;
  r.meta.namespace_ = ns;
  r.meta.name = name;
  r.parent_refs = std::move(parents);
  r.rules = std::move(rules);
  if (r.rules.empty()) r.rules.push_back(rule({}));
  r.hostnames = std::move(hostnames);
  return r;
}

config::Service service(const std::string& name, const std::string& ns = kInfra,
                        uint16_t port = 8080) {
  config::Service s;
  s.meta.namespace_ = ns;
  s.meta.name = name;
  s.ports.push_back({"http", "TCP", port, "3000", 0});
  return s;
}

// The conformance base: namespaces, class, Gateways same-namespace and all-namespaces, the
// infra backends and web-backend, one pool.
config::ObjectSet base() {
  config::ObjectSet o;
  for (const auto& ns : {kInfra, kWeb, kApp}) {
    config::Namespace n;
    n.meta.name = ns;
    n.meta.labels["gateway-conformance"] = ns == kInfra ? "infra" : "backend";
    o.namespaces.push_back(n);
  }
  config::GatewayClass c;
  c.meta.name = "portico";
  c.controller_name = kControllerName;
  o.gateway_classes.push_back(c);
  o.gateways.push_back(gateway("same-namespace", {listener("http", 80)}));
  o.gateways.push_back(
      gateway("all-namespaces", {listener("http", 80, "HTTP", "", config::FromNamespaces::kAll)}));
  for (const auto& s : {"infra-backend-v1", "infra-backend-v2", "infra-backend-v3"}) {
    o.services.push_back(service(s));
  }
  o.services.push_back(service("web-backend", kWeb));
  o.services.push_back(service("app-backend-v1", kApp));
  o.services.push_back(service("app-backend-v2", kApp));
  config::IPAddressPool pool;
  pool.meta.namespace_ = "metallb-system";
  pool.meta.name = "gw-pool";
  pool.addresses.push_back({"203.0.113.10-203.0.113.20", range("203.0.113.10", "203.0.113.20")});
  o.pools.push_back(pool);
  return o;
}

Plan run(const config::ObjectSet& o) { return make_plan(o, nullptr, {}); }

const GatewayStatus& gw_status(const Plan& p, const std::string& name) {
  for (const auto& g : p.gateway.gateways) {
    if (g.name == name) return g;
  }
  ADD_FAILURE() << "no status for Gateway " << name;
  static GatewayStatus none;
  return none;
}

const ListenerStatus& listener_status(const GatewayStatus& g, const std::string& name) {
  for (const auto& l : g.listeners) {
    if (l.name == name) return l;
  }
  ADD_FAILURE() << "no listener " << name;
  static ListenerStatus none;
  return none;
}

const HttpRouteStatus* route_status(const Plan& p, const std::string& name) {
  for (const auto& r : p.gateway.http_routes) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

Condition cond(const std::vector<Condition>& cs, const std::string& type) {
  for (const auto& c : cs) {
    if (c.type == type) return c;
  }
  return {"<missing " + type + ">", false, "", "", -1};
}

// "True/Reason" or "False/Reason", to compare in one line.
std::string sr(const std::vector<Condition>& cs, const std::string& type) {
  const Condition c = cond(cs, type);
  if (c.observed_generation < 0) return c.type;
  return std::string(c.status ? "True/" : "False/") + c.reason;
}

const std::vector<Condition>& parent_conditions(const Plan& p, const std::string& route,
                                                size_t i = 0) {
  const HttpRouteStatus* r = route_status(p, route);
  if (r == nullptr || r->parents.size() <= i) {
    ADD_FAILURE() << "no parent " << i << " on HTTPRoute " << route;
    static std::vector<Condition> none;
    return none;
  }
  return r->parents[i].conditions;
}

// ---- hostnames ----

TEST(GatewayHostnames, IntersectionTable) {
  struct Row {
    std::string listener, route;
    std::optional<std::string> effective;
  };
  const std::vector<Row> rows = {
      {"www.example.com", "www.example.com", "www.example.com"},
      {"*.example.com", "www.example.com", "www.example.com"},
      {"*.example.com", "a.b.example.com", "a.b.example.com"},
      {"www.example.com", "*.example.com", "www.example.com"},
      {"*.example.com", "*.example.com", "*.example.com"},
      {"*.com", "*.example.com", "*.example.com"},
      {"*.example.com", "*.com", "*.example.com"},
      {"", "x", "x"},
      {"x", "", "x"},
      {"", "", ""},
      // and what must not intersect
      {"www.example.com", "web.example.com", std::nullopt},
      {"*.example.com", "example.com", std::nullopt},
      {"*.example.com", "www.example.org", std::nullopt},
      {"*.example.com", "*.example.org", std::nullopt},
      {"very.specific.com", "*.wildcard.io", std::nullopt},
      {"*.wildcard.io", "wildcard.io", std::nullopt},
      {"*.ample.com", "*.example.com", std::nullopt},  // label boundary
      {"WWW.Example.com", "www.example.COM", "www.example.com"},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(intersect_hostname(r.listener, r.route), r.effective)
        << "listener '" << r.listener << "' route '" << r.route << "'";
  }
}

TEST(GatewayHostnames, EffectiveHostnamesOfARoute) {
  bool any = false;
  EXPECT_EQ(effective_hostnames("very.specific.com", {"non.matching.com", "*.specific.com"}, &any),
            (std::vector<std::string>{"very.specific.com"}));
  EXPECT_FALSE(any);
  EXPECT_TRUE(effective_hostnames("", {}, &any).empty());
  EXPECT_TRUE(any);
  EXPECT_TRUE(effective_hostnames("a.com", {"b.com"}, &any).empty());
  EXPECT_FALSE(any);
  EXPECT_EQ(
      effective_hostnames("*.wildcard.io",
                          {"non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io",
                           "foo.bar.wildcard.io"},
                          &any),
      (std::vector<std::string>{"foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"}));
}

// ---- GatewayClass ----

TEST(GatewayClassStatus, OursAcceptedOthersIgnoredParametersRefRefused) {
  auto o = base();
  o.gateway_classes[0].meta.generation = 3;
  config::GatewayClass other;
  other.meta.name = "other";
  other.controller_name = "example.net/gateway-controller";
  o.gateway_classes.push_back(other);
  config::GatewayClass params;
  params.meta.name = "with-params";
  params.controller_name = kControllerName;
  params.has_parameters_ref = true;
  params.parameters_ref = "example.net/Config//x";
  o.gateway_classes.push_back(params);
  o.gateways.push_back(gateway("of-other-class", {listener("http", 80)}));
  o.gateways.back().gateway_class_name = "other";
  o.gateways.push_back(gateway("of-params-class", {listener("http", 80)}));
  o.gateways.back().gateway_class_name = "with-params";

  const Plan p = run(o);
  ASSERT_EQ(p.gateway.gateway_classes.size(), 2u);
  EXPECT_EQ(p.gateway.gateway_classes[0].name, "portico");
  EXPECT_EQ(sr(p.gateway.gateway_classes[0].conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(cond(p.gateway.gateway_classes[0].conditions, "Accepted").observed_generation, 3);
  EXPECT_EQ(p.gateway.gateway_classes[1].name, "with-params");
  EXPECT_EQ(sr(p.gateway.gateway_classes[1].conditions, "Accepted"), "False/InvalidParameters");

  // A Gateway of another controller's class gets no status from Portico and no address.
  for (const auto& g : p.gateway.gateways) EXPECT_NE(g.name, "of-other-class");
  EXPECT_EQ(p.ipam.services.count("Gateway/" + kInfra + "/of-other-class"), 0u);
  const auto& refused = gw_status(p, "of-params-class");
  EXPECT_EQ(sr(refused.conditions, "Accepted"), "False/Invalid");
  EXPECT_EQ(sr(refused.conditions, "Programmed"), "False/Invalid");
  EXPECT_TRUE(refused.addresses.empty());
}

// ---- Gateway addresses ----

TEST(GatewayAddresses, FromThePoolNeverCollidingWithAServiceOfTheSameName) {
  auto o = base();
  // A LoadBalancer Service named like a Gateway, in the same namespace.
  auto svc = service("same-namespace");
  svc.type = "LoadBalancer";
  o.services.push_back(svc);
  const Plan p = run(o);

  const auto svc_result = p.ipam.services.at(kInfra + "/same-namespace");
  ASSERT_EQ(svc_result.state, ipam::ServiceState::kAssigned);
  // The Service is placed first: new Gateways never take an address a Service would get.
  EXPECT_EQ(svc_result.assignment.ips[0].str(), "203.0.113.10");

  const auto& same = gw_status(p, "same-namespace");
  const auto& all = gw_status(p, "all-namespaces");
  ASSERT_EQ(same.addresses.size(), 1u);  // an IPv4-only pool gives one address
  ASSERT_EQ(all.addresses.size(), 1u);
  EXPECT_EQ(all.addresses[0].value, "203.0.113.11");  // keys sort all- before same-
  EXPECT_EQ(same.addresses[0].value, "203.0.113.12");
  EXPECT_EQ(same.addresses[0].type, "IPAddress");
  EXPECT_EQ(sr(same.conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(same.conditions, "Programmed"), "True/Programmed");

  // Announced like a VIP, named as a Gateway.
  bool found = false;
  for (const auto& v : p.vips) {
    if (v.ip.str() != "203.0.113.12") continue;
    found = true;
    EXPECT_EQ(v.gateways, (std::vector<std::string>{kInfra + "/same-namespace"}));
    EXPECT_TRUE(v.services.empty());
  }
  EXPECT_TRUE(found);
}

TEST(GatewayAddresses, StaticAddressHeldByAServiceIsNotUsable) {
  auto o = base();
  auto svc = service("lb");
  svc.type = "LoadBalancer";
  svc.load_balancer_ip = "203.0.113.15";
  o.services.push_back(svc);
  o.gateways[0].addresses.push_back({"IPAddress", "203.0.113.15"});
  o.gateways[1].addresses.push_back({"IPAddress", "203.0.113.15"});
  const Plan p = run(o);
  EXPECT_EQ(p.ipam.services.at(kInfra + "/lb").assignment.ips[0].str(), "203.0.113.15");
  for (const char* name : {"same-namespace", "all-namespaces"}) {
    const auto& g = gw_status(p, name);
    EXPECT_EQ(sr(g.conditions, "Programmed"), "False/AddressNotUsable") << name;
    EXPECT_TRUE(g.addresses.empty()) << name;
  }
}

TEST(GatewayAddresses, KeptAcrossReloads) {
  auto o = base();
  o.gateways.resize(1);
  const Plan first = run(o);
  ASSERT_EQ(gw_status(first, "same-namespace").addresses.at(0).value, "203.0.113.10");
  // A new Service sorting before the Gateway's key appears: the Gateway keeps its address.
  auto svc = service("aaa");
  svc.type = "LoadBalancer";
  o.services.push_back(svc);
  const Plan second = make_plan(o, nullptr, ipam::assignments_of(first.ipam));
  EXPECT_EQ(gw_status(second, "same-namespace").addresses.at(0).value, "203.0.113.10");
  EXPECT_EQ(second.ipam.services.at(kInfra + "/aaa").assignment.ips.at(0).str(), "203.0.113.11");
}

TEST(GatewayAddresses, DualStackPoolGivesOneAddressPerFamily) {
  auto o = base();
  o.pools[0].addresses.push_back({"2001:db8::10/126", range("2001:db8::10", "2001:db8::13")});
  o.gateways.resize(1);
  const Plan p = run(o);
  const auto& g = gw_status(p, "same-namespace");
  ASSERT_EQ(g.addresses.size(), 2u);
  EXPECT_EQ(g.addresses[0].value, "203.0.113.10");
  EXPECT_EQ(g.addresses[1].value, "2001:db8::10");
}

TEST(GatewayAddresses, StaticAddressesAndPoolAnnotations) {
  auto o = base();
  o.gateways.resize(1);
  o.gateways[0].addresses.push_back({"IPAddress", "203.0.113.15"});
  config::IPAddressPool other = o.pools[0];
  other.meta.name = "other";
  other.addresses = {{"198.51.100.1/32", range("198.51.100.1", "198.51.100.1")}};
  o.pools.push_back(other);
  o.gateways.push_back(gateway("by-annotation", {listener("http", 80)}));
  o.gateways.back().infrastructure.annotations["metallb.io/address-pool"] = "other";
  o.gateways.push_back(gateway("not-in-a-pool", {listener("http", 80)}));
  o.gateways.back().addresses.push_back({"IPAddress", "192.0.2.1"});
  o.gateways.push_back(gateway("hostname", {listener("http", 80)}));
  o.gateways.back().addresses.push_back({"Hostname", "gw.example.com"});
  o.gateways.push_back(gateway("empty-value", {listener("http", 80)}));
  o.gateways.back().addresses.push_back({"IPAddress", ""});
  const Plan p = run(o);

  const auto& fixed = gw_status(p, "same-namespace");
  ASSERT_EQ(fixed.addresses.size(), 1u);
  EXPECT_EQ(fixed.addresses[0].value, "203.0.113.15");
  EXPECT_EQ(sr(fixed.conditions, "Programmed"), "True/Programmed");

  const auto& annotated = gw_status(p, "by-annotation");
  ASSERT_EQ(annotated.addresses.size(), 1u);
  EXPECT_EQ(annotated.addresses[0].value, "198.51.100.1");

  const auto& unusable = gw_status(p, "not-in-a-pool");
  EXPECT_EQ(sr(unusable.conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(unusable.conditions, "Programmed"), "False/AddressNotUsable");
  EXPECT_TRUE(unusable.addresses.empty());
  EXPECT_EQ(sr(listener_status(unusable, "http").conditions, "Programmed"), "False/Pending");

  const auto& host = gw_status(p, "hostname");
  EXPECT_EQ(sr(host.conditions, "Accepted"), "False/UnsupportedAddress");
  EXPECT_EQ(sr(host.conditions, "Programmed"), "False/Invalid");

  const auto& empty = gw_status(p, "empty-value");
  ASSERT_EQ(empty.addresses.size(), 1u);
  EXPECT_EQ(empty.addresses[0].value, "203.0.113.10");
}

TEST(GatewayAddresses, PoolExhaustedIsAddressNotAssigned) {
  auto o = base();
  o.pools[0].addresses = {{"203.0.113.10/32", range("203.0.113.10", "203.0.113.10")}};
  const Plan p = run(o);
  EXPECT_EQ(sr(gw_status(p, "all-namespaces").conditions, "Programmed"), "True/Programmed");
  EXPECT_EQ(sr(gw_status(p, "same-namespace").conditions, "Programmed"),
            "False/AddressNotAssigned");
}

TEST(GatewayAddresses, L2AdvertisementServiceSelectorsReadInfrastructureLabels) {
  auto o = base();
  o.gateways.resize(1);
  config::NodeConfig node;
  node.meta.name = "edge-1";
  node.interfaces.push_back({"uplink", "net_null0", {}, 1500, ""});
  config::L2Advertisement ad;
  ad.meta.name = "gateways-only";
  config::LabelSelector sel;
  sel.match_labels["role"] = "edge";
  ad.service_selectors.push_back(sel);
  o.l2_advertisements.push_back(ad);

  Plan p = make_plan(o, &node, {});
  ASSERT_EQ(p.vips.size(), 1u);
  EXPECT_TRUE(p.vips[0].interfaces.empty());
  ASSERT_EQ(p.l2_events.count("Gateway/" + kInfra + "/same-namespace"), 1u);

  o.gateways[0].infrastructure.labels["role"] = "edge";
  p = make_plan(o, &node, {});
  ASSERT_EQ(p.vips.size(), 1u);
  EXPECT_EQ(p.vips[0].interfaces, (std::vector<std::string>{"uplink"}));
  EXPECT_EQ(p.vips[0].advertisements, (std::vector<std::string>{"gateways-only"}));
}

// ---- listeners ----

TEST(GatewayListeners, HttpsIsNotAvailableYetTheHttpListenerStillWorks) {
  auto o = base();
  auto https = listener("https", 443, "HTTPS");
  https.tls.emplace();
  https.tls->certificate_refs.push_back({"", "Secret", "tls-validity-checks-certificate", ""});
  o.gateways[0].listeners.push_back(https);
  o.http_routes.push_back(
      route("r", {parent("same-namespace")}, {rule({backend("infra-backend-v1")})}));
  o.http_routes.push_back(route("https-only", {parent("same-namespace", "https")},
                                {rule({backend("infra-backend-v1")})}));
  const Plan p = run(o);

  const auto& g = gw_status(p, "same-namespace");
  EXPECT_EQ(sr(g.conditions, "Accepted"), "True/ListenersNotValid");
  EXPECT_EQ(sr(g.conditions, "Programmed"), "True/Programmed");
  const auto& l = listener_status(g, "https");
  const Condition accepted = cond(l.conditions, "Accepted");
  EXPECT_FALSE(accepted.status);
  EXPECT_EQ(accepted.reason, "UnsupportedProtocol");
  EXPECT_EQ(accepted.message, "TLS termination is not available yet in Portico");
  EXPECT_EQ(sr(l.conditions, "Programmed"), "False/Invalid");
  EXPECT_TRUE(l.supported_kinds.empty());
  EXPECT_EQ(l.attached_routes, 0);
  const auto& http = listener_status(g, "http");
  EXPECT_EQ(sr(http.conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(http.conditions, "Programmed"), "True/Programmed");
  EXPECT_EQ(http.attached_routes, 1);
  ASSERT_EQ(http.supported_kinds.size(), 1u);
  EXPECT_EQ(http.supported_kinds[0].group, kGroup);
  EXPECT_EQ(http.supported_kinds[0].kind, "HTTPRoute");

  EXPECT_EQ(sr(parent_conditions(p, "r"), "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(parent_conditions(p, "https-only"), "Accepted"), "False/NotAllowedByListeners");

  // Only port 80 is compiled.
  ASSERT_EQ(p.gateway.model.ports.size(), 2u);  // both Gateways, port 80
  for (const auto& ps : p.gateway.model.ports) EXPECT_EQ(ps.port, 80);
}

TEST(GatewayListeners, UnsupportedProtocolsAndAllInvalid) {
  auto o = base();
  o.gateways[0].listeners = {listener("invalid", 1111, "INVALID")};
  auto tls = listener("tls", 443, "TLS");
  tls.tls.emplace();
  tls.tls->mode = "Passthrough";
  o.gateways[1].listeners.push_back(tls);
  o.gateways[1].listeners.push_back(listener("tcp", 5432, "TCP"));
  const Plan p = run(o);
  const auto& g = gw_status(p, "same-namespace");
  EXPECT_EQ(sr(g.conditions, "Accepted"), "False/ListenersNotValid");
  EXPECT_EQ(sr(listener_status(g, "invalid").conditions, "Accepted"), "False/UnsupportedProtocol");
  EXPECT_TRUE(g.addresses.empty());
  const auto& a = gw_status(p, "all-namespaces");
  EXPECT_EQ(sr(a.conditions, "Accepted"), "True/ListenersNotValid");
  EXPECT_EQ(cond(listener_status(a, "tls").conditions, "Accepted").message,
            "TLS passthrough (TLSRoute) is not available yet in Portico");
  EXPECT_EQ(sr(listener_status(a, "tcp").conditions, "Accepted"), "False/UnsupportedProtocol");
}

TEST(GatewayListeners, Conflicts) {
  auto o = base();
  o.gateways[0].listeners = {
      listener("a", 80, "HTTP", "foo.com"), listener("b", 80, "HTTP", "foo.com"),
      listener("c", 80, "HTTP", "bar.com"), listener("d", 8080, "HTTP"),
      listener("e", 8080, "TCP"),           listener("f", 8080, "UDP")};
  o.http_routes.push_back(
      route("r", {parent("same-namespace")}, {rule({backend("infra-backend-v1")})}));
  const Plan p = run(o);
  const auto& g = gw_status(p, "same-namespace");
  EXPECT_EQ(sr(listener_status(g, "a").conditions, "Conflicted"), "True/HostnameConflict");
  EXPECT_EQ(sr(listener_status(g, "b").conditions, "Conflicted"), "True/HostnameConflict");
  EXPECT_EQ(sr(listener_status(g, "c").conditions, "Conflicted"), "False/NoConflicts");
  EXPECT_EQ(sr(listener_status(g, "d").conditions, "Conflicted"), "True/ProtocolConflict");
  EXPECT_EQ(sr(listener_status(g, "e").conditions, "Conflicted"), "True/ProtocolConflict");
  EXPECT_EQ(sr(listener_status(g, "f").conditions, "Conflicted"), "False/NoConflicts");
  EXPECT_EQ(sr(listener_status(g, "a").conditions, "Programmed"), "False/Invalid");
  EXPECT_EQ(sr(listener_status(g, "c").conditions, "Programmed"), "True/Programmed");
  EXPECT_EQ(sr(g.conditions, "Accepted"), "True/ListenersNotValid");
  // Only listener c is in the model.
  const auto& ports = p.gateway.model.ports;
  size_t listeners_of_same = 0;
  for (const auto& ps : ports) {
    for (const auto& l : ps.listeners) {
      if (l.name.starts_with(kInfra + "/same-namespace/")) {
        ++listeners_of_same;
        EXPECT_EQ(l.name, kInfra + "/same-namespace/c");
      }
    }
  }
  EXPECT_EQ(listeners_of_same, 1u);
}

TEST(GatewayListeners, InvalidRouteKinds) {
  auto o = base();
  auto only_invalid = listener("only-invalid", 80, "HTTP", "a.com");
  only_invalid.allowed_routes.kinds = {{kGroup, "InvalidRoute"}};
  auto mixed = listener("mixed", 80, "HTTP", "b.com");
  mixed.allowed_routes.kinds = {{kGroup, "InvalidRoute"}, {kGroup, "HTTPRoute"}};
  o.gateways[0].listeners = {only_invalid, mixed};
  const Plan p = run(o);
  const auto& g = gw_status(p, "same-namespace");
  const auto& a = listener_status(g, "only-invalid");
  EXPECT_TRUE(a.supported_kinds.empty());
  EXPECT_EQ(sr(a.conditions, "ResolvedRefs"), "False/InvalidRouteKinds");
  const auto& b = listener_status(g, "mixed");
  ASSERT_EQ(b.supported_kinds.size(), 1u);
  EXPECT_EQ(b.supported_kinds[0].kind, "HTTPRoute");
  EXPECT_EQ(sr(b.conditions, "ResolvedRefs"), "False/InvalidRouteKinds");
}

TEST(GatewayListeners, CertificateRefNeedsAReferenceGrant) {
  auto o = base();
  auto https = listener("https", 443, "HTTPS");
  https.tls.emplace();
  https.tls->certificate_refs.push_back({"", "Secret", "certificate", kWeb});
  o.gateways[0].listeners.push_back(https);
  Plan p = run(o);
  EXPECT_EQ(sr(listener_status(gw_status(p, "same-namespace"), "https").conditions, "ResolvedRefs"),
            "False/RefNotPermitted");
  config::ReferenceGrant grant;
  grant.meta.namespace_ = kWeb;
  grant.meta.name = "allow-gateways";
  grant.from.push_back({kGroup, "Gateway", kInfra});
  grant.to.push_back({"", "Secret", ""});
  o.reference_grants.push_back(grant);
  p = run(o);
  EXPECT_EQ(sr(listener_status(gw_status(p, "same-namespace"), "https").conditions, "ResolvedRefs"),
            "True/ResolvedRefs");
}

// ---- HTTPRoute attachment (conformance §5.3 status cases) ----

TEST(HttpRouteStatus, SimpleSameNamespace) {
  auto o = base();
  o.http_routes.push_back(route("gateway-conformance-infra-test", {parent("same-namespace")},
                                {rule({backend("infra-backend-v1")})}));
  const Plan p = run(o);
  const HttpRouteStatus* r = route_status(p, "gateway-conformance-infra-test");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->parents.size(), 1u);
  EXPECT_EQ(r->parents[0].controller_name, kControllerName);
  EXPECT_EQ(r->parents[0].parent_ref.group, kGroup);
  EXPECT_EQ(r->parents[0].parent_ref.kind, "Gateway");
  EXPECT_EQ(r->parents[0].parent_ref.name, "same-namespace");
  EXPECT_EQ(sr(r->parents[0].conditions, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(r->parents[0].conditions, "ResolvedRefs"), "True/ResolvedRefs");
  EXPECT_EQ(listener_status(gw_status(p, "same-namespace"), "http").attached_routes, 1);
  EXPECT_EQ(listener_status(gw_status(p, "all-namespaces"), "http").attached_routes, 0);
}

TEST(HttpRouteStatus, InvalidCrossNamespaceParentRef) {
  auto o = base();
  o.http_routes.push_back(route("invalid-cross-namespace-parent-ref",
                                {parent("same-namespace", "", 0, kInfra)},
                                {rule({backend("web-backend")})}, {}, kWeb));
  o.http_routes.push_back(route("cross-namespace-allowed",
                                {parent("all-namespaces", "", 0, kInfra)},
                                {rule({backend("web-backend")})}, {}, kWeb));
  const Plan p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "invalid-cross-namespace-parent-ref"), "Accepted"),
            "False/NotAllowedByListeners");
  EXPECT_EQ(listener_status(gw_status(p, "same-namespace"), "http").attached_routes, 0);
  EXPECT_EQ(sr(parent_conditions(p, "cross-namespace-allowed"), "Accepted"), "True/Accepted");
  EXPECT_EQ(listener_status(gw_status(p, "all-namespaces"), "http").attached_routes, 1);
  // The parentRef namespace differs from the route's: it is written back.
  EXPECT_EQ(route_status(p, "cross-namespace-allowed")->parents[0].parent_ref.namespace_, kInfra);
}

TEST(HttpRouteStatus, ParentRefNotMatchingSectionNameOrPort) {
  auto o = base();
  o.gateways.push_back(
      gateway("gateway-with-one-not-matching-port-and-section-name-route", {listener("http", 80)}));
  o.http_routes.push_back(route("section-name", {parent("same-namespace", "http1", 80)}, {}));
  o.http_routes.push_back(route("port", {parent("same-namespace", "", 81)}, {}));
  o.http_routes.push_back(
      route("section-and-port",
            {parent("gateway-with-one-not-matching-port-and-section-name-route", "http", 81)}, {}));
  const Plan p = run(o);
  for (const char* name : {"section-name", "port", "section-and-port"}) {
    EXPECT_EQ(sr(parent_conditions(p, name), "Accepted"), "False/NoMatchingParent") << name;
  }
  EXPECT_EQ(listener_status(gw_status(p, "same-namespace"), "http").attached_routes, 0);
}

TEST(HttpRouteStatus, ListenerPortMatching) {
  auto o = base();
  o.gateways.push_back(
      gateway("httproute-listener-port-matching",
              {listener("l1", 80, "HTTP", "foo.com"), listener("l2", 8080, "HTTP", "foo.com"),
               listener("l3", 8080, "HTTP", "bar.com"), listener("l4", 8090, "HTTP", "foo.com"),
               listener("l5", 8090, "HTTP", "bar.com")}));
  const std::string gw = "httproute-listener-port-matching";
  o.http_routes.push_back(
      route("backend-v1", {parent(gw, "", 80)}, {rule({backend("infra-backend-v1")})}));
  o.http_routes.push_back(
      route("backend-v2", {parent(gw, "", 8080)}, {rule({backend("infra-backend-v2")})}));
  o.http_routes.push_back(
      route("backend-v3", {parent(gw, "l4", 8090)}, {rule({backend("infra-backend-v3")})}));
  const Plan p = run(o);
  const auto& g = gw_status(p, gw);
  EXPECT_EQ(listener_status(g, "l1").attached_routes, 1);
  EXPECT_EQ(listener_status(g, "l2").attached_routes, 1);
  EXPECT_EQ(listener_status(g, "l3").attached_routes, 1);
  EXPECT_EQ(listener_status(g, "l4").attached_routes, 1);
  EXPECT_EQ(listener_status(g, "l5").attached_routes, 0);
  for (const char* r : {"backend-v1", "backend-v2", "backend-v3"}) {
    EXPECT_EQ(sr(parent_conditions(p, r), "Accepted"), "True/Accepted") << r;
  }
}

TEST(HttpRouteStatus, HostnameIntersectionAttachment) {
  auto o = base();
  const std::string gw = "httproute-hostname-intersection";
  o.gateways.push_back(gateway(gw, {listener("l1", 80, "HTTP", "very.specific.com"),
                                    listener("l2", 80, "HTTP", "*.wildcard.io"),
                                    listener("l3", 80, "HTTP", "*.anotherwildcard.io")}));
  auto add = [&](const std::string& name, std::vector<std::string> hosts, const std::string& path,
                 const std::string& be) {
    o.http_routes.push_back(route(name, {parent(gw)}, {rule({backend(be)}, path)}, hosts));
  };
  add("specific-host-matches-listener-specific-host",
      {"non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"}, "/s1",
      "infra-backend-v1");
  add("specific-host-matches-listener-wildcard-host",
      {"non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io",
       "foo.bar.wildcard.io"},
      "/s2", "infra-backend-v2");
  add("wildcard-host-matches-listener-specific-host", {"non.matching.com", "*.specific.com"}, "/s3",
      "infra-backend-v3");
  add("wildcard-host-matches-listener-wildcard-host", {"*.anotherwildcard.io"}, "/s4",
      "infra-backend-v1");
  add("no-intersecting-hosts", {"specific.but.wrong.com", "wildcard.io"}, "/s5",
      "infra-backend-v2");
  const Plan p = run(o);
  const auto& g = gw_status(p, gw);
  EXPECT_EQ(listener_status(g, "l1").attached_routes, 2);
  EXPECT_EQ(listener_status(g, "l2").attached_routes, 1);
  EXPECT_EQ(listener_status(g, "l3").attached_routes, 1);
  EXPECT_EQ(sr(parent_conditions(p, "no-intersecting-hosts"), "Accepted"),
            "False/NoMatchingListenerHostname");
  for (const char* r : {"specific-host-matches-listener-specific-host",
                        "specific-host-matches-listener-wildcard-host",
                        "wildcard-host-matches-listener-specific-host",
                        "wildcard-host-matches-listener-wildcard-host"}) {
    EXPECT_EQ(sr(parent_conditions(p, r), "Accepted"), "True/Accepted") << r;
  }

  // Effective hostnames in the model: the s3 route on l1 only answers very.specific.com.
  std::map<std::string, std::vector<std::string>> hosts;  // "listener route" -> hostnames
  for (const auto& ps : p.gateway.model.ports) {
    for (const auto& l : ps.listeners) {
      if (!l.name.starts_with(kInfra + "/" + gw + "/")) continue;
      for (const auto& r : l.rules)
        hosts[l.name.substr(l.name.rfind('/') + 1) + " " + r.route] = r.hostnames;
    }
  }
  EXPECT_EQ(hosts["l1 " + kInfra + "/wildcard-host-matches-listener-specific-host"],
            (std::vector<std::string>{"very.specific.com"}));
  EXPECT_EQ(hosts["l1 " + kInfra + "/specific-host-matches-listener-specific-host"],
            (std::vector<std::string>{"very.specific.com"}));
  EXPECT_EQ(
      hosts["l2 " + kInfra + "/specific-host-matches-listener-wildcard-host"],
      (std::vector<std::string>{"foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"}));
  EXPECT_EQ(hosts["l3 " + kInfra + "/wildcard-host-matches-listener-wildcard-host"],
            (std::vector<std::string>{"*.anotherwildcard.io"}));
  EXPECT_EQ(hosts.size(), 4u);  // nothing else attached
}

TEST(HttpRouteStatus, AllowedRoutesSelector) {
  auto o = base();
  auto l = listener("http", 80, "HTTP", "", config::FromNamespaces::kSelector);
  config::LabelSelector sel;
  sel.match_labels["gateway-conformance"] = "backend";
  l.allowed_routes.selector = sel;
  auto by_name = listener("by-name", 8080, "HTTP", "", config::FromNamespaces::kSelector);
  config::LabelSelector name_sel;
  name_sel.match_labels["kubernetes.io/metadata.name"] = "no-namespace-object";
  by_name.allowed_routes.selector = name_sel;
  o.gateways.push_back(gateway("selector", {l, by_name}));
  o.http_routes.push_back(route("from-web", {parent("selector", "http", 0, kInfra)}, {}, {}, kWeb));
  o.http_routes.push_back(route("from-infra", {parent("selector", "http")}, {}));
  o.http_routes.push_back(route("from-unlisted", {parent("selector", "by-name", 0, kInfra)}, {}, {},
                                "no-namespace-object"));
  const Plan p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "from-web"), "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(parent_conditions(p, "from-infra"), "Accepted"), "False/NotAllowedByListeners");
  EXPECT_EQ(sr(parent_conditions(p, "from-unlisted"), "Accepted"), "True/Accepted");
  EXPECT_EQ(listener_status(gw_status(p, "selector"), "http").attached_routes, 1);
}

TEST(HttpRouteStatus, BackendRefProblems) {
  auto o = base();
  o.http_routes.push_back(
      route("nonexistent", {parent("same-namespace")}, {rule({backend("nonexistent", 8080)})}));
  o.http_routes.push_back(
      route("wrong-port", {parent("same-namespace")}, {rule({backend("infra-backend-v1", 9999)})}));
  auto unknown = backend("infra-backend-v1");
  unknown.group = "unknownkind.example.com";
  unknown.kind = "NonExistent";
  o.http_routes.push_back(
      route("unknown-kind", {parent("same-namespace")}, {rule({unknown}, "/v2")}));
  o.http_routes.push_back(
      route("cross-ns", {parent("same-namespace")}, {rule({backend("web-backend", 8080, kWeb)})}));
  const Plan p = run(o);
  const struct {
    const char* route;
    const char* resolved;
  } cases[] = {{"nonexistent", "False/BackendNotFound"},
               {"wrong-port", "False/BackendNotFound"},
               {"unknown-kind", "False/InvalidKind"},
               {"cross-ns", "False/RefNotPermitted"}};
  for (const auto& c : cases) {
    // An invalid backend never makes a route unaccepted.
    EXPECT_EQ(sr(parent_conditions(p, c.route), "Accepted"), "True/Accepted") << c.route;
    EXPECT_EQ(sr(parent_conditions(p, c.route), "ResolvedRefs"), c.resolved) << c.route;
  }
  EXPECT_EQ(listener_status(gw_status(p, "same-namespace"), "http").attached_routes, 4);
  // Every one of them answers 500.
  ASSERT_EQ(p.gateway.actions.size(), 4u);
  for (const auto& a : p.gateway.actions) {
    EXPECT_EQ(a.kind, ActionKind::kFixedResponse) << a.route;
    EXPECT_EQ(a.status_code, 500);
  }
  // A missing Service is not revealed when the reference is not permitted.
  EXPECT_EQ(
      cond(parent_conditions(p, "cross-ns"), "ResolvedRefs").message,
      "backendRef to Service " + kWeb + "/web-backend is not permitted by any ReferenceGrant");
}

config::ReferenceGrant grant(const std::string& ns, config::ReferenceGrantFrom from,
                             config::ReferenceGrantTo to) {
  config::ReferenceGrant g;
  g.meta.namespace_ = ns;
  g.meta.name = "grant";
  g.from.push_back(from);
  g.to.push_back(to);
  return g;
}

TEST(HttpRouteStatus, InvalidReferenceGrants) {
  auto o = base();
  o.http_routes.push_back(route("reference-grant", {parent("same-namespace")},
                                {rule({backend("web-backend", 8080, kWeb)})}));
  const config::ReferenceGrantFrom from{kGroup, "HTTPRoute", kInfra};
  const config::ReferenceGrantTo to{"", "Service", "web-backend"};
  // The seven ways of §4 to miss.
  o.reference_grants = {
      grant(kInfra, from, to),
      grant(kWeb, {"not-the-group-youre-looking-for", "HTTPRoute", kInfra}, to),
      grant(kWeb, {kGroup, "Gateway", kInfra}, to),
      grant(kWeb, {kGroup, "HTTPRoute", "not-the-namespace-youre-looking-for"}, to),
      grant(kWeb, from, {"not-the-group-youre-looking-for", "Service", "web-backend"}),
      grant(kWeb, from, {"", "Secret", "web-backend"}),
      grant(kWeb, from, {"", "Service", "not-the-service-youre-looking-for"}),
  };
  Plan p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "reference-grant"), "ResolvedRefs"), "False/RefNotPermitted");
  ASSERT_EQ(p.gateway.actions.size(), 1u);
  EXPECT_EQ(p.gateway.actions[0].kind, ActionKind::kFixedResponse);

  o.reference_grants.push_back(grant(kWeb, from, to));
  p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "reference-grant"), "ResolvedRefs"), "True/ResolvedRefs");
  ASSERT_EQ(p.gateway.actions.size(), 1u);
  EXPECT_EQ(p.gateway.actions[0].kind, ActionKind::kForward);
  ASSERT_EQ(p.gateway.actions[0].backends.size(), 1u);
  EXPECT_TRUE(p.gateway.actions[0].backends[0].resolved);
  EXPECT_EQ(p.gateway.actions[0].backends[0].namespace_, kWeb);

  // A grant without a name covers every Service of its namespace.
  o.reference_grants.back().to[0].name = "";
  p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "reference-grant"), "ResolvedRefs"), "True/ResolvedRefs");
}

TEST(HttpRouteStatus, PartiallyInvalidViaInvalidReferenceGrant) {
  auto o = base();
  o.http_routes.push_back(route("invalid-reference-grant", {parent("same-namespace")},
                                {rule({backend("app-backend-v2", 8080, kApp)}, "/v2"),
                                 rule({backend("app-backend-v1", 8080, kApp)})}));
  o.reference_grants.push_back(
      grant(kApp, {kGroup, "HTTPRoute", kInfra}, {"", "Service", "app-backend-v1"}));
  const Plan p = run(o);
  EXPECT_EQ(sr(parent_conditions(p, "invalid-reference-grant"), "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(parent_conditions(p, "invalid-reference-grant"), "ResolvedRefs"),
            "False/RefNotPermitted");
  ASSERT_EQ(p.gateway.actions.size(), 2u);
  EXPECT_EQ(p.gateway.actions[0].rule_index, 0u);
  EXPECT_EQ(p.gateway.actions[0].kind, ActionKind::kFixedResponse);
  EXPECT_EQ(p.gateway.actions[1].rule_index, 1u);
  EXPECT_EQ(p.gateway.actions[1].kind, ActionKind::kForward);
  EXPECT_EQ(p.gateway.actions[1].backends[0].name, "app-backend-v1");
}

TEST(HttpRouteStatus, PartlyResolvedRuleForwardsAndMarksTheInvalidShare) {
  auto o = base();
  auto v1 = backend("infra-backend-v1");
  v1.weight = 70;
  auto missing = backend("missing");
  missing.weight = 30;
  o.http_routes.push_back(route("weights", {parent("same-namespace")}, {rule({v1, missing})}));
  const Plan p = run(o);
  ASSERT_EQ(p.gateway.actions.size(), 1u);
  const Action& a = p.gateway.actions[0];
  EXPECT_EQ(a.kind, ActionKind::kForward);
  ASSERT_EQ(a.backends.size(), 2u);
  EXPECT_TRUE(a.backends[0].resolved);
  EXPECT_EQ(a.backends[0].weight, 70u);
  EXPECT_FALSE(a.backends[1].resolved);
  EXPECT_EQ(a.backends[1].weight, 30u);
}

TEST(HttpRouteStatus, ObservedGenerationBump) {
  auto o = base();
  o.gateways[0].meta.generation = 4;
  o.http_routes.push_back(route("observed-generation-bump", {parent("same-namespace")},
                                {rule({backend("infra-backend-v1")})}));
  Plan p = run(o);
  for (const auto& c : parent_conditions(p, "observed-generation-bump")) {
    EXPECT_EQ(c.observed_generation, 1) << c.type;
  }
  o.http_routes[0].rules[0].backend_refs[0].name = "infra-backend-v2";
  o.http_routes[0].meta.generation = 2;
  p = run(o);
  const auto& cs = parent_conditions(p, "observed-generation-bump");
  EXPECT_EQ(sr(cs, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(cs, "ResolvedRefs"), "True/ResolvedRefs");
  for (const auto& c : cs) EXPECT_EQ(c.observed_generation, 2) << c.type;
  const auto& g = gw_status(p, "same-namespace");
  for (const auto& c : g.conditions) EXPECT_EQ(c.observed_generation, 4) << c.type;
  for (const auto& c : g.listeners[0].conditions) EXPECT_EQ(c.observed_generation, 4) << c.type;
}

TEST(HttpRouteStatus, ParentsOfOtherControllersGetNoEntry) {
  auto o = base();
  config::GatewayClass other;
  other.meta.name = "other";
  other.controller_name = "example.net/gateway-controller";
  o.gateway_classes.push_back(other);
  o.gateways.push_back(gateway("theirs", {listener("http", 80)}));
  o.gateways.back().gateway_class_name = "other";
  o.http_routes.push_back(route("two-parents", {parent("theirs"), parent("same-namespace")},
                                {rule({backend("infra-backend-v1")})}));
  o.http_routes.push_back(route("only-theirs", {parent("theirs")}, {}));
  const Plan p = run(o);
  const HttpRouteStatus* r = route_status(p, "two-parents");
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->parents.size(), 1u);
  EXPECT_EQ(r->parents[0].parent_ref.name, "same-namespace");
  EXPECT_EQ(route_status(p, "only-theirs"), nullptr);
}

TEST(HttpRouteStatus, UnsupportedFiltersDropRules) {
  auto o = base();
  auto cors_rule = rule({backend("infra-backend-v1")}, "/cors");
  cors_rule.filters.push_back({"CORS", {}, {}, {}, {}});
  auto good = rule({backend("infra-backend-v1")});
  o.http_routes.push_back(route("partly", {parent("same-namespace")}, {cors_rule, good}));
  auto mirror_rule = rule({backend("infra-backend-v1")});
  mirror_rule.filters.push_back({"RequestMirror", {}, {}, {}, {}});
  o.http_routes.push_back(route("mirror-only", {parent("same-namespace")}, {mirror_rule}));
  auto bad_method = rule({backend("infra-backend-v1")});
  bad_method.matches.push_back({});
  bad_method.matches[0].method = "FETCH";
  o.http_routes.push_back(route("bad-method", {parent("same-namespace")}, {bad_method}));
  o.http_routes.push_back(route("no-rules", {parent("same-namespace")}, {}));
  o.http_routes.back().rules.clear();  // not as the loader leaves it, but must not crash
  const Plan p = run(o);
  const auto& partly = parent_conditions(p, "partly");
  EXPECT_EQ(sr(partly, "Accepted"), "True/Accepted");
  EXPECT_EQ(sr(partly, "PartiallyInvalid"), "True/UnsupportedValue");
  EXPECT_TRUE(cond(partly, "PartiallyInvalid").message.starts_with("Dropped Rule"));
  EXPECT_EQ(sr(parent_conditions(p, "mirror-only"), "Accepted"), "False/UnsupportedValue");
  EXPECT_EQ(sr(parent_conditions(p, "bad-method"), "Accepted"), "False/UnsupportedValue");
  EXPECT_EQ(sr(parent_conditions(p, "no-rules"), "Accepted"), "False/UnsupportedValue");
  EXPECT_EQ(listener_status(gw_status(p, "same-namespace"), "http").attached_routes, 1);
  // The dropped rule answers 500 rather than falling through to "/".
  ASSERT_EQ(p.gateway.actions.size(), 2u);
  EXPECT_EQ(p.gateway.actions[0].kind, ActionKind::kFixedResponse);
  EXPECT_EQ(p.gateway.actions[0].reason, "filter CORS is not supported by Portico yet");
  EXPECT_EQ(p.gateway.actions[1].kind, ActionKind::kForward);
}

// ---- the compiled model ----

TEST(GatewayModel, SmallConfig) {
  auto o = base();
  o.gateways.resize(1);
  o.gateways[0].listeners = {listener("http", 80, "HTTP", "*.example.com"),
                             listener("alt", 8080, "HTTP")};
  // Route a: header match + request header modifier, on both listeners.
  auto a_rule = rule({backend("infra-backend-v1")}, "/api/");
  config::HttpHeaderMatch version;
  version.name = "version";
  version.value = "two";
  a_rule.matches[0].headers.push_back(version);
  config::HttpRouteFilter add_header;
  add_header.type = "RequestHeaderModifier";
  add_header.request_header_modifier = config::HttpHeaderFilter{{{"X-Set", "1"}}, {}, {}};
  a_rule.filters.push_back(add_header);
  auto a = route("a", {parent("same-namespace")}, {a_rule}, {"www.example.com"});
  a.meta.creation_timestamp = 1000;
  // Route b: a redirect (no backends) and a prefix rewrite, on port 8080 only.
  auto redirect_rule = rule({}, "/old");
  config::HttpRouteFilter redirect;
  redirect.type = "RequestRedirect";
  redirect.request_redirect = config::HttpRequestRedirectFilter{};
  redirect.request_redirect->hostname = "new.example.com";
  redirect_rule.filters.push_back(redirect);
  auto rewrite_rule = rule({backend("infra-backend-v2")}, "/prefix");
  config::HttpRouteFilter rewrite;
  rewrite.type = "URLRewrite";
  rewrite.url_rewrite = config::HttpUrlRewriteFilter{
      "", config::HttpPathModifier{config::PathModifierType::kReplacePrefixMatch, "/xyz"}};
  rewrite_rule.filters.push_back(rewrite);
  auto empty_rule = config::HttpRouteRule{};  // no matches, no backends
  auto b =
      route("b", {parent("same-namespace", "", 8080)}, {redirect_rule, rewrite_rule, empty_rule});
  o.http_routes = {a, b};
  const Plan p = run(o);

  const auto& model = p.gateway.model;
  ASSERT_EQ(model.ports.size(), 2u);
  const nf::route::PortSpec& p80 = model.ports[0];
  EXPECT_FALSE(p80.v6);
  EXPECT_EQ(p80.port, 80);
  EXPECT_EQ(p80.address[0], 203);
  EXPECT_EQ(p80.address[3], 10);
  ASSERT_EQ(p80.listeners.size(), 1u);
  EXPECT_EQ(p80.listeners[0].name, kInfra + "/same-namespace/http");
  EXPECT_EQ(p80.listeners[0].hostname, "*.example.com");
  ASSERT_EQ(p80.listeners[0].rules.size(), 1u);
  const nf::route::Rule& ra = p80.listeners[0].rules[0];
  EXPECT_EQ(ra.route, kInfra + "/a");
  EXPECT_EQ(ra.created, 1000);
  EXPECT_EQ(ra.rule_index, 0u);
  EXPECT_EQ(ra.hostnames, (std::vector<std::string>{"www.example.com"}));
  ASSERT_EQ(ra.matches.size(), 1u);
  EXPECT_EQ(ra.matches[0].path_type, nf::route::PathType::kPrefix);
  EXPECT_EQ(ra.matches[0].path, "/api/");
  ASSERT_EQ(ra.matches[0].headers.size(), 1u);
  EXPECT_EQ(ra.matches[0].headers[0].name, "version");
  EXPECT_FALSE(ra.matches[0].headers[0].regex);
  const Action& act_a = p.gateway.actions.at(ra.action);
  EXPECT_EQ(act_a.kind, ActionKind::kForward);
  ASSERT_TRUE(act_a.request_header_modifier);
  EXPECT_EQ(act_a.request_header_modifier->set[0].name, "X-Set");

  const nf::route::PortSpec& p8080 = model.ports[1];
  EXPECT_EQ(p8080.port, 8080);
  ASSERT_EQ(p8080.listeners.size(), 1u);
  EXPECT_EQ(p8080.listeners[0].hostname, "");
  // Route a (no sectionName, no port) attached here too, then route b's three rules.
  ASSERT_EQ(p8080.listeners[0].rules.size(), 4u);
  EXPECT_EQ(p8080.listeners[0].rules[0].route, kInfra + "/a");
  EXPECT_EQ(p8080.listeners[0].rules[0].hostnames, (std::vector<std::string>{"www.example.com"}));
  const std::vector<nf::route::Rule> rules(p8080.listeners[0].rules.begin() + 1,
                                           p8080.listeners[0].rules.end());
  EXPECT_EQ(rules[0].route, kInfra + "/b");
  EXPECT_EQ(rules[2].rule_index, 2u);
  const Action& redirect_action = p.gateway.actions.at(rules[0].action);
  EXPECT_EQ(redirect_action.kind, ActionKind::kRedirect);
  EXPECT_EQ(redirect_action.listener_port, 8080);
  EXPECT_EQ(redirect_action.redirect->hostname, "new.example.com");
  EXPECT_EQ(redirect_action.redirect->status_code, 302);
  const Action& rewrite_action = p.gateway.actions.at(rules[1].action);
  EXPECT_EQ(rewrite_action.kind, ActionKind::kForward);
  EXPECT_EQ(rewrite_action.matched_prefix, "/prefix");
  ASSERT_TRUE(rewrite_action.url_rewrite);
  EXPECT_EQ(rewrite_action.url_rewrite->path->value, "/xyz");
  const Action& empty_action = p.gateway.actions.at(rules[2].action);
  EXPECT_EQ(empty_action.kind, ActionKind::kFixedResponse);
  EXPECT_EQ(empty_action.status_code, 500);
  EXPECT_EQ(empty_action.reason, "no backendRefs");
  ASSERT_EQ(rules[2].matches.size(), 1u);  // defaulted
  EXPECT_EQ(rules[2].matches[0].path, "/");
  EXPECT_EQ(rules[2].matches[0].path_type, nf::route::PathType::kPrefix);
  EXPECT_TRUE(rules[2].hostnames.empty());
}

// ---- `portico check` output ----

TEST(GatewayCheckOutput, KubernetesStatusShape) {
  auto o = base();
  o.gateways.resize(1);
  o.http_routes.push_back(
      route("r", {parent("same-namespace", "http")}, {rule({backend("missing")})}));
  const Plan p = run(o);
  const auto objects = nlohmann::json::parse(gateway_objects_json(p, "2026-12-05T06:00:00Z"));
  ASSERT_EQ(objects.size(), 3u);
  EXPECT_EQ(objects[0]["kind"], "GatewayClass");
  EXPECT_EQ(objects[0]["apiVersion"], "gateway.networking.k8s.io/v1");
  const auto& gw = objects[1];
  EXPECT_EQ(gw["kind"], "Gateway");
  EXPECT_EQ(gw["metadata"]["namespace"], kInfra);
  EXPECT_EQ(gw["status"]["addresses"][0]["type"], "IPAddress");
  EXPECT_EQ(gw["status"]["addresses"][0]["value"], "203.0.113.10");
  const auto& c0 = gw["status"]["conditions"][0];
  EXPECT_EQ(c0["type"], "Accepted");
  EXPECT_EQ(c0["status"], "True");
  EXPECT_EQ(c0["reason"], "Accepted");
  EXPECT_EQ(c0["observedGeneration"], 1);
  EXPECT_EQ(c0["lastTransitionTime"], "2026-12-05T06:00:00Z");
  const auto& l = gw["status"]["listeners"][0];

  ASSERT_EQ(gw["events"].size(), 1u);
  EXPECT_EQ(gw["events"][0]["reason"], "IPAllocated");
  EXPECT_EQ(l["name"], "http");
  EXPECT_EQ(l["attachedRoutes"], 1);
  EXPECT_EQ(l["supportedKinds"][0]["group"], kGroup);
  EXPECT_EQ(l["supportedKinds"][0]["kind"], "HTTPRoute");
  const auto& r = objects[2];
  EXPECT_EQ(r["kind"], "HTTPRoute");
  const auto& parent0 = r["status"]["parents"][0];
  EXPECT_EQ(parent0["controllerName"], kControllerName);
  EXPECT_EQ(parent0["parentRef"]["group"], kGroup);
  EXPECT_EQ(parent0["parentRef"]["kind"], "Gateway");
  EXPECT_EQ(parent0["parentRef"]["name"], "same-namespace");
  EXPECT_EQ(parent0["parentRef"]["sectionName"], "http");
  EXPECT_FALSE(parent0["parentRef"].contains("namespace"));
  EXPECT_FALSE(parent0["parentRef"].contains("port"));
  EXPECT_EQ(parent0["conditions"][1]["type"], "ResolvedRefs");
  EXPECT_EQ(parent0["conditions"][1]["status"], "False");
  EXPECT_EQ(parent0["conditions"][1]["reason"], "BackendNotFound");

  std::ostringstream text;
  print_gateway_text(p, text);
  EXPECT_NE(text.str().find("Gateway/" + kInfra + "/same-namespace: 203.0.113.10; Accepted=True"),
            std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("ResolvedRefs=False (BackendNotFound: Service " + kInfra +
                            "/missing not found)"),
            std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace control::gateway
