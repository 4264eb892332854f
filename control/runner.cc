// `portico run`: the control thread from start-up to shutdown.
//
// Thread: the main lcore. It owns the loaded objects, the IPAM state, the Snapshot publisher,
// the announcement schedule and the ports; workers (lcore/worker.cc) only read the Snapshot and
// their own queues. Sequence:
//   load + validate + plan (nothing touches DPDK until the configuration is known to be good)
//   -> EAL -> mempools -> uplink ports -> exception taps (kernel addresses, routes)
//   -> first Snapshot -> launch workers -> announce -> event=ready
//   -> BGP sessions (control/bgp: kernel sockets on the tap, driven from this loop)
//   -> loop: signals (HUP reload, USR1 stats, INT/TERM stop), announcement bursts, BGP I/O
//   -> BGP withdraw and close (bounded) -> stop workers -> summary -> close ports.
// A reload that fails validation changes nothing: the running Snapshot stays.
#include "control/runner.h"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <spdlog/spdlog.h>

#include "config/loader.h"
#include "control/api/control.h"
#include "control/api/server.h"
#include "control/api/service.h"
#include "control/api/store.h"
#include "control/announcer.h"
#include "control/bgp/announce.h"
#include "control/bgp/speaker.h"
#include "control/k8s/sync.h"
#include "control/status.h"
#include "control/eal_args.h"
#include "control/kernel_iface.h"
#include "control/metrics.h"
#include "control/neighbors.h"
#include "control/plan.h"
#include "control/services.h"
#include "control/snapshot_builder.h"
#include "control/traffic_stats.h"
#include "lcore/port.h"
#include "lcore/worker.h"

namespace control {

namespace {

constexpr unsigned kControlRingSize = 1024;
// Frames other workers pass to a worker (full-NAT and L7 replies on its SNAT ports): enough for
// a scheduler quantum of a busy flow when workers share a CPU (8192 pointers, 64 KiB).
constexpr unsigned kHandoffRingSize = 8192;
constexpr unsigned kControlMbufs = 1023;
constexpr uint16_t kDescriptorsPerQueue = 1024;  // lcore/port.cc rx + tx, upper bound
// HTTP head buffers per worker (nf/l7.h): connections reading or replaying a request head at
// once. 256 x 36 KiB = 9 MiB per worker.
constexpr uint32_t kL7HeadBuffers = 256;
// BGP: the control loop's wait for sockets and signals, and how long SIGTERM waits for the
// sessions to withdraw their routes (or hand over to graceful restart) and close.
constexpr int kLoopTickMs = 20;
constexpr std::chrono::milliseconds kBgpShutdownDeadline{3000};

uint64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// "rx=.. tx=.. punted=.. ..." in a fixed order (tests and scripts read it).
std::string format_counters(const lcore::CounterTotals& t) {
  static constexpr const char* kReplyNames[] = {"arp",       "nd",        "echo",
                                                "echo6",     "tcp_reset", "syn_ack",
                                                "l7_segment"};
  static constexpr const char* kForwardNames[] = {
      "to_backend",      "to_backend_ipip", "to_backend_ip6ip6", "to_client",
      "icmp_to_backend", "icmp_to_client",  "reset_to_client", "l7_to_backend"};
  static_assert(std::size(kReplyNames) == lcore::kReplyKinds);
  static_assert(std::size(kForwardNames) == lcore::kForwardKinds);
  std::ostringstream out;
  out << "rx=" << t.rx << " tx=" << t.tx << " punted=" << t.punted
      << " from_kernel=" << t.from_kernel << " announced=" << t.announced
      << " dropped=" << t.dropped_total();
  for (int i = 0; i < lcore::kReplyKinds; ++i)
    out << " reply." << kReplyNames[i] << '=' << t.replies[i];
  for (int i = 0; i < lcore::kForwardKinds; ++i)
    out << " fwd." << kForwardNames[i] << '=' << t.forwarded[i];
  out << " flows.new=" << t.new_flows << " flows.stateless=" << t.stateless_flows
      << " flows.backend_gone=" << t.backend_gone << " flows.expired=" << t.expired
      << " conns=" << t.conns << " handoff.out=" << t.handoffs_out
      << " handoff.in=" << t.handoffs_in << " neighbor.held=" << t.held
      << " neighbor.released=" << t.released << " l7.consumed=" << t.consumed << " cycles.busy=" << t.busy_cycles
      << " cycles.driver=" << t.driver_cycles << " cycles.idle=" << t.idle_cycles;
  static constexpr const char* kL7Names[] = {
#define PORTICO_L7_NAME(name, text) text,
      PORTICO_L7_COUNTERS(PORTICO_L7_NAME)
#undef PORTICO_L7_NAME
  };
  for (int i = 0; i < lcore::kL7Counters; ++i) out << " l7." << kL7Names[i] << '=' << t.l7[i];
  for (int i = 0; i < nf::kDropReasonCount; ++i) {
    out << " drop." << nf::drop_reason_name(static_cast<nf::DropReason>(i)) << '=' << t.dropped[i];
  }
  return out.str();
}

// Logs what changed: IPAM's events (IPAllocated, ClearAssignment, AllocationFailed...) only
// appear for new or changed assignments, so a reload that changes nothing logs nothing here.
void log_plan(const config::ObjectSet& objects, const Plan& plan) {
  for (const auto& svc : objects.services) {
    const auto key = ipam::service_key(svc);
    auto it = plan.ipam.services.find(key);
    if (it == plan.ipam.services.end()) continue;
    const auto& r = it->second;
    for (const auto& e : r.events) {
      const auto level = e.type == "Warning" ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "event=service_{} service={} message=\"{}\"", e.reason, key, e.message);
    }
  }
  for (const auto& gw : objects.gateways) {
    const auto key = gateway::gateway_key(gw);
    auto it = plan.ipam.services.find(key);
    if (it == plan.ipam.services.end()) continue;
    for (const auto& e : it->second.events) {
      const auto level = e.type == "Warning" ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "event=gateway_{} gateway={}/{} message=\"{}\"", e.reason,
                  gw.meta.namespace_, gw.meta.name, e.message);
    }
  }
  for (const auto& [key, events] : plan.l2_events) {
    for (const auto& e : events)
      spdlog::warn("event=l2_{} service={} message=\"{}\"", e.reason, key, e.message);
  }
}

void log_l4(const ServicesResult& services, const L4BuildResult& built) {
  for (const auto& [key, events] : services.events) {
    for (const auto& e : events) {
      const auto level = e.type == "Warning" ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "event=l4_{} service={} message=\"{}\"", e.reason, key, e.message);
    }
  }
  for (const auto& w : built.warnings) spdlog::warn("event=l4_warning message=\"{}\"", w);
  spdlog::info("event=l4_compiled service_ports={} backends={} maglev_tables={}",
               built.service_ports, built.backends, built.maglev_tables);
  if (built.l7_ports != 0) {
    spdlog::info("event=l7_compiled listener_ports={} actions={} backend_pools={}",
                 built.l7_ports, built.l7_actions, built.l7_pools);
  }
}

