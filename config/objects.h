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
  // metadata.creationTimestamp as Unix seconds (RFC 3339 in YAML); 0 when absent. Gateway API
  // route precedence orders by it; files without it tie and fall back to namespace/name.
  int64_t creation_timestamp = 0;
  // metadata.generation; 1 when absent (the API server starts at 1). Status observedGeneration.
  int64_t generation = 1;
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
    // spec.api.grpc: "unix:///PATH" (root only), or "tcp://HOST:PORT" / "HOST:PORT" with tls;
    // absent = the default below, "" = no API.
    std::string grpc = "unix:///run/portico/api.sock";
    std::string metrics;
    // spec.api.stateDir (extension): objects created through the API, one YAML file each.
    std::string state_dir = "/var/lib/portico/api";
    // spec.api.tls (extension): required for a TCP address; clients must present a
    // certificate signed by clientCAFile.
    struct Tls {
      std::string cert_file;
      std::string key_file;
      std::string client_ca_file;
    } tls;
  } api;
  // Sync from a Kubernetes API server (control/k8s; docs/kubernetes.md).
  struct Kubernetes {
    std::string kubeconfig;  // "": files only; "in-cluster": the pod's service account; else a
                             // path or a ':'-separated list, as KUBECONFIG
    std::string context;     // "": the kubeconfig's current-context
    // One node of several writes status, chosen by a coordination.k8s.io/v1 Lease.
    struct LeaderElection {
      std::string lease_namespace = "portico-system";
      std::string lease_name = "portico-status-writer";
      std::string identity;  // "": the node's name
      uint64_t lease_duration_ms = 15000;
      uint64_t renew_deadline_ms = 10000;
      uint64_t retry_period_ms = 2000;
    } leader_election;
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

// core/v1 Secret: only what BGPPeer.passwordSecret reads (type kubernetes.io/basic-auth, key
// "password"). `data` values are base64-decoded at load; `stringData` wins over `data` as the API
// server merges them. Values never appear in messages, dumps or logs.
struct Secret {
  ObjectMeta meta;
  SourceRef src;
  std::string type;  // "kubernetes.io/basic-auth", "Opaque", ...
  std::map<std::string, std::string> data;
};

// BGP (MetalLB's native-mode fields plus the FRR-mode ones Portico's own speaker implements).
// BGPPeer is read at metallb.io/v1beta2 (stored) and v1beta1; BGPAdvertisement and Community at
// v1beta1. Durations are whole seconds on the wire; kept in milliseconds as written.
struct SecretReference {
  std::string name;
  std::string namespace_;
};

struct BGPPeer {
  ObjectMeta meta;
  SourceRef src;
  uint32_t my_asn = 0;    // myASN, required, non-zero
  uint32_t peer_asn = 0;  // peerASN, required here (dynamicASN is refused: Portico needs it)
  IpAddress peer_address;                   // peerAddress, required
  std::optional<IpAddress> source_address;  // sourceAddress
  uint16_t peer_port = 179;                 // peerPort 1..16384
  // holdTime / keepaliveTime as written; derived per MetalLB when only one is given
  // (keepalive = hold/3, hold = 3 x keepalive); default hold 90 s. 0 = no keepalives.
  uint64_t hold_time_ms = 90000;
  uint64_t keepalive_time_ms = 30000;
  uint64_t connect_time_ms = 0;       // connectTime: ConnectRetry base; 0 = Portico's default
  std::optional<IpAddress> router_id;  // routerID (IPv4)
  std::vector<LabelSelector> node_selectors;
  std::string password;  // TCP-MD5 key, never printed
  std::optional<SecretReference> password_secret;
  bool ebgp_multi_hop = false;
  bool enable_graceful_restart = false;
  std::string bfd_profile;  // accepted and reported as not supported (warning)
};

// One community an advertisement attaches: standard (RFC 1997) or large (RFC 8092).
struct BgpCommunity {
  bool large = false;
  uint32_t value = 0;             // standard: AA << 16 | NN
  uint32_t large_parts[3] = {};   // large: global administrator, local data 1, local data 2
  std::string text;               // as written ("64512:100", "large:1:2:3", or an alias)
  bool operator==(const BgpCommunity& o) const {
    return large == o.large && value == o.value && large_parts[0] == o.large_parts[0] &&
           large_parts[1] == o.large_parts[1] && large_parts[2] == o.large_parts[2];
  }
};

struct BGPAdvertisement {
  ObjectMeta meta;
  SourceRef src;
  uint8_t aggregation_length = 32;      // aggregationLength 1..32
  uint8_t aggregation_length_v6 = 128;  // aggregationLengthV6 1..128
  std::optional<uint32_t> local_pref;   // localPref (sent to iBGP peers only)
  // communities as written: "AA:NN", "large:A:B:C", or a Community alias name. Aliases are
  // resolved by the planner (an unknown alias is a warning then: it may be created later).
  std::vector<std::string> communities;
  std::vector<std::string> ip_address_pools;
  std::vector<LabelSelector> ip_address_pool_selectors;
  std::vector<LabelSelector> node_selectors;
  std::vector<LabelSelector> service_selectors;
  std::vector<std::string> peers;  // BGPPeer names; empty = all peers
};

struct CommunityAlias {
  std::string name;
  BgpCommunity value;
};

struct Community {
  ObjectMeta meta;
  SourceRef src;
  std::vector<CommunityAlias> communities;
};

// Parses "AA:NN" (two 16-bit numbers), the well-known names are NOT accepted here (MetalLB
// accepts only numbers), or "large:A:B:C" (three 32-bit numbers). Returns false on anything else.
bool parse_bgp_community(const std::string& text, BgpCommunity* out);

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

// ---- gateway.networking.k8s.io (v1; v1beta1 read the same) ----
// Field names follow the Gateway API types (gateway_types.go, httproute_types.go). Defaults the
// CRD applies are applied by the loader, so code reading these never re-derives them.

struct GatewayClass {
  ObjectMeta meta;  // cluster-scoped
  SourceRef src;
  std::string controller_name;  // spec.controllerName; Portico serves portico.io/gateway-controller
  std::string description;
  bool has_parameters_ref = false;  // spec.parametersRef set (Portico takes none: InvalidParameters)
  std::string parameters_ref;       // "group/kind/namespace/name" as written, for messages
};

struct RouteGroupKind {
  std::string group = "gateway.networking.k8s.io";
  std::string kind;
};

struct SecretObjectReference {
  std::string group;  // "" = core
  std::string kind = "Secret";
  std::string name;
  std::string namespace_;  // empty = the referring object's namespace
};

enum class FromNamespaces : uint8_t { kSame, kAll, kSelector };

struct GatewayListener {
  std::string name;
  std::string hostname;  // empty = any host; may start with "*."
  uint16_t port = 0;
  std::string protocol;  // HTTP, HTTPS, TLS, TCP, UDP or domain-prefixed
  struct Tls {
    std::string mode = "Terminate";  // Terminate | Passthrough
    std::vector<SecretObjectReference> certificate_refs;
    std::map<std::string, std::string> options;
  };
  std::optional<Tls> tls;
  struct AllowedRoutes {
    FromNamespaces from = FromNamespaces::kSame;
    std::optional<LabelSelector> selector;  // set when from == kSelector
    std::vector<RouteGroupKind> kinds;      // empty = the kinds the protocol implies
  } allowed_routes;
  int line = 0;  // 1-based line of the listener entry, for messages
};

struct GatewayAddress {
  std::string type = "IPAddress";  // IPAddress | Hostname | domain-prefixed
  std::string value;               // empty = let the implementation choose (from a pool)
};

struct Gateway {
  ObjectMeta meta;
  SourceRef src;
  std::string gateway_class_name;
  std::vector<GatewayListener> listeners;
  std::vector<GatewayAddress> addresses;  // spec.addresses
  struct Infrastructure {
    Labels labels;
    std::map<std::string, std::string> annotations;  // metallb.io/address-pool etc. read here
  } infrastructure;
};

struct ParentReference {
  std::string group = "gateway.networking.k8s.io";
  std::string kind = "Gateway";
  std::string namespace_;    // empty = the route's namespace
  std::string name;
  std::string section_name;  // empty = every listener
  uint16_t port = 0;         // 0 = any port
};

enum class PathMatchType : uint8_t { kExact, kPathPrefix, kRegularExpression };
enum class StringMatchType : uint8_t { kExact, kRegularExpression };

struct HttpPathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
};

