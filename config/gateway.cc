// Decoding the Gateway API kinds (gateway.networking.k8s.io GatewayClass, Gateway, HTTPRoute,
// ReferenceGrant) into the typed objects of config/objects.h.
//
// Control thread only (start-up, reload, `portico check`). The checks are those the API server
// makes with the standard-channel v1 CRDs and nothing more: the OpenAPI schema (required fields,
// enums, patterns, lengths, list sizes, list-map keys) and the CEL x-kubernetes-validations, with
// their messages word for word so that an error reads as `kubectl apply` would print it. What the
// CRDs leave to the controller (a missing GatewayClass, a listener conflict between Gateways, an
// unsupported protocol) is status, reported elsewhere. The CRD defaults are applied here, so the
// code that reads these objects never re-derives them. Sources: apis/v1/{gateway,gatewayclass,
// httproute,shared,object_reference,referencegrant}_types.go of kubernetes-sigs/gateway-api.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "config/document_internal.h"
#include "config/rules_internal.h"
#include "config/timestamp.h"

namespace config {

// ---- metadata.creationTimestamp (every kind) ----

void read_creation_timestamp(Document& doc, const Field& f, int64_t* out) {
  std::string text;
  if (!doc.read_string(f, &text)) return;
  if (auto seconds = parse_rfc3339(text)) {
    *out = *seconds;
  } else {
    doc.invalid(f, quote(text), "must be an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z)");
  }
}

namespace {

// ---- the CRD's string types ----

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool is_label(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

// label(\.label)*: the lower-case RFC 1123 subdomain syntax (no length limit here).
bool is_subdomain(std::string_view s) {
  while (true) {
    const size_t dot = s.find('.');
    if (!is_label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// An IPv4 literal also fits the subdomain syntax; Gateway API hostnames must be names.
bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  while (true) {
    const size_t dot = s.find('.');
    const std::string_view part = s.substr(0, dot);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) return parts == 4;
    s.remove_prefix(dot + 1);
  }
}

constexpr const char* kHostnameRegex =
    "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
constexpr const char* kPreciseHostnameRegex =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
constexpr const char* kSectionNameRegex = kPreciseHostnameRegex;
constexpr const char* kGroupRegex =
    "^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
constexpr const char* kKindRegex = "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$";
constexpr const char* kNamespaceRegex = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
constexpr const char* kHeaderNameRegex = "^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$";
constexpr const char* kProtocolRegex =
    "^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*["
    "a-z0-9])?)*\\/[A-Za-z0-9]+$";
constexpr const char* kControllerNameRegex =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9\\/"
    "\\-._~%!$&'()*"
    "+,;=:]+$";
constexpr const char* kAddressTypeRegex =
    "^IPAddress|Hostname|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/"
    "[A-Za-z0-"
    "9\\/\\-._~%!$&'()*+,;=:]+$";

bool is_hostname(std::string_view s) {
  if (s.size() >= 2 && s.substr(0, 2) == "*.") s.remove_prefix(2);
  return is_subdomain(s);
}

bool is_kind(std::string_view s) {
  if (s.empty() ||
      !((s.front() >= 'a' && s.front() <= 'z') || (s.front() >= 'A' && s.front() <= 'Z')))
    return false;
  if (!alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-'; });
}

// RFC 7230 token: the characters an HTTP header name may hold.
bool is_token_char(char c) {
  return alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

// "domain/path" with the path characters RFC 3986 allows in a path segment.
bool is_domain_prefixed(std::string_view s, bool path_chars) {
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == s.size()) return false;
  if (!is_subdomain(s.substr(0, slash))) return false;
  const std::string_view rest = s.substr(slash + 1);
  return std::all_of(rest.begin(), rest.end(), [&](char c) {
    return alnum(c) ||
           (path_chars && std::string_view("/-._~%!$&'()*+,;=:").find(c) != std::string_view::npos);
  });
}

bool is_protocol(std::string_view s) {
  const bool simple = !s.empty() && alnum(s.front()) && alnum(s.back()) &&
                      std::all_of(s.begin(), s.end(), [](char c) { return alnum(c) || c == '-'; });
  return simple || is_domain_prefixed(s, false);
}

// An Exact / PathPrefix value: ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$
bool is_path_value(std::string_view s) {
  if (s.empty()) return false;
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2])) return false;
      i += 2;
      continue;
    }
    if (!alnum(c) && std::string_view("-/._~!$&'()*+,;=:@").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool one_of(std::string_view v, std::initializer_list<const char*> set) {
  return std::any_of(set.begin(), set.end(), [&](const char* s) { return v == s; });
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---- the API server's schema messages ----

void too_long(Document& doc, const Field& f, size_t max) {
  doc.error(f, "Too long: may not be more than " + std::to_string(max) + " bytes");
}

void too_many(Document& doc, const Field& f, size_t n, size_t max) {
  doc.error(f, "Too many: " + std::to_string(n) + ": must have at most " + std::to_string(max) +
                   " items");
}

void too_few(Document& doc, const Field& f, size_t n, size_t min) {
  doc.invalid(f, std::to_string(n),
              f.path + " in body should have at least " + std::to_string(min) + " items");
}

void pattern_error(Document& doc, const Field& f, const std::string& v, const char* regex) {
  doc.invalid(f, quote(v), f.path + " in body should match '" + regex + "'");
}

// A CEL rule on an object (x-kubernetes-validations): the API server shows the value as its type.
void rule_error(Document& doc, const Field& f, const std::string& message) {
  doc.invalid(f, quote(f.node.IsSequence() ? "array" : "object"), message);
}

// How a string field of the CRD is constrained.
struct StringRule {
  size_t min = 0;  // minLength
  size_t max = 0;  // maxLength; 0 = none
  bool (*valid)(std::string_view) = nullptr;
  const char* regex = nullptr;  // shown when `valid` refuses
};

constexpr StringRule kObjectName{1, 253, nullptr, nullptr};
constexpr StringRule kSectionName{1, 253, is_subdomain, kSectionNameRegex};
constexpr StringRule kNamespaceRule{1, 63, is_label, kNamespaceRegex};
constexpr StringRule kGroupRule{
    0, 253, [](std::string_view s) { return s.empty() || is_subdomain(s); }, kGroupRegex};
constexpr StringRule kKindRule{1, 63, is_kind, kKindRegex};
constexpr StringRule kHeaderNameRule{1, 256, is_header_name, kHeaderNameRegex};
constexpr StringRule kPreciseHostnameRule{1, 253, is_subdomain, kPreciseHostnameRegex};

// Reads a string field and checks it against `rule`. False (and *out unchanged on a type error)
// when absent or invalid; an absent required field is reported.
bool read_checked(Document& doc, const Field& f, const StringRule& rule, bool required,
                  std::string* out) {
  std::string v;
  if (!doc.read_string(f, &v)) {
    if (required && !f.present()) doc.required(f);
    return false;
  }
  bool ok = true;
  if (v.size() < rule.min) {
    if (required && v.empty()) {
      doc.required(f);
    } else {
      doc.invalid(
          f, quote(v),
          f.path + " in body should be at least " + std::to_string(rule.min) + " chars long");
    }
    ok = false;
  } else if (rule.max != 0 && v.size() > rule.max) {
    too_long(doc, f, rule.max);
    ok = false;
  } else if (rule.valid != nullptr && !rule.valid(v)) {
    pattern_error(doc, f, v, rule.regex);
    ok = false;
  }
  *out = std::move(v);
  return ok;
}

// An enum string; true when it is one of `ok`.
bool read_enum(Document& doc, const Field& f, std::initializer_list<const char*> ok, bool required,
               std::string* out) {
  std::string v;
  if (!doc.read_string(f, &v)) {
    if (required && !f.present()) doc.required(f);
    return false;
  }
  if (!one_of(v, ok)) {
    doc.unsupported(f, v, ok);
    *out = std::move(v);
    return false;
  }
  *out = std::move(v);
  return true;
}

// A Hostname (listener, route): lower-case RFC 1123, optional "*." leftmost label, not an IP.
bool read_hostname(Document& doc, const Field& f, bool wildcard_allowed, std::string* out) {
  StringRule rule =
      wildcard_allowed ? StringRule{1, 253, is_hostname, kHostnameRegex} : kPreciseHostnameRule;
  if (!read_checked(doc, f, rule, false, out)) return false;
  if (is_ipv4_literal(*out)) {
    doc.invalid(f, quote(*out), "must be a DNS name, not an IP address");
    return false;
  }
  return true;
}

std::optional<FieldMap> item_fields(Document& doc, const Field& item) {
  if (!item.present()) {
    doc.invalid(item, "null", "must be of type object");
    return std::nullopt;
  }
  return doc.fields(item);
}

// The items of a list with the CRD's maxItems (and minItems when min > 0 and the list is given).
std::vector<Field> bounded_items(Document& doc, const Field& f, size_t min, size_t max) {
  std::vector<Field> items = doc.items(f);
  if (!f.present() || !f.node.IsSequence()) return items;
  if (items.size() > max) too_many(doc, f, items.size(), max);
  if (min > 0 && items.size() < min) too_few(doc, f, items.size(), min);
  return items;
}

// A map of strings (tls.options), at most `max` entries.
void read_string_map(Document& doc, const Field& f, size_t max,
                     std::map<std::string, std::string>* out) {
  auto m = doc.fields(f);
  if (!m) return;
  auto entries = m->entries();
  if (entries.size() > max) {
    doc.error(f, "Too many: " + std::to_string(entries.size()) + ": must have at most " +
                     std::to_string(max) + " items");
  }
  for (auto& [key, value] : entries) {
    std::string v;
    if (doc.read_string(value, &v)) (*out)[key] = v;
  }
}

// A PortNumber (1-65535); an absent required one is reported.
void read_port(Document& doc, const Field& f, bool required, uint16_t* out) {
  if (!f.present()) {
    if (required) doc.required(f);
    return;
  }
  doc.read_int(f, 1, 65535, out);
}

// ============================== GatewayClass ==============================

void read_parameters_ref(Document& doc, const Field& f, GatewayClass* out) {
  auto m = doc.fields(f);
  if (!m) return;
  std::string group, kind, name, ns;
  read_checked(doc, m->get("group"), kGroupRule, false, &group);
  if (!m->get("group").written) doc.required(m->get("group"));
  read_checked(doc, m->get("kind"), kKindRule, true, &kind);
  read_checked(doc, m->get("name"), kObjectName, true, &name);
  read_checked(doc, m->get("namespace"), kNamespaceRule, false, &ns);
  m->warn_unknown();
  out->has_parameters_ref = true;
  out->parameters_ref = group + "/" + kind + "/" + ns + "/" + name;
}

}  // namespace

void decode_gateway_class(Document& doc, FieldMap& top, GatewayClass* out) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.controllerName is required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  read_checked(doc, spec->get("controllerName"),
               StringRule{1, 253, [](std::string_view s) { return is_domain_prefixed(s, true); },
                          kControllerNameRegex},
               true, &out->controller_name);
  read_checked(doc, spec->get("description"), StringRule{0, 64, nullptr, nullptr}, false,
               &out->description);
  read_parameters_ref(doc, spec->get("parametersRef"), out);
  spec->warn_unknown();
}

// ============================== Gateway ==============================

namespace {

void read_secret_ref(Document& doc, const Field& item, SecretObjectReference* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  read_checked(doc, m->get("group"), kGroupRule, false, &out->group);
  read_checked(doc, m->get("kind"), kKindRule, false, &out->kind);
  read_checked(doc, m->get("name"), kObjectName, true, &out->name);
  read_checked(doc, m->get("namespace"), kNamespaceRule, false, &out->namespace_);
  m->warn_unknown();
}

void read_listener_tls(Document& doc, const Field& f, GatewayListener::Tls* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_enum(doc, m->get("mode"), {"Terminate", "Passthrough"}, false, &out->mode);
  for (const Field& item : bounded_items(doc, m->get("certificateRefs"), 0, 64)) {
    out->certificate_refs.emplace_back();
    read_secret_ref(doc, item, &out->certificate_refs.back());
  }
  read_string_map(doc, m->get("options"), 16, &out->options);
  m->known({"frontendValidation"});
  m->warn_unknown();
  if (out->mode == "Terminate" && out->certificate_refs.empty() && out->options.empty()) {
    rule_error(doc, f, "certificateRefs or options must be specified when mode is Terminate");
  }
}

void read_allowed_routes(Document& doc, const Field& f, GatewayListener::AllowedRoutes* out) {
  auto m = doc.fields(f);
  if (!m) return;
  const Field ns_field = m->get("namespaces");
  if (auto ns = doc.fields(ns_field)) {
    std::string from;
    const Field from_field = ns->get("from");
    if (read_enum(doc, from_field, {"All", "Selector", "Same"}, false, &from)) {
      out->from = from == "All"        ? FromNamespaces::kAll
                  : from == "Selector" ? FromNamespaces::kSelector
                                       : FromNamespaces::kSame;
    }
    const Field selector = ns->get("selector");
    if (selector.present()) {
      LabelSelector s;
      read_label_selector(doc, selector, &s);
      if (out->from == FromNamespaces::kSelector) {
        out->selector = std::move(s);
      } else {
        doc.warning(selector, "ignored: from is not \"Selector\"");
      }
    } else if (out->from == FromNamespaces::kSelector) {
      rule_error(doc, ns_field, "selector must be specified when from is set to 'Selector'");
    }
    ns->warn_unknown();
  }
  for (const Field& item : bounded_items(doc, m->get("kinds"), 0, 8)) {
    auto k = item_fields(doc, item);
    if (!k) continue;
    RouteGroupKind rgk;
    read_checked(doc, k->get("group"), kGroupRule, false, &rgk.group);
    read_checked(doc, k->get("kind"), kKindRule, true, &rgk.kind);
    k->warn_unknown();
    out->kinds.push_back(std::move(rgk));
  }
  m->warn_unknown();
}

struct ListenerFields {
  Field item, hostname, tls;
};

void read_listener(Document& doc, const Field& item, GatewayListener* out, ListenerFields* fields) {
  out->line = item.line;
  fields->item = item;
  auto m = item_fields(doc, item);
  if (!m) return;
  read_checked(doc, m->get("name"), kSectionName, true, &out->name);
  fields->hostname = m->get("hostname");
  read_hostname(doc, fields->hostname, true, &out->hostname);
  read_port(doc, m->get("port"), true, &out->port);
  read_checked(doc, m->get("protocol"), StringRule{1, 255, is_protocol, kProtocolRegex}, true,
               &out->protocol);
  fields->tls = m->get("tls");
  if (fields->tls.present()) {
    out->tls = GatewayListener::Tls{};  // not emplace(): clang sees Tls as incomplete there
    read_listener_tls(doc, fields->tls, &*out->tls);
  }
  read_allowed_routes(doc, m->get("allowedRoutes"), &out->allowed_routes);
  m->warn_unknown();
}

// The CEL rules on spec.listeners, reported at the listener that breaks them.
void check_listeners(Document& doc, const std::vector<GatewayListener>& listeners,
                     const std::vector<ListenerFields>& fields) {
  std::map<std::string, size_t> names;
  std::map<std::string, size_t> tuples;
  for (size_t i = 0; i < listeners.size(); ++i) {
    const GatewayListener& l = listeners[i];
    const ListenerFields& f = fields[i];
    const bool l4 = l.protocol == "TCP" || l.protocol == "UDP";
    if (l.tls && (l.protocol == "HTTP" || l4)) {
      rule_error(doc, f.tls, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
    }
    if (l.tls && l.protocol == "HTTPS" && l.tls->mode != "Terminate") {
      rule_error(doc, f.tls, "tls mode must be Terminate for protocol HTTPS");
    }
    if (l4 && !l.hostname.empty()) {
      rule_error(doc, f.hostname, "hostname must not be specified for protocols ['TCP', 'UDP']");
    }
    if (!l.name.empty() && !names.emplace(l.name, i).second) {
      rule_error(doc, f.item, "Listener name must be unique within the Gateway");
    }
    const std::string tuple = std::to_string(l.port) + "/" + l.protocol + "/" +
                              (f.hostname.present() ? "h:" : "-") + l.hostname;
    if (l.port != 0 && !l.protocol.empty() && !tuples.emplace(tuple, i).second) {
      rule_error(doc, f.item,
                 "Combination of port, protocol and hostname must be unique for each listener");
    }
  }
}

void read_addresses(Document& doc, const Field& f, std::vector<GatewayAddress>* out) {
  std::set<std::string> ips, hostnames;
  for (const Field& item : bounded_items(doc, f, 0, 16)) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    GatewayAddress a;
    read_checked(doc, m->get("type"),
                 StringRule{1, 253,
                            [](std::string_view s) {
                              return s == "IPAddress" || s == "Hostname" ||
                                     is_domain_prefixed(s, true);
                            },
                            kAddressTypeRegex},
                 false, &a.type);
    const Field value = m->get("value");
    read_checked(doc, value, StringRule{1, 253, nullptr, nullptr}, false, &a.value);
    m->warn_unknown();
    if (a.type == "IPAddress" && value.present() && !IpAddress::parse(a.value)) {
      rule_error(doc, item, "value must be an IP address");
    } else if (a.type == "IPAddress" && !a.value.empty() && !ips.insert(a.value).second) {
      rule_error(doc, item, "IPAddress values must be unique");
    }
    if (a.type == "Hostname" && value.present() && !is_hostname(a.value)) {
      rule_error(doc, item,
                 "Hostname value must only contain valid characters (matching "
                 "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)");
    } else if (a.type == "Hostname" && !a.value.empty() && !hostnames.insert(a.value).second) {
      rule_error(doc, item, "Hostname values must be unique");
    }
    out->push_back(std::move(a));
  }
}

void read_infrastructure(Document& doc, const Field& f, Gateway::Infrastructure* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_labels(doc, m->get("labels"), &out->labels);
  read_annotations(doc, m->get("annotations"), &out->annotations);
  m->known({"parametersRef"});
  m->warn_unknown();
}

}  // namespace

void decode_gateway(Document& doc, FieldMap& top, Gateway* out) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.gatewayClassName and spec.listeners are required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  read_checked(doc, spec->get("gatewayClassName"), kObjectName, true, &out->gateway_class_name);
  const Field listeners = spec->get("listeners");
  if (!listeners.present()) doc.required(listeners);
  std::vector<ListenerFields> fields;
  for (const Field& item : bounded_items(doc, listeners, 1, 64)) {
    out->listeners.emplace_back();
    fields.emplace_back();
    read_listener(doc, item, &out->listeners.back(), &fields.back());
  }
  check_listeners(doc, out->listeners, fields);
  read_addresses(doc, spec->get("addresses"), &out->addresses);
  read_infrastructure(doc, spec->get("infrastructure"), &out->infrastructure);
  spec->known({"tls", "allowedListeners", "backendTLS"});
  spec->warn_unknown();
}

// ============================== HTTPRoute ==============================

namespace {

struct ParentFields {
  Field item;
  bool namespace_set = false;
};

void read_parent_ref(Document& doc, const Field& item, ParentReference* out, ParentFields* pf) {
  pf->item = item;
  auto m = item_fields(doc, item);
  if (!m) return;
  read_checked(doc, m->get("group"), kGroupRule, false, &out->group);
  read_checked(doc, m->get("kind"), kKindRule, false, &out->kind);
  pf->namespace_set =
      read_checked(doc, m->get("namespace"), kNamespaceRule, false, &out->namespace_);
  read_checked(doc, m->get("name"), kObjectName, true, &out->name);
  read_checked(doc, m->get("sectionName"), kSectionName, false, &out->section_name);
  read_port(doc, m->get("port"), false, &out->port);
  m->warn_unknown();
}

// The two CEL rules on parentRefs: the same parent twice needs distinct sectionNames.
void check_parent_refs(Document& doc, const std::vector<ParentReference>& refs,
                       const std::vector<ParentFields>& fields) {
  for (size_t i = 0; i < refs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const ParentReference& a = refs[i];
      const ParentReference& b = refs[j];
      if (a.group != b.group || a.kind != b.kind || a.name != b.name ||
          a.namespace_ != b.namespace_) {
        continue;
      }
      if (a.section_name.empty() != b.section_name.empty()) {
        rule_error(doc, fields[i].item,
                   "sectionName must be specified when parentRefs includes 2 or more references "
                   "to the same parent");
        break;
      }
      if (a.section_name == b.section_name) {
        rule_error(doc, fields[i].item,
                   "sectionName must be unique when parentRefs includes 2 or more references to "
                   "the same parent");
        break;
      }
    }
  }
}

void read_path_match(Document& doc, const Field& f, HttpPathMatch* out) {
  auto m = doc.fields(f);
  if (!m) return;
  std::string type;
  if (read_enum(doc, m->get("type"), {"Exact", "PathPrefix", "RegularExpression"}, false, &type)) {
    out->type = type == "Exact"        ? PathMatchType::kExact
                : type == "PathPrefix" ? PathMatchType::kPathPrefix
                                       : PathMatchType::kRegularExpression;
  }
  const Field value = m->get("value");
  if (!read_checked(doc, value, StringRule{0, 1024, nullptr, nullptr}, false, &out->value)) {
    m->warn_unknown();
    return;
  }
  m->warn_unknown();
  if (out->type == PathMatchType::kRegularExpression) return;
  const std::string& v = out->value;
  auto bad = [&](const char* message) { doc.invalid(value, quote(v), message); };
  // Each CEL rule of HTTPPathMatch is checked and reported on its own, as the API server does.
  if (v.empty() || v[0] != '/') {
    bad("value must be an absolute path and start with '/' when type one of ['Exact', "
        "'PathPrefix']");
  }
  for (const char* part : {"//", "/./", "/../", "%2f", "%2F", "#"}) {
    if (v.find(part) != std::string::npos) {
      bad(("must not contain '" + std::string(part) + "' when type one of ['Exact', 'PathPrefix']")
              .c_str());
    }
  }
  if (ends_with(v, "/..")) bad("must not end with '/..' when type one of ['Exact', 'PathPrefix']");
  if (ends_with(v, "/.")) bad("must not end with '/.' when type one of ['Exact', 'PathPrefix']");
  if (!is_path_value(v)) {
    bad("must only contain valid characters (matching "
        "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', "
        "'PathPrefix']");
  }
}

// headers[] / queryParams[]: a list-map keyed by name.
void read_value_matches(Document& doc, const Field& f, size_t max_value,
                        std::vector<HttpHeaderMatch>* out) {
  std::map<std::string, std::string> seen;
  for (const Field& item : bounded_items(doc, f, 0, 16)) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    HttpHeaderMatch h;
    std::string type;
    if (read_enum(doc, m->get("type"), {"Exact", "RegularExpression"}, false, &type)) {
      h.type = type == "Exact" ? StringMatchType::kExact : StringMatchType::kRegularExpression;
    }
    const Field name = m->get("name");
    read_checked(doc, name, kHeaderNameRule, true, &h.name);
    read_checked(doc, m->get("value"), StringRule{1, max_value, nullptr, nullptr}, true, &h.value);
    m->warn_unknown();
    if (!h.name.empty()) {
      auto [it, inserted] = seen.emplace(h.name, item.path);
      if (!inserted) {
        doc.duplicate(item, "{\"name\":" + quote(h.name) + "}", "also " + it->second);
        continue;
      }
    }
    out->push_back(std::move(h));
  }
}

