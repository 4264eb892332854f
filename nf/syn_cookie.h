// SYN cookies (RFC 4987 §3.6) for the HTTP listeners, where Portico completes the client's
// handshake itself: the SYN-ACK's initial sequence number is a keyed hash of the connection that
// also carries the little the SYN negotiated, so that nothing is stored before the client's ACK
// proves it can receive at its address. The design follows Linux (net/ipv4/syncookies.c,
// net/ipv6/syncookies.c); the differences are listed below.
//
// Threads. syn_cookie_make() and syn_cookie_check() run on worker lcores, once per SYN and per
// cookie ACK: no allocation, no syscalls, no clock reads (the caller passes "now"), two SipHash
// calls each (see "Cost"). SynCookieKeys is built and rotated by the control thread from random
// bytes it gets itself (getrandom); a worker only reads one. Rotate a copy and publish it the way
// the Snapshot is published (RCU): never rotate the object a worker is reading.
//
// The cookie (the SYN-ACK's sequence number), all arithmetic mod 2^32:
//
//   cookie = H1 + client_isn + (count << 24) + ((H2 & 0xfffffc) | mss_index)
//   H1 = SipHash-2-4(secret, saddr | daddr | sport | dport)                    (low 32 bits)
//   H2 = SipHash-2-4(secret, saddr | daddr | sport | dport | count | mss_index)
//
// `count` is a coarse clock the caller supplies (Linux: minutes, TCP_SYNCOOKIE_PERIOD; only its
// low 8 bits travel in the cookie, as in Linux); `mss_index` indexes a 4-entry MSS table. H1
// hides the count and makes the ISN unpredictable; H2 authenticates the count and the MSS index
// against the connection. Checking the ACK (ack - 1 = cookie, seq - 1 = client ISN) subtracts
// H1 and the ISN, reads the count from the top 8 bits (accepted if 0..kSynCookieMaxAge counts
// old, rejected if older or from the future), reads the MSS index from the low 2 bits and
// recomputes H2 to compare the 22 bits between.
//
// Differences from Linux:
//  * Linux adds the MSS index to H2 ((H2 + data) & 0xffffff) and accepts any result below the
//    table size. So a cookie or ISN off by 1..3 can still pass with another MSS: if the ACK is
//    lost with the client's first n data bytes, the next segment (seq = ISN + 1 + n, n <= the
//    index) validates with a wrong MSS and a receive sequence that silently skips n bytes. Here the
//    index is an input of H2 and sits beside 22 bits of it, so any change of the cookie or of the
//    ISN is caught (up to the 2^-22 forgery chance). The forgery rate is the same as Linux's: a
//    random 32-bit ACK passes with probability (kSynCookieMaxAge + 1) * 4 * 2^-32 per secret.
//  * One 128-bit secret per generation, not two: H1 and H2 have inputs of different lengths,
//    and SipHash's last block carries the length, so they are independent outputs of one PRF.
//  * Linux rejects a cookie `MAX_SYNCOOKIE_AGE` (2) counts old (diff >= 2); here ages 0, 1 and 2
//    pass (diff <= kSynCookieMaxAge): with minutes, a cookie lives two to three minutes.
//  * The secrets rotate (Linux keeps its two for the life of the kernel); see SynCookieKeys.
//
// TCP options (Linux's cookie_init_timestamp / cookie_timestamp_decode). If the SYN carried
// timestamps (RFC 7323 §3), the SYN-ACK's TSval carries the client's window scale (4 bits, 0xf =
// none), SACK-permitted (bit 4) and ECN (bit 5) in its low 6 bits; the client echoes it in the
// ACK's TSecr. Without timestamps there is nowhere to keep them, so window scaling and SACK are
// off for the connection (as in Linux). These 6 bits are not authenticated (as in Linux): a
// client can only change the options of its own connection.
//
// Cost (TSC cycles on the 2-core AMD EPYC test machine, -O2, loops of 2M calls, best of 7; rough):
// SipHash-2-4 of 12/17/36/41 bytes 43/48/60/67 cycles. IPv4: make 71, check of a valid ACK 92,
// of a forged one 49 (H2 is only computed when the count lands in the window, 3 times in 256).
// IPv6: 114, 123, 67. While the previous secret is live a forged ACK costs one more SipHash
// (IPv4 75, IPv6 119) and an ACK under the previous secret up to two more (118, 175).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nf/siphash.h"

