// BGP-4 message codec: the wire format of control/bgp/codec.h.
//
// Pure code, no I/O, no exceptions; runs on the control thread (the session calls it). Every
// read goes through Reader, which checks the remaining length first, so a short or lying length
// field can only produce an Error. Nothing is sized from a length field before that length has
// been checked against the bytes actually present (messages are at most 4096 bytes).
//
// Followed documents, by section:
//   RFC 4271 4.1-4.5 (layouts), 6.1-6.3 (header, OPEN, UPDATE error codes and data)
//   RFC 5492 (capabilities in optional parameter 2), RFC 9072 (extended optional parameters
//     length: decoded, and used by encode_open only when the parameters exceed 255 bytes)
//   RFC 4760 (MP_REACH_NLRI / MP_UNREACH_NLRI), RFC 8950 (IPv6 next hop for IPv4 NLRI)
//   RFC 6793 (4-octet ASNs; AS4_PATH merged on 2-octet sessions, written when needed)
//   RFC 1997, RFC 8092 (communities, large communities), RFC 2918 / RFC 7313 (ROUTE-REFRESH)
//   RFC 4724 (graceful restart capability, End-of-RIB), RFC 7606 (revised UPDATE error
//     handling: session reset / treat-as-withdraw / attribute discard), RFC 7607 (AS 0)
#include "control/bgp/codec.h"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace bgp {
namespace {

// ---------------------------------------------------------------------------------------------
// Reading

// A bounds-checked cursor over a byte span. Callers test has()/left() before reading; the
// readers themselves never go past the end (they return 0 instead), so a missed check is a
// wrong value, never an out-of-bounds read.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  size_t left() const { return b_.size() - pos_; }
  bool has(size_t n) const { return left() >= n; }
  size_t pos() const { return pos_; }
  uint8_t u8() {
    if (!has(1)) return 0;
    return b_[pos_++];
  }
  uint16_t u16() {
    if (!has(2)) return 0;
    uint16_t v = static_cast<uint16_t>((b_[pos_] << 8) | b_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    if (!has(4)) return 0;
    uint32_t v = (uint32_t{b_[pos_]} << 24) | (uint32_t{b_[pos_ + 1]} << 16) |
                 (uint32_t{b_[pos_ + 2]} << 8) | b_[pos_ + 3];
    pos_ += 4;
    return v;
  }
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, left());
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::span<const uint8_t> rest() { return take(left()); }
  uint8_t peek() const { return has(1) ? b_[pos_] : 0; }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

Error make_error(uint8_t code, uint8_t subcode, std::string message,
                 std::vector<uint8_t> data = {}) {
  Error e;
  e.code = code;
  e.subcode = subcode;
  e.data = std::move(data);
  e.message = std::move(message);
  return e;
}

std::vector<uint8_t> u16_bytes(uint16_t v) {
  return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

std::vector<uint8_t> to_vector(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// Smallest length of each message type (RFC 4271 4.2-4.4). ROUTE-REFRESH is not here: RFC 7313
// gives a wrong ROUTE-REFRESH length its own error (code 7), which decode() sends.
size_t min_length(uint8_t type) {
  switch (type) {
    case 1: return 29;  // OPEN
    case 2: return 23;  // UPDATE
    case 3: return 21;  // NOTIFICATION
    case 4: return 19;  // KEEPALIVE
    default: return kHeaderLen;
  }
}

// RFC 4271 6.1 checks on a header whose 19 bytes are present. Returns the message length.
std::variant<size_t, Error> check_header(std::span<const uint8_t> buf) {
  for (size_t i = 0; i < 16; ++i) {
    if (buf[i] != 0xff)
      return make_error(err::kHeader, err::kHeaderNotSynchronized, "marker is not all ones");
  }
  const uint16_t len = static_cast<uint16_t>((buf[16] << 8) | buf[17]);
  const uint8_t type = buf[18];
  if (len < kHeaderLen || len > kMaxMessageLen) {
    return make_error(err::kHeader, err::kHeaderBadLength,
                      "message length " + std::to_string(len) + " outside 19..4096",
                      u16_bytes(len));
  }
  if (type < 1 || type > 5) {
    return make_error(err::kHeader, err::kHeaderBadType,
                      "unknown message type " + std::to_string(type), {type});
  }
  if (len < min_length(type) || (type == 4 && len != kHeaderLen)) {
    return make_error(err::kHeader, err::kHeaderBadLength,
                      "message length " + std::to_string(len) + " wrong for type " +
                          std::to_string(type),
                      u16_bytes(len));
  }
  return size_t{len};
}

config::IpAddress v4_from(std::span<const uint8_t> b) {
  return config::IpAddress::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                               (uint32_t{b[2]} << 8) | b[3]);
}

config::IpAddress v6_from(std::span<const uint8_t> b) {
  std::array<uint8_t, 16> a{};
  std::copy_n(b.begin(), 16, a.begin());
  return config::IpAddress::v6(a);
}

// NLRI / withdrawn prefixes (RFC 4271 4.3, RFC 4760 5): length byte, then the significant
// bytes. A length past the family's width or past the field is malformed (the caller resets
// the session: RFC 7606 5.3 keeps session reset for unparseable NLRI). Host bits are masked
// off rather than rejected: be liberal in what is accepted.
bool parse_prefixes(std::span<const uint8_t> field, config::IpFamily family,
                    std::vector<Prefix>* out, std::string* why) {
  const int max_bits = family == config::IpFamily::kIPv4 ? 32 : 128;
  Reader r(field);
  while (r.left() > 0) {
    const uint8_t len = r.u8();
    if (len > max_bits) {
      *why = "prefix length " + std::to_string(len) + " exceeds " + std::to_string(max_bits);
      return false;
    }
    const size_t nbytes = (len + 7u) / 8u;
    if (!r.has(nbytes)) {
      *why = "prefix of length " + std::to_string(len) + " overruns the field";
      return false;
    }
    std::array<uint8_t, 16> bytes{};
    auto b = r.take(nbytes);
    std::copy(b.begin(), b.end(), bytes.begin());
    config::IpAddress a = family == config::IpFamily::kIPv4
                              ? v4_from(std::span<const uint8_t>(bytes.data(), 4))
                              : config::IpAddress::v6(bytes);
    out->push_back(Prefix{a.masked(len), len});
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// OPEN (RFC 4271 4.2, 6.2; RFC 5492; RFC 9072)

constexpr uint8_t kCapMultiprotocol = 1, kCapRouteRefresh = 2, kCapGracefulRestart = 64,
                  kCapFourOctetAs = 65, kCapRouteRefreshOld = 128;
constexpr uint8_t kParamCapabilities = 2, kParamExtended = 255;

// Capabilities of one optional parameter of type 2. Several capabilities may share one
// parameter (BIRD) or each have its own (FRR, GoBGP): both forms arrive here one at a time.
std::optional<Error> parse_capabilities(std::span<const uint8_t> value, Capabilities* caps) {
  Reader r(value);
  while (r.left() > 0) {
    if (!r.has(2))
      return make_error(err::kOpen, 0, "capability header truncated");
    const uint8_t code = r.u8();
    const uint8_t len = r.u8();
    if (!r.has(len))
      return make_error(err::kOpen, 0,
                        "capability " + std::to_string(code) + " overruns its parameter");
    Reader c(r.take(len));
    switch (code) {
      case kCapMultiprotocol: {
        if (len != 4)
          return make_error(err::kOpen, 0,
                            "multiprotocol capability of length " + std::to_string(len));
        AfiSafi af;
        af.afi = static_cast<Afi>(c.u16());
        c.u8();  // reserved
        af.safi = c.u8();
        // Every family is kept (the session intersects them with its own), once.
        if (std::find(caps->multiprotocol.begin(), caps->multiprotocol.end(), af) ==
            caps->multiprotocol.end())
          caps->multiprotocol.push_back(af);
        break;
      }
      case kCapRouteRefresh:
      case kCapRouteRefreshOld:
        // Length 0 by both definitions; a peer sending more is still offering route refresh.
        caps->route_refresh = true;
        break;
      case kCapFourOctetAs: {
        if (len != 4)
          return make_error(err::kOpen, 0, "4-octet AS capability of length " + std::to_string(len));
        const uint32_t as = c.u32();
        if (as == 0)  // RFC 7607: AS 0 in the capability is a Bad Peer AS
          return make_error(err::kOpen, err::kOpenBadPeerAs, "4-octet AS capability carries AS 0");
        if (!caps->four_octet_as) caps->four_octet_as = as;
        break;
      }
      case kCapGracefulRestart: {
        if (len < 2)
          return make_error(err::kOpen, 0,
                            "graceful restart capability of length " + std::to_string(len));
        if (caps->graceful_restart) break;  // a repeated capability: the first one counts
        GracefulRestart gr;
        const uint16_t flags_time = c.u16();
        gr.restart_state = (flags_time & 0x8000) != 0;
        gr.restart_time_s = flags_time & 0x0fff;
        // Whole 4-byte family entries; a trailing partial entry is ignored (liberal).
        while (c.has(4)) {
          GracefulRestart::Family f;
          f.af.afi = static_cast<Afi>(c.u16());
          f.af.safi = c.u8();
          f.forwarding_preserved = (c.u8() & 0x80) != 0;
          gr.families.push_back(f);
        }
        caps->graceful_restart = std::move(gr);
        break;
      }
      default:
        caps->unknown_codes.push_back(code);
        break;
    }
  }
  return std::nullopt;
}

std::variant<Message, Error> decode_open(Reader& r) {
  Open o;
  o.version = r.u8();
  if (o.version != 4) {
    return make_error(err::kOpen, err::kOpenUnsupportedVersion,
                      "BGP version " + std::to_string(o.version) + ", only 4 is supported",
                      u16_bytes(4));
  }
  o.my_as = r.u16();
  o.hold_time_s = r.u16();
  o.bgp_id = r.u32();
  if (o.my_as == 0)  // RFC 7607
    return make_error(err::kOpen, err::kOpenBadPeerAs, "OPEN carries AS 0");
  if (o.hold_time_s == 1 || o.hold_time_s == 2) {
    return make_error(err::kOpen, err::kOpenUnacceptableHoldTime,
                      "hold time " + std::to_string(o.hold_time_s) + " s (must be 0 or >= 3)");
  }
  if (o.bgp_id == 0) return make_error(err::kOpen, err::kOpenBadBgpId, "BGP Identifier is 0");

  size_t params_len = r.u8();
  bool extended = false;
  // RFC 9072: a non-extended length of 255 followed by a parameter type of 255 announces a
  // 2-byte length, and 2-byte parameter lengths after it.
  if (params_len == 255 && r.has(1) && r.peek() == kParamExtended) {
    extended = true;
    r.u8();
    if (!r.has(2)) return make_error(err::kOpen, 0, "extended parameters length truncated");
    params_len = r.u16();
  }
  if (params_len != r.left()) {
    return make_error(err::kOpen, 0,
                      "optional parameters length " + std::to_string(params_len) +
                          " but " + std::to_string(r.left()) + " bytes follow");
  }
  while (r.left() > 0) {
    const size_t hdr = extended ? 3 : 2;
    if (!r.has(hdr)) return make_error(err::kOpen, 0, "optional parameter header truncated");
    const uint8_t type = r.u8();
    const size_t len = extended ? r.u16() : r.u8();
    if (!r.has(len)) return make_error(err::kOpen, 0, "optional parameter overruns the OPEN");
    auto value = r.take(len);
    if (type != kParamCapabilities) {
      return make_error(err::kOpen, err::kOpenUnsupportedOptionalParameter,
                        "optional parameter type " + std::to_string(type), {type});
    }
    if (auto e = parse_capabilities(value, &o.caps)) return *e;
  }
  return Message{std::move(o)};
}

// ---------------------------------------------------------------------------------------------
// UPDATE (RFC 4271 4.3, 6.3; RFC 4760; RFC 6793; RFC 7606)

constexpr uint8_t kFlagOptional = 0x80, kFlagTransitive = 0x40, kFlagExtendedLength = 0x10;
constexpr uint8_t kAttrOrigin = 1, kAttrAsPath = 2, kAttrNextHop = 3, kAttrMed = 4,
                  kAttrLocalPref = 5, kAttrAtomicAggregate = 6, kAttrAggregator = 7,
                  kAttrCommunities = 8, kAttrMpReach = 14, kAttrMpUnreach = 15,
                  kAttrAs4Path = 17, kAttrLargeCommunity = 32;
// Segment types; 3 and 4 are the confederation ones (RFC 5065), parsed and not counted.
constexpr uint8_t kSegSet = 1, kSegSequence = 2, kSegConfedSet = 4;

// RFC 7606 approaches, least to most severe (RFC 7606 3: the most severe one found applies).
enum class Outcome : uint8_t { kOk, kAttributeDiscard, kTreatAsWithdraw, kSessionReset };

struct Segment {
  uint8_t type = kSegSequence;
  std::vector<uint32_t> asns;
};

// Path length as RFC 4271 9.1.2.2 and RFC 6793 4.2.3 count it: a set counts one, confederation
// segments count nothing.
size_t path_count(const std::vector<Segment>& segs) {
  size_t n = 0;
  for (const auto& s : segs) {
    if (s.type == kSegSequence) n += s.asns.size();
    else if (s.type == kSegSet) n += 1;
  }
  return n;
}

// AS_PATH / AS4_PATH segments (RFC 4271 4.3; malformed as RFC 7606 7.2 says: unknown segment
// type, zero-length segment, overrun, or a lone trailing byte).
bool parse_segments(std::span<const uint8_t> value, size_t asn_size, std::vector<Segment>* out,
                    std::string* why) {
  Reader r(value);
  while (r.left() > 0) {
    if (!r.has(2)) {
      *why = "segment header truncated";
      return false;
    }
    Segment s;
    s.type = r.u8();
    const uint8_t count = r.u8();
    if (s.type < kSegSet || s.type > kSegConfedSet) {
      *why = "segment type " + std::to_string(s.type);
      return false;
    }
    if (count == 0) {
      *why = "empty segment";
      return false;
    }
    if (!r.has(count * asn_size)) {
      *why = "segment overruns the attribute";
      return false;
    }
    for (uint8_t i = 0; i < count; ++i) s.asns.push_back(asn_size == 4 ? r.u32() : r.u16());
    out->push_back(std::move(s));
  }
  return true;
}

// The attribute walker's state for one UPDATE.
struct UpdateParse {
  Update* u;
  const CodecOptions* opts;
  Outcome worst = Outcome::kOk;
  std::optional<Error> reset;
  std::array<bool, 256> seen{};
  std::vector<Segment> as_path;
  std::optional<std::vector<Segment>> as4_path;
  std::optional<config::IpAddress> next_hop_attr;  // NEXT_HOP, when well-formed
  bool next_hop_bad = false;                       // NEXT_HOP present but malformed
  std::optional<config::IpAddress> mp_next_hop;

  void note(const std::string& what) {
    if (!u->error_note.empty()) u->error_note += "; ";
    u->error_note += what;
  }
  void withdraw(const std::string& what) {
    worst = std::max(worst, Outcome::kTreatAsWithdraw);
    note("treat-as-withdraw: " + what);
  }
  void discard(uint8_t type, const std::string& what) {
    worst = std::max(worst, Outcome::kAttributeDiscard);
    u->discarded_attributes.push_back(type);
    note("attribute discard: " + what);
  }
  void session_reset(Error e) {
    worst = Outcome::kSessionReset;
    if (!reset) reset = std::move(e);
  }
};

bool flags_are(uint8_t flags, bool optional, bool transitive) {
  return ((flags & kFlagOptional) != 0) == optional &&
         ((flags & kFlagTransitive) != 0) == transitive;
}

std::optional<config::IpFamily> family_of(uint16_t afi, uint8_t safi) {
  if (safi != kSafiUnicast) return std::nullopt;
  if (afi == static_cast<uint16_t>(Afi::kIPv4)) return config::IpFamily::kIPv4;
  if (afi == static_cast<uint16_t>(Afi::kIPv6)) return config::IpFamily::kIPv6;
  return std::nullopt;
}

// MP_REACH_NLRI (RFC 4760 3). Malformed -> session reset (RFC 7606 7.11: "AFI/SAFI disable" is
// the alternative, which Portico does not implement).
void parse_mp_reach(UpdateParse& p, std::span<const uint8_t> value,
                    std::vector<uint8_t> whole) {
  Reader r(value);
  auto bad = [&](const std::string& why) {
    p.session_reset(make_error(err::kUpdate, err::kUpdateOptionalAttribute,
                               "MP_REACH_NLRI: " + why, std::move(whole)));
  };
  if (!r.has(5)) return bad("shorter than 5 bytes");
  const uint16_t afi = r.u16();
  const uint8_t safi = r.u8();
  const uint8_t nh_len = r.u8();
  if (!r.has(nh_len + 1u)) return bad("next hop overruns the attribute");
  auto nh = r.take(nh_len);
  r.u8();  // reserved (formerly the SNPA count)
  auto family = family_of(afi, safi);
  if (!family) {
    // A family this speaker never offers: nothing to parse, nothing to withdraw.
    p.note("MP_REACH_NLRI for AFI " + std::to_string(afi) + " SAFI " + std::to_string(safi) +
           " ignored");
    return;
  }
  // IPv6: global (16) or global + link-local (32), of which the global one is kept. IPv4 NLRI:
  // a 4-byte next hop, or an IPv6 one (RFC 8950).
  if (nh_len == 4 && *family == config::IpFamily::kIPv4) {
    p.mp_next_hop = v4_from(nh);
  } else if (nh_len == 16 || nh_len == 32) {
    p.mp_next_hop = v6_from(nh);
  } else {
    return bad("next hop length " + std::to_string(nh_len));
  }
  std::string why;
  std::vector<Prefix> prefixes;
  if (!parse_prefixes(r.rest(), *family, &prefixes, &why)) return bad(why);
  p.u->mp_reach_af = AfiSafi{static_cast<Afi>(afi), safi};
  p.u->mp_reach = std::move(prefixes);
}

void parse_mp_unreach(UpdateParse& p, std::span<const uint8_t> value,
                      std::vector<uint8_t> whole) {
  Reader r(value);
  if (!r.has(3)) {
    p.session_reset(make_error(err::kUpdate, err::kUpdateOptionalAttribute,
                               "MP_UNREACH_NLRI shorter than 3 bytes", std::move(whole)));
    return;
  }
  const uint16_t afi = r.u16();
  const uint8_t safi = r.u8();
  auto family = family_of(afi, safi);
  if (!family) {
    p.note("MP_UNREACH_NLRI for AFI " + std::to_string(afi) + " SAFI " + std::to_string(safi) +
           " ignored");
    return;
  }
  std::string why;
  std::vector<Prefix> prefixes;
  if (!parse_prefixes(r.rest(), *family, &prefixes, &why)) {
    p.session_reset(make_error(err::kUpdate, err::kUpdateOptionalAttribute,
                               "MP_UNREACH_NLRI: " + why, std::move(whole)));
    return;
  }
  p.u->mp_unreach_af = AfiSafi{static_cast<Afi>(afi), safi};
  p.u->mp_unreach = std::move(prefixes);
}

// One path attribute whose bytes are all present.
void parse_attribute(UpdateParse& p, uint8_t flags, uint8_t type,
                     std::span<const uint8_t> value, std::span<const uint8_t> whole) {
  Update& u = *p.u;
  const size_t len = value.size();
  Reader r(value);
  const std::string name = "attribute " + std::to_string(type);
  switch (type) {
    case kAttrOrigin: {
      if (!flags_are(flags, false, true)) return p.withdraw("ORIGIN flags");
      if (len != 1) return p.withdraw("ORIGIN length " + std::to_string(len));
      const uint8_t v = r.u8();
      if (v > 2) return p.withdraw("ORIGIN value " + std::to_string(v));
      u.attrs.origin = static_cast<Origin>(v);
      return;
    }
    case kAttrAsPath: {
      if (!flags_are(flags, false, true)) return p.withdraw("AS_PATH flags");
      std::string why;
      std::vector<Segment> segs;
      if (!parse_segments(value, p.opts->four_octet_as ? 4 : 2, &segs, &why))
        return p.withdraw("AS_PATH " + why);
      p.as_path = std::move(segs);
      return;
    }
    case kAttrNextHop: {
      // Judged later: NEXT_HOP only matters when the classic NLRI field is not empty (RFC 4760
      // 3: otherwise it is ignored).
      if (!flags_are(flags, false, true) || len != 4) {
        p.next_hop_bad = true;
        return;
      }
      config::IpAddress nh = v4_from(value);
      const uint32_t h = nh.v4_host_order();
      // RFC 4271 6.3 / RFC 7606 7.3: not a valid host address.
      if (h == 0 || h == 0xffffffffu || nh.is_multicast()) {
        p.next_hop_bad = true;
        return;
      }
      p.next_hop_attr = nh;
      return;
    }
    case kAttrMed:
    case kAttrLocalPref: {
      const bool med = type == kAttrMed;
      const char* what = med ? "MULTI_EXIT_DISC" : "LOCAL_PREF";
      // MED is optional non-transitive, LOCAL_PREF well-known (RFC 7606 7.4, 7.5).
      if (!flags_are(flags, med, !med)) return p.withdraw(std::string(what) + " flags");
      if (len != 4) return p.withdraw(std::string(what) + " length " + std::to_string(len));
      (med ? u.attrs.med : u.attrs.local_pref) = r.u32();
      return;
    }
    case kAttrAtomicAggregate:  // RFC 7606 7.6
      if (!flags_are(flags, false, true) || len != 0)
        p.discard(type, "ATOMIC_AGGREGATE malformed");
      return;
    case kAttrAggregator:  // RFC 7606 7.7: read (checked) and ignored
      if (!flags_are(flags, true, true) || len != (p.opts->four_octet_as ? 8u : 6u))
        p.discard(type, "AGGREGATOR malformed");
      return;
    case kAttrCommunities: {  // RFC 7606 7.8: a non-zero multiple of 4
      if (!flags_are(flags, true, true)) return p.withdraw("COMMUNITIES flags");
      if (len == 0 || len % 4 != 0)
        return p.withdraw("COMMUNITIES length " + std::to_string(len));
      while (r.has(4)) u.attrs.communities.push_back(r.u32());
      return;
    }
    case kAttrLargeCommunity: {  // RFC 8092 6: a non-zero multiple of 12
      if (!flags_are(flags, true, true)) return p.withdraw("LARGE_COMMUNITY flags");
      if (len == 0 || len % 12 != 0)
        return p.withdraw("LARGE_COMMUNITY length " + std::to_string(len));
      while (r.has(12)) {
        LargeCommunity c;
        c.global = r.u32();
        c.local1 = r.u32();
        c.local2 = r.u32();
        u.attrs.large_communities.push_back(c);
      }
      return;
    }
    case kAttrMpReach:
    case kAttrMpUnreach:
      // Wrong flags: the NLRI are still located (treat-as-withdraw needs them).
      if (!flags_are(flags, true, false))
        p.withdraw(std::string(type == kAttrMpReach ? "MP_REACH_NLRI" : "MP_UNREACH_NLRI") +
                   " flags");
      if (type == kAttrMpReach) parse_mp_reach(p, value, to_vector(whole));
      else parse_mp_unreach(p, value, to_vector(whole));
      return;
    case kAttrAs4Path: {
      // RFC 6793 4.1: a NEW speaker ignores AS4_PATH from a NEW speaker. Malformed: attribute
      // discard (RFC 6793 6).
      if (p.opts->four_octet_as) return;
      std::string why;
      std::vector<Segment> segs;
      if (!flags_are(flags, true, true)) return p.discard(type, "AS4_PATH flags");
      if (!parse_segments(value, 4, &segs, &why)) return p.discard(type, "AS4_PATH " + why);
      p.as4_path = std::move(segs);
      return;
    }
    default:
      if (!(flags & kFlagOptional)) {
        p.session_reset(make_error(err::kUpdate, err::kUpdateUnrecognizedWellKnown,
                                   "unrecognized well-known " + name, to_vector(whole)));
      }
      // Unknown optional attributes (transitive or not) are accepted and dropped: Portico
      // never propagates routes, so there is no one to pass them on to.
      return;
  }
}

// RFC 6793 4.2.3: the leading part of AS_PATH that AS4_PATH does not cover, then AS4_PATH.
// An AS4_PATH longer than AS_PATH is ignored.
std::vector<Segment> merge_as4(const std::vector<Segment>& as_path,
                               const std::vector<Segment>& as4) {
  const size_t n = path_count(as_path), n4 = path_count(as4);
  if (n4 > n) return as_path;
  size_t keep = n - n4;
  std::vector<Segment> out;
  for (const auto& s : as_path) {
    if (keep == 0) break;
    if (s.type == kSegSequence) {
      Segment part{s.type, {}};
      for (size_t i = 0; i < s.asns.size() && keep > 0; ++i, --keep)
        part.asns.push_back(s.asns[i]);
      out.push_back(std::move(part));
    } else if (s.type == kSegSet) {
      out.push_back(s);
      --keep;
    } else {
      out.push_back(s);  // confederation segments count nothing; kept as they came
    }
  }
  out.insert(out.end(), as4.begin(), as4.end());
  return out;
}

std::variant<Message, Error> decode_update(Reader& r, const CodecOptions& opts) {
  Update u;
  UpdateParse p{&u, &opts};
  // RFC 4271 6.3 / RFC 7606 4: field lengths that do not fit the message are a session reset.
  const size_t body = r.left();
  const uint16_t withdrawn_len = r.u16();
  if (!r.has(withdrawn_len + 2u)) {
    return make_error(err::kUpdate, err::kUpdateMalformedAttributeList,
                      "withdrawn routes length " + std::to_string(withdrawn_len) +
                          " overruns the UPDATE (" + std::to_string(body) + " bytes)");
  }
  auto withdrawn = r.take(withdrawn_len);
  const uint16_t attrs_len = r.u16();
  if (!r.has(attrs_len)) {
    return make_error(err::kUpdate, err::kUpdateMalformedAttributeList,
                      "total path attribute length " + std::to_string(attrs_len) +
                          " overruns the UPDATE");
  }
  auto attrs = r.take(attrs_len);
  auto nlri = r.rest();

  std::string why;
  if (!parse_prefixes(withdrawn, config::IpFamily::kIPv4, &u.withdrawn, &why))
    return make_error(err::kUpdate, err::kUpdateInvalidNetworkField, "withdrawn routes: " + why);
  if (!parse_prefixes(nlri, config::IpFamily::kIPv4, &u.nlri, &why))
    return make_error(err::kUpdate, err::kUpdateInvalidNetworkField, "NLRI: " + why);

  Reader a(attrs);
  while (a.left() > 0) {
    const size_t start = a.pos();
    // RFC 7606 4: an attribute that does not fit the Total Path Attribute Length is
    // treat-as-withdraw, and that length (already checked) still locates the NLRI.
    if (!a.has(3)) {
      p.withdraw("trailing " + std::to_string(a.left()) + " bytes in the path attributes");
      break;
    }
    const uint8_t flags = a.u8();
    const uint8_t type = a.u8();
    if ((flags & kFlagExtendedLength) && !a.has(2)) {
      p.withdraw("attribute " + std::to_string(type) + " header truncated");
      break;
    }
    const size_t len = (flags & kFlagExtendedLength) ? a.u16() : a.u8();
    if (!a.has(len)) {
      p.withdraw("attribute " + std::to_string(type) + " length " + std::to_string(len) +
                 " overruns the path attributes");
      break;
    }
    auto value = a.take(len);
    auto whole = attrs.subspan(start, a.pos() - start);
    if (p.seen[type]) {
      // RFC 7606 3: a repeated MP_REACH/MP_UNREACH is a session reset; any other repeated
      // attribute is dropped and the first one kept.
      if (type == kAttrMpReach || type == kAttrMpUnreach) {
        p.session_reset(make_error(err::kUpdate, err::kUpdateMalformedAttributeList,
                                   "attribute " + std::to_string(type) + " repeated"));
      } else {
        p.discard(type, "repeated attribute " + std::to_string(type));
      }
      continue;
    }
    p.seen[type] = true;
    parse_attribute(p, flags, type, value, whole);
    if (p.reset) break;  // the most severe outcome: nothing after it changes the answer
  }
  if (p.reset) return *std::move(p.reset);

  // Well-known mandatory attributes, needed only when there is something to reach (RFC 4271
  // 6.3; missing ones are treat-as-withdraw by RFC 7606 3; RFC 4760 makes NEXT_HOP needed
  // only with classic NLRI).
  const bool reach = !u.nlri.empty() || !u.mp_reach.empty();
  if (reach) {
    if (!p.seen[kAttrOrigin]) p.withdraw("ORIGIN missing");
    if (!p.seen[kAttrAsPath]) p.withdraw("AS_PATH missing");
  }
  if (!u.nlri.empty()) {
    if (!p.seen[kAttrNextHop]) p.withdraw("NEXT_HOP missing");
    else if (p.next_hop_bad) p.withdraw("NEXT_HOP malformed");
  }
  // One next hop field: the classic NLRI's when there are any, else MP_REACH's.
  u.attrs.next_hop = !u.nlri.empty() ? p.next_hop_attr
                     : p.mp_next_hop ? p.mp_next_hop
                                     : p.next_hop_attr;

  std::vector<Segment> path = p.as4_path ? merge_as4(p.as_path, *p.as4_path) : p.as_path;
  for (const auto& s : path) {
    if (s.type == kSegSequence || s.type == kSegSet)
      u.attrs.as_path.insert(u.attrs.as_path.end(), s.asns.begin(), s.asns.end());
  }
  u.treat_as_withdraw = p.worst == Outcome::kTreatAsWithdraw;
  return Message{std::move(u)};
}

// ---------------------------------------------------------------------------------------------
// Writing

// Appends big-endian fields to a buffer, or only counts them when it has none (so that
// encoded_update_size runs the very code encode_update runs).
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>* out) : out_(out) {}
  void u8(uint8_t v) {
    if (out_) out_->push_back(v);
    ++n_;
  }
  void u16(uint16_t v) {
    u8(static_cast<uint8_t>(v >> 8));
    u8(static_cast<uint8_t>(v));
  }
  void u32(uint32_t v) {
    u16(static_cast<uint16_t>(v >> 16));
    u16(static_cast<uint16_t>(v));
  }
  void bytes(std::span<const uint8_t> b) {
    if (out_) out_->insert(out_->end(), b.begin(), b.end());
    n_ += b.size();
  }
  void pad(size_t n) { n_ += n; }  // counting mode only
  size_t size() const { return n_; }
  bool counting() const { return out_ == nullptr; }

 private:
  std::vector<uint8_t>* out_;
  size_t n_ = 0;
};

void write_header(std::vector<uint8_t>* out, MessageType type) {
  out->assign(16, 0xff);
  out->push_back(0);
  out->push_back(0);
  out->push_back(static_cast<uint8_t>(type));
}

void patch_length(std::vector<uint8_t>* out) {
  const size_t n = out->size();
  (*out)[16] = static_cast<uint8_t>(n >> 8);
  (*out)[17] = static_cast<uint8_t>(n);
}

void write_prefix(Writer& w, const Prefix& p) {
  const int max_bits = p.address.bit_length();
  const uint8_t len = static_cast<uint8_t>(std::min<int>(p.length, max_bits));
  w.u8(len);
  const auto& b = p.address.bytes();
  w.bytes(std::span<const uint8_t>(b.data(), (len + 7u) / 8u));
}

// A path attribute: flags, type, 1- or 2-byte length, value. The value is built first (in
// counting mode too) so its length picks the extended-length flag (needed above 255 bytes).
template <typename Fill>
void write_attribute(Writer& w, uint8_t flags, uint8_t type, Fill fill) {
  std::vector<uint8_t> value;
  Writer v(w.counting() ? nullptr : &value);
  fill(v);
  const bool ext = v.size() > 255;
  w.u8(static_cast<uint8_t>(flags | (ext ? kFlagExtendedLength : 0)));
  w.u8(type);
  if (ext) w.u16(static_cast<uint16_t>(v.size()));
  else w.u8(static_cast<uint8_t>(v.size()));
  if (w.counting()) w.pad(v.size());
  else w.bytes(value);
}

constexpr uint8_t kWellKnown = kFlagTransitive;
constexpr uint8_t kOptionalTransitive = kFlagOptional | kFlagTransitive;
constexpr uint8_t kOptionalNonTransitive = kFlagOptional;

// Which MP family a set of prefixes goes in, and the prefixes of that family.
AfiSafi mp_family(const std::optional<AfiSafi>& given, const std::vector<Prefix>& prefixes) {
  if (given) return *given;
  if (!prefixes.empty() && prefixes.front().address.is_v4()) return AfiSafi{Afi::kIPv4, kSafiUnicast};
  return AfiSafi{Afi::kIPv6, kSafiUnicast};
}

bool in_family(const Prefix& p, AfiSafi af) {
  return (af.afi == Afi::kIPv4 && p.address.is_v4()) || (af.afi == Afi::kIPv6 && p.address.is_v6());
}

// AS_PATH as AS_SEQUENCE segments of at most 255 ASNs (one segment when it fits, none when the
// path is empty). On 2-octet sessions an ASN above 65535 is written as AS_TRANS.
void write_as_path(Writer& w, const std::vector<uint32_t>& path, bool four_octet) {
  for (size_t i = 0; i < path.size(); i += 255) {
    const size_t n = std::min<size_t>(255, path.size() - i);
    w.u8(kSegSequence);
    w.u8(static_cast<uint8_t>(n));
    for (size_t k = i; k < i + n; ++k) {
      if (four_octet) w.u32(path[k]);
      else w.u16(path[k] > 0xffff ? kAsTrans : static_cast<uint16_t>(path[k]));
    }
  }
}

void build_update(const Update& u, const CodecOptions& opts, Writer& w) {
  std::vector<Prefix> withdrawn4, nlri4, unreach, reach;
  // Classic fields carry IPv4 only; IPv6 prefixes a caller left there go in the MP attributes.
  for (const auto& p : u.withdrawn) (p.address.is_v4() ? withdrawn4 : unreach).push_back(p);
  for (const auto& p : u.nlri) (p.address.is_v4() ? nlri4 : reach).push_back(p);
  unreach.insert(unreach.end(), u.mp_unreach.begin(), u.mp_unreach.end());
  reach.insert(reach.end(), u.mp_reach.begin(), u.mp_reach.end());
  const bool has_unreach = u.mp_unreach_af || !unreach.empty();
  const bool has_reach = u.mp_reach_af || !reach.empty();
  const AfiSafi unreach_af = mp_family(u.mp_unreach_af, unreach);
  const AfiSafi reach_af = mp_family(u.mp_reach_af, reach);

  // Withdrawn routes.
  {
    Writer count(nullptr);
    for (const auto& p : withdrawn4) write_prefix(count, p);
    w.u16(static_cast<uint16_t>(count.size()));
    for (const auto& p : withdrawn4) write_prefix(w, p);
  }

  // Path attributes: MP_REACH_NLRI and MP_UNREACH_NLRI first (RFC 7606 5.1, so that a receiver
  // finds the NLRI even if a later attribute is malformed), then the others by type code
  // (RFC 4271 5). Everything but MP_UNREACH only when something is reached.
  const bool reaching = !nlri4.empty() || has_reach;
  const Attributes& at = u.attrs;
  auto attributes = [&](Writer& aw) {
    if (has_reach) {
      write_attribute(aw, kOptionalNonTransitive, kAttrMpReach, [&](Writer& v) {
        v.u16(static_cast<uint16_t>(reach_af.afi));
        v.u8(reach_af.safi);
        // The next hop as given: 4 bytes for an IPv4 address, 16 for IPv6 (RFC 4760, 8950).
        const config::IpAddress nh = at.next_hop.value_or(
            reach_af.afi == Afi::kIPv4 ? config::IpAddress::v4(0) : config::IpAddress::v6({}));
        const size_t nh_len = nh.is_v4() && reach_af.afi == Afi::kIPv4 ? 4 : 16;
        v.u8(static_cast<uint8_t>(nh_len));
        if (nh_len == 16 && nh.is_v4()) {
          // An IPv4 next hop for IPv6 NLRI: the IPv4-mapped form (RFC 4291 2.5.5.2).
          const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
          v.bytes(mapped);
          v.bytes(std::span<const uint8_t>(nh.bytes().data(), 4));
        } else {
          v.bytes(std::span<const uint8_t>(nh.bytes().data(), nh_len));
        }
        v.u8(0);  // reserved
        for (const auto& p : reach)
          if (in_family(p, reach_af)) write_prefix(v, p);
      });
    }
    if (has_unreach) {
      write_attribute(aw, kOptionalNonTransitive, kAttrMpUnreach, [&](Writer& v) {
        v.u16(static_cast<uint16_t>(unreach_af.afi));
        v.u8(unreach_af.safi);
        for (const auto& p : unreach)
          if (in_family(p, unreach_af)) write_prefix(v, p);
      });
    }
    if (reaching) {
      write_attribute(aw, kWellKnown, kAttrOrigin,
                      [&](Writer& v) { v.u8(static_cast<uint8_t>(at.origin)); });
      write_attribute(aw, kWellKnown, kAttrAsPath,
                      [&](Writer& v) { write_as_path(v, at.as_path, opts.four_octet_as); });
      if (!nlri4.empty() && at.next_hop && at.next_hop->is_v4()) {
        write_attribute(aw, kWellKnown, kAttrNextHop, [&](Writer& v) {
          v.bytes(std::span<const uint8_t>(at.next_hop->bytes().data(), 4));
        });
      }
      if (at.med)
        write_attribute(aw, kOptionalNonTransitive, kAttrMed, [&](Writer& v) { v.u32(*at.med); });
      if (at.local_pref) {
        write_attribute(aw, kWellKnown, kAttrLocalPref,
                        [&](Writer& v) { v.u32(*at.local_pref); });
      }
      if (!at.communities.empty()) {
        write_attribute(aw, kOptionalTransitive, kAttrCommunities, [&](Writer& v) {
          for (uint32_t c : at.communities) v.u32(c);
        });
      }
    }
    if (reaching && !opts.four_octet_as &&
        std::any_of(at.as_path.begin(), at.as_path.end(), [](uint32_t a) { return a > 0xffff; })) {
      // RFC 6793 4.2.2: the real path for 4-octet speakers further on.
      write_attribute(aw, kOptionalTransitive, kAttrAs4Path,
                      [&](Writer& v) { write_as_path(v, at.as_path, true); });
    }
    if (reaching && !at.large_communities.empty()) {
      write_attribute(aw, kOptionalTransitive, kAttrLargeCommunity, [&](Writer& v) {
        for (const auto& c : at.large_communities) {
          v.u32(c.global);
          v.u32(c.local1);
          v.u32(c.local2);
        }
      });
    }
  };
  Writer count(nullptr);
  attributes(count);
  w.u16(static_cast<uint16_t>(count.size()));
  attributes(w);

  for (const auto& p : nlri4) write_prefix(w, p);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::string Prefix::str() const { return address.str() + "/" + std::to_string(length); }

// By content: RFC 7606 handling of an attribute (a discarded or malformed one, which leaves
// nothing behind) does not stop an otherwise empty UPDATE from marking the end of the RIB.
bool Update::is_end_of_rib() const {
  // IPv4 unicast (nothing at all) or the MP_UNREACH family's marker (an empty MP_UNREACH).
  return withdrawn.empty() && nlri.empty() && !mp_reach_af && mp_reach.empty() &&
         mp_unreach.empty() && attrs == Attributes{};
}

std::variant<size_t, Error> frame_length(std::span<const uint8_t> buf) {
  if (buf.size() < kHeaderLen) return size_t{0};
  return check_header(buf);
}

std::variant<Message, Error> decode(std::span<const uint8_t> msg, const CodecOptions& opts) {
  if (msg.size() < kHeaderLen) {
    return make_error(err::kHeader, err::kHeaderBadLength,
                      "message of " + std::to_string(msg.size()) + " bytes is shorter than a header",
                      u16_bytes(static_cast<uint16_t>(msg.size())));
  }
  auto framed = check_header(msg);
  if (auto* e = std::get_if<Error>(&framed)) return std::move(*e);
  const size_t len = std::get<size_t>(framed);
  if (len != msg.size()) {
    return make_error(err::kHeader, err::kHeaderBadLength,
                      "length field " + std::to_string(len) + " but " +
                          std::to_string(msg.size()) + " bytes given",
                      u16_bytes(static_cast<uint16_t>(len)));
  }
  Reader r(msg.subspan(kHeaderLen));
  switch (static_cast<MessageType>(msg[18])) {
    case MessageType::kOpen:
      return decode_open(r);
    case MessageType::kUpdate:
      return decode_update(r, opts);
    case MessageType::kNotification: {
      Notification n;
      n.code = r.u8();
      n.subcode = r.u8();
      n.data = to_vector(r.rest());
      return Message{std::move(n)};
    }
    case MessageType::kKeepalive:
      return Message{Keepalive{}};
    case MessageType::kRouteRefresh: {
      if (len != 23) {
        // RFC 7313 5: the data is the whole message.
        return make_error(err::kRouteRefresh, err::kRouteRefreshBadLength,
                          "ROUTE-REFRESH of " + std::to_string(len) + " bytes (must be 23)",
                          to_vector(msg));
      }
      RouteRefresh rr;
      rr.af.afi = static_cast<Afi>(r.u16());
      rr.subtype = r.u8();
      rr.af.safi = r.u8();
      return Message{rr};
    }
  }
  return make_error(err::kHeader, err::kHeaderBadType, "unknown message type", {msg[18]});
}

std::vector<uint8_t> encode_open(const Open& open) {
  // Capabilities in a stable order: multiprotocol, route refresh, 4-octet AS, graceful restart.
  std::vector<uint8_t> caps;
  Writer c(&caps);
  for (const auto& af : open.caps.multiprotocol) {
    c.u8(kCapMultiprotocol);
    c.u8(4);
    c.u16(static_cast<uint16_t>(af.afi));
    c.u8(0);
    c.u8(af.safi);
  }
  if (open.caps.route_refresh) {
    c.u8(kCapRouteRefresh);
    c.u8(0);
  }
  if (open.caps.four_octet_as) {
    c.u8(kCapFourOctetAs);
    c.u8(4);
    c.u32(*open.caps.four_octet_as);
  }
  if (const auto& gr = open.caps.graceful_restart) {
    // A capability's length is one byte: at most 63 families fit.
    const size_t n = std::min<size_t>(gr->families.size(), (255 - 2) / 4);
    c.u8(kCapGracefulRestart);
    c.u8(static_cast<uint8_t>(2 + 4 * n));
    c.u16(static_cast<uint16_t>((gr->restart_state ? 0x8000 : 0) | (gr->restart_time_s & 0x0fff)));
    for (size_t i = 0; i < n; ++i) {
      c.u16(static_cast<uint16_t>(gr->families[i].af.afi));
      c.u8(gr->families[i].af.safi);
      c.u8(gr->families[i].forwarding_preserved ? 0x80 : 0);
    }
  }

  // Capabilities go in type-2 parameters of at most 255 bytes, split between whole
  // capabilities. Parameters beyond 255 bytes in all take RFC 9072's extended form.
  std::vector<std::span<const uint8_t>> params;
  {
    size_t start = 0, pos = 0;
    while (pos < caps.size()) {
      const size_t cap_len = 2u + caps[pos + 1];
      if (pos + cap_len - start > 255) {
        params.emplace_back(caps.data() + start, pos - start);
        start = pos;
      }
      pos += cap_len;
    }
    if (pos > start) params.emplace_back(caps.data() + start, pos - start);
  }
  size_t plain_len = 0;
  for (const auto& p : params) plain_len += 2 + p.size();
  const bool extended = plain_len > 255;

  std::vector<uint8_t> out;
  write_header(&out, MessageType::kOpen);
  Writer w(&out);
  w.u8(open.version);
  w.u16(open.my_as);
  w.u16(open.hold_time_s);
  w.u32(open.bgp_id);
  if (extended) {
    w.u8(255);
    w.u8(kParamExtended);
    w.u16(static_cast<uint16_t>(plain_len + params.size()));  // 3-byte parameter headers
  } else {
    w.u8(static_cast<uint8_t>(plain_len));
  }
  for (const auto& p : params) {
    w.u8(kParamCapabilities);
    if (extended) w.u16(static_cast<uint16_t>(p.size()));
    else w.u8(static_cast<uint8_t>(p.size()));
    w.bytes(p);
  }
  patch_length(&out);
  return out;
}

std::vector<uint8_t> encode_update(const Update& update, const CodecOptions& opts) {
  std::vector<uint8_t> out;
  write_header(&out, MessageType::kUpdate);
  Writer w(&out);
  build_update(update, opts, w);
  patch_length(&out);
  return out;
}

size_t encoded_update_size(const Update& update, const CodecOptions& opts) {
  Writer w(nullptr);
  build_update(update, opts, w);
  return kHeaderLen + w.size();
}

std::vector<uint8_t> encode_notification(const Notification& n) {
  std::vector<uint8_t> out;
  write_header(&out, MessageType::kNotification);
  out.push_back(n.code);
  out.push_back(n.subcode);
  // The data is cut to what a 4096-byte message holds.
  const size_t room = kMaxMessageLen - out.size();
  out.insert(out.end(), n.data.begin(), n.data.begin() + std::min(room, n.data.size()));
  patch_length(&out);
  return out;
}

std::vector<uint8_t> encode_keepalive() {
  std::vector<uint8_t> out;
  write_header(&out, MessageType::kKeepalive);
  patch_length(&out);
  return out;
}

std::vector<uint8_t> encode_route_refresh(const RouteRefresh& r) {
  std::vector<uint8_t> out;
  write_header(&out, MessageType::kRouteRefresh);
  Writer w(&out);
  w.u16(static_cast<uint16_t>(r.af.afi));
  w.u8(r.subtype);
  w.u8(r.af.safi);
  patch_length(&out);
  return out;
}

std::vector<uint8_t> encode_end_of_rib(AfiSafi af) {
  Update u;
  if (!(af.afi == Afi::kIPv4 && af.safi == kSafiUnicast)) u.mp_unreach_af = af;
  return encode_update(u, CodecOptions{});
}

std::string notification_name(uint8_t code, uint8_t subcode) {
  // IANA "BGP Error (Notification) Codes" and "... Subcodes" registries.
  static const char* const kHeaderSub[] = {nullptr, "Connection Not Synchronized",
                                           "Bad Message Length", "Bad Message Type"};
  static const char* const kOpenSub[] = {nullptr,
                                         "Unsupported Version Number",
                                         "Bad Peer AS",
                                         "Bad BGP Identifier",
                                         "Unsupported Optional Parameter",
                                         "Authentication Failure",
                                         "Unacceptable Hold Time",
                                         "Unsupported Capability",
                                         "Role Mismatch"};
  static const char* const kUpdateSub[] = {nullptr,
                                           "Malformed Attribute List",
                                           "Unrecognized Well-known Attribute",
                                           "Missing Well-known Attribute",
                                           "Attribute Flags Error",
                                           "Attribute Length Error",
                                           "Invalid ORIGIN Attribute",
                                           "AS Routing Loop",
                                           "Invalid NEXT_HOP Attribute",
                                           "Optional Attribute Error",
                                           "Invalid Network Field",
                                           "Malformed AS_PATH"};
  static const char* const kFsmSub[] = {nullptr,
                                        "Receive Unexpected Message in OpenSent State",
                                        "Receive Unexpected Message in OpenConfirm State",
                                        "Receive Unexpected Message in Established State"};
  static const char* const kCeaseSub[] = {nullptr,
                                          "Maximum Number of Prefixes Reached",
                                          "Administrative Shutdown",
                                          "Peer De-configured",
                                          "Administrative Reset",
                                          "Connection Rejected",
                                          "Other Configuration Change",
                                          "Connection Collision Resolution",
                                          "Out of Resources",
                                          "Hard Reset",
                                          "BFD Down"};
  static const char* const kRefreshSub[] = {nullptr, "Invalid Message Length"};
  struct Code {
    const char* name;
    const char* const* subs;
    size_t n_subs;
  };
  static const Code kCodes[] = {
      {nullptr, nullptr, 0},
      {"Message Header Error", kHeaderSub, std::size(kHeaderSub)},
      {"OPEN Message Error", kOpenSub, std::size(kOpenSub)},
      {"UPDATE Message Error", kUpdateSub, std::size(kUpdateSub)},
      {"Hold Timer Expired", nullptr, 0},
      {"Finite State Machine Error", kFsmSub, std::size(kFsmSub)},
      {"Cease", kCeaseSub, std::size(kCeaseSub)},
      {"ROUTE-REFRESH Message Error", kRefreshSub, std::size(kRefreshSub)},
  };
  std::string name = code < std::size(kCodes) && kCodes[code].name
                         ? kCodes[code].name
                         : "error code " + std::to_string(code);
  if (subcode == 0) return name;
  if (code < std::size(kCodes) && subcode < kCodes[code].n_subs)
    return name + "/" + kCodes[code].subs[subcode];
  return name + "/subcode " + std::to_string(subcode);
}

}  // namespace bgp
