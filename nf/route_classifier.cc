// Route classifier: compile (control thread) and classify (workers). See route_classifier.h
// for the algorithm and the semantics chosen; gateway-api.md §2 for the rules it follows.
#include "nf/route_classifier.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

namespace nf::route {
namespace detail {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxHost = 253;  // longest DNS name; longer hosts match no hostname
constexpr uint64_t kFnvBasis = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

inline uint64_t fnv_step(uint64_t h, uint8_t c) { return (h ^ c) * kFnvPrime; }

// Hash of a hostname, taken from its last byte backwards so that one pass over a request host
// yields the hash of every label suffix (the wildcard keys) as well as of the whole name.
inline uint64_t host_hash(std::string_view s) {
  uint64_t h = kFnvBasis;
  for (size_t i = s.size(); i-- > 0;) h = fnv_step(h, static_cast<uint8_t>(s[i]));
  return h;
}

// Hash of a path, forwards, so that one pass yields the hash of every "/" prefix.
inline uint64_t path_hash(std::string_view s) {
  uint64_t h = kFnvBasis;
  for (char c : s) h = fnv_step(h, static_cast<uint8_t>(c));
  return h;
}

inline uint64_t mix(uint64_t h, uint32_t tag) {
  h ^= (tag + 1ull) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

struct Str {
  uint32_t off = 0;
  uint32_t len = 0;
};

// Open-addressing table from (tag, string) to two uint32 values. A slot is one cache line and
// holds keys up to 36 bytes itself (longer ones are compared in the classifier's arena), so a
// probe costs one cache miss at most. Built once (insert, then finalize), then read-only. Load
// factor at most 1/2.
class KeyTable {
 public:
  void insert(uint32_t tag, uint64_t hash, Str key, uint32_t value, uint32_t extra = 0) {
    pending_.push_back({mix(hash, tag), tag, key.off, key.len, value, extra});
  }

  void finalize(const std::string& arena) {
    size_t cap = 8;
    while (cap < pending_.size() * 2) cap *= 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    for (const Slot& p : pending_) {
      for (size_t i = p.hash & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].value == kNone) {
          slots_[i] = p;
          if (p.len <= kInline) std::memcpy(slots_[i].inl, arena.data() + p.off, p.len);
          break;
        }
      }
    }
    pending_.clear();
    pending_.shrink_to_fit();
  }

  static constexpr uint32_t kInline = 36;
  struct alignas(64) Slot {
    uint64_t hash = 0;
    uint32_t tag = 0;
    uint32_t off = 0;
    uint32_t len = 0;
    uint32_t value = kNone;
    uint32_t extra = 0;
    char inl[kInline] = {};
  };
  static_assert(sizeof(Slot) == 64);

  const Slot* find_slot(uint32_t tag, uint64_t hash, const char* key, size_t len,
                        const char* arena) const {
    const uint64_t h = mix(hash, tag);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return nullptr;
      if (s.hash == h && s.tag == tag && s.len == len &&
          std::memcmp(len <= kInline ? s.inl : arena + s.off, key, len) == 0) {
        return &s;
      }
    }
  }

  // The first slot a probe for (tag, hash) reads: to overlap the cache misses of independent
  // probes, prefetch them all before probing.
  void prefetch(uint32_t tag, uint64_t hash) const {
    __builtin_prefetch(&slots_[mix(hash, tag) & mask_]);
  }

  uint32_t find(uint32_t tag, uint64_t hash, const char* key, size_t len, const char* arena) const {
    const Slot* s = find_slot(tag, hash, key, len, arena);
    return s != nullptr ? s->value : kNone;
  }

 private:
  std::vector<Slot> pending_;
  std::vector<Slot> slots_{Slot{}};
  size_t mask_ = 0;
};

// One header or query condition. regex_id is the id in the listener's Hyperscan database, or
// kNone for an Exact value.
struct Cond {
  Str name;  // header names lower case
  Str value;
  uint32_t regex_id = kNone;
};

// One (rule, match) in a host list, at its precedence rank.
struct Cand {
  uint32_t rule = 0;
  uint32_t match = 0;
  uint32_t action = 0;
  uint64_t method = 0;  // up to 8 bytes, zero-padded; method_len 0: any
  uint32_t method_len = 0;
  uint32_t cond_off = 0;
  uint16_t n_headers = 0;
  uint16_t n_query = 0;
  uint32_t path_regex = kNone;
};

