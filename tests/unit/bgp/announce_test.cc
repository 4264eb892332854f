// bgp::plan_announcements (control/bgp/announce.h): sessions and routes from objects and plan.
//
// Each case loads a node, pools, Services, EndpointSlices (and Gateway API objects) from YAML,
// adds the BGP objects in C++ (BGPPeer, BGPAdvertisement, Community, Secret), runs make_plan and
// compile_services as `portico run` does, and checks the sessions, the routes per peer and the
// events that say why an address is not announced.
#include "control/bgp/announce.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace bgp {
namespace {

using config::IpAddress;

// edge-1 (zone a) with one IPv4 and one IPv6 address; a dual-stack pool labelled tier=front
// and an IPv4 pool "other".
constexpr const char* kBase = R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata: {name: edge-1, labels: {zone: a}}
spec:
  interfaces:
    - name: uplink
      device: net_null0
      addresses: ["2001:db8:100::10/64", "198.51.100.10/24"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool, namespace: metallb-system, labels: {tier: front}}
spec:
  addresses: ["203.0.113.10-203.0.113.19", "2001:db8:200::10-2001:db8:200::19"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: other, namespace: metallb-system}
spec:
  addresses: ["192.0.2.0/28"]
  autoAssign: false
)";

// A LoadBalancer Service demo/<name> on port 80 -> 8080 at `ip` (pinned, so cases know it),
// labelled app=<name>, with one IPv4 endpoint of the given conditions ("" = no slice at all).
std::string service(const std::string& name, const std::string& ip,
                    const std::string& conditions = "{ready: true}") {
  std::string out = R"(
---
apiVersion: v1
kind: Service
metadata:
  name: )" + name + R"(
  namespace: demo
  labels: {app: )" + name +
                    R"(}
  annotations: {metallb.io/loadBalancerIPs: ")" +
                    ip + R"("}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 8080}]
)";
  if (!conditions.empty()) {
    out += R"(
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: )" +
           name + R"(-1, namespace: demo, labels: {kubernetes.io/service-name: )" + name + R"(}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"], conditions: )" +
           conditions + R"(}]
ports: [{name: http, port: 8080}]
)";
  }
  return out;
}

config::BGPPeer peer(const std::string& name, const std::string& address, uint32_t my_asn = 64512,
                     uint32_t peer_asn = 64513) {
  config::BGPPeer p;
  p.meta.name = name;
  p.meta.namespace_ = "metallb-system";
  p.my_asn = my_asn;
  p.peer_asn = peer_asn;
  p.peer_address = *IpAddress::parse(address);
  return p;
}

config::BGPAdvertisement ad(const std::string& name) {
  config::BGPAdvertisement a;
  a.meta.name = name;
  a.meta.namespace_ = "metallb-system";
  return a;
}

config::LabelSelector selector(const std::string& key, const std::string& value) {
  config::LabelSelector s;
  s.match_labels[key] = value;
  return s;
}

Prefix prefix(const std::string& text) {
  const auto p = config::IpPrefix::parse(text);
  EXPECT_TRUE(p.has_value()) << text;
  return {p->address, static_cast<uint8_t>(p->length)};
}

uint32_t std_community(uint16_t a, uint16_t n) { return uint32_t{a} << 16 | n; }

struct World {
  config::ObjectSet objects;
  control::Plan plan;
  control::ServicesResult services;

  explicit World(const std::string& yaml) {
    auto loaded = config::load_text(std::string(kBase) + yaml, "announce.yaml");
    EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().str());
    objects = std::move(loaded.objects);
  }
  const config::NodeConfig* node() const { return &objects.node_configs.at(0); }
  // Plans from scratch, as a reload does.
  AnnouncePlan run() {
    plan = control::make_plan(objects, node(), {});
    services = control::compile_services(objects, plan);
    return plan_announcements(objects, node(), plan, services);
  }
};

std::vector<Prefix> prefixes(const AnnouncePlan& p, const std::string& peer) {
  std::vector<Prefix> out;
  auto it = p.routes.find(peer);
  if (it == p.routes.end()) return out;
  for (const auto& r : it->second) out.push_back(r.prefix);
  return out;
}

std::vector<std::string> peer_names(const AnnouncePlan& p) {
  std::vector<std::string> out;
  for (const auto& c : p.peers) out.push_back(c.name);
  return out;
}

