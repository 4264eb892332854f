// The running process's answers to the API (see control.h). Control thread only.
#include "control/api/control.h"

#include <arpa/inet.h>
#include <rte_cycles.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/bgp/rib_out.h"
#include "control/match.h"
#include "control/status.h"
#include "nf/conn_table.h"
#include "nf/lb_tables.h"

namespace control::api {

using nlohmann::ordered_json;

namespace {

constexpr uint32_t kDefaultFlows = 100;
constexpr uint32_t kMaxFlows = 10000;

grpc::Status invalid(const std::string& m) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m);
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string addr_port(const config::IpAddress& a, uint16_t port) {
  return a.is_v6() ? "[" + a.str() + "]:" + std::to_string(port)
                   : a.str() + ":" + std::to_string(port);
}

// "ADDRESS", "ADDRESS:PORT" or "[ADDRESS]:PORT" (port 0 = any).
bool parse_endpoint(const std::string& text, config::IpAddress* a, uint16_t* port) {
  *port = 0;
  if (auto whole = config::IpAddress::parse(text)) {
    *a = *whole;
    return true;
  }
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  std::string host = text.substr(0, colon);
  const std::string p = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return false;  // IPv6 with a port must be bracketed
  }
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const unsigned long v = std::stoul(p);
  if (v == 0 || v > 65535) return false;
  auto ip = config::IpAddress::parse(host);
  if (!ip) return false;
  *a = *ip;
  *port = static_cast<uint16_t>(v);
  return true;
}

config::IpAddress address_of(const uint8_t* bytes, bool v6) {
  std::array<uint8_t, 16> b{};
  if (v6) {
    std::memcpy(b.data(), bytes, 16);
    return config::IpAddress::v6(b);
  }
  uint32_t be;
  std::memcpy(&be, bytes, 4);
  return config::IpAddress::v4(ntohl(be));
}

const char* state_text(nf::ConnState s) {
  switch (s) {
    case nf::ConnState::kTcpSyn:
      return "syn";
    case nf::ConnState::kTcpEstablished:
      return "established";
    case nf::ConnState::kTcpClosing:
      return "closing";
    case nf::ConnState::kUdp:
      return "udp";
    default:
      return "";
  }
}

}  // namespace

grpc::Status to_status(const Result& r) {
  switch (r.code) {
    case Code::kOk:
      return grpc::Status::OK;
    case Code::kInvalidArgument:
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, r.message);
    case Code::kNotFound:
      return grpc::Status(grpc::StatusCode::NOT_FOUND, r.message);
    case Code::kFailedPrecondition:
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, r.message);
    case Code::kInternal:
      break;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, r.message);
}

// ---- drains ----

bool DrainSet::drained(const config::IpAddress& a, uint16_t port) const {
  return backends.count({a, 0}) != 0 || (port != 0 && backends.count({a, port}) != 0);
}

std::vector<std::string> DrainSet::apply(ServicesResult* services) const {
  std::vector<std::string> affected;
  if (backends.empty()) return affected;
  for (auto& p : services->ports) {
    for (auto& e : p.endpoints) {
      if (!drained(e.address, e.port)) continue;
      e.terminating = true;
      affected.push_back("Service " + p.service + ": " + addr_port(e.address, e.port));
    }
  }
  return affected;
}

std::string DrainSet::Backend::str() const {
  return port == 0 ? address.str() : addr_port(address, port);
}

std::string drains_json(const DrainSet& d) {
  nlohmann::json j;
  j["node"] = d.node;
  j["backends"] = nlohmann::json::array();
  for (const auto& b : d.backends)
    j["backends"].push_back(b.str());
  return j.dump(2) + "\n";
}

