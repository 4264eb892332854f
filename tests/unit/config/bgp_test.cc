// config/bgp.cc and the BGP rules of check_object_set: BGPPeer (v1beta2, v1beta1),
// BGPAdvertisement, Community and Secret, each rule with the file:line and message it gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/test_util.h"

namespace config {
namespace {

using config_test::dump;
using config_test::find;
using config_test::testdata;

std::string yaml(const char* text) { return text[0] == '\n' ? text + 1 : text; }

// Expects an error whose message contains `message`, at `line`, on `object`.
void expect_error(const LoadResult& r, int line, const std::string& object,
                  const std::string& message, const std::string& name = "") {
  const Diagnostic* e = find(r.errors, message);
  ASSERT_NE(e, nullptr) << name << ": no error containing: " << message << "\n" << dump(r);
  EXPECT_EQ(e->file, "in.yaml") << name;
  EXPECT_EQ(e->line, line) << name << "\n" << dump(r);
  EXPECT_EQ(e->object, object) << name;
}

void expect_warning(const LoadResult& r, int line, const std::string& object,
                    const std::string& message) {
  const Diagnostic* w = find(r.warnings, message);
  ASSERT_NE(w, nullptr) << "no warning containing: " << message << "\n" << dump(r);
  EXPECT_EQ(w->line, line) << dump(r);
  EXPECT_EQ(w->object, object);
}

constexpr const char* kPeerHeader = R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: p
  namespace: metallb-system
spec:
)";
constexpr const char* kPeerRef = "BGPPeer/metallb-system/p";

// ================================ parse_bgp_community ================================

TEST(BgpCommunity, ParsesStandardAndLarge) {
  BgpCommunity c;
  ASSERT_TRUE(parse_bgp_community("64512:100", &c));
  EXPECT_FALSE(c.large);
  EXPECT_EQ(c.value, (64512u << 16) | 100u);
  EXPECT_EQ(c.text, "64512:100");
  ASSERT_TRUE(parse_bgp_community("65535:65535", &c));
  EXPECT_EQ(c.value, 0xffffffffu);
  ASSERT_TRUE(parse_bgp_community("0:0", &c));
  EXPECT_EQ(c.value, 0u);
  ASSERT_TRUE(parse_bgp_community("large:4294967295:0:7", &c));
  EXPECT_TRUE(c.large);
  EXPECT_EQ(c.large_parts[0], 4294967295u);
  EXPECT_EQ(c.large_parts[1], 0u);
  EXPECT_EQ(c.large_parts[2], 7u);
}

TEST(BgpCommunity, RefusesEverythingElse) {
  for (const char* bad : {"", "64512", "65536:1", "1:65536", "-1:1", "+1:1", "1:", ":1", "a:b",
                          "1:2:3", "large:1:2", "large:1:2:4294967296", "LARGE:1:2:3", "x:1:2:3",
                          "1 :2", "no-export", "large:1:2:3:4", "64512:0x10"}) {
    BgpCommunity c;
    c.value = 77;
    EXPECT_FALSE(parse_bgp_community(bad, &c)) << bad;
    EXPECT_EQ(c.value, 77u) << bad << ": *out changed on failure";
  }
}

// ================================ BGPPeer ================================

TEST(BgpPeer, MinimalPeerGetsTheDefaults) {
  const LoadResult r = load_text(yaml(kPeerHeader) + R"(  myASN: 64512
  peerASN: 64500
  peerAddress: 198.51.100.1
)",
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.bgp_peers.size(), 1u);
  const BGPPeer& p = r.objects.bgp_peers[0];
  EXPECT_EQ(p.src.line, 1);
  EXPECT_EQ(p.my_asn, 64512u);
  EXPECT_EQ(p.peer_asn, 64500u);
  EXPECT_EQ(p.peer_address.str(), "198.51.100.1");
  EXPECT_FALSE(p.source_address);
  EXPECT_EQ(p.peer_port, 179);
  EXPECT_EQ(p.hold_time_ms, 90000u);
  EXPECT_EQ(p.keepalive_time_ms, 30000u);
  EXPECT_EQ(p.connect_time_ms, 0u);
  EXPECT_FALSE(p.router_id);
  EXPECT_TRUE(p.node_selectors.empty());
  EXPECT_TRUE(p.password.empty());
  EXPECT_FALSE(p.password_secret);
  EXPECT_FALSE(p.ebgp_multi_hop);
  EXPECT_FALSE(p.enable_graceful_restart);
}

struct PeerCase {
  const char* name;
  const char* spec;  // lines under `spec:` (line 8 is the first)
  int line;
  const char* message;
};

