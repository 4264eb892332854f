// The L7 path (nf/l7.cc) through handle_frame(): a client's connection to a Gateway listener,
// answered with a SYN cookie, its head read over several segments, classified, a backend
// connection opened from a SNAT address, the head replayed and the two connections spliced,
// both ways, to the FIN; and the answers Portico gives itself (404, redirect, 400, 431, 503),
// stray and forged segments, and the timers.
//
// The worker is built by hand as in l4_test.cc: lb::Tables with the listener (Mode::kL7) and the
// backend pool (proto 0), an l7::Tables with a small routing model, a ConnTable, a
// NeighborTable that knows the backend, and a sink that keeps the extra frames. Frames in are
// built with tests/common/packet_builder.h and frames out read back with its parsers, which
// verify every checksum by a full sum.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
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
#include "nf/tcp_options.h"
#include "nf/traffic.h"
#include "tests/common/packet_builder.h"

namespace nf {
namespace {

using pkt::Bytes;
using pkt::Frame;
using pkt::TcpFields;

const pkt::Mac kPortMac = pkt::mac("02:00:00:00:00:01");
const pkt::Mac kClientMac = pkt::mac("02:aa:00:00:00:20");
const pkt::Mac kBackendMac = pkt::mac("02:be:00:00:00:21");
const pkt::Mac kBackend2Mac = pkt::mac("02:be:00:00:00:22");
const pkt::Ip4 kVip = pkt::ip4("203.0.113.10");
const pkt::Ip4 kSnat = pkt::ip4("198.51.100.11");
const pkt::Ip4 kClient = pkt::ip4("198.51.100.20");
const pkt::Ip4 kBackend = pkt::ip4("198.51.100.21");
const pkt::Ip4 kBackend2 = pkt::ip4("198.51.100.22");
const pkt::Ip6 kVip6 = pkt::ip6("2001:db8:200::10");
const pkt::Ip6 kSnat6 = pkt::ip6("2001:db8:100::11");
const pkt::Ip6 kClient6 = pkt::ip6("2001:db8:100::20");
const pkt::Ip6 kBackend6 = pkt::ip6("2001:db8:100::21");
constexpr uint16_t kNh = 1, kNh2 = 2, kNh6 = 3;
constexpr uint64_t kHz = 1'000'000;  // TSC ticks per second: 1 tick = 1 us
constexpr uint64_t kStart = 3'600'000'000ull;

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

lb::Addr addr(const pkt::Ip4& a) {
  lb::Addr out{};
  std::memcpy(out.data(), a.bytes.data(), 4);
  return out;
}
lb::Addr addr(const pkt::Ip6& a) { return a.bytes; }

class VecSink : public l7::FrameSink {
 public:
  uint8_t* get(uint8_t port, uint16_t* cap) override {
    buf_.assign(2048, 0);
    port_ = port;
    *cap = 2048;
    return buf_.data();
  }
  void commit(uint16_t len) override {
    if (len == 0) return;
    frames.emplace_back(buf_.begin(), buf_.begin() + len);
    ports.push_back(port_);
  }
  std::vector<Bytes> frames;
  std::vector<uint8_t> ports;

