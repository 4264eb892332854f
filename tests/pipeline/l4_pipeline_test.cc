// L4 pipeline tests: the real worker loop under EAL (--no-huge) balancing TCP and UDP, on
// ring-backed ports.
//
// Every test runs twice, once per address family. The fixture wires workers the way
// control/runner.cc does (per-worker connection tables, one MP/SC handoff ring per worker, the
// resolve ring, a shared NeighborTable, init_l4) and compiles its Snapshot from YAML through the
// same path `portico run` takes: config::load_text -> control::make_plan ->
// control::compile_services -> control::build_snapshot (L4Ids and a NeighborManager kept
// across builds), published with lcore::SnapshotPublisher. A test puts frames on the rx ring
// of a queue of the uplink port, runs poll_once on the worker that owns that queue, and parses
// what came out of the tx rings: addresses, ports, MACs, lengths, and every checksum by full
// recomputation (tests/common/packet_builder.h, independent of nf/checksum.h).
//
// The uplink and the tap have three queues each (worker i owns queue i); tests with fewer
// workers leave the other queues alone. NIC drivers stamp mbuf->port with the receiving port, and
// drain_handoffs relies on it; the ring PMD does not, so the test stamps it when it fills the rx
// ring.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config/loader.h"
#include "control/neighbors.h"
#include "control/plan.h"
#include "control/services.h"
#include "control/snapshot_builder.h"
#include "control/traffic_stats.h"
#include "lcore/port.h"
#include "lcore/snapshot.h"
#include "lcore/worker.h"
#include "nf/conn_table.h"
#include "nf/l7.h"
#include "nf/neighbor_table.h"
#include "tests/common/packet_builder.h"

namespace {

using namespace pkt;

constexpr uint16_t kQueues = 3;  // up to three workers
rte_mempool* g_pool = nullptr;

class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* argv[] = {"l4_pipeline_test",
                          "-l",
                          "0-1",
                          "--no-huge",
                          "-m",
                          "256",
                          "--no-pci",
                          "--no-shconf",
                          "--file-prefix=l4_pipeline",
                          "--log-level=*:warning"};
    ASSERT_GE(rte_eal_init(static_cast<int>(std::size(argv)), const_cast<char**>(argv)), 0);
    g_pool = rte_pktmbuf_pool_create("l4_pipeline", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(g_pool, nullptr);
  }
  void TearDown() override { rte_eal_cleanup(); }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EalEnvironment);

// ---- the configuration ------------------------------------------------------------------------
//
//   VIP (v4 / v6)                        port       mode  endpoints
//   203.0.113.20 / 2001:db8:200::20      80/TCP     nat   .21 .22 / ::21 ::22 on 8080 (l4/web)
//   203.0.113.21 / 2001:db8:200::21      53/UDP     nat   .21 .22 / ::21 ::22 on 5353 (l4/dns)
//   203.0.113.22 / 2001:db8:200::22      8080/TCP   dsr   .21 .22 / ::21 ::22
//   203.0.113.23 / 2001:db8:200::23      8080/TCP   ipip  .21 .22 / ::21 ::22
//   203.0.113.24 / 2001:db8:200::24      80/TCP 53/UDP    none (l4/empty)
//   203.0.113.25 / 2001:db8:200::25      80/TCP     nat   .31 / ::31, whose MAC nobody learns
// Backends sit on the uplink's subnet (198.51.100.0/24, 2001:db8:100::/64); clients come from
// 192.0.2.0/24 and 2001:db8:ff::/64 through a router.

std::string endpoint_lines(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& a : addresses) {
    out += "  - {addresses: [\"" + a + "\"], conditions: {ready: true}}\n";
  }
  return out;
}

// A dual-stack LoadBalancer Service pinned to its two VIPs, with one port.
std::string service_yaml(const std::string& name, const std::string& vips, const char* mode,
                         const std::string& ports) {
  std::string s = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
                  "\n  namespace: l4\n  annotations:\n    metallb.io/loadBalancerIPs: " + vips +
                  "\n";
  if (mode != nullptr) s += "    portico.io/forwarding-mode: " + std::string(mode) + "\n";
  s += "spec:\n  type: LoadBalancer\n  selector: {app: " + name +
       "}\n  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]\n  ports:\n" + ports;
  return s;
}

std::string slice_yaml(const std::string& service, const char* family,
                       const std::vector<std::string>& endpoints, const std::string& port) {
  const char* suffix = std::string(family) == "IPv6" ? "-v6" : "-v4";
  return "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " +
         service + suffix + "\n  namespace: l4\n  labels:\n" +
         "    kubernetes.io/service-name: " + service + "\naddressType: " + family +
         "\nendpoints:\n" + endpoint_lines(endpoints) + "ports:\n" + port;
}

const std::vector<std::string> kBackends4 = {"198.51.100.21", "198.51.100.22"};
const std::vector<std::string> kBackends6 = {"2001:db8:100::21", "2001:db8:100::22"};

// The whole configuration; `without` (an address) is left out of l4/web's and l4/dns's
// endpoints, as when a backend pod goes away.
std::string config_yaml(const std::string& without = "") {
  auto left = [&](const std::vector<std::string>& all) {
    std::vector<std::string> out;
    for (const auto& a : all) {
      if (a != without) out.push_back(a);
    }
    return out;
  };
  std::string y = R"(apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1
  labels: {kubernetes.io/hostname: edge-1}
spec:
  dpdk: {lcores: "0-1", memoryMB: 256, hugepages: false}
  interfaces:
    - name: uplink
      device: "net_af_packet0,iface=veth0"
      addresses: ["198.51.100.10/24", "2001:db8:100::10/64"]
      mtu: 1500
  routes:
    - {destination: 0.0.0.0/0, gateway: 198.51.100.1}
    - {destination: "::/0", gateway: "2001:db8:100::1"}
  exception: {tap: portico0}
  loadBalancer:
    snatAddresses: ["198.51.100.11", "2001:db8:100::11"]
    connectionsPerLcore: 1024
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: l4-pool, namespace: metallb-system}
spec:
  addresses: [203.0.113.10-203.0.113.49, "2001:db8:200::10-2001:db8:200::49"]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l4-l2, namespace: metallb-system}
spec:
  ipAddressPools: [l4-pool]
)";
  const std::string tcp80 = "    - {name: http, protocol: TCP, port: 80, targetPort: 8080}\n";
  const std::string tcp8080 = "    - {name: http, protocol: TCP, port: 8080, targetPort: 8080}\n";
  const std::string udp53 = "    - {name: dns, protocol: UDP, port: 53, targetPort: 5353}\n";
  const std::string slice_http = "  - {name: http, protocol: TCP, port: 8080}\n";
  const std::string slice_dns = "  - {name: dns, protocol: UDP, port: 5353}\n";
  y += service_yaml("web", "203.0.113.20,2001:db8:200::20", nullptr, tcp80);
  y += slice_yaml("web", "IPv4", left(kBackends4), slice_http);
  y += slice_yaml("web", "IPv6", left(kBackends6), slice_http);
  y += service_yaml("dns", "203.0.113.21,2001:db8:200::21", nullptr, udp53);
  y += slice_yaml("dns", "IPv4", left(kBackends4), slice_dns);
  y += slice_yaml("dns", "IPv6", left(kBackends6), slice_dns);
  y += service_yaml("web-dsr", "203.0.113.22,2001:db8:200::22", "dsr", tcp8080);
  y += slice_yaml("web-dsr", "IPv4", kBackends4, slice_http);
  y += slice_yaml("web-dsr", "IPv6", kBackends6, slice_http);
  y += service_yaml("web-ipip", "203.0.113.23,2001:db8:200::23", "ipip", tcp8080);
  y += slice_yaml("web-ipip", "IPv4", kBackends4, slice_http);
  y += slice_yaml("web-ipip", "IPv6", kBackends6, slice_http);
  y += service_yaml("empty", "203.0.113.24,2001:db8:200::24", nullptr, tcp80 + udp53);
  y += service_yaml("dark", "203.0.113.25,2001:db8:200::25", nullptr, tcp80);
  y += slice_yaml("dark", "IPv4", {"198.51.100.31"}, slice_http);
  y += slice_yaml("dark", "IPv6", {"2001:db8:100::31"}, slice_http);
  return y;
}

