// The per-packet TCP splice (nf/tcp_splice.h).
//
// A scripted conversation through one SpliceState, as the L7 path would drive it: the client's
// handshake (SYN cookie) and head are done, Portico has opened the backend connection and
// replayed a rewritten head (longer, and shorter, than the client's), and from there every
// segment of both directions is spliced: acks inside the replay, body after the head, a head
// retransmission before and after the replay is acknowledged, SACK blocks both ways (some in the
// head), timestamps both ways (both clocks wrap), windows rescaled with a backend scale above
// and below the one Portico announced to the client, FIN both ways, RST, a retransmitted
// SYN-ACK and a malformed option area. Sequence numbers are chosen so that both connections
// wrap past 2^32 during the conversation. Each step is a table row: description, direction,
// the segment as sent, and the segment expected out (or "not forwarded"); the output frame is
// compared byte for byte with one built by tests/common/packet_builder.h, which computes every
// checksum by itself, and its checksums are verified by full recomputation. Expected numbers
// are written in terms of byte positions in each stream ("client byte k as the backend numbers
// it"), not with the offsets the implementation precomputes.
//
// Then: negotiation mismatches (SACK or timestamps refused by one side, no window scaling),
// the state derivation, why head_delivered is state, and randomized segments with random option
// layouts (odd offsets included) in both directions and both families.
//
// DISABLED_Cycles measures one splice_to_client() (run with --gtest_also_run_disabled_tests).
#include "nf/tcp_splice.h"

#include <gtest/gtest.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/common/packet_builder.h"

