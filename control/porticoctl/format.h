// porticoctl: everything porticoctl prints, as functions from API messages to text, so that golden
// tests compare exact output (tests/unit/ctl/golden/). Pure code: no I/O, no clock; a message
// with unexpected content (bad JSON, missing fields) is printed as far as it goes, never thrown.
#pragma once

#include <string>
#include <vector>

#include "control/porticoctl/kinds.h"
#include "portico.pb.h"

namespace porticoctl {

// Columns separated by three spaces and padded to the widest cell, as kubectl prints; no
// trailing blanks.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// An object's name and namespace: from its ref, else from the metadata of its JSON.
std::string object_name(const portico::v1::Object& o);
std::string object_namespace(const portico::v1::Object& o);

// "Service/demo/web", "GatewayClass/portico": how Portico's messages name objects.
std::string ref_text(const portico::v1::ObjectRef& ref);

// ---- objects (format_objects.cc) ----
// `apply`: one line per object ("Service/demo/web created"), " (dry run)" after each on a dry
// run. Warnings are returned apart: they go to stderr.
std::string format_apply(const portico::v1::ApplyResponse& r, bool dry_run);
std::string format_apply_warnings(const portico::v1::ApplyResponse& r);
// `get KIND`: the kind's table (see docs/operations.md), NAMESPACE first when the listing spans
// namespaces of a namespaced kind. "No resources found." when `objects` is empty.
std::string format_object_table(const KindInfo& kind, const std::vector<portico::v1::Object>& objects,
                                bool all_namespaces);
// `get -o json|yaml`: one object as itself; several (a listing) as a v1 List.
std::string format_objects_json(const std::vector<portico::v1::Object>& objects, bool single);
std::string format_objects_yaml(const std::vector<portico::v1::Object>& objects, bool single);
// `describe`: name, source, labels and annotations, spec and status as YAML, the conditions of
// the status (the object's own, each listener's, each parent's) and the object's events.
std::string format_describe(const portico::v1::Object& object);

// ---- data plane and speaker (format_stats.cc) ----
// `stats`: totals (drops apart, only the non-zero reasons), one row per lcore with its busy
// share, and the per-VIP, per-Service and per-backend tables when the server sent any.
std::string format_stats(const portico::v1::Stats& s);
// One `top` frame: rates between two GetStats. `wall_seconds` is the time between the two
// calls; the lcores' own cycle counts (busy + idle over tsc_hz) give the data plane's interval
// when they advanced, and are preferred since they are what the counters were counted over.
std::string format_top(const portico::v1::Stats& before, const portico::v1::Stats& after,
                       double wall_seconds);
std::string format_flows(const portico::v1::FlowsResponse& r);
// `bgp`: one row per peer, with how long it has been in its state and its last error with how
// long ago it happened (`now_unix`: the current time, Unix seconds). `bgp routes` / `-o wide`:
// each peer's Adj-RIB-Out.
std::string format_bgp_peers(const portico::v1::BgpPeersResponse& r, uint64_t now_unix);
// kubectl's age format: "45s", "12m", "3h20m", "5d" (0 or a future time: "0s").
std::string age_text(uint64_t since_unix, uint64_t now_unix);
std::string format_bgp_routes(const portico::v1::BgpPeersResponse& r);
// `events`: "2026-01-02T03:04:05.678Z  Normal   IPAllocated  Service/demo/web: message".
std::string format_event(const portico::v1::Event& e);
// `drain`: what the server says was affected.
std::string format_drain(const portico::v1::DrainRequest& req,
                         const portico::v1::DrainResponse& r);
// A message as JSON (protobuf's JSON mapping, field names in lowerCamelCase), for `-o json` of
// stats, flows and bgp.
std::string message_json(const google::protobuf::Message& m);

// Helpers shared with the commands.
std::string format_busy_percent(uint64_t busy, uint64_t idle);  // "37.5%", "-" without cycles
std::string rfc3339_ms(uint64_t unix_ms);                          // "2026-01-02T03:04:05.678Z"

}  // namespace porticoctl
