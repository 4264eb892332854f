// control/api/store: files + API objects, precedence, the state directory, refusals, parsing of
// Lists and JSON, redaction. No gRPC, no DPDK: a temporary directory per test.
#include "control/api/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include "tests/unit/api/fixtures.h"

namespace control::api {
namespace {

using testing::kNode;
using testing::slurp;

namespace fs = std::filesystem;

constexpr const char* kService = R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  type: LoadBalancer
  loadBalancerIP: 203.0.113.20
  ports:
    - port: 80
)";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("portico-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "conf");
    write("conf/node.yaml", kNode);
    state_ = (dir_ / "state").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::unique_ptr<Store> open() {
    auto s = std::make_unique<Store>(std::vector<std::string>{(dir_ / "conf").string()}, state_);
    Change c;
    const Result r = s->prepare_load(&c);
    EXPECT_TRUE(r.ok()) << r.message;
    EXPECT_TRUE(s->commit(c).ok());
    return s;
  }
  Result apply(Store& s, const std::string& docs, Change* c = nullptr) {
    Change local;
    Change* change = c ? c : &local;
    Result r = s.prepare_apply(docs, change);
    if (r.ok()) r = s.commit(*change);
    return r;
  }
  size_t state_files() const {
    if (!fs::exists(state_)) return 0;
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(state_), fs::directory_iterator()));
  }

  fs::path dir_;
  std::string state_;
};

TEST_F(StoreTest, ApplyCreatesThenUnchangedThenConfigured) {
  auto s = open();
  Change c1;
  ASSERT_TRUE(apply(*s, kService, &c1).ok());
  ASSERT_EQ(c1.created.size(), 1u);
  EXPECT_EQ(c1.created[0].str(), "Service/demo/web");
  EXPECT_EQ(s->objects().services.size(), 1u);
  EXPECT_EQ(state_files(), 1u);
  const Entry* e = s->find({"Service", "demo", "web"});
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->source, "api");
  // The object's diagnostics name its state file from now on.
  EXPECT_NE(s->objects().services[0].src.file.find(state_), std::string::npos);

  Change c2;
  ASSERT_TRUE(apply(*s, kService, &c2).ok());
  EXPECT_EQ(c2.unchanged.size(), 1u);
  EXPECT_TRUE(c2.created.empty());

  std::string changed = kService;
  changed.replace(changed.find("port: 80"), 8, "port: 81");
  Change c3;
  ASSERT_TRUE(apply(*s, changed, &c3).ok());
  EXPECT_EQ(c3.configured.size(), 1u);
  EXPECT_EQ(s->objects().services[0].ports[0].port, 81);
}

