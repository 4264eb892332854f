// A real Speaker against a scripted test peer on loopback sockets (127.0.0.1 and ::1), in the
// test process: the test peer speaks BGP through the codec, the Speaker is polled between the
// peer's steps. Ports are ephemeral (no root needed); every wait is bounded.
#include "control/bgp/speaker.h"

#include <ctime>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include "control/bgp/session.h"  // to_sockaddr, set_md5_key

namespace bgp {
namespace {

uint64_t mono_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

config::IpAddress ip(const char* s) { return *config::IpAddress::parse(s); }

constexpr uint32_t kSpeakerId = 0x0a000002;  // 10.0.0.2
constexpr uint32_t kPeerId = 0x0a000001;     // 10.0.0.1

// A listening socket on an ephemeral port.
int make_listener(const config::IpAddress& addr, uint16_t* port) {
  const int fd =
      socket(addr.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.is_v6()) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, 0, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = ntohs(addr.is_v4() ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                             : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

uint16_t free_port() {
  uint16_t port = 0;
  const int fd = make_listener(ip("127.0.0.1"), &port);
  ::close(fd);
  return port;
}

// The test peer's end of one TCP connection.
struct Wire {
  int fd = -1;
  std::vector<uint8_t> rbuf;
  bool eof = false;
  CodecOptions opts;

  explicit Wire(int f) : fd(f) {}
  ~Wire() {
    if (fd >= 0) ::close(fd);
  }
  void send(const std::vector<uint8_t>& bytes) {
    size_t off = 0;
    const uint64_t end = mono_ms() + 2000;
    while (off < bytes.size() && mono_ms() < end) {
      const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += size_t(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 50);
      } else {
        break;
      }
    }
  }
  void pump() {
    if (eof || fd < 0) return;
    uint8_t buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        rbuf.insert(rbuf.end(), buf, buf + n);
      } else if (n == 0) {
        eof = true;
        return;
      } else if (errno == EINTR) {
        continue;
      } else {
        if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
        return;
      }
    }
  }
  std::optional<Message> pop() {
    auto framed = frame_length(rbuf);
    if (auto* e = std::get_if<Error>(&framed)) {
      ADD_FAILURE() << "bad frame from the speaker: " << e->message;
      rbuf.clear();
      return std::nullopt;
    }
    const size_t len = std::get<size_t>(framed);
    if (len == 0 || rbuf.size() < len) return std::nullopt;
    auto decoded = decode(std::span<const uint8_t>(rbuf.data(), len), opts);
    rbuf.erase(rbuf.begin(), rbuf.begin() + len);
    if (auto* e = std::get_if<Error>(&decoded)) {
      ADD_FAILURE() << "undecodable message from the speaker: " << e->message;
      return std::nullopt;
    }
    return std::move(std::get<Message>(decoded));
  }
};

Open test_open(uint32_t asn, uint16_t hold, uint32_t id, Afi af, bool gr = false) {
  Open o;
  o.my_as = asn > 0xffff ? kAsTrans : uint16_t(asn);
  o.hold_time_s = hold;
  o.bgp_id = id;
  o.caps.four_octet_as = asn;
  o.caps.multiprotocol = {AfiSafi{af, kSafiUnicast}};
  o.caps.route_refresh = true;
  if (gr)
    o.caps.graceful_restart = GracefulRestart{false, 120, {{AfiSafi{af, kSafiUnicast}, false}}};
  return o;
}

PeerConfig peer_cfg(const std::string& name, const config::IpAddress& addr, uint16_t port) {
  PeerConfig c;
  c.name = name;
  c.my_asn = 64512;
  c.peer_asn = 64500;
  c.peer_address = addr;
  c.peer_port = port;
  c.hold_time_s = 90;
  c.keepalive_time_s = 30;
  c.connect_retry_s = 1;
  c.router_id = kSpeakerId;
  return c;
}

Route route(const char* prefix, uint8_t len, std::vector<uint32_t> communities = {}) {
  Route r;
  r.prefix = Prefix{ip(prefix), len};
  r.communities = std::move(communities);
  return r;
}

class BgpSpeaker : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : listeners_) ::close(fd);
  }

  int listen_on(const char* addr, uint16_t* port) {
    const int fd = make_listener(ip(addr), port);
    EXPECT_GE(fd, 0) << "listen on " << addr;
    listeners_.push_back(fd);
    return fd;
  }

  template <class Pred>
  bool run_until(Pred pred, int timeout_ms) {
    const uint64_t end = mono_ms() + uint64_t(timeout_ms);
    for (;;) {
      if (pred()) return true;
      if (mono_ms() >= end) return false;
      sp_.poll(5);
    }
  }

  std::unique_ptr<Wire> accept_on(int lfd, int timeout_ms = 3000) {
    int fd = -1;
    run_until(
        [&] {
          fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
          return fd >= 0;
        },
        timeout_ms);
    return fd >= 0 ? std::make_unique<Wire>(fd) : nullptr;
  }

  // Connects to the speaker's listener (loopback completes the handshake in the kernel).
  std::unique_ptr<Wire> connect_to(const char* addr, uint16_t port, const char* source = nullptr) {
    const config::IpAddress a = ip(addr);
    const int fd = socket(a.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (source) {
      sockaddr_storage ss;
      const socklen_t len = to_sockaddr(ip(source), 0, &ss);
      EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(a, port, &ss);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << std::strerror(errno);
    return std::make_unique<Wire>(fd);
  }

  std::optional<Message> next(Wire& w, int timeout_ms = 3000, bool skip_keepalives = true) {
    std::optional<Message> m;
    run_until(
        [&] {
          w.pump();
          while (auto x = w.pop()) {
            if (skip_keepalives && std::holds_alternative<Keepalive>(*x)) continue;
            m = std::move(x);
            return true;
          }
          return false;
        },
        timeout_ms);
    return m;
  }

  template <class T>
  T expect(Wire& w, int timeout_ms = 3000, bool skip_keepalives = true) {
    auto m = next(w, timeout_ms, skip_keepalives);
    if (!m) {
      ADD_FAILURE() << "no message within " << timeout_ms << " ms (eof=" << w.eof << ")";
      return T{};
    }
    if (!std::holds_alternative<T>(*m)) {
      ADD_FAILURE() << "unexpected message type index " << m->index();
      if (auto* n = std::get_if<Notification>(&*m)) {
        ADD_FAILURE() << "NOTIFICATION " << notification_name(n->code, n->subcode);
      }
      return T{};
    }
    return std::get<T>(std::move(*m));
  }

  // Waits for the speaker to close; returns the messages that came before the FIN.
  std::vector<Message> until_eof(Wire& w, int timeout_ms = 3000) {
    std::vector<Message> got;
    run_until(
        [&] {
          w.pump();
          while (auto x = w.pop()) got.push_back(std::move(*x));
          return w.eof;
        },
        timeout_ms);
    EXPECT_TRUE(w.eof) << "the speaker did not close within " << timeout_ms << " ms";
    return got;
  }

  std::optional<PeerStatus> status_of(const std::string& name) {
    for (auto& s : sp_.status()) {
      if (s.name == name) return s;
    }
    return std::nullopt;
  }

  bool in_state(const std::string& name, SessionState st) {
    auto s = status_of(name);
    return s && s->state == st;
  }

  // The test peer's side of the OPEN exchange; returns the speaker's OPEN.
  Open establish(Wire& w, const std::string& name, const Open& ours) {
    Open theirs = expect<Open>(w);
    w.send(encode_open(ours));
    w.send(encode_keepalive());
    expect<Keepalive>(w, 3000, false);
    EXPECT_TRUE(run_until([&] { return in_state(name, SessionState::kEstablished); }, 2000));
    w.opts.four_octet_as = true;
    return theirs;
  }

  // UPDATEs until End-of-RIB (not included).
  std::vector<Update> updates_until_eor(Wire& w) {
    std::vector<Update> out;
    for (int i = 0; i < 100; ++i) {
      Update u = expect<Update>(w);
      if (u.is_end_of_rib() || ::testing::Test::HasFailure()) break;
      out.push_back(std::move(u));
    }
    return out;
  }

  Speaker sp_;
  std::vector<int> listeners_;
};

TEST_F(BgpSpeaker, ActiveConnectAndOpenExchange) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/a", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  const Open o = establish(*w, "default/a", test_open(64500, 60, kPeerId, Afi::kIPv4));
  EXPECT_EQ(o.version, 4);
  EXPECT_EQ(o.my_as, 64512);
  EXPECT_EQ(o.hold_time_s, 90);
  EXPECT_EQ(o.bgp_id, kSpeakerId);
  EXPECT_EQ(o.caps.four_octet_as, 64512u);
  EXPECT_TRUE(o.caps.route_refresh);
  EXPECT_EQ(o.caps.multiprotocol, (std::vector<AfiSafi>{{Afi::kIPv4, kSafiUnicast}}));
  EXPECT_FALSE(o.caps.graceful_restart);
  const auto s = status_of("default/a");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->negotiated_hold_s, 60);
  EXPECT_EQ(s->established_transitions, 1u);
  EXPECT_EQ(s->peer_address, ip("127.0.0.1"));
  // No routes configured: the initial sync is just End-of-RIB.
  EXPECT_TRUE(expect<Update>(*w).is_end_of_rib());
}

