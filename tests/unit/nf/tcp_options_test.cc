// TCP option parsing and writing (nf/tcp_options.h).
//
// Tables of option areas: well-formed ones with every option the parser knows, in the layouts
// real stacks send and in odd ones, each with the fields it must give; malformed ones (RFC 9293
// §3.1 MUST-7 and the per-option lengths of RFC 7323 and RFC 2018), each with the error it must
// report. Every area is parsed where it ends exactly at an inaccessible page, so a read past
// its end crashes the test instead of passing silently. A randomized test compares the parser
// with a plain reference parser written here over many random areas. The writers are checked
// byte for byte against the layouts Linux sends and parsed back.
#include "nf/tcp_options.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace nf::tcp_opt {
namespace {

using Bytes = std::vector<uint8_t>;

// Bytes placed so that their last byte is the last readable byte before a PROT_NONE page.
class GuardedBytes {
 public:
  GuardedBytes() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* m = mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    base_ = static_cast<uint8_t*>(m);
    if (mprotect(base_ + page_, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardedBytes() { munmap(base_, 2 * page_); }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;

  const uint8_t* place(const Bytes& b) {
    uint8_t* p = base_ + page_ - b.size();
    if (!b.empty()) std::memcpy(p, b.data(), b.size());
    return p;
  }

 private:
  size_t page_ = 0;
  uint8_t* base_ = nullptr;
};

OptionsError parse_guarded(const Bytes& b, TcpOptions* out) {
  static GuardedBytes guard;
  return parse_options(guard.place(b), b.size(), out);
}

Bytes be32_bytes(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes ts_opt(uint32_t val, uint32_t ecr) {
  return cat({{8, 10}, be32_bytes(val), be32_bytes(ecr)});
}

Bytes sack_opt(std::initializer_list<SackBlock> blocks) {
  Bytes b{5, static_cast<uint8_t>(2 + 8 * blocks.size())};
  for (const auto& s : blocks) b = cat({b, be32_bytes(s.left), be32_bytes(s.right)});
  return b;
}

// ---- well-formed areas ----------------------------------------------------------------------

struct Parsed {
  std::string what;
  Bytes area;
  TcpOptions want;
};

TcpOptions with(auto&& fill) {
  TcpOptions o;
  fill(o);
  return o;
}

std::vector<Parsed> parsed_cases() {
  return {
      {"empty area", {}, {}},
      {"one NOP", {1}, {}},
      {"only padding after EOL", {0, 0, 0, 0}, {}},
      {"MSS", {2, 4, 0x05, 0xb4}, with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 1460;
       })},
      {"Linux SYN: MSS, SACK-Permitted + Timestamps, NOP, Window Scale",
       cat({{2, 4, 0x05, 0xb4, 4, 2}, ts_opt(0x01020304, 0), {1, 3, 3, 7}}),
       with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 1460;
         o.sack_permitted = true;
         o.has_timestamps = true;
         o.ts_offset = 6;
         o.ts_val = 0x01020304;
         o.has_wscale = true;
         o.wscale = 7;
       })},
      {"SYN without SACK: MSS, NOP, NOP, Timestamps, NOP, Window Scale",
       cat({{2, 4, 0x23, 0x28, 1, 1}, ts_opt(0xfffffffe, 0xabcdef01), {1, 3, 3, 14}}),
       with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 9000;
         o.has_timestamps = true;
         o.ts_offset = 6;
         o.ts_val = 0xfffffffe;
         o.ts_ecr = 0xabcdef01;
         o.has_wscale = true;
         o.wscale = 14;
       })},
      {"SYN without timestamps: MSS, NOP, NOP, SACK-Permitted, NOP, Window Scale",
       {2, 4, 0x02, 0x18, 1, 1, 4, 2, 1, 3, 3, 0},
       with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 536;
         o.sack_permitted = true;
         o.has_wscale = true;
         o.wscale = 0;
       })},
      {"window scale above 14 is reported as sent", {1, 3, 3, 15}, with([](TcpOptions& o) {
         o.has_wscale = true;
         o.wscale = 15;
       })},
      {"data segment: NOP, NOP, Timestamps", cat({{1, 1}, ts_opt(7, 9)}), with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_offset = 2;
         o.ts_val = 7;
         o.ts_ecr = 9;
       })},
      {"timestamps at an odd offset", cat({{1}, ts_opt(0x11223344, 0x55667788), {1}}),
       with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_offset = 1;
         o.ts_val = 0x11223344;
         o.ts_ecr = 0x55667788;
       })},
      {"timestamps and one SACK block (Linux)",
       cat({{1, 1}, ts_opt(1, 2), {1, 1}, sack_opt({{100, 200}})}), with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_offset = 2;
         o.ts_val = 1;
         o.ts_ecr = 2;
         o.sack_count = 1;
         o.sack_offset = 14;
         o.sack[0] = {100, 200};
       })},
      {"three SACK blocks after timestamps: 40 bytes",
       cat({{1, 1}, ts_opt(1, 2), {1, 1}, sack_opt({{10, 20}, {30, 40}, {0xfffffff0, 5}})}),
       with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_offset = 2;
         o.ts_val = 1;
         o.ts_ecr = 2;
         o.sack_count = 3;
         o.sack_offset = 14;
         o.sack[0] = {10, 20};
         o.sack[1] = {30, 40};
         o.sack[2] = {0xfffffff0, 5};
       })},
      {"four SACK blocks, no timestamps: 36 bytes",
       cat({{1, 1}, sack_opt({{1, 2}, {3, 4}, {5, 6}, {7, 8}})}), with([](TcpOptions& o) {
         o.sack_count = 4;
         o.sack_offset = 2;
         o.sack[0] = {1, 2};
         o.sack[1] = {3, 4};
         o.sack[2] = {5, 6};
         o.sack[3] = {7, 8};
       })},
      {"EOL ends the list: malformed bytes after it are padding",
       cat({ts_opt(3, 4), {0, 8, 0, 2, 1}}), with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_val = 3;
         o.ts_ecr = 4;
       })},
      {"EOL first: nothing else is read", cat({{0}, ts_opt(3, 4), {0}}), {}},
      {"unknown options skipped by length: MPTCP 30, TFO 34, experimental 254, MD5 19",
       cat({{30, 4, 0, 0, 34, 2, 254, 6, 0xf9, 0x89, 0, 0, 19, 18}, Bytes(16, 0xee), ts_opt(5, 6)}),
       with([](TcpOptions& o) {
         o.has_timestamps = true;
         o.ts_offset = 30;
         o.ts_val = 5;
         o.ts_ecr = 6;
       })},
      {"unknown option whose bytes look like known options", {99, 6, 2, 4, 8, 10}, {}},
      {"forty NOPs", Bytes(40, 1), {}},
  };
}

