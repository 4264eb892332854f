// Go's time.ParseDuration, reduced to non-negative whole milliseconds (see duration.h).
//
// Works in nanoseconds as Go does, with the same limit (2^63-1 ns), so that a value accepted
// here is accepted by Go and means the same; the result is then required to be a whole number
// of milliseconds. Pure code.
#include "config/duration.h"

#include <cstddef>
#include <string_view>

namespace config {

namespace {

constexpr uint64_t kNsPerMs = 1000 * 1000;
constexpr uint64_t kNsPerS = 1000 * kNsPerMs;
constexpr uint64_t kMaxNs = static_cast<uint64_t>(INT64_MAX);  // Go's time.Duration limit

struct Unit {
  std::string_view name;
  uint64_t ns;
};

constexpr Unit kUnits[] = {
    {"ns", 1},           {"us", 1000},   {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},                                       // U+03BC Greek small letter mu
    {"ms", kNsPerMs},    {"s", kNsPerS}, {"m", 60 * kNsPerS}, {"h", 3600 * kNsPerS},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// Reads leading digits into *value; false on overflow past kMaxNs.
bool read_integer(std::string_view* s, uint64_t* value, size_t* digits) {
  *value = 0;
  *digits = 0;
  while (!s->empty() && is_digit(s->front())) {
    const uint64_t d = static_cast<uint64_t>(s->front() - '0');
    if (*value > (kMaxNs - d) / 10) return false;
    *value = *value * 10 + d;
    ++*digits;
    s->remove_prefix(1);
  }
  return true;
}

// Digits after the point as numerator / scale; digits beyond 18 cannot matter at ns precision
// for any unit up to hours and are skipped (Go drops them the same way).
void read_fraction(std::string_view* s, uint64_t* numerator, uint64_t* scale, size_t* digits) {
  *numerator = 0;
  *scale = 1;
  *digits = 0;
  while (!s->empty() && is_digit(s->front())) {
    if (*scale < 1000000000000000000ULL) {
      *numerator = *numerator * 10 + static_cast<uint64_t>(s->front() - '0');
      *scale *= 10;
    }
    ++*digits;
    s->remove_prefix(1);
  }
}

// As Go: the unit is everything up to the next digit or '.', and must be one of kUnits.
const Unit* read_unit(std::string_view* s) {
  size_t n = 0;
  while (n < s->size() && !is_digit((*s)[n]) && (*s)[n] != '.') ++n;
  const std::string_view name = s->substr(0, n);
  s->remove_prefix(n);
  for (const Unit& u : kUnits) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

// The whole text in nanoseconds, Go's grammar: [+]{digits[.digits]unit}+ or "0".
bool parse_ns(std::string_view s, uint64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s == "0") {
    *out = 0;
    return true;
  }
  if (s.empty()) return false;
  uint64_t total = 0;
  while (!s.empty()) {
    uint64_t whole = 0;
    size_t whole_digits = 0;
    if (!read_integer(&s, &whole, &whole_digits)) return false;
    uint64_t numerator = 0, scale = 1;
    size_t fraction_digits = 0;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      read_fraction(&s, &numerator, &scale, &fraction_digits);
    }
    if (whole_digits == 0 && fraction_digits == 0) return false;  // ".s", "s"
    const Unit* unit = read_unit(&s);
    if (unit == nullptr) return false;  // a number without a unit, or an unknown unit
    if (whole > kMaxNs / unit->ns) return false;
    uint64_t v = whole * unit->ns;
    const auto part = static_cast<unsigned __int128>(numerator) * unit->ns / scale;
    if (part > kMaxNs - v) return false;
    v += static_cast<uint64_t>(part);
    if (v > kMaxNs - total) return false;
    total += v;
  }
  *out = total;
  return true;
}

}  // namespace

bool parse_duration_ms(const std::string& text, uint64_t* out) {
  std::string_view s = text;
  if (all_digits(s)) {  // a bare integer: seconds
    uint64_t seconds = 0;
    size_t digits = 0;
    if (!read_integer(&s, &seconds, &digits) || seconds > kMaxNs / kNsPerS) return false;
    *out = seconds * 1000;
    return true;
  }
  uint64_t ns = 0;
  if (!parse_ns(s, &ns) || ns % kNsPerMs != 0) return false;
  *out = ns / kNsPerMs;
  return true;
}

std::string format_duration_ms(uint64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  const uint64_t h = ms / 3600000;
  const uint64_t m = ms / 60000 % 60;
  const uint64_t s = ms / 1000 % 60;
  const uint64_t rest = ms % 1000;
  if (h != 0) out += std::to_string(h) + "h";
  if (m != 0) out += std::to_string(m) + "m";
  if (s != 0) out += std::to_string(s) + "s";
  if (rest != 0) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace config
