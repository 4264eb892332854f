// Why a packet was dropped: one x-macro list, so counters, logs and docs name the same reasons.
//
// Every packet a worker does not transmit or punt is counted under exactly one of these.
// Add new reasons at the end of the list; the names (second column) appear in logs and metrics.
#pragma once

#include <cstdint>

#define PORTICO_DROP_REASONS(X)                                                              \
  X(kTruncatedEthernet, "truncated_ethernet")       /* shorter than an Ethernet header */    \
  X(kOtherHost, "other_host")                       /* unicast frame for another MAC */      \
  X(kUnsupportedEthertype, "unsupported_ethertype") /* not ARP, IPv4 or IPv6 */              \
  X(kArpMalformed, "arp_malformed")                 /* short or not Ethernet/IPv4 ARP */     \
  X(kArpConflict, "arp_conflict")                   /* another host claims our address */    \
  X(kIpv4Malformed, "ipv4_malformed")               /* version, IHL or length wrong */       \
  X(kIpv4BadChecksum, "ipv4_bad_checksum")                                                   \
  X(kIpv4Fragment, "ipv4_fragment") /* fragments to a VIP (no reassembly) */                 \
  X(kIcmpMalformed, "icmp_malformed")                                                        \
  X(kIcmpBadChecksum, "icmp_bad_checksum")                                                   \
  X(kIpv6Malformed, "ipv6_malformed") /* version or payload length wrong */                  \
  X(kIcmpv6Malformed, "icmpv6_malformed")                                                    \
  X(kIcmpv6BadChecksum, "icmpv6_bad_checksum")                                               \
  X(kNdpInvalid, "ndp_invalid")        /* fails RFC 4861 7.1.1 checks */                     \
  X(kNdpConflict, "ndp_conflict")      /* another host advertises our VIP */                 \
  X(kVipNoService, "vip_no_service")   /* to a VIP, nothing serves it yet */                 \
  X(kNotForUs, "not_for_us")           /* IP not ours (no VIP, node, SNAT) */                \
  X(kNoRoom, "no_room")                /* reply would not fit the buffer */                  \
  X(kTxFull, "tx_full")                /* the NIC queue refused the packet */                \
  X(kPuntFull, "punt_full")            /* the kernel tap refused the packet */               \
  X(kL4Malformed, "l4_malformed")      /* TCP/UDP header shorter than it says */             \
  X(kNoEndpoint, "no_endpoint")        /* UDP to a service port with no usable endpoint */   \
  X(kNoConnection, "no_connection")    /* reply or reset that matches no flow */             \
  X(kConnTableFull, "conn_table_full") /* new full-NAT flow, no record free */               \
  X(kSnatExhausted, "snat_exhausted")  /* no free SNAT port for the backend */               \
  X(kNeighborUnresolved, "neighbor_unresolved") /* next hop MAC not known yet */             \
  X(kTtlExceeded, "ttl_exceeded")               /* full-NAT would forward with TTL 0 */      \
  X(kIcmpNoFlow, "icmp_no_flow")                /* ICMP error about no known flow */         \
  X(kNoSourceAddress, "no_source_address")      /* IPIP: no node address on the interface */ \
  X(kEncapTooBig, "encap_too_big") /* IPIP: the encapsulated packet exceeds the MTU */       \
  X(kHandoffFull, "handoff_full")  /* the owning worker's handoff ring was full */

namespace nf {

enum class DropReason : uint8_t {
#define PORTICO_DROP_ENUM(name, text) name,
  PORTICO_DROP_REASONS(PORTICO_DROP_ENUM)
#undef PORTICO_DROP_ENUM
      kCount
};

inline constexpr int kDropReasonCount = static_cast<int>(DropReason::kCount);

inline const char* drop_reason_name(DropReason r) {
  static constexpr const char* kNames[] = {
#define PORTICO_DROP_NAME(name, text) text,
      PORTICO_DROP_REASONS(PORTICO_DROP_NAME)
#undef PORTICO_DROP_NAME
  };
  const auto i = static_cast<int>(r);
  return i < kDropReasonCount ? kNames[i] : "unknown";
}

}  // namespace nf
