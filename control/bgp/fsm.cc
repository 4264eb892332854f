// The BGP FSM (RFC 4271 section 8.2.2), OPEN construction and checks, collision resolution.
// Overview and deviations in fsm.h.
#include "control/bgp/fsm.h"

#include <algorithm>

namespace bgp {

namespace {

using Kind = FsmAction::Kind;

FsmAction act(Kind k) { return FsmAction{k, {}}; }

FsmAction notify(uint8_t code, uint8_t subcode, std::vector<uint8_t> data = {}) {
  return FsmAction{Kind::kSendNotification, Notification{code, subcode, std::move(data)}};
}

// RFC 6608 FSM error subcodes: the unexpected message arrived in this state.
constexpr uint8_t kFsmUnexpectedInOpenSent = 1, kFsmUnexpectedInOpenConfirm = 2,
                  kFsmUnexpectedInEstablished = 3;

bool is_ibgp(const PeerConfig& cfg) { return cfg.my_asn == cfg.peer_asn; }

bool contains(const std::vector<AfiSafi>& v, const AfiSafi& af) {
  return std::find(v.begin(), v.end(), af) != v.end();
}

}  // namespace

const char* state_name(SessionState s) {
  switch (s) {
    case SessionState::kIdle:
      return "Idle";
    case SessionState::kConnect:
      return "Connect";
    case SessionState::kActive:
      return "Active";
    case SessionState::kOpenSent:
      return "OpenSent";
    case SessionState::kOpenConfirm:
      return "OpenConfirm";
    case SessionState::kEstablished:
      return "Established";
  }
  return "?";
}

const char* event_name(FsmEvent e) {
  switch (e) {
    case FsmEvent::kManualStart:
      return "ManualStart";
    case FsmEvent::kManualStop:
      return "ManualStop";
    case FsmEvent::kConnectRetryTimerExpires:
      return "ConnectRetryTimer_Expires";
    case FsmEvent::kHoldTimerExpires:
      return "HoldTimer_Expires";
    case FsmEvent::kKeepaliveTimerExpires:
      return "KeepaliveTimer_Expires";
    case FsmEvent::kTcpCrAcked:
      return "Tcp_CR_Acked";
    case FsmEvent::kTcpConnectionConfirmed:
      return "TcpConnectionConfirmed";
    case FsmEvent::kTcpConnectionFails:
      return "TcpConnectionFails";
    case FsmEvent::kBgpOpen:
      return "BGPOpen";
    case FsmEvent::kBgpHeaderErr:
      return "BGPHeaderErr";
    case FsmEvent::kBgpOpenMsgErr:
      return "BGPOpenMsgErr";
    case FsmEvent::kOpenCollisionDump:
      return "OpenCollisionDump";
    case FsmEvent::kNotifMsgVerErr:
      return "NotifMsgVerErr";
    case FsmEvent::kNotifMsg:
      return "NotifMsg";
    case FsmEvent::kKeepAliveMsg:
      return "KeepAliveMsg";
    case FsmEvent::kUpdateMsg:
      return "UpdateMsg";
    case FsmEvent::kUpdateMsgErr:
      return "UpdateMsgErr";
    case FsmEvent::kRouteRefreshMsg:
      return "RouteRefreshMsg";
  }
  return "?";
}

const char* action_name(FsmAction::Kind k) {
  switch (k) {
    case Kind::kConnect:
      return "connect";
    case Kind::kClose:
      return "close";
    case Kind::kSendOpen:
      return "send_open";
    case Kind::kSendKeepalive:
      return "send_keepalive";
    case Kind::kSendNotification:
      return "send_notification";
    case Kind::kEstablished:
      return "established";
    case Kind::kLeftEstablished:
      return "left_established";
  }
  return "?";
}

Open make_open(const PeerConfig& cfg, Afi family) {
  Open o;
  o.version = 4;
  o.my_as = cfg.my_asn > 0xffff ? kAsTrans : static_cast<uint16_t>(cfg.my_asn);
  o.hold_time_s = cfg.hold_time_s;
  o.bgp_id = cfg.router_id;
  const AfiSafi af{family, kSafiUnicast};
  o.caps.multiprotocol = {af};
  o.caps.route_refresh = true;
  o.caps.four_octet_as = cfg.my_asn;
  if (cfg.graceful_restart) {
    // R clear: the peer must not wait for our End-of-RIB before using what it kept; F clear:
    // the data plane's state does not survive a restart of Portico.
    GracefulRestart gr;
    gr.restart_state = false;
    gr.restart_time_s = kGracefulRestartTimeS;
    gr.families.push_back({af, false});
    o.caps.graceful_restart = gr;
  }
  return o;
}

std::variant<Negotiated, Error> check_open(const PeerConfig& cfg, const Open& ours,
                                           const Open& theirs) {
  // RFC 4271 6.2, in its order: version, peer AS, hold time, BGP Identifier, then parameters.
  if (theirs.version != 4) {
    return Error{err::kOpen,
                 err::kOpenUnsupportedVersion,
                 {0, 4},
                 "unsupported version " + std::to_string(theirs.version)};
  }
  // RFC 6793 4.1: a NEW speaker's AS is the one in capability 65; the 2-octet field then holds
  // AS_TRANS when the AS does not fit.
  const uint32_t peer_as = theirs.caps.four_octet_as ? *theirs.caps.four_octet_as : theirs.my_as;
  if (peer_as != cfg.peer_asn) {
    return Error{
        err::kOpen,
        err::kOpenBadPeerAs,
        {},
        "peer AS " + std::to_string(peer_as) + ", expected " + std::to_string(cfg.peer_asn)};
  }
  if (theirs.hold_time_s == 1 || theirs.hold_time_s == 2) {
    return Error{err::kOpen,
                 err::kOpenUnacceptableHoldTime,
                 {},
                 "hold time " + std::to_string(theirs.hold_time_s) + " s"};
  }
  // RFC 6286: zero is never valid; equal to ours is a loop or a misconfiguration within an AS.
  if (theirs.bgp_id == 0 || (theirs.bgp_id == cfg.router_id && is_ibgp(cfg))) {
    return Error{err::kOpen,
                 err::kOpenBadBgpId,
                 {},
                 theirs.bgp_id == 0 ? "BGP identifier 0" : "BGP identifier equal to ours"};
  }
  // Our AS does not fit in two octets: an OLD speaker (no capability 65) would see AS_TRANS and
  // mangle our AS_PATH. RFC 5492 5: Unsupported Capability, data = the capability we need.
  if (cfg.my_asn > 0xffff && !theirs.caps.four_octet_as) {
    const uint32_t a = cfg.my_asn;
    return Error{err::kOpen,
                 err::kOpenUnsupportedCapability,
                 {65, 4, uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)},
                 "peer lacks the 4-octet AS capability and our AS is " + std::to_string(a)};
  }