struct HostList {
  uint32_t regex_off = 0;  // ranks of path-regex candidates, into Tables::bucket_pool
  uint32_t regex_n = 0;
  // Bit min(length, 63) is set when some Exact (PathPrefix) key of the list has that length:
  // a request path probes only the lengths that can hit, so a miss rarely costs a cache miss.
  uint64_t exact_lens = 0;
  uint64_t prefix_lens = 0;
  uint32_t max_prefix = 0;   // longest normalised prefix key: no probe beyond it
  bool value_regex = false;  // some candidate has a header or query regex
};

struct ListenerC {
  uint32_t port = 0;
  uint32_t any_list = 0;
  hs_database_t* db = nullptr;
  uint32_t n_regex = 0;
  uint32_t field_off = 0;   // into Tables::regex_field: the field each regex id reads
  uint32_t header_off = 0;  // field names, into Tables::field_names: headers, then query
  uint16_t n_header_fields = 0;
  uint16_t n_query_fields = 0;
};

struct PortC {
  uint8_t addr[16] = {};
  bool v6 = false;
  uint16_t port = 0;
  uint32_t listener_off = 0;
  uint32_t n_listeners = 0;
  uint32_t default_listener = kNone;  // global index
};

struct Tables {
  std::string arena;
  std::vector<PortC> ports;
  std::vector<ListenerC> listeners;
  std::vector<HostList> lists;
  std::vector<Cand> cands;  // lists are contiguous ranges; a candidate's index is its rank
  std::vector<Cond> conds;
  std::vector<uint32_t> bucket_pool;
  std::vector<uint16_t> regex_field;
  std::vector<Str> field_names;
  KeyTable listener_exact, listener_wild;  // tag: port
  KeyTable host_exact, host_wild;          // tag: listener (global)
  KeyTable path_exact, path_prefix;        // tag: host list; value, extra: ranks in bucket_pool
  uint32_t max_regex = 0;

  Str add(std::string_view s) {
    Str r{static_cast<uint32_t>(arena.size()), static_cast<uint32_t>(s.size())};
    arena.append(s);
    return r;
  }
  std::string_view view(Str s) const { return {arena.data() + s.off, s.len}; }

  ~Tables() {
    for (ListenerC& l : listeners) hs_free_database(l.db);
  }
};

}  // namespace detail

using detail::kNone;

// ---- compile (control thread) ---------------------------------------------------------------

namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return r;
}

bool is_wild(const std::string& h) { return h.size() > 2 && h[0] == '*' && h[1] == '.'; }

// Label suffixes of a hostname that a wildcard could cover: "a.b.c" -> "b.c", "c".
std::vector<std::string> label_suffixes(const std::string& h) {
  std::vector<std::string> r;
  for (size_t i = 1; i < h.size(); ++i) {
    if (h[i] == '.' && i + 1 < h.size()) r.push_back(h.substr(i + 1));
  }
  return r;
}

// The normalised PathPrefix key: trailing "/" dropped, so "/" becomes "" and "/abc/" "/abc".
std::string prefix_key(const std::string& p) {
  std::string k = p;
  while (!k.empty() && k.back() == '/') k.pop_back();
  return k;
}

struct MatchInfo {
  // precedence keys 2-6
  int kind = 0;  // 2 Exact, 1 RegularExpression, 0 PathPrefix
  uint32_t prefix_len = 0;
  bool has_method = false;
  uint16_t n_headers = 0;
  uint16_t n_query = 0;
  detail::Cand cand;  // rank-independent part
  std::string path_key;
};

struct RegexReg {
  std::vector<std::string> exprs;
  std::vector<uint16_t> fields;
  std::vector<std::string> where;
  std::map<std::string, uint16_t> header_fields, query_fields;  // name -> field
};

struct ListEntry {
  uint32_t nonwild = 0, hostlen = 0;
  const MatchInfo* m = nullptr;
  const Rule* rule = nullptr;
  uint32_t rule_pos = 0;
};

bool precedes(const ListEntry& a, const ListEntry& b) {
  const MatchInfo& x = *a.m;
  const MatchInfo& y = *b.m;
  auto hi = [](const ListEntry& e, const MatchInfo& m) {
    return std::make_tuple(e.nonwild, e.hostlen, m.kind, m.prefix_len, m.has_method, m.n_headers,
                           m.n_query);
  };
  if (hi(a, x) != hi(b, y)) return hi(a, x) > hi(b, y);
  auto lo = [](const ListEntry& e, const MatchInfo& m) {
    return std::make_tuple(e.rule->created, std::string_view(e.rule->route), e.rule->rule_index,
                           e.rule_pos, m.cand.match);
  };
  return lo(a, x) < lo(b, y);
}

