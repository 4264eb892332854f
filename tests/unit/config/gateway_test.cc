// Gateway API kinds (GatewayClass, Gateway, HTTPRoute, ReferenceGrant): what loads, with which
// defaults, and every schema / CEL rule of the standard-channel CRDs with its exact message and
// line. Also metadata.creationTimestamp / generation (every kind) and RFC 3339 parsing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "config/timestamp.h"
#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::testdata;

constexpr const char* kHostnameRegex =
    "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
constexpr const char* kPreciseRegex =
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

// ---- RFC 3339 ----

TEST(Rfc3339, ParsesToUnixSeconds) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2000-03-01T00:00:00Z"), 951868800);
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00+01:00"), 1709204400);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), -1);
  EXPECT_EQ(parse_rfc3339("2026-12-05T05:30:00.123456Z"), 1796448600);
  EXPECT_EQ(parse_rfc3339("2026-12-05t05:30:00z"), 1796448600);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59-23:59"), 253402387139);
  EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), -62135596800);
}

TEST(Rfc3339, RefusesWhatGoRefuses) {
  for (const char* bad : {"", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z",
                          "2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-32T00:00:00Z",
                          "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:60Z",
                          "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+0100",
                          "2024-01-01T00:00:00Zjunk", "24-01-01T00:00:00Z", "yesterday"}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

TEST(Metadata, CreationTimestampAndGenerationOnEveryKind) {
  const LoadResult r = load_text(R"(apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  creationTimestamp: "2024-05-01T12:00:00Z"
  generation: 7
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
  creationTimestamp: 2024-05-01T12:00:01+00:00
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: dumped
  creationTimestamp: null
spec: {}
)",
                                 "m.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.namespaces.size(), 1u);
  EXPECT_EQ(r.objects.namespaces[0].meta.creation_timestamp, 1714564800);
  EXPECT_EQ(r.objects.namespaces[0].meta.generation, 7);
  ASSERT_GE(r.objects.http_routes.size(), 1u);
  EXPECT_EQ(r.objects.http_routes[0].meta.creation_timestamp, 1714564801);
  EXPECT_EQ(r.objects.http_routes[0].meta.generation, 1);  // absent: the API server's first
  ASSERT_EQ(r.objects.http_routes.size(), 2u);
  EXPECT_EQ(r.objects.http_routes[1].meta.creation_timestamp, 0);  // as `kubectl get -o yaml`
}

TEST(Metadata, BadTimestampAndGenerationAreErrors) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: c
  creationTimestamp: "2024-02-30T00:00:00Z"
  generation: -1
spec:
  controllerName: portico.io/gateway-controller
)",
                                 "m.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "m.yaml:5: GatewayClass/c: metadata.creationTimestamp: Invalid value: "
            "\"2024-02-30T00:00:00Z\": must be an RFC 3339 date-time (e.g. 2024-05-01T12:00:00Z)");
  EXPECT_EQ(r.errors[1].line, 6);
  EXPECT_NE(r.errors[1].message.find("metadata.generation: Invalid value: -1"), std::string::npos)
      << dump(r);
  ASSERT_EQ(r.objects.gateway_classes.size(), 1u);
  EXPECT_EQ(r.objects.gateway_classes[0].meta.creation_timestamp, 0);
}

// ---- versions ----

TEST(GatewayApiVersions, V1AndV1beta1AreRead) {
  for (const char* version : {"v1", "v1beta1"}) {
    const std::string g = std::string("gateway.networking.k8s.io/") + version;
    const LoadResult r = load_text("apiVersion: " + g + R"(
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.io/gateway-controller}
---
apiVersion: )" + g + R"(
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  gatewayClassName: portico
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: )" + g + R"(
kind: HTTPRoute
metadata: {name: r, namespace: edge}
spec:
  parentRefs: [{name: gw}]
---
apiVersion: )" + g + R"(
kind: ReferenceGrant
metadata: {name: rg, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: edge}]
  to: [{group: "", kind: Service}]
)",
                                   "v.yaml");
    ASSERT_TRUE(r.ok()) << version << "\n" << dump(r);
    EXPECT_TRUE(r.warnings.empty()) << dump(r);
    EXPECT_EQ(r.objects.gateway_classes.size(), 1u);
    EXPECT_EQ(r.objects.gateways.size(), 1u);
    EXPECT_EQ(r.objects.http_routes.size(), 1u);
    EXPECT_EQ(r.objects.reference_grants.size(), 1u);
    EXPECT_TRUE(r.objects.others.empty());
    EXPECT_EQ(r.objects.gateway_classes[0].meta.namespace_, "");  // cluster-scoped
  }
}

TEST(GatewayApiVersions, ReferenceGrantV1alpha2IsStillServed) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1alpha2
kind: ReferenceGrant
metadata: {name: rg}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: edge}]
  to: [{group: "", kind: Service, name: web}]
)",
                                 "v.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.reference_grants.size(), 1u);
  EXPECT_EQ(r.objects.reference_grants[0].to[0].name, "web");
}

TEST(GatewayApiVersions, OtherVersionsAreRefusedNamingTheServedOnes) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1alpha2
kind: HTTPRoute
metadata: {name: r}
spec: {}
)",
                                 "v.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "v.yaml:1: HTTPRoute/default/r: apiVersion: Invalid value: "
            "\"gateway.networking.k8s.io/v1alpha2\": no matches for kind \"HTTPRoute\" in version "
            "\"gateway.networking.k8s.io/v1alpha2\"; served versions: "
            "gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1");
}

TEST(GatewayApiVersions, OtherRouteKindsStayOthersWithAWarning) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: t}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: t}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: u}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g}
)",
                                 "o.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 4u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            "o.yaml:1: TLSRoute/default/t: kind TLSRoute (apiVersion gateway.networking.k8s.io/v1) "
            "is not handled by this version of Portico; ignored");
  EXPECT_EQ(r.objects.others.size(), 4u);
}

// ---- defaults ----

TEST(GatewayDefaults, AppliedAsTheCrdsApplyThem) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: portico
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls:
      certificateRefs: [{name: cert}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: all}
spec:
  parentRefs: [{name: gw}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: some}