constexpr std::initializer_list<const char*> kMethods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};

void read_match(Document& doc, const Field& item, HttpRouteMatch* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  read_path_match(doc, m->get("path"), &out->path);
  read_value_matches(doc, m->get("headers"), 4096, &out->headers);
  read_value_matches(doc, m->get("queryParams"), 1024, &out->query_params);
  read_enum(doc, m->get("method"), kMethods, false, &out->method);
  m->warn_unknown();
}

// HTTPHeaderFilter.set / add: list-maps keyed by name.
void read_headers(Document& doc, const Field& f, std::vector<HttpHeader>* out) {
  std::map<std::string, std::string> seen;
  for (const Field& item : bounded_items(doc, f, 0, 16)) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    HttpHeader h;
    read_checked(doc, m->get("name"), kHeaderNameRule, true, &h.name);
    read_checked(doc, m->get("value"), StringRule{1, 4096, nullptr, nullptr}, true, &h.value);
    m->warn_unknown();
    if (!h.name.empty()) {
      auto [it, inserted] = seen.emplace(h.name, item.path);
      if (!inserted) {
        doc.duplicate(item, "{\"name\":" + quote(h.name) + "}", "also " + it->second);
        continue;
      }
    }
    out->push_back(std::move(h));
  }
}

void read_header_filter(Document& doc, const Field& f, HttpHeaderFilter* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_headers(doc, m->get("set"), &out->set);
  read_headers(doc, m->get("add"), &out->add);
  std::set<std::string> seen;
  for (const Field& item : bounded_items(doc, m->get("remove"), 0, 16)) {
    std::string name;
    if (!doc.read_string(item, &name)) {
      if (!item.present()) doc.invalid(item, "null", "must be of type string");
      continue;
    }
    if (!seen.insert(name).second) {
      doc.duplicate(item, quote(name));
      continue;
    }
    out->remove.push_back(std::move(name));
  }
  m->warn_unknown();
}