// Service ports the configuration above compiles to: 6 services x 2 families, l4/empty twice.
constexpr size_t kServicePorts = 14;

// ---- one address family ---------------------------------------------------------------------

struct Family {
  const char* name;
  bool v6;
  const char* client;
  const char* node;
  const char* snat;
  const char* vip_nat;
  const char* vip_udp;
  const char* vip_dsr;
  const char* vip_ipip;
  const char* vip_empty;
  const char* vip_dark;
  const char* dark_backend;
  std::vector<std::string> backends;
};

const Family kIpv4{.name = "IPv4",
                   .v6 = false,
                   .client = "192.0.2.7",
                   .node = "198.51.100.10",
                   .snat = "198.51.100.11",
                   .vip_nat = "203.0.113.20",
                   .vip_udp = "203.0.113.21",
                   .vip_dsr = "203.0.113.22",
                   .vip_ipip = "203.0.113.23",
                   .vip_empty = "203.0.113.24",
                   .vip_dark = "203.0.113.25",
                   .dark_backend = "198.51.100.31",
                   .backends = kBackends4};
const Family kIpv6{.name = "IPv6",
                   .v6 = true,
                   .client = "2001:db8:ff::7",
                   .node = "2001:db8:100::10",
                   .snat = "2001:db8:100::11",
                   .vip_nat = "2001:db8:200::20",
                   .vip_udp = "2001:db8:200::21",
                   .vip_dsr = "2001:db8:200::22",
                   .vip_ipip = "2001:db8:200::23",
                   .vip_empty = "2001:db8:200::24",
                   .vip_dark = "2001:db8:200::25",
                   .dark_backend = "2001:db8:100::31",
                   .backends = kBackends6};

void PrintTo(const Family& f, std::ostream* os) { *os << f.name; }

// Clients' packets arrive from this router.
const Mac kRouter = mac("02:00:00:00:00:01");

// Address bytes as nf::lb and the NeighborTable index them.
nf::lb::Addr addr_bytes(const std::string& a, bool v6) {
  nf::lb::Addr out{};
  if (v6) {
    const Ip6 ip = ip6(a);
    std::memcpy(out.data(), ip.bytes.data(), 16);
  } else {
    const Ip4 ip = ip4(a);
    std::memcpy(out.data(), ip.bytes.data(), 4);
  }
  return out;
}

// Each backend's MAC: 02:be:00:00:<4 or 6>:<last address byte>.
Mac backend_mac(const std::string& a, bool v6) {
  const nf::lb::Addr b = addr_bytes(a, v6);
  return Mac{{0x02, 0xbe, 0, 0, static_cast<uint8_t>(v6 ? 6 : 4), b[v6 ? 15 : 3]}};
}

// The IP header of either family, addresses as text.
struct IpHeader {
  std::string src, dst;
  uint8_t protocol = 0;
  uint8_t ttl = 0;           // TTL or hop limit
  bool checksum_ok = false;  // IPv4 header checksum (IPv6 has none: always true)
  size_t length = 0;         // the whole IP packet
};

