// What Portico reads from the Kubernetes API server, and how an object from there becomes an
// entry of the object store (control/api/store.h, the "kubernetes" source).
//
// Pure code: no I/O. The informers (control/k8s/informer.h) list and watch these resources;
// control/k8s/sync.cc turns their caches into store entries with cluster_entry().
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/api/store.h"

namespace control::k8s {

struct WatchedKind {
  std::string group;                  // "" = core
  std::vector<std::string> versions;  // preferred first; older served versions tolerated
  std::string plural, kind;
  bool namespaced = true;
  std::string label_selector;
  std::string field_selector;
};

// Services, EndpointSlices, Namespaces (their labels steer selectors), Secrets (BGP passwords),
// the metallb.io kinds and the Gateway API kinds Portico reads.
const std::vector<WatchedKind>& watched_kinds();

// The store entry for `object` as the API server sent it (list items carry no apiVersion or
// kind: they are set from the resource), with metadata.managedFields dropped (large, unused).
// False with `error` for an object without a name (never from a real server).
bool cluster_entry(const WatchedKind& w, const std::string& served_version,
                   const nlohmann::json& object, api::Entry* out, std::string* error);

// Status writers need the path of an object: "/api/v1/namespaces/NS/services/NAME" or
// "/apis/GROUP/VERSION/[namespaces/NS/]PLURAL/NAME".
std::string object_path(const WatchedKind& w, const std::string& version, const std::string& ns,
                        const std::string& name);

}  // namespace control::k8s
