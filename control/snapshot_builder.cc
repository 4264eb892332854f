// Compiles a Plan and the service ports into a Snapshot (see snapshot_builder.h).
#include "control/snapshot_builder.h"

#include <cstring>
#include <map>
#include <set>

#include "control/gateway.h"
#include "nf/l7.h"
#include "nf/maglev.h"

namespace control {

namespace {

void add(nf::AddressTable& t, const config::IpAddress& ip, nf::AddressInfo info) {
  if (ip.is_v4()) {
    uint32_t be;
    std::memcpy(&be, ip.bytes().data(), 4);
    t.add_v4(be, info);
  } else {
    t.add_v6(ip.bytes().data(), info);
  }
}

nf::lb::Addr addr_of(const config::IpAddress& ip) {
  nf::lb::Addr a{};
  std::memcpy(a.data(), ip.bytes().data(), ip.is_v4() ? 4 : 16);
  return a;
}

uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

const char* proto_name(uint8_t p) { return p == 6 ? "TCP" : "UDP"; }

// What the L4 and L7 parts of one build share: next hops in use, backend ids in use, Maglev
// tables built.
struct BuildState {
  std::set<std::string> maglev_keys;
  std::map<std::pair<config::IpAddress, int>, bool> hops_used;
  std::set<std::string> used_ids;
  std::set<std::string> used_service_ids;
};

// Names of a service port (or an L7 backend pool) for the traffic directory.
struct TrafficLabels {
  std::string service;  // "namespace/name"
  std::string address;  // the VIP, "" for an L7 pool
  uint16_t port = 0;
};

std::string host_port(const config::IpAddress& a, uint16_t port) {
  return (a.is_v6() ? "[" + a.str() + "]" : a.str()) + ":" + std::to_string(port);
}

// Gives a service port (or listener) its id and counter slot, and lists it in the directory.
void assign_service_slot(nf::lb::Service& svc, const std::string& key, const TrafficLabels& l,
                         L4Ids& ids, BuildState& st, L4BuildResult& out) {
  auto [it, inserted] = ids.service_ids.try_emplace(key, ids.next_service_id);
  if (inserted) ++ids.next_service_id;
  st.used_service_ids.insert(key);
  svc.stats_id = it->second;
  svc.stats_slot = static_cast<uint16_t>(ids.service_slots.slot_for(key));
  out.traffic.services.push_back({l.service, l.address, svc.proto == 17 ? "UDP" : "TCP", l.port,
                                  svc.stats_slot, svc.stats_id});
}

// Adds `svc` with the endpoints as its backends (Maglev over those that take new flows).
// svc_key prefixes the backends' id keys. Returns the service index.
uint32_t add_with_endpoints(nf::lb::Tables& tables, const config::NodeConfig& node,
                            nf::lb::Service svc, const std::string& svc_key,
                            const std::string& who_for_warnings,
                            const std::vector<L4Endpoint>& endpoints, L4Ids& ids,
                            NeighborManager* neighbors, BuildState& st, L4BuildResult& out,
                            const TrafficLabels& labels) {
  const uint32_t m = node.load_balancer.maglev_table_size;
  {
    std::vector<nf::lb::Backend> backends;
    std::vector<nf::MaglevBackend> weights;
    std::string maglev_key;
    std::set<config::IpAddress> seen;
    for (const L4Endpoint& ep : endpoints) {
      if (backends.size() >= nf::kMaglevMaxBackends) break;
      const auto hop = route_to(node, ep.address);
      if (!hop) {
        out.warnings.push_back(who_for_warnings + " endpoint " + ep.address.str() +
                               ": no connected subnet or route reaches it; not used");
        continue;
      }
      int nh = 0;
      if (neighbors != nullptr) {
        nh = neighbors->index_for(*hop);
        if (nh < 0) {
          out.warnings.push_back("next hop table full (spec.neighbors.capacity); endpoint " +
                                 ep.address.str() + " not used");
          continue;
        }
        st.hops_used[{hop->address, nh}] = true;
      }
      nf::lb::Backend b;
      b.addr = addr_of(ep.address);
      b.v6 = ep.address.is_v6();
      b.port = be16(ep.port);
      b.terminating = ep.terminating;
      b.nexthop = static_cast<uint16_t>(nh);
      b.port_index = hop->interface;
      const std::string id_key = svc_key + ep.address.str() + "|" + std::to_string(ep.port);
      auto [it, inserted] = ids.backend_ids.try_emplace(id_key, ids.next_backend_id);
      if (inserted) ++ids.next_backend_id;
      b.id = it->second;
      st.used_ids.insert(id_key);
      b.stats_slot = static_cast<uint16_t>(ids.backend_slots.slot_for(id_key));
      out.traffic.backends.push_back({labels.service, labels.address, labels.port,
                                      host_port(ep.address, ep.port), ep.terminating, b.stats_slot,
                                      b.id});
      backends.push_back(b);
      // Keyed by address, so a Service's ports (same endpoints, other target ports) send a
      // client to the same endpoint; the port joins the key only if the address repeats.
      const std::string who = seen.insert(ep.address).second
                                  ? ep.address.str()
                                  : ep.address.str() + ":" + std::to_string(ep.port);
      weights.push_back({who, ep.terminating ? 0u : 1u});
      maglev_key += who + (ep.terminating ? "/0," : "/1,");
    }
    std::vector<uint16_t> table;
    nf::build_maglev(weights, m, table);
    if (!table.empty()) st.maglev_keys.insert(maglev_key);
    out.backends += backends.size();
    return tables.add_service(svc, backends, table, maglev_key);
  }
}

void build_l4(nf::lb::Tables& tables, const config::NodeConfig& node,
              const ServicesResult& services, L4Ids& ids, NeighborManager* neighbors,
              BuildState& st, L4BuildResult& out) {
  for (const L4ServicePort& sp : services.ports) {
    nf::lb::Service svc;
    svc.vip = addr_of(sp.vip);
    svc.v6 = sp.vip.is_v6();
    svc.port = be16(sp.port);
    svc.proto = sp.protocol;
    svc.mode = static_cast<nf::lb::Mode>(sp.mode);
    const std::string svc_key =
        sp.vip.str() + "|" + proto_name(sp.protocol) + "|" + std::to_string(sp.port) + "|";
    const TrafficLabels labels{sp.service, sp.vip.str(), sp.port};
    assign_service_slot(svc, svc_key, labels, ids, st, out);
    add_with_endpoints(tables, node, svc, svc_key, "service " + sp.service, sp.endpoints, ids,
                       neighbors, st, out, labels);
  }
  out.service_ports = services.ports.size();
}

// ---- L7: Gateway listeners, their rules' backend pools and actions ----

bool same_forward(const gateway::Action& a, const gateway::Action& b) {
  if (a.kind != gateway::ActionKind::kForward || b.kind != gateway::ActionKind::kForward) {
    return false;
  }
  if (a.request_header_modifier || a.url_rewrite || b.request_header_modifier || b.url_rewrite) {
    return false;
  }
  if (a.backends.size() != b.backends.size()) return false;
  for (size_t i = 0; i < a.backends.size(); ++i) {
    const gateway::Backend& x = a.backends[i];
    const gateway::Backend& y = b.backends[i];
    if (x.namespace_ != y.namespace_ || x.name != y.name || x.port != y.port ||
        x.weight != y.weight || x.resolved != y.resolved || x.request_header_modifier ||
        y.request_header_modifier) {
      return false;
    }
  }
  return true;
}

// Whether two rules' effective hostnames can both match one Host ("" or no names: any host).
bool hosts_overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return true;
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (gateway::intersect_hostname(x, y)) return true;
    }
  }
  return false;
}

