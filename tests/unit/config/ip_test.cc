// config/ip.h: parsing, printing, ordering and arithmetic of addresses, prefixes and ranges.
#include "config/ip.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace config {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(IpAddress());
}

// ---- IpAddress ----

TEST(IpAddress, ParsesAndPrintsCanonicalForms) {
  struct Case {
    const char* text;
    IpFamily family;
    const char* canonical;
  };
  const std::vector<Case> cases = {
      {"198.51.100.10", IpFamily::kIPv4, "198.51.100.10"},
      {"0.0.0.0", IpFamily::kIPv4, "0.0.0.0"},
      {"255.255.255.255", IpFamily::kIPv4, "255.255.255.255"},
      {"2001:db8::1", IpFamily::kIPv6, "2001:db8::1"},
      {"2001:DB8:0:0:0:0:0:1", IpFamily::kIPv6, "2001:db8::1"},        // RFC 5952: lower, ::
      {"2001:db8:0:0:1:0:0:1", IpFamily::kIPv6, "2001:db8::1:0:0:1"},  // first longest run
      {"::", IpFamily::kIPv6, "::"},
      {"::ffff:198.51.100.1", IpFamily::kIPv6, "::ffff:198.51.100.1"},
  };
  for (const Case& c : cases) {
    auto a = IpAddress::parse(c.text);
    ASSERT_TRUE(a.has_value()) << c.text;
    EXPECT_EQ(a->family(), c.family) << c.text;
    EXPECT_EQ(a->str(), c.canonical) << c.text;
  }
}

TEST(IpAddress, RefusesPrefixesZonesSpacesAndJunk) {
  for (const char* text : {"", " ", "1.2.3", "1.2.3.4.5", "1.2.3.256", "01.2.3.4", " 1.2.3.4",
                           "1.2.3.4 ", "1.2.3.4/32", "2001:db8::/64", "fe80::1%eth0", "2001:db8::g",
                           "2001:db8:::1", "1:2:3:4:5:6:7:8:9", "localhost", "0x01020304",
                           "1.2.3.4\n", "2001:0db8:0000:0000:0000:0000:0000:0001:0000:0000"}) {
    EXPECT_FALSE(IpAddress::parse(text).has_value()) << '"' << text << '"';
  }
  EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0", 8)).has_value());
}

TEST(IpAddress, V4HostOrderRoundTrips) {
  const IpAddress a = IpAddress::v4(0xC6336410);
  EXPECT_EQ(a.str(), "198.51.100.16");
  EXPECT_EQ(a.v4_host_order(), 0xC6336410u);
  EXPECT_EQ(a.bytes()[0], 198);
  EXPECT_EQ(a.bytes()[4], 0);  // the rest stay zero
  EXPECT_EQ(a.bit_length(), 32);
  EXPECT_EQ(ip("2001:db8::1").bit_length(), 128);
}

