// Adj-RIB-Out: diffs, packing into UPDATEs of at most 4096 bytes, attributes per session kind,
// family filtering, route refresh and End-of-RIB. Every UPDATE is encoded and decoded back with
// the codec, so what is checked is what a peer would read.
#include "control/bgp/rib_out.h"

#include <gtest/gtest.h>

#include <set>

namespace bgp {
namespace {

config::IpAddress ip(const char* s) { return *config::IpAddress::parse(s); }

Prefix v4_host(uint32_t i) {
  return Prefix{config::IpAddress::v4(0xc6336400u + i), 32};  // 198.51.100.0 + i
}

Prefix v6_host(uint32_t i) {
  std::array<uint8_t, 16> b = ip("2001:db8:100::").bytes();
  b[14] = uint8_t(i >> 8);
  b[15] = uint8_t(i);
  return Prefix{config::IpAddress::v6(b), 128};
}

Route route(Prefix p, std::vector<uint32_t> communities = {},
            std::optional<uint32_t> local_pref = std::nullopt) {
  Route r;
  r.prefix = p;
  r.communities = std::move(communities);
  r.local_pref = local_pref;
  return r;
}

RibOutOptions ebgp_v4() {
  return RibOutOptions{Afi::kIPv4, false, 64512, ip("192.0.2.2"), CodecOptions{true}};
}

RibOutOptions ebgp_v6() {
  return RibOutOptions{Afi::kIPv6, false, 64512, ip("2001:db8::2"), CodecOptions{true}};
}

// Encodes and decodes back, checking the size limit on the way.
Update wire(const Update& u, const CodecOptions& opts) {
  const auto bytes = u.is_end_of_rib() ? encode_end_of_rib(u.mp_unreach_af.value_or(AfiSafi{}))
                                       : encode_update(u, opts);
  EXPECT_LE(bytes.size(), kMaxMessageLen);
  EXPECT_EQ(bytes.size(), u.is_end_of_rib() ? bytes.size() : encoded_update_size(u, opts));
  auto decoded = decode(bytes, opts);
  if (auto* e = std::get_if<Error>(&decoded)) {
    ADD_FAILURE() << "decode: " << e->message;
    return {};
  }
  return std::get<Update>(std::get<Message>(decoded));
}

std::set<Prefix> announced(const std::vector<Update>& updates, const CodecOptions& opts) {
  std::set<Prefix> out;
  for (const auto& u : updates) {
    const Update d = wire(u, opts);
    out.insert(d.nlri.begin(), d.nlri.end());
    out.insert(d.mp_reach.begin(), d.mp_reach.end());
  }
  return out;
}

std::set<Prefix> withdrawn(const std::vector<Update>& updates, const CodecOptions& opts) {
  std::set<Prefix> out;
  for (const auto& u : updates) {
    const Update d = wire(u, opts);
    out.insert(d.withdrawn.begin(), d.withdrawn.end());
    out.insert(d.mp_unreach.begin(), d.mp_unreach.end());
  }
  return out;
}

TEST(BgpRibOut, ThousandIpv4HostRoutesPackIntoFewUpdates) {
  AdjRibOut rib(ebgp_v4());
  std::vector<Route> routes;
  std::set<Prefix> all;
  for (uint32_t i = 0; i < 1000; ++i) {
    routes.push_back(route(v4_host(i), {0xfc000064}));
    all.insert(v4_host(i));
  }
  rib.set_desired(routes);
  const auto updates = rib.sync();
  // 5 bytes a /32: about 800 per 4096-byte UPDATE.
  EXPECT_EQ(updates.size(), 2u);
  EXPECT_EQ(announced(updates, ebgp_v4().codec), all);
  for (const auto& u : updates) {
    const Update d = wire(u, ebgp_v4().codec);
    EXPECT_EQ(d.attrs.origin, Origin::kIgp);
    EXPECT_EQ(d.attrs.as_path, (std::vector<uint32_t>{64512}));
    EXPECT_EQ(d.attrs.next_hop, ip("192.0.2.2"));
    EXPECT_EQ(d.attrs.communities, (std::vector<uint32_t>{0xfc000064}));
    EXPECT_FALSE(d.attrs.local_pref);
  }
  // The first one is full: another prefix would not have fitted.
  EXPECT_GT(encode_update(updates[0], ebgp_v4().codec).size(), kMaxMessageLen - 5);
  EXPECT_EQ(rib.advertised(), 1000u);
  EXPECT_TRUE(rib.sync().empty()) << "nothing changed, nothing to send";
}

TEST(BgpRibOut, ThousandIpv6HostRoutesPackIntoMpReach) {
  AdjRibOut rib(ebgp_v6());
  std::vector<Route> routes;
  std::set<Prefix> all;
  for (uint32_t i = 0; i < 1000; ++i) {
    routes.push_back(route(v6_host(i)));
    all.insert(v6_host(i));
  }
  rib.set_desired(routes);
  const auto updates = rib.sync();
  // 17 bytes a /128: about 237 per UPDATE.
  EXPECT_GE(updates.size(), 4u);
  EXPECT_LE(updates.size(), 5u);
  EXPECT_EQ(announced(updates, ebgp_v6().codec), all);
  for (const auto& u : updates) {
    const Update d = wire(u, ebgp_v6().codec);
    EXPECT_TRUE(d.nlri.empty());
    ASSERT_TRUE(d.mp_reach_af);
    EXPECT_EQ(d.mp_reach_af->afi, Afi::kIPv6);
    EXPECT_EQ(d.attrs.next_hop, ip("2001:db8::2"));
  }
  // Withdrawing them all batches the same way, in MP_UNREACH_NLRI.
  rib.set_desired({});
  const auto gone = rib.sync();
  EXPECT_LE(gone.size(), 5u);
  EXPECT_EQ(withdrawn(gone, ebgp_v6().codec), all);
  EXPECT_EQ(rib.advertised(), 0u);
}

TEST(BgpRibOut, GroupsByAttributes) {
  AdjRibOut rib(ebgp_v4());
  rib.set_desired({route(v4_host(1), {1}), route(v4_host(2), {2}), route(v4_host(3), {1}),
                   route(v4_host(4), {2, 1})});
  const auto updates = rib.sync();
  ASSERT_EQ(updates.size(), 3u);  // {1}, {2}, {1, 2}
  std::map<std::vector<uint32_t>, std::set<Prefix>> by_communities;
  for (const auto& u : updates) {
    const Update d = wire(u, ebgp_v4().codec);
    by_communities[d.attrs.communities].insert(d.nlri.begin(), d.nlri.end());
  }
  EXPECT_EQ(by_communities[(std::vector<uint32_t>{1})], (std::set<Prefix>{v4_host(1), v4_host(3)}));
  EXPECT_EQ(by_communities[(std::vector<uint32_t>{2})], (std::set<Prefix>{v4_host(2)}));
  EXPECT_EQ(by_communities[(std::vector<uint32_t>{1, 2})], (std::set<Prefix>{v4_host(4)}));
}

TEST(BgpRibOut, RemovalWithdrawsAndChangeReannounces) {
  AdjRibOut rib(ebgp_v4());
  rib.set_desired({route(v4_host(1)), route(v4_host(2)), route(v4_host(3))});
  rib.sync();
  // 2 goes, 3 gets a community, 4 is new, 1 is untouched.
  Route changed = route(v4_host(3), {0xffffff01});
  changed.large_communities = {LargeCommunity{64512, 1, 2}};
  rib.set_desired({route(v4_host(1)), changed, route(v4_host(4))});
  const auto updates = rib.sync();
  EXPECT_EQ(withdrawn(updates, ebgp_v4().codec), (std::set<Prefix>{v4_host(2)}));
  EXPECT_EQ(announced(updates, ebgp_v4().codec), (std::set<Prefix>{v4_host(3), v4_host(4)}));
  // Withdrawals first, in an UPDATE with no path attributes.
  const Update first = wire(updates.front(), ebgp_v4().codec);
  EXPECT_EQ(first.withdrawn, (std::vector<Prefix>{v4_host(2)}));
  EXPECT_TRUE(first.nlri.empty());
  EXPECT_TRUE(first.attrs.as_path.empty());
  EXPECT_FALSE(first.attrs.next_hop);
  for (const auto& u : updates) {
    const Update d = wire(u, ebgp_v4().codec);
    if (!d.nlri.empty() && d.nlri[0] == v4_host(3)) {
      EXPECT_EQ(d.attrs.communities, (std::vector<uint32_t>{0xffffff01}));
      EXPECT_EQ(d.attrs.large_communities, (std::vector<LargeCommunity>{{64512, 1, 2}}));
    }
  }
  EXPECT_EQ(rib.advertised(), 3u);
  // Many withdrawals batch into few UPDATEs.
  std::vector<Route> many;
  for (uint32_t i = 0; i < 1000; ++i) many.push_back(route(v4_host(i)));
  rib.set_desired(many);
  rib.sync();
  rib.set_desired({});
  const auto gone = rib.sync();
  EXPECT_EQ(gone.size(), 2u);
  EXPECT_EQ(withdrawn(gone, ebgp_v4().codec).size(), 1000u);
}

TEST(BgpRibOut, IbgpAndEbgpAttributes) {
  struct Case {
    bool ibgp;
    std::optional<uint32_t> route_pref;
    std::vector<uint32_t> path;
    std::optional<uint32_t> sent_pref;
  } cases[] = {
      {false, std::nullopt, {64512}, std::nullopt},
      {false, 200, {64512}, std::nullopt},  // LOCAL_PREF never leaves the AS
      {true, std::nullopt, {}, 100},        // iBGP: always sent, 100 by default
      {true, 200, {}, 200},
  };
  for (const auto& c : cases) {
    RibOutOptions o = ebgp_v4();
    o.ibgp = c.ibgp;
    AdjRibOut rib(o);
    rib.set_desired({route(v4_host(1), {}, c.route_pref)});
    const auto updates = rib.sync();
    ASSERT_EQ(updates.size(), 1u);
    const Update d = wire(updates[0], o.codec);
    EXPECT_EQ(d.attrs.as_path, c.path) << c.ibgp;
    EXPECT_EQ(d.attrs.local_pref, c.sent_pref) << c.ibgp;
    EXPECT_EQ(d.attrs.origin, Origin::kIgp);
  }
  // On eBGP a local-pref change alone changes nothing on the wire, so nothing is sent.
  AdjRibOut rib(ebgp_v4());
  rib.set_desired({route(v4_host(1), {}, 100)});
  rib.sync();
  rib.set_desired({route(v4_host(1), {}, 300)});
  EXPECT_TRUE(rib.sync().empty());
}

TEST(BgpRibOut, OnlyTheSessionFamily) {
  AdjRibOut v4(ebgp_v4());
  v4.set_desired({route(v4_host(1)), route(v6_host(1)), route(v4_host(2))});
  EXPECT_EQ(v4.ignored(), 1u);
  EXPECT_EQ(announced(v4.sync(), ebgp_v4().codec), (std::set<Prefix>{v4_host(1), v4_host(2)}));

  AdjRibOut v6(ebgp_v6());
  v6.set_desired({route(v4_host(1)), route(v6_host(1))});
  EXPECT_EQ(v6.ignored(), 1u);
  EXPECT_EQ(announced(v6.sync(), ebgp_v6().codec), (std::set<Prefix>{v6_host(1)}));

  // A duplicate prefix: the first route wins.
  AdjRibOut dup(ebgp_v4());
  dup.set_desired({route(v4_host(1), {1}), route(v4_host(1), {2})});
  EXPECT_EQ(dup.ignored(), 1u);
  const auto updates = dup.sync();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(wire(updates[0], ebgp_v4().codec).attrs.communities, (std::vector<uint32_t>{1}));
}

TEST(BgpRibOut, EndOfRibAfterInitialSyncAndRefresh) {
  AdjRibOut rib(ebgp_v4());
  rib.set_desired({route(v4_host(1)), route(v4_host(2))});
  auto initial = rib.initial_sync();
  ASSERT_EQ(initial.size(), 2u);
  EXPECT_FALSE(initial[0].is_end_of_rib());
  EXPECT_TRUE(initial[1].is_end_of_rib());
  EXPECT_TRUE(wire(initial[1], ebgp_v4().codec).is_end_of_rib());
  EXPECT_EQ(encode_end_of_rib(AfiSafi{Afi::kIPv4, kSafiUnicast}).size(), 23u);

  // ROUTE-REFRESH: the whole Adj-RIB-Out again, then End-of-RIB.
  auto again = rib.refresh(AfiSafi{Afi::kIPv4, kSafiUnicast});
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(announced({again[0]}, ebgp_v4().codec), (std::set<Prefix>{v4_host(1), v4_host(2)}));
  EXPECT_TRUE(again[1].is_end_of_rib());
  EXPECT_TRUE(rib.refresh(AfiSafi{Afi::kIPv6, kSafiUnicast}).empty());

  // An empty Adj-RIB-Out still ends its initial sync with End-of-RIB.
  AdjRibOut v6(ebgp_v6());
  auto eor = v6.initial_sync();
  ASSERT_EQ(eor.size(), 1u);
  ASSERT_TRUE(eor[0].is_end_of_rib());
  ASSERT_TRUE(eor[0].mp_unreach_af);
  EXPECT_EQ(eor[0].mp_unreach_af->afi, Afi::kIPv6);
  const Update d = wire(eor[0], ebgp_v6().codec);
  EXPECT_TRUE(d.is_end_of_rib());
}

TEST(BgpRibOut, WithdrawAll) {
  AdjRibOut rib(ebgp_v4());
  rib.set_desired({route(v4_host(1)), route(v4_host(2))});
  rib.sync();
  const auto gone = rib.withdraw_all();
  EXPECT_EQ(withdrawn(gone, ebgp_v4().codec), (std::set<Prefix>{v4_host(1), v4_host(2)}));
  EXPECT_EQ(rib.advertised(), 0u);
  EXPECT_TRUE(rib.withdraw_all().empty());
}

TEST(BgpRibOut, AttributesTooLargeForAnyUpdateAreNotSent) {
  AdjRibOut rib(ebgp_v4());
  std::vector<uint32_t> lots;
  for (uint32_t i = 0; i < 1100; ++i) lots.push_back(i);  // 4400 bytes of communities
  rib.set_desired({route(v4_host(1), lots), route(v4_host(2))});
  const auto updates = rib.sync();
  EXPECT_EQ(announced(updates, ebgp_v4().codec), (std::set<Prefix>{v4_host(2)}));
  EXPECT_EQ(rib.too_large(), 1u);
  EXPECT_EQ(rib.advertised(), 1u);
}

TEST(BgpRibOut, TwoOctetSessionWithFourOctetAs) {
  // A peer without capability 65: AS_TRANS in AS_PATH and the real path in AS4_PATH, which the
  // packing must count.
  RibOutOptions o{Afi::kIPv4, false, 4200000000u, ip("192.0.2.2"), CodecOptions{false}};
  AdjRibOut rib(o);
  std::vector<Route> routes;
  for (uint32_t i = 0; i < 1000; ++i) routes.push_back(route(v4_host(i)));
  rib.set_desired(routes);
  const auto updates = rib.sync();
  EXPECT_EQ(announced(updates, o.codec).size(), 1000u);
  const Update d = wire(updates[0], o.codec);
  EXPECT_EQ(d.attrs.as_path, (std::vector<uint32_t>{4200000000u}));  // merged from AS4_PATH
}

}  // namespace
}  // namespace bgp
