// Which BGP sessions this node runs and which routes go to each peer (MetalLB's BGP speaker
// side, shared/reference/metallb.md §2.3, §2.4, §5.4; issue 5 point 3).
//
// Pure code run by the control thread on every configuration change (the runner hands the
// result to bgp::Speaker::configure() and set_routes()) and by `portico check`. No I/O, no
// clock, no DPDK: the same objects and plan always give the same AnnouncePlan.
//
// Sessions. A BGPPeer applies to this node when one of its nodeSelectors matches the
// NodeConfig's labels (none = every node). Its PeerConfig:
//  * name "namespace/name"; ASNs, address, port, sourceAddress, ebgpMultiHop and
//    enableGracefulRestart as written;
//  * router_id: routerID, else the first IPv4 address of the NodeConfig's interfaces (in
//    interface order), else CRC-32 of the node name (MetalLB's last resort; 1 if that is 0), so
//    every session of the node presents one stable BGP Identifier;
//  * hold and keepalive: milliseconds as loaded, in whole seconds (saturating at 65535); a hold
//    of 1 or 2 s, which RFC 4271 forbids, becomes 3 s with a warning;
//  * connect_retry_s: connectTime in seconds when given, else PeerConfig's own default (5 s,
//    doubled by the speaker up to 120 s): one default, kept in speaker.h;
//  * password: `password`, else the Secret named by passwordSecret (namespace defaults to the
//    peer's), key "password", type kubernetes.io/basic-auth (or unset). A missing Secret, key,
//    or a Secret of another type skips the peer with a warning (MetalLB treats the Secret as
//    transient: it may appear later, and the next plan picks the peer up). The password itself
//    never appears in a warning or event;
//  * a bfdProfile is not acted on (the loader warns); the session runs without BFD.
//
// Routes. For every address IPAM gave a Service or a Gateway (plan.ipam, kAssigned):
//  * usable endpoint: a Service needs a compiled L4 service port (control/services.h) on that
//    very address with an endpoint whose `terminating` is clear, i.e. one taking new flows (the
//    ready endpoints, or kube-proxy's serving-terminating fallback when none is ready, as
//    MetalLB counts "ready or serving"). externalTrafficPolicy is not consulted: Portico is the
//    load balancer in front of the cluster, not one of its nodes, so no endpoint is "local".
//    A Gateway needs, on a RouteModel port of that address (plan.gateway.model, i.e. a
//    programmed HTTP listener), an attached rule whose action either forwards to a resolved
//    backend Service with an endpoint of the address's family taking new flows (what the L7
//    data plane connects to for a client of that family), or redirects (Portico answers a
//    redirect itself, so an HTTP->HTTPS redirect Gateway keeps working with no backend).
//    Without one: no route, event "noUsableEndpoints";
//  * every BGPAdvertisement that selects the address's pool (ipAddressPools /
//    ipAddressPoolSelectors, all pools when both are empty), the holder (serviceSelectors
//    against the Service's labels; a Gateway's labels are spec.infrastructure.labels, as in
//    plan.cc) and this node (nodeSelectors) contributes: prefix = address masked to
//    aggregationLength (IPv4) / aggregationLengthV6 (IPv6); to the ad's `peers` (BGPPeer
//    metadata.name) or every peer of this node, of the address's family only (IPv4 routes to
//    IPv4 peerAddresses, IPv6 to IPv6: MetalLB's default); the ad's standard and large
//    communities, Community aliases resolved (an unknown alias or bad value is skipped with a
//    warning: it may be created later); the ad's localPref;
//  * contributions to the same (peer, prefix) merge into one route: communities are the union,
//    and localPref must agree (unset counts as a value: MetalLB compares the field, 0 = unset).
//    If any peer would get one prefix with two localPrefs, the prefix goes to no peer at all and
//    every holder that contributed gets "conflictingLocalPref" (MetalLB refuses to announce);
//  * an aggregate prefix stays while any holder inside it is announced;
//  * no BGPAdvertisement selects the holder: no route, event "notAnnounced". Events exist only
//    when the node has BGP sessions: a node without peers has nothing to say about BGP.
// Events use the style of plan.cc's l2_events: (type, lowerCamelCase reason, message naming the
// address), keyed like IPAM results (Service "namespace/name", Gateway "Gateway/ns/name").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/objects.h"
#include "control/bgp/codec.h"
#include "control/bgp/speaker.h"
#include "control/ipam.h"
#include "control/plan.h"
#include "control/services.h"

namespace bgp {

// One prefix as it goes to a group of peers that receive the very same route.
struct Announcement {
  Prefix prefix;
  std::vector<std::string> holders;         // "Service ns/name", "Gateway ns/name"; sorted
  std::vector<std::string> advertisements;  // BGPAdvertisement "namespace/name"; sorted
  std::vector<std::string> peers;           // PeerConfig names; sorted
  Route route;
};

struct AnnouncePlan {
  std::vector<PeerConfig> peers;                     // sessions this node runs, sorted by name
  std::map<std::string, std::vector<Route>> routes;  // per PeerConfig.name, sorted by prefix;
                                                     // every peer has an entry (maybe empty)
  std::vector<Announcement> announcements;           // sorted by prefix, then peers
  // Per Service / Gateway (IPAM key): why an address is not announced.
  std::map<control::ipam::ServiceKey, std::vector<control::ipam::Event>> events;
  std::vector<std::string> warnings;  // node-level: peer skipped, unknown community alias...
};

// node may be null (`portico check` without a NodeConfig): nothing then.
AnnouncePlan plan_announcements(const config::ObjectSet& objects, const config::NodeConfig* node,
                                const control::Plan& plan, const control::ServicesResult& services);

// "Service ns/name" or "Gateway ns/name" for an IPAM key.
std::string holder_name(const control::ipam::ServiceKey& key);

// "64512:100" for a standard community; "large:64512:1:2" for a large one (MetalLB's syntax).
std::string community_text(uint32_t community);
std::string community_text(const LargeCommunity& community);

// CRC-32 (IEEE 802.3, as Go's hash/crc32.ChecksumIEEE) of text: the router id of last resort.
uint32_t crc32_ieee(const std::string& text);

}  // namespace bgp
