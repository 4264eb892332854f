// portico.v1.Portico on gRPC's threads, answered by the control thread (see service.h).
#include "control/api/service.h"

#include <chrono>
#include <future>
#include <memory>

namespace control::api {

// ---- ControlQueue ----

bool ControlQueue::post(std::function<void()> f) {
  std::lock_guard lock(mu_);
  if (closed_) return false;
  q_.push_back(std::move(f));
  return true;
}

void ControlQueue::drain() {
  std::deque<std::function<void()>> now;
  {
    std::lock_guard lock(mu_);
    now.swap(q_);
  }
  for (auto& f : now) f();
}

void ControlQueue::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  q_.clear();
}

bool ControlQueue::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

// ---- EventLog ----

void EventLog::add(const std::string& type, const std::string& reason, const std::string& object,
                   const std::string& message) {
  pb::Event e;
  e.set_unix_ms(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count()));
  e.set_type(type);
  e.set_reason(reason);
  e.set_object(object);
  e.set_message(message);
  add(std::move(e));
}

void EventLog::add(pb::Event e) {
  {
    std::lock_guard lock(mu_);
    ring_.push_back(std::move(e));
    if (ring_.size() > kCapacity) {
      ring_.pop_front();
      ++first_;
    }
  }
  cv_.notify_all();
}

uint64_t EventLog::next_seq() const {
  std::lock_guard lock(mu_);
  return first_ + ring_.size();
}

uint64_t EventLog::first_seq() const {
  std::lock_guard lock(mu_);
  return first_;
}

bool EventLog::wait(uint64_t* from, std::chrono::milliseconds wait, std::vector<pb::Event>* out) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return closed_ || first_ + ring_.size() > *from; });
  if (closed_) return false;
  if (*from < first_) *from = first_;  // the watcher fell behind: what was dropped is gone
  for (uint64_t s = *from; s < first_ + ring_.size(); ++s) out->push_back(ring_[s - first_]);
  *from = first_ + ring_.size();
  return true;
}

void EventLog::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

// ---- Service ----

template <typename Req, typename Resp>
grpc::Status Service::call(grpc::Status (Control::*method)(const Req&, Resp*), const Req& req,
                           Resp* resp) {
  // The closure owns its request and answer: after a timeout it may still run.
  struct Call {
    Req req;
    Resp resp;
    std::promise<grpc::Status> done;
  };
  auto c = std::make_shared<Call>();
  c->req = req;
  std::future<grpc::Status> answer = c->done.get_future();
  Control* control = control_;
  const bool queued = queue_->post([c, control, method] {
    grpc::Status st;
    try {
      st = (control->*method)(c->req, &c->resp);
    } catch (const std::exception& e) {
      st = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
    }
    c->done.set_value(st);
  });
  if (!queued) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "portico is stopping");
  if (answer.wait_for(timeout_) != std::future_status::ready) {
    return grpc::Status(
        grpc::StatusCode::DEADLINE_EXCEEDED,
        "the control thread did not answer within " + std::to_string(timeout_.count()) + " ms");
  }
  const grpc::Status st = answer.get();
  if (st.ok()) *resp = std::move(c->resp);
  return st;
}

grpc::Status Service::Apply(grpc::ServerContext*, const pb::ApplyRequest* req,
                            pb::ApplyResponse* resp) {
  return call(&Control::apply, *req, resp);
}

grpc::Status Service::Delete(grpc::ServerContext*, const pb::DeleteRequest* req,
                             pb::DeleteResponse* resp) {
  return call(&Control::remove, *req, resp);
}

grpc::Status Service::Get(grpc::ServerContext*, const pb::GetRequest* req, pb::Object* resp) {
  return call(&Control::get, *req, resp);
}

grpc::Status Service::List(grpc::ServerContext*, const pb::ListRequest* req,
                           pb::ListResponse* resp) {
  return call(&Control::list, *req, resp);
}

grpc::Status Service::GetStats(grpc::ServerContext*, const pb::StatsRequest* req, pb::Stats* resp) {
  return call(&Control::stats, *req, resp);
}

grpc::Status Service::ListFlows(grpc::ServerContext*, const pb::FlowsRequest* req,
                                pb::FlowsResponse* resp) {
  if (!control_->flows_off_control_thread()) return call(&Control::flows, *req, resp);
  if (queue_->closed()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "portico is stopping");
  std::lock_guard<std::mutex> one_scan(flows_mu_);
  try {
    return control_->flows(*req, resp);
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
  }
}

grpc::Status Service::ListBgpPeers(grpc::ServerContext*, const pb::BgpPeersRequest* req,
                                   pb::BgpPeersResponse* resp) {
  return call(&Control::bgp_peers, *req, resp);
}

grpc::Status Service::Drain(grpc::ServerContext*, const pb::DrainRequest* req,
                            pb::DrainResponse* resp) {
  return call(&Control::drain, *req, resp);
}

grpc::Status Service::Match(grpc::ServerContext*, const pb::MatchRequest* req,
                            pb::MatchResponse* resp) {
  return call(&Control::match, *req, resp);
}

grpc::Status Service::WatchEvents(grpc::ServerContext* ctx, const pb::WatchEventsRequest* req,
                                  grpc::ServerWriter<pb::Event>* writer) {
  uint64_t from = req->replay() ? events_->first_seq() : events_->next_seq();
  std::vector<pb::Event> batch;
  // Wakes at least every 200 ms to notice a cancelled call.
  while (!ctx->IsCancelled()) {
    batch.clear();
    if (!events_->wait(&from, std::chrono::milliseconds(200), &batch)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "portico is stopping");
    }
    for (const auto& e : batch) {
      if (!writer->Write(e)) return grpc::Status::OK;  // the client went away
    }
  }
  return grpc::Status::OK;
}

}  // namespace control::api
