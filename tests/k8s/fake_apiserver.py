#!/usr/bin/python3
"""A test Kubernetes API server that speaks the real wire protocol, for Portico's k8s client tests.

  fake_apiserver.py --dir DIR [--port 0] [--bind 127.0.0.1] [--http] [--history 1000]
                    [--seed N] [--without-group GROUP ...] [--token-file-in-kubeconfig]

It writes DIR/ca.crt, DIR/server.crt, DIR/server.key (a generated CA and a server certificate
for 127.0.0.1, ::1 and localhost), DIR/token (the accepted bearer token, re-read on every
request: a test rotates it by rewriting the file), DIR/kubeconfig (certificate-authority-data
and the token) and, once listening, DIR/port. It logs one line per request to stderr (never a
token) and stops on SIGTERM. tests/k8s/README.md documents the admin endpoint and the choices.

What it emulates, and why each piece matters (docs: ../../../shared/reference/k8s-and-bgp.md
part A; shapes checked against the Kubernetes API reference):
  - One global resourceVersion counter, like etcd's revision: every write of any kind moves it,
    so a client must never assume RVs of one collection are contiguous.
  - A bounded history of change events (--history). It serves watches from an RV, exact-RV
    lists, and consistent list pages: a continue token carries the snapshot RV, and a page is
    the current store with later events undone. Once an event falls out of the window, watches,
    exact lists and continue tokens from before it get 410 Expired, as after etcd compaction.
  - Watches: HTTP/1.1 chunked, one compact JSON event per line, cut into chunks at random byte
    offsets (seeded) so a client that assumes chunk == event fails here first. Selector
    transitions reach the watcher as ADDED/DELETED; DELETED carries the last state.
  - Writes with the real conflict rules: RV preconditions, 422 for CR updates without an RV,
    status subresources that only change status, server-side apply with managedFields and
    FieldManagerConflict.
  - Every error is a metav1.Status with kind, apiVersion, status, message, reason, code, details.

Threads: ThreadingHTTPServer gives one thread per connection; the Store's lock guards all state
and its condition variable wakes the watch threads. The main thread runs serve_forever and
rebuilds the listener after a "restart" fault.
"""

import argparse
import base64
import collections
import copy
import datetime
import http.server
import ipaddress
import json
import os
import random
import re
import secrets
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

try:  # apply-patch+yaml bodies; JSON is YAML too, so without PyYAML only JSON bodies work
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    yaml = None


def log(msg):
    sys.stderr.write("fake-apiserver: %s\n" % msg)
    sys.stderr.flush()


# ------------------------------------------------------------------------------------------
# Resources served
# ------------------------------------------------------------------------------------------

class Resource:
    """One served resource. Objects of all versions of a group share storage (the versions this
    server serves differ only in apiVersion), as the apiserver stores one version and converts."""

    def __init__(self, group, versions, plural, kind, namespaced, status=False, builtin=False,
                 short=()):
        self.group = group
        self.versions = versions
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.status = status  # has a /status subresource
        self.builtin = builtin  # built-in type (PUT without RV allowed, list items lack kind)
        self.short = short

    @property
    def gk(self):
        return (self.group, self.plural)

    def api_version(self, version):
        return version if not self.group else "%s/%s" % (self.group, version)

    def singular(self):
        return self.kind.lower()


RESOURCES = [
    Resource("", ["v1"], "services", "Service", True, status=True, builtin=True, short=("svc",)),
    Resource("", ["v1"], "namespaces", "Namespace", False, status=True, builtin=True,
             short=("ns",)),
    Resource("", ["v1"], "secrets", "Secret", True, builtin=True),
    Resource("", ["v1"], "events", "Event", True, builtin=True, short=("ev",)),
    Resource("discovery.k8s.io", ["v1"], "endpointslices", "EndpointSlice", True, builtin=True),
    Resource("coordination.k8s.io", ["v1"], "leases", "Lease", True, builtin=True),
    Resource("events.k8s.io", ["v1"], "events", "Event", True, builtin=True, short=("ev",)),
    Resource("metallb.io", ["v1beta1"], "ipaddresspools", "IPAddressPool", True),
    Resource("metallb.io", ["v1beta1"], "l2advertisements", "L2Advertisement", True),
    Resource("metallb.io", ["v1beta1"], "bgpadvertisements", "BGPAdvertisement", True),
    Resource("metallb.io", ["v1beta1"], "communities", "Community", True),
    Resource("metallb.io", ["v1beta2", "v1beta1"], "bgppeers", "BGPPeer", True),
    Resource("gateway.networking.k8s.io", ["v1", "v1beta1"], "gatewayclasses", "GatewayClass",
             False, status=True),
    Resource("gateway.networking.k8s.io", ["v1", "v1beta1"], "gateways", "Gateway", True,
             status=True),
    Resource("gateway.networking.k8s.io", ["v1", "v1beta1"], "httproutes", "HTTPRoute", True,
             status=True),
    Resource("gateway.networking.k8s.io", ["v1", "v1beta1"], "referencegrants", "ReferenceGrant",
             True),
]

# Lists whose items merge by key under server-side apply (listType=map in the OpenAPI schemas);
# every other list is atomic, which is what Service status.loadBalancer.ingress, Gateway
# status.addresses and HTTPRoute status.parents are.
MAP_LISTS = {"conditions": ("type",), "listeners": ("name",)}

# ObjectMeta fields in the order the apiserver's encoder writes them (Go struct order).
METADATA_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
                  "generation", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
                  "finalizers", "managedFields"]

# Times: metav1.Time is RFC 3339 to the second; metav1.MicroTime (Lease times) has exactly six
# fraction digits.
MICROTIME_FIELDS = ("acquireTime", "renewTime")


def now_time():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def normalize_microtime(value):
    """Parses an RFC 3339 time as Go's time.Parse would and renders it as MicroTime does
    (UTC, six fraction digits); raises ValueError like a JSON decode error."""
    m = _RFC3339.match(value) if isinstance(value, str) else None
    if not m:
        raise ValueError("parsing time %s as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse"
                         % json.dumps(value))
    frac = (m.group(7) or ".0")[1:]
    micros = int((frac + "000000")[:6])
    tz = m.group(8)
    offset = datetime.timedelta(0)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        offset = sign * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    try:
        t = datetime.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                              int(m.group(5)), int(m.group(6)), micros,
                              tzinfo=datetime.timezone(offset))
    except ValueError as e:
        raise ValueError("parsing time %s: %s" % (json.dumps(value), e))
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------------------------------
# Errors: every non-2xx answer is a metav1.Status
# ------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, metadata=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.metadata = metadata or {}
        self.headers = headers or {}

    def status(self):
        body = {"kind": "Status", "apiVersion": "v1", "metadata": self.metadata,
                "status": "Failure", "message": self.message, "reason": self.reason}
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
           405: "MethodNotAllowed", 409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType",
           422: "Invalid", 429: "TooManyRequests", 500: "InternalError",
           503: "ServiceUnavailable", 504: "Timeout"}


def details_for(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (res.plural if not res.group else
                                                            "%s.%s" % (res.plural, res.group),
                                                            name),
                    details_for(res, name))


def resource_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(res, name, causes):
    """422 Invalid, with one cause per field like field.ErrorList renders them."""
    parts = ["%s: %s" % (c["field"], c["message"]) for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    d = {"name": name, "kind": res.kind, "causes": causes}
    if res.group:
        d["group"] = res.group
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (res.kind, name, text), d)


def conflict(res, name):
    qual = res.plural if not res.group else "%s.%s" % (res.plural, res.group)
    return ApiError(409, "Conflict",
                    'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                    'please apply your changes to the latest version and try again'
                    % (qual, name), details_for(res, name))


def expired(message, metadata=None):
    return ApiError(410, "Expired", message, None, metadata)


