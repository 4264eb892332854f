// The per-frame decision of the data plane for traffic that arrives on an uplink port.
//
// handle_frame() looks at one Ethernet frame and either turns it, in place, into the reply
// Portico sends back out the same port (ARP reply, NDP neighbor advertisement, ICMP/ICMPv6 echo
// reply), or says that the kernel should have it (punt to the exception tap), or drops it under
// a named reason. It is a pure function over a buffer: no mbufs, no EAL, no allocation, no
// syscalls, so unit tests and benchmarks call it directly and workers call it per packet.
//
// Rules (RFC 826, RFC 4861, RFC 792, RFC 4443; see docs/architecture.md):
//  * ARP request for an address with kAddrVip/kAddrSnat announced on this port -> reply with
//    the port's MAC. Other ARP -> punt (the kernel learns neighbours and answers for the node).
//  * IPv6 NS for such an address -> solicited NA (S=1, O=1, R=0, target link-layer option).
//  * ICMP/ICMPv6 echo request to a VIP/SNAT address -> echo reply.
//  * Anything else to a VIP -> drop kVipNoService (L4/L7 come with later issues).
//  * To a node address, IPv4 broadcast/multicast, IPv6 link-local/multicast -> punt.
//  * Unicast frames for another MAC, unknown ethertypes, malformed headers -> counted drops.
#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "nf/address_table.h"
#include "nf/drop_reason.h"

namespace nf {

struct PortContext {
  rte_ether_addr mac;  // the port's MAC: source of replies, our unicast destination
  uint8_t index = 0;   // interface index (bit in AddressInfo::announce_ports)
};

enum class Action : uint8_t {
  kDrop,   // count verdict.drop and free
  kReply,  // the frame was rewritten in place; transmit it out the port it came in on
  kPunt,   // hand the frame unchanged to the kernel tap of this port
};

enum class ReplyKind : uint8_t { kArpReply, kNeighborAdvert, kEchoReply, kEchoReplyV6, kCount };

struct Verdict {
  Action action = Action::kDrop;
  DropReason drop = DropReason::kNotForUs;  // meaningful when action == kDrop
  ReplyKind reply = ReplyKind::kArpReply;   // meaningful when action == kReply
};

// frame: start of the Ethernet header; *len: frame length (updated when the reply is longer or
// shorter than the request); room: bytes writable from frame (len + tailroom).
Verdict handle_frame(uint8_t* frame, uint16_t* len, uint16_t room, const PortContext& port,
                     const AddressTable& addresses);

// Announcements the control thread sends when an address appears (RFC 5227 / RFC 4861 7.2.6).
// Each writes a complete frame into buf and returns its length, or 0 if room is too small.
// Gratuitous ARP: broadcast, sender = target = ip, sender MAC = mac; `reply` selects op 2 vs 1.
uint16_t build_gratuitous_arp(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              uint32_t ip_be, bool reply);
// Unsolicited NA to ff02::1: S=0, O=1, target link-layer address option = mac.
uint16_t build_unsolicited_na(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              const uint8_t ip6[16]);

}  // namespace nf
