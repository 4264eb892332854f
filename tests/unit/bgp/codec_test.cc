// Unit tests of the BGP codec (control/bgp/codec.h).
//
// The byte vectors are written by hand from the RFC layouts (RFC 4271 4.1-4.5, RFC 5492,
// RFC 4760, RFC 6793, RFC 1997, RFC 8092, RFC 4724, RFC 2918), as the capabilities and
// attributes FRR, BIRD and GoBGP put on the wire, never produced by the encoder under test.
// Then: round trips, a table of malformed messages with the NOTIFICATION or the RFC 7606
// outcome each must give, and truncation of every valid vector at every byte.
#include "control/bgp/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bgp {
namespace {

using Bytes = std::vector<uint8_t>;

// "ff 00 1a" -> bytes; spaces and '|' are separators for readability.
Bytes hex(const std::string& text) {
  Bytes out;
  int nibble = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else continue;
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  EXPECT_LT(nibble, 0) << "odd number of hex digits in test vector";
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A whole message: marker, length, type, body.
Bytes message(uint8_t type, const Bytes& body) {
  Bytes out(16, 0xff);
  const size_t len = 19 + body.size();
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(type);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// UPDATE body from its three fields.
Bytes update(const Bytes& withdrawn, const Bytes& attrs, const Bytes& nlri) {
  Bytes body;
  body.push_back(static_cast<uint8_t>(withdrawn.size() >> 8));
  body.push_back(static_cast<uint8_t>(withdrawn.size()));
  body.insert(body.end(), withdrawn.begin(), withdrawn.end());
  body.push_back(static_cast<uint8_t>(attrs.size() >> 8));
  body.push_back(static_cast<uint8_t>(attrs.size()));
  body.insert(body.end(), attrs.begin(), attrs.end());
  body.insert(body.end(), nlri.begin(), nlri.end());
  return message(2, body);
}

// One path attribute (1-byte length).
Bytes attr(uint8_t flags, uint8_t type, const Bytes& value) {
  Bytes out{flags, type, static_cast<uint8_t>(value.size())};
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

config::IpAddress ip(const std::string& s) {
  auto a = config::IpAddress::parse(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(config::IpAddress{});
}

Prefix pfx(const std::string& addr, uint8_t len) { return Prefix{ip(addr), len}; }

template <typename T>
T decode_as(const Bytes& b, CodecOptions opts = {}) {
  auto r = decode(b, opts);
  if (auto* e = std::get_if<Error>(&r)) {
    ADD_FAILURE() << "decode failed: " << notification_name(e->code, e->subcode) << ": "
                  << e->message;
    return T{};
  }
  auto& m = std::get<Message>(r);
  if (!std::holds_alternative<T>(m)) {
    ADD_FAILURE() << "decoded another message type (index " << m.index() << ")";
    return T{};
  }
  return std::get<T>(m);
}

Error decode_error(const Bytes& b, CodecOptions opts = {}) {
  auto r = decode(b, opts);
  if (auto* e = std::get_if<Error>(&r)) return *e;
  ADD_FAILURE() << "decode succeeded where an error was expected";
  return Error{};
}

// Common attributes, as FRR writes them on an eBGP session with 4-octet ASNs.
const Bytes kOrigin = attr(0x40, 1, {0x00});                                     // IGP
const Bytes kAsPath64512 = attr(0x40, 2, hex("02 01 0000fc00"));               // [64512]
const Bytes kNextHop = attr(0x40, 3, hex("c0000201"));                          // 192.0.2.1
const Bytes kCommunities = attr(0xc0, 8, hex("fc000064 ffffff01"));             // 64512:100, NO_EXPORT
const Bytes kLarge = attr(0xc0, 32, hex("0000fc00 00000001 00000002"));         // 64512:1:2
const Bytes kNlri203 = hex("20 cb00710a");                                      // 203.0.113.10/32
const Bytes kV6Host = hex("20010db8 01000000 00000000 00000010");               // 2001:db8:100::10
const Bytes kV6Nh = hex("20010db8 00000000 00000000 00000001");                 // 2001:db8::1

const Bytes kIPv4Update =
    update({}, cat({kOrigin, kAsPath64512, kNextHop, kCommunities, kLarge}), kNlri203);
// MP_REACH_NLRI first, as RFC 7606 5.1 asks of senders (FRR does so).
const Bytes kIPv6Update = update(
    {}, cat({attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00 80"), kV6Host})), kOrigin,
             kAsPath64512}),
    {});

// FRR / GoBGP style: one capability per optional parameter.
const Bytes kOpenFrr = message(1, cat({hex("04 fc00 005a c633640a"), hex("1c"),
                                       hex("02 06 01 04 0001 00 01"),     // MP IPv4 unicast
                                       hex("02 06 01 04 0002 00 01"),     // MP IPv6 unicast
                                       hex("02 02 02 00"),                // route refresh
                                       hex("02 06 41 04 0000fc00")}));    // 4-octet AS 64512

// BIRD style: every capability in one parameter, with the pre-standard route refresh and
// graceful restart (R bit, 120 s, IPv4 unicast with F bit), AS 4200000001 behind AS_TRANS,
// and an unknown capability (70, enhanced route refresh).
const Bytes kOpenBird = message(
    1, cat({hex("04 5ba0 00f0 c0000202"), hex("1c 02 1a"), hex("01 04 0001 00 01"),
            hex("02 00"), hex("80 00"), hex("46 00"), hex("40 06 8078 0001 01 80"),
            hex("41 04 fa56ea01")}));

TEST(Keepalive, DecodesAndEncodesTheNineteenBytes) {
  const Bytes ka = hex("ffffffff ffffffff ffffffff ffffffff 0013 04");
  EXPECT_EQ(encode_keepalive(), ka);
  auto f = frame_length(ka);
  ASSERT_TRUE(std::holds_alternative<size_t>(f));
  EXPECT_EQ(std::get<size_t>(f), 19u);
  decode_as<Keepalive>(ka);
}

TEST(Header, FrameLengthChecksTheHeader) {
  Bytes ka = encode_keepalive();
  EXPECT_EQ(std::get<size_t>(frame_length(std::span(ka).first(18))), 0u);  // not all there yet
  Bytes stream = cat({kIPv4Update, ka});
  EXPECT_EQ(std::get<size_t>(frame_length(stream)), kIPv4Update.size());

  Bytes bad_marker = ka;
  bad_marker[3] = 0xfe;
  auto e = std::get<Error>(frame_length(bad_marker));
  EXPECT_EQ(e.code, err::kHeader);
  EXPECT_EQ(e.subcode, err::kHeaderNotSynchronized);

  Bytes long_ka = message(4, {0});
  e = std::get<Error>(frame_length(long_ka));
  EXPECT_EQ(e.subcode, err::kHeaderBadLength);
  EXPECT_EQ(e.data, hex("0014"));

  Bytes bad_type = message(9, {});
  e = std::get<Error>(frame_length(bad_type));
  EXPECT_EQ(e.subcode, err::kHeaderBadType);
  EXPECT_EQ(e.data, hex("09"));
  // decode() repeats the checks for callers that skip frame_length().
  EXPECT_EQ(decode_error(bad_type).subcode, err::kHeaderBadType);
}

TEST(Open, DecodesOneCapabilityPerParameter) {
  Open o = decode_as<Open>(kOpenFrr);
  EXPECT_EQ(o.version, 4);
  EXPECT_EQ(o.my_as, 64512);
  EXPECT_EQ(o.hold_time_s, 90);
  EXPECT_EQ(o.bgp_id, 0xc633640au);  // 198.51.100.10
  EXPECT_EQ(o.caps.multiprotocol,
            (std::vector<AfiSafi>{{Afi::kIPv4, kSafiUnicast}, {Afi::kIPv6, kSafiUnicast}}));
  EXPECT_TRUE(o.caps.route_refresh);
  EXPECT_EQ(o.caps.four_octet_as, 64512u);
  EXPECT_FALSE(o.caps.graceful_restart.has_value());
  EXPECT_TRUE(o.caps.unknown_codes.empty());
}

TEST(Open, DecodesCapabilitiesSharingOneParameter) {
  Open o = decode_as<Open>(kOpenBird);
  EXPECT_EQ(o.my_as, kAsTrans);
  EXPECT_EQ(o.caps.four_octet_as, 4200000001u);
  EXPECT_EQ(o.hold_time_s, 240);
  EXPECT_TRUE(o.caps.route_refresh);
  ASSERT_TRUE(o.caps.graceful_restart.has_value());
  EXPECT_TRUE(o.caps.graceful_restart->restart_state);
  EXPECT_EQ(o.caps.graceful_restart->restart_time_s, 120);
  ASSERT_EQ(o.caps.graceful_restart->families.size(), 1u);
  EXPECT_EQ(o.caps.graceful_restart->families[0].af, (AfiSafi{Afi::kIPv4, kSafiUnicast}));
  EXPECT_TRUE(o.caps.graceful_restart->families[0].forwarding_preserved);
  EXPECT_EQ(o.caps.unknown_codes, (std::vector<uint8_t>{70}));
}

TEST(Open, EncodesCapabilitiesInOneParameterInAStableOrder) {
  Open o;
  o.my_as = 64512;
  o.hold_time_s = 90;
  o.bgp_id = 0xc633640a;
  o.caps.multiprotocol = {{Afi::kIPv4, kSafiUnicast}, {Afi::kIPv6, kSafiUnicast}};
  o.caps.route_refresh = true;
  o.caps.four_octet_as = 64512;
  EXPECT_EQ(encode_open(o),
            message(1, hex("04 fc00 005a c633640a 16 02 14 010400010001 010400020001 0200 "
                           "41040000fc00")));
  // With graceful restart, last: flags and time, then each family with its F bit.
  o.caps.graceful_restart = GracefulRestart{false, 120, {{{Afi::kIPv6, kSafiUnicast}, false}}};
  EXPECT_EQ(encode_open(o),
            message(1, hex("04 fc00 005a c633640a 1e 02 1c 010400010001 010400020001 0200 "
                           "41040000fc00 4006 0078 0002 01 00")));
}

TEST(Open, RoundTrips) {
  for (const Bytes& wire : {kOpenFrr, kOpenBird}) {
    Open a = decode_as<Open>(wire);
    Open b = decode_as<Open>(encode_open(a));
    EXPECT_EQ(a.my_as, b.my_as);
    EXPECT_EQ(a.hold_time_s, b.hold_time_s);
    EXPECT_EQ(a.bgp_id, b.bgp_id);
    EXPECT_EQ(a.caps.multiprotocol, b.caps.multiprotocol);
    EXPECT_EQ(a.caps.route_refresh, b.caps.route_refresh);
    EXPECT_EQ(a.caps.four_octet_as, b.caps.four_octet_as);
    ASSERT_EQ(a.caps.graceful_restart.has_value(), b.caps.graceful_restart.has_value());
    if (a.caps.graceful_restart) {
      EXPECT_EQ(a.caps.graceful_restart->restart_time_s, b.caps.graceful_restart->restart_time_s);
      EXPECT_EQ(a.caps.graceful_restart->restart_state, b.caps.graceful_restart->restart_state);
      EXPECT_EQ(a.caps.graceful_restart->families.size(), b.caps.graceful_restart->families.size());
    }
  }
}

TEST(Open, ManyFamiliesTakeTheExtendedParametersLength) {
  // 60 multiprotocol capabilities (360 bytes) do not fit a 1-byte parameters length: RFC 9072.
  Open o;
  o.my_as = 64512;
  o.hold_time_s = 90;
  o.bgp_id = 1;
  for (uint16_t i = 0; i < 60; ++i) o.caps.multiprotocol.push_back({static_cast<Afi>(i + 1), 1});
  Bytes wire = encode_open(o);
  EXPECT_EQ(wire[28], 255);
  EXPECT_EQ(wire[29], 255);
  Open back = decode_as<Open>(wire);
  EXPECT_EQ(back.caps.multiprotocol, o.caps.multiprotocol);
}

TEST(Update, DecodesIPv4WithCommunities) {
  Update u = decode_as<Update>(kIPv4Update);
  EXPECT_EQ(u.nlri, (std::vector<Prefix>{pfx("203.0.113.10", 32)}));
  EXPECT_EQ(u.nlri[0].str(), "203.0.113.10/32");
  EXPECT_TRUE(u.withdrawn.empty());
  EXPECT_EQ(u.attrs.origin, Origin::kIgp);
  EXPECT_EQ(u.attrs.as_path, (std::vector<uint32_t>{64512}));
  EXPECT_EQ(u.attrs.next_hop, ip("192.0.2.1"));
  EXPECT_EQ(u.attrs.communities, (std::vector<uint32_t>{(64512u << 16) | 100, 0xffffff01u}));
  EXPECT_EQ(u.attrs.large_communities, (std::vector<LargeCommunity>{{64512, 1, 2}}));
  EXPECT_FALSE(u.treat_as_withdraw);
  EXPECT_TRUE(u.discarded_attributes.empty());
  EXPECT_FALSE(u.is_end_of_rib());
}

TEST(Update, EncodesIPv4ByteForByte) {
  Update u;
  u.nlri = {pfx("203.0.113.10", 32)};
  u.attrs.as_path = {64512};
  u.attrs.next_hop = ip("192.0.2.1");
  u.attrs.communities = {(64512u << 16) | 100, 0xffffff01u};
  u.attrs.large_communities = {{64512, 1, 2}};
  EXPECT_EQ(encode_update(u, {}), kIPv4Update);
  EXPECT_EQ(encoded_update_size(u, {}), kIPv4Update.size());
}

TEST(Update, DecodesAndEncodesIPv6MpReach) {
  Update u = decode_as<Update>(kIPv6Update);
  ASSERT_TRUE(u.mp_reach_af.has_value());
  EXPECT_EQ(*u.mp_reach_af, (AfiSafi{Afi::kIPv6, kSafiUnicast}));
  EXPECT_EQ(u.mp_reach, (std::vector<Prefix>{pfx("2001:db8:100::10", 128)}));
  EXPECT_EQ(u.attrs.next_hop, ip("2001:db8::1"));
  EXPECT_TRUE(u.nlri.empty());

  Update out;
  out.mp_reach = {pfx("2001:db8:100::10", 128)};
  out.attrs.as_path = {64512};
  out.attrs.next_hop = ip("2001:db8::1");
  EXPECT_EQ(encode_update(out, {}), kIPv6Update);
  EXPECT_EQ(encoded_update_size(out, {}), kIPv6Update.size());
}

TEST(Update, KeepsTheGlobalOfAGlobalPlusLinkLocalNextHop) {
  const Bytes wire = update(
      {}, cat({kOrigin, kAsPath64512,
               attr(0x80, 14, cat({hex("0002 01 20"), kV6Nh,
                                   hex("fe800000 00000000 00000000 00000001 00 40 20010db8 00000001")}))}),
      {});
  Update u = decode_as<Update>(wire);
  EXPECT_EQ(u.attrs.next_hop, ip("2001:db8::1"));
  EXPECT_EQ(u.mp_reach, (std::vector<Prefix>{pfx("2001:db8:0:1::", 64)}));
}

TEST(Update, WithdrawsBothFamilies) {
  const Bytes v4 = update(kNlri203, {}, {});
  Update a = decode_as<Update>(v4);
  EXPECT_EQ(a.withdrawn, (std::vector<Prefix>{pfx("203.0.113.10", 32)}));
  EXPECT_FALSE(a.is_end_of_rib());
  Update w4;
  w4.withdrawn = {pfx("203.0.113.10", 32)};
  w4.attrs.as_path = {64512};  // ignored: a pure withdraw carries no path attributes
  EXPECT_EQ(encode_update(w4, {}), v4);

  const Bytes v6 = update({}, attr(0x80, 15, cat({hex("0002 01 80"), kV6Host})), {});
  Update b = decode_as<Update>(v6);
  EXPECT_EQ(b.mp_unreach_af, (AfiSafi{Afi::kIPv6, kSafiUnicast}));
  EXPECT_EQ(b.mp_unreach, (std::vector<Prefix>{pfx("2001:db8:100::10", 128)}));
  EXPECT_FALSE(b.is_end_of_rib());
  Update w6;
  w6.mp_unreach = {pfx("2001:db8:100::10", 128)};
  w6.attrs.origin = Origin::kIncomplete;
  EXPECT_EQ(encode_update(w6, {}), v6);
  EXPECT_EQ(encoded_update_size(w6, {}), v6.size());
}

TEST(Update, EndOfRibForBothFamilies) {
  const Bytes v4 = hex("ffffffff ffffffff ffffffff ffffffff 0017 02 0000 0000");
  const Bytes v6 = update({}, hex("800f03 0002 01"), {});
  EXPECT_EQ(encode_end_of_rib({Afi::kIPv4, kSafiUnicast}), v4);
  EXPECT_EQ(encode_end_of_rib({Afi::kIPv6, kSafiUnicast}), v6);
  EXPECT_TRUE(decode_as<Update>(v4).is_end_of_rib());
  Update u6 = decode_as<Update>(v6);
  EXPECT_TRUE(u6.is_end_of_rib());
  EXPECT_EQ(u6.mp_unreach_af, (AfiSafi{Afi::kIPv6, kSafiUnicast}));
  // An attribute dropped by RFC 7606 leaves the marker a marker.
  Update discarded = decode_as<Update>(update({}, cat({hex("800f03 0002 01"), attr(0x40, 6, {1})}), {}));
  EXPECT_EQ(discarded.discarded_attributes, (std::vector<uint8_t>{6}));
  EXPECT_TRUE(discarded.is_end_of_rib());
  // Not End-of-RIB: attributes without NLRI.
  EXPECT_FALSE(decode_as<Update>(update({}, cat({kOrigin, kAsPath64512}), {})).is_end_of_rib());
}

TEST(Update, MasksHostBitsOfPrefixes) {
  Update u = decode_as<Update>(
      update(hex("17 c63365"), cat({kOrigin, kAsPath64512, kNextHop}), hex("19 cb0071ff")));
  EXPECT_EQ(u.withdrawn, (std::vector<Prefix>{pfx("198.51.100.0", 23)}));
  EXPECT_EQ(u.nlri, (std::vector<Prefix>{pfx("203.0.113.128", 25)}));
}

TEST(Update, TwoOctetSessionsUseAsTransAndAs4Path) {
  Update u;
  u.nlri = {pfx("203.0.113.0", 24)};
  u.attrs.as_path = {4200000001u, 64512};
  u.attrs.next_hop = ip("192.0.2.1");
  CodecOptions two{.four_octet_as = false};
  Bytes wire = encode_update(u, two);
  EXPECT_EQ(wire, update({}, cat({kOrigin, attr(0x40, 2, hex("02 02 5ba0 fc00")), kNextHop,
                                  attr(0xc0, 17, hex("02 02 fa56ea01 0000fc00"))}),
                         hex("18 cb0071")));
  EXPECT_EQ(encoded_update_size(u, two), wire.size());
  EXPECT_EQ(decode_as<Update>(wire, two).attrs.as_path, u.attrs.as_path);
  // AS_PATH with a set and a prefix AS4_PATH does not cover: [1 2 {3 4} T] + AS4 [{3 4} X].
  Bytes merged =
      update({}, cat({kOrigin, attr(0x40, 2, hex("02 02 0001 0002 01 02 0003 0004 02 01 5ba0")),
                      kNextHop, attr(0xc0, 17, hex("01 02 00000003 00000004 02 01 fa56ea01"))}),
             hex("18 cb0071"));
  EXPECT_EQ(decode_as<Update>(merged, two).attrs.as_path,
            (std::vector<uint32_t>{1, 2, 3, 4, 4200000001u}));
  // A 4-octet session ignores AS4_PATH (RFC 6793 4.1).
  EXPECT_EQ(decode_as<Update>(update({}, cat({kOrigin, kAsPath64512, kNextHop,
                                              attr(0xc0, 17, hex("02 01 fa56ea01"))}),
                                     hex("18 cb0071")))
                .attrs.as_path,
            (std::vector<uint32_t>{64512}));
}

TEST(Update, LongAttributesUseExtendedLength) {
  Update u;
  u.nlri = {pfx("203.0.113.10", 32)};
  u.attrs.next_hop = ip("192.0.2.1");
  u.attrs.med = 7;
  u.attrs.local_pref = 200;
  for (uint32_t i = 0; i < 100; ++i) u.attrs.communities.push_back(0xfc000000u + i);
  u.attrs.as_path.assign(300, 64512);  // two AS_SEQUENCE segments, 1204 bytes
  Bytes wire = encode_update(u, {});
  EXPECT_EQ(encoded_update_size(u, {}), wire.size());
  Update back = decode_as<Update>(wire);
  EXPECT_EQ(back.attrs, u.attrs);
  EXPECT_EQ(back.nlri, u.nlri);
  // The AS_PATH and COMMUNITIES headers carry the extended-length flag.
  const Bytes as_path_hdr = hex("50 02 04b4");
  const Bytes comm_hdr = hex("d0 08 0190");
  EXPECT_NE(std::search(wire.begin(), wire.end(), as_path_hdr.begin(), as_path_hdr.end()),
            wire.end());
  EXPECT_NE(std::search(wire.begin(), wire.end(), comm_hdr.begin(), comm_hdr.end()), wire.end());
}

TEST(Update, RoundTripsEveryField) {
  Update u;
  u.withdrawn = {pfx("198.51.100.0", 24), pfx("0.0.0.0", 0)};
  u.nlri = {pfx("203.0.113.10", 32), pfx("10.0.0.0", 8)};
  u.attrs.origin = Origin::kEgp;
  u.attrs.as_path = {65001, 4200000001u, 64512};
  u.attrs.next_hop = ip("192.0.2.1");
  u.attrs.med = 0;
  u.attrs.local_pref = 100;
  u.attrs.communities = {0xffffff02u};
  u.attrs.large_communities = {{4200000001u, 7, 9}, {1, 2, 3}};
  for (bool four : {true, false}) {
    CodecOptions opts{.four_octet_as = four};
    Bytes wire = encode_update(u, opts);
    EXPECT_EQ(encoded_update_size(u, opts), wire.size());
    Update back = decode_as<Update>(wire, opts);
    EXPECT_EQ(back.withdrawn, u.withdrawn);
    EXPECT_EQ(back.nlri, u.nlri);
    EXPECT_EQ(back.attrs, u.attrs);
    EXPECT_FALSE(back.treat_as_withdraw);
  }
}

TEST(Notification, DecodesAndEncodes) {
  const Bytes wire = message(3, hex("06 02 04 62796521"));  // Cease/Admin Shutdown, "bye!"
  Notification n = decode_as<Notification>(wire);
  EXPECT_EQ(n.code, 6);
  EXPECT_EQ(n.subcode, 2);
  EXPECT_EQ(n.data, hex("04 62796521"));
  EXPECT_EQ(encode_notification(n), wire);
  EXPECT_EQ(encode_notification({4, 0, {}}), message(3, hex("04 00")));
}

TEST(RouteRefresh, DecodesAndEncodes) {
  const Bytes wire = message(5, hex("0002 00 01"));
  RouteRefresh r = decode_as<RouteRefresh>(wire);
  EXPECT_EQ(r.af, (AfiSafi{Afi::kIPv6, kSafiUnicast}));
  EXPECT_EQ(r.subtype, 0);
  EXPECT_EQ(encode_route_refresh(r), wire);
}

TEST(Names, NotificationNames) {
  EXPECT_EQ(notification_name(6, 2), "Cease/Administrative Shutdown");
  EXPECT_EQ(notification_name(4, 0), "Hold Timer Expired");
  EXPECT_EQ(notification_name(1, 2), "Message Header Error/Bad Message Length");
  EXPECT_EQ(notification_name(3, 11), "UPDATE Message Error/Malformed AS_PATH");
  EXPECT_EQ(notification_name(2, 0), "OPEN Message Error");
  EXPECT_EQ(notification_name(5, 3), "Finite State Machine Error/Receive Unexpected Message in "
                                     "Established State");
  EXPECT_EQ(notification_name(6, 42), "Cease/subcode 42");
  EXPECT_EQ(notification_name(99, 1), "error code 99/subcode 1");
  EXPECT_EQ(pfx("2001:db8::", 32).str(), "2001:db8::/32");
}


// ---------------------------------------------------------------------------------------------
// Malformed messages: each row names the NOTIFICATION (session reset) or the RFC 7606 outcome.

enum class Expect { kAccept, kTreatAsWithdraw, kAttributeDiscard, kError };

struct MalformedCase {
  const char* name;
  Bytes wire;
  Expect expect;
  uint8_t code = 0, subcode = 0;      // kError
  std::vector<uint8_t> discarded{};   // kAttributeDiscard (and duplicates)
  CodecOptions opts{};
};

// An OPEN body with the given fixed fields and optional parameters.
Bytes open_msg(const std::string& fixed, const Bytes& params) {
  Bytes body = hex(fixed);
  body.push_back(static_cast<uint8_t>(params.size()));
  body.insert(body.end(), params.begin(), params.end());
  return message(1, body);
}

// A valid IPv4 UPDATE with `extra` path attributes after the usual three, or in their place.
Bytes v4_update_with(const Bytes& attrs) { return update({}, attrs, kNlri203); }
Bytes v4_plus(const Bytes& extra) {
  return v4_update_with(cat({kOrigin, kAsPath64512, kNextHop, extra}));
}

std::vector<MalformedCase> malformed_cases() {
  const Bytes caps = hex("02 06 01 04 0001 00 01");
  return {
      // RFC 4271 6.1: the header.
      {"marker not all ones", cat({hex("ffffffff ffffffff ffffffff fffffffe 0013 04")}),
       Expect::kError, err::kHeader, err::kHeaderNotSynchronized},
      {"length 18", hex("ffffffff ffffffff ffffffff ffffffff 0012 04 00"), Expect::kError,
       err::kHeader, err::kHeaderBadLength},
      {"length 4097", cat({hex("ffffffff ffffffff ffffffff ffffffff 1001 02"), Bytes(4078)}),
       Expect::kError, err::kHeader, err::kHeaderBadLength},
      {"type 0", message(0, {}), Expect::kError, err::kHeader, err::kHeaderBadType},
      {"type 6", message(6, {}), Expect::kError, err::kHeader, err::kHeaderBadType},
      {"KEEPALIVE of 20 bytes", message(4, {0}), Expect::kError, err::kHeader,
       err::kHeaderBadLength},
      {"OPEN of 28 bytes", message(1, hex("04 fc00 005a c633640a")), Expect::kError,
       err::kHeader, err::kHeaderBadLength},
      {"UPDATE of 22 bytes", message(2, hex("0000 00")), Expect::kError, err::kHeader,
       err::kHeaderBadLength},
      {"NOTIFICATION of 20 bytes", message(3, hex("06")), Expect::kError, err::kHeader,
       err::kHeaderBadLength},
      {"ROUTE-REFRESH of 22 bytes", message(5, hex("0001 00")), Expect::kError,
       err::kRouteRefresh, err::kRouteRefreshBadLength},
      {"ROUTE-REFRESH of 24 bytes", message(5, hex("0001 00 01 00")), Expect::kError,
       err::kRouteRefresh, err::kRouteRefreshBadLength},
      // RFC 4271 6.2: OPEN.
      {"OPEN version 3", open_msg("03 fc00 005a c633640a", caps), Expect::kError, err::kOpen,
       err::kOpenUnsupportedVersion},
      {"OPEN hold time 1", open_msg("04 fc00 0001 c633640a", caps), Expect::kError, err::kOpen,
       err::kOpenUnacceptableHoldTime},
      {"OPEN hold time 2", open_msg("04 fc00 0002 c633640a", caps), Expect::kError, err::kOpen,
       err::kOpenUnacceptableHoldTime},
      {"OPEN hold time 0 is fine", open_msg("04 fc00 0000 c633640a", caps), Expect::kAccept},
      {"OPEN hold time 3 is fine", open_msg("04 fc00 0003 c633640a", caps), Expect::kAccept},
      {"OPEN BGP Identifier 0", open_msg("04 fc00 005a 00000000", caps), Expect::kError,
       err::kOpen, err::kOpenBadBgpId},
      {"OPEN AS 0 (RFC 7607)", open_msg("04 0000 005a c633640a", caps), Expect::kError,
       err::kOpen, err::kOpenBadPeerAs},
      {"OPEN 4-octet AS capability 0", open_msg("04 5ba0 005a c633640a", hex("02 06 41 04 00000000")),
       Expect::kError, err::kOpen, err::kOpenBadPeerAs},
      {"OPEN parameter type 1 (authentication)", open_msg("04 fc00 005a c633640a", hex("01 02 0000")),
       Expect::kError, err::kOpen, err::kOpenUnsupportedOptionalParameter},
      {"OPEN parameters length longer than the message",
       message(1, hex("04 fc00 005a c633640a 09 02 06 01 04 0001 00 01")), Expect::kError,
       err::kOpen, 0},
      {"OPEN parameter overruns", open_msg("04 fc00 005a c633640a", hex("02 07 01 04 0001 00 01")),
       Expect::kError, err::kOpen, 0},
      {"OPEN capability overruns its parameter",
       open_msg("04 fc00 005a c633640a", hex("02 04 01 04 0001")), Expect::kError, err::kOpen, 0},
      {"OPEN multiprotocol capability of length 3",
       open_msg("04 fc00 005a c633640a", hex("02 05 01 03 0001 00")), Expect::kError, err::kOpen,
       0},
      {"OPEN 4-octet AS capability of length 2",
       open_msg("04 fc00 005a c633640a", hex("02 04 41 02 fc00")), Expect::kError, err::kOpen, 0},
      {"OPEN with no parameters", open_msg("04 fc00 005a c633640a", {}), Expect::kAccept},
      // RFC 4271 6.3 / RFC 7606: UPDATE fields that cannot be located: session reset.
      {"withdrawn length overruns", message(2, hex("0010 0000")), Expect::kError, err::kUpdate,
       err::kUpdateMalformedAttributeList},
      {"attribute length overruns the message", message(2, hex("0000 0010 40010100")),
       Expect::kError, err::kUpdate, err::kUpdateMalformedAttributeList},
      {"NLRI prefix length 33", update({}, cat({kOrigin, kAsPath64512, kNextHop}), hex("21 cb00710a00")),
       Expect::kError, err::kUpdate, err::kUpdateInvalidNetworkField},
      {"withdrawn prefix length 33", update(hex("21 cb00710a00"), {}, {}), Expect::kError,
       err::kUpdate, err::kUpdateInvalidNetworkField},
      {"NLRI prefix truncated", update({}, cat({kOrigin, kAsPath64512, kNextHop}), hex("18 cb00")),
       Expect::kError, err::kUpdate, err::kUpdateInvalidNetworkField},
      {"MP_REACH next hop length 5",
       update({}, cat({kOrigin, kAsPath64512, attr(0x80, 14, hex("0002 01 05 0102030405 00"))}), {}),
       Expect::kError, err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_REACH next hop overruns", update({}, attr(0x80, 14, hex("0002 01 10 0102 00")), {}),
       Expect::kError, err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_REACH prefix length 129",
       update({}, cat({kOrigin, kAsPath64512,
                       attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00 81"), kV6Host, hex("00")}))}),
              {}),
       Expect::kError, err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_REACH of 4 bytes", update({}, attr(0x80, 14, hex("0002 01 00")), {}), Expect::kError,
       err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_UNREACH of 2 bytes", update({}, attr(0x80, 15, hex("0002")), {}), Expect::kError,
       err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_UNREACH prefix overruns", update({}, attr(0x80, 15, hex("0002 01 40 20010db8")), {}),
       Expect::kError, err::kUpdate, err::kUpdateOptionalAttribute},
      {"MP_UNREACH twice",
       update({}, cat({attr(0x80, 15, hex("0002 01")), attr(0x80, 15, hex("0002 01"))}), {}),
       Expect::kError, err::kUpdate, err::kUpdateMalformedAttributeList},
      {"MP_REACH twice",
       update({}, cat({kOrigin, kAsPath64512,
                       attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00")})),
                       attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00")}))}),
              {}),
       Expect::kError, err::kUpdate, err::kUpdateMalformedAttributeList},
      {"unrecognized well-known attribute", v4_plus(attr(0x40, 99, hex("01"))), Expect::kError,
       err::kUpdate, err::kUpdateUnrecognizedWellKnown},
      // RFC 7606 7.x: treat-as-withdraw.
      {"ORIGIN value 3", v4_update_with(cat({attr(0x40, 1, {3}), kAsPath64512, kNextHop})),
       Expect::kTreatAsWithdraw},
      {"ORIGIN of length 2", v4_update_with(cat({attr(0x40, 1, {0, 0}), kAsPath64512, kNextHop})),
       Expect::kTreatAsWithdraw},
      {"ORIGIN flagged optional", v4_update_with(cat({attr(0xc0, 1, {0}), kAsPath64512, kNextHop})),
       Expect::kTreatAsWithdraw},
      {"AS_PATH segment type 5",
       v4_update_with(cat({kOrigin, attr(0x40, 2, hex("05 01 0000fc00")), kNextHop})),
       Expect::kTreatAsWithdraw},
      {"AS_PATH empty segment", v4_update_with(cat({kOrigin, attr(0x40, 2, hex("02 00")), kNextHop})),
       Expect::kTreatAsWithdraw},
      {"AS_PATH segment overruns",
       v4_update_with(cat({kOrigin, attr(0x40, 2, hex("02 02 0000fc00")), kNextHop})),
       Expect::kTreatAsWithdraw},
      {"AS_PATH lone trailing byte",
       v4_update_with(cat({kOrigin, attr(0x40, 2, hex("02 01 0000fc00 02")), kNextHop})),
       Expect::kTreatAsWithdraw},
      {"AS_PATH 2-octet on a 4-octet session",
       v4_update_with(cat({kOrigin, attr(0x40, 2, hex("02 01 fc00")), kNextHop})),
       Expect::kTreatAsWithdraw},
      {"NEXT_HOP of length 5",
       v4_update_with(cat({kOrigin, kAsPath64512, attr(0x40, 3, hex("c000020100"))})),
       Expect::kTreatAsWithdraw},
      {"NEXT_HOP 0.0.0.0", v4_update_with(cat({kOrigin, kAsPath64512, attr(0x40, 3, hex("00000000"))})),
       Expect::kTreatAsWithdraw},
      {"NEXT_HOP multicast",
       v4_update_with(cat({kOrigin, kAsPath64512, attr(0x40, 3, hex("e0000001"))})),
       Expect::kTreatAsWithdraw},
      {"MED of length 3", v4_plus(attr(0x80, 4, hex("000001"))), Expect::kTreatAsWithdraw},
      {"MED flagged well-known", v4_plus(attr(0x40, 4, hex("00000001"))), Expect::kTreatAsWithdraw},
      {"LOCAL_PREF of length 2", v4_plus(attr(0x40, 5, hex("0064"))), Expect::kTreatAsWithdraw},
      {"COMMUNITIES of length 6", v4_plus(attr(0xc0, 8, hex("fc000064 ffff"))),
       Expect::kTreatAsWithdraw},
      {"COMMUNITIES of length 0", v4_plus(attr(0xc0, 8, {})), Expect::kTreatAsWithdraw},
      {"LARGE_COMMUNITY of length 8", v4_plus(attr(0xc0, 32, hex("0000fc00 00000001"))),
       Expect::kTreatAsWithdraw},
      {"LARGE_COMMUNITY of length 0", v4_plus(attr(0xc0, 32, {})), Expect::kTreatAsWithdraw},
      {"ORIGIN missing", v4_update_with(cat({kAsPath64512, kNextHop})), Expect::kTreatAsWithdraw},
      {"AS_PATH missing", v4_update_with(cat({kOrigin, kNextHop})), Expect::kTreatAsWithdraw},
      {"NEXT_HOP missing", v4_update_with(cat({kOrigin, kAsPath64512})), Expect::kTreatAsWithdraw},
      {"AS_PATH missing with MP_REACH",
       update({}, cat({kOrigin, attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00 80"), kV6Host}))}),
              {}),
       Expect::kTreatAsWithdraw},
      {"attribute overruns the path attributes",
       v4_update_with(cat({kOrigin, kAsPath64512, kNextHop, hex("c0 08 08 fc000064")})),
       Expect::kTreatAsWithdraw},
      {"two bytes left in the path attributes",
       v4_update_with(cat({kOrigin, kAsPath64512, kNextHop, hex("c0 08")})),
       Expect::kTreatAsWithdraw},
      // RFC 7606 7.6, 7.7, 3: attribute discard.
      {"ATOMIC_AGGREGATE of length 1", v4_plus(attr(0x40, 6, hex("00"))),
       Expect::kAttributeDiscard, 0, 0, {6}},
      {"AGGREGATOR of length 7", v4_plus(attr(0xc0, 7, hex("0000fc00 c00002"))),
       Expect::kAttributeDiscard, 0, 0, {7}},
      {"AGGREGATOR of 4-octet length on a 2-octet session",
       update({}, cat({kOrigin, attr(0x40, 2, hex("02 01 fc00")), kNextHop,
                       attr(0xc0, 7, hex("0000fc00 c0000201"))}),
              kNlri203),
       Expect::kAttributeDiscard, 0, 0, {7}, CodecOptions{.four_octet_as = false}},
      {"AS4_PATH malformed on a 2-octet session",
       update({}, cat({kOrigin, attr(0x40, 2, hex("02 01 fc00")), kNextHop,
                       attr(0xc0, 17, hex("02 02 0000fc00"))}),
              kNlri203),
       Expect::kAttributeDiscard, 0, 0, {17}, CodecOptions{.four_octet_as = false}},
      {"ORIGIN twice: the first counts", v4_plus(attr(0x40, 1, {2})), Expect::kAttributeDiscard, 0,
       0, {1}},
      // Accepted as they are.
      {"ATOMIC_AGGREGATE and AGGREGATOR",
       v4_plus(cat({attr(0x40, 6, {}), attr(0xc0, 7, hex("0000fc00 c0000201"))})), Expect::kAccept},
      {"unknown optional transitive attribute", v4_plus(attr(0xe0, 99, hex("0102"))),
       Expect::kAccept},
      {"unknown optional non-transitive attribute", v4_plus(attr(0x80, 200, {})), Expect::kAccept},
      {"MP_REACH of another family", update({}, attr(0x80, 14, hex("0019 46 04 c0000201 00 ff")), {}),
       Expect::kAccept},
      {"NEXT_HOP malformed without classic NLRI",
       update({}, cat({kOrigin, kAsPath64512, attr(0x40, 3, hex("00")),
                       attr(0x80, 14, cat({hex("0002 01 10"), kV6Nh, hex("00 80"), kV6Host}))}),
              {}),
       Expect::kAccept},
  };
}

TEST(Malformed, EveryRowGivesItsOutcome) {
  for (const auto& row : malformed_cases()) {
    SCOPED_TRACE(row.name);
    // As a session would: frame first, then decode.
    auto framed = frame_length(row.wire);
    std::variant<Message, Error> r = Error{};
    if (auto* fe = std::get_if<Error>(&framed)) {
      r = *fe;
    } else {
      ASSERT_EQ(std::get<size_t>(framed), row.wire.size());
      r = decode(row.wire, row.opts);
    }
    const Error* e = std::get_if<Error>(&r);
    if (row.expect == Expect::kError) {
      ASSERT_NE(e, nullptr) << "decoded";
      EXPECT_EQ(e->code, row.code) << e->message;
      EXPECT_EQ(e->subcode, row.subcode) << e->message;
      EXPECT_FALSE(e->message.empty());
      continue;
    }
    ASSERT_EQ(e, nullptr) << notification_name(e->code, e->subcode) << ": " << e->message;
    const Message& m = std::get<Message>(r);
    const Update* u = std::get_if<Update>(&m);
    if (!u) {
      EXPECT_EQ(row.expect, Expect::kAccept);
      continue;
    }
    EXPECT_EQ(u->treat_as_withdraw, row.expect == Expect::kTreatAsWithdraw) << u->error_note;
    EXPECT_EQ(u->discarded_attributes, row.discarded) << u->error_note;
    EXPECT_EQ(u->error_note.empty(), row.expect == Expect::kAccept &&
                                         std::string(row.name).find("another family") ==
                                             std::string::npos)
        << u->error_note;
  }
}

TEST(Malformed, ErrorDataFollowsRfc4271) {
  // Unsupported version: the largest supported version, 2 bytes.
  EXPECT_EQ(decode_error(open_msg("03 fc00 005a c633640a", {})).data, hex("0004"));
  // Bad message length: the length field.
  EXPECT_EQ(std::get<Error>(frame_length(message(4, {0, 0}))).data, hex("0015"));
  // Unrecognized well-known attribute and optional attribute errors: the attribute.
  EXPECT_EQ(decode_error(v4_plus(attr(0x40, 99, hex("01")))).data, hex("40 63 01 01"));
  EXPECT_EQ(decode_error(update({}, attr(0x80, 15, hex("0002")), {})).data, hex("80 0f 02 0002"));
  // ROUTE-REFRESH length (RFC 7313 5): the whole message.
  Bytes rr = message(5, hex("0001 00 01 00"));
  EXPECT_EQ(decode_error(rr).data, rr);
}

TEST(Malformed, TreatAsWithdrawKeepsThePrefixesToWithdraw) {
  Update u = decode_as<Update>(v4_plus(attr(0xc0, 8, hex("fc000064 ffff"))));
  EXPECT_TRUE(u.treat_as_withdraw);
  EXPECT_EQ(u.nlri, (std::vector<Prefix>{pfx("203.0.113.10", 32)}));
  EXPECT_NE(u.error_note.find("COMMUNITIES"), std::string::npos);
  // The first of two ORIGINs counts.
  EXPECT_EQ(decode_as<Update>(v4_plus(attr(0x40, 1, {2}))).attrs.origin, Origin::kIgp);
  // The most severe outcome wins: a discard and a withdraw make a withdraw.
  Update both = decode_as<Update>(
      v4_plus(cat({attr(0x40, 6, hex("00")), attr(0x80, 4, hex("01"))})));
  EXPECT_TRUE(both.treat_as_withdraw);
  EXPECT_EQ(both.discarded_attributes, (std::vector<uint8_t>{6}));
}

// ---------------------------------------------------------------------------------------------
// Truncation: every valid vector cut at every byte.

std::vector<Bytes> valid_vectors() {
  return {encode_keepalive(),
          kOpenFrr,
          kOpenBird,
          kIPv4Update,
          kIPv6Update,
          update(kNlri203, {}, {}),
          update({}, attr(0x80, 15, cat({hex("0002 01 80"), kV6Host})), {}),
          encode_end_of_rib({Afi::kIPv4, kSafiUnicast}),
          encode_end_of_rib({Afi::kIPv6, kSafiUnicast}),
          message(3, hex("06 02 04 62796521")),
          message(5, hex("0002 00 01"))};
}

// Where a valid UPDATE's NLRI field starts: after the withdrawn routes and the attributes.
size_t update_nlri_offset(const Bytes& u) {
  const size_t withdrawn = size_t{u[19]} << 8 | u[20];
  return 23 + withdrawn + (size_t{u[21 + withdrawn]} << 8 | u[22 + withdrawn]);
}

TEST(Truncation, CutMessagesAreErrorsNeverCrashes) {
  for (const Bytes& full : valid_vectors()) {
    ASSERT_TRUE(std::holds_alternative<Message>(decode(full, {})));
    for (size_t k = 0; k < full.size(); ++k) {
      SCOPED_TRACE("message type " + std::to_string(full[18]) + " cut at " + std::to_string(k));
      // Exactly k bytes on the heap, so that the sanitizers catch a read past them.
      Bytes cut(full.begin(), full.begin() + k);
      auto framed = frame_length(cut);
      ASSERT_TRUE(std::holds_alternative<size_t>(framed));
      // Not all there yet: 0 under 19 bytes, else the whole length the session must wait for.
      EXPECT_EQ(std::get<size_t>(framed), k < kHeaderLen ? 0 : full.size());
      for (bool four : {true, false}) {
        auto r = decode(cut, {.four_octet_as = four});
        ASSERT_TRUE(std::holds_alternative<Error>(r));
      }
      // The same bytes with the length field saying k: the body parsers see the cut.
      if (k < kHeaderLen) continue;
      cut[16] = static_cast<uint8_t>(k >> 8);
      cut[17] = static_cast<uint8_t>(k);
      for (bool four : {true, false}) {
        auto r = decode(cut, {.four_octet_as = four});
        const uint8_t type = full[18];
        // OPEN, KEEPALIVE and ROUTE-REFRESH have no valid shorter form. An UPDATE cut before
        // its NLRI cannot locate its fields; a NOTIFICATION's data may be any length.
        if (type == 1 || type == 4 || type == 5 || (type == 2 && k < update_nlri_offset(full)) ||
            (type == 3 && k < 21)) {
          EXPECT_TRUE(std::holds_alternative<Error>(r));
        }
      }
    }
  }
}

}  // namespace
}  // namespace bgp
