// Prometheus metrics: exposition text (render) and the HTTP endpoint (Server). See metrics.h.
//
// render() runs on whichever thread asks (the server's, tests); Server::serve() is the metrics
// thread. Text format: https://prometheus.io/docs/instrumenting/exposition_formats/ (0.0.4);
// names follow https://prometheus.io/docs/practices/naming/ (portico_ prefix, _total on
// counters, seconds and bytes). HTTP: RFC 9112 request line, only as much as a scraper sends.
#include "control/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <iterator>
#include <span>
#include <utility>

#ifndef PORTICO_VERSION
#define PORTICO_VERSION "unknown"
#endif

namespace control::metrics {

// ================================ exposition text ================================

namespace {

using Label = std::pair<std::string_view, std::string_view>;

class Text {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (char c : help) {  // HELP escapes only \ and newline
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
    head(name, labels);
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
    out_ += '\n';
  }

  void sample_v(std::string_view name, const std::vector<Label>& labels, uint64_t value) {
    head(name, std::span<const Label>(labels));
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, r.ptr);
    out_ += '\n';
  }

  void sample(std::string_view name, std::initializer_list<Label> labels, double value) {
    head(name, labels);
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, value);  // shortest exact form
    out_.append(buf, r.ptr);
    out_ += '\n';
  }

  std::string take() { return std::move(out_); }

 private:
  void head(std::string_view name, std::initializer_list<Label> labels) {
    head(name, std::span<const Label>(labels.begin(), labels.size()));
  }

