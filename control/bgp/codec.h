// BGP-4 messages on the wire: typed messages, encoding and decoding.
//
// RFC 4271 (header, OPEN, UPDATE, NOTIFICATION, KEEPALIVE), RFC 5492 (capabilities), RFC 4760
// (MP_REACH_NLRI / MP_UNREACH_NLRI, IPv4 and IPv6 unicast), RFC 6793 (4-octet AS numbers:
// capability 65, AS_TRANS, 4-octet AS_PATH on sessions that negotiated it, AS4_PATH read),
// RFC 1997 communities, RFC 8092 large communities, RFC 2918 ROUTE-REFRESH, RFC 4724 graceful
// restart capability and End-of-RIB, RFC 7606 revised error handling on receive.
//
// Pure code, no I/O: the session (control/bgp/session.h) frames the TCP byte stream with
// frame_length(), decodes whole messages with decode(), and sends what encode_*() return.
// Decoding never throws and never reads past the buffer: malformed input becomes an Error that
// names the NOTIFICATION to send (RFC 4271 section 6), or, for UPDATE attributes that RFC 7606
// allows, a "treat-as-withdraw" / "attribute discard" outcome recorded in the decoded Update.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "config/ip.h"

namespace bgp {

constexpr size_t kHeaderLen = 19;
constexpr size_t kMaxMessageLen = 4096;  // RFC 4271; extended messages (RFC 8654) not offered
constexpr uint16_t kAsTrans = 23456;

enum class MessageType : uint8_t {
  kOpen = 1,
  kUpdate = 2,
  kNotification = 3,
  kKeepalive = 4,
  kRouteRefresh = 5,
};

// AFI/SAFI pairs Portico speaks: IPv4 unicast and IPv6 unicast.
enum class Afi : uint16_t { kIPv4 = 1, kIPv6 = 2 };
constexpr uint8_t kSafiUnicast = 1;

// NOTIFICATION error codes and subcodes (RFC 4271 section 4.5, RFC 4486 Cease subcodes,
// RFC 7313 for route refresh).
namespace err {
constexpr uint8_t kHeader = 1;
constexpr uint8_t kHeaderNotSynchronized = 1, kHeaderBadLength = 2, kHeaderBadType = 3;
constexpr uint8_t kOpen = 2;
constexpr uint8_t kOpenUnsupportedVersion = 1, kOpenBadPeerAs = 2, kOpenBadBgpId = 3,
                  kOpenUnsupportedOptionalParameter = 4, kOpenUnacceptableHoldTime = 6,
                  kOpenUnsupportedCapability = 7;
constexpr uint8_t kUpdate = 3;
constexpr uint8_t kUpdateMalformedAttributeList = 1, kUpdateUnrecognizedWellKnown = 2,
                  kUpdateMissingWellKnown = 3, kUpdateAttributeFlags = 4,
                  kUpdateAttributeLength = 5, kUpdateInvalidOrigin = 6,
                  kUpdateInvalidNextHop = 8, kUpdateOptionalAttribute = 9,
                  kUpdateInvalidNetworkField = 10, kUpdateMalformedAsPath = 11;
constexpr uint8_t kHoldTimerExpired = 4;
constexpr uint8_t kFsm = 5;
constexpr uint8_t kCease = 6;
constexpr uint8_t kCeaseMaxPrefixes = 1, kCeaseAdminShutdown = 2, kCeasePeerDeconfigured = 3,
                  kCeaseAdminReset = 4, kCeaseConnectionRejected = 5,
                  kCeaseOtherConfigChange = 6, kCeaseCollision = 7, kCeaseOutOfResources = 8;
constexpr uint8_t kRouteRefresh = 7;
constexpr uint8_t kRouteRefreshBadLength = 1;
}  // namespace err

// What a malformed message calls for: a NOTIFICATION with these fields, then close.
struct Error {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;  // the offending bytes, as RFC 4271 says per case
  std::string message;        // for logs: what was wrong, in words
};

struct AfiSafi {
  Afi afi = Afi::kIPv4;
  uint8_t safi = kSafiUnicast;
  bool operator==(const AfiSafi&) const = default;
};

// RFC 4724 capability 64.
struct GracefulRestart {
  bool restart_state = false;  // R bit: "I have restarted"
  uint16_t restart_time_s = 0; // 12 bits
  struct Family {
    AfiSafi af;
    bool forwarding_preserved = false;  // F bit
  };
  std::vector<Family> families;
};

struct Capabilities {
  std::vector<AfiSafi> multiprotocol;  // code 1
  bool route_refresh = false;          // code 2 (or the pre-standard 128 when decoding)
  std::optional<uint32_t> four_octet_as;  // code 65: the speaker's real AS
  std::optional<GracefulRestart> graceful_restart;  // code 64
  std::vector<uint8_t> unknown_codes;  // received and ignored (RFC 5492)
};

struct Open {
  uint8_t version = 4;
  uint16_t my_as = 0;  // the 2-octet field: AS_TRANS when the real AS does not fit
  uint16_t hold_time_s = 0;
  uint32_t bgp_id = 0;  // host order
  Capabilities caps;
};

struct Prefix {
  config::IpAddress address;  // host bits zero
  uint8_t length = 0;
  auto operator<=>(const Prefix&) const = default;
  bool operator==(const Prefix&) const = default;
  std::string str() const;
};

struct LargeCommunity {
  uint32_t global = 0, local1 = 0, local2 = 0;
  auto operator<=>(const LargeCommunity&) const = default;
  bool operator==(const LargeCommunity&) const = default;
};

enum class Origin : uint8_t { kIgp = 0, kEgp = 1, kIncomplete = 2 };

// Path attributes Portico sends (and reads, to count and to spot its own routes reflected back).
struct Attributes {
  Origin origin = Origin::kIgp;
  std::vector<uint32_t> as_path;  // one AS_SEQUENCE; AS_SETs are flattened into it on decode
  std::optional<config::IpAddress> next_hop;  // NEXT_HOP (IPv4) or the MP_REACH next hop
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  std::vector<uint32_t> communities;
  std::vector<LargeCommunity> large_communities;
  bool operator==(const Attributes&) const = default;
};

struct Update {
  // IPv4 unicast in the classic fields.
  std::vector<Prefix> withdrawn;
  std::vector<Prefix> nlri;
  // MP_REACH_NLRI / MP_UNREACH_NLRI (one family each; IPv6 unicast here, IPv4 accepted too).
  std::optional<AfiSafi> mp_reach_af;
  std::vector<Prefix> mp_reach;
  std::optional<AfiSafi> mp_unreach_af;
  std::vector<Prefix> mp_unreach;
  Attributes attrs;
  // Set by decode() under RFC 7606: the attributes were malformed in a way that calls for
  // treating every NLRI of this UPDATE as withdrawn (the session stays up).
  bool treat_as_withdraw = false;
  std::vector<uint8_t> discarded_attributes;  // type codes dropped by "attribute discard"
  std::string error_note;                     // what 7606 handling did, for logs

