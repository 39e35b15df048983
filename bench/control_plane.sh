#!/bin/bash
# Control-plane figures (bench/README.md, "Control-plane figures"): RPC round trips, adding
# 10,000 source routes one by one and in one batch, how soon set-weights reaches the
# datapath, and lbd's memory and scan times with 100,000 tracked connections. Runs lbd on
# the namespace testbed of the integration tests, prints a table and writes it to
# bench/results-control-plane.txt.
#
# Usage: sudo bench/control_plane.sh [--out FILE] [--quick] [--rtt N] [--routes N]
#            [--single-budget S] [--scale N1,N2,..] [--flips N] [--flows N]
#
#   --out FILE          where the table goes (default bench/results-control-plane.txt; "-": print only)
#   --quick             small numbers, to check the script (about 30 s)
#   --rtt N             status/version calls over one connection (default 2000)
#   --routes N          source routes added one by one, then in one batch (default 10000)
#   --single-budget S   stop adding routes one by one after S seconds (default 1200)
#   --scale LIST        route counts at which one change is timed (default 10000,20000,40000)
#   --flips N           set-weights flips (default 200)
#   --flows N           tracked connections to create (default 100000)
#
# Environment: BUILD (build directory with daemon/lbd and ctl/lbctl, default build/). It
# builds nothing. Needs root, python3, nft. Set LBT_KEEP_LOGS=1 to keep the logs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${BUILD:-$ROOT/build}
OUT=$HERE/results-control-plane.txt
RTT=2000 ROUTES=10000 SINGLE_BUDGET=1200 SCALE=10000,20000,40000 FLIPS=200 FLOWS=100000
SPAWNS=200 SCANS=5
ARGS=("$@")

usage() { sed -n '8,18p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
	--quick) RTT=200 ROUTES=1000 SINGLE_BUDGET=60 SCALE=1000,2000 FLIPS=20 FLOWS=5000 SPAWNS=20; shift ;;
	--rtt) RTT=${2:?}; shift 2 ;;
	--routes) ROUTES=${2:?}; shift 2 ;;
	--single-budget) SINGLE_BUDGET=${2:?}; shift 2 ;;
	--scale) SCALE=${2:?}; shift 2 ;;
	--flips) FLIPS=${2:?}; shift 2 ;;
	--flows) FLOWS=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done

LBD=$BUILD/daemon/lbd
LBCTL=$BUILD/ctl/lbctl
[[ -x $LBD && -x $LBCTL ]] || { echo "no $LBD or $LBCTL: meson setup build && ninja -C build" >&2; exit 2; }
((EUID == 0)) || { echo "needs root (network namespaces, XDP): sudo $0" >&2; exit 2; }
command -v nft >/dev/null || { echo "needs nft (apt-get install nftables)" >&2; exit 2; }

. "$ROOT/tests/integration/lib.sh"
CP=$HERE/cp/cp_bench.py
RES=$LBT_LOGDIR/results # kept with LBT_KEEP_LOGS=1
cpb() { "$LBT_PY" "$CP" "$@"; }
# measure NAME CMD...: run a measurement, keep its JSON as $RES/NAME.json, show it.
measure() {
	local name=$1
	shift
	log "$name: $*"
	"$@" >"$RES/$name.json"
	log "  $(head -c 400 "$RES/$name.json")"
}

topo_up 2
bpffs_up
start_backends 8080
mkdir -p "$RES"
SOCK=$LBT_RUN/lbd.sock
# The SYNs of phase 4 are never confirmed by a client (no ACK follows), so they stay in
# lb_syn, which holds max-connections / 4 flows: size it for FLOWS of them.
MAXCONN=$((FLOWS * 5 > 100000 ? FLOWS * 5 : 100000))
cat >"$LBT_RUN/lb.json" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "${BACKEND_IPS[0]}", "port": 8080, "weight": 50},
                     {"ip": "${BACKEND_IPS[1]}", "port": 8080, "weight": 50}]}],
 "settings": {"max-connections": $MAXCONN}}
EOF
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
spawn "$NS_LB" lbd "$LBD" --bpffs "$BPFFS" --socket "$SOCK" --teardown-on-exit -c "$LBT_RUN/lb.json"
LBD_PID=$LBT_LAST_PID
lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5"
wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd.log' || ! kill -0 $LBD_PID" 20 || true
grep -q 'ready:' "$LBT_LOGDIR/lbd.log" || fail "lbd did not start: $(tail -n 5 "$LBT_LOGDIR/lbd.log")"
sleep 1
rss() { cpb rss "$LBD_PID"; }
declare -A RSS
RSS[idle]=$(rss)

