#!/usr/bin/python3
"""Check that every metric and label the operations kit uses is one lbd exports.

    check_metric_names.py METRICS.txt alerts.yml grafana-dashboard.json

METRICS.txt is a scrape of a live lbd (Prometheus text format). From each PromQL expression
of the alert rules and of the dashboard (panel targets and template variable queries) it
takes the metric names, the label names of their matchers, the labels of by()/without()/
on()/ignoring() clauses and of "{{ $labels.X }}" / "{{X}}" templates, and the values of
equality matchers; each must appear in the scrape, except:

- labels Prometheus adds to every series (instance, job) and the series `up`.

Prints what it checked; exits 1 on any problem.
"""

import json
import re
import sys

# Series and labels Prometheus itself provides.
SYNTHETIC = {"up": {"job", "instance"}}
TARGET_LABELS = {"instance", "job"}

FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg", "avg_over_time", "bottomk", "ceil", "changes",
    "clamp", "clamp_max", "clamp_min", "count", "count_over_time", "count_values", "delta",
    "deriv", "exp", "floor", "group", "histogram_quantile", "holt_winters", "idelta",
    "increase", "irate", "label_join", "label_replace", "label_values", "last_over_time",
    "ln", "log10", "log2", "max", "max_over_time", "min", "min_over_time", "predict_linear",
    "quantile", "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort",
    "sort_desc", "sqrt", "stddev", "stdvar", "sum", "sum_over_time", "time", "timestamp",
    "topk", "vector", "query_result", "metrics", "label_names",
}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "offset", "bool", "atan2", "inf", "nan"}
IDENT = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def parse_scrape(path):
    """{metric: {label: set(values)}} from a Prometheus text exposition."""
    series = {}
    line_re = re.compile(r"^(" + IDENT + r")(\{(.*)\})?\s+\S+")
    pair_re = re.compile(r'(' + IDENT + r')="((?:[^"\\]|\\.)*)"')
    for line in open(path):
        if not line.strip() or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise SystemExit("cannot parse scrape line: %r" % line)
        labels = series.setdefault(m.group(1), {})
        for k, v in pair_re.findall(m.group(3) or ""):
            labels.setdefault(k, set()).add(v)
    return series


def analyse(expr):
    """(metrics, {metric: [(label, op, value)]}, clause_labels) of one PromQL expression."""
    e = re.sub(r"\[[^\]]*\]", " ", expr)  # range and subquery selectors: [5m], [$__range]
    matchers = {}
    metrics = set()
    clause = set()
    # Selectors with braces: name{...} or a bare {...}.
    sel_re = re.compile(r"(" + IDENT + r")?\s*\{([^}]*)\}")
    pos = 0
    rest = []
    for m in sel_re.finditer(e):
        rest.append(e[pos:m.start()])
        pos = m.end()
        name = m.group(1)
        before = e[:m.start()].rstrip()
        if name in KEYWORDS or name in FUNCTIONS:
            # "by {..." does not occur; a function followed by { is not PromQL.
            raise ValueError("unexpected '{' after %s in %r" % (name, expr))
        if name is None:
            raise ValueError("a selector without a metric name in %r" % expr)
        metrics.add(name)
        for lm in re.finditer(r"(" + IDENT + r")\s*(=~|!~|!=|=)\s*\"((?:[^\"\\]|\\.)*)\"", m.group(2)):
            matchers.setdefault(name, []).append((lm.group(1), lm.group(2), lm.group(3)))
        rest.append(" ")
        del before
    rest.append(e[pos:])
    e = "".join(rest)
    # Grouping clauses: by (a, b), on(a), ...
    for m in re.finditer(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", e):
        clause.update(x.strip() for x in m.group(2).split(",") if x.strip())
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r'"(?:[^"\\]|\\.)*"', " ", e)  # strings (label_replace arguments)
    e = re.sub(r"\$\{?\w+\}?", " ", e)  # Grafana variables
    for tok in re.findall(IDENT + r"|\d+(?:\.\d+)?[a-z]*", e):
        if tok[0].isdigit() or tok in FUNCTIONS or tok in KEYWORDS:
            continue
        metrics.add(tok)
    return metrics, matchers, clause