TEST(BgpPeer, InvalidFieldsAreReportedAtTheirLine) {
  const std::vector<PeerCase> cases = {
      {"myASN missing", "  peerASN: 1\n  peerAddress: 198.51.100.1\n", 6,
       "spec.myASN: Required value"},
      {"myASN zero", "  myASN: 0\n  peerASN: 1\n  peerAddress: 198.51.100.1\n", 7,
       "spec.myASN: Invalid value: 0: must be greater than or equal to 1"},
      {"myASN past 32 bits", "  myASN: 4294967296\n  peerASN: 1\n  peerAddress: 198.51.100.1\n", 7,
       "spec.myASN: Invalid value: 4294967296: must be between 1 and 4294967295, inclusive"},
      {"myASN a string", "  myASN: \"64512\"\n  peerASN: 1\n  peerAddress: 198.51.100.1\n", 7,
       "spec.myASN: Invalid value: \"64512\": must be of type integer"},
      {"peerASN missing", "  myASN: 1\n  peerAddress: 198.51.100.1\n", 6,
       "spec.peerASN: Required value"},
      {"dynamicASN", "  myASN: 1\n  dynamicASN: external\n  peerAddress: 198.51.100.1\n", 8,
       "spec.dynamicASN: Forbidden: not supported by Portico's speaker: Portico needs the peer's "
       "AS number in spec.peerASN"},
      {"localASN", "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  localASN: 65000\n", 10,
       "spec.localASN: Forbidden: not supported by Portico's speaker"},
      {"vrf", "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  vrf: red\n", 10,
       "spec.vrf: Forbidden: not supported by Portico's speaker"},
      {"interface", "  myASN: 1\n  peerASN: 2\n  interface: eth0\n", 9,
       "spec.interface: Forbidden: not supported by Portico's speaker (unnumbered BGP)"},
      {"dualStackAddressFamily",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  dualStackAddressFamily: true\n",
       10, "spec.dualStackAddressFamily: Forbidden: not supported by Portico's speaker"},
      {"peerAddress missing", "  myASN: 1\n  peerASN: 2\n", 6, "spec.peerAddress: Required value"},
      {"peerAddress not an IP", "  myASN: 1\n  peerASN: 2\n  peerAddress: router.example\n", 9,
       "spec.peerAddress: Invalid value: \"router.example\": must be a valid IP address"},
      {"peerAddress unspecified", "  myASN: 1\n  peerASN: 2\n  peerAddress: \"::\"\n", 9,
       "spec.peerAddress: Invalid value: \"::\": must be a unicast address"},
      {"sourceAddress of the other family",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  sourceAddress: \"2001:db8::1\"\n",
       10,
       "spec.sourceAddress: Invalid value: \"2001:db8::1\": must be of the same IP family as "
       "spec.peerAddress (IPv4)"},
      {"sourceAddress not an IP",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  sourceAddress: x\n", 10,
       "spec.sourceAddress: Invalid value: \"x\": must be a valid IP address"},
      {"peerPort 0", "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  peerPort: 0\n", 10,
       "spec.peerPort: Invalid value: 0: must be between 1 and 16384, inclusive"},
      {"peerPort too big",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  peerPort: 16385\n", 10,
       "spec.peerPort: Invalid value: 16385: must be between 1 and 16384, inclusive"},
      {"holdTime 2s", "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: 2s\n", 10,
       "spec.holdTime: Invalid value: \"2s\": must be 0 (no keepalives) or from 3s to 65535s "
       "(RFC 4271)"},
      {"holdTime past 16 bits",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: 65536s\n", 10,
       "spec.holdTime: Invalid value: \"65536s\": must be 0 (no keepalives) or from 3s"},
      {"holdTime not whole seconds",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: 4500ms\n", 10,
       "spec.holdTime: Invalid value: \"4500ms\": must be a whole number of seconds"},
      {"holdTime not a duration",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: soon\n", 10,
       "spec.holdTime: Invalid value: \"soon\": must be a duration"},
      {"keepalive above hold",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: 30s\n"
       "  keepaliveTime: 31s\n",
       11,
       "spec.keepaliveTime: Invalid value: \"31s\": must not be greater than spec.holdTime (30s)"},
      {"keepalive with hold 0",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  holdTime: 0s\n"
       "  keepaliveTime: 1s\n",
       11,
       "spec.keepaliveTime: Invalid value: \"1s\": must not be greater than spec.holdTime (0s)"},
      {"keepalive alone past a 16-bit hold",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  keepaliveTime: 21846s\n", 10,
       "spec.keepaliveTime: Invalid value: \"21846s\": must be at most 21845s"},
      {"connectTime 0",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  connectTime: 0s\n", 10,
       "spec.connectTime: Invalid value: \"0s\": connect time should be between 1 seconds to "
       "65535"},
      {"connectTime too long",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  connectTime: 65536s\n", 10,
       "connect time should be between 1 seconds to 65535"},
      {"connectTime not whole seconds",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  connectTime: 1500ms\n", 10,
       "spec.connectTime: Invalid value: \"1500ms\": connect time should contain a whole number "
       "of seconds"},
      {"routerID IPv6",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  routerID: \"2001:db8::1\"\n", 10,
       "spec.routerID: Invalid value: \"2001:db8::1\": must be a valid IPv4 address"},
      {"password and passwordSecret",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  password: abc\n"
       "  passwordSecret: {name: md5}\n",
       11,
       "spec.passwordSecret: Forbidden: spec.password and spec.passwordSecret are mutually "
       "exclusive"},
      {"password too long for TCP-MD5",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n"
       "  password: "
       "\"0123456789012345678901234567890123456789012345678901234567890123456789012345678901\"\n",
       10, "spec.password: Invalid value: (value not shown): must be at most 80 bytes"},
      {"ebgpMultiHop on an iBGP peer",
       "  myASN: 64512\n  peerASN: 64512\n  peerAddress: 198.51.100.1\n  ebgpMultiHop: true\n", 10,
       "spec.ebgpMultiHop: Invalid value: true: invalid ebgp-multihop parameter set for an ibgp "
       "peer"},
      {"enableGracefulRestart not a bool",
       "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n  enableGracefulRestart: \"yes\"\n",
       10, "spec.enableGracefulRestart: Invalid value: \"yes\": must be of type boolean"},
      {"no spec", "", 6, "spec: Required value"},
  };
  for (const PeerCase& c : cases) {
    const LoadResult r = load_text(yaml(kPeerHeader) + c.spec, "in.yaml");
    expect_error(r, c.line, kPeerRef, c.message, c.name);
  }
}

TEST(BgpPeer, ZeroValuesOfRefusedFieldsAreAccepted) {
  // What `kubectl get -o yaml` prints for a peer that does not use them.
  const LoadResult r = load_text(yaml(kPeerHeader) + R"(  myASN: 64512
  peerASN: 64500
  peerAddress: 198.51.100.1
  vrf: ""
  dualStackAddressFamily: false
  disableMP: false
  enableGracefulRestart: false
  passwordSecret: {}
)",
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  EXPECT_FALSE(r.objects.bgp_peers[0].password_secret);
}

