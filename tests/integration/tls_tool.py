#!/usr/bin/python3
"""Real TLS peers for the SNI routing tests (standard library only).

  tls_tool.py cert DIR NAME
        write DIR/NAME.pem (self-signed certificate + key, CN=NAME)
  tls_tool.py serve --name b1 --bind IP --port P --cert PEM [--proxy-protocol] [--plain]
        [--ready-file F]
        TLS server: an HTTP GET gets "200" with body "<name> <sni> <client>\\n" (sni as the
        server saw it, client as the server learned it: from the PROXY v2 header when
        --proxy-protocol, else the TCP peer); a connection whose first bytes are "ECHO\\n"
        gets "<name>\\n" and then every further byte echoed back. With --proxy-protocol a
        connection without a v2 header is closed; a LOCAL header (a health check's) is taken,
        the TCP peer then being the client. --plain: plain HTTP, no TLS (sni "-").
  tls_tool.py tally --host IP --port P --count N [--sni NAME | --no-sni] [--bind SRC]
        [--alpn-bytes K] [--timeout S]
        N TLS connections with one GET each; prints {"ok","failed","by_backend","errors",
        "answers"} where answers counts the distinct "<name> <sni> <client>" bodies.
        --alpn-bytes pads the ClientHello with ALPN names to about K bytes, so it spans
        several TCP segments.
  tls_tool.py bulk --host IP --port P --sni NAME --bytes B [--timeout S]
        one TLS connection in ECHO mode: sends B pseudo-random bytes while reading the echo,
        prints {"backend","sent","received","identical"}.
  tls_tool.py hold --host IP --port P --sni NAME --seconds S
        one TLS connection in ECHO mode exchanging a line every 100 ms for S seconds; prints
        {"event":"start","backend"} at once, then {"backend","exchanges","ok","error"}.
  tls_tool.py load --host IP --port P --sni NAME [--hold N] [--interval MS] [--rate R]
        [--seconds S] [--until-file F] [--ready-file F]
        N TLS connections in ECHO mode exchanging a line every MS ms, and R new TLS
        connections per second with one GET each, until F exists; creates --ready-file
        once the N are up; prints {"held","held_errors","min_exchanges","backends",
        "new_ok","new_failed","new_errors","ok"} and exits 1 unless ok.
  tls_tool.py silent --host IP --port P --seconds S
        connects and sends nothing; prints {"closed_after": seconds until lbd closed it}.
"""
import argparse
import asyncio
import hashlib
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def cmd_cert(args):
    path = os.path.join(args.dir, args.name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=" + args.name, "-keyout", path, "-out", path + ".crt"],
                   check=True, capture_output=True)
    with open(path, "ab") as out, open(path + ".crt", "rb") as crt:
        out.write(crt.read())
    os.unlink(path + ".crt")
    print(path)


def read_proxy_v2(sock):
    """Read a PROXY protocol v2 header; return "ip:port" of the source it names."""
    head = b""
    while len(head) < 16:
        chunk = sock.recv(16 - len(head))
        if not chunk:
            raise ConnectionError("closed inside the PROXY header")
        head += chunk
    local = head[12] == 0x20  # LOCAL: no client; the connection's own addresses count
    if head[:12] != PP2_SIG or not (local or (head[12] == 0x21 and head[13] in (0x11, 0x21))):
        raise ValueError("not a PROXY v2 TCP or LOCAL header: %r" % head)
    length = struct.unpack("!H", head[14:16])[0]
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            raise ConnectionError("closed inside the PROXY header")
        body += chunk
    if local:
        return None
    if head[13] == 0x11:  # TCP over IPv4
        src, _, sport, _ = struct.unpack("!4s4sHH", body[:12])
        return endpoint(socket.inet_ntop(socket.AF_INET, src), sport)
    src, _, sport, _ = struct.unpack("!16s16sHH", body[:36])
    return endpoint(socket.inet_ntop(socket.AF_INET6, src), sport)


