// `portico check` on the embedded default and on bad input (golden values).
#include "control/status.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "control/services.h"

namespace control {
namespace {

const std::string kDemo = std::string(PORTICO_SOURCE_ROOT) + "/config/examples/demo.yaml";

nlohmann::json find(const nlohmann::json& objects, const std::string& kind,
                    const std::string& name) {
  for (const auto& o : objects) {
    if (o["kind"] == kind && o["metadata"]["name"] == name) return o;
  }
  return nullptr;
}

std::vector<std::string> ingress(const nlohmann::json& svc) {
  std::vector<std::string> ips;
  if (!svc["status"]["loadBalancer"].contains("ingress")) return ips;
  for (const auto& i : svc["status"]["loadBalancer"]["ingress"]) ips.push_back(i["ip"]);
  return ips;
}

TEST(Check, DemoConfigStatuses) {
  std::ostringstream out, err;
  ASSERT_EQ(check({kDemo}, OutputFormat::kJson, out, err), 0) << out.str() << err.str();
  const auto doc = nlohmann::json::parse(out.str());
  EXPECT_TRUE(doc["errors"].empty());
  const auto& objects = doc["objects"];
  // Sorted by namespace/name: api (pinned to "reserved"), dns-tcp, dns-udp (shared), web.
  EXPECT_EQ(ingress(find(objects, "Service", "api")), (std::vector<std::string>{"203.0.113.200"}));
  EXPECT_EQ(ingress(find(objects, "Service", "dns-tcp")),
            (std::vector<std::string>{"203.0.113.10"}));
  EXPECT_EQ(ingress(find(objects, "Service", "dns-udp")),
            (std::vector<std::string>{"203.0.113.10"}));
  EXPECT_EQ(ingress(find(objects, "Service", "web")),
            (std::vector<std::string>{"203.0.113.11", "2001:db8:200::10"}));
  EXPECT_TRUE(ingress(find(objects, "Service", "internal")).empty());
  const auto web = find(objects, "Service", "web");
  EXPECT_EQ(web["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"], "demo-pool");
  const auto pool = find(objects, "IPAddressPool", "demo-pool");
  EXPECT_EQ(pool["status"]["assignedIPv4"], 2);
  EXPECT_EQ(pool["status"]["availableIPv4"], 38);
  EXPECT_EQ(pool["status"]["assignedIPv6"], 1);
}

TEST(Check, ErrorsHaveFileAndLine) {
  const std::string path = ::testing::TempDir() + "/bad.yaml";
  {
    std::ofstream f(path);
    f << "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: L2\n"
         "  namespace: metallb-system\n";
  }
  std::ostringstream out, err;
  EXPECT_EQ(check({path}, OutputFormat::kText, out, err), 1);
  EXPECT_NE(err.str().find(path + ":4: L2Advertisement/metallb-system/L2: "), std::string::npos)
      << err.str();
  std::ostringstream jout, jerr;
  EXPECT_EQ(check({path}, OutputFormat::kJson, jout, jerr), 1);
  const auto doc = nlohmann::json::parse(jout.str());
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["line"], 4);
  EXPECT_EQ(doc["errors"][0]["file"], path);
}

TEST(Check, NothingAboutBgpWithoutBgpPeers) {
  std::ostringstream out, err;
  ASSERT_EQ(check({kDemo}, OutputFormat::kText, out, err), 0) << err.str();
  EXPECT_EQ(out.str().find("BGP"), std::string::npos) << out.str();
  std::ostringstream jout, jerr;
  ASSERT_EQ(check({kDemo}, OutputFormat::kJson, jout, jerr), 0) << jerr.str();
  EXPECT_FALSE(nlohmann::json::parse(jout.str()).contains("bgp"));
}

// The BGP section of `check`, from objects built here: web has a ready endpoint, api none.
// r1 is an iBGP session with a TCP-MD5 key and graceful restart, r2 an eBGP one.
struct BgpCase {
  config::ObjectSet objects;
  bgp::AnnouncePlan bgp;
  BgpCase() {
    auto loaded = config::load_text(R"(
apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata: {name: edge-1}
spec:
  interfaces: [{name: uplink, device: net_null0, addresses: ["198.51.100.10/24"]}]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: pool, namespace: metallb-system}
spec:
  addresses: ["203.0.113.10-203.0.113.19"]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: demo, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: ["198.51.100.21"]}]
ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80}]
)",
                                    "bgp.yaml");
    EXPECT_TRUE(loaded.ok());
    objects = std::move(loaded.objects);
    config::BGPPeer r1;
    r1.meta = {.name = "r1", .namespace_ = "metallb-system"};
    r1.my_asn = r1.peer_asn = 64512;
    r1.peer_address = *config::IpAddress::parse("198.51.100.1");
    r1.password = "md5-key-not-shown";
    r1.enable_graceful_restart = true;
    config::BGPPeer r2 = r1;
    r2.meta.name = "r2";
    r2.peer_asn = 64513;
    r2.peer_address = *config::IpAddress::parse("198.51.100.2");
    r2.peer_port = 1179;
    r2.password.clear();
    r2.enable_graceful_restart = false;
    objects.bgp_peers = {r1, r2};
    config::BGPAdvertisement ad;
    ad.meta = {.name = "ad", .namespace_ = "metallb-system"};
    ad.local_pref = 150;
    ad.communities = {"64512:100", "large:64512:1:2"};
    objects.bgp_advertisements = {ad};
    const config::NodeConfig* node = &objects.node_configs.at(0);
    const Plan plan = make_plan(objects, node, {});
    bgp = bgp::plan_announcements(objects, node, plan, compile_services(objects, plan));
  }
};

