// porticoctl: the kind table. Short names follow kubectl where it has one (svc, ns, gw, gc);
// the MetalLB and Gateway API kinds get their plurals and a few obvious abbreviations.
#include "control/porticoctl/kinds.h"

#include <algorithm>
#include <cctype>

namespace porticoctl {

const std::vector<KindInfo>& all_kinds() {
  static const std::vector<KindInfo> kinds = {
      {"Service", "", true, {"service", "services", "svc"}},
      {"EndpointSlice", "discovery.k8s.io", true, {"endpointslice", "endpointslices"}},
      {"Namespace", "", false, {"namespace", "namespaces", "ns"}},
      {"Secret", "", true, {"secret", "secrets"}},
      {"IPAddressPool", "metallb.io", true, {"ipaddresspool", "ipaddresspools", "pool", "pools"}},
      {"L2Advertisement", "metallb.io", true,
       {"l2advertisement", "l2advertisements", "l2adv", "l2advs"}},
      {"BGPPeer", "metallb.io", true, {"bgppeer", "bgppeers", "peer", "peers"}},
      {"BGPAdvertisement", "metallb.io", true,
       {"bgpadvertisement", "bgpadvertisements", "bgpadv", "bgpadvs"}},
      {"Community", "metallb.io", true, {"community", "communities"}},
      {"GatewayClass", "gateway.networking.k8s.io", false,
       {"gatewayclass", "gatewayclasses", "gc"}},
      {"Gateway", "gateway.networking.k8s.io", true, {"gateway", "gateways", "gw", "gtw"}},
      {"HTTPRoute", "gateway.networking.k8s.io", true, {"httproute", "httproutes"}},
      {"ReferenceGrant", "gateway.networking.k8s.io", true,
       {"referencegrant", "referencegrants", "refgrant", "refgrants"}},
  };
  return kinds;
}

static std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<KindInfo> find_kind(std::string_view typed) {
  std::string name = lower(typed);
  for (const KindInfo& k : all_kinds()) {
    // "ipaddresspools.metallb.io" names the group too: it must be the kind's own.
    for (const std::string& n : k.names) {
      if (name == n) return k;
      if (!k.group.empty() && name == n + "." + k.group) return k;
    }
  }
  return std::nullopt;
}

std::optional<KindInfo> kind_by_name(std::string_view kind) {
  for (const KindInfo& k : all_kinds())
    if (k.kind == kind) return k;
  return std::nullopt;
}

}  // namespace porticoctl
