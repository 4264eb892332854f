// lb::Tables (nf/lb_tables.h): service lookup by (VIP, family, protocol, port), the Maglev
// tables and their dedupe by key, pick(), backend ids, next hops, SNAT and interface addresses.
#include "nf/lb_tables.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace nf::lb {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

constexpr uint16_t be16(uint16_t v) { return static_cast<uint16_t>((v >> 8) | (v << 8)); }

Addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Addr{a, b, c, d}; }
// 2001:db8::<last>
Addr v6(uint8_t last) {
  Addr a{0x20, 0x01, 0x0d, 0xb8};
  a[15] = last;
  return a;
}

Service service(const Addr& vip, bool is_v6, uint8_t proto, uint16_t port, Mode mode = Mode::kNat) {
  Service s;
  s.vip = vip;
  s.v6 = is_v6;
  s.proto = proto;
  s.port = be16(port);
  s.mode = mode;
  return s;
}

Backend backend(const Addr& a, bool is_v6, uint16_t port, uint32_t id, uint16_t nexthop = 0) {
  Backend b;
  b.addr = a;
  b.v6 = is_v6;
  b.port = be16(port);
  b.id = id;
  b.nexthop = nexthop;
  return b;
}

// The hash that pick() maps to Maglev slot `slot` of a table of `size` entries (the smallest
// h with h * size >> 32 == slot).
uint32_t hash_for_slot(uint32_t slot, uint32_t size) {
  return static_cast<uint32_t>(((uint64_t{slot} << 32) + size - 1) / size);
}

const Addr kVip = v4(203, 0, 113, 10);
const Addr kVip6 = v6(0x10);

TEST(LbTables, FindServiceHitAndMiss) {
  Tables t;
  t.add_service(service(kVip, false, kTcp, 80), {}, {}, "");
  t.add_service(service(kVip, false, kUdp, 53), {}, {}, "");
  t.add_service(service(kVip6, true, kTcp, 80), {}, {}, "");
  t.finalize();

  const Service* s = t.find_service(kVip.data(), 0, kTcp, be16(80));
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->index, 0u);
  EXPECT_EQ(s->proto, kTcp);
  ASSERT_NE(t.find_service(kVip.data(), 0, kUdp, be16(53)), nullptr);
  EXPECT_EQ(t.find_service(kVip.data(), 0, kUdp, be16(53))->index, 1u);
  ASSERT_NE(t.find_service(kVip6.data(), 1, kTcp, be16(80)), nullptr);
  EXPECT_EQ(t.find_service(kVip6.data(), 1, kTcp, be16(80))->index, 2u);

  EXPECT_EQ(t.find_service(kVip.data(), 0, kTcp, be16(81)), nullptr) << "port";
  EXPECT_EQ(t.find_service(kVip.data(), 0, kTcp, 80), nullptr) << "port byte order";
  EXPECT_EQ(t.find_service(kVip.data(), 0, kUdp, be16(80)), nullptr) << "protocol";
  EXPECT_EQ(t.find_service(kVip.data(), 0, kTcp, be16(53)), nullptr) << "protocol";
  EXPECT_EQ(t.find_service(kVip.data(), 1, kTcp, be16(80)), nullptr) << "family flag";
  EXPECT_EQ(t.find_service(kVip6.data(), 0, kTcp, be16(80)), nullptr) << "family flag";
  EXPECT_EQ(t.find_service(kVip6.data(), 1, kUdp, be16(53)), nullptr) << "v6 has no UDP 53";
  const Addr other = v4(203, 0, 113, 11);
  EXPECT_EQ(t.find_service(other.data(), 0, kTcp, be16(80)), nullptr) << "address";
}

