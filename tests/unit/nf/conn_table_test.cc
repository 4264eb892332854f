// ConnTable: lookups by orig and reply tuple, reply indexing conflicts, a full table and its
// bounded reclaim, per-state timeouts with injected time, the expire() clock hand, slot reuse,
// buckets that overflow into their neighbours and the probe limit, the record layout (an IPv4
// flow in one cache line), the hash (CRC32-C, checked against a bitwise reference), and a
// randomized run against a model with IPv4 and IPv6 tuples.
#include "nf/conn_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace nf {
namespace {

constexpr uint64_t kSyn = 100;
constexpr uint64_t kEstablished = 1000;
constexpr uint64_t kClosing = 50;
constexpr uint64_t kUdp = 300;
constexpr ConnTable::Timeouts kTimeouts{kSyn, kEstablished, kClosing, kUdp};
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdpProto = 17;

// An IPv4 tuple src_host:sport -> 203.0.113.dst_host:dport.
FlowTuple v4(uint32_t src_host, uint16_t sport, uint8_t dst_host = 10, uint16_t dport = 80,
             uint8_t proto = kTcp) {
  FlowTuple t{};
  t.src[0] = 198;
  t.src[1] = static_cast<uint8_t>(51 + (src_host >> 16));
  t.src[2] = static_cast<uint8_t>(src_host >> 8);
  t.src[3] = static_cast<uint8_t>(src_host);
  t.dst[0] = 203;
  t.dst[1] = 0;
  t.dst[2] = 113;
  t.dst[3] = dst_host;
  t.sport = static_cast<uint16_t>((sport >> 8) | (sport << 8));
  t.dport = static_cast<uint16_t>((dport >> 8) | (dport << 8));
  t.proto = proto;
  return t;
}

Conn* insert(ConnTable& table, const FlowTuple& t, ConnState state, uint64_t now) {
  return table.insert(t, ConnTable::hash(t), state, now);
}

Conn* find(ConnTable& table, const FlowTuple& t, uint64_t now, ConnDir* dir = nullptr) {
  ConnDir ignored;
  return table.find(t, ConnTable::hash(t), now, dir != nullptr ? dir : &ignored);
}

bool index_reply(ConnTable& table, Conn* c, const FlowTuple& t, uint64_t now) {
  return table.index_reply(c, t, ConnTable::hash(t), now);
}

bool contains(ConnTable& table, const FlowTuple& t, uint64_t now) {
  return table.contains(t, ConnTable::hash(t), now);
}

uint32_t live_records(const ConnTable& table) {
  uint32_t n = 0;
  table.for_each([&n](const Conn&) { ++n; });
  return n;
}

TEST(ConnTable, InsertThenFindByOrig) {
  ConnTable table(16, kTimeouts);
  EXPECT_EQ(table.capacity(), 16u);
  EXPECT_EQ(table.size(), 0u);
  const FlowTuple t = v4(1, 40000);
  EXPECT_EQ(find(table, t, 0), nullptr);

  Conn* c = insert(table, t, ConnState::kTcpSyn, 5);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 64, 0u);
  EXPECT_EQ(c->orig(), t);
  EXPECT_EQ(c->sport(ConnDir::kReply), 0);
  EXPECT_EQ(c->dport(ConnDir::kReply), 0);
  EXPECT_EQ(c->state, ConnState::kTcpSyn);
  EXPECT_EQ(c->last_seen, 5u);
  EXPECT_EQ(c->backend_id, 0u);
  EXPECT_EQ(c->reply_indexed, 0);
  EXPECT_EQ(table.size(), 1u);

  ConnDir dir = ConnDir::kReply;
  EXPECT_EQ(find(table, t, 6, &dir), c);
  EXPECT_EQ(dir, ConnDir::kOrig);
  EXPECT_EQ(find(table, v4(1, 40001), 6), nullptr) << "other port";
  EXPECT_EQ(find(table, v4(1, 40000, 10, 80, kUdpProto), 6), nullptr) << "other protocol";
  EXPECT_TRUE(contains(table, t, 6));
  EXPECT_EQ(live_records(table), 1u);
}

