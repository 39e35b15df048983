#!/usr/bin/env python3
"""Hostile clients for lbd's JSON-RPC socket (test_rpc_abuse.sh drives it).

Every subcommand prints one JSON object on stdout and exits 0 when what lbd did matches
the documented behaviour (proto/PROTOCOL.md, daemon/rpc_server.h), else prints the
reason on stderr and exits 1.

  probe SOCK PID OUT STOP   the well-behaved client: status/version round trips on one
                            connection until STOP exists; samples lbd's VmRSS; rewrites OUT
  storm SOCK N              N concurrent connections (RLIMIT_NOFILE raised)
  halfopen SOCK N           N connections holding a partial line, then completing it
  bigpartial SOCK N PID     N connections each holding 1 MiB - 1 bytes of a line
  oversize SOCK             2 MiB and 5 MiB lines without newline, a 1 MiB + 1 line
  deep SOCK                 [[[...]]] and {"a":{"a":...}} 100000 deep
  badinput SOCK             invalid UTF-8, NUL, batch, wrong version, huge numbers, ...
  newlines SOCK MIB         MIB mebibytes of blank lines on one connection
  stuck SOCK SECONDS        a health --follow subscriber and a pipeliner that never read
  unauth SOCK               (run as an unprivileged uid) read methods work, mutating -32003
  silent SOCK N SECONDS     N connections that send nothing for SECONDS, then a request on
                            a new one: lbd closes the silent longest to make room for it
"""
import json
import os
import resource
import select
import socket
import struct
import sys
import time

TIMEOUT = 10.0  # lbctl's default reply timeout


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def connect(path, timeout=TIMEOUT):
    """A full listen backlog (lbd's is 128) fails connect() with EAGAIN: retry a while."""
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.002)


class Conn:
    def __init__(self, path, timeout=TIMEOUT):
        self.s = connect(path, timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        """Next line from lbd (without newline); None at EOF."""
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                return None
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln

    def reply(self):
        """Next message that is not a notification."""
        while True:
            ln = self.line()
            if ln is None:
                return None
            m = json.loads(ln)
            if "id" in m:
                return m

    def call(self, method, params=None, rid=1):
        req = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            req["params"] = params
        self.send(json.dumps(req).encode() + b"\n")
        return self.reply()

    def close(self):
        self.s.close()


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, n)) if hard != resource.RLIM_INFINITY else max(soft, n)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("VmRSS:"):
                    return int(ln.split()[1])
    except OSError:
        return None
    return None


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


# ------------------------------------------------------------------------------ probe
def probe(path, pid, out, stop):
    c = Conn(path)
    rtts, calls, answered, errors, rss_max, alive = [], 0, 0, [], 0, True
    last_write = 0.0
    marks = {}  # phase name -> [rtts] (phase named by the file OUT.phase)

    def write():
        doc = {"calls": calls, "answered": answered, "errors": errors[:10],
               "p50_ms": round(pct(rtts, 0.5) * 1000, 2) if rtts else None,
               "p99_ms": round(pct(rtts, 0.99) * 1000, 2) if rtts else None,
               "max_ms": round(max(rtts) * 1000, 2) if rtts else None,
               "rss_max_kb": rss_max, "lbd_alive": alive,
               "phases": {k: {"calls": len(v),
                              "p50_ms": round(pct(v, 0.5) * 1000, 2),
                              "max_ms": round(max(v) * 1000, 2)}
                          for k, v in marks.items() if v}}
        with open(out + ".tmp", "w") as f:
            json.dump(doc, f)
        os.replace(out + ".tmp", out)

    while not os.path.exists(stop):
        try:
            with open(out + ".phase") as f:
                phase = f.read().strip() or "idle"
        except OSError:
            phase = "idle"
        r = rss_kb(pid)
        if r is None:
            alive = False
            errors.append("lbd exited")
            break
        rss_max = max(rss_max, r)
        method = "status" if calls % 2 == 0 else "version"
        calls += 1
        t0 = time.monotonic()
        try:
            m = c.call(method, rid=calls)
        except (OSError, ValueError) as e:
            errors.append(f"call {calls} {method}: {e!r}")
            m = None
        dt = time.monotonic() - t0
        if m and m.get("id") == calls and "result" in m:
            answered += 1
            rtts.append(dt)
            marks.setdefault(phase, []).append(dt)
        else:
            if m is not None:
                errors.append(f"call {calls} {method}: {m}")
            try:  # reconnect so the probe keeps measuring; the failure is recorded
                c.close()
                c = Conn(path)
            except OSError as e:
                errors.append(f"reconnect: {e!r}")
                time.sleep(0.2)
        if time.monotonic() - last_write > 0.5:
            write()
            last_write = time.monotonic()
        time.sleep(0.01)
    r = rss_kb(pid)
    if r is None:
        alive = False
    else:
        rss_max = max(rss_max, r)
    write()