// The NodeConfig fields a running process cannot change, named if `fresh` changes them.
std::string restart_only_changes(const config::NodeConfig& running,
                                 const config::NodeConfig& fresh) {
  std::vector<std::string> changed;
  const auto& a = running.dpdk;
  const auto& b = fresh.dpdk;
  if (a.lcores != b.lcores || a.memory_mb != b.memory_mb || a.hugepages != b.hugepages ||
      a.extra_args != b.extra_args || a.mbufs != b.mbufs || a.idle_sleep_us != b.idle_sleep_us) {
    changed.push_back("spec.dpdk");
  }
  bool interfaces_same = running.interfaces.size() == fresh.interfaces.size();
  for (size_t i = 0; interfaces_same && i < running.interfaces.size(); ++i) {
    const auto& x = running.interfaces[i];
    const auto& y = fresh.interfaces[i];
    interfaces_same = x.name == y.name && x.device == y.device && x.addresses == y.addresses &&
                      x.mtu == y.mtu && x.tap == y.tap;
  }
  if (!interfaces_same) changed.push_back("spec.interfaces");
  bool routes_same = running.routes.size() == fresh.routes.size();
  for (size_t i = 0; routes_same && i < running.routes.size(); ++i) {
    routes_same = running.routes[i].destination == fresh.routes[i].destination &&
                  running.routes[i].gateway == fresh.routes[i].gateway;
  }
  if (!routes_same) changed.push_back("spec.routes");
  if (running.exception.tap != fresh.exception.tap) changed.push_back("spec.exception");
  const auto& la = running.load_balancer;
  const auto& lb = fresh.load_balancer;
  if (la.maglev_table_size != lb.maglev_table_size ||
      la.connections_per_lcore != lb.connections_per_lcore ||
      la.timeouts.tcp_syn_ms != lb.timeouts.tcp_syn_ms ||
      la.timeouts.tcp_established_ms != lb.timeouts.tcp_established_ms ||
      la.timeouts.tcp_closing_ms != lb.timeouts.tcp_closing_ms ||
      la.timeouts.udp_ms != lb.timeouts.udp_ms) {
    changed.push_back("spec.loadBalancer (table sizes, timeouts)");
  }
  const auto& na = running.neighbors;
  const auto& nb = fresh.neighbors;
  if (na.capacity != nb.capacity || na.reachable_ms != nb.reachable_ms ||
      na.retransmit_ms != nb.retransmit_ms || na.max_probes != nb.max_probes) {
    changed.push_back("spec.neighbors");
  }
  if (running.meta.name != fresh.meta.name) changed.push_back("metadata.name");
  if (running.api.metrics != fresh.api.metrics) changed.push_back("spec.api.metrics");
  return join(changed);
}

// Everything `run` owns; destroyed in reverse order of construction.
class Runner {
 public:
  Runner(std::vector<std::string> paths, config::ObjectSet objects,
         std::unique_ptr<api::Store> store)
      : paths_(std::move(paths)),
        objects_(std::move(objects)),
        node_(objects_.node_configs.front()),
        store_(std::move(store)) {}
  ~Runner();

  int run();

 private:
  void init_eal();
  void init_ports();
  void setup_kernel_side(size_t i, const std::string& tap);
  void launch_workers();
  void reload();
  void adopt(config::ObjectSet objects);
  void start_api();
  void stop_api();
  void start_kubernetes();
  void poll_kubernetes();
  void update_k8s_status(const config::ObjectSet& objects, const config::NodeConfig& node,
                         const Plan& plan, const ServicesResult& services);
  void send_due_announcements();
  void init_l4();
  ServicesResult publish(const Plan& plan, const config::ObjectSet& objects,
                         const config::NodeConfig& node);
  void apply_bgp(const config::ObjectSet& objects, const config::NodeConfig& node,
                 const Plan& plan, const ServicesResult& services);
  void service_neighbors();
  bool send_control_frame(uint8_t iface, const uint8_t* frame, uint16_t len);
  void log_stats(const char* event) const;
  void log_traffic() const;
  void schedule_new_vips(const Plan& before, const Plan& after);
  uint32_t all_ports() const { return (1u << node_.interfaces.size()) - 1; }

  std::vector<std::string> paths_;
  config::ObjectSet objects_;
  config::NodeConfig node_;
  Plan plan_;
  uint64_t generation_ = 0;
  bool eal_ready_ = false;

  std::vector<unsigned> worker_lcores_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* control_pool_ = nullptr;
  std::vector<uint16_t> uplinks_;
  std::vector<uint16_t> taps_;
  std::vector<rte_ether_addr> macs_;
  std::unique_ptr<lcore::SnapshotPublisher> publisher_;
  std::vector<std::unique_ptr<lcore::WorkerContext>> workers_;
  std::vector<rte_ring*> rings_;
  std::vector<rte_ring*> handoff_rings_;
  rte_ring* resolve_ring_ = nullptr;
  std::unique_ptr<nf::NeighborTable> neighbor_table_;
  std::unique_ptr<NeighborManager> neighbors_;
  std::vector<std::unique_ptr<nf::ConnTable>> conn_tables_;
  std::vector<std::unique_ptr<nf::l7::WorkerState>> l7_states_;
  std::unique_ptr<nf::l7::CookieSecrets> secrets_;
  uint64_t secrets_rotated_ms_ = 0;
  L4Ids l4_ids_;
  TrafficDirectory traffic_dir_;  // names of the published Snapshot's traffic counter slots
  uint64_t tsc_hz_ = 0;
  std::atomic<bool> stop_{false};
  bool launched_ = false;
  AnnounceSchedule schedule_;
  uint64_t announce_failures_ = 0;
  std::unique_ptr<bgp::Speaker> bgp_;
  bgp::AnnouncePlan bgp_plan_;

  // ---- Prometheus endpoint (spec.api.metrics; control/metrics.h) ----
  // The control thread copies what it owns (ports, BGP, generation, reload result) into a cache
  // about once a second and after each reload; the metrics thread takes the cache under a mutex
  // held for a pointer copy and reads the workers' counters itself (relaxed atomic loads).
  void start_metrics();
  void refresh_metrics(bool force);
  void note_reload(bool ok);
  std::string collect_metrics();
  bool last_reload_ok_ = true;
  double last_reload_unix_ = 0;
  uint64_t metrics_refreshed_ms_ = 0;
  std::mutex metrics_mu_;
  std::shared_ptr<const metrics::Values> metrics_cache_;  // guarded by metrics_mu_
  std::unique_ptr<metrics::Server> metrics_server_;       // last: stops before the rest goes

  // The gRPC API (control/api): the object store (files + API objects), the requests the
  // gRPC threads post, recent events, drains, and the listener. Started after event=ready.
  std::unique_ptr<api::Store> store_;
  // Kubernetes sync (NodeConfig spec.kubernetes.kubeconfig); null when files only.
  std::unique_ptr<k8s::Sync> k8s_;
  uint64_t k8s_applied_version_ = 0;  // the caches' version last taken into the store
  uint64_t k8s_changed_ms_ = 0;       // when a newer version was first seen (debounce)
  bool k8s_ready_logged_ = false;
  uint64_t k8s_rejected_total_ = 0;
  std::vector<k8s::EventInfo> k8s_rejected_;  // the last sync's rejected objects
  uint64_t k8s_last_sync_unix_ = 0;
  api::ControlQueue api_queue_;
  api::EventLog api_events_;
  api::DrainSet drains_;
  std::unique_ptr<api::LiveControl> api_control_;
  std::unique_ptr<api::Service> api_service_;
  std::unique_ptr<api::Server> api_server_;
  std::string api_last_reload_;  // Stats.last_reload: "ok", "failed: ..."
  uint64_t api_last_reload_unix_ = 0;
};

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

void Runner::note_reload(bool ok) {
  last_reload_ok_ = ok;
  last_reload_unix_ = unix_now();
  refresh_metrics(true);
}

