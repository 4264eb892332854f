// Writes Portico's status into Kubernetes objects: the Kubernetes-side mechanics of issue 7,
// point 3 (what to write is decided elsewhere, from the Plan).
//
// How each kind is written follows shared/reference/k8s-and-bgp.md A6:
//  * Service: server-side apply (fieldManager, force=true) of status.loadBalancer.ingress on
//    .../services/NAME/status (an atomic list Portico alone writes for its loadBalancerClass: no
//    read, no resourceVersion, no conflict loop), and a second apply on the Service itself
//    holding only metadata.annotations["metallb.io/ip-allocated-from-pool"]. Leaving the
//    annotation out of that apply gives up ownership, and the server removes it. (An apply
//    creates a missing object: the status apply, which cannot, goes first, and a failed one
//    stops the annotation's; call forget_service() when a Service is deleted so that a late
//    write starts with the status again.)
//  * Gateway API objects: status.parents of routes is effectively atomic and shared by every
//    controller, so read-modify-write: GET, replace only our entries, PUT .../status with the
//    object's metadata.resourceVersion, and on 409 read again and retry (client-go DefaultRetry:
//    5 attempts, 10 ms apart, jitter 0.1). GatewayClass and Gateway status are Portico's, but
//    written the same way, merging conditions by type, listeners by name.
//  * Conditions keep lastTransitionTime while their status does not change; observedGeneration
//    is the generation the status was computed from; a stored condition whose observedGeneration
//    is newer than ours is left alone (a newer Portico, or this one after a restart, wrote it).
//  * Events (core/v1) for allocation failures; a repeat of the same event raises its count.
//
// Every write asks may_write() first (LeaderElector::leading_fenced) and sends nothing when it
// says no. Writes that would repeat what was last written successfully are skipped. Desired
// conditions must be valid metav1.Conditions (type, status True/False/Unknown, a reason):
// anything else is an error before any request.
//
// Thread: the control thread (or one status thread): a StatusWriter is not thread-safe. The
// requests block, with the Transport's timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "control/k8s/lease.h"
#include "control/k8s/transport.h"

namespace control::k8s {

inline constexpr char kPoolAnnotation[] = "metallb.io/ip-allocated-from-pool";
inline constexpr char kGatewayControllerName[] = "portico.io/gateway-controller";
inline constexpr char kReportingController[] = "portico.io/portico";

struct ServiceStatus {
  std::string ns, name;
  nlohmann::json ingress = nlohmann::json::array();  // [] or [{"ip":..,"ipMode":"VIP"}]
  std::string pool;  // annotation metallb.io/ip-allocated-from-pool; "" = remove it
};

struct ObjectStatus {
  std::string group, version, plural, ns, name;  // ns "" for cluster-scoped (GatewayClass)
  // Portico's own part. Gateway, GatewayClass: the whole status it owns ({"conditions": [...],
  // "listeners": [...], "addresses": [...]}). Routes (plural ending in "routes"):
  // {"parents": [...]}, only entries with controllerName portico.io/gateway-controller (an
  // entry without controllerName gets it).
  nlohmann::json status;
  // metadata.generation the status was computed from (observedGeneration of every condition).
  // 0: the generation of the object as read before the write. Passing it lets a spec change
  // that leaves the status the same still refresh observedGeneration.
  int64_t generation = 0;
};

struct EventInfo {
  // involvedObject
  std::string api_version = "v1", kind = "Service", ns, name, uid;
  std::string reason;   // "AllocationFailed"
  std::string message;  // "no available IPs in pool ..."
  std::string type = "Warning";
};

struct WriteResult {
  enum class Outcome {
    kWritten,    // the server accepted the write
    kUnchanged,  // same as the last successful write (or as what is stored): nothing sent
    kNotLeader,  // may_write() said no: nothing sent
    kError,      // see error
  };
  Outcome outcome = Outcome::kWritten;
  std::string error;
  bool ok() const { return outcome != Outcome::kError; }
};

class StatusWriter {
 public:
  using Result = WriteResult;

  // `transport` and `clock` (null = Clock::system()) must outlive the writer. field_manager:
  // 1 to 128 printable ASCII characters (the constructor throws std::invalid_argument if not).
  StatusWriter(Transport* transport, std::function<bool()> may_write,
               std::string field_manager = "portico", Clock* clock = nullptr);

  Result write_service(const ServiceStatus& s);
  Result write_object(const ObjectStatus& s);
  // A new event is POSTed; the same (object, reason, message, type) again within an hour is a
  // merge-patch of its count and lastTimestamp (a new POST if it expired in the meantime).
  Result post_event(const EventInfo& e);

  // Forgets what was written: the next calls write everything again. Done by itself whenever
  // may_write() says no (another node may write in between); call it also on a periodic resync,
  // so that a status someone else changed behind our back is put right (level-based).
  void forget();
  // Forgets one Service (deleted): its entries would otherwise stay.
  void forget_service(const std::string& ns, const std::string& name);

 private:
  struct EventRecord {
    std::string name;  // metadata.name of the Event posted
    int64_t count = 0;
    std::string first_timestamp;
    std::chrono::steady_clock::time_point last_sent;
  };

  bool allowed();  // may_write(), forgetting what was written when it says no
  Result apply(const std::string& path, const nlohmann::json& body);
  Response send(Request r);

  Transport* transport_;
  std::function<bool()> may_write_;
  std::string field_manager_;
  Clock* clock_;
  // Last successful writes, by "ns/name" (Services) and by object path (the rest).
  std::map<std::string, nlohmann::json> ingress_written_;
  std::map<std::string, std::string> pool_written_;
  std::map<std::string, nlohmann::json> object_written_;
  std::map<std::string, EventRecord> events_;
  int64_t last_event_nanos_ = 0;  // Event names stay unique even when the clock stands still
};

// The merges write_object does, exposed for tests and for `portico check` to show what would be
// written. `current` is the stored status (may be null), `desired` Portico's part, `generation`
// the observedGeneration to write, `now` the lastTransitionTime of changed conditions. Throws
// std::invalid_argument on a desired status of the wrong shape.
nlohmann::json merge_route_status(const nlohmann::json& current, const nlohmann::json& desired,
                                  const std::string& route_namespace, int64_t generation,
                                  const std::string& now);
nlohmann::json merge_owned_status(const nlohmann::json& current, const nlohmann::json& desired,
                                  int64_t generation, const std::string& now);

}  // namespace control::k8s
