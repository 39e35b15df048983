#!/bin/bash
# Install dependencies, build, and run every test suite (unit, BPF, integration).
# Prints meson's per-test lines and a closing "N passed, N failed" line; exits non-zero
# when any test failed. Needs root (BPF and network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh
status=0
meson test -C build --print-errorlogs "$@" || status=$?
scripts/test-summary.py build/meson-logs/testlog.json || true
exit $status
