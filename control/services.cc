// Services -> L4 service ports (see services.h for the rules).
//
// Control thread, pure code: reads the loaded objects and the plan, returns new values. Each
// LoadBalancer Service that IPAM has given addresses becomes one L4ServicePort per (VIP, port);
// its endpoints are gathered from the Service's EndpointSlices of the VIP's family, merged by
// address:port, and sorted into those that take new flows and those kept for existing flows
// only, as kube-proxy does (pkg/proxy/topology.go: ready endpoints, else serving-terminating).
#include "control/services.h"

#include <algorithm>
#include <optional>
#include <tuple>

namespace control {

namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

// How one endpoint of the merged slices may be used (conditions as the API defines them: unset
// ready counts as ready, unset serving as equal to ready, unset terminating as false).
struct Candidate {
  bool ready = false;                // takes new flows
  bool serving_terminating = false;  // kube-proxy's fallback set
  std::string node_name;
};

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

ForwardingMode mode_of(const config::Service& s) {
  auto it = s.meta.annotations.find(kForwardingModeAnnotation);
  if (it == s.meta.annotations.end()) return ForwardingMode::kNat;
  if (it->second == "dsr") return ForwardingMode::kDsr;
  if (it->second == "ipip") return ForwardingMode::kIpip;
  return ForwardingMode::kNat;  // "nat"; anything else was refused by config validation
}

std::string protocol_text(uint8_t protocol) { return protocol == kProtoUdp ? "UDP" : "TCP"; }

std::string address_port(const config::IpAddress& a, uint16_t port) {
  const std::string addr = a.is_v6() ? "[" + a.str() + "]" : a.str();
  return addr + ":" + std::to_string(port);
}

// "203.0.113.11:80/TCP (port http)", how events name a service port on a VIP.
std::string describe(const config::IpAddress& vip, const config::ServicePort& p) {
  std::string out = address_port(vip, p.port) + "/" + p.protocol;
  if (!p.name.empty()) out += " (port " + p.name + ")";
  return out;
}

// The port endpoints of `slice` listen on for the Service port `p`, if the slice says.
std::optional<uint16_t> endpoint_port(const config::EndpointSlice& slice,
                                      const config::ServicePort& p) {
  for (const auto& sp : slice.ports) {
    if (sp.name == p.name && sp.protocol == p.protocol && sp.port != 0) return sp.port;
  }
  if (is_number(p.target_port)) return static_cast<uint16_t>(std::stoul(p.target_port));
  if (p.target_port.empty()) return p.port;
  return std::nullopt;  // a named targetPort the slice does not resolve
}

void add_event(std::vector<ipam::Event>* events, ipam::Event e) {
  if (std::find(events->begin(), events->end(), e) == events->end())
    events->push_back(std::move(e));
}

}  // namespace

// The endpoints of one service port of one address family, merged over the Service's slices.
std::vector<L4Endpoint> service_endpoints(const config::ObjectSet& objects,
                                          const config::Service& svc, const config::ServicePort& p,
                                          config::IpFamily fam) {
  std::map<std::pair<config::IpAddress, uint16_t>, Candidate> merged;
  const char* family = config::family_name(fam);
  for (const auto& slice : objects.endpoint_slices) {
    if (slice.meta.namespace_ != svc.meta.namespace_ || slice.service_name != svc.meta.name ||
        slice.address_type != family) {
      continue;
    }
    const std::optional<uint16_t> port = endpoint_port(slice, p);
    if (!port) continue;
    for (const auto& e : slice.endpoints) {
      // Consumers use the first address only (discovery.k8s.io/v1 Endpoint.addresses).
      if (e.addresses.empty()) continue;
      const auto address = config::IpAddress::parse(e.addresses.front());
      if (!address || address->family() != fam) continue;
      const bool ready = e.conditions.ready.value_or(true);
      const bool serving = e.conditions.serving.value_or(ready);
      const bool terminating = e.conditions.terminating.value_or(false);
      Candidate& c = merged[{*address, *port}];
      c.ready = c.ready || (ready && !terminating);
      c.serving_terminating = c.serving_terminating || (serving && terminating);
      if (c.node_name.empty()) c.node_name = e.node_name;
    }
  }
  const bool any_ready =
      std::any_of(merged.begin(), merged.end(), [](const auto& kv) { return kv.second.ready; });
  std::vector<L4Endpoint> out;
  for (const auto& [where, c] : merged) {
    if (c.ready) {
      out.push_back({where.first, where.second, false, c.node_name});
    } else if (c.serving_terminating) {
      // With ready endpoints: existing flows only. Without: kube-proxy's fallback, new flows too.
      out.push_back({where.first, where.second, any_ready, c.node_name});
    }
  }
  return out;  // sorted by address, then port: the map's order
}