TEST(BgpPeer, HoldAndKeepaliveAreDerivedFromEachOther) {
  struct TimerCase {
    const char* spec;
    uint64_t hold_ms, keepalive_ms;
  };
  const std::vector<TimerCase> cases = {
      {"", 90000, 30000},
      {"  holdTime: 9s\n", 9000, 3000},
      {"  holdTime: 10s\n", 10000, 3000},  // hold/3 kept in whole seconds
      {"  holdTime: 3m\n", 180000, 60000},
      {"  holdTime: 0s\n", 0, 0},
      {"  holdTime: 240\n", 240000, 80000},  // an integer is seconds
      {"  keepaliveTime: 20s\n", 60000, 20000},
      {"  keepaliveTime: 0s\n", 0, 0},
      {"  holdTime: 30s\n  keepaliveTime: 30s\n", 30000, 30000},
      {"  holdTime: 1m\n  keepaliveTime: 5s\n", 60000, 5000},
  };
  for (const TimerCase& c : cases) {
    const LoadResult r = load_text(
        yaml(kPeerHeader) + "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n" + c.spec,
        "in.yaml");
    ASSERT_TRUE(r.ok()) << c.spec << dump(r);
    EXPECT_EQ(r.objects.bgp_peers[0].hold_time_ms, c.hold_ms) << c.spec;
    EXPECT_EQ(r.objects.bgp_peers[0].keepalive_time_ms, c.keepalive_ms) << c.spec;
  }
}

TEST(BgpPeer, BfdProfileAndDisableMPAreAcceptedWithAWarning) {
  const LoadResult r = load_text(yaml(kPeerHeader) + R"(  myASN: 1
  peerASN: 2
  peerAddress: 198.51.100.1
  bfdProfile: fast
  disableMP: true
)",
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  expect_warning(r, 10, kPeerRef,
                 "spec.bfdProfile: BFD is not supported by Portico's speaker; the session runs "
                 "without it");
  expect_warning(r, 11, kPeerRef, "spec.disableMP: deprecated upstream and ignored");
  EXPECT_EQ(r.objects.bgp_peers[0].bfd_profile, "fast");
}

TEST(BgpPeer, PasswordsNeverAppearInMessages) {
  const std::vector<std::string> specs = {
      "  password: 123456789\n",                      // an integer, not a string
      "  password: [\"s3cret-value\"]\n",             // a list
      "  password: \"s3cret-value\\nsecond line\"\n"  // a line break
  };
  for (const std::string& spec : specs) {
    const LoadResult r = load_text(
        yaml(kPeerHeader) + "  myASN: 1\n  peerASN: 2\n  peerAddress: 198.51.100.1\n" + spec,
        "in.yaml");
    ASSERT_FALSE(r.ok()) << spec;
    const std::string all = dump(r);
    EXPECT_NE(all.find("spec.password: Invalid value: (value not shown)"), std::string::npos)
        << all;
    EXPECT_EQ(all.find("123456789"), std::string::npos) << all;
    EXPECT_EQ(all.find("s3cret"), std::string::npos) << all;
  }
}

TEST(BgpPeer, V1beta1HasFewerFieldsAndIsDeprecated) {
  const std::string file = testdata("bgp/v1beta1_peer.yaml");
  const LoadResult r = load({file});
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            file +
                ":2: BGPPeer/metallb-system/legacy: metallb.io/v1beta1 BGPPeer is deprecated, "
                "please use metallb.io/v1beta2");
  EXPECT_EQ(r.warnings[1].str(),
            file + ":16: BGPPeer/metallb-system/legacy: unknown field \"spec.connectTime\"");
  ASSERT_EQ(r.objects.bgp_peers.size(), 1u);
  const BGPPeer& p = r.objects.bgp_peers[0];
  EXPECT_EQ(p.peer_address.str(), "2001:db8:100::1");
  EXPECT_EQ(p.peer_port, 179);  // v1beta1's 0 is "unset"
  EXPECT_EQ(p.hold_time_ms, 30000u);
  EXPECT_EQ(p.keepalive_time_ms, 10000u);
  EXPECT_EQ(p.connect_time_ms, 0u);  // not a v1beta1 field: ignored
  ASSERT_TRUE(p.router_id);
  EXPECT_EQ(p.router_id->str(), "198.51.100.10");
}

TEST(BgpPeer, V1beta1RefusesNothingItDoesNotHave) {
  // v1beta2-only fields under v1beta1 are unknown fields (warnings), not Portico's refusals.
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec:
  myASN: 1
  peerASN: 2
  peerAddress: 198.51.100.1
  vrf: red
  passwordSecret: {name: md5}
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  expect_warning(r, 8, kPeerRef, "unknown field \"spec.vrf\"");
  expect_warning(r, 9, kPeerRef, "unknown field \"spec.passwordSecret\"");
  EXPECT_FALSE(r.objects.bgp_peers[0].password_secret);
}

TEST(BgpPeer, OtherVersionsAreRefused) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec: {myASN: 1, peerASN: 2, peerAddress: 198.51.100.1}
)"),
                                 "in.yaml");
  expect_error(r, 1, kPeerRef,
               "apiVersion: Invalid value: \"metallb.io/v1\": no matches for kind \"BGPPeer\" in "
               "version \"metallb.io/v1\"; served versions: metallb.io/v1beta2, "
               "metallb.io/v1beta1");
}

// ---- passwordSecret ----