void expect_same(const TcpOptions& got, const TcpOptions& want, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(got.has_mss, want.has_mss);
  EXPECT_EQ(got.mss, want.mss);
  EXPECT_EQ(got.has_wscale, want.has_wscale);
  EXPECT_EQ(got.wscale, want.wscale);
  EXPECT_EQ(got.sack_permitted, want.sack_permitted);
  EXPECT_EQ(got.has_timestamps, want.has_timestamps);
  if (want.has_timestamps) {
    EXPECT_EQ(got.ts_offset, want.ts_offset);
  }
  EXPECT_EQ(got.ts_val, want.ts_val);
  EXPECT_EQ(got.ts_ecr, want.ts_ecr);
  ASSERT_EQ(got.sack_count, want.sack_count);
  if (want.sack_count != 0) {
    EXPECT_EQ(got.sack_offset, want.sack_offset);
  }
  for (size_t i = 0; i < want.sack_count; ++i) {
    EXPECT_EQ(got.sack[i].left, want.sack[i].left) << "block " << i;
    EXPECT_EQ(got.sack[i].right, want.sack[i].right) << "block " << i;
  }
}

TEST(TcpOptions, ParsesEveryKindAndLayout) {
  for (const auto& c : parsed_cases()) {
    ASSERT_LE(c.area.size(), kMaxOptionsLen) << c.what;
    TcpOptions got;
    ASSERT_EQ(parse_guarded(c.area, &got), OptionsError::kOk) << c.what;
    expect_same(got, c.want, c.what);
  }
}