TEST(ConnTable, FindsRecordByReplyTuple) {
  ConnTable table(16, kTimeouts);
  const FlowTuple orig = v4(1, 40000);
  const FlowTuple reply = v4(2, 8080, 99, 1024);  // backend -> SNAT
  Conn* c = insert(table, orig, ConnState::kTcpSyn, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(find(table, reply, 1), nullptr);
  ASSERT_TRUE(index_reply(table, c, reply, 1));
  EXPECT_EQ(c->reply(), reply);
  EXPECT_EQ(c->orig(), orig);
  EXPECT_EQ(c->reply_indexed, 1);
  EXPECT_EQ(table.size(), 1u) << "one record, two tuples";

  ConnDir dir = ConnDir::kOrig;
  EXPECT_EQ(find(table, reply, 2, &dir), c);
  EXPECT_EQ(dir, ConnDir::kReply);
  EXPECT_EQ(find(table, orig, 2, &dir), c);
  EXPECT_EQ(dir, ConnDir::kOrig);
}

TEST(ConnTable, IndexReplyRefusesTupleInUse) {
  ConnTable table(16, kTimeouts);
  const FlowTuple a = v4(1, 1000);
  const FlowTuple a_reply = v4(100, 8080, 99, 2000);
  const FlowTuple b = v4(2, 1000);
  Conn* ca = insert(table, a, ConnState::kTcpEstablished, 0);
  Conn* cb = insert(table, b, ConnState::kTcpEstablished, 0);
  ASSERT_TRUE(index_reply(table, ca, a_reply, 0));

  const struct {
    const char* what;
    Conn* c;
    FlowTuple t;
  } refused[] = {
      {"another record's orig", cb, a},
      {"another record's reply", cb, a_reply},
      {"its own orig", cb, b},
  };
  const FlowTuple cb_reply = cb->reply();
  for (const auto& r : refused) {
    EXPECT_FALSE(index_reply(table, r.c, r.t, 1)) << r.what;
    EXPECT_EQ(cb->reply(), cb_reply) << r.what << ": left unchanged";
    EXPECT_EQ(cb->reply_indexed, 0) << r.what;
  }
  EXPECT_EQ(table.size(), 2u);
  ConnDir dir;
  EXPECT_EQ(find(table, a_reply, 1, &dir), ca) << "still the first record's";
  EXPECT_EQ(dir, ConnDir::kReply);

  const FlowTuple b_reply = v4(100, 8080, 99, 2001);  // the next SNAT port
  EXPECT_TRUE(index_reply(table, cb, b_reply, 1));
  EXPECT_EQ(find(table, b_reply, 1), cb);
}

TEST(ConnTable, IndexReplyTakesTupleOfExpiredRecord) {
  ConnTable table(16, kTimeouts);
  const FlowTuple reply = v4(100, 8080, 99, 2000);
  Conn* old = insert(table, v4(1, 1000), ConnState::kUdp, 0);
  ASSERT_TRUE(index_reply(table, old, reply, 0));
  Conn* fresh = insert(table, v4(2, 1000), ConnState::kUdp, kUdp + 1);
  EXPECT_TRUE(index_reply(table, fresh, reply, kUdp + 1)) << "the old record has expired";
  EXPECT_EQ(table.size(), 1u) << "and was freed on the way";
  EXPECT_EQ(find(table, reply, kUdp + 1), fresh);
}

TEST(ConnTable, ReindexingReplyReplacesTheOldOne) {
  ConnTable table(16, kTimeouts);
  Conn* c = insert(table, v4(1, 1000), ConnState::kTcpSyn, 0);
  const FlowTuple first = v4(100, 8080, 99, 2000);
  const FlowTuple second = v4(100, 8080, 99, 2001);
  ASSERT_TRUE(index_reply(table, c, first, 0));
  EXPECT_TRUE(index_reply(table, c, first, 0)) << "its own reply again: nothing to do";
  ASSERT_TRUE(index_reply(table, c, second, 0));
  EXPECT_EQ(find(table, first, 0), nullptr);
  EXPECT_EQ(find(table, second, 0), c);
}

TEST(ConnTable, FullTableRefusesInsertsUntilRecordsExpire) {
  constexpr uint32_t kCapacity = 8;
  ConnTable table(kCapacity, kTimeouts);
  for (uint32_t i = 0; i < kCapacity; ++i) {
    ASSERT_NE(insert(table, v4(i, 1000), ConnState::kUdp, 0), nullptr) << i;
  }
  EXPECT_EQ(table.size(), kCapacity);
  EXPECT_EQ(insert(table, v4(100, 1000), ConnState::kUdp, 1), nullptr) << "full, none expired";
  EXPECT_EQ(insert(table, v4(100, 1000), ConnState::kUdp, kUdp), nullptr) << "none expired yet";
  EXPECT_EQ(table.size(), kCapacity);

  Conn* c = insert(table, v4(100, 1000), ConnState::kUdp, kUdp + 1);
  ASSERT_NE(c, nullptr) << "the reclaim freed expired records";
  EXPECT_LT(table.size(), kCapacity);
  EXPECT_EQ(find(table, v4(100, 1000), kUdp + 1), c);
  for (uint32_t i = 0; i < kCapacity; ++i) {
    EXPECT_EQ(find(table, v4(i, 1000), kUdp + 1), nullptr) << i;
  }
  EXPECT_EQ(table.size(), 1u);
}

TEST(ConnTable, ReclaimOfLargeFullTableIsBoundedButProgresses) {
  constexpr uint32_t kCapacity = 1000;
  ConnTable table(kCapacity, kTimeouts);
  for (uint32_t i = 0; i < kCapacity; ++i) {
    ASSERT_NE(insert(table, v4(i, 1000), ConnState::kUdp, 0), nullptr);
  }
  // Every record has expired; each failed-free insert sweeps only a bounded stretch, yet every
  // insert succeeds.
  for (uint32_t i = 0; i < kCapacity; ++i) {
    ASSERT_NE(insert(table, v4(i, 2000), ConnState::kUdp, kUdp + 1), nullptr) << i;
    ASSERT_LE(table.size(), kCapacity);
  }
  EXPECT_GT(table.size(), kCapacity / 2) << "the reclaim did not sweep the whole table at once";
}

TEST(ConnTable, TimeoutFollowsState) {
  const struct {
    ConnState state;
    uint64_t timeout;
  } cases[] = {
      {ConnState::kTcpSyn, kSyn},
      {ConnState::kTcpEstablished, kEstablished},
      {ConnState::kTcpClosing, kClosing},
      {ConnState::kUdp, kUdp},
  };
  constexpr uint64_t kStart = 1'000'000;
  for (const auto& c : cases) {
    ConnTable table(4, kTimeouts);
    const FlowTuple t = v4(1, 1000);
    Conn* conn = insert(table, t, c.state, kStart);
    ASSERT_NE(conn, nullptr);
    EXPECT_FALSE(table.expired(*conn, kStart + c.timeout));
    EXPECT_TRUE(table.expired(*conn, kStart + c.timeout + 1));
    EXPECT_EQ(find(table, t, kStart + c.timeout), conn) << "idle exactly the timeout: live";
    EXPECT_EQ(table.size(), 1u);
    EXPECT_EQ(find(table, t, kStart + c.timeout + 1), nullptr) << "one tick more: expired";
    EXPECT_EQ(table.size(), 0u) << "and freed by the lookup";
    EXPECT_EQ(live_records(table), 0u);
  }
}

TEST(ConnTable, TouchAndStateChangeMoveTheDeadline) {
  ConnTable table(4, kTimeouts);
  const FlowTuple t = v4(1, 1000);
  Conn* c = insert(table, t, ConnState::kTcpSyn, 0);
  ConnTable::touch(c, 90);
  EXPECT_EQ(find(table, t, 90 + kSyn), c) << "touch restarted the idle time";
  c->state = ConnState::kTcpEstablished;
  ConnTable::touch(c, 200);
  EXPECT_EQ(find(table, t, 200 + kSyn + 1), c) << "established lives longer than syn";
  c->state = ConnState::kTcpClosing;
  EXPECT_EQ(find(table, t, 200 + kClosing + 1), nullptr) << "closing lives shorter";
}

TEST(ConnTable, ExpireFreesAtMostBudgetPerCall) {
  constexpr uint32_t kCapacity = 100;
  ConnTable table(kCapacity, kTimeouts);
  for (uint32_t i = 0; i < kCapacity; ++i) {
    // Every fifth record is established and outlives the others.
    const ConnState s = i % 5 == 0 ? ConnState::kTcpEstablished : ConnState::kTcpSyn;
    ASSERT_NE(insert(table, v4(i, 1000), s, 0), nullptr);
  }
  EXPECT_EQ(table.expire(kSyn, 1000), 0u) << "nothing expired yet";

  const uint64_t now = kSyn + 1;
  uint32_t total = 0;
  for (int call = 0; call < 4; ++call) {
    const uint32_t freed = table.expire(now, 30);
    EXPECT_LE(freed, 30u) << "call " << call;
    total += freed;
    EXPECT_EQ(table.size(), kCapacity - total);
  }
  EXPECT_EQ(total, 80u) << "four calls of 30 examine all 100 records (the hand wraps)";
  EXPECT_EQ(table.expire(now, 30), 0u);
  EXPECT_EQ(table.size(), 20u);
  table.for_each([](const Conn& c) { EXPECT_EQ(c.state, ConnState::kTcpEstablished); });

  // Later the established ones expire too: ten calls of 10 make one lap and free all 20.
  const uint64_t later = kEstablished + 1;
  total = 0;
  for (int call = 0; call < 10; ++call) {
    const uint32_t freed = table.expire(later, 10);
    EXPECT_LE(freed, 10u);
    total += freed;
  }
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.expire(later, kCapacity), 0u);
}

