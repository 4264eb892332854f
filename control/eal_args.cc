// EAL argument construction (see eal_args.h).
#include "control/eal_args.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace control {

namespace {

std::optional<unsigned> parse_uint(const std::string& s) {
  if (s.empty() || s.size() > 4 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  return static_cast<unsigned>(std::stoul(s));
}

bool has_arg(const std::vector<std::string>& args, const std::string& prefix) {
  return std::any_of(args.begin(), args.end(),
                     [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
}

}  // namespace

std::optional<std::vector<unsigned>> parse_lcore_list(const std::string& text) {
  std::vector<unsigned> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t dash = item.find('-');
    if (dash == std::string::npos) {
      auto v = parse_uint(item);
      if (!v) return std::nullopt;
      out.push_back(*v);
    } else {
      auto lo = parse_uint(item.substr(0, dash));
      auto hi = parse_uint(item.substr(dash + 1));
      if (!lo || !hi || *lo > *hi) return std::nullopt;
      for (unsigned i = *lo; i <= *hi; ++i) out.push_back(i);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<unsigned> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return std::nullopt;
  return out;
}

bool is_pci_address(const std::string& device) {
  static const std::regex kPci("^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$");
  return std::regex_match(device.substr(0, device.find(',')), kPci);
}

std::vector<std::string> eal_args(const config::NodeConfig& node, const std::string& prog) {
  const auto& d = node.dpdk;
  std::vector<std::string> args{prog, "-l", d.lcores};
  if (auto lcores = parse_lcore_list(d.lcores); lcores && !lcores->empty()) {
    args.push_back("--main-lcore=" + std::to_string(lcores->front()));
  }
  args.push_back("-m");
  args.push_back(std::to_string(d.memory_mb));
  if (!d.hugepages) args.push_back("--no-huge");
  const bool any_pci = std::any_of(node.interfaces.begin(), node.interfaces.end(),
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
