// Parsing NodeConfig lcore lists (see lcores.h).
#include "config/lcores.h"

#include <algorithm>
#include <cctype>

namespace config {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<unsigned> parse_id(std::string_view s) {
  s = trim(s);
  if (s.empty() || s.size() > 4) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > kMaxLcoreId) return std::nullopt;
  return v;
}

// "3" or "1-4" -> ids appended; false if malformed or reversed.
bool parse_range(std::string_view s, std::vector<unsigned>* out, std::string* error) {
  const size_t dash = s.find('-');
  const auto first = parse_id(s.substr(0, dash));
  const auto last = dash == std::string_view::npos ? first : parse_id(s.substr(dash + 1));
  if (!first || !last) {
    *error = "invalid lcore list item \"" + std::string(trim(s)) + "\": expected an lcore id (0-" +
             std::to_string(kMaxLcoreId) +
             ") or a range such as 0-3, separated by commas (e.g. \"0-1\", \"0,2,4-5\" or, to "
             "map lcores to CPUs, \"0@0,1@1,2@1\")";
    return false;
  }
  if (*last < *first) {
    *error =
        "invalid lcore range \"" + std::string(trim(s)) + "\": the first lcore is after the last";
    return false;
  }
  for (unsigned id = *first; id <= *last; ++id) out->push_back(id);
  return true;
}

// "1-2" or "(1-2,5)" -> ids.
bool parse_group(std::string_view s, std::vector<unsigned>* out, std::string* error) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') {
    std::string_view inner = s.substr(1, s.size() - 2);
    while (true) {
      const size_t comma = inner.find(',');
      if (!parse_range(inner.substr(0, comma), out, error)) return false;
      if (comma == std::string_view::npos) return true;
      inner.remove_prefix(comma + 1);
    }
  }
  return parse_range(s, out, error);
}

// Splits at commas outside parentheses; false on unbalanced parentheses.
bool split_items(std::string_view text, std::vector<std::string_view>* items) {
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      items->push_back(text.substr(start, i - start));
      start = i + 1;
    } else if (text[i] == '(') {
      ++depth;
    } else if (text[i] == ')') {
      if (--depth < 0) return false;
    }
  }
  return depth == 0;
}

}  // namespace

std::optional<LcoreList> parse_lcore_list(std::string_view text, std::string* error) {
  LcoreList list;
  std::vector<std::string_view> items;
  if (!split_items(text, &items)) {
    *error = "unbalanced parentheses in lcore list \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  for (std::string_view item : items) {
    const size_t at = item.find('@');
    if (at != std::string_view::npos) {
      list.mapped = true;
      std::vector<unsigned> cpus;  // checked for syntax; EAL checks that they exist
      if (!parse_group(item.substr(at + 1), &cpus, error)) return std::nullopt;
    }
    if (!parse_group(item.substr(0, at), &list.ids, error)) return std::nullopt;
  }
  std::vector<unsigned> sorted = list.ids;
  std::sort(sorted.begin(), sorted.end());
  if (auto dup = std::adjacent_find(sorted.begin(), sorted.end()); dup != sorted.end()) {
    *error = "lcore " + std::to_string(*dup) + " is listed twice in \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  return list;
}

}  // namespace config