TEST_F(StoreTest, StateDirectoryRoundTrip) {
  {
    auto s = open();
    ASSERT_TRUE(apply(*s, kService).ok());
  }
  // Permissions: the directory is root's alone; files 0600.
  struct stat st {};
  ASSERT_EQ(::stat(state_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& f : fs::directory_iterator(state_)) {
    ASSERT_EQ(::stat(f.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(f.path().extension(), ".yaml");  // no temporary file left behind
  }
  auto again = open();
  ASSERT_EQ(again->objects().services.size(), 1u);
  EXPECT_EQ(again->objects().services[0].load_balancer_ip, "203.0.113.20");
  EXPECT_EQ(again->find({"Service", "demo", "web"})->source, "api");
}

TEST_F(StoreTest, FileObjectsAreRefused) {
  auto s = open();
  const std::string pool = R"(apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: metallb-system
spec:
  addresses: ["203.0.113.60/30"]
)";
  Change c;
  const Result r = s->prepare_apply(pool, &c);
  EXPECT_EQ(r.code, Code::kFailedPrecondition);
  EXPECT_NE(r.message.find("defined by " + (dir_ / "conf/node.yaml").string() + ":11"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("edit that file"), std::string::npos);
  Change d;
  EXPECT_EQ(s->prepare_delete({"IPAddressPool", "metallb-system", "pool"}, &d).code,
            Code::kFailedPrecondition);
  EXPECT_EQ(s->prepare_delete({"Service", "demo", "nope"}, &d).code, Code::kNotFound);
  EXPECT_EQ(state_files(), 0u);
}

TEST_F(StoreTest, NodeConfigAndUnknownKindsAreRefused) {
  auto s = open();
  Change c;
  Result r = s->prepare_apply(kNode, &c);
  EXPECT_EQ(r.code, Code::kInvalidArgument);
  EXPECT_NE(r.message.find("NodeConfig"), std::string::npos) << r.message;
  r = s->prepare_apply("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n", &c);
  EXPECT_EQ(r.code, Code::kInvalidArgument);
  EXPECT_NE(r.message.find("<apply>:1: kind Deployment"), std::string::npos) << r.message;
}

TEST_F(StoreTest, InvalidChangeNamesFieldAndLineAndChangesNothing) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  const std::string before = slurp(fs::directory_iterator(state_)->path());
  // Second document, field spec.addresses on line 8 of the request.
  const std::string bad = std::string(kService) + R"(---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: broken
  namespace: metallb-system
spec:
  addresses: ["203.0.113.300/30"]
)";
  Change c;
  const Result r = s->prepare_apply(bad, &c);
  ASSERT_EQ(r.code, Code::kInvalidArgument);
  EXPECT_NE(r.message.find("<apply>:18"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("IPAddressPool/metallb-system/broken"), std::string::npos) << r.message;
  EXPECT_EQ(state_files(), 1u);
  EXPECT_EQ(slurp(fs::directory_iterator(state_)->path()), before);
  EXPECT_EQ(s->objects().pools.size(), 1u);
}

TEST_F(StoreTest, ConflictWithFilesIsRefused) {
  auto s = open();
  // Overlaps the file's pool: a cross-object rule of the loader.
  const std::string overlap = R"(apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: other
  namespace: metallb-system
spec:
  addresses: ["203.0.113.12/32"]
)";
  Change c;
  EXPECT_EQ(s->prepare_apply(overlap, &c).code, Code::kInvalidArgument);
}

TEST_F(StoreTest, ListAndJsonArrayAndDuplicates) {
  auto s = open();
  const std::string list = R"({"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "demo"},
   "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
]})";
  Change c;
  ASSERT_TRUE(apply(*s, list, &c).ok());
  EXPECT_EQ(c.created.size(), 2u);
  const std::string array = R"([
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"},
   "spec": {"type": "LoadBalancer", "ports": [{"port": 81}]}}
])";
  Change c2;
  ASSERT_TRUE(apply(*s, array, &c2).ok()) << s->prepare_apply(array, &c2).message;
  ASSERT_EQ(c2.created.size(), 1u);
  EXPECT_EQ(c2.created[0].str(), "Service/default/b");
  Change c3;
  EXPECT_EQ(s->prepare_apply(std::string(kService) + "---\n" + kService, &c3).code,
            Code::kInvalidArgument);
  EXPECT_EQ(s->list("Service", "").size(), 2u);
  EXPECT_EQ(s->list("", "demo").size(), 1u);  // Namespace demo itself is cluster-scoped
}

TEST_F(StoreTest, DeleteRemovesStateFile) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  Change d;
  ASSERT_TRUE(s->prepare_delete({"Service", "demo", "web"}, &d).ok());
  ASSERT_TRUE(s->commit(d).ok());
  EXPECT_EQ(state_files(), 0u);
  EXPECT_TRUE(s->objects().services.empty());
  EXPECT_EQ(s->find({"Service", "demo", "web"}), nullptr);
}

// Two objects in one apply; the second's state file cannot be written (a directory stands at
// its path): the first is put back as it was, and the store is unchanged.
TEST_F(StoreTest, FailedWriteHalfWayPutsTheFirstFilesBack) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  const std::string before = slurp(fs::path(state_) / "Service_demo_web.yaml");
  std::string changed = kService;
  changed.replace(changed.find("port: 80"), 8, "port: 81");
  std::string other = kService;
  other.replace(other.find("name: web"), 9, "name: zzz");
  fs::create_directories(fs::path(state_) / "Service_demo_zzz.yaml" / "blocker");
  Change c;
  ASSERT_TRUE(s->prepare_apply(changed + "---\n" + other, &c).ok());
  const Result r = s->commit(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code, Code::kInternal);
  EXPECT_NE(r.message.find("Service_demo_zzz"), std::string::npos) << r.message;
  EXPECT_EQ(slurp(fs::path(state_) / "Service_demo_web.yaml"), before);
  ASSERT_EQ(s->objects().services.size(), 1u);
  EXPECT_EQ(s->objects().services[0].ports[0].port, 80);
  EXPECT_EQ(s->find({"Service", "demo", "zzz"}), nullptr);
}

