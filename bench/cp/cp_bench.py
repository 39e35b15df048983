#!/usr/bin/python3
"""Measurements of bench/control_plane.sh (Python standard library only).

Every subcommand prints one JSON object on stdout; times are in microseconds unless the
key says otherwise. SOCK is lbd's control socket (a path, so it works from any network
namespace).

  rtt SOCK [--count N] [--method M] [--params JSON]
      N calls of M (default status) over one persistent connection, one at a time.
  spawn SOCK LBCTL [--count N] [--argv "ARGS"]
      N runs of `LBCTL -s SOCK ARGS` (default: status), one process each.
  routes SOCK PROXY --count N [--batch K] [--offset I] [--target T] [--budget S]
      Add N /32 source routes to PROXY: one add-source-route per route (K = 0, the
      default), or add-source-routes with K routes per call; stops early after S seconds.
  flips SOCK PROXY VIP PORT A B [--flips N] [--tally N]
      Alternate set-weights A@100 B@0 / A@0 B@100; after every reply open one TCP
      connection to VIP:PORT at once and note which backend answered; after the first
      two flips also open N more connections (run in the client's namespace).
  scale SOCK PROXY --steps N1,N2,.. [--calls K] [--offset I] [--target T]
      Grow PROXY's source routes to N1, N2, ... (batches of at most 10,000) and time K
      set-weights calls of its default group at each size: the cost of one change
      against the size of the configuration.
  syn SOCK VIP PORT --sources A,B,.. --flows N [--proxy P] [--rounds R]
      Raw-socket TCP SYNs, one per (source address, source port), until lbd counts N
      open flows for PROXY (run in the client's namespace, as root).
  report DIR
      The table of bench/control_plane.sh from the JSON files in DIR.
"""

import argparse
import json
import math
import socket
import struct
import subprocess
import sys
import time


def pct(values, q):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def summary(values, unit=1.0):
    """p50/p99/max/mean of @values divided by @unit, rounded for a table."""
    if not values:
        return {"n": 0}
    v = [x / unit for x in values]
    return {
        "n": len(v),
        "p50": round(pct(v, 0.50), 1),
        "p99": round(pct(v, 0.99), 1),
        "max": round(max(v), 1),
        "mean": round(sum(v) / len(v), 1),
    }


