// HTTP request classification by the Gateway API rules (gateway-api.md §2.1-§2.5).
//
// compile() runs on the control thread: it turns a RouteModel (nf/route_model.h) into immutable
// lookup tables and one Hyperscan database per listener, and may allocate and fail (a regex
// Hyperscan rejects). classify() runs on workers: pure reads of those tables plus a per-worker
// Scratch, no heap, no exceptions, no syscalls.
//
// How a request is classified, and what it costs:
//  1. Listener (§2.2). The Host header, ":port" removed (an IPv6 literal "[::1]:80" keeps its
//     brackets), lower-cased into a stack buffer, is hashed once from its end so the hash of
//     every label suffix falls out of the same pass. One probe finds a listener whose hostname
//     is that host; otherwise the longest wildcard suffix (one probe per label); otherwise the
//     port's listener without hostname; otherwise kNoListenerForHost. Only that listener's rules
//     are used (listener isolation).
//  2. Host list. Inside the listener the same probes pick a candidate list: the list of the
//     exact effective hostname equal to the host, else of the longest matching wildcard, else
//     the list of rules with no hostname. Each list was precomputed at compile time with every
//     (rule, match) whose effective hostnames match such a host (so rules without hostnames
//     are copied into every list: memory grows with hosts x such rules, time does not), and is
//     sorted by the §2.5 precedence keys; a candidate's rank is its position.
//  3. Path. One hash probe for an Exact path; one probe per "/" boundary of the request path
//     for PathPrefix (the hash of each prefix comes from one forward pass); path regexes from
//     one Hyperscan scan of the path. Each probe yields a bucket of candidate ranks in
//     ascending order; the winner is the lowest rank whose method, header and query
//     conditions hold. Buckets hold only candidates with the same host list and the same path
//     key, so the work does not grow with the number of routes, only with the routes that
//     share a host and a path. Only the path lengths some key of the host list has are probed
//     (a 64-bit mask per list), and all probes are prefetched together before any is read.
//     All paths in Hyperscan instead was measured and is not flat (docs/performance.md,
//     "l7-classify"): Hyperscan holds the regexes only, scanned only when the host's list has
//     one.
//
// Semantics chosen where the spec leaves room (gateway-api.md §6):
//  * RegularExpression paths rank after Exact and before every PathPrefix (key 2: Exact >
//    RegularExpression > PathPrefix), as Envoy Gateway, Contour and NGINX do. Regexes are
//    Hyperscan's PCRE subset and must match the whole field (anchored at both ends).
//  * PathPrefix length (key 3) does not count a configured trailing "/": "/abc/" and "/abc"
//    match the same requests and tie.
//  * The path is the request-target up to "?", matched raw: no percent-decoding, no dot-segment
//    removal. Query parameters are matched raw as well ("%41" is not "A", "+" is not " "): the
//    name is the bytes before the first "=", the value the bytes after it (empty without "=").
//    A repeated parameter: the first occurrence counts (the spec's recommendation).
//  * A header repeated in the request: the first occurrence counts (no comma-joining, which
//    would need a copy). Names compare case-insensitively, Exact values case-sensitively. A
//    match that names a header (or query parameter) twice keeps only the first condition.
//  * Host: no trailing-dot stripping; a Host longer than 253 bytes matches no hostname (only
//    listeners and rules without hostname).
//  * Hostname precedence (key 1) uses the effective (intersected) hostnames the model carries,
//    counting, per rule, the longest of its effective hostnames that match the host. Routes of
//    all hostnames that match the host are merged into one ordered list (no hard partition by
//    hostname; §6.1), hostname specificity being the first key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nf/route_model.h"

struct hs_database;
struct hs_scratch;

namespace nf::route {

struct Decision {
  enum Outcome : uint8_t { kMatched, kNoListenerForHost, kNoRule, kScanError };
  Outcome outcome = kNoRule;
  int listener = -1;  // index into the port's listeners
  int rule = -1;      // index into listeners[listener].rules
  int match = -1;     // index into rules[rule].matches
  uint32_t action = 0;
};

class Classifier;

struct CompileResult {
  std::unique_ptr<Classifier> classifier;  // null when error is set
  std::string error;  // names the listener, route, rule and match of a bad regex
};

CompileResult compile(const RouteModel& model);

namespace detail {
struct Tables;
}

class Classifier {
 public:
  // Per-worker state for classify(): the Hyperscan scratch (sized for every database of this
  // classifier) and the regex result bits. Owning, movable, not shareable between threads.
  class Scratch {
   public:
    Scratch() = default;
    Scratch(Scratch&& o) noexcept;
    Scratch& operator=(Scratch&& o) noexcept;
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    ~Scratch();

   private:
    friend class Classifier;
    hs_scratch* hs_ = nullptr;
    std::vector<uint64_t> bits_;  // one bit per regex id of a listener
  };

  ~Classifier();
  Classifier(const Classifier&) = delete;
  Classifier& operator=(const Classifier&) = delete;

  // Control thread (allocates). The scratch fits this classifier and any listener of it.
  Scratch make_scratch() const;

  // Index into model.ports of the port bound to addr:port (host byte order), or -1. addr holds
  // 4 bytes in network order when !v6.
  int find_port(const uint8_t addr[16], bool v6, uint16_t port) const;

  // Worker: classify one request head arriving on port_index. No heap, no exceptions.
  Decision classify(int port_index, const Request& req, Scratch& s) const;

 private:
  friend CompileResult compile(const RouteModel& model);
  Classifier();
  std::unique_ptr<detail::Tables> t_;
};

}  // namespace nf::route
