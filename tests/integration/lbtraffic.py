#!/usr/bin/python3
"""Traffic tool for the lbd integration tests (Python standard library only).

Subcommands:
  serve  --name b1 --bind IP --port P [--ports N] [--tcp] [--udp] [--ready-file F]
         [--fail-file F]
         A backend (with --ports N > 1, N of them on ports P..P+N-1, named "b1-<port>"). TCP speaks just enough HTTP/1.0 and 1.1 for curl and health checks:
         any GET/HEAD gets "200 OK" with body "<name>\\n" (while --fail-file exists: the status it holds, else 503),
         headers X-Backend (name) and X-Peer (the source address the server saw). A stream
         that starts with "ECHO\\n" gets "<name>\\n" and then every further byte echoed
         until the peer closes; "BULK <n>\\n" gets n bytes of a fixed pattern (a
         download), "SINK\\n" has the rest of the stream counted and gets "<bytes> <sha256>"
         back (an upload). A stream that starts with a TLS record (0x16) gets
         "<name>\\n" after one full record (for SNI routing tests). UDP answers each
         datagram with "<name>\\n", plus the rest of the datagram if it starts with "ECHO ".
         Neither flag given means both TCP and UDP.
  tally  --host IP --port P --count N [--proto tcp|udp] [--bind SRCIP[,SRCIP...]]
         [--concurrency K] [--timeout S] [--req-timeout S] [--sni HOST] [--until-file PATH]
         N new connections (or N datagrams, each from a fresh socket); prints one JSON
         object {"total","ok","failed","by_backend","errors","elapsed_s"} ("errors": the
         first few distinct messages). Several --bind addresses take turns (connection i
         from address i % n) and add "by_source": {SRCIP: {backend: count}}. With --until-file, no connection starts once PATH
         exists: "total" is then the number started (a load that lasts as long as what it
         accompanies, however fast the machine). Exit status is 0 whenever the tally ran
         (failures are data), 2 on usage errors.
  bulk   --host IP --port P (--download N | --upload N) [--timeout S]
         One TCP transfer of N bytes from (download) or to (upload) a backend, every byte
         checked; prints {"mode","bytes","ok","error","elapsed_s"}; exit 0 only if ok.
  hold   --host IP --port P --seconds S --interval MS [--bind SRCIP] [--proto tcp|udp]
         [--until-file PATH] [--pause-file PATH] [--size BYTES]
         One long-lived flow in ECHO mode (TCP: about BYTES per exchange, default 16).
         Prints {"event":"start","backend":...} once connected, then exchanges a line
         every interval for S seconds (or until PATH exists, if sooner: a test decides
         when it ends; nothing is sent while the pause file exists), verifying each
         echo (and, for UDP, that the backend name never changes). Finally prints
         {"backend","exchanges","ok","error","elapsed_s"}; exit 0 only if ok.
  holdmany --host IP --port P --count N --until-file PATH [--seconds S] [--interval MS]
         [--step-timeout S] [--bind SRCIP[,SRCIP...]]
         N long-lived TCP ECHO flows at once in one process, each checking an exchange
         every interval until PATH exists (at most S seconds); one answer later than
         --step-timeout fails the flow. Prints {"event":"started","connected":K} once all
         are connected, then {"total","ok","failed","exchanges","by_backend","errors",
         "elapsed_s"}; exit 0 whenever it ran (failures are data).

Every operation is bounded in time: nothing here can loop forever.
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import sys
import time

NAME_RE = re.compile(rb"^[A-Za-z0-9_.:-]{1,64}$")
MAX_HEADER = 16384
HEADER_TIMEOUT = 10.0
MAX_ERRORS = 5


# ---------------------------------------------------------------------------- serve

BULK_IDLE_TIMEOUT = 30.0


def bulk_pattern(n):
    """@n bytes both ends of a bulk transfer agree on."""
    return bytes(i % 251 for i in range(n))



class Backend:
    def __init__(self, name, fail_file, vhost=None, delay_ms=0):
        self.name = name.encode()
        self.delay = delay_ms / 1000.0
        self.fail_file = fail_file
        self.vhost = vhost.lower().encode() if vhost else None

    def wrong_host(self, request):
        """A virtual host's server: is the request's Host header not ours?"""
        if not self.vhost:
            return False
        for line in request.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"host":
                return value.strip().lower() != self.vhost
        return True

    def failing_status(self):
        """The status line while the fail file exists: its content (e.g. "500") or 503."""
        if not self.fail_file:
            return None
        try:
            with open(self.fail_file, "rb") as f:
                code = f.read().strip()
        except OSError:
            return None
        if code.isdigit():
            return code + b" Failing On Purpose"
        return b"503 Service Unavailable"

    def http_response(self, request, peer):
        line = request.split(b"\n", 1)[0].strip()
        parts = line.split()
        method = parts[0] if parts else b""
        if self.wrong_host(request):
            status = b"421 Misdirected Request"
        elif method in (b"GET", b"HEAD"):
            status = self.failing_status() or b"200 OK"
        else:
            status = b"405 Method Not Allowed"
        body = self.name + b"\n"
        head = b"".join([
            b"HTTP/1.1 ", status, b"\r\n",
            b"Content-Type: text/plain\r\n",
            b"Content-Length: ", str(len(body)).encode(), b"\r\n",
            b"Connection: close\r\n",
            b"X-Backend: ", self.name, b"\r\n",
            b"X-Peer: ", (("[%s]:%d" if ":" in str(peer[0]) else "%s:%d") % peer[:2]).encode(),
            b"\r\n",
            b"\r\n",
        ])
        return head if method == b"HEAD" else head + body

    async def handle_tcp(self, reader, writer):
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            data = b""
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), HEADER_TIMEOUT)
                if not chunk:
                    return
                data += chunk
                if data.startswith(b"ECHO\n"):
                    await self.echo(reader, writer, data[5:])
                    return
                if data.startswith(b"BULK ") and b"\n" in data:
                    await self.bulk(writer, int(data[5:data.index(b"\n")]))
                    return
                if data.startswith(b"SINK\n"):
                    await self.sink(reader, writer, data[5:])
                    return
                if b"ECHO\n".startswith(data):
                    continue  # a prefix of the ECHO greeting: wait for the rest
                if data[0] == 0x16:
                    # TLS record: wait for the whole record so the test proves the LB
                    # forwarded the complete ClientHello, then identify ourselves.
                    if len(data) >= 5 and len(data) >= 5 + struct.unpack("!H", data[3:5])[0]:
                        writer.write(self.name + b"\n")
                        await writer.drain()
                        return
                elif b"\r\n\r\n" in data or b"\n\n" in data:
                    if self.delay:
                        await asyncio.sleep(self.delay)  # a slow backend
                    writer.write(self.http_response(data, peer))
                    await writer.drain()
                    return
                if len(data) > MAX_HEADER:
                    return
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            # The server closes first, so TIME-WAIT lands on the backend side and the
            # client's ephemeral ports are free again at once.
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def bulk(self, writer, n):
        """Send @n bytes of bulk_pattern(), then close (a download)."""
        block = bulk_pattern(65536)
        while n > 0:
            writer.write(block[:min(n, len(block))])
            n -= min(n, len(block))
            await writer.drain()

    async def sink(self, reader, writer, rest):
        """Read until the peer's FIN (an upload), then say how much and its digest."""
        h = hashlib.sha256(rest)
        n = len(rest)
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), BULK_IDLE_TIMEOUT)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        writer.write(b"%d %s\n" % (n, h.hexdigest().encode()))
        await writer.drain()

    async def echo(self, reader, writer, rest):
        writer.write(self.name + b"\n" + rest)
        await writer.drain()
        while True:
            chunk = await reader.read(65536)  # long-lived by design: ends at peer close
            if not chunk:
                return
            writer.write(chunk)
            await writer.drain()