  Negotiated n;
  n.hold_time_s = std::min(ours.hold_time_s, theirs.hold_time_s);
  if (n.hold_time_s != 0) {
    n.keepalive_interval_ms = uint32_t(n.hold_time_s) * 1000 / 3;
    const uint32_t configured = uint32_t(cfg.keepalive_time_s) * 1000;
    if (configured != 0 && configured < n.keepalive_interval_ms) {
      n.keepalive_interval_ms = configured;
    }
  }
  n.peer_bgp_id = theirs.bgp_id;
  n.peer_asn = peer_as;
  n.four_octet_as = ours.caps.four_octet_as.has_value() && theirs.caps.four_octet_as.has_value();
  n.route_refresh = theirs.caps.route_refresh;
  n.graceful_restart =
      ours.caps.graceful_restart.has_value() && theirs.caps.graceful_restart.has_value();
  for (const auto& af : ours.caps.multiprotocol) {
    // RFC 4760 8: a peer that sends no multiprotocol capability speaks IPv4 unicast only.
    const bool implied_v4 =
        theirs.caps.multiprotocol.empty() && af.afi == Afi::kIPv4 && af.safi == kSafiUnicast;
    if (implied_v4 || contains(theirs.caps.multiprotocol, af)) n.families.push_back(af);
  }
  return n;
}

bool keep_locally_initiated(uint32_t local_bgp_id, uint32_t remote_bgp_id) {
  return local_bgp_id > remote_bgp_id;
}

Fsm::Fsm(const PeerConfig& cfg, Afi family, uint64_t seed)
    : cfg_(cfg),
      family_(family),
      our_open_(make_open(cfg, family)),
      retry_interval_s_(std::clamp<uint32_t>(cfg.connect_retry_s, 1, kMaxConnectRetryS)),
      rng_(seed ? seed : 0x9e3779b97f4a7c15ull) {}

