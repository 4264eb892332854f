// CurlTransport against http_peer.py: a real HTTPS/1.1 server on 127.0.0.1 with a throwaway CA,
// started once for the suite. Checks what the Kubernetes client parts rely on: methods, bodies
// and headers as sent; the bearer token read per call; 401 and Retry-After; TLS verification
// (CA, wrong CA, skip, client certificates, tls_server_name); streams delivered whole and in
// order however the server chunks them; cancel, the idle watchdog and request timeouts on time.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "control/k8s/http.h"
#include "gtest/gtest.h"

namespace control::k8s {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

// The python peer: started on first use, killed when the test program exits.
class Peer {
 public:
  static Peer& get() {
    static Peer peer;
    return peer;
  }
  std::string skip;  // why the peer could not run ("" when it runs)
  int port = 0, mtls_port = 0;
  std::string ca, other_ca, client_cert, client_key;

  std::string url(int p) const { return "https://localhost:" + std::to_string(p); }

  ~Peer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (to_child_ >= 0) ::close(to_child_);
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

 private:
  Peer() {
    char tmpl[] = "/tmp/portico-http-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execlp("python3", "python3", PORTICO_HTTP_PEER, dir_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    to_child_ = in[1];  // the peer exits when this closes, should we die without killing it
    std::string line;
    const auto deadline = Clock::now() + 30s;
    while (line.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      const ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    const json hello = json::parse(line, nullptr, false);
    if (hello.is_discarded() || !hello.is_object())
      throw std::runtime_error("http_peer.py did not start; it said: " + line);
    if (hello.contains("skip")) {
      skip = hello["skip"].get<std::string>();
      return;
    }
    port = hello.at("port").get<int>();
    mtls_port = hello.at("mtls_port").get<int>();
    ca = read_file(dir_ / "ca.crt");
    other_ca = read_file(dir_ / "other-ca.crt");
    client_cert = read_file(dir_ / "client.crt");
    client_key = read_file(dir_ / "client.key");
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int to_child_ = -1;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A proxy from the environment would take 127.0.0.1 elsewhere.
    for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
      ::unsetenv(v);
    peer_ = &Peer::get();
    if (!peer_->skip.empty()) GTEST_SKIP() << peer_->skip;
  }

  Endpoint endpoint(int port = 0) const {
    Endpoint e;
    e.server = peer_->url(port ? port : peer_->port);
    e.ca_pem = peer_->ca;
    return e;
  }

  static json body_of(const Response& r) {
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  Peer* peer_ = nullptr;
};

// The bytes http_peer.py's /stream sends: line() there.
std::string expected_stream(int lines) {
  std::string s;
  for (int i = 0; i < lines; ++i) {
    s += "{\"type\":\"ADDED\",\"object\":{\"n\":" + std::to_string(i) + ",\"s\":\"";
    for (int k = 0; k < i % 5; ++k) s += "\xc3\xa9\xe2\x82\xac";  // é€
    s += "\"}}\n";
  }
  return s;
}

TEST_F(HttpTest, GetSendsAcceptUserAgentAndNoAuthorizationWithoutToken) {
  CurlTransport t(endpoint());
  ASSERT_EQ(t.config_error(), "");
  Request r;
  r.path = "/echo/api/v1/services?limit=500&continue=abc";
  const Response resp = t.request(r);
  ASSERT_EQ(resp.status, 200) << resp.error;
  EXPECT_TRUE(resp.ok());
  EXPECT_EQ(resp.error, "");
  const json j = body_of(resp);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/echo/api/v1/services?limit=500&continue=abc");
  EXPECT_EQ(j["headers"]["accept"], "application/json");
  EXPECT_EQ(j["headers"]["user-agent"], "portico");
  EXPECT_EQ(j["headers"]["host"], "localhost:" + std::to_string(peer_->port));
  EXPECT_FALSE(j["headers"].contains("authorization"));
  EXPECT_FALSE(j["headers"].contains("content-type"));
  EXPECT_EQ(j["body"], "");
}

TEST_F(HttpTest, WriteMethodsSendTheirBodyAndContentType) {
  Endpoint e = endpoint();
  e.user_agent = "portico/test";
  CurlTransport t(e);
  struct Case {
    const char* method;
    const char* content_type;
    const char* body;
  };
  const Case cases[] = {
      {"POST", "application/json", R"({"kind":"Event"})"},
      {"PUT", "application/json", R"({"kind":"Service","metadata":{"resourceVersion":"7"}})"},
      {"PATCH", "application/merge-patch+json", R"({"metadata":{"annotations":{"a":"b"}}})"},
      {"PATCH", "application/apply-patch+yaml", "apiVersion: v1\nkind: Service\n"},
      {"DELETE", "application/json", R"({"kind":"DeleteOptions"})"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + c.content_type);
    Request r;
    r.method = c.method;
    r.path = "/echo/x?fieldManager=portico";
    r.body = c.body;
    r.content_type = c.content_type;
    const Response resp = t.request(r);
    ASSERT_EQ(resp.status, 200) << resp.error;
    const json j = body_of(resp);
    EXPECT_EQ(j["method"], c.method);
    EXPECT_EQ(j["body"], c.body);
    EXPECT_EQ(j["headers"]["content-type"], c.content_type);
    EXPECT_EQ(j["headers"]["content-length"], std::to_string(std::strlen(c.body)));
    EXPECT_EQ(j["headers"]["user-agent"], "portico/test");
    EXPECT_FALSE(j["headers"].contains("expect"));
  }
  // A DELETE without a body sends none; a PUT without one still says Content-Length: 0.
  Request del;
  del.method = "DELETE";
  del.path = "/echo/y";
  json j = body_of(t.request(del));
  EXPECT_EQ(j["method"], "DELETE");
  EXPECT_FALSE(j["headers"].contains("content-type"));
  Request put;
  put.method = "PUT";
  put.path = "/echo/z";
  j = body_of(t.request(put));
  EXPECT_EQ(j["method"], "PUT");
  EXPECT_EQ(j["headers"]["content-length"], "0");
}

TEST_F(HttpTest, LargeBodyGoesWithoutExpectContinueDelay) {
  CurlTransport t(endpoint());
  Request r;
  r.method = "PUT";
  r.path = "/echo/big";
  r.body = "\"" + std::string(3 << 20, 'x') + "\"";
  const auto start = Clock::now();
  const Response resp = t.request(r);
  ASSERT_EQ(resp.status, 200) << resp.error;
  EXPECT_EQ(body_of(resp)["body"].get<std::string>().size(), r.body.size());
  // libcurl's 100-continue wait is a full second.
  EXPECT_LT(ms_since(start), 900);
}

TEST_F(HttpTest, BearerIsReadForEveryRequest) {
  Endpoint e = endpoint();
  std::atomic<int> calls{0};
  e.bearer = [&calls] { return "token-" + std::to_string(++calls); };
  CurlTransport t(e);
  Request r;
  r.path = "/echo";
  for (int i = 1; i <= 3; ++i) {
    const Response resp = t.request(r);
    ASSERT_EQ(resp.status, 200) << resp.error;
    EXPECT_EQ(body_of(resp)["headers"]["authorization"], "Bearer token-" + std::to_string(i));
  }
  std::string seen;
  const Response s = t.stream(
      "/echo",
      [&seen](std::string_view d) {
        seen.append(d);
        return true;
      },
      nullptr, 5s);
  ASSERT_EQ(s.status, 200) << s.error;
  EXPECT_EQ(json::parse(seen)["headers"]["authorization"], "Bearer token-4");
  // An empty token means no Authorization header at all.
  e.bearer = [] { return std::string(); };
  CurlTransport none(e);
  EXPECT_FALSE(body_of(none.request(r))["headers"].contains("authorization"));
}

TEST_F(HttpTest, BasicAuthWhenNoToken) {
  Endpoint e = endpoint();
  e.username = "admin";
  e.password = "pa55";
  CurlTransport t(e);
  Request r;
  r.path = "/echo";
  EXPECT_EQ(body_of(t.request(r))["headers"]["authorization"], "Basic YWRtaW46cGE1NQ==");
}

TEST_F(HttpTest, UnauthorizedCallsTheTokenSourceBack) {
  Endpoint e = endpoint();
  int unauthorized = 0;
  e.bearer = [] { return std::string("stale"); };
  e.on_unauthorized = [&unauthorized] { ++unauthorized; };
  CurlTransport t(e);
  Request r;
  r.path = "/status/401";
  Response resp = t.request(r);
  EXPECT_EQ(resp.status, 401);
  EXPECT_FALSE(resp.ok());
  EXPECT_EQ(resp.error, "");
  EXPECT_EQ(body_of(resp)["code"], 401);
  EXPECT_EQ(unauthorized, 1);
  r.path = "/status/403";
  EXPECT_EQ(t.request(r).status, 403);
  r.path = "/echo";
  EXPECT_EQ(t.request(r).status, 200);
  EXPECT_EQ(unauthorized, 1);
  // A watch answered 401 too, and its Status comes back as the body, not through on_data.
  bool called = false;
  resp = t.stream(
      "/status/401", [&called](std::string_view) { return called = true; }, nullptr, 5s);
  EXPECT_EQ(resp.status, 401);
  EXPECT_FALSE(called);
  EXPECT_EQ(body_of(resp)["kind"], "Status");
  EXPECT_EQ(unauthorized, 2);
}

TEST_F(HttpTest, RetryAfterIsCaptured) {
  CurlTransport t(endpoint());
  Request r;
  r.path = "/status/429";
  Response resp = t.request(r);
  EXPECT_EQ(resp.status, 429);
  EXPECT_EQ(resp.retry_after, "7");
  r.path = "/status/503";
  EXPECT_EQ(t.request(r).retry_after, "7");
  r.path = "/status/500";
  EXPECT_EQ(t.request(r).retry_after, "");
}

TEST_F(HttpTest, TlsVerification) {
  Request r;
  r.path = "/echo";
  {
    SCOPED_TRACE("a CA that did not sign the server certificate");
    Endpoint e = endpoint();
    e.ca_pem = peer_->other_ca;
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error.find("certificate"), std::string::npos) << resp.error;
  }
  {
    SCOPED_TRACE("no CA: the system's, which do not know the test CA");
    Endpoint e = endpoint();
    e.ca_pem.clear();
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error.find("certificate"), std::string::npos) << resp.error;
  }
  {
    SCOPED_TRACE("insecure-skip-tls-verify");
    Endpoint e = endpoint();
    e.ca_pem = peer_->other_ca;
    e.insecure_skip_tls_verify = true;
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 200) << resp.error;
  }
  {
    SCOPED_TRACE("a CA that is not PEM");
    Endpoint e = endpoint();
    e.ca_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error, "");
  }
}

