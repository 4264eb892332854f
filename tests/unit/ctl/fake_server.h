// A fake Portico API for porticoctl's end-to-end tests: implements portico.v1.Portico with the
// canned answers of fixtures.h, records every request, and refuses a method on demand. Listens
// on a Unix socket in its own temporary directory; gRPC's threads run the handlers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/server.h>

#include "portico.grpc.pb.h"

namespace porticoctl::testing {

class FakePortico final : public portico::v1::Portico::Service {
 public:
  FakePortico();
  ~FakePortico() override;

  // "unix:///tmp/porticoctl-test.XXXXXX/api.sock"
  const std::string& address() const { return address_; }
  std::string socket_path() const { return dir_ + "/api.sock"; }

  // Canned answers (set before the command runs).
  std::vector<portico::v1::Object> objects;
  portico::v1::ApplyResponse apply_response;
  std::vector<portico::v1::Stats> stats;  // GetStats answers these in turn, then the last again
  portico::v1::FlowsResponse flows;
  portico::v1::BgpPeersResponse peers;
  std::vector<portico::v1::Event> events;
  bool hold_event_stream = false;  // after the events, keep the stream open until cancelled
  portico::v1::DrainResponse drain_response;
  portico::v1::MatchResponse match_response;
  // Method name ("Apply", "Get"...) -> the error it answers instead.
  std::map<std::string, grpc::Status> refuse;

  // Recorded requests, in arrival order.
  struct Recorded {
    std::vector<std::string> methods;
    std::vector<portico::v1::ApplyRequest> apply;
    std::vector<portico::v1::DeleteRequest> del;
    std::vector<portico::v1::GetRequest> get;
    std::vector<portico::v1::ListRequest> list;
    std::vector<portico::v1::FlowsRequest> flows;
    std::vector<portico::v1::WatchEventsRequest> watch;
    std::vector<portico::v1::DrainRequest> drain;
    std::vector<portico::v1::MatchRequest> match;
  };
  Recorded recorded() const;

  grpc::Status Apply(grpc::ServerContext*, const portico::v1::ApplyRequest*,
                     portico::v1::ApplyResponse*) override;
  grpc::Status Delete(grpc::ServerContext*, const portico::v1::DeleteRequest*,
                      portico::v1::DeleteResponse*) override;
  grpc::Status Get(grpc::ServerContext*, const portico::v1::GetRequest*,
                   portico::v1::Object*) override;
  grpc::Status List(grpc::ServerContext*, const portico::v1::ListRequest*,
                    portico::v1::ListResponse*) override;
  grpc::Status GetStats(grpc::ServerContext*, const portico::v1::StatsRequest*,
                        portico::v1::Stats*) override;
  grpc::Status ListFlows(grpc::ServerContext*, const portico::v1::FlowsRequest*,
                         portico::v1::FlowsResponse*) override;
  grpc::Status ListBgpPeers(grpc::ServerContext*, const portico::v1::BgpPeersRequest*,
                            portico::v1::BgpPeersResponse*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const portico::v1::WatchEventsRequest*,
                           grpc::ServerWriter<portico::v1::Event>*) override;
  grpc::Status Drain(grpc::ServerContext*, const portico::v1::DrainRequest*,
                     portico::v1::DrainResponse*) override;
  grpc::Status Match(grpc::ServerContext*, const portico::v1::MatchRequest*,
                     portico::v1::MatchResponse*) override;

 private:
  // Records the call; the refusal configured for `method`, if any.
  std::optional<grpc::Status> enter(const std::string& method);

  std::string dir_;
  std::string address_;
  std::unique_ptr<grpc::Server> server_;
  mutable std::mutex mu_;
  Recorded recorded_;
  size_t stats_calls_ = 0;
};

}  // namespace porticoctl::testing
