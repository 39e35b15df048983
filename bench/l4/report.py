#!/usr/bin/python3
"""report.py RESULTS MODE...: the table and the issue 8 targets of bench/l4_e2e.sh.

RESULTS holds one "mode round metric value" line per measurement. Every metric gets a
block with, per mode, the median over the rounds, the min-max spread and the ratio of the
medians to the mode's reference of the same run. The targets are judged on the medians; the
range of the per-round ratios (mode and reference measured in the same round) says how firm
that is.

The reference: `direct` (client -> b1) for every bulk row, every one-backend run (MODE/1:
the datapath's own cost) and direct-split itself; `direct-split` (the HTTP load split
evenly over b1 and b2, straight: the perfect choice) for the HTTP rows of a load balancer
over two backends (the datapath and the quality of its choice together).

A mode named MODE6 (direct6, lbd-auto6/1, ...) ran over IPv6: its rows come after the IPv4
ones and every ratio of theirs is against direct6 or direct-split6, never against IPv4
numbers.
"""
import statistics
import os
import sys

# metric, title, unit format, higher is better
METRICS = [
    ("close_rps", "new connections: HTTP requests/s with Connection: close", "%.0f", True),
    ("close_cpu", "CPU per request, Connection: close (us of all CPUs, /proc/stat)", "%.1f", False),
    ("ka_rps", "keep-alive: HTTP requests/s", "%.0f", True),
    ("ka_p99", "keep-alive: p99 latency (ms)", "%.2f", False),
    ("ka_cpu", "CPU per request, keep-alive (us of all CPUs, /proc/stat)", "%.1f", False),
    ("bulk_up", "bulk, one TCP stream client -> backend (Gbit/s)", "%.2f", True),
    ("bulk_down", "bulk, one TCP stream backend -> client (Gbit/s)", "%.2f", True),
]
BUSY = {"close_cpu": "close_busy", "ka_cpu": "ka_busy"}
ERRORS = {"close_rps": "close_errors", "ka_rps": "ka_errors"}
PHASE = {"close_rps": "close", "close_cpu": "close", "ka_rps": "ka", "ka_p99": "ka",
         "ka_cpu": "ka", "bulk_up": "bulk_up", "bulk_down": "bulk_down"}
OTHER_WARN = 5  # % of the CPUs used by other processes that makes a phase suspect


def load(path):
    data = {}
    for line in open(path):
        f = line.split()
        if len(f) == 4:
            data.setdefault((f[0], f[2]), {})[int(f[1])] = float(f[3])
    return data


def one_backend(mode):
    """Whether MODE ran over b1 alone (MODE/1)."""
    return mode.endswith("/1")


def ipv6(mode):
    """Whether MODE ran over IPv6 (no IPv4 mode name ends in 6)."""
    return mode.removesuffix("/1").endswith("6")


def core(mode):
    """MODE without its family and backend suffixes: lbd-auto6/1 -> lbd-auto."""
    m = mode.removesuffix("/1")
    return m[:-1] if ipv6(mode) else m


def fam(mode, base):
    """BASE of MODE's family: BASE or BASE6."""
    return base + "6" if ipv6(mode) else base


SPLIT_REF = ("close_rps", "close_cpu", "ka_rps", "ka_p99", "ka_cpu")


def reference(mode, metric, modes):
    """The run MODE's METRIC compares with (see the top)."""
    split = fam(mode, "direct-split")
    if (metric in SPLIT_REF and not one_backend(mode) and split in modes
            and core(mode) not in ("direct", "direct-split", "empty-xdp")):
        return split
    return fam(mode, "direct")


