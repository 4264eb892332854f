// libFuzzer target: nf::http::parse_request_head on arbitrary bytes must never read outside the
// bytes it is given, must give the same final answer however the bytes were split into segments,
// and a head it accepts must come out of rewrite_head (with no edits, and with every kind of
// edit) as a head the same parser accepts, with the same method, target and Host semantics.
// Redirect Locations built from it must make a response that parses back.
//
// The first input byte picks the head limit: 0 means kDefaultHeadLimit, otherwise 32 times the
// byte. The rest is the received bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "nf/http_head.h"
#include "nf/http_rewrite.h"

namespace {

using nf::http::HeadEdits;
using nf::http::HeaderEdit;
using nf::http::ParseStatus;
using nf::http::RequestHead;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view v, const uint8_t* buf, size_t len) {
  const char* b = reinterpret_cast<const char*>(buf);
  return v.empty() || (v.data() >= b && v.data() + v.size() <= b + len);
}

// Parses a copy of the first n bytes in a buffer of exactly n bytes, so that ASan sees any read
// past them. The views in *h point into *copy.
ParseStatus parse_exact(const uint8_t* data, size_t n, size_t limit, RequestHead* h,
                        std::vector<uint8_t>* copy) {
  copy->assign(data, data + n);
  return nf::http::parse_request_head(copy->data(), n, limit, h);
}

const HeaderEdit kSet[] = {{"X-Set", "s"}, {"user-agent", "fuzz"}, {"Host", "ignored"}};
const HeaderEdit kAdd[] = {{"X-Add", "a"}, {"Content-Length", "0"}};
const std::string_view kRemove[] = {"accept", "x-remove", "transfer-encoding"};

HeadEdits all_edits(uint8_t path_mode) {
  HeadEdits e;
  e.set = kSet;
  e.n_set = 3;
  e.add = kAdd;
  e.n_add = 2;
  e.remove = kRemove;
  e.n_remove = 3;
  e.host = "rewritten.example";
  e.path_mode = path_mode;
  e.path_value = path_mode == nf::http::kPathFull ? "/full" : "/new";
  e.matched_prefix = "/a";
  e.force_close = true;
  return e;
}

// Rewrites h and checks that the result parses with the same semantics.
void check_rewrite(const RequestHead& h, const uint8_t* buf, const HeadEdits& e) {
  static uint8_t out[3 * nf::http::kDefaultHeadLimit];
  size_t n = nf::http::rewrite_head(h, buf, e, out, sizeof out);
  check(n > 0);  // a head of at most 16 KiB, and the edits add less than 200 bytes
  check(n == nf::http::rewrite_head(h, buf, e, out, n));
  check(nf::http::rewrite_head(h, buf, e, out, n - 1) == 0);
  RequestHead r;
  std::vector<uint8_t> copy;
  ParseStatus s = parse_exact(out, n, sizeof out, &r, &copy);
  uint32_t added = e.n_set + e.n_add + (e.force_close ? 1 : 0) + (h.host_header < 0 ? 1 : 0);
  if (h.n_headers + added > nf::http::kMaxHeaders) {
    // More fields than the parser takes: only the count may stop it.
    check(s == ParseStatus::kComplete || (s == ParseStatus::kTooLarge && r.reject_status == 431));
    return;
  }
  check(s == ParseStatus::kComplete);
  check(r.head_len == n);
  check(r.method == h.method);
  check(r.version_minor == h.version_minor);
  check(r.query() == h.query());
  check(r.chunked == h.chunked);
  check(r.content_length == h.content_length);
  check(!r.absolute_form);
  check(r.host == (e.host.empty() ? h.host : e.host));
  if (e.path_mode == nf::http::kPathKeep) check(r.target == h.target);
  if (e.force_close) check(!r.keep_alive);
  if (e.n_set == 0 && e.n_add == 0 && e.n_remove == 0 && e.host.empty() && !e.force_close &&
      e.path_mode == nf::http::kPathKeep) {
    check(r.keep_alive == h.keep_alive);
    check(r.n_headers == h.n_headers + (h.absolute_form && h.host_header < 0 ? 1 : 0));
    // Forwarded as received, from the request-line on.
    if (!h.absolute_form)
      check(std::memcmp(out, buf + h.line_start, n) == 0 && n == h.head_len - h.line_start);
  }
}