 private:
  Bytes buf_;
  uint8_t port_ = 0;
};

// Actions of the routing model.
enum : uint32_t { kActForward = 0, kActRedirect = 1, kActNoBackend = 2, kActEmptyPool = 3,
                  kActHeaders = 4 };

l7::PoolSpec pool_spec(uint32_t v4, uint32_t v6) {
  l7::PoolSpec p;
  p.service = v4;
  p.service6 = v6;
  return p;
}

// Traffic counter slot and owner id of the IPv4 listener (the IPv6 one: the next of each).
constexpr uint16_t kListenerSlot = 3;
constexpr uint32_t kListenerId = 500;

struct Env {
  explicit Env(bool keepalive_ok = false)
      : conns(64, ConnTable::Timeouts{30 * kHz, 900 * kHz, 60 * kHz, 60 * kHz}),
        neighbors(8),
        state(16, 4, kHz),
        traffic(std::make_unique<TrafficTable>()) {
    // The listener on the VIP (v4 and v6), two backend pools, an empty pool.
    lb::Service listener;
    listener.vip = addr(kVip);
    listener.port = be16(80);
    listener.proto = pkt::kProtoTcp;
    listener.mode = lb::Mode::kL7;
    listener.l7_port = 0;
    listener.stats_slot = kListenerSlot;
    listener.stats_id = kListenerId;
    tables.add_service(listener, {}, {}, "");
    lb::Service listener6 = listener;
    listener6.vip = addr(kVip6);
    listener6.v6 = 1;
    listener6.l7_port = 1;
    listener6.stats_slot = kListenerSlot + 1;
    listener6.stats_id = kListenerId + 1;
    tables.add_service(listener6, {}, {}, "");
    lb::Service pool;
    pool.proto = 0;
    lb::Backend b;
    b.addr = addr(kBackend);
    b.port = be16(8080);
    b.id = 7;
    b.stats_slot = 7;  // backends count in the slot of their id
    b.nexthop = kNh;
    pool_index = tables.add_service(pool, {b}, std::vector<uint16_t>(13, 0), "a");
    lb::Backend b2 = b;
    b2.addr = addr(kBackend2);
    b2.id = 8;
    b2.stats_slot = 8;
    b2.nexthop = kNh2;
    pool2_index = tables.add_service(pool, {b2}, std::vector<uint16_t>(13, 0), "b");
    empty_pool = tables.add_service(pool, {}, {}, "");
    lb::Backend b6;
    b6.addr = addr(kBackend6);
    b6.v6 = 1;
    b6.port = be16(8080);
    b6.id = 9;
    b6.stats_slot = 9;
    b6.nexthop = kNh6;
    pool6_index = tables.add_service(pool, {b6}, std::vector<uint16_t>(13, 0), "c");
    tables.add_snat(addr(kSnat), false);
    tables.add_snat(addr(kSnat6), true);
    tables.add_nexthop(addr(kBackend), false, kNh);
    tables.add_nexthop(addr(kBackend2), false, kNh2);
    tables.add_nexthop(addr(kBackend6), true, kNh6);
    tables.finalize();
    neighbors.learn(kNh, kBackendMac.bytes.data(), kStart);
    neighbors.learn(kNh2, kBackend2Mac.bytes.data(), kStart);
    neighbors.learn(kNh6, kBackendMac.bytes.data(), kStart);

    route::RouteModel model;
    for (int v6 = 0; v6 < 2; ++v6) {
      route::PortSpec ps;
      if (v6) {
        std::memcpy(ps.address, kVip6.bytes.data(), 16);
      } else {
        std::memcpy(ps.address, kVip.bytes.data(), 4);
      }
      ps.v6 = v6 != 0;
      ps.port = 80;
      route::Listener l;
      l.name = "default/gw/http";
      auto rule = [](uint32_t action, std::vector<std::string> hosts, route::PathType type,
                     std::string path, uint32_t index) {
        route::Rule r;
        r.action = action;
        r.hostnames = std::move(hosts);
        route::Match m;
        m.path_type = type;
        m.path = std::move(path);
        r.matches.push_back(m);
        r.route = "default/app";
        r.rule_index = index;
        return r;
      };
      l.rules.push_back(rule(v6 ? 5 : kActForward, {"app.example"}, route::PathType::kPrefix, "/", 0));
      l.rules.push_back(rule(kActRedirect, {"app.example"}, route::PathType::kExact, "/old", 1));
      l.rules.push_back(rule(kActNoBackend, {"app.example"}, route::PathType::kExact, "/broken", 2));
      l.rules.push_back(rule(kActEmptyPool, {"app.example"}, route::PathType::kExact, "/empty", 3));
      l.rules.push_back(rule(kActHeaders, {"app.example"}, route::PathType::kPrefix, "/api", 4));
      ps.listeners.push_back(l);
      model.ports.push_back(ps);
    }
    const std::string err = l7t.set_model(model);
    EXPECT_EQ(err, "");
    l7::ActionSpec fwd;
    fwd.kind = l7::ActionKind::kForward;
    fwd.pools.push_back(pool_spec(pool_index, pool6_index));
    fwd.keepalive_ok = keepalive_ok;
    EXPECT_EQ(l7t.add_action(fwd), kActForward);
    l7::ActionSpec redirect;
    redirect.kind = l7::ActionKind::kRedirect;
    redirect.status = 301;
    redirect.redirect_scheme = "https";
    redirect.listener_port = 80;
    EXPECT_EQ(l7t.add_action(redirect), kActRedirect);
    l7::ActionSpec broken;
    broken.kind = l7::ActionKind::kRespond;
    broken.status = 500;
    EXPECT_EQ(l7t.add_action(broken), kActNoBackend);
    l7::ActionSpec empty;
    empty.kind = l7::ActionKind::kForward;
    empty.pools.push_back(pool_spec(empty_pool, empty_pool));
    EXPECT_EQ(l7t.add_action(empty), kActEmptyPool);
    l7::ActionSpec headers;
    headers.kind = l7::ActionKind::kForward;
    headers.pools.push_back(pool_spec(pool2_index, pool6_index));
    headers.set_headers.push_back({"X-Route", "api"});
    headers.remove_headers.push_back("X-Drop");
    EXPECT_EQ(l7t.add_action(headers), kActHeaders);
    l7::ActionSpec fwd6 = fwd;
    EXPECT_EQ(l7t.add_action(fwd6), 5u);
    l7t.finalize(1);

    addresses.add_v4(kVip.be(), AddressInfo{kAddrVip, 0b1});
    addresses.add_v4(kSnat.be(), AddressInfo{kAddrSnat, 0b1});
    addresses.add_v6(kVip6.data(), AddressInfo{kAddrVip, 0b1});
    addresses.add_v6(kSnat6.data(), AddressInfo{kAddrSnat, 0b1});
    addresses.finalize();
    port.mac = pkt::ether(kPortMac);
    port.index = 0;

    l4.tables = &tables;
    l4.generation = 1;
    l4.conns = &conns;
    l4.neighbors = &neighbors;
    l4.now = kStart;
    l4.request_interval = kHz / 10;
    l4.port_mac[0] = port.mac;
    l4.mtu[0] = 1500;
    l4.l7_tables = &l7t;
    l4.l7 = &state;
    l4.secrets = &secrets;
    l4.sink = &sink;
    l4.tsc_hz = kHz;
    l4.traffic = traffic.get();
  }

