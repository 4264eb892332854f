// porticoctl: API address resolution and channel set-up (see address.h).
#include "control/porticoctl/address.h"

#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

namespace porticoctl {

namespace {

bool valid_port(const std::string& p) {
  if (p.empty() || p.size() > 5) return false;
  for (char c : p)
    if (c < '0' || c > '9') return false;
  int v = std::stoi(p);
  return v >= 1 && v <= 65535;
}

// "host:port" or "[v6]:port"; false when the port is missing or bad.
bool valid_host_port(const std::string& hp) {
  if (hp.empty()) return false;
  if (hp[0] == '[') {
    size_t close = hp.find(']');
    return close != std::string::npos && close > 1 && close + 1 < hp.size() &&
           hp[close + 1] == ':' && valid_port(hp.substr(close + 2));
  }
  size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  if (hp.find(':') != colon) return false;  // a bare IPv6 address needs brackets
  return valid_port(hp.substr(colon + 1));
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return false;
  *out = s.str();
  return true;
}

}  // namespace

std::optional<ApiEndpoint> resolve_api(const std::optional<std::string>& api_flag,
                                       const TlsFiles& tls_flags, const Getenv& getenv,
                                       std::string* error) {
  ApiEndpoint api;
  if (api_flag) {
    api.shown = *api_flag;
  } else if (auto env = getenv("PORTICO_API"); env && !env->empty()) {
    api.shown = *env;
  } else {
    api.shown = kDefaultApi;
  }
  const std::string& a = api.shown;
  if (a.rfind("unix:", 0) == 0) {
    std::string path = a.substr(5);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // unix:///abs -> /abs
    if (path.empty() || path[0] != '/') {
      *error = "API address " + a + ": a Unix socket is unix:///absolute/path or unix:/absolute/path";
      return std::nullopt;
    }
    api.target = "unix:" + path;
  } else if (!a.empty() && a[0] == '/') {
    api.target = "unix:" + a;
  } else {
    std::string hp = a.rfind("tcp://", 0) == 0 ? a.substr(6) : a;
    if (!valid_host_port(hp)) {
      *error = "API address " + a +
               ": expected unix:///path, unix:/path, host:port or tcp://host:port "
               "(IPv6 as [address]:port)";
      return std::nullopt;
    }
    api.target = hp;
    api.tcp = true;
  }

  // TLS files: flags first; the environment only for TCP (a shell may export them for another
  // node while this command talks to the local socket).
  if (api.tcp) {
    auto pick = [&](const std::string& flag, const char* env) {
      if (!flag.empty()) return flag;
      auto v = getenv(env);
      return v ? *v : std::string();
    };
    api.tls.ca = pick(tls_flags.ca, "PORTICO_TLS_CA");
    api.tls.cert = pick(tls_flags.cert, "PORTICO_TLS_CERT");
    api.tls.key = pick(tls_flags.key, "PORTICO_TLS_KEY");
    if (!api.tls.any()) {
      *error = "API address " + a +
               " is TCP, and the server accepts TCP only with TLS: give --tls-ca FILE (and "
               "--tls-cert FILE --tls-key FILE if it asks for a client certificate), or "
               "PORTICO_TLS_CA / PORTICO_TLS_CERT / PORTICO_TLS_KEY";
      return std::nullopt;
    }
    if (api.tls.cert.empty() != api.tls.key.empty()) {
      *error = "--tls-cert and --tls-key go together (a client certificate and its key)";
      return std::nullopt;
    }
  } else if (tls_flags.any()) {
    *error = "--tls-ca, --tls-cert and --tls-key are for TCP addresses; " + a +
             " is a Unix socket (no TLS)";
    return std::nullopt;
  }
  return api;
}

std::shared_ptr<grpc::Channel> make_channel(const ApiEndpoint& api, std::string* error) {
  if (!api.tcp) return grpc::CreateChannel(api.target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  struct {
    const std::string& path;
    std::string* into;
    const char* what;
  } files[] = {{api.tls.ca, &ssl.pem_root_certs, "CA"},
               {api.tls.cert, &ssl.pem_cert_chain, "certificate"},
               {api.tls.key, &ssl.pem_private_key, "key"}};
  for (auto& f : files) {
    if (f.path.empty()) continue;
    if (!read_file(f.path, f.into)) {
      *error = std::string("cannot read the TLS ") + f.what + " file " + f.path;
      return nullptr;
    }
  }
  return grpc::CreateChannel(api.target, grpc::SslCredentials(ssl));
}

}  // namespace porticoctl
