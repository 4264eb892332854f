// One BGP peer on kernel sockets. Overview in session.h.
#include "control/bgp/session.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

namespace bgp {

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  bool outgoing = false;
  bool connecting = false;  // non-blocking connect() in progress
  config::IpAddress local;  // this end, once connected: the next hop we announce
  std::vector<uint8_t> rbuf;
  std::vector<uint8_t> wbuf;
  size_t woff = 0;       // bytes of wbuf already written
  std::string failed;    // why I/O failed; the session turns it into an FSM event
  bool closing = false;  // retired: flush, SHUT_WR, wait for the peer's FIN
  bool wr_shut = false;
  uint64_t close_deadline_ms = 0;
  uint64_t open_deadline_ms = 0;  // second connection (collision): its OPEN must come by then

  bool pending_output() const { return woff < wbuf.size(); }
  void close_now() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Connection() { close_now(); }
};

namespace {

// A closed connection gets this long to deliver its last bytes and see the peer's FIN.
constexpr uint64_t kLingerMs = 2000;
constexpr size_t kReadChunk = 65536;
constexpr int kMaxReadsPerWakeup = 16;           // then other sessions get their turn
constexpr uint8_t kFsmUnexpectedInOpenSent = 1;  // RFC 6608

std::string errno_text(int e) { return std::strerror(e); }

std::string families_text(const std::vector<AfiSafi>& afs) {
  std::string s;
  for (const auto& af : afs) {
    if (!s.empty()) s += ",";
    s += af.afi == Afi::kIPv4 ? "ipv4-unicast" : "ipv6-unicast";
  }
  return s.empty() ? "none" : s;
}

std::optional<config::IpAddress> local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
  return from_sockaddr(ss);
}

}  // namespace

socklen_t to_sockaddr(const config::IpAddress& a, uint16_t port, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof *ss);
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, a.bytes().data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port);
  std::memcpy(&sin6->sin6_addr, a.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<config::IpAddress> from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&ss);
    return config::IpAddress::v4(ntohl(sin->sin_addr.s_addr));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &sin6->sin6_addr, 16);
    return config::IpAddress::v6(b);
  }
  return std::nullopt;
}

int set_md5_key(int fd, const config::IpAddress& peer, const std::string& key) {
  if (key.size() > TCP_MD5SIG_MAXKEYLEN) return EINVAL;
  tcp_md5sig sig{};
  to_sockaddr(peer, 0, &sig.tcpm_addr);
  sig.tcpm_keylen = static_cast<uint16_t>(key.size());
  std::memcpy(sig.tcpm_key, key.data(), key.size());
  if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) != 0) return errno;
  return 0;
}

void set_cs6(int fd, config::IpFamily family) {
  const int tos = 0xc0;
  if (family == config::IpFamily::kIPv4) {
    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
  }
}

Session::Session(const PeerConfig& cfg, uint64_t seed)
    : cfg_(cfg),
      family_(cfg.peer_address.is_v4() ? Afi::kIPv4 : Afi::kIPv6),
      fsm_(cfg, family_, seed),
      label_("peer=" + cfg.name + " address=" + cfg.peer_address.str()) {
  counters_.name = cfg.name;
  counters_.peer_address = cfg.peer_address;
  counters_.state_since_unix = static_cast<uint64_t>(std::time(nullptr));
}

void Session::note_error(const std::string& why) {
  counters_.last_error = why;
  counters_.last_error_unix = static_cast<uint64_t>(std::time(nullptr));
}

Session::~Session() = default;

// ---------------------------------------------------------------------------------------------
// Connections

Session::Conn Session::adopt_fd(int fd, bool outgoing) {
  auto c = std::make_unique<Connection>();
  c->id = next_connection_id_++;
  c->fd = fd;
  c->outgoing = outgoing;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Single-hop eBGP: TTL 1, so a spoofed session from further away cannot reach the peer's
  // TCP; iBGP and multihop eBGP cross routers.
  const int ttl = (cfg_.my_asn == cfg_.peer_asn || cfg_.ebgp_multihop) ? 255 : 1;
  const int rc = cfg_.peer_address.is_v4()
                     ? setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)
                     : setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl);
  if (rc != 0) {
    spdlog::warn("event=bgp_socket_option_failed {} option=ttl error=\"{}\"", label_,
                 errno_text(errno));
  }
  set_cs6(fd, cfg_.peer_address.family());
  return c;
}