# 1. Round trips: the RPC path alone (version), status, and lbctl as a new process.
measure rtt_version cpb rtt "$SOCK" --method version --count "$RTT"
measure rtt_status cpb rtt "$SOCK" --method status --count "$RTT"
measure spawn_status cpb spawn "$SOCK" "$LBCTL" --count "$SPAWNS" --argv status
measure idle_count_rpc cpb rtt "$SOCK" --method connection-count --count "$SCANS" --warmup 1
measure idle_stats_rpc cpb rtt "$SOCK" --method stats --count "$SCANS" --warmup 1

# 2. Source routes: one by one, then one batch, then batches of 1000; each time from none.
measure routes_single cpb routes "$SOCK" web --count "$ROUTES" --budget "$SINGLE_BUDGET"
RSS[routes10k]=$(rss)
measure reload_single cpb rtt "$SOCK" --method reload --count 1 --warmup 0
measure routes_batch cpb routes "$SOCK" web --count "$ROUTES" --batch "$ROUTES"
measure with_routes_list cpb rtt "$SOCK" --method list-source-routes --count 20 --warmup 1
measure with_routes_get_config cpb rtt "$SOCK" --method get-config --count 20 --warmup 1
measure with_routes_status cpb rtt "$SOCK" --method status --count 200
cpb rtt "$SOCK" --method reload --count 1 --warmup 0 >/dev/null
measure routes_batch1k cpb routes "$SOCK" web --count "$ROUTES" --batch $((ROUTES / 10))
cpb rtt "$SOCK" --method reload --count 1 --warmup 0 >/dev/null
measure scale cpb scale "$SOCK" web --steps "0,$SCALE"
RSS[routes_scale]=$(rss)
cpb rtt "$SOCK" --method reload --count 1 --warmup 0 >/dev/null

# 3. set-weights: the reply's latency, and where the next connections go.
measure flips in_ns "$NS_C" "$LBT_PY" "$CP" flips "$SOCK" web "$VIP" 80 \
	"${BACKEND_IPS[0]}:8080" "${BACKEND_IPS[1]}:8080" --flips "$FLIPS" --tally 200
cpb rtt "$SOCK" --method reload --count 1 --warmup 0 >/dev/null

# 4. Tracked connections: SYNs from the client; the backends answer, the client drops the
# SYN-ACKs (no RST), so each flow stays open in conntrack until the idle timeout.
in_ns "$NS_C" nft -f - <<'EOF'
table ip cpbench {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp sport 80 tcp flags & (syn | ack) == syn | ack drop
	}
}
EOF
RSS[before_flows]=$(rss)
SOURCES=$(IFS=,; echo "${CLIENT_IPS[*]}")
measure syn timeout 600 ip netns exec "$NS_C" "$LBT_PY" "$CP" syn "$SOCK" "$VIP" 80 \
	--sources "$SOURCES" --flows "$FLOWS" --proxy web
sleep 11 # past a sweep, which also reads the whole table
RSS[flows]=$(rss)
measure flows_count_rpc cpb rtt "$SOCK" --method connection-count --count "$SCANS" --warmup 1
measure flows_stats_rpc cpb rtt "$SOCK" --method stats --count "$SCANS" --warmup 1
measure flows_status_rpc cpb rtt "$SOCK" --method status --count "$SCANS" --warmup 1
measure flows_count_lbctl cpb spawn "$SOCK" "$LBCTL" --count "$SCANS" --argv connection-count
measure flows_stats_lbctl cpb spawn "$SOCK" "$LBCTL" --count "$SCANS" --argv stats
RSS[flows_after_scans]=$(rss)

# The table.
{
	printf '{'
	sep=
	for k in "${!RSS[@]}"; do
		printf '%s"%s": %s' "$sep" "$k" "${RSS[$k]}"
		sep=", "
	done
	printf '}\n'
} >"$RES/rss.json"
"$LBT_PY" - "$RES/meta.json" <<EOF
import json, os, sys, time
json.dump({"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "kernel": "$(uname -r) $(uname -m)", "cpus": os.cpu_count(),
           "load_before": "$LOAD_BEFORE", "load_after": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "lbd": "$("$LBD" --version 2>/dev/null | head -n 1)", "max_connections": $MAXCONN,
           "sources": ${#CLIENT_IPS[@]},
           "command": "bench/control_plane.sh${ARGS[*]:+ ${ARGS[*]}}"}, open(sys.argv[1], "w"))
EOF
if [[ $OUT == - ]]; then
	cpb report "$RES"
else
	cpb report "$RES" >"$OUT.tmp"
	chmod 644 "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	cat "$OUT"
fi
