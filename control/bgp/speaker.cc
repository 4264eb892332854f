// The Speaker: every configured peer's Session, the passive listeners, one poll(2) loop.
//
// Runs in the control thread (the runner calls configure / set_routes / poll / shutdown from
// its loop; nothing here is thread-safe and nothing needs to be). Owns one listening socket per
// address family on the listen port (IPV6_V6ONLY on the IPv6 one), with the TCP-MD5 key of every
// configured peer that has a password (RFC 2385: a passive end needs the key before the SYN
// arrives), the Sessions by peer name, and the sessions being retired (de-configured or
// restarted peers whose last NOTIFICATION is still being flushed). Connections from addresses
// that are not configured peers are closed at once and counted.
#include "control/bgp/speaker.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "control/bgp/session.h"

namespace bgp {

namespace {

uint64_t now_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

constexpr int kListenBacklog = 64;
constexpr int kMaxAcceptsPerWakeup = 16;

}  // namespace

struct Speaker::Impl {
  struct Listener {
    config::IpFamily family;
    int fd = -1;
    std::map<config::IpAddress, std::string> keys;  // TCP-MD5 keys installed, by peer
  };

  uint16_t listen_port = 0;
  bool listeners_opened = false;
  std::vector<Listener> listeners;
  std::map<std::string, std::unique_ptr<Session>> sessions;
  std::vector<std::unique_ptr<Session>> retired;
  std::map<std::string, std::vector<Route>> routes;
  uint64_t rejected_connections = 0;
  uint64_t seed_state;

  Impl() : seed_state(std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32)) {}
  ~Impl() {
    for (auto& l : listeners) {
      if (l.fd >= 0) ::close(l.fd);
    }
  }