  // Runs one frame; the frame is rewritten in place (and resized).
  Verdict run(Bytes& f) {
    f.resize(std::max<size_t>(f.size(), 60));
    const uint16_t in_len = static_cast<uint16_t>(f.size());
    Bytes buf(2048, 0);
    std::memcpy(buf.data(), f.data(), in_len);
    uint16_t len = in_len;
    const Verdict v = handle_frame(buf.data(), &len, 2048, 0, port, addresses, &l4);
    f.assign(buf.begin(), buf.begin() + len);
    return v;
  }

  void advance_ms(uint64_t ms) { l4.now += ms * kHz / 1000; }

  lb::Tables tables;
  uint32_t pool_index = 0, pool2_index = 0, empty_pool = 0, pool6_index = 0;
  l7::Tables l7t;
  ConnTable conns;
  NeighborTable neighbors;
  AddressTable addresses;
  PortContext port;
  L4Context l4;
  l7::WorkerState state;
  l7::CookieSecrets secrets;
  VecSink sink;
  std::unique_ptr<TrafficTable> traffic;
};

// Traffic counts of the listener (slot kListenerSlot) and of backend 7, "not owned" when the
// slot is not theirs (nothing counted yet).
std::string traffic_of(const TrafficSlot& s, uint32_t id) {
  TrafficCounts c;
  if (!s.read(id, &c)) return "not owned";
  return "in " + std::to_string(c.packets_in) + "/" + std::to_string(c.bytes_in) + " out " +
         std::to_string(c.packets_out) + "/" + std::to_string(c.bytes_out) + " conns " +
         std::to_string(c.connections);
}
std::string listener_traffic(const Env& e) {
  return traffic_of(e.traffic->services[kListenerSlot], kListenerId);
}
std::string backend7_traffic(const Env& e) { return traffic_of(e.traffic->backends[7], 7); }

// SYN options as Linux sends them: MSS 1460, SACK-Permitted, Timestamps, NOP, Window Scale 7.
Bytes syn_options(uint32_t ts_val) {
  Bytes o = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<uint8_t>(ts_val >> s));
  for (int i = 0; i < 4; ++i) o.push_back(0);
  o.insert(o.end(), {1, 3, 3, 7});
  return o;
}

Bytes ts_options(uint32_t val, uint32_t ecr) {
  Bytes o = {1, 1, 8, 10};
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<uint8_t>(val >> s));
  for (int s = 24; s >= 0; s -= 8) o.push_back(static_cast<uint8_t>(ecr >> s));
  return o;
}

tcp_opt::TcpOptions options_of(const pkt::TcpView& t) {
  tcp_opt::TcpOptions o;
  EXPECT_EQ(tcp_opt::parse_options(t.options.data(), t.options.size(), &o),
            tcp_opt::OptionsError::kOk);
  return o;
}

std::string payload_of(const pkt::TcpView& t) {
  return std::string(t.payload.begin(), t.payload.end());
}

