// Where the Kubernetes API server is and who we are to it: kubeconfig files, the in-cluster
// service account, and the bearer token (or exec-plugin client certificate) to send now.
//
// Thread: load_kubeconfig and in_cluster_config run once on the control thread at start-up (they
// read files, nothing else). TokenSource is called by whichever thread builds a request (the
// Transport's callers), so it locks; it may read a file or run an exec plugin, never on a
// worker lcore.
// Owns: nothing shared; a ClusterConfig is a plain value. TokenSource owns its cached token.
// Follows: client-go tools/clientcmd (kubeconfig merge and validation rules), rest.InClusterConfig,
// transport/token_source.go (file tokens cached for a minute), plugin/pkg/client/auth/exec
// (ExecCredential client.authentication.k8s.io/v1 and v1beta1). See
// /work/shared/reference/k8s-and-bgp.md A7 for the summary.
//
// Secrets (tokens, keys, passwords) never appear in an error message or a log line: messages
// name the file, the context, the user entry and the field, never its value.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace control::k8s {

// A user's `exec` credential plugin, as the kubeconfig wrote it.
struct ExecConfig {
  std::string api_version;  // client.authentication.k8s.io/v1 or /v1beta1
  std::string command;      // as written: absolute, relative to `dir` (has a '/'), or on $PATH
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to our environment
  bool provide_cluster_info = false;                     // KUBERNETES_EXEC_INFO spec.cluster
  std::string interactive_mode;  // Never or IfAvailable (Always is refused: we have no terminal)
  std::string dir;               // the kubeconfig's directory: relative commands resolve there
  std::string user;              // the users[] entry, for messages
  std::string install_hint;      // shown when the command cannot be found
};

struct ClusterConfig {
  std::string server;  // "https://host:port" (maybe with a path prefix), no trailing slash
  std::string
      ca_pem;  // PEM text (certificate-authority file read, or -data decoded); "" = system CAs
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string client_cert_pem, client_key_pem;
  std::string token;       // static bearer token
  std::string token_file;  // tokenFile / the service-account token: re-read (TokenSource)
  std::optional<ExecConfig> exec;
  std::string username, password;
  std::string namespace_;  // the context's namespace ("" when none)
  std::string
      origin;  // for messages: "kubeconfig /etc/portico/kubeconfig, context edge" or "in-cluster"
};

// `paths`: one file or a KUBECONFIG-style ':'-separated list (merged: the first file that sets a
// map entry / current-context wins, as kubectl does; in a list of several, files that do not
// exist are skipped as kubectl does, but at least one must exist). `context` "" =
// current-context. On failure returns false and sets *error (naming file and context); *out is
// then unspecified.
bool load_kubeconfig(const std::string& paths, const std::string& context, ClusterConfig* out,
                     std::string* error);

struct InClusterEnv {
  std::string host, port;  // KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT
  std::string dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static InClusterEnv from_process();
};

// The pod's service account: server from host:port (IPv6 bracketed), CA from dir/ca.crt, token
// file dir/token (must be readable now; TokenSource re-reads it), namespace from dir/namespace
// (optional).
bool in_cluster_config(const InClusterEnv& env, ClusterConfig* out, std::string* error);

// The bearer token to send now. Thread-safe. Static token; token_file re-read when older than
// 60 s and after invalidate(); exec plugin run (KUBERNETES_EXEC_INFO set, stdout parsed as an
// ExecCredential v1/v1beta1: token or clientCertificateData/clientKeyData, expirationTimestamp)
// and cached until expiry (or invalidate(), called after a 401). A clock is injectable for tests.
class TokenSource {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr std::chrono::seconds kFileTokenMaxAge{60};
  static constexpr std::chrono::seconds kExecTimeout{10};

  explicit TokenSource(ClusterConfig cfg, Clock now = {});

  // "" and no error: no bearer token configured.
  std::string token(std::string* error);
  // Exec credentials may also carry a client certificate: returns them; otherwise the
  // kubeconfig's own client certificate and key ("" if none).
  std::pair<std::string, std::string> client_cert_and_key(std::string* error);
  // Forget the cached file or exec token: the next call reads or runs again. Call after a 401.
  void invalidate();

  // How many times the exec plugin ran (tests and metrics).
  int exec_runs() const;

 private:
  struct Cached {
    bool valid = false;
    std::string token, cert_pem, key_pem;
    std::optional<std::chrono::steady_clock::time_point> expires;  // none: until invalidate()
    std::chrono::steady_clock::time_point read_at{};
  };
  bool refresh_file_locked(std::string* error);
  bool refresh_exec_locked(std::string* error);

  const ClusterConfig cfg_;
  const Clock now_;
  mutable std::mutex mu_;
  Cached cached_;
  int exec_runs_ = 0;
};

// Exposed for tests: run an exec plugin once and parse its ExecCredential. `wall_now` converts
// expirationTimestamp; the result's expiry is relative to `steady_now`.
struct ExecCredential {
  std::string token, client_cert_pem, client_key_pem;
  std::optional<std::chrono::steady_clock::time_point> expires;
};
bool parse_exec_credential(const std::string& stdout_text, const std::string& want_api_version,
                           std::chrono::system_clock::time_point wall_now,
                           std::chrono::steady_clock::time_point steady_now, ExecCredential* out,
                           std::string* error);

}  // namespace control::k8s
