// control/k8s/informer.h: the list+watch state machine against a scripted Transport (ref A2,
// A3, A5). Each test scripts the server's answers in order and checks the requests the
// informer made, the cache, and the counters. When the script runs out the fake sets the stop
// flag, so run() returns on the test's own thread without timing games.
#include "control/k8s/informer.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <thread>

namespace control::k8s {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Reply {
  bool stream = false;              // which call the script expects
  Response response;                // status, body (request) or error body (stream, non-2xx)
  std::vector<std::string> chunks;  // stream: delivered in these pieces, then the body ends
  std::function<void()> before;     // runs when the call arrives (checks mid-run state)
};

struct Call {
  bool stream;
  std::string path;
  Clock::time_point at;
};

class FakeTransport : public Transport {
 public:
  explicit FakeTransport(std::atomic<bool>* stop) : stop_(stop) {}

  void add(Reply r) { script_.push_back(std::move(r)); }

  Response request(const Request& r) override { return next(false, r.path, nullptr); }

  Response stream(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                  const std::atomic<bool>*, std::chrono::seconds) override {
    return next(true, path, &on_data);
  }

  std::vector<Call> calls;
  bool exhausted = false;

 private:
  Response next(bool is_stream, const std::string& path,
                const std::function<bool(std::string_view)>* on_data) {
    calls.push_back({is_stream, path, Clock::now()});
    if (script_.empty()) {
      exhausted = true;
      stop_->store(true);
      return Response{0, "", "script exhausted", ""};
    }
    Reply r = std::move(script_.front());
    script_.pop_front();
    EXPECT_EQ(r.stream, is_stream) << "call " << calls.size() << " " << path;
    if (r.before) r.before();
    if (is_stream && r.response.ok()) {
      for (const auto& c : r.chunks) {
        if (!(*on_data)(c)) break;
      }
    }
    return r.response;
  }

  std::atomic<bool>* stop_;
  std::deque<Reply> script_;
};

// ---- building server answers ----

json svc(const std::string& name, const std::string& rv, const std::string& ns = "demo") {
  return {{"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}},
          {"spec", {{"type", "LoadBalancer"}}}};
}

Reply page(std::vector<json> items, const std::string& rv, const std::string& cont = "") {
  json body = {{"kind", "ServiceList"},
               {"apiVersion", "v1"},
               {"metadata", {{"resourceVersion", rv}}},
               {"items", json::array()}};
  if (!cont.empty()) body["metadata"]["continue"] = cont;
  for (auto& i : items) body["items"].push_back(std::move(i));
  return Reply{false, Response{200, body.dump(), "", ""}, {}, {}};
}

Reply status(int code, const std::string& reason, const std::string& message, bool stream = false,
             const std::string& retry_after = "") {
  json st = {{"kind", "Status"},  {"apiVersion", "v1"}, {"status", "Failure"},
             {"reason", reason},  {"message", message}, {"code", code}};
  return Reply{stream, Response{code, st.dump(), "", retry_after}, {}, {}};
}

std::string event(const std::string& type, json object) {
  if (type != "ERROR" && !object.contains("kind")) object["kind"] = "Service";
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

json bookmark(const std::string& rv) {
  return {{"kind", "Service"}, {"apiVersion", "v1"}, {"metadata", {{"resourceVersion", rv}}}};
}

// A watch that answers 200 and sends `body` in pieces of `piece` bytes.
Reply watch(const std::string& body, size_t piece = 0) {
  Reply r{true, Response{200, "", "", ""}, {}, {}};
  if (piece == 0) piece = body.size() + 1;
  for (size_t i = 0; i < body.size(); i += piece) r.chunks.push_back(body.substr(i, piece));
  return r;
}

// The value of a query parameter, or "<absent>".
std::string param(const std::string& path, const std::string& key) {
  auto q = path.find('?');
  if (q == std::string::npos) return "<absent>";
  std::string rest = path.substr(q + 1);
  size_t at = 0;
  while (at <= rest.size()) {
    size_t amp = rest.find('&', at);
    std::string kv = rest.substr(at, amp == std::string::npos ? std::string::npos : amp - at);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == key) return eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    at = amp + 1;
  }
  return "<absent>";
}

std::string route(const std::string& path) { return path.substr(0, path.find('?')); }
bool is_list(const Call& c) { return !c.stream && param(c.path, "watch") == "<absent>"; }
bool is_watch(const Call& c) { return c.stream && param(c.path, "watch") == "1"; }

Resource services() { return Resource{"", {"v1"}, "services", "Service", true, ""}; }

InformerOptions fast() {
  InformerOptions o;
  o.page_size = 2;
  o.backoff_initial = 5ms;
  o.backoff_max = 50ms;
  o.seed = 42;
  return o;
}

std::vector<std::string> keys(const Informer& inf) {
  std::vector<std::string> out;
  for (const auto& [k, v] : inf.objects()) out.push_back(k);
  return out;
}

long long ms_between(const Call& a, const Call& b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b.at - a.at).count();
}

struct Harness {
  std::atomic<bool> stop{false};
  FakeTransport t{&stop};
};

// ---- tests ----

TEST(Informer, ListInThreePagesThenWatch) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10"), svc("b", "11")}, "100", "tok/1+="));
  h.t.add(page({svc("c", "12")}, "100", "tok2"));
  Reply last = page({}, "100");  // a page may be empty; only `continue` says whether more come
  last.before = [&] {
    // Pages are one snapshot: nothing reaches the cache before the last page.
    EXPECT_FALSE(inf.synced());
    EXPECT_TRUE(inf.objects().empty());
    EXPECT_EQ(inf.version(), 0u);
  };
  h.t.add(last);
  Reply w = watch(event("ADDED", svc("d", "101")) + event("MODIFIED", svc("a", "102")), 3);
  w.before = [&] {
    EXPECT_TRUE(inf.synced());
    EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b", "demo/c"}));
    EXPECT_EQ(inf.state(), InformerState::kWatching);
  };
  h.t.add(w);
  inf.run(&h.stop);