spec:
  parentRefs: [{name: gw, sectionName: https}]
  rules:
  - backendRefs: [{name: web, port: 8080}]
  - matches:
    - headers: [{name: x-env, value: canary}]
      queryParams: [{name: v, value: "2"}]
    - path: {type: Exact}
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https}
)",
                                 "d.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);

  const GatewayListener& l = r.objects.gateways.at(0).listeners.at(0);
  EXPECT_EQ(l.line, 7);
  EXPECT_EQ(l.allowed_routes.from, FromNamespaces::kSame);
  EXPECT_FALSE(l.allowed_routes.selector.has_value());
  EXPECT_TRUE(l.allowed_routes.kinds.empty());
  ASSERT_TRUE(l.tls.has_value());
  EXPECT_EQ(l.tls->mode, "Terminate");
  ASSERT_EQ(l.tls->certificate_refs.size(), 1u);
  EXPECT_EQ(l.tls->certificate_refs[0].group, "");
  EXPECT_EQ(l.tls->certificate_refs[0].kind, "Secret");
  EXPECT_EQ(l.tls->certificate_refs[0].name, "cert");

  const HttpRoute& all = r.objects.http_routes.at(0);
  ASSERT_EQ(all.parent_refs.size(), 1u);
  EXPECT_EQ(all.parent_refs[0].group, "gateway.networking.k8s.io");
  EXPECT_EQ(all.parent_refs[0].kind, "Gateway");
  EXPECT_EQ(all.parent_refs[0].namespace_, "");
  EXPECT_EQ(all.parent_refs[0].port, 0);
  ASSERT_EQ(all.rules.size(), 1u);  // omitted rules: one rule, PathPrefix "/"
  ASSERT_EQ(all.rules[0].matches.size(), 1u);
  EXPECT_EQ(all.rules[0].matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(all.rules[0].matches[0].path.value, "/");
  EXPECT_TRUE(all.rules[0].backend_refs.empty());

  const HttpRoute& some = r.objects.http_routes.at(1);
  ASSERT_EQ(some.rules.size(), 2u);
  EXPECT_EQ(some.rules[0].line, 25);
  ASSERT_EQ(some.rules[0].matches.size(), 1u);  // omitted matches: PathPrefix "/"
  EXPECT_EQ(some.rules[0].matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(some.rules[0].matches[0].path.value, "/");
  const HttpBackendRef& b = some.rules[0].backend_refs.at(0);
  EXPECT_EQ(b.group, "");
  EXPECT_EQ(b.kind, "Service");
  EXPECT_EQ(b.weight, 1u);
  EXPECT_EQ(b.port, 8080);
  const HttpRouteRule& r1 = some.rules[1];
  ASSERT_EQ(r1.matches.size(), 2u);
  EXPECT_EQ(r1.matches[0].path.type, PathMatchType::kPathPrefix);  // path omitted
  EXPECT_EQ(r1.matches[0].path.value, "/");
  ASSERT_EQ(r1.matches[0].headers.size(), 1u);
  EXPECT_EQ(r1.matches[0].headers[0].type, StringMatchType::kExact);
  ASSERT_EQ(r1.matches[0].query_params.size(), 1u);
  EXPECT_EQ(r1.matches[0].query_params[0].type, StringMatchType::kExact);
  EXPECT_EQ(r1.matches[0].query_params[0].value, "2");
  EXPECT_EQ(r1.matches[1].path.type, PathMatchType::kExact);  // value omitted: "/"
  EXPECT_EQ(r1.matches[1].path.value, "/");
  ASSERT_EQ(r1.filters.size(), 1u);
  ASSERT_TRUE(r1.filters[0].request_redirect.has_value());
  EXPECT_EQ(r1.filters[0].request_redirect->status_code, 302);
  EXPECT_EQ(r1.filters[0].request_redirect->scheme, "https");
  EXPECT_EQ(r1.filters[0].request_redirect->port, 0);
}

// ---- the seeds' examples ----

TEST(GatewaySeeds, Seed003WithTabsFixedLoads) {
  const LoadResult r =
      load({testdata("gateway/seed003_gateway.yaml"), testdata("gateway/seed003_httproute.yaml")});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.gateways.size(), 1u);
  const Gateway& g = r.objects.gateways[0];
  EXPECT_EQ(g.meta.name, "traefik-gateway");
  EXPECT_EQ(g.meta.namespace_, "sample");
  EXPECT_EQ(g.gateway_class_name, "traefik");
  ASSERT_EQ(g.listeners.size(), 2u);
  EXPECT_EQ(g.listeners[0].name, "web");
  EXPECT_EQ(g.listeners[0].port, 8000);
  EXPECT_EQ(g.listeners[0].protocol, "HTTP");
  EXPECT_EQ(g.listeners[0].hostname, "");
  EXPECT_EQ(g.listeners[0].allowed_routes.from, FromNamespaces::kAll);
  EXPECT_FALSE(g.listeners[0].tls.has_value());
  EXPECT_EQ(g.listeners[1].name, "https");
  EXPECT_EQ(g.listeners[1].port, 8443);
  EXPECT_EQ(g.listeners[1].protocol, "HTTPS");
  EXPECT_EQ(g.listeners[1].hostname, "sample.www.local");
  ASSERT_TRUE(g.listeners[1].tls.has_value());
  EXPECT_EQ(g.listeners[1].tls->mode, "Terminate");
  ASSERT_EQ(g.listeners[1].tls->certificate_refs.size(), 1u);
  EXPECT_EQ(g.listeners[1].tls->certificate_refs[0].name, "sample-tls");
  EXPECT_EQ(g.listeners[1].tls->certificate_refs[0].namespace_, "sample");
  EXPECT_EQ(g.listeners[1].allowed_routes.from, FromNamespaces::kAll);

  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  const HttpRoute& h = r.objects.http_routes[0];
  EXPECT_EQ(h.meta.name, "sample-http");
  ASSERT_EQ(h.parent_refs.size(), 1u);
  EXPECT_EQ(h.parent_refs[0].name, "traefik-gateway");
  EXPECT_EQ(h.parent_refs[0].section_name, "web");
  EXPECT_EQ(h.parent_refs[0].kind, "Gateway");
  EXPECT_EQ(h.hostnames, std::vector<std::string>{"sample.www.local"});
  ASSERT_EQ(h.rules.size(), 1u);
  ASSERT_EQ(h.rules[0].backend_refs.size(), 1u);
  EXPECT_EQ(h.rules[0].backend_refs[0].name, "whoami");
  EXPECT_EQ(h.rules[0].backend_refs[0].namespace_, "sample");
  EXPECT_EQ(h.rules[0].backend_refs[0].port, 80);
  ASSERT_EQ(h.rules[0].matches.size(), 1u);
  EXPECT_EQ(h.rules[0].matches[0].path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(h.rules[0].matches[0].path.value, "/");
}

TEST(GatewaySeeds, Seed004LoadsAsTypedObjects) {
  const LoadResult r =
      load({testdata("seeds/004_gateway.yaml"), testdata("seeds/004_httproute.yaml")});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.gateways.size(), 1u);
  EXPECT_EQ(r.objects.gateways[0].listeners.at(0).hostname, "*.sjc.ohthree.com");
  EXPECT_EQ(r.objects.gateways[0].gateway_class_name, "nginx");
  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  const HttpRoute& h = r.objects.http_routes[0];
  EXPECT_EQ(h.hostnames, std::vector<std::string>{"prometheus.sjc.ohthree.com"});
  EXPECT_EQ(h.parent_refs.at(0).section_name, "http");
  EXPECT_EQ(h.rules.at(0).backend_refs.at(0).name, "kube-prometheus-stack-prometheus");
  EXPECT_EQ(h.rules.at(0).backend_refs.at(0).port, 9090);
  EXPECT_EQ(h.rules.at(0).matches.at(0).path.value, "/");
}

