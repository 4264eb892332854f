// Kubernetes sync: credentials, transport and informers (see sync.h).
#include "control/k8s/sync.h"

#include <spdlog/spdlog.h>

#include <set>

namespace control::k8s {

std::unique_ptr<Sync> Sync::start(const config::NodeConfig::Kubernetes& k,
                                  const std::string& node_name, std::string* error,
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
  LeaseConfig lease;
  lease.namespace_ = k.leader_election.lease_namespace;
  lease.name = k.leader_election.lease_name;
  lease.identity = k.leader_election.identity.empty() ? node_name : k.leader_election.identity;
  lease.duration = std::chrono::milliseconds(k.leader_election.lease_duration_ms);
  lease.renew_deadline = std::chrono::milliseconds(k.leader_election.renew_deadline_ms);
  lease.retry_period = std::chrono::milliseconds(k.leader_election.retry_period_ms);
  if (const std::string why = validate(lease); !why.empty()) {
    *error = "spec.kubernetes.leaderElection: " + why;
    return nullptr;
  }
  s->elector_ = std::make_unique<LeaderElector>(s->transport_.get(), lease);
  LeaderElector* elector = s->elector_.get();
  s->writer_ = std::make_unique<StatusWriter>(s->transport_.get(),
                                              [elector] { return elector->leading_fenced(); });
  s->cache_ = std::make_unique<ClusterCache>(s->transport_.get(), watched_kinds(), options);
  s->cache_->start();
  Sync* raw = s.get();
  s->elector_thread_ = std::thread([raw] { raw->elector_->run(&raw->stop_); });
  s->status_thread_ = std::thread([raw] { raw->status_loop(); });
  return s;
}

Sync::~Sync() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (status_thread_.joinable()) status_thread_.join();
  if (elector_thread_.joinable()) elector_thread_.join();  // releases the Lease
  if (cache_) cache_->stop();
}

void Sync::set_desired(DesiredStatus d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    desired_ = std::move(d);
    ++desired_seq_;
  }
  cv_.notify_all();
}

Sync::StatusCounters Sync::status_counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

// Writes the desired status whenever it changes, when this node becomes the leader, and every
// 60 s from scratch (forget()): level-based, as a controller should be.
void Sync::status_loop() {
  uint64_t seen = 0;
  bool was_leading = false;
  auto last_resync = std::chrono::steady_clock::now();
  std::set<std::pair<std::string, std::string>> services_before;
  std::set<std::string> events_before;  // posted in an earlier round and still current
  for (;;) {
    DesiredStatus d;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || desired_seq_ != seen; });
      if (stop_) return;
      const bool leading = elector_->leading();
      const bool became_leader = leading && !was_leading;
      was_leading = leading;
      const auto now = std::chrono::steady_clock::now();
      const bool resync = now - last_resync >= std::chrono::seconds(60);
      if (!leading || (desired_seq_ == seen && !became_leader && !resync)) continue;
      if (resync) last_resync = now;
      if (resync || became_leader) writer_->forget();
      if (became_leader) events_before.clear();
      seen = desired_seq_;
      d = desired_;
    }
    StatusCounters c;
    const auto count = [&](const StatusWriter::Result& r, const std::string& what) {
      switch (r.outcome) {
        case WriteResult::Outcome::kWritten:
          ++c.written;
          spdlog::info("event=k8s_status_written object={}", what);
          break;
        case WriteResult::Outcome::kUnchanged:
          ++c.unchanged;
          break;
        case WriteResult::Outcome::kNotLeader:
          ++c.not_leader;
          break;
        case WriteResult::Outcome::kError:
          ++c.errors;
          c.last_error = what + ": " + r.error;
          spdlog::warn("event=k8s_status_failed object={} error=\"{}\"", what, r.error);
          break;
      }
    };
    std::set<std::pair<std::string, std::string>> services_now;
    for (const auto& s : d.services) {
      services_now.emplace(s.ns, s.name);
      count(writer_->write_service(s), "Service/" + s.ns + "/" + s.name);
    }
    for (const auto& [ns, name] : services_before) {
      if (services_now.count({ns, name}) == 0) writer_->forget_service(ns, name);
    }
    services_before = std::move(services_now);
    for (const auto& o : d.objects) {
      count(writer_->write_object(o), o.plural + "/" + (o.ns.empty() ? "" : o.ns + "/") + o.name);
    }
    std::set<std::string> events_now;
    for (const auto& e : d.events) {
      const std::string key = e.kind + "/" + e.ns + "/" + e.name + "\n" + e.reason + "\n" + e.message;
      if (events_before.count(key) != 0) {
        events_now.insert(key);
        continue;
      }
      const StatusWriter::Result r = writer_->post_event(e);
      count(r, "Event " + e.reason + " for " + e.kind + "/" + e.ns + "/" + e.name);
      if (r.outcome == WriteResult::Outcome::kWritten) events_now.insert(key);
    }
    events_before = std::move(events_now);
    std::lock_guard<std::mutex> lock(mu_);
    counters_.written += c.written;
    counters_.unchanged += c.unchanged;
    counters_.not_leader += c.not_leader;
    counters_.errors += c.errors;
    if (!c.last_error.empty()) counters_.last_error = c.last_error;
  }
}

}  // namespace control::k8s