  ASSERT_GE(h.t.calls.size(), 4u);
  const auto& c = h.t.calls;
  EXPECT_EQ(c[0].path, "/api/v1/services?limit=2");
  EXPECT_EQ(param(c[1].path, "continue"), "tok%2F1%2B%3D");  // the token, URL-encoded
  EXPECT_EQ(param(c[1].path, "limit"), "2");
  EXPECT_EQ(param(c[2].path, "continue"), "tok2");
  ASSERT_TRUE(is_watch(c[3]));
  EXPECT_EQ(route(c[3].path), "/api/v1/services");
  EXPECT_EQ(param(c[3].path, "resourceVersion"), "100");
  EXPECT_EQ(param(c[3].path, "allowWatchBookmarks"), "true");
  int timeout = std::stoi(param(c[3].path, "timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
  // The watch ended normally with events: re-opened from the last RV, not relisted.
  ASSERT_EQ(c.size(), 5u);
  EXPECT_TRUE(is_watch(c[4]));
  EXPECT_EQ(param(c[4].path, "resourceVersion"), "102");

  auto objs = inf.objects();
  EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b", "demo/c", "demo/d"}));
  EXPECT_EQ(objs["demo/a"]["metadata"]["resourceVersion"], "102");
  EXPECT_EQ(objs["demo/b"]["kind"], "Service");  // list items get kind and apiVersion
  EXPECT_EQ(objs["demo/b"]["apiVersion"], "v1");
  EXPECT_EQ(inf.served_version(), "v1");
  EXPECT_EQ(inf.version(), 3u);  // the list, then one per event
  EXPECT_EQ(inf.relists(), 0u);
  EXPECT_EQ(inf.errors(), 0u);
  EXPECT_EQ(inf.state(), InformerState::kStopped);
}

TEST(Informer, LabelSelectorAndGroupPaths) {
  Harness h;
  Resource r{"discovery.k8s.io", {"v1"}, "endpointslices", "EndpointSlice", true,
             "kubernetes.io/service-name=web"};
  Informer inf(&h.t, r, fast());
  h.t.add(page({}, "5"));
  inf.run(&h.stop);
  ASSERT_EQ(h.t.calls.size(), 2u);
  EXPECT_EQ(h.t.calls[0].path,
            "/apis/discovery.k8s.io/v1/endpointslices?limit=2&labelSelector="
            "kubernetes.io%2Fservice-name%3Dweb");
  EXPECT_EQ(route(h.t.calls[1].path), "/apis/discovery.k8s.io/v1/endpointslices");
  EXPECT_EQ(param(h.t.calls[1].path, "labelSelector"), "kubernetes.io%2Fservice-name%3Dweb");
  EXPECT_TRUE(inf.synced());
}

TEST(Informer, FieldSelectorOnListAndWatch) {
  Harness h;
  Resource r{"", {"v1"}, "secrets", "Secret", true, "", "type=kubernetes.io/basic-auth"};
  Informer inf(&h.t, r, fast());
  h.t.add(page({}, "5"));
  inf.run(&h.stop);
  ASSERT_EQ(h.t.calls.size(), 2u);
  EXPECT_EQ(h.t.calls[0].path,
            "/api/v1/secrets?limit=2&fieldSelector=type%3Dkubernetes.io%2Fbasic-auth");
  EXPECT_EQ(param(h.t.calls[1].path, "fieldSelector"), "type%3Dkubernetes.io%2Fbasic-auth");
}

TEST(Informer, ContinueExpiredRestartsTheListFromScratch) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10"), svc("b", "11")}, "100", "c1"));
  // The Status offers a fresh token; using it would mix two snapshots.
  Reply gone = status(410, "Expired", "The provided continue parameter is too old");
  json st = json::parse(gone.response.body);
  st["metadata"] = {{"continue", "fresh-token"}};
  gone.response.body = st.dump();
  h.t.add(gone);
  h.t.add(page({svc("a", "10")}, "200", "c9"));
  h.t.add(page({svc("z", "150")}, "200"));
  Reply w = watch(event("BOOKMARK", bookmark("201")));
  w.before = [&] {
    EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/z"}));
  };
  h.t.add(w);
  inf.run(&h.stop);

  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 5u);
  EXPECT_EQ(param(c[1].path, "continue"), "c1");
  EXPECT_EQ(c[2].path, "/api/v1/services?limit=2");  // from the first page, no continue
  EXPECT_EQ(param(c[3].path, "continue"), "c9");
  EXPECT_EQ(param(c[4].path, "resourceVersion"), "200");
  for (const auto& call : c) EXPECT_EQ(call.path.find("fresh-token"), std::string::npos);
  EXPECT_EQ(inf.relists(), 1u);
  EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/z"}));  // b never arrives
}