void Runner::refresh_metrics(bool force) {
  if (metrics_server_ == nullptr) return;
  const uint64_t t = now_ms();
  if (!force && t - metrics_refreshed_ms_ < 1000) return;
  metrics_refreshed_ms_ = t;
  auto v = std::make_shared<metrics::Values>();
  v->version = metrics::build_version();
  v->tsc_hz = tsc_hz_;
  v->generation = generation_;
  v->last_reload_success = last_reload_ok_;
  v->last_reload_timestamp_seconds = last_reload_unix_;
  v->announce_failures = announce_failures_;
  for (size_t i = 0; i < uplinks_.size() && i < node_.interfaces.size(); ++i) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(uplinks_[i], &s) != 0) continue;
    v->ports.push_back({node_.interfaces[i].name, s.ipackets, s.opackets, s.ibytes, s.obytes,
                        s.ierrors, s.oerrors, s.imissed, s.rx_nombuf});
  }
  if (bgp_ != nullptr) {
    for (const auto& p : bgp_->status()) {
      v->bgp_peers.push_back({p.name, p.peer_address.str(), bgp::state_name(p.state),
                              p.established_transitions, p.updates_sent, p.updates_received,
                              p.prefixes_advertised, p.prefixes_received, p.notifications_sent,
                              p.notifications_received});
    }
  }
  if (k8s_ != nullptr) {
    metrics::K8sValues& k = v->k8s;
    k.enabled = true;
    for (const auto& h : k8s_->cache().health()) {
      k.kinds.push_back({h.kind, k8s::to_string(h.state), h.synced, h.relists, h.watch_restarts,
                         h.errors});
    }
    k.leading = k8s_->elector().leading();
    k.leader_transitions = k8s_->elector().transitions();
    const auto c = k8s_->status_counters();
    k.status_written = c.written;
    k.status_errors = c.errors;
    k.objects_rejected = k8s_rejected_total_;
    k.last_sync_timestamp_seconds = static_cast<double>(k8s_last_sync_unix_);
  }
  // Traffic per VIP, service port and backend: summed here, on the thread that owns the slot
  // directory, from the workers' tables (relaxed loads).
  {
    std::vector<const nf::TrafficTable*> tables;
    for (const auto& w : workers_) tables.push_back(w->traffic.get());
    const TrafficStats st = sum_traffic(traffic_dir_, tables);
    const auto conv = [](const nf::TrafficCounts& c) {
      return metrics::TrafficValues{c.packets_in, c.bytes_in, c.packets_out, c.bytes_out,
                                    c.connections};
    };
    for (const auto& x : st.vips) v->vips.push_back({x.address, conv(x.traffic)});
    for (const auto& x : st.services)
      v->services.push_back({x.service, x.address, x.protocol, x.port, conv(x.traffic)});
    for (const auto& x : st.backends) {
      v->backends.push_back(
          {x.service, x.address, x.port, x.backend, x.draining, conv(x.traffic)});
    }
  }
  std::lock_guard<std::mutex> lock(metrics_mu_);
  metrics_cache_ = std::move(v);
}

// Runs on the metrics thread.
std::string Runner::collect_metrics() {
  std::shared_ptr<const metrics::Values> cached;
  {
    std::lock_guard<std::mutex> lock(metrics_mu_);
    cached = metrics_cache_;
  }
  metrics::Values v = *cached;
  for (const auto& w : workers_) {
    metrics::LcoreValues l;
    l.lcore = worker_lcores_[w->thread_id];
    l.counters.add(w->counters);
    v.lcores.push_back(l);
  }
  return metrics::render(v);
}

void Runner::start_metrics() {
  const std::string& address = node_.api.metrics;
  if (address.empty()) return;
  metrics_server_ = std::make_unique<metrics::Server>([this] { return collect_metrics(); });
  refresh_metrics(true);
  if (const std::string err = metrics_server_->start(address); !err.empty()) {
    // The data plane runs on without an endpoint rather than stop over it.
    spdlog::error("event=metrics_failed address={} error=\"{}\"", address, err);
    metrics_server_.reset();
    return;
  }
  spdlog::info("event=metrics_listening address={} port={}", address, metrics_server_->port());
}

Runner::~Runner() {
  stop_api();
  metrics_server_.reset();  // its thread reads the workers' counters
  if (launched_) {
    stop_.store(true);
    rte_eal_mp_wait_lcore();
  }
  for (uint16_t p : taps_) lcore::close_port(p);
  for (uint16_t p : uplinks_) lcore::close_port(p);
  for (rte_ring* r : rings_) rte_ring_free(r);
  for (rte_ring* r : handoff_rings_) rte_ring_free(r);
  if (resolve_ring_ != nullptr) rte_ring_free(resolve_ring_);
  publisher_.reset();
  if (eal_ready_) rte_eal_cleanup();
}

void Runner::init_eal() {
  const auto args = eal_args(node_, "portico");
  spdlog::info("event=eal_init args=\"{}\"", join(args, " "));
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") +
                             rte_strerror(rte_errno) + " (args: " + join(args, " ") + ")");
  }
  eal_ready_ = true;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { worker_lcores_.push_back(lcore); }
  if (worker_lcores_.empty()) {
    throw std::runtime_error("spec.dpdk.lcores \"" + node_.dpdk.lcores +
                             "\" leaves no worker lcore: the first lcore is the control thread");
  }
}

// net_af_packet shares its interface with the kernel of the same namespace. The kernel must
// stay silent there, or it answers ARP for the node's addresses (now on the tap) and takes
// IPv6 traffic a second time. Say so rather than change host settings behind the user's back.
void warn_if_kernel_owns(const std::string& device) {
  if (device.rfind("net_af_packet", 0) != 0) return;
  const size_t at = device.find("iface=");
  if (at == std::string::npos) return;
  const std::string ifname = device.substr(at + 6, device.find(',', at) - at - 6);
  auto read = [](const std::string& path) {
    std::ifstream f(path);
    std::string v;
    std::getline(f, v);
    return v;
  };
  const std::string arp_ignore = read("/proc/sys/net/ipv4/conf/" + ifname + "/arp_ignore");
  const std::string no_v6 = read("/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6");
  if ((!arp_ignore.empty() && arp_ignore != "8") || no_v6 == "0") {
    spdlog::warn(
        "event=kernel_shares_interface iface={} arp_ignore={} disable_ipv6={} "
        "message=\"the kernel also answers on this af_packet interface; set "
        "net.ipv4.conf.{}.arp_ignore=8 and net.ipv6.conf.{}.disable_ipv6=1\"",
        ifname, arp_ignore, no_v6, ifname, ifname);
  }
}

