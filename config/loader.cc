// Loading configuration files into typed objects (see config/loader.h).
//
// Runs on the control thread (start-up, SIGHUP reload) and in `portico check`. The steps, for
// each file: refuse tab-indented lines (yaml-cpp accepts them, kubectl does not), parse every
// YAML document with yaml-cpp, dispatch on apiVersion + kind, read the metadata with the API
// server's name rules, and hand the rest to the kind's decoder (validation.cc, gateway.cc,
// bgp.cc). Once every file is read, the rules that span objects run (duplicates, overlapping
// pools, BGP references). Nothing throws out of here: I/O failures, YAML syntax errors and even
// internal surprises become Diagnostics.
//
// This file also implements the typed field access of config/document_internal.h.
#include "config/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "config/document_internal.h"
#include "config/rules_internal.h"

namespace config {

namespace {

// Files larger than this are refused before parsing (a configuration is kilobytes).
constexpr size_t kMaxFileBytes = 64u << 20;
// Values a document may hold once YAML aliases are expanded, and how deep it may nest: bounds the
// work of everything after parsing (an "alias bomb" is a few lines of text).
// (An EndpointSlice at the API server's limits holds about 100 000.)
constexpr uint64_t kMaxExpandedNodes = 250'000;
constexpr int kMaxDepth = 256;
// Merge keys (<<) within merged mappings, followed this deep.
constexpr int kMaxMergeDepth = 16;
// Diagnostics kept per document: past this, one line says the rest were dropped.
constexpr size_t kMaxDiagnosticsPerDocument = 100;
// Tab-indented lines reported per file before summarising the rest.
constexpr size_t kMaxTabLinesReported = 10;

constexpr const char* kTabMessage =
    "YAML syntax: tab character in indentation (YAML allows only spaces for indentation)";

}  // namespace

// ---- names and messages ----

std::string Diagnostic::str() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  } else if (line > 0) {
    out += "line " + std::to_string(line) + ": ";
  }
  if (!object.empty()) out += object + ": ";
  out += message;
  return out;
}

std::string object_ref(const std::string& kind, const ObjectMeta& meta) {
  if (meta.namespace_.empty()) return kind + "/" + meta.name;
  return kind + "/" + meta.namespace_ + "/" + meta.name;
}

std::string quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// ---- YAML 1.1 scalar resolution (what go-yaml v2, hence kubectl, makes of plain scalars) ----

namespace {

struct IntText {
  bool is_int = false;    // integer syntax
  bool overflow = false;  // integer syntax, but outside int64
  int64_t value = 0;
};

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

// Decimal, 0x hex, 0o / leading-0 octal, 0b binary; optional sign; '_' separators.
IntText parse_int_text(std::string_view s) {
  IntText r;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);  // lower case
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) s.remove_prefix(2);
  }
  if (base == 10 && s.size() > 1 && s[0] == '0') base = 8;  // YAML 1.1: 0755 is octal
  uint64_t v = 0;
  bool digits = false;
  for (char c : s) {
    if (c == '_' && digits) continue;
    const int d = digit_value(c);
    if (d >= base) return r;
    digits = true;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      r.overflow = true;
    } else {
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
  }
  if (!digits) return r;
  r.is_int = true;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (r.overflow || v > limit) {
    r.overflow = true;
  } else {
    r.value = negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  }
  return r;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?, and .inf / .nan.
bool is_float_text(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kSpecial = {".inf",  ".Inf",  ".INF",  "+.inf",
                                                                "+.Inf", "+.INF", "-.inf", "-.Inf",
                                                                "-.INF", ".nan",  ".NaN",  ".NAN"};
  if (std::find(kSpecial.begin(), kSpecial.end(), s) != kSpecial.end()) return true;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool mantissa = false;
  while (i < s.size() && (is_digit(s[i]) || (mantissa && s[i] == '_'))) {
    mantissa = true;
    ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && (is_digit(s[i]) || s[i] == '_')) {
      mantissa = true;
      ++i;
    }
  }
  if (!mantissa) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i == s.size() || !is_digit(s[i])) return false;
    while (i < s.size() && is_digit(s[i])) ++i;
  }
  return i == s.size();
}

std::optional<bool> bool_text(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kTrue = {
      "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static constexpr std::array<std::string_view, 12> kFalse = {
      "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  if (std::find(kTrue.begin(), kTrue.end(), s) != kTrue.end()) return true;
  if (std::find(kFalse.begin(), kFalse.end(), s) != kFalse.end()) return false;
  return std::nullopt;
}

ScalarType plain_scalar_type(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return ScalarType::kNull;
  if (bool_text(s)) return ScalarType::kBool;
  if (parse_int_text(s).is_int) return ScalarType::kInt;
  if (is_float_text(s)) return ScalarType::kFloat;
  return ScalarType::kString;
}

// Limits at the type's edge (32 bits or more) are not worth naming.
std::string range_message(const IntText& v, int64_t min, int64_t max) {
  const bool low = !v.overflow && v.value < min;
  if (low && max >= INT32_MAX) return "must be greater than or equal to " + std::to_string(min);
  if (!low && min <= INT32_MIN) return "must be less than or equal to " + std::to_string(max);
  return "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", inclusive";
}

}  // namespace

