// control/k8s/cluster_cache: informers for the watched kinds over a fake API server that serves
// only Services; the kinds it lacks count as not installed, so the cache is ready.
#include "control/k8s/cluster_cache.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace control::k8s {
namespace {

class ServicesOnly : public Transport {
 public:
  Response request(const Request& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    paths.push_back(r.path);
    Response resp;
    if (r.path.rfind("/api/v1/services?", 0) == 0) {
      resp.status = 200;
      resp.body = R"({"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"7"},
        "items":[{"metadata":{"name":"web","namespace":"demo","resourceVersion":"5",
                  "managedFields":[{"manager":"x"}]},
                  "spec":{"type":"LoadBalancer","ports":[{"port":80}]}},
                 {"metadata":{"name":"","namespace":"demo"}}]})";
      return resp;
    }
    resp.status = 404;
    resp.body = R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404})";
    return resp;
  }
  Response stream(const std::string& path, const std::function<bool(std::string_view)>&,
                  const std::atomic<bool>* cancel, std::chrono::seconds) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      paths.push_back(path);
    }
    while (cancel == nullptr || !*cancel) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return Response{200, "", "", ""};
  }
  std::mutex mu_;
  std::vector<std::string> paths;
};

TEST(ClusterCache, ListsEveryKindAndBecomesReady) {
  ServicesOnly t;
  InformerOptions o;
  o.not_installed_retry = std::chrono::milliseconds(60000);
  o.seed = 1;
  ClusterCache cache(&t, watched_kinds(), o);
  EXPECT_FALSE(cache.ready());
  cache.start();
  for (int i = 0; i < 400 && !cache.ready(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(cache.ready());
  std::vector<std::string> errors;
  const auto entries = cache.entries(&errors);
  ASSERT_EQ(entries.size(), 1u);
  const api::Entry& e = entries.begin()->second;
  EXPECT_EQ(e.key.str(), "Service/demo/web");
  EXPECT_EQ(e.source, "kubernetes");
  EXPECT_EQ(e.yaml.find("managedFields"), std::string::npos);
  size_t not_installed = 0;
  for (const auto& h : cache.health()) {
    if (h.kind == "Service") {
      EXPECT_TRUE(h.synced);
      EXPECT_EQ(h.served_version, "v1");
    } else {
      not_installed += h.state == InformerState::kNotInstalled;
    }
  }
  EXPECT_EQ(not_installed, watched_kinds().size() - 1);
  const uint64_t v = cache.version();
  EXPECT_NE(v, 0u);
  cache.stop();
  // Every kind was asked for, at its preferred version first.
  std::lock_guard<std::mutex> lock(t.mu_);
  bool peers = false, slices = false;
  for (const auto& p : t.paths) {
    peers |= p.rfind("/apis/metallb.io/v1beta2/bgppeers?", 0) == 0;
    slices |= p.find("/apis/discovery.k8s.io/v1/endpointslices?") == 0 &&
              p.find("labelSelector=kubernetes.io%2Fservice-name") != std::string::npos;
  }
  EXPECT_TRUE(peers);
  EXPECT_TRUE(slices) << "EndpointSlices are listed with the service-name label selector";
}

}  // namespace
}  // namespace control::k8s
