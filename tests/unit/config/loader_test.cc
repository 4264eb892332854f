// config/loader.h: documents, dispatch, metadata, YAML typing and syntax, directories.
// Kind-specific rules are in kinds_test.cc; the seeds in seeds_test.cc.
#include "config/loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::find;
using config_test::testdata;

// Raw strings start with a newline for readability; the YAML starts after it (line 1).
std::string yaml(const char* text) { return text[0] == '\n' ? text + 1 : text; }

TEST(Diagnostic, PrintsFileLineObjectMessage) {
  EXPECT_EQ((Diagnostic{"a.yaml", 4, "Service/default/web", "boom"}).str(),
            "a.yaml:4: Service/default/web: boom");
  EXPECT_EQ((Diagnostic{"a.yaml", 0, "", "boom"}).str(), "a.yaml: boom");
  EXPECT_EQ((Diagnostic{"", 0, "", "boom"}).str(), "boom");
  EXPECT_EQ((Diagnostic{"", 3, "X/y", "boom"}).str(), "line 3: X/y: boom");
}

TEST(ObjectRef, OmitsEmptyNamespace) {
  ObjectMeta m;
  m.name = "edge-1";
  EXPECT_EQ(object_ref("NodeConfig", m), "NodeConfig/edge-1");
  m.namespace_ = "metallb-system";
  EXPECT_EQ(object_ref("IPAddressPool", m), "IPAddressPool/metallb-system/edge-1");
}

TEST(Documents, MultiDocumentWithEmptyDocumentsAndLines) {
  const std::string text = yaml(R"(
# leading comment
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: first
spec:
  addresses: ["203.0.113.0/28"]
---
---

# a comment before the second object
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: second
spec:
  addresses: ["203.0.113.16/28"]
---
)");
  const LoadResult r = load_text(text, "multi.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.pools.size(), 2u);
  EXPECT_EQ(r.objects.pools[0].meta.name, "first");
  EXPECT_EQ(r.objects.pools[0].src.file, "multi.yaml");
  EXPECT_EQ(r.objects.pools[0].src.line, 3);
  EXPECT_EQ(r.objects.pools[1].meta.name, "second");
  EXPECT_EQ(r.objects.pools[1].src.line, 13);
  EXPECT_EQ(r.objects.pools[1].meta.namespace_, "default");  // as kubectl apply without -n
}

TEST(Documents, ListsOfObjectsAsKubectlPrintsThem) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
  - apiVersion: v1
    kind: Namespace
    metadata:
      name: team-a
  - apiVersion: metallb.io/v1beta1
    kind: IPAddressPool
    metadata:
      name: Bad
    spec:
      addresses: [203.0.113.0/28]
)"),
                                 "list.yaml");
  ASSERT_EQ(r.objects.namespaces.size(), 1u);
  EXPECT_EQ(r.objects.namespaces[0].src.line, 6);
  ASSERT_EQ(r.objects.pools.size(), 1u);
  EXPECT_EQ(r.objects.pools[0].src.line, 10);
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 13);
  EXPECT_EQ(r.errors[0].object, "IPAddressPool/default/Bad");

  const LoadResult nested = load_text(
      "apiVersion: v1\nkind: List\nitems:\n"
      "  - {apiVersion: v1, kind: List, items: []}\n",
      "nested.yaml");
  ASSERT_EQ(nested.errors.size(), 1u) << dump(nested);
  EXPECT_EQ(nested.errors[0].message, "a List inside a List is not supported");
}

TEST(Documents, DiagnosticsOfADocumentComeInLineOrder) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  ports:
    - {name: a, port: 0}
  externalTrafficPolicy: Global
  ipFamilies: [IPv5]
)"),
                                 "order.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 8);
  EXPECT_EQ(r.errors[1].line, 9);
  EXPECT_EQ(r.errors[2].line, 10);
}

