// SYN cookies: the documented layout (recomputed from SipHash), round trips for IPv4 and IPv6
// over the MSS tables and a spread of client MSS values, the options carried in the timestamp
// (every combination, the "not in the future" adjustment), rejection of every one-bit change of
// the tuple, the client ISN and the cookie, ages and the count wrap, key rotation, different
// keys, and the forgery rate of random ACKs.
#include "nf/syn_cookie.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace nf {
namespace {

constexpr uint8_t kSecretA[16] = {0x3c, 0x91, 0x0e, 0x5a, 0x77, 0x12, 0xd4, 0x6b,
                                  0x98, 0x01, 0xee, 0x2f, 0x40, 0xb3, 0x5d, 0xc6};
constexpr uint8_t kSecretB[16] = {0xa1, 0x4e, 0x73, 0x08, 0xfd, 0x26, 0x9b, 0x51,
                                  0x6c, 0xe0, 0x37, 0x84, 0x1a, 0xcf, 0x22, 0x95};
constexpr uint8_t kSecretC[16] = {0x5f, 0x0b, 0xc8, 0x63, 0x2e, 0x9a, 0x14, 0xd7,
                                  0x81, 0x46, 0xf9, 0x3d, 0x70, 0x0c, 0xa5, 0xe2};

constexpr uint32_t kCount = 1000;            // minutes, say
constexpr uint32_t kNowTs = 0x5a5a1234;      // our millisecond clock
constexpr uint32_t kClientIsn = 0xfffffff0;  // wraps when the ACK adds 1 (and more below)
constexpr uint32_t kClientTs = 777000;

// 198.51.100.7:40000 -> 203.0.113.10:80 and 2001:db8:100::7:40000 -> 2001:db8:200::a:443.
SynCookieTuple4 tuple4() { return {{198, 51, 100, 7}, {203, 0, 113, 10}, htons(40000), htons(80)}; }

SynCookieTuple6 tuple6() {
  SynCookieTuple6 t{};
  const uint8_t s[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07};
  const uint8_t d[16] = {0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};
  std::memcpy(t.saddr, s, 16);
  std::memcpy(t.daddr, d, 16);
  t.sport = htons(40000);
  t.dport = htons(443);
  return t;
}

SynOptions syn_with(uint16_t mss, bool timestamps = false, uint8_t wscale = kNoWindowScale,
                    bool sack = false) {
  SynOptions o;
  o.mss = mss;
  o.timestamps = timestamps;
  o.ts_val = timestamps ? kClientTs : 0;
  o.wscale = wscale;
  o.sack_permitted = sack;
  return o;
}

// The client's ACK for a SYN-ACK carrying `c`: seq = ISN + 1, ack = cookie + 1, and the
// SYN-ACK's TSval echoed if timestamps were negotiated.
SynCookieAck ack_for(const SynCookie& c, uint32_t client_isn) {
  SynCookieAck a;
  a.seq = client_isn + 1;
  a.ack = c.isn + 1;
  a.timestamps = c.negotiated.timestamps;
  a.ts_val = c.negotiated.timestamps ? kClientTs + 40 : 0;
  a.ts_ecr = c.ts_val;
  return a;
}

// The address family as a type parameter.
struct V4 {
  using Tuple = SynCookieTuple4;
  static Tuple tuple() { return tuple4(); }
  static constexpr const uint16_t* kTable = kSynCookieMss4;
  static constexpr size_t kAddrBytes = 4;
};
struct V6 {
  using Tuple = SynCookieTuple6;
  static Tuple tuple() { return tuple6(); }
  static constexpr const uint16_t* kTable = kSynCookieMss6;
  static constexpr size_t kAddrBytes = 16;
};

template <typename F>
class SynCookieFamily : public ::testing::Test {};
using Families = ::testing::Types<V4, V6>;
TYPED_TEST_SUITE(SynCookieFamily, Families);

// ---- the tables ----

TEST(SynCookieMss, TablesAreLinuxs) {
  const uint16_t v4[] = {536, 1300, 1440, 1460};
  const uint16_t v6[] = {1220, 1420, 1440, 8940};
  for (uint32_t i = 0; i < kSynCookieMssCount; ++i) {
    EXPECT_EQ(kSynCookieMss4[i], v4[i]);
    EXPECT_EQ(kSynCookieMss6[i], v6[i]);
  }
}

// Client MSS -> the MSS the cookie carries: the largest entry not above it, else the smallest.
struct MssCase {
  uint16_t client;
  uint16_t v4;
  uint16_t v6;
};
const MssCase kMssCases[] = {
    {0, 536, 1220},      {1, 536, 1220},     {535, 536, 1220},   {536, 536, 1220},
    {537, 536, 1220},    {1219, 536, 1220},  {1220, 536, 1220},  {1299, 536, 1220},
    {1300, 1300, 1220},  {1419, 1300, 1220}, {1420, 1300, 1420}, {1439, 1300, 1420},
    {1440, 1440, 1440},  {1452, 1440, 1440}, {1459, 1440, 1440}, {1460, 1460, 1440},
    {1461, 1460, 1440},  {8939, 1460, 1440}, {8940, 1460, 8940}, {9000, 1460, 8940},
    {65535, 1460, 8940},
};

TEST(SynCookieMss, IndexIsTheLargestEntryNotAbove) {
  for (const MssCase& c : kMssCases) {
    EXPECT_EQ(kSynCookieMss4[syn_cookie_mss_index(kSynCookieMss4, c.client)], c.v4) << c.client;
    EXPECT_EQ(kSynCookieMss6[syn_cookie_mss_index(kSynCookieMss6, c.client)], c.v6) << c.client;
  }
}

// ---- the documented layout ----

// cookie = H1 + ISN + (count << 24) + ((H2 & 0xfffffc) | index), H1 over the tuple's wire bytes,
// H2 over those, the count (LE32) and the index: recomputed here from SipHash itself.
TYPED_TEST(SynCookieFamily, CookieIsTheDocumentedFormula) {
  constexpr size_t kTupleBytes = 2 * TypeParam::kAddrBytes + 4;
  const auto t = TypeParam::tuple();
  uint8_t in[kTupleBytes + 5];
  std::memcpy(in, t.saddr, TypeParam::kAddrBytes);
  std::memcpy(in + TypeParam::kAddrBytes, t.daddr, TypeParam::kAddrBytes);
  std::memcpy(in + 2 * TypeParam::kAddrBytes, &t.sport, 2);
  std::memcpy(in + 2 * TypeParam::kAddrBytes + 2, &t.dport, 2);
  const uint32_t count = 0x01020304;
  in[kTupleBytes + 0] = 0x04;
  in[kTupleBytes + 1] = 0x03;
  in[kTupleBytes + 2] = 0x02;
  in[kTupleBytes + 3] = 0x01;
  const SipHashKey key = siphash_key(kSecretA);
  for (uint32_t index = 0; index < kSynCookieMssCount; ++index) {
    in[kTupleBytes + 4] = static_cast<uint8_t>(index);
    const uint32_t h1 = static_cast<uint32_t>(siphash24(key, in, kTupleBytes));
    const uint32_t h2 = static_cast<uint32_t>(siphash24(key, in, kTupleBytes + 5));
    const uint32_t want = h1 + kClientIsn + (count << 24) + ((h2 & 0xfffffc) | index);
    const SynCookie c = syn_cookie_make(SynCookieKeys(kSecretA), t, kClientIsn,
                                        syn_with(TypeParam::kTable[index]), count, kNowTs);
    EXPECT_EQ(c.isn, want) << "index " << index;
  }
}

// ---- round trips ----

TYPED_TEST(SynCookieFamily, RoundTripEveryMssAtEveryAge) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  const bool v6 = TypeParam::kAddrBytes == 16;
  for (const MssCase& m : kMssCases) {
    for (bool ts : {false, true}) {
      const SynCookie c =
          syn_cookie_make(keys, t, kClientIsn, syn_with(m.client, ts), kCount, kNowTs);
      EXPECT_EQ(c.negotiated.mss, v6 ? m.v6 : m.v4);
      for (uint32_t age = 0; age <= kSynCookieMaxAge; ++age) {
        const SynCookieCheck r = syn_cookie_check(keys, t, ack_for(c, kClientIsn), kCount + age);
        ASSERT_TRUE(r.valid) << "client mss " << m.client << " ts " << ts << " age " << age;
        EXPECT_FALSE(r.previous_secret);
        EXPECT_EQ(r.options.mss, v6 ? m.v6 : m.v4);
        EXPECT_EQ(r.options.timestamps, ts);
      }
    }
  }
}