std::optional<IpHeader> parse_ip(std::span<const uint8_t> f) {
  if (auto v = parse_ipv4(f)) {
    return IpHeader{to_string(v->src), to_string(v->dst), v->protocol, v->ttl,
                    v->checksum_ok,    v->total_length};
  }
  if (auto v = parse_ipv6(f)) {
    return IpHeader{
        to_string(v->src),           to_string(v->dst), v->next_header, v->hop_limit, true,
        kIpv6Len + v->payload_length};
  }
  return std::nullopt;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// What a worker transmitted: the bytes and the mbuf's own length fields.
struct Sent {
  Bytes bytes;
  uint32_t pkt_len = 0;
  uint16_t data_len = 0;
  uint16_t nb_segs = 0;
};

struct RingPort {
  rte_ring* rx[kQueues] = {};
  rte_ring* tx[kQueues] = {};
  uint16_t port = 0;
};

RingPort make_port(const std::string& name) {
  static int seq = 0;
  RingPort p;
  const std::string id = name + std::to_string(seq++);
  for (uint16_t q = 0; q < kQueues; ++q) {
    const std::string qid = id + "_" + std::to_string(q);
    p.rx[q] = rte_ring_create((qid + "rx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    p.tx[q] = rte_ring_create((qid + "tx").c_str(), 1024, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    EXPECT_NE(p.rx[q], nullptr);
    EXPECT_NE(p.tx[q], nullptr);
  }
  const int port = rte_eth_from_rings(id.c_str(), p.rx, kQueues, p.tx, kQueues, 0);
  EXPECT_GE(port, 0);
  p.port = static_cast<uint16_t>(port);
  lcore::start_port(p.port, {kQueues, 1500, g_pool, false});
  return p;
}

void free_mbufs(rte_ring* r) {
  void* obj = nullptr;
  while (rte_ring_sc_dequeue(r, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
}

class L4Pipeline : public ::testing::TestWithParam<Family> {
 protected:
  void SetUp() override {
    tsc_hz_ = rte_get_tsc_hz();
    uplink_ = make_port("l4up");
    tap_ = make_port("l4tap");
    const rte_ether_addr mac = lcore::port_mac(uplink_.port);
    std::memcpy(port_mac_.bytes.data(), mac.addr_bytes, 6);
    free_at_start_ = rte_mempool_avail_count(g_pool);
    static int seq = 0;
    const std::string id = std::to_string(seq++);
    for (unsigned w = 0; w < kQueues; ++w) {
      // MP/SC, as the runner makes them: any worker enqueues, the owner dequeues.
      handoff_[w] =
          rte_ring_create(("l4ho" + id + "_" + std::to_string(w)).c_str(), 1024, 0, RING_F_SC_DEQ);
      ASSERT_NE(handoff_[w], nullptr);
    }
    resolve_ = rte_ring_create(("l4res" + id).c_str(), 1024, 0, RING_F_SC_DEQ);
    ASSERT_NE(resolve_, nullptr);
    publisher_ = std::make_unique<lcore::SnapshotPublisher>(kQueues);

    ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml()));
    EXPECT_EQ(built_.service_ports, kServicePorts);
    for (const auto& b : fam().backends) learn(b);
    start_workers(1, node_timeouts());
  }

  void TearDown() override {
    for (auto& w : workers_) lcore::drop_held(*w);  // as worker_main does when it stops
    workers_.clear();
    for (uint16_t q = 0; q < kQueues; ++q) {
      for (rte_ring* r : {uplink_.rx[q], uplink_.tx[q], tap_.rx[q], tap_.tx[q]}) free_mbufs(r);
    }
    for (rte_ring* r : handoff_) free_mbufs(r);
    // Every mbuf a worker dropped was freed, every one it sent is accounted for above.
    EXPECT_EQ(rte_mempool_avail_count(g_pool), free_at_start_) << "mbufs leaked";
    for (uint16_t p : {uplink_.port, tap_.port}) lcore::close_port(p);
    for (uint16_t q = 0; q < kQueues; ++q) {
      for (rte_ring* r : {uplink_.rx[q], uplink_.tx[q], tap_.rx[q], tap_.tx[q]}) rte_ring_free(r);
    }
    for (rte_ring* r : handoff_) rte_ring_free(r);
    rte_ring_free(resolve_);
  }

  static const Family& fam() { return GetParam(); }

  // ---- control side -------------------------------------------------------------------------

  // YAML -> plan -> services -> Snapshot, published; L4Ids and next-hop indices carry over
  // from the previous build, as in Runner::publish.
  void publish_config(const std::string& yaml) {
    config::LoadResult loaded = config::load_text(yaml, "l4_pipeline.yaml");
    ASSERT_TRUE(loaded.ok()) << loaded.errors.front().str();
    ASSERT_EQ(loaded.objects.node_configs.size(), 1u);
    objects_ = std::move(loaded.objects);
    node_ = objects_.node_configs.front();
    if (!neighbor_table_) {
      neighbor_table_ = std::make_unique<nf::NeighborTable>(node_.neighbors.capacity);
      neighbors_ = std::make_unique<control::NeighborManager>(*neighbor_table_, tsc_hz_);
      neighbors_->configure(node_, {lcore::port_mac(uplink_.port)});
    }
    plan_ = control::make_plan(objects_, &node_, control::ipam::assignments_of(plan_.ipam));
    const control::ServicesResult services = control::compile_services(objects_, plan_);
    built_ = {};
    neighbors_->begin_build();
    const control::L7Inputs l7{&objects_, kQueues};
    publisher_->publish(control::build_snapshot(plan_, node_, ++generation_, &services, &ids_,
                                                neighbors_.get(), &built_, &l7));
    neighbors_->end_build_published();
    for (const auto& w : built_.warnings) ADD_FAILURE() << "build warning: " << w;
  }

  const lcore::Snapshot& snap() const { return *publisher_->current(); }

  // The NeighborTable index of the next hop towards a backend on the uplink's subnet.
  int hop(const std::string& addr) const {
    return snap().lb.nexthop_index(addr_bytes(addr, fam().v6).data(), fam().v6);
  }
  void learn(const std::string& backend) {
    const int idx = hop(backend);
    ASSERT_GE(idx, 0) << backend << " has no next hop";
    neighbor_table_->learn(static_cast<uint32_t>(idx), backend_mac(backend, fam().v6).bytes.data(),
                           rte_rdtsc());
  }

  nf::ConnTable::Timeouts node_timeouts() const {
    const auto& t = node_.load_balancer.timeouts;
    const auto ticks = [&](uint64_t ms) { return ms * tsc_hz_ / 1000; };
    return {ticks(t.tcp_syn_ms), ticks(t.tcp_established_ms), ticks(t.tcp_closing_ms),
            ticks(t.udp_ms)};
  }

  // `n` workers wired as Runner::init_l4 and Runner::launch_workers do; worker i owns queue i.
  void start_workers(unsigned n, const nf::ConnTable::Timeouts& timeouts) {
    workers_.clear();
    conns_.clear();
    for (unsigned i = 0; i < n; ++i) {
      conns_.push_back(
          std::make_unique<nf::ConnTable>(node_.load_balancer.connections_per_lcore, timeouts));
      auto w = std::make_unique<lcore::WorkerContext>();
      w->thread_id = i;
      w->queue = static_cast<uint16_t>(i);
      w->n_ports = 1;
      w->ports[0].uplink = uplink_.port;
      w->ports[0].tap = tap_.port;
      w->ports[0].ctx.mac = lcore::port_mac(uplink_.port);
      w->ports[0].ctx.index = 0;
      w->snapshots = publisher_.get();
      w->stop = &stop_;
      w->conns = conns_.back().get();
      w->neighbors = neighbor_table_.get();
      w->handoff_rx = handoff_[i];
      for (unsigned o = 0; o < n; ++o) w->handoff_tx[o] = handoff_[o];
      w->resolve_tx = resolve_;
      lcore::init_l4(*w, i, n, tsc_hz_);
      w->l4.mtu[0] = node_.interfaces[0].mtu;
      workers_.push_back(std::move(w));
    }
  }

  // ---- data plane -----------------------------------------------------------------------------

  lcore::WorkerContext& worker(unsigned i = 0) { return *workers_.at(i); }
  unsigned poll(unsigned i = 0) { return lcore::poll_once(worker(i)); }

  // A frame arriving on the uplink's queue q, stamped with the port as a NIC driver does.
  void receive(const Bytes& frame, uint16_t q = 0) {
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    ASSERT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                frame.size());
    m->port = uplink_.port;
    ASSERT_EQ(rte_ring_sp_enqueue(uplink_.rx[q], m), 0);
  }
  static std::vector<Sent> drain(rte_ring* r) {
    std::vector<Sent> out;
    void* obj = nullptr;
    while (rte_ring_sc_dequeue(r, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
      out.push_back({Bytes(d, d + m->data_len), m->pkt_len, m->data_len, m->nb_segs});
      rte_pktmbuf_free(m);
    }
    return out;
  }
  // What left by the uplink's / the tap's queue q.
  std::vector<Sent> sent(uint16_t q = 0) { return drain(uplink_.tx[q]); }
  std::vector<Sent> punted(uint16_t q = 0) { return drain(tap_.tx[q]); }
  // Exactly one frame out of the uplink's queue q (nothing punted), or a test failure.
  Bytes one_sent(uint16_t q = 0) {
    auto out = sent(q);
    EXPECT_TRUE(punted(q).empty());
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? Bytes{} : out.front().bytes;
  }

  uint64_t dropped(nf::DropReason r, unsigned w = 0) {
    return worker(w).counters.dropped[static_cast<int>(r)].get();
  }
  uint64_t dropped_total(unsigned w = 0) {
    lcore::CounterTotals t;
    t.add(worker(w).counters);
    return t.dropped_total();
  }
  uint64_t forwarded(nf::ForwardKind k, unsigned w = 0) {
    return worker(w).counters.forwarded[static_cast<int>(k)].get();
  }
  uint64_t replies(nf::ReplyKind k, unsigned w = 0) {
    return worker(w).counters.replies[static_cast<int>(k)].get();
  }

  // ---- frames -------------------------------------------------------------------------------

  // An IP packet of the test's family from `src` to `dst`.
  static Frame ip_frame(const Mac& eth_dst, const Mac& eth_src, const std::string& src,
                        const std::string& dst) {
    Frame f = Frame::eth(eth_dst, eth_src);
    if (fam().v6) {
      f.ipv6(ip6(src), ip6(dst));
    } else {
      f.ipv4(ip4(src), ip4(dst));
    }
    return f;
  }
  Bytes client_tcp(const std::string& vip, uint16_t cport, uint16_t vport, uint8_t flags,
                   uint32_t seq, uint32_t ack = 0, const Bytes& payload = {}) const {
    return ip_frame(port_mac_, kRouter, fam().client, vip)
        .tcp_segment({.sport = cport,
                      .dport = vport,
                      .seq = seq,
                      .ack = ack,
                      .flags = flags,
                      .payload = payload})
        .bytes();
  }
  Bytes client_udp(const std::string& vip, uint16_t cport, uint16_t vport,
                   const Bytes& payload) const {
    return ip_frame(port_mac_, kRouter, fam().client, vip).udp(cport, vport, payload).bytes();
  }
  // From a backend to a SNAT address:port (a full-NAT reply).
  Bytes backend_tcp(const std::string& backend, uint16_t bport, uint16_t snat_port, uint8_t flags,
                    uint32_t seq, uint32_t ack) const {
    return ip_frame(port_mac_, backend_mac(backend, fam().v6), backend, fam().snat)
        .tcp_segment({.sport = bport, .dport = snat_port, .seq = seq, .ack = ack, .flags = flags})
        .bytes();
  }
  Bytes backend_udp(const std::string& backend, uint16_t bport, uint16_t snat_port,
                    const Bytes& payload) const {
    return ip_frame(port_mac_, backend_mac(backend, fam().v6), backend, fam().snat)
        .udp(bport, snat_port, payload)
        .bytes();
  }

  // A full-NAT packet towards a backend: from the SNAT address to a backend's port, Ethernet
  // to that backend's MAC from ours, TTL decremented, checksums valid. Returns the backend.
  std::string expect_to_backend(const Bytes& out, uint16_t backend_port) {
    const auto eth = parse_eth(out);
    const auto ip = parse_ip(out);
    if (!eth || !ip) {
      ADD_FAILURE() << "not an IP frame:\n" << hex(out);
      return "";
    }
    EXPECT_TRUE(contains(fam().backends, ip->dst)) << ip->dst;
    EXPECT_EQ(ip->src, fam().snat);
    EXPECT_EQ(eth->dst, backend_mac(ip->dst, fam().v6));
    EXPECT_EQ(eth->src, port_mac_);
    EXPECT_EQ(ip->ttl, 63);
    EXPECT_TRUE(ip->checksum_ok);
    EXPECT_EQ(out.size(), kEthLen + ip->length);
    if (ip->protocol == kProtoTcp) {
      const auto tcp = parse_tcp(out);
      EXPECT_TRUE(tcp && tcp->checksum_ok);
      if (tcp) {
        EXPECT_EQ(tcp->dport, backend_port);
      }
    } else {
      const auto udp = parse_udp(out);
      EXPECT_TRUE(udp && udp->checksum_ok);
      if (udp) {
        EXPECT_EQ(udp->dport, backend_port);
      }
    }
    return ip->dst;
  }
  // A packet translated back to the client: from the VIP, to the router's MAC.
  void expect_to_client(const Bytes& out, const std::string& vip) {
    const auto eth = parse_eth(out);
    const auto ip = parse_ip(out);
    ASSERT_TRUE(eth && ip) << hex(out);
    EXPECT_EQ(eth->dst, kRouter);
    EXPECT_EQ(eth->src, port_mac_);
    EXPECT_EQ(ip->src, vip);
    EXPECT_EQ(ip->dst, fam().client);
    EXPECT_EQ(ip->ttl, 63);
    EXPECT_TRUE(ip->checksum_ok);
  }

  // Client ports whose flows to the NAT VIP go to two different backends, found by sending
  // SYNs (and completing the client side with an ACK). Fills the backend and SNAT port of each.
  struct Flow {
    uint16_t cport = 0;
    std::string backend;
    uint16_t snat_port = 0;
    uint32_t next_seq = 0;
  };
  std::vector<Flow> flows_to_each_backend() {
    std::vector<Flow> flows;
    for (uint16_t cport = 40000; cport < 40064 && flows.size() < 2; ++cport) {
      receive(client_tcp(fam().vip_nat, cport, 80, kTcpSyn, 100));
      poll();
      const Bytes out = one_sent();
      const auto tcp = parse_tcp(out);
      if (!tcp) return {};
      const std::string backend = expect_to_backend(out, 8080);
      receive(client_tcp(fam().vip_nat, cport, 80, kTcpAck, 101, 9001));
      poll();
      EXPECT_EQ(parse_ip(one_sent())->dst, backend);
      if (flows.empty() || flows.front().backend != backend) {
        flows.push_back({cport, backend, tcp->sport, 101});
      }
    }
    return flows;
  }

  // The workers' traffic tables summed over the published Snapshot's directory, as the runner
  // does for its stats.
  control::TrafficStats traffic() const {
    std::vector<const nf::TrafficTable*> tables;
    for (const auto& w : workers_) tables.push_back(w->traffic.get());
    return control::sum_traffic(built_.traffic, tables);
  }
  static const control::ServiceTraffic* service_of(const control::TrafficStats& st,
                                                   const std::string& vip, uint16_t port) {
    for (const auto& s : st.services) {
      if (s.address == vip && s.port == port && s.protocol == "TCP") return &s;
    }
    return nullptr;
  }
  const control::BackendTraffic* backend_of(const control::TrafficStats& st, const std::string& vip,
                                            uint16_t port, const std::string& backend) const {
    const std::string want = fam().v6 ? "[" + backend + "]:8080" : backend + ":8080";
    for (const auto& b : st.backends) {
      if (b.address == vip && b.port == port && b.backend == want) return &b;
    }
    return nullptr;
  }

  uint64_t tsc_hz_ = 0;
  RingPort uplink_, tap_;
  Mac port_mac_;
  rte_ring* handoff_[kQueues] = {};
  rte_ring* resolve_ = nullptr;
  std::unique_ptr<lcore::SnapshotPublisher> publisher_;
  std::unique_ptr<nf::NeighborTable> neighbor_table_;
  std::unique_ptr<control::NeighborManager> neighbors_;
  control::L4Ids ids_;
  control::L4BuildResult built_;
  config::ObjectSet objects_;
  config::NodeConfig node_;
  control::Plan plan_;
  uint64_t generation_ = 0;
  std::vector<std::unique_ptr<nf::ConnTable>> conns_;
  std::vector<std::unique_ptr<lcore::WorkerContext>> workers_;
  std::atomic<bool> stop_{false};
  unsigned free_at_start_ = 0;
};

// ---- full NAT -------------------------------------------------------------------------------

TEST_P(L4Pipeline, NatSendsTheSynFromTheSnatAddressAndTheSynAckBackFromTheVip) {
  receive(client_tcp(fam().vip_nat, 40001, 80, kTcpSyn, 1000));
  EXPECT_EQ(poll(), 1u);
  const Bytes syn = one_sent();
  const std::string backend = expect_to_backend(syn, 8080);
  const auto tcp = parse_tcp(syn);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->flags, kTcpSyn);
  EXPECT_EQ(tcp->seq, 1000u);
  EXPECT_GE(tcp->sport, 1024);
  const uint16_t snat_port = tcp->sport;
  EXPECT_EQ(worker().counters.new_flows.get(), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToBackend), 1u);
  EXPECT_EQ(worker().counters.conns.get(), 1u);

  receive(backend_tcp(backend, 8080, snat_port, kTcpSyn | kTcpAck, 7000, 1001));
  EXPECT_EQ(poll(), 1u);
  const Bytes syn_ack = one_sent();
  expect_to_client(syn_ack, fam().vip_nat);
  const auto back = parse_tcp(syn_ack);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->checksum_ok);
  EXPECT_EQ(back->sport, 80);
  EXPECT_EQ(back->dport, 40001);
  EXPECT_EQ(back->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(back->seq, 7000u);
  EXPECT_EQ(back->ack, 1001u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToClient), 1u);

  // Data from the client follows the same translation, payload untouched.
  receive(client_tcp(fam().vip_nat, 40001, 80, kTcpAck | kTcpPsh, 1001, 7001, text("GET /")));
  poll();
  const Bytes data = one_sent();
  EXPECT_EQ(expect_to_backend(data, 8080), backend);
  const auto seg = parse_tcp(data);
  ASSERT_TRUE(seg);
  EXPECT_EQ(seg->sport, snat_port);
  EXPECT_EQ(Bytes(seg->payload.begin(), seg->payload.end()), text("GET /"));

  EXPECT_EQ(worker().counters.new_flows.get(), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToBackend), 2u);
  EXPECT_EQ(worker().counters.rx.get(), 3u);
  EXPECT_EQ(worker().counters.tx.get(), 3u);
  EXPECT_EQ(dropped_total(), 0u);
}

