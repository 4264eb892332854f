// AddressTable: open addressing, merging of duplicates, misses, empty and unfinalized tables.
#include "nf/address_table.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <set>

namespace nf {
namespace {

uint32_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  uint32_t be;
  std::memcpy(&be, bytes, sizeof be);
  return be;
}

using Addr6 = std::array<uint8_t, 16>;

Addr6 v6(uint16_t prefix_word, uint32_t low) {
  Addr6 a{0x20, 0x01, 0x0d, 0xb8};
  a[4] = static_cast<uint8_t>(prefix_word >> 8);
  a[5] = static_cast<uint8_t>(prefix_word);
  a[12] = static_cast<uint8_t>(low >> 24);
  a[13] = static_cast<uint8_t>(low >> 16);
  a[14] = static_cast<uint8_t>(low >> 8);
  a[15] = static_cast<uint8_t>(low);
  return a;
}

TEST(AddressTable, UnfinalizedAndEmptyTablesFindNothing) {
  AddressTable t;
  EXPECT_EQ(t.find_v4(v4(203, 0, 113, 1)), nullptr);
  EXPECT_EQ(t.find_v6(v6(0x200, 1).data()), nullptr);
  t.add_v4(v4(203, 0, 113, 1), {kAddrVip, 1});
  EXPECT_EQ(t.find_v4(v4(203, 0, 113, 1)), nullptr) << "not finalized yet";
  AddressTable empty;
  empty.finalize();
  EXPECT_EQ(empty.size_v4(), 0u);
  EXPECT_EQ(empty.size_v6(), 0u);
  EXPECT_EQ(empty.find_v4(0), nullptr);
  EXPECT_EQ(empty.find_v6(Addr6{}.data()), nullptr);
}

TEST(AddressTable, FindsWhatWasAdded) {
  AddressTable t;
  t.add_v4(v4(203, 0, 113, 10), {kAddrVip, 0b01});
  t.add_v4(v4(198, 51, 100, 10), {kAddrNode, 0});
  t.add_v4(0, {kAddrSnat, 0b100});  // the all-zero key is an ordinary key
  t.add_v6(v6(0x200, 0x10).data(), {kAddrVip, 0b10});
  t.finalize();
  ASSERT_EQ(t.size_v4(), 3u);
  ASSERT_EQ(t.size_v6(), 1u);
  const AddressInfo* vip = t.find_v4(v4(203, 0, 113, 10));
  ASSERT_NE(vip, nullptr);
  EXPECT_EQ(vip->flags, kAddrVip);
  EXPECT_EQ(vip->announce_ports, 0b01u);
  ASSERT_NE(t.find_v4(0), nullptr);
  EXPECT_EQ(t.find_v4(0)->flags, kAddrSnat);
  EXPECT_EQ(t.find_v4(v4(198, 51, 100, 10))->flags, kAddrNode);
  ASSERT_NE(t.find_v6(v6(0x200, 0x10).data()), nullptr);
  EXPECT_EQ(t.find_v6(v6(0x200, 0x10).data())->announce_ports, 0b10u);
  EXPECT_EQ(t.find_v4(v4(203, 0, 113, 11)), nullptr);
  EXPECT_EQ(t.find_v4(v4(10, 0, 113, 203)), nullptr) << "byte order matters";
  EXPECT_EQ(t.find_v6(v6(0x200, 0x11).data()), nullptr);
  EXPECT_EQ(t.find_v6(v6(0x201, 0x10).data()), nullptr);
}

TEST(AddressTable, DuplicatesAreMerged) {
  AddressTable t;
  t.add_v4(v4(203, 0, 113, 10), {kAddrVip, 0b001});
  t.add_v4(v4(203, 0, 113, 10), {kAddrSnat, 0b100});
  t.add_v4(v4(203, 0, 113, 10), {kAddrVip, 0b010});
  t.add_v6(v6(0x100, 0x10).data(), {kAddrNode, 0});
  t.add_v6(v6(0x100, 0x10).data(), {kAddrVip, 0b1});
  t.finalize();
  EXPECT_EQ(t.size_v4(), 1u);
  EXPECT_EQ(t.size_v6(), 1u);
  const AddressInfo* a = t.find_v4(v4(203, 0, 113, 10));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->flags, kAddrVip | kAddrSnat);
  EXPECT_EQ(a->announce_ports, 0b111u);
  const AddressInfo* b = t.find_v6(v6(0x100, 0x10).data());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->flags, kAddrNode | kAddrVip);
  EXPECT_EQ(b->announce_ports, 0b1u);
}

// Pools are contiguous ranges: a /16 of IPv4 and a run of IPv6 addresses in one /64, plus
// random addresses, all present; their neighbours and random others absent.
TEST(AddressTable, ManyEntries) {
  AddressTable t;
  std::set<uint32_t> in4;
  std::set<Addr6> in6;
  for (uint32_t i = 0; i < 20000; ++i) {
    const uint32_t a = v4(203, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
    in4.insert(a);
    t.add_v4(a, {kAddrVip, i});
  }
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    const uint32_t a = rng();
    in4.insert(a);
    t.add_v4(a, {kAddrSnat, 0});
  }
  for (uint32_t i = 0; i < 3000; ++i) {
    const Addr6 a = v6(0x200, i * 7);
    in6.insert(a);
    t.add_v6(a.data(), {kAddrVip, i});
  }
  t.finalize();
  EXPECT_EQ(t.size_v4(), in4.size());
  EXPECT_EQ(t.size_v6(), in6.size());
  for (uint32_t i = 0; i < 20000; ++i) {
    const AddressInfo* info =
        t.find_v4(v4(203, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)));
    ASSERT_NE(info, nullptr) << i;
    EXPECT_TRUE(info->flags & kAddrVip);
  }
  for (uint32_t a : in4) ASSERT_NE(t.find_v4(a), nullptr);
  for (uint32_t i = 0; i < 3000; ++i) {
    const AddressInfo* info = t.find_v6(v6(0x200, i * 7).data());
    ASSERT_NE(info, nullptr) << i;
    EXPECT_EQ(info->announce_ports, i);
  }
  int misses = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint32_t a = rng();
    if (in4.count(a)) continue;
    ++misses;
    ASSERT_EQ(t.find_v4(a), nullptr);
  }
  EXPECT_GT(misses, 19000);
  for (uint32_t i = 0; i < 3000; ++i) {
    if (i % 7 == 0) continue;
    ASSERT_EQ(t.find_v6(v6(0x200, i).data()), nullptr) << i;
    ASSERT_EQ(t.find_v6(v6(0x201, i * 7).data()), nullptr) << i;
  }
}

TEST(AddressTable, FinalizeAgainKeepsEarlierEntries) {
  AddressTable t;
  t.add_v4(v4(203, 0, 113, 1), {kAddrVip, 1});
  t.finalize();
  t.add_v4(v4(203, 0, 113, 2), {kAddrVip, 2});
  t.add_v4(v4(203, 0, 113, 1), {kAddrSnat, 4});
  t.finalize();
  EXPECT_EQ(t.size_v4(), 2u);
  ASSERT_NE(t.find_v4(v4(203, 0, 113, 1)), nullptr);
  EXPECT_EQ(t.find_v4(v4(203, 0, 113, 1))->flags, kAddrVip | kAddrSnat);
  EXPECT_EQ(t.find_v4(v4(203, 0, 113, 1))->announce_ports, 5u);
  EXPECT_NE(t.find_v4(v4(203, 0, 113, 2)), nullptr);
}

}  // namespace
}  // namespace nf