// An IPv4 VIP and an IPv6 VIP whose 16 bytes are the same are different services.
TEST(LbTables, FamilyIsPartOfTheKey) {
  Tables t;
  t.add_service(service(kVip, false, kTcp, 80), {}, {}, "");
  t.add_service(service(kVip, true, kTcp, 80), {}, {}, "");
  t.finalize();
  ASSERT_NE(t.find_service(kVip.data(), 0, kTcp, be16(80)), nullptr);
  ASSERT_NE(t.find_service(kVip.data(), 1, kTcp, be16(80)), nullptr);
  EXPECT_EQ(t.find_service(kVip.data(), 0, kTcp, be16(80))->v6, 0);
  EXPECT_EQ(t.find_service(kVip.data(), 1, kTcp, be16(80))->v6, 1);
}

// The family flag is compared, not only hashed: over many half-full tables, some lookups with
// the other flag probe through the entry's slot.
TEST(LbTables, SameBytesOtherFamilyNeverMatches) {
  for (int filler = 0; filler < 8; ++filler) {
    for (int i = 0; i < 256; ++i) {
      SCOPED_TRACE(std::to_string(filler) + "/" + std::to_string(i));
      const Addr a = v4(203, 0, 113, static_cast<uint8_t>(i));
      for (const bool entry_v6 : {false, true}) {
        Tables t;
        t.add_service(service(a, entry_v6, kTcp, 80), {}, {}, "");
        t.add_nexthop(a, entry_v6, 5);
        for (uint8_t j = 1; j < 8; ++j) {
          const Addr other = v4(10, 0, static_cast<uint8_t>(filler), j);
          t.add_service(service(other, entry_v6, kTcp, 80), {}, {}, "");
          t.add_nexthop(other, entry_v6, j);
        }
        t.finalize();
        ASSERT_NE(t.find_service(a.data(), entry_v6, kTcp, be16(80)), nullptr);
        ASSERT_EQ(t.find_service(a.data(), !entry_v6, kTcp, be16(80)), nullptr);
        ASSERT_EQ(t.nexthop_index(a.data(), entry_v6), 5);
        ASSERT_EQ(t.nexthop_index(a.data(), !entry_v6), -1);
      }
    }
  }
}

TEST(LbTables, EmptyTablesFindNothing) {
  Tables t;
  t.finalize();
  EXPECT_EQ(t.find_service(kVip.data(), 0, kTcp, be16(80)), nullptr);
  EXPECT_EQ(t.backend_by_id(1), nullptr);
  EXPECT_EQ(t.nexthop_index(kVip.data(), 0), -1);
  EXPECT_EQ(t.snat_for(0, 1), nullptr);
  EXPECT_EQ(t.snat_for(1, 1), nullptr);
  EXPECT_FALSE(t.is_snat(kVip.data(), 0));
  EXPECT_EQ(t.interface_address(0, 0), nullptr);
}

// Many services: open addressing with collisions still finds each, and nothing else.
TEST(LbTables, ManyServices) {
  Tables t;
  for (uint16_t i = 0; i < 500; ++i) {
    const Addr vip = v4(203, 0, 113, static_cast<uint8_t>(i % 50));
    t.add_service(service(vip, false, i % 2 ? kUdp : kTcp, static_cast<uint16_t>(1000 + i)), {}, {},
                  "");
  }
  t.finalize();
  for (uint16_t i = 0; i < 500; ++i) {
    const Addr vip = v4(203, 0, 113, static_cast<uint8_t>(i % 50));
    const Service* s = t.find_service(vip.data(), 0, i % 2 ? kUdp : kTcp, be16(1000 + i));
    ASSERT_NE(s, nullptr) << i;
    EXPECT_EQ(s->index, i);
    EXPECT_EQ(t.find_service(vip.data(), 0, i % 2 ? kTcp : kUdp, be16(1000 + i)), nullptr) << i;
    EXPECT_EQ(t.find_service(vip.data(), 0, i % 2 ? kUdp : kTcp, be16(2000 + i)), nullptr) << i;
    EXPECT_EQ(t.find_service(vip.data(), 1, i % 2 ? kUdp : kTcp, be16(1000 + i)), nullptr)
        << i << ": same bytes, other family";
  }
}

