// Decoding the MetalLB BGP kinds (metallb.io BGPPeer v1beta2 and v1beta1, BGPAdvertisement and
// Community v1beta1) and core/v1 Secret into the typed objects of config/objects.h.
//
// Control thread only (start-up, reload, `portico check`). The checks are those of one object:
// the CRD schemas (types, ranges, defaults), MetalLB's parser (internal/config/config.go:
// peerFromCR, parseTimers, bgpAdvertisementFromCR; internal/bgp/community) with its messages,
// the API server's Secret rules (core/v1 ValidateSecret), and what Portico's own speaker cannot do
// (the FRR-only fields dynamicASN, localASN, vrf, interface, dualStackAddressFamily are refused;
// bfdProfile and disableMP are accepted with a warning). Rules that need other objects (the
// Secret a peer names, Community aliases, pools an advertisement selects, duplicate peers,
// conflicting localPref) run in check_object_set (validation.cc); the decoders note the lines of
// the fields those rules point at.
//
// Secrets: passwords and Secret values never appear in a diagnostic. A value of the wrong YAML
// type is reported without it, and bad base64 by its byte offset only.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config/base64.h"
#include "config/document_internal.h"
#include "config/duration.h"
#include "config/rules_internal.h"

namespace config {

// ============================== communities ==============================

namespace {

// strconv.ParseUint(s, 10, bits): decimal digits only, no sign, within the width.
std::optional<uint32_t> parse_decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::vector<std::string_view> split_colons(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t colon = s.find(':');
    out.push_back(s.substr(0, colon));
    if (colon == std::string_view::npos) return out;
    s.remove_prefix(colon + 1);
  }
}

constexpr uint64_t kMax16 = 0xffff;
constexpr uint64_t kMax32 = 0xffffffff;

}  // namespace

bool parse_bgp_community(const std::string& text, BgpCommunity* out) {
  const std::vector<std::string_view> parts = split_colons(text);
  BgpCommunity c;
  c.text = text;
  if (parts.size() == 2) {
    auto high = parse_decimal(parts[0], kMax16);
    auto low = parse_decimal(parts[1], kMax16);
    if (!high || !low) return false;
    c.value = *high << 16 | *low;
  } else if (parts.size() == 4 && parts[0] == "large") {
    for (size_t i = 0; i < 3; ++i) {
      auto v = parse_decimal(parts[i + 1], kMax32);
      if (!v) return false;
      c.large_parts[i] = *v;
    }
    c.large = true;
  } else {
    return false;
  }
  *out = std::move(c);
  return true;
}

std::optional<std::string> bgp_community_error(const std::string& text, bool* alias_shaped) {
  *alias_shaped = false;
  const std::vector<std::string_view> parts = split_colons(text);
  auto bad_section = [&](std::string_view part, const char* range) {
    return "invalid community value: invalid section " + quote(part) + " of community " +
           quote(text) + ": must be a decimal number from 0 to " + range;
  };
  if (parts.size() == 2) {
    for (std::string_view p : parts) {
      if (!parse_decimal(p, kMax16)) return bad_section(p, "65535");
    }
    return std::nullopt;
  }
  if (parts.size() == 4) {
    if (parts[0] != "large") {
      return "invalid community value: invalid marker for large community, expected community "
             "to be of format large:<uint32>:<uint32>:<uint32> but got " +
             quote(text) + " instead";
    }
    for (size_t i = 1; i < 4; ++i) {
      if (!parse_decimal(parts[i], kMax32)) return bad_section(parts[i], "4294967295");
    }
    return std::nullopt;
  }
  *alias_shaped = true;
  return "invalid community format: " + quote(text) +
         ": expected AA:NN (two numbers from 0 to 65535) or large:A:B:C (three numbers from 0 "
         "to 4294967295)";
}

