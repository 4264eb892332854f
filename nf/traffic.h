// Traffic counters per service port and per backend, kept by each worker for the control
// thread to sum (issue 6: stats and metrics per VIP, service and backend).
//
// Threads: a worker's TrafficTable is written by that worker only, on the packet path (nf/l4.cc,
// nf/l7.cc), and read by the control thread (control/traffic_stats.h) with relaxed loads, as
// lcore::Counter is: no locked instruction, no lock, no allocation. The table is allocated once
// before the worker starts (lcore::init_l4) and never resized, so its capacity is a constant.
//
// Indexing. The Snapshot's Service and Backend entries carry a counter slot (stats_slot),
// assigned by the control thread's builder (control/snapshot_builder.cc), dense, and stable
// for as long as the service port (VIP, protocol, port) or the backend (that port's endpoint
// address:port) stays configured; a freed slot is given to another key later. Slot 0 is the
// overflow slot "other": every key beyond the capacity counts there, so nothing is lost, only
// merged. A connection record keeps its flow's two slots (nf::Conn::stats_service and
// stats_backend), so a packet of a known flow counts without any lookup.
//
// Reuse of a slot. Each slot also records its owner: the never-reused id of the key that
// counts into it (the backend id, the service port's id). A worker's first new flow on a slot
// whose owner is another key (one that was removed) zeroes the slot and takes it over; readers
// add a worker's slot only while its owner is the key they ask about. Only the new-flow path
// checks the owner: packets of existing flows count straight into their record's slots, which
// are still their key's (a record whose backend was removed is dropped by revalidate() before
// it counts anything).
//
// What is counted: packets and bytes (Ethernet frames as received: the frame length, FCS not
// included, before any tunnel header) of balanced flows from clients towards backends ("in")
// and from backends back to clients ("out": full NAT and L7 only; DSR and IPIP replies do not
// pass through Portico), and connections (new flow records, or L7 connections accepted / opened
// to a backend). ICMP errors about flows and resets Portico sends are not counted here.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace nf {

// Slots per worker, slot 0 included. A service port takes one service slot; every endpoint of
// a service port (and of an L7 backend pool) takes one backend slot. 64 bytes a slot:
// (4096 + 32768) x 64 = 2.3 MiB per worker.
inline constexpr uint32_t kTrafficServiceSlots = 4096;
inline constexpr uint32_t kTrafficBackendSlots = 32768;
inline constexpr uint32_t kTrafficOtherSlot = 0;
static_assert(kTrafficBackendSlots <= 65536 && kTrafficServiceSlots <= 65536,
              "connection records keep slots in 16 bits");

// One relaxed counter with a single writer and any number of readers: no locked instruction on
// the worker's path. Also lcore::Counter.
class TrafficCounter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Plain totals of one slot (or of a sum of slots).
struct TrafficCounts {
  uint64_t packets_in = 0, bytes_in = 0;    // client -> backend
  uint64_t packets_out = 0, bytes_out = 0;  // backend -> client
  uint64_t connections = 0;
  TrafficCounts& operator+=(const TrafficCounts& o) {
    packets_in += o.packets_in;
    bytes_in += o.bytes_in;
    packets_out += o.packets_out;
    bytes_out += o.bytes_out;
    connections += o.connections;
    return *this;
  }
  bool empty() const { return (packets_in | packets_out | connections) == 0; }
  bool operator==(const TrafficCounts&) const = default;
};

struct alignas(64) TrafficSlot {
  std::atomic<uint32_t> owner{0};  // id of the key counting here; 0: none yet
  TrafficCounter packets_in, bytes_in, packets_out, bytes_out, connections;

  // Worker, new-flow path: makes `id` the owner, from zero, if another key had the slot.
  void claim(uint32_t id) {
    if (owner.load(std::memory_order_relaxed) == id) [[likely]] {
      return;
    }
    // A seqlock of one writer: readers that see the same owner before and after reading the
    // counters (read() below) know the counters were that owner's.
    owner.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    packets_in.set(0);
    bytes_in.set(0);
    packets_out.set(0);
    bytes_out.set(0);
    connections.set(0);
    owner.store(id, std::memory_order_release);
  }

  // Any thread: the counters if `id` owns the slot (0 for "any owner": the overflow slot), else
  // false (another key's, or being taken over right now: nothing of `id` is in it yet).
  bool read(uint32_t id, TrafficCounts* out) const {
    const uint32_t before = owner.load(std::memory_order_acquire);
    if (id != 0 && before != id) return false;
    TrafficCounts c;
    c.packets_in = packets_in.get();
    c.bytes_in = bytes_in.get();
    c.packets_out = packets_out.get();
    c.bytes_out = bytes_out.get();
    c.connections = connections.get();
    std::atomic_thread_fence(std::memory_order_acquire);
    if (owner.load(std::memory_order_relaxed) != before) return false;
    *out = c;
    return true;
  }
};
static_assert(sizeof(TrafficSlot) == 64);

// One worker's counters.
struct TrafficTable {
  std::array<TrafficSlot, kTrafficServiceSlots> services;
  std::array<TrafficSlot, kTrafficBackendSlots> backends;

  // ---- worker side ----
  // A new flow (or L7 connection) of service slot s (owner sid) to backend slot b (owner bid).
  void open(uint32_t s, uint32_t sid, uint32_t b, uint32_t bid) {
    TrafficSlot& ss = services[s];
    TrafficSlot& bs = backends[b];
    if (s != kTrafficOtherSlot) ss.claim(sid);
    if (b != kTrafficOtherSlot) bs.claim(bid);
    ss.connections.add(1);
    bs.connections.add(1);
  }
  // Only the service side (an L7 connection before it has a backend).
  void open_service(uint32_t s, uint32_t sid) {
    TrafficSlot& ss = services[s];
    if (s != kTrafficOtherSlot) ss.claim(sid);
    ss.connections.add(1);
  }
  // Only the backend side (the L7 backend connection).
  void open_backend(uint32_t b, uint32_t bid) {
    TrafficSlot& bs = backends[b];
    if (b != kTrafficOtherSlot) bs.claim(bid);
    bs.connections.add(1);
  }
  // Claims both slots without counting a connection (a flow balanced without a record).
  void claim(uint32_t s, uint32_t sid, uint32_t b, uint32_t bid) {
    if (s != kTrafficOtherSlot) services[s].claim(sid);
    if (b != kTrafficOtherSlot) backends[b].claim(bid);
  }
  // A packet of a flow whose slots are already claimed (by the flow's open()).
  void in(uint32_t s, uint32_t b, uint32_t bytes) {
    services[s].packets_in.add(1);
    services[s].bytes_in.add(bytes);
    backends[b].packets_in.add(1);
    backends[b].bytes_in.add(bytes);
  }
  void out(uint32_t s, uint32_t b, uint32_t bytes) {
    services[s].packets_out.add(1);
    services[s].bytes_out.add(bytes);
    backends[b].packets_out.add(1);
    backends[b].bytes_out.add(bytes);
  }
};

}  // namespace nf
