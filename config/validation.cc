// Validation: the rules an API server or MetalLB's webhook applies, and the per-kind decoders.
//
// Three parts, all control-thread code with no I/O:
//  * text rules (config/rules_internal.h): Kubernetes name and label syntax with its own messages
//    (k8s.io/apimachinery/pkg/util/validation), DPDK lcore lists, Linux interface names, and the
//    scan for tab-indented YAML lines;
//  * decoders (config/document_internal.h): NodeConfig, IPAddressPool, L2Advertisement, Service,
//    Namespace and EndpointSlice, each reading its fields through a Document and checking them as
//    the upstream validation does (core/v1 ValidateService, discovery/v1 ValidateEndpointSlice,
//    MetalLB internal/config/config.go);
//  * rules across objects: duplicates, overlapping pools, pools holding node addresses, and the
//    BGP rules MetalLB applies across objects (config.go peersFor, passwordFromSecretForPeer,
//    communitiesFromCrs, validateBGPAdvPerPool, validateDuplicateBGPAdvertisements); the BGP
//    kinds themselves are decoded in bgp.cc.
#include <algorithm>
#include <cctype>
#include <iterator>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "config/document_internal.h"
#include "config/duration.h"
#include "config/lcores.h"
#include "config/rules_internal.h"

namespace config {

// A string list whose items must be distinct (document_internal.h).
void read_unique_strings(Document& doc, const Field& f, std::vector<std::string>* out,
                         const std::function<void(const Field& item)>& kept) {
  std::map<std::string, std::string> seen;  // value -> path of its first occurrence
  for (const Field& item : doc.items(f)) {
    std::string s;
    if (!doc.read_string(item, &s)) {
      if (!item.present()) doc.invalid(item, "null", "must be of type string");
      continue;
    }
    auto [it, inserted] = seen.emplace(s, item.path);
    if (!inserted) {
      doc.duplicate(item, quote(s), "also " + it->second);
      continue;
    }
    if (kept) kept(item);
    out->push_back(std::move(s));
  }
}

// =================================== text rules ===================================

namespace {

constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kPortNameMaxLength = 15;
constexpr size_t kInterfaceNameMaxLength = 15;  // IFNAMSIZ - 1
constexpr size_t kAnnotationsMaxBytes = 256 * 1024;

constexpr const char* kDns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr const char* kDns1123LabelErrMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character";
constexpr const char* kDns1123SubdomainFmt =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr const char* kDns1123SubdomainErrMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character";
constexpr const char* kDns1035LabelFmt = "[a-z]([-a-z0-9]*[a-z0-9])?";
constexpr const char* kDns1035LabelErrMsg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character";
constexpr const char* kQualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
constexpr const char* kQualifiedNameErrMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character";
constexpr const char* kLabelValueFmt = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
constexpr const char* kLabelValueErrMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// Kubernetes' RegexError: "msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')". The
// double space is upstream's, kept so that messages match kubectl's byte for byte.
std::string regex_error(const char* msg, const char* fmt, std::initializer_list<const char*> eg) {
  std::string out = std::string(msg) + " (e.g. ";
  bool first = true;
  for (const char* e : eg) {
    if (!first) out += " or ";
    out += std::string("'") + e + "', ";
    first = false;
  }
  return out + "regex used for validation is '" + fmt + "')";
}

std::string max_len_error(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool matches_dns1123_label(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool matches_dns1123_subdomain(std::string_view s) {
  while (true) {
    const size_t dot = s.find('.');
    if (!matches_dns1123_label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool matches_qualified_name_part(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> dns1123_label_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123LabelMaxLength)
    errors.push_back(max_len_error(kDns1123LabelMaxLength));
  if (!matches_dns1123_label(value)) {
    if (matches_dns1123_subdomain(value)) {
      errors.push_back("must not contain dots");
    } else {
      errors.push_back(regex_error(kDns1123LabelErrMsg, kDns1123LabelFmt, {"my-name", "123-abc"}));
    }
  }
  return errors;
}

std::vector<std::string> dns1123_subdomain_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength) {
    errors.push_back(max_len_error(kDns1123SubdomainMaxLength));
  }
  if (!matches_dns1123_subdomain(value)) {
    errors.push_back(regex_error(kDns1123SubdomainErrMsg, kDns1123SubdomainFmt, {"example.com"}));
  }
  return errors;
}

std::vector<std::string> dns1035_label_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123LabelMaxLength)
    errors.push_back(max_len_error(kDns1123LabelMaxLength));
  const bool ok = matches_dns1123_label(value) && value.front() >= 'a' && value.front() <= 'z';
  if (!ok) {
    errors.push_back(regex_error(kDns1035LabelErrMsg, kDns1035LabelFmt, {"my-name", "abc-123"}));
  }
  return errors;
}

std::vector<std::string> qualified_name_errors(std::string_view value) {
  std::vector<std::string> errors;
  const auto name_regex_error = [] {
    return regex_error(kQualifiedNameErrMsg, kQualifiedNameFmt, {"MyName", "my.name", "123-abc"});
  };
  std::string_view name = value;
  const size_t slash = value.find('/');
  if (slash != std::string_view::npos) {
    if (value.find('/', slash + 1) != std::string_view::npos) {
      errors.push_back("a qualified name " + name_regex_error() +
                       " with an optional DNS subdomain prefix and '/' (e.g. "
                       "'example.com/MyName')");
      return errors;
    }
    const std::string_view prefix = value.substr(0, slash);
    name = value.substr(slash + 1);
    if (prefix.empty()) {
      errors.push_back("prefix part must be non-empty");
    } else {
      for (const std::string& m : dns1123_subdomain_errors(prefix)) {
        errors.push_back("prefix part " + m);
      }
    }
  }
  if (name.empty()) {
    errors.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errors.push_back("name part " + max_len_error(kQualifiedNameMaxLength));
  }
  if (!matches_qualified_name_part(name)) errors.push_back("name part " + name_regex_error());
  return errors;
}

std::vector<std::string> label_value_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kLabelValueMaxLength) errors.push_back(max_len_error(kLabelValueMaxLength));
  if (!value.empty() && !matches_qualified_name_part(value)) {
    errors.push_back(
        regex_error(kLabelValueErrMsg, kLabelValueFmt, {"MyValue", "my_value", "12345"}));
  }
  return errors;
}

std::vector<std::string> port_name_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kPortNameMaxLength) errors.push_back(max_len_error(kPortNameMaxLength));
  if (value.empty() || !std::all_of(value.begin(), value.end(),
                                    [](char c) { return is_lower_alnum(c) || c == '-'; })) {
    errors.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    errors.push_back("must contain at least one letter (a-z)");
  }
  if (value.find("--") != std::string_view::npos) {
    errors.push_back("must not contain consecutive hyphens");
  }
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    errors.push_back("must not begin or end with a hyphen");
  }
  return errors;
}

// IsConfigMapKey, which Secret data keys follow.
std::vector<std::string> config_key_errors(std::string_view value) {
  std::vector<std::string> errors;
  if (value.size() > kDns1123SubdomainMaxLength) {
    errors.push_back(max_len_error(kDns1123SubdomainMaxLength));
  }
  const bool chars_ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
  });
  if (!chars_ok) {
    errors.push_back(
        regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                    "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  }
  if (value == ".") {
    errors.push_back("must not be '.'");
  } else if (value == "..") {
    errors.push_back("must not be '..'");
  } else if (value.substr(0, 2) == "..") {
    errors.push_back("must not start with '..'");
  }
  return errors;
}

std::string join_messages(const std::vector<std::string>& messages) {
  std::string out;
  for (const std::string& m : messages) out += (out.empty() ? "" : "; ") + m;
  return out;
}

std::optional<std::string> interface_name_error(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kInterfaceNameMaxLength) {
    return max_len_error(kInterfaceNameMaxLength) + " (Linux IFNAMSIZ)";
  }
  if (name == "." || name == "..") return "must not be \".\" or \"..\"";
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f) {
      return "must not contain '/', ':', spaces or control characters";
    }
  }
  return std::nullopt;
}

// ---- tabs in indentation ----

namespace {

// Where a block scalar (| or >) runs: lines more indented than its parent are its content.
struct BlockScalar {
  bool active = false;
  int parent_indent = 0;
};

bool is_header_token(std::string_view t) {
  if (t.empty() || (t[0] != '|' && t[0] != '>') || t.size() > 3) return false;
  return std::all_of(t.begin() + 1, t.end(),
                     [](char c) { return c == '-' || c == '+' || (c >= '1' && c <= '9'); });
}

// Column of the node a line's value belongs to: after the indentation and any "- " markers.
size_t node_column(std::string_view line, size_t indent) {
  size_t i = indent;
  while (i + 1 < line.size() && line[i] == '-' && line[i + 1] == ' ') {
    i += 1;
    while (i < line.size() && line[i] == ' ') ++i;
  }
  return i;
}

// If the line ends with a block scalar header ("key: |", "- >-", "--- |", "key: !!str |2 # c"),
// returns the parent indentation of the scalar.
std::optional<int> block_scalar_parent(std::string_view line, size_t indent) {
  std::string_view content = line.substr(indent);
  if (content.empty() || content[0] == '#') return std::nullopt;
  for (size_t i = 1; i < content.size(); ++i) {
    if (content[i] == '#' && (content[i - 1] == ' ' || content[i - 1] == '\t')) {
      content = content.substr(0, i);
      break;
    }
  }
  content = trim(content);
  size_t cut = content.find_last_of(" \t");
  std::string_view token = cut == std::string_view::npos ? content : content.substr(cut + 1);
  if (!is_header_token(token)) return std::nullopt;
  std::string_view before = cut == std::string_view::npos ? "" : trim(content.substr(0, cut));
  // Skip a tag or an anchor between the indicator and what it belongs to.
  while (!before.empty()) {
    cut = before.find_last_of(" \t");
    const std::string_view last = cut == std::string_view::npos ? before : before.substr(cut + 1);
    if (last[0] != '!' && last[0] != '&') break;
    before = cut == std::string_view::npos ? "" : trim(before.substr(0, cut));
  }
  if (before.empty()) return static_cast<int>(indent) - 1;
  if (before == "---") return -1;
  if (before.back() == ':') return static_cast<int>(node_column(line, indent));
  if (before.back() == '-' && (before.size() == 1 || before[before.size() - 2] == ' ')) {
    return static_cast<int>(indent + before.size() - 1);  // "- |": the last dash
  }
  return std::nullopt;
}

bool is_document_marker(std::string_view line) {
  if (line.substr(0, 3) != "---" && line.substr(0, 3) != "...") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t';
}

// A tab in the white space after a "- " sequence marker is indentation too ("-\tname: x").
bool tab_after_sequence_marker(std::string_view line, size_t indent) {
  size_t i = indent;
  while (i + 1 < line.size() && line[i] == '-' && (line[i + 1] == ' ' || line[i + 1] == '\t')) {
    ++i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      if (line[i] == '\t') return true;
      ++i;
    }
  }
  return false;
}