// One client connection, driven step by step.
struct Client {
  Env& env;
  bool v6 = false;
  uint16_t sport = 40000;
  uint32_t isn = 1000;
  uint32_t ts = 500;
  uint32_t cookie = 0;     // Portico's ISN
  uint32_t peer_ts = 0;    // Portico's latest TSval
  uint32_t sent = 0;       // payload bytes sent after the SYN
  uint32_t received = 0;   // payload bytes received from Portico (after its SYN)

  Bytes segment(uint8_t flags, const std::string& payload, uint32_t seq_off, Bytes options) {
    TcpFields f;
    f.sport = sport;
    f.dport = 80;
    f.seq = isn + 1 + seq_off;
    f.ack = cookie + 1 + received;
    f.flags = flags;
    f.window = 502;
    f.options = std::move(options);
    f.payload = pkt::text(payload);
    Frame fr = Frame::eth(kPortMac, kClientMac);
    if (v6) {
      fr.ipv6(kClient6, kVip6);
    } else {
      fr.ipv4(kClient, kVip);
    }
    return fr.tcp_segment(f).bytes();
  }

  // SYN -> SYN-ACK; checks it.
  void handshake() {
    TcpFields f;
    f.sport = sport;
    f.dport = 80;
    f.seq = isn;
    f.flags = pkt::kTcpSyn;
    f.options = syn_options(ts);
    Frame fr = Frame::eth(kPortMac, kClientMac);
    if (v6) {
      fr.ipv6(kClient6, kVip6);
    } else {
      fr.ipv4(kClient, kVip);
    }
    Bytes b = fr.tcp_segment(f).bytes();
    const Verdict v = env.run(b);
    ASSERT_EQ(v.action, Action::kReply);
    EXPECT_EQ(v.reply, ReplyKind::kSynAck);
    auto t = pkt::parse_tcp(b);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->checksum_ok);
    EXPECT_EQ(t->flags, pkt::kTcpSyn | pkt::kTcpAck);
    EXPECT_EQ(t->ack, isn + 1);
    EXPECT_EQ(t->sport, 80);
    EXPECT_EQ(t->dport, sport);
    const tcp_opt::TcpOptions o = options_of(*t);
    EXPECT_TRUE(o.has_mss);
    EXPECT_TRUE(o.sack_permitted);
    EXPECT_TRUE(o.has_timestamps);
    EXPECT_EQ(o.ts_ecr, ts);
    EXPECT_TRUE(o.has_wscale);
    cookie = t->seq;
    peer_ts = o.ts_val;
  }

  // Sends data (with ACK) and returns the verdict; the frame out is in *out.
  Verdict send(const std::string& data, Bytes* out, uint8_t extra_flags = 0) {
    ++ts;
    Bytes b = segment(pkt::kTcpAck | pkt::kTcpPsh | extra_flags, data, sent, ts_options(ts, peer_ts));
    sent += static_cast<uint32_t>(data.size()) + ((extra_flags & pkt::kTcpFin) ? 1 : 0);
    const Verdict v = env.run(b);
    *out = b;
    return v;
  }
};

// The backend's side: answers Portico's SYN.
struct Backend {
  uint32_t isn = 90000;
  uint32_t ts = 7000;
  pkt::TcpView syn;
  uint16_t snat_port = 0;
  uint32_t portico_isn = 0;
  uint32_t portico_ts = 0;

  Bytes syn_ack(bool v6 = false) {
    TcpFields f;
    f.sport = 8080;
    f.dport = snat_port;
    f.seq = isn;
    f.ack = portico_isn + 1;
    f.flags = pkt::kTcpSyn | pkt::kTcpAck;
    f.options = syn_options(ts);
    f.options[2] = 0x05;  // MSS 1460
    Frame fr = Frame::eth(kPortMac, kBackendMac);
    if (v6) {
      fr.ipv6(kBackend6, kSnat6);
    } else {
      fr.ipv4(kBackend, kSnat);
    }
    return fr.tcp_segment(f).bytes();
  }
  Bytes data(const std::string& payload, uint32_t seq_off, uint32_t ack, uint8_t flags = 0) {
    TcpFields f;
    f.sport = 8080;
    f.dport = snat_port;
    f.seq = isn + 1 + seq_off;
    f.ack = ack;
    f.flags = static_cast<uint8_t>(pkt::kTcpAck | flags);
    f.window = 1000;
    ++ts;
    f.options = ts_options(ts, portico_ts);
    f.payload = pkt::text(payload);
    return Frame::eth(kPortMac, kBackendMac).ipv4(kBackend, kSnat).tcp_segment(f).bytes();
  }
};

