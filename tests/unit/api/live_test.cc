// control/api/control.cc's pure parts: the ListFlows scan of one worker's records (filters,
// the limit, and what it reads: free slots by their state byte, nothing after the first match
// past the limit) and the routes ListBgpPeers reports (LOCAL_PREF on iBGP sessions only).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "control/api/control.h"
#include "nf/lb_tables.h"
#include "tests/unit/api/fixtures.h"

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

// ---- drains kept across restarts ----

TEST(Drains, JsonRoundTrip) {
  DrainSet d;
  d.node = true;
  d.backends.insert({*config::IpAddress::parse("198.51.100.21"), 8080});
  d.backends.insert({*config::IpAddress::parse("198.51.100.22"), 0});
  d.backends.insert({*config::IpAddress::parse("2001:db8::21"), 80});
  const std::string text = drains_json(d);
  EXPECT_NE(text.find("\"[2001:db8::21]:80\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"198.51.100.22\""), std::string::npos) << text;
  DrainSet back;
  std::string error;
  ASSERT_TRUE(parse_drains(text, &back, &error)) << error;
  EXPECT_EQ(back.node, true);
  EXPECT_EQ(back.backends, d.backends);
}

TEST(Drains, BadFilesAreRefusedWhole) {
  const char* bad[] = {"", "[]", "{\"node\": 1}", "{\"backends\": \"198.51.100.1\"}",
                       "{\"backends\": [\"198.51.100.1:0\"]}", "{\"backends\": [\"[2001:db8::1]\"]}",
                       "{\"backends\": [\"198.51.100.1\", 5]}", "{\"node\": true"};
  for (const char* text : bad) {
    DrainSet d;
    d.node = true;
    std::string error;
    EXPECT_FALSE(parse_drains(text, &d, &error)) << text;
    EXPECT_FALSE(error.empty()) << text;
    EXPECT_TRUE(d.node && d.backends.empty()) << "untouched: " << text;
  }
}

namespace fs = std::filesystem;
using testing::slurp;

constexpr const char* kWeb = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  type: LoadBalancer
  ports:
    - port: 80
)";

// LiveControl over a real Store whose publication (the runner's adopt) can be made to fail.
class LiveControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("portico-live-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "conf");
    std::ofstream(dir_ / "conf" / "node.yaml") << testing::kNode;
    store_ = std::make_unique<Store>(std::vector<std::string>{(dir_ / "conf").string()},
                                     (dir_ / "state").string());
    Change c;
    ASSERT_TRUE(store_->prepare_load(&c).ok());
    ASSERT_TRUE(store_->commit(c).ok());
    node_ = store_->objects().node_configs.front();
    LiveState st;
    st.store = store_.get();
    st.events = &events_;
    st.drains = &drains_;
    st.node = &node_;
    st.plan = &plan_;
    st.bgp_plan = &bgp_plan_;
    st.generation = &generation_;
    st.adopt = [this](config::ObjectSet objects) {
      if (fail_) throw std::runtime_error("cannot allocate the tables");
      published_ = objects.services.size();
      ++generation_;
    };
    st.refresh_bgp = [this] { ++bgp_refreshes_; };
    live_ = std::make_unique<LiveControl>(std::move(st));
  }
  void TearDown() override { fs::remove_all(dir_); }

  grpc::Status apply(const std::string& docs) {
    pb::ApplyRequest req;
    req.set_documents(docs);
    pb::ApplyResponse resp;
    return live_->apply(req, &resp);
  }
  grpc::Status drain(const std::string& backend, bool undo) {
    pb::DrainRequest req;
    req.set_backend(backend);
    req.set_undo(undo);
    pb::DrainResponse resp;
    return live_->drain(req, &resp);
  }
  fs::path state(const std::string& name) const { return dir_ / "state" / name; }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  EventLog events_;
  DrainSet drains_;
  config::NodeConfig node_;
  Plan plan_;
  bgp::AnnouncePlan bgp_plan_;
  uint64_t generation_ = 1;
  bool fail_ = false;
  size_t published_ = 0;
  int bgp_refreshes_ = 0;
  std::unique_ptr<LiveControl> live_;
};

