// Kubeconfig and in-cluster loading, and the TokenSource (see kubeconfig.h).
//
// Thread: load_kubeconfig / in_cluster_config on the control thread at start-up; TokenSource on
// any control-side thread (it locks). Never on a worker lcore: it reads files and forks.
//
// Decisions where kubectl (client-go) is lenient or surprising, and why we differ or not:
//  * Only the chosen context, its cluster and its user are validated (client-go ConfirmUsable):
//    a broken entry nobody uses does not stop us.
//  * Entries merge by name, first file wins as a whole entry (client-go's merge of the
//    KUBECONFIG list); relative paths resolve against the directory of the file that held the
//    entry, before merging.
//  * certificate-authority with -data, client-certificate with -data, client-key with -data:
//    refused, as client-go's validation refuses them.
//  * token together with tokenFile: refused. client-go accepts it, sends `token` until the file
//    is first read and from then on the file, falling back to `token` silently when the file is
//    unreadable. Which credential is in use would then depend on the file system at that moment;
//    an edge NF should say so at start-up instead. Deleting one of the two lines fixes it.
//  * token/tokenFile/exec/username+password are alternatives: two of them are refused (client-go
//    refuses token with basic auth; the other pairs are equally ambiguous).
//  * auth-provider (gcp, azure, oidc) is refused: client-go 1.26 removed gcp and azure, and the
//    replacement is an exec plugin. Impersonation (as, as-groups...) and proxy-url are refused
//    rather than ignored: ignoring them would act as someone else or bypass a required proxy.
//  * Exec interactiveMode Always is refused: Portico is a daemon and gives plugins no terminal
//    (stdin is /dev/null, spec.interactive is false).
#include "control/k8s/kubeconfig.h"

#include "config/base64.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

extern char** environ;

namespace control::k8s {

namespace {

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return dir + "/" + path;
}

// The whole file, or false with a message naming the path and errno's words.
bool read_file(const std::string& path, std::string* out, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(why, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(why, "read error");
  *out = ss.str();
  return true;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// ---- base64 ----

std::string encode_base64(const std::string& in) {
  static const char* kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kDigits[v >> 18], kDigits[(v >> 12) & 63], kDigits[(v >> 6) & 63], kDigits[v & 63]};
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += {kDigits[v >> 18], kDigits[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kDigits[v >> 18], kDigits[(v >> 12) & 63], kDigits[(v >> 6) & 63], '='};
  }
  return out;
}

// ---- PEM checks (libcrypto) ----
// Checked at load so that a wrong file is reported against the kubeconfig line that named it,
// not later as a TLS handshake failure. OpenSSL's error queue is cleared, never printed: its
// strings say nothing useful here and we keep key material out of every message.

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// Encrypted keys would make OpenSSL prompt on the terminal: refuse the passphrase instead.
int no_passphrase(char*, int, int, void*) { return 0; }

std::unique_ptr<BIO, BioFree> mem_bio(const std::string& s) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

// Number of certificates in `pem` (0: none parsed).
int count_certificates(const std::string& pem) {
  auto bio = mem_bio(pem);
  int n = 0;
  while (true) {
    std::unique_ptr<X509, X509Free> x(
        PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!x) break;
    ++n;
  }
  ERR_clear_error();
  return n;
}

// "" when `cert_pem` holds a certificate and `key_pem` its private key; else what is wrong.
std::string check_cert_and_key(const std::string& cert_pem, const std::string& key_pem) {
  auto cb = mem_bio(cert_pem);
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(cb.get(), nullptr, no_passphrase, nullptr));
  if (!cert) {
    ERR_clear_error();
    return "the client certificate is not a PEM certificate";
  }
  auto kb = mem_bio(key_pem);
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    return "the client key is not an unencrypted PEM private key";
  }
  const bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) return "the client key does not belong to the client certificate";
  return "";
}

// ---- the kubeconfig document ----

// One named entry of clusters[], users[] or contexts[], with where it came from.
struct Entry {
  YAML::Node body;  // the inner `cluster:` / `user:` / `context:` map (may be null)
  std::string file, dir;
  int line = 0;
  std::string where() const { return file + ":" + std::to_string(line); }
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context, current_context_file;
};

