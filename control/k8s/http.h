// The libcurl implementation of Transport (transport.h): HTTPS to the Kubernetes API server with
// the credentials of a kubeconfig or of the in-cluster service account.
//
// Runs on whichever control-side thread calls it (informer threads, the status writer, the lease
// loop); never on a worker lcore. Each call borrows a libcurl handle pair from a small pool owned
// by the CurlTransport, so calls on several threads run in parallel and a thread's next call
// usually reuses the previous call's TCP+TLS connection.
//
// Wire behaviour (reference note A4, A7):
//   - HTTP/1.1 only: every watch holds its own connection, which keeps the stream's lifetime and
//     the connection's the same thing (HTTP/2 would multiplex them over one and a stalled
//     connection would take every watch down at once).
//   - TCP keepalive on. Streams get no overall timeout; instead the caller's `cancel` flag and
//     the `idle` watchdog are checked every 100 ms by driving libcurl's multi interface ourselves
//     (the progress callback can slow to once a second on a quiet connection).
//   - Headers: Accept: application/json, Content-Type of the Request when there is a body,
//     Authorization: Bearer <bearer()> fetched anew for every call, User-Agent.
//   - tls_server_name: the URL names that host (so SNI and certificate verification use it) and
//     CURLOPT_CONNECT_TO sends the TCP connection to the server's real address; the Host header
//     still names the real address, as client-go sends it.
//   - Error strings come from libcurl's error buffer; they never contain the bearer token or the
//     basic-auth password (they are scrubbed should libcurl ever echo them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/k8s/transport.h"

namespace control::k8s {

struct Endpoint {
  std::string server;  // "https://host:port[/prefix]" (http:// allowed, for tests only)
  std::string ca_pem;  // PEM text of the CA bundle; "" = the system's CAs
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;                  // verify the server certificate against this name
  std::string client_cert_pem, client_key_pem;  // PEM text; both or neither
  std::string username, password;               // basic auth, rare
  // Both are called on the thread of the request() or stream() call, possibly on several threads
  // at once, so they must be thread-safe. Neither is called with a lock of ours held.
  std::function<std::string()> bearer;    // current token per request ("" = none); may be empty
  std::function<void()> on_unauthorized;  // called after a 401 (the token source re-reads)
  std::string user_agent = "portico";
};

// Stream results, beyond transport.h: Response::status is the HTTP status received (0 if none);
// Response::error is empty when the server ended the body or on_data returned false, and says
// why otherwise ("cancelled", "idle: ...", or libcurl's words, e.g. "transfer closed with
// outstanding read data remaining" when the connection broke mid-body). `idle` counts from the
// call (connecting included) and from every byte received; 0 turns the watchdog off. An
// exception thrown by on_data ends the stream and is rethrown from stream().
class CurlTransport final : public Transport {
 public:
  // Never throws on a bad Endpoint: every call then fails with status 0 and config_error().
  explicit CurlTransport(Endpoint e);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Response request(const Request& r) override;
  Response stream(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                  const std::atomic<bool>* cancel, std::chrono::seconds idle) override;

  // Why the Endpoint is unusable ("" when it is fine): a malformed server URL, a key without a
  // certificate...
  const std::string& config_error() const { return config_error_; }

  // A libcurl easy handle in its own multi handle (the multi keeps the connection cache). Public
  // only so http.cc's helpers can name it.
  struct Handle;

 private:
  std::unique_ptr<Handle> acquire();
  void release(std::unique_ptr<Handle> h);

  Endpoint endpoint_;
  std::string config_error_;
  std::string base_url_;     // server with tls_server_name as host, no trailing '/'
  std::string connect_to_;   // "name:port:host:port" when tls_server_name is set
  std::string host_header_;  // "Host: host:port" when tls_server_name is set

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Handle>> pool_;  // idle handles, most recently used last
};

}  // namespace control::k8s
