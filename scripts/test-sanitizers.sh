#!/bin/bash
# The unit, BPF and integration suites with lbd, lbctl and the tests built by clang under
# AddressSanitizer + UndefinedBehaviorSanitizer (leak detection on), in build-asan/.
# Every suite runs but the -xdp twins of integration tests (suite xdp: the same daemon
# code as their TC runs), integration-rpc-abuse included (it keeps its RSS bound: it
# shrinks ASan's quarantine for lbd, see test_rpc_abuse.sh). Any sanitizer report fails the run:
# reports go to build-asan/sanitizer-logs/, one file per process that had something to say,
# and are printed at the end. Prints meson's per-test lines and a closing
# "N passed, N failed, N skipped, N sanitizer reports" line; exits non-zero when a test
# failed or a report was written. Needs root (BPF and network namespaces).
#
# clang, not gcc: gcc 12's UBSan, linked with ASan, ignores log_path and prints on stderr
# only, where an lbd report at exit would go unseen; clang's writes both to log_path.
#
# Usage: scripts/test-sanitizers.sh [MESON-TEST-ARGS...]   (default: --no-suite xdp)
# Environment: SAN_TIMEOUT_MULTIPLIER (default 3): meson's per-test timeouts are multiplied
#              by it (instrumented code runs about 2x slower; it bounds the run's time).
#              NO_DEPS=1 skips scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build="build-asan"
logs=$PWD/$build/sanitizer-logs
mult=${SAN_TIMEOUT_MULTIPLIER:-3}

[ -n "${NO_DEPS:-}" ] || scripts/install-deps.sh test
# An older build-asan/ configured with gcc is set up again with clang.
if [ -f "$build/build.ninja" ] && ! grep -A1 '^rule c_COMPILER$' "$build/build.ninja" | grep -q 'command = clang '; then
	echo "build-asan/ was not configured with clang: setting it up again"
	rm -rf "$build"
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null
rm -rf "$logs"
mkdir -p "$logs"
# halt_on_error: a UBSan report also fails the process that made it.
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
export LBD_SANITIZED=1
symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
[ -z "$symbolizer" ] || export ASAN_SYMBOLIZER_PATH=$symbolizer UBSAN_SYMBOLIZER_PATH=$symbolizer

start=$SECONDS
status=0
# The -xdp variants (suite xdp) run the daemon's code exactly as their TC twins do: they
# are left out here, which keeps CI within its time. Arguments replace that choice.
[ $# -gt 0 ] || set -- --no-suite xdp
meson test -C "$build" --print-errorlogs --timeout-multiplier "$mult" "$@" || status=$?
reports=0
if compgen -G "$logs/*" >/dev/null; then
	reports=$(find "$logs" -type f | wc -l)
	echo "sanitizer reports ($logs):" >&2
	for f in "$logs"/*; do
		echo "=== $f" >&2
		head -n 60 "$f" >&2
	done
	status=1
fi
echo "sanitizers: $(scripts/test-summary.py "$build/meson-logs/testlog.json" || echo "no test log")," \
	"$reports sanitizer reports ($((SECONDS - start)) s)"
exit $status
