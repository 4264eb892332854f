// Next-hop choice and neighbor upkeep on the control thread (see neighbors.h).
#include "control/neighbors.h"

#include <cstring>

#include <spdlog/spdlog.h>

#include "nf/frame_handler.h"

namespace control {

std::optional<NextHop> route_to(const config::NodeConfig& node, const config::IpAddress& dst) {
  for (size_t i = 0; i < node.interfaces.size(); ++i) {
    for (const auto& p : node.interfaces[i].addresses) {
      if (p.address.family() == dst.family() && p.contains(dst)) {
        return NextHop{dst, static_cast<uint8_t>(i)};
      }
    }
  }
  const config::NodeRoute* best = nullptr;
  for (const auto& r : node.routes) {
    if (r.destination.address.family() != dst.family() || !r.destination.contains(dst)) continue;
    if (best == nullptr || r.destination.length > best->destination.length) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  for (size_t i = 0; i < node.interfaces.size(); ++i) {
    for (const auto& p : node.interfaces[i].addresses) {
      if (p.address.family() == best->gateway.family() && p.contains(best->gateway)) {
        return NextHop{best->gateway, static_cast<uint8_t>(i)};
      }
    }
  }
  return std::nullopt;
}

NeighborManager::NeighborManager(nf::NeighborTable& table, uint64_t tsc_hz)
    : table_(table), tsc_hz_(tsc_hz), entries_(table.capacity()) {}

void NeighborManager::configure(const config::NodeConfig& node,
                                const std::vector<rte_ether_addr>& macs) {
  macs_ = macs;
  src4_.assign(node.interfaces.size(), std::nullopt);
  src6_.assign(node.interfaces.size(), std::nullopt);
  for (size_t i = 0; i < node.interfaces.size(); ++i) {
    for (const auto& p : node.interfaces[i].addresses) {
      auto& slot = p.address.is_v4() ? src4_[i] : src6_[i];
      if (!slot) slot = p.address;
    }
  }
  reachable_ = node.neighbors.reachable_ms * tsc_hz_ / 1000;
  retransmit_ = node.neighbors.retransmit_ms * tsc_hz_ / 1000;
  max_probes_ = node.neighbors.max_probes;
}

void NeighborManager::begin_build() {
  for (auto& e : entries_) e.used_in_build = false;
}

int NeighborManager::index_for(const NextHop& hop) {
  const auto key = std::make_pair(hop.address, hop.interface);
  if (auto it = by_addr_.find(key); it != by_addr_.end()) {
    entries_[it->second].used_in_build = true;
    return static_cast<int>(it->second);
  }
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (e.used) continue;
    e = Entry{};
    e.hop = hop;
    e.used = true;
    e.used_in_build = true;
    table_.reset(i);
    by_addr_[key] = i;
    pending_requests_.push_back(i);  // resolve before the first packet needs it
    return static_cast<int>(i);
  }
  return -1;
}

void NeighborManager::end_build_published() {
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    Entry& e = entries_[i];
    if (!e.used || e.used_in_build) continue;
    by_addr_.erase(std::make_pair(e.hop.address, e.hop.interface));
    e.used = false;
    table_.reset(i);
  }
}

void NeighborManager::request(uint32_t idx, uint64_t /*now*/) {
  if (idx < entries_.size() && entries_[idx].used) pending_requests_.push_back(idx);
}

void NeighborManager::send_request(uint32_t idx, Entry& e, bool unicast, uint64_t now,
                                   const Sender& send) {
  const uint8_t i = e.hop.interface;
  if (i >= macs_.size()) return;
  uint8_t frame[128];
  uint16_t len = 0;
  uint8_t known[6];
  const bool have_mac = unicast && table_.get(idx, known);
  if (e.hop.address.is_v4()) {
    if (!src4_[i]) return;
    uint32_t sender, target;
    std::memcpy(&sender, src4_[i]->bytes().data(), 4);
    std::memcpy(&target, e.hop.address.bytes().data(), 4);
    len = nf::build_arp_request(frame, sizeof frame, macs_[i], sender, target);
    if (have_mac && len != 0) std::memcpy(frame, known, 6);  // unicast probe (RFC 1122 2.3.2.1)
  } else {
    if (!src6_[i]) return;
    len = nf::build_neighbor_solicitation(frame, sizeof frame, macs_[i], src6_[i]->bytes().data(),
                                          e.hop.address.bytes().data(), have_mac ? known : nullptr);
  }
  if (len == 0) return;
  e.last_probe = now;
  ++e.probes;
  send(i, frame, len);
}

void NeighborManager::tick(uint64_t now, const Sender& send) {
  for (uint32_t idx : pending_requests_) {
    if (idx >= entries_.size()) continue;
    Entry& e = entries_[idx];
    if (!e.used || table_.valid(idx)) continue;
    if (e.last_probe != 0 && now - e.last_probe < retransmit_ / 4) continue;
    send_request(idx, e, false, now, send);
  }
  pending_requests_.clear();

  for (uint32_t idx = 0; idx < entries_.size(); ++idx) {
    Entry& e = entries_[idx];
    if (!e.used) continue;
    const bool valid = table_.valid(idx);
    if (valid && !e.was_valid) {
      uint8_t mac[6];
      table_.get(idx, mac);
      spdlog::info(
          "event=neighbor_resolved address={} interface={} "
          "mac={:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
          e.hop.address.str(), e.hop.interface, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
      e.probes = 0;
    }
    e.was_valid = valid;
    if (!valid) {
      const uint64_t wait = e.probes < max_probes_ ? retransmit_ : 10 * retransmit_;
      if (e.last_probe == 0 || now - e.last_probe >= wait) send_request(idx, e, false, now, send);
      continue;
    }
    const uint64_t heard = table_.confirmed(idx);
    // Workers stamp confirmations with their own TSC reading, which may be ahead of `now`.
    if (heard >= now || now - heard < reachable_) {
      e.probes = 0;
      continue;
    }
    // Stale: probe it unicast; give up after max_probes unanswered probes.
    if (e.probes >= max_probes_ && now - e.last_probe >= retransmit_) {
      table_.invalidate(idx);
      e.was_valid = false;
      e.probes = 0;
      e.last_probe = 0;
      spdlog::warn("event=neighbor_expired address={} interface={}", e.hop.address.str(),
                   e.hop.interface);
      continue;
    }
    if (e.probes < max_probes_ && (e.last_probe == 0 || now - e.last_probe >= retransmit_)) {
      send_request(idx, e, true, now, send);
    }
  }
}

std::vector<NeighborManager::Info> NeighborManager::entries() const {
  std::vector<Info> out;
  for (uint32_t idx = 0; idx < entries_.size(); ++idx) {
    const Entry& e = entries_[idx];
    if (!e.used) continue;
    uint8_t mac[6];
    const bool ok = table_.get(idx, mac);
    char buf[18] = "";
    if (ok) {
      std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                    mac[3], mac[4], mac[5]);
    }
    out.push_back({e.hop.address, e.hop.interface, ok, buf});
  }
  return out;
}

}  // namespace control