namespace {

// ============================== shared pieces ==============================

constexpr const char* kHidden = "(value not shown)";
constexpr const char* kInvalidIpMessage =
    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
constexpr const char* kNotSupported = "not supported by Portico's speaker";
constexpr uint64_t kMaxTimerMs = 65535 * 1000ULL;  // BGP timers are 16-bit seconds (RFC 4271)

std::optional<FieldMap> item_fields(Document& doc, const Field& item) {
  if (!item.present()) {
    doc.invalid(item, "null", "must be of type object");
    return std::nullopt;
  }
  return doc.fields(item);
}

// A string that may be secret: a value of another type is reported without being shown.
bool read_secret_string(Document& doc, const Field& f, std::string* out) {
  if (!f.present()) return false;
  if (!f.node.IsScalar() || scalar_type(f.node) != ScalarType::kString) {
    std::string detail = std::string("must be of type string");
    if (f.node.IsScalar()) {
      detail += std::string(" (YAML reads this value as a ") + Document::type_name(f.node) +
                "; write it in quotes to make it a string)";
    }
    doc.invalid(f, kHidden, detail);
    return false;
  }
  *out = f.node.Scalar();
  return true;
}

// A list of names whose items must be distinct; each item's line is noted.
void read_names(Document& doc, const Field& f, std::vector<std::string>* out, FieldLines* lines) {
  read_unique_strings(doc, f, out, [&](const Field& item) {
    lines->note(
        Field{item.node, f.path + "[" + std::to_string(out->size()) + "]", item.line, true});
  });
}

std::optional<IpAddress> read_address(Document& doc, const Field& f) {
  std::string text;
  if (!doc.read_string(f, &text)) return std::nullopt;
  auto ip = IpAddress::parse(text);
  if (!ip) doc.invalid(f, quote(text), kInvalidIpMessage);
  return ip;
}

// A BGP timer as metav1.Duration writes it ("90s", "1m30s"), or an integer number of seconds as
// everywhere in Portico; it must be whole seconds. Milliseconds; nullopt when absent or invalid.
std::optional<uint64_t> read_seconds(Document& doc, const Field& f, const std::string& whole) {
  if (!f.present()) return std::nullopt;
  const ScalarType t = f.node.IsScalar() ? scalar_type(f.node) : ScalarType::kNull;
  uint64_t ms = 0;
  if (t == ScalarType::kInt) {
    int64_t seconds = 0;
    if (!doc.read_int(f, 0, INT64_MAX, &seconds)) return std::nullopt;
    // Past any BGP timer anyway; saturated so that the caller's range check reports it.
    ms = static_cast<uint64_t>(std::min<int64_t>(seconds, INT64_MAX / 1000)) * 1000;
  } else if (t == ScalarType::kString && parse_duration_ms(f.node.Scalar(), &ms)) {
    // parsed
  } else {
    doc.invalid(f, Document::shown(f.node),
                "must be a duration such as \"90s\" or \"1m30s\" (Go syntax), or an integer "
                "number of seconds");
    return std::nullopt;
  }
  if (ms % 1000 != 0) {
    doc.invalid(f, Document::shown(f.node), whole);
    return std::nullopt;
  }
  return ms;
}

// A field of the upstream schema Portico's speaker does not implement; written with a value
// other than its zero value, it refuses the object.
void refuse_if_set(Document& doc, const Field& f, bool set, const std::string& detail) {
  if (set) doc.forbidden(f, std::string(kNotSupported) + detail);
}

}  // namespace

// ============================== BGPPeer ==============================