void read_path_modifier(Document& doc, const Field& f, std::optional<HttpPathModifier>* out) {
  auto m = doc.fields(f);
  if (!m) return;
  HttpPathModifier p;
  std::string type;
  const bool typed =
      read_enum(doc, m->get("type"), {"ReplaceFullPath", "ReplacePrefixMatch"}, true, &type);
  const Field full = m->get("replaceFullPath");
  const Field prefix = m->get("replacePrefixMatch");
  std::string full_value, prefix_value;
  read_checked(doc, full, StringRule{0, 1024, nullptr, nullptr}, false, &full_value);
  read_checked(doc, prefix, StringRule{0, 1024, nullptr, nullptr}, false, &prefix_value);
  m->warn_unknown();
  if (typed && type == "ReplaceFullPath" && !full.present()) {
    rule_error(doc, f, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
  }
  if (full.present() && type != "ReplaceFullPath") {
    rule_error(doc, f, "type must be 'ReplaceFullPath' when replaceFullPath is set");
  }
  if (typed && type == "ReplacePrefixMatch" && !prefix.present()) {
    rule_error(doc, f,
               "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
  }
  if (prefix.present() && type != "ReplacePrefixMatch") {
    rule_error(doc, f, "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set");
  }
  if (type == "ReplacePrefixMatch") {
    p.type = PathModifierType::kReplacePrefixMatch;
    p.value = prefix_value;
  } else {
    p.type = PathModifierType::kReplaceFullPath;
    p.value = full_value;
  }
  *out = std::move(p);
}

void read_redirect(Document& doc, const Field& f, HttpRequestRedirectFilter* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_enum(doc, m->get("scheme"), {"http", "https"}, false, &out->scheme);
  read_hostname(doc, m->get("hostname"), false, &out->hostname);
  read_path_modifier(doc, m->get("path"), &out->path);
  read_port(doc, m->get("port"), false, &out->port);
  const Field status = m->get("statusCode");
  int64_t code = 0;
  if (doc.read_int(status, INT32_MIN, INT32_MAX, &code)) {
    if (code == 301 || code == 302 || code == 303 || code == 307 || code == 308) {
      out->status_code = static_cast<uint16_t>(code);
    } else {
      doc.error(status, "Unsupported value: " + std::to_string(code) +
                            ": supported values: \"301\", \"302\", \"303\", \"307\", \"308\"");
    }
  }
  m->warn_unknown();
}

void read_url_rewrite(Document& doc, const Field& f, HttpUrlRewriteFilter* out) {
  auto m = doc.fields(f);
  if (!m) return;
  read_hostname(doc, m->get("hostname"), false, &out->hostname);
  read_path_modifier(doc, m->get("path"), &out->path);
  m->warn_unknown();
}

// A BackendObjectReference (backendRefs[], requestMirror.backendRef), with its CEL rule.
void read_backend_object_ref(Document& doc, const Field& f, FieldMap& m, HttpBackendRef* out) {
  read_checked(doc, m.get("group"), kGroupRule, false, &out->group);
  read_checked(doc, m.get("kind"), kKindRule, false, &out->kind);
  read_checked(doc, m.get("name"), kObjectName, true, &out->name);
  read_checked(doc, m.get("namespace"), kNamespaceRule, false, &out->namespace_);
  const Field port = m.get("port");
  read_port(doc, port, false, &out->port);
  if (out->group.empty() && out->kind == "Service" && !port.present()) {
    rule_error(doc, f, "Must have port for Service reference");
  }
}

void read_mirror(Document& doc, const Field& f) {
  auto m = doc.fields(f);
  if (!m) return;
  const Field ref = m->get("backendRef");
  if (auto r = doc.fields(ref)) {
    HttpBackendRef b;
    read_backend_object_ref(doc, ref, *r, &b);
    r->warn_unknown();
  } else if (!ref.present()) {
    doc.required(ref);
  }
  const Field percent = m->get("percent");
  int64_t p = 0;
  doc.read_int(percent, 0, 100, &p);
  m->known({"fraction"});
  if (percent.present() && m->get("fraction").present()) {
    rule_error(doc, f,
               "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter");
  }
  m->warn_unknown();
}

void read_extension_ref(Document& doc, const Field& f) {
  auto m = doc.fields(f);
  if (!m) return;
  std::string group, kind, name;
  if (!m->get("group").written) doc.required(m->get("group"));
  read_checked(doc, m->get("group"), kGroupRule, false, &group);
  read_checked(doc, m->get("kind"), kKindRule, true, &kind);
  read_checked(doc, m->get("name"), kObjectName, true, &name);
  m->warn_unknown();
}

constexpr std::initializer_list<const char*> kFilterTypes = {"RequestHeaderModifier",
                                                             "ResponseHeaderModifier",
                                                             "RequestMirror",
                                                             "RequestRedirect",
                                                             "URLRewrite",
                                                             "ExtensionRef",
                                                             "CORS"};

// A filter's payload fields, each tied to the type that needs it.
struct FilterField {
  const char* key;   // field name
  const char* type;  // the filter type it belongs to
};
constexpr FilterField kFilterFields[] = {
    {"requestHeaderModifier", "RequestHeaderModifier"},
    {"responseHeaderModifier", "ResponseHeaderModifier"},
    {"requestMirror", "RequestMirror"},
    {"requestRedirect", "RequestRedirect"},
    {"urlRewrite", "URLRewrite"},
    {"extensionRef", "ExtensionRef"},
    {"cors", "CORS"},
};

void read_filter(Document& doc, const Field& item, HttpRouteFilter* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  read_enum(doc, m->get("type"), kFilterTypes, true, &out->type);
  for (const FilterField& ff : kFilterFields) {
    const Field f = m->get(ff.key);
    const bool matches = out->type == ff.type;
    if (f.present() && !out->type.empty() && !matches) {
      rule_error(
          doc, item,
          std::string("filter.") + ff.key + " must be nil if the filter.type is not " + ff.type);
    } else if (!f.present() && matches) {
      rule_error(
          doc, item,
          std::string("filter.") + ff.key + " must be specified for " + ff.type + " filter.type");
    }
    if (!f.present()) continue;
    const std::string_view key = ff.key;
    if (key == "requestHeaderModifier") {
      read_header_filter(doc, f, &out->request_header_modifier.emplace());
    } else if (key == "responseHeaderModifier") {
      read_header_filter(doc, f, &out->response_header_modifier.emplace());
    } else if (key == "requestRedirect") {
      read_redirect(doc, f, &out->request_redirect.emplace());
    } else if (key == "urlRewrite") {
      read_url_rewrite(doc, f, &out->url_rewrite.emplace());
    } else if (key == "requestMirror") {
      read_mirror(doc, f);
    } else if (key == "extensionRef") {
      read_extension_ref(doc, f);
    }  // cors: accepted as written (Extended; Portico reports it unsupported in status)
  }
  m->warn_unknown();
}

// The CEL rules on a filters list (rule filters and backendRef filters alike).
void read_filters(Document& doc, const Field& f, std::vector<HttpRouteFilter>* out) {
  for (const Field& item : bounded_items(doc, f, 0, 16)) {
    out->emplace_back();
    read_filter(doc, item, &out->back());
  }
  auto count = [&](const char* type) {
    return std::count_if(out->begin(), out->end(),
                         [&](const HttpRouteFilter& x) { return x.type == type; });
  };
  if (count("RequestRedirect") > 0 && count("URLRewrite") > 0) {
    rule_error(doc, f,
               "May specify either httpRouteFilterRequestRedirect or "
               "httpRouteFilterRequestRewrite, but not both");
  }
  for (const char* type :
       {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"}) {
    if (count(type) > 1) rule_error(doc, f, std::string(type) + " filter cannot be repeated");
  }
}

void read_backend_ref(Document& doc, const Field& item, HttpBackendRef* out) {
  auto m = item_fields(doc, item);
  if (!m) return;
  read_backend_object_ref(doc, item, *m, out);
  doc.read_int(m->get("weight"), 0, 1000000, &out->weight);
  read_filters(doc, m->get("filters"), &out->filters);
  m->warn_unknown();
}

// True when one filter of `filters` replaces the matched prefix (redirect or rewrite).
bool uses_prefix_replace(const std::vector<HttpRouteFilter>& filters, bool redirect) {
  return std::any_of(filters.begin(), filters.end(), [&](const HttpRouteFilter& x) {
    const std::optional<HttpPathModifier>* p = nullptr;
    if (redirect && x.request_redirect) p = &x.request_redirect->path;
    if (!redirect && x.url_rewrite) p = &x.url_rewrite->path;
    return p != nullptr && p->has_value() && (*p)->type == PathModifierType::kReplacePrefixMatch;
  });
}

void read_rule(Document& doc, const Field& item, HttpRouteRule* out) {
  out->line = item.line;
  auto m = item_fields(doc, item);
  if (!m) return;
  read_checked(doc, m->get("name"), kSectionName, false, &out->name);
  const Field matches = m->get("matches");
  if (matches.present()) {
    for (const Field& mi : bounded_items(doc, matches, 0, 64)) {
      out->matches.emplace_back();
      read_match(doc, mi, &out->matches.back());
    }
  } else {
    out->matches.emplace_back();  // the CRD default: PathPrefix "/"
  }
  read_filters(doc, m->get("filters"), &out->filters);
  for (const Field& bi : bounded_items(doc, m->get("backendRefs"), 0, 16)) {
    out->backend_refs.emplace_back();
    read_backend_ref(doc, bi, &out->backend_refs.back());
  }
  m->known({"timeouts", "retry", "sessionPersistence"});
  m->warn_unknown();

  // The CEL rules of HTTPRouteRule.
  const bool has_redirect =
      std::any_of(out->filters.begin(), out->filters.end(),
                  [](const HttpRouteFilter& x) { return x.request_redirect.has_value(); });
  if (!out->backend_refs.empty() && has_redirect) {
    rule_error(doc, item, "RequestRedirect filter must not be used together with backendRefs");
  }
  const bool one_prefix =
      out->matches.size() == 1 && out->matches[0].path.type == PathMatchType::kPathPrefix;
  if (!one_prefix) {
    if (uses_prefix_replace(out->filters, true)) {
      rule_error(doc, item,
                 "When using RequestRedirect filter with path.replacePrefixMatch, exactly one "
                 "PathPrefix match must be specified");
    }
    if (uses_prefix_replace(out->filters, false)) {
      rule_error(doc, item,
                 "When using URLRewrite filter with path.replacePrefixMatch, exactly one "
                 "PathPrefix match must be specified");
    }
    auto in_backends = [&](bool redirect) {
      return std::any_of(
          out->backend_refs.begin(), out->backend_refs.end(),
          [&](const HttpBackendRef& b) { return uses_prefix_replace(b.filters, redirect); });
    };
    if (in_backends(true)) {
      rule_error(doc, item,
                 "Within backendRefs, when using RequestRedirect filter with "
                 "path.replacePrefixMatch, exactly one PathPrefix match must be specified");
    }
    if (in_backends(false)) {
      rule_error(doc, item,
                 "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, "
                 "exactly one PathPrefix match must be specified");
    }
  }
}

}  // namespace

void decode_http_route(Document& doc, FieldMap& top, HttpRoute* out) {
  top.known({"status"});
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field);
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  const Field parents = spec->get("parentRefs");
  std::vector<ParentFields> parent_fields;
  for (const Field& item : bounded_items(doc, parents, 0, 32)) {
    out->parent_refs.emplace_back();
    parent_fields.emplace_back();
    read_parent_ref(doc, item, &out->parent_refs.back(), &parent_fields.back());
  }
  check_parent_refs(doc, out->parent_refs, parent_fields);
  for (const Field& item : bounded_items(doc, spec->get("hostnames"), 0, 16)) {
    std::string h;
    if (!item.present()) {
      doc.invalid(item, "null", "must be of type string");
      continue;
    }
    if (read_hostname(doc, item, true, &h)) out->hostnames.push_back(std::move(h));
  }
  const Field rules = spec->get("rules");
  if (rules.present()) {
    for (const Field& item : bounded_items(doc, rules, 0, 16)) {
      out->rules.emplace_back();
      read_rule(doc, item, &out->rules.back());
    }
    size_t total = 0;
    for (const HttpRouteRule& r : out->rules) total += r.matches.size();
    if (total > 128) {
      rule_error(doc, rules,
                 "While 16 rules and 64 matches per rule are allowed, the total number of matches "
                 "across all rules in a route must be less than 128");
    }
  } else {
    // The CRD default: one rule matching every request (PathPrefix "/"), with no backend.
    out->rules.emplace_back();
    out->rules.back().matches.emplace_back();
    out->rules.back().line = spec_field.line;
  }
  spec->warn_unknown();
}

// ============================== ReferenceGrant ==============================

void decode_reference_grant(Document& doc, FieldMap& top, ReferenceGrant* out) {
  const Field spec_field = top.get("spec");
  if (!spec_field.present()) {
    doc.required(spec_field, "spec.from and spec.to are required");
    return;
  }
  auto spec = doc.fields(spec_field);
  if (!spec) return;
  // group is required but may be "" (the core group).
  auto read_group = [&](FieldMap& m, std::string* group) {
    const Field g = m.get("group");
    if (!g.written || g.node.IsNull()) {
      doc.required(g);
      return;
    }
    read_checked(doc, g, kGroupRule, false, group);
  };
  const Field from = spec->get("from");
  if (!from.present()) doc.required(from);
  for (const Field& item : bounded_items(doc, from, 1, 16)) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    ReferenceGrantFrom f;
    read_group(*m, &f.group);
    read_checked(doc, m->get("kind"), kKindRule, true, &f.kind);
    read_checked(doc, m->get("namespace"), kNamespaceRule, true, &f.namespace_);
    m->warn_unknown();
    out->from.push_back(std::move(f));
  }
  const Field to = spec->get("to");
  if (!to.present()) doc.required(to);
  for (const Field& item : bounded_items(doc, to, 1, 16)) {
    auto m = item_fields(doc, item);
    if (!m) continue;
    ReferenceGrantTo t;
    read_group(*m, &t.group);
    read_checked(doc, m->get("kind"), kKindRule, true, &t.kind);
    read_checked(doc, m->get("name"), kObjectName, false, &t.name);
    m->warn_unknown();
    out->to.push_back(std::move(t));
  }
  spec->warn_unknown();
}

}  // namespace config
