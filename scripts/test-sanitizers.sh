#!/bin/bash
# The unit, BPF and integration suites with lbd, lbctl and the tests built under
# AddressSanitizer + UndefinedBehaviorSanitizer (leak detection on), in build-asan/.
# Any sanitizer report fails the run: reports go to build-asan/sanitizer-logs/, one file
# per process that had something to say.
#
# Usage: scripts/test-sanitizers.sh [MESON-TEST-ARGS...]   (default: every suite except
#        integration-rpc-abuse, whose RSS bound does not hold under ASan's shadow memory)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-asan
logs=$PWD/$build/sanitizer-logs

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" >/dev/null
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="detect_leaks=1:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan"
if [ $# -eq 0 ]; then
	mapfile -t tests < <(meson test -C "$build" --list 2>/dev/null | sed 's/^lbd:[a-z]* \/ //' |
		grep -vx 'integration-rpc-abuse')
	set -- "${tests[@]}"
fi
status=0
meson test -C "$build" --print-errorlogs "$@" || status=1
if compgen -G "$logs/*" >/dev/null; then
	echo "sanitizer reports:" >&2
	head -n 40 "$logs"/* >&2
	status=1
fi
exit $status
