// config/rules_internal.h: Kubernetes name rules (wording included), lcore lists, interface
// names, and the scan for tab-indented YAML lines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/lcores.h"
#include "config/rules_internal.h"

namespace config {
namespace {

constexpr const char* kSubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

TEST(NameRules, SubdomainUsesKubernetesWording) {
  EXPECT_EQ(dns1123_subdomain_errors("L2"), std::vector<std::string>{kSubdomainMessage});
  for (const char* ok : {"l2", "pool", "a.b-c.d", "0", "edge-1", "x.y"}) {
    EXPECT_TRUE(dns1123_subdomain_errors(ok).empty()) << ok;
  }
  for (const char* bad : {"", "-a", "a-", "a..b", ".a", "a.", "a_b", "a b", "ä"}) {
    EXPECT_FALSE(dns1123_subdomain_errors(bad).empty()) << bad;
  }
  const std::string long_name(254, 'a');
  EXPECT_EQ(dns1123_subdomain_errors(long_name),
            std::vector<std::string>{"must be no more than 253 characters"});
  EXPECT_TRUE(dns1123_subdomain_errors(std::string(253, 'a')).empty());
}

TEST(NameRules, LabelRefusesDotsAndLength) {
  EXPECT_TRUE(dns1123_label_errors("metallb-system").empty());
  EXPECT_TRUE(dns1123_label_errors("123-abc").empty());
  EXPECT_EQ(dns1123_label_errors("a.b"), std::vector<std::string>{"must not contain dots"});
  EXPECT_EQ(dns1123_label_errors("Uplink"),
            std::vector<std::string>{
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
                "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"});
  EXPECT_TRUE(dns1123_label_errors(std::string(63, 'a')).empty());
  EXPECT_EQ(dns1123_label_errors(std::string(64, 'a')),
            std::vector<std::string>{"must be no more than 63 characters"});
}

TEST(NameRules, Dns1035NeedsALetterFirst) {
  EXPECT_TRUE(dns1035_label_errors("web").empty());
  EXPECT_TRUE(dns1035_label_errors("web-80").empty());
  ASSERT_EQ(dns1035_label_errors("1web").size(), 1u);
  EXPECT_NE(dns1035_label_errors("1web")[0].find("a DNS-1035 label must consist of"),
            std::string::npos);
  EXPECT_FALSE(dns1035_label_errors("web.svc").empty());
  EXPECT_FALSE(dns1035_label_errors("").empty());
}

TEST(NameRules, QualifiedNamesForLabelKeys) {
  for (const char* ok : {"app", "App_1.x", "kubernetes.io/service-name", "example.com/MyName"}) {
    EXPECT_TRUE(qualified_name_errors(ok).empty()) << ok;
  }
  EXPECT_EQ(qualified_name_errors("/app"),
            std::vector<std::string>{"prefix part must be non-empty"});
  EXPECT_EQ(qualified_name_errors("example.com/"),
            (std::vector<std::string>{"name part must be non-empty",
                                      "name part must consist of alphanumeric characters, '-', "
                                      "'_' or '.', and must start and end with an alphanumeric "
                                      "character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
                                      "regex used for validation is "
                                      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"}));
  ASSERT_EQ(qualified_name_errors("Example.com/app").size(), 1u);
  EXPECT_EQ(
      qualified_name_errors("Example.com/app")[0].rfind("prefix part a lowercase RFC 1123", 0), 0u);
  ASSERT_EQ(qualified_name_errors("a/b/c").size(), 1u);
  EXPECT_EQ(qualified_name_errors("a/b/c")[0].rfind("a qualified name must consist", 0), 0u);
  EXPECT_FALSE(qualified_name_errors("app-").empty());
  EXPECT_FALSE(qualified_name_errors(std::string(64, 'a')).empty());
}

TEST(NameRules, LabelValues) {
  for (const char* ok : {"", "MyValue", "my_value", "12345", "a.b-c_d"}) {
    EXPECT_TRUE(label_value_errors(ok).empty()) << ok;
  }
  for (const char* bad : {"-x", "x-", "a b", "a/b"}) {
    EXPECT_FALSE(label_value_errors(bad).empty()) << bad;
  }
  EXPECT_EQ(label_value_errors(std::string(64, 'a')),
            std::vector<std::string>{"must be no more than 63 characters"});
}

TEST(NameRules, PortNames) {
  EXPECT_TRUE(port_name_errors("http").empty());
  EXPECT_TRUE(port_name_errors("h2c-80").empty());
  EXPECT_EQ(port_name_errors("8080"),
            std::vector<std::string>{"must contain at least one letter (a-z)"});
  EXPECT_EQ(port_name_errors("a--b"),
            std::vector<std::string>{"must not contain consecutive hyphens"});
  EXPECT_EQ(port_name_errors("-ab"),
            std::vector<std::string>{"must not begin or end with a hyphen"});
  EXPECT_FALSE(port_name_errors("HTTP").empty());
  EXPECT_FALSE(port_name_errors("abcdefghijklmnop").empty());  // 16 > 15
  EXPECT_EQ(join_messages({"a", "b"}), "a; b");
}

TEST(LcoreList, ParsesDpdkSyntax) {
  struct Case {
    const char* text;
    std::vector<unsigned> ids;  // empty: an error
  };
  const std::vector<Case> cases = {
      {"0-1", {0, 1}},     {"0,2,4-5", {0, 2, 4, 5}},
      {" 1 , 3 ", {1, 3}}, {"3", {3}},
      {"1-1", {1}},        {"0-1,1-2", {}},
      {"1023", {1023}},    {"", {}},
      {"0-", {}},          {"-1", {}},
      {"a", {}},           {"5-3", {}},
      {"0,,1", {}},        {"1024", {}},
      {"0;1", {}},         {"0-1 2", {}},
      {"99999", {}},
  };
  for (const Case& c : cases) {
    std::string error;
    auto list = parse_lcore_list(c.text, &error);
    if (c.ids.empty()) {
      EXPECT_FALSE(list.has_value()) << c.text;
      EXPECT_FALSE(error.empty()) << c.text;
    } else {
      ASSERT_TRUE(list.has_value()) << c.text << ": " << error;
      EXPECT_EQ(list->ids, c.ids) << c.text;
      EXPECT_FALSE(list->mapped) << c.text;
    }
  }
  std::string error;
  EXPECT_FALSE(parse_lcore_list("5-3", &error).has_value());
  EXPECT_EQ(error, "invalid lcore range \"5-3\": the first lcore is after the last");
}

TEST(LcoreList, KeepsTheWrittenOrderAndMapsToCpus) {
  std::string error;
  auto list = parse_lcore_list("3,0-1", &error);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_EQ(list->ids, (std::vector<unsigned>{3, 0, 1}));  // 3 is the main lcore
  list = parse_lcore_list("0@0,1@1,2@1", &error);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_TRUE(list->mapped);
  EXPECT_EQ(list->ids, (std::vector<unsigned>{0, 1, 2}));
  list = parse_lcore_list("0@0,(1-2)@(0,1)", &error);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_EQ(list->ids, (std::vector<unsigned>{0, 1, 2}));
  for (const char* bad : {"0@", "0@x", "(1-2@0", "0,0@1", "1@(0,)"}) {
    EXPECT_FALSE(parse_lcore_list(bad, &error).has_value()) << bad;
  }
  EXPECT_FALSE(parse_lcore_list("0,2,0", &error).has_value());
  EXPECT_EQ(error, "lcore 0 is listed twice in \"0,2,0\"");
}

TEST(InterfaceName, FollowsLinuxRules) {
  EXPECT_FALSE(interface_name_error("portico0").has_value());
  EXPECT_FALSE(interface_name_error("abcdefghijklmno").has_value());  // 15
  EXPECT_TRUE(interface_name_error("abcdefghijklmnop").has_value());  // 16
  EXPECT_TRUE(interface_name_error("").has_value());
  EXPECT_TRUE(interface_name_error("a/b").has_value());
  EXPECT_TRUE(interface_name_error("a b").has_value());
  EXPECT_TRUE(interface_name_error("a:1").has_value());
  EXPECT_TRUE(interface_name_error("..").has_value());
}

TEST(TabScan, FindsTabsInIndentationOnly) {
  struct Case {
    const char* name;
    const char* text;
    std::vector<int> lines;
  };
  const std::vector<Case> cases = {
      {"clean", "a:\n  b: 1\n", {}},
      {"tab before a key", "a:\n\tb: 1\n", {2}},
      {"spaces then tab", "a:\n  \tb: 1\n", {2}},
      {"tab before a comment", "a:\n  b: 1\n\t# note\n", {3}},
      {"blank line of tabs", "a: 1\n\t\t  \nb: 2\n", {2}},
      {"tab after a sequence dash", "a:\n  -\tb\n", {2}},
      {"tab after nested dashes", "a:\n  - - \tb\n", {2}},
      {"tab inside a value", "a: 'x\ty'\nb: c\td\n", {}},
      {"tab after the key", "a:\t1\n", {}},
      {"CRLF endings", "a:\r\n\tb: 1\r\n", {2}},
      {"block scalar content", "a: |\n  x\n  \ty\n\tz: 1\n", {4}},
      {"folded, chomped", "a: >-\n    x\n     \ty\nb: 1\n", {}},
      {"block scalar with comment", "a: | # c\n  \tx\n", {}},
      {"block scalar in a list", "- |\n  \tx\n- >\n   \ty\n", {}},
      {"block scalar under a list item key", "- k: |\n    \tx\n  j: 1\n", {}},
      {"block scalar with tag", "a: !!str |2\n   \tx\n", {}},
      {"blank line in block with tab at column 0", "a: |\n  x\n\t\n  y\n", {3}},
      {"blank line in block with deep tab", "a: |\n  x\n   \t\n  y\n", {}},
      {"block ends, then tab", "a:\n  b: |\n    x\n  c: 1\n\td: 2\n", {5}},
      {"pipe inside a value is not a block", "a: x |\n\tb: 1\n", {2}},
      {"quoted pipe is not a block", "a: '|'\n\tb: 1\n", {2}},
      {"document marker ends a root block", "--- |\n  \tx\n---\n\ta: 1\n", {4}},
      {"no final newline", "a:\n\tb", {2}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(tab_indented_lines(c.text), c.lines) << c.name;
  }
}

}  // namespace
}  // namespace config
