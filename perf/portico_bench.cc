// portico-bench: cycles per packet of the real worker burst function on one core.
//
// Runs lcore::handle_uplink_burst (classification by nf::handle_frame, reply rewrite, counters
// and the tx burst) over prepared mbufs, on a ring-backed port so the measured path includes a
// real rte_eth_tx_burst but no NIC. Time is read with rdtsc around each burst; preparing the
// next burst (rewriting the request into the mbufs) is outside the timed region. Prints one
// JSON line (DESIGN.md): case, packets, cycles_per_packet, mpps, tsc_hz.
//
// Instructions per packet: run under callgrind with
//   valgrind --tool=callgrind --toggle-collect='lcore::handle_uplink_burst*'
//     build/portico-bench --case arp-reply --packets 100000
// and divide the Ir total by the packet count (docs/performance.md).
//
// Cases:
//   arp-reply       ARP request for a VIP -> reply.
//   l4-established  64-byte TCP segments of established full-NAT flows, half from clients to
//                   the VIP (-> backend) and half from backends to the SNAT address (-> client),
//                   flows picked uniformly at random among --flows (default 1000000), so the
//                   connection table lookups miss the CPU caches as they do under real load.
//   l4-new-flow     TCP SYNs, each from a new client address:port: Maglev pick, a connection
//                   record, a SNAT port, the rewrite (--packets records must fit the table).
// The L4 cases balance one VIP:80 over --backends (default 100) backends, Katran's benchmark
// setup, with every backend's MAC resolved.
//   l7-classify     nf::route::Classifier::classify over prepared request heads, against a
//                   model of --routes HTTPRoute rules (10, 1000, 10000) spread over hostnames
//                   (a tenth as many as routes, some wildcard) and paths: Exact, PathPrefix,
//                   header, method + query, header regex and path regex matches. Requests
//                   rotate over one per route in a shuffled order; every decision is checked.
//                   Prints cycles_per_request (rdtsc around batches of 64) and compile_ms.
//   l7-splice       64-byte-payload segments with timestamps on --flows (default 10000) spliced
//                   L7 connections, opened through the worker first (perf/bench_l7_splice.cc),
//                   half client -> backend and half backend -> client, connections picked at
//                   random.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
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
#include "nf/conn_table.h"
#include "nf/maglev.h"
#include "nf/neighbor_table.h"
#include "nf/route_classifier.h"
#include "perf/bench_l7.h"
#include "perf/bench_ports.h"

