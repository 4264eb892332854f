// The cluster as Portico sees it: one Informer (control/k8s/informer.h) per watched kind
// (control/k8s/resources.h), each on its own thread, and their caches turned into the object
// store's "kubernetes" entries for the control thread.
//
// Threads: start() launches the informers' threads; stop() (or the destructor) ends them. The
// control thread calls ready(), version(), entries() and health(), which only read the
// informers' thread-safe getters.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control/api/store.h"
#include "control/k8s/informer.h"
#include "control/k8s/resources.h"
#include "control/k8s/transport.h"

namespace control::k8s {

class ClusterCache {
 public:
  ClusterCache(Transport* transport, std::vector<WatchedKind> kinds, InformerOptions options = {});
  ~ClusterCache();
  ClusterCache(const ClusterCache&) = delete;
  ClusterCache& operator=(const ClusterCache&) = delete;

  void start();
  void stop();

  // Every kind has been listed once, or is not installed (its CRDs absent): what the caches
  // hold is the cluster, not a part of it. Before that nothing is published, so that a start
  // never withdraws what a half-listed cluster lacks.
  bool ready() const;
  // Changes whenever any cache changes (the sum of the informers' versions).
  uint64_t version() const;
  // The store entries of all caches; objects that cannot become one are named in `errors`.
  std::map<api::ObjectKey, api::Entry> entries(std::vector<std::string>* errors) const;

  struct KindHealth {
    std::string kind, served_version, last_error;
    InformerState state = InformerState::kListing;
    bool synced = false;
    uint64_t relists = 0, watch_restarts = 0, errors = 0;
  };
  std::vector<KindHealth> health() const;

 private:
  struct Watched {
    WatchedKind kind;
    std::unique_ptr<Informer> informer;
    std::thread thread;
  };
  std::vector<Watched> watched_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
};

}  // namespace control::k8s
