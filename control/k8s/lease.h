// Leader election with a coordination.k8s.io/v1 Lease: several Portico nodes serve traffic, one
// of them writes status (issue 7, point 4).
//
// The algorithm is client-go's (tools/leaderelection, resourcelock/leaselock.go; research note
// shared/reference/k8s-and-bgp.md A8):
//  1. GET the Lease; on 404 POST one naming us as holder (409 = another node created it first).
//  2. If another node holds it and we saw its record change less than leaseDurationSeconds ago
//     (by OUR monotonic clock, at the moment we observed the change, never its renewTime: that
//     makes the election immune to clock skew between nodes), stay a follower.
//  3. Otherwise PUT it with its resourceVersion (409 = another node won): holderIdentity = us,
//     renewTime = now; acquireTime and leaseTransitions kept when we renew our own record, else
//     acquireTime = now and leaseTransitions + 1.
//  4. The leader renews every retry_period; when no renew succeeded within renew_deadline it
//     stops leading AT ONCE: leading() reads the clock, it does not wait for the loop.
//  5. On a clean stop, release: holderIdentity "" and leaseDurationSeconds 1, so that another
//     node takes over after one second instead of a whole lease duration.
//
// Threads: run() is the elector's own thread (it blocks in HTTP requests); leading(), holder(),
// transitions(), last_error() and leading_fenced() may be called from any thread (the control
// thread asks them before each status write).
//
// The status library shares a few small things declared here: the injectable Clock, time
// stamps, the wording of API errors (api_error) and name checks (is_dns_name).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "control/k8s/transport.h"

namespace control::k8s {

// Time as the status library sees it, so tests can drive expiry and deadlines.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time: when a lease record was observed, renew deadlines.
  virtual std::chrono::steady_clock::time_point now() = 0;
  // Wall time: the timestamps written into objects (renewTime, lastTransitionTime, Events).
  virtual std::chrono::system_clock::time_point wall() = 0;
  // Waits `d`, returning early once *stop becomes true (stop may be null).
  virtual void sleep(std::chrono::milliseconds d, const std::atomic<bool>* stop) = 0;

  // The real clocks; sleep checks *stop every 100 ms.
  static Clock* system();
};

// MicroTime as the API server writes it: "2026-12-05T10:00:00.000000Z" (UTC, 6 digits).
std::string format_micro_time(std::chrono::system_clock::time_point t);
// metav1.Time: "2026-12-05T10:00:00Z" (UTC, whole seconds).
std::string format_time(std::chrono::system_clock::time_point t);

// "PUT /apis/...: 409 Conflict: the object has been modified..." from a failed exchange: the
// HTTP code, the Status reason and message of the body when it is one (first 300 characters),
// else the transport error. Request bodies and headers never appear (no secret can leak).
std::string api_error(const std::string& method, const std::string& path, const Response& r);

// RFC 1123 label (namespaces, plurals: lower-case alphanumerics and '-', at most 63) or, with
// subdomain, DNS subdomain (object names, API groups: '.' too, at most 253), as the API server
// validates them. Checked before a name goes into a request path.
bool is_dns_name(const std::string& s, bool subdomain);

struct LeaseConfig {
  std::string namespace_ = "portico-system";
  std::string name = "portico-status-writer";
  std::string identity;  // unique per node: the node name, or hostname + a random suffix
  std::chrono::milliseconds duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

// "" when the configuration is usable, else what is wrong with it: namespace, name and identity
// set (names as Kubernetes allows them), duration at least 1 s, and
// duration > renew_deadline > 1.2 * retry_period > 0 (1.2 is the jitter of the acquire loop:
// a follower must get a try in before a leader's deadline passes).
std::string validate(const LeaseConfig& c);

class LeaderElector {
 public:
  // `transport` and `clock` (null = Clock::system()) must outlive the elector. The config must
  // pass validate(): the constructor throws std::invalid_argument otherwise.
  LeaderElector(Transport* transport, LeaseConfig config, Clock* clock = nullptr);

  // Elects until *stop becomes true, then releases the lease if we hold it.
  void run(const std::atomic<bool>* stop);

  // One round of the algorithm above (what run() repeats). True when we hold the lease after it.
  bool try_acquire_or_renew();

  // True while we hold the lease and the last successful acquire or renew STARTED less than
  // renew_deadline ago. False at once when that deadline passes, whatever run() is doing.
  bool leading() const;

  // The contract the status writer relies on before each write. True only when leading() and,
  // therefore, the lease we last wrote stays ours for at least duration - renew_deadline more
  // (5 s by default): other nodes wait a whole leaseDurationSeconds after they observe our last
  // renew, and that renew started before they could observe it. A write begun while this is true
  // and finished within that margin cannot overlap another leader's. Writes protected by a
  // resourceVersion or server-side apply make a late one harmless anyway (A8 "Fencing").
  bool leading_fenced() const;

  // holderIdentity of the record last observed ("" when none or released).
  std::string holder() const;
  // leaseTransitions of the record last observed.
  uint64_t transitions() const;
  // The last failure in words ("" after a success); never a secret.
  std::string last_error() const;

  // Gives the lease up if we hold it: leading() turns false first, then holderIdentity "" and
  // leaseDurationSeconds 1 are written, re-reading and retrying on conflict (5 attempts). Safe
  // to call when not leading (nothing is written). Not concurrently with run().
  void release();

  const LeaseConfig& config() const { return config_; }

 private:
  struct Record {
    std::string holder;
    int64_t duration_seconds = 0;
    std::string acquire_time;
    std::string renew_time;
    uint64_t transitions = 0;
  };

  std::string lease_path() const;
  nlohmann::json record_spec(const Record& r) const;
  // Parses a Lease body; false (and *error) when it is not one.
  static bool parse_lease(const std::string& body, nlohmann::json* object, Record* record,
                          std::string* error);
  void fail(const std::string& error);
  // Records `object` (a Lease as the server returned it) as observed at `at`.
  void observe(const nlohmann::json& object, const Record& record,
               std::chrono::steady_clock::time_point at);
  bool leading_at(std::chrono::steady_clock::time_point now) const;

  Transport* transport_;
  LeaseConfig config_;
  Clock* clock_;
  std::mt19937_64 jitter_rng_;

  std::mutex io_;  // one exchange with the server at a time (run() and release())

  mutable std::mutex mu_;  // everything below
  nlohmann::json lease_;   // the Lease last read or written (its metadata carries the RV)
  Record observed_;
  std::string observed_raw_;  // spec of the record last observed, to notice changes
  std::chrono::steady_clock::time_point observed_at_{};
  bool have_renew_ = false;
  bool released_ = false;
  std::chrono::steady_clock::time_point renew_started_{};  // start of the last success
  std::string last_error_;
};

}  // namespace control::k8s
