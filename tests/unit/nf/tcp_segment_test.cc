// The frames Portico sends itself on the L7 path (nf/tcp_segment.h).
//
// Each segment kind, for IPv4 and for IPv6, is built by nf::tcp_seg and compared byte for byte
// with the same segment built by tests/common/packet_builder.h (whose checksums are a second,
// plain implementation), then parsed back with the builder's parsers: checksums valid by full
// recomputation, and the fields the header comment of tcp_segment.h promises (TTL, DF, ID,
// hop limit, flow label, data offset, flags, options, payload). Refusals (buffer too small,
// bad option length, datagram too long) leave the buffer untouched.
#include "nf/tcp_segment.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/common/packet_builder.h"

namespace nf::tcp_seg {
namespace {

using pkt::Bytes;
using pkt::Frame;
using pkt::TcpFields;

const pkt::Mac kPorticoMac = pkt::mac("02:00:00:00:00:01");
const pkt::Mac kPeerMac = pkt::mac("02:aa:00:00:00:20");
const pkt::Ip4 kVip = pkt::ip4("203.0.113.10");
const pkt::Ip4 kClient = pkt::ip4("198.18.7.20");
const pkt::Ip6 kVip6 = pkt::ip6("2001:db8:200::10");
const pkt::Ip6 kClient6 = pkt::ip6("2001:db8:700::20");
constexpr uint16_t kVport = 443;
constexpr uint16_t kCport = 40001;
constexpr uint32_t kFlowLabel = 0x5a5a5;

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

SegmentAddrs addrs(bool v6) {
  SegmentAddrs a;
  a.src_mac = kPorticoMac.bytes.data();
  a.dst_mac = kPeerMac.bytes.data();
  a.src_ip = v6 ? kVip6.bytes.data() : kVip.bytes.data();
  a.dst_ip = v6 ? kClient6.bytes.data() : kClient.bytes.data();
  a.sport = be16(kVport);
  a.dport = be16(kCport);
  a.v6 = v6;
  a.flow_label = kFlowLabel;
  return a;
}

// The same segment from the test builder: TTL 64, DF, ID 0 / hop limit 64, the flow label.
Bytes expected(bool v6, TcpFields f) {
  f.sport = kVport;
  f.dport = kCport;
  Frame fr = Frame::eth(kPeerMac, kPorticoMac);
  if (v6) {
    fr.ipv6(kVip6, kClient6, 64).flow_label(kFlowLabel);
  } else {
    fr.ipv4(kVip, kClient, 64).ip_id(0).dont_fragment();
  }
  return fr.tcp_segment(f);
}

Bytes be32_bytes(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes payload_of(size_t n) {
  Bytes p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
  return p;
}

tcp_opt::TcpOptions syn_options() {
  tcp_opt::TcpOptions o;
  o.has_mss = true;
  o.mss = 1460;
  o.sack_permitted = true;
  o.has_timestamps = true;
  o.ts_val = 0xfedcba98;
  o.ts_ecr = 0x00112233;
  o.has_wscale = true;
  o.wscale = 7;
  return o;
}

const Timestamps kTs{0x80000000, 0x7fffffff};
const Bytes kTsBlock = [] {
  Bytes b{1, 1, 8, 10};
  for (uint32_t v : {kTs.val, kTs.ecr}) {
    const Bytes w = be32_bytes(v);
    b.insert(b.end(), w.begin(), w.end());
  }
  return b;
}();

struct Case {
  std::string what;
  std::function<size_t(const SegmentAddrs&, uint8_t*, size_t)> build;
  TcpFields want;  // ports are filled in by expected()
};

std::vector<Case> cases() {
  const Bytes data = payload_of(333);  // odd: the checksum's last byte is a half word
  Bytes syn_opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
  for (uint32_t v : {0xfedcba98u, 0u}) {  // a SYN's TSecr is written as 0
    const Bytes w = be32_bytes(v);
    syn_opts.insert(syn_opts.end(), w.begin(), w.end());
  }
  syn_opts.insert(syn_opts.end(), {1, 3, 3, 7});
  Bytes synack_opts = syn_opts;
  const Bytes ecr = be32_bytes(0x00112233);
  std::copy(ecr.begin(), ecr.end(), synack_opts.begin() + 12);

  return {
      {"SYN to a backend",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_syn(a, 0xfffffff0, 64240, syn_options(), b, cap);
       },
       {.seq = 0xfffffff0, .ack = 0, .flags = pkt::kTcpSyn, .window = 64240, .options = syn_opts}},
      {"SYN-ACK to a client (cookie ISN)",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_syn_ack(a, 0x9abcdef0, 0x00000001, 65535, syn_options(), b, cap);
       },
       {.seq = 0x9abcdef0,
        .ack = 1,
        .flags = pkt::kTcpSyn | pkt::kTcpAck,
        .window = 65535,
        .options = synack_opts}},
      {"SYN-ACK with MSS only",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         tcp_opt::TcpOptions o;
         o.has_mss = true;
         o.mss = 1220;
         return build_syn_ack(a, 5, 6, 1000, o, b, cap);
       },
       {.seq = 5,
        .ack = 6,
        .flags = pkt::kTcpSyn | pkt::kTcpAck,
        .window = 1000,
        .options = {2, 4, 0x04, 0xc4}}},
      {"ACK with timestamps",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_ack(a, 100, 200, 501, &kTs, b, cap);
       },
       {.seq = 100, .ack = 200, .flags = pkt::kTcpAck, .window = 501, .options = kTsBlock}},
      {"ACK without options",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_ack(a, 0xffffffff, 0, 0, nullptr, b, cap);
       },
       {.seq = 0xffffffff, .ack = 0, .flags = pkt::kTcpAck, .window = 0}},
      {"data: the replayed head",
       [data](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_data(a, 1000, 2000, 3000, &kTs, data.data(), data.size(), false, b, cap);
       },
       {.seq = 1000,
        .ack = 2000,
        .flags = pkt::kTcpPsh | pkt::kTcpAck,
        .window = 3000,
        .options = kTsBlock,
        .payload = data}},
      {"data with FIN: a generated response that closes",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         const Bytes r = pkt::text("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
         return build_data(a, 7, 8, 9, nullptr, r.data(), r.size(), true, b, cap);
       },
       {.seq = 7,
        .ack = 8,
        .flags = pkt::kTcpPsh | pkt::kTcpAck | pkt::kTcpFin,
        .window = 9,
        .payload = pkt::text("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")}},
      {"FIN",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_fin(a, 0x10, 0x20, 0x30, &kTs, b, cap);
       },
       {.seq = 0x10,
        .ack = 0x20,
        .flags = pkt::kTcpFin | pkt::kTcpAck,
        .window = 0x30,
        .options = kTsBlock}},
      {"RST, ACK",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_rst(a, 0x12345678, 0x9abcdef0, true, b, cap);
       },
       {.seq = 0x12345678, .ack = 0x9abcdef0, .flags = pkt::kTcpRst | pkt::kTcpAck, .window = 0}},
      {"RST alone: the ack field is zero",
       [](const SegmentAddrs& a, uint8_t* b, size_t cap) {
         return build_rst(a, 0x12345678, 0x9abcdef0, false, b, cap);
       },
       {.seq = 0x12345678, .ack = 0, .flags = pkt::kTcpRst, .window = 0}},
  };
}