TEST_F(LiveControlTest, ApplyThatCannotBePublishedChangesNothing) {
  ASSERT_TRUE(apply(kWeb).ok());
  EXPECT_EQ(published_, 1u);
  const std::string before = slurp(state("Service_demo_web.yaml"));
  std::string changed = kWeb;
  changed.replace(changed.find("port: 80"), 8, "port: 81");
  std::string other = kWeb;
  other.replace(other.find("name: web"), 9, "name: api");
  fail_ = true;
  const grpc::Status st = apply(changed + "---\n" + other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(st.error_message().find("nothing changed"), std::string::npos) << st.error_message();
  EXPECT_EQ(slurp(state("Service_demo_web.yaml")), before);
  EXPECT_FALSE(fs::exists(state("Service_demo_api.yaml")));
  ASSERT_EQ(store_->objects().services.size(), 1u);
  EXPECT_EQ(store_->objects().services[0].ports[0].port, 80);
  EXPECT_EQ(generation_, 2u);
  // A delete that cannot be published leaves the object and its file.
  pb::DeleteRequest del;
  del.mutable_ref()->set_kind("Service");
  del.mutable_ref()->set_namespace_("demo");
  del.mutable_ref()->set_name("web");
  pb::DeleteResponse dresp;
  EXPECT_EQ(live_->remove(del, &dresp).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(slurp(state("Service_demo_web.yaml")), before);
  EXPECT_NE(store_->find({"Service", "demo", "web"}), nullptr);
  // Once publishing works again, the same apply goes through.
  fail_ = false;
  ASSERT_TRUE(apply(changed + "---\n" + other).ok());
  EXPECT_EQ(published_, 2u);
  EXPECT_TRUE(fs::exists(state("Service_demo_api.yaml")));
}

TEST_F(LiveControlTest, DrainsAreKeptInTheStateDirectory) {
  ASSERT_TRUE(drain("198.51.100.21:8080", false).ok());
  ASSERT_TRUE(fs::exists(state("drains.json")));
  std::vector<std::string> warnings;
  DrainSet kept = load_drains((dir_ / "state").string(), &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(kept.backends, drains_.backends);
  // The node too; its undo keeps the backend.
  pb::DrainRequest node;
  node.set_node(true);
  pb::DrainResponse resp;
  ASSERT_TRUE(live_->drain(node, &resp).ok());
  EXPECT_EQ(bgp_refreshes_, 1);
  EXPECT_TRUE(load_drains((dir_ / "state").string(), &warnings).node);
  node.set_undo(true);
  ASSERT_TRUE(live_->drain(node, &resp).ok());
  kept = load_drains((dir_ / "state").string(), &warnings);
  EXPECT_FALSE(kept.node);
  EXPECT_EQ(kept.backends.size(), 1u);
  // A drain that cannot be published is not kept.
  fail_ = true;
  EXPECT_EQ(drain("198.51.100.22", false).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(drains_.backends.size(), 1u);
  EXPECT_EQ(load_drains((dir_ / "state").string(), &warnings).backends.size(), 1u);
  fail_ = false;
  // The last undo removes the file.
  ASSERT_TRUE(drain("198.51.100.21:8080", true).ok());
  EXPECT_FALSE(fs::exists(state("drains.json")));
  EXPECT_TRUE(load_drains((dir_ / "state").string(), &warnings).backends.empty());
  // A damaged file: no drain, and a warning that names it.
  std::ofstream(state("drains.json")) << "{\"backends\": [\"nonsense\"]}";
  kept = load_drains((dir_ / "state").string(), &warnings);
  EXPECT_TRUE(kept.backends.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("drains.json"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace control::api
