// Kubernetes label selectors (metav1.LabelSelector): matchLabels ANDed with matchExpressions
// (In, NotIn, Exists, DoesNotExist). An empty selector matches everything, as upstream.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace config {

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist (validated by the loader)
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;

  bool empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool matches(const std::map<std::string, std::string>& labels) const;
  std::string str() const;  // "a=b,c in (x,y)" as kubectl prints selectors
};

// True if any selector of the list matches (OR); an empty list matches everything.
bool any_matches(const std::vector<LabelSelector>& selectors,
                 const std::map<std::string, std::string>& labels);

}  // namespace config
