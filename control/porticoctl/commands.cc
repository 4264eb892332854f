// porticoctl: argument parsing, one function per command, and the mapping of gRPC outcomes to
// exit codes (see commands.h). Runs on the caller's thread; every RPC is synchronous with a
// deadline (kCallSeconds) except the `events` stream, which ends on --count, --timeout, the
// server closing it, or the user's Ctrl-C.
#include "control/porticoctl/commands.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <grpcpp/client_context.h>
#include <yaml-cpp/yaml.h>

#include "control/porticoctl/format.h"
#include "control/porticoctl/json_yaml.h"
#include "control/porticoctl/kinds.h"
#include "portico.grpc.pb.h"

#ifndef PORTICO_VERSION
#define PORTICO_VERSION "dev"
#endif

namespace porticoctl {

namespace pb = portico::v1;
namespace fs = std::filesystem;

namespace {

constexpr int kCallSeconds = 30;  // a unary call that takes longer counts as unreachable

struct FlagSpec {
  std::string name;
  char short_name = 0;
  bool takes_value = false;
};

struct Session;

struct Command {
  std::string name;
  std::string usage;    // after "porticoctl "
  std::string summary;  // one line, for the top-level help
  std::string details;  // flags and notes, for `CMD --help`
  std::vector<FlagSpec> flags;
  int (*handler)(Session&);
};

const std::vector<FlagSpec> kGlobalFlags = {
    {"api", 0, true},      {"tls-ca", 0, true},  {"tls-cert", 0, true},
    {"tls-key", 0, true},  {"help", 'h', false}, {"version", 0, false},
};

const char* kGlobalHelp =
    "Global flags:\n"
    "  --api ADDRESS     the API: unix:///path, unix:/path, host:port or tcp://host:port\n"
    "                    (default $PORTICO_API, else unix:///run/portico/api.sock)\n"
    "  --tls-ca FILE     CA of the server's certificate (TCP only; $PORTICO_TLS_CA)\n"
    "  --tls-cert FILE   client certificate (TCP only; $PORTICO_TLS_CERT)\n"
    "  --tls-key FILE    its private key (TCP only; $PORTICO_TLS_KEY)\n"
    "  -h, --help        help of porticoctl or of a command\n"
    "\n"
    "Exit codes: 0 ok; 1 the server refused (\"Error from server (CODE): message\");\n"
    "2 usage error; 3 the API cannot be reached.\n";

// ---- parsed command line ----

struct Parsed {
  std::map<std::string, std::vector<std::string>> flags;  // long name -> values ("" for bools)
  std::vector<std::string> positionals;

  bool has(const std::string& name) const { return flags.count(name) != 0; }
  std::optional<std::string> value(const std::string& name) const {
    auto it = flags.find(name);
    if (it == flags.end()) return std::nullopt;
    return it->second.back();  // the last one wins, as in most CLIs
  }
  std::vector<std::string> values(const std::string& name) const {
    auto it = flags.find(name);
    return it == flags.end() ? std::vector<std::string>{} : it->second;
  }
};

struct Session {
  Io& io;
  const Command& cmd;
  Parsed args;
  ApiEndpoint api;
  std::unique_ptr<pb::Portico::Stub> stub;

  int usage(const std::string& message) {
    io.err << "error: " << message << "\n"
           << "Usage: porticoctl " << cmd.usage << "\n"
           << "Run 'porticoctl " << cmd.name << " --help' for more.\n";
    return kExitUsage;
  }

  // Resolves the address and makes the stub; an exit code when that fails, else nullopt.
  std::optional<int> connect() {
    TlsFiles tls{args.value("tls-ca").value_or(""), args.value("tls-cert").value_or(""),
                 args.value("tls-key").value_or("")};
    std::string error;
    auto resolved = resolve_api(args.value("api"), tls, io.getenv, &error);
    if (!resolved) {
      io.err << "error: " << error << "\n";
      return kExitUsage;
    }
    api = *resolved;
    auto channel = make_channel(api, &error);
    if (!channel) {
      io.err << "error: " << error << "\n";
      return kExitUsage;
    }
    stub = pb::Portico::NewStub(channel);
    return std::nullopt;
  }

  // A failed call: 3 when the API is out of reach, 1 when the server said no.
  int fail(const grpc::Status& s) {
    switch (s.error_code()) {
      case grpc::StatusCode::UNAVAILABLE:
        io.err << "error: cannot reach the Portico API at " << api.shown << ": "
               << s.error_message()
               << "\n(is `portico run` running with the API on that address? see --api and "
                  "PORTICO_API)\n";
        return kExitUnreachable;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        io.err << "error: the Portico API at " << api.shown << " did not answer within "
               << kCallSeconds << " s\n";
        return kExitUnreachable;
      default:
        io.err << "Error from server (" << code_name(s.error_code()) << "): " << s.error_message()
               << "\n";
        return kExitRefused;
    }
  }