  // End-of-RIB (RFC 4724 section 2): an UPDATE with nothing in it (IPv4 unicast), or with
  // only an empty MP_UNREACH_NLRI for the family.
  bool is_end_of_rib() const;
};

struct Notification {
  uint8_t code = 0;
  uint8_t subcode = 0;
  std::vector<uint8_t> data;
};

struct Keepalive {};

struct RouteRefresh {
  AfiSafi af;
  uint8_t subtype = 0;  // RFC 7313: 0 normal request, 1 BoRR, 2 EoRR
};

using Message = std::variant<Open, Update, Notification, Keepalive, RouteRefresh>;

// Session parameters decoding and encoding depend on.
struct CodecOptions {
  bool four_octet_as = true;  // both sides sent capability 65: AS_PATH uses 4-octet ASNs
};

// Length of the message at the start of `buf` (from its header), or 0 if fewer than 19 bytes
// are there yet. An invalid header (marker not all ones, length < 19 or > 4096, or a length
// below the minimum of its type) returns an Error: the session must send it and close.
std::variant<size_t, Error> frame_length(std::span<const uint8_t> buf);

// Decodes one whole message (header included; `msg.size()` is its length from frame_length).
std::variant<Message, Error> decode(std::span<const uint8_t> msg, const CodecOptions& opts);

// Encoders return a whole message, header included. encode_update splits nothing: the caller
// (the Adj-RIB-Out) keeps each UPDATE under kMaxMessageLen with encoded_update_size().
std::vector<uint8_t> encode_open(const Open& open);
std::vector<uint8_t> encode_update(const Update& update, const CodecOptions& opts);
std::vector<uint8_t> encode_notification(const Notification& n);
std::vector<uint8_t> encode_keepalive();
std::vector<uint8_t> encode_route_refresh(const RouteRefresh& r);
// End-of-RIB for one family (empty UPDATE for IPv4 unicast, empty MP_UNREACH otherwise).
std::vector<uint8_t> encode_end_of_rib(AfiSafi af);

// Encoded size of `update` under `opts`, to pack prefixes into UPDATEs of at most 4096 bytes.
size_t encoded_update_size(const Update& update, const CodecOptions& opts);

// "Cease/Administrative Shutdown" style names for logs.
std::string notification_name(uint8_t code, uint8_t subcode);

}  // namespace bgp