def endpoint(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def serve_one(raw, peer, ctx, args):
    try:
        raw.settimeout(30)
        client = endpoint(*peer[:2])
        if args.proxy_protocol:
            client = read_proxy_v2(raw) or client
        tls = raw if args.plain else ctx.wrap_socket(raw, server_side=True)
        sni = getattr(tls, "lb_sni", None) or "-"
        first = tls.recv(5)
        if first.startswith(b"ECHO"):
            while not first.endswith(b"\n"):
                first += tls.recv(1)
            tls.sendall(args.name.encode() + b"\n")
            while True:
                data = tls.recv(65536)
                if not data:
                    break
                tls.sendall(data)
        else:
            req = first
            while b"\r\n\r\n" not in req:
                data = tls.recv(4096)
                if not data:
                    return
                req += data
            body = ("%s %s %s\n" % (args.name, sni, client)).encode()
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                        % len(body) + body)
        try:
            if not args.plain:
                tls.unwrap()
        except (ssl.SSLError, OSError):
            pass
    except (OSError, ValueError, ssl.SSLError):
        pass
    finally:
        raw.close()


def cmd_serve(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert)

    def on_sni(sock, name, _ctx):
        sock.lb_sni = name  # the server name as this backend saw it
    ctx.sni_callback = on_sni
    ls = socket.socket(family_of(args.bind))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(512)
    if args.ready_file:
        open(args.ready_file, "w").close()
    while True:
        raw, peer = ls.accept()
        threading.Thread(target=serve_one, args=(raw, peer, ctx, args), daemon=True).start()


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def client_ctx(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if getattr(args, "alpn_bytes", 0):
        names, size = [], 0
        while size < args.alpn_bytes:
            names.append(("p%03d" % len(names)) + "x" * 196)
            size += 201
        names.append("http/1.1")
        ctx.set_alpn_protocols(names)
    return ctx


def connect(args, ctx, sni):
    raw = socket.socket(family_of(args.host))
    raw.settimeout(args.timeout)
    if getattr(args, "bind", None):
        raw.bind((args.bind, 0))
    raw.connect((args.host, args.port))
    return ctx.wrap_socket(raw, server_hostname=sni)


class SplitHelloTLS:
    """A TLS client over memory BIOs that sends its ClientHello in two writes `delay` s
    apart: the first `first` bytes (none when 0), then the rest. The acceptor then meets a
    hello split across segments, or (first 0, a delay past TCP_DEFER_ACCEPT's second) a
    connection accepted before any byte of it arrived."""

    def __init__(self, raw, ctx, sni, first, delay):
        self.raw = raw
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = self.out.read()
        if first:
            raw.sendall(hello[:first])
        time.sleep(delay)
        raw.sendall(hello[first:])
        self._pump(self.obj.do_handshake)

    def _pump(self, op, *a):
        while True:
            try:
                r = op(*a)
            except ssl.SSLWantReadError:
                data = self.out.read()
                if data:
                    self.raw.sendall(data)
                data = self.raw.recv(65536)
                if data:
                    self.inc.write(data)
                else:
                    self.inc.write_eof()
                continue
            data = self.out.read()
            if data:
                self.raw.sendall(data)
            return r

    def sendall(self, b):
        self._pump(self.obj.write, b)

    def recv(self, n):
        try:
            return self._pump(self.obj.read, n)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def close(self):
        self.raw.close()


def cmd_tally(args):
    ctx = client_ctx(args)
    sni = None if args.no_sni else args.sni
    res = {"total": args.count, "ok": 0, "failed": 0, "by_backend": {}, "errors": [],
           "answers": {}}
    for _ in range(args.count):
        try:
            if args.split_hello is not None:
                raw = socket.socket(family_of(args.host))
                raw.settimeout(args.timeout)
                raw.connect((args.host, args.port))
                tls = SplitHelloTLS(raw, ctx, sni, args.split_hello, args.hello_delay)
            else:
                tls = connect(args, ctx, sni)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            resp = b""
            while True:
                data = tls.recv(4096)
                if not data:
                    break
                resp += data
            tls.close()
            body = resp.split(b"\r\n\r\n", 1)[1].decode().strip()
            name = body.split()[0]
            res["ok"] += 1
            res["by_backend"][name] = res["by_backend"].get(name, 0) + 1
            res["answers"][body] = res["answers"].get(body, 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is data for the test
            res["failed"] += 1
            if len(res["errors"]) < 5 and str(e) not in res["errors"]:
                res["errors"].append("%s: %s" % (type(e).__name__, e))
    print(json.dumps(res))


def cmd_bulk(args):
    """Send and receive at the same time, in one thread: an SSL socket must not be read and
    written by two threads at once. Up to WINDOW bytes are in flight each way."""
    window = 512 * 1024
    ctx = client_ctx(args)
    tls = connect(args, ctx, args.sni)
    tls.sendall(b"ECHO\n")
    name = b""
    while not name.endswith(b"\n"):
        name += tls.recv(1)
    seed = hashlib.sha256(b"lbd").digest()
    sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
    sent = received = 0
    block = seed * 2048  # 64 KiB, varied by a counter per chunk
    deadline = time.time() + args.timeout
    while received < args.bytes and time.time() < deadline:
        if sent < args.bytes and sent - received < window:
            chunk = (block + struct.pack("!Q", sent))[: min(65544, args.bytes - sent)]
            tls.sendall(chunk)
            sent_hash.update(chunk)
            sent += len(chunk)
            continue
        data = tls.recv(65536)
        if not data:
            break
        recv_hash.update(data)
        received += len(data)
    tls.close()
    print(json.dumps({"backend": name.decode().strip(), "sent": sent, "received": received,
                      "identical": sent == received and
                      sent_hash.digest() == recv_hash.digest()}))


def cmd_hold(args):
    ctx = client_ctx(args)
    res = {"backend": None, "exchanges": 0, "ok": False, "error": None}
    try:
        tls = connect(args, ctx, args.sni)
        tls.sendall(b"ECHO\n")
        name = b""
        while not name.endswith(b"\n"):
            name += tls.recv(1)
        res["backend"] = name.decode().strip()
        print(json.dumps({"event": "start", "backend": res["backend"]}), flush=True)
        end = time.time() + args.seconds
        while time.time() < end:
            line = b"ping %d\n" % res["exchanges"]
            tls.sendall(line)
            got = b""
            while len(got) < len(line):
                data = tls.recv(len(line) - len(got))
                if not data:
                    raise ConnectionError("closed by the other side")
                got += data
            if got != line:
                raise ValueError("echo mismatch: %r" % got)
            res["exchanges"] += 1
            time.sleep(0.1)
        tls.close()
        res["ok"] = True
    except Exception as e:  # noqa: BLE001
        res["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(res), flush=True)
    sys.exit(0 if res["ok"] else 1)


async def tls_session(args, ctx, stop, out, idx):
    """One held TLS connection: ECHO, then a line every --interval ms until @stop."""
    rec = {"exchanges": 0, "error": None, "backend": None}
    out["held"].append(rec)
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.host, args.port, ssl=ctx, server_hostname=args.sni),
            args.timeout)
        writer.write(b"ECHO\n")
        rec["backend"] = (await asyncio.wait_for(reader.readline(), args.timeout)).strip().decode()
        out["held_up"] += 1
        seq = 0
        while not stop.is_set():
            seq += 1
            line = b"%d %d %s\n" % (idx, seq, os.urandom(8).hex().encode())
            writer.write(line)
            got = await asyncio.wait_for(reader.readexactly(len(line)), args.timeout)
            if got != line:
                raise ValueError("echo mismatch at %d: %r" % (seq, got[:60]))
            rec["exchanges"] += 1
            try:
                await asyncio.wait_for(stop.wait(), args.interval / 1000.0)
            except asyncio.TimeoutError:
                pass
        writer.close()
    except Exception as e:  # noqa: BLE001 - every failure is a finding
        rec["error"] = "%s: %s" % (type(e).__name__, e)


async def tls_new(args, ctx, out):
    """One new TLS connection: an HTTP request, its status line."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.host, args.port, ssl=ctx, server_hostname=args.sni),
            args.timeout)
        writer.write(b"GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                     % args.sni.encode())
        status = await asyncio.wait_for(reader.readline(), args.timeout)
        if not status.startswith(b"HTTP/1.1 200"):
            raise ValueError("status %r" % status[:40])
        out["new_ok"] += 1
        writer.close()
    except Exception as e:  # noqa: BLE001
        out["new_failed"] += 1
        if len(out["new_errors"]) < 10:
            out["new_errors"].append("%s: %s" % (type(e).__name__, e))


async def load(args):
    """--hold TLS connections exchanging data, and --rate new ones per second, until
    --until-file exists (or --seconds pass). Prints a JSON summary once."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = {"held": [], "held_up": 0, "new_ok": 0, "new_failed": 0, "new_errors": []}
    stop = asyncio.Event()
    held = [asyncio.create_task(tls_session(args, ctx, stop, out, i)) for i in range(args.hold)]
    news = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end and not (args.until_file and os.path.exists(args.until_file)):
        if args.rate:
            news.append(asyncio.create_task(tls_new(args, ctx, out)))
        await asyncio.sleep(1.0 / args.rate if args.rate else 0.05)
        if args.ready_file and out["held_up"] == args.hold and not os.path.exists(args.ready_file):
            open(args.ready_file, "w").close()
    stop.set()
    await asyncio.gather(*held, *news)
    result = {
        "held": len(out["held"]),
        "held_errors": [r["error"] for r in out["held"] if r["error"]],
        "min_exchanges": min([r["exchanges"] for r in out["held"]] or [0]),
        "backends": sorted(set(r["backend"] or "" for r in out["held"])),
        "new_ok": out["new_ok"],
        "new_failed": out["new_failed"],
        "new_errors": out["new_errors"],
    }
    result["ok"] = not result["held_errors"] and not result["new_failed"]
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


def cmd_load(args):
    sys.exit(asyncio.run(load(args)))


def cmd_silent(args):
    s = socket.create_connection((args.host, args.port), timeout=args.seconds)
    start = time.time()
    try:
        data = s.recv(1)
        closed = data == b""
    except (ConnectionResetError, socket.timeout):
        closed = True
    except OSError:
        closed = True
    print(json.dumps({"closed_after": round(time.time() - start, 2), "closed": closed}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cert")
    c.add_argument("dir")
    c.add_argument("name")
    s = sub.add_parser("serve")
    s.add_argument("--name", required=True)
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cert", required=True)
    s.add_argument("--proxy-protocol", action="store_true")
    s.add_argument("--plain", action="store_true")
    s.add_argument("--ready-file")
    for name in ("tally", "bulk", "hold"):
        t = sub.add_parser(name)
        t.add_argument("--host", required=True)
        t.add_argument("--port", type=int, default=443)
        t.add_argument("--sni")
        t.add_argument("--bind")
        t.add_argument("--timeout", type=float, default=30)
        t.add_argument("--alpn-bytes", type=int, default=0)
        if name == "tally":
            t.add_argument("--count", type=int, default=1)
            t.add_argument("--no-sni", action="store_true")
            t.add_argument("--split-hello", type=int, metavar="N",
                           help="send the ClientHello's first N bytes, then the rest")
            t.add_argument("--hello-delay", type=float, default=0.3,
                           help="seconds between the two parts (with --split-hello)")
        elif name == "bulk":
            t.add_argument("--bytes", type=int, required=True)
        else:
            t.add_argument("--seconds", type=float, required=True)
    ld = sub.add_parser("load")
    ld.add_argument("--host", required=True)
    ld.add_argument("--port", type=int, default=443)
    ld.add_argument("--sni", required=True)
    ld.add_argument("--hold", type=int, default=20, help="connections held open")
    ld.add_argument("--interval", type=int, default=200, help="ms between exchanges")
    ld.add_argument("--rate", type=int, default=20, help="new connections per second")
    ld.add_argument("--seconds", type=float, default=60.0, help="overall limit")
    ld.add_argument("--timeout", type=float, default=5.0, help="per step")
    ld.add_argument("--until-file", help="stop once this file exists")
    ld.add_argument("--ready-file", help="created once every held connection is up")
    q = sub.add_parser("silent")
    q.add_argument("--host", required=True)
    q.add_argument("--port", type=int, default=443)
    q.add_argument("--seconds", type=float, default=30)
    args = p.parse_args()
    {"cert": cmd_cert, "serve": cmd_serve, "tally": cmd_tally, "bulk": cmd_bulk,
     "hold": cmd_hold, "load": cmd_load, "silent": cmd_silent}[args.cmd](args)


if __name__ == "__main__":
    main()