  static std::string code_name(grpc::StatusCode c) {
    switch (c) {
      case grpc::StatusCode::CANCELLED: return "CANCELLED";
      case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
      case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
      case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
      case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
      case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
      case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
      case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
      case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
      case grpc::StatusCode::ABORTED: return "ABORTED";
      case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
      case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
      case grpc::StatusCode::INTERNAL: return "INTERNAL";
      case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
      case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
      case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
      default: return "CODE " + std::to_string(static_cast<int>(c));
    }
  }

  // One unary call with the deadline.
  template <class Req, class Resp>
  grpc::Status call(grpc::Status (pb::Portico::Stub::*fn)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(kCallSeconds));
    return ((*stub).*fn)(&ctx, req, resp);
  }
};

// ---- small parsers ----

std::optional<uint64_t> parse_uint(const std::string& s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (max - static_cast<uint64_t>(c - '0')) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// Seconds as "2", "0.5"; nullopt unless 0 < s <= max.
std::optional<double> parse_seconds(const std::string& s, double max) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !(v > 0) || v > max) return std::nullopt;
  return v;
}

// One kind a line with its other names, for `get --help`.
std::string kind_lines() {
  std::string out;
  for (const KindInfo& k : all_kinds()) {
    out += "  " + k.names[0];
    for (size_t i = 1; i < k.names.size(); ++i) out += (i == 1 ? " (" : ", ") + k.names[i];
    out += k.names.size() > 1 ? ")\n" : "\n";
  }
  return out;
}

std::string kind_names() {
  std::string out;
  for (const KindInfo& k : all_kinds()) {
    out += (out.empty() ? "" : ", ") + k.names[0];
    for (size_t i = 1; i < k.names.size(); ++i) out += "|" + k.names[i];
  }
  return out;
}

// ---- input files (apply -f, delete -f) ----

struct Input {
  std::string name;  // the path, or "-" for stdin
  std::string text;
};

bool has_config_extension(const fs::path& p) {
  std::string e = p.extension().string();
  return e == ".yaml" || e == ".yml" || e == ".json";
}

// Reads every -f: files as given, directories' *.yaml/*.yml/*.json (not recursive, in name
// order), "-" from stdin once.
bool read_inputs(Session& s, std::vector<Input>* inputs) {
  bool stdin_read = false;
  for (const std::string& f : s.args.values("filename")) {
    if (f == "-") {
      if (stdin_read) {
        s.usage("-f - given twice");
        return false;
      }
      stdin_read = true;
      std::ostringstream text;
      text << s.io.in.rdbuf();
      inputs->push_back({"-", text.str()});
      continue;
    }
    std::error_code ec;
    std::vector<fs::path> files;
    if (fs::is_directory(f, ec)) {
      for (const auto& entry : fs::directory_iterator(f, ec))
        if (entry.is_regular_file() && has_config_extension(entry.path()))
          files.push_back(entry.path());
      if (ec) {
        s.io.err << "error: cannot list " << f << ": " << ec.message() << "\n";
        return false;
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        s.io.err << "error: " << f << " holds no *.yaml, *.yml or *.json file\n";
        return false;
      }
    } else {
      files.push_back(f);
    }
    for (const fs::path& p : files) {
      std::ifstream in(p, std::ios::binary);
      std::ostringstream text;
      if (in) text << in.rdbuf();
      if (!in || in.bad()) {
        s.io.err << "error: cannot read " << p.string() << ": "
                 << (fs::exists(p, ec) ? "permission denied or not a file" : "no such file")
                 << "\n";
        return false;
      }
      inputs->push_back({p.string(), text.str()});
    }
  }
  return true;
}

// ---- object commands ----