const std::string kHead =
    "GET /index.html HTTP/1.1\r\nHost: app.example\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n";

TEST(L7, HandshakeHeadInTwoSegmentsBackendSynReplaySpliceAndFin) {
  Env env;
  Client c{env};
  c.handshake();
  EXPECT_EQ(env.conns.size(), 0u) << "no state before the client's ACK";

  // The first part of the head: acknowledged in place.
  Bytes out;
  const std::string part1 = kHead.substr(0, 30), part2 = kHead.substr(30);
  Verdict v = c.send(part1, &out);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kToClient);
  auto t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_EQ(t->flags, pkt::kTcpAck);
  EXPECT_EQ(t->ack, c.isn + 1 + part1.size());
  EXPECT_EQ(t->seq, c.cookie + 1);
  EXPECT_EQ(env.conns.size(), 1u);
  EXPECT_EQ(env.state.counters.cookie_accepted, 1u);
  EXPECT_EQ(listener_traffic(env), "in 0/0 out 0/0 conns 1") << "a connection, no traffic yet";
  EXPECT_EQ(backend7_traffic(env), "not owned");

  // The rest: the head is complete -> SYN to the backend in place, ACK to the client extra.
  v = c.send(part2, &out);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kL7ToBackend);
  auto eth = pkt::parse_eth(out);
  ASSERT_TRUE(eth);
  EXPECT_EQ(eth->dst, kBackendMac);
  auto ip = pkt::parse_ipv4(out);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src, kSnat);
  EXPECT_EQ(ip->dst, kBackend);
  t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_EQ(t->flags, pkt::kTcpSyn);
  EXPECT_EQ(t->dport, 8080);
  const tcp_opt::TcpOptions so = options_of(*t);
  EXPECT_EQ(so.mss, 1460) << "the client's MSS is announced to the backend";
  EXPECT_TRUE(so.has_wscale);
  EXPECT_EQ(so.wscale, 7);
  Backend be;
  be.snat_port = t->sport;
  be.portico_isn = t->seq;
  be.portico_ts = so.ts_val;
  ASSERT_EQ(env.sink.frames.size(), 1u);
  auto ack = pkt::parse_tcp(env.sink.frames[0]);
  ASSERT_TRUE(ack);
  EXPECT_TRUE(ack->checksum_ok);
  EXPECT_EQ(ack->ack, c.isn + 1 + kHead.size()) << "the whole head is acknowledged";
  EXPECT_EQ(backend7_traffic(env), "in 0/0 out 0/0 conns 1") << "the backend connection";

  // The backend answers: the head is replayed (with Connection: close: keep-alive is not safe
  // for this action) in the same segment that acknowledges the SYN-ACK.
  Bytes sa = be.syn_ack();
  v = env.run(sa);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kL7ToBackend);
  t = pkt::parse_tcp(sa);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_EQ(t->seq, be.portico_isn + 1);
  EXPECT_EQ(t->ack, be.isn + 1);
  const std::string replay = payload_of(*t);
  EXPECT_EQ(replay.substr(0, 25), "GET /index.html HTTP/1.1\r");
  EXPECT_NE(replay.find("Host: app.example\r\n"), std::string::npos);
  EXPECT_NE(replay.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(replay.substr(replay.size() - 4), "\r\n\r\n");
  const uint32_t hb = static_cast<uint32_t>(replay.size());

  // The backend acknowledges the replay and answers: spliced to the client.
  const std::string body = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  Bytes resp = be.data(body, 0, be.portico_isn + 1 + hb);
  v = env.run(resp);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kToClient);
  ip = pkt::parse_ipv4(resp);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src, kVip);
  EXPECT_EQ(ip->dst, kClient);
  eth = pkt::parse_eth(resp);
  EXPECT_EQ(eth->dst, kClientMac);
  t = pkt::parse_tcp(resp);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_EQ(t->sport, 80);
  EXPECT_EQ(t->dport, c.sport);
  EXPECT_EQ(t->seq, c.cookie + 1) << "the backend's first byte is the client's first";
  EXPECT_EQ(t->ack, c.isn + 1 + kHead.size()) << "the replay's end maps on the head's end";
  EXPECT_EQ(payload_of(*t), body);
  EXPECT_EQ(env.state.counters.spliced, 1u);
  const size_t resp_len = resp.size();
  EXPECT_EQ(listener_traffic(env), "in 0/0 out 1/" + std::to_string(resp_len) + " conns 1")
      << "spliced bytes count; the replay Portico built does not";

  // The client acknowledges and closes: spliced to the backend.
  c.received = static_cast<uint32_t>(body.size());
  v = c.send("", &out, pkt::kTcpFin);
  ASSERT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kToBackend);
  t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_EQ(t->flags & pkt::kTcpFin, pkt::kTcpFin);
  EXPECT_EQ(t->seq, be.portico_isn + 1 + hb);
  EXPECT_EQ(t->ack, be.isn + 1 + body.size());
  ip = pkt::parse_ipv4(out);
  EXPECT_EQ(ip->src, kSnat);
  EXPECT_EQ(ip->dst, kBackend);
  const size_t client_fin_len = out.size();

  // The backend's FIN goes to the client.
  Bytes fin = be.data("", static_cast<uint32_t>(body.size()), be.portico_isn + 1 + hb + 1,
                      pkt::kTcpFin);
  v = env.run(fin);
  ASSERT_EQ(v.action, Action::kForward);
  t = pkt::parse_tcp(fin);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->flags & pkt::kTcpFin, pkt::kTcpFin);
  EXPECT_EQ(t->seq, c.cookie + 1 + body.size());
  EXPECT_EQ(t->ack, c.isn + 1 + kHead.size() + 1);
  const std::string want = "in 1/" + std::to_string(client_fin_len) + " out 2/" +
                           std::to_string(resp_len + fin.size()) + " conns 1";
  EXPECT_EQ(listener_traffic(env), want);
  EXPECT_EQ(backend7_traffic(env), want);
}

