// When to send gratuitous ARP / unsolicited NA for addresses that appear.
//
// MetalLB's schedule (speaker announcer.go): when a node starts to answer for an address it
// announces at once, then every 1.1 s (past Linux's 1 s ARP locktime) until 5 s have passed:
// five bursts. Re-starting an address already being announced pushes its deadline forward.
// Pure code with time injected in milliseconds; the runner sends what take_due() returns.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "config/ip.h"

namespace control {

class AnnounceSchedule {
 public:
  static constexpr uint64_t kIntervalMs = 1100;
  static constexpr uint64_t kDurationMs = 5000;

  struct Due {
    config::IpAddress ip;
    uint32_t ports;  // interfaces to announce on (bit i = NodeConfig interfaces[i])
  };

  void start(const config::IpAddress& ip, uint32_t ports, uint64_t now_ms);
  void cancel(const config::IpAddress& ip);
  std::vector<Due> take_due(uint64_t now_ms);
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    uint32_t ports;
    uint64_t next_ms;
    uint64_t end_ms;
  };
  std::map<config::IpAddress, Entry> entries_;
};

}  // namespace control