bool line_has_tab_indentation(std::string_view line, BlockScalar* block) {
  const size_t first_other = line.find_first_not_of(" \t");
  const bool blank = first_other == std::string_view::npos;
  const size_t indent_end = blank ? line.size() : first_other;
  const size_t first_tab = line.substr(0, indent_end).find('\t');
  const size_t spaces = std::min(line.find_first_not_of(' '), line.size());
  if (block->active) {
    const bool ends =
        !blank && (static_cast<int>(spaces) <= block->parent_indent || is_document_marker(line));
    if (!ends) {
      // Content of the scalar: only a tab at or left of the parent's column is indentation.
      return blank && first_tab != std::string_view::npos &&
             static_cast<int>(first_tab) <= block->parent_indent;
    }
    block->active = false;
  }
  if (first_tab != std::string_view::npos) return true;
  if (blank) return false;
  if (auto parent = block_scalar_parent(line, indent_end)) {
    block->active = true;
    block->parent_indent = *parent;
  }
  return tab_after_sequence_marker(line, indent_end);
}

}  // namespace

std::vector<int> tab_indented_lines(std::string_view text) {
  std::vector<int> lines;
  BlockScalar block;
  int number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++number;
    if (line_has_tab_indentation(line, &block)) lines.push_back(number);
    pos = end + 1;
  }
  return lines;
}

// ============================== shared decoding pieces ==============================

