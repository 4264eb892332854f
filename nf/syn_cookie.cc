// SYN cookie codec (the layout, the secrets and the differences from Linux are in syn_cookie.h).
//
// make and check run on worker lcores: no allocation, no syscalls, no clock reads. Both build the
// hash input once in a small stack buffer, tuple | count | mss_index, and hash its tuple prefix
// (H1) and the whole of it (H2): for IPv4 12 and 17 bytes (2 and 3 SipHash compressions), for
// IPv6 36 and 41 (5 and 6). The count is written little-endian so every host hashes the same
// bytes. SynCookieKeys runs on the control thread.
#include "nf/syn_cookie.h"

#include <cstring>

namespace nf {
namespace {

constexpr uint32_t kCountShift = 32 - kSynCookieCountBits;        // 24
constexpr uint32_t kCountMask = (1u << kSynCookieCountBits) - 1;  // 0xff
constexpr uint32_t kLowMask = (1u << kCountShift) - 1;            // 0xffffff
constexpr uint32_t kMssMask = kSynCookieMssCount - 1;             // 0x3
constexpr uint32_t kTagMask = kLowMask & ~kMssMask;               // 0xfffffc
static_assert(kSynCookieMaxAge < kCountMask / 2, "ages must not alias counts from the future");

// The hash input: the tuple's bytes as on the wire, then count (LE32) and the MSS index.
template <size_t kTupleBytes>
struct HashInput {
  static constexpr size_t kH1Bytes = kTupleBytes;
  static constexpr size_t kH2Bytes = kTupleBytes + 5;
  uint8_t bytes[kH2Bytes];

