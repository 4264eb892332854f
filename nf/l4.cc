// The L4 load-balancing path: TCP and UDP to VIP service ports, full-NAT replies to SNAT
// addresses, and ICMP errors about balanced flows. Runs on worker lcores, per packet, on the
// worker's own connection table; no allocation, locks, syscalls or logging.
//
// From a client (destination: a VIP):
//   service port lookup (VIP, protocol, port) -> connection lookup by the 5-tuple ->
//   existing flow: the backend it already has (re-checked once per Snapshot generation: a
//   removed backend ends its TCP flows with a reset, its UDP flows are balanced again);
//   new flow: Maglev over the service's endpoints (no endpoint: TCP reset / UDP drop), a
//   connection record, and in full-NAT mode a SNAT port from this worker's share of the port
//   space (p % workers == worker), checked free for that backend in the table; a full-NAT TCP
//   segment without SYN is not a new flow: the other workers are asked for its record in turn
//   (handoff), and the last one resets it (DSR and IPIP take such flows up statelessly);
//   then the rewrite of the Service's mode (Katran and IPVS do the same three):
//   * nat: source -> SNAT address:port, destination -> backend:port, TTL - 1, checksums
//     updated incrementally (RFC 1624); MACs -> next hop / our port;
//   * dsr: destination MAC -> the backend's (the backend holds the VIP on a loopback);
//   * ipip: an outer IPv4 (RFC 2003) or IPv6 (RFC 2473) header from the node's address on the
//     interface to the backend is prepended; the packet itself is unchanged.
// From a backend (destination: a SNAT address, full-NAT replies): the worker that owns the port
// (dport % workers) handles it, others hand the frame over; the reply tuple finds the record
// and the packet is translated back to VIP -> client and sent to the MAC the client's packets
// came from.
// ICMP errors (RFC 792 types 3 and 11, RFC 4443 types 1-3) quote the packet that caused them;
// the quoted tuple finds the flow, and the error is translated like the flow and sent on to
// the backend (error from the client side) or the client (error from the backend side).
//
// TCP state is what a balancer can see (conn_table.h): SYN, established once the client
// acknowledges, closing after a FIN or RST; a SYN on a closing record starts a new flow.
//
// Cost. An established flow's packet costs one bucket line and one record line of the
// connection table, which the worker prefetches for the whole burst (flow_hint(),
// flow_prefetch() at the end of this file), and a few dozen instructions: the connection is
// looked up before the service (a hit needs no service), and the NAT rewrite folds the address,
// port and TTL changes into one delta per checksum (RFC 1624).
#include <algorithm>
#include <cstring>

#include "nf/checksum.h"
#include "nf/frame_steps.h"
#include "nf/traffic.h"
#include "nf/wire.h"

