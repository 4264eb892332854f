// `portico check` on the embedded default and on bad input (golden values).
#include "control/status.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace control
