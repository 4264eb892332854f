// libFuzzer target: the L7 path (nf/l7.cc) with a real handshake, so that fuzzed bytes reach
// the head parser, the classifier, the rewriter, the backend connection and the splice rather
// than dying at the cookie check.
//
// One worker (the handle_frame entry point with an L4Context) serves a Gateway listener on
// 203.0.113.10:80 / [2001:db8:200::10]:80 with a small routing model (prefix, exact, header,
// query and regex matches; forward, redirect and 500 actions; a header modifier and a
// ReplacePrefixMatch rewrite; one pool with an endpoint, one without). The input is a sequence
// of records: a kind byte, then for most kinds a 1-byte length and that many bytes:
//   0: a client opens a connection (SYN, then the cookie's ACK built from the SYN-ACK);
//   1: client data at the next sequence number, payload = the bytes (flags byte first);
//   2: client data at a fuzzed offset from the expected sequence (first byte: offset);
//   3: a backend segment for the last backend SYN the worker sent: the first byte selects
//      SYN-ACK / data / FIN / RST, the rest is the payload; options are fuzzed via a prefix;
//   4: a raw frame of the bytes, as it is;
//   5: time passes (the byte, in units of 50 ms) and the timer sweep runs;
//   6: IPv6 for the connections that follow.
// Checks: no out-of-bounds access (ASan), no frame longer than its room, verdict fields in
// range, every frame the sink receives no longer than the buffer it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nf/address_table.h"
#include "nf/conn_table.h"
#include "nf/frame_handler.h"
#include "nf/l7.h"
#include "nf/lb_tables.h"
#include "nf/neighbor_table.h"
#include "nf/tcp_segment.h"

namespace {

constexpr uint8_t kVip4[4] = {203, 0, 113, 10}, kSnat4[4] = {198, 51, 100, 11},
                  kClient4[4] = {198, 51, 100, 2}, kBackend4[4] = {198, 51, 100, 21};
constexpr uint8_t kVip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
constexpr uint8_t kSnat6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
constexpr uint8_t kClient6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
constexpr uint8_t kBackend6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21};
constexpr uint8_t kPortMac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x10};
constexpr uint8_t kClientMac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x02};
constexpr uint8_t kBackendMac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x21};
constexpr uint64_t kHz = 1'000'000;
constexpr uint16_t kRoom = 2048;

nf::lb::Addr addr(const uint8_t* a, bool v6) {
  nf::lb::Addr out{};
  std::memcpy(out.data(), a, v6 ? 16 : 4);
  return out;
}