namespace nf::splice {
namespace {

using pkt::Bytes;
using pkt::Frame;
using pkt::TcpFields;

// ---- the network ----------------------------------------------------------------------------

const pkt::Mac kPorticoMac = pkt::mac("02:00:00:00:00:01");
const pkt::Mac kPeerMac = pkt::mac("02:aa:00:00:00:20");
const pkt::Ip4 kClient = pkt::ip4("198.18.7.20");
const pkt::Ip4 kVip = pkt::ip4("203.0.113.10");
const pkt::Ip4 kSnat = pkt::ip4("198.51.100.11");
const pkt::Ip4 kBackend = pkt::ip4("198.51.100.21");
const pkt::Ip6 kClient6 = pkt::ip6("2001:db8:700::20");
const pkt::Ip6 kVip6 = pkt::ip6("2001:db8:200::10");
const pkt::Ip6 kSnat6 = pkt::ip6("2001:db8:100::11");
const pkt::Ip6 kBackend6 = pkt::ip6("2001:db8:100::21");
constexpr uint16_t kCport = 40000, kVport = 80, kSport = 50001, kBport = 8080;
constexpr uint16_t kIpId = 0x1234;
constexpr uint8_t kTos = 0x28;
constexpr uint32_t kFlowLabel = 0x12345;

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

enum class Dir { kToBackend, kToClient };

// A frame of the conversation. Input frames arrive with the peer's TTL; output frames leave
// with Portico's (64). MACs are the caller's business and stay as they were; the IPv4 ID, TOS,
// DF, traffic class and flow label pass through.
Bytes make_frame(bool v6, Dir dir, bool output, TcpFields f) {
  const bool to_backend = dir == Dir::kToBackend;
  const uint8_t ttl = output ? 64 : (to_backend ? 57 : 61);
  if (to_backend) {
    f.sport = output ? kSport : kCport;
    f.dport = output ? kBport : kVport;
  } else {
    f.sport = output ? kVport : kBport;
    f.dport = output ? kCport : kSport;
  }
  Frame fr = Frame::eth(kPorticoMac, kPeerMac);
  if (v6) {
    const pkt::Ip6& src = to_backend ? (output ? kSnat6 : kClient6) : (output ? kVip6 : kBackend6);
    const pkt::Ip6& dst = to_backend ? (output ? kBackend6 : kVip6) : (output ? kClient6 : kSnat6);
    fr.ipv6(src, dst, ttl).traffic_class(kTos).flow_label(kFlowLabel);
  } else {
    const pkt::Ip4& src = to_backend ? (output ? kSnat : kClient) : (output ? kVip : kBackend);
    const pkt::Ip4& dst = to_backend ? (output ? kBackend : kVip) : (output ? kClient : kSnat);
    fr.ipv4(src, dst, ttl).ip_id(kIpId).tos(kTos).dont_fragment();
  }
  return fr.tcp_segment(f);
}

NatTuple nat_for(bool v6, Dir dir) {
  NatTuple t;
  if (dir == Dir::kToBackend) {
    t.src = v6 ? kSnat6.bytes.data() : kSnat.bytes.data();
    t.dst = v6 ? kBackend6.bytes.data() : kBackend.bytes.data();
    t.sport = be16(kSport);
    t.dport = be16(kBport);
  } else {
    t.src = v6 ? kVip6.bytes.data() : kVip.bytes.data();
    t.dst = v6 ? kClient6.bytes.data() : kClient.bytes.data();
    t.sport = be16(kVport);
    t.dport = be16(kCport);
  }
  return t;
}

Segment segment_of(Bytes& f, bool v6) {
  const uint32_t ip_hlen = v6 ? 40 : 20;
  return Segment{f.data() + 14, ip_hlen, static_cast<uint32_t>(f.size() - 14 - ip_hlen), v6};
}

SpliceResult splice(SpliceState& s, bool v6, Dir dir, Bytes& f) {
  return dir == Dir::kToBackend ? splice_to_backend(s, nat_for(v6, dir), segment_of(f, v6))
                                : splice_to_client(s, nat_for(v6, dir), segment_of(f, v6));
}

std::string anomaly_names(uint16_t bits) {
  std::string s;
  for (int i = 0; i < static_cast<int>(SpliceAnomaly::kCount); ++i) {
    if ((bits >> i) & 1) {
      s += s.empty() ? "" : ",";
      s += splice_anomaly_name(static_cast<SpliceAnomaly>(i));
    }
  }
  return s;
}

uint16_t bits_of(const std::vector<SpliceAnomaly>& v) {
  uint16_t b = 0;
  for (auto a : v) b |= static_cast<uint16_t>(1u << static_cast<int>(a));
  return b;
}

// ---- option bytes ---------------------------------------------------------------------------

void put_be32(Bytes& b, uint32_t v) {
  for (int sh = 24; sh >= 0; sh -= 8) b.push_back(static_cast<uint8_t>(v >> sh));
}

// The Timestamps option alone, and behind two NOPs (the usual layout).
Bytes ts_alone(uint32_t val, uint32_t ecr) {
  Bytes b{8, 10};
  put_be32(b, val);
  put_be32(b, ecr);
  return b;
}

Bytes ts(uint32_t val, uint32_t ecr) {
  Bytes b{1, 1};
  const Bytes t = ts_alone(val, ecr);
  b.insert(b.end(), t.begin(), t.end());
  return b;
}

struct Block {
  uint32_t left, right;
};

Bytes sack(std::initializer_list<Block> blocks) {
  Bytes b{1, 1, 5, static_cast<uint8_t>(2 + 8 * blocks.size())};
  for (const auto& x : blocks) {
    put_be32(b, x.left);
    put_be32(b, x.right);
  }
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes data(size_t n, uint8_t seed) {
  Bytes d(n);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<uint8_t>(seed + i * 13);
  return d;
}

// ---- the conversation's handshakes ----------------------------------------------------------

constexpr uint32_t kIsnC = 0xffffff00;   // client: its head crosses 2^32
constexpr uint32_t kIsnPc = 0xfffffe00;  // the cookie: the response crosses 2^32 at the client
constexpr uint32_t kIsnPb = 0xffffffa0;  // Portico -> backend: the replay crosses 2^32
constexpr uint32_t kIsnB = 0x00001000;
constexpr uint32_t kHeadC = 300;
constexpr uint32_t kTsC = 0xfffffff0;   // the client's last TSval before the splice (wraps soon)
constexpr uint32_t kTsPb = 0x40000000;  // Portico's TSval in its SYN to the backend
constexpr uint32_t kTsPc = 0x00a00000;  // Portico's last TSval to the client (cookie clock)
constexpr uint32_t kTsB = 0xffffff00;   // the backend's SYN-ACK TSval (wraps soon)
constexpr uint8_t kWsClient = 7;        // the client's shift; Portico announces it to the backend
constexpr uint8_t kWsToClient = 8;      // the shift Portico announced to the client
constexpr uint16_t kMssClient = 1460, kMssBackend = 1400;

tcp_opt::TcpOptions syn_opts(uint16_t mss, uint8_t ws, bool sack_ok = true, bool ts_ok = true,
                             bool ws_ok = true) {
  tcp_opt::TcpOptions o;
  o.has_mss = true;
  o.mss = mss;
  o.sack_permitted = sack_ok;
  o.has_timestamps = ts_ok;
  o.has_wscale = ws_ok;
  o.wscale = ws;
  return o;
}

HandshakeSide client_side() {
  HandshakeSide c;
  c.isn_peer = kIsnC;
  c.isn_portico = kIsnPc;
  c.peer_syn = syn_opts(kMssClient, kWsClient);
  c.portico_syn = syn_opts(1460, kWsToClient);
  c.head_len = kHeadC;
  c.ts_sent = kTsPc;
  c.ts_received = kTsC;
  return c;
}

HandshakeSide backend_side(uint32_t head_b, uint8_t ws_b) {
  HandshakeSide b;
  b.isn_peer = kIsnB;
  b.isn_portico = kIsnPb;
  b.portico_syn = syn_opts(kMssClient, kWsClient);
  b.peer_syn = syn_opts(kMssBackend, ws_b);
  b.head_len = head_b;
  b.ts_sent = kTsPb;
  b.ts_received = kTsB;
  return b;
}

// Positions in the two byte streams, as each side numbers them.
struct Numbers {
  uint32_t head_b;
  uint8_t ws_b;
  // Client byte k (0 = the first after the SYN) as the client numbers it ...
  uint32_t c(int64_t k) const { return kIsnC + 1 + static_cast<uint32_t>(k); }
  // ... and as the backend does: after the Hb replayed bytes, the client's bytes after its head.
  uint32_t cb(int64_t k) const {
    return kIsnPb + 1 + head_b + static_cast<uint32_t>(k - static_cast<int64_t>(kHeadC));
  }
  // Byte i of the replay, as the backend numbers it.
  uint32_t replay(uint32_t i) const { return kIsnPb + 1 + i; }
  // Backend byte j as the backend numbers it, and as the client does (after the cookie).
  uint32_t b(uint32_t j) const { return kIsnB + 1 + j; }
  uint32_t bc(uint32_t j) const { return kIsnPc + 1 + j; }
  // A client TSval as the backend sees it: Portico's SYN TSval stood for kTsC.
  uint32_t ts_cb(uint32_t t) const { return kTsPb + (t - kTsC); }
  // A backend TSval as the client sees it: it continues Portico's clock from kTsPc.
  uint32_t ts_bc(uint32_t t) const { return kTsPc + (t - kTsB); }
  // A backend window as the client must read it (RFC 7323 §2.3), rounded down, clamped.
  uint16_t win_bc(uint16_t w) const {
    return static_cast<uint16_t>(std::min<uint64_t>(0xffff, (uint64_t{w} << ws_b) >> kWsToClient));
  }
  bool clamps(uint16_t w) const { return ((uint64_t{w} << ws_b) >> kWsToClient) > 0xffff; }
};

struct Step {
  std::string what;
  Dir dir;
  TcpFields in;
  std::optional<TcpFields> out;  // nullopt: not forwarded, the frame must come back unchanged
  SpliceVerdict verdict = SpliceVerdict::kForward;
  std::vector<SpliceAnomaly> anomalies = {};
};

void run_step(SpliceState& s, bool v6, const Step& st) {
  SCOPED_TRACE(st.what);
  Bytes f = make_frame(v6, st.dir, false, st.in);
  const Bytes sent = f;
  const SpliceResult r = splice(s, v6, st.dir, f);
  EXPECT_EQ(splice_verdict_name(r.verdict), std::string(splice_verdict_name(st.verdict)));
  EXPECT_EQ(anomaly_names(r.anomalies), anomaly_names(bits_of(st.anomalies)));
  if (!st.out) {
    EXPECT_EQ(pkt::first_difference(f, sent), "") << "a segment not forwarded must be unchanged";
    return;
  }
  const Bytes want = make_frame(v6, st.dir, true, *st.out);
  EXPECT_EQ(pkt::first_difference(f, want), "");
  // And the checksums by full recomputation, independently of the comparison above.
  const auto tcp = pkt::parse_tcp(f);
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->checksum_ok);
  if (!v6) {
    const auto ip = pkt::parse_ipv4(f);
    ASSERT_TRUE(ip);
    EXPECT_TRUE(ip->checksum_ok);
  }
}

using SA = SpliceAnomaly;
constexpr uint8_t kAck = pkt::kTcpAck, kPsh = pkt::kTcpPsh, kFin = pkt::kTcpFin,
                  kRst = pkt::kTcpRst, kSyn = pkt::kTcpSyn;

std::vector<Step> conversation(const Numbers& n) {
  const uint32_t hb = n.head_b;
  const Bytes body1 = data(100, 1), body2 = data(1420, 2), resp1 = data(1000, 3),
              resp2 = data(500, 4), head_piece = data(20, 5), last = data(11, 6);
  std::vector<SA> clamp6;  // the window clamp of step 6, when the backend's scale makes it
  if (n.clamps(0xffff)) clamp6.push_back(SA::kWindowClamped);
  return {
      {"the backend acknowledges part of the replay: the client is told its head end",
       Dir::kToClient,
       {.seq = n.b(0),
        .ack = n.replay(100),
        .flags = kAck,
        .window = 0x0100,
        .options = ts(0xffffff08, kTsPb)},
       TcpFields{.seq = n.bc(0),
                 .ack = n.c(kHeadC),
                 .flags = kAck,
                 .window = n.win_bc(0x0100),
                 .options = ts(n.ts_bc(0xffffff08), kTsC)},
       SpliceVerdict::kForward,
       {SA::kAckInHead}},
      {"the client's body after the head goes out while the replay is unacknowledged",
       Dir::kToBackend,
       {.seq = n.c(kHeadC),
        .ack = n.bc(0),
        .flags = kPsh | kAck,
        .window = 0x1f00,
        .options = ts(0xfffffff5, n.ts_bc(0xffffff08)),
        .payload = body1},
       TcpFields{.seq = n.cb(kHeadC),
                 .ack = n.b(0),
                 .flags = kPsh | kAck,
                 .window = 0x1f00,  // Portico announced the client's scale to the backend
                 .options = ts(n.ts_cb(0xfffffff5), 0xffffff08),
                 .payload = body1}},
      {"a retransmitted piece of the head is not forwarded before the replay is acknowledged",
       Dir::kToBackend,
       {.seq = n.c(50),
        .ack = n.bc(0),
        .flags = kPsh | kAck,
        .window = 0x1f00,
        .options = ts(0xfffffff6, n.ts_bc(0xffffff08)),
        .payload = head_piece},
       std::nullopt,
       SpliceVerdict::kDataInHead},
      {"more body: the client's clock wraps; larger than the backend's MSS",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 100),
        .ack = n.bc(0),
        .flags = kAck,
        .window = 0x1eff,
        .options = ts(0x00000003, n.ts_bc(0xffffff08)),
        .payload = body2},
       TcpFields{.seq = n.cb(kHeadC + 100),
                 .ack = n.b(0),
                 .flags = kAck,
                 .window = 0x1eff,
                 .options = ts(n.ts_cb(0x00000003), 0xffffff08),
                 .payload = body2},
       SpliceVerdict::kForward,
       {SA::kOverMss}},
      {"the backend SACKs body before acknowledging the replay: head blocks trimmed / removed",
       Dir::kToClient,
       {.seq = n.b(0),
        .ack = n.replay(200),
        .flags = kAck,
        .window = 0x1235,
        .options = cat({ts(0xffffff09, n.ts_cb(0x00000003)),
                        sack({{n.replay(hb - 10), n.cb(kHeadC + 50)},
                              {n.replay(120), n.replay(140)},
                              {n.cb(kHeadC + 100), n.cb(kHeadC + 1520)}})})},
       TcpFields{.seq = n.bc(0),
                 .ack = n.c(kHeadC),
                 .flags = kAck,
                 .window = n.win_bc(0x1235),
                 .options = cat({ts(n.ts_bc(0xffffff09), 0x00000003),
                                 {1, 1, 5, 18},
                                 [&] {
                                   Bytes b;
                                   put_be32(b, n.c(kHeadC));
                                   put_be32(b, n.c(kHeadC + 50));
                                   put_be32(b, n.c(kHeadC + 100));
                                   put_be32(b, n.c(kHeadC + 1520));
                                   return b;
                                 }(),
                                 Bytes(8, 1)})},
       SpliceVerdict::kForward,
       {SA::kAckInHead, SA::kSackInHead}},
      {"the backend acknowledges the replay and the first body segment: head delivered",
       Dir::kToClient,
       {.seq = n.b(0),
        .ack = n.cb(kHeadC + 100),
        .flags = kAck,
        .window = 0xffff,
        .options = ts(0xffffff0a, n.ts_cb(0x00000003))},
       TcpFields{.seq = n.bc(0),
                 .ack = n.c(kHeadC + 100),
                 .flags = kAck,
                 .window = n.win_bc(0xffff),
                 .options = ts(n.ts_bc(0xffffff0a), 0x00000003)},
       SpliceVerdict::kForward,
       clamp6},
      {"response data: crosses 2^32 in the client's numbering",
       Dir::kToClient,
       {.seq = n.b(0),
        .ack = n.cb(kHeadC + 1520),
        .flags = kAck,
        .window = 0x0800,
        .options = ts(0xffffff40, n.ts_cb(0x00000003)),
        .payload = resp1},
       TcpFields{.seq = n.bc(0),
                 .ack = n.c(kHeadC + 1520),
                 .flags = kAck,
                 .window = n.win_bc(0x0800),
                 .options = ts(n.ts_bc(0xffffff40), 0x00000003),
                 .payload = resp1}},
      {"more response: the backend's clock wraps",
       Dir::kToClient,
       {.seq = n.b(1000),
        .ack = n.cb(kHeadC + 1520),
        .flags = kPsh | kAck,
        .window = 0x0800,
        .options = ts(0x00000020, n.ts_cb(0x00000003)),
        .payload = resp2},
       TcpFields{.seq = n.bc(1000),
                 .ack = n.c(kHeadC + 1520),
                 .flags = kPsh | kAck,
                 .window = n.win_bc(0x0800),
                 .options = ts(n.ts_bc(0x00000020), 0x00000003),
                 .payload = resp2}},
      {"the client SACKs the response",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 1520),
        .ack = n.bc(500),
        .flags = kAck,
        .window = 0x2000,
        .options = cat({ts(0x00000009, n.ts_bc(0x00000020)), sack({{n.bc(1000), n.bc(1500)}})})},
       TcpFields{
           .seq = n.cb(kHeadC + 1520),
           .ack = n.b(500),
           .flags = kAck,
           .window = 0x2000,
           .options = cat({ts(n.ts_cb(0x00000009), 0x00000020), sack({{n.b(1000), n.b(1500)}})})}},
      {"a retransmitted piece of the head after the replay is acknowledged: spliced (old data)",
       Dir::kToBackend,
       {.seq = n.c(50),
        .ack = n.bc(500),
        .flags = kPsh | kAck,
        .window = 0x2000,
        .options = ts(0x0000000a, n.ts_bc(0x00000020)),
        .payload = head_piece},
       TcpFields{.seq = n.cb(50),
                 .ack = n.b(500),
                 .flags = kPsh | kAck,
                 .window = 0x2000,
                 .options = ts(n.ts_cb(0x0000000a), 0x00000020),
                 .payload = head_piece}},
      {"four SACK blocks and no timestamps: spliced, the missing option reported",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 1520),
        .ack = n.bc(100),
        .flags = kAck,
        .window = 0x2000,
        .options = sack({{n.bc(200), n.bc(300)},
                         {n.bc(400), n.bc(500)},
                         {n.bc(600), n.bc(700)},
                         {n.bc(800), n.bc(1500)}})},
       TcpFields{.seq = n.cb(kHeadC + 1520),
                 .ack = n.b(100),
                 .flags = kAck,
                 .window = 0x2000,
                 .options = sack({{n.b(200), n.b(300)},
                                  {n.b(400), n.b(500)},
                                  {n.b(600), n.b(700)},
                                  {n.b(800), n.b(1500)}})},
       SpliceVerdict::kForward,
       {SA::kTimestampsMissing}},
      {"timestamps at an odd offset (NOP, Timestamps, NOP)",
       Dir::kToClient,
       {.seq = n.b(1500),
        .ack = n.cb(kHeadC + 1520),
        .flags = kAck,
        .window = 0x0801,
        .options = cat({{1}, ts_alone(0x00000021, n.ts_cb(9)), {1}})},
       TcpFields{.seq = n.bc(1500),
                 .ack = n.c(kHeadC + 1520),
                 .flags = kAck,
                 .window = n.win_bc(0x0801),
                 .options = cat({{1}, ts_alone(n.ts_bc(0x00000021), 9), {1}})}},
      {"the client's FIN, behind an unknown option that passes unchanged",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 1520),
        .ack = n.bc(1500),
        .flags = kFin | kAck,
        .window = 0x2000,
        .options = cat({{254, 4, 0xf9, 0x89}, ts(0x0000000b, n.ts_bc(0x00000021))})},
       TcpFields{.seq = n.cb(kHeadC + 1520),
                 .ack = n.b(1500),
                 .flags = kFin | kAck,
                 .window = 0x2000,
                 .options = cat({{254, 4, 0xf9, 0x89}, ts(n.ts_cb(0x0000000b), 0x00000021)})}},
      {"the backend's last data with its FIN (odd length)",
       Dir::kToClient,
       {.seq = n.b(1500),
        .ack = n.cb(kHeadC + 1521),
        .flags = kFin | kPsh | kAck,
        .window = 0x0800,
        .options = ts(0x00000022, n.ts_cb(0x0000000b)),
        .payload = last},
       TcpFields{.seq = n.bc(1500),
                 .ack = n.c(kHeadC + 1521),
                 .flags = kFin | kPsh | kAck,
                 .window = n.win_bc(0x0800),
                 .options = ts(n.ts_bc(0x00000022), 0x0000000b),
                 .payload = last}},
      {"the client acknowledges the backend's FIN",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 1521),
        .ack = n.bc(1512),
        .flags = kAck,
        .window = 0x2000,
        .options = ts(0x0000000c, n.ts_bc(0x00000022))},
       TcpFields{.seq = n.cb(kHeadC + 1521),
                 .ack = n.b(1512),
                 .flags = kAck,
                 .window = 0x2000,
                 .options = ts(n.ts_cb(0x0000000c), 0x00000022)}},
      {"a retransmitted SYN-ACK of the backend is not spliced",
       Dir::kToClient,
       {.seq = kIsnB,
        .ack = kIsnPb + 1,
        .flags = kSyn | kAck,
        .window = 0xffff,
        .options = {2, 4, 0x05, 0x78}},
       std::nullopt,
       SpliceVerdict::kSyn},
      {"a malformed option area is not spliced",
       Dir::kToBackend,
       {.seq = n.c(kHeadC + 1521),
        .ack = n.bc(1512),
        .flags = kAck,
        .window = 0x2000,
        .options = {1, 1, 8, 0}},
       std::nullopt,
       SpliceVerdict::kMalformed},
  };
}