class TcpSegmentTest : public ::testing::TestWithParam<bool> {};

TEST_P(TcpSegmentTest, EveryKindMatchesTheTestBuilderAndParsesBack) {
  const bool v6 = GetParam();
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.what);
    uint8_t buf[2048];
    std::memset(buf, 0xcc, sizeof buf);
    const size_t n = c.build(addrs(v6), buf, sizeof buf);
    const Bytes got(buf, buf + n);
    const Bytes want = expected(v6, c.want);
    ASSERT_EQ(n, want.size());
    EXPECT_EQ(pkt::first_difference(got, want), "");
    EXPECT_EQ(buf[n], 0xcc) << "wrote past the frame";

    // Read back field by field.
    const auto tcp = pkt::parse_tcp(got);
    ASSERT_TRUE(tcp);
    EXPECT_TRUE(tcp->checksum_ok);
    EXPECT_EQ(tcp->sport, kVport);
    EXPECT_EQ(tcp->dport, kCport);
    EXPECT_EQ(tcp->seq, c.want.seq);
    EXPECT_EQ(tcp->ack, c.want.ack);
    EXPECT_EQ(tcp->flags, c.want.flags);
    EXPECT_EQ(tcp->window, c.want.window);
    EXPECT_EQ(tcp->urgent, 0);
    EXPECT_EQ(tcp->header_len, 20 + c.want.options.size());
    EXPECT_EQ(Bytes(tcp->options.begin(), tcp->options.end()), c.want.options);
    EXPECT_EQ(Bytes(tcp->payload.begin(), tcp->payload.end()), c.want.payload);
    const auto eth = pkt::parse_eth(got);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst, kPeerMac);
    EXPECT_EQ(eth->src, kPorticoMac);
    if (v6) {
      const auto ip = pkt::parse_ipv6(got);
      ASSERT_TRUE(ip);
      EXPECT_EQ(ip->version, 6);
      EXPECT_EQ(ip->hop_limit, 64);
      EXPECT_EQ(ip->traffic_class, 0);
      EXPECT_EQ(ip->flow_label, kFlowLabel);
      EXPECT_EQ(ip->next_header, pkt::kProtoTcp);
      EXPECT_EQ(ip->payload_length, n - 54);
      EXPECT_EQ(ip->src, kVip6);
      EXPECT_EQ(ip->dst, kClient6);
    } else {
      const auto ip = pkt::parse_ipv4(got);
      ASSERT_TRUE(ip);
      EXPECT_TRUE(ip->checksum_ok);
      EXPECT_EQ(ip->ihl, 5);
      EXPECT_EQ(ip->ttl, 64);
      EXPECT_EQ(ip->fragment, 0x4000);  // DF, offset 0
      EXPECT_EQ(ip->id, 0);
      EXPECT_EQ(ip->tos, 0);
      EXPECT_EQ(ip->protocol, pkt::kProtoTcp);
      EXPECT_EQ(ip->total_length, n - 14);
      EXPECT_EQ(ip->src, kVip);
      EXPECT_EQ(ip->dst, kClient);
    }
  }
}