namespace {

using bench::make_ring_ports;
using bench::RingPorts;

struct Options {
  std::string bench_case = "arp-reply";
  uint64_t packets = 10'000'000;
  uint32_t flows = 0;    // distinct senders / flows (0: the case's default)
  uint32_t routes = 64;  // VIPs in the table
  uint32_t backends = 100;
  bool packets_set = false;
};

int usage() {
  std::fprintf(stderr,
               "usage: portico-bench --case CASE [--packets N] [--flows N] [--routes N] "
               "[--backends N]\n"
               "  --case      what to measure: arp-reply, l4-established, l4-new-flow,\n"
               "              l7-classify, l7-splice\n"
               "  --packets   packets to process (default 10000000; l4-new-flow 1000000;\n"
               "              l7-classify: requests, default 2000000)\n"
               "  --flows     arp-reply: distinct requesters (default 1); l4-established:\n"
               "              established flows (default 1000000); l7-splice: spliced\n"
               "              connections (default 10000)\n"
               "  --routes    VIPs in the address table (default 64); l7-classify: HTTPRoute\n"
               "              rules in the model (default 1000)\n"
               "  --backends  L4 cases: backends behind the VIP (default 100, at most 200)\n");
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
  RingPorts ports;
  if (!make_ring_ports("bench", 4095, &ports)) return 1;
  rte_mempool* pool = ports.pool;
  rte_ring* tx = ports.tx;
  const uint16_t uplink = ports.uplink, tap = ports.tap;

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

// ---- L4 cases -------------------------------------------------------------------------------

constexpr uint8_t kClientMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr uint8_t kBackendMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x21};

uint16_t fold_sum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// A 60-byte Ethernet/IPv4/TCP frame (no payload, padded) with valid IP and TCP checksums.
void write_tcp_frame(uint8_t* f, const uint8_t* dst_mac, const uint8_t* src_mac, uint32_t src_be,
                     uint32_t dst_be, uint16_t sport_be, uint16_t dport_be, uint8_t flags) {
  std::memset(f, 0, 60);
  std::memcpy(f, dst_mac, 6);
  std::memcpy(f + 6, src_mac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  uint8_t* ip = f + 14;
  ip[0] = 0x45;
  ip[3] = 40;
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 6;
  std::memcpy(ip + 12, &src_be, 4);
  std::memcpy(ip + 16, &dst_be, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  const uint16_t c = fold_sum(sum);
  ip[10] = static_cast<uint8_t>(c >> 8);
  ip[11] = static_cast<uint8_t>(c);
  uint8_t* tcp = ip + 20;
  std::memcpy(tcp, &sport_be, 2);
  std::memcpy(tcp + 2, &dport_be, 2);
  tcp[7] = 1;   // seq 1
  tcp[11] = 1;  // ack 1
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp[14] = 0xff;  // window
  sum = 0;
  for (int i = 12; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  sum += 6 + 20;
  for (int i = 0; i < 20; i += 2) sum += (tcp[i] << 8) | tcp[i + 1];
  const uint16_t t = fold_sum(sum);
  tcp[16] = static_cast<uint8_t>(t >> 8);
  tcp[17] = static_cast<uint8_t>(t);
}

struct L4Flow {
  uint32_t client_be;
  uint16_t cport_be;
  uint32_t backend_be = 0;  // filled once established
  uint16_t bport_be = 0;
  uint16_t snat_port_be = 0;
};

int run_l4_bench(const Options& opt) {
  const bool established = opt.bench_case == "l4-established";
  const uint32_t flows = established ? (opt.flows ? opt.flows : 1000000) : 0;
  const uint64_t packets = opt.packets_set ? opt.packets : established ? 10'000'000 : 1'000'000;

  RingPorts ports;
  if (!make_ring_ports("bench4", 4095, &ports)) return 1;
  rte_mempool* pool = ports.pool;
  rte_ring* tx = ports.tx;
  const uint16_t uplink = ports.uplink, tap = ports.tap;
  const rte_ether_addr port_mac = lcore::port_mac(static_cast<uint16_t>(uplink));

  // One VIP 203.0.113.10:80 over `backends` backends 198.51.100.20.. :8080.
  const uint32_t vip_be = ipv4_be(203, 0, 113, 10);
  const uint32_t snat_be = ipv4_be(198, 51, 100, 11);
  auto snap = std::make_unique<lcore::Snapshot>();
  snap->generation = 1;
  snap->addresses.add_v4(vip_be, {nf::kAddrVip, 1});
  snap->addresses.add_v4(snat_be, {nf::kAddrSnat, 1});
  snap->addresses.add_v4(ipv4_be(198, 51, 100, 10), {nf::kAddrNode, 0});
  snap->addresses.finalize();
  nf::NeighborTable neighbors(opt.backends);
  std::vector<nf::lb::Backend> backends;
  std::vector<nf::MaglevBackend> keys;
  for (uint32_t b = 0; b < opt.backends; ++b) {
    nf::lb::Backend be;
    const uint32_t a = ipv4_be(198, 51, 100, static_cast<uint8_t>(20 + b));
    std::memcpy(be.addr.data(), &a, 4);
    be.port = rte_cpu_to_be_16(8080);
    be.id = b + 1;
    be.nexthop = static_cast<uint16_t>(b);
    backends.push_back(be);
    keys.push_back({std::to_string(a), 1});
    neighbors.learn(b, kBackendMac, rte_rdtsc());
  }
  std::vector<uint16_t> table;
  nf::build_maglev(keys, nf::kMaglevDefaultSize, table);
  nf::lb::Service svc;
  std::memcpy(svc.vip.data(), &vip_be, 4);
  svc.port = rte_cpu_to_be_16(80);
  svc.proto = 6;
  svc.mode = nf::lb::Mode::kNat;
  snap->lb.add_service(svc, backends, table, "all");
  nf::lb::Addr snat{};
  std::memcpy(snat.data(), &snat_be, 4);
  snap->lb.add_snat(snat, false);
  nf::lb::Addr node{};
  const uint32_t node_be = ipv4_be(198, 51, 100, 10);
  std::memcpy(node.data(), &node_be, 4);
  snap->lb.set_interface_address(0, node, false);
  snap->lb.finalize();
  lcore::SnapshotPublisher publisher(1);
  publisher.publish(std::move(snap));

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t hour = hz * 3600;
  const uint32_t capacity =
      established ? flows + flows / 8 + 1024 : static_cast<uint32_t>(packets + packets / 8 + 1024);
  auto conns =
      std::make_unique<nf::ConnTable>(capacity, nf::ConnTable::Timeouts{hour, hour, hour, hour});
  lcore::WorkerContext w;
  w.n_ports = 1;
  w.ports[0].uplink = static_cast<uint16_t>(uplink);
  w.ports[0].tap = static_cast<uint16_t>(tap);
  w.ports[0].ctx.mac = port_mac;
  w.ports[0].ctx.index = 0;
  w.snapshots = &publisher;
  w.conns = conns.get();
  w.neighbors = &neighbors;
  lcore::init_l4(w, 0, 1, hz);
  w.l4.mtu[0] = 1500;
  const lcore::Snapshot* current = publisher.current();

  // Clients: 203.0.113.128/25 (documentation addresses) with many ports: 8.2 M tuples.
  auto client_of = [](uint64_t i, uint32_t* addr_be, uint16_t* port_be) {
    constexpr uint32_t kHosts = 128;
    *addr_be = ipv4_be(203, 0, 113, static_cast<uint8_t>(128 + i % kHosts));
    *port_be = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + (i / kHosts) % 64000));
  };

  rte_mbuf* burst[lcore::kBurst];
  if (rte_pktmbuf_alloc_bulk(pool, burst, lcore::kBurst) != 0) return 1;
  auto reset = [&](rte_mbuf* m) {
    m->data_off = RTE_PKTMBUF_HEADROOM;
    m->data_len = m->pkt_len = 60;
    return rte_pktmbuf_mtod(m, uint8_t*);
  };
  auto take_back = [&](uint16_t n) {
    return rte_ring_sc_dequeue_bulk(tx, reinterpret_cast<void**>(burst), n, nullptr) == n;
  };

  std::vector<L4Flow> table_flows;
  if (established) {
    // Open every flow with a SYN (not timed), then learn its SNAT port from the record.
    table_flows.resize(flows);
    for (uint32_t f = 0; f < flows;) {
      const auto n = static_cast<uint16_t>(std::min<uint32_t>(lcore::kBurst, flows - f));
      for (uint16_t i = 0; i < n; ++i) {
        L4Flow& fl = table_flows[f + i];
        client_of(f + i, &fl.client_be, &fl.cport_be);
        write_tcp_frame(reset(burst[i]), port_mac.addr_bytes, kClientMac, fl.client_be, vip_be,
                        fl.cport_be, rte_cpu_to_be_16(80), 0x02);
      }
      lcore::handle_uplink_burst(w, *current, 0, burst, n);
      if (!take_back(n)) {
        std::fprintf(stderr, "portico-bench: a SYN was not forwarded\n");
        return 1;
      }
      f += n;
    }
    for (L4Flow& fl : table_flows) {
      nf::FlowTuple t{};
      std::memcpy(t.src, &fl.client_be, 4);
      std::memcpy(t.dst, &vip_be, 4);
      t.sport = fl.cport_be;
      t.dport = rte_cpu_to_be_16(80);
      t.proto = 6;
      nf::ConnDir dir;
      const nf::Conn* c = conns->find(t, nf::ConnTable::hash(t), rte_rdtsc(), &dir);
      if (c == nullptr) return 1;
      const nf::FlowTuple reply = c->reply();
      std::memcpy(&fl.backend_be, reply.src, 4);
      fl.bport_be = reply.sport;
      fl.snat_port_be = reply.dport;
    }
  }

  lcore::CounterTotals before;
  before.add(w.counters);
  uint64_t cycles = 0, done = 0, rng = 0x9e3779b97f4a7c15ull;
  while (done < packets) {
    const auto n = static_cast<uint16_t>(std::min<uint64_t>(lcore::kBurst, packets - done));
    for (uint16_t i = 0; i < n; ++i) {
      uint8_t* f = reset(burst[i]);
      if (established) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        const L4Flow& fl = table_flows[rng % flows];
        if ((done + i) & 1) {
          write_tcp_frame(f, port_mac.addr_bytes, kBackendMac, fl.backend_be, snat_be, fl.bport_be,
                          fl.snat_port_be, 0x10);
        } else {
          write_tcp_frame(f, port_mac.addr_bytes, kClientMac, fl.client_be, vip_be, fl.cport_be,
                          rte_cpu_to_be_16(80), 0x10);
        }
      } else {
        uint32_t a;
        uint16_t p;
        client_of(done + i, &a, &p);
        write_tcp_frame(f, port_mac.addr_bytes, kClientMac, a, vip_be, p, rte_cpu_to_be_16(80),
                        0x02);
      }
    }
    const uint64_t t0 = rte_rdtsc_precise();
    lcore::handle_uplink_burst(w, *current, 0, burst, n);
    cycles += rte_rdtsc_precise() - t0;
    if (!take_back(n)) {
      lcore::CounterTotals t;
      t.add(w.counters);
      std::fprintf(stderr, "portico-bench: not every packet was forwarded (dropped %lu)\n",
                   static_cast<unsigned long>(t.dropped_total()));
      return 1;
    }
    done += n;
  }
  lcore::CounterTotals after;
  after.add(w.counters);
  const uint64_t forwarded = bench::forwarded_between(before, after);
  if (forwarded != packets) {
    std::fprintf(stderr, "portico-bench: %lu of %lu packets forwarded\n",
                 static_cast<unsigned long>(forwarded), static_cast<unsigned long>(packets));
    return 1;
  }
  const double cpp = static_cast<double>(cycles) / static_cast<double>(done);
  std::printf(
      "{\"case\":\"%s\",\"packets\":%lu,\"flows\":%u,\"backends\":%u,"
      "\"connections\":%u,\"cycles_per_packet\":%.1f,\"mpps\":%.2f,\"tsc_hz\":%lu}\n",
      opt.bench_case.c_str(), static_cast<unsigned long>(done), established ? flows : 0,
      opt.backends, conns->size(), cpp, static_cast<double>(hz) / cpp / 1e6,
      static_cast<unsigned long>(hz));
  rte_pktmbuf_free_bulk(burst, lcore::kBurst);
  return 0;
}

// ---- L7 classification ------------------------------------------------------------------------

struct PreparedRequest {
  std::string host, target, method;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<nf::route::HeaderView> views;
  uint32_t want = 0;
};

// Route i of the benchmark model and a request that must classify to it (action i).
void add_l7_route(uint32_t i, uint32_t hosts, nf::route::Listener& l,
                  std::vector<PreparedRequest>& reqs) {
  using nf::route::PathType;
  nf::route::Rule r;
  r.action = i;
  r.created = i;
  char name[32];
  std::snprintf(name, sizeof name, "bench/route-%05u", i);
  r.route = name;
  PreparedRequest q;
  q.method = "GET";
  const uint32_t h = i % hosts;
  if (h % 10 == 7) {  // a tenth of the hostnames are wildcards
    r.hostnames.push_back("*.wild" + std::to_string(h) + ".example.com");
    q.host = "Tenant-" + std::to_string(i) + ".wild" + std::to_string(h) + ".example.com";
  } else {
    r.hostnames.push_back("svc" + std::to_string(h) + ".example.com");
    q.host = "svc" + std::to_string(h) + ".example.com:80";
  }
  q.headers = {{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) bench"},
               {"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"},
               {"Accept-Encoding", "gzip, deflate"},
               {"Connection", "close"}};
  nf::route::Match m;
  const std::string base = "/r" + std::to_string(i);
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      m.path_type = PathType::kExact;
      m.path = base + "/exact/item";
      q.target = m.path;
      break;
    case 4:
    case 5:
    case 6:
      m.path_type = PathType::kPrefix;
      m.path = base + "/api/";
      q.target = base + "/api/v1/items/42?page=2";
      break;
    case 7:
      m.path = base;
      m.headers.push_back({false, "x-tenant", "t" + std::to_string(i)});
      q.target = base + "/index.html";
      q.headers.push_back({"X-Tenant", "t" + std::to_string(i)});
      break;
    case 8:
      m.path = base + "/m";
      m.method = "POST";
      m.query.push_back({false, "v", std::to_string(i)});
      q.method = "POST";
      q.target = base + "/m/submit?lang=en&v=" + std::to_string(i);
      break;
    default:
      if (i % 100 == 99) {
        m.path_type = PathType::kRegex;
        m.path = "/re" + std::to_string(i) + "/[0-9]+(/[a-z]+)?";
        q.target = "/re" + std::to_string(i) + "/12345/abc";
      } else if (i % 100 == 49) {
        m.path = base;
        m.headers.push_back({true, "x-user", "u[0-9]{2,8}"});
        q.target = base + "/me";
        q.headers.push_back({"X-User", "u123456"});
      } else {
        m.path = base + "/h";
        m.headers.push_back({false, "x-version", "2"});
        m.headers.push_back({false, "x-tenant", "t" + std::to_string(i)});
        q.target = base + "/h/a/b/c";
        q.headers.push_back({"X-Tenant", "t" + std::to_string(i)});
        q.headers.push_back({"x-version", "2"});
      }
  }
  r.matches.push_back(std::move(m));
  l.rules.push_back(std::move(r));
  q.want = i;
  reqs.push_back(std::move(q));
}