// ---- config/examples/gateway.yaml, with the NodeConfig it goes with ----

TEST(GatewayExample, LoadsWithoutADiagnostic) {
  const std::string root = PORTICO_SOURCE_ROOT;
  const LoadResult r =
      load({root + "/config/examples/demo.yaml", root + "/config/examples/gateway.yaml"});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.gateway_classes.size(), 1u);
  EXPECT_EQ(r.objects.gateway_classes[0].controller_name, "portico.io/gateway-controller");
  ASSERT_EQ(r.objects.gateways.size(), 1u);
  const Gateway& g = r.objects.gateways[0];
  ASSERT_EQ(g.addresses.size(), 1u);
  EXPECT_EQ(g.addresses[0].value, "203.0.113.202");
  EXPECT_EQ(g.infrastructure.annotations.at("metallb.io/address-pool"), "reserved");
  ASSERT_EQ(g.listeners.size(), 2u);
  EXPECT_EQ(g.listeners[1].allowed_routes.from, FromNamespaces::kSelector);
  ASSERT_EQ(r.objects.http_routes.size(), 3u);
  const HttpRoute& www = r.objects.http_routes[0];
  EXPECT_EQ(www.meta.creation_timestamp, 1768467600);
  ASSERT_EQ(www.rules.size(), 3u);
  EXPECT_EQ(www.rules[0].matches[0].headers.at(0).name, "X-Canary");
  EXPECT_EQ(www.rules[1].matches[0].method, "GET");
  EXPECT_EQ(www.rules[1].matches[0].query_params.at(0).value, "v2");
  EXPECT_EQ(www.rules[2].backend_refs.at(0).weight, 90u);
  EXPECT_EQ(www.rules[2].backend_refs.at(1).weight, 10u);
  EXPECT_EQ(www.rules[2].filters.at(0).request_header_modifier->remove.at(0), "X-Debug");
  EXPECT_EQ(r.objects.http_routes[1].rules.at(0).filters.at(0).request_redirect->status_code, 301);
  EXPECT_EQ(r.objects.http_routes[2].parent_refs.at(0).namespace_, "demo");
  ASSERT_EQ(r.objects.reference_grants.size(), 1u);
  EXPECT_EQ(r.objects.reference_grants[0].from.at(0).namespace_, "shop");
}

// ---- validation: one case per rule ----

struct Case {
  const char* name;
  std::string body;     // YAML after the fixed head of the kind (see below)
  int line;             // of the first error
  std::string message;  // of the first error, after "Kind/ns/name: "
  size_t errors = 1;
};

// Line 1-5 of every HTTPRoute case; the body starts at line 6.
constexpr const char* kRouteHead = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r
spec:
)";
// Line 1-7 of every Gateway case; the body (listener entries) starts at line 8.
constexpr const char* kGatewayHead = R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: g
spec:
  gatewayClassName: portico
  listeners:
)";

void run(const char* head, const char* object, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const LoadResult r = load_text(std::string(head) + c.body, "t.yaml");
    ASSERT_EQ(r.errors.size(), c.errors) << c.name << "\n" << dump(r);
    EXPECT_EQ(r.errors[0].str(),
              "t.yaml:" + std::to_string(c.line) + ": " + object + ": " + c.message)
        << c.name;
  }
}

const std::string kPathRule = "when type one of ['Exact', 'PathPrefix']";

TEST(HttpRouteValidation, Paths) {
  auto path_case = [](const char* name, const char* value, const std::string& message,
                      size_t errors = 1) {
    const std::string body = std::string(R"(  rules:
  - matches:
    - path: {type: Exact, value: /a}
    - path:
        value: )") + value + "\n";
    return Case{name, body, 10,
                "spec.rules[0].matches[1].path.value: Invalid value: " +
                    std::string(value[0] == '"' ? value : "\"" + std::string(value) + "\"") + ": " +
                    message,
                errors};
  };
  run(kRouteHead, "HTTPRoute/default/r",
      {
          path_case("relative", "a/b",
                    "value must be an absolute path and start with '/' " + kPathRule),
          path_case("double slash", "/a//b", "must not contain '//' " + kPathRule),
          path_case("dot segment", "/a/./b", "must not contain '/./' " + kPathRule),
          path_case("dot-dot segment", "/a/../b", "must not contain '/../' " + kPathRule),
          path_case("encoded slash", "/a%2fb", "must not contain '%2f' " + kPathRule),
          path_case("encoded slash upper", "/a%2Fb", "must not contain '%2F' " + kPathRule),
          path_case("fragment", "\"/a#b\"", "must not contain '#' " + kPathRule, 2),
          path_case("ends dot-dot", "/a/..", "must not end with '/..' " + kPathRule),
          path_case("ends dot", "/a/.", "must not end with '/.' " + kPathRule),
          path_case("bad character", "\"/a b\"",
                    "must only contain valid characters (matching "
                    "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', "
                    "'PathPrefix']"),
      });
}

TEST(HttpRouteValidation, PathsOfRegularExpressionsAreNotChecked) {
  const LoadResult r = load_text(std::string(kRouteHead) + R"(  rules:
  - matches:
    - path: {type: RegularExpression, value: "/a//b/.."}
    - path: {type: PathPrefix, value: "/a%20b/"}
)",
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.objects.http_routes[0].rules[0].matches[0].path.type,
            PathMatchType::kRegularExpression);
}

