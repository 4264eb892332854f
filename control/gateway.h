// Gateway API controller side: which GatewayClasses, Gateways and HTTPRoutes are Portico's, the
// statuses a controller writes on them, and the routing model the data plane classifies with.
//
// Pure code run by the control thread on every configuration change and by `portico check`
// (no I/O, no clock: lastTransitionTime is the caller's). It follows the Gateway API digest
// (shared/reference/gateway-api.md): attachment rules §2.3, status conditions §3, ReferenceGrant
// §4. A Gateway's addresses come from IPAM (control/ipam.h), which serves Gateways next to
// LoadBalancer Services from the same IPAddressPools (gateway_claims() below), so the two can
// never collide; make_plan() announces them like Service VIPs.
//
// What Portico serves today: HTTP listeners with HTTPRoutes (matches on path, headers, query,
// method; filters RequestHeaderModifier, RequestRedirect, URLRewrite, and per-backend
// RequestHeaderModifier). HTTPS/TLS/TCP/UDP listeners are reported Accepted=False
// (UnsupportedProtocol) while the other listeners of the Gateway keep working. Rules with
// filters Portico does not implement stay in the model as a 500 answer (so their requests never
// fall through to a less specific rule) and are reported through PartiallyInvalid, or
// Accepted=False UnsupportedValue when no rule of the route is implemented.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/ipam.h"
#include "nf/route_model.h"

namespace control::gateway {

inline constexpr const char* kControllerName = "portico.io/gateway-controller";
inline constexpr const char* kGroup = "gateway.networking.k8s.io";

// ---- statuses, in Kubernetes shape (metav1.Condition without lastTransitionTime) ----

struct Condition {
  std::string type;
  bool status = false;
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
};

struct GatewayClassStatus {
  std::string name;
  std::vector<Condition> conditions;  // Accepted
};

struct ListenerStatus {
  std::string name;
  std::vector<config::RouteGroupKind> supported_kinds;
  int32_t attached_routes = 0;
  std::vector<Condition> conditions;  // Accepted, Conflicted, ResolvedRefs, Programmed
};

struct GatewayStatus {
  std::string namespace_;
  std::string name;
  std::vector<config::GatewayAddress> addresses;  // status.addresses: what is bound
  std::vector<Condition> conditions;              // Accepted, Programmed
  std::vector<ListenerStatus> listeners;
};

struct RouteParentStatus {
  config::ParentReference parent_ref;  // group and kind always set; namespace as written
  std::string controller_name = kControllerName;
  std::vector<Condition> conditions;  // Accepted, ResolvedRefs, PartiallyInvalid (when True)
};

struct HttpRouteStatus {
  std::string namespace_;
  std::string name;
  std::vector<RouteParentStatus> parents;  // one per parentRef to a Gateway of ours
};

// ---- what a matched request does (nf::route::Rule::action indexes Result::actions) ----

struct Backend {
  std::string namespace_;
  std::string name;
  uint16_t port = 0;
  uint32_t weight = 1;
  // Service found, port found, kind Service, cross-namespace reference granted. The share of
  // traffic (by weight) of an unresolved backend is answered 500 (digest §2.6).
  bool resolved = false;
  std::string problem;                                              // why not resolved
  std::optional<config::HttpHeaderFilter> request_header_modifier;  // backendRef filter
};

enum class ActionKind : uint8_t { kForward, kRedirect, kFixedResponse };

struct Action {
  ActionKind kind = ActionKind::kFixedResponse;
  std::string route;  // "namespace/name"
  uint32_t rule_index = 0;
  // kForward: weights are over all backends, resolved or not.
  std::vector<Backend> backends;
  std::optional<config::HttpHeaderFilter> request_header_modifier;
  std::optional<config::HttpUrlRewriteFilter> url_rewrite;
  // kRedirect
  std::optional<config::HttpRequestRedirectFilter> redirect;
  // The listener port the request came in on: a redirect without port or scheme uses it.
  uint16_t listener_port = 0;
  // The rule's single PathPrefix match value, for ReplacePrefixMatch (rewrite or redirect).
  std::string matched_prefix;
  // kFixedResponse
  uint16_t status_code = 500;
  std::string reason;  // why a fixed answer ("no backendRefs", "filter CORS not supported")
};

struct Result {
  std::vector<GatewayClassStatus> gateway_classes;  // ours only, input order
  std::vector<GatewayStatus> gateways;              // of our classes, input order
  std::vector<HttpRouteStatus> http_routes;         // routes with at least one parent of ours
  nf::route::RouteModel model;
  std::vector<Action> actions;
};

// "Gateway/namespace/name": the IPAM key of a Gateway. A Service key ("namespace/name") has
// one '/', this one two, so a Gateway never shares a key with a Service of the same name.
ipam::ServiceKey gateway_key(const config::Gateway& g);

// The Gateways IPAM must serve: those of an accepted class of ours whose spec.addresses are all
// of type IPAddress. Each stands as the LoadBalancer Service IPAM knows how to serve:
//  * namespace = the Gateway's; labels and annotations = spec.infrastructure's, so pool
//    serviceSelectors, metallb.io/address-pool, loadBalancerIPs and allow-shared-ip apply;
//  * spec.addresses values, when any is given, are the requested IPs (they override a
//    loadBalancerIPs annotation), so a static address must lie in an IPAddressPool;
//  * policy PreferDualStack with families IPv4 then IPv6: one address per family the chosen
//    pool has (a single-stack pool gives one address, a dual-stack pool one of each);
//  * ports: the listener ports, TCP, which matters only for allow-shared-ip.
std::vector<ipam::ExtraClaim> gateway_claims(const config::ObjectSet& objects);

// Statuses, RouteModel and actions. `ipam` is the result of the pass that had gateway_claims().
Result compile(const config::ObjectSet& objects, const ipam::Result& ipam);

// ---- pieces, exposed for tests ----

// The effective hostname of a listener hostname and a route hostname (either may be "" = any,
// or "*.suffix"), or nullopt if they do not intersect (digest §2.3 table). "" and "" give "".
std::optional<std::string> intersect_hostname(const std::string& listener,
                                              const std::string& route);

// Effective hostnames of a route on a listener: empty vector with *any = true when neither side
// names a host; empty with *any = false when nothing intersects.
std::vector<std::string> effective_hostnames(const std::string& listener,
                                             const std::vector<std::string>& route, bool* any);

// A reference from (from_group, from_kind, from_namespace) to (to_group, to_kind, to_name) in
// to_namespace is allowed: same namespace, or a ReferenceGrant in to_namespace permits it.
bool reference_granted(const config::ObjectSet& objects, const std::string& from_group,
                       const std::string& from_kind, const std::string& from_namespace,
                       const std::string& to_group, const std::string& to_kind,
                       const std::string& to_name, const std::string& to_namespace);

}  // namespace control::gateway