TEST(Informer, BookmarkOnlyAdvancesTheResourceVersion) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("BOOKMARK", bookmark("150"))));
  Reply w = watch(event("BOOKMARK", bookmark("160")));
  w.before = [&] { EXPECT_EQ(inf.version(), 1u); };
  h.t.add(w);
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(param(c[1].path, "resourceVersion"), "100");
  EXPECT_EQ(param(c[2].path, "resourceVersion"), "150");
  EXPECT_EQ(param(c[3].path, "resourceVersion"), "160");
  EXPECT_EQ(inf.version(), 1u);  // the bookmark changed nothing in the cache
  EXPECT_EQ(keys(inf), std::vector<std::string>{"demo/a"});
  EXPECT_EQ(inf.objects()["demo/a"]["spec"]["type"], "LoadBalancer");
}

TEST(Informer, InStreamError410RelistsAndDropsWhatTheNewListLacks) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10"), svc("b", "11")}, "100"));
  json too_old = {{"kind", "Status"},       {"apiVersion", "v1"},
                  {"status", "Failure"},    {"message", "too old resource version: 100 (300)"},
                  {"reason", "Expired"},    {"code", 410}};
  h.t.add(watch(event("MODIFIED", svc("a", "101")) + event("ERROR", too_old) +
                event("ADDED", svc("never", "999"))));  // after the ERROR: not applied
  h.t.add(page({svc("a", "250")}, "300"));                // b was deleted meanwhile
  Reply w = watch(event("DELETED", svc("a", "301")));
  w.before = [&] {
    EXPECT_EQ(keys(inf), std::vector<std::string>{"demo/a"});
    EXPECT_EQ(inf.relists(), 1u);
  };
  h.t.add(w);
  inf.run(&h.stop);

  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 4u);
  EXPECT_TRUE(is_list(c[2]));
  EXPECT_EQ(c[2].path, "/api/v1/services?limit=2");
  EXPECT_EQ(param(c[3].path, "resourceVersion"), "300");
  EXPECT_TRUE(inf.objects().empty());  // the DELETED event removed the last one
  EXPECT_EQ(inf.errors(), 0u);         // 410 is the protocol, not a failure
}

