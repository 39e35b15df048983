#!/bin/bash
# Run every libFuzzer target in tests/fuzz for SECONDS each (default 20) on a copy of its
# seed corpus (tests/fuzz/corpus/<target>/), so runs do not grow the repository.
# Builds the fuzz targets first (clang, -Dfuzz=enabled) in $FUZZ_BUILD (default
# build-fuzz/ in this tree, ignored by git). Exits non-zero when a target crashes, printing the reproducer; rerun
# it with `$FUZZ_BUILD/tests/fuzz/fuzz_<target> <reproducer>`.
# Longer local runs: scripts/fuzz.sh 600; one target: FUZZ_TARGETS=tls scripts/fuzz.sh 600.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${FUZZ_BUILD:-$PWD/build-fuzz}
targets=${FUZZ_TARGETS:-tls config addr rpc}

# Longest input per target: a ClientHello up to LB_HELLO_MAX plus record headers and the
# segment-size byte; configurations and RPC streams of a few kilobytes; short address texts.
declare -A max_len=([tls]=17000 [config]=8192 [addr]=128 [rpc]=8192)

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dfuzz=enabled -Dtests=disabled >/dev/null
else
	meson configure "$build" -Dfuzz=enabled >/dev/null
fi
# shellcheck disable=SC2046
ninja -C "$build" $(for t in $targets; do echo "tests/fuzz/fuzz_$t"; done) >/dev/null

work=$(mktemp -d /tmp/lbd-fuzz.XXXXXX)
status=0
for t in $targets; do
	mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
	cp tests/fuzz/corpus/"$t"/* "$work/$t/corpus/"
	echo "fuzz_$t: ${secs}s"
	rc=0
	"$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len="${max_len[$t]}" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" \
		>"$work/$t/log" 2>&1 || rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$t/log" |
		sed 's/^/  /' || true
	if [ "$rc" -ne 0 ]; then
		status=1
		echo "fuzz_$t FAILED (exit $rc); last lines of $work/$t/log:"
		tail -n 40 "$work/$t/log"
		for a in "$work/$t/artifacts"/*; do
			[ -e "$a" ] && echo "reproducer: $a"
		done
	fi
done
if [ "$status" -eq 0 ]; then
	rm -rf "$work"
	echo "fuzz: all targets ran ${secs}s without a crash"
else
	echo "fuzz: crash found; logs and reproducers kept in $work"
fi
exit $status