TEST_F(BgpSpeaker, PassiveAcceptOnlyFromConfiguredPeers) {
  const uint16_t port = free_port();
  sp_.set_listen_port(port);
  uint16_t peer_port;  // where an active speaker would connect to
  const int lfd = listen_on("127.0.0.1", &peer_port);
  PeerConfig cfg = peer_cfg("default/p", ip("127.0.0.1"), peer_port);
  cfg.passive_only = true;
  sp_.configure({cfg});
  // 127.0.0.2 is not a configured peer: closed at once, no OPEN.
  auto stranger = connect_to("127.0.0.1", port, "127.0.0.2");
  const auto before = until_eof(*stranger);
  EXPECT_TRUE(before.empty());

  auto w = connect_to("127.0.0.1", port);
  establish(*w, "default/p", test_open(64500, 90, kPeerId, Afi::kIPv4));
  EXPECT_TRUE(expect<Update>(*w).is_end_of_rib());
  // passive_only: the speaker never connected out.
  EXPECT_LT(accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC), 0);
}

TEST_F(BgpSpeaker, RoutesAnnouncedAfterEstablishedWithAttributes) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  Route a = route("198.51.100.10", 32, {0xfc000064, 0xffffff01});
  a.large_communities = {LargeCommunity{64512, 1, 2}};
  const Route b = route("198.51.100.0", 24);
  const Route v6 = route("2001:db8:100::10", 128);
  sp_.set_routes({{"default/a", {a, b, v6}}});
  sp_.configure({peer_cfg("default/a", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/a", test_open(64500, 90, kPeerId, Afi::kIPv4));
  const auto updates = updates_until_eor(*w);
  std::map<Prefix, Attributes> got;
  for (const auto& u : updates) {
    EXPECT_TRUE(u.mp_reach.empty()) << "IPv6 routes do not go on an IPv4 session";
    for (const auto& p : u.nlri) got[p] = u.attrs;
  }
  ASSERT_EQ(got.size(), 2u);
  const Attributes& at = got[a.prefix];
  EXPECT_EQ(at.next_hop, ip("127.0.0.1"));  // this end of the TCP connection
  EXPECT_EQ(at.as_path, (std::vector<uint32_t>{64512}));
  EXPECT_EQ(at.origin, Origin::kIgp);
  EXPECT_FALSE(at.local_pref);
  EXPECT_EQ(at.communities, (std::vector<uint32_t>{0xfc000064, 0xffffff01}));
  EXPECT_EQ(at.large_communities, (std::vector<LargeCommunity>{{64512, 1, 2}}));
  EXPECT_TRUE(got[b.prefix].communities.empty());
  EXPECT_TRUE(run_until([&] { return status_of("default/a")->prefixes_advertised == 2; }, 1000));

  // Withdrawn when it leaves the desired set.
  sp_.set_routes({{"default/a", {a}}});
  const Update gone = expect<Update>(*w);
  EXPECT_EQ(gone.withdrawn, (std::vector<Prefix>{b.prefix}));
  EXPECT_TRUE(gone.nlri.empty());
  EXPECT_EQ(status_of("default/a")->prefixes_advertised, 1u);

  // ROUTE-REFRESH: everything again, then End-of-RIB.
  w->send(encode_route_refresh(RouteRefresh{AfiSafi{Afi::kIPv4, kSafiUnicast}, 0}));
  const auto again = updates_until_eor(*w);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].nlri, (std::vector<Prefix>{a.prefix}));
  EXPECT_GE(status_of("default/a")->updates_sent, 5u);
}

