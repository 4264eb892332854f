// config/label_selector.h: matchLabels AND matchExpressions, as k8s.io/apimachinery labels.
#include "config/label_selector.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace config {
namespace {

using Labels = std::map<std::string, std::string>;

LabelSelectorRequirement req(const char* key, const char* op, std::vector<std::string> v = {}) {
  return LabelSelectorRequirement{key, op, std::move(v)};
}

TEST(LabelSelector, EmptyMatchesEverything) {
  const LabelSelector s;
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.matches({}));
  EXPECT_TRUE(s.matches({{"a", "b"}}));
  EXPECT_EQ(s.str(), "");
}

TEST(LabelSelector, Requirements) {
  struct Case {
    LabelSelectorRequirement r;
    Labels labels;
    bool match;
  };
  const std::vector<Case> cases = {
      {req("app", "In", {"web", "api"}), {{"app", "web"}}, true},
      {req("app", "In", {"web", "api"}), {{"app", "db"}}, false},
      {req("app", "In", {"web"}), {}, false},
      {req("app", "NotIn", {"web"}), {{"app", "db"}}, true},
      {req("app", "NotIn", {"web"}), {{"app", "web"}}, false},
      {req("app", "NotIn", {"web"}), {}, true},  // absent key: NotIn matches
      {req("app", "Exists"), {{"app", ""}}, true},
      {req("app", "Exists"), {{"other", "x"}}, false},
      {req("app", "DoesNotExist"), {{"other", "x"}}, true},
      {req("app", "DoesNotExist"), {{"app", "x"}}, false},
      {req("app", "Bogus"), {{"app", "x"}}, false},
  };
  for (const Case& c : cases) {
    LabelSelector s;
    s.match_expressions.push_back(c.r);
    EXPECT_EQ(s.matches(c.labels), c.match) << c.r.key << " " << c.r.op;
  }
}

TEST(LabelSelector, MatchLabelsAndExpressionsAreAnded) {
  LabelSelector s;
  s.match_labels = {{"tier", "edge"}, {"env", "prod"}};
  s.match_expressions.push_back(req("canary", "DoesNotExist"));
  EXPECT_TRUE(s.matches({{"tier", "edge"}, {"env", "prod"}, {"x", "y"}}));
  EXPECT_FALSE(s.matches({{"tier", "edge"}}));
  EXPECT_FALSE(s.matches({{"tier", "edge"}, {"env", "dev"}}));
  EXPECT_FALSE(s.matches({{"tier", "edge"}, {"env", "prod"}, {"canary", "1"}}));
  EXPECT_EQ(s.str(), "env=prod,tier=edge,!canary");
}

TEST(LabelSelector, AnyMatchesIsAnOrAndEmptyListMatchesAll) {
  LabelSelector web, api;
  web.match_labels = {{"app", "web"}};
  api.match_labels = {{"app", "api"}};
  EXPECT_TRUE(any_matches({}, {{"app", "db"}}));
  EXPECT_TRUE(any_matches({web, api}, {{"app", "api"}}));
  EXPECT_FALSE(any_matches({web, api}, {{"app", "db"}}));
}

}  // namespace
}  // namespace config