TEST(LbTables, ServiceFieldsAndBackends) {
  Tables t;
  const std::vector<Backend> a = {backend(v4(10, 0, 0, 1), false, 8080, 7),
                                  backend(v4(10, 0, 0, 2), false, 8080, 8)};
  const std::vector<Backend> b = {backend(v4(10, 0, 0, 3), false, 53, 9)};
  t.add_service(service(kVip, false, kTcp, 80, Mode::kDsr), a, {0, 1, 0}, "a");
  const uint32_t second = t.add_service(service(kVip, false, kUdp, 53), b, {0, 0, 0}, "b");
  t.finalize();
  EXPECT_EQ(second, 1u);
  ASSERT_EQ(t.services().size(), 2u);
  ASSERT_EQ(t.backends().size(), 3u);
  const Service& s0 = t.services()[0];
  const Service& s1 = t.services()[1];
  EXPECT_EQ(s0.mode, Mode::kDsr);
  EXPECT_EQ(s0.first_backend, 0u);
  EXPECT_EQ(s0.n_backends, 2u);
  EXPECT_EQ(s1.first_backend, 2u);
  EXPECT_EQ(s1.n_backends, 1u);
  EXPECT_EQ(s0.maglev_size, 3u);
  EXPECT_EQ(s1.maglev_offset, 3u);
  EXPECT_EQ(t.backends()[2].id, 9u);
}

// pick(): multiply-shift maps the hash range onto the slots in order; entries index the
// service's own backends.
TEST(LbTables, PickMapsHashesToSlots) {
  Tables t;
  const std::vector<Backend> first = {backend(v4(10, 0, 0, 9), false, 1, 99)};
  const std::vector<Backend> bs = {backend(v4(10, 0, 0, 1), false, 1, 1),
                                   backend(v4(10, 0, 0, 2), false, 1, 2),
                                   backend(v4(10, 0, 0, 3), false, 1, 3)};
  t.add_service(service(kVip, false, kTcp, 1), first, {0, 0}, "");
  t.add_service(service(kVip, false, kTcp, 80), bs, {2, 0, 1, 1, 0}, "");
  t.finalize();
  const Service& s = t.services()[1];
  const uint32_t want[] = {3, 1, 2, 2, 1};  // ids of entries 2, 0, 1, 1, 0
  for (uint32_t slot = 0; slot < 5; ++slot) {
    const Backend* b = t.pick(s, hash_for_slot(slot, 5));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->id, want[slot]) << "slot " << slot;
    if (slot > 0) {
      EXPECT_EQ(t.pick(s, hash_for_slot(slot, 5) - 1)->id, want[slot - 1]) << "slot boundary";
    }
  }
  EXPECT_EQ(t.pick(s, 0)->id, 3u);
  EXPECT_EQ(t.pick(s, 0xffffffffu)->id, 1u);
}

TEST(LbTables, NoMaglevEntriesNoPick) {
  Tables t;
  t.add_service(service(kVip, false, kTcp, 80), {backend(v4(10, 0, 0, 1), false, 1, 1)}, {},
                "terminating only");
  t.finalize();
  EXPECT_EQ(t.services()[0].maglev_size, 0u);
  EXPECT_EQ(t.pick(t.services()[0], 12345), nullptr);
  EXPECT_NE(t.backend_by_id(1), nullptr) << "still a backend: its flows keep it";
}

