// Counter slots, and the sums of the workers' traffic tables (see traffic_stats.h).
#include "control/traffic_stats.h"

#include <unordered_map>

namespace control {

uint32_t SlotPool::slot_for(const std::string& key) {
  if (auto it = slots_.find(key); it != slots_.end()) return it->second;
  uint32_t slot = nf::kTrafficOtherSlot;
  if (!free_.empty()) {
    slot = free_.front();
    free_.pop_front();
  } else if (next_ < capacity_) {
    slot = next_++;
  }
  // A key in the overflow slot is remembered too: it stays there while it lives (its flows
  // recorded slot 0), even if a slot frees up meanwhile.
  slots_.emplace(key, slot);
  return slot;
}

void SlotPool::retain(const std::set<std::string>& used) {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (used.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (it->second != nf::kTrafficOtherSlot) free_.push_back(it->second);
    it = slots_.erase(it);
  }
}

namespace {

nf::TrafficCounts sum_slot(std::span<const nf::TrafficTable* const> workers, bool service,
                           uint32_t slot, uint32_t id) {
  nf::TrafficCounts total;
  for (const nf::TrafficTable* t : workers) {
    if (t == nullptr) continue;
    const size_t n = service ? t->services.size() : t->backends.size();
    if (slot >= n) continue;
    const nf::TrafficSlot& s = service ? t->services[slot] : t->backends[slot];
    nf::TrafficCounts one;
    if (s.read(id, &one)) total += one;
  }
  return total;
}

}  // namespace

TrafficStats sum_traffic(const TrafficDirectory& dir,
                         std::span<const nf::TrafficTable* const> workers) {
  TrafficStats out;
  std::unordered_map<std::string, size_t> vip_index;
  for (const TrafficServiceEntry& e : dir.services) {
    ServiceTraffic s{e.service, e.address, e.protocol, e.port, {}};
    // Entries in the overflow slot share it: their counts are "other", not theirs.
    if (e.slot != nf::kTrafficOtherSlot) s.traffic = sum_slot(workers, true, e.slot, e.id);
    auto [it, added] = vip_index.try_emplace(e.address, out.vips.size());
    if (added) out.vips.push_back({e.address, {}});
    out.vips[it->second].traffic += s.traffic;
    out.services.push_back(std::move(s));
  }
  for (const TrafficBackendEntry& e : dir.backends) {
    BackendTraffic b{e.service, e.address, e.port, e.backend, e.draining, {}};
    if (e.slot != nf::kTrafficOtherSlot) b.traffic = sum_slot(workers, false, e.slot, e.id);
    out.backends.push_back(std::move(b));
  }
  out.other_services = sum_slot(workers, true, nf::kTrafficOtherSlot, 0);
  out.other_backends = sum_slot(workers, false, nf::kTrafficOtherSlot, 0);
  return out;
}

std::string format_traffic(const nf::TrafficCounts& c) {
  return "packets_in=" + std::to_string(c.packets_in) + " bytes_in=" + std::to_string(c.bytes_in) +
         " packets_out=" + std::to_string(c.packets_out) +
         " bytes_out=" + std::to_string(c.bytes_out) +
         " connections=" + std::to_string(c.connections);
}

}  // namespace control
