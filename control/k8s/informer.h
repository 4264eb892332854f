// Informer: a list+watch cache of one Kubernetes resource, kept as client-go's reflector keeps
// it.
//
//   list (limit/continue, pages applied as one snapshot)  --ok-->  watch from the list's RV
//     ^   |404 on every version: kNotInstalled, retry every not_installed_retry                |
//     |   +--error--> backoff --+                                                            |
//     |                         v                                                            |
//     +-- 410 / Expired / Gone / ResourceVersionTooLarge / bad JSON line <-------------------+
//         (a watch that ends normally is re-opened at once from the last RV seen;
//          transport errors, 5xx, 429, 401/403 and quick empty closes back off, then re-watch)
//
// Reference: ../shared/reference/k8s-and-bgp.md A2 (pagination, 410 on continue), A3 (watch,
// bookmarks, too old), A5 (the informer pattern and client-go's backoff constants).
//
// Threads: run() is the informer's own thread, the only writer. The control thread reads
// version(), objects() and the health getters; they take a mutex held only for map updates and
// copies, never across I/O. The cache keeps the last good state through every error (the data
// plane keeps serving it): only a successful full list replaces it.
//
// Resource versions are opaque: compared for equality only, never parsed or ordered.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/k8s/transport.h"

namespace control::k8s {

struct Resource {
  std::string group;  // "" = core (/api/VERSION), else /apis/GROUP/VERSION
  // Tried in order: the first the server serves is used (404 -> next). All 404: the kind is not
  // installed (a CRD absent), retried every InformerOptions::not_installed_retry.
  std::vector<std::string> versions;
  std::string plural, kind;  // "services", "Service"
  bool namespaced = true;    // informational: lists always span all namespaces
  std::string label_selector;
  std::string field_selector;  // e.g. "type=kubernetes.io/basic-auth" for Secrets
};

struct InformerOptions {
  uint32_t page_size = 500;
  // Each watch asks for timeoutSeconds drawn uniformly from [min_watch, max_watch], as client-go
  // does, so many informers do not reconnect in step.
  std::chrono::seconds min_watch{300}, max_watch{600};
  // Exponential backoff with full jitter (delay = d + rand[0, d), d doubling from initial,
  // never more than max); back to initial after backoff_reset without failures.
  std::chrono::milliseconds backoff_initial{800}, backoff_max{30000};
  std::chrono::seconds backoff_reset{120};
  // How often a kind none of whose versions is served is probed again (no error storm).
  std::chrono::milliseconds not_installed_retry{60000};
  // A watch that ends sooner than this having delivered no event is a failure (client-go: 1 s).
  std::chrono::milliseconds min_watch_lifetime{1000};
  uint64_t seed = 0;  // jitter and watch timeouts; 0 = from std::random_device
};

enum class InformerState { kListing, kWatching, kBackoff, kNotInstalled, kStopped };
const char* to_string(InformerState s);

class Informer {
 public:
  Informer(Transport* t, Resource r, InformerOptions o = {});
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Runs list+watch until *stop (its own thread). Returns when stopped; waits (backoff,
  // not-installed retry) wake up within ~20 ms of *stop, a watch within the Transport's cancel
  // check.
  void run(const std::atomic<bool>* stop);

  // Thread-safe reads for the control thread:
  uint64_t version() const;  // bumps on every change to the cache (and on the first sync)
  bool synced() const;       // a full list has been applied at least once
  // kNotInstalled never touches the cache or synced(): a consumer waiting for every informer
  // to sync should count a not-installed kind as done (there is nothing to wait for).
  InformerState state() const;
  // The latest failure in words ("list services: HTTP 403 Forbidden: ..."); cleared by the next
  // successful list. Never holds tokens or object data.
  std::string last_error() const;
  uint64_t relists() const;         // lists started from the first page again, after the first
  uint64_t watch_restarts() const;  // watches opened after the first
  uint64_t errors() const;          // failed requests, bad events, ignored objects

  // A copy of the cache: key "namespace/name" (or "name") -> the object as the server sent it,
  // except that list items, which the server sends without them, get "kind" and "apiVersion".
  std::map<std::string, nlohmann::json> objects() const;
  std::string served_version() const;  // which of versions the server answered ("" before)

 private:
  enum class Outcome {
    kOk,            // list applied / watch ended normally after delivering events
    kRelist,        // 410 and friends, or a stream that cannot be trusted: list again
    kFail,          // back off, then re-watch (or list again when not synced)
    kNotInstalled,  // every version answered 404
    kStopped,
  };

  Outcome list(const std::atomic<bool>* stop);
  Outcome watch(const std::atomic<bool>* stop);
  // Sleeps the backoff delay (or at least retry_after); false when stopped meanwhile.
  bool back_off(const std::atomic<bool>* stop, std::chrono::milliseconds at_least);
  bool sleep_for(const std::atomic<bool>* stop, std::chrono::milliseconds d);

  std::string base_path(const std::string& version) const;
  std::string describe(const char* verb, const Response& r) const;
  void fail(const std::string& message, std::chrono::milliseconds retry_after = {});
  void set_state(InformerState s);
  size_t cache_size_for_log() const;

  Transport* transport_;
  const Resource resource_;
  const InformerOptions opts_;
  std::mt19937_64 rng_;

  // run()'s own bookkeeping (the informer thread only).
  std::string rv_;              // last resourceVersion seen (list, event or bookmark)
  std::string version_in_use_;  // the version of the last successful list
  bool watched_once_ = false;
  bool listed_once_ = false;
  uint32_t backoff_step_ = 0;
  std::chrono::steady_clock::time_point last_failure_{};
  std::chrono::milliseconds pending_retry_after_{0};  // of the latest failure (429, 503)
  bool relist_after_backoff_ = false;                 // the latest watch failure was a 404
  uint64_t last_watch_events_ = 0;

  mutable std::mutex mu_;  // guards everything below
  std::map<std::string, nlohmann::json> cache_;
  std::string served_version_;
  std::string last_error_;
  InformerState state_ = InformerState::kListing;
  uint64_t version_ = 0;
  bool synced_ = false;

  std::atomic<uint64_t> relists_{0}, watch_restarts_{0}, errors_{0};
};

}  // namespace control::k8s