ScalarType scalar_type(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return ScalarType::kNull;
  if (!node.IsScalar()) return ScalarType::kString;
  const std::string& tag = node.Tag();
  if (tag == "?") return plain_scalar_type(node.Scalar());
  if (tag == "tag:yaml.org,2002:int") return ScalarType::kInt;
  if (tag == "tag:yaml.org,2002:bool") return ScalarType::kBool;
  if (tag == "tag:yaml.org,2002:float") return ScalarType::kFloat;
  if (tag == "tag:yaml.org,2002:null") return ScalarType::kNull;
  return ScalarType::kString;  // quoted ("!"), block scalars, !!str and local tags
}

// ---- Document: diagnostics ----

void Document::error_at(int line, std::string message) {
  ++error_count_;
  if (error_count_ > kMaxDiagnosticsPerDocument + 1) return;
  if (error_count_ == kMaxDiagnosticsPerDocument + 1) {
    message = "too many errors in this document; the rest are not shown";
  }
  errors_->push_back(Diagnostic{file_, line, object_, std::move(message)});
}

void Document::warning_at(int line, std::string message) {
  ++warning_count_;
  if (warning_count_ > kMaxDiagnosticsPerDocument + 1) return;
  if (warning_count_ == kMaxDiagnosticsPerDocument + 1) {
    message = "too many warnings in this document; the rest are not shown";
  }
  warnings_->push_back(Diagnostic{file_, line, object_, std::move(message)});
}

void Document::required(const Field& f, const std::string& detail) {
  error(f, detail.empty() ? "Required value" : "Required value: " + detail);
}

void Document::invalid(const Field& f, const std::string& shown, const std::string& detail) {
  error(f, "Invalid value: " + shown + ": " + detail);
}

void Document::unsupported(const Field& f, std::string_view value,
                           std::initializer_list<const char*> ok) {
  std::string list;
  for (const char* v : ok) list += (list.empty() ? "" : ", ") + quote(v);
  error(f, "Unsupported value: " + quote(value) + ": supported values: " + list);
}

void Document::duplicate(const Field& f, const std::string& shown, const std::string& detail) {
  error(f, "Duplicate value: " + shown + (detail.empty() ? "" : " (" + detail + ")"));
}

void Document::forbidden(const Field& f, const std::string& detail) {
  error(f, "Forbidden: " + detail);
}

const char* Document::type_name(const YAML::Node& node) {
  if (node.IsMap()) return "object";
  if (node.IsSequence()) return "array";
  switch (scalar_type(node)) {
    case ScalarType::kNull:
      return "null";
    case ScalarType::kBool:
      return "boolean";
    case ScalarType::kInt:
      return "integer";
    case ScalarType::kFloat:
      return "number";
    case ScalarType::kString:
      return "string";
  }
  return "string";
}

std::string Document::shown(const YAML::Node& node) {
  if (!node.IsScalar()) return quote(type_name(node));
  if (scalar_type(node) == ScalarType::kString) return quote(node.Scalar());
  return node.Scalar();
}

void Document::type_error(const Field& f, const char* expected) {
  std::string detail = std::string("must be of type ") + expected;
  if (std::string_view(expected) == "string" && f.node.IsScalar()) {
    detail += " (YAML reads " + f.node.Scalar() + " as a " + type_name(f.node) + "; write " +
              quote(f.node.Scalar()) + " to make it a string)";
  }
  invalid(f, shown(f.node), detail);
}

// ---- Document: typed reads ----

bool Document::read_string(const Field& f, std::string* out) {
  if (!f.present()) return false;
  if (!f.node.IsScalar() || scalar_type(f.node) != ScalarType::kString) {
    type_error(f, "string");
    return false;
  }
  *out = f.node.Scalar();
  return true;
}

bool Document::read_required_string(const Field& f, std::string* out) {
  if (!f.present()) {
    required(f);
    return false;
  }
  if (!read_string(f, out)) return false;
  if (out->empty()) {
    required(f);
    return false;
  }
  return true;
}

bool Document::read_bool(const Field& f, bool* out) {
  if (!f.present()) return false;
  if (!f.node.IsScalar() || scalar_type(f.node) != ScalarType::kBool) {
    type_error(f, "boolean");
    return false;
  }
  if (f.node.Tag() == "tag:yaml.org,2002:bool") {
    auto v = bool_text(f.node.Scalar());
    if (!v) {
      invalid(f, quote(f.node.Scalar()), "must be of type boolean");
      return false;
    }
    *out = *v;
    return true;
  }
  *out = *bool_text(f.node.Scalar());
  return true;
}