bool parse_drains(const std::string& text, DrainSet* out, std::string* error) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "not a JSON object";
    return false;
  }
  DrainSet d;
  if (j.contains("node")) {
    if (!j["node"].is_boolean()) {
      *error = "node: not true or false";
      return false;
    }
    d.node = j["node"].get<bool>();
  }
  if (j.contains("backends")) {
    if (!j["backends"].is_array()) {
      *error = "backends: not a list";
      return false;
    }
    for (const auto& b : j["backends"]) {
      DrainSet::Backend one;
      if (!b.is_string() || !parse_endpoint(b.get<std::string>(), &one.address, &one.port)) {
        *error = "backends: " + b.dump() + " is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT";
        return false;
      }
      d.backends.insert(one);
    }
  }
  *out = std::move(d);
  return true;
}

std::string drains_path(const std::string& state_dir) { return state_dir + "/drains.json"; }

Result save_drains(const std::string& state_dir, const DrainSet& d) {
  if (state_dir.empty()) return {};
  const std::string path = drains_path(state_dir);
  if (!d.node && d.backends.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return {Code::kInternal, "cannot remove " + path + ": " + std::strerror(errno)};
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return {Code::kInternal, "cannot create " + state_dir + ": " + ec.message()};
  ::chmod(state_dir.c_str(), 0700);
  std::string error;
  if (!write_file_atomically(path, drains_json(d), &error)) return {Code::kInternal, error};
  return {};
}

DrainSet load_drains(const std::string& state_dir, std::vector<std::string>* warnings) {
  DrainSet d;
  if (state_dir.empty()) return d;
  const std::string path = drains_path(state_dir);
  std::ifstream in(path);
  if (!in) return d;  // nothing drained
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  if (!parse_drains(text.str(), &d, &error)) {
    warnings->push_back(path + ": " + error + "; no drain kept");
    return DrainSet{};
  }
  return d;
}

// ---- counters ----

std::vector<std::pair<std::string, uint64_t>> counter_values(const lcore::CounterTotals& t) {
  static constexpr const char* kReplyNames[] = {"arp",       "nd",      "echo",      "echo6",
                                                "tcp_reset", "syn_ack", "l7_segment"};
  static constexpr const char* kForwardNames[] = {
      "to_backend",      "to_backend_ipip", "to_backend_ip6ip6", "to_client",
      "icmp_to_backend", "icmp_to_client",  "reset_to_client",   "l7_to_backend"};
  static_assert(std::size(kReplyNames) == lcore::kReplyKinds);
  static_assert(std::size(kForwardNames) == lcore::kForwardKinds);
  static constexpr const char* kL7Names[] = {
#define PORTICO_L7_NAME(name, text) text,
      PORTICO_L7_COUNTERS(PORTICO_L7_NAME)
#undef PORTICO_L7_NAME
  };
  std::vector<std::pair<std::string, uint64_t>> v = {{"rx", t.rx},
                                                     {"tx", t.tx},
                                                     {"punted", t.punted},
                                                     {"from_kernel", t.from_kernel},
                                                     {"announced", t.announced},
                                                     {"dropped", t.dropped_total()}};
  for (int i = 0; i < lcore::kReplyKinds; ++i)
    v.emplace_back(std::string("reply.") + kReplyNames[i], t.replies[i]);
  for (int i = 0; i < lcore::kForwardKinds; ++i)
    v.emplace_back(std::string("fwd.") + kForwardNames[i], t.forwarded[i]);
  v.insert(v.end(), {{"flows.new", t.new_flows},
                     {"flows.stateless", t.stateless_flows},
                     {"flows.backend_gone", t.backend_gone},
                     {"flows.expired", t.expired},
                     {"conns", t.conns},
                     {"handoff.out", t.handoffs_out},
                     {"handoff.in", t.handoffs_in},
                     {"neighbor.held", t.held},
                     {"neighbor.released", t.released},
                     {"l7.consumed", t.consumed},
                     {"cycles.busy", t.busy_cycles},
                     {"cycles.idle", t.idle_cycles},
                     {"cycles.driver", t.driver_cycles}});
  for (int i = 0; i < lcore::kL7Counters; ++i)
    v.emplace_back(std::string("l7.") + kL7Names[i], t.l7[i]);
  for (int i = 0; i < nf::kDropReasonCount; ++i) {
    v.emplace_back(std::string("drop.") + nf::drop_reason_name(static_cast<nf::DropReason>(i)),
                   t.dropped[i]);
  }
  return v;
}

// ---- objects ----

ordered_json LiveControl::statuses() const {
  const ServicesResult l4 = compile_services(s_.store->objects(), *s_.plan);
  return ordered_json::parse(
      objects_status_json(s_.store->objects(), s_.node, *s_.plan, l4, rfc3339_now()));
}

void LiveControl::fill_object(const Entry& e, const ordered_json& statuses, pb::Object* out) const {
  out->mutable_ref()->set_api_version(e.api_version);
  out->mutable_ref()->set_kind(e.key.kind);
  out->mutable_ref()->set_namespace_(e.key.namespace_);
  out->mutable_ref()->set_name(e.key.name);
  out->set_source(e.source);
  ordered_json doc = document_json(e.yaml);
  for (const auto& st : statuses) {
    const auto& m = st["metadata"];
    const std::string ns = m.value("namespace", "");
    if (st.value("kind", "") != e.key.kind || m.value("name", "") != e.key.name ||
        ns != e.key.namespace_) {
      continue;
    }
    if (st.contains("status")) doc["status"] = st["status"];
    if (st.contains("events")) doc["events"] = st["events"];
    if (m.contains("annotations") && doc.contains("metadata") && doc["metadata"].is_object()) {
      for (const auto& [k, v] : m["annotations"].items()) doc["metadata"]["annotations"][k] = v;
    }
  }
  out->set_json(doc.dump());
}

// All or nothing: the state files and the store change, then the objects are published; if
// publishing fails (a table that cannot be allocated, say), the files and the store go back to
// what they were and the running Snapshot stays.
grpc::Status LiveControl::commit_and_publish(Change& change) {
  Store::Undo undo;
  if (const Result c = s_.store->commit(change, &undo); !c.ok()) return to_status(c);
  try {
    s_.adopt(s_.store->objects());
  } catch (const std::exception& e) {
    const Result r = s_.store->revert(undo);
    spdlog::error("event=api_publish_failed error=\"{}\" reverted={}", e.what(), r.ok());
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string("publishing failed, nothing changed: ") + e.what() +
                            (r.ok() ? "" : "; restoring the state directory failed: " + r.message));
  }
  return grpc::Status::OK;
}