  uint64_t next_seed() {
    // splitmix64: independent jitter streams per session from one random start.
    uint64_t z = (seed_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  void open_listeners() {
    listeners_opened = true;
    if (listen_port == 0) return;
    for (const auto family : {config::IpFamily::kIPv4, config::IpFamily::kIPv6}) {
      const bool v4 = family == config::IpFamily::kIPv4;
      const int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      const auto fail = [&](const char* what) {
        spdlog::error("event=bgp_listen_failed family={} port={} step={} error=\"{}\"",
                      config::family_name(family), listen_port, what, std::strerror(errno));
        if (fd >= 0) ::close(fd);
      };
      if (fd < 0) {
        fail("socket");
        continue;
      }
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (!v4 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
        fail("IPV6_V6ONLY");
        continue;
      }
      set_cs6(fd, family);  // accepted sockets start with it, and so do our SYN-ACKs
      sockaddr_storage ss;
      const socklen_t len =
          to_sockaddr(v4 ? config::IpAddress::v4(0) : config::IpAddress::v6({}), listen_port, &ss);
      if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        fail("bind");
        continue;
      }
      if (listen(fd, kListenBacklog) != 0) {
        fail("listen");
        continue;
      }
      spdlog::info("event=bgp_listening family={} port={}", config::family_name(family),
                   listen_port);
      listeners.push_back(Listener{family, fd, {}});
    }
  }

  // Brings the listeners' TCP-MD5 keys in line with the configured peers: a removed peer's key
  // goes, a new or changed one is installed.
  void sync_keys() {
    for (auto& l : listeners) {
      std::map<config::IpAddress, std::string> want;
      for (const auto& [name, s] : sessions) {
        const auto& cfg = s->config();
        if (!cfg.password.empty() && cfg.peer_address.family() == l.family) {
          want.emplace(cfg.peer_address, cfg.password);
        }
      }
      for (auto it = l.keys.begin(); it != l.keys.end();) {
        auto w = want.find(it->first);
        if (w == want.end() || w->second != it->second) {
          set_md5_key(l.fd, it->first, "");
          it = l.keys.erase(it);
        } else {
          ++it;
        }
      }
      for (const auto& [address, key] : want) {
        if (l.keys.contains(address)) continue;
        if (const int e = set_md5_key(l.fd, address, key); e != 0) {
          spdlog::error("event=bgp_md5_key_failed address={} error=\"{}\"", address.str(),
                        key.size() > 80 ? "password longer than 80 bytes" : std::strerror(e));
          continue;
        }
        l.keys.emplace(address, key);
      }
    }
  }

  Session* session_for(const config::IpAddress& address) {
    for (auto& [name, s] : sessions) {
      if (s->config().peer_address == address) return s.get();
    }
    return nullptr;
  }

  void accept_from(Listener& l, uint64_t now) {
    for (int i = 0; i < kMaxAcceptsPerWakeup; ++i) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      const int fd =
          accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
          spdlog::warn("event=bgp_accept_failed family={} error=\"{}\"",
                       config::family_name(l.family), std::strerror(errno));
        }
        return;
      }
      const auto address = from_sockaddr(ss);
      Session* s = address ? session_for(*address) : nullptr;
      if (!s) {
        ++rejected_connections;
        spdlog::warn(
            "event=bgp_connection_rejected address={} reason=not_a_configured_peer "
            "rejected_total={}",
            address ? address->str() : "?", rejected_connections);
        ::close(fd);
        continue;
      }
      s->accept(fd, now);
    }
  }

  void for_each_session(const auto& f) {
    for (auto& [name, s] : sessions) f(*s);
    for (auto& s : retired) f(*s);
  }

  void poll_once(int timeout_ms) {
    uint64_t now = now_ms();
    int wait = std::max(timeout_ms, 0);
    for_each_session([&](Session& s) {
      if (auto d = s.next_deadline()) {
        wait = std::min<int64_t>(wait, *d > now ? int64_t(*d - now) : 0);
      }
    });

    std::vector<pollfd> fds;
    struct Ref {
      Session* session;  // null for a listener
      size_t listener;
      uint64_t connection_id;
    };
    std::vector<Ref> refs;
    for (size_t i = 0; i < listeners.size(); ++i) {
      fds.push_back(pollfd{listeners[i].fd, POLLIN, 0});
      refs.push_back(Ref{nullptr, i, 0});
    }
    std::vector<Session::PollItem> items;
    for_each_session([&](Session& s) {
      items.clear();
      s.poll_items(items);
      for (const auto& it : items) {
        fds.push_back(pollfd{it.fd, it.events, 0});
        refs.push_back(Ref{&s, 0, it.connection_id});
      }
    });

    const int rc = ::poll(fds.data(), fds.size(), wait);
    if (rc < 0 && errno != EINTR) {
      spdlog::warn("event=bgp_poll_failed error=\"{}\"", std::strerror(errno));
    }
    now = now_ms();
    if (rc > 0) {
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        if (refs[i].session) {
          refs[i].session->on_io(refs[i].connection_id, fds[i].revents, now);
        } else {
          accept_from(listeners[refs[i].listener], now);
        }
      }
    }
    for_each_session([&](Session& s) { s.on_time(now); });
    std::erase_if(retired, [](const std::unique_ptr<Session>& s) { return s->closed(); });
  }
};

Speaker::Speaker() : impl_(std::make_unique<Impl>()) {}

Speaker::~Speaker() = default;

void Speaker::set_listen_port(uint16_t port) { impl_->listen_port = port; }

