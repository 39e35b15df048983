#!/bin/bash
# Datapath micro-benchmark (bench/README.md, "Datapath micro-benchmark"): builds
# bench/datapath_bench when needed, runs it as root and writes its table, headed by the
# command that made it, to bench/results-datapath.txt (the reference kept in the tree).
#
# Usage: bench/datapath.sh [--out FILE] [--no-bpf-stats] [datapath_bench options]
#
#   --out FILE   where the table goes (default bench/results-datapath.txt, "-": stdout only)
#   --no-bpf-stats  turn kernel.bpf_stats_enabled off for the run and back to what it was
#                after (machine-wide: every BPF program's run_time_ns stops growing
#                meanwhile). With it on, every run pays two clock reads (~45 ns here).
#   --rounds N, --repeat N, --flows N, --chain N, --cpu N, --budget S, --json
#                passed to datapath_bench (build/bench/datapath_bench --help)
#
# Environment: BUILD (build directory, default build/; set up with meson when missing).
# Builds as the calling user and runs only the benchmark itself with sudo. The file is
# replaced only when the run succeeds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${BUILD:-$ROOT/build}
OUT=$HERE/results-datapath.txt
ARGS=()
NO_STATS=

usage() { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
	--no-bpf-stats) NO_STATS=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) ARGS+=("$1"); shift ;;
	esac
done

[[ -d $BUILD ]] || meson setup "$BUILD" "$ROOT"
ninja -C "$BUILD" bench/datapath_bench >&2
BIN=$BUILD/bench/datapath_bench

RUN=("$BIN" "${ARGS[@]}")
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "needs root (BPF_PROG_TEST_RUN): run as root" >&2; exit 2; }
	RUN=(sudo "${RUN[@]}")
fi

SUDO=()
((EUID == 0)) || SUDO=(sudo)
STATS_WAS=$(cat /proc/sys/kernel/bpf_stats_enabled)
restore_stats() { [[ -z $NO_STATS ]] || "${SUDO[@]}" sysctl -qw kernel.bpf_stats_enabled="$STATS_WAS"; }
[[ -z $NO_STATS ]] || "${SUDO[@]}" sysctl -qw kernel.bpf_stats_enabled=0

if [[ $OUT == - ]]; then
	trap restore_stats EXIT
	"${RUN[@]}"
	exit
fi
TMP=$(mktemp "$OUT.XXXXXX")
trap 'rm -f "$TMP"; restore_stats' EXIT
{
	# JSON stays parseable: the command line heads only the table.
	[[ " ${ARGS[*]} " == *" --json "* ]] ||
		echo "# command: bench/datapath.sh${NO_STATS:+ --no-bpf-stats}${ARGS[*]:+ ${ARGS[*]}}"
	"${RUN[@]}"
} >"$TMP"
chmod 644 "$TMP"
mv "$TMP" "$OUT"
trap restore_stats EXIT
cat "$OUT"
