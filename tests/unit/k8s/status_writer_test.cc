// control/k8s/status_writer: the requests the status writer sends, checked field by field, and
// its read-modify-write of Gateway API status against an in-memory store that enforces
// resourceVersion preconditions as the API server does (409 stale, 422 missing on a CR).
#include "control/k8s/status_writer.h"

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
  std::chrono::steady_clock::time_point now() override { return mono; }
  std::chrono::system_clock::time_point wall() override { return wall_time; }
  void sleep(std::chrono::milliseconds d, const std::atomic<bool>*) override {
    slept.push_back(d);
    advance(d);
  }
  void advance(std::chrono::milliseconds d) {
    mono += d;
    wall_time += d;
  }
};

// Objects by path ("/apis/gateway.networking.k8s.io/v1/namespaces/demo/httproutes/web").
// GET answers the object; PUT on PATH/status replaces only status, with the resourceVersion
// precondition; PATCH and POST are recorded and answered from `patch_answer`/the events store.
class FakeApi : public testing::RecordingServer {
 public:
  std::map<std::string, json> objects;
  uint64_t rv = 500;
  std::function<void(const Request&)> before_put;  // runs before each PUT is handled
  std::deque<Response> forced;

  void add(const std::string& path, json object) {
    object["metadata"]["resourceVersion"] = std::to_string(++rv);
    objects[path] = std::move(object);
  }
  // Another controller changes the object: only its resourceVersion matters here.
  void touch(const std::string& path) {
    objects[path]["metadata"]["resourceVersion"] = std::to_string(++rv);
  }

  Response request(const Request& r) override {
    requests.push_back(r);
    if (!forced.empty()) {
      Response f = forced.front();
      forced.pop_front();
      return f;
    }
    if (r.method == "GET") {
      auto it = objects.find(r.path);
      if (it == objects.end()) return status(404, "NotFound");
      return {200, it->second.dump(), "", ""};
    }
    if (r.method == "PUT") {
      if (before_put) before_put(r);
      const std::string suffix = "/status";
      if (r.path.size() <= suffix.size() ||
          r.path.compare(r.path.size() - suffix.size(), suffix.size(), suffix) != 0)
        return status(405, "MethodNotAllowed");
      auto it = objects.find(r.path.substr(0, r.path.size() - suffix.size()));
      if (it == objects.end()) return status(404, "NotFound");
      const json body = json::parse(r.body);
      if (!body["metadata"].contains("resourceVersion"))
        return status(422, "Invalid");  // mandatory on custom resources
      if (body["metadata"]["resourceVersion"] != it->second["metadata"]["resourceVersion"])
        return status(409, "Conflict");
      it->second["status"] = body["status"];  // /status ignores everything else
      it->second["metadata"]["resourceVersion"] = std::to_string(++rv);
      return {200, it->second.dump(), "", ""};
    }
    if (r.method == "POST") {
      json body = json::parse(r.body);
      const std::string path = r.path + "/" + body["metadata"]["name"].get<std::string>();
      if (objects.count(path)) return status(409, "AlreadyExists");
      add(path, body);
      return {201, objects[path].dump(), "", ""};
    }
    if (r.method == "PATCH" && r.content_type == "application/merge-patch+json") {
      auto it = objects.find(r.path);
      if (it == objects.end()) return status(404, "NotFound");
      it->second.merge_patch(json::parse(r.body));
      return {200, it->second.dump(), "", ""};
    }
    if (r.method == "PATCH") return {200, "{}", "", ""};  // apply: checked in the tests
    return status(405, "MethodNotAllowed");
  }
};

using Outcome = WriteResult::Outcome;

json condition(const std::string& type, const std::string& status, const std::string& reason) {
  return {{"type", type}, {"status", status}, {"reason", reason}, {"message", ""}};
}

// ---- Services: server-side apply ----