TEST(Documents, MergeKeysAsKubectlReadsThem) {
  const LoadResult r = load_text(yaml(R"(
x-common: &common
  type: LoadBalancer
  externalTrafficPolicy: Local
x-ports: &ports
  ports: [{port: 80}]
  type: NodePort
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  <<: [*common, *ports]
  externalTrafficPolicy: Cluster
)"),
                                 "merge.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Service& s = r.objects.services.at(0);
  EXPECT_EQ(s.type, "LoadBalancer");                // the first merged map wins
  EXPECT_EQ(s.external_traffic_policy, "Cluster");  // explicit keys win
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0].port, 80);

  const LoadResult bad =
      load_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  <<: [a]\n", "merge.yaml");
  const Diagnostic* e = find(bad.errors, "YAML: map merge requires map or sequence of maps");
  ASSERT_NE(e, nullptr) << dump(bad);
  EXPECT_EQ(e->line, 4);
}

TEST(Documents, EmptyInputLoadsNothing) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "---\n...\n"}) {
    const LoadResult r = load_text(text, "empty.yaml");
    EXPECT_TRUE(r.ok()) << text << dump(r);
    EXPECT_TRUE(r.objects.pools.empty());
    EXPECT_TRUE(r.objects.others.empty());
  }
}

struct ErrorCase {
  const char* name;
  const char* text;
  int line;
  const char* message;           // a substring of the first error
  const char* object = nullptr;  // expected Diagnostic::object when given
};

void expect_first_error(const ErrorCase& c) {
  const LoadResult r = load_text(yaml(c.text), "in.yaml");
  ASSERT_FALSE(r.ok()) << c.name;
  const Diagnostic& e = r.errors.front();
  EXPECT_EQ(e.file, "in.yaml") << c.name;
  EXPECT_EQ(e.line, c.line) << c.name << "\n" << dump(r);
  EXPECT_NE(e.message.find(c.message), std::string::npos) << c.name << "\n" << dump(r);
  if (c.object != nullptr) {
    EXPECT_EQ(e.object, c.object) << c.name;
  }
}

TEST(Documents, StructuralErrors) {
  const std::vector<ErrorCase> cases = {
      {"not a mapping: list", "- a\n- b\n", 1, "must be a YAML mapping"},
      {"not a mapping: scalar", "---\n# text\njust text\n", 3, "must be a YAML mapping"},
      {"missing kind", R"(
apiVersion: v1
metadata:
  name: x
)",
       1, "kind: Required value"},
      {"missing apiVersion", R"(
kind: Service
metadata:
  name: web
spec:
  ports: [{port: 80}]
)",
       1, "apiVersion: Required value", "Service/default/web"},
      {"kind of the wrong type", "apiVersion: v1\nkind: [Service]\n", 2,
       "kind: Invalid value: \"array\": must be of type string"},
      {"known kind, wrong version", R"(
apiVersion: metallb.io/v1alpha1
kind: IPAddressPool
metadata:
  name: pool
spec:
  addresses: ["203.0.113.0/28"]
)",
       1,
       "apiVersion: Invalid value: \"metallb.io/v1alpha1\": no matches for kind \"IPAddressPool\" "
       "in version \"metallb.io/v1alpha1\"; served versions: metallb.io/v1beta1",
       "IPAddressPool/default/pool"},
      {"core kind, wrong version", "apiVersion: v2\nkind: Namespace\nmetadata:\n  name: a\n", 1,
       "served versions: v1"},
      {"missing metadata", "apiVersion: v1\nkind: Namespace\n", 1, "metadata: Required value"},
      {"missing name", "apiVersion: v1\nkind: Namespace\nmetadata:\n  labels: {a: b}\n", 3,
       "metadata.name: Required value"},
      {"empty name", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \"\"\n", 4,
       "metadata.name: Required value"},
      {"metadata is a list", "apiVersion: v1\nkind: Namespace\nmetadata: [a]\n", 3,
       "metadata: Invalid value: \"array\": must be of type object"},
      {"duplicate mapping key", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  name: b
)",
       5, "mapping key \"name\" already defined at line 4"},
      {"YAML syntax error at the end", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: [a\n",
       4, "YAML syntax: end of sequence flow not found (at the end of the file)"},
      {"bad indentation", "apiVersion: v1\n kind: Namespace\n", 2,
       "YAML syntax: illegal map value (column 6)"},
      {"tab in indentation", "apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n", 4,
       "YAML syntax: tab character in indentation (YAML allows only spaces for indentation)"},
      {"namespace not a label", R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: MetalLB
spec:
  addresses: ["203.0.113.0/28"]
)",
       5, "metadata.namespace: Invalid value: \"MetalLB\": a lowercase RFC 1123 label"},
      {"label value of the wrong type", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    version: 1.10
)",
       6,
       "metadata.labels.version: Invalid value: 1.10: must be of type string (YAML reads 1.10 as "
       "a number; write \"1.10\" to make it a string)"},
      {"YAML 1.1 booleans are booleans", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    country: NO
)",
       6, "must be of type string (YAML reads NO as a boolean"},
      {"bad label key", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    -bad-: x
)",
       6, "metadata.labels: Invalid value: \"-bad-\": name part must consist of"},
      {"bad label value", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels:
    good: "-bad"
)",
       6, "metadata.labels: Invalid value: \"-bad\": a valid label must be an empty string"},
      {"annotations must be strings", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  annotations:
    metallb.io/address-pool: {a: b}
)",
       6, "must be of type string"},
      {"labels must be a map", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
  labels: [a, b]
)",
       5, "metadata.labels: Invalid value: \"array\": must be of type object"},
      {"duplicate object", R"(
apiVersion: v1
kind: Namespace
metadata:
  name: a
---
apiVersion: v1
kind: Namespace
metadata:
  name: a
)",
       6, "duplicate object: already defined at in.yaml:1", "Namespace/a"},
      {"namespace name is a label", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", 4,
       "metadata.name: Invalid value: \"a.b\": must not contain dots"},
      {"complex mapping key", "? [a]\n: b\napiVersion: v1\n", 1, "mapping keys must be strings"},
  };
  for (const ErrorCase& c : cases) expect_first_error(c);
}

