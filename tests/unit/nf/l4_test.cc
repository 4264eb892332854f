// The L4 path (nf/l4.cc) through handle_frame(): packet in, verdict and packet out.
//
// One test network (Net) and one hand-built set of lb::Tables: on an IPv4 and an IPv6 VIP, a TCP
// and a UDP service port in each mode (nat, dsr, ipip), a three-backend nat port, a port with a
// terminating backend, a port behind a router, a port whose next hop is unresolved and ports
// with no endpoint. Each Env is a fresh worker: its own ConnTable (small, time injected), the
// NeighborTable with the backends' MACs learned, and an L4Context.
//
// Scenarios are tables in the style of Katran's test fixtures: each step is a description, an
// input frame, the expected verdict and, for forwarded and replied frames, the exact expected
// output frame built by tests/common/packet_builder.h (whose checksums are a second, plain
// implementation). Steps of one scenario share the worker's state, so a SYN creates the flow
// the next steps use. Every step also checks what holds for any verdict: dropped and handed-off
// frames are unchanged, and every checksum of an output frame (IPv4 header, TCP, UDP, ICMP,
// ICMPv6, the header of a quoted packet, the inner packet of a tunnel) is valid by a full
// recomputation. State that a table cannot express (generation changes, a full table, neighbor
// learning) has its own tests below the tables.
#include <gtest/gtest.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstddef>  // before nf/address_table.h, which uses size_t
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nf/address_table.h"
#include "nf/conn_table.h"
#include "nf/frame_handler.h"
#include "nf/lb_tables.h"
#include "nf/neighbor_table.h"
#include "nf/traffic.h"
#include "tests/common/packet_builder.h"

namespace nf {
namespace {

using pkt::Bytes;
using pkt::Frame;
using pkt::TcpFields;

// ---- the test network -------------------------------------------------------------------

struct Net {
  pkt::Mac port0_mac = pkt::mac("02:00:00:00:00:01");
  pkt::Mac port1_mac = pkt::mac("02:00:00:00:00:02");
  pkt::Mac client_mac = pkt::mac("02:aa:00:00:00:20");  // the client's side (its router)
  pkt::Mac router_mac = pkt::mac("02:00:5e:00:00:01");  // 198.51.100.1, gateway to 198.18/15
  pkt::Mac be1_mac = pkt::mac("02:be:00:00:00:21");
  pkt::Mac be2_mac = pkt::mac("02:be:00:00:00:22");
  pkt::Mac be3_mac = pkt::mac("02:be:00:00:00:23");
  pkt::Mac tun_mac = pkt::mac("02:be:00:00:00:31");  // IPIP backend, on port 1
  pkt::Mac be1_6_mac = pkt::mac("02:be:06:00:00:21");
  pkt::Mac be2_6_mac = pkt::mac("02:be:06:00:00:22");
  pkt::Mac tun6_mac = pkt::mac("02:be:06:00:00:31");

  pkt::Ip4 vip = pkt::ip4("203.0.113.10");
  pkt::Ip4 snat = pkt::ip4("198.51.100.11");
  pkt::Ip4 node0 = pkt::ip4("198.51.100.10");  // interface addresses
  pkt::Ip4 node1 = pkt::ip4("192.0.2.10");
  pkt::Ip4 client = pkt::ip4("198.18.7.20");
  pkt::Ip4 router = pkt::ip4("198.51.100.1");
  pkt::Ip4 be1 = pkt::ip4("198.51.100.21");
  pkt::Ip4 be2 = pkt::ip4("198.51.100.22");
  pkt::Ip4 be3 = pkt::ip4("198.51.100.23");
  pkt::Ip4 be_far = pkt::ip4("198.18.0.5");            // via router
  pkt::Ip4 be_unresolved = pkt::ip4("198.51.100.29");  // next hop never learned
  pkt::Ip4 tun = pkt::ip4("192.0.2.31");

  pkt::Ip6 vip6 = pkt::ip6("2001:db8:200::10");
  pkt::Ip6 snat6 = pkt::ip6("2001:db8:100::11");
  pkt::Ip6 node0_6 = pkt::ip6("2001:db8:100::10");
  pkt::Ip6 node1_6 = pkt::ip6("2001:db8:300::10");
  pkt::Ip6 client6 = pkt::ip6("2001:db8:700::20");
  pkt::Ip6 router6 = pkt::ip6("2001:db8:700::1");
  pkt::Ip6 be1_6 = pkt::ip6("2001:db8:100::21");
  pkt::Ip6 be2_6 = pkt::ip6("2001:db8:100::22");
  pkt::Ip6 be_unresolved6 = pkt::ip6("2001:db8:100::29");
  pkt::Ip6 tun6 = pkt::ip6("2001:db8:300::31");
};

const Net& net() {
  static const Net n;
  return n;
}

// NeighborTable indices of the next hops.
constexpr uint16_t kNhBe1 = 1, kNhBe2 = 2, kNhBe3 = 3, kNhTun = 5, kNhRouter = 7, kNhUnresolved = 9,
                   kNhBe1v6 = 11, kNhBe2v6 = 12, kNhTun6 = 15, kNhUnresolved6 = 19;

constexpr uint64_t kNow = 1'000'000;
constexpr uint64_t kRequestInterval = 1'000;
constexpr uint16_t kHeadroom = 64;
constexpr ConnTable::Timeouts kTimeouts{10'000, 1'000'000, 10'000, 100'000};

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

lb::Addr addr_of(const pkt::Ip4& a) {
  lb::Addr out{};
  std::memcpy(out.data(), a.bytes.data(), 4);
  return out;
}
lb::Addr addr_of(const pkt::Ip6& a) { return a.bytes; }

// ---- the tables ---------------------------------------------------------------------------

struct BackendDef {
  lb::Addr addr;
  bool v6;
  uint16_t port;  // host order
  uint32_t id;
  uint16_t nexthop;
  uint8_t port_index = 0;
  bool terminating = false;
};

struct ServiceDef {
  lb::Addr vip;
  bool v6;
  uint8_t proto;
  uint16_t port;  // host order
  lb::Mode mode;
  std::vector<BackendDef> backends;
};

constexpr uint8_t kTcp = pkt::kProtoTcp;
constexpr uint8_t kUdp = pkt::kProtoUdp;

BackendDef be4(const pkt::Ip4& a, uint16_t port, uint32_t id, uint16_t nh, uint8_t port_index = 0) {
  return {addr_of(a), false, port, id, nh, port_index};
}
BackendDef be6(const pkt::Ip6& a, uint16_t port, uint32_t id, uint16_t nh, uint8_t port_index = 0) {
  return {addr_of(a), true, port, id, nh, port_index};
}

std::vector<ServiceDef> default_services() {
  const Net& n = net();
  const lb::Addr v4 = addr_of(n.vip), v6 = addr_of(n.vip6);
  using lb::Mode;
  return {
      {v4, false, kTcp, 80, Mode::kNat, {be4(n.be1, 8080, 1, kNhBe1)}},
      {v4, false, kUdp, 53, Mode::kNat, {be4(n.be1, 5353, 2, kNhBe1)}},
      {v4, false, kTcp, 1080, Mode::kDsr, {be4(n.be2, 1080, 3, kNhBe2)}},
      {v4, false, kUdp, 1053, Mode::kDsr, {be4(n.be2, 1053, 4, kNhBe2)}},
      {v4, false, kTcp, 2080, Mode::kIpip, {be4(n.tun, 2080, 5, kNhTun, 1)}},
      {v4, false, kUdp, 2053, Mode::kIpip, {be4(n.tun, 2053, 6, kNhTun, 1)}},
      {v4,
       false,
       kTcp,
       90,
       Mode::kNat,
       {be4(n.be1, 8080, 21, kNhBe1), be4(n.be2, 8080, 22, kNhBe2), be4(n.be3, 8080, 23, kNhBe3)}},
      {v4,
       false,
       kUdp,
       90,
       Mode::kNat,
       {be4(n.be1, 5353, 31, kNhBe1), be4(n.be2, 5353, 32, kNhBe2), be4(n.be3, 5353, 33, kNhBe3)}},
      {v4,
       false,
       kTcp,
       91,
       Mode::kNat,
       {be4(n.be1, 8080, 41, kNhBe1), be4(n.be2, 8080, 42, kNhBe2), be4(n.be3, 8080, 43, kNhBe3)}},
      {v4,
       false,
       kUdp,
       1090,
       Mode::kDsr,
       {be4(n.be1, 1090, 71, kNhBe1), be4(n.be2, 1090, 72, kNhBe2), be4(n.be3, 1090, 73, kNhBe3)}},
      {v4, false, kTcp, 85, Mode::kNat, {be4(n.be_far, 8080, 51, kNhRouter)}},
      {v4, false, kTcp, 99, Mode::kNat, {be4(n.be_unresolved, 8080, 61, kNhUnresolved)}},
      {v4, false, kUdp, 99, Mode::kDsr, {be4(n.be_unresolved, 99, 62, kNhUnresolved)}},
      {v4, false, kTcp, 443, Mode::kNat, {}},
      {v4, false, kUdp, 443, Mode::kNat, {}},
      {v6, true, kTcp, 80, Mode::kNat, {be6(n.be1_6, 8080, 101, kNhBe1v6)}},
      {v6, true, kUdp, 53, Mode::kNat, {be6(n.be1_6, 5353, 102, kNhBe1v6)}},
      {v6, true, kTcp, 1080, Mode::kDsr, {be6(n.be2_6, 1080, 103, kNhBe2v6)}},
      {v6, true, kUdp, 1053, Mode::kDsr, {be6(n.be2_6, 1053, 104, kNhBe2v6)}},
      {v6, true, kTcp, 2080, Mode::kIpip, {be6(n.tun6, 2080, 105, kNhTun6, 1)}},
      {v6, true, kUdp, 2053, Mode::kIpip, {be6(n.tun6, 2053, 106, kNhTun6, 1)}},
      {v6, true, kTcp, 443, Mode::kNat, {}},
      {v6, true, kTcp, 99, Mode::kNat, {be6(n.be_unresolved6, 8080, 161, kNhUnresolved6)}},
  };
}

// Next hops and the MACs the Env has learned for them (empty: unresolved).
struct NextHopDef {
  lb::Addr addr;
  bool v6;
  uint16_t index;
  std::optional<pkt::Mac> mac;
};

std::vector<NextHopDef> next_hops() {
  const Net& n = net();
  return {
      {addr_of(n.be1), false, kNhBe1, n.be1_mac},
      {addr_of(n.be2), false, kNhBe2, n.be2_mac},
      {addr_of(n.be3), false, kNhBe3, n.be3_mac},
      {addr_of(n.tun), false, kNhTun, n.tun_mac},
      {addr_of(n.router), false, kNhRouter, n.router_mac},
      {addr_of(n.be_unresolved), false, kNhUnresolved, std::nullopt},
      {addr_of(n.be1_6), true, kNhBe1v6, n.be1_6_mac},
      {addr_of(n.be2_6), true, kNhBe2v6, n.be2_6_mac},
      {addr_of(n.tun6), true, kNhTun6, n.tun6_mac},
      {addr_of(n.be_unresolved6), true, kNhUnresolved6, std::nullopt},
  };
}

// A Maglev table by hand: the usable (non-terminating) backends in turn, 13 entries.
std::vector<uint16_t> round_robin(const std::vector<BackendDef>& backends) {
  std::vector<uint16_t> usable;
  for (uint16_t i = 0; i < backends.size(); ++i) {
    if (!backends[i].terminating) usable.push_back(i);
  }
  std::vector<uint16_t> table;
  if (usable.empty()) return table;
  for (size_t i = 0; i < 13; ++i) table.push_back(usable[i % usable.size()]);
  return table;
}

// Traffic counter slots as a builder would give them: service ports by position (slot i + 1,
// owner id 1000 + i), backends by id (slot = id, owner = id).
constexpr uint32_t kServiceIdBase = 1000;

std::unique_ptr<lb::Tables> make_tables(const std::vector<ServiceDef>& services) {
  const Net& n = net();
  auto t = std::make_unique<lb::Tables>();
  for (size_t i = 0; i < services.size(); ++i) {
    const ServiceDef& s = services[i];
    lb::Service svc;
    svc.stats_slot = static_cast<uint16_t>(i + 1);
    svc.stats_id = static_cast<uint32_t>(kServiceIdBase + i);
    svc.vip = s.vip;
    svc.v6 = s.v6;
    svc.proto = s.proto;
    svc.port = be16(s.port);
    svc.mode = s.mode;
    std::vector<lb::Backend> backends;
    for (const BackendDef& d : s.backends) {
      lb::Backend b;
      b.addr = d.addr;
      b.v6 = d.v6;
      b.port = be16(d.port);
      b.id = d.id;
      b.nexthop = d.nexthop;
      b.port_index = d.port_index;
      b.terminating = d.terminating;
      b.stats_slot = static_cast<uint16_t>(d.id);
      backends.push_back(b);
    }
    t->add_service(svc, backends, round_robin(s.backends), "");
  }
  t->add_snat(addr_of(n.snat), false);
  t->add_snat(addr_of(n.snat6), true);
  t->set_interface_address(0, addr_of(n.node0), false);
  t->set_interface_address(0, addr_of(n.node0_6), true);
  t->set_interface_address(1, addr_of(n.node1), false);
  t->set_interface_address(1, addr_of(n.node1_6), true);
  for (const NextHopDef& h : next_hops()) t->add_nexthop(h.addr, h.v6, h.index);
  t->finalize();
  return t;
}

std::vector<ServiceDef> without_backend(std::vector<ServiceDef> services, uint32_t id) {
  for (ServiceDef& s : services) {
    std::erase_if(s.backends, [id](const BackendDef& b) { return b.id == id; });
  }
  return services;
}

std::vector<ServiceDef> with_backend_changed(std::vector<ServiceDef> services, uint32_t id,
                                             void (*change)(BackendDef&)) {
  for (ServiceDef& s : services) {
    for (BackendDef& b : s.backends) {
      if (b.id == id) change(b);
    }
  }
  return services;
}

// ---- a worker -----------------------------------------------------------------------------

struct Env {
  explicit Env(uint32_t conn_capacity = 64, uint16_t worker = 0, uint16_t workers = 1)
      : tables(make_tables(default_services())),
        conns(conn_capacity, kTimeouts),
        neighbors(32),
        traffic(std::make_unique<TrafficTable>()) {
    const Net& n = net();
    const auto add4 = [this](const pkt::Ip4& a, uint8_t flags) {
      addresses.add_v4(a.be(), AddressInfo{flags, 0b11});
    };
    const auto add6 = [this](const pkt::Ip6& a, uint8_t flags) {
      addresses.add_v6(a.data(), AddressInfo{flags, 0b11});
    };
    add4(n.vip, kAddrVip);
    add4(n.snat, kAddrSnat);
    add4(n.node0, kAddrNode);
    add4(n.node1, kAddrNode);
    add6(n.vip6, kAddrVip);
    add6(n.snat6, kAddrSnat);
    add6(n.node0_6, kAddrNode);
    add6(n.node1_6, kAddrNode);
    addresses.finalize();

    ports[0].mac = pkt::ether(n.port0_mac);
    ports[0].index = 0;
    ports[1].mac = pkt::ether(n.port1_mac);
    ports[1].index = 1;

    for (const NextHopDef& h : next_hops()) {
      if (h.mac) neighbors.learn(h.index, h.mac->bytes.data(), kNow - 100);
    }

    l4.tables = tables.get();
    l4.generation = 1;
    l4.conns = &conns;
    l4.neighbors = &neighbors;
    l4.now = kNow;
    l4.request_interval = kRequestInterval;
    l4.worker = worker;
    l4.workers = workers;
    l4.port_mac[0] = ports[0].mac;
    l4.port_mac[1] = ports[1].mac;
    l4.mtu[0] = 1500;
    l4.mtu[1] = 1500;
    l4.traffic = traffic.get();
  }

  // A new Snapshot: other tables, the next generation.
  void install(std::vector<ServiceDef> services) {
    old_tables.push_back(std::move(tables));
    tables = make_tables(services);
    l4.tables = tables.get();
    ++l4.generation;
  }

  std::unique_ptr<lb::Tables> tables;
  std::vector<std::unique_ptr<lb::Tables>> old_tables;
  ConnTable conns;
  NeighborTable neighbors;
  AddressTable addresses;
  PortContext ports[2];
  std::unique_ptr<TrafficTable> traffic;
  L4Context l4;
};

// ---- verdicts -------------------------------------------------------------------------------

std::string describe(const Verdict& v) {
  static constexpr const char* kReplies[] = {"arp_reply", "neighbor_advert", "echo_reply",
                                             "echo_reply_v6", "tcp_reset"};
  static constexpr const char* kForwards[] = {
      "to_backend",      "to_backend_ipip4", "to_backend_ipip6", "to_client",
      "icmp_to_backend", "icmp_to_client",   "reset_to_client"};
  switch (v.action) {
    case Action::kDrop:
      return std::string("drop ") + drop_reason_name(v.drop);
    case Action::kPunt:
      return "punt";
    case Action::kReply: {
      const auto i = static_cast<size_t>(v.reply);
      return std::string("reply ") + (i < std::size(kReplies) ? kReplies[i] : "unknown");
    }
    case Action::kForward: {
      const auto i = static_cast<size_t>(v.forward);
      return std::string("forward ") + (i < std::size(kForwards) ? kForwards[i] : "unknown") +
             " port " + std::to_string(v.port);
    }
    case Action::kHandoff:
      return "handoff to worker " + std::to_string(v.port);
    case Action::kHold: {
      const auto i = static_cast<size_t>(v.forward);
      return std::string("hold ") + (i < std::size(kForwards) ? kForwards[i] : "unknown") +
             " port " + std::to_string(v.port);
    }
  }
  return "unknown action " + std::to_string(static_cast<int>(v.action));
}

Verdict dropped(DropReason r) {
  Verdict v;
  v.action = Action::kDrop;
  v.drop = r;
  return v;
}
Verdict forwarded(ForwardKind k, uint8_t port = 0) {
  Verdict v;
  v.action = Action::kForward;
  v.forward = k;
  v.port = port;
  return v;
}
Verdict held(ForwardKind k, uint8_t port = 0) {
  Verdict v;
  v.action = Action::kHold;
  v.forward = k;
  v.port = port;
  return v;
}
Verdict handed_off(uint8_t worker) {
  Verdict v;
  v.action = Action::kHandoff;
  v.port = worker;
  return v;
}
Verdict reset() {
  Verdict v;
  v.action = Action::kReply;
  v.reply = ReplyKind::kTcpReset;
  return v;
}

// "" when equal, else where the frames differ (takes frames under construction as well).
std::string diff(const Bytes& got, const Bytes& want) { return pkt::first_difference(got, want); }

// ---- checksums by full recomputation --------------------------------------------------------

bool header_sum_ok(std::span<const uint8_t> header) {
  return pkt::fold16(pkt::sum16(header)) == 0xffff;
}

// Every checksum in an output frame: the IPv4 header, TCP/UDP (IPv4 UDP may carry 0), ICMP and
// ICMPv6 over the whole message, the header of the IPv4 packet an ICMP error quotes, and,
// recursively, the packet inside a tunnel.
void expect_checksums_valid(std::span<const uint8_t> f) {
  const auto eth = pkt::parse_eth(f);
  ASSERT_TRUE(eth);
  if (eth->type == pkt::kEtherTypeArp) return;
  const auto t = pkt::transport_of(f);
  ASSERT_TRUE(t) << "not a well-formed IP packet:\n" << pkt::hex(f);
  if (eth->type == pkt::kEtherTypeIpv4) {
    const auto ip = pkt::parse_ipv4(f);
    EXPECT_TRUE(ip->checksum_ok) << "IPv4 header checksum";
  }
  switch (t->protocol) {
    case pkt::kProtoTcp: {
      const auto tcp = pkt::parse_tcp(f);
      ASSERT_TRUE(tcp);
      EXPECT_TRUE(tcp->checksum_ok) << "TCP checksum";
      break;
    }
    case pkt::kProtoUdp: {
      const auto udp = pkt::parse_udp(f);
      ASSERT_TRUE(udp);
      const bool none = eth->type == pkt::kEtherTypeIpv4 && udp->checksum == 0;
      EXPECT_TRUE(none || udp->checksum_ok) << "UDP checksum";
      if (eth->type == pkt::kEtherTypeIpv6) {
        EXPECT_NE(udp->checksum, 0) << "IPv6 UDP needs one";
      }
      break;
    }
    case pkt::kProtoIcmp: {
      const auto icmp = pkt::parse_icmp(f);
      ASSERT_TRUE(icmp);
      EXPECT_TRUE(icmp->checksum_ok) << "ICMP checksum";
      if ((icmp->type == 3 || icmp->type == 11) && icmp->data.size() >= 20) {
        const size_t ihl = (icmp->data[0] & 0x0f) * 4u;
        ASSERT_LE(ihl, icmp->data.size());
        EXPECT_TRUE(header_sum_ok(icmp->data.subspan(0, ihl))) << "quoted IPv4 header checksum";
      }
      break;
    }
    case pkt::kProtoIcmpv6: {
      const auto icmp = pkt::parse_icmp6(f);
      ASSERT_TRUE(icmp);
      EXPECT_TRUE(icmp->checksum_ok) << "ICMPv6 checksum";
      break;
    }
    case pkt::kProtoIpip:
    case pkt::kProtoIpv6Encap: {
      const auto inner = pkt::decapsulate(f);
      ASSERT_TRUE(inner);
      expect_checksums_valid(*inner);
      break;
    }
    default:
      ADD_FAILURE() << "unexpected protocol " << int{t->protocol};
  }
}

// ---- running one frame ----------------------------------------------------------------------

struct Result {
  Verdict verdict;
  Bytes out;  // the frame after the call, from its (possibly moved) start
};

// Runs one frame through handle_frame() on a buffer with `headroom` bytes before the frame and
// 256 after it (both filled with a pattern), and checks what must hold whatever the verdict.
// hinted: first what a worker does for the frames of a burst (flow_hint(), the bucket prefetch,
// flow_prefetch()), so the frame is handled with its hint as in a worker.
Result run(Env& e, const Bytes& in, uint8_t port = 0, uint16_t headroom = kHeadroom,
           bool hinted = false) {
  constexpr size_t kTail = 256;
  Bytes buf(headroom + in.size() + kTail, 0xa5);
  std::copy(in.begin(), in.end(), buf.begin() + headroom);
  uint8_t* const frame = buf.data() + headroom;
  uint16_t len = static_cast<uint16_t>(in.size());
  const uint16_t room = static_cast<uint16_t>(in.size() + kTail);
  if (hinted) {
    e.l4.new_flows_hinted = 0;
    flow_hint(frame, len, &e.l4.hint);
    if (e.l4.hint.l4_offset != 0) e.conns.prefetch_bucket(e.l4.hint.hash);
    flow_prefetch(frame, &e.l4.hint, e.l4);
  }
  Result r;
  r.verdict = handle_frame(frame, &len, room, headroom, e.ports[port], e.addresses, &e.l4);
  e.l4.hint = {};
  const bool sends = r.verdict.action == Action::kForward || r.verdict.action == Action::kHold;
  const uint16_t prepended = sends ? forward_prepended(r.verdict.forward) : 0;
  EXPECT_LE(prepended, headroom);
  EXPECT_LE(len, room + prepended);
  if (prepended > headroom || len > room + prepended) return r;
  r.out.assign(frame - prepended, frame - prepended + len);
  switch (r.verdict.action) {
    case Action::kDrop:
    case Action::kPunt:
    case Action::kHandoff:
      EXPECT_EQ(diff(r.out, in), "") << "frames not sent on stay unchanged";
      break;
    case Action::kForward:
    case Action::kHold:  // everything but the Ethernet addresses is final
    case Action::kReply:
      expect_checksums_valid(r.out);
      break;
  }
  return r;
}

// ---- frames of the test network ---------------------------------------------------------------

TcpFields seg(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack = 0,
              const Bytes& payload = {}) {
  TcpFields f;
  f.sport = sport;
  f.dport = dport;
  f.flags = flags;
  f.seq = seq;
  f.ack = ack;
  f.payload = payload;
  return f;
}

constexpr uint8_t kSyn = pkt::kTcpSyn;
constexpr uint8_t kAck = pkt::kTcpAck;
constexpr uint8_t kFin = pkt::kTcpFin;
constexpr uint8_t kRst = pkt::kTcpRst;
constexpr uint8_t kPsh = pkt::kTcpPsh;
constexpr uint16_t kClientId = 0x04d2;   // IP ID of the client's packets
constexpr uint16_t kBackendId = 0x0077;  // ... of the backends'

// Client -> VIP, as it arrives on port 0, and as Portico must send it to a backend (nat).
Frame from_client(uint8_t ttl = 64) {
  const Net& n = net();
  return Frame::eth(n.port0_mac, n.client_mac)
      .ipv4(n.client, n.vip, ttl)
      .ip_id(kClientId)
      .dont_fragment();
}
Frame nat_to(const pkt::Mac& mac, const pkt::Ip4& backend, uint8_t ttl = 63) {
  const Net& n = net();
  return Frame::eth(mac, n.port0_mac).ipv4(n.snat, backend, ttl).ip_id(kClientId).dont_fragment();
}
// Backend -> SNAT, and as Portico must send it back to the client.
Frame from_backend(const pkt::Mac& mac, const pkt::Ip4& backend, uint8_t ttl = 64) {
  const Net& n = net();
  return Frame::eth(n.port0_mac, mac).ipv4(backend, n.snat, ttl).ip_id(kBackendId).dont_fragment();
}
Frame to_client(uint8_t ttl = 63) {
  const Net& n = net();
  return Frame::eth(n.client_mac, n.port0_mac)
      .ipv4(n.vip, n.client, ttl)
      .ip_id(kBackendId)
      .dont_fragment();
}
// The same four for IPv6.
Frame from_client6(uint8_t hops = 64) {
  const Net& n = net();
  return Frame::eth(n.port0_mac, n.client_mac).ipv6(n.client6, n.vip6, hops);
}
Frame nat_to6(const pkt::Mac& mac, const pkt::Ip6& backend, uint8_t hops = 63) {
  const Net& n = net();
  return Frame::eth(mac, n.port0_mac).ipv6(n.snat6, backend, hops);
}
Frame from_backend6(const pkt::Mac& mac, const pkt::Ip6& backend, uint8_t hops = 64) {
  const Net& n = net();
  return Frame::eth(n.port0_mac, mac).ipv6(backend, n.snat6, hops);
}
Frame to_client6(uint8_t hops = 63) {
  const Net& n = net();
  return Frame::eth(n.client_mac, n.port0_mac).ipv6(n.vip6, n.client6, hops);
}

// A frame with other Ethernet addresses and everything after them unchanged (DSR).
Bytes with_macs(Bytes f, const pkt::Mac& dst, const pkt::Mac& src) {
  std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
  std::copy(src.bytes.begin(), src.bytes.end(), f.begin() + 6);
  return f;
}

// ICMP error bodies: the 4-byte rest of header, then the quoted packet.
Bytes icmp_body(uint32_t rest, const Bytes& quoted) {
  Bytes b(4, 0);
  pkt::put32(b.data(), rest);
  pkt::append(b, quoted);
  return b;
}

constexpr uint16_t kFirstSnatPort = 1024;  // worker 0 of 1: the first SNAT port handed out
const Bytes kMss1460 = {2, 4, 0x05, 0xb4};
const Bytes kRequest = pkt::text("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
const Bytes kResponse = pkt::text("HTTP/1.1 204 No Content\r\n\r\n");

// ---- scenarios ------------------------------------------------------------------------------

struct Step {
  std::string what;
  Bytes in;
  Verdict expect;
  Bytes out;  // the exact frame sent (forward, reply); empty: only the generic checks
  uint8_t port = 0;
  uint8_t hops = 0;  // l4.handoff_hops for this frame
};

struct Scenario {
  std::string name;
  std::vector<Step> steps;
  uint16_t worker = 0;
  uint16_t workers = 1;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> scenarios() {
  const Net& n = net();
  std::vector<Scenario> all;

  TcpFields syn = seg(40001, 80, kSyn, 1000);
  syn.options = kMss1460;
  TcpFields syn_nat = syn;
  syn_nat.sport = kFirstSnatPort;
  syn_nat.dport = 8080;

  all.push_back(
      {"nat_tcp_v4_connection",
       {
           {"SYN to the VIP: SNAT address and port, backend address and target port, TTL - 1",
            from_client().tcp_segment(syn), forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).tcp_segment(syn_nat)},
           {"SYN-ACK from the backend: VIP:80 -> client, to the client's MAC",
            from_backend(n.be1_mac, n.be1)
                .tcp_segment(seg(8080, kFirstSnatPort, kSyn | kAck, 5000, 1001)),
            forwarded(ForwardKind::kToClient),
            to_client().tcp_segment(seg(80, 40001, kSyn | kAck, 5000, 1001))},
           {"the client's request: same backend, same SNAT port",
            from_client().tcp_segment(seg(40001, 80, kAck | kPsh, 1001, 5001, kRequest)),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1)
                .tcp_segment(seg(kFirstSnatPort, 8080, kAck | kPsh, 1001, 5001, kRequest))},
           {"the response",
            from_backend(n.be1_mac, n.be1, 60)
                .tcp_segment(seg(8080, kFirstSnatPort, kAck | kPsh, 5001, 1028, kResponse)),
            forwarded(ForwardKind::kToClient),
            to_client(59).tcp_segment(seg(80, 40001, kAck | kPsh, 5001, 1028, kResponse))},
           {"a retransmitted SYN of the flow keeps its record", from_client().tcp_segment(syn),
            forwarded(ForwardKind::kToBackend), nat_to(n.be1_mac, n.be1).tcp_segment(syn_nat)},
           {"another client port is another flow: the next SNAT port",
            from_client().tcp_segment(seg(40002, 80, kSyn, 77)), forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).tcp_segment(seg(kFirstSnatPort + 1, 8080, kSyn, 77))},
           {"a reply to a SNAT port no flow has",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 1500, kAck, 1, 1)),
            dropped(DropReason::kNoConnection)},
           {"the flow's SNAT port, but from another backend",
            from_backend(n.be2_mac, n.be2).tcp_segment(seg(8080, kFirstSnatPort, kAck, 1, 1)),
            dropped(DropReason::kNoConnection)},
           {"the flow's SNAT port, but from another backend port",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8081, kFirstSnatPort, kAck, 1, 1)),
            dropped(DropReason::kNoConnection)},
           {"the flow's SNAT port as UDP",
            from_backend(n.be1_mac, n.be1).udp(8080, kFirstSnatPort, pkt::text("x")),
            dropped(DropReason::kNoConnection)},
           {"TTL 1 from the client cannot be routed on", from_client(1).tcp_segment(syn),
            dropped(DropReason::kTtlExceeded)},
           {"TTL 1 from the backend",
            from_backend(n.be1_mac, n.be1, 1)
                .tcp_segment(seg(8080, kFirstSnatPort, kAck, 5001, 1001)),
            dropped(DropReason::kTtlExceeded)},
       }});

  all.push_back(
      {"nat_udp_v4",
       {
           {"query: checksum updated", from_client().udp(5000, 53, pkt::text("query")),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).udp(kFirstSnatPort, 5353, pkt::text("query"))},
           {"answer", from_backend(n.be1_mac, n.be1).udp(5353, kFirstSnatPort, pkt::text("ans")),
            forwarded(ForwardKind::kToClient), to_client().udp(53, 5000, pkt::text("ans"))},
           {"a datagram without checksum (0) keeps none",
            from_client().udp(5000, 53, pkt::text("query2")).poke16(pkt::kL3 + 20 + 6, 0),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1)
                .udp(kFirstSnatPort, 5353, pkt::text("query2"))
                .poke16(pkt::kL3 + 20 + 6, 0)},
           {"an answer without checksum",
            from_backend(n.be1_mac, n.be1)
                .udp(5353, kFirstSnatPort, pkt::text("ans2"))
                .poke16(pkt::kL3 + 20 + 6, 0),
            forwarded(ForwardKind::kToClient),
            to_client().udp(53, 5000, pkt::text("ans2")).poke16(pkt::kL3 + 20 + 6, 0)},
           {"Ethernet padding after the datagram is carried, not counted",
            from_client().udp(5001, 53, pkt::text("q")).pad_to(60),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).udp(kFirstSnatPort + 1, 5353, pkt::text("q")).pad_to(60)},
       }});

  all.push_back(
      {"nat_client_on_port_1",
       {
           {"SYN received on port 1: the backend is reached on port 0",
            Frame::eth(n.port1_mac, n.client_mac)
                .ipv4(n.client, n.vip, 64)
                .tcp_segment(seg(40001, 80, kSyn, 1)),
            forwarded(ForwardKind::kToBackend, 0),
            Frame::eth(n.be1_mac, n.port0_mac)
                .ipv4(n.snat, n.be1, 63)
                .tcp_segment(seg(kFirstSnatPort, 8080, kSyn, 1)),
            1},
           {"the reply leaves on port 1, from port 1's MAC",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, kFirstSnatPort, kAck, 1, 2)),
            forwarded(ForwardKind::kToClient, 1),
            Frame::eth(n.client_mac, n.port1_mac)
                .ipv4(n.vip, n.client, 63)
                .ip_id(kBackendId)
                .dont_fragment()
                .tcp_segment(seg(80, 40001, kAck, 1, 2))},
           {"and so does an ICMP error for the client",
            Frame::eth(n.port0_mac, n.router_mac)
                .ipv4(n.router, n.snat, 250)
                .icmp(
                    11, 0,
                    icmp_body(0, pkt::l3_bytes(nat_to(n.be1_mac, n.be1, 50)
                                                   .tcp_segment(seg(kFirstSnatPort, 8080, kSyn, 1)),
                                               28))),
            forwarded(ForwardKind::kIcmpToClient, 1),
            Frame::eth(n.client_mac, n.port1_mac)
                .ipv4(n.vip, n.client, 249)
                .icmp(11, 0,
                      icmp_body(0, pkt::l3_bytes(Frame::eth(n.port1_mac, n.client_mac)
                                                     .ipv4(n.client, n.vip, 50)
                                                     .ip_id(kClientId)
                                                     .dont_fragment()
                                                     .tcp_segment(seg(40001, 80, kSyn, 1)),
                                                 28)))},
       }});

  TcpFields syn6 = seg(40001, 80, kSyn, 1000);
  syn6.options = kMss1460;
  TcpFields syn6_nat = syn6;
  syn6_nat.sport = kFirstSnatPort;
  syn6_nat.dport = 8080;
  all.push_back(
      {"nat_v6",
       {
           {"SYN to the IPv6 VIP", from_client6().tcp_segment(syn6),
            forwarded(ForwardKind::kToBackend),
            nat_to6(n.be1_6_mac, n.be1_6).tcp_segment(syn6_nat)},
           {"SYN-ACK",
            from_backend6(n.be1_6_mac, n.be1_6)
                .tcp_segment(seg(8080, kFirstSnatPort, kSyn | kAck, 9, 1001)),
            forwarded(ForwardKind::kToClient),
            to_client6().tcp_segment(seg(80, 40001, kSyn | kAck, 9, 1001))},
           // Another service port, so another backend id with its own SNAT port cursor: the
           // first port again (the reply tuples differ in protocol and backend port).
           {"UDP query", from_client6().udp(5000, 53, pkt::text("query6")),
            forwarded(ForwardKind::kToBackend),
            nat_to6(n.be1_6_mac, n.be1_6).udp(kFirstSnatPort, 5353, pkt::text("query6"))},
           {"UDP answer",
            from_backend6(n.be1_6_mac, n.be1_6).udp(5353, kFirstSnatPort, pkt::text("answer6")),
            forwarded(ForwardKind::kToClient), to_client6().udp(53, 5000, pkt::text("answer6"))},
           {"hop limit 1", from_client6(1).udp(5000, 53, pkt::text("q")),
            dropped(DropReason::kTtlExceeded)},
       }});

  {
    const Bytes dsr_syn = from_client().tos(0x28).tcp_segment(seg(40001, 1080, kSyn, 1));
    const Bytes dsr_ack =
        from_client().tcp_segment(seg(40001, 1080, kAck | kPsh, 2, 100, kRequest)).pad_to(200);
    const Bytes dsr_udp6 = from_client6().udp(5000, 1053, pkt::text("dsr6"));
    const Bytes dsr_udp6_port1 = Frame::eth(n.port1_mac, n.client_mac)
                                     .ipv6(n.client6, n.vip6, 64)
                                     .udp(5001, 1053, pkt::text("port 1"));
    all.push_back(
        {"dsr",
         {
             {"SYN: only the MACs change", dsr_syn, forwarded(ForwardKind::kToBackend),
              with_macs(dsr_syn, n.be2_mac, n.port0_mac)},
             {"data of the flow, padded frame", dsr_ack, forwarded(ForwardKind::kToBackend),
              with_macs(dsr_ack, n.be2_mac, n.port0_mac)},
             {"IPv6 UDP", dsr_udp6, forwarded(ForwardKind::kToBackend),
              with_macs(dsr_udp6, n.be2_6_mac, n.port0_mac)},
             {"TTL 1 is the backend's business in DSR",
              from_client(1).udp(5000, 1053, pkt::text("t")), forwarded(ForwardKind::kToBackend),
              with_macs(from_client(1).udp(5000, 1053, pkt::text("t")), n.be2_mac, n.port0_mac)},
             {"received on port 1, sent on the backend's port 0", dsr_udp6_port1,
              forwarded(ForwardKind::kToBackend, 0),
              with_macs(dsr_udp6_port1, n.be2_6_mac, n.port0_mac), 1},
         }});
  }

  {
    const Bytes syn4 = from_client().tos(0x28).tcp_segment(seg(40001, 2080, kSyn, 1));
    const Bytes udp6 =
        from_client6().traffic_class(0xb8).flow_label(0x12345).udp(5000, 2053, pkt::text("tun"));
    FlowTuple t6{};
    std::memcpy(t6.src, n.client6.data(), 16);
    std::memcpy(t6.dst, n.vip6.data(), 16);
    t6.sport = be16(5000);
    t6.dport = be16(2053);
    t6.proto = kUdp;
    t6.v6 = 1;
    const uint32_t label = ConnTable::hash(t6) & 0xfffff;
    all.push_back({"ipip",
                   {
                       {"IPv4 in IPv4: outer header from port 1's address, inner packet unchanged",
                        syn4, forwarded(ForwardKind::kToBackendIpip4, 1),
                        Frame::eth(n.tun_mac, n.port1_mac)
                            .ipv4(n.node1, n.tun, 64)
                            .tos(0x28)
                            .dont_fragment()
                            .l4(pkt::kProtoIpip, pkt::l3_bytes(syn4))},
                       {"IPv6 in IPv6: traffic class copied, flow label from the flow hash", udp6,
                        forwarded(ForwardKind::kToBackendIpip6, 1),
                        Frame::eth(n.tun6_mac, n.port1_mac)
                            .ipv6(n.node1_6, n.tun6, 64)
                            .traffic_class(0xb8)
                            .flow_label(label)
                            .l4(pkt::kProtoIpv6Encap, pkt::l3_bytes(udp6))},
                   }});
  }

  {
    TcpFields rst_ack = seg(443, 40001, kRst | kAck, 0, 1001);
    rst_ack.window = 0;
    TcpFields rst = seg(443, 40001, kRst, 7000, 0);
    rst.window = 0;
    const auto reset_to_client = [&] {
      return Frame::eth(n.client_mac, n.port0_mac).ipv4(n.vip, n.client, 64).dont_fragment();
    };
    TcpFields syn_mss = seg(40001, 443, kSyn, 1000);
    syn_mss.options = kMss1460;
    TcpFields syn_data = seg(40001, 443, kSyn | kFin, 0xfffffffa, 0, pkt::text("0123456789"));
    TcpFields rst_wrap = seg(443, 40001, kRst | kAck, 0, 6);  // 0xfffffffa + 10 + 2, mod 2^32
    rst_wrap.window = 0;
    TcpFields rst6 = seg(443, 40001, kRst | kAck, 0, 2);
    rst6.window = 0;
    all.push_back(
        {"no_endpoint",
         {
             {"SYN without ACK: RST|ACK, seq 0, ack = SEG.SEQ + 1 (RFC 9293 3.10.7.1)",
              from_client().tcp_segment(seg(40001, 443, kSyn, 1000)), reset(),
              reset_to_client().tcp_segment(rst_ack)},
             {"TCP options are not counted in SEG.LEN", from_client().tcp_segment(syn_mss), reset(),
              reset_to_client().tcp_segment(rst_ack)},
             {"a segment with ACK: RST with seq = SEG.ACK",
              from_client().tcp_segment(seg(40001, 443, kAck, 5000, 7000)), reset(),
              reset_to_client().tcp_segment(rst)},
             {"SYN+FIN with data: ack counts both flags and the data, wrapping",
              from_client().tcp_segment(syn_data), reset(),
              reset_to_client().tcp_segment(rst_wrap)},
             {"IPv4 options and TOS of the input are not in the reset",
              from_client()
                  .tos(0x10)
                  .ipv4_options({7, 7, 4, 0, 0, 0, 0})
                  .tcp_segment(seg(40001, 443, kSyn, 1000)),
              reset(), reset_to_client().tcp_segment(rst_ack)},
             {"padded frame: the reset has no padding",
              from_client().tcp_segment(seg(40001, 443, kSyn, 1000)).pad_to(60), reset(),
              reset_to_client().tcp_segment(rst_ack)},
             {"IPv6", from_client6(10).tcp_segment(seg(40001, 443, kSyn, 1)), reset(),
              Frame::eth(n.client_mac, n.port0_mac).ipv6(n.vip6, n.client6, 64).tcp_segment(rst6)},
             {"never a reset for a reset", from_client().tcp_segment(seg(40001, 443, kRst, 1000)),
              dropped(DropReason::kNoConnection)},
             {"nor for RST|ACK", from_client().tcp_segment(seg(40001, 443, kRst | kAck, 1, 2)),
              dropped(DropReason::kNoConnection)},
             {"UDP", from_client().udp(5000, 443, pkt::text("q")),
              dropped(DropReason::kNoEndpoint)},
         }});
  }

  all.push_back(
      {"no_service",
       {
           {"TCP port without a service", from_client().tcp_segment(seg(40001, 81, kSyn, 1)),
            dropped(DropReason::kVipNoService)},
           {"UDP on a port that is TCP only", from_client().udp(5000, 80, pkt::text("q")),
            dropped(DropReason::kVipNoService)},
           {"TCP on a port that is UDP only", from_client().tcp_segment(seg(1, 53, kSyn, 1)),
            dropped(DropReason::kVipNoService)},
           {"the IPv6 VIP has no port 90", from_client6().tcp_segment(seg(40001, 90, kSyn, 1)),
            dropped(DropReason::kVipNoService)},
           {"the IPv6 VIP has no UDP 443", from_client6().udp(5000, 443, pkt::text("q")),
            dropped(DropReason::kVipNoService)},
           {"SCTP to the VIP", from_client().l4(132, Bytes(16, 0)),
            dropped(DropReason::kVipNoService)},
           {"TCP to the SNAT address from no flow: no record",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 2000, kSyn, 1)),
            dropped(DropReason::kNoConnection)},
       }});

  all.push_back(
      {"malformed",
       {
           {"TCP data offset 15 (60 bytes) in a 20-byte header",
            from_client().tcp_segment(seg(40001, 80, kSyn, 1)).poke(pkt::kL3 + 20 + 12, 0xf0),
            dropped(DropReason::kL4Malformed)},
           {"TCP data offset 4",
            from_client().tcp_segment(seg(40001, 80, kSyn, 1)).poke(pkt::kL3 + 20 + 12, 0x40),
            dropped(DropReason::kL4Malformed)},
           {"TCP header of 12 bytes", from_client().l4(kTcp, Bytes(12, 1)),
            dropped(DropReason::kL4Malformed)},
           {"UDP length past the datagram",
            from_client().udp(5000, 53, pkt::text("q")).poke16(pkt::kL3 + 20 + 4, 100),
            dropped(DropReason::kL4Malformed)},
           {"UDP length 7",
            from_client().udp(5000, 53, pkt::text("q")).poke16(pkt::kL3 + 20 + 4, 7),
            dropped(DropReason::kL4Malformed)},
           {"UDP header of 4 bytes", from_client().l4(kUdp, Bytes{0x13, 0x88, 0, 53}),
            dropped(DropReason::kL4Malformed)},
           {"IPv6 TCP data offset 15",
            from_client6().tcp_segment(seg(40001, 80, kSyn, 1)).poke(pkt::kL3 + 40 + 12, 0xf0),
            dropped(DropReason::kL4Malformed)},
           {"IPv6 UDP length past the datagram",
            from_client6().udp(5000, 53, pkt::text("q")).poke16(pkt::kL3 + 40 + 4, 10),
            dropped(DropReason::kL4Malformed)},
           {"malformed to the SNAT address too",
            from_backend(n.be1_mac, n.be1)
                .tcp_segment(seg(8080, 1024, kAck, 1))
                .poke(pkt::kL3 + 20 + 12, 0xf0),
            dropped(DropReason::kL4Malformed)},
       }});

  // Two workers: the SNAT ports of worker w are those p with p % 2 == w.
  all.push_back(
      {"two_workers_worker_0",
       {
           {"SYN: an even SNAT port", from_client().tcp_segment(seg(40001, 80, kSyn, 1)),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).tcp_segment(seg(1024, 8080, kSyn, 1))},
           {"the reply to it is ours",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 1024, kSyn | kAck, 1, 2)),
            forwarded(ForwardKind::kToClient),
            to_client().tcp_segment(seg(80, 40001, kSyn | kAck, 1, 2))},
           {"a reply to an odd port is worker 1's: handed over unchanged",
            from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 1025, kSyn | kAck, 1, 2)),
            handed_off(1)},
           {"also UDP", from_backend(n.be1_mac, n.be1).udp(5353, 4097, pkt::text("x")),
            handed_off(1)},
           {"an even port without a flow is dropped here",
            from_backend(n.be1_mac, n.be1).udp(5353, 4096, pkt::text("x")),
            dropped(DropReason::kNoConnection)},
       },
       0,
       2});
  all.push_back(
      {"two_workers_worker_1",
       {
           {"SYN: an odd SNAT port", from_client().tcp_segment(seg(40001, 80, kSyn, 1)),
            forwarded(ForwardKind::kToBackend),
            nat_to(n.be1_mac, n.be1).tcp_segment(seg(1025, 8080, kSyn, 1))},
           {"its reply", from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 1025, kAck, 1, 2)),
            forwarded(ForwardKind::kToClient), to_client().tcp_segment(seg(80, 40001, kAck, 1, 2))},
           {"an even port is worker 0's",
            from_backend6(n.be1_6_mac, n.be1_6).udp(5353, 1024, pkt::text("x")), handed_off(0)},
       },
       1,
       2});

  // ICMP errors about a nat flow. The client's SYN went out as SNAT:1024 -> be1:8080; the
  // backend's SYN-ACK reached the client as VIP:80 -> client:40001.
  {
    const TcpFields syn_in = seg(40001, 80, kSyn, 1000);
    const TcpFields syn_out = seg(kFirstSnatPort, 8080, kSyn, 1000);
    const TcpFields synack_backend = seg(8080, kFirstSnatPort, kSyn | kAck, 5000, 1001);
    const TcpFields synack_client = seg(80, 40001, kSyn | kAck, 5000, 1001);
    // What the client got (quoted by a router on the client's side) and what the backend sent.
    const Bytes got_by_client = to_client(61).tcp_segment(synack_client);
    const Bytes sent_by_backend = from_backend(n.be1_mac, n.be1, 61).tcp_segment(synack_backend);
    // What the backend got (quoted by a router on the backend's side) and what the client sent.
    const Bytes got_by_backend = nat_to(n.be1_mac, n.be1, 50).tcp_segment(syn_out);
    const Bytes sent_by_client = from_client(50).tcp_segment(syn_in);
    const auto icmp_from_router_to = [&](const pkt::Ip4& dst) {
      return Frame::eth(n.port0_mac, n.router_mac).ipv4(n.router, dst, 250).ip_id(0x99);
    };
    const auto icmp_to_backend = [&] {
      return Frame::eth(n.be1_mac, n.port0_mac).ipv4(n.snat, n.be1, 249).ip_id(0x99);
    };
    const auto icmp_to_the_client = [&] {
      return Frame::eth(n.client_mac, n.port0_mac).ipv4(n.vip, n.client, 249).ip_id(0x99);
    };
    all.push_back(
        {"icmp_v4_nat",
         {
             {"the flow", from_client().tcp_segment(syn_in), forwarded(ForwardKind::kToBackend),
              nat_to(n.be1_mac, n.be1).tcp_segment(syn_out)},
             {"frag needed to the VIP, 8 bytes quoted: to the backend, as about its own packet",
              icmp_from_router_to(n.vip).icmp(3, 4,
                                              icmp_body(1400, pkt::l3_bytes(got_by_client, 28))),
              forwarded(ForwardKind::kIcmpToBackend),
              icmp_to_backend().icmp(3, 4, icmp_body(1400, pkt::l3_bytes(sent_by_backend, 28)))},
             {"whole segment quoted: the quoted TCP checksum is translated too",
              icmp_from_router_to(n.vip).icmp(3, 1, icmp_body(0, pkt::l3_bytes(got_by_client))),
              forwarded(ForwardKind::kIcmpToBackend),
              icmp_to_backend().icmp(3, 1, icmp_body(0, pkt::l3_bytes(sent_by_backend)))},
             {"time exceeded to the SNAT address: to the client, as about its own packet",
              icmp_from_router_to(n.snat).icmp(11, 0, icmp_body(0, pkt::l3_bytes(got_by_backend))),
              forwarded(ForwardKind::kIcmpToClient),
              icmp_to_the_client().icmp(11, 0, icmp_body(0, pkt::l3_bytes(sent_by_client)))},
             {"port unreachable, 8 bytes quoted, to the SNAT address",
              icmp_from_router_to(n.snat).icmp(3, 3,
                                               icmp_body(0, pkt::l3_bytes(got_by_backend, 28))),
              forwarded(ForwardKind::kIcmpToClient),
              icmp_to_the_client().icmp(3, 3, icmp_body(0, pkt::l3_bytes(sent_by_client, 28)))},
             {"about a flow that does not exist (client port 40999)",
              icmp_from_router_to(n.vip).icmp(
                  3, 4,
                  icmp_body(1400, pkt::l3_bytes(to_client().tcp_segment(seg(80, 40999, kAck, 1, 1)),
                                                28))),
              dropped(DropReason::kIcmpNoFlow)},
             {"about a port of no service",
              icmp_from_router_to(n.vip).icmp(
                  3, 4,
                  icmp_body(1400, pkt::l3_bytes(to_client().tcp_segment(seg(81, 40001, kAck, 1, 1)),
                                                28))),
              dropped(DropReason::kIcmpNoFlow)},
             {"to the SNAT address about no flow",
              icmp_from_router_to(n.snat).icmp(
                  11, 0,
                  icmp_body(
                      0, pkt::l3_bytes(
                             nat_to(n.be1_mac, n.be1).tcp_segment(seg(1500, 8080, kSyn, 1)), 28))),
              dropped(DropReason::kIcmpNoFlow)},
             {"quoting an ICMP echo",
              icmp_from_router_to(n.vip).icmp(
                  3, 1, icmp_body(0, pkt::l3_bytes(to_client().icmp_echo(1, 1, Bytes(8, 0))))),
              dropped(DropReason::kIcmpNoFlow)},
             {"quoting 7 bytes of the transport header",
              icmp_from_router_to(n.vip).icmp(3, 4,
                                              icmp_body(1400, pkt::l3_bytes(got_by_client, 27))),
              dropped(DropReason::kIcmpMalformed)},
             {"quoting an IPv6 header in ICMPv4",
              icmp_from_router_to(n.vip).icmp(
                  3, 4,
                  icmp_body(1400,
                            pkt::l3_bytes(to_client6().tcp_segment(seg(80, 40001, kAck, 1, 1))))),
              dropped(DropReason::kIcmpMalformed)},
             {"quoted IHL beyond the quote",
              icmp_from_router_to(n.vip)
                  .icmp(3, 4, icmp_body(1400, pkt::l3_bytes(got_by_client, 28)))
                  .poke(pkt::kL3 + 20 + 8, 0x4f),
              dropped(DropReason::kIcmpMalformed)},
             {"TTL 1",
              Frame::eth(n.port0_mac, n.router_mac)
                  .ipv4(n.router, n.vip, 1)
                  .icmp(3, 4, icmp_body(1400, pkt::l3_bytes(got_by_client, 28))),
              dropped(DropReason::kTtlExceeded)},
         }});
  }

  {
    const TcpFields syn_in = seg(40001, 80, kSyn, 1000);
    const TcpFields syn_out = seg(kFirstSnatPort, 8080, kSyn, 1000);
    const TcpFields synack_backend = seg(8080, kFirstSnatPort, kSyn | kAck, 5000, 1001);
    const TcpFields synack_client = seg(80, 40001, kSyn | kAck, 5000, 1001);
    const Bytes got_by_client = to_client6(61).tcp_segment(synack_client);
    const Bytes sent_by_backend =
        from_backend6(n.be1_6_mac, n.be1_6, 61).tcp_segment(synack_backend);
    const Bytes got_by_backend = nat_to6(n.be1_6_mac, n.be1_6, 50).tcp_segment(syn_out);
    const Bytes sent_by_client = from_client6(50).tcp_segment(syn_in);
    const auto router_to = [&](const pkt::Ip6& dst, uint8_t hops = 250) {
      return Frame::eth(n.port0_mac, n.router_mac).ipv6(n.router6, dst, hops);
    };
    all.push_back(
        {"icmp_v6_nat",
         {
             {"the flow", from_client6().tcp_segment(syn_in), forwarded(ForwardKind::kToBackend),
              nat_to6(n.be1_6_mac, n.be1_6).tcp_segment(syn_out)},
             {"packet too big to the VIP: to the backend",
              router_to(n.vip6).icmp6(2, 0, icmp_body(1280, pkt::l3_bytes(got_by_client))),
              forwarded(ForwardKind::kIcmpToBackend),
              Frame::eth(n.be1_6_mac, n.port0_mac)
                  .ipv6(n.snat6, n.be1_6, 249)
                  .icmp6(2, 0, icmp_body(1280, pkt::l3_bytes(sent_by_backend)))},
             {"packet too big to the SNAT address: to the client",
              router_to(n.snat6).icmp6(2, 0, icmp_body(1280, pkt::l3_bytes(got_by_backend))),
              forwarded(ForwardKind::kIcmpToClient),
              Frame::eth(n.client_mac, n.port0_mac)
                  .ipv6(n.vip6, n.client6, 249)
                  .icmp6(2, 0, icmp_body(1280, pkt::l3_bytes(sent_by_client)))},
             {"destination unreachable quoting 8 transport bytes",
              router_to(n.snat6).icmp6(1, 4, icmp_body(0, pkt::l3_bytes(got_by_backend, 48))),
              forwarded(ForwardKind::kIcmpToClient),
              Frame::eth(n.client_mac, n.port0_mac)
                  .ipv6(n.vip6, n.client6, 249)
                  .icmp6(1, 4, icmp_body(0, pkt::l3_bytes(sent_by_client, 48)))},
             {"time exceeded quoting 7 transport bytes",
              router_to(n.vip6).icmp6(3, 0, icmp_body(0, pkt::l3_bytes(got_by_client, 47))),
              dropped(DropReason::kIcmpv6Malformed)},
             {"quoting an IPv4 header",
              router_to(n.vip6).icmp6(2, 0,
                                      icmp_body(1280, pkt::l3_bytes(to_client().tcp_segment(seg(
                                                          80, 40001, kAck, 1, 1, Bytes(20, 0)))))),
              dropped(DropReason::kIcmpv6Malformed)},
             {"about no flow",
              router_to(n.vip6).icmp6(2, 0,
                                      icmp_body(1280, pkt::l3_bytes(to_client6().tcp_segment(
                                                          seg(80, 40999, kAck, 1, 1))))),
              dropped(DropReason::kIcmpNoFlow)},
             {"hop limit 1",
              router_to(n.vip6, 1).icmp6(2, 0, icmp_body(1280, pkt::l3_bytes(got_by_client))),
              dropped(DropReason::kTtlExceeded)},
         }});
  }

  {
    // DSR: the backend answers the client itself; an error about that answer, with no record.
    const Bytes quoted = pkt::l3_bytes(Frame::eth(n.client_mac, n.be2_mac)
                                           .ipv4(n.vip, n.client, 60)
                                           .tcp_segment(seg(1080, 40050, kSyn | kAck, 1, 2)),
                                       28);
    const Bytes err = Frame::eth(n.port0_mac, n.router_mac)
                          .ipv4(n.router, n.vip, 250)
                          .icmp(3, 4, icmp_body(1400, quoted));
    const Bytes quoted6 = pkt::l3_bytes(Frame::eth(n.client_mac, n.be2_6_mac)
                                            .ipv6(n.vip6, n.client6, 60)
                                            .udp(1053, 5000, pkt::text("dsr answer")));
    const Bytes err6 = Frame::eth(n.port0_mac, n.router_mac)
                           .ipv6(n.router6, n.vip6, 250)
                           .icmp6(2, 0, icmp_body(1280, quoted6));
    all.push_back(
        {"icmp_dsr_stateless",
         {
             {"to the backend Maglev picks, only the MACs change", err,
              forwarded(ForwardKind::kIcmpToBackend), with_macs(err, n.be2_mac, n.port0_mac)},
             {"IPv6", err6, forwarded(ForwardKind::kIcmpToBackend),
              with_macs(err6, n.be2_6_mac, n.port0_mac)},
         }});
  }

  {
    const Bytes about_unknown =
        Frame::eth(n.port0_mac, n.router_mac)
            .ipv4(n.router, n.vip, 250)
            .icmp(3, 4,
                  icmp_body(1400, pkt::l3_bytes(to_client().tcp_segment(seg(80, 40999, kAck, 1, 1)),
                                                28)));
    const Bytes to_snat_odd =
        Frame::eth(n.port0_mac, n.router_mac)
            .ipv4(n.router, n.snat, 250)
            .icmp(11, 0,
                  icmp_body(
                      0, pkt::l3_bytes(
                             nat_to(n.be1_mac, n.be1).tcp_segment(seg(1025, 8080, kSyn, 1)), 28)));
    all.push_back(
        {"icmp_two_workers",
         {
             {"about no flow here: the next worker may have it", about_unknown, handed_off(1)},
             {"already seen by the other worker",
              about_unknown,
              dropped(DropReason::kIcmpNoFlow),
              {},
              0,
              1},
             {"to the SNAT address: the quoted source port's worker", to_snat_odd, handed_off(1)},
         },
         0,
         2});
  }
  return all;
}

class L4Scenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(L4Scenario, Steps) {
  const Scenario& s = GetParam();
  Env e(64, s.worker, s.workers);
  for (size_t i = 0; i < s.steps.size(); ++i) {
    const Step& step = s.steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + ": " + step.what);
    e.l4.handoff_hops = step.hops;
    const Result r = run(e, step.in, step.port);
    ASSERT_EQ(describe(r.verdict), describe(step.expect)) << "input:\n" << pkt::hex(step.in);
    if (!step.out.empty()) {
      EXPECT_EQ(diff(r.out, step.out), "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(L4, L4Scenario, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) {
                           return info.param.name;
                         });

// ---- the builder's transport checksums, against DPDK's ---------------------------------------

// The expected frames' TCP and UDP checksums come from tests/common/packet_builder.h; DPDK's
// rte_ipv4/ipv6_udptcp_cksum() must compute the same (odd lengths and options included).
TEST(L4Builder, TransportChecksumsAgreeWithDpdk) {
  TcpFields t = seg(40001, 80, kAck | kPsh, 0x01020304, 0xa0b0c0d0, pkt::text("odd length!"));
  t.options = kMss1460;
  const std::vector<Bytes> frames = {
      from_client().tcp_segment(t),
      from_client().udp(5000, 53, pkt::text("seven..")),
      from_client6().tcp_segment(t),
      from_client6().udp(5000, 53, pkt::text("nine.....")),
  };
  for (const Bytes& f : frames) {
    Bytes copy = f;
    uint8_t* const ip = &copy[pkt::kL3];
    const bool v6 = pkt::get16(&copy[12]) == pkt::kEtherTypeIpv6;
    const uint8_t proto = v6 ? ip[6] : ip[9];
    uint8_t* const l4 = ip + (v6 ? 40 : 20);
    uint8_t* const field = l4 + (proto == kTcp ? 16 : 6);
    field[0] = field[1] = 0;
    const uint16_t c = v6 ? rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), l4)
                          : rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), l4);
    std::memcpy(field, &c, 2);
    EXPECT_EQ(diff(copy, f), "");
  }
}

// ---- field by field -------------------------------------------------------------------------
// The same rewrites, read back field by field, so a failure names the field.

TEST(L4Fields, NatSynRewrite) {
  const Net& n = net();
  for (const uint16_t workers : {1, 2}) {
    for (uint16_t worker = 0; worker < workers; ++worker) {
      SCOPED_TRACE("worker " + std::to_string(worker) + " of " + std::to_string(workers));
      Env e(64, worker, workers);
      const Bytes in = from_client(57).tcp_segment(seg(40001, 80, kSyn, 1000));
      const Result r = run(e, in);
      ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackend)));
      const auto eth = pkt::parse_eth(r.out);
      const auto ip = pkt::parse_ipv4(r.out);
      const auto tcp = pkt::parse_tcp(r.out);
      ASSERT_TRUE(eth && ip && tcp);
      EXPECT_EQ(eth->dst, n.be1_mac);
      EXPECT_EQ(eth->src, n.port0_mac);
      EXPECT_EQ(ip->src, n.snat);
      EXPECT_EQ(ip->dst, n.be1);
      EXPECT_EQ(ip->ttl, 56);
      EXPECT_TRUE(ip->checksum_ok);
      EXPECT_GE(tcp->sport, 1024);
      EXPECT_EQ(tcp->sport % workers, worker);
      EXPECT_EQ(tcp->dport, 8080);
      EXPECT_EQ(tcp->seq, 1000u);
      EXPECT_TRUE(tcp->checksum_ok);
      EXPECT_EQ(e.l4.counters.new_flows, 1u);
      EXPECT_EQ(e.conns.size(), 1u);
    }
  }
}

TEST(L4Fields, IpipOuterHeader) {
  const Net& n = net();
  Env e;
  const Bytes in = from_client().tcp_segment(seg(40001, 2080, kSyn, 1, 0, Bytes(100, 7)));
  const Result r = run(e, in);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  ASSERT_EQ(r.out.size(), in.size() + 20);
  const uint8_t* outer = &r.out[pkt::kL3];
  EXPECT_EQ(outer[0], 0x45);
  EXPECT_EQ(pkt::get16(outer + 2), in.size() - pkt::kEthLen + 20) << "total length";
  EXPECT_EQ(pkt::get16(outer + 6), 0x4000) << "DF, offset 0";
  EXPECT_EQ(outer[8], 64) << "TTL";
  EXPECT_EQ(outer[9], pkt::kProtoIpip);
  EXPECT_TRUE(header_sum_ok({outer, 20}));
  EXPECT_EQ(0, std::memcmp(outer + 12, n.node1.bytes.data(), 4)) << "source: port 1's address";
  EXPECT_EQ(0, std::memcmp(outer + 16, n.tun.bytes.data(), 4));
  EXPECT_EQ(pkt::get16(&r.out[12]), pkt::kEtherTypeIpv4);
  const auto eth = pkt::parse_eth(r.out);
  EXPECT_EQ(eth->dst, n.tun_mac);
  EXPECT_EQ(eth->src, n.port1_mac);
  EXPECT_TRUE(std::equal(in.begin() + pkt::kEthLen, in.end(), r.out.begin() + pkt::kEthLen + 20))
      << "inner packet unchanged";
}

TEST(L4Fields, Ip6ip6OuterHeader) {
  const Net& n = net();
  Env e;
  const Bytes in = from_client6().udp(5000, 2053, Bytes(300, 9));
  const Result r = run(e, in);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackendIpip6, 1)));
  ASSERT_EQ(r.out.size(), in.size() + 40);
  const auto outer = pkt::parse_ipv6(r.out);
  ASSERT_TRUE(outer);
  EXPECT_EQ(outer->version, 6);
  EXPECT_EQ(outer->next_header, pkt::kProtoIpv6Encap);
  EXPECT_EQ(outer->payload_length, in.size() - pkt::kEthLen);
  EXPECT_EQ(outer->hop_limit, 64);
  EXPECT_EQ(outer->src, n.node1_6);
  EXPECT_EQ(outer->dst, n.tun6);
  EXPECT_TRUE(std::equal(in.begin() + pkt::kEthLen, in.end(), r.out.begin() + pkt::kEthLen + 40));
  // Flow labels spread tunnels: other client ports give other labels.
  std::set<uint32_t> labels{outer->flow_label};
  for (uint16_t p = 5001; p < 5009; ++p) {
    const Result other = run(e, from_client6().udp(p, 2053, Bytes(10, 9)));
    const auto o = pkt::parse_ipv6(other.out);
    ASSERT_TRUE(o);
    labels.insert(o->flow_label);
  }
  EXPECT_GE(labels.size(), 8u);
  EXPECT_EQ(labels.count(0), 0u);
}

// The tunnel carries the datagram, not the Ethernet padding of a short frame (RFC 2003 §3.1:
// the outer total length is the outer header plus the inner datagram).
TEST(L4Fields, IpipLeavesEthernetPaddingOut) {
  Env e;
  const Bytes in = from_client().udp(5000, 2053, pkt::text("hi")).pad_to(60);
  ASSERT_EQ(in.size(), 60u);  // 14 + 30-byte datagram + 16 bytes of padding
  const Result r = run(e, in);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  const auto outer = pkt::parse_ipv4(r.out);
  ASSERT_TRUE(outer);
  EXPECT_EQ(outer->total_length, 20 + 30);
  EXPECT_EQ(r.out.size(), pkt::kEthLen + 20 + 30u);
}

TEST(L4Fields, IpipMtu) {
  Env e;
  // 1480-byte datagram + 20 = 1500: fits; 1481 does not.
  const auto datagram = [](size_t total) {
    return from_client().udp(5000, 2053, Bytes(total - 28, 1));
  };
  EXPECT_EQ(describe(run(e, datagram(1480)).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  EXPECT_EQ(describe(run(e, datagram(1481)).verdict), describe(dropped(DropReason::kEncapTooBig)));
  // IPv6: 1460 + 40 fits.
  const auto datagram6 = [](size_t total) {
    return from_client6().udp(5000, 2053, Bytes(total - 48, 1));
  };
  EXPECT_EQ(describe(run(e, datagram6(1460)).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip6, 1)));
  EXPECT_EQ(describe(run(e, datagram6(1461)).verdict), describe(dropped(DropReason::kEncapTooBig)));
  // MTU 0: not enforced.
  e.l4.mtu[1] = 0;
  EXPECT_EQ(describe(run(e, datagram(1481)).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
}

TEST(L4Fields, IpipNeedsHeadroom) {
  Env e;
  const Bytes in = from_client().udp(5000, 2053, pkt::text("x"));
  EXPECT_EQ(describe(run(e, in, 0, 19).verdict), describe(dropped(DropReason::kNoRoom)));
  EXPECT_EQ(describe(run(e, in, 0, 20).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  const Bytes in6 = from_client6().udp(5000, 2053, pkt::text("x"));
  EXPECT_EQ(describe(run(e, in6, 0, 39).verdict), describe(dropped(DropReason::kNoRoom)));
  EXPECT_EQ(describe(run(e, in6, 0, 40).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip6, 1)));
}

// ---- UDP checksum 0 -------------------------------------------------------------------------

// RFC 768: a computed checksum of 0 is sent as 0xffff, 0 meaning "none". A payload word is
// chosen so that the translated datagram's checksum computes to 0.
TEST(L4Udp, TranslatedChecksumNeverZero) {
  for (const bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    const auto make = [v6](uint16_t word) {
      Bytes payload = pkt::text("abcdefgh");
      pkt::put16(payload.data(), word);
      return v6 ? from_client6().udp(5000, 53, payload).bytes()
                : from_client().udp(5000, 53, payload).bytes();
    };
    Bytes out;
    {
      Env probe;
      const Result r = run(probe, make(0));
      ASSERT_EQ(r.verdict.action, Action::kForward);
      out = r.out;
    }
    // The output datagram with the first payload word zero: its sum, folded.
    const auto t = pkt::transport_of(out);
    ASSERT_TRUE(t);
    Bytes udp(t->segment.begin(), t->segment.end());
    pkt::put16(&udp[6], 0);
    pkt::put16(&udp[8], 0);
    const uint16_t rest = pkt::fold16(pkt::sum16(udp, t->pseudo));
    const uint16_t word = static_cast<uint16_t>(0xffff - rest);  // makes the sum 0xffff
    const Bytes in = make(word);
    const auto in_udp = pkt::parse_udp(in);
    ASSERT_TRUE(in_udp);
    ASSERT_NE(in_udp->checksum, 0) << "the input must carry a checksum";
    Env e;
    const Result r = run(e, in);
    ASSERT_EQ(r.verdict.action, Action::kForward);
    const auto u = pkt::parse_udp(r.out);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->checksum, 0xffff);
    EXPECT_TRUE(u->checksum_ok);
  }
}

// ---- flows and backends -----------------------------------------------------------------------

// The backend a forwarded frame went to, by destination address (nat, dsr) .
pkt::Ip4 destination(const Bytes& out) {
  const auto ip = pkt::parse_ipv4(out);
  EXPECT_TRUE(ip);
  return ip ? ip->dst : pkt::Ip4{};
}

TEST(L4Flows, PacketsOfAFlowStayOnItsBackend) {
  const Net& n = net();
  Env e;
  std::set<std::string> used;
  for (uint16_t p = 41000; p < 41040; ++p) {
    SCOPED_TRACE("client port " + std::to_string(p));
    const Result syn = run(e, from_client().tcp_segment(seg(p, 90, kSyn, 1)));
    ASSERT_EQ(syn.verdict.action, Action::kForward);
    const auto first = pkt::parse_tcp(syn.out);
    const pkt::Ip4 backend = destination(syn.out);
    used.insert(pkt::to_string(backend));
    for (int i = 0; i < 3; ++i) {
      const Result next = run(e, from_client().tcp_segment(seg(p, 90, kAck, 2 + i, 1)));
      ASSERT_EQ(next.verdict.action, Action::kForward);
      EXPECT_EQ(destination(next.out), backend);
      EXPECT_EQ(pkt::parse_tcp(next.out)->sport, first->sport) << "same SNAT port";
    }
    const auto eth = pkt::parse_eth(syn.out);
    const pkt::Mac want = backend == n.be1 ? n.be1_mac : backend == n.be2 ? n.be2_mac : n.be3_mac;
    EXPECT_EQ(eth->dst, want) << "the MAC of the backend's next hop";
  }
  EXPECT_EQ(used.size(), 3u) << "40 flows over three backends use all three";
  EXPECT_EQ(e.l4.counters.new_flows, 40u);
}

TEST(L4Flows, BackendBehindARouterGetsTheRoutersMac) {
  const Net& n = net();
  Env e;
  const Result r = run(e, from_client().tcp_segment(seg(40001, 85, kSyn, 1)));
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(diff(r.out, nat_to(n.router_mac, n.be_far).tcp_segment(seg(1024, 8080, kSyn, 1))), "");
}

// A client port whose flow Maglev sends to the backend with this id on service `port`.
uint16_t client_port_for(const Env& e, uint8_t proto, uint16_t port, uint32_t backend_id) {
  const Net& n = net();
  const lb::Service* svc = e.tables->find_service(addr_of(n.vip).data(), 0, proto, be16(port));
  EXPECT_NE(svc, nullptr);
  for (uint16_t p = 30000; p < 40000; ++p) {
    FlowTuple t{};
    std::memcpy(t.src, n.client.bytes.data(), 4);
    std::memcpy(t.dst, n.vip.bytes.data(), 4);
    t.sport = be16(p);
    t.dport = be16(port);
    t.proto = proto;
    const lb::Backend* b = e.tables->pick(*svc, ConnTable::hash(t));
    if (b != nullptr && b->id == backend_id) return p;
  }
  ADD_FAILURE() << "no client port maps to backend " << backend_id;
  return 0;
}

TEST(L4Flows, RemovedBackendResetsTcpAndRebalancesUdp) {
  const Net& n = net();
  Env e;
  const uint16_t tcp_port = client_port_for(e, kTcp, 90, 21);
  const uint16_t udp_port = client_port_for(e, kUdp, 90, 31);
  const Result syn = run(e, from_client().tcp_segment(seg(tcp_port, 90, kSyn, 100)));
  ASSERT_EQ(destination(syn.out), n.be1);
  const uint16_t tcp_snat = pkt::parse_tcp(syn.out)->sport;
  const Result q = run(e, from_client().udp(udp_port, 90, pkt::text("q")));
  ASSERT_EQ(destination(q.out), n.be1);
  const uint16_t udp_snat = pkt::parse_udp(q.out)->sport;

  e.install(without_backend(without_backend(default_services(), 21), 31));

  // TCP: the client's next segment gets a reset, the record is gone.
  const Result ack = run(e, from_client().tcp_segment(seg(tcp_port, 90, kAck, 101, 5000)));
  ASSERT_EQ(describe(ack.verdict), describe(reset()));
  TcpFields rst = seg(90, tcp_port, kRst, 5000);
  rst.window = 0;
  EXPECT_EQ(diff(ack.out, Frame::eth(n.client_mac, n.port0_mac)
                              .ipv4(n.vip, n.client, 64)
                              .dont_fragment()
                              .tcp_segment(rst)),
            "");
  EXPECT_EQ(e.l4.counters.backend_gone, 1u);
  EXPECT_EQ(
      describe(run(e, from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, tcp_snat, kAck, 1, 1)))
                   .verdict),
      describe(dropped(DropReason::kNoConnection)))
      << "the removed flow's replies match nothing";

  // UDP: balanced again, to a backend still in the service.
  const Result q2 = run(e, from_client().udp(udp_port, 90, pkt::text("q2")));
  ASSERT_EQ(describe(q2.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_NE(destination(q2.out), n.be1);
  EXPECT_EQ(e.l4.counters.backend_gone, 2u);
  const Result q3 = run(e, from_client().udp(udp_port, 90, pkt::text("q3")));
  EXPECT_EQ(destination(q3.out), destination(q2.out)) << "and stays there";
  EXPECT_EQ(
      describe(run(e, from_backend(n.be1_mac, n.be1).udp(5353, udp_snat, pkt::text("a"))).verdict),
      describe(dropped(DropReason::kNoConnection)));
}

TEST(L4Flows, RemovedBackendAndAResetFromTheClient) {
  Env e;
  const uint16_t p = client_port_for(e, kTcp, 90, 22);
  ASSERT_EQ(run(e, from_client().tcp_segment(seg(p, 90, kSyn, 100))).verdict.action,
            Action::kForward);
  e.install(without_backend(default_services(), 22));
  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(p, 90, kRst, 101))).verdict),
            describe(dropped(DropReason::kNoEndpoint)))
      << "a reset is never answered";
  EXPECT_EQ(e.conns.size(), 0u);
}

TEST(L4Flows, KeptBackendKeepsItsFlowsAcrossGenerations) {
  const Net& n = net();
  Env e;
  const uint16_t p = client_port_for(e, kTcp, 90, 21);
  const Result syn = run(e, from_client().tcp_segment(seg(p, 90, kSyn, 100)));
  ASSERT_EQ(destination(syn.out), n.be1);
  const uint16_t snat_port = pkt::parse_tcp(syn.out)->sport;

  // Another backend leaves; be1 is now reached through the router (its next hop changed).
  e.install(with_backend_changed(without_backend(default_services(), 23), 21,
                                 [](BackendDef& b) { b.nexthop = kNhRouter; }));
  const Result ack = run(e, from_client().tcp_segment(seg(p, 90, kAck, 101, 1)));
  ASSERT_EQ(describe(ack.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(
      diff(ack.out, nat_to(n.router_mac, n.be1).tcp_segment(seg(snat_port, 8080, kAck, 101, 1))),
      "");
  EXPECT_EQ(e.l4.counters.backend_gone, 0u);
  e.install(without_backend(default_services(), 23));
  EXPECT_EQ(destination(run(e, from_client().tcp_segment(seg(p, 90, kAck, 102, 1))).out), n.be1);
  EXPECT_EQ(
      describe(
          run(e, from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, snat_port, kAck, 1, 102)))
              .verdict),
      describe(forwarded(ForwardKind::kToClient)));
}

TEST(L4Flows, TerminatingBackendKeepsFlowsTakesNoNewOnes) {
  const Net& n = net();
  Env e(256);
  const uint16_t p = client_port_for(e, kTcp, 91, 42);
  ASSERT_EQ(destination(run(e, from_client().tcp_segment(seg(p, 91, kSyn, 1))).out), n.be2);

  e.install(
      with_backend_changed(default_services(), 42, [](BackendDef& b) { b.terminating = true; }));
  EXPECT_EQ(destination(run(e, from_client().tcp_segment(seg(p, 91, kAck, 2, 1))).out), n.be2)
      << "the existing flow stays";
  for (uint16_t q = 20000; q < 20100; ++q) {
    const Result r = run(e, from_client().tcp_segment(seg(q, 91, kSyn, 1)));
    ASSERT_EQ(r.verdict.action, Action::kForward);
    EXPECT_NE(destination(r.out), n.be2) << "client port " << q;
  }
}

TEST(L4Flows, SynOnAClosingRecordStartsANewFlow) {
  const Net& n = net();
  Env e;
  const auto client_seg = [](uint8_t flags, uint32_t seq) {
    return from_client().tcp_segment(seg(40001, 80, flags, seq, 1));
  };
  const Result syn = run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1)));
  EXPECT_EQ(pkt::parse_tcp(syn.out)->sport, kFirstSnatPort);
  run(e, client_seg(kAck, 2));
  const Result fin = run(e, client_seg(kFin | kAck, 2));
  EXPECT_EQ(pkt::parse_tcp(fin.out)->sport, kFirstSnatPort);
  const Result last_ack = run(e, client_seg(kAck, 3));
  EXPECT_EQ(pkt::parse_tcp(last_ack.out)->sport, kFirstSnatPort) << "closing: still the flow";
  EXPECT_EQ(e.l4.counters.new_flows, 1u);

  const Result again = run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 9000)));
  ASSERT_EQ(again.verdict.action, Action::kForward);
  EXPECT_EQ(pkt::parse_tcp(again.out)->sport, kFirstSnatPort + 1) << "a new record, a new port";
  EXPECT_EQ(e.l4.counters.new_flows, 2u);
  EXPECT_EQ(e.conns.size(), 1u);
  EXPECT_EQ(
      describe(
          run(e, from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, kFirstSnatPort, kAck, 1, 1)))
              .verdict),
      describe(dropped(DropReason::kNoConnection)))
      << "the old flow's port is free";
}

TEST(L4Flows, ResetFromTheClientClosesTheRecord) {
  Env e;
  run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1)));
  run(e, from_client().tcp_segment(seg(40001, 80, kRst, 2)));
  const Result again = run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 5)));
  EXPECT_EQ(pkt::parse_tcp(again.out)->sport, kFirstSnatPort + 1);
}

TEST(L4Flows, FinFromTheBackendClosesTheRecord) {
  const Net& n = net();
  Env e;
  run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1)));
  ASSERT_EQ(
      run(e,
          from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, kFirstSnatPort, kFin | kAck, 1, 2)))
          .verdict.action,
      Action::kForward);
  const Result again = run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 5)));
  EXPECT_EQ(pkt::parse_tcp(again.out)->sport, kFirstSnatPort + 1);
}

TEST(L4Flows, RecordsExpire) {
  Env e;
  run(e, from_client().udp(5000, 53, pkt::text("q")));
  EXPECT_EQ(e.conns.size(), 1u);
  e.l4.now += kTimeouts.udp + 1;
  const Result r = run(e, from_client().udp(5000, 53, pkt::text("q")));
  EXPECT_EQ(pkt::parse_udp(r.out)->sport, kFirstSnatPort + 1) << "expired: a new flow";
  EXPECT_EQ(e.l4.counters.new_flows, 2u);
}

// A packet that cannot be forwarded opens no flow: no record, no SNAT port.
TEST(L4Flows, ExpiringTtlOpensNoFlow) {
  Env e;
  EXPECT_EQ(describe(run(e, from_client(1).tcp_segment(seg(40001, 80, kSyn, 1))).verdict),
            describe(dropped(DropReason::kTtlExceeded)));
  EXPECT_EQ(describe(run(e, from_client6(1).udp(5000, 53, pkt::text("q"))).verdict),
            describe(dropped(DropReason::kTtlExceeded)));
  EXPECT_EQ(e.conns.size(), 0u);
  EXPECT_EQ(e.l4.counters.new_flows, 0u);
  const Result r = run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1)));
  ASSERT_EQ(r.verdict.action, Action::kForward);
  EXPECT_EQ(pkt::parse_tcp(r.out)->sport, kFirstSnatPort) << "the first port is still free";
}

// The backend of a nat flow was removed but still sends: the client gets a reset from the VIP
// with the backend's sequence number instead of waiting for its own timeout.
TEST(L4Flows, RemovedBackendStillSendingResetsTheClient) {
  const Net& n = net();
  Env e;
  const uint16_t p = client_port_for(e, kTcp, 90, 21);
  const Result syn = run(e, from_client().tcp_segment(seg(p, 90, kSyn, 100)));
  ASSERT_EQ(destination(syn.out), n.be1);
  const uint16_t snat_port = pkt::parse_tcp(syn.out)->sport;
  const uint16_t udp_p = client_port_for(e, kUdp, 90, 31);
  const Result q = run(e, from_client().udp(udp_p, 90, pkt::text("q")));
  const uint16_t udp_snat = pkt::parse_udp(q.out)->sport;
  e.install(without_backend(without_backend(default_services(), 21), 31));

  EXPECT_EQ(
      describe(run(e, from_backend(n.be1_mac, n.be1).udp(5353, udp_snat, pkt::text("a"))).verdict),
      describe(dropped(DropReason::kNoConnection)))
      << "UDP: nothing to tell";
  const Result r =
      run(e, from_backend(n.be1_mac, n.be1)
                 .tcp_segment(seg(8080, snat_port, kAck | kPsh, 7000, 101, kResponse)));
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kResetToClient)));
  TcpFields rst = seg(90, p, kRst, 7000);
  rst.window = 0;
  EXPECT_EQ(diff(r.out, Frame::eth(n.client_mac, n.port0_mac)
                            .ipv4(n.vip, n.client, 64)
                            .dont_fragment()
                            .tcp_segment(rst)),
            "");
  EXPECT_EQ(e.l4.counters.backend_gone, 2u);
  EXPECT_EQ(
      describe(
          run(e, from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, snat_port, kAck, 7001, 101)))
              .verdict),
      describe(dropped(DropReason::kNoConnection)))
      << "once";
}

TEST(L4Flows, RemovedBackendSendingAResetIsDropped) {
  const Net& n = net();
  Env e;
  const uint16_t p = client_port_for(e, kTcp, 90, 21);
  const Result syn = run(e, from_client().tcp_segment(seg(p, 90, kSyn, 100)));
  const uint16_t snat_port = pkt::parse_tcp(syn.out)->sport;
  e.install(without_backend(default_services(), 21));
  EXPECT_EQ(
      describe(run(e, from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, snat_port, kRst, 7000)))
                   .verdict),
      describe(dropped(DropReason::kNoConnection)));
}

// SNAT port p belongs to worker p % workers, whatever the number of workers: the reply comes
// back to the worker that has the record.
TEST(L4Flows, SnatPortsBelongToTheirWorker) {
  const Net& n = net();
  for (const uint16_t workers : {1, 2, 3, 4, 5, 6, 7, 12}) {
    for (uint16_t worker = 0; worker < workers; ++worker) {
      SCOPED_TRACE("worker " + std::to_string(worker) + " of " + std::to_string(workers));
      Env e(64, worker, workers);
      for (uint16_t p = 40000; p < 40004; ++p) {
        const Result r = run(e, from_client().udp(p, 53, pkt::text("q")));
        ASSERT_EQ(r.verdict.action, Action::kForward);
        const uint16_t sport = pkt::parse_udp(r.out)->sport;
        EXPECT_GE(sport, 1024);
        EXPECT_EQ(sport % workers, worker) << "port " << sport;
        const Result back = run(e, from_backend(n.be1_mac, n.be1).udp(5353, sport, pkt::text("a")));
        EXPECT_EQ(describe(back.verdict), describe(forwarded(ForwardKind::kToClient)));
      }
    }
  }
}

// A full-NAT TCP segment without SYN whose flow this worker does not know is not a new flow:
// the other workers are asked in turn (a NIC or af_packet fanout can move a flow's packets to
// another queue), and the last one resets it. A new SNAT mapping for it could never work: the
// backend knows the connection by another SNAT port and would reset it after a detour.
TEST(L4Flows, FullNatSegmentWithoutARecordIsAskedOfTheOtherWorkersThenReset) {
  const struct {
    uint16_t worker, workers;
    uint8_t hops;
    Verdict expect;
  } cases[] = {
      {0, 1, 0, reset()}, {0, 3, 0, handed_off(1)}, {0, 3, 1, handed_off(1)},
      {0, 3, 2, reset()}, {2, 3, 0, handed_off(0)}, {1, 2, 0, handed_off(0)},
      {1, 2, 1, reset()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("worker " + std::to_string(c.worker) + " of " + std::to_string(c.workers) +
                 ", hops " + std::to_string(c.hops));
    for (const uint8_t flags : {kAck, uint8_t(kAck | kPsh), uint8_t(kFin | kAck), kFin}) {
      Env e(64, c.worker, c.workers);
      e.l4.handoff_hops = c.hops;
      const Result r = run(e, from_client().tcp_segment(seg(40001, 80, flags, 7, 9)));
      EXPECT_EQ(describe(r.verdict), describe(c.expect)) << "flags " << int{flags};
      EXPECT_EQ(e.conns.size(), 0u) << "no record, no SNAT port";
      if (r.verdict.action == Action::kReply) {
        const auto tcp = pkt::parse_tcp(r.out);
        ASSERT_TRUE(tcp);
        if ((flags & kAck) != 0) {
          EXPECT_EQ(tcp->flags, kRst);
          EXPECT_EQ(tcp->seq, 9u) << "RFC 9293: the segment's ACK";
        }
      }
    }
  }
  // IPv6 alike.
  Env e6(64, 0, 2);
  EXPECT_EQ(describe(run(e6, from_client6().tcp_segment(seg(40001, 80, kAck, 7, 9))).verdict),
            describe(handed_off(1)));
  e6.l4.handoff_hops = 1;
  EXPECT_EQ(describe(run(e6, from_client6().tcp_segment(seg(40001, 80, kAck, 7, 9))).verdict),
            describe(reset()));
}

TEST(L4Flows, DsrAndIpipTakeUpASegmentWithoutARecord) {
  // Their backends hold the connection and Maglev finds the same one: nothing to ask or reset.
  const Net& n = net();
  Env e(64, 0, 2);
  const Result dsr = run(e, from_client().tcp_segment(seg(40001, 1080, kAck, 7, 9)));
  EXPECT_EQ(describe(dsr.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(pkt::parse_eth(dsr.out)->dst, n.be2_mac);
  const Result ipip = run(e, from_client().tcp_segment(seg(40001, 2080, kAck, 7, 9)));
  EXPECT_EQ(describe(ipip.verdict), describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  EXPECT_EQ(e.conns.size(), 2u);
  // A full-NAT SYN and UDP datagram are new flows wherever they land.
  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(40002, 80, kSyn, 1))).verdict),
            describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(describe(run(e, from_client().udp(5000, 53, pkt::text("q"))).verdict),
            describe(forwarded(ForwardKind::kToBackend)));
}

// Wherever a backend's SNAT cursor stands, the port is in [1024, 65535] and the worker's; a
// cursor past the worker's last port starts again at its first.
TEST(L4Flows, SnatPortRange) {
  for (const uint16_t workers : {1, 2, 3, 7}) {
    for (uint16_t worker = 0; worker < workers; ++worker) {
      SCOPED_TRACE("worker " + std::to_string(worker) + " of " + std::to_string(workers));
      Env e(128, worker, workers);
      const uint32_t base = (1024 + workers - 1) / workers * workers;
      const uint32_t slots = (65535 - base - worker) / workers + 1;
      std::set<uint16_t> ports;
      uint16_t client_port = 10000;
      std::vector<uint32_t> starts;
      for (uint32_t v = 0; v < slots; v += 4099) starts.push_back(v);
      for (uint32_t v = slots - 40; v < slots; ++v) starts.push_back(v);
      for (const uint32_t start : starts) {
        std::fill(std::begin(e.l4.snat_cursor), std::end(e.l4.snat_cursor), start);
        const Result r = run(e, from_client().udp(client_port++, 53, pkt::text("q")));
        ASSERT_EQ(r.verdict.action, Action::kForward) << "cursor " << start;
        const uint16_t port = pkt::parse_udp(r.out)->sport;
        EXPECT_GE(port, 1024) << "cursor " << start;
        EXPECT_EQ(port, base + start * workers + worker) << "cursor " << start;
        EXPECT_EQ(port % workers, worker) << "cursor " << start;
        ports.insert(port);
      }
      EXPECT_EQ(ports.size(), starts.size()) << "different cursors, different ports";
      EXPECT_EQ(*ports.rbegin(), base + (slots - 1) * workers + worker);
      EXPECT_LE(*ports.rbegin(), 65535);
      // Past the end: the first port again (a fresh table: the first run still holds it).
      Env fresh(128, worker, workers);
      std::fill(std::begin(fresh.l4.snat_cursor), std::end(fresh.l4.snat_cursor), slots);
      const Result r = run(fresh, from_client().udp(client_port++, 53, pkt::text("q")));
      ASSERT_EQ(r.verdict.action, Action::kForward);
      EXPECT_EQ(pkt::parse_udp(r.out)->sport, base + worker);
    }
  }
}

// A backend keeps its SNAT cursor when a Snapshot gives it a new id (a drain or an edit rebuilds
// its service), and shares it with every service that reaches the same address and port: a fresh
// cursor would start on ports whose reply tuples the endpoint's recent flows still hold, and
// after 16 taken ports the new flow would fail (a Gateway answered 503 right after a drain).
TEST(L4Flows, SnatCursorFollowsTheEndpointNotTheId) {
  Env e(256);
  std::set<uint16_t> ports;
  uint16_t client_port = 30000;
  for (int i = 0; i < 20; ++i) {
    const Result r = run(e, from_client().tcp_segment(seg(client_port++, 80, kSyn, 1)));
    ASSERT_EQ(r.verdict.action, Action::kForward) << i;
    ports.insert(pkt::parse_tcp(r.out)->sport);
  }
  ASSERT_EQ(ports.size(), 20u);
  // The same endpoint under a new id: its next flows take the ports after those.
  std::vector<ServiceDef> rebuilt = default_services();
  rebuilt[0].backends[0].id = 1001;
  e.install(rebuilt);
  for (int i = 0; i < 5; ++i) {
    const Result r = run(e, from_client().tcp_segment(seg(client_port++, 80, kSyn, 1)));
    ASSERT_EQ(r.verdict.action, Action::kForward) << "new id, flow " << i;
    EXPECT_TRUE(ports.insert(pkt::parse_tcp(r.out)->sport).second) << "a port still in use";
  }
  EXPECT_EQ(e.tables->backends()[0].snat_cursor,
            lb::snat_cursor_of(e.tables->backends()[0].addr, e.tables->backends()[0].port, 0));
}

// ---- burst hints (flow_hint, flow_prefetch) ---------------------------------------------------

TEST(L4Hints, HintHashesTheTupleTheLookupUses) {
  const Net& n = net();
  const struct {
    const char* what;
    Bytes frame;
    uint8_t l4_offset;
    FlowTuple tuple;  // what the L4 path looks up
  } cases[] = {
      {"TCP over IPv4", from_client().tcp_segment(seg(40001, 80, kSyn, 1)), 34, {}},
      {"UDP over IPv4", from_client().udp(5000, 53, pkt::text("q")), 34, {}},
      {"IPv4 with options", from_client().ipv4_options(Bytes(8, 1)).udp(5000, 53), 42, {}},
      {"TCP over IPv6", from_client6().tcp_segment(seg(40001, 80, kSyn, 1)), 54, {}},
      {"UDP over IPv6, backend to SNAT",
       from_backend6(n.be1_6_mac, n.be1_6).udp(5353, 1024),
       54,
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    FlowHint h;
    flow_hint(c.frame.data(), static_cast<uint16_t>(c.frame.size()), &h);
    ASSERT_EQ(h.l4_offset, c.l4_offset);
    const bool v6 = c.l4_offset == 54;
    EXPECT_EQ(h.v6, v6);
    EXPECT_EQ(h.snat_port, 0);
    // The tuple as the L4 path builds it: addresses, ports, protocol, family.
    FlowTuple t{};
    const uint8_t* ip = c.frame.data() + 14;
    std::memcpy(t.src, ip + (v6 ? 8 : 12), v6 ? 16 : 4);
    std::memcpy(t.dst, ip + (v6 ? 24 : 16), v6 ? 16 : 4);
    std::memcpy(&t.sport, c.frame.data() + c.l4_offset, 2);
    std::memcpy(&t.dport, c.frame.data() + c.l4_offset + 2, 2);
    t.proto = ip[v6 ? 6 : 9];
    t.v6 = v6;
    EXPECT_EQ(h.hash, ConnTable::hash(t));
  }
}

TEST(L4Hints, NoHintForWhatIsNotAWholeTcpOrUdpHeader) {
  const Net& n = net();
  const struct {
    const char* what;
    Bytes frame;
  } cases[] = {
      {"ARP", Frame::eth(n.port0_mac, n.client_mac).arp_request(n.client_mac, n.client, n.vip)},
      {"ICMP echo", from_client().icmp_echo(1, 1)},
      {"ICMPv6 echo", from_client6().icmp6_echo(1, 1)},
      {"TCP header cut short",
       from_client().tcp_segment(seg(40001, 80, kSyn, 1)).truncate(14 + 20 + 19)},
      {"UDP header cut short", from_client().udp(5000, 53).truncate(14 + 20 + 7)},
      {"IPv6 header cut short", from_client6().udp(5000, 53).truncate(14 + 30)},
      {"IHL below 5", from_client().udp(5000, 53).ihl(4)},
      {"runt", Bytes(20, 0)},
  };
  for (const auto& c : cases) {
    FlowHint h;
    h.l4_offset = 99;
    flow_hint(c.frame.data(), static_cast<uint16_t>(c.frame.size()), &h);
    EXPECT_EQ(h.l4_offset, 0) << c.what;
  }
}

uint16_t source_port(const Bytes& f) {
  if (const auto tcp = pkt::parse_tcp(f)) return tcp->sport;
  if (const auto udp = pkt::parse_udp(f)) return udp->sport;
  ADD_FAILURE() << "neither TCP nor UDP";
  return 0;
}

// Frames prepared together as a worker prepares a burst (hint all, prefetch all), then handled
// in order, each with its hint. Returns the hints and the results.
struct BurstRun {
  std::vector<FlowHint> hints;
  std::vector<Result> results;
};
BurstRun run_burst(Env& e, const std::vector<Bytes>& frames) {
  std::vector<Bytes> bufs;
  for (const Bytes& f : frames) {
    Bytes b(kHeadroom + f.size() + 64, 0);
    std::copy(f.begin(), f.end(), b.begin() + kHeadroom);
    bufs.push_back(std::move(b));
  }
  BurstRun out;
  out.hints.resize(frames.size());
  e.l4.new_flows_hinted = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    flow_hint(bufs[i].data() + kHeadroom, static_cast<uint16_t>(frames[i].size()), &out.hints[i]);
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    flow_prefetch(bufs[i].data() + kHeadroom, &out.hints[i], e.l4);
  }
  for (size_t i = 0; i < frames.size(); ++i) {
    uint8_t* const frame = bufs[i].data() + kHeadroom;
    uint16_t len = static_cast<uint16_t>(frames[i].size());
    e.l4.hint = out.hints[i];
    Result r;
    r.verdict = handle_frame(frame, &len, static_cast<uint16_t>(len + 64), kHeadroom, e.ports[0],
                             e.addresses, &e.l4);
    const uint16_t pre =
        r.verdict.action == Action::kForward ? forward_prepended(r.verdict.forward) : 0;
    r.out.assign(frame - pre, frame - pre + len);
    out.results.push_back(std::move(r));
  }
  e.l4.hint = {};
  return out;
}

TEST(L4Hints, PrefetchPredictsTheSnatPortEachNewFlowGets) {
  const Net& n = net();
  Env e;
  const std::vector<Bytes> frames = {
      from_client().tcp_segment(seg(40001, 80, kSyn, 1)),     // backend 1: 1024
      from_client().udp(5000, 53, pkt::text("q")),            // backend 2: 1024
      from_client().tcp_segment(seg(40002, 80, kSyn, 1)),     // backend 1: 1025
      from_client().tcp_segment(seg(40003, 1080, kSyn, 1)),   // DSR: no port
      from_client().tcp_segment(seg(40004, 80, kRst, 1)),     // opens nothing
      from_client().udp(5000, 7777),                          // no service
      from_backend(n.be1_mac, n.be1).udp(5353, 2000),         // not to a VIP
      from_client().tcp_segment(seg(40005, 80, kSyn, 1)),     // backend 1: 1026
      from_client().tcp_segment(seg(40001, 80, kAck, 2, 1)),  // the first flow again
  };
  const BurstRun r = run_burst(e, frames);
  // The last frame belongs to the burst's first flow, which has no record yet when the burst is
  // prepared: it is predicted as a new flow (1027) but handled through the record (1024).
  const uint16_t want[] = {1024, 1024, 1025, 0, 0, 0, 0, 1026, 1027};
  for (size_t i = 0; i + 1 < frames.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    EXPECT_EQ(r.hints[i].snat_port, be16(want[i]));
    if (want[i] == 0) continue;
    ASSERT_EQ(r.results[i].verdict.action, Action::kForward);
    EXPECT_EQ(source_port(r.results[i].out), want[i])
        << "the flow got the port whose bucket was prefetched";
  }
  EXPECT_EQ(r.hints[8].snat_port, be16(want[8]));
  EXPECT_EQ(e.l4.new_flows_hinted, 6) << "five full-NAT flows and the DSR one";
  // The first flow's second segment went through its record with the same port.
  EXPECT_EQ(source_port(r.results[8].out), 1024);

  // A prediction that does not come true (the flow before it could not be sent: its TTL ran
  // out) only costs a prefetch: the port taken is the one unhinted handling takes.
  Env hinted, plain;
  const std::vector<Bytes> second = {
      from_client(1).tcp_segment(seg(40010, 80, kSyn, 1)),  // TTL 1: dropped, takes no port
      from_client().tcp_segment(seg(40011, 80, kSyn, 1)),
  };
  const BurstRun r2 = run_burst(hinted, second);
  EXPECT_EQ(r2.hints[0].snat_port, be16(1024));
  EXPECT_EQ(r2.hints[1].snat_port, be16(1025)) << "predicted behind the first";
  EXPECT_EQ(describe(r2.results[0].verdict), describe(dropped(DropReason::kTtlExceeded)));
  ASSERT_EQ(r2.results[1].verdict.action, Action::kForward);
  EXPECT_EQ(source_port(r2.results[1].out), 1024) << "but it takes the port unhinted takes";
  run(plain, second[0]);
  EXPECT_EQ(diff(r2.results[1].out, run(plain, second[1]).out), "");
}

// A worker hints every frame; tests call handle_frame() bare. Both must do exactly the same:
// the same conversation through two tables, one hinted and one not, frame for frame.
TEST(L4Hints, HintedFramesAreHandledExactlyLikeUnhintedOnes) {
  const Net& n = net();
  for (const uint16_t workers : {1, 2}) {
    SCOPED_TRACE("workers " + std::to_string(workers));
    Env plain(64, 0, workers), hinted(64, 0, workers);
    std::vector<Bytes> frames = {
        from_client().tcp_segment(seg(40001, 80, kSyn, 1000)),
        from_backend(n.be1_mac, n.be1).tcp_segment(seg(8080, 1024, kSyn | kAck, 5000, 1001)),
        from_client().tcp_segment(seg(40001, 80, kAck, 1001, 5001)),
        from_client().udp(5000, 53, pkt::text("query")),
        from_backend(n.be1_mac, n.be1).udp(5353, 1024, pkt::text("answer")),
        from_client().tcp_segment(seg(40002, 90, kSyn, 1)),
        from_client().tcp_segment(seg(40003, 1080, kSyn, 1)),
        from_client().tcp_segment(seg(40003, 2080, kSyn, 1)),
        from_client().tcp_segment(seg(40004, 443, kSyn, 1)),
        from_client().udp(5000, 7777),
        from_client().tcp_segment(seg(40005, 80, kRst, 1)),
        from_client6().tcp_segment(seg(40001, 80, kSyn, 1)),
        from_backend6(n.be1_6_mac, n.be1_6).tcp_segment(seg(8080, 1024, kSyn | kAck, 9, 2)),
        from_client6().udp(5000, 53, pkt::text("q6")),
        from_client().tcp_segment(seg(40001, 80, kFin | kAck, 1001, 5001)),
        from_client().tcp_segment(seg(40001, 80, kSyn, 9000)),
        from_client().ipv4_options(Bytes(4, 1)).udp(5001, 53, pkt::text("opt")),
    };
    for (uint16_t p = 41000; p < 41040; ++p) {  // more new flows than fit a burst of hints
      frames.push_back(from_client().tcp_segment(seg(p, 90, kSyn, 1)));
    }
    for (size_t i = 0; i < frames.size(); ++i) {
      SCOPED_TRACE("frame " + std::to_string(i));
      const Result a = run(plain, frames[i]);
      const Result b = run(hinted, frames[i], 0, kHeadroom, true);
      EXPECT_EQ(describe(b.verdict), describe(a.verdict));
      EXPECT_EQ(diff(b.out, a.out), "");
    }
    EXPECT_EQ(hinted.conns.size(), plain.conns.size());
  }
}

// ---- resources ------------------------------------------------------------------------------

// A frame for a next hop whose MAC is unknown is rewritten and held (the worker sends it when
// the MAC arrives); the next hop is asked for once per request interval.
TEST(L4Resources, UnresolvedNextHopHoldsTheFrameAndAsksOncePerInterval) {
  const Net& n = net();
  Env e;
  const Bytes syn = from_client().tcp_segment(seg(40001, 99, kSyn, 1));
  const Result first = run(e, syn);
  EXPECT_EQ(describe(first.verdict), describe(held(ForwardKind::kToBackend)));
  EXPECT_EQ(e.l4.hold_nexthop, kNhUnresolved);
  EXPECT_EQ(destination(first.out), n.be_unresolved) << "rewritten for the backend";
  EXPECT_EQ(pkt::parse_eth(first.out)->dst, n.port0_mac) << "all but the MACs";
  ASSERT_EQ(e.l4.n_resolve, 1u);
  EXPECT_EQ(e.l4.resolve[0], kNhUnresolved);
  EXPECT_EQ(e.conns.size(), 1u) << "the flow has its record: the SYN is on its way";
  EXPECT_EQ(e.l4.counters.new_flows, 1u);

  e.l4.now += kRequestInterval - 1;
  const Result again = run(e, syn);
  EXPECT_EQ(describe(again.verdict), describe(held(ForwardKind::kToBackend)));
  EXPECT_EQ(diff(again.out, first.out), "") << "the retransmission goes the flow's way";
  EXPECT_EQ(describe(run(e, from_client().udp(5000, 99, pkt::text("d"))).verdict),
            describe(held(ForwardKind::kToBackend)))
      << "DSR too";
  EXPECT_EQ(e.l4.n_resolve, 1u) << "not again within the interval";

  e.l4.now += 1;
  run(e, syn);
  ASSERT_EQ(e.l4.n_resolve, 2u);
  EXPECT_EQ(e.l4.resolve[1], kNhUnresolved);

  // IPv6 next hop: its own request.
  EXPECT_EQ(describe(run(e, from_client6().tcp_segment(seg(40001, 99, kSyn, 1))).verdict),
            describe(held(ForwardKind::kToBackend)));
  EXPECT_EQ(e.l4.hold_nexthop, kNhUnresolved6);
  ASSERT_EQ(e.l4.n_resolve, 3u);
  EXPECT_EQ(e.l4.resolve[2], kNhUnresolved6);

  // Learned: the flow goes.
  const pkt::Mac mac = pkt::mac("02:be:00:00:00:29");
  e.neighbors.learn(kNhUnresolved, mac.bytes.data(), e.l4.now);
  const Result r = run(e, syn);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(pkt::parse_eth(r.out)->dst, mac);
  EXPECT_EQ(destination(r.out), n.be_unresolved);
  EXPECT_EQ(diff(with_macs(first.out, mac, n.port0_mac), r.out), "")
      << "what was held is what is sent, once the MACs are set";
}

TEST(L4Resources, IpipToAnUnresolvedTunnelEndIsHeldEncapsulated) {
  const Net& n = net();
  Env e;
  e.neighbors.reset(kNhTun);
  const Result r = run(e, from_client().tcp_segment(seg(40001, 2080, kSyn, 1)));
  ASSERT_EQ(describe(r.verdict), describe(held(ForwardKind::kToBackendIpip4, 1)));
  EXPECT_EQ(e.l4.hold_nexthop, kNhTun);
  ASSERT_EQ(r.out.size(), 14u + 20 + 20 + 20) << "the outer header is there";
  EXPECT_EQ(destination(r.out), n.tun);
}

TEST(L4Resources, ResolveListIsBounded) {
  Env e;
  const Bytes syn = from_client().tcp_segment(seg(40001, 99, kSyn, 1));
  for (unsigned i = 0; i < L4Context::kMaxResolve + 5; ++i) {
    e.l4.now += kRequestInterval;
    run(e, syn);
  }
  EXPECT_EQ(e.l4.n_resolve, L4Context::kMaxResolve);
}

TEST(L4Resources, FullConnTable) {
  const Net& n = net();
  Env e(2);
  ASSERT_EQ(run(e, from_client().udp(5000, 53, pkt::text("a"))).verdict.action, Action::kForward);
  ASSERT_EQ(run(e, from_client().udp(5001, 53, pkt::text("b"))).verdict.action, Action::kForward);
  ASSERT_EQ(e.conns.size(), 2u);

  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1))).verdict),
            describe(dropped(DropReason::kConnTableFull)))
      << "nat cannot translate replies without a record";
  EXPECT_EQ(describe(run(e, from_client6().udp(5000, 53, pkt::text("c"))).verdict),
            describe(dropped(DropReason::kConnTableFull)));

  const Bytes dsr = from_client().tcp_segment(seg(40001, 1080, kSyn, 1));
  const Result r = run(e, dsr);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackend)));
  EXPECT_EQ(diff(r.out, with_macs(dsr, n.be2_mac, n.port0_mac)), "");
  EXPECT_EQ(e.l4.counters.stateless_flows, 1u);

  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(40001, 2080, kSyn, 1))).verdict),
            describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  EXPECT_EQ(e.l4.counters.stateless_flows, 2u);
  // Stateless DSR still sends each flow to one backend (Maglev).
  for (uint16_t p = 6000; p < 6010; ++p) {
    const Result a = run(e, from_client().udp(p, 1090, {2}));
    const Result b = run(e, from_client().udp(p, 1090, {3}));
    EXPECT_EQ(pkt::parse_eth(a.out)->dst, pkt::parse_eth(b.out)->dst);
  }
  EXPECT_EQ(e.conns.size(), 2u);
  EXPECT_EQ(e.l4.counters.new_flows, 2u);

  // Once a record expires there is room again.
  e.l4.now += kTimeouts.udp + 1;
  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1))).verdict),
            describe(forwarded(ForwardKind::kToBackend)));
}

// ---- traffic counters (nf/traffic.h)
// -------------------------------------------------------------

std::string str(const TrafficCounts& c) {
  return "in " + std::to_string(c.packets_in) + "/" + std::to_string(c.bytes_in) + " out " +
         std::to_string(c.packets_out) + "/" + std::to_string(c.bytes_out) + " conns " +
         std::to_string(c.connections);
}
TrafficCounts counts(size_t in_packets, size_t in_bytes, size_t out_packets, size_t out_bytes,
                     size_t connections) {
  return {in_packets, in_bytes, out_packets, out_bytes, connections};
}
// The counts of a service port (by its position in default_services()) / of a backend (by id);
// "not owned" if the slot is not that key's.
std::string service_traffic(const Env& e, size_t position) {
  TrafficCounts c;
  if (!e.traffic->services[position + 1].read(static_cast<uint32_t>(kServiceIdBase + position),
                                              &c)) {
    return "not owned";
  }
  return str(c);
}
std::string backend_traffic(const Env& e, uint32_t id) {
  TrafficCounts c;
  if (!e.traffic->backends[id].read(id, &c)) return "not owned";
  return str(c);
}
std::string other_traffic(const Env& e) {
  TrafficCounts s, b;
  e.traffic->services[kTrafficOtherSlot].read(0, &s);
  e.traffic->backends[kTrafficOtherSlot].read(0, &b);
  return str(s) + " | " + str(b);
}
const std::string kNoTraffic = str({}) + " | " + str({});

TEST(L4Traffic, NatCountsSynDataAndReplies) {
  const Net& n = net();
  Env e;
  const Bytes syn = from_client().tcp_segment(seg(40001, 80, kSyn, 1));
  const Bytes data = from_client().tcp_segment(seg(40001, 80, kAck | kPsh, 2, 1, kRequest));
  const Bytes reply = from_backend(n.be1_mac, n.be1)
                          .tcp_segment(seg(8080, kFirstSnatPort, kAck | kPsh, 1,
                                           2 + static_cast<uint32_t>(kRequest.size()), kResponse));
  ASSERT_EQ(describe(run(e, syn).verdict), describe(forwarded(ForwardKind::kToBackend)));
  ASSERT_EQ(describe(run(e, data).verdict), describe(forwarded(ForwardKind::kToBackend)));
  ASSERT_EQ(describe(run(e, reply).verdict), describe(forwarded(ForwardKind::kToClient)));
  const std::string want = str(counts(2, syn.size() + data.size(), 1, reply.size(), 1));
  EXPECT_EQ(service_traffic(e, 0), want) << "TCP 80, nat";
  EXPECT_EQ(backend_traffic(e, 1), want);
  EXPECT_EQ(service_traffic(e, 1), "not owned") << "UDP 53 saw nothing";
  EXPECT_EQ(other_traffic(e), kNoTraffic);

  // A second flow to the same port: one more connection on both.
  const Bytes syn2 = from_client().tcp_segment(seg(40002, 80, kSyn, 1));
  ASSERT_EQ(run(e, syn2).verdict.action, Action::kForward);
  EXPECT_EQ(service_traffic(e, 0),
            str(counts(3, syn.size() + data.size() + syn2.size(), 1, reply.size(), 2)));
}

TEST(L4Traffic, NatOverIpv6) {
  const Net& n = net();
  Env e;
  const Bytes q = from_client6().udp(5000, 53, pkt::text("query"));
  const Bytes a = from_backend6(n.be1_6_mac, n.be1_6).udp(5353, kFirstSnatPort, pkt::text("ans"));
  ASSERT_EQ(run(e, q).verdict.action, Action::kForward);
  ASSERT_EQ(describe(run(e, a).verdict), describe(forwarded(ForwardKind::kToClient)));
  const std::string want = str(counts(1, q.size(), 1, a.size(), 1));
  EXPECT_EQ(service_traffic(e, 16), want) << "IPv6 UDP 53";
  EXPECT_EQ(backend_traffic(e, 102), want);
}

TEST(L4Traffic, DsrCountsTheClientSide) {
  Env e;
  const Bytes syn = from_client().tcp_segment(seg(40001, 1080, kSyn, 1));
  const Bytes ack = from_client().tcp_segment(seg(40001, 1080, kAck, 2, 1, kRequest));
  ASSERT_EQ(run(e, syn).verdict.action, Action::kForward);
  ASSERT_EQ(run(e, ack).verdict.action, Action::kForward);
  const std::string want = str(counts(2, syn.size() + ack.size(), 0, 0, 1));
  EXPECT_EQ(service_traffic(e, 2), want);
  EXPECT_EQ(backend_traffic(e, 3), want);
}

TEST(L4Traffic, IpipCountsTheFramesAsReceived) {
  Env e;
  const Bytes syn = from_client().tcp_segment(seg(40001, 2080, kSyn, 1));
  const Bytes data = from_client().tcp_segment(seg(40001, 2080, kAck, 2, 1, kRequest));
  const Result r = run(e, syn);
  ASSERT_EQ(describe(r.verdict), describe(forwarded(ForwardKind::kToBackendIpip4, 1)));
  ASSERT_EQ(r.out.size(), syn.size() + 20);
  ASSERT_EQ(run(e, data).verdict.action, Action::kForward);
  const std::string want = str(counts(2, syn.size() + data.size(), 0, 0, 1));
  EXPECT_EQ(service_traffic(e, 4), want) << "the tunnel header is not counted";
  EXPECT_EQ(backend_traffic(e, 5), want);
}

TEST(L4Traffic, WhatIsNotSentOnIsNotCounted) {
  Env e;
  EXPECT_EQ(describe(run(e, from_client(1).tcp_segment(seg(40001, 80, kSyn, 1))).verdict),
            describe(dropped(DropReason::kTtlExceeded)));
  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(40001, 443, kSyn, 1))).verdict),
            describe(reset()));
  EXPECT_EQ(describe(run(e, from_client().udp(5000, 443, pkt::text("x"))).verdict),
            describe(dropped(DropReason::kNoEndpoint)));
  EXPECT_EQ(service_traffic(e, 0), "not owned");
  EXPECT_EQ(service_traffic(e, 13), "not owned");
  EXPECT_EQ(other_traffic(e), kNoTraffic);
  // A flow's packet that expires on the way is counted as a drop, not as traffic.
  ASSERT_EQ(run(e, from_client().tcp_segment(seg(40001, 80, kSyn, 1))).verdict.action,
            Action::kForward);
  EXPECT_EQ(run(e, from_client(1).tcp_segment(seg(40001, 80, kAck, 2, 1))).verdict.action,
            Action::kDrop);
  const size_t syn_len = Bytes(from_client().tcp_segment(seg(40001, 80, kSyn, 1))).size();
  EXPECT_EQ(service_traffic(e, 0), str(counts(1, syn_len, 0, 0, 1)));
}

TEST(L4Traffic, FlowsWithoutARecordCountPacketsNotConnections) {
  Env e(2);
  ASSERT_EQ(run(e, from_client().udp(5000, 53, pkt::text("a"))).verdict.action, Action::kForward);
  ASSERT_EQ(run(e, from_client().udp(5001, 53, pkt::text("b"))).verdict.action, Action::kForward);
  const Bytes dsr = from_client().tcp_segment(seg(40001, 1080, kSyn, 1));
  ASSERT_EQ(run(e, dsr).verdict.action, Action::kForward);
  ASSERT_EQ(run(e, dsr).verdict.action, Action::kForward);
  ASSERT_EQ(e.l4.counters.stateless_flows, 2u);
  EXPECT_EQ(service_traffic(e, 2), str(counts(2, 2 * dsr.size(), 0, 0, 0)));
  EXPECT_EQ(backend_traffic(e, 3), str(counts(2, 2 * dsr.size(), 0, 0, 0)));
}

// A slot another key counted in before (a backend removed in an earlier Snapshot) is zeroed by
// the first new flow of its new owner; the old owner's reader no longer finds it.
TEST(L4Traffic, ANewOwnerTakesTheSlotOverFromZero) {
  Env e;
  TrafficSlot& slot = e.traffic->backends[1];
  slot.claim(777);
  slot.packets_in.add(50);
  slot.connections.add(5);
  TrafficCounts c;
  ASSERT_TRUE(slot.read(777, &c));
  ASSERT_EQ(c.packets_in, 50u);

  const Bytes syn = from_client().tcp_segment(seg(40001, 80, kSyn, 1));
  ASSERT_EQ(run(e, syn).verdict.action, Action::kForward);
  EXPECT_EQ(backend_traffic(e, 1), str(counts(1, syn.size(), 0, 0, 1)));
  EXPECT_FALSE(slot.read(777, &c)) << "the old owner's counts are gone with it";
}

// Flows keep counting on their slots across a new Snapshot that keeps their backend; a flow
// whose backend was removed counts nothing more.
TEST(L4Traffic, CountsAcrossGenerations) {
  Env e;
  const uint16_t keep = client_port_for(e, kTcp, 90, 22);
  const uint16_t gone = client_port_for(e, kTcp, 90, 21);
  const Bytes syn_keep = from_client().tcp_segment(seg(keep, 90, kSyn, 1));
  const Bytes syn_gone = from_client().tcp_segment(seg(gone, 90, kSyn, 1));
  ASSERT_EQ(run(e, syn_keep).verdict.action, Action::kForward);
  ASSERT_EQ(run(e, syn_gone).verdict.action, Action::kForward);
  e.install(without_backend(default_services(), 21));
  const Bytes ack_keep = from_client().tcp_segment(seg(keep, 90, kAck, 2, 1));
  ASSERT_EQ(run(e, ack_keep).verdict.action, Action::kForward);
  EXPECT_EQ(describe(run(e, from_client().tcp_segment(seg(gone, 90, kAck, 2, 1))).verdict),
            describe(reset()));
  EXPECT_EQ(backend_traffic(e, 22), str(counts(2, syn_keep.size() + ack_keep.size(), 0, 0, 1)));
  EXPECT_EQ(backend_traffic(e, 21), str(counts(1, syn_gone.size(), 0, 0, 1)));
  EXPECT_EQ(service_traffic(e, 6),
            str(counts(3, syn_keep.size() + syn_gone.size() + ack_keep.size(), 0, 0, 2)));
}

// ---- neighbor learning ------------------------------------------------------------------------

class L4Learning : public ::testing::Test {
 protected:
  // Snapshot of every entry, to show that a frame changed nothing.
  std::vector<std::pair<bool, uint64_t>> entries() const {
    std::vector<std::pair<bool, uint64_t>> v;
    for (uint32_t i = 0; i < e.neighbors.capacity(); ++i) {
      v.emplace_back(e.neighbors.valid(i), e.neighbors.confirmed(i));
    }
    return v;
  }
  pkt::Mac learned(uint32_t idx) const {
    pkt::Mac m;
    EXPECT_TRUE(e.neighbors.get(idx, m.bytes.data()));
    return m;
  }

  Env e;
  const Net& n = net();
  const pkt::Mac mac29 = pkt::mac("02:be:00:00:00:29");
};

TEST_F(L4Learning, ArpReplyFromANextHop) {
  e.l4.now = kNow + 5;
  run(e, Frame::eth(n.port0_mac, mac29).arp_reply(mac29, n.be_unresolved, n.port0_mac, n.node0));
  EXPECT_EQ(learned(kNhUnresolved), mac29);
  EXPECT_EQ(e.neighbors.confirmed(kNhUnresolved), kNow + 5);
}

TEST_F(L4Learning, ArpRequestFromANextHop) {
  run(e, Frame::eth(pkt::kBroadcastMac, mac29).arp_request(mac29, n.be_unresolved, n.node0));
  EXPECT_EQ(learned(kNhUnresolved), mac29);
}

TEST_F(L4Learning, ArpRefreshesAndChangesAKnownEntry) {
  const pkt::Mac moved = pkt::mac("02:be:00:00:01:21");
  e.l4.now = kNow + 7;
  run(e, Frame::eth(pkt::kBroadcastMac, moved).arp_request(moved, n.be1, n.node0));
  EXPECT_EQ(learned(kNhBe1), moved);
  EXPECT_EQ(e.neighbors.confirmed(kNhBe1), kNow + 7);
}

TEST_F(L4Learning, ArpFromAnUnknownAddressChangesNothing) {
  const auto before = entries();
  run(e,
      Frame::eth(pkt::kBroadcastMac, mac29).arp_request(mac29, pkt::ip4("198.51.100.99"), n.node0));
  EXPECT_EQ(entries(), before);
}

TEST_F(L4Learning, ArpWithAGroupSenderAddressIsNotLearned) {
  run(e, Frame::eth(pkt::kBroadcastMac, mac29)
             .arp_request(pkt::kBroadcastMac, n.be_unresolved, n.node0));
  EXPECT_FALSE(e.neighbors.valid(kNhUnresolved));
}

TEST_F(L4Learning, ArpForAnotherMacIsNotLearned) {
  run(e, Frame::eth(pkt::mac("02:cc:00:00:00:01"), mac29)
             .arp_reply(mac29, n.be_unresolved, n.port0_mac, n.node0));
  EXPECT_FALSE(e.neighbors.valid(kNhUnresolved)) << "not ours: dropped before anything";
}

TEST_F(L4Learning, NeighborAdvertisementWithTargetLinkAddress) {
  e.l4.now = kNow + 9;
  run(e, Frame::eth(n.port0_mac, pkt::mac("02:00:00:00:99:99"))
             .ipv6(n.be_unresolved6, n.node0_6, 255)
             .ndp_na(n.be_unresolved6, {false, true, true}, mac29));
  EXPECT_EQ(learned(kNhUnresolved6), mac29) << "the option, not the Ethernet source";
  EXPECT_EQ(e.neighbors.confirmed(kNhUnresolved6), kNow + 9);
}

TEST_F(L4Learning, NeighborAdvertisementWithoutOptionUsesTheEthernetSource) {
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(n.be_unresolved6, n.node0_6, 255)
             .ndp_na(n.be_unresolved6, {false, true, false}));
  EXPECT_EQ(learned(kNhUnresolved6), mac29);
}

TEST_F(L4Learning, NeighborSolicitationWithSourceLinkAddress) {
  run(e, Frame::eth(pkt::multicast_mac(pkt::solicited_node(n.node0_6)), mac29)
             .ipv6(n.be_unresolved6, pkt::solicited_node(n.node0_6), 255)
             .ndp_ns(n.node0_6, mac29));
  EXPECT_EQ(learned(kNhUnresolved6), mac29);
}

TEST_F(L4Learning, NdpThatMustNotTeach) {
  const auto before = entries();
  // Hop limit not 255 (RFC 4861 7.1.2: possibly from off-link).
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(n.be_unresolved6, n.node0_6, 64)
             .ndp_na(n.be_unresolved6, {false, true, true}, mac29));
  // A target that is not a next hop.
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(pkt::ip6("2001:db8:100::99"), n.node0_6, 255)
             .ndp_na(pkt::ip6("2001:db8:100::99"), {false, true, true}, mac29));
  // An NS without a source link-layer option.
  run(e, Frame::eth(pkt::multicast_mac(pkt::solicited_node(n.node0_6)), mac29)
             .ipv6(n.be_unresolved6, pkt::solicited_node(n.node0_6), 255)
             .ndp_ns(n.node0_6));
  // A multicast link-layer address in the option.
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(n.be_unresolved6, n.node0_6, 255)
             .ndp_na(n.be_unresolved6, {false, true, true}, pkt::mac("33:33:00:00:00:01")));
  // A zero-length option.
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(n.be_unresolved6, n.node0_6, 255)
             .ndp_na(n.be_unresolved6, {false, true, true})
             .l4_append({2, 0, 1, 2, 3, 4, 5, 6}));
  // A bad ICMPv6 checksum, NA and NS alike.
  run(e, Frame::eth(n.port0_mac, mac29)
             .ipv6(n.be_unresolved6, n.node0_6, 255)
             .ndp_na(n.be_unresolved6, {false, true, true}, mac29)
             .bad_l4_checksum());
  run(e, Frame::eth(pkt::multicast_mac(pkt::solicited_node(n.node0_6)), mac29)
             .ipv6(n.be_unresolved6, pkt::solicited_node(n.node0_6), 255)
             .ndp_ns(n.node0_6, mac29)
             .bad_l4_checksum());
  EXPECT_EQ(entries(), before);
}

TEST_F(L4Learning, LearnedNextHopUnblocksItsFlows) {
  const Bytes udp = from_client().udp(5000, 99, pkt::text("d"));
  EXPECT_EQ(describe(run(e, udp).verdict), describe(held(ForwardKind::kToBackend)));
  run(e, Frame::eth(n.port0_mac, mac29).arp_reply(mac29, n.be_unresolved, n.port0_mac, n.node0));
  EXPECT_EQ(diff(run(e, udp).out, with_macs(udp, mac29, n.port0_mac)), "");
}

}  // namespace
}  // namespace nf