namespace {

// The entries of a list item that must be an object (a bare "-" is reported).
std::optional<FieldMap> item_fields(Document& doc, const Field& item) {
  if (!item.present()) {
    doc.invalid(item, "null", "must be of type object");
    return std::nullopt;
  }
  return doc.fields(item);
}


const char* const kInvalidIpMessage =
    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";

// An IP address field; nullopt when absent or invalid (both reported).
std::optional<IpAddress> read_ip(Document& doc, const Field& f) {
  std::string text;
  if (!doc.read_string(f, &text)) {
    if (!f.present()) doc.required(f);
    return std::nullopt;
  }
  auto ip = IpAddress::parse(text);
  if (!ip) doc.invalid(f, quote(text), kInvalidIpMessage);
  return ip;
}

bool one_of(std::string_view v, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

constexpr std::initializer_list<const char*> kProtocols = {"SCTP", "TCP", "UDP"};

void read_protocol(Document& doc, const Field& f, std::string* out) {
  std::string v;
  if (!doc.read_string(f, &v)) return;
  if (!one_of(v, kProtocols)) {
    doc.unsupported(f, v, kProtocols);
    return;
  }
  *out = v;
}

// Canonical text of a selector for duplicate checks (values sorted, as MetalLB compares them).
std::string canonical(LabelSelector s) {
  for (auto& r : s.match_expressions) std::sort(r.values.begin(), r.values.end());
  return s.str();
}

void read_requirement(Document& doc, const Field& item, LabelSelectorRequirement* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  const Field key = m->get("key");
  if (doc.read_required_string(key, &out->key)) {
    auto errors = qualified_name_errors(out->key);
    if (!errors.empty()) doc.invalid(key, quote(out->key), join_messages(errors));
  }
  const Field op = m->get("operator");
  static constexpr std::initializer_list<const char*> kOps = {"DoesNotExist", "Exists", "In",
                                                              "NotIn"};
  if (doc.read_required_string(op, &out->op) && !one_of(out->op, kOps)) {
    doc.unsupported(op, out->op, kOps);
  }
  const Field values = m->get("values");
  read_unique_strings(doc, values, &out->values);
  for (const std::string& v : out->values) {
    auto errors = label_value_errors(v);
    if (!errors.empty()) doc.invalid(values, quote(v), join_messages(errors));
  }
  if ((out->op == "In" || out->op == "NotIn") && out->values.empty()) {
    doc.required(values, "must be specified when `operator` is 'In' or 'NotIn'");
  }
  if ((out->op == "Exists" || out->op == "DoesNotExist") && !out->values.empty()) {
    doc.forbidden(values, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
  }
  m->warn_unknown();
}

}  // namespace

void read_labels(Document& doc, const Field& f, Labels* out) {
  auto m = doc.fields(f);
  if (!m) return;
  for (const auto& [key, entry] : m->entries()) {
    // As the API server, errors name the map ("metadata.labels"), at the entry's line.
    const Field at{entry.node, f.path, entry.line, true};
    auto key_errors = qualified_name_errors(key);
    if (!key_errors.empty()) doc.invalid(at, quote(key), join_messages(key_errors));
    std::string value;
    if (!doc.read_string(entry, &value) && entry.present()) continue;
    auto value_errors = label_value_errors(value);
    if (!value_errors.empty()) doc.invalid(at, quote(value), join_messages(value_errors));
    (*out)[key] = value;
  }
}

void read_annotations(Document& doc, const Field& f, std::map<std::string, std::string>* out) {
  auto m = doc.fields(f);
  if (!m) return;
  size_t total = 0;
  for (const auto& [key, entry] : m->entries()) {
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto key_errors = qualified_name_errors(lower);
    if (!key_errors.empty()) {
      doc.invalid(Field{entry.node, f.path, entry.line, true}, quote(key),
                  join_messages(key_errors));
    }
    std::string value;
    if (!doc.read_string(entry, &value) && entry.present()) continue;
    total += key.size() + value.size();
    (*out)[key] = std::move(value);
  }
  if (total > kAnnotationsMaxBytes) {
    doc.error(f, "Too long: must have at most " + std::to_string(kAnnotationsMaxBytes) + " bytes");
  }
}

void read_label_selector(Document& doc, const Field& f, LabelSelector* out) {
  auto m = item_fields(doc, f);
  if (!m) return;
  read_labels(doc, m->get("matchLabels"), &out->match_labels);
  std::map<std::string, std::string> seen;  // canonical requirement -> path
  for (const Field& item : doc.items(m->get("matchExpressions"))) {
    LabelSelectorRequirement r;
    read_requirement(doc, item, &r);
    LabelSelector one;
    one.match_expressions.push_back(r);
    auto [it, inserted] = seen.emplace(canonical(one), item.path);
    if (!inserted) doc.duplicate(item, quote(it->first), "also " + it->second);
    out->match_expressions.push_back(std::move(r));
  }
  m->warn_unknown();
}

void read_label_selectors(Document& doc, const Field& f, std::vector<LabelSelector>* out) {
  std::map<std::string, std::string> seen;  // canonical selector -> path
  for (const Field& item : doc.items(f)) {
    LabelSelector s;
    read_label_selector(doc, item, &s);
    auto [it, inserted] = seen.emplace(canonical(s), item.path);
    if (!inserted) doc.duplicate(item, quote(it->first), "also " + it->second);
    out->push_back(std::move(s));
  }
}

// ================================= NodeConfig =================================

namespace {

void read_dpdk(Document& doc, const Field& f, NodeConfig::Dpdk* out) {
  auto m = doc.fields(f);
  if (!m) return;
  const Field lcores = m->get("lcores");
  if (doc.read_string(lcores, &out->lcores)) {
    std::string error;
    auto list = parse_lcore_list(out->lcores, &error);
    if (!list) {
      doc.invalid(lcores, quote(out->lcores), error);
    } else if (list->ids.size() < 2) {
      doc.invalid(lcores, quote(out->lcores),
                  "at least two lcores: the first is the control thread, the others run workers");
    }
  }
  doc.read_int(m->get("memoryMB"), 64, UINT32_MAX, &out->memory_mb);
  doc.read_bool(m->get("hugepages"), &out->hugepages);
  doc.read_string_list(m->get("extraArgs"), &out->extra_args);
  doc.read_int(m->get("mbufs"), 1023, UINT32_MAX, &out->mbufs);
  doc.read_int(m->get("idleSleepUs"), 0, 100000, &out->idle_sleep_us);
  m->warn_unknown();
}

void read_tap_name(Document& doc, const Field& f, std::string* out) {
  if (!doc.read_string(f, out)) return;
  if (auto error = interface_name_error(*out)) doc.invalid(f, quote(*out), *error);
}

// Values that must be unique across interfaces: value -> path of its first use.
struct InterfaceUniques {
  std::map<std::string, std::string> names, taps, addresses;
};

// False (reported) when `value` was seen before.
bool check_unique(Document& doc, const Field& f, std::map<std::string, std::string>* seen,
                  const std::string& value) {
  auto [it, inserted] = seen->emplace(value, f.path);
  if (!inserted) doc.duplicate(f, quote(value), "also " + it->second);
  return inserted;
}

void read_interface_addresses(Document& doc, const Field& f, InterfaceUniques* uniques,
                              NodeInterface* out) {
  for (const Field& item : doc.items(f)) {
    std::string text;
    if (!doc.read_string(item, &text)) continue;
    auto prefix = IpPrefix::parse(text);
    if (!prefix) {
      doc.invalid(item, quote(text),
                  "must be an IP address with its prefix length (e.g. 198.51.100.10/24 or "
                  "2001:db8:100::10/64)");
      continue;
    }
    if (prefix->address.is_unspecified() || prefix->address.is_multicast()) {
      doc.invalid(item, quote(text), "must not be an unspecified or multicast address");
      continue;
    }
    if (check_unique(doc, item, &uniques->addresses, prefix->address.str())) {
      out->addresses.push_back(*prefix);
    }
  }
}

// Interface 0 uses spec.exception.tap as it is; interface i > 0 gets the same name with its
// trailing number replaced by i ("portico0" -> "portico1"), or i appended when there is none.
std::string default_tap_name(const std::string& base, size_t index) {
  if (index == 0) return base;
  size_t stem = base.size();
  while (stem > 0 && std::isdigit(static_cast<unsigned char>(base[stem - 1]))) --stem;
  return base.substr(0, stem) + std::to_string(index);
}

void read_interface(Document& doc, const Field& item, size_t index, const std::string& base_tap,
                    InterfaceUniques* uniques, NodeInterface* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  const Field name = m->get("name");
  if (doc.read_required_string(name, &out->name)) {
    auto errors = dns1123_label_errors(out->name);
    if (!errors.empty()) doc.invalid(name, quote(out->name), join_messages(errors));
    check_unique(doc, name, &uniques->names, out->name);
  }
  doc.read_required_string(m->get("device"), &out->device);
  read_interface_addresses(doc, m->get("addresses"), uniques, out);
  const Field mtu = m->get("mtu");
  doc.read_int(mtu, 68, 9000, &out->mtu);
  const bool has_v6 = std::any_of(out->addresses.begin(), out->addresses.end(),
                                  [](const IpPrefix& p) { return p.address.is_v6(); });
  if (has_v6 && out->mtu < 1280) {
    doc.invalid(mtu, std::to_string(out->mtu),
                "must be at least 1280 on an interface with IPv6 addresses (RFC 8200)");
  }
  const Field tap = m->get("tap");
  if (tap.present()) {
    read_tap_name(doc, tap, &out->tap);
  } else {
    out->tap = default_tap_name(base_tap, index);
    if (auto error = interface_name_error(out->tap)) {
      doc.invalid(Field{YAML::Node(), tap.path, item.line, false}, quote(out->tap),
                  "the default tap name (spec.exception.tap numbered by index) " + *error +
                      "; set the tap name explicitly");
    }
  }
  if (!out->tap.empty()) check_unique(doc, tap.present() ? tap : item, &uniques->taps, out->tap);
  m->warn_unknown();
}

void read_interfaces(Document& doc, const Field& f, const std::string& base_tap,
                     std::vector<NodeInterface>* out) {
  if (!f.present() || (f.node.IsSequence() && f.node.size() == 0)) {
    doc.required(f, "at least one interface");
    return;
  }
  InterfaceUniques uniques;
  const std::vector<Field> items = doc.items(f);
  for (size_t i = 0; i < items.size(); ++i) {
    NodeInterface iface;
    read_interface(doc, items[i], i, base_tap, &uniques, &iface);
    out->push_back(std::move(iface));
  }
}

bool on_link(const std::vector<NodeInterface>& interfaces, const IpAddress& a) {
  for (const NodeInterface& i : interfaces) {
    for (const IpPrefix& p : i.addresses) {
      if (p.contains(a)) return true;
    }
  }
  return false;
}

void read_route(Document& doc, const Field& item, const std::vector<NodeInterface>& interfaces,
                std::map<std::string, std::string>* destinations, std::vector<NodeRoute>* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  NodeRoute route;
  const Field dest = m->get("destination");
  std::string text;
  bool ok = doc.read_required_string(dest, &text);
  if (ok) {
    auto prefix = IpPrefix::parse(text);
    if (!prefix) {
      doc.invalid(dest, quote(text), "must be a CIDR (e.g. 0.0.0.0/0 or 2001:db8::/32)");
      ok = false;
    } else if (prefix->network() != prefix->address) {
      doc.invalid(dest, quote(text),
                  "host bits are set; did you mean " +
                      IpPrefix{prefix->network(), prefix->length}.str() + "?");
      ok = false;
    } else {
      route.destination = *prefix;
      check_unique(doc, dest, destinations, prefix->str());
    }
  }
  const Field gateway = m->get("gateway");
  auto gw = read_ip(doc, gateway);
  m->warn_unknown();
  if (!ok || !gw) return;
  if (gw->family() != route.destination.address.family()) {
    doc.invalid(gateway, quote(gw->str()),
                std::string("is ") + family_name(gw->family()) + " but the destination is " +
                    family_name(route.destination.address.family()));
    return;
  }
  route.gateway = *gw;
  if (!on_link(interfaces, *gw)) {
    doc.warning(gateway, "gateway " + gw->str() + " is not in the subnet of any interface address");
  }
  out->push_back(route);
}

void read_snat_addresses(Document& doc, const Field& f, std::vector<IpAddress>* out) {
  std::map<std::string, std::string> seen;
  for (const Field& item : doc.items(f)) {
    auto ip = read_ip(doc, item);
    if (!ip) continue;
    if (ip->is_unspecified() || ip->is_multicast()) {
      doc.invalid(item, quote(ip->str()), "must not be an unspecified or multicast address");
      continue;
    }
    if (check_unique(doc, item, &seen, ip->str())) out->push_back(*ip);
  }
}

// Maglev needs a prime table size (Eisenbud et al. §3.4): 65537 by default, 101 at least so that
// a handful of endpoints still get fair shares, 1000003 at most (one table per service port).
constexpr int64_t kMinMaglevTableSize = 101;
constexpr int64_t kMaxMaglevTableSize = 1000003;
constexpr int64_t kMaxConnectionsPerLcore = 16777216;
// Idle timeouts and neighbor timers: more than zero, at most a week.
constexpr uint64_t kMaxDurationMs = 7ULL * 24 * 3600 * 1000;
constexpr const char* kDurationSyntax =
    "must be a duration such as \"500ms\", \"30s\", \"15m\" or \"1h30m\" (whole milliseconds), "
    "or an integer number of seconds";

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d <= n / d; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

// A duration (config/duration.h syntax) or an integer number of seconds, in milliseconds, in
// (0, kMaxDurationMs]. *out is left unchanged when absent or invalid (reported).
void read_duration(Document& doc, const Field& f, uint64_t* out) {
  if (!f.present()) return;
  const ScalarType t = f.node.IsScalar() ? scalar_type(f.node) : ScalarType::kNull;
  uint64_t ms = 0;
  if (t == ScalarType::kInt) {
    int64_t seconds = 0;
    if (!doc.read_int(f, INT64_MIN, INT64_MAX, &seconds)) return;
    if (seconds > 0) {
      const auto s = static_cast<uint64_t>(seconds);
      ms = s > kMaxDurationMs / 1000 ? kMaxDurationMs + 1 : s * 1000;
    }
  } else if (t == ScalarType::kString) {
    const std::string text = f.node.Scalar();
    const bool negative = !text.empty() && text.front() == '-';  // out of range, not malformed
    if (!negative && !parse_duration_ms(text, &ms)) {
      doc.invalid(f, quote(text), kDurationSyntax);
      return;
    }
  } else {
    doc.invalid(f, Document::shown(f.node), kDurationSyntax);
    return;
  }
  if (ms == 0 || ms > kMaxDurationMs) {
    doc.invalid(
        f, Document::shown(f.node),
        "must be greater than 0 and at most " + format_duration_ms(kMaxDurationMs) + " (7 days)");
    return;
  }
  *out = ms;
}

void read_timeouts(Document& doc, const Field& f, NodeConfig::LoadBalancer::Timeouts* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_duration(doc, m->get("tcpSyn"), &out->tcp_syn_ms);
  read_duration(doc, m->get("tcpEstablished"), &out->tcp_established_ms);
  read_duration(doc, m->get("tcpClosing"), &out->tcp_closing_ms);
  read_duration(doc, m->get("udp"), &out->udp_ms);
  m->warn_unknown();
}

void read_load_balancer(Document& doc, const Field& f, NodeConfig::LoadBalancer* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_snat_addresses(doc, m->get("snatAddresses"), &out->snat_addresses);
  const Field maglev = m->get("maglevTableSize");
  uint32_t size = 0;
  if (doc.read_int(maglev, kMinMaglevTableSize, kMaxMaglevTableSize, &size)) {
    if (is_prime(size)) {
      out->maglev_table_size = size;
    } else {
      doc.invalid(maglev, std::to_string(size),
                  "must be a prime number (the size of a Maglev lookup table), e.g. 65537");
    }
  }
  doc.read_int(m->get("connectionsPerLcore"), 1, kMaxConnectionsPerLcore,
               &out->connections_per_lcore);
  read_timeouts(doc, m->get("timeouts"), &out->timeouts);
  m->warn_unknown();
}

void read_neighbors(Document& doc, const Field& f, NodeConfig::Neighbors* out) {
  auto m = doc.fields(f);
  if (!m) return;
  doc.read_int(m->get("capacity"), 16, 1048576, &out->capacity);
  read_duration(doc, m->get("reachableTime"), &out->reachable_ms);
  read_duration(doc, m->get("retransmitTime"), &out->retransmit_ms);
  doc.read_int(m->get("maxProbes"), 1, 10, &out->max_probes);
  m->warn_unknown();
}

// A mapping whose fields are all strings: name -> destination.
void read_string_fields(Document& doc, const Field& f,
                        std::initializer_list<std::pair<const char*, std::string*>> fields) {
  auto m = doc.fields(f);
  if (!m) return;
  for (const auto& [name, out] : fields) doc.read_string(m->get(name), out);
  m->warn_unknown();
}

void read_kubernetes(Document& doc, const Field& f, NodeConfig::Kubernetes* out) {
  auto m = doc.fields(f);
  if (!m) return;
  doc.read_string(m->get("kubeconfig"), &out->kubeconfig);
  doc.read_string(m->get("context"), &out->context);
  if (auto le = doc.fields(m->get("leaderElection"))) {
    auto& o = out->leader_election;
    const Field ns = le->get("leaseNamespace"), name = le->get("leaseName");
    doc.read_string(ns, &o.lease_namespace);
    doc.read_string(name, &o.lease_name);
    doc.read_string(le->get("identity"), &o.identity);
    if (ns.present() && !dns1123_label_errors(o.lease_namespace).empty())
      doc.invalid(ns, quote(o.lease_namespace), "must be a DNS-1123 label (a namespace name)");
    if (name.present() && !dns1123_subdomain_errors(o.lease_name).empty())
      doc.invalid(name, quote(o.lease_name), "must be a DNS-1123 subdomain (an object name)");
    const Field dur = le->get("leaseDuration"), renew = le->get("renewDeadline"),
                retry = le->get("retryPeriod");
    read_duration(doc, dur, &o.lease_duration_ms);
    read_duration(doc, renew, &o.renew_deadline_ms);
    read_duration(doc, retry, &o.retry_period_ms);
    // client-go's constraints: a leader must give up before another may take over, and it
    // must get several tries (with 1.2 jitter) at renewing within the deadline.
    if (o.lease_duration_ms <= o.renew_deadline_ms) {
      doc.error(dur.present() ? dur : renew,
                "leaseDuration (" +
                    format_duration_ms(o.lease_duration_ms) +
                    ") must be longer than renewDeadline (" +
                    format_duration_ms(o.renew_deadline_ms) + ")");
    } else if (o.renew_deadline_ms * 10 <= o.retry_period_ms * 12) {
      doc.error(renew.present() ? renew : retry,
                "renewDeadline (" +
                    format_duration_ms(o.renew_deadline_ms) +
                    ") must be longer than 1.2 x retryPeriod (" +
                    format_duration_ms(o.retry_period_ms) + ")");
    }
    le->warn_unknown();
  }
  m->warn_unknown();
}

}  // namespace

void decode_node_config(Document& doc, FieldMap& top, NodeConfig* out) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.interfaces is required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  read_dpdk(doc, spec->get("dpdk"), &out->dpdk);
  if (auto exception = doc.fields(spec->get("exception"))) {
    read_tap_name(doc, exception->get("tap"), &out->exception.tap);
    exception->warn_unknown();
  }
  read_interfaces(doc, spec->get("interfaces"), out->exception.tap, &out->interfaces);
  std::map<std::string, std::string> destinations;
  for (const Field& item : doc.items(spec->get("routes"))) {
    read_route(doc, item, out->interfaces, &destinations, &out->routes);
  }
  read_load_balancer(doc, spec->get("loadBalancer"), &out->load_balancer);
  read_neighbors(doc, spec->get("neighbors"), &out->neighbors);
  if (auto api = doc.fields(spec->get("api"))) {
    doc.read_string(api->get("grpc"), &out->api.grpc);
    doc.read_string(api->get("metrics"), &out->api.metrics);
    doc.read_string(api->get("stateDir"), &out->api.state_dir);
    read_string_fields(doc, api->get("tls"),
                       {{"certFile", &out->api.tls.cert_file},
                        {"keyFile", &out->api.tls.key_file},
                        {"clientCAFile", &out->api.tls.client_ca_file}});
    api->warn_unknown();
  }
  read_kubernetes(doc, spec->get("kubernetes"), &out->kubernetes);
  spec->warn_unknown();
}

// =============================== metallb.io/v1beta1 ===============================

namespace {

void read_pool_addresses(Document& doc, const Field& f, IPAddressPool* out,
                         std::vector<int>* lines) {
  if (!f.present() || (f.node.IsSequence() && f.node.size() == 0)) {
    doc.required(f, "a pool needs at least one CIDR or range");
    return;
  }
  for (const Field& item : doc.items(f)) {
    std::string text;
    if (!doc.read_string(item, &text)) {
      if (!item.present()) doc.invalid(item, "null", "must be of type string");
      continue;
    }
    std::string error;
    auto range = IpRange::parse_pool_entry(text, &error);
    if (!range) {
      doc.invalid(item, quote(text), error);
      continue;
    }
    out->addresses.push_back(PoolEntry{text, *range});
    lines->push_back(item.line);
  }
}

void read_service_allocation(Document& doc, const Field& f, IPAddressPool* out) {
  auto m = doc.fields(f);
  if (!m) return;
  ServiceAllocation sa;
  doc.read_int(m->get("priority"), INT32_MIN, INT32_MAX, &sa.priority);
  read_unique_strings(doc, m->get("namespaces"), &sa.namespaces);
  read_label_selectors(doc, m->get("namespaceSelectors"), &sa.namespace_selectors);
  read_label_selectors(doc, m->get("serviceSelectors"), &sa.service_selectors);
  m->warn_unknown();
  out->service_allocation = std::move(sa);
}

}  // namespace

void decode_ip_address_pool(Document& doc, FieldMap& top, IPAddressPool* out,
                            std::vector<int>* entry_lines) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.addresses is required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  read_pool_addresses(doc, spec->get("addresses"), out, entry_lines);
  doc.read_bool(spec->get("autoAssign"), &out->auto_assign);
  doc.read_bool(spec->get("avoidBuggyIPs"), &out->avoid_buggy_ips);
  read_service_allocation(doc, spec->get("serviceAllocation"), out);
  spec->warn_unknown();
}

