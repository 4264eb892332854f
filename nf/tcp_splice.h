// The per-packet splice of an L7 connection: a client's TCP connection to a VIP, answered by
// Portico itself (SYN cookie), joined to the TCP connection Portico opened to the backend it
// chose, by rewriting every segment in place from one connection's numbering to the other's.
//
// Runs on worker lcores, per packet; the SpliceState belongs to one connection of one worker
// (no locks, no atomics). No allocation, no exceptions; malformed segments come back
// unchanged with a verdict saying so.
//
// The two connections (host-order numbers; "c" client, "p" Portico, "b" backend):
//   client  --SYN ISN_c-->        Portico (VIP)    Portico (SNAT) --SYN ISN_pb-->      backend
//           <--SYN-ACK ISN_pc--                                   <--SYN-ACK ISN_b--
//           --head (Hc bytes)-->                                  --head' (Hb bytes)-->
// Portico acknowledged the client's head when it read it and replayed it, maybe rewritten, to
// the backend; from then on each segment is spliced:
//   client -> backend: addresses and ports client:cport -> VIP:vport become SNAT:sport ->
//     backend:bport; seq + (ISN_pb - ISN_c + Hb - Hc); ack and SACK edges (about backend data)
//     - (ISN_pc - ISN_b); TSval + ts_to_backend, TSecr - ts_to_client; window rescaled.
//   backend -> client: the reverse: seq + (ISN_pc - ISN_b); ack and SACK edges
//     - (ISN_pb - ISN_c + Hb - Hc); TSval + ts_to_client, TSecr - ts_to_backend; window rescaled.
// All arithmetic is modulo 2^32 (RFC 9293 §3.4), so sequence numbers and timestamps wrap freely.
// Checksums are updated incrementally (RFC 1624): one delta per segment over every changed
// word, applied to the TCP checksum (pseudo-header included) and, for IPv4, the header checksum.
//
// Policies (where the specifications leave the splicer a choice):
//  * The head. Client byte k (counting from 0 after the SYN) has seq ISN_c + 1 + k; for k >= Hc
//    the backend sees it at ISN_pb + 1 + Hb + (k - Hc), so both head ends map onto each other
//    and everything after them is exact. Bytes before the head end are the head the backend got
//    in rewritten form:
//    - client data (payload or FIN) starting before the client's head end is never forwarded
//      while the backend has not acknowledged the whole replay (verdict kDataInHead, segment
//      unchanged): the backend would take the client's original bytes in place of the replay's.
//      Portico already acknowledged them, so dropping it loses nothing. Once the replay is
//      acknowledged the backend discards such bytes as old, and they are spliced like any other.
//    - a backend ack inside the replayed head (the replay is not fully delivered) becomes the
//      client's head end, which Portico has acknowledged already (anomaly kAckInHead): acks the
//      client sees never go below what it has been told. SACK blocks of the backend inside the
//      head are trimmed to the head end or removed (kSackInHead).
//    - "Delivered" is one bit of state (head_delivered), set by splice_to_client() the first time
//      the backend acknowledges the head end. Before it is set, every sequence number in play is
//      within a window of the head end, so signed 32-bit comparisons are exact; after, no
//      comparison with the head is made, so connections may carry any number of bytes (a
//      stateless "is this ack in the head?" test would misfire after 4 GiB, and one with a signed
//      comparison after 2 GiB).
//  * Timestamps (RFC 7323). Each side has seen one clock from Portico: the client Portico's
//    (cookie) clock, the backend the clock Portico used in its SYN. Each offset pins one pair
//    of values: ts_to_backend = (TSval Portico last sent the backend) - (TSval the client last
//    sent Portico), ts_to_client = (TSval Portico last sent the client) - (TSval the backend last
//    sent Portico). Spliced TSvals therefore never go below what a side has already received
//    from Portico, so PAWS (RFC 7323 §5) accepts them. Simplest for the caller: put the client's
//    latest TSval in the SYN to the backend (ts_to_backend = 0). After the splice starts, Portico's
//    own segments on one side take their TSval from the other side's latest, translated.
//  * Windows (RFC 7323 §2). Portico announces to the backend the client's window scale, so
//    client -> backend windows pass unchanged; backend -> client windows are rescaled from the
//    backend's scale into the one Portico announced to the client. In general a window w is
//    sent on as (w << scale of its sender) >> scale its receiver expects, rounded down (never
//    announcing more than the receiver offered) and clamped to 0xffff (kWindowClamped).
//    A side that did not take part in window scaling has scale 0 both ways (RFC 7323 §2.2).
//  * Options the receiver did not negotiate are not sent on: a SACK option to a side without
//    SACK-Permitted (RFC 2018 §2: "MUST NOT be sent") or a Timestamps option to a side that did
//    not agree to timestamps is rewritten to NOPs (kSackStripped, kTimestampsStripped). A
//    segment without timestamps (other than a RST) for a side that negotiated them is spliced
//    and reported (kTimestampsMissing): Portico cannot add an option in place, and RFC 7323
//    §3.2 lets the receiver drop it (Linux accepts it; gVisor and illumos drop it). This
//    happens on every backend segment when the client agreed to timestamps and the backend
//    did not.
//  * MSS: Portico announces the client's MSS to the backend; a segment larger than its
//    receiver's MSS is spliced all the same and reported (kOverMss): nothing is split.
//  * SYN segments are never spliced (kSyn, unchanged): a retransmitted SYN-ACK of the backend
//    or a new SYN of the client is the caller's to answer. FIN and RST are spliced like any
//    other segment. The ack field of a segment without ACK is left as it is.
//  * IP: Portico is the TCP endpoint of both connections, so a spliced datagram is one it sends:
//    TTL / hop limit 64 like the segments of tcp_segment.h. TOS / traffic class, flow label, the
//    IPv4 identification and DF pass unchanged; so do the TCP flags, the urgent pointer (it is
//    relative to seq) and unknown options.
//  * Options are parsed by tcp_opt::parse_options(); a malformed option area (RFC 9293 §3.1
//    MUST-7) gives kMalformed and the segment is left unchanged. The common layouts (no options;
//    NOP, NOP, Timestamps) are recognised without the parser.
//
// Preconditions (the caller's IP step and connection lookup check them): the IP header is
// valid, the datagram is not a fragment, its protocol is TCP with no IPv6 extension headers,
// and it belongs to the connection of the SpliceState. (The checksum deltas are computed from
// the addresses and ports the segment carries, not from the state.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "nf/tcp_options.h"

