// Plan -> Snapshot: the data plane's view of a plan (control thread).
#pragma once

#include <cstdint>
#include <memory>

#include "config/objects.h"
#include "control/plan.h"
#include "lcore/snapshot.h"

namespace control {

std::unique_ptr<lcore::Snapshot> build_snapshot(const Plan& plan, const config::NodeConfig& node,
                                                uint64_t generation);

}  // namespace control