int cmd_apply(Session& s) {
  if (!s.args.positionals.empty()) return s.usage("apply takes no arguments besides -f");
  if (!s.args.has("filename")) return s.usage("apply needs -f FILE, -f DIRECTORY or -f -");
  std::vector<Input> inputs;
  if (!read_inputs(s, &inputs)) return kExitUsage;
  // One request for everything: the server applies it all or nothing. Several inputs are joined
  // as YAML documents (JSON is YAML).
  pb::ApplyRequest req;
  std::string documents;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i != 0) documents += documents.empty() || documents.back() == '\n' ? "---\n" : "\n---\n";
    documents += inputs[i].text;
  }
  if (documents.find_first_not_of(" \t\r\n") == std::string::npos) {
    s.io.err << "error: nothing to apply: the input is empty\n";
    return kExitUsage;
  }
  req.set_documents(documents);
  req.set_dry_run(s.args.has("dry-run"));
  if (auto rc = s.connect()) return *rc;
  pb::ApplyResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::Apply, req, &resp);
  if (!st.ok()) return s.fail(st);
  s.io.err << format_apply_warnings(resp);
  s.io.out << format_apply(resp, req.dry_run());
  return kExitOk;
}

// The kind named by positional `i`, or an usage error.
std::optional<KindInfo> kind_arg(Session& s, size_t i, int* rc) {
  if (s.args.positionals.size() <= i) {
    *rc = s.usage("a KIND is needed (" + kind_names() + ")");
    return std::nullopt;
  }
  auto k = find_kind(s.args.positionals[i]);
  if (!k) *rc = s.usage("unknown kind \"" + s.args.positionals[i] + "\"; known: " + kind_names());
  return k;
}

// The namespace of the object `name` of `kind`: -n when given; "" for cluster-scoped kinds;
// else the namespace holding the only object of that name (asked with List), "default" when
// none does (the server then answers NOT_FOUND). Two namespaces holding one are ambiguous.
std::optional<std::string> namespace_for(Session& s, const KindInfo& kind, const std::string& name,
                                         int* rc) {
  if (!kind.namespaced) {
    if (s.args.has("namespace")) {
      *rc = s.usage(kind.kind + " is cluster-scoped: no -n");
      return std::nullopt;
    }
    return std::string();
  }
  if (auto ns = s.args.value("namespace")) return *ns;
  pb::ListRequest req;
  req.set_kind(kind.kind);
  pb::ListResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::List, req, &resp);
  if (!st.ok()) {
    *rc = s.fail(st);
    return std::nullopt;
  }
  std::vector<std::string> found;
  for (const auto& o : resp.objects())
    if (object_name(o) == name) found.push_back(object_namespace(o));
  if (found.empty()) return std::string("default");
  if (found.size() == 1) return found[0];
  std::string list;
  for (const auto& ns : found) list += (list.empty() ? "" : ", ") + ns;
  s.io.err << "error: " << kind.kind << " \"" << name << "\" exists in several namespaces (" << list
           << "): say which with -n\n";
  *rc = kExitUsage;
  return std::nullopt;
}

pb::ObjectRef make_ref(const KindInfo& kind, const std::string& ns, const std::string& name) {
  pb::ObjectRef ref;
  ref.set_kind(kind.kind);
  ref.set_namespace_(ns);
  ref.set_name(name);
  return ref;
}

int cmd_get(Session& s) {
  int rc = kExitOk;
  auto kind = kind_arg(s, 0, &rc);
  if (!kind) return rc;
  if (s.args.positionals.size() > 2) return s.usage("get takes KIND and at most one NAME");
  if (s.args.has("namespace") && s.args.has("all-namespaces"))
    return s.usage("-n and -A exclude each other");
  std::string output = s.args.value("output").value_or("");
  if (output != "" && output != "json" && output != "yaml")
    return s.usage("-o takes json or yaml");
  if (auto c = s.connect()) return *c;

  std::vector<pb::Object> objects;
  const bool single = s.args.positionals.size() == 2;
  if (single) {
    const std::string& name = s.args.positionals[1];
    auto ns = namespace_for(s, *kind, name, &rc);
    if (!ns) return rc;
    pb::GetRequest req;
    *req.mutable_ref() = make_ref(*kind, *ns, name);
    pb::Object obj;
    grpc::Status st = s.call(&pb::Portico::Stub::Get, req, &obj);
    if (!st.ok()) return s.fail(st);
    objects.push_back(obj);
  } else {
    if (!kind->namespaced && s.args.has("namespace"))
      return s.usage(kind->kind + " is cluster-scoped: no -n");
    pb::ListRequest req;
    req.set_kind(kind->kind);
    req.set_namespace_(s.args.value("namespace").value_or(""));
    pb::ListResponse resp;
    grpc::Status st = s.call(&pb::Portico::Stub::List, req, &resp);
    if (!st.ok()) return s.fail(st);
    objects.assign(resp.objects().begin(), resp.objects().end());
  }
  if (output == "json")
    s.io.out << format_objects_json(objects, single);
  else if (output == "yaml")
    s.io.out << format_objects_yaml(objects, single);
  else if (objects.empty() && s.args.has("namespace"))
    s.io.out << "No resources found in " << *s.args.value("namespace") << " namespace.\n";
  else
    s.io.out << format_object_table(*kind, objects, !single && !s.args.has("namespace"));
  return kExitOk;
}

