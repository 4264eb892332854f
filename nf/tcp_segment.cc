// Frames for the TCP segments Portico sends itself (RFC 9293, RFC 791, RFC 8200); see
// tcp_segment.h for the header choices.
#include "nf/tcp_segment.h"

#include <cstring>

#include "nf/checksum.h"
#include "nf/wire.h"

namespace nf::tcp_seg {
namespace {

using namespace wire;

constexpr uint8_t kTtl = ipv4::kReplyTtl;
constexpr uint8_t kHopLimit = ipv6::kReplyHopLimit;

}  // namespace

size_t build_segment(const SegmentAddrs& a, const SegmentFields& f, uint8_t* buf, size_t cap) {
  if (f.options_len % 4 != 0 || f.options_len > tcp_opt::kMaxOptionsLen) return 0;
  const size_t ip_hlen = a.v6 ? ipv6::kHeaderLen : ipv4::kMinHeaderLen;
  const size_t tcp_hlen = tcp::kMinHeaderLen + f.options_len;
  const size_t tcp_len = tcp_hlen + f.payload_len;
  // IPv4 total length and IPv6 payload length are 16-bit fields.
  if (f.payload_len > 0xffff || (a.v6 ? tcp_len : ip_hlen + tcp_len) > 0xffff) return 0;
  const size_t frame_len = eth::kHeaderLen + ip_hlen + tcp_len;
  if (frame_len > cap) return 0;

  uint8_t* const ip = buf + eth::kHeaderLen;
  uint8_t* const th = ip + ip_hlen;
  // The payload first, before any header byte is written: it may sit anywhere, in buf too.
  if (f.payload_len != 0 && f.payload != th + tcp_hlen) {
    std::memmove(th + tcp_hlen, f.payload, f.payload_len);
  }

  copy_mac(buf + eth::kDst, a.dst_mac);
  copy_mac(buf + eth::kSrc, a.src_mac);
  uint64_t sum;
  if (a.v6) {
    store16(buf + eth::kType, eth::kTypeIpv6);
    store32(ip + ipv6::kVtcFlow, be32(6u << 28 | (a.flow_label & 0xfffffu)));
    store16(ip + ipv6::kPayloadLength, be16(static_cast<uint16_t>(tcp_len)));
    ip[ipv6::kNextHeader] = ipproto::kProtoTcp;
    ip[ipv6::kHopLimit] = kHopLimit;
    std::memcpy(ip + ipv6::kSrc, a.src_ip, ipv6::kAddrLen);
    std::memcpy(ip + ipv6::kDst, a.dst_ip, ipv6::kAddrLen);
    sum = csum::add_ipv6_pseudo_header(0, ip, static_cast<uint32_t>(tcp_len), ipproto::kProtoTcp);
  } else {
    store16(buf + eth::kType, eth::kTypeIpv4);
    ip[ipv4::kVersionIhl] = 0x45;
    ip[1] = 0;  // TOS
    store16(ip + ipv4::kTotalLength, be16(static_cast<uint16_t>(ip_hlen + tcp_len)));
    store16(ip + 4, 0);  // Identification: DF is set (RFC 6864 §4.1)
    store16(ip + ipv4::kFragment, be16(RTE_IPV4_HDR_DF_FLAG));
    ip[ipv4::kTtl] = kTtl;
    ip[ipv4::kProtocol] = ipproto::kProtoTcp;
    store16(ip + ipv4::kChecksum, 0);
    std::memcpy(ip + ipv4::kSrc, a.src_ip, 4);
    std::memcpy(ip + ipv4::kDst, a.dst_ip, 4);
    store16(ip + ipv4::kChecksum, csum::finish(csum::add(0, ip, ipv4::kMinHeaderLen)));
    // Pseudo-header (RFC 9293 §3.1): source, destination, zero, protocol, TCP length.
    sum = csum::add(0, ip + ipv4::kSrc, 8) + be32(ipproto::kProtoTcp) +
          be32(static_cast<uint32_t>(tcp_len));
  }

  store16(th + ipproto::kSrcPort, a.sport);
  store16(th + ipproto::kDstPort, a.dport);
  store32(th + tcp::kSeq, be32(f.seq));
  store32(th + tcp::kAck, be32(f.ack));
  th[tcp::kDataOffset] = static_cast<uint8_t>((tcp_hlen / 4) << 4);
  th[tcp::kFlags] = f.flags;
  store16(th + tcp::kWindow, be16(f.window));
  store16(th + tcp::kChecksum, 0);
  store16(th + tcp::kUrgent, 0);
  if (f.options_len != 0) std::memcpy(th + tcp::kMinHeaderLen, f.options, f.options_len);
  store16(th + tcp::kChecksum, csum::finish(csum::add(sum, th, tcp_len)));
  return frame_len;
}

size_t build_syn(const SegmentAddrs& a, uint32_t isn, uint16_t window,
                 const tcp_opt::TcpOptions& syn, uint8_t* buf, size_t cap) {
  tcp_opt::TcpOptions o = syn;
  o.ts_ecr = 0;  // no ACK bit: TSecr must be zero (RFC 7323 §3.2)
  uint8_t opts[tcp_opt::kMaxSynOptionsLen];
  SegmentFields f;
  f.seq = isn;
  f.flags = tcp::kSyn;
  f.window = window;
  f.options = opts;
  f.options_len = tcp_opt::write_syn_options(o, opts);
  return build_segment(a, f, buf, cap);
}

size_t build_syn_ack(const SegmentAddrs& a, uint32_t isn, uint32_t ack, uint16_t window,
                     const tcp_opt::TcpOptions& syn, uint8_t* buf, size_t cap) {
  uint8_t opts[tcp_opt::kMaxSynOptionsLen];
  SegmentFields f;
  f.seq = isn;
  f.ack = ack;
  f.flags = tcp::kSyn | tcp::kAckFlag;
  f.window = window;
  f.options = opts;
  f.options_len = tcp_opt::write_syn_options(syn, opts);
  return build_segment(a, f, buf, cap);
}

size_t build_data(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                  const Timestamps* ts, const uint8_t* payload, size_t payload_len, bool fin,
                  uint8_t* buf, size_t cap) {
  uint8_t opts[tcp_opt::kTimestampsBlockLen];
  SegmentFields f;
  f.seq = seq;
  f.ack = ack;
  f.flags =
      static_cast<uint8_t>(tcp::kAckFlag | (payload_len != 0 ? kPsh : 0) | (fin ? tcp::kFin : 0));
  f.window = window;
  if (ts != nullptr) {
    f.options = opts;
    f.options_len = tcp_opt::write_timestamps(ts->val, ts->ecr, opts);
  }
  f.payload = payload;
  f.payload_len = payload_len;
  return build_segment(a, f, buf, cap);
}

size_t build_ack(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                 const Timestamps* ts, uint8_t* buf, size_t cap) {
  return build_data(a, seq, ack, window, ts, nullptr, 0, false, buf, cap);
}

size_t build_fin(const SegmentAddrs& a, uint32_t seq, uint32_t ack, uint16_t window,
                 const Timestamps* ts, uint8_t* buf, size_t cap) {
  return build_data(a, seq, ack, window, ts, nullptr, 0, true, buf, cap);
}

size_t build_rst(const SegmentAddrs& a, uint32_t seq, uint32_t ack, bool with_ack, uint8_t* buf,
                 size_t cap) {
  SegmentFields f;
  f.seq = seq;
  f.ack = with_ack ? ack : 0;
  f.flags = static_cast<uint8_t>(tcp::kRst | (with_ack ? tcp::kAckFlag : 0));
  return build_segment(a, f, buf, cap);
}

}  // namespace nf::tcp_seg
