#!/bin/bash
# State benchmark (bench/README.md, "State benchmark: before and after"): what lbd pays for
# the state it holds, for one or more builds side by side in one run.
#  (a) a health flip (set-target-status unhealthy, then auto) and a weight change
#      (set-weights) with 40,000 source routes present: RPC round trips and lbd's CPU;
#  (b) a /metrics scrape, `stats` and `status` with 100,000 and 1,000,000 tracked flows,
#      put into conntrack by bench/ct_fill (no traffic): wall time and lbd's CPU.
# Runs on the namespace testbed of the integration tests; each build gets its own
# interface, pin directory, socket and metrics port. Prints a table (B1 is the first
# build; the other columns carry their ratio to it).
#
# Usage: sudo bench/state_bench.sh [--quick] [--out FILE] [options] BUILD_DIR...
#
#   --out FILE        where the table goes (default: bench/results-state.txt; with --quick
#                     "-", print only)
#   --quick           small numbers, to check the script (under a minute for two builds)
#   --phases LIST     a, b or a,b (default a,b)
#   --routes N        source routes of phase a (default 40000)
#   --calls K         calls of each kind per build in phase a (default 20)
#   --flows LIST      tracked flows of phase b (default 100000,1000000)
#   --rounds R        phase b: rounds per flow count, the calls below split over them (4)
#   --scrapes K       back-to-back scrapes per build and flow count (default 20)
#   --spaced K        spaced scrapes (default 12), --spacing S seconds apart (default 2)
#   --rpc K           stats and status calls (default 12)
#   --idle S          seconds of rest measured in each round, before the calls (default 10)
#
# Each BUILD_DIR needs daemon/lbd and ctl/lbctl (same pinned-map ABI). bench/ct_fill is
# taken from $CT_FILL, else this tree's build/, else the first BUILD_DIR that has it. It
# builds nothing. Needs root and python3. LBT_KEEP_LOGS=1 keeps the logs and JSON files.
# A full run at the default flow counts takes about 15 minutes for two builds and up to
# about 2 GB of memory (the 1,000,000-flow tables); --flows 100000 about 5.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
OUT=
QUICK=0
PHASES=a,b ROUTES=40000 CALLS=20 FLOWS=100000,1000000 ROUNDS=4 SCRAPES=20 SPACED=12 SPACING=2
RPC=12 IDLE=10
ARGS=("$@")
BUILDS=()

usage() { sed -n '12,31p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
	--quick)
		QUICK=1 ROUTES=10000 CALLS=5 FLOWS=20000 ROUNDS=2 SCRAPES=6 SPACED=2 RPC=4 IDLE=2
		shift
		;;
	--phases) PHASES=${2:?}; shift 2 ;;
	--routes) ROUTES=${2:?}; shift 2 ;;
	--calls) CALLS=${2:?}; shift 2 ;;
	--flows) FLOWS=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--scrapes) SCRAPES=${2:?}; shift 2 ;;
	--spaced) SPACED=${2:?}; shift 2 ;;
	--spacing) SPACING=${2:?}; shift 2 ;;
	--rpc) RPC=${2:?}; shift 2 ;;
	--idle) IDLE=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "unknown option $1 (--help)" >&2; exit 2 ;;
	*) BUILDS+=("$(cd "$1" 2>/dev/null && pwd || echo "$1")"); shift ;;
	esac
