// NodeConfig.spec.dpdk -> rte_eal_init arguments.
//
// Pure code (unit-tested): the main/worker split (config/lcores.h parses the list), memory and
// hugepage flags, PCI bus on or off. Runs on the main thread before EAL exists.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/objects.h"

namespace control {

// True for "0000:3b:02.0" or "3b:02.0" (a PCI address rather than a vdev spec).
bool is_pci_address(const std::string& device);

// argv for rte_eal_init (argv[0] = prog). The first lcore listed is the main lcore.
std::vector<std::string> eal_args(const config::NodeConfig& node, const std::string& prog);

}  // namespace control