namespace nf::detail {
namespace {

using namespace wire;

// ---- address families ------------------------------------------------------------------

struct V4 {
  static constexpr uint8_t kV6 = 0;
  static constexpr size_t kAddrLen = 4;
  static constexpr size_t kSrc = ipv4::kSrc;
  static constexpr size_t kDst = ipv4::kDst;
  static constexpr uint16_t kEtherType = eth::kTypeIpv4;
  static constexpr uint16_t kEncapLen = 20;
  static constexpr ForwardKind kEncapKind = ForwardKind::kToBackendIpip4;
  static constexpr DropReason kIcmpMalformed = DropReason::kIcmpMalformed;
  static constexpr DropReason kIcmpBadChecksum = DropReason::kIcmpBadChecksum;
};

struct V6 {
  static constexpr uint8_t kV6 = 1;
  static constexpr size_t kAddrLen = 16;
  static constexpr size_t kSrc = ipv6::kSrc;
  static constexpr size_t kDst = ipv6::kDst;
  static constexpr uint16_t kEtherType = eth::kTypeIpv6;
  static constexpr uint16_t kEncapLen = 40;
  static constexpr ForwardKind kEncapKind = ForwardKind::kToBackendIpip6;
  static constexpr DropReason kIcmpMalformed = DropReason::kIcmpv6Malformed;
  static constexpr DropReason kIcmpBadChecksum = DropReason::kIcmpv6BadChecksum;
};

// The datagram being handled: its IP header, the header after it, and their lengths.
struct Datagram {
  uint8_t* ip;
  uint8_t* l4;
  uint32_t ip_hlen;
  uint32_t l4_len;
  uint8_t proto;
};

template <class F>
void set_tuple(FlowTuple& t, const uint8_t* src, const uint8_t* dst, uint16_t sport, uint16_t dport,
               uint8_t proto) {
  if constexpr (F::kV6) {
    std::memcpy(t.src, src, 16);
    std::memcpy(t.dst, dst, 16);
  } else {
    std::memset(&t, 0, 32);
    std::memcpy(t.src, src, 4);
    std::memcpy(t.dst, dst, 4);
  }
  t.sport = sport;
  t.dport = dport;
  t.proto = proto;
  t.v6 = F::kV6;
  t.pad[0] = t.pad[1] = 0;
}

// Offset of the transport checksum, or 0 if the protocol has none we update.
inline size_t l4_checksum_offset(uint8_t proto) {
  return proto == ipproto::kProtoTcp ? tcp::kChecksum : udp::kChecksum;
}

// Rewrites addresses and ports of a datagram and updates every checksum covering them: the
// changes are summed once into a delta (RFC 1624 eqn. 3 over 32-bit words, in memory order like
// everything in csum::) and the delta applied to each checksum. new_src/new_dst: F::kAddrLen
// bytes; new_ports: source port | destination port << 16, network order. dec_ttl: this is a
// routed hop (full NAT); the caller has checked the TTL is above 1.
template <class F>
void translate(uint8_t* ip, uint8_t* l4hdr, uint8_t proto, const uint8_t* new_src,
               const uint8_t* new_dst, uint32_t new_ports, bool dec_ttl) {
  const uint64_t daddr = csum::delta(ip + F::kSrc, new_src, F::kAddrLen) +
                         csum::delta(ip + F::kDst, new_dst, F::kAddrLen);
  const uint64_t dl4 = daddr + static_cast<uint32_t>(~load32(l4hdr)) + new_ports;
  std::memcpy(ip + F::kSrc, new_src, F::kAddrLen);
  std::memcpy(ip + F::kDst, new_dst, F::kAddrLen);
  store32(l4hdr, new_ports);
  uint8_t* const check = l4hdr + l4_checksum_offset(proto);
  const uint16_t old_check = load16(check);
  if (proto == ipproto::kProtoTcp || F::kV6 || old_check != 0) {
    uint16_t c = csum::apply(old_check, dl4);
    if (proto == ipproto::kProtoUdp && c == 0) c = 0xffff;  // RFC 768: 0 means "none"
    store16(check, c);
  }
  if constexpr (!F::kV6) {
    // TTL is the first byte of its word; as loaded (memory order, little-endian) the word
    // drops by exactly 1, whose one's complement delta is 0xfffe (RFC 1624).
    const uint64_t dip = dec_ttl ? daddr + 0xfffe : daddr;
    if (dec_ttl) --ip[ipv4::kTtl];
    store16(ip + ipv4::kChecksum, csum::apply(load16(ip + ipv4::kChecksum), dip));
  } else {
    if (dec_ttl) --ip[ipv6::kHopLimit];
  }
}

// The addresses of one direction of a record, for a family known at compile time.
template <class F>
const uint8_t* conn_src(const Conn& c, ConnDir d) {
  if constexpr (F::kV6) {
    return c.addr6[static_cast<int>(d)][0];
  } else {
    return reinterpret_cast<const uint8_t*>(&c.side[static_cast<int>(d)].src4);
  }
}
template <class F>
const uint8_t* conn_dst(const Conn& c, ConnDir d) {
  if constexpr (F::kV6) {
    return c.addr6[static_cast<int>(d)][1];
  } else {
    return reinterpret_cast<const uint8_t*>(&c.side[static_cast<int>(d)].dst4);
  }
}
// Ports of a direction as one word: source | destination << 16, or swapped (what a packet
// going the other way carries).
inline uint32_t conn_ports(const Conn& c, ConnDir d) {
  uint32_t p;
  std::memcpy(&p, &c.side[static_cast<int>(d)].sport, sizeof p);
  return p;
}
inline uint32_t swapped(uint32_t ports) { return ports >> 16 | ports << 16; }

// The connection-table key of a datagram's own tuple, read from its headers.
template <class F>
FlowKey packet_key(const uint8_t* ip, const uint8_t* l4hdr, uint8_t proto) {
  FlowKey k;
  k.ports = load32(l4hdr);
  k.proto_v6 = static_cast<uint16_t>(proto | F::kV6 << 8);
  if constexpr (F::kV6) {
    static_assert(ipv6::kDst == ipv6::kSrc + 16);
    k.addrs6 = ip + ipv6::kSrc;
  } else {
    static_assert(ipv4::kDst == ipv4::kSrc + 4);
    std::memcpy(&k.addrs4, ip + ipv4::kSrc, sizeof k.addrs4);
  }
  return k;
}

template <class F>
bool ttl_expires(const uint8_t* ip) {
  return (F::kV6 ? ip[ipv6::kHopLimit] : ip[ipv4::kTtl]) <= 1;
}

inline void set_macs(uint8_t* frame, const uint8_t* dst, const rte_ether_addr& src) {
  copy_mac(frame + eth::kDst, dst);
  copy_mac(frame + eth::kSrc, src.addr_bytes);
}

// The next hop's MAC, or false after queueing a resolution request (one per interval).
bool next_hop_mac(L4Context& l4, uint16_t nexthop, uint8_t mac[6]) {
  if (l4.neighbors->get(nexthop, mac)) [[likely]] {
    return true;
  }
  if (l4.n_resolve < L4Context::kMaxResolve &&
      l4.neighbors->claim_request(nexthop, l4.now, l4.request_interval)) {
    l4.resolve[l4.n_resolve++] = nexthop;
  }
  return false;
}

// A frame rewritten for a next hop whose MAC is not known yet: the worker holds it until the
// request next_hop_mac() queued is answered (or drops it after a while, counted).
Outcome hold_for(L4Context& l4, uint16_t nexthop, ForwardKind kind, uint8_t port) {
  l4.hold_nexthop = nexthop;
  return hold(kind, port);
}

// Prepends the tunnel header (RFC 2003 IPIP / RFC 2473 IPv6-in-IPv6) in the headroom.
// mac: the next hop's, or nullptr to hold the frame for `nexthop`.
template <class F>
Outcome encapsulate(uint8_t* frame, uint16_t* len, uint16_t headroom, const uint8_t* dst,
                    uint8_t out_port, const uint8_t* mac, uint16_t nexthop, L4Context& l4,
                    uint32_t flow_hash) {
  const lb::Addr* src = l4.tables->interface_address(out_port, F::kV6);
  if (src == nullptr) return drop(DropReason::kNoSourceAddress);
  const uint8_t* const inner = frame + eth::kHeaderLen;
  // The datagram as its header gives it (checked against the frame by the IP step): Ethernet
  // padding after it stays out of the tunnel.
  const uint32_t inner_len = F::kV6 ? ipv6::kHeaderLen + load_be16(inner + ipv6::kPayloadLength)
                                    : load_be16(inner + ipv4::kTotalLength);
  if (headroom < F::kEncapLen) return drop(DropReason::kNoRoom);
  const uint16_t mtu = out_port < lb::Tables::kMaxInterfaces ? l4.mtu[out_port] : 0;
  if (mtu != 0 && inner_len + F::kEncapLen > mtu) return drop(DropReason::kEncapTooBig);
  uint8_t* const start = frame - F::kEncapLen;
  uint8_t* const outer = start + eth::kHeaderLen;
  if constexpr (F::kV6) {
    // Version 6, the inner traffic class, a flow label from the flow hash (RFC 6437) so that
    // routers spread tunnels over their paths.
    const uint32_t tc = (load_be16(inner) >> 4) & 0xff;
    const uint32_t vtc = (6u << 28) | (tc << 20) | (flow_hash & 0xfffff);
    store32(outer + ipv6::kVtcFlow, be32(vtc));
    store16(outer + ipv6::kPayloadLength, be16(static_cast<uint16_t>(inner_len)));
    outer[ipv6::kNextHeader] = ipproto::kProtoIpv6;
    outer[ipv6::kHopLimit] = ipv6::kReplyHopLimit;
    std::memcpy(outer + ipv6::kSrc, src->data(), 16);
    std::memcpy(outer + ipv6::kDst, dst, 16);
  } else {
    outer[ipv4::kVersionIhl] = 0x45;
    outer[1] = inner[1];  // TOS / DSCP copied (RFC 2003 §3.1)
    store16(outer + ipv4::kTotalLength, be16(static_cast<uint16_t>(inner_len + 20)));
    store16(outer + 4, 0);  // identification: DF is set, so 0 is allowed (RFC 6864)
    store16(outer + ipv4::kFragment, be16(RTE_IPV4_HDR_DF_FLAG));
    outer[ipv4::kTtl] = ipv4::kReplyTtl;
    outer[ipv4::kProtocol] = ipproto::kProtoIpip;
    store16(outer + ipv4::kChecksum, 0);
    std::memcpy(outer + ipv4::kSrc, src->data(), 4);
    std::memcpy(outer + ipv4::kDst, dst, 4);
    store16(outer + ipv4::kChecksum, csum::finish(csum::add(0, outer, 20)));
  }
  store16(start + eth::kType, F::kEtherType);
  *len = static_cast<uint16_t>(eth::kHeaderLen + F::kEncapLen + inner_len);
  if (mac == nullptr) return hold_for(l4, nexthop, F::kEncapKind, out_port);
  set_macs(start, mac, l4.port_mac[out_port]);
  return forward(F::kEncapKind, out_port);
}

// Where a packet of a flow goes: to a backend, in a mode.
struct Target {
  const uint8_t* addr;  // backend address (4 or 16 bytes)
  uint16_t nexthop;
  uint8_t port_index;
  lb::Mode mode;
};

// DSR or IPIP: the packet itself is not changed.
template <class F>
Outcome forward_unchanged(uint8_t* frame, uint16_t* len, uint16_t headroom, const Target& t,
                          L4Context& l4, uint32_t flow_hash, ForwardKind kind) {
  uint8_t mac[6];
  const bool resolved = next_hop_mac(l4, t.nexthop, mac);
  if (t.mode == lb::Mode::kIpip) {
    return encapsulate<F>(frame, len, headroom, t.addr, t.port_index, resolved ? mac : nullptr,
                          t.nexthop, l4, flow_hash);
  }
  if (!resolved) return hold_for(l4, t.nexthop, kind, t.port_index);
  set_macs(frame, mac, l4.port_mac[t.port_index]);
  return forward(kind, t.port_index);
}

// A reset for the segment in `d`, built in place and sent back to its sender (RFC 9293
// §3.10.7.1: SEG.ACK as the sequence number if the segment had ACK, else sequence 0 and an
// ACK of everything it occupied).
template <class F>
Outcome tcp_reset(uint8_t* frame, uint16_t* len, const PortContext& port, const Datagram& d) {
  const uint8_t* const in = d.l4;
  const uint8_t flags = in[tcp::kFlags];
  if ((flags & tcp::kRst) != 0) return drop(DropReason::kNoEndpoint);  // never answer a reset
  const uint32_t data_off = (in[tcp::kDataOffset] >> 4) * 4u;
  uint32_t seg_len = d.l4_len - data_off;
  if (flags & tcp::kSyn) ++seg_len;
  if (flags & tcp::kFin) ++seg_len;
  uint8_t out[tcp::kMinHeaderLen] = {};
  store16(out + 0, load16(in + 2));
  store16(out + 2, load16(in + 0));
  if (flags & tcp::kAckFlag) {
    std::memcpy(out + tcp::kSeq, in + tcp::kAck, 4);
    out[tcp::kFlags] = tcp::kRst;
  } else {
    store32(out + tcp::kAck, be32(rte_be_to_cpu_32(load32(in + tcp::kSeq)) + seg_len));
    out[tcp::kFlags] = tcp::kRst | tcp::kAckFlag;
  }
  out[tcp::kDataOffset] = 5 << 4;

  uint8_t* const ip = d.ip;
  uint8_t addr[16];
  std::memcpy(addr, ip + F::kSrc, F::kAddrLen);
  std::memcpy(ip + F::kSrc, ip + F::kDst, F::kAddrLen);
  std::memcpy(ip + F::kDst, addr, F::kAddrLen);
  uint8_t* tcph;
  uint64_t sum;
  if constexpr (F::kV6) {
    store16(ip + ipv6::kPayloadLength, be16(tcp::kMinHeaderLen));
    ip[ipv6::kNextHeader] = ipproto::kProtoTcp;  // no extension headers reach here
    ip[ipv6::kHopLimit] = ipv6::kReplyHopLimit;
    tcph = ip + ipv6::kHeaderLen;
    sum = csum::add_ipv6_pseudo_header(0, ip, tcp::kMinHeaderLen, ipproto::kProtoTcp);
  } else {
    ip[ipv4::kVersionIhl] = 0x45;
    ip[1] = 0;
    store16(ip + ipv4::kTotalLength, be16(40));
    store16(ip + 4, 0);
    store16(ip + ipv4::kFragment, be16(RTE_IPV4_HDR_DF_FLAG));
    ip[ipv4::kTtl] = ipv4::kReplyTtl;
    store16(ip + ipv4::kChecksum, 0);
    store16(ip + ipv4::kChecksum, csum::finish(csum::add(0, ip, 20)));
    tcph = ip + 20;
    sum = csum::add(0, ip + ipv4::kSrc, 8) + be32(ipproto::kProtoTcp) + be32(tcp::kMinHeaderLen);
  }
  std::memcpy(tcph, out, sizeof out);
  store16(tcph + tcp::kChecksum, csum::finish(csum::add(sum, tcph, tcp::kMinHeaderLen)));
  copy_mac(frame + eth::kDst, frame + eth::kSrc);
  copy_mac(frame + eth::kSrc, port.mac.addr_bytes);
  *len = static_cast<uint16_t>(tcph + tcp::kMinHeaderLen - frame);
  return reply(ReplyKind::kTcpReset);
}

// Checks a record against the current Snapshot once per generation: false if its backend was
// removed from the service.
bool revalidate(Conn* c, L4Context& l4) {
  if (c->generation == l4.generation) [[likely]] {
    return true;
  }
  const lb::Backend* b = l4.tables->backend_by_id(c->backend_id);
  if (b == nullptr) return false;
  c->nexthop = b->nexthop;
  c->port_index = b->port_index;
  c->generation = l4.generation;
  return true;
}

inline void client_segment(Conn* c, uint8_t proto, uint8_t flags) {
  if (proto != ipproto::kProtoTcp) return;
  if ((flags & (tcp::kFin | tcp::kRst)) != 0) {
    c->state = ConnState::kTcpClosing;
  } else if (c->state == ConnState::kTcpSyn && (flags & tcp::kAckFlag) != 0) {
    c->state = ConnState::kTcpEstablished;
  }
}

// The SNAT ports of this worker are those p >= 1024 with p % workers == worker, numbered from 0
// (slots); each backend (lb::Backend::snat_cursor) takes them in turn from its own cursor.
struct SnatSlots {
  uint32_t base;   // slot 0 is port base + worker
  uint32_t count;  // slots of this worker
};
SnatSlots snat_slots(const L4Context& l4) {
  constexpr uint32_t kFirstPort = 1024;
  const uint32_t workers = l4.workers;
  // Counted from a multiple of `workers`, so that every port from base on is this worker's.
  const uint32_t base = (kFirstPort + workers - 1) / workers * workers;
  return {base, (65535 - base - l4.worker) / workers + 1};
}
uint16_t snat_slot_port(const L4Context& l4, const SnatSlots& s, uint32_t slot) {
  return be16(static_cast<uint16_t>(s.base + slot * l4.workers + l4.worker));
}

// The port `ahead` places after the backend's cursor (flow_prefetch's prediction).
uint16_t snat_port(const L4Context& l4, uint16_t cursor, uint32_t ahead) {
  const SnatSlots s = snat_slots(l4);
  uint32_t slot = l4.snat_cursor[cursor % L4Context::kSnatCursors];
  if (slot >= s.count) slot = 0;
  return snat_slot_port(l4, s, (slot + ahead) % s.count);
}

// Takes the port at the backend's cursor.
uint16_t next_snat_port(L4Context& l4, uint16_t which) {
  const SnatSlots s = snat_slots(l4);
  uint16_t& cursor = l4.snat_cursor[which % L4Context::kSnatCursors];
  const uint32_t slot = cursor >= s.count ? 0 : cursor;
  cursor = static_cast<uint16_t>(slot + 1);
  return snat_slot_port(l4, s, slot);
}

// A SNAT port for a new full-NAT flow: the backend's next ones, until a reply tuple is free.
template <class F>
bool assign_snat(Conn* c, const lb::Backend& b, const lb::Addr& snat, L4Context& l4) {
  constexpr unsigned kTries = 16;
  for (unsigned i = 0; i < kTries; ++i) {
    const uint16_t port = next_snat_port(l4, b.snat_cursor);
    FlowTuple r;
    set_tuple<F>(r, b.addr.data(), snat.data(), b.port, port, c->proto);
    if (l4.conns->index_reply(c, r, ConnTable::hash(r), l4.now)) return true;
  }
  return false;
}

template <class F>
Outcome forward_nat(uint8_t* frame, const Datagram& d, Conn* c, L4Context& l4) {
  if (ttl_expires<F>(d.ip)) return drop(DropReason::kTtlExceeded);
  // The backend answers backend -> SNAT: this packet goes SNAT -> backend.
  translate<F>(d.ip, d.l4, d.proto, conn_dst<F>(*c, ConnDir::kReply),
               conn_src<F>(*c, ConnDir::kReply), swapped(conn_ports(*c, ConnDir::kReply)), true);
  uint8_t mac[6];
  if (!next_hop_mac(l4, c->nexthop, mac)) [[unlikely]] {
    return hold_for(l4, c->nexthop, ForwardKind::kToBackend, c->port_index);
  }
  set_macs(frame, mac, l4.port_mac[c->port_index]);
  return forward(ForwardKind::kToBackend, c->port_index);
}

template <class F>
TcpPacket tcp_packet(uint8_t* frame, uint16_t* len, const Datagram& d, uint8_t port) {
  return TcpPacket{frame, len, d.ip, d.l4, d.ip_hlen, d.l4_len, F::kV6 != 0, port};
}

// The hash of the frame's own tuple: the worker's, when its hint is about this datagram.
inline uint32_t flow_hash_of(const uint8_t* frame, const Datagram& d, const FlowKey& k,
                             const L4Context& l4) {
  if (l4.hint.l4_offset != 0 && frame + l4.hint.l4_offset == d.l4) [[likely]] {
    return l4.hint.hash;
  }
  return ConnTable::hash(k);
}

// Traffic counters (nf/traffic.h): a client's packet of a flow, `bytes` long as received, counted
// against the flow's service port and backend if `o` sends it on.
inline Outcome counted_in(L4Context& l4, uint32_t service_slot, uint32_t backend_slot,
                          uint16_t bytes, Outcome o) {
  if (l4.traffic != nullptr) {
    const Action a = o.verdict().action;
    if (a == Action::kForward || a == Action::kHold) {
      l4.traffic->in(service_slot, backend_slot, bytes);
    }
  }
  return o;
}

template <class F>
Outcome from_client(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                    const Datagram& d, L4Context& l4) {
  const FlowKey k = packet_key<F>(d.ip, d.l4, d.proto);
  const uint32_t h = flow_hash_of(frame, d, k, l4);
  const bool is_tcp = d.proto == ipproto::kProtoTcp;
  const uint8_t flags = is_tcp ? d.l4[tcp::kFlags] : 0;
  // The connection first: a packet of a known flow needs no service lookup (a service that
  // went away took its backends along, which revalidate() notices).
  ConnDir dir;
  Conn* c = l4.conns->find(k, h, l4.now, &dir);
  if (c != nullptr && c->mode == static_cast<uint8_t>(lb::Mode::kL7)) [[unlikely]] {
    if (is_tcp) return l7_client(tcp_packet<F>(frame, len, d, port.index), c, l4);
    return drop(DropReason::kNoConnection);
  }
  if (c != nullptr) {
    const bool new_syn = is_tcp && (flags & (tcp::kSyn | tcp::kAckFlag)) == tcp::kSyn;
    if (new_syn && c->state == ConnState::kTcpClosing) {
      // The client reuses the ports of a finished connection: a new flow.
      l4.conns->erase(c);
      c = nullptr;
    } else if (!revalidate(c, l4)) {
      ++l4.counters.backend_gone;
      l4.conns->erase(c);
      if (is_tcp) return tcp_reset<F>(frame, len, port, d);
      c = nullptr;  // UDP: balanced again below
    }
  }
  const uint16_t bytes = *len;  // as received (a tunnel header makes it longer)
  if (c != nullptr) [[likely]] {
    client_segment(c, d.proto, flags);
    ConnTable::touch(c, l4.now);
    if (c->mode == static_cast<uint8_t>(lb::Mode::kNat)) {
      return counted_in(l4, c->stats_service, c->stats_backend, bytes,
                        forward_nat<F>(frame, d, c, l4));
    }
    const Target target{conn_src<F>(*c, ConnDir::kReply), c->nexthop, c->port_index,
                        static_cast<lb::Mode>(c->mode)};
    return counted_in(
        l4, c->stats_service, c->stats_backend, bytes,
        forward_unchanged<F>(frame, len, headroom, target, l4, h, ForwardKind::kToBackend));
  }

  // A new flow. A reset for a flow we do not know is not worth a record.
  const lb::Service* svc =
      l4.tables->find_service(d.ip + F::kDst, F::kV6, d.proto, load16(d.l4 + 2));
  if (svc == nullptr) return drop(DropReason::kVipNoService);
  if (svc->mode == lb::Mode::kL7) [[unlikely]] {
    return l7_listener(tcp_packet<F>(frame, len, d, port.index), *svc, h, l4);
  }
  if (is_tcp && (flags & tcp::kRst) != 0) return drop(DropReason::kNoConnection);
  if (is_tcp && (flags & tcp::kSyn) == 0 && svc->mode == lb::Mode::kNat) {
    // The middle of a connection this worker does not know. Its record is most likely on
    // another worker: the NIC's RSS table changed, or af_packet's fanout rolled a full queue
    // over to the next one. Ask the others in turn. Full NAT cannot take the connection up
    // itself (the backend knows it by another SNAT port, and would reset a new one), so when
    // no worker has it, the client gets the reset now.
    if (l4.workers > 1 && l4.handoff_hops + 1u < l4.workers) {
      ++l4.counters.handoffs;
      return handoff(static_cast<uint8_t>((l4.worker + 1) % l4.workers));
    }
    return tcp_reset<F>(frame, len, port, d);
  }
  const lb::Backend* b = l4.tables->pick(*svc, h);
  if (b == nullptr) {
    if (is_tcp) return tcp_reset<F>(frame, len, port, d);
    return drop(DropReason::kNoEndpoint);
  }
  // Full NAT routes the packet: one it cannot send on opens no flow (no record, no SNAT port).
  if (svc->mode == lb::Mode::kNat && ttl_expires<F>(d.ip)) return drop(DropReason::kTtlExceeded);

  const Target target{b->addr.data(), b->nexthop, b->port_index, svc->mode};
  const ConnState state = !is_tcp                    ? ConnState::kUdp
                          : (flags & tcp::kSyn) != 0 ? ConnState::kTcpSyn
                          : (flags & tcp::kFin) != 0 ? ConnState::kTcpClosing
                                                     : ConnState::kTcpEstablished;
  FlowTuple t;
  set_tuple<F>(t, d.ip + F::kSrc, d.ip + F::kDst, load16(d.l4), load16(d.l4 + 2), d.proto);
  c = l4.conns->insert(t, h, state, l4.now);
  if (c == nullptr) {
    // Full. DSR and IPIP need no state to forward: Maglev sends the flow's later packets to the
    // same backend. Full NAT cannot translate replies without a record.
    if (svc->mode == lb::Mode::kNat) return drop(DropReason::kConnTableFull);
    ++l4.counters.stateless_flows;
    // Its packets count; not as a connection (each of them comes this way).
    if (l4.traffic != nullptr)
      l4.traffic->claim(svc->stats_slot, svc->stats_id, b->stats_slot, b->id);
    return counted_in(
        l4, svc->stats_slot, b->stats_slot, bytes,
        forward_unchanged<F>(frame, len, headroom, target, l4, h, ForwardKind::kToBackend));
  }
  c->backend_id = b->id;
  c->generation = l4.generation;
  c->nexthop = b->nexthop;
  c->port_index = b->port_index;
  c->mode = static_cast<uint8_t>(svc->mode);
  c->client_port = port.index;
  std::memcpy(c->client_mac, frame + eth::kSrc, 6);
  c->stats_service = svc->stats_slot;
  c->stats_backend = b->stats_slot;
  if (svc->mode == lb::Mode::kNat) {
    const lb::Addr* snat = l4.tables->snat_for(F::kV6, h);
    if (snat == nullptr || !assign_snat<F>(c, *b, *snat, l4)) {
      l4.conns->erase(c);
      return drop(snat == nullptr ? DropReason::kNoSourceAddress : DropReason::kSnatExhausted);
    }
    ++l4.counters.new_flows;
    if (l4.traffic != nullptr)
      l4.traffic->open(svc->stats_slot, svc->stats_id, b->stats_slot, b->id);
    return counted_in(l4, svc->stats_slot, b->stats_slot, bytes, forward_nat<F>(frame, d, c, l4));
  }
  // DSR / IPIP: the reply side only remembers the backend (address and port), not indexed.
  static constexpr uint8_t kNoAddress[16] = {};
  c->set_side(ConnDir::kReply, b->addr.data(), kNoAddress, b->port, 0);
  ++l4.counters.new_flows;
  if (l4.traffic != nullptr) l4.traffic->open(svc->stats_slot, svc->stats_id, b->stats_slot, b->id);
  return counted_in(
      l4, svc->stats_slot, b->stats_slot, bytes,
      forward_unchanged<F>(frame, len, headroom, target, l4, h, ForwardKind::kToBackend));
}

// The backend of a full-NAT TCP flow was removed and it sent more: its segment becomes a reset
// to the client (VIP:vport -> client:cport, RST, the backend's sequence number, which is in the
// client's receive window), so a client that is only receiving learns at once that the
// connection is gone instead of waiting for its own timeout.
template <class F>
Outcome reset_client(uint8_t* frame, uint16_t* len, const Datagram& d, const Conn& c,
                     L4Context& l4) {
  const uint32_t seq = load32(d.l4 + tcp::kSeq);
  const uint8_t* const client = conn_src<F>(c, ConnDir::kOrig);
  const uint8_t* const vip = conn_dst<F>(c, ConnDir::kOrig);
  uint8_t* const ip = d.ip;
  uint8_t* tcph;
  uint64_t sum;
  if constexpr (F::kV6) {
    std::memcpy(ip + ipv6::kSrc, vip, 16);
    std::memcpy(ip + ipv6::kDst, client, 16);
    store16(ip + ipv6::kPayloadLength, be16(tcp::kMinHeaderLen));
    ip[ipv6::kNextHeader] = ipproto::kProtoTcp;
    ip[ipv6::kHopLimit] = ipv6::kReplyHopLimit;
    tcph = ip + ipv6::kHeaderLen;
    sum = csum::add_ipv6_pseudo_header(0, ip, tcp::kMinHeaderLen, ipproto::kProtoTcp);
  } else {
    ip[ipv4::kVersionIhl] = 0x45;
    ip[1] = 0;
    store16(ip + ipv4::kTotalLength, be16(40));
    store16(ip + 4, 0);
    store16(ip + ipv4::kFragment, be16(RTE_IPV4_HDR_DF_FLAG));
    ip[ipv4::kTtl] = ipv4::kReplyTtl;
    ip[ipv4::kProtocol] = ipproto::kProtoTcp;
    std::memcpy(ip + ipv4::kSrc, vip, 4);
    std::memcpy(ip + ipv4::kDst, client, 4);
    store16(ip + ipv4::kChecksum, 0);
    store16(ip + ipv4::kChecksum, csum::finish(csum::add(0, ip, 20)));
    tcph = ip + 20;
    sum = csum::add(0, ip + ipv4::kSrc, 8) + be32(ipproto::kProtoTcp) + be32(tcp::kMinHeaderLen);
  }
  uint8_t out[tcp::kMinHeaderLen] = {};
  store32(out + 0, swapped(conn_ports(c, ConnDir::kOrig)));
  store32(out + tcp::kSeq, seq);
  out[tcp::kDataOffset] = 5 << 4;
  out[tcp::kFlags] = tcp::kRst;
  std::memcpy(tcph, out, sizeof out);
  store16(tcph + tcp::kChecksum, csum::finish(csum::add(sum, tcph, tcp::kMinHeaderLen)));
  set_macs(frame, c.client_mac, l4.port_mac[c.client_port]);
  *len = static_cast<uint16_t>(tcph + tcp::kMinHeaderLen - frame);
  return forward(ForwardKind::kResetToClient, c.client_port);
}

// Full-NAT replies: backend -> SNAT address:port.
template <class F>
Outcome from_backend(uint8_t* frame, uint16_t* len, const Datagram& d, L4Context& l4) {
  const uint16_t dport = load16(d.l4 + 2);
  const uint16_t owner = static_cast<uint16_t>(be16(dport) % l4.workers);
  if (owner != l4.worker) {
    ++l4.counters.handoffs;
    return handoff(static_cast<uint8_t>(owner));
  }
  const FlowKey k = packet_key<F>(d.ip, d.l4, d.proto);
  ConnDir dir;
  Conn* c = l4.conns->find(k, flow_hash_of(frame, d, k, l4), l4.now, &dir);
  if (c == nullptr || dir != ConnDir::kReply) return drop(DropReason::kNoConnection);
  if (c->mode == static_cast<uint8_t>(lb::Mode::kL7)) [[unlikely]] {
    if (d.proto != ipproto::kProtoTcp) return drop(DropReason::kNoConnection);
    return l7_backend(tcp_packet<F>(frame, len, d, 0), c, l4);
  }
  if (!revalidate(c, l4)) {
    ++l4.counters.backend_gone;
    const Conn gone = *c;
    l4.conns->erase(c);
    if (d.proto == ipproto::kProtoTcp && (d.l4[tcp::kFlags] & tcp::kRst) == 0) {
      return reset_client<F>(frame, len, d, gone, l4);
    }
    return drop(DropReason::kNoConnection);
  }
  if (d.proto == ipproto::kProtoTcp) {
    const uint8_t flags = d.l4[tcp::kFlags];
    if ((flags & (tcp::kFin | tcp::kRst)) != 0) c->state = ConnState::kTcpClosing;
  }
  ConnTable::touch(c, l4.now);
  if (ttl_expires<F>(d.ip)) return drop(DropReason::kTtlExceeded);
  if (l4.traffic != nullptr) l4.traffic->out(c->stats_service, c->stats_backend, *len);
  // Back to what the client expects: VIP -> client, with the ports swapped around.
  translate<F>(d.ip, d.l4, d.proto, conn_dst<F>(*c, ConnDir::kOrig),
               conn_src<F>(*c, ConnDir::kOrig), swapped(conn_ports(*c, ConnDir::kOrig)), true);
  set_macs(frame, c->client_mac, l4.port_mac[c->client_port]);
  return forward(ForwardKind::kToClient, c->client_port);
}

// ---- ICMP errors ------------------------------------------------------------------------

// Rewrites the packet quoted in an ICMP error (addresses, ports and the checksums we can see)
// and then the outer header; recomputes the ICMP checksum. Rare path: full sums are fine.
template <class F>
void translate_icmp(const Datagram& d, uint8_t* inner, uint32_t inner_hlen, uint32_t quoted,
                    const uint8_t* outer_src, const uint8_t* outer_dst, const uint8_t* in_src,
                    uint16_t in_sport, const uint8_t* in_dst, uint16_t in_dport) {
  uint8_t* const inner_l4 = inner + inner_hlen;
  const uint8_t in_proto = F::kV6 ? inner[ipv6::kNextHeader] : inner[ipv4::kProtocol];
  uint64_t dl = csum::delta(inner + F::kSrc, in_src, F::kAddrLen) +
                csum::delta(inner + F::kDst, in_dst, F::kAddrLen) +
                csum::delta16(load16(inner_l4), in_sport) +
                csum::delta16(load16(inner_l4 + 2), in_dport);
  std::memcpy(inner + F::kSrc, in_src, F::kAddrLen);
  std::memcpy(inner + F::kDst, in_dst, F::kAddrLen);
  store16(inner_l4, in_sport);
  store16(inner_l4 + 2, in_dport);
  const size_t check_off = l4_checksum_offset(in_proto);
  if (quoted >= inner_hlen + check_off + 2) {
    const uint16_t old = load16(inner_l4 + check_off);
    if (in_proto == ipproto::kProtoTcp || F::kV6 || old != 0) {
      store16(inner_l4 + check_off, csum::apply(old, dl));
    }
  }
  if constexpr (!F::kV6) {
    store16(inner + ipv4::kChecksum, 0);
    store16(inner + ipv4::kChecksum, csum::finish(csum::add(0, inner, inner_hlen)));
  }
  std::memcpy(d.ip + F::kSrc, outer_src, F::kAddrLen);
  std::memcpy(d.ip + F::kDst, outer_dst, F::kAddrLen);
  store16(d.l4 + icmp::kChecksum, 0);
  if constexpr (F::kV6) {
    --d.ip[ipv6::kHopLimit];
    uint64_t sum = csum::add_ipv6_pseudo_header(0, d.ip, d.l4_len, ipv6::kProtoIcmpv6);
    store16(d.l4 + icmp6::kChecksum, csum::finish(csum::add(sum, d.l4, d.l4_len)));
  } else {
    --d.ip[ipv4::kTtl];
    store16(d.ip + ipv4::kChecksum, 0);
    store16(d.ip + ipv4::kChecksum, csum::finish(csum::add(0, d.ip, d.ip_hlen)));
    store16(d.l4 + icmp::kChecksum, csum::finish(csum::add(0, d.l4, d.l4_len)));
  }
}

template <class F>
Outcome icmp_error(uint8_t* frame, uint16_t* len, uint16_t headroom, const Datagram& d, bool to_vip,
                   L4Context& l4) {
  if (d.l4_len < icmp::kErrorHeaderLen + (F::kV6 ? 40 : 20) + 8) return drop(F::kIcmpMalformed);
  uint8_t* const inner = d.l4 + icmp::kErrorHeaderLen;
  const uint32_t quoted = d.l4_len - icmp::kErrorHeaderLen;
  uint32_t inner_hlen;
  uint8_t in_proto;
  if constexpr (F::kV6) {
    if ((inner[0] >> 4) != 6) return drop(F::kIcmpMalformed);
    inner_hlen = ipv6::kHeaderLen;
    in_proto = inner[ipv6::kNextHeader];
  } else {
    inner_hlen = (inner[0] & 0x0fu) * 4u;
    if ((inner[0] >> 4) != 4 || inner_hlen < 20 || inner_hlen + 8 > quoted) {
      return drop(F::kIcmpMalformed);
    }
    in_proto = inner[ipv4::kProtocol];
  }
  if (in_proto != ipproto::kProtoTcp && in_proto != ipproto::kProtoUdp) {
    return drop(DropReason::kIcmpNoFlow);
  }
  {
    // Verified before it is translated: a recomputed checksum would launder a corrupt error.
    uint64_t sum = 0;
    if constexpr (F::kV6) {
      sum = csum::add_ipv6_pseudo_header(0, d.ip, d.l4_len, ipv6::kProtoIcmpv6);
    }
    if (!csum::verify(csum::add(sum, d.l4, d.l4_len))) return drop(F::kIcmpBadChecksum);
  }
  if (ttl_expires<F>(d.ip)) return drop(DropReason::kTtlExceeded);
  const uint8_t* const inner_l4 = inner + inner_hlen;
  const uint16_t isport = load16(inner_l4), idport = load16(inner_l4 + 2);

  if (to_vip) {
    // About a packet the client got from the VIP: quoted VIP:vport -> client:cport.
    FlowTuple t;
    set_tuple<F>(t, inner + F::kDst, inner + F::kSrc, idport, isport, in_proto);
    const lb::Service* svc = l4.tables->find_service(t.dst, F::kV6, in_proto, t.dport);
    if (svc == nullptr) return drop(DropReason::kIcmpNoFlow);
    const uint32_t h = ConnTable::hash(t);
    ConnDir dir;
    Conn* c = l4.conns->find(t, h, l4.now, &dir);
    if (c != nullptr && !revalidate(c, l4)) c = nullptr;
    if (c == nullptr) {
      if (svc->mode != lb::Mode::kNat) {
        // Stateless: Maglev gives the flow's backend.
        const lb::Backend* b = l4.tables->pick(*svc, h);
        if (b == nullptr) return drop(DropReason::kIcmpNoFlow);
        const Target target{b->addr.data(), b->nexthop, b->port_index, svc->mode};
        return forward_unchanged<F>(frame, len, headroom, target, l4, h,
                                    ForwardKind::kIcmpToBackend);
      }
      // The flow may live on another worker: ask each in turn.
      if (l4.workers > 1 && l4.handoff_hops + 1u < l4.workers) {
        ++l4.counters.handoffs;
        return handoff(static_cast<uint8_t>((l4.worker + 1) % l4.workers));
      }
      return drop(DropReason::kIcmpNoFlow);
    }
    if (c->mode != static_cast<uint8_t>(lb::Mode::kNat)) {
      const Target target{conn_src<F>(*c, ConnDir::kReply), c->nexthop, c->port_index,
                          static_cast<lb::Mode>(c->mode)};
      return forward_unchanged<F>(frame, len, headroom, target, l4, h, ForwardKind::kIcmpToBackend);
    }
    // The backend sent backend:bport -> SNAT:p; that is what the error must quote.
    const uint8_t* const backend = conn_src<F>(*c, ConnDir::kReply);
    const uint8_t* const snat = conn_dst<F>(*c, ConnDir::kReply);
    translate_icmp<F>(d, inner, inner_hlen, quoted, snat, backend, backend,
                      c->sport(ConnDir::kReply), snat, c->dport(ConnDir::kReply));
    uint8_t mac[6];
    if (!next_hop_mac(l4, c->nexthop, mac)) {
      return hold_for(l4, c->nexthop, ForwardKind::kIcmpToBackend, c->port_index);
    }
    set_macs(frame, mac, l4.port_mac[c->port_index]);
    return forward(ForwardKind::kIcmpToBackend, c->port_index);
  }

  // To a SNAT address: about a packet we sent a backend, quoted SNAT:p -> backend:bport.
  const uint16_t owner = static_cast<uint16_t>(be16(isport) % l4.workers);
  if (owner != l4.worker) {
    ++l4.counters.handoffs;
    return handoff(static_cast<uint8_t>(owner));
  }
  FlowTuple t;
  set_tuple<F>(t, inner + F::kDst, inner + F::kSrc, idport, isport, in_proto);
  ConnDir dir;
  Conn* c = l4.conns->find(t, ConnTable::hash(t), l4.now, &dir);
  if (c == nullptr || dir != ConnDir::kReply) return drop(DropReason::kIcmpNoFlow);
  // The client sent client:cport -> VIP:vport.
  const uint8_t* const client = conn_src<F>(*c, ConnDir::kOrig);
  const uint8_t* const vip = conn_dst<F>(*c, ConnDir::kOrig);
  translate_icmp<F>(d, inner, inner_hlen, quoted, vip, client, client, c->sport(ConnDir::kOrig),
                    vip, c->dport(ConnDir::kOrig));
  set_macs(frame, c->client_mac, l4.port_mac[c->client_port]);
  return forward(ForwardKind::kIcmpToClient, c->client_port);
}

template <class F>
Outcome dispatch_l4(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                    const Datagram& d, const AddressInfo& info, L4Context& l4) {
  const uint8_t icmp_proto = F::kV6 ? ipv6::kProtoIcmpv6 : ipv4::kProtoIcmp;
  const bool to_vip = (info.flags & kAddrVip) != 0;
  if (d.proto == icmp_proto) return icmp_error<F>(frame, len, headroom, d, to_vip, l4);
  if (d.proto == ipproto::kProtoTcp) {
    if (d.l4_len < tcp::kMinHeaderLen) return drop(DropReason::kL4Malformed);
    const uint32_t off = (d.l4[tcp::kDataOffset] >> 4) * 4u;
    if (off < tcp::kMinHeaderLen || off > d.l4_len) return drop(DropReason::kL4Malformed);
  } else {
    if (d.l4_len < udp::kHeaderLen) return drop(DropReason::kL4Malformed);
    const uint32_t ulen = load_be16(d.l4 + udp::kLength);
    if (ulen < udp::kHeaderLen || ulen > d.l4_len) return drop(DropReason::kL4Malformed);
  }
  if (to_vip) return from_client<F>(frame, len, headroom, port, d, l4);
  return from_backend<F>(frame, len, d, l4);
}

}  // namespace

bool open_backend_tuple(Conn* c, const lb::Backend& b, uint32_t hash, L4Context& l4) {
  const lb::Addr* snat = l4.tables->snat_for(c->v6, hash);
  if (snat == nullptr) return false;
  c->backend_id = b.id;
  c->generation = l4.generation;
  c->nexthop = b.nexthop;
  c->port_index = b.port_index;
  return c->v6 ? assign_snat<V6>(c, b, *snat, l4) : assign_snat<V4>(c, b, *snat, l4);
}

bool l7_next_hop_mac(L4Context& l4, uint16_t nexthop, uint8_t mac[6]) {
  return next_hop_mac(l4, nexthop, mac);
}

Outcome l4_ipv4(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                uint32_t ip_hlen, uint32_t l4_len, const AddressInfo& info, L4Context& l4) {
  uint8_t* const ip = frame + eth::kHeaderLen;
  const Datagram d{ip, ip + ip_hlen, ip_hlen, l4_len, ip[ipv4::kProtocol]};
  return dispatch_l4<V4>(frame, len, headroom, port, d, info, l4);
}

Outcome l4_ipv6(uint8_t* frame, uint16_t* len, uint16_t headroom, const PortContext& port,
                uint32_t l4_len, const AddressInfo& info, L4Context& l4) {
  uint8_t* const ip = frame + eth::kHeaderLen;
  const Datagram d{ip, ip + ipv6::kHeaderLen, ipv6::kHeaderLen, l4_len, ip[ipv6::kNextHeader]};
  return dispatch_l4<V6>(frame, len, headroom, port, d, info, l4);
}

// ---- neighbor learning --------------------------------------------------------------------

void learn_from_arp(const uint8_t* frame, uint16_t len, L4Context& l4) {
  if (len < eth::kHeaderLen + arp::kLen || l4.tables == nullptr) return;
  const uint8_t* const a = frame + eth::kHeaderLen;
  if (std::memcmp(a, arp::kEthernetIpv4Prefix, sizeof arp::kEthernetIpv4Prefix) != 0) return;
  uint8_t addr[16] = {};
  std::memcpy(addr, a + arp::kSpa, 4);
  const int idx = l4.tables->nexthop_index(addr, 0);
  if (idx >= 0 && !mac_is_group(a + arp::kSha)) l4.neighbors->learn(idx, a + arp::kSha, l4.now);
}

void learn_from_ndp(const uint8_t* frame, uint16_t len, L4Context& l4) {
  constexpr size_t kMsg = eth::kHeaderLen + ipv6::kHeaderLen;
  if (len < kMsg + nd::kOptions || l4.tables == nullptr) return;
  const uint8_t* const ip = frame + eth::kHeaderLen;
  if (ip[ipv6::kNextHeader] != ipv6::kProtoIcmpv6 || ip[ipv6::kHopLimit] != nd::kHopLimit) return;
  const uint8_t* const msg = frame + kMsg;
  const uint32_t msg_len = std::min<uint32_t>(load_be16(ip + ipv6::kPayloadLength), len - kMsg);
  const uint8_t type = msg[icmp6::kType];
  const uint8_t* who;
  uint8_t want_opt;
  if (type == icmp6::kNeighborAdvertisement) {
    who = msg + nd::kTarget;
    want_opt = nd::kOptTargetLinkAddr;
  } else if (type == icmp6::kNeighborSolicitation) {
    who = ip + ipv6::kSrc;
    want_opt = nd::kOptSourceLinkAddr;
  } else {
    return;
  }
  const int idx = l4.tables->nexthop_index(who, 1);
  if (idx < 0) return;
  // A corrupted message teaches nothing (RFC 4861 7.1.1/7.1.2: the checksum must be valid).
  const uint64_t pseudo = csum::add_ipv6_pseudo_header(0, ip, msg_len, ipv6::kProtoIcmpv6);
  if (!csum::verify(csum::add(pseudo, msg, msg_len))) return;
  const uint8_t* mac = nullptr;
  for (uint32_t off = nd::kOptions; off + 2 <= msg_len;) {
    const uint32_t opt_len = msg[off + 1] * 8u;
    if (opt_len == 0 || off + opt_len > msg_len) return;
    if (msg[off] == want_opt && opt_len >= nd::kLinkAddrOptLen) mac = msg + off + 2;
    off += opt_len;
  }
  // A solicited NA without the option: the sender's Ethernet address is the target's.
  if (mac == nullptr && type == icmp6::kNeighborAdvertisement) mac = frame + eth::kSrc;
  if (mac != nullptr && !mac_is_group(mac)) l4.neighbors->learn(idx, mac, l4.now);
}

}  // namespace nf::detail