grpc::Status LiveControl::apply(const pb::ApplyRequest& req, pb::ApplyResponse* resp) {
  Change change;
  const Result r = s_.store->prepare_apply(req.documents(), &change);
  if (!r.ok()) {
    s_.events->add("Warning", "ConfigRejected", "", first_line(r.message));
    spdlog::warn("event=api_apply_rejected error=\"{}\"", first_line(r.message));
    return to_status(r);
  }
  auto ref = [](const ObjectKey& k, pb::ObjectRef* out) {
    out->set_kind(k.kind);
    out->set_namespace_(k.namespace_);
    out->set_name(k.name);
  };
  for (const auto& k : change.created) ref(k, resp->add_created());
  for (const auto& k : change.configured) ref(k, resp->add_configured());
  for (const auto& k : change.unchanged) ref(k, resp->add_unchanged());
  for (const auto& w : change.warnings) resp->add_warnings(w);
  if (req.dry_run() || (change.created.empty() && change.configured.empty())) {
    resp->set_generation(*s_.generation);
    return grpc::Status::OK;
  }
  if (const grpc::Status st = commit_and_publish(change); !st.ok()) {
    s_.events->add("Warning", "ConfigRejected", "", first_line(st.error_message()));
    return st;
  }
  for (const auto& k : change.created) {
    s_.events->add("Normal", "ConfigApplied", k.str(), "created through the API");
    spdlog::info("event=api_applied object={} change=created generation={}", k.str(),
                 *s_.generation);
  }
  for (const auto& k : change.configured) {
    s_.events->add("Normal", "ConfigApplied", k.str(), "configured through the API");
    spdlog::info("event=api_applied object={} change=configured generation={}", k.str(),
                 *s_.generation);
  }
  resp->set_generation(*s_.generation);
  return grpc::Status::OK;
}