bool Document::read_bool(const Field& f, std::optional<bool>* out) {
  bool v = false;
  if (!read_bool(f, &v)) return false;
  *out = v;
  return true;
}

bool Document::read_int(const Field& f, int64_t min, int64_t max, int64_t* out) {
  if (!f.present()) return false;
  if (!f.node.IsScalar() || scalar_type(f.node) != ScalarType::kInt) {
    type_error(f, "integer");
    return false;
  }
  const IntText v = parse_int_text(f.node.Scalar());
  if (!v.is_int) {  // an explicit !!int tag on something else
    invalid(f, quote(f.node.Scalar()), "must be of type integer");
    return false;
  }
  if (v.overflow || v.value < min || v.value > max) {
    invalid(f, f.node.Scalar(), range_message(v, min, max));
    return false;
  }
  *out = v.value;
  return true;
}

bool Document::read_string_list(const Field& f, std::vector<std::string>* out) {
  if (!f.present()) return false;
  if (!f.node.IsSequence()) {
    type_error(f, "array");
    return false;
  }
  out->clear();
  for (const Field& item : items(f)) {
    std::string s;
    if (read_string(item, &s)) {
      out->push_back(std::move(s));
    } else if (!item.present()) {
      invalid(item, "null", "must be of type string");
    }
  }
  return true;
}

std::vector<Field> Document::items(const Field& f) {
  std::vector<Field> out;
  if (!f.present()) return out;
  if (!f.node.IsSequence()) {
    type_error(f, "array");
    return out;
  }
  out.reserve(f.node.size());
  size_t i = 0;
  for (const YAML::Node& n : f.node) {
    const YAML::Mark mark = n.Mark();
    const int line = mark.is_null() || n.IsNull() ? f.line : mark.line + 1;
    out.push_back(Field{n, f.path + "[" + std::to_string(i) + "]", line, true});
    ++i;
  }
  return out;
}

std::optional<FieldMap> Document::fields(const Field& f) {
  if (!f.present()) return std::nullopt;
  if (!f.node.IsMap()) {
    type_error(f, "object");
    return std::nullopt;
  }
  FieldMap m(this, f);
  std::unordered_map<std::string, int> seen;  // key -> line
  add_entries(f, f.node, 0, &m, &seen);
  return m;
}

namespace {

int key_line(const YAML::Node& key, int fallback) {
  return key.Mark().is_null() ? fallback : key.Mark().line + 1;
}

// "<<" as a plain key: YAML 1.1's merge key, which go-yaml (so kubectl) honours.
bool is_merge_key(const YAML::Node& key) {
  return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<";
}

}  // namespace

// The keys of `map` (depth 0: the mapping itself, then the mappings it merges). Explicit keys win
// over merged ones, and earlier merged mappings over later ones, as in the YAML merge spec.
void Document::add_entries(const Field& f, const YAML::Node& map, int depth, FieldMap* m,
                           std::unordered_map<std::string, int>* seen) {
  std::vector<std::pair<YAML::Node, int>> merges;
  for (const auto& kv : map) {
    const int line = key_line(kv.first, f.line);
    if (is_merge_key(kv.first)) {
      merges.emplace_back(kv.second, line);
      continue;
    }
    if (!kv.first.IsScalar()) {
      if (depth == 0)
        error_at(line, (f.path.empty() ? "" : f.path + ": ") + "mapping keys must be strings");
      continue;
    }
    const std::string& key = kv.first.Scalar();
    auto [it, inserted] = seen->emplace(key, line);
    if (!inserted) {
      if (depth == 0) {
        error_at(line, "YAML: mapping key " + quote(key) + " already defined at line " +
                           std::to_string(it->second));
      }
      continue;
    }
    m->entries_.push_back(FieldMap::Entry{key, kv.second, line, false});
  }
  for (const auto& [value, line] : merges) {
    if (depth >= kMaxMergeDepth) {
      error_at(line, "YAML: merge keys (<<) nested more than " + std::to_string(kMaxMergeDepth) +
                         " deep");
      return;
    }
    std::vector<YAML::Node> sources;
    if (value.IsMap()) {
      sources.push_back(value);
    } else if (value.IsSequence()) {
      for (const YAML::Node& n : value) sources.push_back(n);
    }
    const bool all_maps =
        std::all_of(sources.begin(), sources.end(), [](const YAML::Node& n) { return n.IsMap(); });
    if (sources.empty() || !all_maps) {
      error_at(line, "YAML: map merge requires map or sequence of maps as the value");
      continue;
    }
    for (const YAML::Node& source : sources) add_entries(f, source, depth + 1, m, seen);
  }
}

// ---- FieldMap ----

