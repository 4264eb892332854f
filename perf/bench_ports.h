// The ring-backed ports every portico-bench case runs on: an uplink and its tap, one queue each,
// started as the runner starts ports, and the mbuf pool behind them.
#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "lcore/worker.h"

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

// Frames sent on to a backend or a client (full NAT, splice) between two readings of a worker's
// counters.
inline uint64_t forwarded_between(const lcore::CounterTotals& before,
                                  const lcore::CounterTotals& after) {
  const auto n = [](const lcore::CounterTotals& t) {
    return t.forwarded[static_cast<int>(nf::ForwardKind::kToBackend)] +
           t.forwarded[static_cast<int>(nf::ForwardKind::kToClient)];
  };
  return n(after) - n(before);
}

// Names start with `prefix` (DPDK names are global). False, with a message on stderr, if
// anything cannot be allocated.
bool make_ring_ports(const char* prefix, unsigned mbufs, RingPorts* out);

}  // namespace bench
