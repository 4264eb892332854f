// Test frames, built and read back.
//
// A small fluent builder for Ethernet frames carrying ARP (RFC 826), IPv4 (RFC 791) or IPv6
// (RFC 8200) with ICMP (RFC 792), ICMPv6 (RFC 4443), NDP (RFC 4861), UDP or TCP, and parsers
// that read back what a packet function wrote. Unit tests, pipeline tests and benchmarks share
// it, so it is header-only and depends on the standard library, libc (inet_pton) and
// <rte_ether.h> (for ether()) only. Its checksums are computed here, independently of
// nf/checksum.h, so tests compare the data plane with a second implementation.
//
//   using namespace pkt;
//   Bytes arp = Frame::eth(kBroadcastMac, client).arp_request(client, client_ip, vip).pad_to(60);
//   Bytes ping = Frame::eth(port, client).ipv4(client_ip, vip).icmp_echo(7, 1, text("hi"));
//   Bytes ns = Frame::eth(multicast_mac(solicited_node(vip6)), client)
//                  .ipv6(client6, solicited_node(vip6), 255).ndp_ns(vip6, client);
//
// tcp_segment() sets every TCP field; parse_tcp() and parse_udp() verify the transport checksum
// by a full sum over the pseudo-header, and decapsulate() opens an IPIP / IP6IP6 packet.
//
// Defaults make valid packets: EtherType, IHL, lengths and checksums are filled in by bytes().
// Knobs break one thing at a time. Header-field knobs (ihl, total_length, payload_length,
// ip_version, fragment...) are applied before checksums are computed, so the field is the only
// defect; bad_ip_checksum(), bad_l4_checksum(), pad_to(), poke() and truncate() are applied
// last, in that order. A knob modifies the layer built before it, so call it after that layer
// (ipv4(...).ip_id(7), not ip_id(7).ipv4(...)). Bad input to the helpers (a malformed address
// string) throws std::invalid_argument: this is test code, never on a hot path.
#pragma once

#include <arpa/inet.h>
#include <rte_ether.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pkt {

using Bytes = std::vector<uint8_t>;

// ---- addresses ------------------------------------------------------------------------------

struct Mac {
  std::array<uint8_t, 6> bytes{};
  friend bool operator==(const Mac&, const Mac&) = default;
};

struct Ip4 {
  std::array<uint8_t, 4> bytes{};  // network order: bytes[0] is the first octet
  // The address as a uint32_t in network byte order (what nf::AddressTable::add_v4 takes).
  uint32_t be() const {
    uint32_t v;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
  }
  friend bool operator==(const Ip4&, const Ip4&) = default;
};

struct Ip6 {
  std::array<uint8_t, 16> bytes{};
  const uint8_t* data() const { return bytes.data(); }
  friend bool operator==(const Ip6&, const Ip6&) = default;
};

// "02:00:5e:10:00:01" -> Mac.
inline Mac mac(std::string_view text) {
  Mac m;
  unsigned v[6];
  char tail;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                  &tail) != 6) {
    throw std::invalid_argument("pkt::mac: bad MAC address " + s);
  }
  for (int i = 0; i < 6; ++i) m.bytes[i] = static_cast<uint8_t>(v[i]);
  return m;
}

inline Ip4 ip4(std::string_view text) {
  Ip4 a;
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) != 1) {
    throw std::invalid_argument("pkt::ip4: bad IPv4 address " + s);
  }
  return a;
}

inline Ip6 ip6(std::string_view text) {
  Ip6 a;
  const std::string s(text);
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) {
    throw std::invalid_argument("pkt::ip6: bad IPv6 address " + s);
  }
  return a;
}

inline rte_ether_addr ether(const Mac& m) {
  rte_ether_addr e;
  std::memcpy(e.addr_bytes, m.bytes.data(), 6);
  return e;
}

inline const Mac kZeroMac{};
inline const Mac kBroadcastMac{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
inline const Ip6 kAllNodes{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};

// ff02::1:ffXX:XXXX for an address (RFC 4291 §2.7.1).
inline Ip6 solicited_node(const Ip6& a) {
  Ip6 g{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff}};
  g.bytes[13] = a.bytes[13];
  g.bytes[14] = a.bytes[14];
  g.bytes[15] = a.bytes[15];
  return g;
}

// 33:33 + low 32 bits of an IPv6 multicast address (RFC 2464 §7).
inline Mac multicast_mac(const Ip6& group) {
  return Mac{{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

// 01:00:5e + low 23 bits of an IPv4 multicast address (RFC 1112 §6.4).
inline Mac multicast_mac(const Ip4& group) {
  return Mac{{0x01, 0x00, 0x5e, static_cast<uint8_t>(group.bytes[1] & 0x7f), group.bytes[2],
              group.bytes[3]}};
}

inline std::string to_string(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m.bytes[0], m.bytes[1],
                m.bytes[2], m.bytes[3], m.bytes[4], m.bytes[5]);
  return buf;
}

inline std::string to_string(const Ip4& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, a.bytes.data(), buf, sizeof buf);
}

inline std::string to_string(const Ip6& a) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
}

