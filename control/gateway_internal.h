// Gateway API controller, private: a Gateway evaluated on its own (class, addresses, listeners),
// before routes attach and IPAM answers. Shared by gateway_claims() (which Gateways get an
// address) and compile() (statuses and model), so both agree on which Gateways are accepted.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/gateway.h"

namespace control::gateway::detail {

struct ListenerEval {
  const config::GatewayListener* spec = nullptr;
  bool supported = false;                     // protocol Portico serves (HTTP): Accepted=True
  bool conflicted = false;                    // Conflicted=True: never programmed
  bool refs_ok = true;                        // ResolvedRefs=True
  std::vector<config::RouteGroupKind> kinds;  // supportedKinds
  std::vector<Condition> conditions;          // Accepted, Conflicted, ResolvedRefs (no Programmed)
  // A listener routes are served on: supported, not conflicted, refs resolved.
  bool valid() const { return supported && !conflicted && refs_ok; }
  bool admits_http_routes() const;
};

struct GatewayEval {
  const config::Gateway* spec = nullptr;
  bool accepted = false;
  Condition accepted_condition;   // Accepted
  bool static_addresses = false;  // spec.addresses has IPAddress values: IPAM must honour them
  std::vector<ListenerEval> listeners;
};

// GatewayClass name -> accepted, for classes of ours.
std::map<std::string, bool> our_classes(const config::ObjectSet& objects);

// The Gateways of our classes, evaluated, in input order.
std::vector<GatewayEval> evaluate_gateways(const config::ObjectSet& objects);

// Labels of a namespace as the API server has them: the Namespace object's, plus
// kubernetes.io/metadata.name.
config::Labels namespace_labels(const config::ObjectSet& objects, const std::string& name);

Condition condition(const std::string& type, bool status, const std::string& reason,
                    const std::string& message, int64_t generation);

}  // namespace control::gateway::detail
