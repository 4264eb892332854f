// Next-hop choice and neighbor upkeep on the control thread (control/neighbors.h): route_to()
// over connected subnets and NodeConfig routes, and NeighborManager's requests, probes,
// invalidation and index lifetime, with injected time (1000 ticks a second, so a tick is a
// millisecond) and a Sender that records the frames instead of sending them.
#include "control/neighbors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/packet_builder.h"

namespace control {
namespace {

config::IpAddress ip(const char* text) { return *config::IpAddress::parse(text); }
config::IpPrefix prefix(const char* text) { return *config::IpPrefix::parse(text); }

// uplink (0): 198.51.100.10/24, 2001:db8:100::10/64; storage (1): 192.0.2.10/24.
// Routes: default via 198.51.100.1, 198.18.0.0/15 via 192.0.2.1 (on storage),
// 198.51.100.128/25 via 192.0.2.1 (covered by a connected subnet), 10.0.0.0/8 via 172.16.0.1
// (a gateway on no connected subnet), 2001:db8:900::/48 via 2001:db8:100::1.
config::NodeConfig node() {
  config::NodeConfig n;
  config::NodeInterface uplink;
  uplink.name = "uplink";
  uplink.addresses = {prefix("198.51.100.10/24"), prefix("2001:db8:100::10/64")};
  config::NodeInterface storage;
  storage.name = "storage";
  storage.addresses = {prefix("192.0.2.10/24")};
  n.interfaces = {uplink, storage};
  n.routes = {
      {prefix("0.0.0.0/0"), ip("198.51.100.1")},
      {prefix("198.18.0.0/15"), ip("192.0.2.1")},
      {prefix("198.51.100.128/25"), ip("192.0.2.1")},
      {prefix("10.0.0.0/8"), ip("172.16.0.1")},
      {prefix("2001:db8:900::/48"), ip("2001:db8:100::1")},
  };
  n.neighbors.reachable_ms = 30000;
  n.neighbors.retransmit_ms = 1000;
  n.neighbors.max_probes = 3;
  return n;
}

std::string show(const std::optional<NextHop>& h) {
  if (!h) return "none";
  return h->address.str() + " on " + std::to_string(h->interface);
}

TEST(RouteTo, ConnectedSubnetIsTheNextHopItself) {
  const auto n = node();
  EXPECT_EQ(show(route_to(n, ip("198.51.100.21"))), "198.51.100.21 on 0");
  EXPECT_EQ(show(route_to(n, ip("192.0.2.77"))), "192.0.2.77 on 1");
  EXPECT_EQ(show(route_to(n, ip("2001:db8:100::21"))), "2001:db8:100::21 on 0");
}

TEST(RouteTo, ConnectedSubnetWinsOverAMoreSpecificRoute) {
  EXPECT_EQ(show(route_to(node(), ip("198.51.100.200"))), "198.51.100.200 on 0");
}

TEST(RouteTo, LongestMatchingRouteViaItsGateway) {
  const auto n = node();
  EXPECT_EQ(show(route_to(n, ip("198.18.0.5"))), "192.0.2.1 on 1") << "/15 beats /0";
  EXPECT_EQ(show(route_to(n, ip("198.19.255.254"))), "192.0.2.1 on 1");
  EXPECT_EQ(show(route_to(n, ip("198.20.0.1"))), "198.51.100.1 on 0") << "outside the /15";
  EXPECT_EQ(show(route_to(n, ip("8.8.8.8"))), "198.51.100.1 on 0");
  EXPECT_EQ(show(route_to(n, ip("2001:db8:900:1::5"))), "2001:db8:100::1 on 0");
}

TEST(RouteTo, RouteOrderDoesNotMatter) {
  auto n = node();
  std::swap(n.routes[0], n.routes[1]);
  EXPECT_EQ(show(route_to(n, ip("198.18.0.5"))), "192.0.2.1 on 1");
  std::reverse(n.routes.begin(), n.routes.end());
  EXPECT_EQ(show(route_to(n, ip("198.18.0.5"))), "192.0.2.1 on 1");
  EXPECT_EQ(show(route_to(n, ip("8.8.8.8"))), "198.51.100.1 on 0");
}

TEST(RouteTo, NoRoute) {
  auto n = node();
  EXPECT_EQ(show(route_to(n, ip("2001:db8:999::1"))), "none") << "no IPv6 default route";
  EXPECT_EQ(show(route_to(n, ip("10.1.2.3"))), "none") << "gateway on no connected subnet";
  n.routes.clear();
  EXPECT_EQ(show(route_to(n, ip("8.8.8.8"))), "none");
  EXPECT_EQ(show(route_to(n, ip("198.51.100.21"))), "198.51.100.21 on 0");
}

TEST(RouteTo, FamiliesDoNotMix) {
  auto n = node();
  // An IPv4 default route never carries IPv6, and ::/0 never IPv4.
  EXPECT_EQ(show(route_to(n, ip("2001:db8:999::1"))), "none");
  n.routes = {{prefix("::/0"), ip("2001:db8:100::1")}};
  EXPECT_EQ(show(route_to(n, ip("8.8.8.8"))), "none");
  EXPECT_EQ(show(route_to(n, ip("2001:db8:999::1"))), "2001:db8:100::1 on 0");
  // ::ffff:198.51.100.21 is IPv6, not on the IPv4 subnet.
  EXPECT_EQ(show(route_to(n, ip("::ffff:198.51.100.21"))), "2001:db8:100::1 on 0");
}

// ---- NeighborManager --------------------------------------------------------------------------

constexpr uint64_t kHz = 1000;  // ticks per second: 1 tick = 1 ms
constexpr uint64_t kStart = 1'000'000;

struct Sent {
  uint8_t interface;
  pkt::Bytes frame;
};

class Neighbors : public ::testing::Test {
 protected:
  Neighbors() : table(16), manager(table, kHz) {
    macs = {pkt::ether(mac0), pkt::ether(mac1)};
    manager.configure(node(), macs);
  }