TEST(Informer, Http410OnWatchRelists) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("ADDED", svc("b", "101"))));
  h.t.add(status(410, "Gone", "too old resource version: 101 (500)", /*stream=*/true));
  h.t.add(page({svc("b", "101")}, "500"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 5u);
  EXPECT_TRUE(is_watch(c[2]));
  EXPECT_EQ(param(c[2].path, "resourceVersion"), "101");
  EXPECT_TRUE(is_list(c[3]));
  EXPECT_EQ(param(c[4].path, "resourceVersion"), "500");
  EXPECT_EQ(keys(inf), std::vector<std::string>{"demo/b"});  // a vanished with the relist
  EXPECT_EQ(inf.relists(), 1u);
}

TEST(Informer, ResourceVersionTooLargeRelists) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({}, "100"));
  h.t.add(watch(event("BOOKMARK", bookmark("120"))));
  Reply too_large = status(504, "Timeout", "Too large resource version: 120, current: 110", true);
  json st = json::parse(too_large.response.body);
  st["details"] = {{"causes", {{{"reason", "ResourceVersionTooLarge"}, {"message", "x"}}}}};
  too_large.response.body = st.dump();
  h.t.add(too_large);
  h.t.add(page({}, "130"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 5u);
  EXPECT_TRUE(is_list(c[3]));
  EXPECT_EQ(param(c[4].path, "resourceVersion"), "130");
}

TEST(Informer, RelistRightAfterAListBacksOffFirst) {
  // A server that answers 410 to the very watch that follows its list would otherwise make us
  // list and watch in a tight loop.
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 150ms;
  o.backoff_max = 1000ms;
  Informer inf(&h.t, services(), o);
  h.t.add(page({}, "100"));
  h.t.add(status(410, "Expired", "too old", true));
  h.t.add(page({}, "200"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 3u);
  EXPECT_TRUE(is_list(c[2]));
  EXPECT_GE(ms_between(c[1], c[2]), 150);
}

TEST(Informer, IdenticalRelistIsNoChange) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("BOOKMARK", bookmark("110"))));
  h.t.add(status(410, "Expired", "too old", true));
  h.t.add(page({svc("a", "10")}, "300"));  // the list RV moved, the collection did not
  inf.run(&h.stop);
  EXPECT_EQ(inf.relists(), 1u);
  EXPECT_EQ(inf.version(), 1u);
}

TEST(Informer, WatchClosedNormallyRewatchesFromTheLastRvWithoutRelisting) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("MODIFIED", svc("a", "105"))));
  Reply w = watch(event("ADDED", svc("b", "106")));
  w.before = [&] {
    EXPECT_EQ(inf.relists(), 0u);
    EXPECT_EQ(inf.watch_restarts(), 1u);
  };
  h.t.add(w);
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_EQ(c.size(), 4u);
  EXPECT_TRUE(is_watch(c[2]));
  EXPECT_EQ(param(c[2].path, "resourceVersion"), "105");
  EXPECT_TRUE(is_watch(c[3]));
  EXPECT_EQ(param(c[3].path, "resourceVersion"), "106");
  EXPECT_LT(ms_between(c[1], c[2]), 50);  // at once, not after a backoff
  EXPECT_EQ(inf.errors(), 0u);
}

TEST(Informer, QuickEmptyCloseBacksOff) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 100ms;
  o.backoff_max = 1000ms;
  Informer inf(&h.t, services(), o);
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(""));  // 200, then the body ends at once with nothing in it
  h.t.add(watch(event("ADDED", svc("b", "101"))));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 3u);
  EXPECT_TRUE(is_watch(c[2]));  // re-watch, not relist: the cache is still good
  EXPECT_EQ(param(c[2].path, "resourceVersion"), "100");
  EXPECT_GE(ms_between(c[1], c[2]), 100);
  EXPECT_EQ(inf.errors(), 1u);
  EXPECT_NE(inf.last_error().find("no events"), std::string::npos) << inf.last_error();
  EXPECT_EQ(inf.relists(), 0u);
}

