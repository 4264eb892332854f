// The L7 (HTTP) path: SYN cookies, the request head, classification, the backend connection
// and the splice. See nf/l7.h for the sequence and docs/architecture.md for the choices.
#include "nf/l7.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>

#include "nf/checksum.h"
#include "nf/conn_table.h"
#include "nf/frame_handler.h"
#include "nf/frame_steps.h"
#include "nf/lb_tables.h"
#include "nf/tcp_options.h"
#include "nf/tcp_segment.h"
#include "nf/traffic.h"
#include "nf/wire.h"

namespace nf::l7 {

// ---- Tables --------------------------------------------------------------------------------

Tables::Tables() = default;
Tables::~Tables() = default;
Tables::Tables(Tables&&) noexcept = default;
Tables& Tables::operator=(Tables&&) noexcept = default;

std::string Tables::set_model(const route::RouteModel& model) {
  route::CompileResult r = route::compile(model);
  if (r.classifier == nullptr) return r.error.empty() ? "route model did not compile" : r.error;
  classifier_ = std::move(r.classifier);
  return {};
}

uint32_t Tables::add_action(ActionSpec a) {
  actions_.emplace_back();
  actions_.back().spec = std::move(a);
  return static_cast<uint32_t>(actions_.size() - 1);
}

void Tables::finalize(unsigned workers) {
  // Views into each action's own strings: the actions vector no longer changes size.
  for (Action& a : actions_) {
    const ActionSpec& s = a.spec;
    a.set.clear();
    a.add.clear();
    a.remove.clear();
    for (const HeaderPair& h : s.set_headers) a.set.push_back({h.name, h.value});
    for (const HeaderPair& h : s.add_headers) a.add.push_back({h.name, h.value});
    for (const std::string& n : s.remove_headers) a.remove.emplace_back(n);
    a.edits = {};
    a.edits.set = a.set.data();
    a.edits.n_set = static_cast<uint32_t>(a.set.size());
    a.edits.add = a.add.data();
    a.edits.n_add = static_cast<uint32_t>(a.add.size());
    a.edits.remove = a.remove.data();
    a.edits.n_remove = static_cast<uint32_t>(a.remove.size());
    a.edits.host = s.rewrite_host;
    a.edits.path_mode = s.kind == ActionKind::kForward ? s.path_mode : 0;
    a.edits.path_value = s.path_value;
    a.edits.matched_prefix = s.matched_prefix;
    a.total_weight = 0;
    for (const PoolSpec& p : s.pools) a.total_weight += p.weight;
    // A backendRef's own RequestHeaderModifier applies after the rule's: its lists follow.
    a.pool_edits.clear();
    a.pool_lists.clear();
    bool any = false;
    for (const PoolSpec& p : s.pools) {
      any = any || !p.set_headers.empty() || !p.add_headers.empty() || !p.remove_headers.empty();
    }
    if (any) {
      a.pool_lists.resize(s.pools.size());
      for (size_t i = 0; i < s.pools.size(); ++i) {
        Action::Lists& l = a.pool_lists[i];
        l.set = a.set;
        l.add = a.add;
        l.remove = a.remove;
        for (const HeaderPair& h : s.pools[i].set_headers) l.set.push_back({h.name, h.value});
        for (const HeaderPair& h : s.pools[i].add_headers) l.add.push_back({h.name, h.value});
        for (const std::string& n : s.pools[i].remove_headers) l.remove.emplace_back(n);
      }
      for (size_t i = 0; i < s.pools.size(); ++i) {
        http::HeadEdits e = a.edits;
        const Action::Lists& l = a.pool_lists[i];
        e.set = l.set.data();
        e.n_set = static_cast<uint32_t>(l.set.size());
        e.add = l.add.data();
        e.n_add = static_cast<uint32_t>(l.add.size());
        e.remove = l.remove.data();
        e.n_remove = static_cast<uint32_t>(l.remove.size());
        a.pool_edits.push_back(e);
      }
    }
  }
  scratch_.clear();
  if (classifier_ != nullptr) {
    for (unsigned w = 0; w < workers; ++w) {
      scratch_.push_back(std::make_unique<route::Classifier::Scratch>(classifier_->make_scratch()));
    }
  }
}

// ---- secrets ---------------------------------------------------------------------------------

namespace {

void random_secret(uint8_t (&out)[SynCookieKeys::kSecretBytes]) {
  size_t got = 0;
  while (got < sizeof out) {
    const ssize_t n = getrandom(out + got, sizeof out - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
}

SynCookieKeys fresh_keys() {
  uint8_t s[SynCookieKeys::kSecretBytes];
  random_secret(s);
  return SynCookieKeys(s);
}

}  // namespace

CookieSecrets::CookieSecrets()
    : ring_{fresh_keys(), fresh_keys(), fresh_keys(), fresh_keys()} {}

void CookieSecrets::rotate(uint32_t now_count) {
  const uint32_t cur = current_.load(std::memory_order_relaxed);
  SynCookieKeys next = ring_[cur % kRing];
  uint8_t s[SynCookieKeys::kSecretBytes];
  random_secret(s);
  next.rotate(s, now_count);
  ring_[(cur + 1) % kRing] = next;
  current_.store(cur + 1, std::memory_order_release);
}

// ---- per-worker state ------------------------------------------------------------------------

namespace {

constexpr uint32_t kNone = ~0u;
constexpr uint8_t kOurWscale = 7;  // the window scale Portico announces to clients
constexpr uint32_t kMaxSynRetries = 3;
constexpr uint32_t kMaxReplayRetries = 6;

enum class Phase : uint8_t {
  kFree = 0,
  kHead,        // reading the request head
  kResponded,   // Portico answered (with FIN); waiting for the client to close
  kConnecting,  // SYN sent to the backend
  kReplaying,   // spliced; the backend has not acknowledged the whole replayed head
  kSpliced,     // spliced; head delivered, buffer returned
};

}  // namespace

// What every spliced segment reads first: the splice state and the phase in the first line,
// the record index (checked against the record) in the second.
struct alignas(64) WorkerState::Slot {
  splice::SpliceState sp;
  Phase phase = Phase::kFree;
  uint8_t retries = 0;
  bool v6 = false;
  bool client_fin = false;
  uint32_t conn = kNone;  // ConnTable record
  uint32_t buf = kNone;
  uint32_t action = 0;
  uint16_t lport = 0;    // classifier port index
  uint16_t status = 0;   // the response sent (kResponded)
  uint64_t deadline = 0; // TSC; 0: no timer
  // Client connection (host order).
  uint32_t isn_c = 0;
  uint32_t isn_pc = 0;
  uint32_t rcv_nxt = 0;  // next client byte expected
  uint32_t snd_nxt = 0;  // next sequence number Portico sends the client
  uint32_t client_window = 0;  // bytes the client's last window field allows
  uint32_t ts_to_client = 0;   // TSval of Portico's last segment to the client
  SynOptions copt;             // what the client's SYN negotiated; ts_val: its latest TSval
  uint16_t our_mss = 0;        // the MSS Portico announced to the client
  // Backend connection.
  uint32_t isn_pb = 0;
  uint32_t isn_b = 0;
  uint32_t backend_ts = 0;  // the backend's latest TSval
  tcp_opt::TcpOptions backend_syn;  // what Portico's SYN to the backend carried
};
static_assert(sizeof(splice::SpliceState) <= 60, "the splice state and the phase share a line");

struct WorkerState::Buffer {
  uint32_t len = 0;         // client bytes received in order (Hc when the splice is made)
  uint32_t head_len = 0;    // bytes of the parsed head
  uint32_t replay_len = 0;  // bytes to replay (Hb)
  uint8_t data[kHeadLimit];
  uint8_t replay[kReplayRoom];
};

WorkerState::WorkerState(uint32_t slots, uint32_t buffers, uint64_t tsc_hz)
    : n_slots_(std::max<uint32_t>(slots, 1)),
      slots_(new Slot[n_slots_]),
      n_buffers_(std::max<uint32_t>(buffers, 1)),
      buffers_(new Buffer[n_buffers_]),
      tsc_hz_(tsc_hz == 0 ? 1 : tsc_hz) {
  free_slots_.reserve(n_slots_);
  for (uint32_t i = n_slots_; i-- > 0;) free_slots_.push_back(i);
  free_buffers_.reserve(n_buffers_);
  for (uint32_t i = n_buffers_; i-- > 0;) free_buffers_.push_back(i);
  uint8_t seed[8];
  uint8_t s16[SynCookieKeys::kSecretBytes];
  random_secret(s16);
  std::memcpy(seed, s16, 8);
  std::memcpy(&rng_, seed, 8);
  rng_ |= 1;
  random_secret(s16);
  isn_key_ = siphash_key(s16);
}

WorkerState::~WorkerState() = default;

WorkerState::Slot* WorkerState::slot(uint32_t i) { return i < n_slots_ ? &slots_[i] : nullptr; }

WorkerState::Slot* WorkerState::take_slot() {
  if (free_slots_.empty()) return nullptr;
  Slot* s = &slots_[free_slots_.back()];
  free_slots_.pop_back();
  *s = Slot{};
  return s;
}

void WorkerState::free_slot(Slot* s) {
  if (s->phase == Phase::kFree) return;
  free_buffer(s);
  s->phase = Phase::kFree;
  s->conn = kNone;
  free_slots_.push_back(index_of(s));
}

WorkerState::Buffer* WorkerState::take_buffer(Slot* s) {
  if (free_buffers_.empty()) return nullptr;
  s->buf = free_buffers_.back();
  free_buffers_.pop_back();
  Buffer* b = &buffers_[s->buf];
  b->len = b->head_len = b->replay_len = 0;
  return b;
}

void WorkerState::free_buffer(Slot* s) {
  if (s->buf == kNone) return;
  free_buffers_.push_back(s->buf);
  s->buf = kNone;
}

uint32_t WorkerState::index_of(const Slot* s) const { return static_cast<uint32_t>(s - slots_.get()); }

WorkerState::Buffer* WorkerState::buffer(const Slot& s) {
  return s.buf == kNone ? nullptr : &buffers_[s.buf];
}

uint32_t WorkerState::backend_isn(const uint8_t* tuple, size_t len, uint64_t now) const {
  const uint64_t ticks = now / std::max<uint64_t>(tsc_hz_ / 250000, 1);  // 4 us
  return static_cast<uint32_t>(ticks) + static_cast<uint32_t>(siphash24(isn_key_, tuple, len));
}

uint32_t WorkerState::next_random() {
  // xorshift64*: ISNs of backend connections and weighted choices, not secrets.
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return static_cast<uint32_t>((rng_ * 0x2545F4914F6CDD1Dull) >> 32);
}

}  // namespace nf::l7

// ---- the per-segment path ----------------------------------------------------------------

namespace nf::detail {

using namespace wire;
using l7::Phase;
using Slot = l7::WorkerState::Slot;
using Buffer = l7::WorkerState::Buffer;

namespace {

// The record keeps slot + 1 (records are zeroed when inserted: 0 is "no slot").
void set_conn_slot(Conn* c, uint32_t slot) { c->l7_slot = slot + 1; }

uint32_t conn_slot(const Conn& c) { return c.l7_slot == 0 ? l7::kNone : c.l7_slot - 1; }

// Clocks: the cookie count (minutes) and the TCP timestamp clock (milliseconds).
uint32_t cookie_count(const L4Context& l4) {
  return static_cast<uint32_t>(l4.now / (l4.tsc_hz * 60));
}
uint32_t ts_now(const L4Context& l4) {
  return static_cast<uint32_t>(l4.now / (l4.tsc_hz / 1000 == 0 ? 1 : l4.tsc_hz / 1000));
}
uint64_t ms_ticks(const L4Context& l4, uint64_t ms) { return l4.tsc_hz / 1000 * ms; }

inline uint32_t seg_seq(const uint8_t* tcp) { return be32(load32(tcp + tcp::kSeq)); }
inline uint32_t seg_ack(const uint8_t* tcp) { return be32(load32(tcp + tcp::kAck)); }
inline uint32_t tcp_hlen(const uint8_t* tcp) { return (tcp[tcp::kDataOffset] >> 4) * 4u; }

bool checksum_ok(const TcpPacket& p) {
  uint64_t sum;
  if (p.v6) {
    sum = csum::add_ipv6_pseudo_header(0, p.ip, p.tcp_len, ipproto::kProtoTcp);
  } else {
    sum = csum::add(0, p.ip + ipv4::kSrc, 8) + be32(ipproto::kProtoTcp) + be32(p.tcp_len);
  }
  return csum::verify(csum::add(sum, p.tcp, p.tcp_len));
}

// Addresses of the client connection (Portico's VIP side -> the client) and of the backend
// connection (SNAT -> backend), copied out of the record so a frame can be built over the
// buffer the record's packet arrived in.
struct Ends {
  uint8_t src_mac[6], dst_mac[6];
  uint8_t src[16], dst[16];
  uint16_t sport, dport;
  bool v6;
  uint8_t port;  // interface to send on
  tcp_seg::SegmentAddrs addrs() const {
    tcp_seg::SegmentAddrs a;
    a.src_mac = src_mac;
    a.dst_mac = dst_mac;
    a.src_ip = src;
    a.dst_ip = dst;
    a.sport = sport;
    a.dport = dport;
    a.v6 = v6;
    return a;
  }
};

Ends client_ends(const Conn& c, const L4Context& l4) {
  Ends e{};
  e.v6 = c.v6 != 0;
  const size_t n = e.v6 ? 16 : 4;
  std::memcpy(e.src, c.dst(ConnDir::kOrig), n);
  std::memcpy(e.dst, c.src(ConnDir::kOrig), n);
  e.sport = c.dport(ConnDir::kOrig);
  e.dport = c.sport(ConnDir::kOrig);
  std::memcpy(e.dst_mac, c.client_mac, 6);
  std::memcpy(e.src_mac, l4.port_mac[c.client_port].addr_bytes, 6);
  e.port = c.client_port;
  return e;
}

// false: the next hop's MAC is not known yet (a request is queued).
bool backend_ends(const Conn& c, L4Context& l4, Ends* e) {
  *e = Ends{};
  e->v6 = c.v6 != 0;
  const size_t n = e->v6 ? 16 : 4;
  std::memcpy(e->src, c.dst(ConnDir::kReply), n);
  std::memcpy(e->dst, c.src(ConnDir::kReply), n);
  e->sport = c.dport(ConnDir::kReply);
  e->dport = c.sport(ConnDir::kReply);
  std::memcpy(e->src_mac, l4.port_mac[c.port_index].addr_bytes, 6);
  e->port = c.port_index;
  return l7_next_hop_mac(l4, c.nexthop, e->dst_mac);
}

// The window field Portico announces to the client: the head buffer's free space (or, once the
// head is read, a full buffer), in the scale the client reads.
uint16_t client_window_field(const Slot& s, uint32_t free_bytes) {
  const uint8_t shift = s.copt.wscale == kNoWindowScale ? 0 : l7::kOurWscale;
  return static_cast<uint16_t>(std::min<uint32_t>(free_bytes >> shift, 0xffff));
}

// Sends a frame through the sink (extra frames): false if no buffer.
template <class Build>
bool emit(L4Context& l4, uint8_t port, Build&& build) {
  if (l4.sink == nullptr) return false;
  uint16_t cap = 0;
  uint8_t* buf = l4.sink->get(port, &cap);
  if (buf == nullptr) {
    ++l4.l7->counters.no_mbuf;
    return false;
  }
  const size_t n = build(buf, cap);
  if (n == 0) {
    // Nothing fit: send nothing (commit with 0 hands the buffer back).
    l4.sink->commit(0);
    return false;
  }
  l4.sink->commit(static_cast<uint16_t>(n));
  return true;
}

// Timestamps for a segment to the client: Portico's clock, echoing the client's latest.
const tcp_seg::Timestamps* client_ts(Slot& s, const L4Context& l4, tcp_seg::Timestamps* ts) {
  if (!s.copt.timestamps) return nullptr;
  s.ts_to_client = ts_now(l4);
  ts->val = s.ts_to_client;
  ts->ecr = s.copt.ts_val;
  return ts;
}

// ---- answering the client ----------------------------------------------------------------

// An ACK of everything received so far, built over the packet (in place).
Outcome ack_client_in_place(const TcpPacket& p, Slot& s, const Conn& c, L4Context& l4,
                            uint32_t free_bytes) {
  const Ends e = client_ends(c, l4);
  tcp_seg::Timestamps ts;
  const size_t n = tcp_seg::build_ack(e.addrs(), s.snd_nxt, s.rcv_nxt,
                                      client_window_field(s, free_bytes), client_ts(s, l4, &ts),
                                      p.frame, l4.room);
  if (n == 0) return drop(DropReason::kNoRoom);
  *p.len = static_cast<uint16_t>(n);
  return forward(ForwardKind::kToClient, e.port);
}

Outcome rst_in_place(const TcpPacket& p, const Ends& e, uint32_t seq, uint32_t ack, bool with_ack,
                     L4Context& l4, ForwardKind kind) {
  const size_t n = tcp_seg::build_rst(e.addrs(), seq, ack, with_ack, p.frame, l4.room);
  if (n == 0) return drop(DropReason::kNoRoom);
  *p.len = static_cast<uint16_t>(n);
  return forward(kind, e.port);
}

// The response bytes for a status (and the redirect Location, from the head in the buffer).
size_t make_response(const Slot& s, Buffer* b, const l7::Tables* tables, uint16_t status,
                     uint8_t* out, size_t cap) {
  char location[2048];
  size_t loc_len = 0;
  if (status >= 300 && status < 400 && b != nullptr && tables != nullptr) {
    const l7::Tables::Action* a = tables->action(s.action);
    http::RequestHead head;
    if (a != nullptr &&
        http::parse_request_head(b->data, b->len, l7::kHeadLimit, &head) ==
            http::ParseStatus::kComplete) {
      http::Redirect r;
      r.scheme = a->spec.redirect_scheme;
      r.hostname = a->spec.redirect_host;
      r.port = a->spec.redirect_port;
      r.path_mode = a->spec.path_mode;
      r.path_value = a->spec.path_value;
      r.matched_prefix = a->spec.matched_prefix;
      loc_len = http::build_redirect_location(head, r, "http", a->spec.listener_port, location,
                                              sizeof location);
    }
  }
  return http::build_response(status, std::string_view(location, loc_len), out, cap);
}

// Sends Portico's own response with FIN, in place when p is given, else through the sink.
Outcome respond(const TcpPacket* p, Slot& s, Conn* c, L4Context& l4, uint16_t status) {
  l7::WorkerState& w = *l4.l7;
  s.status = status;
  s.phase = Phase::kResponded;
  s.deadline = l4.now + ms_ticks(l4, 10000);
  c->state = ConnState::kTcpClosing;
  if (status == 404) {
    ++w.counters.not_found;
  } else if (status == 400) {
    ++w.counters.bad_requests;
  } else if (status == 431) {
    ++w.counters.heads_too_large;
  } else {
    ++w.counters.responses;
  }
  uint8_t body[4096];
  const size_t blen = make_response(s, w.buffer(s), l4.l7_tables, status, body, sizeof body);
  const Ends e = client_ends(*c, l4);
  tcp_seg::Timestamps ts;
  const tcp_seg::Timestamps* tsp = client_ts(s, l4, &ts);
  const uint32_t seq = s.isn_pc + 1;
  s.snd_nxt = seq + static_cast<uint32_t>(blen) + 1;  // the FIN
  const uint16_t win = client_window_field(s, l7::kHeadLimit);
  if (p != nullptr) {
    const size_t n = tcp_seg::build_data(e.addrs(), seq, s.rcv_nxt, win, tsp, body, blen, true,
                                         p->frame, l4.room);
    if (n == 0) return drop(DropReason::kNoRoom);
    *p->len = static_cast<uint16_t>(n);
    return forward(ForwardKind::kToClient, e.port);
  }
  emit(l4, e.port, [&](uint8_t* buf, uint16_t cap) {
    return tcp_seg::build_data(e.addrs(), seq, s.rcv_nxt, win, tsp, body, blen, true, buf, cap);
  });
  return consume();
}

// ---- the backend -------------------------------------------------------------------------

size_t build_backend_syn(const Slot& s, const Ends& e, uint8_t* buf, size_t cap) {
  const uint16_t window = static_cast<uint16_t>(std::min<uint32_t>(s.client_window, 0xffff));
  return tcp_seg::build_syn(e.addrs(), s.isn_pb, window, s.backend_syn, buf, cap);
}

// Chooses the backend by the action's weights and Maglev; opens the backend tuple. Returns the
// status to answer instead (500, 503), or 0 with the record set up.
uint16_t choose_backend(Slot& s, Conn* c, L4Context& l4, uint32_t hash, uint32_t* chosen) {
  const l7::Tables::Action* a = l4.l7_tables->action(s.action);
  if (a == nullptr || a->total_weight == 0) return 500;
  uint64_t r = l4.l7->next_random() % a->total_weight;
  const l7::PoolSpec* pool = nullptr;
  for (const l7::PoolSpec& ps : a->spec.pools) {
    if (r < ps.weight) {
      pool = &ps;
      break;
    }
    r -= ps.weight;
  }
  if (pool != nullptr) *chosen = static_cast<uint32_t>(pool - a->spec.pools.data());
  if (pool == nullptr || !pool->resolved) return 500;
  const auto& services = l4.tables->services();
  const uint32_t svc = c->v6 ? pool->service6 : pool->service;
  if (svc >= services.size()) return 500;
  const lb::Backend* b = l4.tables->pick(services[svc], hash);
  if (b == nullptr) {
    ++l4.l7->counters.no_backend;
    return 503;
  }
  if (!open_backend_tuple(c, *b, hash, l4)) {
    ++l4.l7->counters.no_snat_port;
    return 503;
  }
  c->stats_backend = b->stats_slot;
  if (l4.traffic != nullptr) l4.traffic->open_backend(b->stats_slot, b->id);
  return 0;
}

// The head is complete: classify it and act.
Outcome on_head(const TcpPacket& p, Slot& s, Conn* c, Buffer* b, L4Context& l4, uint32_t hash) {
  l7::WorkerState& w = *l4.l7;
  http::RequestHead head;
  const http::ParseStatus st = http::parse_request_head(b->data, b->len, l7::kHeadLimit, &head);
  if (st == http::ParseStatus::kBadRequest || st == http::ParseStatus::kTooLarge) {
    // 400, 431, 501 (a transfer coding other than chunked) or 505 (not HTTP/1.x).
    return respond(&p, s, c, l4,
                   head.reject_status != 0 ? head.reject_status
                                           : (st == http::ParseStatus::kTooLarge ? 431 : 400));
  }
  ++w.counters.heads;
  const l7::Tables* t = l4.l7_tables;
  route::Classifier::Scratch* scratch = t != nullptr ? t->scratch(l4.worker) : nullptr;
  if (t == nullptr || t->empty() || scratch == nullptr) return respond(&p, s, c, l4, 404);
  route::Request req;
  req.method = head.method;
  req.target = head.target;
  req.host = head.host;
  req.headers = head.headers;
  req.n_headers = head.n_headers;
  const route::Decision d = t->classifier()->classify(s.lport, req, *scratch);
  if (d.outcome != route::Decision::kMatched) {
    return respond(&p, s, c, l4, d.outcome == route::Decision::kScanError ? 500 : 404);
  }
  s.action = d.action;
  const l7::Tables::Action* a = t->action(d.action);
  if (a == nullptr) return respond(&p, s, c, l4, 500);
  if (a->spec.kind != l7::ActionKind::kForward) return respond(&p, s, c, l4, a->spec.status);

  uint32_t pool = 0;
  if (const uint16_t status = choose_backend(s, c, l4, hash, &pool); status != 0) {
    return respond(&p, s, c, l4, status);
  }
  // The head as the backend gets it, then any body bytes that came with it.
  http::HeadEdits edits = a->pool_edits.empty() ? a->edits : a->pool_edits[pool];
  edits.force_close = !a->spec.keepalive_ok && head.keep_alive;
  const size_t hb = http::rewrite_head(head, b->data, edits, b->replay, l7::kReplayRoom);
  const uint32_t body = b->len - head.head_len;
  if (hb == 0 || hb + body > l7::kReplayRoom) {
    // The reply tuple stays indexed until the record ages out: nothing is sent on it.
    return respond(&p, s, c, l4, 500);
  }
  std::memcpy(b->replay + hb, b->data + head.head_len, body);
  b->head_len = head.head_len;
  b->replay_len = static_cast<uint32_t>(hb + body);
  // Acknowledge the head to the client (it stops retransmitting) and open the backend.
  s.phase = Phase::kConnecting;
  s.retries = 0;
  s.deadline = l4.now + ms_ticks(l4, 1000);
  {
    // SNAT address and port, backend address and port: the connection the ISN is for.
    uint8_t t[36];
    const size_t alen = c->v6 ? 16 : 4;
    std::memcpy(t, c->dst(ConnDir::kReply), alen);
    std::memcpy(t + alen, c->src(ConnDir::kReply), alen);
    const uint16_t ports[2] = {c->dport(ConnDir::kReply), c->sport(ConnDir::kReply)};
    std::memcpy(t + 2 * alen, ports, 4);
    s.isn_pb = w.backend_isn(t, 2 * alen + 4, l4.now);
  }
  tcp_opt::TcpOptions& o = s.backend_syn;
  o = {};
  o.has_mss = true;
  o.mss = s.copt.mss;
  o.sack_permitted = s.copt.sack_permitted;
  o.has_timestamps = s.copt.timestamps;
  // Portico's own clock, not the client's: a backend holding an earlier connection on these
  // addresses and ports in TIME_WAIT takes a SYN only with a newer TSval (PAWS, RFC 7323 §5);
  // the splice translates between the two clocks.
  o.ts_val = ts_now(l4);
  o.ts_ecr = 0;
  o.has_wscale = s.copt.wscale != kNoWindowScale;
  o.wscale = o.has_wscale ? s.copt.wscale : 0;
  ++w.counters.backend_syns;
  {
    const Ends ce = client_ends(*c, l4);
    tcp_seg::Timestamps ts;
    const tcp_seg::Timestamps* tsp = client_ts(s, l4, &ts);
    const uint16_t win = client_window_field(s, l7::kHeadLimit - b->len);
    emit(l4, ce.port, [&](uint8_t* buf, uint16_t cap) {
      return tcp_seg::build_ack(ce.addrs(), s.snd_nxt, s.rcv_nxt, win, tsp, buf, cap);
    });
  }
  Ends be;
  const bool mac_known = backend_ends(*c, l4, &be);
  const size_t n = build_backend_syn(s, be, p.frame, l4.room);
  if (n == 0) return drop(DropReason::kNoRoom);
  *p.len = static_cast<uint16_t>(n);
  if (!mac_known) {
    l4.hold_nexthop = c->nexthop;
    return hold(ForwardKind::kL7ToBackend, be.port);
  }
  return forward(ForwardKind::kL7ToBackend, be.port);
}

// Sends the replay to the backend: segments of at most the backend's MSS; the first over the
// packet when p is given. Returns the outcome for p (consume when p is null).
Outcome send_replay(const TcpPacket* p, Slot& s, Conn* c, L4Context& l4) {
  Buffer* b = l4.l7->buffer(s);
  Ends be;
  if (b == nullptr || !backend_ends(*c, l4, &be)) return p ? drop(DropReason::kNeighborUnresolved)
                                                          : consume();
  const uint16_t window = static_cast<uint16_t>(
      std::min<uint32_t>(s.client_window >> s.sp.wscale_to_backend, 0xffff));
  tcp_seg::Timestamps ts{s.copt.ts_val + s.sp.ts_to_backend, s.backend_ts};
  const tcp_seg::Timestamps* tsp = s.sp.ts_backend ? &ts : nullptr;
  const size_t hdr = tcp_seg::headers_len(be.v6, tsp ? tcp_opt::kTimestampsBlockLen : 0);
  const uint32_t ack = s.isn_b + 1;
  uint32_t off = 0;
  Outcome first = consume();
  bool first_done = p == nullptr;
  while (off < b->replay_len) {
    const uint32_t cap_here = first_done ? 1500 : l4.room;  // sink buffers hold a full frame
    uint32_t chunk = std::min<uint32_t>(b->replay_len - off, s.sp.mss_backend);
    if (cap_here > hdr) chunk = std::min<uint32_t>(chunk, cap_here - static_cast<uint32_t>(hdr));
    const uint32_t seq = s.isn_pb + 1 + off;
    const uint8_t* payload = b->replay + off;
    if (!first_done) {
      const size_t n = tcp_seg::build_data(be.addrs(), seq, ack, window, tsp, payload, chunk,
                                           false, p->frame, l4.room);
      if (n == 0) return drop(DropReason::kNoRoom);
      *p->len = static_cast<uint16_t>(n);
      first = forward(ForwardKind::kL7ToBackend, be.port);
      first_done = true;
    } else if (!emit(l4, be.port, [&](uint8_t* buf, uint16_t cap) {
                 return tcp_seg::build_data(be.addrs(), seq, ack, window, tsp, payload, chunk,
                                            false, buf, cap);
               })) {
      break;  // the timer sends the rest again
    }
    off += chunk;
  }
  return first;
}

void client_handshake_side(const Slot& s, uint32_t hc, splice::HandshakeSide* h) {
  *h = {};
  h->isn_peer = s.isn_c;
  h->isn_portico = s.isn_pc;
  h->peer_syn.has_mss = true;
  h->peer_syn.mss = s.copt.mss;
  h->peer_syn.has_wscale = s.copt.wscale != kNoWindowScale;
  h->peer_syn.wscale = h->peer_syn.has_wscale ? s.copt.wscale : 0;
  h->peer_syn.sack_permitted = s.copt.sack_permitted;
  h->peer_syn.has_timestamps = s.copt.timestamps;
  h->portico_syn.has_mss = true;
  h->portico_syn.mss = s.our_mss;
  h->portico_syn.has_wscale = h->peer_syn.has_wscale;
  h->portico_syn.wscale = l7::kOurWscale;
  h->portico_syn.sack_permitted = s.copt.sack_permitted;
  h->portico_syn.has_timestamps = s.copt.timestamps;
  h->head_len = hc;
  h->ts_sent = s.ts_to_client;
  h->ts_received = s.copt.ts_val;
}

// ---- the listener: SYN and cookie ACK -----------------------------------------------------

template <size_t N>
void fill_tuple(uint8_t (&saddr)[N], uint8_t (&daddr)[N], uint16_t* sport, uint16_t* dport,
                const TcpPacket& p) {
  const size_t src = p.v6 ? ipv6::kSrc : ipv4::kSrc;
  const size_t dst = p.v6 ? ipv6::kDst : ipv4::kDst;
  std::memcpy(saddr, p.ip + src, N);
  std::memcpy(daddr, p.ip + dst, N);
  *sport = load16(p.tcp);
  *dport = load16(p.tcp + 2);
}

uint16_t mss_for_port(const L4Context& l4, uint8_t port, bool v6) {
  const uint16_t mtu = port < lb::Tables::kMaxInterfaces && l4.mtu[port] != 0 ? l4.mtu[port] : 1500;
  return static_cast<uint16_t>(mtu - (v6 ? 60 : 40));
}

Outcome answer_syn(const TcpPacket& p, L4Context& l4) {
  const uint8_t* tcph = p.tcp;
  const uint32_t hl = tcp_hlen(tcph);
  tcp_opt::TcpOptions opts;
  if (tcp_opt::parse_options(tcph + 20, hl - 20, &opts) != tcp_opt::OptionsError::kOk) {
    return drop(DropReason::kL4Malformed);
  }
  SynOptions offered;
  offered.mss = opts.has_mss ? opts.mss : (p.v6 ? kDefaultMss6 : kDefaultMss4);
  offered.wscale = opts.has_wscale ? std::min<uint8_t>(opts.wscale, kMaxWindowScale)
                                   : kNoWindowScale;
  offered.sack_permitted = opts.sack_permitted;
  offered.timestamps = opts.has_timestamps;
  offered.ts_val = opts.ts_val;
  const uint32_t isn_c = seg_seq(tcph);
  const SynCookieKeys& keys = l4.secrets->current();
  SynCookie ck;
  if (p.v6) {
    SynCookieTuple6 t;
    fill_tuple(t.saddr, t.daddr, &t.sport, &t.dport, p);
    ck = syn_cookie_make(keys, t, isn_c, offered, cookie_count(l4), ts_now(l4));
  } else {
    SynCookieTuple4 t;
    fill_tuple(t.saddr, t.daddr, &t.sport, &t.dport, p);
    ck = syn_cookie_make(keys, t, isn_c, offered, cookie_count(l4), ts_now(l4));
  }
  tcp_opt::TcpOptions ours;
  ours.has_mss = true;
  ours.mss = mss_for_port(l4, p.port, p.v6);
  ours.sack_permitted = ck.negotiated.sack_permitted;
  ours.has_timestamps = ck.negotiated.timestamps;
  ours.ts_val = ck.ts_val;
  ours.ts_ecr = offered.ts_val;
  ours.has_wscale = ck.negotiated.wscale != kNoWindowScale;
  ours.wscale = l7::kOurWscale;
  // Build the SYN-ACK over the SYN: addresses swapped, MACs from the frame.
  uint8_t src_mac[6], dst_mac[6], src[16], dst[16];
  const size_t alen = p.v6 ? 16 : 4;
  std::memcpy(dst_mac, p.frame + eth::kSrc, 6);
  std::memcpy(src_mac, l4.port_mac[p.port].addr_bytes, 6);
  std::memcpy(src, p.ip + (p.v6 ? ipv6::kDst : ipv4::kDst), alen);
  std::memcpy(dst, p.ip + (p.v6 ? ipv6::kSrc : ipv4::kSrc), alen);
  tcp_seg::SegmentAddrs a;
  a.src_mac = src_mac;
  a.dst_mac = dst_mac;
  a.src_ip = src;
  a.dst_ip = dst;
  a.sport = load16(tcph + 2);
  a.dport = load16(tcph);
  a.v6 = p.v6;
  const size_t n = tcp_seg::build_syn_ack(a, ck.isn, isn_c + 1, static_cast<uint16_t>(l7::kHeadLimit),
                                          ours, p.frame, l4.room);
  if (n == 0) return drop(DropReason::kNoRoom);
  *p.len = static_cast<uint16_t>(n);
  ++l4.l7->counters.syn_cookies;
  return reply(ReplyKind::kSynAck);
}

Outcome reset_stray(const TcpPacket& p, L4Context& l4) {
  // RFC 9293 §3.10.7.1: a segment for no connection gets a reset (none for a reset).
  const uint8_t flags = p.tcp[tcp::kFlags];
  if ((flags & tcp::kRst) != 0) return drop(DropReason::kNoConnection);
  Ends e{};
  e.v6 = p.v6;
  const size_t alen = p.v6 ? 16 : 4;
  std::memcpy(e.dst_mac, p.frame + eth::kSrc, 6);
  std::memcpy(e.src_mac, l4.port_mac[p.port].addr_bytes, 6);
  std::memcpy(e.src, p.ip + (p.v6 ? ipv6::kDst : ipv4::kDst), alen);
  std::memcpy(e.dst, p.ip + (p.v6 ? ipv6::kSrc : ipv4::kSrc), alen);
  e.sport = load16(p.tcp + 2);
  e.dport = load16(p.tcp);
  e.port = p.port;
  const uint32_t hl = tcp_hlen(p.tcp);
  const uint32_t plen = p.tcp_len - hl;
  if ((flags & tcp::kAckFlag) != 0) {
    return rst_in_place(p, e, seg_ack(p.tcp), 0, false, l4, ForwardKind::kToClient);
  }
  const uint32_t ack = seg_seq(p.tcp) + plen + ((flags & tcp::kSyn) ? 1 : 0) +
                       ((flags & tcp::kFin) ? 1 : 0);
  return rst_in_place(p, e, 0, ack, true, l4, ForwardKind::kToClient);
}

Outcome client_data(const TcpPacket& p, Slot& s, Conn* c, L4Context& l4, uint32_t hash);

}  // namespace

Outcome l7_listener(const TcpPacket& p, const lb::Service& svc, uint32_t hash, L4Context& l4) {
  if (l4.l7 == nullptr || l4.secrets == nullptr) return drop(DropReason::kVipNoService);
  const uint8_t flags = p.tcp[tcp::kFlags];
  if ((flags & tcp::kRst) != 0) return drop(DropReason::kNoConnection);
  if ((flags & (tcp::kSyn | tcp::kAckFlag)) == tcp::kSyn) return answer_syn(p, l4);
  if ((flags & (tcp::kSyn | tcp::kAckFlag)) != tcp::kAckFlag) return drop(DropReason::kL4Malformed);
  // An ACK: the cookie decides.
  const uint32_t hl = tcp_hlen(p.tcp);
  tcp_opt::TcpOptions opts;
  if (tcp_opt::parse_options(p.tcp + 20, hl - 20, &opts) != tcp_opt::OptionsError::kOk) {
    return drop(DropReason::kL4Malformed);
  }
  SynCookieAck ack;
  ack.seq = seg_seq(p.tcp);
  ack.ack = seg_ack(p.tcp);
  ack.timestamps = opts.has_timestamps;
  ack.ts_val = opts.ts_val;
  ack.ts_ecr = opts.ts_ecr;
  SynCookieCheck chk;
  if (p.v6) {
    SynCookieTuple6 t;
    fill_tuple(t.saddr, t.daddr, &t.sport, &t.dport, p);
    chk = syn_cookie_check(l4.secrets->current(), t, ack, cookie_count(l4));
  } else {
    SynCookieTuple4 t;
    fill_tuple(t.saddr, t.daddr, &t.sport, &t.dport, p);
    chk = syn_cookie_check(l4.secrets->current(), t, ack, cookie_count(l4));
  }
  if (!chk.valid) {
    ++l4.l7->counters.cookie_rejected;
    // Most likely a segment of a connection another worker holds (RSS or af_packet rollover):
    // ask the others first, as the L4 path does.
    if (l4.workers > 1 && l4.handoff_hops + 1u < l4.workers) {
      ++l4.counters.handoffs;
      return handoff(static_cast<uint8_t>((l4.worker + 1) % l4.workers));
    }
    return reset_stray(p, l4);
  }
  if (!checksum_ok(p)) {
    ++l4.l7->counters.bad_checksum;
    return drop(DropReason::kL4Malformed);
  }
  l7::WorkerState& w = *l4.l7;
  Slot* s = w.take_slot();
  Buffer* b = s != nullptr ? w.take_buffer(s) : nullptr;
  FlowTuple t;
  std::memset(&t, 0, sizeof t);
  const size_t alen = p.v6 ? 16 : 4;
  std::memcpy(t.src, p.ip + (p.v6 ? ipv6::kSrc : ipv4::kSrc), alen);
  std::memcpy(t.dst, p.ip + (p.v6 ? ipv6::kDst : ipv4::kDst), alen);
  t.sport = load16(p.tcp);
  t.dport = load16(p.tcp + 2);
  t.proto = ipproto::kProtoTcp;
  t.v6 = p.v6 ? 1 : 0;
  Conn* c = b != nullptr ? l4.conns->insert(t, hash, ConnState::kTcpEstablished, l4.now) : nullptr;
  if (c == nullptr) {
    if (s != nullptr) {
      s->phase = Phase::kHead;  // so free_slot() takes it back
      w.free_slot(s);
    }
    ++w.counters.no_slot;
    return reset_stray(p, l4);
  }
  ++w.counters.cookie_accepted;
  // The connection counts for the listener now, for a backend once one is chosen; its bytes
  // count once spliced (what Portico itself answers or reads of the head is not traffic
  // between client and backend).
  c->stats_service = svc.stats_slot;
  if (l4.traffic != nullptr) l4.traffic->open_service(svc.stats_slot, svc.stats_id);
  c->mode = static_cast<uint8_t>(lb::Mode::kL7);
  c->client_port = p.port;
  c->generation = l4.generation;
  std::memcpy(c->client_mac, p.frame + eth::kSrc, 6);
  set_conn_slot(c, w.index_of(s));
  s->conn = l4.conns->index_of(c);
  s->phase = Phase::kHead;
  s->v6 = p.v6;
  s->lport = svc.l7_port;
  s->isn_c = ack.seq - 1;
  s->isn_pc = ack.ack - 1;
  s->rcv_nxt = ack.seq;
  s->snd_nxt = ack.ack;
  s->copt = chk.options;
  s->copt.ts_val = opts.ts_val;
  s->our_mss = mss_for_port(l4, p.port, p.v6);
  s->ts_to_client = opts.ts_ecr;
  s->deadline = l4.now + ms_ticks(l4, 30000);  // the head must arrive within 30 s
  const uint8_t shift = s->copt.wscale == kNoWindowScale ? 0 : s->copt.wscale;
  s->client_window = static_cast<uint32_t>(load_be16(p.tcp + tcp::kWindow)) << shift;
  return client_data(p, *s, c, l4, hash);
}

namespace {

// A client segment while Portico reads the head (or waits for the backend): takes in-order
// bytes, answers with an ACK, classifies a complete head.
Outcome client_data(const TcpPacket& p, Slot& s, Conn* c, L4Context& l4, uint32_t hash) {
  l7::WorkerState& w = *l4.l7;
  const uint8_t flags = p.tcp[tcp::kFlags];
  const uint32_t hl = tcp_hlen(p.tcp);
  const uint32_t plen = p.tcp_len - hl;
  Buffer* b = w.buffer(s);
  if (b == nullptr) return consume();
  if (plen == 0) {
    // A pure ACK (or a FIN before the head: the client gives up; close it with a reset).
    if ((flags & tcp::kFin) != 0 && s.phase == Phase::kHead) {
      const Ends e = client_ends(*c, l4);
      c->state = ConnState::kTcpClosing;
      w.free_slot(&s);
      return rst_in_place(p, e, s.snd_nxt, 0, false, l4, ForwardKind::kToClient);
    }
    return consume();
  }
  if (!checksum_ok(p)) {
    ++w.counters.bad_checksum;
    return drop(DropReason::kL4Malformed);
  }
  const uint32_t seq = seg_seq(p.tcp);
  const int32_t off = static_cast<int32_t>(seq - s.rcv_nxt);
  if (off > 0) {
    // After a gap: say again what is expected (the client's fast retransmit fills it).
    ++w.counters.out_of_order;
    return ack_client_in_place(p, s, *c, l4, l7::kHeadLimit - b->len);
  }
  const uint32_t skip = static_cast<uint32_t>(-off);
  if (skip >= plen) {
    // All of it was received before: a retransmission. Portico answered already if it did.
    if (s.phase == Phase::kResponded) return respond(&p, s, c, l4, s.status);
    return ack_client_in_place(p, s, *c, l4, l7::kHeadLimit - b->len);
  }
  if (s.phase == Phase::kResponded) return consume();
  // Timestamps: the newest TSval is the one to echo (RFC 7323 §4.3).
  tcp_opt::TcpOptions opts;
  if (s.copt.timestamps &&
      tcp_opt::parse_options(p.tcp + 20, hl - 20, &opts) == tcp_opt::OptionsError::kOk &&
      opts.has_timestamps) {
    s.copt.ts_val = opts.ts_val;
  }
  const uint8_t shift = s.copt.wscale == kNoWindowScale ? 0 : s.copt.wscale;
  s.client_window = static_cast<uint32_t>(load_be16(p.tcp + tcp::kWindow)) << shift;
  const uint32_t fresh = plen - skip;
  const uint32_t room = l7::kHeadLimit - b->len;
  const uint32_t take = std::min(fresh, room);
  std::memcpy(b->data + b->len, p.tcp + hl + skip, take);
  b->len += take;
  s.rcv_nxt += take;
  if (s.phase == Phase::kConnecting) {
    // Body bytes while the backend connection opens: they go out with the replay.
    const uint32_t rroom = l7::kReplayRoom - b->replay_len;
    const uint32_t rtake = std::min(take, rroom);
    std::memcpy(b->replay + b->replay_len, b->data + b->len - take, rtake);
    b->replay_len += rtake;
    b->len -= take - rtake;
    s.rcv_nxt -= take - rtake;
    return ack_client_in_place(p, s, *c, l4, l7::kHeadLimit - b->len);
  }
  http::RequestHead head;
  const http::ParseStatus st = http::parse_request_head(b->data, b->len, l7::kHeadLimit, &head);
  if (st == http::ParseStatus::kIncomplete) {
    if (b->len >= l7::kHeadLimit) return respond(&p, s, c, l4, 431);
    return ack_client_in_place(p, s, *c, l4, l7::kHeadLimit - b->len);
  }
  return on_head(p, s, c, b, l4, hash);
}

Slot* slot_of(const Conn& c, L4Context& l4) {
  if (l4.l7 == nullptr) return nullptr;
  const uint32_t i = conn_slot(c);
  Slot* s = i == l7::kNone ? nullptr : l4.l7->slot(i);
  if (s == nullptr || s->phase == Phase::kFree || s->conn != l4.conns->index_of(&c)) return nullptr;
  return s;
}

void note_close(Conn* c, uint8_t flags) {
  if ((flags & (tcp::kFin | tcp::kRst)) != 0) c->state = ConnState::kTcpClosing;
}

}  // namespace

Outcome l7_client(const TcpPacket& p, Conn* c, L4Context& l4) {
  Slot* s = slot_of(*c, l4);
  const uint8_t flags = p.tcp[tcp::kFlags];
  if ((flags & (tcp::kSyn | tcp::kAckFlag)) == tcp::kSyn &&
      (c->state == ConnState::kTcpClosing || s == nullptr || seg_seq(p.tcp) != s->isn_c)) {
    // A SYN that is not this connection's own (duplicated) SYN: the client reuses the ports of
    // a connection that ended (or whose end Portico did not see); a new one, answered afresh.
    if (s != nullptr) l4.l7->free_slot(s);
    l4.conns->erase(c);
    return answer_syn(p, l4);
  }
  if (s == nullptr) {
    // The slot is gone (timed out): the connection with it.
    l4.conns->erase(c);
    return reset_stray(p, l4);
  }
  ConnTable::touch(c, l4.now);
  if ((flags & tcp::kSyn) != 0) return consume();  // a retransmitted SYN: the cookie ACK follows
  switch (s->phase) {
    case Phase::kHead:
    case Phase::kConnecting: {
      if ((flags & tcp::kRst) != 0) {
        c->state = ConnState::kTcpClosing;
        l4.l7->free_slot(s);
        return consume();
      }
      const uint32_t hash = ConnTable::hash(c->orig());
      return client_data(p, *s, c, l4, hash);
    }
    case Phase::kResponded: {
      if ((flags & tcp::kRst) != 0) {
        l4.l7->free_slot(s);
        return consume();
      }
      const uint32_t plen = p.tcp_len - tcp_hlen(p.tcp);
      if ((flags & tcp::kFin) != 0) {
        // The client closes after our FIN: acknowledge its FIN, done.
        s->rcv_nxt = seg_seq(p.tcp) + plen + 1;
        const Outcome o = ack_client_in_place(p, *s, *c, l4, 0);
        l4.l7->free_slot(s);
        return o;
      }
      if (plen != 0) return client_data(p, *s, c, l4, 0);
      return consume();
    }
    case Phase::kReplaying:
    case Phase::kSpliced: {
      note_close(c, flags);
      Ends be;
      const bool mac_known = backend_ends(*c, l4, &be);
      const splice::NatTuple to{be.src, be.dst, be.sport, be.dport};
      const splice::Segment seg{p.ip, p.ip_hlen, p.tcp_len, p.v6};
      const splice::SpliceResult r = splice::splice_to_backend(s->sp, to, seg);
      if (r.verdict == splice::SpliceVerdict::kMalformed) {
        ++l4.l7->counters.splice_malformed;
        return drop(DropReason::kL4Malformed);
      }
      if (!r.forward()) return consume();
      if (l4.traffic != nullptr) l4.traffic->in(c->stats_service, c->stats_backend, *p.len);
      std::memcpy(p.frame + eth::kDst, be.dst_mac, 6);
      std::memcpy(p.frame + eth::kSrc, be.src_mac, 6);
      if (!mac_known) {
        l4.hold_nexthop = c->nexthop;
        return hold(ForwardKind::kToBackend, be.port);
      }
      return forward(ForwardKind::kToBackend, be.port);
    }
    case Phase::kFree:
      break;
  }
  return consume();
}

Outcome l7_backend(const TcpPacket& p, Conn* c, L4Context& l4) {
  Slot* s = slot_of(*c, l4);
  if (s == nullptr) {
    l4.conns->erase(c);
    return drop(DropReason::kNoConnection);
  }
  ConnTable::touch(c, l4.now);
  const uint8_t flags = p.tcp[tcp::kFlags];
  l7::WorkerState& w = *l4.l7;
  if (s->phase == Phase::kConnecting) {
    if ((flags & tcp::kRst) != 0) {
      // Refused: the client gets a 503 (through the sink; the reset is consumed).
      if ((flags & tcp::kAckFlag) != 0 && seg_ack(p.tcp) == s->isn_pb + 1) {
        ++w.counters.backend_refused;
        respond(nullptr, *s, c, l4, 503);
      }
      return consume();
    }
    if ((flags & (tcp::kSyn | tcp::kAckFlag)) == tcp::kAckFlag && seg_ack(p.tcp) != s->isn_pb + 1) {
      // An ACK for another connection: the backend still holds an earlier one on these ports
      // (TIME_WAIT answering our SYN with a challenge ACK). RFC 9293 §3.10.7.3: a reset with
      // the ACK's number ends it, and the SYN goes again at once.
      Ends be;
      if (backend_ends(*c, l4, &be)) {
        ++w.counters.retransmits;
        emit(l4, be.port, [&](uint8_t* buf, uint16_t cap) {
          return build_backend_syn(*s, be, buf, cap);
        });
        return rst_in_place(p, be, seg_ack(p.tcp), 0, false, l4, ForwardKind::kL7ToBackend);
      }
      return consume();
    }
    if ((flags & (tcp::kSyn | tcp::kAckFlag)) != (tcp::kSyn | tcp::kAckFlag) ||
        seg_ack(p.tcp) != s->isn_pb + 1) {
      return consume();
    }
    const uint32_t hl = tcp_hlen(p.tcp);
    splice::HandshakeSide bs;
    bs.isn_peer = seg_seq(p.tcp);
    bs.isn_portico = s->isn_pb;
    if (tcp_opt::parse_options(p.tcp + 20, hl - 20, &bs.peer_syn) != tcp_opt::OptionsError::kOk) {
      return drop(DropReason::kL4Malformed);
    }
    Buffer* b = w.buffer(*s);
    if (b == nullptr) return consume();
    bs.portico_syn = s->backend_syn;
    bs.head_len = b->replay_len;
    bs.ts_sent = s->backend_syn.ts_val;  // the replay carries the SYN's TSval
    bs.ts_received = bs.peer_syn.has_timestamps ? bs.peer_syn.ts_val : 0;
    splice::HandshakeSide cs;
    client_handshake_side(*s, b->len, &cs);
    s->sp = splice::make_splice_state(cs, bs, s->v6);
    s->isn_b = bs.isn_peer;
    s->backend_ts = bs.ts_received;
    s->phase = Phase::kReplaying;
    s->retries = 0;
    s->deadline = l4.now + ms_ticks(l4, 200);
    return send_replay(&p, *s, c, l4);
  }
  if (s->phase == Phase::kReplaying || s->phase == Phase::kSpliced) {
    if ((flags & tcp::kSyn) != 0) {
      // The backend did not get our ACK: its SYN-ACK again. The replay acknowledges it.
      if (s->phase == Phase::kReplaying) return send_replay(&p, *s, c, l4);
      return consume();
    }
    note_close(c, flags);
    const Ends ce = client_ends(*c, l4);
    const splice::NatTuple to{ce.src, ce.dst, ce.sport, ce.dport};
    const splice::Segment seg{p.ip, p.ip_hlen, p.tcp_len, p.v6};
    const splice::SpliceResult r = splice::splice_to_client(s->sp, to, seg);
    if (r.verdict == splice::SpliceVerdict::kMalformed) {
      ++w.counters.splice_malformed;
      return drop(DropReason::kL4Malformed);
    }
    if (s->phase == Phase::kReplaying && s->sp.head_delivered) {
      s->phase = Phase::kSpliced;
      s->deadline = 0;
      w.free_buffer(s);
      ++w.counters.spliced;
    }
    if (!r.forward()) return consume();
    if (l4.traffic != nullptr) l4.traffic->out(c->stats_service, c->stats_backend, *p.len);
    std::memcpy(p.frame + eth::kDst, ce.dst_mac, 6);
    std::memcpy(p.frame + eth::kSrc, ce.src_mac, 6);
    return forward(ForwardKind::kToClient, ce.port);
  }
  return consume();
}

}  // namespace nf::detail

namespace nf::l7 {

namespace {

// A connection the timers end: resets to the client and (once connected) the backend, then the
// record and the slot go.
void give_up(Conn* c, WorkerState::Slot* s, L4Context& l4, bool reset_client, bool reset_backend) {
  ++l4.l7->counters.timeouts;
  if (reset_client) {
    const detail::Ends e = detail::client_ends(*c, l4);
    const uint32_t seq = s->snd_nxt;
    detail::emit(l4, e.port, [&](uint8_t* buf, uint16_t cap) {
      return tcp_seg::build_rst(e.addrs(), seq, 0, false, buf, cap);
    });
  }
  detail::Ends be;
  if (reset_backend && detail::backend_ends(*c, l4, &be)) {
    const uint32_t seq = s->isn_pb + 1;
    detail::emit(l4, be.port, [&](uint8_t* buf, uint16_t cap) {
      return tcp_seg::build_rst(be.addrs(), seq, 0, false, buf, cap);
    });
  }
  l4.conns->erase(c);
  l4.l7->free_slot(s);
}

}  // namespace

void prefetch_slot(const FlowHint& hint, L4Context& l4) {
  if (hint.l4_offset == 0 || l4.l7 == nullptr) return;
  const Conn* c = l4.conns->peek(hint.hash);
  if (c == nullptr || c->mode != static_cast<uint8_t>(lb::Mode::kL7)) return;
  const uint32_t i = detail::conn_slot(*c);
  if (i == kNone) return;
  const WorkerState::Slot* s = l4.l7->slot(i);
  if (s == nullptr) return;
  const char* p = reinterpret_cast<const char*>(s);
  __builtin_prefetch(p, 1);
  __builtin_prefetch(p + 64, 1);
  __builtin_prefetch(p + 128, 1);
}

unsigned sweep(L4Context& l4, unsigned budget) {
  if (l4.l7 == nullptr || l4.conns == nullptr) return 0;
  WorkerState& w = *l4.l7;
  unsigned sent = 0;
  const uint32_t n = w.n_slots();
  for (unsigned k = 0; k < budget && k < n; ++k) {
    uint32_t& hand = w.sweep_hand();
    hand = hand + 1 >= n ? 0 : hand + 1;
    WorkerState::Slot* s = w.slot(hand);
    if (s->phase == Phase::kFree) continue;
    Conn* c = l4.conns->at(s->conn);
    if (c->state == ConnState::kFree || c->mode != static_cast<uint8_t>(lb::Mode::kL7) ||
        detail::conn_slot(*c) != hand || l4.conns->expired(*c, l4.now)) {
      w.free_slot(s);  // the record expired (or was reused): the slot goes with it
      continue;
    }
    if (s->deadline == 0 || l4.now < s->deadline) continue;
    switch (s->phase) {
      case Phase::kHead:
      case Phase::kResponded:
        // The head did not come in time, or the client never closed after our answer.
        give_up(c, s, l4, s->phase == Phase::kHead, false);
        break;
      case Phase::kConnecting: {
        if (s->retries >= kMaxSynRetries) {
          ++w.counters.timeouts;
          detail::respond(nullptr, *s, c, l4, 503);
          ++sent;
          break;
        }
        ++s->retries;
        s->deadline = l4.now + detail::ms_ticks(l4, 1000ull << s->retries);
        detail::Ends be;
        if (detail::backend_ends(*c, l4, &be)) {
          ++w.counters.retransmits;
          sent += detail::emit(l4, be.port, [&](uint8_t* buf, uint16_t cap) {
            return detail::build_backend_syn(*s, be, buf, cap);
          });
        }
        break;
      }
      case Phase::kReplaying: {
        if (s->retries >= kMaxReplayRetries) {
          // The backend never acknowledged the head: both connections are reset.
          give_up(c, s, l4, true, true);
          break;
        }
        ++s->retries;
        s->deadline = l4.now + detail::ms_ticks(l4, 200ull << s->retries);
        ++w.counters.retransmits;
        detail::send_replay(nullptr, *s, c, l4);
        ++sent;
        break;
      }
      default:
        break;
    }
  }
  return sent;
}

}  // namespace nf::l7