  // One tick at `now`; returns what it sent.
  std::vector<Sent> tick(uint64_t now) {
    std::vector<Sent> out;
    manager.tick(now, [&](uint8_t i, const uint8_t* f, uint16_t len) {
      out.push_back({i, pkt::Bytes(f, f + len)});
    });
    return out;
  }

  // A build that uses exactly these next hops; returns their indices.
  std::vector<int> build(const std::vector<NextHop>& hops) {
    manager.begin_build();
    std::vector<int> idx;
    for (const auto& h : hops) idx.push_back(manager.index_for(h));
    manager.end_build_published();
    return idx;
  }

  nf::NeighborTable table;
  NeighborManager manager;
  std::vector<rte_ether_addr> macs;
  const pkt::Mac mac0 = pkt::mac("02:00:00:00:00:01");
  const pkt::Mac mac1 = pkt::mac("02:00:00:00:00:02");
  const pkt::Mac be_mac = pkt::mac("02:be:00:00:00:21");
  const NextHop be1{ip("198.51.100.21"), 0};
  const NextHop be2{ip("198.51.100.22"), 0};
  const NextHop gw_storage{ip("192.0.2.1"), 1};
  const NextHop be1_6{ip("2001:db8:100::21"), 0};
};

// Checks a broadcast ARP request from interface `iface` for `target`.
void expect_arp_request(const Sent& s, uint8_t iface, const pkt::Mac& from, const char* sender,
                        const char* target, const pkt::Mac& eth_dst = pkt::kBroadcastMac) {
  EXPECT_EQ(s.interface, iface);
  EXPECT_EQ(s.frame.size(), 60u) << "padded to the Ethernet minimum";
  const auto eth = pkt::parse_eth(s.frame);
  const auto arp = pkt::parse_arp(s.frame);
  ASSERT_TRUE(eth && arp);
  EXPECT_EQ(eth->dst, eth_dst);
  EXPECT_EQ(eth->src, from);
  EXPECT_EQ(eth->type, pkt::kEtherTypeArp);
  EXPECT_EQ(arp->htype, 1);
  EXPECT_EQ(arp->ptype, pkt::kEtherTypeIpv4);
  EXPECT_EQ(arp->hlen, 6);
  EXPECT_EQ(arp->plen, 4);
  EXPECT_EQ(arp->op, pkt::kArpRequest);
  EXPECT_EQ(arp->sha, from);
  EXPECT_EQ(arp->spa, pkt::ip4(sender));
  EXPECT_EQ(arp->tha, pkt::kZeroMac);
  EXPECT_EQ(arp->tpa, pkt::ip4(target));
}

TEST_F(Neighbors, NewIndexSendsABroadcastArpRequestOnTheFirstTick) {
  EXPECT_EQ(build({be1, gw_storage}), (std::vector<int>{0, 1}));
  const auto sent = tick(kStart);
  ASSERT_EQ(sent.size(), 2u) << "one request each";
  const Sent& a = sent[0].interface == 0 ? sent[0] : sent[1];
  const Sent& b = sent[0].interface == 0 ? sent[1] : sent[0];
  expect_arp_request(a, 0, mac0, "198.51.100.10", "198.51.100.21");
  expect_arp_request(b, 1, mac1, "192.0.2.10", "192.0.2.1");
  EXPECT_TRUE(tick(kStart + 1).empty()) << "not again at once";
}

TEST_F(Neighbors, NewIPv6IndexSendsAMulticastSolicitation) {
  build({be1_6});
  const auto sent = tick(kStart);
  ASSERT_EQ(sent.size(), 1u);
  const pkt::Ip6 target = pkt::ip6("2001:db8:100::21");
  const pkt::Ip6 group = pkt::solicited_node(target);
  EXPECT_EQ(pkt::to_string(group), "ff02::1:ff00:21");
  EXPECT_EQ(sent[0].interface, 0);
  const auto eth = pkt::parse_eth(sent[0].frame);
  const auto ip6 = pkt::parse_ipv6(sent[0].frame);
  const auto icmp = pkt::parse_icmp6(sent[0].frame);
  const auto nd = pkt::parse_nd(sent[0].frame);
  ASSERT_TRUE(eth && ip6 && icmp && nd);
  EXPECT_EQ(eth->dst, pkt::mac("33:33:ff:00:00:21"));
  EXPECT_EQ(eth->src, mac0);
  EXPECT_EQ(ip6->src, pkt::ip6("2001:db8:100::10"));
  EXPECT_EQ(ip6->dst, group);
  EXPECT_EQ(ip6->hop_limit, 255);
  EXPECT_EQ(ip6->payload_length, 32);
  EXPECT_EQ(icmp->type, pkt::kIcmp6NeighborSolicitation);
  EXPECT_EQ(icmp->code, 0);
  EXPECT_TRUE(icmp->checksum_ok);
  EXPECT_EQ(nd->target, target);
  EXPECT_EQ(nd->reserved, 0u);
  EXPECT_TRUE(nd->options_ok);
  ASSERT_TRUE(nd->source_link);
  EXPECT_EQ(*nd->source_link, mac0);
}

TEST_F(Neighbors, RetransmitsThenBacksOff) {
  build({be1});
  std::vector<uint64_t> times;
  for (uint64_t t = kStart; t <= kStart + 30'000; t += 100) {
    if (!tick(t).empty()) times.push_back(t - kStart);
  }
  // maxProbes (3) a retransmit interval (1 s) apart, then every 10 intervals.
  EXPECT_EQ(times, (std::vector<uint64_t>{0, 1000, 2000, 12000, 22000}));
}

TEST_F(Neighbors, WorkerRequestIsSentAtOnceButRateLimited) {
  build({be1});
  ASSERT_EQ(tick(kStart).size(), 1u);
  ASSERT_EQ(tick(kStart + 1000).size(), 1u);
  ASSERT_EQ(tick(kStart + 2000).size(), 1u);
  EXPECT_TRUE(tick(kStart + 5000).empty()) << "backing off";
  manager.request(0, kStart + 5000);
  EXPECT_EQ(tick(kStart + 5000).size(), 1u) << "a worker's miss does not wait for the back-off";
  manager.request(0, kStart + 5100);
  EXPECT_TRUE(tick(kStart + 5100).empty()) << "but not more than every retransmit / 4";
  manager.request(0, kStart + 5250);
  EXPECT_EQ(tick(kStart + 5250).size(), 1u);
}

TEST_F(Neighbors, RequestForAResolvedOrUnusedEntrySendsNothing) {
  build({be1});
  tick(kStart);
  table.learn(0, be_mac.bytes.data(), kStart + 10);
  manager.request(0, kStart + 500);
  manager.request(5, kStart + 500);  // no such entry
  EXPECT_TRUE(tick(kStart + 500).empty());
}

TEST_F(Neighbors, LearnedEntryIsNotProbedWhileFresh) {
  build({be1});
  tick(kStart);
  table.learn(0, be_mac.bytes.data(), kStart + 10);
  for (uint64_t t = kStart + 100; t < kStart + 10 + 30'000; t += 500) {
    EXPECT_TRUE(tick(t).empty()) << "at " << t - kStart;
  }
  EXPECT_TRUE(table.valid(0));
}

// Workers stamp confirmations with their own TSC reading, which may be a little ahead of the
// control thread's `now`: such an entry was just heard from.
TEST_F(Neighbors, ConfirmationStampedAfterNowIsFresh) {
  build({be1});
  tick(kStart);
  tick(kStart + 1000);
  tick(kStart + 2000);
  table.learn(0, be_mac.bytes.data(), kStart + 40'005);  // the answer, on a worker
  for (uint64_t t = kStart + 40'000; t < kStart + 40'005; ++t) {
    EXPECT_TRUE(tick(t).empty()) << "at " << t - kStart;
  }
  EXPECT_TRUE(table.valid(0));
  // Stale much later: probes, then invalidation, as usual.
  const uint64_t stale = kStart + 40'005 + 30'000;
  EXPECT_EQ(tick(stale).size(), 1u);
}

TEST_F(Neighbors, WorkersKeepAnEntryFresh) {
  build({be1});
  tick(kStart);
  for (uint64_t t = kStart + 10; t < kStart + 200'000; t += 10'000) {
    table.learn(0, be_mac.bytes.data(), t);  // a worker saw an ARP from it
    EXPECT_TRUE(tick(t + 9'000).empty()) << "at " << t - kStart;
  }
}

TEST_F(Neighbors, StaleEntryGetsUnicastProbesThenIsInvalidated) {
  build({be1});
  tick(kStart);
  const uint64_t heard = kStart + 10;
  table.learn(0, be_mac.bytes.data(), heard);
  const uint64_t stale = heard + 30'000;
  EXPECT_TRUE(tick(stale - 1).empty());
  for (int probe = 0; probe < 3; ++probe) {
    SCOPED_TRACE("probe " + std::to_string(probe));
    const uint64_t t = stale + probe * 1000;
    const auto sent = tick(t);
    ASSERT_EQ(sent.size(), 1u);
    expect_arp_request(sent[0], 0, mac0, "198.51.100.10", "198.51.100.21", be_mac);
    EXPECT_TRUE(tick(t + 999).empty());
    EXPECT_TRUE(table.valid(0)) << "still used while probed";
  }
  EXPECT_TRUE(tick(stale + 3000 - 1).empty());
  EXPECT_TRUE(table.valid(0));
  tick(stale + 3000);
  EXPECT_FALSE(table.valid(0)) << "three unanswered probes";
  // Unresolved again: broadcast requests.
  const auto sent = tick(stale + 3100);
  ASSERT_EQ(sent.size(), 1u);
  expect_arp_request(sent[0], 0, mac0, "198.51.100.10", "198.51.100.21");
}

TEST_F(Neighbors, AnsweredProbeKeepsTheEntry) {
  build({be1});
  tick(kStart);
  table.learn(0, be_mac.bytes.data(), kStart);
  const uint64_t stale = kStart + 30'000;
  ASSERT_EQ(tick(stale).size(), 1u);
  ASSERT_EQ(tick(stale + 1000).size(), 1u);
  table.learn(0, be_mac.bytes.data(), stale + 1500);  // the reply
  for (uint64_t t = stale + 2000; t < stale + 1500 + 30'000; t += 1000) {
    EXPECT_TRUE(tick(t).empty()) << "at " << t - stale;
  }
  EXPECT_TRUE(table.valid(0));
  // Stale again later: a full round of probes before giving up.
  const uint64_t stale2 = stale + 1500 + 30'000;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(tick(stale2 + i * 1000).size(), 1u) << i;
  EXPECT_TRUE(table.valid(0));
  tick(stale2 + 3000);
  EXPECT_FALSE(table.valid(0));
}

TEST_F(Neighbors, StaleIPv6EntryGetsUnicastSolicitations) {
  build({be1_6});
  tick(kStart);
  table.learn(0, be_mac.bytes.data(), kStart);
  const auto sent = tick(kStart + 30'000);
  ASSERT_EQ(sent.size(), 1u);
  const auto eth = pkt::parse_eth(sent[0].frame);
  const auto ip6 = pkt::parse_ipv6(sent[0].frame);
  const auto icmp = pkt::parse_icmp6(sent[0].frame);
  const auto nd = pkt::parse_nd(sent[0].frame);
  ASSERT_TRUE(eth && ip6 && icmp && nd);
  EXPECT_EQ(eth->dst, be_mac);
  EXPECT_EQ(ip6->dst, pkt::ip6("2001:db8:100::21")) << "unicast to the target (RFC 4861 7.3.3)";
  EXPECT_EQ(ip6->hop_limit, 255);
  EXPECT_TRUE(icmp->checksum_ok);
  EXPECT_EQ(nd->target, pkt::ip6("2001:db8:100::21"));
  ASSERT_TRUE(nd->source_link);
  EXPECT_EQ(*nd->source_link, mac0);
}

TEST_F(Neighbors, InterfaceWithoutAnAddressOfTheFamilySendsNothing) {
  build({NextHop{ip("2001:db8:300::1"), 1}});  // storage has no IPv6 address
  EXPECT_TRUE(tick(kStart).empty());
}

TEST_F(Neighbors, IndicesAreStableAcrossBuilds) {
  const auto first = build({be1, be2, gw_storage, be1_6});
  EXPECT_EQ(first, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(build({be1_6, gw_storage, be1, be2}), (std::vector<int>{3, 2, 0, 1}));
  EXPECT_EQ(build({be2, be2}), (std::vector<int>{1, 1})) << "one entry per next hop";
  // The same address on another interface is another next hop.
  const NextHop be1_on_storage{be1.address, 1};
  const auto idx = build({be1, be1_on_storage});
  EXPECT_EQ(idx[0] == idx[1], false);
  EXPECT_EQ(manager.in_use(), 2u);
}

TEST_F(Neighbors, EntriesUnusedByTheLastBuildAreFreed) {
  EXPECT_EQ(build({be1, be2}), (std::vector<int>{0, 1}));
  tick(kStart);
  table.learn(0, be_mac.bytes.data(), kStart + 1);
  table.learn(1, be_mac.bytes.data(), kStart + 1);

  manager.begin_build();
  EXPECT_EQ(manager.index_for(be2), 1);
  EXPECT_TRUE(table.valid(0)) << "kept until the Snapshot is published";
  manager.end_build_published();
  EXPECT_EQ(manager.in_use(), 1u);
  EXPECT_FALSE(table.valid(0)) << "freed: its MAC is gone";
  EXPECT_TRUE(table.valid(1)) << "kept: its MAC survives the reload";
  EXPECT_TRUE(tick(kStart + 5000).empty()) << "a freed entry is not probed";

  // A new next hop takes the free index; be2 keeps its own.
  EXPECT_EQ(build({gw_storage, be2}), (std::vector<int>{0, 1}));
  EXPECT_FALSE(table.valid(0)) << "a reused index starts unresolved";
  const auto sent = tick(kStart + 5000);
  ASSERT_EQ(sent.size(), 1u);
  expect_arp_request(sent[0], 1, mac1, "192.0.2.10", "192.0.2.1");

  const auto entries = manager.entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].address, ip("192.0.2.1"));
  EXPECT_EQ(entries[0].interface, 1);
  EXPECT_FALSE(entries[0].resolved);
  EXPECT_EQ(entries[1].address, ip("198.51.100.22"));
  EXPECT_TRUE(entries[1].resolved);
  EXPECT_EQ(entries[1].mac, "02:be:00:00:00:21");
}

TEST_F(Neighbors, FullTable) {
  std::vector<NextHop> hops;
  for (int i = 0; i < 17; ++i) {
    hops.push_back({ip(("198.51.100." + std::to_string(100 + i)).c_str()), 0});
  }
  const auto idx = build(hops);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(idx[i], i);
  EXPECT_EQ(idx[16], -1) << "capacity 16";
  EXPECT_EQ(manager.in_use(), 16u);
}

}  // namespace
}  // namespace control
