// porticoctl's formatters against golden files (tests/unit/ctl/golden/*.txt): the exact text a
// user sees for each command, from canned API messages.
#include <gtest/gtest.h>

#include "control/porticoctl/format.h"
#include "control/porticoctl/json_yaml.h"
#include "tests/unit/ctl/fixtures.h"

namespace porticoctl::testing {
namespace {

namespace pb = portico::v1;

KindInfo kind(const std::string& name) { return *kind_by_name(name); }

TEST(CtlTable, PadsColumnsAndTrimsTrailingBlanks) {
  Table t({"A", "LONGER", "C"});
  t.add({"xxxx", "", ""});
  t.add({"y", "z", "w"});
  EXPECT_EQ(t.render(),
            "A      LONGER   C\n"
            "xxxx\n"
            "y      z        w\n");
}

TEST(CtlKinds, ShortNamesPluralsAndGroups) {
  EXPECT_EQ(find_kind("svc")->kind, "Service");
  EXPECT_EQ(find_kind("Services")->kind, "Service");
  EXPECT_EQ(find_kind("pools")->kind, "IPAddressPool");
  EXPECT_EQ(find_kind("ipaddresspools.metallb.io")->kind, "IPAddressPool");
  EXPECT_EQ(find_kind("gw")->kind, "Gateway");
  EXPECT_EQ(find_kind("httproutes")->kind, "HTTPRoute");
  EXPECT_EQ(find_kind("bgppeers")->kind, "BGPPeer");
  EXPECT_FALSE(find_kind("ipaddresspools.gateway.networking.k8s.io"));
  EXPECT_FALSE(find_kind("nodeconfig"));
  EXPECT_FALSE(find_kind("gc")->namespaced);
}

TEST(CtlGolden, ServiceTableAllNamespaces) {
  expect_golden("get_services", format_object_table(kind("Service"), canned_of_kind("Service"), true));
}

TEST(CtlGolden, ServiceTableOneNamespace) {
  auto objects = canned_of_kind("Service");
  objects.pop_back();  // other/web
  expect_golden("get_services_demo", format_object_table(kind("Service"), objects, false));
}

TEST(CtlGolden, KindTables) {
  expect_golden("get_pools", format_object_table(kind("IPAddressPool"),
                                                 canned_of_kind("IPAddressPool"), false));
  expect_golden("get_gateways", format_object_table(kind("Gateway"), canned_of_kind("Gateway"), true));
  expect_golden("get_httproutes",
                format_object_table(kind("HTTPRoute"), canned_of_kind("HTTPRoute"), true));
  expect_golden("get_bgppeers", format_object_table(kind("BGPPeer"), canned_of_kind("BGPPeer"), true));
  expect_golden("get_l2advertisements",
                format_object_table(kind("L2Advertisement"), canned_of_kind("L2Advertisement"), true));
  // Cluster-scoped: no NAMESPACE column even across namespaces.
  expect_golden("get_gatewayclasses",
                format_object_table(kind("GatewayClass"), canned_of_kind("GatewayClass"), true));
  EXPECT_EQ(format_object_table(kind("Secret"), {}, true), "No resources found.\n");
}

TEST(CtlGolden, ObjectsAsJsonAndYaml) {
  expect_golden("get_pools_json", format_objects_json(canned_of_kind("IPAddressPool"), false));
  expect_golden("get_pools_yaml", format_objects_yaml(canned_of_kind("IPAddressPool"), false));
  // One object: JSON exactly as the server sent it.
  auto web = canned_of_kind("Service")[0];
  EXPECT_EQ(format_objects_json({web}, true), web.json() + "\n");
  expect_golden("get_service_yaml", format_objects_yaml({web}, true));
}

TEST(CtlGolden, Describe) {
  expect_golden("describe_service", format_describe(canned_of_kind("Service")[0]));
  expect_golden("describe_gateway", format_describe(canned_of_kind("Gateway")[0]));
  expect_golden("describe_httproute", format_describe(canned_of_kind("HTTPRoute")[0]));
  expect_golden("describe_bgppeer", format_describe(canned_of_kind("BGPPeer")[0]));
}

TEST(CtlGolden, Apply) {
  pb::ApplyResponse r;
  auto* c = r.add_created();
  c->set_kind("IPAddressPool");
  c->set_namespace_("metallb-system");
  c->set_name("extra");
  auto* u = r.add_configured();
  u->set_kind("Service");
  u->set_namespace_("demo");
  u->set_name("web");
  auto* n = r.add_unchanged();
  n->set_kind("GatewayClass");
  n->set_name("portico");
  r.add_warnings("Service demo/web: annotation metallb.universe.tf/address-pool is deprecated");
  expect_golden("apply", format_apply(r, false));
  expect_golden("apply_dry_run", format_apply(r, true));
  EXPECT_EQ(format_apply_warnings(r),
            "Warning: Service demo/web: annotation metallb.universe.tf/address-pool is "
            "deprecated\n");
}

TEST(CtlGolden, Stats) { expect_golden("stats", format_stats(canned_stats_after())); }

TEST(CtlGolden, TopUsesLcoreCycles) {
  // Wall time says 3 s, the lcores say 1 s: the lcores' interval is the one the counters moved in.
  expect_golden("top", format_top(canned_stats_before(), canned_stats_after(), 3.0));
}

TEST(CtlStats, BusyShare) {
  EXPECT_EQ(format_busy_percent(1, 3), "25.0%");
  EXPECT_EQ(format_busy_percent(0, 0), "-");
  EXPECT_EQ(format_busy_percent(5, 0), "100.0%");
}

TEST(CtlStats, TopFallsBackToWallClock) {
  pb::Stats a = canned_stats_before(), b = canned_stats_before();
  b.mutable_totals(0)->set_value(a.totals(0).value() + 2000);  // rx + 2000 in 2 s, lcores idle
  std::string frame = format_top(a, b, 2.0);
  EXPECT_NE(frame.find("interval 2.00 s (wall clock)"), std::string::npos) << frame;
  EXPECT_NE(frame.find("rx 1.00k pps"), std::string::npos) << frame;
  EXPECT_NE(format_top(a, a, 0.0).find("No interval"), std::string::npos);
}

TEST(CtlFormat, AgeText) {
  const struct {
    uint64_t seconds;
    const char* want;
  } cases[] = {{0, "0s"},        {59, "59s"},     {119, "119s"},   {120, "2m"},
               {3599, "59m"},    {3600, "1h"},    {3660, "1h1m"},  {8 * 3600 - 1, "7h59m"},
               {8 * 3600, "8h"}, {47 * 3600, "47h"}, {2 * 86400, "2d"}, {400 * 86400, "400d"}};
  for (const auto& c : cases) EXPECT_EQ(age_text(1000000000, 1000000000 + c.seconds), c.want);
  EXPECT_EQ(age_text(1000000100, 1000000000), "0s") << "a time ahead of the clock";
  // A peer that never failed has no age after its "-".
  pb::BgpPeersResponse r;
  r.add_peers()->set_name("p");
  EXPECT_EQ(format_bgp_peers(r, kCannedNow).find("ago"), std::string::npos);
}

TEST(CtlGolden, FlowsBgpEventsDrain) {
  expect_golden("flows", format_flows(canned_flows()));
  EXPECT_EQ(format_flows(pb::FlowsResponse()), "No flows.\n");
  expect_golden("bgp", format_bgp_peers(canned_peers(), kCannedNow));
  expect_golden("bgp_routes", format_bgp_routes(canned_peers()));
  std::string events;
  for (const auto& e : canned_events()) events += format_event(e);
  expect_golden("events", events);

  pb::DrainRequest req;
  req.set_backend("198.51.100.21:8080");
  pb::DrainResponse resp;
  resp.set_generation(9);
  resp.add_affected("Service demo/web: 198.51.100.21:8080");
  expect_golden("drain_backend", format_drain(req, resp));
  req.set_node(true);
  req.set_undo(true);
  EXPECT_EQ(format_drain(req, pb::DrainResponse()),
            "node: drain ended (generation 0)\n  nothing affected\n");
}

TEST(CtlYaml, QuotesWhatWouldNotReadBackAsAString) {
  Json j = Json::parse(R"({"a": "true", "b": "123", "c": "yes", "d": "1.5", "e": "0x1f",
    "f": "plain", "g": 42, "h": true, "i": null, "j": [], "k": {}, "l": "~", "m": "a: b",
    "n": ["x", {"y": "off"}]})");
  EXPECT_EQ(json_to_yaml(j),
            "a: \"true\"\nb: \"123\"\nc: \"yes\"\nd: \"1.5\"\ne: \"0x1f\"\nf: plain\ng: 42\n"
            "h: true\ni: ~\nj: []\nk: {}\nl: \"~\"\nm: \"a: b\"\n"
            // keys too: go-yaml reads a bare n or y key as a bool
            "\"n\":\n  - x\n  - \"y\": \"off\"\n");
}

TEST(CtlFormat, BadJsonFromTheServerDoesNotThrow) {
  pb::Object o;
  o.mutable_ref()->set_kind("Service");
  o.mutable_ref()->set_namespace_("demo");
  o.mutable_ref()->set_name("broken");
  o.set_json("{not json");
  EXPECT_EQ(format_object_table(kind("Service"), {o}, true),
            "NAMESPACE   NAME     TYPE        EXTERNAL-IP   PORTS    SOURCE\n"
            "demo        broken   ClusterIP   <none>        <none>   <none>\n");
  EXPECT_NE(format_describe(o).find("Name:        broken"), std::string::npos);
  EXPECT_NE(format_objects_yaml({o}, false).find("{not json"), std::string::npos);
}

}  // namespace
}  // namespace porticoctl::testing
