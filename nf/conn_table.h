// The connection table of one worker lcore: which backend each balanced flow goes to, and for
// full-NAT the translated tuple its return traffic arrives with.
//
// Owned and used by exactly one worker (no locks, no atomics); allocated once at start with a
// fixed capacity (NodeConfig spec.loadBalancer.connectionsPerLcore) and never resized. A
// connection is one 128-byte record in a preallocated array holding both tuples, as conntrack
// does: `orig` as the client sent it (client -> VIP) and `reply` as the backend answers in
// full-NAT mode (backend -> SNAT address). Both tuples are indexed in one chained hash (bucket
// heads in a power-of-two array, 32-bit links inside the records), so a lookup touches a bucket
// head and one record. Nothing on the per-packet path allocates, locks or makes a syscall.
//
// Time is the caller's (a TSC value, passed in: tests inject it). Each record expires
// `timeout(state)` after it was last seen; expired records are reclaimed three ways, none of
// which stalls: a lookup that finds one treats it as absent and frees it; expire() advances a
// clock hand over a bounded number of records per call (workers call it once per loop); and an
// insert into a full table first tries a bounded reclaim. If that finds nothing the insert fails
// and the caller counts it and balances the flow statelessly.
#pragma once

#include <nmmintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace nf {

// A flow's identity: addresses in network order (IPv4 in the first 4 bytes, the other 12 zero),
// ports in network order. Padding is zero so tuples compare and hash as plain bytes.
struct FlowTuple {
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t sport;
  uint16_t dport;
  uint8_t proto;  // IPPROTO_TCP or IPPROTO_UDP
  uint8_t v6;     // 0 = IPv4, 1 = IPv6
  uint8_t pad[2];
};
static_assert(sizeof(FlowTuple) == 40);

// Five 64-bit compares, inline: this runs for every lookup.
inline bool operator==(const FlowTuple& a, const FlowTuple& b) {
  uint64_t x[5], y[5];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);
  return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

// TCP progress as seen by the balancer (not a full TCP state machine: Portico sees only the
// client's side in DSR and IPIP modes). The state picks the idle timeout.
enum class ConnState : uint8_t {
  kFree = 0,
  kTcpSyn,          // only SYNs seen from the client
  kTcpEstablished,  // the client acknowledged something, or the backend answered
  kTcpClosing,      // FIN or RST seen in either direction
  kUdp,
  kCount
};

// Which tuple of a record a lookup matched.
enum class ConnDir : uint8_t { kOrig = 0, kReply = 1 };

struct alignas(64) Conn {
  FlowTuple orig;   // client -> VIP, as received
  FlowTuple reply;  // backend -> SNAT in full-NAT mode (indexed); in DSR/IPIP mode reply.src and
                    // reply.sport hold the backend's address and port (not indexed)
  uint64_t last_seen = 0;   // TSC of the last packet in either direction
  uint32_t backend_id = 0;  // stable id of the backend (Snapshot backends)
  uint32_t generation = 0;  // low 32 bits of the Snapshot generation the fields below match
  uint16_t nexthop = 0;     // neighbor table index of the backend's next hop
  uint8_t port_index = 0;   // interface the backend is reached on
  ConnState state = ConnState::kFree;
  uint8_t mode = 0;  // lb::Mode
  uint8_t reply_indexed = 0;
  uint8_t client_port = 0;     // interface the client's packets arrive on
  uint8_t client_mac[6] = {};  // L2 source of the client's packets (client or router): where
                               // reverse-NAT packets and resets to the client are sent
  uint8_t pad_[1] = {};
  // Internal to ConnTable: chain links ((record index << 1 | dir) + 1, 0 = end) for orig and
  // reply; while the record is free, next_[0] links the free list (record index + 1).
  uint32_t next_[2] = {0, 0};
};
static_assert(sizeof(Conn) == 128);

class ConnTable {
 public:
  // Idle timeouts per state, in TSC ticks.
  struct Timeouts {
    uint64_t tcp_syn = 0;
    uint64_t tcp_established = 0;
    uint64_t tcp_closing = 0;
    uint64_t udp = 0;
  };