std::vector<std::string> reasons(const AnnouncePlan& p, const std::string& key) {
  std::vector<std::string> out;
  auto it = p.events.find(key);
  if (it == p.events.end()) return out;
  for (const auto& e : it->second) out.push_back(e.reason);
  return out;
}

const std::string kR1 = "metallb-system/r1";
const std::string kR2 = "metallb-system/r2";

// ---- sessions ----

TEST(AnnouncePeers, NodeSelectorsPickThePeersOfThisNode) {
  World w("");
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto b = peer("r0", "198.51.100.2");
  b.node_selectors = {selector("zone", "a")};
  w.objects.bgp_peers.push_back(b);
  auto c = peer("r3", "198.51.100.3");
  c.node_selectors = {selector("zone", "b"), selector("rack", "7")};
  w.objects.bgp_peers.push_back(c);
  const AnnouncePlan p = w.run();
  EXPECT_EQ(peer_names(p), (std::vector<std::string>{"metallb-system/r0", kR1}));
  // Every session has its (empty) route list, so the speaker withdraws what it sent before.
  EXPECT_EQ(p.routes.size(), 2u);
  EXPECT_TRUE(p.routes.at(kR1).empty());
  EXPECT_TRUE(p.warnings.empty());
}

TEST(AnnouncePeers, NoNodeNoSessions) {
  World w(service("web", "203.0.113.10"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  w.run();
  const AnnouncePlan p = plan_announcements(w.objects, nullptr, w.plan, w.services);
  EXPECT_TRUE(p.peers.empty());
  EXPECT_TRUE(p.routes.empty());
  EXPECT_TRUE(p.events.empty());
}

TEST(AnnouncePeers, RouterIdFromPeerThenFirstIPv4ThenNodeNameHash) {
  EXPECT_EQ(crc32_ieee("123456789"), 0xcbf43926u);  // the CRC-32 check value
  World w("");
  auto a = peer("r1", "198.51.100.1");
  a.router_id = IpAddress::parse("10.0.0.1");
  w.objects.bgp_peers.push_back(a);
  w.objects.bgp_peers.push_back(peer("r2", "198.51.100.2"));
  AnnouncePlan p = w.run();
  ASSERT_EQ(p.peers.size(), 2u);
  EXPECT_EQ(p.peers[0].router_id, 0x0a000001u);
  // The first IPv4 address of the interfaces, although an IPv6 one is listed before it.
  EXPECT_EQ(p.peers[1].router_id, IpAddress::parse("198.51.100.10")->v4_host_order());

  w.objects.node_configs[0].interfaces[0].addresses.pop_back();  // IPv6 only now
  p = w.run();
  ASSERT_EQ(p.peers.size(), 2u);
  EXPECT_EQ(p.peers[0].router_id, 0x0a000001u);
  EXPECT_EQ(p.peers[1].router_id, 0x1c507263u);  // CRC-32 of "edge-1" (Go crc32.ChecksumIEEE)
}

TEST(AnnouncePeers, TimersAndSessionFlags) {
  World w("");
  auto a = peer("r1", "198.51.100.1");
  a.hold_time_ms = 240000;
  a.keepalive_time_ms = 80000;
  a.connect_time_ms = 10000;
  a.peer_port = 1179;
  a.source_address = IpAddress::parse("198.51.100.10");
  a.ebgp_multi_hop = true;
  a.enable_graceful_restart = true;
  a.bfd_profile = "fast";  // not acted on, the session still runs
  w.objects.bgp_peers.push_back(a);
  auto b = peer("r2", "198.51.100.2");
  b.hold_time_ms = 2000;  // RFC 4271: 0 or >= 3 s
  b.keepalive_time_ms = 666;
  w.objects.bgp_peers.push_back(b);
  const AnnouncePlan p = w.run();
  ASSERT_EQ(p.peers.size(), 2u);
  const PeerConfig& c = p.peers[0];
  EXPECT_EQ(c.my_asn, 64512u);
  EXPECT_EQ(c.peer_asn, 64513u);
  EXPECT_EQ(c.peer_address, *IpAddress::parse("198.51.100.1"));
  EXPECT_EQ(c.peer_port, 1179);
  EXPECT_EQ(c.hold_time_s, 240);
  EXPECT_EQ(c.keepalive_time_s, 80);
  EXPECT_EQ(c.connect_retry_s, 10);
  EXPECT_EQ(c.source_address, IpAddress::parse("198.51.100.10"));
  EXPECT_TRUE(c.ebgp_multihop);
  EXPECT_TRUE(c.graceful_restart);
  EXPECT_TRUE(c.password.empty());
  EXPECT_EQ(p.peers[1].hold_time_s, 3);
  EXPECT_EQ(p.peers[1].keepalive_time_s, 0);
  EXPECT_EQ(p.peers[1].connect_retry_s, PeerConfig{}.connect_retry_s);
  EXPECT_FALSE(p.peers[1].ebgp_multihop);
  EXPECT_FALSE(p.peers[1].graceful_restart);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("holdTime 2s"), std::string::npos) << p.warnings[0];
}

TEST(AnnouncePeers, PasswordInlineOrFromSecret) {
  World w("");
  auto inline_pw = peer("r1", "198.51.100.1");
  inline_pw.password = "inline-key";
  w.objects.bgp_peers.push_back(inline_pw);
  auto from_secret = peer("r2", "198.51.100.2");
  from_secret.password_secret = config::SecretReference{"bgp-auth", ""};  // peer's namespace
  w.objects.bgp_peers.push_back(from_secret);
  config::Secret s;
  s.meta.name = "bgp-auth";
  s.meta.namespace_ = "metallb-system";
  s.type = "kubernetes.io/basic-auth";
  s.data["password"] = "s3cret-key";
  w.objects.secrets.push_back(s);
  config::Secret elsewhere = s;  // same name, another namespace: not the one referenced
  elsewhere.meta.namespace_ = "default";
  elsewhere.data["password"] = "wrong";
  w.objects.secrets.insert(w.objects.secrets.begin(), elsewhere);

  AnnouncePlan p = w.run();
  ASSERT_EQ(p.peers.size(), 2u);
  EXPECT_EQ(p.peers[0].password, "inline-key");
  EXPECT_EQ(p.peers[1].password, "s3cret-key");
  EXPECT_TRUE(p.warnings.empty());

  // The Secret has not been created yet: the peer waits, with a warning that names the Secret
  // (never a password).
  w.objects.secrets.pop_back();
  p = w.run();
  EXPECT_EQ(peer_names(p), (std::vector<std::string>{kR1}));
  EXPECT_EQ(p.routes.count(kR2), 0u);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("BGPPeer metallb-system/r2 not run: passwordSecret "
                               "metallb-system/bgp-auth does not exist"),
            std::string::npos)
      << p.warnings[0];

  // Present but without the key, or of another type: skipped too.
  s.data.clear();
  s.data["username"] = "x";
  w.objects.secrets.push_back(s);
  p = w.run();
  EXPECT_EQ(peer_names(p), (std::vector<std::string>{kR1}));
  w.objects.secrets.back().data["password"] = "k";
  w.objects.secrets.back().type = "Opaque";
  p = w.run();
  EXPECT_EQ(peer_names(p), (std::vector<std::string>{kR1}));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0].find("wrong"), std::string::npos);
}

