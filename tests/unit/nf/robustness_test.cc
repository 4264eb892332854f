// handle_frame() on hostile input: every prefix of every table frame, mutated table frames and
// random bytes. Each buffer is allocated with exactly `room` bytes, so under AddressSanitizer
// any read or write past the room fails the test. Every call must return a defined verdict,
// keep *len within room, leave non-replies unchanged and produce replies with valid checksums.
#include <algorithm>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {
namespace {

// Runs one frame in a buffer of exactly room bytes and checks the invariants. Adds the verdict
// to *seen, so a test can check that its inputs reached deep into the parsers.
void run_hostile(const pkt::Bytes& in, uint16_t room, const nf::PortContext& port,
                 std::set<std::string>* seen) {
  ASSERT_LE(in.size(), room);
  const auto buf = std::make_unique<uint8_t[]>(room);  // uninitialised past the frame
  std::copy(in.begin(), in.end(), buf.get());
  uint16_t len = static_cast<uint16_t>(in.size());
  const nf::Verdict v = nf::handle_frame(buf.get(), &len, room, port, world().table);
  seen->insert(describe(v));
  ASSERT_LE(len, room);
  switch (v.action) {
    case nf::Action::kDrop:
      ASSERT_LT(static_cast<int>(v.drop), nf::kDropReasonCount);
      [[fallthrough]];
    case nf::Action::kPunt:
      ASSERT_EQ(len, in.size());
      ASSERT_TRUE(std::equal(in.begin(), in.end(), buf.get())) << describe(v);
      break;
    case nf::Action::kReply: {
      ASSERT_LT(v.reply, nf::ReplyKind::kCount);
      const pkt::Bytes out(buf.get(), buf.get() + len);
      switch (v.reply) {
        case nf::ReplyKind::kArpReply:
          ASSERT_EQ(len, in.size());
          ASSERT_EQ(pkt::parse_arp(out)->op, pkt::kArpReply);
          break;
        case nf::ReplyKind::kEchoReply:
          ASSERT_TRUE(pkt::parse_ipv4(out)->checksum_ok) << pkt::hex(in);
          ASSERT_TRUE(pkt::parse_icmp(out)->checksum_ok) << pkt::hex(in);
          break;
        case nf::ReplyKind::kNeighborAdvert:
          ASSERT_EQ(len, 86);
          ASSERT_TRUE(pkt::parse_nd(out)->options_ok);
          [[fallthrough]];
        case nf::ReplyKind::kEchoReplyV6:
          ASSERT_TRUE(pkt::parse_icmp6(out)->checksum_ok) << pkt::hex(in);
          break;
        case nf::ReplyKind::kCount:
          break;
      }
      break;
    }
    default:
      FAIL() << "undefined action " << static_cast<int>(v.action);
  }
}

const nf::PortContext& port_for(const FrameCase& c) {
  return c.port_index == 0 ? world().port0 : world().port1;
}

TEST(Robustness, EveryPrefixOfEveryTableFrame) {
  std::set<std::string> seen;
  for (const FrameCase& c : all_cases()) {
    SCOPED_TRACE(c.name);
    for (size_t n = 0; n <= c.in.size(); ++n) {
      const pkt::Bytes prefix(c.in.begin(), c.in.begin() + n);
      run_hostile(prefix, static_cast<uint16_t>(n), port_for(c), &seen);  // no tailroom at all
      run_hostile(prefix, static_cast<uint16_t>(n + 32), port_for(c), &seen);
      if (HasFatalFailure()) return;
    }
  }
  for (const char* v : {"drop truncated_ethernet", "drop arp_malformed", "drop ipv4_malformed",
                        "drop ipv6_malformed", "drop icmpv6_malformed", "drop no_room"}) {
    EXPECT_TRUE(seen.count(v)) << v;
  }
}

TEST(Robustness, MutatedTableFrames) {
  std::set<std::string> seen;
  const std::vector<FrameCase> cases = all_cases();
  std::mt19937 rng(20240611);
  for (int i = 0; i < 20000; ++i) {
    const FrameCase& c = cases[rng() % cases.size()];
    pkt::Bytes f = c.in;
    if (f.empty()) continue;
    // Mostly header bytes: that is where the decisions are.
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      const size_t at = rng() % 2 ? rng() % std::min<size_t>(f.size(), 80) : rng() % f.size();
      f[at] = static_cast<uint8_t>(rng());
    }
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    const auto room = static_cast<uint16_t>(f.size() + rng() % 100);
    SCOPED_TRACE(c.name + " mutation " + std::to_string(i));
    run_hostile(f, room, port_for(c), &seen);
    if (HasFatalFailure()) return;
  }
  // The mutations must not all die at the first check.
  EXPECT_GE(seen.size(), 20u);
  for (const char* v : {"reply arp_reply", "reply neighbor_advert", "reply echo_reply",
                        "reply echo_reply_v6", "drop ndp_invalid", "drop icmp_bad_checksum"}) {
    EXPECT_TRUE(seen.count(v)) << v;
  }
}

TEST(Robustness, RandomBytesBehindValidEthernetHeaders) {
  const World& w = world();
  std::set<std::string> seen;
  std::mt19937 rng(7);
  const uint16_t types[] = {pkt::kEtherTypeArp, pkt::kEtherTypeIpv4, pkt::kEtherTypeIpv6,
                            pkt::kEtherTypeVlan};
  for (int i = 0; i < 5000; ++i) {
    pkt::Bytes f(rng() % 200);
    for (auto& b : f) b = static_cast<uint8_t>(rng());
    if (f.size() >= pkt::kEthLen && rng() % 8 != 0) {
      const pkt::Mac& dst = rng() % 2 ? w.port_mac : pkt::kBroadcastMac;
      std::copy(dst.bytes.begin(), dst.bytes.end(), f.begin());
      pkt::put16(&f[12], types[rng() % 4]);
      // A plausible version nibble half of the time, so the IP parsers get further.
      if (f.size() > pkt::kEthLen && rng() % 2) {
        f[pkt::kEthLen] = pkt::get16(&f[12]) == pkt::kEtherTypeIpv6 ? 0x60 : 0x45;
      }
    }
    const auto room = static_cast<uint16_t>(f.size() + rng() % 100);
    SCOPED_TRACE("random frame " + std::to_string(i));
    run_hostile(f, room, rng() % 2 ? w.port0 : w.port1, &seen);
    if (HasFatalFailure()) return;
  }
  EXPECT_GE(seen.size(), 6u);
}

}  // namespace
}  // namespace nf_test