  // Control thread, before the worker starts: allocates `capacity` records (at least 1) and a
  // bucket array of the next power of two >= 2 * capacity. May throw std::bad_alloc.
  ConnTable(uint32_t capacity, const Timeouts& timeouts);
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // CRC32-C of the 40 tuple bytes (SSE4.2 crc32 instructions, seed ~0). Callers compute it once
  // per packet and pass it in.
  static uint32_t hash(const FlowTuple& t) {
    uint64_t w[5];
    std::memcpy(w, &t, sizeof w);
    uint64_t h = 0xffffffffu;
    for (uint64_t x : w) h = _mm_crc32_u64(h, x);
    return static_cast<uint32_t>(h);
  }

  // The live record whose orig or reply tuple equals t (which one in *dir), or nullptr. A record
  // found expired at `now` is freed and nullptr returned.
  Conn* find(const FlowTuple& t, uint32_t hash, uint64_t now, ConnDir* dir);

  // A new record with orig = t, state `state`, last_seen = now, other fields zero; indexed by
  // orig. nullptr if the table is full and a bounded reclaim freed nothing. The caller must have
  // checked that t is not present.
  Conn* insert(const FlowTuple& t, uint32_t hash, ConnState state, uint64_t now);

  // Sets c->reply = t and indexes it. Returns false (and leaves c unchanged) if another live
  // record already uses t as its orig or reply tuple, so the caller can pick another SNAT port.
  bool index_reply(Conn* c, const FlowTuple& t, uint32_t hash, uint64_t now);

  // True if t is the orig or reply tuple of a live record.
  bool contains(const FlowTuple& t, uint32_t hash, uint64_t now);

  // Burst prefetching (workers): first the bucket heads of all packets of a burst, then the
  // records they point to, so that the lookups that follow find them in cache.
  void prefetch_bucket(uint32_t hash) const { __builtin_prefetch(&buckets_[hash & bucket_mask_]); }
  void prefetch_record(uint32_t hash) const {
    const uint32_t link = buckets_[hash & bucket_mask_];
    if (link == 0) return;
    const char* c = reinterpret_cast<const char*>(&conns_[(link - 1) >> 1]);
    __builtin_prefetch(c);
    __builtin_prefetch(c + 64);
  }

  // Unlinks and frees a record (its tuples stop matching at once).
  void erase(Conn* c);

  // Marks a packet seen: last_seen = now (the caller sets c->state itself when it changes).
  static void touch(Conn* c, uint64_t now) { c->last_seen = now; }

  // Examines up to `budget` records from the clock hand and frees the expired ones; returns how
  // many it freed. Bounded work: safe to call on every loop of a worker.
  uint32_t expire(uint64_t now, uint32_t budget);

  bool expired(const Conn& c, uint64_t now) const {
    return now - c.last_seen > timeout_[static_cast<int>(c.state)];
  }

  // Live records (some may have expired but not yet been reclaimed).
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return capacity_; }

  // Calls f(const Conn&) for every live record (control/debug use: flow listing, tests).
  template <typename F>
  void for_each(F&& f) const {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (conns_[i].state != ConnState::kFree) f(conns_[i]);
    }
  }

 private:
  // (private helpers are the implementation's choice)
  Conn* match(const FlowTuple& t, uint32_t hash, ConnDir* dir);
  void unlink(uint32_t index, ConnDir dir);
  bool reclaim(uint64_t now);

  Conn* conns_ = nullptr;        // capacity_ records, 64-byte aligned
  uint32_t* buckets_ = nullptr;  // heads: (record index << 1 | dir) + 1, 0 = empty
  uint32_t capacity_ = 0;
  uint32_t bucket_mask_ = 0;
  uint32_t used_ = 0;
  uint32_t free_head_ = 0;  // free list through next_[0] (index + 1, 0 = none)
  uint32_t hand_ = 0;       // expire() clock hand
  uint64_t timeout_[static_cast<int>(ConnState::kCount)] = {};
};

}  // namespace nf
