// CurlTransport: one HTTP exchange or one watch stream per call, driven through libcurl's multi
// interface so that the caller's cancel flag and the idle watchdog are looked at every 100 ms
// (see http.h for the wire behaviour and reference note A4/A7 for why).
#include "control/k8s/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>
#include <utility>

namespace control::k8s {

namespace {

using Clock = std::chrono::steady_clock;

// How long one wait for socket activity may last: the bound on how late cancel and the idle
// watchdog are noticed (the contract says 200 ms; half of it leaves room for the work between).
constexpr int kPollMs = 100;
// A connection attempt gives up after this even without a request timeout (a watch has none);
// a black-holed API server address must not hold a watch for the kernel's SYN retries.
constexpr long kConnectTimeoutMs = 30000;
// Bodies larger than this are refused rather than held: the largest list page a sane `limit`
// produces is a few MiB, so this only stops a misbehaving server from eating the heap.
constexpr size_t kMaxBodyBytes = size_t{256} << 20;
// A watch answered with an error carries a Status object; anything past this is not one.
constexpr size_t kMaxStreamErrorBodyBytes = size_t{1} << 20;
// Idle handles kept per transport: enough for the informers, the status writer and the lease
// loop to each find their warm connection; more would only hold sockets open.
constexpr size_t kMaxIdleHandles = 8;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool has_control_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Replaces every occurrence of each secret with a marker. libcurl's messages are not known to
// quote headers or credentials, but an error string travels to logs, so it is checked anyway.
std::string scrub(std::string text, std::initializer_list<std::string_view> secrets) {
  for (std::string_view secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 10)) {
      text.replace(at, secret.size(), "<redacted>");
    }
  }
  return text;
}

// Owns a curl_url handle for the constructor's parsing.
struct UrlParts {
  CURLU* u = curl_url();
  ~UrlParts() { curl_url_cleanup(u); }
  // The part, or "" when absent.
  std::string get(CURLUPart part, unsigned flags = 0) const {
    char* out = nullptr;
    if (curl_url_get(u, part, &out, flags) != CURLUE_OK || out == nullptr) return "";
    std::string s(out);
    curl_free(out);
    return s;
  }
};

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

bool append(Slist& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) return false;
  list.release();
  list.reset(next);
  return true;
}

// What the callbacks of one transfer share with the loop that drives it.
struct Transfer {
  CURL* easy = nullptr;
  const std::function<bool(std::string_view)>* on_data = nullptr;  // stream(): 2xx bodies
  size_t body_cap = kMaxBodyBytes;

  std::string body;
  std::string retry_after;
  Clock::time_point last_byte;
  bool stopped_by_caller = false;  // on_data returned false
  bool too_large = false;
  std::exception_ptr thrown;  // from on_data, rethrown once the handle is back in the pool
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->last_byte = Clock::now();
  const std::string_view line(data, n);
  // A new status line (after a 100 Continue, say) starts a new header block.
  if (iequals_prefix(line, "HTTP/")) {
    t->retry_after.clear();
  } else if (iequals_prefix(line, "retry-after:")) {
    t->retry_after = std::string(trim(line.substr(12)));
  }
  return n;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  t->last_byte = Clock::now();
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->on_data != nullptr && status >= 200 && status < 300) {
    // Exceptions must not cross libcurl's C frames: park it and stop the transfer.
    try {
      if (!(*t->on_data)(std::string_view(data, n))) {
        t->stopped_by_caller = true;
        return 0;  // any count other than n aborts the transfer
      }
    } catch (...) {
      t->thrown = std::current_exception();
      return 0;
    }
    return n;
  }
  if (t->body.size() + n > t->body_cap) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, n);
  return n;
}

}  // namespace