std::string peer_with_secret(const char* secret_yaml) {
  return yaml(R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec:
  myASN: 1
  peerASN: 2
  peerAddress: 198.51.100.1
  passwordSecret:
    name: md5
---
)") + yaml(secret_yaml);
}

TEST(BgpPeer, PasswordSecretInThePeersNamespaceIsFound) {
  const LoadResult r = load_text(peer_with_secret(R"(
apiVersion: v1
kind: Secret
metadata: {name: md5, namespace: metallb-system}
type: kubernetes.io/basic-auth
stringData: {password: abc}
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_TRUE(r.objects.bgp_peers[0].password_secret);
  EXPECT_EQ(r.objects.bgp_peers[0].password_secret->name, "md5");
  EXPECT_EQ(r.objects.bgp_peers[0].password_secret->namespace_, "metallb-system");
}

TEST(BgpPeer, MissingPasswordSecretIsAWarning) {
  // The Secret is in another namespace: not the one the peer names.
  const LoadResult r = load_text(peer_with_secret(R"(
apiVersion: v1
kind: Secret
metadata: {name: md5, namespace: default}
type: kubernetes.io/basic-auth
stringData: {password: abc}
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  expect_warning(r, 8, kPeerRef,
                 "spec.passwordSecret: Secret metallb-system/md5 is not loaded; the session "
                 "does not start until it is");
}

TEST(BgpPeer, PasswordSecretOfTheWrongTypeOrWithoutPasswordIsAnError) {
  LoadResult r = load_text(peer_with_secret(R"(
apiVersion: v1
kind: Secret
metadata: {name: md5, namespace: metallb-system}
stringData: {password: abc}
)"),
                           "in.yaml");
  expect_error(
      r, 8, kPeerRef,
      "spec.passwordSecret: secret type mismatch on Secret metallb-system/md5 (in.yaml:11): "
      "type \"Opaque\", type \"kubernetes.io/basic-auth\" is expected");
  r = load_text(peer_with_secret(R"(
apiVersion: v1
kind: Secret
metadata: {name: md5, namespace: metallb-system}
type: kubernetes.io/basic-auth
stringData: {username: portico}
)"),
                "in.yaml");
  expect_error(r, 8, kPeerRef,
               "spec.passwordSecret: password not specified in the secret metallb-system/md5 "
               "(in.yaml:11)");
}

TEST(BgpPeer, PasswordSecretNamespaceIsKept) {
  const LoadResult r = load_text(yaml(kPeerHeader) + R"(  myASN: 1
  peerASN: 2
  peerAddress: 198.51.100.1
  passwordSecret: {name: md5, namespace: secrets}
---
apiVersion: v1
kind: Secret
metadata: {name: md5, namespace: secrets}
type: kubernetes.io/basic-auth
data: {password: YWJj}
)",
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  EXPECT_EQ(r.objects.bgp_peers[0].password_secret->namespace_, "secrets");
}

// ---- duplicate peers ----

std::string two_peers(const char* first_extra, const char* second_extra) {
  std::string out = yaml(R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: a, namespace: metallb-system}
spec:
  myASN: 1
  peerASN: 2
  peerAddress: 198.51.100.1
)") + first_extra;
  out += yaml(R"(
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: b, namespace: metallb-system}
spec:
  myASN: 1
  peerASN: 3
  peerAddress: 198.51.100.1
)") + second_extra;
  return out;
}

TEST(BgpPeer, SameAddressOnOverlappingNodesIsAnError) {
  const LoadResult r = load_text(two_peers("", ""), "in.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "in.yaml:15: BGPPeer/metallb-system/b: spec.peerAddress: peer 198.51.100.1 port 179 "
            "is already defined by BGPPeer/metallb-system/a (in.yaml:1), and the nodeSelectors of "
            "the two may select the same node: a node runs one session per peer address and "
            "port");
}

TEST(BgpPeer, DuplicatePeersDependOnPortAndNodeSelectors) {
  struct DupCase {
    const char* name;
    const char* first;
    const char* second;
    bool refused;
  };
  const std::vector<DupCase> cases = {
      {"other port", "", "  peerPort: 1179\n", false},
      {"disjoint matchLabels", "  nodeSelectors: [{matchLabels: {rack: a}}]\n",
       "  nodeSelectors: [{matchLabels: {rack: b}}]\n", false},
      {"one selector list covers every node", "", "  nodeSelectors: [{matchLabels: {rack: b}}]\n",
       true},
      {"labels on different keys may meet", "  nodeSelectors: [{matchLabels: {rack: a}}]\n",
       "  nodeSelectors: [{matchLabels: {zone: z}}]\n", true},
      {"one selector of a list overlaps",
       "  nodeSelectors: [{matchLabels: {rack: a}}, {matchLabels: {rack: c}}]\n",
       "  nodeSelectors: [{matchLabels: {rack: b}}, {matchLabels: {rack: c}}]\n", true},
      {"Exists against DoesNotExist",
       "  nodeSelectors: [{matchExpressions: [{key: edge, operator: Exists}]}]\n",
       "  nodeSelectors: [{matchExpressions: [{key: edge, operator: DoesNotExist}]}]\n", false},
      {"In against a NotIn of the same values",
       "  nodeSelectors: [{matchExpressions: [{key: rack, operator: In, values: [a, b]}]}]\n",
       "  nodeSelectors: [{matchExpressions: [{key: rack, operator: NotIn, values: [a, b]}]}]\n",
       false},
      {"In sets that meet",
       "  nodeSelectors: [{matchExpressions: [{key: rack, operator: In, values: [a, b]}]}]\n",
       "  nodeSelectors: [{matchLabels: {rack: b}}]\n", true},
  };
  for (const DupCase& c : cases) {
    const LoadResult r = load_text(two_peers(c.first, c.second), "in.yaml");
    EXPECT_EQ(find(r.errors, "is already defined by BGPPeer") != nullptr, c.refused)
        << c.name << "\n"
        << dump(r);
  }
}

// ================================ Secret ================================

TEST(BgpSecret, DataIsBase64AndStringDataWins) {
  const std::string file = testdata("bgp/secret_base64.yaml");
  const LoadResult r = load({file});
  ASSERT_EQ(r.objects.secrets.size(), 2u);
  const Secret& s = r.objects.secrets[0];
  EXPECT_EQ(s.type, "kubernetes.io/basic-auth");
  EXPECT_EQ(s.data.at("username"), "portico");
  EXPECT_EQ(s.data.at("password"), "new-value");
  EXPECT_EQ(r.objects.secrets[1].type, "Opaque");  // the API server's default

  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            file +
                ":20: Secret/metallb-system/broken: data[password]: Invalid value: (value not "
                "shown): illegal base64 data at input byte 7 (data values are base64; write "
                "plain text under stringData)");
  EXPECT_EQ(dump(r).find("hunter2"), std::string::npos);
}

TEST(BgpSecret, Base64FollowsGosStandardEncoding) {
  struct B64Case {
    const char* text;     // inside a YAML double-quoted scalar
    const char* decoded;  // nullptr: refused
  };
  const std::vector<B64Case> cases = {
      {"", ""},
      {"YQ==", "a"},
      {"YWI=", "ab"},
      {"YWJj", "abc"},
      {"YWJj\\r\\nZA==", "abcd"},  // line breaks are skipped
      {"YQ", nullptr},
      {"YQ=", nullptr},
      {"YQ===", nullptr},
      {"Y===", nullptr},
      {"YQ==YQ==", nullptr},
      {"YW-j", nullptr},
      {"YWJj ", nullptr},
  };
  for (const B64Case& c : cases) {
    const std::string text =
        yaml("\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: \"") + c.text +
        "\"\n";
    const LoadResult r = load_text(text, "in.yaml");
    if (c.decoded == nullptr) {
      EXPECT_NE(find(r.errors, "illegal base64 data"), nullptr) << c.text << dump(r);
    } else {
      ASSERT_TRUE(r.ok()) << c.text << dump(r);
      EXPECT_EQ(r.objects.secrets[0].data.at("k"), c.decoded) << c.text;
    }
  }
}

TEST(BgpSecret, KeysTypesAndBasicAuthAreChecked) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: ns}
type: kubernetes.io/basic-auth
stringData:
  "bad key": x
  other: 42
)"),
                                 "in.yaml");
  expect_error(r, 6, "Secret/ns/s",
               "stringData[bad key]: Invalid value: \"bad key\": a valid config key must consist "
               "of alphanumeric characters, '-', '_' or '.'");
  expect_error(r, 7, "Secret/ns/s",
               "stringData[other]: Invalid value: (value not shown): must be of type string");
  expect_error(r, 1, "Secret/ns/s", "data[username]: Required value");
  expect_error(r, 1, "Secret/ns/s", "data[password]: Required value");
  EXPECT_EQ(dump(r).find("42"), std::string::npos) << dump(r);
}

