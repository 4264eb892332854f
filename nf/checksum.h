// The Internet checksum: one's complement sum of 16-bit words (RFC 1071), its incremental
// update (RFC 1624) and the IPv6 pseudo-header (RFC 8200 §8.1).
//
// Private to nf/. All values are in memory order, as wire::load16 returns them: RFC 1071 §2(B)
// makes the sum byte-order independent, so nothing is swapped. Words are added 32 bits at a time
// into a 64-bit accumulator (2^32 = 1 mod 0xffff, so this equals summing 16-bit words) and
// folded once at the end. No allocation, no branches beyond the length loop: per-packet safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nf/wire.h"

namespace nf::csum {

// Adds len bytes at p to a running sum. An odd last byte counts as the high byte of a word.
// Only the last chunk of a message may have an odd length.
inline uint64_t add(uint64_t sum, const uint8_t* p, size_t len) {
  for (; len >= 4; p += 4, len -= 4) sum += wire::load32(p);
  if (len >= 2) {
    sum += wire::load16(p);
    p += 2;
    len -= 2;
  }
  if (len != 0) {
    uint16_t last = 0;
    std::memcpy(&last, p, 1);
    sum += last;
  }
  return sum;
}

// Folds a running sum to 16 bits with end-around carries (not complemented).
inline uint16_t fold(uint64_t sum) {
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);  // now <= 2^32
  sum = (sum & 0xffffu) + (sum >> 16);      // now <= 0x1fffe
  sum = (sum & 0xffffu) + (sum >> 16);      // now <= 0xffff
  return static_cast<uint16_t>(sum);
}

// A message whose sum, checksum field included, folds to all ones is intact.
inline bool verify(uint64_t sum) { return fold(sum) == 0xffff; }

// The value to store in a checksum field that was zero while summing.
inline uint16_t finish(uint64_t sum) { return static_cast<uint16_t>(~fold(sum)); }

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when one 16-bit word changes from m to m'.
inline uint16_t update16(uint16_t check, uint16_t old_word, uint16_t new_word) {
  uint64_t sum = static_cast<uint16_t>(~check);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  return static_cast<uint16_t>(~fold(sum));
}

// The change to a one's complement sum when len bytes (a multiple of 4) at `old_bytes` are
// replaced by those at `new_bytes`: sum(~old) + sum(new) (RFC 1624 eqn. 3 for many words). Add
// the deltas of every field that changed, then apply() them to each checksum covering them.
inline uint64_t delta(const uint8_t* old_bytes, const uint8_t* new_bytes, size_t len) {
  uint64_t sum = 0;
  for (size_t i = 0; i < len; i += 4) {
    sum += static_cast<uint32_t>(~wire::load32(old_bytes + i));
    sum += wire::load32(new_bytes + i);
  }
  return sum;
}

inline uint64_t delta16(uint16_t old_word, uint16_t new_word) {
  return static_cast<uint16_t>(~old_word) + uint64_t{new_word};
}

// A checksum field updated by a delta.
inline uint16_t apply(uint16_t check, uint64_t delta_sum) {
  return static_cast<uint16_t>(~fold(static_cast<uint16_t>(~check) + delta_sum));
}

// Adds the IPv6 pseudo-header (source, destination, upper-layer length, next header) of the
// IPv6 header at ip6.
inline uint64_t add_ipv6_pseudo_header(uint64_t sum, const uint8_t* ip6, uint32_t upper_len,
                                       uint8_t next_header) {
  sum = add(sum, ip6 + wire::ipv6::kSrc, 2 * wire::ipv6::kAddrLen);
  return sum + wire::be32(upper_len) + wire::be32(next_header);
}

}  // namespace nf::csum