int cmd_describe(Session& s) {
  int rc = kExitOk;
  auto kind = kind_arg(s, 0, &rc);
  if (!kind) return rc;
  if (s.args.positionals.size() != 2) return s.usage("describe takes KIND NAME");
  if (auto c = s.connect()) return *c;
  const std::string& name = s.args.positionals[1];
  auto ns = namespace_for(s, *kind, name, &rc);
  if (!ns) return rc;
  pb::GetRequest req;
  *req.mutable_ref() = make_ref(*kind, *ns, name);
  pb::Object obj;
  grpc::Status st = s.call(&pb::Portico::Stub::Get, req, &obj);
  if (!st.ok()) return s.fail(st);
  if (!obj.has_ref()) *obj.mutable_ref() = req.ref();
  s.io.out << format_describe(obj);
  return kExitOk;
}

// The objects named in delete -f inputs: each document's kind, metadata.name and
// metadata.namespace ("default" for namespaced kinds without one, as `apply` does). Documents may
// be v1 Lists or, in JSON, arrays.
bool refs_of_inputs(Session& s, const std::vector<Input>& inputs, std::vector<pb::ObjectRef>* refs) {
  std::function<bool(const Input&, const YAML::Node&)> add = [&](const Input& in,
                                                                  const YAML::Node& doc) {
    if (!doc || doc.IsNull()) return true;
    if (doc.IsSequence()) {
      for (const auto& item : doc)
        if (!add(in, item)) return false;
      return true;
    }
    auto where = [&] { return in.name + ":" + std::to_string(doc.Mark().line + 1); };
    if (!doc.IsMap()) {
      s.io.err << "error: " << where() << ": a Kubernetes object must be a mapping\n";
      return false;
    }
    std::string kind = doc["kind"] && doc["kind"].IsScalar() ? doc["kind"].Scalar() : "";
    if (kind == "List" && doc["items"]) return add(in, doc["items"]);
    const YAML::Node meta = doc["metadata"];
    std::string name = meta && meta.IsMap() && meta["name"] && meta["name"].IsScalar()
                           ? meta["name"].Scalar()
                           : "";
    if (kind.empty() || name.empty()) {
      s.io.err << "error: " << where() << ": the object has no kind or no metadata.name\n";
      return false;
    }
    std::string ns = meta["namespace"] && meta["namespace"].IsScalar() ? meta["namespace"].Scalar()
                                                                       : "";
    auto info = kind_by_name(kind);
    if (ns.empty() && (!info || info->namespaced)) ns = "default";
    pb::ObjectRef ref;
    ref.set_kind(kind);
    ref.set_namespace_(info && !info->namespaced ? "" : ns);
    ref.set_name(name);
    refs->push_back(ref);
    return true;
  };
  for (const Input& in : inputs) {
    try {
      for (const YAML::Node& doc : YAML::LoadAll(in.text))
        if (!add(in, doc)) return false;
    } catch (const YAML::Exception& e) {
      s.io.err << "error: " << in.name << ":" << e.mark.line + 1 << ": " << e.msg << "\n";
      return false;
    }
  }
  if (refs->empty()) {
    s.io.err << "error: no object to delete in the input\n";
    return false;
  }
  return true;
}

int cmd_delete(Session& s) {
  std::vector<pb::ObjectRef> refs;
  int rc = kExitOk;
  if (s.args.has("filename")) {
    if (!s.args.positionals.empty()) return s.usage("delete takes either KIND NAME or -f");
    if (s.args.has("namespace")) return s.usage("-n does not go with -f: the files name it");
    std::vector<Input> inputs;
    if (!read_inputs(s, &inputs) || !refs_of_inputs(s, inputs, &refs)) return kExitUsage;
    if (auto c = s.connect()) return *c;
  } else {
    auto kind = kind_arg(s, 0, &rc);
    if (!kind) return rc;
    if (s.args.positionals.size() != 2) return s.usage("delete takes KIND NAME (or -f FILE)");
    if (auto c = s.connect()) return *c;
    auto ns = namespace_for(s, *kind, s.args.positionals[1], &rc);
    if (!ns) return rc;
    refs.push_back(make_ref(*kind, *ns, s.args.positionals[1]));
  }
  // One call per object, as kubectl: a refusal is reported and the rest still deleted; an
  // unreachable API stops at once.
  for (const pb::ObjectRef& ref : refs) {
    pb::DeleteRequest req;
    *req.mutable_ref() = ref;
    pb::DeleteResponse resp;
    grpc::Status st = s.call(&pb::Portico::Stub::Delete, req, &resp);
    if (!st.ok()) {
      int r = s.fail(st);
      if (r == kExitUnreachable) return r;
      rc = r;
      continue;
    }
    s.io.out << ref_text(ref) << " deleted\n";
  }
  return rc;
}