// Many tuples, ISNs and counts (a randomized spread; the seed is fixed).
TYPED_TEST(SynCookieFamily, RoundTripRandomConnections) {
  std::mt19937_64 rng(20261204);
  const SynCookieKeys keys(kSecretB);
  for (int i = 0; i < 20000; ++i) {
    typename TypeParam::Tuple t;
    for (auto& b : t.saddr) b = static_cast<uint8_t>(rng());
    for (auto& b : t.daddr) b = static_cast<uint8_t>(rng());
    t.sport = static_cast<uint16_t>(rng());
    t.dport = static_cast<uint16_t>(rng());
    const uint32_t isn = static_cast<uint32_t>(rng());
    const uint32_t count = static_cast<uint32_t>(rng());
    const uint32_t age = static_cast<uint32_t>(rng() % (kSynCookieMaxAge + 1));
    const uint16_t mss = static_cast<uint16_t>(rng());
    const SynCookie c = syn_cookie_make(keys, t, isn, syn_with(mss), count, kNowTs);
    const SynCookieCheck r = syn_cookie_check(keys, t, ack_for(c, isn), count + age);
    ASSERT_TRUE(r.valid) << i;
    EXPECT_EQ(r.options.mss, c.negotiated.mss) << i;
  }
}

// ---- options in the timestamp ----

