// Typed Kubernetes objects Portico reads, as the control thread holds them.
//
// These mirror the fields of the upstream kinds that Portico acts on (metallb.io v1beta1,
// core/v1 Service and Namespace, discovery.k8s.io/v1 EndpointSlice) plus Portico's own
// portico.io/v1alpha1 NodeConfig, whose schema is a contract: fields are added, never renamed.
// Every object remembers where it came from (file and 1-based line) so that errors and status
// can point back to it. Built by config::load(); read by IPAM and the Snapshot compiler.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/ip.h"
#include "config/label_selector.h"

namespace config {

using Labels = std::map<std::string, std::string>;

struct SourceRef {
  std::string file;  // as given on the command line (or "<grpc>", "<k8s>" later)
  int line = 0;      // 1-based line of the object's first key; 0 if unknown
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped kinds
  Labels labels;
  std::map<std::string, std::string> annotations;
};

// ---- portico.io/v1alpha1 NodeConfig ----

struct NodeInterface {
  std::string name;    // logical name ("uplink"), matched by L2Advertisement.interfaces
  std::string device;  // DPDK vdev spec ("net_af_packet0,iface=veth0") or PCI address
  std::vector<IpPrefix> addresses;  // the node's own addresses on this segment (go to the tap)
  uint16_t mtu = 1500;
  std::string tap;  // kernel tap name; default: spec.exception.tap renumbered by index
};

struct NodeRoute {
  IpPrefix destination;
  IpAddress gateway;
};

struct NodeConfig {
  ObjectMeta meta;  // meta.name is the node name; meta.labels are the node's labels
  SourceRef src;
  struct Dpdk {
    std::string lcores = "0-1";  // first = main (control) lcore, the rest are workers
    uint32_t memory_mb = 512;
    bool hugepages = false;
    std::vector<std::string> extra_args;
    uint32_t mbufs = 0;  // packet pool size (extension); 0 = sized from ports and workers
    // Idle back-off: after a run of empty polls a worker sleeps up to this long (extension).
    // 0 = always busy-poll (benchmarks).
    uint32_t idle_sleep_us = 100;
  } dpdk;
  std::vector<NodeInterface> interfaces;
  std::vector<NodeRoute> routes;
  struct Exception {
    std::string tap = "portico0";
  } exception;
  struct LoadBalancer {
    std::vector<IpAddress> snat_addresses;
    // Extensions for L4 balancing; all of them are sized at start-up (a reload does not apply
    // them). maglevTableSize: entries of each service port's Maglev lookup table, a prime.
    uint32_t maglev_table_size = 65537;
    // connectionsPerLcore: capacity of each worker's connection table.
    uint32_t connections_per_lcore = 262144;
    // timeouts: how long an idle connection entry lives, by state (durations such as "30s").
    struct Timeouts {
      uint64_t tcp_syn_ms = 30000;           // tcpSyn: only the client's SYN seen
      uint64_t tcp_established_ms = 900000;  // tcpEstablished
      uint64_t tcp_closing_ms = 60000;       // tcpClosing: FIN or RST seen
      uint64_t udp_ms = 60000;               // udp
    } timeouts;
  } load_balancer;
  // spec.neighbors (extension): the data plane's ARP/NDP table of next hops and backends.
  struct Neighbors {
    uint32_t capacity = 4096;       // entries
    uint64_t reachable_ms = 30000;  // reachableTime: an answered entry is trusted this long
    uint64_t retransmit_ms = 1000;  // retransmitTime: between probes of an unanswered entry
    uint32_t max_probes = 3;        // maxProbes: unanswered probes before an entry fails
  } neighbors;
  struct Api {
    std::string grpc;
    std::string metrics;
  } api;
  struct Kubernetes {
    std::string kubeconfig;
  } kubernetes;
};

// ---- metallb.io/v1beta1 ----

struct PoolEntry {
  std::string text;  // as written, for messages
  IpRange range;
};

struct ServiceAllocation {
  int priority = 0;  // lower is preferred; 0 = after every pool with a priority
  std::vector<std::string> namespaces;
  std::vector<LabelSelector> namespace_selectors;
  std::vector<LabelSelector> service_selectors;
};

struct IPAddressPool {
  ObjectMeta meta;
  SourceRef src;
  std::vector<PoolEntry> addresses;
  bool auto_assign = true;
  bool avoid_buggy_ips = false;
  std::optional<ServiceAllocation> service_allocation;
};

struct L2Advertisement {
  ObjectMeta meta;
  SourceRef src;
  std::vector<std::string> ip_address_pools;
  std::vector<LabelSelector> ip_address_pool_selectors;
  std::vector<LabelSelector> node_selectors;
  std::vector<LabelSelector> service_selectors;
  std::vector<std::string> interfaces;
};

// ---- core/v1 ----

struct Namespace {
  ObjectMeta meta;
  SourceRef src;
};

enum class IpFamilyPolicy : uint8_t { kSingleStack, kPreferDualStack, kRequireDualStack };

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";  // TCP, UDP or SCTP
  uint16_t port = 0;
  std::string target_port;  // number or name, as written; empty = same as port
  uint16_t node_port = 0;
};

struct Service {
  ObjectMeta meta;
  SourceRef src;
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::optional<std::string> load_balancer_class;
  std::string load_balancer_ip;  // spec.loadBalancerIP as written (deprecated upstream)
  std::vector<ServicePort> ports;
  std::string external_traffic_policy = "Cluster";  // Cluster or Local
  Labels selector;
  std::vector<std::string> cluster_ips;  // spec.clusterIPs (or spec.clusterIP); "None" = headless
  std::vector<IpFamily> ip_families;     // as written; empty = defaulted by IPAM
  IpFamilyPolicy ip_family_policy = IpFamilyPolicy::kSingleStack;
  bool ip_family_policy_set = false;
  // status.loadBalancer.ingress[].ip given in the input: addresses the Service already holds.
  std::vector<IpAddress> status_ingress;
};

// ---- discovery.k8s.io/v1 ----

struct EndpointConditions {
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
};

struct Endpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
  std::string node_name;
  std::string hostname;
  std::string zone;
};

struct EndpointPort {
  std::string name;
  std::string protocol = "TCP";
  uint16_t port = 0;
  std::string app_protocol;
};

struct EndpointSlice {
  ObjectMeta meta;
  SourceRef src;
  std::string address_type;  // IPv4, IPv6 or FQDN
  std::string service_name;  // label kubernetes.io/service-name
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
};

// A kind Portico does not (yet) act on: kept so that it can be reported, never dropped silently.
struct OtherObject {
  std::string api_version;
  std::string kind;
  ObjectMeta meta;
  SourceRef src;
};

// Everything loaded from all sources, in input order within each kind.
struct ObjectSet {
  std::vector<NodeConfig> node_configs;  // exactly one for `run`
  std::vector<Namespace> namespaces;
  std::vector<IPAddressPool> pools;
  std::vector<L2Advertisement> l2_advertisements;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<OtherObject> others;
};

// "Kind/namespace/name" or "Kind/name" for cluster-scoped kinds, as messages name objects.
std::string object_ref(const std::string& kind, const ObjectMeta& meta);

}  // namespace config