namespace {

std::string child_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

Field FieldMap::get(std::string_view key) {
  for (Entry& e : entries_) {
    if (e.key == key) {
      e.used = true;
      return Field{e.value, child_path(self_.path, key), e.line, true};
    }
  }
  return Field{YAML::Node(), child_path(self_.path, key), self_.line, false};
}

void FieldMap::known(std::initializer_list<std::string_view> keys) {
  for (Entry& e : entries_) {
    if (std::find(keys.begin(), keys.end(), e.key) != keys.end()) e.used = true;
  }
}

std::vector<std::pair<std::string, Field>> FieldMap::entries() {
  std::vector<std::pair<std::string, Field>> out;
  out.reserve(entries_.size());
  for (Entry& e : entries_) {
    e.used = true;
    out.emplace_back(e.key, Field{e.value, child_path(self_.path, e.key), e.line, true});
  }
  return out;
}

void FieldMap::warn_unknown() {
  for (const Entry& e : entries_) {
    if (!e.used) doc_->warning_at(e.line, "unknown field " + quote(child_path(self_.path, e.key)));
  }
}

// ---- kinds ----

namespace {

enum class KindId : uint8_t {
  kNodeConfig,
  kIPAddressPool,
  kL2Advertisement,
  kService,
  kNamespace,
  kEndpointSlice,
  kGatewayClass,
  kGateway,
  kHTTPRoute,
  kReferenceGrant,
  kBGPPeer,
  kBGPAdvertisement,
  kCommunity,
  kSecret,
};

enum class NameRule : uint8_t { kSubdomain, kLabel, kDns1035, kAny };

struct KindInfo {
  KindId id;
  std::string_view group;  // "" for the core group
  std::string_view kind;
  // The served versions, first = preferred (in messages); unused slots stay empty.
  std::array<std::string_view, 3> versions;
  bool namespaced;
  NameRule name_rule;  // as the API server validates metadata.name of this kind
};

constexpr std::string_view kGatewayGroup = "gateway.networking.k8s.io";

constexpr KindInfo kKinds[] = {
    {KindId::kNodeConfig, "portico.io", "NodeConfig", {"v1alpha1"}, false, NameRule::kSubdomain},
    {KindId::kIPAddressPool,
     "metallb.io",
     "IPAddressPool",
     {"v1beta1"},
     true,
     NameRule::kSubdomain},
    {KindId::kL2Advertisement,
     "metallb.io",
     "L2Advertisement",
     {"v1beta1"},
     true,
     NameRule::kSubdomain},
    // BGPPeer: v1beta2 is stored; v1beta1 (deprecated) is still served, with fewer fields.
    {KindId::kBGPPeer, "metallb.io", "BGPPeer", {"v1beta2", "v1beta1"}, true, NameRule::kSubdomain},
    {KindId::kBGPAdvertisement,
     "metallb.io",
     "BGPAdvertisement",
     {"v1beta1"},
     true,
     NameRule::kSubdomain},
    {KindId::kCommunity, "metallb.io", "Community", {"v1beta1"}, true, NameRule::kSubdomain},
    {KindId::kService, "", "Service", {"v1"}, true, NameRule::kDns1035},
    {KindId::kSecret, "", "Secret", {"v1"}, true, NameRule::kSubdomain},
    {KindId::kNamespace, "", "Namespace", {"v1"}, false, NameRule::kLabel},
    {KindId::kEndpointSlice,
     "discovery.k8s.io",
     "EndpointSlice",
     {"v1"},
     true,
     NameRule::kSubdomain},
    // Gateway API: the versions the standard-channel CRDs serve (v1beta1 is the same schema).
    {KindId::kGatewayClass,
     kGatewayGroup,
     "GatewayClass",
     {"v1", "v1beta1"},
     false,
     NameRule::kSubdomain},
    {KindId::kGateway, kGatewayGroup, "Gateway", {"v1", "v1beta1"}, true, NameRule::kSubdomain},
    {KindId::kHTTPRoute, kGatewayGroup, "HTTPRoute", {"v1", "v1beta1"}, true, NameRule::kSubdomain},
    {KindId::kReferenceGrant,
     kGatewayGroup,
     "ReferenceGrant",
     {"v1", "v1beta1", "v1alpha2"},
     true,
     NameRule::kSubdomain},
};

// Well-known cluster-scoped kinds among those Portico does not handle: they get no "default"
// namespace. Everything else unknown is assumed namespaced, as most kinds are.
constexpr std::string_view kClusterScopedOthers[] = {
    "Node",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
};

std::string api_version_of(const KindInfo& k, std::string_view version) {
  return k.group.empty() ? std::string(version) : std::string(k.group) + "/" + std::string(version);
}

// The preferred version, as suggestions name it.
std::string served_api_version(const KindInfo& k) { return api_version_of(k, k.versions[0]); }

// Every served version, as the "no matches" message lists them.
std::string served_api_versions(const KindInfo& k) {
  std::string out;
  for (std::string_view v : k.versions) {
    if (!v.empty()) out += (out.empty() ? "" : ", ") + api_version_of(k, v);
  }
  return out;
}

bool serves(const KindInfo& k, std::string_view api_version) {
  for (std::string_view v : k.versions) {
    if (!v.empty() && api_version == api_version_of(k, v)) return true;
  }
  return false;
}

std::string_view group_of(std::string_view api_version) {
  const size_t slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

const KindInfo* find_kind(std::string_view group, std::string_view kind) {
  for (const KindInfo& k : kKinds) {
    if (k.group == group && k.kind == kind) return &k;
  }
  return nullptr;
}

const KindInfo* find_kind_any_group(std::string_view kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

bool is_namespaced(const KindInfo* known, std::string_view kind) {
  if (known != nullptr) return known->namespaced;
  return std::find(std::begin(kClusterScopedOthers), std::end(kClusterScopedOthers), kind) ==
         std::end(kClusterScopedOthers);
}

std::string scalar_text(const YAML::Node& node) {
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : "";
}

// metadata.name and namespace as written, without checks or diagnostics, to name the object.
ObjectMeta peek_meta(const YAML::Node& root, const KindInfo* known, std::string_view kind) {
  ObjectMeta meta;
  const YAML::Node m = root["metadata"];
  if (m.IsDefined() && m.IsMap()) {
    meta.name = scalar_text(m["name"]);
    meta.namespace_ = scalar_text(m["namespace"]);
  }
  if (!is_namespaced(known, kind)) {
    meta.namespace_.clear();
  } else if (meta.namespace_.empty()) {
    meta.namespace_ = "default";
  }
  return meta;
}

std::vector<std::string> name_errors(NameRule rule, std::string_view name) {
  switch (rule) {
    case NameRule::kSubdomain:
      return dns1123_subdomain_errors(name);
    case NameRule::kLabel:
      return dns1123_label_errors(name);
    case NameRule::kDns1035:
      return dns1035_label_errors(name);
    case NameRule::kAny:
      return {};
  }
  return {};
}

void read_name(Document& doc, FieldMap& meta, NameRule rule, std::string* out) {
  const Field name = meta.get("name");
  if (!doc.read_required_string(name, out)) return;
  auto errors = name_errors(rule, *out);
  if (!errors.empty()) doc.invalid(name, quote(*out), join_messages(errors));
}

void read_namespace(Document& doc, FieldMap& meta, std::string_view kind, bool namespaced,
                    std::string* out) {
  const Field ns = meta.get("namespace");
  std::string value;
  if (doc.read_string(ns, &value) && !value.empty()) {
    if (!namespaced) {
      doc.warning(ns, "ignored: " + std::string(kind) + " is not namespaced");
      return;
    }
    auto errors = dns1123_label_errors(value);
    if (!errors.empty()) doc.invalid(ns, quote(value), join_messages(errors));
    *out = value;
    return;
  }
  // As `kubectl apply` without -n: namespaced objects land in "default".
  if (namespaced) *out = "default";
}

void read_metadata(Document& doc, FieldMap& top, const KindInfo* known, std::string_view kind,
                   ObjectMeta* out) {
  const Field f = top.get("metadata");
  if (!f.present()) {
    doc.required(f, "metadata.name is required");
    if (is_namespaced(known, kind)) out->namespace_ = "default";
    return;
  }
  auto meta = doc.fields(f);
  if (!meta) return;
  read_name(doc, *meta, known != nullptr ? known->name_rule : NameRule::kAny, &out->name);
  read_namespace(doc, *meta, kind, is_namespaced(known, kind), &out->namespace_);
  read_labels(doc, meta->get("labels"), &out->labels);
  read_annotations(doc, meta->get("annotations"), &out->annotations);
  read_creation_timestamp(doc, meta->get("creationTimestamp"), &out->creation_timestamp);
  doc.read_int(meta->get("generation"), 0, INT64_MAX, &out->generation);
  meta->known({"uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
               "ownerReferences", "finalizers", "managedFields", "generateName", "selfLink"});
  meta->warn_unknown();
}

}  // namespace

// ---- the loader ----

namespace {

int line_count(std::string_view text) {
  const auto newlines = std::count(text.begin(), text.end(), '\n');
  return static_cast<int>(newlines) + (text.empty() || text.back() == '\n' ? 0 : 1);
}

// Diagnostics of one document in line order (they are found in decoding order).
void sort_by_line(std::vector<Diagnostic>* list, size_t from) {
  std::stable_sort(list->begin() + static_cast<std::ptrdiff_t>(from), list->end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
}

// Sizes a document as if its aliases were expanded, visiting each distinct node once (aliases
// share their node; a node is known by its position and type). Refuses recursive aliases and
// nesting deeper than kMaxDepth, so that decoding never loops nor overflows the stack.
class ExpansionCheck {
 public:
  // An error message, or nullopt when the document is within bounds.
  std::optional<std::string> run(const YAML::Node& root) {
    if (size(root, 0)) return std::nullopt;
    return problem_;
  }

 private:
  using Key = std::pair<int, int>;  // (Mark().pos, Type())

  std::optional<uint64_t> size(const YAML::Node& n, int depth) {
    if (!n.IsMap() && !n.IsSequence()) return 1;
    if (depth > kMaxDepth) {
      problem_ = "YAML: document nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return std::nullopt;
    }
    const Key key{n.Mark().pos, static_cast<int>(n.Type())};
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    if (!active_.insert(key).second) {
      problem_ = "YAML: recursive alias (a node that contains itself)";
      return std::nullopt;
    }
    uint64_t total = 1;
    auto add = [&](const YAML::Node& child) {
      auto s = size(child, depth + 1);
      if (!s) return false;
      total += *s;
      if (total <= kMaxExpandedNodes) return true;
      problem_ = "document holds more than " + std::to_string(kMaxExpandedNodes) +
                 " values once its YAML aliases are expanded; refused";
      return false;
    };
    for (const auto& child : n) {
      const bool ok = n.IsMap() ? add(child.first) && add(child.second) : add(child);
      if (!ok) return std::nullopt;
    }
    active_.erase(key);
    done_.emplace(key, total);
    return total;
  }

  std::map<Key, uint64_t> done_;
  std::set<Key> active_;
  std::string problem_;
};

// Walks the documents of a YAML stream without building them, to find where yaml-cpp 0.7's
// LoadAll would loop forever: a document whose root token matches nothing (a stray ',') is
// reported as null without consuming the token, and LoadAll asks again, allocating each time
// (jbeder/yaml-cpp#1040, fixed upstream after 0.8 by #1319). Two documents starting at the same
// position mean the parser no longer advances.
class StuckParserProbe : public YAML::EventHandler {
 public:
  // Where the parser stops advancing, or nullopt. Syntax errors throw as LoadAll would.
  static std::optional<YAML::Mark> find(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StuckParserProbe probe;
    std::optional<int> previous;
    while (parser.HandleNextDocument(probe)) {
      if (probe.first_ && previous == probe.first_->pos) return probe.first_;
      previous = probe.first_ ? std::optional<int>(probe.first_->pos) : std::nullopt;
    }
    return std::nullopt;
  }

  void OnDocumentStart(const YAML::Mark&) override { first_.reset(); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    note(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    note(m);
  }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& m) {
    if (!first_) first_ = m;
  }
  std::optional<YAML::Mark> first_;  // of the current document's first node
};

class Loader {
 public:
  void add_path(const std::string& path);
  void add_text(const std::string& text, const std::string& file);
  LoadResult finish();

 private:
  void add_file(const std::string& path);
  void add_directory(const std::string& path);
  void add_document(const YAML::Node& root, const std::string& file, bool in_list = false);
  void add_list(Document& doc, FieldMap& top, const std::string& file);
  void add_known(Document& doc, FieldMap& top, const KindInfo& k, std::string_view version,
                 ObjectMeta meta, SourceRef src);
  void error(const std::string& file, int line, std::string message) {
    result_.errors.push_back(Diagnostic{file, line, "", std::move(message)});
  }

  LoadResult result_;
  std::vector<std::vector<int>> pool_entry_lines_;  // parallel to result_.objects.pools
  BgpFieldLines bgp_lines_;                         // parallel to the BGP kinds' lists
};

void Loader::add_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    error(path, 0,
          "cannot read: " + (ec ? ec.message() : std::string("no such file or directory")));
    return;
  }
  if (fs::is_directory(st)) {
    add_directory(path);
  } else {
    add_file(path);
  }
}

// *.yaml and *.yml directly in `path` (not below), in name order.
void Loader::add_directory(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string ext = p.extension().string();
    std::error_code type_ec;
    if ((ext == ".yaml" || ext == ".yml") && fs::is_regular_file(it->status(type_ec))) {
      files.push_back(p);
    }
  }
  if (ec) {
    error(path, 0, "cannot list directory: " + ec.message());
    return;
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  if (files.empty()) {
    result_.warnings.push_back(Diagnostic{path, 0, "", "directory holds no *.yaml or *.yml file"});
  }
  for (const fs::path& p : files) add_file(p.string());
}

void Loader::add_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error(path, 0, std::string("cannot read: ") + std::strerror(errno));
    return;
  }
  // Read in chunks so that the size limit also holds for pipes and devices.
  std::string text;
  std::array<char, 64 * 1024> chunk;
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text.append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      error(path, 0,
            "file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB; refused");
      return;
    }
  }
  if (in.bad()) {
    error(path, 0, "cannot read: I/O error");
    return;
  }
  add_text(text, path);
}