struct Shared {
  nf::lb::Tables lb;
  nf::l7::Tables l7;
  nf::AddressTable addresses;
  nf::l7::CookieSecrets secrets;
  Shared() {
    for (int v6 = 0; v6 < 2; ++v6) {
      nf::lb::Service listener;
      listener.vip = addr(v6 ? kVip6 : kVip4, v6);
      listener.v6 = static_cast<uint8_t>(v6);
      listener.port = 80 << 8;
      listener.proto = 6;
      listener.mode = nf::lb::Mode::kL7;
      listener.l7_port = static_cast<uint16_t>(v6);
      lb.add_service(listener, {}, {}, "");
    }
    uint32_t pools[2];
    for (int v6 = 0; v6 < 2; ++v6) {
      nf::lb::Service pool;
      pool.v6 = static_cast<uint8_t>(v6);
      nf::lb::Backend b;
      b.addr = addr(v6 ? kBackend6 : kBackend4, v6);
      b.v6 = static_cast<uint8_t>(v6);
      b.port = 0x901f;  // 8080
      b.id = 1 + v6;
      b.nexthop = static_cast<uint16_t>(1 + v6);
      pools[v6] = lb.add_service(pool, {b}, std::vector<uint16_t>(7, 0), v6 ? "b6" : "b4");
      lb.add_nexthop(b.addr, v6, b.nexthop);
    }
    nf::lb::Service empty;
    const uint32_t empty_pool = lb.add_service(empty, {}, {}, "");
    lb.add_snat(addr(kSnat4, false), false);
    lb.add_snat(addr(kSnat6, true), true);
    lb.finalize();

    nf::route::RouteModel model;
    for (int v6 = 0; v6 < 2; ++v6) {
      nf::route::PortSpec ps;
      std::memcpy(ps.address, v6 ? kVip6 : kVip4, v6 ? 16 : 4);
      ps.v6 = v6 != 0;
      ps.port = 80;
      nf::route::Listener l;
      l.name = "fuzz/gw/http";
      auto rule = [](uint32_t action, nf::route::PathType t, const char* path, uint32_t idx) {
        nf::route::Rule r;
        r.action = action;
        nf::route::Match m;
        m.path_type = t;
        m.path = path;
        r.matches.push_back(m);
        r.route = "fuzz/r";
        r.rule_index = idx;
        return r;
      };
      l.rules.push_back(rule(0, nf::route::PathType::kPrefix, "/", 0));
      l.rules.push_back(rule(1, nf::route::PathType::kPrefix, "/redirect", 1));
      l.rules.push_back(rule(2, nf::route::PathType::kExact, "/broken", 2));
      l.rules.push_back(rule(3, nf::route::PathType::kPrefix, "/old", 3));
      l.rules.push_back(rule(4, nf::route::PathType::kRegex, "/re/[a-z]+", 4));
      nf::route::Rule h = rule(5, nf::route::PathType::kPrefix, "/", 5);
      h.matches[0].headers.push_back({false, "x-canary", "1"});
      h.matches[0].query.push_back({true, "v", "[0-9]+"});
      l.rules.push_back(h);
      nf::route::Rule host = rule(0, nf::route::PathType::kPrefix, "/", 6);
      host.hostnames = {"app.example", "*.wild.example"};
      l.rules.push_back(host);
      ps.listeners.push_back(l);
      model.ports.push_back(ps);
    }
    if (!l7.set_model(model).empty()) std::abort();
    nf::l7::ActionSpec fwd;
    fwd.kind = nf::l7::ActionKind::kForward;
    nf::l7::PoolSpec p;
    p.service = pools[0];
    p.service6 = pools[1];
    p.weight = 3;
    fwd.pools.push_back(p);
    nf::l7::PoolSpec e;
    e.service = e.service6 = empty_pool;
    e.weight = 1;
    e.set_headers.push_back({"X-Pool", "empty"});
    fwd.pools.push_back(e);
    fwd.set_headers.push_back({"X-Added", "1"});
    fwd.remove_headers.push_back("Cookie");
    l7.add_action(fwd);
    nf::l7::ActionSpec redirect;
    redirect.kind = nf::l7::ActionKind::kRedirect;
    redirect.status = 302;
    redirect.redirect_scheme = "https";
    redirect.path_mode = 2;
    redirect.path_value = "/elsewhere";
    redirect.matched_prefix = "/redirect";
    redirect.listener_port = 80;
    l7.add_action(redirect);
    nf::l7::ActionSpec broken;
    broken.status = 500;
    l7.add_action(broken);
    nf::l7::ActionSpec rewrite = fwd;
    rewrite.path_mode = 2;
    rewrite.path_value = "/new";
    rewrite.matched_prefix = "/old";
    rewrite.rewrite_host = "internal.example";
    rewrite.keepalive_ok = true;
    l7.add_action(rewrite);
    l7.add_action(fwd);
    l7.add_action(fwd);
    l7.finalize(1);

    addresses.add_v4(be(kVip4), {nf::kAddrVip, 1});
    addresses.add_v4(be(kSnat4), {nf::kAddrSnat, 1});
    addresses.add_v6(kVip6, {nf::kAddrVip, 1});
    addresses.add_v6(kSnat6, {nf::kAddrSnat, 1});
    addresses.finalize();
  }
  static uint32_t be(const uint8_t a[4]) {
    uint32_t v;
    std::memcpy(&v, a, 4);
    return v;
  }
};

Shared& shared() {
  static Shared s;
  return s;
}

class Sink : public nf::l7::FrameSink {
 public:
  uint8_t* get(uint8_t, uint16_t* cap) override {
    buf_.assign(kRoom, 0);
    *cap = kRoom;
    return buf_.data();
  }
  void commit(uint16_t len) override {
    if (len > kRoom) std::abort();
    if (len != 0) last.assign(buf_.begin(), buf_.begin() + len);
  }
  std::vector<uint8_t> last;  // the latest frame (a backend SYN is what the harness needs)