TEST_P(L4Pipeline, NatTranslatesUdpAndItsPortBothWays) {
  receive(client_udp(fam().vip_udp, 5000, 53, text("query")));
  poll();
  const Bytes q = one_sent();
  const std::string backend = expect_to_backend(q, 5353);
  const auto udp = parse_udp(q);
  ASSERT_TRUE(udp);
  EXPECT_EQ(Bytes(udp->payload.begin(), udp->payload.end()), text("query"));

  receive(backend_udp(backend, 5353, udp->sport, text("answer")));
  poll();
  const Bytes a = one_sent();
  expect_to_client(a, fam().vip_udp);
  const auto back = parse_udp(a);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->checksum_ok);
  EXPECT_EQ(back->sport, 53);
  EXPECT_EQ(back->dport, 5000);
  EXPECT_EQ(Bytes(back->payload.begin(), back->payload.end()), text("answer"));
  EXPECT_EQ(forwarded(nf::ForwardKind::kToBackend), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToClient), 1u);
}

// ---- DSR and IPIP ---------------------------------------------------------------------------

TEST_P(L4Pipeline, DsrChangesOnlyTheMacs) {
  const Bytes syn = client_tcp(fam().vip_dsr, 40002, 8080, kTcpSyn, 1);
  const Bytes ack = client_tcp(fam().vip_dsr, 40002, 8080, kTcpAck, 2, 501, text("data"));
  std::optional<Mac> first_dst;
  for (const Bytes& in : {syn, ack}) {
    receive(in);
    poll();
    const Bytes out = one_sent();
    ASSERT_EQ(out.size(), in.size());
    EXPECT_TRUE(std::equal(out.begin() + 12, out.end(), in.begin() + 12))
        << first_difference(out, in);
    const auto eth = parse_eth(out);
    EXPECT_EQ(eth->src, port_mac_);
    const bool to_a_backend = eth->dst == backend_mac(fam().backends[0], fam().v6) ||
                              eth->dst == backend_mac(fam().backends[1], fam().v6);
    EXPECT_TRUE(to_a_backend) << eth->dst;
    if (first_dst) {
      EXPECT_EQ(eth->dst, *first_dst) << "the flow changed backends";
    }
    first_dst = eth->dst;
  }
  EXPECT_EQ(worker().counters.new_flows.get(), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToBackend), 2u);
}

