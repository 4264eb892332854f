// The API's object store (see store.h). Control thread only.
//
// Order of work for every change, so that untrusted text reaches yaml-cpp only through the
// loader's guards (it refuses inputs yaml-cpp 0.7 would loop on) until it is known to parse:
//   1. the request alone through config::load_text: which objects it names (kind, namespace,
//      name, line), kinds refused, NodeConfig refused, file-owned objects refused;
//   2. files + the API objects it does not replace + the request through config::load_texts:
//      the configuration as it would be; any error refuses the change;
//   3. only then the request is parsed here, each document kept alone as its state file.
#include "control/api/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

namespace control::api {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

constexpr size_t kMaxFileBytes = 64u << 20;  // as config::load
constexpr size_t kMaxErrorsInMessage = 20;
constexpr const char* kApplyName = "<apply>";
constexpr const char* kRedacted = "REDACTED";

// Kinds Portico reads that a request may create, and which of them are cluster-scoped.
constexpr std::array<std::string_view, 13> kApiKinds = {
    "IPAddressPool", "L2Advertisement", "BGPPeer",       "BGPAdvertisement", "Community",
    "Service",       "Secret",          "Namespace",     "EndpointSlice",    "GatewayClass",
    "Gateway",       "HTTPRoute",       "ReferenceGrant"};

bool cluster_scoped(std::string_view kind) {
  return kind == "Namespace" || kind == "GatewayClass" || kind == "NodeConfig";
}

// Calls f(kind, meta, src) for every object of the set.
template <typename F>
void for_each_object(const config::ObjectSet& s, F&& f) {
  for (const auto& o : s.node_configs) f("NodeConfig", o.meta, o.src);
  for (const auto& o : s.namespaces) f("Namespace", o.meta, o.src);
  for (const auto& o : s.pools) f("IPAddressPool", o.meta, o.src);
  for (const auto& o : s.l2_advertisements) f("L2Advertisement", o.meta, o.src);
  for (const auto& o : s.bgp_peers) f("BGPPeer", o.meta, o.src);
  for (const auto& o : s.bgp_advertisements) f("BGPAdvertisement", o.meta, o.src);
  for (const auto& o : s.communities) f("Community", o.meta, o.src);
  for (const auto& o : s.secrets) f("Secret", o.meta, o.src);
  for (const auto& o : s.services) f("Service", o.meta, o.src);
  for (const auto& o : s.endpoint_slices) f("EndpointSlice", o.meta, o.src);
  for (const auto& o : s.gateway_classes) f("GatewayClass", o.meta, o.src);
  for (const auto& o : s.gateways) f("Gateway", o.meta, o.src);
  for (const auto& o : s.http_routes) f("HTTPRoute", o.meta, o.src);
  for (const auto& o : s.reference_grants) f("ReferenceGrant", o.meta, o.src);
}

template <typename F>
void for_each_src(config::ObjectSet& s, F&& f) {
  auto each = [&](auto& list, const char* kind) {
    for (auto& o : list) f(kind, o.meta, o.src);
  };
  each(s.namespaces, "Namespace");
  each(s.pools, "IPAddressPool");
  each(s.l2_advertisements, "L2Advertisement");
  each(s.bgp_peers, "BGPPeer");
  each(s.bgp_advertisements, "BGPAdvertisement");
  each(s.communities, "Community");
  each(s.secrets, "Secret");
  each(s.services, "Service");
  each(s.endpoint_slices, "EndpointSlice");
  each(s.gateway_classes, "GatewayClass");
  each(s.gateways, "Gateway");
  each(s.http_routes, "HTTPRoute");
  each(s.reference_grants, "ReferenceGrant");
}

std::string errors_message(const std::vector<config::Diagnostic>& errors) {
  std::string out;
  for (size_t i = 0; i < errors.size() && i < kMaxErrorsInMessage; ++i) {
    out += (out.empty() ? "" : "\n") + errors[i].str();
  }
  if (errors.size() > kMaxErrorsInMessage) {
    out += "\n(" + std::to_string(errors.size() - kMaxErrorsInMessage) + " more errors)";
  }
  return out;
}

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

// One object document of a parsed text (a v1 List contributes its items).
struct Doc {
  ObjectKey key;
  std::string api_version;
  int line = 0;
  YAML::Node node;
};

// Only for text the loader has already parsed without errors (see the top of this file).
std::vector<Doc> parse_docs(const std::string& text) {
  std::vector<Doc> out;
  auto add = [&](const YAML::Node& n) {
    if (!n.IsMap()) return;
    Doc d;
    d.api_version = scalar(n["apiVersion"]);
    const YAML::Node meta = n["metadata"];
    d.key = normalized_key(scalar(n["kind"]), meta && meta.IsMap() ? scalar(meta["namespace"]) : "",
                           meta && meta.IsMap() ? scalar(meta["name"]) : "");
    d.line = n.Mark().is_null() ? 0 : n.Mark().line + 1;
    d.node = n;
    out.push_back(std::move(d));
  };
  for (const YAML::Node& root : YAML::LoadAll(text)) {
    if (!root.IsDefined() || root.IsNull()) continue;
    if (root.IsMap() && scalar(root["apiVersion"]) == "v1" && scalar(root["kind"]) == "List") {
      for (const YAML::Node& item : root["items"]) add(item);
    } else {
      add(root);
    }
  }
  return out;
}

std::string dump(const YAML::Node& n) {
  YAML::Emitter e;
  e << n;
  return std::string(e.c_str()) + "\n";
}

// A JSON array at the top ([{...}, {...}]) read as a v1 List, without moving any line: the
// wrapper is added on the first line and after the last.
std::string as_list_if_array(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '[') return text;
  return "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": " + text + "\n}\n";
}

