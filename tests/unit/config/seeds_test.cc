// The YAML examples of shared/seeds/, copied into testdata/seeds/ (see its README.md): what
// loads, what is refused, and with which message and line.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::testdata;

constexpr const char* kTabMessage =
    "YAML syntax: tab character in indentation (YAML allows only spaces for indentation)";

std::string seed(const std::string& name) { return testdata("seeds/" + name); }

TEST(Seeds, Seed002IPAddressPoolLoads) {
  const LoadResult r = load({seed("002_ipaddresspool.yaml")});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.pools.size(), 1u);
  const IPAddressPool& p = r.objects.pools[0];
  EXPECT_EQ(p.meta.name, "pool");
  EXPECT_EQ(p.meta.namespace_, "metallb-system");
  EXPECT_EQ(p.src.line, 1);
  ASSERT_EQ(p.addresses.size(), 1u);
  EXPECT_EQ(p.addresses[0].text, "172.18.255.200-172.18.255.250");
  EXPECT_EQ(p.addresses[0].range.first.str(), "172.18.255.200");
  EXPECT_EQ(p.addresses[0].range.last.str(), "172.18.255.250");
  EXPECT_EQ(p.addresses[0].range.size(), 51u);
  EXPECT_TRUE(p.auto_assign);
}

TEST(Seeds, Seed002L2AdvertisementNamedL2IsRefused) {
  const std::string file = seed("002_l2advertisement.yaml");
  const LoadResult r = load({file});
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            file +
                ":4: L2Advertisement/metallb-system/L2: metadata.name: Invalid value: \"L2\": a "
                "lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
}

TEST(Seeds, Seed002BothBlocksTogether) {
  const LoadResult r = load({seed("002_ipaddresspool.yaml"), seed("002_l2advertisement.yaml")});
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, seed("002_l2advertisement.yaml"));
  EXPECT_EQ(r.objects.pools.size(), 1u);
}

TEST(Seeds, Seed003GatewayIsRefusedAtItsFirstTabIndentedLine) {
  const std::string file = seed("003_gateway.yaml");
  const LoadResult r = load({file});
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  EXPECT_EQ(r.errors[0].str(), file + ":34: " + kTabMessage);
  EXPECT_EQ(r.errors[1].line, 37);  // a blank line made of tabs and spaces
  EXPECT_TRUE(r.objects.others.empty());
}

TEST(Seeds, Seed003HTTPRouteIsRefusedAtItsFirstTabIndentedLine) {
  const std::string file = seed("003_httproute.yaml");
  const LoadResult r = load({file});
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  EXPECT_EQ(r.errors[0].str(), file + ":11: " + kTabMessage);
  EXPECT_EQ(r.errors[1].line, 20);
  EXPECT_TRUE(r.objects.others.empty());
}

// Gateway API kinds are read since issue 4: the two objects load without a word (their typed
// fields are checked in gateway_test.cc).
TEST(Seeds, Seed004GatewayAndHTTPRouteLoad) {
  const LoadResult r = load({seed("004_gateway.yaml"), seed("004_httproute.yaml")});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.gateways.size(), 1u);
  EXPECT_EQ(r.objects.gateways[0].meta.name, "flex-gateway");
  EXPECT_EQ(r.objects.gateways[0].meta.namespace_, "default");
  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  EXPECT_EQ(r.objects.http_routes[0].meta.name, "prometheus-gateway-route");
  EXPECT_TRUE(r.objects.others.empty());
}

TEST(Seeds, WholeDirectory) {
  const LoadResult r = load({testdata("seeds")});
  EXPECT_EQ(r.errors.size(), 5u) << dump(r);  // L2 name, two tab lines in each 003 block
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  EXPECT_EQ(r.objects.pools.size(), 1u);
  EXPECT_EQ(r.objects.gateways.size(), 1u);
  EXPECT_EQ(r.objects.http_routes.size(), 1u);
  EXPECT_TRUE(r.objects.others.empty());
}

}  // namespace
}  // namespace config