// Host specificity (key 1) of rule r for a request host that equals `exact` (non-empty) or,
// when exact is empty, that is "<labels>.<wild_suffix>" without being any rule's exact name.
// Returns false when none of the rule's hostnames match.
bool host_keys(const Rule& r, const std::string& exact, const std::string& wild_suffix,
               uint32_t* nonwild, uint32_t* hostlen) {
  *nonwild = *hostlen = 0;
  if (r.hostnames.empty()) return true;
  bool any = false;
  const std::string& host = exact.empty() ? wild_suffix : exact;
  for (const std::string& raw : r.hostnames) {
    const std::string h = lower(raw);
    if (!is_wild(h)) {
      if (!exact.empty() && h == exact) {
        *nonwild = std::max<uint32_t>(*nonwild, static_cast<uint32_t>(h.size()));
        *hostlen = std::max<uint32_t>(*hostlen, static_cast<uint32_t>(h.size()));
        any = true;
      }
      continue;
    }
    const std::string suffix = h.substr(2);
    // A wildcard covers one or more labels before its suffix. For the exact host, the suffix
    // must follow a "." inside it; for the wildcard-key host "<labels>.wild_suffix" it may equal
    // wild_suffix or be a label suffix of it.
    bool covers;
    if (!exact.empty()) {
      covers = host.size() > suffix.size() + 1 &&
               host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0 &&
               host[host.size() - suffix.size() - 1] == '.';
    } else {
      covers = host == suffix ||
               (host.size() > suffix.size() + 1 &&
                host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                host[host.size() - suffix.size() - 1] == '.');
    }
    if (covers) {
      *hostlen = std::max<uint32_t>(*hostlen, static_cast<uint32_t>(h.size()));
      any = true;
    }
  }
  return any;
}

}  // namespace

Classifier::Classifier() : t_(std::make_unique<detail::Tables>()) {}
Classifier::~Classifier() = default;

