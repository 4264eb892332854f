// handle_frame() for ARP (RFC 826) and ARP conflicts (RFC 5227).
#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {

using nf::DropReason;
using nf::ReplyKind;
using pkt::Frame;

std::vector<FrameCase> arp_cases() {
  const World& w = world();
  const pkt::Ip4 zero = pkt::ip4("0.0.0.0");
  const pkt::Mac bcast = pkt::kBroadcastMac;
  // The usual request: broadcast, padded to the Ethernet minimum by the sender's NIC.
  const auto request = [&](const pkt::Ip4& target) {
    return Frame::eth(bcast, w.client_mac).arp_request(w.client_mac, w.client, target).pad_to(60);
  };
  const auto reply_from = [&](const pkt::Mac& our_mac, const pkt::Ip4& addr) {
    return Frame::eth(w.client_mac, our_mac).arp_reply(our_mac, addr, w.client_mac, w.client);
  };
  return {
      {"request_for_vip", request(w.vip), reply(ReplyKind::kArpReply),
       reply_from(w.port_mac, w.vip).pad_to(60)},
      {"request_for_vip_unpadded_42_bytes",
       Frame::eth(bcast, w.client_mac).arp_request(w.client_mac, w.client, w.vip),
       reply(ReplyKind::kArpReply), reply_from(w.port_mac, w.vip)},
      {"unicast_request_for_vip_nud",
       Frame::eth(w.port_mac, w.client_mac)
           .arp(pkt::kArpRequest, w.client_mac, w.client, w.port_mac, w.vip)
           .pad_to(60),
       reply(ReplyKind::kArpReply), reply_from(w.port_mac, w.vip).pad_to(60)},
      {"request_with_nonzero_padding_keeps_length",
       request(w.vip).pad_to(64).poke(60, 0xde).poke(63, 0xad), reply(ReplyKind::kArpReply),
       reply_from(w.port_mac, w.vip).pad_to(64).poke(60, 0xde).poke(63, 0xad)},
      {"request_for_snat", request(w.snat), reply(ReplyKind::kArpReply),
       reply_from(w.port_mac, w.snat).pad_to(60)},
      {"request_for_port1_vip_on_port1", request(w.vip_port1), reply(ReplyKind::kArpReply),
       reply_from(w.port1_mac, w.vip_port1).pad_to(60), kDefaultRoom, 1},
      {"request_for_port1_vip_on_port0", request(w.vip_port1), punt()},
      {"request_for_port0_vip_on_port1", request(w.vip), punt(), {}, kDefaultRoom, 1},
      {"request_for_vip_not_announced", request(w.vip_bgp), punt()},
      {"request_for_node_address", request(w.node), punt()},
      {"request_for_unknown_address", request(w.unknown), punt()},
      {"probe_for_vip_rfc5227",
       Frame::eth(bcast, w.client_mac).arp_request(w.client_mac, zero, w.vip).pad_to(60),
       reply(ReplyKind::kArpReply),
       Frame::eth(w.client_mac, w.port_mac)
           .arp_reply(w.port_mac, w.vip, w.client_mac, zero)
           .pad_to(60)},
      {"probe_for_unknown_address",
       Frame::eth(bcast, w.client_mac).arp_request(w.client_mac, zero, w.unknown).pad_to(60),
       punt()},
      {"gratuitous_request_claiming_vip",
       Frame::eth(bcast, w.intruder_mac).arp_request(w.intruder_mac, w.vip, w.vip).pad_to(60),
       drop(DropReason::kArpConflict)},
      {"gratuitous_reply_claiming_vip",
       Frame::eth(bcast, w.intruder_mac).arp_reply(w.intruder_mac, w.vip, bcast, w.vip).pad_to(60),
       drop(DropReason::kArpConflict)},
      {"reply_claiming_snat",
       Frame::eth(w.port_mac, w.intruder_mac)
           .arp_reply(w.intruder_mac, w.snat, w.port_mac, w.node)
           .pad_to(60),
       drop(DropReason::kArpConflict)},
      {"reply_claiming_vip_announced_elsewhere",
       Frame::eth(bcast, w.intruder_mac).arp_reply(w.intruder_mac, w.vip_bgp, bcast, w.vip_bgp),
       drop(DropReason::kArpConflict)},
      {"request_from_host_using_vip_rfc5227_2_4",
       Frame::eth(bcast, w.intruder_mac).arp_request(w.intruder_mac, w.vip, w.node).pad_to(60),
       drop(DropReason::kArpConflict)},
      {"own_gratuitous_request_looped_back",
       Frame::eth(bcast, w.port_mac).arp_request(w.port_mac, w.vip, w.vip).pad_to(60), punt()},
      {"own_gratuitous_reply_looped_back",
       Frame::eth(bcast, w.port_mac).arp_reply(w.port_mac, w.vip, bcast, w.vip).pad_to(60), punt()},
      {"reply_from_client_to_node",
       Frame::eth(w.port_mac, w.client_mac)
           .arp_reply(w.client_mac, w.client, w.port_mac, w.node)
           .pad_to(60),
       punt()},
      {"gratuitous_from_client",
       Frame::eth(bcast, w.client_mac).arp_request(w.client_mac, w.client, w.client).pad_to(60),
       punt()},
      {"rarp_opcode_3", request(w.vip).poke16(pkt::kL3 + 6, 3), punt()},
      {"truncated_41_bytes", request(w.vip).truncate(41), drop(DropReason::kArpMalformed)},
      {"htype_ieee802", request(w.vip).poke16(pkt::kL3, 6), drop(DropReason::kArpMalformed)},
      {"ptype_ipv6", request(w.vip).poke16(pkt::kL3 + 2, 0x86dd), drop(DropReason::kArpMalformed)},
      {"hlen_8", request(w.vip).poke(pkt::kL3 + 4, 8), drop(DropReason::kArpMalformed)},
      {"plen_16", request(w.vip).poke(pkt::kL3 + 5, 16), drop(DropReason::kArpMalformed)},
  };
}

INSTANTIATE_TEST_SUITE_P(Arp, FrameTest, ::testing::ValuesIn(arp_cases()), case_name);

}  // namespace nf_test