// ---- data plane and speaker ----

int no_positionals(Session& s) {
  return s.args.positionals.empty()
             ? kExitOk
             : s.usage("unexpected argument \"" + s.args.positionals[0] + "\"");
}

int cmd_stats(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  std::string output = s.args.value("output").value_or("");
  if (output != "" && output != "json") return s.usage("-o takes json");
  if (auto c = s.connect()) return *c;
  pb::Stats stats;
  grpc::Status st = s.call(&pb::Portico::Stub::GetStats, pb::StatsRequest(), &stats);
  if (!st.ok()) return s.fail(st);
  s.io.out << (output == "json" ? message_json(stats) : format_stats(stats));
  return kExitOk;
}

int cmd_top(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  uint64_t iterations = 0;  // 0: until interrupted
  if (auto v = s.args.value("iterations")) {
    auto n = parse_uint(*v, 1000000);
    if (!n || *n == 0) return s.usage("--iterations takes a whole number from 1 to 1000000");
    iterations = *n;
  }
  double interval = 1.0;
  if (auto v = s.args.value("interval")) {
    auto secs = parse_seconds(*v, 3600);
    if (!secs) return s.usage("--interval takes seconds, more than 0 and at most 3600");
    interval = *secs;
  }
  if (auto c = s.connect()) return *c;
  pb::Stats before;
  grpc::Status st = s.call(&pb::Portico::Stub::GetStats, pb::StatsRequest(), &before);
  if (!st.ok()) return s.fail(st);
  double t_before = s.io.now();
  for (uint64_t i = 0; iterations == 0 || i < iterations; ++i) {
    s.io.sleep(interval);
    pb::Stats after;
    st = s.call(&pb::Portico::Stub::GetStats, pb::StatsRequest(), &after);
    if (!st.ok()) return s.fail(st);
    double t_after = s.io.now();
    // Home and clear, then the frame: a plain ANSI terminal is enough.
    s.io.out << "\x1b[H\x1b[2J" << format_top(before, after, t_after - t_before) << std::flush;
    before = std::move(after);
    t_before = t_after;
  }
  return kExitOk;
}

int cmd_flows(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  std::string output = s.args.value("output").value_or("");
  if (output != "" && output != "json") return s.usage("-o takes json");
  pb::FlowsRequest req;
  req.set_vip(s.args.value("vip").value_or(""));
  req.set_backend(s.args.value("backend").value_or(""));
  req.set_client(s.args.value("client").value_or(""));
  if (auto v = s.args.value("limit")) {
    auto n = parse_uint(*v, 10000);
    if (!n || *n == 0) return s.usage("--limit takes a whole number from 1 to 10000");
    req.set_limit(static_cast<uint32_t>(*n));
  }
  if (auto c = s.connect()) return *c;
  pb::FlowsResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::ListFlows, req, &resp);
  if (!st.ok()) return s.fail(st);
  s.io.out << (output == "json" ? message_json(resp) : format_flows(resp));
  return kExitOk;
}

int cmd_bgp(Session& s) {
  bool routes = false;
  if (!s.args.positionals.empty()) {
    if (s.args.positionals.size() != 1 || s.args.positionals[0] != "routes")
      return s.usage("bgp takes nothing or \"routes\"");
    routes = true;
  }
  std::string output = s.args.value("output").value_or("");
  if (output != "" && output != "json" && output != "wide") return s.usage("-o takes wide or json");
  if (auto c = s.connect()) return *c;
  pb::BgpPeersResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::ListBgpPeers, pb::BgpPeersRequest(), &resp);
  if (!st.ok()) return s.fail(st);
  if (output == "json") {
    s.io.out << message_json(resp);
  } else if (routes) {
    s.io.out << format_bgp_routes(resp);
  } else {
    s.io.out << format_bgp_peers(resp, static_cast<uint64_t>(std::time(nullptr)));
    if (output == "wide") s.io.out << "\n" << format_bgp_routes(resp);
  }
  return kExitOk;
}