void decode_l2_advertisement(Document& doc, FieldMap& top, L2Advertisement* out) {
  top.known({"status"});
  auto spec = doc.fields(top.get("spec"));  // no spec: every pool, every node, every interface
  if (!spec) return;
  read_unique_strings(doc, spec->get("ipAddressPools"), &out->ip_address_pools);
  read_label_selectors(doc, spec->get("ipAddressPoolSelectors"), &out->ip_address_pool_selectors);
  read_label_selectors(doc, spec->get("nodeSelectors"), &out->node_selectors);
  read_label_selectors(doc, spec->get("serviceSelectors"), &out->service_selectors);
  read_unique_strings(doc, spec->get("interfaces"), &out->interfaces);
  const Field preferred = spec->get("preferredNodeSelectors");
  if (preferred.present())
    doc.warning(preferred, "not supported by this version of Portico; ignored");
  spec->warn_unknown();
}

// ===================================== core/v1 =====================================

void decode_namespace(Document& /*doc*/, FieldMap& top, Namespace* /*out*/) {
  top.known({"spec", "status"});
}

namespace {

constexpr std::initializer_list<const char*> kServiceTypes = {"ClusterIP", "ExternalName",
                                                              "LoadBalancer", "NodePort"};

void read_target_port(Document& doc, const Field& f, std::string* out) {
  if (!f.present()) return;
  const ScalarType t = f.node.IsScalar() ? scalar_type(f.node) : ScalarType::kNull;
  if (t == ScalarType::kInt) {
    int64_t port = 0;
    if (doc.read_int(f, 0, 65535, &port) && port != 0) *out = std::to_string(port);
    return;
  }
  if (t != ScalarType::kString) {
    doc.invalid(f, Document::shown(f.node), "must be an integer or a string");
    return;
  }
  const std::string name = f.node.Scalar();
  if (name.empty()) return;  // defaulted to the port, as the API server does
  auto errors = port_name_errors(name);
  if (!errors.empty()) doc.invalid(f, quote(name), join_messages(errors));
  *out = name;
}

struct PortUniques {
  std::map<std::string, std::string> names;
  std::map<std::string, std::string> protocol_ports;  // "80/TCP" -> path
};

void read_service_port(Document& doc, const Field& item, bool require_name, const Service& svc,
                       PortUniques* uniques, ServicePort* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  const Field name = m->get("name");
  doc.read_string(name, &out->name);
  if (out->name.empty() && require_name) {
    doc.required(name, "every port needs a name when a Service has more than one port");
  } else if (!out->name.empty()) {
    auto errors = dns1123_label_errors(out->name);
    if (!errors.empty()) doc.invalid(name, quote(out->name), join_messages(errors));
    check_unique(doc, name, &uniques->names, out->name);
  }
  read_protocol(doc, m->get("protocol"), &out->protocol);
  const Field port = m->get("port");
  if (!port.present()) {
    doc.required(port);
  } else if (doc.read_int(port, 1, 65535, &out->port)) {
    check_unique(doc, item, &uniques->protocol_ports,
                 std::to_string(out->port) + "/" + out->protocol);
  }
  read_target_port(doc, m->get("targetPort"), &out->target_port);
  const Field node_port = m->get("nodePort");
  if (doc.read_int(node_port, 0, 65535, &out->node_port) && out->node_port != 0 &&
      svc.type != "NodePort" && svc.type != "LoadBalancer") {
    doc.forbidden(node_port, "may not be used when `type` is '" + svc.type + "'");
  }
  m->known({"appProtocol"});
  m->warn_unknown();
}

void read_service_ports(Document& doc, const Field& f, Service* out) {
  const std::vector<Field> items = doc.items(f);
  PortUniques uniques;
  for (const Field& item : items) {
    ServicePort p;
    read_service_port(doc, item, items.size() > 1, *out, &uniques, &p);
    out->ports.push_back(std::move(p));
  }
}

// spec.clusterIP and spec.clusterIPs, which must agree; "None" alone means headless.
void read_cluster_ips(Document& doc, FieldMap& spec, Service* out) {
  const Field single = spec.get("clusterIP");
  std::string cluster_ip;
  doc.read_string(single, &cluster_ip);
  const Field list = spec.get("clusterIPs");
  const std::vector<Field> items = doc.items(list);
  std::vector<Field> ip_fields;
  for (const Field& item : items) {
    std::string s;
    if (doc.read_string(item, &s)) {
      out->cluster_ips.push_back(s);
      ip_fields.push_back(item);
    }
  }
  if (out->cluster_ips.empty() && !cluster_ip.empty()) {
    out->cluster_ips.push_back(cluster_ip);
    ip_fields.push_back(single);
  } else if (!cluster_ip.empty() && out->cluster_ips[0] != cluster_ip) {
    doc.invalid(ip_fields[0], quote(out->cluster_ips[0]), "must be same as spec.clusterIP");
  }
  if (out->cluster_ips.size() > 2) {
    doc.error(list, "Too many: " + std::to_string(out->cluster_ips.size()) +
                        ": must have at most 2 items (one per IP family)");
  }
  std::optional<IpFamily> previous;
  for (size_t i = 0; i < out->cluster_ips.size(); ++i) {
    const std::string& s = out->cluster_ips[i];
    if (s == "None" || s.empty()) {
      if (out->cluster_ips.size() > 1) {
        doc.invalid(ip_fields[i], quote(s),
                    "must be a valid IP address when more than one is given");
      }
      continue;
    }
    auto ip = IpAddress::parse(s);
    if (!ip) {
      doc.invalid(ip_fields[i], quote(s), kInvalidIpMessage);
    } else if (previous && *previous == ip->family()) {
      doc.invalid(ip_fields[i], quote(s), "may specify no more than one IP for each IP family");
    } else {
      previous = ip->family();
    }
  }
}

void read_ip_families(Document& doc, FieldMap& spec, Service* out) {
  const Field list = spec.get("ipFamilies");
  std::vector<Field> items = doc.items(list);
  if (items.size() > 2) {
    doc.error(list, "Too many: " + std::to_string(items.size()) + ": must have at most 2 items");
  }
  for (size_t i = 0; i < items.size(); ++i) {
    std::string v;
    if (!doc.read_string(items[i], &v)) continue;
    if (v != "IPv4" && v != "IPv6") {
      doc.unsupported(items[i], v, {"IPv4", "IPv6"});
      continue;
    }
    const IpFamily family = v == "IPv4" ? IpFamily::kIPv4 : IpFamily::kIPv6;
    if (std::find(out->ip_families.begin(), out->ip_families.end(), family) !=
        out->ip_families.end()) {
      doc.duplicate(items[i], quote(v));
      continue;
    }
    // Each clusterIP belongs to the family at the same index.
    if (i < out->cluster_ips.size()) {
      auto ip = IpAddress::parse(out->cluster_ips[i]);
      if (ip && ip->family() != family) {
        doc.invalid(items[i], quote(v),
                    "does not match the family of spec.clusterIPs[" + std::to_string(i) + "] (" +
                        out->cluster_ips[i] + ")");
      }
    }
    out->ip_families.push_back(family);
  }
  const Field policy = spec.get("ipFamilyPolicy");
  std::string p;
  if (!doc.read_string(policy, &p)) return;
  static constexpr std::initializer_list<const char*> kPolicies = {
      "PreferDualStack", "RequireDualStack", "SingleStack"};
  if (!one_of(p, kPolicies)) {
    doc.unsupported(policy, p, kPolicies);
    return;
  }
  out->ip_family_policy = p == "SingleStack"       ? IpFamilyPolicy::kSingleStack
                          : p == "PreferDualStack" ? IpFamilyPolicy::kPreferDualStack
                                                   : IpFamilyPolicy::kRequireDualStack;
  out->ip_family_policy_set = true;
  if (p == "SingleStack" && (out->ip_families.size() > 1 || out->cluster_ips.size() > 1)) {
    doc.invalid(policy, quote(p),
                "must be RequireDualStack or PreferDualStack when multiple IP families are "
                "specified");
  }
}

void read_service_type_fields(Document& doc, FieldMap& spec, Service* out) {
  const Field type = spec.get("type");
  std::string t;
  if (doc.read_string(type, &t)) {
    if (one_of(t, kServiceTypes)) {
      out->type = t;
    } else {
      doc.unsupported(type, t, kServiceTypes);
    }
  }
  const Field lb_class = spec.get("loadBalancerClass");
  std::string cls;
  if (doc.read_string(lb_class, &cls)) {
    auto errors = qualified_name_errors(cls);
    if (!errors.empty()) doc.invalid(lb_class, quote(cls), join_messages(errors));
    if (out->type != "LoadBalancer") {
      doc.forbidden(lb_class, "may only be used when `type` is 'LoadBalancer'");
    }
    out->load_balancer_class = cls;
  }
  doc.read_string(spec.get("loadBalancerIP"), &out->load_balancer_ip);
}

void read_external_traffic_policy(Document& doc, FieldMap& spec, Service* out) {
  const Field etp = spec.get("externalTrafficPolicy");
  std::string v;
  if (!doc.read_string(etp, &v)) return;
  if (v != "Cluster" && v != "Local") {
    doc.unsupported(etp, v, {"Cluster", "Local"});
    return;
  }
  const Field external_ips = spec.get("externalIPs");
  const bool has_external_ips =
      external_ips.present() && external_ips.node.IsSequence() && external_ips.node.size() > 0;
  if (out->type != "LoadBalancer" && out->type != "NodePort" && !has_external_ips) {
    doc.invalid(etp, quote(v), "may only be set for externally-accessible services");
    return;
  }
  out->external_traffic_policy = v;
}

// Portico's own admission rule for its annotation on Services (see control/services.h).
constexpr const char* kForwardingModeAnnotation = "portico.io/forwarding-mode";
constexpr std::initializer_list<const char*> kForwardingModes = {"dsr", "ipip", "nat"};

// metadata.annotations[key] as a Field, at the key's line. read_annotations has read the map
// already (with its diagnostics), so the YAML is looked at directly; the metadata line stands in
// when the key cannot be found there (written through a merge key).
Field annotation_field(FieldMap& top, const std::string& key) {
  const Field meta = top.get("metadata");
  Field out{YAML::Node(), "metadata.annotations[" + key + "]", meta.line, true};
  if (!meta.node.IsMap()) return out;
  for (const auto& m : meta.node) {
    if (!m.first.IsScalar() || m.first.Scalar() != "annotations" || !m.second.IsMap()) continue;
    for (const auto& a : m.second) {
      if (a.first.IsScalar() && a.first.Scalar() == key && !a.first.Mark().is_null()) {
        out.node = a.second;
        out.line = a.first.Mark().line + 1;
        return out;  // the first one, as read_annotations keeps it
      }
    }
  }
  return out;
}

void check_forwarding_mode(Document& doc, FieldMap& top, const Service& svc) {
  auto it = svc.meta.annotations.find(kForwardingModeAnnotation);
  if (it == svc.meta.annotations.end() || one_of(it->second, kForwardingModes)) return;
  doc.unsupported(annotation_field(top, kForwardingModeAnnotation), it->second, kForwardingModes);
}

void read_service_status(Document& doc, const Field& f, Service* out) {
  auto status = doc.fields(f);
  if (!status) return;
  if (auto lb = doc.fields(status->get("loadBalancer"))) {
    for (const Field& item : doc.items(lb->get("ingress"))) {
      auto entry = item_fields(doc, item);
      if (!entry) continue;
      const Field ip = entry->get("ip");
      if (ip.present()) {
        if (auto a = read_ip(doc, ip)) out->status_ingress.push_back(*a);
      }
      entry->known({"hostname", "ipMode", "ports"});
      entry->warn_unknown();
    }
    lb->warn_unknown();
  }
  status->known({"conditions"});
  status->warn_unknown();
}

}  // namespace