TEST(StatusWriterService, AppliesIngressOnStatusAndThePoolAnnotationOnTheService) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ServiceStatus s{"demo", "web", json::array({{{"ip", "192.0.2.10"}, {"ipMode", "VIP"}}}),
                  "public"};
  const WriteResult r = w.write_service(s);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 2u);

  const Request& st = api.requests[0];
  EXPECT_EQ(st.method, "PATCH");
  EXPECT_EQ(st.path, "/api/v1/namespaces/demo/services/web/status?fieldManager=portico&force=true");
  EXPECT_EQ(st.content_type, "application/apply-patch+yaml");
  const json sb = json::parse(st.body);
  EXPECT_EQ(sb["apiVersion"], "v1");
  EXPECT_EQ(sb["kind"], "Service");
  EXPECT_EQ(sb["metadata"], (json{{"name", "web"}, {"namespace", "demo"}}));
  EXPECT_EQ(sb["status"],
            (json{{"loadBalancer",
                   {{"ingress", json::array({{{"ip", "192.0.2.10"}, {"ipMode", "VIP"}}})}}}}));
  EXPECT_EQ(sb.size(), 4u) << "nothing but apiVersion, kind, metadata, status: " << sb.dump();
  EXPECT_FALSE(sb.contains("spec"));
  EXPECT_FALSE(sb["metadata"].contains("resourceVersion"));

  const Request& an = api.requests[1];
  EXPECT_EQ(an.method, "PATCH");
  EXPECT_EQ(an.path, "/api/v1/namespaces/demo/services/web?fieldManager=portico&force=true");
  EXPECT_EQ(an.content_type, "application/apply-patch+yaml");
  const json ab = json::parse(an.body);
  EXPECT_EQ(ab, (json{{"apiVersion", "v1"},
                      {"kind", "Service"},
                      {"metadata",
                       {{"name", "web"},
                        {"namespace", "demo"},
                        {"annotations", {{"metallb.io/ip-allocated-from-pool", "public"}}}}}}));
}

TEST(StatusWriterService, WritesOnlyWhatChanged) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ServiceStatus s{"demo", "web", json::array({{{"ip", "192.0.2.10"}, {"ipMode", "VIP"}}}),
                  "public"};
  ASSERT_TRUE(w.write_service(s).ok());
  ASSERT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(w.write_service(s).outcome, Outcome::kUnchanged);
  EXPECT_EQ(api.requests.size(), 2u) << "unchanged: no second write";

  // The address goes (pool exhausted): only the status apply, with an empty list.
  s.ingress = json::array();
  ASSERT_EQ(w.write_service(s).outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 3u);
  EXPECT_EQ(json::parse(api.requests[2].body)["status"]["loadBalancer"]["ingress"], json::array());
  // The pool goes: an apply without annotations (the server drops the one we owned).
  s.pool = "";
  ASSERT_EQ(w.write_service(s).outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 4u);
  EXPECT_EQ(api.requests[3].path,
            "/api/v1/namespaces/demo/services/web?fieldManager=portico&force=true");
  EXPECT_EQ(json::parse(api.requests[3].body)["metadata"],
            (json{{"name", "web"}, {"namespace", "demo"}}));
  // forget(): everything again (another node may have written in between).
  w.forget();
  EXPECT_EQ(w.write_service(s).outcome, Outcome::kWritten);
  EXPECT_EQ(api.requests.size(), 6u);
}

TEST(StatusWriterService, AFailedWriteIsRetriedNextTime) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico-a b", &clock);
  ServiceStatus s{"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), ""};
  api.forced.push_back(FakeApi::status(500, "InternalError"));
  const WriteResult r = w.write_service(s);
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_EQ(
      r.error,
      "PATCH /api/v1/namespaces/demo/services/web/status?fieldManager=portico-a%20b&force=true:"
      " 500 InternalError: fake InternalError");
  EXPECT_EQ(api.requests.size(), 1u) << "the annotation waits for the status";
  EXPECT_EQ(w.write_service(s).outcome, Outcome::kWritten);
  EXPECT_EQ(api.requests.size(), 3u);
}