 private:
  std::vector<uint8_t> buf_;
};

struct Session {
  bool v6 = false;
  uint16_t cport = 40000;
  uint32_t isn = 1000;
  uint32_t cookie = 0;
  uint32_t sent = 0;
  bool open = false;
  // The backend side, from the last SYN Portico sent it.
  uint16_t snat_port = 0;
  uint32_t pisn = 0;
  uint32_t bsent = 0;
  bool backend = false;
};

struct World {
  nf::ConnTable conns{32, {30 * kHz, 900 * kHz, 60 * kHz, 60 * kHz}};
  nf::NeighborTable neighbors{8};
  nf::l7::WorkerState state{8, 4, kHz};
  Sink sink;
  nf::L4Context l4;
  nf::PortContext port{};
  Session s;

  World() {
    std::memcpy(port.mac.addr_bytes, kPortMac, 6);
    neighbors.learn(1, kBackendMac, 1);
    neighbors.learn(2, kBackendMac, 1);
    l4.tables = &shared().lb;
    l4.generation = 1;
    l4.conns = &conns;
    l4.neighbors = &neighbors;
    l4.now = 3'600'000'000ull;
    l4.request_interval = kHz / 10;
    std::memcpy(l4.port_mac[0].addr_bytes, kPortMac, 6);
    l4.mtu[0] = 1500;
    l4.l7_tables = &shared().l7;
    l4.l7 = &state;
    l4.secrets = &shared().secrets;
    l4.sink = &sink;
    l4.tsc_hz = kHz;
  }

  nf::Verdict run(std::vector<uint8_t>& frame) {
    if (frame.size() > kRoom) frame.resize(kRoom);
    std::vector<uint8_t> buf(kRoom);
    if (!frame.empty()) std::memcpy(buf.data(), frame.data(), frame.size());
    uint16_t len = static_cast<uint16_t>(frame.size());
    const nf::Verdict v = nf::handle_frame(buf.data(), &len, kRoom, 0, port, shared().addresses, &l4);
    if (len > kRoom) std::abort();
    if (v.action == nf::Action::kDrop && static_cast<int>(v.drop) >= nf::kDropReasonCount) {
      std::abort();
    }
    frame.assign(buf.begin(), buf.begin() + len);
    return v;
  }

  std::vector<uint8_t> client(uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t* payload,
                              size_t n) {
    nf::tcp_seg::SegmentAddrs a;
    a.src_mac = kClientMac;
    a.dst_mac = kPortMac;
    a.src_ip = s.v6 ? kClient6 : kClient4;
    a.dst_ip = s.v6 ? kVip6 : kVip4;
    a.sport = static_cast<uint16_t>(s.cport << 8 | s.cport >> 8);
    a.dport = 80 << 8;
    a.v6 = s.v6;
    nf::tcp_seg::SegmentFields f;
    f.seq = seq;
    f.ack = ack;
    f.flags = flags;
    f.window = 1000;
    f.payload = payload;
    f.payload_len = n;
    std::vector<uint8_t> out(kRoom);
    const size_t len = nf::tcp_seg::build_segment(a, f, out.data(), out.size());
    out.resize(len);
    return out;
  }

  // Reads a TCP frame's seq and flags (Portico's own output), false if not TCP.
  static bool tcp_of(const std::vector<uint8_t>& f, uint32_t* seq, uint16_t* sport, uint8_t* flags) {
    if (f.size() < 14 + 20 + 20) return false;
    const bool v6 = f[12] == 0x86;
    const size_t ip = 14, tcp = ip + (v6 ? 40 : (f[ip] & 0xf) * 4u);
    if (f.size() < tcp + 20) return false;
    *sport = static_cast<uint16_t>(f[tcp] << 8 | f[tcp + 1]);
    *seq = static_cast<uint32_t>(f[tcp + 4]) << 24 | f[tcp + 5] << 16 | f[tcp + 6] << 8 | f[tcp + 7];
    *flags = f[tcp + 13];
    return true;
  }

