#!/bin/bash
# Datapath micro-benchmark (bench/README.md, "Datapath micro-benchmark"): builds
# bench/datapath_bench when needed, runs it as root and writes its table, headed by the
# command that made it, to bench/results-datapath.txt (the reference kept in the tree).
#
# Usage: bench/datapath.sh [--out FILE] [datapath_bench options]
#
#   --out FILE   where the table goes (default bench/results-datapath.txt, "-": stdout only)
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

usage() { sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
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

if [[ $OUT == - ]]; then
	exec "${RUN[@]}"
fi
TMP=$(mktemp "$OUT.XXXXXX")
trap 'rm -f "$TMP"' EXIT
{
	# JSON stays parseable: the command line heads only the table.
	[[ " ${ARGS[*]} " == *" --json "* ]] || echo "# command: bench/datapath.sh${ARGS[*]:+ ${ARGS[*]}}"
	"${RUN[@]}"
} >"$TMP"
chmod 644 "$TMP"
mv "$TMP" "$OUT"
trap - EXIT
cat "$OUT"
