// The BGP finite state machine of one peer (RFC 4271 section 8), as pure code.
//
// Runs in the control thread, inside a Session (control/bgp/session.h), which feeds it events
// (socket outcomes, decoded messages, the current time) and carries out the actions it returns
// (connect, close, send OPEN / KEEPALIVE / NOTIFICATION, session up / down). Time is injected in
// milliseconds and randomness (the RFC 4271 section 10 jitter) comes from a seed, so tests drive
// it without sockets or clocks.
//
// The FSM owns its three timers as deadlines instead of emitting start/stop actions: the caller
// asks next_deadline() and calls on_time(); tests read the deadlines directly.
//   ConnectRetry  Connect/Active: time before the next connection attempt. In Idle after a failure
//                 it is the "idle hold" before the automatic restart. The interval starts at the
//                 peer's connect_retry_s, doubles on every attempt up to 120 s, is scaled by a
//                 random factor in [0.75, 1], and goes back to connect_retry_s once a session has
//                 stayed Established for kStableEstablishedMs.
//   Hold          240 s after our OPEN is sent, then the negotiated hold time (0 = none).
//   Keepalive     negotiated hold / 3, or the peer's keepalive_time_s when smaller and non-zero.
//
// Deviations from the RFC's tables, on purpose:
//   * Idle after a failure is an automatic restart pending (RFC 4271 8.1.1 AutomaticStart with
//     the IdleHoldTimer of damping): the ConnectRetry deadline restarts the peer. While in that
//     Idle, an incoming connection from the peer is accepted (as AutomaticStart with passive TCP
//     establishment would): otherwise a router that restarts and connects first is refused and
//     waits its own connect-retry (120 s on BIRD and FRR) before trying again.
//   * A NOTIFICATION received in OpenSent just closes: answering it with an FSM-error
//     NOTIFICATION (as the table's "any other event" would) tells the peer nothing.
//   * ROUTE-REFRESH is an event of its own (restarts the hold timer in Established), since
//     RFC 2918 came after the table.
//   * stop() can close without a NOTIFICATION: the graceful-restart shutdown (RFC 4724) needs
//     the peer to see only the TCP connection go, so it keeps our routes as stale.
// Connection collisions (RFC 4271 section 6.8) involve two connections; the session tracks the
// second one and asks resolve_collision() which to keep, then sends OpenCollisionDump to this
// FSM when its own connection loses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control/bgp/codec.h"
#include "control/bgp/speaker.h"

namespace bgp {

constexpr uint16_t kLargeHoldTimeS = 240;         // RFC 4271 8.2.2: "4 minutes" after OPEN sent
constexpr uint16_t kMaxConnectRetryS = 120;       // backoff cap
constexpr uint64_t kStableEstablishedMs = 60000;  // up this long -> backoff starts over
constexpr uint16_t kGracefulRestartTimeS = 120;   // what we advertise in capability 64

// RFC 4271 section 8.1 events this implementation uses (numbers as in the RFC).
enum class FsmEvent : uint8_t {
  kManualStart,               // 1
  kManualStop,                // 2
  kConnectRetryTimerExpires,  // 9
  kHoldTimerExpires,          // 10
  kKeepaliveTimerExpires,     // 11
  kTcpCrAcked,                // 16: our connect() completed
  kTcpConnectionConfirmed,    // 17: we accepted the peer's connection
  kTcpConnectionFails,        // 18
  kBgpOpen,                   // 19 (through open_received(), which checks the OPEN)
  kBgpHeaderErr,              // 21 (through message_error())
  kBgpOpenMsgErr,             // 22 (through message_error() or open_received())
  kOpenCollisionDump,         // 23
  kNotifMsgVerErr,            // 24
  kNotifMsg,                  // 25
  kKeepAliveMsg,              // 26
  kUpdateMsg,                 // 27
  kUpdateMsgErr,              // 28 (through message_error())
  kRouteRefreshMsg,           // not in RFC 4271: a ROUTE-REFRESH (RFC 2918) arrived
};
const char* event_name(FsmEvent e);

struct FsmAction {
  enum class Kind : uint8_t {
    kConnect,  // initiate the TCP connection
    kClose,    // drop the TCP connection (after what is queued has been sent)
    kSendOpen,
    kSendKeepalive,
    kSendNotification,  // `notification` says which
    kEstablished,       // the session came up (send the Adj-RIB-Out)
    kLeftEstablished,   // the session went down from Established
  };
  Kind kind;
  Notification notification;
  bool operator==(const FsmAction&) const = default;
};
const char* action_name(FsmAction::Kind k);

// What the two OPENs agreed (RFC 4271 4.2, RFC 5492, 6793, 4760, 2918, 4724).
struct Negotiated {
  uint16_t hold_time_s = 0;  // 0 = no hold timer, no keepalives
  uint32_t keepalive_interval_ms = 0;
  uint32_t peer_bgp_id = 0;
  uint32_t peer_asn = 0;          // from capability 65 when present
  bool four_octet_as = false;     // both sent capability 65
  bool route_refresh = false;     // the peer sent capability 2
  bool graceful_restart = false;  // both sent capability 64
  std::vector<AfiSafi> families;  // unicast families both can carry
};

// The OPEN this speaker sends on a session of `family` (the transport's family): 4-octet AS
// (AS_TRANS in the 2-octet field when the ASN does not fit), route refresh, multiprotocol for the
// session family, graceful restart (restart time 120 s, F and R bits clear) when configured.
Open make_open(const PeerConfig& cfg, Afi family);

// Checks the peer's OPEN against the configuration (RFC 4271 6.2, RFC 6793 4.1, RFC 6286):
// version, hold time 1 or 2, peer AS (capability 65's AS when present, else the 2-octet field),
// BGP Identifier zero or equal to ours on iBGP, and a 4-octet own ASN against a peer without
// capability 65. On success returns what was negotiated with `ours`.
std::variant<Negotiated, Error> check_open(const PeerConfig& cfg, const Open& ours,
                                           const Open& theirs);

// RFC 4271 6.8: of two connections to the same peer, keep the one initiated by the speaker with
// the higher BGP Identifier (compared as unsigned host-order integers). Returns true when the
// connection we initiated survives.
bool keep_locally_initiated(uint32_t local_bgp_id, uint32_t remote_bgp_id);

class Fsm {
 public:
  // `family` is the transport's (the OPEN advertises it); `seed` drives the jitter.
  Fsm(const PeerConfig& cfg, Afi family, uint64_t seed);

