// control/k8s/lease: client-go's leader election algorithm against an in-memory Lease endpoint
// that checks resourceVersions like the API server (409 on a stale one, 422 without one), with a
// fake clock that tests move by hand.
#include "control/k8s/lease.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>

#include "tests/unit/k8s/fake_server.h"

namespace control::k8s {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FakeClock : public Clock {
 public:
  std::chrono::steady_clock::time_point mono{std::chrono::hours(1000)};
  std::chrono::system_clock::time_point wall_time =
      std::chrono::system_clock::from_time_t(1796464800);  // 2026-12-05T10:00:00Z
  std::vector<std::chrono::milliseconds> slept;
  std::function<void()> on_sleep;

  std::chrono::steady_clock::time_point now() override { return mono; }
  std::chrono::system_clock::time_point wall() override { return wall_time; }
  void sleep(std::chrono::milliseconds d, const std::atomic<bool>*) override {
    slept.push_back(d);
    advance(d);
    if (on_sleep) on_sleep();
  }
  void advance(std::chrono::milliseconds d) {
    mono += d;
    wall_time += d;
  }
};

// The coordination.k8s.io/v1 leases of one namespace.
class FakeLeaseServer : public testing::RecordingServer {
 public:
  static constexpr char kCollection[] =
      "/apis/coordination.k8s.io/v1/namespaces/portico-system/leases";
  std::map<std::string, json> leases;  // by name
  uint64_t rv = 100;
  // Runs before the server handles a request of that method (once, then cleared): another node
  // acting between our GET and our write.
  std::map<std::string, std::function<void()>> before;
  std::deque<Response> forced;  // answered instead of the store while not empty
  bool down = false;            // every request gets a transport error

  // Another node writes the record `name` (creating it if needed), as a PUT would.
  void put_spec(const std::string& name, json spec) {
    json& l = leases[name];
    l["apiVersion"] = "coordination.k8s.io/v1";
    l["kind"] = "Lease";
    l["metadata"]["name"] = name;
    l["metadata"]["namespace"] = "portico-system";
    l["metadata"]["resourceVersion"] = std::to_string(++rv);
    l["spec"] = std::move(spec);
  }
  json spec(const std::string& name = "portico-status-writer") { return leases.at(name)["spec"]; }

