// The L7 (HTTP) path of the data plane: Gateway HTTP listeners.
//
// A TCP connection to a Gateway listener (a VIP port whose lb::Service has Mode::kL7) is
// answered by Portico itself and then joined to a backend connection:
//
//   1. SYN -> SYN-ACK in place, its ISN a SYN cookie (nf/syn_cookie.h): no state yet.
//   2. The client's ACK proves the cookie: a connection record (ConnTable, mode kL7) and a
//      Slot of this worker's WorkerState are taken; request bytes go into a head buffer,
//      acknowledged as they arrive in order (a segment after a gap is answered with a
//      duplicate ACK, one before the expected byte is trimmed), until the head parses
//      (nf/http_head.h) or passes the limit (431) or is malformed (400).
//   3. The head is classified (nf/route_classifier.h) and its rule's action decides: a
//      response Portico writes itself (404, 500, 503, redirects; sent with FIN, the slot kept
//      until the client closes or a timeout), or a backend, chosen by the rule's weights and
//      then by Maglev over the Service's endpoints. For a backend, the client's head is
//      acknowledged and a SYN goes from a SNAT address and port of this worker (the record's
//      reply tuple is indexed, as for full NAT, so the backend's answers come back here).
//   4. The backend's SYN-ACK fixes the splice (nf/tcp_splice.h); the head, rewritten by the
//      rule's filters (nf/http_rewrite.h) and with `Connection: close` when later requests on
//      the connection could need another backend, is replayed to the backend, retransmitted on
//      a timer until the backend acknowledges it all; from then on every segment in either
//      direction is rewritten in place (addresses, ports, sequence and ack numbers, SACK,
//      timestamps, windows, checksums), FIN and RST included.
//
// Timers (SYN and replay retransmission, head and response timeouts) live in the slots; the
// worker calls sweep() once per loop and it visits a bounded number of slots.
//
// Threads: Tables is built by the control thread and read by workers (each worker uses only
// its own classifier scratch); WorkerState belongs to one worker. Nothing on the per-packet path
// allocates, locks or makes a syscall.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nf/http_head.h"
#include "nf/http_rewrite.h"
#include "nf/route_classifier.h"
#include "nf/route_model.h"
#include "nf/syn_cookie.h"
#include "nf/tcp_splice.h"

namespace nf {
struct L4Context;
struct FlowHint;
class ConnTable;
}  // namespace nf

namespace nf::l7 {

inline constexpr uint32_t kHeadLimit = http::kDefaultHeadLimit;  // then 431
inline constexpr uint32_t kReplayRoom = kHeadLimit + 4096;       // a rewritten head may grow

// What a rule does with a request (built by the control thread from HTTPRoute rules).
struct HeaderPair {
  std::string name;
  std::string value;
};

enum class ActionKind : uint8_t {
  kForward,   // to one of `pools`, by weight; a pool that did not resolve answers 500
  kRespond,   // Portico answers `status` itself (500: no valid backend; 404 is not an action)
  kRedirect,  // RequestRedirect filter: `status` with a Location header
};

struct PoolSpec {
  uint32_t service = 0;   // lb::Tables index of the backend pool for IPv4 connections
  uint32_t service6 = 0;  // for IPv6 connections (the SNAT address is of the client's family)
  uint32_t weight = 1;    // Gateway API backendRef weight
  bool resolved = true;   // false: the backendRef is invalid (its share of requests gets 500)
  // The backendRef's own RequestHeaderModifier (Extended), applied after the rule's.
  std::vector<HeaderPair> set_headers, add_headers;
  std::vector<std::string> remove_headers;
};

struct ActionSpec {
  ActionKind kind = ActionKind::kRespond;
  uint16_t status = 500;
  std::vector<PoolSpec> pools;
  // RequestHeaderModifier and URLRewrite (forward).
  std::vector<HeaderPair> set_headers, add_headers;
  std::vector<std::string> remove_headers;
  std::string rewrite_host;
  uint8_t path_mode = 0;   // 0 keep, 1 ReplaceFullPath, 2 ReplacePrefixMatch (also redirects)
  std::string path_value;  // the replacement
  std::string matched_prefix;  // the rule's PathPrefix value, for ReplacePrefixMatch
  // RequestRedirect.
  std::string redirect_scheme, redirect_host;
  uint16_t redirect_port = 0;
  uint16_t listener_port = 0;
  // Later requests on the connection can only get the same backends with the same (no) edits:
  // they may ride the spliced connection. Otherwise the head is sent with Connection: close.
  bool keepalive_ok = false;
};

// The HTTP part of a Snapshot.
class Tables {
 public:
  Tables();
  ~Tables();
  Tables(Tables&&) noexcept;
  Tables& operator=(Tables&&) noexcept;

