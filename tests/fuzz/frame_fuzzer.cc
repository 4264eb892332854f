// libFuzzer target: nf::handle_frame on arbitrary bytes must never read or write out of bounds,
// never grow a frame past its room, and always return a verdict.
//
// The first input byte picks the interface index and the room left after the frame, the rest
// is the frame. The table holds a VIP, a SNAT and a node address of each family, so the
// fuzzer can reach every reply path.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nf/frame_handler.h"

namespace {

const nf::AddressTable& table() {
  static const nf::AddressTable t = [] {
    nf::AddressTable a;
    const uint8_t vip4[4] = {203, 0, 113, 10}, snat4[4] = {198, 51, 100, 11},
                  node4[4] = {198, 51, 100, 10};
    uint32_t be;
    std::memcpy(&be, vip4, 4);
    a.add_v4(be, {nf::kAddrVip, 1});
    std::memcpy(&be, snat4, 4);
    a.add_v4(be, {nf::kAddrSnat, 3});
    std::memcpy(&be, node4, 4);
    a.add_v4(be, {nf::kAddrNode, 0});
    const uint8_t vip6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    const uint8_t node6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    a.add_v6(vip6, {nf::kAddrVip, 1});
    a.add_v6(node6, {nf::kAddrNode, 0});
    a.finalize();
    return a;
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 9000) return 0;
  nf::PortContext port{};
  const uint8_t mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x10};
  std::memcpy(port.mac.addr_bytes, mac, 6);
  port.index = data[0] & 1;
  const size_t spare = (data[0] >> 1) & 0x3f;  // 0..63 bytes of tailroom
  const size_t len = size - 1;
  const size_t room = len + spare;
  // Exactly `room` bytes, so ASan sees any access past the room.
  std::vector<uint8_t> buf(room == 0 ? 1 : room);
  std::memcpy(buf.data(), data + 1, len);
  uint16_t l = static_cast<uint16_t>(len);
  const nf::Verdict v =
      nf::handle_frame(buf.data(), &l, static_cast<uint16_t>(room), port, table());
  if (l > room) std::abort();
  if (v.action == nf::Action::kDrop && static_cast<int>(v.drop) >= nf::kDropReasonCount)
    std::abort();
  return 0;
}
