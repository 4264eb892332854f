// Status write-back into Kubernetes (see status_writer.h for what is written how, and why).
#include "control/k8s/status_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>

namespace control::k8s {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// client-go util/retry DefaultRetry: 5 attempts, 10 ms apart, factor 1, jitter 0.1.
constexpr int kConflictAttempts = 5;
constexpr milliseconds kConflictWait{10};
constexpr double kConflictJitter = 0.1;

// An Event repeated within this time raises the count of the one posted; the API server keeps
// Events for an hour by default, so an older one may be gone.
constexpr auto kEventDedupWindow = std::chrono::hours(1);
constexpr size_t kMaxEventRecords = 1024;
constexpr size_t kMaxEventMessage = 1024;

std::string percent_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

WriteResult error_result(std::string e) { return {WriteResult::Outcome::kError, std::move(e)}; }

WriteResult outcome(WriteResult::Outcome o) { return {o, ""}; }

bool is_route(const std::string& plural) {
  return plural.size() > 6 && plural.compare(plural.size() - 6, 6, "routes") == 0;
}

int64_t int_or(const json& o, const char* key, int64_t fallback) {
  if (!o.is_object()) return fallback;
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

const json* find_by(const json& list, const char* key, const json& value) {
  if (!list.is_array()) return nullptr;
  for (const json& e : list)
    if (e.is_object() && e.contains(key) && e[key] == value) return &e;
  return nullptr;
}

// metav1.Condition as the Gateway API CRDs validate it: a write breaking these gets a 422, so
// it is refused here, naming what is wrong.
void check_conditions(const json& conditions, const std::string& where) {
  if (conditions.is_null()) return;
  if (!conditions.is_array()) throw std::invalid_argument(where + ".conditions is not a list");
  for (const json& c : conditions) {
    if (!c.is_object() || !c.contains("type") || !c["type"].is_string() ||
        c["type"].get<std::string>().empty())
      throw std::invalid_argument(where + ".conditions has an entry without a type");
    const std::string type = c["type"].get<std::string>();
    const json status = c.value("status", json());
    if (status != "True" && status != "False" && status != "Unknown")
      throw std::invalid_argument(where + ".conditions[" + type +
                                  "].status must be True, False or Unknown");
    if (!c.contains("reason") || !c["reason"].is_string() || c["reason"].get<std::string>().empty())
      throw std::invalid_argument(where + ".conditions[" + type + "] has no reason");
    if (c.contains("message") && !c["message"].is_string())
      throw std::invalid_argument(where + ".conditions[" + type + "].message is not a string");
  }
}

// Conditions as metav1.Condition wants them (api-conventions; A6): lastTransitionTime changes
// only with status; observedGeneration is ours; a stored condition with a newer
// observedGeneration is left exactly as it is. keep_others: conditions of types not in
// `desired` stay (a list shared by type); else only `desired`'s types remain (a list that is
// all ours, such as a route parent entry of our controller).
json merge_conditions(const json& current, const json& desired, int64_t generation,
                      const std::string& now, bool keep_others) {
  json out = json::array();
  if (keep_others && current.is_array()) out = current;
  std::set<std::string> placed;
  for (const json& d : desired.is_array() ? desired : json::array()) {
    const std::string type = d["type"].get<std::string>();
    if (!placed.insert(type).second) continue;  // a duplicate type: the first one counts
    const json* stored = find_by(current, "type", d["type"]);
    json c = d;
    if (stored && int_or(*stored, "observedGeneration", 0) > generation) {
      c = *stored;
    } else {
      c["observedGeneration"] = generation;
      if (stored && (*stored)["status"] == d["status"] && stored->contains("lastTransitionTime"))
        c["lastTransitionTime"] = (*stored)["lastTransitionTime"];
      else
        c["lastTransitionTime"] = now;
      if (!c.contains("message")) c["message"] = "";
    }
    bool replaced = false;
    for (json& o : out) {
      if (o.is_object() && o.contains("type") && o["type"] == d["type"]) {
        o = c;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

// A parentRef as the key Gateway API defines it, with the CRD's defaults filled in, so that
// {"name":"gw"} and {"group":"gateway.networking.k8s.io","kind":"Gateway","name":"gw"} match.
std::string parent_key(const json& ref, const std::string& route_namespace) {
  json k = ref;
  if (!k.contains("group")) k["group"] = "gateway.networking.k8s.io";
  if (!k.contains("kind")) k["kind"] = "Gateway";
  if (!k.contains("namespace")) k["namespace"] = route_namespace;
  return k.dump();
}

}  // namespace

json merge_route_status(const json& current, const json& desired,
                        const std::string& route_namespace, int64_t generation,
                        const std::string& now) {
  if (!desired.is_object() || !desired.contains("parents") || !desired["parents"].is_array())
    throw std::invalid_argument("route status must be {\"parents\": [...]}");
  // Our entries, keyed by parentRef.
  std::vector<std::pair<std::string, json>> ours;
  for (const json& p : desired["parents"]) {
    if (!p.is_object() || !p.contains("parentRef") || !p["parentRef"].is_object() ||
        !p["parentRef"].contains("name"))
      throw std::invalid_argument("route status parents entry without parentRef.name");
    json entry = p;
    if (!entry.contains("controllerName")) entry["controllerName"] = kGatewayControllerName;
    if (entry["controllerName"] != kGatewayControllerName)
      throw std::invalid_argument("route status parents entry of another controller: " +
                                  entry["controllerName"].dump());
    check_conditions(entry.value("conditions", json()), "route status parents entry");
    std::string key = parent_key(p["parentRef"], route_namespace);
    for (const auto& o : ours)
      if (o.first == key)
        throw std::invalid_argument("route status names parentRef " + p["parentRef"].dump() +
                                    " twice");
    ours.emplace_back(std::move(key), std::move(entry));
  }
  std::vector<bool> used(ours.size(), false);
  auto merged = [&](size_t i, const json* stored) {
    used[i] = true;
    json e = ours[i].second;
    // The stored parentRef (with the defaults the server filled in) stays, so that an
    // unchanged status compares equal and is not written again.
    if (stored) e["parentRef"] = (*stored)["parentRef"];
    e["conditions"] = merge_conditions(stored ? stored->value("conditions", json()) : json(),
                                       e.value("conditions", json::array()), generation, now,
                                       /*keep_others=*/false);
    return e;
  };

  json out = current.is_object() ? current : json::object();
  json parents = json::array();
  const json stored = out.value("parents", json::array());
  for (const json& p : stored.is_array() ? stored : json::array()) {
    // Other controllers' entries stay as they are, where they are.
    if (!p.is_object() || p.value("controllerName", json()) != kGatewayControllerName) {
      parents.push_back(p);
      continue;
    }
    if (!p.contains("parentRef") || !p["parentRef"].is_object()) continue;  // ours, and broken
    const std::string key = parent_key(p["parentRef"], route_namespace);
    for (size_t i = 0; i < ours.size(); ++i) {
      if (!used[i] && ours[i].first == key) {
        parents.push_back(merged(i, &p));
        break;
      }
    }
    // An entry of ours that is no longer desired goes: we are not that parent any more.
  }
  for (size_t i = 0; i < ours.size(); ++i)
    if (!used[i]) parents.push_back(merged(i, nullptr));
  out["parents"] = std::move(parents);
  return out;
}

json merge_owned_status(const json& current, const json& desired, int64_t generation,
                        const std::string& now) {
  if (!desired.is_object()) throw std::invalid_argument("status must be an object");
  json out = current.is_object() ? current : json::object();
  for (auto it = desired.begin(); it != desired.end(); ++it) {
    if (it.key() == "conditions") {
      check_conditions(it.value(), "status");
      out["conditions"] = merge_conditions(out.value("conditions", json()), it.value(), generation,
                                           now, /*keep_others=*/true);
    } else if (it.key() == "listeners") {
      // A map keyed by name: listeners are the Gateway's, all reported by us; a listener no
      // longer desired is no longer in the spec.
      if (!it.value().is_array()) throw std::invalid_argument("status.listeners is not a list");
      const json stored = out.value("listeners", json::array());
      json listeners = json::array();
      for (const json& l : it.value()) {
        if (!l.is_object() || !l.contains("name") || !l["name"].is_string())
          throw std::invalid_argument("status.listeners has an entry without a name");
        check_conditions(l.value("conditions", json()),
                         "status.listeners[" + l["name"].get<std::string>() + "]");
        const json* old = find_by(stored, "name", l["name"]);
        json e = l;
        e["conditions"] = merge_conditions(old ? old->value("conditions", json()) : json(),
                                           l.value("conditions", json::array()), generation, now,
                                           /*keep_others=*/false);
        listeners.push_back(std::move(e));
      }
      out["listeners"] = std::move(listeners);
    } else {
      out[it.key()] = it.value();  // addresses (atomic), supportedFeatures...
    }
  }
  return out;
}

StatusWriter::StatusWriter(Transport* transport, std::function<bool()> may_write,
                           std::string field_manager, Clock* clock)
    : transport_(transport),
      may_write_(std::move(may_write)),
      field_manager_(std::move(field_manager)),
      clock_(clock ? clock : Clock::system()) {
  if (field_manager_.empty() || field_manager_.size() > 128)
    throw std::invalid_argument("field manager must be 1 to 128 characters");
  for (unsigned char c : field_manager_)
    if (c < 0x20 || c > 0x7e) throw std::invalid_argument("field manager must be printable ASCII");
}

void StatusWriter::forget() {
  ingress_written_.clear();
  pool_written_.clear();
  object_written_.clear();
  events_.clear();
}

Response StatusWriter::send(Request r) { return transport_->request(r); }

WriteResult StatusWriter::apply(const std::string& path, const json& body) {
  // Server-side apply: no read and no resourceVersion; force=true because these fields are ours
  // (A6: "strongly recommended for controllers to always force conflicts on objects that they
  // own and manage"). JSON is YAML, so the body is JSON under the apply content type.
  Request r;
  r.method = "PATCH";
  r.path = path + "?fieldManager=" + percent_encode(field_manager_) + "&force=true";
  r.content_type = "application/apply-patch+yaml";
  r.body = body.dump();
  const Response resp = send(r);
  if (!resp.ok()) return error_result(api_error(r.method, r.path, resp));
  return outcome(WriteResult::Outcome::kWritten);
}

bool StatusWriter::allowed() {
  if (may_write_()) return true;
  // Whoever leads in our place may write other values: what we wrote proves nothing any more.
  forget();
  return false;
}

void StatusWriter::forget_service(const std::string& ns, const std::string& name) {
  ingress_written_.erase(ns + "/" + name);
  pool_written_.erase(ns + "/" + name);
}

WriteResult StatusWriter::write_service(const ServiceStatus& s) {
  if (!allowed()) return outcome(WriteResult::Outcome::kNotLeader);
  if (!is_dns_name(s.ns, false) || !is_dns_name(s.name, false))
    return error_result("Service \"" + s.ns + "/" + s.name + "\": not a valid namespace/name");
  if (!s.ingress.is_array())
    return error_result("Service " + s.ns + "/" + s.name + ": ingress is not a list");
  for (const json& i : s.ingress)
    if (!i.is_object() || !((i.contains("ip") && i["ip"].is_string()) ||
                            (i.contains("hostname") && i["hostname"].is_string())))
      return error_result("Service " + s.ns + "/" + s.name +
                          ": ingress entry without ip or hostname");

  const std::string key = s.ns + "/" + s.name;
  const std::string base = "/api/v1/namespaces/" + s.ns + "/services/" + s.name;
  const json metadata = {{"name", s.name}, {"namespace", s.ns}};
  bool wrote = false;

  if (auto it = ingress_written_.find(key);
      it == ingress_written_.end() || it->second != s.ingress) {
    const json body = {{"apiVersion", "v1"},
                       {"kind", "Service"},
                       {"metadata", metadata},
                       {"status", {{"loadBalancer", {{"ingress", s.ingress}}}}}};
    WriteResult r = apply(base + "/status", body);
    if (!r.ok()) {
      ingress_written_.erase(key);  // unknown now: write it again next time
      return r;
    }
    ingress_written_[key] = s.ingress;
    wrote = true;
  }

  if (auto it = pool_written_.find(key); it == pool_written_.end() || it->second != s.pool) {
    if (!allowed()) return outcome(WriteResult::Outcome::kNotLeader);
    // Only the annotation: an apply that leaves it out releases it and the server deletes it.
    json meta = metadata;
    if (!s.pool.empty()) meta["annotations"] = {{kPoolAnnotation, s.pool}};
    const json body = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", meta}};
    WriteResult r = apply(base, body);
    if (!r.ok()) {
      pool_written_.erase(key);
      return r;
    }
    pool_written_[key] = s.pool;
    wrote = true;
  }
  return outcome(wrote ? WriteResult::Outcome::kWritten : WriteResult::Outcome::kUnchanged);
}

WriteResult StatusWriter::write_object(const ObjectStatus& s) {
  if (!allowed()) return outcome(WriteResult::Outcome::kNotLeader);
  const std::string what = s.plural + " " + (s.ns.empty() ? "" : s.ns + "/") + s.name;
  if ((!s.group.empty() && !is_dns_name(s.group, true)) || !is_dns_name(s.version, false) ||
      !is_dns_name(s.plural, false) || (!s.ns.empty() && !is_dns_name(s.ns, false)) ||
      !is_dns_name(s.name, true))
    return error_result(what + ": not a valid group/version/plural/namespace/name");
  const bool route = is_route(s.plural);
  if (!route && s.plural != "gateways" && s.plural != "gatewayclasses")
    return error_result(what + ": Portico writes the status of Gateway API objects only");

  std::string base = s.group.empty() ? "/api/" + s.version : "/apis/" + s.group + "/" + s.version;
  if (!s.ns.empty()) base += "/namespaces/" + s.ns;
  base += "/" + s.plural + "/" + s.name;

  const json fingerprint = {{"status", s.status}, {"generation", s.generation}};
  if (auto it = object_written_.find(base);
      it != object_written_.end() && it->second == fingerprint)
    return outcome(WriteResult::Outcome::kUnchanged);

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, kConflictJitter);
  std::string last;
  for (int attempt = 0; attempt < kConflictAttempts; ++attempt) {
    if (attempt > 0)
      clock_->sleep(milliseconds(static_cast<int64_t>(kConflictWait.count() * (1.0 + jitter(rng)))),
                    nullptr);
    // Read the latest object: status.parents is shared, we may only change our part of it.
    Request get;
    get.path = base;
    const Response got = send(get);
    if (!got.ok()) return error_result(api_error(get.method, get.path, got));
    json object = json::parse(got.body, nullptr, false);
    if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object() ||
        !object["metadata"].contains("resourceVersion"))
      return error_result("GET " + base + ": the answer is not an object with a resourceVersion");
    const int64_t generation =
        s.generation > 0 ? s.generation : int_or(object["metadata"], "generation", 0);
    const json current = object.value("status", json());
    json status;
    try {
      const std::string now = format_time(clock_->wall());
      status = route ? merge_route_status(current, s.status, s.ns, generation, now)
                     : merge_owned_status(current, s.status, generation, now);
    } catch (const std::exception& e) {
      return error_result(what + ": " + e.what());
    }
    if (status == current) {
      object_written_[base] = fingerprint;
      return outcome(WriteResult::Outcome::kUnchanged);
    }
    if (!allowed()) return outcome(WriteResult::Outcome::kNotLeader);
    object["status"] = std::move(status);
    Request put;
    put.method = "PUT";
    put.path = base + "/status";
    put.body = object.dump();  // carries metadata.resourceVersion: the precondition
    const Response r = send(put);
    if (r.ok()) {
      object_written_[base] = fingerprint;
      return outcome(WriteResult::Outcome::kWritten);
    }
    last = api_error(put.method, put.path, r);
    if (r.status != 409) return error_result(last);
  }
  object_written_.erase(base);
  return error_result(what + ": still conflicting after " + std::to_string(kConflictAttempts) +
                      " attempts: " + last);
}

WriteResult StatusWriter::post_event(const EventInfo& e) {
  if (!allowed()) return outcome(WriteResult::Outcome::kNotLeader);
  // Events of cluster-scoped objects live in "default", as client-go's recorder puts them.
  const std::string ns = e.ns.empty() ? "default" : e.ns;
  if (!is_dns_name(ns, false) || !is_dns_name(e.name, true))
    return error_result("Event for \"" + e.ns + "/" + e.name + "\": not a valid namespace/name");
  if (e.reason.empty() || e.kind.empty() || e.api_version.empty())
    return error_result("Event for " + ns + "/" + e.name + ": reason, kind and apiVersion needed");
  if (e.type != "Warning" && e.type != "Normal")
    return error_result("Event for " + ns + "/" + e.name + ": type must be Warning or Normal");
  std::string message = e.message;
  if (message.size() > kMaxEventMessage) message = message.substr(0, kMaxEventMessage - 3) + "...";

  const std::string key =
      json{e.api_version, e.kind, ns, e.name, e.uid, e.reason, e.type, message}.dump();
  const auto mono = clock_->now();
  const std::string stamp = format_time(clock_->wall());
  const std::string events = "/api/v1/namespaces/" + ns + "/events";

  if (auto it = events_.find(key);
      it != events_.end() && mono - it->second.last_sent < kEventDedupWindow) {
    // The same event again: count it on the one posted (client-go's correlator does the same).
    Request patch;
    patch.method = "PATCH";
    patch.path = events + "/" + it->second.name;
    patch.content_type = "application/merge-patch+json";
    patch.body = json{{"count", it->second.count + 1}, {"lastTimestamp", stamp}}.dump();
    const Response r = send(patch);
    if (r.ok()) {
      it->second.count += 1;
      it->second.last_sent = mono;
      return outcome(WriteResult::Outcome::kWritten);
    }
    if (r.status != 404) return error_result(api_error(patch.method, patch.path, r));
    events_.erase(it);  // expired on the server: post a new one
  }

  if (events_.size() >= kMaxEventRecords) {
    for (auto it = events_.begin(); it != events_.end();)
      it = mono - it->second.last_sent >= kEventDedupWindow ? events_.erase(it) : std::next(it);
    if (events_.size() >= kMaxEventRecords) events_.clear();
  }

  // NAME.<hex nanoseconds>, as client-go names events; made unique within this writer.
  const int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->wall().time_since_epoch())
          .count();
  static_assert(sizeof(long long) >= sizeof(int64_t));
  last_event_nanos_ = std::max(last_event_nanos_ + 1, nanos);
  char hex[24];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(last_event_nanos_));
  const std::string name = e.name + "." + hex;

  json involved = {
      {"apiVersion", e.api_version}, {"kind", e.kind}, {"namespace", e.ns}, {"name", e.name}};
  if (e.ns.empty()) involved.erase("namespace");
  if (!e.uid.empty()) involved["uid"] = e.uid;
  const json body = {{"apiVersion", "v1"},
                     {"kind", "Event"},
                     {"metadata", {{"name", name}, {"namespace", ns}}},
                     {"involvedObject", involved},
                     {"reason", e.reason},
                     {"message", message},
                     {"type", e.type},
                     {"count", 1},
                     {"firstTimestamp", stamp},
                     {"lastTimestamp", stamp},
                     {"source", {{"component", "portico"}}},
                     {"reportingComponent", kReportingController}};
  Request post;
  post.method = "POST";
  post.path = events;
  post.body = body.dump();
  const Response r = send(post);
  if (!r.ok()) return error_result(api_error(post.method, post.path, r));
  events_[key] = EventRecord{name, 1, stamp, mono};
  return outcome(WriteResult::Outcome::kWritten);
}

}  // namespace control::k8s