grpc::Status LiveControl::remove(const pb::DeleteRequest& req, pb::DeleteResponse* resp) {
  const auto& ref = req.ref();
  if (ref.kind().empty() || ref.name().empty()) return invalid("ref: kind and name are required");
  const ObjectKey key = normalized_key(ref.kind(), ref.namespace_(), ref.name());
  Change change;
  const Result r = s_.store->prepare_delete(key, &change);
  if (!r.ok()) {
    if (r.code != Code::kNotFound) {
      s_.events->add("Warning", "ConfigRejected", key.str(), first_line(r.message));
    }
    return to_status(r);
  }
  if (const grpc::Status st = commit_and_publish(change); !st.ok()) {
    s_.events->add("Warning", "ConfigRejected", key.str(), first_line(st.error_message()));
    return st;
  }
  s_.events->add("Normal", "ConfigApplied", key.str(), "deleted through the API");
  spdlog::info("event=api_deleted object={} generation={}", key.str(), *s_.generation);
  resp->set_generation(*s_.generation);
  return grpc::Status::OK;
}

grpc::Status LiveControl::get(const pb::GetRequest& req, pb::Object* resp) {
  const auto& ref = req.ref();
  if (ref.kind().empty() || ref.name().empty()) return invalid("ref: kind and name are required");
  const ObjectKey key = normalized_key(ref.kind(), ref.namespace_(), ref.name());
  const Entry* e = s_.store->find(key);
  if (e == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, key.str() + ": not found");
  fill_object(*e, statuses(), resp);
  return grpc::Status::OK;
}

grpc::Status LiveControl::list(const pb::ListRequest& req, pb::ListResponse* resp) {
  const ordered_json st = statuses();
  for (const Entry* e : s_.store->list(req.kind(), req.namespace_())) {
    fill_object(*e, st, resp->add_objects());
  }
  return grpc::Status::OK;
}

// ---- introspection ----

grpc::Status LiveControl::stats(const pb::StatsRequest&, pb::Stats* resp) {
  resp->set_generation(*s_.generation);
  resp->set_tsc_hz(s_.tsc_hz);
  lcore::CounterTotals total;
  for (size_t w = 0; w < s_.workers.size(); ++w) {
    lcore::CounterTotals one;
    one.add(s_.workers[w]->counters);
    total.add(s_.workers[w]->counters);
    auto* l = resp->add_lcores();
    l->set_lcore(w < s_.worker_lcores.size() ? s_.worker_lcores[w] : 0);
    for (const auto& [name, value] : counter_values(one)) {
      auto* c = l->add_counters();
      c->set_name(name);
      c->set_value(value);
    }
    l->set_busy_cycles(one.busy_cycles);
    l->set_idle_cycles(one.idle_cycles);
  }
  for (const auto& [name, value] : counter_values(total)) {
    auto* c = resp->add_totals();
    c->set_name(name);
    c->set_value(value);
  }
  if (s_.last_reload != nullptr) resp->set_last_reload(*s_.last_reload);
  if (s_.last_reload_unix != nullptr) resp->set_last_reload_unix(*s_.last_reload_unix);
  if (s_.traffic != nullptr) {
    // Packets and bytes both ways (client -> backend and back); connections are new flows.
    const auto fill = [](const nf::TrafficCounts& t, pb::TrafficCounters* out) {
      out->set_packets(t.packets_in + t.packets_out);
      out->set_bytes(t.bytes_in + t.bytes_out);
      out->set_connections(t.connections);
    };
    std::vector<const nf::TrafficTable*> tables;
    for (const auto* w : s_.workers) tables.push_back(w->traffic.get());
    const TrafficStats st = sum_traffic(*s_.traffic, tables);
    for (const auto& v : st.vips) {
      auto* out = resp->add_vips();
      out->set_address(v.address);
      fill(v.traffic, out->mutable_traffic());
    }
    for (const auto& sv : st.services) {
      auto* out = resp->add_services();
      out->set_service(sv.service);
      out->set_address(sv.address);
      out->set_protocol(sv.protocol);
      out->set_port(sv.port);
      fill(sv.traffic, out->mutable_traffic());
    }
    for (const auto& b : st.backends) {
      auto* out = resp->add_backends();
      out->set_service(b.service);
      out->set_address(b.address);
      out->set_port(b.port);
      out->set_backend(b.backend);
      out->set_draining(b.draining);
      fill(b.traffic, out->mutable_traffic());
    }
  }
  return grpc::Status::OK;
}

