// The gratuitous announcement schedule: MetalLB's 5 bursts, 1.1 s apart.
#include "control/announcer.h"

#include <gtest/gtest.h>

namespace control {
namespace {

const config::IpAddress kVip = *config::IpAddress::parse("203.0.113.10");
const config::IpAddress kVip6 = *config::IpAddress::parse("2001:db8:200::10");

std::vector<uint64_t> burst_times(AnnounceSchedule& s, uint64_t from, uint64_t to) {
  std::vector<uint64_t> times;
  for (uint64_t t = from; t <= to; t += 100) {
    for (const auto& d : s.take_due(t)) {
      if (d.ip == kVip) times.push_back(t);
    }
  }
  return times;
}

TEST(AnnounceSchedule, FiveBurstsOverFiveSeconds) {
  AnnounceSchedule s;
  s.start(kVip, 1, 1000);
  EXPECT_EQ(burst_times(s, 1000, 10000), (std::vector<uint64_t>{1000, 2100, 3200, 4300, 5400}));
  EXPECT_TRUE(s.empty());
}

TEST(AnnounceSchedule, RestartExtendsWithoutExtraBurst) {
  AnnounceSchedule s;
  s.start(kVip, 1, 0);
  ASSERT_EQ(s.take_due(0).size(), 1u);
  s.start(kVip, 2, 500);  // re-sync half a second later: ports merge, deadline moves to 5500
  EXPECT_TRUE(s.take_due(600).empty());
  auto due = s.take_due(1100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].ports, 3u);
  EXPECT_EQ(burst_times(s, 1200, 10000), (std::vector<uint64_t>{2200, 3300, 4400}));
}

TEST(AnnounceSchedule, CancelStopsBursts) {
  AnnounceSchedule s;
  s.start(kVip, 1, 0);
  s.start(kVip6, 1, 0);
  EXPECT_EQ(s.take_due(0).size(), 2u);
  s.cancel(kVip);
  auto due = s.take_due(1100);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].ip, kVip6);
}

}  // namespace
}  // namespace control
