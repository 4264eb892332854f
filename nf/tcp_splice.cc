// The per-packet TCP splice (RFC 9293, RFC 7323, RFC 2018; checksums RFC 1624); policies and
// numbering in tcp_splice.h.
//
// One template does both directions and both families, so the per-segment code has no runtime
// branch on either. Work per segment: the TCP header's length and flags, the option area (the
// two common layouts by one compare, anything else parsed by tcp_opt::parse_options(), then
// rewritten in place and compared with a copy of the area), then every rewrite accumulates its
// one's complement change (RFC 1624 eqn. 3, in memory order like nf/checksum.h) into one delta,
// applied once to the TCP checksum and once (with the TTL change) to the IPv4 header checksum.
// Nothing is written before the verdict is known: a segment that is not forwarded comes back
// unchanged.
#include "nf/tcp_splice.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nf/checksum.h"
#include "nf/wire.h"

namespace nf::splice {
namespace {

using namespace wire;

static_assert(sizeof(SpliceState) <= 64, "one cache line at most");

inline uint32_t load_be32(const uint8_t* p) { return be32(load32(p)); }
inline void store_be32(uint8_t* p, uint32_t v) { store32(p, be32(v)); }

// Serial-number "a before b" (RFC 1982), valid while the two are within 2^31 of each other.
inline bool before(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

inline uint16_t anomaly_bit(SpliceAnomaly a) {
  return static_cast<uint16_t>(1u << static_cast<int>(a));
}

constexpr SpliceResult verdict(SpliceVerdict v) { return SpliceResult{v, 0}; }

// NOP, NOP, Timestamps: the option area of almost every segment of a connection with timestamps.
constexpr uint32_t kNopNopTimestamps =
    be32(uint32_t{tcp_opt::kNop} << 24 | uint32_t{tcp_opt::kNop} << 16 |
         uint32_t{tcp_opt::kTimestamps} << 8 | tcp_opt::kTimestampsLen);

uint8_t effective_wscale(const tcp_opt::TcpOptions& own, const tcp_opt::TcpOptions& other) {
  // RFC 7323 §2.2: scaling is on only if both SYNs carried the option; §2.3: shifts above 14
  // are taken as 14.
  if (!own.has_wscale || !other.has_wscale) return 0;
  return std::min(own.wscale, tcp_opt::kMaxWindowScale);
}

// The numbers of one direction: from the sender's numbering to the receiver's.
struct Direction {
  uint32_t seq_offset;  // added to seq
  uint32_t ack_offset;  // subtracted from ack and SACK edges
  uint32_t ts_offset;   // added to TSval
  uint32_t ecr_offset;  // subtracted from TSecr
  bool receiver_ts;
  bool receiver_sack;
};

// Rewrites the SACK option at `so` (its kind byte; n blocks) for the receiver. Before the
// replayed head is acknowledged (`delivered` false, backend -> client only), blocks below the
// backend's head end are trimmed to it or removed; the bytes of removed blocks become NOPs.
template <bool kToBackend>
void rewrite_sack(uint8_t* so, size_t n, const Direction& d, const SpliceState& s, bool delivered,
                  uint16_t* anomalies) {
  tcp_opt::SackBlock out[tcp_opt::kMaxSackBlocks];
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t left = load_be32(so + 2 + i * tcp_opt::kSackBlockLen);
    const uint32_t right = load_be32(so + 6 + i * tcp_opt::kSackBlockLen);
    if constexpr (!kToBackend) {
      if (!delivered) {
        if (!before(s.head_end_backend, right)) {  // wholly inside the head
          *anomalies |= anomaly_bit(SpliceAnomaly::kSackInHead);
          continue;
        }
        if (before(left, s.head_end_backend)) {
          left = s.head_end_backend;
          *anomalies |= anomaly_bit(SpliceAnomaly::kSackInHead);
        }
      }
    }
    out[kept++] = tcp_opt::SackBlock{left - d.ack_offset, right - d.ack_offset};
  }
  const size_t old_len = 2 + n * tcp_opt::kSackBlockLen;
  if (kept == 0) {
    std::memset(so, tcp_opt::kNop, old_len);
    return;
  }
  const size_t new_len = 2 + kept * tcp_opt::kSackBlockLen;
  so[1] = static_cast<uint8_t>(new_len);
  for (size_t i = 0; i < kept; ++i) {
    store_be32(so + 2 + i * tcp_opt::kSackBlockLen, out[i].left);
    store_be32(so + 6 + i * tcp_opt::kSackBlockLen, out[i].right);
  }
  std::memset(so + new_len, tcp_opt::kNop, old_len - new_len);
}

// Any option layout but the two common ones: parses the area and, if it is well formed,
// rewrites it in place and returns the checksum change (one delta over the whole area, which
// starts at TCP header byte 20 and is a multiple of 4 long, so odd-aligned options are
// covered too) and the anomalies. Malformed: ok false, nothing written. (Returned by value, so
// that the caller's delta and anomalies stay in registers.)
struct OptionsRewrite {
  uint64_t delta = 0;
  uint16_t anomalies = 0;
  bool ok = false;
};

template <bool kToBackend>
[[gnu::noinline]] OptionsRewrite rewrite_options(uint8_t* opts, uint32_t opt_len, uint8_t flags,
                                                 const Direction& d, const SpliceState& s,
                                                 bool delivered) {
  OptionsRewrite r;
  tcp_opt::TcpOptions o;
  if (tcp_opt::parse_options(opts, opt_len, &o) != tcp_opt::OptionsError::kOk) return r;
  uint16_t* const anomalies = &r.anomalies;
  uint8_t old[tcp_opt::kMaxOptionsLen];
  std::memcpy(old, opts, opt_len);
  if (o.has_timestamps) {
    uint8_t* const t = opts + o.ts_offset;
    if (d.receiver_ts) {
      store_be32(t + 2, o.ts_val + d.ts_offset);
      store_be32(t + 6, o.ts_ecr - d.ecr_offset);
    } else {
      std::memset(t, tcp_opt::kNop, tcp_opt::kTimestampsLen);
      *anomalies |= anomaly_bit(SpliceAnomaly::kTimestampsStripped);
    }
  } else if (d.receiver_ts && (flags & tcp::kRst) == 0) {
    *anomalies |= anomaly_bit(SpliceAnomaly::kTimestampsMissing);
  }
  if (o.sack_count != 0) {
    uint8_t* const so = opts + o.sack_offset;
    if (d.receiver_sack) {
      rewrite_sack<kToBackend>(so, o.sack_count, d, s, delivered, anomalies);
    } else {
      std::memset(so, tcp_opt::kNop, 2 + o.sack_count * tcp_opt::kSackBlockLen);
      *anomalies |= anomaly_bit(SpliceAnomaly::kSackStripped);
    }
  }
  r.delta = csum::delta(old, opts, opt_len);
  r.ok = true;
  return r;
}

template <bool kV6, bool kToBackend>
SpliceResult splice(std::conditional_t<kToBackend, const SpliceState, SpliceState>& s,
                    const NatTuple& to, const Segment& seg) {
  constexpr size_t kAddrLen = kV6 ? ipv6::kAddrLen : 4;
  constexpr size_t kSrc = kV6 ? ipv6::kSrc : ipv4::kSrc;
  constexpr size_t kDst = kV6 ? ipv6::kDst : ipv4::kDst;
  const Direction d = kToBackend ? Direction{s.seq_to_backend, s.seq_to_client, s.ts_to_backend,
                                             s.ts_to_client,   s.ts_backend,    s.sack_backend}
                                 : Direction{s.seq_to_client, s.seq_to_backend, s.ts_to_client,
                                             s.ts_to_backend, s.ts_client,      s.sack_client};

  uint8_t* const ip = seg.ip;
  uint8_t* const th = ip + seg.ip_hlen;
  if (seg.tcp_len < tcp::kMinHeaderLen) return verdict(SpliceVerdict::kMalformed);
  const uint32_t hlen = (th[tcp::kDataOffset] >> 4) * 4u;
  if (hlen < tcp::kMinHeaderLen || hlen > seg.tcp_len) return verdict(SpliceVerdict::kMalformed);
  const uint8_t flags = th[tcp::kFlags];
  if ((flags & tcp::kSyn) != 0) return verdict(SpliceVerdict::kSyn);
  const uint32_t payload_len = seg.tcp_len - hlen;
  const uint32_t seq = load_be32(th + tcp::kSeq);
  if constexpr (kToBackend) {
    if (!s.head_delivered && (payload_len != 0 || (flags & tcp::kFin) != 0) &&
        before(seq, s.head_end_client)) {
      return verdict(SpliceVerdict::kDataInHead);
    }
  }

  // Acknowledgement: worked out before anything is written (the options need `delivered`).
  SpliceResult r;
  const bool has_ack = (flags & tcp::kAckFlag) != 0;
  const uint32_t old_ack = load32(th + tcp::kAck);
  const uint32_t ack = be32(old_ack);
  uint32_t new_ack = old_ack;
  bool delivered = s.head_delivered;
  if (has_ack) {
    new_ack = be32(ack - d.ack_offset);
    if constexpr (!kToBackend) {
      if (!delivered) {
        if (before(ack, s.head_end_backend)) {
          r.anomalies |= anomaly_bit(SpliceAnomaly::kAckInHead);
          new_ack = be32(s.head_end_client);
        } else {
          delivered = true;
        }
      }
    }
  }

  uint8_t* const opts = th + tcp::kMinHeaderLen;
  const uint32_t opt_len = hlen - tcp::kMinHeaderLen;
  const bool fast_ts = opt_len == tcp_opt::kTimestampsBlockLen && load32(opts) == kNopNopTimestamps;
  uint64_t dtcp = 0;
  if (opt_len != 0 && !fast_ts) {
    const OptionsRewrite o = rewrite_options<kToBackend>(opts, opt_len, flags, d, s, delivered);
    if (!o.ok) return verdict(SpliceVerdict::kMalformed);
    dtcp = o.delta;
    r.anomalies |= o.anomalies;
  }
  // From here on the segment is forwarded.
  if constexpr (!kToBackend) s.head_delivered = delivered;
  const uint32_t mss = kToBackend ? s.mss_backend : s.mss_client;
  if (payload_len > mss) r.anomalies |= anomaly_bit(SpliceAnomaly::kOverMss);

  if (fast_ts) {
    uint8_t* const val = opts + 4;  // TSval at TCP header byte 24, TSecr at 28: aligned words
    uint8_t* const ecr = opts + 8;
    if (d.receiver_ts) {
      const uint32_t old_val = load32(val), old_ecr = load32(ecr);
      const uint32_t new_val = be32(be32(old_val) + d.ts_offset);
      const uint32_t new_ecr = be32(be32(old_ecr) - d.ecr_offset);
      dtcp += static_cast<uint32_t>(~old_val) + uint64_t{new_val} +
              static_cast<uint32_t>(~old_ecr) + uint64_t{new_ecr};
      store32(val, new_val);
      store32(ecr, new_ecr);
    } else {
      static constexpr uint8_t kNops[tcp_opt::kTimestampsBlockLen] = {1, 1, 1, 1, 1, 1,
                                                                      1, 1, 1, 1, 1, 1};
      dtcp += csum::delta(opts, kNops, sizeof kNops);
      std::memcpy(opts, kNops, sizeof kNops);
      r.anomalies |= anomaly_bit(SpliceAnomaly::kTimestampsStripped);
    }
  } else if (opt_len == 0 && d.receiver_ts && (flags & tcp::kRst) == 0) {
    r.anomalies |= anomaly_bit(SpliceAnomaly::kTimestampsMissing);
  }

  // Sequence and acknowledgement numbers.
  const uint32_t old_seq = load32(th + tcp::kSeq);
  const uint32_t new_seq = be32(seq + d.seq_offset);
  dtcp += static_cast<uint32_t>(~old_seq) + uint64_t{new_seq} + static_cast<uint32_t>(~old_ack) +
          uint64_t{new_ack};
  store32(th + tcp::kSeq, new_seq);
  store32(th + tcp::kAck, new_ack);

  // Window: from the sender's scale into the receiver's.
  const uint8_t from_scale = kToBackend ? s.wscale_from_client : s.wscale_from_backend;
  const uint8_t to_scale = kToBackend ? s.wscale_to_backend : s.wscale_to_client;
  if (from_scale != to_scale) {
    const uint16_t old_win = load16(th + tcp::kWindow);
    uint32_t w = (uint32_t{be16(old_win)} << from_scale) >> to_scale;  // < 2^30: shifts <= 14
    if (w > 0xffff) {
      w = 0xffff;
      r.anomalies |= anomaly_bit(SpliceAnomaly::kWindowClamped);
    }
    const uint16_t new_win = be16(static_cast<uint16_t>(w));
    dtcp += csum::delta16(old_win, new_win);
    store16(th + tcp::kWindow, new_win);
  }

  // Addresses and ports (in the pseudo-header and the TCP header), as l4.cc's full NAT does.
  uint8_t ports[4];
  store16(ports, to.sport);
  store16(ports + 2, to.dport);
  const uint32_t new_ports = load32(ports);
  const uint64_t daddr =
      csum::delta(ip + kSrc, to.src, kAddrLen) + csum::delta(ip + kDst, to.dst, kAddrLen);
  dtcp += daddr + static_cast<uint32_t>(~load32(th)) + new_ports;
  std::memcpy(ip + kSrc, to.src, kAddrLen);
  std::memcpy(ip + kDst, to.dst, kAddrLen);
  store32(th, new_ports);
  store16(th + tcp::kChecksum, csum::apply(load16(th + tcp::kChecksum), dtcp));

  // TTL / hop limit: a datagram Portico sends.
  if constexpr (kV6) {
    ip[ipv6::kHopLimit] = ipv6::kReplyHopLimit;
  } else {
    const uint16_t old_word = load16(ip + ipv4::kTtl);  // TTL and protocol
    ip[ipv4::kTtl] = ipv4::kReplyTtl;
    const uint64_t dip = daddr + csum::delta16(old_word, load16(ip + ipv4::kTtl));
    store16(ip + ipv4::kChecksum, csum::apply(load16(ip + ipv4::kChecksum), dip));
  }
  return r;
}

}  // namespace

SpliceState make_splice_state(const HandshakeSide& client, const HandshakeSide& backend, bool v6) {
  const uint16_t default_mss = v6 ? 1220 : 536;  // RFC 9293 §3.7.1
  SpliceState s;
  s.isn_client = client.isn_peer;
  s.isn_cookie = client.isn_portico;
  s.isn_portico = backend.isn_portico;
  s.isn_backend = backend.isn_peer;
  s.head_delta = backend.head_len - client.head_len;
  s.head_end_client = client.isn_peer + 1 + client.head_len;
  s.head_end_backend = backend.isn_portico + 1 + backend.head_len;
  s.seq_to_backend = backend.isn_portico - client.isn_peer + s.head_delta;
  s.seq_to_client = client.isn_portico - backend.isn_peer;
  s.ts_to_backend = backend.ts_sent - client.ts_received;
  s.ts_to_client = client.ts_sent - backend.ts_received;
  s.mss_client = client.peer_syn.has_mss ? client.peer_syn.mss : default_mss;
  s.mss_backend = backend.peer_syn.has_mss ? backend.peer_syn.mss : default_mss;
  s.wscale_from_client = effective_wscale(client.peer_syn, client.portico_syn);
  s.wscale_to_client = effective_wscale(client.portico_syn, client.peer_syn);
  s.wscale_from_backend = effective_wscale(backend.peer_syn, backend.portico_syn);
  s.wscale_to_backend = effective_wscale(backend.portico_syn, backend.peer_syn);
  s.sack_client = client.peer_syn.sack_permitted && client.portico_syn.sack_permitted;
  s.sack_backend = backend.peer_syn.sack_permitted && backend.portico_syn.sack_permitted;
  s.ts_client = client.peer_syn.has_timestamps && client.portico_syn.has_timestamps;
  s.ts_backend = backend.peer_syn.has_timestamps && backend.portico_syn.has_timestamps;
  s.head_delivered = backend.head_len == 0;
  return s;
}

const char* splice_verdict_name(SpliceVerdict v) {
  static constexpr const char* kNames[] = {
#define PORTICO_SPLICE_NAME(name, text) text,
      PORTICO_SPLICE_VERDICTS(PORTICO_SPLICE_NAME)
#undef PORTICO_SPLICE_NAME
  };
  const auto i = static_cast<size_t>(v);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "unknown";
}

const char* splice_anomaly_name(SpliceAnomaly a) {
  static constexpr const char* kNames[] = {
#define PORTICO_SPLICE_NAME(name, text) text,
      PORTICO_SPLICE_ANOMALIES(PORTICO_SPLICE_NAME)
#undef PORTICO_SPLICE_NAME
  };
  const auto i = static_cast<size_t>(a);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "unknown";
}

SpliceResult splice_to_backend(const SpliceState& s, const NatTuple& to, const Segment& seg) {
  return seg.v6 ? splice<true, true>(s, to, seg) : splice<false, true>(s, to, seg);
}

SpliceResult splice_to_client(SpliceState& s, const NatTuple& to, const Segment& seg) {
  return seg.v6 ? splice<true, false>(s, to, seg) : splice<false, false>(s, to, seg);
}

}  // namespace nf::splice