void Runner::init_ports() {
  const auto queues = static_cast<uint16_t>(worker_lcores_.size());
  const size_t n = node_.interfaces.size();
  if (n > lcore::kMaxPorts) {
    throw std::runtime_error("at most " + std::to_string(lcore::kMaxPorts) + " interfaces");
  }
  uint16_t max_mtu = 0;
  for (const auto& i : node_.interfaces) max_mtu = std::max(max_mtu, i.mtu);
  // One segment per frame: data room for the largest MTU plus Ethernet and VLAN headers.
  const uint16_t data_room = static_cast<uint16_t>(
      std::max<unsigned>(RTE_MBUF_DEFAULT_DATAROOM, max_mtu + RTE_ETHER_HDR_LEN + 8) +
      RTE_PKTMBUF_HEADROOM);
  // Every rx descriptor holds an mbuf; tx descriptors and per-lcore caches hold more.
  constexpr unsigned kCache = 256;
  const size_t needed = n * 2 * queues * kDescriptorsPerQueue + kCache * (queues + 1u) + 512;
  uint32_t pool_size = node_.dpdk.mbufs;
  if (pool_size == 0) {
    // Automatic: the next 2^k - 1 (mempool's best size) with room for bursts in flight.
    pool_size = 8191;
    while (pool_size < needed + 2048) pool_size = pool_size * 2 + 1;
  } else if (pool_size < needed) {
    throw std::runtime_error("spec.dpdk.mbufs " + std::to_string(pool_size) + " is too small for " +
                             std::to_string(n) + " interface(s) with " + std::to_string(queues) +
                             " worker(s): at least " + std::to_string(needed) +
                             " (or leave it unset to size it automatically)");
  }
  pool_ = rte_pktmbuf_pool_create("portico_pkts", pool_size, kCache, 0, data_room,
                                  static_cast<int>(rte_socket_id()));
  control_pool_ =
      rte_pktmbuf_pool_create("portico_ctl", kControlMbufs, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                              static_cast<int>(rte_socket_id()));
  if (pool_ == nullptr || control_pool_ == nullptr) {
    throw std::runtime_error(std::string("cannot create mbuf pools (spec.dpdk.memoryMB ") +
                             std::to_string(node_.dpdk.memory_mb) +
                             "): " + rte_strerror(rte_errno));
  }

  for (size_t i = 0; i < n; ++i) {
    const auto& iface = node_.interfaces[i];
    warn_if_kernel_owns(iface.device);
    const uint16_t uplink = lcore::attach_device(lcore::with_queue_args(iface.device, queues));
    uplinks_.push_back(uplink);
    lcore::start_port(uplink, {queues, iface.mtu, pool_, true});
    const rte_ether_addr mac = lcore::port_mac(uplink);
    macs_.push_back(mac);

    // The tap carries the port's MAC, so the kernel's frames need no rewriting and frames we
    // punt (addressed to the port MAC) are the kernel's own.
    const std::string tap_args =
        "net_tap" + std::to_string(i) + ",iface=" + iface.tap + ",mac=" + lcore::mac_str(mac);
    const uint16_t tap = lcore::attach_device(tap_args);
    taps_.push_back(tap);
    lcore::start_port(tap, {queues, iface.mtu, pool_, false});
    setup_kernel_side(i, iface.tap);
    spdlog::info("event=port_up interface={} device=\"{}\" port={} mac={} tap={} queues={}",
                 iface.name, iface.device, uplink, lcore::mac_str(mac), iface.tap, queues);
  }
}

void Runner::setup_kernel_side(size_t i, const std::string& tap) {
  const auto& iface = node_.interfaces[i];
  kernel_link_up(tap, iface.mtu);
  for (const auto& a : iface.addresses) kernel_add_address(tap, a);
  // Routes go out the interface whose subnet holds the gateway.
  for (const auto& r : node_.routes) {
    const bool here = std::any_of(iface.addresses.begin(), iface.addresses.end(),
                                  [&](const config::IpPrefix& p) { return p.contains(r.gateway); });
    if (here) kernel_add_route(tap, r);
  }
}

void Runner::launch_workers() {
  for (size_t w = 0; w < worker_lcores_.size(); ++w) {
    const std::string name = "portico_ctl" + std::to_string(w);
    rte_ring* ring =
        rte_ring_create(name.c_str(), kControlRingSize, static_cast<int>(rte_socket_id()),
                        RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) throw std::runtime_error("cannot create control ring " + name);
    rings_.push_back(ring);

    auto ctx = std::make_unique<lcore::WorkerContext>();
    ctx->thread_id = static_cast<unsigned>(w);
    ctx->queue = static_cast<uint16_t>(w);
    ctx->n_ports = static_cast<unsigned>(uplinks_.size());
    for (size_t p = 0; p < uplinks_.size(); ++p) {
      ctx->ports[p].uplink = uplinks_[p];
      ctx->ports[p].tap = taps_[p];
      ctx->ports[p].ctx.mac = macs_[p];
      ctx->ports[p].ctx.index = static_cast<uint8_t>(p);
    }
    ctx->snapshots = publisher_.get();
    ctx->control_tx = ring;
    ctx->idle_sleep_us = node_.dpdk.idle_sleep_us;
    ctx->stop = &stop_;
    ctx->conns = conn_tables_[w].get();
    ctx->l7 = l7_states_[w].get();
    ctx->secrets = secrets_.get();
    ctx->pool = pool_;
    ctx->neighbors = neighbor_table_.get();
    ctx->handoff_rx = handoff_rings_[w];
    for (size_t o = 0; o < handoff_rings_.size(); ++o) ctx->handoff_tx[o] = handoff_rings_[o];
    ctx->resolve_tx = resolve_ring_;
    lcore::init_l4(*ctx, static_cast<unsigned>(w), static_cast<unsigned>(worker_lcores_.size()),
                   tsc_hz_);
    // A frame waits for its next hop's MAC as long as one resolution request does.
    ctx->hold_ticks = node_.neighbors.retransmit_ms * tsc_hz_ / 1000;
    for (size_t p = 0; p < uplinks_.size() && p < nf::lb::Tables::kMaxInterfaces; ++p) {
      ctx->l4.mtu[p] = node_.interfaces[p].mtu;
    }
    workers_.push_back(std::move(ctx));
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    const int rc = rte_eal_remote_launch(lcore::worker_main, workers_[w].get(), worker_lcores_[w]);
    if (rc != 0)
      throw std::runtime_error("cannot launch worker on lcore " +
                               std::to_string(worker_lcores_[w]));
    launched_ = true;
  }
}

