// HTTP/1.x message heads: the strict request-head parser the data plane runs before it picks a
// route, and the response-head parser used to check (and later to frame) responses.
//
// Runs on worker lcores, once per received segment of a connection that has not been bound to a
// backend yet. Pure functions over the caller's buffer: no allocation, no exceptions. The parser
// keeps no state between calls: it is called again with the whole head received so far
// (kIncomplete until the blank line), and every view it returns points into that buffer.
//
// Follows RFC 9112 (HTTP/1.1 messages) and RFC 9110 (semantics) strictly, because a gateway that
// reads a head differently from the backend behind it is the root of request smuggling. The
// decisions the RFCs leave open, and what they answer (RequestHead::reject_status):
//  * Line endings are CRLF only. A bare LF (which §2.2 lets a recipient accept) or a bare CR is
//    400: a backend that splits lines differently would see other headers than we routed on.
//  * Empty lines (CRLF) before the request-line are skipped (§2.2) and counted in head_len.
//  * request-line: `method SP request-target SP HTTP-version CRLF`, single spaces, method a
//    token. HTTP/1.0 and HTTP/1.1 only; any other well-formed version ("HTTP/2.0" of the h2
//    preface, "HTTP/1.2") is 505, anything else 400.
//  * request-target (§3.2): origin-form, checked against the RFC 3986 path and query characters
//    (`#`, non-ASCII, `"<>\^`{|}` and malformed %-escapes are 400); asterisk-form `*` only with
//    OPTIONS; absolute-form with scheme http or https (§3.2.2): a server MUST accept it and use
//    its authority as the host, ignoring the Host header (which HTTP/1.1 must still send, once
//    and valid). `host` is then the authority and `target` its path and query ("/" when the
//    path is empty); userinfo (`user@`) and an empty path with a query are 400. Authority-form
//    (CONNECT's `host:port`) and other schemes are 400: Portico is not a forward proxy.
//  * Fields (§5): name a token with the colon right after it (whitespace before the colon is
//    400), value without CTLs other than HTAB (NUL, DEL included), surrounding OWS trimmed.
//    A line starting with SP or HTAB (obsolete line folding, or whitespace before the first
//    field) is 400. More than kMaxHeaders fields is kTooLarge (431).
//  * Host (§3.2): missing on HTTP/1.1, repeated, or not `uri-host [":" port]` (RFC 3986; port at
//    most 65535) is 400. An empty value is valid. HTTP/1.0 may omit it (host is then empty).
//  * Framing (§6): Content-Length must be digits; repeated or comma-listed copies must all be
//    equal (RFC 9110 §8.6), else 400. Transfer-Encoding with Content-Length is 400; on HTTP/1.0
//    it is 400 (§6.1 says such framing is faulty); chunked not last, twice, or an empty list is
//    400 (§6.3); other codings before a final chunked are 501, as we only frame chunked.
//  * keep_alive: HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection:
//    keep-alive` and no close. expect_continue: `Expect: 100-continue` on HTTP/1.1 (RFC 9110
//    §10.1.1 says to ignore it on HTTP/1.0).
//  * The whole head, from its first byte to its blank line, must lie within `limit` bytes;
//    otherwise kTooLarge (431).
// A status other than kIncomplete is final: more bytes never change it, so the caller may answer
// at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nf/route_model.h"

namespace nf::http {

enum class ParseStatus : uint8_t { kIncomplete, kComplete, kBadRequest, kTooLarge };

constexpr uint32_t kMaxHeaders = 100;        // one more is kTooLarge, answered 431
constexpr size_t kDefaultHeadLimit = 16384;  // issue 4: 16 KiB, then 431

struct RequestHead {
  std::string_view method;
  std::string_view target;    // origin-form path and query (absolute-form: its path and query)
  std::string_view host;      // Host value (absolute-form: the authority); may hold ":port"
  uint8_t version_minor = 1;  // 0 or 1
  route::HeaderView headers[kMaxHeaders];
  uint32_t n_headers = 0;
  uint32_t head_len = 0;  // bytes up to and including the blank line
  bool keep_alive = false;
  bool chunked = false;
  int64_t content_length = -1;  // -1: none
  bool expect_continue = false;
  const char* error = nullptr;  // static reason on kBadRequest / kTooLarge
  // Added to the fields:
  uint16_t reject_status = 0;  // status to answer on kBadRequest / kTooLarge: 400, 431, 501, 505
  uint32_t line_start = 0;     // offset of the request-line (after skipped empty lines)
  int32_t host_header = -1;    // index in headers of the Host field, -1 if none
  bool absolute_form = false;  // target came as absolute-form; host is its authority

  // The view the route classifier takes.
  route::Request request() const { return {method, target, host, headers, n_headers}; }
  // target up to '?' (the whole target when it has no query).
  std::string_view path() const { return target.substr(0, target.find('?')); }
  // from '?' on, the '?' included; empty when there is none.
  std::string_view query() const {
    size_t q = target.find('?');
    return q == std::string_view::npos ? std::string_view() : target.substr(q);
  }
};

// Parses the request head at the start of buf[0, len). kComplete fills *out (head_len tells where
// the body starts); kBadRequest / kTooLarge set out->error and out->reject_status.
ParseStatus parse_request_head(const uint8_t* buf, size_t len, size_t limit, RequestHead* out);

struct ResponseHead {
  uint16_t status = 0;
  uint8_t version_minor = 1;
  route::HeaderView headers[kMaxHeaders];
  uint32_t n_headers = 0;
  uint32_t head_len = 0;
  bool keep_alive = false;
  bool chunked = false;
  int64_t content_length = -1;
  const char* error = nullptr;
};

// Parses a response head with the same line and field rules: `HTTP/1.x SP 3DIGIT SP reason
// CRLF`, reason of HTAB, SP, VCHAR or obs-text. Framing and keep-alive as for requests
// (Content-Length conflicts, Transfer-Encoding other than a final chunked are kBadRequest).
ParseStatus parse_response_head(const uint8_t* buf, size_t len, size_t limit, ResponseHead* out);

// ASCII case-insensitive equality, for field names and tokens.
bool iequals(std::string_view a, std::string_view b);

// The syntax checks the parser applies, for what Portico writes into a head itself (filter
// values come from configuration and must not smuggle a line break into a forwarded head).
bool valid_field_name(std::string_view name);    // token
bool valid_field_value(std::string_view value);  // no CTL but HTAB, no DEL
bool valid_host(std::string_view host);          // uri-host [":" port]
bool valid_origin_path(std::string_view path);   // "/" then path and query characters

}  // namespace nf::http