TEST_P(L4Pipeline, IpipPrependsAnOuterHeaderToTheBackend) {
  const Bytes in = client_tcp(fam().vip_ipip, 40003, 8080, kTcpSyn, 1);
  receive(in);
  poll();
  const auto out = sent();
  ASSERT_EQ(out.size(), 1u);
  const size_t encap = fam().v6 ? kIpv6Len : kIpv4Len;
  const Bytes& f = out[0].bytes;
  EXPECT_EQ(f.size(), in.size() + encap);
  EXPECT_EQ(out[0].data_len, f.size());
  EXPECT_EQ(out[0].pkt_len, f.size());
  EXPECT_EQ(out[0].nb_segs, 1);

  const auto eth = parse_eth(f);
  const auto outer = parse_ip(f);
  ASSERT_TRUE(eth && outer) << hex(f);
  EXPECT_EQ(eth->type, fam().v6 ? kEtherTypeIpv6 : kEtherTypeIpv4);
  EXPECT_EQ(outer->protocol, fam().v6 ? kProtoIpv6Encap : kProtoIpip);
  EXPECT_EQ(outer->src, fam().node);
  EXPECT_TRUE(contains(fam().backends, outer->dst)) << outer->dst;
  EXPECT_EQ(eth->dst, backend_mac(outer->dst, fam().v6));
  EXPECT_EQ(eth->src, port_mac_);
  EXPECT_TRUE(outer->checksum_ok);
  EXPECT_EQ(outer->length, in.size() - kEthLen + encap);
  if (!fam().v6) {
    EXPECT_EQ(parse_ipv4(f)->fragment & 0x4000, 0x4000) << "DF";
  }
  // The packet inside is the client's, byte for byte.
  const auto inner = decapsulate(f);
  ASSERT_TRUE(inner);
  EXPECT_EQ(l3_bytes(*inner), l3_bytes(in));
  EXPECT_EQ(
      forwarded(fam().v6 ? nf::ForwardKind::kToBackendIpip6 : nf::ForwardKind::kToBackendIpip4),
      1u);
  EXPECT_EQ(worker().counters.new_flows.get(), 1u);
}

// ---- no endpoint, unresolved next hop -------------------------------------------------------

TEST_P(L4Pipeline, NoEndpointResetsTcpAndDropsUdp) {
  receive(client_tcp(fam().vip_empty, 40004, 80, kTcpSyn, 5000));
  poll();
  const Bytes rst = one_sent();
  const auto eth = parse_eth(rst);
  const auto ip = parse_ip(rst);
  const auto tcp = parse_tcp(rst);
  ASSERT_TRUE(eth && ip && tcp) << hex(rst);
  EXPECT_EQ(eth->dst, kRouter);
  EXPECT_EQ(eth->src, port_mac_);
  EXPECT_EQ(ip->src, fam().vip_empty);
  EXPECT_EQ(ip->dst, fam().client);
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_TRUE(tcp->checksum_ok);
  EXPECT_EQ(tcp->sport, 80);
  EXPECT_EQ(tcp->dport, 40004);
  EXPECT_EQ(tcp->flags, kTcpRst | kTcpAck);
  EXPECT_EQ(tcp->seq, 0u);
  EXPECT_EQ(tcp->ack, 5001u);  // the SYN occupies one sequence number
  EXPECT_EQ(replies(nf::ReplyKind::kTcpReset), 1u);

  receive(client_udp(fam().vip_empty, 5001, 53, text("query")));
  poll();
  EXPECT_TRUE(sent().empty());
  EXPECT_TRUE(punted().empty());
  EXPECT_EQ(dropped(nf::DropReason::kNoEndpoint), 1u);
  EXPECT_EQ(dropped_total(), 1u);
  EXPECT_EQ(worker().counters.new_flows.get(), 0u);
  EXPECT_EQ(worker().counters.conns.get(), 0u);
}

TEST_P(L4Pipeline, UnresolvedNextHopHoldsTheFrameUntilItResolves) {
  const int idx = hop(fam().dark_backend);
  ASSERT_GE(idx, 0);
  receive(client_tcp(fam().vip_dark, 40005, 80, kTcpSyn, 1));
  poll();
  EXPECT_TRUE(sent().empty()) << "held, not sent";
  EXPECT_EQ(worker().counters.held.get(), 1u);
  EXPECT_EQ(dropped_total(), 0u);
  EXPECT_EQ(worker().counters.conns.get(), 1u) << "the flow has its record already";
  void* posted[8];
  ASSERT_EQ(rte_ring_sc_dequeue_burst(resolve_, posted, 8, nullptr), 1u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(posted[0]), static_cast<uintptr_t>(idx) + 1)
      << "the resolve ring carries next-hop index + 1";

  // The retransmitted SYN within the request interval asks nobody again and waits as well.
  receive(client_tcp(fam().vip_dark, 40005, 80, kTcpSyn, 1));
  poll();
  EXPECT_EQ(worker().counters.held.get(), 2u);
  EXPECT_EQ(rte_ring_count(resolve_), 0u);
  poll();
  EXPECT_TRUE(sent().empty()) << "still unresolved";

  // Once the control thread has resolved it, the next loop sends both, oldest first, to the MAC.
  learn(fam().dark_backend);
  poll();
  const auto out = sent();
  ASSERT_EQ(out.size(), 2u);
  for (const auto& f : out) {
    const auto eth = parse_eth(f.bytes);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst, backend_mac(fam().dark_backend, fam().v6));
    EXPECT_EQ(eth->src, port_mac_);
    EXPECT_EQ(parse_ip(f.bytes)->dst, fam().dark_backend);
    EXPECT_EQ(f.data_len, f.pkt_len);
    EXPECT_TRUE(parse_tcp(f.bytes)->checksum_ok);
  }
  EXPECT_EQ(parse_tcp(out[0].bytes)->sport, parse_tcp(out[1].bytes)->sport) << "one flow";
  EXPECT_EQ(worker().counters.released.get(), 2u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToBackend), 2u);
  EXPECT_EQ(worker().n_held, 0u);
  EXPECT_EQ(dropped_total(), 0u);
}

TEST_P(L4Pipeline, HeldFramesAreBoundedAndDroppedWhenTheNextHopStaysSilent) {
  // At most kHoldPerNexthop frames for one next hop; the rest are dropped at once, counted.
  constexpr unsigned kPer = lcore::WorkerContext::kHoldPerNexthop;
  for (unsigned i = 0; i < kPer + 3; ++i) {
    receive(client_tcp(fam().vip_dark, static_cast<uint16_t>(41000 + i), 80, kTcpSyn, 1));
  }
  poll();
  EXPECT_EQ(worker().counters.held.get(), kPer);
  EXPECT_EQ(dropped(nf::DropReason::kNeighborUnresolved), 3u);
  EXPECT_TRUE(sent().empty());
  // A next hop that never answers: after hold_ticks its frames are dropped, counted.
  worker().hold_ticks = 0;
  poll();
  EXPECT_EQ(worker().n_held, 0u);
  EXPECT_EQ(dropped(nf::DropReason::kNeighborUnresolved), kPer + 3);
  EXPECT_EQ(worker().counters.released.get(), 0u);
  EXPECT_TRUE(sent().empty());
}

