// Where and how the API listens (NodeConfig spec.api.grpc, spec.api.tls).
//
// Thread: started and stopped by the control thread; the grpc::Server runs its own threads.
// Security:
//  * "unix:///PATH": the directory is created 0755 if missing, a stale socket (nobody accepts
//    on it) is removed, the socket is created under umask 077 and chmod 0600: only root (the
//    process's user) may connect. Another live server on the path is an error.
//  * "tcp://HOST:PORT" or "HOST:PORT": TLS with client certificates only (spec.api.tls
//    certFile, keyFile, clientCAFile; GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
//    Without all three the API does not start (error).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "config/objects.h"

namespace control::api {

struct ListenAddress {
  bool unix_socket = false;
  std::string path;    // unix
  std::string target;  // what grpc::ServerBuilder takes: "unix:/path" or "host:port"
};

// Parses spec.api.grpc; false with a message naming the field on anything else.
bool parse_listen_address(const std::string& text, ListenAddress* out, std::string* error);

class Server {
 public:
  // Starts serving `service`; nullptr with *error set when it cannot.
  static std::unique_ptr<Server> start(const config::NodeConfig::Api& api, grpc::Service* service,
                                       std::string* error);
  ~Server();
  // Stops accepting, ends calls in progress (bounded), removes a Unix socket.
  void stop();
  const std::string& address() const { return address_; }  // as listening ("unix:/p", "h:port")

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::string socket_path_;
};

}  // namespace control::api
