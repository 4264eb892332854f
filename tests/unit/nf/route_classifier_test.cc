// nf::route classifier: the Gateway API precedence keys (gateway-api.md §2.5), the conformance
// cases of §5.3 as tables, listener selection and isolation (§2.2), hosts, regexes, find_port.
#include "nf/route_classifier.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace nf::route {
namespace {

constexpr uint32_t v1 = 1, v2 = 2, v3 = 3;
constexpr int k404 = 404;

// Match builder: M::prefix("/x").header("a", "b").method("GET") ...
struct M {
  Match m;
  static M prefix(std::string p) { return with(PathType::kPrefix, std::move(p)); }
  static M exact(std::string p) { return with(PathType::kExact, std::move(p)); }
  static M regex(std::string p) { return with(PathType::kRegex, std::move(p)); }
  static M any() { return prefix("/"); }
  static M with(PathType t, std::string p) {
    M r;
    r.m.path_type = t;
    r.m.path = std::move(p);
    return r;
  }
  M& header(std::string n, std::string v) {
    m.headers.push_back({false, std::move(n), std::move(v)});
    return *this;
  }
  M& header_re(std::string n, std::string v) {
    m.headers.push_back({true, std::move(n), std::move(v)});
    return *this;
  }
  M& query(std::string n, std::string v) {
    m.query.push_back({false, std::move(n), std::move(v)});
    return *this;
  }
  M& query_re(std::string n, std::string v) {
    m.query.push_back({true, std::move(n), std::move(v)});
    return *this;
  }
  M& method(std::string v) {
    m.method = std::move(v);
    return *this;
  }
};

Rule rule(uint32_t action, std::vector<M> matches, std::vector<std::string> hostnames = {},
          std::string route = "ns/route", uint32_t index = 0, int64_t created = 0) {
  Rule r;
  r.action = action;
  for (M& m : matches) r.matches.push_back(std::move(m.m));
  r.hostnames = std::move(hostnames);
  r.route = std::move(route);
  r.rule_index = index;
  r.created = created;
  return r;
}

// Rules of one route, rule_index in list order.
std::vector<Rule> route(std::string name, std::vector<std::string> hostnames,
                        std::vector<std::pair<uint32_t, std::vector<M>>> rules,
                        int64_t created = 0) {
  std::vector<Rule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    out.push_back(rule(rules[i].first, std::move(rules[i].second), hostnames, name,
                       static_cast<uint32_t>(i), created));
  }
  return out;
}

Listener listener(std::string hostname, std::vector<Rule> rules, std::string name = "ns/gw/l") {
  Listener l;
  l.name = std::move(name);
  l.hostname = std::move(hostname);
  l.rules = std::move(rules);
  return l;
}

RouteModel one_port(std::vector<Listener> listeners) {
  RouteModel model;
  PortSpec p;
  p.address[0] = 192;
  p.address[1] = 0;
  p.address[2] = 2;
  p.address[3] = 1;
  p.port = 80;
  p.listeners = std::move(listeners);
  model.ports.push_back(std::move(p));
  return model;
}

RouteModel one_listener(std::vector<Rule> rules) { return one_port({listener("", rules)}); }