int cmd_match(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  auto to = s.args.value("to");
  if (!to || to->empty()) return s.usage("match needs --to ADDRESS:PORT");
  pb::MatchRequest req;
  req.set_to(*to);
  req.set_host(s.args.value("host").value_or(""));
  req.set_path(s.args.value("path").value_or(""));
  req.set_method(s.args.value("method").value_or(""));
  for (const std::string& h : s.args.values("header")) {
    if (h.find(':') == std::string::npos || h.front() == ':')
      return s.usage("--header takes 'Name: value', got \"" + h + "\"");
    req.add_headers(h);
  }
  if (auto c = s.connect()) return *c;
  pb::MatchResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::Match, req, &resp);
  if (!st.ok()) return s.fail(st);
  s.io.out << resp.json();
  if (resp.json().empty() || resp.json().back() != '\n') s.io.out << "\n";
  return kExitOk;
}

int cmd_drain(Session& s) {
  const auto& pos = s.args.positionals;
  pb::DrainRequest req;
  if (pos.size() == 2 && pos[0] == "backend") {
    req.set_backend(pos[1]);
  } else if (pos.size() == 1 && pos[0] == "node") {
    req.set_node(true);
  } else {
    return s.usage("drain takes \"backend ADDRESS[:PORT]\" or \"node\"");
  }
  req.set_undo(s.args.has("undo"));
  if (auto c = s.connect()) return *c;
  pb::DrainResponse resp;
  grpc::Status st = s.call(&pb::Portico::Stub::Drain, req, &resp);
  if (!st.ok()) return s.fail(st);
  s.io.out << format_drain(req, resp);
  return kExitOk;
}

int cmd_events(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  uint64_t count = 0;  // 0: no limit
  if (auto v = s.args.value("count")) {
    auto n = parse_uint(*v, UINT32_MAX);
    if (!n || *n == 0) return s.usage("--count takes a whole number, at least 1");
    count = *n;
  }
  std::optional<double> timeout;
  if (auto v = s.args.value("timeout")) {
    timeout = parse_seconds(*v, 86400 * 365);
    if (!timeout) return s.usage("--timeout takes seconds, more than 0");
  }
  if (auto c = s.connect()) return *c;
  pb::WatchEventsRequest req;
  req.set_replay(s.args.has("replay"));
  grpc::ClientContext ctx;
  if (timeout)
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::microseconds(static_cast<int64_t>(*timeout * 1e6)));
  auto reader = s.stub->WatchEvents(&ctx, req);
  pb::Event event;
  uint64_t seen = 0;
  bool enough = false;
  while (reader->Read(&event)) {
    s.io.out << format_event(event) << std::flush;
    if (count != 0 && ++seen >= count) {
      enough = true;
      ctx.TryCancel();
      while (reader->Read(&event)) {
      }
      break;
    }
  }
  grpc::Status st = reader->Finish();
  if (enough || st.ok()) return kExitOk;
  if (timeout && st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return kExitOk;
  return s.fail(st);
}

int cmd_version(Session& s) {
  if (int rc = no_positionals(s)) return rc;
  s.io.out << "porticoctl " << PORTICO_VERSION << "\n";
  return kExitOk;
}

