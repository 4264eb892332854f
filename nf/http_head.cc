// Strict HTTP/1.x head parsing (nf/http_head.h has the rules and the decisions taken).
//
// Two passes over the bytes: find_head_end() walks the lines up to the blank line, checking that
// every CR is followed by LF and no LF stands alone, so that an error or the end is found at the
// same byte however the head was split into segments; then the request-line (or status-line) and
// the fields are parsed within the head, which is known to be whole.
#include "nf/http_head.h"

#include <cstring>

namespace nf::http {
namespace {

using route::HeaderView;

// tchar (RFC 9110 §5.6.2): "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA.
bool is_tchar(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_hex(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(uint8_t c) { return c != 0 && std::strchr("!$&'()*+,;=", c) != nullptr; }

// field-vchar / SP / HTAB (RFC 9110 §5.5): everything but CTLs (HTAB excepted) and DEL.
bool is_field_char(uint8_t c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Path and query characters of an origin-form target (RFC 3986 §3.3, §3.4): pchar, "/", "?",
// with %-escapes of two hex digits.
bool valid_path_query(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!is_hex(static_cast<uint8_t>(s[i + 1])) || !is_hex(static_cast<uint8_t>(s[i + 2])))
        return false;
      i += 2;
      continue;
    }
    if (!is_unreserved(c) && !is_sub_delim(c) && c != ':' && c != '@' && c != '/' && c != '?')
      return false;
  }
  return true;
}

}  // namespace

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). uri-host is an IP-literal in
// brackets (IPv6 or IPvFuture: hex digits, ':', '.', unreserved and sub-delims; the exact
// address grammar is left to whoever resolves it), or a reg-name (unreserved, %-escapes,
// sub-delims), which covers IPv4 dotted quads. The port is digits, at most 65535.
bool valid_host(std::string_view h) {
  size_t i = 0;
  if (!h.empty() && h[0] == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (i = 1; i < close; ++i) {
      uint8_t c = static_cast<uint8_t>(h[i]);
      if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') return false;
    }
    i = close + 1;
  } else {
    for (; i < h.size() && h[i] != ':'; ++i) {
      uint8_t c = static_cast<uint8_t>(h[i]);
      if (c == '%') {
        if (i + 2 >= h.size() || !is_hex(static_cast<uint8_t>(h[i + 1])) ||
            !is_hex(static_cast<uint8_t>(h[i + 2])))
          return false;
        i += 2;
        continue;
      }
      if (!is_unreserved(c) && !is_sub_delim(c)) return false;
    }
  }
  if (i == h.size()) return true;
  if (h[i] != ':') return false;
  uint32_t port = 0;
  size_t digits = 0;
  for (++i; i < h.size(); ++i, ++digits) {
    if (h[i] < '0' || h[i] > '9' || digits == 5) return false;
    port = port * 10 + static_cast<uint32_t>(h[i] - '0');
  }
  return port <= 65535;
}

bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!is_tchar(static_cast<uint8_t>(c))) return false;
  return true;
}

bool valid_field_value(std::string_view value) {
  for (char c : value)
    if (!is_field_char(static_cast<uint8_t>(c))) return false;
  return true;
}

bool valid_origin_path(std::string_view path) {
  return !path.empty() && path[0] == '/' && valid_path_query(path);
}