TEST_F(BgpSpeaker, Ipv6IbgpSession) {
  uint16_t port;
  const int lfd = make_listener(ip("::1"), &port);
  if (lfd < 0) GTEST_SKIP() << "no IPv6 loopback here";
  listeners_.push_back(lfd);
  PeerConfig cfg = peer_cfg("default/v6", ip("::1"), port);
  cfg.peer_asn = 64512;  // iBGP
  cfg.router_id = kSpeakerId;
  Route pref = route("2001:db8:100::10", 128);
  pref.local_pref = 200;
  sp_.set_routes(
      {{"default/v6", {pref, route("2001:db8:100::20", 128), route("198.51.100.1", 32)}}});
  sp_.configure({cfg});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  const Open o = establish(*w, "default/v6", test_open(64512, 90, kPeerId, Afi::kIPv6));
  EXPECT_EQ(o.caps.multiprotocol, (std::vector<AfiSafi>{{Afi::kIPv6, kSafiUnicast}}));
  std::map<Prefix, Attributes> got;
  for (;;) {
    const Update u = expect<Update>(*w);
    if (HasFailure()) return;
    if (u.is_end_of_rib()) {
      ASSERT_TRUE(u.mp_unreach_af);
      EXPECT_EQ(u.mp_unreach_af->afi, Afi::kIPv6);
      break;
    }
    EXPECT_TRUE(u.nlri.empty());
    for (const auto& p : u.mp_reach) got[p] = u.attrs;
  }
  ASSERT_EQ(got.size(), 2u);
  for (const auto& [p, at] : got) {
    EXPECT_EQ(at.next_hop, ip("::1"));
    EXPECT_TRUE(at.as_path.empty()) << "iBGP: empty AS_PATH";
    EXPECT_EQ(at.local_pref, p == pref.prefix ? 200u : 100u);
  }
}