bool scan_flows(const nf::Conn* records, uint32_t n, uint32_t lcore, const FlowQuery& q,
                pb::FlowsResponse* resp, FlowScanCost* cost) {
  for (uint32_t i = 0; i < n; ++i) {
    if (cost != nullptr) ++cost->slots;
    // Most slots of a table are free: one byte tells, without copying the record's two lines.
    const auto state = __atomic_load_n(&records[i].state, __ATOMIC_RELAXED);
    if (state == nf::ConnState::kFree) continue;
    // The worker owns the record and may change it now: copy, then check the copy.
    nf::Conn c;
    std::memcpy(static_cast<void*>(&c), &records[i], sizeof c);
    if (cost != nullptr) ++cost->copied;
    if (c.state == nf::ConnState::kFree || c.state >= nf::ConnState::kCount) continue;
    if (c.v6 > 1 || (c.proto != 6 && c.proto != 17)) continue;
    if ((c.proto == 17) != (c.state == nf::ConnState::kUdp)) continue;
    const bool v6 = c.v6 != 0;
    const auto cl = address_of(c.src(nf::ConnDir::kOrig), v6);
    const auto vp = address_of(c.dst(nf::ConnDir::kOrig), v6);
    const auto be = address_of(c.src(nf::ConnDir::kReply), v6);
    const uint16_t cl_port = ntohs(c.sport(nf::ConnDir::kOrig));
    const uint16_t vp_port = ntohs(c.dport(nf::ConnDir::kOrig));
    const uint16_t be_port = ntohs(c.sport(nf::ConnDir::kReply));
    if (!q.client.matches(cl, cl_port) || !q.vip.matches(vp, vp_port) ||
        !q.backend.matches(be, be_port)) {
      continue;
    }
    if (static_cast<uint32_t>(resp->flows_size()) >= q.limit) {
      resp->set_truncated(true);
      return false;
    }
    auto* f = resp->add_flows();
    f->set_lcore(lcore);
    f->set_protocol(c.proto == 6 ? "TCP" : "UDP");
    f->set_client(addr_port(cl, cl_port));
    f->set_vip(addr_port(vp, vp_port));
    f->set_backend(addr_port(be, be_port));
    if (c.mode == static_cast<uint8_t>(nf::lb::Mode::kNat)) {
      f->set_snat(addr_port(address_of(c.dst(nf::ConnDir::kReply), v6),
                            ntohs(c.dport(nf::ConnDir::kReply))));
    }
    f->set_state(state_text(c.state));
    if (q.tsc_hz != 0 && q.now > c.last_seen)
      f->set_idle_ms((q.now - c.last_seen) * 1000 / q.tsc_hz);
  }
  return true;
}

