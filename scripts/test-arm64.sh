#!/bin/bash
# Cross-build lbd for arm64 with Debian's cross toolchain (build-arm64/, meson cross file
# scripts/cross/arm64.ini) and run the unit suite under qemu-user. The BPF suites need an
# arm64 kernel: scripts/test-kernels.sh arm64 boots one under qemu-system-aarch64.
# Prints meson's per-test lines and "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh arm64
build=build-arm64
[ -f $build/build.ninja ] || meson setup $build --cross-file scripts/cross/arm64.ini >/dev/null
ninja -C $build

# The binaries are arm64 ones and start under emulation.
for bin in daemon/lbd ctl/lbctl; do
	file -L "$build/$bin" | grep -q 'ARM aarch64' || {
		echo "$build/$bin is not an arm64 executable" >&2
		exit 1
	}
done
run() { qemu-aarch64-static /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 \
	--library-path /usr/aarch64-linux-gnu/lib "$@"; }
run $build/daemon/lbd --version
run $build/ctl/lbctl --version

status=0
meson test -C $build --suite unit --print-errorlogs "$@" || status=$?
scripts/test-summary.py $build/meson-logs/testlog.json || true
exit $status
