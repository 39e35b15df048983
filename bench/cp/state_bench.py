#!/usr/bin/python3
"""Measurements of bench/state_bench.sh (Python standard library only).

Every subcommand but `report` prints one JSON object on stdout. An LBD argument is
NAME,SOCK,PID: a label, lbd's control socket (a path: it works from any network
namespace) and lbd's process id, whose CPU time is read from /proc.

CPU time of lbd is read two ways at every reading: utime+stime of /proc/PID/stat (clock
ticks, all threads, the figure to quote; 10 ms resolution, so per-call values are only
meaningful as a mean over many calls) and the sum of /proc/PID/task/*/schedstat (ns on
CPU, the per-call percentiles).

  routes LBD PROXY --count N --targets A,B,C [--batch K]
      Add N /32 source routes to PROXY with add-source-routes, K per call; route i
      holds one target (i even) or two at 50/50 (i odd), taken from the targets in turn.
  changes LBD [LBD ...] --proxy P --flip T --targets A,B,C --calls K
      K rounds; in each round every lbd in turn (the order rotated by one per round) gets
      set-target-status P T unhealthy, then auto, then set-weights of P's default group
      (two weight sets alternating). Wall time per call (request out to reply in); lbd's
      CPU per call from one reading before each call to the next reading of the same lbd,
      so work lbd does after its reply is counted too.
  scrapes LBD --url URL --proxy P --expect N [--count K] [--spaced K2] [--spacing S]
          [--rpc-count K3] [--idle S2]
      With N flows in conntrack: lbd's CPU over S2 idle seconds (its sweeper), K scrapes
      of URL one after another, K2 scrapes S seconds apart, K3 `stats` and K3 `status`
      calls. The first scrape must report N open connections for P.
  report DIR
      The table of bench/state_bench.sh from the JSON files in DIR.
"""

import argparse
import glob
import json
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cp_bench import Rpc, pct, summary  # noqa: E402

TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


class Lbd:
    """One running lbd: its name, control connection and process."""

    def __init__(self, spec):
        try:
            self.name, self.sock, pid = spec.split(",")
            self.pid = int(pid)
        except ValueError:
            sys.exit(f"LBD must be NAME,SOCK,PID, not {spec!r}")
        self.rpc = Rpc(self.sock)

    def cpu(self):
        """(schedstat ns summed over threads, utime+stime ticks) now."""
        ns = 0
        for f in glob.glob(f"/proc/{self.pid}/task/*/schedstat"):
            try:
                with open(f) as fh:
                    ns += int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass  # a thread that just ended
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return ns, int(fields[11]) + int(fields[12])

    def mem(self):
        out = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(val.split()[0])
        return out

    def call(self, method, params=None):
        """(result, wall us, cpu ns, cpu ticks) of one call; exits on an error reply."""
        c0 = self.cpu()
        reply, us = self.rpc.timed(method, params)
        c1 = self.cpu()
        if "error" in reply:
            sys.exit(f"{self.name}: {method} {params}: {reply['error']}")
        return reply["result"], us, c1[0] - c0[0], c1[1] - c0[1]


def cpu_summary(ns_list, ticks_list):
    """Per-call CPU: schedstat percentiles (ms) and the /proc/PID/stat mean (ms)."""
    out = summary(ns_list, 1e6)
    out["stat_mean_ms"] = round(sum(ticks_list) * TICK_MS / max(1, len(ticks_list)), 2)
    out["stat_total_ms"] = round(sum(ticks_list) * TICK_MS, 1)
    return out


