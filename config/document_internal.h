// Reading one YAML document as a typed Kubernetes object, private to config/.
//
// A Document wraps one parsed YAML document with the file it came from and the object it names,
// and gives typed access to its fields. Every read checks the YAML type of the value; every
// problem becomes a Diagnostic with the file, the 1-based line and the field path, worded as the
// API server words it ("spec.ports[0].port: Invalid value: "abc": must be of type integer").
// Fields nobody asked for become "unknown field" warnings, as kubectl prints them.
//
// loader.cc implements this API and drives the documents; the per-kind decoders and the
// cross-object rules (validation.cc) are written against it. Control thread only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/loader.h"
#include "config/objects.h"

namespace config {

// One value of a document: its node, its field path ("spec.ports[0].port") and the line to point
// at (the key's line for mapping entries, the item's line for sequence items).
struct Field {
  YAML::Node node;
  std::string path;
  int line = 0;
  bool written = false;  // false when the key is absent

  // Written with a value other than null (`key:` and `key: ~` count as absent, as in JSON).
  bool present() const { return written && !node.IsNull(); }
};

// The kind of a YAML scalar as YAML 1.1 (go-yaml, hence kubectl) resolves it: quoted scalars are
// strings; plain ones may be null, booleans (true, yes, on...), integers or floats.
enum class ScalarType : uint8_t { kNull, kBool, kInt, kFloat, kString };
ScalarType scalar_type(const YAML::Node& node);

// Go's %q for messages: "text" with quotes, backslashes and control characters escaped.
std::string quote(std::string_view text);

class Document;

// The entries of one mapping. Keys are checked once (strings, no duplicates) and merge keys
// ("<<: *base") are expanded; get() marks a key as known so that warn_unknown() can report the
// rest.
class FieldMap {
 public:
  Field get(std::string_view key);
  // Fields of the upstream schema that Portico accepts and does not use: no warning for them.
  void known(std::initializer_list<std::string_view> keys);
  void warn_unknown();
  // Every entry as (key, field), all marked known: for maps with free-form keys (labels).
  std::vector<std::pair<std::string, Field>> entries();

 private:
  friend class Document;
  struct Entry {
    std::string key;
    YAML::Node value;
    int line = 0;
    bool used = false;
  };
  FieldMap(Document* doc, Field self) : doc_(doc), self_(std::move(self)) {}

  Document* doc_;
  Field self_;
  std::vector<Entry> entries_;
};

class Document {
 public:
  Document(std::string file, std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings)
      : file_(std::move(file)), errors_(errors), warnings_(warnings) {}

  const std::string& file() const { return file_; }
  // "Kind/namespace/name" of the object, once known; diagnostics carry it.
  void set_object(std::string object_ref) { object_ = std::move(object_ref); }

  // Diagnostics. The field forms prefix the message with the field path.
  void error_at(int line, std::string message);
  void warning_at(int line, std::string message);
  void error(const Field& f, const std::string& message) {
    error_at(f.line, f.path + ": " + message);
  }
  void warning(const Field& f, const std::string& message) {
    warning_at(f.line, f.path + ": " + message);
  }

  // The Kubernetes field error types (k8s.io/apimachinery/pkg/util/validation/field).
  void required(const Field& f, const std::string& detail = "");
  // `shown` is the value as printed: quote(text) for strings, digits for numbers.
  void invalid(const Field& f, const std::string& shown, const std::string& detail);
  void unsupported(const Field& f, std::string_view value, std::initializer_list<const char*> ok);
  void duplicate(const Field& f, const std::string& shown, const std::string& detail = "");
  void forbidden(const Field& f, const std::string& detail);

  // Typed reads. An absent or null field leaves *out unchanged and returns false silently; a value
  // of the wrong YAML type is reported and returns false. True means *out holds the value.
  bool read_string(const Field& f, std::string* out);
  // A non-empty string; "Required value" when absent, null or empty.
  bool read_required_string(const Field& f, std::string* out);
  bool read_bool(const Field& f, bool* out);
  bool read_bool(const Field& f, std::optional<bool>* out);
  bool read_int(const Field& f, int64_t min, int64_t max, int64_t* out);
  template <typename T>
  bool read_int(const Field& f, int64_t min, int64_t max, T* out) {
    int64_t v = 0;
    if (!read_int(f, min, max, &v)) return false;
    *out = static_cast<T>(v);
    return true;
  }
  // Items that are not strings are reported and skipped.
  bool read_string_list(const Field& f, std::vector<std::string>* out);

  // The items of a sequence (empty, with an error, if the value is not a sequence).
  std::vector<Field> items(const Field& f);
  // The entries of a mapping (nullopt, with an error, if the value is not a mapping).
  std::optional<FieldMap> fields(const Field& f);
  // The YAML type of a value as the message names it: "object", "array", "string"...
  static const char* type_name(const YAML::Node& node);
  // A value as an "Invalid value" shows it: quoted text for scalars, its type otherwise.
  static std::string shown(const YAML::Node& node);

 private:
  friend class FieldMap;
  void type_error(const Field& f, const char* expected);
  void add_entries(const Field& f, const YAML::Node& map, int depth, FieldMap* m,
                   std::unordered_map<std::string, int>* seen);