class UdpBackend(asyncio.DatagramProtocol):
    def __init__(self, backend):
        self.backend = backend
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        reply = self.backend.name + b"\n"
        if data.startswith(b"ECHO "):
            reply += data[5:]
        self.transport.sendto(reply, addr)

    def error_received(self, exc):
        pass  # ICMP errors for earlier replies: nothing to do


def tls_context(args):
    """serve --tls-cert: a server context; with --vhost, a handshake without that server
    name (none, or another) is refused with an unrecognized_name alert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls_cert, args.tls_key)
    if args.vhost:
        def sni(_sock, name, _ctx):
            if (name or "").lower() != args.vhost.lower():
                return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
            return None
        ctx.sni_callback = sni
    return ctx


async def serve(args):
    loop = asyncio.get_running_loop()
    tcp = args.tcp or not args.udp
    udp = args.udp or not args.tcp
    for port in range(args.port, args.port + args.ports):
        # Several ports: each one a backend of its own, named NAME-PORT.
        name = args.name if args.ports == 1 else "%s-%d" % (args.name, port)
        backend = Backend(name, args.fail_file, args.vhost, args.delay)
        if tcp:
            await asyncio.start_server(backend.handle_tcp, args.bind, port, backlog=4096,
                                       reuse_address=True,
                                       ssl=tls_context(args) if args.tls_cert else None)
        if udp:
            await loop.create_datagram_endpoint(lambda b=backend: UdpBackend(b),
                                                local_addr=(args.bind, port))
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, args.ready_file)
    await asyncio.Event().wait()  # until killed


# ---------------------------------------------------------------------------- tally


def client_hello(host):
    """A minimal but well-formed TLS 1.2 ClientHello carrying one server_name."""
    name = host.encode()
    sni = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    exts = struct.pack("!HH", 0, len(sni)) + sni
    body = (b"\x03\x03" + os.urandom(32) + b"\x00"
            + struct.pack("!H", 4) + b"\x13\x01\xc0\x2f"  # two cipher suites
            + b"\x01\x00"                                  # null compression
            + struct.pack("!H", len(exts)) + exts)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def parse_http(resp):
    """Return the backend name from a complete HTTP response or raise ValueError."""
    head, sep, body = resp.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("incomplete response (%d bytes)" % len(resp))
    lines = head.split(b"\r\n")
    status = lines[0].split(None, 2)
    if len(status) < 2 or status[1] != b"200":
        raise ValueError("status %r" % lines[0][:60])
    length = None
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None or len(body) != length:
        raise ValueError("body length %d, Content-Length %r" % (len(body), length))
    return parse_name(body)


def parse_name(body):
    if not body.endswith(b"\n") or not NAME_RE.match(body[:-1]):
        raise ValueError("bad body %r" % body[:60])
    return body[:-1].decode()


def host_header(host):
    return ("[%s]" % host if ":" in host else host).encode()


def source_of(args, i):
    """The source address of connection @i: the --bind addresses take turns."""
    return args.binds[i % len(args.binds)] if args.binds else None


async def tcp_once(args, i):
    src = source_of(args, i)
    local = (src, 0) if src else None
    reader, writer = await asyncio.open_connection(args.host, args.port, local_addr=local)
    try:
        if args.sni:
            writer.write(client_hello(args.sni))
        else:
            writer.write(b"GET /tally/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                         b"User-Agent: lbtraffic\r\n\r\n" % (i, host_header(args.host)))
        resp = await reader.read(-1)  # until the server closes
    finally:
        writer.close()
    return parse_name(resp) if args.sni else parse_http(resp)


class UdpOnce(asyncio.DatagramProtocol):
    def __init__(self, payload):
        self.payload = payload
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        transport.sendto(self.payload)

    def datagram_received(self, data, addr):
        if not self.done.done():
            self.done.set_result(data)

    def error_received(self, exc):
        if not self.done.done():
            self.done.set_exception(exc)


async def udp_once(args, i):
    nonce = b"tally-%d-%s" % (i, os.urandom(6).hex().encode())
    loop = asyncio.get_running_loop()
    src = source_of(args, i)
    local = (src, 0) if src else None
    # A connected socket only accepts replies from host:port, exactly like a real client:
    # a reply the LB forgot to translate back counts as lost.
    transport, proto = await loop.create_datagram_endpoint(
        lambda: UdpOnce(b"ECHO " + nonce), remote_addr=(args.host, args.port), local_addr=local)
    try:
        data = await proto.done
    finally:
        transport.close()
    name, _, echoed = data.partition(b"\n")
    if echoed != nonce:
        raise ValueError("echo mismatch %r" % data[:80])
    return parse_name(name + b"\n")


async def tally(args):
    once = udp_once if args.proto == "udp" else tcp_once
    result = {"total": args.count, "ok": 0, "failed": 0, "by_backend": {}, "errors": []}
    by_source = {}
    next_i = 0
    start = time.monotonic()
    deadline = start + args.timeout

    def error(msg):
        result["failed"] += 1
        if len(result["errors"]) < MAX_ERRORS and msg not in result["errors"]:
            result["errors"].append(msg)

    async def worker():
        nonlocal next_i
        while next_i < args.count:
            if args.until_file and os.path.exists(args.until_file):
                result["total"] = next_i
                break
            i = next_i
            next_i += 1
            left = deadline - time.monotonic()
            if left <= 0:
                error("overall timeout")
                continue
            try:
                name = await asyncio.wait_for(once(args, i), min(args.req_timeout, left))
            except asyncio.TimeoutError:
                error("timeout")
            except (OSError, ValueError) as e:
                error("%s: %s" % (type(e).__name__, e))
            else:
                result["ok"] += 1
                result["by_backend"][name] = result["by_backend"].get(name, 0) + 1
                seen = by_source.setdefault(source_of(args, i), {})
                seen[name] = seen.get(name, 0) + 1

    await asyncio.gather(*(worker() for _ in range(max(1, min(args.concurrency, args.count)))))
    result["by_backend"] = dict(sorted(result["by_backend"].items()))
    if len(args.binds) > 1:
        result["by_source"] = by_source
    result["elapsed_s"] = round(time.monotonic() - start, 3)
    print(json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------------------- hold


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer after %d bytes" % len(buf))
        buf += chunk
    return buf


def recv_line(sock, limit=128):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("connection closed before greeting")
        buf += chunk
        if len(buf) > limit:
            raise ValueError("greeting too long")
    return buf


def hold(args):
    kind = socket.SOCK_DGRAM if args.proto == "udp" else socket.SOCK_STREAM
    start = time.monotonic()
    step_timeout = max(2.0, 3 * args.interval / 1000.0)
    out = {"backend": None, "exchanges": 0, "ok": False, "error": None}
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, kind)
    try:
        sock.settimeout(step_timeout)
        if args.bind:
            sock.bind((args.bind, 0))
        sock.connect((args.host, args.port))
        if kind == socket.SOCK_STREAM:
            sock.sendall(b"ECHO\n")
            out["backend"] = parse_name(recv_line(sock))
        else:
            sock.send(b"ECHO hello")
            data = sock.recv(2048)
            out["backend"] = parse_name(data.partition(b"\n")[0] + b"\n")
        print(json.dumps({"event": "start", "backend": out["backend"]}), flush=True)
        end = start + args.seconds
        seq = 0
        while time.monotonic() < end:
            if args.until_file and os.path.exists(args.until_file):
                break
            if args.pause_file and os.path.exists(args.pause_file):
                time.sleep(0.05)  # quiet: the flow stays, nothing is sent
                continue
            seq += 1
            line = b"%d %s\n" % (seq, os.urandom(max(8, args.size // 2)).hex().encode())
            if kind == socket.SOCK_STREAM:
                sock.sendall(line)
                got = recv_exact(sock, len(line))
                if got != line:
                    raise ValueError("echo mismatch at %d: %r" % (seq, got[:60]))
            else:
                sock.send(b"ECHO " + line)
                name, _, got = sock.recv(2048).partition(b"\n")
                if name.decode(errors="replace") != out["backend"]:
                    raise ValueError("backend changed to %r at %d" % (name, seq))
                if got != line:
                    raise ValueError("echo mismatch at %d: %r" % (seq, got[:60]))
            out["exchanges"] = seq
            time.sleep(max(0.0, min(args.interval / 1000.0, end - time.monotonic())))
        out["ok"] = True
    except socket.timeout:
        out["error"] = "timeout after %d exchanges" % out["exchanges"]
    except (OSError, ValueError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        sock.close()
    out["elapsed_s"] = round(time.monotonic() - start, 3)
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


# ---------------------------------------------------------------------------- holdmany


async def hold_one(args, i, out, started):
    """One of holdmany's flows: ECHO, then a checked line every interval until the end."""
    step = max(2.0, args.step_timeout)
    writer = None
    try:
        kw = {"local_addr": (source_of(args, i), 0)} if args.binds else {}
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.host, args.port, **kw), step)
        writer.write(b"ECHO\n")
        await writer.drain()
        name = parse_name(await asyncio.wait_for(reader.readline(), step))
        out["by_backend"][name] = out["by_backend"].get(name, 0) + 1
        started.append(i)
        seq = 0
        while not os.path.exists(args.until_file) and time.monotonic() < args.end:
            seq += 1
            line = b"%d %d %s\n" % (i, seq, os.urandom(8).hex().encode())
            writer.write(line)
            await writer.drain()
            got = await asyncio.wait_for(reader.readexactly(len(line)), step)
            if got != line:
                raise ValueError("echo mismatch at %d" % seq)
            out["exchanges"] += 1
            await asyncio.sleep(args.interval / 1000.0)
        out["ok"] += 1
    except asyncio.TimeoutError:
        out["failed"] += 1
        note(out, "timeout (%.1f s without an answer)" % step)
    except (OSError, ValueError, asyncio.IncompleteReadError) as e:
        out["failed"] += 1
        note(out, "%s: %s" % (type(e).__name__, e))
    finally:
        if writer:
            writer.close()


