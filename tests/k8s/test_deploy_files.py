#!/usr/bin/env python3
"""Checks the deployment files against the code, so that they cannot drift apart unnoticed.

  python3 -m unittest -v tests/k8s/test_deploy_files.py

* deploy/kubernetes/rbac.yaml grants exactly the requests control/k8s sends: the kinds come from
  control/k8s/resources.cc (every watched kind needs list and watch), the other requests from a
  table below whose entries are each anchored to a line of the code. An anchor that no longer
  matches, an HTTP method a file did not use before, or a new file that builds request paths
  fails the test: update the table and rbac.yaml together. A grant that nothing uses fails too.
* Every object in deploy/kubernetes/*.yaml has the fields its Kubernetes kind has (names checked
  against the API reference, by hand, into the tables below) and refers to objects that exist.
* deploy/kubernetes/kubeconfig.example is a usable kubeconfig (and `kubectl config view` reads
  it, when kubectl is installed).
* deploy/systemd/portico.service passes `systemd-analyze verify` (when installed) and agrees
  with the code: SIGHUP reloads, the stop timeout exceeds the BGP shutdown wait.

Needs only the Python standard library: the YAML is read by the small reader below (block
mappings and sequences, `[a, b]` flow lists, quoted and plain scalars, comments, `---`). When
PyYAML is installed, the reader's result is also compared with PyYAML's.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
K8S_SRC = os.path.join(ROOT, "control", "k8s")
RBAC = os.path.join(ROOT, "deploy", "kubernetes", "rbac.yaml")
KUBECONFIG = os.path.join(ROOT, "deploy", "kubernetes", "kubeconfig.example")
UNIT = os.path.join(ROOT, "deploy", "systemd", "portico.service")


# ---- a reader for the YAML subset the deployment files use ----

class YamlSubsetError(ValueError):
    pass


def _strip_comment(line):
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _scalar(text, where):
    text = text.strip()
    if not text:
        return None
    if text[0] in "'\"":
        if len(text) < 2 or text[-1] != text[0]:
            raise YamlSubsetError(f"{where}: unterminated string {text!r}")
        body = text[1:-1]
        return body.replace("''", "'") if text[0] == "'" else body
    if text[0] == "[":
        if text[-1] != "]":
            raise YamlSubsetError(f"{where}: a flow list must end on its line: {text!r}")
        inner = text[1:-1].strip()
        return [_scalar(p, where) for p in inner.split(",")] if inner else []
    if text[0] in "{&*!|>":
        raise YamlSubsetError(f"{where}: not in the subset this reader knows: {text!r}")
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    if text in ("null", "~"):
        return None
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


def _split_key(text, where):
    m = re.match(r"""^("[^"]*"|'[^']*'|[^'"\s:][^:]*?)\s*:(\s+(.*))?$""", text)
    if not m:
        return None
    key = m.group(1)
    if key[0] in "'\"":
        key = key[1:-1]
    return key, (m.group(3) or "")


def load_all(text, name="<yaml>"):
    """The documents of `text`, as PyYAML's safe_load_all would give them (for the subset)."""
    docs, current = [], []
    for n, raw in enumerate(text.split("\n"), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(f"{name}:{n}: tab in indentation")
        line = _strip_comment(raw).rstrip()
        if line.strip() == "---":
            docs.append(current)
            current = []
            continue
        if line.strip():
            current.append((n, len(line) - len(line.lstrip()), line.strip()))
    docs.append(current)
    out = []
    for lines in docs:
        if not lines:
            continue
        value, i = _block(lines, 0, lines[0][1], name)
        if i != len(lines):
            raise YamlSubsetError(f"{name}:{lines[i][0]}: unexpected indentation")
        out.append(value)
    return out


def _block(lines, i, indent, name):
    n, ind, text = lines[i]
    if ind != indent:
        raise YamlSubsetError(f"{name}:{n}: unexpected indentation")
    if text == "-" or text.startswith("- "):
        return _sequence(lines, i, indent, name)
    return _mapping(lines, i, indent, name)


def _value_after_key(lines, i, indent, rest, name, n, in_sequence=False):
    """The value of a key whose line ended with `rest`; i is the line after the key."""
    if rest:
        return _scalar(rest, f"{name}:{n}"), i
    if i < len(lines):
        _, ind, text = lines[i]
        if ind > indent:
            return _block(lines, i, ind, name)
        # "key:" followed by "- item" at the key's own indentation (not inside a sequence item).
        if ind == indent and not in_sequence and (text == "-" or text.startswith("- ")):
            return _sequence(lines, i, indent, name)
    return None, i


def _mapping(lines, i, indent, name, first=None):
    out = {}
    while i < len(lines):
        n, ind, text = lines[i] if first is None else (lines[i][0], indent, first)
        if first is None and ind != indent:
            if ind > indent:
                raise YamlSubsetError(f"{name}:{n}: unexpected indentation")
            break
        if first is None and (text == "-" or text.startswith("- ")):
            break
        first = None
        kv = _split_key(text, f"{name}:{n}")
        if kv is None:
            raise YamlSubsetError(f"{name}:{n}: expected `key: value`, got {text!r}")
        key, rest = kv
        if key in out:
            raise YamlSubsetError(f"{name}:{n}: duplicate key {key!r}")
        out[key], i = _value_after_key(lines, i + 1, indent, rest, name, n)
    return out, i


def _sequence(lines, i, indent, name):
    out = []
    while i < len(lines):
        n, ind, text = lines[i]
        if ind != indent or not (text == "-" or text.startswith("- ")):
            if ind > indent:
                raise YamlSubsetError(f"{name}:{n}: unexpected indentation")
            break
        item = text[1:].lstrip()
        item_indent = indent + (len(text) - len(item))
        if not item:
            value, i = _value_after_key(lines, i + 1, indent, "", name, n, in_sequence=True)
        elif _split_key(item, f"{name}:{n}") is not None and item[0] not in "[{'\"":
            value, i = _mapping(lines, i, item_indent, name, first=item)
        else:
            value, i = _scalar(item, f"{name}:{n}"), i + 1
        out.append(value)
    return out, i


def read_yaml(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    docs = load_all(text, os.path.relpath(path, ROOT))
    try:
        import yaml  # noqa: PLC0415 (optional)
    except ImportError:
        return docs
    reference = [d for d in yaml.safe_load_all(text) if d is not None]
    if reference != docs:
        raise AssertionError(f"{path}: the subset reader and PyYAML disagree:\n{docs}\n{reference}")
    return docs


# ---- what the code sends ----

def source(relpath):
    with open(os.path.join(ROOT, relpath), encoding="utf-8") as f:
        return f.read()


def watched_kinds():
    """(group, plural, namespaced) of every kind in control/k8s/resources.cc's watched_kinds()."""
    text = source("control/k8s/resources.cc")
    body = text[text.index("watched_kinds()"):]
    body = body[: body.index("return kinds;")]
    entry = re.compile(
        r'\{\s*"([^"]*)"\s*,\s*\{[^}]*\}\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,\s*(true|false)\s*,'
        r'\s*"[^"]*"\s*(?:,\s*"[^"]*"\s*)?\}', re.S)  # label selector[, field selector]
    kinds = [(m.group(1), m.group(2), m.group(4) == "true") for m in entry.finditer(body)]
    # Every entry must have been understood: as many as there are `{"group", {` openings.
    if len(kinds) != len(re.findall(r'\{\s*"[^"]*"\s*,\s*\{', body)) or not kinds:
        raise AssertionError("control/k8s/resources.cc: watched_kinds() has entries this test "
                             "cannot read; update watched_kinds() in this test")
    return kinds


GATEWAY_GROUP = "gateway.networking.k8s.io"

# Requests other than the informers' list and watch: (file, anchor regex, what it proves).
# Each anchor must match the file; the methods a file sends must be those listed for it.
ANCHORS = [
    ("control/k8s/informer.cc", r'"\?limit="', "list"),
    ("control/k8s/informer.cc", r'"\?watch=1', "watch"),
    ("control/k8s/status_writer.cc",
     r'"/api/v1/namespaces/" \+ s\.ns \+ "/services/" \+ s\.name', "the Service's path"),
    ("control/k8s/status_writer.cc", r'apply\(base \+ "/status", body\)', "SSA services/status"),
    ("control/k8s/status_writer.cc", r'apply\(base, body\)', "SSA services (the annotation)"),
    ("control/k8s/status_writer.cc", r'r\.method = "PATCH";\s*r\.path = path \+ "\?fieldManager=',
     "apply() is a PATCH"),
    ("control/k8s/status_writer.cc",
     r's\.plural != "gateways" && s\.plural != "gatewayclasses"', "status of Gateway API kinds"),
    ("control/k8s/status_writer.cc", r'get\.path = base;', "GET of the object"),
    ("control/k8s/status_writer.cc", r'put\.method = "PUT";\s*put\.path = base \+ "/status";',
     "PUT of /status"),
    ("control/k8s/status_writer.cc", r'"/api/v1/namespaces/" \+ ns \+ "/events"', "core Events"),
    ("control/k8s/status_writer.cc", r'post\.path = events;', "POST of an Event"),
    ("control/k8s/status_writer.cc", r'patch\.path = events \+ "/"', "PATCH of an Event"),
    ("control/k8s/lease.cc", r'"/apis/coordination\.k8s\.io/v1/namespaces/" \+ config_\.namespace_',
     "the Lease's path"),
    ("control/k8s/lease.cc", r'get\.path = lease_path\(\);', "GET of the Lease"),
    ("control/k8s/lease.cc", r'post\.method = "POST";', "POST of the Lease"),
    ("control/k8s/lease.cc", r'put\.method = "PUT";\s*put\.path = lease_path\(\);', "PUT of the Lease"),
]
# The HTTP methods each file names (`x.method = "..."`); GET is Request's default.
METHODS = {
    "control/k8s/status_writer.cc": {"PATCH", "PUT", "POST"},
    "control/k8s/lease.cc": {"POST", "PUT"},
}
# Files that build API paths: the ones above, and these, which send no request of their own.
PATH_BUILDERS_WITHOUT_REQUESTS = {"control/k8s/resources.cc"}


def required_cluster_grants():
    """{(group, resource): {verbs}} the ClusterRole must grant, from the code."""
    need = {}
    for group, plural, _ in watched_kinds():
        need.setdefault((group, plural), set()).update({"list", "watch"})
    need.setdefault(("", "services/status"), set()).add("patch")
    need.setdefault(("", "services"), set()).add("patch")
    need.setdefault(("", "events"), set()).update({"create", "patch"})
    for group, plural, _ in watched_kinds():
        if group == GATEWAY_GROUP and (plural in ("gateways", "gatewayclasses")
                                       or plural.endswith("routes")):
            need[(group, plural)].add("get")
            need.setdefault((group, plural + "/status"), set()).add("update")
    return need


REQUIRED_LEASE_GRANTS = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}


def grants(role):
    out = {}
    for rule in role.get("rules") or []:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


# ---- field names of the kinds the files hold (Kubernetes API reference, v1.30) ----

OBJECT_META = {"name", "namespace", "labels", "annotations", "generateName"}
FIELDS = {
    ("v1", "Namespace"): {"apiVersion", "kind", "metadata", "spec"},
    ("v1", "ServiceAccount"): {"apiVersion", "kind", "metadata", "secrets",
                               "imagePullSecrets", "automountServiceAccountToken"},
    ("v1", "Secret"): {"apiVersion", "kind", "metadata", "type", "data", "stringData",
                       "immutable"},
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): {"apiVersion", "kind", "metadata", "rules",
                                                      "aggregationRule"},
    ("rbac.authorization.k8s.io/v1", "Role"): {"apiVersion", "kind", "metadata", "rules"},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): {"apiVersion", "kind", "metadata",
                                                             "roleRef", "subjects"},
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): {"apiVersion", "kind", "metadata", "roleRef",
                                                      "subjects"},
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
POLICY_RULE = {"apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"}
ROLE_REF = {"apiGroup", "kind", "name"}
SUBJECT = {"kind", "name", "namespace", "apiGroup"}
VERBS = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


class RbacTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = read_yaml(RBAC)
        cls.by_kind = {}
        for d in cls.docs:
            cls.by_kind.setdefault(d["kind"], []).append(d)

    def one(self, kind, name):
        found = [d for d in self.by_kind.get(kind, []) if d["metadata"]["name"] == name]
        self.assertEqual(len(found), 1, f"{kind} {name}")
        return found[0]

    def test_anchors_still_match_the_code(self):
        for path, anchor, what in ANCHORS:
            with self.subTest(path=path, what=what):
                self.assertRegex(source(path), anchor,
                                 f"{path} changed ({what}): check rbac.yaml, then this test")

    def test_no_new_method_or_request_file(self):
        builders = set()
        for path in sorted(glob.glob(os.path.join(K8S_SRC, "*.cc"))):
            rel = os.path.relpath(path, ROOT)
            text = source(rel)
            methods = set(re.findall(r'\.method\s*=\s*"([A-Z]+)"', text))
            if rel in METHODS:
                self.assertEqual(methods, METHODS[rel], f"{rel}: HTTP methods changed")
            if re.search(r'"/apis?/', text) or re.search(r'"\?(watch|limit)=', text):
                builders.add(rel)
            elif methods and rel != "control/k8s/http.cc":
                builders.add(rel)
        known = {p for p, _, _ in ANCHORS} | PATH_BUILDERS_WITHOUT_REQUESTS
        self.assertEqual(builders - known, set(),
                         "new files send API requests: add them to ANCHORS and to rbac.yaml")

    def test_cluster_role_grants_exactly_what_the_code_uses(self):
        granted = grants(self.one("ClusterRole", "portico"))
        need = required_cluster_grants()
        for key, verbs in sorted(need.items()):
            with self.subTest(resource=key):
                self.assertLessEqual(verbs, granted.get(key, set()), f"missing for {key}")
        for key, verbs in sorted(granted.items()):
            with self.subTest(granted=key):
                self.assertLessEqual(verbs, need.get(key, set()), f"granted but unused: {key}")

    def test_lease_role_in_the_default_lease_namespace(self):
        role = self.one("Role", "portico-leader-election")
        self.assertEqual(grants(role), REQUIRED_LEASE_GRANTS)
        default_ns = re.search(r'lease_namespace = "([^"]+)"', source("config/objects.h")).group(1)
        self.assertRegex(source("control/k8s/lease.h"), f'namespace_ = "{default_ns}"')
        self.assertEqual(role["metadata"]["namespace"], default_ns)
        binding = self.one("RoleBinding", "portico-leader-election")
        self.assertEqual(binding["metadata"]["namespace"], default_ns)

    def test_bindings_name_the_roles_and_the_service_account(self):
        sa = self.one("ServiceAccount", "portico")
        for kind, name, role_kind in (("ClusterRoleBinding", "portico", "ClusterRole"),
                                      ("RoleBinding", "portico-leader-election", "Role")):
            b = self.one(kind, name)
            self.assertEqual(b["roleRef"]["apiGroup"], "rbac.authorization.k8s.io")
            self.assertEqual(b["roleRef"]["kind"], role_kind)
            self.one(role_kind, b["roleRef"]["name"])
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": "portico",
                                              "namespace": sa["metadata"]["namespace"]}])
        self.assertEqual(sa["metadata"]["namespace"], "portico-system")
        self.one("Namespace", "portico-system")

    def test_token_secret_of_the_service_account(self):
        s = self.one("Secret", "portico-token")
        self.assertEqual(s["type"], "kubernetes.io/service-account-token")
        self.assertEqual(s["metadata"]["namespace"], "portico-system")
        self.assertEqual(s["metadata"]["annotations"],
                         {"kubernetes.io/service-account.name": "portico"})

    def test_objects_have_only_real_fields(self):
        for d in self.docs:
            key = (d.get("apiVersion"), d.get("kind"))
            with self.subTest(object=key, name=d.get("metadata", {}).get("name")):
                self.assertIn(key, FIELDS)
                self.assertLessEqual(set(d), FIELDS[key])
                meta = d["metadata"]
                self.assertLessEqual(set(meta), OBJECT_META)
                self.assertRegex(meta["name"], DNS_SUBDOMAIN)
                self.assertEqual("namespace" in meta, key[1] not in CLUSTER_SCOPED)
                for rule in d.get("rules", []):
                    self.assertLessEqual(set(rule), POLICY_RULE)
                    self.assertLessEqual(set(rule["verbs"]), VERBS)
                    for r in rule["resources"]:
                        self.assertRegex(r, r"^[a-z0-9]+(/[a-z]+)?$")
                if "roleRef" in d:
                    self.assertEqual(set(d["roleRef"]), ROLE_REF)
                for s in d.get("subjects", []):
                    self.assertLessEqual(set(s), SUBJECT)

    def test_every_yaml_in_deploy_kubernetes_reads(self):
        for path in glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "*.yaml")):
            with self.subTest(path=path):
                self.assertTrue(read_yaml(path))


