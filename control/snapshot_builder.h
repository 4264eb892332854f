// Plan + service ports -> Snapshot: the data plane's view of the configuration (control
// thread).
//
// The address table (VIPs, SNAT and node addresses with their announce ports) comes from the
// plan; the L4 tables from control::compile_services: one nf::lb::Service per VIP:port/protocol
// with its endpoints as backends, each with a Maglev table (weight 1 per endpoint that takes new
// flows, 0 for terminating ones; services with the same endpoint set share one table), a next
// hop (NeighborManager) and a stable id. Backend ids are kept in the L4Ids across builds, keyed
// by (VIP, protocol, port, backend address, backend port), so a flow recorded against a backend
// still finds it after a reload, and no longer finds it once that backend left the service.
// Ids of backends that left are forgotten (one that returns gets a new id); ids are never
// reused. Service ports (and HTTP listeners) get ids the same way. Both also get traffic counter
// slots (nf/traffic.h, control/traffic_stats.h), dense and stable while their key stays, and the
// build reports which names go with which slot (L4BuildResult::traffic).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/neighbors.h"
#include "control/plan.h"
#include "control/services.h"
#include "control/traffic_stats.h"
#include "lcore/snapshot.h"

namespace control {

// What survives from one build to the next.
struct L4Ids {
  std::map<std::string, uint32_t> backend_ids;
  uint32_t next_backend_id = 1;
  std::map<std::string, uint32_t> service_ids;  // service port / HTTP listener -> id
  uint32_t next_service_id = 1;
  SlotPool service_slots{nf::kTrafficServiceSlots};
  SlotPool backend_slots{nf::kTrafficBackendSlots};
};

struct L4BuildResult {
  size_t service_ports = 0;
  size_t backends = 0;
  size_t maglev_tables = 0;
  std::vector<std::string> warnings;  // endpoints without a route, next hop table full...
  size_t l7_ports = 0;    // Gateway address:port pairs with HTTP listeners
  size_t l7_actions = 0;  // rules' actions
  size_t l7_pools = 0;    // backend pools (Service, port, family) of the rules
  TrafficDirectory traffic;  // names of the Snapshot's traffic counter slots
};

// What the L7 part (Gateway HTTP listeners, from plan.gateway) needs besides the plan: the
// objects (Services and EndpointSlices the rules' backendRefs name) and the worker count (one
// classifier scratch each).
struct L7Inputs {
  const config::ObjectSet* objects = nullptr;
  unsigned workers = 1;
  // Backends drained through the API (address, endpoint port): their endpoints in the Gateway
  // backend pools are marked terminating, as the L4 service ports' are. Empty = none.
  std::function<bool(const config::IpAddress&, uint16_t)> drained;
};

// services / ids / neighbors may be null (no L4 tables; used by L2-only tests).
std::unique_ptr<lcore::Snapshot> build_snapshot(const Plan& plan, const config::NodeConfig& node,
                                                uint64_t generation,
                                                const ServicesResult* services = nullptr,
                                                L4Ids* ids = nullptr,
                                                NeighborManager* neighbors = nullptr,
                                                L4BuildResult* result = nullptr,
                                                const L7Inputs* l7 = nullptr);

}  // namespace control
