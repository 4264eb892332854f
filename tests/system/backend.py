#!/usr/bin/python3
"""A test backend for Portico's L4 system tests (tests/system/test_l4.sh).

Run one in each backend namespace of the testbed; it says who answered and what it saw:

  backend.py --name be1 --tcp 8080[,8081] --udp 5353 [--bind ADDR ...] [--ready-file F]

  TCP (HTTP/1.1, every response carries the headers "X-Backend: <name>" and
  "X-Peer: <client address> <client port>" as this backend saw them):
    GET /                        body "<name>\\n"
    GET /peer                    body "<client address>\\n" as this backend saw it (v4-mapped
                                 IPv6 addresses shown as plain IPv4)
    GET /local                   body "<local address>\\n": the destination the client used
    GET /download?bytes=N[&rate=BYTES_PER_S]
                                 N bytes of a fixed pattern (below), streamed; with rate, paced
    any other path, any method   body "<name>\n" then the request as received: the request
                                 line, then every header line (the L7 tests read what a
                                 Gateway forwarded); a request body is read and its sha256
                                 and length reported in the headers X-Body-Sha256 and
                                 X-Body-Length
  UDP: every datagram is answered with "<name> <payload>", sent from the address it was sent to
       (so a backend holding a VIP on lo answers from the VIP in DSR mode).

  By default it listens on "::" with IPV6_V6ONLY off (IPv4 and IPv6); --bind gives addresses
  instead (each IPv4 or IPv6). It writes --ready-file once every socket listens, exits 0 on
  SIGTERM or SIGINT, and exits by itself after --max-seconds (default 600).

Helper modes, for the test's client side:

  backend.py --expect-sha256 N          sha256 (hex) of the first N bytes of the pattern
  backend.py --udp-query HOST PORT [--count C] [--timeout S] [--payload P] [--same-socket]
                                        C queries, each from a new socket (a new source port)
                                        connected to HOST:PORT (a reply from elsewhere is not
                                        one), one line per query: the reply, or "TIMEOUT"; stops
                                        after 3 timeouts in a row. --same-socket: all C from one
                                        socket (one source port: one flow)
  backend.py --hold HOST PORT --go-file F [--timeout S] [--wait-seconds W]
                                        one HTTP/1.1 connection to HOST:PORT: GET / and print
                                        "first <backend>" (and "# local port N"); wait (at most
                                        W s, default 30) until file F exists; then GET / again on
                                        the same connection and print "second <backend>", or
                                        "reset after N ms", "closed after N ms" or "timeout after
                                        N ms" (no answer within S s, default 1)

The download pattern needs no disk and is the same on both sides: chunk i (i = 0, 1, ...) is
the 65536-byte SHAKE-128 digest of b"portico-backend:%d" % i; the stream is the chunks in order,
cut at N bytes.
"""

import argparse
import hashlib
import http.server
import ipaddress
import os
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse

CHUNK = 65536
# Linux's IP_PKTINFO (<linux/in.h>); Python's socket module only names it from 3.12 on.
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
MAX_DOWNLOAD = 1 << 34  # 16 GiB: anything larger is a typo


def pattern_chunk(i):
    return hashlib.shake_128(b"portico-backend:%d" % i).digest(CHUNK)


def pattern(nbytes):
    """Yields the first nbytes of the pattern, chunk by chunk."""
    i = 0
    left = nbytes
    while left > 0:
        c = pattern_chunk(i)
        if left < CHUNK:
            c = c[:left]
        yield c
        left -= len(c)
        i += 1


def expected_sha256(nbytes):
    h = hashlib.sha256()
    for c in pattern(nbytes):
        h.update(c)
    return h.hexdigest()