// keepalive_ok per action: every rule of the listener that can take a request for a host this
// rule serves leads to the same backends, with the same weights, and nobody edits requests.
std::vector<bool> keepalive_ok(const gateway::Result& g) {
  std::vector<bool> ok(g.actions.size(), true);
  for (const auto& port : g.model.ports) {
    for (const auto& l : port.listeners) {
      for (const auto& r : l.rules) {
        if (r.action >= g.actions.size()) continue;
        bool safe = g.actions[r.action].kind == gateway::ActionKind::kForward;
        for (const auto& o : l.rules) {
          if (!safe) break;
          if (o.action >= g.actions.size()) continue;
          if (!hosts_overlap(r.hostnames, o.hostnames)) continue;
          safe = same_forward(g.actions[r.action], g.actions[o.action]);
        }
        if (!safe) ok[r.action] = false;
      }
    }
  }
  return ok;
}

void add_filter_edits(const config::HttpHeaderFilter& f, std::vector<nf::l7::HeaderPair>* set,
                      std::vector<nf::l7::HeaderPair>* add, std::vector<std::string>* remove) {
  for (const auto& h : f.set) set->push_back({h.name, h.value});
  for (const auto& h : f.add) add->push_back({h.name, h.value});
  for (const auto& n : f.remove) remove->push_back(n);
}