double Fsm::jitter() {
  // xorshift64*: enough for spreading reconnects; RFC 4271 10 asks for a factor in [0.75, 1].
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  const uint64_t r = rng_ * 0x2545f4914f6cdd1dull;
  return 0.75 + 0.25 * double(r >> 11) / double(1ull << 53);
}

void Fsm::start_connect_retry(uint64_t now_ms) {
  connect_retry_at_ = now_ms + uint64_t(double(retry_interval_s_) * 1000.0 * jitter());
  retry_interval_s_ = std::min<uint32_t>(retry_interval_s_ * 2, kMaxConnectRetryS);
}

void Fsm::stop_timers() {
  connect_retry_at_.reset();
  hold_at_.reset();
  keepalive_at_.reset();
}

void Fsm::set_hold(uint64_t now_ms) {
  if (negotiated_.hold_time_s == 0) {
    hold_at_.reset();
  } else {
    hold_at_ = now_ms + uint64_t(negotiated_.hold_time_s) * 1000;
  }
}

void Fsm::set_keepalive(uint64_t now_ms) {
  if (negotiated_.keepalive_interval_ms == 0) {
    keepalive_at_.reset();
  } else {
    keepalive_at_ = now_ms + negotiated_.keepalive_interval_ms;
  }
}

void Fsm::message_sent(uint64_t now_ms) {
  if (state_ == SessionState::kEstablished && keepalive_at_) set_keepalive(now_ms);
}

void Fsm::go(SessionState next, uint64_t now_ms, std::vector<FsmAction>& out) {
  if (state_ == SessionState::kEstablished && next != SessionState::kEstablished) {
    out.push_back(act(Kind::kLeftEstablished));
    // A session that stayed up is not flapping: its next reconnect starts the backoff over.
    if (now_ms - established_at_ms_ >= kStableEstablishedMs) {
      retry_interval_s_ = std::clamp<uint32_t>(cfg_.connect_retry_s, 1, kMaxConnectRetryS);
    }
  }
  if (next == SessionState::kEstablished && state_ != SessionState::kEstablished) {
    established_at_ms_ = now_ms;
    out.push_back(act(Kind::kEstablished));
  }
  state_ = next;
}

void Fsm::fail(uint64_t now_ms, std::vector<FsmAction>& out) {
  stop_timers();
  out.push_back(act(Kind::kClose));
  ++connect_retry_counter_;
  go(SessionState::kIdle, now_ms, out);
  if (started_) start_connect_retry(now_ms);  // automatic restart after the idle hold
}

void Fsm::fail_with(uint8_t code, uint8_t subcode, std::vector<uint8_t> data, uint64_t now_ms,
                    std::vector<FsmAction>& out) {
  out.push_back(notify(code, subcode, std::move(data)));
  fail(now_ms, out);
}

void Fsm::to_open_confirm(const Negotiated& n, uint64_t now_ms, std::vector<FsmAction>& out) {
  negotiated_ = n;
  connect_retry_at_.reset();
  out.push_back(act(Kind::kSendKeepalive));
  set_keepalive(now_ms);
  set_hold(now_ms);
  go(SessionState::kOpenConfirm, now_ms, out);
}

std::vector<FsmAction> Fsm::stop(uint64_t now_ms, std::optional<uint8_t> cease_subcode) {
  std::vector<FsmAction> out;
  const bool had_session = state_ == SessionState::kOpenSent ||
                           state_ == SessionState::kOpenConfirm ||
                           state_ == SessionState::kEstablished;
  const bool had_connection = state_ != SessionState::kIdle;
  started_ = false;
  stop_timers();
  connect_retry_counter_ = 0;
  if (had_session && cease_subcode) out.push_back(notify(err::kCease, *cease_subcode));
  if (had_connection) out.push_back(act(Kind::kClose));
  go(SessionState::kIdle, now_ms, out);
  return out;
}

