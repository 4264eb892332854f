// TCP option parsing and writing (RFC 9293 §3.1, RFC 7323, RFC 2018); see tcp_options.h.
#include "nf/tcp_options.h"

#include "nf/wire.h"

namespace nf::tcp_opt {
namespace {

using wire::be16;
using wire::be32;

uint32_t load_be32(const uint8_t* p) { return be32(wire::load32(p)); }

}  // namespace

const char* options_error_name(OptionsError e) {
  static constexpr const char* kNames[] = {
#define PORTICO_TCP_OPTIONS_NAME(name, text) text,
      PORTICO_TCP_OPTIONS_ERRORS(PORTICO_TCP_OPTIONS_NAME)
#undef PORTICO_TCP_OPTIONS_NAME
  };
  const auto i = static_cast<size_t>(e);
  return i < sizeof kNames / sizeof kNames[0] ? kNames[i] : "unknown";
}

OptionsError parse_options(const uint8_t* p, size_t len, TcpOptions* out) {
  *out = TcpOptions{};
  if (len > kMaxOptionsLen) return OptionsError::kAreaTooLong;
  // Each pass consumes at least one byte of at most 40: bounded.
  size_t i = 0;
  while (i < len) {
    const uint8_t kind = p[i];
    if (kind == kEol) break;  // the rest is padding
    if (kind == kNop) {
      ++i;
      continue;
    }
    if (len - i < 2) return OptionsError::kMissingLength;
    const uint8_t olen = p[i + 1];
    if (olen < 2) return OptionsError::kLengthBelowTwo;
    if (olen > len - i) return OptionsError::kLengthPastEnd;
    const uint8_t* const data = p + i + 2;
    switch (kind) {
      case kMss:
        if (olen != kMssLen) return OptionsError::kBadLength;
        if (out->has_mss) return OptionsError::kDuplicate;
        out->has_mss = true;
        out->mss = wire::load_be16(data);
        break;
      case kWindowScale:
        if (olen != kWindowScaleLen) return OptionsError::kBadLength;
        if (out->has_wscale) return OptionsError::kDuplicate;
        out->has_wscale = true;
        out->wscale = data[0];
        break;
      case kSackPermitted:
        if (olen != kSackPermittedLen) return OptionsError::kBadLength;
        if (out->sack_permitted) return OptionsError::kDuplicate;
        out->sack_permitted = true;
        break;
      case kSack: {
        // olen <= len <= 40 bounds the count by (40 - 2) / 8 = kMaxSackBlocks.
        if (olen < 2 + kSackBlockLen || (olen - 2) % kSackBlockLen != 0) {
          return OptionsError::kBadLength;
        }
        if (out->sack_count != 0) return OptionsError::kDuplicate;
        const size_t n = (olen - 2) / kSackBlockLen;
        for (size_t b = 0; b < n; ++b) {
          out->sack[b].left = load_be32(data + b * kSackBlockLen);
          out->sack[b].right = load_be32(data + b * kSackBlockLen + 4);
        }
        out->sack_count = static_cast<uint8_t>(n);
        out->sack_offset = static_cast<uint8_t>(i);
        break;
      }
      case kTimestamps:
        if (olen != kTimestampsLen) return OptionsError::kBadLength;
        if (out->has_timestamps) return OptionsError::kDuplicate;
        out->has_timestamps = true;
        out->ts_offset = static_cast<uint8_t>(i);
        out->ts_val = load_be32(data);
        out->ts_ecr = load_be32(data + 4);
        break;
      default:
        break;  // unknown: skipped by its length
    }
    i += olen;
  }
  return OptionsError::kOk;
}

size_t write_syn_options(const TcpOptions& o, uint8_t* out) {
  uint8_t* w = out;
  if (o.has_mss) {
    w[0] = kMss;
    w[1] = kMssLen;
    wire::store16(w + 2, be16(o.mss));
    w += 4;
  }
  if (o.has_timestamps) {
    // SACK-Permitted takes the place of the two NOPs before the timestamps.
    w[0] = o.sack_permitted ? kSackPermitted : kNop;
    w[1] = o.sack_permitted ? kSackPermittedLen : kNop;
    w[2] = kTimestamps;
    w[3] = kTimestampsLen;
    wire::store32(w + 4, be32(o.ts_val));
    wire::store32(w + 8, be32(o.ts_ecr));
    w += 12;
  } else if (o.sack_permitted) {
    w[0] = kNop;
    w[1] = kNop;
    w[2] = kSackPermitted;
    w[3] = kSackPermittedLen;
    w += 4;
  }
  if (o.has_wscale) {
    w[0] = kNop;
    w[1] = kWindowScale;
    w[2] = kWindowScaleLen;
    w[3] = o.wscale;
    w += 4;
  }
  return static_cast<size_t>(w - out);
}

size_t write_timestamps(uint32_t ts_val, uint32_t ts_ecr, uint8_t* out) {
  out[0] = kNop;
  out[1] = kNop;
  out[2] = kTimestamps;
  out[3] = kTimestampsLen;
  wire::store32(out + 4, be32(ts_val));
  wire::store32(out + 8, be32(ts_ecr));
  return kTimestampsBlockLen;
}

}  // namespace nf::tcp_opt