// "Gateway/namespace/name" of the Gateways whose listeners share an address:port (usually one).
std::string listener_owners(const nf::route::PortSpec& ps) {
  std::set<std::string> owners;
  for (const auto& l : ps.listeners) {
    // Listener names are "namespace/gateway/listener".
    const size_t last = l.name.rfind('/');
    owners.insert("Gateway/" + (last == std::string::npos ? l.name : l.name.substr(0, last)));
  }
  std::string out;
  for (const auto& o : owners) out += (out.empty() ? "" : ",") + o;
  return out;
}

void build_l7(lcore::Snapshot& snap, const Plan& plan, const config::NodeConfig& node,
              const config::ObjectSet& objects, unsigned workers,
              const std::function<bool(const config::IpAddress&, uint16_t)>& drained, L4Ids& ids,
              NeighborManager* neighbors, BuildState& st, L4BuildResult& out) {
  const gateway::Result& g = plan.gateway;
  if (g.model.ports.empty()) return;
  nf::lb::Tables& tables = snap.lb;
  for (size_t i = 0; i < g.model.ports.size(); ++i) {
    const nf::route::PortSpec& ps = g.model.ports[i];
    nf::lb::Service svc;
    std::memcpy(svc.vip.data(), ps.address, ps.v6 ? 16 : 4);
    svc.v6 = ps.v6;
    svc.port = be16(ps.port);
    svc.proto = 6;
    svc.mode = nf::lb::Mode::kL7;
    svc.l7_port = static_cast<uint16_t>(i);
    const config::IpAddress addr =
        ps.v6 ? config::IpAddress::v6(std::to_array(ps.address))
              : config::IpAddress::v4(static_cast<uint32_t>(ps.address[0]) << 24 |
                                      static_cast<uint32_t>(ps.address[1]) << 16 |
                                      static_cast<uint32_t>(ps.address[2]) << 8 | ps.address[3]);
    assign_service_slot(svc, "http|" + addr.str() + "|" + std::to_string(ps.port) + "|",
                        {listener_owners(ps), addr.str(), ps.port}, ids, st, out);
    tables.add_service(svc, {}, {}, "");
  }
  // One backend pool per (Service, port, family), shared by every rule that names it.
  std::map<std::string, uint32_t> pools;
  auto pool_for = [&](const gateway::Backend& b, config::IpFamily fam) -> uint32_t {
    const std::string key = b.namespace_ + "/" + b.name + "|" + std::to_string(b.port) + "|" +
                            config::family_name(fam);
    if (auto it = pools.find(key); it != pools.end()) return it->second;
    std::vector<L4Endpoint> eps;
    for (const auto& s : objects.services) {
      if (s.meta.namespace_ != b.namespace_ || s.meta.name != b.name) continue;
      for (const auto& p : s.ports) {
        if (p.port == b.port && p.protocol == "TCP") eps = service_endpoints(objects, s, p, fam);
      }
    }
    if (drained) {
      for (auto& e : eps) {
        if (drained(e.address, e.port)) e.terminating = true;  // keeps its flows, no new ones
      }
    }
    nf::lb::Service pool;  // proto 0: reached through its rules only
    pool.v6 = fam == config::IpFamily::kIPv6;
    const uint32_t idx = add_with_endpoints(
        tables, node, pool, "l7|" + key + "|", "Service " + b.namespace_ + "/" + b.name, eps, ids,
        neighbors, st, out, {b.namespace_ + "/" + b.name, "", b.port});
    pools.emplace(key, idx);
    return idx;
  };
  const std::vector<bool> ka = keepalive_ok(g);
  std::vector<nf::l7::ActionSpec> specs;
  for (size_t j = 0; j < g.actions.size(); ++j) {
    const gateway::Action& a = g.actions[j];
    nf::l7::ActionSpec s;
    s.listener_port = a.listener_port;
    s.matched_prefix = a.matched_prefix;
    s.keepalive_ok = ka[j];
    auto set_path = [&s](const config::HttpPathModifier& m) {
      s.path_mode = m.type == config::PathModifierType::kReplaceFullPath ? 1 : 2;
      s.path_value = m.value;
    };
    switch (a.kind) {
      case gateway::ActionKind::kForward:
        s.kind = nf::l7::ActionKind::kForward;
        for (const auto& b : a.backends) {
          nf::l7::PoolSpec p;
          p.weight = b.weight;
          p.resolved = b.resolved;
          if (b.resolved) {
            p.service = pool_for(b, config::IpFamily::kIPv4);
            p.service6 = pool_for(b, config::IpFamily::kIPv6);
          }
          if (b.request_header_modifier) {
            add_filter_edits(*b.request_header_modifier, &p.set_headers, &p.add_headers,
                             &p.remove_headers);
          }
          s.pools.push_back(std::move(p));
        }
        if (a.request_header_modifier) {
          add_filter_edits(*a.request_header_modifier, &s.set_headers, &s.add_headers,
                           &s.remove_headers);
        }
        if (a.url_rewrite) {
          s.rewrite_host = a.url_rewrite->hostname;
          if (a.url_rewrite->path) set_path(*a.url_rewrite->path);
        }
        break;
      case gateway::ActionKind::kRedirect:
        s.kind = nf::l7::ActionKind::kRedirect;
        if (a.redirect) {
          s.status = a.redirect->status_code;
          s.redirect_scheme = a.redirect->scheme;
          s.redirect_host = a.redirect->hostname;
          s.redirect_port = a.redirect->port;
          if (a.redirect->path) set_path(*a.redirect->path);
        } else {
          s.status = 302;
        }
        break;
      case gateway::ActionKind::kFixedResponse:
        s.kind = nf::l7::ActionKind::kRespond;
        s.status = a.status_code;
        break;
    }
    specs.push_back(std::move(s));
  }
  const std::string err = snap.l7.set_model(g.model);
  if (!err.empty()) {
    out.warnings.push_back("HTTP routes not served: " + err);
    snap.l7 = nf::l7::Tables();
    return;
  }
  for (auto& s : specs) snap.l7.add_action(std::move(s));
  snap.l7.finalize(workers == 0 ? 1 : workers);
  out.l7_ports = g.model.ports.size();
  out.l7_actions = g.actions.size();
  out.l7_pools = pools.size();
}

