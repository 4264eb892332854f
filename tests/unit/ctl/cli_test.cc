// porticoctl end to end: the real command code (run(), what main() calls) against the fake API
// on a Unix socket; stdout and stderr captured and compared with the golden files the formatter
// tests use, the requests the server received checked, and the exit codes: 0 ok, 1 refused,
// 2 usage, 3 unreachable.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "control/porticoctl/commands.h"
#include "control/porticoctl/format.h"
#include "tests/unit/ctl/fake_server.h"
#include "tests/unit/ctl/fixtures.h"

namespace porticoctl::testing {
namespace {

namespace pb = portico::v1;
namespace fs = std::filesystem;

struct Result {
  int rc;
  std::string out, err;
};

Result ctl(const std::vector<std::string>& args, const std::string& stdin_text = "",
           const std::map<std::string, std::string>& env = {}) {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  double clock = 100.0;
  Io io{in, out, err,
        [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
        },
        [&clock](double seconds) { clock += seconds; },  // no real sleeping in tests
        [&clock] { return clock; }};
  int rc = run(args, io);
  return {rc, out.str(), err.str()};
}

class CtlEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.objects = canned_objects();
    dir_ = server_.socket_path();
    dir_ = dir_.substr(0, dir_.rfind('/'));
  }
  // Runs porticoctl against the fake server.
  Result run_ctl(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--api", server_.address()});
    return ctl(args, stdin_text);
  }
  std::string write(const std::string& name, const std::string& text) {
    fs::path p = fs::path(dir_) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  FakePortico server_;
  std::string dir_;
};

TEST_F(CtlEndToEnd, GetListsEveryNamespaceByDefault) {
  Result r = run_ctl({"get", "svc"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("get_services"));
  EXPECT_EQ(r.err, "");
  auto rec = server_.recorded();
  ASSERT_EQ(rec.list.size(), 1u);
  EXPECT_EQ(rec.list[0].kind(), "Service");
  EXPECT_EQ(rec.list[0].namespace_(), "");
  // -A says the same explicitly; plural and upper case are the same kind.
  EXPECT_EQ(run_ctl({"get", "Services", "-A"}).out, golden("get_services"));
}

TEST_F(CtlEndToEnd, GetOneNamespace) {
  Result r = run_ctl({"get", "services", "-n", "demo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("get_services_demo"));
  EXPECT_EQ(server_.recorded().list.back().namespace_(), "demo");
  r = run_ctl({"get", "svc", "-nnowhere"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "No resources found in nowhere namespace.\n");
}

TEST_F(CtlEndToEnd, GetByNameFindsTheNamespace) {
  Result r = run_ctl({"get", "pool", "reserved"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "NAME       ADDRESSES          AUTO-ASSIGN   SOURCE\n"
            "reserved   203.0.113.200/29   false         api\n");
  auto rec = server_.recorded();
  ASSERT_EQ(rec.get.size(), 1u);
  EXPECT_EQ(rec.get[0].ref().kind(), "IPAddressPool");
  EXPECT_EQ(rec.get[0].ref().namespace_(), "metallb-system");
  EXPECT_EQ(rec.get[0].ref().name(), "reserved");
}

TEST_F(CtlEndToEnd, GetByNameInTwoNamespacesIsAmbiguous) {
  Result r = run_ctl({"get", "svc", "web"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err,
            "error: Service \"web\" exists in several namespaces (demo, other): say which with "
            "-n\n");
  EXPECT_TRUE(server_.recorded().get.empty());
  r = run_ctl({"get", "svc", "web", "-n", "other"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("ClusterIP   <none>        8080/TCP"), std::string::npos) << r.out;
}

TEST_F(CtlEndToEnd, GetUnknownNameIsTheServersNotFound) {
  Result r = run_ctl({"get", "gw", "nope"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "Error from server (NOT_FOUND): Gateway default/nope not found\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CtlEndToEnd, GetOutputs) {
  Result r = run_ctl({"get", "ipaddresspools", "-o", "yaml"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("get_pools_yaml"));
  r = run_ctl({"get", "pools", "-ojson"});
  EXPECT_EQ(r.out, golden("get_pools_json"));
  r = run_ctl({"get", "svc", "web", "-n", "demo", "--output=yaml"});
  EXPECT_EQ(r.out, golden("get_service_yaml"));
  r = run_ctl({"get", "svc", "web", "-n", "demo", "-o", "json"});
  EXPECT_EQ(r.out, canned_objects()[0].json() + "\n");
  r = run_ctl({"get", "httproutes"});
  EXPECT_EQ(r.out, golden("get_httproutes"));
  r = run_ctl({"get", "gc"});
  EXPECT_EQ(r.out, golden("get_gatewayclasses"));
}

TEST_F(CtlEndToEnd, Describe) {
  Result r = run_ctl({"describe", "svc", "web", "-n", "demo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("describe_service"));
  r = run_ctl({"describe", "gateway", "edge"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("describe_gateway"));
}

TEST_F(CtlEndToEnd, ApplySendsEveryFileInOneRequest) {
  std::string a = write("in/a.yaml", "kind: Service\nmetadata: {name: a}\n");
  write("in/b.json", R"({"kind": "Service", "metadata": {"name": "b"}})");
  write("in/notes.txt", "not config");
  std::string c = write("c.yml", "kind: Namespace\nmetadata: {name: c}");
  auto* ref = server_.apply_response.add_created();
  ref->set_kind("Service");
  ref->set_namespace_("default");
  ref->set_name("a");
  server_.apply_response.add_warnings("something to know");

  Result r = run_ctl({"apply", "-f", dir_ + "/in", "-f", c, "--dry-run"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Service/default/a created (dry run)\n");
  EXPECT_EQ(r.err, "Warning: something to know\n");
  auto rec = server_.recorded();
  ASSERT_EQ(rec.apply.size(), 1u);
  EXPECT_TRUE(rec.apply[0].dry_run());
  EXPECT_EQ(rec.apply[0].documents(),
            "kind: Service\nmetadata: {name: a}\n---\n"
            R"({"kind": "Service", "metadata": {"name": "b"}})"
            "\n---\nkind: Namespace\nmetadata: {name: c}");
  (void)a;
}

TEST_F(CtlEndToEnd, ApplyFromStdin) {
  Result r = run_ctl({"apply", "-f", "-"}, "kind: Service\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  auto rec = server_.recorded();
  ASSERT_EQ(rec.apply.size(), 1u);
  EXPECT_EQ(rec.apply[0].documents(), "kind: Service\n");
  EXPECT_FALSE(rec.apply[0].dry_run());
}

TEST_F(CtlEndToEnd, ApplyRefusedIsExitOne) {
  server_.refuse["Apply"] =
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   "IPAddressPool metallb-system/x: spec.addresses[0]: \"nope\" is not a range");
  Result r = run_ctl({"apply", "-f", "-"}, "kind: IPAddressPool\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error from server (INVALID_ARGUMENT): IPAddressPool metallb-system/x: "
            "spec.addresses[0]: \"nope\" is not a range\n");
}

TEST_F(CtlEndToEnd, ApplyBadInputIsUsage) {
  Result r = run_ctl({"apply", "-f", dir_ + "/missing.yaml"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("missing.yaml: no such file"), std::string::npos) << r.err;
  r = run_ctl({"apply", "-f", "-"}, "  \n");
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: nothing to apply: the input is empty\n");
  r = run_ctl({"apply"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(server_.recorded().apply.empty());
}

TEST_F(CtlEndToEnd, DeleteByName) {
  Result r = run_ctl({"delete", "pool", "demo-pool"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "IPAddressPool/metallb-system/demo-pool deleted\n");
  auto rec = server_.recorded();
  ASSERT_EQ(rec.del.size(), 1u);
  EXPECT_EQ(rec.del[0].ref().namespace_(), "metallb-system");
  r = run_ctl({"delete", "gc", "portico"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "GatewayClass/portico deleted\n");
}

TEST_F(CtlEndToEnd, DeleteFromFileGoesOnAfterARefusal) {
  std::string f = write("del.yaml",
                        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\n"
                        "---\nkind: Service\nmetadata: {name: ghost}\n---\n"
                        "kind: GatewayClass\nmetadata: {name: portico}\n");
  Result r = run_ctl({"delete", "-f", f});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "Service/demo/web deleted\nGatewayClass/portico deleted\n");
  EXPECT_EQ(r.err, "Error from server (NOT_FOUND): Service default/ghost not found\n");
  EXPECT_EQ(server_.recorded().del.size(), 3u);

  std::string bad = write("bad.yaml", "kind: [unclosed\n");
  r = run_ctl({"delete", "-f", bad});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("bad.yaml:"), std::string::npos) << r.err;
  EXPECT_EQ(server_.recorded().del.size(), 3u);
}

TEST_F(CtlEndToEnd, StatsAndTop) {
  server_.stats = {canned_stats_before(), canned_stats_after()};
  Result r = run_ctl({"stats"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, format_stats(canned_stats_before()));

  // top: a first sample, then one frame per iteration against the previous sample.
  server_.stats = {canned_stats_before(), canned_stats_after()};
  FakePortico fresh;
  fresh.stats = {canned_stats_before(), canned_stats_after()};
  r = ctl({"--api", fresh.address(), "top", "--iterations", "1", "--interval", "0.5"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "\x1b[H\x1b[2J" + golden("top"));
  r = ctl({"--api", fresh.address(), "top", "--iterations", "2"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\x1b'), 4);  // two frames, two escapes each
  EXPECT_EQ(run_ctl({"top", "--iterations", "0"}).rc, 2);
  EXPECT_EQ(run_ctl({"top", "--interval", "-1"}).rc, 2);

  r = run_ctl({"stats", "-o", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\"tscHz\": \"1000000000\""), std::string::npos) << r.out;
}

TEST_F(CtlEndToEnd, FlowsPassesTheFilters) {
  server_.flows = canned_flows();
  Result r = run_ctl({"flows", "--vip", "203.0.113.11:80", "--backend", "198.51.100.21",
                      "--client", "192.0.2.77", "--limit", "5"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("flows"));
  auto rec = server_.recorded();
  ASSERT_EQ(rec.flows.size(), 1u);
  EXPECT_EQ(rec.flows[0].vip(), "203.0.113.11:80");
  EXPECT_EQ(rec.flows[0].backend(), "198.51.100.21");
  EXPECT_EQ(rec.flows[0].client(), "192.0.2.77");
  EXPECT_EQ(rec.flows[0].limit(), 5u);
  EXPECT_EQ(run_ctl({"flows", "--limit", "10001"}).rc, 2);
  EXPECT_EQ(run_ctl({"flows", "--limit", "x"}).rc, 2);
}

TEST_F(CtlEndToEnd, Bgp) {
  server_.peers = canned_peers(static_cast<uint64_t>(std::time(nullptr)));
  EXPECT_EQ(run_ctl({"bgp"}).out, golden("bgp"));
  EXPECT_EQ(run_ctl({"bgp", "routes"}).out, golden("bgp_routes"));
  EXPECT_EQ(run_ctl({"bgp", "-o", "wide"}).out, golden("bgp") + "\n" + golden("bgp_routes"));
  EXPECT_EQ(run_ctl({"bgp", "sessions"}).rc, 2);
}

TEST_F(CtlEndToEnd, Match) {
  server_.match_response.set_json(R"({"route": "HTTPRoute/demo/www", "backend": "demo/web:80"})");
  Result r = run_ctl({"match", "--to", "203.0.113.202:80", "--host", "www.example.com", "--path",
                      "/a", "--method", "POST", "--header", "X-Env: prod", "--header", "A: b"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, server_.match_response.json() + "\n");
  auto rec = server_.recorded();
  ASSERT_EQ(rec.match.size(), 1u);
  EXPECT_EQ(rec.match[0].to(), "203.0.113.202:80");
  EXPECT_EQ(rec.match[0].host(), "www.example.com");
  EXPECT_EQ(rec.match[0].path(), "/a");
  EXPECT_EQ(rec.match[0].method(), "POST");
  ASSERT_EQ(rec.match[0].headers_size(), 2);
  EXPECT_EQ(rec.match[0].headers(0), "X-Env: prod");
  EXPECT_EQ(run_ctl({"match", "--host", "x"}).rc, 2);
  EXPECT_EQ(run_ctl({"match", "--to", "1.2.3.4:80", "--header", "nocolon"}).rc, 2);
}

TEST_F(CtlEndToEnd, Drain) {
  server_.drain_response.set_generation(9);
  server_.drain_response.add_affected("Service demo/web: 198.51.100.21:8080");
  Result r = run_ctl({"drain", "backend", "198.51.100.21:8080"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("drain_backend"));
  r = run_ctl({"drain", "node", "--undo"});
  EXPECT_EQ(r.rc, 0) << r.err;
  auto rec = server_.recorded();
  ASSERT_EQ(rec.drain.size(), 2u);
  EXPECT_EQ(rec.drain[0].backend(), "198.51.100.21:8080");
  EXPECT_FALSE(rec.drain[0].undo());
  EXPECT_TRUE(rec.drain[1].node());
  EXPECT_TRUE(rec.drain[1].undo());
  EXPECT_EQ(run_ctl({"drain", "backend"}).rc, 2);
  EXPECT_EQ(run_ctl({"drain", "cluster"}).rc, 2);
}

TEST_F(CtlEndToEnd, EventsStopAtCountOrTimeout) {
  server_.events = canned_events();
  server_.hold_event_stream = true;
  Result r = run_ctl({"events", "--replay", "--count", "2"});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::string expected = golden("events");
  EXPECT_EQ(r.out, expected.substr(0, expected.find('\n', expected.find('\n') + 1) + 1));
  EXPECT_TRUE(server_.recorded().watch.at(0).replay());

  r = run_ctl({"events", "--timeout", "0.3"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_FALSE(server_.recorded().watch.at(1).replay());

  // The server ending the stream ends the command too.
  server_.hold_event_stream = false;
  r = run_ctl({"events"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

TEST_F(CtlEndToEnd, AddressFromTheEnvironment) {
  server_.flows = canned_flows();
  Result r = ctl({"flows"}, "", {{"PORTICO_API", server_.address()}});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, golden("flows"));
  // unix:/path works as well as unix:///path.
  r = ctl({"--api", "unix:" + server_.socket_path(), "flows"});
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST(CtlExitCodes, UnreachableSocketIsThree) {
  char tmpl[] = "/tmp/porticoctl-none.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string api = std::string("unix://") + tmpl + "/api.sock";
  Result r = ctl({"--api", api, "get", "svc"});
  EXPECT_EQ(r.rc, 3);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("cannot reach the Portico API at " + api), std::string::npos) << r.err;
  r = ctl({"events", "--count", "1"}, "", {{"PORTICO_API", api}});
  EXPECT_EQ(r.rc, 3);
  fs::remove_all(tmpl);
}

TEST(CtlExitCodes, UsageErrorsAreTwoOnStderr) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"--bogus", "get"},
           {"get"},
           {"get", "widgets"},
           {"get", "svc", "-n", "a", "-A"},
           {"get", "svc", "-o", "xml"},
           {"get", "svc", "-n"},
           {"get", "gc", "portico", "-n", "x"},
           {"describe", "svc"},
           {"delete", "svc", "web", "-f", "x.yaml"},
           {"stats", "extra"},
           {"drain", "--undo=yes", "node"},
           {"events", "--count", "0"},
           {"--api", "tcp://127.0.0.1:1", "stats"},
           {"--api", "127.0.0.1", "stats"},
           {"--api", "unix:relative.sock", "stats"},
           {"--api", "unix:///x.sock", "--tls-ca", "ca.pem", "stats"},
           {"--api", "[::1]:50051", "--tls-ca", "ca.pem", "--tls-cert", "c.pem", "stats"},
       }) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    Result r = ctl(args);
    EXPECT_EQ(r.rc, 2) << joined << "\n" << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_NE(r.err.find("error: "), std::string::npos) << joined << "\n" << r.err;
  }
  Result r = ctl({"--api", "192.0.2.1:50051", "stats"});
  EXPECT_NE(r.err.find("accepts TCP only with TLS"), std::string::npos) << r.err;
}

TEST(CtlExitCodes, TlsEnvironmentAppliesToTcpOnly) {
  // The env's TLS files are ignored for a Unix socket; for TCP an unreadable one is reported.
  Result r = ctl({"--api", "tcp://[::1]:1", "stats"}, "",
                 {{"PORTICO_TLS_CA", "/nonexistent/ca.pem"}});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "error: cannot read the TLS CA file /nonexistent/ca.pem\n");
  r = ctl({"--api", "unix:///nonexistent/api.sock", "stats"}, "",
          {{"PORTICO_TLS_CA", "/nonexistent/ca.pem"}});
  EXPECT_EQ(r.rc, 3) << r.err;
}

TEST(CtlAddress, FlagThenEnvironmentThenDefault) {
  std::string error;
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto env = [](const std::string& n) -> std::optional<std::string> {
    if (n == "PORTICO_API") return "unix:/env.sock";
    return std::nullopt;
  };
  EXPECT_EQ(resolve_api(std::nullopt, {}, none, &error)->target, "unix:/run/portico/api.sock");
  EXPECT_EQ(resolve_api(std::nullopt, {}, env, &error)->target, "unix:/env.sock");
  EXPECT_EQ(resolve_api("unix:///flag.sock", {}, env, &error)->target, "unix:/flag.sock");
  auto tcp = resolve_api("tcp://node-1:50051", {"ca.pem", "", ""}, none, &error);
  ASSERT_TRUE(tcp) << error;
  EXPECT_TRUE(tcp->tcp);
  EXPECT_EQ(tcp->target, "node-1:50051");
  EXPECT_EQ(resolve_api("[2001:db8::1]:443", {"ca.pem", "", ""}, none, &error)->target,
            "[2001:db8::1]:443");
  EXPECT_FALSE(resolve_api("2001:db8::1:443", {"ca.pem", "", ""}, none, &error));
  EXPECT_FALSE(resolve_api("host:0", {"ca.pem", "", ""}, none, &error));
  EXPECT_FALSE(resolve_api("host:65536", {"ca.pem", "", ""}, none, &error));
}

TEST(CtlHelp, TopLevelAndEveryCommand) {
  Result r = ctl({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Exit codes: 0 ok; 1 the server refused"), std::string::npos);
  for (const char* cmd : {"apply", "delete", "get", "describe", "stats", "top", "flows", "bgp",
                          "match", "drain", "events"}) {
    EXPECT_NE(r.out.find(std::string("  ") + cmd + " "), std::string::npos) << cmd;
    Result h = ctl({cmd, "--help"});
    EXPECT_EQ(h.rc, 0) << cmd;
    EXPECT_EQ(h.out.rfind(std::string("Usage: porticoctl ") + cmd, 0), 0u) << h.out;
    EXPECT_NE(h.out.find("Exit codes"), std::string::npos) << cmd;
    EXPECT_EQ(ctl({"help", cmd}).out, h.out);
  }
  EXPECT_EQ(ctl({"-h"}).out, r.out);
}

}  // namespace
}  // namespace porticoctl::testing
