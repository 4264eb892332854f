// The HTTP routing model the control thread compiles from Gateways and HTTPRoutes, and the
// request the data plane classifies against it.
//
// A RouteModel is plain data: per Gateway address and port, the listeners bound there, and per
// listener every (route, rule, match) that attached to it, with the route's effective hostnames
// (listener and route hostnames intersected, Gateway API §2.3) already computed. The classifier
// (nf/route_classifier.h) compiles it into lookup tables and Hyperscan databases; `action` is an
// opaque index into the caller's table of what to do with a matched request (forward to
// backends, redirect, answer 500...), so the classifier knows nothing of backends or filters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nf::route {

enum class PathType : uint8_t { kExact, kPrefix, kRegex };

struct StringMatch {
  bool regex = false;  // false: exact, case-sensitive value
  std::string name;    // header names are compared case-insensitively, query names exactly
  std::string value;   // the value, or the regular expression (PCRE subset Hyperscan takes)
};

struct Match {
  PathType path_type = PathType::kPrefix;
  std::string path = "/";  // as configured (a PathPrefix may end in '/', which is ignored)
  std::string method;      // empty = any method
  std::vector<StringMatch> headers;
  std::vector<StringMatch> query;
};

struct Rule {
  uint32_t action = 0;                 // index into the caller's action table
  std::vector<std::string> hostnames;  // effective hostnames, lower case; empty = any host
  std::vector<Match> matches;          // ORed; never empty (control defaults PathPrefix "/")
  int64_t created = 0;                 // route metadata.creationTimestamp (precedence key 7)
  std::string route;                   // "namespace/name" (precedence key 8)
  uint32_t rule_index = 0;             // position in the route's rules (key 9)
};

struct Listener {
  std::string name;      // "namespace/gateway/listener", for answers and logs
  std::string hostname;  // lower case; may be "*.suffix"; empty = any host
  std::vector<Rule> rules;
};

struct PortSpec {
  uint8_t address[16] = {};  // IPv4 in the first 4 bytes (network order) when !v6
  bool v6 = false;
  uint16_t port = 0;  // host byte order
  std::vector<Listener> listeners;
};

struct RouteModel {
  std::vector<PortSpec> ports;
};

struct HeaderView {
  std::string_view name;  // as received (any case)
  std::string_view value;  // without surrounding whitespace
};

// One request head as the parser (nf/http_head.h) or `portico match` sees it.
struct Request {
  std::string_view method;
  std::string_view target;  // origin-form request-target: path, then optional "?query"
  std::string_view host;    // Host header value as received; ":port" is ignored for matching
  const HeaderView* headers = nullptr;
  uint32_t n_headers = 0;
};

}  // namespace nf::route