# ------------------------------------------------------------------------------------------
# Selectors
# ------------------------------------------------------------------------------------------

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*"
                        r"[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _split_top(text):
    """Splits a selector on commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def parse_label_selector(text):
    """Returns a list of (key, op, values); raises ApiError 400 on a syntax error, as
    labels.Parse does. Ops: exists, !exists, =, !=, in, notin."""
    reqs = []
    if not text or not text.strip():
        return reqs
    for term in _split_top(text):
        t = term.strip()
        if not t:
            raise bad_request("unable to parse requirement: found '', expected: identifier")
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", t)
        if m:
            key, op = m.group(1), m.group(2)
            values = [v.strip() for v in m.group(3).split(",")]
            values = [v for v in values if v != ""] if len(values) > 1 else values
        elif t.startswith("!"):
            key, op, values = t[1:].strip(), "!exists", []
        elif "!=" in t:
            key, _, v = t.partition("!=")
            op, values = "!=", [v.strip()]
        elif "==" in t:
            key, _, v = t.partition("==")
            op, values = "=", [v.strip()]
        elif "=" in t:
            key, _, v = t.partition("=")
            op, values = "=", [v.strip()]
        else:
            key, op, values = t, "exists", []
        key = key.strip()
        if not _LABEL_KEY.match(key) or len(key.split("/")[-1]) > 63:
            raise bad_request("unable to parse requirement: values[0][%s]: Invalid value: "
                              "\"%s\": name part must consist of alphanumeric characters, "
                              "'-', '_' or '.'" % (key, key))
        for v in values:
            if not _LABEL_VALUE.match(v) or len(v) > 63:
                raise bad_request("unable to parse requirement: values[0][%s]: Invalid value: "
                                  "\"%s\": a valid label must be an empty string or consist of "
                                  "alphanumeric characters, '-', '_' or '.'" % (key, v))
        reqs.append((key, op, values))
    return reqs


def labels_match(reqs, obj):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, values in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "exists" and not have:
            return False
        if op == "!exists" and have:
            return False
        if op == "=" and val != values[0]:
            return False
        if op == "!=" and have and val == values[0]:
            return False
        if op == "in" and (not have or val not in values):
            return False
        if op == "notin" and have and val in values:
            return False
    return True


def parse_field_selector(text):
    reqs = []
    if not text or not text.strip():
        return reqs
    for term in _split_top(text):
        t = term.strip()
        for op in ("!=", "==", "="):
            if op in t:
                field, _, value = t.partition(op)
                break
        else:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, t))
        field = field.strip()
        # "type" is what the real server also takes for Secrets (checked for every kind here).
        if field not in ("metadata.name", "metadata.namespace", "type"):
            raise bad_request('"%s" is not a known field selector: only "metadata.name", '
                              '"metadata.namespace", "type"' % field)
        reqs.append((field, "!=" if op == "!=" else "=", value.strip()))
    return reqs


def fields_match(reqs, obj):
    md = obj.get("metadata") or {}
    for field, op, value in reqs:
        if field == "type":
            have = obj.get("type", "")
        else:
            have = md.get("name" if field == "metadata.name" else "namespace", "")
        if (have == value) != (op == "="):
            return False
    return True


# ------------------------------------------------------------------------------------------
# Patches: RFC 7386 merge patch, RFC 6902 JSON patch
# ------------------------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request("the JSON patch path %s does not start with /" % json.dumps(path))
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk_parent(doc, tokens, path):
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and t.isdigit() and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           "our request: doc is missing path: \"%s\"" % path, {})
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise bad_request("the JSON patch operation %s has no \"op\"" % json.dumps(op))
        kind, path = op["op"], op.get("path")
        if not isinstance(path, str):
            raise bad_request("the JSON patch operation %s has no \"path\"" % kind)

        def get(p):
            toks = _pointer(p)
            if not toks:
                return doc
            parent = _walk_parent(doc, toks, p)
            last = toks[-1]
            if isinstance(parent, dict) and last in parent:
                return parent[last]
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent[int(last)]
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           "our request: doc is missing path: \"%s\"" % p, {})

        def remove(p):
            toks = _pointer(p)
            parent = _walk_parent(doc, toks, p)
            last = toks[-1]
            if isinstance(parent, dict) and last in parent:
                return parent.pop(last)
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                return parent.pop(int(last))
            raise ApiError(422, "Invalid", "the server rejected our request due to an error in "
                           "our request: Unable to remove nonexistent key: %s: missing value"
                           % last, {})

        def add(p, value):
            nonlocal doc
            toks = _pointer(p)
            if not toks:
                doc = value
                return
            parent = _walk_parent(doc, toks, p)
            last = toks[-1]
            if isinstance(parent, dict):
                parent[last] = value
            elif isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif last.isdigit() and int(last) <= len(parent):
                    parent.insert(int(last), value)
                else:
                    raise ApiError(422, "Invalid", "the server rejected our request due to an "
                                   "error in our request: add operation index out of bounds: "
                                   "%s" % last, {})
            else:
                raise ApiError(422, "Invalid", "the server rejected our request due to an error "
                               "in our request: doc is missing path: \"%s\"" % p, {})

        if kind == "add":
            add(path, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            remove(path)
        elif kind == "replace":
            get(path)
            if _pointer(path):
                remove(path)
            add(path, copy.deepcopy(op.get("value")))
        elif kind == "move":
            value = remove(op.get("from", ""))
            add(path, value)
        elif kind == "copy":
            add(path, copy.deepcopy(get(op.get("from", ""))))
        elif kind == "test":
            if get(path) != op.get("value"):
                raise ApiError(422, "Invalid", "the server rejected our request due to an error "
                               "in our request: testing value %s failed: test failed" % path, {})
        else:
            raise bad_request("Unexpected kind: %s" % kind)
    return doc


# ------------------------------------------------------------------------------------------
# Field ownership (managedFields, FieldsV1) and server-side apply
# ------------------------------------------------------------------------------------------

MISSING = object()


def _list_keys(path):
    return MAP_LISTS.get(path[-1][2:]) if path and path[-1].startswith("f:") else None


def field_paths(value, path=()):
    """The leaf field paths of a value, as FieldsV1 spells them ("f:name", "k:{...}", ".")."""
    if isinstance(value, dict):
        if not value and path:
            yield path
        for k, v in value.items():
            yield from field_paths(v, path + ("f:" + k,))
    elif isinstance(value, list) and _list_keys(path) and all(
            isinstance(e, dict) and all(k in e for k in _list_keys(path)) for e in value):
        keys = _list_keys(path)
        for e in value:
            kp = path + ("k:" + json.dumps({k: e[k] for k in keys}, separators=(",", ":"),
                                           sort_keys=True),)
            yield kp + (".",)
            yield from field_paths(e, kp)
    elif path:
        yield path


def tracked(obj):
    """The part of an object whose fields have owners: everything but identity and
    server-set metadata."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    md = obj.get("metadata") or {}
    mdo = {k: md[k] for k in ("labels", "annotations", "finalizers", "ownerReferences")
           if k in md}
    if mdo:
        out["metadata"] = mdo
    return out


def value_at(obj, path):
    cur = obj
    for p in path:
        if p == ".":
            return cur
        if p.startswith("f:"):
            if not isinstance(cur, dict) or p[2:] not in cur:
                return MISSING
            cur = cur[p[2:]]
        elif p.startswith("k:"):
            want = json.loads(p[2:])
            if not isinstance(cur, list):
                return MISSING
            for e in cur:
                if isinstance(e, dict) and all(e.get(k) == v for k, v in want.items()):
                    cur = e
                    break
            else:
                return MISSING
        else:
            return MISSING
    return cur


def delete_at(obj, path):
    if not path:
        return
    parent = value_at(obj, path[:-1]) if path[-1] != "." else value_at(obj, path[:-2])
    if path[-1] == ".":
        if isinstance(parent, list):
            el = value_at(obj, path[:-1])
            parent[:] = [e for e in parent if e is not el]
        return
    if isinstance(parent, dict) and path[-1].startswith("f:"):
        parent.pop(path[-1][2:], None)


def paths_to_fields(paths):
    trie = {}
    for p in paths:
        cur = trie
        for el in p:
            cur = cur.setdefault(el, {})
    return trie


def fields_to_paths(trie, path=()):
    for k, v in trie.items():
        if not v:
            yield path + (k,)
        else:
            yield from fields_to_paths(v, path + (k,))


def render_path(path):
    out = ""
    for p in path:
        if p.startswith("f:"):
            out += "." + p[2:]
        elif p.startswith("k:"):
            out += "[" + ",".join("%s=%s" % (k, json.dumps(v))
                                  for k, v in json.loads(p[2:]).items()) + "]"
    return out


