// libFuzzer target: the BGP codec (control/bgp/codec.h) on arbitrary bytes.
//
// A session frames its TCP byte stream with frame_length() and decodes each whole message with
// decode(); this target does the same, under both CodecOptions (4-octet AS_PATH or not), and
// checks that:
//   * nothing reads outside the bytes given (each message is decoded from a heap copy of exactly
//     its length, so ASan sees any overrun) and nothing crashes or aborts;
//   * frame_length answers consistently (0 until 19 bytes, the same length once the header is
//     there) and errors name a real NOTIFICATION;
//   * whatever decodes, re-encodes into a message that decodes again to the same fields (for the
//     fields the encoder writes): OPEN, UPDATE, NOTIFICATION, ROUTE-REFRESH, KEEPALIVE; and
//     encoded_update_size() equals the size encode_update() returns.
//
// Input: the first byte picks the mode. Even: the rest is a raw byte stream, framed as received.
// Odd: the rest is one message whose marker and length field the harness sets (length = the
// bytes given, at most 4096), so that mutations which insert or drop bytes still reach the
// message parsers instead of stopping at the framing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <variant>
#include <vector>

#include "control/bgp/codec.h"

namespace {

using bgp::CodecOptions;
using bgp::Error;
using bgp::Message;

// A failed check names itself before aborting, so a crash log says which property broke.
#define check(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      std::fprintf(stderr, "bgp_fuzzer: check failed at line %d: %s\n", __LINE__, #cond); \
      std::abort();                                                           \
    }                                                                         \
  } while (0)

void check_error(const Error& e) {
  check(e.code >= 1 && e.code <= 7);
  check(!e.message.empty());
  if (e.code == bgp::err::kHeader && e.subcode == bgp::err::kHeaderBadLength)
    check(e.data.size() == 2);
}

// Decodes again what encode_*() made of a decoded message.
Message redecode(const std::vector<uint8_t>& wire, const CodecOptions& opts) {
  check(wire.size() >= bgp::kHeaderLen && wire.size() <= bgp::kMaxMessageLen);
  auto framed = bgp::frame_length(wire);
  check(std::holds_alternative<size_t>(framed) && std::get<size_t>(framed) == wire.size());
  auto r = bgp::decode(wire, opts);
  check(std::holds_alternative<Message>(r));
  return std::get<Message>(std::move(r));
}

void round_trip_open(const bgp::Open& a, const CodecOptions& opts) {
  const bgp::Open b = std::get<bgp::Open>(redecode(bgp::encode_open(a), opts));
  check(a.version == b.version && a.my_as == b.my_as && a.hold_time_s == b.hold_time_s &&
        a.bgp_id == b.bgp_id);
  check(a.caps.multiprotocol == b.caps.multiprotocol);
  check(a.caps.route_refresh == b.caps.route_refresh);
  check(a.caps.four_octet_as == b.caps.four_octet_as);
  check(b.caps.unknown_codes.empty());  // not written
  check(a.caps.graceful_restart.has_value() == b.caps.graceful_restart.has_value());
  if (a.caps.graceful_restart) {
    const auto& ga = *a.caps.graceful_restart;
    const auto& gb = *b.caps.graceful_restart;
    check(ga.restart_state == gb.restart_state && ga.restart_time_s == gb.restart_time_s);
    check(ga.families.size() == gb.families.size());
    for (size_t i = 0; i < ga.families.size(); ++i) {
      check(ga.families[i].af == gb.families[i].af);
      check(ga.families[i].forwarding_preserved == gb.families[i].forwarding_preserved);
    }
  }
}

