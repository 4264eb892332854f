// The ring-backed ports every portico-bench case runs on: an uplink and its tap, one queue each,
// started as the runner starts ports, and the mbuf pool behind them.
#pragma once

#include <cstdint>

#include <rte_ether.h>

struct rte_mempool;
struct rte_ring;

namespace bench {

struct RingPorts {
  rte_mempool* pool = nullptr;
  rte_ring* tx = nullptr;  // what the uplink transmitted
  uint16_t uplink = 0;
  uint16_t tap = 0;
  rte_ether_addr mac{};  // the uplink's
};

// Names start with `prefix` (DPDK names are global). False, with a message on stderr, if
// anything cannot be allocated.
bool make_ring_ports(const char* prefix, unsigned mbufs, RingPorts* out);

}  // namespace bench
