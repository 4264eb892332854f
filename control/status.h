// `portico check`: the statuses a controller would write, as text or JSON (DESIGN.md shape).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "control/plan.h"

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
// "2026-01-02T03:04:05Z" for the current time.
std::string rfc3339_now();

}  // namespace control