TEST_F(HttpTest, ClientCertificates) {
  Request r;
  r.path = "/echo";
  Endpoint e = endpoint(peer_->mtls_port);
  {
    SCOPED_TRACE("without a client certificate");
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error, "");
  }
  e.client_cert_pem = peer_->client_cert;
  e.client_key_pem = peer_->client_key;
  {
    SCOPED_TRACE("with the CA's client certificate");
    const Response resp = CurlTransport(e).request(r);
    ASSERT_EQ(resp.status, 200) << resp.error;
    EXPECT_EQ(body_of(resp)["client_cn"], "portico-test-client");
  }
  {
    SCOPED_TRACE("with a key that is not PEM");
    e.client_key_pem = "garbage";
    const Response resp = CurlTransport(e).request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error, "");
  }
}

TEST_F(HttpTest, TlsServerNameVerifiesAgainstThatName) {
  // The server certificate names localhost and api.portico.test, not 127.0.0.1.
  Request r;
  r.path = "/echo";
  Endpoint e = endpoint();
  e.server = "https://127.0.0.1:" + std::to_string(peer_->port);
  Response resp = CurlTransport(e).request(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("127.0.0.1"), std::string::npos) << resp.error;

  e.tls_server_name = "api.portico.test";
  CurlTransport named(e);
  ASSERT_EQ(named.config_error(), "");
  resp = named.request(r);
  ASSERT_EQ(resp.status, 200) << resp.error;
  // The Host header still names the address the kubeconfig gave.
  EXPECT_EQ(body_of(resp)["headers"]["host"], "127.0.0.1:" + std::to_string(peer_->port));
  std::string seen;
  resp = named.stream(
      "/echo",
      [&seen](std::string_view d) {
        seen.append(d);
        return true;
      },
      nullptr, 5s);
  EXPECT_EQ(resp.status, 200) << resp.error;
  EXPECT_EQ(json::parse(seen)["method"], "GET");

  e.tls_server_name = "wrong.portico.test";
  resp = CurlTransport(e).request(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("wrong.portico.test"), std::string::npos) << resp.error;
}