int run_l7_bench(const Options& opt) {
  const uint32_t n = opt.routes;
  const uint32_t hosts = std::max<uint32_t>(1, n / 10);
  const uint64_t total = opt.packets_set ? opt.packets : 2'000'000;
  nf::route::RouteModel model;
  model.ports.emplace_back();
  nf::route::PortSpec& port = model.ports.back();
  port.address[0] = 203;
  port.address[2] = 113;
  port.address[3] = 10;
  port.port = 80;
  port.listeners.emplace_back();
  port.listeners.back().name = "bench/gw/http";
  std::vector<PreparedRequest> reqs;
  for (uint32_t i = 0; i < n; ++i) add_l7_route(i, hosts, port.listeners.back(), reqs);
  for (PreparedRequest& q : reqs) {
    for (const auto& [k, v] : q.headers) q.views.push_back({k, v});
  }
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  for (size_t i = reqs.size(); i > 1; --i) {  // shuffle: no two neighbours share a host
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    std::swap(reqs[i - 1], reqs[rng % i]);
  }
  std::vector<nf::route::Request> requests;
  for (const PreparedRequest& q : reqs) {
    requests.push_back(
        {q.method, q.target, q.host, q.views.data(), static_cast<uint32_t>(q.views.size())});
  }

  const auto c0 = std::chrono::steady_clock::now();
  nf::route::CompileResult compiled = nf::route::compile(model);
  const auto c1 = std::chrono::steady_clock::now();
  if (!compiled.classifier) {
    std::fprintf(stderr, "portico-bench: compile failed: %s\n", compiled.error.c_str());
    return 1;
  }
  const double compile_ms = std::chrono::duration<double, std::milli>(c1 - c0).count();
  const nf::route::Classifier& c = *compiled.classifier;
  nf::route::Classifier::Scratch scratch = c.make_scratch();
  const uint8_t addr[16] = {203, 0, 113, 10};
  const int pi = c.find_port(addr, false, 80);
  if (pi != 0) return 1;

  // Each batch is first copied into one buffer, as the head parser would leave it (outside the
  // timed region): the request bytes are in the cache, as they are right after parsing.
  constexpr size_t kBatch = 64;
  nf::route::Decision out[kBatch];
  nf::route::Request batch[kBatch];
  std::vector<nf::route::HeaderView> views(kBatch * 16);
  std::vector<char> bytes(kBatch * 1024);
  uint64_t cycles = 0, done = 0, wrong = 0;
  size_t next = 0;
  while (done < total) {
    const size_t b = static_cast<size_t>(std::min<uint64_t>(kBatch, total - done));
    const size_t first = next;
    char* w = bytes.data();
    auto put = [&](std::string_view v) {
      std::memcpy(w, v.data(), v.size());
      w += v.size();
      return std::string_view(w - v.size(), v.size());
    };
    for (size_t k = 0, r = first; k < b; ++k, r = (r + 1) % requests.size()) {
      const nf::route::Request& src = requests[r];
      nf::route::HeaderView* hv = views.data() + k * 16;
      for (uint32_t j = 0; j < src.n_headers && j < 16; ++j) {
        hv[j] = {put(src.headers[j].name), put(src.headers[j].value)};
      }
      batch[k] = {put(src.method), put(src.target), put(src.host), hv,
                  std::min<uint32_t>(src.n_headers, 16)};
    }
    const uint64_t t0 = rte_rdtsc_precise();
    for (size_t k = 0; k < b; ++k) out[k] = c.classify(pi, batch[k], scratch);
    cycles += rte_rdtsc_precise() - t0;
    next = (first + b) % requests.size();
    for (size_t k = 0, r = first; k < b; ++k, r = (r + 1) % requests.size()) {
      if (out[k].outcome != nf::route::Decision::kMatched || out[k].action != reqs[r].want) {
        if (wrong++ == 0) {
          std::fprintf(stderr, "portico-bench: %s %s (host %s) -> outcome %d action %u, want %u\n",
                       reqs[r].method.c_str(), reqs[r].target.c_str(), reqs[r].host.c_str(),
                       int(out[k].outcome), out[k].action, reqs[r].want);
        }
      }
    }
    done += b;
  }
  if (wrong != 0) {
    std::fprintf(stderr, "portico-bench: %lu of %lu requests misclassified\n",
                 static_cast<unsigned long>(wrong), static_cast<unsigned long>(done));
    return 1;
  }
  const double cpr = static_cast<double>(cycles) / static_cast<double>(done);
  const uint64_t hz = rte_get_tsc_hz();
  std::printf(
      "{\"case\":\"l7-classify\",\"requests\":%lu,\"routes\":%u,\"hostnames\":%u,"
      "\"cycles_per_request\":%.1f,\"mrps\":%.2f,\"compile_ms\":%.1f,\"tsc_hz\":%lu}\n",
      static_cast<unsigned long>(done), n, hosts, cpr, static_cast<double>(hz) / cpr / 1e6,
      compile_ms, static_cast<unsigned long>(hz));
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
      opt.packets_set = true;
    } else if (a == "--backends") {
      opt.backends = static_cast<uint32_t>(std::stoul(v));
    } else if (a == "--flows") {
      opt.flows = static_cast<uint32_t>(std::stoul(v));
    } else if (a == "--routes") {
      opt.routes = static_cast<uint32_t>(std::stoul(v));
    } else {
      return usage();
    }
  }
  const bool l4 = opt.bench_case == "l4-established" || opt.bench_case == "l4-new-flow";
  const bool l7 = opt.bench_case == "l7-classify";
  const bool splice = opt.bench_case == "l7-splice";
  if ((opt.bench_case != "arp-reply" && !l4 && !l7 && !splice) || opt.packets == 0 || opt.routes == 0 ||
      opt.routes > 60000 || opt.backends == 0 || opt.backends > 200) {
    return usage();
  }
  if (!l4 && opt.flows == 0) opt.flows = 1;

  const char* eal_argv[] = {"portico-bench", "-l",          "0",
                            "--no-huge",     "-m",          "512",
                            "--no-pci",      "--no-shconf", "--log-level=*:warning"};
  if (rte_eal_init(static_cast<int>(std::size(eal_argv)), const_cast<char**>(eal_argv)) < 0) {
    std::fprintf(stderr, "portico-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = splice ? bench::run_l7_splice_bench(opt.packets_set ? opt.packets : 10'000'000,
                                                     opt.flows > 1 ? opt.flows : 10000,
                                                     opt.backends)
                 : l7   ? run_l7_bench(opt)
                 : l4   ? run_l4_bench(opt)
                        : run_bench(opt);
  rte_eal_cleanup();
  return rc;
}
