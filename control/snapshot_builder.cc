// Compiles a Plan into the address table workers read (see snapshot_builder.h).
#include "control/snapshot_builder.h"

#include <cstring>

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

}  // namespace

std::unique_ptr<lcore::Snapshot> build_snapshot(const Plan& plan, const config::NodeConfig& node,
                                                uint64_t generation) {
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
  return snap;
}

}  // namespace control