def cmd_routes(a):
    lbd = Lbd(a.lbd)
    targets = a.targets.split(",")
    n_t = len(targets)
    t_start, times, cpu_ns, cpu_t = time.perf_counter(), [], [], []
    total = 0
    for first in range(0, a.count, a.batch):
        routes = []
        for i in range(first, min(a.count, first + a.batch)):
            cidr = "172.%d.%d.%d/32" % (16 + (i >> 16), (i >> 8) & 255, i & 255)
            if i % 2 == 0:
                tg = [targets[i % n_t]]
            else:
                tg = [targets[i % n_t] + "@50", targets[(i + 1) % n_t] + "@50"]
            routes.append({"source": cidr, "targets": tg})
        res, us, ns, ticks = lbd.call("add-source-routes", {"proxy": a.proxy, "routes": routes})
        total = res["total-routes"]
        times.append(us)
        cpu_ns.append(ns)
        cpu_t.append(ticks)
    print(json.dumps({"name": lbd.name, "routes": total, "calls": len(times),
                      "total_s": round(time.perf_counter() - t_start, 3),
                      "per_call_ms": summary(times, 1000.0), "cpu": cpu_summary(cpu_ns, cpu_t),
                      "mem": lbd.mem()}))


def cmd_changes(a):
    lbds = [Lbd(s) for s in a.lbd]
    targets = a.targets.split(",")
    if len(targets) != 3:
        sys.exit("changes: --targets must name the three targets of the default group")
    wsets = [[f"{targets[0]}@40", f"{targets[1]}@30", f"{targets[2]}@30"],
             [f"{targets[0]}@50", f"{targets[1]}@30", f"{targets[2]}@20"]]
    kinds = ["unhealthy", "auto", "set-weights"]

    def request(kind, k):
        if kind == "set-weights":
            return "set-weights", {"proxy": a.proxy, "targets": wsets[k % 2]}
        return "set-target-status", {"proxy": a.proxy, "target": a.flip, "status": kind}

    rec = {l.name: {k: {"wall": [], "ns": [], "ticks": []} for k in kinds} for l in lbds}
    pending = {}  # lbd name -> (kind, cpu reading before that call)
    for l in lbds:  # warm-up round, not recorded
        for kind in kinds:
            l.call(*request(kind, 1))
    t0 = time.perf_counter()
    for k in range(a.calls):
        for j in range(len(lbds)):
            l = lbds[(j + k) % len(lbds)]
            for kind in kinds:
                method, params = request(kind, k)
                c = l.cpu()
                if l.name in pending:
                    pk, pc = pending[l.name]
                    rec[l.name][pk]["ns"].append(c[0] - pc[0])
                    rec[l.name][pk]["ticks"].append(c[1] - pc[1])
                reply, us = l.rpc.timed(method, params)
                if "error" in reply:
                    sys.exit(f"{l.name}: {method} {params}: {reply['error']}")
                rec[l.name][kind]["wall"].append(us)
                pending[l.name] = (kind, c)
    time.sleep(0.5)  # let the last call's after-reply work finish
    for l in lbds:
        c = l.cpu()
        pk, pc = pending[l.name]
        rec[l.name][pk]["ns"].append(c[0] - pc[0])
        rec[l.name][pk]["ticks"].append(c[1] - pc[1])
    out = {"calls": a.calls, "flip": a.flip, "weights": wsets,
           "elapsed_s": round(time.perf_counter() - t0, 1), "builds": {}}
    for l in lbds:
        out["builds"][l.name] = {
            kind: {"wall_ms": summary(r["wall"], 1000.0), "cpu": cpu_summary(r["ns"], r["ticks"])}
            for kind, r in rec[l.name].items()}
        out["builds"][l.name]["mem"] = l.mem()
    print(json.dumps(out))


