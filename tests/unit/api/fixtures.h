// What the control/api tests share: a minimal configuration (a NodeConfig and one pool), and
// reading a file back whole.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace control::api::testing {

inline constexpr const char* kNode = R"(apiVersion: portico.io/v1alpha1
kind: NodeConfig
metadata:
  name: edge-1
spec:
  interfaces:
    - name: uplink
      device: "net_null0"
      addresses: ["198.51.100.10/24"]
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: metallb-system
spec:
  addresses: ["203.0.113.10-203.0.113.49"]
)";

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace control::api::testing