TEST(Documents, UnknownKindsAreKeptWithAWarning) {
  const std::string text = yaml(R"(
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata:
  name: router
  namespace: metallb-system
spec:
  receiveInterval: 300
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
)");
  const LoadResult r = load_text(text, "other.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            "other.yaml:1: BFDProfile/metallb-system/router: kind BFDProfile (apiVersion "
            "metallb.io/v1beta1) is not handled by this version of Portico; ignored");
  EXPECT_EQ(r.warnings[1].line, 9);
  ASSERT_EQ(r.objects.others.size(), 2u);
  EXPECT_EQ(r.objects.others[0].kind, "BFDProfile");
  EXPECT_EQ(r.objects.others[0].api_version, "metallb.io/v1beta1");
  EXPECT_EQ(r.objects.others[0].meta.namespace_, "metallb-system");
  EXPECT_EQ(r.objects.others[1].meta.namespace_, "");  // IngressClass is cluster-scoped
  EXPECT_EQ(r.objects.others[1].src.line, 9);
}

TEST(Documents, DuplicateObjectsOfUnknownKinds) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: gw}
---
apiVersion: example.com/v1
kind: TLSRoute
metadata: {name: gw}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: gw}
)"),
                                 "gw.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);  // another group is another kind
  EXPECT_EQ(r.errors[0].str(),
            "gw.yaml:9: TLSRoute/default/gw: duplicate object: already defined at gw.yaml:1");
}

TEST(Documents, KnownKindInAnotherGroupGetsAHint) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metalb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
)"),
                                 "typo.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("(did you mean apiVersion metallb.io/v1beta1?)"),
            std::string::npos)
      << dump(r);
}

TEST(Documents, NamespacesAndClusterScope) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  namespace: ignored
  labels: {env: prod, empty: }
  annotations: {note: "x"}
  uid: 1234-abcd
  resourceVersion: "42"
)"),
                                 "ns.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.namespaces.size(), 1u);
  const Namespace& ns = r.objects.namespaces[0];
  EXPECT_EQ(ns.meta.name, "team-a");
  EXPECT_EQ(ns.meta.namespace_, "");
  EXPECT_EQ(ns.meta.labels, (Labels{{"env", "prod"}, {"empty", ""}}));
  EXPECT_EQ(ns.meta.annotations.at("note"), "x");
  ASSERT_EQ(r.warnings.size(), 1u) << dump(r);
  EXPECT_EQ(r.warnings[0].line, 5);
  EXPECT_EQ(r.warnings[0].message, "metadata.namespace: ignored: Namespace is not namespaced");
}

