// The resources Portico watches and their conversion to store entries (see resources.h).
#include "control/k8s/resources.h"

namespace control::k8s {

const std::vector<WatchedKind>& watched_kinds() {
  static const std::vector<WatchedKind> kinds = {
      {"", {"v1"}, "services", "Service", true, ""},
      // Only the slices of Services (the label the EndpointSlice controller sets).
      {"discovery.k8s.io", {"v1"}, "endpointslices", "EndpointSlice", true,
       "kubernetes.io/service-name"},
      {"", {"v1"}, "namespaces", "Namespace", false, ""},
      // Only the kind of Secret a BGPPeer's passwordSecret may be (the API server filters
      // Secrets by type; RBAC cannot, so the token may still read the others).
      {"", {"v1"}, "secrets", "Secret", true, "", "type=kubernetes.io/basic-auth"},
      {"metallb.io", {"v1beta1"}, "ipaddresspools", "IPAddressPool", true, ""},
      {"metallb.io", {"v1beta1"}, "l2advertisements", "L2Advertisement", true, ""},
      {"metallb.io", {"v1beta1"}, "bgpadvertisements", "BGPAdvertisement", true, ""},
      {"metallb.io", {"v1beta2", "v1beta1"}, "bgppeers", "BGPPeer", true, ""},
      {"metallb.io", {"v1beta1"}, "communities", "Community", true, ""},
      {"gateway.networking.k8s.io", {"v1", "v1beta1"}, "gatewayclasses", "GatewayClass", false,
       ""},
      {"gateway.networking.k8s.io", {"v1", "v1beta1"}, "gateways", "Gateway", true, ""},
      {"gateway.networking.k8s.io", {"v1", "v1beta1"}, "httproutes", "HTTPRoute", true, ""},
      {"gateway.networking.k8s.io", {"v1beta1", "v1"}, "referencegrants", "ReferenceGrant", true,
       ""},
  };
  return kinds;
}

bool cluster_entry(const WatchedKind& w, const std::string& served_version,
                   const nlohmann::json& object, api::Entry* out, std::string* error) {
  if (!object.is_object() || !object.contains("metadata") || !object["metadata"].is_object()) {
    *error = w.kind + ": an object without metadata";
    return false;
  }
  const auto& meta = object["metadata"];
  const std::string name = meta.value("name", "");
  const std::string ns = w.namespaced ? meta.value("namespace", "") : "";
  if (name.empty() || (w.namespaced && ns.empty())) {
    *error = w.kind + ": an object without a name or namespace";
    return false;
  }
  nlohmann::json doc = object;
  const std::string api_version = w.group.empty() ? served_version : w.group + "/" + served_version;
  doc["apiVersion"] = api_version;
  doc["kind"] = w.kind;
  doc["metadata"].erase("managedFields");
  out->key = api::normalized_key(w.kind, ns, name);
  out->api_version = api_version;
  out->source = "kubernetes";
  out->from_file = false;
  out->yaml = doc.dump();
  return true;
}

std::string object_path(const WatchedKind& w, const std::string& version, const std::string& ns,
                        const std::string& name) {
  std::string p = w.group.empty() ? "/api/" + version : "/apis/" + w.group + "/" + version;
  if (w.namespaced) p += "/namespaces/" + ns;
  return p + "/" + w.plural + "/" + name;
}

}  // namespace control::k8s
