// porticoctl: the object kinds the API serves and the names a user may type for them (kubectl's
// short names and plurals: svc, services, pools, gw, httproutes...). Pure code, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace porticoctl {

struct KindInfo {
  std::string kind;         // "IPAddressPool", as the API and the objects spell it
  std::string group;        // "metallb.io"; empty for the core group (v1)
  bool namespaced = true;   // false for Namespace and GatewayClass
  std::vector<std::string> names;  // lower-case: singular, plural, short names
};

// The kind a user named, case-insensitively: "svc", "Services", "ipaddresspools.metallb.io".
std::optional<KindInfo> find_kind(std::string_view typed);
// The kind of an object's "kind" value ("Service"), for kinds read from files.
std::optional<KindInfo> kind_by_name(std::string_view kind);
// Every kind with its names, for help and for "unknown kind" messages.
const std::vector<KindInfo>& all_kinds();

}  // namespace porticoctl
