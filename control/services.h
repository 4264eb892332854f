// Services -> L4 service ports: what each VIP:port balances to (control thread, pure code).
//
// compile_services() takes the loaded objects and the plan (IPAM has given the Services their
// addresses) and produces one L4ServicePort per (VIP, protocol, port) of every LoadBalancer
// Service that holds an address, with the endpoints kube-proxy would use:
//  * only Services of type LoadBalancer whose IPAM state is kAssigned; one port per assigned
//    VIP and per Service port of protocol TCP or UDP (SCTP ports get an event and no port);
//  * EndpointSlices are the Service's by their `kubernetes.io/service-name` label, in the same
//    namespace, with addressType matching the VIP's family (IPv4 / IPv6; FQDN slices ignored);
//    of each endpoint, the first address is used (as kube-proxy does);
//  * the endpoint port is the slice port with the Service port's name and protocol, which is
//    how the EndpointSlice controller publishes a resolved (possibly named) targetPort; a slice
//    without such a port uses the Service's numeric targetPort, or the Service port when
//    targetPort is unset; a named targetPort the slice does not resolve skips that slice;
//  * conditions as the API defines them: unset `ready` counts as true, unset `serving` as equal
//    to ready, unset `terminating` as false. An endpoint is ready when ready && !terminating;
//    it is a fallback endpoint when serving && terminating; anything else is left out;
//  * if any endpoint of the port is ready, the ready ones take new flows and the fallback ones
//    are listed with `terminating` set: connections they already have keep them, new flows do
//    not go to them; if none is ready, the fallback ones take new flows (kube-proxy's fallback
//    to serving-terminating endpoints) and are listed with `terminating` clear;
//  * duplicates (the same address:port in two slices) count once, with the best condition any
//    of them has;
//  * the forwarding mode comes from the annotation `portico.io/forwarding-mode` (nat, dsr, ipip;
//    default nat; other values are refused by config validation); externalTrafficPolicy is
//    recorded. dsr and ipip do not rewrite ports: packets reach endpoints on the Service port.
// Events (per Service, type Warning) explain what a user would otherwise wonder about:
// NoEndpoints (a service port on a VIP with no endpoint that takes new flows),
// UnsupportedProtocol (SCTP ports, not balanced), PortTranslationUnsupported (dsr/ipip with an
// endpoint port different from the Service port), ClientAddressNotPreserved (Local traffic
// policy in nat mode: full NAT replaces the client address).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/ipam.h"
#include "control/plan.h"

namespace control {

inline constexpr const char* kForwardingModeAnnotation = "portico.io/forwarding-mode";

enum class ForwardingMode : uint8_t { kNat = 0, kDsr = 1, kIpip = 2 };
const char* forwarding_mode_name(ForwardingMode m);  // "nat", "dsr", "ipip"

struct L4Endpoint {
  config::IpAddress address;
  uint16_t port = 0;  // target port on the endpoint
  // Existing flows only: a serving-terminating endpoint while other endpoints are ready. The
  // fallback endpoints used when none is ready take new flows and have this clear.
  bool terminating = false;
  std::string node_name;
  bool operator==(const L4Endpoint&) const = default;
};

struct L4ServicePort {
  ipam::ServiceKey service;  // "namespace/name"
  std::string port_name;     // Service port name (may be empty)
  config::IpAddress vip;
  uint8_t protocol = 6;  // 6 TCP, 17 UDP
  uint16_t port = 0;
  ForwardingMode mode = ForwardingMode::kNat;
  bool local_traffic_policy = false;  // externalTrafficPolicy: Local
  std::vector<L4Endpoint> endpoints;  // sorted by address, then port
};

struct ServicesResult {
  std::vector<L4ServicePort> ports;  // sorted by vip, protocol, port
  std::map<ipam::ServiceKey, std::vector<ipam::Event>> events;
};

ServicesResult compile_services(const config::ObjectSet& objects, const Plan& plan);

// The endpoints of one port of a Service (of any type: Gateway backends are usually ClusterIP
// Services) in one address family, by the rules above, sorted by address then port.
std::vector<L4Endpoint> service_endpoints(const config::ObjectSet& objects,
                                          const config::Service& svc, const config::ServicePort& p,
                                          config::IpFamily family);

// A readable dump, one line per service port and per endpoint, for golden tests and logs:
//   203.0.113.11:80/TCP default/web:http nat policy=Cluster
//     198.51.100.21:8080
//     198.51.100.22:8080 terminating
// IPv6 addresses are bracketed ([2001:db8:200::10]:80/TCP); an unnamed Service port prints the
// Service alone (default/web); a port without endpoints is its first line only.
std::string dump(const ServicesResult& r);

}  // namespace control
