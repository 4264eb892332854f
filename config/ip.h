// IP addresses, prefixes and ranges as the configuration uses them.
//
// A value type for IPv4 and IPv6 addresses (network byte order bytes), with parsing and printing
// in the usual text forms, ordering, and the +1 / masking arithmetic that address pools need.
// Runs on the control thread only (config loading, IPAM, the Snapshot compiler); the data plane
// keeps its own packed forms built from these.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace config {

enum class IpFamily : uint8_t { kIPv4, kIPv6 };

const char* family_name(IpFamily f);  // "IPv4" / "IPv6", as Kubernetes spells them

class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(uint32_t host_order);
  static IpAddress v6(const std::array<uint8_t, 16>& bytes);
  // Accepts dotted quad or any RFC 4291 text form; no prefix, no zone. nullopt if invalid.
  static std::optional<IpAddress> parse(std::string_view text);

  IpFamily family() const { return family_; }
  bool is_v4() const { return family_ == IpFamily::kIPv4; }
  bool is_v6() const { return family_ == IpFamily::kIPv6; }
  // For IPv4 the address is in bytes()[0..3]; the rest are zero.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  uint32_t v4_host_order() const;
  int bit_length() const { return is_v4() ? 32 : 128; }

  std::string str() const;  // canonical text (RFC 5952 for IPv6)

  // Arithmetic within the family; wraps are reported through the bool.
  IpAddress next(bool* wrapped = nullptr) const;
  IpAddress masked(int prefix_len) const;          // host bits cleared
  IpAddress last_in_prefix(int prefix_len) const;  // host bits set
  bool is_unspecified() const;
  bool is_multicast() const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  IpFamily family_ = IpFamily::kIPv4;
  std::array<uint8_t, 16> bytes_{};
};

// "198.51.100.10/24": an address with its prefix length (interface addresses keep host bits).
struct IpPrefix {
  IpAddress address;
  int length = 0;
  static std::optional<IpPrefix> parse(std::string_view text);
  IpAddress network() const { return address.masked(length); }
  bool contains(const IpAddress& a) const;
  std::string str() const;
  bool operator==(const IpPrefix&) const = default;
};

// An inclusive range of one family. Pools are written as CIDRs or "A-B"; both become ranges.
struct IpRange {
  IpAddress first;
  IpAddress last;
  // Parses "CIDR" or "A-B" (spaces around the dash allowed), MetalLB's pool entry syntax.
  // On failure returns nullopt and sets *error to a message naming the problem.
  static std::optional<IpRange> parse_pool_entry(std::string_view text, std::string* error);
  bool contains(const IpAddress& a) const {
    return a.family() == first.family() && first <= a && a <= last;
  }
  bool overlaps(const IpRange& o) const {
    return first.family() == o.first.family() && first <= o.last && o.first <= last;
  }
  IpFamily family() const { return first.family(); }
  // Number of addresses, saturated at UINT64_MAX (huge IPv6 ranges).
  uint64_t size() const;
  bool operator==(const IpRange&) const = default;
};

}  // namespace config
