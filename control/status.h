// `portico check`: the statuses a controller would write, as text or JSON (DESIGN.md shape).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace control {

enum class OutputFormat { kText, kJson };

// Loads, validates and plans `paths` without touching DPDK; prints to out. Returns the exit
// code: 0 without errors, 1 with.
int check(const std::vector<std::string>& paths, OutputFormat format, std::ostream& out,
          std::ostream& err);

}  // namespace control