TEST(LbTables, MaglevDedupedByKey) {
  Tables t;
  const std::vector<Backend> bs = {backend(v4(10, 0, 0, 1), false, 80, 1),
                                   backend(v4(10, 0, 0, 2), false, 80, 2)};
  std::vector<Backend> bs_443 = bs;
  bs_443[0].id = 3;
  bs_443[1].id = 4;
  const std::vector<uint16_t> table = {0, 1, 1, 0, 1, 0, 0};
  t.add_service(service(kVip, false, kTcp, 80), bs, table, "10.0.0.1/1,10.0.0.2/1,");
  t.add_service(service(kVip, false, kTcp, 443), bs_443, table, "10.0.0.1/1,10.0.0.2/1,");
  EXPECT_EQ(t.maglev_entries(), 7u) << "one shared table";
  t.add_service(service(kVip, false, kTcp, 8080), bs, {1, 1, 1, 1, 1, 1, 1}, "other");
  EXPECT_EQ(t.maglev_entries(), 14u);
  // No key: never shared, even with equal entries.
  t.add_service(service(kVip, false, kUdp, 80), bs, table, "");
  t.add_service(service(kVip, false, kUdp, 443), bs, table, "");
  EXPECT_EQ(t.maglev_entries(), 28u);
  t.finalize();

  const auto& s = t.services();
  EXPECT_EQ(s[0].maglev_offset, s[1].maglev_offset);
  EXPECT_NE(s[0].maglev_offset, s[2].maglev_offset);
  EXPECT_NE(s[3].maglev_offset, s[4].maglev_offset);
  // The shared table indexes each service's own backends.
  for (uint32_t slot = 0; slot < 7; ++slot) {
    const uint32_t h = hash_for_slot(slot, 7);
    EXPECT_EQ(t.pick(s[0], h)->id, table[slot] + 1u);
    EXPECT_EQ(t.pick(s[1], h)->id, table[slot] + 3u);
    EXPECT_EQ(t.pick(s[2], h)->id, 2u);
  }
}

TEST(LbTables, BackendById) {
  Tables t;
  std::vector<Backend> bs;
  for (uint32_t id = 1; id <= 300; ++id) {
    bs.push_back(backend(v4(10, 0, static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)), false,
                         80, id * 7, static_cast<uint16_t>(id)));
  }
  t.add_service(service(kVip, false, kTcp, 80), {bs.begin(), bs.begin() + 100}, {0}, "");
  t.add_service(service(kVip, false, kTcp, 81), {bs.begin() + 100, bs.end()}, {0}, "");
  t.finalize();
  for (uint32_t id = 1; id <= 300; ++id) {
    const Backend* b = t.backend_by_id(id * 7);
    ASSERT_NE(b, nullptr) << id;
    EXPECT_EQ(b->id, id * 7);
    EXPECT_EQ(b->nexthop, id);
    EXPECT_EQ(t.backend_by_id(id * 7 + 1), nullptr) << id;
  }
  EXPECT_EQ(t.backend_by_id(0), nullptr);
  EXPECT_EQ(t.backend_by_id(301 * 7), nullptr);
}

TEST(LbTables, NexthopIndex) {
  Tables t;
  const Addr gw = v4(198, 51, 100, 1);
  const Addr be = v4(198, 51, 100, 21);
  // An IPv6 address whose 16 bytes equal the IPv4 gateway's (198.51.100.1 then zeros).
  const Addr gw_bytes_as_v6 = gw;
  const Addr gw6 = v6(1);
  t.add_nexthop(gw, false, 7);
  t.add_nexthop(be, false, 21);
  t.add_nexthop(gw6, true, 40);
  for (uint16_t i = 0; i < 100; ++i)
    t.add_nexthop(v4(10, 1, 0, static_cast<uint8_t>(i)), false, 100 + i);
  t.finalize();
  EXPECT_EQ(t.nexthop_index(gw.data(), 0), 7);
  EXPECT_EQ(t.nexthop_index(be.data(), 0), 21);
  EXPECT_EQ(t.nexthop_index(gw6.data(), 1), 40);
  EXPECT_EQ(t.nexthop_index(gw_bytes_as_v6.data(), 1), -1) << "family";
  EXPECT_EQ(t.nexthop_index(gw6.data(), 0), -1) << "family";
  const Addr unknown = v4(198, 51, 100, 2);
  EXPECT_EQ(t.nexthop_index(unknown.data(), 0), -1);
  for (uint16_t i = 0; i < 100; ++i) {
    const Addr a = v4(10, 1, 0, static_cast<uint8_t>(i));
    EXPECT_EQ(t.nexthop_index(a.data(), 0), 100 + i);
    EXPECT_EQ(t.nexthop_index(a.data(), 1), -1) << "same bytes, other family";
  }
}

