// The API's listener: address, credentials, socket permissions (see server.h).
#include "control/api/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace control::api {

namespace {

bool read_pem(const std::string& path, const char* field, std::string* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("spec.api.tls.") + field + " \"" + path +
             "\": cannot read: " + std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  if (out->empty()) {
    *error = std::string("spec.api.tls.") + field + " \"" + path + "\" is empty";
    return false;
  }
  return true;
}

// True if something accepts connections on the Unix socket at `path`.
bool socket_alive(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  const bool alive = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return alive;
}

}  // namespace

bool parse_listen_address(const std::string& text, ListenAddress* out, std::string* error) {
  *out = {};
  if (text.rfind("unix://", 0) == 0) {
    out->unix_socket = true;
    out->path = text.substr(7);
    if (out->path.empty() || out->path[0] != '/') {
      *error =
          "spec.api.grpc \"" + text + "\": a Unix socket needs an absolute path (unix:///PATH)";
      return false;
    }
    if (out->path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      *error = "spec.api.grpc \"" + text + "\": the socket path is too long";
      return false;
    }
    out->target = "unix:" + out->path;
    return true;
  }
  std::string hostport = text.rfind("tcp://", 0) == 0 ? text.substr(6) : text;
  const size_t colon = hostport.rfind(':');
  const bool bracketed = !hostport.empty() && hostport[0] == '[';
  if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size() ||
      (bracketed && hostport[colon - 1] != ']') || (!bracketed && hostport.find(':') != colon) ||
      hostport.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
      std::stoul(hostport.substr(colon + 1, 6)) > 65535 ||
      hostport.find('/') != std::string::npos) {
    *error = "spec.api.grpc \"" + text +
             "\": expected unix:///PATH, tcp://HOST:PORT or HOST:PORT ([IPv6]:PORT)";
    return false;
  }
  out->target = hostport;
  return true;
}

std::unique_ptr<Server> Server::start(const config::NodeConfig::Api& api, grpc::Service* service,
                                      std::string* error) {
  ListenAddress addr;
  if (!parse_listen_address(api.grpc, &addr, error)) return nullptr;
  auto server = std::unique_ptr<Server>(new Server());
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (addr.unix_socket) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::path(addr.path).parent_path();
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        *error = "spec.api.grpc: cannot create " + dir.string() + ": " + ec.message();
        return nullptr;
      }
      ::chmod(dir.c_str(), 0755);
    }
    if (std::filesystem::exists(addr.path, ec)) {
      if (socket_alive(addr.path)) {
        *error = "spec.api.grpc: " + addr.path +
                 " is served by another process (another portico?); refusing to take it over";
        return nullptr;
      }
      ::unlink(addr.path.c_str());  // left by a process that did not stop cleanly
    }
    creds = grpc::InsecureServerCredentials();  // the socket's permissions are the security
    server->socket_path_ = addr.path;
  } else {
    const auto& tls = api.tls;
    if (tls.cert_file.empty() || tls.key_file.empty() || tls.client_ca_file.empty()) {
      *error = "spec.api.grpc \"" + api.grpc +
               "\" is a TCP address: it needs spec.api.tls certFile, keyFile and clientCAFile "
               "(clients must present a certificate); refusing to serve the API without them";
      return nullptr;
    }
    grpc::SslServerCredentialsOptions opts(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read_pem(tls.cert_file, "certFile", &pair.cert_chain, error) ||
        !read_pem(tls.key_file, "keyFile", &pair.private_key, error) ||
        !read_pem(tls.client_ca_file, "clientCAFile", &opts.pem_root_certs, error)) {
      return nullptr;
    }
    opts.pem_key_cert_pairs.push_back(std::move(pair));
    creds = grpc::SslServerCredentials(opts);
  }

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(addr.target, creds, addr.unix_socket ? nullptr : &port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(16 << 20);  // an Apply of a large configuration
  // The socket is created inside BuildAndStart: no moment where others could connect.
  const mode_t old = addr.unix_socket ? ::umask(077) : 0;
  server->server_ = builder.BuildAndStart();
  if (addr.unix_socket) ::umask(old);
  if (server->server_ == nullptr || (!addr.unix_socket && port == 0)) {
    *error = "spec.api.grpc \"" + api.grpc + "\": cannot listen on " + addr.target +
             " (address in use, not local, or bad TLS files)";
    server->server_.reset();
    server->socket_path_.clear();
    return nullptr;
  }
  if (addr.unix_socket && ::chmod(addr.path.c_str(), 0600) != 0) {
    *error = "spec.api.grpc: cannot chmod 0600 " + addr.path + ": " + std::strerror(errno);
    server->stop();
    return nullptr;
  }
  server->address_ = addr.unix_socket
                         ? addr.target
                         : addr.target.substr(0, addr.target.rfind(':') + 1) + std::to_string(port);
  return server;
}

void Server::stop() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    server_.reset();
  }
  if (!socket_path_.empty()) {
    ::unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

Server::~Server() { stop(); }

}  // namespace control::api
