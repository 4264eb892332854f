// handle_frame() for IPv4 (RFC 791, RFC 1122) and ICMP echo (RFC 792).
#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {

using nf::DropReason;
using nf::ReplyKind;
using pkt::Frame;

std::vector<FrameCase> ipv4_cases() {
  const World& w = world();
  const pkt::Bytes data = pkt::text("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST");
  const pkt::Bytes odd_data = pkt::text("odd-length payload!");
  // From the client to one of our addresses, as ping sends it: TTL already decremented, DF.
  const auto to = [&](const pkt::Ip4& dst) {
    return Frame::eth(w.port_mac, w.client_mac)
        .ipv4(w.client, dst, 61)
        .ip_id(0x1c46)
        .dont_fragment();
  };
  const auto echo_to = [&](const pkt::Ip4& dst) { return to(dst).icmp_echo(0x0c0f, 1, data); };
  // The reply Portico must produce: same ID and DF, TTL 64, addresses and MACs swapped.
  const auto reply_from = [&](const pkt::Ip4& src) {
    return Frame::eth(w.client_mac, w.port_mac)
        .ipv4(src, w.client, 64)
        .ip_id(0x1c46)
        .dont_fragment();
  };
  const auto from = [&](const pkt::Ip4& src) {
    return Frame::eth(w.port_mac, w.client_mac).ipv4(src, w.vip).icmp_echo(9, 9, data);
  };
  const pkt::Ip4 bcast4 = pkt::ip4("255.255.255.255");
  const pkt::Ip4 mdns = pkt::ip4("224.0.0.251");
  return {
      {"echo_to_vip", echo_to(w.vip), reply(ReplyKind::kEchoReply),
       reply_from(w.vip).icmp_echo_reply(0x0c0f, 1, data)},
      {"echo_to_vip_odd_payload", to(w.vip).icmp_echo(0x0c0f, 2, odd_data),
       reply(ReplyKind::kEchoReply), reply_from(w.vip).icmp_echo_reply(0x0c0f, 2, odd_data)},
      {"echo_to_vip_padded_frame_reply_is_trimmed",
       to(w.vip).icmp_echo(7, 3).pad_to(60).poke(59, 0xee), reply(ReplyKind::kEchoReply),
       reply_from(w.vip).icmp_echo_reply(7, 3)},
      {"echo_to_vip_keeps_tos", to(w.vip).tos(0xb8).icmp_echo(7, 4, data),
       reply(ReplyKind::kEchoReply), reply_from(w.vip).tos(0xb8).icmp_echo_reply(7, 4, data)},
      {"echo_to_vip_ttl_1",
       Frame::eth(w.port_mac, w.client_mac).ipv4(w.client, w.vip, 1).icmp_echo(1, 1),
       reply(ReplyKind::kEchoReply),
       Frame::eth(w.client_mac, w.port_mac).ipv4(w.vip, w.client, 64).icmp_echo_reply(1, 1)},
      {"echo_to_snat", echo_to(w.snat), reply(ReplyKind::kEchoReply),
       reply_from(w.snat).icmp_echo_reply(0x0c0f, 1, data)},
      {"echo_to_vip_announced_nowhere", echo_to(w.vip_bgp), reply(ReplyKind::kEchoReply),
       reply_from(w.vip_bgp).icmp_echo_reply(0x0c0f, 1, data)},
      {"echo_to_vip_in_broadcast_frame",
       Frame::eth(pkt::kBroadcastMac, w.client_mac)
           .ipv4(w.client, w.vip, 61)
           .ip_id(0x1c46)
           .dont_fragment()
           .icmp_echo(0x0c0f, 1, data),
       reply(ReplyKind::kEchoReply), reply_from(w.vip).icmp_echo_reply(0x0c0f, 1, data)},
      {"echo_with_record_route_option_reply_has_none",
       to(w.vip).ipv4_options({7, 7, 4, 0, 0, 0, 0}).icmp_echo(0x0c0f, 5, data),
       reply(ReplyKind::kEchoReply), reply_from(w.vip).icmp_echo_reply(0x0c0f, 5, data)},
      {"echo_with_max_options_padded",
       to(w.vip).ipv4_options(pkt::Bytes(40, 1)).icmp_echo(0x0c0f, 6, odd_data).pad_to(200),
       reply(ReplyKind::kEchoReply), reply_from(w.vip).icmp_echo_reply(0x0c0f, 6, odd_data)},
      {"echo_to_node", echo_to(w.node), punt()},
      {"tcp_to_node", to(w.node).tcp(40000, 22), punt()},
      {"echo_to_unknown", echo_to(w.unknown), drop(DropReason::kNotForUs)},
      {"tcp_to_client_address", to(w.client).tcp(40000, 80), drop(DropReason::kNotForUs)},
      {"udp_to_limited_broadcast",
       Frame::eth(pkt::kBroadcastMac, w.client_mac)
           .ipv4(pkt::ip4("0.0.0.0"), bcast4)
           .udp(68, 67, data),
       punt()},
      {"echo_to_limited_broadcast",
       Frame::eth(pkt::kBroadcastMac, w.client_mac).ipv4(w.client, bcast4).icmp_echo(1, 1), punt()},
      {"mdns_multicast",
       Frame::eth(pkt::multicast_mac(mdns), w.client_mac)
           .ipv4(w.client, mdns, 255)
           .udp(5353, 5353, data),
       punt()},
      {"udp_to_239_multicast",
       Frame::eth(pkt::multicast_mac(pkt::ip4("239.1.2.3")), w.client_mac)
           .ipv4(w.client, pkt::ip4("239.1.2.3"))
           .udp(1000, 2000),
       punt()},
      {"udp_to_class_e", to(pkt::ip4("240.0.0.1")).udp(1, 2), drop(DropReason::kNotForUs)},
      {"version_6_in_ipv4_frame", echo_to(w.vip).ip_version(6), drop(DropReason::kIpv4Malformed)},
      {"ihl_4", echo_to(w.vip).ihl(4), drop(DropReason::kIpv4Malformed)},
      {"ihl_15_beyond_frame", to(w.vip).icmp_echo(1, 1).ihl(15), drop(DropReason::kIpv4Malformed)},
      {"total_length_beyond_frame", echo_to(w.vip).total_length(200),
       drop(DropReason::kIpv4Malformed)},
      {"total_length_below_header", echo_to(w.vip).total_length(19),
       drop(DropReason::kIpv4Malformed)},
      {"total_length_below_ihl_with_options",
       to(w.vip).ipv4_options({1, 1, 1, 1}).icmp_echo(1, 1).total_length(22),
       drop(DropReason::kIpv4Malformed)},
      {"truncated_header_19_bytes", echo_to(w.vip).truncate(pkt::kL3 + 19),
       drop(DropReason::kIpv4Malformed)},
      {"bad_header_checksum", echo_to(w.vip).bad_ip_checksum(), drop(DropReason::kIpv4BadChecksum)},
      {"bad_header_checksum_to_node", echo_to(w.node).bad_ip_checksum(),
       drop(DropReason::kIpv4BadChecksum)},
      {"fragment_more_fragments", to(w.vip).fragment(true, 0).icmp_echo(1, 1, data),
       drop(DropReason::kIpv4Fragment)},
      {"fragment_nonzero_offset", to(w.vip).fragment(false, 185).icmp_echo(1, 1, data),
       drop(DropReason::kIpv4Fragment)},
      {"tcp_fragment_to_vip", to(w.vip).fragment(true, 0).tcp(40000, 80),
       drop(DropReason::kIpv4Fragment)},
      {"fragment_to_node_is_punted", to(w.node).fragment(true, 0).icmp_echo(1, 1, data), punt()},
      {"bad_icmp_checksum", echo_to(w.vip).bad_l4_checksum(), drop(DropReason::kIcmpBadChecksum)},
      {"icmp_4_bytes", to(w.vip).icmp(pkt::kIcmpEchoRequest, 0, {}),
       drop(DropReason::kIcmpMalformed)},
      {"icmp_empty", to(w.vip).l4(pkt::kProtoIcmp, {}), drop(DropReason::kIcmpMalformed)},
      {"echo_code_1", to(w.vip).icmp(pkt::kIcmpEchoRequest, 1, {0, 1, 0, 1}),
       drop(DropReason::kIcmpMalformed)},
      {"echo_from_multicast_source", from(pkt::ip4("224.0.0.5")), drop(DropReason::kIcmpMalformed)},
      {"echo_from_broadcast_source", from(bcast4), drop(DropReason::kIcmpMalformed)},
      {"echo_from_zero_source", from(pkt::ip4("0.0.0.0")), drop(DropReason::kIcmpMalformed)},
      {"echo_from_loopback_source", from(pkt::ip4("127.0.0.1")), drop(DropReason::kIcmpMalformed)},
      {"echo_reply_to_vip", to(w.vip).icmp_echo_reply(1, 1, data), drop(DropReason::kVipNoService)},
      {"unreachable_to_vip", to(w.vip).icmp(pkt::kIcmpUnreachable, 3, pkt::Bytes(32, 0)),
       drop(DropReason::kVipNoService)},
      {"tcp_syn_to_vip", to(w.vip).tcp(40000, 80), drop(DropReason::kVipNoService)},
      {"tcp_with_options_to_vip", to(w.vip).ipv4_options({1, 1, 1, 0}).tcp(40000, 443),
       drop(DropReason::kVipNoService)},
      {"udp_to_snat", to(w.snat).udp(40000, 53, data), drop(DropReason::kVipNoService)},
  };
}

INSTANTIATE_TEST_SUITE_P(Ipv4, FrameTest, ::testing::ValuesIn(ipv4_cases()), case_name);

}  // namespace nf_test
