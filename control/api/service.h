// The gRPC service portico.v1.Portico (proto/portico/v1/portico.proto) and its bridge to the
// control thread.
//
// Threads: gRPC's own threads run the handlers here. They never touch the objects, the plan or
// the data plane: each call is a closure posted to the ControlQueue, which the control thread
// drains once per loop iteration (control/runner.cc, every 20 ms at most), and the handler
// waits for its answer at most kControlTimeout (then DEADLINE_EXCEEDED; the closure still runs
// later, on its own copies, and its answer is dropped). WatchEvents streams from the EventLog,
// a bounded ring the control thread appends to; stream handlers wait on its condition variable.
// Control is what the control thread answers with: the runner's implementation is
// control/api/control.cc; tests give a fake one.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "portico.grpc.pb.h"

namespace control::api {

namespace pb = ::portico::v1;

inline constexpr std::chrono::seconds kControlTimeout{10};

// Closures for the control thread, posted by any thread.
class ControlQueue {
 public:
  // Any thread: queued unless closed (returns false then).
  bool post(std::function<void()> f);
  // Control thread: runs everything queued now (not what those closures post).
  void drain();
  // No more closures are accepted; those queued are dropped (their callers time out or, with
  // closed(), answer UNAVAILABLE).
  void close();
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::deque<std::function<void()>> q_;
  bool closed_ = false;
};

// Recent events (IPAM, BGP, changes applied or refused, drains), newest last, at most
// kCapacity kept. Thread-safe.
class EventLog {
 public:
  static constexpr size_t kCapacity = 1000;

  void add(const std::string& type, const std::string& reason, const std::string& object,
           const std::string& message);
  void add(pb::Event e);
  // Sequence number of the next event (a watcher without replay starts here).
  uint64_t next_seq() const;
  // Sequence number of the oldest event kept.
  uint64_t first_seq() const;
  // Events with seq >= *from, waiting up to `wait` for one; advances *from past what it
  // returns (past dropped ones too). Returns false once closed.
  bool wait(uint64_t* from, std::chrono::milliseconds wait, std::vector<pb::Event>* out);
  void close();

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pb::Event> ring_;
  uint64_t first_ = 0;  // seq of ring_.front()
  bool closed_ = false;
};

// What the control thread answers. Every method runs on the control thread.
class Control {
 public:
  virtual ~Control() = default;
  virtual grpc::Status apply(const pb::ApplyRequest& req, pb::ApplyResponse* resp) = 0;
  virtual grpc::Status remove(const pb::DeleteRequest& req, pb::DeleteResponse* resp) = 0;
  virtual grpc::Status get(const pb::GetRequest& req, pb::Object* resp) = 0;
  virtual grpc::Status list(const pb::ListRequest& req, pb::ListResponse* resp) = 0;
  virtual grpc::Status stats(const pb::StatsRequest& req, pb::Stats* resp) = 0;
  virtual grpc::Status flows(const pb::FlowsRequest& req, pb::FlowsResponse* resp) = 0;
  virtual grpc::Status bgp_peers(const pb::BgpPeersRequest& req, pb::BgpPeersResponse* resp) = 0;
  virtual grpc::Status drain(const pb::DrainRequest& req, pb::DrainResponse* resp) = 0;
  virtual grpc::Status match(const pb::MatchRequest& req, pb::MatchResponse* resp) = 0;
  // True if flows() reads only what is fixed from start to stop (the workers' connection
  // tables), so that the gRPC thread may run it itself: a scan of every worker's table takes
  // milliseconds to tens of them, which the control thread (BGP, ARP, announcements) should
  // not wait for. Scans still run one at a time.
  virtual bool flows_off_control_thread() const { return false; }
};

class Service final : public pb::Portico::Service {
 public:
  Service(ControlQueue* queue, Control* control, EventLog* events,
          std::chrono::milliseconds timeout = kControlTimeout)
      : queue_(queue), control_(control), events_(events), timeout_(timeout) {}

  grpc::Status Apply(grpc::ServerContext*, const pb::ApplyRequest*, pb::ApplyResponse*) override;
  grpc::Status Delete(grpc::ServerContext*, const pb::DeleteRequest*, pb::DeleteResponse*) override;
  grpc::Status Get(grpc::ServerContext*, const pb::GetRequest*, pb::Object*) override;
  grpc::Status List(grpc::ServerContext*, const pb::ListRequest*, pb::ListResponse*) override;
  grpc::Status GetStats(grpc::ServerContext*, const pb::StatsRequest*, pb::Stats*) override;
  grpc::Status ListFlows(grpc::ServerContext*, const pb::FlowsRequest*,
                         pb::FlowsResponse*) override;
  grpc::Status ListBgpPeers(grpc::ServerContext*, const pb::BgpPeersRequest*,
                            pb::BgpPeersResponse*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const pb::WatchEventsRequest*,
                           grpc::ServerWriter<pb::Event>*) override;
  grpc::Status Drain(grpc::ServerContext*, const pb::DrainRequest*, pb::DrainResponse*) override;
  grpc::Status Match(grpc::ServerContext*, const pb::MatchRequest*, pb::MatchResponse*) override;

 private:
  // Runs method(request copy, response) on the control thread and copies the answer back.
  template <typename Req, typename Resp>
  grpc::Status call(grpc::Status (Control::*method)(const Req&, Resp*), const Req& req, Resp* resp);

  ControlQueue* queue_;
  Control* control_;
  EventLog* events_;
  std::chrono::milliseconds timeout_;
  std::mutex flows_mu_;  // one ListFlows scan at a time (off the control thread)
};

}  // namespace control::api
