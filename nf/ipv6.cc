// IPv6 header validation (RFC 8200) and ICMPv6 echo for VIP/SNAT addresses (RFC 4443 §4),
// run per packet by worker lcores. NDP messages are handed to ndp.cc.
//
// Only the fixed header is parsed: extension headers are not walked, so a packet whose next
// header is not ICMPv6 is judged by its destination alone. The payload length rules over the
// frame length (Ethernet padding allowed). Destinations:
//  * multicast (ff00::/8) and link-local (fe80::/10): NS for an address we announce on this
//    port is answered, an NA claiming one of our addresses is a conflict, the rest is punted;
//  * a node address: punted; a VIP/SNAT address: NS answered, echo answered, the rest is
//    kVipNoService; anything else: kNotForUs.
//
// Echo replies are built in place: addresses swapped (the pseudo-header sum does not change),
// hop limit 64, type 129 with an incremental checksum update (RFC 1624); the frame is exactly
// 14 + 40 + payload length bytes. Requests from the unspecified, loopback or a multicast source
// cannot be answered (RFC 4291 §2.5.2, §2.5.3, §2.7) and are dropped as kIcmpv6Malformed.
#include <cstring>

#include "nf/checksum.h"
#include "nf/frame_steps.h"
#include "nf/wire.h"

namespace nf::detail {
namespace {

using namespace wire;

Outcome answer_echo_v6(uint8_t* frame, uint16_t* len, const PortContext& port, uint32_t icmp_len) {
  uint8_t* const ip = frame + eth::kHeaderLen;
  uint8_t* const msg = ip + ipv6::kHeaderLen;
  const uint8_t* const src = ip + ipv6::kSrc;
  if (icmp_len < icmp6::kEchoHeaderLen || msg[icmp6::kCode] != 0 || ipv6::is_multicast(src) ||
      ipv6::is_unspecified(src) || ipv6::is_loopback(src)) {
    return drop(DropReason::kIcmpv6Malformed);
  }
  uint64_t sum = csum::add_ipv6_pseudo_header(0, ip, icmp_len, ipv6::kProtoIcmpv6);
  if (!csum::verify(csum::add(sum, msg, icmp_len))) return drop(DropReason::kIcmpv6BadChecksum);

  uint8_t tmp[ipv6::kAddrLen];
  std::memcpy(tmp, ip + ipv6::kSrc, sizeof tmp);
  std::memcpy(ip + ipv6::kSrc, ip + ipv6::kDst, sizeof tmp);
  std::memcpy(ip + ipv6::kDst, tmp, sizeof tmp);
  ip[ipv6::kHopLimit] = ipv6::kReplyHopLimit;

  turn_echo_around(frame, msg, icmp6::kEchoRequest, icmp6::kEchoReply, port);
  *len = static_cast<uint16_t>(eth::kHeaderLen + ipv6::kHeaderLen + icmp_len);
  return reply(ReplyKind::kEchoReplyV6);
}

}  // namespace

Outcome handle_ipv6(uint8_t* frame, uint16_t* len, uint16_t room, uint16_t headroom,
                    const PortContext& port, const AddressTable& addresses, L4Context* l4) {
  if (*len < eth::kHeaderLen + ipv6::kHeaderLen) return drop(DropReason::kIpv6Malformed);
  const uint8_t* const ip = frame + eth::kHeaderLen;
  const uint32_t payload_len = load_be16(ip + ipv6::kPayloadLength);
  if ((ip[ipv6::kVtcFlow] >> 4) != 6 || payload_len > *len - eth::kHeaderLen - ipv6::kHeaderLen) {
    return drop(DropReason::kIpv6Malformed);
  }

  const uint8_t* const dst = ip + ipv6::kDst;
  const bool to_group = ipv6::is_multicast(dst) || ipv6::is_link_local(dst);
  const uint8_t next = ip[ipv6::kNextHeader];
  if (!to_group) {
    const AddressInfo* const info = addresses.find_v6(dst);
    if (info == nullptr) return drop(DropReason::kNotForUs);
    if ((info->flags & kAddrNode) != 0) return punt();
    if (!is_ours(info)) return drop(DropReason::kNotForUs);
    if (l4 != nullptr) {
      if (next == ipproto::kProtoTcp || next == ipproto::kProtoUdp) {
        return l4_ipv6(frame, len, headroom, port, payload_len, *info, *l4);
      }
      if (next == ipv6::kProtoIcmpv6 && payload_len >= icmp6::kHeaderLen) {
        const uint8_t type = ip[ipv6::kHeaderLen + icmp6::kType];
        if (type == icmp6::kDestUnreachable || type == icmp6::kPacketTooBig ||
            type == icmp6::kTimeExceeded) {
          return l4_ipv6(frame, len, headroom, port, payload_len, *info, *l4);
        }
      }
    }
  }
  // Past this point the destination is a group/link-local address or a VIP/SNAT address.
  const Outcome not_handled = to_group ? punt() : drop(DropReason::kVipNoService);
  if (next != ipv6::kProtoIcmpv6) return not_handled;
  if (payload_len < icmp6::kHeaderLen) return drop(DropReason::kIcmpv6Malformed);

  switch (ip[ipv6::kHeaderLen + icmp6::kType]) {
    case icmp6::kNeighborSolicitation:
      return handle_neighbor_solicitation(frame, len, room, payload_len, port, addresses);
    case icmp6::kNeighborAdvertisement:
      return handle_neighbor_advertisement(frame, payload_len, to_group, port, addresses);
    case icmp6::kEchoRequest:
      return to_group ? punt() : answer_echo_v6(frame, len, port, payload_len);
    default:
      return not_handled;
  }
}

}  // namespace nf::detail