// TSval = now with its low 6 bits replaced by the options, moved back 64 if that is later.
struct TsCase {
  const char* what;
  uint32_t now_ts;
  uint8_t wscale;
  bool sack;
  bool ecn;
  uint32_t tsval;
};
const TsCase kTsCases[] = {
    {"options below now's low bits", 1000, 7, true, false, 983},           // 0x3c0 | 0x17
    {"options above: moved back", 1000, kNoWindowScale, true, true, 959},  // 0x3ff - 64
    {"equal low bits stay", 1023, kNoWindowScale, true, true, 1023},
    {"scale 0, nothing else", 0x12345678, 0, false, false, 0x12345640},
    {"scale 14 and SACK", 0x12345678, 14, true, false, 0x1234565e},
    {"ECN bit alone, scale 2", 0x12345678, 2, false, true, 0x12345662},
    {"clock below 64 wraps back", 5, kNoWindowScale, false, false, 0xffffffcf},
    {"clock at the top", 0xffffffff, kNoWindowScale, true, true, 0xffffffff},
};

TEST(SynCookieTimestamp, EncodeTable) {
  for (const TsCase& c : kTsCases) {
    SynOptions o;
    o.wscale = c.wscale;
    o.sack_permitted = c.sack;
    o.ecn = c.ecn;
    EXPECT_EQ(syn_cookie_ts_encode(o, c.now_ts), c.tsval) << c.what;
    SynOptions back;
    syn_cookie_ts_decode(c.tsval, back);
    EXPECT_EQ(back.wscale, c.wscale) << c.what;
    EXPECT_EQ(back.sack_permitted, c.sack) << c.what;
    EXPECT_EQ(back.ecn, c.ecn) << c.what;
  }
}

