// The running process's answers to the API: the Control of service.h over the runner's state.
//
// Thread: the control thread (every method is called from ControlQueue::drain()), but for
// flows(), which a gRPC thread runs (flows_off_control_thread(): it reads only the connection
// tables, the lcore ids and tsc_hz, all fixed until the API stops). The
// runner fills a LiveState with pointers to what it owns and the two actions only it can take
// (adopt a new ObjectSet: plan, publish, BGP, announcements; and withdraw or restore BGP routes
// for a node drain). Reads of the workers' connection tables happen here without locks: a
// record may change while it is copied, so each copy is checked before it is reported.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "control/api/service.h"
#include "control/api/store.h"
#include "control/bgp/announce.h"
#include "control/bgp/speaker.h"
#include "control/plan.h"
#include "control/services.h"
#include "control/traffic_stats.h"
#include "lcore/worker.h"
#include "nf/conn_table.h"

namespace control::api {

// Backends drained through the API: new flows avoid them (their endpoints are compiled as
// terminating), flows they have stay.
struct DrainSet {
  struct Backend {
    config::IpAddress address;
    uint16_t port = 0;  // 0 = every port
    auto operator<=>(const Backend&) const = default;
    std::string str() const;  // "ADDRESS", "ADDRESS:PORT" or "[IPv6]:PORT"
  };
  std::set<Backend> backends;
  bool node = false;  // BGP routes withdrawn, L2 answers kept

  bool drained(const config::IpAddress& a, uint16_t port) const;
  // Marks drained endpoints terminating; returns "Service ns/name: addr:port" per endpoint.
  std::vector<std::string> apply(ServicesResult* services) const;
};

// Drains survive a restart: they are kept in STATE_DIR/drains.json (not *.yaml, so the object
// loader never reads it), written atomically at each change:
//   {"node": false, "backends": ["198.51.100.5:8080", "198.51.100.6", "[2001:db8::5]:80"]}
std::string drains_json(const DrainSet& d);
// False with `error` on text that is not that shape (nothing of it is taken then).
bool parse_drains(const std::string& text, DrainSet* out, std::string* error);
std::string drains_path(const std::string& state_dir);
// Writes drains.json (removes it when nothing is drained). "" state_dir: nothing kept.
Result save_drains(const std::string& state_dir, const DrainSet& d);
// At start: the drains kept, or none (with a warning) if the file is unreadable.
DrainSet load_drains(const std::string& state_dir, std::vector<std::string>* warnings);

struct LiveState {
  Store* store = nullptr;
  EventLog* events = nullptr;
  DrainSet* drains = nullptr;
  const config::NodeConfig* node = nullptr;
  const Plan* plan = nullptr;
  const ServicesResult* services = nullptr;  // as last published
  const bgp::AnnouncePlan* bgp_plan = nullptr;
  const bgp::Speaker* speaker = nullptr;
  const uint64_t* generation = nullptr;
  uint64_t tsc_hz = 0;
  std::vector<unsigned> worker_lcores;
  std::vector<const lcore::WorkerContext*> workers;
  std::vector<nf::ConnTable*> conn_tables;
  const std::string* last_reload = nullptr;
  const uint64_t* last_reload_unix = nullptr;
  // Names of the published Snapshot's traffic counter slots (control/traffic_stats.h).
  const TrafficDirectory* traffic = nullptr;
  // Publishes `objects` (as a reload does). Throws std::exception on failure.
  std::function<void(config::ObjectSet objects)> adopt;
  // Re-applies the BGP routes (empty while the node is drained).
  std::function<void()> refresh_bgp;
};

// ListFlows' question: filters (unset: any) and the most flows to list.
struct FlowQuery {
  struct Filter {
    bool set = false;
    config::IpAddress address;
    uint16_t port = 0;  // 0 = any
    bool matches(const config::IpAddress& a, uint16_t p) const {
      return !set || (a == address && (port == 0 || port == p));
    }
  };
  Filter vip, backend, client;
  uint32_t limit = 100;
  uint64_t now = 0;     // TSC, for idle_ms
  uint64_t tsc_hz = 0;  // 0: idle_ms not filled
};

// What a scan cost (tests): slots looked at, and records copied (the live ones looked at).
struct FlowScanCost {
  uint64_t slots = 0;
  uint64_t copied = 0;
};

// Appends to resp the flows among one worker's records[0..n) that match q, while resp holds
// fewer than q.limit; returns false, with resp->truncated set, as soon as one more matches (the
// caller stops there: nothing after it is read). The worker may change a record while it is
// read: a free slot is skipped on its state byte alone, a live one is copied and the copy
// checked before it is reported.
bool scan_flows(const nf::Conn* records, uint32_t n, uint32_t lcore, const FlowQuery& q,
                pb::FlowsResponse* resp, FlowScanCost* cost = nullptr);

// The routes of a peer's Adj-RIB-Out as ListBgpPeers reports them: LOCAL_PREF on iBGP sessions
// only, where it is always sent (the configured localPref, else 100; control/bgp/rib_out.cc).
void add_routes(const std::vector<bgp::Route>& routes, bool ibgp, pb::BgpPeer* out);

// "rx", "tx", ..., "drop.<reason>" with the names of the stats log line.
std::vector<std::pair<std::string, uint64_t>> counter_values(const lcore::CounterTotals& t);

class LiveControl final : public Control {
 public:
  explicit LiveControl(LiveState state) : s_(std::move(state)) {}

  grpc::Status apply(const pb::ApplyRequest& req, pb::ApplyResponse* resp) override;
  grpc::Status remove(const pb::DeleteRequest& req, pb::DeleteResponse* resp) override;
  grpc::Status get(const pb::GetRequest& req, pb::Object* resp) override;
  grpc::Status list(const pb::ListRequest& req, pb::ListResponse* resp) override;
  grpc::Status stats(const pb::StatsRequest& req, pb::Stats* resp) override;
  grpc::Status flows(const pb::FlowsRequest& req, pb::FlowsResponse* resp) override;
  grpc::Status bgp_peers(const pb::BgpPeersRequest& req, pb::BgpPeersResponse* resp) override;
  grpc::Status drain(const pb::DrainRequest& req, pb::DrainResponse* resp) override;
  grpc::Status match(const pb::MatchRequest& req, pb::MatchResponse* resp) override;
  // flows() reads the connection tables, the lcore ids and tsc_hz: fixed until the API stops.
  bool flows_off_control_thread() const override { return true; }

  // Control thread, once per loop: BGP peer state changes become events.
  void poll_peer_states();

 private:
  void fill_object(const Entry& e, const nlohmann::ordered_json& statuses, pb::Object* out) const;
  grpc::Status commit_and_publish(Change& change);
  nlohmann::ordered_json statuses() const;

  LiveState s_;
  std::map<std::string, bgp::SessionState> peer_states_;
};

grpc::Status to_status(const Result& r);

}  // namespace control::api