int cmd_help(Session& s);

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {"apply", "apply -f FILE|DIRECTORY|- [-f ...] [--dry-run]",
       "create or update objects from YAML or JSON",
       "All documents of all -f go in one request: the server validates them together with\n"
       "everything loaded and applies all or nothing. A directory means its *.yaml, *.yml and\n"
       "*.json files (not recursive). Prints each object as created, configured or unchanged.\n"
       "  -f, --filename FILE   a file, a directory, or - for stdin (repeatable)\n"
       "  --dry-run             validate and compute, change nothing\n",
       {{"filename", 'f', true}, {"dry-run", 0, false}},
       cmd_apply},
      {"delete", "delete KIND NAME [-n NAMESPACE] | delete -f FILE|DIRECTORY|-",
       "delete objects",
       "Without -n, the namespace holding the only object of that name. With -f, every\n"
       "object the files name (kind, metadata.name, metadata.namespace or \"default\").\n"
       "  -n, --namespace NS    the object's namespace\n"
       "  -f, --filename FILE   a file, a directory, or - for stdin (repeatable)\n",
       {{"namespace", 'n', true}, {"filename", 'f', true}},
       cmd_delete},
      {"get", "get KIND [NAME] [-n NAMESPACE | -A] [-o json|yaml]", "list objects or show one",
       "KIND, case-insensitive, also as PLURAL.GROUP (ipaddresspools.metallb.io):\n" +
           kind_lines() +
           "Without -n, every namespace (-A says so explicitly).\n"
           "  -n, --namespace NS       only this namespace\n"
           "  -A, --all-namespaces     every namespace\n"
           "  -o, --output json|yaml   the objects themselves (a v1 List when several)\n",
       {{"namespace", 'n', true}, {"all-namespaces", 'A', false}, {"output", 'o', true}},
       cmd_get},
      {"describe", "describe KIND NAME [-n NAMESPACE]",
       "an object in full: spec, status, conditions, events",
       "KIND: as for get. Without -n, the namespace holding the only object of that name.\n"
       "  -n, --namespace NS    the object's namespace\n",
       {{"namespace", 'n', true}},
       cmd_describe},
      {"stats", "stats [-o json]", "data-plane counters: totals, drops, lcores, VIPs, backends",
       "BUSY is the share of an lcore's cycles spent on iterations that handled frames\n"
       "(busy / (busy + idle)). Only the non-zero drop reasons are listed.\n"
       "  -o, --output json     the Stats message as JSON\n",
       {{"output", 'o', true}},
       cmd_stats},
      {"top", "top [--interval SECONDS] [--iterations N]",
       "rates per lcore and VIP, refreshed",
       "Rates between two GetStats --interval apart (default 1 s), over the lcores' own cycle\n"
       "counts when they advanced. Redraws with an ANSI clear; runs until Ctrl-C unless\n"
       "--iterations bounds it.\n"
       "  --interval SECONDS    time between samples (default 1)\n"
       "  --iterations N        frames to print, then exit\n",
       {{"interval", 0, true}, {"iterations", 0, true}},
       cmd_top},
      {"flows", "flows [--vip A] [--backend B] [--client C] [--limit N] [-o json]",
       "the data plane's connection table",
       "Filters take an address or address:port ([v6]:port).\n"
       "  --vip ADDRESS[:PORT]       flows to this VIP\n"
       "  --backend ADDRESS[:PORT]   flows to this backend\n"
       "  --client ADDRESS[:PORT]    flows from this client\n"
       "  --limit N                  at most N flows (default 100, at most 10000)\n"
       "  -o, --output json          the FlowsResponse as JSON\n",
       {{"vip", 0, true}, {"backend", 0, true}, {"client", 0, true}, {"limit", 0, true},
        {"output", 'o', true}},
       cmd_flows},
      {"bgp", "bgp [routes] [-o wide|json]", "BGP sessions, and the routes sent to each peer",
       "ESTABLISHED counts the session's transitions to Established; PREFIXES-SENT is the\n"
       "peer's Adj-RIB-Out. `bgp routes` (or -o wide) lists each peer's routes.\n"
       "  -o, --output wide|json   wide: peers then routes; json: the BgpPeersResponse\n",
       {{"output", 'o', true}},
       cmd_bgp},
      {"match", "match --to ADDRESS:PORT [--host H] [--path P] [--method M] [--header 'N: V']",
       "which route and backend the live configuration picks for a request",
       "Asks the running Snapshot, like `portico match` does of files; prints its JSON answer.\n"
       "  --to ADDRESS:PORT   the VIP and port ([v6]:port)\n"
       "  --host H            the Host header\n"
       "  --path P            the request path\n"
       "  --method M          the request method\n"
       "  --header 'N: V'     a request header (repeatable)\n",
       {{"to", 0, true}, {"host", 0, true}, {"path", 0, true}, {"method", 0, true},
        {"header", 0, true}},
       cmd_match},
      {"drain", "drain backend ADDRESS[:PORT] [--undo] | drain node [--undo]",
       "send no new flows to a backend, or withdraw the node's BGP routes",
       "A drained backend keeps its existing flows; a drained node keeps answering ARP/NDP.\n"
       "  --undo   end the drain\n",
       {{"undo", 0, false}},
       cmd_drain},
      {"events", "events [--replay] [--count N] [--timeout SECONDS]", "stream Portico's events",
       "Prints each event as it comes, until Ctrl-C, --count events or --timeout.\n"
       "  --replay            first the recent events the server still keeps\n"
       "  --count N           stop after N events\n"
       "  --timeout SECONDS   stop after this long (exit 0)\n",
       {{"replay", 0, false}, {"count", 0, true}, {"timeout", 0, true}},
       cmd_events},
      {"version", "version", "porticoctl's version", "", {}, cmd_version},
      {"help", "help [COMMAND]", "help of porticoctl or of a command", "", {}, cmd_help},
  };
  return list;
}