// Every (window scale, SACK, ECN) at clocks around the 64-wrap: decoded back, never after now,
// at most 63 before it.
TEST(SynCookieTimestamp, EveryCombinationRoundTrips) {
  const uint32_t clocks[] = {0,          1,          31,         62,         63,
                             64,         65,         1000,       0x7fffffc0, 0x7fffffff,
                             0x80000000, 0xffffffc0, 0xffffffe5, 0xffffffff};
  int combinations = 0;
  for (int w = 0; w <= 15; ++w) {
    const uint8_t wscale = w == 15 ? kNoWindowScale : static_cast<uint8_t>(w);
    for (bool sack : {false, true}) {
      for (bool ecn : {false, true}) {
        ++combinations;
        SynOptions o;
        o.wscale = wscale;
        o.sack_permitted = sack;
        o.ecn = ecn;
        for (uint32_t now : clocks) {
          const uint32_t ts = syn_cookie_ts_encode(o, now);
          EXPECT_LE(now - ts, 63u) << "w " << w << " now " << now;
          SynOptions back;
          syn_cookie_ts_decode(ts, back);
          EXPECT_EQ(back.wscale, wscale);
          EXPECT_EQ(back.sack_permitted, sack);
          EXPECT_EQ(back.ecn, ecn);
        }
      }
    }
  }
  EXPECT_EQ(combinations, 64);
}

// Through make and check: what a SYN with timestamps offered comes back from the ACK.
TYPED_TEST(SynCookieFamily, OptionsRoundTripThroughTheAck) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  struct Offer {
    uint8_t wscale;  // offered
    uint8_t want;    // used
  };
  std::vector<Offer> offers{{kNoWindowScale, kNoWindowScale}, {15, 14}, {200, 14}};
  for (uint8_t w = 0; w <= 14; ++w) offers.push_back({w, w});
  for (const Offer& offer : offers) {
    for (bool sack : {false, true}) {
      SynOptions syn = syn_with(1460, true, offer.wscale, sack);
      syn.ecn = true;  // offered, but Portico does not negotiate ECN
      const SynCookie c = syn_cookie_make(keys, t, kClientIsn, syn, kCount, kNowTs);
      EXPECT_EQ(c.negotiated.wscale, offer.want);
      EXPECT_EQ(c.negotiated.sack_permitted, sack);
      EXPECT_FALSE(c.negotiated.ecn);
      EXPECT_TRUE(c.negotiated.timestamps);
      EXPECT_EQ(c.negotiated.ts_val, kClientTs);
      EXPECT_LE(kNowTs - c.ts_val, 63u);

      const SynCookieAck ack = ack_for(c, kClientIsn);
      const SynCookieCheck r = syn_cookie_check(keys, t, ack, kCount + 1);
      ASSERT_TRUE(r.valid);
      SynOptions want = c.negotiated;
      want.ts_val = ack.ts_val;  // the ACK's TSval is the one to echo next
      EXPECT_EQ(r.options, want) << "wscale " << int(offer.wscale) << " sack " << sack;
    }
  }
}

// Without timestamps there is nowhere to keep window scale and SACK: both off, as in Linux.
TYPED_TEST(SynCookieFamily, NoTimestampsMeansNoScaleNoSack) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  const SynCookie c =
      syn_cookie_make(keys, t, kClientIsn, syn_with(1460, false, 7, true), kCount, kNowTs);
  EXPECT_EQ(c.negotiated.wscale, kNoWindowScale);
  EXPECT_FALSE(c.negotiated.sack_permitted);
  EXPECT_FALSE(c.negotiated.timestamps);
  EXPECT_EQ(c.ts_val, 0u);
  const SynCookieCheck r = syn_cookie_check(keys, t, ack_for(c, kClientIsn), kCount);
  ASSERT_TRUE(r.valid);
  EXPECT_EQ(r.options, c.negotiated);
}

// The ECN bit is decoded from the ACK's TSecr (make never sets it).
TYPED_TEST(SynCookieFamily, EcnBitIsDecoded) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  const SynCookie c =
      syn_cookie_make(keys, t, kClientIsn, syn_with(1460, true, 3, false), kCount, kNowTs);
  SynCookieAck ack = ack_for(c, kClientIsn);
  ack.ts_ecr |= kTsOptEcn;
  const SynCookieCheck r = syn_cookie_check(keys, t, ack, kCount);
  ASSERT_TRUE(r.valid);
  EXPECT_TRUE(r.options.ecn);
  EXPECT_EQ(r.options.wscale, 3);
}

// ---- rejection ----