TEST(HttpRouteValidation, Fields) {
  run(kRouteHead, "HTTPRoute/default/r",
      {
          {"hostname upper case", "  hostnames:\n  - Example.com\n", 7,
           std::string("spec.hostnames[0]: Invalid value: \"Example.com\": spec.hostnames[0] in "
                       "body should match '") +
               kHostnameRegex + "'"},
          {"wildcard not leftmost", "  hostnames: [a.com, \"foo.*.com\"]\n", 6,
           std::string("spec.hostnames[1]: Invalid value: \"foo.*.com\": spec.hostnames[1] in "
                       "body should match '") +
               kHostnameRegex + "'"},
          {"wildcard alone", "  hostnames: [\"*\"]\n", 6,
           std::string("spec.hostnames[0]: Invalid value: \"*\": spec.hostnames[0] in body "
                       "should match '") +
               kHostnameRegex + "'"},
          {"ip hostname", "  hostnames:\n  - 10.1.2.3\n", 7,
           "spec.hostnames[0]: Invalid value: \"10.1.2.3\": must be a DNS name, not an IP "
           "address"},
          {"parent name missing", "  parentRefs:\n  - sectionName: web\n", 7,
           "spec.parentRefs[0].name: Required value"},
          {"section name syntax", "  parentRefs:\n  - name: gw\n    sectionName: Web\n", 8,
           std::string("spec.parentRefs[0].sectionName: Invalid value: \"Web\": "
                       "spec.parentRefs[0].sectionName in body should match '") +
               kPreciseRegex + "'"},
          {"parent port", "  parentRefs:\n  - {name: gw, port: 0}\n", 7,
           "spec.parentRefs[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
          {"same parent twice", "  parentRefs:\n  - name: gw\n  - name: gw\n", 8,
           "spec.parentRefs[1]: Invalid value: \"object\": sectionName must be unique when "
           "parentRefs includes 2 or more references to the same parent"},
          {"same parent, one section",
           "  parentRefs:\n  - name: gw\n  - {name: gw, sectionName: a}\n", 8,
           "spec.parentRefs[1]: Invalid value: \"object\": sectionName must be specified when "
           "parentRefs includes 2 or more references to the same parent"},
          {"same parent, same section",
           "  parentRefs:\n  - {name: gw, sectionName: a}\n  - {name: gw, sectionName: a}\n", 8,
           "spec.parentRefs[1]: Invalid value: \"object\": sectionName must be unique when "
           "parentRefs includes 2 or more references to the same parent"},
          {"path type", "  rules:\n  - matches:\n    - path: {type: Prefix, value: /}\n", 8,
           "spec.rules[0].matches[0].path.type: Unsupported value: \"Prefix\": supported values: "
           "\"Exact\", \"PathPrefix\", \"RegularExpression\""},
          {"header name",
           "  rules:\n  - matches:\n    - headers:\n      - {name: \"x y\", value: v}\n", 9,
           "spec.rules[0].matches[0].headers[0].name: Invalid value: \"x y\": "
           "spec.rules[0].matches[0].headers[0].name in body should match "
           "'^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$'"},
          {"header type",
           "  rules:\n  - matches:\n    - headers:\n      - {type: Regex, name: a, value: v}\n", 9,
           "spec.rules[0].matches[0].headers[0].type: Unsupported value: \"Regex\": supported "
           "values: \"Exact\", \"RegularExpression\""},
          {"header value missing", "  rules:\n  - matches:\n    - headers:\n      - name: a\n", 9,
           "spec.rules[0].matches[0].headers[0].value: Required value"},
          {"header twice",
           "  rules:\n  - matches:\n    - headers:\n      - {name: a, value: v}\n      - {name: a, "
           "value: w}\n",
           10,
           "spec.rules[0].matches[0].headers[1]: Duplicate value: {\"name\":\"a\"} (also "
           "spec.rules[0].matches[0].headers[0])"},
          {"query type",
           "  rules:\n  - matches:\n    - queryParams:\n      - {type: Prefix, name: a, value: "
           "v}\n",
           9,
           "spec.rules[0].matches[0].queryParams[0].type: Unsupported value: \"Prefix\": "
           "supported values: \"Exact\", \"RegularExpression\""},
          {"query name",
           "  rules:\n  - matches:\n    - queryParams:\n      - {name: \"a=b\", value: v}\n", 9,
           "spec.rules[0].matches[0].queryParams[0].name: Invalid value: \"a=b\": "
           "spec.rules[0].matches[0].queryParams[0].name in body should match "
           "'^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$'"},
          {"method", "  rules:\n  - matches:\n    - method: get\n", 8,
           "spec.rules[0].matches[0].method: Unsupported value: \"get\": supported values: "
           "\"GET\", \"HEAD\", \"POST\", \"PUT\", \"DELETE\", \"CONNECT\", \"OPTIONS\", "
           "\"TRACE\", \"PATCH\""},
          {"weight",
           "  rules:\n  - backendRefs:\n    - name: web\n      port: 80\n      weight: 1000001\n",
           10,
           "spec.rules[0].backendRefs[0].weight: Invalid value: 1000001: must be between 0 and "
           "1000000, inclusive"},
          {"service without port", "  rules:\n  - backendRefs:\n    - name: web\n", 8,
           "spec.rules[0].backendRefs[0]: Invalid value: \"object\": Must have port for Service "
           "reference"},
          {"backend name missing", "  rules:\n  - backendRefs:\n    - port: 80\n", 8,
           "spec.rules[0].backendRefs[0].name: Required value"},
          {"backend kind syntax",
           "  rules:\n  - backendRefs:\n    - {name: a, kind: \"-x\", port: 1}\n", 8,
           "spec.rules[0].backendRefs[0].kind: Invalid value: \"-x\": "
           "spec.rules[0].backendRefs[0].kind in body should match "
           "'^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$'"},
      });
}

TEST(HttpRouteValidation, PortIsOnlyRequiredForCoreServices) {
  const LoadResult r = load_text(std::string(kRouteHead) + R"(  rules:
  - backendRefs:
    - {group: multicluster.x-k8s.io, kind: ServiceImport, name: web}
    - {group: example.com, kind: Service, name: web}
)",
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.objects.http_routes[0].rules[0].backend_refs[0].kind, "ServiceImport");
}

