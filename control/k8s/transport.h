// The HTTP(S) conversation with the Kubernetes API server, as the rest of control/k8s sees it.
//
// control/k8s/http.cc implements it over libcurl (HTTPS with OpenSSL, the credentials of a
// kubeconfig or of the in-cluster service account); tests give scripted fakes. Everything above
// it (informers, the status writer, leader election) is written against this interface only.
//
// Thread-safety: request() and stream() may be called from several threads at once (each call
// uses its own connection handle).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace control::k8s {

struct Request {
  std::string method = "GET";  // GET, POST, PUT, PATCH, DELETE
  std::string path;            // "/api/v1/namespaces/demo/services?limit=500": path and query
  std::string body;
  std::string content_type = "application/json";  // PATCH: merge-patch+json, apply-patch+yaml...
  std::chrono::milliseconds timeout{30000};        // the whole exchange
};

struct Response {
  int status = 0;           // HTTP status; 0 when none came (then `error` says why)
  std::string body;         // request(): the whole body; stream(): empty
  std::string error;        // transport error in words ("connect: Connection refused", TLS...)
  std::string retry_after;  // the Retry-After header of a 429 or 503, as sent
  bool ok() const { return status >= 200 && status < 300; }
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual Response request(const Request& r) = 0;

  // A streaming GET (a watch). `on_data` receives the body as it arrives, in pieces that bear no
  // relation to the events in it (control/k8s/watch.h cuts them); returning false ends the
  // stream. Returns when the server ends the body, on a transport error, when on_data returns
  // false, when *cancel becomes true (checked at least every 200 ms), or when nothing at all
  // arrived for `idle` (a watchdog a little longer than the watch's timeoutSeconds). A non-2xx
  // answer's body is not streamed: it is returned in Response::body.
  virtual Response stream(const std::string& path,
                          const std::function<bool(std::string_view)>& on_data,
                          const std::atomic<bool>* cancel, std::chrono::seconds idle) = 0;
};

}  // namespace control::k8s