  Response request(const Request& r) override {
    requests.push_back(r);
    if (auto it = before.find(r.method); it != before.end()) {
      auto f = std::move(it->second);
      before.erase(it);
      f();
    }
    if (down) return {0, "", "connect: Connection refused", ""};
    if (!forced.empty()) {
      Response f = forced.front();
      forced.pop_front();
      return f;
    }
    const std::string prefix = std::string(kCollection) + "/";
    if (r.method == "POST" && r.path == kCollection) {
      json body = json::parse(r.body);
      const std::string name = body["metadata"]["name"];
      if (leases.count(name)) return status(409, "AlreadyExists");
      body["metadata"]["resourceVersion"] = std::to_string(++rv);
      leases[name] = body;
      return {201, body.dump(), "", ""};
    }
    if (r.path.rfind(prefix, 0) != 0) return status(404, "NotFound");
    const std::string name = r.path.substr(prefix.size());
    auto it = leases.find(name);
    if (r.method == "GET") {
      if (it == leases.end()) return status(404, "NotFound");
      return {200, it->second.dump(), "", ""};
    }
    if (r.method == "PUT") {
      if (it == leases.end()) return status(404, "NotFound");
      json body = json::parse(r.body);
      if (!body["metadata"].contains("resourceVersion")) return status(422, "Invalid");
      if (body["metadata"]["resourceVersion"] != it->second["metadata"]["resourceVersion"])
        return status(409, "Conflict");
      body["metadata"]["resourceVersion"] = std::to_string(++rv);
      it->second = body;
      return {200, body.dump(), "", ""};
    }
    return status(405, "MethodNotAllowed");
  }
};

LeaseConfig config(const std::string& identity) {
  LeaseConfig c;
  c.identity = identity;
  return c;
}

json other_holder(const std::string& who, uint64_t transitions, const std::string& renew) {
  return {{"holderIdentity", who},
          {"leaseDurationSeconds", 15},
          {"acquireTime", "2026-12-05T09:00:00.000000Z"},
          {"renewTime", renew},
          {"leaseTransitions", transitions}};
}

TEST(LeaseTime, MicroTimeAndTime) {
  const auto t = std::chrono::system_clock::from_time_t(1796464800) + 1234567us;
  EXPECT_EQ(format_micro_time(t), "2026-12-05T10:00:01.234567Z");
  EXPECT_EQ(format_time(t), "2026-12-05T10:00:01Z");
  EXPECT_EQ(format_micro_time(std::chrono::system_clock::from_time_t(1796464800)),
            "2026-12-05T10:00:00.000000Z");
}

TEST(LeaseConfigValidate, Table) {
  struct Case {
    const char* what;
    std::function<void(LeaseConfig&)> change;
    const char* error_part;  // "" = valid
  } cases[] = {
      {"defaults", [](LeaseConfig&) {}, ""},
      {"no identity", [](LeaseConfig& c) { c.identity = ""; }, "identity is empty"},
      {"bad namespace", [](LeaseConfig& c) { c.namespace_ = "Portico"; }, "namespace"},
      {"bad name", [](LeaseConfig& c) { c.name = "a/b"; }, "lease name"},
      {"duration = deadline", [](LeaseConfig& c) { c.duration = 10s; }, "greater than the renew"},
      {"deadline = 1.2 retry",
       [](LeaseConfig& c) {
         c.renew_deadline = 2400ms;
         c.retry_period = 2000ms;
       },
       "1.2 times"},
      {"deadline just above 1.2 retry",
       [](LeaseConfig& c) {
         c.renew_deadline = 2401ms;
         c.retry_period = 2000ms;
       },
       ""},
      {"sub-second duration",
       [](LeaseConfig& c) {
         c.duration = 900ms;
         c.renew_deadline = 500ms;
         c.retry_period = 100ms;
       },
       "at least 1s"},
      {"zero retry", [](LeaseConfig& c) { c.retry_period = 0ms; }, "positive"},
  };
  for (const auto& k : cases) {
    LeaseConfig c = config("node-a");
    k.change(c);
    const std::string e = validate(c);
    if (std::string(k.error_part).empty()) {
      EXPECT_EQ(e, "") << k.what;
    } else {
      EXPECT_NE(e.find(k.error_part), std::string::npos) << k.what << ": " << e;
    }
  }
  FakeLeaseServer server;
  LeaseConfig bad = config("node-a");
  bad.renew_deadline = 20s;
  EXPECT_THROW(LeaderElector(&server, bad), std::invalid_argument);
}

TEST(LeaderElector, AcquiresAnEmptyLeaseByCreatingIt) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  EXPECT_FALSE(a.leading());
  ASSERT_TRUE(a.try_acquire_or_renew());
  EXPECT_TRUE(a.leading());
  EXPECT_TRUE(a.leading_fenced());
  EXPECT_EQ(a.holder(), "node-a");
  EXPECT_EQ(a.transitions(), 0u);
  ASSERT_EQ(server.requests.size(), 2u);
  EXPECT_EQ(server.requests[0].method, "GET");
  EXPECT_EQ(server.requests[0].path,
            std::string(FakeLeaseServer::kCollection) + "/portico-status-writer");
  EXPECT_EQ(server.requests[1].method, "POST");
  const json created = json::parse(server.requests[1].body);
  EXPECT_EQ(created["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(created["kind"], "Lease");
  EXPECT_EQ(created["metadata"]["namespace"], "portico-system");
  EXPECT_EQ(created["metadata"]["name"], "portico-status-writer");
  EXPECT_EQ(created["spec"], (json{{"holderIdentity", "node-a"},
                                   {"leaseDurationSeconds", 15},
                                   {"acquireTime", "2026-12-05T10:00:00.000000Z"},
                                   {"renewTime", "2026-12-05T10:00:00.000000Z"},
                                   {"leaseTransitions", 0}}));
}

TEST(LeaderElector, RenewKeepsAcquireTimeAndTransitions) {
  FakeLeaseServer server;
  FakeClock clock;
  server.put_spec("portico-status-writer",
                  other_holder("node-b", 3, "2026-12-05T09:59:00.000000Z"));
  LeaderElector a(&server, config("node-a"), &clock);
  // node-b's record is new to us: we must watch it for a whole duration before taking over.
  EXPECT_FALSE(a.try_acquire_or_renew());
  clock.advance(15001ms);
  ASSERT_TRUE(a.try_acquire_or_renew());
  const json taken = server.spec();
  EXPECT_EQ(taken["holderIdentity"], "node-a");
  EXPECT_EQ(taken["leaseTransitions"], 4);
  EXPECT_EQ(taken["acquireTime"], "2026-12-05T10:00:15.001000Z");
  EXPECT_EQ(taken["renewTime"], "2026-12-05T10:00:15.001000Z");

  clock.advance(2000ms);
  const std::string rv_before =
      server.leases["portico-status-writer"]["metadata"]["resourceVersion"];
  ASSERT_TRUE(a.try_acquire_or_renew());
  const json renewed = server.spec();
  EXPECT_EQ(renewed["holderIdentity"], "node-a");
  EXPECT_EQ(renewed["leaseTransitions"], 4);
  EXPECT_EQ(renewed["acquireTime"], "2026-12-05T10:00:15.001000Z");
  EXPECT_EQ(renewed["renewTime"], "2026-12-05T10:00:17.001000Z");
  // The renew was a PUT carrying the resourceVersion we read.
  const json put = json::parse(server.requests.back().body);
  EXPECT_EQ(server.requests.back().method, "PUT");
  EXPECT_EQ(put["metadata"]["resourceVersion"], rv_before);
  EXPECT_EQ(a.transitions(), 4u);
}

TEST(LeaderElector, FollowsWhileTheRecordWasObservedChangingRecently) {
  FakeLeaseServer server;
  FakeClock clock;
  // renewTime far in the past (another node's clock is wrong): it does not matter, only when WE
  // saw the record change.
  server.put_spec("portico-status-writer",
                  other_holder("node-b", 1, "2001-01-01T00:00:00.000000Z"));
  LeaderElector a(&server, config("node-a"), &clock);
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_EQ(a.holder(), "node-b");
  EXPECT_EQ(server.count("PUT"), 0u);

  clock.advance(14000ms);
  // node-b renews: the record changes, and the clock of our observation restarts.
  server.put_spec("portico-status-writer",
                  other_holder("node-b", 1, "2001-01-01T00:00:14.000000Z"));
  EXPECT_FALSE(a.try_acquire_or_renew());
  clock.advance(14000ms);  // 28 s after the first sight, 14 s after the change
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_EQ(server.count("PUT"), 0u);
  EXPECT_FALSE(a.leading());

  // node-b stops renewing: 15 s after the last change we take over, transitions + 1.
  clock.advance(1001ms);
  EXPECT_TRUE(a.try_acquire_or_renew());
  EXPECT_TRUE(a.leading());
  EXPECT_EQ(server.spec()["leaseTransitions"], 2);
  EXPECT_EQ(server.spec()["holderIdentity"], "node-a");
  EXPECT_EQ(a.transitions(), 2u);
}

TEST(LeaderElector, TakesAnEmptyHolderAtOnce) {
  FakeLeaseServer server;
  FakeClock clock;
  json released = other_holder("", 7, "2026-12-05T09:59:59.000000Z");
  released["leaseDurationSeconds"] = 1;
  server.put_spec("portico-status-writer", released);
  LeaderElector a(&server, config("node-a"), &clock);
  EXPECT_TRUE(a.try_acquire_or_renew());
  EXPECT_EQ(server.spec()["leaseTransitions"], 8);
}

TEST(LeaderElector, LosesTheRaceOnConflict) {
  FakeLeaseServer server;
  FakeClock clock;
  server.put_spec("portico-status-writer",
                  other_holder("node-b", 1, "2026-12-05T09:00:00.000000Z"));
  LeaderElector a(&server, config("node-a"), &clock);
  EXPECT_FALSE(a.try_acquire_or_renew());
  clock.advance(16s);
  // node-c takes the expired lease between our GET and our PUT.
  server.before["PUT"] = [&] {
    server.put_spec("portico-status-writer",
                    other_holder("node-c", 2, "2026-12-05T10:00:16.000000Z"));
  };
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_FALSE(a.leading());
  EXPECT_NE(a.last_error().find("409 Conflict"), std::string::npos) << a.last_error();
  EXPECT_EQ(server.spec()["holderIdentity"], "node-c");
  // Next round: node-c's record is new to us, so we follow it.
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_EQ(a.holder(), "node-c");
  EXPECT_EQ(a.last_error(), "");
}

TEST(LeaderElector, LosesTheCreateRace) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  server.before["POST"] = [&] {
    server.put_spec("portico-status-writer",
                    other_holder("node-b", 0, "2026-12-05T10:00:00.000000Z"));
  };
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_FALSE(a.leading());
  EXPECT_NE(a.last_error().find("409 AlreadyExists"), std::string::npos) << a.last_error();
  EXPECT_EQ(server.spec()["holderIdentity"], "node-b");
}

TEST(LeaderElector, StopsLeadingAtOnceWhenTheRenewDeadlinePasses) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  ASSERT_TRUE(a.try_acquire_or_renew());
  server.down = true;
  for (int i = 0; i < 4; ++i) {
    clock.advance(2000ms);
    EXPECT_FALSE(a.try_acquire_or_renew());
    EXPECT_TRUE(a.leading()) << "still within the deadline at " << (i + 1) * 2 << " s";
  }
  EXPECT_NE(a.last_error().find("Connection refused"), std::string::npos);
  clock.advance(1999ms);
  EXPECT_TRUE(a.leading());
  // No renew attempt in between: the deadline alone ends leadership.
  clock.advance(1ms);
  EXPECT_FALSE(a.leading());
  EXPECT_FALSE(a.leading_fenced());