CompileResult compile(const RouteModel& model) {
  using detail::Cand;
  using detail::Cond;
  CompileResult out;
  std::unique_ptr<Classifier> c(new Classifier());
  detail::Tables& t = *c->t_;

  for (size_t pi = 0; pi < model.ports.size(); ++pi) {
    const PortSpec& ps = model.ports[pi];
    detail::PortC pc;
    std::memcpy(pc.addr, ps.address, 16);
    pc.v6 = ps.v6;
    pc.port = ps.port;
    pc.listener_off = static_cast<uint32_t>(t.listeners.size());
    pc.n_listeners = static_cast<uint32_t>(ps.listeners.size());
    std::set<std::string> seen_exact, seen_wild;

    for (size_t li = 0; li < ps.listeners.size(); ++li) {
      const Listener& l = ps.listeners[li];
      const uint32_t gl = static_cast<uint32_t>(t.listeners.size());
      t.listeners.emplace_back();
      t.listeners.back().port = static_cast<uint32_t>(pi);

      // Listener selection keys (first listener wins a duplicate; control rejects those).
      const std::string lh = lower(l.hostname);
      if (lh.empty()) {
        if (pc.default_listener == kNone) pc.default_listener = gl;
      } else if (is_wild(lh)) {
        const std::string s = lh.substr(2);
        if (seen_wild.insert(s).second) {
          t.listener_wild.insert(static_cast<uint32_t>(pi), detail::host_hash(s), t.add(s), gl);
        }
      } else if (seen_exact.insert(lh).second) {
        t.listener_exact.insert(static_cast<uint32_t>(pi), detail::host_hash(lh), t.add(lh), gl);
      }

      // Matches: conditions, regexes, rank-independent keys.
      RegexReg reg;
      auto add_regex = [&](const std::string& expr, uint16_t field, std::string where) {
        reg.exprs.push_back(expr);
        reg.fields.push_back(field);
        reg.where.push_back(std::move(where));
        return static_cast<uint32_t>(reg.exprs.size() - 1);
      };
      // Fields: 0 path, then header names, then query names, numbered once all are known.
      std::vector<std::vector<MatchInfo>> infos(l.rules.size());
      std::vector<std::pair<uint32_t, std::string>> field_fixups;  // regex id -> "h:" / "q:" name
      for (size_t ri = 0; ri < l.rules.size(); ++ri) {
        const Rule& r = l.rules[ri];
        for (size_t mi = 0; mi < r.matches.size(); ++mi) {
          const Match& m = r.matches[mi];
          MatchInfo info;
          const std::string where = "listener " + l.name + ": route " + r.route + " rule " +
                                    std::to_string(r.rule_index) + " match " + std::to_string(mi);
          info.cand.rule = static_cast<uint32_t>(ri);
          info.cand.match = static_cast<uint32_t>(mi);
          info.cand.action = r.action;
          if (m.method.size() > 8) {
            out.error = where + ": unsupported method \"" + m.method + "\"";
            return out;
          }
          std::memcpy(&info.cand.method, m.method.data(), m.method.size());
          info.cand.method_len = static_cast<uint32_t>(m.method.size());
          info.has_method = !m.method.empty();
          switch (m.path_type) {
            case PathType::kExact:
              info.kind = 2;
              info.path_key = m.path;
              break;
            case PathType::kRegex:
              info.kind = 1;
              info.cand.path_regex = add_regex(m.path, 0, where + ": path");
              break;
            case PathType::kPrefix:
              info.kind = 0;
              info.path_key = prefix_key(m.path);
              info.prefix_len = static_cast<uint32_t>(std::max<size_t>(1, info.path_key.size()));
              break;
          }
          info.cand.cond_off = static_cast<uint32_t>(t.conds.size());
          std::set<std::string> names;
          for (const StringMatch& h : m.headers) {
            const std::string n = lower(h.name);
            if (!names.insert(n).second) continue;  // §2.4: only the first entry counts
            Cond cd{t.add(n), t.add(h.value), kNone};
            if (h.regex) {
              cd.regex_id = add_regex(h.value, 0, where + ": header " + n);
              field_fixups.push_back({cd.regex_id, "h:" + n});
            }
            t.conds.push_back(cd);
            ++info.n_headers;
          }
          names.clear();
          for (const StringMatch& q : m.query) {
            if (!names.insert(q.name).second) continue;
            Cond cd{t.add(q.name), t.add(q.value), kNone};
            if (q.regex) {
              cd.regex_id = add_regex(q.value, 0, where + ": query " + q.name);
              field_fixups.push_back({cd.regex_id, "q:" + q.name});
            }
            t.conds.push_back(cd);
            ++info.n_query;
          }
          info.cand.n_headers = info.n_headers;
          info.cand.n_query = info.n_query;
          infos[ri].push_back(std::move(info));
        }
      }

      // Regex fields and the listener's one Hyperscan database.
      detail::ListenerC& lc = t.listeners[gl];
      for (auto& [id, key] : field_fixups) {
        auto& fields = key[0] == 'h' ? reg.header_fields : reg.query_fields;
        fields.emplace(key.substr(2), 0);
      }
      uint16_t next_field = 1;
      lc.header_off = static_cast<uint32_t>(t.field_names.size());
      for (auto& [name, f] : reg.header_fields) {
        f = next_field++;
        t.field_names.push_back(t.add(name));
      }
      for (auto& [name, f] : reg.query_fields) {
        f = next_field++;
        t.field_names.push_back(t.add(name));
      }
      lc.n_header_fields = static_cast<uint16_t>(reg.header_fields.size());
      lc.n_query_fields = static_cast<uint16_t>(reg.query_fields.size());
      for (auto& [id, key] : field_fixups) {
        reg.fields[id] = (key[0] == 'h' ? reg.header_fields : reg.query_fields).at(key.substr(2));
      }
      lc.n_regex = static_cast<uint32_t>(reg.exprs.size());
      lc.field_off = static_cast<uint32_t>(t.regex_field.size());
      t.regex_field.insert(t.regex_field.end(), reg.fields.begin(), reg.fields.end());
      t.max_regex = std::max(t.max_regex, lc.n_regex);
      if (!reg.exprs.empty()) {
        // Every regex must match its whole field. Each is checked on its own first (so an
        // unbalanced ")" cannot escape the anchoring group), then anchored with \A(?:...)\z.
        std::vector<std::string> anchored;
        std::vector<const char*> ptrs;
        std::vector<unsigned> flags, ids;
        for (size_t i = 0; i < reg.exprs.size(); ++i) {
          const unsigned f = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
          hs_expr_info_t* info = nullptr;
          hs_compile_error_t* err = nullptr;
          if (hs_expression_info(reg.exprs[i].c_str(), f, &info, &err) != HS_SUCCESS) {
            out.error = reg.where[i] + ": bad regular expression \"" + reg.exprs[i] +
                        "\": " + (err != nullptr ? err->message : "rejected");
            hs_free_compile_error(err);
            return out;
          }
          std::free(info);
          anchored.push_back("\\A(?:" + reg.exprs[i] + ")\\z");
          flags.push_back(f);
          ids.push_back(static_cast<unsigned>(i));
        }
        for (const std::string& a : anchored) ptrs.push_back(a.c_str());
        hs_compile_error_t* err = nullptr;
        if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(),
                             static_cast<unsigned>(ptrs.size()), HS_MODE_BLOCK, nullptr, &lc.db,
                             &err) != HS_SUCCESS) {
          const int e = err != nullptr ? err->expression : -1;
          out.error = (e >= 0 ? reg.where[e] + ": bad regular expression \"" + reg.exprs[e] + "\""
                              : "listener " + l.name + ": regular expressions") +
                      ": " + (err != nullptr ? err->message : "rejected");
          hs_free_compile_error(err);
          return out;
        }
      }

      // Host index: which rules name which hostname.
      std::map<std::string, std::vector<uint32_t>> by_exact, by_wild;
      std::vector<uint32_t> any_rules;
      for (size_t ri = 0; ri < l.rules.size(); ++ri) {
        const Rule& r = l.rules[ri];
        if (r.hostnames.empty()) any_rules.push_back(static_cast<uint32_t>(ri));
        std::set<std::string> once;
        for (const std::string& raw : r.hostnames) {
          const std::string h = lower(raw);
          if (!once.insert(h).second) continue;
          if (is_wild(h)) {
            by_wild[h.substr(2)].push_back(static_cast<uint32_t>(ri));
          } else {
            by_exact[h].push_back(static_cast<uint32_t>(ri));
          }
        }
      }

      // One sorted candidate list per host key.
      auto build_list = [&](const std::string& exact, const std::string& wild_suffix) {
        std::set<uint32_t> rules(any_rules.begin(), any_rules.end());
        const std::string& host = exact.empty() ? wild_suffix : exact;
        if (!exact.empty()) {
          auto it = by_exact.find(exact);
          if (it != by_exact.end()) rules.insert(it->second.begin(), it->second.end());
        } else if (!wild_suffix.empty()) {
          auto it = by_wild.find(wild_suffix);
          if (it != by_wild.end()) rules.insert(it->second.begin(), it->second.end());
        }
        for (const std::string& s : label_suffixes(host)) {
          auto it = by_wild.find(s);
          if (it != by_wild.end()) rules.insert(it->second.begin(), it->second.end());
        }
        std::vector<ListEntry> entries;
        for (uint32_t ri : rules) {
          ListEntry e;
          if (!host_keys(l.rules[ri], exact, wild_suffix, &e.nonwild, &e.hostlen)) continue;
          e.rule = &l.rules[ri];
          e.rule_pos = ri;
          for (const MatchInfo& m : infos[ri]) {
            e.m = &m;
            entries.push_back(e);
          }
        }
        std::stable_sort(entries.begin(), entries.end(), precedes);

        const uint32_t list = static_cast<uint32_t>(t.lists.size());
        t.lists.emplace_back();
        const uint32_t base = static_cast<uint32_t>(t.cands.size());
        std::map<std::pair<int, std::string>, std::vector<uint32_t>> buckets;
        std::vector<uint32_t> regex_ranks;
        detail::HostList hl;
        for (size_t i = 0; i < entries.size(); ++i) {
          const MatchInfo& m = *entries[i].m;
          const uint32_t rank = base + static_cast<uint32_t>(i);
          t.cands.push_back(m.cand);
          for (uint32_t k = 0; k < m.cand.n_headers + m.cand.n_query; ++k) {
            if (t.conds[m.cand.cond_off + k].regex_id != kNone) hl.value_regex = true;
          }
          if (m.kind == 1) {
            regex_ranks.push_back(rank);
          } else {
            buckets[{m.kind, m.path_key}].push_back(rank);
            const uint64_t len_bit = 1ull << std::min<size_t>(m.path_key.size(), 63);
            if (m.kind == 0) {
              hl.prefix_lens |= len_bit;
              hl.max_prefix = std::max<uint32_t>(hl.max_prefix, m.path_key.size());
            } else {
              hl.exact_lens |= len_bit;
            }
          }
        }
        hl.regex_off = static_cast<uint32_t>(t.bucket_pool.size());
        hl.regex_n = static_cast<uint32_t>(regex_ranks.size());
        t.bucket_pool.insert(t.bucket_pool.end(), regex_ranks.begin(), regex_ranks.end());
        for (auto& [key, ranks] : buckets) {
          auto& table = key.first == 2 ? t.path_exact : t.path_prefix;
          // A bucket of one rank (the common case) keeps it in the slot itself.
          table.insert(list, detail::path_hash(key.second), t.add(key.second),
                       ranks.size() == 1 ? ranks[0] : static_cast<uint32_t>(t.bucket_pool.size()),
                       static_cast<uint32_t>(ranks.size()));
          if (ranks.size() > 1) {
            t.bucket_pool.insert(t.bucket_pool.end(), ranks.begin(), ranks.end());
          }
        }
        t.lists[list] = hl;
        return list;
      };
      for (const auto& [h, rules] : by_exact) {
        t.host_exact.insert(gl, detail::host_hash(h), t.add(h), build_list(h, ""));
      }
      for (const auto& [s, rules] : by_wild) {
        t.host_wild.insert(gl, detail::host_hash(s), t.add(s), build_list("", s));
      }
      t.listeners[gl].any_list = build_list("", "");
    }
    t.ports.push_back(pc);
  }
  for (auto* kt : {&t.listener_exact, &t.listener_wild, &t.host_exact, &t.host_wild, &t.path_exact,
                   &t.path_prefix}) {
    kt->finalize(t.arena);
  }
  out.classifier = std::move(c);
  return out;
}