  void head(std::string_view name, std::span<const Label> labels) {
    out_ += name;
    if (labels.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += escape_label_value(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
  }

  std::string out_;
};

using Totals = lcore::CounterTotals;

// Per-lcore counters that are one field of CounterTotals each, in the order they are written.
struct LcoreMetric {
  const char* name;
  const char* type;
  const char* help;
  uint64_t Totals::*field;
};
constexpr LcoreMetric kLcoreMetrics[] = {
    {"portico_lcore_rx_packets_total", "counter", "Frames received on the uplinks.", &Totals::rx},
    {"portico_lcore_tx_packets_total", "counter",
     "Frames sent on the uplinks (replies, forwards, frames from the kernel, announcements).",
     &Totals::tx},
    {"portico_lcore_punted_packets_total", "counter",
     "Frames handed to the kernel through the exception tap.", &Totals::punted},
    {"portico_lcore_from_kernel_packets_total", "counter",
     "Frames the kernel sent through the exception tap.", &Totals::from_kernel},
    {"portico_lcore_announced_packets_total", "counter",
     "Frames sent for the control thread (gratuitous ARP, unsolicited NA, neighbor probes).",
     &Totals::announced},
    {"portico_flows_created_total", "counter", "Connection records created.", &Totals::new_flows},
    {"portico_flows_stateless_total", "counter",
     "New flows balanced without a record because the connection table was full.",
     &Totals::stateless_flows},
    {"portico_flows_backend_gone_total", "counter", "Flows whose backend was removed by a reload.",
     &Totals::backend_gone},
    {"portico_flows_expired_total", "counter", "Connection records freed by the expiry sweep.",
     &Totals::expired},
    {"portico_connections", "gauge", "Live connection records.", &Totals::conns},
    {"portico_handoffs_sent_total", "counter", "Frames passed to the worker that owns their flow.",
     &Totals::handoffs_out},
    {"portico_handoffs_received_total", "counter", "Frames received from other workers.",
     &Totals::handoffs_in},
    {"portico_neighbor_held_packets_total", "counter",
     "Frames put on hold until their next hop's MAC address was known.", &Totals::held},
    {"portico_neighbor_released_packets_total", "counter",
     "Held frames sent once their next hop's MAC address was known.", &Totals::released},
    {"portico_l7_consumed_packets_total", "counter", "Client frames the HTTP (L7) path took in.",
     &Totals::consumed},
};

// Label values of the reply and forward kinds (nf::ReplyKind, nf::ForwardKind order); the same
// words as the stats log line.
constexpr const char* kReplyKinds[] = {"arp",       "nd",      "echo",      "echo6",
                                       "tcp_reset", "syn_ack", "l7_segment"};
constexpr const char* kForwardKinds[] = {"to_backend",      "to_backend_ipip", "to_backend_ip6ip6",
                                         "to_client",       "icmp_to_backend", "icmp_to_client",
                                         "reset_to_client", "l7_to_backend"};
static_assert(std::size(kReplyKinds) == lcore::kReplyKinds);
static_assert(std::size(kForwardKinds) == lcore::kForwardKinds);

// One metric per nf::l7::Counters field: portico_l7_<name>_total.
struct L7Metric {
  const char* name;
  const char* help;
};
constexpr L7Metric kL7Metrics[] = {
    {"syn_cookies", "SYN-ACKs with a SYN cookie sent to clients of HTTP listeners."},
    {"cookie_accepted", "Client ACKs whose SYN cookie passed: HTTP connections accepted."},
    {"cookie_rejected", "ACKs to an HTTP listener with a wrong SYN cookie."},
    {"heads", "HTTP request heads parsed and classified."},
    {"bad_requests", "Requests answered 400 Bad Request."},
    {"heads_too_large", "Requests answered 431 Request Header Fields Too Large."},
    {"not_found", "Requests answered 404 Not Found (no listener or rule)."},
    {"responses", "Other answers of Portico's own (500, 503, redirects)."},
    {"no_backend", "Requests answered 503 because no endpoint of the pool takes new flows."},
    {"no_snat_port", "Requests answered 503 because no SNAT port was free for the backend."},
    {"backend_refused", "Requests answered 503 because the backend reset the connection."},
    {"backend_syns", "Backend connections opened."},
    {"spliced", "Backend connections that acknowledged the replayed head (spliced)."},
    {"retransmits", "SYNs, replayed heads and responses sent again."},
    {"timeouts", "HTTP connections given up (handshake or head too slow)."},
    {"out_of_order", "Request head segments after a gap (answered with a duplicate ACK)."},
    {"no_slot", "Accepted connections reset because no slot or head buffer was free."},
    {"no_mbuf", "Extra frames that could not be allocated."},
    {"splice_malformed", "Spliced segments with malformed TCP options."},
    {"bad_checksum", "Request head segments with a wrong TCP checksum."},
};
constexpr const char* kL7MacroNames[] = {
#define PORTICO_L7_METRIC_NAME(name, text) text,
    PORTICO_L7_COUNTERS(PORTICO_L7_METRIC_NAME)
#undef PORTICO_L7_METRIC_NAME
};
constexpr bool l7_tables_agree() {
  if (std::size(kL7Metrics) != std::size(kL7MacroNames)) return false;
  for (size_t i = 0; i < std::size(kL7Metrics); ++i) {
    if (std::string_view(kL7Metrics[i].name) != kL7MacroNames[i]) return false;
  }
  return true;
}
static_assert(std::size(kL7Metrics) == lcore::kL7Counters && l7_tables_agree(),
              "kL7Metrics must follow PORTICO_L7_COUNTERS (nf/l7.h)");

struct PortMetric {
  const char* name;
  const char* help;
  uint64_t PortValues::*field;
};
constexpr PortMetric kPortMetrics[] = {
    {"portico_port_rx_packets_total", "Frames the port received (rte_eth_stats ipackets).",
     &PortValues::rx_packets},
    {"portico_port_tx_packets_total", "Frames the port sent (opackets).", &PortValues::tx_packets},
    {"portico_port_rx_bytes_total", "Bytes the port received (ibytes).", &PortValues::rx_bytes},
    {"portico_port_tx_bytes_total", "Bytes the port sent (obytes).", &PortValues::tx_bytes},
    {"portico_port_rx_errors_total", "Erroneous frames the port received (ierrors).",
     &PortValues::rx_errors},
    {"portico_port_tx_errors_total", "Frames the port failed to send (oerrors).",
     &PortValues::tx_errors},
    {"portico_port_rx_missed_total",
     "Frames the port dropped for lack of free receive descriptors (imissed).",
     &PortValues::rx_missed},
    {"portico_port_rx_nombuf_total", "Receive buffer allocation failures (rx_nombuf).",
     &PortValues::rx_nombuf},
};

struct BgpMetric {
  const char* name;
  const char* type;
  const char* help;
  uint64_t BgpPeerValues::*field;
};
constexpr BgpMetric kBgpMetrics[] = {
    {"portico_bgp_established_transitions_total", "counter",
     "Times the session reached Established.", &BgpPeerValues::established_transitions},
    {"portico_bgp_updates_sent_total", "counter", "UPDATE messages sent.",
     &BgpPeerValues::updates_sent},
    {"portico_bgp_updates_received_total", "counter", "UPDATE messages received.",
     &BgpPeerValues::updates_received},
    {"portico_bgp_prefixes_advertised", "gauge",
     "Prefixes advertised to the peer now (Adj-RIB-Out).", &BgpPeerValues::prefixes_advertised},
    {"portico_bgp_prefixes_received_total", "counter",
     "Prefixes received from the peer (counted and discarded).", &BgpPeerValues::prefixes_received},
    {"portico_bgp_notifications_sent_total", "counter", "NOTIFICATION messages sent.",
     &BgpPeerValues::notifications_sent},
    {"portico_bgp_notifications_received_total", "counter", "NOTIFICATION messages received.",
     &BgpPeerValues::notifications_received},
};

std::string lcore_label(unsigned lcore) { return std::to_string(lcore); }

}  // namespace

std::string escape_label_value(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* build_version() { return PORTICO_VERSION; }

std::string render(const Values& v) {
  Text t;
  t.family("portico_info", "gauge", "Always 1; the labels describe this Portico.");
  t.sample("portico_info", {{"version", v.version}}, uint64_t{1});
  t.family("portico_config_generation", "gauge",
           "Generation of the Snapshot the workers run (one more per successful reload).");
  t.sample("portico_config_generation", {}, v.generation);
  t.family("portico_config_last_reload_success", "gauge",
           "1 if the last configuration load (start-up or reload) succeeded, 0 if it was "
           "rejected (the previous configuration stays).");
  t.sample("portico_config_last_reload_success", {}, uint64_t{v.last_reload_success ? 1u : 0u});
  t.family("portico_config_last_reload_timestamp_seconds", "gauge",
           "Unix time of the last configuration load, successful or not.");
  t.sample("portico_config_last_reload_timestamp_seconds", {}, v.last_reload_timestamp_seconds);
  t.family("portico_announce_failures_total", "counter",
           "Announcement and neighbor probe frames the control thread could not queue.");
  t.sample("portico_announce_failures_total", {}, v.announce_failures);

  // ---- per worker lcore ----
  std::vector<std::string> lcores;
  for (const auto& l : v.lcores) lcores.push_back(lcore_label(l.lcore));
  for (const auto& m : kLcoreMetrics) {
    t.family(m.name, m.type, m.help);
    for (size_t i = 0; i < v.lcores.size(); ++i) {
      t.sample(m.name, {{"lcore", lcores[i]}}, v.lcores[i].counters.*m.field);
    }
  }
  t.family("portico_replies_total", "counter",
           "Frames the data plane answered itself, by kind (ARP, NDP, echo, TCP reset, L7).");
  for (size_t i = 0; i < v.lcores.size(); ++i) {
    for (int k = 0; k < lcore::kReplyKinds; ++k) {
      t.sample("portico_replies_total", {{"lcore", lcores[i]}, {"kind", kReplyKinds[k]}},
               v.lcores[i].counters.replies[k]);
    }
  }
  t.family("portico_forwards_total", "counter", "L4 and L7 frames sent on, by kind.");
  for (size_t i = 0; i < v.lcores.size(); ++i) {
    for (int k = 0; k < lcore::kForwardKinds; ++k) {
      t.sample("portico_forwards_total", {{"lcore", lcores[i]}, {"kind", kForwardKinds[k]}},
               v.lcores[i].counters.forwarded[k]);
    }
  }
  t.family("portico_drops_total", "counter",
           "Frames dropped, by reason (the names of nf/drop_reason.h).");
  for (size_t i = 0; i < v.lcores.size(); ++i) {
    for (int r = 0; r < nf::kDropReasonCount; ++r) {
      t.sample(
          "portico_drops_total",
          {{"lcore", lcores[i]}, {"reason", nf::drop_reason_name(static_cast<nf::DropReason>(r))}},
          v.lcores[i].counters.dropped[r]);
    }
  }
  for (int k = 0; k < lcore::kL7Counters; ++k) {
    const std::string name = std::string("portico_l7_") + kL7Metrics[k].name + "_total";
    t.family(name, "counter", kL7Metrics[k].help);
    for (size_t i = 0; i < v.lcores.size(); ++i) {
      t.sample(name, {{"lcore", lcores[i]}}, v.lcores[i].counters.l7[k]);
    }
  }
  if (v.tsc_hz != 0) {
    const double hz = static_cast<double>(v.tsc_hz);
    struct Seconds {
      const char* name;
      const char* help;
      uint64_t Totals::*field;
    };
    static constexpr Seconds kSeconds[] = {
        {"portico_lcore_busy_seconds_total",
         "Time in worker loop iterations that handled at least one frame.", &Totals::busy_cycles},
        {"portico_lcore_idle_seconds_total",
         "Time in worker loop iterations that handled nothing, idle sleeps included.",
         &Totals::idle_cycles},
        {"portico_lcore_driver_seconds_total",
         "The part of the busy time spent inside the port drivers' rx and tx calls.",
         &Totals::driver_cycles},
    };
    for (const auto& s : kSeconds) {
      t.family(s.name, "counter", s.help);
      for (size_t i = 0; i < v.lcores.size(); ++i) {
        t.sample(s.name, {{"lcore", lcores[i]}},
                 static_cast<double>(v.lcores[i].counters.*s.field) / hz);
      }
    }
  }

  // ---- per port ----
  for (const auto& m : kPortMetrics) {
    t.family(m.name, "counter", m.help);
    for (const auto& p : v.ports) t.sample(m.name, {{"interface", p.interface}}, p.*m.field);
  }

  // ---- traffic per VIP, service port and backend ----
  // Families only when something is configured, so a node without Services says nothing.
  if (!v.vips.empty() || !v.services.empty() || !v.backends.empty()) {
    struct Kind {
      const char* prefix;  // "portico_vip", ...
      const char* what;    // for HELP
    };
    for (const Kind k : {Kind{"portico_vip", "VIP"}, Kind{"portico_service", "service port"},
                         Kind{"portico_backend", "backend"}}) {
      const std::string p = k.prefix;
      t.family(p + "_packets_total", "counter",
               std::string("Packets of the ") + k.what +
                   "'s flows: direction=in client to backend, out backend to client.");
      const auto each = [&](auto&& emit) {
        if (p == "portico_vip") {
          for (const auto& x : v.vips) emit(std::vector<Label>{{"vip", x.vip}}, x.traffic);
        } else if (p == "portico_service") {
          for (const auto& x : v.services) {
            emit(std::vector<Label>{{"service", x.service}, {"vip", x.vip},
                                    {"protocol", x.protocol}, {"port", std::to_string(x.port)}},
                 x.traffic);
          }
        } else {
          for (const auto& x : v.backends) {
            emit(std::vector<Label>{{"service", x.service}, {"vip", x.vip},
                                    {"port", std::to_string(x.port)}, {"backend", x.backend}},
                 x.traffic);
          }
        }
      };
      each([&](std::vector<Label> l, const TrafficValues& c) {
        l.push_back({"direction", "in"});
        t.sample_v(p + "_packets_total", l, c.packets_in);
        l.back().second = "out";
        t.sample_v(p + "_packets_total", l, c.packets_out);
      });
      t.family(p + "_bytes_total", "counter",
               std::string("Bytes (frames as received) of the ") + k.what +
                   "'s flows, by direction as for packets.");
      each([&](std::vector<Label> l, const TrafficValues& c) {
        l.push_back({"direction", "in"});
        t.sample_v(p + "_bytes_total", l, c.bytes_in);
        l.back().second = "out";
        t.sample_v(p + "_bytes_total", l, c.bytes_out);
      });
      t.family(p + "_connections_total", "counter",
               std::string("New flows (connections) of the ") + k.what + ".");
      each([&](std::vector<Label> l, const TrafficValues& c) {
        t.sample_v(p + "_connections_total", l, c.connections);
      });
    }
    t.family("portico_backend_draining", "gauge",
             "1 while the backend is draining (serving-terminating or drained through the "
             "API): it keeps its flows and takes no new ones.");
    for (const auto& x : v.backends) {
      t.sample_v("portico_backend_draining",
                 {{"service", x.service}, {"vip", x.vip}, {"port", std::to_string(x.port)},
                  {"backend", x.backend}},
                 uint64_t{x.draining ? 1u : 0u});
    }
  }

  // ---- BGP ----
  t.family("portico_bgp_session_up", "gauge", "1 if the BGP session is Established, else 0.");
  for (const auto& p : v.bgp_peers) {
    t.sample("portico_bgp_session_up", {{"peer", p.peer}, {"address", p.address}},
             uint64_t{p.state == "Established" ? 1u : 0u});
  }
  t.family("portico_bgp_session_state", "gauge",
           "BGP FSM state of the session: 1 for the current state, 0 for the others.");
  for (const auto& p : v.bgp_peers) {
    for (const char* s : kBgpStates) {
      t.sample("portico_bgp_session_state", {{"peer", p.peer}, {"state", s}},
               uint64_t{p.state == s ? 1u : 0u});
    }
  }
  for (const auto& m : kBgpMetrics) {
    t.family(m.name, m.type, m.help);
    for (const auto& p : v.bgp_peers) t.sample(m.name, {{"peer", p.peer}}, p.*m.field);
  }

  // ---- Kubernetes sync (only when configured) ----
  if (v.k8s.enabled) {
    const K8sValues& k = v.k8s;
    t.family("portico_k8s_informer_state", "gauge",
             "State of the list+watch of a kind: 1 for the current state, 0 for the others.");
    for (const auto& x : k.kinds) {
      for (const char* s : kK8sStates) {
        t.sample("portico_k8s_informer_state", {{"kind", x.kind}, {"state", s}},
                 uint64_t{x.state == s ? 1u : 0u});
      }
    }
    t.family("portico_k8s_informer_synced", "gauge",
             "1 once the kind has been listed in full at least once.");
    for (const auto& x : k.kinds)
      t.sample("portico_k8s_informer_synced", {{"kind", x.kind}}, uint64_t{x.synced ? 1u : 0u});
    t.family("portico_k8s_informer_relists_total", "counter",
             "Full lists after the first (410 Gone, a bad event, an error).");
    for (const auto& x : k.kinds) t.sample("portico_k8s_informer_relists_total", {{"kind", x.kind}}, x.relists);
    t.family("portico_k8s_informer_watch_restarts_total", "counter",
             "Watches opened again after one ended (normally or not).");
    for (const auto& x : k.kinds)
      t.sample("portico_k8s_informer_watch_restarts_total", {{"kind", x.kind}}, x.watch_restarts);
    t.family("portico_k8s_informer_errors_total", "counter",
             "Failed list or watch requests and unusable objects or events.");
    for (const auto& x : k.kinds) t.sample("portico_k8s_informer_errors_total", {{"kind", x.kind}}, x.errors);
    t.family("portico_k8s_leader", "gauge",
             "1 while this node holds the Lease that makes it the status writer.");
    t.sample("portico_k8s_leader", {}, uint64_t{k.leading ? 1u : 0u});
    t.family("portico_k8s_leader_transitions_total", "counter",
             "Times the Lease changed hands, as this node observed it.");
    t.sample("portico_k8s_leader_transitions_total", {}, k.leader_transitions);
    t.family("portico_k8s_status_writes_total", "counter",
             "Status writes to the API server by result (unchanged ones send nothing).");
    t.sample("portico_k8s_status_writes_total", {{"result", "written"}}, k.status_written);
    t.sample("portico_k8s_status_writes_total", {{"result", "error"}}, k.status_errors);
    t.family("portico_k8s_objects_rejected_total", "counter",
             "Objects of the cluster left out of the configuration (each time a sync rejects one).");
    t.sample("portico_k8s_objects_rejected_total", {}, k.objects_rejected);
    t.family("portico_k8s_last_sync_timestamp_seconds", "gauge",
             "Unix time the cluster's objects were last taken into the configuration.");
    t.sample("portico_k8s_last_sync_timestamp_seconds", {}, k.last_sync_timestamp_seconds);
  }
  return t.take();
}

// ================================ HTTP ================================

std::string parse_listen_address(std::string_view text, ListenAddress* out) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return quoted + ": expected [IPv6]:port";
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return quoted + ": \"" + std::string(host) + "\" is not an IPv6 address";
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return quoted + ": expected host:port";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host == "localhost") host = "127.0.0.1";
    in_addr a4;
    if (!host.empty() && inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
      return quoted + ": \"" + std::string(host) +
             "\" is not an IPv4 address (write IPv6 as [address]:port)";
    }
  }
  unsigned value = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || value > 65535) {
    return quoted + ": the port must be a number from 0 to 65535";
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(value);
  return "";
}

