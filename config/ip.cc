// IP addresses, prefixes and ranges: parsing, printing and arithmetic (see config/ip.h).
//
// Text forms follow the usual C library (inet_pton / inet_ntop: dotted quad without leading
// zeros, RFC 4291 input, RFC 5952 output). Pool entries follow MetalLB's syntax
// (internal/config/config.go ParseCIDR): "CIDR", or "A-B" with optional spaces around the dash.
// Control thread only; no allocation beyond the strings returned.
#include "config/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace config {

namespace {

// Longest text that can be an address: a full IPv6 form with an embedded IPv4 tail.
constexpr size_t kMaxAddressText = INET6_ADDRSTRLEN;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Number of leading bytes of an address of this family.
int byte_length(IpFamily f) { return f == IpFamily::kIPv4 ? 4 : 16; }

// Decimal prefix length without sign or leading zeros, at most `max`.
std::optional<int> parse_prefix_length(std::string_view s, int max) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Sets (`ones`) or clears the bits after `prefix_len` in the family's bytes.
IpAddress with_host_bits(const IpAddress& a, int prefix_len, bool ones) {
  const int bits = a.bit_length();
  prefix_len = std::clamp(prefix_len, 0, bits);
  std::array<uint8_t, 16> b = a.bytes();
  for (int i = 0; i < bits / 8; ++i) {
    const int first_bit = i * 8;
    uint8_t host_mask;
    if (first_bit >= prefix_len) {
      host_mask = 0xff;
    } else if (first_bit + 8 <= prefix_len) {
      host_mask = 0;
    } else {
      host_mask = static_cast<uint8_t>(0xff >> (prefix_len - first_bit));
    }
    b[i] = ones ? (b[i] | host_mask) : (b[i] & static_cast<uint8_t>(~host_mask));
  }
  if (a.is_v4()) {
    return IpAddress::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) |
                         b[3]);
  }
  return IpAddress::v6(b);
}

std::optional<IpRange> range_from_cidr(std::string_view text, std::string* error) {
  auto prefix = IpPrefix::parse(text);
  if (!prefix) {
    *error = "invalid CIDR \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  // As Go's net.ParseCIDR: host bits set in the address are dropped.
  return IpRange{prefix->network(), prefix->address.last_in_prefix(prefix->length)};
}

std::optional<IpRange> range_from_pair(std::string_view text, size_t dash, std::string* error) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  const std::string_view start_text = text.substr(0, dash);
  const std::string_view end_text = text.substr(dash + 1);
  auto start = IpAddress::parse(trim(start_text));
  if (!start) {
    *error =
        "invalid IP range " + quoted + ": invalid start IP \"" + std::string(start_text) + "\"";
    return std::nullopt;
  }
  auto end = IpAddress::parse(trim(end_text));
  if (!end) {
    *error = "invalid IP range " + quoted + ": invalid end IP \"" + std::string(end_text) + "\"";
    return std::nullopt;
  }
  if (start->family() != end->family()) {
    *error = "invalid IP range " + quoted + ": start IP " + start->str() + " is " +
             family_name(start->family()) + " but end IP " + end->str() + " is " +
             family_name(end->family());
    return std::nullopt;
  }
  if (*end < *start) {
    *error = "invalid IP range " + quoted + ": start IP " + start->str() + " is after the end IP " +
             end->str();
    return std::nullopt;
  }
  return IpRange{*start, *end};
}

}  // namespace

const char* family_name(IpFamily f) { return f == IpFamily::kIPv4 ? "IPv4" : "IPv6"; }

// ---- IpAddress ----

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.family_ = IpFamily::kIPv4;
  a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& bytes) {
  IpAddress a;
  a.family_ = IpFamily::kIPv6;
  a.bytes_ = bytes;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton already refuses spaces, prefixes and zones; the length check keeps the copy bounded.
  if (text.empty() || text.size() >= kMaxAddressText) return std::nullopt;
  char buf[kMaxAddressText];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  if (std::strlen(buf) != text.size()) return std::nullopt;  // embedded NUL
  if (text.find(':') != std::string_view::npos) {
    std::array<uint8_t, 16> b{};
    if (inet_pton(AF_INET6, buf, b.data()) != 1) return std::nullopt;
    return v6(b);
  }
  uint8_t b[4];
  if (inet_pton(AF_INET, buf, b) != 1) return std::nullopt;
  return v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
}

uint32_t IpAddress::v4_host_order() const {
  return (uint32_t{bytes_[0]} << 24) | (uint32_t{bytes_[1]} << 16) | (uint32_t{bytes_[2]} << 8) |
         bytes_[3];
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  const int af = is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes_.data(), buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

IpAddress IpAddress::next(bool* wrapped) const {
  IpAddress n = *this;
  bool carry = true;
  for (int i = byte_length(family_) - 1; i >= 0 && carry; --i) {
    n.bytes_[i] = static_cast<uint8_t>(n.bytes_[i] + 1);
    carry = n.bytes_[i] == 0;
  }
  if (wrapped != nullptr) *wrapped = carry;
  return n;
}

IpAddress IpAddress::masked(int prefix_len) const {
  return with_host_bits(*this, prefix_len, false);
}

IpAddress IpAddress::last_in_prefix(int prefix_len) const {
  return with_host_bits(*this, prefix_len, true);
}

bool IpAddress::is_unspecified() const {
  const int n = byte_length(family_);
  return std::all_of(bytes_.begin(), bytes_.begin() + n, [](uint8_t b) { return b == 0; });
}

bool IpAddress::is_multicast() const {
  if (is_v4()) return (bytes_[0] & 0xf0) == 0xe0;  // 224.0.0.0/4
  return bytes_[0] == 0xff;                        // ff00::/8
}

// ---- IpPrefix ----

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  auto length = parse_prefix_length(text.substr(slash + 1), address->bit_length());
  if (!length) return std::nullopt;
  return IpPrefix{*address, *length};
}

bool IpPrefix::contains(const IpAddress& a) const {
  return a.family() == address.family() && a.masked(length) == network();
}

std::string IpPrefix::str() const { return address.str() + "/" + std::to_string(length); }

// ---- IpRange ----

std::optional<IpRange> IpRange::parse_pool_entry(std::string_view text, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return range_from_cidr(text, error);
  return range_from_pair(text, dash, error);
}

uint64_t IpRange::size() const {
  // last - first over 128 bits as two 64-bit halves, then + 1, saturating.
  auto half = [](const IpAddress& a, int from) {
    uint64_t v = 0;
    for (int i = from; i < from + 8; ++i) v = (v << 8) | a.bytes()[i];
    return v;
  };
  if (first.family() != last.family() || last < first) return 0;
  if (first.is_v4()) return uint64_t{last.v4_host_order()} - first.v4_host_order() + 1;
  const uint64_t hi_first = half(first, 0), lo_first = half(first, 8);
  const uint64_t hi_last = half(last, 0), lo_last = half(last, 8);
  const uint64_t borrow = lo_last < lo_first ? 1 : 0;
  const uint64_t hi = hi_last - hi_first - borrow;
  const uint64_t lo = lo_last - lo_first;
  if (hi != 0 || lo == UINT64_MAX) return UINT64_MAX;
  return lo + 1;
}

}  // namespace config
