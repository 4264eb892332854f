// build_gratuitous_arp() (RFC 5227 §3) and build_unsolicited_na() (RFC 4861 §7.2.6): exact
// frames, room checks, and that another Portico port sees them as conflicts.
#include <cstring>

#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {
namespace {

using nf::DropReason;
using pkt::Frame;

TEST(GratuitousArp, RequestIsRfc5227Announcement) {
  const World& w = world();
  pkt::Bytes buf(128, 0xa5);
  const uint16_t n =
      nf::build_gratuitous_arp(buf.data(), buf.size(), w.port0.mac, w.vip.be(), false);
  ASSERT_EQ(n, 60);
  buf.resize(n);
  const pkt::Bytes want =
      Frame::eth(pkt::kBroadcastMac, w.port_mac).arp_request(w.port_mac, w.vip, w.vip).pad_to(60);
  EXPECT_EQ(pkt::first_difference(buf, want), "");
  const auto arp = pkt::parse_arp(buf);
  ASSERT_TRUE(arp);
  EXPECT_EQ(arp->op, pkt::kArpRequest);
  EXPECT_EQ(arp->spa, w.vip);
  EXPECT_EQ(arp->tpa, w.vip);
  EXPECT_EQ(arp->sha, w.port_mac);
  EXPECT_EQ(arp->tha, pkt::kZeroMac);
}

TEST(GratuitousArp, ReplyTargetsBroadcast) {
  const World& w = world();
  pkt::Bytes buf(60);
  ASSERT_EQ(nf::build_gratuitous_arp(buf.data(), buf.size(), w.port0.mac, w.snat.be(), true), 60);
  const pkt::Bytes want = Frame::eth(pkt::kBroadcastMac, w.port_mac)
                              .arp_reply(w.port_mac, w.snat, pkt::kBroadcastMac, w.snat)
                              .pad_to(60);
  EXPECT_EQ(pkt::first_difference(buf, want), "");
}

TEST(GratuitousArp, NoRoom) {
  const World& w = world();
  pkt::Bytes buf(59, 0xa5);
  EXPECT_EQ(nf::build_gratuitous_arp(buf.data(), buf.size(), w.port0.mac, w.vip.be(), false), 0);
  EXPECT_EQ(buf, pkt::Bytes(59, 0xa5));
  EXPECT_EQ(nf::build_gratuitous_arp(buf.data(), 0, w.port0.mac, w.vip.be(), true), 0);
}

TEST(GratuitousArp, IsAConflictForAnotherMacAndPuntedWhenLoopedBack) {
  const World& w = world();
  for (bool as_reply : {false, true}) {
    pkt::Bytes buf(60);
    ASSERT_EQ(nf::build_gratuitous_arp(buf.data(), buf.size(), w.port0.mac, w.vip.be(), as_reply),
              60);
    uint16_t len = 60;
    pkt::Bytes copy = buf;
    EXPECT_EQ(describe(nf::handle_frame(copy.data(), &len, 60, w.port1, w.table)),
              describe(drop(DropReason::kArpConflict)));
    copy = buf;
    EXPECT_EQ(describe(nf::handle_frame(copy.data(), &len, 60, w.port0, w.table)),
              describe(punt()));
  }
}

TEST(UnsolicitedNa, ExactFrame) {
  const World& w = world();
  pkt::Bytes buf(200, 0xa5);
  const uint16_t n = nf::build_unsolicited_na(buf.data(), buf.size(), w.port0.mac, w.vip6.data());
  ASSERT_EQ(n, 86);
  buf.resize(n);
  const pkt::Bytes want = Frame::eth(pkt::multicast_mac(pkt::kAllNodes), w.port_mac)
                              .ipv6(w.vip6, pkt::kAllNodes, 255)
                              .ndp_na(w.vip6, pkt::NaFlags{.override_ = true}, w.port_mac);
  EXPECT_EQ(pkt::first_difference(buf, want), "");
  const auto nd = pkt::parse_nd(buf);
  ASSERT_TRUE(nd);
  EXPECT_FALSE(nd->flags.router);
  EXPECT_FALSE(nd->flags.solicited);
  EXPECT_TRUE(nd->flags.override_);
  EXPECT_EQ(nd->target_link, w.port_mac);
  EXPECT_TRUE(pkt::parse_icmp6(buf)->checksum_ok);
}

TEST(UnsolicitedNa, NoRoom) {
  const World& w = world();
  pkt::Bytes buf(85, 0xa5);
  EXPECT_EQ(nf::build_unsolicited_na(buf.data(), buf.size(), w.port0.mac, w.vip6.data()), 0);
  EXPECT_EQ(buf, pkt::Bytes(85, 0xa5));
}

TEST(UnsolicitedNa, IsAConflictForAnotherMacAndPuntedWhenLoopedBack) {
  const World& w = world();
  pkt::Bytes buf(86);
  ASSERT_EQ(nf::build_unsolicited_na(buf.data(), buf.size(), w.port0.mac, w.vip6.data()), 86);
  uint16_t len = 86;
  pkt::Bytes copy = buf;
  EXPECT_EQ(describe(nf::handle_frame(copy.data(), &len, 86, w.port1, w.table)),
            describe(drop(DropReason::kNdpConflict)));
  copy = buf;
  EXPECT_EQ(describe(nf::handle_frame(copy.data(), &len, 86, w.port0, w.table)), describe(punt()));
}

}  // namespace
}  // namespace nf_test