struct ConversationParams {
  bool v6;
  uint32_t head_b;
  uint8_t ws_b;
};

class TcpSpliceConversation : public ::testing::TestWithParam<ConversationParams> {};

TEST_P(TcpSpliceConversation, EverySegmentTranslatedFieldByField) {
  const auto p = GetParam();
  SpliceState s = make_splice_state(client_side(), backend_side(p.head_b, p.ws_b), p.v6);
  const Numbers n{p.head_b, p.ws_b};
  const auto steps = conversation(n);
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    run_step(s, p.v6, steps[i]);
    // The replay counts as delivered from the step where the backend acknowledged it.
    EXPECT_EQ(s.head_delivered, i >= 5);
  }
}

TEST_P(TcpSpliceConversation, ResetsBothWays) {
  const auto p = GetParam();
  const Numbers n{p.head_b, p.ws_b};
  {
    SpliceState s = make_splice_state(client_side(), backend_side(p.head_b, p.ws_b), p.v6);
    run_step(
        s, p.v6,
        {"the client resets (RST, ACK without timestamps: nothing missing)",
         Dir::kToBackend,
         {.seq = n.c(kHeadC + 100), .ack = n.bc(0), .flags = kRst | kAck, .window = 0},
         TcpFields{.seq = n.cb(kHeadC + 100), .ack = n.b(0), .flags = kRst | kAck, .window = 0}});
  }
  {
    SpliceState s = make_splice_state(client_side(), backend_side(p.head_b, p.ws_b), p.v6);
    run_step(s, p.v6,
             {"the backend resets (RST alone: its ack field is left as it is)",
              Dir::kToClient,
              {.seq = n.b(0), .ack = 0x11111111, .flags = kRst, .window = 0},
              TcpFields{.seq = n.bc(0), .ack = 0x11111111, .flags = kRst, .window = 0}});
    EXPECT_FALSE(s.head_delivered) << "an ack field without ACK acknowledges nothing";
  }
}