TEST_P(TcpSegmentTest, PayloadAlreadyInPlace) {
  // The head replay can be written straight into the frame's payload position.
  const bool v6 = GetParam();
  const Bytes data = payload_of(1001);
  uint8_t buf[2048];
  std::memset(buf, 0xcc, sizeof buf);
  uint8_t* const at = buf + headers_len(v6, tcp_opt::kTimestampsBlockLen);
  std::memcpy(at, data.data(), data.size());
  const size_t n = build_data(addrs(v6), 1, 2, 3, &kTs, at, data.size(), false, buf, sizeof buf);
  const Bytes want = expected(v6, {.seq = 1,
                                   .ack = 2,
                                   .flags = pkt::kTcpPsh | pkt::kTcpAck,
                                   .window = 3,
                                   .options = kTsBlock,
                                   .payload = data});
  EXPECT_EQ(pkt::first_difference(Bytes(buf, buf + n), want), "");
}

TEST_P(TcpSegmentTest, PayloadInsideTheHeaderArea) {
  // A payload that overlaps where the headers go is moved before they are written.
  const bool v6 = GetParam();
  const Bytes data = payload_of(100);
  uint8_t buf[512];
  std::memcpy(buf + 3, data.data(), data.size());
  const size_t n =
      build_data(addrs(v6), 1, 2, 3, nullptr, buf + 3, data.size(), false, buf, sizeof buf);
  const Bytes want = expected(
      v6, {.seq = 1, .ack = 2, .flags = pkt::kTcpPsh | pkt::kTcpAck, .window = 3, .payload = data});
  EXPECT_EQ(pkt::first_difference(Bytes(buf, buf + n), want), "");
}

TEST_P(TcpSegmentTest, RefusalsLeaveTheBufferUntouched) {
  const bool v6 = GetParam();
  const SegmentAddrs a = addrs(v6);
  const Bytes data = payload_of(100);
  const size_t need = headers_len(v6, 12) + data.size();
  std::vector<uint8_t> buf(70000, 0xcc);
  const std::vector<uint8_t> clean = buf;

  EXPECT_EQ(build_data(a, 1, 2, 3, &kTs, data.data(), data.size(), false, buf.data(), need - 1), 0u)
      << "one byte short";
  EXPECT_EQ(build_data(a, 1, 2, 3, &kTs, data.data(), data.size(), false, buf.data(), need), need)
      << "exactly enough";
  buf = clean;

  const uint8_t opts[44] = {1, 1, 1, 1, 1, 1};
  SegmentFields f;
  f.flags = pkt::kTcpAck;
  f.options = opts;
  f.options_len = 6;
  EXPECT_EQ(build_segment(a, f, buf.data(), buf.size()), 0u) << "options not a multiple of 4";
  f.options_len = 44;
  EXPECT_EQ(build_segment(a, f, buf.data(), buf.size()), 0u) << "options above 40 bytes";

  // The largest datagram: 65535 bytes of IPv4 total length, or of IPv6 payload length.
  const std::vector<uint8_t> big(65535, 0x5a);
  f.options_len = 0;
  f.payload = big.data();
  f.payload_len = 65535 - 20 - (v6 ? 0 : 20) + 1;
  EXPECT_EQ(build_segment(a, f, buf.data(), buf.size()), 0u) << "datagram above 65535 bytes";
  EXPECT_EQ(buf, clean);
  f.payload_len -= 1;
  const size_t n = build_segment(a, f, buf.data(), buf.size());
  ASSERT_NE(n, 0u) << "the largest datagram fits";
  const auto tcp = pkt::parse_tcp(Bytes(buf.begin(), buf.begin() + n));
  ASSERT_TRUE(tcp);
  EXPECT_TRUE(tcp->checksum_ok);
  EXPECT_EQ(tcp->payload.size(), f.payload_len);
}

INSTANTIATE_TEST_SUITE_P(Families, TcpSegmentTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Ipv6" : "Ipv4";
                         });

}  // namespace
}  // namespace nf::tcp_seg
