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

}  // namespace

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
    if (loaded.ok()) {
      const Plan plan = make_plan(loaded.objects, node, {});
      const ServicesResult l4 = compile_services(loaded.objects, plan);
      for (const auto& pool : loaded.objects.pools) objects.push_back(pool_json(pool, plan));
      for (const auto& svc : loaded.objects.services)
        objects.push_back(service_json(svc, plan, l4, node));
      for (auto& o : ordered_json::parse(gateway_objects_json(plan, now))) {
        objects.push_back(std::move(o));
      }
    }
    doc["objects"] = objects;
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
  print_text(loaded.objects, plan, compile_services(loaded.objects, plan), node, out);
  return 0;
}

}  // namespace control