TEST_F(BgpSpeaker, MalformedMessageGetsNotificationThenClose) {
  struct Case {
    std::vector<uint8_t> bytes;
    uint8_t code, subcode;
  };
  std::vector<uint8_t> bad_marker(19, 0xff);
  bad_marker[3] = 0;
  bad_marker[16] = 0;
  bad_marker[17] = 19;
  bad_marker[18] = 4;
  std::vector<uint8_t> bad_type(19, 0xff);
  bad_type[16] = 0;
  bad_type[17] = 19;
  bad_type[18] = 9;
  const Case cases[] = {
      {bad_marker, err::kHeader, err::kHeaderNotSynchronized},
      {bad_type, err::kHeader, err::kHeaderBadType},
  };
  for (const auto& c : cases) {
    uint16_t port;
    const int lfd = listen_on("127.0.0.1", &port);
    Speaker& sp = sp_;
    sp.configure({peer_cfg("default/m", ip("127.0.0.1"), port)});
    auto w = accept_on(lfd);
    ASSERT_TRUE(w);
    establish(*w, "default/m", test_open(64500, 90, kPeerId, Afi::kIPv4));
    w->send(c.bytes);
    const auto got = until_eof(*w);
    const Notification* n = nullptr;
    for (const auto& m : got) {
      if (auto* x = std::get_if<Notification>(&m)) n = x;
    }
    ASSERT_TRUE(n) << "no NOTIFICATION before the close";
    EXPECT_EQ(n->code, c.code);
    EXPECT_EQ(n->subcode, c.subcode);
    const auto s = status_of("default/m");
    EXPECT_EQ(s->notifications_sent, 1u);
    EXPECT_NE(s->state, SessionState::kEstablished);
    sp.configure({});
  }
}

TEST_F(BgpSpeaker, HoldTimerExpires) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  PeerConfig cfg = peer_cfg("default/h", ip("127.0.0.1"), port);
  cfg.hold_time_s = 3;
  sp_.configure({cfg});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/h", test_open(64500, 3, kPeerId, Afi::kIPv4));
  const uint64_t up = mono_ms();
  // The test peer goes silent; the speaker keeps sending keepalives (every second), then gives up.
  const auto got = until_eof(*w, 5000);
  const uint64_t elapsed = mono_ms() - up;
  size_t keepalives = 0;
  const Notification* n = nullptr;
  for (const auto& m : got) {
    if (std::holds_alternative<Keepalive>(m)) ++keepalives;
    if (auto* x = std::get_if<Notification>(&m)) n = x;
  }
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, err::kHoldTimerExpired);
  EXPECT_GE(keepalives, 2u);
  EXPECT_GE(elapsed, 2500u);
  EXPECT_LE(elapsed, 4500u);
}

TEST_F(BgpSpeaker, ReconnectsWithBackoffAfterThePeerCloses) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/r", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/r", test_open(64500, 90, kPeerId, Afi::kIPv4));
  w.reset();  // the peer goes away without a word
  const uint64_t closed = mono_ms();
  EXPECT_TRUE(run_until([&] { return !in_state("default/r", SessionState::kEstablished); }, 1000));
  auto again = accept_on(lfd, 4000);
  ASSERT_TRUE(again) << "no reconnect";
  const uint64_t elapsed = mono_ms() - closed;
  EXPECT_GE(elapsed, 700u) << "reconnected before the ConnectRetry interval (1 s, jitter >= 0.75)";
  EXPECT_LE(elapsed, 3000u);
  establish(*again, "default/r", test_open(64500, 90, kPeerId, Afi::kIPv4));
  EXPECT_EQ(status_of("default/r")->established_transitions, 2u);
}

