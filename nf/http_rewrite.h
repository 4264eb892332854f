// What Portico writes itself at L7: the request head it forwards to the backend (the Gateway API
// RequestHeaderModifier and URLRewrite filters applied), the Location of a RequestRedirect, and
// the short responses it answers on its own (redirects, 400, 404, 421, 431, 500, 501, 503, 505).
//
// Runs on worker lcores, once per request that has been classified. Pure functions writing into
// the caller's buffer: no allocation, no exceptions; each returns the bytes written, 0 when the
// result would not fit in `cap` (nothing useful is left in the buffer then) or when a value from
// configuration (header name or value, hostname, path) is not valid where it goes: a line break
// in one would let a route inject fields into the forwarded head. The caller answers 500.
//
// Filter semantics follow the Gateway API (HTTPRoute filters, digest §1.3):
//  * RequestHeaderModifier: `set` replaces every field of that name (case-insensitive) with one
//    line `name: value` where the first one stood, or appends it when there was none; `add`
//    appends one more field line (a repeated header, which RFC 9110 §5.3 makes equal to the
//    comma-joined value); `remove` drops every field of that name. Edits naming Host,
//    Content-Length, Transfer-Encoding or Connection are ignored: the first is URLRewrite's,
//    the others frame the body Portico splices and the connection it manages, and changing them
//    would make the backend read another message than the one Portico classified (control
//    should refuse them when it loads the route).
//  * URLRewrite hostname: the Host field becomes `Host: <hostname>` (no port, as the spec's
//    Host rewrite carries none). Path: ReplaceFullPath replaces the path, ReplacePrefixMatch
//    replaces the matched prefix by segments (replace_prefix_match); the query is kept as is.
//  * Otherwise the request-line is written with the received method, request-target bytes and
//    version, and every other field line byte for byte in its order. An absolute-form request is
//    forwarded in origin-form with its authority as the Host (RFC 9112 §3.2.2, §7.2).
//  * force_close: every Connection field is replaced by one `Connection: close`, so the backend
//    ends the connection after its response (issue 4: one request per bound connection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nf/http_head.h"

namespace nf::http {

struct HeaderEdit {
  std::string_view name, value;
};

enum PathMode : uint8_t { kPathKeep = 0, kPathFull = 1, kPathPrefix = 2 };

struct HeadEdits {
  const HeaderEdit* set = nullptr;
  uint32_t n_set = 0;
  const HeaderEdit* add = nullptr;
  uint32_t n_add = 0;
  const std::string_view* remove = nullptr;
  uint32_t n_remove = 0;
  std::string_view host;            // URLRewrite hostname, empty = keep
  uint8_t path_mode = kPathKeep;    // PathMode
  std::string_view path_value;      // ReplaceFullPath path or ReplacePrefixMatch replacement
  std::string_view matched_prefix;  // the rule's PathPrefix value, for ReplacePrefixMatch
  bool force_close = false;
};

// Writes the head to forward (request-line to blank line, body not included) for a request
// parsed from buf. Returns its length, 0 if it does not fit or an edit is invalid. At most 64
// entries per edit list (the Gateway API allows 16).
size_t rewrite_head(const RequestHead& head, const uint8_t* buf, const HeadEdits& edits,
                    uint8_t* out, size_t cap);

// ReplacePrefixMatch (HTTPPathModifier): the path with `prefix` (the PathPrefix the request
// matched, a trailing '/' ignored) replaced by `replacement` (a trailing '/' ignored), on
// segment boundaries, "/" when that leaves nothing. A path the prefix does not match is copied
// unchanged. Returns the length written, 0 if it does not fit.
size_t replace_prefix_match(std::string_view path, std::string_view prefix,
                            std::string_view replacement, char* out, size_t cap);

struct Redirect {
  std::string_view scheme;    // "http" or "https"; empty = the request's scheme
  std::string_view hostname;  // empty = the request's host without its port
  uint16_t port = 0;          // 0 = unset
  uint8_t path_mode = kPathKeep;
  std::string_view path_value;
  std::string_view matched_prefix;
};

// The Location of a RequestRedirect (HTTPRequestRedirectFilter): scheme, host, port and path from
// the filter, each falling back to the request's. An unset port is 80 for scheme http, 443 for
// https, and the listener port when the scheme is unset too; it is left out for http:80 and
// https:443. The request's query is kept. `request_scheme` is the listener's ("http" or "https").
// When no host is known (an HTTP/1.0 request without Host and no hostname in the filter) the
// Location is the path alone (RFC 9110 §10.2.2 allows a relative reference). Returns its length,
// 0 if it does not fit.
size_t build_redirect_location(const RequestHead& head, const Redirect& redirect,
                               std::string_view request_scheme, uint16_t listener_port, char* out,
                               size_t cap);

// A complete HTTP/1.1 response Portico sends itself: status-line, Content-Type: text/plain,
// Content-Length, Location when not empty, Connection: close, and a one-line body naming the
// status. For 301, 302, 303, 307, 308, 400, 404, 421, 431, 500, 501, 503, 505; another status,
// a Location with a character not allowed in a field value, or too small a buffer gives 0.
size_t build_response(uint16_t status, std::string_view location, uint8_t* out, size_t cap);

// The reason phrase of a status build_response knows, nullptr for others.
const char* reason_phrase(uint16_t status);

}  // namespace nf::http