TEST(StatusWriterService, BadInputIsAnErrorWithoutARequest) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const ServiceStatus bad[] = {
      {"demo", "web/../x", json::array(), ""},
      {"", "web", json::array(), ""},
      {"demo", "web", json::object(), ""},
      {"demo", "web", json::array({"192.0.2.1"}), ""},
      {"demo", "web", json::array({{{"ip", 5}}}), ""},
  };
  for (const auto& s : bad) {
    const WriteResult r = w.write_service(s);
    EXPECT_EQ(r.outcome, Outcome::kError) << s.name << " " << s.ingress.dump();
    EXPECT_FALSE(r.error.empty());
  }
  EXPECT_TRUE(api.requests.empty());
  EXPECT_THROW(StatusWriter(
                   &api, [] { return true; }, ""),
               std::invalid_argument);
  EXPECT_THROW(StatusWriter(
                   &api, [] { return true; }, std::string(129, 'a')),
               std::invalid_argument);
}

TEST(StatusWriter, NotLeaderMeansNoRequestAtAll) {
  FakeApi api;
  FakeClock clock;
  bool leader = false;
  StatusWriter w(
      &api, [&] { return leader; }, "portico", &clock);
  EXPECT_EQ(w.write_service({"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), "p"}).outcome,
            Outcome::kNotLeader);
  EXPECT_EQ(w.write_object({"gateway.networking.k8s.io",
                            "v1",
                            "httproutes",
                            "demo",
                            "web",
                            {{"parents", json::array()}}})
                .outcome,
            Outcome::kNotLeader);
  EXPECT_EQ(w.post_event({"v1", "Service", "demo", "web", "", "AllocationFailed", "no IP"}).outcome,
            Outcome::kNotLeader);
  EXPECT_TRUE(api.requests.empty());
  // Leading again: nothing was remembered as written, so it is all written now.
  leader = true;
  EXPECT_EQ(w.write_service({"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), "p"}).outcome,
            Outcome::kWritten);
  EXPECT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(w.write_service({"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), "p"}).outcome,
            Outcome::kUnchanged);
  // Lost and regained: another node may have written in between, so write again.
  leader = false;
  EXPECT_EQ(w.write_service({"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), "p"}).outcome,
            Outcome::kNotLeader);
  leader = true;
  EXPECT_EQ(w.write_service({"demo", "web", json::array({{{"ip", "192.0.2.10"}}}), "p"}).outcome,
            Outcome::kWritten);
  EXPECT_EQ(api.requests.size(), 4u);
}

// ---- Gateway API: read-modify-write on /status ----

const char kRoute[] = "/apis/gateway.networking.k8s.io/v1/namespaces/demo/httproutes/web";

json other_parent() {
  return {{"parentRef", {{"name", "their-gw"}, {"namespace", "infra"}}},
          {"controllerName", "example.com/other-controller"},
          {"conditions", json::array({{{"type", "Accepted"},
                                       {"status", "False"},
                                       {"reason", "NotAllowedByListeners"},
                                       {"message", "theirs"},
                                       {"observedGeneration", 1},
                                       {"lastTransitionTime", "2026-01-01T00:00:00Z"}}})}};
}

json stored_route() {
  json ours_a = {{"parentRef",
                  {{"group", "gateway.networking.k8s.io"},
                   {"kind", "Gateway"},
                   {"namespace", "demo"},
                   {"name", "gw-a"}}},
                 {"controllerName", "portico.io/gateway-controller"},
                 {"conditions", json::array({{{"type", "Accepted"},
                                              {"status", "True"},
                                              {"reason", "Accepted"},
                                              {"message", ""},
                                              {"observedGeneration", 1},
                                              {"lastTransitionTime", "2026-11-01T00:00:00Z"}},
                                             {{"type", "ResolvedRefs"},
                                              {"status", "False"},
                                              {"reason", "BackendNotFound"},
                                              {"message", ""},
                                              {"observedGeneration", 1},
                                              {"lastTransitionTime", "2026-11-01T00:00:00Z"}}})}};
  json ours_old = {{"parentRef", {{"name", "gw-old"}}},
                   {"controllerName", "portico.io/gateway-controller"},
                   {"conditions", json::array()}};
  json other_later = other_parent();
  other_later["parentRef"]["name"] = "their-gw-2";
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "HTTPRoute"},
          {"metadata", {{"name", "web"}, {"namespace", "demo"}, {"generation", 2}}},
          {"spec", {{"parentRefs", json::array({{{"name", "gw-a"}}})}}},
          {"status", {{"parents", json::array({other_parent(), ours_a, ours_old, other_later})}}}};
}

ObjectStatus desired_route() {
  // gw-a: ResolvedRefs now True; gw-b: new. gw-old: gone from our part.
  json status = {
      {"parents",
       json::array(
           {{{"parentRef", {{"name", "gw-a"}}},  // defaults left out: same key
             {"conditions", json::array({condition("Accepted", "True", "Accepted"),
                                         condition("ResolvedRefs", "True", "ResolvedRefs")})}},
            {{"parentRef", {{"name", "gw-b"}, {"sectionName", "https"}}},
             {"controllerName", "portico.io/gateway-controller"},
             {"conditions", json::array({condition("Accepted", "True", "Accepted")})}}})}};
  return {"gateway.networking.k8s.io", "v1", "httproutes", "demo", "web", status};
}

TEST(StatusWriterRoute, ReplacesOnlyOurParentsAndKeepsOthersUntouched) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  const std::string rv = api.objects[kRoute]["metadata"]["resourceVersion"];
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const WriteResult r = w.write_object(desired_route());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(api.requests[0].method, "GET");
  EXPECT_EQ(api.requests[0].path, kRoute);
  EXPECT_EQ(api.requests[1].method, "PUT");
  EXPECT_EQ(api.requests[1].path, std::string(kRoute) + "/status");
  EXPECT_EQ(json::parse(api.requests[1].body)["metadata"]["resourceVersion"], rv);

  const json parents = api.objects[kRoute]["status"]["parents"];
  ASSERT_EQ(parents.size(), 4u) << parents.dump(1);
  // Other controllers' entries: byte for byte, in place.
  EXPECT_EQ(parents[0], other_parent());
  EXPECT_EQ(parents[2]["parentRef"]["name"], "their-gw-2");
  EXPECT_EQ(parents[2]["conditions"], other_parent()["conditions"]);
  // Ours for gw-a, where it was: Accepted unchanged keeps its lastTransitionTime, ResolvedRefs
  // flipped gets now; both observe generation 2.
  const json a = parents[1];
  EXPECT_EQ(a["parentRef"], stored_route()["status"]["parents"][1]["parentRef"]);
  EXPECT_EQ(a["controllerName"], "portico.io/gateway-controller");
  ASSERT_EQ(a["conditions"].size(), 2u);
  EXPECT_EQ(a["conditions"][0]["type"], "Accepted");
  EXPECT_EQ(a["conditions"][0]["lastTransitionTime"], "2026-11-01T00:00:00Z");
  EXPECT_EQ(a["conditions"][0]["observedGeneration"], 2);
  EXPECT_EQ(a["conditions"][1]["type"], "ResolvedRefs");
  EXPECT_EQ(a["conditions"][1]["status"], "True");
  EXPECT_EQ(a["conditions"][1]["lastTransitionTime"], "2026-12-05T10:00:00Z");
  EXPECT_EQ(a["conditions"][1]["observedGeneration"], 2);
  // gw-old is gone; gw-b is added at the end.
  EXPECT_EQ(parents[3]["parentRef"], (json{{"name", "gw-b"}, {"sectionName", "https"}}));
  EXPECT_EQ(parents[3]["conditions"][0]["lastTransitionTime"], "2026-12-05T10:00:00Z");
  for (const json& p : parents) EXPECT_NE(p["parentRef"]["name"], "gw-old");
  // The rest of the object is not ours to change.
  EXPECT_EQ(api.objects[kRoute]["spec"], stored_route()["spec"]);
}

TEST(StatusWriterRoute, UnchangedDesiredStateIsNotWrittenAgain) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ASSERT_EQ(w.write_object(desired_route()).outcome, Outcome::kWritten);
  const size_t n = api.requests.size();
  EXPECT_EQ(w.write_object(desired_route()).outcome, Outcome::kUnchanged);
  EXPECT_EQ(api.requests.size(), n);
  // A new writer (a restart) reads, finds the stored status already right, and does not PUT.
  StatusWriter fresh(
      &api, [] { return true; }, "portico", &clock);
  clock.advance(60s);
  EXPECT_EQ(fresh.write_object(desired_route()).outcome, Outcome::kUnchanged);
  EXPECT_EQ(api.count("PUT"), 1u);
  // The same status computed for a newer generation is written (observedGeneration moves).
  ObjectStatus newer = desired_route();
  newer.generation = 3;
  EXPECT_EQ(w.write_object(newer).outcome, Outcome::kWritten);
  EXPECT_EQ(api.objects[kRoute]["status"]["parents"][1]["conditions"][0]["observedGeneration"], 3);
  EXPECT_EQ(api.objects[kRoute]["status"]["parents"][1]["conditions"][0]["lastTransitionTime"],
            "2026-11-01T00:00:00Z");
}

TEST(StatusWriterRoute, ConflictThenSuccess) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  int puts = 0;
  api.before_put = [&](const Request&) {
    if (++puts == 1) {
      // Another controller writes its own parent entry between our GET and PUT.
      json& parents = api.objects[kRoute]["status"]["parents"];
      json theirs = other_parent();
      theirs["parentRef"]["name"] = "their-gw-3";
      parents.push_back(theirs);
      api.touch(kRoute);
    }
  };
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const WriteResult r = w.write_object(desired_route());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.outcome, Outcome::kWritten);
  EXPECT_EQ(api.count("GET"), 2u);
  EXPECT_EQ(api.count("PUT"), 2u);
  ASSERT_EQ(clock.slept.size(), 1u);
  EXPECT_GE(clock.slept[0], 10ms);
  EXPECT_LE(clock.slept[0], 11ms);
  // Their entry written in between survived our retry.
  bool found = false;
  for (const json& p : api.objects[kRoute]["status"]["parents"])
    found |= p["parentRef"]["name"] == "their-gw-3";
  EXPECT_TRUE(found);
}

TEST(StatusWriterRoute, ConflictsUntilRetriesRunOut) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  api.before_put = [&](const Request&) { api.touch(kRoute); };
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const WriteResult r = w.write_object(desired_route());
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_NE(r.error.find("still conflicting after 5 attempts"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("409 Conflict"), std::string::npos) << r.error;
  EXPECT_EQ(api.count("PUT"), 5u);
  EXPECT_EQ(clock.slept.size(), 4u);
  // Not remembered as written: the next call tries again.
  api.before_put = nullptr;
  EXPECT_EQ(w.write_object(desired_route()).outcome, Outcome::kWritten);
}

TEST(StatusWriterRoute, StopsWhenLeadershipIsLostBetweenRetries) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  bool leader = true;
  api.before_put = [&](const Request&) {
    api.touch(kRoute);
    leader = false;
  };
  StatusWriter w(
      &api, [&] { return leader; }, "portico", &clock);
  EXPECT_EQ(w.write_object(desired_route()).outcome, Outcome::kNotLeader);
  EXPECT_EQ(api.count("PUT"), 1u);
}

TEST(StatusWriterRoute, NewerObservedGenerationIsLeftAlone) {
  FakeApi api;
  FakeClock clock;
  json route = stored_route();
  route["metadata"]["generation"] = 5;
  route["status"]["parents"][1]["conditions"][1]["observedGeneration"] = 5;  // ResolvedRefs
  api.add(kRoute, route);
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ObjectStatus old = desired_route();
  old.generation = 4;  // computed from an older spec
  ASSERT_TRUE(w.write_object(old).ok());
  const json a = api.objects[kRoute]["status"]["parents"][1];
  EXPECT_EQ(a["conditions"][0]["observedGeneration"], 4);
  EXPECT_EQ(a["conditions"][1], route["status"]["parents"][1]["conditions"][1]);
}

TEST(StatusWriterRoute, BadInputAndBadAnswers) {
  FakeApi api;
  FakeClock clock;
  api.add(kRoute, stored_route());
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ObjectStatus other = desired_route();
  other.status["parents"][0]["controllerName"] = "example.com/other-controller";
  WriteResult r = w.write_object(other);
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_NE(r.error.find("another controller"), std::string::npos) << r.error;
  ObjectStatus no_ref = desired_route();
  no_ref.status["parents"][0].erase("parentRef");
  EXPECT_EQ(w.write_object(no_ref).outcome, Outcome::kError);
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, json>>{{"status", "Yes"},
                                                 {"status", nullptr},
                                                 {"reason", ""},
                                                 {"reason", 3},
                                                 {"type", ""},
                                                 {"message", json::array()}}) {
    ObjectStatus bad_cond = desired_route();
    bad_cond.status["parents"][0]["conditions"][0][field] = value;
    r = w.write_object(bad_cond);
    EXPECT_EQ(r.outcome, Outcome::kError) << field << "=" << value.dump();
    EXPECT_NE(r.error.find("conditions"), std::string::npos) << r.error;
  }
  ObjectStatus twice = desired_route();
  twice.status["parents"][1]["parentRef"] = {{"name", "gw-a"}, {"namespace", "demo"}};
  r = w.write_object(twice);
  EXPECT_EQ(r.outcome, Outcome::kError);
  EXPECT_NE(r.error.find("twice"), std::string::npos) << r.error;
  ObjectStatus no_reason = desired_route();
  no_reason.status["parents"][0]["conditions"][0].erase("reason");
  EXPECT_EQ(w.write_object(no_reason).outcome, Outcome::kError);
  EXPECT_EQ(api.count("PUT"), 0u);

  const size_t before = api.requests.size();
  ObjectStatus bad_name = desired_route();
  bad_name.name = "web?watch=1";
  EXPECT_EQ(w.write_object(bad_name).outcome, Outcome::kError);
  ObjectStatus not_gateway = desired_route();
  not_gateway.plural = "services";
  not_gateway.group = "";
  EXPECT_EQ(w.write_object(not_gateway).outcome, Outcome::kError);
  EXPECT_EQ(api.requests.size(), before) << "no request for what cannot be right";

  for (const char* body : {"<html>", "[]", R"({"metadata":{}})", R"({"metadata":5})"}) {
    api.forced.push_back({200, body, "", ""});
    r = w.write_object(desired_route());
    EXPECT_EQ(r.outcome, Outcome::kError) << body;
    EXPECT_NE(r.error.find("resourceVersion"), std::string::npos) << r.error;
  }
  api.objects.erase(kRoute);
  r = w.write_object(desired_route());
  EXPECT_EQ(r.error, std::string("GET ") + kRoute + ": 404 NotFound: fake NotFound");
  EXPECT_EQ(api.count("PUT"), 0u);
}

