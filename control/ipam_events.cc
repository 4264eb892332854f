// Event texts of the IPAM allocator; see ipam_events.h.
#include "control/ipam_events.h"

#include <cstdio>

namespace control::ipam {

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string quote_ips(const std::vector<config::IpAddress>& ips) {
  std::string out = "[";
  for (size_t i = 0; i < ips.size(); ++i) {
    if (i) out += ' ';
    out += quote(ips[i].str());
  }
  out += ']';
  return out;
}

Event ip_allocated(const std::vector<config::IpAddress>& ips) {
  return {"Normal", "IPAllocated", "Assigned IP " + quote_ips(ips)};
}

Event additional_ip_allocated(const config::IpAddress& ip) {
  return {"Normal", "IPAllocated", "Assigned additional IP " + quote(ip.str())};
}

Event allocation_failed(const ServiceKey& key, std::string_view why) {
  return {"Warning", "AllocationFailed",
          "Failed to allocate IP for " + quote(key) + ": " + std::string(why)};
}

Event clear_assignment(const ServiceKey& key, std::string_view why) {
  return {"Normal", "ClearAssignment",
          "current IP for " + quote(key) +
              " not allowed by config, will attempt for new IP assignment: " + std::string(why)};
}

Event load_balancer_failed(std::string_view why) {
  return {"Warning", "LoadBalancerFailed",
          "invalid requested loadbalancer IPs: " + std::string(why)};
}

Event deprecated_annotation(std::string_view annotation) {
  return {"Warning", "deprecatedAnnotation",
          "Service uses deprecated annotation " + std::string(annotation)};
}

}  // namespace control::ipam