// ================================ BGPAdvertisement ================================

constexpr const char* kAdRef = "BGPAdvertisement/metallb-system/ad";

std::string pool(const char* name, const char* addresses, const char* labels = "{}") {
  return std::string("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: ") +
         name + "\n  namespace: metallb-system\n  labels: " + labels +
         "\nspec:\n  addresses: " + addresses + "\n---\n";
}

// An advertisement named `name` whose spec lines are `spec`; its `spec:` is its line 6.
std::string ad(const char* spec, const char* name = "ad") {
  return std::string(
             "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: ") +
         name + "\n  namespace: metallb-system\nspec:\n" + spec;
}

TEST(BgpAdvertisement, EmptySpecGetsTheDefaults) {
  const LoadResult r = load_text(ad("  {}\n"), "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  const BGPAdvertisement& a = r.objects.bgp_advertisements[0];
  EXPECT_EQ(a.aggregation_length, 32);
  EXPECT_EQ(a.aggregation_length_v6, 128);
  EXPECT_FALSE(a.local_pref);
  EXPECT_TRUE(a.communities.empty());
  EXPECT_TRUE(a.peers.empty());
}

TEST(BgpAdvertisement, FieldsAreRead) {
  const LoadResult r = load_text(ad(R"(  aggregationLength: 30
  aggregationLengthV6: 124
  localPref: 0
  communities: ["64512:1"]
  ipAddressPools: [a]
  ipAddressPoolSelectors: [{matchLabels: {x: z}}]
  nodeSelectors: [{matchLabels: {rack: a}}]
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const BGPAdvertisement& a = r.objects.bgp_advertisements[0];
  EXPECT_EQ(a.aggregation_length, 30);
  EXPECT_EQ(a.aggregation_length_v6, 124);
  ASSERT_TRUE(a.local_pref);  // written 0 is set, unlike absent
  EXPECT_EQ(*a.local_pref, 0u);
  EXPECT_EQ(a.communities, std::vector<std::string>{"64512:1"});
  EXPECT_EQ(a.ip_address_pools, std::vector<std::string>{"a"});
  EXPECT_EQ(a.ip_address_pool_selectors.size(), 1u);
  EXPECT_EQ(a.node_selectors.size(), 1u);
}

TEST(BgpAdvertisement, InvalidFieldsAreReportedAtTheirLine) {
  const std::vector<PeerCase> cases = {
      {"aggregationLength 0", "  aggregationLength: 0\n", 7,
       "spec.aggregationLength: Invalid value: 0: must be between 1 and 32, inclusive"},
      {"aggregationLength 33", "  aggregationLength: 33\n", 7,
       "spec.aggregationLength: Invalid value: 33: must be between 1 and 32, inclusive"},
      {"aggregationLengthV6 129", "  aggregationLengthV6: 129\n", 7,
       "spec.aggregationLengthV6: Invalid value: 129: must be between 1 and 128, inclusive"},
      {"localPref negative", "  localPref: -1\n", 7,
       "spec.localPref: Invalid value: -1: must be greater than or equal to 0"},
      {"duplicate community", "  communities: [\"1:1\", \"1:1\"]\n", 7,
       "spec.communities[1]: Duplicate value: \"1:1\" (also spec.communities[0])"},
      {"duplicate peer", "  peers: [x, x]\n", 7,
       "spec.peers[1]: Duplicate value: \"x\" (also spec.peers[0])"},
      {"duplicate pool", "  ipAddressPools: [x, x]\n", 7,
       "spec.ipAddressPools[1]: Duplicate value: \"x\""},
      {"serviceSelectors with aggregationLength",
       "  aggregationLength: 24\n  serviceSelectors: [{matchLabels: {a: b}}]\n", 7,
       "spec.aggregationLength: Forbidden: serviceSelectors and aggregationLength are mutually "
       "exclusive, both cannot be set"},
      {"serviceSelectors with aggregationLengthV6",
       "  serviceSelectors: [{matchLabels: {a: b}}]\n  aggregationLengthV6: 64\n", 8,
       "spec.aggregationLengthV6: Forbidden: serviceSelectors and aggregationLengthV6 are "
       "mutually exclusive"},
      {"community value out of range", "  communities:\n    - \"1:1\"\n    - \"64512:70000\"\n", 9,
       "spec.communities[1]: invalid community value: invalid section \"70000\" of community "
       "\"64512:70000\": must be a decimal number from 0 to 65535"},
      {"large community without its marker", "  communities: [\"big:1:2:3\"]\n", 7,
       "spec.communities[0]: invalid community value: invalid marker for large community, "
       "expected community to be of format large:<uint32>:<uint32>:<uint32> but got "
       "\"big:1:2:3\" instead"},
      {"large community out of range", "  communities: [\"large:1:2:4294967296\"]\n", 7,
       "invalid section \"4294967296\" of community \"large:1:2:4294967296\": must be a decimal "
       "number from 0 to 4294967295"},
  };
  for (const PeerCase& c : cases) {
    const LoadResult r = load_text(ad(c.spec), "in.yaml");
    expect_error(r, c.line, kAdRef, c.message, c.name);
  }
}

TEST(BgpAdvertisement, ServiceSelectorsWithDefaultAggregationAreAccepted) {
  const LoadResult r = load_text(ad(R"(  aggregationLength: 32
  aggregationLengthV6: 128
  serviceSelectors: [{matchLabels: {a: b}}]
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
}

TEST(BgpAdvertisement, CommunityAliasesResolveOrWarn) {
  const std::string community = yaml(R"(
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec:
  communities:
    - {name: no-export, value: "65535:65281"}
---
)");
  LoadResult r =
      load_text(community + ad("  communities: [no-export, \"large:1:2:3\"]\n"), "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);

  r = load_text(community + ad("  communities:\n    - no-export\n    - blackhole\n"), "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 1u) << dump(r);
  EXPECT_EQ(r.warnings[0].str(),
            "in.yaml:16: BGPAdvertisement/metallb-system/ad: spec.communities[1]: no Community "
            "defines the alias \"blackhole\" (MetalLB treats this as transient: it may be created "
            "later)");
}

TEST(BgpAdvertisement, AnAliasNameWinsOverTheValueSyntax) {
  // MetalLB looks the alias table up first: a Community may name an alias "x:1:2:3".
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec:
  communities:
    - {name: "x:1:2:3", value: "1:2"}
---
)") + ad("  communities: [\"x:1:2:3\"]\n"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
}

TEST(BgpAdvertisement, UnknownPeerNamesAreAWarning) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: metallb-system}
spec: {myASN: 1, peerASN: 2, peerAddress: 198.51.100.1}
---
)") + ad("  peers:\n    - tor\n    - tor-typo\n"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.warnings.size(), 1u) << dump(r);
  expect_warning(r, 14, kAdRef,
                 "spec.peers[1]: no BGPPeer named \"tor-typo\"; nothing is sent to it until one "
                 "exists");
}

TEST(BgpAdvertisement, AggregationMustNotBeShorterThanAPoolsWidestPrefix) {
  struct AggCase {
    const char* name;
    std::string pools;
    const char* spec;
    const char* message;  // nullptr: accepted
  };
  const std::string v4 = pool("v4", "[192.0.2.0/24]");
  // 203.0.113.10-203.0.113.49 summarises to .10/31 .12/30 .16/28 .32/28 .48/31: widest /28.
  const std::string range = pool("range", "[203.0.113.10-203.0.113.49]");
  const std::string v6 = pool("v6", "[\"2001:db8:200::/120\"]", "{family: six}");
  const std::vector<AggCase> cases = {
      {"host routes", v4, "  {}\n", nullptr},
      {"same length as the CIDR", v4, "  aggregationLength: 24\n", nullptr},
      {"shorter than the CIDR", v4, "  aggregationLength: 16\n",
       "spec.aggregationLength: Invalid value: 16: prefix /24 of 192.0.2.0/24 in pool \"v4\" "
       "(in.yaml:8) is more specific than the aggregation length: the /16 route would cover "
       "addresses outside the pool"},
      {"range: its widest block", range, "  aggregationLength: 28\n", nullptr},
      {"range: shorter than its widest block", range, "  aggregationLength: 27\n",
       "spec.aggregationLength: Invalid value: 27: prefix /28 of 203.0.113.10-203.0.113.49 in "
       "pool \"range\""},
      {"IPv6", v6, "  aggregationLengthV6: 64\n",
       "spec.aggregationLengthV6: Invalid value: 64: prefix /120 of 2001:db8:200::/120 in pool "
       "\"v6\""},
      {"IPv4 length does not apply to IPv6", v6, "  aggregationLength: 8\n", nullptr},
      {"a pool not selected by name", v4 + range,
       "  ipAddressPools: [range]\n  aggregationLength: 28\n", nullptr},
      {"a pool selected by name", v4 + range, "  ipAddressPools: [v4]\n  aggregationLength: 23\n",
       "prefix /24 of 192.0.2.0/24 in pool \"v4\""},
      {"a pool selected by labels", v4 + v6,
       "  ipAddressPoolSelectors: [{matchLabels: {family: six}}]\n  aggregationLength: 8\n"
       "  aggregationLengthV6: 96\n",
       "prefix /120 of 2001:db8:200::/120 in pool \"v6\""},
      {"a pool not selected by labels", v4 + v6,
       "  ipAddressPoolSelectors: [{matchLabels: {family: six}}]\n  aggregationLength: 8\n",
       nullptr},
  };
  for (const AggCase& c : cases) {
    const LoadResult r = load_text(c.pools + ad(c.spec), "in.yaml");
    if (c.message == nullptr) {
      EXPECT_TRUE(r.ok()) << c.name << "\n" << dump(r);
      continue;
    }
    const Diagnostic* e = find(r.errors, c.message);
    ASSERT_NE(e, nullptr) << c.name << "\n" << dump(r);
    EXPECT_EQ(e->object, kAdRef) << c.name;
    // The line of the aggregation length written in the advertisement.
    const std::string text = c.pools + ad(c.spec);
    const std::string key = std::string(e->message).substr(0, e->message.find(':')) + ":";
    const std::string field = key.substr(key.find('.') + 1);
    const size_t at = text.find(field);
    ASSERT_NE(at, std::string::npos) << c.name;
    EXPECT_EQ(e->line, 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'))
        << c.name << "\n"
        << dump(r);
  }
}

TEST(BgpAdvertisement, DifferentLocalPrefForTheSameRoutesIsAnError) {
  struct PrefCase {
    const char* name;
    const char* first;
    const char* second;
    bool refused;
  };
  const std::vector<PrefCase> cases = {
      {"same localPref", "  localPref: 100\n", "  localPref: 100\n  peers: [left]\n", false},
      {"different localPref", "  localPref: 100\n", "  localPref: 200\n", true},
      {"unset against set", "  communities: [\"1:1\"]\n", "  localPref: 200\n", true},
      {"disjoint peers", "  localPref: 100\n  peers: [left]\n",
       "  localPref: 200\n  peers: [right]\n", false},
      {"shared peer", "  localPref: 100\n  peers: [left, right]\n",
       "  localPref: 200\n  peers: [right]\n", true},
      {"disjoint nodes", "  localPref: 100\n  nodeSelectors: [{matchLabels: {rack: a}}]\n",
       "  localPref: 200\n  nodeSelectors: [{matchLabels: {rack: b}}]\n", false},
      {"another IPv4 aggregation on an IPv4 pool", "  localPref: 100\n",
       "  localPref: 200\n  aggregationLength: 28\n", false},
      {"another IPv6 aggregation on an IPv4 pool", "  localPref: 100\n",
       "  localPref: 200\n  aggregationLengthV6: 64\n", true},
      {"serviceSelectors: checked at run time", "  localPref: 100\n",
       "  localPref: 200\n  serviceSelectors: [{matchLabels: {a: b}}]\n", false},
      {"other pools", "  localPref: 100\n  ipAddressPools: [p]\n",
       "  localPref: 200\n  ipAddressPools: [q]\n", false},
  };
  for (const PrefCase& c : cases) {
    const std::string text = pool("p", "[203.0.113.0/28]") + pool("q", "[203.0.113.16/28]") +
                             ad(c.first, "first") + "---\n" + ad(c.second, "second");
    const LoadResult r = load_text(text, "in.yaml");
    const Diagnostic* e = find(r.errors, "invalid local preference");
    EXPECT_EQ(e != nullptr, c.refused) << c.name << "\n" << dump(r);
    if (e != nullptr && std::string(c.name) == "different localPref") {
      EXPECT_EQ(e->str(),
                "in.yaml:33: BGPAdvertisement/metallb-system/second: spec.localPref: invalid "
                "local preference 200: local preference 100 was already set by "
                "BGPAdvertisement/metallb-system/first (in.yaml:19) for the same routes: both "
                "select pool \"p\" with the same aggregation length, and their peers and "
                "nodeSelectors may overlap");
    }
  }
}

TEST(BgpAdvertisement, IdenticalAdvertisementsAreADuplicateDefinition) {
  const LoadResult r =
      load_text(ad("  communities: [\"1:1\", \"2:2\"]\n  localPref: 5\n", "a") + "---\n" +
                    ad("  localPref: 5\n  communities: [\"2:2\", \"1:1\"]\n", "b"),
                "in.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "in.yaml:15: BGPAdvertisement/metallb-system/b: spec: duplicate definition: the same "
            "spec as BGPAdvertisement/metallb-system/a (in.yaml:1)");
  // One field apart: two advertisements.
  const LoadResult other = load_text(
      ad("  localPref: 5\n", "a") + "---\n" + ad("  localPref: 5\n  peers: [x]\n", "b"), "in.yaml");
  EXPECT_EQ(find(other.errors, "duplicate definition"), nullptr) << dump(other);
}

// ================================ Community ================================

TEST(BgpCommunityObject, AliasesAreParsed) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec:
  communities:
    - {name: a, value: "64512:7"}
    - {name: b, value: "large:1:2:3"}
)"),
                                 "in.yaml");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Community& c = r.objects.communities[0];
  ASSERT_EQ(c.communities.size(), 2u);
  EXPECT_EQ(c.communities[0].name, "a");
  EXPECT_EQ(c.communities[0].value.value, (64512u << 16) | 7u);
  EXPECT_TRUE(c.communities[1].value.large);
  EXPECT_EQ(c.communities[1].value.large_parts[2], 3u);
}

TEST(BgpCommunityObject, InvalidEntriesAreReported) {
  const char* header = R"(
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c, namespace: metallb-system}
spec:
  communities:
)";
  const std::vector<PeerCase> cases = {
      {"bad value", "    - name: a\n      value: \"1:x\"\n", 7,
       "spec.communities[0].value: invalid community value: invalid section \"x\" of community "
       "\"1:x\""},
      {"not community-shaped", "    - {name: a, value: no-export}\n", 6,
       "spec.communities[0].value: invalid community format: \"no-export\""},
      {"empty name", "    - {name: \"\", value: \"1:1\"}\n", 6,
       "spec.communities[0].name: Required value"},
      {"no value", "    - {name: a}\n", 6, "spec.communities[0].value: Required value"},
      {"duplicate name", "    - {name: a, value: \"1:1\"}\n    - {name: a, value: \"1:2\"}\n", 7,
       "spec.communities[1].name: duplicate definition of community \"a\" (already defined by "
       "Community/metallb-system/c at in.yaml:6)"},
  };
  for (const PeerCase& c : cases) {
    const LoadResult r = load_text(yaml(header) + c.spec, "in.yaml");
    expect_error(r, c.line, "Community/metallb-system/c", c.message, c.name);
  }
}