TEST(TcpOptions, OffsetsLocateTheOptions) {
  // The splice rewrites options in place by these offsets.
  for (const auto& c : parsed_cases()) {
    TcpOptions got;
    ASSERT_EQ(parse_guarded(c.area, &got), OptionsError::kOk) << c.what;
    if (got.has_timestamps) {
      ASSERT_LE(got.ts_offset + 10u, c.area.size()) << c.what;
      EXPECT_EQ(c.area[got.ts_offset], 8) << c.what;
      EXPECT_EQ(c.area[got.ts_offset + 1], 10) << c.what;
    }
    if (got.sack_count != 0) {
      EXPECT_EQ(c.area[got.sack_offset], 5) << c.what;
      EXPECT_EQ(c.area[got.sack_offset + 1], 2 + 8 * got.sack_count) << c.what;
    }
  }
}

// ---- malformed areas ------------------------------------------------------------------------

struct Malformed {
  std::string what;
  Bytes area;
  OptionsError want;
};

std::vector<Malformed> malformed_cases() {
  using E = OptionsError;
  return {
      {"41 bytes of NOPs", Bytes(41, 1), E::kAreaTooLong},
      {"a kind alone in the last byte", {1, 1, 1, 8}, E::kMissingLength},
      {"MSS kind alone", {2}, E::kMissingLength},
      {"unknown kind alone", {1, 200}, E::kMissingLength},
      {"length 0 (would loop forever)", {8, 0, 0, 0}, E::kLengthBelowTwo},
      {"length 1", {254, 1, 1, 1}, E::kLengthBelowTwo},
      {"length 0 after good options", cat({{1, 1}, ts_opt(1, 2), {30, 0, 0, 0}}),
       E::kLengthBelowTwo},
      {"timestamps cut short by the area", {1, 1, 8, 10, 0, 0, 0, 0}, E::kLengthPastEnd},
      {"unknown option longer than the area", {99, 8, 0, 0}, E::kLengthPastEnd},
      {"unknown option of length 255", cat({{99, 255}, Bytes(38, 0)}), E::kLengthPastEnd},
      {"SACK claiming two blocks with one present", cat({{1, 1, 5, 18}, Bytes(8, 0)}),
       E::kLengthPastEnd},
      {"MSS length 3", {2, 3, 5, 1}, E::kBadLength},
      {"MSS length 5", {2, 5, 5, 0xb4, 0, 0, 0, 0}, E::kBadLength},
      {"window scale length 2", {3, 2, 1, 1}, E::kBadLength},
      {"window scale length 4", {3, 4, 7, 0}, E::kBadLength},
      {"SACK-Permitted length 3", {4, 3, 0, 1}, E::kBadLength},
      {"SACK with no block", {1, 1, 5, 2}, E::kBadLength},
      {"SACK length 9", cat({{5, 9}, Bytes(7, 0), {1, 1, 1}}), E::kBadLength},
      {"SACK length 11", cat({{5, 11}, Bytes(9, 0), {1}}), E::kBadLength},
      {"timestamps length 8", {8, 8, 0, 0, 0, 0, 0, 0}, E::kBadLength},
      {"timestamps length 12", cat({{8, 12}, Bytes(10, 0)}), E::kBadLength},
      {"two MSS options", {2, 4, 5, 0xb4, 2, 4, 0x23, 0x28}, E::kDuplicate},
      {"two window scales", {1, 3, 3, 7, 1, 3, 3, 8}, E::kDuplicate},
      {"two SACK-Permitted", {4, 2, 4, 2}, E::kDuplicate},
      {"two timestamps", cat({ts_opt(1, 2), ts_opt(3, 4), {1, 1, 1, 1}}), E::kDuplicate},
      {"two SACK options", cat({sack_opt({{1, 2}}), sack_opt({{3, 4}})}), E::kDuplicate},
  };
}

