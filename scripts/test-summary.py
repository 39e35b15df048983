#!/usr/bin/env python3
"""Print "N passed, N failed, N skipped" from a meson test log (meson-logs/testlog.json)."""
import json
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
