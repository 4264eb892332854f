// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network
// Load Balancer", NSDI 2016, §3.4 and Pseudocode 1), with weights.
//
// build_maglev() fills a lookup table of prime size M: entry i holds the index of the backend
// (into the list given) that a flow whose hash h satisfies h % M == i goes to. Each backend
// walks its own permutation of the slots, (offset + j * skip) % M with offset and skip derived
// from a hash of its stable key; backends take turns claiming their next free slot, a backend of
// weight w taking w turns for every turn of a weight-1 backend, until every slot is filled. So
// every backend gets a share of the table proportional to its weight (within a fraction of a
// percent at M = 65537), and removing one backend moves little more than that backend's own slots.
//
// Pure code, control thread only (the Snapshot compiler); workers only index the result.
// Deterministic: the same keys and weights always give the same table, on every node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nf {

// Default and limits of the table size (NodeConfig spec.loadBalancer.maglevTableSize).
inline constexpr uint32_t kMaglevDefaultSize = 65537;
inline constexpr uint32_t kMaglevMaxBackends = 65535;  // entries are uint16_t

struct MaglevBackend {
  std::string key;      // stable identity, e.g. "198.51.100.21:8080": decides the permutation
  uint32_t weight = 1;  // relative share; 0 = takes no slots (draining)
};

// True if n is prime (trial division; n is at most a few million here).
bool is_prime(uint32_t n);

// Fills `table` (resized to m) with backend indices. m must be prime and larger than the number
// of backends. If no backend has a weight > 0, the table is left empty (size 0): the caller
// treats the service as having no usable endpoint. At most kMaglevMaxBackends backends.
// Throws std::invalid_argument if m is not prime or there are more than kMaglevMaxBackends
// backends. With m <= the number of usable backends the table is still filled, but some of them
// get no slot (the first to get a turn take one slot each, as in any round).
void build_maglev(const std::vector<MaglevBackend>& backends, uint32_t m,
                  std::vector<uint16_t>& table);

}  // namespace nf