TEST(ConnTable, ExpireBudgetCountsExaminedRecords) {
  constexpr uint32_t kCapacity = 64;
  ConnTable table(kCapacity, kTimeouts);
  for (uint32_t i = 0; i < kCapacity; ++i) insert(table, v4(i, 1000), ConnState::kUdp, 0);
  EXPECT_EQ(table.expire(kUdp + 1, 10), 10u);
  EXPECT_EQ(table.expire(kUdp + 1, 10), 10u);
  EXPECT_EQ(table.size(), kCapacity - 20);
  EXPECT_EQ(table.expire(kUdp + 1, 1'000'000), kCapacity - 20) << "a huge budget: one lap";
  EXPECT_EQ(table.size(), 0u);
}

TEST(ConnTable, EraseThenReinsertReusesSlot) {
  ConnTable table(4, kTimeouts);
  const FlowTuple a = v4(1, 1000);
  Conn* c = insert(table, a, ConnState::kTcpSyn, 0);
  c->backend_id = 42;
  table.erase(c);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(find(table, a, 0), nullptr);
  EXPECT_FALSE(contains(table, a, 0));

  const FlowTuple b = v4(2, 1000);
  Conn* again = insert(table, b, ConnState::kUdp, 1);
  EXPECT_EQ(again, c) << "the freed record is the first reused";
  EXPECT_EQ(again->backend_id, 0u) << "fields of the old connection are cleared";
  EXPECT_EQ(find(table, b, 1), again);
  EXPECT_EQ(find(table, a, 1), nullptr);
}