template <typename... V>
std::vector<Rule> join(V... parts) {
  std::vector<Rule> out;
  (out.insert(out.end(), parts.begin(), parts.end()), ...);
  return out;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

class Gw {
 public:
  explicit Gw(const RouteModel& model) {
    CompileResult r = compile(model);
    EXPECT_EQ(r.error, "");
    c_ = std::move(r.classifier);
    if (c_) s_ = c_->make_scratch();
  }
  Decision decide(std::string_view host, std::string_view target, std::string_view method = "GET",
                  const Headers& headers = {}) {
    std::vector<HeaderView> hv;
    for (const auto& [n, v] : headers) hv.push_back({n, v});
    Request req{method, target, host, hv.data(), static_cast<uint32_t>(hv.size())};
    return c_->classify(0, req, s_);
  }
  // The action, or 404 for no listener or no rule.
  int operator()(std::string_view host, std::string_view target, std::string_view method = "GET",
                 const Headers& headers = {}) {
    const Decision d = decide(host, target, method, headers);
    if (d.outcome == Decision::kMatched) return static_cast<int>(d.action);
    EXPECT_TRUE(d.outcome == Decision::kNoRule || d.outcome == Decision::kNoListenerForHost)
        << int(d.outcome);
    return k404;
  }
  int get(std::string_view target, const Headers& h = {}) {
    return (*this)("gw", target, "GET", h);
  }

 private:
  std::unique_ptr<Classifier> c_;
  Classifier::Scratch s_;
};

// ---- conformance cases (gateway-api.md §5.3) ---------------------------------------------------

TEST(RouteClassifierConformance, HTTPRouteMatching) {
  Gw gw(one_listener(route("infra/matching", {},
                           {{v1, {M::prefix("/"), M::any().header("version", "one")}},
                            {v2, {M::prefix("/v2"), M::any().header("version", "two")}}})));
  const struct {
    const char* path;
    Headers h;
    int want;
  } cases[] = {
      {"/", {}, v1},    {"/example", {}, v1},    {"/", {{"version", "one"}}, v1},
      {"/v2", {}, v2},  {"/v2/example", {}, v2}, {"/", {{"version", "two"}}, v2},
      {"/v2/", {}, v2}, {"/v2example", {}, v1},  {"/foo/v2/example", {}, v1},
  };
  for (const auto& c : cases) EXPECT_EQ(gw.get(c.path, c.h), c.want) << c.path;
}

TEST(RouteClassifierConformance, HTTPRouteExactPathMatching) {
  Gw gw(one_listener(
      route("infra/exact-matching", {}, {{v1, {M::exact("/one")}}, {v2, {M::exact("/two")}}})));
  EXPECT_EQ(gw.get("/one"), v1);
  EXPECT_EQ(gw.get("/two"), v2);
  EXPECT_EQ(gw.get("/"), k404);
  EXPECT_EQ(gw.get("/one/example"), k404);
  EXPECT_EQ(gw.get("/two/"), k404);
  EXPECT_EQ(gw.get("/Two"), k404);
}

TEST(RouteClassifierConformance, HTTPRouteHeaderMatching) {
  Gw gw(one_listener(
      route("infra/header-matching", {},
            {{v1, {M::any().header("version", "one")}},
             {v2, {M::any().header("version", "two")}},
             {v1, {M::any().header("version", "two").header("color", "orange")}},
             {v1, {M::any().header("color", "blue"), M::any().header("color", "green")}},
             {v2, {M::any().header("color", "red"), M::any().header("color", "yellow")}}})));
  const struct {
    Headers h;
    int want;
  } cases[] = {
      {{{"Version", "one"}}, v1},
      {{{"Version", "two"}}, v2},
      {{{"Version", "two"}, {"Color", "orange"}}, v1},
      {{{"Version", "two"}, {"Color", "blue"}}, v2},
      {{{"Color", "orange"}}, k404},
      {{{"Some-Other-Header", "one"}}, k404},
      {{{"Color", "blue"}}, v1},
      {{{"Color", "green"}}, v1},
      {{{"Color", "red"}}, v2},
      {{{"Color", "yellow"}}, v2},
      {{{"Color", "purple"}}, k404},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(gw.get("/", c.h), c.want) << c.h[0].first << ": " << c.h[0].second;
  }
}

TEST(RouteClassifierConformance, HTTPRoutePathMatchOrder) {
  Gw gw(one_listener(route("infra/path-matching-order", {},
                           {{v1, {M::exact("/match")}},
                            {v2, {M::exact("/match/exact")}},
                            {v3, {M::exact("/match/exact/one")}},
                            {v3, {M::prefix("/match/")}},
                            {v1, {M::prefix("/match/prefix/")}},
                            {v2, {M::prefix("/match/prefix/one")}}})));
  EXPECT_EQ(gw.get("/match/exact/one"), v3);
  EXPECT_EQ(gw.get("/match/exact"), v2);
  EXPECT_EQ(gw.get("/match"), v1);
  EXPECT_EQ(gw.get("/match/prefix/one/any"), v2);
  EXPECT_EQ(gw.get("/match/prefix/any"), v1);
  EXPECT_EQ(gw.get("/match/any"), v3);
}

TEST(RouteClassifierConformance, HTTPRouteMatchingAcrossRoutes) {
  Gw gw(one_listener(join(route("infra/matching-part1", {"example.com", "example.net"},
                                {{v1, {M::prefix("/"), M::any().header("version", "one")}}}),
                          route("infra/matching-part2", {"example.com"},
                                {{v2, {M::prefix("/v2"), M::any().header("version", "two")}}}))));
  EXPECT_EQ(gw("example.com", "/"), v1);
  EXPECT_EQ(gw("example.com", "/example"), v1);
  EXPECT_EQ(gw("example.net", "/example"), v1);
  EXPECT_EQ(gw("example.com", "/example", "GET", {{"version", "one"}}), v1);
  EXPECT_EQ(gw("example.com", "/v2"), v2);
  EXPECT_EQ(gw("example.net", "/v2"), v1);
  EXPECT_EQ(gw("example.com", "/v2/example"), v2);
  EXPECT_EQ(gw("example.com", "/", "GET", {{"version", "two"}}), v2);
}

TEST(RouteClassifierConformance, HTTPRouteQueryParamMatching) {
  Gw gw(one_listener(
      route("infra/query-param-matching", {},
            {{v1, {M::any().query("animal", "whale")}},
             {v2, {M::any().query("animal", "dolphin")}},
             {v3,
              {M::any().query("animal", "dolphin").query("color", "blue"),
               M::any().query("ANIMAL", "Whale")}},
             {v1, {M::prefix("/path1").query("animal", "whale")}},
             {v2, {M::any().header("version", "one").query("animal", "whale")}},
             {v3, {M::prefix("/path2").header("version", "two").query("animal", "whale")}},
             {v1,
              {M::prefix("/path3").query("animal", "shark"),
               M::prefix("/path4").header("version", "three").query("animal", "kraken")}},
             {v1, {M::prefix("/path5")}},
             {v2, {M::any().query("animal", "hydra")}},
             {v3, {M::any().header("version", "four")}}})));
  const struct {
    const char* target;
    Headers h;
    int want;
  } cases[] = {
      {"/?animal=whale", {}, v1},
      {"/?animal=dolphin", {}, v2},
      {"/?animal=dolphin&color=blue", {}, v3},
      {"/?ANIMAL=Whale", {}, v3},
      {"/?animal=whale&otherparam=irrelevant", {}, v1},
      {"/?animal=dolphin&color=yellow", {}, v2},
      {"/?color=blue", {}, k404},
      {"/?animal=dog", {}, k404},
      {"/?animal=whaledolphin", {}, k404},
      {"/", {}, k404},
      {"/path1?animal=whale", {}, v1},
      {"/?animal=whale", {{"version", "one"}}, v2},
      {"/path2?animal=whale", {{"version", "two"}}, v3},
      {"/path3?animal=shark", {}, v1},
      {"/path4?animal=kraken", {{"version", "three"}}, v1},
      {"/?animal=shark", {}, k404},
      {"/path4?animal=kraken", {}, k404},
      {"/path5?animal=hydra", {}, v1},
      {"/?animal=hydra", {{"version", "four"}}, v3},
  };
  for (const auto& c : cases) EXPECT_EQ(gw.get(c.target, c.h), c.want) << c.target;
}

TEST(RouteClassifierConformance, HTTPRouteMethodMatching) {
  Gw gw(one_listener(route("infra/method-matching", {},
                           {{v1, {M::any().method("POST")}},
                            {v2, {M::any().method("GET")}},
                            {v1, {M::prefix("/path1").method("GET")}},
                            {v2, {M::any().header("version", "one").method("PUT")}},
                            {v3, {M::prefix("/path2").header("version", "two").method("POST")}},
                            {v1,
                             {M::prefix("/path3").method("PATCH"),
                              M::prefix("/path4").header("version", "three").method("DELETE")}},
                            {v1, {M::prefix("/path5")}},
                            {v2, {M::any().method("PATCH")}},
                            {v3, {M::any().header("version", "four")}}})));
  const struct {
    const char* method;
    const char* path;
    Headers h;
    int want;
  } cases[] = {
      {"POST", "/", {}, v1},
      {"GET", "/", {}, v2},
      {"HEAD", "/", {}, k404},
      {"GET", "/path1", {}, v1},
      {"PUT", "/", {{"version", "one"}}, v2},
      {"POST", "/path2", {{"version", "two"}}, v3},
      {"PATCH", "/path3", {}, v1},
      {"DELETE", "/path4", {{"version", "three"}}, v1},
      {"PUT", "/", {}, k404},
      {"DELETE", "/path4", {}, k404},
      {"PATCH", "/path5", {}, v1},
      {"PATCH", "/", {{"version", "four"}}, v2},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(gw("gw", c.path, c.method, c.h), c.want) << c.method << " " << c.path;
  }
}

TEST(RouteClassifierConformance, HTTPRouteHostnameIntersection) {
  // Effective hostnames as control computes them (§2.3); the route without an intersecting
  // hostname is not attached at all.
  Gw gw(one_port({
      listener("very.specific.com", join(route("infra/specific-host-matches-listener-specific-host",
                                               {"very.specific.com"}, {{v1, {M::prefix("/s1")}}}),
                                         route("infra/wildcard-host-matches-listener-specific-host",
                                               {"very.specific.com"}, {{v3, {M::prefix("/s3")}}}))),
      listener("*.wildcard.io", route("infra/specific-host-matches-listener-wildcard-host",
                                      {"foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"},
                                      {{v2, {M::prefix("/s2")}}})),
      listener("*.anotherwildcard.io", route("infra/wildcard-host-matches-listener-wildcard-host",
                                             {"*.anotherwildcard.io"}, {{v1, {M::prefix("/s4")}}})),
  }));
  const struct {
    const char* host;
    const char* path;
    int want;
  } cases[] = {
      {"very.specific.com", "/s1", v1},
      {"very.specific.com:1234", "/s1", v1},
      {"non.matching.com", "/s1", k404},
      {"foo.nonmatchingwildcard.io", "/s1", k404},
      {"foo.wildcard.io", "/s1", k404},
      {"very.specific.com", "/non-matching-prefix", k404},
      {"foo.wildcard.io", "/s2", v2},
      {"bar.wildcard.io", "/s2", v2},
      {"foo.bar.wildcard.io", "/s2", v2},
      {"non.matching.com", "/s2", k404},
      {"wildcard.io", "/s2", k404},
      {"very.specific.com", "/s2", k404},
      {"foo.wildcard.io", "/non-matching-prefix", k404},
      {"very.specific.com", "/s3", v3},
      {"non.matching.com", "/s3", k404},
      {"foo.specific.com", "/s3", k404},
      {"foo.wildcard.io", "/s3", k404},
      {"foo.anotherwildcard.io", "/s4", v1},
      {"bar.anotherwildcard.io", "/s4", v1},
      {"foo.bar.anotherwildcard.io", "/s4", v1},
      {"anotherwildcard.io", "/s4", k404},
      {"foo.wildcard.io", "/s4", k404},
      {"very.specific.com", "/s4", k404},
      {"foo.anotherwildcard.io", "/non-matching-prefix", k404},
      {"specific.but.wrong.com", "/s5", k404},
      {"wildcard.io", "/s5", k404},
  };
  for (const auto& c : cases) EXPECT_EQ(gw(c.host, c.path), c.want) << c.host << c.path;

  Gw all(one_listener(route("infra/all",
                            {"first.com", "sub.first.com", "second.com", "sub.second.com"},
                            {{v2, {M::any()}}})));
  for (const char* h : {"first.com", "sub.first.com", "second.com", "sub.second.com"}) {
    EXPECT_EQ(all(h, "/"), v2) << h;
  }
  EXPECT_EQ(all("third.com", "/"), k404);
  EXPECT_EQ(all("sub.third.com", "/"), k404);
}

TEST(RouteClassifierConformance, HTTPRouteListenerHostnameMatching) {
  Gw gw(one_port({
      listener("bar.com", route("infra/backend-v1", {"bar.com"}, {{v1, {M::any()}}})),
      listener("foo.bar.com", route("infra/backend-v2", {"foo.bar.com"}, {{v2, {M::any()}}})),
      listener("*.bar.com", route("infra/backend-v3", {"*.bar.com"}, {{v3, {M::any()}}})),
      listener("*.foo.com", route("infra/backend-v3", {"*.foo.com"}, {{v3, {M::any()}}})),
  }));
  EXPECT_EQ(gw("bar.com", "/"), v1);
  EXPECT_EQ(gw("foo.bar.com", "/"), v2);
  EXPECT_EQ(gw("baz.bar.com", "/"), v3);
  EXPECT_EQ(gw("boo.bar.com", "/"), v3);
  EXPECT_EQ(gw("multiple.prefixes.bar.com", "/"), v3);
  EXPECT_EQ(gw("multiple.prefixes.foo.com", "/"), v3);
  EXPECT_EQ(gw("foo.com", "/"), k404);
  EXPECT_EQ(gw("no.matching.host", "/"), k404);
  EXPECT_EQ(gw.decide("foo.com", "/").outcome, Decision::kNoListenerForHost);
  EXPECT_EQ(gw.decide("foo.bar.com", "/").listener, 1);
  EXPECT_EQ(gw.decide("a.b.bar.com", "/").listener, 2);
}

TEST(RouteClassifierConformance, GatewayHTTPListenerIsolation) {
  const char* names[] = {"empty-hostname", "wildcard-example-com", "wildcard-foo-example-com",
                         "abc-foo-example-com"};
  const char* hostnames[] = {"", "*.example.com", "*.foo.example.com", "abc.foo.example.com"};
  // Gateway B: every route lists these; control intersects them with each listener's hostname.
  const std::vector<std::vector<std::string>> effective_b = {
      {"bar.com", "*.example.com", "*.foo.example.com", "abc.foo.example.com"},
      {"*.example.com", "*.foo.example.com", "abc.foo.example.com"},
      {"*.foo.example.com", "abc.foo.example.com"},
      {"abc.foo.example.com"},
  };
  for (bool with_hostnames : {false, true}) {
    std::vector<Listener> ls;
    for (int i = 0; i < 4; ++i) {
      std::vector<std::string> eff;
      if (with_hostnames) {
        eff = effective_b[i];
      } else if (i > 0) {
        eff = {hostnames[i]};  // a route without hostnames inherits the listener's
      }
      ls.push_back(listener(hostnames[i], route(std::string("infra/") + names[i], eff,
                                                {{v1, {M::prefix(std::string("/") + names[i])}}})));
    }
    Gw gw(one_port(ls));
    const char* hosts[] = {"bar.com", "bar.example.com", "bar.foo.example.com",
                           "abc.foo.example.com"};
    for (int h = 0; h < 4; ++h) {
      for (int p = 0; p < 4; ++p) {
        EXPECT_EQ(gw(hosts[h], std::string("/") + names[p]), h == p ? int(v1) : k404)
            << "hostnames=" << with_hostnames << " " << hosts[h] << " /" << names[p];
      }
    }
  }
}

// ---- precedence keys (§2.5), each in both list orders ------------------------------------------

struct KeyCase {
  const char* what;
  Rule winner, loser;
  const char* host;
  const char* target;
  const char* method;
  Headers headers;
};

void PrintTo(const KeyCase& k, std::ostream* os) { *os << k.what; }

class PrecedenceKey : public ::testing::TestWithParam<KeyCase> {};

TEST_P(PrecedenceKey, WinsInEitherOrder) {
  const KeyCase& k = GetParam();
  for (bool winner_first : {true, false}) {
    std::vector<Rule> rules =
        winner_first ? std::vector<Rule>{k.winner, k.loser} : std::vector<Rule>{k.loser, k.winner};
    Gw gw(one_listener(rules));
    EXPECT_EQ(gw(k.host, k.target, k.method, k.headers), int(k.winner.action))
        << k.what << (winner_first ? " (winner first)" : " (winner second)");
  }
}

INSTANTIATE_TEST_SUITE_P(
    RouteClassifier, PrecedenceKey,
    ::testing::Values(KeyCase{"1a exact hostname over wildcard, even with a shorter path",
                              rule(1, {M::prefix("/")}, {"a.example.com"}, "ns/a"),
                              rule(2, {M::exact("/x")}, {"*.example.com"}, "ns/b"),
                              "a.example.com",
                              "/x",
                              "GET",
                              {}},
                      KeyCase{"1a exact hostname over no hostname",
                              rule(1, {M::any()}, {"a.example.com"}, "ns/z"),
                              rule(2, {M::exact("/x")}, {}, "ns/a"),
                              "a.example.com",
                              "/x",
                              "GET",
                              {}},
                      KeyCase{"1b longer wildcard over shorter",
                              rule(1, {M::any()}, {"*.b.example.com"}, "ns/z"),
                              rule(2, {M::exact("/x")}, {"*.example.com"}, "ns/a"),
                              "a.b.example.com",
                              "/x",
                              "GET",
                              {}},
                      KeyCase{"1b wildcard over no hostname",
                              rule(1, {M::any()}, {"*.com"}, "ns/z"),
                              rule(2, {M::exact("/x")}, {}, "ns/a"),
                              "a.example.com",
                              "/x",
                              "GET",
                              {}},
                      KeyCase{"1 longest of a rule's matching hostnames counts",
                              rule(1, {M::any()}, {"*.com", "*.b.example.com"}, "ns/z"),
                              rule(2, {M::any()}, {"*.example.com"}, "ns/a"),
                              "a.b.example.com",
                              "/",
                              "GET",
                              {}},
                      KeyCase{"2 Exact over PathPrefix",
                              rule(1, {M::exact("/a")}, {}, "ns/z"),
                              rule(2, {M::prefix("/a")}, {}, "ns/a"),
                              "h",
                              "/a",
                              "GET",
                              {}},
                      KeyCase{"2 Exact over RegularExpression",
                              rule(1, {M::exact("/a")}, {}, "ns/z"),
                              rule(2, {M::regex("/a")}, {}, "ns/a"),
                              "h",
                              "/a",
                              "GET",
                              {}},
                      KeyCase{"2 RegularExpression over any PathPrefix",
                              rule(1, {M::regex("/a/.*")}, {}, "ns/z"),
                              rule(2, {M::prefix("/a/b")}, {}, "ns/a"),
                              "h",
                              "/a/b",
                              "GET",
                              {}},
                      KeyCase{"3 longest prefix",
                              rule(1, {M::prefix("/a/b")}, {}, "ns/z"),
                              rule(2, {M::prefix("/a")}, {}, "ns/a"),
                              "h",
                              "/a/b/c",
                              "GET",
                              {}},
                      KeyCase{"3 prefix over method",
                              rule(1, {M::prefix("/a")}, {}, "ns/z"),
                              rule(2, {M::any().method("GET")}, {}, "ns/a"),
                              "h",
                              "/a",
                              "GET",
                              {}},
                      KeyCase{"4 method over headers",
                              rule(1, {M::any().method("GET")}, {}, "ns/z"),
                              rule(2, {M::any().header("x", "1").header("y", "2")}, {}, "ns/a"),
                              "h",
                              "/",
                              "GET",
                              {{"x", "1"}, {"y", "2"}}},
                      KeyCase{"5 more headers",
                              rule(1, {M::any().header("x", "1").header("y", "2")}, {}, "ns/z"),
                              rule(2, {M::any().header("x", "1").query("q", "1").query("r", "1")},
                                   {}, "ns/a"),
                              "h",
                              "/?q=1&r=1",
                              "GET",
                              {{"x", "1"}, {"y", "2"}}},
                      KeyCase{"6 more query params",
                              rule(1, {M::any().query("q", "1").query("r", "2")}, {}, "ns/z"),
                              rule(2, {M::any().query("q", "1")}, {}, "ns/a"),
                              "h",
                              "/?r=2&q=1",
                              "GET",
                              {}},
                      KeyCase{"7 older route",
                              rule(1, {M::any()}, {}, "ns/z", 5, 100),
                              rule(2, {M::any()}, {}, "ns/a", 0, 200),
                              "h",
                              "/",
                              "GET",
                              {}},
                      KeyCase{"8 namespace/name",
                              rule(1, {M::any()}, {}, "ns/a", 5, 100),
                              rule(2, {M::any()}, {}, "ns/b", 0, 100),
                              "h",
                              "/",
                              "GET",
                              {}},
                      KeyCase{"9 rule index",
                              rule(1, {M::any()}, {}, "ns/a", 0, 100),
                              rule(2, {M::any()}, {}, "ns/a", 1, 100),
                              "h",
                              "/",
                              "GET",
                              {}},
                      KeyCase{"duplicate header condition: only the first counts",
                              rule(1, {M::any().header("x", "1").header("X", "2")}, {}, "ns/z"),
                              rule(2, {M::any()}, {}, "ns/a"),
                              "h",
                              "/",
                              "GET",
                              {{"x", "1"}}},
                      KeyCase{"ranked per match, not per rule",
                              rule(1, {M::prefix("/zzz"), M::prefix("/a/b")}, {}, "ns/z"),
                              rule(2, {M::prefix("/a")}, {}, "ns/a"),
                              "h",
                              "/a/b",
                              "GET",
                              {}}));

// ---- paths, hosts, headers, queries -----------------------------------------------------------

TEST(RouteClassifier, PathPrefixIsElementWiseAndIgnoresConfiguredSlash) {
  Gw gw(one_listener(join(route("ns/a", {}, {{v1, {M::prefix("/abc/")}}}),
                          route("ns/b", {}, {{v2, {M::prefix("/full")}}}))));
  EXPECT_EQ(gw.get("/abc"), v1);
  EXPECT_EQ(gw.get("/abc/"), v1);
  EXPECT_EQ(gw.get("/abc/def"), v1);
  EXPECT_EQ(gw.get("/abcd"), k404);
  EXPECT_EQ(gw.get("/Abc"), k404);
  EXPECT_EQ(gw.get("/full?x=/y"), v2);  // the query is not part of the path
  EXPECT_EQ(gw.get("/full-path-and-host"), k404);
  EXPECT_EQ(gw.get("/"), k404);
}

TEST(RouteClassifier, HostPortCaseAndIpv6Literal) {
  Gw gw(one_port({listener("example.com", route("ns/a", {"example.com"}, {{v1, {M::any()}}})),
                  listener("", route("ns/b", {}, {{v2, {M::any()}}}))}));
  EXPECT_EQ(gw("example.com", "/"), v1);
  EXPECT_EQ(gw("example.com:8080", "/"), v1);
  EXPECT_EQ(gw("EXAMPLE.Com", "/"), v1);
  EXPECT_EQ(gw("Example.COM:80", "/"), v1);
  EXPECT_EQ(gw("[::1]:80", "/"), v2);
  EXPECT_EQ(gw("[2001:db8::1]", "/"), v2);
  EXPECT_EQ(gw("192.0.2.1:80", "/"), v2);
  EXPECT_EQ(gw("", "/"), v2);
  EXPECT_EQ(gw.decide("[::1]:80", "/").listener, 1);
  EXPECT_EQ(gw(std::string(300, 'a'), "/"), v2);  // too long for a hostname: the catch-all
}

TEST(RouteClassifier, DecisionNamesListenerRuleAndMatch) {
  Gw gw(one_port({listener("a.com", route("ns/a", {"a.com"}, {{v1, {M::any()}}})),
                  listener("b.com", route("ns/b", {"b.com"},
                                          {{v1, {M::prefix("/x")}},
                                           {7, {M::prefix("/y"), M::prefix("/z")}}}))}));
  const Decision d = gw.decide("b.com", "/z/1");
  EXPECT_EQ(d.outcome, Decision::kMatched);
  EXPECT_EQ(d.listener, 1);
  EXPECT_EQ(d.rule, 1);
  EXPECT_EQ(d.match, 1);
  EXPECT_EQ(d.action, 7u);
  EXPECT_EQ(gw.decide("b.com", "/q").outcome, Decision::kNoRule);
  EXPECT_EQ(gw.decide("b.com", "/q").listener, 1);
}

TEST(RouteClassifier, RepeatedRequestHeaderAndQueryParamFirstCounts) {
  Gw gw(one_listener(join(route("ns/a", {}, {{v1, {M::any().header("x", "1")}}}),
                          route("ns/b", {}, {{v2, {M::any().query("q", "1")}}}))));
  EXPECT_EQ(gw.get("/", {{"X", "1"}, {"x", "2"}}), v1);
  EXPECT_EQ(gw.get("/", {{"X", "2"}, {"x", "1"}}), k404);
  EXPECT_EQ(gw.get("/?q=1&q=2"), v2);
  EXPECT_EQ(gw.get("/?q=2&q=1"), k404);
  EXPECT_EQ(gw.get("/?q=%31"), k404);           // raw bytes: no percent-decoding
  EXPECT_EQ(gw.get("/", {{"x", "1 "}}), k404);  // Exact value is byte-for-byte
}

TEST(RouteClassifier, Regexes) {
  Gw gw(one_listener(
      join(route("ns/a", {}, {{v1, {M::regex("/user/[0-9]+")}}}),
           route("ns/b", {}, {{v2, {M::prefix("/h").header_re("x-tenant", "t-[a-c]+")}}}),
           route("ns/c", {}, {{v3, {M::prefix("/q").query_re("id", "[0-9]{3}")}}}),
           route("ns/d", {}, {{4, {M::prefix("/e").header_re("x-any", ".*")}}}))));
  EXPECT_EQ(gw.get("/user/42"), v1);
  EXPECT_EQ(gw.get("/user/42/x"), k404);  // the whole path must match
  EXPECT_EQ(gw.get("/a/user/42"), k404);
  EXPECT_EQ(gw.get("/user/x"), k404);
  EXPECT_EQ(gw.get("/user/42?a=b"), v1);
  EXPECT_EQ(gw.get("/h", {{"X-Tenant", "t-abc"}}), v2);
  EXPECT_EQ(gw.get("/h", {{"X-Tenant", "t-abd"}}), k404);
  EXPECT_EQ(gw.get("/h", {{"X-Other", "t-abc"}}), k404);
  EXPECT_EQ(gw.get("/h/1", {{"x-other", "t-a"}, {"x-tenant", "t-a"}}), v2);
  EXPECT_EQ(gw.get("/q?id=123"), v3);
  EXPECT_EQ(gw.get("/q?id=1234"), k404);
  EXPECT_EQ(gw.get("/q?x=1&id=999"), v3);
  EXPECT_EQ(gw.get("/q?idx=123"), k404);
  EXPECT_EQ(gw.get("/e", {{"x-any", ""}}), 4);  // an empty value can match
  EXPECT_EQ(gw.get("/e"), k404);                // a missing header does not
  // The path regex is not applied to a header value and vice versa.
  EXPECT_EQ(gw.get("/h", {{"x-tenant", "/user/1"}}), k404);
  EXPECT_EQ(gw.get("/t-abc", {{"x-tenant", "t-abc"}}), k404);
}

TEST(RouteClassifier, DeepPathsBeyondTheProbeBuffer) {
  // More "/" boundaries than classify prefetches at once: the rest are probed directly.
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "/s" + std::to_string(i);
  Gw gw(one_listener(join(route("ns/a", {}, {{v1, {M::prefix(deep.substr(0, 30))}}}),
                          route("ns/b", {}, {{v2, {M::prefix(deep.substr(0, deep.size() - 4))}}}),
                          route("ns/c", {}, {{v3, {M::exact(deep + "/end")}}}))));
  EXPECT_EQ(gw.get(deep), v2);
  EXPECT_EQ(gw.get(deep + "/x/y"), v2);
  EXPECT_EQ(gw.get(deep + "/end"), v3);
  EXPECT_EQ(gw.get(deep.substr(0, 60)), v1);
}

TEST(RouteClassifier, RegexesOnlyWhereTheHostHasThem) {
  // Host b has no regex: its requests skip the scans; host a's regexes still apply to a.
  Gw gw(one_listener(
      join(route("ns/a", {"a.com"},
                 {{v1, {M::regex("/r/[0-9]+")}}, {v2, {M::any().header_re("x", "[a-z]+")}}}),
           route("ns/b", {"b.com"}, {{v3, {M::prefix("/r")}}}))));
  EXPECT_EQ(gw("a.com", "/r/1"), v1);
  EXPECT_EQ(gw("a.com", "/q", "GET", {{"x", "abc"}}), v2);
  EXPECT_EQ(gw("a.com", "/q", "GET", {{"x", "ABC"}}), k404);
  EXPECT_EQ(gw("b.com", "/r/1", "GET", {{"x", "abc"}}), v3);
  EXPECT_EQ(gw("a.com", "/r/1"), v1);
}

TEST(RouteClassifier, ScratchWithoutHyperscanIsAScanErrorNotACrash) {
  const CompileResult r = compile(one_listener(route("ns/a", {}, {{v1, {M::regex("/[a-z]+")}}})));
  ASSERT_NE(r.classifier, nullptr);
  Classifier::Scratch empty;
  const Request req{"GET", "/abc", "h", nullptr, 0};
  EXPECT_EQ(r.classifier->classify(0, req, empty).outcome, Decision::kScanError);
  Classifier::Scratch good = r.classifier->make_scratch();
  Classifier::Scratch moved = std::move(good);
  EXPECT_EQ(r.classifier->classify(0, req, moved).action, v1);
}

TEST(RouteClassifier, BadRegexNamesRouteAndRule) {
  for (const char* bad : {"a)|(b", "(unclosed", "[z-a]", "(?<=x)y"}) {
    const std::vector<Rule> rules = join(
        route("ns/good", {}, {{v1, {M::prefix("/")}}}),
        route("ns/broken", {}, {{v1, {M::prefix("/")}}, {v2, {M::any().header_re("x", bad)}}}));
    const CompileResult r = compile(one_listener(rules));
    EXPECT_EQ(r.classifier, nullptr) << bad;
    EXPECT_NE(r.error.find("route ns/broken rule 1"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("header x"), std::string::npos) << r.error;
  }
  const CompileResult r = compile(one_listener(route("ns/p", {}, {{v1, {M::regex("(")}}})));
  EXPECT_NE(r.error.find("ns/p rule 0 match 0: path"), std::string::npos) << r.error;
}

TEST(RouteClassifier, FindPortV4AndV6) {
  RouteModel model = one_listener(route("ns/a", {}, {{v1, {M::any()}}}));
  PortSpec v6;
  v6.v6 = true;
  v6.address[0] = 0x20;
  v6.address[1] = 0x01;
  v6.address[2] = 0x0d;
  v6.address[3] = 0xb8;
  v6.address[15] = 1;
  v6.port = 8080;
  model.ports.push_back(v6);
  const CompileResult r = compile(model);
  ASSERT_NE(r.classifier, nullptr);
  const uint8_t a4[16] = {192, 0, 2, 1};
  const uint8_t other4[16] = {192, 0, 2, 2};
  EXPECT_EQ(r.classifier->find_port(a4, false, 80), 0);
  EXPECT_EQ(r.classifier->find_port(a4, false, 81), -1);
  EXPECT_EQ(r.classifier->find_port(other4, false, 80), -1);
  EXPECT_EQ(r.classifier->find_port(a4, true, 80), -1);
  EXPECT_EQ(r.classifier->find_port(v6.address, true, 8080), 1);
  EXPECT_EQ(r.classifier->find_port(v6.address, false, 8080), -1);
  // The v6 port has no listener: every request there is kNoListenerForHost.
  auto s = r.classifier->make_scratch();
  const Request req{"GET", "/", "h", nullptr, 0};
  EXPECT_EQ(r.classifier->classify(1, req, s).outcome, Decision::kNoListenerForHost);
  EXPECT_EQ(r.classifier->classify(0, req, s).action, v1);
  EXPECT_EQ(r.classifier->classify(7, req, s).outcome, Decision::kNoListenerForHost);
}

}  // namespace
}  // namespace nf::route
