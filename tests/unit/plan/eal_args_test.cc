// NodeConfig.spec.dpdk -> EAL arguments.
#include "control/eal_args.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace control {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(PciAddress, TellsPciFromVdev) {
  EXPECT_TRUE(is_pci_address("0000:3b:02.0"));
  EXPECT_TRUE(is_pci_address("3b:02.1"));
  EXPECT_FALSE(is_pci_address("net_af_packet0,iface=veth0"));
  EXPECT_FALSE(is_pci_address("net_tap0"));
}

TEST(EalArgs, TestbedDefaults) {
  config::NodeConfig n;
  n.dpdk.lcores = "0-1";
  n.interfaces.push_back({"uplink", "net_af_packet0,iface=veth0", {}, 1500, "portico0"});
  const auto a = eal_args(n, "portico");
  EXPECT_EQ(a[0], "portico");
  EXPECT_TRUE(has(a, "--main-lcore=0"));
  EXPECT_TRUE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--no-pci"));
  EXPECT_TRUE(has(a, "--no-shconf"));
  EXPECT_TRUE(has(a, "512"));
}

TEST(EalArgs, MappedLcoresUseTheLcoresOption) {
  config::NodeConfig n;
  n.dpdk.lcores = "0@0,1@1,2@1";  // two workers sharing CPU 1
  n.interfaces.push_back({"uplink", "net_null0", {}, 1500, "portico0"});
  const auto a = eal_args(n, "portico");
  ASSERT_GE(a.size(), 3u);
  EXPECT_EQ(a[1], "--lcores");
  EXPECT_EQ(a[2], "0@0,1@1,2@1");
  EXPECT_TRUE(has(a, "--main-lcore=0"));
}

TEST(EalArgs, PciHugepagesAndExtraArgs) {
  config::NodeConfig n;
  n.dpdk.lcores = "2,4-5";
  n.dpdk.hugepages = true;
  n.dpdk.extra_args = {"--file-prefix=edge", "-n", "4"};
  n.interfaces.push_back({"uplink", "0000:3b:02.0", {}, 1500, "portico0"});
  const auto a = eal_args(n, "portico");
  EXPECT_TRUE(has(a, "--main-lcore=2"));
  EXPECT_FALSE(has(a, "--no-huge"));
  EXPECT_FALSE(has(a, "--no-pci"));
  EXPECT_FALSE(has(a, "--in-memory"));  // the user chose a file prefix
  EXPECT_FALSE(has(a, "--no-shconf"));
  EXPECT_EQ(a.back(), "4");
}

}  // namespace
}  // namespace control
