// Helpers shared by the config unit tests: fixture paths and diagnostic lookup.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace config_test {

// tests/unit/config/testdata, passed by meson.
inline std::string testdata(const std::string& relative) {
  return std::string(PORTICO_CONFIG_TESTDATA) + "/" + relative;
}

// Every diagnostic, one per line: the failure message of an assertion on a LoadResult.
inline std::string dump(const config::LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) out += "error: " + d.str() + "\n";
  for (const auto& d : r.warnings) out += "warning: " + d.str() + "\n";
  return out.empty() ? "(no diagnostics)\n" : out;
}

// The first diagnostic whose message contains `needle`, or nullptr.
inline const config::Diagnostic* find(const std::vector<config::Diagnostic>& list,
                                      std::string_view needle) {
  for (const auto& d : list) {
    if (d.message.find(needle) != std::string::npos) return &d;
  }
  return nullptr;
}

}  // namespace config_test
