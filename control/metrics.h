// Prometheus metrics: the exposition text and the HTTP endpoint that serves it.
//
// Two parts:
//   render()  pure: a plain Values struct -> text format 0.0.4 (HELP, TYPE, samples; label
//             values escaped). No I/O, no DPDK; golden-tested in tests/unit/metrics/.
//   Server    a small HTTP/1.1 server on its own thread (spec.api.metrics of the NodeConfig):
//             GET or HEAD /metrics -> 200 with the text a callback produces; any other path ->
//             404; other methods -> 405. One request per connection (Connection: close). The
//             thread multiplexes its clients with poll(): requests are bounded in size, every
//             client has a deadline, and the number of clients at once is bounded, so a slow or
//             malicious client costs a file descriptor for a few seconds and delays no one else.
// The workers and the control thread never wait for this thread: the callback reads per-worker
// counters with relaxed atomic loads and takes the control thread's values from a cache it
// refreshes (see control/runner.cc, MetricsCache).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lcore/worker.h"

namespace control::metrics {

// Counters of one worker lcore (a summed copy of its lcore::WorkerCounters).
struct LcoreValues {
  unsigned lcore = 0;  // EAL lcore id, the `lcore` label
  lcore::CounterTotals counters;
};

// rte_eth_stats of one uplink, labelled with its NodeConfig interface name.
struct PortValues {
  std::string interface;
  uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_errors = 0, tx_errors = 0, rx_missed = 0, rx_nombuf = 0;
};

struct BgpPeerValues {
  std::string peer;     // BGPPeer name
  std::string address;  // peer address
  std::string state;    // one of kBgpStates
  uint64_t established_transitions = 0;
  uint64_t updates_sent = 0, updates_received = 0;
  uint64_t prefixes_advertised = 0;  // gauge: in the Adj-RIB-Out now
  uint64_t prefixes_received = 0;    // counter: decoded and discarded
  uint64_t notifications_sent = 0, notifications_received = 0;
};

// The BGP FSM states as the `state` label spells them (control/bgp state_name()).
inline constexpr const char* kBgpStates[] = {"Idle",     "Connect",     "Active",
                                             "OpenSent", "OpenConfirm", "Established"};

// Traffic of one VIP, service port or backend (control/traffic_stats.h), both directions.
struct TrafficValues {
  uint64_t packets_in = 0, bytes_in = 0;    // client -> backend
  uint64_t packets_out = 0, bytes_out = 0;  // backend -> client
  uint64_t connections = 0;
};

struct VipValues {
  std::string vip;
  TrafficValues traffic;
};

struct ServiceValues {
  std::string service, vip, protocol;
  uint16_t port = 0;
  TrafficValues traffic;
};

struct BackendValues {
  std::string service, vip;  // vip "" for an L7 backend pool
  uint16_t port = 0;
  std::string backend;
  bool draining = false;
  TrafficValues traffic;
};

// One watched kind of the Kubernetes sync (control/k8s/cluster_cache.h).
struct K8sKindValues {
  std::string kind;
  std::string state;  // "listing", "watching", "backoff", "not-installed", "stopped"
  bool synced = false;
  uint64_t relists = 0, watch_restarts = 0, errors = 0;
};
inline constexpr const char* kK8sStates[] = {"listing", "watching", "backoff", "not-installed",
                                             "stopped"};

struct K8sValues {
  bool enabled = false;  // NodeConfig spec.kubernetes.kubeconfig set
  std::vector<K8sKindValues> kinds;
  bool leading = false;  // this node holds the status writer's Lease
  uint64_t leader_transitions = 0;
  uint64_t status_written = 0, status_errors = 0;
  uint64_t objects_rejected = 0;  // cluster objects left out (all syncs so far)
  double last_sync_timestamp_seconds = 0;
};

struct Values {
  std::string version;
  uint64_t tsc_hz = 0;  // converts the lcores' TSC cycles to seconds; 0 = no seconds metrics
  std::vector<LcoreValues> lcores;
  std::vector<PortValues> ports;
  std::vector<BgpPeerValues> bgp_peers;
  uint64_t generation = 0;
  bool last_reload_success = true;
  double last_reload_timestamp_seconds = 0;  // Unix time of the last load (start-up or reload)
  uint64_t announce_failures = 0;
  // Per VIP / service port / backend traffic; their families appear once something is
  // configured (portico_vip_*{vip}, portico_service_*{service,vip,protocol,port},
  // portico_backend_*{service,vip,port,backend}; packets and bytes by direction="in"|"out").
  std::vector<VipValues> vips;
  std::vector<ServiceValues> services;
  std::vector<BackendValues> backends;
  K8sValues k8s;
};

// The exposition text (text/plain; version=0.0.4), families in a fixed order.
std::string render(const Values& v);

// A label value as the exposition format writes it between quotes: \ " and newline escaped.
std::string escape_label_value(std::string_view s);

// This build's version (the `version` label of portico_info).
const char* build_version();

// "host:port", "[v6]:port" or ":port" (all addresses) -> address and port, numeric hosts and
// "localhost" only. Returns an error message, empty when `text` is valid.
struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6, "" = any
  uint16_t port = 0;
};
std::string parse_listen_address(std::string_view text, ListenAddress* out);

class Server {
 public:
  // Produces the body of a 200 answer; runs on the server's thread.
  using Collect = std::function<std::string()>;

  struct Limits {
    size_t max_request_bytes = 8192;  // request head; larger gets 431 and the connection closed
    int client_timeout_ms = 5000;     // from accept to the last byte of the answer
    size_t max_clients = 32;          // at once; more wait in the listen backlog
  };

  Server(Collect collect, Limits limits);
  explicit Server(Collect collect) : Server(std::move(collect), Limits{}) {}
  ~Server();  // stops the thread
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds `address` (see parse_listen_address) and starts the thread. Returns an error
  // message (bad address, bind failure...), empty on success. Port 0 picks a free port.
  std::string start(std::string_view address);
  // The bound port (after a successful start).
  uint16_t port() const { return port_; }
  void stop();

  // Requests answered since start (any status), for tests and logs.
  uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

 private:
  void serve();

  Collect collect_;
  Limits limits_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the poll()
  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

// The answer to one request head (pure, for tests): status line, headers and body. `collect`
// is called only for a GET or HEAD of /metrics. `head` is the bytes up to the blank line.
std::string answer(std::string_view head, const Server::Collect& collect);

}  // namespace control::metrics