TEST_F(HttpTest, StreamDeliversEveryByteInOrder) {
  CurlTransport t(endpoint());
  for (const int seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::string got;
    int pieces = 0;
    const std::atomic<bool> cancel{false};
    const Response resp = t.stream(
        "/stream?lines=200&pause_ms=1&seed=" + std::to_string(seed),
        [&](std::string_view d) {
          got.append(d);
          ++pieces;
          return true;
        },
        &cancel, 10s);
    EXPECT_EQ(resp.status, 200);
    EXPECT_EQ(resp.error, "");
    EXPECT_EQ(resp.body, "");
    EXPECT_EQ(got, expected_stream(200));
    // The server paused between its chunks: they came as many pieces, not one.
    EXPECT_GT(pieces, 20);
  }
}

TEST_F(HttpTest, StreamCutShortIsAnError) {
  // The informer must tell a watch the server ended (relist not needed) from a broken one.
  CurlTransport t(endpoint());
  std::string got;
  const Response resp = t.stream(
      "/cut",
      [&got](std::string_view d) {
        got.append(d);
        return true;
      },
      nullptr, 10s);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(got, expected_stream(1));
  EXPECT_NE(resp.error, "");
}

TEST_F(HttpTest, StreamStopsWhenOnDataSaysSo) {
  CurlTransport t(endpoint());
  int pieces = 0;
  const auto start = Clock::now();
  const Response resp = t.stream(
      "/stall",
      [&pieces](std::string_view) {
        ++pieces;
        return false;
      },
      nullptr, 30s);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.error, "");
  EXPECT_EQ(pieces, 1);
  EXPECT_LT(ms_since(start), 2000);
}