TEST(LbTables, SnatPerFamily) {
  Tables t;
  const Addr s4a = v4(198, 51, 100, 11), s4b = v4(198, 51, 100, 12);
  const Addr s6 = v6(0x11);
  t.add_snat(s4a, false);
  t.add_snat(s4b, false);
  t.add_snat(s6, true);
  t.finalize();
  ASSERT_NE(t.snat_for(0, 0), nullptr);
  EXPECT_EQ(*t.snat_for(0, 0), s4a);
  EXPECT_EQ(*t.snat_for(0, 1), s4b);
  EXPECT_EQ(*t.snat_for(0, 7), s4b);
  std::set<Addr> seen;
  for (uint32_t h = 0; h < 16; ++h) seen.insert(*t.snat_for(0, h * 0x10001u));
  EXPECT_EQ(seen.size(), 2u) << "flows spread over both";
  for (uint32_t h : {0u, 1u, 0xffffffffu}) {
    ASSERT_NE(t.snat_for(1, h), nullptr);
    EXPECT_EQ(*t.snat_for(1, h), s6);
  }
  EXPECT_TRUE(t.is_snat(s4a.data(), 0));
  EXPECT_TRUE(t.is_snat(s4b.data(), 0));
  EXPECT_TRUE(t.is_snat(s6.data(), 1));
  EXPECT_FALSE(t.is_snat(s6.data(), 0));
  EXPECT_FALSE(t.is_snat(s4a.data(), 1));
  const Addr other = v4(198, 51, 100, 13);
  EXPECT_FALSE(t.is_snat(other.data(), 0));
}

TEST(LbTables, SnatOfOneFamilyOnly) {
  Tables t;
  t.add_snat(v4(198, 51, 100, 11), false);
  t.finalize();
  EXPECT_NE(t.snat_for(0, 5), nullptr);
  EXPECT_EQ(t.snat_for(1, 5), nullptr);
}

TEST(LbTables, InterfaceAddress) {
  Tables t;
  const Addr a0 = v4(198, 51, 100, 10), a0b = v4(198, 51, 100, 99), a1 = v4(192, 0, 2, 10);
  const Addr a0_6 = v6(0x10), a0_6b = v6(0x99);
  t.set_interface_address(0, a0, false);
  t.set_interface_address(0, a0b, false);  // the first of the family counts
  t.set_interface_address(0, a0_6, true);
  t.set_interface_address(0, a0_6b, true);
  t.set_interface_address(1, a1, false);
  t.set_interface_address(Tables::kMaxInterfaces, a1, false);  // ignored
  t.finalize();
  ASSERT_NE(t.interface_address(0, 0), nullptr);
  EXPECT_EQ(*t.interface_address(0, 0), a0);
  ASSERT_NE(t.interface_address(0, 1), nullptr);
  EXPECT_EQ(*t.interface_address(0, 1), a0_6);
  ASSERT_NE(t.interface_address(1, 0), nullptr);
  EXPECT_EQ(*t.interface_address(1, 0), a1);
  EXPECT_EQ(t.interface_address(1, 1), nullptr) << "no IPv6 address on interface 1";
  EXPECT_EQ(t.interface_address(2, 0), nullptr);
  EXPECT_EQ(t.interface_address(Tables::kMaxInterfaces, 0), nullptr);
  EXPECT_EQ(t.interface_address(255, 1), nullptr);
}

}  // namespace
}  // namespace nf::lb
