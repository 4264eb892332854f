// The connection table of one worker lcore: which backend each balanced flow goes to, and for
// full-NAT the translated tuple its return traffic arrives with.
//
// Owned and used by exactly one worker (no locks, no atomics); allocated once at start with a
// fixed capacity (NodeConfig spec.loadBalancer.connectionsPerLcore) and never resized. Nothing on
// the per-packet path allocates, locks or makes a syscall.
//
// Shape (chosen for memory latency: a table of a million flows lives in DRAM, and a lookup must
// cost one bucket line and one record line, both prefetchable a burst ahead):
//  * A connection is one 128-byte record holding both of its tuples, as conntrack does: `orig`
//    as the client sent it (client -> VIP) and `reply` as the backend answers in full-NAT mode
//    (backend -> SNAT address). The first cache line holds everything an IPv4 flow needs in
//    either direction (ports, IPv4 addresses, state, backend, next hop, client MAC, last seen);
//    the second holds the IPv6 addresses and is only read for IPv6 flows.
//  * Tuples are indexed in an array of 64-byte buckets of eight slots, each slot a 16-bit
//    signature (bits of the hash the bucket index does not use) and a link to a record and one
//    of its tuples. A lookup reads its home bucket, compares the eight signatures at once and
//    reads only the records whose signature matches (almost always exactly the one it wants).
//    The bucket count makes the table at most half full when every record has both tuples
//    indexed, so a bucket rarely fills; when one does, an insert moves on to the next bucket
//    and counts itself in the overflow count of every bucket it passed, and a lookup goes on to
//    the next bucket only while that count is non-zero (the outbound-overflow counts of F14 /
//    Swiss tables). Probing stops after kMaxProbe buckets, so no input (not even tuples crafted
//    to collide) makes a lookup or insert cost more than that.
//  * Free records are a stack of indices: taking one reads nothing from the record itself.
//
// Time is the caller's (a TSC value, passed in: tests inject it). Each record expires
// `timeout(state)` after it was last seen; expired records are reclaimed three ways, none of
// which stalls: a lookup that finds one treats it as absent and frees it; expire() advances a
// clock hand over a bounded number of records per call (workers call it once per loop); and an
// insert into a full table first tries a bounded reclaim. If that finds nothing the insert fails
// and the caller counts it and balances the flow statelessly.
#pragma once

#include <emmintrin.h>
#include <nmmintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nf {

// A flow's identity: addresses in network order (IPv4 in the first 4 bytes, the other 12 zero),
// ports in network order. Padding is zero so tuples compare as plain bytes. The table's API
// takes tuples; the per-packet path builds the cheaper FlowKey straight from the headers.
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

