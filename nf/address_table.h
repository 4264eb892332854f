// The addresses this node answers for, as the data plane looks them up.
//
// One immutable open-addressing hash table per family, keyed by the address in network byte
// order. Built by the control thread (Snapshot compiler), then only read by workers: lookups do
// no allocation, no locking and touch one or two cache lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace nf {

// What an address is to Portico; an address may be several at once (flags are ORed).
enum AddressFlag : uint8_t {
  kAddrVip = 1,   // a LoadBalancer VIP: ARP/NDP (where announced) and echo answered here
  kAddrSnat = 2,  // a full-NAT source address: ARP/NDP and echo answered here
  kAddrNode = 4,  // the node's own address: everything goes to the kernel tap
};

struct AddressInfo {
  uint8_t flags = 0;
  // Bit i set: answer ARP/NDP for this address on interface i (NodeConfig interfaces order).
  uint32_t announce_ports = 0;
};

class AddressTable {
 public:
  // Build side (control thread). Adding an address twice merges flags and port masks.
  void add_v4(uint32_t addr_be, AddressInfo info);
  void add_v6(const uint8_t addr[16], AddressInfo info);
  // Must be called once after the last add and before any lookup.
  void finalize();

  // Read side (workers). nullptr if the address is not in the table. Inline: they sit on
  // every packet's path.
  const AddressInfo* find_v4(uint32_t addr_be) const;
  const AddressInfo* find_v6(const uint8_t addr[16]) const;

  // Fibonacci hashing: one multiply, the high half folded into the low bits so addresses that
  // differ only in their last octet spread well.
  static uint32_t hash_v4(uint32_t addr_be) { return mix(addr_be); }
  static uint32_t hash_v6(const uint8_t addr[16]) {
    uint64_t hi, lo;
    std::memcpy(&hi, addr, sizeof hi);
    std::memcpy(&lo, addr + 8, sizeof lo);
    return mix(hi * kGolden ^ lo);
  }

  size_t size_v4() const { return count4_; }
  size_t size_v6() const { return count6_; }

 private:
  struct Slot4 {
    uint32_t addr_be;
    AddressInfo info;
    bool used;
  };
  struct Slot6 {
    uint8_t addr[16];
    AddressInfo info;
    bool used;
  };
  static constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio
  static uint32_t mix(uint64_t x) {
    x *= kGolden;
    return static_cast<uint32_t>(x ^ (x >> 32));
  }

  std::vector<Slot4> pending4_;
  std::vector<Slot6> pending6_;
  std::vector<Slot4> slots4_;
  std::vector<Slot6> slots6_;
  uint32_t mask4_ = 0;
  uint32_t mask6_ = 0;
  size_t count4_ = 0;
  size_t count6_ = 0;
};

inline const AddressInfo* AddressTable::find_v4(uint32_t addr_be) const {
  if (count4_ == 0) return nullptr;
  const Slot4* const slots = slots4_.data();
  for (uint32_t i = hash_v4(addr_be) & mask4_;; i = (i + 1) & mask4_) {
    const Slot4& s = slots[i];
    if (!s.used) return nullptr;
    if (s.addr_be == addr_be) return &s.info;
  }
}

inline const AddressInfo* AddressTable::find_v6(const uint8_t addr[16]) const {
  if (count6_ == 0) return nullptr;
  const Slot6* const slots = slots6_.data();
  for (uint32_t i = hash_v6(addr) & mask6_;; i = (i + 1) & mask6_) {
    const Slot6& s = slots[i];
    if (!s.used) return nullptr;
    if (std::memcmp(s.addr, addr, 16) == 0) return &s.info;
  }
}

}  // namespace nf