namespace {

void read_asns(Document& doc, FieldMap& spec, bool v1beta1, BGPPeer* out, FieldLines* lines,
               bool* have_asns) {
  const Field my = spec.get("myASN");
  lines->note(my);
  bool have_my = false;
  if (!my.present()) {
    doc.required(my, "the local AS number");
  } else {
    have_my = doc.read_int(my, 1, kMax32, &out->my_asn);
  }
  const Field peer = spec.get("peerASN");
  lines->note(peer);
  const Field dynamic = v1beta1 ? Field{} : spec.get("dynamicASN");
  if (dynamic.present()) {
    std::string mode;
    doc.read_string(dynamic, &mode);
    doc.forbidden(dynamic, std::string(kNotSupported) +
                               ": Portico needs the peer's AS number in spec.peerASN");
  }
  bool have_peer = false;
  if (peer.present()) {
    have_peer = doc.read_int(peer, 1, kMax32, &out->peer_asn);
  } else if (!dynamic.present()) {
    doc.required(peer, "the peer's AS number");
  }
  *have_asns = have_my && have_peer;
}

// holdTime and keepaliveTime as parseTimers derives them, in whole seconds.
void read_timers(Document& doc, FieldMap& spec, BGPPeer* out, FieldLines* lines) {
  const Field hold_f = spec.get("holdTime");
  const Field keep_f = spec.get("keepaliveTime");
  lines->note(hold_f);
  lines->note(keep_f);
  auto hold = read_seconds(doc, hold_f, "must be a whole number of seconds");
  auto keep = read_seconds(doc, keep_f, "must be a whole number of seconds");
  const bool hold_bad = hold_f.present() && !hold;
  const bool keep_bad = keep_f.present() && !keep;
  if (hold && *hold != 0 && (*hold < 3000 || *hold > kMaxTimerMs)) {
    doc.invalid(hold_f, Document::shown(hold_f.node),
                "must be 0 (no keepalives) or from 3s to 65535s (RFC 4271)");
    return;
  }
  if (hold_bad || keep_bad) return;
  if (hold && keep) {
    if (*keep > *hold) {
      doc.invalid(keep_f, Document::shown(keep_f.node),
                  "must not be greater than spec.holdTime (" + format_duration_ms(*hold) + ")");
      return;
    }
    out->hold_time_ms = *hold;
    out->keepalive_time_ms = *keep;
  } else if (hold) {
    // hold/3 as MetalLB derives it, kept in whole seconds as the speaker's timers are.
    out->hold_time_ms = *hold;
    out->keepalive_time_ms = *hold / 3000 * 1000;
  } else if (keep) {
    if (*keep * 3 > kMaxTimerMs) {
      doc.invalid(keep_f, Document::shown(keep_f.node),
                  "must be at most 21845s: the hold time derived from it (3 x keepaliveTime) "
                  "must be at most 65535s");
      return;
    }
    out->keepalive_time_ms = *keep;
    out->hold_time_ms = *keep * 3;
  }
}

void read_password(Document& doc, FieldMap& spec, bool v1beta1, BGPPeer* out, FieldLines* lines) {
  const Field pw = spec.get("password");
  lines->note(pw);
  if (read_secret_string(doc, pw, &out->password)) {
    if (out->password.find_first_of("\r\n") != std::string::npos) {
      doc.invalid(pw, kHidden, "must not contain line breaks");
    } else if (out->password.size() > kMaxTcpMd5KeyBytes) {
      doc.invalid(pw, kHidden,
                  "must be at most 80 bytes (the longest TCP-MD5 key, RFC 2385, Linux takes)");
    }
  }
  if (v1beta1) return;
  const Field ref_f = spec.get("passwordSecret");
  lines->note(ref_f);
  auto ref = doc.fields(ref_f);
  if (!ref) return;
  SecretReference r;
  const Field name = ref->get("name");
  if (doc.read_string(name, &r.name) && !r.name.empty()) {
    auto errors = dns1123_subdomain_errors(r.name);
    if (!errors.empty()) doc.invalid(name, quote(r.name), join_messages(errors));
  }
  const Field ns = ref->get("namespace");
  if (doc.read_string(ns, &r.namespace_) && !r.namespace_.empty()) {
    auto errors = dns1123_label_errors(r.namespace_);
    if (!errors.empty()) doc.invalid(ns, quote(r.namespace_), join_messages(errors));
  }
  ref->warn_unknown();
  if (r.name.empty()) return;  // as MetalLB: a reference without a name is no reference
  if (r.namespace_.empty()) r.namespace_ = out->meta.namespace_;
  if (!out->password.empty()) {
    doc.forbidden(ref_f, "spec.password and spec.passwordSecret are mutually exclusive");
  }
  out->password_secret = std::move(r);
}

// The fields only MetalLB's FRR modes implement, which Portico's speaker does not.
void refuse_frr_only(Document& doc, FieldMap& spec) {
  const Field local = spec.get("localASN");
  uint32_t local_asn = 0;
  if (doc.read_int(local, 0, kMax32, &local_asn)) {
    refuse_if_set(doc, local, local_asn != 0, " (local-as)");
  }
  const Field vrf = spec.get("vrf");
  std::string text;
  if (doc.read_string(vrf, &text)) refuse_if_set(doc, vrf, !text.empty(), " (VRFs)");
  const Field iface = spec.get("interface");
  text.clear();
  if (doc.read_string(iface, &text)) {
    refuse_if_set(doc, iface, !text.empty(), " (unnumbered BGP): set spec.peerAddress");
  }
  const Field dual = spec.get("dualStackAddressFamily");
  bool on = false;
  if (doc.read_bool(dual, &on)) {
    refuse_if_set(doc, dual, on,
                  ": each session carries the routes of its own address family only");
  }
}

}  // namespace