# ------------------------------------------------------------------------------ storm
def is_closed(s):
    """True when lbd closed this connection (EOF or reset)."""
    t = s.gettimeout()
    s.setblocking(False)  # (with a timeout, Python polls first even with MSG_DONTWAIT)
    try:
        d = s.recv(1, socket.MSG_PEEK)
        return d == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.settimeout(t)


def storm(path, n):
    limit = raise_nofile(n + 256)
    socks, refused, eagain = [], [], 0
    t0 = time.monotonic()
    for i in range(n):
        # (EAGAIN from a full backlog is the kernel pacing us, not lbd refusing.)
        end = time.monotonic() + 5
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect(path)
                socks.append(s)
                break
            except BlockingIOError:
                s.close()
                eagain += 1
                if time.monotonic() > end:
                    refused.append("EAGAIN for 5 s")
                    break
                time.sleep(0.001)
            except OSError as e:
                s.close()
                refused.append(repr(e))
                break
        if i % 500 == 499:
            print(f"storm: {i + 1} attempted, {len(refused)} failed, {eagain} EAGAIN, "
                  f"{time.monotonic() - t0:.1f} s", file=sys.stderr)
    t_connect = time.monotonic() - t0
    # lbd accepts, counts, and closes what is over its cap: give it time to get there.
    time.sleep(3)
    closed = [s for s in socks if is_closed(s)]
    open_ = [s for s in socks if not is_closed(s)]
    # Every connection that is still open is a real client: it gets answers.
    answered = 0
    for i, s in enumerate(open_):
        s.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"version"}\n' % i)
    deadline = time.monotonic() + TIMEOUT
    pending = {s.fileno(): s for s in open_}
    bufs = {}
    poller = select.poll()  # (select() cannot take descriptors over 1023)
    for fd in pending:
        poller.register(fd, select.POLLIN)
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(1000):
            s = pending.get(fd)
            if s is None:
                continue
            try:
                d = s.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            bufs[fd] = bufs.get(fd, b"") + d
            if not d or b"\n" in bufs[fd]:
                if b'"result"' in bufs[fd]:
                    answered += 1
                poller.unregister(fd)
                pending.pop(fd)
    res = {"attempted": n, "nofile": limit, "connected": len(socks),
           "connect_failed": len(refused), "connect_eagain_retries": eagain, "connect_errors": refused[:3],
           "closed_by_lbd": len(closed), "kept_open": len(open_),
           "kept_open_answered": answered, "connect_seconds": round(t_connect, 2)}
    for s in socks:
        s.close()
    print(json.dumps(res))
    # lbd's cap is 1024 clients including the probe (and any other client connected now).
    if len(open_) > 1024 - 1:
        die(f"more than 1023 storm connections stay open next to the probe: {res}")
    if len(open_) < 1024 - 16:
        die(f"fewer storm connections than the cap allows were kept: {res}")
    if len(closed) + len(refused) < n - 1023:
        die(f"connections over the cap were neither refused nor closed: {res}")
    if answered != len(open_):
        die(f"kept connections not all answered: {res}")


