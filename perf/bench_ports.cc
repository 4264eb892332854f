// Ring-backed ports for portico-bench (see bench_ports.h).
#include "perf/bench_ports.h"

#include <cstdio>
#include <string>

#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lcore/port.h"

namespace bench {

bool make_ring_ports(const char* prefix, unsigned mbufs, RingPorts* out) {
  const std::string p = prefix;
  out->pool = rte_pktmbuf_pool_create(p.c_str(), mbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  rte_ring* rx = rte_ring_create((p + "_rx").c_str(), 1024, 0, flags);
  rte_ring* tx = rte_ring_create((p + "_tx").c_str(), 1024, 0, flags);
  rte_ring* trx = rte_ring_create((p + "_trx").c_str(), 1024, 0, flags);
  rte_ring* ttx = rte_ring_create((p + "_ttx").c_str(), 1024, 0, flags);
  if (out->pool == nullptr || rx == nullptr || tx == nullptr || trx == nullptr || ttx == nullptr) {
    std::fprintf(stderr, "portico-bench: cannot allocate pools/rings: %s\n",
                 rte_strerror(rte_errno));
    return false;
  }
  const int uplink = rte_eth_from_rings((p + "_uplink").c_str(), &rx, 1, &tx, 1, 0);
  const int tap = rte_eth_from_rings((p + "_tap").c_str(), &trx, 1, &ttx, 1, 0);
  if (uplink < 0 || tap < 0) {
    std::fprintf(stderr, "portico-bench: cannot create ring ports\n");
    return false;
  }
  out->tx = tx;
  out->uplink = static_cast<uint16_t>(uplink);
  out->tap = static_cast<uint16_t>(tap);
  lcore::start_port(out->uplink, {1, 1500, out->pool, false});
  lcore::start_port(out->tap, {1, 1500, out->pool, false});
  out->mac = lcore::port_mac(out->uplink);
  return true;
}

}  // namespace bench