// Reads `key` of map `m` as a string; absent or null gives "". `what` names it in messages.
bool get_string(const YAML::Node& m, const char* key, std::string* out, const std::string& what,
                std::string* error) {
  out->clear();
  const YAML::Node n = m[key];
  if (!n || n.IsNull()) return true;
  if (!n.IsScalar()) {
    return fail(error, what + ": " + key + " (line " + std::to_string(n.Mark().line + 1) +
                           ") must be a string");
  }
  *out = n.Scalar();
  return true;
}

bool get_bool(const YAML::Node& m, const char* key, bool* out, const std::string& what,
              std::string* error) {
  *out = false;
  const YAML::Node n = m[key];
  if (!n || n.IsNull()) return true;
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return fail(error, what + ": " + key + " (line " + std::to_string(n.Mark().line + 1) +
                           ") must be true or false");
  }
  *out = v;
  return true;
}

// Adds the entries of one `clusters`/`users`/`contexts` list to `into`, first name wins.
bool merge_list(const YAML::Node& root, const char* list, const char* inner,
                const std::string& file, std::map<std::string, Entry>* into, std::string* error) {
  const YAML::Node seq = root[list];
  if (!seq || seq.IsNull()) return true;
  if (!seq.IsSequence()) {
    return fail(error, "kubeconfig " + file + ":" + std::to_string(seq.Mark().line + 1) + ": " +
                           list + " must be a list");
  }
  for (const YAML::Node& item : seq) {
    const std::string at = "kubeconfig " + file + ":" + std::to_string(item.Mark().line + 1);
    if (!item.IsMap()) return fail(error, at + ": each " + list + " entry must be a map");
    std::string name;
    if (!get_string(item, "name", &name, at, error)) return false;
    if (name.empty()) return fail(error, at + ": a " + list + " entry has no name");
    const YAML::Node body = item[inner];
    if (body && !body.IsNull() && !body.IsMap()) {
      return fail(error,
                  at + ": " + list + " entry " + in_quotes(name) + ": " + inner + " must be a map");
    }
    if (into->count(name)) continue;  // an earlier file (or entry) set it: it wins
    Entry e;
    // yaml-cpp: a missing key yields an invalid node, which cannot be assigned; keep null.
    if (body) e.body = body;
    e.file = file;
    e.dir = dir_of(file);
    e.line = item.Mark().line + 1;
    into->emplace(name, std::move(e));
  }
  return true;
}

