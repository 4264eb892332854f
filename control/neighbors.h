// The control thread's side of next-hop resolution (RFC 826, RFC 4861 §7.3 in spirit).
//
// Owns the mapping next-hop address -> nf::NeighborTable index (stable while any Snapshot uses
// it, so MACs survive reloads), chooses the next hop for a destination (a connected subnet of an
// interface, else the longest matching NodeConfig route's gateway), and keeps entries fresh:
//  * unresolved entries in use get a broadcast ARP request / multicast NS every retransmit
//    interval for maxProbes tries, then every 10 intervals (a backend that comes up later is
//    still found), and at once when a worker reports a miss;
//  * resolved entries not heard from for reachableTime get unicast probes; after maxProbes
//    unanswered probes the entry is invalidated (packets then wait for a new resolution);
//  * entries no Snapshot uses any more are freed once the next Snapshot is published.
// Workers refresh entries themselves from every ARP / NA they see (nf/l4.cc), so a busy next
// hop is never probed. Control thread only; frames go out through `send`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <rte_ether.h>

#include "config/objects.h"
#include "nf/neighbor_table.h"

namespace control {

struct NextHop {
  config::IpAddress address;  // the backend itself when on-link, else a gateway
  uint8_t interface = 0;      // NodeConfig interfaces index
};

// The next hop towards dst, or nullopt if no connected subnet or route covers it.
std::optional<NextHop> route_to(const config::NodeConfig& node, const config::IpAddress& dst);

class NeighborManager {
 public:
  // send(interface, frame, length): queue a frame for transmission on that interface.
  using Sender = std::function<void(uint8_t, const uint8_t*, uint16_t)>;

  NeighborManager(nf::NeighborTable& table, uint64_t tsc_hz);

  // Node settings: addresses used as the source of requests, MACs, timers.
  void configure(const config::NodeConfig& node, const std::vector<rte_ether_addr>& macs);

  // Snapshot building: marks the start of a build, hands out indices, and after the Snapshot
  // is published, frees the indices the build did not use.
  void begin_build();
  int index_for(const NextHop& hop);  // -1 if the table is full
  void end_build_published();

  // A worker found idx unresolved.
  void request(uint32_t idx, uint64_t now);
  // Called every few tens of milliseconds.
  void tick(uint64_t now, const Sender& send);

  struct Info {
    config::IpAddress address;
    uint8_t interface;
    bool resolved;
    std::string mac;
  };
  std::vector<Info> entries() const;
  size_t in_use() const { return by_addr_.size(); }

 private:
  struct Entry {
    NextHop hop;
    bool used = false;
    bool used_in_build = false;
    bool was_valid = false;
    uint32_t probes = 0;
    uint64_t last_probe = 0;
  };
  void send_request(uint32_t idx, Entry& e, bool unicast, uint64_t now, const Sender& send);

  nf::NeighborTable& table_;
  uint64_t tsc_hz_;
  std::vector<Entry> entries_;
  std::map<std::pair<config::IpAddress, uint8_t>, uint32_t> by_addr_;
  std::vector<uint32_t> pending_requests_;
  std::vector<rte_ether_addr> macs_;
  std::vector<std::optional<config::IpAddress>> src4_, src6_;
  uint64_t reachable_ = 0, retransmit_ = 0;
  uint32_t max_probes_ = 3;
};

}  // namespace control
