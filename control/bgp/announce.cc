// Sessions and routes from the objects and the plan (see announce.h). Order of work:
//   1. the peers of this node (node selectors, router id, timers, password or Secret);
//   2. the advertisements that apply on this node, communities resolved once each;
//   3. per holder address: usable endpoint, advertisements selecting pool and holder, one
//      contribution per (prefix, peer) of the address's family;
//   4. contributions merged per (prefix, peer); a localPref disagreement withdraws the prefix;
//   5. routes per peer, and announcements grouping the peers that get the very same route.
#include "control/bgp/announce.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <tuple>

#include "control/gateway.h"

namespace bgp {

namespace {

using control::ipam::Event;
using control::ipam::ServiceKey;

constexpr const char* kBasicAuth = "kubernetes.io/basic-auth";

std::string ref(const config::ObjectMeta& m) { return m.namespace_ + "/" + m.name; }

template <typename T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

uint16_t seconds16(uint64_t ms) {
  return static_cast<uint16_t>(std::min<uint64_t>(ms / 1000, std::numeric_limits<uint16_t>::max()));
}

// ---- 1. peers ----

struct NodePeer {
  const config::BGPPeer* spec = nullptr;
  PeerConfig cfg;
};

uint32_t node_router_id(const config::NodeConfig& node) {
  for (const auto& iface : node.interfaces) {
    for (const auto& a : iface.addresses) {
      if (a.address.is_v4() && !a.address.is_unspecified()) return a.address.v4_host_order();
    }
  }
  const uint32_t h = crc32_ieee(node.meta.name);
  return h == 0 ? 1 : h;  // 0 is not a valid BGP Identifier
}

// The TCP-MD5 key of a peer; false (with a warning) when its Secret cannot be used.
bool peer_password(const config::ObjectSet& objects, const config::BGPPeer& p, std::string* out,
                   std::vector<std::string>& warnings) {
  if (!p.password.empty() || !p.password_secret) {
    *out = p.password;
    return true;
  }
  const auto& sref = *p.password_secret;
  const std::string ns = sref.namespace_.empty() ? p.meta.namespace_ : sref.namespace_;
  const std::string what =
      "BGPPeer " + ref(p.meta) + " not run: passwordSecret " + ns + "/" + sref.name;
  for (const auto& s : objects.secrets) {
    if (s.meta.name != sref.name || s.meta.namespace_ != ns) continue;
    if (!s.type.empty() && s.type != kBasicAuth) {
      warnings.push_back(what + " has type " + s.type + ", not " + kBasicAuth);
      return false;
    }
    auto it = s.data.find("password");
    if (it == s.data.end() || it->second.empty()) {
      warnings.push_back(what + " has no key \"password\"");
      return false;
    }
    *out = it->second;
    return true;
  }
  warnings.push_back(what + " does not exist (yet)");
  return false;
}

std::vector<NodePeer> node_peers(const config::ObjectSet& objects, const config::NodeConfig& node,
                                 std::vector<std::string>& warnings) {
  std::vector<NodePeer> out;
  std::set<std::string> names;
  const uint32_t default_id = node_router_id(node);
  for (const auto& p : objects.bgp_peers) {
    if (!config::any_matches(p.node_selectors, node.meta.labels)) continue;
    NodePeer np;
    np.spec = &p;
    PeerConfig& c = np.cfg;
    c.name = ref(p.meta);
    if (!names.insert(c.name).second) {
      warnings.push_back("BGPPeer " + c.name + " is defined twice: the second is ignored");
      continue;
    }
    if (!peer_password(objects, p, &c.password, warnings)) continue;
    c.my_asn = p.my_asn;
    c.peer_asn = p.peer_asn;
    c.peer_address = p.peer_address;
    c.source_address = p.source_address;
    c.peer_port = p.peer_port;
    c.router_id = p.router_id && p.router_id->is_v4() ? p.router_id->v4_host_order() : default_id;
    c.hold_time_s = seconds16(p.hold_time_ms);
    if (c.hold_time_s == 1 || c.hold_time_s == 2) {
      // RFC 4271 4.2: the hold time is zero or at least three seconds.
      warnings.push_back("BGPPeer " + c.name + ": holdTime " + std::to_string(c.hold_time_s) +
                         "s is below 3s: 3s is proposed");
      c.hold_time_s = 3;
    }
    c.keepalive_time_s = std::min(seconds16(p.keepalive_time_ms), c.hold_time_s);
    if (p.connect_time_ms != 0)
      c.connect_retry_s = std::max<uint16_t>(1, seconds16(p.connect_time_ms));
    c.ebgp_multihop = p.ebgp_multi_hop;
    c.graceful_restart = p.enable_graceful_restart;
    out.push_back(std::move(np));
  }
  std::sort(out.begin(), out.end(),
            [](const NodePeer& a, const NodePeer& b) { return a.cfg.name < b.cfg.name; });
  return out;
}

// ---- 2. advertisements ----

struct NodeAd {
  const config::BGPAdvertisement* spec = nullptr;
  std::string name;  // namespace/name
  std::vector<uint32_t> communities;
  std::vector<LargeCommunity> large;
};

bool find_alias(const config::ObjectSet& objects, const std::string& name,
                config::BgpCommunity* out) {
  for (const auto& c : objects.communities) {
    for (const auto& a : c.communities) {
      if (a.name == name) {
        *out = a.value;
        return true;
      }
    }
  }
  return false;
}

std::vector<NodeAd> node_ads(const config::ObjectSet& objects, const config::NodeConfig& node,
                             std::vector<std::string>& warnings) {
  std::vector<NodeAd> out;
  for (const auto& ad : objects.bgp_advertisements) {
    if (!config::any_matches(ad.node_selectors, node.meta.labels)) continue;
    NodeAd na;
    na.spec = &ad;
    na.name = ref(ad.meta);
    for (const auto& text : ad.communities) {
      config::BgpCommunity c;
      if (!config::parse_bgp_community(text, &c) && !find_alias(objects, text, &c)) {
        warnings.push_back("BGPAdvertisement " + na.name + ": community \"" + text +
                           "\" is neither a community value nor a Community alias: not sent");
        continue;
      }
      if (c.large) {
        na.large.push_back({c.large_parts[0], c.large_parts[1], c.large_parts[2]});
      } else {
        na.communities.push_back(c.value);
      }
    }
    sort_unique(na.communities);
    sort_unique(na.large);
    for (const auto& peer : ad.peers) {
      const bool known = std::any_of(objects.bgp_peers.begin(), objects.bgp_peers.end(),
                                     [&](const config::BGPPeer& p) { return p.meta.name == peer; });
      if (!known) {
        warnings.push_back("BGPAdvertisement " + na.name + ": peer \"" + peer +
                           "\" is not the name of any BGPPeer");
      }
    }
    out.push_back(std::move(na));
  }
  return out;
}

bool selects_pool(const config::BGPAdvertisement& ad, const config::IPAddressPool* pool,
                  const std::string& pool_name) {
  if (ad.ip_address_pools.empty() && ad.ip_address_pool_selectors.empty()) return true;
  if (std::find(ad.ip_address_pools.begin(), ad.ip_address_pools.end(), pool_name) !=
      ad.ip_address_pools.end()) {
    return true;
  }
  return pool != nullptr && config::any_matches(ad.ip_address_pool_selectors, pool->meta.labels) &&
         !ad.ip_address_pool_selectors.empty();
}

// ---- 3. holders ----

struct Holder {
  ServiceKey key;
  std::string name;  // "Service ns/name" / "Gateway ns/name"
  const config::Labels* labels = nullptr;
  const config::Service* service = nullptr;  // set for a Service
  const config::Gateway* gateway = nullptr;  // set for a Gateway
};

// (Service, VIP) pairs with a service port whose endpoints take new flows.
std::set<std::pair<ServiceKey, config::IpAddress>> usable_services(
    const control::ServicesResult& services) {
  std::set<std::pair<ServiceKey, config::IpAddress>> out;
  for (const auto& p : services.ports) {
    if (std::any_of(p.endpoints.begin(), p.endpoints.end(),
                    [](const control::L4Endpoint& e) { return !e.terminating; })) {
      out.emplace(p.service, p.vip);
    }
  }
  return out;
}

bool backend_usable(const config::ObjectSet& objects, const control::gateway::Backend& b,
                    config::IpFamily family) {
  if (!b.resolved) return false;
  for (const auto& s : objects.services) {
    if (s.meta.namespace_ != b.namespace_ || s.meta.name != b.name) continue;
    for (const auto& p : s.ports) {
      if (p.port != b.port || p.protocol != "TCP") continue;
      for (const auto& e : control::service_endpoints(objects, s, p, family)) {
        if (!e.terminating) return true;
      }
    }
  }
  return false;
}

bool gateway_usable(const config::ObjectSet& objects, const control::gateway::Result& g,
                    const config::Gateway& gw, const config::IpAddress& ip) {
  // Listener names are "ns/gateway/listener". Every address of a Gateway carries the same
  // listeners, so what tells its addresses apart is the family of the backend endpoints; the
  // listener name is what tells apart Gateways sharing an address (allow-shared-ip).
  const std::string prefix = ref(gw.meta) + "/";
  for (const auto& ps : g.model.ports) {
    for (const auto& l : ps.listeners) {
      if (l.name.compare(0, prefix.size(), prefix) != 0) continue;
      for (const auto& rule : l.rules) {
        if (rule.action >= g.actions.size()) continue;
        const control::gateway::Action& a = g.actions[rule.action];
        if (a.kind == control::gateway::ActionKind::kRedirect) return true;
        if (a.kind != control::gateway::ActionKind::kForward) continue;
        for (const auto& b : a.backends) {
          if (backend_usable(objects, b, ip.family())) return true;
        }
      }
    }
  }
  return false;
}

// ---- 4. merging ----

struct Contribution {
  ServiceKey holder_key;
  std::string holder;
  const NodeAd* ad = nullptr;
};

Prefix aggregate(const config::IpAddress& ip, const config::BGPAdvertisement& ad) {
  const int len = std::clamp<int>(ip.is_v4() ? ad.aggregation_length : ad.aggregation_length_v6, 0,
                                  ip.bit_length());
  return {ip.masked(len), static_cast<uint8_t>(len)};
}

std::string local_pref_text(const std::optional<uint32_t>& lp) {
  return lp ? std::to_string(*lp) : std::string("unset");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string holder_name(const ServiceKey& key) {
  constexpr std::string_view kGw = "Gateway/";
  if (key.compare(0, kGw.size(), kGw) == 0) return "Gateway " + key.substr(kGw.size());
  return "Service " + key;
}

std::string community_text(uint32_t c) {
  return std::to_string(c >> 16) + ":" + std::to_string(c & 0xffff);
}

std::string community_text(const LargeCommunity& c) {
  return "large:" + std::to_string(c.global) + ":" + std::to_string(c.local1) + ":" +
         std::to_string(c.local2);
}

uint32_t crc32_ieee(const std::string& text) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : text) {
    crc ^= byte;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

AnnouncePlan plan_announcements(const config::ObjectSet& objects, const config::NodeConfig* node,
                                const control::Plan& plan,
                                const control::ServicesResult& services) {
  AnnouncePlan out;
  if (node == nullptr) return out;
  const std::vector<NodePeer> peers = node_peers(objects, *node, out.warnings);
  for (const auto& p : peers) {
    out.peers.push_back(p.cfg);
    out.routes[p.cfg.name];  // every session gets an entry, empty until a route lands
  }
  if (peers.empty()) return out;  // no session: nothing to announce, nothing to explain
  const std::vector<NodeAd> ads = node_ads(objects, *node, out.warnings);

  std::map<ServiceKey, Holder> holders;
  for (const auto& s : objects.services) {
    const ServiceKey key = control::ipam::service_key(s);
    holders[key] = {key, holder_name(key), &s.meta.labels, &s, nullptr};
  }
  for (const auto& g : objects.gateways) {
    const ServiceKey key = control::gateway::gateway_key(g);
    holders[key] = {key, holder_name(key), &g.infrastructure.labels, nullptr, &g};
  }
  std::map<std::string, const config::IPAddressPool*> pools;
  for (const auto& p : objects.pools) pools.emplace(p.meta.name, &p);
  const auto usable_ports = usable_services(services);

  // prefix -> peer -> contributions
  std::map<Prefix, std::map<std::string, std::vector<Contribution>>> wanted;
  for (const auto& [key, result] : plan.ipam.services) {
    if (result.state != control::ipam::ServiceState::kAssigned) continue;
    auto hit = holders.find(key);
    if (hit == holders.end()) continue;  // IPAM serves only Services and Gateways
    const Holder& h = hit->second;
    const std::string& pool_name = result.assignment.pool;
    auto pit = pools.find(pool_name);
    const config::IPAddressPool* pool = pit == pools.end() ? nullptr : pit->second;

    std::vector<const NodeAd*> selecting;
    for (const auto& ad : ads) {
      if (!selects_pool(*ad.spec, pool, pool_name)) continue;
      if (!config::any_matches(ad.spec->service_selectors, *h.labels)) continue;
      selecting.push_back(&ad);
    }
    const char* kind = h.gateway != nullptr ? "Gateway" : "Service";
    if (selecting.empty()) {
      out.events[key].push_back({"Warning", "notAnnounced",
                                 "no BGPAdvertisement selects pool \"" + pool_name + "\", this " +
                                     kind + " and node " + node->meta.name +
                                     ": the address is allocated but not announced by BGP"});
      continue;
    }
    for (const auto& ip : result.assignment.ips) {
      const bool usable = h.service != nullptr
                              ? usable_ports.count({key, ip}) != 0
                              : gateway_usable(objects, plan.gateway, *h.gateway, ip);
      if (!usable) {
        const std::string family = config::family_name(ip.family());
        out.events[key].push_back(
            {"Warning", "noUsableEndpoints",
             ip.str() + " is not announced by BGP: " +
                 (h.service != nullptr
                      ? "no " + family +
                            " endpoint of the Service takes new flows (none ready, "
                            "none serving)"
                      : "no HTTPRoute rule attached to the Gateway there forwards to a backend "
                        "with a ready " +
                            family + " endpoint or redirects")});
        continue;
      }
      size_t contributed = 0;
      for (const NodeAd* ad : selecting) {
        const Prefix prefix = aggregate(ip, *ad->spec);
        for (const auto& p : peers) {
          if (p.cfg.peer_address.family() != ip.family()) continue;
          const auto& names = ad->spec->peers;
          if (!names.empty() &&
              std::find(names.begin(), names.end(), p.spec->meta.name) == names.end()) {
            continue;
          }
          wanted[prefix][p.cfg.name].push_back({key, h.name, ad});
          ++contributed;
        }
      }
      if (contributed == 0) {
        std::vector<std::string> names;
        for (const NodeAd* ad : selecting) names.push_back(ad->name);
        out.events[key].push_back({"Warning", "notAnnounced",
                                   ip.str() + " is not announced by BGP: BGPAdvertisement(s) " +
                                       join(names) + " send it to no " +
                                       config::family_name(ip.family()) + " BGP peer of node " +
                                       node->meta.name});
      }
    }
  }

  // Merge per (prefix, peer); one disagreement on localPref withdraws the prefix everywhere.
  struct Grouped {
    std::set<std::string> holders, ads, peers;
  };
  for (const auto& [prefix, by_peer] : wanted) {
    std::string conflict;
    for (const auto& [peer, contribs] : by_peer) {
      for (const auto& c : contribs) {
        if (c.ad->spec->local_pref != contribs.front().ad->spec->local_pref) {
          conflict = "BGPAdvertisements " + contribs.front().ad->name + " (localPref " +
                     local_pref_text(contribs.front().ad->spec->local_pref) + ") and " +
                     c.ad->name + " (localPref " + local_pref_text(c.ad->spec->local_pref) +
                     ") send it to BGPPeer " + peer;
          break;
        }
      }
      if (!conflict.empty()) break;
    }
    if (!conflict.empty()) {
      std::set<ServiceKey> told;
      for (const auto& [peer, contribs] : by_peer) {
        for (const auto& c : contribs) {
          if (!told.insert(c.holder_key).second) continue;
          out.events[c.holder_key].push_back(
              {"Warning", "conflictingLocalPref",
               prefix.str() + " is announced to no peer: " + conflict});
        }
      }
      continue;
    }
    // Peers receiving the same route form one Announcement.
    std::map<
        std::tuple<std::optional<uint32_t>, std::vector<uint32_t>, std::vector<LargeCommunity>>,
        Grouped>
        groups;
    for (const auto& [peer, contribs] : by_peer) {
      Route r;
      r.prefix = prefix;
      r.local_pref = contribs.front().ad->spec->local_pref;
      for (const auto& c : contribs) {
        r.communities.insert(r.communities.end(), c.ad->communities.begin(),
                             c.ad->communities.end());
        r.large_communities.insert(r.large_communities.end(), c.ad->large.begin(),
                                   c.ad->large.end());
      }
      sort_unique(r.communities);
      sort_unique(r.large_communities);
      Grouped& g = groups[{r.local_pref, r.communities, r.large_communities}];
      g.peers.insert(peer);
      for (const auto& c : contribs) {
        g.holders.insert(c.holder);
        g.ads.insert(c.ad->name);
      }
      out.routes[peer].push_back(std::move(r));  // prefixes ascend: `wanted` is ordered
    }
    std::vector<Announcement> here;
    for (auto& [attrs, g] : groups) {
      Announcement a;
      a.prefix = prefix;
      a.holders.assign(g.holders.begin(), g.holders.end());
      a.advertisements.assign(g.ads.begin(), g.ads.end());
      a.peers.assign(g.peers.begin(), g.peers.end());
      a.route = {prefix, std::get<0>(attrs), std::get<1>(attrs), std::get<2>(attrs)};
      here.push_back(std::move(a));
    }
    std::sort(here.begin(), here.end(),
              [](const Announcement& x, const Announcement& y) { return x.peers < y.peers; });
    for (auto& a : here) out.announcements.push_back(std::move(a));
  }
  return out;
}

}  // namespace bgp
