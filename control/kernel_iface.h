// The kernel side of the exception tap: node addresses, link state, routes (rtnetlink).
//
// Control thread only. Each call throws std::runtime_error naming the interface and the
// kernel's error; adding what already exists is not an error (restarts, reloads).
#pragma once

#include <cstdint>
#include <string>

#include "config/objects.h"

namespace control {

void kernel_add_address(const std::string& ifname, const config::IpPrefix& prefix);
void kernel_link_up(const std::string& ifname, uint16_t mtu);
void kernel_add_route(const std::string& ifname, const config::NodeRoute& route);

}  // namespace control
