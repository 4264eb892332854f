// The events IPAM reports on a Service, with MetalLB's reasons and message texts.
//
// Pure string building, used only by the allocator (control thread). MetalLB's controller
// (controller/service.go, controller/main.go) formats its messages with Go's %q, so a list of
// addresses prints as ["203.0.113.10" "2001:db8:200::10"]; the helpers here reproduce that so that
// users and scripts see the same texts as with MetalLB.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/ip.h"
#include "control/ipam.h"

namespace control::ipam {

// Go's %q for a string: double quotes, with quotes, backslashes and control bytes escaped.
std::string quote(std::string_view text);
// Go's %q for a list of addresses: ["a" "b"].
std::string quote_ips(const std::vector<config::IpAddress>& ips);

Event ip_allocated(const std::vector<config::IpAddress>& ips);         // Normal IPAllocated
Event additional_ip_allocated(const config::IpAddress& ip);            // Normal IPAllocated
Event allocation_failed(const ServiceKey& key, std::string_view why);  // Warning AllocationFailed
Event clear_assignment(const ServiceKey& key, std::string_view why);   // Normal ClearAssignment
Event load_balancer_failed(std::string_view why);                      // Warning LoadBalancerFailed
Event deprecated_annotation(std::string_view annotation);  // Warning deprecatedAnnotation

}  // namespace control::ipam