inline std::ostream& operator<<(std::ostream& os, const Mac& m) { return os << to_string(m); }
inline std::ostream& operator<<(std::ostream& os, const Ip4& a) { return os << to_string(a); }
inline std::ostream& operator<<(std::ostream& os, const Ip6& a) { return os << to_string(a); }

// ---- byte helpers ---------------------------------------------------------------------------

inline Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline Bytes concat(std::initializer_list<std::span<const uint8_t>> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(get16(p)) << 16 | get16(p + 2);
}

inline void append(Bytes& out, std::span<const uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}

// "0000  ff ff ff ff ff ff 02 00 ..." with 16 bytes a line.
inline std::string hex(std::span<const uint8_t> b) {
  std::string s;
  char buf[24];
  for (size_t i = 0; i < b.size(); ++i) {
    if (i % 16 == 0) {
      std::snprintf(buf, sizeof buf, "%s%04zx ", i == 0 ? "" : "\n", i);
      s += buf;
    }
    std::snprintf(buf, sizeof buf, " %02x", b[i]);
    s += buf;
  }
  return s;
}

// "" when equal, else where the two differ, for test failure messages.
inline std::string first_difference(std::span<const uint8_t> got, std::span<const uint8_t> want) {
  if (got.size() == want.size() && std::equal(got.begin(), got.end(), want.begin())) return "";
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  std::string s = "frames differ at byte " + std::to_string(i) + " (got " +
                  std::to_string(got.size()) + " bytes, want " + std::to_string(want.size()) +
                  ")\ngot:\n" + hex(got) + "\nwant:\n" + hex(want);
  return s;
}

// ---- Internet checksum (RFC 1071), written plainly ------------------------------------------

// Sum of big-endian 16-bit words; an odd last byte is the high byte of a word.
inline uint32_t sum16(std::span<const uint8_t> b, uint32_t sum = 0) {
  size_t i = 0;
  for (; i + 1 < b.size(); i += 2) sum += get16(&b[i]);
  if (i < b.size()) sum += static_cast<uint32_t>(b[i]) << 8;
  return sum;
}

