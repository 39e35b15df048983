#!/usr/bin/python3
"""report.py RESULTS MODE...: the table and the issue 8 targets of bench/l4_e2e.sh.

RESULTS holds one "mode round metric value" line per measurement. Every metric gets a
block with, per mode, the median over the rounds, the min-max spread and the ratio of the
medians to `direct` of the same run. The targets are judged on the medians; the range of
the per-round ratios (mode and reference measured in the same round) says how firm that is.

A mode named MODE6 (direct6, lbd-auto6, ...) ran over IPv6: its rows come after the IPv4
ones and every ratio of theirs is against direct6 (empty-xdp6), never against IPv4 numbers.
"""
import statistics
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


def ipv6(mode):
    """Whether MODE ran over IPv6 (no IPv4 mode name ends in 6)."""
    return mode.endswith("6")


def ref(mode, base):
    """The reference of MODE of the same family: BASE (direct, empty-xdp) or BASE6."""
    return base + "6" if ipv6(mode) else base


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
        print("  %-10s %10s %21s %9s %7s%s" % ("mode", "median", "spread (min-max)", "vs direct",
                                            "other%", extra))
        shown4 = shown6 = False
        for m in modes:
            v = values(m, metric)
            if not v:
                continue
            if ipv6(m) and shown4 and not shown6:
                print("  IPv6, vs direct6:")
            shown4, shown6 = shown4 or not ipv6(m), shown6 or ipv6(m)
            r = ratio(m, ref(m, "direct"), metric)
            spread = (fmt + "-" + fmt) % (min(v.values()), max(v.values()))
            other = values(m, PHASE[metric] + "_foreign").values()
            line = "  %-10s %10s %21s %9s %7s" % (m, fmt % median(m, metric), spread,
                                                  "%.2f" % r if r is not None else "-",
                                                  "%.0f" % max(other) if other else "-")
            if metric in BUSY:
                line += "  %5.0f" % median(m, BUSY[metric])
            elif metric in ERRORS:
                line += "  %6d" % sum(values(m, ERRORS[metric]).values())
            print(line)
        print()
    print("medians over %d rounds; spread = min-max over the rounds; vs direct = median / "
          "direct's median;\nother%% = the most CPU (share of all CPUs) that processes outside "
          "the benchmark used in one\nof the mode's rounds; busy%% = median share of all CPUs "
          "busy during the phase" % rounds)
    if any(ipv6(m) for m in modes):
        print("IPv6 rows (MODE6): measured over IPv6 in the same rounds; their vs direct is "
              "against direct6,\nthe IPv6 direct path, never against IPv4 numbers")
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
        if r is None:
            return "  %-26s not measured" % names[metric]
        hi = better[metric]
        ok = r >= bound if hi else r <= bound
        rr = round_ratios(mode, ref, metric)
        meet = sum(1 for x in rr if (x >= bound if hi else x <= bound))
        return "  %-26s %6.3f  (%s %.2f)  %-8s rounds %.3f-%.3f, %d of %d meet it" % (
            names[metric], r, ">=" if hi else "<=", bound, "met" if ok else "NOT met",
            min(rr), max(rr), meet, len(rr))

    # "" for the IPv4 runs, "6" for the IPv6 ones: the families this run measured.
    families = [sfx for sfx in ("", "6") if any(ipv6(m) == (sfx == "6") for m in modes)]
    print("issue 8 targets: ratio of the mode's median to the reference's median (same run);")
    print("judged for lbd-auto, the other lbd modes for reference%s"
          % ("; IPv6 (MODE6) against direct6" if "6" in families else ""))
    for sfx in families or [""]:
        lbd = [m + sfx for m in ("lbd-auto", "lbd-tc", "lbd-xdp") if m + sfx in modes]
        if "lbd-auto" + sfx not in modes:
            print("  lbd-auto%s was not measured (this lbd build has no \"ingress\" setting%s)"
                  % (sfx, " or no IPv6" if sfx else ""))
        for m in lbd:
            print("%s / direct%s%s:" % (m, sfx, "" if m == "lbd-auto" + sfx else " (reference)"))
            for metric, bound in (("close_rps", 0.90), ("ka_rps", 0.95), ("ka_p99", 1.5),
                                  ("bulk_up", 0.95), ("bulk_down", 0.95), ("close_cpu", 1.10),
                                  ("ka_cpu", 1.10)):
                print(judge(m, "direct" + sfx, metric, bound))
        if "lbd-xdp" + sfx in modes and "empty-xdp" + sfx in modes:
            print("lbd-xdp%s / empty-xdp%s (within 5%%):" % (sfx, sfx))
            for metric, _, _, hi in METRICS:
                print(judge("lbd-xdp" + sfx, "empty-xdp" + sfx, metric, 0.95 if hi else 1.05))

if __name__ == "__main__":
    main()
