// The plan: what this node does with the loaded objects, before anything touches DPDK.
//
// plan() runs IPAM (Services and the Gateways of our GatewayClasses), then decides for every
// address a Service or Gateway holds which of this node's interfaces announce it in L2 mode
// (L2Advertisement pool, service, node and interface selectors, MetalLB §2.2 / §4.1). A Gateway
// is announced exactly like a Service whose labels are its spec.infrastructure.labels, so an
// L2Advertisement serviceSelector selects Gateways by those labels. Last, it compiles the
// Gateway API statuses and RouteModel (control/gateway.h). With one Portico node the MetalLB
// election always elects this node, so the only question is whether an advertisement selects it at
// all. Pure code, shared by `portico check` (statuses) and `portico run` (the Snapshot compiler).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/gateway.h"
#include "control/ipam.h"

namespace control {

struct VipPlan {
  config::IpAddress ip;
  std::string pool;
  std::vector<std::string> services;        // "namespace/name" of every Service holding it
  std::vector<std::string> gateways;        // "namespace/name" of every Gateway holding it
  std::vector<std::string> advertisements;  // L2Advertisements that apply on this node
  std::vector<std::string> interfaces;      // NodeConfig interface names answering ARP/NDP
  uint32_t announce_ports = 0;              // bit i = NodeConfig interfaces[i]
};

struct Plan {
  ipam::Result ipam;
  std::vector<VipPlan> vips;  // sorted by address
  // Per Service (or Gateway, by gateway::gateway_key), events the speaker side would add
  // (announceFailed, not announced...).
  std::map<ipam::ServiceKey, std::vector<ipam::Event>> l2_events;
  // Gateway API: statuses, the HTTP RouteModel and its actions.
  gateway::Result gateway;
};

// node may be null (check without a NodeConfig): nothing is announced then.
Plan make_plan(const config::ObjectSet& objects, const config::NodeConfig* node,
               const std::map<ipam::ServiceKey, ipam::Assignment>& previous);

}  // namespace control
