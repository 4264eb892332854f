// ARP for the addresses Portico owns (RFC 826), conflict detection (RFC 5227 §2.4) and the
// gratuitous ARP announcement (RFC 5227 §3).
//
// Runs on worker lcores (handle_arp, per packet) and on the control thread
// (build_gratuitous_arp). A request for a VIP/SNAT address announced on the receiving port is
// turned into the reply in place: the frame keeps its length (Ethernet padding included), only
// the Ethernet addresses, the opcode and the four ARP address fields change. ARP probes
// (sender IP 0.0.0.0, RFC 5227 §2.1.1) are answered the same way; the reply's target IP is then
// 0.0.0.0, which is what the prober looks for.
//
// Any ARP packet whose sender IP is one of our VIP/SNAT addresses and whose sender MAC is not
// the port's is a conflict (another host uses our address): it is dropped as kArpConflict and
// never answered, whatever its opcode. The check is skipped for requests we answer (the sender
// of a request we reply to is a client, not us), so the reply path does one table lookup.
// Everything else goes to the kernel, which learns neighbours from it and answers for the
// node's own addresses.
#include <cstring>

#include "nf/frame_steps.h"
#include "nf/wire.h"

namespace nf {
namespace detail {

using namespace wire;

Outcome handle_arp(uint8_t* frame, uint16_t len, const PortContext& port,
                   const AddressTable& addresses) {
  if (len < eth::kHeaderLen + arp::kLen) return drop(DropReason::kArpMalformed);
  uint8_t* const a = frame + eth::kHeaderLen;
  if (std::memcmp(a, arp::kEthernetIpv4Prefix, sizeof arp::kEthernetIpv4Prefix) != 0) {
    return drop(DropReason::kArpMalformed);
  }
  const uint8_t* const port_mac = port.mac.addr_bytes;
  const uint32_t spa = load32(a + arp::kSpa);
  const uint32_t tpa = load32(a + arp::kTpa);

  if (load16(a + arp::kOp) == arp::kOpRequest && spa != tpa &&
      is_announced_on(addresses.find_v4(tpa), port.index)) {
    copy_mac(frame + eth::kDst, frame + eth::kSrc);
    copy_mac(frame + eth::kSrc, port_mac);
    store16(a + arp::kOp, arp::kOpReply);
    copy_mac(a + arp::kTha, a + arp::kSha);
    store32(a + arp::kTpa, spa);
    copy_mac(a + arp::kSha, port_mac);
    store32(a + arp::kSpa, tpa);
    return reply(ReplyKind::kArpReply);
  }

  // Not answered here. A gratuitous ARP (sender IP == target IP) for our address lands here too.
  if (spa != 0 && is_ours(addresses.find_v4(spa)) && !mac_equal(a + arp::kSha, port_mac)) {
    return drop(DropReason::kArpConflict);
  }
  return punt();
}

}  // namespace detail

// RFC 5227 §3: an announcement is a broadcast ARP request with sender IP = target IP and the
// target MAC "ignored and SHOULD be set to all zeroes". The gratuitous reply form (op 2) is
// not in RFC 5227; we fill its target MAC with the broadcast address, as MetalLB does. The
// frame is padded to the 60-byte Ethernet minimum so no NIC or virtual port has to.
uint16_t build_gratuitous_arp(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              uint32_t ip_be, bool reply) {
  using namespace wire;
  constexpr uint16_t kFrameLen = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
  static_assert(kFrameLen >= eth::kHeaderLen + arp::kLen);
  static constexpr uint8_t kBroadcast[kMacLen] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static constexpr uint8_t kZero[kMacLen] = {};
  if (room < kFrameLen) return 0;

  std::memset(buf, 0, kFrameLen);
  copy_mac(buf + eth::kDst, kBroadcast);
  copy_mac(buf + eth::kSrc, mac.addr_bytes);
  store16(buf + eth::kType, eth::kTypeArp);
  uint8_t* const a = buf + eth::kHeaderLen;
  std::memcpy(a, arp::kEthernetIpv4Prefix, sizeof arp::kEthernetIpv4Prefix);
  store16(a + arp::kOp, reply ? arp::kOpReply : arp::kOpRequest);
  copy_mac(a + arp::kSha, mac.addr_bytes);
  store32(a + arp::kSpa, ip_be);
  copy_mac(a + arp::kTha, reply ? kBroadcast : kZero);
  store32(a + arp::kTpa, ip_be);
  return kFrameLen;
}

}  // namespace nf
