// control/k8s/kubeconfig: kubeconfig loading (a table of files -> ClusterConfig or error),
// in-cluster config from a temporary service-account directory, and TokenSource with a fake
// clock (token files) and real exec plugins (small shell scripts written by the test).
#include "control/k8s/kubeconfig.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace control::k8s {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// Every secret the tables use: no error message may contain one.
const char* const kToken = "s3cr3t-token";
const char* const kPassword = "s3cr3t-pass";
const char* const kOidcSecret = "s3cr3t-oidc";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64(const std::string& in) {
  static const char* d = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out += d[(acc >> (bits -= 6)) & 63];
  }
  if (bits > 0) out += d[(acc << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

void replace_all(std::string* s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s->find(from, at)) != std::string::npos; at += to.size()) {
    s->replace(at, from.size(), to);
  }
}

// A scratch directory holding copies of the PEM fixtures; removed at the end.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/portico-kubeconfig-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    for (const char* f : {"ca.crt", "client.crt", "client.key", "other.key"}) {
      fs::copy_file(std::string(KUBECONFIG_TESTDATA) + "/" + f, dir_ + "/" + f);
    }
  }
  ~Scratch() { fs::remove_all(dir_); }
  const std::string& dir() const { return dir_; }
  std::string pem(const char* f) const { return slurp(dir_ + "/" + f); }

  // Writes `text` (after placeholders) to dir/rel and returns the full path.
  std::string write(const std::string& rel, std::string text, bool executable = false) const {
    replace_all(&text, "{DIR}", dir_);
    replace_all(&text, "{CA_B64}", b64(pem("ca.crt")));
    replace_all(&text, "{CERT_B64}", b64(pem("client.crt")));
    replace_all(&text, "{KEY_B64}", b64(pem("client.key")));
    replace_all(&text, "{OTHER_KEY_B64}", b64(pem("other.key")));
    replace_all(&text, "{TOKEN}", kToken);
    const std::string path = dir_ + "/" + rel;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
    if (executable) ::chmod(path.c_str(), 0755);
    return path;
  }

 private:
  std::string dir_;
};

// A kubeconfig with one cluster "c", one user "u" (body given) and one context "ctx" -> c/u.
std::string one(const std::string& cluster_body, const std::string& user_body,
                const std::string& extra_context = "") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: ctx\n"
         "clusters:\n- name: c\n  cluster:\n" +
         cluster_body + "users:\n- name: u\n  user:\n" + user_body +
         "contexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\n" + extra_context;
}
const std::string kServer = "    server: https://api.example:6443\n";
const std::string kTokenUser = "    token: {TOKEN}\n";

struct LoadCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> files;  // relative path, text
  std::string paths;    // ':'-separated, relative to the scratch dir ("{DIR}/" is prepended)
  std::string context;  // "" = current-context
  // Success: checks on the result. Failure: substrings the error must contain.
  std::function<void(const ClusterConfig&, const Scratch&)> check;
  std::vector<std::string> error_has;
};

