// The per-protocol steps of handle_frame(), one source file each: arp.cc (RFC 826, RFC 5227),
// ipv4.cc (RFC 791, RFC 792, RFC 1122), ipv6.cc (RFC 8200, RFC 4443) and ndp.cc (RFC 4861).
//
// Private to nf/. frame_handler.cc checks the Ethernet header and tail-calls one of these; each
// takes the whole frame (Ethernet header first) whose length is at least 14 bytes. Shared rules:
// nothing is written before the decision to reply is taken, so punted and dropped frames are
// left unchanged, and *len only changes on a reply.
#pragma once

#include <cstdint>

#include "nf/address_table.h"
#include "nf/checksum.h"
#include "nf/frame_handler.h"
#include "nf/wire.h"

namespace nf::detail {

// A step's decision packed in one integer: action, drop reason and reply (or forward) kind in
// the low three bytes, in the order of Verdict's fields, and the port in the high byte. Steps
// return this rather than Verdict because GCC assembles a returned 3-byte struct from separate byte
// stores read back as one word, which defeats store-to-load forwarding (in a micro-benchmark that
// stall cost more than the rest of the ARP reply path); an integer stays in a register.
// handle_frame() converts once.
class Outcome {
 public:
  static constexpr Outcome drop(DropReason reason) {
    return Outcome(pack(Action::kDrop, reason, ReplyKind::kArpReply));
  }
  static constexpr Outcome punt() {
    return Outcome(pack(Action::kPunt, DropReason::kNotForUs, ReplyKind::kArpReply));
  }
  static constexpr Outcome reply(ReplyKind kind) {
    return Outcome(pack(Action::kReply, DropReason::kNotForUs, kind));
  }
  static constexpr Outcome forward(ForwardKind kind, uint8_t port) {
    return Outcome(static_cast<uint32_t>(Action::kForward) | static_cast<uint32_t>(kind) << 16 |
                   static_cast<uint32_t>(port) << 24);
  }
  static constexpr Outcome hold(ForwardKind kind, uint8_t port) {
    return Outcome(static_cast<uint32_t>(Action::kHold) | static_cast<uint32_t>(kind) << 16 |
                   static_cast<uint32_t>(port) << 24);
  }
  static constexpr Outcome consume() {
    return Outcome(pack(Action::kConsume, DropReason::kNotForUs, ReplyKind::kArpReply));
  }
  static constexpr Outcome handoff(uint8_t worker) {
    return Outcome(static_cast<uint32_t>(Action::kHandoff) | static_cast<uint32_t>(worker) << 24);
  }

  Verdict verdict() const {
    uint32_t bits = bits_;
    // Opaque to the optimiser, so it converts the integer as a whole (one AND) instead of
    // splitting it back into per-path byte constants and repacking them through the stack.
    asm("" : "+r"(bits));
    Verdict v;
    v.action = static_cast<Action>(bits & 0xff);
    v.drop = static_cast<DropReason>((bits >> 8) & 0xff);
    v.reply = static_cast<ReplyKind>((bits >> 16) & 0xff);
    v.forward = static_cast<ForwardKind>((bits >> 16) & 0xff);
    v.port = static_cast<uint8_t>(bits >> 24);
    return v;
  }