// ---- Gateway and GatewayClass: the status Portico owns ----

const char kGateway[] = "/apis/gateway.networking.k8s.io/v1/namespaces/demo/gateways/edge";
const char kClass[] = "/apis/gateway.networking.k8s.io/v1/gatewayclasses/portico";

TEST(StatusWriterGateway, MergesConditionsByTypeListenersByNameAndReplacesAddresses) {
  FakeApi api;
  FakeClock clock;
  api.add(kGateway,
          {{"metadata", {{"name", "edge"}, {"namespace", "demo"}, {"generation", 7}}},
           {"status",
            {{"addresses", json::array({{{"type", "IPAddress"}, {"value", "192.0.2.1"}}})},
             {"conditions", json::array({{{"type", "Accepted"},
                                          {"status", "True"},
                                          {"reason", "Accepted"},
                                          {"message", ""},
                                          {"observedGeneration", 6},
                                          {"lastTransitionTime", "2026-10-01T00:00:00Z"}},
                                         {{"type", "example.com/Extra"},
                                          {"status", "True"},
                                          {"reason", "X"},
                                          {"message", ""},
                                          {"observedGeneration", 6},
                                          {"lastTransitionTime", "2026-10-01T00:00:00Z"}},
                                         {{"type", "Programmed"},
                                          {"status", "False"},
                                          {"reason", "Pending"},
                                          {"message", ""},
                                          {"observedGeneration", 6},
                                          {"lastTransitionTime", "2026-10-01T00:00:00Z"}}})},
             {"listeners", json::array({{{"name", "http"},
                                         {"attachedRoutes", 1},
                                         {"supportedKinds", json::array()},
                                         {"conditions", json::array({{{"type", "Accepted"},
                                                                      {"status", "True"},
                                                                      {"reason", "Accepted"},
                                                                      {"message", ""},
                                                                      {"observedGeneration", 6},
                                                                      {"lastTransitionTime",
                                                                       "2026-10-01T00:00:00Z"}}})}},
                                        {{"name", "removed"}, {"attachedRoutes", 0}}})}}}});
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  ObjectStatus s{
      "gateway.networking.k8s.io",
      "v1",
      "gateways",
      "demo",
      "edge",
      {{"addresses", json::array({{{"type", "IPAddress"}, {"value", "192.0.2.2"}}})},
       {"conditions", json::array({condition("Accepted", "True", "Accepted"),
                                   condition("Programmed", "True", "Programmed")})},
       {"listeners",
        json::array(
            {{{"name", "http"},
              {"attachedRoutes", 2},
              {"supportedKinds", json::array()},
              {"conditions", json::array({condition("Accepted", "True", "Accepted")})}},
             {{"name", "https"},
              {"attachedRoutes", 0},
              {"supportedKinds", json::array()},
              {"conditions", json::array({condition("Accepted", "True", "Accepted")})}}})}}};
  const WriteResult r = w.write_object(s);
  ASSERT_TRUE(r.ok()) << r.error;
  const json st = api.objects[kGateway]["status"];
  EXPECT_EQ(st["addresses"], s.status["addresses"]);
  ASSERT_EQ(st["conditions"].size(), 3u);
  EXPECT_EQ(st["conditions"][0]["type"], "Accepted");
  EXPECT_EQ(st["conditions"][0]["lastTransitionTime"], "2026-10-01T00:00:00Z");
  EXPECT_EQ(st["conditions"][0]["observedGeneration"], 7);
  EXPECT_EQ(st["conditions"][1]["type"], "example.com/Extra");
  EXPECT_EQ(st["conditions"][1]["observedGeneration"], 6) << "not ours: untouched";
  EXPECT_EQ(st["conditions"][2]["type"], "Programmed");
  EXPECT_EQ(st["conditions"][2]["status"], "True");
  EXPECT_EQ(st["conditions"][2]["lastTransitionTime"], "2026-12-05T10:00:00Z");
  ASSERT_EQ(st["listeners"].size(), 2u);
  EXPECT_EQ(st["listeners"][0]["name"], "http");
  EXPECT_EQ(st["listeners"][0]["attachedRoutes"], 2);
  EXPECT_EQ(st["listeners"][0]["conditions"][0]["lastTransitionTime"], "2026-10-01T00:00:00Z");
  EXPECT_EQ(st["listeners"][1]["name"], "https");
  EXPECT_EQ(st["listeners"][1]["conditions"][0]["lastTransitionTime"], "2026-12-05T10:00:00Z");
  EXPECT_EQ(st["listeners"][1]["conditions"][0]["observedGeneration"], 7);
}