void Session::open_connection(uint64_t now_ms) {
  const auto fail = [&](const std::string& why) {
    note_error(why);
    spdlog::warn("event=bgp_connect_failed {} error=\"{}\"", label_, why);
    primary_.reset();
    apply(fsm_.handle(FsmEvent::kTcpConnectionFails, now_ms), now_ms);
  };
  const int domain = cfg_.peer_address.is_v4() ? AF_INET : AF_INET6;
  const int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("socket: " + errno_text(errno));
  primary_ = adopt_fd(fd, true);
  if (!cfg_.password.empty()) {
    // RFC 2385: the key must be on the socket before the SYN goes out.
    if (const int e = set_md5_key(fd, cfg_.peer_address, cfg_.password); e != 0) {
      return fail(e == EINVAL && cfg_.password.size() > TCP_MD5SIG_MAXKEYLEN
                      ? "TCP-MD5 password longer than 80 bytes"
                      : "TCP-MD5: " + errno_text(e));
    }
  }
  if (cfg_.source_address) {
    if (cfg_.source_address->family() != cfg_.peer_address.family()) {
      return fail("source address " + cfg_.source_address->str() + " is not of the peer's family");
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(*cfg_.source_address, 0, &ss);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return fail("bind " + cfg_.source_address->str() + ": " + errno_text(errno));
    }
  }
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(cfg_.peer_address, cfg_.peer_port, &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    primary_->local = local_address(fd).value_or(config::IpAddress{});
    spdlog::debug("event=bgp_connected {} local={}", label_, primary_->local.str());
    apply(fsm_.handle(FsmEvent::kTcpCrAcked, now_ms), now_ms);
    return;
  }
  if (errno != EINPROGRESS) return fail("connect: " + errno_text(errno));
  primary_->connecting = true;
  spdlog::debug("event=bgp_connecting {} port={}", label_, cfg_.peer_port);
}

void Session::retire(Conn conn, uint64_t now_ms) {
  if (!conn) return;
  conn->closing = true;
  if (conn->connecting || !conn->failed.empty() || conn->fd < 0) {
    conn->close_now();  // nothing to say on a socket that never connected or is broken
  } else {
    conn->close_deadline_ms = shutting_down_ ? linger_deadline_ms_ : now_ms + kLingerMs;
    flush(*conn);
    if (!conn->pending_output() && conn->failed.empty()) {
      ::shutdown(conn->fd, SHUT_WR);
      conn->wr_shut = true;
    }
  }
  closing_.push_back(std::move(conn));
}

void Session::queue(Connection& c, std::vector<uint8_t> bytes) {
  if (c.fd < 0) return;
  c.wbuf.insert(c.wbuf.end(), bytes.begin(), bytes.end());
  flush(c);
}