TEST(L7, KeepAliveSafeActionKeepsTheClientsConnectionHeader) {
  Env env(/*keepalive_ok=*/true);
  Client c{env};
  c.handshake();
  Bytes out;
  ASSERT_EQ(c.send(kHead, &out).forward, ForwardKind::kL7ToBackend);
  auto t = pkt::parse_tcp(out);
  Backend be;
  be.snat_port = t->sport;
  be.portico_isn = t->seq;
  Bytes sa = be.syn_ack();
  env.run(sa);
  t = pkt::parse_tcp(sa);
  ASSERT_TRUE(t);
  EXPECT_EQ(payload_of(*t), kHead) << "no edits: the head goes as it came";
}

TEST(L7, HeaderModifierGoesToItsOwnPool) {
  Env env;
  Client c{env};
  c.handshake();
  Bytes out;
  const std::string head =
      "POST /api/v1 HTTP/1.1\r\nHost: app.example\r\nX-Drop: 1\r\nContent-Length: 4\r\n\r\nbody";
  ASSERT_EQ(c.send(head, &out).forward, ForwardKind::kL7ToBackend);
  auto ip = pkt::parse_ipv4(out);
  EXPECT_EQ(ip->dst, kBackend2);
  auto eth = pkt::parse_eth(out);
  EXPECT_EQ(eth->dst, kBackend2Mac);
  auto t = pkt::parse_tcp(out);
  Backend be;
  be.snat_port = t->sport;
  be.portico_isn = t->seq;
  Bytes sa = be.syn_ack();
  sa = Frame::eth(kPortMac, kBackend2Mac)
           .ipv4(kBackend2, kSnat)
           .tcp_segment([&] {
             TcpFields f;
             f.sport = 8080;
             f.dport = be.snat_port;
             f.seq = be.isn;
             f.ack = be.portico_isn + 1;
             f.flags = pkt::kTcpSyn | pkt::kTcpAck;
             f.options = syn_options(be.ts);
             return f;
           }())
           .bytes();
  ASSERT_EQ(env.run(sa).action, Action::kForward);
  t = pkt::parse_tcp(sa);
  ASSERT_TRUE(t);
  const std::string replay = payload_of(*t);
  EXPECT_EQ(replay.find("X-Drop"), std::string::npos);
  EXPECT_NE(replay.find("X-Route: api\r\n"), std::string::npos);
  EXPECT_EQ(replay.substr(replay.size() - 8), "\r\n\r\nbody") << "the body follows the head";
}

// Portico's own answers: status line, Connection: close, and FIN.
struct Answer {
  int status = 0;
  std::string text;
  bool fin = false;
};

