// `portico run`: load, start the data plane, serve until SIGINT/SIGTERM (see runner.cc).
#pragma once

#include <string>
#include <vector>

namespace control {

// Returns the process exit code: 0 after a clean stop, 1 on bad configuration or start-up
// failure (the reason is logged).
int run(const std::vector<std::string>& paths);

void block_control_signals();

}  // namespace control
