// The informers of every watched kind and their caches as store entries (see cluster_cache.h).
#include "control/k8s/cluster_cache.h"

namespace control::k8s {

ClusterCache::ClusterCache(Transport* transport, std::vector<WatchedKind> kinds,
                           InformerOptions options) {
  for (auto& k : kinds) {
    Watched w;
    Resource r;
    r.group = k.group;
    r.versions = k.versions;
    r.plural = k.plural;
    r.kind = k.kind;
    r.namespaced = k.namespaced;
    r.label_selector = k.label_selector;
    r.field_selector = k.field_selector;
    w.kind = std::move(k);
    w.informer = std::make_unique<Informer>(transport, std::move(r), options);
    watched_.push_back(std::move(w));
  }
}

ClusterCache::~ClusterCache() { stop(); }

void ClusterCache::start() {
  if (started_) return;
  started_ = true;
  for (auto& w : watched_) {
    Informer* informer = w.informer.get();
    w.thread = std::thread([informer, this] { informer->run(&stop_); });
  }
}

void ClusterCache::stop() {
  stop_ = true;
  for (auto& w : watched_) {
    if (w.thread.joinable()) w.thread.join();
  }
}

bool ClusterCache::ready() const {
  for (const auto& w : watched_) {
    if (!w.informer->synced() && w.informer->state() != InformerState::kNotInstalled) return false;
  }
  return true;
}

uint64_t ClusterCache::version() const {
  uint64_t v = 0;
  for (const auto& w : watched_) v += w.informer->version();
  return v;
}

std::map<api::ObjectKey, api::Entry> ClusterCache::entries(std::vector<std::string>* errors) const {
  std::map<api::ObjectKey, api::Entry> out;
  for (const auto& w : watched_) {
    const std::string version = w.informer->served_version();
    for (const auto& [key, object] : w.informer->objects()) {
      api::Entry e;
      std::string error;
      if (!cluster_entry(w.kind, version.empty() ? w.kind.versions.front() : version, object, &e,
                         &error)) {
        if (errors != nullptr) errors->push_back(w.kind.kind + " " + key + ": " + error);
        continue;
      }
      out[e.key] = std::move(e);
    }
  }
  return out;
}

std::vector<ClusterCache::KindHealth> ClusterCache::health() const {
  std::vector<KindHealth> out;
  for (const auto& w : watched_) {
    KindHealth h;
    h.kind = w.kind.kind;
    h.served_version = w.informer->served_version();
    h.last_error = w.informer->last_error();
    h.state = w.informer->state();
    h.synced = w.informer->synced();
    h.relists = w.informer->relists();
    h.watch_restarts = w.informer->watch_restarts();
    h.errors = w.informer->errors();
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace control::k8s