bool fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool read_file(const std::string& path, std::string* text, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::string("cannot read: ") + std::strerror(errno);
    return false;
  }
  std::array<char, 64 * 1024> chunk;
  text->clear();
  while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
    text->append(chunk.data(), static_cast<size_t>(in.gcount()));
    if (text->size() > kMaxFileBytes) {
      *error = "file is larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB; refused";
      return false;
    }
  }
  if (in.bad()) {
    *error = "cannot read: I/O error";
    return false;
  }
  return true;
}

// YAML 1.1 plain scalars as kubectl reads them, enough for a JSON view of a document.
ordered_json scalar_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end != nullptr && *end == '\0' && end != s.c_str()) return i;
  const bool numeric = s.find_first_not_of("0123456789+-.eE") == std::string::npos &&
                       s.find_first_of("0123456789") != std::string::npos;
  if (numeric) {
    errno = 0;
    const double d = std::strtod(s.c_str(), &end);
    if (errno == 0 && end != nullptr && *end == '\0') return d;
  }
  return s;
}

ordered_json to_json(const YAML::Node& n, int depth) {
  if (depth > 256) return nullptr;
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      ordered_json o = ordered_json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = to_json(kv.second, depth + 1);
      return o;
    }
    case YAML::NodeType::Sequence: {
      ordered_json a = ordered_json::array();
      for (const auto& v : n) a.push_back(to_json(v, depth + 1));
      return a;
    }
    case YAML::NodeType::Scalar:
      return scalar_json(n);
    default:
      return nullptr;
  }
}

}  // namespace

std::string ObjectKey::str() const {
  return namespace_.empty() ? kind + "/" + name : kind + "/" + namespace_ + "/" + name;
}

bool api_kind(const std::string& kind) {
  return std::find(kApiKinds.begin(), kApiKinds.end(), kind) != kApiKinds.end();
}

ObjectKey normalized_key(const std::string& kind, const std::string& namespace_,
                         const std::string& name) {
  if (cluster_scoped(kind)) return {kind, "", name};
  return {kind, namespace_.empty() ? "default" : namespace_, name};
}

ordered_json document_json(const std::string& yaml) {
  try {
    ordered_json doc = to_json(YAML::Load(yaml), 0);
    if (!doc.is_object()) return ordered_json::object();
    const std::string kind = doc.value("kind", "");
    if (kind == "Secret") {
      for (const char* field : {"data", "stringData"}) {
        if (!doc.contains(field) || !doc[field].is_object()) continue;
        for (auto& [k, v] : doc[field].items()) v = kRedacted;
      }
    }
    if (kind == "BGPPeer" && doc.contains("spec") && doc["spec"].is_object() &&
        doc["spec"].contains("password")) {
      doc["spec"]["password"] = kRedacted;
    }
    return doc;
  } catch (const std::exception&) {
    return ordered_json::object();
  }
}