// Connection tables, the neighbor table and the rings between workers, all sized from the
// NodeConfig and allocated before any worker runs.
void Runner::init_l4() {
  const unsigned workers = static_cast<unsigned>(worker_lcores_.size());
  if (workers > lcore::kMaxWorkers) {
    throw std::runtime_error("at most " + std::to_string(lcore::kMaxWorkers) + " workers");
  }
  tsc_hz_ = rte_get_tsc_hz();
  const auto& lb = node_.load_balancer;
  const auto ticks = [&](uint64_t ms) { return ms * tsc_hz_ / 1000; };
  const nf::ConnTable::Timeouts timeouts{
      ticks(lb.timeouts.tcp_syn_ms), ticks(lb.timeouts.tcp_established_ms),
      ticks(lb.timeouts.tcp_closing_ms), ticks(lb.timeouts.udp_ms)};
  secrets_ = std::make_unique<nf::l7::CookieSecrets>();
  for (unsigned w = 0; w < workers; ++w) {
    try {
      conn_tables_.push_back(std::make_unique<nf::ConnTable>(lb.connections_per_lcore, timeouts));
      // L7: a slot per HTTP connection (a quarter of the connection records, as each takes a
      // record and most of a table serves L4), and head buffers (36 KiB each) for connections
      // still reading their head or replaying it.
      l7_states_.push_back(std::make_unique<nf::l7::WorkerState>(
          std::max<uint32_t>(lb.connections_per_lcore / 4, 1024), kL7HeadBuffers, tsc_hz_));
    } catch (const std::bad_alloc&) {
      throw std::runtime_error("cannot allocate " + std::to_string(lb.connections_per_lcore) +
                               " connection records per worker (spec.loadBalancer."
                               "connectionsPerLcore, 164 bytes each)");
    }
    const std::string name = "portico_ho" + std::to_string(w);
    rte_ring* ring = rte_ring_create(name.c_str(), kHandoffRingSize,
                                     static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
    if (ring == nullptr) throw std::runtime_error("cannot create handoff ring " + name);
    handoff_rings_.push_back(ring);
  }
  resolve_ring_ = rte_ring_create("portico_resolve", kControlRingSize,
                                  static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
  if (resolve_ring_ == nullptr) throw std::runtime_error("cannot create the resolve ring");
  neighbor_table_ = std::make_unique<nf::NeighborTable>(node_.neighbors.capacity);
  neighbors_ = std::make_unique<NeighborManager>(*neighbor_table_, tsc_hz_);
  neighbors_->configure(node_, macs_);

  // Return traffic of full-NAT flows: steered by the NIC where it can, else handed over.
  std::vector<lcore::SnatAddress> snat;
  for (const auto& ip : lb.snat_addresses) {
    lcore::SnatAddress a{};
    std::memcpy(a.addr, ip.bytes().data(), 16);
    a.v6 = ip.is_v6();
    snat.push_back(a);
  }
  for (size_t p = 0; p < uplinks_.size(); ++p) {
    std::string why;
    const bool flow = workers > 1 && !snat.empty() &&
                      lcore::steer_snat_ports(uplinks_[p], snat.data(), snat.size(),
                                              static_cast<uint16_t>(workers), &why);
    if (workers > 1 && !snat.empty()) {
      spdlog::info("event=snat_steering interface={} mode={}{}", node_.interfaces[p].name,
                   flow ? "flow" : "ring", flow ? "" : " reason=\"" + why + "\"");
    }
  }
  spdlog::info(
      "event=l4_ready workers={} connections_per_lcore={} maglev_table_size={} "
      "neighbor_capacity={}",
      workers, lb.connections_per_lcore, lb.maglev_table_size, node_.neighbors.capacity);
}

// Compiles and publishes a Snapshot for `plan`; next hops no Snapshot uses any more are freed.
// Returns the compiled service ports (BGP announces only addresses with usable endpoints).
ServicesResult Runner::publish(const Plan& plan, const config::ObjectSet& objects,
                               const config::NodeConfig& node) {
  ServicesResult services = compile_services(objects, plan);
  drains_.apply(&services);  // API drains: new flows avoid the drained backends
  L4BuildResult built;
  neighbors_->begin_build();
  L7Inputs l7{&objects, static_cast<unsigned>(worker_lcores_.size()), {}};
  if (!drains_.backends.empty()) {
    l7.drained = [this](const config::IpAddress& a, uint16_t port) {
      return drains_.drained(a, port);
    };
  }
  publisher_->publish(build_snapshot(plan, node, generation_ + 1, &services, &l4_ids_,
                                     neighbors_.get(), &built, &l7));
  ++generation_;
  neighbors_->end_build_published();
  log_l4(services, built);
  traffic_dir_ = std::move(built.traffic);
  return services;
}

namespace {

std::string route_text(const bgp::Announcement& a) {
  std::string out = a.prefix.str() + " peers=" + join(a.peers);
  std::vector<std::string> comms;
  for (uint32_t c : a.route.communities) comms.push_back(bgp::community_text(c));
  for (const auto& c : a.route.large_communities) comms.push_back(bgp::community_text(c));
  if (!comms.empty()) out += " communities=" + join(comms);
  if (a.route.local_pref) out += " local_pref=" + std::to_string(*a.route.local_pref);
  return out;
}

}  // namespace

// Which sessions run and what each peer gets, from the objects, the plan and the compiled
// service ports; the speaker diffs both against what it has. Logs what changed.
void Runner::apply_bgp(const config::ObjectSet& objects, const config::NodeConfig& node,
                       const Plan& plan, const ServicesResult& services) {
  bgp::AnnouncePlan next = bgp::plan_announcements(objects, &node, plan, services);
  for (const auto& w : next.warnings) spdlog::warn("event=bgp_warning message=\"{}\"", w);
  for (const auto& [key, events] : next.events) {
    for (const auto& e : events) {
      const auto level = e.type == "Warning" ? spdlog::level::warn : spdlog::level::info;
      spdlog::log(level, "event=bgp_{} holder=\"{}\" message=\"{}\"", e.reason,
                  bgp::holder_name(key), e.message);
    }
  }
  std::map<std::string, std::string> before, after;
  for (const auto& a : bgp_plan_.announcements) before[a.prefix.str() + " " + join(a.peers)] = route_text(a);
  for (const auto& a : next.announcements) after[a.prefix.str() + " " + join(a.peers)] = route_text(a);
  for (const auto& [k, text] : after) {
    if (before.count(k) == 0 || before[k] != text) {
      spdlog::info("event=bgp_announce route={}", text);
      api_events_.add("Normal", "BgpAnnounced", "", text);
    }
  }
  for (const auto& [k, text] : before) {
    if (after.count(k) == 0) {
      spdlog::info("event=bgp_withdraw route={}", text);
      api_events_.add("Normal", "BgpWithdrawn", "", text);
    }
  }
  bgp_->configure(next.peers);
  // A node drained through the API announces nothing until the drain ends.
  bgp_->set_routes(drains_.node ? decltype(next.routes){} : next.routes);
  bgp_plan_ = std::move(next);
}

bool Runner::send_control_frame(uint8_t iface, const uint8_t* frame, uint16_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(control_pool_);
  if (m == nullptr) return false;
  if (rte_pktmbuf_tailroom(m) < len) {
    rte_pktmbuf_free(m);
    return false;
  }
  std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), frame, len);
  m->data_len = len;
  m->pkt_len = len;
  m->port = iface;
  if (rte_ring_sp_enqueue(rings_.front(), m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

// Next hops the workers found unresolved, then the periodic upkeep.
void Runner::service_neighbors() {
  void* idx[64];
  const uint64_t now = rte_rdtsc();
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(resolve_ring_, idx, 64, nullptr)) != 0) {
    for (unsigned i = 0; i < n; ++i) {
      neighbors_->request(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(idx[i]) - 1), now);
    }
  }
  neighbors_->tick(now, [this](uint8_t iface, const uint8_t* frame, uint16_t len) {
    if (!send_control_frame(iface, frame, len)) ++announce_failures_;
  });
}

void Runner::schedule_new_vips(const Plan& before, const Plan& after) {
  std::map<config::IpAddress, uint32_t> old_ports;
  for (const auto& v : before.vips) old_ports[v.ip] = v.announce_ports;
  const uint64_t now = now_ms();
  std::set<config::IpAddress> current;
  for (const auto& v : after.vips) {
    current.insert(v.ip);
    auto it = old_ports.find(v.ip);
    const uint32_t added = v.announce_ports & ~(it == old_ports.end() ? 0u : it->second);
    if (added != 0) schedule_.start(v.ip, added, now);
  }
  for (const auto& [ip, ports] : old_ports) {
    if (current.count(ip) == 0) schedule_.cancel(ip);
  }
}