// revert() after a good commit (the caller could not publish): files and view as before.
TEST_F(StoreTest, RevertUndoesACommit) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  const std::string before = slurp(fs::path(state_) / "Service_demo_web.yaml");
  std::string changed = kService;
  changed.replace(changed.find("port: 80"), 8, "port: 81");
  std::string other = kService;
  other.replace(other.find("name: web"), 9, "name: zzz");
  Change c;
  ASSERT_TRUE(s->prepare_apply(changed + "---\n" + other, &c).ok());
  Store::Undo undo;
  ASSERT_TRUE(s->commit(c, &undo).ok());
  EXPECT_EQ(state_files(), 2u);
  EXPECT_EQ(s->objects().services.size(), 2u);
  ASSERT_TRUE(s->revert(undo).ok());
  EXPECT_EQ(state_files(), 1u);
  EXPECT_EQ(slurp(fs::path(state_) / "Service_demo_web.yaml"), before);
  ASSERT_EQ(s->objects().services.size(), 1u);
  EXPECT_EQ(s->objects().services[0].ports[0].port, 80);
  EXPECT_EQ(s->find({"Service", "demo", "zzz"}), nullptr);
  EXPECT_NE(s->find({"Service", "demo", "web"})->yaml.find("port: 80"), std::string::npos);
  // A delete reverted brings the file back.
  Change d;
  ASSERT_TRUE(s->prepare_delete({"Service", "demo", "web"}, &d).ok());
  ASSERT_TRUE(s->commit(d, &undo).ok());
  EXPECT_EQ(state_files(), 0u);
  ASSERT_TRUE(s->revert(undo).ok());
  EXPECT_EQ(slurp(fs::path(state_) / "Service_demo_web.yaml"), before);
  EXPECT_EQ(s->objects().services.size(), 1u);
  // And what revert() left loads again after a restart.
  auto again = open();
  EXPECT_EQ(again->objects().services.size(), 1u);
}

// The cluster's objects (Kubernetes sync): JSON as the API server sends it, with its server
// fields; a bad one and one the API already defines are left out, the rest taken.
TEST_F(StoreTest, ClusterObjectsJoinAndBadOnesAreLeftOut) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());  // Service/demo/web through the API
  const auto svc = [](const std::string& name, int port) {
    return Entry{{"Service", "demo", name}, "v1", "kubernetes", false,
                 R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name +
                     R"(","namespace":"demo","uid":"6f1c","resourceVersion":"812","generation":1,)"
                     R"("managedFields":[{"manager":"kubectl","operation":"Update"}]},)"
                     R"("spec":{"type":"LoadBalancer","clusterIP":"10.96.0.9","ports":[{"port":)" +
                     std::to_string(port) +
                     R"(,"protocol":"TCP","targetPort":8080}]},"status":{"loadBalancer":{}}})"};
  };
  std::map<ObjectKey, Entry> cluster;
  for (const Entry& e : {svc("api", 80), svc("broken", 70000), svc("web", 81)}) cluster[e.key] = e;
  Change c;
  ASSERT_TRUE(s->prepare_cluster(cluster, &c).ok());
  ASSERT_EQ(c.cluster_rejected.size(), 2u);
  std::map<std::string, std::string> why;
  for (const auto& [key, message] : c.cluster_rejected) why[key.name] = message;
  EXPECT_NE(why["broken"].find("spec.ports[0].port"), std::string::npos) << why["broken"];
  EXPECT_NE(why["web"].find("duplicate object"), std::string::npos) << why["web"];
  ASSERT_TRUE(s->commit(c).ok());
  ASSERT_EQ(s->objects().services.size(), 2u);  // demo/web (the API's) and demo/api
  EXPECT_EQ(s->find({"Service", "demo", "api"})->source, "kubernetes");
  EXPECT_EQ(s->find({"Service", "demo", "web"})->source, "api");
  EXPECT_EQ(s->find({"Service", "demo", "broken"}), nullptr);
  EXPECT_EQ(s->list("Service", "").size(), 2u);
  EXPECT_EQ(state_files(), 1u) << "cluster objects are not written to the state directory";
  // Later changes keep the cluster's objects: an apply, a reload.
  std::string other = kService;
  other.replace(other.find("name: web"), 9, "name: zzz");
  other.replace(other.find("loadBalancerIP: 203.0.113.20"), 28, "loadBalancerIP: 203.0.113.21");
  ASSERT_TRUE(apply(*s, other).ok());
  EXPECT_EQ(s->objects().services.size(), 3u);
  Change reload;
  ASSERT_TRUE(s->prepare_load(&reload).ok());
  ASSERT_TRUE(s->commit(reload).ok());
  EXPECT_EQ(s->objects().services.size(), 3u);
  // An empty cluster (everything deleted there) removes them.
  Change gone;
  ASSERT_TRUE(s->prepare_cluster({}, &gone).ok());
  ASSERT_TRUE(s->commit(gone).ok());
  EXPECT_EQ(s->objects().services.size(), 2u);
  EXPECT_EQ(s->find({"Service", "demo", "api"}), nullptr);
}