std::vector<config::SourceText> read_sources(const std::vector<std::string>& paths,
                                             std::vector<config::Diagnostic>* errors) {
  std::vector<config::SourceText> out;
  auto add_file = [&](const std::string& path) {
    config::SourceText t{path, ""};
    std::string error;
    if (read_file(path, &t.text, &error)) {
      out.push_back(std::move(t));
    } else {
      errors->push_back({path, 0, "", error});
    }
  };
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      errors->push_back({path, 0, "", "cannot read: no such file or directory"});
      continue;
    }
    if (!fs::is_directory(st)) {
      add_file(path);
      continue;
    }
    std::vector<fs::path> files;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      std::error_code type_ec;
      if ((ext == ".yaml" || ext == ".yml") && fs::is_regular_file(it->status(type_ec))) {
        files.push_back(it->path());
      }
    }
    if (ec) {
      errors->push_back({path, 0, "", "cannot list directory: " + ec.message()});
      continue;
    }
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const fs::path& p : files) add_file(p.string());
  }
  return out;
}

bool write_file_atomically(const std::string& path, const std::string& text, std::string* error) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = "cannot sync " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (!fsync_dir(fs::path(path).parent_path().string())) {
    *error = "cannot sync the directory of " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

Store::Store(std::vector<std::string> paths, std::string state_dir)
    : paths_(std::move(paths)), state_dir_(std::move(state_dir)) {}

std::string Store::state_path(const ObjectKey& key) const {
  // '_' appears in no kind, namespace or name, so the file name is the key.
  return (fs::path(state_dir_) / (key.kind + "_" + key.namespace_ + "_" + key.name + ".yaml"))
      .string();
}

const Entry* Store::find(const ObjectKey& key) const {
  if (auto it = files_.find(key); it != files_.end()) return &it->second;
  if (auto it = api_.find(key); it != api_.end()) return &it->second;
  if (auto it = cluster_.find(key); it != cluster_.end()) return &it->second;
  return nullptr;
}

std::vector<const Entry*> Store::list(const std::string& kind,
                                      const std::string& namespace_) const {
  std::vector<const Entry*> out;
  auto take = [&](const std::map<ObjectKey, Entry>& m) {
    for (const auto& [key, e] : m) {
      if (!kind.empty() && key.kind != kind) continue;
      if (!namespace_.empty() && key.namespace_ != namespace_) continue;
      out.push_back(&e);
    }
  };
  take(files_);
  take(api_);
  // A cluster object a file or the API also defines was left out: only the copy in use.
  for (const auto& [key, e] : cluster_) {
    if (files_.count(key) != 0 || api_.count(key) != 0) continue;
    if (!kind.empty() && key.kind != kind) continue;
    if (!namespace_.empty() && key.namespace_ != namespace_) continue;
    out.push_back(&e);
  }
  std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) { return a->key < b->key; });
  return out;
}

std::string cluster_source_name(const ObjectKey& key) { return "kubernetes:" + key.str(); }