// ---- routes from Services ----

TEST(AnnounceRoutes, HostRouteForAServiceWithAReadyEndpoint) {
  World w(service("web", "203.0.113.10"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  const AnnouncePlan p = w.run();
  ASSERT_EQ(p.routes.at(kR1).size(), 1u);
  const Route& r = p.routes.at(kR1)[0];
  EXPECT_EQ(r.prefix, prefix("203.0.113.10/32"));
  EXPECT_FALSE(r.local_pref.has_value());
  EXPECT_TRUE(r.communities.empty());
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].holders, (std::vector<std::string>{"Service demo/web"}));
  EXPECT_EQ(p.announcements[0].advertisements, (std::vector<std::string>{"metallb-system/all"}));
  EXPECT_EQ(p.announcements[0].peers, (std::vector<std::string>{kR1}));
  EXPECT_EQ(p.announcements[0].route, r);
  EXPECT_TRUE(p.events.empty());
}

TEST(AnnounceRoutes, NotAnnouncedWithoutAnEndpointTakingNewFlows) {
  World w(service("none", "203.0.113.10", "") +
          service("unready", "203.0.113.11", "{ready: false, serving: false}") +
          service("gone", "203.0.113.12", "{ready: false, serving: false, terminating: true}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  const AnnouncePlan p = w.run();
  EXPECT_TRUE(p.routes.at(kR1).empty());
  EXPECT_TRUE(p.announcements.empty());
  for (const char* key : {"demo/none", "demo/unready", "demo/gone"}) {
    EXPECT_EQ(reasons(p, key), (std::vector<std::string>{"noUsableEndpoints"})) << key;
  }
  EXPECT_NE(p.events.at("demo/none")[0].message.find("203.0.113.10 is not announced by BGP"),
            std::string::npos);
}

TEST(AnnounceRoutes, ServingTerminatingEndpointsKeepTheRouteOnlyAsTheFallback) {
  // No ready endpoint: the serving-terminating one takes new flows (kube-proxy's fallback, and
  // MetalLB counts "serving" endpoints), so the address stays announced.
  World w(service("web", "203.0.113.10", "{ready: false, serving: true, terminating: true}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));

  // An endpoint kept only for the flows it has (terminating set) does not keep the route up.
  for (auto& port : w.services.ports) {
    for (auto& e : port.endpoints) e.terminating = true;
  }
  p = plan_announcements(w.objects, w.node(), w.plan, w.services);
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"noUsableEndpoints"}));
}

TEST(AnnounceRoutes, AggregateStaysWhileOneServiceInsideIsAnnounced) {
  World w(service("a", "203.0.113.10") + service("b", "203.0.113.11"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto agg = ad("agg");
  agg.aggregation_length = 24;
  w.objects.bgp_advertisements.push_back(agg);
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.0/24")}));
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].holders,
            (std::vector<std::string>{"Service demo/a", "Service demo/b"}));

  // a loses its endpoints: the /24 stays for b.
  for (auto& e : w.objects.endpoint_slices[0].endpoints) {
    e.conditions.ready = false;
    e.conditions.serving = false;
  }
  p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.0/24")}));
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].holders, (std::vector<std::string>{"Service demo/b"}));

  // b is deleted: nothing is left inside.
  w.objects.services.pop_back();
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
}