void Loader::add_text(const std::string& text, const std::string& file) {
  const std::vector<int> tab_lines = tab_indented_lines(text);
  for (size_t i = 0; i < tab_lines.size() && i < kMaxTabLinesReported; ++i) {
    error(file, tab_lines[i], kTabMessage);
  }
  if (tab_lines.size() > kMaxTabLinesReported) {
    error(file, tab_lines[kMaxTabLinesReported],
          "YAML syntax: " + std::to_string(tab_lines.size() - kMaxTabLinesReported) +
              " more lines are indented with tab characters");
  }
  if (!tab_lines.empty()) return;  // kubectl stops at the first one; so do we, for this file

  std::vector<YAML::Node> documents;
  try {
    if (auto stuck = StuckParserProbe::find(text)) {
      const size_t pos = static_cast<size_t>(std::max(stuck->pos, 0));
      const std::string token = pos < text.size() ? quote(text.substr(pos, 1)) : "end of input";
      error(file, stuck->line + 1,
            "YAML syntax: unexpected " + token + " where a document should start (column " +
                std::to_string(stuck->column + 1) + ")");
      return;
    }
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    // At the end of the input yaml-cpp points past the last line; point at the last line.
    const bool past_end = !e.mark.is_null() && e.mark.line + 1 > line_count(text);
    const int line = e.mark.is_null() ? 0 : past_end ? line_count(text) : e.mark.line + 1;
    std::string message = "YAML syntax: " + e.msg;
    if (past_end) {
      message += " (at the end of the file)";
    } else if (!e.mark.is_null()) {
      message += " (column " + std::to_string(e.mark.column + 1) + ")";
    }
    error(file, line, message);
    return;
  } catch (const std::exception& e) {
    error(file, 0, std::string("YAML: ") + e.what());
    return;
  }
  for (const YAML::Node& root : documents) {
    if (!root.IsDefined() || root.IsNull()) continue;  // empty document, e.g. a trailing ---
    const int line = root.Mark().is_null() ? 0 : root.Mark().line + 1;
    const size_t first_error = result_.errors.size();
    const size_t first_warning = result_.warnings.size();
    try {
      if (auto problem = ExpansionCheck().run(root)) {
        error(file, line, *problem);
        continue;
      }
      add_document(root, file);
    } catch (const std::exception& e) {  // a yaml-cpp surprise: report, never crash
      error(file, line, std::string("internal error while reading this document: ") + e.what());
    }
    sort_by_line(&result_.errors, first_error);
    sort_by_line(&result_.warnings, first_warning);
  }
}

