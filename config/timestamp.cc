// RFC 3339 date-times to Unix seconds (see config/timestamp.h).
//
// The day count follows the proleptic Gregorian calendar (Howard Hinnant's days_from_civil
// reasoning: shift the year to start in March so that the leap day is last).
#include "config/timestamp.h"

namespace config {

namespace {

// `n` decimal digits at text[*pos]; advances *pos.
std::optional<int> digits(std::string_view text, size_t* pos, size_t n) {
  if (*pos + n > text.size()) return std::nullopt;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  return v;
}

bool expect(std::string_view text, size_t* pos, char a, char b = 0) {
  if (*pos >= text.size()) return false;
  const char c = text[*pos];
  if (c != a && (b == 0 || c != b)) return false;
  ++*pos;
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// Days from 1970-01-01 to y-m-d.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<int64_t> parse_rfc3339(std::string_view text) {
  size_t pos = 0;
  const auto year = digits(text, &pos, 4);
  if (!year || !expect(text, &pos, '-')) return std::nullopt;
  const auto month = digits(text, &pos, 2);
  if (!month || !expect(text, &pos, '-')) return std::nullopt;
  const auto day = digits(text, &pos, 2);
  if (!day || !expect(text, &pos, 'T', 't')) return std::nullopt;
  const auto hour = digits(text, &pos, 2);
  if (!hour || !expect(text, &pos, ':')) return std::nullopt;
  const auto minute = digits(text, &pos, 2);
  if (!minute || !expect(text, &pos, ':')) return std::nullopt;
  const auto second = digits(text, &pos, 2);
  if (!second) return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month) || *hour > 23 ||
      *minute > 59 || *second > 59) {
    return std::nullopt;  // Go refuses leap seconds (:60) too
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const size_t first = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == first) return std::nullopt;
  }
  int64_t offset = 0;  // seconds east of UTC
  if (expect(text, &pos, 'Z', 'z')) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const auto oh = digits(text, &pos, 2);
    if (!oh || !expect(text, &pos, ':')) return std::nullopt;
    const auto om = digits(text, &pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  return days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second -
         offset;
}

}  // namespace config