def scrape(url, timeout=300.0):
    """(HTTP status, body) of one GET, on a new connection closed by the server."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port or 80), timeout=timeout) as s:
        s.sendall(f"GET {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\n"
                  "Connection: close\r\n\r\n".encode())
        chunks = []
        while True:
            c = s.recv(1 << 16)
            if not c:
                break
            chunks.append(c)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.\d (\d+)", head)
    return (int(m.group(1)) if m else 0), body


def samples(wall_us, ns, ticks, **extra):
    """Raw per-call samples (merged over rounds by `report`) and their summary."""
    return {**extra, "n": len(wall_us), "wall_us": wall_us, "ns": ns, "ticks": ticks,
            "wall_ms": summary(wall_us, 1000.0), "cpu": cpu_summary(ns, ticks)}


def timed_scrapes(lbd, url, count, spacing):
    wall, ns, ticks, size = [], [], [], 0
    for _ in range(count):
        if spacing:
            time.sleep(spacing)
        c0 = lbd.cpu()
        t0 = time.perf_counter_ns()
        status, body = scrape(url)
        us = (time.perf_counter_ns() - t0) / 1000.0
        c1 = lbd.cpu()
        if status != 200:
            sys.exit(f"{lbd.name}: GET {url}: HTTP {status}")
        wall.append(us)
        ns.append(c1[0] - c0[0])
        ticks.append(c1[1] - c0[1])
        size = len(body)
    return samples(wall, ns, ticks, spacing_s=spacing, body_bytes=size)


def timed_rpc(lbd, method, count):
    wall, ns, ticks = [], [], []
    for _ in range(count):
        _, us, n, t = lbd.call(method)
        wall.append(us)
        ns.append(n)
        ticks.append(t)
    return samples(wall, ns, ticks)


def cmd_scrapes(a):
    lbd = Lbd(a.lbd)
    out = {"name": lbd.name, "expect": a.expect}
    # At rest: what the sweeper alone costs with these flows.
    c0, t0 = lbd.cpu(), time.perf_counter()
    time.sleep(a.idle)
    c1, secs = lbd.cpu(), time.perf_counter() - t0
    out["idle"] = {"seconds": secs, "ns": c1[0] - c0[0], "ticks": c1[1] - c0[1]}
    # The scrape must see every flow: it counts them with a conntrack scan.
    status, body = scrape(a.url)
    m = re.search(rb'^lbd_connections_active\{[^}]*\bproxy="%s"[^}]*\} (\d+)\s*$'
                  % re.escape(a.proxy.encode()), body, re.M)
    seen = int(m.group(1)) if m else -1
    if status != 200 or seen != a.expect:
        sys.exit(f"{lbd.name}: /metrics says {seen} open connections for {a.proxy} "
                 f"(HTTP {status}), want {a.expect}")
    out["metrics_connections_active"] = seen
    out["scrape_b2b"] = timed_scrapes(lbd, a.url, a.count, 0)
    out["scrape_spaced"] = timed_scrapes(lbd, a.url, a.spaced, a.spacing)
    out["stats"] = timed_rpc(lbd, "stats", a.rpc_count)
    out["status"] = timed_rpc(lbd, "status", a.rpc_count)
    out["mem"] = lbd.mem()
    print(json.dumps(out))


# ------------------------------------------------------------------------------ report

def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fnum(x):
    """A time in ms, with as many digits as it deserves."""
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def ratio(x, ref):
    if ref is None or x is None or ref <= 0:
        return "-"
    return f"{x / ref:.2f}"


def merge_rounds(rs):
    """One build's phase-b result: the samples of all its rounds together."""
    if not rs:
        return None
    out = {"idle": {}, "mem": {}}
    for key in ("scrape_b2b", "scrape_spaced", "stats", "status"):
        wall = [x for r in rs for x in r[key]["wall_us"]]
        ns = [x for r in rs for x in r[key]["ns"]]
        ticks = [x for r in rs for x in r[key]["ticks"]]
        out[key] = samples(wall, ns, ticks, spacing_s=rs[0][key].get("spacing_s"))
    out["b2b_round_p50"] = [pct(r["scrape_b2b"]["wall_us"], 0.5) / 1000.0 for r in rs]
    secs = sum(r["idle"]["seconds"] for r in rs)
    out["idle"] = {"seconds": secs,
                   "ms_per_s": sum(r["idle"]["ns"] for r in rs) / 1e6 / secs,
                   "stat_ms_per_s": sum(r["idle"]["ticks"] for r in rs) * TICK_MS / secs}
    out["mem"] = {"VmRSS": rs[-1]["mem"]["VmRSS"], "VmHWM": max(r["mem"]["VmHWM"] for r in rs)}
    return out


