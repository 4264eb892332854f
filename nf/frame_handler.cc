// handle_frame(): the Ethernet layer of the per-frame decision, run by every worker lcore for
// every frame received on an uplink port.
//
// The port is promiscuous, so the destination MAC is checked here (IEEE 802.3: accept our
// unicast address and group addresses). The EtherType picks the protocol step; ARP comes first
// because ARP requests for VIPs were the first traffic this layer was measured on; IPv4 now
// comes first because balanced flows are the bulk of the traffic. No VLAN tags yet.
#include "nf/frame_handler.h"

#include "nf/frame_steps.h"
#include "nf/wire.h"

namespace nf {

namespace {

detail::Outcome dispatch(uint8_t* frame, uint16_t* len, uint16_t room, uint16_t headroom,
                         const PortContext& port, const AddressTable& addresses, L4Context* l4) {
  using namespace wire;
  if (*len < eth::kHeaderLen) [[unlikely]] {
    return detail::drop(DropReason::kTruncatedEthernet);
  }
  if (!mac_is_group(frame + eth::kDst) && !mac_equal(frame + eth::kDst, port.mac.addr_bytes)) {
    return detail::drop(DropReason::kOtherHost);
  }
  const uint16_t type = load16(frame + eth::kType);
  if (type == eth::kTypeIpv4) return detail::handle_ipv4(frame, len, headroom, port, addresses, l4);
  if (type == eth::kTypeArp) {
    if (l4 != nullptr) detail::learn_from_arp(frame, *len, *l4);
    return detail::handle_arp(frame, *len, port, addresses);
  }
  if (type == eth::kTypeIpv6) {
    if (l4 != nullptr) detail::learn_from_ndp(frame, *len, *l4);
    return detail::handle_ipv6(frame, len, room, headroom, port, addresses, l4);
  }
  return detail::drop(DropReason::kUnsupportedEthertype);
}

}  // namespace

Verdict handle_frame(uint8_t* frame, uint16_t* len, uint16_t room, const PortContext& port,
                     const AddressTable& addresses) {
  return dispatch(frame, len, room, 0, port, addresses, nullptr).verdict();
}

Verdict handle_frame(uint8_t* frame, uint16_t* len, uint16_t room, uint16_t headroom,
                     const PortContext& port, const AddressTable& addresses, L4Context* l4) {
  if (l4 != nullptr) l4->room = room;
  return dispatch(frame, len, room, headroom, port, addresses, l4).verdict();
}

}  // namespace nf