def merge_applied(cur, app, path=()):
    """The result of applying `app` over `cur`: maps merge, keyed lists merge by key, anything
    else (scalars, atomic lists) is replaced."""
    if isinstance(cur, dict) and isinstance(app, dict):
        out = copy.deepcopy(cur)
        for k, v in app.items():
            out[k] = merge_applied(cur.get(k, MISSING), v, path + ("f:" + k,))
        return out
    keys = _list_keys(path)
    if keys and isinstance(cur, list) and isinstance(app, list):
        out = copy.deepcopy(cur)
        for e in app:
            if not isinstance(e, dict):
                return copy.deepcopy(app)
            for i, c in enumerate(out):
                if isinstance(c, dict) and all(c.get(k) == e.get(k) for k in keys):
                    out[i] = merge_applied(c, e, path)
                    break
            else:
                out.append(copy.deepcopy(e))
        return out
    return copy.deepcopy(app)


class Managers:
    """The managedFields entries of one object, as a list of dicts in the wire format."""

    def __init__(self, obj):
        self.entries = copy.deepcopy((obj.get("metadata") or {}).get("managedFields") or [])

    @staticmethod
    def ident(e):
        return (e.get("manager"), e.get("operation"), e.get("subresource", ""))

    def paths(self, e):
        return set(fields_to_paths(e.get("fieldsV1") or {}))

    def set_paths(self, e, paths):
        e["fieldsV1"] = paths_to_fields(sorted(paths))

    def find(self, ident):
        for e in self.entries:
            if self.ident(e) == ident:
                return e
        return None

    def upsert(self, ident, api_version, paths):
        e = self.find(ident)
        if e is None:
            e = {"manager": ident[0], "operation": ident[1]}
            self.entries.append(e)
        e["apiVersion"] = api_version
        e["time"] = now_time()
        e["fieldsType"] = "FieldsV1"
        if ident[2]:
            e["subresource"] = ident[2]
        if paths:
            self.set_paths(e, paths)
        else:
            e.pop("fieldsV1", None)  # an entry that owns nothing is pruned

    def prune(self):
        self.entries = [e for e in self.entries if e.get("fieldsV1")]

    def store(self, obj):
        self.prune()
        if self.entries:
            obj["metadata"]["managedFields"] = self.entries
        else:
            obj["metadata"].pop("managedFields", None)


def track_update(old, new, manager, api_version, subresource):
    """Ownership after an Update (POST, PUT, PATCH): the writer takes every field it changed,
    from whoever owned it, and removed fields lose their owners."""
    mg = Managers(old if old is not None else {})
    old_t = tracked(old) if old is not None else {}
    new_t = tracked(new)
    old_paths = set(field_paths(old_t))
    new_paths = set(field_paths(new_t))
    changed = {p for p in new_paths
               if p not in old_paths or value_at(old_t, p) != value_at(new_t, p)}
    removed = old_paths - new_paths
    ident = (manager, "Update", subresource)
    for e in mg.entries:
        if mg.ident(e) != ident:
            ps = mg.paths(e) - changed - removed
            mg.set_paths(e, ps)
    mine = mg.find(ident)
    mine_paths = (mg.paths(mine) if mine else set()) - removed
    if changed or mine:
        mg.upsert(ident, api_version, mine_paths | changed)
    new.setdefault("metadata", {})
    mg.store(new)


# ------------------------------------------------------------------------------------------
# The store
# ------------------------------------------------------------------------------------------

Event = collections.namedtuple("Event", "rv gk key type obj prev")