void Loader::add_document(const YAML::Node& root, const std::string& file, bool in_list) {
  const int line = root.Mark().is_null() ? 0 : root.Mark().line + 1;
  Document doc(file, &result_.errors, &result_.warnings);
  if (!root.IsMap()) {
    doc.error_at(line, std::string("a Kubernetes object must be a YAML mapping (apiVersion, "
                                   "kind, metadata, ...), not ") +
                           (root.IsSequence() ? "a list" : "a scalar value"));
    return;
  }
  auto top = doc.fields(Field{root, "", line, true});
  if (!top) return;

  // Name the object in every diagnostic, even those about apiVersion and kind.
  const std::string peeked_kind = scalar_text(root["kind"]);
  const KindInfo* known = find_kind(group_of(scalar_text(root["apiVersion"])), peeked_kind);
  if (!peeked_kind.empty()) {
    const ObjectMeta peeked = peek_meta(root, known, peeked_kind);
    doc.set_object(peeked.name.empty() ? peeked_kind : object_ref(peeked_kind, peeked));
  }
  std::string api_version, kind;
  const Field api_field = top->get("apiVersion");
  const bool have_api = doc.read_required_string(api_field, &api_version);
  const bool have_kind = doc.read_required_string(top->get("kind"), &kind);
  if (!have_api || !have_kind) return;

  if (api_version == "v1" && kind == "List") {
    if (in_list) {
      doc.error_at(line, "a List inside a List is not supported");
    } else {
      add_list(doc, *top, file);
    }
    return;
  }
  if (known != nullptr && !serves(*known, api_version)) {
    doc.invalid(api_field, quote(api_version),
                "no matches for kind " + quote(kind) + " in version " + quote(api_version) +
                    "; served versions: " + served_api_versions(*known));
    return;
  }
  ObjectMeta meta;
  read_metadata(doc, *top, known, kind, &meta);
  const SourceRef src{file, line};
  if (known != nullptr) {
    const size_t slash = api_version.find('/');
    const std::string_view version = slash == std::string::npos
                                         ? std::string_view(api_version)
                                         : std::string_view(api_version).substr(slash + 1);
    add_known(doc, *top, *known, version, std::move(meta), src);
    return;
  }
  std::string message = "kind " + kind + " (apiVersion " + api_version +
                        ") is not handled by this version of Portico; ignored";
  if (const KindInfo* same_name = find_kind_any_group(kind)) {
    message += " (did you mean apiVersion " + served_api_version(*same_name) + "?)";
  }
  doc.warning_at(line, message);
  result_.objects.others.push_back(OtherObject{api_version, kind, std::move(meta), src});
}