bool parse_file(const std::string& file, const std::string& text, Merged* m, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages say what is malformed and where, not the value: safe to pass on.
    return fail(error, "kubeconfig " + file + ":" + std::to_string(e.mark.line + 1) +
                           ": not YAML: " + e.msg);
  }
  if (!root || root.IsNull()) return true;  // an empty file is an empty Config, as for kubectl
  if (!root.IsMap()) return fail(error, "kubeconfig " + file + ": not a Config map");
  try {
    std::string kind, api_version, current;
    const std::string at = "kubeconfig " + file;
    if (!get_string(root, "kind", &kind, at, error) ||
        !get_string(root, "apiVersion", &api_version, at, error) ||
        !get_string(root, "current-context", &current, at, error)) {
      return false;
    }
    if (!kind.empty() && kind != "Config") {
      return fail(error, at + ": kind is " + in_quotes(kind) + ", want Config");
    }
    if (!api_version.empty() && api_version != "v1") {
      return fail(error, at + ": apiVersion is " + in_quotes(api_version) + ", want v1");
    }
    if (m->current_context.empty() && !current.empty()) {
      m->current_context = current;
      m->current_context_file = file;
    }
    return merge_list(root, "clusters", "cluster", file, &m->clusters, error) &&
           merge_list(root, "users", "user", file, &m->users, error) &&
           merge_list(root, "contexts", "context", file, &m->contexts, error);
  } catch (const YAML::Exception& e) {
    return fail(error, "kubeconfig " + file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// A PEM value given either as `key` (a file, relative to the entry's file) or `key`-data
// (base64). Both at once is refused as client-go refuses it.
bool pem_field(const Entry& e, const char* key, const std::string& what, std::string* pem,
               std::string* error) {
  std::string path, data;
  const std::string data_key = std::string(key) + "-data";
  if (!get_string(e.body, key, &path, what, error) ||
      !get_string(e.body, data_key.c_str(), &data, what, error)) {
    return false;
  }
  pem->clear();
  if (!path.empty() && !data.empty()) {
    return fail(error, what + ": both " + key + " and " + data_key + " are set; keep one");
  }
  if (!data.empty()) {
    size_t bad_at = 0;
    if (!config::decode_base64(data, pem, &bad_at, /*skip_blanks=*/true)) {
      return fail(error, what + ": " + data_key + " is not valid base64 (at byte " +
                             std::to_string(bad_at) + ")");
    }
    if (pem->empty()) return fail(error, what + ": " + data_key + " is empty");
  } else if (!path.empty()) {
    const std::string full = resolve(e.dir, path);
    std::string why;
    if (!read_file(full, pem, &why)) {
      return fail(error, what + ": " + key + " " + full + ": " + why);
    }
  }
  return true;
}

bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

bool load_cluster(const std::string& name, const Entry& e, const std::string& origin,
                  ClusterConfig* out, std::string* error) {
  const std::string what = origin + ": cluster " + in_quotes(name) + " (" + e.where() + ")";
  if (!e.body || e.body.IsNull()) return fail(error, what + ": the entry is empty");
  std::string proxy;
  if (!get_string(e.body, "server", &out->server, what, error) ||
      !get_string(e.body, "tls-server-name", &out->tls_server_name, what, error) ||
      !get_string(e.body, "proxy-url", &proxy, what, error) ||
      !get_bool(e.body, "insecure-skip-tls-verify", &out->insecure_skip_tls_verify, what, error) ||
      !pem_field(e, "certificate-authority", what, &out->ca_pem, error)) {
    return false;
  }
  if (!proxy.empty()) {
    return fail(error, what + ": proxy-url is not supported; reach the server directly");
  }
  if (out->server.empty()) return fail(error, what + ": no server");
  // client-go defaults a scheme-less server to https: so do we.
  if (out->server.find("://") == std::string::npos) out->server = "https://" + out->server;
  if (out->server.rfind("https://", 0) != 0 && out->server.rfind("http://", 0) != 0) {
    return fail(error, what + ": server " + in_quotes(out->server) + " is not an http(s) URL");
  }
  while (out->server.size() > 1 && out->server.back() == '/') out->server.pop_back();
  const size_t host_at = out->server.find("://") + 3;
  if (host_at >= out->server.size()) return fail(error, what + ": server has no host");
  if (!out->ca_pem.empty()) {
    if (out->insecure_skip_tls_verify) {
      return fail(error, what +
                             ": a certificate authority and insecure-skip-tls-verify are "
                             "both set; keep one");
    }
    if (count_certificates(out->ca_pem) == 0) {
      return fail(error, what + ": the certificate authority holds no PEM certificate");
    }
  }
  return true;
}

bool load_exec(const std::string& user, const Entry& e, const YAML::Node& x,
               const std::string& what, ExecConfig* ex, std::string* error) {
  const std::string w = what + ": exec";
  if (!x.IsMap()) return fail(error, w + " must be a map");
  ex->user = user;
  ex->dir = e.dir;
  if (!get_string(x, "apiVersion", &ex->api_version, w, error) ||
      !get_string(x, "command", &ex->command, w, error) ||
      !get_string(x, "interactiveMode", &ex->interactive_mode, w, error) ||
      !get_string(x, "installHint", &ex->install_hint, w, error) ||
      !get_bool(x, "provideClusterInfo", &ex->provide_cluster_info, w, error)) {
    return false;
  }
  if (ex->command.empty()) return fail(error, w + ": no command");
  if (ex->api_version == "client.authentication.k8s.io/v1alpha1") {
    return fail(error, w + ": apiVersion v1alpha1 is no longer supported; use "
                           "client.authentication.k8s.io/v1");
  }
  if (ex->api_version != "client.authentication.k8s.io/v1" &&
      ex->api_version != "client.authentication.k8s.io/v1beta1") {
    return fail(error, w + ": apiVersion " + in_quotes(ex->api_version) +
                           " is not client.authentication.k8s.io/v1 or v1beta1");
  }
  if (ex->interactive_mode.empty()) {
    if (ex->api_version == "client.authentication.k8s.io/v1") {
      return fail(error, w + ": interactiveMode is required with apiVersion v1");
    }
    ex->interactive_mode = "IfAvailable";  // v1beta1's default
  }
  if (ex->interactive_mode == "Always") {
    return fail(error, w + ": interactiveMode Always needs a terminal, and Portico runs without "
                           "one; use Never or IfAvailable");
  }
  if (ex->interactive_mode != "Never" && ex->interactive_mode != "IfAvailable") {
    return fail(error, w + ": interactiveMode " + in_quotes(ex->interactive_mode) +
                           " is not Never, IfAvailable or Always");
  }
  const YAML::Node args = x["args"];
  if (args && !args.IsNull()) {
    if (!args.IsSequence()) return fail(error, w + ": args must be a list of strings");
    for (const YAML::Node& a : args) {
      if (!a.IsScalar()) return fail(error, w + ": args must be a list of strings");
      ex->args.push_back(a.Scalar());
    }
  }
  const YAML::Node env = x["env"];
  if (env && !env.IsNull()) {
    if (!env.IsSequence()) return fail(error, w + ": env must be a list of {name, value}");
    for (const YAML::Node& v : env) {
      if (!v.IsMap()) return fail(error, w + ": env must be a list of {name, value}");
      std::string name, value;
      if (!get_string(v, "name", &name, w + " env", error) ||
          !get_string(v, "value", &value, w + " env", error)) {
        return false;
      }
      if (name.empty() || name.find('=') != std::string::npos) {
        return fail(error, w + ": an env entry has no valid name");
      }
      ex->env.emplace_back(name, value);
    }
  }
  return true;
}

bool load_user(const std::string& name, const Entry& e, const std::string& origin,
               ClusterConfig* out, std::string* error) {
  const std::string what = origin + ": user " + in_quotes(name) + " (" + e.where() + ")";
  if (!e.body || e.body.IsNull()) return true;  // an empty user: anonymous, as for kubectl
  const YAML::Node& u = e.body;

  if (const YAML::Node ap = u["auth-provider"]; ap && !ap.IsNull()) {
    std::string provider;
    if (ap.IsMap()) get_string(ap, "name", &provider, what, nullptr);
    std::string hint = "use an exec credential plugin instead";
    if (provider == "gcp") hint = "use the exec plugin gke-gcloud-auth-plugin instead";
    if (provider == "azure") hint = "use the exec plugin kubelogin instead";
    if (provider == "oidc") hint = "use an exec plugin such as kubelogin (kubectl oidc-login)";
    return fail(error, what + ": auth-provider " + in_quotes(provider) +
                           " is not supported (client-go removed auth providers); " + hint);
  }
  for (const char* key : {"as", "as-uid", "as-groups", "as-user-extra"}) {
    if (const YAML::Node n = u[key]; n && !n.IsNull()) {
      return fail(error, what + ": impersonation (" + key + ") is not supported");
    }
  }

  std::string token_file;
  if (!get_string(u, "token", &out->token, what, error) ||
      !get_string(u, "tokenFile", &token_file, what, error) ||
      !get_string(u, "username", &out->username, what, error) ||
      !get_string(u, "password", &out->password, what, error) ||
      !pem_field(e, "client-certificate", what, &out->client_cert_pem, error) ||
      !pem_field(e, "client-key", what, &out->client_key_pem, error)) {
    return false;
  }
  if (!out->client_cert_pem.empty() && out->client_key_pem.empty()) {
    return fail(error, what + ": a client certificate without a client key");
  }
  if (out->client_cert_pem.empty() && !out->client_key_pem.empty()) {
    return fail(error, what + ": a client key without a client certificate");
  }
  if (!out->client_cert_pem.empty()) {
    if (std::string why = check_cert_and_key(out->client_cert_pem, out->client_key_pem);
        !why.empty()) {
      return fail(error, what + ": " + why);
    }
  }
  if (!out->token.empty() && !token_file.empty()) {
    return fail(error, what +
                           ": both token and tokenFile are set; keep one (kubectl would "
                           "send either, depending on whether the file is readable)");
  }
  if (!token_file.empty()) {
    out->token_file = resolve(e.dir, token_file);
    std::string text, why;
    if (!read_file(out->token_file, &text, &why)) {
      return fail(error, what + ": tokenFile " + out->token_file + ": " + why);
    }
    if (trim(text).empty())
      return fail(error, what + ": tokenFile " + out->token_file + " is empty");
  }
  if (const YAML::Node x = u["exec"]; x && !x.IsNull()) {
    ExecConfig ex;
    if (!load_exec(name, e, x, what, &ex, error)) return false;
    out->exec = std::move(ex);
  }
  std::vector<std::string> methods;
  if (!out->token.empty()) methods.push_back("token");
  if (!out->token_file.empty()) methods.push_back("tokenFile");
  if (!out->username.empty() || !out->password.empty()) methods.push_back("username/password");
  if (out->exec) methods.push_back("exec");
  if (methods.size() > 1) {
    std::string list;
    for (const auto& m : methods) list += (list.empty() ? "" : ", ") + m;
    return fail(error, what + ": more than one way to authenticate (" + list + "); keep one");
  }
  return true;
}

}  // namespace

// ---- load_kubeconfig ----

bool load_kubeconfig(const std::string& paths, const std::string& context, ClusterConfig* out,
                     std::string* error) {
  *out = ClusterConfig{};
  std::vector<std::string> files;
  for (size_t b = 0; b <= paths.size();) {
    size_t e = paths.find(':', b);
    if (e == std::string::npos) e = paths.size();
    if (e > b) files.push_back(paths.substr(b, e - b));
    b = e + 1;
  }
  if (files.empty()) return fail(error, "kubeconfig: no file given");

  Merged merged;
  std::vector<std::string> missing;
  int read = 0;
  for (const std::string& f : files) {
    // kubectl skips missing files of a KUBECONFIG list; a single named file must exist, and
    // a file that exists but cannot be read is always an error.
    struct stat st;
    if (files.size() > 1 && ::stat(f.c_str(), &st) != 0 && errno == ENOENT) {
      missing.push_back(f);
      continue;
    }
    std::string text, why;
    if (!read_file(f, &text, &why)) return fail(error, "kubeconfig " + f + ": " + why);
    ++read;
    if (!parse_file(f, text, &merged, error)) return false;
  }
  if (read == 0) return fail(error, "kubeconfig " + paths + ": none of these files exists");
  for (const auto& f : missing) {
    spdlog::warn("event=kubeconfig_missing file={} list={}", f, paths);
  }

  const std::string ctx_name = context.empty() ? merged.current_context : context;
  if (ctx_name.empty()) {
    return fail(error, "kubeconfig " + paths + ": no context chosen and no current-context set");
  }
  const auto ctx = merged.contexts.find(ctx_name);
  if (ctx == merged.contexts.end()) {
    std::string names;
    for (const auto& [n, _] : merged.contexts) names += (names.empty() ? "" : ", ") + n;
    std::string from =
        context.empty() ? " (the current-context of " + merged.current_context_file + ")" : "";
    return fail(error,
                "kubeconfig " + paths + ": context " + in_quotes(ctx_name) + from +
                    " is not defined" +
                    (names.empty() ? std::string(" (no contexts)") : " (contexts: " + names + ")"));
  }
  const Entry& ce = ctx->second;
  out->origin = "kubeconfig " + ce.file + ", context " + ctx_name;
  const std::string what = out->origin + " (" + ce.where() + ")";
  if (!ce.body || ce.body.IsNull()) return fail(error, what + ": the context is empty");
  std::string cluster, user;
  try {
    if (!get_string(ce.body, "cluster", &cluster, what, error) ||
        !get_string(ce.body, "user", &user, what, error) ||
        !get_string(ce.body, "namespace", &out->namespace_, what, error)) {
      return false;
    }
    if (cluster.empty()) return fail(error, what + ": names no cluster");
    if (user.empty()) return fail(error, what + ": names no user");
    if (!out->namespace_.empty() && !is_dns_label(out->namespace_)) {
      return fail(error,
                  what + ": namespace " + in_quotes(out->namespace_) + " is not a DNS label");
    }
    const auto cl = merged.clusters.find(cluster);
    if (cl == merged.clusters.end()) {
      return fail(error, what + ": cluster " + in_quotes(cluster) + " is not defined");
    }
    const auto us = merged.users.find(user);
    if (us == merged.users.end()) {
      return fail(error, what + ": user " + in_quotes(user) + " is not defined");
    }
    return load_cluster(cluster, cl->second, out->origin, out, error) &&
           load_user(user, us->second, out->origin, out, error);
  } catch (const YAML::Exception& e) {
    return fail(error, what + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

// ---- in-cluster ----

InClusterEnv InClusterEnv::from_process() {
  InClusterEnv env;
  if (const char* h = std::getenv("KUBERNETES_SERVICE_HOST")) env.host = h;
  if (const char* p = std::getenv("KUBERNETES_SERVICE_PORT")) env.port = p;
  return env;
}

bool in_cluster_config(const InClusterEnv& env, ClusterConfig* out, std::string* error) {
  *out = ClusterConfig{};
  out->origin = "in-cluster";
  if (env.host.empty() || env.port.empty()) {
    return fail(error,
                "in-cluster: not running in a pod (KUBERNETES_SERVICE_HOST and "
                "KUBERNETES_SERVICE_PORT must both be set)");
  }
  if (env.port.size() > 5 || env.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(env.port) == 0 || std::stoi(env.port) > 65535) {
    return fail(error, "in-cluster: KUBERNETES_SERVICE_PORT " + in_quotes(env.port) +
                           " is not a port number");
  }
  const bool v6 = env.host.find(':') != std::string::npos && env.host.front() != '[';
  out->server = "https://" + (v6 ? "[" + env.host + "]" : env.host) + ":" + env.port;

  const std::string ca = env.dir + "/ca.crt";
  std::string why;
  if (!read_file(ca, &out->ca_pem, &why)) return fail(error, "in-cluster: " + ca + ": " + why);
  if (count_certificates(out->ca_pem) == 0) {
    return fail(error, "in-cluster: " + ca + " holds no PEM certificate");
  }
  // The token rotates (bound service-account tokens): TokenSource re-reads the file. It must be
  // there now, so that a pod without a mounted token fails at start-up, not at the first call.
  out->token_file = env.dir + "/token";
  std::string token;
  if (!read_file(out->token_file, &token, &why)) {
    return fail(error, "in-cluster: " + out->token_file + ": " + why);
  }
  if (trim(token).empty()) return fail(error, "in-cluster: " + out->token_file + " is empty");
  std::string ns;
  if (read_file(env.dir + "/namespace", &ns, &why)) out->namespace_ = trim(ns);
  return true;
}

// ---- ExecCredential ----

namespace {

// RFC 3339 as Go's time.Time marshals it: 2006-01-02T15:04:05[.frac](Z|±hh:mm).
bool parse_rfc3339(const std::string& s, std::chrono::system_clock::time_point* out) {
  int y, mo, d, h, mi, sec;
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                  &used) != 6 ||
      used != 19) {
    return false;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset = (s[i] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  const time_t t = timegm(&tm);
  *out = std::chrono::system_clock::from_time_t(t - offset);
  return true;
}

}  // namespace

bool parse_exec_credential(const std::string& stdout_text, const std::string& want_api_version,
                           std::chrono::system_clock::time_point wall_now,
                           std::chrono::steady_clock::time_point steady_now, ExecCredential* out,
                           std::string* error) {
  using nlohmann::json;
  *out = ExecCredential{};
  // The output is never quoted back: it is meant to hold a credential.
  const json j = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fail(error, "its output is not JSON");
  if (!j.is_object()) return fail(error, "its output is not a JSON object");
  auto str = [&](const json& o, const char* key, std::string* v) {
    v->clear();
    const auto it = o.find(key);
    if (it == o.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    *v = it->get<std::string>();
    return true;
  };
  std::string kind, api_version;
  if (!str(j, "kind", &kind) || kind != "ExecCredential") {
    return fail(error, "its output is not an ExecCredential (kind " +
                           (kind.size() <= 64 ? in_quotes(kind) : std::string("too long")) + ")");
  }
  if (!str(j, "apiVersion", &api_version) || api_version != want_api_version) {
    return fail(error, "it answered apiVersion " +
                           (api_version.size() <= 64 ? in_quotes(api_version) : "(too long)") +
                           " but the kubeconfig asks for " + in_quotes(want_api_version));
  }
  const auto status = j.find("status");
  if (status == j.end() || !status->is_object()) return fail(error, "its output has no status");
  std::string expiry;
  if (!str(*status, "token", &out->token) ||
      !str(*status, "clientCertificateData", &out->client_cert_pem) ||
      !str(*status, "clientKeyData", &out->client_key_pem) ||
      !str(*status, "expirationTimestamp", &expiry)) {
    return fail(error, "its status has a field that is not a string");
  }
  if (out->client_cert_pem.empty() != out->client_key_pem.empty()) {
    return fail(error, "it returned a client certificate or key without the other");
  }
  if (out->token.empty() && out->client_cert_pem.empty()) {
    return fail(error, "it returned neither a token nor a client certificate and key");
  }
  if (!out->client_cert_pem.empty()) {
    if (std::string why = check_cert_and_key(out->client_cert_pem, out->client_key_pem);
        !why.empty()) {
      return fail(error, why);
    }
  }
  if (!expiry.empty()) {
    std::chrono::system_clock::time_point at;
    if (!parse_rfc3339(expiry, &at)) {
      return fail(error, "its expirationTimestamp " +
                             (expiry.size() <= 40 ? in_quotes(expiry) : std::string("(too long)")) +
                             " is not RFC 3339");
    }
    // The plugin speaks wall-clock time; our cache runs on the steady clock.
    out->expires =
        steady_now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - wall_now);
  }
  return true;
}

// ---- running the plugin ----

namespace {

constexpr size_t kMaxPluginOutput = 1 << 20;

// Finds the program: a command with a '/' is a path (relative ones against the kubeconfig's
// directory, as client-go resolves them); a bare name is looked up on $PATH. Done before fork so
// the child only calls async-signal-safe functions.
bool find_program(const ExecConfig& ex, std::string* path, std::string* error) {
  auto runnable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (ex.command.find('/') != std::string::npos) {
    *path = resolve(ex.dir, ex.command);
    if (runnable(*path)) return true;
    return fail(error, "its command " + *path + " is not an executable file");
  }
  const char* env_path = std::getenv("PATH");
  const std::string dirs = env_path && *env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t b = 0; b <= dirs.size();) {
    size_t e = dirs.find(':', b);
    if (e == std::string::npos) e = dirs.size();
    const std::string d = e > b ? dirs.substr(b, e - b) : ".";
    if (runnable(d + "/" + ex.command)) {
      *path = d + "/" + ex.command;
      return true;
    }
    b = e + 1;
  }
  std::string msg = "its command " + in_quotes(ex.command) + " is not on $PATH";
  if (!ex.install_hint.empty()) msg += " (" + ex.install_hint + ")";
  return fail(error, msg);
}

// Runs the plugin with fork/execve (no shell): stdin /dev/null, stdout captured, stderr ours,
// `exec_info` in KUBERNETES_EXEC_INFO, killed (with its process group) after kExecTimeout.
bool run_plugin(const ExecConfig& ex, const std::string& exec_info, std::string* stdout_text,
                std::string* error) {
  std::string program;
  if (!find_program(ex, &program, error)) return false;

  // Everything the child needs is built now: after fork only async-signal-safe calls.
  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), ex.args.begin(), ex.args.end());
  std::map<std::string, std::string> env_m;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env_m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : ex.env) env_m[k] = v;
  env_m["KUBERNETES_EXEC_INFO"] = exec_info;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_m) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0)
    return fail(error, std::string("pipe: ") + std::strerror(errno));
  // The second pipe carries execve's errno to the parent; CLOEXEC closes it on success.
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return fail(error, std::string("pipe: ") + std::strerror(errno));
  }
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], devnull}) ::close(fd);
    return fail(error, std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so a timeout also kills what it started
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::execve(program.c_str(), argv.data(), envp.data());
    const int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  for (int fd : {out_pipe[1], err_pipe[1], devnull}) ::close(fd);

  int exec_errno = 0;
  const ssize_t got = ::read(err_pipe[0], &exec_errno, sizeof exec_errno);
  ::close(err_pipe[0]);

  bool timed_out = false, too_big = false;
  const auto deadline = std::chrono::steady_clock::now() + TokenSource::kExecTimeout;
  stdout_text->clear();
  char buf[4096];
  while (got <= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out_pipe[0], POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    const ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the plugin closed its stdout
    stdout_text->append(buf, static_cast<size_t>(n));
    if (stdout_text->size() > kMaxPluginOutput) {
      too_big = true;
      break;
    }
  }
  ::close(out_pipe[0]);
  if (timed_out || too_big) ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got > 0) {
    return fail(error, "its command " + program + " could not start: " + std::strerror(exec_errno));
  }
  if (timed_out) {
    return fail(error, "it did not finish within " +
                           std::to_string(TokenSource::kExecTimeout.count()) + " s and was killed");
  }
  if (too_big) return fail(error, "it printed more than 1 MiB");
  if (WIFSIGNALED(status)) {
    return fail(error, "it was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    return fail(error, "it exited with status " + std::to_string(WEXITSTATUS(status)) +
                           " (its stderr is in our log)");
  }
  return true;
}