TEST(IpAddress, OrdersByFamilyThenValue) {
  EXPECT_LT(ip("198.51.100.1"), ip("198.51.100.2"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_LT(ip("255.255.255.255"), ip("::"));  // every IPv4 before every IPv6
  EXPECT_LT(ip("2001:db8::1"), ip("2001:db8::1:0"));
  EXPECT_EQ(ip("2001:db8::1"), ip("2001:DB8::0001"));
}

TEST(IpAddress, NextCarriesAndReportsWraps) {
  bool wrapped = true;
  EXPECT_EQ(ip("198.51.100.255").next(&wrapped), ip("198.51.101.0"));
  EXPECT_FALSE(wrapped);
  EXPECT_EQ(ip("255.255.255.255").next(&wrapped), ip("0.0.0.0"));
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(ip("2001:db8::ffff").next(&wrapped), ip("2001:db8::1:0"));
  EXPECT_FALSE(wrapped);
  EXPECT_EQ(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").next(&wrapped), ip("::"));
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(ip("1.2.3.4").next(), ip("1.2.3.5"));  // the flag is optional
}

TEST(IpAddress, MasksAndFillsHostBits) {
  const IpAddress a = ip("198.51.100.77");
  EXPECT_EQ(a.masked(24).str(), "198.51.100.0");
  EXPECT_EQ(a.last_in_prefix(24).str(), "198.51.100.255");
  EXPECT_EQ(a.masked(26).str(), "198.51.100.64");
  EXPECT_EQ(a.last_in_prefix(26).str(), "198.51.100.127");
  EXPECT_EQ(a.masked(0).str(), "0.0.0.0");
  EXPECT_EQ(a.last_in_prefix(0).str(), "255.255.255.255");
  EXPECT_EQ(a.masked(32), a);
  EXPECT_EQ(a.masked(40), a);  // clamped to the family
  EXPECT_EQ(a.masked(-3).str(), "0.0.0.0");
  const IpAddress b = ip("2001:db8:1:2:3:4:5:6");
  EXPECT_EQ(b.masked(64).str(), "2001:db8:1:2::");
  EXPECT_EQ(b.last_in_prefix(64).str(), "2001:db8:1:2:ffff:ffff:ffff:ffff");
  EXPECT_EQ(b.masked(127).str(), "2001:db8:1:2:3:4:5:6");
  EXPECT_EQ(b.last_in_prefix(127).str(), "2001:db8:1:2:3:4:5:7");
  EXPECT_EQ(b.masked(12).str(), "2000::");
}

TEST(IpAddress, ClassifiesUnspecifiedAndMulticast) {
  EXPECT_TRUE(ip("0.0.0.0").is_unspecified());
  EXPECT_TRUE(ip("::").is_unspecified());
  EXPECT_FALSE(ip("0.0.0.1").is_unspecified());
  EXPECT_TRUE(ip("224.0.0.1").is_multicast());
  EXPECT_TRUE(ip("239.255.255.255").is_multicast());
  EXPECT_FALSE(ip("223.255.255.255").is_multicast());
  EXPECT_FALSE(ip("240.0.0.1").is_multicast());
  EXPECT_TRUE(ip("ff02::1").is_multicast());
  EXPECT_FALSE(ip("fe80::1").is_multicast());
  EXPECT_STREQ(family_name(IpFamily::kIPv4), "IPv4");
  EXPECT_STREQ(family_name(IpFamily::kIPv6), "IPv6");
}

// ---- IpPrefix ----

TEST(IpPrefix, KeepsHostBitsAndComputesNetwork) {
  auto p = IpPrefix::parse("198.51.100.10/24");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->address.str(), "198.51.100.10");
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->network().str(), "198.51.100.0");
  EXPECT_EQ(p->str(), "198.51.100.10/24");
  EXPECT_TRUE(p->contains(ip("198.51.100.1")));
  EXPECT_TRUE(p->contains(ip("198.51.100.255")));
  EXPECT_FALSE(p->contains(ip("198.51.101.0")));
  EXPECT_FALSE(p->contains(ip("::ffff:198.51.100.1")));  // other family

  auto v6 = IpPrefix::parse("2001:db8:100::10/64");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->network().str(), "2001:db8:100::");
  EXPECT_TRUE(v6->contains(ip("2001:db8:100::ffff")));
  EXPECT_FALSE(v6->contains(ip("2001:db8:101::1")));

  auto all = IpPrefix::parse("0.0.0.0/0");
  ASSERT_TRUE(all.has_value());
  EXPECT_TRUE(all->contains(ip("203.0.113.9")));
}

TEST(IpPrefix, RefusesBadLengths) {
  for (const char* text :
       {"198.51.100.10", "198.51.100.10/", "198.51.100.10/33", "/24", "198.51.100.10/024",
        "198.51.100.10/-1", "198.51.100.10/+8", "198.51.100.10/2 4", "2001:db8::/129",
        "2001:db8::/64/1", "a/8", "198.51.100.10 /24"}) {
    EXPECT_FALSE(IpPrefix::parse(text).has_value()) << text;
  }
  EXPECT_TRUE(IpPrefix::parse("2001:db8::/128").has_value());
  EXPECT_TRUE(IpPrefix::parse("198.51.100.10/0").has_value());
}

// ---- IpRange ----

struct PoolEntryCase {
  const char* text;
  const char* first;  // nullptr: an error containing `error`
  const char* last;
  uint64_t size;
  const char* error;
};