struct HttpHeaderMatch {
  StringMatchType type = StringMatchType::kExact;
  std::string name;  // headers: case-insensitive; query params: exact
  std::string value;
};

struct HttpRouteMatch {
  HttpPathMatch path;  // defaulted to PathPrefix "/" when omitted
  std::vector<HttpHeaderMatch> headers;
  std::vector<HttpHeaderMatch> query_params;
  std::string method;  // empty = any; else GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpHeaderFilter {
  std::vector<HttpHeader> set;
  std::vector<HttpHeader> add;
  std::vector<std::string> remove;
};

enum class PathModifierType : uint8_t { kReplaceFullPath, kReplacePrefixMatch };

struct HttpPathModifier {
  PathModifierType type = PathModifierType::kReplaceFullPath;
  std::string value;  // replaceFullPath or replacePrefixMatch
};

struct HttpRequestRedirectFilter {
  std::string scheme;    // empty = the request's
  std::string hostname;  // empty = the request's
  std::optional<HttpPathModifier> path;
  uint16_t port = 0;         // 0 = unset
  uint16_t status_code = 302;
};

struct HttpUrlRewriteFilter {
  std::string hostname;  // empty = unchanged
  std::optional<HttpPathModifier> path;
};

struct HttpRouteFilter {
  // RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror,
  // CORS, ExtensionRef, or anything else as written (then reported UnsupportedValue).
  std::string type;
  std::optional<HttpHeaderFilter> request_header_modifier;
  std::optional<HttpHeaderFilter> response_header_modifier;
  std::optional<HttpRequestRedirectFilter> request_redirect;
  std::optional<HttpUrlRewriteFilter> url_rewrite;
};