TEST(ConnTable, ReplyStopsMatchingAfterErase) {
  ConnTable table(4, kTimeouts);
  const FlowTuple reply = v4(100, 8080, 99, 2000);
  Conn* c = insert(table, v4(1, 1000), ConnState::kTcpEstablished, 0);
  ASSERT_TRUE(index_reply(table, c, reply, 0));
  table.erase(c);
  EXPECT_EQ(find(table, reply, 0), nullptr);
  EXPECT_FALSE(contains(table, reply, 0));
  Conn* other = insert(table, v4(2, 1000), ConnState::kTcpEstablished, 0);
  EXPECT_TRUE(index_reply(table, other, reply, 0)) << "the SNAT port is free again";
  EXPECT_EQ(find(table, reply, 0), other);
}

TEST(ConnTable, ZeroCapacityMeansOne) {
  ConnTable table(0, kTimeouts);
  EXPECT_EQ(table.capacity(), 1u);
  EXPECT_NE(insert(table, v4(1, 1), ConnState::kUdp, 0), nullptr);
  EXPECT_EQ(insert(table, v4(2, 1), ConnState::kUdp, 0), nullptr);
}

// Bitwise CRC32-C (Castagnoli, reflected polynomial 0x82f63b78) without the final inversion.
uint32_t reference_crc32c(const void* data, size_t len, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) {
    crc ^= p[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
  }
  return crc;
}

