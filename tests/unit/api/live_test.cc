// control/api/control.cc's pure parts: the ListFlows scan of one worker's records (filters,
// the limit, and what it reads: free slots by their state byte, nothing after the first match
// past the limit) and the routes ListBgpPeers reports (LOCAL_PREF on iBGP sessions only).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <vector>

#include "control/api/control.h"
#include "nf/lb_tables.h"

namespace control::api {
namespace {

// A live full-NAT IPv4 record: client:cport -> vip:80, backend:8080 -> snat:sport.
nf::Conn v4_flow(const char* client, uint16_t cport, const char* vip, const char* backend,
                 const char* snat, uint16_t sport) {
  nf::Conn c;
  c.proto = 6;
  c.v6 = 0;
  c.state = nf::ConnState::kTcpEstablished;
  c.mode = static_cast<uint8_t>(nf::lb::Mode::kNat);
  uint32_t a[4];
  inet_pton(AF_INET, client, &a[0]);
  inet_pton(AF_INET, vip, &a[1]);
  inet_pton(AF_INET, backend, &a[2]);
  inet_pton(AF_INET, snat, &a[3]);
  c.set_side(nf::ConnDir::kOrig, reinterpret_cast<uint8_t*>(&a[0]),
             reinterpret_cast<uint8_t*>(&a[1]), htons(cport), htons(80));
  c.set_side(nf::ConnDir::kReply, reinterpret_cast<uint8_t*>(&a[2]),
             reinterpret_cast<uint8_t*>(&a[3]), htons(8080), htons(sport));
  c.last_seen = 1000;
  return c;
}

std::vector<nf::Conn> table_with_five() {
  std::vector<nf::Conn> t(1000);  // free slots
  t[10] = v4_flow("198.51.100.2", 40001, "203.0.113.20", "198.51.100.21", "198.51.100.11", 1024);
  t[200] = v4_flow("198.51.100.2", 40002, "203.0.113.20", "198.51.100.22", "198.51.100.11", 1025);
  t[300] = v4_flow("198.51.100.3", 40003, "203.0.113.20", "198.51.100.21", "198.51.100.11", 1026);
  t[400] = v4_flow("198.51.100.2", 40004, "203.0.113.21", "198.51.100.23", "198.51.100.11", 1027);
  t[900] = v4_flow("198.51.100.2", 40005, "203.0.113.20", "198.51.100.23", "198.51.100.11", 1028);
  return t;
}

FlowQuery::Filter filter(const char* addr, uint16_t port = 0) {
  FlowQuery::Filter f;
  f.set = true;
  f.address = *config::IpAddress::parse(addr);
  f.port = port;
  return f;
}

TEST(ScanFlows, ListsEveryLiveRecordAndCopiesOnlyThose) {
  auto t = table_with_five();
  FlowQuery q;
  q.limit = 100;
  q.now = 3000;
  q.tsc_hz = 1000;
  pb::FlowsResponse resp;
  FlowScanCost cost;
  EXPECT_TRUE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 3, q, &resp, &cost));
  ASSERT_EQ(resp.flows_size(), 5);
  EXPECT_FALSE(resp.truncated());
  EXPECT_EQ(cost.slots, 1000u);
  EXPECT_EQ(cost.copied, 5u);  // the 995 free slots were not copied
  const auto& f = resp.flows(0);
  EXPECT_EQ(f.lcore(), 3u);
  EXPECT_EQ(f.protocol(), "TCP");
  EXPECT_EQ(f.client(), "198.51.100.2:40001");
  EXPECT_EQ(f.vip(), "203.0.113.20:80");
  EXPECT_EQ(f.backend(), "198.51.100.21:8080");
  EXPECT_EQ(f.snat(), "198.51.100.11:1024");
  EXPECT_EQ(f.state(), "established");
  EXPECT_EQ(f.idle_ms(), 2000u);
}

TEST(ScanFlows, StopsAtTheFirstMatchPastTheLimit) {
  auto t = table_with_five();
  FlowQuery q;
  q.limit = 2;
  pb::FlowsResponse resp;
  FlowScanCost cost;
  EXPECT_FALSE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 1, q, &resp, &cost));
  ASSERT_EQ(resp.flows_size(), 2);
  EXPECT_TRUE(resp.truncated());
  EXPECT_EQ(cost.copied, 3u);   // slots 10, 200 listed; 300 is one more: stop
  EXPECT_EQ(cost.slots, 301u);  // nothing after slot 300 read
}

TEST(ScanFlows, ExactlyLimitMatchesIsNotTruncated) {
  auto t = table_with_five();
  FlowQuery q;
  q.limit = 5;
  pb::FlowsResponse resp;
  EXPECT_TRUE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 1, q, &resp));
  EXPECT_EQ(resp.flows_size(), 5);
  EXPECT_FALSE(resp.truncated());
}