struct HttpBackendRef {
  std::string group;  // "" = core
  std::string kind = "Service";
  std::string name;
  std::string namespace_;  // empty = the route's namespace
  uint16_t port = 0;       // required for Service
  uint32_t weight = 1;     // 0..1000000
  std::vector<HttpRouteFilter> filters;
};

struct HttpRouteRule {
  std::string name;                     // optional
  std::vector<HttpRouteMatch> matches;  // defaulted to one PathPrefix "/" match when omitted
  std::vector<HttpRouteFilter> filters;
  std::vector<HttpBackendRef> backend_refs;
  int line = 0;
};

struct HttpRoute {
  ObjectMeta meta;
  SourceRef src;
  std::vector<ParentReference> parent_refs;
  std::vector<std::string> hostnames;
  std::vector<HttpRouteRule> rules;  // defaulted to one rule with one PathPrefix "/" match
};

struct ReferenceGrantFrom {
  std::string group;
  std::string kind;
  std::string namespace_;
};

struct ReferenceGrantTo {
  std::string group;  // "" = core
  std::string kind;
  std::string name;   // empty = every object of that kind in the grant's namespace
};

struct ReferenceGrant {
  ObjectMeta meta;
  SourceRef src;
  std::vector<ReferenceGrantFrom> from;
  std::vector<ReferenceGrantTo> to;
};

// Everything loaded from all sources, in input order within each kind.
struct ObjectSet {
  std::vector<NodeConfig> node_configs;  // exactly one for `run`
  std::vector<Namespace> namespaces;
  std::vector<IPAddressPool> pools;
  std::vector<L2Advertisement> l2_advertisements;
  std::vector<BGPPeer> bgp_peers;
  std::vector<BGPAdvertisement> bgp_advertisements;
  std::vector<Community> communities;
  std::vector<Secret> secrets;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<GatewayClass> gateway_classes;
  std::vector<Gateway> gateways;
  std::vector<HttpRoute> http_routes;
  std::vector<ReferenceGrant> reference_grants;
  std::vector<OtherObject> others;
};

// "Kind/namespace/name" or "Kind/name" for cluster-scoped kinds, as messages name objects.
std::string object_ref(const std::string& kind, const ObjectMeta& meta);

}  // namespace config
