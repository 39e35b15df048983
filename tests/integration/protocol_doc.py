#!/usr/bin/env python3
"""Run the examples of proto/PROTOCOL.md against a real lbd and check every reply.

    protocol_doc.py config PROTOCOL.md          print the JSON configuration the doc starts from
    protocol_doc.py run PROTOCOL.md SOCKET      send every "→" line, compare with its "←" line

Examples are the lines starting with "→ " (a request, sent as is) and "← " (the expected
reply) inside fenced code blocks. In expected replies the string "<any>" matches any
value; everything else must be equal (objects compared key by key, in any order).
"""
import json
import socket
import sys


def blocks(path):
    """Yield (info, lines) for every fenced code block."""
    inside, info, lines = False, "", []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("```"):
            if inside:
                yield info, lines
                inside, lines = False, []
            else:
                inside, info = True, line[3:].strip()
            continue
        if inside:
            lines.append(line)


def config(path):
    seen_methods = False
    for line in open(path, encoding="utf-8"):
        if line.startswith("## Methods"):
            seen_methods = True
            break
    assert seen_methods, "no '## Methods' section"
    after = False
    for info, lines in blocks(path):
        text = "\n".join(lines)
        if info == "json" and '"proxies"' in text:
            after = True
            print(json.dumps(json.loads(text)))
            return
    sys.exit("no configuration block")


def match(want, got, where):
    if want == "<any>":
        return None
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{where}: want an object, got {json.dumps(got)}"
        if set(want) != set(got):
            return f"{where}: keys {sorted(got)} differ from {sorted(want)}"
        for k in want:
            err = match(want[k], got[k], f"{where}.{k}")
            if err:
                return err
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(want) != len(got):
            return f"{where}: want {json.dumps(want)}, got {json.dumps(got)}"
        for i, (w, g) in enumerate(zip(want, got)):
            err = match(w, g, f"{where}[{i}]")
            if err:
                return err
        return None
    if want != got or type(want) != type(got):
        return f"{where}: want {json.dumps(want)}, got {json.dumps(got)}"
    return None


def run(path, sock_path):
    pairs = []
    for _, lines in blocks(path):
        req = None
        for line in lines:
            if line.startswith("→ "):
                req = line[2:]
            elif line.startswith("← "):
                if req is None:
                    sys.exit(f"reply without request: {line}")
                pairs.append((req, line[2:]))
                req = None
    if not pairs:
        sys.exit("no examples found")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock_path)
    f = s.makefile("rwb")
    failures = 0
    for req, want in pairs:
        f.write(req.encode() + b"\n")
        f.flush()
        line = f.readline()
        if not line:
            sys.exit(f"lbd closed the connection after: {req}")
        got = json.loads(line)
        err = match(json.loads(want), got, "reply")
        if err:
            failures += 1
            print(f"FAIL {req}\n  {err}\n  got: {line.decode().strip()}")
        else:
            print(f"ok {req[:90]}")
    print(f"{len(pairs) - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if sys.argv[1] == "config":
        config(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3])