TEST(TcpOptions, MalformedAreasAreReported) {
  for (const auto& c : malformed_cases()) {
    TcpOptions got;
    EXPECT_EQ(parse_guarded(c.area, &got), c.want)
        << c.what << ": got " << options_error_name(parse_guarded(c.area, &got)) << ", want "
        << options_error_name(c.want);
  }
}

TEST(TcpOptions, EveryPrefixOfEveryAreaIsSafe) {
  // Truncating a well-formed area anywhere gives either a well-formed area or an error, and
  // never a read past the (guarded) end.
  for (const auto& c : parsed_cases()) {
    for (size_t n = 0; n <= c.area.size(); ++n) {
      TcpOptions got;
      const OptionsError e = parse_guarded(Bytes(c.area.begin(), c.area.begin() + n), &got);
      EXPECT_LE(static_cast<int>(e), static_cast<int>(OptionsError::kDuplicate)) << c.what;
    }
  }
}

TEST(TcpOptions, ErrorNames) {
  EXPECT_STREQ(options_error_name(OptionsError::kOk), "ok");
  EXPECT_STREQ(options_error_name(OptionsError::kLengthBelowTwo), "length_below_two");
  EXPECT_STREQ(options_error_name(OptionsError::kDuplicate), "duplicate");
}

// ---- randomized: the parser against a plain reference --------------------------------------

// The rules of tcp_options.h, written as plainly as possible.
OptionsError reference_parse(const Bytes& b, TcpOptions* o) {
  *o = TcpOptions{};
  if (b.size() > 40) return OptionsError::kAreaTooLong;
  size_t i = 0;
  while (i < b.size()) {
    const int kind = b[i];
    if (kind == 0) return OptionsError::kOk;
    if (kind == 1) {
      i += 1;
      continue;
    }
    if (i + 1 == b.size()) return OptionsError::kMissingLength;
    const size_t len = b[i + 1];
    if (len < 2) return OptionsError::kLengthBelowTwo;
    if (i + len > b.size()) return OptionsError::kLengthPastEnd;
    auto u32 = [&](size_t at) {
      return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 |
             b[at + 3];
    };
    if (kind == 2) {
      if (len != 4) return OptionsError::kBadLength;
      if (o->has_mss) return OptionsError::kDuplicate;
      o->has_mss = true;
      o->mss = static_cast<uint16_t>(b[i + 2] << 8 | b[i + 3]);
    } else if (kind == 3) {
      if (len != 3) return OptionsError::kBadLength;
      if (o->has_wscale) return OptionsError::kDuplicate;
      o->has_wscale = true;
      o->wscale = b[i + 2];
    } else if (kind == 4) {
      if (len != 2) return OptionsError::kBadLength;
      if (o->sack_permitted) return OptionsError::kDuplicate;
      o->sack_permitted = true;
    } else if (kind == 5) {
      if (len != 10 && len != 18 && len != 26 && len != 34) return OptionsError::kBadLength;
      if (o->sack_count != 0) return OptionsError::kDuplicate;
      o->sack_count = static_cast<uint8_t>((len - 2) / 8);
      o->sack_offset = static_cast<uint8_t>(i);
      for (size_t k = 0; k < o->sack_count; ++k) {
        o->sack[k] = {u32(i + 2 + 8 * k), u32(i + 6 + 8 * k)};
      }
    } else if (kind == 8) {
      if (len != 10) return OptionsError::kBadLength;
      if (o->has_timestamps) return OptionsError::kDuplicate;
      o->has_timestamps = true;
      o->ts_offset = static_cast<uint8_t>(i);
      o->ts_val = u32(i + 2);
      o->ts_ecr = u32(i + 6);
    }
    i += len;
  }
  return OptionsError::kOk;
}