TEST(AnnounceRoutes, CommunitiesAreTheUnionWithAliasesResolved) {
  World w(service("web", "203.0.113.10"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto a = ad("a");
  a.communities = {"64512:100", "edge", "nosuch"};
  auto b = ad("b");
  b.communities = {"64512:200", "large:64512:1:2", "64512:100", "big"};
  w.objects.bgp_advertisements = {a, b};
  config::Community c;
  c.meta.name = "aliases";
  c.meta.namespace_ = "metallb-system";
  config::BgpCommunity edge, big;
  ASSERT_TRUE(config::parse_bgp_community("64512:300", &edge));
  ASSERT_TRUE(config::parse_bgp_community("large:64512:7:8", &big));
  c.communities = {{"edge", edge}, {"big", big}};
  w.objects.communities.push_back(c);
  const AnnouncePlan p = w.run();
  ASSERT_EQ(p.routes.at(kR1).size(), 1u);
  const Route& r = p.routes.at(kR1)[0];
  EXPECT_EQ(r.communities,
            (std::vector<uint32_t>{std_community(64512, 100), std_community(64512, 200),
                                   std_community(64512, 300)}));
  EXPECT_EQ(r.large_communities, (std::vector<LargeCommunity>{{64512, 1, 2}, {64512, 7, 8}}));
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].advertisements,
            (std::vector<std::string>{"metallb-system/a", "metallb-system/b"}));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("\"nosuch\""), std::string::npos) << p.warnings[0];
  EXPECT_EQ(community_text(r.communities[0]), "64512:100");
  EXPECT_EQ(community_text(r.large_communities[0]), "large:64512:1:2");
}

