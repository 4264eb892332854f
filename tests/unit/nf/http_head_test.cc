// HTTP/1.x request-head parser (nf/http_head.h).
//
// Tables of heads: valid ones with every field the parser reports, each also fed one byte more
// at a time (as segments arrive) where every shorter prefix must be kIncomplete; and one bad
// head per rule of RFC 9112 the parser enforces, each with the status it must answer, where no
// prefix may give another final status. Every head is parsed where it ends at an inaccessible
// page, so a read past the bytes given crashes instead of passing.
#include "nf/http_head.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nf::http {
namespace {

using namespace std::string_literals;

// Bytes placed so that their last byte is the last readable byte before a PROT_NONE page.
class GuardedBytes {
 public:
  static constexpr size_t kPages = 16;  // room for heads of up to 60 KiB
  GuardedBytes() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* m = mmap(nullptr, (kPages + 1) * page_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + kPages * page_, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardedBytes() { munmap(base_, (kPages + 1) * page_); }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;

  const uint8_t* place(const std::string& s, size_t n) {
    if (n > kPages * page_) std::abort();
    uint8_t* p = base_ + kPages * page_ - n;
    std::memcpy(p, s.data(), n);
    return p;
  }

 private:
  size_t page_ = 0;
  uint8_t* base_ = nullptr;
};

GuardedBytes& guard() {
  static GuardedBytes g;
  return g;
}

ParseStatus parse(const std::string& s, RequestHead* h, size_t n = std::string::npos,
                  size_t limit = kDefaultHeadLimit) {
  if (n == std::string::npos) n = s.size();
  return parse_request_head(guard().place(s, n), n, limit, h);
}

std::string str(ParseStatus s) {
  switch (s) {
    case ParseStatus::kIncomplete:
      return "incomplete";
    case ParseStatus::kComplete:
      return "complete";
    case ParseStatus::kBadRequest:
      return "bad-request";
    case ParseStatus::kTooLarge:
      return "too-large";
  }
  return "?";
}

std::string field(const RequestHead& h, uint32_t i) {
  return std::string(h.headers[i].name) + "=" + std::string(h.headers[i].value);
}

struct ValidCase {
  const char* desc;
  std::string head;
  const char* method;
  const char* target;
  const char* host;
  int minor;
  uint32_t n_headers;
  bool keep_alive;
  bool chunked;
  int64_t content_length;
  bool expect_continue;
};

const ValidCase kValid[] = {
    {"minimal 1.1", "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n", "GET", "/", "a.example", 1, 1,
     true, false, -1, false},
    {"host with port", "GET /x HTTP/1.1\r\nHost: very.specific.com:1234\r\n\r\n", "GET", "/x",
     "very.specific.com:1234", 1, 1, true, false, -1, false},
    {"IPv6 literal host", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n", "GET", "/",
     "[2001:db8::1]:8080", 1, 1, true, false, -1, false},
    {"IPv4 host", "GET / HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n", "GET", "/", "192.0.2.1", 1, 1, true,
     false, -1, false},
    {"empty Host is valid", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "GET", "/", "", 1, 1, true, false,
     -1, false},
    {"query and escapes", "GET /a/b%20c;p=1/@:x?animal=whale&q=a/b?c HTTP/1.1\r\nHost: h\r\n\r\n",
     "GET", "/a/b%20c;p=1/@:x?animal=whale&q=a/b?c", "h", 1, 1, true, false, -1, false},
    {"OWS trimmed, case kept",
     "POST /p HTTP/1.1\r\nhOsT: \t h \t\r\nX-Empty:\r\nX-A:  v  a \r\n\r\n", "POST", "/p", "h", 1,
     3, true, false, -1, false},
    {"1.1 Connection: close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "GET", "/",
     "h", 1, 2, false, false, -1, false},
    {"1.1 close in a list", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n",
     "GET", "/", "h", 1, 2, false, false, -1, false},
    {"1.0 default close", "GET / HTTP/1.0\r\n\r\n", "GET", "/", "", 0, 0, false, false, -1, false},
    {"1.0 keep-alive", "GET / HTTP/1.0\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n", "GET", "/",
     "h", 0, 2, true, false, -1, false},
    {"1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", "GET",
     "/", "", 0, 1, false, false, -1, false},
    {"Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n", "POST", "/", "h",
     1, 2, true, false, 42, false},
    {"Content-Length repeated, equal",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7, 7\r\n\r\n", "POST", "/",
     "h", 1, 3, true, false, 7, false},
    {"Content-Length 0", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 000\r\n\r\n", "POST", "/",
     "h", 1, 2, true, false, 0, false},
    {"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", "POST", "/",
     "h", 1, 2, true, true, -1, false},
    {"chunked with empty list elements",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , chunked ,\r\n\r\n", "POST", "/", "h", 1, 2,
     true, true, -1, false},
    {"Expect 100-continue", "PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n", "PUT",
     "/u", "h", 1, 2, true, false, -1, true},
    {"Expect ignored on 1.0", "PUT /u HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", "PUT", "/u", "", 0,
     1, false, false, -1, false},
    {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET", "/", "h", 1, 1,
     true, false, -1, false},
    {"absolute-form uses its authority",
     "GET http://Auth.example:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n", "GET", "/p?q",
     "Auth.example:8080", 1, 1, true, false, -1, false},
    {"absolute-form https, empty path", "GET HTTPS://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n",
     "GET", "/", "a.example", 1, 1, true, false, -1, false},
    {"absolute-form on 1.0 without Host", "GET http://a.example/ HTTP/1.0\r\n\r\n", "GET", "/",
     "a.example", 0, 0, false, false, -1, false},
    {"asterisk-form with OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "OPTIONS", "*", "h", 1,
     1, true, false, -1, false},
    {"token method, obs-text value",
     "M-SEARCH! /x HTTP/1.1\r\nHost: h\r\nX-T: caf\xc3\xa9\t!\r\n\r\n", "M-SEARCH!", "/x", "h", 1,
     2, true, false, -1, false},
    {"field name with every tchar", "GET / HTTP/1.1\r\nHost: h\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n",
     "GET", "/", "h", 1, 2, true, false, -1, false},
};

TEST(HttpHead, ValidHeads) {
  for (const ValidCase& c : kValid) {
    SCOPED_TRACE(c.desc);
    RequestHead h;
    ASSERT_EQ(str(parse(c.head, &h)), "complete") << h.error;
    EXPECT_EQ(h.method, c.method);
    EXPECT_EQ(h.target, c.target);
    EXPECT_EQ(h.host, c.host);
    EXPECT_EQ(h.version_minor, c.minor);
    EXPECT_EQ(h.n_headers, c.n_headers);
    EXPECT_EQ(h.head_len, c.head.size());
    EXPECT_EQ(h.keep_alive, c.keep_alive);
    EXPECT_EQ(h.chunked, c.chunked);
    EXPECT_EQ(h.content_length, c.content_length);
    EXPECT_EQ(h.expect_continue, c.expect_continue);
    EXPECT_EQ(h.error, nullptr);
    route::Request r = h.request();
    EXPECT_EQ(r.target, h.target);
    EXPECT_EQ(r.n_headers, h.n_headers);
  }
}

TEST(HttpHead, ValidHeadsFedOneByteAtATime) {
  for (const ValidCase& c : kValid) {
    SCOPED_TRACE(c.desc);
    // With a body after the head: head_len stays where the blank line ends.
    std::string bytes = c.head + "BODY\r\n\r\n";
    for (size_t n = 0; n < c.head.size(); ++n) {
      RequestHead h;
      ASSERT_EQ(str(parse(bytes, &h, n)), "incomplete") << "at " << n;
    }
    for (size_t n = c.head.size(); n <= bytes.size(); ++n) {
      RequestHead h;
      ASSERT_EQ(str(parse(bytes, &h, n)), "complete") << "at " << n;
      EXPECT_EQ(h.head_len, c.head.size());
      EXPECT_EQ(h.target, c.target);
      EXPECT_EQ(h.host, c.host);
    }
  }
}

TEST(HttpHead, FieldsKeepOrderAndCase) {
  RequestHead h;
  ASSERT_EQ(str(parse("GET / HTTP/1.1\r\nX-B: 2\r\nhost: h\r\nX-A:1\r\nx-b:  3 \r\n\r\n", &h)),
            "complete");
  ASSERT_EQ(h.n_headers, 4u);
  EXPECT_EQ(field(h, 0), "X-B=2");
  EXPECT_EQ(field(h, 1), "host=h");
  EXPECT_EQ(field(h, 2), "X-A=1");
  EXPECT_EQ(field(h, 3), "x-b=3");
  EXPECT_EQ(h.host_header, 1);
  EXPECT_EQ(h.path(), "/");
  EXPECT_EQ(h.query(), "");
  ASSERT_EQ(str(parse("GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n", &h)), "complete");
  EXPECT_EQ(h.path(), "/a/b");
  EXPECT_EQ(h.query(), "?x=1&y");
  EXPECT_EQ(h.host_header, 0);
  EXPECT_FALSE(h.absolute_form);
}

struct BadCase {
  const char* desc;
  std::string head;
  ParseStatus status;
  uint16_t reject_status;
};

constexpr ParseStatus kBad = ParseStatus::kBadRequest;

const BadCase kBadHeads[] = {
    // request-line
    {"bare LF ends the request-line", "GET / HTTP/1.1\nHost: h\r\n\r\n", kBad, 400},
    {"bare LF ends a field", "GET / HTTP/1.1\r\nHost: h\n\r\n", kBad, 400},
    {"bare LF blank line", "GET / HTTP/1.1\r\nHost: h\r\n\n", kBad, 400},
    {"bare LF leading empty line", "\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", kBad, 400},
    {"two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"tab as separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", kBad, 400},
    {"leading space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"no version (HTTP/0.9)", "GET /\r\nHost: h\r\n\r\n", kBad, 400},
    {"method not a token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"version with two digits", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", kBad, 400},
    {"HTTP/2 preface", std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), kBad, 505},
    {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", kBad, 505},
    {"HTTP/0.9 version", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", kBad, 505},
    {"HTTP/3.0", "GET / HTTP/3.0\r\nHost: h\r\n\r\n", kBad, 505},
    // request-target
    {"fragment in target", "GET /a#f HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"brace in target", "GET /{x} HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"bad escape", "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"bad escape digits", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"NUL in target", "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"s, kBad, 400},
    {"asterisk without OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"authority-form", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", kBad, 400},
    {"relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"other scheme", "GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"absolute-form userinfo", "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"absolute-form empty authority", "GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"absolute-form query without path", "GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"absolute-form bad port", "GET http://h:99999/ HTTP/1.1\r\nHost: h\r\n\r\n", kBad, 400},
    {"absolute-form still needs Host on 1.1", "GET http://h/ HTTP/1.1\r\n\r\n", kBad, 400},
    // fields
    {"obsolete line folding", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", kBad, 400},
    {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", kBad, 400},
    {"tab folding", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", kBad, 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", kBad, 400},
    {"tab before colon", "GET / HTTP/1.1\r\nHost: h\r\nX\t: a\r\n\r\n", kBad, 400},
    {"no colon", "GET / HTTP/1.1\r\nHost: h\r\nX-Foo\r\n\r\n", kBad, 400},
    {"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", kBad, 400},
    {"name with slash", "GET / HTTP/1.1\r\nHost: h\r\nX/Y: v\r\n\r\n", kBad, 400},
    {"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"s, kBad, 400},
    {"CTL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", kBad, 400},
    {"DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fz\r\n\r\n", kBad, 400},
    {"non-ASCII name", "GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: v\r\n\r\n", kBad, 400},
    // Host
    {"missing Host on 1.1", "GET / HTTP/1.1\r\nX: v\r\n\r\n", kBad, 400},
    {"duplicate Host", "GET / HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", kBad, 400},
    {"duplicate Host on 1.0", "GET / HTTP/1.0\r\nHost: h\r\nHost: i\r\n\r\n", kBad, 400},
    {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", kBad, 400},
    {"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", kBad, 400},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", kBad, 400},
    {"Host port not digits", "GET / HTTP/1.1\r\nHost: h:8x\r\n\r\n", kBad, 400},
    {"Host port too large", "GET / HTTP/1.1\r\nHost: h:65536\r\n\r\n", kBad, 400},
    {"Host port too long", "GET / HTTP/1.1\r\nHost: h:000080\r\n\r\n", kBad, 400},
    {"Host unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", kBad, 400},
    {"Host empty brackets", "GET / HTTP/1.1\r\nHost: []\r\n\r\n", kBad, 400},
    {"Host junk after bracket", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", kBad, 400},
    {"Host two colons", "GET / HTTP/1.1\r\nHost: h:1:2\r\n\r\n", kBad, 400},
    // framing
    {"Content-Length and Transfer-Encoding",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", kBad,
     400},
    {"Transfer-Encoding and Content-Length",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", kBad,
     400},
    {"chunked not final", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     kBad, 400},
    {"chunked twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
     kBad, 400},
    {"chunked twice over two lines",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
     "\r\n",
     kBad, 400},
    {"only gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", kBad, 400},
    {"gzip then chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     kBad, 501},
    {"empty Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", kBad,
     400},
    {"chunked with a parameter",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", kBad, 400},
    {"Transfer-Encoding on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", kBad,
     400},
    {"Content-Length not digits", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1a\r\n\r\n", kBad,
     400},
    {"Content-Length negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", kBad,
     400},
    {"Content-Length plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", kBad, 400},
    {"Content-Length empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", kBad, 400},
    {"Content-Length overflow",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", kBad, 400},
    {"Content-Length conflicting lines",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", kBad, 400},
    {"Content-Length conflicting list",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", kBad, 400},
    {"Content-Length with space inside",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", kBad, 400},
};

TEST(HttpHead, BadHeads) {
  for (const BadCase& c : kBadHeads) {
    SCOPED_TRACE(c.desc);
    RequestHead h;
    ParseStatus s = parse(c.head, &h);
    EXPECT_EQ(str(s), str(c.status));
    EXPECT_EQ(h.reject_status, c.reject_status);
    EXPECT_NE(h.error, nullptr);
    // A final answer on a prefix stays the same with more bytes.
    for (size_t n = 0; n < c.head.size(); ++n) {
      RequestHead p;
      ParseStatus ps = parse(c.head, &p, n);
      if (ps != ParseStatus::kIncomplete) {
        ASSERT_EQ(str(ps), str(s)) << "at " << n;
        ASSERT_EQ(p.reject_status, c.reject_status) << "at " << n;
      }
    }
  }
}

std::string head_with_fields(uint32_t n_fields) {
  std::string s = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (uint32_t i = 1; i < n_fields; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

TEST(HttpHead, HeaderCountLimit) {
  RequestHead h;
  ASSERT_EQ(str(parse(head_with_fields(kMaxHeaders), &h)), "complete");
  EXPECT_EQ(h.n_headers, kMaxHeaders);
  EXPECT_EQ(field(h, kMaxHeaders - 1), "X-99=v");
  ASSERT_EQ(str(parse(head_with_fields(kMaxHeaders + 1), &h)), "too-large");
  EXPECT_EQ(h.reject_status, 431);
  EXPECT_STREQ(h.error, "too many header fields");
}

TEST(HttpHead, SizeLimit) {
  // A head of exactly `limit` bytes is complete; one byte more is too large.
  std::string base = "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n";
  size_t limit = 1000;
  std::string fits = base;
  fits.insert(base.size() - 4, std::string(limit - base.size(), 'v'));
  ASSERT_EQ(fits.size(), limit);
  RequestHead h;
  EXPECT_EQ(str(parse(fits, &h, fits.size(), limit)), "complete");
  EXPECT_EQ(h.head_len, limit);
  std::string over = fits;
  over.insert(base.size() - 4, "v");
  EXPECT_EQ(str(parse(over, &h, over.size(), limit)), "too-large");
  EXPECT_EQ(h.reject_status, 431);
  // While fewer than `limit` bytes have arrived it may still end in time.
  EXPECT_EQ(str(parse(over, &h, limit - 1, limit)), "incomplete");
  EXPECT_EQ(str(parse(over, &h, limit, limit)), "too-large");
  // The default limit, with empty lines only: they count too.
  std::string blank(kDefaultHeadLimit, '\r');
  for (size_t i = 1; i < blank.size(); i += 2) blank[i] = '\n';
  EXPECT_EQ(str(parse(blank, &h)), "too-large");
  EXPECT_EQ(str(parse(blank, &h, blank.size() - 1)), "incomplete");
  // A head of the default limit made of one long field.
  std::string big =
      "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(kDefaultHeadLimit - base.size(), 'v') +
      "\r\n\r\n";
  ASSERT_EQ(big.size(), kDefaultHeadLimit);
  EXPECT_EQ(str(parse(big, &h)), "complete");
  EXPECT_EQ(str(parse(big + "x", &h)), "complete");  // body bytes after it do not matter
  big.insert(30, "v");
  EXPECT_EQ(str(parse(big, &h)), "too-large");
}

TEST(HttpHead, ResponseHeads) {
  ResponseHead r;
  std::string s = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbody";
  ASSERT_EQ(parse_response_head(reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                                kDefaultHeadLimit, &r),
            ParseStatus::kComplete);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_length, 5);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(r.head_len, s.size() - 4);
  EXPECT_EQ(r.n_headers, 2u);
  s = "HTTP/1.0 200 \r\n\r\n";
  ASSERT_EQ(parse_response_head(reinterpret_cast<const uint8_t*>(s.data()), s.size(),
                                kDefaultHeadLimit, &r),
            ParseStatus::kComplete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.version_minor, 0);
  for (const char* bad :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", "\r\nHTTP/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"}) {
    SCOPED_TRACE(bad);
    std::string b = bad;
    EXPECT_EQ(parse_response_head(reinterpret_cast<const uint8_t*>(b.data()), b.size(),
                                  kDefaultHeadLimit, &r),
              ParseStatus::kBadRequest);
    EXPECT_NE(r.error, nullptr);
  }
}

TEST(HttpHead, SyntaxHelpers) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("Host", "Hos"));
  EXPECT_FALSE(iequals("[", "{"));  // 0x5b vs 0x7b: only letters fold
  EXPECT_TRUE(valid_field_name("X-A"));
  EXPECT_FALSE(valid_field_name(""));
  EXPECT_FALSE(valid_field_name("X A"));
  EXPECT_TRUE(valid_field_value("a b\tc"));
  EXPECT_FALSE(valid_field_value("a\r\nX: b"));
  EXPECT_TRUE(valid_host("example.org"));
  EXPECT_TRUE(valid_host("example.org:80"));
  EXPECT_FALSE(valid_host("example.org\r\n"));
  EXPECT_TRUE(valid_origin_path("/a?b"));
  EXPECT_FALSE(valid_origin_path("a"));
  EXPECT_FALSE(valid_origin_path("/a b"));
}

}  // namespace
}  // namespace nf::http