// The key's words as the hash reads them: IPv4 addresses (8 bytes) or IPv6 addresses (32), then
// ports, protocol and family (8).
std::vector<uint8_t> key_words(const FlowTuple& t) {
  std::vector<uint8_t> out;
  if (t.v6) {
    out.insert(out.end(), t.src, t.src + 16);
    out.insert(out.end(), t.dst, t.dst + 16);
  } else {
    out.insert(out.end(), t.src, t.src + 4);
    out.insert(out.end(), t.dst, t.dst + 4);
  }
  const uint8_t* ports = reinterpret_cast<const uint8_t*>(&t.sport);
  out.insert(out.end(), ports, ports + 4);
  out.push_back(t.proto);
  out.push_back(t.v6);
  out.push_back(0);
  out.push_back(0);
  return out;
}

FlowTuple v6(uint16_t src_host, uint16_t sport, uint16_t dport = 80, uint8_t proto = kTcp) {
  FlowTuple t{};
  const uint8_t prefix[] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00};
  std::memcpy(t.src, prefix, sizeof prefix);
  t.src[14] = static_cast<uint8_t>(src_host >> 8);
  t.src[15] = static_cast<uint8_t>(src_host);
  std::memcpy(t.dst, prefix, sizeof prefix);
  t.dst[5] = 0x02;
  t.dst[15] = 10;
  t.sport = static_cast<uint16_t>((sport >> 8) | (sport << 8));
  t.dport = static_cast<uint16_t>((dport >> 8) | (dport << 8));
  t.proto = proto;
  t.v6 = 1;
  return t;
}

TEST(ConnTable, HashIsCrc32cOfTheKeyWords) {
  for (const FlowTuple& t : {v4(1, 40000), v6(1, 40000)}) {
    const std::vector<uint8_t> words = key_words(t);
    const uint32_t h = ConnTable::hash(t);
    EXPECT_EQ(h, reference_crc32c(words.data(), words.size(), 0xffffffffu));
    EXPECT_EQ(h, ConnTable::hash(nf::key_of(t))) << "tuple and key hash alike";
    // CRC detects every single-byte change, so every byte that is part of the key must be
    // hashed; IPv4 tuples keep their other address bytes zero.
    for (size_t i = 0; i < sizeof(FlowTuple); ++i) {
      const bool unused_v4_byte = !t.v6 && ((i >= 4 && i < 16) || (i >= 20 && i < 32));
      if (unused_v4_byte || i >= offsetof(FlowTuple, pad)) continue;
      FlowTuple u = t;
      reinterpret_cast<uint8_t*>(&u)[i] ^= 0x01;
      EXPECT_NE(ConnTable::hash(u), h) << "byte " << i;
      EXPECT_FALSE(u == t);
    }
  }
}

TEST(ConnTable, Ipv4FlowsLiveInTheFirstCacheLine) {
  // What an IPv4 lookup and forward read: both sides, protocol, state, backend, next hop,
  // client MAC and the time; the second line holds only IPv6 addresses.
  EXPECT_LT(offsetof(Conn, side) + sizeof(Conn::side), 64u);
  EXPECT_LT(offsetof(Conn, last_seen), 64u);
  EXPECT_LT(offsetof(Conn, client_mac) + sizeof(Conn::client_mac), 64u);
  EXPECT_EQ(offsetof(Conn, addr6), 64u);
  ConnTable table(4, kTimeouts);
  const FlowTuple a = v6(7, 1000);
  Conn* c = insert(table, a, ConnState::kTcpSyn, 0);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->orig(), a) << "IPv6 addresses round-trip through the second line";
  EXPECT_EQ(std::memcmp(c->src(ConnDir::kOrig), a.src, 16), 0);
  EXPECT_EQ(std::memcmp(c->dst(ConnDir::kOrig), a.dst, 16), 0);
  EXPECT_EQ(find(table, a, 0), c);
  FlowTuple other = a;
  other.dst[15] ^= 1;
  EXPECT_EQ(find(table, other, 0), nullptr) << "the IPv6 addresses are compared";
}

