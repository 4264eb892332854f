// control/metrics Server and answer(): real sockets on 127.0.0.1 with an ephemeral port.
// Requests, status codes and headers; bounded requests; slow and idle clients do not hold up
// others; listen addresses.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "control/metrics.h"

namespace control::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kBody = "portico_x 1\n";

int connect_to(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the server closes or `timeout` passes.
std::string read_all(int fd, std::chrono::milliseconds timeout = 3000ms) {
  std::string out;
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (poll(&p, 1, static_cast<int>(std::max<long>(left, 0))) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// One request on a new connection; the whole answer.
std::string request(uint16_t port, const std::string& raw) {
  const int fd = connect_to(port);
  if (fd < 0) return "connect failed";
  send(fd, raw.data(), raw.size(), MSG_NOSIGNAL);
  std::string out = read_all(fd);
  close(fd);
  return out;
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string body_of(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "<no head end>" : response.substr(at + 4);
}

class ServerTest : public ::testing::Test {
 protected:
  void start(Server::Limits limits = {}) {
    server_ = std::make_unique<Server>(
        [this] {
          ++collects_;
          return kBody;
        },
        limits);
    ASSERT_EQ(server_->start("127.0.0.1:0"), "");
    ASSERT_NE(server_->port(), 0);
  }
  std::unique_ptr<Server> server_;
  std::atomic<int> collects_{0};
};

TEST_F(ServerTest, GetMetrics) {
  start();
  const std::string r = request(server_->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r), kBody);
  EXPECT_EQ(collects_, 1);
  EXPECT_EQ(server_->requests(), 1u);
}

TEST_F(ServerTest, QueryStringAndHttp10AndBareLf) {
  start();
  EXPECT_EQ(body_of(request(server_->port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n")), kBody);
  EXPECT_EQ(status_line(request(server_->port(), "GET /metrics HTTP/1.1\n\n")), "HTTP/1.1 200 OK");
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  start();
  const std::string r = request(server_->port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(status_line(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Length: " + std::to_string(kBody.size())), std::string::npos);
  EXPECT_EQ(body_of(r), "");
}

TEST_F(ServerTest, OtherPathsMethodsAndGarbage) {
  start();
  const uint16_t p = server_->port();
  EXPECT_EQ(status_line(request(p, "GET / HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_line(request(p, "GET /metricsx HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(status_line(request(p, "HEAD /other HTTP/1.1\r\n\r\n")), "HTTP/1.1 404 Not Found");
  const std::string post = request(p, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_line(post), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(status_line(request(p, "hello\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(request(p, "GET /metrics HTTP/2.0\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(request(p, "G(T /metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(request(p, std::string("GET /metrics\0 HTTP/1.1\r\n\r\n", 27))),
            "HTTP/1.1 404 Not Found");
  EXPECT_EQ(collects_, 0);  // none of these asked for the metrics
}

TEST_F(ServerTest, RequestTooLarge) {
  Server::Limits limits;
  limits.max_request_bytes = 256;
  start(limits);
  std::string big = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(1000, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_line(request(server_->port(), big)),
            "HTTP/1.1 431 Request Header Fields Too Large");
  // A head that fits is still answered.
  EXPECT_EQ(status_line(request(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(collects_, 1);
}

TEST_F(ServerTest, CollectFailureIs500) {
  server_ = std::make_unique<Server>([]() -> std::string { throw std::runtime_error("x"); });
  ASSERT_EQ(server_->start("127.0.0.1:0"), "");
  EXPECT_EQ(status_line(request(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 500 Internal Server Error");
}

// A client that connects and sends half a request (or nothing) neither delays another client
// nor stays connected past its deadline.
TEST_F(ServerTest, SlowClientsDoNotBlockOthers) {
  Server::Limits limits;
  limits.client_timeout_ms = 400;
  start(limits);
  const int silent = connect_to(server_->port());
  const int partial = connect_to(server_->port());
  ASSERT_GE(silent, 0);
  ASSERT_GE(partial, 0);
  send(partial, "GET /met", 8, MSG_NOSIGNAL);
  const auto t0 = Clock::now();
  EXPECT_EQ(body_of(request(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n")), kBody);
  EXPECT_LT(Clock::now() - t0, 300ms);
  // Both are closed without an answer once their deadline passes.
  EXPECT_EQ(read_all(silent, 2000ms), "");
  EXPECT_EQ(read_all(partial, 2000ms), "");
  EXPECT_LT(Clock::now() - t0, 1500ms);
  close(silent);
  close(partial);
}

// At the client limit new connections wait in the backlog and are served once a slot frees.
TEST_F(ServerTest, ClientLimitQueuesNewClients) {
  Server::Limits limits;
  limits.max_clients = 2;
  limits.client_timeout_ms = 300;
  start(limits);
  const int a = connect_to(server_->port());
  const int b = connect_to(server_->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(50ms);  // both accepted: the limit is reached
  const auto t0 = Clock::now();
  EXPECT_EQ(body_of(request(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n")), kBody);
  EXPECT_GE(Clock::now() - t0, 150ms);  // it waited for a slot
  close(a);
  close(b);
}

TEST_F(ServerTest, StopsWithClientsConnected) {
  start();
  const int idle = connect_to(server_->port());
  ASSERT_GE(idle, 0);
  const auto t0 = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - t0, 500ms);
  EXPECT_EQ(read_all(idle, 1000ms), "");  // closed
  close(idle);
  EXPECT_EQ(connect_to(server_->port()), -1);  // nothing listens any more
}

TEST(MetricsServer, BindErrors) {
  Server a([] { return kBody; });
  ASSERT_EQ(a.start("127.0.0.1:0"), "");
  Server b([] { return kBody; });
  const std::string err = b.start("127.0.0.1:" + std::to_string(a.port()));
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  Server c([] { return kBody; });
  EXPECT_NE(c.start("nonsense"), "");
  EXPECT_EQ(a.start("127.0.0.1:0"), "the metrics server is already running");
}

TEST(MetricsServer, Ipv6Loopback) {
  Server s([] { return kBody; });
  const std::string err = s.start("[::1]:0");
  if (err.find("Cannot assign requested address") != std::string::npos ||
      err.find("Address family not supported") != std::string::npos) {
    GTEST_SKIP() << "no IPv6 loopback here: " << err;
  }
  ASSERT_EQ(err, "");
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(s.port());
  a.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string req = "GET /metrics HTTP/1.1\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  EXPECT_EQ(body_of(read_all(fd)), kBody);
  close(fd);
}

TEST(MetricsListenAddress, Parses) {
  ListenAddress a;
  EXPECT_EQ(parse_listen_address("127.0.0.1:9478", &a), "");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 9478);
  EXPECT_EQ(parse_listen_address("[2001:db8::1]:80", &a), "");
  EXPECT_EQ(a.host, "2001:db8::1");
  EXPECT_EQ(a.port, 80);
  EXPECT_EQ(parse_listen_address(":9100", &a), "");
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(parse_listen_address("localhost:1", &a), "");
  EXPECT_EQ(a.host, "127.0.0.1");
}

TEST(MetricsListenAddress, Rejects) {
  ListenAddress a;
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "example.com:80", "2001:db8::1:80", "[2001:db8::1]",
                          "[2001:db8::1]80", "[nope]:80", "1.2.3.4.5:80"}) {
    EXPECT_NE(parse_listen_address(bad, &a), "") << bad;
  }
  EXPECT_NE(parse_listen_address("example.com:80", &a).find("example.com"), std::string::npos);
}

TEST(MetricsAnswer, OnlyMetricsCollects) {
  int calls = 0;
  const Server::Collect collect = [&] {
    ++calls;
    return std::string("x 1\n");
  };
  EXPECT_EQ(answer("GET /metrics HTTP/1.1\r\n\r\n", collect).rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(answer("GET /favicon.ico HTTP/1.1\r\n\r\n", collect).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(answer("DELETE /metrics HTTP/1.1\r\n\r\n", collect).rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(answer("GET  /metrics HTTP/1.1\r\n\r\n", collect).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(answer("\r\n\r\n", collect).rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace control::metrics