TEST(AnnounceRoutes, LocalPrefMustAgreeOrThePrefixIsNotAnnounced) {
  World w(service("web", "203.0.113.10") + service("api", "203.0.113.11"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1", 64512, 64512));  // iBGP
  w.objects.bgp_peers.push_back(peer("r2", "198.51.100.2", 64512, 64512));
  auto a = ad("a");
  a.local_pref = 100;
  auto b = ad("b");
  b.local_pref = 100;
  w.objects.bgp_advertisements = {a, b};
  AnnouncePlan p = w.run();
  ASSERT_EQ(p.routes.at(kR1).size(), 2u);
  EXPECT_EQ(p.routes.at(kR1)[0].local_pref, 100u);

  // b says 200 for web only: web's prefix goes nowhere, api's (100 from a alone) stays.
  w.objects.bgp_advertisements[1].local_pref = 200;
  w.objects.bgp_advertisements[1].service_selectors = {selector("app", "web")};
  p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.11/32")}));
  EXPECT_EQ(prefixes(p, kR2), (std::vector<Prefix>{prefix("203.0.113.11/32")}));
  EXPECT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"conflictingLocalPref"}));
  EXPECT_TRUE(reasons(p, "demo/api").empty());
  const std::string& m = p.events.at("demo/web")[0].message;
  EXPECT_NE(m.find("203.0.113.10/32 is announced to no peer"), std::string::npos) << m;

  // Unset against set disagrees too (MetalLB compares the field).
  w.objects.bgp_advertisements[1].local_pref.reset();
  p = w.run();
  EXPECT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"conflictingLocalPref"}));

  // Different localPrefs towards different peers do not meet: each peer gets its own.
  w.objects.bgp_advertisements[0].peers = {"r1"};
  w.objects.bgp_advertisements[1].peers = {"r2"};
  w.objects.bgp_advertisements[1].local_pref = 200;
  p = w.run();
  EXPECT_TRUE(p.events.empty());
  ASSERT_EQ(p.routes.at(kR2).size(), 1u);
  EXPECT_EQ(p.routes.at(kR1)[0].local_pref, 100u);
  EXPECT_EQ(p.routes.at(kR2)[0].local_pref, 200u);
  EXPECT_EQ(p.routes.at(kR2)[0].prefix, prefix("203.0.113.10/32"));
}

TEST(AnnounceRoutes, AdvertisementPeersRestrictWhereRoutesGo) {
  World w(service("web", "203.0.113.10"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_peers.push_back(peer("r2", "198.51.100.2"));
  auto a = ad("only-r2");
  a.peers = {"r2", "r9"};
  w.objects.bgp_advertisements.push_back(a);
  const AnnouncePlan p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(prefixes(p, kR2), (std::vector<Prefix>{prefix("203.0.113.10/32")}));
  ASSERT_EQ(p.warnings.size(), 1u);  // r9 is no BGPPeer at all
  EXPECT_NE(p.warnings[0].find("\"r9\""), std::string::npos) << p.warnings[0];
}

TEST(AnnounceRoutes, EachFamilyGoesToPeersOfThatFamily) {
  World w(R"(
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v4, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-v6, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints: [{addresses: ["2001:db8:100::21"]}]
ports: [{name: http, port: 8080}]
)");
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_peers.push_back(peer("r2", "2001:db8:100::1"));
  auto a = ad("all");
  a.aggregation_length_v6 = 120;
  w.objects.bgp_advertisements.push_back(a);
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));
  EXPECT_EQ(prefixes(p, kR2), (std::vector<Prefix>{prefix("2001:db8:200::/120")}));
  EXPECT_TRUE(p.events.empty());

  // Only the IPv6 endpoint left: the IPv4 route goes, the IPv6 one stays.
  w.objects.endpoint_slices[0].endpoints[0].conditions.ready = false;
  w.objects.endpoint_slices[0].endpoints[0].conditions.serving = false;
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(prefixes(p, kR2), (std::vector<Prefix>{prefix("2001:db8:200::/120")}));
  ASSERT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"noUsableEndpoints"}));
  EXPECT_NE(p.events.at("demo/web")[0].message.find("no IPv4 endpoint"), std::string::npos);

  // Without an IPv6 peer the IPv6 address is not announced, and the event says why.
  w.objects.bgp_peers.pop_back();
  w.objects.endpoint_slices[0].endpoints[0].conditions.ready = true;
  w.objects.endpoint_slices[0].endpoints[0].conditions.serving = true;
  p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));
  ASSERT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"notAnnounced"}));
  EXPECT_NE(p.events.at("demo/web")[0].message.find("no IPv6 BGP peer"), std::string::npos);
}

TEST(AnnounceRoutes, PoolSelection) {
  World w(service("web", "203.0.113.10"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto by_name = ad("by-name");
  by_name.ip_address_pools = {"other"};
  w.objects.bgp_advertisements.push_back(by_name);
  AnnouncePlan p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"notAnnounced"}));
  EXPECT_NE(p.events.at("demo/web")[0].message.find("pool \"pool\""), std::string::npos);

  w.objects.bgp_advertisements[0].ip_address_pools = {"other", "pool"};
  p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));

  w.objects.bgp_advertisements[0].ip_address_pools.clear();
  w.objects.bgp_advertisements[0].ip_address_pool_selectors = {selector("tier", "back")};
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());

  w.objects.bgp_advertisements[0].ip_address_pool_selectors = {selector("tier", "front")};
  p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));
}