void decode_service(Document& doc, FieldMap& top, Service* out) {
  check_forwarding_mode(doc, top, *out);
  read_service_status(doc, top.get("status"), out);
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.ports is required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  read_service_type_fields(doc, *spec, out);
  read_cluster_ips(doc, *spec, out);
  read_ip_families(doc, *spec, out);
  read_external_traffic_policy(doc, *spec, out);
  const Field ports = spec->get("ports");
  read_service_ports(doc, ports, out);
  const bool headless = out->cluster_ips.size() == 1 && out->cluster_ips[0] == "None";
  if (out->ports.empty() && !headless && out->type != "ExternalName") doc.required(ports);
  read_labels(doc, spec->get("selector"), &out->selector);
  spec->known({"sessionAffinity", "sessionAffinityConfig", "externalIPs", "externalName",
               "loadBalancerSourceRanges", "healthCheckNodePort", "publishNotReadyAddresses",
               "internalTrafficPolicy", "allocateLoadBalancerNodePorts", "trafficDistribution",
               "topologyKeys"});
  spec->warn_unknown();
}

// ============================== discovery.k8s.io/v1 ==============================

namespace {

constexpr size_t kMaxEndpoints = 1000;
constexpr size_t kMaxAddressesPerEndpoint = 100;
constexpr size_t kMaxEndpointPorts = 20000;

void check_endpoint_address(Document& doc, const Field& f, const std::string& type,
                            const std::string& address) {
  if (type == "FQDN") {
    auto errors = dns1123_subdomain_errors(address);
    if (!errors.empty()) doc.invalid(f, quote(address), join_messages(errors));
    return;
  }
  auto ip = IpAddress::parse(address);
  const bool want_v4 = type == "IPv4";
  if (!ip || ip->is_v4() != want_v4) {
    doc.invalid(f, quote(address),
                std::string("must be a valid ") + (want_v4 ? "IPv4" : "IPv6") + " address");
  }
}

void read_endpoint(Document& doc, const Field& item, const std::string& address_type,
                   Endpoint* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  const Field addresses = m->get("addresses");
  const std::vector<Field> items = doc.items(addresses);
  if (items.empty()) doc.required(addresses, "must contain at least 1 address");
  if (items.size() > kMaxAddressesPerEndpoint) {
    doc.error(addresses, "Too many: " + std::to_string(items.size()) + ": must have at most " +
                             std::to_string(kMaxAddressesPerEndpoint) + " items");
  }
  for (const Field& a : items) {
    std::string text;
    if (!doc.read_string(a, &text)) continue;
    if (!address_type.empty()) check_endpoint_address(doc, a, address_type, text);
    out->addresses.push_back(std::move(text));
  }
  if (auto c = doc.fields(m->get("conditions"))) {
    doc.read_bool(c->get("ready"), &out->conditions.ready);
    doc.read_bool(c->get("serving"), &out->conditions.serving);
    doc.read_bool(c->get("terminating"), &out->conditions.terminating);
    c->warn_unknown();
  }
  const Field node_name = m->get("nodeName");
  if (doc.read_string(node_name, &out->node_name) && !out->node_name.empty()) {
    auto errors = dns1123_subdomain_errors(out->node_name);
    if (!errors.empty()) doc.invalid(node_name, quote(out->node_name), join_messages(errors));
  }
  const Field hostname = m->get("hostname");
  if (doc.read_string(hostname, &out->hostname) && !out->hostname.empty()) {
    auto errors = dns1123_label_errors(out->hostname);
    if (!errors.empty()) doc.invalid(hostname, quote(out->hostname), join_messages(errors));
  }
  doc.read_string(m->get("zone"), &out->zone);
  m->known({"targetRef", "deprecatedTopology", "hints"});
  m->warn_unknown();
}

void read_endpoint_port(Document& doc, const Field& item, std::map<std::string, std::string>* names,
                        EndpointPort* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  const Field name = m->get("name");
  if (doc.read_string(name, &out->name) && !out->name.empty()) {
    auto errors = dns1123_label_errors(out->name);
    if (!errors.empty()) doc.invalid(name, quote(out->name), join_messages(errors));
  }
  check_unique(doc, name.present() ? name : item, names, out->name);
  read_protocol(doc, m->get("protocol"), &out->protocol);
  doc.read_int(m->get("port"), 1, 65535, &out->port);
  doc.read_string(m->get("appProtocol"), &out->app_protocol);
  m->warn_unknown();
}

}  // namespace