INSTANTIATE_TEST_SUITE_P(Heads, TcpSpliceConversation,
                         ::testing::Values(ConversationParams{false, kHeadC + 40, 10},
                                           ConversationParams{false, kHeadC - 40, 6},
                                           ConversationParams{false, kHeadC + 40, 6},
                                           ConversationParams{false, kHeadC - 40, 10},
                                           ConversationParams{true, kHeadC + 40, 10},
                                           ConversationParams{true, kHeadC - 40, 6},
                                           ConversationParams{true, kHeadC + 40, 6},
                                           ConversationParams{true, kHeadC - 40, 10}),
                         [](const ::testing::TestParamInfo<ConversationParams>& i) {
                           return std::string(i.param.v6 ? "Ipv6" : "Ipv4") +
                                  (i.param.head_b > kHeadC ? "LongerHead" : "ShorterHead") +
                                  "BackendScale" + std::to_string(i.param.ws_b);
                         });

// ---- negotiation mismatches -----------------------------------------------------------------

class TcpSpliceFamily : public ::testing::TestWithParam<bool> {};

TEST_P(TcpSpliceFamily, SackToABackendWithoutSackBecomesNops) {
  const bool v6 = GetParam();
  HandshakeSide b = backend_side(kHeadC, kWsClient);
  b.peer_syn.sack_permitted = false;  // the backend did not agree to SACK
  SpliceState s = make_splice_state(client_side(), b, v6);
  EXPECT_FALSE(s.sack_backend);
  const Numbers n{kHeadC, kWsClient};
  run_step(s, v6,
           {"a SACK option the backend did not negotiate",
            Dir::kToBackend,
            {.seq = n.c(kHeadC),
             .ack = n.bc(100),
             .flags = kAck,
             .window = 7,
             .options = cat({ts(kTsC, kTsPc), sack({{n.bc(200), n.bc(300)}})})},
            TcpFields{.seq = n.cb(kHeadC),
                      .ack = n.b(100),
                      .flags = kAck,
                      .window = 7,
                      .options = cat({ts(kTsPb, kTsB), {1, 1}, Bytes(10, 1)})},
            SpliceVerdict::kForward,
            {SA::kSackStripped}});
}

