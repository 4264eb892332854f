// The test packet builder checked against hand-written frames and DPDK's own checksum code, so
// the frame tables do not rest on a builder bug.
#include "tests/common/packet_builder.h"

#include <gtest/gtest.h>
#include <rte_ip.h>

namespace {

using pkt::Bytes;

// DPDK's pseudo-header sum plus its raw sum of the message must fold to all ones.
bool dpdk_ipv6_l4_checksum_ok(const Bytes& f) {
  const auto* ip6 = reinterpret_cast<const rte_ipv6_hdr*>(&f[pkt::kL3]);
  const size_t len = f.size() - pkt::kL3 - pkt::kIpv6Len;
  uint32_t sum = rte_raw_cksum(&f[pkt::kL3 + pkt::kIpv6Len], len);
  sum += rte_ipv6_phdr_cksum(ip6, 0);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}
using pkt::Frame;

TEST(PacketBuilder, ArpRequestBytes) {
  const Bytes f = Frame::eth(pkt::kBroadcastMac, pkt::mac("02:00:00:00:00:20"))
                      .arp_request(pkt::mac("02:00:00:00:00:20"), pkt::ip4("198.51.100.20"),
                                   pkt::ip4("203.0.113.10"));
  const Bytes want = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00,
                      0x00, 0x20, 0x08, 0x06,                                     // eth
                      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,             // arp
                      0x02, 0x00, 0x00, 0x00, 0x00, 0x20, 198,  51,   100,  20,   // sender
                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 203,  0,    113,  10};  // target
  EXPECT_EQ(pkt::first_difference(f, want), "");
}

// The classic worked example header (RFC 1071 style): checksum 0xb861.
TEST(PacketBuilder, Ipv4HeaderChecksumKnownVector) {
  const Bytes f = Frame::eth(pkt::Mac{}, pkt::Mac{})
                      .ipv4(pkt::ip4("192.168.0.1"), pkt::ip4("192.168.0.199"), 64)
                      .ip_id(0)
                      .dont_fragment()
                      .l4(pkt::kProtoUdp, Bytes(0x73 - 20, 0));
  const auto ip = pkt::parse_ipv4(f);
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->total_length, 0x73);
  EXPECT_EQ(ip->checksum, 0xb861);
  EXPECT_TRUE(ip->checksum_ok);
}

TEST(PacketBuilder, ChecksumsAgreeWithDpdk) {
  const auto a6 = pkt::ip6("2001:db8:100::20");
  const auto b6 = pkt::ip6("2001:db8:200::10");
  for (size_t n : {0, 1, 7, 56, 1001}) {
    const Bytes data(n, static_cast<uint8_t>(n * 37));
    const Bytes v4 = Frame::eth(pkt::Mac{}, pkt::Mac{})
                         .ipv4(pkt::ip4("198.51.100.20"), pkt::ip4("203.0.113.10"))
                         .ipv4_options({1, 1, 1, 1})
                         .icmp_echo(1, 2, data);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(&v4[pkt::kL3]);
    EXPECT_EQ(rte_raw_cksum(ip, 24), 0xffff) << n;
    EXPECT_EQ(rte_raw_cksum(&v4[pkt::kL3 + 24], v4.size() - pkt::kL3 - 24), 0xffff) << n;

    const Bytes v6 = Frame::eth(pkt::Mac{}, pkt::Mac{}).ipv6(a6, b6).icmp6_echo(1, 2, data);
    EXPECT_TRUE(dpdk_ipv6_l4_checksum_ok(v6)) << n;

    const Bytes udp6 = Frame::eth(pkt::Mac{}, pkt::Mac{}).ipv6(a6, b6).udp(1, 2, data);
    EXPECT_TRUE(dpdk_ipv6_l4_checksum_ok(udp6)) << n;
  }
}

TEST(PacketBuilder, KnobsBreakOneThing) {
  const auto f = [] {
    return Frame::eth(pkt::Mac{}, pkt::Mac{})
        .ipv4(pkt::ip4("198.51.100.20"), pkt::ip4("203.0.113.10"))
        .icmp_echo(1, 2, pkt::text("abc"));
  };
  EXPECT_TRUE(pkt::parse_icmp(f().bytes())->checksum_ok);
  EXPECT_FALSE(pkt::parse_ipv4(f().bad_ip_checksum().bytes())->checksum_ok);
  EXPECT_TRUE(pkt::parse_icmp(f().bad_ip_checksum().bytes())->checksum_ok);
  EXPECT_FALSE(pkt::parse_icmp(f().bad_l4_checksum().bytes())->checksum_ok);
  EXPECT_TRUE(pkt::parse_ipv4(f().bad_l4_checksum().bytes())->checksum_ok);
  const Bytes odd_ihl = f().ihl(6);
  EXPECT_EQ(odd_ihl[pkt::kL3] & 0x0f, 6);
  EXPECT_EQ(f().truncate(20).bytes().size(), 20u);
  EXPECT_EQ(f().pad_to(100).bytes().size(), 100u);
  EXPECT_EQ(f().pad_to(10).bytes().size(), 14u + 20 + 8 + 3);
  EXPECT_EQ(f().poke16(12, 0x8100).bytes()[12], 0x81);
  EXPECT_THROW(f().poke(1000, 0).bytes(), std::invalid_argument);
}

TEST(PacketBuilder, NeighborSolicitationLayout) {
  const auto target = pkt::ip6("2001:db8:200::10");
  const auto group = pkt::solicited_node(target);
  EXPECT_EQ(pkt::to_string(group), "ff02::1:ff00:10");
  EXPECT_EQ(pkt::multicast_mac(group), pkt::mac("33:33:ff:00:00:10"));
  const Bytes f = Frame::eth(pkt::multicast_mac(group), pkt::mac("02:00:00:00:00:20"))
                      .ipv6(pkt::ip6("fe80::20"), group, 255)
                      .ndp_ns(target, pkt::mac("02:00:00:00:00:20"));
  EXPECT_EQ(f.size(), 14u + 40 + 24 + 8);
  const auto nd = pkt::parse_nd(f);
  ASSERT_TRUE(nd);
  EXPECT_EQ(nd->type, pkt::kIcmp6NeighborSolicitation);
  EXPECT_EQ(nd->target, target);
  EXPECT_EQ(nd->source_link, pkt::mac("02:00:00:00:00:20"));
  EXPECT_FALSE(nd->target_link);
  EXPECT_TRUE(nd->options_ok);
  EXPECT_TRUE(pkt::parse_icmp6(f)->checksum_ok);
  EXPECT_EQ(pkt::parse_ipv6(f)->hop_limit, 255);
}

TEST(PacketBuilder, AddressHelpers) {
  EXPECT_EQ(pkt::to_string(pkt::mac("02:AB:00:00:00:01")), "02:ab:00:00:00:01");
  EXPECT_EQ(pkt::to_string(pkt::ip4("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(pkt::multicast_mac(pkt::ip4("239.129.2.3")), pkt::mac("01:00:5e:01:02:03"));
  EXPECT_THROW(pkt::mac("02:00:00:00:00"), std::invalid_argument);
  EXPECT_THROW(pkt::mac("02:00:00:00:00:01:02"), std::invalid_argument);
  EXPECT_THROW(pkt::ip4("203.0.113"), std::invalid_argument);
  EXPECT_THROW(pkt::ip6("2001:db8::g"), std::invalid_argument);
  const uint8_t be[4] = {203, 0, 113, 7};
  uint32_t want;
  std::memcpy(&want, be, 4);
  EXPECT_EQ(pkt::ip4("203.0.113.7").be(), want);
}

}  // namespace
