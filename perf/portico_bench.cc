// portico-bench: cycles per packet of the real worker burst function on one core.
//
// Runs lcore::handle_uplink_burst (classification by nf::handle_frame, reply rewrite, counters
// and the tx burst) over prepared mbufs, on a ring-backed port so the measured path includes a
// real rte_eth_tx_burst but no NIC. Time is read with rdtsc around each burst; preparing the
// next burst (rewriting the request into the mbufs) is outside the timed region. Prints one
// JSON line (DESIGN.md): case, packets, cycles_per_packet, mpps, tsc_hz.
//
// Instructions per packet: run under callgrind with
//   valgrind --tool=callgrind --toggle-collect='lcore::handle_uplink_burst*' \
//     build/portico-bench --case arp-reply --packets 100000
// and divide the Ir total by the packet count (docs/performance.md).
//
// Cases: arp-reply (ARP request for a VIP -> reply). Later issues add theirs.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lcore/port.h"
#include "lcore/snapshot.h"
#include "lcore/worker.h"

namespace {

struct Options {
  std::string bench_case = "arp-reply";
  uint64_t packets = 10'000'000;
  uint32_t flows = 1;    // distinct senders (ARP: requesters)
  uint32_t routes = 64;  // VIPs in the table
};

int usage() {
  std::fprintf(stderr,
               "usage: portico-bench --case arp-reply [--packets N] [--flows N] [--routes N]\n"
               "  --case     what to measure: arp-reply\n"
               "  --packets  packets to process (default 10000000)\n"
               "  --flows    distinct clients sending (default 1)\n"
               "  --routes   VIPs in the address table (default 64)\n");
  return 2;
}

// ARP request "who has tpa, tell spa" from mac src, as a Linux host sends it (42 bytes).
std::vector<uint8_t> arp_request(const rte_ether_addr& src, uint32_t spa_be, uint32_t tpa_be) {
  std::vector<uint8_t> f(sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(f.data());
  std::memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
  eth->src_addr = src;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  arp->arp_data.arp_sha = src;
  arp->arp_data.arp_sip = spa_be;
  std::memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
  arp->arp_data.arp_tip = tpa_be;
  return f;
}

uint32_t ipv4_be(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return rte_cpu_to_be_32((uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | d);
}

// Everything after EAL init; its objects are gone before rte_eal_cleanup.
int run_bench(const Options& opt) {
  rte_mempool* pool = rte_pktmbuf_pool_create("bench", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  rte_ring* rx = rte_ring_create("bench_rx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("bench_tx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* trx = rte_ring_create("bench_trx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* ttx = rte_ring_create("bench_ttx", 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (pool == nullptr || rx == nullptr || tx == nullptr || trx == nullptr || ttx == nullptr) {
    std::fprintf(stderr, "portico-bench: cannot allocate pools/rings: %s\n",
                 rte_strerror(rte_errno));
    return 1;
  }
  const int uplink = rte_eth_from_rings("bench_uplink", &rx, 1, &tx, 1, 0);
  const int tap = rte_eth_from_rings("bench_tap", &trx, 1, &ttx, 1, 0);
  if (uplink < 0 || tap < 0) {
    std::fprintf(stderr, "portico-bench: cannot create ring ports\n");
    return 1;
  }
  lcore::start_port(static_cast<uint16_t>(uplink), {1, 1500, pool, false});
  lcore::start_port(static_cast<uint16_t>(tap), {1, 1500, pool, false});

  lcore::SnapshotPublisher publisher(1);
  auto snap = std::make_unique<lcore::Snapshot>();
  for (uint32_t r = 0; r < opt.routes; ++r) {
    snap->addresses.add_v4(
        ipv4_be(203, 0, static_cast<uint8_t>(113 + r / 250), static_cast<uint8_t>(1 + r % 250)),
        {nf::kAddrVip, 1});
  }
  snap->addresses.add_v4(ipv4_be(198, 51, 100, 10), {nf::kAddrNode, 0});
  snap->addresses.finalize();
  publisher.publish(std::move(snap));

  lcore::WorkerContext w;
  w.n_ports = 1;
  w.ports[0].uplink = static_cast<uint16_t>(uplink);
  w.ports[0].tap = static_cast<uint16_t>(tap);
  w.ports[0].ctx.mac = lcore::port_mac(static_cast<uint16_t>(uplink));
  w.ports[0].ctx.index = 0;
  w.snapshots = &publisher;

  // One request per flow, asking for VIPs spread over the table.
  std::vector<std::vector<uint8_t>> requests;
  for (uint32_t f = 0; f < opt.flows; ++f) {
    rte_ether_addr src{{0x02, 0x00, 0x00, static_cast<uint8_t>(f >> 16),
                        static_cast<uint8_t>(f >> 8), static_cast<uint8_t>(f)}};
    const uint32_t r = f % opt.routes;
    requests.push_back(arp_request(
        src, ipv4_be(198, 51, 100, static_cast<uint8_t>(2 + f % 200)),
        ipv4_be(203, 0, static_cast<uint8_t>(113 + r / 250), static_cast<uint8_t>(1 + r % 250))));
  }

  rte_mbuf* burst[lcore::kBurst];
  if (rte_pktmbuf_alloc_bulk(pool, burst, lcore::kBurst) != 0) return 1;
  const lcore::Snapshot* current = publisher.current();
  uint64_t cycles = 0, done = 0, next_flow = 0;
  while (done < opt.packets) {
    const auto n = static_cast<uint16_t>(std::min<uint64_t>(lcore::kBurst, opt.packets - done));
    for (uint16_t i = 0; i < n; ++i) {
      const auto& req = requests[next_flow++ % requests.size()];
      burst[i]->data_off = RTE_PKTMBUF_HEADROOM;
      std::memcpy(rte_pktmbuf_mtod(burst[i], uint8_t*), req.data(), req.size());
      burst[i]->data_len = burst[i]->pkt_len = static_cast<uint16_t>(req.size());
    }
    const uint64_t t0 = rte_rdtsc_precise();
    lcore::handle_uplink_burst(w, *current, 0, burst, n);
    cycles += rte_rdtsc_precise() - t0;
    // Take the replies back from the uplink's tx ring to reuse them as the next requests.
    const unsigned got = rte_ring_sc_dequeue_bulk(tx, reinterpret_cast<void**>(burst), n, nullptr);
    if (got != n) {
      std::fprintf(stderr, "portico-bench: expected %u replies, got %u (verdicts changed?)\n", n,
                   got);
      return 1;
    }
    done += n;
  }

  lcore::CounterTotals totals;
  totals.add(w.counters);
  const uint64_t replies = totals.replies[static_cast<int>(nf::ReplyKind::kArpReply)];
  if (replies != opt.packets) {
    std::fprintf(stderr, "portico-bench: %lu of %lu packets were answered\n",
                 static_cast<unsigned long>(replies), static_cast<unsigned long>(opt.packets));
    return 1;
  }
  const double cpp = static_cast<double>(cycles) / static_cast<double>(done);
  const double hz = static_cast<double>(rte_get_tsc_hz());
  std::printf(
      "{\"case\":\"%s\",\"packets\":%lu,\"flows\":%u,\"routes\":%u,"
      "\"cycles_per_packet\":%.1f,\"mpps\":%.2f,\"tsc_hz\":%.0f}\n",
      opt.bench_case.c_str(), static_cast<unsigned long>(done), opt.flows, opt.routes, cpp,
      hz / cpp / 1e6, hz);
  rte_pktmbuf_free_bulk(burst, lcore::kBurst);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--case") {
      opt.bench_case = v;
    } else if (a == "--packets") {
      opt.packets = std::stoull(v);
    } else if (a == "--flows") {
      opt.flows = static_cast<uint32_t>(std::stoul(v));
    } else if (a == "--routes") {
      opt.routes = static_cast<uint32_t>(std::stoul(v));
    } else {
      return usage();
    }
  }
  if (opt.bench_case != "arp-reply" || opt.packets == 0 || opt.flows == 0 || opt.routes == 0 ||
      opt.routes > 60000) {
    return usage();
  }

  const char* eal_argv[] = {"portico-bench", "-l",          "0",
                            "--no-huge",     "-m",          "256",
                            "--no-pci",      "--no-shconf", "--log-level=*:warning"};
  if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
    std::fprintf(stderr, "portico-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = run_bench(opt);
  rte_eal_cleanup();
  return rc;
}