TEST_P(TcpSpliceFamily, SackToAClientWithoutSackBecomesNops) {
  const bool v6 = GetParam();
  HandshakeSide c = client_side();
  c.peer_syn.sack_permitted = false;  // the client did not offer it, so Portico did not either
  c.portico_syn.sack_permitted = false;
  HandshakeSide b = backend_side(kHeadC, kWsToClient);
  b.portico_syn.sack_permitted = false;
  SpliceState s = make_splice_state(c, b, v6);
  s.head_delivered = true;
  const Numbers n{kHeadC, kWsToClient};
  run_step(s, v6,
           {"a backend that sends SACK anyway",
            Dir::kToClient,
            {.seq = n.b(0),
             .ack = n.cb(kHeadC),
             .flags = kAck,
             .window = 9,
             .options = cat({sack({{n.cb(kHeadC + 10), n.cb(kHeadC + 20)},
                                   {n.cb(kHeadC + 30), n.cb(kHeadC + 40)}}),
                             ts(kTsB, kTsPb)})},
            TcpFields{.seq = n.bc(0),
                      .ack = n.c(kHeadC),
                      .flags = kAck,
                      .window = 9,
                      .options = cat({{1, 1}, Bytes(18, 1), ts(kTsPc, kTsC)})},
            SpliceVerdict::kForward,
            {SA::kSackStripped}});
}