// `kubectl get -o yaml` prints several objects as a v1 List: each item is one object.
void Loader::add_list(Document& doc, FieldMap& top, const std::string& file) {
  for (const Field& item : doc.items(top.get("items"))) add_document(item.node, file, true);
  top.known({"metadata"});
  top.warn_unknown();
}

void Loader::add_known(Document& doc, FieldMap& top, const KindInfo& k, std::string_view version,
                       ObjectMeta meta, SourceRef src) {
  ObjectSet& set = result_.objects;
  switch (k.id) {
    case KindId::kNodeConfig:
      set.node_configs.push_back(NodeConfig{.meta = std::move(meta), .src = std::move(src)});
      decode_node_config(doc, top, &set.node_configs.back());
      break;
    case KindId::kIPAddressPool:
      set.pools.push_back(IPAddressPool{.meta = std::move(meta), .src = std::move(src)});
      pool_entry_lines_.emplace_back();
      decode_ip_address_pool(doc, top, &set.pools.back(), &pool_entry_lines_.back());
      break;
    case KindId::kL2Advertisement:
      set.l2_advertisements.push_back(
          L2Advertisement{.meta = std::move(meta), .src = std::move(src)});
      decode_l2_advertisement(doc, top, &set.l2_advertisements.back());
      break;
    case KindId::kService:
      set.services.push_back(Service{.meta = std::move(meta), .src = std::move(src)});
      decode_service(doc, top, &set.services.back());
      break;
    case KindId::kNamespace:
      set.namespaces.push_back(Namespace{.meta = std::move(meta), .src = std::move(src)});
      decode_namespace(doc, top, &set.namespaces.back());
      break;
    case KindId::kEndpointSlice:
      set.endpoint_slices.push_back(EndpointSlice{.meta = std::move(meta), .src = std::move(src)});
      decode_endpoint_slice(doc, top, &set.endpoint_slices.back());
      break;
    case KindId::kGatewayClass:
      set.gateway_classes.push_back(GatewayClass{.meta = std::move(meta), .src = std::move(src)});
      decode_gateway_class(doc, top, &set.gateway_classes.back());
      break;
    case KindId::kGateway:
      set.gateways.push_back(Gateway{.meta = std::move(meta), .src = std::move(src)});
      decode_gateway(doc, top, &set.gateways.back());
      break;
    case KindId::kHTTPRoute:
      set.http_routes.push_back(HttpRoute{.meta = std::move(meta), .src = std::move(src)});
      decode_http_route(doc, top, &set.http_routes.back());
      break;
    case KindId::kReferenceGrant:
      set.reference_grants.push_back(
          ReferenceGrant{.meta = std::move(meta), .src = std::move(src)});
      decode_reference_grant(doc, top, &set.reference_grants.back());
      break;
    case KindId::kBGPPeer:
      set.bgp_peers.push_back(BGPPeer{.meta = std::move(meta), .src = std::move(src)});
      decode_bgp_peer(doc, top, version, &set.bgp_peers.back(), &bgp_lines_.peers.emplace_back());
      break;
    case KindId::kBGPAdvertisement:
      set.bgp_advertisements.push_back(
          BGPAdvertisement{.meta = std::move(meta), .src = std::move(src)});
      decode_bgp_advertisement(doc, top, &set.bgp_advertisements.back(),
                               &bgp_lines_.advertisements.emplace_back());
      break;
    case KindId::kCommunity:
      set.communities.push_back(Community{.meta = std::move(meta), .src = std::move(src)});
      decode_community(doc, top, &set.communities.back(), &bgp_lines_.communities.emplace_back());
      break;
    case KindId::kSecret:
      set.secrets.push_back(Secret{.meta = std::move(meta), .src = std::move(src)});
      decode_secret(doc, top, &set.secrets.back(), &bgp_lines_.secrets.emplace_back());
      break;
  }
  top.warn_unknown();
}

