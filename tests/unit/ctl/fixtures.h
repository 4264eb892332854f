// Canned API answers for porticoctl's tests: the objects, stats, flows, BGP peers and events
// that the golden files print. Shared by the formatter tests and the fake server.
#pragma once

#include <string>
#include <vector>

#include "portico.pb.h"

namespace porticoctl::testing {

// Services demo/web, demo/dns and other/web (two "web"s: ambiguous without -n), pools, an
// L2Advertisement, a Gateway, HTTPRoutes, a GatewayClass and a BGPPeer.
std::vector<portico::v1::Object> canned_objects();
// The objects of `kind` (all namespaces), in canned order.
std::vector<portico::v1::Object> canned_of_kind(const std::string& kind);
// Two samples one second apart of lcore time (tsc_hz 1 GHz), for stats and top.
portico::v1::Stats canned_stats_before();
portico::v1::Stats canned_stats_after();
portico::v1::FlowsResponse canned_flows();
// The time the formatter tests print ages against (Unix seconds).
constexpr uint64_t kCannedNow = 1767323100;
// Peers whose state and error times are `now` less some minutes or hours (the fake server
// passes the real time, since porticoctl prints ages against its clock; the ages are whole
// minutes so that the golden output holds within a minute).
portico::v1::BgpPeersResponse canned_peers(uint64_t now = kCannedNow);
std::vector<portico::v1::Event> canned_events();

// Golden files: tests/unit/ctl/golden/NAME.txt. With PORTICO_UPDATE_GOLDEN=1 the file is
// (re)written from `actual` and the comparison passes; review the diff before committing.
std::string golden(const std::string& name);
void expect_golden(const std::string& name, const std::string& actual);

}  // namespace porticoctl::testing
