// Label selector matching, following k8s.io/apimachinery/pkg/labels semantics.
#include "config/label_selector.h"

#include <algorithm>

namespace config {

namespace {

bool requirement_matches(const LabelSelectorRequirement& r,
                         const std::map<std::string, std::string>& labels) {
  auto it = labels.find(r.key);
  const bool has = it != labels.end();
  auto in_values = [&] {
    return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
  };
  if (r.op == "In") return in_values();
  if (r.op == "NotIn") return !in_values();
  if (r.op == "Exists") return has;
  if (r.op == "DoesNotExist") return !has;
  return false;  // unknown operators never match (the loader rejects them)
}

}  // namespace

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : match_expressions) {
    if (!requirement_matches(r, labels)) return false;
  }
  return true;
}

std::string LabelSelector::str() const {
  std::string out;
  auto sep = [&] {
    if (!out.empty()) out += ',';
  };
  for (const auto& [k, v] : match_labels) {
    sep();
    out += k + "=" + v;
  }
  for (const auto& r : match_expressions) {
    sep();
    if (r.op == "Exists") {
      out += r.key;
    } else if (r.op == "DoesNotExist") {
      out += "!" + r.key;
    } else {
      out += r.key + (r.op == "In" ? " in (" : " notin (");
      for (size_t i = 0; i < r.values.size(); ++i) out += (i ? "," : "") + r.values[i];
      out += ")";
    }
  }
  return out;
}

bool any_matches(const std::vector<LabelSelector>& selectors,
                 const std::map<std::string, std::string>& labels) {
  if (selectors.empty()) return true;
  return std::any_of(selectors.begin(), selectors.end(),
                     [&](const LabelSelector& s) { return s.matches(labels); });
}

}  // namespace config