TEST(Documents, UnknownFieldsAreWarnings) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  colour: blue
spec:
  addresses: ["203.0.113.0/28"]
  autoassign: false
extra: 1
)"),
                                 "u.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 3u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            "u.yaml:5: IPAddressPool/default/pool: unknown field \"metadata.colour\"");
  EXPECT_EQ(r.warnings[1].line, 8);
  EXPECT_EQ(r.warnings[1].message, "unknown field \"spec.autoassign\"");
  EXPECT_EQ(r.warnings[2].message, "unknown field \"extra\"");
  EXPECT_TRUE(r.objects.pools[0].auto_assign);
}

TEST(Documents, TabsInBlockScalarsAreContent) {
  const LoadResult r = load_text(yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"
                                      "  annotations:\n    script: |\n      line one\n"
                                      "      \tindented with a tab\n"),
                                 "block.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.objects.namespaces[0].meta.annotations.at("script"),
            "line one\n\tindented with a tab\n");
}

TEST(Documents, AliasesCannotMultiplyWork) {
  // Each level repeats the one below 200 times: 8 million reads if walked.
  std::string values = "[";
  for (int i = 0; i < 200; ++i) values += (i ? ", v" : "v") + std::to_string(i);
  values += "]";
  std::string exprs = "[", selectors = "[";
  for (int i = 0; i < 200; ++i) {
    exprs += i ? ", *e" : "*e";
    selectors += i ? ", *s" : "*s";
  }
  exprs += "]";
  selectors += "]";
  const std::string text =
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: bomb\n"
      "x-defs:\n  - &v " +
      values +
      "\n  - &e {key: k, operator: In, values: *v}\n"
      "  - &s {matchExpressions: " +
      exprs +
      "}\n"
      "spec:\n  addresses: [\"203.0.113.0/28\"]\n"
      "  serviceAllocation:\n    serviceSelectors: " +
      selectors + "\n";
  const LoadResult r = load_text(text, "bomb.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "bomb.yaml:1: document holds more than 250000 values once its YAML aliases are "
            "expanded; refused");
}

TEST(Documents, RecursiveAliasesAndDeepNestingAreRefused) {
  const LoadResult cycle = load_text(
      "apiVersion: v1\nkind: Namespace\nmetadata: &m\n  name: a\n"
      "  labels: *m\n",
      "cycle.yaml");
  ASSERT_EQ(cycle.errors.size(), 1u) << dump(cycle);
  EXPECT_EQ(cycle.errors[0].message, "YAML: recursive alias (a node that contains itself)");

  const LoadResult deep =
      load_text("a: " + std::string(300, '[') + std::string(300, ']') + "\n", "deep.yaml");
  ASSERT_EQ(deep.errors.size(), 1u) << dump(deep);
  EXPECT_EQ(deep.errors[0].message, "YAML: document nested deeper than 256 levels");
}