grpc::Status LiveControl::flows(const pb::FlowsRequest& req, pb::FlowsResponse* resp) {
  FlowQuery q;
  for (auto [text, f, field] :
       {std::tuple{&req.vip(), &q.vip, "vip"}, std::tuple{&req.backend(), &q.backend, "backend"},
        std::tuple{&req.client(), &q.client, "client"}}) {
    if (text->empty()) continue;
    f->set = true;
    if (!parse_endpoint(*text, &f->address, &f->port)) {
      return invalid(std::string(field) + " \"" + *text +
                     "\": expected ADDRESS, ADDRESS:PORT or [IPv6]:PORT");
    }
  }
  q.limit = req.limit() == 0 ? kDefaultFlows : std::min(req.limit(), kMaxFlows);
  q.now = rte_rdtsc();
  q.tsc_hz = s_.tsc_hz;
  for (size_t w = 0; w < s_.conn_tables.size(); ++w) {
    nf::ConnTable* t = s_.conn_tables[w];
    if (t == nullptr || t->capacity() == 0) continue;
    const uint32_t lcore = w < s_.worker_lcores.size() ? s_.worker_lcores[w] : 0;
    if (!scan_flows(t->at(0), t->capacity(), lcore, q, resp)) break;
  }
  return grpc::Status::OK;
}

void add_routes(const std::vector<bgp::Route>& routes, bool ibgp, pb::BgpPeer* out) {
  for (const auto& r : routes) {
    auto* route = out->add_routes();
    route->set_prefix(r.prefix.str());
    for (uint32_t c : r.communities) route->add_communities(bgp::community_text(c));
    for (const auto& c : r.large_communities) route->add_communities(bgp::community_text(c));
    if (ibgp) {
      route->set_local_pref(r.local_pref.value_or(bgp::kDefaultLocalPref));
      route->set_has_local_pref(true);
    }
  }
}

grpc::Status LiveControl::bgp_peers(const pb::BgpPeersRequest&, pb::BgpPeersResponse* resp) {
  if (s_.speaker == nullptr) return grpc::Status::OK;
  std::map<std::string, const bgp::PeerConfig*> configs;
  for (const auto& p : s_.bgp_plan->peers) configs[p.name] = &p;
  for (const auto& st : s_.speaker->status()) {
    auto* p = resp->add_peers();
    p->set_name(st.name);
    p->set_address(st.peer_address.str());
    if (auto it = configs.find(st.name); it != configs.end()) {
      p->set_my_asn(it->second->my_asn);
      p->set_peer_asn(it->second->peer_asn);
    }
    p->set_state(bgp::state_name(st.state));
    p->set_hold_time(st.negotiated_hold_s);
    p->set_established_transitions(st.established_transitions);
    p->set_updates_sent(st.updates_sent);
    p->set_updates_received(st.updates_received);
    p->set_prefixes_received(st.prefixes_received);
    p->set_notifications_sent(st.notifications_sent);
    p->set_notifications_received(st.notifications_received);
    p->set_last_error(st.last_error);
    p->set_last_error_unix(st.last_error_unix);
    p->set_state_since_unix(st.state_since_unix);
    if (s_.drains->node) continue;  // drained: nothing is announced
    auto routes = s_.bgp_plan->routes.find(st.name);
    if (routes == s_.bgp_plan->routes.end()) continue;
    const auto cfg = configs.find(st.name);
    add_routes(routes->second, cfg != configs.end() && cfg->second->my_asn == cfg->second->peer_asn,
               p);
  }
  return grpc::Status::OK;
}

void LiveControl::poll_peer_states() {
  if (s_.speaker == nullptr) return;
  std::map<std::string, bgp::SessionState> now;
  for (const auto& st : s_.speaker->status()) {
    now[st.name] = st.state;
    auto it = peer_states_.find(st.name);
    const bool changed =
        it == peer_states_.end() ? st.state != bgp::SessionState::kIdle : it->second != st.state;
    if (!changed) continue;
    const bool down = it != peer_states_.end() && it->second == bgp::SessionState::kEstablished;
    s_.events->add(down ? "Warning" : "Normal", "BgpPeerState", "BGPPeer/" + st.name,
                   std::string(bgp::state_name(st.state)) +
                       (st.last_error.empty() ? "" : " (" + st.last_error + ")"));
  }
  peer_states_ = std::move(now);
}

