// Kubernetes sync for the runner: the kubeconfig (or the pod's service account) of NodeConfig
// spec.kubernetes, the HTTPS transport, and the informers of every watched kind.
//
// Threads: Sync::start() runs on the control thread and launches the informers' threads; the
// control thread then asks ready(), version() and entries() once per loop. The data plane never
// waits for the API server: while it is unreachable the informers back off and keep their last
// good caches, so the store keeps the last good objects (docs/kubernetes.md).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/objects.h"
#include "control/k8s/cluster_cache.h"
#include "control/k8s/http.h"
#include "control/k8s/kubeconfig.h"
#include "control/k8s/lease.h"
#include "control/k8s/status_writer.h"

namespace control::k8s {

// What the cluster's objects' status should be, as the control thread computed it after its
// last publication (only objects that came from the cluster).
struct DesiredStatus {
  std::vector<ServiceStatus> services;
  std::vector<ObjectStatus> objects;
  // Warnings on the objects: allocation failures, objects left out of the configuration. Each
  // is posted once when it appears (not again while it persists), and again by a new leader.
  std::vector<EventInfo> events;
};

class Sync {
 public:
  // Null with `error` when the kubeconfig cannot be used (the process should not start then:
  // the operator asked for a cluster it cannot reach by configuration). `node_name`: the lease
  // identity unless leaderElection.identity is set.
  static std::unique_ptr<Sync> start(const config::NodeConfig::Kubernetes& k,
                                     const std::string& node_name, std::string* error,
                                     InformerOptions options = {});
  ~Sync();

  const ClusterConfig& cluster() const { return cluster_; }
  Transport* transport() { return transport_.get(); }
  ClusterCache& cache() { return *cache_; }
  const LeaderElector& elector() const { return *elector_; }

  // Control thread: the status to write. The status thread writes what differs while this node
  // holds the Lease; every 60 s it forgets what it wrote and compares with the cluster again,
  // so a status changed behind its back is put right.
  void set_desired(DesiredStatus d);

  struct StatusCounters {
    uint64_t written = 0, unchanged = 0, not_leader = 0, errors = 0;
    std::string last_error;
  };
  StatusCounters status_counters() const;

 private:
  Sync() = default;
  void status_loop();

  ClusterConfig cluster_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<CurlTransport> transport_;
  std::unique_ptr<ClusterCache> cache_;
  std::unique_ptr<LeaderElector> elector_;
  std::unique_ptr<StatusWriter> writer_;
  std::atomic<bool> stop_{false};
  std::thread elector_thread_, status_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  DesiredStatus desired_;
  uint64_t desired_seq_ = 0;
  StatusCounters counters_;
};

}  // namespace control::k8s