def dashboard_exprs(path):
    """(where, expr, extra labels) of every query of a Grafana dashboard."""
    d = json.load(open(path))
    out = []

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))

    for p in panels(d.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" not in t:
                raise ValueError("panel %r has a target without expr" % p.get("title"))
            legend = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", t.get("legendFormat", "")))
            out.append(("panel %r" % p.get("title"), t["expr"], legend))
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", q or "")
        if m:
            out.append(("variable %r" % v["name"], m.group(1), {m.group(2)}))
        else:
            out.append(("variable %r" % v["name"], q, set()))
    return out


def rule_exprs(path):
    """(where, expr, labels used in annotations) of every rule; a small YAML reader for the
    subset alerts.yml uses (promtool checks the file itself)."""
    text = open(path).read()
    out = []
    for block in re.split(r"\n\s*- (?=alert:|record:)", text)[1:]:
        name = re.match(r"(?:alert|record):\s*(\S+)", block).group(1)
        m = re.search(r"\n\s*expr:\s*(>-|\|)?\s*\n?(.*?)(?=\n\s*(?:for|labels|annotations|keep_firing_for):)", block, re.S)
        if not m:
            raise ValueError("rule %s: no expr" % name)
        expr = " ".join(x.strip() for x in m.group(2).splitlines())
        labels = set(re.findall(r"\$labels\.(\w+)", block))
        out.append(("rule %s" % name, expr, labels))
    if not out:
        raise ValueError("no rule found in %s" % path)
    return out


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    scrape = parse_scrape(sys.argv[1])
    exprs = rule_exprs(sys.argv[2]) + dashboard_exprs(sys.argv[3])
    problems = []
    used = {}
    for where, expr, extra_labels in exprs:
        try:
            metrics, matchers, clause = analyse(expr)
        except ValueError as e:
            problems.append("%s: %s" % (where, e))
            continue
        if not metrics:
            problems.append("%s: no metric in %r" % (where, expr))
        known = {}
        for m in metrics:
            if m in scrape:
                known[m] = set(scrape[m])
            elif m in SYNTHETIC:
                known[m] = SYNTHETIC[m]
            else:
                problems.append("%s: metric %s is not exported by lbd" % (where, m))
                continue
            used.setdefault(m, set())
        for m, ms in matchers.items():
            for label, op, value in ms:
                if m not in known:
                    continue
                used.setdefault(m, set()).add(label)
                if label in TARGET_LABELS:
                    continue
                if label not in known[m]:
                    problems.append("%s: %s has no label %s" % (where, m, label))
                elif op == "=" and m in scrape and value not in scrape[m][label]:
                    problems.append("%s: %s{%s=%r}: lbd exports no such value (has %s)"
                                    % (where, m, label, value, sorted(scrape[m][label])))
        all_labels = set().union(*known.values()) if known else set()
        for label in clause | extra_labels:
            if label in TARGET_LABELS:
                continue
            if label not in all_labels:
                problems.append("%s: label %s is on none of %s" % (where, label, sorted(known)))
            for m in known:
                if label in known[m]:
                    used[m].add(label)
    for m in sorted(used):
        kind = "Prometheus" if m in SYNTHETIC else "exported"
        print("  %-36s %-28s %s" % (m, ",".join(sorted(used[m])) or "-", kind))
    print("check_metric_names: %d expressions, %d metrics" % (len(exprs), len(used)))
    for p in problems:
        print("PROBLEM: " + p)
    if problems:
        print("check_metric_names: %d problem(s)" % len(problems))
        return 1
    print("check_metric_names: every metric and label used exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