// Every single-bit change of a tuple field, the client ISN (the ACK's seq) or the cookie (the
// ACK's ack) is rejected, checked one count after the cookie was made (so that a change that
// moves the count by one still lands inside the window and must be caught by H2).
template <typename Tuple>
struct Mutable {
  Tuple tuple;
  SynCookieAck ack;
};

template <typename Tuple>
struct Field {
  const char* name;
  uint8_t* (*bytes)(Mutable<Tuple>&);
  size_t size;
};

template <typename Tuple>
std::vector<Field<Tuple>> fields() {
  using M = Mutable<Tuple>;
  return {
      {"saddr", [](M& m) { return m.tuple.saddr; }, sizeof(Tuple::saddr)},
      {"daddr", [](M& m) { return m.tuple.daddr; }, sizeof(Tuple::daddr)},
      {"sport", [](M& m) { return reinterpret_cast<uint8_t*>(&m.tuple.sport); }, 2},
      {"dport", [](M& m) { return reinterpret_cast<uint8_t*>(&m.tuple.dport); }, 2},
      {"client ISN", [](M& m) { return reinterpret_cast<uint8_t*>(&m.ack.seq); }, 4},
      {"cookie", [](M& m) { return reinterpret_cast<uint8_t*>(&m.ack.ack); }, 4},
  };
}

TYPED_TEST(SynCookieFamily, EveryOneBitChangeIsRejected) {
  using Tuple = typename TypeParam::Tuple;
  const SynCookieKeys keys(kSecretA);
  for (uint16_t mss : {536, 1300, 1440, 1460, 8940}) {
    const Mutable<Tuple> base{TypeParam::tuple(), {}};
    const SynCookie c = syn_cookie_make(keys, base.tuple, kClientIsn, syn_with(mss), kCount, 0);
    Mutable<Tuple> good = base;
    good.ack = ack_for(c, kClientIsn);
    ASSERT_TRUE(syn_cookie_check(keys, good.tuple, good.ack, kCount + 1).valid);
    int mutations = 0;
    for (const Field<Tuple>& f : fields<Tuple>()) {
      for (size_t bit = 0; bit < f.size * 8; ++bit) {
        Mutable<Tuple> m = good;
        f.bytes(m)[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        EXPECT_FALSE(syn_cookie_check(keys, m.tuple, m.ack, kCount + 1).valid)
            << f.name << " bit " << bit << " mss " << mss;
        ++mutations;
      }
    }
    EXPECT_EQ(mutations, static_cast<int>(2 * 8 * TypeParam::kAddrBytes + 16 + 16 + 32 + 32));
  }
}

// The ACK was lost together with the client's first n bytes: the next segment's seq is
// ISN + 1 + n. Linux's additive MSS index lets n = 1..3 through with a shifted sequence; here it
// is rejected (the client retransmits from its ISN + 1 after a reset or timeout).
TYPED_TEST(SynCookieFamily, LaterSegmentAfterLostAckIsRejected) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  for (uint16_t mss : {536, 1300, 1440, 1460}) {
    const SynCookie c = syn_cookie_make(keys, t, kClientIsn, syn_with(mss), kCount, 0);
    for (uint32_t n = 1; n <= 1500; ++n) {
      SynCookieAck ack = ack_for(c, kClientIsn);
      ack.seq += n;
      EXPECT_FALSE(syn_cookie_check(keys, t, ack, kCount).valid) << "n " << n << " mss " << mss;
    }
  }
}

// Ages 0..2 pass; 3 and more, and counts from the future, do not; also across the wrap of the
// 8 bits the cookie carries and of the 32-bit count.
TYPED_TEST(SynCookieFamily, AgeWindow) {
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  for (uint32_t made : {1000u, 254u, 255u, 0xfffffffeu, 0xffffffffu, 0u}) {
    const SynCookie c = syn_cookie_make(keys, t, kClientIsn, syn_with(1460), made, kNowTs);
    const SynCookieAck ack = ack_for(c, kClientIsn);
    EXPECT_TRUE(syn_cookie_check(keys, t, ack, made).valid) << made;
    EXPECT_TRUE(syn_cookie_check(keys, t, ack, made + 1).valid) << made;
    EXPECT_TRUE(syn_cookie_check(keys, t, ack, made + 2).valid) << made;
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made + 3).valid) << made;
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made + 100).valid) << made;
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made - 1).valid) << "future " << made;
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made - 2).valid) << "future " << made;
    // 256 counts later the cookie's 8 count bits match again; H2 has the whole count.
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made + 256).valid) << made;
    EXPECT_FALSE(syn_cookie_check(keys, t, ack, made + 257).valid) << made;
  }
}

