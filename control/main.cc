// portico: command-line entry point (run | check | match). The command line is a contract (DESIGN.md).
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "control/match.h"
#include "control/runner.h"
#include "control/status.h"

namespace {

constexpr const char* kUsage = R"(portico: Kubernetes LoadBalancer and Gateway data plane on DPDK

Usage:
  portico run   --config PATH [--config PATH ...]
  portico check --config PATH [--config PATH ...] [-o text|json]
  portico match --config PATH [--config PATH ...] --to ADDRESS:PORT --host HOST --path PATH
                [--method METHOD] [--header NAME:VALUE ...]
  portico --help | --version

Commands:
  run     Start the data plane on the NodeConfig's DPDK ports. Assigns addresses to
          LoadBalancer Services from IPAddressPools (MetalLB semantics), answers ARP, NDP
          and ping for them on the interfaces L2Advertisements select, balances their TCP
          and UDP ports over the Services' EndpointSlices (Maglev; nat, dsr or ipip per the
          portico.io/forwarding-mode annotation), and hands traffic for the node's own
          addresses to the kernel tap. With BGPPeers and BGPAdvertisements it runs BGP
          sessions over the tap and announces the addresses that have usable endpoints.
          Signals: SIGHUP reloads the files (a bad file changes nothing), SIGUSR1 logs
          counters (event=stats) and BGP sessions (event=bgp_peer), SIGINT/SIGTERM withdraw
          the BGP routes, stop and log a summary (event=summary).
          gRPC API (proto/portico/v1/portico.proto, porticoctl) on spec.api.grpc (default
          unix:///run/portico/api.sock, mode 0600; "" = none; TCP only with spec.api.tls and
          client certificates): objects applied through it are validated with the files and
          kept in spec.api.stateDir (default /var/lib/portico/api); objects a file defines
          cannot be changed through it, and a file's copy wins at the next reload.
          Kubernetes sync with spec.kubernetes.kubeconfig (a path, or "in-cluster"): the
          cluster's Services, EndpointSlices, MetalLB and Gateway API objects join the files'
          (files and the API win; a rejected object is left out), and the node holding the
          Lease spec.kubernetes.leaderElection writes their status back (docs/kubernetes.md).
  check   Load, validate and compile without touching DPDK; print each object's computed
          status (Service status.loadBalancer.ingress and metallb.io/ip-allocated-from-pool,
          events such as NoEndpoints, IPAddressPool counters). Errors are printed as file:line: Kind/ns/name: message;
          exit status 1 when there are any. Gateway API objects get their status too
          (GatewayClass Accepted; Gateway addresses, conditions and listeners; HTTPRoute
          parents), and with BGPPeers a BGP section: the sessions this node runs, each route
          and its peers, and why an address is not announced.
  match   Which Gateway listener, HTTPRoute rule and backends an HTTP request to ADDRESS:PORT
          would get, the request as forwarded (filters applied), or the response Portico would
          send itself (404, 500, 503, redirects), as JSON: {"listener", "route", "rule",
          "backends", "request", "response"}. Same classifier as the data plane. IPv6:
          --to [2001:db8::1]:80. Exit 1 for configuration errors, 2 for a bad query.

Options:
  --config PATH   a YAML file (several documents allowed) or a directory of *.yaml/*.yml;
                  repeatable. `run` needs exactly one NodeConfig among them.
  -o FORMAT       check output: text (default) or json.
  --to, --host, --path, --method, --header
                  match: the request (path may carry ?query; method defaults to GET; --header
                  repeats).

Documentation: README.md and docs/ (configuration.md lists every field).
)";

int usage_error(const std::string& msg) {
  std::cerr << "portico: " << msg << "\n\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ ctl %v");
  if (argc < 2) return usage_error("missing command");
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "portico " << PORTICO_VERSION << "\n";
    return 0;
  }
  if (cmd != "run" && cmd != "check" && cmd != "match") {
    return usage_error("unknown command \"" + cmd + "\"");
  }

  std::vector<std::string> paths;
  control::OutputFormat format = control::OutputFormat::kText;
  control::MatchQuery query;
  bool have_to = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--config" || a == "-c") {
      const char* v = value("--config");
      if (v == nullptr) return usage_error("--config needs a path");
      paths.emplace_back(v);
    } else if (a.rfind("--config=", 0) == 0) {
      paths.push_back(a.substr(std::strlen("--config=")));
    } else if ((a == "-o" || a == "--output") && cmd == "check") {
      const char* v = value("-o");
      if (v == nullptr) return usage_error("-o needs text or json");
      if (std::strcmp(v, "json") == 0) {
        format = control::OutputFormat::kJson;
      } else if (std::strcmp(v, "text") == 0) {
        format = control::OutputFormat::kText;
      } else {
        return usage_error(std::string("unknown output format \"") + v + "\"");
      }
    } else if (cmd == "match" && (a == "--to" || a == "--host" || a == "--path" ||
                                  a == "--method" || a == "--header")) {
      const char* v = value(a.c_str());
      if (v == nullptr) return usage_error(a + " needs a value");
      if (a == "--to") {
        query.to = v;
        have_to = true;
      } else if (a == "--host") {
        query.host = v;
      } else if (a == "--path") {
        query.path = v;
      } else if (a == "--method") {
        query.method = v;
      } else {
        const std::string h = v;
        const size_t colon = h.find(':');
        if (colon == std::string::npos || colon == 0) {
          return usage_error("--header needs NAME:VALUE, got \"" + h + "\"");
        }
        size_t start = colon + 1;
        while (start < h.size() && h[start] == ' ') ++start;
        query.headers.emplace_back(h.substr(0, colon), h.substr(start));
      }
    } else {
      return usage_error("unknown argument \"" + a + "\"");
    }
  }
  if (paths.empty()) return usage_error(cmd + " needs at least one --config PATH");

  if (cmd == "check") return control::check(paths, format, std::cout, std::cerr);
  if (cmd == "match") {
    if (!have_to) return usage_error("match needs --to ADDRESS:PORT");
    if (query.host.empty()) return usage_error("match needs --host HOST");
    return control::match(paths, query, std::cout, std::cerr);
  }
  return control::run(paths);
}
