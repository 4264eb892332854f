// One BGP peer on kernel TCP sockets: connections, framing, the FSM's actions, the Adj-RIB-Out.
//
// Runs in the control thread; the Speaker (speaker.cc) owns one Session per configured peer,
// polls the descriptors each Session lists, and hands it readiness, accepted connections and
// the time. Owns:
//   * the session's connection (active: non-blocking connect to peer_address:peer_port, bound to
//     source_address when given; passive: a socket the Speaker accepted for this peer), with a
//     read buffer framed by the codec (partial reads, several messages per read) and a write
//     queue (partial writes);
//   * at most one second, incoming connection while the first is in OpenSent / OpenConfirm, for
//     collision detection (RFC 4271 6.8);
//   * closing connections: after a NOTIFICATION or a close, the queued bytes are flushed, then
//     shutdown(SHUT_WR), then the peer's FIN is awaited (bounded), so the peer reads the
//     NOTIFICATION instead of a reset;
//   * the Fsm (fsm.h) and, while Established, the AdjRibOut (rib_out.h).
// Socket options (RFC 2385, RFC 4271 single-hop practice): TCP_MD5SIG with the peer address
// before connect() when a password is set, IP_TTL / IPV6_UNICAST_HOPS 1 for single-hop eBGP and
// 255 for iBGP and multihop, IP_TOS / IPV6_TCLASS CS6 (0xc0), TCP_NODELAY.
// Received UPDATEs are decoded (RFC 7606 outcomes logged), counted and dropped; ones whose
// AS_PATH holds our AS (our routes reflected back) are counted apart.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/bgp/codec.h"
#include "control/bgp/fsm.h"
#include "control/bgp/rib_out.h"
#include "control/bgp/speaker.h"

namespace bgp {

// A TCP connection of a session (defined in session.cc).
struct Connection;

// Socket helpers the Speaker's listeners share.
socklen_t to_sockaddr(const config::IpAddress& a, uint16_t port, sockaddr_storage* ss);
std::optional<config::IpAddress> from_sockaddr(const sockaddr_storage& ss);
// Installs the TCP-MD5 key (RFC 2385) for connections with `peer` on `fd`; an empty key removes
// it. Returns 0 or an errno value.
int set_md5_key(int fd, const config::IpAddress& peer, const std::string& key);
// IP_TOS / IPV6_TCLASS CS6, as routers mark their control traffic.
void set_cs6(int fd, config::IpFamily family);

class Session {
 public:
  Session(const PeerConfig& cfg, uint64_t seed);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const PeerConfig& config() const { return cfg_; }
  Afi family() const { return family_; }
  SessionState state() const { return fsm_.state(); }
  const Fsm& fsm() const { return fsm_; }

  void start(uint64_t now_ms);
  // ManualStop: Cease with `cease_subcode` on an open BGP connection, then close; no restart.
  void stop(uint8_t cease_subcode, uint64_t now_ms);
  // SIGTERM: with graceful restart negotiated, close without NOTIFICATION (the peer keeps our
  // routes as stale); otherwise withdraw everything, then Cease/Administrative Shutdown. Closing
  // connections get until `deadline_ms` to flush and see the peer's FIN.
  void shutdown(uint64_t now_ms, uint64_t deadline_ms);
  // No socket left (closing ones included): a stopped session can be dropped.
  bool closed() const;

  void set_routes(const std::vector<Route>& routes, uint64_t now_ms);
  // A connection the Speaker accepted from this peer's address; the session owns `fd` now.
  void accept(int fd, uint64_t now_ms);

  struct PollItem {
    int fd;
    short events;
    uint64_t connection_id;
  };
  void poll_items(std::vector<PollItem>& out) const;
  void on_io(uint64_t connection_id, short revents, uint64_t now_ms);
  void on_time(uint64_t now_ms);
  std::optional<uint64_t> next_deadline() const;

  // Closes every socket at once (the end of shutdown, or destruction).
  void abort();

  PeerStatus status() const;
  uint64_t own_routes_received() const { return own_routes_received_; }
  uint64_t treat_as_withdraw() const { return treat_as_withdraw_; }

 private:
  using Conn = std::unique_ptr<Connection>;

  void apply(std::vector<FsmAction> actions, uint64_t now_ms);
  void open_connection(uint64_t now_ms);
  Conn adopt_fd(int fd, bool outgoing);
  void retire(Conn conn, uint64_t now_ms);
  void queue(Connection& c, std::vector<uint8_t> bytes);
  void flush(Connection& c);
  void send_updates(const std::vector<Update>& updates, uint64_t now_ms);
  void send_notification(Connection& c, const Notification& n);
  void read_from(Connection& c, uint64_t now_ms);
  void process_frames(Connection& c, uint64_t now_ms);
  void on_message(Connection& c, Message&& msg, uint64_t now_ms);
  void on_primary_message(Message&& msg, uint64_t now_ms);
  void on_candidate_message(Message&& msg, uint64_t now_ms);
  void on_update(const Update& u);
  void connection_failed(Connection& c, const std::string& why, uint64_t now_ms);
  void note_error(const std::string& why);  // last_error and its time
  void closing_io(Connection& c, short revents);
  void message_error(Connection& c, const Error& e, uint64_t now_ms);
  Connection* find(uint64_t connection_id);
  // End of every public entry point: I/O failures found while sending become FSM events,
  // closed connections are dropped, state changes are logged.
  void settle(uint64_t now_ms);

  PeerConfig cfg_;
  Afi family_;
  Fsm fsm_;
  std::string label_;  // "peer=NAME address=ADDR" for logs
  CodecOptions codec_;
  std::vector<Route> desired_;
  std::optional<AdjRibOut> rib_;
  Conn primary_;
  Conn candidate_;
  std::vector<Conn> closing_;
  uint64_t next_connection_id_ = 1;
  bool shutting_down_ = false;
  SessionState logged_state_ = SessionState::kIdle;
  uint64_t linger_deadline_ms_ = 0;  // shutdown's deadline for closing connections

  PeerStatus counters_;
  uint64_t own_routes_received_ = 0;
  uint64_t treat_as_withdraw_ = 0;
};

}  // namespace bgp