TEST_F(HttpTest, StreamRethrowsWhatOnDataThrows) {
  CurlTransport t(endpoint());
  EXPECT_THROW(
      t.stream(
          "/stream?lines=5",
          [](std::string_view) -> bool { throw std::runtime_error("bad event"); }, nullptr, 5s),
      std::runtime_error);
  // The handle went back to the pool in a usable state.
  Request r;
  r.path = "/echo";
  EXPECT_EQ(t.request(r).status, 200);
}

TEST_F(HttpTest, CancelEndsAStreamWithin300Ms) {
  CurlTransport t(endpoint());
  std::atomic<bool> cancel{false};
  std::atomic<bool> first{false};
  Clock::time_point cancelled_at;
  std::thread canceller([&] {
    while (!first.load()) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(300ms);
    cancelled_at = Clock::now();
    cancel.store(true);
  });
  const Response resp = t.stream(
      "/stall",
      [&first](std::string_view) {
        first.store(true);
        return true;
      },
      &cancel, 30s);
  const auto returned_at = Clock::now();
  canceller.join();
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.error, "cancelled");
  EXPECT_LT(
      std::chrono::duration_cast<std::chrono::milliseconds>(returned_at - cancelled_at).count(),
      300);
  // Already cancelled: nothing is sent at all.
  const auto start = Clock::now();
  const Response again = t.stream(
      "/stall", [](std::string_view) { return true; }, &cancel, 30s);
  EXPECT_EQ(again.status, 0);
  EXPECT_EQ(again.error, "cancelled");
  EXPECT_LT(ms_since(start), 100);
}