  // The server comes back and the lease is still ours: renew it (no new transition).
  server.down = false;
  clock.advance(1000ms);
  EXPECT_TRUE(a.try_acquire_or_renew());
  EXPECT_TRUE(a.leading());
  EXPECT_EQ(server.spec()["leaseTransitions"], 0);
}

TEST(LeaderElector, DeadlineCountsFromTheStartOfTheRenew) {
  // A renew whose answer took 3 s: the deadline runs from when it was sent.
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  server.before["POST"] = [&] { clock.advance(3000ms); };
  ASSERT_TRUE(a.try_acquire_or_renew());
  clock.advance(6999ms);
  EXPECT_TRUE(a.leading());
  clock.advance(1ms);
  EXPECT_FALSE(a.leading());
}

TEST(LeaderElector, ReleaseEmptiesTheHolderAndAnotherNodeTakesOverAtOnce) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  LeaderElector b(&server, config("node-b"), &clock);
  ASSERT_TRUE(a.try_acquire_or_renew());
  EXPECT_FALSE(b.try_acquire_or_renew());
  clock.advance(2000ms);
  ASSERT_TRUE(a.try_acquire_or_renew());

  a.release();
  EXPECT_FALSE(a.leading());
  const json released = server.spec();
  EXPECT_EQ(released["holderIdentity"], "");
  EXPECT_EQ(released["leaseDurationSeconds"], 1);
  EXPECT_EQ(released["leaseTransitions"], 0);
  EXPECT_EQ(released["renewTime"], "2026-12-05T10:00:02.000000Z");
  EXPECT_EQ(a.holder(), "");

  EXPECT_TRUE(b.try_acquire_or_renew());
  EXPECT_EQ(server.spec()["holderIdentity"], "node-b");
  EXPECT_EQ(server.spec()["leaseTransitions"], 1);

  // Releasing what we do not hold writes nothing.
  const size_t before = server.requests.size();
  a.release();
  EXPECT_EQ(server.requests.size(), before);
}

