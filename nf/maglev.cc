// Maglev lookup table builder (Eisenbud et al., NSDI 2016, §3.4 and Pseudocode 1), with weights.
//
// Control thread only (the Snapshot compiler); pure code, allocates freely, throws only on a size
// that is not prime or too many backends. Workers only index the table it produces.
//
// Permutation. Each backend's key is hashed twice (FNV-1a over the bytes, each with its own seed,
// then a 64-bit finalizer so every input bit reaches every output bit): offset = h1 % M and
// skip = h2 % (M - 1) + 1. As M is prime, every skip in [1, M - 1] is coprime to M, so the walk
// offset, offset + skip, offset + 2 * skip, ... (mod M) visits every slot exactly once. The walk
// is kept as a running position (one compare and one add or subtract per step), so nothing
// overflows 32 bits and no multiplication or division is needed inside the fill loop.
//
// Turns. The paper lets backends take turns in index order, one slot per turn, until the table is
// full; that gives every backend floor(M / N) or ceil(M / N) slots. With weights, a backend of
// weight w takes its k-th turn (k = 1, 2, ...) at the virtual time k / w, and turns run in order
// of virtual time (stride scheduling). So after any prefix of the fill each backend has had turns
// in proportion to its weight, within one turn, and with all weights equal the order is the
// paper's round robin. The next turn is taken from a binary heap: O(M log N) for the turns plus
// the paper's O(M log M) expected probes in total.
//
// Determinism: equal virtual times are ordered by key (its hash, then its bytes), not by position
// in the list, so the table, read as slot -> key, depends only on the set of (key, weight) pairs:
// nodes that list the same endpoints in different orders send a flow to the same backend. The
// order of the list matters only through the indices the entries hold (and between two backends
// with the same key, which the caller should not pass). The hash works on the key's bytes with
// fixed-width integer arithmetic, so every platform builds the same table for the same input.

#include "nf/maglev.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace nf {
namespace {

constexpr uint16_t kEmptySlot = std::numeric_limits<uint16_t>::max();
constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr uint64_t kOffsetSeed = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kSkipSeed = 0xc2b2ae3d27d4eb4fULL;

// Murmur3's 64-bit finalizer: a bijection with full avalanche.
uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// FNV-1a with the seed folded into the basis, then finalized. Two seeds give two hashes that
// share no structure a permutation could notice.
uint64_t key_hash(const std::string& key, uint64_t seed) {
  uint64_t h = kFnvOffsetBasis ^ mix64(seed);
  for (const char ch : key) {
    h ^= static_cast<uint8_t>(ch);
    h *= kFnvPrime;
  }
  return mix64(h ^ key.size());
}

// One backend taking part in the fill.
struct Walker {
  const std::string* key;
  uint64_t rank;      // first tie-break between equal virtual times: the key's offset hash
  uint32_t position;  // next slot of its permutation to try
  uint32_t skip;      // step of its permutation, in [1, M - 1]
  uint32_t weight;    // > 0
  uint32_t turns;     // turns taken so far
  uint16_t index;     // into the caller's list
};

// True if a's next turn comes after b's: by virtual time (turns + 1) / weight, then by key (its
// hash, then its bytes), then by index (only equal keys get that far). Both products are below
// 2^64: turns + 1 <= M < 2^32 and weight < 2^32.
bool later(const Walker& a, const Walker& b) {
  const uint64_t ta = (uint64_t{a.turns} + 1) * b.weight;
  const uint64_t tb = (uint64_t{b.turns} + 1) * a.weight;
  if (ta != tb) return ta > tb;
  if (a.rank != b.rank) return a.rank > b.rank;
  if (const int c = a.key->compare(*b.key); c != 0) return c > 0;
  return a.index > b.index;
}

// (position + skip) % m for position, skip < m, without forming a sum that could pass 2^32.
uint32_t step(uint32_t position, uint32_t skip, uint32_t m) {
  return position >= m - skip ? position - (m - skip) : position + skip;
}

}  // namespace

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint32_t d = 3; d <= n / d; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

void build_maglev(const std::vector<MaglevBackend>& backends, uint32_t m,
                  std::vector<uint16_t>& table) {
  if (backends.size() > kMaglevMaxBackends) {
    throw std::invalid_argument("maglev: more than 65535 backends");
  }
  if (!is_prime(m)) {
    // A composite size would let a permutation cycle through a subset of the slots forever.
    throw std::invalid_argument("maglev: table size " + std::to_string(m) + " is not prime");
  }

  std::vector<Walker> heap;
  heap.reserve(backends.size());
  for (size_t i = 0; i < backends.size(); ++i) {
    const MaglevBackend& b = backends[i];
    if (b.weight == 0) continue;
    const uint64_t h1 = key_hash(b.key, kOffsetSeed);
    heap.push_back(Walker{
        .key = &b.key,
        .rank = h1,
        .position = static_cast<uint32_t>(h1 % m),
        .skip = static_cast<uint32_t>(key_hash(b.key, kSkipSeed) % (m - 1) + 1),
        .weight = b.weight,
        .turns = 0,
        .index = static_cast<uint16_t>(i),
    });
  }
  if (heap.empty()) {
    table.clear();
    return;
  }

  table.assign(m, kEmptySlot);
  std::make_heap(heap.begin(), heap.end(), later);
  for (uint32_t filled = 0; filled < m; ++filled) {
    std::pop_heap(heap.begin(), heap.end(), later);
    Walker& w = heap.back();
    // Terminates: the permutation covers all M slots and at least one is still empty. (With more
    // backends than slots the table fills before the last ones in turn order get a turn.)
    while (table[w.position] != kEmptySlot) w.position = step(w.position, w.skip, m);
    table[w.position] = w.index;
    w.position = step(w.position, w.skip, m);
    ++w.turns;
    std::push_heap(heap.begin(), heap.end(), later);
  }
}

}  // namespace nf