TEST(ScanFlows, FiltersNarrowAndTheLimitCountsOnlyMatches) {
  auto t = table_with_five();
  FlowQuery q;
  q.limit = 2;
  q.vip = filter("203.0.113.20", 80);
  q.backend = filter("198.51.100.21");
  pb::FlowsResponse resp;
  EXPECT_TRUE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 1, q, &resp));
  ASSERT_EQ(resp.flows_size(), 2);
  EXPECT_FALSE(resp.truncated());
  EXPECT_EQ(resp.flows(0).client(), "198.51.100.2:40001");
  EXPECT_EQ(resp.flows(1).client(), "198.51.100.3:40003");

  FlowQuery by_client;
  by_client.client = filter("198.51.100.2", 40004);
  pb::FlowsResponse one;
  EXPECT_TRUE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 1, by_client, &one));
  ASSERT_EQ(one.flows_size(), 1);
  EXPECT_EQ(one.flows(0).vip(), "203.0.113.21:80");

  FlowQuery wrong_port;
  wrong_port.vip = filter("203.0.113.20", 81);
  pb::FlowsResponse none;
  EXPECT_TRUE(scan_flows(t.data(), static_cast<uint32_t>(t.size()), 1, wrong_port, &none));
  EXPECT_EQ(none.flows_size(), 0);
}

TEST(ScanFlows, TornOrInconsistentRecordsAreSkipped) {
  std::vector<nf::Conn> t(4);
  t[0] = v4_flow("198.51.100.2", 1, "203.0.113.20", "198.51.100.21", "198.51.100.11", 2);
  t[0].state = static_cast<nf::ConnState>(200);  // no such state
  t[1] = v4_flow("198.51.100.2", 1, "203.0.113.20", "198.51.100.21", "198.51.100.11", 2);
  t[1].proto = 17;  // UDP in a TCP state
  t[2] = v4_flow("198.51.100.2", 1, "203.0.113.20", "198.51.100.21", "198.51.100.11", 2);
  t[2].v6 = 7;
  t[3] = v4_flow("198.51.100.2", 1, "203.0.113.20", "198.51.100.21", "198.51.100.11", 2);
  t[3].mode = static_cast<uint8_t>(nf::lb::Mode::kDsr);
  FlowQuery q;
  pb::FlowsResponse resp;
  EXPECT_TRUE(scan_flows(t.data(), 4, 1, q, &resp));
  ASSERT_EQ(resp.flows_size(), 1);
  EXPECT_EQ(resp.flows(0).snat(), "");  // DSR: no SNAT address
}

TEST(ScanFlows, Ipv6AddressesAreBracketed) {
  std::vector<nf::Conn> t(1);
  nf::Conn& c = t[0];
  c.proto = 17;
  c.v6 = 1;
  c.state = nf::ConnState::kUdp;
  c.mode = static_cast<uint8_t>(nf::lb::Mode::kNat);
  uint8_t a[4][16];
  inet_pton(AF_INET6, "2001:db8:100::2", a[0]);
  inet_pton(AF_INET6, "2001:db8:200::20", a[1]);
  inet_pton(AF_INET6, "2001:db8:100::21", a[2]);
  inet_pton(AF_INET6, "2001:db8:100::11", a[3]);
  c.set_side(nf::ConnDir::kOrig, a[0], a[1], htons(5000), htons(53));
  c.set_side(nf::ConnDir::kReply, a[2], a[3], htons(5353), htons(7000));
  FlowQuery q;
  q.vip = filter("2001:db8:200::20", 53);
  pb::FlowsResponse resp;
  EXPECT_TRUE(scan_flows(t.data(), 1, 1, q, &resp));
  ASSERT_EQ(resp.flows_size(), 1);
  EXPECT_EQ(resp.flows(0).client(), "[2001:db8:100::2]:5000");
  EXPECT_EQ(resp.flows(0).backend(), "[2001:db8:100::21]:5353");
  EXPECT_EQ(resp.flows(0).snat(), "[2001:db8:100::11]:7000");
  EXPECT_EQ(resp.flows(0).state(), "udp");
  EXPECT_EQ(resp.flows(0).protocol(), "UDP");
}

std::vector<bgp::Route> routes() {
  bgp::Route with;
  with.prefix = {*config::IpAddress::parse("203.0.113.20"), 32};
  with.local_pref = 150;
  with.communities = {64512u << 16 | 100};
  with.large_communities = {{64512, 1, 2}};
  bgp::Route without;
  without.prefix = {*config::IpAddress::parse("203.0.113.10"), 32};
  return {with, without};
}

TEST(AddRoutes, EbgpPeersGetNoLocalPref) {
  pb::BgpPeer p;
  add_routes(routes(), /*ibgp=*/false, &p);
  ASSERT_EQ(p.routes_size(), 2);
  EXPECT_EQ(p.routes(0).prefix(), "203.0.113.20/32");
  ASSERT_EQ(p.routes(0).communities_size(), 2);
  EXPECT_EQ(p.routes(0).communities(0), "64512:100");
  EXPECT_EQ(p.routes(0).communities(1), "large:64512:1:2");
  EXPECT_FALSE(p.routes(0).has_local_pref());  // localPref 150 is configured, never sent
  EXPECT_EQ(p.routes(0).local_pref(), 0u);
  EXPECT_FALSE(p.routes(1).has_local_pref());
}

TEST(AddRoutes, IbgpPeersGetTheConfiguredOrDefaultLocalPref) {
  pb::BgpPeer p;
  add_routes(routes(), /*ibgp=*/true, &p);
  ASSERT_EQ(p.routes_size(), 2);
  EXPECT_TRUE(p.routes(0).has_local_pref());
  EXPECT_EQ(p.routes(0).local_pref(), 150u);
  EXPECT_TRUE(p.routes(1).has_local_pref());  // always sent on iBGP: the default
  EXPECT_EQ(p.routes(1).local_pref(), 100u);
}

}  // namespace
}  // namespace control::api
