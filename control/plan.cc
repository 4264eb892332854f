// L2 announcement planning on top of IPAM (see plan.h).
#include "control/plan.h"

#include <algorithm>
#include <set>

namespace control {

namespace {

const config::IPAddressPool* find_pool(const config::ObjectSet& objects, const std::string& name) {
  for (const auto& p : objects.pools) {
    if (p.meta.name == name) return &p;
  }
  return nullptr;
}

bool selects_pool(const config::L2Advertisement& ad, const config::IPAddressPool& pool) {
  if (ad.ip_address_pools.empty() && ad.ip_address_pool_selectors.empty()) return true;
  if (std::find(ad.ip_address_pools.begin(), ad.ip_address_pools.end(), pool.meta.name) !=
      ad.ip_address_pools.end()) {
    return true;
  }
  return std::any_of(ad.ip_address_pool_selectors.begin(), ad.ip_address_pool_selectors.end(),
                     [&](const config::LabelSelector& s) { return s.matches(pool.meta.labels); });
}

// Whether a BGPAdvertisement covers this holder on this node: then an address without an
// L2Advertisement is announced by BGP (control/bgp/announce.h says to which peers), not lost.
bool bgp_selects(const config::ObjectSet& objects, const config::NodeConfig& node,
                 const config::IPAddressPool& pool, const config::Service& svc) {
  for (const auto& ad : objects.bgp_advertisements) {
    const bool pool_ok =
        (ad.ip_address_pools.empty() && ad.ip_address_pool_selectors.empty()) ||
        std::find(ad.ip_address_pools.begin(), ad.ip_address_pools.end(), pool.meta.name) !=
            ad.ip_address_pools.end() ||
        std::any_of(ad.ip_address_pool_selectors.begin(), ad.ip_address_pool_selectors.end(),
                    [&](const config::LabelSelector& s) { return s.matches(pool.meta.labels); });
    if (pool_ok && config::any_matches(ad.service_selectors, svc.meta.labels) &&
        config::any_matches(ad.node_selectors, node.meta.labels)) {
      return true;
    }
  }
  return false;
}

bool shares_ip(const config::Service& s) {
  for (const char* key : {"metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip"}) {
    auto it = s.meta.annotations.find(key);
    if (it != s.meta.annotations.end() && !it->second.empty()) return true;
  }
  return false;
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

namespace {

// One holder of pool addresses: a Service, or a Gateway standing as one (gateway_claims).
struct Holder {
  ipam::ServiceKey key;
  std::string name;  // "namespace/name"
  bool gateway = false;
  const config::Service* service = nullptr;  // labels and annotations the selectors read
};

void plan_holder(const config::ObjectSet& objects, const config::NodeConfig* node, const Holder& h,
                 Plan& plan, std::map<config::IpAddress, VipPlan>& vips) {
  const auto& key = h.key;
  const config::Service& svc = *h.service;
  auto it = plan.ipam.services.find(key);
  if (it == plan.ipam.services.end() || it->second.state != ipam::ServiceState::kAssigned) {
    return;
  }
  const auto& assignment = it->second.assignment;
  const config::IPAddressPool* pool = find_pool(objects, assignment.pool);
  const char* what = h.gateway ? "Gateway" : "Service";

  // Which advertisements apply to this holder on this node, and on which interfaces.
  std::vector<std::string> ads;
  std::set<std::string> iface_names;
  bool all_interfaces = false;
  std::vector<ipam::Event>& events = plan.l2_events[key];
  if (node != nullptr && pool != nullptr) {
    for (const auto& ad : objects.l2_advertisements) {
      if (!selects_pool(ad, *pool)) continue;
      if (!config::any_matches(ad.service_selectors, svc.meta.labels)) continue;
      if (!config::any_matches(ad.node_selectors, node->meta.labels)) continue;
      if (!ad.service_selectors.empty() && shares_ip(svc)) {
        // MetalLB refuses to announce a shared IP through an advertisement that selects
        // Services: the selectors could pick only some of the IP's Services.
        events.push_back({"Warning", "sharedIPWithServiceSelector",
                          "not announced through L2Advertisement " + ad.meta.name +
                              ": the IP is shared and the advertisement has serviceSelectors"});
        continue;
      }
      ads.push_back(ad.meta.name);
      if (ad.interfaces.empty()) all_interfaces = true;
      iface_names.insert(ad.interfaces.begin(), ad.interfaces.end());
    }
  }

  uint32_t ports = 0;
  std::vector<std::string> interfaces;
  if (node != nullptr && !ads.empty()) {
    for (size_t i = 0; i < node->interfaces.size() && i < 32; ++i) {
      const auto& name = node->interfaces[i].name;
      if (all_interfaces || iface_names.count(name) != 0) {
        ports |= 1u << i;
        interfaces.push_back(name);
      }
    }
    for (const auto& name : iface_names) {
      const bool known =
          std::any_of(node->interfaces.begin(), node->interfaces.end(),
                      [&](const config::NodeInterface& f) { return f.name == name; });
      if (!known) {
        events.push_back({"Warning", "announceFailed",
                          "interface \"" + name +
                              "\" named by an L2Advertisement is not an "
                              "interface of node " +
                              node->meta.name});
      }
    }
  }
  if (node != nullptr && ads.empty() && (pool == nullptr || !bgp_selects(objects, *node, *pool, svc))) {
    events.push_back({"Warning", "notAnnounced",
                      "no L2Advertisement selects pool \"" + assignment.pool + "\", this " + what +
                          " and node " + node->meta.name +
                          ": the address is allocated but not announced"});
  }
  if (events.empty()) plan.l2_events.erase(key);

  for (const auto& ip : assignment.ips) {
    VipPlan& v = vips[ip];
    v.ip = ip;
    v.pool = assignment.pool;
    add_unique(h.gateway ? v.gateways : v.services, h.name);
    for (const auto& a : ads) add_unique(v.advertisements, a);
    for (const auto& f : interfaces) add_unique(v.interfaces, f);
    v.announce_ports |= ports;
  }
}

}  // namespace

Plan make_plan(const config::ObjectSet& objects, const config::NodeConfig* node,
               const std::map<ipam::ServiceKey, ipam::Assignment>& previous) {
  Plan plan;
  const std::vector<ipam::ExtraClaim> gateways = gateway::gateway_claims(objects);
  plan.ipam = ipam::allocate(objects, previous, {}, gateways);

  std::map<config::IpAddress, VipPlan> vips;
  for (const auto& svc : objects.services) {
    const auto key = ipam::service_key(svc);
    plan_holder(objects, node, {key, key, false, &svc}, plan, vips);
  }
  for (const auto& g : gateways) {
    const std::string name = g.service.meta.namespace_ + "/" + g.service.meta.name;
    plan_holder(objects, node, {g.key, name, true, &g.service}, plan, vips);
  }
  for (auto& [ip, v] : vips) plan.vips.push_back(std::move(v));
  plan.gateway = gateway::compile(objects, plan.ipam);
  return plan;
}

}  // namespace control