struct CurlTransport::Handle {
  CURLM* multi = nullptr;  // holds the connection cache between calls
  CURL* easy = nullptr;
  ~Handle() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

namespace {

// Checks the Endpoint and works out the URL base and the tls_server_name plumbing. Returns why
// the Endpoint is unusable, or "".
std::string prepare(const Endpoint& ep, std::string& base_url, std::string& connect_to,
                    std::string& host_header) {
  if (ep.server.empty()) return "server URL is empty";
  if (has_line_break(ep.user_agent)) return "user agent contains a line break";
  if (ep.client_cert_pem.empty() != ep.client_key_pem.empty())
    return "client certificate and client key must be given together";

  UrlParts url;
  if (url.u == nullptr) return "libcurl: out of memory";
  const CURLUcode rc = curl_url_set(url.u, CURLUPART_URL, ep.server.c_str(), 0);
  // The URL is quoted in errors only once it is known to carry no user:password.
  if (rc != CURLUE_OK) return std::string("server URL: ") + curl_url_strerror(rc);
  if (!url.get(CURLUPART_USER).empty() || !url.get(CURLUPART_PASSWORD).empty())
    return "server URL must not carry credentials (user:password@)";
  const std::string quoted = "server \"" + ep.server + "\": ";
  const std::string scheme = url.get(CURLUPART_SCHEME);
  if (scheme != "https" && scheme != "http") return quoted + "scheme must be https";
  if (!url.get(CURLUPART_QUERY).empty() || !url.get(CURLUPART_FRAGMENT).empty())
    return quoted + "must not have a query or fragment";

  if (!ep.tls_server_name.empty()) {
    const std::string& name = ep.tls_server_name;
    if (scheme != "https") return quoted + "tls_server_name needs https";
    if (has_control_or_space(name) || name.find_first_of(":/@[]") != std::string::npos)
      return "tls_server_name \"" + name + "\" is not a host name";
    const std::string host = url.get(CURLUPART_HOST);  // IPv6 comes in brackets
    const std::string port = url.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    const std::string explicit_port = url.get(CURLUPART_PORT);
    connect_to = name + ":" + port + ":" + host + ":" + port;
    host_header = "Host: " + host + (explicit_port.empty() ? "" : ":" + explicit_port);
    if (curl_url_set(url.u, CURLUPART_HOST, name.c_str(), 0) != CURLUE_OK)
      return "tls_server_name \"" + name + "\" is not a host name";
  }
  base_url = url.get(CURLUPART_URL);
  while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
  if (base_url.empty()) return quoted + "cannot be used as a URL";
  return "";
}

}  // namespace

CurlTransport::CurlTransport(Endpoint e) : endpoint_(std::move(e)) {
  global_init_once();
  config_error_ = prepare(endpoint_, base_url_, connect_to_, host_header_);
}

CurlTransport::~CurlTransport() = default;

std::unique_ptr<CurlTransport::Handle> CurlTransport::acquire() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      auto h = std::move(pool_.back());
      pool_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->multi = curl_multi_init();
  h->easy = curl_easy_init();
  if (h->multi == nullptr || h->easy == nullptr) return nullptr;
  return h;
}

void CurlTransport::release(std::unique_ptr<Handle> h) {
  // Forget this call's options (they point at its buffers); the multi keeps the connection.
  curl_easy_reset(h->easy);
  std::lock_guard lock(pool_mutex_);
  if (pool_.size() < kMaxIdleHandles) pool_.push_back(std::move(h));
}

namespace {

// One call's inputs to run(), beyond the Endpoint.
struct Call {
  const char* method = "GET";
  const std::string* path = nullptr;
  const std::string* body = nullptr;  // nullptr: none
  const std::string* content_type = nullptr;
  long timeout_ms = 0;  // 0: none (streams)
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::seconds idle{0};  // 0: no watchdog
};

// Sets the options of one exchange on `easy` and drives it to its end. Everything borrowed
// (header lists, buffers) lives on this frame and outlives the transfer.
Response run(const Endpoint& ep, const std::string& base_url, const std::string& connect_to,
             const std::string& host_header, CURLM* multi, CURL* easy, const Call& call,
             Transfer& t) {
  Response out;

  const std::string& path = *call.path;
  if (path.empty() || path.front() != '/') {
    out.error = "path must start with '/'";
    return out;
  }
  if (has_control_or_space(path)) {
    out.error = "path contains a space or control character";
    return out;
  }
  if (call.content_type != nullptr && has_line_break(*call.content_type)) {
    out.error = "content type contains a line break";
    return out;
  }

  std::string token;
  if (ep.bearer) {
    try {
      token = ep.bearer();
    } catch (const std::exception& e) {
      out.error = scrub(std::string("credentials: ") + e.what(), {ep.password});
      return out;
    }
  }
  // A token is pasted into a header line: a line break in it would inject headers.
  if (has_line_break(token)) {
    out.error = "bearer token contains a line break";
    return out;
  }

  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  const std::string url = base_url + path;

  Slist headers;
  bool ok = append(headers, "Accept: application/json");
  // Without this libcurl asks for 100-continue before bodies over 1 MiB and waits a second.
  ok = ok && append(headers, "Expect:");
  if (call.body != nullptr && call.content_type != nullptr) {
    // An empty content type removes the form-urlencoded one libcurl would claim for a body.
    ok = ok && append(headers, call.content_type->empty() ? std::string("Content-Type:")
                                                          : "Content-Type: " + *call.content_type);
  }
  if (!token.empty()) ok = ok && append(headers, "Authorization: Bearer " + token);
  if (!host_header.empty()) ok = ok && append(headers, host_header);
  Slist connect;
  if (!connect_to.empty()) ok = ok && append(connect, connect_to);
  if (!ok) {
    out.error = "libcurl: out of memory";
    return out;
  }

  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, ep.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  if (connect) curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect.get());

