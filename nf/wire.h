// Byte-level access to the header fields the frame handler reads and rewrites.
//
// Private to nf/. Frames are plain byte buffers with no alignment guarantee (an IPv4 header sits
// at offset 14 of an mbuf), so every field is read and written with memcpy, which compiles to a
// single (unaligned-safe) load or store and keeps the code free of aliasing questions. Loads
// return the value in memory order ("raw"); the be16/be32 helpers turn host-order constants into
// the same representation so comparisons need no byte swap at run time.
//
// Field offsets follow RFC 826 (ARP), RFC 791 (IPv4), RFC 8200 (IPv6), RFC 792 / RFC 4443
// (ICMP, ICMPv6) and RFC 4861 §4.3-4.6 (NDP); they are checked against the DPDK structs.
#pragma once

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nf::wire {

// ---- host-order constants in memory (network) order ---------------------------------------

constexpr uint16_t be16(uint16_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    return static_cast<uint16_t>((v >> 8) | (v << 8));
  }
  return v;
}

constexpr uint32_t be32(uint32_t v) {
  if constexpr (std::endian::native == std::endian::little) {
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
  }
  return v;
}

// ---- loads and stores ----------------------------------------------------------------------

inline uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }
inline void store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

// Host-order value of a big-endian field.
inline uint16_t load_be16(const uint8_t* p) { return be16(load16(p)); }

inline constexpr size_t kMacLen = RTE_ETHER_ADDR_LEN;

inline bool mac_equal(const uint8_t* a, const uint8_t* b) {
  return load32(a) == load32(b) && load16(a + 4) == load16(b + 4);
}

inline void copy_mac(uint8_t* dst, const uint8_t* src) { std::memcpy(dst, src, kMacLen); }

// Group (multicast or broadcast) MAC: the I/G bit, bit 0 of the first octet.
inline bool mac_is_group(const uint8_t* mac) { return (mac[0] & 1) != 0; }

// ---- Ethernet (IEEE 802.3) -----------------------------------------------------------------

namespace eth {
inline constexpr size_t kDst = 0;
inline constexpr size_t kSrc = 6;
inline constexpr size_t kType = 12;
inline constexpr size_t kHeaderLen = sizeof(rte_ether_hdr);
inline constexpr uint16_t kTypeArp = be16(RTE_ETHER_TYPE_ARP);
inline constexpr uint16_t kTypeIpv4 = be16(RTE_ETHER_TYPE_IPV4);
inline constexpr uint16_t kTypeIpv6 = be16(RTE_ETHER_TYPE_IPV6);
static_assert(kHeaderLen == 14);
static_assert(offsetof(rte_ether_hdr, ether_type) == kType);
}  // namespace eth

// ---- ARP for Ethernet/IPv4 (RFC 826) -------------------------------------------------------

namespace arp {
inline constexpr size_t kOp = 6;
inline constexpr size_t kSha = 8;   // sender hardware address
inline constexpr size_t kSpa = 14;  // sender protocol address
inline constexpr size_t kTha = 18;  // target hardware address
inline constexpr size_t kTpa = 24;  // target protocol address
inline constexpr size_t kLen = sizeof(rte_arp_hdr);
// htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4: the first six bytes of every ARP we handle.
inline constexpr uint8_t kEthernetIpv4Prefix[6] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04};
inline constexpr uint16_t kOpRequest = be16(RTE_ARP_OP_REQUEST);
inline constexpr uint16_t kOpReply = be16(RTE_ARP_OP_REPLY);
static_assert(kLen == 28);
static_assert(offsetof(rte_arp_hdr, arp_opcode) == kOp);
static_assert(offsetof(rte_arp_hdr, arp_data) + offsetof(rte_arp_ipv4, arp_tip) == kTpa);
}  // namespace arp

// ---- IPv4 (RFC 791) ------------------------------------------------------------------------

namespace ipv4 {
inline constexpr size_t kVersionIhl = 0;
inline constexpr size_t kTotalLength = 2;
inline constexpr size_t kFragment = 6;  // flags (reserved, DF, MF) and fragment offset
inline constexpr size_t kTtl = 8;
inline constexpr size_t kProtocol = 9;
inline constexpr size_t kChecksum = 10;
inline constexpr size_t kSrc = 12;
inline constexpr size_t kDst = 16;
inline constexpr size_t kMinHeaderLen = sizeof(rte_ipv4_hdr);
// MF set or a non-zero offset: the datagram is a fragment.
inline constexpr uint16_t kFragmentMask = be16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kReplyTtl = 64;  // RFC 1700 default TTL, what Linux uses
static_assert(kMinHeaderLen == 20);
static_assert(offsetof(rte_ipv4_hdr, fragment_offset) == kFragment);
static_assert(offsetof(rte_ipv4_hdr, hdr_checksum) == kChecksum);
static_assert(offsetof(rte_ipv4_hdr, dst_addr) == kDst);
}  // namespace ipv4

// ---- ICMP (RFC 792) ------------------------------------------------------------------------

namespace icmp {
inline constexpr size_t kType = 0;
inline constexpr size_t kCode = 1;
inline constexpr size_t kChecksum = 2;
inline constexpr size_t kHeaderLen = sizeof(rte_icmp_hdr);  // echo: type, code, sum, id, seq
inline constexpr uint8_t kEchoReply = RTE_IP_ICMP_ECHO_REPLY;
inline constexpr uint8_t kEchoRequest = RTE_IP_ICMP_ECHO_REQUEST;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr size_t kErrorHeaderLen = 8;  // type, code, checksum, unused / next-hop MTU
static_assert(kHeaderLen == 8);
static_assert(offsetof(rte_icmp_hdr, icmp_cksum) == kChecksum);
}  // namespace icmp