TEST(Informer, ServerErrorsBackOffWithGrowingDelaysAndKeepTheCache) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 20ms;
  o.backoff_max = 2000ms;
  Informer inf(&h.t, services(), o);
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("ADDED", svc("b", "101"))));
  for (int i = 0; i < 5; ++i) {
    Reply r = status(500, "InternalError", "etcd leader changed", true);
    r.before = [&] {
      // The last good state stays for the data plane through every failure.
      EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b"}));
      EXPECT_TRUE(inf.synced());
    };
    h.t.add(r);
  }
  h.t.add(watch(event("ADDED", svc("c", "102"))));
  inf.run(&h.stop);

  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 8u);
  // c[2..6] are the failing watches; c[7] the one that works. Gap i is in [20*2^i, 20*2^(i+1)).
  std::vector<long long> gaps;
  for (size_t i = 2; i < 7; ++i) gaps.push_back(ms_between(c[i], c[i + 1]));
  for (size_t i = 0; i < gaps.size(); ++i) {
    EXPECT_GE(gaps[i], 20ll << i) << "gap " << i;
  }
  EXPECT_GT(gaps[4], gaps[0] * 4);
  for (size_t i = 2; i < 8; ++i) {
    EXPECT_TRUE(is_watch(c[i]));
    EXPECT_EQ(param(c[i].path, "resourceVersion"), "101");
  }
  EXPECT_EQ(inf.errors(), 5u);
  EXPECT_EQ(inf.relists(), 0u);
  EXPECT_NE(inf.last_error().find("HTTP 500 InternalError: etcd leader changed"),
            std::string::npos)
      << inf.last_error();
  EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b", "demo/c"}));
}

TEST(Informer, BackoffNeverExceedsTheMaximum) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 10ms;
  o.backoff_max = 40ms;
  Informer inf(&h.t, services(), o);
  for (int i = 0; i < 6; ++i) h.t.add(status(503, "ServiceUnavailable", "x"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_EQ(c.size(), 7u);
  for (size_t i = 3; i + 1 < c.size(); ++i) {
    EXPECT_GE(ms_between(c[i], c[i + 1]), 40);
    EXPECT_LT(ms_between(c[i], c[i + 1]), 40 + 200);  // the cap, plus scheduling slack
  }
  EXPECT_FALSE(inf.synced());
}

TEST(Informer, BackoffResetsAfterAQuietPeriod) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 40ms;
  o.backoff_max = 5000ms;
  o.backoff_reset = 1s;
  Informer inf(&h.t, services(), o);
  h.t.add(page({}, "100"));
  for (int i = 0; i < 3; ++i) h.t.add(status(503, "ServiceUnavailable", "x", true));
  // Works, then stays quiet for longer than backoff_reset before the next failure.
  Reply quiet = watch(event("BOOKMARK", bookmark("101")));
  quiet.before = [] { std::this_thread::sleep_for(1100ms); };
  h.t.add(quiet);
  h.t.add(status(503, "ServiceUnavailable", "x", true));
  h.t.add(status(503, "ServiceUnavailable", "x", true));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_EQ(c.size(), 8u);
  EXPECT_GE(ms_between(c[3], c[4]), 160);  // the third delay in a row: [160, 320)
  EXPECT_GE(ms_between(c[5], c[6]), 40);   // after the quiet period: back to [40, 80)
  EXPECT_LT(ms_between(c[5], c[6]), 160);
  EXPECT_GE(ms_between(c[6], c[7]), 80);   // and growing again
}

TEST(Informer, TooManyRequestsHonoursRetryAfter) {
  Harness h;
  Informer inf(&h.t, services(), fast());  // backoff alone would be 5-10 ms
  h.t.add(status(429, "TooManyRequests", "slow down", false, "1"));
  h.t.add(page({}, "100"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 2u);
  EXPECT_GE(ms_between(c[0], c[1]), 1000);
  EXPECT_TRUE(inf.synced());
  EXPECT_TRUE(inf.last_error().empty());  // cleared by the list that worked
}

TEST(Informer, UnauthorizedBacksOffWithTheErrorVisible) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(status(401, "Unauthorized", "Unauthorized"));
  Reply forbidden =
      status(403, "Forbidden",
             "services is forbidden: User \"system:serviceaccount:edge:portico\" cannot list");
  forbidden.before = [&] {
    EXPECT_EQ(inf.state(), InformerState::kListing);
    EXPECT_NE(inf.last_error().find("HTTP 401 Unauthorized"), std::string::npos)
        << inf.last_error();
  };
  h.t.add(forbidden);
  inf.run(&h.stop);
  EXPECT_EQ(inf.errors(), 2u);
  EXPECT_NE(inf.last_error().find("list services: HTTP 403 Forbidden: services is forbidden"),
            std::string::npos)
      << inf.last_error();
  EXPECT_FALSE(inf.synced());
}

