// IPv4 header validation (RFC 791, RFC 1122 §3.2.1) and ICMP echo for VIP/SNAT addresses
// (RFC 792, RFC 1122 §3.2.2.6), run per packet by worker lcores.
//
// Checks, in order: version, IHL and total length against the bytes present (Ethernet padding
// after the datagram is allowed: the total length rules), then the header checksum. The
// destination decides the rest: limited broadcast and multicast go to the kernel, node
// addresses go to the kernel, VIP/SNAT addresses are handled here, anything else is not ours.
//
// Echo replies are built in place: addresses swapped, TTL 64, type 0; the IP and ICMP checksums
// are updated incrementally (RFC 1624), the rest of the header (TOS, ID, DF) is kept. IP
// options are not echoed (RFC 1122 §3.2.2.6 asks for record-route/timestamp to be updated and
// source routes reversed, which a VIP does not do): the reply carries none, its ICMP message is
// moved up and its header checksum recomputed. The reply frame is exactly 14 + total length
// bytes. Echo requests from a source no reply may go to (0/8, 127/8, multicast, reserved and
// broadcast: RFC 1122 §3.2.1.3) are dropped as kIcmpMalformed.
#include <cstring>

#include "nf/checksum.h"
#include "nf/frame_steps.h"
#include "nf/wire.h"

namespace nf::detail {
namespace {

using namespace wire;

// 0.0.0.0/8, 127.0.0.0/8 and 224.0.0.0/3 (multicast, reserved, 255.255.255.255).
bool is_unanswerable_source(const uint8_t* addr) {
  return addr[0] == 0 || addr[0] == 127 || addr[0] >= 224;
}

Outcome answer_echo(uint8_t* frame, uint16_t* len, const PortContext& port, uint32_t ihl,
                    uint32_t total) {
  uint8_t* const ip = frame + eth::kHeaderLen;
  uint8_t* icmp_msg = ip + ihl;
  const uint32_t icmp_len = total - ihl;
  if (icmp_len < icmp::kHeaderLen) return drop(DropReason::kIcmpMalformed);
  if (icmp_msg[icmp::kType] != icmp::kEchoRequest) return drop(DropReason::kVipNoService);
  if (icmp_msg[icmp::kCode] != 0 || is_unanswerable_source(ip + ipv4::kSrc)) {
    return drop(DropReason::kIcmpMalformed);
  }
  if (!csum::verify(csum::add(0, icmp_msg, icmp_len))) {
    return drop(DropReason::kIcmpBadChecksum);
  }

  const uint32_t src = load32(ip + ipv4::kSrc);
  store32(ip + ipv4::kSrc, load32(ip + ipv4::kDst));
  store32(ip + ipv4::kDst, src);
  if (ihl == ipv4::kMinHeaderLen) [[likely]] {
    // TTL shares a word with the protocol. New words are built in registers, never read back
    // from bytes just stored (that load could not be store-forwarded).
    const uint16_t old_word = load16(ip + ipv4::kTtl);
    const uint8_t new_bytes[2] = {ipv4::kReplyTtl, ip[ipv4::kProtocol]};
    const uint16_t new_word = load16(new_bytes);
    store16(ip + ipv4::kTtl, new_word);
    store16(ip + ipv4::kChecksum, csum::update16(load16(ip + ipv4::kChecksum), old_word, new_word));
  } else {
    std::memmove(ip + ipv4::kMinHeaderLen, icmp_msg, icmp_len);
    icmp_msg = ip + ipv4::kMinHeaderLen;
    total = ipv4::kMinHeaderLen + icmp_len;
    ip[ipv4::kVersionIhl] = 0x45;
    store16(ip + ipv4::kTotalLength, be16(static_cast<uint16_t>(total)));
    ip[ipv4::kTtl] = ipv4::kReplyTtl;
    store16(ip + ipv4::kChecksum, 0);
    store16(ip + ipv4::kChecksum, csum::finish(csum::add(0, ip, ipv4::kMinHeaderLen)));
  }

  turn_echo_around(frame, icmp_msg, icmp::kEchoRequest, icmp::kEchoReply, port);
  *len = static_cast<uint16_t>(eth::kHeaderLen + total);
  return reply(ReplyKind::kEchoReply);
}

}  // namespace

Outcome handle_ipv4(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                    const AddressTable& addresses, L4Context* l4) {
  const uint32_t avail = *len - eth::kHeaderLen;
  if (avail < ipv4::kMinHeaderLen) return drop(DropReason::kIpv4Malformed);
  const uint8_t* const ip = frame + eth::kHeaderLen;
  const uint8_t version_ihl = ip[ipv4::kVersionIhl];
  const uint32_t ihl = (version_ihl & 0x0fu) * 4u;
  const uint32_t total = load_be16(ip + ipv4::kTotalLength);
  if ((version_ihl >> 4) != 4 || ihl < ipv4::kMinHeaderLen || ihl > avail || total < ihl ||
      total > avail) {
    return drop(DropReason::kIpv4Malformed);
  }
  // The fixed 20 bytes with a constant length (unrolled), then any options.
  uint64_t sum = csum::add(0, ip, ipv4::kMinHeaderLen);
  if (ihl > ipv4::kMinHeaderLen) {
    sum = csum::add(sum, ip + ipv4::kMinHeaderLen, ihl - ipv4::kMinHeaderLen);
  }
  if (!csum::verify(sum)) return drop(DropReason::kIpv4BadChecksum);

  // 224.0.0.0/4 multicast and the limited broadcast belong to the kernel.
  const uint32_t dst = load32(ip + ipv4::kDst);
  if ((ip[ipv4::kDst] & 0xf0) == 0xe0 || dst == 0xffffffffu) return punt();
  const AddressInfo* const info = addresses.find_v4(dst);
  if (info == nullptr) return drop(DropReason::kNotForUs);
  if ((info->flags & kAddrNode) != 0) return punt();
  if (!is_ours(info)) return drop(DropReason::kNotForUs);

  if ((load16(ip + ipv4::kFragment) & ipv4::kFragmentMask) != 0) {
    return drop(DropReason::kIpv4Fragment);
  }
  const uint8_t proto = ip[ipv4::kProtocol];
  if (proto == ipv4::kProtoIcmp) {
    const uint8_t type = total - ihl >= 1 ? ip[ihl + icmp::kType] : 0;
    if (l4 != nullptr && (type == icmp::kDestUnreachable || type == icmp::kTimeExceeded)) {
      return l4_ipv4(frame, len, headroom, port, ihl, total - ihl, *info, *l4);
    }
    return answer_echo(frame, len, port, ihl, total);
  }
  if (l4 == nullptr || (proto != ipproto::kProtoTcp && proto != ipproto::kProtoUdp)) {
    return drop(DropReason::kVipNoService);
  }
  return l4_ipv4(frame, len, headroom, port, ihl, total - ihl, *info, *l4);
}

}  // namespace nf::detail
