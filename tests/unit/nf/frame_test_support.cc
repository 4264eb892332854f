// The World the frame tests share, and the runner every table row goes through.
#include "tests/unit/nf/frame_test_support.h"

#include <algorithm>

namespace nf_test {

using nf::AddressInfo;

World::World() {
  const auto add4 = [this](const pkt::Ip4& a, uint8_t flags, uint32_t ports) {
    table.add_v4(a.be(), AddressInfo{flags, ports});
  };
  const auto add6 = [this](const pkt::Ip6& a, uint8_t flags, uint32_t ports) {
    table.add_v6(a.data(), AddressInfo{flags, ports});
  };
  add4(vip, nf::kAddrVip, 0b01);
  add4(vip_port1, nf::kAddrVip, 0b10);
  add4(vip_bgp, nf::kAddrVip, 0);
  add4(snat, nf::kAddrSnat, 0b01);
  add4(node, nf::kAddrNode, 0);
  add6(vip6, nf::kAddrVip, 0b01);
  add6(vip6_port1, nf::kAddrVip, 0b10);
  add6(snat6, nf::kAddrSnat, 0b01);
  add6(node6, nf::kAddrNode, 0);
  table.finalize();

  port0.mac = pkt::ether(port_mac);
  port0.index = 0;
  port1.mac = pkt::ether(port1_mac);
  port1.index = 1;
}

const World& world() {
  static const World w;
  return w;
}

nf::Verdict reply(nf::ReplyKind kind) {
  nf::Verdict v;
  v.action = nf::Action::kReply;
  v.reply = kind;
  return v;
}

nf::Verdict punt() {
  nf::Verdict v;
  v.action = nf::Action::kPunt;
  return v;
}

nf::Verdict drop(nf::DropReason reason) {
  nf::Verdict v;
  v.action = nf::Action::kDrop;
  v.drop = reason;
  return v;
}

std::string describe(const nf::Verdict& v) {
  static constexpr const char* kReplies[] = {"arp_reply", "neighbor_advert", "echo_reply",
                                             "echo_reply_v6"};
  switch (v.action) {
    case nf::Action::kDrop:
      return std::string("drop ") + nf::drop_reason_name(v.drop);
    case nf::Action::kPunt:
      return "punt";
    case nf::Action::kReply: {
      const auto i = static_cast<size_t>(v.reply);
      return std::string("reply ") + (i < std::size(kReplies) ? kReplies[i] : "unknown");
    }
  }
  return "unknown action " + std::to_string(static_cast<int>(v.action));
}

// Reply frames must be internally consistent whatever the table row says.
static void check_reply_checksums(const nf::Verdict& v, const pkt::Bytes& out) {
  switch (v.reply) {
    case nf::ReplyKind::kArpReply: {
      const auto arp = pkt::parse_arp(out);
      ASSERT_TRUE(arp);
      EXPECT_EQ(arp->op, pkt::kArpReply);
      break;
    }
    case nf::ReplyKind::kEchoReply: {
      const auto ip = pkt::parse_ipv4(out);
      const auto icmp = pkt::parse_icmp(out);
      ASSERT_TRUE(ip && icmp);
      EXPECT_TRUE(ip->checksum_ok);
      EXPECT_TRUE(icmp->checksum_ok);
      EXPECT_EQ(out.size(), pkt::kEthLen + ip->total_length);
      break;
    }
    case nf::ReplyKind::kNeighborAdvert:
    case nf::ReplyKind::kEchoReplyV6: {
      const auto icmp = pkt::parse_icmp6(out);
      ASSERT_TRUE(icmp);
      EXPECT_TRUE(icmp->checksum_ok);
      break;
    }
    case nf::ReplyKind::kCount:
      ADD_FAILURE() << "bad reply kind";
  }
}

void check_frame_case(const FrameCase& c) {
  const World& w = world();
  const nf::PortContext& port = c.port_index == 0 ? w.port0 : w.port1;
  ASSERT_LE(c.in.size(), c.room) << "bad table row";
  // Bytes past the frame hold a pattern, so a reply that forgets to write one shows.
  pkt::Bytes buf(c.room, 0xa5);
  std::copy(c.in.begin(), c.in.end(), buf.begin());
  uint16_t len = static_cast<uint16_t>(c.in.size());

  const nf::Verdict v = nf::handle_frame(buf.data(), &len, c.room, port, w.table);

  ASSERT_EQ(describe(v), describe(c.expect)) << "input:\n" << pkt::hex(c.in);
  ASSERT_LE(len, c.room);
  const pkt::Bytes out(buf.begin(), buf.begin() + len);
  if (v.action == nf::Action::kReply) {
    EXPECT_EQ(pkt::first_difference(out, c.out), "");
    check_reply_checksums(v, out);
  } else {
    EXPECT_EQ(pkt::first_difference(out, c.in), "") << "punted/dropped frames stay unchanged";
  }
}

std::vector<FrameCase> all_cases() {
  std::vector<FrameCase> all;
  for (auto* table : {ethernet_cases, arp_cases, ipv4_cases, ipv6_cases, ndp_cases}) {
    auto rows = table();
    all.insert(all.end(), rows.begin(), rows.end());
  }
  return all;
}

TEST_P(FrameTest, HandlesFrame) { check_frame_case(GetParam()); }

}  // namespace nf_test