std::vector<LoadCase> load_cases() {
  return {
      {"minimal",
       {{"config", one(kServer, kTokenUser)}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch& s) {
         EXPECT_EQ(c.server, "https://api.example:6443");
         EXPECT_EQ(c.token, kToken);
         EXPECT_EQ(c.ca_pem, "");
         EXPECT_EQ(c.namespace_, "");
         EXPECT_FALSE(c.exec);
         EXPECT_EQ(c.origin, "kubeconfig " + s.dir() + "/config, context ctx");
       },
       {}},
      {"inline certificate data",
       {{"config", one(kServer + "    certificate-authority-data: {CA_B64}\n"
                                 "    tls-server-name: kube.internal\n",
                       "    client-certificate-data: {CERT_B64}\n"
                       "    client-key-data: {KEY_B64}\n",
                       "    namespace: edge\n")}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch& s) {
         EXPECT_EQ(c.ca_pem, s.pem("ca.crt"));
         EXPECT_EQ(c.client_cert_pem, s.pem("client.crt"));
         EXPECT_EQ(c.client_key_pem, s.pem("client.key"));
         EXPECT_EQ(c.tls_server_name, "kube.internal");
         EXPECT_EQ(c.namespace_, "edge");
         EXPECT_EQ(c.token, "");
       },
       {}},
      {"certificate files relative to the kubeconfig's directory",
       {{"sub/dir/config", one(kServer + "    certificate-authority: ../../ca.crt\n",
                               "    client-certificate: ../../client.crt\n"
                               "    client-key: {DIR}/client.key\n")}},
       "sub/dir/config",
       "",
       [](const ClusterConfig& c, const Scratch& s) {
         EXPECT_EQ(c.ca_pem, s.pem("ca.crt"));
         EXPECT_EQ(c.client_cert_pem, s.pem("client.crt"));
         EXPECT_EQ(c.client_key_pem, s.pem("client.key"));
       },
       {}},
      {"server: trailing slash dropped, scheme-less gets https",
       {{"config", one("    server: api.example:6443//\n", kTokenUser)}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch&) {
         EXPECT_EQ(c.server, "https://api.example:6443");
       },
       {}},
      {"merged list: first file wins per entry, paths resolve per file",
       {{"a/config",
         "current-context: ctx\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://first:6443\n"
         "contexts:\n- name: ctx\n  context: {cluster: c, user: u, namespace: from-a}\n"},
        {"b/config",
         "current-context: other\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://second:6443\n"
         "users:\n- name: u\n  user:\n    tokenFile: token\n"
         "contexts:\n- name: ctx\n  context: {cluster: c, user: u, namespace: from-b}\n"
         "- name: other\n  context: {cluster: c, user: u}\n"},
        {"b/token", "file-token\n"}},
       "a/config:{DIR}/b/config",
       "",
       [](const ClusterConfig& c, const Scratch& s) {
         EXPECT_EQ(c.server, "https://first:6443");
         EXPECT_EQ(c.namespace_, "from-a");
         EXPECT_EQ(c.token_file, s.dir() + "/b/token");
         EXPECT_EQ(c.origin, "kubeconfig " + s.dir() + "/a/config, context ctx");
       },
       {}},
      {"merged list: a missing file is skipped",
       {{"config", one(kServer, kTokenUser)}},
       "nope:{DIR}/config",
       "",
       [](const ClusterConfig& c, const Scratch&) { EXPECT_EQ(c.token, kToken); },
       {}},
      {"chosen context beats current-context",
       {{"config",
         "current-context: ctx\n"
         "clusters:\n- name: c\n  cluster: {server: https://api.example:6443}\n"
         "- name: c2\n  cluster: {server: https://other:443}\n"
         "users:\n- name: u\n  user: {token: t}\n"
         "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"
         "- name: other\n  context: {cluster: c2, user: u}\n"}},
       "config",
       "other",
       [](const ClusterConfig& c, const Scratch& s) {
         EXPECT_EQ(c.server, "https://other:443");
         EXPECT_EQ(c.origin, "kubeconfig " + s.dir() + "/config, context other");
       },
       {}},
      {"exec plugin config",
       {{"config", one(kServer,
                       "    exec:\n"
                       "      apiVersion: client.authentication.k8s.io/v1beta1\n"
                       "      command: ./bin/plugin\n"
                       "      args: [get-token, --cluster, edge]\n"
                       "      env:\n      - name: REGION\n        value: eu\n"
                       "      provideClusterInfo: true\n")}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch& s) {
         ASSERT_TRUE(c.exec);
         EXPECT_EQ(c.exec->command, "./bin/plugin");
         EXPECT_EQ(c.exec->dir, s.dir());
         EXPECT_EQ(c.exec->args, (std::vector<std::string>{"get-token", "--cluster", "edge"}));
         ASSERT_EQ(c.exec->env.size(), 1u);
         EXPECT_EQ(c.exec->env[0].first, "REGION");
         EXPECT_TRUE(c.exec->provide_cluster_info);
         EXPECT_EQ(c.exec->interactive_mode, "IfAvailable");  // v1beta1 default
         EXPECT_EQ(c.exec->user, "u");
       },
       {}},
      {"user without credentials (anonymous) and insecure TLS",
       {{"config",
         "current-context: ctx\n"
         "clusters:\n- name: c\n  cluster:\n    server: https://a:1\n"
         "    insecure-skip-tls-verify: true\n"
         "users:\n- name: u\n"
         "contexts:\n- name: ctx\n  context: {cluster: c, user: u}\n"}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch&) {
         EXPECT_TRUE(c.insecure_skip_tls_verify);
         EXPECT_EQ(c.token, "");
         EXPECT_EQ(c.client_cert_pem, "");
       },
       {}},
      {"basic auth",
       {{"config", one(kServer, "    username: admin\n    password: s3cr3t-pass\n")}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch&) {
         EXPECT_EQ(c.username, "admin");
         EXPECT_EQ(c.password, kPassword);
       },
       {}},
      {"a broken entry nobody uses is not an error",
       {{"config", one(kServer, kTokenUser) +
                       "- name: broken\n  context:\n    cluster: nowhere\n    user: nobody\n"}},
       "config",
       "",
       [](const ClusterConfig& c, const Scratch&) { EXPECT_EQ(c.token, kToken); },
       {}},

      // ---- errors ----
      {"context names a missing cluster",
       {{"config",
         one(kServer, kTokenUser, "- name: bad\n  context:\n    cluster: gone\n    user: u\n")}},
       "config",
       "bad",
       nullptr,
       {"/config", "context bad", "cluster \"gone\" is not defined"}},
      {"context names a missing user",
       {{"config",
         one(kServer, kTokenUser, "- name: bad\n  context:\n    cluster: c\n    user: gone\n")}},
       "config",
       "bad",
       nullptr,
       {"context bad", "user \"gone\" is not defined"}},
      {"chosen context not defined",
       {{"config", one(kServer, kTokenUser)}},
       "config",
       "nope",
       nullptr,
       {"/config", "context \"nope\"", "not defined", "contexts: ctx"}},
      {"no context at all",
       {{"config", "clusters:\n- name: c\n  cluster: {server: https://a:1}\n"}},
       "config",
       "",
       nullptr,
       {"no context chosen and no current-context"}},
      {"missing file", {}, "nope", "", nullptr, {"/nope", "No such file"}},
      {"every file of a list missing", {}, "a:{DIR}/b", "", nullptr, {"none of these files"}},
      {"bad base64",
       {{"config", one(kServer + "    certificate-authority-data: QUJD*EVG\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"/config", "context ctx", "cluster \"c\"", "certificate-authority-data", "base64",
        "byte 4"}},
      {"certificate authority data that is not PEM",
       {{"config",
         one(kServer + "    certificate-authority-data: " + b64("hello") + "\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"no PEM certificate"}},
      {"client certificate without key",
       {{"config", one(kServer, "    client-certificate-data: {CERT_B64}\n")}},
       "config",
       "",
       nullptr,
       {"context ctx", "user \"u\"", "certificate without a client key"}},
      {"client key without certificate",
       {{"config", one(kServer, "    client-key: client.key\n")}},
       "config",
       "",
       nullptr,
       {"user \"u\"", "key without a client certificate"}},
      {"client key of another certificate",
       {{"config", one(kServer,
                       "    client-certificate-data: {CERT_B64}\n"
                       "    client-key-data: {OTHER_KEY_B64}\n")}},
       "config",
       "",
       nullptr,
       {"does not belong to the client certificate"}},
      {"token and tokenFile both set",
       {{"config", one(kServer, kTokenUser + "    tokenFile: token\n")}, {"token", "x\n"}},
       "config",
       "",
       nullptr,
       {"context ctx", "both token and tokenFile"}},
      {"token and basic auth",
       {{"config", one(kServer, kTokenUser + "    username: a\n    password: s3cr3t-pass\n")}},
       "config",
       "",
       nullptr,
       {"more than one way", "token, username/password"}},
      {"certificate-authority and -data both set",
       {{"config", one(kServer + "    certificate-authority: ca.crt\n"
                                 "    certificate-authority-data: {CA_B64}\n",
                       kTokenUser)}},
       "config",
       "",
       nullptr,
       {"both certificate-authority and certificate-authority-data"}},
      {"missing certificate-authority file",
       {{"config", one(kServer + "    certificate-authority: nope.crt\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"/nope.crt", "No such file", "context ctx"}},
      {"missing tokenFile",
       {{"config", one(kServer, "    tokenFile: nope\n")}},
       "config",
       "",
       nullptr,
       {"tokenFile", "/nope"}},
      {"auth-provider gcp refused",
       {{"config", one(kServer,
                       "    auth-provider:\n      name: gcp\n"
                       "      config: {access-token: s3cr3t-token}\n")}},
       "config",
       "",
       nullptr,
       {"auth-provider \"gcp\"", "gke-gcloud-auth-plugin"}},
      {"auth-provider oidc refused",
       {{"config", one(kServer,
                       "    auth-provider:\n      name: oidc\n"
                       "      config: {client-secret: s3cr3t-oidc}\n")}},
       "config",
       "",
       nullptr,
       {"auth-provider \"oidc\"", "exec plugin"}},
      {"exec v1 without interactiveMode",
       {{"config", one(kServer,
                       "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                       "      command: plugin\n")}},
       "config",
       "",
       nullptr,
       {"interactiveMode is required"}},
      {"exec interactiveMode Always",
       {{"config", one(kServer,
                       "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                       "      command: plugin\n      interactiveMode: Always\n")}},
       "config",
       "",
       nullptr,
       {"Always needs a terminal"}},
      {"exec v1alpha1",
       {{"config", one(kServer,
                       "    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n"
                       "      command: plugin\n")}},
       "config",
       "",
       nullptr,
       {"v1alpha1 is no longer supported"}},
      {"exec with a token too",
       {{"config", one(kServer, kTokenUser + "    exec:\n      apiVersion: "
                                             "client.authentication.k8s.io/v1beta1\n"
                                             "      command: plugin\n")}},
       "config",
       "",
       nullptr,
       {"more than one way", "token, exec"}},
      {"not YAML",
       {{"config", "clusters: [\n  - {name: c\n"}},
       "config",
       "",
       nullptr,
       {"/config:", "not YAML"}},
      {"clusters not a list",
       {{"config", "clusters: {name: c}\n"}},
       "config",
       "",
       nullptr,
       {"/config:1", "clusters must be a list"}},
      {"a scalar document",
       {{"config", "just words\n"}},
       "config",
       "",
       nullptr,
       {"not a Config map"}},
      {"kind is not Config",
       {{"config", "kind: Pod\n"}},
       "config",
       "",
       nullptr,
       {"kind is \"Pod\""}},
      {"cluster without server",
       {{"config", one("    tls-server-name: x\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"cluster \"c\"", "no server"}},
      {"server field of the wrong type",
       {{"config", one("    server: [a, b]\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"server (line 7) must be a string"}},
      {"impersonation refused",
       {{"config", one(kServer, kTokenUser + "    as: someone\n")}},
       "config",
       "",
       nullptr,
       {"impersonation (as)"}},
      {"proxy-url refused",
       {{"config", one(kServer + "    proxy-url: http://proxy:3128\n", kTokenUser)}},
       "config",
       "",
       nullptr,
       {"proxy-url is not supported"}},
      {"namespace not a DNS label",
       {{"config", one(kServer, kTokenUser, "    namespace: Not_Valid\n")}},
       "config",
       "",
       nullptr,
       {"namespace \"Not_Valid\""}},
  };
}

TEST(Kubeconfig, Table) {
  const auto cases = load_cases();
  ASSERT_GE(cases.size(), 20u);
  for (const LoadCase& tc : cases) {
    SCOPED_TRACE(tc.name);
    Scratch s;
    for (const auto& [rel, text] : tc.files) s.write(rel, text);
    std::string paths = "{DIR}/" + tc.paths;
    replace_all(&paths, "{DIR}", s.dir());
    ClusterConfig c;
    std::string error;
    const bool ok = load_kubeconfig(paths, tc.context, &c, &error);
    if (tc.check) {
      ASSERT_TRUE(ok) << error;
      tc.check(c, s);
      continue;
    }
    ASSERT_FALSE(ok);
    for (const auto& want : tc.error_has)
      EXPECT_NE(error.find(want), std::string::npos) << "error: " << error << "\nwant: " << want;
    for (const char* secret : {kToken, kPassword, kOidcSecret, "PRIVATE KEY"}) {
      EXPECT_EQ(error.find(secret), std::string::npos) << "error leaks a secret: " << error;
    }
  }
}

// Bad input never crashes: every prefix of a full kubeconfig, and each byte of it replaced by
// characters YAML cares about, either loads or gives an error naming the file.
TEST(Kubeconfig, DamagedFilesGiveErrorsNotCrashes) {
  Scratch s;
  const std::string full =
      s.write("full", one(kServer + "    certificate-authority-data: {CA_B64}\n",
                          "    client-certificate: client.crt\n    client-key: client.key\n"
                          "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                          "      command: p\n      args: [a]\n      env: [{name: A, value: b}]\n"
                          "      interactiveMode: Never\n",
                          "    namespace: edge\n"));
  const std::string text = slurp(full);
  int ok = 0, failed = 0;
  auto try_text = [&](const std::string& t) {
    std::ofstream(s.dir() + "/damaged") << t;
    ClusterConfig c;
    std::string error;
    if (load_kubeconfig(s.dir() + "/damaged", "", &c, &error)) {
      ++ok;
    } else {
      ++failed;
      EXPECT_NE(error.find(s.dir()), std::string::npos) << error;
    }
  };
  for (size_t n = 0; n <= text.size(); n += 3) try_text(text.substr(0, n));
  for (size_t i = 0; i < text.size(); i += 11) {
    for (char c : {':', '-', '[', '{', '&', '*', '\t', '"'}) {
      std::string t = text;
      t[i] = c;
      try_text(t);
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

// ---- in-cluster ----

struct ServiceAccountDir {
  Scratch s;
  ServiceAccountDir() {
    s.write("sa/ca.crt", s.pem("ca.crt"));
    s.write("sa/token", "sa-token-1\n");
    s.write("sa/namespace", "portico-system");
  }
  InClusterEnv env(const std::string& host, const std::string& port) const {
    InClusterEnv e;
    e.host = host;
    e.port = port;
    e.dir = s.dir() + "/sa";
    return e;
  }
};

TEST(InCluster, Ipv4) {
  ServiceAccountDir sa;
  ClusterConfig c;
  std::string error;
  ASSERT_TRUE(in_cluster_config(sa.env("10.96.0.1", "443"), &c, &error)) << error;
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.ca_pem, sa.s.pem("ca.crt"));
  EXPECT_EQ(c.token_file, sa.s.dir() + "/sa/token");
  EXPECT_EQ(c.token, "");  // read through TokenSource, which re-reads it
  EXPECT_EQ(c.namespace_, "portico-system");
  EXPECT_EQ(c.origin, "in-cluster");
  TokenSource ts(c);
  EXPECT_EQ(ts.token(&error), "sa-token-1");
}

TEST(InCluster, Ipv6HostIsBracketed) {
  ServiceAccountDir sa;
  ClusterConfig c;
  std::string error;
  ASSERT_TRUE(in_cluster_config(sa.env("fd00:10:96::1", "6443"), &c, &error)) << error;
  EXPECT_EQ(c.server, "https://[fd00:10:96::1]:6443");
}

TEST(InCluster, Errors) {
  ServiceAccountDir sa;
  ClusterConfig c;
  std::string error;
  EXPECT_FALSE(in_cluster_config(sa.env("", "443"), &c, &error));
  EXPECT_NE(error.find("KUBERNETES_SERVICE_HOST"), std::string::npos) << error;
  EXPECT_FALSE(in_cluster_config(sa.env("10.0.0.1", "99999"), &c, &error));
  EXPECT_NE(error.find("not a port"), std::string::npos) << error;
  EXPECT_FALSE(in_cluster_config(sa.env("10.0.0.1", "https"), &c, &error));
  fs::remove(sa.s.dir() + "/sa/token");
  EXPECT_FALSE(in_cluster_config(sa.env("10.0.0.1", "443"), &c, &error));
  EXPECT_NE(error.find("/sa/token"), std::string::npos) << error;
  sa.s.write("sa/token", "\n");
  EXPECT_FALSE(in_cluster_config(sa.env("10.0.0.1", "443"), &c, &error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  sa.s.write("sa/token", "t");
  fs::remove(sa.s.dir() + "/sa/ca.crt");
  EXPECT_FALSE(in_cluster_config(sa.env("10.0.0.1", "443"), &c, &error));
  EXPECT_NE(error.find("/sa/ca.crt"), std::string::npos) << error;
}

// ---- TokenSource ----

struct FakeClock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::time_point{} + seconds(1000);
  TokenSource::Clock fn() {
    return [this] { return t; };
  }
};

TEST(TokenSource, StaticAndNone) {
  std::string error;
  ClusterConfig c;
  EXPECT_EQ(TokenSource(c).token(&error), "");
  EXPECT_EQ(error, "");
  c.token = "static";
  c.client_cert_pem = "CERT";
  c.client_key_pem = "KEY";
  TokenSource ts(c);
  EXPECT_EQ(ts.token(&error), "static");
  ts.invalidate();
  EXPECT_EQ(ts.token(&error), "static");
  EXPECT_EQ(ts.client_cert_and_key(&error),
            std::make_pair(std::string("CERT"), std::string("KEY")));
}

TEST(TokenSource, FileReReadAfter60sAndAfterInvalidate) {
  Scratch s;
  const std::string file = s.write("token", "  one\n");
  ClusterConfig c;
  c.token_file = file;
  c.origin = "test";
  FakeClock clock;
  TokenSource ts(c, clock.fn());
  std::string error;
  EXPECT_EQ(ts.token(&error), "one");
  s.write("token", "two\n");
  clock.t += seconds(59);
  EXPECT_EQ(ts.token(&error), "one");  // cached for a minute
  clock.t += seconds(1);
  EXPECT_EQ(ts.token(&error), "two");
  s.write("token", "three");
  EXPECT_EQ(ts.token(&error), "two");
  ts.invalidate();  // a 401: read now
  EXPECT_EQ(ts.token(&error), "three");

  // A file that disappears keeps the last good token (rotation in progress)...
  fs::remove(file);
  clock.t += seconds(61);
  error.clear();
  EXPECT_EQ(ts.token(&error), "three");
  EXPECT_EQ(error, "");
  // ...but not after a 401 said that token is bad.
  ts.invalidate();
  EXPECT_EQ(ts.token(&error), "");
  EXPECT_NE(error.find(file), std::string::npos) << error;
  EXPECT_EQ(error.find("three"), std::string::npos) << error;
}

// A plugin script: counts its runs in dir/runs, saves its environment's KUBERNETES_EXEC_INFO
// in dir/exec_info, prints `body` (with RUN replaced by the run number).
std::string plugin_script(const std::string& body) {
  return "#!/bin/sh\n"
         "d=$(dirname \"$0\")\n"
         "n=$(( $(cat \"$d/runs\" 2>/dev/null || echo 0) + 1 ))\n"
         "echo $n > \"$d/runs\"\n"
         "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/exec_info\"\n"
         "cat <<EOF\n" +
         body + "\nEOF\n";
}

std::string rfc3339_in(seconds from_now) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

ClusterConfig load_exec_config(const Scratch& s, const std::string& api_version,
                               const std::string& extra = "") {
  s.write("kube/config",
          one("    server: https://api.example:6443\n    certificate-authority-data: {CA_B64}\n",
              "    exec:\n      apiVersion: " + api_version +
                  "\n      command: ./plugins/get-token\n"
                  "      args: [--flavour, $(not-a-shell)]\n"
                  "      env:\n      - {name: FLAVOUR, value: mint}\n"
                  "      interactiveMode: Never\n      provideClusterInfo: true\n" +
                  extra));
  ClusterConfig c;
  std::string error;
  EXPECT_TRUE(load_kubeconfig(s.dir() + "/kube/config", "", &c, &error)) << error;
  return c;
}

TEST(TokenSource, ExecCachedUntilExpiryAndReRunAfterInvalidate) {
  Scratch s;
  const std::string v1 = "client.authentication.k8s.io/v1";
  s.write(
      "kube/plugins/get-token",
      plugin_script("{\"apiVersion\":\"" + v1 +
                    "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-$n-$FLAVOUR-$2\","
                    "\"expirationTimestamp\":\"" +
                    rfc3339_in(seconds(120)) + "\"}}"),
      true);
  FakeClock clock;
  TokenSource ts(load_exec_config(s, v1), clock.fn());
  std::string error;
  EXPECT_EQ(ts.token(&error), "tok-1-mint-$(not-a-shell)") << error;  // args reach it unexpanded
  EXPECT_EQ(ts.exec_runs(), 1);

  // What the plugin was told: our apiVersion, not interactive, the cluster (provideClusterInfo).
  const auto info = nlohmann::json::parse(slurp(s.dir() + "/kube/plugins/exec_info"));
  EXPECT_EQ(info["apiVersion"], v1);
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://api.example:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], b64(s.pem("ca.crt")));

  clock.t += seconds(100);
  EXPECT_EQ(ts.token(&error), "tok-1-mint-$(not-a-shell)");  // still valid: cached
  EXPECT_EQ(ts.exec_runs(), 1);
  clock.t += seconds(25);  // past expirationTimestamp
  EXPECT_EQ(ts.token(&error), "tok-2-mint-$(not-a-shell)");
  EXPECT_EQ(ts.exec_runs(), 2);
  ts.invalidate();
  EXPECT_EQ(ts.token(&error), "tok-3-mint-$(not-a-shell)");
  EXPECT_EQ(ts.exec_runs(), 3);
}

TEST(TokenSource, ExecWithoutExpiryIsCachedUntilInvalidate) {
  Scratch s;
  const std::string v = "client.authentication.k8s.io/v1beta1";
  s.write("kube/plugins/get-token",
          plugin_script("{\"apiVersion\":\"" + v +
                        "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t$n\"}}"),
          true);
  FakeClock clock;
  TokenSource ts(load_exec_config(s, v), clock.fn());
  std::string error;
  EXPECT_EQ(ts.token(&error), "t1");
  clock.t += seconds(100000);
  EXPECT_EQ(ts.token(&error), "t1");
  ts.invalidate();
  EXPECT_EQ(ts.token(&error), "t2");
}

TEST(TokenSource, ExecClientCertificate) {
  Scratch s;
  const std::string v1 = "client.authentication.k8s.io/v1";
  nlohmann::json cred = {
      {"apiVersion", v1},
      {"kind", "ExecCredential"},
      {"status",
       {{"clientCertificateData", s.pem("client.crt")}, {"clientKeyData", s.pem("client.key")}}}};
  s.write("kube/plugins/get-token", plugin_script(cred.dump()), true);
  TokenSource ts(load_exec_config(s, v1));
  std::string error;
  EXPECT_EQ(ts.token(&error), "");
  EXPECT_EQ(error, "");
  const auto [cert, key] = ts.client_cert_and_key(&error);
  EXPECT_EQ(cert, s.pem("client.crt")) << error;
  EXPECT_EQ(key, s.pem("client.key"));
  EXPECT_EQ(ts.exec_runs(), 1);  // one run served both calls
}

struct BadPlugin {
  std::string name;
  std::string script;  // full script text ("" = do not create the command)
  std::vector<std::string> error_has;
};

TEST(TokenSource, ExecFailures) {
  const std::string v1 = "client.authentication.k8s.io/v1";
  const std::string ok_head = "{\"apiVersion\":\"" + v1 + "\",\"kind\":\"ExecCredential\",";
  const std::vector<BadPlugin> cases = {
      {"garbage", plugin_script("this is s3cr3t-token, not JSON"), {"not JSON"}},
      {"non-zero exit", "#!/bin/sh\necho oops >&2\nexit 3\n", {"exited with status 3"}},
      {"wrong kind",
       plugin_script("{\"apiVersion\":\"" + v1 + "\",\"kind\":\"Secret\",\"status\":{}}"),
       {"not an ExecCredential", "\"Secret\""}},
      {"wrong apiVersion",
       plugin_script("{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\","
                     "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"s3cr3t-token\"}}"),
       {"apiVersion \"client.authentication.k8s.io/v1beta1\"", "asks for"}},
      {"no status", plugin_script(ok_head + "\"spec\":{}}"), {"no status"}},
      {"nothing in status",
       plugin_script(ok_head + "\"status\":{}}"),
       {"neither a token nor a client certificate"}},
      {"certificate without key",
       plugin_script(ok_head + "\"status\":{\"clientCertificateData\":\"x\"}}"),
       {"without the other"}},
      {"bad expiry",
       plugin_script(ok_head + "\"status\":{\"token\":\"s3cr3t-token\","
                               "\"expirationTimestamp\":\"tomorrow\"}}"),
       {"expirationTimestamp \"tomorrow\" is not RFC 3339"}},
      {"killed", "#!/bin/sh\nkill -9 $$\n", {"killed by signal 9"}},
      {"not executable", "", {"is not an executable file"}},
  };
  for (const BadPlugin& tc : cases) {
    SCOPED_TRACE(tc.name);
    Scratch s;
    if (!tc.script.empty()) s.write("kube/plugins/get-token", tc.script, true);
    TokenSource ts(load_exec_config(s, v1));
    std::string error;
    EXPECT_EQ(ts.token(&error), "");
    // Every message says which kubeconfig, context, user and plugin.
    for (const std::string& want :
         {std::string("kubeconfig " + s.dir() + "/kube/config, context ctx"),
          std::string("exec plugin \"./plugins/get-token\" of user \"u\"")}) {
      EXPECT_NE(error.find(want), std::string::npos) << error;
    }
    for (const auto& want : tc.error_has) {
      EXPECT_NE(error.find(want), std::string::npos) << "error: " << error << "\nwant: " << want;
    }
    EXPECT_EQ(error.find(kToken), std::string::npos) << "leaks the token: " << error;
  }
}

TEST(TokenSource, ExecNotOnPathShowsInstallHint) {
  Scratch s;
  s.write("config", one(kServer,
                        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                        "      command: portico-no-such-plugin\n      interactiveMode: Never\n"
                        "      installHint: apt install the-plugin\n"));
  ClusterConfig c;
  std::string error;
  ASSERT_TRUE(load_kubeconfig(s.dir() + "/config", "", &c, &error)) << error;
  TokenSource ts(c);
  EXPECT_EQ(ts.token(&error), "");
  EXPECT_NE(error.find("\"portico-no-such-plugin\" is not on $PATH (apt install the-plugin)"),
            std::string::npos)
      << error;
}

TEST(TokenSource, ExecTimeoutKillsThePlugin) {
  Scratch s;
  // The plugin's child keeps stdout open too: the whole process group must go.
  s.write("kube/plugins/get-token", "#!/bin/sh\nsleep 30 &\nsleep 30\n", true);
  TokenSource ts(load_exec_config(s, "client.authentication.k8s.io/v1"));
  std::string error;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ts.token(&error), "");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(error.find("did not finish within 10 s"), std::string::npos) << error;
  EXPECT_GE(took, seconds(10));
  EXPECT_LT(took, seconds(15));
}

TEST(ExecCredential, ExpiryWithOffsetAndFraction) {
  const auto wall = std::chrono::system_clock::from_time_t(1767225600);  // 2026-01-01T00:00:00Z
  const auto steady = std::chrono::steady_clock::time_point{} + seconds(500);
  const std::string v = "client.authentication.k8s.io/v1";
  ExecCredential cred;
  std::string error;
  ASSERT_TRUE(
      parse_exec_credential(R"({"apiVersion":")" + v +
                                R"(","kind":"ExecCredential","status":{"token":"t",)"
                                R"("expirationTimestamp":"2026-01-01T02:10:00.123+02:00"}})",
                            v, wall, steady, &cred, &error))
      << error;
  ASSERT_TRUE(cred.expires);
  EXPECT_EQ(*cred.expires - steady,
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds(600)));
  EXPECT_FALSE(parse_exec_credential("", v, wall, steady, &cred, &error));
  EXPECT_FALSE(parse_exec_credential("[1,2]", v, wall, steady, &cred, &error));
  EXPECT_FALSE(parse_exec_credential(R"({"kind":7})", v, wall, steady, &cred, &error));
}

}  // namespace
}  // namespace control::k8s
