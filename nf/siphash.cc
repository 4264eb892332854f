// SipHash-2-4 for inputs of any length (the algorithm itself is in siphash.h, shared with the
// fixed-length fast path). Pure code, any thread.
#include "nf/siphash.h"

namespace nf {

uint64_t siphash24(const SipHashKey& key, const void* data, size_t len) {
  return siphash_detail::hash(key, static_cast<const uint8_t*>(data), len);
}

}  // namespace nf