grpc::Status LiveControl::drain(const pb::DrainRequest& req, pb::DrainResponse* resp) {
  if (req.target_case() == pb::DrainRequest::kNode) {
    if (!req.node()) return invalid("node: true drains the node; use undo to end a drain");
    const bool was = s_.drains->node;
    s_.drains->node = !req.undo();
    if (const Result r = save_drains(s_.store->state_dir(), *s_.drains); !r.ok()) {
      s_.drains->node = was;
      return to_status(r);
    }
    if (was != s_.drains->node) s_.refresh_bgp();
    for (const auto& p : s_.bgp_plan->peers) resp->add_affected("BGPPeer " + p.name);
    s_.events->add("Normal", "Drained", "",
                   req.undo() ? "node drain ended: BGP routes announced again"
                              : "node drained: BGP routes withdrawn, L2 answers kept");
    spdlog::info("event=api_drain target=node undo={}", req.undo());
    resp->set_generation(*s_.generation);
    return grpc::Status::OK;
  }
  if (req.target_case() != pb::DrainRequest::kBackend) return invalid("target: backend or node");
  DrainSet::Backend b;
  if (!parse_endpoint(req.backend(), &b.address, &b.port)) {
    return invalid("backend \"" + req.backend() +
                   "\": expected ADDRESS, ADDRESS:PORT or [IPv6]:PORT");
  }
  DrainSet before = *s_.drains;
  if (req.undo()) {
    if (s_.drains->backends.erase(b) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "backend " + req.backend() + ": not drained");
    }
  } else {
    s_.drains->backends.insert(b);
  }
  // What the drain touches, from the services as they are compiled now.
  ServicesResult services = compile_services(s_.store->objects(), *s_.plan);
  DrainSet just{{b}, false};
  for (const auto& a : just.apply(&services)) resp->add_affected(a);
  // Kept first, then published; either failing leaves the drains as they were.
  if (const Result r = save_drains(s_.store->state_dir(), *s_.drains); !r.ok()) {
    *s_.drains = before;
    return to_status(r);
  }
  try {
    s_.adopt(s_.store->objects());
  } catch (const std::exception& e) {
    *s_.drains = before;
    const Result r = save_drains(s_.store->state_dir(), before);
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string("publishing failed, nothing changed: ") + e.what() +
                            (r.ok() ? "" : "; restoring drains.json failed: " + r.message));
  }
  s_.events->add("Normal", "Drained", "",
                 "backend " + req.backend() +
                     (req.undo() ? " takes new flows again"
                                 : " drained: "
                                   "new flows avoid it, existing ones stay"));
  spdlog::info("event=api_drain backend={} undo={} endpoints={} generation={}", req.backend(),
               req.undo(), resp->affected_size(), *s_.generation);
  resp->set_generation(*s_.generation);
  return grpc::Status::OK;
}

grpc::Status LiveControl::match(const pb::MatchRequest& req, pb::MatchResponse* resp) {
  MatchQuery q;
  q.to = req.to();
  q.host = req.host();
  if (!req.path().empty()) q.path = req.path();
  if (!req.method().empty()) q.method = req.method();
  for (const auto& h : req.headers()) {
    const size_t colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      return invalid("headers: \"" + h + "\" is not \"Name: value\"");
    }
    const size_t v = h.find_first_not_of(' ', colon + 1);
    q.headers.emplace_back(h.substr(0, colon), v == std::string::npos ? "" : h.substr(v));
  }
  std::ostringstream out, err;
  const int rc = control::match(s_.store->objects(), *s_.plan, q, out, err);
  if (rc == 2) return invalid(first_line(err.str()));
  if (rc != 0) return grpc::Status(grpc::StatusCode::INTERNAL, first_line(err.str()));
  resp->set_json(out.str());
  return grpc::Status::OK;
}

}  // namespace control::api
