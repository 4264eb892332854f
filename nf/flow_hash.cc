// flow_hash(): the connection-table hash of a frame's own 5-tuple, computed ahead of the
// per-packet work so that a worker can prefetch the table for a whole burst (lcore/worker.cc).
// It reads only what it needs and validates only enough not to read past the frame; the real
// checks happen later in handle_frame(), which decides what the packet is.
#include <cstring>

#include "nf/conn_table.h"
#include "nf/frame_handler.h"
#include "nf/wire.h"

namespace nf {

bool flow_hash(const uint8_t* frame, uint16_t len, uint32_t* hash) {
  using namespace wire;
  if (len < eth::kHeaderLen + ipv4::kMinHeaderLen) return false;
  const uint16_t type = load16(frame + eth::kType);
  const uint8_t* const ip = frame + eth::kHeaderLen;
  FlowTuple t;
  std::memset(&t, 0, sizeof t);
  const uint8_t* l4;
  if (type == eth::kTypeIpv4) {
    const uint32_t ihl = (ip[ipv4::kVersionIhl] & 0x0fu) * 4u;
    if (ihl < ipv4::kMinHeaderLen || eth::kHeaderLen + ihl + 4u > len) return false;
    t.proto = ip[ipv4::kProtocol];
    std::memcpy(t.src, ip + ipv4::kSrc, 4);
    std::memcpy(t.dst, ip + ipv4::kDst, 4);
    l4 = ip + ihl;
  } else if (type == eth::kTypeIpv6) {
    if (len < eth::kHeaderLen + ipv6::kHeaderLen + 4u) return false;
    t.proto = ip[ipv6::kNextHeader];
    t.v6 = 1;
    std::memcpy(t.src, ip + ipv6::kSrc, 16);
    std::memcpy(t.dst, ip + ipv6::kDst, 16);
    l4 = ip + ipv6::kHeaderLen;
  } else {
    return false;
  }
  if (t.proto != ipproto::kProtoTcp && t.proto != ipproto::kProtoUdp) return false;
  t.sport = load16(l4);
  t.dport = load16(l4 + 2);
  *hash = ConnTable::hash(t);
  return true;
}

}  // namespace nf