std::string exec_info_json(const ClusterConfig& cfg) {
  nlohmann::ordered_json info = {{"apiVersion", cfg.exec->api_version},
                                 {"kind", "ExecCredential"},
                                 {"spec", {{"interactive", false}}}};
  if (cfg.exec->provide_cluster_info) {
    nlohmann::ordered_json cluster = {{"server", cfg.server}};
    if (!cfg.tls_server_name.empty()) cluster["tls-server-name"] = cfg.tls_server_name;
    if (cfg.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    if (!cfg.ca_pem.empty()) cluster["certificate-authority-data"] = encode_base64(cfg.ca_pem);
    info["spec"]["cluster"] = cluster;
  }
  return info.dump();
}

}  // namespace

// ---- TokenSource ----

TokenSource::TokenSource(ClusterConfig cfg, Clock now)
    : cfg_(std::move(cfg)),
      now_(now ? std::move(now) : Clock([] { return std::chrono::steady_clock::now(); })) {}

bool TokenSource::refresh_file_locked(std::string* error) {
  const auto now = now_();
  std::string text, why;
  std::string problem;
  if (!read_file(cfg_.token_file, &text, &why)) {
    problem = cfg_.token_file + ": " + why;
  } else if (trim(text).empty()) {
    problem = cfg_.token_file + " is empty";
  } else {
    cached_.valid = true;
    cached_.token = trim(text);
    cached_.read_at = now;
    return true;
  }
  // A rotation in progress or a transient error: keep the last good token (as client-go does),
  // unless it was invalidated by a 401, and try again in a minute.
  if (!cached_.token.empty()) {
    spdlog::warn("event=token_file_unreadable origin=\"{}\" problem=\"{}\" action=keep_last",
                 cfg_.origin, problem);
    cached_.valid = true;
    cached_.read_at = now;
    return true;
  }
  return fail(error, cfg_.origin + ": bearer token file " + problem);
}