TEST_F(StoreTest, FileWinsAtReloadAndApiCopyIsRemoved) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  std::string file_copy = kService;
  file_copy.replace(file_copy.find("203.0.113.20"), 12, "203.0.113.21");
  write("conf/web.yaml", file_copy);
  Change c;
  ASSERT_TRUE(s->prepare_load(&c).ok());
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("the file's copy wins"), std::string::npos);
  ASSERT_TRUE(s->commit(c).ok());
  EXPECT_EQ(state_files(), 0u);
  ASSERT_EQ(s->objects().services.size(), 1u);
  EXPECT_EQ(s->objects().services[0].load_balancer_ip, "203.0.113.21");
  EXPECT_TRUE(s->find({"Service", "demo", "web"})->from_file);
}

TEST_F(StoreTest, ReloadKeepsApiObjects) {
  auto s = open();
  ASSERT_TRUE(apply(*s, kService).ok());
  Change c;
  ASSERT_TRUE(s->prepare_load(&c).ok());
  ASSERT_TRUE(s->commit(c).ok());
  EXPECT_EQ(s->objects().services.size(), 1u);
  EXPECT_EQ(state_files(), 1u);
}

TEST_F(StoreTest, DamagedStateFileIsSkipped) {
  fs::create_directories(state_);
  std::ofstream(fs::path(state_) / "junk.yaml") << "key: [unclosed\n";
  auto s = std::make_unique<Store>(std::vector<std::string>{(dir_ / "conf").string()}, state_);
  Change c;
  ASSERT_TRUE(s->prepare_load(&c).ok());
  ASSERT_FALSE(c.warnings.empty());
  EXPECT_NE(c.warnings[0].find("junk.yaml"), std::string::npos);
}

TEST(DocumentJson, RedactsSecretsAndPasswords) {
  const auto secret = document_json(R"(apiVersion: v1
kind: Secret
metadata: {name: s, namespace: demo}
type: kubernetes.io/basic-auth
data: {password: c2VjcmV0}
stringData: {password: secret}
)");
  EXPECT_EQ(secret["data"]["password"], "REDACTED");
  EXPECT_EQ(secret["stringData"]["password"], "REDACTED");
  EXPECT_EQ(secret.dump().find("secret\""), std::string::npos);
  const auto peer = document_json(R"(apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p, namespace: metallb-system}
spec: {myASN: 64512, peerASN: 64500, peerAddress: 198.51.100.1, password: "hunter2"}
)");
  EXPECT_EQ(peer["spec"]["password"], "REDACTED");
  EXPECT_EQ(peer["spec"]["myASN"], 64512);
  EXPECT_EQ(peer.dump().find("hunter2"), std::string::npos);
}

TEST(WriteFileAtomically, ReplacesWholeFile) {
  const fs::path p = fs::temp_directory_path() / ("portico-atomic-" + std::to_string(::getpid()));
  std::string error;
  ASSERT_TRUE(write_file_atomically(p.string(), "one\n", &error)) << error;
  ASSERT_TRUE(write_file_atomically(p.string(), "two\n", &error)) << error;
  EXPECT_EQ(slurp(p), "two\n");
  EXPECT_FALSE(fs::exists(p.string() + ".tmp"));
  EXPECT_FALSE(write_file_atomically("/nonexistent-dir/x.yaml", "x", &error));
  EXPECT_NE(error.find("/nonexistent-dir/x.yaml.tmp"), std::string::npos);
  fs::remove(p);
}

}  // namespace
}  // namespace control::api