def plain_address(addr):
    """'::ffff:198.51.100.2' -> '198.51.100.2'; other addresses unchanged."""
    try:
        a = ipaddress.ip_address(addr.split("%")[0])
    except ValueError:
        return addr
    if a.version == 6 and a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(a)


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def log(name, msg):
    sys.stderr.write("%s %.3f %s\n" % (name, time.time(), msg))
    sys.stderr.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "portico-test-backend"

    def log_message(self, fmt, *args):
        log(self.server.backend_name, "%s %s" % (plain_address(self.client_address[0]), fmt % args))

    def send_identity(self):
        self.send_header("X-Backend", self.server.backend_name)
        self.send_header("X-Peer", "%s %d" % (plain_address(self.client_address[0]),
                                              self.client_address[1]))

    def send_text(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_identity()
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/":
            self.send_text(200, self.server.backend_name + "\n")
        elif url.path == "/peer":
            self.send_text(200, plain_address(self.client_address[0]) + "\n")
        elif url.path == "/local":
            self.send_text(200, plain_address(self.connection.getsockname()[0]) + "\n")
        elif url.path == "/download":
            self.download(query)
        else:
            self.echo()

    do_HEAD = do_GET

    def echo(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if 0 < length <= MAX_DOWNLOAD else b""
        lines = [self.server.backend_name, self.requestline]
        lines += ["%s: %s" % (k, v) for k, v in self.headers.items()]
        text = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_identity()
        self.send_header("X-Body-Length", str(len(body)))
        self.send_header("X-Body-Sha256", hashlib.sha256(body).hexdigest())
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)

    do_POST = echo
    do_PUT = echo
    do_PATCH = echo
    do_DELETE = echo

    def download(self, query):
        try:
            nbytes = int(query.get("bytes", ["0"])[0])
            rate = float(query.get("rate", ["0"])[0])
        except ValueError:
            self.send_text(400, "bytes and rate must be numbers\n")
            return
        if not 0 <= nbytes <= MAX_DOWNLOAD or rate < 0:
            self.send_text(400, "bytes out of range\n")
            return
        self.send_response(200)
        self.send_identity()
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(nbytes))
        self.end_headers()
        if self.command == "HEAD":
            return
        start = time.monotonic()
        sent = 0
        # Paced transfers go in smaller pieces so the rate is smooth.
        piece = CHUNK if rate == 0 else max(1024, min(CHUNK, int(rate / 20)))
        for c in pattern(nbytes):
            for off in range(0, len(c), piece):
                part = c[off:off + piece]
                self.wfile.write(part)
                sent += len(part)
                if rate > 0:
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
        self.wfile.flush()
        log(self.server.backend_name, "download of %d bytes done in %.2fs" %
            (nbytes, time.monotonic() - start))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, name, addr, port):
        self.backend_name = name
        self.address_family = family_of(addr)
        super().__init__((addr, port), Handler)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            # Dual-stack when bound to "::": IPv4 clients arrive as ::ffff:a.b.c.d.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def udp_socket(addr, port):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if s.family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # The destination of each datagram (IPv4 ones as v4-mapped), to answer from it.
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    else:
        s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind((addr, port))
    return s


def serve_udp(name, sockets, stop):
    while not stop.is_set():
        readable, _, _ = select.select(sockets, [], [], 0.5)
        for s in readable:
            try:
                data, anc, _, peer = s.recvmsg(65535, 256)
            except OSError:
                continue
            reply = name.encode() + b" " + data
            # Answer from the address the datagram was sent to: pass its pktinfo back.
            anc_out = [(lvl, typ, d) for (lvl, typ, d) in anc
                       if (lvl, typ) in ((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO),
                                         (socket.IPPROTO_IP, IP_PKTINFO))]
            try:
                s.sendmsg([reply], anc_out, 0, peer)
            except OSError as e:
                log(name, "udp reply with pktinfo to %s failed (%s); plain send" % (peer[0], e))
                try:
                    s.sendto(reply, peer)
                except OSError:
                    pass
            log(name, "udp %s %d bytes" % (plain_address(peer[0]), len(data)))


def run_backend(args):
    if not args.tcp and args.udp is None:
        sys.exit("backend.py: nothing to serve (give --tcp and/or --udp)")
    name = args.name
    binds = args.bind or ["::"]
    stop = threading.Event()

    def on_signal(signum, _frame):
        log(name, "signal %d: stopping" % signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    servers = []
    udp = []
    try:
        for addr in binds:
            for port in args.tcp:
                servers.append(Server(name, addr, port))
            if args.udp is not None:
                udp.append(udp_socket(addr, args.udp))
    except OSError as e:
        sys.exit("backend.py %s: cannot listen: %s" % (name, e))

    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                daemon=True) for s in servers]
    if udp:
        threads.append(threading.Thread(target=serve_udp, args=(name, udp, stop), daemon=True))
    for t in threads:
        t.start()
    log(name, "listening on %s tcp %s udp %s (pid %d)" %
        (",".join(binds), ",".join(map(str, args.tcp)) or "-",
         "-" if args.udp is None else args.udp, os.getpid()))
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.ready_file)

    if not stop.wait(args.max_seconds):
        log(name, "--max-seconds %g reached: stopping" % args.max_seconds)
    stop.set()
    for s in servers:
        s.shutdown()
        s.server_close()
    for s in udp:
        s.close()
    return 0