TEST_F(HttpTest, IdleWatchdogEndsAQuietStream) {
  CurlTransport t(endpoint());
  std::string got;
  Clock::time_point last_piece;
  const Response resp = t.stream(
      "/stall",
      [&](std::string_view d) {
        got.append(d);
        last_piece = Clock::now();
        return true;
      },
      nullptr, 1s);
  // Measured from the last byte, not the call: the handshake on a loaded machine is not idling.
  const long quiet = ms_since(last_piece);
  EXPECT_EQ(resp.status, 200);
  EXPECT_NE(resp.error.find("idle"), std::string::npos) << resp.error;
  EXPECT_EQ(got, expected_stream(1));
  EXPECT_GE(quiet, 1000);
  EXPECT_LT(quiet, 1500);
}

TEST_F(HttpTest, IdleWatchdogSparesASlowButLiveStream) {
  // Bytes trickle in every 60 ms for over a second: each one resets the 1 s watchdog.
  CurlTransport t(endpoint());
  std::string got;
  const auto start = Clock::now();
  const Response resp = t.stream(
      "/stream?lines=30&pause_ms=60&seed=5",
      [&got](std::string_view d) {
        got.append(d);
        return true;
      },
      nullptr, 1s);
  EXPECT_EQ(resp.error, "");
  EXPECT_EQ(got, expected_stream(30));
  EXPECT_GT(ms_since(start), 1200);
}

TEST_F(HttpTest, RequestTimeout) {
  CurlTransport t(endpoint());
  Request r;
  r.path = "/slow?ms=3000";
  r.timeout = 300ms;
  const auto start = Clock::now();
  const Response resp = t.request(r);
  const long took = ms_since(start);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("timed out"), std::string::npos) << resp.error;
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 1000);
  // Within its timeout the same route answers.
  r.path = "/slow?ms=100";
  r.timeout = 5s;
  EXPECT_EQ(t.request(r).status, 200);
}

TEST_F(HttpTest, ConnectionRefused) {
  // A port bound but not listening refuses connections, and nobody else can take it meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string port = std::to_string(ntohs(a.sin_port));

  Endpoint e = endpoint();
  e.server = "https://127.0.0.1:" + port;
  e.bearer = [] { return std::string("s3cret-token-value"); };
  CurlTransport t(e);
  Request r;
  r.path = "/echo";
  const Response resp = t.request(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find(port), std::string::npos) << resp.error;
  EXPECT_EQ(resp.error.find("s3cret"), std::string::npos);
  const Response s = t.stream(
      "/watch", [](std::string_view) { return true; }, nullptr, 5s);
  EXPECT_EQ(s.status, 0);
  EXPECT_NE(s.error, "");
  ::close(fd);
}

TEST_F(HttpTest, ConnectionIsReusedBetweenCalls) {
  CurlTransport t(endpoint());
  Request r;
  r.path = "/echo";
  const json a = body_of(t.request(r));
  const json b = body_of(t.request(r));
  // The same client port: the second exchange went over the first one's connection.
  EXPECT_EQ(a["client_port"], b["client_port"]);
}