TEST(BgpCommunityObject, NamesAreUniqueAcrossObjects) {
  const LoadResult r = load_text(yaml(R"(
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: one, namespace: metallb-system}
spec:
  communities: [{name: a, value: "1:1"}]
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: two, namespace: metallb-system}
spec:
  communities:
    - {name: b, value: "1:2"}
    - {name: a, value: "1:3"}
)"),
                                 "in.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].str(),
            "in.yaml:13: Community/metallb-system/two: spec.communities[1].name: duplicate "
            "definition of community \"a\" (already defined by Community/metallb-system/one at "
            "in.yaml:5)");
}

// ================================ together ================================

TEST(Bgp, EveryKindLoadsFromAFile) {
  const LoadResult r = load({testdata("bgp/valid.yaml")});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.bgp_peers.size(), 2u);
  const BGPPeer& a = r.objects.bgp_peers[0];
  EXPECT_EQ(a.my_asn, 4200000001u);
  EXPECT_EQ(a.source_address->str(), "198.51.100.10");
  EXPECT_EQ(a.peer_port, 1179);
  EXPECT_EQ(a.hold_time_ms, 9000u);
  EXPECT_EQ(a.keepalive_time_ms, 3000u);
  EXPECT_EQ(a.connect_time_ms, 5000u);
  EXPECT_TRUE(a.enable_graceful_restart);
  EXPECT_TRUE(a.ebgp_multi_hop);
  ASSERT_EQ(a.node_selectors.size(), 1u);
  EXPECT_EQ(a.node_selectors[0].match_labels.at("rack"), "a");
  EXPECT_EQ(a.password_secret->namespace_, "metallb-system");
  const BGPPeer& b = r.objects.bgp_peers[1];
  EXPECT_EQ(b.hold_time_ms, 60000u);
  EXPECT_EQ(b.keepalive_time_ms, 20000u);
  EXPECT_EQ(b.password, "s3cret-md5");
  ASSERT_EQ(r.objects.secrets.size(), 1u);
  EXPECT_EQ(r.objects.secrets[0].data.at("password"), "md5-key");
  ASSERT_EQ(r.objects.communities.size(), 1u);
  ASSERT_EQ(r.objects.bgp_advertisements.size(), 1u);
  const BGPAdvertisement& ad = r.objects.bgp_advertisements[0];
  EXPECT_EQ(ad.aggregation_length, 24);
  EXPECT_EQ(ad.aggregation_length_v6, 120);
  EXPECT_EQ(ad.local_pref, 150u);
  EXPECT_EQ(ad.communities.size(), 4u);
  EXPECT_EQ(ad.peers, std::vector<std::string>{"tor-b"});
}