TEST(AnnounceRoutes, ServiceAndNodeSelectors) {
  World w(service("web", "203.0.113.10") + service("api", "203.0.113.11"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto a = ad("web-only");
  a.service_selectors = {selector("app", "web")};
  w.objects.bgp_advertisements.push_back(a);
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.10/32")}));
  EXPECT_EQ(reasons(p, "demo/api"), (std::vector<std::string>{"notAnnounced"}));
  EXPECT_TRUE(reasons(p, "demo/web").empty());

  // An advertisement for other nodes does not make this one announce.
  w.objects.bgp_advertisements[0].node_selectors = {selector("zone", "b")};
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, "demo/web"), (std::vector<std::string>{"notAnnounced"}));
}

TEST(AnnounceRoutes, NothingToSayWithoutPeers) {
  World w(service("web", "203.0.113.10", ""));
  const AnnouncePlan p = w.run();
  EXPECT_TRUE(p.peers.empty());
  EXPECT_TRUE(p.events.empty());
  EXPECT_TRUE(p.announcements.empty());
}

// ---- routes from Gateways ----

// Gateway demo/edge (infrastructure label role=edge) at 203.0.113.15, listener http:80, and an
// HTTPRoute whose rule is `rule` (YAML of one rules[] entry); the backend is Service demo/app
// port 8080 with endpoint conditions `conditions`.
std::string gateway(const std::string& rule, const std::string& conditions) {
  return R"(
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge, namespace: demo}
spec:
  gatewayClassName: portico
  addresses: [{type: IPAddress, value: 203.0.113.15}]
  infrastructure: {labels: {role: edge}}
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: site, namespace: demo}
spec:
  parentRefs: [{name: edge}]
  rules: [)" +
         rule + R"(]
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: demo}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: app-1, namespace: demo, labels: {kubernetes.io/service-name: app}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.31"], conditions: )" +
         conditions + R"(}]
ports: [{name: http, port: 8080}]
)";
}

constexpr const char* kForwardRule = "{backendRefs: [{name: app, port: 8080}]}";
const std::string kGatewayKey = "Gateway/demo/edge";

TEST(AnnounceGateways, AnnouncedWithAReadyBackendOnly) {
  World w(gateway(kForwardRule, "{ready: true}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.15/32")}));
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].holders, (std::vector<std::string>{"Gateway demo/edge"}));

  w = World(gateway(kForwardRule, "{ready: false, serving: false}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, kGatewayKey), (std::vector<std::string>{"noUsableEndpoints"}));

  // A backend that does not resolve does not count, even with ready endpoints: here a Service
  // of another namespace that no ReferenceGrant opens to the route, next to the unready one.
  w = World(gateway("{backendRefs: [{name: app, port: 8080}, "
                    "{name: app, namespace: other, port: 8080}]}",
                    "{ready: false, serving: false}") +
            R"(
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: other}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: app-1, namespace: other, labels: {kubernetes.io/service-name: app}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.32"]}]
ports: [{name: http, port: 8080}]
)");
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, kGatewayKey), (std::vector<std::string>{"noUsableEndpoints"}));
}

TEST(AnnounceGateways, GatewaysSharingAnAddressAreJudgedByTheirOwnListeners) {
  // demo/back shares edge's address (allow-shared-ip on both) but has no route of its own.
  std::string yaml = gateway(kForwardRule, "{ready: true}");
  const std::string labels = "infrastructure: {labels: {role: edge}}";
  const std::string shared =
      "infrastructure: {labels: {role: edge}, annotations: {metallb.io/allow-shared-ip: k}}";
  yaml.replace(yaml.find(labels), labels.size(), shared);
  yaml += R"(
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: back, namespace: demo}
spec:
  gatewayClassName: portico
  addresses: [{type: IPAddress, value: 203.0.113.15}]
  infrastructure: {annotations: {metallb.io/allow-shared-ip: k}}
  listeners: [{name: http, port: 8080, protocol: HTTP}]
)";
  World w(yaml);
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  const AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.15/32")}));
  ASSERT_EQ(p.announcements.size(), 1u);
  EXPECT_EQ(p.announcements[0].holders, (std::vector<std::string>{"Gateway demo/edge"}));
  EXPECT_EQ(reasons(p, "Gateway/demo/back"), (std::vector<std::string>{"noUsableEndpoints"}));
}