std::vector<FsmAction> Fsm::handle(FsmEvent e, uint64_t now_ms) {
  std::vector<FsmAction> out;
  if (e == FsmEvent::kManualStop) return stop(now_ms, err::kCeaseAdminShutdown);

  switch (state_) {
    case SessionState::kIdle:
      switch (e) {
        case FsmEvent::kManualStart:
          started_ = true;
          connect_retry_counter_ = 0;
          retry_interval_s_ = std::clamp<uint32_t>(cfg_.connect_retry_s, 1, kMaxConnectRetryS);
          [[fallthrough]];
        case FsmEvent::kConnectRetryTimerExpires:  // automatic restart after the idle hold
          if (!started_) break;
          connect_retry_at_.reset();
          if (cfg_.passive_only) {
            go(SessionState::kActive, now_ms, out);
          } else {
            // The ConnectRetry timer doubles as the connect timeout; it backs off only when an
            // attempt fails (fail() and the Connect-state expiry).
            connect_retry_at_ = now_ms + uint64_t(double(retry_interval_s_) * 1000.0 * jitter());
            out.push_back(act(Kind::kConnect));
            go(SessionState::kConnect, now_ms, out);
          }
          break;
        case FsmEvent::kTcpConnectionConfirmed:  // accepted while a restart is pending (fsm.h)
          if (!started_) break;
          connect_retry_at_.reset();
          out.push_back(act(Kind::kSendOpen));
          hold_at_ = now_ms + uint64_t(kLargeHoldTimeS) * 1000;
          go(SessionState::kOpenSent, now_ms, out);
          break;
        default:
          break;  // RFC 4271: other events in Idle are ignored
      }
      break;

    case SessionState::kConnect:
    case SessionState::kActive:
      switch (e) {
        case FsmEvent::kManualStart:
          break;
        case FsmEvent::kConnectRetryTimerExpires:
          if (cfg_.passive_only) break;  // never connects; keeps listening in Active
          // Connect: the attempt timed out, drop it and try again; Active: time to connect.
          if (state_ == SessionState::kConnect) out.push_back(act(Kind::kClose));
          ++connect_retry_counter_;
          start_connect_retry(now_ms);
          out.push_back(act(Kind::kConnect));
          go(SessionState::kConnect, now_ms, out);
          break;
        case FsmEvent::kTcpCrAcked:
        case FsmEvent::kTcpConnectionConfirmed:
          connect_retry_at_.reset();
          out.push_back(act(Kind::kSendOpen));
          hold_at_ = now_ms + uint64_t(kLargeHoldTimeS) * 1000;
          go(SessionState::kOpenSent, now_ms, out);
          break;
        default:
          // TcpConnectionFails and anything that needs a BGP connection we do not have yet.
          fail(now_ms, out);
          break;
      }
      break;

    case SessionState::kOpenSent:
      switch (e) {
        case FsmEvent::kManualStart:
        case FsmEvent::kTcpCrAcked:
        case FsmEvent::kTcpConnectionConfirmed:
          break;  // a second connection: the session handles the collision
        case FsmEvent::kHoldTimerExpires:
          fail_with(err::kHoldTimerExpired, 0, {}, now_ms, out);
          break;
        case FsmEvent::kTcpConnectionFails:
          // RFC 4271: back to Active, listening, with the ConnectRetry timer running.
          stop_timers();
          out.push_back(act(Kind::kClose));
          ++connect_retry_counter_;
          if (!cfg_.passive_only) start_connect_retry(now_ms);
          go(SessionState::kActive, now_ms, out);
          break;
        case FsmEvent::kOpenCollisionDump:
          fail_with(err::kCease, err::kCeaseCollision, {}, now_ms, out);
          break;
        case FsmEvent::kNotifMsg:
        case FsmEvent::kNotifMsgVerErr:
          fail(now_ms, out);
          break;
        default:
          fail_with(err::kFsm, kFsmUnexpectedInOpenSent, {}, now_ms, out);
          break;
      }
      break;

    case SessionState::kOpenConfirm:
      switch (e) {
        case FsmEvent::kManualStart:
        case FsmEvent::kTcpCrAcked:
        case FsmEvent::kTcpConnectionConfirmed:
          break;
        case FsmEvent::kHoldTimerExpires:
          fail_with(err::kHoldTimerExpired, 0, {}, now_ms, out);
          break;
        case FsmEvent::kKeepaliveTimerExpires:
          out.push_back(act(Kind::kSendKeepalive));
          set_keepalive(now_ms);
          break;
        case FsmEvent::kTcpConnectionFails:
        case FsmEvent::kNotifMsg:
        case FsmEvent::kNotifMsgVerErr:
          fail(now_ms, out);
          break;
        case FsmEvent::kOpenCollisionDump:
          fail_with(err::kCease, err::kCeaseCollision, {}, now_ms, out);
          break;
        case FsmEvent::kKeepAliveMsg:
          set_hold(now_ms);
          go(SessionState::kEstablished, now_ms, out);
          break;
        default:
          fail_with(err::kFsm, kFsmUnexpectedInOpenConfirm, {}, now_ms, out);
          break;
      }
      break;

    case SessionState::kEstablished:
      switch (e) {
        case FsmEvent::kManualStart:
        case FsmEvent::kTcpCrAcked:
        case FsmEvent::kTcpConnectionConfirmed:
          break;
        case FsmEvent::kHoldTimerExpires:
          fail_with(err::kHoldTimerExpired, 0, {}, now_ms, out);
          break;
        case FsmEvent::kKeepaliveTimerExpires:
          out.push_back(act(Kind::kSendKeepalive));
          set_keepalive(now_ms);
          break;
        case FsmEvent::kKeepAliveMsg:
        case FsmEvent::kUpdateMsg:
        case FsmEvent::kRouteRefreshMsg:
          set_hold(now_ms);
          break;
        case FsmEvent::kTcpConnectionFails:
        case FsmEvent::kNotifMsg:
        case FsmEvent::kNotifMsgVerErr:
          fail(now_ms, out);
          break;
        case FsmEvent::kOpenCollisionDump:
          fail_with(err::kCease, err::kCeaseCollision, {}, now_ms, out);
          break;
        default:
          fail_with(err::kFsm, kFsmUnexpectedInEstablished, {}, now_ms, out);
          break;
      }
      break;
  }
  return out;
}

