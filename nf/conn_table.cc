// ConnTable: a worker's connection records and the bucketed hash over their tuples.
//
// Construction and destruction run on the control thread; everything else on the one worker
// lcore that owns the table, without allocation, locks, syscalls or exceptions.
//
// Layout (conn_table.h has the why). `conns_` is one array of `capacity_` 128-byte records,
// `buckets_` an array of 64-byte buckets, `free_` a stack of the indices of free records. A
// bucket slot names one tuple of one record: index << 1 | dir (0 = orig, 1 = reply), with the
// tuple's 16-bit signature beside it (0 = empty). The home bucket of a hash is
// hash * n_buckets >> 32 (its high bits, any bucket count); the signature is its low 16 bits.
//
// Insert: the first empty slot from the home bucket on; every full bucket passed counts the
// tuple in its overflow count. Lookup: the signature's slots of the home bucket, then of the
// next bucket while the one before has a non-zero overflow count. Erase: the same walk, which
// takes the count back. Unlinking recomputes the tuple's hash from the record (two CRC32-C
// instructions for IPv4) rather than storing where the tuple went.
//
// Expiry. A record is live while state != kFree. It has expired when now - last_seen exceeds the
// timeout of its state; expired records keep matching nothing: find() and contains() free them
// when they meet them, expire() sweeps a clock hand over a bounded number of records per call,
// and insert() into a full table sweeps at most kReclaimBudget records before giving up.

#include "nf/conn_table.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace nf {
namespace {

// Records examined by the reclaim of an insert into a full table.
constexpr uint32_t kReclaimBudget = 64;
// Largest capacity: slots hold index << 1 | dir in 32 bits.
constexpr uint32_t kMaxCapacity = 1u << 30;
constexpr size_t kAlign = 64;

// Large arrays are 2 MiB aligned and marked for transparent huge pages: a lookup in a table of
// a million records otherwise costs a page walk (a TLB miss) on top of its cache miss.
constexpr size_t kHugePage = size_t{2} << 20;

void* aligned_array(size_t bytes) {
  const size_t align = bytes >= kHugePage ? kHugePage : kAlign;
  bytes = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  if (p == nullptr) throw std::bad_alloc();
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);  // advisory: failure is harmless
  return p;
}

}  // namespace

FlowTuple Conn::tuple(ConnDir d) const {
  FlowTuple t{};
  const size_t n = v6 ? 16 : 4;
  std::memcpy(t.src, src(d), n);
  std::memcpy(t.dst, dst(d), n);
  t.sport = sport(d);
  t.dport = dport(d);
  t.proto = proto;
  t.v6 = v6;
  return t;
}

ConnTable::ConnTable(uint32_t capacity, const Timeouts& timeouts) {
  if (capacity == 0) capacity = 1;
  if (capacity > kMaxCapacity) throw std::bad_alloc();
  capacity_ = capacity;
  // 2 * capacity tuples in 8-slot buckets at most half full.
  n_buckets_ = (capacity + 1) / 2;

  conns_ = static_cast<Conn*>(aligned_array(size_t{capacity} * sizeof(Conn)));
  try {
    buckets_ = static_cast<Bucket*>(aligned_array(size_t{n_buckets_} * sizeof(Bucket)));
    free_ = static_cast<uint32_t*>(aligned_array(size_t{capacity} * sizeof(uint32_t)));
  } catch (...) {
    std::free(conns_);
    std::free(buckets_);
    throw;
  }
  std::memset(static_cast<void*>(buckets_), 0, size_t{n_buckets_} * sizeof(Bucket));
  for (uint32_t i = 0; i < capacity; ++i) {
    new (&conns_[i]) Conn{};
    free_[i] = capacity - 1 - i;  // records are handed out from index 0 up
  }
  free_top_ = capacity;

  timeout_[static_cast<int>(ConnState::kFree)] = 0;
  timeout_[static_cast<int>(ConnState::kTcpSyn)] = timeouts.tcp_syn;
  timeout_[static_cast<int>(ConnState::kTcpEstablished)] = timeouts.tcp_established;
  timeout_[static_cast<int>(ConnState::kTcpClosing)] = timeouts.tcp_closing;
  timeout_[static_cast<int>(ConnState::kUdp)] = timeouts.udp;
}

ConnTable::~ConnTable() {
  std::free(conns_);  // Conn is trivially destructible
  std::free(buckets_);
  std::free(free_);
}

