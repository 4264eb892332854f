// Forwarded heads, redirect Locations and Portico's own responses (nf/http_rewrite.h).
//
// Each rewrite case gives a received head, the filters and the exact head the backend must
// get; the output must also parse again with the same method and Host semantics, and be 0 for
// every buffer one byte too small. The ReplacePrefixMatch table is the spec's (digest §1.3) plus
// the conformance paths; the Location table is the redirect conformance tests' (digest §5);
// every response Portico sends parses back as a response with its body length.
#include "nf/http_rewrite.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nf::http {
namespace {

RequestHead parsed(const std::string& s) {
  RequestHead h;
  ParseStatus st = parse_request_head(reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                                      kDefaultHeadLimit, &h);
  EXPECT_EQ(st, ParseStatus::kComplete) << s << (h.error ? h.error : "");
  return h;
}

// Rewrites, checks that every smaller buffer gives 0, and returns the text ("" when 0).
std::string rewrite(const std::string& in, const HeadEdits& e) {
  RequestHead h = parsed(in);
  std::vector<uint8_t> out(in.size() + 4096);
  size_t n =
      rewrite_head(h, reinterpret_cast<const uint8_t*>(in.data()), e, out.data(), out.size());
  if (n == 0) return "";
  EXPECT_EQ(rewrite_head(h, reinterpret_cast<const uint8_t*>(in.data()), e, out.data(), n), n);
  for (size_t cap = 0; cap < n; ++cap) {
    std::vector<uint8_t> small(cap);
    EXPECT_EQ(rewrite_head(h, reinterpret_cast<const uint8_t*>(in.data()), e, small.data(), cap),
              0u)
        << "cap " << cap;
  }
  return std::string(reinterpret_cast<char*>(out.data()), n);
}

const HeaderEdit kSetOne[] = {{"X-Header-Set", "set-overwrites-values"}};
const HeaderEdit kAddOne[] = {{"X-Header-Add", "add-appends-values"}};
const std::string_view kRemoveOne[] = {"X-Header-Remove"};

TEST(HttpRewrite, NoEditsIsByteIdentical) {
  const char* heads[] = {
      "GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\nHost: very.specific.com:1234\r\nX-A:  v \r\n\r\n",
      "POST /p HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n",
      "GET /x HTTP/1.1\r\nhost:h\r\nx-y:\r\nX-Z:\t z\t\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
  };
  for (const char* in : heads) EXPECT_EQ(rewrite(in, HeadEdits{}), in);
  // Leading empty lines are not forwarded.
  EXPECT_EQ(rewrite("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", HeadEdits{}),
            "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
}

struct RewriteCase {
  const char* desc;
  std::string in;
  HeadEdits edits;
  std::string want;
};

HeadEdits set_edits(const HeaderEdit* set, uint32_t n) {
  HeadEdits e;
  e.set = set;
  e.n_set = n;
  return e;
}

TEST(HttpRewrite, Cases) {
  static const HeaderEdit kSetCase[] = {{"x-header-set", "header-set"}};
  static const HeaderEdit kAddTwo[] = {{"X-Header-Add", "a1"}, {"x-lowercase-add", "a2"}};
  static const std::string_view kRemoveCase[] = {"x-header-remove", "Absent"};
  static const HeaderEdit kProtected[] = {{"Host", "evil"},
                                          {"Content-Length", "0"},
                                          {"transfer-encoding", "chunked"},
                                          {"Connection", "keep-alive"}};
  static const std::string_view kRemoveProtected[] = {"host", "content-length", "connection"};
  std::vector<RewriteCase> cases;
  cases.push_back(
      {"set overwrites every occurrence where the first stood",
       "GET / HTTP/1.1\r\nHost: h\r\nx-header-set: a\r\nB: b\r\nX-HEADER-SET: c\r\n\r\n",
       set_edits(kSetOne, 1),
       "GET / HTTP/1.1\r\nHost: h\r\nX-Header-Set: set-overwrites-values\r\nB: b\r\n\r\n"});
  cases.push_back({"set names match in any case",
                   "GET / HTTP/1.1\r\nX-Header-Set: o\r\nHost: h\r\n\r\n", set_edits(kSetCase, 1),
                   "GET / HTTP/1.1\r\nx-header-set: header-set\r\nHost: h\r\n\r\n"});
  cases.push_back(
      {"set appends when absent", "GET / HTTP/1.1\r\nHost: h\r\nB: b\r\n\r\n",
       set_edits(kSetOne, 1),
       "GET / HTTP/1.1\r\nHost: h\r\nB: b\r\nX-Header-Set: set-overwrites-values\r\n\r\n"});
  {
    HeadEdits e;
    e.add = kAddTwo;
    e.n_add = 2;
    cases.push_back({"add appends repeated field lines",
                     "GET / HTTP/1.1\r\nHost: h\r\nx-header-add: original\r\n\r\n", e,
                     "GET / HTTP/1.1\r\nHost: h\r\nx-header-add: original\r\nX-Header-Add: a1\r\n"
                     "x-lowercase-add: a2\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.remove = kRemoveCase;
    e.n_remove = 2;
    cases.push_back(
        {"remove drops every occurrence, any case",
         "GET / HTTP/1.1\r\nX-Header-Remove: 1\r\nHost: h\r\nx-header-remove: 2\r\n\r\n", e,
         "GET / HTTP/1.1\r\nHost: h\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.host = "one.example.org";
    cases.push_back({"hostname rewrite drops the port in place",
                     "GET /one HTTP/1.1\r\nA: 1\r\nHost: rewrite.example:8080\r\nB: 2\r\n\r\n", e,
                     "GET /one HTTP/1.1\r\nA: 1\r\nHost: one.example.org\r\nB: 2\r\n\r\n"});
    cases.push_back({"hostname rewrite adds Host to 1.0 without one",
                     "GET /one HTTP/1.0\r\nA: 1\r\n\r\n", e,
                     "GET /one HTTP/1.0\r\nHost: one.example.org\r\nA: 1\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.path_mode = kPathFull;
    e.path_value = "/one";
    cases.push_back({"ReplaceFullPath keeps the query",
                     "GET /full/one/two?a=1&b=%20 HTTP/1.1\r\nHost: h\r\n\r\n", e,
                     "GET /one?a=1&b=%20 HTTP/1.1\r\nHost: h\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.path_mode = kPathPrefix;
    e.path_value = "/one";
    e.matched_prefix = "/prefix/one";
    cases.push_back({"ReplacePrefixMatch keeps the query",
                     "GET /prefix/one/two?x HTTP/1.1\r\nHost: h\r\n\r\n", e,
                     "GET /one/two?x HTTP/1.1\r\nHost: h\r\n\r\n"});
    e.path_value = "/";
    e.matched_prefix = "/strip-prefix";
    cases.push_back({"ReplacePrefixMatch to /", "GET /strip-prefix HTTP/1.1\r\nHost: h\r\n\r\n", e,
                     "GET / HTTP/1.1\r\nHost: h\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.force_close = true;
    cases.push_back(
        {"force_close replaces every Connection field",
         "GET / HTTP/1.1\r\nConnection: keep-alive\r\nHost: h\r\nconnection: Upgrade\r\n"
         "\r\n",
         e, "GET / HTTP/1.1\r\nConnection: close\r\nHost: h\r\n\r\n"});
    cases.push_back({"force_close appends when absent", "GET / HTTP/1.0\r\nHost: h\r\n\r\n", e,
                     "GET / HTTP/1.0\r\nHost: h\r\nConnection: close\r\n\r\n"});
  }
  {
    HeadEdits e;
    cases.push_back({"absolute-form goes out in origin-form with its authority as Host",
                     "GET http://a.example:81/p?q HTTP/1.1\r\nHost: other\r\nX: 1\r\n\r\n", e,
                     "GET /p?q HTTP/1.1\r\nHost: a.example:81\r\nX: 1\r\n\r\n"});
    cases.push_back({"absolute-form with an empty path, 1.0 without Host",
                     "GET http://a.example HTTP/1.0\r\n\r\n", e,
                     "GET / HTTP/1.0\r\nHost: a.example\r\n\r\n"});
  }
  {
    HeadEdits e;
    e.set = kProtected;
    e.n_set = 4;
    e.add = kProtected;
    e.n_add = 4;
    e.remove = kRemoveProtected;
    e.n_remove = 3;
    cases.push_back(
        {"edits of Host and framing fields are ignored",
         "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", e,
         "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"});
  }
  {
    // HTTPRouteRewriteHost /rewrite-host-and-modify-headers, plus a prefix rewrite and close.
    static const HeaderEdit kSet[] = {{"X-Header-Set", "set-overwrites-values"}};
    static const HeaderEdit kAdd[] = {{"X-Header-Add", "header-val-1"},
                                      {"X-Header-Add-Append", "header-val-2"}};
    HeadEdits e;
    e.set = kSet;
    e.n_set = 1;
    e.add = kAdd;
    e.n_add = 2;
    e.remove = kRemoveOne;
    e.n_remove = 1;
    e.host = "test.example.org";
    e.path_mode = kPathPrefix;
    e.path_value = "/prefix";
    e.matched_prefix = "/prefix/rewrite-path-and-modify-headers";
    e.force_close = true;
    cases.push_back({"combined",
                     "GET /prefix/rewrite-path-and-modify-headers/one?k=v HTTP/1.1\r\n"
                     "Host: rewrite.example\r\nX-Header-Add-Append: append-val-1\r\n"
                     "X-Header-Set: some-other-value\r\nX-Header-Remove: val\r\n"
                     "Connection: keep-alive\r\nUser-Agent: t\r\n\r\n",
                     e,
                     "GET /prefix/one?k=v HTTP/1.1\r\nHost: test.example.org\r\n"
                     "X-Header-Add-Append: append-val-1\r\n"
                     "X-Header-Set: set-overwrites-values\r\nConnection: close\r\nUser-Agent: t\r\n"
                     "X-Header-Add: header-val-1\r\nX-Header-Add-Append: header-val-2\r\n\r\n"});
  }
  for (const RewriteCase& c : cases) {
    SCOPED_TRACE(c.desc);
    std::string got = rewrite(c.in, c.edits);
    EXPECT_EQ(got, c.want);
    if (got.empty()) continue;
    // What the backend gets parses with the same method and Host semantics.
    RequestHead in = parsed(c.in), out = parsed(got);
    EXPECT_EQ(out.method, in.method);
    EXPECT_EQ(out.version_minor, in.version_minor);
    std::string_view want_host = c.edits.host.empty() ? in.host : c.edits.host;
    EXPECT_EQ(out.host, want_host);
    EXPECT_EQ(out.query(), in.query());
    EXPECT_EQ(out.content_length, in.content_length);
    EXPECT_EQ(out.chunked, in.chunked);
    if (c.edits.force_close) {
      EXPECT_FALSE(out.keep_alive);
    }
  }
}

TEST(HttpRewrite, InvalidEditsAreRefused) {
  std::string in = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  RequestHead h = parsed(in);
  uint8_t out[512];
  const uint8_t* b = reinterpret_cast<const uint8_t*>(in.data());
  static const HeaderEdit kBadValue[] = {{"X", "a\r\nInjected: 1"}};
  static const HeaderEdit kBadName[] = {{"X Y", "v"}};
  HeadEdits e;
  e.set = kBadValue;
  e.n_set = 1;
  EXPECT_EQ(rewrite_head(h, b, e, out, sizeof out), 0u);
  e = HeadEdits{};
  e.add = kBadName;
  e.n_add = 1;
  EXPECT_EQ(rewrite_head(h, b, e, out, sizeof out), 0u);
  e = HeadEdits{};
  e.host = "a b";
  EXPECT_EQ(rewrite_head(h, b, e, out, sizeof out), 0u);
  e = HeadEdits{};
  e.path_mode = kPathFull;
  e.path_value = "/a b";
  EXPECT_EQ(rewrite_head(h, b, e, out, sizeof out), 0u);
  e.path_value = "/ok";
  EXPECT_GT(rewrite_head(h, b, e, out, sizeof out), 0u);
}

struct PrefixCase {
  const char* path;
  const char* prefix;
  const char* replacement;
  const char* want;
};

TEST(HttpRewrite, ReplacePrefixMatchTable) {
  const PrefixCase cases[] = {
      // The spec's table (HTTPPathModifier, digest §1.3).
      {"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
      {"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
      {"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
      {"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
      {"/foo", "/foo", "/xyz", "/xyz"},
      {"/foo/", "/foo", "/xyz", "/xyz/"},
      {"/foo/bar", "/foo", "", "/bar"},
      {"/foo/", "/foo", "", "/"},
      {"/foo", "/foo", "", "/"},
      {"/foo/", "/foo", "/", "/"},
      {"/foo", "/foo", "/", "/"},
      // Conformance (HTTPRouteRewritePath, HTTPRouteRedirectPath, backend URL rewrite).
      {"/prefix/one/two", "/prefix/one", "/one", "/one/two"},
      {"/strip-prefix/three", "/strip-prefix", "/", "/three"},
      {"/strip-prefix", "/strip-prefix", "/", "/"},
      {"/prefix/rewrite-path-and-modify-headers/one", "/prefix/rewrite-path-and-modify-headers",
       "/prefix", "/prefix/one"},
      {"/original-prefix/lemon", "/original-prefix", "/replacement-prefix",
       "/replacement-prefix/lemon"},
      {"/prefix/original", "/prefix", "/redirected-prefix", "/redirected-prefix/original"},
      // Prefix "/" (unspecified upstream; #4660's proposal): the replacement goes in front.
      {"/foo", "/", "/xyz", "/xyz/foo"},
      {"/", "/", "/xyz", "/xyz/"},
      {"/foo", "/", "/", "/foo"},
      // Segment-wise: a prefix that does not end on a segment boundary leaves the path as is.
      {"/foobar", "/foo", "/xyz", "/foobar"},
      {"/other", "/foo", "/xyz", "/other"},
      {"/foo//bar", "/foo", "/xyz", "/xyz//bar"},
  };
  for (const PrefixCase& c : cases) {
    SCOPED_TRACE(std::string(c.path) + " " + c.prefix + " " + c.replacement);
    char out[128];
    size_t n = replace_prefix_match(c.path, c.prefix, c.replacement, out, sizeof out);
    EXPECT_EQ(std::string(out, n), c.want);
    for (size_t cap = 0; cap < n; ++cap)
      EXPECT_EQ(replace_prefix_match(c.path, c.prefix, c.replacement, out, cap), 0u);
    EXPECT_EQ(replace_prefix_match(c.path, c.prefix, c.replacement, out, n), n);
  }
}

struct RedirectCase {
  const char* desc;
  const char* request;  // request-target and Host as "target host"
  const char* host;
  Redirect redirect;
  const char* listener_scheme;
  uint16_t listener_port;
  const char* want;
};

Redirect redirect(const char* scheme, const char* hostname, uint16_t port) {
  Redirect r;
  r.scheme = scheme;
  r.hostname = hostname;
  r.port = port;
  return r;
}

Redirect path_redirect(uint8_t mode, const char* value, const char* prefix) {
  Redirect r;
  r.path_mode = mode;
  r.path_value = value;
  r.matched_prefix = prefix;
  return r;
}

TEST(HttpRewrite, RedirectLocations) {
  const RedirectCase cases[] = {
      // HTTPRouteRedirectHostAndStatus / Path / Port / Scheme, from listener 80/HTTP.
      {"hostname", "/hostname-redirect", "gw:80", redirect("", "example.org", 0), "http", 80,
       "http://example.org/hostname-redirect"},
      {"defaults: request host without port, listener port", "/a?b=1", "gw.example:80",
       redirect("", "", 0), "http", 80, "http://gw.example/a?b=1"},
      {"prefix path", "/original-prefix/lemon", "gw",
       path_redirect(kPathPrefix, "/replacement-prefix", "/original-prefix"), "http", 80,
       "http://gw/replacement-prefix/lemon"},
      {"full path keeps the query", "/full/path/original?x=1", "gw",
       path_redirect(kPathFull, "/full-path-replacement", ""), "http", 80,
       "http://gw/full-path-replacement?x=1"},
      {"port", "/port", "gw", redirect("", "", 8083), "http", 80, "http://gw:8083/port"},
      {"port and host", "/port-and-host", "gw", redirect("", "example.org", 8083), "http", 80,
       "http://example.org:8083/port-and-host"},
      {"scheme", "/scheme", "gw:80", redirect("https", "", 0), "http", 80, "https://gw/scheme"},
      {"scheme and host", "/scheme-and-host", "gw", redirect("https", "example.org", 0), "http", 80,
       "https://example.org/scheme-and-host"},
      // HTTPRouteRedirectPortAndScheme from listener 80/HTTP.
      {"80: nil nil", "/p", "gw", redirect("", "example.org", 0), "http", 80,
       "http://example.org/p"},
      {"80: nil 80", "/p", "gw", redirect("", "example.org", 80), "http", 80,
       "http://example.org/p"},
      {"80: nil 8080", "/p", "gw", redirect("", "example.org", 8080), "http", 80,
       "http://example.org:8080/p"},
      {"80: https nil", "/p", "gw", redirect("https", "example.org", 0), "http", 80,
       "https://example.org/p"},
      {"80: https 443", "/p", "gw", redirect("https", "example.org", 443), "http", 80,
       "https://example.org/p"},
      {"80: https 8443", "/p", "gw", redirect("https", "example.org", 8443), "http", 80,
       "https://example.org:8443/p"},
      // From listener 8080/HTTP.
      {"8080: nil nil", "/p", "gw:8080", redirect("", "example.org", 0), "http", 8080,
       "http://example.org:8080/p"},
      {"8080: nil 80", "/p", "gw:8080", redirect("", "example.org", 80), "http", 8080,
       "http://example.org/p"},
      {"8080: https nil", "/p", "gw:8080", redirect("https", "example.org", 0), "http", 8080,
       "https://example.org/p"},
      {"8080: defaults keep the listener port, drop the Host port", "/p", "gw:1234",
       redirect("", "", 0), "http", 8080, "http://gw:8080/p"},
      // From listener 443/HTTPS.
      {"443: nil nil", "/p", "example.org", redirect("", "example.org", 0), "https", 443,
       "https://example.org/p"},
      {"443: nil 443", "/p", "example.org", redirect("", "example.org", 443), "https", 443,
       "https://example.org/p"},
      {"443: nil 8443", "/p", "example.org", redirect("", "example.org", 8443), "https", 443,
       "https://example.org:8443/p"},
      {"443: http nil", "/p", "example.org", redirect("http", "example.org", 0), "https", 443,
       "http://example.org/p"},
      {"443: http 80", "/p", "example.org", redirect("http", "example.org", 80), "https", 443,
       "http://example.org/p"},
      {"443: http 8080", "/p", "example.org", redirect("http", "example.org", 8080), "https", 443,
       "http://example.org:8080/p"},
      // Hosts.
      {"IPv6 literal Host keeps its brackets", "/p", "[2001:db8::1]:8080", redirect("", "", 0),
       "http", 80, "http://[2001:db8::1]/p"},
      {"HTTP/1.0 without Host: relative Location", "/p?q", "", redirect("", "", 0), "http", 80,
       "/p?q"},
  };
  for (const RedirectCase& c : cases) {
    SCOPED_TRACE(c.desc);
    std::string in = std::string("GET ") + c.request +
                     (c.host[0] ? " HTTP/1.1\r\nHost: " : " HTTP/1.0") + c.host + "\r\n\r\n";
    RequestHead h = parsed(in);
    char out[256];
    size_t n =
        build_redirect_location(h, c.redirect, c.listener_scheme, c.listener_port, out, sizeof out);
    EXPECT_EQ(std::string(out, n), c.want);
    for (size_t cap = 0; cap < n; ++cap)
      EXPECT_EQ(
          build_redirect_location(h, c.redirect, c.listener_scheme, c.listener_port, out, cap), 0u);
  }
  // A hostname or path that would not be a valid Location is refused.
  RequestHead h = parsed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  char out[256];
  EXPECT_EQ(build_redirect_location(h, redirect("", "a\r\nb", 0), "http", 80, out, sizeof out), 0u);
  EXPECT_EQ(build_redirect_location(h, redirect("ftp", "", 0), "http", 80, out, sizeof out), 0u);
}

TEST(HttpRewrite, ResponsesParseBack) {
  const uint16_t statuses[] = {301, 302, 303, 307, 308, 400, 404, 421, 431, 500, 501, 503, 505};
  for (uint16_t status : statuses) {
    SCOPED_TRACE(status);
    for (std::string location : {std::string(), std::string("https://example.org:8443/p?q")}) {
      uint8_t out[512];
      size_t n = build_response(status, location, out, sizeof out);
      ASSERT_GT(n, 0u);
      ResponseHead r;
      ASSERT_EQ(parse_response_head(out, n, kDefaultHeadLimit, &r), ParseStatus::kComplete)
          << r.error;
      EXPECT_EQ(r.status, status);
      EXPECT_EQ(r.version_minor, 1);
      EXPECT_FALSE(r.keep_alive);
      EXPECT_FALSE(r.chunked);
      ASSERT_EQ(r.content_length, static_cast<int64_t>(n - r.head_len));
      std::string body(reinterpret_cast<char*>(out) + r.head_len, n - r.head_len);
      EXPECT_EQ(body, std::to_string(status) + " " + reason_phrase(status) + "\n");
      std::string got_location;
      for (uint32_t i = 0; i < r.n_headers; ++i)
        if (iequals(r.headers[i].name, "location")) got_location = r.headers[i].value;
      EXPECT_EQ(got_location, location);
      for (size_t cap = 0; cap < n; ++cap)
        EXPECT_EQ(build_response(status, location, out, cap), 0u);
    }
  }
  uint8_t out[512];
  std::string full(reinterpret_cast<char*>(out), build_response(404, "", out, sizeof out));
  EXPECT_EQ(full,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
            "Connection: close\r\n\r\n404 Not Found\n");
  EXPECT_EQ(build_response(200, "", out, sizeof out), 0u);  // not one Portico sends
  EXPECT_EQ(build_response(302, "/a\r\nSet-Cookie: x", out, sizeof out), 0u);
}

}  // namespace
}  // namespace nf::http