TEST(Bgp, DuplicateObjectsAreRefused) {
  const LoadResult r = load_text(ad("  {}\n") + "---\n" + ad("  localPref: 1\n"), "in.yaml");
  expect_error(r, 9, kAdRef, "duplicate object: already defined at in.yaml:1");
}

TEST(Bgp, TheExampleLoadsWithTheDemo) {
  const std::string root = PORTICO_SOURCE_ROOT;
  const LoadResult r =
      load({root + "/config/examples/demo.yaml", root + "/config/examples/bgp.yaml"});
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_TRUE(r.warnings.empty()) << dump(r);
  ASSERT_EQ(r.objects.bgp_peers.size(), 2u);
  EXPECT_EQ(r.objects.bgp_peers[0].peer_address.str(), "198.51.100.1");
  EXPECT_EQ(r.objects.bgp_peers[0].peer_asn, 64500u);
  EXPECT_EQ(r.objects.bgp_peers[0].my_asn, 64512u);
  EXPECT_EQ(r.objects.bgp_peers[1].peer_address.str(), "2001:db8:100::1");
  ASSERT_EQ(r.objects.bgp_advertisements.size(), 1u);
  EXPECT_EQ(r.objects.bgp_advertisements[0].communities.size(), 3u);
  ASSERT_EQ(r.objects.communities.size(), 1u);
}

}  // namespace
}  // namespace config
