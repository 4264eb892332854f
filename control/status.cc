// `portico check`: statuses as a controller would write them (see status.h).
//
// JSON shape (DESIGN.md, a contract): {"errors": [{file, line, object, message}], "objects":
// [{apiVersion, kind, metadata: {namespace, name, ...}, status: {...}}]}; Portico adds
// "warnings" (same shape as errors) and, per object, "events" (what the controller would
// record as Kubernetes events: IPAllocated, AllocationFailed, nodeAssigned, and the L4 events of
// control/services.h such as NoEndpoints).
// Gateway API objects (GatewayClass, Gateway, HTTPRoute) get their status exactly in the
// Kubernetes shape (conditions with type, status, reason, message, observedGeneration,
// lastTransitionTime); one timestamp stands for the whole run as lastTransitionTime.
// BGP (control/bgp/announce.h) adds a "bgp" key, only when the objects hold a BGPPeer: this
// node's sessions, its announcements and why an address is not announced.
#include "control/status.h"

#include <chrono>
#include <ctime>
#include <ostream>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "control/plan.h"
#include "control/services.h"

namespace control {

namespace {

using nlohmann::ordered_json;

ordered_json diagnostics_json(const std::vector<config::Diagnostic>& ds) {
  ordered_json out = ordered_json::array();
  for (const auto& d : ds) {
    out.push_back(
        {{"file", d.file}, {"line", d.line}, {"object", d.object}, {"message", d.message}});
  }
  return out;
}

ordered_json metadata_json(const config::ObjectMeta& meta) {
  ordered_json m;
  m["namespace"] = meta.namespace_;
  m["name"] = meta.name;
  return m;
}

ordered_json events_json(const std::vector<ipam::Event>& events) {
  ordered_json out = ordered_json::array();
  for (const auto& e : events)
    out.push_back({{"type", e.type}, {"reason", e.reason}, {"message", e.message}});
  return out;
}

const VipPlan* find_vip(const Plan& plan, const config::IpAddress& ip) {
  for (const auto& v : plan.vips) {
    if (v.ip == ip) return &v;
  }
  return nullptr;
}

ordered_json service_json(const config::Service& svc, const Plan& plan, const ServicesResult& l4,
                          const config::NodeConfig* node) {
  const auto key = ipam::service_key(svc);
  ordered_json obj;
  obj["apiVersion"] = "v1";
  obj["kind"] = "Service";
  obj["metadata"] = metadata_json(svc.meta);
  ordered_json lb = ordered_json::object();
  std::vector<ipam::Event> events;
  auto it = plan.ipam.services.find(key);
  if (it != plan.ipam.services.end()) {
    const auto& r = it->second;
    events = r.events;
    if (r.state == ipam::ServiceState::kAssigned) {
      ordered_json ingress = ordered_json::array();
      for (const auto& ip : r.assignment.ips) ingress.push_back({{"ip", ip.str()}});
      lb["ingress"] = ingress;
      obj["metadata"]["annotations"] = {{"metallb.io/ip-allocated-from-pool", r.assignment.pool}};
      const VipPlan* vip = r.assignment.ips.empty() ? nullptr : find_vip(plan, r.assignment.ips[0]);
      if (node != nullptr && vip != nullptr && !vip->interfaces.empty()) {
        std::string ifaces;
        for (const auto& i : vip->interfaces) ifaces += (ifaces.empty() ? "" : ",") + i;
        events.push_back({"Normal", "nodeAssigned",
                          "announcing from node \"" + node->meta.name +
                              "\" with protocol \"layer2\" on interfaces " + ifaces});
      }
    }
  }
  if (auto l2 = plan.l2_events.find(key); l2 != plan.l2_events.end()) {
    events.insert(events.end(), l2->second.begin(), l2->second.end());
  }
  if (auto s = l4.events.find(key); s != l4.events.end()) {
    events.insert(events.end(), s->second.begin(), s->second.end());
  }
  obj["status"] = {{"loadBalancer", lb}};
  obj["events"] = events_json(events);
  return obj;
}

ordered_json pool_json(const config::IPAddressPool& pool, const Plan& plan) {
  ordered_json obj;
  obj["apiVersion"] = "metallb.io/v1beta1";
  obj["kind"] = "IPAddressPool";
  obj["metadata"] = metadata_json(pool.meta);
  for (const auto& s : plan.ipam.pools) {
    if (s.name != pool.meta.name) continue;
    obj["status"] = {{"assignedIPv4", s.assigned_ipv4},
                     {"assignedIPv6", s.assigned_ipv6},
                     {"availableIPv4", s.available_ipv4},
                     {"availableIPv6", s.available_ipv6}};
  }
  return obj;
}

// ---- Gateway API ----

ordered_json conditions_json(const std::vector<gateway::Condition>& cs, const std::string& now) {
  ordered_json out = ordered_json::array();
  for (const auto& c : cs) {
    out.push_back({{"type", c.type},
                   {"status", c.status ? "True" : "False"},
                   {"reason", c.reason},
                   {"message", c.message},
                   {"observedGeneration", c.observed_generation},
                   {"lastTransitionTime", now}});
  }
  return out;
}

ordered_json gateway_class_json(const gateway::GatewayClassStatus& s, const std::string& now) {
  ordered_json obj;
  obj["apiVersion"] = "gateway.networking.k8s.io/v1";
  obj["kind"] = "GatewayClass";
  obj["metadata"] = {{"namespace", ""}, {"name", s.name}};
  obj["status"] = {{"conditions", conditions_json(s.conditions, now)}};
  return obj;
}

// IPAM and L2 events of a Gateway (IPAllocated, AllocationFailed, notAnnounced...).
std::vector<ipam::Event> gateway_events(const Plan& plan, const gateway::GatewayStatus& s) {
  const std::string key = "Gateway/" + s.namespace_ + "/" + s.name;
  std::vector<ipam::Event> events;
  if (auto it = plan.ipam.services.find(key); it != plan.ipam.services.end()) {
    events = it->second.events;
  }
  if (auto l2 = plan.l2_events.find(key); l2 != plan.l2_events.end()) {
    events.insert(events.end(), l2->second.begin(), l2->second.end());
  }
  return events;
}

ordered_json gateway_json(const gateway::GatewayStatus& s, const Plan& plan,
                          const std::string& now) {
  ordered_json obj;
  obj["apiVersion"] = "gateway.networking.k8s.io/v1";
  obj["kind"] = "Gateway";
  obj["metadata"] = {{"namespace", s.namespace_}, {"name", s.name}};
  ordered_json addresses = ordered_json::array();
  for (const auto& a : s.addresses) addresses.push_back({{"type", a.type}, {"value", a.value}});
  ordered_json listeners = ordered_json::array();
  for (const auto& l : s.listeners) {
    ordered_json kinds = ordered_json::array();
    for (const auto& k : l.supported_kinds) kinds.push_back({{"group", k.group}, {"kind", k.kind}});
    listeners.push_back({{"name", l.name},
                         {"supportedKinds", kinds},
                         {"attachedRoutes", l.attached_routes},
                         {"conditions", conditions_json(l.conditions, now)}});
  }
  obj["status"] = {{"addresses", addresses},
                   {"conditions", conditions_json(s.conditions, now)},
                   {"listeners", listeners}};
  obj["events"] = events_json(gateway_events(plan, s));
  return obj;
}

ordered_json parent_ref_json(const config::ParentReference& r) {
  ordered_json out = {{"group", r.group}, {"kind", r.kind}};
  if (!r.namespace_.empty()) out["namespace"] = r.namespace_;
  out["name"] = r.name;
  if (!r.section_name.empty()) out["sectionName"] = r.section_name;
  if (r.port != 0) out["port"] = r.port;
  return out;
}

ordered_json http_route_json(const gateway::HttpRouteStatus& s, const std::string& now) {
  ordered_json obj;
  obj["apiVersion"] = "gateway.networking.k8s.io/v1";
  obj["kind"] = "HTTPRoute";
  obj["metadata"] = {{"namespace", s.namespace_}, {"name", s.name}};
  ordered_json parents = ordered_json::array();
  for (const auto& p : s.parents) {
    parents.push_back({{"parentRef", parent_ref_json(p.parent_ref)},
                       {"controllerName", p.controller_name},
                       {"conditions", conditions_json(p.conditions, now)}});
  }
  obj["status"] = {{"parents", parents}};
  return obj;
}

// "Accepted=True (Accepted), Programmed=False (AddressNotAssigned: no available IPs)"
std::string conditions_text(const std::vector<gateway::Condition>& cs) {
  std::string out;
  for (const auto& c : cs) {
    if (!out.empty()) out += ", ";
    out += c.type + "=" + (c.status ? "True" : "False") + " (" + c.reason;
    // Messages of the expected outcome say little; the others say what is wrong.
    const bool expected = c.type == "Conflicted" ? !c.status : c.status;
    if (!expected || c.type == "PartiallyInvalid") out += ": " + c.message;
    out += ")";
  }
  return out;
}

// ---- BGP ----

std::string peer_kind(const bgp::PeerConfig& p) { return p.my_asn == p.peer_asn ? "iBGP" : "eBGP"; }

std::string router_id_text(uint32_t id) { return config::IpAddress::v4(id).str(); }

// Standard communities first ("64512:100"), then large ones ("large:64512:1:2").
std::vector<std::string> communities_text(const bgp::Route& r) {
  std::vector<std::string> out;
  for (uint32_t c : r.communities) out.push_back(bgp::community_text(c));
  for (const auto& c : r.large_communities) out.push_back(bgp::community_text(c));
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string bgp_json(const config::NodeConfig* node, const bgp::AnnouncePlan& bgp) {
  ordered_json doc;
  doc["node"] = node != nullptr ? node->meta.name : "";
  ordered_json peers = ordered_json::array();
  for (const auto& p : bgp.peers) {
    ordered_json j;
    j["name"] = p.name;
    j["peerAddress"] = p.peer_address.str();
    j["peerPort"] = p.peer_port;
    j["myASN"] = p.my_asn;
    j["peerASN"] = p.peer_asn;
    j["type"] = peer_kind(p);
    j["routerID"] = router_id_text(p.router_id);
    if (p.source_address) j["sourceAddress"] = p.source_address->str();
    j["holdTime"] = std::to_string(p.hold_time_s) + "s";
    j["keepaliveTime"] = std::to_string(p.keepalive_time_s) + "s";
    j["connectTime"] = std::to_string(p.connect_retry_s) + "s";
    j["md5"] = !p.password.empty();  // whether a key is set; the key itself never leaves
    j["gracefulRestart"] = p.graceful_restart;
    j["ebgpMultiHop"] = p.ebgp_multihop;
    peers.push_back(std::move(j));
  }
  doc["peers"] = peers;
  ordered_json announcements = ordered_json::array();
  for (const auto& a : bgp.announcements) {
    ordered_json j;
    j["prefix"] = a.prefix.str();
    j["peers"] = a.peers;
    j["communities"] = communities_text(a.route);
    if (a.route.local_pref) j["localPref"] = *a.route.local_pref;
    j["holders"] = a.holders;
    j["advertisements"] = a.advertisements;
    announcements.push_back(std::move(j));
  }
  doc["announcements"] = announcements;
  ordered_json not_announced = ordered_json::array();
  for (const auto& [key, events] : bgp.events) {
    not_announced.push_back({{"holder", bgp::holder_name(key)}, {"events", events_json(events)}});
  }
  doc["notAnnounced"] = not_announced;
  doc["warnings"] = bgp.warnings;
  return doc.dump(2);
}

void print_bgp_text(const config::NodeConfig* node, const bgp::AnnouncePlan& bgp,
                    std::ostream& out) {
  out << "BGP";
  if (node != nullptr) out << " on node " << node->meta.name;
  out << ": " << bgp.peers.size() << " session(s)\n";
  if (node == nullptr) out << "  no NodeConfig: no session, nothing announced\n";
  for (const auto& w : bgp.warnings) out << "  warning: " << w << "\n";
  for (const auto& p : bgp.peers) {
    out << "  peer " << p.name << ": " << p.peer_address.str();
    if (p.peer_port != 179) out << " port " << p.peer_port;
    out << ", AS " << p.my_asn << " -> AS " << p.peer_asn << " (" << peer_kind(p) << ")"
        << ", router id " << router_id_text(p.router_id) << ", hold " << p.hold_time_s
        << "s keepalive " << p.keepalive_time_s << "s, MD5 " << (p.password.empty() ? "no" : "yes")
        << ", GR " << (p.graceful_restart ? "on" : "off");
    if (p.ebgp_multihop) out << ", multihop";
    if (p.source_address) out << ", source " << p.source_address->str();
    out << "\n";
  }
  for (const auto& a : bgp.announcements) {
    out << "  route " << a.prefix.str() << " -> " << join(a.peers);
    const auto communities = communities_text(a.route);
    if (!communities.empty()) out << "; communities " << join(communities);
    if (a.route.local_pref) out << "; localPref " << *a.route.local_pref;
    out << "; " << join(a.holders) << "\n";
  }
  for (const auto& [key, events] : bgp.events) {
    out << "  " << bgp::holder_name(key) << ":\n";
    for (const auto& e : events) {
      out << "    " << e.type << " " << e.reason << ": " << e.message << "\n";
    }
  }
}

void print_gateway_text(const Plan& plan, std::ostream& out) {
  const gateway::Result& g = plan.gateway;
  for (const auto& c : g.gateway_classes) {
    out << "GatewayClass/" << c.name << ": " << conditions_text(c.conditions) << "\n";
  }
  for (const auto& gw : g.gateways) {
    out << "Gateway/" << gw.namespace_ << "/" << gw.name << ": ";
    std::string addresses;
    for (const auto& a : gw.addresses) addresses += (addresses.empty() ? "" : ", ") + a.value;
    out << (addresses.empty() ? "no address" : addresses) << "; " << conditions_text(gw.conditions)
        << "\n";
    for (const auto& e : gateway_events(plan, gw)) {
      out << "  " << e.type << " " << e.reason << ": " << e.message << "\n";
    }
    for (const auto& l : gw.listeners) {
      out << "  listener " << l.name << ": " << l.attached_routes << " route(s); "
          << conditions_text(l.conditions) << "\n";
    }
  }
  for (const auto& r : g.http_routes) {
    out << "HTTPRoute/" << r.namespace_ << "/" << r.name << ":\n";
    for (const auto& p : r.parents) {
      out << "  parent Gateway/"
          << (p.parent_ref.namespace_.empty() ? r.namespace_ : p.parent_ref.namespace_) << "/"
          << p.parent_ref.name;
      if (!p.parent_ref.section_name.empty()) out << " sectionName " << p.parent_ref.section_name;
      if (p.parent_ref.port != 0) out << " port " << p.parent_ref.port;
      out << ": " << conditions_text(p.conditions) << "\n";
    }
  }
}

std::string gateway_objects_json(const Plan& plan, const std::string& now) {
  const gateway::Result& g = plan.gateway;
  ordered_json objects = ordered_json::array();
  for (const auto& c : g.gateway_classes) objects.push_back(gateway_class_json(c, now));
  for (const auto& gw : g.gateways) objects.push_back(gateway_json(gw, plan, now));
  for (const auto& r : g.http_routes) objects.push_back(http_route_json(r, now));
  return objects.dump(2);
}

namespace {

void print_text(const config::ObjectSet& objects, const Plan& plan, const ServicesResult& l4,
                const config::NodeConfig* node, std::ostream& out) {
  if (node != nullptr) {
    out << "NodeConfig/" << node->meta.name << ": " << node->interfaces.size()
        << " interface(s), lcores " << node->dpdk.lcores << "\n";
  }
  for (const auto& pool : objects.pools) {
    for (const auto& s : plan.ipam.pools) {
      if (s.name != pool.meta.name) continue;
      out << "IPAddressPool/" << pool.meta.namespace_ << "/" << pool.meta.name << ": IPv4 "
          << s.assigned_ipv4 << " assigned, " << s.available_ipv4 << " available; IPv6 "
          << s.assigned_ipv6 << " assigned, " << s.available_ipv6 << " available\n";
    }
  }
  for (const auto& svc : objects.services) {
    const ordered_json j = service_json(svc, plan, l4, node);
    out << "Service/" << svc.meta.namespace_ << "/" << svc.meta.name << ": ";
    auto it = plan.ipam.services.find(ipam::service_key(svc));
    const auto state =
        it == plan.ipam.services.end() ? ipam::ServiceState::kIgnored : it->second.state;
    if (state == ipam::ServiceState::kAssigned) {
      std::string ips;
      for (const auto& ip : it->second.assignment.ips) ips += (ips.empty() ? "" : ", ") + ip.str();
      out << ips << " (pool " << it->second.assignment.pool << ")";
    } else if (state == ipam::ServiceState::kPending) {
      out << "pending";
    } else {
      out << "not handled ("
          << (svc.type == "LoadBalancer" ? "another loadBalancerClass or headless"
                                         : "type " + svc.type)
          << ")";
    }
    out << "\n";
    for (const auto& e : j["events"]) {
      out << "  " << e["type"].get<std::string>() << " " << e["reason"].get<std::string>() << ": "
          << e["message"].get<std::string>() << "\n";
    }
  }
  print_gateway_text(plan, out);
}

}  // namespace

std::string rfc3339_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string objects_status_json(const config::ObjectSet& objects, const config::NodeConfig* node,
                                const Plan& plan, const ServicesResult& l4,
                                const std::string& now) {
  ordered_json out = ordered_json::array();
  for (const auto& pool : objects.pools) out.push_back(pool_json(pool, plan));
  for (const auto& svc : objects.services) out.push_back(service_json(svc, plan, l4, node));
  for (auto& o : ordered_json::parse(gateway_objects_json(plan, now))) out.push_back(std::move(o));
  return out.dump();
}

int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err) {
  return check(paths, format, out, err, rfc3339_now());
}

int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err, const std::string& now) {
  config::LoadResult loaded = config::load(paths);
  if (loaded.objects.node_configs.size() > 1) {
    const auto& second = loaded.objects.node_configs[1];
    loaded.errors.push_back({second.src.file, second.src.line,
                             config::object_ref("NodeConfig", second.meta),
                             "more than one NodeConfig: a configuration describes one node"});
  }
  const config::NodeConfig* node =
      loaded.objects.node_configs.size() == 1 ? &loaded.objects.node_configs.front() : nullptr;

  if (format == OutputFormat::kJson) {
    ordered_json doc;
    doc["errors"] = diagnostics_json(loaded.errors);
    doc["warnings"] = diagnostics_json(loaded.warnings);
    ordered_json objects = ordered_json::array();
    ordered_json bgp_doc;
    if (loaded.ok()) {
      const Plan plan = make_plan(loaded.objects, node, {});
      const ServicesResult l4 = compile_services(loaded.objects, plan);
      objects = ordered_json::parse(objects_status_json(loaded.objects, node, plan, l4, now));
      if (!loaded.objects.bgp_peers.empty()) {
        bgp_doc = ordered_json::parse(
            bgp_json(node, bgp::plan_announcements(loaded.objects, node, plan, l4)));
      }
    }
    doc["objects"] = objects;
    if (!bgp_doc.is_null()) doc["bgp"] = bgp_doc;
    out << doc.dump(2) << "\n";
    return loaded.ok() ? 0 : 1;
  }

  for (const auto& w : loaded.warnings) err << "warning: " << w.str() << "\n";
  for (const auto& e : loaded.errors) err << e.str() << "\n";
  if (!loaded.ok()) {
    err << loaded.errors.size() << " error(s): the configuration would be refused\n";
    return 1;
  }
  if (node == nullptr) err << "warning: no NodeConfig: nothing is announced\n";
  const Plan plan = make_plan(loaded.objects, node, {});
  const ServicesResult l4 = compile_services(loaded.objects, plan);
  print_text(loaded.objects, plan, l4, node, out);
  if (!loaded.objects.bgp_peers.empty()) {
    print_bgp_text(node, bgp::plan_announcements(loaded.objects, node, plan, l4), out);
  }
  return 0;
}

}  // namespace control