namespace {

void compile_service(const config::ObjectSet& objects, const config::Service& svc,
                     const ipam::ServiceResult& ipam_result, ServicesResult* result) {
  const ipam::ServiceKey key = ipam::service_key(svc);
  const ForwardingMode mode = mode_of(svc);
  const bool local = svc.external_traffic_policy == "Local";
  std::vector<ipam::Event> events;
  if (local && mode == ForwardingMode::kNat) {
    add_event(&events,
              {"Warning", "ClientAddressNotPreserved",
               "externalTrafficPolicy is Local, but in nat mode Portico forwards with full NAT, "
               "which replaces the client address with an SNAT address; set the annotation " +
                   std::string(kForwardingModeAnnotation) +
                   " to dsr or ipip to preserve client addresses"});
  }
  for (const auto& p : svc.ports) {
    if (p.protocol != "TCP" && p.protocol != "UDP") {
      std::string port = std::to_string(p.port) + "/" + p.protocol;
      if (!p.name.empty()) port += " (port " + p.name + ")";
      add_event(&events, {"Warning", "UnsupportedProtocol",
                          port + ": Portico balances TCP and UDP only; this port is not served"});
      continue;
    }
    for (const auto& vip : ipam_result.assignment.ips) {
      L4ServicePort sp;
      sp.service = key;
      sp.port_name = p.name;
      sp.vip = vip;
      sp.protocol = p.protocol == "UDP" ? kProtoUdp : kProtoTcp;
      sp.port = p.port;
      sp.mode = mode;
      sp.local_traffic_policy = local;
      sp.endpoints = service_endpoints(objects, svc, p, vip.family());
      const bool takes_new_flows = std::any_of(sp.endpoints.begin(), sp.endpoints.end(),
                                               [](const L4Endpoint& e) { return !e.terminating; });
      if (!takes_new_flows) {
        add_event(&events, {"Warning", "NoEndpoints",
                            "no endpoint can take new connections on " + describe(vip, p) +
                                ": no ready (or serving and terminating) " +
                                config::family_name(vip.family()) +
                                " endpoint in the Service's EndpointSlices"});
      }
      if (mode != ForwardingMode::kNat) {
        for (const auto& e : sp.endpoints) {
          if (e.port == p.port) continue;
          add_event(&events,
                    {"Warning", "PortTranslationUnsupported",
                     describe(vip, p) + ": endpoint " + address_port(e.address, e.port) +
                         " listens on another port, but " + forwarding_mode_name(mode) +
                         " mode cannot translate ports: packets reach the endpoint on port " +
                         std::to_string(p.port) + "; use nat mode or a targetPort equal to " +
                         std::to_string(p.port)});
          break;
        }
      }
      result->ports.push_back(std::move(sp));
    }
  }
  if (!events.empty()) result->events[key] = std::move(events);
}

}  // namespace

const char* forwarding_mode_name(ForwardingMode m) {
  switch (m) {
    case ForwardingMode::kNat:
      return "nat";
    case ForwardingMode::kDsr:
      return "dsr";
    case ForwardingMode::kIpip:
      return "ipip";
  }
  return "nat";
}

ServicesResult compile_services(const config::ObjectSet& objects, const Plan& plan) {
  ServicesResult result;
  for (const auto& svc : objects.services) {
    if (svc.type != "LoadBalancer") continue;
    auto it = plan.ipam.services.find(ipam::service_key(svc));
    if (it == plan.ipam.services.end() || it->second.state != ipam::ServiceState::kAssigned) {
      continue;
    }
    compile_service(objects, svc, it->second, &result);
  }
  std::sort(result.ports.begin(), result.ports.end(),
            [](const L4ServicePort& a, const L4ServicePort& b) {
              return std::tie(a.vip, a.protocol, a.port, a.service) <
                     std::tie(b.vip, b.protocol, b.port, b.service);
            });
  return result;
}

std::string dump(const ServicesResult& r) {
  std::string out;
  for (const auto& sp : r.ports) {
    out += address_port(sp.vip, sp.port) + "/" + protocol_text(sp.protocol) + " " + sp.service;
    if (!sp.port_name.empty()) out += ":" + sp.port_name;
    out += std::string(" ") + forwarding_mode_name(sp.mode) +
           " policy=" + (sp.local_traffic_policy ? "Local" : "Cluster") + "\n";
    for (const auto& e : sp.endpoints) {
      out += "  " + address_port(e.address, e.port) + (e.terminating ? " terminating" : "") + "\n";
    }
  }
  return out;
}

}  // namespace control