void decode_endpoint_slice(Document& doc, FieldMap& top, EndpointSlice* out) {
  const Field type = top.get("addressType");
  if (doc.read_required_string(type, &out->address_type) &&
      !one_of(out->address_type, {"FQDN", "IPv4", "IPv6"})) {
    doc.unsupported(type, out->address_type, {"FQDN", "IPv4", "IPv6"});
    out->address_type.clear();
  }
  const Field endpoints = top.get("endpoints");
  const std::vector<Field> items = doc.items(endpoints);
  if (items.size() > kMaxEndpoints) {
    doc.error(endpoints, "Too many: " + std::to_string(items.size()) + ": must have at most " +
                             std::to_string(kMaxEndpoints) + " items");
  }
  for (const Field& item : items) {
    Endpoint e;
    read_endpoint(doc, item, out->address_type, &e);
    out->endpoints.push_back(std::move(e));
  }
  const Field ports = top.get("ports");
  const std::vector<Field> port_items = doc.items(ports);
  if (port_items.size() > kMaxEndpointPorts) {
    doc.error(ports, "Too many: " + std::to_string(port_items.size()) + ": must have at most " +
                         std::to_string(kMaxEndpointPorts) + " items");
  }
  std::map<std::string, std::string> names;
  for (const Field& item : port_items) {
    EndpointPort p;
    read_endpoint_port(doc, item, &names, &p);
    out->ports.push_back(std::move(p));
  }
  auto it = out->meta.labels.find("kubernetes.io/service-name");
  if (it != out->meta.labels.end()) out->service_name = it->second;
}

// =============================== rules across objects ===============================

namespace {

// Diagnostics the rules across objects may add, each list: past this, one line says so.
constexpr size_t kMaxSetDiagnostics = 100;

// ---- selectors that may select the same node ----

// What the requirements of two selectors together say about one label key.
struct KeyConstraint {
  bool must_exist = false;
  bool must_not_exist = false;
  std::optional<std::set<std::string>> allowed;  // intersection of In sets and matchLabels values
  std::set<std::string> excluded;                // NotIn values
};

void restrict_to(KeyConstraint* k, std::set<std::string> values) {
  if (!k->allowed) {
    k->allowed = std::move(values);
    return;
  }
  std::set<std::string> both;
  std::set_intersection(k->allowed->begin(), k->allowed->end(), values.begin(), values.end(),
                        std::inserter(both, both.begin()));
  k->allowed = std::move(both);
}

// Whether some set of labels matches both selectors. Every requirement constrains one key and
// label values are unbounded, so deciding key by key is exact: two selectors are disjoint only
// when some key can satisfy both of them with no value (app=a vs app=b, Exists vs DoesNotExist,
// In (a) vs NotIn (a)...).
bool jointly_satisfiable(const LabelSelector& a, const LabelSelector& b) {
  std::map<std::string, KeyConstraint> keys;
  for (const LabelSelector* s : {&a, &b}) {
    for (const auto& [key, value] : s->match_labels) {
      keys[key].must_exist = true;
      restrict_to(&keys[key], {value});
    }
    for (const LabelSelectorRequirement& r : s->match_expressions) {
      KeyConstraint& k = keys[r.key];
      if (r.op == "In") {
        k.must_exist = true;
        restrict_to(&k, std::set<std::string>(r.values.begin(), r.values.end()));
      } else if (r.op == "NotIn") {
        k.excluded.insert(r.values.begin(), r.values.end());
      } else if (r.op == "Exists") {
        k.must_exist = true;
      } else if (r.op == "DoesNotExist") {
        k.must_not_exist = true;
      }
    }
  }
  for (const auto& entry : keys) {
    const KeyConstraint& k = entry.second;  // (clang 14 cannot capture a structured binding)
    if (k.must_exist && k.must_not_exist) return false;
    if (k.allowed && std::all_of(k.allowed->begin(), k.allowed->end(),
                                 [&](const std::string& v) { return k.excluded.count(v) != 0; })) {
      return false;
    }
  }
  return true;
}

// Whether two nodeSelectors lists (any selector of a list; empty = every node) may both select
// one node. Decided from the selectors alone, not from the NodeConfigs loaded: the same objects
// serve every node of a cluster.
bool selectors_may_overlap(const std::vector<LabelSelector>& a,
                           const std::vector<LabelSelector>& b) {
  static const std::vector<LabelSelector> kEveryNode{LabelSelector{}};
  const auto& x = a.empty() ? kEveryNode : a;
  const auto& y = b.empty() ? kEveryNode : b;
  for (const LabelSelector& s : x) {
    for (const LabelSelector& t : y) {
      if (jointly_satisfiable(s, t)) return true;
    }
  }
  return false;
}

// The shortest prefix length among the CIDRs that summarise a range (MetalLB's lowestMask of
// ipaddr.Summarize): the widest block an advertisement's aggregation must not exceed.
int widest_prefix(const IpRange& r) {
  const int bits = r.first.bit_length();
  int widest = bits;
  IpAddress cur = r.first;
  while (true) {
    int len = bits;
    for (int l = 0; l < bits; ++l) {
      if (cur.masked(l) == cur && cur.last_in_prefix(l) <= r.last) {
        len = l;
        break;
      }
    }
    widest = std::min(widest, len);
    const IpAddress end = cur.last_in_prefix(len);
    if (end >= r.last) return widest;
    bool wrapped = false;
    cur = end.next(&wrapped);
    if (wrapped) return widest;
  }
}

std::string sorted_joined(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  std::string out;
  for (const std::string& s : items) out += s + '\x1f';
  return out;
}

std::string canonical_list(const std::vector<LabelSelector>& selectors) {
  std::vector<std::string> texts;
  for (const LabelSelector& s : selectors) texts.push_back(canonical(s));
  return sorted_joined(std::move(texts));
}

// The spec of an advertisement with its defaults, order-free: equal texts, identical objects.
std::string canonical_spec(const BGPAdvertisement& ad) {
  return std::to_string(ad.aggregation_length) + "/" + std::to_string(ad.aggregation_length_v6) +
         "|" + (ad.local_pref ? std::to_string(*ad.local_pref) : "-") + "|" +
         sorted_joined(ad.communities) + "|" + sorted_joined(ad.ip_address_pools) + "|" +
         canonical_list(ad.ip_address_pool_selectors) + "|" + canonical_list(ad.node_selectors) +
         "|" + canonical_list(ad.service_selectors) + "|" + sorted_joined(ad.peers);
}

class SetChecker {
 public:
  SetChecker(const ObjectSet& objects, const std::vector<std::vector<int>>& pool_entry_lines,
             const BgpFieldLines& bgp_lines, std::vector<Diagnostic>* errors,
             std::vector<Diagnostic>* warnings)
      : objects_(objects),
        lines_(pool_entry_lines),
        bgp_lines_(bgp_lines),
        errors_(errors),
        warnings_(warnings) {}

  void run() {
    check_duplicate_objects();
    check_duplicate_pool_names();
    sort_pool_entries();
    // Pools holding node addresses are looked up among disjoint ranges: only without overlaps.
    if (!check_pool_overlaps()) check_pools_against_node();
    check_l2_references();
    check_community_aliases();
    check_bgp_peers();
    check_bgp_advertisements();
  }

 private:
  struct EntryRef {
    size_t pool, entry;
    const IpRange* range;
  };

  static std::string where(const SourceRef& src) {
    return src.file + ":" + std::to_string(src.line);
  }

  static void add(std::vector<Diagnostic>* list, size_t* count, Diagnostic d) {
    ++*count;
    if (*count > kMaxSetDiagnostics + 1) return;
    if (*count == kMaxSetDiagnostics + 1) {
      d = Diagnostic{"", 0, "", "too many problems across objects; the rest are not shown"};
    }
    list->push_back(std::move(d));
  }
  void error(Diagnostic d) { add(errors_, &error_count_, std::move(d)); }
  void warning(Diagnostic d) { add(warnings_, &warning_count_, std::move(d)); }

  int entry_line(size_t pool, size_t entry) const {
    if (pool < lines_.size() && entry < lines_[pool].size()) return lines_[pool][entry];
    return objects_.pools[pool].src.line;
  }

  void pool_error(const EntryRef& r, const std::string& message) {
    const IPAddressPool& p = objects_.pools[r.pool];
    error(Diagnostic{p.src.file, entry_line(r.pool, r.entry), object_ref("IPAddressPool", p.meta),
                     "spec.addresses[" + std::to_string(r.entry) + "]: " + message});
  }

  void check_duplicate(const std::string& kind, const std::string& group, const ObjectMeta& meta,
                       const SourceRef& src, std::map<std::string, const SourceRef*>* seen) {
    if (meta.name.empty()) return;  // already an error of its own
    const std::string ref = object_ref(kind, meta);
    auto [it, inserted] = seen->emplace(group + " " + ref, &src);
    if (!inserted) {
      error(Diagnostic{src.file, src.line, ref,
                       "duplicate object: already defined at " + where(*it->second)});
    }
  }

  template <typename T>
  void check_duplicates(const std::vector<T>& list, const char* kind,
                        std::map<std::string, const SourceRef*>* seen) {
    for (const T& o : list) check_duplicate(kind, "", o.meta, o.src, seen);
  }