TEST_P(L4Pipeline, WorkerLearnsBackendMacsFromArpAndNeighborAdvertisements) {
  for (const auto& b : fam().backends) neighbor_table_->reset(static_cast<uint32_t>(hop(b)));
  for (const auto& b : fam().backends) {
    const Mac m = backend_mac(b, fam().v6);
    if (fam().v6) {
      receive(Frame::eth(port_mac_, m)
                  .ipv6(ip6(b), ip6(fam().node), 255)
                  .ndp_na(ip6(b), {false, true, true}, m)
                  .bytes());
    } else {
      receive(Frame::eth(port_mac_, m).arp_reply(m, ip4(b), port_mac_, ip4(fam().node)).bytes());
    }
  }
  poll();
  EXPECT_EQ(punted().size(), 2u) << "answers to the node's own requests are the kernel's too";
  for (const auto& b : fam().backends) {
    uint8_t got[6];
    ASSERT_TRUE(neighbor_table_->get(static_cast<uint32_t>(hop(b)), got)) << b;
    Mac learned;
    std::memcpy(learned.bytes.data(), got, 6);
    EXPECT_EQ(learned, backend_mac(b, fam().v6));
  }
  receive(client_tcp(fam().vip_nat, 40006, 80, kTcpSyn, 1));
  poll();
  expect_to_backend(one_sent(), 8080);
}

// ---- two workers ----------------------------------------------------------------------------

TEST_P(L4Pipeline, ReplyReceivedByTheOtherWorkerIsHandedToTheFlowsOwner) {
  start_workers(2, node_timeouts());
  // Worker 1 receives the client's SYN: the SNAT port it picks is one of its own (odd).
  receive(client_tcp(fam().vip_nat, 40007, 80, kTcpSyn, 1), 1);
  poll(1);
  const Bytes syn = one_sent(1);
  const std::string backend = expect_to_backend(syn, 8080);
  const uint16_t snat_port = parse_tcp(syn)->sport;
  EXPECT_EQ(snat_port % 2, 1) << "worker 1 of 2 owns the odd SNAT ports";

  // The backend's answer lands on worker 0's queue.
  receive(backend_tcp(backend, 8080, snat_port, kTcpSyn | kTcpAck, 50, 2), 0);
  poll(0);
  EXPECT_TRUE(sent(0).empty());
  EXPECT_TRUE(sent(1).empty());
  EXPECT_EQ(worker(0).counters.handoffs_out.get(), 1u);
  EXPECT_EQ(rte_ring_count(handoff_[1]), 1u);
  EXPECT_EQ(dropped_total(0), 0u);

  poll(1);
  const Bytes back = one_sent(1);
  expect_to_client(back, fam().vip_nat);
  const auto tcp = parse_tcp(back);
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->checksum_ok);
  EXPECT_EQ(tcp->sport, 80);
  EXPECT_EQ(tcp->dport, 40007);
  EXPECT_EQ(worker(1).counters.handoffs_in.get(), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToClient, 1), 1u);
  EXPECT_EQ(forwarded(nf::ForwardKind::kToClient, 0), 0u);
  EXPECT_EQ(dropped_total(1), 0u);
  EXPECT_TRUE(sent(0).empty());
}

// Worker w of n owns the SNAT ports p with p % n == w (nf::L4Context): that is where the NIC
// steers, or other workers hand over, the replies to those ports. A worker must therefore
// only pick SNAT ports it owns, whatever the worker count.
TEST_P(L4Pipeline, WithThreeWorkersEveryReplyReachesTheWorkerThatOwnsItsFlow) {
  start_workers(3, node_timeouts());
  for (uint16_t w = 0; w < 3; ++w) {
    SCOPED_TRACE("flow of worker " + std::to_string(w));
    const uint16_t cport = static_cast<uint16_t>(42000 + w);
    receive(client_tcp(fam().vip_nat, cport, 80, kTcpSyn, 1), w);
    poll(w);
    const Bytes syn = one_sent(w);
    const std::string backend = expect_to_backend(syn, 8080);
    const uint16_t snat_port = parse_tcp(syn)->sport;
    EXPECT_EQ(snat_port % 3, w) << "worker " << w << " picked SNAT port " << snat_port;

    // The reply lands on the next worker's queue; every worker then polls once, that one first.
    const uint16_t first = static_cast<uint16_t>((w + 1) % 3);
    receive(backend_tcp(backend, 8080, snat_port, kTcpSyn | kTcpAck, 50, 2), first);
    for (unsigned i = 0; i < 3; ++i) poll((first + i) % 3);
    for (uint16_t q = 0; q < 3; ++q) {
      if (q == w) continue;
      EXPECT_TRUE(sent(q).empty()) << "queue " << q;
    }
    const Bytes back = one_sent(w);
    if (back.empty()) continue;
    expect_to_client(back, fam().vip_nat);
    EXPECT_EQ(parse_tcp(back)->dport, cport);
  }
  uint64_t drops = 0;
  for (unsigned w = 0; w < 3; ++w) drops += dropped_total(w);
  EXPECT_EQ(drops, 0u);
}

// A client's segment that lands on another worker's queue than its SYN did (a NIC whose RSS
// table changed; af_packet's fanout rolls packets of a full queue over to the next) reaches the
// worker that has the flow, and leaves through the flow's own SNAT port: no second mapping.
TEST_P(L4Pipeline, ClientSegmentOnAnotherWorkersQueueReachesItsFlow) {
  start_workers(2, node_timeouts());
  receive(client_tcp(fam().vip_nat, 42100, 80, kTcpSyn, 1), 0);
  poll(0);
  const Bytes syn = one_sent(0);
  const std::string backend = expect_to_backend(syn, 8080);
  const uint16_t snat_port = parse_tcp(syn)->sport;

  receive(client_tcp(fam().vip_nat, 42100, 80, kTcpAck, 2, 51, text("GET")), 1);
  poll(1);
  EXPECT_TRUE(sent(1).empty()) << "worker 1 does not send it";
  poll(0);
  const Bytes on = one_sent(0);
  EXPECT_EQ(expect_to_backend(on, 8080), backend);
  EXPECT_EQ(parse_tcp(on)->sport, snat_port) << "the flow's SNAT port";
  EXPECT_EQ(worker(1).counters.handoffs_out.get(), 1u);
  EXPECT_EQ(worker(0).counters.handoffs_in.get(), 1u);
  EXPECT_EQ(worker(1).counters.new_flows.get(), 0u) << "no flow opened on worker 1";
  EXPECT_EQ(worker(1).counters.conns.get(), 0u);

  // A segment no worker knows: asked of both, then the client gets a reset.
  receive(client_tcp(fam().vip_nat, 42101, 80, kTcpAck, 2, 51), 1);
  poll(1);
  poll(0);
  const Bytes rst = one_sent(0);
  const auto tcp = parse_tcp(rst);
  ASSERT_TRUE(tcp) << hex(rst);
  EXPECT_EQ(tcp->flags, kTcpRst);
  EXPECT_EQ(tcp->dport, 42101);
  EXPECT_EQ(parse_ip(rst)->dst, fam().client);
  EXPECT_EQ(dropped_total(0) + dropped_total(1), 0u);
}

// ---- Snapshot republish ---------------------------------------------------------------------

