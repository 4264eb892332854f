// handle_frame() for IPv6 (RFC 8200) and ICMPv6 echo (RFC 4443). NDP is in ndp_test.cc.
#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {

using nf::DropReason;
using nf::ReplyKind;
using pkt::Frame;

std::vector<FrameCase> ipv6_cases() {
  const World& w = world();
  const pkt::Bytes data = pkt::text("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST");
  const pkt::Bytes odd_data = pkt::text("odd-length payload!");
  const pkt::Ip6 all_routers = pkt::ip6("ff02::2");
  const pkt::Ip6 router_ll = pkt::ip6("fe80::1");
  const auto to = [&](const pkt::Ip6& dst) {
    return Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6, dst, 57);
  };
  const auto echo_to = [&](const pkt::Ip6& dst) { return to(dst).icmp6_echo(0x77, 3, data); };
  const auto reply_from = [&](const pkt::Ip6& src) {
    return Frame::eth(w.client_mac, w.port_mac).ipv6(src, w.client6, 64);
  };
  const auto to_group = [&](const pkt::Ip6& group) {
    return Frame::eth(pkt::multicast_mac(group), w.client_mac).ipv6(w.client6_ll, group, 255);
  };
  const auto from = [&](const pkt::Ip6& src) {
    return Frame::eth(w.port_mac, w.client_mac).ipv6(src, w.vip6).icmp6_echo(1, 1, data);
  };
  // A hop-by-hop options header (next header 58, PadN) before an echo request.
  const pkt::Bytes hop_by_hop{pkt::kProtoIcmpv6, 0, 1, 4, 0, 0, 0, 0};
  const pkt::Bytes mld_hop_by_hop{pkt::kProtoIcmpv6, 0, 5, 2, 0, 0, 1, 0};  // router alert
  return {
      {"echo_to_vip6", echo_to(w.vip6), reply(ReplyKind::kEchoReplyV6),
       reply_from(w.vip6).icmp6_echo_reply(0x77, 3, data)},
      {"echo_to_vip6_odd_payload", to(w.vip6).icmp6_echo(0x77, 4, odd_data),
       reply(ReplyKind::kEchoReplyV6), reply_from(w.vip6).icmp6_echo_reply(0x77, 4, odd_data)},
      {"echo_to_vip6_keeps_traffic_class_and_flow",
       to(w.vip6).traffic_class(0xb8).flow_label(0x12345).icmp6_echo(0x77, 5, data),
       reply(ReplyKind::kEchoReplyV6),
       reply_from(w.vip6).traffic_class(0xb8).flow_label(0x12345).icmp6_echo_reply(0x77, 5, data)},
      {"echo_to_vip6_padded_frame_reply_is_trimmed",
       to(w.vip6).icmp6_echo(1, 1).pad_to(80).poke(79, 1), reply(ReplyKind::kEchoReplyV6),
       reply_from(w.vip6).icmp6_echo_reply(1, 1)},
      {"echo_to_snat6", echo_to(w.snat6), reply(ReplyKind::kEchoReplyV6),
       reply_from(w.snat6).icmp6_echo_reply(0x77, 3, data)},
      {"echo_to_vip6_from_link_local",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6_ll, w.vip6).icmp6_echo(2, 2, data),
       reply(ReplyKind::kEchoReplyV6),
       Frame::eth(w.client_mac, w.port_mac)
           .ipv6(w.vip6, w.client6_ll, 64)
           .icmp6_echo_reply(2, 2, data)},
      {"echo_to_node6", echo_to(w.node6), punt()},
      {"tcp_to_node6", to(w.node6).tcp(40000, 22), punt()},
      {"echo_to_unknown6", echo_to(w.unknown6), drop(DropReason::kNotForUs)},
      {"udp_to_unknown6", to(w.unknown6).udp(1, 2), drop(DropReason::kNotForUs)},
      {"echo_to_all_nodes", to_group(pkt::kAllNodes).icmp6_echo(1, 1), punt()},
      {"echo_to_node_link_local",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6_ll, w.node6_ll).icmp6_echo(1, 1),
       punt()},
      {"udp_to_node_link_local",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6_ll, w.node6_ll).udp(546, 547), punt()},
      {"router_solicitation",
       to_group(all_routers).icmp6(pkt::kIcmp6RouterSolicitation, 0, {0, 0, 0, 0}), punt()},
      {"router_advertisement",
       Frame::eth(pkt::multicast_mac(pkt::kAllNodes), w.client_mac)
           .ipv6(router_ll, pkt::kAllNodes, 255)
           .icmp6(pkt::kIcmp6RouterAdvertisement, 0, pkt::Bytes(12, 0)),
       punt()},
      {"redirect_to_link_local",
       Frame::eth(w.port_mac, w.client_mac)
           .ipv6(router_ll, w.node6_ll, 255)
           .icmp6(137, 0, pkt::Bytes(36, 0)),
       punt()},
      {"mld_report_with_hop_by_hop",
       to_group(pkt::ip6("ff02::16"))
           .l4(pkt::kProtoHopByHop,
               pkt::concat({mld_hop_by_hop, pkt::Bytes{143, 0, 0, 0, 0, 0, 0, 0}})),
       punt()},
      {"icmp6_2_bytes_to_all_nodes", to_group(pkt::kAllNodes).l4(pkt::kProtoIcmpv6, {128, 0}),
       drop(DropReason::kIcmpv6Malformed)},
      {"icmp6_2_bytes_to_vip6", to(w.vip6).l4(pkt::kProtoIcmpv6, {128, 0}),
       drop(DropReason::kIcmpv6Malformed)},
      {"echo_6_bytes_to_vip6", to(w.vip6).icmp6(pkt::kIcmp6EchoRequest, 0, {0, 1}),
       drop(DropReason::kIcmpv6Malformed)},
      {"echo_code_1_to_vip6", to(w.vip6).icmp6(pkt::kIcmp6EchoRequest, 1, {0, 1, 0, 1}),
       drop(DropReason::kIcmpv6Malformed)},
      {"echo_from_multicast_source", from(pkt::ip6("ff02::1")), drop(DropReason::kIcmpv6Malformed)},
      {"echo_from_unspecified_source", from(pkt::ip6("::")), drop(DropReason::kIcmpv6Malformed)},
      {"echo_from_loopback_source", from(pkt::ip6("::1")), drop(DropReason::kIcmpv6Malformed)},
      {"echo_bad_checksum", echo_to(w.vip6).bad_l4_checksum(),
       drop(DropReason::kIcmpv6BadChecksum)},
      {"echo_checksum_over_wrong_addresses", echo_to(w.vip6).poke(pkt::kL3 + 8 + 15, 0x21),
       drop(DropReason::kIcmpv6BadChecksum)},
      {"echo_reply_to_vip6", to(w.vip6).icmp6_echo_reply(1, 1), drop(DropReason::kVipNoService)},
      {"udp_to_vip6", to(w.vip6).udp(40000, 53, data), drop(DropReason::kVipNoService)},
      {"tcp_to_snat6", to(w.snat6).tcp(40000, 80), drop(DropReason::kVipNoService)},
      {"echo_behind_hop_by_hop_to_vip6",
       to(w.vip6).l4(pkt::kProtoHopByHop,
                     pkt::concat({hop_by_hop, pkt::Bytes{128, 0, 0, 0, 0, 1, 0, 1}})),
       drop(DropReason::kVipNoService)},
      {"payload_length_beyond_frame", echo_to(w.vip6).payload_length(100),
       drop(DropReason::kIpv6Malformed)},
      {"version_4_in_ipv6_frame", echo_to(w.vip6).ip_version(4), drop(DropReason::kIpv6Malformed)},
      {"truncated_header_39_bytes", echo_to(w.vip6).truncate(pkt::kL3 + 39),
       drop(DropReason::kIpv6Malformed)},
      {"truncated_payload", echo_to(w.vip6).truncate(pkt::kL3 + 40 + 20),
       drop(DropReason::kIpv6Malformed)},
  };
}

INSTANTIATE_TEST_SUITE_P(Ipv6, FrameTest, ::testing::ValuesIn(ipv6_cases()), case_name);

}  // namespace nf_test
