// control/api/service + server: the gRPC service end to end over a Unix socket in a temporary
// directory, with a fake Control answering on a "control thread" that drains the queue.
#include "control/api/service.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "control/api/server.h"

namespace control::api {
namespace {

namespace fs = std::filesystem;

// Answers Apply by echoing what it got; refuses documents containing "bad" as a validation
// error would. Records which thread it ran on.
class FakeControl : public Control {
 public:
  std::atomic<std::thread::id> ran_on{};
  std::atomic<int> applied{0};
  grpc::Status apply(const pb::ApplyRequest& req, pb::ApplyResponse* resp) override {
    ran_on = std::this_thread::get_id();
    if (req.documents().find("bad") != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "<apply>:3: Service/x/y: spec.ports: bad");
    }
    ++applied;
    resp->set_generation(7);
    resp->add_warnings(req.documents());
    return grpc::Status::OK;
  }
  grpc::Status remove(const pb::DeleteRequest& req, pb::DeleteResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, req.ref().name() + ": not found");
  }
  grpc::Status get(const pb::GetRequest&, pb::Object*) override { return grpc::Status::OK; }
  grpc::Status list(const pb::ListRequest&, pb::ListResponse*) override { return grpc::Status::OK; }
  grpc::Status stats(const pb::StatsRequest&, pb::Stats* s) override {
    s->set_generation(3);
    return grpc::Status::OK;
  }
  std::atomic<std::thread::id> flows_ran_on{};
  std::atomic<bool> flows_anywhere{false};
  grpc::Status flows(const pb::FlowsRequest&, pb::FlowsResponse* resp) override {
    flows_ran_on = std::this_thread::get_id();
    resp->set_truncated(true);
    return grpc::Status::OK;
  }
  bool flows_off_control_thread() const override { return flows_anywhere; }
  grpc::Status bgp_peers(const pb::BgpPeersRequest&, pb::BgpPeersResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status drain(const pb::DrainRequest&, pb::DrainResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status match(const pb::MatchRequest&, pb::MatchResponse*) override {
    return grpc::Status::OK;
  }
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("portico-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    api_.grpc = "unix://" + (dir_ / "sub" / "api.sock").string();
  }
  void TearDown() override {
    stop_control();
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }
  void start(std::chrono::milliseconds timeout = kControlTimeout) {
    service_ = std::make_unique<Service>(&queue_, &fake_, &events_, timeout);
    std::string error;
    server_ = Server::start(api_, service_.get(), &error);
    ASSERT_NE(server_, nullptr) << error;
    stub_ = pb::Portico::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }
  void start_control() {
    control_ = std::thread([this] {
      control_id_ = std::this_thread::get_id();
      while (!stop_) {
        queue_.drain();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    while (control_id_ == std::thread::id{}) std::this_thread::yield();
  }
  void stop_control() {
    stop_ = true;
    if (control_.joinable()) control_.join();
  }

  fs::path dir_;
  config::NodeConfig::Api api_;
  ControlQueue queue_;
  EventLog events_;
  FakeControl fake_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<pb::Portico::Stub> stub_;
  std::thread control_;
  std::atomic<std::thread::id> control_id_{};
  std::atomic<bool> stop_{false};
};

TEST_F(ServiceTest, CallsRunOnTheControlThread) {
  start();
  start_control();
  grpc::ClientContext ctx;
  pb::ApplyRequest req;
  req.set_documents("kind: Service");
  pb::ApplyResponse resp;
  const auto st = stub_->Apply(&ctx, req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.generation(), 7u);
  ASSERT_EQ(resp.warnings_size(), 1);
  EXPECT_EQ(resp.warnings(0), "kind: Service");
  EXPECT_EQ(fake_.ran_on.load(), control_id_.load());
}

TEST_F(ServiceTest, ErrorsKeepTheirCodeAndMessage) {
  start();
  start_control();
  grpc::ClientContext ctx;
  pb::ApplyRequest req;
  req.set_documents("bad");
  pb::ApplyResponse resp;
  const auto st = stub_->Apply(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(st.error_message(), "<apply>:3: Service/x/y: spec.ports: bad");
  EXPECT_EQ(fake_.applied.load(), 0);
  grpc::ClientContext ctx2;
  pb::DeleteRequest del;
  del.mutable_ref()->set_name("gone");
  pb::DeleteResponse dresp;
  EXPECT_EQ(stub_->Delete(&ctx2, del, &dresp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServiceTest, NoControlThreadMeansDeadlineExceeded) {
  start(std::chrono::milliseconds(200));
  grpc::ClientContext ctx;
  pb::Stats resp;
  const auto st = stub_->GetStats(&ctx, pb::StatsRequest(), &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The late answer runs on its own copies when the control thread comes back.
  start_control();
  grpc::ClientContext ctx2;
  EXPECT_TRUE(stub_->GetStats(&ctx2, pb::StatsRequest(), &resp).ok());
  EXPECT_EQ(resp.generation(), 3u);
}

// ListFlows runs on the gRPC thread when the Control allows it: it answers without a control
// thread, and never on it.
TEST_F(ServiceTest, FlowsOffTheControlThread) {
  fake_.flows_anywhere = true;
  start(std::chrono::milliseconds(200));
  grpc::ClientContext ctx;
  pb::FlowsResponse resp;
  ASSERT_TRUE(stub_->ListFlows(&ctx, pb::FlowsRequest(), &resp).ok());
  EXPECT_TRUE(resp.truncated());
  start_control();
  grpc::ClientContext ctx2;
  ASSERT_TRUE(stub_->ListFlows(&ctx2, pb::FlowsRequest(), &resp).ok());
  EXPECT_NE(fake_.flows_ran_on.load(), control_id_.load());
  // Otherwise it is the control thread's, like every other call.
  fake_.flows_anywhere = false;
  grpc::ClientContext ctx3;
  ASSERT_TRUE(stub_->ListFlows(&ctx3, pb::FlowsRequest(), &resp).ok());
  EXPECT_EQ(fake_.flows_ran_on.load(), control_id_.load());
  // Stopping: UNAVAILABLE either way.
  fake_.flows_anywhere = true;
  queue_.close();
  grpc::ClientContext ctx4;
  EXPECT_EQ(stub_->ListFlows(&ctx4, pb::FlowsRequest(), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, ClosedQueueIsUnavailable) {
  start();
  queue_.close();
  grpc::ClientContext ctx;
  pb::Stats resp;
  EXPECT_EQ(stub_->GetStats(&ctx, pb::StatsRequest(), &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(ServiceTest, SocketIsRootOnly) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "sub" / "api.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  // A second server on the same live socket is refused; the first keeps serving.
  std::string error;
  EXPECT_EQ(Server::start(api_, service_.get(), &error), nullptr);
  EXPECT_NE(error.find("another process"), std::string::npos) << error;
  server_->stop();
  EXPECT_FALSE(fs::exists(dir_ / "sub" / "api.sock"));
}

TEST_F(ServiceTest, WatchEventsReplaysThenStreams) {
  events_.add("Normal", "IPAllocated", "Service/demo/web", "first");
  start();
  grpc::ClientContext ctx;
  pb::WatchEventsRequest req;
  req.set_replay(true);
  auto reader = stub_->WatchEvents(&ctx, req);
  pb::Event e;
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.reason(), "IPAllocated");
  EXPECT_EQ(e.message(), "first");
  events_.add("Warning", "ConfigRejected", "", "second");
  ASSERT_TRUE(reader->Read(&e));
  EXPECT_EQ(e.message(), "second");
  EXPECT_EQ(e.type(), "Warning");
  ctx.TryCancel();
}

TEST(EventLog, BoundedAndWatchersSkipWhatWasDropped) {
  EventLog log;
  for (size_t i = 0; i < EventLog::kCapacity + 5; ++i)
    log.add("Normal", "R", "", std::to_string(i));
  EXPECT_EQ(log.first_seq(), 5u);
  uint64_t from = 0;
  std::vector<pb::Event> out;
  ASSERT_TRUE(log.wait(&from, std::chrono::milliseconds(0), &out));
  ASSERT_EQ(out.size(), EventLog::kCapacity);
  EXPECT_EQ(out.front().message(), "5");
  EXPECT_EQ(from, EventLog::kCapacity + 5);
  out.clear();
  ASSERT_TRUE(log.wait(&from, std::chrono::milliseconds(10), &out));
  EXPECT_TRUE(out.empty());
  log.close();
  EXPECT_FALSE(log.wait(&from, std::chrono::milliseconds(10), &out));
}

TEST(ListenAddress, Forms) {
  ListenAddress a;
  std::string error;
  ASSERT_TRUE(parse_listen_address("unix:///run/portico/api.sock", &a, &error));
  EXPECT_TRUE(a.unix_socket);
  EXPECT_EQ(a.target, "unix:/run/portico/api.sock");
  ASSERT_TRUE(parse_listen_address("tcp://127.0.0.1:9479", &a, &error));
  EXPECT_EQ(a.target, "127.0.0.1:9479");
  ASSERT_TRUE(parse_listen_address("[::1]:9479", &a, &error));
  EXPECT_FALSE(parse_listen_address("unix://relative", &a, &error));
  EXPECT_FALSE(parse_listen_address("127.0.0.1", &a, &error));
  EXPECT_FALSE(parse_listen_address("::1:9479", &a, &error));
  EXPECT_FALSE(parse_listen_address("host:99999", &a, &error));
  EXPECT_NE(error.find("spec.api.grpc"), std::string::npos);
}

TEST(Server, TcpWithoutTlsIsRefused) {
  config::NodeConfig::Api api;
  api.grpc = "tcp://127.0.0.1:0";
  ControlQueue q;
  EventLog ev;
  FakeControl fake;
  Service svc(&q, &fake, &ev);
  std::string error;
  EXPECT_EQ(Server::start(api, &svc, &error), nullptr);
  EXPECT_NE(error.find("spec.api.tls"), std::string::npos) << error;
}

}  // namespace
}  // namespace control::api
