// Neighbor Discovery for the addresses Portico owns (RFC 4861): validation of Neighbor
// Solicitations and Advertisements (§7.1.1, §7.1.2), the solicited Neighbor Advertisement
// (§7.2.3, §7.2.4), the unsolicited one (§7.2.6), and duplicate address detection from the
// owner's side (RFC 4862 §5.4.3).
//
// Runs on worker lcores (per packet) and on the control thread (build_unsolicited_na). Every NS
// and NA that reaches this file is validated first; a message that fails is dropped as
// kNdpInvalid, checksum failures included (they are §7.1 checks). Beyond §7.1.1 an NS from a
// multicast source is refused, since its NA could not be addressed (RFC 4291 §2.7).
//
// An NS whose target is a VIP/SNAT address announced on this port becomes, in place, a
// Neighbor Advertisement from the target address with R=0, O=1 (Portico owns the address:
// §7.2.4's SHOULD for non-anycast, non-proxy addresses; MetalLB sends O=0) and one Target
// Link-Layer Address option carrying the port MAC. A normal NS gets S=1 and goes back to its
// source, at the link-layer address from its Source Link-Layer Address option, or at the
// frame's source MAC when it has none (unicast NUD probes usually carry none). A DAD NS
// (source ::) gets S=0 and goes to all-nodes (ff02::1, 33:33:00:00:00:01), which tells the
// other host the address is taken. The reply is always 86 bytes; the frame grows when the NS
// had no options, hence the room check. NS for any other target is punted to the kernel.
//
// An NA whose target is one of our VIP/SNAT addresses (on any port) advertised from a MAC other
// than the port's (its Target Link-Layer Address option, else the frame source) is a conflict.
#include <cstring>

#include "nf/checksum.h"
#include "nf/frame_steps.h"
#include "nf/wire.h"