class Store:
    def __init__(self, history):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 0
        self.objects = collections.defaultdict(dict)  # gk -> {(ns, name): obj}
        self.history = collections.deque()
        self.history_max = history
        self.compacted_rv = 0  # events with rv <= this are gone from the window
        self.expire_continue_upto = 0  # fault: continue tokens from snapshots <= this are dead
        with self.lock:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.create_namespace_locked(ns)

    def create_namespace_locked(self, name):
        obj = {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        self.commit(("", "namespaces"), ("", name), "ADDED", self.stamp_new(obj), None)

    def stamp_new(self, obj):
        md = obj["metadata"]
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_time()
        md["generation"] = 1
        return obj

    def commit(self, gk, key, etype, obj, prev):
        """Records one change under a new RV and wakes the watchers. Caller holds the lock."""
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if etype == "DELETED":
            self.objects[gk].pop(key, None)
        else:
            self.objects[gk][key] = obj
        self.history.append(Event(self.rv, gk, key, etype, obj, prev))
        while len(self.history) > self.history_max:
            self.compacted_rv = self.history.popleft().rv
        self.cond.notify_all()
        return obj

    def snapshot(self, gk, rv):
        """The objects of gk as they were at rv (undoing later events); raises Expired when
        the window no longer reaches back that far."""
        if rv < self.compacted_rv:
            raise expired("too old resource version: %d (%d)" % (rv, self.compacted_rv + 1))
        state = dict(self.objects[gk])
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.gk != gk:
                continue
            if ev.prev is None:
                state.pop(ev.key, None)
            else:
                state[ev.key] = ev.prev
        return state


# ------------------------------------------------------------------------------------------
# Faults and request log
# ------------------------------------------------------------------------------------------

class Faults:
    """What the admin endpoint set. Guarded by its own lock; read on every request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.failures = []  # dicts: count, skip, code, path (regex), verb, retry_after, message
        self.delays = []  # dicts: ms, path, verb, count (None: until reset)
        self.too_old_once = None  # None, or dict(mode=..., path=...)
        self.too_old_mode = "event"  # how a watch older than the window hears about it
        # Cleared while paused. One Event for the server's life, so a reset wakes the requests
        # hanging on it.
        if not hasattr(self, "unpaused"):
            self.unpaused = threading.Event()
        self.unpaused.set()
        self.short_pages = False
        self.early_close_probability = 0.0  # per bookmark opportunity: end a watch early
        self.bookmark_probability = 0.5
        self.bookmark_interval = (0.5, 3.0)  # seconds between bookmark opportunities
        self.watch_drop_generation = getattr(self, "watch_drop_generation", 0)

    @staticmethod
    def _matches(rule, method, verb, target):
        want = rule.get("verb")
        if want and want.lower() not in (method.lower(), verb.lower()):
            return False
        return not rule.get("path") or re.search(rule["path"], target) is not None

    def take_failure(self, method, verb, target):
        with self.lock:
            for rule in self.failures:
                if rule["count"] <= 0 or not self._matches(rule, method, verb, target):
                    continue
                if rule.get("skip", 0) > 0:
                    rule["skip"] -= 1
                    continue
                rule["count"] -= 1
                return dict(rule)
        return None

    def take_delay(self, method, verb, target):
        with self.lock:
            total = 0
            for rule in self.delays:
                if rule.get("count") is not None and rule["count"] <= 0:
                    continue
                if self._matches(rule, method, verb, target):
                    total += rule["ms"]
                    if rule.get("count") is not None:
                        rule["count"] -= 1
            return total / 1000.0


# ------------------------------------------------------------------------------------------
# The HTTP side
# ------------------------------------------------------------------------------------------

def compact(obj):
    # Go's encoder writes raw UTF-8, so multi-byte characters are there for chunk cuts to split.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class App:
    """Everything one server process shares across listener restarts."""

    def __init__(self, args):
        self.args = args
        self.dir = args.dir
        self.store = Store(args.history)
        self.faults = Faults()
        self.log_lock = threading.Lock()
        self.requests = []
        self.without = set(args.without_group or [])
        self.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
        self.watch_counter = 0
        self.by_path = {}
        for r in RESOURCES:
            for v in r.versions:
                self.by_path[(r.group, v, r.plural)] = r
        self.server = None
        self.stopping = False
        self.restart_seconds = None
        self.conns = set()
        self.conns_lock = threading.Lock()

    def token(self):
        try:
            with open(os.path.join(self.dir, "token")) as f:
                return f.read().strip()
        except OSError:
            return None

    def next_rng(self):
        with self.log_lock:
            self.watch_counter += 1
            return random.Random(self.seed * 1000003 + self.watch_counter)

    def record(self, entry):
        with self.log_lock:
            self.requests.append(entry)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"
    sys_version = ""

    @property
    def app(self):
        return self.server.app

    def log_request(self, code="-", size="-"):  # dispatch() logs one line with the timing
        pass

    def log_message(self, fmt, *args):  # http.server's own lines (bad requests and the like)
        log("%s %s" % (self.client_address[0], fmt % args))

    # Every verb goes through one dispatcher.
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # -- plumbing --------------------------------------------------------------------------

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, headers=None):
        body = compact(obj)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.status_sent = code

    def send_error_status(self, err):
        self.send_json(err.code, err.status(), err.headers)

    # -- entry -----------------------------------------------------------------------------

    def dispatch(self):
        t0 = time.monotonic()
        self.status_sent = 0
        entry = None
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        try:
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
        except ValueError:
            params = {}
        self.params = {k: v[-1] for k, v in params.items()}
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if path.startswith("/_admin/"):
                self.admin(path, body)
                return
            entry = {"method": self.command, "path": path, "query": query, "params": params,
                     "content_type": self.headers.get("Content-Type", ""),
                     "user_agent": self.headers.get("User-Agent", ""),
                     "body": body.decode("utf-8", "replace"), "time": time.time(),
                     "status": None}
            self.app.record(entry)
            self.serve_api(path, body)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        except Exception as e:  # a bug here must still answer like a server, not hang the test
            log("internal error on %s %s: %r" % (self.command, path, e))
            try:
                self.send_error_status(ApiError(500, "InternalError",
                                                "Internal error occurred: %s" % e, {}))
            except OSError:
                self.close_connection = True
        finally:
            if entry is not None:
                with self.app.log_lock:
                    entry["status"] = self.status_sent or None
            log("%s %s%s -> %s%s (%d ms)" % (self.command, path, "?" + query if query else "",
                                             self.status_sent or "nothing",
                                             " cut" if getattr(self, "was_cut", False) else "",
                                           (time.monotonic() - t0) * 1000))

    # -- admin -----------------------------------------------------------------------------

    def admin(self, path, body):
        if self.client_address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            raise ApiError(403, "Forbidden", "the admin endpoint answers loopback only", {})
        app, faults = self.app, self.app.faults
        if path == "/_admin/requests" and self.command == "GET":
            with app.log_lock:
                self.send_json(200, {"requests": list(app.requests)})
            return
        if path == "/_admin/reset" and self.command == "POST":
            with faults.lock:
                faults.reset()
            with app.log_lock:
                app.requests = []
            self.send_json(200, {"ok": True})
            return
        if path == "/_admin/state" and self.command == "GET":
            with app.store.lock:
                self.send_json(200, {"resourceVersion": str(app.store.rv),
                                     "compactedResourceVersion": str(app.store.compacted_rv),
                                     "seed": app.seed})
            return
        if path != "/_admin/fault" or self.command != "POST":
            raise resource_not_found()
        try:
            spec = json.loads(body or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("a JSON object is expected")
        except ValueError as e:
            raise bad_request("fault: %s" % e)
        action = spec.get("action")
        with faults.lock:
            if action == "fail":
                code = int(spec.get("code", 500))
                faults.failures.append({"count": int(spec.get("count", 1)),
                                        "skip": int(spec.get("skip", 0)), "code": code,
                                        "path": spec.get("path"), "verb": spec.get("verb"),
                                        "retry_after": spec.get("retry_after"),
                                        "message": spec.get("message")})
            elif action == "delay":
                faults.delays.append({"ms": float(spec.get("ms", 0)), "path": spec.get("path"),
                                      "verb": spec.get("verb"), "count": spec.get("count")})
            elif action == "drop_watches":
                faults.watch_drop_generation += 1
            elif action == "watch_too_old":
                faults.too_old_once = {"mode": spec.get("mode", faults.too_old_mode),
                                       "path": spec.get("path")}
            elif action == "expire_continue":
                with app.store.lock:
                    app.store.expire_continue_upto = app.store.rv
            elif action == "pause":
                faults.unpaused.clear()
            elif action == "unpause":
                faults.unpaused.set()
            elif action == "restart":
                app.restart_seconds = float(spec.get("seconds", 1))
                threading.Thread(target=restart_listener, args=(app,), daemon=True).start()
            elif action == "set":
                if "too_old" in spec:
                    if spec["too_old"] not in ("http", "event"):
                        raise bad_request("too_old is http or event")
                    faults.too_old_mode = spec["too_old"]
                if "short_pages" in spec:
                    faults.short_pages = bool(spec["short_pages"])
                if "early_close_probability" in spec:
                    faults.early_close_probability = float(spec["early_close_probability"])
                if "bookmark_probability" in spec:
                    faults.bookmark_probability = float(spec["bookmark_probability"])
                if "bookmark_interval" in spec:
                    lo, hi = spec["bookmark_interval"]
                    faults.bookmark_interval = (float(lo), float(hi))
            else:
                raise bad_request("unknown fault action %s" % json.dumps(action))
        self.send_json(200, {"ok": True})

    # -- API -------------------------------------------------------------------------------

    def authenticate(self):
        want = self.app.token()
        got = self.headers.get("Authorization", "")
        if not want or not got.startswith("Bearer ") or not secrets.compare_digest(
                got[len("Bearer "):].strip().encode(), want.encode()):
            raise ApiError(401, "Unauthorized", "Unauthorized")

    def serve_api(self, path, body):
        app = self.app
        faults = app.faults
        # A paused server has accepted the connection and read the request; it answers nothing
        # until unpaused (or a restart cuts the connection).
        while not faults.unpaused.wait(0.2):
            if app.stopping:
                raise ConnectionResetError()
        target = self.path
        verb = self.k8s_verb(path)
        delay = faults.take_delay(self.command, verb, target)
        if delay:
            time.sleep(delay)
        self.authenticate()
        fail = faults.take_failure(self.command, verb, target)
        if fail:
            code = fail["code"]
            headers = {}
            details = {}
            if code in (429, 503) and fail.get("retry_after") is not None:
                headers["Retry-After"] = str(fail["retry_after"])
                details["retryAfterSeconds"] = int(fail["retry_after"])
            msg = fail.get("message") or {
                429: "Too many requests, please try again later.",
                500: "Internal error occurred: injected fault",
                503: "The server is currently unable to handle the request",
                409: "Operation cannot be fulfilled: injected conflict"}.get(
                    code, "injected fault")
            raise ApiError(code, REASONS.get(code, "Unknown"), msg, details, headers=headers)
        self.route(path, body)

    def k8s_verb(self, path):
        watching = self.params.get("watch", "") in ("1", "true", "True")
        m = self.command
        if m == "GET":
            if watching:
                return "watch"
            return "get" if self.looks_named(path) else "list"
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(m, m.lower())

    def looks_named(self, path):
        try:
            return self.parse_path(path)[3] is not None
        except ApiError:
            return False

    def parse_path(self, path):
        """-> (resource, version, namespace or None, name or None, subresource or None)."""
        segs = [s for s in path.split("/") if s]
        if len(segs) >= 2 and segs[0] == "api" and segs[1] == "v1":
            group, version, rest = "", "v1", segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            raise resource_not_found()
        if group in self.app.without:
            raise resource_not_found()
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            r = self.app.by_path.get((group, version, rest[2]))
            if r is not None and r.namespaced:
                ns, rest = rest[1], rest[2:]
            elif group or rest[2] != "status" or len(rest) != 3:
                raise resource_not_found()
        if not rest or len(rest) > 3:
            raise resource_not_found()
        res = self.app.by_path.get((group, version, rest[0]))
        if res is None:
            raise resource_not_found()
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else None
        if sub is not None and (sub != "status" or not res.status):
            raise resource_not_found()
        if name is not None and res.namespaced and ns is None:
            raise resource_not_found()
        if not res.namespaced and ns is not None:
            raise resource_not_found()
        return res, version, ns, name, sub

    def route(self, path, body):
        segs = [s for s in path.split("/") if s]
        if self.command == "GET" and self.discovery(segs):
            return
        res, version, ns, name, sub = self.parse_path(path)
        m = self.command
        if m == "GET" and name is None:
            if self.params.get("watch", "") in ("1", "true", "True"):
                return self.watch(res, version, ns)
            return self.list(res, version, ns)
        if m == "GET":
            return self.get(res, version, ns, name)
        if m == "POST" and name is None:
            return self.create(res, version, ns, body)
        if m == "PUT" and name is not None:
            return self.update(res, version, ns, name, sub, body)
        if m == "PATCH" and name is not None:
            return self.patch(res, version, ns, name, sub, body)
        if m == "DELETE" and name is not None and sub is None:
            return self.delete(res, version, ns, name, body)
        raise ApiError(405, "MethodNotAllowed",
                       "the server does not allow this method on the requested resource", {})

    # -- discovery -------------------------------------------------------------------------

    def served(self):
        return [r for r in RESOURCES if r.group not in self.app.without]

    def discovery(self, segs):
        served = self.served()
        if segs in (["version"],):
            self.send_json(200, {"major": "1", "minor": "28", "gitVersion": "v1.28.0-fake",
                                 "platform": "linux/amd64"})
            return True
        if segs in (["healthz"], ["readyz"], ["livez"]):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            self.status_sent = 200
            return True
        if segs == ["api"]:
            self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                 "serverAddressByClientCIDRs": []})
            return True
        groups = collections.OrderedDict()
        for r in served:
            if r.group:
                vs = groups.setdefault(r.group, [])
                for v in r.versions:
                    if v not in vs:
                        vs.append(v)

        def group_obj(g):
            vs = [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in groups[g]]
            return {"name": g, "versions": vs, "preferredVersion": vs[0]}
        if segs == ["apis"]:
            self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                 "groups": [group_obj(g) for g in groups]})
            return True
        if len(segs) == 2 and segs[0] == "apis" and segs[1] in groups:
            body = group_obj(segs[1])
            body.update({"kind": "APIGroup", "apiVersion": "v1"})
            self.send_json(200, body)
            return True
        if segs == ["api", "v1"] or (len(segs) == 3 and segs[0] == "apis" and segs[1] in groups
                                     and segs[2] in groups[segs[1]]):
            group, version = ("", "v1") if segs[0] == "api" else (segs[1], segs[2])
            out = []
            for r in served:
                if r.group != group or version not in r.versions:
                    continue
                verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
                out.append({"name": r.plural, "singularName": r.singular(),
                            "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs,
                            "shortNames": list(r.short)} if r.short else
                           {"name": r.plural, "singularName": r.singular(),
                            "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs})
                if r.status:
                    out.append({"name": r.plural + "/status", "singularName": "",
                                "namespaced": r.namespaced, "kind": r.kind,
                                "verbs": ["get", "patch", "update"]})
            self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                 "groupVersion": version if not group else
                                 "%s/%s" % (group, version), "resources": out})
            return True
        return False

    # -- reads -----------------------------------------------------------------------------

    def output(self, res, version, obj, in_list=False):
        o = copy.deepcopy(obj)
        md = o.get("metadata") or {}
        o["metadata"] = {k: md[k] for k in sorted(md, key=lambda k: (
            METADATA_ORDER.index(k) if k in METADATA_ORDER else len(METADATA_ORDER), k))}
        if in_list and res.builtin:
            # Built-in types in a JSON list carry no kind/apiVersion per item; CRs do.
            o.pop("kind", None)
            o.pop("apiVersion", None)
            return o
        out = {"apiVersion": res.api_version(version), "kind": res.kind}
        out.update((k, v) for k, v in o.items() if k not in ("apiVersion", "kind"))
        return out

    def get(self, res, version, ns, name):
        st = self.app.store
        with st.lock:
            obj = st.objects[res.gk].get((ns or "", name))
            if obj is None:
                raise not_found(res, name)
            self.send_json(200, self.output(res, version, obj))

    def selectors(self):
        return (parse_label_selector(self.params.get("labelSelector", "")),
                parse_field_selector(self.params.get("fieldSelector", "")))

    def parse_rv(self, text, what="resourceVersion"):
        try:
            v = int(text)
            if v < 0:
                raise ValueError()
            return v
        except ValueError:
            raise bad_request("invalid %s %s: must be a decimal number" % (what,
                                                                           json.dumps(text)))

    def wait_for_rv(self, rv):
        """A request for an RV newer than the store waits up to 3 s (as the watch cache
        waits to catch up), then fails with ResourceVersionTooLarge."""
        st = self.app.store
        deadline = time.monotonic() + 3
        while st.rv < rv:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ApiError(504, "Timeout", "Too large resource version: %d, current: %d"
                               % (rv, st.rv),
                               {"causes": [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}],
                                "retryAfterSeconds": 1})
            st.cond.wait(left)

    @staticmethod
    def key_str(key):
        return key[0] + "/" + key[1] if key[0] else key[1]

    def list(self, res, version, ns):
        st = self.app.store
        lsel, fsel = self.selectors()
        p = self.params
        limit = self.parse_rv(p["limit"], "limit") if p.get("limit") else 0
        rv_param = p.get("resourceVersion", "")
        match = p.get("resourceVersionMatch", "")
        cont = p.get("continue", "")
        if match not in ("", "Exact", "NotOlderThan"):
            raise bad_request("resourceVersionMatch: Unsupported value: %s" % json.dumps(match))
        if match and rv_param == "":
            raise bad_request("resourceVersionMatch is forbidden unless resourceVersion is "
                              "provided")
        if cont and rv_param not in ("", "0"):
            raise bad_request("specifying resource version is not allowed when using continue")
        with st.lock:
            start = ""
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4),
                                                      altchars=b"-_", validate=False))
                    if tok.get("v") != "meta.k8s.io/v1":
                        raise ValueError("unknown version")
                    snap_rv, start = int(tok["rv"]), str(tok["start"])
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise bad_request("continue key is not valid: %s" % e)
                if snap_rv < st.compacted_rv or snap_rv <= st.expire_continue_upto:
                    fresh = encode_continue(st.rv, start)
                    raise expired(
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue "
                        "parameter, or use the continue token in this response to retrieve "
                        "the remainder of the results. Continuing with the provided token "
                        "results in an inconsistent list - objects that were created, "
                        "modified, or deleted between the time the first chunk was returned "
                        "and now may show up in the list.", {"continue": fresh})
                state = st.snapshot(res.gk, snap_rv)
            elif rv_param in ("", "0"):
                snap_rv = st.rv
                state = dict(st.objects[res.gk])
                if rv_param == "0" and not match:
                    limit = 0  # served from the watch cache: the limit is ignored
            else:
                want = self.parse_rv(rv_param)
                self.wait_for_rv(want)
                if match == "Exact" or (not match and limit):
                    snap_rv, state = want, st.snapshot(res.gk, want)
                else:
                    snap_rv, state = st.rv, dict(st.objects[res.gk])
            items = sorted(((self.key_str(k), o) for k, o in state.items()
                            if ns is None or k[0] == ns), key=lambda x: x[0])
        items = [(k, o) for k, o in items if k > start] if start else items
        selected = [(k, o) for k, o in items if labels_match(lsel, o) and fields_match(fsel, o)]
        md = {"resourceVersion": str(snap_rv)}
        page = selected
        if limit and len(selected) > limit:
            page = selected[:limit]
            if self.app.faults.short_pages and page:
                # A real server may return fewer items than the limit, even none, with more
                # to come; only `continue` says whether the list is complete.
                page = page[:self.app.next_rng().randrange(len(page))]
            md["continue"] = encode_continue(snap_rv, page[-1][0] + "\x00" if page else start)
            if not lsel and not fsel:
                md["remainingItemCount"] = len(selected) - len(page)
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version(version),
                             "metadata": md,
                             "items": [self.output(res, version, o, True) for _, o in page]})

    # -- watch -----------------------------------------------------------------------------

    def watch(self, res, version, ns):
        app, st, faults = self.app, self.app.store, self.app.faults
        lsel, fsel = self.selectors()
        p = self.params
        bookmarks = p.get("allowWatchBookmarks", "") in ("1", "true", "True")
        timeout = (self.parse_rv(p["timeoutSeconds"], "timeoutSeconds")
                   if p.get("timeoutSeconds") else 0) or app.args.watch_timeout
        rv_param = p.get("resourceVersion", "")
        rng = app.next_rng()

        def visible(o):
            return o is not None and (ns is None or o["metadata"].get("namespace", "") == ns) \
                and labels_match(lsel, o) and fields_match(fsel, o)

        too_old = None
        with faults.lock:
            once = faults.too_old_once
            if once and rv_param not in ("", "0") and (
                    not once.get("path") or re.search(once["path"], self.path)):
                faults.too_old_once = None
                too_old = once["mode"]
            drop_gen = faults.watch_drop_generation
        initial = []
        with st.lock:
            if rv_param in ("", "0"):
                pos = st.rv
                initial = [o for o in st.objects[res.gk].values() if visible(o)]
                rng.shuffle(initial)  # a real server promises no order for these
            else:
                pos = self.parse_rv(rv_param)
                self.wait_for_rv(pos)
                if too_old is None and pos < st.compacted_rv:
                    too_old = faults.too_old_mode
            current = st.compacted_rv + 1
        if too_old is not None:
            err = expired("too old resource version: %s (%d)" % (rv_param, max(current,
                                                                                  pos + 1)))
            if too_old == "http":
                raise err
            self.start_stream()
            self.send_pieces(rng, compact({"type": "ERROR", "object": err.status()}) + b"\n")
            self.end_stream()
            return

        self.start_stream()
        deadline = time.monotonic() + timeout
        lo, hi = faults.bookmark_interval
        next_bookmark = time.monotonic() + rng.uniform(lo, hi)
        pending = b"".join(compact({"type": "ADDED", "object": self.output(res, version, o)})
                           + b"\n" for o in initial)
        if pending:
            self.send_pieces(rng, pending)
        while True:
            with st.lock:
                events, behind = [], False
                if pos < st.compacted_rv:
                    behind = True  # this watcher fell out of the window
                else:
                    for ev in st.history:
                        if ev.rv > pos and ev.gk == res.gk:
                            events.append(ev)
                    if not events:
                        wait = min(0.2, max(0.0, deadline - time.monotonic()),
                                   max(0.0, next_bookmark - time.monotonic()))
                        st.cond.wait(wait)
                        for ev in st.history:
                            if ev.rv > pos and ev.gk == res.gk:
                                events.append(ev)
                caught_up_rv = st.rv
            if behind:
                err = expired("too old resource version: %d (%d)" % (pos, st.compacted_rv + 1))
                self.send_pieces(rng, compact({"type": "ERROR", "object": err.status()}) + b"\n")
                self.end_stream()
                return
            out = b""
            for ev in events:
                pos = ev.rv
                was, now = visible(ev.prev), visible(ev.obj)
                if ev.type == "DELETED":
                    etype, obj = ("DELETED", ev.obj) if was else (None, None)
                elif now and not was:
                    etype, obj = "ADDED", ev.obj
                elif now and was:
                    etype, obj = "MODIFIED", ev.obj
                elif was and not now:
                    # Stopped matching: DELETED with the last matching state at this event's RV.
                    obj = copy.deepcopy(ev.prev)
                    obj["metadata"]["resourceVersion"] = str(ev.rv)
                    etype = "DELETED"
                else:
                    etype = None
                if etype:
                    out += compact({"type": etype,
                                    "object": self.output(res, version, obj)}) + b"\n"
            if not events:
                pos = max(pos, caught_up_rv)
            with faults.lock:
                dropped = faults.watch_drop_generation != drop_gen
            if dropped or app.stopping:
                # Cut mid-event: half of the next line, then the connection without the final
                # chunk, as a crashed server or a broken network would leave it.
                line = out or compact({"type": "MODIFIED", "object": self.bookmark(res, version,
                                                                                   pos)}) + b"\n"
                self.send_pieces(rng, line[:max(1, len(line) // 2)])
                self.cut()
                return
            if out:
                self.send_pieces(rng, out)
            now_t = time.monotonic()
            if now_t >= deadline:
                if bookmarks:
                    self.send_pieces(rng, compact({"type": "BOOKMARK", "object": self.bookmark(
                        res, version, pos)}) + b"\n")
                self.end_stream()
                return
            if now_t >= next_bookmark:
                if rng.random() < faults.early_close_probability:
                    # Servers end watches whenever they like; a clean end, not an error.
                    self.end_stream()
                    return
                if bookmarks and rng.random() < faults.bookmark_probability:
                    self.send_pieces(rng, compact({"type": "BOOKMARK", "object": self.bookmark(
                        res, version, pos)}) + b"\n")
                next_bookmark = now_t + rng.uniform(lo, hi)

    def bookmark(self, res, version, rv):
        # What 1.20 sent: the watched kind with only metadata.resourceVersion meaningful.
        obj = {"kind": res.kind, "apiVersion": res.api_version(version),
               "metadata": {"resourceVersion": str(rv), "creationTimestamp": None}}
        if res.kind not in ("Secret", "Event", "EndpointSlice"):
            obj["spec"] = {}
        return obj

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self.status_sent = 200

    def send_pieces(self, rng, data):
        """Sends bytes as HTTP chunks cut at random offsets (possibly inside a UTF-8 character),
        each chunk flushed on its own so the client sees the cuts."""
        # At least one cut per write (more for long ones), so every batch exercises reassembly.
        cuts = sorted(set(rng.randrange(1, len(data))
                          for _ in range(rng.randint(1, 2 + len(data) // 256))
                          if len(data) > 1))
        bounds = [0] + cuts + [len(data)]
        for a, b in zip(bounds, bounds[1:]):
            piece = data[a:b]
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            self.wfile.flush()

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.was_cut = True

    # -- writes ----------------------------------------------------------------------------

    def parse_object(self, body, res, version):
        ctype = self.headers.get("Content-Type", "application/json").split(";")[0].strip()
        if ctype not in ("application/json", ""):
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json", {})
        try:
            obj = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)
        return self.check_object(obj, res, version)

    def check_object(self, obj, res, version):
        if not isinstance(obj, dict):
            raise bad_request("couldn't get version/kind; json parse error: json: cannot "
                              "unmarshal %s into Go value of type struct" % type(obj).__name__)
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if (av is not None and av not in [res.api_version(v) for v in res.versions]) or (
                kind is not None and kind != res.kind):
            raise bad_request("the API version in the data (%s) does not match the expected "
                              "API version (%s)" % (av, res.api_version(version))
                              if av != res.api_version(version) else
                              "the kind in the data (%s) does not match the expected kind (%s)"
                              % (kind, res.kind))
        md = obj.get("metadata", {})
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise bad_request("json: cannot unmarshal %s into Go struct field .metadata of type "
                              "v1.ObjectMeta" % type(md).__name__)
        for f in ("labels", "annotations"):
            m = md.get(f)
            if m is not None and (not isinstance(m, dict) or
                                  not all(isinstance(v, str) for v in m.values())):
                raise bad_request("json: cannot unmarshal into Go struct field "
                                  "ObjectMeta.metadata.%s of type map[string]string" % f)
        for f in ("name", "namespace", "resourceVersion", "generateName"):
            if f in md and md[f] is not None and not isinstance(md[f], str):
                raise bad_request("json: cannot unmarshal %s into Go struct field "
                                  "ObjectMeta.metadata.%s of type string"
                                  % (type(md[f]).__name__, f))
        if res.kind == "Lease" and isinstance(obj.get("spec"), dict):
            spec = obj["spec"]
            for f in MICROTIME_FIELDS:
                if spec.get(f) is not None:
                    try:
                        spec[f] = normalize_microtime(spec[f])
                    except ValueError as e:
                        raise bad_request(str(e))
            for f in ("leaseDurationSeconds", "leaseTransitions"):
                if spec.get(f) is not None and (not isinstance(spec[f], int) or
                                                isinstance(spec[f], bool)):
                    raise bad_request("json: cannot unmarshal %s into Go struct field "
                                      "LeaseSpec.spec.%s of type int32" % (json.dumps(spec[f]),
                                                                           f))
        return obj

    def validate(self, res, obj, name):
        causes = []
        if not name:
            causes.append({"reason": "FieldValueRequired", "field": "metadata.name",
                           "message": "Required value: name or generateName is required"})
        else:
            rx = _DNS1123_LABEL if res.kind in ("Namespace", "Service") else _DNS1123_SUBDOMAIN
            if not rx.match(name) or len(name) > (63 if rx is _DNS1123_LABEL else 253):
                causes.append({"reason": "FieldValueInvalid", "field": "metadata.name",
                               "message": "Invalid value: %s: a lowercase RFC 1123 %s must "
                               "consist of lower case alphanumeric characters, '-' or '.'"
                               % (json.dumps(name), "label" if rx is _DNS1123_LABEL else
                                  "subdomain")})
        if res.kind == "Lease":
            d = (obj.get("spec") or {}).get("leaseDurationSeconds")
            if d is not None and d <= 0:
                causes.append({"reason": "FieldValueInvalid",
                               "field": "spec.leaseDurationSeconds",
                               "message": "Invalid value: %d: must be greater than 0" % d})
        if causes:
            raise invalid(res, name or "", causes)

    def check_namespace(self, res, ns, obj):
        if not res.namespaced:
            obj["metadata"].pop("namespace", None)
            return
        have = obj["metadata"].get("namespace")
        if have and have != ns:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        obj["metadata"]["namespace"] = ns
        if ("", ns) not in self.app.store.objects[("", "namespaces")]:
            raise ApiError(404, "NotFound", 'namespaces "%s" not found' % ns,
                           {"name": ns, "kind": "namespaces"})

    def manager(self, required=False):
        m = self.params.get("fieldManager")
        if m:
            return m
        if required:
            return None
        ua = self.headers.get("User-Agent", "unknown")
        return ua.split("/")[0] or "unknown"

    def create(self, res, version, ns, body):
        obj = self.parse_object(body, res, version)
        st = self.app.store
        md = obj["metadata"]
        with st.lock:
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + "".join(
                    self.app.next_rng().choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            name = md.get("name", "")
            self.validate(res, obj, name)
            if res.namespaced:
                self.check_namespace(res, ns, obj)
            key = (ns or "", name)
            if key in st.objects[res.gk]:
                qual = res.plural if not res.group else "%s.%s" % (res.plural, res.group)
                raise ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qual, name),
                               details_for(res, name))
            new = self.fresh(res, obj)
            track_update(None, new, self.manager(), res.api_version(version), "")
            stored = st.commit(res.gk, key, "ADDED", st.stamp_new(new), None)
            self.send_json(201, self.output(res, version, stored))

    def fresh(self, res, obj):
        """The stored form of a new object: server-owned metadata dropped, the rest kept."""
        new = copy.deepcopy(obj)
        md = new["metadata"]
        for f in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
                  "deletionTimestamp", "selfLink"):
            md.pop(f, None)
        new["apiVersion"] = res.api_version(res.versions[0])
        new["kind"] = res.kind
        if res.kind == "Namespace":
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
            new.setdefault("spec", {"finalizers": ["kubernetes"]})
            new["status"] = {"phase": "Active"}
        return new

    def merged_update(self, res, old, incoming, sub):
        """The object an update stores: identity and server fields from `old`; with a status
        subresource the main resource keeps old status, /status keeps everything but status."""
        if sub == "status":
            new = copy.deepcopy(old)
            if "status" in incoming:
                new["status"] = copy.deepcopy(incoming["status"])
            else:
                new.pop("status", None)
        else:
            new = copy.deepcopy(incoming)
            md = new.setdefault("metadata", {})
            for f in ("uid", "creationTimestamp", "generation", "namespace", "name",
                      "managedFields"):
                if f in old["metadata"]:
                    md[f] = old["metadata"][f]
                else:
                    md.pop(f, None)
            md.pop("resourceVersion", None)
            new["apiVersion"], new["kind"] = old["apiVersion"], old["kind"]
            if res.status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            if res.kind == "Namespace":
                md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        return new

    def store_update(self, res, version, key, old, new, status_code=200):
        """Bumps generation on spec changes, skips no-op writes (no new RV, no event, as etcd
        does), commits, answers."""
        st = self.app.store

        def body_of(o):
            return {k: v for k, v in o.items() if k not in ("metadata", "status")}

        def sans_mf(o):
            o = copy.deepcopy(o)
            o["metadata"].pop("managedFields", None)
            o["metadata"].pop("resourceVersion", None)
            return o
        if body_of(new) != body_of(old):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if sans_mf(new) == sans_mf(old):
            stored = old
        else:
            stored = st.commit(res.gk, key, "MODIFIED", new, old)
        self.send_json(status_code, self.output(res, version, stored))

    def update(self, res, version, ns, name, sub, body):
        obj = self.parse_object(body, res, version)
        st = self.app.store
        md = obj["metadata"]
        if md.get("name") is not None and md.get("name") != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL "
                              "(%s)" % (md.get("name"), name))
        if res.namespaced and md.get("namespace") and md["namespace"] != ns:
            raise bad_request("the namespace of the provided object does not match the "
                              "namespace sent on the request")
        with st.lock:
            key = (ns or "", name)
            old = st.objects[res.gk].get(key)
            if old is None:
                raise not_found(res, name)
            rv = md.get("resourceVersion")
            if not rv:
                if not res.builtin:
                    raise invalid(res, name, [{
                        "reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                        "message": "Invalid value: 0x0: must be specified for an update"}])
            elif rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            new = self.merged_update(res, old, obj, sub)
            self.validate(res, new, name)
            track_update(old, new, self.manager(), res.api_version(version), sub or "")
            self.store_update(res, version, key, old, new)

    def patch(self, res, version, ns, name, sub, body):
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            return self.apply(res, version, ns, name, sub, body)
        try:
            patch = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise bad_request("error decoding patch: %s" % e)
        if ctype == "application/strategic-merge-patch+json" and not res.builtin:
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml", {})
        if ctype not in ("application/merge-patch+json", "application/json-patch+json",
                         "application/strategic-merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml", {})
        st = self.app.store
        with st.lock:
            key = (ns or "", name)
            old = st.objects[res.gk].get(key)
            if old is None:
                raise not_found(res, name)
            current = self.output(res, version, old)
            if ctype == "application/json-patch+json":
                patched = json_patch(current, patch)
            else:
                # Strategic merge on built-ins is treated as a merge patch (README: gaps).
                if not isinstance(patch, dict):
                    raise bad_request("error decoding patch: a JSON object is expected")
                patched = merge_patch(current, patch)
            patched = self.check_object(patched, res, version)
            pmd = patched["metadata"]
            if pmd.get("name") != name:
                raise bad_request("the name of the object (%s) does not match the name on the "
                                  "URL (%s)" % (pmd.get("name"), name))
            rv = pmd.get("resourceVersion")
            if rv and rv != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            new = self.merged_update(res, old, patched, sub)
            self.validate(res, new, name)
            track_update(old, new, self.manager(), res.api_version(version), sub or "")
            self.store_update(res, version, key, old, new)

    def apply(self, res, version, ns, name, sub, body):
        manager = self.manager(required=True)
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                           'fieldManager: Required value: is required for apply patch',
                           {"group": "meta.k8s.io", "kind": "PatchOptions",
                            "causes": [{"reason": "FieldValueRequired",
                                        "message": "Required value: is required for apply "
                                        "patch", "field": "fieldManager"}]})
        force = self.params.get("force", "") in ("1", "true", "True")
        text = body.decode("utf-8", "replace")
        try:
            applied = json.loads(text)
        except ValueError:
            if yaml is None:
                raise bad_request("error decoding YAML: this server reads JSON apply bodies "
                                  "only (PyYAML is not installed)")
            try:
                applied = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise bad_request("error decoding YAML: %s" % e)
        if not isinstance(applied, dict):
            raise bad_request("error decoding YAML: the applied configuration is not an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("invalid object type: %s, Kind=%s"
                              % (applied.get("apiVersion", "/, "), applied.get("kind", "")))
        applied = self.check_object(applied, res, version)
        amd = applied["metadata"]
        if amd.get("name") not in (None, name):
            raise bad_request("the name of the object (%s) does not match the name on the URL "
                              "(%s)" % (amd.get("name"), name))
        st = self.app.store
        with st.lock:
            key = (ns or "", name)
            old = st.objects[res.gk].get(key)
            rv = amd.get("resourceVersion")
            if rv and (old is None or rv != old["metadata"]["resourceVersion"]):
                raise conflict(res, name)
            # What this apply may touch: status only on /status, never status on the main
            # resource when a status subresource exists.
            part = tracked(applied)
            if sub == "status":
                part = {"status": part["status"]} if "status" in part else {}
            elif res.status:
                part.pop("status", None)
            mine = set(field_paths(part))
            ident = (manager, "Apply", sub or "")
            created = old is None
            if created:
                if sub == "status":
                    raise not_found(res, name)
                base = {"apiVersion": res.api_version(res.versions[0]), "kind": res.kind,
                        "metadata": {"name": name}}
                if res.namespaced:
                    self.check_namespace(res, ns, base)
                old_obj = None
                current = base
            else:
                old_obj = old
                current = copy.deepcopy(old)
            mg = Managers(current)
            cur_t = tracked(current)
            conflicts = []
            for e in mg.entries:
                if mg.ident(e) == ident:
                    continue
                for p in sorted(mg.paths(e) & mine):
                    if p[-1] == ".":
                        continue
                    if value_at(cur_t, p) != value_at(part, p):
                        conflicts.append((e, p))
            if conflicts and not force:
                causes = []
                for e, p in conflicts:
                    causes.append({"reason": "FieldManagerConflict",
                                   "message": 'conflict with "%s"%s using %s'
                                   % (e.get("manager"), ' with subresource "%s"'
                                      % e["subresource"] if e.get("subresource") else "",
                                      e.get("apiVersion", "")),
                                   "field": render_path(p)})
                if len(causes) == 1:
                    msg = "Apply failed with 1 conflict: %s: %s" % (causes[0]["message"],
                                                                     causes[0]["field"])
                else:
                    msg = "Apply failed with %d conflicts: %s" % (
                        len(causes), "\n".join("%s: %s" % (c["message"], c["field"])
                                               for c in causes))
                d = details_for(res, name)
                d["kind"] = res.kind
                d["causes"] = causes
                raise ApiError(409, "Conflict", msg, d)
            for e, p in conflicts:  # forced: the others lose these fields
                mg.set_paths(e, mg.paths(e) - {p})
            # Fields this manager applied before and dropped now go away, unless someone else
            # still owns them.
            prev = mg.find(ident)
            dropped = (mg.paths(prev) if prev else set()) - mine
            new = merge_applied(current, part)
            others = set()
            for e in mg.entries:
                if mg.ident(e) != ident:
                    others |= mg.paths(e)
            for p in sorted(dropped, key=len, reverse=True):
                if p not in others:
                    delete_at(new, p)
            mg.upsert(ident, res.api_version(version), mine)
            new.setdefault("metadata", {})
            mg.store(new)
            self.validate(res, new, name)
            if created:
                new = self.fresh(res, new)
                mg.store(new)
                stored = st.commit(res.gk, key, "ADDED", st.stamp_new(new), None)
                self.send_json(201, self.output(res, version, stored))
            else:
                self.store_update(res, version, key, old_obj, new)

    def delete(self, res, version, ns, name, body):
        st = self.app.store
        pre = {}
        if body.strip():
            try:
                opts = json.loads(body.decode("utf-8"))
                pre = (opts or {}).get("preconditions") or {}
                if not isinstance(pre, dict):
                    raise ValueError("preconditions must be an object")
            except (ValueError, UnicodeDecodeError, AttributeError) as e:
                raise bad_request("error decoding DeleteOptions: %s" % e)
        with st.lock:
            key = (ns or "", name)
            old = st.objects[res.gk].get(key)
            if old is None:
                raise not_found(res, name)
            md = old["metadata"]
            if pre.get("uid") and pre["uid"] != md["uid"]:
                raise ApiError(409, "Conflict", "Precondition failed: UID in precondition: %s, "
                               "UID in object meta: %s" % (pre["uid"], md["uid"]),
                               details_for(res, name))
            if pre.get("resourceVersion") and pre["resourceVersion"] != md["resourceVersion"]:
                raise ApiError(409, "Conflict", "Precondition failed: ResourceVersion in "
                               "precondition: %s, ResourceVersion in object meta: %s"
                               % (pre["resourceVersion"], md["resourceVersion"]),
                               details_for(res, name))
            if res.kind == "Namespace":
                # Real namespaces pass through Terminating; here their content goes at once.
                for gk in list(st.objects):
                    if gk == res.gk:
                        continue
                    for k in sorted(k for k in st.objects[gk] if k[0] == name):
                        prev = st.objects[gk][k]
                        st.commit(gk, k, "DELETED", prev, prev)
            stored = st.commit(res.gk, key, "DELETED", old, old)
            self.send_json(200, self.output(res, version, stored))


def encode_continue(rv, start):
    tok = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(tok).decode().rstrip("=")


# ------------------------------------------------------------------------------------------
# Listener, TLS, files
# ------------------------------------------------------------------------------------------

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app, addr, ssl_ctx):
        self.app = app
        self.ssl_ctx = ssl_ctx
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so one stalled client
        # cannot block accept().
        with self.app.conns_lock:
            self.app.conns.add(request)
        try:
            if self.ssl_ctx is not None:
                request.settimeout(10)
                try:
                    request = self.ssl_ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    log("%s TLS handshake failed: %s" % (client_address[0], e))
                    return
                request.settimeout(None)
                with self.app.conns_lock:
                    self.app.conns.add(request)
            super().finish_request(request, client_address)
        finally:
            with self.app.conns_lock:
                self.app.conns.discard(request)

    def handle_error(self, request, client_address):
        log("%s connection error: %r" % (client_address[0], sys.exc_info()[1]))


def make_certs(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-apiserver-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.DNSName("kubernetes.default.svc"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_file(os.path.join(d, "ca.crt"), ca.public_bytes(pem))
    write_file(os.path.join(d, "server.crt"), cert.public_bytes(pem))
    write_file(os.path.join(d, "server.key"), key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), mode=0o600)


def write_file(path, data, mode=0o644):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def write_kubeconfig(app, port):
    d = app.dir
    host = app.args.bind if ":" not in app.args.bind else "[%s]" % app.args.bind
    scheme = "http" if app.args.http else "https"
    if app.args.token_file_in_kubeconfig:
        user = "    tokenFile: %s\n" % os.path.join(os.path.abspath(d), "token")
    else:
        user = "    token: %s\n" % app.token()
    cluster = "    server: %s://%s:%d\n" % (scheme, host, port)
    if not app.args.http:
        with open(os.path.join(d, "ca.crt"), "rb") as f:
            cluster += "    certificate-authority-data: %s\n" % base64.b64encode(f.read()).decode()
    write_file(os.path.join(d, "kubeconfig"),
               "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n" + cluster +
               "users:\n- name: fake\n  user:\n" + user +
               "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n"
               "    namespace: default\ncurrent-context: fake\n", mode=0o600)


def ssl_context(app):
    if app.args.http:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(app.dir, "server.crt"), os.path.join(app.dir, "server.key"))
    ctx.set_alpn_protocols(["http/1.1"])  # no HTTP/2 here: curl falls back to HTTP/1.1
    return ctx


def restart_listener(app):
    """The restart fault: stop listening, cut every connection, come back on the same port with
    the same store after the given seconds."""
    time.sleep(0.05)  # let the admin answer leave first
    app.stopping = True
    with app.store.lock:
        app.store.cond.notify_all()
    app.server.shutdown()


def cut_all(app):
    with app.conns_lock:
        conns = list(app.conns)
    for c in conns:
        try:
            c.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--http", action="store_true", help="plain HTTP (debugging)")
    ap.add_argument("--history", type=int, default=1000, help="events kept for watches")
    ap.add_argument("--seed", type=int, default=None, help="seeds chunk cuts and bookmarks")
    ap.add_argument("--watch-timeout", type=int, default=1800,
                    help="seconds a watch lasts without timeoutSeconds")
    ap.add_argument("--without-group", action="append", help="answer 404 for this API group")
    ap.add_argument("--token-file-in-kubeconfig", action="store_true",
                    help="kubeconfig names DIR/token with tokenFile instead of inlining it")
    args = ap.parse_args()
    if args.history < 1:
        ap.error("--history must be at least 1")
    os.makedirs(args.dir, exist_ok=True)
    app = App(args)
    if not os.path.exists(os.path.join(args.dir, "token")):
        write_file(os.path.join(args.dir, "token"), secrets.token_urlsafe(32) + "\n", 0o600)
    if not args.http:
        make_certs(args.dir)
    ctx = ssl_context(app)

    def on_term(signum, frame):
        app.stopping = True
        app.restart_seconds = None
        threading.Thread(target=app.server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    port = args.port
    while True:
        app.server = Server(app, (args.bind, port), ctx)
        port = app.server.server_address[1]
        write_kubeconfig(app, port)
        write_file(os.path.join(args.dir, "port"), "%d\n" % port)
        log("listening on %s:%d (%s, seed %d)" % (args.bind, port,
                                                  "http" if args.http else "https", app.seed))
        app.server.serve_forever(poll_interval=0.1)
        app.server.server_close()
        cut_all(app)
        if app.restart_seconds is None:
            break
        secs, app.restart_seconds = app.restart_seconds, None
        log("restart: refusing connections for %.1f s" % secs)
        time.sleep(secs)
        app.stopping = False
    log("stopped")


if __name__ == "__main__":
    main()
