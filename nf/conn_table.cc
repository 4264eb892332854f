// ConnTable: a worker's connection records and the chained hash over their tuples.
//
// Construction and destruction run on the control thread; everything else on the one worker
// lcore that owns the table, without allocation, locks, syscalls or exceptions.
//
// Layout. `conns_` is one 64-byte aligned array of `capacity_` 128-byte records. `buckets_` is a
// power-of-two array (>= 2 * capacity, so chains stay short) of chain heads. A link names one
// tuple of one record: (record index << 1 | dir) + 1, dir 0 = orig, 1 = reply, 0 = end of chain.
// A record's next_[dir] continues the chain its `dir` tuple is on, so a record sits on up to two
// chains. New tuples go to the head of their chain. Free records are kept on a singly linked
// list through next_[0] (index + 1, 0 = none), so insert and erase are O(1).
//
// Unlinking needs the tuple's bucket, which is recomputed from the tuple (one CRC32-C over 40
// bytes) rather than stored: a record has no room for two more hashes.
//
// Expiry. A record is live while state != kFree. It has expired when now - last_seen exceeds the
// timeout of its state; expired records keep matching nothing: find() and contains() free them
// when they meet them, expire() sweeps a clock hand over a bounded number of records per call,
// and insert() into a full table sweeps at most kReclaimBudget records before giving up.

#include "nf/conn_table.h"

#include <rte_hash_crc.h>

#include <sys/mman.h>

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

namespace nf {
namespace {

// Records examined by the reclaim of an insert into a full table.
constexpr uint32_t kReclaimBudget = 64;
// Largest capacity: links hold (index << 1 | 1) + 1 in 32 bits and the bucket count
// (2 * capacity rounded up to a power of two) must fit in 32 bits.
constexpr uint32_t kMaxCapacity = 1u << 30;
constexpr size_t kAlign = 64;

constexpr uint32_t make_link(uint32_t index, ConnDir dir) {
  return ((index << 1) | static_cast<uint32_t>(dir)) + 1;
}
constexpr uint32_t link_index(uint32_t link) { return (link - 1) >> 1; }
constexpr ConnDir link_dir(uint32_t link) { return static_cast<ConnDir>((link - 1) & 1); }

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

const FlowTuple& tuple_of(const Conn& c, ConnDir dir) {
  return dir == ConnDir::kOrig ? c.orig : c.reply;
}

}  // namespace

ConnTable::ConnTable(uint32_t capacity, const Timeouts& timeouts) {
  if (capacity == 0) capacity = 1;
  if (capacity > kMaxCapacity) throw std::bad_alloc();
  capacity_ = capacity;
  uint32_t buckets = 1;
  while (buckets < 2 * capacity) buckets <<= 1;
  bucket_mask_ = buckets - 1;

  conns_ = static_cast<Conn*>(aligned_array(size_t{capacity} * sizeof(Conn)));
  try {
    buckets_ = static_cast<uint32_t*>(aligned_array(size_t{buckets} * sizeof(uint32_t)));
  } catch (...) {
    std::free(conns_);
    throw;
  }
  std::memset(buckets_, 0, size_t{buckets} * sizeof(uint32_t));
  for (uint32_t i = 0; i < capacity; ++i) {
    Conn* c = new (&conns_[i]) Conn{};
    c->next_[0] = i + 1 < capacity ? i + 2 : 0;
  }
  free_head_ = 1;

  timeout_[static_cast<int>(ConnState::kFree)] = 0;
  timeout_[static_cast<int>(ConnState::kTcpSyn)] = timeouts.tcp_syn;
  timeout_[static_cast<int>(ConnState::kTcpEstablished)] = timeouts.tcp_established;
  timeout_[static_cast<int>(ConnState::kTcpClosing)] = timeouts.tcp_closing;
  timeout_[static_cast<int>(ConnState::kUdp)] = timeouts.udp;
}

ConnTable::~ConnTable() {
  std::free(conns_);  // Conn is trivially destructible
  std::free(buckets_);
}

// The record whose live-or-not tuple equals t, and which of its tuples matched; no expiry check.
Conn* ConnTable::match(const FlowTuple& t, uint32_t hash, ConnDir* dir) {
  for (uint32_t link = buckets_[hash & bucket_mask_]; link != 0;) {
    Conn& c = conns_[link_index(link)];
    const ConnDir d = link_dir(link);
    if (tuple_of(c, d) == t) {
      *dir = d;
      return &c;
    }
    link = c.next_[static_cast<int>(d)];
  }
  return nullptr;
}

Conn* ConnTable::find(const FlowTuple& t, uint32_t hash, uint64_t now, ConnDir* dir) {
  ConnDir d;
  Conn* c = match(t, hash, &d);
  if (c == nullptr) return nullptr;
  if (expired(*c, now)) {
    erase(c);
    return nullptr;
  }
  if (dir != nullptr) *dir = d;
  return c;
}

bool ConnTable::contains(const FlowTuple& t, uint32_t hash, uint64_t now) {
  return find(t, hash, now, nullptr) != nullptr;
}

Conn* ConnTable::insert(const FlowTuple& t, uint32_t hash, ConnState state, uint64_t now) {
  assert(state != ConnState::kFree && state < ConnState::kCount);
  if (free_head_ == 0 && !reclaim(now)) return nullptr;
  const uint32_t index = free_head_ - 1;
  Conn& c = conns_[index];
  free_head_ = c.next_[0];

  c = Conn{};
  c.orig = t;
  c.state = state;
  c.last_seen = now;
  uint32_t& head = buckets_[hash & bucket_mask_];
  c.next_[0] = head;
  head = make_link(index, ConnDir::kOrig);
  ++used_;
  return &c;
}

bool ConnTable::index_reply(Conn* c, const FlowTuple& t, uint32_t hash, uint64_t now) {
  assert(c->state != ConnState::kFree);
  ConnDir d;
  if (Conn* other = match(t, hash, &d); other != nullptr) {
    if (other == c) return c->reply_indexed && d == ConnDir::kReply;  // already c's reply
    if (!expired(*other, now)) return false;
    erase(other);
  }
  const uint32_t index = static_cast<uint32_t>(c - conns_);
  if (c->reply_indexed) unlink(index, ConnDir::kReply);
  c->reply = t;
  c->reply_indexed = 1;
  uint32_t& head = buckets_[hash & bucket_mask_];
  c->next_[1] = head;
  head = make_link(index, ConnDir::kReply);
  return true;
}

void ConnTable::erase(Conn* c) {
  if (c->state == ConnState::kFree) return;
  const uint32_t index = static_cast<uint32_t>(c - conns_);
  unlink(index, ConnDir::kOrig);
  if (c->reply_indexed) unlink(index, ConnDir::kReply);
  c->state = ConnState::kFree;
  c->reply_indexed = 0;
  c->next_[1] = 0;
  c->next_[0] = free_head_;
  free_head_ = index + 1;
  --used_;
}

// Removes the link to record `index`'s `dir` tuple from its chain.
void ConnTable::unlink(uint32_t index, ConnDir dir) {
  const uint32_t target = make_link(index, dir);
  uint32_t* slot = &buckets_[hash(tuple_of(conns_[index], dir)) & bucket_mask_];
  while (*slot != target) {
    assert(*slot != 0 && "tuple missing from its chain");
    slot = &conns_[link_index(*slot)].next_[static_cast<int>(link_dir(*slot))];
  }
  *slot = conns_[index].next_[static_cast<int>(dir)];
  conns_[index].next_[static_cast<int>(dir)] = 0;
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