// Tuples whose home bucket is bucket 0 of `table` (the hash's high bits pick it).
std::vector<FlowTuple> homed_at_zero(const ConnTable& table, size_t count) {
  std::vector<FlowTuple> out;
  for (uint32_t i = 0; out.size() < count; ++i) {
    const FlowTuple t = v4(i, static_cast<uint16_t>(1000 + i % 50000));
    const uint32_t h = ConnTable::hash(t);
    if ((static_cast<uint64_t>(h) * table.buckets()) >> 32 == 0) out.push_back(t);
  }
  return out;
}

TEST(ConnTable, FullBucketsOverflowIntoTheNext) {
  ConnTable table(400, kTimeouts);
  ASSERT_EQ(table.buckets(), 200u);
  const std::vector<FlowTuple> same = homed_at_zero(table, 30);  // 8 fit their home bucket
  std::vector<Conn*> conns;
  for (const FlowTuple& t : same) {
    conns.push_back(insert(table, t, ConnState::kUdp, 0));
    ASSERT_NE(conns.back(), nullptr);
  }
  EXPECT_EQ(table.displaced(), 22u);
  for (size_t i = 0; i < same.size(); ++i) EXPECT_EQ(find(table, same[i], 0), conns[i]) << i;
  // Erasing home-bucket tuples leaves the displaced ones findable; a new tuple takes the hole.
  for (size_t i = 0; i < 8; ++i) table.erase(conns[i]);
  for (size_t i = 8; i < same.size(); ++i) EXPECT_EQ(find(table, same[i], 0), conns[i]) << i;
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(find(table, same[i], 0), nullptr) << i;
  Conn* again = insert(table, same[0], ConnState::kUdp, 0);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(table.displaced(), 22u) << "it went back to its home bucket";
  // Erasing the displaced ones takes their overflow counts back.
  for (size_t i = 8; i < same.size(); ++i) table.erase(conns[i]);
  EXPECT_EQ(table.displaced(), 0u);
  EXPECT_EQ(find(table, same[0], 0), again);
  EXPECT_EQ(table.size(), 1u);
}

TEST(ConnTable, ProbingStopsAtTheLimit) {
  // More tuples with one home bucket than kMaxProbe + 1 buckets hold (crafted collisions, say):
  // the surplus is refused rather than probed for without end.
  ConnTable table(1000, kTimeouts);
  constexpr size_t kFit = 8 * (ConnTable::kMaxProbe + 1);
  const std::vector<FlowTuple> same = homed_at_zero(table, kFit + 5);
  for (size_t i = 0; i < kFit; ++i) {
    ASSERT_NE(insert(table, same[i], ConnState::kUdp, 0), nullptr) << i;
  }
  for (size_t i = kFit; i < same.size(); ++i) {
    EXPECT_EQ(insert(table, same[i], ConnState::kUdp, 0), nullptr) << i;
  }
  EXPECT_EQ(table.size(), kFit) << "a refused insert keeps no record";
  for (size_t i = 0; i < kFit; ++i) EXPECT_NE(find(table, same[i], 0), nullptr) << i;
  Conn* c = insert(table, v4(5000, 5000), ConnState::kUdp, 0);
  ASSERT_NE(c, nullptr);
  const FlowTuple far = same[kFit];
  EXPECT_FALSE(index_reply(table, c, far, 0)) << "a reply tuple is refused the same way";
  EXPECT_EQ(c->reply_indexed, 0);
}

std::string model_key(const FlowTuple& t) {
  return std::string(reinterpret_cast<const char*>(&t), sizeof t);
}