TEST(TcpOptions, RandomAreasMatchTheReference) {
  std::mt19937 rng(20261204);
  // Bytes biased towards option kinds and plausible lengths, so that random areas often parse.
  const uint8_t kBiased[] = {0, 1, 1, 1, 2, 3, 4, 5, 8, 2, 3, 4, 10, 18, 26, 34, 30, 254};
  int ok = 0;
  for (int iter = 0; iter < 200000; ++iter) {
    const size_t len = rng() % 44;  // a few above 40 as well
    Bytes b(len);
    for (auto& x : b) {
      x = (rng() % 3 == 0) ? static_cast<uint8_t>(rng()) : kBiased[rng() % sizeof kBiased];
    }
    TcpOptions got, want;
    const OptionsError e = parse_guarded(b, &got);
    const OptionsError we = reference_parse(b, &want);
    ASSERT_EQ(e, we) << "iteration " << iter;
    if (e == OptionsError::kOk) {
      ++ok;
      expect_same(got, want, "iteration " + std::to_string(iter));
      if (HasFailure()) return;
    }
  }
  // The bias must make the test exercise the success path too.
  EXPECT_GT(ok, 10000);
}

// ---- writing --------------------------------------------------------------------------------

struct Written {
  std::string what;
  TcpOptions in;
  Bytes want;
};

TEST(TcpOptions, WritesSynOptionsInLinuxOrder) {
  const std::vector<Written> cases = {
      {"nothing", {}, {}},
      {"MSS only",
       with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 1460;
       }),
       {2, 4, 0x05, 0xb4}},
      {"everything", with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 1460;
         o.sack_permitted = true;
         o.has_timestamps = true;
         o.ts_val = 0xdeadbeef;
         o.ts_ecr = 0x01020304;
         o.has_wscale = true;
         o.wscale = 9;
       }),
       cat({{2, 4, 0x05, 0xb4, 4, 2, 8, 10},
            be32_bytes(0xdeadbeef),
            be32_bytes(0x01020304),
            {1, 3, 3, 9}})},
      {"timestamps without SACK", with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 1220;
         o.has_timestamps = true;
         o.ts_val = 1;
         o.has_wscale = true;
         o.wscale = 0;
       }),
       cat({{2, 4, 0x04, 0xc4, 1, 1, 8, 10}, be32_bytes(1), be32_bytes(0), {1, 3, 3, 0}})},
      {"SACK without timestamps",
       with([](TcpOptions& o) {
         o.has_mss = true;
         o.mss = 536;
         o.sack_permitted = true;
         o.has_wscale = true;
         o.wscale = 7;
       }),
       {2, 4, 0x02, 0x18, 1, 1, 4, 2, 1, 3, 3, 7}},
      {"window scale only",
       with([](TcpOptions& o) {
         o.has_wscale = true;
         o.wscale = 14;
       }),
       {1, 3, 3, 14}},
  };
  for (const auto& c : cases) {
    uint8_t out[kMaxSynOptionsLen + 8];
    std::memset(out, 0xcc, sizeof out);
    const size_t n = write_syn_options(c.in, out);
    ASSERT_EQ(n, c.want.size()) << c.what;
    EXPECT_EQ(Bytes(out, out + n), c.want) << c.what;
    EXPECT_EQ(n % 4, 0u) << c.what;
    EXPECT_EQ(out[n], 0xcc) << c.what << ": wrote past its count";
    // And it reads back as written.
    TcpOptions back;
    ASSERT_EQ(parse_guarded(Bytes(out, out + n), &back), OptionsError::kOk) << c.what;
    TcpOptions expect = c.in;
    if (expect.has_timestamps) expect.ts_offset = back.ts_offset;
    expect_same(back, expect, c.what);
  }
}

TEST(TcpOptions, WritesTimestampsBlock) {
  uint8_t out[kTimestampsBlockLen + 1];
  out[kTimestampsBlockLen] = 0xcc;
  ASSERT_EQ(write_timestamps(0x80000001, 0xfffffffe, out), kTimestampsBlockLen);
  EXPECT_EQ(Bytes(out, out + kTimestampsBlockLen),
            cat({{1, 1, 8, 10}, be32_bytes(0x80000001), be32_bytes(0xfffffffe)}));
  EXPECT_EQ(out[kTimestampsBlockLen], 0xcc);
}

}  // namespace
}  // namespace nf::tcp_opt
