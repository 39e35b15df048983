#!/bin/bash
# lbd under valgrind memcheck through one full integration scenario
# (tests/valgrind/scenario.sh: real connections, TLS/SNI, health checks, the control plane
# through lbctl, reloads by SIGHUP and lbctl, SIGTERM), and a few lbctl commands under
# valgrind too. Fails on any invalid access, use of uninitialised values, or definitely or
# indirectly lost block; suppressions (each explained) are in tests/valgrind/lbd.supp.
# lbd and lbctl are built normally (no sanitizer) in $VALGRIND_BUILD
# (default build-valgrind/ in the tree, set up afresh when it cannot be regenerated). Needs root; takes about a minute here.
#
# Usage: scripts/test-valgrind.sh        (NO_DEPS=1 skips scripts/install-deps.sh)
# valgrind's logs end up in $VALGRIND_BUILD/valgrind-logs/ (lbd.vg.log, lbctl-N.vg.log).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${VALGRIND_BUILD:-$PWD/build-valgrind}
out=$build/valgrind-logs

if [ -z "${NO_DEPS:-}" ]; then
	scripts/install-deps.sh test
	# Not in install-deps.sh's lists (yet): only this script needs it.
	dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed" || {
		echo "installing: valgrind"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null; }
	}
fi
# A build folder left by another tree (or another meson) cannot always regenerate itself:
# set it up afresh rather than fail on "rebuilding 'build.ninja': subcommand failed".
if [ ! -f "$build/build.ninja" ] || ! ninja -C "$build" build.ninja >/dev/null 2>&1; then
	rm -rf "$build"
	meson setup "$build" >/dev/null
fi
ninja -C "$build" daemon/lbd ctl/lbctl >/dev/null
# The preloaded shim that tells memcheck what BPF_MAP_LOOKUP_BATCH wrote (see its comment).
cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$build/bpf_batch_defined.so" \
	tests/valgrind/bpf_batch_defined.c -lbpf -ldl
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
status=0
# The scenario's own bound: 10 minutes, far above its 2-3 minutes here.
timeout --kill-after=30 600 tests/valgrind/scenario.sh "$build/daemon/lbd" "$build/ctl/lbctl" \
	tests/valgrind/lbd.supp "$build/bpf_batch_defined.so" "$out" || status=$?
echo "valgrind: $( ((status == 0)) && echo passed || echo "FAILED (status $status)") in $((SECONDS - start)) s; logs in $out"
exit $status
