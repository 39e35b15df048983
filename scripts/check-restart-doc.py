#!/usr/bin/env python3
"""docs/configuration.md lists every setting a reload refuses for needing a restart.

Reads the messages of check_fixed_settings() in daemon/apply.c ("settings.NAME: changing it
... needs a restart ...") and the table under "### Settings that need a restart" in
docs/configuration.md; fails naming each setting refused in code but missing from the
table, and each message that does not say "needs a restart".

Usage: check-restart-doc.py SOURCE_ROOT
"""
import re
import sys


def refused_in_code(apply_c):
    body = re.search(r"static int check_fixed_settings\(.*?\n}\n", apply_c, re.S)
    if not body:
        sys.exit("daemon/apply.c: check_fixed_settings() not found")
    # Adjacent string literals make one message: join them per lb_errf() call.
    calls = re.findall(r"lb_errf\((.*?)\);", body.group(0), re.S)
    out = {}
    for call in calls:
        text = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', call))
        m = re.match(r"settings\.([a-z-]+): ", text)
        if m:
            out[m.group(1)] = text
    if not out:
        sys.exit("daemon/apply.c: no settings.NAME message in check_fixed_settings()")
    return out


def listed_in_doc(doc):
    m = re.search(r"^### Settings that need a restart\n(.*?)(?=^#)", doc, re.S | re.M)
    if not m:
        return None
    return set(re.findall(r"^\| `([a-z-]+)` \|", m.group(1), re.M))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    code = refused_in_code(open(f"{root}/daemon/apply.c").read())
    listed = listed_in_doc(open(f"{root}/docs/configuration.md").read())
    bad = []
    if listed is None:
        bad.append('docs/configuration.md has no "### Settings that need a restart" section')
        listed = set()
    for name, msg in sorted(code.items()):
        if name not in listed:
            bad.append(f"settings.{name} is refused by a reload but not listed in "
                       f'docs/configuration.md "Settings that need a restart"')
        if "needs a restart" not in msg:
            bad.append(f'settings.{name}: the refusal does not say "needs a restart": {msg}')
    for b in bad:
        print(b)
    if bad:
        sys.exit(1)
    print(f"{len(code)} settings need a restart, all documented: {', '.join(sorted(code))}")


main()