TEST(LeaderElector, ReleaseRetriesOnConflict) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  ASSERT_TRUE(a.try_acquire_or_renew());
  // Something else rewrote our record (same holder, new resourceVersion) after our last read.
  server.before["PUT"] = [&] { server.put_spec("portico-status-writer", server.spec()); };
  a.release();
  EXPECT_EQ(server.spec()["holderIdentity"], "");
  EXPECT_EQ(server.count("PUT"), 2u);
  EXPECT_EQ(a.last_error(), "");
}

TEST(LeaderElector, ReleaseGivesUpWhenAnotherNodeHoldsItAlready) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  ASSERT_TRUE(a.try_acquire_or_renew());
  server.before["PUT"] = [&] {
    server.put_spec("portico-status-writer",
                    other_holder("node-b", 1, "2026-12-05T10:00:00.000000Z"));
  };
  a.release();
  EXPECT_EQ(server.spec()["holderIdentity"], "node-b");
  EXPECT_EQ(server.count("PUT"), 1u);
  EXPECT_EQ(a.holder(), "node-b");
}

TEST(LeaderElector, BadAnswersAreErrorsNotCrashes) {
  const char* bodies[] = {
      "not json",
      "[]",
      R"({"metadata":{}})",
      R"({"metadata":{"resourceVersion":"1"},"spec":"x"})",
      R"({"metadata":{"resourceVersion":"1"},"spec":{"holderIdentity":5}})",
      R"({"metadata":{"resourceVersion":"1"},"spec":{"leaseDurationSeconds":-3}})",
      R"({"metadata":{"resourceVersion":"1"},"spec":{"leaseTransitions":"2"}})",
  };
  for (const char* body : bodies) {
    FakeLeaseServer server;
    FakeClock clock;
    LeaderElector a(&server, config("node-a"), &clock);
    server.forced.push_back({200, body, "", ""});
    EXPECT_FALSE(a.try_acquire_or_renew()) << body;
    EXPECT_FALSE(a.leading()) << body;
    EXPECT_NE(a.last_error().find("GET /apis/coordination.k8s.io"), std::string::npos)
        << body << " -> " << a.last_error();
    EXPECT_EQ(server.count("PUT"), 0u) << body;
  }
  // A Status body is quoted by reason and message.
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  server.forced.push_back(FakeLeaseServer::status(403, "Forbidden"));
  EXPECT_FALSE(a.try_acquire_or_renew());
  EXPECT_EQ(a.last_error(),
            "GET /apis/coordination.k8s.io/v1/namespaces/portico-system/leases/"
            "portico-status-writer: 403 Forbidden: fake Forbidden");
}