TEST_P(L4Pipeline, RemovedBackendResetsItsFlowsAndKeptBackendKeepsTheirs) {
  const std::vector<Flow> flows = flows_to_each_backend();
  ASSERT_EQ(flows.size(), 2u) << "no two client ports reached different backends";
  const Flow& gone = flows[0];
  const Flow& kept = flows[1];

  const uint64_t conns_before = worker().counters.conns.get();
  ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml(gone.backend)));

  // The flow to the removed backend gets a reset (RFC 9293: seq = the segment's ACK).
  receive(client_tcp(fam().vip_nat, gone.cport, 80, kTcpAck, gone.next_seq, 9001, text("x")));
  poll();
  const Bytes rst = one_sent();
  const auto eth = parse_eth(rst);
  const auto ip = parse_ip(rst);
  const auto tcp = parse_tcp(rst);
  ASSERT_TRUE(eth && ip && tcp) << hex(rst);
  EXPECT_EQ(eth->dst, kRouter);
  EXPECT_EQ(ip->src, fam().vip_nat);
  EXPECT_EQ(ip->dst, fam().client);
  EXPECT_TRUE(ip->checksum_ok);
  EXPECT_TRUE(tcp->checksum_ok);
  EXPECT_EQ(tcp->flags, kTcpRst);
  EXPECT_EQ(tcp->seq, 9001u);
  EXPECT_EQ(tcp->sport, 80);
  EXPECT_EQ(tcp->dport, gone.cport);
  EXPECT_EQ(worker().counters.backend_gone.get(), 1u);
  EXPECT_EQ(replies(nf::ReplyKind::kTcpReset), 1u);

  // The flow to the kept backend carries on, through the same SNAT port.
  receive(client_tcp(fam().vip_nat, kept.cport, 80, kTcpAck, kept.next_seq, 9001, text("y")));
  poll();
  const Bytes on = one_sent();
  EXPECT_EQ(expect_to_backend(on, 8080), kept.backend);
  EXPECT_EQ(parse_tcp(on)->sport, kept.snat_port);

  // New flows only go to what is left.
  receive(client_tcp(fam().vip_nat, 41000, 80, kTcpSyn, 1));
  poll();
  EXPECT_EQ(expect_to_backend(one_sent(), 8080), kept.backend);
  EXPECT_EQ(worker().counters.conns.get(), conns_before) << "one flow reset, one new";
  EXPECT_EQ(dropped_total(), 0u);
}

// Per service port and backend counts through the worker loop: a republish of the same objects
// keeps every slot, so counting goes on where it was; one that removes a backend drops it from
// the stats while the service port and the other backend keep their counts.
TEST_P(L4Pipeline, TrafficCountersAcrossARepublish) {
  const std::vector<Flow> flows = flows_to_each_backend();
  ASSERT_EQ(flows.size(), 2u) << "no two client ports reached different backends";
  const uint64_t opened = worker().counters.new_flows.get();  // a SYN and an ACK each
  const control::TrafficStats st1 = traffic();
  const control::ServiceTraffic* svc1 = service_of(st1, fam().vip_nat, 80);
  ASSERT_NE(svc1, nullptr);
  EXPECT_EQ(svc1->service, "l4/web");
  EXPECT_EQ(svc1->traffic.connections, opened);
  EXPECT_EQ(svc1->traffic.packets_in, 2 * opened);
  EXPECT_EQ(svc1->traffic.packets_out, 0u);
  uint64_t backend_conns = 0;
  for (const auto& b : st1.backends) {
    if (b.address == fam().vip_nat && b.port == 80) backend_conns += b.traffic.connections;
  }
  EXPECT_EQ(backend_conns, opened) << "every connection has its backend";
  const control::BackendTraffic* kept1 = backend_of(st1, fam().vip_nat, 80, flows[1].backend);
  ASSERT_NE(kept1, nullptr);
  const nf::TrafficCounts kept_before = kept1->traffic;
  ASSERT_GE(kept_before.connections, 1u);

  ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml()));
  const Bytes data = client_tcp(fam().vip_nat, flows[1].cport, 80, kTcpAck | kTcpPsh,
                                flows[1].next_seq, 9001, text("GET /"));
  receive(data);
  poll();
  one_sent();
  const Bytes reply =
      backend_tcp(flows[1].backend, 8080, flows[1].snat_port, kTcpAck, 9001, flows[1].next_seq + 5);
  receive(reply);
  poll();
  one_sent();
  const control::TrafficStats st2 = traffic();
  const control::ServiceTraffic* svc2 = service_of(st2, fam().vip_nat, 80);
  const control::BackendTraffic* kept2 = backend_of(st2, fam().vip_nat, 80, flows[1].backend);
  ASSERT_TRUE(svc2 && kept2);
  nf::TrafficCounts want_svc = svc1->traffic;
  want_svc += {1, data.size(), 1, reply.size(), 0};
  EXPECT_EQ(svc2->traffic, want_svc);
  nf::TrafficCounts want_kept = kept_before;
  want_kept += {1, data.size(), 1, reply.size(), 0};
  EXPECT_EQ(kept2->traffic, want_kept);

  // flows[0]'s backend leaves.
  ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml(flows[0].backend)));
  receive(data);
  poll();
  one_sent();
  const control::TrafficStats st3 = traffic();
  EXPECT_EQ(backend_of(st3, fam().vip_nat, 80, flows[0].backend), nullptr);
  const control::BackendTraffic* kept3 = backend_of(st3, fam().vip_nat, 80, flows[1].backend);
  const control::ServiceTraffic* svc3 = service_of(st3, fam().vip_nat, 80);
  ASSERT_TRUE(svc3 && kept3);
  want_kept += {1, data.size(), 0, 0, 0};
  want_svc += {1, data.size(), 0, 0, 0};
  EXPECT_EQ(kept3->traffic, want_kept);
  EXPECT_EQ(svc3->traffic, want_svc);
  bool vip_found = false;
  for (const auto& v : st3.vips) {
    if (v.address != fam().vip_nat) continue;
    vip_found = true;
    EXPECT_GE(v.traffic.packets_in, svc3->traffic.packets_in) << "the VIP sums its ports";
  }
  EXPECT_TRUE(vip_found);
}

TEST_P(L4Pipeline, RemovedBackendsUdpFlowIsBalancedAgain) {
  // A UDP flow to the backend about to go, and one to the backend that stays.
  struct UdpFlow {
    uint16_t cport;
    uint16_t snat_port;
  };
  std::optional<UdpFlow> to_gone;
  const std::string& gone = fam().backends[0];
  const std::string& kept = fam().backends[1];
  for (uint16_t cport = 6000; cport < 6064 && !to_gone; ++cport) {
    receive(client_udp(fam().vip_udp, cport, 53, text("q")));
    poll();
    const Bytes out = one_sent();
    if (expect_to_backend(out, 5353) == gone) to_gone = UdpFlow{cport, parse_udp(out)->sport};
  }
  ASSERT_TRUE(to_gone) << "no client port reached " << gone;

  ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml(gone)));
  receive(client_udp(fam().vip_udp, to_gone->cport, 53, text("again")));
  poll();
  const Bytes out = one_sent();
  EXPECT_EQ(expect_to_backend(out, 5353), kept);
  EXPECT_EQ(worker().counters.backend_gone.get(), 1u);
  EXPECT_EQ(replies(nf::ReplyKind::kTcpReset), 0u);
  // The new record answers on its own SNAT port; the old one no longer translates.
  const uint16_t snat_port = parse_udp(out)->sport;
  receive(backend_udp(kept, 5353, snat_port, text("answer")));
  poll();
  expect_to_client(one_sent(), fam().vip_udp);
  receive(backend_udp(gone, 5353, to_gone->snat_port, text("late")));
  poll();
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(dropped(nf::DropReason::kNoConnection), 1u);
}

// ---- expiry ---------------------------------------------------------------------------------

TEST_P(L4Pipeline, IdleUdpFlowExpiresInTheWorkersSweep) {
  const uint64_t ms = tsc_hz_ / 1000;
  const uint64_t long_time = 3600 * 1000 * ms;
  start_workers(1, {long_time, long_time, long_time, 50 * ms});
  receive(client_udp(fam().vip_udp, 5002, 53, text("query")));
  poll();
  const Bytes q = one_sent();
  const std::string backend = expect_to_backend(q, 5353);
  const uint16_t snat_port = parse_udp(q)->sport;
  EXPECT_EQ(worker().counters.conns.get(), 1u);
  EXPECT_EQ(worker().counters.expired.get(), 0u);

  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  // The sweep looks at expire_budget records a loop: one pass over the table is enough.
  const uint32_t loops = conns_[0]->capacity() / worker().expire_budget + 1;
  for (uint32_t i = 0; i < loops && worker().counters.expired.get() == 0; ++i) poll();
  EXPECT_EQ(worker().counters.expired.get(), 1u);
  EXPECT_EQ(worker().counters.conns.get(), 0u);
  EXPECT_EQ(conns_[0]->size(), 0u);

  // The backend's late answer no longer finds a flow.
  receive(backend_udp(backend, 5353, snat_port, text("late")));
  poll();
  EXPECT_TRUE(sent().empty());
  EXPECT_EQ(dropped(nf::DropReason::kNoConnection), 1u);
}