TEST(HttpRouteValidation, Filters) {
  const std::string not_both =
      "spec.rules[0].filters: Invalid value: \"array\": May specify either "
      "httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both";
  run(kRouteHead, "HTTPRoute/default/r",
      {
          {"type", "  rules:\n  - filters:\n    - type: Rewrite\n", 8,
           "spec.rules[0].filters[0].type: Unsupported value: \"Rewrite\": supported values: "
           "\"RequestHeaderModifier\", \"ResponseHeaderModifier\", \"RequestMirror\", "
           "\"RequestRedirect\", \"URLRewrite\", \"ExtensionRef\", \"CORS\""},
          {"type missing", "  rules:\n  - filters:\n    - requestRedirect: {}\n", 8,
           "spec.rules[0].filters[0].type: Required value"},
          {"field of another type",
           "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      requestRedirect: "
           "{}\n",
           8,
           "spec.rules[0].filters[0]: Invalid value: \"object\": "
           "filter.requestHeaderModifier must be specified for RequestHeaderModifier "
           "filter.type",
           2},
          {"field missing", "  rules:\n  - filters:\n    - type: RequestRedirect\n", 8,
           "spec.rules[0].filters[0]: Invalid value: \"object\": filter.requestRedirect must be "
           "specified for RequestRedirect filter.type"},
          {"field set for another type",
           "  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite: {}\n      "
           "extensionRef: {group: \"\", kind: X, name: ext}\n",
           8,
           "spec.rules[0].filters[0]: Invalid value: \"object\": filter.extensionRef must be nil "
           "if the filter.type is not ExtensionRef"},
          {"repeated header modifier",
           "  rules:\n  - filters:\n    - {type: RequestHeaderModifier, requestHeaderModifier: "
           "{}}\n    - {type: RequestHeaderModifier, requestHeaderModifier: {}}\n",
           7,
           "spec.rules[0].filters: Invalid value: \"array\": RequestHeaderModifier filter cannot "
           "be repeated"},
          {"repeated redirect",
           "  rules:\n  - filters:\n    - {type: RequestRedirect, requestRedirect: {}}\n    - "
           "{type: RequestRedirect, requestRedirect: {}}\n",
           7,
           "spec.rules[0].filters: Invalid value: \"array\": RequestRedirect filter cannot be "
           "repeated"},
          {"redirect and rewrite",
           "  rules:\n  - filters:\n    - {type: RequestRedirect, requestRedirect: {}}\n    - "
           "{type: URLRewrite, urlRewrite: {}}\n",
           7, not_both},
          {"redirect with backends",
           "  rules:\n  - filters:\n    - {type: RequestRedirect, requestRedirect: {}}\n    "
           "backendRefs: [{name: web, port: 80}]\n",
           7,
           "spec.rules[0]: Invalid value: \"object\": RequestRedirect filter must not be used "
           "together with backendRefs"},
          {"status code",
           "  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        "
           "statusCode: 304\n",
           10,
           "spec.rules[0].filters[0].requestRedirect.statusCode: Unsupported value: 304: "
           "supported values: \"301\", \"302\", \"303\", \"307\", \"308\""},
          {"scheme",
           "  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        "
           "scheme: ftp\n",
           10,
           "spec.rules[0].filters[0].requestRedirect.scheme: Unsupported value: \"ftp\": "
           "supported values: \"http\", \"https\""},
          {"redirect hostname is precise",
           "  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        "
           "hostname: \"*.example.com\"\n",
           10,
           std::string("spec.rules[0].filters[0].requestRedirect.hostname: Invalid value: "
                       "\"*.example.com\": spec.rules[0].filters[0].requestRedirect.hostname in "
                       "body should match '") +
               kPreciseRegex + "'"},
          {"redirect port",
           "  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect:\n        "
           "port: 65536\n",
           10,
           "spec.rules[0].filters[0].requestRedirect.port: Invalid value: 65536: must be "
           "between 1 and 65535, inclusive"},
          {"path modifier value of the other type",
           "  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        path:\n    "
           "      type: ReplaceFullPath\n          replacePrefixMatch: /x\n",
           10,
           "spec.rules[0].filters[0].urlRewrite.path: Invalid value: \"object\": "
           "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
           2},
          {"path modifier type",
           "  rules:\n  - filters:\n    - type: URLRewrite\n      urlRewrite:\n        path: "
           "{replaceFullPath: /x}\n",
           10, "spec.rules[0].filters[0].urlRewrite.path.type: Required value", 2},
          {"header modifier name",
           "  rules:\n  - filters:\n    - type: RequestHeaderModifier\n      "
           "requestHeaderModifier:\n        set: [{name: \"a:b\", value: v}]\n",
           10,
           "spec.rules[0].filters[0].requestHeaderModifier.set[0].name: Invalid value: \"a:b\": "
           "spec.rules[0].filters[0].requestHeaderModifier.set[0].name in body should match "
           "'^[A-Za-z0-9!#$%&'*+\\-.^_\\x60|~]+$'"},
          {"header modifier remove twice",
           "  rules:\n  - filters:\n    - type: ResponseHeaderModifier\n      "
           "responseHeaderModifier:\n        remove: [a, a]\n",
           10, "spec.rules[0].filters[0].responseHeaderModifier.remove[1]: Duplicate value: \"a\""},
          {"backend filters repeated",
           "  rules:\n  - backendRefs:\n    - name: web\n      port: 80\n      filters:\n      - "
           "{type: URLRewrite, urlRewrite: {}}\n      - {type: URLRewrite, urlRewrite: {}}\n",
           10,
           "spec.rules[0].backendRefs[0].filters: Invalid value: \"array\": URLRewrite filter "
           "cannot be repeated"},
          {"mirror needs a backend",
           "  rules:\n  - filters:\n    - type: RequestMirror\n      requestMirror: {percent: 5}\n",
           9, "spec.rules[0].filters[0].requestMirror.backendRef: Required value"},
      });
}