TEST_P(TcpSpliceFamily, TimestampsRefusedByTheBackend) {
  const bool v6 = GetParam();
  HandshakeSide b = backend_side(kHeadC, kWsClient);
  b.peer_syn.has_timestamps = false;
  SpliceState s = make_splice_state(client_side(), b, v6);
  EXPECT_TRUE(s.ts_client);
  EXPECT_FALSE(s.ts_backend);
  const Numbers n{kHeadC, kWsClient};
  const std::vector<Step> steps = {
      {"the client's timestamps do not reach the backend",
       Dir::kToBackend,
       {.seq = n.c(kHeadC), .ack = n.bc(0), .flags = kAck, .window = 5, .options = ts(kTsC, kTsPc)},
       TcpFields{
           .seq = n.cb(kHeadC), .ack = n.b(0), .flags = kAck, .window = 5, .options = Bytes(12, 1)},
       SpliceVerdict::kForward,
       {SA::kTimestampsStripped}},
      {"the backend's segments reach the client without timestamps: reported",
       Dir::kToClient,
       {.seq = n.b(0), .ack = n.cb(kHeadC), .flags = kAck, .window = 0x100},
       TcpFields{.seq = n.bc(0), .ack = n.c(kHeadC), .flags = kAck, .window = n.win_bc(0x100)},
       SpliceVerdict::kForward,
       {SA::kTimestampsMissing}},
  };
  for (const auto& st : steps) run_step(s, v6, st);
}

TEST_P(TcpSpliceFamily, BackendWithoutWindowScaling) {
  const bool v6 = GetParam();
  HandshakeSide b = backend_side(kHeadC, 0);
  b.peer_syn.has_wscale = false;  // RFC 7323 §2.2: no scaling on the backend connection at all
  SpliceState s = make_splice_state(client_side(), b, v6);
  EXPECT_EQ(s.wscale_to_backend, 0);
  EXPECT_EQ(s.wscale_from_backend, 0);
  const Numbers n{kHeadC, 0};
  const std::vector<Step> steps = {
      {"a client window read with the client's scale 7, sent unscaled",
       Dir::kToBackend,
       {.seq = n.c(kHeadC), .ack = n.bc(0), .flags = kAck, .window = 0x0100},
       TcpFields{.seq = n.cb(kHeadC), .ack = n.b(0), .flags = kAck, .window = 0x8000},
       SpliceVerdict::kForward,
       {SA::kTimestampsMissing}},
      {"a client window too large for 16 bits unscaled: clamped",
       Dir::kToBackend,
       {.seq = n.c(kHeadC), .ack = n.bc(0), .flags = kAck | kRst, .window = 0x0200},
       TcpFields{.seq = n.cb(kHeadC), .ack = n.b(0), .flags = kAck | kRst, .window = 0xffff},
       SpliceVerdict::kForward,
       {SA::kWindowClamped}},
      {"an unscaled backend window in the client's scale 8: rounded down",
       Dir::kToClient,
       {.seq = n.b(0), .ack = n.cb(kHeadC), .flags = kAck | kRst, .window = 0x80ff},
       TcpFields{.seq = n.bc(0), .ack = n.c(kHeadC), .flags = kAck | kRst, .window = 0x80}},
  };
  for (const auto& st : steps) run_step(s, v6, st);
}

TEST_P(TcpSpliceFamily, AckInTheHeadRegionAfterFourGigabytesIsNotClamped) {
  // After the backend has acknowledged the replay, its acks may take any value again once the
  // connection has carried 2^32 bytes; only the state bit tells them from acks inside the head.
  const bool v6 = GetParam();
  SpliceState s = make_splice_state(client_side(), backend_side(kHeadC + 40, 8), v6);
  const Numbers n{kHeadC + 40, 8};
  const TcpFields in{.seq = n.b(0), .ack = n.replay(10), .flags = kAck | kRst, .window = 0};
  run_step(s, v6,
           {"before delivery: inside the head",
            Dir::kToClient,
            in,
            TcpFields{.seq = n.bc(0), .ack = n.c(kHeadC), .flags = kAck | kRst, .window = 0},
            SpliceVerdict::kForward,
            {SA::kAckInHead}});
  s.head_delivered = true;
  // The same number is then an ordinary ack (2^32 bytes on, a real one), translated exactly:
  // replay(10) is where the mapping puts client byte 10 + (Hc - Hb) = 10 - 40 (modulo 2^32).
  run_step(s, v6,
           {"after delivery: an ordinary ack", Dir::kToClient, in,
            TcpFields{.seq = n.bc(0), .ack = n.c(10 - 40), .flags = kAck | kRst, .window = 0}});
}