void Session::flush(Connection& c) {
  while (c.fd >= 0 && c.failed.empty() && c.pending_output()) {
    const ssize_t n =
        ::send(c.fd, c.wbuf.data() + c.woff, c.wbuf.size() - c.woff, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.woff += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    c.failed = "send: " + errno_text(n < 0 ? errno : EPIPE);
  }
  if (!c.pending_output()) {
    c.wbuf.clear();
    c.woff = 0;
  } else if (c.woff > kReadChunk) {
    c.wbuf.erase(c.wbuf.begin(), c.wbuf.begin() + c.woff);
    c.woff = 0;
  }
}

void Session::send_notification(Connection& c, const Notification& n) {
  queue(c, encode_notification(n));
  ++counters_.notifications_sent;
  note_error("sent " + notification_name(n.code, n.subcode));
  spdlog::warn("event=bgp_notification_sent {} code={} subcode={} name=\"{}\"", label_, n.code,
               n.subcode, notification_name(n.code, n.subcode));
}

void Session::send_updates(const std::vector<Update>& updates, uint64_t now_ms) {
  if (!primary_) return;
  for (const auto& u : updates) {
    if (u.is_end_of_rib()) {
      queue(*primary_,
            encode_end_of_rib(u.mp_unreach_af.value_or(AfiSafi{Afi::kIPv4, kSafiUnicast})));
    } else {
      queue(*primary_, encode_update(u, codec_));
    }
    ++counters_.updates_sent;
  }
  if (!updates.empty()) fsm_.message_sent(now_ms);
}

Connection* Session::find(uint64_t id) {
  if (primary_ && primary_->id == id) return primary_.get();
  if (candidate_ && candidate_->id == id) return candidate_.get();
  for (auto& c : closing_) {
    if (c->id == id) return c.get();
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// FSM actions

void Session::apply(std::vector<FsmAction> actions, uint64_t now_ms) {
  for (const auto& a : actions) {
    switch (a.kind) {
      case FsmAction::Kind::kConnect:
        if (primary_) retire(std::move(primary_), now_ms);
        open_connection(now_ms);
        break;
      case FsmAction::Kind::kClose:
        retire(std::move(primary_), now_ms);
        codec_ = CodecOptions{};
        break;
      case FsmAction::Kind::kSendOpen:
        if (primary_) queue(*primary_, encode_open(fsm_.our_open()));
        break;
      case FsmAction::Kind::kSendKeepalive:
        if (primary_) queue(*primary_, encode_keepalive());
        break;
      case FsmAction::Kind::kSendNotification:
        if (primary_) send_notification(*primary_, a.notification);
        break;
      case FsmAction::Kind::kEstablished: {
        ++counters_.established_transitions;
        const Negotiated& n = fsm_.negotiated();
        codec_.four_octet_as = n.four_octet_as;
        spdlog::info(
            "event=bgp_session_established {} local={} peer_as={} peer_id={} hold={} "
            "keepalive_ms={} four_octet_as={} route_refresh={} graceful_restart={} families={}",
            label_, primary_ ? primary_->local.str() : "?", n.peer_asn,
            config::IpAddress::v4(n.peer_bgp_id).str(), n.hold_time_s, n.keepalive_interval_ms,
            n.four_octet_as, n.route_refresh, n.graceful_restart, families_text(n.families));
        const AfiSafi af{family_, kSafiUnicast};
        if (!primary_) break;
        if (std::find(n.families.begin(), n.families.end(), af) == n.families.end()) {
          spdlog::warn("event=bgp_family_not_negotiated {} family={}", label_, families_text({af}));
          break;
        }
        rib_.emplace(RibOutOptions{family_, cfg_.my_asn == cfg_.peer_asn, cfg_.my_asn,
                                   primary_->local, codec_});
        rib_->set_desired(desired_);
        const auto updates = rib_->initial_sync();
        send_updates(updates, now_ms);
        spdlog::info("event=bgp_routes_sent {} updates={} advertised={} ignored={} too_large={}",
                     label_, updates.size(), rib_->advertised(), rib_->ignored(),
                     rib_->too_large());
        break;
      }
      case FsmAction::Kind::kLeftEstablished:
        rib_.reset();
        spdlog::warn("event=bgp_session_down {} reason=\"{}\"", label_, counters_.last_error);
        break;
    }
  }
  if (primary_ && !primary_->failed.empty()) {
    const std::string why = primary_->failed;
    connection_failed(*primary_, why, now_ms);
  }
}

void Session::connection_failed(Connection& c, const std::string& why, uint64_t now_ms) {
  if (c.failed.empty()) c.failed = why;
  if (&c == primary_.get()) {
    note_error(why);
    spdlog::info("event=bgp_connection_lost {} state={} reason=\"{}\"", label_,
                 state_name(fsm_.state()), why);
    apply(fsm_.handle(FsmEvent::kTcpConnectionFails, now_ms), now_ms);
    // Every state's answer to TcpConnectionFails closes; make sure of it.
    if (primary_.get() == &c) retire(std::move(primary_), now_ms);
  } else if (&c == candidate_.get()) {
    retire(std::move(candidate_), now_ms);
  } else {
    c.close_now();
  }
}

// ---------------------------------------------------------------------------------------------
// Input

void Session::read_from(Connection& c, uint64_t now_ms) {
  uint8_t buf[kReadChunk];
  for (int i = 0; i < kMaxReadsPerWakeup && c.fd >= 0 && !c.closing; ++i) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      c.rbuf.insert(c.rbuf.end(), buf, buf + n);
      process_frames(c, now_ms);
      continue;
    }
    if (n == 0) return connection_failed(c, "connection closed by the peer", now_ms);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return connection_failed(c, "recv: " + errno_text(errno), now_ms);
  }
}

void Session::process_frames(Connection& c, uint64_t now_ms) {
  size_t off = 0;
  while (!c.closing && c.fd >= 0) {
    const std::span<const uint8_t> rest(c.rbuf.data() + off, c.rbuf.size() - off);
    auto framed = frame_length(rest);
    if (auto* e = std::get_if<Error>(&framed)) {
      message_error(c, *e, now_ms);
      break;
    }
    const size_t len = std::get<size_t>(framed);
    if (len == 0 || rest.size() < len) break;
    auto decoded = decode(rest.first(len), codec_);
    off += len;
    if (auto* e = std::get_if<Error>(&decoded)) {
      message_error(c, *e, now_ms);
      break;
    }
    on_message(c, std::move(std::get<Message>(decoded)), now_ms);
  }
  if (c.closing) {
    c.rbuf.clear();  // whatever follows a fatal error or a close is not read
  } else {
    c.rbuf.erase(c.rbuf.begin(), c.rbuf.begin() + off);
  }
}

void Session::message_error(Connection& c, const Error& e, uint64_t now_ms) {
  spdlog::warn("event=bgp_message_error {} code={} subcode={} error=\"{}\"", label_, e.code,
               e.subcode, e.message);
  if (&c == primary_.get()) {
    apply(fsm_.message_error(e, now_ms), now_ms);
  } else if (&c == candidate_.get()) {
    send_notification(c, Notification{e.code, e.subcode, e.data});
    retire(std::move(candidate_), now_ms);
  }
}

void Session::on_message(Connection& c, Message&& msg, uint64_t now_ms) {
  if (&c == primary_.get()) {
    on_primary_message(std::move(msg), now_ms);
  } else if (&c == candidate_.get()) {
    on_candidate_message(std::move(msg), now_ms);
  }
}

void Session::on_primary_message(Message&& msg, uint64_t now_ms) {
  if (auto* open = std::get_if<Open>(&msg)) {
    apply(fsm_.open_received(*open, now_ms), now_ms);
    if (fsm_.state() == SessionState::kOpenConfirm) {
      codec_.four_octet_as = fsm_.negotiated().four_octet_as;
    }
  } else if (auto* u = std::get_if<Update>(&msg)) {
    if (fsm_.state() == SessionState::kEstablished) {
      ++counters_.updates_received;
      on_update(*u);
    }
    apply(fsm_.handle(FsmEvent::kUpdateMsg, now_ms), now_ms);
  } else if (auto* n = std::get_if<Notification>(&msg)) {
    ++counters_.notifications_received;
    note_error("received " + notification_name(n->code, n->subcode));
    spdlog::warn("event=bgp_notification_received {} code={} subcode={} name=\"{}\" data_len={}",
                 label_, n->code, n->subcode, notification_name(n->code, n->subcode),
                 n->data.size());
    const bool version = n->code == err::kOpen && n->subcode == err::kOpenUnsupportedVersion;
    apply(fsm_.handle(version ? FsmEvent::kNotifMsgVerErr : FsmEvent::kNotifMsg, now_ms), now_ms);
  } else if (std::holds_alternative<Keepalive>(msg)) {
    apply(fsm_.handle(FsmEvent::kKeepAliveMsg, now_ms), now_ms);
  } else if (auto* rr = std::get_if<RouteRefresh>(&msg)) {
    const RouteRefresh request = *rr;
    apply(fsm_.handle(FsmEvent::kRouteRefreshMsg, now_ms), now_ms);
    // Subtypes 1 and 2 belong to enhanced route refresh (RFC 7313), which we do not offer.
    if (fsm_.state() == SessionState::kEstablished && rib_ && request.subtype == 0) {
      const auto updates = rib_->refresh(request.af);
      spdlog::info("event=bgp_route_refresh {} afi={} safi={} updates={}", label_,
                   static_cast<int>(request.af.afi), request.af.safi, updates.size());
      send_updates(updates, now_ms);
    }
  }
}

void Session::on_update(const Update& u) {
  if (u.treat_as_withdraw) {
    // RFC 7606: the session stays up; we install nothing, so this is only worth a count.
    ++treat_as_withdraw_;
    spdlog::warn("event=bgp_update_treat_as_withdraw {} note=\"{}\"", label_, u.error_note);
    return;
  }
  if (!u.discarded_attributes.empty()) {
    spdlog::info("event=bgp_update_attribute_discard {} attributes={} note=\"{}\"", label_,
                 u.discarded_attributes.size(), u.error_note);
  }
  const size_t n = u.nlri.size() + u.mp_reach.size();
  if (n == 0) return;
  const auto& path = u.attrs.as_path;
  if (std::find(path.begin(), path.end(), cfg_.my_asn) != path.end()) {
    own_routes_received_ += n;  // our routes reflected back (AS-path loop)
  } else {
    counters_.prefixes_received += n;
  }
}

void Session::on_candidate_message(Message&& msg, uint64_t now_ms) {
  auto* open = std::get_if<Open>(&msg);
  if (!open) {
    if (auto* n = std::get_if<Notification>(&msg)) {
      ++counters_.notifications_received;
      spdlog::info("event=bgp_notification_received {} connection=second name=\"{}\"", label_,
                   notification_name(n->code, n->subcode));
    } else {
      send_notification(*candidate_, Notification{err::kFsm, kFsmUnexpectedInOpenSent, {}});
    }
    retire(std::move(candidate_), now_ms);
    return;
  }
  // RFC 4271 6.8. Against an Established session the new connection always loses. Otherwise
  // keep the connection initiated by the higher BGP Identifier; if both came from the peer,
  // its newer attempt wins (it has given up on the older one).
  bool keep_existing = true;
  if (fsm_.state() == SessionState::kOpenSent || fsm_.state() == SessionState::kOpenConfirm) {
    keep_existing =
        primary_ && primary_->outgoing && keep_locally_initiated(cfg_.router_id, open->bgp_id);
  }
  spdlog::info("event=bgp_connection_collision {} local_id={} remote_id={} kept={}", label_,
               config::IpAddress::v4(cfg_.router_id).str(),
               config::IpAddress::v4(open->bgp_id).str(), keep_existing ? "existing" : "incoming");
  if (keep_existing) {
    send_notification(*candidate_, Notification{err::kCease, err::kCeaseCollision, {}});
    retire(std::move(candidate_), now_ms);
    return;
  }
  const Open theirs = *open;
  apply(fsm_.handle(FsmEvent::kOpenCollisionDump, now_ms), now_ms);
  if (primary_) retire(std::move(primary_), now_ms);
  primary_ = std::move(candidate_);
  primary_->open_deadline_ms = 0;
  apply(fsm_.adopt_connection(theirs, now_ms), now_ms);
  if (fsm_.state() == SessionState::kOpenConfirm) {
    codec_.four_octet_as = fsm_.negotiated().four_octet_as;
  }
}

void Session::closing_io(Connection& c, short revents) {
  if ((revents & POLLOUT) && !c.wr_shut) {
    flush(c);
    if (!c.failed.empty()) return c.close_now();
    if (!c.pending_output()) {
      ::shutdown(c.fd, SHUT_WR);
      c.wr_shut = true;
    }
  }
  if (revents & (POLLIN | POLLHUP | POLLERR)) {
    uint8_t buf[4096];
    for (int i = 0; i < kMaxReadsPerWakeup && c.fd >= 0; ++i) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) continue;  // discarded: the session is over
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      c.close_now();  // the peer's FIN (or a reset): done
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Public entry points

void Session::start(uint64_t now_ms) {
  apply(fsm_.handle(FsmEvent::kManualStart, now_ms), now_ms);
  settle(now_ms);
}

void Session::stop(uint8_t cease_subcode, uint64_t now_ms) {
  if (candidate_) {
    send_notification(*candidate_, Notification{err::kCease, cease_subcode, {}});
    retire(std::move(candidate_), now_ms);
  }
  apply(fsm_.stop(now_ms, cease_subcode), now_ms);
  settle(now_ms);
}

void Session::shutdown(uint64_t now_ms, uint64_t deadline_ms) {
  shutting_down_ = true;
  linger_deadline_ms_ = deadline_ms;
  for (auto& c : closing_) c->close_deadline_ms = std::min(c->close_deadline_ms, deadline_ms);
  if (candidate_) {
    send_notification(*candidate_, Notification{err::kCease, err::kCeaseAdminShutdown, {}});
    retire(std::move(candidate_), now_ms);
  }
  if (fsm_.state() == SessionState::kEstablished && fsm_.negotiated().graceful_restart) {
    // RFC 4724: the peer keeps our routes (as stale, for the restart time) when the TCP
    // connection just goes; a NOTIFICATION would make it drop them.
    spdlog::info("event=bgp_session_graceful_close {} advertised={} restart_time={}", label_,
                 rib_ ? rib_->advertised() : 0, kGracefulRestartTimeS);
    apply(fsm_.stop(now_ms, std::nullopt), now_ms);
  } else {
    if (fsm_.state() == SessionState::kEstablished && rib_) {
      const auto updates = rib_->withdraw_all();
      if (!updates.empty()) {
        spdlog::info("event=bgp_routes_withdrawn {} updates={}", label_, updates.size());
      }
      send_updates(updates, now_ms);
    }
    apply(fsm_.stop(now_ms, err::kCeaseAdminShutdown), now_ms);
  }
  settle(now_ms);
}

void Session::abort() {
  if (primary_) primary_->close_now();
  if (candidate_) candidate_->close_now();
  for (auto& c : closing_) c->close_now();
  primary_.reset();
  candidate_.reset();
  closing_.clear();
  rib_.reset();
}

bool Session::closed() const { return !primary_ && !candidate_ && closing_.empty(); }

void Session::set_routes(const std::vector<Route>& routes, uint64_t now_ms) {
  desired_ = routes;
  if (rib_ && fsm_.state() == SessionState::kEstablished) {
    rib_->set_desired(desired_);
    const auto updates = rib_->sync();
    if (!updates.empty()) {
      spdlog::info("event=bgp_routes_sent {} updates={} advertised={} ignored={} too_large={}",
                   label_, updates.size(), rib_->advertised(), rib_->ignored(), rib_->too_large());
      send_updates(updates, now_ms);
    }
  }
  settle(now_ms);
}

void Session::accept(int fd, uint64_t now_ms) {
  auto conn = adopt_fd(fd, false);
  conn->local = local_address(fd).value_or(config::IpAddress{});
  const SessionState s = fsm_.state();
  if (s == SessionState::kIdle && !fsm_.started()) {
    spdlog::info("event=bgp_connection_rejected {} reason=session_stopped", label_);
    conn->close_now();
    return;
  }
  spdlog::debug("event=bgp_accepted {} state={} local={}", label_, state_name(s),
                conn->local.str());
  if (s == SessionState::kIdle || s == SessionState::kConnect || s == SessionState::kActive) {
    // No BGP connection yet: the peer's connection becomes the session's; an attempt of ours
    // still in progress is abandoned.
    if (primary_) retire(std::move(primary_), now_ms);
    primary_ = std::move(conn);
    apply(fsm_.handle(FsmEvent::kTcpConnectionConfirmed, now_ms), now_ms);
  } else if (s == SessionState::kEstablished) {
    // RFC 4271 6.8: a collision with an Established session closes the new connection.
    send_notification(*conn, Notification{err::kCease, err::kCeaseCollision, {}});
    retire(std::move(conn), now_ms);
  } else {
    // OpenSent / OpenConfirm: run the new connection up to its OPEN, then resolve.
    if (candidate_) retire(std::move(candidate_), now_ms);
    candidate_ = std::move(conn);
    candidate_->open_deadline_ms = now_ms + uint64_t(kLargeHoldTimeS) * 1000;
    queue(*candidate_, encode_open(fsm_.our_open()));
  }
  settle(now_ms);
}

void Session::poll_items(std::vector<PollItem>& out) const {
  const auto add = [&](const Connection& c) {
    if (c.fd < 0) return;
    short events = 0;
    if (c.connecting) {
      events = POLLOUT;
    } else {
      events = POLLIN;
      if (c.pending_output() && !c.wr_shut) events |= POLLOUT;
    }
    out.push_back(PollItem{c.fd, events, c.id});
  };
  if (primary_) add(*primary_);
  if (candidate_) add(*candidate_);
  for (const auto& c : closing_) add(*c);
}

void Session::on_io(uint64_t connection_id, short revents, uint64_t now_ms) {
  Connection* c = find(connection_id);
  if (!c || c->fd < 0) return;
  if (c->closing) {
    closing_io(*c, revents);
  } else if (c->connecting) {
    if (revents & (POLLOUT | POLLERR | POLLHUP)) {
      int error = 0;
      socklen_t len = sizeof error;
      if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
      if (error != 0) {
        note_error("connect: " + errno_text(error));
        spdlog::info("event=bgp_connect_failed {} error=\"{}\"", label_, errno_text(error));
        connection_failed(*c, "connect: " + errno_text(error), now_ms);
      } else {
        c->connecting = false;
        c->local = local_address(c->fd).value_or(config::IpAddress{});
        spdlog::debug("event=bgp_connected {} local={}", label_, c->local.str());
        apply(fsm_.handle(FsmEvent::kTcpCrAcked, now_ms), now_ms);
      }
    }
  } else {
    if (revents & POLLOUT) flush(*c);
    if (c->failed.empty() && (revents & (POLLIN | POLLHUP | POLLERR))) read_from(*c, now_ms);
  }
  settle(now_ms);
}

void Session::on_time(uint64_t now_ms) {
  apply(fsm_.on_time(now_ms), now_ms);
  if (candidate_ && candidate_->open_deadline_ms <= now_ms) {
    send_notification(*candidate_, Notification{err::kHoldTimerExpired, 0, {}});
    retire(std::move(candidate_), now_ms);
  }
  for (auto& c : closing_) {
    if (c->close_deadline_ms <= now_ms) c->close_now();
  }
  settle(now_ms);
}

std::optional<uint64_t> Session::next_deadline() const {
  std::optional<uint64_t> d = fsm_.next_deadline();
  const auto consider = [&](uint64_t t) {
    if (t != 0 && (!d || t < *d)) d = t;
  };
  if (candidate_) consider(candidate_->open_deadline_ms);
  for (const auto& c : closing_) {
    if (c->fd >= 0) consider(c->close_deadline_ms);
  }
  return d;
}

void Session::settle(uint64_t now_ms) {
  for (int round = 0; round < 4; ++round) {
    if (primary_ && !primary_->failed.empty()) {
      const std::string why = primary_->failed;
      connection_failed(*primary_, why, now_ms);
    } else if (candidate_ && !candidate_->failed.empty()) {
      retire(std::move(candidate_), now_ms);
    } else {
      break;
    }
  }
  for (auto& c : closing_) {
    if (!c->failed.empty()) c->close_now();
  }
  std::erase_if(closing_, [](const Conn& c) { return c->fd < 0; });
  if (fsm_.state() != logged_state_) {
    spdlog::debug("event=bgp_state {} from={} to={}", label_, state_name(logged_state_),
                  state_name(fsm_.state()));
    logged_state_ = fsm_.state();
    counters_.state_since_unix = static_cast<uint64_t>(std::time(nullptr));
  }
}

PeerStatus Session::status() const {
  PeerStatus s = counters_;
  s.state = fsm_.state();
  s.negotiated_hold_s =
      (s.state == SessionState::kOpenConfirm || s.state == SessionState::kEstablished)
          ? fsm_.negotiated().hold_time_s
          : 0;
  s.prefixes_advertised = rib_ ? rib_->advertised() : 0;
  return s;
}

}  // namespace bgp
