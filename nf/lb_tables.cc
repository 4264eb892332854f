// Build and lookup of the L4 tables (see lb_tables.h). Build side runs on the control thread;
// the lookups run on workers for every packet to a VIP.
#include "nf/lb_tables.h"

#include <algorithm>

namespace nf::lb {

namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;

inline uint32_t mix(uint64_t x) {
  x *= kGolden;
  return static_cast<uint32_t>(x ^ (x >> 32));
}

uint32_t addr_hash(const uint8_t* addr, uint8_t v6) {
  uint64_t hi, lo;
  std::memcpy(&hi, addr, 8);
  std::memcpy(&lo, addr + 8, 8);
  return mix((hi * kGolden) ^ lo ^ v6);
}

// The address as two words, as the first and last 8 bytes of its Addr load: 4 bytes read for
// IPv4 (the rest of an IPv4 Addr is zero), 16 for IPv6, so callers can pass addresses straight
// out of a packet.
inline void addr_words(const uint8_t* addr, uint8_t v6, uint64_t* hi, uint64_t* lo) {
  if (v6) {
    std::memcpy(hi, addr, 8);
    std::memcpy(lo, addr + 8, 8);
  } else {
    uint8_t padded[8] = {};
    std::memcpy(padded, addr, 4);
    std::memcpy(hi, padded, 8);
    *lo = 0;
  }
}

inline uint32_t service_hash(uint64_t hi, uint64_t lo, uint8_t v6, uint8_t proto, uint16_t port) {
  return mix((hi * kGolden) ^ lo ^ (uint64_t{port} << 32 | uint64_t{proto} << 8 | v6));
}

uint32_t table_size_for(size_t n) {
  uint32_t size = 16;
  while (size < 2 * n) size <<= 1;
  return size;
}

}  // namespace

uint16_t snat_cursor_of(const Addr& addr, uint16_t port, uint8_t v6) {
  // FNV-1a over the address bytes of the family and the port.
  uint32_t h = 2166136261u;
  const auto mix = [&h](uint8_t b) { h = (h ^ b) * 16777619u; };
  for (size_t i = 0; i < (v6 ? 16u : 4u); ++i) mix(addr[i]);
  mix(static_cast<uint8_t>(port >> 8));
  mix(static_cast<uint8_t>(port));
  mix(v6);
  return static_cast<uint16_t>(h % kSnatCursors);
}

uint32_t Tables::add_service(const Service& s, const std::vector<Backend>& backends,
                             const std::vector<uint16_t>& maglev, const std::string& maglev_key) {
  Service svc = s;
  svc.index = static_cast<uint32_t>(services_.size());
  svc.first_backend = static_cast<uint32_t>(backends_.size());
  svc.n_backends = static_cast<uint32_t>(backends.size());
  backends_.insert(backends_.end(), backends.begin(), backends.end());
  for (size_t i = svc.first_backend; i < backends_.size(); ++i) {
    Backend& b = backends_[i];
    b.snat_cursor = snat_cursor_of(b.addr, b.port, b.v6);
  }
  svc.maglev_size = static_cast<uint32_t>(maglev.size());
  svc.maglev_offset = 0;
  if (!maglev.empty()) {
    auto it = std::find_if(maglev_keys_.begin(), maglev_keys_.end(),
                           [&](const auto& k) { return k.first == maglev_key; });
    if (it != maglev_keys_.end() && !maglev_key.empty()) {
      svc.maglev_offset = it->second;
    } else {
      svc.maglev_offset = static_cast<uint32_t>(maglev_.size());
      maglev_.insert(maglev_.end(), maglev.begin(), maglev.end());
      if (!maglev_key.empty()) maglev_keys_.emplace_back(maglev_key, svc.maglev_offset);
    }
  }
  services_.push_back(svc);
  return svc.index;
}

void Tables::add_snat(const Addr& a, bool v6) { (v6 ? snat6_ : snat4_).push_back(a); }

