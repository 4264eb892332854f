// Traffic per VIP, service port and backend: the control side of nf/traffic.h.
//
// Three parts, all pure (no EAL, no I/O), run on the control thread or any thread that holds
// what they read:
//  * SlotPool hands out the dense counter slots the Snapshot builder writes into Service and
//    Backend entries: stable while a key stays configured, freed when it leaves and given to a
//    new key later, oldest freed first; a key that finds the pool full gets the overflow slot
//    (0, counted as "other") and keeps it while it lives, so a flow never changes slots.
//  * TrafficDirectory is what the builder knew about each slot when it built the Snapshot: the
//    names (Service namespace/name, VIP, protocol, port, backend address:port), the slot and its
//    owner id.
//  * sum_traffic() adds up the workers' tables over a directory: a worker's slot counts for an
//    entry only while that entry's id owns it (nf::TrafficSlot::read), so counts of a key that
//    left never show up under the key that took its slot over. VIPs are the sums of their
//    service ports (a VIP is its set of service ports; a removed port takes its counts along).
//
// Reading never writes to the workers' tables and takes no lock; counts are as fresh as the
// relaxed loads see them (a worker's packet in flight may or may not be included).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "nf/traffic.h"

namespace control {

class SlotPool {
 public:
  // Slots 1..capacity-1 are handed out; 0 is the overflow slot.
  explicit SlotPool(uint32_t capacity) : capacity_(capacity) {}

  // The key's slot: the one it has, else a free one, else 0 (pool full).
  uint32_t slot_for(const std::string& key);
  // Frees the slots of keys not in `used` (call once per build, after every slot_for).
  void retain(const std::set<std::string>& used);

  size_t in_use() const { return slots_.size(); }
  uint32_t capacity() const { return capacity_; }

 private:
  uint32_t capacity_;
  uint32_t next_ = 1;  // slots from here up were never handed out
  std::deque<uint32_t> free_;
  std::map<std::string, uint32_t> slots_;
};

struct TrafficServiceEntry {
  std::string service;   // "namespace/name"; an HTTP listener: "Gateway/namespace/name"
  std::string address;   // the VIP
  std::string protocol;  // "TCP", "UDP"
  uint16_t port = 0;
  uint32_t slot = 0;
  uint32_t id = 0;  // owner of the slot (nf::lb::Service::stats_id)
};

struct TrafficBackendEntry {
  std::string service;    // as TrafficServiceEntry; an L7 backend pool: the backend Service's
  std::string address;    // the VIP; "" for an L7 backend pool (reached through HTTP routes)
  uint16_t port = 0;      // the service port (for an L7 pool: the backend Service's port)
  std::string backend;    // "198.51.100.21:8080", "[2001:db8:100::21]:8080"
  bool draining = false;  // terminating: keeps its flows, takes no new ones
  uint32_t slot = 0;
  uint32_t id = 0;  // owner of the slot (nf::lb::Backend::id)
};

struct TrafficDirectory {
  std::vector<TrafficServiceEntry> services;
  std::vector<TrafficBackendEntry> backends;
};

struct VipTraffic {
  std::string address;
  nf::TrafficCounts traffic;
};

struct ServiceTraffic {
  std::string service, address, protocol;
  uint16_t port = 0;
  nf::TrafficCounts traffic;
};

struct BackendTraffic {
  std::string service, address;
  uint16_t port = 0;
  std::string backend;
  bool draining = false;
  nf::TrafficCounts traffic;
};

struct TrafficStats {
  std::vector<VipTraffic> vips;          // by address, as the directory's services list them
  std::vector<ServiceTraffic> services;  // directory order
  std::vector<BackendTraffic> backends;  // directory order
  // The overflow slots: service ports and backends beyond the tables' capacity.
  nf::TrafficCounts other_services, other_backends;
};

// Sums `workers` (null entries are skipped) over the directory.
TrafficStats sum_traffic(const TrafficDirectory& dir,
                         std::span<const nf::TrafficTable* const> workers);

// "packets_in=.. bytes_in=.. packets_out=.. bytes_out=.. connections=.." (logs).
std::string format_traffic(const nf::TrafficCounts& c);

}  // namespace control
