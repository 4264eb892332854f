// control/k8s/resources: the watched kinds, and the object a list item becomes in the store.
#include "control/k8s/resources.h"

#include <gtest/gtest.h>

#include <set>

namespace control::k8s {
namespace {

const WatchedKind& kind_of(const std::string& kind) {
  for (const auto& w : watched_kinds()) {
    if (w.kind == kind) return w;
  }
  throw std::runtime_error("no " + kind);
}

TEST(WatchedKinds, EveryKindTheIssueNames) {
  std::set<std::string> kinds;
  for (const auto& w : watched_kinds()) {
    EXPECT_TRUE(kinds.insert(w.kind).second) << w.kind << " twice";
    EXPECT_FALSE(w.versions.empty()) << w.kind;
  }
  for (const char* k : {"Service", "EndpointSlice", "Namespace", "Secret", "IPAddressPool",
                        "L2Advertisement", "BGPAdvertisement", "BGPPeer", "Community",
                        "GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant"}) {
    EXPECT_EQ(kinds.count(k), 1u) << k;
  }
  EXPECT_EQ(kind_of("BGPPeer").versions, (std::vector<std::string>{"v1beta2", "v1beta1"}));
  EXPECT_FALSE(kind_of("Namespace").namespaced);
  EXPECT_FALSE(kind_of("GatewayClass").namespaced);
}

TEST(ClusterEntry, ListItemsGetTheirKindAndLoseManagedFields) {
  const auto item = nlohmann::json::parse(R"({
    "metadata": {"name": "web", "namespace": "demo", "resourceVersion": "812",
                 "managedFields": [{"manager": "kubectl"}], "labels": {"app": "web"}},
    "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})");
  api::Entry e;
  std::string error;
  ASSERT_TRUE(cluster_entry(kind_of("Service"), "v1", item, &e, &error)) << error;
  EXPECT_EQ(e.key.str(), "Service/demo/web");
  EXPECT_EQ(e.api_version, "v1");
  EXPECT_EQ(e.source, "kubernetes");
  const auto doc = nlohmann::json::parse(e.yaml);
  EXPECT_EQ(doc["apiVersion"], "v1");
  EXPECT_EQ(doc["kind"], "Service");
  EXPECT_FALSE(doc["metadata"].contains("managedFields"));
  EXPECT_EQ(doc["metadata"]["resourceVersion"], "812");
  EXPECT_EQ(doc["spec"]["ports"][0]["port"], 80);

  ASSERT_TRUE(cluster_entry(kind_of("BGPPeer"), "v1beta1",
                            nlohmann::json::parse(R"({"metadata":{"name":"r","namespace":"m"}})"),
                            &e, &error));
  EXPECT_EQ(e.api_version, "metallb.io/v1beta1");
  ASSERT_TRUE(cluster_entry(kind_of("GatewayClass"), "v1",
                            nlohmann::json::parse(R"({"metadata":{"name":"portico"}})"), &e,
                            &error));
  EXPECT_EQ(e.key.str(), "GatewayClass/portico");
}

TEST(ClusterEntry, ObjectsWithoutNamesAreRefused) {
  api::Entry e;
  std::string error;
  for (const char* bad : {"null", "[]", R"({"spec":{}})", R"({"metadata":{"name":"x"}})",
                          R"({"metadata":{"namespace":"x"}})", R"({"metadata":"x"})"}) {
    error.clear();
    EXPECT_FALSE(cluster_entry(kind_of("Service"), "v1", nlohmann::json::parse(bad), &e, &error))
        << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(ObjectPath, CoreGroupAndClusterScoped) {
  EXPECT_EQ(object_path(kind_of("Service"), "v1", "demo", "web"),
            "/api/v1/namespaces/demo/services/web");
  EXPECT_EQ(object_path(kind_of("HTTPRoute"), "v1", "demo", "r"),
            "/apis/gateway.networking.k8s.io/v1/namespaces/demo/httproutes/r");
  EXPECT_EQ(object_path(kind_of("GatewayClass"), "v1", "", "portico"),
            "/apis/gateway.networking.k8s.io/v1/gatewayclasses/portico");
}

}  // namespace
}  // namespace control::k8s
