// The addresses this node answers for, as the data plane looks them up.
//
// One immutable open-addressing hash table per family, keyed by the address in network byte
// order. Built by the control thread (Snapshot compiler), then only read by workers: lookups do
// no allocation, no locking and touch one or two cache lines.
#pragma once

#include <cstdint>
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

  // Read side (workers). nullptr if the address is not in the table.
  const AddressInfo* find_v4(uint32_t addr_be) const;
  const AddressInfo* find_v6(const uint8_t addr[16]) const;

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
  std::vector<Slot4> pending4_;
  std::vector<Slot6> pending6_;
  std::vector<Slot4> slots4_;
  std::vector<Slot6> slots6_;
  uint32_t mask4_ = 0;
  uint32_t mask6_ = 0;
  size_t count4_ = 0;
  size_t count6_ = 0;
};

}  // namespace nf