TEST(Informer, TransportErrorBacksOffAndIsReported) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(Reply{false, Response{0, "", "connect: Connection refused", ""}, {}, {}});
  h.t.add(page({}, "1"));
  inf.run(&h.stop);
  EXPECT_EQ(inf.errors(), 1u);
  EXPECT_TRUE(inf.synced());
  EXPECT_EQ(inf.relists(), 1u);  // the list was started again after the failure
}

TEST(Informer, FirstVersionNotServedUsesTheSecond) {
  Harness h;
  Resource r{"gateway.networking.k8s.io", {"v1", "v1beta1"}, "httproutes", "HTTPRoute", true, ""};
  Informer inf(&h.t, r, fast());
  h.t.add(status(404, "NotFound", "the server could not find the requested resource"));
  json route_item = {{"metadata", {{"name", "r1"}, {"namespace", "demo"}}}};
  h.t.add(page({route_item}, "100"));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(route(c[0].path), "/apis/gateway.networking.k8s.io/v1/httproutes");
  EXPECT_EQ(route(c[1].path), "/apis/gateway.networking.k8s.io/v1beta1/httproutes");
  EXPECT_EQ(route(c[2].path), "/apis/gateway.networking.k8s.io/v1beta1/httproutes");
  EXPECT_TRUE(is_watch(c[2]));
  EXPECT_EQ(inf.served_version(), "v1beta1");
  EXPECT_EQ(inf.objects()["demo/r1"]["apiVersion"], "gateway.networking.k8s.io/v1beta1");
  EXPECT_EQ(inf.objects()["demo/r1"]["kind"], "HTTPRoute");
  EXPECT_EQ(inf.errors(), 0u);
}

TEST(Informer, NoVersionServedIsNotInstalledAndRetriedQuietly) {
  Harness h;
  InformerOptions o = fast();
  o.not_installed_retry = 60s;
  Resource r{"metallb.io", {"v1beta1", "v1beta2"}, "ipaddresspools", "IPAddressPool", true, ""};
  Informer inf(&h.t, r, o);
  h.t.add(status(404, "NotFound", "not found"));
  h.t.add(status(404, "NotFound", "not found"));
  std::thread runner([&] { inf.run(&h.stop); });
  auto deadline = Clock::now() + 2s;
  while (inf.state() != InformerState::kNotInstalled && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(inf.state(), InformerState::kNotInstalled);
  std::this_thread::sleep_for(200ms);  // no error storm: nothing more is asked meanwhile
  EXPECT_EQ(h.t.calls.size(), 2u);
  EXPECT_EQ(inf.errors(), 0u);
  EXPECT_NE(inf.last_error().find("not installed"), std::string::npos) << inf.last_error();
  EXPECT_FALSE(inf.synced());
  auto asked = Clock::now();
  h.stop = true;
  runner.join();
  EXPECT_LT(Clock::now() - asked, 300ms);  // the 60 s wait woke on stop
  EXPECT_EQ(inf.state(), InformerState::kStopped);
}

TEST(Informer, StopWakesABackoffPromptly) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 10s;
  o.backoff_max = 30s;
  Informer inf(&h.t, services(), o);
  h.t.add(status(500, "InternalError", "boom"));
  std::thread runner([&] { inf.run(&h.stop); });
  auto deadline = Clock::now() + 2s;
  while (inf.state() != InformerState::kBackoff && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(inf.state(), InformerState::kBackoff);
  auto asked = Clock::now();
  h.stop = true;
  runner.join();
  EXPECT_LT(Clock::now() - asked, 300ms);
  EXPECT_EQ(h.t.calls.size(), 1u);
  EXPECT_EQ(inf.state(), InformerState::kStopped);
}

TEST(Informer, MalformedWatchLineRelists) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({svc("a", "10")}, "100"));
  h.t.add(watch(event("ADDED", svc("b", "101")) + "{\"type\":\"ADDED\",\"obj\n" +
                event("ADDED", svc("c", "102"))));
  Reply relist = page({svc("a", "10"), svc("b", "101")}, "200");
  relist.before = [&] {
    EXPECT_NE(inf.last_error().find("bad JSON"), std::string::npos) << inf.last_error();
    EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b"}));  // c not applied
  };
  h.t.add(relist);
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 4u);
  EXPECT_TRUE(is_list(c[2]));
  EXPECT_EQ(param(c[3].path, "resourceVersion"), "200");
  EXPECT_EQ(inf.errors(), 1u);
  EXPECT_TRUE(inf.last_error().empty());  // the relist that worked cleared it
  EXPECT_EQ(keys(inf), (std::vector<std::string>{"demo/a", "demo/b"}));
}