void decode_bgp_peer(Document& doc, FieldMap& top, std::string_view version, BGPPeer* out,
                     FieldLines* lines) {
  top.known({"status"});
  const bool v1beta1 = version == "v1beta1";
  if (v1beta1) {
    doc.warning_at(top.get("apiVersion").line,
                   "metallb.io/v1beta1 BGPPeer is deprecated, please use metallb.io/v1beta2");
  }
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.myASN, spec.peerASN and spec.peerAddress are required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;

  bool have_asns = false;
  read_asns(doc, *spec, v1beta1, out, lines, &have_asns);

  const Field address = spec->get("peerAddress");
  lines->note(address);
  std::optional<IpAddress> peer_ip;
  if (!address.present()) {
    doc.required(address, "the address to dial");
  } else if ((peer_ip = read_address(doc, address))) {
    if (peer_ip->is_unspecified() || peer_ip->is_multicast()) {
      doc.invalid(address, quote(peer_ip->str()), "must be a unicast address");
    } else {
      out->peer_address = *peer_ip;
    }
  }
  const Field source = spec->get("sourceAddress");
  lines->note(source);
  if (auto src = read_address(doc, source)) {
    if (peer_ip && src->family() != peer_ip->family()) {
      doc.invalid(source, quote(src->str()),
                  std::string("must be of the same IP family as spec.peerAddress (") +
                      family_name(peer_ip->family()) + ")");
    } else {
      out->source_address = *src;
    }
  }
  // v1beta1 allows 0, its "unset": the conversion to v1beta2 then applies the default.
  const Field port = spec->get("peerPort");
  lines->note(port);
  doc.read_int(port, v1beta1 ? 0 : 1, 16384, &out->peer_port);
  if (out->peer_port == 0) out->peer_port = 179;

  read_timers(doc, *spec, out, lines);
  if (!v1beta1) {
    const Field connect = spec->get("connectTime");
    lines->note(connect);
    auto ms = read_seconds(doc, connect, "connect time should contain a whole number of seconds");
    if (ms && (*ms < 1000 || *ms > kMaxTimerMs)) {
      doc.invalid(connect, Document::shown(connect.node),
                  "connect time should be between 1 seconds to 65535");
    } else if (ms) {
      out->connect_time_ms = *ms;
    }
  }

  const Field router_id = spec->get("routerID");
  std::string text;
  if (doc.read_string(router_id, &text)) {
    auto ip = IpAddress::parse(text);
    if (!ip || !ip->is_v4()) {
      doc.invalid(router_id, quote(text), "must be a valid IPv4 address (the BGP Identifier)");
    } else {
      out->router_id = *ip;
    }
  }
  const Field selectors = spec->get("nodeSelectors");
  lines->note(selectors);
  read_label_selectors(doc, selectors, &out->node_selectors);
  read_password(doc, *spec, v1beta1, out, lines);

  const Field bfd = spec->get("bfdProfile");
  if (doc.read_string(bfd, &out->bfd_profile) && !out->bfd_profile.empty()) {
    doc.warning(bfd, "BFD is not supported by Portico's speaker; the session runs without it");
  }
  const Field multihop = spec->get("ebgpMultiHop");
  if (doc.read_bool(multihop, &out->ebgp_multi_hop) && out->ebgp_multi_hop && have_asns &&
      out->my_asn == out->peer_asn) {
    doc.invalid(multihop, "true",
                "invalid ebgp-multihop parameter set for an ibgp peer (spec.myASN equals "
                "spec.peerASN)");
  }
  if (!v1beta1) {
    doc.read_bool(spec->get("enableGracefulRestart"), &out->enable_graceful_restart);
    const Field disable_mp = spec->get("disableMP");
    bool disable = false;
    if (doc.read_bool(disable_mp, &disable) && disable) {
      doc.warning(disable_mp,
                  "deprecated upstream and ignored: each session carries the routes of its own "
                  "address family");
    }
    refuse_frr_only(doc, *spec);
  }
  spec->warn_unknown();
}

// ============================== BGPAdvertisement ==============================

void decode_bgp_advertisement(Document& doc, FieldMap& top, BGPAdvertisement* out,
                              FieldLines* lines) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  lines->note(spec_field);
  auto spec = doc.fields(spec_field);  // no spec: every pool, every peer, host routes
  if (!spec) return;
  const Field v4 = spec->get("aggregationLength");
  const Field v6 = spec->get("aggregationLengthV6");
  lines->note(v4);
  lines->note(v6);
  doc.read_int(v4, 1, 32, &out->aggregation_length);
  doc.read_int(v6, 1, 128, &out->aggregation_length_v6);
  const Field pref = spec->get("localPref");
  lines->note(pref);
  uint32_t local_pref = 0;
  if (doc.read_int(pref, 0, kMax32, &local_pref)) out->local_pref = local_pref;

  // Community texts are checked with the aliases, across objects: an alias name comes first.
  read_names(doc, spec->get("communities"), &out->communities, lines);
  read_names(doc, spec->get("ipAddressPools"), &out->ip_address_pools, lines);
  read_label_selectors(doc, spec->get("ipAddressPoolSelectors"), &out->ip_address_pool_selectors);
  read_label_selectors(doc, spec->get("nodeSelectors"), &out->node_selectors);
  const Field services = spec->get("serviceSelectors");
  read_label_selectors(doc, services, &out->service_selectors);
  read_names(doc, spec->get("peers"), &out->peers, lines);

  // An aggregated prefix serves several Services; selecting Services cannot apply to it.
  if (!out->service_selectors.empty()) {
    if (out->aggregation_length != 32) {
      doc.forbidden(v4,
                    "serviceSelectors and aggregationLength are mutually exclusive, both "
                    "cannot be set");
    }
    if (out->aggregation_length_v6 != 128) {
      doc.forbidden(v6,
                    "serviceSelectors and aggregationLengthV6 are mutually exclusive, both "
                    "cannot be set");
    }
  }
  spec->warn_unknown();
}