Result Store::validate(const std::vector<config::SourceText>& texts, Change* out,
                       const std::map<ObjectKey, Entry>* cluster) const {
  const std::map<ObjectKey, Entry>& from = cluster != nullptr ? *cluster : cluster_;
  // Cluster objects come last, one text each named after the object, so that the loader's
  // errors (a duplicate of a file's object included: it names the later one) say which to
  // leave out. A few rounds: leaving one out can reveal another's error.
  std::map<std::string, ObjectKey> by_name;
  std::set<ObjectKey> left_out;
  out->cluster_rejected.clear();
  for (int round = 0;; ++round) {
    std::vector<config::SourceText> all = texts;
    by_name.clear();
    for (const auto& [key, e] : from) {
      if (left_out.count(key) != 0) continue;
      const std::string name = cluster_source_name(key);
      by_name[name] = key;
      all.push_back({name, e.yaml});
    }
    out->loaded = config::load_texts(all);
    if (out->loaded.ok() || from.empty() || round == 8) break;
    bool dropped = false;
    std::set<ObjectKey> named;
    for (const auto& e : out->loaded.errors) {
      auto it = by_name.find(e.file);
      if (it == by_name.end() || named.count(it->second) != 0) continue;
      named.insert(it->second);
      std::string message = e.str();
      if (message.rfind(e.file, 0) == 0) message = "line " + message.substr(e.file.size() + 1);
      out->cluster_rejected.emplace_back(it->second, message);
      left_out.insert(it->second);
      dropped = true;
    }
    if (!dropped) break;  // the errors are the files' or the API's own
  }
  if (out->loaded.ok() && out->loaded.objects.node_configs.size() != 1) {
    out->loaded.errors.push_back({"", 0, "",
                                  "exactly one NodeConfig is required, found " +
                                      std::to_string(out->loaded.objects.node_configs.size())});
  }
  if (!out->loaded.ok()) return {Code::kInvalidArgument, errors_message(out->loaded.errors)};
  return {};
}

Result Store::read_state_dir(std::map<ObjectKey, Entry>* out,
                             std::vector<std::string>* warnings) const {
  std::error_code ec;
  if (state_dir_.empty() || !fs::exists(state_dir_, ec)) return {};
  std::vector<config::Diagnostic> errors;
  for (const config::SourceText& t : read_sources({state_dir_}, &errors)) {
    // Each file alone first: a damaged state file is skipped (and said), not fatal.
    const config::LoadResult alone = config::load_text(t.text, t.name);
    bool syntax = false;
    for (const auto& e : alone.errors) syntax |= e.object.empty();
    if (syntax) {
      warnings->push_back(t.name +
                          ": unreadable API object, ignored: " + errors_message(alone.errors));
      continue;
    }
    for (Doc& d : parse_docs(t.text)) {
      if (!api_kind(d.key.kind) || d.key.name.empty()) {
        warnings->push_back(t.name + ": not an API object (" + d.key.str() + "), ignored");
        continue;
      }
      Entry e{d.key, d.api_version, "api", false, dump(d.node)};
      (*out)[d.key] = std::move(e);
    }
  }
  for (const auto& e : errors) warnings->push_back(e.str());
  return {};
}

Result Store::prepare_load(Change* out) {
  std::vector<config::Diagnostic> read_errors;
  out->file_texts = read_sources(paths_, &read_errors);
  out->reloaded_files = true;
  if (!read_errors.empty()) {
    out->loaded.errors = read_errors;
    return {Code::kInvalidArgument, errors_message(read_errors)};
  }
  // The files alone first: their own errors are named as such, and what they define is known
  // before the API objects join them.
  Change files_only;
  if (Result r = validate(out->file_texts, &files_only); !r.ok()) {
    out->loaded = std::move(files_only.loaded);
    return r;
  }
  std::set<ObjectKey> file_keys;
  std::map<ObjectKey, config::SourceRef> file_src;
  for_each_object(
      files_only.loaded.objects,
      [&](const std::string& kind, const config::ObjectMeta& meta, const config::SourceRef& src) {
        file_src[normalized_key(kind, meta.namespace_, meta.name)] = src;
      });

  std::map<ObjectKey, Entry> api = api_;
  if (!loaded_once_) {
    api.clear();
    if (Result r = read_state_dir(&api, &out->warnings); !r.ok()) return r;
  }
  std::vector<config::SourceText> texts = out->file_texts;
  for (auto it = api.begin(); it != api.end();) {
    if (auto f = file_src.find(it->first); f != file_src.end()) {
      out->warnings.push_back(it->first.str() + ": now defined by " + f->second.file + ":" +
                              std::to_string(f->second.line) +
                              "; the file's copy wins and the API's copy is removed");
      out->removes.push_back(it->first);
      it = api.erase(it);
      continue;
    }
    texts.push_back({state_path(it->first), it->second.yaml});
    ++it;
  }
  if (Result r = validate(texts, out); !r.ok()) return r;
  for (const auto& w : out->loaded.warnings) out->warnings.push_back(w.str());
  for (const auto& [key, e] : api) out->writes[key] = e.yaml;
  return {};
}