TEST_F(BgpSpeaker, NotificationFromThePeer) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/n", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/n", test_open(64500, 90, kPeerId, Afi::kIPv4));
  w->send(encode_notification(Notification{err::kCease, err::kCeaseAdminShutdown, {}}));
  const auto got = until_eof(*w);
  for (const auto& m : got) {
    EXPECT_FALSE(std::holds_alternative<Notification>(m)) << "no NOTIFICATION in answer";
  }
  const auto s = status_of("default/n");
  EXPECT_EQ(s->notifications_received, 1u);
  EXPECT_EQ(s->notifications_sent, 0u);
  EXPECT_NE(s->last_error.find("received"), std::string::npos) << s->last_error;
  EXPECT_NE(s->state, SessionState::kEstablished);
  // When it happened and when the session left Established: now, give or take a second.
  const auto now = static_cast<uint64_t>(std::time(nullptr));
  EXPECT_GE(s->last_error_unix + 2, now);
  EXPECT_LE(s->last_error_unix, now);
  EXPECT_GE(s->state_since_unix + 2, now);
  EXPECT_LE(s->last_error_unix, s->state_since_unix) << "the error came before the new state";
}

TEST_F(BgpSpeaker, ReceivedRoutesAreCountedAndDropped) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/rx", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/rx", test_open(64500, 90, kPeerId, Afi::kIPv4));
  Update theirs;
  theirs.nlri = {Prefix{ip("203.0.113.0"), 24}, Prefix{ip("203.0.113.128"), 25}};
  theirs.attrs.as_path = {64500};
  theirs.attrs.next_hop = ip("127.0.0.1");
  w->send(encode_update(theirs, w->opts));
  Update reflected = theirs;  // our own route coming back: AS_PATH holds our AS
  reflected.nlri = {Prefix{ip("198.51.100.10"), 32}};
  reflected.attrs.as_path = {64500, 64512};
  w->send(encode_update(reflected, w->opts));
  EXPECT_TRUE(run_until([&] { return status_of("default/rx")->updates_received == 2; }, 2000));
  EXPECT_EQ(status_of("default/rx")->prefixes_received, 2u);
  EXPECT_TRUE(in_state("default/rx", SessionState::kEstablished));
}

TEST_F(BgpSpeaker, TreatAsWithdrawKeepsTheSession) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/t", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/t", test_open(64500, 90, kPeerId, Afi::kIPv4));
  Update theirs;
  theirs.nlri = {Prefix{ip("203.0.113.0"), 24}};
  theirs.attrs.as_path = {64500};
  theirs.attrs.next_hop = ip("127.0.0.1");
  auto bytes = encode_update(theirs, w->opts);
  // The first attribute is ORIGIN (flags, type 1, length 1, value) after the header and the
  // two length fields: an undefined ORIGIN value is treat-as-withdraw (RFC 7606 7.1).
  ASSERT_EQ(bytes[19 + 2 + 2 + 1], 1);
  bytes[19 + 2 + 2 + 3] = 7;
  w->send(bytes);
  EXPECT_TRUE(run_until([&] { return status_of("default/t")->updates_received == 1; }, 2000));
  const auto s = status_of("default/t");
  EXPECT_EQ(s->prefixes_received, 0u);
  EXPECT_EQ(s->notifications_sent, 0u);
  EXPECT_EQ(s->state, SessionState::kEstablished);
}

TEST_F(BgpSpeaker, FramingAcrossReads) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/f", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/f", test_open(64500, 90, kPeerId, Afi::kIPv4));
  Update theirs;
  theirs.nlri = {Prefix{ip("203.0.113.0"), 24}};
  theirs.attrs.as_path = {64500};
  theirs.attrs.next_hop = ip("127.0.0.1");
  const auto update = encode_update(theirs, w->opts);
  // A KEEPALIVE and half an UPDATE in one segment; the rest of it and a second UPDATE next.
  std::vector<uint8_t> first = encode_keepalive();
  first.insert(first.end(), update.begin(), update.begin() + 10);
  std::vector<uint8_t> second(update.begin() + 10, update.end());
  second.insert(second.end(), update.begin(), update.end());
  w->send(first);
  run_until([] { return false; }, 100);
  EXPECT_EQ(status_of("default/f")->updates_received, 0u);
  w->send(second);
  EXPECT_TRUE(run_until([&] { return status_of("default/f")->updates_received == 2; }, 2000));
  EXPECT_EQ(status_of("default/f")->prefixes_received, 2u);
  EXPECT_TRUE(in_state("default/f", SessionState::kEstablished));
}