// ---- secrets ----

TYPED_TEST(SynCookieFamily, DifferentKeysDifferentCookies) {
  const SynCookieKeys a(kSecretA);
  const SynCookieKeys b(kSecretB);
  const auto t = TypeParam::tuple();
  const SynCookie ca = syn_cookie_make(a, t, kClientIsn, syn_with(1460), kCount, kNowTs);
  const SynCookie cb = syn_cookie_make(b, t, kClientIsn, syn_with(1460), kCount, kNowTs);
  EXPECT_NE(ca.isn, cb.isn);
  EXPECT_TRUE(syn_cookie_check(a, t, ack_for(ca, kClientIsn), kCount).valid);
  EXPECT_FALSE(syn_cookie_check(b, t, ack_for(ca, kClientIsn), kCount).valid);
  EXPECT_FALSE(syn_cookie_check(a, t, ack_for(cb, kClientIsn), kCount).valid);
}

TYPED_TEST(SynCookieFamily, RotationKeepsThePreviousGeneration) {
  const auto t = TypeParam::tuple();
  SynCookieKeys keys(kSecretA);
  EXPECT_EQ(keys.generation(), 0u);
  const SynCookie old = syn_cookie_make(keys, t, kClientIsn, syn_with(1440), kCount, kNowTs);

  keys.rotate(kSecretB, kCount);  // one rotation
  EXPECT_EQ(keys.generation(), 1u);
  const SynCookie fresh = syn_cookie_make(keys, t, kClientIsn, syn_with(1440), kCount, kNowTs);
  EXPECT_NE(fresh.isn, old.isn);
  for (uint32_t age = 0; age <= kSynCookieMaxAge; ++age) {
    const SynCookieCheck r = syn_cookie_check(keys, t, ack_for(old, kClientIsn), kCount + age);
    EXPECT_TRUE(r.valid) << age;
    EXPECT_TRUE(r.previous_secret) << age;
    EXPECT_EQ(r.options.mss, 1440);
    const SynCookieCheck n = syn_cookie_check(keys, t, ack_for(fresh, kClientIsn), kCount + age);
    EXPECT_TRUE(n.valid) << age;
    EXPECT_FALSE(n.previous_secret) << age;
  }
  EXPECT_FALSE(syn_cookie_check(keys, t, ack_for(old, kClientIsn), kCount + 3).valid);

  keys.rotate(kSecretC, kCount + 1);  // two rotations: the first secret is gone
  EXPECT_EQ(keys.generation(), 2u);
  EXPECT_FALSE(syn_cookie_check(keys, t, ack_for(old, kClientIsn), kCount + 1).valid);
  const SynCookieCheck f = syn_cookie_check(keys, t, ack_for(fresh, kClientIsn), kCount + 1);
  EXPECT_TRUE(f.valid);
  EXPECT_TRUE(f.previous_secret);
}

// A worker that still makes cookies under the old keys for one count after the rotation: its
// cookies pass until they age out.
TYPED_TEST(SynCookieFamily, LaggingWorkerCookiesPassUntilTheyAgeOut) {
  const auto t = TypeParam::tuple();
  const SynCookieKeys before(kSecretA);
  SynCookieKeys after = before;
  after.rotate(kSecretB, kCount);
  const SynCookie late = syn_cookie_make(before, t, kClientIsn, syn_with(1460), kCount + 1, 0);
  EXPECT_TRUE(syn_cookie_check(after, t, ack_for(late, kClientIsn), kCount + 1).valid);
  EXPECT_TRUE(syn_cookie_check(after, t, ack_for(late, kClientIsn), kCount + 3).valid);
  EXPECT_FALSE(syn_cookie_check(after, t, ack_for(late, kClientIsn), kCount + 4).valid);
}