Result Store::prepare_apply(const std::string& documents, Change* out) const {
  if (state_dir_.empty())
    return {Code::kFailedPrecondition, "no state directory: API objects cannot be kept"};
  const std::string text = as_list_if_array(documents);
  // 1. What the request names.
  const config::LoadResult alone = config::load_text(text, kApplyName);
  for (const auto& o : alone.objects.others) {
    return {Code::kInvalidArgument, std::string(kApplyName) + ":" + std::to_string(o.src.line) +
                                        ": kind " + o.kind + " (apiVersion " + o.api_version +
                                        ") is not read by Portico"};
  }
  for (const auto& n : alone.objects.node_configs) {
    return {Code::kInvalidArgument, std::string(kApplyName) + ":" + std::to_string(n.src.line) +
                                        ": " + config::object_ref("NodeConfig", n.meta) +
                                        ": NodeConfig comes from configuration files only"};
  }
  std::set<ObjectKey> named;
  Result refused;
  for_each_object(alone.objects, [&](const std::string& kind, const config::ObjectMeta& meta,
                                     const config::SourceRef& src) {
    const ObjectKey key = normalized_key(kind, meta.namespace_, meta.name);
    if (!refused.ok()) return;
    if (auto f = files_.find(key); f != files_.end()) {
      refused = {Code::kFailedPrecondition,
                 std::string(kApplyName) + ":" + std::to_string(src.line) + ": " + key.str() +
                     ": defined by " + f->second.source + "; edit that file"};
    }
    named.insert(key);
  });
  if (!refused.ok()) return refused;
  if (alone.ok() && named.empty()) return {Code::kInvalidArgument, "no object in the request"};

  // 2. Everything together, the request replacing the API objects it names.
  std::vector<config::SourceText> texts = file_texts_;
  for (const auto& [key, e] : api_) {
    if (named.count(key) == 0) texts.push_back({state_path(key), e.yaml});
  }
  texts.push_back({kApplyName, text});
  if (Result r = validate(texts, out); !r.ok()) return r;
  for (const auto& w : out->loaded.warnings) {
    if (w.file == kApplyName) out->warnings.push_back(w.str());
  }

  // 3. Each document alone, as it will be stored.
  std::set<ObjectKey> seen;
  for (Doc& d : parse_docs(text)) {
    if (!seen.insert(d.key).second) {
      return {Code::kInvalidArgument, std::string(kApplyName) + ":" + std::to_string(d.line) +
                                          ": " + d.key.str() + ": given twice in this request"};
    }
    std::string yaml = dump(d.node);
    auto it = api_.find(d.key);
    if (it == api_.end()) {
      out->created.push_back(d.key);
    } else if (it->second.yaml == yaml) {
      out->unchanged.push_back(d.key);
    } else {
      out->configured.push_back(d.key);
    }
    out->writes[d.key] = std::move(yaml);
  }
  // From now on these objects are the API's: diagnostics and logs name their state files.
  for_each_src(out->loaded.objects,
               [&](const char* kind, const config::ObjectMeta& meta, config::SourceRef& src) {
                 if (src.file == kApplyName)
                   src.file = state_path(normalized_key(kind, meta.namespace_, meta.name));
               });
  return {};
}

Result Store::prepare_cluster(const std::map<ObjectKey, Entry>& objects, Change* out) const {
  std::vector<config::SourceText> texts = file_texts_;
  for (const auto& [key, e] : api_) texts.push_back({state_path(key), e.yaml});
  if (Result r = validate(texts, out, &objects); !r.ok()) return r;
  out->cluster = objects;
  for (const auto& [key, why] : out->cluster_rejected) out->cluster.erase(key);
  out->cluster_set = true;
  return {};
}

Result Store::prepare_delete(const ObjectKey& key, Change* out) const {
  if (auto f = files_.find(key); f != files_.end()) {
    return {Code::kFailedPrecondition,
            key.str() + ": defined by " + f->second.source + "; edit that file"};
  }
  if (api_.count(key) == 0) return {Code::kNotFound, key.str() + ": not found"};
  std::vector<config::SourceText> texts = file_texts_;
  for (const auto& [k, e] : api_) {
    if (k != key) texts.push_back({state_path(k), e.yaml});
  }
  if (Result r = validate(texts, out); !r.ok()) {
    return {Code::kFailedPrecondition,
            key.str() + ": deleting it would leave an invalid configuration:\n" + r.message};
  }
  out->deleted.push_back(key);
  out->removes.push_back(key);
  return {};
}