// ---- IPv6 (RFC 8200) -----------------------------------------------------------------------

namespace ipv6 {
inline constexpr size_t kVtcFlow = 0;
inline constexpr size_t kPayloadLength = 4;
inline constexpr size_t kNextHeader = 6;
inline constexpr size_t kHopLimit = 7;
inline constexpr size_t kSrc = 8;
inline constexpr size_t kDst = 24;
inline constexpr size_t kHeaderLen = sizeof(rte_ipv6_hdr);
inline constexpr size_t kAddrLen = 16;
inline constexpr uint8_t kProtoIcmpv6 = 58;
inline constexpr uint8_t kReplyHopLimit = 64;
static_assert(kHeaderLen == 40);
static_assert(offsetof(rte_ipv6_hdr, dst_addr) == kDst);

inline bool is_multicast(const uint8_t* a) { return a[0] == 0xff; }  // ff00::/8
inline bool is_link_local(const uint8_t* a) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
inline bool is_unspecified(const uint8_t* a) {
  return (load32(a) | load32(a + 4) | load32(a + 8) | load32(a + 12)) == 0;
}
inline bool is_loopback(const uint8_t* a) {
  return (load32(a) | load32(a + 4) | load32(a + 8)) == 0 && load32(a + 12) == be32(1);
}
// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
inline bool is_solicited_node(const uint8_t* a) {
  static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
  return std::memcmp(a, kPrefix, sizeof kPrefix) == 0;
}
inline constexpr uint8_t kAllNodes[kAddrLen] = {0xff, 0x02, 0, 0, 0, 0, 0, 0,
                                                0,    0,    0, 0, 0, 0, 0, 1};
// RFC 2464 §7: 33:33 followed by the low 32 bits of the group address.
inline constexpr uint8_t kAllNodesMac[kMacLen] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
}  // namespace ipv6

// ---- ICMPv6 (RFC 4443) and NDP (RFC 4861) --------------------------------------------------

namespace icmp6 {
inline constexpr size_t kType = 0;
inline constexpr size_t kCode = 1;
inline constexpr size_t kChecksum = 2;
inline constexpr size_t kHeaderLen = 4;
inline constexpr size_t kEchoHeaderLen = 8;  // type, code, checksum, identifier, sequence
inline constexpr uint8_t kDestUnreachable = 1;
inline constexpr uint8_t kPacketTooBig = 2;
inline constexpr uint8_t kTimeExceeded = 3;
inline constexpr size_t kErrorHeaderLen = 8;
inline constexpr uint8_t kEchoRequest = 128;
inline constexpr uint8_t kEchoReply = 129;
inline constexpr uint8_t kRouterSolicitation = 133;
inline constexpr uint8_t kNeighborSolicitation = 135;
inline constexpr uint8_t kNeighborAdvertisement = 136;
}  // namespace icmp6

namespace nd {
inline constexpr size_t kFlags = 4;  // NA: R, S, O in the top bits; NS: reserved
inline constexpr size_t kTarget = 8;
inline constexpr size_t kOptions = 24;  // NS and NA: fixed part is 24 bytes
inline constexpr uint8_t kHopLimit = 255;
inline constexpr uint32_t kFlagRouter = be32(0x80000000u);
inline constexpr uint32_t kFlagSolicited = be32(0x40000000u);
inline constexpr uint32_t kFlagOverride = be32(0x20000000u);
inline constexpr uint8_t kOptSourceLinkAddr = 1;
inline constexpr uint8_t kOptTargetLinkAddr = 2;
inline constexpr size_t kLinkAddrOptLen = 8;  // type, length (1 = 8 bytes), 6-byte MAC
// The NA Portico sends: NA fixed part plus one target link-layer address option.
inline constexpr size_t kAdvertLen = kOptions + kLinkAddrOptLen;
inline constexpr size_t kAdvertFrameLen = eth::kHeaderLen + ipv6::kHeaderLen + kAdvertLen;
static_assert(kAdvertFrameLen == 86);
}  // namespace nd

// ---- TCP (RFC 9293) and UDP (RFC 768) ------------------------------------------------------

namespace ipproto {
inline constexpr size_t kSrcPort = 0;  // both protocols start with the two ports
inline constexpr size_t kDstPort = 2;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpip = 4;   // IPv4 in IPv4 (RFC 2003)
inline constexpr uint8_t kProtoIpv6 = 41;  // IPv6 in IPv6 (RFC 2473)
}  // namespace ipproto

namespace tcp {
inline constexpr size_t kSeq = 4;
inline constexpr size_t kAck = 8;
inline constexpr size_t kDataOffset = 12;  // high nibble: header length in 32-bit words
inline constexpr size_t kFlags = 13;
inline constexpr size_t kWindow = 14;
inline constexpr size_t kChecksum = 16;
inline constexpr size_t kUrgent = 18;
inline constexpr size_t kMinHeaderLen = 20;
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kAckFlag = 0x10;
}  // namespace tcp

namespace udp {
inline constexpr size_t kLength = 4;
inline constexpr size_t kChecksum = 6;
inline constexpr size_t kHeaderLen = 8;
}  // namespace udp

}  // namespace nf::wire