TEST(HttpRouteValidation, ReplacePrefixMatchNeedsExactlyOnePathPrefixMatch) {
  run(kRouteHead, "HTTPRoute/default/r",
      {
          {"rewrite, two matches",
           "  rules:\n  - matches: [{path: {value: /a}}, {path: {value: /b}}]\n    filters:\n    - "
           "type: URLRewrite\n      urlRewrite:\n        path: {type: ReplacePrefixMatch, "
           "replacePrefixMatch: /c}\n",
           7,
           "spec.rules[0]: Invalid value: \"object\": When using URLRewrite filter with "
           "path.replacePrefixMatch, exactly one PathPrefix match must be specified"},
          {"redirect, exact match",
           "  rules:\n  - matches: [{path: {type: Exact, value: /a}}]\n    filters:\n    - type: "
           "RequestRedirect\n      requestRedirect:\n        path: {type: ReplacePrefixMatch, "
           "replacePrefixMatch: /c}\n",
           7,
           "spec.rules[0]: Invalid value: \"object\": When using RequestRedirect filter with "
           "path.replacePrefixMatch, exactly one PathPrefix match must be specified"},
          {"backend rewrite, exact match",
           "  rules:\n  - matches: [{path: {type: Exact, value: /a}}]\n    backendRefs:\n    - "
           "name: web\n      port: 80\n      filters:\n      - type: URLRewrite\n        "
           "urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}\n",
           7,
           "spec.rules[0]: Invalid value: \"object\": Within backendRefs, When using URLRewrite "
           "filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified"},
          {"backend redirect, two matches",
           "  rules:\n  - matches: [{path: {value: /a}}, {method: GET}]\n    backendRefs:\n    - "
           "name: web\n      port: 80\n      filters:\n      - type: RequestRedirect\n        "
           "requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}\n",
           7,
           "spec.rules[0]: Invalid value: \"object\": Within backendRefs, when using "
           "RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match "
           "must be specified"},
      });
  // One PathPrefix match (written or defaulted) is what the rule asks for.
  const LoadResult r = load_text(std::string(kRouteHead) + R"(  rules:
  - filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /c}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {value: /x}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /y}}
)",
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& f = r.objects.http_routes[0].rules[0].filters[0];
  ASSERT_TRUE(f.url_rewrite && f.url_rewrite->path);
  EXPECT_EQ(f.url_rewrite->path->type, PathModifierType::kReplacePrefixMatch);
  EXPECT_EQ(f.url_rewrite->path->value, "/c");
}

// A YAML flow list of n copies of `item`.
std::string repeat(const std::string& item, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + item;
  return out + "]";
}

std::string numbered(const std::string& prefix, const std::string& suffix, size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + prefix + std::to_string(i) + suffix;
  return out + "]";
}