TEST(SynCookieKeys, PreviousSecretWindow) {
  SynCookieKeys keys(kSecretA);
  EXPECT_EQ(keys.previous(kCount), nullptr);
  const SipHashKey first = keys.current();
  keys.rotate(kSecretB, kCount);
  EXPECT_EQ(keys.current().k0, siphash_key(kSecretB).k0);
  EXPECT_EQ(keys.current().k1, siphash_key(kSecretB).k1);
  for (uint32_t since : {0u, 1u, 2u, 3u}) {
    const SipHashKey* p = keys.previous(kCount + since);
    ASSERT_NE(p, nullptr) << since;
    EXPECT_EQ(p->k0, first.k0);
    EXPECT_EQ(p->k1, first.k1);
  }
  EXPECT_NE(keys.previous(kCount - 1), nullptr);  // a worker's clock slightly behind
  EXPECT_EQ(keys.previous(kCount + 4), nullptr);
  EXPECT_EQ(keys.previous(kCount + 1000), nullptr);
}

// ---- forgery ----

// One million ACKs with random sequence and acknowledgment numbers. Each passes with probability
// (kSynCookieMaxAge + 1) * 4 * 2^-32 (the count must land in the window, then 22 bits of H2
// must match for one of the 4 indexes): about 0.003 expected in a million.
TYPED_TEST(SynCookieFamily, RandomAcksAreRejected) {
  std::mt19937_64 rng(7);
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  int accepted = 0;
  for (int i = 0; i < 1000000; ++i) {
    SynCookieAck ack;
    ack.seq = static_cast<uint32_t>(rng());
    ack.ack = static_cast<uint32_t>(rng());
    accepted += syn_cookie_check(keys, t, ack, kCount).valid;
  }
  std::printf("[ cookie   ] %zu-byte addresses: %d of 1000000 random ACKs accepted\n",
              TypeParam::kAddrBytes, accepted);
  EXPECT_LE(accepted, 3);
}

// An attacker who somehow knew H1 and the count (so only the 24 low bits are guessed): each
// guess passes with probability 4 * 2^-24 = 2^-22, about 0.24 expected in a million.
TYPED_TEST(SynCookieFamily, GuessedLowBitsAreRejectedAtTheTagRate) {
  constexpr size_t kTupleBytes = 2 * TypeParam::kAddrBytes + 4;
  std::mt19937_64 rng(11);
  const SynCookieKeys keys(kSecretA);
  const auto t = TypeParam::tuple();
  uint8_t in[kTupleBytes];
  std::memcpy(in, t.saddr, TypeParam::kAddrBytes);
  std::memcpy(in + TypeParam::kAddrBytes, t.daddr, TypeParam::kAddrBytes);
  std::memcpy(in + 2 * TypeParam::kAddrBytes, &t.sport, 2);
  std::memcpy(in + 2 * TypeParam::kAddrBytes + 2, &t.dport, 2);
  const uint32_t h1 = static_cast<uint32_t>(siphash24(siphash_key(kSecretA), in, kTupleBytes));
  // Sanity of the premise: a real cookie minus H1 and the ISN shows the count in its top 8 bits.
  const SynCookie real = syn_cookie_make(keys, t, kClientIsn, syn_with(1460), kCount, 0);
  ASSERT_EQ((real.isn - h1 - kClientIsn) >> 24, kCount & 0xff);

  int accepted = 0;
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t low = static_cast<uint32_t>(rng()) & 0xffffff;
    SynCookieAck ack;
    ack.seq = kClientIsn + 1;
    ack.ack = h1 + kClientIsn + (kCount << 24) + low + 1;
    accepted += syn_cookie_check(keys, t, ack, kCount).valid;
  }
  std::printf("[ cookie   ] %zu-byte addresses: %d of 1000000 guessed low bits accepted\n",
              TypeParam::kAddrBytes, accepted);
  EXPECT_LE(accepted, 6);
}

}  // namespace
}  // namespace nf