INSTANTIATE_TEST_SUITE_P(Families, TcpSpliceFamily, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Ipv6" : "Ipv4";
                         });

// ---- the state ------------------------------------------------------------------------------

TEST(TcpSpliceState, DerivedFromTheHandshakes) {
  const SpliceState s = make_splice_state(client_side(), backend_side(kHeadC + 40, 10), false);
  EXPECT_EQ(s.isn_client, kIsnC);
  EXPECT_EQ(s.isn_cookie, kIsnPc);
  EXPECT_EQ(s.isn_portico, kIsnPb);
  EXPECT_EQ(s.isn_backend, kIsnB);
  EXPECT_EQ(s.head_delta, 40u);
  EXPECT_EQ(s.head_end_client, kIsnC + 1 + kHeadC);
  EXPECT_EQ(s.head_end_backend, kIsnPb + 1 + kHeadC + 40);
  EXPECT_EQ(s.mss_client, kMssClient);
  EXPECT_EQ(s.mss_backend, kMssBackend);
  EXPECT_EQ(s.wscale_from_client, kWsClient);
  EXPECT_EQ(s.wscale_to_backend, kWsClient);
  EXPECT_EQ(s.wscale_from_backend, 10);
  EXPECT_EQ(s.wscale_to_client, kWsToClient);
  EXPECT_TRUE(s.sack_client && s.sack_backend && s.ts_client && s.ts_backend);
  EXPECT_FALSE(s.head_delivered);
  EXPECT_EQ(make_splice_state(client_side(), backend_side(kHeadC - 40, 10), false).head_delta,
            static_cast<uint32_t>(-40));
}

TEST(TcpSpliceState, NegotiationRules) {
  HandshakeSide c = client_side(), b = backend_side(kHeadC, 15);
  c.peer_syn.has_mss = false;  // RFC 9293 §3.7.1 default
  c.peer_syn.wscale = 20;      // RFC 7323 §2.3: above 14 counts as 14
  c.portico_syn.has_timestamps = false;
  b.peer_syn.has_mss = false;
  b.peer_syn.sack_permitted = false;
  SpliceState s4 = make_splice_state(c, b, false);
  EXPECT_EQ(s4.mss_client, 536);
  EXPECT_EQ(s4.mss_backend, 536);
  EXPECT_EQ(make_splice_state(c, b, true).mss_client, 1220);
  EXPECT_EQ(s4.wscale_from_client, 14);
  EXPECT_EQ(s4.wscale_from_backend, 14);
  EXPECT_FALSE(s4.ts_client) << "Portico's SYN-ACK had no timestamps";
  EXPECT_TRUE(s4.sack_client);
  EXPECT_FALSE(s4.sack_backend);
  // Window scaling needs the option in both SYNs: one missing turns it off both ways.
  c.portico_syn.has_wscale = false;
  const SpliceState s = make_splice_state(c, b, false);
  EXPECT_EQ(s.wscale_from_client, 0);
  EXPECT_EQ(s.wscale_to_client, 0);
  // Nothing replayed: nothing to wait for.
  EXPECT_TRUE(make_splice_state(client_side(), backend_side(0, 7), false).head_delivered);
}

TEST(TcpSpliceState, Names) {
  EXPECT_STREQ(splice_verdict_name(SpliceVerdict::kDataInHead), "data_in_head");
  EXPECT_STREQ(splice_anomaly_name(SpliceAnomaly::kWindowClamped), "window_clamped");
}

// ---- randomized segments -------------------------------------------------------------------