done
[[ -n $OUT ]] || { ((QUICK)) && OUT=- || OUT=$HERE/results-state.txt; }
((${#BUILDS[@]} >= 1 && ${#BUILDS[@]} <= 8)) || { echo "one to eight BUILD_DIRs (--help)" >&2; exit 2; }
for b in "${BUILDS[@]}"; do
	[[ -x $b/daemon/lbd && -x $b/ctl/lbctl ]] || { echo "$b: no daemon/lbd or ctl/lbctl" >&2; exit 2; }
done
[[ $PHASES =~ ^(a|b|a,b|b,a)$ ]] || { echo "--phases: a, b or a,b" >&2; exit 2; }
for n in $ROUTES $CALLS $ROUNDS $SCRAPES $SPACED $RPC $IDLE ${FLOWS//,/ }; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "counts must be positive integers: $n" >&2; exit 2; }
done
((ROUTES <= 65000)) || { echo "--routes: at most 65000 (LB_MAX_ROUTES groups)" >&2; exit 2; }
CT_FILL=${CT_FILL:-}
if [[ -z $CT_FILL ]]; then
	for c in "$ROOT/build/bench/ct_fill" "${BUILDS[@]/%//bench/ct_fill}"; do
		[[ -x $c ]] && { CT_FILL=$c; break; }
	done
fi
[[ $PHASES != *b* || -x $CT_FILL ]] || { echo "no bench/ct_fill: ninja -C build, or set CT_FILL" >&2; exit 2; }
((EUID == 0)) || { echo "needs root (network namespaces, BPF): sudo $0" >&2; exit 2; }

. "$ROOT/tests/integration/lib.sh"
SB=$HERE/cp/state_bench.py
RES=$LBT_LOGDIR/results # kept with LBT_KEEP_LOGS=1
sb() { "$LBT_PY" "$SB" "$@"; }
# measure NAME CMD...: run a measurement, keep its JSON as $RES/NAME.json, show its start.
measure() {
	local name=$1
	shift
	log "$name: $*"
	"$@" >"$RES/$name.json"
	log "  $(head -c 300 "$RES/$name.json")"
}

PROXY=web
TARGETS=(10.2.1.2:8080 10.2.2.2:8080 10.2.3.2:8080) # the backends of topo_up 3
TLIST=$(IFS=,; echo "${TARGETS[*]}")
MAXFLOWS=0
for n in ${FLOWS//,/ }; do ((n > MAXFLOWS)) && MAXFLOWS=$n; done
# lb_ct holds 2 x max-connections entries, 2 per flow: 10% to spare, so its LRU never
# evicts one of ours; the same size at every flow count, so the scans walk the same table.
MAXCONN=$((MAXFLOWS * 11 / 10 > 1100000 ? MAXFLOWS * 11 / 10 : 1100000))
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

topo_up 3
bpffs_up
mkdir -p "$RES"
# One interface per build (a veth to the client namespace), so several lbds can run at
# once without touching each other's XDP/tc attachments: lbs<i>, 10.3.<i>.1/24.
for ((i = 1; i <= ${#BUILDS[@]}; i++)); do
	ip -n "$NS_LB" link add "lbs$i" type veth peer name "sc$i" netns "$NS_C"
	ip -n "$NS_LB" addr add "10.3.$i.1/24" dev "lbs$i"
	ip -n "$NS_C" addr add "10.3.$i.2/24" dev "sc$i"
	ip -n "$NS_LB" link set "lbs$i" up
	ip -n "$NS_C" link set "sc$i" up
done

# config I FILE [SETTINGS]: build I's proxy on lbs<I>, the three targets 50/30/20.
config() {
	cat >"$2" <<EOF
{"proxies": [{"name": "$PROXY", "listen": {"interfaces": ["lbs$1"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 30},
                     {"ip": "10.2.3.2", "port": 8080, "weight": 20}]}],
 "settings": {${3:-}}}
EOF
}

# start_lbd I INSTANCE CONFIG: build I's lbd as INSTANCE; sets LBD_PID and LBD_SOCK.
start_lbd() {
	local i=$1 inst=$2 log=$LBT_LOGDIR/lbd-$2.log
	LBD_SOCK=$LBT_RUN/$inst.sock
	spawn "$NS_LB" "lbd-$inst" "${BUILDS[i - 1]}/daemon/lbd" --bpffs "$BPFFS" --instance "$inst" \
		--socket "$LBD_SOCK" --teardown-on-exit -c "$3"
	LBD_PID=$LBT_LAST_PID
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $LBD_PID" 60 || true
	grep -q 'ready:' "$log" || fail "lbd $inst did not start: $(tail -n 5 "$log")"
}

# stop_lbd I INSTANCE: SIGTERM (lbd removes its datapath), then make sure the pins are gone.
stop_lbd() {
	stop_proc "lbd-$2"
	if [[ -e $BPFFS/lbd/$2 ]]; then
		log "lbd $2 left its pins; tearing down"
		in_ns "$NS_LB" "${BUILDS[$1 - 1]}/daemon/lbd" --bpffs "$BPFFS" --instance "$2" \
			--teardown >/dev/null 2>&1 || true
	fi
}

# Phase a: every build's lbd runs at once (idle ones cost nothing: empty conntrack), each
# gets the same routes, then the changes alternate between them call by call.
if [[ $PHASES == *a* ]]; then
	SPECS=()
	for ((i = 1; i <= ${#BUILDS[@]}; i++)); do
		config "$i" "$LBT_RUN/a$i.json"
		start_lbd "$i" "a$i" "$LBT_RUN/a$i.json"
		SPECS+=("b$i,$LBD_SOCK,$LBD_PID")
	done
	for ((i = 1; i <= ${#BUILDS[@]}; i++)); do
		measure "a_routes_$((i - 1))" sb routes "${SPECS[i - 1]}" "$PROXY" --count "$ROUTES" \
			--targets "$TLIST" --batch 5000
	done
	measure a_changes sb changes "${SPECS[@]}" --proxy "$PROXY" --flip "${TARGETS[0]}" \
		--targets "$TLIST" --calls "$CALLS"
	for ((i = 1; i <= ${#BUILDS[@]}; i++)); do stop_lbd "$i" "a$i"; done
fi

# Phase b: one lbd at a time (an idle lbd with a million flows sweeps them every 10 s,
# which would load the machine under the other's measurement). Instead, rounds: in each,
# every build in turn starts, gets its flows and a share of the calls, and stops; the
# build order is reversed every round, so a change in the machine's load hits all builds.
if [[ $PHASES == *b* ]]; then
	SETTINGS="\"max-connections\": $MAXCONN, \"connection-timeout-sec\": 604800,
  \"udp-timeout-sec\": 604800, \"metrics-listen\": \"127.0.0.1:METRICS_PORT\""
	per_round() { echo $((($1 + ROUNDS - 1) / ROUNDS)); }
	j=0
	for n in ${FLOWS//,/ }; do
		for ((r = 0; r < ROUNDS; r++)); do
			order=()
			for ((i = 1; i <= ${#BUILDS[@]}; i++)); do order+=("$i"); done
			if (((r + j) % 2)); then
				for ((i = ${#BUILDS[@]}; i >= 1; i--)); do order[${#BUILDS[@]} - i]=$i; done
			fi
			for i in "${order[@]}"; do
				inst=s$i-$n-r$r
				name=b_${n}_$((i - 1))_r$r
				port=$((9100 + i))
				config "$i" "$LBT_RUN/$inst.json" "${SETTINGS/METRICS_PORT/$port}"
				start_lbd "$i" "$inst" "$LBT_RUN/$inst.json"
				ids=$("$CT_FILL" ids "$BPFFS/lbd/$inst" "$PROXY" "${TARGETS[@]}")
				fill=(--proxy-id "$(json_get "$ids" proxy_id)")
				for t in "${TARGETS[@]}"; do
					fill+=(--target "$("$LBT_PY" -c 'import json, sys
print(json.loads(sys.argv[1])["targets"][sys.argv[2]])' "$ids" "$t")@$t")
				done
				measure "${name}_fill" "$CT_FILL" fill "$BPFFS/lbd/$inst/lb_ct" --flows "$n" \
					--listen "10.3.$i.1:80" "${fill[@]}"
				measure "${name}_count" "${BUILDS[i - 1]}/ctl/lbctl" -s "$LBD_SOCK" --json \
					connection-count
				got=$(json_get "$(cat "$RES/${name}_count.json")" total)
				[[ $got == "$n" ]] || fail "build $i: lbctl connection-count says $got flows, want $n"
				measure "$name" in_ns "$NS_LB" "$LBT_PY" "$SB" scrapes "b$i,$LBD_SOCK,$LBD_PID" \
					--url "http://127.0.0.1:$port/metrics" --proxy "$PROXY" --expect "$n" \
					--count "$(per_round "$SCRAPES")" --spaced "$(per_round "$SPACED")" \
					--spacing "$SPACING" --rpc-count "$(per_round "$RPC")" --idle "$IDLE"
				stop_lbd "$i" "$inst"
			done
		done
		j=$((j + 1))
	done
fi

# The table.
{
	printf '['
	sep=
	for ((i = 1; i <= ${#BUILDS[@]}; i++)); do
		b=${BUILDS[i - 1]}
		src=$("$LBT_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
			"$b/meson-info/meson-info.json" 2>/dev/null) || src=
		desc="?"
		if [[ -n $src ]] && rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
			desc=$rev
			[[ -z $(git -C "$src" status --porcelain -uno 2>/dev/null) ]] || desc="$rev+changes"
			desc="$src at $desc"
		fi
		printf '%s{"name": "b%d", "dir": "%s", "version": "%s", "source": "%s"}' "$sep" "$i" "$b" \
			"$("$b/daemon/lbd" --version 2>/dev/null | head -n 1 | sed 's/^lbd //')" "$desc"
		sep=", "
	done
	printf ']\n'
} >"$RES/builds.json"
"$LBT_PY" - "$RES/meta.json" "$RES/builds.json" <<EOF
import json, os, sys, time
json.dump({"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "kernel": "$(uname -r) $(uname -m)", "cpus": os.cpu_count(),
           "load_before": "$LOAD_BEFORE", "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "builds": json.load(open(sys.argv[2])), "max_connections": $MAXCONN,
           "flows": [int(x) for x in "$FLOWS".split(",")] if "b" in "$PHASES" else [],
           "rounds": $ROUNDS,
           "command": "bench/state_bench.sh${ARGS[*]:+ ${ARGS[*]}}"}, open(sys.argv[1], "w"))
EOF
if [[ $OUT == - ]]; then
	sb report "$RES"
else
	sb report "$RES" >"$OUT.tmp"
	chmod 644 "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	cat "$OUT"
fi