// Puts the link to record `index`'s `dir` tuple into the first empty slot from its home bucket.
bool ConnTable::place(uint32_t index, ConnDir dir, uint32_t hash) {
  const uint32_t start = home(hash);
  uint32_t b = start;
  for (uint32_t probe = 0; probe <= kMaxProbe; ++probe, b = next(b)) {
    Bucket& bk = buckets_[b];
    const uint32_t empty = bk.match(0);
    if (empty == 0) continue;
    const uint32_t slot = Bucket::slot_of(empty);
    bk.sig[slot] = sig(hash);
    bk.link[slot] = index << 1 | static_cast<uint32_t>(dir);
    if (probe != 0) {
      ++displaced_;
      for (uint32_t p = start; p != b; p = next(p)) ++buckets_[p].overflow;
    }
    return true;
  }
  return false;
}

// Removes the link to record `index`'s `dir` tuple from its bucket.
void ConnTable::unlink(uint32_t index, ConnDir dir) {
  const uint32_t hash = ConnTable::hash(conns_[index].tuple(dir));
  const uint32_t target = index << 1 | static_cast<uint32_t>(dir);
  const uint16_t s = sig(hash);
  const uint32_t start = home(hash);
  uint32_t b = start;
  for (uint32_t probe = 0; probe <= kMaxProbe; ++probe, b = next(b)) {
    Bucket& bk = buckets_[b];
    for (uint32_t m = bk.match(s); m != 0; m &= m - 1) {
      const uint32_t slot = Bucket::slot_of(m);
      if (bk.link[slot] != target) continue;
      bk.sig[slot] = 0;
      bk.link[slot] = 0;
      if (probe != 0) {
        --displaced_;
        for (uint32_t p = start; p != b; p = next(p)) --buckets_[p].overflow;
      }
      return;
    }
  }
  assert(false && "tuple missing from its buckets");
}

Conn* ConnTable::insert(const FlowTuple& t, uint32_t hash, ConnState state, uint64_t now) {
  assert(state != ConnState::kFree && state < ConnState::kCount);
  if (free_top_ == 0 && !reclaim(now)) return nullptr;
  const uint32_t index = free_[free_top_ - 1];
  if (!place(index, ConnDir::kOrig, hash)) return nullptr;
  --free_top_;
  Conn& c = conns_[index];
  // Only the first line for IPv4: the second is not touched (nor fetched) for it.
  std::memset(static_cast<void*>(&c), 0, t.v6 ? sizeof(Conn) : offsetof(Conn, addr6));
  c.proto = t.proto;
  c.v6 = t.v6;
  c.set_side(ConnDir::kOrig, t.src, t.dst, t.sport, t.dport);
  c.state = state;
  c.last_seen = now;
  return &c;
}

bool ConnTable::index_reply(Conn* c, const FlowTuple& t, uint32_t hash, uint64_t now) {
  assert(c->state != ConnState::kFree);
  if (t.proto != c->proto || t.v6 != c->v6) return false;  // one protocol and family a record
  ConnDir d;
  if (Conn* other = match(key_of(t), hash, &d); other != nullptr) {
    if (other == c) return c->reply_indexed && d == ConnDir::kReply;  // already c's reply
    if (!expired(*other, now)) return false;
    erase(other);
  }
  const uint32_t index = static_cast<uint32_t>(c - conns_);
  if (!place(index, ConnDir::kReply, hash)) return false;
  if (c->reply_indexed) unlink(index, ConnDir::kReply);
  c->set_side(ConnDir::kReply, t.src, t.dst, t.sport, t.dport);
  c->reply_indexed = 1;
  return true;
}

void ConnTable::erase(Conn* c) {
  if (c->state == ConnState::kFree) return;
  const uint32_t index = static_cast<uint32_t>(c - conns_);
  unlink(index, ConnDir::kOrig);
  if (c->reply_indexed) unlink(index, ConnDir::kReply);
  c->state = ConnState::kFree;
  c->reply_indexed = 0;
  free_[free_top_++] = index;
}

uint32_t ConnTable::expire(uint64_t now, uint32_t budget) {
  if (budget > capacity_) budget = capacity_;
  uint32_t freed = 0;
  for (uint32_t n = 0; n < budget; ++n) {
    Conn& c = conns_[hand_];
    hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
    if (c.state != ConnState::kFree && expired(c, now)) {
      erase(&c);
      ++freed;
    }
  }
  return freed;
}

// Bounded sweep for an insert into a full table: true if it freed a record.
bool ConnTable::reclaim(uint64_t now) { return expire(now, kReclaimBudget) > 0; }

}  // namespace nf