LoadResult Loader::finish() {
  check_object_set(result_.objects, pool_entry_lines_, bgp_lines_, &result_.errors,
                   &result_.warnings);
  return std::move(result_);
}

}  // namespace

LoadResult load(const std::vector<std::string>& paths) {
  Loader loader;
  try {
    for (const std::string& p : paths) loader.add_path(p);
    return loader.finish();
  } catch (const std::exception& e) {  // std::bad_alloc and friends: still no throw
    LoadResult r;
    r.errors.push_back(
        Diagnostic{"", 0, "", std::string("cannot load configuration: ") + e.what()});
    return r;
  }
}

LoadResult load_text(const std::string& text, const std::string& name) {
  Loader loader;
  try {
    loader.add_text(text, name);
    return loader.finish();
  } catch (const std::exception& e) {
    LoadResult r;
    r.errors.push_back(
        Diagnostic{name, 0, "", std::string("cannot load configuration: ") + e.what()});
    return r;
  }
}

LoadResult load_texts(const std::vector<SourceText>& texts) {
  Loader loader;
  try {
    for (const SourceText& t : texts) loader.add_text(t.text, t.name);
    return loader.finish();
  } catch (const std::exception& e) {
    LoadResult r;
    r.errors.push_back(Diagnostic{"", 0, "", std::string("cannot load configuration: ") + e.what()});
    return r;
  }
}

}  // namespace config
