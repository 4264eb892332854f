// Compiles a Plan and the service ports into a Snapshot (see snapshot_builder.h).
#include "control/snapshot_builder.h"

#include <cstring>
#include <map>
#include <set>

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

void build_l4(nf::lb::Tables& tables, const config::NodeConfig& node,
              const ServicesResult& services, L4Ids& ids, NeighborManager* neighbors,
              L4BuildResult& out) {
  const uint32_t m = node.load_balancer.maglev_table_size;
  std::set<std::string> maglev_keys;
  std::map<std::pair<config::IpAddress, int>, bool> hops_used;
  std::set<std::string> used_ids;
  for (const L4ServicePort& sp : services.ports) {
    nf::lb::Service svc;
    svc.vip = addr_of(sp.vip);
    svc.v6 = sp.vip.is_v6();
    svc.port = be16(sp.port);
    svc.proto = sp.protocol;
    svc.mode = static_cast<nf::lb::Mode>(sp.mode);
    const std::string svc_key =
        sp.vip.str() + "|" + proto_name(sp.protocol) + "|" + std::to_string(sp.port) + "|";
    std::vector<nf::lb::Backend> backends;
    std::vector<nf::MaglevBackend> weights;
    std::string maglev_key;
    std::set<config::IpAddress> seen;
    for (const L4Endpoint& ep : sp.endpoints) {
      if (backends.size() >= nf::kMaglevMaxBackends) break;
      const auto hop = route_to(node, ep.address);
      if (!hop) {
        out.warnings.push_back("service " + sp.service + " endpoint " + ep.address.str() +
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
        hops_used[{hop->address, nh}] = true;
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
      used_ids.insert(id_key);
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
    if (!table.empty()) maglev_keys.insert(maglev_key);
    tables.add_service(svc, backends, table, maglev_key);
    out.backends += backends.size();
  }
  // Ids of backends that left are forgotten: the map follows the endpoints instead of growing
  // with every pod that ever existed. Ids are never reused (next_backend_id only grows).
  std::erase_if(ids.backend_ids, [&](const auto& kv) { return used_ids.count(kv.first) == 0; });
  out.service_ports = services.ports.size();
  out.maglev_tables = maglev_keys.size();

  for (const auto& ip : node.load_balancer.snat_addresses) tables.add_snat(addr_of(ip), ip.is_v6());
  for (size_t i = 0; i < node.interfaces.size(); ++i) {
    for (const auto& p : node.interfaces[i].addresses) {
      tables.set_interface_address(static_cast<uint8_t>(i), addr_of(p.address), p.address.is_v6());
    }
  }
  for (const auto& [hop, used] : hops_used) {
    tables.add_nexthop(addr_of(hop.first), hop.first.is_v6(), static_cast<uint16_t>(hop.second));
  }
  tables.finalize();
}

}  // namespace

std::unique_ptr<lcore::Snapshot> build_snapshot(const Plan& plan, const config::NodeConfig& node,
                                                uint64_t generation, const ServicesResult* services,
                                                L4Ids* ids, NeighborManager* neighbors,
                                                L4BuildResult* result) {
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
    build_l4(snap->lb, node, *services, *ids, neighbors, result != nullptr ? *result : local);
  } else {
    snap->lb.finalize();
  }
  return snap;
}

}  // namespace control