  // ---- build side (control thread) ----
  // Compiles the routing model. Returns an error message, empty on success.
  std::string set_model(const route::RouteModel& model);
  uint32_t add_action(ActionSpec a);  // the index route::Rule::action refers to
  // Makes the per-worker classifier scratch space; call last.
  void finalize(unsigned workers);

  // ---- read side (workers) ----
  bool empty() const { return classifier_ == nullptr; }
  const route::Classifier* classifier() const { return classifier_.get(); }
  struct Action {
    ActionSpec spec;
    http::HeadEdits edits;  // views into spec
    std::vector<http::HeaderEdit> set, add;
    std::vector<std::string_view> remove;
    uint64_t total_weight = 0;
    // Per pool, when any backendRef has its own header filter: the rule's lists and the pool's.
    struct Lists {
      std::vector<http::HeaderEdit> set, add;
      std::vector<std::string_view> remove;
    };
    std::vector<Lists> pool_lists;
    std::vector<http::HeadEdits> pool_edits;
  };
  const Action* action(uint32_t i) const { return i < actions_.size() ? &actions_[i] : nullptr; }
  route::Classifier::Scratch* scratch(unsigned worker) const {
    return worker < scratch_.size() ? scratch_[worker].get() : nullptr;
  }

 private:
  std::unique_ptr<route::Classifier> classifier_;
  std::vector<Action> actions_;
  std::vector<std::unique_ptr<route::Classifier::Scratch>> scratch_;
};

// Secrets of the SYN cookies: the control thread rotates them, workers read the current ones.
// A ring of generations: rotation writes the next entry and then publishes its index, so an
// entry is rewritten only kRing rotations later (hours), long after any worker read it.
class CookieSecrets {
 public:
  static constexpr unsigned kRing = 4;
  CookieSecrets();  // random secret (getrandom)
  void rotate(uint32_t now_count);  // control thread
  const SynCookieKeys& current() const {
    return ring_[current_.load(std::memory_order_acquire) % kRing];
  }