TEST(HttpRouteValidation, ListSizes) {
  struct SizeCase {
    std::string body;
    std::string message;
  };
  const std::vector<SizeCase> cases = {
      {"  parentRefs: " + numbered("{name: gw", "}", 33) + "\n",
       "spec.parentRefs: Too many: 33: must have at most 32 items"},
      {"  hostnames: " + numbered("h", ".example.com", 17) + "\n",
       "spec.hostnames: Too many: 17: must have at most 16 items"},
      {"  rules: " + repeat("{}", 17) + "\n",
       "spec.rules: Too many: 17: must have at most 16 items"},
      {"  rules: [{matches: " + repeat("{}", 65) + "}]\n",
       "spec.rules[0].matches: Too many: 65: must have at most 64 items"},
      {"  rules: " + repeat("{matches: " + repeat("{}", 43) + "}", 3) + "\n",
       "spec.rules: Invalid value: \"array\": While 16 rules and 64 matches per rule are allowed, "
       "the total number of matches across all rules in a route must be less than 128"},
      {"  rules: [{matches: [{headers: " + numbered("{name: h", ", value: v}", 17) + "}]}]\n",
       "spec.rules[0].matches[0].headers: Too many: 17: must have at most 16 items"},
      {"  rules: [{matches: [{queryParams: " + numbered("{name: q", ", value: v}", 17) + "}]}]\n",
       "spec.rules[0].matches[0].queryParams: Too many: 17: must have at most 16 items"},
      {"  rules: [{filters: " +
           repeat("{type: RequestMirror, requestMirror: {backendRef: {name: m, port: 1}}}", 17) +
           "}]\n",
       "spec.rules[0].filters: Too many: 17: must have at most 16 items"},
      {"  rules: [{backendRefs: " + numbered("{port: 1, name: b", "}", 17) + "}]\n",
       "spec.rules[0].backendRefs: Too many: 17: must have at most 16 items"},
  };
  for (const SizeCase& c : cases) {
    const LoadResult r = load_text(std::string(kRouteHead) + c.body, "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << c.message << "\n" << dump(r);
    EXPECT_EQ(r.errors[0].str(), "t.yaml:6: HTTPRoute/default/r: " + c.message);
  }
  // At the limits: 32 parents, 16 hostnames, 16 rules, 128 matches in all.
  const LoadResult ok =
      load_text(std::string(kRouteHead) + "  parentRefs: " + numbered("{name: gw", "}", 32) +
                    "\n  hostnames: " + numbered("h", ".example.com", 16) +
                    "\n  rules: " + repeat("{matches: " + repeat("{}", 8) + "}", 16) + "\n",
                "t.yaml");
  ASSERT_TRUE(ok.ok()) << dump(ok);
  EXPECT_EQ(ok.objects.http_routes[0].rules.size(), 16u);
}

TEST(GatewayValidation, Listeners) {
  run(kGatewayHead, "Gateway/default/g",
      {
          {"name twice",
           "  - {name: a, port: 80, protocol: HTTP}\n  - {name: a, port: 81, protocol: HTTP}\n", 9,
           "spec.listeners[1]: Invalid value: \"object\": Listener name must be unique within the "
           "Gateway"},
          {"port protocol hostname twice",
           "  - {name: a, port: 80, protocol: HTTP, hostname: x.com}\n  - {name: b, port: 80, "
           "protocol: HTTP, hostname: x.com}\n",
           9,
           "spec.listeners[1]: Invalid value: \"object\": Combination of port, protocol and "
           "hostname must be unique for each listener"},
          {"no hostname twice",
           "  - {name: a, port: 80, protocol: HTTP}\n  - {name: b, port: 80, protocol: HTTP}\n", 9,
           "spec.listeners[1]: Invalid value: \"object\": Combination of port, protocol and "
           "hostname must be unique for each listener"},
          {"tls on HTTP",
           "  - name: a\n    port: 80\n    protocol: HTTP\n    tls:\n      certificateRefs: "
           "[{name: "
           "c}]\n",
           11,
           "spec.listeners[0].tls: Invalid value: \"object\": tls must not be specified for "
           "protocols ['HTTP', 'TCP', 'UDP']"},
          {"tls on UDP",
           "  - name: a\n    port: 53\n    protocol: UDP\n    tls: {mode: Passthrough}\n", 11,
           "spec.listeners[0].tls: Invalid value: \"object\": tls must not be specified for "
           "protocols ['HTTP', 'TCP', 'UDP']"},
          {"terminate without certificates",
           "  - name: a\n    port: 443\n    protocol: HTTPS\n    tls:\n      mode: Terminate\n", 11,
           "spec.listeners[0].tls: Invalid value: \"object\": certificateRefs or options must be "
           "specified when mode is Terminate"},
          {"TLS terminate without certificates",
           "  - name: a\n    port: 443\n    protocol: TLS\n    tls: {}\n", 11,
           "spec.listeners[0].tls: Invalid value: \"object\": certificateRefs or options must be "
           "specified when mode is Terminate"},
          {"HTTPS passthrough",
           "  - name: a\n    port: 443\n    protocol: HTTPS\n    tls: {mode: Passthrough}\n", 11,
           "spec.listeners[0].tls: Invalid value: \"object\": tls mode must be Terminate for "
           "protocol HTTPS"},
          {"tls mode", "  - name: a\n    port: 443\n    protocol: TLS\n    tls: {mode: Both}\n", 11,
           "spec.listeners[0].tls.mode: Unsupported value: \"Both\": supported values: "
           "\"Terminate\", \"Passthrough\""},
          {"hostname on TCP", "  - name: a\n    port: 22\n    protocol: TCP\n    hostname: x.com\n",
           11,
           "spec.listeners[0].hostname: Invalid value: \"object\": hostname must not be specified "
           "for protocols ['TCP', 'UDP']"},
          {"selector missing",
           "  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      namespaces:\n "
           "  "
           "     from: Selector\n",
           12,
           "spec.listeners[0].allowedRoutes.namespaces: Invalid value: \"object\": selector must "
           "be specified when from is set to 'Selector'"},
          {"from",
           "  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes: {namespaces: {from: "
           "Any}}\n",
           11,
           "spec.listeners[0].allowedRoutes.namespaces.from: Unsupported value: \"Any\": "
           "supported values: \"All\", \"Selector\", \"Same\""},
          {"protocol syntax", "  - {name: a, port: 80, protocol: \"HT TP\"}\n", 8,
           "spec.listeners[0].protocol: Invalid value: \"HT TP\": spec.listeners[0].protocol in "
           "body should match "
           "'^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-"
           "a-z0-9]*[a-z0-9])?)*\\/[A-Za-z0-9]+$'"},
          {"port 0", "  - {name: a, port: 0, protocol: HTTP}\n", 8,
           "spec.listeners[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"},
          {"port 65536", "  - name: a\n    port: 65536\n    protocol: HTTP\n", 9,
           "spec.listeners[0].port: Invalid value: 65536: must be between 1 and 65535, inclusive"},
          {"port missing", "  - {name: a, protocol: HTTP}\n", 8,
           "spec.listeners[0].port: Required value"},
          {"name syntax", "  - {name: Web, port: 80, protocol: HTTP}\n", 8,
           std::string("spec.listeners[0].name: Invalid value: \"Web\": spec.listeners[0].name "
                       "in body should match '") +
               kPreciseRegex + "'"},
          {"hostname ip", "  - {name: a, port: 80, protocol: HTTP, hostname: 192.0.2.1}\n", 8,
           "spec.listeners[0].hostname: Invalid value: \"192.0.2.1\": must be a DNS name, not an "
           "IP address"},
          {"hostname wildcard in the middle",
           "  - {name: a, port: 80, protocol: HTTP, hostname: \"a.*.com\"}\n", 8,
           std::string("spec.listeners[0].hostname: Invalid value: \"a.*.com\": "
                       "spec.listeners[0].hostname in body should match '") +
               kHostnameRegex + "'"},
          {"no listeners", "  []\n", 7,
           "spec.listeners: Invalid value: 0: spec.listeners in body should have at least 1 "
           "items"},
      });
}

TEST(GatewayValidation, ListenersThatAreDistinct) {
  const LoadResult r =
      load_text(std::string(kGatewayHead) + R"(  - {name: a, port: 80, protocol: HTTP}
  - {name: b, port: 80, protocol: HTTP, hostname: "*.example.com"}
  - {name: c, port: 80, protocol: HTTP, hostname: www.example.com}
  - {name: d, port: 80, protocol: example.com/h3}
  - name: e
    port: 443
    protocol: HTTPS
    tls: {options: {example.com/cert: vault}}
  - name: f
    port: 443
    protocol: TLS
    tls: {mode: Passthrough}
  - name: g
    port: 8080
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchLabels: {team: a}}
      kinds: [{kind: HTTPRoute}]
)",
                "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const auto& ls = r.objects.gateways.at(0).listeners;
  ASSERT_EQ(ls.size(), 7u);
  EXPECT_EQ(ls[4].tls->options.at("example.com/cert"), "vault");
  EXPECT_EQ(ls[5].tls->mode, "Passthrough");
  EXPECT_EQ(ls[6].allowed_routes.from, FromNamespaces::kSelector);
  ASSERT_TRUE(ls[6].allowed_routes.selector.has_value());
  ASSERT_EQ(ls[6].allowed_routes.kinds.size(), 1u);
  EXPECT_EQ(ls[6].allowed_routes.kinds[0].group, "gateway.networking.k8s.io");
  EXPECT_EQ(ls[6].line, 20);
}

TEST(GatewayValidation, SixtyFiveListenersAreTooMany) {
  const LoadResult r =
      load_text(std::string(kGatewayHead).substr(0, std::string(kGatewayHead).size() - 1) + " " +
                    numbered("{protocol: HTTP, port: 80, name: l", "}", 65) + "\n",
                "t.yaml");
  ASSERT_GE(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "t.yaml:7: Gateway/default/g: spec.listeners: Too many: 65: must have at most 64 "
            "items");
}

TEST(GatewayValidation, SpecFields) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: g}
spec:
  listeners: [{name: a, port: 80, protocol: HTTP}]
  addresses:
  - {type: IPAddress, value: 203.0.113.300}
  - value: 203.0.113.10
  - {type: IPAddress, value: 203.0.113.10}
)",
                                 "t.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "t.yaml:4: Gateway/default/g: spec.gatewayClassName: Required value");
  EXPECT_EQ(r.errors[1].str(),
            "t.yaml:7: Gateway/default/g: spec.addresses[0]: Invalid value: \"object\": value "
            "must be an IP address");
  EXPECT_EQ(r.errors[2].str(),
            "t.yaml:9: Gateway/default/g: spec.addresses[2]: Invalid value: \"object\": "
            "IPAddress values must be unique");
  ASSERT_EQ(r.objects.gateways[0].addresses.size(), 3u);
  EXPECT_EQ(r.objects.gateways[0].addresses[1].type, "IPAddress");  // the default
}

