// The L7 splice case of portico-bench (perf/bench_l7_splice.cc).
#pragma once

#include <cstdint>

namespace bench {

// Opens `flows` L7 connections through the worker, then times `packets` spliced segments.
// Prints the JSON line; returns the exit code.
int run_l7_splice_bench(uint64_t packets, uint32_t flows, uint32_t backends);

}  // namespace bench