void Tables::set_interface_address(uint8_t port_index, const Addr& a, bool v6) {
  if (port_index >= kMaxInterfaces) return;
  Iface& i = ifaces_[port_index];
  if (v6 && !i.has6) {
    i.addr6 = a;
    i.has6 = true;
  } else if (!v6 && !i.has4) {
    i.addr4 = a;
    i.has4 = true;
  }
}

void Tables::add_nexthop(const Addr& a, bool v6, uint16_t index) {
  nexthops_.push_back({a, static_cast<uint8_t>(v6), index});
}

void Tables::finalize() {
  maglev_keys_.clear();
  maglev_keys_.shrink_to_fit();

  uint32_t size = table_size_for(services_.size());
  service_slots_.assign(size, 0);
  service_mask_ = size - 1;
  for (const Service& s : services_) {
    if (s.proto == 0) continue;  // an L7 rule's backend pool: reached through its rule only
    uint64_t hi, lo;
    addr_words(s.vip.data(), s.v6, &hi, &lo);
    uint32_t i = service_hash(hi, lo, s.v6, s.proto, s.port) & service_mask_;
    while (service_slots_[i] != 0) i = (i + 1) & service_mask_;
    service_slots_[i] = s.index + 1;
  }

  size = table_size_for(backends_.size());
  id_slots_.assign(size, 0);
  id_mask_ = size - 1;
  for (uint32_t b = 0; b < backends_.size(); ++b) {
    uint32_t i = mix(backends_[b].id) & id_mask_;
    while (id_slots_[i] != 0) i = (i + 1) & id_mask_;
    id_slots_[i] = b + 1;
  }

  size = table_size_for(nexthops_.size());
  nexthop_slots_.assign(size, 0);
  nexthop_mask_ = size - 1;
  for (uint32_t n = 0; n < nexthops_.size(); ++n) {
    uint32_t i = addr_hash(nexthops_[n].addr.data(), nexthops_[n].v6) & nexthop_mask_;
    while (nexthop_slots_[i] != 0) i = (i + 1) & nexthop_mask_;
    nexthop_slots_[i] = n + 1;
  }
}

const Service* Tables::find_service(const uint8_t* vip, uint8_t v6, uint8_t proto,
                                    uint16_t port) const {
  if (services_.empty()) return nullptr;
  uint64_t hi, lo;
  addr_words(vip, v6, &hi, &lo);
  for (uint32_t i = service_hash(hi, lo, v6, proto, port) & service_mask_;;
       i = (i + 1) & service_mask_) {
    const uint32_t slot = service_slots_[i];
    if (slot == 0) return nullptr;
    const Service& s = services_[slot - 1];
    uint64_t s_hi, s_lo;
    std::memcpy(&s_hi, s.vip.data(), 8);
    std::memcpy(&s_lo, s.vip.data() + 8, 8);
    if (((s_hi ^ hi) | (s_lo ^ lo)) == 0 && s.port == port && s.proto == proto && s.v6 == v6) {
      return &s;
    }
  }
}

const Backend* Tables::backend_by_id(uint32_t id) const {
  if (backends_.empty()) return nullptr;
  for (uint32_t i = mix(id) & id_mask_;; i = (i + 1) & id_mask_) {
    const uint32_t slot = id_slots_[i];
    if (slot == 0) return nullptr;
    if (backends_[slot - 1].id == id) return &backends_[slot - 1];
  }
}

int Tables::nexthop_index(const uint8_t* addr, uint8_t v6) const {
  if (nexthops_.empty()) return -1;
  for (uint32_t i = addr_hash(addr, v6) & nexthop_mask_;; i = (i + 1) & nexthop_mask_) {
    const uint32_t slot = nexthop_slots_[i];
    if (slot == 0) return -1;
    const NextHop& n = nexthops_[slot - 1];
    if (n.v6 == v6 && std::memcmp(n.addr.data(), addr, 16) == 0) return n.index;
  }
}

bool Tables::is_snat(const uint8_t* addr, uint8_t v6) const {
  for (const Addr& a : v6 ? snat6_ : snat4_) {
    if (std::memcmp(a.data(), addr, 16) == 0) return true;
  }
  return false;
}

}  // namespace nf::lb