  void check_duplicate_objects() {
    std::map<std::string, const SourceRef*> seen;
    check_duplicates(objects_.node_configs, "NodeConfig", &seen);
    check_duplicates(objects_.namespaces, "Namespace", &seen);
    check_duplicates(objects_.pools, "IPAddressPool", &seen);
    check_duplicates(objects_.l2_advertisements, "L2Advertisement", &seen);
    check_duplicates(objects_.services, "Service", &seen);
    check_duplicates(objects_.endpoint_slices, "EndpointSlice", &seen);
    check_duplicates(objects_.gateway_classes, "GatewayClass", &seen);
    check_duplicates(objects_.gateways, "Gateway", &seen);
    check_duplicates(objects_.http_routes, "HTTPRoute", &seen);
    check_duplicates(objects_.reference_grants, "ReferenceGrant", &seen);
    check_duplicates(objects_.bgp_peers, "BGPPeer", &seen);
    check_duplicates(objects_.bgp_advertisements, "BGPAdvertisement", &seen);
    check_duplicates(objects_.communities, "Community", &seen);
    check_duplicates(objects_.secrets, "Secret", &seen);
    for (const OtherObject& o : objects_.others) {
      const std::string group = o.api_version.substr(0, o.api_version.find('/'));
      check_duplicate(o.kind, group, o.meta, o.src, &seen);
    }
  }

  // Pools are referenced by name alone (annotations, L2Advertisement), across namespaces.
  void check_duplicate_pool_names() {
    std::map<std::string, const IPAddressPool*> seen;
    for (const IPAddressPool& p : objects_.pools) {
      if (p.meta.name.empty()) continue;
      auto [it, inserted] = seen.emplace(p.meta.name, &p);
      if (!inserted && it->second->meta.namespace_ != p.meta.namespace_) {
        error(Diagnostic{p.src.file, p.src.line, object_ref("IPAddressPool", p.meta),
                         "duplicate definition of pool " + quote(p.meta.name) +
                             " (already defined as " +
                             object_ref("IPAddressPool", it->second->meta) + " at " +
                             where(it->second->src) + ")"});
      }
    }
  }

  static std::string describe(const PoolEntry& e) {
    return (e.text.find('-') == std::string::npos ? "CIDR " : "range ") + e.text;
  }

  // Every pool entry, by family and first address (input order among equals).
  void sort_pool_entries() {
    for (size_t p = 0; p < objects_.pools.size(); ++p) {
      const auto& entries = objects_.pools[p].addresses;
      for (size_t e = 0; e < entries.size(); ++e) sorted_.push_back({p, e, &entries[e].range});
    }
    std::sort(sorted_.begin(), sorted_.end(), [](const EntryRef& a, const EntryRef& b) {
      return std::tie(a.range->first, a.pool, a.entry) < std::tie(b.range->first, b.pool, b.entry);
    });
  }

  // A sweep over the sorted entries: each is compared with the one reaching furthest before it.
  // The entry defined later in the input gets the error, naming the one defined first. Returns
  // whether any entries overlap.
  bool check_pool_overlaps() {
    std::set<std::pair<size_t, size_t>> reported;
    const EntryRef* reach = nullptr;
    for (const EntryRef& r : sorted_) {
      if (reach != nullptr && reach->range->overlaps(*r.range)) {
        const bool r_later = std::tie(r.pool, r.entry) > std::tie(reach->pool, reach->entry);
        const EntryRef& later = r_later ? r : *reach;
        const EntryRef& earlier = r_later ? *reach : r;
        if (reported.insert({later.pool, later.entry}).second) report_overlap(later, earlier);
      }
      if (reach == nullptr || reach->range->family() != r.range->family() ||
          reach->range->last < r.range->last) {
        reach = &r;
      }
    }
    return !reported.empty();
  }

  void report_overlap(const EntryRef& later, const EntryRef& earlier) {
    const IPAddressPool& other = objects_.pools[earlier.pool];
    const PoolEntry& a = objects_.pools[later.pool].addresses[later.entry];
    const PoolEntry& b = other.addresses[earlier.entry];
    pool_error(later, describe(a) + " overlaps with already defined " + describe(b) + " of pool " +
                          other.meta.name + " (" + other.src.file + ":" +
                          std::to_string(entry_line(earlier.pool, earlier.entry)) + ")");
  }

  // As MetalLB refuses a pool holding a node IP; SNAT sources are the node's too.
  void check_pools_against_node() {
    for (const NodeConfig& node : objects_.node_configs) {
      const std::string ref = object_ref("NodeConfig", node.meta);
      for (size_t i = 0; i < node.interfaces.size(); ++i) {
        const auto& addresses = node.interfaces[i].addresses;
        for (size_t a = 0; a < addresses.size(); ++a) {
          check_address_outside_pools(addresses[a].address, "node address",
                                      ref + " spec.interfaces[" + std::to_string(i) +
                                          "].addresses[" + std::to_string(a) + "]");
        }
      }
      const auto& snat = node.load_balancer.snat_addresses;
      for (size_t s = 0; s < snat.size(); ++s) {
        check_address_outside_pools(
            snat[s], "SNAT address",
            ref + " spec.loadBalancer.snatAddresses[" + std::to_string(s) + "]");
      }
    }
  }

  // The entries are disjoint here: only the last one starting at or before `a` can hold it.
  void check_address_outside_pools(const IpAddress& a, const char* what, const std::string& from) {
    auto after =
        std::upper_bound(sorted_.begin(), sorted_.end(), a,
                         [](const IpAddress& x, const EntryRef& r) { return x < r.range->first; });
    if (after == sorted_.begin()) return;
    const EntryRef& r = *std::prev(after);
    if (!r.range->contains(a)) return;
    const PoolEntry& e = objects_.pools[r.pool].addresses[r.entry];
    pool_error(r, describe(e) + " contains the " + what + " " + a.str() + " (" + from + ")");
  }

  void l2_warning(const L2Advertisement& ad, const std::string& message) {
    warning(Diagnostic{ad.src.file, ad.src.line, object_ref("L2Advertisement", ad.meta), message});
  }

  // MetalLB silently skips unknown pools; a warning catches the typo.
  void check_l2_references() {
    std::set<std::string> pools, interfaces;
    for (const IPAddressPool& p : objects_.pools) pools.insert(p.meta.name);
    for (const NodeConfig& n : objects_.node_configs) {
      for (const NodeInterface& i : n.interfaces) interfaces.insert(i.name);
    }
    for (const L2Advertisement& ad : objects_.l2_advertisements) {
      for (const std::string& name : ad.ip_address_pools) {
        if (pools.count(name) == 0) {
          l2_warning(ad, "spec.ipAddressPools: pool " + quote(name) +
                             " is not defined; it is ignored until it is");
        }
      }
      if (objects_.node_configs.empty()) continue;
      for (const std::string& name : ad.interfaces) {
        if (interfaces.count(name) == 0) {
          l2_warning(ad, "spec.interfaces: no interface named " + quote(name) +
                             " in the NodeConfig; nothing is announced on it");
        }
      }
    }
  }

  // ---- BGP ----

  // A diagnostic on a BGP object at the line of `path` (else of its spec, else of the object).
  template <typename T>
  void bgp_report(bool is_error, const char* kind, const T& o,
                  const std::vector<FieldLines>& all_lines, size_t index, const std::string& path,
                  const std::string& message) {
    int line = o.src.line;
    if (index < all_lines.size()) {
      line = all_lines[index].at(path, all_lines[index].at("spec", o.src.line));
    }
    Diagnostic d{o.src.file, line, object_ref(kind, o.meta), path + ": " + message};
    if (is_error) {
      error(std::move(d));
    } else {
      warning(std::move(d));
    }
  }

  int bgp_line(const std::vector<FieldLines>& all_lines, size_t index, const std::string& path,
               const SourceRef& src) const {
    return index < all_lines.size() ? all_lines[index].at(path, src.line) : src.line;
  }

  // Alias names are global (MetalLB reads every Community of its namespace into one table).
  void check_community_aliases() {
    std::map<std::string, std::pair<size_t, size_t>> seen;  // name -> (object, entry)
    for (size_t c = 0; c < objects_.communities.size(); ++c) {
      const Community& co = objects_.communities[c];
      for (size_t a = 0; a < co.communities.size(); ++a) {
        const std::string& name = co.communities[a].name;
        const std::string path = "spec.communities[" + std::to_string(a) + "].name";
        auto [it, inserted] = seen.emplace(name, std::make_pair(c, a));
        if (inserted) {
          aliases_.emplace(name, &co.communities[a].value);
          continue;
        }
        const Community& first = objects_.communities[it->second.first];
        const std::string first_path =
            "spec.communities[" + std::to_string(it->second.second) + "].name";
        bgp_report(true, "Community", co, bgp_lines_.communities, c, path,
                   "duplicate definition of community " + quote(name) + " (already defined by " +
                       object_ref("Community", first.meta) + " at " + first.src.file + ":" +
                       std::to_string(bgp_line(bgp_lines_.communities, it->second.first, first_path,
                                               first.src)) +
                       ")");
      }
    }
  }

  void check_password_secret(size_t index, const BGPPeer& peer,
                             const std::map<std::string, const Secret*>& secrets) {
    const SecretReference& ref = *peer.password_secret;
    const std::string name = ref.namespace_ + "/" + ref.name;
    auto report = [&](bool is_error, const std::string& message) {
      bgp_report(is_error, "BGPPeer", peer, bgp_lines_.peers, index, "spec.passwordSecret",
                 message);
    };
    auto it = secrets.find(name);
    if (it == secrets.end()) {
      report(false, "Secret " + name +
                        " is not loaded; the session does not start until it is (MetalLB treats "
                        "a missing Secret as transient: it may be created later)");
      return;
    }
    const Secret& secret = *it->second;
    const std::string at = " (" + where(secret.src) + ")";
    if (secret.type != kBasicAuthSecretType) {
      report(true, "secret type mismatch on Secret " + name + at + ": type " + quote(secret.type) +
                       ", type " + quote(kBasicAuthSecretType) + " is expected");
      return;
    }
    auto pw = secret.data.find("password");
    if (pw == secret.data.end()) {
      report(true, "password not specified in the secret " + name + at + " (key \"password\")");
    } else if (pw->second.find_first_of("\r\n") != std::string::npos) {
      report(true, "the password in Secret " + name + at + " contains line breaks");
    } else if (pw->second.size() > kMaxTcpMd5KeyBytes) {
      report(true, "the password in Secret " + name + at +
                       " is longer than 80 bytes (the longest TCP-MD5 key Linux takes)");
    }
  }