 private:
  constexpr explicit Outcome(uint32_t bits) : bits_(bits) {}
  static constexpr uint32_t pack(Action a, DropReason d, ReplyKind r) {
    return static_cast<uint32_t>(a) | static_cast<uint32_t>(d) << 8 |
           static_cast<uint32_t>(r) << 16;
  }
  uint32_t bits_;
};

constexpr Outcome drop(DropReason reason) { return Outcome::drop(reason); }
constexpr Outcome punt() { return Outcome::punt(); }
constexpr Outcome reply(ReplyKind kind) { return Outcome::reply(kind); }
constexpr Outcome forward(ForwardKind kind, uint8_t port) { return Outcome::forward(kind, port); }
constexpr Outcome handoff(uint8_t worker) { return Outcome::handoff(worker); }
constexpr Outcome consume() { return Outcome::consume(); }
constexpr Outcome hold(ForwardKind kind, uint8_t port) { return Outcome::hold(kind, port); }

// Echo request -> echo reply in place, for ICMP (RFC 792) and ICMPv6 (RFC 4443) alike: the
// type changes, the code stays 0 and the checksum follows incrementally (RFC 1624); the frame
// goes back to its sender from the port's MAC. Addresses and lengths are the caller's part.
inline void turn_echo_around(uint8_t* frame, uint8_t* msg, uint8_t request_type, uint8_t reply_type,
                             const PortContext& port) {
  using namespace nf::wire;
  static_assert(icmp::kType == icmp6::kType && icmp::kChecksum == icmp6::kChecksum);
  const uint16_t request_word = be16(static_cast<uint16_t>(request_type << 8));
  const uint16_t reply_word = be16(static_cast<uint16_t>(reply_type << 8));
  store16(msg + icmp::kType, reply_word);
  store16(msg + icmp::kChecksum,
          csum::update16(load16(msg + icmp::kChecksum), request_word, reply_word));
  copy_mac(frame + eth::kDst, frame + eth::kSrc);
  copy_mac(frame + eth::kSrc, port.mac.addr_bytes);
}

// A VIP or SNAT address: Portico, not the kernel, speaks for it.
inline bool is_ours(const AddressInfo* info) {
  return info != nullptr && (info->flags & (kAddrVip | kAddrSnat)) != 0;
}

// Ours, and ARP/NDP for it is answered on this port.
inline bool is_announced_on(const AddressInfo* info, uint8_t port_index) {
  return is_ours(info) && port_index < 32 && ((info->announce_ports >> port_index) & 1u) != 0;
}

Outcome handle_arp(uint8_t* frame, uint16_t len, const PortContext& port,
                   const AddressTable& addresses);
Outcome handle_ipv4(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                    const AddressTable& addresses, L4Context* l4);
Outcome handle_ipv6(uint8_t* frame, uint16_t* len, uint16_t room, uint16_t headroom,
                    const PortContext& port, const AddressTable& addresses, L4Context* l4);

// The L4 path (l4.cc), for a datagram to a VIP or SNAT address (`info`) that passed the IP
// checks and is not a fragment. ip_hlen: IPv4 header length (options included) or 40; l4_len:
// bytes after the IP header. proto: TCP, UDP, ICMP or ICMPv6 (errors only reach here).
Outcome l4_ipv4(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                uint32_t ip_hlen, uint32_t l4_len, const AddressInfo& info, L4Context& l4);
Outcome l4_ipv6(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                uint32_t l4_len, const AddressInfo& info, L4Context& l4);
// The L7 path (l7.cc). A TCP segment (header checked: data offset within tcp_len) to an L7
// listener or of an L7 connection; frame, ip and tcp point into the same buffer.
struct TcpPacket {
  uint8_t* frame;
  uint16_t* len;
  uint8_t* ip;
  uint8_t* tcp;
  uint32_t ip_hlen;
  uint32_t tcp_len;  // TCP header and payload
  bool v6;
  uint8_t port;  // interface it arrived on
};
// A segment to a listener with no connection record: SYN -> cookie, ACK -> a connection.
Outcome l7_listener(const TcpPacket& p, const lb::Service& svc, uint32_t hash, L4Context& l4);
// Segments of an L7 connection (Conn::mode == lb::Mode::kL7) from the client / the backend.
Outcome l7_client(const TcpPacket& p, Conn* c, L4Context& l4);
Outcome l7_backend(const TcpPacket& p, Conn* c, L4Context& l4);
// l4.cc for l7.cc: gives an L7 connection its backend and a SNAT address and port of this
// worker, indexing the reply tuple (backend -> SNAT). False if no SNAT address or port is free.
bool open_backend_tuple(Conn* c, const lb::Backend& b, uint32_t hash, L4Context& l4);
// The MAC of a next hop, or false (a resolution request is queued).
bool l7_next_hop_mac(L4Context& l4, uint16_t nexthop, uint8_t mac[6]);

// Neighbor learning from ARP (sender) and NDP (NA target / NS source), for known next hops.
void learn_from_arp(const uint8_t* frame, uint16_t len, L4Context& l4);
void learn_from_ndp(const uint8_t* frame, uint16_t len, L4Context& l4);

// NDP, called by handle_ipv6 for ICMPv6 types 135 and 136. icmp_len is the IPv6 payload length
// (no extension headers) and at least 4. to_group: the IPv6 destination is multicast or
// link-local rather than one of our unicast addresses.
Outcome handle_neighbor_solicitation(uint8_t* frame, uint16_t* len, uint16_t room,
                                     uint32_t icmp_len, const PortContext& port,
                                     const AddressTable& addresses);
Outcome handle_neighbor_advertisement(const uint8_t* frame, uint32_t icmp_len, bool to_group,
                                      const PortContext& port, const AddressTable& addresses);

}  // namespace nf::detail
