// handle_frame() at the Ethernet layer: length, destination MAC filter (the port is
// promiscuous), EtherType dispatch.
#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {

using nf::DropReason;
using pkt::Frame;

std::vector<FrameCase> ethernet_cases() {
  const World& w = world();
  const pkt::Bytes ping =
      Frame::eth(w.port_mac, w.client_mac).ipv4(w.client, w.vip).icmp_echo(1, 1);
  return {
      {"empty_frame", {}, drop(DropReason::kTruncatedEthernet)},
      {"truncated_ethernet_13_bytes", Frame::eth(w.port_mac, w.client_mac).truncate(13),
       drop(DropReason::kTruncatedEthernet)},
      {"unicast_ipv4_for_other_host",
       Frame::eth(w.intruder_mac, w.client_mac).ipv4(w.client, w.vip).icmp_echo(1, 1),
       drop(DropReason::kOtherHost)},
      {"unicast_arp_for_other_host",
       Frame::eth(w.intruder_mac, w.client_mac).arp_request(w.client_mac, w.client, w.vip),
       drop(DropReason::kOtherHost)},
      {"unicast_to_port1_mac_on_port0",
       Frame::eth(w.port1_mac, w.client_mac).ipv4(w.client, w.vip).icmp_echo(1, 1),
       drop(DropReason::kOtherHost)},
      {"vlan_tagged_frame",
       Frame::eth(w.port_mac, w.client_mac)
           .raw(
               pkt::concat({pkt::Bytes{0x00, 0x05, 0x08, 0x00}, std::span(ping).subspan(pkt::kL3)}))
           .ethertype(pkt::kEtherTypeVlan),
       drop(DropReason::kUnsupportedEthertype)},
      {"lldp_frame",
       Frame::eth(pkt::mac("01:80:c2:00:00:0e"), w.client_mac)
           .raw(pkt::Bytes(46, 0))
           .ethertype(0x88cc),
       drop(DropReason::kUnsupportedEthertype)},
      {"broadcast_unknown_ethertype", Frame::eth(pkt::kBroadcastMac, w.client_mac).pad_to(60),
       drop(DropReason::kUnsupportedEthertype)},
      {"header_only_arp",
       Frame::eth(pkt::kBroadcastMac, w.client_mac).ethertype(pkt::kEtherTypeArp),
       drop(DropReason::kArpMalformed)},
      {"header_only_ipv4", Frame::eth(w.port_mac, w.client_mac).ethertype(pkt::kEtherTypeIpv4),
       drop(DropReason::kIpv4Malformed)},
      {"header_only_ipv6", Frame::eth(w.port_mac, w.client_mac).ethertype(pkt::kEtherTypeIpv6),
       drop(DropReason::kIpv6Malformed)},
  };
}

INSTANTIATE_TEST_SUITE_P(Ethernet, FrameTest, ::testing::ValuesIn(ethernet_cases()), case_name);

}  // namespace nf_test
