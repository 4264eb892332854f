// control/traffic_stats.h: counter slots handed out and taken back (SlotPool), and the sums of
// workers' traffic tables over a directory (sum_traffic): per service port and backend, per VIP
// as the sum of its ports, slots another key owns left out, the overflow slot as "other".
#include "control/traffic_stats.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace control {
namespace {

TEST(SlotPool, DenseStableReusedOldestFirstOverflowSticky) {
  SlotPool pool(4);  // slots 1..3, then the overflow slot
  EXPECT_EQ(pool.slot_for("a"), 1u);
  EXPECT_EQ(pool.slot_for("b"), 2u);
  EXPECT_EQ(pool.slot_for("c"), 3u);
  EXPECT_EQ(pool.slot_for("d"), nf::kTrafficOtherSlot) << "full";
  EXPECT_EQ(pool.slot_for("b"), 2u) << "stable";

  pool.retain({"c", "d"});  // a then b freed, in key order
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_EQ(pool.slot_for("d"), nf::kTrafficOtherSlot) << "an overflowed key stays there";
  EXPECT_EQ(pool.slot_for("e"), 1u) << "the oldest freed slot first";
  EXPECT_EQ(pool.slot_for("f"), 2u);
  EXPECT_EQ(pool.slot_for("g"), nf::kTrafficOtherSlot);
  pool.retain({});
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.slot_for("d"), 3u) << "once gone, a key starts afresh";
}

// Counts as a worker's packet path would leave them.
void count(nf::TrafficTable& t, uint32_t s, uint32_t sid, uint32_t b, uint32_t bid,
           uint32_t packets_in, uint32_t packets_out) {
  t.open(s, sid, b, bid);
  for (uint32_t i = 0; i < packets_in; ++i) t.in(s, b, 100);
  for (uint32_t i = 0; i < packets_out; ++i) t.out(s, b, 1000);
}

std::string str(const nf::TrafficCounts& c) { return format_traffic(c); }

TEST(SumTraffic, PerServiceBackendAndVip) {
  TrafficDirectory dir;
  dir.services = {{"demo/web", "203.0.113.20", "TCP", 80, 1, 11},
                  {"demo/web", "203.0.113.20", "TCP", 443, 2, 12},
                  {"demo/dns", "203.0.113.21", "UDP", 53, 3, 13},
                  {"demo/big", "203.0.113.22", "TCP", 80, nf::kTrafficOtherSlot, 14}};
  dir.backends = {{"demo/web", "203.0.113.20", 80, "198.51.100.21:8080", false, 1, 101},
                  {"demo/web", "203.0.113.20", 80, "198.51.100.22:8080", true, 2, 102},
                  {"demo/web", "203.0.113.20", 443, "198.51.100.21:8443", false, 3, 103},
                  {"demo/dns", "203.0.113.21", 53, "198.51.100.21:53", false, 4, 104}};
  auto w0 = std::make_unique<nf::TrafficTable>();
  auto w1 = std::make_unique<nf::TrafficTable>();
  count(*w0, 1, 11, 1, 101, 3, 2);
  count(*w1, 1, 11, 2, 102, 1, 1);
  count(*w1, 2, 12, 3, 103, 2, 0);
  // Worker 1 still has dns's slot as an earlier key left it (owner 99): not dns's counts.
  count(*w1, 3, 99, 4, 98, 5, 5);
  count(*w0, 3, 13, 4, 104, 1, 0);
  // The overflowed port counts in slot 0.
  count(*w0, nf::kTrafficOtherSlot, 14, nf::kTrafficOtherSlot, 105, 4, 0);

  const std::vector<const nf::TrafficTable*> workers{w0.get(), nullptr, w1.get()};
  const TrafficStats st = sum_traffic(dir, workers);
  ASSERT_EQ(st.services.size(), 4u);
  EXPECT_EQ(str(st.services[0].traffic), str({4, 400, 3, 3000, 2})) << "80: both workers";
  EXPECT_EQ(str(st.services[1].traffic), str({2, 200, 0, 0, 1}));
  EXPECT_EQ(str(st.services[2].traffic), str({1, 100, 0, 0, 1})) << "dns: worker 0 only";
  EXPECT_EQ(str(st.services[3].traffic), str({})) << "in the overflow slot: counted as other";
  EXPECT_EQ(st.services[2].service, "demo/dns");
  EXPECT_EQ(st.services[2].protocol, "UDP");
  ASSERT_EQ(st.backends.size(), 4u);
  EXPECT_EQ(str(st.backends[0].traffic), str({3, 300, 2, 2000, 1}));
  EXPECT_EQ(str(st.backends[1].traffic), str({1, 100, 1, 1000, 1}));
  EXPECT_TRUE(st.backends[1].draining);
  EXPECT_EQ(str(st.backends[3].traffic), str({1, 100, 0, 0, 1}));
  EXPECT_EQ(st.backends[3].backend, "198.51.100.21:53");
  ASSERT_EQ(st.vips.size(), 3u);
  EXPECT_EQ(st.vips[0].address, "203.0.113.20");
  EXPECT_EQ(str(st.vips[0].traffic), str({6, 600, 3, 3000, 3})) << "80 + 443";
  EXPECT_EQ(str(st.vips[1].traffic), str({1, 100, 0, 0, 1}));
  EXPECT_EQ(str(st.other_services), str({4, 400, 0, 0, 1}));
  EXPECT_EQ(str(st.other_backends), str({4, 400, 0, 0, 1}));
}

TEST(SumTraffic, NoWorkersNoTraffic) {
  TrafficDirectory dir;
  dir.services = {{"demo/web", "203.0.113.20", "TCP", 80, 1, 11}};
  const TrafficStats st = sum_traffic(dir, {});
  ASSERT_EQ(st.services.size(), 1u);
  EXPECT_TRUE(st.services[0].traffic.empty());
  ASSERT_EQ(st.vips.size(), 1u);
}

}  // namespace
}  // namespace control