void Runner::send_due_announcements() {
  for (const auto& due : schedule_.take_due(now_ms())) {
    for (size_t p = 0; p < macs_.size(); ++p) {
      if ((due.ports & (1u << p)) == 0) continue;
      const int frames = due.ip.is_v4() ? 2 : 1;  // ARP request + reply, or one NA
      for (int f = 0; f < frames; ++f) {
        rte_mbuf* m = rte_pktmbuf_alloc(control_pool_);
        if (m == nullptr) {
          ++announce_failures_;
          continue;
        }
        uint8_t* buf = rte_pktmbuf_mtod(m, uint8_t*);
        const auto room = static_cast<uint16_t>(rte_pktmbuf_tailroom(m));
        uint16_t len = 0;
        if (due.ip.is_v4()) {
          uint32_t be;
          std::memcpy(&be, due.ip.bytes().data(), 4);
          len = nf::build_gratuitous_arp(buf, room, macs_[p], be, f == 1);
        } else {
          len = nf::build_unsolicited_na(buf, room, macs_[p], due.ip.bytes().data());
        }
        m->data_len = len;
        m->pkt_len = len;
        m->port = static_cast<uint16_t>(p);
        if (len == 0 || rte_ring_sp_enqueue(rings_.front(), m) != 0) {
          rte_pktmbuf_free(m);
          ++announce_failures_;
        }
      }
    }
  }
}

void Runner::log_stats(const char* event) const {
  lcore::CounterTotals total;
  for (const auto& w : workers_) {
    lcore::CounterTotals one;
    one.add(w->counters);
    total.add(w->counters);
    if (std::strcmp(event, "summary") == 0) {
      spdlog::info("event=lcore_stats lcore={} {}", worker_lcores_[w->thread_id],
                   format_counters(one));
    }
  }
  spdlog::info("event={} generation={} {} announce_failures={}", event, generation_,
               format_counters(total), announce_failures_);
  log_traffic();
  if (bgp_ == nullptr) return;
  for (const auto& p : bgp_->status()) {
    spdlog::info(
        "event=bgp_peer peer={} address={} state={} hold={} established={} updates_sent={} "
        "updates_received={} prefixes_advertised={} prefixes_received={} notifications_sent={} "
        "notifications_received={} last_error=\"{}\"",
        p.name, p.peer_address.str(), bgp::state_name(p.state), p.negotiated_hold_s,
        p.established_transitions, p.updates_sent, p.updates_received, p.prefixes_advertised,
        p.prefixes_received, p.notifications_sent, p.notifications_received, p.last_error);
  }
}

// One line per VIP, service port and backend that has seen traffic, after the stats line (whose
// format scripts parse, so these are lines of their own); at most kMaxTrafficLines of each kind.
void Runner::log_traffic() const {
  constexpr size_t kMaxTrafficLines = 256;
  std::vector<const nf::TrafficTable*> tables;
  for (const auto& w : workers_) tables.push_back(w->traffic.get());
  const TrafficStats st = sum_traffic(traffic_dir_, tables);
  size_t n = 0, left = 0;
  for (const auto& v : st.vips) {
    if (v.traffic.empty()) continue;
    if (n++ >= kMaxTrafficLines) {
      ++left;
      continue;
    }
    spdlog::info("event=vip_stats vip={} {}", v.address, format_traffic(v.traffic));
  }
  n = 0;
  for (const auto& s : st.services) {
    if (s.traffic.empty()) continue;
    if (n++ >= kMaxTrafficLines) {
      ++left;
      continue;
    }
    spdlog::info("event=service_stats service={} vip={} protocol={} port={} {}", s.service,
                 s.address, s.protocol, s.port, format_traffic(s.traffic));
  }
  n = 0;
  for (const auto& b : st.backends) {
    if (b.traffic.empty()) continue;
    if (n++ >= kMaxTrafficLines) {
      ++left;
      continue;
    }
    spdlog::info("event=backend_stats service={} vip={} port={} backend={} draining={} {}",
                 b.service, b.address.empty() ? "-" : b.address, b.port, b.backend, b.draining,
                 format_traffic(b.traffic));
  }
  if (!st.other_services.empty() || !st.other_backends.empty()) {
    spdlog::info(
        "event=traffic_other service_ports=\"{}\" backends=\"{}\" message=\"beyond the "
        "counter slots ({} service ports, {} backends)\"",
        format_traffic(st.other_services), format_traffic(st.other_backends),
        nf::kTrafficServiceSlots - 1, nf::kTrafficBackendSlots - 1);
  }
  if (left != 0) spdlog::info("event=traffic_stats_truncated omitted={}", left);
}

void Runner::reload() {
  spdlog::info("event=reload_start paths=\"{}\"", join(paths_, " "));
  // Files are read again; API objects are kept (a file's copy wins over the API's).
  api::Change change;
  const api::Result r = store_->prepare_load(&change);
  api_last_reload_unix_ = static_cast<uint64_t>(time(nullptr));
  if (!r.ok()) {
    for (const auto& e : change.loaded.errors)
      spdlog::error("event=config_error error=\"{}\"", e.str());
    const std::string first = change.loaded.errors.empty() ? r.message
                                                           : change.loaded.errors.front().str();
    spdlog::error("event=reload_failed errors={} detail=\"{}\" keeping_generation={}",
                  change.loaded.errors.size(), first, generation_);
    api_last_reload_ = "failed: " + first;
    api_events_.add("Warning", "ConfigRejected", "", "reload failed: " + first);
    note_reload(false);
    return;
  }
  for (const auto& w : change.warnings) spdlog::warn("event=config_warning warning=\"{}\"", w);
  if (const api::Result c = store_->commit(change); !c.ok()) {
    spdlog::error("event=reload_failed errors=1 detail=\"{}\" keeping_generation={}", c.message,
                  generation_);
    api_last_reload_ = "failed: " + c.message;
    note_reload(false);
    return;
  }
  adopt(store_->objects());
  api_last_reload_ = "ok";
  note_reload(true);
  api_events_.add("Normal", "ConfigApplied", "", "reload: generation " + std::to_string(generation_));
}

// Plans and publishes `objects` (a reload, or a change through the API): Snapshot, BGP,
// announcements of new addresses.
void Runner::adopt(config::ObjectSet objects) {
  // Labels (they steer L2Advertisement nodeSelectors) and SNAT addresses change live; ports,
  // lcores, the node's own addresses, taps and routes are set up once and need a restart.
  const config::NodeConfig& fresh = objects.node_configs.front();
  if (const std::string what = restart_only_changes(node_, fresh); !what.empty()) {
    spdlog::warn(
        "event=reload_partial changed=\"{}\" message=\"these take effect on restart; the "
        "rest of the reload is applied\"",
        what);
  }
  config::NodeConfig node = node_;
  node.meta.labels = fresh.meta.labels;
  node.load_balancer.snat_addresses = fresh.load_balancer.snat_addresses;

  Plan next = make_plan(objects, &node, ipam::assignments_of(plan_.ipam));
  const ServicesResult services = publish(next, objects, node);
  apply_bgp(objects, node, next, services);
  update_k8s_status(objects, node, next, services);
  schedule_new_vips(plan_, next);
  const uint64_t now = now_ms();
  for (const auto& ip : node.load_balancer.snat_addresses) {
    const auto& old = node_.load_balancer.snat_addresses;
    if (std::find(old.begin(), old.end(), ip) == old.end()) schedule_.start(ip, all_ports(), now);
  }
  log_plan(objects, next);
  size_t assigned = 0;
  for (const auto& [k, r] : next.ipam.services) {
    assigned += r.state == ipam::ServiceState::kAssigned;
    for (const auto& e : r.events) api_events_.add(e.type, e.reason, "Service/" + k, e.message);
  }
  spdlog::info("event=reload_ok generation={} services_assigned={} vips={}", generation_, assigned,
               next.vips.size());
  objects_ = std::move(objects);
  node_ = std::move(node);
  plan_ = std::move(next);
}