Answer answer(Env& env, const std::string& head) {
  Client c{env};
  c.handshake();
  Bytes out;
  const Verdict v = c.send(head, &out);
  EXPECT_EQ(v.action, Action::kForward);
  EXPECT_EQ(v.forward, ForwardKind::kToClient);
  auto t = pkt::parse_tcp(out);
  Answer a;
  if (!t) return a;
  EXPECT_TRUE(t->checksum_ok);
  a.text = payload_of(*t);
  a.fin = (t->flags & pkt::kTcpFin) != 0;
  if (a.text.size() > 12) a.status = std::stoi(a.text.substr(9, 3));
  return a;
}

TEST(L7, NoRouteIs404) {
  Env env;
  const Answer a = answer(env, "GET / HTTP/1.1\r\nHost: other.example\r\n\r\n");
  EXPECT_EQ(a.status, 404);
  EXPECT_TRUE(a.fin);
  EXPECT_NE(a.text.find("Connection: close"), std::string::npos);
  EXPECT_EQ(env.state.counters.not_found, 1u);
}

TEST(L7, RedirectHasLocation) {
  Env env;
  const Answer a = answer(env, "GET /old?x=1 HTTP/1.1\r\nHost: app.example\r\n\r\n");
  EXPECT_EQ(a.status, 301);
  EXPECT_NE(a.text.find("Location: https://app.example/old?x=1\r\n"), std::string::npos) << a.text;
}

TEST(L7, NoValidBackendIs500AndNoEndpointIs503) {
  Env env;
  EXPECT_EQ(answer(env, "GET /broken HTTP/1.1\r\nHost: app.example\r\n\r\n").status, 500);
  EXPECT_EQ(answer(env, "GET /empty HTTP/1.1\r\nHost: app.example\r\n\r\n").status, 503);
}

TEST(L7, MalformedHeadIs400AndOversizedIs431) {
  Env env;
  EXPECT_EQ(answer(env, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400);
  Env env2;
  Client c{env2};
  c.handshake();
  Bytes out;
  const std::string line = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  std::string head = "GET / HTTP/1.1\r\nHost: app.example\r\n";
  Verdict v;
  for (int i = 0; i < 17; ++i) v = c.send(i == 0 ? head + line : line, &out);
  auto t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_EQ(payload_of(*t).substr(9, 3), "431");
}

TEST(L7, OutOfOrderSegmentGetsDuplicateAckAndRetransmissionCompletes) {
  Env env;
  Client c{env};
  c.handshake();
  Bytes out;
  const std::string a = kHead.substr(0, 20), b = kHead.substr(20, 20), rest = kHead.substr(40);
  ASSERT_EQ(c.send(a, &out).forward, ForwardKind::kToClient);
  // Skip b: rest arrives after a gap.
  const uint32_t sent_before = c.sent;
  c.sent += static_cast<uint32_t>(b.size());
  Verdict v = c.send(rest, &out);
  ASSERT_EQ(v.forward, ForwardKind::kToClient);
  auto t = pkt::parse_tcp(out);
  EXPECT_EQ(t->ack, c.isn + 1 + a.size()) << "a duplicate ACK for what is missing";
  EXPECT_EQ(env.state.counters.out_of_order, 1u);
  // The client retransmits from the gap, b and rest together.
  c.sent = sent_before;
  v = c.send(b + rest, &out);
  EXPECT_EQ(v.forward, ForwardKind::kL7ToBackend);
}

TEST(L7, ForgedAckGetsResetAndNoState) {
  Env env;
  Client c{env};
  c.handshake();
  c.cookie += 12345;  // not the cookie
  Bytes out;
  const Verdict v = c.send(kHead, &out);
  ASSERT_EQ(v.action, Action::kForward);
  auto t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->flags & pkt::kTcpRst, pkt::kTcpRst);
  EXPECT_EQ(env.conns.size(), 0u);
  EXPECT_EQ(env.state.counters.cookie_rejected, 1u);
}

TEST(L7, BackendSynIsRetransmittedThen503) {
  Env env;
  Client c{env};
  c.handshake();
  Bytes out;
  ASSERT_EQ(c.send(kHead, &out).forward, ForwardKind::kL7ToBackend);
  env.sink.frames.clear();
  for (int i = 0; i < 3; ++i) {
    env.advance_ms(1000ull << (i + 1));
    l7::sweep(env.l4, 64);
    ASSERT_EQ(env.sink.frames.size(), static_cast<size_t>(i + 1));
    auto t = pkt::parse_tcp(env.sink.frames.back());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->flags, pkt::kTcpSyn);
  }
  env.advance_ms(20000);
  l7::sweep(env.l4, 64);
  auto t = pkt::parse_tcp(env.sink.frames.back());
  ASSERT_TRUE(t);
  EXPECT_EQ(payload_of(*t).substr(9, 3), "503");
}

