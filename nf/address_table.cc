// AddressTable: open addressing with linear probing, one table per address family.
//
// The control thread adds entries to a pending list and finalize() builds the slot arrays:
// a power of two at least twice the number of entries (at least 16), so the load factor stays
// at or below 1/2 and every probe sequence ends at an empty slot after a short run. Duplicates
// are merged as they are inserted (flags and port masks ORed). Workers only call find_* (inline
// in the header), which hash with one multiply and compare one address per slot.

#include "nf/address_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace nf {
namespace {

constexpr size_t kMinSlots = 16;
inline bool same_v6(const uint8_t a[16], const uint8_t b[16]) { return std::memcmp(a, b, 16) == 0; }

// Rebuilds slots from the entries already there plus pending ones; returns the entry count.
template <class Slot, class Hash, class Same>
size_t rebuild(std::vector<Slot>& pending, std::vector<Slot>& slots, uint32_t& mask, Hash hash,
               Same same) {
  for (const Slot& s : slots) {
    if (s.used) pending.push_back(s);
  }
  const size_t size = std::bit_ceil(std::max(kMinSlots, 2 * pending.size()));
  std::vector<Slot> fresh(size);  // value-initialised: used == false everywhere
  const uint32_t new_mask = static_cast<uint32_t>(size - 1);
  size_t count = 0;
  for (const Slot& entry : pending) {
    for (uint32_t i = hash(entry) & new_mask;; i = (i + 1) & new_mask) {
      Slot& s = fresh[i];
      if (!s.used) {
        s = entry;
        s.used = true;
        ++count;
        break;
      }
      if (same(s, entry)) {
        s.info.flags |= entry.info.flags;
        s.info.announce_ports |= entry.info.announce_ports;
        break;
      }
    }
  }
  slots = std::move(fresh);
  mask = new_mask;
  pending.clear();
  pending.shrink_to_fit();
  return count;
}

}  // namespace

void AddressTable::add_v4(uint32_t addr_be, AddressInfo info) {
  pending4_.push_back(Slot4{addr_be, info, true});
}

void AddressTable::add_v6(const uint8_t addr[16], AddressInfo info) {
  Slot6 s{};
  std::memcpy(s.addr, addr, sizeof s.addr);
  s.info = info;
  s.used = true;
  pending6_.push_back(s);
}

// Calling it again after more adds rebuilds the table with old and new entries.
void AddressTable::finalize() {
  count4_ = rebuild(
      pending4_, slots4_, mask4_, [](const Slot4& s) { return AddressTable::hash_v4(s.addr_be); },
      [](const Slot4& a, const Slot4& b) { return a.addr_be == b.addr_be; });
  count6_ = rebuild(
      pending6_, slots6_, mask6_, [](const Slot6& s) { return AddressTable::hash_v6(s.addr); },
      [](const Slot6& a, const Slot6& b) { return same_v6(a.addr, b.addr); });
}

}  // namespace nf