 private:
  SynCookieKeys ring_[kRing];
  std::atomic<uint32_t> current_{0};
};

#define PORTICO_L7_COUNTERS(X)                                                                \
  X(syn_cookies, "syn_cookies")             /* SYN-ACKs with a cookie sent */                 \
  X(cookie_accepted, "cookie_accepted")     /* ACKs whose cookie passed: connections */       \
  X(cookie_rejected, "cookie_rejected")     /* ACKs to a listener with a bad cookie */        \
  X(heads, "heads")                         /* request heads parsed and classified */         \
  X(bad_requests, "bad_requests")           /* answered 400 */                                \
  X(heads_too_large, "heads_too_large")     /* answered 431 */                                \
  X(not_found, "not_found")                 /* answered 404: no listener or rule */           \
  X(responses, "responses")                 /* other answers of Portico's (500, 503, 3xx) */  \
  X(no_backend, "no_backend")               /* 503: no endpoint of the pool takes new flows */\
  X(no_snat_port, "no_snat_port")           /* 503: no free SNAT port for the backend */      \
  X(backend_refused, "backend_refused")     /* 503: the backend reset our SYN */              \
  X(backend_syns, "backend_syns")           /* backend connections opened */                  \
  X(spliced, "spliced")                     /* backends that acknowledged the replayed head */ \
  X(retransmits, "retransmits")             /* SYNs, replays, responses sent again */         \
  X(timeouts, "timeouts")                   /* connections given up (handshake, head) */      \
  X(out_of_order, "out_of_order")           /* head segments after a gap (dup-ACKed) */       \
  X(no_slot, "no_slot")                     /* cookie passed, no slot or buffer: reset */     \
  X(no_mbuf, "no_mbuf")                     /* an extra frame could not be allocated */       \
  X(splice_malformed, "splice_malformed")   /* segments with malformed TCP options */         \
  X(bad_checksum, "bad_checksum")           /* head segments with a wrong TCP checksum */

struct Counters {
#define PORTICO_L7_FIELD(name, text) uint64_t name = 0;
  PORTICO_L7_COUNTERS(PORTICO_L7_FIELD)
#undef PORTICO_L7_FIELD
};

// Frames the L7 path sends besides the one it was handed (the backend SYN and the client's ACK
// of a head, replays longer than one segment, retransmissions). The worker hands out buffers
// (mbufs); tests collect frames in memory.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // A buffer for one frame of at most *cap bytes that will leave by interface `port`; null if
  // none is free.
  virtual uint8_t* get(uint8_t port, uint16_t* cap) = 0;
  // Sends the frame of the last get() with `len` bytes.
  virtual void commit(uint16_t len) = 0;
};

// Per-worker L7 state: connection slots and head buffers, fixed at start.
class WorkerState {
 public:
  WorkerState(uint32_t slots, uint32_t buffers, uint64_t tsc_hz);
  ~WorkerState();
  WorkerState(const WorkerState&) = delete;
  WorkerState& operator=(const WorkerState&) = delete;

  Counters counters;
  uint32_t slots_in_use() const { return n_slots_ - static_cast<uint32_t>(free_slots_.size()); }

  // Implementation (nf/l7.cc).
  struct Slot;
  struct Buffer;
  Slot* slot(uint32_t i);
  Slot* take_slot();
  void free_slot(Slot* s);
  Buffer* take_buffer(Slot* s);
  void free_buffer(Slot* s);
  uint32_t index_of(const Slot* s) const;
  Buffer* buffer(const Slot& s);
  uint64_t tsc_hz() const { return tsc_hz_; }
  uint32_t next_random();
  // The ISN of a backend connection (RFC 6528): a 4-microsecond clock plus a keyed hash of the
  // connection, so that a later connection on the same addresses and ports starts above an
  // earlier one, as a backend still holding the earlier one in TIME_WAIT requires.
  uint32_t backend_isn(const uint8_t* tuple, size_t len, uint64_t now) const;
  uint32_t& sweep_hand() { return sweep_hand_; }
  uint32_t n_slots() const { return n_slots_; }

 private:
  uint32_t n_slots_;
  std::unique_ptr<Slot[]> slots_;
  std::vector<uint32_t> free_slots_;
  uint32_t n_buffers_;
  std::unique_ptr<Buffer[]> buffers_;
  std::vector<uint32_t> free_buffers_;
  uint64_t tsc_hz_;
  uint64_t rng_;
  SipHashKey isn_key_;
  uint32_t sweep_hand_ = 0;
};

// Burst preparation, after flow_prefetch(): if the frame's record (fetched by then) is an L7
// connection's, prefetches its slot. Only a prefetch: handling does not depend on it.
void prefetch_slot(const FlowHint& hint, L4Context& l4);

// Worker loop: timers of up to `budget` slots (retransmissions, timeouts). Returns the frames
// sent.
unsigned sweep(L4Context& l4, unsigned budget);

}  // namespace nf::l7