def cmd_report(a):
    d = a.dir
    m = load(f"{d}/meta.json") or {}
    builds = m.get("builds", [])
    names = [b["name"] for b in builds]
    rows = []  # (label, [value per build], ratio text) or a string: a heading

    def row(label, vals, rat=""):
        rows.append((label, vals, rat))

    def lat_row(label, per, key="wall_ms"):
        """p50 / p99 / max per build, ratio of p50 and p99 to the first build."""
        vals, rats = [], []
        for r in per:
            s = r.get(key) if r else None
            vals.append(f"{fnum(s['p50'])} / {fnum(s['p99'])} / {fnum(s['max'])}"
                        if s and s.get("n") else "-")
        for r in per[1:]:
            s, s0 = (r or {}).get(key), (per[0] or {}).get(key)
            rats.append(f"{ratio(s and s['p50'], s0 and s0['p50'])} / "
                        f"{ratio(s and s['p99'], s0 and s0['p99'])}")
        row(label + ", wall ms p50 / p99 / max", vals, "  ".join(rats))

    def cpu_row(per):
        vals, rats = [], []
        for r in per:
            c = r.get("cpu") if r else None
            vals.append(f"{fnum(c['stat_mean_ms'])} / {fnum(c['p50'])}" if c else "-")
        for r in per[1:]:
            c, c0 = (r or {}).get("cpu"), (per[0] or {}).get("cpu")
            rats.append(f"{ratio(c and c['stat_mean_ms'], c0 and c0['stat_mean_ms'])} / "
                        f"{ratio(c and c['p50'], c0 and c0['p50'])}")
        row("  lbd cpu per call, ms mean / p50", vals, "  ".join(rats))

    def mem_cell(mm):
        return f"{mm['VmRSS'] / 1024:.0f} MB (peak {mm['VmHWM'] / 1024:.0f})" if mm else "-"

    ch = load(f"{d}/a_changes.json")
    rt = [load(f"{d}/a_routes_{i}.json") for i in range(len(builds))]
    if ch or any(rt):
        nr = next((r["routes"] for r in rt if r), "?")
        rows.append(f"(a) a health flip or a weight change with {nr:,} source routes "
                    f"(one proxy, 3 targets, route groups of 1 or 2 of them; "
                    f"{ch['calls'] if ch else '?'} calls each, the builds interleaved)")
        vals = [f"{r['total_s']:.2f} s in {r['calls']} calls" if r else "-" for r in rt]
        rats = [ratio(r and r["total_s"], rt[0] and rt[0]["total_s"]) for r in rt[1:]]
        row(f"add {nr:,} routes (add-source-routes batches)", vals, "  ".join(rats))
        if ch:
            for kind, label in [("unhealthy", f"set-target-status {ch['flip']} unhealthy"),
                                ("auto", f"set-target-status {ch['flip']} auto"),
                                ("set-weights", "set-weights, default group")]:
                per = [ch["builds"].get(n, {}).get(kind) for n in names]
                lat_row(label, per)
                cpu_row(per)
            row("lbd RSS after the changes", [mem_cell(ch["builds"].get(n, {}).get("mem"))
                                               for n in names])

    rounds = m.get("rounds", 1)
    for n_flows in m.get("flows", []):
        per, fills, counts = [], [], []
        for i in range(len(builds)):
            rs = [load(f"{d}/b_{n_flows}_{i}_r{r}.json") for r in range(rounds)]
            per.append(merge_rounds([x for x in rs if x]))
            fills.append([load(f"{d}/b_{n_flows}_{i}_r{r}_fill.json") for r in range(rounds)])
            counts.append([load(f"{d}/b_{n_flows}_{i}_r{r}_count.json") for r in range(rounds)])
        if not any(per):
            continue
        rows.append(None)
        rows.append(f"(b) /metrics and RPCs with {n_flows:,} tracked flows "
                    f"(ct_fill, {2 * n_flows:,} lb_ct entries; settings.max-connections "
                    f"{m.get('max_connections', '?'):,}; {rounds} rounds, the builds one "
                    "after another in each, order reversed every round)")
        vals = []
        for f, c in zip(fills, counts):
            ok = [x for x in c if x and x.get("total") == n_flows]
            secs = [x["seconds"] for x in f if x]
            vals.append(f"{len(ok)}/{rounds} rounds; fill {max(secs):.2f} s" if secs else "-")
        row("lbctl connection-count = N", vals)
        sp = next((r["scrape_spaced"]["spacing_s"] for r in per if r), "?")
        for key, label in [("scrape_b2b", "GET /metrics back-to-back"),
                           ("scrape_spaced", f"GET /metrics {sp:g} s apart"),
                           ("stats", "stats RPC"), ("status", "status RPC")]:
            sub = [r.get(key) if r else None for r in per]
            n = next((s["n"] for s in sub if s), "?")
            lat_row(f"{label} (x{n})", sub)
            cpu_row(sub)
            if key == "scrape_b2b" and rounds > 1:
                row("  wall ms p50 of each round",
                    [" ".join(fnum(x) for x in r["b2b_round_p50"]) if r else "-" for r in per])
        idle = [r["idle"] if r else None for r in per]
        vals = [f"{x['stat_ms_per_s']:.1f} / {x['ms_per_s']:.1f}" if x else "-" for x in idle]
        rats = [ratio(x and x["stat_ms_per_s"], idle[0] and idle[0]["stat_ms_per_s"])
                for x in idle[1:]]
        idle_s = next((x["seconds"] for x in idle if x), 0)
        row(f"at rest ({idle_s:.0f} s: the sweeper), lbd cpu ms per s, stat / schedstat", vals,
            "  ".join(rats))
        row("lbd RSS at the end (peak)", [mem_cell(r and r.get("mem")) for r in per])

    cols = [f"B{i + 1}" for i in range(len(builds))]
    rhead = "  ".join(f"{c}/B1" for c in cols[1:])
    head = [f"# lbd state benchmark (bench/state_bench.sh), {m.get('date', '?')}",
            f"# kernel {m.get('kernel', '?')}, {m.get('cpus', '?')} CPUs; load average "
            f"before: {m.get('load_before', '?')}, after: {m.get('load_after', '?')}",
            f"# command: {m.get('command', '?')}"]
    for c, b in zip(cols, builds):
        head.append(f"# {c} = {b['dir']}: lbd {b.get('version', '?')}, source "
                    f"{b.get('source', '?')}")
    head.append("# wall: request out to reply in (python client). cpu: lbd's utime+stime "
                "from /proc/PID/stat, mean per call (10 ms ticks summed) / p50 of schedstat ns")
    if len(builds) > 1:
        head.append(f"# ratios: a build's figure over B1's (p50 / p99; cpu: mean / p50); "
                    "below 1 is faster than B1")
    print("\n".join(head))
    lab_w = max([len(x[0]) for x in rows if isinstance(x, tuple)] + [10]) + 2
    col_w = [max([len(c)] + [len(x[1][i]) for x in rows
                             if isinstance(x, tuple) and i < len(x[1])]) + 2
             for i, c in enumerate(cols)]
    for x in rows:
        if x is None:
            print()
        elif isinstance(x, str):
            print(x)
            print((" " * lab_w + "".join(f"{c:<{w}}" for c, w in zip(cols, col_w)) +
                   (rhead if len(cols) > 1 else "")).rstrip())
        else:
            cells = "".join(f"{v:<{w}}" for v, w in zip(x[1], col_w))
            print(f"{x[0]:<{lab_w}}{cells}{x[2]}".rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("routes")
    p.add_argument("lbd")
    p.add_argument("proxy")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--targets", required=True)
    p.add_argument("--batch", type=int, default=5000)
    p = sub.add_parser("changes")
    p.add_argument("lbd", nargs="+")
    p.add_argument("--proxy", required=True)
    p.add_argument("--flip", required=True)
    p.add_argument("--targets", required=True)
    p.add_argument("--calls", type=int, default=20)
    p = sub.add_parser("scrapes")
    p.add_argument("lbd")
    p.add_argument("--url", required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--spaced", type=int, default=10)
    p.add_argument("--spacing", type=float, default=2.0)
    p.add_argument("--rpc-count", type=int, default=10)
    p.add_argument("--idle", type=float, default=20.0)
    p = sub.add_parser("report")
    p.add_argument("dir")
    a = ap.parse_args()
    {"routes": cmd_routes, "changes": cmd_changes, "scrapes": cmd_scrapes,
     "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