void check_redirect(const RequestHead& h) {
  nf::http::Redirect r;
  r.path_mode = nf::http::kPathPrefix;
  r.path_value = "/moved";
  r.matched_prefix = "/";
  char location[3 * nf::http::kDefaultHeadLimit];
  size_t n = nf::http::build_redirect_location(h, r, "http", 8080, location, sizeof location);
  check(n > 0);
  static uint8_t out[4 * nf::http::kDefaultHeadLimit];
  size_t m = nf::http::build_response(302, std::string_view(location, n), out, sizeof out);
  check(m > 0);
  nf::http::ResponseHead resp;
  check(nf::http::parse_response_head(out, m, sizeof out, &resp) == ParseStatus::kComplete);
  check(resp.status == 302 && resp.content_length == static_cast<int64_t>(m - resp.head_len));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t limit = data[0] == 0 ? nf::http::kDefaultHeadLimit : 32u * data[0];
  ++data;
  --size;
  static RequestHead h, p;
  std::vector<uint8_t> copy, prefix;
  ParseStatus s = parse_exact(data, size, limit, &h, &copy);
  if (s != ParseStatus::kIncomplete) check(h.error != nullptr || s == ParseStatus::kComplete);
  if (s == ParseStatus::kBadRequest)
    check(h.reject_status == 400 || h.reject_status == 501 || h.reject_status == 505);
  if (s == ParseStatus::kTooLarge) check(h.reject_status == 431);

  // Split points: every one for short inputs, then a stride, plus both sides of the head's end.
  size_t stride = size <= 256 ? 1 : size / 64;
  for (size_t k = 0; k < size; k += stride) {
    ParseStatus ps = parse_exact(data, k, limit, &p, &prefix);
    if (ps == ParseStatus::kIncomplete) {
      check(s != ParseStatus::kComplete || k < h.head_len);
      continue;
    }
    check(ps == s);
    check(p.reject_status == h.reject_status);
    if (s == ParseStatus::kComplete) check(p.head_len == h.head_len && p.target == h.target);
  }
  if (s != ParseStatus::kComplete) return 0;

  const uint8_t* buf = copy.data();  // where the views of h point
  for (size_t k = h.head_len >= 3 ? h.head_len - 3 : 0; k < h.head_len; ++k)
    check(parse_exact(data, k, limit, &p, &prefix) == ParseStatus::kIncomplete);
  check(h.head_len <= size && h.head_len <= limit && h.version_minor <= 1);
  check(h.n_headers <= nf::http::kMaxHeaders);
  check(inside(h.method, buf, h.head_len) && !h.method.empty());
  check(inside(h.host, buf, h.head_len));
  check(inside(h.target, buf, h.head_len) || (h.absolute_form && h.target == "/"));
  for (uint32_t i = 0; i < h.n_headers; ++i) {
    std::string_view v = h.headers[i].value;
    check(inside(h.headers[i].name, buf, h.head_len) && inside(v, buf, h.head_len));
    check(v.empty() ||
          (v.front() != ' ' && v.front() != '\t' && v.back() != ' ' && v.back() != '\t'));
    check(nf::http::valid_field_name(h.headers[i].name) && nf::http::valid_field_value(v));
  }
  check(!h.chunked || h.content_length < 0);

  check_rewrite(h, buf, HeadEdits{});
  check_rewrite(h, buf, all_edits(nf::http::kPathKeep));
  check_rewrite(h, buf, all_edits(nf::http::kPathFull));
  check_rewrite(h, buf, all_edits(nf::http::kPathPrefix));
  check_redirect(h);
  return 0;
}