TEST(AnnounceGateways, ARedirectNeedsNoBackend) {
  World w(gateway("{filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]}",
                  "{ready: false, serving: false}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  w.objects.bgp_advertisements.push_back(ad("all"));
  const AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.15/32")}));
}

TEST(AnnounceGateways, ServiceSelectorsReadInfrastructureLabels) {
  World w(gateway(kForwardRule, "{ready: true}"));
  w.objects.bgp_peers.push_back(peer("r1", "198.51.100.1"));
  auto a = ad("edge-only");
  a.service_selectors = {selector("role", "edge")};
  w.objects.bgp_advertisements.push_back(a);
  AnnouncePlan p = w.run();
  EXPECT_EQ(prefixes(p, kR1), (std::vector<Prefix>{prefix("203.0.113.15/32")}));

  w.objects.bgp_advertisements[0].service_selectors = {selector("role", "core")};
  p = w.run();
  EXPECT_TRUE(prefixes(p, kR1).empty());
  EXPECT_EQ(reasons(p, kGatewayKey), (std::vector<std::string>{"notAnnounced"}));
}

// ---- from YAML, through the loader ----

// One line per session, per route of each peer, and per event.
std::string dump(const AnnouncePlan& p) {
  std::string out;
  for (const auto& c : p.peers) {
    out += "peer " + c.name + " " + c.peer_address.str() + " AS" + std::to_string(c.my_asn) +
           "->AS" + std::to_string(c.peer_asn) + " id " + IpAddress::v4(c.router_id).str() +
           " hold " + std::to_string(c.hold_time_s) + " keepalive " +
           std::to_string(c.keepalive_time_s) + " md5 " + (c.password.empty() ? "-" : c.password) +
           (c.graceful_restart ? " gr" : "") + "\n";
  }
  for (const auto& [peer, routes] : p.routes) {
    for (const auto& r : routes) {
      out += peer + " " + r.prefix.str();
      if (r.local_pref) out += " localPref " + std::to_string(*r.local_pref);
      for (uint32_t c : r.communities) out += " " + community_text(c);
      for (const auto& c : r.large_communities) out += " " + community_text(c);
      out += "\n";
    }
  }
  for (const auto& [key, events] : p.events) {
    for (const auto& e : events) out += key + " " + e.reason + ": " + e.message + "\n";
  }
  for (const auto& w : p.warnings) out += "warning: " + w + "\n";
  return out;
}

TEST(AnnounceYaml, Golden) {
  const std::string path =
      std::string(PORTICO_SOURCE_ROOT) + "/tests/unit/bgp/testdata/announce.yaml";
  const auto loaded = config::load({path});
  ASSERT_TRUE(loaded.ok()) << loaded.errors.at(0).str();
  EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.at(0).str();
  const config::NodeConfig* node = &loaded.objects.node_configs.at(0);
  const control::Plan plan = control::make_plan(loaded.objects, node, {});
  const AnnouncePlan p = plan_announcements(loaded.objects, node, plan,
                                            control::compile_services(loaded.objects, plan));
  // tor-rack-b is for rack b; demo/b's IPv4 address has no IPv4 endpoint, demo/a keeps the /24;
  // localPref goes in the route for every peer (the speaker sends it on iBGP sessions only).
  EXPECT_EQ(dump(p),
            "peer metallb-system/tor-v4 198.51.100.1 AS64512->AS64512 id 198.51.100.10 hold 30 "
            "keepalive 10 md5 md5-key gr\n"
            "peer metallb-system/tor-v6 2001:db8:100::1 AS64512->AS64500 id 198.51.100.10 hold 90 "
            "keepalive 30 md5 -\n"
            "metallb-system/tor-v4 192.0.2.0/24\n"
            "metallb-system/tor-v4 203.0.113.11/32 localPref 200 64512:100 65535:65281 "
            "large:64512:1:2\n"
            "metallb-system/tor-v6 2001:db8:200::10/128 localPref 200 64512:100 65535:65281 "
            "large:64512:1:2\n"
            "demo/b noUsableEndpoints: 192.0.2.1 is not announced by BGP: no IPv4 endpoint of the "
            "Service takes new flows (none ready, none serving)\n"
            "demo/idle noUsableEndpoints: 203.0.113.10 is not announced by BGP: no IPv4 endpoint "
            "of the Service takes new flows (none ready, none serving)\n");
}

}  // namespace
}  // namespace bgp