TEST(Documents, TooManyErrorsAreCappedPerDocument) {
  std::string text = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n";
  for (int i = 0; i < 300; ++i) text += "    - {name: p" + std::to_string(i) + ", port: x}\n";
  const LoadResult r = load_text(text, "many.yaml");
  ASSERT_EQ(r.errors.size(), 101u);
  EXPECT_EQ(r.errors.back().message, "too many errors in this document; the rest are not shown");
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on a stray ',' where a document starts
// (jbeder/yaml-cpp#1040). Without the guard this test exhausts memory.
TEST(Documents, StrayCommaDoesNotHangTheParser) {
  struct Case {
    const char* text;
    int line;
  };
  for (const Case& c : {Case{",", 1}, Case{",,,,,,,,,,\xff\xff", 1}, Case{"# c\n,\n", 2},
                        Case{"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n,", 5},
                        Case{"{a: 1}\n,", 2}, Case{"\"x\"\n  ,", 2}}) {
    const LoadResult r = load_text(c.text, "comma.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << c.text << "\n" << dump(r);
    EXPECT_EQ(r.errors[0].line, c.line) << c.text;
    EXPECT_NE(r.errors[0].message.find("YAML syntax: unexpected \",\" where a document should "
                                       "start"),
              std::string::npos)
        << dump(r);
  }
}

TEST(Documents, NeverThrowsOnHostileInput) {
  const std::vector<std::string> inputs = {
      std::string("\0\0\0", 3),
      "{{{{{{{{",
      "[",
      "- - - - -",
      "&a [*a]",
      "*unknown",
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [[], {}, 1, null]}\n",
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: {port: 80}}\n",
      "apiVersion: !!int v1\nkind: Namespace\n",
      "apiVersion: v1\nkind: Namespace\nmetadata: ~\n",
      "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
      "addressType: IPv4\nendpoints: [{addresses: [{}]}, ~]\nports: [~]\n",
      std::string(100000, '['),
      "a: " + std::string(100000, '-')};
  for (const std::string& text : inputs) {
    EXPECT_NO_THROW(load_text(text, "hostile.yaml")) << text.substr(0, 60);
  }
}

// ---- files and directories ----

class TempDir {
 public:
  TempDir() {
    path_ =
        std::filesystem::temp_directory_path() /
        ("portico-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string str() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

std::string pool(const std::string& name, const std::string& cidr) {
  return "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: " + name +
         "\nspec:\n  addresses: [\"" + cidr + "\"]\n";
}

TEST(Files, DirectoryReadsYamlFilesInNameOrderNotRecursively) {
  TempDir dir;
  dir.write("b.yaml", pool("b", "203.0.113.16/28"));
  dir.write("a.yml", pool("a", "203.0.113.0/28"));
  dir.write("c.yaml.bak", pool("c", "203.0.113.32/28"));
  dir.write("notes.txt", "not yaml");
  dir.write("sub/d.yaml", pool("d", "203.0.113.48/28"));
  const LoadResult r = load({dir.str()});
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.pools.size(), 2u);
  EXPECT_EQ(r.objects.pools[0].meta.name, "a");
  EXPECT_EQ(r.objects.pools[0].src.file, dir.str() + "/a.yml");
  EXPECT_EQ(r.objects.pools[1].meta.name, "b");
}

TEST(Files, FilesAndDirectoriesCombineAndCrossCheck) {
  TempDir dir;
  const std::string file = dir.write("one.yaml", pool("one", "203.0.113.0/24"));
  dir.write("more/two.yaml", pool("two", "203.0.113.128/25"));
  const LoadResult r = load({file, dir.str() + "/more"});
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, dir.str() + "/more/two.yaml");
  EXPECT_EQ(r.errors[0].line, 6);
  EXPECT_NE(
      r.errors[0].message.find(
          "CIDR 203.0.113.128/25 overlaps with already defined CIDR 203.0.113.0/24 of pool one"),
      std::string::npos)
      << dump(r);
}

TEST(Files, MissingPathsAndEmptyDirectories) {
  TempDir dir;
  const LoadResult missing = load({dir.str() + "/nope.yaml"});
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].file, dir.str() + "/nope.yaml");
  EXPECT_EQ(missing.errors[0].line, 0);
  EXPECT_NE(missing.errors[0].message.find("cannot read"), std::string::npos);

  const LoadResult empty = load({dir.str()});
  EXPECT_TRUE(empty.ok());
  ASSERT_EQ(empty.warnings.size(), 1u);
  EXPECT_EQ(empty.warnings[0].message, "directory holds no *.yaml or *.yml file");
}

TEST(Files, FixtureDirectory) {
  const LoadResult r = load({testdata("dir")});
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.objects.node_configs.size(), 1u);
  EXPECT_EQ(r.objects.node_configs[0].src.file, testdata("dir") + "/00-node.yaml");
  EXPECT_EQ(r.objects.pools.size(), 2u);
  EXPECT_EQ(r.objects.l2_advertisements.size(), 1u);
  EXPECT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.endpoint_slices.size(), 1u);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
}

}  // namespace
}  // namespace config