TEST_F(BgpSpeaker, LargeTableArrivesWhole) {
  // 50000 routes, about 250 KB of UPDATEs sent in one go. (Loopback's send buffer autotunes to
  // 4 MiB, so this does not force short writes; it checks packing and framing end to end.)
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  std::vector<Route> routes;
  for (uint32_t i = 0; i < 50000; ++i) {
    Route r;
    r.prefix = Prefix{config::IpAddress::v4(0x0a000000u + i), 32};
    routes.push_back(r);
  }
  sp_.set_routes({{"default/big", routes}});
  sp_.configure({peer_cfg("default/big", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/big", test_open(64500, 90, kPeerId, Afi::kIPv4));
  std::set<Prefix> got;
  size_t updates = 0;
  for (;;) {
    const Update u = expect<Update>(*w, 5000);
    if (HasFailure() || u.is_end_of_rib()) break;
    ++updates;
    got.insert(u.nlri.begin(), u.nlri.end());
  }
  EXPECT_EQ(got.size(), 50000u);
  EXPECT_LE(updates, 70u);  // about 800 host routes per UPDATE
  EXPECT_EQ(status_of("default/big")->prefixes_advertised, 50000u);
}

// The test peer reads in a thread while shutdown() blocks: it returns once the peer has read
// everything and closed, well before the deadline.
struct ReaderThread {
  std::vector<Message> got;
  bool eof = false;
  std::thread thread;
  explicit ReaderThread(Wire& w, bool close_after_notification) {
    thread = std::thread([this, &w, close_after_notification] {
      const uint64_t end = mono_ms() + 4000;
      while (mono_ms() < end && !w.eof) {
        pollfd p{w.fd, POLLIN, 0};
        ::poll(&p, 1, 20);
        w.pump();
        while (auto m = w.pop()) {
          const bool notification = std::holds_alternative<Notification>(*m);
          got.push_back(std::move(*m));
          if (notification && close_after_notification) {
            ::shutdown(w.fd, SHUT_WR);
          }
        }
      }
      eof = w.eof;
      if (w.eof) ::shutdown(w.fd, SHUT_WR);
    });
  }
  void join() { thread.join(); }
};

TEST_F(BgpSpeaker, ShutdownWithdrawsThenCeases) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.set_routes({{"default/s", {route("198.51.100.10", 32), route("198.51.100.11", 32)}}});
  sp_.configure({peer_cfg("default/s", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/s", test_open(64500, 90, kPeerId, Afi::kIPv4));
  ASSERT_EQ(updates_until_eor(*w).size(), 1u);
  ReaderThread reader(*w, true);
  const uint64_t start = mono_ms();
  sp_.shutdown(std::chrono::milliseconds(3000));
  const uint64_t elapsed = mono_ms() - start;
  reader.join();
  EXPECT_LT(elapsed, 2000u) << "shutdown should end when the peer closes, not at the deadline";
  std::set<Prefix> withdrawn;
  size_t notification_at = 0, last_update_at = 0;
  const Notification* n = nullptr;
  for (size_t i = 0; i < reader.got.size(); ++i) {
    if (auto* u = std::get_if<Update>(&reader.got[i])) {
      withdrawn.insert(u->withdrawn.begin(), u->withdrawn.end());
      EXPECT_TRUE(u->nlri.empty());
      last_update_at = i;
    }
    if (auto* x = std::get_if<Notification>(&reader.got[i])) {
      n = x;
      notification_at = i;
    }
  }
  EXPECT_EQ(withdrawn,
            (std::set<Prefix>{Prefix{ip("198.51.100.10"), 32}, Prefix{ip("198.51.100.11"), 32}}));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, err::kCease);
  EXPECT_EQ(n->subcode, err::kCeaseAdminShutdown);
  EXPECT_GT(notification_at, last_update_at) << "withdrawals first, then the NOTIFICATION";
  EXPECT_TRUE(reader.eof);
}

TEST_F(BgpSpeaker, ShutdownWithGracefulRestartJustCloses) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  PeerConfig cfg = peer_cfg("default/gr", ip("127.0.0.1"), port);
  cfg.graceful_restart = true;
  sp_.set_routes({{"default/gr", {route("198.51.100.10", 32)}}});
  sp_.configure({cfg});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  const Open o = establish(*w, "default/gr", test_open(64500, 90, kPeerId, Afi::kIPv4, true));
  ASSERT_TRUE(o.caps.graceful_restart);
  EXPECT_EQ(o.caps.graceful_restart->restart_time_s, 120);
  ASSERT_EQ(updates_until_eor(*w).size(), 1u);
  ReaderThread reader(*w, false);
  const uint64_t start = mono_ms();
  sp_.shutdown(std::chrono::milliseconds(3000));
  const uint64_t elapsed = mono_ms() - start;
  reader.join();
  EXPECT_LT(elapsed, 2000u);
  EXPECT_TRUE(reader.eof) << "the TCP connection must close";
  for (const auto& m : reader.got) {
    EXPECT_FALSE(std::holds_alternative<Notification>(m)) << "a NOTIFICATION drops stale routes";
    if (auto* u = std::get_if<Update>(&m)) {
      EXPECT_TRUE(u->withdrawn.empty()) << "the peer keeps our routes across the restart";
    }
  }
}

TEST_F(BgpSpeaker, RemovedPeerGetsCeasePeerDeconfigured) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  sp_.configure({peer_cfg("default/d", ip("127.0.0.1"), port)});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/d", test_open(64500, 90, kPeerId, Afi::kIPv4));
  sp_.configure({});
  EXPECT_TRUE(sp_.status().empty());
  const auto got = until_eof(*w);
  ASSERT_FALSE(got.empty());
  const auto* n = std::get_if<Notification>(&got.back());
  ASSERT_TRUE(n);
  EXPECT_EQ(n->code, err::kCease);
  EXPECT_EQ(n->subcode, err::kCeasePeerDeconfigured);
  // And it does not come back.
  EXPECT_FALSE(accept_on(lfd, 1500));
}

TEST_F(BgpSpeaker, ChangedPeerIsRestartedWithOtherConfigurationChange) {
  uint16_t port;
  const int lfd = listen_on("127.0.0.1", &port);
  PeerConfig cfg = peer_cfg("default/c", ip("127.0.0.1"), port);
  sp_.configure({cfg});
  auto w = accept_on(lfd);
  ASSERT_TRUE(w);
  establish(*w, "default/c", test_open(64500, 90, kPeerId, Afi::kIPv4));
  cfg.hold_time_s = 30;
  sp_.configure({cfg});
  const auto got = until_eof(*w);
  ASSERT_FALSE(got.empty());
  const auto* n = std::get_if<Notification>(&got.back());
  ASSERT_TRUE(n);
  EXPECT_EQ(n->subcode, err::kCeaseOtherConfigChange);
  auto again = accept_on(lfd, 3000);
  ASSERT_TRUE(again);
  EXPECT_EQ(expect<Open>(*again).hold_time_s, 30);
}

TEST_F(BgpSpeaker, CollisionKeepsTheConnectionOfTheHigherIdentifier) {
  for (const bool peer_higher : {true, false}) {
    SCOPED_TRACE(peer_higher ? "peer id higher" : "speaker id higher");
    Speaker sp;  // own speaker: its listener must be fresh each round
    uint16_t peer_port;
    const int lfd = listen_on("127.0.0.1", &peer_port);
    const uint16_t speaker_port = free_port();
    sp.set_listen_port(speaker_port);
    sp.configure({peer_cfg("default/x", ip("127.0.0.1"), peer_port)});
    // Local helpers on this speaker.
    auto pump_until = [&](auto pred, int ms) {
      const uint64_t end = mono_ms() + ms;
      for (;;) {
        if (pred()) return true;
        if (mono_ms() >= end) return false;
        sp.poll(5);
      }
    };
    auto read_one = [&](Wire& w, int ms, bool skip_keepalives) -> std::optional<Message> {
      std::optional<Message> m;
      pump_until(
          [&] {
            w.pump();
            while (auto x = w.pop()) {
              if (skip_keepalives && std::holds_alternative<Keepalive>(*x)) continue;
              m = std::move(x);
              return true;
            }
            return false;
          },
          ms);
      return m;
    };
    // Connection A: the speaker's, to our listener; it sends its OPEN and waits (OpenSent).
    int afd = -1;
    pump_until([&] { return (afd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; }, 3000);
    ASSERT_GE(afd, 0);
    Wire a(afd);
    auto open_a = read_one(a, 2000, true);
    ASSERT_TRUE(open_a && std::holds_alternative<Open>(*open_a));
    // Connection B: ours, to the speaker's listener.
    auto b = connect_to("127.0.0.1", speaker_port);
    auto open_b = read_one(*b, 2000, true);
    ASSERT_TRUE(open_b && std::holds_alternative<Open>(*open_b));
    const uint32_t peer_id = peer_higher ? 0x0a000009 : 0x0a000001;
    b->send(encode_open(test_open(64500, 90, peer_id, Afi::kIPv4)));
    Wire& loser = peer_higher ? a : *b;
    Wire& winner = peer_higher ? *b : a;
    // The loser gets Cease/Connection Collision Resolution and is closed.
    auto n = read_one(loser, 2000, true);
    ASSERT_TRUE(n && std::holds_alternative<Notification>(*n));
    EXPECT_EQ(std::get<Notification>(*n).code, err::kCease);
    EXPECT_EQ(std::get<Notification>(*n).subcode, err::kCeaseCollision);
    // The winner goes on: on B the speaker answers our OPEN with a KEEPALIVE; on A it still
    // waits for our OPEN.
    if (!peer_higher) winner.send(encode_open(test_open(64500, 90, peer_id, Afi::kIPv4)));
    auto k = read_one(winner, 2000, false);
    ASSERT_TRUE(k && std::holds_alternative<Keepalive>(*k));
    winner.send(encode_keepalive());
    EXPECT_TRUE(pump_until(
        [&] {
          auto st = sp.status();
          return !st.empty() && st[0].state == SessionState::kEstablished;
        },
        2000));
    sp.shutdown(std::chrono::milliseconds(200));
  }
}

TEST_F(BgpSpeaker, TcpMd5SameKeyConnectsWrongKeyDoesNot) {
  for (const bool same : {true, false}) {
    SCOPED_TRACE(same ? "same key" : "wrong key");
    Speaker sp;
    uint16_t port;
    const int lfd = listen_on("127.0.0.1", &port);
    if (const int e = set_md5_key(lfd, ip("127.0.0.1"), same ? "portico-md5" : "not-the-key");
        e != 0) {
      GTEST_SKIP() << "TCP_MD5SIG unavailable here: " << std::strerror(e);
    }
    PeerConfig cfg = peer_cfg("default/md5", ip("127.0.0.1"), port);
    cfg.password = "portico-md5";
    sp.configure({cfg});
    int fd = -1;
    const uint64_t end = mono_ms() + (same ? 3000 : 1500);
    while (fd < 0 && mono_ms() < end) {
      sp.poll(5);
      fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    if (same) {
      ASSERT_GE(fd, 0) << "no MD5-signed connection with the same key";
      Wire w(fd);
      // The accepted socket carries the signature too: the speaker's OPEN arrives.
      std::optional<Message> m;
      const uint64_t until = mono_ms() + 2000;
      while (!m && mono_ms() < until) {
        sp.poll(5);
        w.pump();
        m = w.pop();
      }
      ASSERT_TRUE(m && std::holds_alternative<Open>(*m));
    } else {
      EXPECT_LT(fd, 0) << "a connection came up with mismatched keys";
      if (fd >= 0) ::close(fd);
    }
    sp.shutdown(std::chrono::milliseconds(100));
  }
}

TEST_F(BgpSpeaker, TcpMd5OnTheListener) {
  for (const bool same : {true, false}) {
    SCOPED_TRACE(same ? "same key" : "wrong key");
    Speaker sp;
    const uint16_t port = free_port();
    sp.set_listen_port(port);
    PeerConfig cfg = peer_cfg("default/md5p", ip("127.0.0.1"), 179);
    cfg.passive_only = true;
    cfg.password = "portico-md5";
    sp.configure({cfg});
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    Wire w(fd);
    if (const int e = set_md5_key(fd, ip("127.0.0.1"), same ? "portico-md5" : "not-the-key");
        e != 0) {
      GTEST_SKIP() << "TCP_MD5SIG unavailable here: " << std::strerror(e);
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(ip("127.0.0.1"), port, &ss);
    connect(fd, reinterpret_cast<sockaddr*>(&ss), len);  // EINPROGRESS
    std::optional<Message> m;
    const uint64_t end = mono_ms() + (same ? 3000 : 1500);
    while (!m && mono_ms() < end) {
      sp.poll(5);
      w.pump();
      m = w.pop();
    }
    if (same) {
      ASSERT_TRUE(m && std::holds_alternative<Open>(*m)) << "no OPEN over the signed connection";
    } else {
      EXPECT_FALSE(m) << "a connection came up with mismatched keys";
    }
    sp.shutdown(std::chrono::milliseconds(100));
  }
}

}  // namespace
}  // namespace bgp