Result Store::restore_file(const ObjectKey& key, const std::optional<std::string>& yaml) const {
  std::string error;
  if (yaml) {
    if (!write_file_atomically(state_path(key), *yaml, &error)) return {Code::kInternal, error};
    return {};
  }
  if (::unlink(state_path(key).c_str()) != 0 && errno != ENOENT) {
    return {Code::kInternal, "cannot remove " + state_path(key) + ": " + std::strerror(errno)};
  }
  fsync_dir(state_dir_);
  return {};
}

Result Store::commit(Change& change, Undo* undo) {
  if (!change.writes.empty() || !change.removes.empty()) {
    std::error_code ec;
    fs::create_directories(state_dir_, ec);
    if (ec)
      return {Code::kInternal,
              "cannot create the state directory " + state_dir_ + ": " + ec.message()};
    ::chmod(state_dir_.c_str(), 0700);
  }
  // What the files were, so that a failure half way (or the caller's, publishing) can put
  // them back.
  Undo before;
  before.objects_before = objects_;
  if (!change.reloaded_files) {
    for (const auto& [key, yaml] : change.writes) before.api_before[key] = std::nullopt;
    for (const ObjectKey& key : change.removes) before.api_before[key] = std::nullopt;
    for (auto& [key, old] : before.api_before) {
      if (auto it = api_.find(key); it != api_.end()) old = it->second.yaml;
    }
  }
  std::vector<ObjectKey> touched;
  const auto put_back = [&](Result failure) {
    for (const ObjectKey& key : touched) {
      if (const Result r = restore_file(key, before.api_before[key]); !r.ok())
        failure.message += "; and restoring " + key.str() + " failed: " + r.message;
    }
    return failure;
  };
  // A load's writes are the API objects as read: the disk has them already.
  for (const auto& [key, yaml] : change.writes) {
    if (change.reloaded_files) break;
    std::string error;
    if (!write_file_atomically(state_path(key), yaml, &error))
      return put_back({Code::kInternal, error});
    touched.push_back(key);
  }
  for (const ObjectKey& key : change.removes) {
    if (::unlink(state_path(key).c_str()) != 0 && errno != ENOENT) {
      return put_back(
          {Code::kInternal, "cannot remove " + state_path(key) + ": " + std::strerror(errno)});
    }
    touched.push_back(key);
  }
  if (!change.removes.empty()) fsync_dir(state_dir_);

  if (change.reloaded_files) {
    file_texts_ = change.file_texts;
    files_.clear();
    for (const config::SourceText& t : file_texts_) {
      for (Doc& d : parse_docs(t.text)) {
        if (d.key.kind == "NodeConfig" && d.key.name.empty()) continue;
        files_[d.key] =
            Entry{d.key, d.api_version, t.name + ":" + std::to_string(d.line), true, dump(d.node)};
      }
    }
    api_.clear();
  }
  for (const auto& [key, yaml] : change.writes) {
    std::string api_version;
    for (Doc& d : parse_docs(yaml)) api_version = d.api_version;
    api_[key] = Entry{key, api_version, "api", false, yaml};
  }
  for (const ObjectKey& key : change.removes) api_.erase(key);
  if (change.cluster_set) cluster_ = std::move(change.cluster);
  objects_ = change.loaded.objects;
  loaded_once_ = true;
  if (undo != nullptr) *undo = std::move(before);
  return {};
}

Result Store::revert(const Undo& undo) {
  Result result;
  for (const auto& [key, yaml] : undo.api_before) {
    if (const Result r = restore_file(key, yaml); !r.ok() && result.ok()) result = r;
    if (!yaml) {
      api_.erase(key);
      continue;
    }
    std::string api_version;
    for (Doc& d : parse_docs(*yaml)) api_version = d.api_version;
    api_[key] = Entry{key, api_version, "api", false, *yaml};
  }
  objects_ = undo.objects_before;
  return result;
}

}  // namespace control::api
