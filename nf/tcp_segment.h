// Complete Ethernet / IPv4-or-IPv6 / TCP frames for the segments Portico sends itself on the L7
// path: the SYN-ACK that answers a client (SYN cookie), the SYN that opens the backend
// connection, ACKs, the replayed request head and generated responses (data, with or without
// FIN), FIN and RST.
//
// Runs on worker lcores. Writes into a buffer the caller owns (an mbuf's data room); no
// allocation, no exceptions. Every field is written, so the buffer's previous content does not
// matter, and every checksum is computed in full (RFC 1071; pseudo-headers RFC 9293 §3.1 and
// RFC 8200 §8.1).
//
// IP header choices, the same for every segment (and the ones l4.cc makes for its resets):
//  * IPv4 (RFC 791): no options, TOS 0, TTL 64, Don't Fragment set and Identification 0 (an
//    atomic datagram, RFC 6864 §4.1: the ID of a DF datagram has no meaning). Portico is a TCP
//    endpoint here, so it sets DF as Linux does for TCP (path MTU discovery, RFC 1191).
//  * IPv6 (RFC 8200): traffic class 0, hop limit 64, the caller's flow label (RFC 6437: one
//    label per flow, so pass the same one for every segment of a connection; 0 = unlabelled).
// Frames shorter than the Ethernet minimum (60 bytes) are not padded: the NIC pads on transmit
// and the IP length says where the datagram ends.
//
// TCP choices: the data offset follows the options; the urgent pointer is 0; SYN and SYN-ACK
// carry the option block of tcp_opt::write_syn_options() (their window is never scaled, RFC 7323
// §2.2), ACK / data / FIN carry NOP, NOP, Timestamps when the caller gives timestamps, RST
// carries no options and window 0 (like Linux's resets).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nf/tcp_options.h"

namespace nf::tcp_seg {

// Who a segment is from and to. Addresses and ports in network order, as they appear in the
// headers; addresses are 4 bytes for IPv4 and 16 for IPv6.
struct SegmentAddrs {
  const uint8_t* src_mac = nullptr;
  const uint8_t* dst_mac = nullptr;
  const uint8_t* src_ip = nullptr;
  const uint8_t* dst_ip = nullptr;
  uint16_t sport = 0;
  uint16_t dport = 0;
  bool v6 = false;
  uint32_t flow_label = 0;  // IPv6 only: host order, low 20 bits
};

// The TCP fields of a segment, host order. `window` is the field as sent (already scaled).
struct SegmentFields {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;  // wire::tcp::kSyn, kAckFlag, ... plus kPsh
  uint16_t window = 0;
  const uint8_t* options = nullptr;
  size_t options_len = 0;  // a multiple of 4, at most 40
  const uint8_t* payload = nullptr;
  size_t payload_len = 0;
};

// TSval and TSecr for the Timestamps option (RFC 7323 §3), host order.
struct Timestamps {
  uint32_t val = 0;
  uint32_t ecr = 0;
};

inline constexpr uint8_t kPsh = 0x08;
inline constexpr size_t kMaxHeadersLen =
    14 + 40 + 60;  // Ethernet + IPv6 + TCP with 40 option bytes

// Header bytes before the payload of a segment: where the payload goes in buf.
inline constexpr size_t headers_len(bool v6, size_t options_len) {
  return 14 + (v6 ? 40 : 20) + 20 + options_len;
}

// Builds the frame into buf and returns its length, or 0 (buf untouched) when the options
// length is not a multiple of 4 or above 40, the datagram would exceed 65535 bytes, or the
// frame does not fit in cap bytes. The payload may be anywhere, in buf too (it is moved to
// buf + headers_len() before any header is written), or already at its place.
size_t build_segment(const SegmentAddrs& a, const SegmentFields& f, uint8_t* buf, size_t cap);

// SYN to a backend: sequence number isn, options from `syn` (MSS, SACK-Permitted, Timestamps,
// Window Scale as set there; TSecr is written as 0, RFC 7323 §3.2).
size_t build_syn(const SegmentAddrs& a, uint32_t isn, uint16_t window,
                 const tcp_opt::TcpOptions& syn, uint8_t* buf, size_t cap);

// SYN-ACK to a client: sequence number isn (the cookie), acknowledging ack.
size_t build_syn_ack(const SegmentAddrs& a, uint32_t isn, uint32_t ack, uint16_t window,
                     const tcp_opt::TcpOptions& syn, uint8_t* buf, size_t cap);

// ACK; ts == nullptr: no Timestamps option.
size_t build_ack(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                 const Timestamps* ts, uint8_t* buf, size_t cap);

// Data (PSH, ACK), with FIN as well when fin is set (a generated response that closes).
size_t build_data(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                  const Timestamps* ts, const uint8_t* payload, size_t payload_len, bool fin,
                  uint8_t* buf, size_t cap);

// FIN, ACK with no data.
size_t build_fin(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                 const Timestamps* ts, uint8_t* buf, size_t cap);

// RST (with_ack: RST, ACK acknowledging ack; else RST alone with an ack field of 0), window 0,
// no options (RFC 9293 §3.10.7.1 for the choice of seq and ack).
size_t build_rst(const SegmentAddrs& a, uint32_t seq, uint32_t ack, bool with_ack, uint8_t* buf,
                 size_t cap);

}  // namespace nf::tcp_seg