inline uint16_t fold16(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

inline uint16_t checksum(std::span<const uint8_t> b, uint32_t sum = 0) {
  return static_cast<uint16_t>(~fold16(sum16(b, sum)));
}

inline uint32_t ipv4_pseudo_sum(const Ip4& src, const Ip4& dst, uint8_t proto, size_t len) {
  return sum16(src.bytes) + sum16(dst.bytes) + proto + static_cast<uint32_t>(len);
}

inline uint32_t ipv6_pseudo_sum(const Ip6& src, const Ip6& dst, uint8_t next, size_t len) {
  return sum16(src.bytes) + sum16(dst.bytes) + static_cast<uint32_t>(len >> 16) +
         static_cast<uint32_t>(len & 0xffff) + next;
}

// ---- protocol numbers and layout ------------------------------------------------------------

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
inline constexpr uint16_t kEtherTypeExperimental = 0x88b5;  // IEEE 802 local experimental

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoIcmpv6 = 58;

inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpUnreachable = 3;
inline constexpr uint8_t kIcmpEchoRequest = 8;
inline constexpr uint8_t kIcmp6EchoRequest = 128;
inline constexpr uint8_t kIcmp6EchoReply = 129;
inline constexpr uint8_t kIcmp6MldReport = 143;
inline constexpr uint8_t kIcmp6RouterSolicitation = 133;
inline constexpr uint8_t kIcmp6RouterAdvertisement = 134;
inline constexpr uint8_t kIcmp6NeighborSolicitation = 135;
inline constexpr uint8_t kIcmp6NeighborAdvertisement = 136;
inline constexpr uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdOptTargetLinkAddr = 2;
inline constexpr uint8_t kNdOptNonce = 14;  // RFC 3971 §5.3.2, RFC 7527

inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

inline constexpr uint8_t kProtoIpip = 4;        // IPv4 in IPv4 (RFC 2003)
inline constexpr uint8_t kProtoIpv6Encap = 41;  // IPv6 in IPv6 (RFC 2473)

// Offsets from the start of the frame, for poke() and checks.
inline constexpr size_t kEthLen = 14;
inline constexpr size_t kL3 = kEthLen;
inline constexpr size_t kArpLen = 28;
inline constexpr size_t kIpv4Len = 20;
inline constexpr size_t kIpv6Len = 40;
inline constexpr size_t kMinFrame = 60;  // Ethernet minimum without FCS

struct NaFlags {
  bool router = false;
  bool solicited = false;
  bool override_ = false;
};

// Every field of a TCP segment (RFC 9293 §3.1), for Frame::tcp_segment().
struct TcpFields {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = kTcpSyn;
  uint16_t window = 65535;
  uint16_t urgent = 0;
  Bytes options;  // padded with End of Option List bytes to a multiple of 4
  Bytes payload;
};

// ---- the builder ----------------------------------------------------------------------------

class Frame {
 public:
  static Frame eth(const Mac& dst, const Mac& src) {
    Frame f;
    f.eth_dst_ = dst;
    f.eth_src_ = src;
    return f;
  }

  // Overrides the EtherType the network layer would set (e.g. kEtherTypeVlan).
  Frame& ethertype(uint16_t type) {
    ethertype_ = type;
    return *this;
  }

  // Raw bytes after the Ethernet header, for frames with no network layer built here.
  Frame& raw(const Bytes& data) {
    l3_ = L3::kRaw;
    l3_hdr_ = data;
    return *this;
  }

  // ---- ARP (Ethernet/IPv4; htype 1, ptype 0x0800, hlen 6, plen 4) ----
  Frame& arp(uint16_t op, const Mac& sha, const Ip4& spa, const Mac& tha, const Ip4& tpa) {
    l3_ = L3::kArp;
    l3_hdr_.assign(kArpLen, 0);
    uint8_t* a = l3_hdr_.data();
    put16(a, 1);
    put16(a + 2, kEtherTypeIpv4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    std::memcpy(a + 8, sha.bytes.data(), 6);
    std::memcpy(a + 14, spa.bytes.data(), 4);
    std::memcpy(a + 18, tha.bytes.data(), 6);
    std::memcpy(a + 24, tpa.bytes.data(), 4);
    return *this;
  }
  // Target MAC all zeroes, as RFC 5227 asks.
  Frame& arp_request(const Mac& sha, const Ip4& spa, const Ip4& tpa) {
    return arp(kArpRequest, sha, spa, kZeroMac, tpa);
  }
  Frame& arp_reply(const Mac& sha, const Ip4& spa, const Mac& tha, const Ip4& tpa) {
    return arp(kArpReply, sha, spa, tha, tpa);
  }

  // ---- IPv4 ----
  Frame& ipv4(const Ip4& src, const Ip4& dst, uint8_t ttl = 64) {
    l3_ = L3::kIpv4;
    v4_ = V4{};
    v4_.src = src;
    v4_.dst = dst;
    v4_.ttl = ttl;
    return *this;
  }
  Frame& tos(uint8_t v) {
    v4_.tos = v;
    return *this;
  }
  Frame& ip_id(uint16_t v) {
    v4_.id = v;
    return *this;
  }
  Frame& dont_fragment(bool df = true) {
    v4_.frag = static_cast<uint16_t>(df ? (v4_.frag | 0x4000) : (v4_.frag & ~0x4000));
    return *this;
  }
  // MF flag and fragment offset in 8-byte units.
  Frame& fragment(bool more_fragments, uint16_t offset_units) {
    v4_.frag = static_cast<uint16_t>((v4_.frag & 0x4000) | (more_fragments ? 0x2000 : 0) |
                                     (offset_units & 0x1fff));
    return *this;
  }
  // Options, padded with End of Option List bytes to a multiple of 4.
  Frame& ipv4_options(const Bytes& options) {
    v4_.options = options;
    while (v4_.options.size() % 4 != 0) v4_.options.push_back(0);
    return *this;
  }
  Frame& ihl(uint8_t words) {
    v4_.ihl = words;
    return *this;
  }
  Frame& total_length(uint16_t v) {
    v4_.total_length = v;
    return *this;
  }

  // ---- IPv6 ----
  Frame& ipv6(const Ip6& src, const Ip6& dst, uint8_t hop_limit = 64) {
    l3_ = L3::kIpv6;
    v6_ = V6{};
    v6_.src = src;
    v6_.dst = dst;
    v6_.hop_limit = hop_limit;
    return *this;
  }
  Frame& traffic_class(uint8_t v) {
    v6_.traffic_class = v;
    return *this;
  }
  Frame& flow_label(uint32_t v) {
    v6_.flow_label = v & 0xfffff;
    return *this;
  }
  Frame& payload_length(uint16_t v) {
    v6_.payload_length = v;
    return *this;
  }

  // Version nibble of the IPv4 or IPv6 header.
  Frame& ip_version(uint8_t v) {
    version_ = v;
    return *this;
  }

  // ---- upper layers (after ipv4() or ipv6()) ----
  // ICMP: type, code, checksum, then rest (the 4-byte rest of header and the data).
  Frame& icmp(uint8_t type, uint8_t code, const Bytes& rest) {
    return l4(kProtoIcmp, message(type, code, rest), Sum::kPlain, 2);
  }
  Frame& icmp_echo(uint16_t id, uint16_t seq, const Bytes& data = {}) {
    return icmp(kIcmpEchoRequest, 0, echo_body(id, seq, data));
  }
  Frame& icmp_echo_reply(uint16_t id, uint16_t seq, const Bytes& data = {}) {
    return icmp(kIcmpEchoReply, 0, echo_body(id, seq, data));
  }

  // ICMPv6: type, code, checksum (with pseudo-header), then rest.
  Frame& icmp6(uint8_t type, uint8_t code, const Bytes& rest) {
    return l4(kProtoIcmpv6, message(type, code, rest), Sum::kPseudo, 2);
  }
  Frame& icmp6_echo(uint16_t id, uint16_t seq, const Bytes& data = {}) {
    return icmp6(kIcmp6EchoRequest, 0, echo_body(id, seq, data));
  }
  Frame& icmp6_echo_reply(uint16_t id, uint16_t seq, const Bytes& data = {}) {
    return icmp6(kIcmp6EchoReply, 0, echo_body(id, seq, data));
  }
  // Neighbor Solicitation, with a Source Link-Layer Address option when slla is set.
  Frame& ndp_ns(const Ip6& target, std::optional<Mac> slla = std::nullopt) {
    Bytes rest(4, 0);
    append(rest, target.bytes);
    icmp6(kIcmp6NeighborSolicitation, 0, rest);
    if (slla) ndp_option(kNdOptSourceLinkAddr, Bytes(slla->bytes.begin(), slla->bytes.end()));
    return *this;
  }
  // Neighbor Advertisement, with a Target Link-Layer Address option when tlla is set.
  Frame& ndp_na(const Ip6& target, NaFlags flags, std::optional<Mac> tlla = std::nullopt) {
    Bytes rest(4, 0);
    rest[0] = static_cast<uint8_t>((flags.router ? 0x80 : 0) | (flags.solicited ? 0x40 : 0) |
                                   (flags.override_ ? 0x20 : 0));
    append(rest, target.bytes);
    icmp6(kIcmp6NeighborAdvertisement, 0, rest);
    if (tlla) ndp_option(kNdOptTargetLinkAddr, Bytes(tlla->bytes.begin(), tlla->bytes.end()));
    return *this;
  }
  // Appends an option: type, length in units of 8 bytes, value zero-padded to fit.
  Frame& ndp_option(uint8_t type, const Bytes& value) {
    const size_t units = (2 + value.size() + 7) / 8;
    Bytes opt(units * 8, 0);
    opt[0] = type;
    opt[1] = static_cast<uint8_t>(units);
    std::copy(value.begin(), value.end(), opt.begin() + 2);
    append(l4_, opt);
    return *this;
  }
  // Appends raw bytes to the upper-layer message (e.g. an option with length 0). The checksum
  // still covers them.
  Frame& l4_append(const Bytes& data) {
    append(l4_, data);
    return *this;
  }

  Frame& udp(uint16_t sport, uint16_t dport, const Bytes& data = {}) {
    Bytes u(8, 0);
    put16(&u[0], sport);
    put16(&u[2], dport);
    put16(&u[4], static_cast<uint16_t>(8 + data.size()));
    append(u, data);
    return l4(kProtoUdp, u, Sum::kPseudo, 6);
  }
  Frame& tcp(uint16_t sport, uint16_t dport, uint8_t flags = kTcpSyn, uint32_t seq = 1) {
    Bytes t(20, 0);
    put16(&t[0], sport);
    put16(&t[2], dport);
    put32(&t[4], seq);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(&t[14], 65535);
    return l4(kProtoTcp, t, Sum::kPseudo, 16);
  }
  // A TCP segment with every field chosen; the data offset follows from the options.
  Frame& tcp_segment(const TcpFields& f) {
    Bytes options = f.options;
    while (options.size() % 4 != 0) options.push_back(0);
    Bytes t(20, 0);
    put16(&t[0], f.sport);
    put16(&t[2], f.dport);
    put32(&t[4], f.seq);
    put32(&t[8], f.ack);
    t[12] = static_cast<uint8_t>((5 + options.size() / 4) << 4);
    t[13] = f.flags;
    put16(&t[14], f.window);
    put16(&t[18], f.urgent);
    append(t, options);
    append(t, f.payload);
    return l4(kProtoTcp, t, Sum::kPseudo, 16);
  }
  // Any protocol number and payload, no checksum filled in (e.g. an extension header chain).
  Frame& l4(uint8_t proto, const Bytes& data) { return l4(proto, data, Sum::kNone, 0); }

  // ---- defects and framing, applied last ----
  Frame& bad_ip_checksum() {
    bad_ip_checksum_ = true;
    return *this;
  }
  Frame& bad_l4_checksum() {
    bad_l4_checksum_ = true;
    return *this;
  }
  // Appends zero bytes (Ethernet padding) until the frame is n bytes long.
  Frame& pad_to(size_t n) {
    pad_to_ = n;
    return *this;
  }
  Frame& poke(size_t offset, uint8_t v) {
    pokes_.emplace_back(offset, v);
    return *this;
  }
  // Writes a 16-bit big-endian value at offset.
  Frame& poke16(size_t offset, uint16_t v) {
    poke(offset, static_cast<uint8_t>(v >> 8));
    return poke(offset + 1, static_cast<uint8_t>(v));
  }
  Frame& truncate(size_t n) {
    truncate_ = n;
    return *this;
  }

  Bytes bytes() const {
    Bytes out(kEthLen, 0);
    std::memcpy(&out[0], eth_dst_.bytes.data(), 6);
    std::memcpy(&out[6], eth_src_.bytes.data(), 6);
    uint16_t type = kEtherTypeExperimental;
    switch (l3_) {
      case L3::kNone:
        break;
      case L3::kRaw:
        append(out, l3_hdr_);
        break;
      case L3::kArp:
        type = kEtherTypeArp;
        append(out, l3_hdr_);
        break;
      case L3::kIpv4:
        type = kEtherTypeIpv4;
        append_ipv4(out);
        break;
      case L3::kIpv6:
        type = kEtherTypeIpv6;
        append_ipv6(out);
        break;
    }
    put16(&out[12], ethertype_.value_or(type));
    if (out.size() < pad_to_) out.resize(pad_to_, 0);
    for (const auto& [offset, v] : pokes_) {
      if (offset >= out.size()) throw std::invalid_argument("pkt::Frame::poke past the end");
      out[offset] = v;
    }
    if (truncate_ && *truncate_ < out.size()) out.resize(*truncate_);
    return out;
  }

  operator Bytes() const { return bytes(); }  // NOLINT: lets tables hold frames as Bytes

 private:
  enum class L3 { kNone, kRaw, kArp, kIpv4, kIpv6 };
  enum class Sum { kNone, kPlain, kPseudo };
  struct V4 {
    Ip4 src, dst;
    uint8_t ttl = 64;
    uint8_t tos = 0;
    uint16_t id = 0;
    uint16_t frag = 0;
    Bytes options;
    std::optional<uint8_t> ihl;
    std::optional<uint16_t> total_length;
  };
  struct V6 {
    Ip6 src, dst;
    uint8_t hop_limit = 64;
    uint8_t traffic_class = 0;
    uint32_t flow_label = 0;
    std::optional<uint16_t> payload_length;
  };

  static Bytes message(uint8_t type, uint8_t code, const Bytes& rest) {
    Bytes m{type, code, 0, 0};
    append(m, rest);
    return m;
  }
  static Bytes echo_body(uint16_t id, uint16_t seq, const Bytes& data) {
    Bytes b(4, 0);
    put16(&b[0], id);
    put16(&b[2], seq);
    append(b, data);
    return b;
  }
  Frame& l4(uint8_t proto, const Bytes& data, Sum sum, size_t checksum_offset) {
    proto_ = proto;
    l4_ = data;
    sum_ = sum;
    checksum_offset_ = checksum_offset;
    return *this;
  }

  // Fills the upper-layer checksum given the pseudo-header sum (0 for ICMPv4).
  Bytes finished_l4(uint32_t pseudo) const {
    Bytes m = l4_;
    if (sum_ == Sum::kNone || m.size() < checksum_offset_ + 2) return m;
    put16(&m[checksum_offset_], 0);
    uint16_t c = checksum(m, sum_ == Sum::kPseudo ? pseudo : 0);
    if (bad_l4_checksum_) c ^= 1;
    put16(&m[checksum_offset_], c);
    return m;
  }

  void append_ipv4(Bytes& out) const {
    Bytes h(kIpv4Len, 0);
    append(h, v4_.options);
    h[0] = static_cast<uint8_t>(version_.value_or(4) << 4 | v4_.ihl.value_or(h.size() / 4));
    h[1] = v4_.tos;
    put16(&h[2], v4_.total_length.value_or(static_cast<uint16_t>(h.size() + l4_.size())));
    put16(&h[4], v4_.id);
    put16(&h[6], v4_.frag);
    h[8] = v4_.ttl;
    h[9] = proto_;
    std::memcpy(&h[12], v4_.src.bytes.data(), 4);
    std::memcpy(&h[16], v4_.dst.bytes.data(), 4);
    uint16_t c = checksum(h);
    if (bad_ip_checksum_) c ^= 1;
    put16(&h[10], c);
    append(out, h);
    append(out, finished_l4(ipv4_pseudo_sum(v4_.src, v4_.dst, proto_, l4_.size())));
  }

  void append_ipv6(Bytes& out) const {
    Bytes h(kIpv6Len, 0);
    put32(&h[0], static_cast<uint32_t>(version_.value_or(6)) << 28 |
                     static_cast<uint32_t>(v6_.traffic_class) << 20 | v6_.flow_label);
    put16(&h[4], v6_.payload_length.value_or(static_cast<uint16_t>(l4_.size())));
    h[6] = proto_;
    h[7] = v6_.hop_limit;
    std::memcpy(&h[8], v6_.src.bytes.data(), 16);
    std::memcpy(&h[24], v6_.dst.bytes.data(), 16);
    append(out, h);
    append(out, finished_l4(ipv6_pseudo_sum(v6_.src, v6_.dst, proto_, l4_.size())));
  }

  Mac eth_dst_, eth_src_;
  std::optional<uint16_t> ethertype_;
  L3 l3_ = L3::kNone;
  Bytes l3_hdr_;  // ARP or raw
  V4 v4_;
  V6 v6_;
  std::optional<uint8_t> version_;
  uint8_t proto_ = 0;
  Bytes l4_;
  Sum sum_ = Sum::kNone;
  size_t checksum_offset_ = 0;
  bool bad_ip_checksum_ = false;
  bool bad_l4_checksum_ = false;
  size_t pad_to_ = 0;
  std::vector<std::pair<size_t, uint8_t>> pokes_;
  std::optional<size_t> truncate_;
};

// ---- reading frames back --------------------------------------------------------------------
// Each parser returns nullopt when the frame is too short or not of that kind. Views hold spans
// into the frame they were parsed from: keep the frame alive while using them.

struct EthView {
  Mac dst, src;
  uint16_t type = 0;
};

inline std::optional<EthView> parse_eth(std::span<const uint8_t> f) {
  if (f.size() < kEthLen) return std::nullopt;
  EthView v;
  std::memcpy(v.dst.bytes.data(), &f[0], 6);
  std::memcpy(v.src.bytes.data(), &f[6], 6);
  v.type = get16(&f[12]);
  return v;
}

struct ArpView {
  uint16_t htype = 0, ptype = 0;
  uint8_t hlen = 0, plen = 0;
  uint16_t op = 0;
  Mac sha, tha;
  Ip4 spa, tpa;
};

inline std::optional<ArpView> parse_arp(std::span<const uint8_t> f) {
  if (f.size() < kEthLen + kArpLen || get16(&f[12]) != kEtherTypeArp) return std::nullopt;
  const uint8_t* a = &f[kL3];
  ArpView v;
  v.htype = get16(a);
  v.ptype = get16(a + 2);
  v.hlen = a[4];
  v.plen = a[5];
  v.op = get16(a + 6);
  std::memcpy(v.sha.bytes.data(), a + 8, 6);
  std::memcpy(v.spa.bytes.data(), a + 14, 4);
  std::memcpy(v.tha.bytes.data(), a + 18, 6);
  std::memcpy(v.tpa.bytes.data(), a + 24, 4);
  return v;
}

struct Ipv4View {
  uint8_t version = 0, ihl = 0, tos = 0, ttl = 0, protocol = 0;
  uint16_t total_length = 0, id = 0, fragment = 0, checksum = 0;
  bool checksum_ok = false;
  Ip4 src, dst;
  std::span<const uint8_t> options, payload;  // payload: total_length - header
};

// Requires IHL >= 5 and a total length that fits the frame.
inline std::optional<Ipv4View> parse_ipv4(std::span<const uint8_t> f) {
  if (f.size() < kEthLen + kIpv4Len || get16(&f[12]) != kEtherTypeIpv4) return std::nullopt;
  const uint8_t* h = &f[kL3];
  Ipv4View v;
  v.version = h[0] >> 4;
  v.ihl = h[0] & 0x0f;
  v.tos = h[1];
  v.total_length = get16(h + 2);
  v.id = get16(h + 4);
  v.fragment = get16(h + 6);
  v.ttl = h[8];
  v.protocol = h[9];
  v.checksum = get16(h + 10);
  std::memcpy(v.src.bytes.data(), h + 12, 4);
  std::memcpy(v.dst.bytes.data(), h + 16, 4);
  const size_t hlen = v.ihl * 4u;
  if (hlen < kIpv4Len || v.total_length < hlen || kEthLen + v.total_length > f.size()) {
    return std::nullopt;
  }
  v.checksum_ok = fold16(sum16(f.subspan(kL3, hlen))) == 0xffff;
  v.options = f.subspan(kL3 + kIpv4Len, hlen - kIpv4Len);
  v.payload = f.subspan(kL3 + hlen, v.total_length - hlen);
  return v;
}

struct IcmpView {
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  bool checksum_ok = false;
  uint16_t id = 0, seq = 0;       // echo fields (bytes 4-7)
  std::span<const uint8_t> data;  // after the 8-byte header
};

inline std::optional<IcmpView> parse_icmp(std::span<const uint8_t> f) {
  auto ip = parse_ipv4(f);
  if (!ip || ip->protocol != kProtoIcmp || ip->payload.size() < 8) return std::nullopt;
  const auto m = ip->payload;
  IcmpView v;
  v.type = m[0];
  v.code = m[1];
  v.checksum = get16(&m[2]);
  v.checksum_ok = fold16(sum16(m)) == 0xffff;
  v.id = get16(&m[4]);
  v.seq = get16(&m[6]);
  v.data = m.subspan(8);
  return v;
}

struct Ipv6View {
  uint8_t version = 0, traffic_class = 0, next_header = 0, hop_limit = 0;
  uint32_t flow_label = 0;
  uint16_t payload_length = 0;
  Ip6 src, dst;
  std::span<const uint8_t> payload;
};

// Requires a payload length that fits the frame.
inline std::optional<Ipv6View> parse_ipv6(std::span<const uint8_t> f) {
  if (f.size() < kEthLen + kIpv6Len || get16(&f[12]) != kEtherTypeIpv6) return std::nullopt;
  const uint8_t* h = &f[kL3];
  Ipv6View v;
  const uint32_t vtc = get32(h);
  v.version = static_cast<uint8_t>(vtc >> 28);
  v.traffic_class = static_cast<uint8_t>(vtc >> 20);
  v.flow_label = vtc & 0xfffff;
  v.payload_length = get16(h + 4);
  v.next_header = h[6];
  v.hop_limit = h[7];
  std::memcpy(v.src.bytes.data(), h + 8, 16);
  std::memcpy(v.dst.bytes.data(), h + 24, 16);
  if (kEthLen + kIpv6Len + v.payload_length > f.size()) return std::nullopt;
  v.payload = f.subspan(kL3 + kIpv6Len, v.payload_length);
  return v;
}

struct Icmp6View {
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  bool checksum_ok = false;          // over the pseudo-header and the whole message
  std::span<const uint8_t> message;  // from the type byte to the end of the payload
  uint16_t id = 0, seq = 0;          // echo fields, when the message has them
};

inline std::optional<Icmp6View> parse_icmp6(std::span<const uint8_t> f) {
  auto ip = parse_ipv6(f);
  if (!ip || ip->next_header != kProtoIcmpv6 || ip->payload.size() < 4) return std::nullopt;
  const auto m = ip->payload;
  Icmp6View v;
  v.type = m[0];
  v.code = m[1];
  v.checksum = get16(&m[2]);
  v.checksum_ok =
      fold16(sum16(m, ipv6_pseudo_sum(ip->src, ip->dst, kProtoIcmpv6, m.size()))) == 0xffff;
  v.message = m;
  if (m.size() >= 8) {
    v.id = get16(&m[4]);
    v.seq = get16(&m[6]);
  }
  return v;
}

struct NdView {
  uint8_t type = 0;       // 135 NS or 136 NA
  NaFlags flags;          // NA only
  uint32_t reserved = 0;  // the 29 bits after the flags (NA) or the whole word (NS)
  Ip6 target;
  std::optional<Mac> source_link, target_link;
  size_t option_count = 0;
  bool options_ok = false;  // every option has length > 0 and fits
};

inline std::optional<NdView> parse_nd(std::span<const uint8_t> f) {
  auto icmp = parse_icmp6(f);
  if (!icmp ||
      (icmp->type != kIcmp6NeighborSolicitation && icmp->type != kIcmp6NeighborAdvertisement)) {
    return std::nullopt;
  }
  const auto m = icmp->message;
  if (m.size() < 24) return std::nullopt;
  NdView v;
  v.type = icmp->type;
  const uint32_t word = get32(&m[4]);
  if (v.type == kIcmp6NeighborAdvertisement) {
    v.flags =
        NaFlags{(word & 0x80000000u) != 0, (word & 0x40000000u) != 0, (word & 0x20000000u) != 0};
    v.reserved = word & 0x1fffffffu;
  } else {
    v.reserved = word;
  }
  std::memcpy(v.target.bytes.data(), &m[8], 16);
  size_t i = 24;
  v.options_ok = true;
  while (i < m.size()) {
    if (m.size() - i < 2 || m[i + 1] == 0 || m[i + 1] * 8u > m.size() - i) {
      v.options_ok = false;
      break;
    }
    if ((m[i] == kNdOptSourceLinkAddr || m[i] == kNdOptTargetLinkAddr) && m[i + 1] == 1) {
      Mac mac_addr;
      std::memcpy(mac_addr.bytes.data(), &m[i + 2], 6);
      auto& slot = m[i] == kNdOptSourceLinkAddr ? v.source_link : v.target_link;
      if (!slot) slot = mac_addr;  // the first one counts, as in nf/ndp.cc
    }
    ++v.option_count;
    i += m[i + 1] * 8u;
  }
  return v;
}

// ---- TCP, UDP and tunnels read back ---------------------------------------------------------
// The transport header after an IPv4 or IPv6 header (no extension headers), with its checksum
// verified by a full recomputation over the pseudo-header and the whole segment.

struct TransportSpan {
  uint8_t protocol = 0;
  uint32_t pseudo = 0;  // pseudo-header sum for this protocol and length
  std::span<const uint8_t> segment;
};

inline std::optional<TransportSpan> transport_of(std::span<const uint8_t> f) {
  if (auto ip = parse_ipv4(f)) {
    return TransportSpan{ip->protocol,
                         ipv4_pseudo_sum(ip->src, ip->dst, ip->protocol, ip->payload.size()),
                         ip->payload};
  }
  if (auto ip = parse_ipv6(f)) {
    return TransportSpan{ip->next_header,
                         ipv6_pseudo_sum(ip->src, ip->dst, ip->next_header, ip->payload.size()),
                         ip->payload};
  }
  return std::nullopt;
}

struct TcpView {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t header_len = 0;  // data offset in bytes
  uint8_t flags = 0;
  uint16_t window = 0, checksum = 0, urgent = 0;
  bool checksum_ok = false;
  std::span<const uint8_t> options, payload;
};

// Requires a data offset of at least 20 bytes that fits the segment.
inline std::optional<TcpView> parse_tcp(std::span<const uint8_t> f) {
  auto t = transport_of(f);
  if (!t || t->protocol != kProtoTcp || t->segment.size() < 20) return std::nullopt;
  const auto s = t->segment;
  TcpView v;
  v.sport = get16(&s[0]);
  v.dport = get16(&s[2]);
  v.seq = get32(&s[4]);
  v.ack = get32(&s[8]);
  v.header_len = static_cast<uint8_t>((s[12] >> 4) * 4);
  v.flags = s[13];
  v.window = get16(&s[14]);
  v.checksum = get16(&s[16]);
  v.urgent = get16(&s[18]);
  if (v.header_len < 20 || v.header_len > s.size()) return std::nullopt;
  v.checksum_ok = fold16(sum16(s, t->pseudo)) == 0xffff;
  v.options = s.subspan(20, v.header_len - 20u);
  v.payload = s.subspan(v.header_len);
  return v;
}

struct UdpView {
  uint16_t sport = 0, dport = 0, length = 0, checksum = 0;
  bool checksum_ok = false;  // the full sum; an IPv4 checksum of 0 (none) is not "ok" here
  std::span<const uint8_t> payload;
};

// Requires a length field between 8 and the bytes present.
inline std::optional<UdpView> parse_udp(std::span<const uint8_t> f) {
  auto t = transport_of(f);
  if (!t || t->protocol != kProtoUdp || t->segment.size() < 8) return std::nullopt;
  const auto s = t->segment;
  UdpView v;
  v.sport = get16(&s[0]);
  v.dport = get16(&s[2]);
  v.length = get16(&s[4]);
  v.checksum = get16(&s[6]);
  if (v.length < 8 || v.length > s.size()) return std::nullopt;
  v.checksum_ok = fold16(sum16(s, t->pseudo)) == 0xffff;
  v.payload = s.subspan(8, v.length - 8u);
  return v;
}

// The packet inside an IPIP (RFC 2003) or IP6IP6 (RFC 2473) frame, as a frame of its own: the
// outer Ethernet addresses, the inner packet's EtherType, then the inner packet. nullopt if the
// frame is not a tunnel packet.
inline std::optional<Bytes> decapsulate(std::span<const uint8_t> f) {
  auto t = transport_of(f);
  if (!t || (t->protocol != kProtoIpip && t->protocol != kProtoIpv6Encap)) return std::nullopt;
  Bytes inner(f.begin(), f.begin() + 12);
  inner.resize(kEthLen);
  put16(&inner[12], t->protocol == kProtoIpip ? kEtherTypeIpv4 : kEtherTypeIpv6);
  append(inner, t->segment);
  return inner;
}

// The bytes after the Ethernet header (an IP packet to quote in an ICMP error or to tunnel),
// at most max_len of them.
inline Bytes l3_bytes(const Bytes& f, size_t max_len = SIZE_MAX) {
  if (f.size() <= kEthLen) return {};
  const size_t n = std::min(f.size() - kEthLen, max_len);
  return Bytes(f.begin() + kEthLen, f.begin() + kEthLen + n);
}

}  // namespace pkt