TEST(GatewayClassValidation, ControllerName) {
  const char* head =
      "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\n";
  run(head, "GatewayClass/c",
      {
          {"missing", "spec: {description: x}\n", 4, "spec.controllerName: Required value"},
          {"no path", "spec:\n  controllerName: portico\n", 5,
           "spec.controllerName: Invalid value: \"portico\": spec.controllerName in body should "
           "match "
           "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\\/"
           "[A-Za-z0-9\\/\\-._~%!$&'()*+,;=:]+$'"},
          {"description",
           "spec:\n  controllerName: a.io/b\n  description: " + std::string(65, 'x') + "\n", 6,
           "spec.description: Too long: may not be more than 64 bytes"},
          {"parameters kind",
           "spec:\n  controllerName: a.io/b\n  parametersRef: {group: a.io, name: p}\n", 6,
           "spec.parametersRef.kind: Required value"},
      });
  const LoadResult r = load_text(std::string(head) + R"(spec:
  controllerName: portico.io/gateway-controller
  description: Portico
  parametersRef: {group: portico.io, kind: NodeConfig, name: edge-1}
)",
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const GatewayClass& c = r.objects.gateway_classes.at(0);
  EXPECT_EQ(c.controller_name, "portico.io/gateway-controller");
  EXPECT_EQ(c.description, "Portico");
  EXPECT_TRUE(c.has_parameters_ref);
  EXPECT_EQ(c.parameters_ref, "portico.io/NodeConfig//edge-1");
}

TEST(ReferenceGrantValidation, FromAndTo) {
  const char* head =
      "apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: "
      "rg}\nspec:\n";
  const std::string to = "  to: [{group: \"\", kind: Service}]\n";
  const std::string from = "  from: [{group: \"\", kind: HTTPRoute, namespace: a}]\n";
  const std::vector<std::string> bodies = {
      "  from: []\n" + to,
      to,
      "  from:\n  - {kind: HTTPRoute, namespace: a}\n" + to,
      "  from:\n  - {group: \"\", kind: HTTPRoute}\n" + to,
      "  from:\n  - {group: \"\", namespace: a}\n" + to,
      from + "  to: " + numbered("{group: \"\", kind: Service, name: s", "}", 17) + "\n",
      from + "  to:\n  - {kind: Service}\n",
      from + "  to:\n  - {group: \"\", kind: Service, name: \"\"}\n",
  };
  run(head, "ReferenceGrant/default/rg",
      {
          {"from empty", bodies[0], 5,
           "spec.from: Invalid value: 0: spec.from in body should have at least 1 items"},
          {"from missing", bodies[1], 4, "spec.from: Required value"},
          {"from group missing", bodies[2], 6, "spec.from[0].group: Required value"},
          {"from namespace missing", bodies[3], 6, "spec.from[0].namespace: Required value"},
          {"from kind missing", bodies[4], 6, "spec.from[0].kind: Required value"},
          {"to too many", bodies[5], 6, "spec.to: Too many: 17: must have at most 16 items"},
          {"to group missing", bodies[6], 7, "spec.to[0].group: Required value"},
          {"to name empty", bodies[7], 7,
           "spec.to[0].name: Invalid value: \"\": spec.to[0].name in body should be at least 1 "
           "chars long"},
      });
}

TEST(GatewayObjects, DuplicatesAreRefused) {
  const LoadResult r = load_text(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec: {}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec: {}
)",
                                 "t.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "t.yaml:6: HTTPRoute/default/r: duplicate object: already defined at t.yaml:1");
}

}  // namespace
}  // namespace config

namespace config {
namespace {

TEST(GatewayValidation, MoreFields) {
  run(kGatewayHead, "Gateway/default/g",
      {
          {"route kind missing",
           "  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      kinds:\n      "
           "- group: gateway.networking.k8s.io\n",
           13, "spec.listeners[0].allowedRoutes.kinds[0].kind: Required value"},
          {"too many route kinds",
           "  - name: a\n    port: 80\n    protocol: HTTP\n    allowedRoutes:\n      kinds: " +
               numbered("{kind: K", "}", 9) + "\n",
           12, "spec.listeners[0].allowedRoutes.kinds: Too many: 9: must have at most 8 items"},
          {"certificate name missing",
           "  - name: a\n    port: 443\n    protocol: HTTPS\n    tls:\n      certificateRefs:\n    "
           "  "
           "- kind: Secret\n",
           13, "spec.listeners[0].tls.certificateRefs[0].name: Required value"},
          {"hostname address",
           "  - {name: a, port: 80, protocol: HTTP}\n  addresses:\n  - {type: Hostname, value: "
           "\"Gw.Example.com\"}\n",
           10,
           "spec.addresses[0]: Invalid value: \"object\": Hostname value must only contain valid "
           "characters (matching "
           "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)"},
      });
}

TEST(GatewayValidation, SelectorWithAnotherFromIsIgnoredWithAWarning) {
  const LoadResult r = load_text(std::string(kGatewayHead) + R"(  - name: a
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: All
        selector: {matchLabels: {team: a}}
  listners: []
)",
                                 "t.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            "t.yaml:14: Gateway/default/g: spec.listeners[0].allowedRoutes.namespaces.selector: "
            "ignored: from is not \"Selector\"");
  EXPECT_EQ(r.warnings[1].str(), "t.yaml:15: Gateway/default/g: unknown field \"spec.listners\"");
  EXPECT_FALSE(r.objects.gateways[0].listeners[0].allowed_routes.selector.has_value());
}

TEST(HttpRouteValidation, LengthLimits) {
  const std::string long_path = "/" + std::string(1024, 'a');
  const std::string long_host = std::string(250, 'a') + ".com";
  run(kRouteHead, "HTTPRoute/default/r",
      {
          {"path value", "  rules:\n  - matches:\n    - path: {value: " + long_path + "}\n", 8,
           "spec.rules[0].matches[0].path.value: Too long: may not be more than 1024 bytes"},
          {"hostname", "  hostnames: [" + long_host + "]\n", 6,
           "spec.hostnames[0]: Too long: may not be more than 253 bytes"},
          {"header value",
           "  rules:\n  - matches:\n    - headers: [{name: a, value: " + std::string(4097, 'v') +
               "}]\n",
           8,
           "spec.rules[0].matches[0].headers[0].value: Too long: may not be more than 4096 bytes"},
          {"spec missing", "", 5, "spec: Required value"},
      });
}

}  // namespace
}  // namespace config