const Command* find_command(const std::string& name) {
  for (const Command& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

std::string top_help() {
  std::string out =
      "porticoctl: the command-line client of Portico's API (gRPC, portico.v1).\n\n"
      "Usage: porticoctl [global flags] COMMAND [flags]\n\nCommands:\n";
  for (const Command& c : commands()) {
    std::string name = "  " + c.name;
    out += name + std::string(12 - std::min<size_t>(11, name.size()), ' ') + c.summary + "\n";
  }
  return out + "\n" + kGlobalHelp + "\nRun 'porticoctl COMMAND --help' for a command's flags.\n";
}

std::string command_help(const Command& c) {
  std::string out = "Usage: porticoctl " + c.usage + "\n\n" + c.summary + ".\n";
  if (!c.details.empty()) out += "\n" + c.details;
  return out + "\n" + kGlobalHelp;
}

int cmd_help(Session& s) {
  if (s.args.positionals.empty()) {
    s.io.out << top_help();
    return kExitOk;
  }
  const Command* c = find_command(s.args.positionals[0]);
  if (c == nullptr || s.args.positionals.size() > 1)
    return s.usage("no command \"" + s.args.positionals[0] + "\"");
  s.io.out << command_help(*c);
  return kExitOk;
}

const FlagSpec* find_flag(const std::vector<FlagSpec>& flags, const std::string& name,
                          char short_name) {
  for (const FlagSpec& f : flags)
    if (short_name != 0 ? f.short_name == short_name : f.name == name) return &f;
  return nullptr;
}

int top_usage(Io& io, const std::string& message) {
  io.err << "error: " << message << "\n"
         << "Usage: porticoctl [global flags] COMMAND [flags]; 'porticoctl --help' lists the "
            "commands.\n";
  return kExitUsage;
}

}  // namespace

Io process_io() {
  return Io{std::cin, std::cout, std::cerr,
            [](const std::string& name) -> std::optional<std::string> {
              const char* v = std::getenv(name.c_str());
              return v ? std::optional<std::string>(v) : std::nullopt;
            },
            [](double seconds) {
              std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
            },
            [] {
              return std::chrono::duration<double>(
                         std::chrono::steady_clock::now().time_since_epoch())
                  .count();
            }};
}

int run(const std::vector<std::string>& args, Io& io) {
  const Command* cmd = nullptr;
  Parsed parsed;
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!flags_done && a == "--") {
      flags_done = true;
      continue;
    }
    if (flags_done || a.size() < 2 || a[0] != '-') {
      if (cmd == nullptr) {
        cmd = find_command(a);
        if (cmd == nullptr) return top_usage(io, "unknown command \"" + a + "\"");
      } else {
        parsed.positionals.push_back(a);
      }
      continue;
    }
    // --name, --name=value, -x, -xVALUE
    std::string name, inline_value;
    bool has_inline = false;
    char short_name = 0;
    if (a[1] == '-') {
      name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
    } else {
      short_name = a[1];
      if (a.size() > 2) {
        inline_value = a.substr(a[2] == '=' ? 3 : 2);
        has_inline = true;
      }
    }
    const FlagSpec* spec = find_flag(kGlobalFlags, name, short_name);
    if (spec == nullptr && cmd != nullptr) spec = find_flag(cmd->flags, name, short_name);
    if (spec == nullptr) {
      std::string msg = "unknown flag " + a;
      if (cmd == nullptr) return top_usage(io, msg);
      Session s{io, *cmd, {}, {}, nullptr};
      return s.usage(msg);
    }
    std::string value;
    if (spec->takes_value) {
      if (has_inline) {
        value = inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        std::string msg = "flag " + a + " needs a value";
        if (cmd == nullptr) return top_usage(io, msg);
        Session s{io, *cmd, {}, {}, nullptr};
        return s.usage(msg);
      }
    } else if (has_inline) {
      std::string msg = "flag --" + spec->name + " takes no value";
      if (cmd == nullptr) return top_usage(io, msg);
      Session s{io, *cmd, {}, {}, nullptr};
      return s.usage(msg);
    }
    parsed.flags[spec->name].push_back(value);
  }

  if (parsed.has("version") && cmd == nullptr) {
    io.out << "porticoctl " << PORTICO_VERSION << "\n";
    return kExitOk;
  }
  if (parsed.has("help")) {
    io.out << (cmd == nullptr ? top_help() : command_help(*cmd));
    return kExitOk;
  }
  if (cmd == nullptr) return top_usage(io, "no command given");
  Session s{io, *cmd, std::move(parsed), {}, nullptr};
  return cmd->handler(s);
}

}  // namespace porticoctl