inline bool operator==(const FlowTuple& a, const FlowTuple& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// What a lookup compares, read from a packet's headers (or a tuple) without copying addresses:
// IPv4 addresses as one 64-bit word, IPv6 addresses by pointer (32 bytes, source first: the
// packet's own header has them in this order).
struct FlowKey {
  uint64_t addrs4 = 0;    // IPv4: source | destination << 32, both in network order; IPv6: 0
  uint32_t ports = 0;     // source port | destination port << 16, network order
  uint16_t proto_v6 = 0;  // protocol | v6 << 8
  const uint8_t* addrs6 = nullptr;  // IPv6: 16 source bytes then 16 destination bytes
};

// The key of a tuple (the tuple must outlive the key: IPv6 addresses are referenced).
inline FlowKey key_of(const FlowTuple& t) {
  static_assert(offsetof(FlowTuple, dst) == offsetof(FlowTuple, src) + 16);
  FlowKey k;
  k.ports = static_cast<uint32_t>(t.sport) | static_cast<uint32_t>(t.dport) << 16;
  k.proto_v6 = static_cast<uint16_t>(t.proto | t.v6 << 8);
  if (t.v6) {
    k.addrs6 = t.src;
  } else {
    uint32_t s, d;
    std::memcpy(&s, t.src, 4);
    std::memcpy(&d, t.dst, 4);
    k.addrs4 = s | static_cast<uint64_t>(d) << 32;
  }
  return k;
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
  // One direction's tuple apart from the protocol: ports (network order) for both families,
  // IPv4 addresses here, IPv6 addresses in the second line (addr6).
  struct Side {
    uint32_t src4;
    uint32_t dst4;
    uint16_t sport;
    uint16_t dport;
  };

  // ---- first line: everything an IPv4 flow needs ----
  Side side[2] = {};  // [kOrig]: client -> VIP as received; [kReply]: backend -> SNAT in
                      // full-NAT mode (indexed); in DSR/IPIP mode reply src/sport hold the
                      // backend's address and port (not indexed)
  uint8_t proto = 0;  // both tuples'
  uint8_t v6 = 0;
  ConnState state = ConnState::kFree;
  uint8_t mode = 0;  // lb::Mode
  uint8_t reply_indexed = 0;
  uint8_t client_port = 0;  // interface the client's packets arrive on
  uint8_t port_index = 0;   // interface the backend is reached on
  uint8_t pad0_ = 0;
  uint32_t backend_id = 0;     // stable id of the backend (Snapshot backends)
  uint32_t generation = 0;     // low 32 bits of the Snapshot generation the fields below match
  uint64_t last_seen = 0;      // TSC of the last packet in either direction
  uint16_t nexthop = 0;        // neighbor table index of the backend's next hop
  uint8_t client_mac[6] = {};  // L2 source of the client's packets (client or router): where
                               // reverse-NAT packets and resets to the client are sent
  // Traffic counter slots (nf/traffic.h) of the flow's service port and backend: 0 (the
  // overflow slot) until the path that opens the flow sets them.
  uint16_t stats_service = 0;
  uint16_t stats_backend = 0;
  uint32_t l7_slot = 0;  // L7 connections: their slot in l7::WorkerState, plus 1; 0: none
  // ---- second line: IPv6 addresses, [dir][0] source, [dir][1] destination ----
  uint8_t addr6[2][2][16] = {};

  // The address fields of a direction: 4 bytes (IPv4) or 16 (IPv6), network order.
  const uint8_t* src(ConnDir d) const {
    return v6 ? addr6[static_cast<int>(d)][0]
              : reinterpret_cast<const uint8_t*>(&side[static_cast<int>(d)].src4);
  }
  const uint8_t* dst(ConnDir d) const {
    return v6 ? addr6[static_cast<int>(d)][1]
              : reinterpret_cast<const uint8_t*>(&side[static_cast<int>(d)].dst4);
  }
  uint16_t sport(ConnDir d) const { return side[static_cast<int>(d)].sport; }
  uint16_t dport(ConnDir d) const { return side[static_cast<int>(d)].dport; }

  // Stores a direction's addresses and ports (proto and v6 must be set already).
  void set_side(ConnDir d, const uint8_t* src_addr, const uint8_t* dst_addr, uint16_t sport_,
                uint16_t dport_) {
    Side& s = side[static_cast<int>(d)];
    if (v6) {
      std::memcpy(addr6[static_cast<int>(d)][0], src_addr, 16);
      std::memcpy(addr6[static_cast<int>(d)][1], dst_addr, 16);
      s.src4 = s.dst4 = 0;
    } else {
      std::memcpy(&s.src4, src_addr, 4);
      std::memcpy(&s.dst4, dst_addr, 4);
    }
    s.sport = sport_;
    s.dport = dport_;
  }

  // The tuples as FlowTuples (control side, tests, the rare paths).
  FlowTuple tuple(ConnDir d) const;
  FlowTuple orig() const { return tuple(ConnDir::kOrig); }
  FlowTuple reply() const { return tuple(ConnDir::kReply); }

  // True if direction d of this record is the flow `k`.
  bool matches(ConnDir d, const FlowKey& k) const {
    const Side& s = side[static_cast<int>(d)];
    uint64_t a;
    uint32_t p;
    std::memcpy(&a, &s.src4, sizeof a);
    std::memcpy(&p, &s.sport, sizeof p);
    uint16_t pv;
    std::memcpy(&pv, &proto, sizeof pv);
    if (((a ^ k.addrs4) | (p ^ k.ports) | static_cast<uint32_t>(pv ^ k.proto_v6)) != 0) {
      return false;
    }
    return k.addrs6 == nullptr || std::memcmp(addr6[static_cast<int>(d)], k.addrs6, 32) == 0;
  }
};
static_assert(sizeof(Conn) == 128);
static_assert(offsetof(Conn, l7_slot) + sizeof(Conn::l7_slot) == 64, "IPv4 flows use one line");
static_assert(offsetof(Conn, v6) == offsetof(Conn, proto) + 1, "read as one 16-bit word");

class ConnTable {
 public:
  // Idle timeouts per state, in TSC ticks.
  struct Timeouts {
    uint64_t tcp_syn = 0;
    uint64_t tcp_established = 0;
    uint64_t tcp_closing = 0;
    uint64_t udp = 0;
  };

  // Buckets an insert may probe past its home bucket before it gives up.
  static constexpr uint32_t kMaxProbe = 16;

  // Control thread, before the worker starts: allocates `capacity` records (at least 1) and
  // enough buckets for 2 * capacity tuples at half load. May throw std::bad_alloc.
  ConnTable(uint32_t capacity, const Timeouts& timeouts);
  ~ConnTable();
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;

  // CRC32-C (SSE4.2 crc32 instructions, seed ~0) of the key: two instructions for IPv4, five for
  // IPv6. Callers compute it once per packet and pass it in.
  static uint32_t hash(const FlowKey& k) {
    uint64_t h = 0xffffffffu;
    if (k.addrs6 != nullptr) {
      uint64_t w[4];
      std::memcpy(w, k.addrs6, sizeof w);
      for (uint64_t x : w) h = _mm_crc32_u64(h, x);
    } else {
      h = _mm_crc32_u64(h, k.addrs4);
    }
    return static_cast<uint32_t>(
        _mm_crc32_u64(h, k.ports | static_cast<uint64_t>(k.proto_v6) << 32));
  }
  static uint32_t hash(const FlowTuple& t) { return hash(key_of(t)); }

  // The live record whose orig or reply tuple is k (which one in *dir), or nullptr. A record
  // found expired at `now` is freed and nullptr returned.
  Conn* find(const FlowKey& k, uint32_t hash, uint64_t now, ConnDir* dir) {
    ConnDir d;
    Conn* c = match(k, hash, &d);
    if (c == nullptr) return nullptr;
    if (expired(*c, now)) [[unlikely]] {
      erase(c);
      return nullptr;
    }
    if (dir != nullptr) *dir = d;
    return c;
  }
  Conn* find(const FlowTuple& t, uint32_t hash, uint64_t now, ConnDir* dir) {
    return find(key_of(t), hash, now, dir);
  }

  // A new record with orig = t, state `state`, last_seen = now, other fields zero; indexed by
  // orig. nullptr if the table is full and a bounded reclaim freed nothing, or if the tuple's
  // buckets are full for kMaxProbe buckets. The caller must have checked that t is not present.
  Conn* insert(const FlowTuple& t, uint32_t hash, ConnState state, uint64_t now);

  // Sets c's reply tuple to t and indexes it. Returns false (and leaves c unchanged) if another
  // live record already uses t as its orig or reply tuple, or the buckets are full, so the
  // caller can pick another SNAT port. t must have c's protocol and family (else false).
  bool index_reply(Conn* c, const FlowTuple& t, uint32_t hash, uint64_t now);

  // True if t is the orig or reply tuple of a live record.
  bool contains(const FlowTuple& t, uint32_t hash, uint64_t now) {
    return find(t, hash, now, nullptr) != nullptr;
  }

  // Burst prefetching (workers): first the home buckets of all packets of a burst, then the
  // records whose signature matches, so that the lookups that follow find both in cache.
  void prefetch_bucket(uint32_t hash) const { __builtin_prefetch(&buckets_[home(hash)]); }
  // True if a record's signature matched (it is being fetched); false: the tuple is most likely
  // new (or lives outside its home bucket).
  bool prefetch_record(uint32_t hash, bool v6) const {
    const Bucket& b = buckets_[home(hash)];
    const uint32_t m = b.match(sig(hash));
    if (m == 0) return false;
    const char* c = reinterpret_cast<const char*>(&conns_[b.link[Bucket::slot_of(m)] >> 1]);
    __builtin_prefetch(c, 1);
    if (v6) __builtin_prefetch(c + 64, 1);
    return true;
  }
  // The record a lookup of `hash` most likely finds (the first whose signature matches in the
  // home bucket), or null; for a second prefetch stage that needs the record's contents.
  const Conn* peek(uint32_t hash) const {
    const Bucket& b = buckets_[home(hash)];
    const uint32_t m = b.match(sig(hash));
    return m == 0 ? nullptr : &conns_[b.link[Bucket::slot_of(m)] >> 1];
  }
  // The record the k-th next insert() takes (to prefetch them for a burst's new flows).
  void prefetch_free(uint32_t k) const {
    if (k < free_top_) __builtin_prefetch(&conns_[free_[free_top_ - 1 - k]], 1);
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

  // A record's index, and the record at an index (the L7 path keeps the index of its
  // connection's record in its own per-connection slot).
  uint32_t index_of(const Conn* c) const { return static_cast<uint32_t>(c - conns_); }
  Conn* at(uint32_t i) { return &conns_[i]; }

  // Live records (some may have expired but not yet been reclaimed).
  uint32_t size() const { return capacity_ - free_top_; }
  uint32_t capacity() const { return capacity_; }
  uint32_t buckets() const { return n_buckets_; }
  // Tuples that live outside their home bucket (tests and statistics).
  uint32_t displaced() const { return displaced_; }

  // Calls f(const Conn&) for every live record (control/debug use: flow listing, tests).
  template <typename F>
  void for_each(F&& f) const {
    for (uint32_t i = 0; i < capacity_; ++i) {
      if (conns_[i].state != ConnState::kFree) f(conns_[i]);
    }
  }

 private:
  struct alignas(64) Bucket {
    uint16_t sig[8];    // 0 = empty slot
    uint32_t link[8];   // record index << 1 | ConnDir
    uint32_t overflow;  // tuples whose probe passed this bucket to live in a later one
    uint32_t pad[3];

    // Bit 2i set: slot i holds signature s (s != 0). movemask yields two bits per 16-bit slot;
    // the even one is kept, and slot_of() turns a set bit back into a slot number.
    uint32_t match(uint16_t s) const {
      const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(sig));
      const __m128i eq = _mm_cmpeq_epi16(v, _mm_set1_epi16(static_cast<short>(s)));
      return static_cast<uint32_t>(_mm_movemask_epi8(eq)) & 0x5555u;
    }
    static uint32_t slot_of(uint32_t mask) {
      return static_cast<uint32_t>(__builtin_ctz(mask)) >> 1;
    }
  };
  static_assert(sizeof(Bucket) == 64);

  uint32_t home(uint32_t hash) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(hash) * n_buckets_) >> 32);
  }
  // The hash's low 16 bits (the home bucket comes from its high bits), never 0.
  static uint16_t sig(uint32_t hash) {
    const uint16_t s = static_cast<uint16_t>(hash);
    return static_cast<uint16_t>(s + (s == 0));
  }
  uint32_t next(uint32_t b) const { return b + 1 == n_buckets_ ? 0 : b + 1; }

  Conn* match(const FlowKey& k, uint32_t hash, ConnDir* dir) {
    uint32_t b = home(hash);
    const uint16_t s = sig(hash);
    for (uint32_t probe = 0;; ++probe) {
      const Bucket& bk = buckets_[b];
      for (uint32_t m = bk.match(s); m != 0; m &= m - 1) {
        const uint32_t link = bk.link[Bucket::slot_of(m)];
        Conn& c = conns_[link >> 1];
        const auto d = static_cast<ConnDir>(link & 1);
        if (c.matches(d, k)) [[likely]] {
          *dir = d;
          return &c;
        }
      }
      if (bk.overflow == 0 || probe == kMaxProbe) [[likely]] {
        return nullptr;
      }
      b = next(b);
    }
  }
  bool place(uint32_t index, ConnDir dir, uint32_t hash);
  void unlink(uint32_t index, ConnDir dir);
  bool reclaim(uint64_t now);

  Conn* conns_ = nullptr;      // capacity_ records, 64-byte aligned
  Bucket* buckets_ = nullptr;  // n_buckets_ buckets
  uint32_t* free_ = nullptr;   // stack of free record indices, free_top_ of them
  uint32_t capacity_ = 0;
  uint32_t n_buckets_ = 0;
  uint32_t free_top_ = 0;
  uint32_t hand_ = 0;  // expire() clock hand
  uint32_t displaced_ = 0;
  uint64_t timeout_[static_cast<int>(ConnState::kCount)] = {};
};

}  // namespace nf
