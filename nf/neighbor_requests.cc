// Neighbor resolution requests the control thread sends for next hops (backends, gateways):
// an ARP request (RFC 826) and a Neighbor Solicitation (RFC 4861 §7.2.2), multicast to the
// target's solicited-node address for a first resolution, or unicast to its known MAC for a
// reachability probe (§7.3.3). Workers learn the answer from the ARP reply / NA (l4.cc).
#include <cstring>

#include "nf/checksum.h"
#include "nf/frame_handler.h"
#include "nf/wire.h"

namespace nf {

using namespace wire;

uint16_t build_arp_request(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                           uint32_t sender_be, uint32_t target_be) {
  constexpr uint16_t kFrameLen = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;  // padded to 60
  static constexpr uint8_t kBroadcast[kMacLen] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  if (room < kFrameLen) return 0;
  std::memset(buf, 0, kFrameLen);
  copy_mac(buf + eth::kDst, kBroadcast);
  copy_mac(buf + eth::kSrc, mac.addr_bytes);
  store16(buf + eth::kType, eth::kTypeArp);
  uint8_t* const a = buf + eth::kHeaderLen;
  std::memcpy(a, arp::kEthernetIpv4Prefix, sizeof arp::kEthernetIpv4Prefix);
  store16(a + arp::kOp, arp::kOpRequest);
  copy_mac(a + arp::kSha, mac.addr_bytes);
  store32(a + arp::kSpa, sender_be);
  store32(a + arp::kTpa, target_be);
  return kFrameLen;
}

uint16_t build_neighbor_solicitation(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                                     const uint8_t src[16], const uint8_t target[16],
                                     const uint8_t* dst_mac) {
  constexpr uint32_t kMsgLen = nd::kOptions + nd::kLinkAddrOptLen;  // NS + source LL option
  constexpr uint16_t kFrameLen = eth::kHeaderLen + ipv6::kHeaderLen + kMsgLen;
  if (room < kFrameLen) return 0;
  std::memset(buf, 0, kFrameLen);
  uint8_t dst[16];
  uint8_t group_mac[kMacLen];
  if (dst_mac == nullptr) {
    // ff02::1:ffXX:XXXX and its MAC 33:33:ff:XX:XX:XX (RFC 4291 §2.7.1, RFC 2464 §7).
    static constexpr uint8_t kPrefix[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
    std::memcpy(dst, kPrefix, 13);
    std::memcpy(dst + 13, target + 13, 3);
    group_mac[0] = group_mac[1] = 0x33;
    std::memcpy(group_mac + 2, dst + 12, 4);
    dst_mac = group_mac;
  } else {
    std::memcpy(dst, target, 16);
  }
  copy_mac(buf + eth::kDst, dst_mac);
  copy_mac(buf + eth::kSrc, mac.addr_bytes);
  store16(buf + eth::kType, eth::kTypeIpv6);
  uint8_t* const ip = buf + eth::kHeaderLen;
  store32(ip + ipv6::kVtcFlow, be32(6u << 28));
  store16(ip + ipv6::kPayloadLength, be16(kMsgLen));
  ip[ipv6::kNextHeader] = ipv6::kProtoIcmpv6;
  ip[ipv6::kHopLimit] = nd::kHopLimit;
  std::memcpy(ip + ipv6::kSrc, src, 16);
  std::memcpy(ip + ipv6::kDst, dst, 16);
  uint8_t* const msg = ip + ipv6::kHeaderLen;
  msg[icmp6::kType] = icmp6::kNeighborSolicitation;
  std::memcpy(msg + nd::kTarget, target, 16);
  msg[nd::kOptions] = nd::kOptSourceLinkAddr;
  msg[nd::kOptions + 1] = 1;
  copy_mac(msg + nd::kOptions + 2, mac.addr_bytes);
  const uint64_t sum = csum::add_ipv6_pseudo_header(0, ip, kMsgLen, ipv6::kProtoIcmpv6);
  store16(msg + icmp6::kChecksum, csum::finish(csum::add(sum, msg, kMsgLen)));
  return kFrameLen;
}

}  // namespace nf