TEST(StatusWriterGateway, GatewayClassIsClusterScoped) {
  FakeApi api;
  FakeClock clock;
  api.add(kClass,
          {{"metadata", {{"name", "portico"}, {"generation", 1}}}, {"spec", json::object()}});
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const WriteResult r =
      w.write_object({"gateway.networking.k8s.io",
                      "v1",
                      "gatewayclasses",
                      "",
                      "portico",
                      {{"conditions", json::array({condition("Accepted", "True", "Accepted")})}}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(api.requests.back().path, std::string(kClass) + "/status");
  EXPECT_EQ(api.objects[kClass]["status"]["conditions"][0]["observedGeneration"], 1);
}

// ---- Events ----

TEST(StatusWriterEvents, PostsAnEventAndCountsRepeats) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  const EventInfo e{"v1",
                    "Service",
                    "demo",
                    "web",
                    "uid-1",
                    "AllocationFailed",
                    "no available IPs in pool \"public\""};
  ASSERT_EQ(w.post_event(e).outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 1u);
  const Request& post = api.requests[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.path, "/api/v1/namespaces/demo/events");
  const json b = json::parse(post.body);
  EXPECT_EQ(b["apiVersion"], "v1");
  EXPECT_EQ(b["kind"], "Event");
  EXPECT_EQ(b["metadata"]["namespace"], "demo");
  EXPECT_EQ(b["metadata"]["name"].get<std::string>().rfind("web.", 0), 0u);
  EXPECT_EQ(b["involvedObject"], (json{{"apiVersion", "v1"},
                                       {"kind", "Service"},
                                       {"namespace", "demo"},
                                       {"name", "web"},
                                       {"uid", "uid-1"}}));
  EXPECT_EQ(b["reason"], "AllocationFailed");
  EXPECT_EQ(b["message"], "no available IPs in pool \"public\"");
  EXPECT_EQ(b["type"], "Warning");
  EXPECT_EQ(b["count"], 1);
  EXPECT_EQ(b["firstTimestamp"], "2026-12-05T10:00:00Z");
  EXPECT_EQ(b["lastTimestamp"], "2026-12-05T10:00:00Z");
  EXPECT_EQ(b["reportingComponent"], "portico.io/portico");

  clock.advance(30s);
  ASSERT_EQ(w.post_event(e).outcome, Outcome::kWritten);
  ASSERT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(api.requests[1].method, "PATCH");
  EXPECT_EQ(api.requests[1].content_type, "application/merge-patch+json");
  EXPECT_EQ(api.requests[1].path,
            "/api/v1/namespaces/demo/events/" + b["metadata"]["name"].get<std::string>());
  EXPECT_EQ(json::parse(api.requests[1].body),
            (json{{"count", 2}, {"lastTimestamp", "2026-12-05T10:00:30Z"}}));
  const json stored =
      api.objects["/api/v1/namespaces/demo/events/" + b["metadata"]["name"].get<std::string>()];
  EXPECT_EQ(stored["count"], 2);
  EXPECT_EQ(stored["firstTimestamp"], "2026-12-05T10:00:00Z");

  // Another message is another event; an expired one is posted anew.
  EventInfo e2 = e;
  e2.message = "no available IPs in pool \"private\"";
  ASSERT_EQ(w.post_event(e2).outcome, Outcome::kWritten);
  EXPECT_EQ(api.requests.back().method, "POST");
  EXPECT_NE(json::parse(api.requests.back().body)["metadata"]["name"], b["metadata"]["name"]);
  api.objects.clear();
  ASSERT_EQ(w.post_event(e).outcome, Outcome::kWritten);
  EXPECT_EQ(api.requests[api.requests.size() - 2].method, "PATCH");
  EXPECT_EQ(api.requests.back().method, "POST");
}

TEST(StatusWriterEvents, BadEventsAreErrors) {
  FakeApi api;
  FakeClock clock;
  StatusWriter w(
      &api, [] { return true; }, "portico", &clock);
  EXPECT_EQ(w.post_event({"v1", "Service", "demo", "web", "", "", "m"}).outcome, Outcome::kError);
  EXPECT_EQ(w.post_event({"v1", "Service", "demo", "../x", "", "R", "m"}).outcome, Outcome::kError);
  EXPECT_EQ(w.post_event({"v1", "Service", "demo", "web", "", "R", "m", "Error"}).outcome,
            Outcome::kError);
  EXPECT_TRUE(api.requests.empty());
  // A cluster-scoped object's event goes to "default"; a long message is cut.
  ASSERT_TRUE(w.post_event({"gateway.networking.k8s.io/v1", "GatewayClass", "", "portico", "",
                            "Invalid", std::string(5000, 'x')})
                  .ok());
  EXPECT_EQ(api.requests.back().path, "/api/v1/namespaces/default/events");
  const json b = json::parse(api.requests.back().body);
  EXPECT_FALSE(b["involvedObject"].contains("namespace"));
  EXPECT_EQ(b["message"].get<std::string>().size(), 1024u);
}

}  // namespace
}  // namespace control::k8s