class Rpc:
    """One connection to lbd: newline-delimited JSON-RPC 2.0."""

    def __init__(self, path, timeout=900.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 0

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        return json.dumps(msg, separators=(",", ":")).encode() + b"\n", self.next_id

    def send_wait(self, line, want_id):
        """Send one encoded request, return its reply (notifications are skipped)."""
        self.sock.sendall(line)
        while True:
            raw = self.reader.readline()
            if not raw:
                raise ConnectionError("lbd closed the connection")
            reply = json.loads(raw)
            if reply.get("id") == want_id:
                return reply

    def call(self, method, params=None):
        return self.send_wait(*self.request(method, params))

    def timed(self, method, params=None):
        """(reply, microseconds from the first byte sent to the whole reply read)."""
        line, rid = self.request(method, params)
        t0 = time.perf_counter_ns()
        reply = self.send_wait(line, rid)
        return reply, (time.perf_counter_ns() - t0) / 1000.0

    def ok(self, method, params=None):
        reply = self.call(method, params)
        if "error" in reply:
            sys.exit(f"{method}: {reply['error']}")
        return reply["result"]


def cmd_rtt(a):
    rpc = Rpc(a.sock)
    params = json.loads(a.params) if a.params else None
    times, size = [], 0
    for _ in range(a.warmup):
        rpc.call(a.method, params)
    for _ in range(a.count):
        reply, us = rpc.timed(a.method, params)
        if "error" in reply:
            sys.exit(f"{a.method}: {reply['error']}")
        times.append(us)
        size = len(json.dumps(reply, separators=(",", ":")))
    print(json.dumps({"method": a.method, "reply_bytes": size, **summary(times)}))


def cmd_spawn(a):
    argv = [a.lbctl, "-s", a.sock] + a.argv.split()
    times = []
    for _ in range(a.count):
        t0 = time.perf_counter_ns()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append((time.perf_counter_ns() - t0) / 1000.0)
        if r.returncode:
            sys.exit(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.decode()}")
    print(json.dumps({"argv": argv[3:], **summary(times)}))


def route_list(first, n, target):
    return [{"source": route_cidr(i), "targets": [target]} for i in range(first, first + n)]


def route_cidr(i):
    """The i-th /32 of 172.16.0.0/12."""
    return "172.%d.%d.%d/32" % (16 + (i >> 16), (i >> 8) & 255, i & 255)


def cmd_routes(a):
    rpc = Rpc(a.sock)
    times, done, t_start, request_bytes = [], 0, time.perf_counter(), 0
    idx = list(range(a.offset, a.offset + a.count))
    step = a.batch if a.batch > 0 else 1
    stopped = False
    for at in range(0, a.count, step):
        chunk = idx[at:at + step]
        if a.batch > 0:
            params = {"proxy": a.proxy, "routes": route_list(chunk[0], len(chunk), a.target)}
            request_bytes = len(rpc.request("add-source-routes", params)[0])
            reply, us = rpc.timed("add-source-routes", params)
        else:
            params = {"proxy": a.proxy, "source": route_cidr(chunk[0]), "targets": [a.target]}
            reply, us = rpc.timed("add-source-route", params)
        if "error" in reply:
            sys.exit(f"route {chunk[0]}: {reply['error']}")
        times.append(us)
        done += len(chunk)
        if a.budget and time.perf_counter() - t_start > a.budget:
            stopped = done < a.count
            break
    total = time.perf_counter() - t_start
    out = {"mode": "batch" if a.batch > 0 else "single", "routes": done, "calls": len(times),
           "total_s": round(total, 3), "stopped_by_budget": stopped,
           "per_call_ms": summary(times, 1000.0), "largest_request_bytes": request_bytes}
    if a.batch == 0 and len(times) >= 200:
        out["first100_ms"] = summary(times[:100], 1000.0)
        out["last100_ms"] = summary(times[-100:], 1000.0)
        # Per-call time against routes already present, in tenths of the run.
        tenth = len(times) // 10
        out["by_tenth_ms"] = [round(pct(times[k * tenth:(k + 1) * tenth], 0.5) / 1000.0, 2)
                              for k in range(10)]
    print(json.dumps(out))


def cmd_scale(a):
    rpc = Rpc(a.sock)
    proxy = next(p for p in rpc.ok("list-proxies")["proxies"] if p["name"] == a.proxy)
    group = [f"{t['ip']}:{t['port']}" for t in proxy["default-target"]]
    if len(group) != 2:
        sys.exit("scale: the proxy's default group must have two targets")
    flips = [[f"{group[0]}@60", f"{group[1]}@40"], [f"{group[0]}@50", f"{group[1]}@50"]]
    have = len(rpc.ok("list-source-routes", {"proxy": a.proxy})["routes"])
    steps = []
    for want in [int(x) for x in a.steps.split(",")]:
        while have < want:
            n = min(10000, want - have)
            rpc.ok("add-source-routes",
                   {"proxy": a.proxy, "routes": route_list(a.offset + have, n, a.target)})
            have += n
        times = []
        for k in range(a.calls):
            reply, us = rpc.timed("set-weights", {"proxy": a.proxy, "targets": flips[k % 2]})
            if "error" in reply:
                sys.exit(f"set-weights: {reply['error']}")
            times.append(us)
        steps.append({"routes": have, "set_weights_ms": summary(times, 1000.0)})
    print(json.dumps({"calls": a.calls, "steps": steps}))


def http_backend(vip, port, timeout=5.0):
    """Open one TCP connection, GET /, return the backend name it answered with."""
    with socket.create_connection((vip, port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    body = data.split(b"\r\n\r\n", 1)[-1].strip()
    return body.decode(errors="replace") or "?"


def cmd_flips(a):
    rpc = Rpc(a.sock)
    names = {a.a: "b1", a.b: "b2"}
    weights = [([f"{a.a}@100", f"{a.b}@0"], names[a.a]), ([f"{a.a}@0", f"{a.b}@100"], names[a.b])]
    reply_us, first_ok, first_seen, tallies = [], 0, {}, []
    for i in range(a.flips):
        targets, want = weights[i % 2]
        reply, us = rpc.timed("set-weights", {"proxy": a.proxy, "targets": targets})
        if "error" in reply:
            sys.exit(f"set-weights: {reply['error']}")
        got = http_backend(a.vip, a.port)  # the first connection after the reply
        reply_us.append(us)
        first_ok += got == want
        first_seen[got] = first_seen.get(got, 0) + 1
        if i < 2:
            by = {}
            for _ in range(a.tally):
                b = http_backend(a.vip, a.port)
                by[b] = by.get(b, 0) + 1
            tallies.append({"weights": targets, "want": want, "by_backend": by})
    print(json.dumps({"flips": a.flips, "reply": summary(reply_us),
                      "first_connection_on_new_weights": first_ok, "first_seen": first_seen,
                      "tallies": tallies}))


def csum_fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words_sum(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


def cmd_syn(a):
    """SYNs from (source, port) pairs, in rounds, until lbd counts enough flows."""
    rpc = Rpc(a.sock)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    vip = socket.inet_aton(a.vip)
    sources = [socket.inet_aton(s) for s in a.sources.split(",")]
    # TCP header with source port 0 and checksum 0; the checksum is completed per packet
    # from a precomputed sum (pseudo header + header), plus the source port.
    tcp0 = struct.pack("!HHIIBBHHH", 0, a.port, 0x10000000, 0, 5 << 4, 0x02, 64240, 0, 0)
    base = {s: words_sum(s + vip + struct.pack("!BBH", 0, socket.IPPROTO_TCP, 20) + tcp0)
            for s in sources}
    ports = iter([(s, p) for p in range(a.first_port, 65536) for s in sources])

    def count():
        r = rpc.ok("connection-count", {"proxy": a.proxy})
        return r["total"]

    sent, t0, rounds = 0, time.perf_counter(), []
    have = count()
    for _ in range(a.rounds):
        want = a.flows - have
        if want <= 0:
            break
        n = int(want * 1.02) + 16
        tr = time.perf_counter()
        for k in range(n):
            try:
                src, sport = next(ports)
            except StopIteration:
                sys.exit("out of source ports")
            ck = 0xFFFF - csum_fold(base[src] + sport)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, socket.IPPROTO_TCP,
                             0, src, vip)
            tcp = struct.pack("!H", sport) + tcp0[2:16] + struct.pack("!H", ck) + tcp0[18:]
            while True:
                try:
                    raw.sendto(ip + tcp, (a.vip, 0))
                    break
                except (BlockingIOError, OSError):
                    time.sleep(0.001)
            sent += 1
            # A veth XDP ring holds 256 frames: pace so the LB's CPU can keep up.
            if k % a.burst == a.burst - 1:
                time.sleep(a.pause_ms / 1000.0)
        send_s = time.perf_counter() - tr
        time.sleep(1.0)
        have = count()
        rounds.append({"sent": n, "send_s": round(send_s, 2), "flows_after": have})
    print(json.dumps({"flows": have, "sent": sent, "elapsed_s": round(time.perf_counter() - t0, 2),
                      "rounds": rounds}))


def cmd_rss(a):
    """VmRSS and VmHWM (peak) of a process, in kB."""
    out = {}
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(val.split()[0])
    print(json.dumps(out))


def load(d, name):
    try:
        with open(f"{d}/{name}.json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt_num(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def fmt_lat(r, unit="us"):
    """p50/p99/max of a summary in @unit; microseconds of 10 ms and more shown as ms."""
    if not r or not r.get("n"):
        return "-"
    k = 1000.0 if unit == "us" and r["p50"] >= 10000 else 1.0
    unit = "ms" if k > 1 else unit
    return (f"p50 {fmt_num(r['p50'] / k)} / p99 {fmt_num(r['p99'] / k)} / "
            f"max {fmt_num(r['max'] / k)} {unit}")


def cmd_report(a):
    d = a.dir
    m = load(d, "meta") or {}
    rows = []  # (figure, value, what it means); None: a section heading

    def row(fig, val, note=""):
        rows.append((fig, val, note))

    rss = load(d, "rss") or {}

    def mb(key):
        r = rss.get(key)
        return f"{r['VmRSS'] / 1024:.1f} MB (peak {r['VmHWM'] / 1024:.1f})" if r else "-"

    rows.append(None)
    row("1 RPC round trip", "", "one request line out, the reply line back, on one connection")
    for name, label, note in [
            ("rtt_version", "version", "the RPC path alone: parse, dispatch, a small reply"),
            ("rtt_status", "status", "plus a conntrack scan (an idle table here) and an XDP query"),
            ("spawn_status", "lbctl status (new process)", "fork+exec, connect, call, format, exit")]:
        r = load(d, name)
        row(f"  {label}", fmt_lat(r), f"{r['n']} calls; {note}" if r else "")

    rows.append(None)
    row("2 source routes", "", "distinct /32 client prefixes, one target, added to one proxy")
    r = load(d, "routes_single")
    if r:
        done = "" if not r["stopped_by_budget"] else " (stopped by --single-budget)"
        row(f"  {r['routes']} x add-source-route", f"{r['total_s']:.1f} s{done}",
            "one call per route on one connection; each re-validates and re-writes all")
        if r.get("first100_ms"):
            row("    per call, first 100 / last 100",
                f"{r['first100_ms']['p50']:g} / {r['last100_ms']['p50']:g} ms (p50)",
                "grows with the routes present: O(n) per call, O(n^2) in all")
            row("    per call, p50 by tenth of the run",
                " ".join(f"{x:g}" for x in r["by_tenth_ms"]) + " ms", "")
    r = load(d, "reload_single")
    if r:
        row("  reload back to 0 routes", f"{r['p50'] / 1000:.1f} ms", "one change removing them all")
    r = load(d, "routes_batch")
    if r:
        row(f"  add-source-routes, {r['routes']} in 1 call", f"{r['total_s'] * 1000:.0f} ms",
            f"one change; request {r['largest_request_bytes'] / 1048576:.2f} MiB "
            "(limit 1 MiB)")
    r = load(d, "routes_batch1k")
    if r:
        row(f"  add-source-routes, {r['calls']} x {r['routes'] // r['calls']}",
            f"{r['total_s'] * 1000:.0f} ms", f"per call {fmt_lat(r['per_call_ms'], 'ms')}")
    batch = load(d, "routes_batch")
    for name, label in [("with_routes_list", "list-source-routes"),
                        ("with_routes_get_config", "get-config"),
                        ("with_routes_status", "status")]:
        r = load(d, name)
        if r:
            row(f"  {label}, {batch['routes'] if batch else '?'} routes", fmt_lat(r),
                f"{r['n']} calls, reply {r['reply_bytes']} bytes")
    r = load(d, "scale")
    if r:
        row("  one change vs routes present", "", f"set-weights of the default group, p50 "
            f"of {r['calls']} calls (ms per 1k routes should stay flat: linear)")
        for st in r["steps"]:
            ms = st["set_weights_ms"]["p50"]
            per = f", {ms / (st['routes'] / 1000):.2f} ms per 1k routes" if st["routes"] else ""
            row(f"    {st['routes']} routes", f"{ms:g} ms{per}", "")
    top = r["steps"][-1]["routes"] if r else "?"
    row("  lbd RSS: idle", mb("idle"), "VmRSS (VmHWM: the peak so far) from /proc")
    row(f"  lbd RSS: {load(d, 'routes_single')['routes'] if load(d, 'routes_single') else '?'}"
        " routes", mb("routes10k"), "after the one-by-one adds")
    row(f"  lbd RSS: {top} routes", mb("routes_scale"), "after the scale steps")

    rows.append(None)
    r = load(d, "flips")
    if r:
        row("3 set-weights reply", fmt_lat(r["reply"]),
            f"{r['flips']} flips 100/0 <-> 0/100 on a two-backend proxy")
        row("  first connection after the reply", f"{r['first_connection_on_new_weights']}"
            f"/{r['flips']} on the new backend",
            "opened at once after each reply: lbd replies after the maps are written")
        for t in r["tallies"]:
            by = ", ".join(f"{k} {v}" for k, v in sorted(t["by_backend"].items()))
            w = "/".join(x.rsplit("@", 1)[1] for x in t["weights"])
            row(f"  next {sum(t['by_backend'].values())} connections after {w}", by,
                f"all on {t['want']} expected")

    rows.append(None)
    r = load(d, "syn")
    if r:
        row("4 tracked connections", f"{r['flows']} flows",
            f"{r['sent']} SYNs from {m.get('sources', '?')} client addresses in "
            f"{r['elapsed_s']:g} s (raw socket); backends answer, the client drops the SYN-ACKs")
    row("  lbd RSS: before the flows", mb("before_flows"), "after the phases above")
    row("  lbd RSS: with the flows", mb("flows"), "after a sweep (reads the whole table)")
    row("  lbd RSS: after the scans below", mb("flows_after_scans"),
        "conntrack is a kernel map: lbd holds a copy only while it scans")
    for name, label, note in [
            ("idle_count_rpc", "connection-count, idle", "a full conntrack scan, empty table"),
            ("flows_count_rpc", "connection-count, with the flows", "a full conntrack scan"),
            ("flows_count_lbctl", "lbctl connection-count", "the same through a new lbctl process"),
            ("idle_stats_rpc", "stats, idle", "counters plus a conntrack scan"),
            ("flows_stats_rpc", "stats, with the flows", ""),
            ("flows_stats_lbctl", "lbctl stats", "the same through a new lbctl process"),
            ("flows_status_rpc", "status, with the flows", "status scans conntrack too")]:
        r = load(d, name)
        if r:
            row(f"  {label}", fmt_lat(r), f"{r['n']} calls; {note}".rstrip("; "))

    head = [f"# lbd control-plane benchmark (bench/control_plane.sh), {m.get('date', '?')}",
            f"# kernel {m.get('kernel', '?')}, {m.get('cpus', '?')} CPUs; "
            f"load average before: {m.get('load_before', '?')}, after: {m.get('load_after', '?')}",
            f"# lbd {m.get('lbd', '?')}; settings.max-connections {m.get('max_connections', '?')}",
            f"# command: {m.get('command', '?')}"]
    print("\n".join(head))
    w1 = max(len(x[0]) for x in rows if x) + 2
    w2 = max(len(x[1]) for x in rows if x) + 2
    for x in rows:
        if x is None:
            print()
            continue
        print(f"{x[0]:<{w1}}{x[1]:<{w2}}{x[2]}".rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("rtt")
    p.add_argument("sock")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--method", default="status")
    p.add_argument("--params")
    p = sub.add_parser("spawn")
    p.add_argument("sock")
    p.add_argument("lbctl")
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--argv", default="status")
    p = sub.add_parser("routes")
    p.add_argument("sock")
    p.add_argument("proxy")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--target", default="10.2.1.2:8080")
    p.add_argument("--budget", type=float, default=0.0)
    p = sub.add_parser("scale")
    p.add_argument("sock")
    p.add_argument("proxy")
    p.add_argument("--steps", required=True)
    p.add_argument("--calls", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--target", default="10.2.1.2:8080")
    p = sub.add_parser("rss")
    p.add_argument("pid", type=int)
    p = sub.add_parser("report")
    p.add_argument("dir")
    p = sub.add_parser("flips")
    p.add_argument("sock")
    p.add_argument("proxy")
    p.add_argument("vip")
    p.add_argument("port", type=int)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--flips", type=int, default=200)
    p.add_argument("--tally", type=int, default=200)
    p = sub.add_parser("syn")
    p.add_argument("sock")
    p.add_argument("vip")
    p.add_argument("port", type=int)
    p.add_argument("--sources", required=True)
    p.add_argument("--flows", type=int, required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--first-port", type=int, default=2000)
    p.add_argument("--burst", type=int, default=128)
    p.add_argument("--pause-ms", type=float, default=1.0)
    a = ap.parse_args()
    {"rtt": cmd_rtt, "spawn": cmd_spawn, "routes": cmd_routes, "flips": cmd_flips,
     "syn": cmd_syn, "scale": cmd_scale, "rss": cmd_rss, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