// ---- Scratch ---------------------------------------------------------------------------------

Classifier::Scratch::Scratch(Scratch&& o) noexcept : hs_(o.hs_), bits_(std::move(o.bits_)) {
  o.hs_ = nullptr;
}

Classifier::Scratch& Classifier::Scratch::operator=(Scratch&& o) noexcept {
  if (this != &o) {
    hs_free_scratch(hs_);
    hs_ = o.hs_;
    o.hs_ = nullptr;
    bits_ = std::move(o.bits_);
  }
  return *this;
}

Classifier::Scratch::~Scratch() { hs_free_scratch(hs_); }

Classifier::Scratch Classifier::make_scratch() const {
  Scratch s;
  for (const detail::ListenerC& l : t_->listeners) {
    if (l.db != nullptr) hs_alloc_scratch(l.db, &s.hs_);
  }
  s.bits_.assign((t_->max_regex + 63) / 64 + 1, 0);
  return s;
}

// ---- classify (workers) ----------------------------------------------------------------------

int Classifier::find_port(const uint8_t addr[16], bool v6, uint16_t port) const {
  // A handful of Gateway addresses and ports: a linear scan, once per connection.
  const size_t n = v6 ? 16 : 4;
  for (size_t i = 0; i < t_->ports.size(); ++i) {
    const detail::PortC& p = t_->ports[i];
    if (p.port == port && p.v6 == v6 && std::memcmp(p.addr, addr, n) == 0) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

namespace {

struct ScanCtx {
  uint64_t* bits;
  const uint16_t* field_of;
  uint16_t field;
};

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* p) {
  auto* c = static_cast<ScanCtx*>(p);
  if (c->field_of[id] == c->field) c->bits[id >> 6] |= 1ull << (id & 63);
  return 0;
}

inline bool name_eq_nocase(std::string_view received, std::string_view lower_name) {
  if (received.size() != lower_name.size()) return false;
  for (size_t i = 0; i < received.size(); ++i) {
    char c = received[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_name[i]) return false;
  }
  return true;
}

// First header named `lower_name` (case-insensitive), or nullptr.
inline const HeaderView* find_header(const Request& req, std::string_view lower_name) {
  for (uint32_t i = 0; i < req.n_headers; ++i) {
    if (name_eq_nocase(req.headers[i].name, lower_name)) return &req.headers[i];
  }
  return nullptr;
}

// First value of query parameter `name` (raw bytes, exact name), or false.
inline bool find_query(std::string_view query, std::string_view name, std::string_view* value) {
  size_t i = 0;
  while (i <= query.size()) {
    size_t end = query.find('&', i);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view param = query.substr(i, end - i);
    const size_t eq = param.find('=');
    const std::string_view n = param.substr(0, eq);
    if (n == name) {
      *value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
      return true;
    }
    i = end + 1;
  }
  return false;
}

inline bool bit(const uint64_t* bits, uint32_t id) { return (bits[id >> 6] >> (id & 63)) & 1; }

}  // namespace

Decision Classifier::classify(int port_index, const Request& req, Scratch& s) const {
  const detail::Tables& t = *t_;
  const char* arena = t.arena.data();
  Decision d;
  if (port_index < 0 || static_cast<size_t>(port_index) >= t.ports.size()) {
    d.outcome = Decision::kNoListenerForHost;
    return d;
  }
  const detail::PortC& port = t.ports[port_index];

  // Host: strip ":port" (an IPv6 literal keeps its brackets), lower-case, hash backwards.
  std::string_view host = req.host;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close != std::string_view::npos) host = host.substr(0, close + 1);
  } else {
    const size_t colon = host.find(':');
    if (colon != std::string_view::npos) host = host.substr(0, colon);
  }
  char buf[detail::kMaxHost];
  uint16_t sfx_pos[detail::kMaxHost / 2 + 1];
  uint64_t sfx_hash[detail::kMaxHost / 2 + 1];
  int n_sfx = 0;
  uint64_t full_hash = 0;
  const bool named = host.size() <= detail::kMaxHost;
  if (named) {
    uint64_t h = detail::kFnvBasis;
    for (size_t i = host.size(); i-- > 0;) {
      char c = host[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      buf[i] = c;
      // Suffix host[i+1..] follows a "." with at least one byte before it: a wildcard key.
      if (c == '.' && i > 0 && i + 1 < host.size()) {
        sfx_pos[n_sfx] = static_cast<uint16_t>(i + 1);
        sfx_hash[n_sfx++] = h;
      }
      h = detail::fnv_step(h, static_cast<uint8_t>(c));
    }
    full_hash = h;
  }
  const size_t hl = host.size();
  // Exact name, else the longest wildcard suffix (recorded last), else none.
  auto lookup = [&](const detail::KeyTable& exact, const detail::KeyTable& wild,
                    uint32_t tag) -> uint32_t {
    if (!named) return kNone;
    exact.prefetch(tag, full_hash);
    for (int i = 0; i < n_sfx; ++i) wild.prefetch(tag, sfx_hash[i]);
    uint32_t v = exact.find(tag, full_hash, buf, hl, arena);
    if (v != kNone) return v;
    for (int i = n_sfx; i-- > 0;) {
      v = wild.find(tag, sfx_hash[i], buf + sfx_pos[i], hl - sfx_pos[i], arena);
      if (v != kNone) return v;
    }
    return kNone;
  };

  uint32_t gl = lookup(t.listener_exact, t.listener_wild, static_cast<uint32_t>(port_index));
  if (gl == kNone) gl = port.default_listener;
  if (gl == kNone) {
    d.outcome = Decision::kNoListenerForHost;
    return d;
  }
  d.listener = static_cast<int>(gl - port.listener_off);
  const detail::ListenerC& lc = t.listeners[gl];
  uint32_t list = lookup(t.host_exact, t.host_wild, gl);
  if (list == kNone) list = lc.any_list;
  const detail::HostList& hlst = t.lists[list];

  std::string_view path = req.target;
  std::string_view query;
  if (const size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }

  uint64_t* bits = s.bits_.data();
  uint64_t method = 0;
  if (req.method.size() <= 8) std::memcpy(&method, req.method.data(), req.method.size());

  // Method, headers and query of one candidate (the path already matched).
  auto holds = [&](const detail::Cand& c) {
    if (c.method_len != 0 && (c.method_len != req.method.size() || c.method != method)) {
      return false;
    }
    const detail::Cond* cd = t.conds.data() + c.cond_off;
    for (uint16_t i = 0; i < c.n_headers; ++i, ++cd) {
      if (cd->regex_id != kNone) {
        if (!bit(bits, cd->regex_id)) return false;
        continue;
      }
      const HeaderView* h = find_header(req, t.view(cd->name));
      if (h == nullptr || h->value != t.view(cd->value)) return false;
    }
    for (uint16_t i = 0; i < c.n_query; ++i, ++cd) {
      if (cd->regex_id != kNone) {
        if (!bit(bits, cd->regex_id)) return false;
        continue;
      }
      std::string_view v;
      if (!find_query(query, t.view(cd->name), &v) || v != t.view(cd->value)) return false;
    }
    return true;
  };

  // The lowest rank whose conditions hold; each bucket is in rank order.
  uint32_t best = kNone;
  auto try_ranks = [&](const uint32_t* r, uint32_t n) {
    for (uint32_t i = 0; i < n && r[i] < best; ++i) {
      if (holds(t.cands[r[i]])) {
        best = r[i];
        return;
      }
    }
  };
  auto try_bucket = [&](const detail::KeyTable::Slot* b) {
    if (b == nullptr) return;
    try_ranks(b->extra == 1 ? &b->value : t.bucket_pool.data() + b->value, b->extra);
  };
  auto may_hit = [](uint64_t lens, size_t len) { return (lens >> std::min<size_t>(len, 63)) & 1; };

  // One forward pass: the hash of path[0..i) at every "/" is a prefix key; the whole path is
  // the exact key (and a prefix key when it does not end in "/"). Probes are collected and
  // prefetched first, then the regex scans run while the slots arrive, then the probes.
  struct Probe {
    const detail::KeyTable* table;
    uint64_t hash;
    uint32_t len;
  };
  constexpr int kMaxProbes = 64;  // 63 prefix lengths below 63 bytes, plus the longer ones
  Probe probes[kMaxProbes + 2];
  int n_probes = 0;
  auto probe_now = [&](const Probe& p) {
    try_bucket(p.table->find_slot(list, p.hash, path.data(), p.len, arena));
  };
  auto add_probe = [&](const detail::KeyTable& table, uint64_t hash, size_t len) {
    const Probe p{&table, hash, static_cast<uint32_t>(len)};
    if (n_probes < kMaxProbes + 2) {
      table.prefetch(list, hash);
      probes[n_probes++] = p;
    } else {
      probe_now(p);  // a path with more boundaries than that: no prefetch for the rest
    }
  };
  uint64_t h = detail::kFnvBasis;
  const size_t stop =
      hlst.exact_lens != 0 ? path.size() : std::min<size_t>(path.size(), hlst.max_prefix);
  size_t i = 0;
  for (; i < path.size() && i <= stop; ++i) {
    if (path[i] == '/' && may_hit(hlst.prefix_lens, i) && i <= hlst.max_prefix) {
      add_probe(t.path_prefix, h, i);
    }
    h = detail::fnv_step(h, static_cast<uint8_t>(path[i]));
  }
  if (i == path.size()) {
    if (may_hit(hlst.exact_lens, path.size())) add_probe(t.path_exact, h, path.size());
    if (may_hit(hlst.prefix_lens, path.size()) && path.size() <= hlst.max_prefix) {
      add_probe(t.path_prefix, h, path.size());
    }
  }

  // Regexes: one scan of each field some regex of this listener reads.
  // Only the regexes a candidate of this host list reads are needed.
  if (lc.n_regex > 0 && (hlst.regex_n > 0 || hlst.value_regex)) {
    if (s.hs_ == nullptr || s.bits_.size() * 64 < lc.n_regex) {
      d.outcome = Decision::kScanError;
      return d;
    }
    std::memset(bits, 0, ((lc.n_regex + 63) / 64) * sizeof(uint64_t));
    ScanCtx ctx{bits, t.regex_field.data() + lc.field_off, 0};
    auto scan = [&](std::string_view v, uint16_t field) {
      ctx.field = field;
      return hs_scan(lc.db, v.data() != nullptr ? v.data() : "", static_cast<unsigned>(v.size()), 0,
                     s.hs_, on_match, &ctx) == HS_SUCCESS;
    };
    bool ok = hlst.regex_n == 0 || scan(path, 0);
    uint16_t field = 1;
    const uint16_t n_header_fields = hlst.value_regex ? lc.n_header_fields : 0;
    const uint16_t n_query_fields = hlst.value_regex ? lc.n_query_fields : 0;
    for (uint16_t i = 0; ok && i < n_header_fields; ++i, ++field) {
      const HeaderView* h = find_header(req, t.view(t.field_names[lc.header_off + i]));
      if (h != nullptr) ok = scan(h->value, field);
    }
    field = static_cast<uint16_t>(1 + lc.n_header_fields);
    for (uint16_t i = 0; ok && i < n_query_fields; ++i, ++field) {
      std::string_view v;
      const std::string_view name = t.view(t.field_names[lc.header_off + lc.n_header_fields + i]);
      if (find_query(query, name, &v)) ok = scan(v, field);
    }
    if (!ok) {
      d.outcome = Decision::kScanError;
      return d;
    }
  }

  for (int k = 0; k < n_probes; ++k) probe_now(probes[k]);
  if (hlst.regex_n > 0) {
    const uint32_t* r = t.bucket_pool.data() + hlst.regex_off;
    for (uint32_t k = 0; k < hlst.regex_n && r[k] < best; ++k) {
      const detail::Cand& c = t.cands[r[k]];
      if (bit(bits, c.path_regex) && holds(c)) {
        best = r[k];
        break;
      }
    }
  }

  if (best == kNone) {
    d.outcome = Decision::kNoRule;
    return d;
  }
  const detail::Cand& c = t.cands[best];
  d.outcome = Decision::kMatched;
  d.rule = static_cast<int>(c.rule);
  d.match = static_cast<int>(c.match);
  d.action = c.action;
  return d;
}

}  // namespace nf::route