// ---- burst preparation ------------------------------------------------------------------------

namespace nf {

void flow_hint(const uint8_t* frame, uint16_t len, FlowHint* hint) {
  using namespace wire;
  using detail::V4;
  using detail::V6;
  hint->l4_offset = 0;
  hint->snat_port = 0;
  if (len < eth::kHeaderLen + ipv4::kMinHeaderLen) return;
  const uint16_t type = load16(frame + eth::kType);
  const uint8_t* const ip = frame + eth::kHeaderLen;
  uint32_t off;
  uint8_t proto;
  if (type == eth::kTypeIpv4) {
    const uint32_t ihl = (ip[ipv4::kVersionIhl] & 0x0fu) * 4u;
    if (ihl < ipv4::kMinHeaderLen) return;
    off = eth::kHeaderLen + ihl;
    proto = ip[ipv4::kProtocol];
  } else if (type == eth::kTypeIpv6) {
    off = eth::kHeaderLen + ipv6::kHeaderLen;
    proto = ip[ipv6::kNextHeader];
  } else {
    return;
  }
  // The whole minimal transport header is in the frame (flow_prefetch() reads TCP flags).
  if (proto == ipproto::kProtoTcp) {
    if (off + tcp::kMinHeaderLen > len) return;
  } else if (proto != ipproto::kProtoUdp || off + udp::kHeaderLen > len) {
    return;
  }
  hint->v6 = type == eth::kTypeIpv6;
  const FlowKey k = hint->v6 ? detail::packet_key<V6>(ip, frame + off, proto)
                             : detail::packet_key<V4>(ip, frame + off, proto);
  hint->hash = ConnTable::hash(k);
  hint->l4_offset = static_cast<uint8_t>(off);
}

void flow_prefetch(const uint8_t* frame, FlowHint* hint, L4Context& l4) {
  using namespace wire;
  if (hint->l4_offset == 0) return;
  if (l4.conns->prefetch_record(hint->hash, hint->v6)) return;
  // No record has the frame's signature: a new flow, if it goes to a service at all. Every new
  // flow takes a free record; a full-NAT one also indexes its reply tuple, whose bucket is as
  // far away in memory as the first: pick the backend and the SNAT port now and fetch it.
  const uint8_t* const ip = frame + eth::kHeaderLen;
  const uint8_t* const l4h = frame + hint->l4_offset;
  const uint8_t proto = hint->v6 ? ip[ipv6::kNextHeader] : ip[ipv4::kProtocol];
  if (proto == ipproto::kProtoTcp && (l4h[tcp::kFlags] & tcp::kRst) != 0) return;
  const uint8_t* const dst = ip + (hint->v6 ? ipv6::kDst : ipv4::kDst);
  const lb::Service* svc = l4.tables->find_service(dst, hint->v6, proto, load16(l4h + 2));
  if (svc == nullptr || l4.new_flows_hinted >= L4Context::kMaxHinted) return;
  const unsigned k = l4.new_flows_hinted++;
  l4.hinted_backend[k] = ~0u;
  l4.conns->prefetch_free(k);
  if (svc->mode != lb::Mode::kNat) return;
  const lb::Backend* b = l4.tables->pick(*svc, hint->hash);
  const lb::Addr* snat = l4.tables->snat_for(hint->v6, hint->hash);
  if (b == nullptr || snat == nullptr) return;
  // Earlier new flows of this burst to the same backend take its next ports first.
  uint32_t ahead = 0;
  for (unsigned j = 0; j < k; ++j) ahead += l4.hinted_backend[j] == b->snat_cursor;
  l4.hinted_backend[k] = b->snat_cursor;
  const uint16_t port = detail::snat_port(l4, b->snat_cursor, ahead);
  FlowTuple r;
  if (hint->v6) {
    detail::set_tuple<detail::V6>(r, b->addr.data(), snat->data(), b->port, port, proto);
  } else {
    detail::set_tuple<detail::V4>(r, b->addr.data(), snat->data(), b->port, port, proto);
  }
  l4.conns->prefetch_bucket(ConnTable::hash(r));
  hint->snat_port = port;
}

}  // namespace nf
