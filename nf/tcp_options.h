// TCP options: parsing the option area of a segment and writing the option blocks Portico puts
// in the segments it sends itself (SYN, SYN-ACK, data and ACK segments).
//
// Runs on worker lcores, per packet (the L7 path: SYN cookies, the backend handshake, the
// splice). No allocation, no exceptions; the parser reads only the bytes it is given and reports
// malformed input as an error value.
//
// Layout (RFC 9293 §3.1): an option is either a single byte (kind 0 End of Option List, kind 1
// No-Operation) or kind, length (counting kind and length) and length - 2 bytes of data. The
// option area is the TCP header after its fixed 20 bytes, at most 40 bytes. Kinds understood:
//   2  Maximum Segment Size, length 4 (RFC 9293 §3.7.1)
//   3  Window Scale, length 3 (RFC 7323 §2)
//   4  SACK-Permitted, length 2 (RFC 2018 §2)
//   5  SACK, length 2 + 8n, 1 <= n <= 4 (RFC 2018 §3)
//   8  Timestamps, length 10 (RFC 7323 §3)
// Unknown kinds are skipped by their length (RFC 9293 §3.1, MUST-6). Bytes after an End of
// Option List are padding and not read. An illegal length never makes the parser read outside
// the area (MUST-7): a kind with no length byte, a length below 2, a length running past the
// area, a known kind with a length its RFC does not allow, and a second copy of a known option
// are each an error. (RFC 9293 only forbids the first three; a duplicate of a known option is
// refused here because a splice that translated one copy would pass the other untranslated.)
//
// Writing follows the order and padding Linux uses (tcp_options_write()), which middleboxes and
// fingerprinting tools expect from a SYN-ACK:
//   SYN / SYN-ACK: MSS | SACK-Permitted, Timestamps (or NOP, NOP, Timestamps) | NOP,
//                  SACK-Permitted (when there are no timestamps) | NOP, Window Scale
//   other segments: NOP, NOP, Timestamps
#pragma once

#include <cstddef>
#include <cstdint>

namespace nf::tcp_opt {

inline constexpr size_t kMaxOptionsLen = 40;  // data offset 15 words - 5 fixed words

inline constexpr uint8_t kEol = 0;
inline constexpr uint8_t kNop = 1;
inline constexpr uint8_t kMss = 2;
inline constexpr uint8_t kWindowScale = 3;
inline constexpr uint8_t kSackPermitted = 4;
inline constexpr uint8_t kSack = 5;
inline constexpr uint8_t kTimestamps = 8;

inline constexpr uint8_t kMssLen = 4;
inline constexpr uint8_t kWindowScaleLen = 3;
inline constexpr uint8_t kSackPermittedLen = 2;
inline constexpr uint8_t kTimestampsLen = 10;
inline constexpr size_t kSackBlockLen = 8;
inline constexpr size_t kMaxSackBlocks = 4;     // (40 - 2) / 8
inline constexpr uint8_t kMaxWindowScale = 14;  // RFC 7323 §2.3

// Option blocks as written: multiples of 4 bytes.
inline constexpr size_t kTimestampsBlockLen = 12;  // NOP, NOP, Timestamps
inline constexpr size_t kMaxSynOptionsLen = 20;    // MSS 4 + SACK-Permitted/Timestamps 12 + WS 4

#define PORTICO_TCP_OPTIONS_ERRORS(X)                                                     \
  X(kOk, "ok")                                                                            \
  X(kAreaTooLong, "area_too_long")       /* more than 40 bytes of options */              \
  X(kMissingLength, "missing_length")    /* a kind >= 2 in the last byte of the area */   \
  X(kLengthBelowTwo, "length_below_two") /* length 0 or 1: would not advance */           \
  X(kLengthPastEnd, "length_past_end")   /* the option runs past the option area */       \
  X(kBadLength, "bad_length")            /* a known kind with a length its RFC forbids */ \
  X(kDuplicate, "duplicate")             /* a known option appears twice */

enum class OptionsError : uint8_t {
#define PORTICO_TCP_OPTIONS_ENUM(name, text) name,
  PORTICO_TCP_OPTIONS_ERRORS(PORTICO_TCP_OPTIONS_ENUM)
#undef PORTICO_TCP_OPTIONS_ENUM
};

const char* options_error_name(OptionsError e);

// A SACK block: the left edge (first sequence number) and right edge (the one after the last)
// of a block of data the sender of the option holds (RFC 2018 §3). Host order.
struct SackBlock {
  uint32_t left = 0;
  uint32_t right = 0;
};

// What an option area says. Numbers are in host order. Offsets count from the first byte of the
// option area (TCP header byte 20) and locate an option's kind byte, for rewriting in place.
struct TcpOptions {
  uint16_t mss = 0;
  uint8_t wscale = 0;  // the shift as received (values above 14 are the caller's to clamp)
  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint8_t ts_offset = 0;  // valid when has_timestamps
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  uint8_t sack_count = 0;   // SACK blocks; 0: no SACK option
  uint8_t sack_offset = 0;  // valid when sack_count > 0
  SackBlock sack[kMaxSackBlocks];
};

// Parses `len` bytes of options at `p` into *out (reset first). kOk, or the first error found;
// *out then holds what was parsed before it. Never reads p[len] or beyond.
OptionsError parse_options(const uint8_t* p, size_t len, TcpOptions* out);

// Writes the options of a SYN or SYN-ACK: MSS if has_mss, SACK-Permitted if sack_permitted,
// Timestamps (ts_val, ts_ecr) if has_timestamps, Window Scale (wscale) if has_wscale, in Linux's
// order and padding. Writes at most kMaxSynOptionsLen bytes to out; returns the count (a
// multiple of 4). A SYN's TSecr must be 0 (RFC 7323 §3.2): the caller passes ts_ecr = 0.
size_t write_syn_options(const TcpOptions& o, uint8_t* out);

// Writes NOP, NOP, Timestamps(ts_val, ts_ecr): kTimestampsBlockLen bytes.
size_t write_timestamps(uint32_t ts_val, uint32_t ts_ecr, uint8_t* out);

}  // namespace nf::tcp_opt