TEST(Informer, UnknownEventTypeRelists) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(page({}, "100"));
  h.t.add(watch(event("ADDED", svc("b", "101")) + event("RENAMED", svc("c", "102"))));
  Reply relist = page({}, "200");
  relist.before = [&] {
    EXPECT_NE(inf.last_error().find("unknown type"), std::string::npos) << inf.last_error();
  };
  h.t.add(relist);
  inf.run(&h.stop);
  ASSERT_GE(h.t.calls.size(), 3u);
  EXPECT_TRUE(is_list(h.t.calls[2]));
  EXPECT_EQ(inf.errors(), 1u);
}

TEST(Informer, OtherErrorEventBacksOffAndRewatches) {
  Harness h;
  InformerOptions o = fast();
  o.backoff_initial = 50ms;
  Informer inf(&h.t, services(), o);
  h.t.add(page({svc("a", "10")}, "100"));
  json internal = {{"kind", "Status"}, {"status", "Failure"}, {"reason", "InternalError"},
                   {"message", "watch chan error"}, {"code", 500}};
  h.t.add(watch(event("ADDED", svc("b", "101")) + event("ERROR", internal)));
  h.t.add(watch(event("ADDED", svc("c", "102"))));
  inf.run(&h.stop);
  const auto& c = h.t.calls;
  ASSERT_GE(c.size(), 3u);
  EXPECT_TRUE(is_watch(c[2]));
  EXPECT_EQ(param(c[2].path, "resourceVersion"), "101");
  EXPECT_GE(ms_between(c[1], c[2]), 50);
  EXPECT_EQ(inf.errors(), 1u);
  EXPECT_NE(inf.last_error().find("HTTP 500 InternalError"), std::string::npos)
      << inf.last_error();
}

TEST(Informer, MismatchedKindsAndNamelessObjectsAreIgnoredAndCounted) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  json wrong = svc("x", "9");
  wrong["kind"] = "Endpoints";
  json nameless = {{"metadata", {{"namespace", "demo"}}}};
  h.t.add(page({svc("a", "10"), wrong, nameless, json("not an object")}, "100"));
  json wrong_event = svc("y", "101");
  wrong_event["kind"] = "Pod";
  h.t.add(watch(event("ADDED", wrong_event) + event("MODIFIED", svc("a", "102"))));
  inf.run(&h.stop);
  EXPECT_EQ(keys(inf), std::vector<std::string>{"demo/a"});
  EXPECT_EQ(inf.objects()["demo/a"]["metadata"]["resourceVersion"], "102");
  EXPECT_EQ(inf.errors(), 4u);
  EXPECT_EQ(inf.relists(), 0u);
}

TEST(Informer, MalformedListBodiesAreErrorsNotCrashes) {
  Harness h;
  Informer inf(&h.t, services(), fast());
  h.t.add(Reply{false, Response{200, "{\"items\": [", "", ""}, {}, {}});
  h.t.add(Reply{false, Response{200, "{\"items\": []}", "", ""}, {}, {}});       // no RV
  h.t.add(Reply{false, Response{200, "[]", "", ""}, {}, {}});
  h.t.add(Reply{false, Response{200, R"({"metadata":{"resourceVersion":"1"},"items":7})", "", ""},
                {}, {}});
  h.t.add(Reply{false, Response{500, "<html>proxy error</html>", "", ""}, {}, {}});
  h.t.add(Reply{false, Response{200, R"({"metadata":{"resourceVersion":"1"},"items":null})", "",
                                ""},
                {}, {}});
  inf.run(&h.stop);
  EXPECT_EQ(inf.errors(), 5u);
  EXPECT_TRUE(inf.synced());
  EXPECT_TRUE(inf.objects().empty());
}

TEST(Informer, ClusterScopedKeysAreNames) {
  Harness h;
  Resource r{"", {"v1"}, "namespaces", "Namespace", false, ""};
  Informer inf(&h.t, r, fast());
  json ns = {{"metadata", {{"name", "demo"}, {"labels", {{"team", "edge"}}}}}};
  h.t.add(page({ns}, "7"));
  inf.run(&h.stop);
  EXPECT_EQ(keys(inf), std::vector<std::string>{"demo"});
}

}  // namespace
}  // namespace control::k8s
