#!/usr/bin/env python3
"""Check that the tree's folders are its layers (docs/architecture.md).

Usage: check-layers.py SOURCE_ROOT [FOLDER=LIBRARY ...]

Two views of the same rule, "a layer uses only the layers below it, and nothing goes round":

1. Includes, read from the sources of common/, proto/, bpf/, ctl/ and daemon/:
   - a quoted include names a header by its file name alone (no folder, no ".."): the
     build's include paths are what make an upward include a compile error;
   - every header name is unique in the tree, so a name says which layer it belongs to;
   - a file includes only headers of the layers its folder may use (LAYERS below);
   - no circle among modules (a module is x.c with x.h, and x_priv.h), counting every
     include: a header that others need for its types and its functions' file needs
     them back is one module too many (split the interface from the implementation).
2. Calls, read with nm from the static libraries given as FOLDER=LIBRARY (one per daemon
   layer; meson passes them): a file calls only into the layers its folder may use, and
   no circle among files, so callbacks go through function pointers, not back up.

Prints what it checked; exits 1 with one line per violation.
"""
import collections
import os
import re
import subprocess
import sys

# Who may use whom: each folder lists the folders whose headers and functions it may use
# (its own included). The daemon's layers, bottom up: policy, observe and sni (common only),
# dataplane (policy), the daemon's own files (the state and the one apply path), rpc (the
# control interface, on top of the daemon), main.c (wires it all).
DAEMON_LOW = ["daemon/policy", "daemon/observe", "daemon/sni", "daemon/dataplane"]
LAYERS = {
    "common": ["common"],
    "proto": ["common", "proto"],
    "bpf": ["common", "bpf"],
    "ctl": ["common", "proto", "ctl"],
    "daemon/policy": ["common", "daemon/policy"],
    "daemon/observe": ["common", "daemon/observe"],
    "daemon/sni": ["common", "bpf", "daemon/sni"],
    "daemon/dataplane": ["common", "bpf", "daemon/policy", "daemon/dataplane"],
    "daemon": ["common", "bpf"] + DAEMON_LOW + ["daemon"],
    "daemon/rpc": ["common", "proto", "bpf"] + DAEMON_LOW + ["daemon", "daemon/rpc"],
    "daemon/main.c": ["common", "proto", "bpf"] + DAEMON_LOW + ["daemon", "daemon/rpc"],
}
# Headers the build generates, and where they belong.
GENERATED = {"lb.skel.h": "bpf", "lb_splice.skel.h": "bpf"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    """The LAYERS key of a source file (path relative to the root), or None."""
    if rel == "daemon/main.c":
        return rel
    folder = os.path.dirname(rel)
    return folder if folder in LAYERS else None


def sources(root):
    out = []
    for top in ("common", "proto", "bpf", "ctl", "daemon"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def module(rel):
    """x.c and x.h are module x; a private header x_priv.h belongs to module x too."""
    stem = os.path.splitext(rel)[0]
    return stem[: -len("_priv")] if stem.endswith("_priv") else stem


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    nodes = set(edges) | {v for vs in edges.values() for v in vs}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def check_includes(root, errors):
    files = sources(root)
    where = collections.defaultdict(list)
    for rel in files:
        if rel.endswith(".h"):
            where[os.path.basename(rel)].append(os.path.dirname(rel))
    for name, folders in sorted(where.items()):
        if len(folders) > 1:
            errors.append(f"header name {name} is used by {', '.join(folders)}: names must be "
                          "unique, a name says which layer a header belongs to")
    edges = collections.defaultdict(set)
    n_edges = 0
    for rel in files:
        layer = layer_of(rel)
        if layer is None:
            continue
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            if "/" in inc:
                errors.append(f"{rel}: #include \"{inc}\": include a header by its name alone; "
                              "the include paths of the layer's library decide what it may use")
                continue
            folders = where.get(inc) or ([GENERATED[inc]] if inc in GENERATED else [])
            if not folders:
                continue  # a system or library header
            folder = folders[0]
            n_edges += 1
            if folder not in LAYERS[layer]:
                errors.append(f"{rel}: includes {folder}/{inc}, but {layer} may use only "
                              f"{', '.join(LAYERS[layer])} (docs/architecture.md)")
            target = module(os.path.join(folder, inc))
            if target != module(rel):
                edges[module(rel)].add(target)
    for comp in cycles(edges):
        errors.append("include circle: " + " -> ".join(comp) + " (each includes another's header)")
    return len(files), n_edges


NM_LINE = re.compile(r"^(?P<lib>[^:]+):(?P<member>[^:]+):\s*(?:[0-9a-f]+)?\s+(?P<kind>[A-Za-z])\s+(?P<sym>\S+)$")


def check_calls(libs, errors):
    defined, used = {}, collections.defaultdict(set)
    for folder, lib in libs:
        out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = NM_LINE.match(line.strip())
            if not m:
                continue
            member = os.path.basename(m["member"])
            src = os.path.join(folder, member[: -len(".o")] if member.endswith(".o") else member)
            kind, sym = m["kind"], m["sym"]
            if kind == "U":
                used[src].add(sym)
            elif kind.isupper():
                defined[sym] = src
    edges = collections.defaultdict(set)
    n_edges = 0
    for src, syms in sorted(used.items()):
        layer = layer_of(src)
        for sym in sorted(syms):
            dst = defined.get(sym)
            if not dst or dst == src:
                continue
            n_edges += 1
            edges[src].add(dst)
            if layer and layer_of(dst) not in LAYERS[layer]:
                errors.append(f"{src}: calls {sym}() of {dst}, but {layer} may use only "
                              f"{', '.join(LAYERS[layer])}")
    for comp in cycles(edges):
        errors.append("call circle: " + " -> ".join(comp) +
                      " (each calls into another; use a callback or move the shared part down)")
    return len(used), n_edges


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    libs = [tuple(a.split("=", 1)) for a in sys.argv[2:]]
    errors = []
    n_files, n_inc = check_includes(root, errors)
    print(f"includes: {n_files} files, {n_inc} includes of the tree's own headers")
    if libs:
        n_objs, n_calls = check_calls(libs, errors)
        print(f"calls: {n_objs} objects of {len(libs)} layer libraries, {n_calls} calls "
              "between files")
    for e in errors:
        print("LAYER VIOLATION: " + e)
    if errors:
        return 1
    print("ok: no upward include or call, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