  void open() {
    ++s.cport;
    s.isn += 7919;
    s.sent = 0;
    s.backend = false;
    std::vector<uint8_t> syn = client(0x02, s.isn, 0, nullptr, 0);
    run(syn);
    uint32_t seq;
    uint16_t sport;
    uint8_t flags;
    s.open = tcp_of(syn, &seq, &sport, &flags) && flags == 0x12;
    s.cookie = seq;
  }

  void client_data(const uint8_t* p, size_t n, int32_t offset) {
    if (!s.open || n == 0) return;
    const uint8_t flags = static_cast<uint8_t>((p[0] & 0x0d) | 0x10);  // FIN/RST/PSH + ACK
    sink.last.clear();
    std::vector<uint8_t> f = client(flags, s.isn + 1 + s.sent + static_cast<uint32_t>(offset),
                                    s.cookie + 1, p + 1, n - 1);
    const nf::Verdict v = run(f);
    if (offset == 0) s.sent += static_cast<uint32_t>(n - 1);
    // A backend SYN (in place) opens the backend side.
    uint32_t seq;
    uint16_t sport;
    uint8_t fl;
    if (v.action == nf::Action::kForward && v.forward == nf::ForwardKind::kL7ToBackend &&
        tcp_of(f, &seq, &sport, &fl) && fl == 0x02) {
      s.snat_port = sport;
      s.pisn = seq;
      s.bsent = 0;
      s.backend = true;
    }
  }

  void backend_segment(const uint8_t* p, size_t n) {
    if (!s.backend || n == 0) return;
    static constexpr uint8_t kFlags[4] = {0x12, 0x18, 0x11, 0x04};
    nf::tcp_seg::SegmentAddrs a;
    a.src_mac = kBackendMac;
    a.dst_mac = kPortMac;
    a.src_ip = s.v6 ? kBackend6 : kBackend4;
    a.dst_ip = s.v6 ? kSnat6 : kSnat4;
    a.sport = 0x901f;
    a.dport = static_cast<uint16_t>(s.snat_port << 8 | s.snat_port >> 8);
    a.v6 = s.v6;
    nf::tcp_seg::SegmentFields f;
    f.flags = kFlags[p[0] & 3];
    f.seq = 50000 + (f.flags == 0x12 ? 0 : 1 + s.bsent);
    f.ack = s.pisn + 1 + (p[0] >> 2) * 16u;
    f.window = 500;
    // Bytes 1..: an option block of (p[1] & 3) * 4 bytes, then the payload.
    size_t off = 1;
    uint8_t opts[12] = {};
    if (n > 1) {
      const size_t olen = (p[1] & 3) * 4u;
      off = 2;
      if (n >= off + olen) {
        std::memcpy(opts, p + off, olen);
        f.options = opts;
        f.options_len = olen;
        off += olen;
      }
    }
    f.payload = p + off;
    f.payload_len = n > off ? n - off : 0;
    std::vector<uint8_t> out(kRoom);
    const size_t len = nf::tcp_seg::build_segment(a, f, out.data(), out.size());
    if (len == 0) return;
    out.resize(len);
    run(out);
    if (f.flags != 0x12) s.bsent += static_cast<uint32_t>(f.payload_len);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 20000) return 0;
  World w;
  size_t i = 0;
  while (i < size) {
    const uint8_t kind = data[i++] % 7;
    if (kind == 0) {
      w.open();
      continue;
    }
    if (kind == 6) {
      w.s.v6 = !w.s.v6;
      continue;
    }
    if (i >= size) break;
    const size_t n = std::min<size_t>(data[i++], size - i);
    const uint8_t* p = data + i;
    i += n;
    switch (kind) {
      case 1:
        w.client_data(p, n, 0);
        break;
      case 2:
        if (n > 1) w.client_data(p + 1, n - 1, static_cast<int8_t>(p[0]));
        break;
      case 3:
        w.backend_segment(p, n);
        break;
      case 4: {
        std::vector<uint8_t> f(p, p + n);
        w.run(f);
        break;
      }
      case 5:
        w.l4.now += (n != 0 ? p[0] : 1) * kHz / 20;
        nf::l7::sweep(w.l4, 64);
        break;
    }
  }
  return 0;
}
