// Adj-RIB-Out of one BGP session: what this speaker wants the peer to have, what it has sent,
// and the UPDATEs that turn one into the other (RFC 4271 sections 3.2 and 9.2).
//
// Pure code, owned by a Session in the control thread; one is built each time the session
// reaches Established (the next hop is the local address of that TCP connection) and dropped
// when it leaves. Announcements with identical attributes share UPDATEs, packed up to the
// 4096-byte message limit with the codec's encoded_update_size(); withdrawals are batched the
// same way. IPv4 prefixes use the classic NLRI and NEXT_HOP fields, IPv6 prefixes MP_REACH_NLRI /
// MP_UNREACH_NLRI (RFC 4760). Only routes of the session's own family go to it: an IPv4 session
// carries IPv4 routes, an IPv6 session IPv6 routes (MetalLB's behaviour; IPv6 over an IPv4
// session would need RFC 8950 next hops).
//
// Attributes (RFC 4271 5.1): ORIGIN IGP; AS_PATH [our AS] on eBGP, empty on iBGP; NEXT_HOP this
// end of the session; LOCAL_PREF on iBGP only (the route's value, else 100); communities
// (RFC 1997) and large communities (RFC 8092) as the route carries them. End-of-RIB (RFC 4724)
// follows the initial sync and every ROUTE-REFRESH answer (RFC 2918), graceful restart or not:
// it is harmless to a peer that did not ask, and BIRD and FRR use it to end route refreshes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "config/ip.h"
#include "control/bgp/codec.h"
#include "control/bgp/speaker.h"

namespace bgp {

constexpr uint32_t kDefaultLocalPref = 100;

struct RibOutOptions {
  Afi family = Afi::kIPv4;  // the session's transport family
  bool ibgp = false;
  uint32_t my_asn = 0;
  config::IpAddress next_hop;  // the local address of the session's TCP connection
  CodecOptions codec;          // as negotiated (4-octet AS_PATH or not)
};

class AdjRibOut {
 public:
  explicit AdjRibOut(const RibOutOptions& options);

  // Replaces the desired routes. Routes of the other family, and prefixes longer than their
  // family allows, are left out (counted in ignored()); of two routes for one prefix the first
  // wins (counted too).
  void set_desired(const std::vector<Route>& routes);

  // The UPDATEs that bring the peer from what was sent to what is desired: withdrawals first,
  // then announcements grouped by attributes. What they carry counts as sent afterwards.
  std::vector<Update> sync();
  // sync() followed by End-of-RIB: what a session sends once it is Established.
  std::vector<Update> initial_sync();
  // ROUTE-REFRESH for `af`: every desired route again, then End-of-RIB. Nothing for a family
  // this session does not carry.
  std::vector<Update> refresh(const AfiSafi& af);
  // Withdraws everything that was sent (shutdown without graceful restart).
  std::vector<Update> withdraw_all();

  // The End-of-RIB marker for a family: an empty UPDATE for IPv4 unicast, an empty
  // MP_UNREACH_NLRI otherwise (RFC 4724 section 2).
  static Update end_of_rib(const AfiSafi& af);

  // The attributes a route is sent with on this session.
  Attributes attributes_for(const Route& route) const;

  size_t advertised() const { return sent_.size(); }  // prefixes the peer has from us
  size_t desired() const { return desired_.size(); }
  uint64_t ignored() const { return ignored_; }
  // Routes whose attributes alone exceed a 4096-byte UPDATE (thousands of communities): never
  // sent, counted here so the session can log them.
  uint64_t too_large() const { return too_large_; }
  const RibOutOptions& options() const { return options_; }

 private:
  std::vector<Update> build(bool resend_all);
  void pack_withdrawals(const std::vector<Prefix>& prefixes, std::vector<Update>& out) const;
  // Returns the prefixes that could not be sent at all (too_large).
  std::vector<Prefix> pack_announcements(const Attributes& attrs,
                                         const std::vector<Prefix>& prefixes,
                                         std::vector<Update>& out) const;

  RibOutOptions options_;
  std::map<Prefix, Attributes> desired_;
  std::map<Prefix, Attributes> sent_;
  uint64_t ignored_ = 0;
  uint64_t too_large_ = 0;
};

}  // namespace bgp