  void set_count_and_index(uint32_t count, uint32_t mss_index) {
    bytes[kTupleBytes + 0] = static_cast<uint8_t>(count);
    bytes[kTupleBytes + 1] = static_cast<uint8_t>(count >> 8);
    bytes[kTupleBytes + 2] = static_cast<uint8_t>(count >> 16);
    bytes[kTupleBytes + 3] = static_cast<uint8_t>(count >> 24);
    bytes[kTupleBytes + 4] = static_cast<uint8_t>(mss_index);
  }
  uint32_t h1(const SipHashKey& key) const {
    return static_cast<uint32_t>(siphash24_fixed<kH1Bytes>(key, bytes));
  }
  uint32_t h2(const SipHashKey& key) const {
    return static_cast<uint32_t>(siphash24_fixed<kH2Bytes>(key, bytes));
  }
};

template <typename Tuple, size_t kAddrBytes>
HashInput<2 * kAddrBytes + 4> hash_input(const Tuple& t) {
  HashInput<2 * kAddrBytes + 4> in{};
  std::memcpy(in.bytes, t.saddr, kAddrBytes);
  std::memcpy(in.bytes + kAddrBytes, t.daddr, kAddrBytes);
  std::memcpy(in.bytes + 2 * kAddrBytes, &t.sport, 2);
  std::memcpy(in.bytes + 2 * kAddrBytes + 2, &t.dport, 2);
  return in;
}

HashInput<12> hash_input(const SynCookieTuple4& t) { return hash_input<SynCookieTuple4, 4>(t); }
HashInput<36> hash_input(const SynCookieTuple6& t) { return hash_input<SynCookieTuple6, 16>(t); }

using MssTable = const uint16_t[kSynCookieMssCount];
MssTable& mss_table(const SynCookieTuple4&) { return kSynCookieMss4; }
MssTable& mss_table(const SynCookieTuple6&) { return kSynCookieMss6; }

template <typename Tuple>
SynCookie make(const SynCookieKeys& keys, const Tuple& tuple, uint32_t client_isn,
               const SynOptions& offered, uint32_t now_count, uint32_t now_ts) {
  MssTable& table = mss_table(tuple);
  const uint32_t mss_index = syn_cookie_mss_index(table, offered.mss);

  SynCookie out;
  out.negotiated.mss = table[mss_index];
  if (offered.timestamps) {
    // Window scale and SACK can be remembered only in the TSval (Linux: tcp_conn_request clears
    // the options of a cookie SYN without timestamps).
    out.negotiated.timestamps = true;
    out.negotiated.ts_val = offered.ts_val;
    out.negotiated.sack_permitted = offered.sack_permitted;
    if (offered.wscale != kNoWindowScale) {
      out.negotiated.wscale = offered.wscale < kMaxWindowScale ? offered.wscale : kMaxWindowScale;
    }
    out.ts_val = syn_cookie_ts_encode(out.negotiated, now_ts);
  }

  auto in = hash_input(tuple);
  in.set_count_and_index(now_count, mss_index);
  const SipHashKey& key = keys.current();
  out.isn =
      in.h1(key) + client_isn + (now_count << kCountShift) + ((in.h2(key) & kTagMask) | mss_index);
  return out;
}

// The MSS index if `cookie` was made under `key` for this input and ISN at most kSynCookieMaxAge
// counts ago, otherwise -1. `in`'s count and index bytes are overwritten.
template <size_t kTupleBytes>
int check_under(const SipHashKey& key, HashInput<kTupleBytes>& in, uint32_t cookie,
                uint32_t client_isn, uint32_t now_count) {
  const uint32_t rest = cookie - in.h1(key) - client_isn;  // (count << 24) | tag | index
  const uint32_t age = (now_count - (rest >> kCountShift)) & kCountMask;
  if (age > kSynCookieMaxAge) return -1;  // too old, from the future, or forged
  const uint32_t mss_index = rest & kMssMask;
  in.set_count_and_index(now_count - age, mss_index);
  if (((in.h2(key) ^ rest) & kTagMask) != 0) return -1;
  return static_cast<int>(mss_index);
}

template <typename Tuple>
SynCookieCheck check(const SynCookieKeys& keys, const Tuple& tuple, const SynCookieAck& ack,
                     uint32_t now_count) {
  const uint32_t cookie = ack.ack - 1;
  const uint32_t client_isn = ack.seq - 1;
  auto in = hash_input(tuple);

  SynCookieCheck out;
  int mss_index = check_under(keys.current(), in, cookie, client_isn, now_count);
  if (mss_index < 0) {
    const SipHashKey* previous = keys.previous(now_count);
    if (previous == nullptr) return out;
    mss_index = check_under(*previous, in, cookie, client_isn, now_count);
    if (mss_index < 0) return out;
    out.previous_secret = true;
  }
  out.valid = true;
  out.options.mss = mss_table(tuple)[mss_index];
  if (ack.timestamps) {
    // RFC 7323 §3.2: the client sends timestamps only if the SYN-ACK had them, which it had only
    // if the SYN had them; so the TSecr is the TSval make encoded.
    out.options.timestamps = true;
    out.options.ts_val = ack.ts_val;
    syn_cookie_ts_decode(ack.ts_ecr, out.options);
  }
  return out;
}

}  // namespace

// ---- control thread ----

SynCookieKeys::SynCookieKeys(const uint8_t (&secret)[kSecretBytes])
    : current_(siphash_key(secret)) {}

void SynCookieKeys::rotate(const uint8_t (&secret)[kSecretBytes], uint32_t now_count) {
  previous_ = current_;
  current_ = siphash_key(secret);
  has_previous_ = true;
  rotated_at_ = now_count;
  ++generation_;
}

// ---- worker lcores ----

uint32_t syn_cookie_mss_index(const uint16_t (&table)[kSynCookieMssCount], uint16_t mss) {
  // As Linux's __cookie_v4_init_sequence: from the largest entry down, the first not above mss.
  uint32_t i = kSynCookieMssCount - 1;
  while (i > 0 && table[i] > mss) --i;
  return i;
}

uint32_t syn_cookie_ts_encode(const SynOptions& negotiated, uint32_t now_ts) {
  uint32_t options = negotiated.wscale == kNoWindowScale ? kTsOptWscaleMask
                                                         : (negotiated.wscale & kTsOptWscaleMask);
  if (negotiated.sack_permitted) options |= kTsOptSack;
  if (negotiated.ecn) options |= kTsOptEcn;
  constexpr uint32_t kOptMask = (1u << kTsOptBits) - 1;
  uint32_t ts = (now_ts & ~kOptMask) | options;
  // Both share the bits above the low 6, so the unsigned comparison is the serial one; moving
  // back by 64 wraps below zero when now_ts < 64, which in serial arithmetic is still "before".
  if (ts > now_ts) ts -= 1u << kTsOptBits;
  return ts;
}

void syn_cookie_ts_decode(uint32_t ts_ecr, SynOptions& out) {
  const uint32_t wscale = ts_ecr & kTsOptWscaleMask;
  out.wscale = wscale == kTsOptWscaleMask ? kNoWindowScale : static_cast<uint8_t>(wscale);
  out.sack_permitted = (ts_ecr & kTsOptSack) != 0;
  out.ecn = (ts_ecr & kTsOptEcn) != 0;
}

SynCookie syn_cookie_make(const SynCookieKeys& keys, const SynCookieTuple4& tuple,
                          uint32_t client_isn, const SynOptions& offered, uint32_t now_count,
                          uint32_t now_ts) {
  return make(keys, tuple, client_isn, offered, now_count, now_ts);
}

SynCookie syn_cookie_make(const SynCookieKeys& keys, const SynCookieTuple6& tuple,
                          uint32_t client_isn, const SynOptions& offered, uint32_t now_count,
                          uint32_t now_ts) {
  return make(keys, tuple, client_isn, offered, now_count, now_ts);
}

SynCookieCheck syn_cookie_check(const SynCookieKeys& keys, const SynCookieTuple4& tuple,
                                const SynCookieAck& ack, uint32_t now_count) {
  return check(keys, tuple, ack, now_count);
}

SynCookieCheck syn_cookie_check(const SynCookieKeys& keys, const SynCookieTuple6& tuple,
                                const SynCookieAck& ack, uint32_t now_count) {
  return check(keys, tuple, ack, now_count);
}

}  // namespace nf
