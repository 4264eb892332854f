// The BGP FSM as tables: state x event -> next state + actions (RFC 4271 section 8.2.2), then
// timers, backoff, OPEN checks and collision resolution. Time is injected; no sockets.
#include "control/bgp/fsm.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace bgp {
namespace {

using K = FsmAction::Kind;
using S = SessionState;
using E = FsmEvent;

PeerConfig ebgp() {
  PeerConfig c;
  c.name = "default/router";
  c.my_asn = 64512;
  c.peer_asn = 64500;
  c.peer_address = *config::IpAddress::parse("192.0.2.1");
  c.hold_time_s = 90;
  c.keepalive_time_s = 30;
  c.connect_retry_s = 5;
  c.router_id = 0xc0000202;  // 192.0.2.2
  return c;
}

Open peer_open(const PeerConfig& c) {
  Open o;
  o.my_as = uint16_t(c.peer_asn);
  o.hold_time_s = 90;
  o.bgp_id = 0xc0000201;
  o.caps.four_octet_as = c.peer_asn;
  o.caps.multiprotocol = {AfiSafi{Afi::kIPv4, kSafiUnicast}};
  o.caps.route_refresh = true;
  return o;
}

// What one step did, as text: "send_notification(4/0) close".
std::string describe(const std::vector<FsmAction>& actions) {
  std::string s;
  for (const auto& a : actions) {
    if (!s.empty()) s += " ";
    s += action_name(a.kind);
    if (a.kind == K::kSendNotification) {
      s += "(" + std::to_string(a.notification.code) + "/" +
           std::to_string(a.notification.subcode) + ")";
    }
  }
  return s;
}

// Drives a fresh FSM into `state` along the usual path. "Idle*" below is Idle after a failure
// (started, restart pending); plain Idle is never started.
enum class From {
  kIdle,
  kIdleStarted,
  kConnect,
  kActive,
  kActivePassive,
  kOpenSent,
  kOpenConfirm,
  kEstablished
};

const char* from_name(From f) {
  switch (f) {
    case From::kIdle:
      return "Idle";
    case From::kIdleStarted:
      return "Idle*";
    case From::kConnect:
      return "Connect";
    case From::kActive:
      return "Active";
    case From::kActivePassive:
      return "Active(passive)";
    case From::kOpenSent:
      return "OpenSent";
    case From::kOpenConfirm:
      return "OpenConfirm";
    case From::kEstablished:
      return "Established";
  }
  return "?";
}

Fsm make_in(From f, uint64_t now = 1000) {
  PeerConfig c = ebgp();
  if (f == From::kActivePassive) c.passive_only = true;
  Fsm fsm(c, Afi::kIPv4, 42);
  if (f == From::kIdle) return fsm;
  fsm.handle(E::kManualStart, now);
  if (f == From::kActivePassive || f == From::kConnect) return fsm;
  if (f == From::kIdleStarted) {
    fsm.handle(E::kTcpConnectionFails, now);
    return fsm;
  }
  fsm.handle(E::kTcpCrAcked, now);
  if (f == From::kActive) {
    fsm.handle(E::kTcpConnectionFails, now);  // OpenSent -> Active (RFC 4271 8.2.2)
    return fsm;
  }
  if (f == From::kOpenSent) return fsm;
  fsm.open_received(peer_open(c), now);
  if (f == From::kOpenConfirm) return fsm;
  fsm.handle(E::kKeepAliveMsg, now);
  return fsm;
}

struct Row {
  From from;
  FsmEvent event;
  SessionState to;
  std::string actions;
};

TEST(BgpFsm, TransitionTable) {
  const std::vector<Row> rows = {
      // Idle (RFC: only a start leaves it).
      {From::kIdle, E::kManualStart, S::kConnect, "connect"},
      {From::kIdle, E::kManualStop, S::kIdle, ""},
      {From::kIdle, E::kTcpConnectionConfirmed, S::kIdle, ""},
      {From::kIdle, E::kHoldTimerExpires, S::kIdle, ""},
      {From::kIdle, E::kKeepAliveMsg, S::kIdle, ""},
      {From::kIdle, E::kConnectRetryTimerExpires, S::kIdle, ""},
      // Idle after a failure: the idle hold ends in an automatic restart; the peer may connect.
      {From::kIdleStarted, E::kConnectRetryTimerExpires, S::kConnect, "connect"},
      {From::kIdleStarted, E::kTcpConnectionConfirmed, S::kOpenSent, "send_open"},
      {From::kIdleStarted, E::kManualStop, S::kIdle, ""},
      {From::kIdleStarted, E::kUpdateMsg, S::kIdle, ""},
      // Connect.
      {From::kConnect, E::kManualStart, S::kConnect, ""},
      {From::kConnect, E::kManualStop, S::kIdle, "close"},
      {From::kConnect, E::kConnectRetryTimerExpires, S::kConnect, "close connect"},
      {From::kConnect, E::kTcpCrAcked, S::kOpenSent, "send_open"},
      {From::kConnect, E::kTcpConnectionConfirmed, S::kOpenSent, "send_open"},
      {From::kConnect, E::kTcpConnectionFails, S::kIdle, "close"},
      {From::kConnect, E::kKeepAliveMsg, S::kIdle, "close"},
      {From::kConnect, E::kHoldTimerExpires, S::kIdle, "close"},
      // Active.
      {From::kActive, E::kManualStart, S::kActive, ""},
      {From::kActive, E::kManualStop, S::kIdle, "close"},
      {From::kActive, E::kConnectRetryTimerExpires, S::kConnect, "connect"},
      {From::kActive, E::kTcpConnectionConfirmed, S::kOpenSent, "send_open"},
      {From::kActive, E::kTcpConnectionFails, S::kIdle, "close"},
      {From::kActive, E::kUpdateMsg, S::kIdle, "close"},
      {From::kActivePassive, E::kConnectRetryTimerExpires, S::kActive, ""},
      {From::kActivePassive, E::kTcpConnectionConfirmed, S::kOpenSent, "send_open"},
      // OpenSent.
      {From::kOpenSent, E::kManualStop, S::kIdle, "send_notification(6/2) close"},
      {From::kOpenSent, E::kHoldTimerExpires, S::kIdle, "send_notification(4/0) close"},
      {From::kOpenSent, E::kTcpConnectionFails, S::kActive, "close"},
      {From::kOpenSent, E::kOpenCollisionDump, S::kIdle, "send_notification(6/7) close"},
      {From::kOpenSent, E::kNotifMsg, S::kIdle, "close"},
      {From::kOpenSent, E::kNotifMsgVerErr, S::kIdle, "close"},
      {From::kOpenSent, E::kKeepAliveMsg, S::kIdle, "send_notification(5/1) close"},
      {From::kOpenSent, E::kUpdateMsg, S::kIdle, "send_notification(5/1) close"},
      {From::kOpenSent, E::kRouteRefreshMsg, S::kIdle, "send_notification(5/1) close"},
      {From::kOpenSent, E::kConnectRetryTimerExpires, S::kIdle, "send_notification(5/1) close"},
      {From::kOpenSent, E::kTcpConnectionConfirmed, S::kOpenSent, ""},
      // OpenConfirm.
      {From::kOpenConfirm, E::kManualStop, S::kIdle, "send_notification(6/2) close"},
      {From::kOpenConfirm, E::kHoldTimerExpires, S::kIdle, "send_notification(4/0) close"},
      {From::kOpenConfirm, E::kKeepaliveTimerExpires, S::kOpenConfirm, "send_keepalive"},
      {From::kOpenConfirm, E::kTcpConnectionFails, S::kIdle, "close"},
      {From::kOpenConfirm, E::kNotifMsg, S::kIdle, "close"},
      {From::kOpenConfirm, E::kOpenCollisionDump, S::kIdle, "send_notification(6/7) close"},
      {From::kOpenConfirm, E::kKeepAliveMsg, S::kEstablished, "established"},
      {From::kOpenConfirm, E::kUpdateMsg, S::kIdle, "send_notification(5/2) close"},
      {From::kOpenConfirm, E::kConnectRetryTimerExpires, S::kIdle, "send_notification(5/2) close"},
      // Established.
      {From::kEstablished, E::kManualStop, S::kIdle,
       "send_notification(6/2) close left_established"},
      {From::kEstablished, E::kHoldTimerExpires, S::kIdle,
       "send_notification(4/0) close left_established"},
      {From::kEstablished, E::kKeepaliveTimerExpires, S::kEstablished, "send_keepalive"},
      {From::kEstablished, E::kKeepAliveMsg, S::kEstablished, ""},
      {From::kEstablished, E::kUpdateMsg, S::kEstablished, ""},
      {From::kEstablished, E::kRouteRefreshMsg, S::kEstablished, ""},
      {From::kEstablished, E::kTcpConnectionConfirmed, S::kEstablished, ""},
      {From::kEstablished, E::kTcpConnectionFails, S::kIdle, "close left_established"},
      {From::kEstablished, E::kNotifMsg, S::kIdle, "close left_established"},
      {From::kEstablished, E::kOpenCollisionDump, S::kIdle,
       "send_notification(6/7) close left_established"},
      {From::kEstablished, E::kConnectRetryTimerExpires, S::kIdle,
       "send_notification(5/3) close left_established"},
  };
  for (const auto& r : rows) {
    Fsm fsm = make_in(r.from);
    const auto actions = fsm.handle(r.event, 2000);
    EXPECT_EQ(fsm.state(), r.to) << from_name(r.from) << " x " << event_name(r.event) << " -> "
                                 << state_name(fsm.state());
    EXPECT_EQ(describe(actions), r.actions) << from_name(r.from) << " x " << event_name(r.event);
  }
}

TEST(BgpFsm, OpenAndMessageErrorsByState) {
  const Error header{err::kHeader, err::kHeaderBadLength, {0, 5}, "bad length"};
  const Error update{err::kUpdate, err::kUpdateMalformedAsPath, {}, "bad path"};
  struct Case {
    From from;
    bool open;  // open_received(valid OPEN) instead of message_error
    const Error* error;
    SessionState to;
    std::string actions;
  } cases[] = {
      {From::kOpenSent, true, nullptr, S::kOpenConfirm, "send_keepalive"},
      {From::kOpenConfirm, true, nullptr, S::kIdle, "send_notification(5/2) close"},
      {From::kEstablished, true, nullptr, S::kIdle,
       "send_notification(5/3) close left_established"},
      {From::kOpenSent, false, &header, S::kIdle, "send_notification(1/2) close"},
      {From::kOpenConfirm, false, &header, S::kIdle, "send_notification(1/2) close"},
      {From::kEstablished, false, &update, S::kIdle,
       "send_notification(3/11) close left_established"},
      {From::kConnect, false, &header, S::kIdle, "close"},
      {From::kIdle, false, &header, S::kIdle, ""},
  };
  for (const auto& c : cases) {
    Fsm fsm = make_in(c.from);
    const auto actions =
        c.open ? fsm.open_received(peer_open(ebgp()), 2000) : fsm.message_error(*c.error, 2000);
    EXPECT_EQ(fsm.state(), c.to) << from_name(c.from);
    EXPECT_EQ(describe(actions), c.actions) << from_name(c.from);
  }
  // The NOTIFICATION carries the error's data.
  Fsm fsm = make_in(From::kOpenSent);
  const auto actions = fsm.message_error(header, 2000);
  ASSERT_FALSE(actions.empty());
  EXPECT_EQ(actions[0].notification.data, (std::vector<uint8_t>{0, 5}));
}

TEST(BgpFsm, ManualStopWithoutNotificationForGracefulRestart) {
  Fsm fsm = make_in(From::kEstablished);
  EXPECT_EQ(describe(fsm.stop(2000, std::nullopt)), "close left_established");
  EXPECT_EQ(fsm.state(), S::kIdle);
  EXPECT_FALSE(fsm.started());
  EXPECT_FALSE(fsm.next_deadline());  // no automatic restart after a stop
  Fsm other = make_in(From::kOpenConfirm);
  EXPECT_EQ(describe(other.stop(2000, err::kCeasePeerDeconfigured)),
            "send_notification(6/3) close");
}

TEST(BgpFsm, HoldAndKeepaliveNegotiation) {
  struct Case {
    uint16_t ours, theirs, keepalive_cfg;
    uint16_t hold;
    uint32_t keepalive_ms;
  } cases[] = {
      {90, 90, 30, 90, 30000},  {90, 30, 30, 30, 10000},  // min(ours, theirs); keepalive = hold / 3
      {30, 180, 30, 30, 10000}, {90, 90, 5, 90, 5000},    // our keepalive_time_s when smaller
      {90, 90, 0, 90, 30000},                             // 0 = not configured
      {3, 90, 30, 3, 1000},     {0, 90, 30, 0, 0},        // 0 = no hold timer, no keepalives
      {90, 0, 30, 0, 0},
  };
  for (const auto& c : cases) {
    PeerConfig cfg = ebgp();
    cfg.hold_time_s = c.ours;
    cfg.keepalive_time_s = c.keepalive_cfg;
    Fsm fsm(cfg, Afi::kIPv4, 1);
    fsm.handle(E::kManualStart, 0);
    fsm.handle(E::kTcpCrAcked, 100);
    EXPECT_EQ(fsm.hold_deadline(), 100u + 240000u);  // "large" hold after OPEN sent
    Open o = peer_open(cfg);
    o.hold_time_s = c.theirs;
    fsm.open_received(o, 1000);
    ASSERT_EQ(fsm.state(), S::kOpenConfirm);
    EXPECT_EQ(fsm.negotiated().hold_time_s, c.hold) << c.ours << "/" << c.theirs;
    EXPECT_EQ(fsm.negotiated().keepalive_interval_ms, c.keepalive_ms) << c.ours << "/" << c.theirs;
    if (c.hold == 0) {
      EXPECT_FALSE(fsm.hold_deadline());
      EXPECT_FALSE(fsm.keepalive_deadline());
    } else {
      EXPECT_EQ(fsm.hold_deadline(), 1000u + c.hold * 1000u);
      EXPECT_EQ(fsm.keepalive_deadline(), 1000u + c.keepalive_ms);
    }
  }
}

TEST(BgpFsm, TimersFireThroughOnTime) {
  PeerConfig cfg = ebgp();
  cfg.hold_time_s = 3;
  Fsm fsm(cfg, Afi::kIPv4, 1);
  fsm.handle(E::kManualStart, 0);
  fsm.handle(E::kTcpCrAcked, 0);
  Open o = peer_open(cfg);
  o.hold_time_s = 3;
  fsm.open_received(o, 0);
  fsm.handle(E::kKeepAliveMsg, 0);
  ASSERT_EQ(fsm.state(), S::kEstablished);
  EXPECT_EQ(fsm.next_deadline(), 1000u);  // keepalive, hold / 3
  EXPECT_EQ(describe(fsm.on_time(999)), "");
  EXPECT_EQ(describe(fsm.on_time(1000)), "send_keepalive");
  EXPECT_EQ(fsm.keepalive_deadline(), 2000u);
  fsm.message_sent(1500);  // an UPDATE went out: the keepalive timer restarts
  EXPECT_EQ(fsm.keepalive_deadline(), 2500u);
  fsm.handle(E::kKeepAliveMsg, 2000);  // the peer is alive: hold restarts
  EXPECT_EQ(fsm.hold_deadline(), 5000u);
  // Nothing from the peer for 3 s: keepalives keep going out, then the hold timer fires.
  EXPECT_EQ(describe(fsm.on_time(2500)), "send_keepalive");
  EXPECT_EQ(describe(fsm.on_time(3500)), "send_keepalive");
  EXPECT_EQ(describe(fsm.on_time(5000)), "send_notification(4/0) close left_established");
  EXPECT_EQ(fsm.state(), S::kIdle);
}

TEST(BgpFsm, ConnectRetryBackoffDoublesToTheCapWithJitter) {
  PeerConfig cfg = ebgp();
  cfg.connect_retry_s = 5;
  Fsm fsm(cfg, Afi::kIPv4, 7);
  uint64_t now = 0;
  fsm.handle(E::kManualStart, now);
  // The first attempt's timer (connect timeout) uses the first interval.
  ASSERT_TRUE(fsm.connect_retry_deadline());
  EXPECT_GE(*fsm.connect_retry_deadline(), 3750u);
  EXPECT_LE(*fsm.connect_retry_deadline(), 5000u);
  const uint32_t expected[] = {5, 10, 20, 40, 80, 120, 120, 120};
  std::set<uint64_t> delays;
  for (uint32_t interval : expected) {
    // The attempt fails: Idle, restart after the current interval (jittered), then doubled.
    EXPECT_EQ(describe(fsm.handle(E::kTcpConnectionFails, now)), "close");
    ASSERT_EQ(fsm.state(), S::kIdle);
    const uint64_t delay = *fsm.connect_retry_deadline() - now;
    EXPECT_GE(delay, interval * 750u) << interval;
    EXPECT_LE(delay, interval * 1000u) << interval;
    delays.insert(delay * 1000 / interval);
    now += delay;
    EXPECT_EQ(describe(fsm.on_time(now)), "connect");
    EXPECT_EQ(fsm.state(), S::kConnect);
  }
  EXPECT_EQ(fsm.connect_retry_interval_s(), 120u);
  EXPECT_GT(delays.size(), 3u) << "the jitter factor should vary";
  // A connect that times out in Connect also backs off.
  Fsm slow(cfg, Afi::kIPv4, 7);
  slow.handle(E::kManualStart, 0);
  const uint64_t t = *slow.connect_retry_deadline();
  EXPECT_EQ(describe(slow.on_time(t)), "close connect");
  EXPECT_EQ(slow.connect_retry_interval_s(), 10u);
}

TEST(BgpFsm, BackoffStartsOverAfterAStableSession) {
  for (uint64_t up_ms : {kStableEstablishedMs - 1, kStableEstablishedMs}) {
    PeerConfig cfg = ebgp();
    cfg.connect_retry_s = 2;
    Fsm fsm(cfg, Afi::kIPv4, 3);
    uint64_t now = 0;
    fsm.handle(E::kManualStart, now);
    // Three failed attempts: the interval is now 16 s.
    for (int i = 0; i < 3; ++i) {
      fsm.handle(E::kTcpConnectionFails, now);
      now = *fsm.connect_retry_deadline();
      fsm.on_time(now);
    }
    ASSERT_EQ(fsm.connect_retry_interval_s(), 16u);
    fsm.handle(E::kTcpCrAcked, now);
    fsm.open_received(peer_open(cfg), now);
    fsm.handle(E::kKeepAliveMsg, now);
    ASSERT_EQ(fsm.state(), S::kEstablished);
    fsm.handle(E::kKeepAliveMsg, now + up_ms - 1);  // keep the hold timer quiet
    fsm.handle(E::kTcpConnectionFails, now + up_ms);
    const uint64_t delay = *fsm.connect_retry_deadline() - (now + up_ms);
    if (up_ms >= kStableEstablishedMs) {
      EXPECT_LE(delay, 2000u) << "reset to connect_retry_s after a stable session";
    } else {
      EXPECT_GE(delay, 12000u) << "a short session keeps backing off";
    }
  }
}

TEST(BgpFsm, SameSeedSameScheduleOtherSeedOther) {
  auto schedule = [](uint64_t seed) {
    Fsm fsm(ebgp(), Afi::kIPv4, seed);
    std::vector<uint64_t> out;
    uint64_t now = 0;
    fsm.handle(E::kManualStart, now);
    for (int i = 0; i < 5; ++i) {
      fsm.handle(E::kTcpConnectionFails, now);
      now = *fsm.connect_retry_deadline();
      out.push_back(now);
      fsm.on_time(now);
    }
    return out;
  };
  EXPECT_EQ(schedule(11), schedule(11));
  EXPECT_NE(schedule(11), schedule(12));
}

TEST(BgpFsm, PassiveOnlyNeverConnects) {
  PeerConfig cfg = ebgp();
  cfg.passive_only = true;
  Fsm fsm(cfg, Afi::kIPv4, 5);
  uint64_t now = 0;
  EXPECT_EQ(describe(fsm.handle(E::kManualStart, now)), "");
  EXPECT_EQ(fsm.state(), S::kActive);
  fsm.handle(E::kTcpConnectionConfirmed, now);
  fsm.handle(E::kTcpConnectionFails, now);  // OpenSent -> Active, no timer to connect
  EXPECT_EQ(fsm.state(), S::kActive);
  EXPECT_FALSE(fsm.connect_retry_deadline());
  fsm.handle(E::kTcpConnectionConfirmed, now);
  fsm.handle(E::kHoldTimerExpires, now);  // -> Idle, restart pending
  for (int i = 0; i < 10 && fsm.next_deadline(); ++i) {
    now = *fsm.next_deadline();
    for (const auto& a : fsm.on_time(now)) EXPECT_NE(a.kind, K::kConnect);
  }
  EXPECT_EQ(fsm.state(), S::kActive);
}

TEST(BgpFsm, MakeOpen) {
  PeerConfig cfg = ebgp();
  Open o = make_open(cfg, Afi::kIPv6);
  EXPECT_EQ(o.version, 4);
  EXPECT_EQ(o.my_as, 64512);
  EXPECT_EQ(o.hold_time_s, 90);
  EXPECT_EQ(o.bgp_id, cfg.router_id);
  EXPECT_EQ(o.caps.four_octet_as, 64512u);
  EXPECT_TRUE(o.caps.route_refresh);
  EXPECT_EQ(o.caps.multiprotocol, (std::vector<AfiSafi>{{Afi::kIPv6, kSafiUnicast}}));
  EXPECT_FALSE(o.caps.graceful_restart);

  cfg.my_asn = 4200000000u;
  cfg.graceful_restart = true;
  o = make_open(cfg, Afi::kIPv4);
  EXPECT_EQ(o.my_as, kAsTrans);
  EXPECT_EQ(o.caps.four_octet_as, 4200000000u);
  ASSERT_TRUE(o.caps.graceful_restart);
  EXPECT_EQ(o.caps.graceful_restart->restart_time_s, 120);
  EXPECT_FALSE(o.caps.graceful_restart->restart_state);
  ASSERT_EQ(o.caps.graceful_restart->families.size(), 1u);
  EXPECT_EQ(o.caps.graceful_restart->families[0].af, (AfiSafi{Afi::kIPv4, kSafiUnicast}));
  EXPECT_FALSE(o.caps.graceful_restart->families[0].forwarding_preserved);
}

TEST(BgpFsm, OpenChecks) {
  struct Case {
    std::string name;
    uint32_t my_asn, peer_asn, router_id;
    // The peer's OPEN.
    uint8_t version;
    uint16_t two_octet_as;
    std::optional<uint32_t> four_octet_as;
    uint16_t hold;
    uint32_t bgp_id;
    // Expected: 0/0 = accepted.
    uint8_t code, subcode;
  } cases[] = {
      {"ok", 64512, 64500, 1, 4, 64500, 64500, 90, 2, 0, 0},
      {"ok without capability 65", 64512, 64500, 1, 4, 64500, std::nullopt, 90, 2, 0, 0},
      {"version 3", 64512, 64500, 1, 3, 64500, 64500, 90, 2, err::kOpen,
       err::kOpenUnsupportedVersion},
      {"wrong AS", 64512, 64500, 1, 4, 64501, 64501, 90, 2, err::kOpen, err::kOpenBadPeerAs},
      {"capability 65 wins over the 2-octet field", 64512, 4200000000u, 1, 4, kAsTrans, 4200000000u,
       90, 2, 0, 0},
      {"capability 65 with the wrong AS", 64512, 4200000000u, 1, 4, kAsTrans, 4200000001u, 90, 2,
       err::kOpen, err::kOpenBadPeerAs},
      {"AS_TRANS without capability 65", 64512, 4200000000u, 1, 4, kAsTrans, std::nullopt, 90, 2,
       err::kOpen, err::kOpenBadPeerAs},
      {"hold 1", 64512, 64500, 1, 4, 64500, 64500, 1, 2, err::kOpen,
       err::kOpenUnacceptableHoldTime},
      {"hold 2", 64512, 64500, 1, 4, 64500, 64500, 2, 2, err::kOpen,
       err::kOpenUnacceptableHoldTime},
      {"hold 0", 64512, 64500, 1, 4, 64500, 64500, 0, 2, 0, 0},
      {"id 0", 64512, 64500, 1, 4, 64500, 64500, 90, 0, err::kOpen, err::kOpenBadBgpId},
      {"iBGP same id", 64512, 64512, 7, 4, 64512, 64512, 90, 7, err::kOpen, err::kOpenBadBgpId},
      {"eBGP same id", 64512, 64500, 7, 4, 64500, 64500, 90, 7, 0, 0},
      {"4-octet us, peer without 65", 4200000000u, 64500, 1, 4, 64500, std::nullopt, 90, 2,
       err::kOpen, err::kOpenUnsupportedCapability},
      {"4-octet us, peer with 65", 4200000000u, 64500, 1, 4, 64500, 64500, 90, 2, 0, 0},
  };
  for (const auto& c : cases) {
    PeerConfig cfg = ebgp();
    cfg.my_asn = c.my_asn;
    cfg.peer_asn = c.peer_asn;
    cfg.router_id = c.router_id;
    Open theirs;
    theirs.version = c.version;
    theirs.my_as = c.two_octet_as;
    theirs.caps.four_octet_as = c.four_octet_as;
    theirs.hold_time_s = c.hold;
    theirs.bgp_id = c.bgp_id;
    const auto r = check_open(cfg, make_open(cfg, Afi::kIPv4), theirs);
    if (c.code == 0) {
      EXPECT_TRUE(std::holds_alternative<Negotiated>(r)) << c.name;
    } else {
      ASSERT_TRUE(std::holds_alternative<Error>(r)) << c.name;
      EXPECT_EQ(std::get<Error>(r).code, c.code) << c.name;
      EXPECT_EQ(std::get<Error>(r).subcode, c.subcode) << c.name;
      EXPECT_FALSE(std::get<Error>(r).message.empty()) << c.name;
    }
  }
  // The Unsupported Capability data is the capability we need: code 65, length 4, our AS.
  PeerConfig cfg = ebgp();
  cfg.my_asn = 0x01020304;
  Open theirs;
  theirs.my_as = 64500;
  theirs.hold_time_s = 90;
  theirs.bgp_id = 2;
  const auto r = check_open(cfg, make_open(cfg, Afi::kIPv4), theirs);
  ASSERT_TRUE(std::holds_alternative<Error>(r));
  EXPECT_EQ(std::get<Error>(r).data, (std::vector<uint8_t>{65, 4, 1, 2, 3, 4}));
  // And the FSM sends it and closes.
  Fsm fsm(cfg, Afi::kIPv4, 1);
  fsm.handle(E::kManualStart, 0);
  fsm.handle(E::kTcpCrAcked, 0);
  const auto actions = fsm.open_received(theirs, 0);
  EXPECT_EQ(describe(actions), "send_notification(2/7) close");
  EXPECT_EQ(actions[0].notification.data, (std::vector<uint8_t>{65, 4, 1, 2, 3, 4}));
}

TEST(BgpFsm, NegotiatedCapabilities) {
  PeerConfig cfg = ebgp();
  cfg.graceful_restart = true;
  Open theirs = peer_open(cfg);
  theirs.caps.multiprotocol.clear();  // RFC 4760: no MP capability means IPv4 unicast
  auto n = std::get<Negotiated>(check_open(cfg, make_open(cfg, Afi::kIPv4), theirs));
  EXPECT_EQ(n.families, (std::vector<AfiSafi>{{Afi::kIPv4, kSafiUnicast}}));
  EXPECT_FALSE(n.graceful_restart);  // the peer did not offer it
  EXPECT_TRUE(n.four_octet_as);
  EXPECT_TRUE(n.route_refresh);
  EXPECT_EQ(n.peer_asn, 64500u);

  theirs.caps.graceful_restart = GracefulRestart{false, 120, {}};
  theirs.caps.four_octet_as.reset();
  theirs.caps.route_refresh = false;
  theirs.caps.multiprotocol = {AfiSafi{Afi::kIPv4, kSafiUnicast}};
  n = std::get<Negotiated>(check_open(cfg, make_open(cfg, Afi::kIPv6), theirs));
  EXPECT_TRUE(n.families.empty());  // an IPv6 session with a peer that only does IPv4
  EXPECT_TRUE(n.graceful_restart);
  EXPECT_FALSE(n.four_octet_as);
  EXPECT_FALSE(n.route_refresh);
}

TEST(BgpFsm, CollisionResolution) {
  // RFC 4271 6.8: the connection initiated by the higher BGP Identifier survives.
  EXPECT_TRUE(keep_locally_initiated(0xc0000202, 0xc0000201));
  EXPECT_FALSE(keep_locally_initiated(0xc0000201, 0xc0000202));
  // Compared as host-order unsigned integers: 10.0.0.1 < 192.0.2.1.
  EXPECT_FALSE(keep_locally_initiated(0x0a000001, 0xc0000201));

  // Our connection loses: dump it (Cease/Connection Collision Resolution), adopt the other.
  for (From from : {From::kOpenSent, From::kOpenConfirm}) {
    Fsm fsm = make_in(from);
    EXPECT_EQ(describe(fsm.handle(E::kOpenCollisionDump, 2000)), "send_notification(6/7) close");
    EXPECT_EQ(fsm.state(), S::kIdle);
    EXPECT_EQ(describe(fsm.adopt_connection(peer_open(ebgp()), 2000)), "send_keepalive");
    EXPECT_EQ(fsm.state(), S::kOpenConfirm);
    EXPECT_FALSE(fsm.connect_retry_deadline());
    EXPECT_EQ(describe(fsm.handle(E::kKeepAliveMsg, 2100)), "established");
  }
  // An unacceptable OPEN on the adopted connection is refused there.
  Fsm fsm = make_in(From::kOpenSent);
  fsm.handle(E::kOpenCollisionDump, 2000);
  Open bad = peer_open(ebgp());
  bad.caps.four_octet_as = 1;
  EXPECT_EQ(describe(fsm.adopt_connection(bad, 2000)), "send_notification(2/2) close");
  EXPECT_EQ(fsm.state(), S::kIdle);
}

}  // namespace
}  // namespace bgp
