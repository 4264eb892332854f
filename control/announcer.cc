// Gratuitous announcement schedule (see announcer.h).
#include "control/announcer.h"

namespace control {

void AnnounceSchedule::start(const config::IpAddress& ip, uint32_t ports, uint64_t now_ms) {
  auto [it, inserted] = entries_.try_emplace(ip, Entry{ports, now_ms, now_ms + kDurationMs});
  if (!inserted) {
    it->second.ports |= ports;
    it->second.end_ms = now_ms + kDurationMs;
  }
}

void AnnounceSchedule::cancel(const config::IpAddress& ip) { entries_.erase(ip); }

std::vector<AnnounceSchedule::Due> AnnounceSchedule::take_due(uint64_t now_ms) {
  std::vector<Due> due;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.next_ms <= now_ms) {
      due.push_back({it->first, e.ports});
      e.next_ms = now_ms + kIntervalMs;
    }
    if (e.next_ms >= e.end_ms) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

}  // namespace control