TEST(IpRange, ParsesMetalLbPoolEntries) {
  const std::vector<PoolEntryCase> cases = {
      {"203.0.113.0/24", "203.0.113.0", "203.0.113.255", 256, nullptr},
      {"203.0.113.7/24", "203.0.113.0", "203.0.113.255", 256, nullptr},  // masked, as Go does
      {"203.0.113.5/32", "203.0.113.5", "203.0.113.5", 1, nullptr},
      {"203.0.113.5-203.0.113.5", "203.0.113.5", "203.0.113.5", 1, nullptr},
      {"203.0.113.10-203.0.113.20", "203.0.113.10", "203.0.113.20", 11, nullptr},
      {"203.0.113.10 - 203.0.113.20", "203.0.113.10", "203.0.113.20", 11, nullptr},
      {"203.0.113.250-203.0.114.5", "203.0.113.250", "203.0.114.5", 12, nullptr},
      {"0.0.0.0/0", "0.0.0.0", "255.255.255.255", uint64_t{1} << 32, nullptr},
      {"2001:db8:200::/124", "2001:db8:200::", "2001:db8:200::f", 16, nullptr},
      {"2001:db8:200::/64", "2001:db8:200::", "2001:db8:200:0:ffff:ffff:ffff:ffff", UINT64_MAX,
       nullptr},
      {"2001:db8:200::/65", "2001:db8:200::", "2001:db8:200:0:7fff:ffff:ffff:ffff",
       uint64_t{1} << 63, nullptr},
      {"::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UINT64_MAX, nullptr},
      {"2001:db8::1-2001:db8::1:0", "2001:db8::1", "2001:db8::1:0", 65536, nullptr},
      {"203.0.113.5", nullptr, nullptr, 0, "invalid CIDR \"203.0.113.5\""},
      {"203.0.113.0/33", nullptr, nullptr, 0, "invalid CIDR \"203.0.113.0/33\""},
      {" 203.0.113.0/24", nullptr, nullptr, 0, "invalid CIDR"},
      {"", nullptr, nullptr, 0, "invalid CIDR \"\""},
      {"203.0.113.20-203.0.113.10", nullptr, nullptr, 0,
       "invalid IP range \"203.0.113.20-203.0.113.10\": start IP 203.0.113.20 is after the end "
       "IP 203.0.113.10"},
      {"203.0.113.1-2001:db8::1", nullptr, nullptr, 0, "start IP 203.0.113.1 is IPv4 but end IP"},
      {"203.0.113.1-", nullptr, nullptr, 0, "invalid end IP \"\""},
      {"x-203.0.113.1", nullptr, nullptr, 0, "invalid start IP \"x\""},
      {"203.0.113.0/24-203.0.113.9", nullptr, nullptr, 0, "invalid start IP"},
      {"203.0.113.1-203.0.113.2-203.0.113.3", nullptr, nullptr, 0, "invalid end IP"},
  };
  for (const PoolEntryCase& c : cases) {
    std::string error;
    auto r = IpRange::parse_pool_entry(c.text, &error);
    if (c.first == nullptr) {
      EXPECT_FALSE(r.has_value()) << c.text;
      EXPECT_NE(error.find(c.error), std::string::npos) << c.text << " -> " << error;
      continue;
    }
    ASSERT_TRUE(r.has_value()) << c.text << " -> " << error;
    EXPECT_EQ(r->first.str(), c.first) << c.text;
    EXPECT_EQ(r->last.str(), c.last) << c.text;
    EXPECT_EQ(r->size(), c.size) << c.text;
  }
}

TEST(IpRange, ToleratesNullErrorPointer) {
  EXPECT_FALSE(IpRange::parse_pool_entry("nope", nullptr).has_value());
}

TEST(IpRange, ContainsAndOverlapsStayWithinTheFamily) {
  const IpRange a{ip("203.0.113.0"), ip("203.0.113.127")};
  const IpRange b{ip("203.0.113.127"), ip("203.0.113.200")};
  const IpRange c{ip("203.0.113.128"), ip("203.0.113.255")};
  EXPECT_TRUE(a.overlaps(b));
  EXPECT_TRUE(b.overlaps(a));
  EXPECT_FALSE(a.overlaps(c));  // adjacent is not overlapping
  EXPECT_TRUE(a.contains(ip("203.0.113.0")));
  EXPECT_TRUE(a.contains(ip("203.0.113.127")));
  EXPECT_FALSE(a.contains(ip("203.0.113.128")));
  const IpRange v6{ip("::"), ip("::ffff")};
  EXPECT_FALSE(v6.overlaps(a));
  EXPECT_FALSE(v6.contains(ip("0.0.0.1")));
  EXPECT_EQ(v6.family(), IpFamily::kIPv6);
}

}  // namespace
}  // namespace config
