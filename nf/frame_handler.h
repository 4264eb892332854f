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
//  * TCP/UDP to a VIP service port -> balanced (l4.cc): forwarded to a backend in the Service's
//    mode, or a TCP reset when no endpoint takes new flows; TCP/UDP to a SNAT address -> the
//    reply of a full-NAT flow, translated back to its client; ICMP errors about a balanced
//    flow -> to that flow's backend or client. Needs an L4Context; without one (tests of the L2
//    layer) such packets are dropped kVipNoService.
//  * To a node address, IPv4 broadcast/multicast, IPv6 link-local/multicast -> punt.
//  * Unicast frames for another MAC, unknown ethertypes, malformed headers -> counted drops.
#pragma once

#include <cstdint>

#include <rte_ether.h>

#include "nf/address_table.h"
#include "nf/conn_table.h"
#include "nf/drop_reason.h"
#include "nf/lb_tables.h"
#include "nf/neighbor_table.h"

namespace nf {

struct TrafficTable;  // nf/traffic.h

namespace l7 {
class Tables;
class WorkerState;
class CookieSecrets;
class FrameSink;
}  // namespace l7

struct PortContext {
  rte_ether_addr mac;  // the port's MAC: source of replies, our unicast destination
  uint8_t index = 0;   // interface index (bit in AddressInfo::announce_ports)
};

enum class Action : uint8_t {
  kDrop,     // count verdict.drop and free
  kReply,    // the frame was rewritten in place; transmit it out the port it came in on
  kPunt,     // hand the frame unchanged to the kernel tap of this port
  kForward,  // the frame was rewritten; transmit it out interface verdict.port (see forward)
  kHandoff,  // another worker owns this flow: pass the frame unchanged to worker verdict.port
  kConsume,  // taken in by the L7 path (a segment Portico answered later, or needs no answer):
             // free it without counting a drop
  kHold,     // rewritten as for kForward but for its Ethernet addresses: the next hop's MAC is
             // not known yet (L4Context::hold_nexthop names it, and a request is on its way).
             // Keep the frame briefly; once the MAC is known, set the Ethernet destination to it
             // and the source to interface verdict.port's MAC, and send it there.
};

enum class ReplyKind : uint8_t {
  kArpReply,
  kNeighborAdvert,
  kEchoReply,
  kEchoReplyV6,
  kTcpReset,  // no endpoint for a TCP service port, or the flow's backend was removed
  kSynAck,    // L7 listener: the SYN-ACK with a SYN cookie
  kL7Segment, // L7: Portico's own segment to the client (ACK, response, FIN, RST)
  kCount
};

enum class ForwardKind : uint8_t {
  kToBackend,       // NAT or DSR rewrite in place
  kToBackendIpip4,  // IPIP: 20 bytes were prepended (the frame starts 20 bytes earlier)
  kToBackendIpip6,  // IP6IP6: 40 bytes were prepended
  kToClient,        // full-NAT reply translated back
  kIcmpToBackend,   // an ICMP error about a flow, sent on to its backend
  kIcmpToClient,    // an ICMP error from the backend side, sent on to the client
  kResetToClient,   // the flow's backend was removed: its segment became a reset to the client
  kL7ToBackend,     // L7: Portico's own segment to a backend (SYN, replayed head)
  kCount
};

// Bytes a forward of this kind prepended in front of the frame it was given.
inline constexpr uint16_t forward_prepended(ForwardKind k) {
  return k == ForwardKind::kToBackendIpip4 ? 20 : k == ForwardKind::kToBackendIpip6 ? 40 : 0;
}

struct Verdict {
  Action action = Action::kDrop;
  DropReason drop = DropReason::kNotForUs;        // meaningful when action == kDrop
  ReplyKind reply = ReplyKind::kArpReply;         // meaningful when action == kReply
  ForwardKind forward = ForwardKind::kToBackend;  // meaningful when action == kForward or kHold
  uint8_t port = 0;  // kForward, kHold: interface index to send on; kHandoff: worker index
};

// What one worker's L4 path counts besides drops, per burst (the worker folds these into its
// per-lcore counters).
struct L4Counters {
  uint32_t new_flows = 0;        // connection records created
  uint32_t stateless_flows = 0;  // balanced without a record (table full, DSR/IPIP only)
  uint32_t backend_gone = 0;     // flows whose backend was removed (reset or re-balanced)
  uint32_t handoffs = 0;         // frames passed to the worker that owns their flow
  uint32_t consumed = 0;         // frames the L7 path took in (Action::kConsume)
};

// What a worker works out for each frame of a burst before it handles any of them, so that the
// memory the frames will need is fetched while the others are handled (flow_hint() and
// flow_prefetch(); lcore/worker.cc runs them over the whole burst).
struct FlowHint {
  uint32_t hash = 0;       // ConnTable hash of the frame's own tuple (valid if l4_offset != 0)
  uint16_t snat_port = 0;  // a new full-NAT flow: the SNAT port it is expected to get, network
                           // order, whose reply-tuple bucket was prefetched (0: none); only a
                           // prediction: handling the frame takes ports as it would unhinted
  uint8_t l4_offset = 0;   // TCP/UDP header offset in the frame; 0: not a TCP/UDP frame
  uint8_t v6 = 0;
};

// Per-worker state the L4 path needs. The worker fills the pointers once, and `now`,
// `generation` and `tables` once per burst.
struct L4Context {
  const lb::Tables* tables = nullptr;  // the current Snapshot's
  uint32_t generation = 0;             // low 32 bits of that Snapshot's generation
  ConnTable* conns = nullptr;          // this worker's
  NeighborTable* neighbors = nullptr;  // shared
  uint64_t now = 0;                    // TSC at the start of the burst
  uint64_t request_interval = 0;       // ticks between resolution requests for one next hop
  uint16_t worker = 0;                 // this worker's index and the number of workers: the
  uint16_t workers = 1;                // SNAT port p belongs to worker p % workers
  uint8_t handoff_hops = 0;            // per packet: workers that already looked at it
  uint16_t hold_nexthop = 0;           // per packet, with Action::kHold: the next hop it awaits
  FlowHint hint;                       // per packet: the frame's hint (l4_offset 0: none)
  uint16_t room = 0;                   // per packet: bytes writable from the frame's start
  // The L7 path (nf/l7.h); null: HTTP listeners are not served (their segments are dropped).
  const l7::Tables* l7_tables = nullptr;        // the current Snapshot's, per burst
  l7::WorkerState* l7 = nullptr;                // this worker's
  const l7::CookieSecrets* secrets = nullptr;   // shared, rotated by the control thread
  l7::FrameSink* sink = nullptr;                // extra frames
  uint64_t tsc_hz = 0;
  // Per burst, kept by flow_prefetch(): the new flows it saw so far and the backend each full-NAT
  // one will take a SNAT port from (~0u: none), so that it predicts every flow's port.
  static constexpr unsigned kMaxHinted = 32;
  uint8_t new_flows_hinted = 0;
  uint32_t hinted_backend[kMaxHinted] = {};  // by snat_cursor
  // SNAT port cursors, by lb::Backend::snat_cursor (its address and port): each backend's
  // flows take this worker's ports in turn, so a port comes back to a backend only after all
  // the others did (and the flow that had it has most likely ended).
  static constexpr unsigned kSnatCursors = lb::kSnatCursors;
  uint16_t snat_cursor[kSnatCursors] = {};
  // Per interface (NodeConfig order): the port's MAC (source of forwarded frames) and its MTU.
  rte_ether_addr port_mac[lb::Tables::kMaxInterfaces] = {};
  uint16_t mtu[lb::Tables::kMaxInterfaces] = {};
  // Next hops a worker found unresolved in this burst, for the control thread to resolve.
  static constexpr unsigned kMaxResolve = 32;
  uint16_t resolve[kMaxResolve] = {};
  unsigned n_resolve = 0;
  L4Counters counters;
  // This worker's traffic counters per service port and backend (nf/traffic.h); null: none
  // kept (tests of other things, benchmarks measuring without them).
  TrafficTable* traffic = nullptr;
};

// frame: start of the Ethernet header; *len: frame length (updated when the reply is longer or
// shorter than the request); room: bytes writable from frame (len + tailroom).
Verdict handle_frame(uint8_t* frame, uint16_t* len, uint16_t room, const PortContext& port,
                     const AddressTable& addresses);
// With the L4 path. headroom: bytes writable before frame (IPIP prepends its outer header
// there). ARP and NDP from known next hops also refresh l4->neighbors.
Verdict handle_frame(uint8_t* frame, uint16_t* len, uint16_t room, uint16_t headroom,
                     const PortContext& port, const AddressTable& addresses, L4Context* l4);

// Burst preparation (workers, before handling the frames of a burst):
// flow_hint() parses just enough of a frame to hash its TCP/UDP tuple (hint->l4_offset 0 for
// anything else; it checks only that it reads inside the frame: handle_frame() does the real
// checks). flow_prefetch(), once every frame's home bucket has been prefetched, prefetches the
// frame's connection record, or, for what looks like a new flow, the free record it will take
// and, in full-NAT mode, the bucket of its reply tuple (backend and SNAT port predicted as
// handling the frames in order will choose them). Neither changes what handling does: a worker
// resets new_flows_hinted before each burst.
void flow_hint(const uint8_t* frame, uint16_t len, FlowHint* hint);
void flow_prefetch(const uint8_t* frame, FlowHint* hint, L4Context& l4);

// Resolution requests the control thread sends for a next hop (RFC 826 request; RFC 4861 NS to
// the solicited-node multicast address, or unicast to `target` for a reachability probe).
// Return the frame length, 0 if room is too small.
uint16_t build_arp_request(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                           uint32_t sender_be, uint32_t target_be);
uint16_t build_neighbor_solicitation(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                                     const uint8_t src[16], const uint8_t target[16],
                                     const uint8_t* dst_mac /* nullptr: multicast */);

// Announcements the control thread sends when an address appears (RFC 5227 / RFC 4861 7.2.6).
// Each writes a complete frame into buf and returns its length, or 0 if room is too small.
// Gratuitous ARP: broadcast, sender = target = ip, sender MAC = mac; `reply` selects op 2 vs 1.
uint16_t build_gratuitous_arp(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              uint32_t ip_be, bool reply);
// Unsolicited NA to ff02::1: S=0, O=1, target link-layer address option = mac.
uint16_t build_unsolicited_na(uint8_t* buf, uint16_t room, const rte_ether_addr& mac,
                              const uint8_t ip6[16]);

}  // namespace nf