def main():
    data = load(sys.argv[1])
    # IPv4 rows first, then the IPv6 ones, each family in the order given.
    modes = [m for m in sys.argv[2:] if not ipv6(m)] + [m for m in sys.argv[2:] if ipv6(m)]
    rounds = max((len(v) for v in data.values()), default=0)

    def values(mode, metric):
        return data.get((mode, metric), {})

    def median(mode, metric):
        v = values(mode, metric)
        return statistics.median(v.values()) if v else None

    def ratio(mode, ref, metric):
        a, b = median(mode, metric), median(ref, metric)
        return a / b if a is not None and b else None

    def round_ratios(mode, ref, metric):
        a, b = values(mode, metric), values(ref, metric)
        return [a[r] / b[r] for r in sorted(a) if r in b and b[r]]

    for metric, title, fmt, _ in METRICS:
        print(title)
        extra = "  busy%" if metric in BUSY else "  errors" if metric in ERRORS else ""
        print("  %-14s %10s %21s %6s %-7s %6s%s" % ("mode", "median", "spread (min-max)", "vs",
                                                   "ref", "other%", extra))
        shown4 = shown6 = False
        for m in modes:
            v = values(m, metric)
            if not v:
                continue
            if ipv6(m) and shown4 and not shown6:
                print("  IPv6, against the IPv6 references:")
            shown4, shown6 = shown4 or not ipv6(m), shown6 or ipv6(m)
            rm = reference(m, metric, modes)
            r = ratio(m, rm, metric)
            spread = (fmt + "-" + fmt) % (min(v.values()), max(v.values()))
            other = values(m, PHASE[metric] + "_foreign").values()
            line = "  %-14s %10s %21s %6s %-7s %6s" % (
                m, fmt % median(m, metric), spread, "%.2f" % r if r is not None else "-",
                "split" if core(rm) == "direct-split" else "direct",
                "%.0f" % max(other) if other else "-")
            if metric in BUSY:
                line += "  %5.0f" % median(m, BUSY[metric])
            elif metric in ERRORS:
                line += "  %6d" % sum(values(m, ERRORS[metric]).values())
            print(line)
        print()
    print("medians over %d rounds; spread = min-max over the rounds; vs = median / the "
          "median of ref,\ndirect (client -> b1) or split (direct-split: the load split "
          "evenly over b1 and b2, straight);\nother%% = the most CPU (share of all CPUs) that processes outside "
          "the benchmark used in one\nof the mode's rounds; busy%% = median share of all CPUs "
          "busy during the phase" % rounds)
    if any(ipv6(m) for m in modes):
        print("IPv6 rows (MODE6): measured over IPv6 in the same rounds; their ratios are "
              "against direct6\nor direct-split6, the IPv6 direct paths, never against IPv4 "
              "numbers")
    other = [(v, k[0], r) for k, d in data.items() if k[1].endswith("_foreign")
             for r, v in d.items()]
    bad = [o for o in other if o[0] >= OTHER_WARN]
    if bad:
        print("WARNING: other processes used %d%% or more of the CPUs in %d of %d phases "
              "(up to %.0f%%, in rounds %s):\nthose rounds are skewed; compare with care or "
              "rerun on a quiet machine" % (OTHER_WARN, len(bad), len(other),
                                            max(bad)[0], ",".join(str(r) for r in
                                                                  sorted({b[2] for b in bad}))))
    else:
        print("other processes used less than %d%% of the CPUs in every phase" % OTHER_WARN)
    print()

    better = {m: hi for m, _, _, hi in METRICS}
    names = {"close_rps": "new connections/s", "close_cpu": "CPU/request (close)",
             "ka_rps": "keep-alive requests/s", "ka_p99": "keep-alive p99",
             "ka_cpu": "CPU/request (keep-alive)", "bulk_up": "bulk client->backend",
             "bulk_down": "bulk backend->client"}

    def judge(mode, ref, metric, bound):
        """One target line: ratio of medians against bound (>= for throughput, <= else)."""
        r = ratio(mode, ref, metric)
        what = "%s (%s / %s)" % (names[metric], mode, ref)
        if r is None:
            return "  %-50s not measured" % what
        hi = better[metric]
        ok = r >= bound if hi else r <= bound
        rr = round_ratios(mode, ref, metric)
        meet = sum(1 for x in rr if (x >= bound if hi else x <= bound))
        return "  %-50s %6.3f  (%s %.2f)  %-8s rounds %.3f-%.3f, %d of %d meet it" % (
            what, r, ">=" if hi else "<=", bound, "met" if ok else "NOT met",
            min(rr), max(rr), meet, len(rr))

    # "" for the IPv4 runs, "6" for the IPv6 ones: the families this run measured.
    families = [sfx for sfx in ("", "6") if any(ipv6(m) == (sfx == "6") for m in modes)]
    slots = os.environ.get("L4_BACKEND") == "slots"
    if slots:
        print("issue 8 targets: not judged with --backend slots (the HTTP rates are the "
              "slot servers' service time,\nnot the datapath's cost)")
    else:
        print("issue 8 targets, the datapath's own cost: ratio of the run's median to its "
              "reference's (same run);\nthe HTTP rows of MODE/1 when measured, else of MODE; "
              "judged for lbd-auto, the other lbd modes for reference")
    for sfx in (families or [""]) if not slots else []:
        for base in ("lbd-auto", "lbd-tc", "lbd-xdp"):
            m = base + sfx
            if m not in modes and m + "/1" not in modes:
                if base == "lbd-auto":
                    print("  %s was not measured" % m)
                continue
            print("%s%s:" % (m, "" if base == "lbd-auto" else " (reference)"))
            for metric, bound in (("close_rps", 0.90), ("ka_rps", 0.95), ("ka_p99", 1.5),
                                  ("bulk_up", 0.95), ("bulk_down", 0.95), ("close_cpu", 1.10),
                                  ("ka_cpu", 1.10)):
                run = m + "/1" if metric in SPLIT_REF and m + "/1" in modes else m
                if run in modes:
                    print(judge(run, reference(run, metric, modes), metric, bound))
        if "lbd-xdp" + sfx in modes and "empty-xdp" + sfx in modes:
            print("lbd-xdp%s / empty-xdp%s (within 5%%):" % (sfx, sfx))
            for metric, _, _, hi in METRICS:
                print(judge("lbd-xdp" + sfx, "empty-xdp" + sfx, metric, 0.95 if hi else 1.05))
    print()
    print("issue 21 targets, the choice over two backends: against direct-split, the load "
          "split evenly\nover both backends straight; least-connections judged, the hash "
          "(lbd-auto: maglev) beside it")
    for sfx in families or [""]:
        split = "direct-split" + sfx
        for m in ("lbd-lc" + sfx, "lbd-auto" + sfx):
            if m in modes and split in modes:
                for metric, bound in (("close_rps", 0.90), ("ka_p99", 1.5)):
                    print(judge(m, split, metric, bound))
            elif m.startswith("lbd-lc"):
                print("  %s was not measured%s" % (m, "" if split in modes else
                                                   " (or no %s)" % split))
    dsr = [m for m in modes if core(m) == "lbd-dsr"]
    for m in dsr:
        others = [(median(o, "bulk_down"), o) for o in modes if o != m and ipv6(o) == ipv6(m)
                  and median(o, "bulk_down") is not None]
        if median(m, "bulk_down") is None or not others:
            continue
        best = max(others)
        print("issue 18: %s bulk backend->client %.2f Gbit/s, the best other row %s %.2f "
              "(%.2fx)" % (m, median(m, "bulk_down"), best[1], best[0],
                           median(m, "bulk_down") / best[0] if best[0] else 0))


if __name__ == "__main__":
    main()
