// The object store behind the gRPC API: configuration files merged with objects created
// through the API.
//
// Thread: the control thread only (the gRPC threads post requests to it; see service.h).
// Owns: the texts of the configuration files as last read (start-up, SIGHUP), the API objects
// (one YAML file per object in the state directory, NodeConfig spec.api.stateDir), and the
// validated ObjectSet of both together.
//
// Rules (docs/operations.md, "Changing it: the API"):
//  * a change is validated with config::load_texts over files + API objects + the change, as
//    one configuration; a rejected change writes nothing and changes nothing;
//  * a file is never overwritten by the API: Apply and Delete of an object a file defines are
//    refused (kFailedPrecondition, "defined by FILE:LINE; edit that file");
//  * if a file later defines an object the API created, the file's copy wins at the next load
//    and the API copy is removed from the state directory (with a warning);
//  * NodeConfig comes from files only, and kinds Portico does not read are refused;
//  * state files are written atomically (temporary file, fsync, rename, fsync of the directory).
// Nothing here knows gRPC; codes map one to one onto grpc::StatusCode in service.cc.
#pragma once

#include <compare>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/loader.h"

namespace control::api {

enum class Code { kOk, kInvalidArgument, kNotFound, kFailedPrecondition, kInternal };

struct Result {
  Code code = Code::kOk;
  std::string message;
  bool ok() const { return code == Code::kOk; }
};

struct ObjectKey {
  std::string kind;
  std::string namespace_;  // empty for cluster-scoped kinds
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  std::string str() const;  // "Kind/namespace/name" or "Kind/name", as messages name objects
};

// True for the kinds an API request may create (every kind Portico reads but NodeConfig).
bool api_kind(const std::string& kind);
// The key a request names: namespace "default" for a namespaced kind given without one.
ObjectKey normalized_key(const std::string& kind, const std::string& namespace_,
                         const std::string& name);

struct Entry {
  ObjectKey key;
  std::string api_version;
  std::string source;  // "api", or "FILE:LINE" for an object of a configuration file
  bool from_file = false;
  std::string yaml;  // the object's document alone (API objects: as stored)
};

// A validated change, not yet made: what commit() writes and what the objects then are.
struct Change {
  config::LoadResult loaded;
  std::vector<ObjectKey> created, configured, unchanged, deleted;
  std::vector<std::string> warnings;
  std::map<ObjectKey, std::string> writes;     // state files to write, by object
  std::vector<ObjectKey> removes;              // state files to remove
  std::vector<config::SourceText> file_texts;  // load(): the files as just read
  bool reloaded_files = false;
  // Objects of the Kubernetes API server (control/k8s): set by prepare_cluster(); every
  // prepare_*() leaves out those the configuration cannot take, named here with the error.
  bool cluster_set = false;
  std::map<ObjectKey, Entry> cluster;
  std::vector<std::pair<ObjectKey, std::string>> cluster_rejected;
};

class Store {
 public:
  // paths: as given to `portico run`; state_dir: "" keeps no API objects (no API).
  Store(std::vector<std::string> paths, std::string state_dir);

  // Start-up and SIGHUP: reads the files again, keeps the API objects (from the state
  // directory at start-up, from memory afterwards), validates both together.
  Result prepare_load(Change* out);
  // Apply: YAML or JSON documents (a v1 List's items, a JSON array's elements).
  Result prepare_apply(const std::string& documents, Change* out) const;
  Result prepare_delete(const ObjectKey& key, Change* out) const;
  // Kubernetes sync: the objects the informers hold now (Entry::yaml is the object's JSON as
  // the API server sent it, Entry::source "kubernetes"). Unlike files, one bad object does not
  // refuse the rest: objects the loader rejects, or that a file or the API already defines
  // (local definitions win), are left out and listed in cluster_rejected.
  Result prepare_cluster(const std::map<ObjectKey, Entry>& objects, Change* out) const;
  // What commit() replaced, for revert(): the API objects it wrote or removed as they were
  // (nullopt: there was none) and the objects before.
  struct Undo {
    std::map<ObjectKey, std::optional<std::string>> api_before;
    config::ObjectSet objects_before;
  };
  // Makes a prepared change: state files first (if one cannot be written, those written are
  // put back and nothing changes), then the store's view. The caller publishes
  // change.loaded.objects, and if that fails calls revert(*undo) (API changes only; a load
  // has no undo).
  Result commit(Change& change, Undo* undo = nullptr);
  // Puts the state files and the store's view back as they were before the commit.
  Result revert(const Undo& undo);

  const config::ObjectSet& objects() const { return objects_; }
  const Entry* find(const ObjectKey& key) const;
  // Every object, files' and API's, in key order; kind and namespace filter when non-empty.
  std::vector<const Entry*> list(const std::string& kind, const std::string& namespace_) const;
  const std::string& state_dir() const { return state_dir_; }

 private:
  Result read_state_dir(std::map<ObjectKey, Entry>* out, std::vector<std::string>* warnings) const;
  // Validates files and API objects (`texts`) together with the cluster's objects (`cluster`,
  // or the store's own when null), leaving out cluster objects that cannot be taken.
  Result validate(const std::vector<config::SourceText>& texts, Change* out,
                  const std::map<ObjectKey, Entry>* cluster = nullptr) const;
  std::string state_path(const ObjectKey& key) const;
  // The state file of `key` as `yaml` says (nullopt: no file).
  Result restore_file(const ObjectKey& key, const std::optional<std::string>& yaml) const;

  std::vector<std::string> paths_;
  std::string state_dir_;
  bool loaded_once_ = false;
  std::vector<config::SourceText> file_texts_;
  std::map<ObjectKey, Entry> files_;  // objects the configuration files define
  std::map<ObjectKey, Entry> api_;    // objects created through the API
  std::map<ObjectKey, Entry> cluster_;  // objects of the Kubernetes API server (validated)
  config::ObjectSet objects_;
};

// The object's document as JSON (Kubernetes shape), with Secret data and BGPPeer passwords
// replaced by "REDACTED". Never throws: a document yaml-cpp cannot convert gives {}.
nlohmann::ordered_json document_json(const std::string& yaml);

// Reads `paths` as config::load would (directories: their *.yaml / *.yml files by name).
// Unreadable paths become errors with the path.
std::vector<config::SourceText> read_sources(const std::vector<std::string>& paths,
                                             std::vector<config::Diagnostic>* errors);

// Writes `text` to `path` atomically: PATH.tmp, fsync, rename, fsync of the directory.
bool write_file_atomically(const std::string& path, const std::string& text, std::string* error);

}  // namespace control::api