  std::string file_;
  std::string object_;
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
  size_t error_count_ = 0;
  size_t warning_count_ = 0;
};

// ---- pieces shared by the decoders (validation.cc) ----

// metadata.labels / annotations / a selector's matchLabels: a string map checked with the
// Kubernetes rules for label keys and values (annotations: keys only).
void read_labels(Document& doc, const Field& f, Labels* out);
void read_annotations(Document& doc, const Field& f, std::map<std::string, std::string>* out);
// A metav1.LabelSelector (matchLabels, matchExpressions) with the API server's checks.
void read_label_selector(Document& doc, const Field& f, LabelSelector* out);
// A list of selectors; identical selectors are refused as MetalLB does.
void read_label_selectors(Document& doc, const Field& f, std::vector<LabelSelector>* out);

// ---- per-kind decoders (validation.cc) ----
// The loader has read apiVersion, kind and metadata; each decoder reads the rest of `top` and
// reports what is wrong through `doc`.

void decode_node_config(Document& doc, FieldMap& top, NodeConfig* out);
// *entry_lines gets the line of each spec.addresses entry (cross-object messages point there).
void decode_ip_address_pool(Document& doc, FieldMap& top, IPAddressPool* out,
                            std::vector<int>* entry_lines);
void decode_l2_advertisement(Document& doc, FieldMap& top, L2Advertisement* out);
void decode_service(Document& doc, FieldMap& top, Service* out);
void decode_endpoint_slice(Document& doc, FieldMap& top, EndpointSlice* out);
void decode_namespace(Document& doc, FieldMap& top, Namespace* out);

// metadata.creationTimestamp (RFC 3339) as Unix seconds (gateway.cc).
void read_creation_timestamp(Document& doc, const Field& f, int64_t* out);

// gateway.networking.k8s.io kinds (gateway.cc): the standard-channel CRD schema, its defaults and
// its CEL rules.
void decode_gateway_class(Document& doc, FieldMap& top, GatewayClass* out);
void decode_gateway(Document& doc, FieldMap& top, Gateway* out);
void decode_http_route(Document& doc, FieldMap& top, HttpRoute* out);
void decode_reference_grant(Document& doc, FieldMap& top, ReferenceGrant* out);

// A string list whose items must be distinct: a duplicate is reported at its line and left out;
// `kept` (if set) sees each item that is kept, before it is appended (validation.cc).
void read_unique_strings(Document& doc, const Field& f, std::vector<std::string>* out,
                         const std::function<void(const Field& item)>& kept = {});

// ---- BGP kinds (bgp.cc) ----

// Lines of the fields that rules across objects point at, by field path ("spec.peers[1]"),
// recorded by the decoders; the object's own line stands in for a path not recorded.
struct FieldLines {
  std::map<std::string, int> lines;
  void note(const Field& f) {
    if (f.written) lines[f.path] = f.line;
  }
  int at(const std::string& path, int fallback) const {
    auto it = lines.find(path);
    return it == lines.end() ? fallback : it->second;
  }
};

// The Secret type and the key length BGP passwords need (TCP_MD5SIG_MAXKEYLEN, RFC 2385 keys).
constexpr const char* kBasicAuthSecretType = "kubernetes.io/basic-auth";
constexpr size_t kMaxTcpMd5KeyBytes = 80;

// One FieldLines per object, parallel to the ObjectSet's lists of the BGP kinds.
struct BgpFieldLines {
  std::vector<FieldLines> peers, advertisements, communities, secrets;
};

// metallb.io BGPPeer at `version` ("v1beta2", or "v1beta1" with its smaller field set: the
// fields v1beta1 lacks are unknown fields there), BGPAdvertisement and Community (v1beta1), and
// core/v1 Secret. Checks of one object only; references are checked by check_object_set.
void decode_bgp_peer(Document& doc, FieldMap& top, std::string_view version, BGPPeer* out,
                     FieldLines* lines);
void decode_bgp_advertisement(Document& doc, FieldMap& top, BGPAdvertisement* out,
                              FieldLines* lines);
void decode_community(Document& doc, FieldMap& top, Community* out, FieldLines* lines);
void decode_secret(Document& doc, FieldMap& top, Secret* out, FieldLines* lines);

// Why `text` is not a community value, in MetalLB's words ("invalid community value: ..."),
// or nullopt when parse_bgp_community accepts it. *alias_shaped is set when the text has neither
// shape (two fields AA:NN, four fields large:A:B:C): MetalLB then takes it for the name of a
// Community alias rather than a malformed value.
std::optional<std::string> bgp_community_error(const std::string& text, bool* alias_shaped);

// ---- rules across objects (validation.cc) ----

// Duplicate objects, duplicate pool names, overlapping pool entries, pools holding the node's
// own addresses, references to missing pools or interfaces, and the BGP rules that span objects
// (duplicate peers, password Secrets, community aliases, aggregation lengths against the pools,
// conflicting localPref). `pool_entry_lines` is parallel to objects.pools (one line per
// spec.addresses entry); `bgp_lines` to the BGP lists.
void check_object_set(const ObjectSet& objects,
                      const std::vector<std::vector<int>>& pool_entry_lines,
                      const BgpFieldLines& bgp_lines, std::vector<Diagnostic>* errors,
                      std::vector<Diagnostic>* warnings);

}  // namespace config