bool TokenSource::refresh_exec_locked(std::string* error) {
  const std::string who = cfg_.origin + ": exec plugin " + in_quotes(cfg_.exec->command) +
                          " of user " + in_quotes(cfg_.exec->user) + ": ";
  ++exec_runs_;
  std::string out, why;
  if (!run_plugin(*cfg_.exec, exec_info_json(cfg_), &out, &why)) return fail(error, who + why);
  ExecCredential cred;
  if (!parse_exec_credential(out, cfg_.exec->api_version, std::chrono::system_clock::now(), now_(),
                             &cred, &why)) {
    return fail(error, who + why);
  }
  cached_ = Cached{};
  cached_.valid = true;
  cached_.token = std::move(cred.token);
  cached_.cert_pem = std::move(cred.client_cert_pem);
  cached_.key_pem = std::move(cred.client_key_pem);
  cached_.expires = cred.expires;
  cached_.read_at = now_();
  return true;
}

std::string TokenSource::token(std::string* error) {
  std::lock_guard lock(mu_);
  if (!cfg_.token.empty()) return cfg_.token;
  if (!cfg_.token_file.empty()) {
    if (!cached_.valid || now_() - cached_.read_at >= kFileTokenMaxAge) {
      if (!refresh_file_locked(error)) return "";
    }
    return cached_.token;
  }
  if (cfg_.exec) {
    if (!cached_.valid || (cached_.expires && now_() >= *cached_.expires)) {
      if (!refresh_exec_locked(error)) return "";
    }
    return cached_.token;
  }
  return "";
}

std::pair<std::string, std::string> TokenSource::client_cert_and_key(std::string* error) {
  std::lock_guard lock(mu_);
  if (cfg_.exec) {
    if (!cached_.valid || (cached_.expires && now_() >= *cached_.expires)) {
      if (!refresh_exec_locked(error)) return {};
    }
    if (!cached_.cert_pem.empty()) return {cached_.cert_pem, cached_.key_pem};
  }
  return {cfg_.client_cert_pem, cfg_.client_key_pem};
}

void TokenSource::invalidate() {
  std::lock_guard lock(mu_);
  cached_ = Cached{};
}

int TokenSource::exec_runs() const {
  std::lock_guard lock(mu_);
  return exec_runs_;
}

}  // namespace control::k8s