namespace nf {

// ---- constants ----

inline constexpr uint32_t kSynCookieMaxAge = 2;     // counts (ages 0..2 pass, 3 does not)
inline constexpr uint32_t kSynCookieCountBits = 8;  // top bits of the cookie
inline constexpr uint32_t kSynCookieMssBits = 2;    // low bits of the cookie
inline constexpr uint32_t kSynCookieMssCount = 1u << kSynCookieMssBits;

// MSS tables, sorted. IPv4: Linux's msstab in net/ipv4/syncookies.c (from Alcock and Nelson,
// "An Analysis of TCP Maximum Segment Sizes", 2011: 1460 is the most frequent value, 1300-1349
// holds 15-20%, 1440/1452 is PPPoE, below 536 is rare). IPv6: Linux's msstab in
// net/ipv6/syncookies.c, MTUs minus 60 (RFC 8200 §8.3): 1280 (the IPv6 minimum MTU), 1480
// (PPPoE/tunnels), 1500 (Ethernet), 9000 (jumbo).
inline constexpr uint16_t kSynCookieMss4[kSynCookieMssCount] = {536, 1300, 1440, 1460};
inline constexpr uint16_t kSynCookieMss6[kSynCookieMssCount] = {1280 - 60, 1480 - 60, 1500 - 60,
                                                                9000 - 60};

// The MSS to assume when a SYN has no MSS option (RFC 9293 §3.7.1: 576 - 40 for IPv4, 1280 - 60
// for IPv6). Both are the first entries of the tables.
inline constexpr uint16_t kDefaultMss4 = 536;
inline constexpr uint16_t kDefaultMss6 = 1220;

// Window scale shifts (RFC 7323 §2.3): at most 14; larger values offered are used as 14.
inline constexpr uint8_t kMaxWindowScale = 14;
inline constexpr uint8_t kNoWindowScale = 0xff;  // the SYN had no Window Scale option

// Low bits of the SYN-ACK's TSval that carry the options (Linux's TS_OPT_*).
inline constexpr uint32_t kTsOptBits = 6;
inline constexpr uint32_t kTsOptWscaleMask = 0xf;  // 0xf = no window scaling
inline constexpr uint32_t kTsOptSack = 1u << 4;
inline constexpr uint32_t kTsOptEcn = 1u << 5;

// ---- the connection ----

// The connection as the client's SYN and ACK show it: source = the client, destination = the
// listener's address. Addresses are in network order (the header's bytes); ports are network
// order too, as a uint16_t loaded from the header with memcpy. The hash input is these bytes in
// this order, so a tuple hashes the same on every host.
struct SynCookieTuple4 {
  uint8_t saddr[4];
  uint8_t daddr[4];
  uint16_t sport;
  uint16_t dport;
};

struct SynCookieTuple6 {
  uint8_t saddr[16];
  uint8_t daddr[16];
  uint16_t sport;
  uint16_t dport;
};

// What a SYN negotiated. As the input of syn_cookie_make(): what the client's SYN offered. As its
// output and the output of syn_cookie_check(): what the connection uses.
struct SynOptions {
  uint16_t mss = kDefaultMss4;      // in: the SYN's MSS option (or kDefaultMss4/6 without one);
                                    // out: the table entry the cookie carries
  uint8_t wscale = kNoWindowScale;  // the client's window scale shift, or kNoWindowScale
  bool sack_permitted = false;      // the SYN carried SACK-permitted (RFC 2018)
  bool timestamps = false;          // the SYN (for check: the ACK) carried timestamps
  bool ecn = false;                 // in: ignored (Portico does not negotiate ECN); out of
                                    // make: false; out of check: the bit the TSecr carried
  uint32_t ts_val = 0;  // the client's TSval (SYN's, or for check the ACK's): the next TSecr

  bool operator==(const SynOptions&) const = default;
};

// ---- secrets ----

// The current and the previous secret. A cookie made under the previous secret still passes
// until it ages out: check tries the current secret, then the previous one while it can still
// hold live cookies (for kSynCookieMaxAge + 1 counts after the rotation: one count of slack for
// a worker that makes cookies under the old keys until it sees the new ones).
//
// How a worker learns a cookie's generation, and why so. The alternative, a generation bit in
// the cookie, cannot be read before H1 is subtracted, and H1 depends on the secret; so it would
// save nothing unless H1 stopped rotating, and it would cost a bit of H2 (double the forgery
// rate, for good) or of the count. Trying both instead costs nothing in the cookie; its price
// is paid only in the counts right after a rotation: an ACK under the previous secret costs
// two more SipHash calls, a forged ACK one more, and a forged ACK passes twice as often.
//
// Rotate at most once every kSynCookieMaxAge + 2 counts: a secret two rotations old is gone, and
// so are the cookies still alive under it. Portico rotates far less often than that.
class SynCookieKeys {
 public:
  static constexpr size_t kSecretBytes = 16;

