// handle_frame() for Neighbor Discovery (RFC 4861 §7.1 validation, §7.2 NS -> NA) and
// duplicate address detection (RFC 4862 §5.4).
#include "tests/unit/nf/frame_test_support.h"

namespace nf_test {

using nf::DropReason;
using nf::ReplyKind;
using pkt::Frame;

std::vector<FrameCase> ndp_cases() {
  const World& w = world();
  const pkt::Ip6 unspecified = pkt::ip6("::");
  const pkt::Ip6 sn = pkt::solicited_node(w.vip6);
  const pkt::Mac sn_mac = pkt::multicast_mac(sn);
  const pkt::Mac other_slla = pkt::mac("02:aa:00:00:00:21");
  const pkt::Mac all_nodes_mac = pkt::multicast_mac(pkt::kAllNodes);
  const pkt::NaFlags solicited{.solicited = true, .override_ = true};
  const pkt::NaFlags unsolicited{.override_ = true};

  // Address resolution: client to the solicited-node group of the target, with its SLLA.
  const auto ns_for = [&](const pkt::Ip6& target) {
    const pkt::Ip6 group = pkt::solicited_node(target);
    return Frame::eth(pkt::multicast_mac(group), w.client_mac)
        .ipv6(w.client6, group, 255)
        .ndp_ns(target, w.client_mac);
  };
  // Neighbour unreachability detection: unicast to the target, usually without SLLA.
  const auto nud_for = [&](const pkt::Ip6& target) {
    return Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6, target, 255).ndp_ns(target);
  };
  // Duplicate address detection probe.
  const auto dad_for = [&](const pkt::Ip6& target) {
    const pkt::Ip6 group = pkt::solicited_node(target);
    return Frame::eth(pkt::multicast_mac(group), w.client_mac)
        .ipv6(unspecified, group, 255)
        .ndp_ns(target);
  };
  const auto na_to = [&](const pkt::Mac& eth_dst, const pkt::Ip6& ip_dst, const pkt::Ip6& target,
                         const pkt::Mac& our_mac = pkt::Mac{}) {
    const pkt::Mac mac = our_mac == pkt::Mac{} ? w.port_mac : our_mac;
    return Frame::eth(eth_dst, mac).ipv6(target, ip_dst, 255).ndp_na(target, solicited, mac);
  };
  const pkt::Bytes ns_body = pkt::concat({pkt::Bytes(4, 0), w.vip6.bytes});
  const auto na_from = [&](const pkt::Mac& src, const pkt::Ip6& target, pkt::NaFlags flags,
                           std::optional<pkt::Mac> tlla) {
    return Frame::eth(all_nodes_mac, src)
        .ipv6(w.client6_ll, pkt::kAllNodes, 255)
        .ndp_na(target, flags, tlla);
  };
  return {
      {"ns_for_vip6_with_slla", ns_for(w.vip6), reply(ReplyKind::kNeighborAdvert),
       na_to(w.client_mac, w.client6, w.vip6)},
      {"ns_slla_differs_from_frame_source",
       Frame::eth(sn_mac, w.client_mac).ipv6(w.client6, sn, 255).ndp_ns(w.vip6, other_slla),
       reply(ReplyKind::kNeighborAdvert), na_to(other_slla, w.client6, w.vip6)},
      {"ns_from_link_local_source",
       Frame::eth(sn_mac, w.client_mac).ipv6(w.client6_ll, sn, 255).ndp_ns(w.vip6, w.client_mac),
       reply(ReplyKind::kNeighborAdvert), na_to(w.client_mac, w.client6_ll, w.vip6)},
      {"ns_nud_unicast_without_slla_grows_frame", nud_for(w.vip6),
       reply(ReplyKind::kNeighborAdvert), na_to(w.client_mac, w.client6, w.vip6)},
      {"ns_nud_unicast_with_slla",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6, w.vip6, 255).ndp_ns(w.vip6, other_slla),
       reply(ReplyKind::kNeighborAdvert), na_to(other_slla, w.client6, w.vip6)},
      {"ns_nud_exact_room", nud_for(w.vip6), reply(ReplyKind::kNeighborAdvert),
       na_to(w.client_mac, w.client6, w.vip6), 86},
      {"ns_nud_room_too_small", nud_for(w.vip6), drop(DropReason::kNoRoom), {}, 85},
      {"ns_with_nonce_option_shrinks_frame",
       ns_for(w.vip6).ndp_option(pkt::kNdOptNonce, {1, 2, 3, 4, 5, 6}),
       reply(ReplyKind::kNeighborAdvert), na_to(w.client_mac, w.client6, w.vip6)},
      {"ns_slla_after_unknown_option",
       Frame::eth(sn_mac, w.client_mac)
           .ipv6(w.client6, sn, 255)
           .ndp_ns(w.vip6)
           .ndp_option(99, pkt::Bytes(14, 7))
           .ndp_option(pkt::kNdOptSourceLinkAddr,
                       {other_slla.bytes.begin(), other_slla.bytes.end()}),
       reply(ReplyKind::kNeighborAdvert), na_to(other_slla, w.client6, w.vip6)},
      {"ns_with_ethernet_padding", ns_for(w.vip6).pad_to(128).poke(127, 0x55),
       reply(ReplyKind::kNeighborAdvert), na_to(w.client_mac, w.client6, w.vip6)},
      {"ns_for_snat6", ns_for(w.snat6), reply(ReplyKind::kNeighborAdvert),
       na_to(w.client_mac, w.client6, w.snat6)},
      {"ns_for_port1_vip6_on_port1", ns_for(w.vip6_port1), reply(ReplyKind::kNeighborAdvert),
       na_to(w.client_mac, w.client6, w.vip6_port1, w.port1_mac), kDefaultRoom, 1},
      {"ns_for_port1_vip6_on_port0", ns_for(w.vip6_port1), punt()},
      {"dad_ns_for_vip6_answered_to_all_nodes", dad_for(w.vip6), reply(ReplyKind::kNeighborAdvert),
       Frame::eth(all_nodes_mac, w.port_mac)
           .ipv6(w.vip6, pkt::kAllNodes, 255)
           .ndp_na(w.vip6, unsolicited, w.port_mac)},
      {"dad_ns_with_slla",
       dad_for(w.vip6).ndp_option(pkt::kNdOptSourceLinkAddr,
                                  {w.client_mac.bytes.begin(), w.client_mac.bytes.end()}),
       drop(DropReason::kNdpInvalid)},
      {"dad_ns_to_all_nodes",
       Frame::eth(all_nodes_mac, w.client_mac)
           .ipv6(unspecified, pkt::kAllNodes, 255)
           .ndp_ns(w.vip6),
       drop(DropReason::kNdpInvalid)},
      {"dad_ns_for_unknown", dad_for(w.unknown6), punt()},
      {"ns_for_node6", ns_for(w.node6), punt()},
      {"ns_for_unknown6", ns_for(w.unknown6), punt()},
      {"nud_ns_to_node6", nud_for(w.node6), punt()},
      {"ns_to_vip6_for_node_target",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6, w.vip6, 255).ndp_ns(w.node6), punt()},
      {"ns_to_node_link_local",
       Frame::eth(w.port_mac, w.client_mac).ipv6(w.client6_ll, w.node6_ll, 255).ndp_ns(w.node6_ll),
       punt()},
      {"ns_hop_limit_64",
       Frame::eth(sn_mac, w.client_mac).ipv6(w.client6, sn, 64).ndp_ns(w.vip6, w.client_mac),
       drop(DropReason::kNdpInvalid)},
      {"ns_bad_checksum", ns_for(w.vip6).bad_l4_checksum(), drop(DropReason::kNdpInvalid)},
      {"ns_code_1",
       Frame::eth(sn_mac, w.client_mac)
           .ipv6(w.client6, sn, 255)
           .icmp6(pkt::kIcmp6NeighborSolicitation, 1, ns_body),
       drop(DropReason::kNdpInvalid)},
      {"ns_20_bytes",
       Frame::eth(sn_mac, w.client_mac)
           .ipv6(w.client6, sn, 255)
           .icmp6(pkt::kIcmp6NeighborSolicitation, 0, pkt::Bytes(16, 0)),
       drop(DropReason::kNdpInvalid)},
      {"ns_zero_length_option", ns_for(w.vip6).l4_append({1, 0, 0, 0, 0, 0, 0, 0}),
       drop(DropReason::kNdpInvalid)},
      {"ns_option_past_end", nud_for(w.vip6).l4_append({1, 2, 1, 2, 3, 4, 5, 6}),
       drop(DropReason::kNdpInvalid)},
      {"ns_trailing_byte", ns_for(w.vip6).l4_append({1}), drop(DropReason::kNdpInvalid)},
      {"ns_target_multicast",
       Frame::eth(sn_mac, w.client_mac)
           .ipv6(w.client6, sn, 255)
           .ndp_ns(pkt::kAllNodes, w.client_mac),
       drop(DropReason::kNdpInvalid)},
      {"ns_from_multicast_source",
       Frame::eth(sn_mac, w.client_mac).ipv6(pkt::ip6("ff02::1"), sn, 255).ndp_ns(w.vip6),
       drop(DropReason::kNdpInvalid)},
      {"na_claiming_vip6", na_from(w.intruder_mac, w.vip6, unsolicited, w.intruder_mac),
       drop(DropReason::kNdpConflict)},
      {"na_claiming_vip6_without_tlla", na_from(w.intruder_mac, w.vip6, unsolicited, std::nullopt),
       drop(DropReason::kNdpConflict)},
      {"na_claiming_port1_vip6_on_port0",
       na_from(w.intruder_mac, w.vip6_port1, unsolicited, w.intruder_mac),
       drop(DropReason::kNdpConflict)},
      {"na_unicast_to_vip6_claiming_vip6",
       Frame::eth(w.port_mac, w.intruder_mac)
           .ipv6(w.client6, w.vip6, 255)
           .ndp_na(w.vip6, solicited, w.intruder_mac),
       drop(DropReason::kNdpConflict)},
      {"na_own_looped_back", na_from(w.port_mac, w.vip6, unsolicited, w.port_mac), punt()},
      {"na_for_client6", na_from(w.client_mac, w.client6, unsolicited, w.client_mac), punt()},
      {"na_for_node6", na_from(w.intruder_mac, w.node6, unsolicited, w.intruder_mac), punt()},
      {"na_unicast_to_vip6_for_client6",
       Frame::eth(w.port_mac, w.client_mac)
           .ipv6(w.client6, w.vip6, 255)
           .ndp_na(w.client6, solicited, w.client_mac),
       drop(DropReason::kVipNoService)},
      {"na_hop_limit_64",
       Frame::eth(all_nodes_mac, w.intruder_mac)
           .ipv6(w.client6_ll, pkt::kAllNodes, 64)
           .ndp_na(w.vip6, unsolicited, w.intruder_mac),
       drop(DropReason::kNdpInvalid)},
      {"na_solicited_to_multicast", na_from(w.intruder_mac, w.vip6, solicited, w.intruder_mac),
       drop(DropReason::kNdpInvalid)},
      {"na_bad_checksum",
       na_from(w.client_mac, w.client6, unsolicited, w.client_mac).bad_l4_checksum(),
       drop(DropReason::kNdpInvalid)},
  };
}

INSTANTIATE_TEST_SUITE_P(Ndp, FrameTest, ::testing::ValuesIn(ndp_cases()), case_name);

}  // namespace nf_test
