#!/usr/bin/python3
"""Self-test of tests/k8s/fake_apiserver.py: the fake must behave like a real API server before
the C++ client is tested against it.

  python3 -m unittest -v tests/k8s/test_fake_apiserver.py     (or run this file)

Starts two servers as subprocesses on free ports, in temporary directories: the main one (all
groups, seeded) and a small one (--history 20, --without-group metallb.io) for the history
window, a missing group and the restart fault. Talks HTTPS with the generated CA through
http.client, and reads watch streams off a raw TLS socket so chunk boundaries are visible.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_apiserver.py")


class Fake:
    """One fake_apiserver.py subprocess and a client for it."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="fake-apiserver-")
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen([sys.executable, SERVER, "--dir", self.dir, "--port", "0",
                                      *extra], stderr=self.stderr)
        deadline = time.monotonic() + 15
        while not os.path.exists(os.path.join(self.dir, "port")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fake_apiserver did not start: " + self.log())
            time.sleep(0.05)
        with open(os.path.join(self.dir, "port")) as f:
            self.port = int(f.read())
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.crt"))

    def log(self):
        with open(os.path.join(self.dir, "stderr.log"), errors="replace") as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def token(self):
        with open(os.path.join(self.dir, "token")) as f:
            return f.read().strip()

    def request(self, method, path, body=None, ctype="application/json", token=None,
                timeout=10, headers=None):
        """-> (status, parsed JSON body or text, response headers)."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)
        h = {"Authorization": "Bearer " + (token if token is not None else self.token()),
             "User-Agent": "fake-selftest/1.0"}
        h.update(headers or {})
        if body is not None:
            h["Content-Type"] = ctype
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data.decode("utf-8", "replace")
            return r.status, parsed, dict(r.getheaders())
        finally:
            conn.close()

    def admin(self, path, body=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
        try:
            conn.request("POST" if body is not None else "GET", path,
                         body=json.dumps(body) if body is not None else None)
            r = conn.getresponse()
            return r.status, json.loads(r.read())
        finally:
            conn.close()

    def fault(self, **spec):
        status, body = self.admin("/_admin/fault", spec)
        assert status == 200, body

    def watch(self, path, stop=None, timeout=10):
        """A watch read off a raw TLS socket: the HTTP status, the events (cut on newlines),
        the chunks as sent, whether the stream ended with the final chunk, and any bytes left
        after the last newline."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s = self.ctx.wrap_socket(sock, server_hostname="127.0.0.1")
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                   "Accept: application/json\r\n\r\n" % (path, self.token())).encode())
        f = s.makefile("rb")
        res = {"chunks": [], "events": [], "ended": False, "rest": b""}
        try:
            res["status"] = int(f.readline().split()[1])
            headers = {}
            while True:
                line = f.readline().strip()
                if not line:
                    break
                k, _, v = line.decode().partition(":")
                headers[k.lower()] = v.strip()
            res["headers"] = headers
            if headers.get("transfer-encoding") != "chunked":
                res["body"] = json.loads(f.read(int(headers.get("content-length", 0))))
                return res
            buf = b""
            while True:
                line = f.readline()
                if not line:
                    break  # cut without the final chunk
                size = int(line.strip(), 16)
                if size == 0:
                    f.readline()
                    res["ended"] = True
                    break
                data = f.read(size)
                f.readline()
                res["chunks"].append(data)
                buf += data
                while b"\n" in buf:
                    line, _, buf = buf.partition(b"\n")
                    if line.strip():
                        res["events"].append(json.loads(line))
                if stop and stop(res["events"]):
                    break
            res["rest"] = buf
            return res
        finally:
            s.close()


def svc(name, labels=None, spec=None, **md):
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    meta.update(md)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": spec if spec is not None else {"type": "LoadBalancer",
                                                   "ports": [{"port": 80}]}}


ROUTES = "/apis/gateway.networking.k8s.io/v1/namespaces/%s/httproutes"


class FakeApiServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = Fake("--seed", "7")
        cls.small = Fake("--seed", "8", "--history", "20", "--without-group", "metallb.io")

    @classmethod
    def tearDownClass(cls):
        logs = cls.k.log() + cls.small.log()
        cls.k.stop()
        cls.small.stop()
        # A bug in the fake answers 500 "Internal error" and logs it; none may have happened.
        assert "internal error" not in logs and "Traceback" not in logs, logs[-3000:]

    def setUp(self):
        self.k.admin("/_admin/reset", {})
        self.small.admin("/_admin/reset", {})

    def ns(self, name, k=None):
        k = k or self.k
        status, body, _ = k.request("POST", "/api/v1/namespaces",
                                    {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": name}})
        self.assertEqual(status, 201, body)
        return "/api/v1/namespaces/%s/services" % name

    def assertStatus(self, body, code, reason):
        self.assertIsInstance(body, dict, body)
        self.assertEqual(body.get("kind"), "Status", body)
        self.assertEqual(body.get("apiVersion"), "v1")
        self.assertEqual(body.get("status"), "Failure")
        self.assertEqual(body.get("code"), code, body)
        self.assertEqual(body.get("reason"), reason, body)
        self.assertTrue(body.get("message"))

    # -- CRUD ------------------------------------------------------------------------------

    def test_crud(self):
        base = self.ns("crud")
        st, a, _ = self.k.request("POST", base, svc("a", {"app": "x"}))
        self.assertEqual(st, 201, a)
        md = a["metadata"]
        self.assertEqual((a["kind"], a["apiVersion"], md["namespace"]), ("Service", "v1", "crud"))
        for f in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(md.get(f), f)
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(md["generation"], 1)
        self.assertTrue(md["resourceVersion"].isdigit())

        st, body, _ = self.k.request("POST", base, svc("a"))
        self.assertEqual(st, 409)
        self.assertStatus(body, 409, "AlreadyExists")
        self.assertEqual(body["details"], {"name": "a", "kind": "services"})

        st, got, _ = self.k.request("GET", base + "/a")
        self.assertEqual((st, got["metadata"]["uid"]), (200, md["uid"]))

        # A label change is not a spec change: generation stays.
        got["metadata"]["labels"]["more"] = "1"
        st, upd, _ = self.k.request("PUT", base + "/a", got)
        self.assertEqual(st, 200, upd)
        self.assertEqual(upd["metadata"]["generation"], 1)
        self.assertGreater(int(upd["metadata"]["resourceVersion"]), int(md["resourceVersion"]))
        upd["spec"]["ports"][0]["port"] = 81
        st, upd2, _ = self.k.request("PUT", base + "/a", upd)
        self.assertEqual((st, upd2["metadata"]["generation"]), (200, 2))
        # Writing the same object again is a no-op: no new RV.
        st, upd3, _ = self.k.request("PUT", base + "/a", upd2)
        self.assertEqual(upd3["metadata"]["resourceVersion"], upd2["metadata"]["resourceVersion"])

        st, gone, _ = self.k.request("DELETE", base + "/a")
        self.assertEqual(st, 200)
        self.assertEqual(gone["metadata"]["labels"]["more"], "1")
        st, body, _ = self.k.request("GET", base + "/a")
        self.assertEqual(st, 404)
        self.assertStatus(body, 404, "NotFound")
        self.assertEqual(body["message"], 'services "a" not found')
        st, body, _ = self.k.request("DELETE", base + "/a")
        self.assertStatus(body, 404, "NotFound")

    def test_create_in_missing_namespace_and_bad_bodies(self):
        st, body, _ = self.k.request("POST", "/api/v1/namespaces/nope/services", svc("a"))
        self.assertStatus(body, 404, "NotFound")
        base = self.ns("bad")
        st, body, _ = self.k.request("POST", base, b"{not json")
        self.assertStatus(body, 400, "BadRequest")
        st, body, _ = self.k.request("POST", base, [1, 2])
        self.assertStatus(body, 400, "BadRequest")
        st, body, _ = self.k.request("POST", base, svc("Bad_Name"))
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["details"]["causes"][0]["field"], "metadata.name")
        st, body, _ = self.k.request("POST", base, {"kind": "Service", "metadata": {}})
        self.assertStatus(body, 422, "Invalid")
        st, body, _ = self.k.request("POST", base, svc("x", namespace="other"))
        self.assertStatus(body, 400, "BadRequest")
        st, body, _ = self.k.request("POST", base, {"apiVersion": "v1", "kind": "Secret",
                                                    "metadata": {"name": "x"}})
        self.assertStatus(body, 400, "BadRequest")
        st, body, _ = self.k.request("POST", base, svc("x", labels={"a": 1}))
        self.assertStatus(body, 400, "BadRequest")

    def test_garbage_gets_errors_not_crashes(self):
        base = self.ns("junk")
        self.k.request("POST", base, svc("a"))
        cases = [
            ("PATCH", base + "/a", [1, "x"], "application/json-patch+json", 400),
            ("PATCH", base + "/a", [{"op": "add"}], "application/json-patch+json", 400),
            ("PATCH", base + "/a", [{"op": "remove", "path": "/nope/x"}],
             "application/json-patch+json", 422),
            ("PATCH", base + "/a", [{"op": "jump", "path": "/x"}], "application/json-patch+json",
             400),
            ("PATCH", base + "/a?fieldManager=m", "- [unbalanced", "application/apply-patch+yaml", 400),
            ("PATCH", base + "/a?fieldManager=m", "[1]", "application/apply-patch+yaml", 400),
            ("PATCH", base + "/a?fieldManager=m", b"\xff\xfe", "application/apply-patch+yaml",
             400),
            ("PUT", base + "/a", {"metadata": {"name": "a", "resourceVersion": 5}},
             "application/json", 400),
            ("PUT", base + "/b", svc("a"), "application/json", 400),
            ("DELETE", base + "/a", b"{\"preconditions\": 3}", "application/json", 400),
            ("GET", base + "?limit=x", None, None, 400),
            ("GET", base + "?resourceVersion=abc", None, None, 400),
            ("GET", base + "?watch=1&resourceVersion=-4", None, None, 400),
            ("GET", base + "?continue=eyJ2IjoxfQ", None, None, 400),
            ("POST", base + "/a", svc("a"), "application/json", 405),
            ("GET", "/apis/nope.io/v1/things", None, None, 404),
            ("GET", "/api/v1/namespaces/junk/services/a/scale", None, None, 404),
        ]
        for method, path, body, ctype, code in cases:
            st, got, _ = self.k.request(method, path, body, ctype=ctype or "application/json")
            self.assertEqual(st, code, (method, path, got))
            self.assertEqual(got["code"], code)
            self.assertEqual(got["kind"], "Status")
        # A broken chunked request body and raw junk: the connection closes, the server lives.
        for junk in (b"POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", b"\x16\x03\x01junk\r\n\r\n"):
            s = socket.create_connection(("127.0.0.1", self.k.port), timeout=5)
            s.sendall(junk)
            try:
                s.recv(100)
            except OSError:
                pass
            s.close()
        self.assertEqual(self.k.request("GET", base + "/a")[0], 200)

    def test_rv_precondition_and_cr_update_without_rv(self):
        base = self.ns("prec")
        _, a, _ = self.k.request("POST", base, svc("a"))
        _, a2, _ = self.k.request("PUT", base + "/a", dict(a, spec={"type": "ClusterIP"}))
        st, body, _ = self.k.request("PUT", base + "/a", a)  # the old RV
        self.assertEqual(st, 409)
        self.assertStatus(body, 409, "Conflict")
        self.assertIn("the object has been modified", body["message"])
        # Built-ins accept an unconditional update; custom resources answer 422.
        del a2["metadata"]["resourceVersion"]
        st, _, _ = self.k.request("PUT", base + "/a", a2)
        self.assertEqual(st, 200)
        route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                 "metadata": {"name": "r"}, "spec": {"parentRefs": [{"name": "gw"}]}}
        st, r, _ = self.k.request("POST", ROUTES % "prec", route)
        self.assertEqual(st, 201, r)
        self.assertEqual(r["apiVersion"], "gateway.networking.k8s.io/v1")
        st, body, _ = self.k.request("PUT", ROUTES % "prec" + "/r/status",
                                     dict(route, status={"parents": []}))
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["details"]["causes"][0]["field"], "metadata.resourceVersion")
        self.assertIn("must be specified for an update", body["message"])
        # Served as v1beta1 too, same object.
        st, b1, _ = self.k.request("GET", "/apis/gateway.networking.k8s.io/v1beta1/namespaces/"
                                   "prec/httproutes/r")
        self.assertEqual((st, b1["apiVersion"], b1["metadata"]["uid"]),
                         (200, "gateway.networking.k8s.io/v1beta1", r["metadata"]["uid"]))

    def test_status_subresource(self):
        self.ns("stat")
        path = ROUTES % "stat"
        st, r, _ = self.k.request("POST", path, {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "r"}, "spec": {"hostnames": ["a.example"]},
            "status": {"parents": [{"controllerName": "x"}]}})
        self.assertEqual(st, 201)
        # On the main resource status is ignored...
        r["spec"]["hostnames"] = ["b.example"]
        r["status"] = {"parents": [{"controllerName": "main"}]}
        st, r2, _ = self.k.request("PUT", path + "/r", r)
        self.assertEqual((st, r2["spec"]["hostnames"], r2["metadata"]["generation"]),
                         (200, ["b.example"], 2))
        self.assertEqual(r2["status"], {"parents": [{"controllerName": "x"}]})
        # ...and on /status only status changes.
        r2["spec"]["hostnames"] = ["c.example"]
        r2["status"] = {"parents": [{"controllerName": "portico.example/gw"}]}
        st, r3, _ = self.k.request("PUT", path + "/r/status", r2)
        self.assertEqual(st, 200, r3)
        self.assertEqual(r3["spec"]["hostnames"], ["b.example"])
        self.assertEqual(r3["status"]["parents"][0]["controllerName"], "portico.example/gw")
        self.assertEqual(r3["metadata"]["generation"], 2)
        st, body, _ = self.k.request("PUT", "/apis/gateway.networking.k8s.io/v1/namespaces/stat"
                                     "/referencegrants/x/status", r2)
        self.assertStatus(body, 404, "NotFound")  # no status subresource there

    def test_patches(self):
        base = self.ns("patch")
        self.k.request("POST", base, svc("a", {"app": "x", "drop": "me"}))
        st, p, _ = self.k.request("PATCH", base + "/a",
                                  {"metadata": {"labels": {"drop": None, "new": "1"}}},
                                  ctype="application/merge-patch+json")
        self.assertEqual(st, 200, p)
        self.assertEqual(p["metadata"]["labels"], {"app": "x", "new": "1"})
        st, p, _ = self.k.request("PATCH", base + "/a", [
            {"op": "test", "path": "/metadata/labels/app", "value": "x"},
            {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "c"}},
            {"op": "replace", "path": "/spec/ports/0/port", "value": 8080}],
            ctype="application/json-patch+json")
        self.assertEqual(st, 200, p)
        self.assertEqual((p["metadata"]["annotations"], p["spec"]["ports"][0]["port"]),
                         ({"a/b": "c"}, 8080))
        st, body, _ = self.k.request("PATCH", base + "/a", [
            {"op": "test", "path": "/metadata/labels/app", "value": "nope"}],
            ctype="application/json-patch+json")
        self.assertStatus(body, 422, "Invalid")
        st, body, _ = self.k.request("PATCH", base + "/a",
                                     {"metadata": {"resourceVersion": "1"}},
                                     ctype="application/merge-patch+json")
        self.assertStatus(body, 409, "Conflict")
        st, body, _ = self.k.request("PATCH", base + "/a", {}, ctype="text/plain")
        self.assertStatus(body, 415, "UnsupportedMediaType")
        st, body, _ = self.k.request("PATCH", base + "/a", b"[", ctype="application/merge-patch+json")
        self.assertStatus(body, 400, "BadRequest")

    # -- server-side apply -----------------------------------------------------------------

    def test_server_side_apply(self):
        base = self.ns("ssa")
        apply = "application/apply-patch+yaml"
        cfg = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
               "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}}
        st, body, _ = self.k.request("PATCH", base + "/a", cfg, ctype=apply)
        self.assertStatus(body, 422, "Invalid")
        self.assertEqual(body["details"]["causes"][0]["field"], "fieldManager")

        # Apply creates, with a JSON body (valid YAML) and with YAML.
        st, a, _ = self.k.request("PATCH", base + "/a?fieldManager=user",
                                  "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n"
                                  "  annotations:\n    team: blue\nspec:\n  type: LoadBalancer\n",
                                  ctype=apply)
        self.assertEqual(st, 201, a)
        self.assertEqual(a["metadata"]["annotations"], {"team": "blue"})
        mf = {e["manager"]: e for e in a["metadata"]["managedFields"]}
        self.assertEqual(mf["user"]["operation"], "Apply")
        self.assertEqual(mf["user"]["fieldsType"], "FieldsV1")
        self.assertIn("f:team", mf["user"]["fieldsV1"]["f:metadata"]["f:annotations"])

        st, s1, _ = self.k.request("PATCH", base + "/a/status?fieldManager=portico", cfg,
                                   ctype=apply)
        self.assertEqual(st, 200, s1)
        self.assertEqual(s1["status"]["loadBalancer"]["ingress"], [{"ip": "192.0.2.10"}])
        entry = [e for e in s1["metadata"]["managedFields"] if e["manager"] == "portico"][0]
        self.assertEqual((entry["operation"], entry.get("subresource")), ("Apply", "status"))

        # Another manager applying a different ingress conflicts...
        other = json.loads(json.dumps(cfg))
        other["status"]["loadBalancer"]["ingress"] = [{"ip": "192.0.2.99"}]
        st, body, _ = self.k.request("PATCH", base + "/a/status?fieldManager=metallb", other,
                                     ctype=apply)
        self.assertEqual(st, 409)
        self.assertStatus(body, 409, "Conflict")
        cause = body["details"]["causes"][0]
        self.assertEqual((cause["reason"], cause["field"]),
                         ("FieldManagerConflict", ".status.loadBalancer.ingress"))
        self.assertIn('"portico"', cause["message"])
        # ...the same value does not (shared ownership)...
        st, _, _ = self.k.request("PATCH", base + "/a/status?fieldManager=metallb", cfg,
                                  ctype=apply)
        self.assertEqual(st, 200)
        # ...and force takes the field.
        st, forced, _ = self.k.request("PATCH", base + "/a/status?fieldManager=metallb&force=true",
                                       other, ctype=apply)
        self.assertEqual(st, 200, forced)
        self.assertEqual(forced["status"]["loadBalancer"]["ingress"], [{"ip": "192.0.2.99"}])
        owners = [e["manager"] for e in forced["metadata"]["managedFields"]
                  if "f:status" in e.get("fieldsV1", {})]
        self.assertEqual(owners, ["metallb"])

        # An annotation set by an Update (merge patch) belongs to that manager: applying
        # another value conflicts.
        st, _, _ = self.k.request("PATCH", base + "/a?fieldManager=kubectl-edit",
                                  {"metadata": {"annotations": {
                                      "metallb.io/ip-allocated-from-pool": "pool-a"}}},
                                  ctype="application/merge-patch+json")
        self.assertEqual(st, 200)
        mine = {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "a", "annotations": {"metallb.io/ip-allocated-from-pool": "pool-b"}}}
        st, body, _ = self.k.request("PATCH", base + "/a?fieldManager=portico", mine,
                                     ctype=apply)
        self.assertStatus(body, 409, "Conflict")
        self.assertEqual(body["details"]["causes"][0]["field"],
                         ".metadata.annotations.metallb.io/ip-allocated-from-pool")
        st, ok, _ = self.k.request("PATCH", base + "/a?fieldManager=portico&force=1", mine,
                                   ctype=apply)
        self.assertEqual((st, ok["metadata"]["annotations"]["metallb.io/ip-allocated-from-pool"]),
                         (200, "pool-b"))
        # Dropping a field from the applied config removes it when nobody else owns it.
        st, ok2, _ = self.k.request("PATCH", base + "/a?fieldManager=portico",
                                    {"apiVersion": "v1", "kind": "Service",
                                     "metadata": {"name": "a"}}, ctype=apply)
        self.assertEqual(st, 200)
        self.assertNotIn("metallb.io/ip-allocated-from-pool", ok2["metadata"]["annotations"])
        self.assertEqual(ok2["metadata"]["annotations"]["team"], "blue")
        # Status on the main resource is ignored when there is a status subresource.
        st, ok3, _ = self.k.request("PATCH", base + "/a?fieldManager=portico", cfg, ctype=apply)
        self.assertEqual(ok3["status"]["loadBalancer"]["ingress"], [{"ip": "192.0.2.99"}])

    def test_ssa_conditions_merge_by_type(self):
        self.ns("cond")
        path = "/apis/gateway.networking.k8s.io/v1/namespaces/cond/gateways"
        gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
              "metadata": {"name": "g"}, "spec": {"gatewayClassName": "portico",
                                                  "listeners": []}}
        self.assertEqual(self.k.request("POST", path, gw)[0], 201)

        def cond(t, s):
            return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                    "metadata": {"name": "g"}, "status": {"conditions": [
                        {"type": t, "status": s, "reason": "R", "message": "",
                         "lastTransitionTime": "2024-01-01T00:00:00Z",
                         "observedGeneration": 1}]}}
        apply = "application/apply-patch+yaml"
        self.assertEqual(self.k.request("PATCH", path + "/g/status?fieldManager=a",
                                        cond("Accepted", "True"), ctype=apply)[0], 200)
        st, g, _ = self.k.request("PATCH", path + "/g/status?fieldManager=b",
                                  cond("Programmed", "False"), ctype=apply)
        self.assertEqual(st, 200, g)
        self.assertEqual(sorted(c["type"] for c in g["status"]["conditions"]),
                         ["Accepted", "Programmed"])
        st, body, _ = self.k.request("PATCH", path + "/g/status?fieldManager=b",
                                     cond("Accepted", "False"), ctype=apply)
        self.assertEqual(st, 409)
        self.assertEqual(body["details"]["causes"][0]["field"],
                         '.status.conditions[type="Accepted"].status')

    # -- lists -----------------------------------------------------------------------------

    def test_list_pagination_is_consistent_while_writes_happen(self):
        base = self.ns("page")
        for i in range(10):
            self.k.request("POST", base, svc("s%02d" % i, {"i": str(i)}))
        st, p1, _ = self.k.request("GET", base + "?limit=4")
        self.assertEqual((st, p1["kind"], len(p1["items"])), (200, "ServiceList", 4))
        self.assertNotIn("kind", p1["items"][0])  # built-in list items carry no kind
        self.assertEqual(p1["metadata"]["remainingItemCount"], 6)
        list_rv = p1["metadata"]["resourceVersion"]
        # Writes between pages must not show up in this list.
        self.k.request("DELETE", base + "/s05")
        self.k.request("POST", base, svc("s99"))
        _, s07, _ = self.k.request("GET", base + "/s07")
        s07["metadata"]["labels"]["changed"] = "yes"
        self.k.request("PUT", base + "/s07", s07)
        names = [o["metadata"]["name"] for o in p1["items"]]
        token = p1["metadata"]["continue"]
        while token:
            st, page, _ = self.k.request("GET", base + "?limit=4&continue=" + token)
            self.assertEqual(st, 200, page)
            self.assertEqual(page["metadata"]["resourceVersion"], list_rv)
            names += [o["metadata"]["name"] for o in page["items"]]
            for o in page["items"]:
                self.assertNotIn("changed", o["metadata"]["labels"])
            token = page["metadata"].get("continue")
        self.assertEqual(names, ["s%02d" % i for i in range(10)])
        st, now, _ = self.k.request("GET", base)
        self.assertNotIn("s05", [o["metadata"]["name"] for o in now["items"]])
        self.assertGreater(int(now["metadata"]["resourceVersion"]), int(list_rv))
        # Exact RV lists are the same snapshot.
        st, exact, _ = self.k.request("GET", base + "?resourceVersion=%s&resourceVersionMatch="
                                      "Exact" % list_rv)
        self.assertEqual([o["metadata"]["name"] for o in exact["items"]],
                         ["s%02d" % i for i in range(10)])

    def test_short_pages_still_complete(self):
        base = self.ns("short")
        for i in range(7):
            self.k.request("POST", base, svc("s%d" % i))
        self.k.fault(action="set", short_pages=True)
        names, token, pages = [], "", 0
        while True:
            _, page, _ = self.k.request("GET", base + "?limit=3" + (
                "&continue=" + token if token else ""))
            self.assertLessEqual(len(page["items"]), 3)
            names += [o["metadata"]["name"] for o in page["items"]]
            pages += 1
            token = page["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(names, ["s%d" % i for i in range(7)])
        self.assertGreater(pages, 3)

    def test_expired_continue_gives_410_with_fresh_token(self):
        base = self.ns("expire")
        for i in range(5):
            self.k.request("POST", base, svc("s%d" % i))
        _, p1, _ = self.k.request("GET", base + "?limit=2")
        self.k.fault(action="expire_continue")
        self.k.request("POST", base, svc("s9"))
        st, body, _ = self.k.request("GET", base + "?limit=2&continue=" +
                                     p1["metadata"]["continue"])
        self.assertEqual(st, 410)
        self.assertStatus(body, 410, "Expired")
        self.assertIn("continue parameter is too old", body["message"])
        fresh = body["metadata"]["continue"]
        st, rest, _ = self.k.request("GET", base + "?limit=10&continue=" + fresh)
        self.assertEqual(st, 200)
        # The fresh token continues after s1, from the latest state (s9 included).
        self.assertEqual([o["metadata"]["name"] for o in rest["items"]],
                         ["s2", "s3", "s4", "s9"])
        st, body, _ = self.k.request("GET", base + "?limit=2&continue=%%%%garbage")
        self.assertStatus(body, 400, "BadRequest")

    def test_selectors(self):
        base = self.ns("sel")
        for name, labels in (("a", {"app": "x", "tier": "web"}), ("b", {"app": "y"}),
                             ("c", {"tier": "db"}), ("d", {})):
            self.k.request("POST", base, svc(name, labels))

        def names(q):
            st, body, _ = self.k.request("GET", base + "?" + q)
            self.assertEqual(st, 200, body)
            return [o["metadata"]["name"] for o in body["items"]]
        self.assertEqual(names("labelSelector=app%3Dx"), ["a"])
        self.assertEqual(names("labelSelector=app%3D%3Dy"), ["b"])
        self.assertEqual(names("labelSelector=app%21%3Dx"), ["b", "c", "d"])
        self.assertEqual(names("labelSelector=tier"), ["a", "c"])
        self.assertEqual(names("labelSelector=%21tier"), ["b", "d"])
        self.assertEqual(names("labelSelector=app+in+(x,y),tier"), ["a"])
        self.assertEqual(names("labelSelector=app+notin+(x)"), ["b", "c", "d"])
        self.assertEqual(names("fieldSelector=metadata.name%3Dc"), ["c"])
        self.assertEqual(names("fieldSelector=metadata.name%21%3Dc,metadata.namespace%3Dsel"),
                         ["a", "b", "d"])
        st, all_ns, _ = self.k.request("GET", "/api/v1/services?fieldSelector="
                                       "metadata.namespace%3Dsel")
        self.assertEqual(len(all_ns["items"]), 4)
        st, body, _ = self.k.request("GET", base + "?labelSelector=a%3D%3D%3D%3Db%20c")
        self.assertStatus(body, 400, "BadRequest")
        st, body, _ = self.k.request("GET", base + "?fieldSelector=spec.type%3DX")
        self.assertStatus(body, 400, "BadRequest")

    # -- watches ---------------------------------------------------------------------------

    def test_watch_from_list_rv_gets_only_later_events_split_across_chunks(self):
        base = self.ns("w1")
        for i in range(3):
            self.k.request("POST", base, svc("old%d" % i, {"ü": "x"} if False else {"a": "b"},
                                             ))
        _, lst, _ = self.k.request("GET", base)
        rv = lst["metadata"]["resourceVersion"]
        self.k.request("POST", base, svc("new1", annotations={"note": "héllo wörld ✓"}))
        self.k.request("POST", base, svc("new2"))
        self.k.request("DELETE", base + "/old0")
        w = self.k.watch(base + "?watch=1&resourceVersion=%s&timeoutSeconds=1" % rv)
        self.assertEqual(w["status"], 200)
        self.assertEqual(w["headers"]["content-type"], "application/json")
        self.assertTrue(w["ended"])
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in w["events"]]
        self.assertEqual(got, [("ADDED", "new1"), ("ADDED", "new2"), ("DELETED", "old0")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in w["events"]]
        self.assertTrue(all(r > int(rv) for r in rvs) and rvs == sorted(rvs))
        self.assertEqual(w["events"][0]["object"]["kind"], "Service")
        # Chunks do not line up with events.
        joined = b"".join(w["chunks"])
        self.assertNotEqual(len(w["chunks"]), len(w["events"]))
        self.assertTrue(any(not c.endswith(b"\n") for c in w["chunks"]), w["chunks"])
        self.assertIn("héllo wörld ✓".encode(), joined)  # raw UTF-8, not \u escapes

    def test_watch_without_rv_sends_synthetic_added_then_changes(self):
        base = self.ns("w0")
        for i in range(4):
            self.k.request("POST", base, svc("s%d" % i))
        result = {}

        def run():
            result["w"] = self.k.watch(base + "?watch=true&resourceVersion=0&timeoutSeconds=2")
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.7)
        self.k.request("POST", base, svc("late"))
        t.join(10)
        evs = [(e["type"], e["object"]["metadata"]["name"]) for e in result["w"]["events"]]
        self.assertEqual(sorted(evs[:4]), [("ADDED", "s%d" % i) for i in range(4)])
        self.assertEqual(evs[4:], [("ADDED", "late")])

    def test_bookmarks(self):
        base = self.ns("bm")
        _, lst, _ = self.k.request("GET", base)
        self.k.fault(action="set", bookmark_interval=[0.1, 0.2], bookmark_probability=1.0)
        w = self.k.watch(base + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&"
                         "resourceVersion=" + lst["metadata"]["resourceVersion"])
        bms = [e for e in w["events"] if e["type"] == "BOOKMARK"]
        self.assertGreaterEqual(len(bms), 2)
        self.assertEqual(w["events"][-1]["type"], "BOOKMARK")  # one just before the close
        self.assertTrue(w["ended"])
        obj = bms[0]["object"]
        self.assertEqual((obj["kind"], obj["apiVersion"]), ("Service", "v1"))
        self.assertTrue(obj["metadata"]["resourceVersion"].isdigit())
        self.assertNotIn("name", obj["metadata"])
        # Not asked, never sent.
        w = self.k.watch(base + "?watch=1&timeoutSeconds=1&resourceVersion=" +
                         lst["metadata"]["resourceVersion"])
        self.assertEqual([e for e in w["events"] if e["type"] == "BOOKMARK"], [])

    def test_early_close_is_a_clean_end(self):
        base = self.ns("early")
        self.k.fault(action="set", bookmark_interval=[0.1, 0.2], early_close_probability=1.0)
        t0 = time.monotonic()
        w = self.k.watch(base + "?watch=1&timeoutSeconds=30")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual((w["status"], w["ended"], w["rest"]), (200, True, b""))

    def test_too_old_watch_as_http_410_and_as_error_event(self):
        s = self.small
        base = self.ns("old", s)
        for i in range(25):
            s.request("POST", base, svc("s%d" % i))
        s.fault(action="set", too_old="http")
        w = s.watch(base + "?watch=1&resourceVersion=2")
        self.assertEqual(w["status"], 410)
        self.assertStatus(w["body"], 410, "Expired")
        self.assertIn("too old resource version", w["body"]["message"])
        s.fault(action="set", too_old="event")
        w = s.watch(base + "?watch=1&resourceVersion=2")
        self.assertEqual(w["status"], 200)
        self.assertEqual([e["type"] for e in w["events"]], ["ERROR"])
        self.assertStatus(w["events"][0]["object"], 410, "Expired")
        self.assertTrue(w["ended"])
        # Exact lists from before the window are gone too.
        st, body, _ = s.request("GET", base + "?resourceVersion=2&resourceVersionMatch=Exact")
        self.assertStatus(body, 410, "Expired")
        # The once-only fault, on a recent RV, each way.
        _, lst, _ = s.request("GET", base)
        rv = lst["metadata"]["resourceVersion"]
        s.fault(action="watch_too_old", mode="http")
        self.assertEqual(s.watch(base + "?watch=1&resourceVersion=" + rv)["status"], 410)
        w = s.watch(base + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv)
        self.assertEqual((w["status"], w["events"]), (200, []))
        s.fault(action="watch_too_old", mode="event")
        w = s.watch(base + "?watch=1&resourceVersion=" + rv)
        self.assertEqual(w["events"][0]["type"], "ERROR")
        self.assertEqual(w["events"][0]["object"]["code"], 410)

    def test_deleted_carries_final_object(self):
        base = self.ns("del")
        _, a, _ = self.k.request("POST", base, svc("a", {"v": "1"}))
        a["metadata"]["labels"]["v"] = "2"
        _, a2, _ = self.k.request("PUT", base + "/a", a)
        self.k.request("DELETE", base + "/a")
        w = self.k.watch(base + "?watch=1&timeoutSeconds=1&resourceVersion=" +
                         a["metadata"]["resourceVersion"])
        self.assertEqual([e["type"] for e in w["events"]], ["MODIFIED", "DELETED"])
        final = w["events"][1]["object"]
        self.assertEqual(final["metadata"]["labels"], {"v": "2"})
        self.assertEqual(final["metadata"]["uid"], a["metadata"]["uid"])
        self.assertGreater(int(final["metadata"]["resourceVersion"]),
                           int(a2["metadata"]["resourceVersion"]))

    def test_label_selector_transition_delivers_deleted_and_added(self):
        base = self.ns("trans")
        _, a, _ = self.k.request("POST", base, svc("a", {"app": "x"}))
        self.k.request("POST", base, svc("other", {"app": "y"}))
        a["metadata"]["labels"]["app"] = "y"
        _, a, _ = self.k.request("PUT", base + "/a", a)
        a["metadata"]["labels"]["app"] = "x"
        self.k.request("PUT", base + "/a", a)
        _, lst, _ = self.k.request("GET", "/api/v1/namespaces/trans")
        w = self.k.watch(base + "?watch=1&timeoutSeconds=1&labelSelector=app%3Dx&"
                         "resourceVersion=" + lst["metadata"]["resourceVersion"])
        got = [(e["type"], e["object"]["metadata"]["name"],
                e["object"]["metadata"]["labels"]["app"]) for e in w["events"]]
        # Leaving the selector is DELETED with the last matching state; coming back, ADDED.
        self.assertEqual(got, [("ADDED", "a", "x"), ("DELETED", "a", "x"), ("ADDED", "a", "x")])

    def test_drop_watches_cuts_mid_event(self):
        base = self.ns("drop")
        result = {}

        def run():
            result["w"] = self.k.watch(base + "?watch=1&timeoutSeconds=20")
        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.5)
        self.k.request("POST", base, svc("a"))
        time.sleep(0.3)
        self.k.fault(action="drop_watches")
        t.join(10)
        w = result["w"]
        self.assertFalse(w["ended"])  # no final chunk: the connection was cut
        self.assertEqual([e["type"] for e in w["events"]], ["ADDED"])
        self.assertTrue(w["rest"])  # half an event left over
        with self.assertRaises(ValueError):
            json.loads(w["rest"])

    # -- auth, groups, discovery ------------------------------------------------------------

    def test_bad_token_and_rotation(self):
        st, body, _ = self.k.request("GET", "/api/v1/namespaces", token="wrong")
        self.assertEqual(st, 401)
        self.assertStatus(body, 401, "Unauthorized")
        old = self.k.token()
        path = os.path.join(self.k.dir, "token")
        try:
            with open(path, "w") as f:
                f.write("rotated-token\n")
            self.assertEqual(self.k.request("GET", "/api/v1/namespaces", token=old)[0], 401)
            self.assertEqual(self.k.request("GET", "/api/v1/namespaces",
                                            token="rotated-token")[0], 200)
        finally:
            with open(path, "w") as f:
                f.write(old + "\n")
        self.assertNotIn(old, self.k.log())  # tokens never reach the log

    def test_kubeconfig(self):
        with open(os.path.join(self.k.dir, "kubeconfig")) as f:
            text = f.read()
        self.assertIn("server: https://127.0.0.1:%d\n" % self.k.port, text)
        self.assertIn("token: %s\n" % self.k.token(), text)
        ca = text.split("certificate-authority-data: ")[1].split("\n")[0]
        with open(os.path.join(self.k.dir, "ca.crt"), "rb") as f:
            self.assertEqual(base64.b64decode(ca), f.read())

    def test_group_not_installed_and_discovery(self):
        st, body, _ = self.small.request("GET", "/apis/metallb.io/v1beta1/ipaddresspools")
        self.assertStatus(body, 404, "NotFound")
        self.assertEqual(body["message"], "the server could not find the requested resource")
        st, groups, _ = self.small.request("GET", "/apis")
        self.assertNotIn("metallb.io", [g["name"] for g in groups["groups"]])
        st, groups, _ = self.k.request("GET", "/apis")
        byname = {g["name"]: g for g in groups["groups"]}
        self.assertEqual([v["version"] for v in byname["gateway.networking.k8s.io"]["versions"]],
                         ["v1", "v1beta1"])
        self.assertEqual(byname["metallb.io"]["preferredVersion"]["version"], "v1beta1")
        for v in ("v1beta2", "v1beta1"):
            st, lst, _ = self.k.request("GET", "/apis/metallb.io/%s/bgppeers" % v)
            self.assertEqual((st, lst["kind"], lst["apiVersion"]),
                             (200, "BGPPeerList", "metallb.io/" + v))
        st, res, _ = self.k.request("GET", "/apis/gateway.networking.k8s.io/v1")
        names = {r["name"]: r for r in res["resources"]}
        self.assertFalse(names["gatewayclasses"]["namespaced"])
        self.assertIn("httproutes/status", names)
        st, body, _ = self.k.request("GET", "/apis/gateway.networking.k8s.io/v1/namespaces/"
                                     "default/gatewayclasses")
        self.assertStatus(body, 404, "NotFound")
        st, gc, _ = self.k.request("POST", "/apis/gateway.networking.k8s.io/v1/gatewayclasses", {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": "portico"}, "spec": {"controllerName": "portico.dev/gw"}})
        self.assertEqual(st, 201, gc)
        self.assertNotIn("namespace", gc["metadata"])

    # -- leases ----------------------------------------------------------------------------

    def test_lease_microtime(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "portico"},
                 "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 15,
                          "acquireTime": "2024-01-01T00:00:00.5Z",
                          "renewTime": "2024-01-01T02:00:00.123456789+01:00",
                          "leaseTransitions": 0}}
        st, body, _ = self.k.request("POST", path, lease)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["spec"]["acquireTime"], "2024-01-01T00:00:00.500000Z")
        self.assertEqual(body["spec"]["renewTime"], "2024-01-01T01:00:00.123456Z")
        st, body, _ = self.k.request("POST", path, lease)
        self.assertStatus(body, 409, "AlreadyExists")
        bad = json.loads(json.dumps(lease))
        bad["metadata"]["name"] = "bad"
        bad["spec"]["renewTime"] = "yesterday"
        st, body, _ = self.k.request("POST", path, bad)
        self.assertStatus(body, 400, "BadRequest")
        bad["spec"]["renewTime"] = "2024-01-01T00:00:00Z"
        bad["spec"]["leaseDurationSeconds"] = 0
        st, body, _ = self.k.request("POST", path, bad)
        self.assertStatus(body, 422, "Invalid")

    # -- faults ----------------------------------------------------------------------------

    def test_fault_fail_next_requests(self):
        self.k.fault(action="fail", count=2, code=503, path="/api/v1/namespaces$", verb="list",
                     retry_after=3)
        for _ in range(2):
            st, body, headers = self.k.request("GET", "/api/v1/namespaces")
            self.assertEqual(st, 503)
            self.assertStatus(body, 503, "ServiceUnavailable")
            self.assertEqual(headers.get("Retry-After"), "3")
        self.assertEqual(self.k.request("GET", "/api/v1/namespaces")[0], 200)
        self.k.fault(action="fail", code=429, retry_after=1)
        st, body, headers = self.k.request("GET", "/api/v1/namespaces/default")
        self.assertStatus(body, 429, "TooManyRequests")
        self.assertEqual((headers.get("Retry-After"), body["details"]["retryAfterSeconds"]),
                         ("1", 1))
        # The second PUT gets a 409; GETs are not counted.
        base = self.ns("f409")
        _, a, _ = self.k.request("POST", base, svc("a"))
        self.k.fault(action="fail", code=409, verb="PUT", skip=1)
        self.assertEqual(self.k.request("PUT", base + "/a", a)[0], 200)
        self.assertEqual(self.k.request("GET", base + "/a")[0], 200)
        st, body, _ = self.k.request("PUT", base + "/a", a)
        self.assertStatus(body, 409, "Conflict")
        self.k.fault(action="fail", code=500)
        st, body, _ = self.k.request("GET", "/api/v1/namespaces/default")
        self.assertStatus(body, 500, "InternalError")

    def test_fault_delay_and_pause(self):
        self.k.fault(action="delay", ms=400, path="namespaces/default$")
        t0 = time.monotonic()
        self.assertEqual(self.k.request("GET", "/api/v1/namespaces/default")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        t0 = time.monotonic()
        self.k.request("GET", "/api/v1/namespaces/kube-system")
        self.assertLess(time.monotonic() - t0, 0.4)
        self.k.admin("/_admin/reset", {})

        self.k.fault(action="pause")
        with self.assertRaises(socket.timeout):
            self.k.request("GET", "/api/v1/namespaces", timeout=0.5)
        result = {}
        t = threading.Thread(target=lambda: result.setdefault(
            "r", self.k.request("GET", "/api/v1/namespaces", timeout=10)))
        t.start()
        time.sleep(0.3)
        self.assertNotIn("r", result)
        self.k.fault(action="unpause")
        t.join(10)
        self.assertEqual(result["r"][0], 200)

    def test_request_log(self):
        base = self.ns("log")
        self.k.request("PATCH", base + "/nope?fieldManager=portico",
                       {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nope"}},
                       ctype="application/apply-patch+yaml")
        st, log = self.k.admin("/_admin/requests")
        last = log["requests"][-1]
        self.assertEqual((last["method"], last["path"], last["query"], last["content_type"]),
                         ("PATCH", "/api/v1/namespaces/log/services/nope", "fieldManager=portico",
                          "application/apply-patch+yaml"))
        self.assertEqual(json.loads(last["body"])["metadata"]["name"], "nope")
        self.assertEqual(last["status"], 201)  # apply creates
        self.assertNotIn("Authorization", json.dumps(log))
        self.k.admin("/_admin/reset", {})
        self.assertEqual(self.k.admin("/_admin/requests")[1]["requests"], [])

    def test_restart_keeps_store(self):
        s = self.small
        base = self.ns("restart", s)
        _, a, _ = s.request("POST", base, svc("a"))
        s.fault(action="restart", seconds=1)
        time.sleep(0.3)
        with self.assertRaises(ConnectionRefusedError):
            s.request("GET", base + "/a", timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                st, got, _ = s.request("GET", base + "/a", timeout=1)
                break
            except OSError:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
        self.assertEqual((st, got["metadata"]["resourceVersion"]),
                         (200, a["metadata"]["resourceVersion"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
