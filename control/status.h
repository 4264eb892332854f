// `portico check`: the statuses a controller would write, as text or JSON (DESIGN.md shape).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "control/bgp/announce.h"
#include "control/plan.h"
#include "control/services.h"

namespace control {

enum class OutputFormat { kText, kJson };

// Loads, validates and plans `paths` without touching DPDK; prints to out. Returns the exit
// code: 0 without errors, 1 with.
int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err);
// The same with the time written as every condition's lastTransitionTime (RFC 3339), so that
// tests get fixed output; the one above uses the current time.
int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err, const std::string& now);
// The Gateway API part of `check`: GatewayClass, Gateway and HTTPRoute statuses as the
// "objects" entries of `check -o json` (a JSON array), and as text.
// Gateways also carry "events" (IPAM and L2: IPAllocated, AllocationFailed, notAnnounced...).
std::string gateway_objects_json(const Plan& plan, const std::string& now);
void print_gateway_text(const Plan& plan, std::ostream& out);
// The BGP part of `check`, printed only when the objects hold a BGPPeer (a node without BGP has
// nothing to say about it): the sessions this node runs (never a password: "MD5 yes/no"), each
// announcement (prefix -> peers, communities, localPref, holders), why a Service or Gateway
// address is not announced, and the planner's warnings. bgp_json() is the "bgp" value of
// `check -o json`: {"node", "peers": [...], "announcements": [...], "notAnnounced":
// [{"holder", "events"}], "warnings": [...]}.
std::string bgp_json(const config::NodeConfig* node, const bgp::AnnouncePlan& bgp);
void print_bgp_text(const config::NodeConfig* node, const bgp::AnnouncePlan& bgp,
                    std::ostream& out);
// The "objects" array of `check -o json` (IPAddressPool, Service, Gateway API statuses) for
// objects already loaded and planned; the gRPC API's Get and List answer with the same.
std::string objects_status_json(const config::ObjectSet& objects, const config::NodeConfig* node,
                                const Plan& plan, const ServicesResult& l4,
                                const std::string& now);
// "2026-01-02T03:04:05Z" for the current time.
std::string rfc3339_now();

}  // namespace control