namespace {

// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 §5.6.1:
// empty elements are allowed and ignored), OWS trimmed. Stops early when f returns false.
template <typename F>
bool for_each_element(std::string_view list, F f) {
  while (true) {
    size_t comma = list.find(',');
    std::string_view e = trim_ows(list.substr(0, comma));
    if (!e.empty() && !f(e)) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

// Where the head ends. Returns kComplete with *end just past the blank line, kIncomplete,
// kTooLarge (no blank line within limit) or kBadRequest (*error set). *start is where the first
// line begins after the skipped empty lines.
ParseStatus find_head_end(const uint8_t* buf, size_t len, size_t limit, size_t* start, size_t* end,
                          const char** error) {
  size_t scan = len < limit ? len : limit;
  size_t i = 0;
  // Empty lines before the first line (RFC 9112 §2.2).
  while (i + 1 < scan && buf[i] == '\r' && buf[i + 1] == '\n') i += 2;
  *start = i;
  size_t line = i;
  for (; i < scan; ++i) {
    if (buf[i] == '\n') {
      *error = "bare LF";
      return ParseStatus::kBadRequest;
    }
    if (buf[i] != '\r') continue;
    if (i + 1 >= scan) break;
    if (buf[i + 1] != '\n') {
      *error = "bare CR";
      return ParseStatus::kBadRequest;
    }
    if (i == line) {
      *end = i + 2;
      return ParseStatus::kComplete;
    }
    ++i;
    line = i + 1;
  }
  if (len >= limit) {
    *error = "head larger than the limit";
    return ParseStatus::kTooLarge;
  }
  return ParseStatus::kIncomplete;
}

// The fields shared by requests and responses, gathered in one pass over the field lines.
struct Fields {
  HeaderView* headers;
  uint32_t n = 0;
  int32_t host_index = -1;
  bool host_repeated = false;
  bool has_te = false;
  bool te_unsupported = false;  // a coding other than chunked (501 if chunked is last)
  bool te_bad = false;          // a coding after chunked, or chunked twice (400)
  int64_t content_length = -1;
  bool cl_bad = false;
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool expect_continue = false;
  uint32_t te_chunked_seen = 0;
  bool te_last_chunked = false;  // the last coding so far is chunked
  bool te_any = false;           // at least one coding
};

// Parses "1*DIGIT" without overflow; -1 when invalid.
int64_t parse_length(std::string_view s) {
  if (s.empty()) return -1;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    if (v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

void note_field(Fields* f, std::string_view name, std::string_view value, uint32_t index) {
  if (iequals(name, "host")) {
    if (f->host_index >= 0) f->host_repeated = true;
    f->host_index = static_cast<int32_t>(index);
  } else if (iequals(name, "content-length")) {
    bool any = false;
    for_each_element(value, [&](std::string_view e) {
      any = true;
      int64_t v = parse_length(e);
      if (v < 0 || (f->content_length >= 0 && v != f->content_length)) {
        f->cl_bad = true;
        return false;
      }
      f->content_length = v;
      return true;
    });
    if (!any) f->cl_bad = true;
  } else if (iequals(name, "transfer-encoding")) {
    f->has_te = true;
    // Several field lines form one list (RFC 9110 §5.3), so the state carries across lines.
    for_each_element(value, [&](std::string_view e) {
      f->te_any = true;
      if (f->te_last_chunked) f->te_bad = true;  // a coding after chunked
      f->te_last_chunked = iequals(e, "chunked");
      if (f->te_last_chunked) {
        if (++f->te_chunked_seen > 1) f->te_bad = true;
      } else {
        f->te_unsupported = true;
      }
      return true;
    });
  } else if (iequals(name, "connection")) {
    for_each_element(value, [&](std::string_view e) {
      if (iequals(e, "close")) f->conn_close = true;
      if (iequals(e, "keep-alive")) f->conn_keep_alive = true;
      return true;
    });
  } else if (iequals(name, "expect")) {
    if (iequals(value, "100-continue")) f->expect_continue = true;
  }
}

// Parses the field lines in head[0, n) (each ending in CRLF, the blank line excluded).
// Returns kComplete, kBadRequest or kTooLarge with *error set.
ParseStatus parse_fields(const char* p, size_t n, Fields* f, const char** error) {
  size_t i = 0;
  while (i < n) {
    size_t eol = i;
    while (p[eol] != '\r') ++eol;  // find_head_end() checked every line ends in CRLF
    if (p[i] == ' ' || p[i] == '\t') {
      *error = "obsolete line folding";
      return ParseStatus::kBadRequest;
    }
    size_t colon = i;
    while (colon < eol && is_tchar(static_cast<uint8_t>(p[colon]))) ++colon;
    if (colon == eol || p[colon] != ':') {
      *error = "invalid header field name";
      return ParseStatus::kBadRequest;
    }
    if (colon == i) {
      *error = "empty header field name";
      return ParseStatus::kBadRequest;
    }
    size_t v = colon + 1;
    while (v < eol && is_ows(p[v])) ++v;
    size_t ve = eol;
    while (ve > v && is_ows(p[ve - 1])) --ve;
    for (size_t k = v; k < ve; ++k) {
      if (!is_field_char(static_cast<uint8_t>(p[k]))) {
        *error = "invalid character in header field value";
        return ParseStatus::kBadRequest;
      }
    }
    if (f->n == kMaxHeaders) {
      *error = "too many header fields";
      return ParseStatus::kTooLarge;
    }
    std::string_view name(p + i, colon - i), value(p + v, ve - v);
    f->headers[f->n] = HeaderView{name, value};
    note_field(f, name, value, f->n);
    ++f->n;
    i = eol + 2;
  }
  return ParseStatus::kComplete;
}

// Message framing from the gathered fields (RFC 9112 §6). Returns 0 when fine, else the status
// to answer with and *error.
uint16_t check_framing(const Fields& f, uint8_t version_minor, const char** error) {
  if (f.cl_bad) {
    *error = "invalid Content-Length";
    return 400;
  }
  if (!f.has_te) return 0;
  if (f.content_length >= 0) {
    *error = "both Content-Length and Transfer-Encoding";
    return 400;
  }
  if (version_minor == 0) {
    *error = "Transfer-Encoding in HTTP/1.0";
    return 400;
  }
  if (!f.te_any || f.te_bad || !f.te_last_chunked) {
    *error = "chunked is not the final transfer coding";
    return 400;
  }
  if (f.te_unsupported) {
    *error = "unsupported transfer coding";
    return 501;
  }
  return 0;
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). Returns 1 for
// HTTP/1.x with x in {0, 1} (*minor set), 505 for another well-formed version, 400 otherwise.
uint16_t parse_version(std::string_view v, uint8_t* minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9')
    return 400;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return 505;
  *minor = static_cast<uint8_t>(v[7] - '0');
  return 1;
}

// Length of the line at p, whose CRLF find_head_end() has seen.
size_t line_length(const char* p) {
  size_t n = 0;
  while (p[n] != '\r') ++n;
  return n;
}

ParseStatus reject(RequestHead* out, ParseStatus s, uint16_t status, const char* error) {
  out->reject_status = status;
  out->error = error;
  return s;
}

// The request-target (RFC 9112 §3.2). Sets out->target, and out->host for absolute-form.
// Returns nullptr when fine, else the reason (400).
const char* parse_target(std::string_view method, std::string_view t, RequestHead* out) {
  if (t == "*") {
    if (method != "OPTIONS") return "asterisk-form target without OPTIONS";
    out->target = t;
    return nullptr;
  }
  if (!t.empty() && t[0] == '/') {
    if (!valid_path_query(t)) return "invalid character in request-target";
    out->target = t;
    return nullptr;
  }
  size_t skip;
  if (t.size() >= 7 && iequals(t.substr(0, 7), "http://")) {
    skip = 7;
  } else if (t.size() >= 8 && iequals(t.substr(0, 8), "https://")) {
    skip = 8;
  } else {
    return "request-target is not origin-form or http(s) absolute-form";
  }
  std::string_view rest = t.substr(skip);
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return "userinfo in request-target";
  if (authority.empty() || authority[0] == ':' || !valid_host(authority))
    return "invalid authority in request-target";
  out->host = authority;
  out->absolute_form = true;
  if (end == std::string_view::npos) {
    out->target = "/";
    return nullptr;
  }
  std::string_view pq = rest.substr(end);
  if (pq[0] == '?') return "empty path with a query in absolute-form";
  if (!valid_path_query(pq)) return "invalid character in request-target";
  out->target = pq;
  return nullptr;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

ParseStatus parse_request_head(const uint8_t* buf, size_t len, size_t limit, RequestHead* out) {
  out->method = out->target = out->host = {};
  out->version_minor = 1;
  out->n_headers = 0;
  out->head_len = 0;
  out->keep_alive = out->chunked = out->expect_continue = out->absolute_form = false;
  out->content_length = -1;
  out->error = nullptr;
  out->reject_status = 0;
  out->line_start = 0;
  out->host_header = -1;

  size_t start = 0, end = 0;
  const char* error = nullptr;
  ParseStatus s = find_head_end(buf, len, limit, &start, &end, &error);
  if (s == ParseStatus::kIncomplete) return s;
  if (s != ParseStatus::kComplete)
    return reject(out, s, s == ParseStatus::kTooLarge ? 431 : 400, error);

  const char* p = reinterpret_cast<const char*>(buf);
  // Request-line: from start to its CRLF.
  std::string_view line(p + start, line_length(p + start));
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0)
    return reject(out, ParseStatus::kBadRequest, 400, "malformed request-line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
      line.find(' ', sp2 + 1) != std::string_view::npos)
    return reject(out, ParseStatus::kBadRequest, 400, "malformed request-line");
  std::string_view method = line.substr(0, sp1);
  for (char c : method)
    if (!is_tchar(static_cast<uint8_t>(c)))
      return reject(out, ParseStatus::kBadRequest, 400, "invalid method");
  uint8_t minor = 1;
  uint16_t v = parse_version(line.substr(sp2 + 1), &minor);
  if (v != 1)
    return reject(out, ParseStatus::kBadRequest, v,
                  v == 505 ? "unsupported HTTP version" : "malformed HTTP version");
  if (const char* e = parse_target(method, line.substr(sp1 + 1, sp2 - sp1 - 1), out))
    return reject(out, ParseStatus::kBadRequest, 400, e);
  out->method = method;
  out->version_minor = minor;

  Fields f;
  f.headers = out->headers;
  size_t fields_at = start + line.size() + 2;
  s = parse_fields(p + fields_at, end - 2 - fields_at, &f, &error);
  out->n_headers = f.n;
  if (s != ParseStatus::kComplete)
    return reject(out, s, s == ParseStatus::kTooLarge ? 431 : 400, error);
  if (f.host_repeated) return reject(out, ParseStatus::kBadRequest, 400, "duplicate Host");
  if (f.host_index < 0 && minor == 1)
    return reject(out, ParseStatus::kBadRequest, 400, "missing Host");
  if (f.host_index >= 0) {
    std::string_view h = out->headers[f.host_index].value;
    if (!valid_host(h)) return reject(out, ParseStatus::kBadRequest, 400, "invalid Host");
    if (!out->absolute_form) out->host = h;
  }
  if (uint16_t st = check_framing(f, minor, &error))
    return reject(out, ParseStatus::kBadRequest, st, error);

  out->host_header = f.host_index;
  out->line_start = static_cast<uint32_t>(start);
  out->head_len = static_cast<uint32_t>(end);
  out->chunked = f.has_te;
  out->content_length = f.content_length;
  out->keep_alive = minor == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
  out->expect_continue = minor == 1 && f.expect_continue;
  return ParseStatus::kComplete;
}

ParseStatus parse_response_head(const uint8_t* buf, size_t len, size_t limit, ResponseHead* out) {
  out->status = 0;
  out->version_minor = 1;
  out->n_headers = 0;
  out->head_len = 0;
  out->keep_alive = out->chunked = false;
  out->content_length = -1;
  out->error = nullptr;

  size_t start = 0, end = 0;
  const char* error = nullptr;
  ParseStatus s = find_head_end(buf, len, limit, &start, &end, &error);
  if (s == ParseStatus::kIncomplete) return s;
  if (s != ParseStatus::kComplete) {
    out->error = error;
    return s;
  }
  if (start != 0) {
    out->error = "empty line before the status-line";
    return ParseStatus::kBadRequest;
  }
  const char* p = reinterpret_cast<const char*>(buf);
  std::string_view line(p, line_length(p));
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
  uint8_t minor = 1;
  if (line.size() < 13 || parse_version(line.substr(0, 8), &minor) != 1 || line[8] != ' ' ||
      line[12] != ' ') {
    out->error = "malformed status-line";
    return ParseStatus::kBadRequest;
  }
  uint16_t status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      out->error = "malformed status code";
      return ParseStatus::kBadRequest;
    }
    status = static_cast<uint16_t>(status * 10 + (line[i] - '0'));
  }
  if (status < 100) {
    out->error = "malformed status code";
    return ParseStatus::kBadRequest;
  }
  for (size_t i = 13; i < line.size(); ++i) {
    if (!is_field_char(static_cast<uint8_t>(line[i]))) {
      out->error = "invalid character in reason-phrase";
      return ParseStatus::kBadRequest;
    }
  }
  Fields f;
  f.headers = out->headers;
  s = parse_fields(p + line.size() + 2, end - 2 - (line.size() + 2), &f, &error);
  out->n_headers = f.n;
  if (s != ParseStatus::kComplete) {
    out->error = error;
    return s;
  }
  if (check_framing(f, minor, &error) != 0) {
    out->error = error;
    return ParseStatus::kBadRequest;
  }
  out->status = status;
  out->version_minor = minor;
  out->head_len = static_cast<uint32_t>(end);
  out->chunked = f.has_te;
  out->content_length = f.content_length;
  out->keep_alive = minor == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
  return ParseStatus::kComplete;
}

}  // namespace nf::http
