// Forwarded heads, redirect Locations and Portico's own responses (nf/http_rewrite.h).
#include "nf/http_rewrite.h"

#include <cstring>

namespace nf::http {
namespace {

// Appends to a caller's buffer; once something does not fit, everything after is dropped and
// size() is 0, so a caller checks once at the end.
class Writer {
 public:
  Writer(char* out, size_t cap) : out_(out), cap_(cap) {}
  void put(std::string_view s) {
    if (overflow_ || s.size() > cap_ - pos_) {
      overflow_ = true;
      return;
    }
    if (!s.empty()) std::memcpy(out_ + pos_, s.data(), s.size());
    pos_ += s.size();
  }
  void put_uint(uint32_t v) {
    char digits[10];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char text[10];
    for (size_t i = 0; i < n; ++i) text[i] = digits[n - 1 - i];
    put(std::string_view(text, n));
  }
  void put_field(std::string_view name, std::string_view value) {
    put(name);
    put(": ");
    put(value);
    put("\r\n");
  }
  // Space left, for writers that fill it themselves (then advance()).
  char* tail() { return out_ + pos_; }
  size_t room() const { return overflow_ ? 0 : cap_ - pos_; }
  void advance(size_t n) {
    if (n == 0) overflow_ = true;
    pos_ += n;
  }
  size_t size() const { return overflow_ ? 0 : pos_; }