namespace {

std::string response(std::string_view status, std::string_view content_type,
                     const std::string& body, bool with_body, std::string_view extra = {}) {
  std::string out = "HTTP/1.1 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n";
  out += extra;
  out += "\r\n";
  if (with_body) out += body;
  return out;
}

std::string plain(std::string_view status, bool with_body, std::string_view extra = {}) {
  return response(status, "text/plain; charset=utf-8", std::string(status) + "\n", with_body,
                  extra);
}

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// Position just past the blank line ending the head, or npos.
size_t head_end(std::string_view in) {
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::string_view::npos;
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) {
    return crlf + 4;
  }
  return lf + 2;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string answer(std::string_view head, const Server::Collect& collect) {
  // Request line: method SP request-target SP HTTP-version (RFC 9112 3).
  const size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0) {
    return plain("400 Bad Request", true);
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!std::all_of(method.begin(), method.end(), is_token_char) || target.empty() ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return plain("400 Bad Request", true);
  }
  const bool head_only = method == "HEAD";
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return plain("404 Not Found", !head_only);
  if (method != "GET" && !head_only) {
    return plain("405 Method Not Allowed", true, "Allow: GET, HEAD\r\n");
  }
  std::string body;
  try {
    body = collect();
  } catch (const std::exception&) {
    return plain("500 Internal Server Error", !head_only);
  }
  return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body, !head_only);
}