TEST_F(HttpTest, ParallelCallsFromSeveralThreads) {
  Endpoint e = endpoint();
  e.bearer = [] { return std::string("shared"); };
  CurlTransport t(e);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&t, &good, i] {
      for (int k = 0; k < 5; ++k) {
        Request r;
        r.method = "PUT";
        r.path = "/echo/" + std::to_string(i);
        r.body = std::to_string(i * 100 + k);
        const Response resp = t.request(r);
        const json j = json::parse(resp.body, nullptr, false);
        if (resp.status == 200 && !j.is_discarded() && j["body"] == r.body && j["path"] == r.path &&
            j["headers"]["authorization"] == "Bearer shared")
          ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 30);
}

TEST_F(HttpTest, ServerPathPrefixIsKept) {
  Endpoint e = endpoint();
  e.server += "/echo/k8s/clusters/c-1/";
  CurlTransport t(e);
  Request r;
  r.path = "/api/v1/nodes";
  EXPECT_EQ(body_of(t.request(r))["path"], "/echo/k8s/clusters/c-1/api/v1/nodes");
}

TEST_F(HttpTest, BadInputGivesAClearErrorAndKeepsSecretsOut) {
  struct Case {
    const char* what;
    std::function<void(Endpoint&)> edit;
    const char* error_has;
  };
  const std::vector<Case> endpoints = {
      {"empty server", [](Endpoint& e) { e.server.clear(); }, "empty"},
      {"not a URL", [](Endpoint& e) { e.server = "https://exa mple:6443"; }, "server URL"},
      {"wrong scheme", [](Endpoint& e) { e.server = "ftp://localhost:21"; }, "scheme"},
      {"query", [](Endpoint& e) { e.server += "/?a=b"; }, "query"},
      {"credentials in URL", [](Endpoint& e) { e.server = "https://user:hunter2@localhost:6443"; },
       "credentials"},
      {"cert without key", [](Endpoint& e) { e.client_cert_pem = "x"; }, "together"},
      {"bad tls_server_name", [](Endpoint& e) { e.tls_server_name = "a b"; }, "host name"},
      {"tls_server_name on http",
       [](Endpoint& e) {
         e.server = "http://localhost:80";
         e.tls_server_name = "api";
       },
       "https"},
      {"user agent with newline", [](Endpoint& e) { e.user_agent = "a\r\nX-Evil: 1"; },
       "line break"},
  };
  Request r;
  r.path = "/echo";
  for (const Case& c : endpoints) {
    SCOPED_TRACE(c.what);
    Endpoint e = endpoint();
    c.edit(e);
    CurlTransport t(e);
    EXPECT_NE(t.config_error().find(c.error_has), std::string::npos) << t.config_error();
    const Response resp = t.request(r);
    EXPECT_EQ(resp.status, 0);
    EXPECT_EQ(resp.error, t.config_error());
    EXPECT_EQ(resp.error.find("hunter2"), std::string::npos);
    EXPECT_EQ(t.stream(
                   "/w", [](std::string_view) { return true; }, nullptr, 1s)
                  .error,
              t.config_error());
  }

  Endpoint e = endpoint();
  std::string token = "line\r\nX-Injected: yes";
  e.bearer = [&token] { return token; };
  CurlTransport t(e);
  Response resp = t.request(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("line break"), std::string::npos);
  EXPECT_EQ(resp.error.find("Injected"), std::string::npos);

  token = "fine";
  for (const auto& [path, method, why] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"echo", "GET", "must start with '/'"},
           {"/echo x", "GET", "space"},
           {"/echo\n", "GET", "control"},
           {"/echo", "TRACE", "unsupported method"},
           {"/echo", "get", "unsupported method"}}) {
    SCOPED_TRACE(path + " " + method);
    Request bad;
    bad.path = path;
    bad.method = method;
    resp = t.request(bad);
    EXPECT_EQ(resp.status, 0);
    EXPECT_NE(resp.error.find(why), std::string::npos) << resp.error;
  }

  e.bearer = []() -> std::string { throw std::runtime_error("token file unreadable"); };
  resp = CurlTransport(e).request(r);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("token file unreadable"), std::string::npos);
}

}  // namespace
}  // namespace control::k8s