  SessionState state() const { return state_; }
  const PeerConfig& config() const { return cfg_; }
  const Open& our_open() const { return our_open_; }
  // Valid from OpenConfirm on.
  const Negotiated& negotiated() const { return negotiated_; }

  // Events without data (timers are better fired through on_time()).
  std::vector<FsmAction> handle(FsmEvent e, uint64_t now_ms);
  // ManualStop with the Cease subcode to send when a connection is open past Connect/Active;
  // nullopt closes without a NOTIFICATION (graceful-restart shutdown).
  std::vector<FsmAction> stop(uint64_t now_ms, std::optional<uint8_t> cease_subcode);
  // An OPEN arrived on this FSM's connection: checked, then BGPOpen or BGPOpenMsgErr.
  std::vector<FsmAction> open_received(const Open& open, uint64_t now_ms);
  // A malformed message: BGPHeaderErr, BGPOpenMsgErr or UpdateMsgErr by the error's code; the
  // NOTIFICATION sent is the error's.
  std::vector<FsmAction> message_error(const Error& error, uint64_t now_ms);
  // After a collision: this FSM's connection is replaced by the other one, on which both OPENs
  // have been exchanged; the FSM moves to OpenConfirm as if `open` had arrived on its own.
  // Returns the actions for the new connection (KEEPALIVE), or the OPEN error to send on it.
  std::vector<FsmAction> adopt_connection(const Open& open, uint64_t now_ms);
  // Tells the FSM a KEEPALIVE or UPDATE went out (RFC 4271 restarts the keepalive timer then).
  void message_sent(uint64_t now_ms);

  // Fires every timer due at `now_ms`.
  std::vector<FsmAction> on_time(uint64_t now_ms);
  std::optional<uint64_t> next_deadline() const;
  std::optional<uint64_t> connect_retry_deadline() const { return connect_retry_at_; }
  std::optional<uint64_t> hold_deadline() const { return hold_at_; }
  std::optional<uint64_t> keepalive_deadline() const { return keepalive_at_; }
  // The un-jittered interval the next ConnectRetry start will use, in seconds.
  uint32_t connect_retry_interval_s() const { return retry_interval_s_; }
  uint64_t connect_retry_counter() const { return connect_retry_counter_; }
  // True between ManualStart and ManualStop (automatic restarts happen only then).
  bool started() const { return started_; }

 private:
  void go(SessionState next, uint64_t now_ms, std::vector<FsmAction>& out);
  void start_connect_retry(uint64_t now_ms);
  void stop_timers();
  void set_hold(uint64_t now_ms);
  void set_keepalive(uint64_t now_ms);
  // Drops the connection and goes to Idle with an automatic restart pending.
  void fail(uint64_t now_ms, std::vector<FsmAction>& out);
  void fail_with(uint8_t code, uint8_t subcode, std::vector<uint8_t> data, uint64_t now_ms,
                 std::vector<FsmAction>& out);
  void to_open_confirm(const Negotiated& n, uint64_t now_ms, std::vector<FsmAction>& out);
  double jitter();

  PeerConfig cfg_;
  Afi family_;
  Open our_open_;
  SessionState state_ = SessionState::kIdle;
  bool started_ = false;
  Negotiated negotiated_;
  std::optional<uint64_t> connect_retry_at_, hold_at_, keepalive_at_;
  uint32_t retry_interval_s_;
  uint64_t connect_retry_counter_ = 0;
  uint64_t established_at_ms_ = 0;
  uint64_t rng_;
};

}  // namespace bgp