// Random inserts, reply indexing, lookups and erases over a pool of 100k tuples, checked
// against a model after every operation. The table is small enough to fill, so full-table
// refusals are exercised too. Nothing expires (huge timeouts).
TEST(ConnTable, RandomOperationsMatchModel) {
  constexpr uint32_t kCapacity = 20000;
  constexpr uint32_t kPool = 100000;
  constexpr uint64_t kForever = std::numeric_limits<uint64_t>::max() / 2;
  ConnTable table(kCapacity, {kForever, kForever, kForever, kForever});

  std::mt19937_64 rng(20240611);
  std::vector<FlowTuple> pool(kPool);
  for (FlowTuple& t : pool) {
    const uint64_t r = rng();
    if ((r & 7) == 0) {  // one in eight IPv6
      t = v6(static_cast<uint16_t>(r >> 8), static_cast<uint16_t>(r >> 24),
             static_cast<uint16_t>(r >> 48), (r >> 47) & 1 ? kTcp : kUdpProto);
      continue;
    }
    t = v4(static_cast<uint32_t>(r & 0xffffff), static_cast<uint16_t>(r >> 24),
           static_cast<uint8_t>(r >> 40), static_cast<uint16_t>(r >> 48),
           (r >> 47) & 1 ? kTcp : kUdpProto);
  }

  struct Entry {
    Conn* conn;
    ConnDir dir;
  };
  std::unordered_map<std::string, Entry> model;  // every indexed tuple
  std::vector<Conn*> records;                    // live records, for picking one to erase
  uint64_t inserts = 0;
  uint64_t full = 0;
  uint64_t refused_replies = 0;
  uint64_t erases = 0;

  constexpr uint32_t kOps = 400000;
  for (uint32_t op = 0; op < kOps; ++op) {
    const FlowTuple& t = pool[rng() % kPool];
    const auto it = model.find(model_key(t));
    ConnDir dir;
    Conn* found = find(table, t, op, &dir);
    if (it == model.end()) {
      ASSERT_EQ(found, nullptr) << "op " << op;
    } else {
      ASSERT_EQ(found, it->second.conn) << "op " << op;
      ASSERT_EQ(dir, it->second.dir) << "op " << op;
    }

    const uint32_t action = static_cast<uint32_t>(rng() % 10);
    if (action < 5 && it == model.end()) {  // insert
      Conn* c = insert(table, t, ConnState::kTcpEstablished, op);
      if (records.size() == kCapacity) {
        ASSERT_EQ(c, nullptr) << "op " << op;
        ++full;
        continue;
      }
      ASSERT_NE(c, nullptr) << "op " << op;
      model.emplace(model_key(t), Entry{c, ConnDir::kOrig});
      records.push_back(c);
      ++inserts;
    } else if (action < 7 && !records.empty()) {  // index t as some record's reply
      Conn* c = records[rng() % records.size()];
      // A record's two tuples share protocol and family (index_reply refuses others).
      if (c->reply_indexed || t.proto != c->proto || t.v6 != c->v6) continue;
      const bool ok = index_reply(table, c, t, op);
      ASSERT_EQ(ok, it == model.end()) << "op " << op;
      if (ok) {
        model.emplace(model_key(t), Entry{c, ConnDir::kReply});
      } else {
        ++refused_replies;
      }
    } else if (action < 9 && !records.empty()) {  // erase a random record
      const size_t i = rng() % records.size();
      Conn* c = records[i];
      model.erase(model_key(c->orig()));
      if (c->reply_indexed) model.erase(model_key(c->reply()));
      table.erase(c);
      records[i] = records.back();
      records.pop_back();
      ++erases;
    }
    ASSERT_EQ(table.size(), records.size()) << "op " << op;
  }

  EXPECT_EQ(live_records(table), records.size());
  for (const auto& [key, entry] : model) {
    FlowTuple t;
    std::memcpy(&t, key.data(), sizeof t);
    ConnDir dir;
    ASSERT_EQ(find(table, t, kOps, &dir), entry.conn);
    ASSERT_EQ(dir, entry.dir);
  }
  // The run must actually have exercised each path.
  EXPECT_GT(inserts, 50000u);
  EXPECT_GT(full, 100u);
  EXPECT_GT(refused_replies, 100u);
  EXPECT_GT(erases, 50000u);
}

}  // namespace
}  // namespace nf