namespace nf {
namespace {

using namespace wire;

// Walks the options of an NS/NA (RFC 4861 §4.6). Returns false if one has length 0 or runs past
// the message. *link_addr is set to the first option of type wanted, else left null.
bool scan_options(const uint8_t* opt, uint32_t remaining, uint8_t wanted,
                  const uint8_t** link_addr) {
  while (remaining != 0) {
    if (remaining < 2) return false;
    const uint32_t opt_len = opt[1] * 8u;
    if (opt_len == 0 || opt_len > remaining) return false;
    if (opt[0] == wanted && *link_addr == nullptr) *link_addr = opt + 2;
    opt += opt_len;
    remaining -= opt_len;
  }
  return true;
}

// The §7.1.1 / §7.1.2 checks both messages share: hop limit 255, code 0, at least the 24-byte
// fixed part, a target that is not multicast, a valid checksum, well-formed options.
bool valid_nd_message(const uint8_t* ip, uint32_t icmp_len, uint8_t wanted_option,
                      const uint8_t** link_addr) {
  const uint8_t* const msg = ip + ipv6::kHeaderLen;
  if (ip[ipv6::kHopLimit] != nd::kHopLimit || msg[icmp6::kCode] != 0 || icmp_len < nd::kOptions ||
      ipv6::is_multicast(msg + nd::kTarget)) {
    return false;
  }
  const uint64_t sum = csum::add_ipv6_pseudo_header(0, ip, icmp_len, ipv6::kProtoIcmpv6);
  if (!csum::verify(csum::add(sum, msg, icmp_len))) return false;
  return scan_options(msg + nd::kOptions, icmp_len - nd::kOptions, wanted_option, link_addr);
}

// Writes a complete 86-byte NA frame. Inputs must not point into the part of frame written.
void write_advert(uint8_t* frame, const uint8_t* eth_dst, const uint8_t* own_mac,
                  const uint8_t* target, const uint8_t* ip_dst, uint32_t flags) {
  constexpr uint16_t kTypeCode = be16(icmp6::kNeighborAdvertisement << 8);    // code 0
  constexpr uint16_t kOptTypeLength = be16(nd::kOptTargetLinkAddr << 8 | 1);  // 1 x 8 bytes

  copy_mac(frame + eth::kDst, eth_dst);
  copy_mac(frame + eth::kSrc, own_mac);
  store16(frame + eth::kType, eth::kTypeIpv6);

  uint8_t* const ip = frame + eth::kHeaderLen;
  store32(ip + ipv6::kVtcFlow, be32(6u << 28));
  store16(ip + ipv6::kPayloadLength, be16(nd::kAdvertLen));
  ip[ipv6::kNextHeader] = ipv6::kProtoIcmpv6;
  ip[ipv6::kHopLimit] = nd::kHopLimit;
  std::memcpy(ip + ipv6::kSrc, target, ipv6::kAddrLen);
  std::memcpy(ip + ipv6::kDst, ip_dst, ipv6::kAddrLen);

  uint8_t* const msg = ip + ipv6::kHeaderLen;
  store16(msg + icmp6::kType, kTypeCode);
  store32(msg + nd::kFlags, flags);
  std::memcpy(msg + nd::kTarget, target, ipv6::kAddrLen);
  uint8_t* const opt = msg + nd::kOptions;
  store16(opt, kOptTypeLength);
  copy_mac(opt + 2, own_mac);

  // Summed from the inputs, not read back from the bytes just written (loads spanning fresh
  // narrow stores are not store-forwarded). The target counts twice: IPv6 source and NA target.
  uint64_t sum = 2 * csum::add(0, target, ipv6::kAddrLen);
  sum = csum::add(sum, ip_dst, ipv6::kAddrLen);
  sum += be32(nd::kAdvertLen) + be32(ipv6::kProtoIcmpv6);  // rest of the pseudo-header
  sum += kTypeCode + flags + kOptTypeLength;
  sum = csum::add(sum, own_mac, kMacLen);
  store16(msg + icmp6::kChecksum, csum::finish(sum));
}

}  // namespace

namespace detail {

Outcome handle_neighbor_solicitation(uint8_t* frame, uint16_t* len, uint16_t room,
                                     uint32_t icmp_len, const PortContext& port,
                                     const AddressTable& addresses) {
  const uint8_t* const ip = frame + eth::kHeaderLen;
  const uint8_t* const src = ip + ipv6::kSrc;
  const uint8_t* source_link = nullptr;
  if (ipv6::is_multicast(src) ||
      !valid_nd_message(ip, icmp_len, nd::kOptSourceLinkAddr, &source_link)) {
    return drop(DropReason::kNdpInvalid);
  }
  const bool dad = ipv6::is_unspecified(src);
  if (dad && (!ipv6::is_solicited_node(ip + ipv6::kDst) || source_link != nullptr)) {
    return drop(DropReason::kNdpInvalid);
  }
  const uint8_t* const target = ip + ipv6::kHeaderLen + nd::kTarget;
  if (!is_announced_on(addresses.find_v6(target), port.index)) return punt();
  if (room < nd::kAdvertFrameLen) return drop(DropReason::kNoRoom);

  // Copy what the reply needs out of the request before overwriting it.
  uint8_t eth_dst[kMacLen];
  uint8_t ip_dst[ipv6::kAddrLen];
  uint8_t target_addr[ipv6::kAddrLen];
  std::memcpy(target_addr, target, sizeof target_addr);
  if (dad) {
    copy_mac(eth_dst, ipv6::kAllNodesMac);
    std::memcpy(ip_dst, ipv6::kAllNodes, sizeof ip_dst);
  } else {
    copy_mac(eth_dst, source_link != nullptr ? source_link : frame + eth::kSrc);
    std::memcpy(ip_dst, src, sizeof ip_dst);
  }
  const uint32_t flags = dad ? nd::kFlagOverride : nd::kFlagSolicited | nd::kFlagOverride;
  write_advert(frame, eth_dst, port.mac.addr_bytes, target_addr, ip_dst, flags);
  *len = nd::kAdvertFrameLen;
  return reply(ReplyKind::kNeighborAdvert);
}

Outcome handle_neighbor_advertisement(const uint8_t* frame, uint32_t icmp_len, bool to_group,
                                      const PortContext& port, const AddressTable& addresses) {
  const uint8_t* const ip = frame + eth::kHeaderLen;
  const uint8_t* target_link = nullptr;
  if (!valid_nd_message(ip, icmp_len, nd::kOptTargetLinkAddr, &target_link)) {
    return drop(DropReason::kNdpInvalid);
  }
  // §7.1.2: a solicited NA is never sent to a multicast address.
  const uint8_t* const msg = ip + ipv6::kHeaderLen;
  if (ipv6::is_multicast(ip + ipv6::kDst) && (load32(msg + nd::kFlags) & nd::kFlagSolicited)) {
    return drop(DropReason::kNdpInvalid);
  }
  if (is_ours(addresses.find_v6(msg + nd::kTarget))) {
    const uint8_t* const advertised = target_link != nullptr ? target_link : frame + eth::kSrc;
    if (!mac_equal(advertised, port.mac.addr_bytes)) return drop(DropReason::kNdpConflict);
  }
  return to_group ? punt() : drop(DropReason::kVipNoService);
}

}  // namespace detail

uint16_t build_unsolicited_na(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              const uint8_t ip6[16]) {
  if (room < nd::kAdvertFrameLen) return 0;
  write_advert(buf, ipv6::kAllNodesMac, mac.addr_bytes, ip6, ipv6::kAllNodes, nd::kFlagOverride);
  return nd::kAdvertFrameLen;
}

}  // namespace nf