void Runner::start_api() {
  if (node_.api.grpc.empty()) {
    spdlog::info("event=api_disabled message=\"spec.api.grpc is empty\"");
    return;
  }
  api::LiveState st;
  st.store = store_.get();
  st.events = &api_events_;
  st.drains = &drains_;
  st.node = &node_;
  st.plan = &plan_;
  st.bgp_plan = &bgp_plan_;
  st.speaker = bgp_.get();
  st.generation = &generation_;
  st.tsc_hz = tsc_hz_;
  st.worker_lcores = worker_lcores_;
  for (const auto& w : workers_) st.workers.push_back(w.get());
  for (const auto& t : conn_tables_) st.conn_tables.push_back(t.get());
  st.last_reload = &api_last_reload_;
  st.last_reload_unix = &api_last_reload_unix_;
  st.traffic = &traffic_dir_;
  st.adopt = [this](config::ObjectSet objects) { adopt(std::move(objects)); };
  st.refresh_bgp = [this] {
    bgp_->set_routes(drains_.node ? decltype(bgp_plan_.routes){} : bgp_plan_.routes);
  };
  api_control_ = std::make_unique<api::LiveControl>(std::move(st));
  api_service_ = std::make_unique<api::Service>(&api_queue_, api_control_.get(), &api_events_);
  std::string error;
  api_server_ = api::Server::start(node_.api, api_service_.get(), &error);
  if (api_server_ == nullptr) throw std::runtime_error("API: " + error);
  spdlog::info("event=api_listening address={} state_dir={}", api_server_->address(),
               store_->state_dir());
}

void Runner::start_kubernetes() {
  const auto& k = node_.kubernetes;
  if (k.kubeconfig.empty()) return;
  std::string error;
  k8s_ = k8s::Sync::start(k, node_.meta.name, &error);
  if (k8s_ == nullptr) throw std::runtime_error("spec.kubernetes: " + error);
  spdlog::info("event=k8s_started server={} source=\"{}\" kinds={}", k8s_->cluster().server,
               k8s_->cluster().origin, k8s::watched_kinds().size());
}

// The cluster's objects join the store once every kind has been listed, then at each change of
// the informers' caches (100 ms after the first change seen, so that a burst of events is one
// publication). A rejected object is left out with an event; the rest still applies.
void Runner::poll_kubernetes() {
  if (k8s_ == nullptr) return;
  k8s::ClusterCache& cache = k8s_->cache();
  if (!cache.ready()) return;
  if (!k8s_ready_logged_) {
    k8s_ready_logged_ = true;
    std::vector<std::string> absent;
    for (const auto& h : cache.health()) {
      if (h.state == k8s::InformerState::kNotInstalled) absent.push_back(h.kind);
    }
    spdlog::info("event=k8s_synced not_installed=\"{}\"", join(absent, " "));
  }
  const uint64_t v = cache.version();
  if (v == k8s_applied_version_) return;
  const uint64_t now = now_ms();
  if (k8s_changed_ms_ == 0) k8s_changed_ms_ = now;
  if (now - k8s_changed_ms_ < 100 && k8s_applied_version_ != 0) return;
  k8s_changed_ms_ = 0;
  k8s_applied_version_ = v;
  std::vector<std::string> errors;
  auto entries = cache.entries(&errors);
  for (const auto& e : errors) spdlog::warn("event=k8s_object_unusable detail=\"{}\"", e);
  api::Change change;
  const size_t count = entries.size();
  if (const api::Result r = store_->prepare_cluster(entries, &change); !r.ok()) {
    // The files' or the API's own objects are at fault: the last good configuration stays.
    spdlog::error("event=k8s_sync_failed detail=\"{}\" keeping_generation={}",
                  r.message.substr(0, r.message.find('\n')), generation_);
    api_events_.add("Warning", "ConfigRejected", "", "cluster sync: " + r.message);
    return;
  }
  k8s_rejected_.clear();
  for (const auto& [key, why] : change.cluster_rejected) {
    spdlog::warn("event=k8s_object_rejected object={} error=\"{}\"", key.str(), why);
    api_events_.add("Warning", "ObjectRejected", key.str(), why);
    // Kept for an Event on the object itself (kubectl describe shows why it is ignored).
    if (auto it = entries.find(key); it != entries.end()) {
      k8s::EventInfo info;
      info.api_version = it->second.api_version;
      info.kind = key.kind;
      info.ns = key.namespace_;
      info.name = key.name;
      const auto doc = nlohmann::json::parse(it->second.yaml, nullptr, false);
      if (doc.is_object() && doc.contains("metadata") && doc["metadata"].is_object())
        info.uid = doc["metadata"].value("uid", "");
      info.reason = "ObjectRejected";
      info.message = "ignored by Portico: " + why;
      k8s_rejected_.push_back(std::move(info));
    }
  }
  api::Store::Undo undo;
  if (const api::Result c = store_->commit(change, &undo); !c.ok()) {
    spdlog::error("event=k8s_sync_failed detail=\"{}\"", c.message);
    return;
  }
  try {
    adopt(store_->objects());
  } catch (const std::exception& e) {
    store_->revert(undo);
    spdlog::error("event=k8s_sync_failed detail=\"publishing: {}\" keeping_generation={}",
                  e.what(), generation_);
    return;
  }
  k8s_rejected_total_ += change.cluster_rejected.size();
  k8s_last_sync_unix_ = static_cast<uint64_t>(time(nullptr));
  spdlog::info("event=k8s_applied objects={} rejected={} generation={}",
               count - change.cluster_rejected.size(), change.cluster_rejected.size(),
               generation_);
}

// The status of the cluster's objects as `portico check -o json` computes it, for the status
// thread (control/k8s/sync.h), which writes what differs while this node holds the Lease.
void Runner::update_k8s_status(const config::ObjectSet& objects, const config::NodeConfig& node,
                               const Plan& plan, const ServicesResult& services) {
  if (k8s_ == nullptr) return;
  const auto statuses =
      nlohmann::json::parse(objects_status_json(objects, &node, plan, services, rfc3339_now()),
                            nullptr, false);
  if (!statuses.is_array()) return;
  std::map<std::string, const k8s::WatchedKind*> kinds;
  for (const auto& w : k8s::watched_kinds()) kinds[w.kind] = &w;
  k8s::DesiredStatus d;
  d.events = k8s_rejected_;
  for (const auto& st : statuses) {
    const std::string kind = st.value("kind", "");
    const nlohmann::json meta = st.value("metadata", nlohmann::json::object());
    const std::string ns = meta.value("namespace", "");
    const std::string name = meta.value("name", "");
    const api::Entry* e = store_->find(api::normalized_key(kind, ns, name));
    // Only objects that live in the cluster: files and the API have no status to write to.
    if (e == nullptr || e->source != "kubernetes" || kinds.count(kind) == 0) continue;
    const auto doc = nlohmann::json::parse(e->yaml, nullptr, false);
    const nlohmann::json status = st.value("status", nlohmann::json::object());
    if (kind == "Service") {
      k8s::ServiceStatus s;
      s.ns = ns;
      s.name = name;
      if (status.contains("loadBalancer") && status["loadBalancer"].contains("ingress"))
        s.ingress = status["loadBalancer"]["ingress"];
      if (meta.contains("annotations"))
        s.pool = meta["annotations"].value("metallb.io/ip-allocated-from-pool", "");
      d.services.push_back(std::move(s));
      for (const auto& ev : st.value("events", nlohmann::json::array())) {
        if (ev.value("reason", "") != "AllocationFailed") continue;
        k8s::EventInfo info;
        info.ns = ns;
        info.name = name;
        if (doc.is_object() && doc.contains("metadata"))
          info.uid = doc["metadata"].value("uid", "");
        info.reason = "AllocationFailed";
        info.message = ev.value("message", "");
        d.events.push_back(std::move(info));
      }
      continue;
    }
    if (kind != "Gateway" && kind != "GatewayClass" && kind != "HTTPRoute") continue;
    const k8s::WatchedKind& w = *kinds[kind];
    k8s::ObjectStatus o;
    o.group = w.group;
    const std::string& av = e->api_version;
    o.version = av.substr(av.find('/') + 1);
    o.plural = w.plural;
    o.ns = ns;
    o.name = name;
    o.status = status;
    if (doc.is_object() && doc.contains("metadata"))
      o.generation = doc["metadata"].value("generation", int64_t{0});
    d.objects.push_back(std::move(o));
  }
  k8s_->set_desired(std::move(d));
}