TEST(Check, BgpText) {
  BgpCase c;
  std::ostringstream out;
  print_bgp_text(&c.objects.node_configs.at(0), c.bgp, out);
  EXPECT_EQ(out.str(),
            "BGP on node edge-1: 2 session(s)\n"
            "  peer metallb-system/r1: 198.51.100.1, AS 64512 -> AS 64512 (iBGP), router id "
            "198.51.100.10, hold 90s keepalive 30s, MD5 yes, GR on\n"
            "  peer metallb-system/r2: 198.51.100.2 port 1179, AS 64512 -> AS 64513 (eBGP), "
            "router id 198.51.100.10, hold 90s keepalive 30s, MD5 no, GR off\n"
            "  route 203.0.113.11/32 -> metallb-system/r1, metallb-system/r2; communities "
            "64512:100, large:64512:1:2; localPref 150; Service demo/web\n"
            "  Service demo/api:\n"
            "    Warning noUsableEndpoints: 203.0.113.10 is not announced by BGP: no IPv4 "
            "endpoint of the Service takes new flows (none ready, none serving)\n");
}

TEST(Check, BgpJson) {
  BgpCase c;
  const std::string text = bgp_json(&c.objects.node_configs.at(0), c.bgp);
  EXPECT_EQ(text.find("md5-key-not-shown"), std::string::npos);
  const auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["node"], "edge-1");
  ASSERT_EQ(doc["peers"].size(), 2u);
  const auto& r1 = doc["peers"][0];
  EXPECT_EQ(r1["name"], "metallb-system/r1");
  EXPECT_EQ(r1["peerAddress"], "198.51.100.1");
  EXPECT_EQ(r1["peerPort"], 179);
  EXPECT_EQ(r1["myASN"], 64512);
  EXPECT_EQ(r1["peerASN"], 64512);
  EXPECT_EQ(r1["type"], "iBGP");
  EXPECT_EQ(r1["routerID"], "198.51.100.10");
  EXPECT_EQ(r1["holdTime"], "90s");
  EXPECT_EQ(r1["keepaliveTime"], "30s");
  EXPECT_EQ(r1["md5"], true);
  EXPECT_EQ(r1["gracefulRestart"], true);
  EXPECT_EQ(doc["peers"][1]["type"], "eBGP");
  EXPECT_EQ(doc["peers"][1]["md5"], false);
  ASSERT_EQ(doc["announcements"].size(), 1u);
  const auto& a = doc["announcements"][0];
  EXPECT_EQ(a["prefix"], "203.0.113.11/32");
  EXPECT_EQ(a["peers"], nlohmann::json({"metallb-system/r1", "metallb-system/r2"}));
  EXPECT_EQ(a["communities"], nlohmann::json({"64512:100", "large:64512:1:2"}));
  EXPECT_EQ(a["localPref"], 150);
  EXPECT_EQ(a["holders"], nlohmann::json({"Service demo/web"}));
  EXPECT_EQ(a["advertisements"], nlohmann::json({"metallb-system/ad"}));
  ASSERT_EQ(doc["notAnnounced"].size(), 1u);
  EXPECT_EQ(doc["notAnnounced"][0]["holder"], "Service demo/api");
  EXPECT_EQ(doc["notAnnounced"][0]["events"][0]["reason"], "noUsableEndpoints");
  EXPECT_TRUE(doc["warnings"].empty());
}

TEST(Check, BgpFromYaml) {
  const std::string path =
      std::string(PORTICO_SOURCE_ROOT) + "/tests/unit/bgp/testdata/announce.yaml";
  std::ostringstream out, err;
  ASSERT_EQ(check({path}, OutputFormat::kText, out, err), 0) << err.str();
  const std::string text = out.str();
  EXPECT_NE(text.find("BGP on node edge-1: 2 session(s)\n"
                      "  peer metallb-system/tor-v4: 198.51.100.1, AS 64512 -> AS 64512 (iBGP), "
                      "router id 198.51.100.10, hold 30s keepalive 10s, MD5 yes, GR on\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  route 192.0.2.0/24 -> metallb-system/tor-v4; Service demo/a\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("md5-key"), std::string::npos);
  std::ostringstream jout, jerr;
  ASSERT_EQ(check({path}, OutputFormat::kJson, jout, jerr), 0) << jerr.str();
  EXPECT_EQ(jout.str().find("md5-key"), std::string::npos);
  const auto doc = nlohmann::json::parse(jout.str());
  ASSERT_TRUE(doc.contains("bgp"));
  EXPECT_EQ(doc["bgp"]["peers"].size(), 2u);
  EXPECT_EQ(doc["bgp"]["announcements"].size(), 3u);
  EXPECT_EQ(doc["bgp"]["notAnnounced"].size(), 2u);
}

}  // namespace
}  // namespace control