// Random states and segments with random option layouts (NOPs before and between options, so
// timestamps and SACK blocks land at even and odd offsets, unknown options, EOL padding), in
// both directions: every output equals the frame built from the expected numbers, checksums
// included.
TEST(TcpSpliceRandom, RandomLayoutsAndNumbers) {
  std::mt19937 rng(7);
  auto r32 = [&] { return static_cast<uint32_t>(rng()); };
  int forwarded = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const bool v6 = rng() & 1;
    HandshakeSide c, b;
    c.isn_peer = r32();
    c.isn_portico = r32();
    c.head_len = rng() % 3000;
    c.ts_sent = r32();
    c.ts_received = r32();
    b.isn_peer = r32();
    b.isn_portico = r32();
    b.head_len = rng() % 3000;
    b.ts_sent = r32();
    b.ts_received = r32();
    for (auto* o : {&c.peer_syn, &c.portico_syn, &b.peer_syn, &b.portico_syn}) {
      *o = syn_opts(1460, static_cast<uint8_t>(rng() % 15));
    }
    SpliceState s = make_splice_state(c, b, v6);
    s.head_delivered = true;
    const Dir dir = (rng() & 1) ? Dir::kToBackend : Dir::kToClient;
    const bool tb = dir == Dir::kToBackend;

    // The numbers each direction must produce, from the handshakes.
    const uint32_t seq_in = r32(), ack_in = r32(), tsv = r32(), tse = r32();
    const uint32_t delta = b.head_len - c.head_len;
    auto seq_out = [&](uint32_t x) {
      return tb ? x - c.isn_peer + b.isn_portico + delta : x - b.isn_peer + c.isn_portico;
    };
    auto ack_out = [&](uint32_t x) {
      return tb ? x - c.isn_portico + b.isn_peer : x - b.isn_portico - delta + c.isn_peer;
    };
    const uint32_t tsv_out = tb ? tsv - c.ts_received + b.ts_sent : tsv - b.ts_received + c.ts_sent;
    const uint32_t tse_out = tb ? tse - c.ts_sent + b.ts_received : tse - b.ts_sent + c.ts_received;
    const uint8_t ws_from = tb ? c.peer_syn.wscale : b.peer_syn.wscale;
    const uint8_t ws_to = tb ? b.portico_syn.wscale : c.portico_syn.wscale;
    const uint16_t win = static_cast<uint16_t>(rng());
    const uint16_t win_out =
        static_cast<uint16_t>(std::min<uint64_t>(0xffff, (uint64_t{win} << ws_from) >> ws_to));

    Bytes in_opts, out_opts;
    auto both = [&](const Bytes& x, const Bytes& y) {
      in_opts.insert(in_opts.end(), x.begin(), x.end());
      out_opts.insert(out_opts.end(), y.begin(), y.end());
    };
    auto nops = [&] {
      const Bytes x(rng() % 3, 1);
      both(x, x);
    };
    const bool with_ts = rng() % 4 != 0;
    const size_t blocks = rng() % 4;  // 0: no SACK
    const bool with_unknown = rng() % 3 == 0;
    nops();
    if (with_unknown) both({253, 6, 0x4e, 0x47, 1, 2}, {253, 6, 0x4e, 0x47, 1, 2});
    nops();
    if (with_ts) {
      Bytes x{8, 10}, y{8, 10};
      put_be32(x, tsv);
      put_be32(x, tse);
      put_be32(y, tsv_out);
      put_be32(y, tse_out);
      both(x, y);
    }
    nops();
    if (blocks != 0 && in_opts.size() + 2 + 8 * blocks <= 40) {
      Bytes x{5, static_cast<uint8_t>(2 + 8 * blocks)}, y = x;
      for (size_t i = 0; i < 2 * blocks; ++i) {
        const uint32_t e = r32();
        put_be32(x, e);
        put_be32(y, ack_out(e));
      }
      both(x, y);
    }
    if (in_opts.size() > 40) continue;               // rare: too many NOPs
    while (in_opts.size() % 4 != 0) both({0}, {0});  // EOL padding

    const Bytes payload = data(rng() % 64, static_cast<uint8_t>(iter));
    const uint8_t flags = static_cast<uint8_t>(kAck | (rng() % 2 ? kPsh : 0));
    const TcpFields in{.seq = seq_in,
                       .ack = ack_in,
                       .flags = flags,
                       .window = win,
                       .options = in_opts,
                       .payload = payload};
    const TcpFields out{.seq = seq_out(seq_in),
                        .ack = ack_out(ack_in),
                        .flags = flags,
                        .window = win_out,
                        .options = out_opts,
                        .payload = payload};
    Bytes f = make_frame(v6, dir, false, in);
    const SpliceResult res = splice(s, v6, dir, f);
    ASSERT_TRUE(res.forward()) << "iteration " << iter;
    ++forwarded;
    const Bytes want = make_frame(v6, dir, true, out);
    ASSERT_EQ(pkt::first_difference(f, want), "") << "iteration " << iter;
  }
  EXPECT_GT(forwarded, 15000);
}

// ---- cost -----------------------------------------------------------------------------------

// Cycles of one splice_to_client() on a 64-byte TCP segment (20-byte header, NOP NOP Timestamps,
// 32 bytes of data) in IPv4, with window rescaling, as a worker meets it: a burst of 32 frames
// in cache, spliced one after the other. The frames are refreshed between bursts, outside the
// timed part. Best of several rounds. A measurement, not an assertion.
TEST(TcpSpliceCost, DISABLED_Cycles) {
  SpliceState s = make_splice_state(client_side(), backend_side(kHeadC + 40, 10), false);
  s.head_delivered = true;
  const Numbers n{kHeadC + 40, 10};
  const Bytes tmpl = make_frame(false, Dir::kToClient, false,
                                {.seq = n.b(0),
                                 .ack = n.cb(kHeadC + 100),
                                 .flags = kPsh | kAck,
                                 .window = 0x0800,
                                 .options = ts(0xffffff40, n.ts_cb(3)),
                                 .payload = data(32, 9)});
  ASSERT_EQ(tmpl.size(), 14u + 20 + 64);
  const NatTuple to = nat_for(false, Dir::kToClient);
  constexpr int kBurst = 32, kBursts = 20000;
  alignas(64) static uint8_t frames[kBurst][128];
  Segment segs[kBurst];
  for (int i = 0; i < kBurst; ++i) segs[i] = Segment{frames[i] + 14, 20, 64, false};
  double best = 1e30;
  unsigned sink = 0;
  for (int round = 0; round < 5; ++round) {
    uint64_t total = 0;
    for (int b = 0; b < kBursts; ++b) {
      for (auto& f : frames) std::memcpy(f, tmpl.data(), tmpl.size());
      _mm_lfence();
      const uint64_t t0 = __rdtsc();
      _mm_lfence();
      for (int i = 0; i < kBurst; ++i) sink += splice_to_client(s, to, segs[i]).anomalies;
      _mm_lfence();
      total += __rdtsc() - t0;
    }
    best = std::min(best, static_cast<double>(total) / (kBursts * kBurst));
  }
  EXPECT_EQ(frames[0][14 + 8], 64) << sink;  // spliced: TTL 64
  std::printf(
      "splice_to_client, 64-byte segment with timestamps, IPv4, bursts of %d: %.1f TSC "
      "cycles per segment\n",
      kBurst, best);
}

}  // namespace
}  // namespace nf::splice