def note(out, msg):
    if msg not in out["errors"] and len(out["errors"]) < MAX_ERRORS:
        out["errors"].append(msg)


async def holdmany(args):
    out = {"total": args.count, "ok": 0, "failed": 0, "exchanges": 0, "by_backend": {},
           "errors": []}
    started = []
    start = time.monotonic()
    args.end = start + args.seconds
    tasks = []
    for i in range(args.count):
        tasks.append(asyncio.create_task(hold_one(args, i, out, started)))
        await asyncio.sleep(0.005)  # not one burst of SYNs
    while len(started) + out["failed"] < args.count and time.monotonic() < args.end:
        await asyncio.sleep(0.05)
    print(json.dumps({"event": "started", "connected": len(started)}), flush=True)
    await asyncio.gather(*tasks)
    out["elapsed_s"] = round(time.monotonic() - start, 3)
    print(json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------------------- bulk


def bulk(args):
    """One download or upload of N bytes; the bytes (or the backend's digest) checked."""
    start = time.monotonic()
    out = {"mode": "download" if args.download is not None else "upload", "bytes": 0,
           "ok": False, "error": None}
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    try:
        deadline = start + args.timeout
        if args.download is not None:
            sock.sendall(b"BULK %d\n" % args.download)
            want = bulk_pattern(65536)
            while True:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                off = out["bytes"] % 65536
                ref = (want[off:] + want)[:len(chunk)] if len(chunk) <= 65536 else None
                if ref is not None and chunk != ref:
                    raise ValueError("corrupt data at byte %d" % out["bytes"])
                out["bytes"] += len(chunk)
            out["ok"] = out["bytes"] == args.download
            if not out["ok"]:
                out["error"] = "short: %d of %d bytes" % (out["bytes"], args.download)
        else:
            block, h, left = bulk_pattern(65536), hashlib.sha256(), args.upload
            sock.sendall(b"SINK\n")
            while left > 0:
                piece = block[:min(left, len(block))]
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.sendall(piece)
                h.update(piece)
                left -= len(piece)
                out["bytes"] += len(piece)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            reply = recv_line(sock, 200).decode().split()
            out["ok"] = reply == [str(args.upload), h.hexdigest()]
            if not out["ok"]:
                out["error"] = "the backend got %s" % " ".join(reply)
    except socket.timeout:
        out["error"] = "timeout after %d bytes" % out["bytes"]
    except (OSError, ValueError) as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        sock.close()
    out["elapsed_s"] = round(time.monotonic() - start, 3)
    print(json.dumps(out), flush=True)
    return 0 if out["ok"] else 1


# ---------------------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("serve", help="run a backend (TCP HTTP/ECHO/TLS-peek, UDP)")
    s.add_argument("--name", required=True)
    s.add_argument("--bind", default="0.0.0.0")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--ports", type=int, default=1,
                   help="serve PORT .. PORT+N-1, each a backend named NAME-PORT (N > 1)")
    s.add_argument("--tcp", action="store_true")
    s.add_argument("--udp", action="store_true")
    s.add_argument("--ready-file", help="written (atomically) once listening")
    s.add_argument("--fail-file", help="while this file exists, HTTP answers with the status it holds (default 503)")
    s.add_argument("--delay", type=float, default=0.0,
                   help="milliseconds to wait before each HTTP answer (a slow backend)")
    s.add_argument("--tls-cert", help="TCP over TLS with this certificate (PEM)")
    s.add_argument("--tls-key", help="the key of --tls-cert")
    s.add_argument("--vhost", help="a virtual host: HTTP without this Host gets 421; with "
                   "--tls-cert, a handshake without this server name is refused")

    t = sub.add_parser("tally", help="N new connections, JSON count per backend")
    t.add_argument("--host", required=True)
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--count", type=int, required=True)
    t.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    t.add_argument("--bind", help="source address, or several separated by commas (they "
                   "take turns; the result then has by_source)")
    t.add_argument("--concurrency", type=int, default=32)
    t.add_argument("--timeout", type=float, default=60.0, help="overall limit, seconds")
    t.add_argument("--req-timeout", type=float, default=5.0, help="per request, seconds")
    t.add_argument("--sni", help="TCP: send a TLS ClientHello with this SNI instead of HTTP")
    t.add_argument("--until-file", help="start no connection once this file exists")

    h = sub.add_parser("hold", help="one long-lived ECHO flow")
    h.add_argument("--host", required=True)
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--seconds", type=float, required=True)
    h.add_argument("--interval", type=float, default=100.0, help="milliseconds")
    h.add_argument("--bind", help="source address")
    h.add_argument("--proto", choices=("tcp", "udp"), default="tcp")
    h.add_argument("--until-file", help="end (cleanly) once this file exists, if sooner")
    h.add_argument("--pause-file", help="send nothing while this file exists")
    h.add_argument("--size", type=int, default=16, help="TCP: bytes per exchange (a long transfer)")

    m = sub.add_parser("holdmany", help="N long-lived ECHO flows at once, JSON summary")
    m.add_argument("--host", required=True)
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--count", type=int, required=True)
    m.add_argument("--until-file", required=True, help="end (cleanly) once this file exists")
    m.add_argument("--seconds", type=float, default=120.0, help="end at the latest after this")
    m.add_argument("--interval", type=float, default=200.0, help="milliseconds between lines")
    m.add_argument("--step-timeout", type=float, default=5.0,
                   help="seconds one answer may take before the flow counts as failed")
    m.add_argument("--bind", help="source addresses, comma-separated, taking turns")

    b = sub.add_parser("bulk", help="one large transfer, checked byte for byte")
    b.add_argument("--host", required=True)
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--download", type=int, help="receive this many bytes")
    b.add_argument("--upload", type=int, help="send this many bytes")
    b.add_argument("--timeout", type=float, default=30.0, help="overall limit, seconds")

    args = p.parse_args()
    if args.cmd == "bulk":
        if (args.download is None) == (args.upload is None):
            p.error("give --download N or --upload N")
        return bulk(args)
    if args.cmd == "serve":
        try:
            asyncio.run(serve(args))
        except KeyboardInterrupt:
            pass
        return 0
    if args.cmd == "tally":
        args.binds = args.bind.split(",") if args.bind else []
        if args.count < 0 or args.concurrency < 1 or args.timeout <= 0:
            p.error("--count >= 0, --concurrency >= 1, --timeout > 0")
        return asyncio.run(tally(args))
    if args.cmd == "holdmany":
        args.binds = args.bind.split(",") if args.bind else []
        if args.count < 1 or args.seconds <= 0:
            p.error("--count >= 1, --seconds > 0")
        return asyncio.run(holdmany(args))
    return hold(args)


if __name__ == "__main__":
    sys.exit(main())