namespace nf::splice {

// ---- the state of a spliced connection ----------------------------------------------------

// One connection's handshake as Portico saw it. Host order.
struct HandshakeSide {
  uint32_t isn_peer = 0;            // the peer's ISN: ISN_c (client SYN) or ISN_b (backend SYN-ACK)
  uint32_t isn_portico = 0;         // Portico's ISN on this side: ISN_pc (the cookie) or ISN_pb
  tcp_opt::TcpOptions peer_syn;     // options of the peer's SYN (client) or SYN-ACK (backend)
  tcp_opt::TcpOptions portico_syn;  // options of Portico's SYN-ACK (client) or SYN (backend)
  // Client side: the bytes of the request as received, which Portico acknowledged before the
  // splice (Hc). Backend side: the bytes Portico sent as the replayed head (Hb).
  uint32_t head_len = 0;
  uint32_t ts_sent = 0;      // TSval of the last segment Portico sent this side
  uint32_t ts_received = 0;  // TSval of the last segment this side sent Portico
};

// Everything splice_to_backend() and splice_to_client() need: 60 bytes, one cache line at most.
// Host order.
struct SpliceState {
  uint32_t isn_client = 0;        // ISN_c
  uint32_t isn_cookie = 0;        // ISN_pc
  uint32_t isn_portico = 0;       // ISN_pb
  uint32_t isn_backend = 0;       // ISN_b
  uint32_t head_delta = 0;        // Hb - Hc, modulo 2^32
  uint32_t head_end_client = 0;   // ISN_c + 1 + Hc: the first client byte that is spliced
  uint32_t head_end_backend = 0;  // ISN_pb + 1 + Hb: where it lands on the backend
  uint32_t seq_to_backend = 0;    // client seq + this = backend seq: ISN_pb - ISN_c + Hb - Hc
  uint32_t seq_to_client = 0;     // backend seq + this = client seq: ISN_pc - ISN_b
  uint32_t ts_to_backend = 0;     // client TSval + this = TSval the backend sees
  uint32_t ts_to_client = 0;      // backend TSval + this = TSval the client sees
  uint16_t mss_client = 0;        // largest segment the client takes (its MSS, told to the backend)
  uint16_t mss_backend = 0;       // largest segment the backend takes
  // Window scale shifts in effect (0 where scaling was not negotiated), clamped to 14.
  uint8_t wscale_from_client = 0;   // the client's windows are in units of 2^this
  uint8_t wscale_to_backend = 0;    // the backend reads Portico's windows in units of 2^this
  uint8_t wscale_from_backend = 0;  // the backend's windows
  uint8_t wscale_to_client = 0;     // the client reads Portico's windows in units of 2^this
  bool sack_client = false;         // SACK negotiated on the client connection
  bool sack_backend = false;        // on the backend connection
  bool ts_client = false;           // timestamps negotiated on the client connection
  bool ts_backend = false;
  bool head_delivered = false;  // the backend has acknowledged the whole replayed head
};

// The state of a splice from both handshakes: called once per connection by the worker, when
// the backend's SYN-ACK has arrived and the replay is decided (no allocation; a few dozen
// instructions).
// v6 chooses the default MSS of a side that sent none (RFC 9293 §3.7.1: 536 / 1220).
SpliceState make_splice_state(const HandshakeSide& client, const HandshakeSide& backend, bool v6);

// ---- per-segment results ------------------------------------------------------------------

#define PORTICO_SPLICE_VERDICTS(X)                                                          \
  X(kForward, "forward")         /* rewritten: send it on */                                \
  X(kMalformed, "malformed")     /* TCP header or options malformed: unchanged, drop it */  \
  X(kSyn, "syn")                 /* SYN or SYN-ACK: unchanged, the handshake code's */      \
  X(kDataInHead, "data_in_head") /* client data before the head end while the replay is not \
                                    acknowledged: unchanged, drop it (Portico acked it) */

enum class SpliceVerdict : uint8_t {
#define PORTICO_SPLICE_ENUM(name, text) name,
  PORTICO_SPLICE_VERDICTS(PORTICO_SPLICE_ENUM)
#undef PORTICO_SPLICE_ENUM
};

// Things worth counting about a forwarded segment; it was spliced all the same.
#define PORTICO_SPLICE_ANOMALIES(X)                                                             \
  X(kAckInHead, "ack_in_head")      /* backend ack inside the replayed head: the client's head  \
                                       end sent instead */                                      \
  X(kSackInHead, "sack_in_head")    /* backend SACK block inside the head: trimmed / removed */ \
  X(kSackStripped, "sack_stripped") /* SACK option to a side without SACK: made NOPs */         \
  X(kTimestampsStripped, "timestamps_stripped") /* Timestamps to a side without them: NOPs */   \
  X(kTimestampsMissing, "timestamps_missing")   /* receiver expects them, not a RST */          \
  X(kWindowClamped, "window_clamped")           /* rescaled window above 0xffff */              \
  X(kOverMss, "over_mss")                       /* payload larger than the receiver's MSS */

enum class SpliceAnomaly : uint8_t {
#define PORTICO_SPLICE_ENUM(name, text) name,
  PORTICO_SPLICE_ANOMALIES(PORTICO_SPLICE_ENUM)
#undef PORTICO_SPLICE_ENUM
      kCount
};

const char* splice_verdict_name(SpliceVerdict v);
const char* splice_anomaly_name(SpliceAnomaly a);

struct SpliceResult {
  SpliceVerdict verdict = SpliceVerdict::kForward;
  uint16_t anomalies = 0;  // bit (1 << SpliceAnomaly) per anomaly
  bool forward() const { return verdict == SpliceVerdict::kForward; }
  bool has(SpliceAnomaly a) const { return (anomalies >> static_cast<int>(a)) & 1u; }
};

// ---- splicing -----------------------------------------------------------------------------

// A TCP segment in an IP datagram: `ip` is the IP header (ip_hlen bytes: 20-60 for IPv4, 40 for
// IPv6), followed by tcp_len bytes of TCP header and payload (as the IP length says, without
// Ethernet padding).
struct Segment {
  uint8_t* ip = nullptr;
  uint32_t ip_hlen = 0;
  uint32_t tcp_len = 0;
  bool v6 = false;
};

// The addresses and ports a spliced segment leaves with, network order (as in the headers);
// addresses are 4 bytes for IPv4, 16 for IPv6. Towards the backend: SNAT:sport -> backend:bport;
// towards the client: VIP:vport -> client:cport.
struct NatTuple {
  const uint8_t* src = nullptr;
  const uint8_t* dst = nullptr;
  uint16_t sport = 0;
  uint16_t dport = 0;
};

// Rewrites a segment from the client for the backend connection, in place.
SpliceResult splice_to_backend(const SpliceState& s, const NatTuple& to, const Segment& seg);

// Rewrites a segment from the backend for the client connection, in place; sets
// s.head_delivered when the backend acknowledges the whole replayed head.
SpliceResult splice_to_client(SpliceState& s, const NatTuple& to, const Segment& seg);

}  // namespace nf::splice