# ------------------------------------------------------------------------------ half-open
def halfopen(path, n, hold):
    raise_nofile(n + 256)
    socks = []
    for _ in range(n):
        s = connect(path)
        s.sendall(b'{"jsonrpc":"2.0","id":7,"method":"sta')
        socks.append(s)
    time.sleep(hold)
    # lbd still holds each partial line: completing it gives a normal answer.
    for s in socks:
        s.sendall(b'tus"}\n')
    ok = 0
    for s in socks:
        c = Conn.__new__(Conn)
        c.s, c.buf = s, b""
        try:
            m = c.reply()
            if m and m.get("id") == 7 and "result" in m:
                ok += 1
        except (OSError, ValueError):
            pass
        s.close()
    res = {"connections": n, "held_seconds": hold, "completed_answered": ok}
    print(json.dumps(res))
    if ok != n:
        die(f"half-open connections did not all get their answer once completed: {res}")


def bigpartial(path, n, pid):
    """N clients each holding 1 MiB - 1 bytes of an unfinished line: lbd buffers them."""
    raise_nofile(n + 256)
    before = rss_kb(pid)
    socks = []
    for _ in range(n):
        s = connect(path)
        s.sendall(b"x" * ((1 << 20) - 1))
        socks.append(s)
    time.sleep(2)
    holding = rss_kb(pid)
    # Ending each line: one -32700 each (not JSON), then the connection still works.
    ok = 0
    for s in socks:
        s.sendall(b'\n{"jsonrpc":"2.0","id":1,"method":"version"}\n')
        c = Conn.__new__(Conn)
        c.s, c.buf = s, b""
        m1, m2 = c.reply(), c.reply()
        if m1 and m1.get("error", {}).get("code") == -32700 and m2 and "result" in m2:
            ok += 1
        s.close()
    time.sleep(1)
    after = rss_kb(pid)
    res = {"clients": n, "partial_bytes_each": (1 << 20) - 1, "rss_before_kb": before,
           "rss_holding_kb": holding, "rss_after_kb": after,
           "kb_per_client": round((holding - before) / n), "answered_after": ok}
    print(json.dumps(res))
    if ok != n:
        die(f"clients with a 1 MiB partial line not answered once completed: {res}")


# ------------------------------------------------------------------------------ oversize
def expect_code(m, code, what):
    if not m or "error" not in m or m["error"].get("code") != code:
        die(f"{what}: expected error {code}, got {m}")
    return m["error"]


def oversize(path):
    out = {}
    c = Conn(path, 30)
    # 2 MiB without a newline: answered -32005 as soon as the buffer passes the limit.
    c.send(b"x" * (2 << 20))
    e = expect_code(c.reply(), -32005, "2 MiB line")
    out["2MiB"] = e
    if e.get("data", {}).get("limit") != 1 << 20:
        die(f"2 MiB line: data.limit is not 1 MiB: {e}")
    # Ending the line: the rest is skipped, the connection stays usable.
    c.send(b"\n")
    m = c.call("version", rid=2)
    if not m or m.get("id") != 2 or "result" not in m:
        die(f"connection unusable after the 2 MiB line: {m}")
    # 5 MiB without newline, in 64 KiB pieces: one -32005 only, then usable again.
    piece = b"y" * 65536
    for _ in range(80):
        c.send(piece)
    c.send(b"\n")
    e = expect_code(c.reply(), -32005, "5 MiB line")
    m = c.call("version", rid=3)
    if not m or m.get("id") != 3 or "result" not in m:
        die(f"5 MiB line: expected exactly one -32005 then the answer, got {m}")
    out["5MiB"] = "one -32005, connection usable"
    # A syntactically valid request of 1 MiB + 1 bytes with its newline: -32005.
    pad = (1 << 20) + 1 - len(b'{"jsonrpc":"2.0","id":4,"method":"version","params":{"x":""}}')
    req = b'{"jsonrpc":"2.0","id":4,"method":"version","params":{"x":"' + b"p" * pad + b'"}}'
    assert len(req) == (1 << 20) + 1
    c.send(req + b"\n")
    expect_code(c.reply(), -32005, "1 MiB + 1 request")
    # ... and exactly 1 MiB is within the limit (answered by the params check: -32602).
    req = req.replace(b"pp", b"p", 1)
    c.send(req + b"\n")
    m = c.reply()
    expect_code(m, -32602, "1 MiB request")
    out["1MiB+1"] = "-32005"
    out["1MiB"] = "-32602 (parsed: within the limit)"
    m = c.call("version", rid=5)
    if not m or m.get("id") != 5:
        die(f"connection unusable after the 1 MiB requests: {m}")
    c.close()
    print(json.dumps(out))