// ---- L7: a Gateway HTTP listener ------------------------------------------------------------
//
// Gateway l4/gw on 203.0.113.30 / 2001:db8:200::30 port 80, one HTTPRoute for app.example to
// l4/web port 80 (the backends .21/.22 on 8080), through the same YAML -> plan -> Snapshot path.

std::string gateway_yaml() {
  return R"(---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: l4}
spec:
  gatewayClassName: portico
  addresses: [{value: 203.0.113.30}, {value: "2001:db8:200::30"}]
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: l4}
spec:
  parentRefs: [{name: gw}]
  hostnames: [app.example]
  rules:
    - backendRefs: [{name: web, port: 80}]
)";
}

TEST_P(L4Pipeline, L7CookieHandshakeHeadInTwoSegmentsBackendSynSpliceBothWaysAndFin) {
  ASSERT_NO_FATAL_FAILURE(publish_config(config_yaml() + gateway_yaml()));
  EXPECT_EQ(built_.l7_ports, 2u);
  nf::l7::WorkerState state(64, 8, tsc_hz_);
  nf::l7::CookieSecrets secrets;
  lcore::WorkerContext& w = worker();
  w.l7 = w.l4.l7 = &state;
  w.secrets = w.l4.secrets = &secrets;
  w.pool = g_pool;
  const std::string gw = fam().v6 ? "2001:db8:200::30" : "203.0.113.30";
  const uint16_t cport = 41000;

  // SYN -> SYN-ACK with the cookie, no state.
  receive(client_tcp(gw, cport, 80, kTcpSyn, 5000));
  poll();
  const auto sa = parse_tcp(one_sent());
  ASSERT_TRUE(sa);
  EXPECT_TRUE(sa->checksum_ok);
  EXPECT_EQ(sa->flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(sa->ack, 5001u);
  const uint32_t cookie = sa->seq;
  EXPECT_EQ(w.counters.conns.get(), 0u);

  // The head in two segments: the first is acknowledged.
  const std::string head = "GET /x HTTP/1.1\r\nHost: app.example\r\nAccept: */*\r\n\r\n";
  const std::string part1 = head.substr(0, 20), part2 = head.substr(20);
  receive(client_tcp(gw, cport, 80, kTcpAck | kTcpPsh, 5001, cookie + 1, text(part1)));
  poll();
  const auto ack1 = parse_tcp(one_sent());
  ASSERT_TRUE(ack1);
  EXPECT_EQ(ack1->ack, 5001u + part1.size());
  EXPECT_EQ(ack1->seq, cookie + 1);

  // The rest: a SYN to a backend from the SNAT address, and the client's ACK (an extra mbuf).
  receive(client_tcp(gw, cport, 80, kTcpAck | kTcpPsh, 5001 + static_cast<uint32_t>(part1.size()),
                     cookie + 1, text(part2)));
  poll();
  const auto out = sent();
  ASSERT_EQ(out.size(), 2u);
  const auto syn = parse_tcp(out[0].bytes);
  const auto syn_ip = parse_ip(out[0].bytes);
  ASSERT_TRUE(syn && syn_ip);
  EXPECT_TRUE(syn->checksum_ok);
  EXPECT_EQ(syn->flags, kTcpSyn);
  EXPECT_EQ(syn->dport, 8080);
  EXPECT_EQ(syn_ip->src, fam().snat);
  ASSERT_TRUE(contains(fam().backends, syn_ip->dst));
  EXPECT_EQ(parse_eth(out[0].bytes)->dst, backend_mac(syn_ip->dst, fam().v6));
  const auto head_ack = parse_tcp(out[1].bytes);
  ASSERT_TRUE(head_ack);
  EXPECT_EQ(head_ack->ack, 5001u + head.size());
  const std::string backend = syn_ip->dst;
  const uint16_t snat_port = syn->sport;
  const uint32_t pisn = syn->seq;

  // The backend's SYN-ACK: the head is replayed (Connection: close is not needed: one route).
  receive(backend_tcp(backend, 8080, snat_port, kTcpSyn | kTcpAck, 9000, pisn + 1));
  poll();
  const Bytes replay_frame = one_sent();
  const auto replay = parse_tcp(replay_frame);
  ASSERT_TRUE(replay);
  EXPECT_TRUE(replay->checksum_ok);
  EXPECT_EQ(replay->seq, pisn + 1);
  EXPECT_EQ(replay->ack, 9001u);
  EXPECT_EQ(std::string(replay->payload.begin(), replay->payload.end()), head);
  const uint32_t hb = static_cast<uint32_t>(replay->payload.size());

  // Backend -> client, spliced.
  const std::string body = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  receive(ip_frame(port_mac_, backend_mac(backend, fam().v6), backend, fam().snat)
              .tcp_segment({.sport = 8080,
                            .dport = snat_port,
                            .seq = 9001,
                            .ack = pisn + 1 + hb,
                            .flags = kTcpAck | kTcpPsh,
                            .payload = text(body)})
              .bytes());
  poll();
  const Bytes to_client = one_sent();
  const auto c_ip = parse_ip(to_client);
  const auto c_tcp = parse_tcp(to_client);
  ASSERT_TRUE(c_ip && c_tcp);
  EXPECT_EQ(parse_eth(to_client)->dst, kRouter);
  EXPECT_EQ(c_ip->src, gw);
  EXPECT_EQ(c_ip->dst, fam().client);
  EXPECT_TRUE(c_ip->checksum_ok);
  EXPECT_TRUE(c_tcp->checksum_ok);
  EXPECT_EQ(c_tcp->sport, 80);
  EXPECT_EQ(c_tcp->dport, cport);
  EXPECT_EQ(c_tcp->seq, cookie + 1);
  EXPECT_EQ(c_tcp->ack, 5001u + head.size());
  EXPECT_EQ(std::string(c_tcp->payload.begin(), c_tcp->payload.end()), body);

  // Client FIN -> backend, spliced.
  receive(client_tcp(gw, cport, 80, kTcpFin | kTcpAck, 5001 + static_cast<uint32_t>(head.size()),
                     cookie + 1 + static_cast<uint32_t>(body.size())));
  poll();
  const Bytes fin = one_sent();
  const auto f_tcp = parse_tcp(fin);
  ASSERT_TRUE(f_tcp);
  EXPECT_TRUE(f_tcp->checksum_ok);
  EXPECT_EQ(f_tcp->flags, kTcpFin | kTcpAck);
  EXPECT_EQ(f_tcp->seq, pisn + 1 + hb);
  EXPECT_EQ(f_tcp->ack, 9001u + body.size());
  EXPECT_EQ(parse_ip(fin)->dst, backend);

  // Backend FIN -> client.
  receive(backend_tcp(backend, 8080, snat_port, kTcpFin | kTcpAck,
                      9001 + static_cast<uint32_t>(body.size()), pisn + 2 + hb));
  poll();
  const auto bf = parse_tcp(one_sent());
  ASSERT_TRUE(bf);
  EXPECT_EQ(bf->flags, kTcpFin | kTcpAck);
  EXPECT_EQ(bf->seq, cookie + 1 + body.size());
  EXPECT_EQ(bf->ack, 5002u + head.size());

  EXPECT_EQ(state.counters.spliced, 1u);
  EXPECT_EQ(w.counters.l7[offsetof(nf::l7::Counters, spliced) / sizeof(uint64_t)].get(), 1u);
  EXPECT_EQ(dropped_total(), 0u);
  w.l7 = w.l4.l7 = nullptr;
  w.secrets = w.l4.secrets = nullptr;
}

INSTANTIATE_TEST_SUITE_P(Families, L4Pipeline, ::testing::Values(kIpv4, kIpv6),
                         [](const ::testing::TestParamInfo<Family>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace

