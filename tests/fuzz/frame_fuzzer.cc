// libFuzzer target: nf::handle_frame on arbitrary bytes must never read or write out of bounds,
// never grow a frame past its room (plus, for a tunnel, the header it prepended into the
// headroom), always return a verdict with in-range fields, leave frames it does not send
// unchanged, and send IPv4 only with a valid header checksum.
//
// The first input byte picks the interface index (bit 0), the room left after the frame
// (bits 1-6) and the mode (bit 7):
//  * L2 (bit 7 clear): the rest is one frame, handled without an L4Context. The address table
//    holds a VIP, a SNAT and a node address of each family, so every reply path is reachable.
//  * L4 (bit 7 set): the next byte configures a worker (bit 0: two workers instead of one;
//    bit 1: be worker 1 of two; bit 2: the frames were already seen by another worker, i.e.
//    handoff_hops = 1; bit 3: fix up each frame's IPv4 header checksum so that mutations get
//    past it; bits 4-7: ticks of time between frames, in units of 1000), and the rest is a
//    sequence of frames, each a 2-byte big-endian length and that many bytes, handled in
//    order by one worker with 64 bytes of headroom: its connection table (capacity 16) and
//    neighbor table (capacity 128) live for the whole input, so a SYN opens a flow that a reply, an
//    ICMP error or a full table then meets. The tables hold, on an IPv4 and an IPv6 VIP, TCP and
//    UDP ports in each mode (nat, dsr, ipip), a three-backend port, a port with no endpoint and one
//    whose next hop is unresolved; ARP and NDP from next hops are learned.
//    Every frame goes through two such workers: one handles it bare, the other first prepares it
//    as a worker's burst does (nf::flow_hint, the bucket prefetch, nf::flow_prefetch, then the
//    hint); both must reach the same verdict and write the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "nf/conn_table.h"
#include "nf/frame_handler.h"
#include "nf/lb_tables.h"
#include "nf/neighbor_table.h"

namespace {

constexpr uint8_t kVip4[4] = {203, 0, 113, 10}, kSnat4[4] = {198, 51, 100, 11},
                  kNode4[4] = {198, 51, 100, 10};
constexpr uint8_t kVip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
constexpr uint8_t kSnat6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
constexpr uint8_t kNode6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};

uint32_t be32_of(const uint8_t a[4]) {
  uint32_t be;
  std::memcpy(&be, a, 4);
  return be;
}

const nf::AddressTable& table() {
  static const nf::AddressTable t = [] {
    nf::AddressTable a;
    a.add_v4(be32_of(kVip4), {nf::kAddrVip, 1});
    a.add_v4(be32_of(kSnat4), {nf::kAddrSnat, 3});
    a.add_v4(be32_of(kNode4), {nf::kAddrNode, 0});
    a.add_v6(kVip6, {nf::kAddrVip, 1});
    a.add_v6(kNode6, {nf::kAddrNode, 0});
    a.finalize();
    return a;
  }();
  return t;
}

// ---- the L4 world ---------------------------------------------------------------------------

const nf::AddressTable& l4_addresses() {
  static const nf::AddressTable t = [] {
    nf::AddressTable a;
    a.add_v4(be32_of(kVip4), {nf::kAddrVip, 1});
    a.add_v4(be32_of(kSnat4), {nf::kAddrSnat, 3});
    a.add_v4(be32_of(kNode4), {nf::kAddrNode, 0});
    a.add_v6(kVip6, {nf::kAddrVip, 1});
    a.add_v6(kSnat6, {nf::kAddrSnat, 3});
    a.add_v6(kNode6, {nf::kAddrNode, 0});
    a.finalize();
    return a;
  }();
  return t;
}

nf::lb::Addr v4(uint8_t last) { return nf::lb::Addr{198, 51, 100, last}; }
nf::lb::Addr v6(uint8_t last) {
  nf::lb::Addr a{};
  std::memcpy(a.data(), kNode6, 16);
  a[15] = last;
  return a;
}
uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

// Next hops: index = last byte of the address (21..23 on-link backends, 29 never resolved);
// IPv6 ones at 40 + last byte.
constexpr uint8_t kUnresolved = 29;

const nf::lb::Tables& l4_tables() {
  static const nf::lb::Tables t = [] {
    nf::lb::Tables tables;
    uint32_t id = 1;
    const auto add = [&](bool is_v6, uint8_t proto, uint16_t port, nf::lb::Mode mode,
                         std::vector<uint8_t> hosts, uint16_t target, uint8_t out_port = 0) {
      nf::lb::Service s;
      if (is_v6) {
        std::memcpy(s.vip.data(), kVip6, 16);
      } else {
        std::memcpy(s.vip.data(), kVip4, 4);
      }
      s.v6 = is_v6;
      s.proto = proto;
      s.port = be16(port);
      s.mode = mode;
      std::vector<nf::lb::Backend> backends;
      std::vector<uint16_t> maglev;
      for (uint8_t h : hosts) {
        nf::lb::Backend b;
        b.addr = is_v6 ? v6(h) : v4(h);
        b.v6 = is_v6;
        b.port = be16(target);
        b.id = id++;
        b.nexthop = static_cast<uint16_t>(is_v6 ? 40 + h : h);
        b.port_index = out_port;
        backends.push_back(b);
      }
      for (size_t i = 0; !hosts.empty() && i < 7; ++i) {
        maglev.push_back(static_cast<uint16_t>(i % hosts.size()));
      }
      tables.add_service(s, backends, maglev, "");
    };
    using nf::lb::Mode;
    for (const bool is_v6 : {false, true}) {
      add(is_v6, 6, 80, Mode::kNat, {21}, 8080);
      add(is_v6, 17, 53, Mode::kNat, {21, 22}, 5353);
      add(is_v6, 6, 1080, Mode::kDsr, {22}, 1080);
      add(is_v6, 17, 1053, Mode::kDsr, {22, 23}, 1053);
      add(is_v6, 6, 2080, Mode::kIpip, {23}, 2080, 1);
      add(is_v6, 17, 2053, Mode::kIpip, {23}, 2053, 1);
      add(is_v6, 6, 90, Mode::kNat, {21, 22, 23}, 8080);
      add(is_v6, 6, 443, Mode::kNat, {}, 443);
      add(is_v6, 17, 443, Mode::kNat, {}, 443);
      add(is_v6, 6, 99, Mode::kNat, {kUnresolved}, 8080);
      add(is_v6, 17, 99, Mode::kIpip, {kUnresolved}, 99);
    }
    nf::lb::Addr snat4{}, snat6{};
    std::memcpy(snat4.data(), kSnat4, 4);
    std::memcpy(snat6.data(), kSnat6, 16);
    tables.add_snat(snat4, false);
    tables.add_snat(snat6, true);
    nf::lb::Addr node4{};
    std::memcpy(node4.data(), kNode4, 4);
    tables.set_interface_address(0, node4, false);
    tables.set_interface_address(0, v6(0x10), true);
    tables.set_interface_address(1, nf::lb::Addr{192, 0, 2, 10}, false);
    tables.set_interface_address(1, v6(0x20), true);
    for (const uint8_t h : {21, 22, 23, 1, int{kUnresolved}}) {
      tables.add_nexthop(v4(h), false, h);
      tables.add_nexthop(v6(h), true, static_cast<uint16_t>(40 + h));
    }
    tables.finalize();
    return tables;
  }();
  return t;
}

struct Worker {
  explicit Worker(uint8_t config)
      : conns(16, nf::ConnTable::Timeouts{3000, 20000, 2000, 5000}), neighbors(128) {
    for (const uint8_t h : {21, 22, 23, 1}) {
      const uint8_t mac[6] = {0x02, 0xbe, 0, 0, 0, h};
      neighbors.learn(h, mac, 1);
      neighbors.learn(40u + h, mac, 1);
    }
    l4.tables = &l4_tables();
    l4.generation = 1;
    l4.conns = &conns;
    l4.neighbors = &neighbors;
    l4.now = 1'000'000;
    l4.request_interval = 500;
    l4.workers = (config & 1) ? 2 : 1;
    l4.worker = (config & 1) ? (config >> 1) & 1 : 0;
    l4.handoff_hops = (config >> 2) & 1;
    const uint8_t mac0[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x10};
    const uint8_t mac1[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x11};
    std::memcpy(l4.port_mac[0].addr_bytes, mac0, 6);
    std::memcpy(l4.port_mac[1].addr_bytes, mac1, 6);
    l4.mtu[0] = 1500;
    l4.mtu[1] = 1500;
  }
  nf::ConnTable conns;
  nf::NeighborTable neighbors;
  nf::L4Context l4;
};

// ---- checks -----------------------------------------------------------------------------------

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint64_t sum16(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1]) << 8;
  return s;
}

// An IPv4 frame that is sent must carry a valid header checksum (the data plane verified the
// input's, and updates or recomputes it).
void check_sent_ipv4(const uint8_t* f, size_t len) {
  if (len < 34 || f[12] != 0x08 || f[13] != 0x00) return;
  const size_t ihl = (f[14] & 0x0f) * 4u;
  if ((f[14] >> 4) != 4 || ihl < 20 || 14 + ihl > len) std::abort();
  if (fold(sum16(f + 14, ihl)) != 0xffff) std::abort();
}

void check_verdict(const nf::Verdict& v, unsigned workers) {
  switch (v.action) {
    case nf::Action::kDrop:
      if (static_cast<int>(v.drop) >= nf::kDropReasonCount) std::abort();
      break;
    case nf::Action::kReply:
      if (v.reply >= nf::ReplyKind::kCount) std::abort();
      break;
    case nf::Action::kForward:
    case nf::Action::kHold:
      if (v.forward >= nf::ForwardKind::kCount || v.port >= nf::lb::Tables::kMaxInterfaces) {
        std::abort();
      }
      break;
    case nf::Action::kHandoff:
      if (v.port >= workers) std::abort();
      break;
    case nf::Action::kPunt:
      break;
    default:
      std::abort();
  }
}

// Recomputes the IPv4 header checksum of a frame, if it has a plausible IPv4 header.
void fix_ipv4_checksum(uint8_t* f, size_t len) {
  if (len < 34 || f[12] != 0x08 || f[13] != 0x00) return;
  const size_t ihl = (f[14] & 0x0f) * 4u;
  if (ihl < 20 || 14 + ihl > len) return;
  f[24] = f[25] = 0;
  const uint16_t c = static_cast<uint16_t>(~fold(sum16(f + 14, ihl)));
  f[24] = static_cast<uint8_t>(c >> 8);
  f[25] = static_cast<uint8_t>(c);
}

constexpr size_t kHeadroom = 64;

int run_l4(const uint8_t* data, size_t size, const nf::PortContext& port, size_t spare) {
  if (size < 1) return 0;
  const uint8_t config = data[0];
  Worker w(config), hinted(config);
  const uint64_t step = static_cast<uint64_t>(config >> 4) * 1000;
  size_t pos = 1;
  for (int frames = 0; frames < 8 && pos + 2 <= size; ++frames) {
    const size_t len = std::min<size_t>(size_t{data[pos]} << 8 | data[pos + 1], size - pos - 2);
    pos += 2;
    const size_t room = len + spare;
    // Exactly headroom + room bytes, so ASan sees any access before the headroom or past the room.
    std::vector<uint8_t> buf(kHeadroom + (room == 0 ? 1 : room));
    uint8_t* const frame = buf.data() + kHeadroom;
    std::memcpy(frame, data + pos, len);
    pos += len;
    if (config & 8) fix_ipv4_checksum(frame, len);
    const std::vector<uint8_t> in(frame, frame + len);
    std::vector<uint8_t> hbuf(buf);
    uint8_t* const hframe = hbuf.data() + kHeadroom;

    uint16_t l = static_cast<uint16_t>(len);
    w.l4.n_resolve = 0;
    w.l4.counters = {};
    const nf::Verdict v = nf::handle_frame(frame, &l, static_cast<uint16_t>(room), kHeadroom, port,
                                           l4_addresses(), &w.l4);
    check_verdict(v, w.l4.workers);
    const bool sends = v.action == nf::Action::kForward || v.action == nf::Action::kHold;
    const size_t prepended = sends ? nf::forward_prepended(v.forward) : 0;
    if (v.action == nf::Action::kHold && w.l4.hold_nexthop >= w.neighbors.capacity()) std::abort();
    if (prepended > kHeadroom || l > room + prepended) std::abort();
    if (w.l4.n_resolve > nf::L4Context::kMaxResolve) std::abort();
    if (v.action == nf::Action::kDrop || v.action == nf::Action::kPunt ||
        v.action == nf::Action::kHandoff) {
      // Nothing is written before the decision to send: the frame is as it came.
      if (l != len || (len != 0 && std::memcmp(frame, in.data(), len) != 0)) std::abort();
    } else {
      check_sent_ipv4(frame - prepended, l);
    }

    // The same frame, prepared like a worker's burst first: the same verdict, the same bytes.
    uint16_t hl = static_cast<uint16_t>(len);
    hinted.l4.n_resolve = 0;
    hinted.l4.counters = {};
    hinted.l4.new_flows_hinted = 0;
    nf::flow_hint(hframe, hl, &hinted.l4.hint);
    if (hinted.l4.hint.l4_offset != 0) {
      if (hinted.l4.hint.l4_offset + 8u > len) std::abort();
      hinted.conns.prefetch_bucket(hinted.l4.hint.hash);
    }
    nf::flow_prefetch(hframe, &hinted.l4.hint, hinted.l4);
    const nf::Verdict hv = nf::handle_frame(hframe, &hl, static_cast<uint16_t>(room), kHeadroom,
                                            port, l4_addresses(), &hinted.l4);
    hinted.l4.hint = {};
    if (hv.action != v.action || hv.drop != v.drop || hv.reply != v.reply ||
        hv.forward != v.forward || hv.port != v.port || hl != l ||
        std::memcmp(hbuf.data(), buf.data(), buf.size()) != 0) {
      std::abort();
    }
    if (hinted.conns.size() != w.conns.size()) std::abort();

    w.l4.now += step;
    hinted.l4.now += step;
    w.conns.expire(w.l4.now, 4);
    hinted.conns.expire(hinted.l4.now, 4);
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 9000) return 0;
  nf::PortContext port{};
  const uint8_t mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x10};
  std::memcpy(port.mac.addr_bytes, mac, 6);
  port.index = data[0] & 1;
  const size_t spare = (data[0] >> 1) & 0x3f;  // 0..63 bytes of tailroom
  if (data[0] & 0x80) return run_l4(data + 1, size - 1, port, spare);
  const size_t len = size - 1;
  const size_t room = len + spare;
  // Exactly `room` bytes, so ASan sees any access past the room.
  std::vector<uint8_t> buf(room == 0 ? 1 : room);
  std::memcpy(buf.data(), data + 1, len);
  uint16_t l = static_cast<uint16_t>(len);
  const nf::Verdict v =
      nf::handle_frame(buf.data(), &l, static_cast<uint16_t>(room), port, table());
  if (l > room) std::abort();
  if (v.action == nf::Action::kDrop && static_cast<int>(v.drop) >= nf::kDropReasonCount)
    std::abort();
  return 0;
}