def udp_query(args):
    host, port = args.udp_query[0], int(args.udp_query[1])
    fam = family_of(host)
    misses = 0
    answered = 0
    shared = None
    if args.same_socket:
        shared = socket.socket(fam, socket.SOCK_DGRAM)
        shared.settimeout(args.timeout)
        # Connected: the kernel drops replies from any other address or port.
        shared.connect((host, port))
        print("# source port %d" % shared.getsockname()[1], flush=True)
    for i in range(args.count):
        s = shared
        if s is None:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.settimeout(args.timeout)
        payload = ("%s %d" % (args.payload, i)).encode()
        try:
            if shared is None:
                s.connect((host, port))
            s.send(payload)
            data = s.recv(65535)
            # A late reply to an earlier query would be read here: skip those.
            while shared is not None and not data.endswith(b" " + payload):
                data = s.recv(65535)
            print(data.decode(errors="replace"), flush=True)
            answered += 1
            misses = 0
        except (socket.timeout, OSError) as e:
            print("TIMEOUT" if isinstance(e, socket.timeout) else "ERROR %s" % e, flush=True)
            misses += 1
            if misses >= 3:
                print("# 3 queries in a row unanswered: giving up", flush=True)
                break
        finally:
            if shared is None:
                s.close()
    if shared is not None:
        shared.close()
    return 0 if answered == args.count else 1


def http_get(s):
    """GET / on the connected socket s; returns the body (one line: the backend's name)."""
    s.sendall(b"GET / HTTP/1.1\r\nHost: portico-test\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError
        body += chunk
    return body.decode(errors="replace").strip()


def hold(args):
    host, port = args.hold[0], int(args.hold[1])
    try:
        s = socket.create_connection((host, port), timeout=args.timeout)
        print("first %s" % http_get(s), flush=True)
    except (OSError, EOFError) as e:
        print("ERROR first request: %r" % e, flush=True)
        return 1
    print("# local port %d" % s.getsockname()[1], flush=True)
    deadline = time.monotonic() + args.wait_seconds
    while not os.path.exists(args.go_file):
        if time.monotonic() > deadline:
            print("ERROR no %s after %g s" % (args.go_file, args.wait_seconds), flush=True)
            return 1
        time.sleep(0.05)
    t0 = time.monotonic()

    def ms():
        return int((time.monotonic() - t0) * 1000)

    try:
        print("second %s" % http_get(s), flush=True)
    except ConnectionResetError:
        print("reset after %d ms" % ms(), flush=True)
    except socket.timeout:
        print("timeout after %d ms" % ms(), flush=True)
    except EOFError:
        print("closed after %d ms" % ms(), flush=True)
    except OSError as e:
        print("ERROR second request after %d ms: %r" % (ms(), e), flush=True)
        return 1
    finally:
        s.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default=socket.gethostname())
    ap.add_argument("--tcp", default="", help="HTTP ports, comma-separated")
    ap.add_argument("--udp", type=int, help="UDP echo port")
    ap.add_argument("--bind", nargs="+", metavar="ADDR",
                    help='addresses to listen on (default "::", dual-stack)')
    ap.add_argument("--ready-file", help="written once every socket listens")
    ap.add_argument("--max-seconds", type=float, default=600.0)
    ap.add_argument("--expect-sha256", type=int, metavar="N",
                    help="print the sha256 of the first N bytes of the download pattern")
    ap.add_argument("--udp-query", nargs=2, metavar=("HOST", "PORT"))
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--payload", default="hello")
    ap.add_argument("--same-socket", action="store_true",
                    help="--udp-query: send every query from one socket")
    ap.add_argument("--hold", nargs=2, metavar=("HOST", "PORT"))
    ap.add_argument("--go-file", help="--hold: send the second request once this file exists")
    ap.add_argument("--wait-seconds", type=float, default=30.0)
    args = ap.parse_args()

    if args.expect_sha256 is not None:
        print(expected_sha256(args.expect_sha256))
        return 0
    if args.udp_query:
        return udp_query(args)
    if args.hold:
        if not args.go_file:
            ap.error("--hold needs --go-file")
        return hold(args)
    try:
        args.tcp = [int(p) for p in args.tcp.split(",") if p]
    except ValueError:
        ap.error("--tcp takes comma-separated port numbers")
    if args.max_seconds <= 0:
        ap.error("--max-seconds must be positive")
    return run_backend(args)


if __name__ == "__main__":
    sys.exit(main())