void round_trip_update(const bgp::Update& a, const CodecOptions& opts) {
  std::vector<uint8_t> wire = bgp::encode_update(a, opts);
  check(bgp::encoded_update_size(a, opts) == wire.size());
  // Re-encoding may grow an UPDATE past 4096 bytes (AS4_PATH written next to AS_PATH, a
  // 4-byte next hop written as 16): the Adj-RIB-Out never builds such UPDATEs, and the
  // round trip is only defined for messages that fit.
  if (wire.size() > bgp::kMaxMessageLen) return;
  const bgp::Update b = std::get<bgp::Update>(redecode(wire, opts));
  check(a.withdrawn == b.withdrawn && a.nlri == b.nlri);
  check(a.mp_unreach_af == b.mp_unreach_af && a.mp_unreach == b.mp_unreach);
  check(a.mp_reach_af == b.mp_reach_af && a.mp_reach == b.mp_reach);
  // Path attributes are written only when the UPDATE reaches something.
  if (!a.nlri.empty() || a.mp_reach_af) check(a.attrs == b.attrs);
  else check(b.attrs == bgp::Attributes{});
  // What the encoder writes is clean: nothing to withdraw, discard or note.
  if (!a.treat_as_withdraw) {
    check(!b.treat_as_withdraw);
    check(b.discarded_attributes.empty());
    check(b.error_note.empty());
  }
  // An UPDATE that reaches and withdraws nothing re-encodes as an End-of-RIB (attributes are
  // only written with something to reach; an empty MP_UNREACH stays); anything else keeps its
  // meaning.
  const bool nothing = a.withdrawn.empty() && a.nlri.empty() && !a.mp_reach_af &&
                       a.mp_unreach.empty();
  check(b.is_end_of_rib() == nothing);
  check(!a.is_end_of_rib() || nothing);
  if (a.is_end_of_rib()) {
    const bgp::AfiSafi af = a.mp_unreach_af.value_or(bgp::AfiSafi{});
    check(std::get<bgp::Update>(redecode(bgp::encode_end_of_rib(af), opts)).is_end_of_rib());
  }
}

void one_message(std::span<const uint8_t> msg, const CodecOptions& opts) {
  auto r = bgp::decode(msg, opts);
  if (auto* e = std::get_if<Error>(&r)) {
    check_error(*e);
    return;
  }
  const Message& m = std::get<Message>(r);
  const std::vector<uint8_t> original(msg.begin(), msg.end());
  if (auto* o = std::get_if<bgp::Open>(&m)) {
    round_trip_open(*o, opts);
  } else if (auto* u = std::get_if<bgp::Update>(&m)) {
    round_trip_update(*u, opts);
  } else if (auto* n = std::get_if<bgp::Notification>(&m)) {
    check(bgp::encode_notification(*n) == original);  // nothing in it is normalised
  } else if (auto* rr = std::get_if<bgp::RouteRefresh>(&m)) {
    check(bgp::encode_route_refresh(*rr) == original);
  } else {
    check(bgp::encode_keepalive() == original);
  }
}

void stream(std::span<const uint8_t> data) {
  while (true) {
    auto framed = bgp::frame_length(data);
    if (auto* e = std::get_if<Error>(&framed)) {
      check(e->code == bgp::err::kHeader);
      check_error(*e);
      return;
    }
    const size_t len = std::get<size_t>(framed);
    if (len == 0) {
      check(data.size() < bgp::kHeaderLen);
      return;
    }
    check(len >= bgp::kHeaderLen && len <= bgp::kMaxMessageLen);
    // Any prefix holding the header gives the same answer.
    auto again = bgp::frame_length(data.first(bgp::kHeaderLen));
    check(std::holds_alternative<size_t>(again) && std::get<size_t>(again) == len);
    if (len > data.size()) return;  // the rest has not arrived
    const std::vector<uint8_t> copy(data.begin(), data.begin() + len);
    one_message(copy, CodecOptions{.four_octet_as = true});
    one_message(copy, CodecOptions{.four_octet_as = false});
    data = data.subspan(len);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix_header = data[0] & 1;
  std::span<const uint8_t> rest(data + 1, size - 1);
  if (!fix_header) {
    stream(rest);
    return 0;
  }
  if (rest.size() < bgp::kHeaderLen) return 0;
  std::vector<uint8_t> msg(rest.begin(), rest.begin() + std::min(rest.size(), bgp::kMaxMessageLen));
  std::fill_n(msg.begin(), 16, 0xff);
  msg[16] = static_cast<uint8_t>(msg.size() >> 8);
  msg[17] = static_cast<uint8_t>(msg.size());
  stream(msg);
  return 0;
}
