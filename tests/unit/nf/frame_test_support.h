// Shared world and table runner for the handle_frame() tests.
//
// Every case is one row: a name, an input frame, the expected verdict and, for replies, the
// exact expected output frame (built with tests/common/packet_builder.h, so checksums come from
// a second implementation). check_frame_case() also checks what must hold for every verdict:
// punted and dropped frames are left byte-for-byte unchanged, *len stays within room, and
// replies carry valid checksums.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>  // before nf/address_table.h, which uses size_t
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "nf/address_table.h"
#include "nf/frame_handler.h"
#include "tests/common/packet_builder.h"

namespace nf_test {

// Two ports and the addresses of the test segment (documentation ranges only).
struct World {
  pkt::Mac port_mac = pkt::mac("02:00:00:00:00:01");      // port index 0
  pkt::Mac port1_mac = pkt::mac("02:00:00:00:00:02");     // port index 1
  pkt::Mac client_mac = pkt::mac("02:aa:00:00:00:20");    // a host on the segment
  pkt::Mac intruder_mac = pkt::mac("02:bb:00:00:00:66");  // a host claiming our addresses

  pkt::Ip4 vip = pkt::ip4("203.0.113.10");        // VIP announced on port 0
  pkt::Ip4 vip_port1 = pkt::ip4("203.0.113.11");  // VIP announced on port 1 only
  pkt::Ip4 vip_bgp = pkt::ip4("203.0.113.12");    // VIP announced nowhere (BGP mode)
  pkt::Ip4 snat = pkt::ip4("198.51.100.11");      // SNAT address announced on port 0
  pkt::Ip4 node = pkt::ip4("198.51.100.10");      // the node's own address
  pkt::Ip4 client = pkt::ip4("198.51.100.20");
  pkt::Ip4 unknown = pkt::ip4("203.0.113.99");

  pkt::Ip6 vip6 = pkt::ip6("2001:db8:200::10");
  pkt::Ip6 vip6_port1 = pkt::ip6("2001:db8:200::11");
  pkt::Ip6 snat6 = pkt::ip6("2001:db8:100::11");
  pkt::Ip6 node6 = pkt::ip6("2001:db8:100::10");
  pkt::Ip6 node6_ll = pkt::ip6("fe80::10");
  pkt::Ip6 client6 = pkt::ip6("2001:db8:100::20");
  pkt::Ip6 client6_ll = pkt::ip6("fe80::20");
  pkt::Ip6 unknown6 = pkt::ip6("2001:db8:200::99");

  nf::AddressTable table;
  nf::PortContext port0;
  nf::PortContext port1;

  World();
};

const World& world();

// Expected verdicts.
nf::Verdict reply(nf::ReplyKind kind);
nf::Verdict punt();
nf::Verdict drop(nf::DropReason reason);
// "reply arp_reply", "punt", "drop ipv4_bad_checksum": what failures print.
std::string describe(const nf::Verdict& v);

inline constexpr uint16_t kDefaultRoom = 2048;

struct FrameCase {
  std::string name;  // [a-z0-9_]: becomes the test name
  pkt::Bytes in;
  nf::Verdict expect;
  pkt::Bytes out;                // the exact reply frame, when expect is a reply
  uint16_t room = kDefaultRoom;  // buffer size handed to handle_frame
  uint8_t port_index = 0;        // 0 or 1: which World port receives the frame
};

inline void PrintTo(const FrameCase& c, std::ostream* os) { *os << c.name; }

void check_frame_case(const FrameCase& c);

// The tables, one per file.
std::vector<FrameCase> ethernet_cases();
std::vector<FrameCase> arp_cases();
std::vector<FrameCase> ipv4_cases();
std::vector<FrameCase> ipv6_cases();
std::vector<FrameCase> ndp_cases();
std::vector<FrameCase> all_cases();

class FrameTest : public ::testing::TestWithParam<FrameCase> {};

inline std::string case_name(const ::testing::TestParamInfo<FrameCase>& info) {
  return info.param.name;
}

}  // namespace nf_test