TEST(L7, ReplayIsRetransmittedUntilAcknowledged) {
  Env env;
  Client c{env};
  c.handshake();
  Bytes out;
  ASSERT_EQ(c.send(kHead, &out).forward, ForwardKind::kL7ToBackend);
  auto t = pkt::parse_tcp(out);
  Backend be;
  be.snat_port = t->sport;
  be.portico_isn = t->seq;
  Bytes sa = be.syn_ack();
  ASSERT_EQ(env.run(sa).action, Action::kForward);
  const std::string replay = payload_of(*pkt::parse_tcp(sa));
  env.sink.frames.clear();
  env.advance_ms(500);
  l7::sweep(env.l4, 64);
  ASSERT_EQ(env.sink.frames.size(), 1u);
  t = pkt::parse_tcp(env.sink.frames[0]);
  ASSERT_TRUE(t);
  EXPECT_EQ(payload_of(*t), replay);
  EXPECT_EQ(t->seq, be.portico_isn + 1);
}

TEST(L7, Ipv6Connection) {
  Env env;
  Client c{env};
  c.v6 = true;
  c.handshake();
  Bytes out;
  const Verdict v = c.send(kHead, &out);
  ASSERT_EQ(v.forward, ForwardKind::kL7ToBackend);
  auto ip = pkt::parse_ipv6(out);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->src, kSnat6);
  EXPECT_EQ(ip->dst, kBackend6);
  auto t = pkt::parse_tcp(out);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  Backend be;
  be.snat_port = t->sport;
  be.portico_isn = t->seq;
  Bytes sa = be.syn_ack(true);
  ASSERT_EQ(env.run(sa).action, Action::kForward);
  t = pkt::parse_tcp(sa);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->checksum_ok);
  EXPECT_NE(payload_of(*t).find("Host: app.example"), std::string::npos);
}

}  // namespace
}  // namespace nf

namespace nf {
namespace {

TEST(L7, BackendInTimeWaitGetsResetAndTheSynAgain) {
  Env env;
  Client c{env};
  c.handshake();
  Bytes out;
  ASSERT_EQ(c.send(kHead, &out).forward, ForwardKind::kL7ToBackend);
  auto syn = pkt::parse_tcp(out);
  ASSERT_TRUE(syn);
  const tcp_opt::TcpOptions so = options_of(*syn);
  EXPECT_TRUE(so.has_timestamps);
  EXPECT_EQ(so.ts_val, static_cast<uint32_t>(env.l4.now / (kHz / 1000)))
      << "the backend sees Portico's clock, not the client's";
  // The backend still holds an earlier connection on these ports: a challenge ACK.
  TcpFields f;
  f.sport = 8080;
  f.dport = syn->sport;
  f.seq = 123456;
  f.ack = 777;  // the old connection's numbers, not ours
  f.flags = pkt::kTcpAck;
  Bytes ack = Frame::eth(kPortMac, kBackendMac).ipv4(kBackend, kSnat).tcp_segment(f).bytes();
  env.sink.frames.clear();
  const Verdict v = env.run(ack);
  ASSERT_EQ(v.action, Action::kForward);
  auto rst = pkt::parse_tcp(ack);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->flags, pkt::kTcpRst);
  EXPECT_EQ(rst->seq, 777u);
  ASSERT_EQ(env.sink.frames.size(), 1u);
  auto again = pkt::parse_tcp(env.sink.frames[0]);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->flags, pkt::kTcpSyn);
  EXPECT_EQ(again->seq, syn->seq);
}

TEST(L7, BackendIsnsGrowWithTimeOnTheSameTuple) {
  l7::WorkerState w(4, 1, kHz);
  const uint8_t tuple[12] = {198, 51, 100, 11, 198, 51, 100, 21, 0x10, 0x00, 0x1f, 0x90};
  const uint32_t a = w.backend_isn(tuple, sizeof tuple, kStart);
  const uint32_t b = w.backend_isn(tuple, sizeof tuple, kStart + kHz);  // a second later
  EXPECT_EQ(b - a, 250000u) << "4 us ticks";
  uint8_t other[12];
  std::memcpy(other, tuple, 12);
  other[9] ^= 1;
  EXPECT_NE(w.backend_isn(other, sizeof other, kStart) - a, 0u);
}

}  // namespace
}  // namespace nf