# ------------------------------------------------------------------------------ deep
def deep(path):
    out = {}
    c = Conn(path)
    n = 100000
    cases = {
        "array": b"[" * n + b"]" * n,
        "object": b'{"a":' * n + b"1" + b"}" * n,
        "array-in-request": b'{"jsonrpc":"2.0","id":9,"method":"status","params":{"x":'
        + b"[" * n + b"]" * n + b"}}",
        "unclosed": b"[" * (1 << 20),  # exactly at the limit, never closed
    }
    for name, body in cases.items():
        if len(body) > 1 << 20:
            die(f"{name}: test body over 1 MiB")
        c.send(body + b"\n")
        e = expect_code(c.reply(), -32700, f"nesting {name}")
        out[name] = {"bytes": len(body), "message": e["message"]}
        if "depth" not in e["message"]:
            die(f"nesting {name}: parse error does not name the depth limit: {e}")
    m = c.call("version", rid=10)
    if not m or m.get("id") != 10:
        die(f"connection unusable after deep nesting: {m}")
    c.close()
    print(json.dumps(out))


# ------------------------------------------------------------------------------ bad input
BAD = [
    # name, line, expected code (None: no reply at all), id expected in the reply
    ("invalid UTF-8 in a string", b'{"jsonrpc":"2.0","id":1,"method":"st\xff\xfeatus"}', -32700, None),
    ("overlong UTF-8 encoding", b'{"jsonrpc":"2.0","id":1,"method":"\xc0\xafstatus"}', -32700, None),
    ("UTF-16 surrogate as UTF-8", b'{"jsonrpc":"2.0","id":1,"method":"\xed\xa0\x80"}', -32700, None),
    ("NUL byte inside the line", b'{"jsonrpc":"2.0","id":1,\x00"method":"status"}', -32700, None),
    ("NUL byte at the start", b'\x00{"jsonrpc":"2.0","id":1,"method":"status"}', -32700, None),
    ("escaped \\u0000 in method", b'{"jsonrpc":"2.0","id":1,"method":"status\\u0000x"}', -32700, None),
    ("lone surrogate escape", b'{"jsonrpc":"2.0","id":1,"method":"\\ud800"}', -32700, None),
    ("JSON array batch", b'[{"jsonrpc":"2.0","id":1,"method":"status"},'
     b'{"jsonrpc":"2.0","id":2,"method":"version"}]', -32600, None),
    ("empty batch", b'[]', -32600, None),
    ("bare string", b'"status"', -32700, None),  # jansson decodes objects and arrays only
    ("bare number", b'42', -32700, None),
    ("jsonrpc 1.0", b'{"jsonrpc":"1.0","id":3,"method":"status"}', -32600, 3),
    ("jsonrpc missing", b'{"id":4,"method":"status"}', -32600, 4),
    ("jsonrpc as number", b'{"jsonrpc":2.0,"id":5,"method":"status"}', -32600, 5),
    ("method not a string", b'{"jsonrpc":"2.0","id":6,"method":["status"]}', -32600, 6),
    ("id an object", b'{"jsonrpc":"2.0","id":{"a":1},"method":"status"}', -32600, None),
    ("id a float", b'{"jsonrpc":"2.0","id":1.5,"method":"status"}', -32600, None),
    ("huge integer id", b'{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"status"}', -32700, None),
    ("huge integer param", b'{"jsonrpc":"2.0","id":7,"method":"connections","params":{"limit":'
     b'99999999999999999999999999999}}', -32700, None),
    ("int64 max param", b'{"jsonrpc":"2.0","id":8,"method":"connections","params":{"limit":'
     b'9223372036854775807}}', None, 8),  # accepted or -32602: checked below
    ("int64 min param", b'{"jsonrpc":"2.0","id":9,"method":"connections","params":{"limit":'
     b'-9223372036854775808}}', None, 9),
    ("real overflow", b'{"jsonrpc":"2.0","id":10,"method":"status","params":{"x":1e999}}', -32700, None),
    ("duplicate keys", b'{"jsonrpc":"2.0","id":11,"method":"status","method":"reload"}', -32700, None),
    ("unknown method", b'{"jsonrpc":"2.0","id":12,"method":"rm-rf"}', -32601, 12),
    ("100 KB method name", b'{"jsonrpc":"2.0","id":13,"method":"' + b"m" * 100000 + b'"}', -32601, 13),
    ("params an array", b'{"jsonrpc":"2.0","id":14,"method":"status","params":[1,2]}', -32602, 14),
    ("unknown param", b'{"jsonrpc":"2.0","id":15,"method":"status","params":{"bogus":1}}', -32602, 15),
    ("param of wrong type", b'{"jsonrpc":"2.0","id":16,"method":"connections","params":{"limit":"9"}}',
     -32602, 16),
    ("trailing garbage", b'{"jsonrpc":"2.0","id":17,"method":"status"} x', -32700, None),
    ("two objects on a line", b'{"jsonrpc":"2.0","id":18,"method":"status"}{"a":1}', -32700, None),
    ("truncated object", b'{"jsonrpc":"2.0","id":19,', -32700, None),
    ("CR only line", b'\r', "none", None),
    ("whitespace line", b' \t \r', "none", None),
    ("notification of an unknown method", b'{"jsonrpc":"2.0","method":"nope"}', "none", None),
    ("notification with bad params", b'{"jsonrpc":"2.0","method":"status","params":{"x":1}}', "none", None),
]


def badinput(path):
    c = Conn(path)
    out = {}
    for i, (name, line, code, rid) in enumerate(BAD):
        c.send(line + b"\n")
        # A sentinel request after each line: its answer must come right after the one
        # for the bad line (or first, when the bad line gets no reply).
        sentinel = 100000 + i
        c.send(b'{"jsonrpc":"2.0","id":%d,"method":"version"}\n' % sentinel)
        m = c.reply()
        if m is None:
            die(f"{name}: lbd closed the connection")
        if code == "none":
            if m.get("id") != sentinel:
                die(f"{name}: expected no reply, got {m}")
            out[name] = "no reply"
            continue
        if code is None:  # extreme but valid integers: a result or a schema error
            if "result" not in m and m.get("error", {}).get("code") != -32602:
                die(f"{name}: expected a result or -32602, got {m}")
            out[name] = "result" if "result" in m else -32602
        else:
            e = expect_code(m, code, name)
            out[name] = code
            if m.get("id") != rid:
                die(f"{name}: reply id {m.get('id')!r}, expected {rid!r}: {m}")
            if name == "unknown method" and e.get("data", {}).get("method") != "rm-rf":
                die(f"{name}: data.method missing: {e}")
        m = c.reply()
        if not m or m.get("id") != sentinel or "result" not in m:
            die(f"{name}: connection not usable afterwards: {m}")
    c.close()
    print(json.dumps(out))


# ------------------------------------------------------------------------------ newlines
def newlines(path, mib):
    c = Conn(path, 120)
    chunk = b"\n" * (1 << 20)
    t0 = time.monotonic()
    for _ in range(mib):
        c.send(chunk)
    m = c.call("version", rid=1)
    dt = time.monotonic() - t0
    if not m or m.get("id") != 1:
        die(f"no answer after {mib} MiB of blank lines: {m}")
    print(json.dumps({"blank_line_mib": mib, "seconds_until_answer": round(dt, 2)}))


# ------------------------------------------------------------------------------ stuck readers
def stuck(path, seconds):
    # 1: subscribes to health events and never reads again.
    sub = connect(path)
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.sendall(b'{"jsonrpc":"2.0","id":1,"method":"health","params":{"follow":true}}\n')
    # 2: pipelines big replies (get-config, metrics) and never reads them.
    pipe = connect(path)
    pipe.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pipe.setblocking(False)
    req = (b'{"jsonrpc":"2.0","id":1,"method":"get-config"}\n'
           b'{"jsonrpc":"2.0","id":2,"method":"metrics"}\n'
           b'{"jsonrpc":"2.0","id":3,"method":"status"}\n') * 500
    # 3: root flips a target's health so the subscriber has events queued for it.
    ctl = Conn(path)
    sent = flips = 0
    pipe_closed = False
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not pipe_closed:
            try:
                sent += pipe.send(req)
            except BlockingIOError:
                pass
            except OSError:
                pipe_closed = True
        st = "unhealthy" if flips % 2 == 0 else "auto"
        m = ctl.call("set-target-status", {"proxy": "web", "target": "10.2.1.2:8080",
                                           "status": st}, rid=flips + 1)
        if not m or "result" not in m:
            die(f"set-target-status failed: {m}")
        flips += 1
    ctl.call("set-target-status", {"proxy": "web", "target": "10.2.1.2:8080", "status": "auto"},
             rid=0)
    if not pipe_closed:  # lbd cut it off: the next writes see the reset
        try:
            pipe.setblocking(True)
            pipe.settimeout(2)
            for _ in range(50):
                pipe.send(req)
        except OSError:
            pipe_closed = True
    sub_open = not is_closed(sub)
    # The subscriber is still served (documented: it misses events, stays subscribed)
    # or was cut off; either way lbd answers others, which the probe measures.
    m = ctl.call("health", rid=99999)
    res = {"seconds": seconds, "pipelined_bytes": sent, "pipeliner_cut_off": pipe_closed,
           "health_flips": flips, "subscriber_still_connected": sub_open,
           "health_answered_after": bool(m and "result" in m)}
    sub.close()
    pipe.close()
    ctl.close()
    print(json.dumps(res))
    if not pipe_closed:
        die(f"a client that never reads {sent} bytes of replies was not disconnected: {res}")


# ------------------------------------------------------------------------------ vanishing clients
def vanish(path, n):
    # Requests, then gone before the replies, half of them with a RST (SO_LINGER 0): lbd's
    # writes fail with EPIPE or ECONNRESET. Before lbd ignored SIGPIPE, this killed it.
    req = b'{"jsonrpc":"2.0","id":1,"method":"get-config"}\n' * 20
    for i in range(n):
        s = connect(path)
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(req)
        s.close()
    print(json.dumps({"vanished": n, "requests_each": 20}))


# ------------------------------------------------------------------------------ unauthorised
READ = [("status", None), ("version", None), ("get-config", None), ("list-proxies", None),
        ("list-source-routes", None), ("connection-count", None), ("health", None),
        ("drain-status", None), ("list-sni-routes", None), ("stats", None), ("metrics", None)]
MUTATE = [
    ("remove-proxy", {"proxy": "web"}),
    ("add-proxy", {"proxy": {"name": "evil", "listen": {"interfaces": ["lbc0"], "port": 81},
                             "default-target": [{"ip": "10.2.1.2", "port": 8080}]}}),
    ("add-source-route", {"proxy": "web", "source": "10.1.0.0/24", "targets": ["10.2.1.2:8080"]}),
    ("remove-source-route", {"proxy": "web", "source": "10.1.0.0/24"}),
    ("add-source-routes", {"proxy": "web", "routes": [{"source": "10.1.0.0/24",
                                                       "targets": ["10.2.1.2:8080"]}]}),
    ("detach-interfaces", {"interfaces": ["lbc0"]}),
    ("attach-interfaces", {"interfaces": ["lbb1"]}),
    ("set-ingress", {"mode": "xdp"}),
    ("set-weights", {"proxy": "web", "targets": ["10.2.1.2:8080@100"]}),
    ("reload", None),
    ("set-target-status", {"proxy": "web", "target": "10.2.1.2:8080", "status": "unhealthy"}),
    ("force-check", {"proxy": "web", "target": "10.2.1.2:8080"}),
    ("disable-health-checks", None),
    ("enable-health-checks", None),
    ("drain", {"proxy": "web", "target": "10.2.1.2:8080"}),
    ("undrain", {"proxy": "web", "target": "10.2.1.2:8080"}),
    ("add-sni-route", {"proxy": "web", "hostname": "a.example", "targets": ["10.2.1.2:8080"]}),
    ("remove-sni-route", {"proxy": "web", "hostname": "a.example"}),
    ("enable-stats", None),
    ("disable-stats", None),
]


def unauth(path):
    if os.getuid() == 0:
        die("unauth must run as an unprivileged uid")
    c = Conn(path)
    out = {"uid": os.getuid(), "read": {}, "mutate": {}}
    for i, (m, p) in enumerate(READ):
        r = c.call(m, p, rid=i + 1)
        if not r or "result" not in r:
            die(f"read-only {m} refused to uid {os.getuid()}: {r}")
        out["read"][m] = "result"
    for i, (m, p) in enumerate(MUTATE):
        r = c.call(m, p, rid=1000 + i)
        e = expect_code(r, -32003, f"mutating {m} as uid {os.getuid()}")
        d = e.get("data", {})
        if d.get("uid") != os.getuid() or d.get("method") != m:
            die(f"{m}: -32003 data does not name uid and method: {e}")
        out["mutate"][m] = -32003
    # Same as a notification (no id): executed for root, so it must be refused silently.
    c.send(b'{"jsonrpc":"2.0","method":"remove-proxy","params":{"proxy":"web"}}\n')
    r = c.call("version", rid=5000)
    if not r or r.get("id") != 5000:
        die(f"after a mutating notification: {r}")
    # The documented method list must agree: every mutating method was tried.
    c.close()
    print(json.dumps(out))


# ------------------------------------------------------------------------------ silent
def silent(path, n, hold):
    raise_nofile(n + 256)
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(path))
        except OSError:
            break
    time.sleep(hold)
    # Every slot is taken by now (the probe holds one): a new client still gets answers.
    s = connect(path)
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"version"}\n')
    reply = s.makefile("rb").readline()
    s.close()
    closed = 0
    for c in socks:
        c.setblocking(False)  # a timeout would make recv() wait for data first
        try:
            closed += c.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        c.close()
    res = {"connected": len(socks), "closed_by_lbd": closed, "new_client_answered": b'"result"' in reply}
    print(json.dumps(res))
    if not res["new_client_answered"]:
        die(f"a new client got no answer while silent ones held every slot: {res}")
    if closed < 1:
        die(f"no silent connection was closed to make room: {res}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "probe":
        probe(args[0], int(args[1]), args[2], args[3])
    elif cmd == "storm":
        storm(args[0], int(args[1]))
    elif cmd == "halfopen":
        halfopen(args[0], int(args[1]), float(args[2]) if len(args) > 2 else 5)
    elif cmd == "bigpartial":
        bigpartial(args[0], int(args[1]), int(args[2]))
    elif cmd == "oversize":
        oversize(args[0])
    elif cmd == "deep":
        deep(args[0])
    elif cmd == "badinput":
        badinput(args[0])
    elif cmd == "newlines":
        newlines(args[0], int(args[1]))
    elif cmd == "stuck":
        stuck(args[0], float(args[1]))
    elif cmd == "vanish":
        vanish(args[0], int(args[1]))
    elif cmd == "unauth":
        unauth(args[0])
    elif cmd == "silent":
        silent(args[0], int(args[1]), float(args[2]))
    else:
        die(f"unknown subcommand {cmd}")


if __name__ == "__main__":
    main()