// Calls in progress get UNAVAILABLE; watchers end.
void Runner::stop_api() {
  api_queue_.close();
  api_events_.close();
  if (api_server_ != nullptr) {
    api_server_->stop();
    api_server_.reset();
    spdlog::info("event=api_stopped");
  }
}

int Runner::run() {
  // Drains made through the API before a restart still hold: a drained backend takes no new
  // flows from the first Snapshot on, and a drained node announces nothing.
  std::vector<std::string> drain_warnings;
  drains_ = api::load_drains(store_->state_dir(), &drain_warnings);
  for (const auto& w : drain_warnings) spdlog::warn("event=config_warning warning=\"{}\"", w);
  if (drains_.node || !drains_.backends.empty()) {
    std::vector<std::string> backends;
    for (const auto& b : drains_.backends)
      backends.push_back(b.str());
    spdlog::warn("event=drains_kept node={} backends=\"{}\" file={} message=\"drained through the "
                 "API before the restart; porticoctl drain --undo ends them\"",
                 drains_.node, join(backends, " "), api::drains_path(store_->state_dir()));
  }
  plan_ = make_plan(objects_, &node_, {});
  log_plan(objects_, plan_);

  init_eal();
  init_ports();
  publisher_ =
      std::make_unique<lcore::SnapshotPublisher>(static_cast<unsigned>(worker_lcores_.size()));
  init_l4();
  const ServicesResult services = publish(plan_, objects_, node_);
  launch_workers();
  // The sessions start once the workers forward between the taps and the uplinks.
  bgp_ = std::make_unique<bgp::Speaker>();
  bgp_->set_listen_port(179);
  apply_bgp(objects_, node_, plan_, services);

  schedule_new_vips(Plan{}, plan_);
  const uint64_t now = now_ms();
  for (const auto& ip : node_.load_balancer.snat_addresses) schedule_.start(ip, all_ports(), now);
  send_due_announcements();

  std::vector<std::string> workers;
  for (unsigned l : worker_lcores_) workers.push_back(std::to_string(l));
  spdlog::info("event=ready node={} workers={} interfaces={} vips={} generation={} tsc_hz={}",
               node_.meta.name, join(workers), node_.interfaces.size(), plan_.vips.size(),
               generation_, tsc_hz_);
  last_reload_unix_ = unix_now();
  start_metrics();
  start_api();
  start_kubernetes();

  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGUSR1, SIGINT, SIGTERM}) sigaddset(&set, s);
  for (;;) {
    // Signals are blocked in every thread and taken here without waiting; the loop waits in
    // the speaker's poll() instead (its sockets and timers, kLoopTickMs at most).
    const timespec no_wait{0, 0};
    const int sig = sigtimedwait(&set, nullptr, &no_wait);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("event=stopping signal={}", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (sig == SIGHUP) reload();
    if (sig == SIGUSR1) log_stats("stats");
    // API requests the gRPC threads posted, answered here where the objects live.
    api_queue_.drain();
    if (api_control_ != nullptr) api_control_->poll_peer_states();
    poll_kubernetes();
    send_due_announcements();
    service_neighbors();
    refresh_metrics(false);
    // SYN cookie secrets: a new one every hour (a cookie lives at most three minutes).
    const uint64_t t = now_ms();
    if (t - secrets_rotated_ms_ >= 3600 * 1000) {
      if (secrets_rotated_ms_ != 0) {
        secrets_->rotate(static_cast<uint32_t>(rte_rdtsc() / (tsc_hz_ * 60)));
        spdlog::info("event=syn_cookie_secret_rotated");
      }
      secrets_rotated_ms_ = t;
    }
    bgp_->poll(kLoopTickMs);
  }

  stop_api();
  // Routers learn first that this node goes away (withdrawals, or graceful restart), while the
  // workers still forward what is in flight; only then do the workers stop.
  bgp_->shutdown(kBgpShutdownDeadline);
  spdlog::info("event=bgp_stopped");
  // Then the Kubernetes sync: informers stop, a status write in flight ends (its timeout at
  // most), and the Lease is released so that another node writes status at once.
  if (k8s_ != nullptr) {
    k8s_.reset();
    spdlog::info("event=k8s_stopped");
  }
  stop_.store(true);
  rte_eal_mp_wait_lcore();
  launched_ = false;
  log_stats("summary");
  return 0;
}

}  // namespace

void block_control_signals() {
  // Blocked before EAL creates its threads, so they inherit the mask and only the control
  // thread (sigtimedwait) ever sees these signals.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGHUP, SIGUSR1, SIGINT, SIGTERM}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run(const std::vector<std::string>& paths) {
  config::LoadResult loaded = config::load(paths);
  for (const auto& w : loaded.warnings)
    spdlog::warn("event=config_warning warning=\"{}\"", w.str());
  if (loaded.ok() && loaded.objects.node_configs.size() != 1) {
    loaded.errors.push_back({"", 0, "",
                             "exactly one NodeConfig (portico.io/v1alpha1) is required, found " +
                                 std::to_string(loaded.objects.node_configs.size())});
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) spdlog::error("{}", e.str());
    spdlog::error("event=config_invalid errors={}", loaded.errors.size());
    return 1;
  }
  // API objects (the state directory) join the files when the API is on.
  const auto& api_conf = loaded.objects.node_configs.front().api;
  auto store = std::make_unique<api::Store>(paths, api_conf.grpc.empty() ? "" : api_conf.state_dir);
  api::Change change;
  if (const api::Result r = store->prepare_load(&change); !r.ok()) {
    for (const auto& e : change.loaded.errors) spdlog::error("{}", e.str());
    spdlog::error("event=config_invalid errors={} message=\"with the API objects of {}\"",
                  change.loaded.errors.size(), api_conf.state_dir);
    return 1;
  }
  for (const auto& w : change.warnings) {
    if (w.find(api_conf.state_dir) != std::string::npos || w.find("now defined by") != std::string::npos)
      spdlog::warn("event=config_warning warning=\"{}\"", w);
  }
  if (const api::Result c = store->commit(change); !c.ok()) {
    spdlog::error("event=config_invalid error=\"{}\"", c.message);
    return 1;
  }
  config::ObjectSet objects = store->objects();
  block_control_signals();
  try {
    Runner runner(paths, std::move(objects), std::move(store));
    return runner.run();
  } catch (const std::exception& e) {
    spdlog::error("event=fatal error=\"{}\"", e.what());
    return 1;
  }
}

}  // namespace control
