// portico-bench --case l7-splice: cycles per spliced packet of the real worker burst function.
//
// A Gateway listener 203.0.113.10:80 with one rule to a pool of --backends backends. --flows
// connections (default 10000) are opened through the worker the way clients and backends open
// them (SYN -> cookie SYN-ACK, the cookie ACK with the request head, the backend SYN, its SYN-ACK,
// the replayed head, the backend's ACK of it: none of it timed); then the timed part sends
// 64-byte-payload segments with timestamps (as Linux peers send them) on random connections,
// half from the client to the Gateway address (-> backend) and half from the backend to the SNAT
// address (-> client), through lcore::handle_uplink_burst, every one checked to be forwarded.
#include "perf/bench_l7.h"
#include "perf/bench_ports.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lcore/port.h"
#include "lcore/snapshot.h"
#include "lcore/worker.h"
#include "nf/conn_table.h"
#include "nf/l7.h"
#include "nf/maglev.h"
#include "nf/neighbor_table.h"
#include "nf/tcp_options.h"
#include "nf/tcp_segment.h"

namespace bench {

namespace {

constexpr uint8_t kClientMac[6] = {0x02, 0xaa, 0, 0, 0, 0x20};
constexpr uint8_t kBackendMac[6] = {0x02, 0xbe, 0, 0, 0, 0x21};

uint32_t ipv4_be(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t v[4] = {a, b, c, d};
  uint32_t out;
  std::memcpy(&out, v, 4);
  return out;
}

struct Conn {
  uint32_t client_be = 0;
  uint16_t cport_be = 0;
  uint32_t backend_be = 0;
  uint16_t snat_port_be = 0;
  uint32_t c_seq = 0, c_ack = 0;  // next client seq, what it acknowledges
  uint32_t b_seq = 0, b_ack = 0;  // next backend seq, what it acknowledges
  uint32_t c_ts = 100, b_ts = 5000, c_ecr = 0, b_ecr = 0;
};

struct Reader {
  uint32_t seq = 0, ack = 0, src_be = 0, dst_be = 0, ts_val = 0;
  uint16_t sport_be = 0, dport_be = 0;
  uint8_t flags = 0;
  uint32_t payload = 0;
};

bool read_tcp(rte_mbuf* m, Reader* r) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  if (m->data_len < 54 || f[12] != 0x08 || f[13] != 0x00) return false;
  const uint8_t* ip = f + 14;
  const uint32_t ihl = (ip[0] & 0xf) * 4u;
  const uint8_t* t = ip + ihl;
  std::memcpy(&r->src_be, ip + 12, 4);
  std::memcpy(&r->dst_be, ip + 16, 4);
  std::memcpy(&r->sport_be, t, 2);
  std::memcpy(&r->dport_be, t + 2, 2);
  r->seq = static_cast<uint32_t>(t[4]) << 24 | t[5] << 16 | t[6] << 8 | t[7];
  r->ack = static_cast<uint32_t>(t[8]) << 24 | t[9] << 16 | t[10] << 8 | t[11];
  r->flags = t[13];
  const uint32_t hl = (t[12] >> 4) * 4u;
  const uint32_t total = static_cast<uint32_t>(ip[2]) << 8 | ip[3];
  r->payload = total - ihl - hl;
  nf::tcp_opt::TcpOptions o;
  if (nf::tcp_opt::parse_options(t + 20, hl - 20, &o) == nf::tcp_opt::OptionsError::kOk &&
      o.has_timestamps) {
    r->ts_val = o.ts_val;
  }
  return true;
}

}  // namespace