// ============================== Community ==============================

void decode_community(Document& doc, FieldMap& top, Community* out, FieldLines* lines) {
  top.known({"status"});
  auto spec = doc.fields(top.get("spec"));
  if (!spec) return;
  for (const Field& item : doc.items(spec->get("communities"))) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    const Field name = m->get("name");
    const Field value = m->get("value");
    CommunityAlias alias;
    const bool have_name = doc.read_required_string(name, &alias.name);
    std::string text;
    bool have_value = false;
    if (doc.read_required_string(value, &text)) {
      bool alias_shaped = false;
      if (auto error = bgp_community_error(text, &alias_shaped)) {
        doc.error(value, *error);
      } else {
        have_value = parse_bgp_community(text, &alias.value);
      }
    }
    m->warn_unknown();
    if (!have_name || !have_value) continue;
    const std::string path = "spec.communities[" + std::to_string(out->communities.size()) + "]";
    lines->note(Field{name.node, path + ".name", name.line, true});
    out->communities.push_back(std::move(alias));
  }
  spec->warn_unknown();
}

// ============================== Secret ==============================

namespace {

constexpr size_t kMaxSecretBytes = 1024 * 1024;  // core/v1 MaxSecretSize

// data or stringData: key -> value, keys checked as ConfigMap keys, values never shown.
void read_secret_map(Document& doc, const Field& f, bool base64,
                     std::map<std::string, std::string>* out, FieldLines* lines) {
  auto m = doc.fields(f);
  if (!m) return;
  for (const auto& [key, entry] : m->entries()) {
    const Field at{entry.node, f.path + "[" + key + "]", entry.line, true};
    auto errors = config_key_errors(key);
    if (!errors.empty()) doc.invalid(at, quote(key), join_messages(errors));
    std::string value;
    if (entry.present() && !read_secret_string(doc, at, &value)) continue;
    if (base64) {
      std::string decoded;
      size_t bad_at = 0;
      if (!decode_base64(value, &decoded, &bad_at)) {
        doc.invalid(at, kHidden,
                    "illegal base64 data at input byte " + std::to_string(bad_at) +
                        " (data values are base64; write plain text under stringData)");
        continue;
      }
      value = std::move(decoded);
    }
    lines->note(at);
    (*out)[key] = std::move(value);
  }
}

}  // namespace

void decode_secret(Document& doc, FieldMap& top, Secret* out, FieldLines* lines) {
  top.known({"immutable"});
  const Field type = top.get("type");
  lines->note(type);
  doc.read_string(type, &out->type);
  if (out->type.empty()) out->type = "Opaque";  // the API server's default
  bool immutable = false;
  doc.read_bool(top.get("immutable"), &immutable);

  std::map<std::string, std::string> data, string_data;
  const Field data_f = top.get("data");
  read_secret_map(doc, data_f, true, &data, lines);
  read_secret_map(doc, top.get("stringData"), false, &string_data, lines);
  // As the API server merges them: stringData wins.
  for (auto& [key, value] : string_data) data[key] = std::move(value);
  size_t total = 0;
  for (const auto& [key, value] : data) total += key.size() + value.size();
  if (total > kMaxSecretBytes) {
    doc.error(data_f, "Too long: must have at most " + std::to_string(kMaxSecretBytes) + " bytes");
  }
  if (out->type == kBasicAuthSecretType && data.count("username") == 0 &&
      data.count("password") == 0) {
    doc.required(Field{YAML::Node(), "data[username]", data_f.line, true});
    doc.required(Field{YAML::Node(), "data[password]", data_f.line, true});
  }
  out->data = std::move(data);
}

}  // namespace config