class KubeconfigTest(unittest.TestCase):
    def test_usable_for_an_edge_server(self):
        (cfg,) = read_yaml(KUBECONFIG)
        self.assertEqual((cfg["apiVersion"], cfg["kind"]), ("v1", "Config"))
        contexts = {c["name"]: c["context"] for c in cfg["contexts"]}
        ctx = contexts[cfg["current-context"]]
        cluster = {c["name"]: c["cluster"] for c in cfg["clusters"]}[ctx["cluster"]]
        user = {u["name"]: u["user"] for u in cfg["users"]}[ctx["user"]]
        self.assertRegex(cluster["server"], r"^https://[^/]+$")
        self.assertTrue(os.path.isabs(cluster["certificate-authority"]))
        self.assertEqual(user, {"tokenFile": "/etc/portico/token"})

    @unittest.skipUnless(shutil.which("kubectl"), "kubectl not installed")
    def test_kubectl_reads_it(self):
        r = subprocess.run(["kubectl", "config", "view", "--kubeconfig", KUBECONFIG, "-o",
                            "jsonpath={.users[0].user.tokenFile}"],
                           capture_output=True, text=True, timeout=30, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "/etc/portico/token")


class SystemdUnitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(UNIT, encoding="utf-8") as f:
            cls.text = f.read()
        cls.settings = {}
        for line in cls.text.splitlines():
            m = re.match(r"^([A-Za-z]+)=(.*)$", line)
            if m:
                cls.settings.setdefault(m.group(1), []).append(m.group(2))

    def setting(self, key):
        (value,) = self.settings[key]
        return value

    def test_agrees_with_the_code(self):
        runner = source("control/runner.cc")
        self.assertRegex(runner, r"if \(sig == SIGHUP\) reload\(\);")
        self.assertEqual(self.setting("ExecReload"), "/bin/kill -HUP $MAINPID")
        self.assertEqual(self.setting("KillSignal"), "SIGTERM")
        self.assertRegex(runner, r"sig == SIGINT \|\| sig == SIGTERM")
        bgp_ms = int(re.search(r"kBgpShutdownDeadline\{(\d+)\}", runner).group(1))
        stop_s = int(re.fullmatch(r"(\d+)s", self.setting("TimeoutStopSec")).group(1))
        need_ms = bgp_ms + 2000  # the workers' stop and the summary
        # When the Kubernetes sync is stopped before the BGP withdrawal, a status request in
        # flight (Request's default timeout) delays the withdrawal.
        stop_order = runner[runner.rindex("  stop_api();\n"):]
        if stop_order.index("k8s_.reset()") < stop_order.index("bgp_->shutdown("):
            request_ms = int(re.search(r"std::chrono::milliseconds timeout\{(\d+)\}",
                                       source("control/k8s/transport.h")).group(1))
            need_ms += request_ms
        self.assertGreaterEqual(stop_s * 1000, need_ms, "SIGKILL could come before BGP withdraws")
        # Type=notify only if Portico tells systemd it is ready.
        uses_notify = any("sd_notify" in source(os.path.relpath(p, ROOT))
                          for p in glob.glob(os.path.join(ROOT, "control", "**", "*.cc"),
                                             recursive=True))
        self.assertEqual(self.setting("Type"), "notify" if uses_notify else "simple")
        self.assertEqual(self.setting("LimitMEMLOCK"), "infinity")
        self.assertEqual(self.setting("Restart"), "on-failure")
        self.assertIn("network-online.target", self.setting("After").split())
        self.assertRegex(self.setting("ExecStart"), r"/portico run --config /etc/portico$")

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_verify(self):
        # verify wants ExecStart's program to exist: point it at one that does.
        program = os.path.join(ROOT, "build", "portico")
        if not os.access(program, os.X_OK):
            program = shutil.which("true")
        with tempfile.TemporaryDirectory() as d:
            unit = os.path.join(d, "portico.service")
            with open(unit, "w", encoding="utf-8") as f:
                f.write(re.sub(r"^ExecStart=\S+", "ExecStart=" + program, self.text, flags=re.M))
            r = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True,
                               text=True, timeout=60, check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertNotIn("portico.service:", r.stderr, r.stderr)


class SubsetReaderTest(unittest.TestCase):
    """The reader itself: what it must read, and what it must refuse rather than misread."""

    def test_reads(self):
        text = "# c\na: 1\nb:\n- x\n- k: v\n  l: [p, 'q r', \"s\"]\nc:\n  d: e # note\n---\nf: g\n"
        self.assertEqual(load_all(text), [
            {"a": 1, "b": ["x", {"k": "v", "l": ["p", "q r", "s"]}], "c": {"d": "e"}},
            {"f": "g"}])

    def test_refuses(self):
        for bad in ("a: {b: c}\n", "a:\n\tb: c\n", "a: b\n  c: d\n", "a: 1\na: 2\n",
                    "a: |\n  text\n", "a: 'open\n"):
            with self.subTest(bad=bad):
                with self.assertRaises(YamlSubsetError):
                    load_all(bad)


if __name__ == "__main__":
    unittest.main()