Server::Server(Collect collect, Limits limits) : collect_(std::move(collect)), limits_(limits) {}

Server::~Server() { stop(); }

std::string Server::start(std::string_view address) {
  if (thread_.joinable()) return "the metrics server is already running";
  ListenAddress la;
  if (std::string err = parse_listen_address(address, &la); !err.empty()) return err;
  const bool v6 = la.host.find(':') != std::string::npos;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(la.port);
    inet_pton(AF_INET6, la.host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(la.port);
    a->sin_addr.s_addr = htonl(INADDR_ANY);
    if (!la.host.empty()) inet_pton(AF_INET, la.host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 64) != 0) {
    const std::string err = std::string(address) + ": " + std::strerror(errno);
    close(fd);
    return err;
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    close(fd);
    return std::string("eventfd: ") + std::strerror(errno);
  }
  listen_fd_ = fd;
  thread_ = std::thread([this] { serve(); });
  pthread_setname_np(thread_.native_handle(), "portico-metrics");
  return "";
}

void Server::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

// The metrics thread: accepts, reads a head, answers, closes; every client in one poll().
void Server::serve() {
  struct Client {
    int fd;
    int64_t deadline;
    std::string in;
    std::string out;  // the answer, once the head is complete
    size_t sent = 0;
  };
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  char buf[4096];
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    // At the limit the listener is not polled: new clients wait in the backlog.
    const bool accepting = clients.size() < limits_.max_clients;
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    int64_t next = -1;
    for (const auto& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      next = next < 0 ? c.deadline : std::min(next, c.deadline);
    }
    const int timeout = next < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, next - now_ms()));
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;

    const int64_t now = now_ms();
    // Clients first (fds[2..] match clients[] as they were when polled).
    std::vector<Client> kept;
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short ev = fds[i + 2].revents;
      bool done = false;
      if (c.out.empty() && (ev & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          done = true;  // gone before its request was complete
        } else if (n > 0) {
          c.in.append(buf, static_cast<size_t>(n));
          const size_t end = head_end(c.in);
          if (end != std::string::npos && end <= limits_.max_request_bytes) {
            c.out = answer(std::string_view(c.in).substr(0, end), collect_);
          } else if (c.in.size() > limits_.max_request_bytes) {
            c.out = plain("431 Request Header Fields Too Large", true);
          }
          if (!c.out.empty()) requests_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (!done && !c.out.empty() && (ev & (POLLOUT | POLLIN)) != 0) {
        const ssize_t n =
            send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) c.sent += static_cast<size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || c.sent == c.out.size()) done = true;
      }
      if (!done && (ev & POLLERR) != 0) done = true;
      if (!done && now >= c.deadline) done = true;  // too slow: dropped without an answer
      if (done) {
        close(c.fd);
      } else {
        kept.push_back(std::move(c));
      }
    }
    clients = std::move(kept);

    if (accepting && fds[1].revents != 0) {
      while (clients.size() < limits_.max_clients) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;  // EAGAIN, or a client that went away (ECONNABORTED): next round
        clients.push_back({fd, now + limits_.client_timeout_ms, {}, {}, 0});
      }
    }
  }
  for (auto& c : clients) close(c.fd);
}

}  // namespace control::metrics