int run_l7_splice_bench(uint64_t packets, uint32_t flows, uint32_t n_backends) {
  RingPorts ports;
  if (!make_ring_ports("l7b", 8191, &ports)) return 1;
  rte_mempool* pool = ports.pool;
  rte_ring* tx = ports.tx;
  const uint16_t uplink = ports.uplink, tap = ports.tap;
  const rte_ether_addr port_mac = ports.mac;

  const uint32_t vip_be = ipv4_be(203, 0, 113, 10);
  const uint32_t snat_be = ipv4_be(198, 51, 100, 11);
  auto snap = std::make_unique<lcore::Snapshot>();
  snap->generation = 1;
  snap->addresses.add_v4(vip_be, {nf::kAddrVip, 1});
  snap->addresses.add_v4(snat_be, {nf::kAddrSnat, 1});
  snap->addresses.finalize();
  nf::NeighborTable neighbors(n_backends);
  nf::lb::Service listener;
  std::memcpy(listener.vip.data(), &vip_be, 4);
  listener.port = rte_cpu_to_be_16(80);
  listener.proto = 6;
  listener.mode = nf::lb::Mode::kL7;
  snap->lb.add_service(listener, {}, {}, "");
  std::vector<nf::lb::Backend> backends;
  std::vector<nf::MaglevBackend> keys;
  for (uint32_t b = 0; b < n_backends; ++b) {
    nf::lb::Backend be;
    const uint32_t a = ipv4_be(198, 51, 100, static_cast<uint8_t>(20 + b));
    std::memcpy(be.addr.data(), &a, 4);
    be.port = rte_cpu_to_be_16(8080);
    be.id = b + 1;
    be.nexthop = static_cast<uint16_t>(b);
    backends.push_back(be);
    keys.push_back({std::to_string(a), 1});
    neighbors.learn(b, kBackendMac, rte_rdtsc());
    snap->lb.add_nexthop(be.addr, false, be.nexthop);
  }
  std::vector<uint16_t> table;
  nf::build_maglev(keys, nf::kMaglevDefaultSize, table);
  nf::lb::Service pool_svc;  // proto 0: the rule's pool
  const uint32_t pool_index = snap->lb.add_service(pool_svc, backends, table, "pool");
  nf::lb::Addr snat{};
  std::memcpy(snat.data(), &snat_be, 4);
  snap->lb.add_snat(snat, false);
  snap->lb.finalize();
  nf::route::RouteModel model;
  nf::route::PortSpec ps;
  std::memcpy(ps.address, &vip_be, 4);
  ps.port = 80;
  nf::route::Listener l;
  l.name = "bench/gw/http";
  nf::route::Rule r;
  r.hostnames = {"bench.example"};
  r.matches.push_back({});
  r.route = "bench/r";
  l.rules.push_back(r);
  ps.listeners.push_back(l);
  model.ports.push_back(ps);
  if (!snap->l7.set_model(model).empty()) return 1;
  nf::l7::ActionSpec fwd;
  fwd.kind = nf::l7::ActionKind::kForward;
  nf::l7::PoolSpec p;
  p.service = p.service6 = pool_index;
  fwd.pools.push_back(p);
  fwd.keepalive_ok = true;
  snap->l7.add_action(fwd);
  snap->l7.finalize(1);
  lcore::SnapshotPublisher publisher(1);
  publisher.publish(std::move(snap));

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t hour = hz * 3600;
  auto conns = std::make_unique<nf::ConnTable>(flows + flows / 4 + 1024,
                                               nf::ConnTable::Timeouts{hour, hour, hour, hour});
  nf::l7::WorkerState state(flows + 1024, 64, hz);
  nf::l7::CookieSecrets secrets;
  lcore::WorkerContext w;
  w.n_ports = 1;
  w.ports[0].uplink = static_cast<uint16_t>(uplink);
  w.ports[0].tap = static_cast<uint16_t>(tap);
  w.ports[0].ctx.mac = port_mac;
  w.ports[0].ctx.index = 0;
  w.snapshots = &publisher;
  w.conns = conns.get();
  w.neighbors = &neighbors;
  w.l7 = &state;
  w.secrets = &secrets;
  w.pool = pool;
  lcore::init_l4(w, 0, 1, hz);
  w.l4.mtu[0] = 1500;
  const lcore::Snapshot* current = publisher.current();

  // One frame through the worker; the frames it sends are read back.
  std::vector<uint8_t> frame(1600);
  auto send = [&](const nf::tcp_seg::SegmentAddrs& a, const nf::tcp_seg::SegmentFields& f) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) return false;
    const size_t n = nf::tcp_seg::build_segment(a, f, rte_pktmbuf_mtod(m, uint8_t*), 1600);
    m->data_len = m->pkt_len = static_cast<uint16_t>(n);
    lcore::handle_uplink_burst(w, *current, 0, &m, 1);
    return true;
  };
  auto drain = [&](std::vector<Reader>* out) {
    void* obj;
    while (rte_ring_sc_dequeue(tx, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      Reader r;
      if (read_tcp(m, &r)) out->push_back(r);
      rte_pktmbuf_free(m);
    }
  };
  const char head[] = "GET /x HTTP/1.1\r\nHost: bench.example\r\nAccept: */*\r\n\r\n";
  const uint32_t head_len = sizeof head - 1;
  std::vector<Conn> all(flows);
  uint8_t ts_opts[12];
  for (uint32_t i = 0; i < flows; ++i) {
    Conn& c = all[i];
    c.client_be = ipv4_be(203, 0, 113, static_cast<uint8_t>(128 + i % 128));
    c.cport_be = rte_cpu_to_be_16(static_cast<uint16_t>(1024 + i / 128));
    nf::tcp_seg::SegmentAddrs ca;
    ca.src_mac = kClientMac;
    ca.dst_mac = port_mac.addr_bytes;
    ca.src_ip = reinterpret_cast<const uint8_t*>(&c.client_be);
    ca.dst_ip = reinterpret_cast<const uint8_t*>(&vip_be);
    ca.sport = c.cport_be;
    ca.dport = rte_cpu_to_be_16(80);
    // SYN with MSS, SACK-Permitted, timestamps, window scale.
    nf::tcp_opt::TcpOptions so;
    so.has_mss = true;
    so.mss = 1460;
    so.sack_permitted = true;
    so.has_timestamps = true;
    so.ts_val = c.c_ts;
    so.has_wscale = true;
    so.wscale = 7;
    uint8_t syn_opts[20];
    nf::tcp_seg::SegmentFields f;
    f.seq = 1000 + i;
    f.flags = 0x02;
    f.window = 64240;
    f.options = syn_opts;
    f.options_len = nf::tcp_opt::write_syn_options(so, syn_opts);
    std::vector<Reader> got;
    send(ca, f);
    drain(&got);
    if (got.size() != 1 || got[0].flags != 0x12) return 1;
    c.c_seq = f.seq + 1;
    c.c_ack = got[0].seq + 1;
    c.c_ecr = got[0].ts_val;
    // The cookie ACK with the head.
    f = {};
    f.seq = c.c_seq;
    f.ack = c.c_ack;
    f.flags = 0x18;
    f.window = 502;
    f.options = ts_opts;
    f.options_len = nf::tcp_opt::write_timestamps(++c.c_ts, c.c_ecr, ts_opts);
    f.payload = reinterpret_cast<const uint8_t*>(head);
    f.payload_len = head_len;
    got.clear();
    send(ca, f);
    drain(&got);
    c.c_seq += head_len;
    const Reader* syn = nullptr;
    for (const Reader& g : got) {
      if (g.flags == 0x02) syn = &g;
    }
    if (syn == nullptr) return 1;
    c.backend_be = syn->dst_be;
    c.snat_port_be = syn->sport_be;
    const uint32_t pisn = syn->seq;
    const uint32_t syn_ts = syn->ts_val;
    // The backend's SYN-ACK -> the replay.
    nf::tcp_seg::SegmentAddrs ba;
    ba.src_mac = kBackendMac;
    ba.dst_mac = port_mac.addr_bytes;
    ba.src_ip = reinterpret_cast<const uint8_t*>(&c.backend_be);
    ba.dst_ip = reinterpret_cast<const uint8_t*>(&snat_be);
    ba.sport = rte_cpu_to_be_16(8080);
    ba.dport = c.snat_port_be;
    so.ts_val = c.b_ts;
    so.ts_ecr = syn_ts;
    f = {};
    f.seq = 70000 + i;
    f.ack = pisn + 1;
    f.flags = 0x12;
    f.window = 65160;
    f.options = syn_opts;
    f.options_len = nf::tcp_opt::write_syn_options(so, syn_opts);
    got.clear();
    send(ba, f);
    drain(&got);
    if (got.size() != 1 || got[0].payload == 0) return 1;
    c.b_seq = f.seq + 1;
    c.b_ack = pisn + 1 + got[0].payload;
    c.b_ecr = got[0].ts_val;
    // The backend acknowledges the replay: spliced.
    f = {};
    f.seq = c.b_seq;
    f.ack = c.b_ack;
    f.flags = 0x10;
    f.window = 509;
    f.options = ts_opts;
    f.options_len = nf::tcp_opt::write_timestamps(++c.b_ts, c.b_ecr, ts_opts);
    got.clear();
    send(ba, f);
    drain(&got);
    if (got.size() != 1) return 1;
    c.c_ecr = got[0].ts_val;
  }
  if (state.counters.spliced != flows) {
    std::fprintf(stderr, "portico-bench: %lu of %u connections spliced\n",
                 static_cast<unsigned long>(state.counters.spliced), flows);
    return 1;
  }

  // The timed part.
  rte_mbuf* burst[lcore::kBurst];
  uint8_t payload[64];
  std::memset(payload, 'x', sizeof payload);
  lcore::CounterTotals before;
  before.add(w.counters);
  uint64_t cycles = 0, done = 0, rng = 0x9e3779b97f4a7c15ull;
  while (done < packets) {
    const auto n = static_cast<uint16_t>(std::min<uint64_t>(lcore::kBurst, packets - done));
    if (rte_pktmbuf_alloc_bulk(pool, burst, n) != 0) return 1;
    for (uint16_t k = 0; k < n; ++k) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      Conn& c = all[rng % flows];
      nf::tcp_seg::SegmentAddrs a;
      nf::tcp_seg::SegmentFields f;
      f.flags = 0x18;
      f.options = ts_opts;
      f.payload = payload;
      f.payload_len = sizeof payload;
      if ((done + k) & 1) {
        a.src_mac = kBackendMac;
        a.src_ip = reinterpret_cast<const uint8_t*>(&c.backend_be);
        a.dst_ip = reinterpret_cast<const uint8_t*>(&snat_be);
        a.sport = rte_cpu_to_be_16(8080);
        a.dport = c.snat_port_be;
        f.seq = c.b_seq;
        f.ack = c.b_ack;
        f.window = 509;
        f.options_len = nf::tcp_opt::write_timestamps(++c.b_ts, c.b_ecr, ts_opts);
        c.b_seq += sizeof payload;
      } else {
        a.src_mac = kClientMac;
        a.src_ip = reinterpret_cast<const uint8_t*>(&c.client_be);
        a.dst_ip = reinterpret_cast<const uint8_t*>(&vip_be);
        a.sport = c.cport_be;
        a.dport = rte_cpu_to_be_16(80);
        f.seq = c.c_seq;
        f.ack = c.c_ack;
        f.window = 502;
        f.options_len = nf::tcp_opt::write_timestamps(++c.c_ts, c.c_ecr, ts_opts);
        c.c_seq += sizeof payload;
      }
      a.dst_mac = port_mac.addr_bytes;
      rte_mbuf* m = burst[k];
      const size_t len = nf::tcp_seg::build_segment(a, f, rte_pktmbuf_mtod(m, uint8_t*), 1600);
      m->data_len = m->pkt_len = static_cast<uint16_t>(len);
    }
    const uint64_t t0 = rte_rdtsc_precise();
    lcore::handle_uplink_burst(w, *current, 0, burst, n);
    cycles += rte_rdtsc_precise() - t0;
    void* objs[lcore::kBurst];
    const unsigned out = rte_ring_sc_dequeue_burst(tx, objs, lcore::kBurst, nullptr);
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), out);
    if (out != n) {
      std::fprintf(stderr, "portico-bench: %u of %u spliced segments forwarded\n", out, n);
      return 1;
    }
    done += n;
  }
  lcore::CounterTotals after;
  after.add(w.counters);
  const uint64_t forwarded = forwarded_between(before, after);
  if (forwarded != packets) {
    std::fprintf(stderr, "portico-bench: %lu of %lu packets spliced\n",
                 static_cast<unsigned long>(forwarded), static_cast<unsigned long>(packets));
    return 1;
  }
  const double cpp = static_cast<double>(cycles) / static_cast<double>(done);
  std::printf(
      "{\"case\":\"l7-splice\",\"packets\":%lu,\"flows\":%u,\"backends\":%u,"
      "\"cycles_per_packet\":%.1f,\"mpps\":%.2f,\"tsc_hz\":%lu}\n",
      static_cast<unsigned long>(done), flows, n_backends, cpp,
      static_cast<double>(hz) / cpp / 1e6, static_cast<unsigned long>(hz));
  return 0;
}

}  // namespace bench