void Speaker::configure(const std::vector<PeerConfig>& peers) {
  auto& im = *impl_;
  // Port 179 is taken only once BGP is configured: a node without BGPPeers leaves it to
  // whatever else runs on the host.
  if (!im.listeners_opened && !peers.empty()) im.open_listeners();
  const uint64_t now = now_ms();

  std::map<std::string, const PeerConfig*> wanted;
  for (const auto& p : peers) {
    std::string problem;
    if (p.name.empty())
      problem = "empty name";
    else if (p.my_asn == 0 || p.peer_asn == 0)
      problem = "AS number 0";
    else if (p.router_id == 0)
      problem = "router id 0";
    else if (p.hold_time_s == 1 || p.hold_time_s == 2)
      problem = "hold time 1 or 2 s";
    else if (p.password.size() > 80)
      problem = "password longer than 80 bytes";
    else if (wanted.contains(p.name))
      problem = "duplicate name";
    if (!problem.empty()) {
      spdlog::error("event=bgp_peer_invalid peer={} address={} error=\"{}\"", p.name,
                    p.peer_address.str(), problem);
      continue;
    }
    wanted.emplace(p.name, &p);
  }

  for (auto it = im.sessions.begin(); it != im.sessions.end();) {
    auto w = wanted.find(it->first);
    if (w == wanted.end()) {
      spdlog::info("event=bgp_peer_removed peer={} address={}", it->first,
                   it->second->config().peer_address.str());
      it->second->stop(err::kCeasePeerDeconfigured, now);
      im.retired.push_back(std::move(it->second));
      it = im.sessions.erase(it);
    } else if (!(it->second->config() == *w->second)) {
      spdlog::info("event=bgp_peer_changed peer={} address={}", it->first,
                   w->second->peer_address.str());
      it->second->stop(err::kCeaseOtherConfigChange, now);
      im.retired.push_back(std::move(it->second));
      it = im.sessions.erase(it);
    } else {
      ++it;
    }
  }

  for (const auto& [name, cfg] : wanted) {
    if (im.sessions.contains(name)) continue;
    spdlog::info(
        "event=bgp_peer_configured peer={} address={} port={} my_asn={} peer_asn={} hold={} "
        "keepalive={} md5={} multihop={} graceful_restart={} passive={}",
        name, cfg->peer_address.str(), cfg->peer_port, cfg->my_asn, cfg->peer_asn, cfg->hold_time_s,
        cfg->keepalive_time_s, !cfg->password.empty(), cfg->ebgp_multihop, cfg->graceful_restart,
        cfg->passive_only);
    auto s = std::make_unique<Session>(*cfg, im.next_seed());
    auto r = im.routes.find(name);
    if (r != im.routes.end()) s->set_routes(r->second, now);
    s->start(now);
    im.sessions.emplace(name, std::move(s));
  }
  im.sync_keys();
}

void Speaker::set_routes(const std::map<std::string, std::vector<Route>>& routes) {
  auto& im = *impl_;
  im.routes = routes;
  const uint64_t now = now_ms();
  static const std::vector<Route> kNone;
  for (auto& [name, s] : im.sessions) {
    auto r = routes.find(name);
    s->set_routes(r == routes.end() ? kNone : r->second, now);
  }
}

void Speaker::poll(int timeout_ms) { impl_->poll_once(timeout_ms); }

void Speaker::shutdown(std::chrono::milliseconds deadline) {
  auto& im = *impl_;
  const uint64_t start = now_ms();
  const uint64_t end = start + uint64_t(std::max<int64_t>(deadline.count(), 0));
  spdlog::info("event=bgp_shutdown_start sessions={} deadline_ms={}", im.sessions.size(),
               deadline.count());
  // No new connections from here on.
  for (auto& l : im.listeners) {
    if (l.fd >= 0) ::close(l.fd);
  }
  im.listeners.clear();
  for (auto& [name, s] : im.sessions) s->shutdown(start, end);
  // Until every peer has read what we sent and closed its side, or the deadline.
  bool drained = false;
  for (uint64_t now = now_ms(); now < end; now = now_ms()) {
    drained = true;
    im.for_each_session([&](Session& s) { drained = drained && s.closed(); });
    if (drained) break;
    im.poll_once(int(std::min<uint64_t>(end - now, 50)));
  }
  im.for_each_session([](Session& s) { s.abort(); });
  im.retired.clear();
  spdlog::info("event=bgp_shutdown_done elapsed_ms={} drained={}", now_ms() - start, drained);
}

std::vector<PeerStatus> Speaker::status() const {
  std::vector<PeerStatus> out;
  for (const auto& [name, s] : impl_->sessions) out.push_back(s->status());
  return out;
}

}  // namespace bgp
