// SipHash-2-4 with a 64-bit output (J.-P. Aumasson and D. J. Bernstein, "SipHash: a fast
// short-input PRF", INDOCRYPT 2012, §2): a keyed hash whose outputs an attacker who does not
// know the 128-bit key cannot predict or forge, even for inputs they choose. The SYN cookie
// codec (syn_cookie.h) uses it to authenticate the cookie against the connection's 4-tuple.
//
// Pure code: no allocation, no syscalls, no state; safe on a worker's per-packet path and on the
// control thread alike. Byte order follows the paper, independent of the host: the key's two
// words k0, k1 and every message word are read little-endian, and the last block carries the
// message length (mod 256) in its top byte.
//
// siphash24() takes any length. siphash24_fixed<N>() is the fast path for short inputs whose
// length is known at compile time (the cookie's 12- to 41-byte inputs): the same code, inlined,
// so the compiler unrolls the block loop and the tail for that one length.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nf {

struct SipHashKey {
  uint64_t k0 = 0;  // key bytes 0..7, little-endian
  uint64_t k1 = 0;  // key bytes 8..15, little-endian
};

namespace siphash_detail {

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

struct State {
  uint64_t v0, v1, v2, v3;

  // Initialization (paper §2.1): the key XORed into four constants, the ASCII of
  // "somepseudorandomlygeneratedbytes" read as big-endian words.
  explicit State(const SipHashKey& k)
      : v0(k.k0 ^ 0x736f6d6570736575ull),
        v1(k.k1 ^ 0x646f72616e646f6dull),
        v2(k.k0 ^ 0x6c7967656e657261ull),
        v3(k.k1 ^ 0x7465646279746573ull) {}

  // One SipRound (paper §2.1, Figure 2): two ARX half-rounds over the pairs (v0, v1), (v2, v3).
  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  // Compression of one message word with c = 2 SipRounds.
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }

  // Finalization with d = 4 SipRounds.
  uint64_t finish() {
    v2 ^= 0xff;
    round();
    round();
    round();
    round();
    return v0 ^ v1 ^ v2 ^ v3;
  }
};

// The whole function. Always inlined so that a constant `len` specialises it.
[[gnu::always_inline]] inline uint64_t hash(const SipHashKey& key, const uint8_t* p, size_t len) {
  State s(key);
  const size_t full = len & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) s.compress(load_le64(p + i));
  // Last block: the 0..7 remaining bytes, little-endian, with len mod 256 in the top byte.
  uint64_t b = static_cast<uint64_t>(len & 0xff) << 56;
  for (size_t i = 0; i < (len & 7); ++i) b |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  s.compress(b);
  return s.finish();
}

}  // namespace siphash_detail

// The key as the paper reads it from 16 bytes: k0 from bytes 0..7, k1 from bytes 8..15.
inline SipHashKey siphash_key(const uint8_t (&bytes)[16]) {
  return {siphash_detail::load_le64(bytes), siphash_detail::load_le64(bytes + 8)};
}

// SipHash-2-4 of len bytes at data (data may be null when len is 0).
uint64_t siphash24(const SipHashKey& key, const void* data, size_t len);

// SipHash-2-4 of exactly N bytes at data: the fast path for fixed-size inputs.
template <size_t N>
inline uint64_t siphash24_fixed(const SipHashKey& key, const uint8_t* data) {
  return siphash_detail::hash(key, data, N);
}

}  // namespace nf