  if (!ep.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(ep.ca_pem.data()), ep.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
    // The kubeconfig's CA is the only one trusted: not the system directory besides it.
    curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  }
  if (ep.insecure_skip_tls_verify) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!ep.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(ep.client_cert_pem.data()), ep.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(ep.client_key_pem.data()), ep.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(easy, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(easy, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
  }
  // A bearer token wins over basic auth: libcurl sends no Authorization of its own when the
  // headers already carry one.
  if (!ep.username.empty()) {
    curl_easy_setopt(easy, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    curl_easy_setopt(easy, CURLOPT_USERNAME, ep.username.c_str());
    curl_easy_setopt(easy, CURLOPT_PASSWORD, ep.password.c_str());
  }

  const std::string_view method = call.method;
  if (call.body != nullptr) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body->size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, call.body->data());
  }
  if (method != "GET" && method != "POST")
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call.method);
  if (method == "GET") curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);

  long connect_ms = kConnectTimeoutMs;
  if (call.timeout_ms > 0) {
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, call.timeout_ms);
    connect_ms = std::min(connect_ms, call.timeout_ms);
  }
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);

  t.easy = easy;
  t.last_byte = Clock::now();
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);

  if (curl_multi_add_handle(multi, easy) != CURLM_OK) {
    out.error = "libcurl: cannot start the transfer";
    return out;
  }
  std::string stopped_why;
  bool done = false;
  for (;;) {
    if (call.cancel != nullptr && call.cancel->load()) {
      stopped_why = "cancelled";
      break;
    }
    if (call.idle.count() > 0 && Clock::now() - t.last_byte > call.idle) {
      stopped_why = "idle: nothing received for " + std::to_string(call.idle.count()) + " s";
      break;
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc == CURLM_OK && running == 0) {
      done = true;
      break;
    }
    if (mc == CURLM_OK) mc = curl_multi_poll(multi, nullptr, 0, kPollMs, nullptr);
    if (mc != CURLM_OK) {
      stopped_why = std::string("libcurl: ") + curl_multi_strerror(mc);
      break;
    }
  }
  CURLcode result = CURLE_OK;
  if (done) {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg == CURLMSG_DONE && m->easy_handle == easy) result = m->data.result;
    }
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  // Removing an unfinished transfer closes its connection: nothing half-read is ever reused.
  curl_multi_remove_handle(multi, easy);

  out.status = static_cast<int>(status);
  out.retry_after = std::move(t.retry_after);
  if (!stopped_why.empty()) {
    out.error = std::move(stopped_why);
  } else if (t.stopped_by_caller || t.thrown) {
    // The caller ended it: not an error of the transport.
  } else if (t.too_large) {
    out.error = "response body larger than " + std::to_string(t.body_cap >> 20) + " MiB";
  } else if (result != CURLE_OK) {
    out.error = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(result);
    while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
  }
  out.error = scrub(std::move(out.error), {token, ep.password});
  out.body = std::move(t.body);
  return out;
}

}  // namespace

Response CurlTransport::request(const Request& r) {
  Response out;
  if (!config_error_.empty()) {
    out.error = config_error_;
    return out;
  }
  static constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  const char* method = nullptr;
  for (const char* m : kMethods) {
    if (r.method == m) method = m;
  }
  if (method == nullptr) {
    out.error = "unsupported method \"" + r.method + "\"";
    return out;
  }
  auto h = acquire();
  if (h == nullptr) {
    out.error = "libcurl: cannot create a handle";
    return out;
  }
  Call call;
  call.method = method;
  call.path = &r.path;
  // GET and DELETE without a body send none; the others always send one (maybe empty), with
  // Content-Length, so the server never waits for a body that is not coming.
  const bool with_body = !r.body.empty() || (r.method != "GET" && r.method != "DELETE");
  call.body = with_body ? &r.body : nullptr;
  call.content_type = &r.content_type;
  call.timeout_ms = std::max<long>(1, static_cast<long>(r.timeout.count()));
  Transfer t;
  t.body_cap = kMaxBodyBytes;
  out = run(endpoint_, base_url_, connect_to_, host_header_, h->multi, h->easy, call, t);
  release(std::move(h));
  if (out.status == 401 && endpoint_.on_unauthorized) endpoint_.on_unauthorized();
  return out;
}

Response CurlTransport::stream(const std::string& path,
                               const std::function<bool(std::string_view)>& on_data,
                               const std::atomic<bool>* cancel, std::chrono::seconds idle) {
  Response out;
  if (!config_error_.empty()) {
    out.error = config_error_;
    return out;
  }
  auto h = acquire();
  if (h == nullptr) {
    out.error = "libcurl: cannot create a handle";
    return out;
  }
  Call call;
  call.path = &path;
  call.cancel = cancel;
  call.idle = idle;
  Transfer t;
  t.on_data = &on_data;
  t.body_cap = kMaxStreamErrorBodyBytes;
  out = run(endpoint_, base_url_, connect_to_, host_header_, h->multi, h->easy, call, t);
  const std::exception_ptr thrown = t.thrown;
  release(std::move(h));
  if (thrown) std::rethrow_exception(thrown);
  if (out.status == 401 && endpoint_.on_unauthorized) endpoint_.on_unauthorized();
  return out;
}

}  // namespace control::k8s