  // Generation 0, no previous secret. `secret`: random bytes from the control thread.
  explicit SynCookieKeys(const uint8_t (&secret)[kSecretBytes]);

  // The current secret becomes the previous one, `secret` the current one; the generation
  // advances. `now_count` is the cookie clock (the count make and check are given) at rotation.
  void rotate(const uint8_t (&secret)[kSecretBytes], uint32_t now_count);

  // Number of rotations since construction.
  uint64_t generation() const { return generation_; }

  const SipHashKey& current() const { return current_; }
  // The previous secret if it may still hold cookies that have not aged out at `now_count`,
  // otherwise null. A count before the rotation (a worker's clock a little behind the control
  // thread's) keeps it.
  const SipHashKey* previous(uint32_t now_count) const {
    const int32_t since = static_cast<int32_t>(now_count - rotated_at_);
    return has_previous_ && since <= static_cast<int32_t>(kSynCookieMaxAge + 1) ? &previous_
                                                                                : nullptr;
  }

 private:
  SipHashKey current_;
  SipHashKey previous_;
  uint64_t generation_ = 0;
  uint32_t rotated_at_ = 0;
  bool has_previous_ = false;
};

// ---- the codec ----

// What make gives the SYN-ACK.
struct SynCookie {
  uint32_t isn = 0;       // the SYN-ACK's sequence number
  uint32_t ts_val = 0;    // the SYN-ACK's TSval (only if negotiated.timestamps; its TSecr is the
                          // SYN's TSval)
  SynOptions negotiated;  // what the SYN-ACK acknowledges: mss from the table; without
                          // timestamps no window scale and no SACK
};

// The fields of the client's ACK that check reads, host order. The caller has checked that the
// segment is an ACK without SYN or RST for a listener that answers with cookies.
struct SynCookieAck {
  uint32_t seq = 0;         // the ACK's sequence number (client ISN + 1)
  uint32_t ack = 0;         // its acknowledgment number (cookie + 1)
  bool timestamps = false;  // the ACK carried the Timestamps option
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
};

struct SynCookieCheck {
  bool valid = false;
  bool previous_secret = false;  // valid under the secret before the last rotation
  SynOptions options;            // what the SYN negotiated (meaningful only if valid)
};

// SYN -> cookie. `client_isn` is the SYN's sequence number; `offered` what the SYN carried;
// `now_count` the cookie clock; `now_ts` the millisecond clock TSvals come from (a per-connection
// offset, if any, is the caller's, added before the call and subtracted from the ACK's TSecr).
SynCookie syn_cookie_make(const SynCookieKeys& keys, const SynCookieTuple4& tuple,
                          uint32_t client_isn, const SynOptions& offered, uint32_t now_count,
                          uint32_t now_ts);
SynCookie syn_cookie_make(const SynCookieKeys& keys, const SynCookieTuple6& tuple,
                          uint32_t client_isn, const SynOptions& offered, uint32_t now_count,
                          uint32_t now_ts);

// ACK -> valid? and what the SYN negotiated. `now_count` as for make.
SynCookieCheck syn_cookie_check(const SynCookieKeys& keys, const SynCookieTuple4& tuple,
                                const SynCookieAck& ack, uint32_t now_count);
SynCookieCheck syn_cookie_check(const SynCookieKeys& keys, const SynCookieTuple6& tuple,
                                const SynCookieAck& ack, uint32_t now_count);

// The index of the largest table entry not above `mss`, or 0 if every entry is above it.
uint32_t syn_cookie_mss_index(const uint16_t (&table)[kSynCookieMssCount], uint16_t mss);

// The SYN-ACK's TSval for `negotiated` (window scale, SACK, ECN in the low 6 bits): `now_ts` with
// its low 6 bits replaced, moved back by 64 if that would put it after `now_ts` (a TSval from
// the future would break the client's PAWS test, RFC 7323 §5), mod 2^32.
uint32_t syn_cookie_ts_encode(const SynOptions& negotiated, uint32_t now_ts);

// The options an ACK's TSecr carries back: sets wscale, sack_permitted and ecn of `out`.
void syn_cookie_ts_decode(uint32_t ts_ecr, SynOptions& out);

}  // namespace nf
