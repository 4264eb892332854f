// `portico match`: which listener, route, rule and backends an HTTP request would get from the
// configuration in files, or the answer Portico would give itself (404, 500, 503, redirects),
// as JSON in the shape DESIGN.md fixes. It asks the same compiled classifier the data plane
// uses (nf/route_classifier.h, compiled from control::gateway::compile's RouteModel) and the same
// head rewriter (nf/http_rewrite.h), so its answer is the data plane's.
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "config/objects.h"
#include "control/plan.h"

namespace control {

struct MatchQuery {
  std::string to;      // "ADDRESS:PORT"; IPv6 as "[ADDRESS]:PORT"
  std::string host;    // the Host header (may carry ":port")
  std::string path = "/";  // request-target: path and optional "?query"
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // --header N:V, in order
};

// Loads and validates `paths`, then answers the query on out (JSON). Returns 0 with an answer,
// 1 when the configuration has errors (printed as file:line: ... on err), 2 for a query that
// is not a valid request (message on err).
int match(const std::vector<std::string>& paths, const MatchQuery& query, std::ostream& out,
          std::ostream& err);

// The same from objects already loaded and planned (the running process's: the gRPC API).
int match(const config::ObjectSet& objects, const Plan& plan, const MatchQuery& query,
          std::ostream& out, std::ostream& err);

}  // namespace control