std::vector<FsmAction> Fsm::open_received(const Open& open, uint64_t now_ms) {
  if (state_ != SessionState::kOpenSent) return handle(FsmEvent::kBgpOpen, now_ms);
  std::vector<FsmAction> out;
  auto checked = check_open(cfg_, our_open_, open);
  if (auto* e = std::get_if<Error>(&checked)) {
    fail_with(e->code, e->subcode, e->data, now_ms, out);
  } else {
    to_open_confirm(std::get<Negotiated>(checked), now_ms, out);
  }
  return out;
}

std::vector<FsmAction> Fsm::message_error(const Error& error, uint64_t now_ms) {
  std::vector<FsmAction> out;
  switch (state_) {
    case SessionState::kIdle:
      break;
    case SessionState::kConnect:
    case SessionState::kActive:
      fail(now_ms, out);
      break;
    default:
      fail_with(error.code, error.subcode, error.data, now_ms, out);
      break;
  }
  return out;
}

std::vector<FsmAction> Fsm::adopt_connection(const Open& open, uint64_t now_ms) {
  std::vector<FsmAction> out;
  auto checked = check_open(cfg_, our_open_, open);
  if (auto* e = std::get_if<Error>(&checked)) {
    out.push_back(notify(e->code, e->subcode, e->data));
    out.push_back(act(Kind::kClose));
    return out;  // stays where the collision dump left it (Idle, restart pending)
  }
  started_ = true;
  to_open_confirm(std::get<Negotiated>(checked), now_ms, out);
  return out;
}

std::optional<uint64_t> Fsm::next_deadline() const {
  std::optional<uint64_t> d;
  for (const auto& t : {connect_retry_at_, hold_at_, keepalive_at_}) {
    if (t && (!d || *t < *d)) d = t;
  }
  return d;
}

std::vector<FsmAction> Fsm::on_time(uint64_t now_ms) {
  std::vector<FsmAction> out;
  // Each expiry may re-arm or clear the others; a handful of rounds covers every chain.
  for (int round = 0; round < 4; ++round) {
    std::optional<uint64_t>* due = nullptr;
    FsmEvent e{};
    // Hold first: a dead peer is dead even if our keepalive is also due.
    if (hold_at_ && *hold_at_ <= now_ms) {
      due = &hold_at_;
      e = FsmEvent::kHoldTimerExpires;
    } else if (keepalive_at_ && *keepalive_at_ <= now_ms) {
      due = &keepalive_at_;
      e = FsmEvent::kKeepaliveTimerExpires;
    } else if (connect_retry_at_ && *connect_retry_at_ <= now_ms) {
      due = &connect_retry_at_;
      e = FsmEvent::kConnectRetryTimerExpires;
    }
    if (!due) break;
    due->reset();
    auto more = handle(e, now_ms);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

}  // namespace bgp
