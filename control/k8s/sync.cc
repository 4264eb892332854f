// Kubernetes sync: credentials, transport and informers (see sync.h).
#include "control/k8s/sync.h"

namespace control::k8s {

std::unique_ptr<Sync> Sync::start(const config::NodeConfig::Kubernetes& k, std::string* error,
                                  InformerOptions options) {
  std::unique_ptr<Sync> s(new Sync());
  if (k.kubeconfig == "in-cluster") {
    if (!in_cluster_config(InClusterEnv::from_process(), &s->cluster_, error)) return nullptr;
  } else if (!load_kubeconfig(k.kubeconfig, k.context, &s->cluster_, error)) {
    return nullptr;
  }
  s->tokens_ = std::make_unique<TokenSource>(s->cluster_);
  Endpoint e;
  e.server = s->cluster_.server;
  e.ca_pem = s->cluster_.ca_pem;
  e.insecure_skip_tls_verify = s->cluster_.insecure_skip_tls_verify;
  e.tls_server_name = s->cluster_.tls_server_name;
  e.client_cert_pem = s->cluster_.client_cert_pem;
  e.client_key_pem = s->cluster_.client_key_pem;
  if (e.client_cert_pem.empty() && s->cluster_.exec) {
    // An exec plugin may answer with a client certificate instead of a token.
    std::string why;
    std::tie(e.client_cert_pem, e.client_key_pem) = s->tokens_->client_cert_and_key(&why);
  }
  e.username = s->cluster_.username;
  e.password = s->cluster_.password;
  TokenSource* tokens = s->tokens_.get();
  e.bearer = [tokens] {
    std::string why;
    return tokens->token(&why);
  };
  e.on_unauthorized = [tokens] { tokens->invalidate(); };
  s->transport_ = std::make_unique<CurlTransport>(std::move(e));
  if (!s->transport_->config_error().empty()) {
    *error = s->cluster_.origin + ": " + s->transport_->config_error();
    return nullptr;
  }
  s->cache_ = std::make_unique<ClusterCache>(s->transport_.get(), watched_kinds(), options);
  s->cache_->start();
  return s;
}

Sync::~Sync() {
  if (cache_) cache_->stop();
}

}  // namespace control::k8s
