// Kubernetes sync for the runner: the kubeconfig (or the pod's service account) of NodeConfig
// spec.kubernetes, the HTTPS transport, and the informers of every watched kind.
//
// Threads: Sync::start() runs on the control thread and launches the informers' threads; the
// control thread then asks ready(), version() and entries() once per loop. The data plane never
// waits for the API server: while it is unreachable the informers back off and keep their last
// good caches, so the store keeps the last good objects (docs/kubernetes.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/k8s/cluster_cache.h"
#include "control/k8s/http.h"
#include "control/k8s/kubeconfig.h"

namespace control::k8s {

class Sync {
 public:
  // Null with `error` when the kubeconfig cannot be used (the process should not start then:
  // the operator asked for a cluster it cannot reach by configuration).
  static std::unique_ptr<Sync> start(const config::NodeConfig::Kubernetes& k, std::string* error,
                                     InformerOptions options = {});
  ~Sync();

  const ClusterConfig& cluster() const { return cluster_; }
  Transport* transport() { return transport_.get(); }
  ClusterCache& cache() { return *cache_; }

 private:
  Sync() = default;
  ClusterConfig cluster_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<CurlTransport> transport_;
  std::unique_ptr<ClusterCache> cache_;
};

}  // namespace control::k8s
