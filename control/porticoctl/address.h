// porticoctl: where the API is and how to reach it. The address comes from --api, else
// $PORTICO_API, else unix:///run/portico/api.sock. A Unix socket is plain (the server keeps it
// root-only); TCP needs TLS (--tls-ca, --tls-cert/--tls-key or $PORTICO_TLS_CA/_CERT/_KEY),
// since the server refuses plaintext on TCP.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/channel.h>

namespace porticoctl {

inline constexpr const char* kDefaultApi = "unix:///run/portico/api.sock";

struct TlsFiles {
  std::string ca, cert, key;  // file paths; empty = not given
  bool any() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

struct ApiEndpoint {
  std::string shown;   // the address as given, for messages
  std::string target;  // gRPC's target: "unix:/run/portico/api.sock", "host:port"
  bool tcp = false;
  TlsFiles tls;
};

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// Resolves flag > environment > default and checks the address form and the TLS options. On a
// bad address returns nullopt with `error` saying why (a usage error).
std::optional<ApiEndpoint> resolve_api(const std::optional<std::string>& api_flag,
                                       const TlsFiles& tls_flags, const Getenv& getenv,
                                       std::string* error);

// A channel to `api` (TLS credentials read from the files now); nullptr with `error` when a file
// cannot be read.
std::shared_ptr<grpc::Channel> make_channel(const ApiEndpoint& api, std::string* error);

}  // namespace porticoctl