  void check_bgp_peers() {
    std::map<std::string, const Secret*> secrets;  // namespace/name
    for (const Secret& s : objects_.secrets) {
      secrets.emplace(s.meta.namespace_ + "/" + s.meta.name, &s);
    }
    const auto& peers = objects_.bgp_peers;
    for (size_t i = 0; i < peers.size(); ++i) {
      const BGPPeer& peer = peers[i];
      if (peer.password_secret) check_password_secret(i, peer, secrets);
      if (peer.peer_address.is_unspecified()) continue;  // not given: an error of its own
      // A node runs one session per address and port: two peers that may land on one node
      // cannot both be served (MetalLB's FRR modes refuse them too; native mode only exact
      // duplicates).
      for (size_t j = 0; j < i; ++j) {
        const BGPPeer& other = peers[j];
        if (other.peer_address != peer.peer_address || other.peer_port != peer.peer_port) continue;
        if (other.meta.name == peer.meta.name && other.meta.namespace_ == peer.meta.namespace_) {
          continue;  // a duplicate object, reported as such
        }
        if (!selectors_may_overlap(peer.node_selectors, other.node_selectors)) continue;
        bgp_report(true, "BGPPeer", peer, bgp_lines_.peers, i, "spec.peerAddress",
                   "peer " + peer.peer_address.str() + " port " + std::to_string(peer.peer_port) +
                       " is already defined by " + object_ref("BGPPeer", other.meta) + " (" +
                       where(other.src) +
                       "), and the nodeSelectors of the two may select the same node: a node "
                       "runs one session per peer address and port");
        break;
      }
    }
  }

  // The pools an advertisement applies to: named or selected; every pool when both are empty.
  std::vector<size_t> selected_pools(const BGPAdvertisement& ad) const {
    const bool all = ad.ip_address_pools.empty() && ad.ip_address_pool_selectors.empty();
    std::vector<size_t> out;
    for (size_t p = 0; p < objects_.pools.size(); ++p) {
      const IPAddressPool& pool = objects_.pools[p];
      const auto& names = ad.ip_address_pools;
      if (all || std::find(names.begin(), names.end(), pool.meta.name) != names.end() ||
          (!ad.ip_address_pool_selectors.empty() &&
           any_matches(ad.ip_address_pool_selectors, pool.meta.labels))) {
        out.push_back(p);
      }
    }
    return out;
  }

  int widest(size_t pool, size_t entry) {
    if (widest_.empty()) {
      widest_.resize(objects_.pools.size());
      for (size_t p = 0; p < objects_.pools.size(); ++p) {
        for (const PoolEntry& e : objects_.pools[p].addresses) {
          widest_[p].push_back(widest_prefix(e.range));
        }
      }
    }
    return widest_[pool][entry];
  }

  // validateBGPAdvPerPool, first part: aggregating to a prefix shorter than a pool's own would
  // announce addresses outside the pool.
  void check_aggregation(size_t index, const BGPAdvertisement& ad,
                         const std::vector<size_t>& pools) {
    for (IpFamily family : {IpFamily::kIPv4, IpFamily::kIPv6}) {
      const bool v4 = family == IpFamily::kIPv4;
      const int length = v4 ? ad.aggregation_length : ad.aggregation_length_v6;
      const std::string path = v4 ? "spec.aggregationLength" : "spec.aggregationLengthV6";
      bool reported = false;
      for (size_t p : pools) {
        const IPAddressPool& pool = objects_.pools[p];
        for (size_t e = 0; e < pool.addresses.size() && !reported; ++e) {
          if (pool.addresses[e].range.family() != family) continue;
          const int w = widest(p, e);
          if (length >= w) continue;
          bgp_report(true, "BGPAdvertisement", ad, bgp_lines_.advertisements, index, path,
                     "Invalid value: " + std::to_string(length) + ": prefix /" + std::to_string(w) +
                         " of " + pool.addresses[e].text + " in pool " + quote(pool.meta.name) +
                         " (" + pool.src.file + ":" + std::to_string(entry_line(p, e)) +
                         ") is more specific than the aggregation length: the /" +
                         std::to_string(length) + " route would cover addresses outside the pool");
          reported = true;
        }
        if (reported) break;
      }
    }
  }

  // BGPAdvertisementsHaveCompatibleLocalPref, for two advertisements of one pool.
  bool compatible_local_pref(const BGPAdvertisement& a, const BGPAdvertisement& b,
                             const IPAddressPool& pool) const {
    if (a.local_pref.value_or(0) == b.local_pref.value_or(0)) return true;
    bool has_v4 = false, has_v6 = false;
    for (const PoolEntry& e : pool.addresses) {
      (e.range.family() == IpFamily::kIPv4 ? has_v4 : has_v6) = true;
    }
    const bool diff4 = a.aggregation_length != b.aggregation_length;
    const bool diff6 = a.aggregation_length_v6 != b.aggregation_length_v6;
    if (!has_v4 && !has_v6) return true;
    if ((diff4 && !has_v6) || (diff6 && !has_v4) || (diff4 && diff6)) return true;
    if (!a.peers.empty() && !b.peers.empty() &&
        std::none_of(a.peers.begin(), a.peers.end(), [&](const std::string& p) {
          return std::find(b.peers.begin(), b.peers.end(), p) != b.peers.end();
        })) {
      return true;
    }
    return !selectors_may_overlap(a.node_selectors, b.node_selectors);
  }

  static std::string local_pref_text(const BGPAdvertisement& ad) {
    return ad.local_pref ? std::to_string(*ad.local_pref) : "0 (unset)";
  }

  // validateBGPAdvPerPool, second part: one route cannot carry two LOCAL_PREFs. Advertisements
  // with serviceSelectors are left out, as MetalLB does (which Services they take is not known
  // until run time).
  void check_local_pref(size_t index, const std::vector<std::vector<size_t>>& selected) {
    const auto& ads = objects_.bgp_advertisements;
    const BGPAdvertisement& ad = ads[index];
    if (!ad.service_selectors.empty()) return;
    for (size_t p : selected[index]) {
      for (size_t j = 0; j < index; ++j) {
        const BGPAdvertisement& other = ads[j];
        if (!other.service_selectors.empty()) continue;
        if (std::find(selected[j].begin(), selected[j].end(), p) == selected[j].end()) continue;
        if (compatible_local_pref(ad, other, objects_.pools[p])) continue;
        bgp_report(true, "BGPAdvertisement", ad, bgp_lines_.advertisements, index, "spec.localPref",
                   "invalid local preference " + local_pref_text(ad) + ": local preference " +
                       local_pref_text(other) + " was already set by " +
                       object_ref("BGPAdvertisement", other.meta) + " (" + where(other.src) +
                       ") for the same routes: both select pool " +
                       quote(objects_.pools[p].meta.name) +
                       " with the same aggregation length, and their peers and nodeSelectors "
                       "may overlap");
        return;
      }
    }
  }

  void check_bgp_advertisements() {
    std::set<std::string> peer_names;
    for (const BGPPeer& p : objects_.bgp_peers) peer_names.insert(p.meta.name);
    const auto& ads = objects_.bgp_advertisements;
    std::vector<std::vector<size_t>> selected;
    std::map<std::string, size_t> specs;  // canonical spec -> first advertisement
    for (size_t i = 0; i < ads.size(); ++i) {
      const BGPAdvertisement& ad = ads[i];
      auto report = [&](bool is_error, const std::string& path, const std::string& message) {
        bgp_report(is_error, "BGPAdvertisement", ad, bgp_lines_.advertisements, i, path, message);
      };
      // An alias is looked up first, then the text is read as a value (getCommunityValue).
      for (size_t k = 0; k < ad.communities.size(); ++k) {
        const std::string& text = ad.communities[k];
        if (aliases_.count(text) != 0) continue;
        bool alias_shaped = false;
        auto problem = bgp_community_error(text, &alias_shaped);
        if (!problem) continue;
        const std::string path = "spec.communities[" + std::to_string(k) + "]";
        if (alias_shaped) {
          report(false, path,
                 "no Community defines the alias " + quote(text) +
                     " (MetalLB treats this as transient: it may be created later)");
        } else {
          report(true, path, *problem);
        }
      }
      for (size_t k = 0; k < ad.peers.size(); ++k) {
        if (peer_names.count(ad.peers[k]) != 0) continue;
        report(
            false, "spec.peers[" + std::to_string(k) + "]",
            "no BGPPeer named " + quote(ad.peers[k]) + "; nothing is sent to it until one exists");
      }
      selected.push_back(selected_pools(ad));
      check_aggregation(i, ad, selected.back());
      check_local_pref(i, selected);
      auto [it, inserted] = specs.emplace(canonical_spec(ad), i);
      if (!inserted) {
        const BGPAdvertisement& first = ads[it->second];
        report(true, "spec",
               "duplicate definition: the same spec as " +
                   object_ref("BGPAdvertisement", first.meta) + " (" + where(first.src) + ")");
      }
    }
  }

  const ObjectSet& objects_;
  const std::vector<std::vector<int>>& lines_;
  const BgpFieldLines& bgp_lines_;
  std::map<std::string, const BgpCommunity*> aliases_;  // Community alias name -> value
  std::vector<std::vector<int>> widest_;  // widest_prefix of each pool entry, computed once
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
  size_t error_count_ = 0;
  size_t warning_count_ = 0;
  std::vector<EntryRef> sorted_;
};

}  // namespace

void check_object_set(const ObjectSet& objects,
                      const std::vector<std::vector<int>>& pool_entry_lines,
                      const BgpFieldLines& bgp_lines, std::vector<Diagnostic>* errors,
                      std::vector<Diagnostic>* warnings) {
  SetChecker(objects, pool_entry_lines, bgp_lines, errors, warnings).run();
}

}  // namespace config
