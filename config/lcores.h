// NodeConfig.spec.dpdk.lcores: which lcores Portico runs on, in the order written.
//
// Two forms, as DPDK's EAL takes them:
//   "0-3", "0,2,4-5"          lcore ids, each on the CPU of the same number (EAL -l)
//   "0@0,1@1,2@1", "(1-2)@(2,3)"  lcore ids mapped to CPUs (EAL --lcores); several lcores may
//                              share a CPU, e.g. two workers on a two-core test machine
// The first id listed is the main (control) lcore; the others run workers. Pure code, shared
// by validation (config) and the EAL arguments (control).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace config {

inline constexpr unsigned kMaxLcoreId = 1023;

struct LcoreList {
  std::vector<unsigned> ids;  // in the order written, no duplicates
  bool mapped = false;        // the --lcores form (has '@')
};

// nullopt with *error set when the text is not a valid list (message names the bad item).
std::optional<LcoreList> parse_lcore_list(std::string_view text, std::string* error);

}  // namespace config
