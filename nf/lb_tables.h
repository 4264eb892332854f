// The L4 part of a Snapshot: service ports on VIPs, their backends and Maglev tables, the
// SNAT addresses, the next hops workers learn MAC addresses for, and the node's own address
// on each interface (source of IPIP tunnels and of neighbor requests).
//
// Built by the control thread (control/snapshot_builder.cc) from control::compile_services,
// immutable once finalize() has run, then only read by workers: lookups do no allocation and
// no locking. Addresses are 16 bytes in network order with IPv4 in the first 4 (rest zero),
// ports in network order, as in nf::FlowTuple.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nf::lb {

enum class Mode : uint8_t {
  kNat = 0,   // DNAT to the backend, SNAT to a snatAddress; replies come back through Portico
  kDsr = 1,   // L2 direct server return: only the destination MAC changes
  kIpip = 2,  // IPIP (IPv4) / IP6IP6 (IPv6) to the backend; it answers the client directly
  kL7 = 3,    // a Gateway HTTP listener: Portico terminates the handshake (nf/l7.h)
};

using Addr = std::array<uint8_t, 16>;

// SNAT port cursors per worker (nf::L4Context::snat_cursor). A backend's cursor is chosen by
// its address and port, not by its id: the same endpoint reached through two services (a
// Service and a Gateway pool), or given a new id when a Snapshot rebuilds its service, must
// keep taking ports from one cursor, or a fresh cursor starts on ports whose reply tuples
// the endpoint's recent flows still hold.
constexpr unsigned kSnatCursors = 4096;
uint16_t snat_cursor_of(const Addr& addr, uint16_t port, uint8_t v6);

struct Backend {
  Addr addr{};
  uint16_t port = 0;  // network order
  uint8_t v6 = 0;
  uint8_t terminating = 0;  // keeps its flows, takes no new ones (not in the Maglev table)
  uint32_t id = 0;          // stable across Snapshots while the backend stays in its service
  uint16_t nexthop = 0;     // NeighborTable index of the next hop towards it
  uint8_t port_index = 0;   // interface it is reached on
  uint8_t pad = 0;
  uint16_t stats_slot = 0;  // its traffic counters (nf/traffic.h; 0: the overflow slot), owned
                            // by `id`
  uint16_t snat_cursor = 0;  // set by Tables::add_service: snat_cursor_of(addr, port, v6)
};

struct Service {
  Addr vip{};
  uint16_t port = 0;  // network order
  uint8_t proto = 0;  // IPPROTO_TCP / IPPROTO_UDP; 0: a backend pool of L7 rules, not on a VIP
  uint8_t v6 = 0;
  Mode mode = Mode::kNat;
  uint8_t pad = 0;
  uint16_t l7_port = 0;  // kL7: the classifier's port index (route::Classifier::find_port)
  uint32_t index = 0;    // position in services() (changes from one Snapshot to the next)
  uint16_t stats_slot = 0;     // its traffic counters (nf/traffic.h; 0: the overflow slot) and
  uint32_t stats_id = 0;       // the slot's owner: an id of this service port, never reused
  uint32_t first_backend = 0;  // into backends()
  uint32_t n_backends = 0;
  uint32_t maglev_offset = 0;  // into the Maglev entries
  uint32_t maglev_size = 0;    // 0: no endpoint takes new flows
};

class Tables {
 public:
  // ---- build side (control thread) ----
  // Adds a service port with its backends and its Maglev table (entries index `backends`).
  // Services with the same backend list should pass the same `maglev_key` so they share one
  // table (the builder dedupes by key). Returns the service's index.
  uint32_t add_service(const Service& s, const std::vector<Backend>& backends,
                       const std::vector<uint16_t>& maglev, const std::string& maglev_key);
  void add_snat(const Addr& a, bool v6);
  void set_interface_address(uint8_t port_index, const Addr& a, bool v6);
  // Next-hop address -> NeighborTable index, for learning from ARP / NDP.
  void add_nexthop(const Addr& a, bool v6, uint16_t index);
  void finalize();

  // ---- read side (workers) ----
  // vip: 4 bytes (IPv4) or 16 (IPv6), network order: a packet's own header field will do.
  const Service* find_service(const uint8_t* vip, uint8_t v6, uint8_t proto, uint16_t port) const;
  // The backend Maglev picks for a flow hash, or nullptr if none takes new flows.
  const Backend* pick(const Service& s, uint32_t flow_hash) const {
    if (s.maglev_size == 0) return nullptr;
    // Multiply-shift maps the hash onto [0, size) without a division.
    const uint32_t slot = static_cast<uint32_t>((uint64_t{flow_hash} * s.maglev_size) >> 32);
    return &backends_[s.first_backend + maglev_[s.maglev_offset + slot]];
  }
  const Backend* backend_by_id(uint32_t id) const;
  // NeighborTable index of a next hop, or -1.
  int nexthop_index(const uint8_t* addr, uint8_t v6) const;
  // A SNAT address of the family for a flow hash; nullptr if none is configured.
  const Addr* snat_for(uint8_t v6, uint32_t flow_hash) const {
    const auto& v = v6 ? snat6_ : snat4_;
    if (v.empty()) return nullptr;
    return &v[flow_hash % v.size()];
  }
  bool is_snat(const uint8_t* addr, uint8_t v6) const;
  // The node's own address on an interface (first of the family), or nullptr.
  const Addr* interface_address(uint8_t port_index, uint8_t v6) const {
    if (port_index >= kMaxInterfaces) return nullptr;
    const Iface& i = ifaces_[port_index];
    return (v6 ? i.has6 : i.has4) ? (v6 ? &i.addr6 : &i.addr4) : nullptr;
  }

  const std::vector<Service>& services() const { return services_; }
  const std::vector<Backend>& backends() const { return backends_; }
  size_t maglev_entries() const { return maglev_.size(); }

  static constexpr unsigned kMaxInterfaces = 8;

 private:
  struct Key {
    Addr addr;
    uint16_t port;
    uint8_t proto;
    uint8_t v6;
  };
  struct Iface {
    Addr addr4{}, addr6{};
    bool has4 = false, has6 = false;
  };

  std::vector<Service> services_;
  std::vector<Backend> backends_;
  std::vector<uint16_t> maglev_;
  std::vector<std::pair<std::string, uint32_t>> maglev_keys_;  // key -> offset (build side)
  std::vector<uint32_t> service_slots_;  // open addressing: service index + 1, 0 = empty
  uint32_t service_mask_ = 0;
  std::vector<uint32_t> id_slots_;  // backend index + 1
  uint32_t id_mask_ = 0;
  struct NextHop {
    Addr addr;
    uint8_t v6;
    uint16_t index;
  };
  std::vector<NextHop> nexthops_;
  std::vector<uint32_t> nexthop_slots_;  // nexthops_ index + 1
  uint32_t nexthop_mask_ = 0;
  std::vector<Addr> snat4_, snat6_;
  Iface ifaces_[kMaxInterfaces];
};

}  // namespace nf::lb
