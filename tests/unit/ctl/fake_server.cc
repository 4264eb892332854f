// The fake Portico API of porticoctl's tests (see fake_server.h).
#include "tests/unit/ctl/fake_server.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

namespace porticoctl::testing {

namespace pb = portico::v1;

FakePortico::FakePortico() {
  char tmpl[] = "/tmp/porticoctl-test.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  address_ = "unix://" + socket_path();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address_, grpc::InsecureServerCredentials());
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  if (!server_) throw std::runtime_error("the fake server could not listen on " + address_);
}

FakePortico::~FakePortico() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

FakePortico::Recorded FakePortico::recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

std::optional<grpc::Status> FakePortico::enter(const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  recorded_.methods.push_back(method);
  auto it = refuse.find(method);
  if (it != refuse.end()) return it->second;
  return std::nullopt;
}

grpc::Status FakePortico::Apply(grpc::ServerContext*, const pb::ApplyRequest* req,
                                pb::ApplyResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.apply.push_back(*req);
  }
  if (auto refused = enter("Apply")) return *refused;
  *resp = apply_response;
  return grpc::Status::OK;
}

grpc::Status FakePortico::Delete(grpc::ServerContext*, const pb::DeleteRequest* req,
                                 pb::DeleteResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.del.push_back(*req);
  }
  if (auto refused = enter("Delete")) return *refused;
  for (const pb::Object& o : objects)
    if (o.ref().kind() == req->ref().kind() && o.ref().namespace_() == req->ref().namespace_() &&
        o.ref().name() == req->ref().name()) {
      resp->set_generation(8);
      return grpc::Status::OK;
    }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      req->ref().kind() + " " + req->ref().namespace_() + "/" + req->ref().name() +
                          " not found");
}

grpc::Status FakePortico::Get(grpc::ServerContext*, const pb::GetRequest* req, pb::Object* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.get.push_back(*req);
  }
  if (auto refused = enter("Get")) return *refused;
  for (const pb::Object& o : objects)
    if (o.ref().kind() == req->ref().kind() && o.ref().namespace_() == req->ref().namespace_() &&
        o.ref().name() == req->ref().name()) {
      *resp = o;
      return grpc::Status::OK;
    }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      req->ref().kind() + " " + req->ref().namespace_() + "/" + req->ref().name() +
                          " not found");
}

grpc::Status FakePortico::List(grpc::ServerContext*, const pb::ListRequest* req,
                               pb::ListResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.list.push_back(*req);
  }
  if (auto refused = enter("List")) return *refused;
  for (const pb::Object& o : objects)
    if ((req->kind().empty() || o.ref().kind() == req->kind()) &&
        (req->namespace_().empty() || o.ref().namespace_() == req->namespace_()))
      *resp->add_objects() = o;
  return grpc::Status::OK;
}

grpc::Status FakePortico::GetStats(grpc::ServerContext*, const pb::StatsRequest*, pb::Stats* resp) {
  if (auto refused = enter("GetStats")) return *refused;
  std::lock_guard<std::mutex> lock(mu_);
  if (stats.empty()) return grpc::Status::OK;
  *resp = stats[std::min(stats_calls_++, stats.size() - 1)];
  return grpc::Status::OK;
}

grpc::Status FakePortico::ListFlows(grpc::ServerContext*, const pb::FlowsRequest* req,
                                    pb::FlowsResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.flows.push_back(*req);
  }
  if (auto refused = enter("ListFlows")) return *refused;
  *resp = flows;
  return grpc::Status::OK;
}

grpc::Status FakePortico::ListBgpPeers(grpc::ServerContext*, const pb::BgpPeersRequest*,
                                       pb::BgpPeersResponse* resp) {
  if (auto refused = enter("ListBgpPeers")) return *refused;
  *resp = peers;
  return grpc::Status::OK;
}

grpc::Status FakePortico::WatchEvents(grpc::ServerContext* ctx, const pb::WatchEventsRequest* req,
                                      grpc::ServerWriter<pb::Event>* writer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.watch.push_back(*req);
  }
  if (auto refused = enter("WatchEvents")) return *refused;
  for (const pb::Event& e : events)
    if (!writer->Write(e)) return grpc::Status::OK;
  // Bounded: a test that forgets to stop the client fails instead of hanging.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (hold_event_stream && !ctx->IsCancelled() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return grpc::Status::OK;
}

grpc::Status FakePortico::Drain(grpc::ServerContext*, const pb::DrainRequest* req,
                                pb::DrainResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.drain.push_back(*req);
  }
  if (auto refused = enter("Drain")) return *refused;
  *resp = drain_response;
  return grpc::Status::OK;
}

grpc::Status FakePortico::Match(grpc::ServerContext*, const pb::MatchRequest* req,
                                pb::MatchResponse* resp) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_.match.push_back(*req);
  }
  if (auto refused = enter("Match")) return *refused;
  *resp = match_response;
  return grpc::Status::OK;
}

}  // namespace porticoctl::testing