 private:
  char* out_;
  size_t cap_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

// Fields a header modifier may not touch (see http_rewrite.h).
bool protected_field(std::string_view name) {
  return iequals(name, "host") || iequals(name, "content-length") ||
         iequals(name, "transfer-encoding") || iequals(name, "connection");
}

bool valid_edit(const HeaderEdit& e) {
  return valid_field_name(e.name) && valid_field_value(e.value);
}

// At most this many entries per edit list: the Gateway API allows 16, and a fixed bound keeps
// the bookkeeping of which `set` entries were written on the stack.
constexpr uint32_t kMaxEdits = 64;

// The path a path modifier gives for this request, written by w.
void put_path(Writer* w, std::string_view path, uint8_t mode, std::string_view value,
              std::string_view matched_prefix) {
  if (mode == kPathFull) {
    w->put(value);
  } else if (mode == kPathPrefix) {
    w->advance(replace_prefix_match(path, matched_prefix, value, w->tail(), w->room()));
  } else {
    w->put(path);
  }
}

}  // namespace

size_t replace_prefix_match(std::string_view path, std::string_view prefix,
                            std::string_view replacement, char* out, size_t cap) {
  Writer w(out, cap);
  // A PathPrefix ignores a trailing '/', so "/foo/" matches like "/foo", and "/" matches
  // everything (its segment list is empty). The replacement's trailing '/' is dropped too, so
  // that "/xyz/" and "/xyz" both give "/xyz/bar" for "/foo/bar", never "/xyz//bar".
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  while (!replacement.empty() && replacement.back() == '/') replacement.remove_suffix(1);
  bool matches = path.substr(0, prefix.size()) == prefix &&
                 (path.size() == prefix.size() || path[prefix.size()] == '/');
  if (!matches) {
    w.put(path.empty() ? std::string_view("/") : path);
    return w.size();
  }
  std::string_view rest = path.substr(prefix.size());  // empty or from a '/'
  w.put(replacement);
  w.put(rest);
  if (replacement.empty() && rest.empty()) w.put("/");
  return w.size();
}

size_t rewrite_head(const RequestHead& head, const uint8_t* buf, const HeadEdits& edits,
                    uint8_t* out, size_t cap) {
  (void)buf;  // the views in head point into buf already
  if (edits.n_set > kMaxEdits || edits.n_add > kMaxEdits || edits.n_remove > kMaxEdits) return 0;
  for (uint32_t j = 0; j < edits.n_set; ++j)
    if (!valid_edit(edits.set[j])) return 0;
  for (uint32_t j = 0; j < edits.n_add; ++j)
    if (!valid_edit(edits.add[j])) return 0;
  if (!edits.host.empty() && !valid_host(edits.host)) return 0;
  if (edits.path_mode != kPathKeep && !valid_origin_path(edits.path_value) &&
      !(edits.path_mode == kPathPrefix && edits.path_value.empty()))
    return 0;

  Writer w(reinterpret_cast<char*>(out), cap);
  w.put(head.method);
  w.put(" ");
  if (edits.path_mode == kPathKeep) {
    w.put(head.target);  // byte for byte
  } else {
    put_path(&w, head.path(), edits.path_mode, edits.path_value, edits.matched_prefix);
    w.put(head.query());
  }
  w.put(head.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");

  // The Host to write in place of the received one, empty = keep the received line.
  std::string_view new_host = !edits.host.empty()  ? edits.host
                              : head.absolute_form ? head.host
                                                   : std::string_view();
  // RFC 9110 §7.2: Host first when Portico has to add it (HTTP/1.0 without Host).
  if (head.host_header < 0 && !new_host.empty()) w.put_field("Host", new_host);

  bool set_written[kMaxEdits] = {};
  bool connection_written = false;
  for (uint32_t i = 0; i < head.n_headers; ++i) {
    std::string_view name = head.headers[i].name;
    if (static_cast<int32_t>(i) == head.host_header && !new_host.empty()) {
      w.put_field("Host", new_host);
      continue;
    }
    if (edits.force_close && iequals(name, "connection")) {
      if (!connection_written) w.put("Connection: close\r\n");
      connection_written = true;
      continue;
    }
    if (!protected_field(name)) {
      bool removed = false;
      for (uint32_t j = 0; j < edits.n_remove && !removed; ++j)
        removed = iequals(name, edits.remove[j]);
      if (removed) continue;
      uint32_t j = 0;
      while (j < edits.n_set && !iequals(name, edits.set[j].name)) ++j;
      if (j < edits.n_set) {
        if (!set_written[j]) w.put_field(edits.set[j].name, edits.set[j].value);
        set_written[j] = true;
        continue;
      }
    }
    // The received line as it came, from its name to its CRLF (the parser saw the CR).
    const char* line = name.data();
    size_t n = 0;
    while (line[n] != '\r') ++n;
    w.put(std::string_view(line, n));
    w.put("\r\n");
  }
  for (uint32_t j = 0; j < edits.n_set; ++j) {
    if (set_written[j] || protected_field(edits.set[j].name)) continue;
    // A name listed twice in `set` is written once (the first entry), like a received one.
    bool earlier = false;
    for (uint32_t k = 0; k < j && !earlier; ++k)
      earlier = iequals(edits.set[k].name, edits.set[j].name);
    if (!earlier) w.put_field(edits.set[j].name, edits.set[j].value);
  }
  for (uint32_t j = 0; j < edits.n_add; ++j)
    if (!protected_field(edits.add[j].name)) w.put_field(edits.add[j].name, edits.add[j].value);
  if (edits.force_close && !connection_written) w.put("Connection: close\r\n");
  w.put("\r\n");
  return w.size();
}

size_t build_redirect_location(const RequestHead& head, const Redirect& redirect,
                               std::string_view request_scheme, uint16_t listener_port, char* out,
                               size_t cap) {
  if (!redirect.hostname.empty() && !valid_host(redirect.hostname)) return 0;
  if (redirect.path_mode != kPathKeep && !valid_origin_path(redirect.path_value) &&
      !(redirect.path_mode == kPathPrefix && redirect.path_value.empty()))
    return 0;
  std::string_view scheme = redirect.scheme.empty() ? request_scheme : redirect.scheme;
  if (scheme != "http" && scheme != "https") return 0;
  uint16_t port = redirect.port;
  if (port == 0) {
    // HTTPRequestRedirectFilter.Port: a set scheme implies its well-known port; with neither
    // set, the listener's port.
    if (!redirect.scheme.empty())
      port = redirect.scheme == "https" ? 443 : 80;
    else
      port = listener_port;
  }
  std::string_view host = redirect.hostname;
  if (host.empty()) {
    host = head.host;
    // Drop ":port"; an IPv6 literal keeps its brackets.
    size_t end = host.empty() || host[0] != '[' ? host.find(':') : host.find(']') + 1;
    host = host.substr(0, end);
  }
  Writer w(out, cap);
  if (!host.empty()) {
    w.put(scheme);
    w.put("://");
    w.put(host);
    bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    if (!default_port && port != 0) {
      w.put(":");
      w.put_uint(port);
    }
  }
  // The asterisk-form has no path to keep; "/" stands for the server.
  std::string_view path = head.target == "*" ? std::string_view("/") : head.path();
  put_path(&w, path, redirect.path_mode, redirect.path_value, redirect.matched_prefix);
  w.put(head.query());
  return w.size();
}

const char* reason_phrase(uint16_t status) {
  switch (status) {
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return nullptr;
  }
}

size_t build_response(uint16_t status, std::string_view location, uint8_t* out, size_t cap) {
  const char* reason = reason_phrase(status);
  if (reason == nullptr || !valid_field_value(location)) return 0;
  // Body: "404 Not Found\n": 3 digits, a space, the reason, a newline.
  size_t body_len = 3 + 1 + std::strlen(reason) + 1;
  Writer w(reinterpret_cast<char*>(out), cap);
  w.put("HTTP/1.1 ");
  w.put_uint(status);
  w.put(" ");
  w.put(reason);
  w.put("\r\nContent-Type: text/plain\r\nContent-Length: ");
  w.put_uint(static_cast<uint32_t>(body_len));
  w.put("\r\n");
  if (!location.empty()) w.put_field("Location", location);
  w.put("Connection: close\r\n\r\n");
  w.put_uint(status);
  w.put(" ");
  w.put(reason);
  w.put("\n");
  return w.size();
}

}  // namespace nf::http
