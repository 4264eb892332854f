// Portico's BGP speaker: one session per configured peer, on ordinary kernel sockets.
//
// Runs in the control thread. The node's own addresses live on the exception tap, so the
// kernel's TCP stack carries the sessions: the data plane punts TCP to the node address to the
// tap like any other traffic for the node. The runner owns one Speaker and
//   * calls configure() with the peers the loaded objects select for this node (at start and
//     on every reload: new peers start, removed peers get Cease/Peer De-configured, changed
//     peers are restarted with Cease/Other Configuration Change);
//   * calls set_routes() with every peer's desired routes (control/bgp/announce.h); each
//     Established session sends the difference from its Adj-RIB-Out;
//   * calls poll() from its loop: socket I/O, timers (ConnectRetry with backoff, hold,
//     keepalive), accepting passive connections;
//   * calls shutdown() on SIGTERM: every session withdraws its routes (or, with graceful
//     restart negotiated, keeps them and just closes after a Cease so the peer retains them
//     as stale), flushes, and closes, bounded by a deadline.
// Received routes are never installed: UPDATEs are decoded (RFC 7606), counted and dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/ip.h"
#include "control/bgp/codec.h"

namespace bgp {

// One session as the speaker runs it (built from a BGPPeer by the runner).
struct PeerConfig {
  std::string name;  // BGPPeer namespace/name, for logs and status
  uint32_t my_asn = 0;
  uint32_t peer_asn = 0;
  config::IpAddress peer_address;
  std::optional<config::IpAddress> source_address;  // bind() before connect; else kernel picks
  uint16_t peer_port = 179;
  uint16_t hold_time_s = 90;     // proposed; negotiated = min(ours, theirs); 0 = no keepalives
  uint16_t keepalive_time_s = 30;
  uint16_t connect_retry_s = 5;  // first ConnectRetry interval; doubles up to 120 s
  uint32_t router_id = 0;        // host order; BGP Identifier
  std::string password;          // TCP-MD5 (RFC 2385) when not empty
  bool ebgp_multihop = false;    // eBGP: TTL 255 instead of 1
  bool graceful_restart = false; // advertise RFC 4724 (restart time 120 s)
  bool passive_only = false;     // never connect; wait for the peer
  bool operator==(const PeerConfig&) const = default;
};

// A route the speaker announces; the next hop is always this end of the session.
struct Route {
  Prefix prefix;
  std::optional<uint32_t> local_pref;  // sent on iBGP sessions only
  std::vector<uint32_t> communities;   // sorted, unique
  std::vector<LargeCommunity> large_communities;  // sorted, unique
  bool operator==(const Route&) const = default;
};

enum class SessionState : uint8_t { kIdle, kConnect, kActive, kOpenSent, kOpenConfirm, kEstablished };
const char* state_name(SessionState s);

struct PeerStatus {
  std::string name;
  config::IpAddress peer_address;
  SessionState state = SessionState::kIdle;
  uint16_t negotiated_hold_s = 0;
  uint64_t established_transitions = 0;
  uint64_t updates_sent = 0, updates_received = 0;
  uint64_t prefixes_received = 0;   // counted and discarded
  uint64_t prefixes_advertised = 0; // in the Adj-RIB-Out now
  uint64_t notifications_sent = 0, notifications_received = 0;
  std::string last_error;  // last NOTIFICATION or socket error, in words (kept after recovery)
  uint64_t last_error_unix = 0;   // when last_error was set (Unix seconds; 0: never)
  uint64_t state_since_unix = 0;  // when the session entered its current state
};

class Speaker {
 public:
  Speaker();
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Port the passive listener binds (tests use another); 0 = no listener. Before configure().
  void set_listen_port(uint16_t port);

  void configure(const std::vector<PeerConfig>& peers);
  // Desired routes per peer name; peers not in the map get none.
  void set_routes(const std::map<std::string, std::vector<Route>>& routes);
  // Runs ready I/O and due timers, waiting at most timeout_ms for something to happen.
  void poll(int timeout_ms);
  // Withdraw (or GR-close) and close every session; returns when done or at the deadline.
  void shutdown(std::chrono::milliseconds deadline);

  std::vector<PeerStatus> status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bgp
