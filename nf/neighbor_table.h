// Next-hop MAC addresses (RFC 826 ARP, RFC 4861 NDP), shared by all workers and the control
// thread, changed without rebuilding the Snapshot.
//
// Fixed capacity, allocated at start. The Snapshot maps next-hop addresses (backends on a
// connected subnet, route gateways) to indices here; the control thread keeps that mapping
// stable across Snapshots, so an index names the same address for as long as any Snapshot uses
// it. Each entry is three 64-bit atomics:
//  * mac: bit 63 = valid, the 6 MAC bytes in the low 48 bits. Workers read it with one relaxed
//    load per packet; any thread that sees an ARP / NA from the next hop stores it (the same
//    value from several workers is harmless).
//  * confirmed: TSC of the last time the next hop was heard from (reachability confirmation).
//  * requested: TSC of the last resolution request; claim_request() lets one caller per
//    interval send a request (compare-exchange, on the miss path only).
// The control thread probes entries that have not been confirmed for a while and invalidates
// those that stay silent (NeighborManager in control/).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

namespace nf {

class NeighborTable {
 public:
  explicit NeighborTable(uint32_t capacity)
      : entries_(std::make_unique<Entry[]>(capacity)), capacity_(capacity) {}

  uint32_t capacity() const { return capacity_; }

  // Workers: the MAC of next hop idx, false if unresolved.
  bool get(uint32_t idx, uint8_t mac[6]) const {
    if (idx >= capacity_) return false;
    const uint64_t v = entries_[idx].mac.load(std::memory_order_acquire);
    if ((v & kValid) == 0) return false;
    std::memcpy(mac, &v, 6);  // little-endian: the low 6 bytes
    return true;
  }

  // Any thread: next hop idx was heard from with this MAC at `now`.
  void learn(uint32_t idx, const uint8_t mac[6], uint64_t now) {
    if (idx >= capacity_) return;
    uint64_t v = 0;
    std::memcpy(&v, mac, 6);
    v |= kValid;
    Entry& e = entries_[idx];
    if (e.mac.load(std::memory_order_relaxed) != v) e.mac.store(v, std::memory_order_release);
    e.confirmed.store(now, std::memory_order_relaxed);
  }

  // True for exactly one caller per `interval` ticks: that caller sends a request.
  bool claim_request(uint32_t idx, uint64_t now, uint64_t interval) {
    if (idx >= capacity_) return false;
    std::atomic<uint64_t>& r = entries_[idx].requested;
    uint64_t last = r.load(std::memory_order_relaxed);
    if (last != 0 && now - last < interval) return false;
    return r.compare_exchange_strong(last, now, std::memory_order_relaxed);
  }

  // Control thread.
  void invalidate(uint32_t idx) {
    if (idx >= capacity_) return;
    entries_[idx].mac.store(0, std::memory_order_release);
  }
  void reset(uint32_t idx) {
    if (idx >= capacity_) return;
    invalidate(idx);
    entries_[idx].confirmed.store(0, std::memory_order_relaxed);
    entries_[idx].requested.store(0, std::memory_order_relaxed);
  }
  bool valid(uint32_t idx) const {
    return idx < capacity_ && (entries_[idx].mac.load(std::memory_order_acquire) & kValid) != 0;
  }
  uint64_t confirmed(uint32_t idx) const {
    return idx < capacity_ ? entries_[idx].confirmed.load(std::memory_order_relaxed) : 0;
  }

 private:
  static constexpr uint64_t kValid = uint64_t{1} << 63;
  struct Entry {
    std::atomic<uint64_t> mac{0};
    std::atomic<uint64_t> confirmed{0};
    std::atomic<uint64_t> requested{0};
  };
  std::unique_ptr<Entry[]> entries_;
  uint32_t capacity_;
};

}  // namespace nf
