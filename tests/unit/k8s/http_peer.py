#!/usr/bin/env python3
"""HTTPS peer for tests/unit/k8s/http_test.cc (the libcurl Transport).

Usage: http_peer.py DIR

Makes a throwaway CA, a server certificate (names localhost and api.portico.test, no IP
address, so that https://127.0.0.1 only verifies through tls_server_name), a client certificate
signed by the same CA and an unrelated second CA, writes them as PEM files into DIR, then
serves HTTPS/1.1 on two ports of 127.0.0.1: the first plain TLS, the second requiring a client
certificate of the CA. It prints one JSON line, {"port": P, "mtls_port": Q}, and serves until
killed. Without python3-cryptography it prints {"skip": "why"} and exits 0.

Routes (both ports):
  /echo...                any method: JSON {method, path, headers (lower-case names), body,
                          client_port, client_cn}
  /status/CODE            a Kubernetes Status object with that code; 429 and 503 carry
                          Retry-After: 7
  /stream?lines=N&pause_ms=M&seed=S
                          a chunked 200 body of N watch-event-like lines (see line()), cut
                          into chunks of random sizes (1..64 bytes, cuts fall inside lines and
                          inside multi-byte UTF-8) with a pause of M ms between chunks
  /stall                  a chunked 200 that sends one chunk and then nothing for 60 s
  /cut                    a chunked 200 that sends one chunk and closes the connection without
                          the last chunk (a watch broken by a restarting API server)
  /slow?ms=M              waits M ms, then answers like /echo
"""

import datetime
import json
import os
import random
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler


def line(i):
    # Mirrored by expected_stream() in http_test.cc: the content the test checks byte for byte.
    return ('{"type":"ADDED","object":{"n":%d,"s":"%s"}}\n' % (i, "\u00e9\u20ac" * (i % 5)))


def make_pki(out_dir):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=2)

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn):
        k = key()
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(k.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                             crl_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .sign(k, hashes.SHA256()))
        return k, cert

    def leaf(ca_key, ca_cert, cn, sans, usage):
        k = key()
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
             .public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]),
                                critical=False)
        return k, b.sign(ca_key, hashes.SHA256())

    def write(fname, data):
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(data)

    def pem_cert(c):
        return c.public_bytes(serialization.Encoding.PEM)

    def pem_key(k):
        return k.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    ca_key, ca_cert = ca("portico-test-ca")
    _, other_ca = ca("portico-other-ca")
    srv_key, srv_cert = leaf(ca_key, ca_cert, "api.portico.test",
                             ["localhost", "api.portico.test"], ExtendedKeyUsageOID.SERVER_AUTH)
    cli_key, cli_cert = leaf(ca_key, ca_cert, "portico-test-client", [],
                             ExtendedKeyUsageOID.CLIENT_AUTH)
    write("ca.crt", pem_cert(ca_cert))
    write("other-ca.crt", pem_cert(other_ca))
    write("server.crt", pem_cert(srv_cert))
    write("server.key", pem_key(srv_key))
    write("client.crt", pem_cert(cli_cert))
    write("client.key", pem_key(cli_key))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test's output is the gtest report
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _echo(self, body):
        cn = ""
        try:
            peer = self.connection.getpeercert()
            for rdn in (peer or {}).get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
        except (AttributeError, ValueError):
            pass
        self._send(200, {
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "client_port": self.client_address[1],
            "client_cn": cn,
        })

    def _route(self):
        body = self._body()
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path.startswith("/echo"):
            return self._echo(body)
        if url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            extra = {"Retry-After": "7"} if code in (429, 503) else {}
            return self._send(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                     "message": "scripted %d" % code, "code": code}, extra)
        if url.path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            return self._echo(body)
        if url.path in ("/stream", "/stall", "/cut"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if url.path == "/stall":
                self._chunk(line(0).encode())
                time.sleep(60)
                return
            if url.path == "/cut":
                self._chunk(line(0).encode())
                self.close_connection = True
                return
            n, pause = int(q.get("lines", "10")), int(q.get("pause_ms", "0")) / 1000.0
            rng = random.Random(int(q.get("seed", "1")))
            data = "".join(line(i) for i in range(n)).encode()
            at = 0
            while at < len(data):
                step = rng.randint(1, 64)
                self._chunk(data[at:at + step])
                at += step
                if pause:
                    time.sleep(pause)
            self.wfile.write(b"0\r\n\r\n")
            return
        self._send(404, {"kind": "Status", "status": "Failure", "code": 404})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _route


class TLSServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ctx):
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        # The handshake runs on the connection's own thread, so a client that fails it (no
        # client certificate, an untrusted CA) never holds up the accept loop.
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            Handler(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: http_peer.py DIR")
    out_dir = sys.argv[1]
    try:
        make_pki(out_dir)
    except ImportError as e:
        print(json.dumps({"skip": "python3-cryptography is not installed (%s)" % e}), flush=True)
        return

    def context(require_client_cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(out_dir, "server.crt"),
                            os.path.join(out_dir, "server.key"))
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(out_dir, "ca.crt"))
        return ctx

    plain, mtls = TLSServer(context(False)), TLSServer(context(True))
    for srv in (plain, mtls):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(json.dumps({"port": plain.server_address[1], "mtls_port": mtls.server_address[1]}),
          flush=True)
    # Serve until the test kills us, or until its end of stdin closes should it die first.
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