TEST(LeaderElector, RunRenewsEveryRetryPeriodAndReleasesOnStop) {
  FakeLeaseServer server;
  FakeClock clock;
  LeaderElector a(&server, config("node-a"), &clock);
  std::atomic<bool> stop{false};
  int rounds = 0;
  clock.on_sleep = [&] {
    if (++rounds == 3) stop = true;
  };
  a.run(&stop);
  // Acquire, then renew twice, 2 s apart (a leader does not jitter), then release.
  ASSERT_EQ(clock.slept.size(), 3u);
  for (auto d : clock.slept) EXPECT_EQ(d, 2000ms);
  EXPECT_EQ(server.count("POST"), 1u);
  EXPECT_EQ(server.count("PUT"), 3u);  // two renews and the release
  EXPECT_EQ(server.spec()["holderIdentity"], "");
  EXPECT_FALSE(a.leading());
}

TEST(LeaderElector, RunJittersAFollowersRetries) {
  FakeLeaseServer server;
  FakeClock clock;
  server.put_spec("portico-status-writer",
                  other_holder("node-b", 1, "2026-12-05T10:00:00.000000Z"));
  LeaderElector a(&server, config("node-a"), &clock);
  std::atomic<bool> stop{false};
  int rounds = 0;
  clock.on_sleep = [&] {
    // node-b keeps renewing
    server.put_spec(
        "portico-status-writer",
        other_holder("node-b", 1, "2026-12-05T10:00:0" + std::to_string(rounds) + ".000000Z"));
    if (++rounds == 5) stop = true;
  };
  a.run(&stop);
  ASSERT_EQ(clock.slept.size(), 5u);
  for (auto d : clock.slept) {
    EXPECT_GE(d, 2000ms);
    EXPECT_LT(d, 4400ms);
  }
  EXPECT_EQ(server.count("PUT"), 0u);  // never leader, so nothing to release either
  EXPECT_EQ(server.spec()["holderIdentity"], "node-b");
}

}  // namespace
}  // namespace control::k8s
