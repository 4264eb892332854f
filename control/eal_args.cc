// EAL argument construction (see eal_args.h).
#include "control/eal_args.h"

#include <algorithm>
#include <regex>

#include "config/lcores.h"

namespace control {

namespace {

bool has_arg(const std::vector<std::string>& args, const std::string& prefix) {
  return std::any_of(args.begin(), args.end(),
                     [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
}

}  // namespace

bool is_pci_address(const std::string& device) {
  static const std::regex kPci("^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$");
  return std::regex_match(device.substr(0, device.find(',')), kPci);
}

std::vector<std::string> eal_args(const config::NodeConfig& node, const std::string& prog) {
  const auto& d = node.dpdk;
  std::string error;
  const auto lcores = config::parse_lcore_list(d.lcores, &error);
  std::vector<std::string> args{prog, lcores && lcores->mapped ? "--lcores" : "-l", d.lcores};
  if (lcores && !lcores->ids.empty()) {
    args.push_back("--main-lcore=" + std::to_string(lcores->ids.front()));
  }
  args.push_back("-m");
  args.push_back(std::to_string(d.memory_mb));
  if (!d.hugepages) args.push_back("--no-huge");
  const bool any_pci =
      std::any_of(node.interfaces.begin(), node.interfaces.end(),
                  [](const config::NodeInterface& i) { return is_pci_address(i.device); });
  if (!any_pci && !has_arg(d.extra_args, "-a") && !has_arg(d.extra_args, "--allow")) {
    args.push_back("--no-pci");
  }
  // Several Portico processes (tests, two nodes on one host) must not share EAL runtime files.
  // --in-memory does that with hugepages; without them (legacy memory) --no-shconf does.
  if (!has_arg(d.extra_args, "--file-prefix") && !has_arg(d.extra_args, "--proc-type")) {
    args.push_back(d.hugepages ? "--in-memory" : "--no-shconf");
  }
  if (!has_arg(d.extra_args, "--log-level")) args.push_back("--log-level=lib.eal:notice");
  args.insert(args.end(), d.extra_args.begin(), d.extra_args.end());
  return args;
}

}  // namespace control
