// `portico check`: statuses as a controller would write them (see status.h).
//
// JSON shape (DESIGN.md, a contract): {"errors": [{file, line, object, message}], "objects":
// [{apiVersion, kind, metadata: {namespace, name, ...}, status: {...}}]}; Portico adds
// "warnings" (same shape as errors) and, per object, "events" (what the controller would
// record as Kubernetes events: IPAllocated, AllocationFailed, nodeAssigned, and the L4 events of
// control/services.h such as NoEndpoints).
#include "control/status.h"

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
}

}  // namespace

int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err) {
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