void finish_tables(nf::lb::Tables& tables, const config::NodeConfig& node, L4Ids& ids,
                   BuildState& st, L4BuildResult& out) {
  // Ids of backends that left are forgotten: the map follows the endpoints instead of growing
  // with every pod that ever existed. Ids are never reused (next_backend_id only grows).
  std::erase_if(ids.backend_ids, [&](const auto& kv) { return st.used_ids.count(kv.first) == 0; });
  std::erase_if(ids.service_ids,
                [&](const auto& kv) { return st.used_service_ids.count(kv.first) == 0; });
  ids.backend_slots.retain(st.used_ids);
  ids.service_slots.retain(st.used_service_ids);
  out.maglev_tables = st.maglev_keys.size();

  for (const auto& ip : node.load_balancer.snat_addresses) tables.add_snat(addr_of(ip), ip.is_v6());
  for (size_t i = 0; i < node.interfaces.size(); ++i) {
    for (const auto& p : node.interfaces[i].addresses) {
      tables.set_interface_address(static_cast<uint8_t>(i), addr_of(p.address), p.address.is_v6());
    }
  }
  for (const auto& [hop, used] : st.hops_used) {
    tables.add_nexthop(addr_of(hop.first), hop.first.is_v6(), static_cast<uint16_t>(hop.second));
  }
  tables.finalize();
}

}  // namespace

std::unique_ptr<lcore::Snapshot> build_snapshot(const Plan& plan, const config::NodeConfig& node,
                                                uint64_t generation, const ServicesResult* services,
                                                L4Ids* ids, NeighborManager* neighbors,
                                                L4BuildResult* result, const L7Inputs* l7) {
  auto snap = std::make_unique<lcore::Snapshot>();
  snap->generation = generation;
  const size_t n = node.interfaces.size();
  const uint32_t all_ports = n >= 32 ? ~0u : (1u << n) - 1;
  for (const auto& vip : plan.vips)
    add(snap->addresses, vip.ip, {nf::kAddrVip, vip.announce_ports});
  for (const auto& ip : node.load_balancer.snat_addresses) {
    add(snap->addresses, ip, {nf::kAddrSnat, all_ports});
  }
  for (const auto& iface : node.interfaces) {
    for (const auto& a : iface.addresses) add(snap->addresses, a.address, {nf::kAddrNode, 0});
  }
  snap->addresses.finalize();

  L4BuildResult local;
  if (services != nullptr && ids != nullptr) {
    L4BuildResult& out = result != nullptr ? *result : local;
    BuildState st;
    build_l4(snap->lb, node, *services, *ids, neighbors, st, out);
    if (l7 != nullptr && l7->objects != nullptr) {
      build_l7(*snap, plan, node, *l7->objects, l7->workers, l7->drained, *ids, neighbors, st,
               out);
    }
    finish_tables(snap->lb, node, *ids, st, out);
  } else {
    snap->lb.finalize();
  }
  return snap;
}

}  // namespace control
