#!/bin/bash
# Packets-per-second benchmark (bench/README.md, "Packets per second"): small UDP frames
# blasted by trafgen (Debian's netsniff-ng) from the client namespace through the LB
# namespace to one backend, on the integration tests' topology (tests/integration/lib.sh,
# topo_up 1):
#
#   client eth0 --veth-- lbc0 [LB: kernel forwarding / nftables / lbd] lbb1 --veth-- eth0 b1
#
# The backend's eth0 runs an XDP sink (bench/sink.bpf.o): datagrams to UDP port 9 are
# dropped there and counted by the veth (ethtool -S: xdp_drops), so the receiver costs next
# to nothing and the rate measured is what the LB forwards (its XDP program also lets the
# veth take XDP_REDIRECTed frames). Frames are 64 and 512 bytes (Ethernet header through
# UDP payload; veths carry no FCS), 16 flows (source ports 1024-1039).
#
# Modes, run in interleaved rounds (round r starts at mode r: each mode meets every
# position), each reported against `direct` of the same run:
#   direct        kernel IP forwarding through the LB namespace, no lbd (to 10.2.1.2)
#   nft-dnat      nftables DNAT of the VIP to the backend (conntrack), kernel forwarding
#   lbd-tc        lbd, TC ingress, then the kernel forwards (XDP_PASS/TC_ACT_OK)
#   lbd-xdp       lbd, native XDP on the veth, then the kernel forwards
#   lbd-fast-tc   lbd, TC ingress, settings.fast-path (bpf_fib_lookup + redirect)
#   lbd-fast-xdp  lbd, native XDP, settings.fast-path (XDP_REDIRECT)
#
# Usage: bench/pps.sh [--seconds S] [--rounds N] [--sizes 64,512] [--modes LIST]
#                     [--out FILE] [--no-micro] [--base BUILD]
#   --seconds S   blast length per measurement (default 5)
#   --rounds N    rounds (default 3)
#   --out FILE    the table goes there too (default bench/results-pps.txt; "-": stdout only)
#   --no-micro    skip the datapath micro-benchmark's ns per packet printed beside it
#   --prog-ns     also the ns per packet inside lbd's programs during the blast (the
#                 kernel's bpf_stats, on for the blast only): the request's hook on lbc0,
#                 lb_tc_egress on lbb1 (what the machine's load does not blur)
#   --base BUILD  a mode ending in @base (lbd-fast-tc@base) runs lbd and lbctl of this
#                 other build folder (an older commit's), in the same rounds as the rest
#
# Needs root and a build (meson setup build && ninja -C build). Installs netsniff-ng,
# nftables and ethtool from Debian when missing.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SECONDS_PER=5
ROUNDS=3
SIZES=(64 512)
ALL_MODES=(direct nft-dnat lbd-tc lbd-xdp lbd-fast-tc lbd-fast-xdp)
MODES=("${ALL_MODES[@]}")
OUT=$HERE/results-pps.txt
MICRO=1
BASE_BUILD=
PROG_NS=
ARGV=("$@")

usage() { sed -n '24,33p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--seconds) SECONDS_PER=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--sizes) IFS=, read -r -a SIZES <<<"${2:?}"; shift 2 ;;
	--modes) IFS=, read -r -a MODES <<<"${2:?}"; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--no-micro) MICRO=; shift ;;
	--prog-ns) PROG_NS=1; shift ;;
	--base) BASE_BUILD=$(realpath "${2:?}"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $SECONDS_PER =~ ^[0-9]+$ ]] && ((SECONDS_PER >= 1 && SECONDS_PER <= 60)) ||
	{ echo "--seconds: 1..60" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 20)) || { echo "--rounds: 1..20" >&2; exit 2; }
for s in "${SIZES[@]}"; do
	[[ $s =~ ^[0-9]+$ ]] && ((s >= 60 && s <= 1514)) ||
		{ echo "--sizes: frame sizes of 60..1514 bytes, not '$s'" >&2; exit 2; }
done
for m in "${MODES[@]}"; do
	[[ " ${ALL_MODES[*]} " == *" ${m%@base} "* && ($m != *@base || ${m%@base} == lbd-*) ]] ||
		{ echo "unknown mode: $m (one of ${ALL_MODES[*]}, lbd-*@base)" >&2; exit 2; }
	[[ $m != *@base || -n $BASE_BUILD ]] || { echo "$m needs --base BUILD" >&2; exit 2; }
done
[[ " ${MODES[*]} " == *" direct "* ]] || MODES=(direct "${MODES[@]}")

. "$HERE/lib.sh"
bench_preflight "${ARGV[@]}"
SINK_OBJ=$ROOT/build/bench/sink.bpf.o
[[ -f $SINK_OBJ ]] || { echo "$SINK_OBJ not found (built by 'ninja -C build')" >&2; exit 2; }
command -v trafgen >/dev/null && command -v nft >/dev/null && command -v ethtool >/dev/null || {
	apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
	bench_apt_install netsniff-ng nftables ethtool
}
bench_require trafgen nft ethtool

. "$ROOT/tests/integration/lib.sh"
INSTANCE=pps
SOCK=$LBT_RUN/lbd.sock
PORT=9
topo_up 1
topo_static_neigh
bpffs_up
B_NS=${NS_BACKENDS[0]}
B_IP=${BACKEND_IPS[0]}
ip -n "$B_NS" link set dev "$B_IF" xdpdrv obj "$SINK_OBJ" sec xdp ||
	fail "cannot attach $SINK_OBJ to $B_IF in $B_NS"
LB_MAC=$(ip -n "$NS_LB" -br link show dev "$LB_IF_C" | awk '{ print $3 }')
C_MAC=$(ip -n "$NS_C" -br link show dev "$C_IF" | awk '{ print $3 }')

# sunk: datagrams the backend's sink dropped so far (every rx queue of its veth).
sunk() {
	in_ns "$B_NS" ethtool -S "$B_IF" | awk '/xdp_drops/ { n += $2 } END { print n + 0 }'
}

# trafgen_conf SIZE DST: one UDP frame of SIZE bytes to DST:9, source port 1024-1039.
trafgen_conf() {
	local payload=$(($1 - 42))
	cat <<EOF
{
  eth(da=$LB_MAC, sa=$C_MAC),
  ipv4(saddr=$CLIENT_IP, daddr=$2, ttl=64, df),
  udp(sp=dinc(1024, 1039), dp=$PORT),
  fill(0x55, $payload)
}
EOF
}

# build_of MODE: the build folder whose lbd runs MODE.
build_of() { if [[ $1 == *@base ]]; then echo "$BASE_BUILD"; else echo "$ROOT/build"; fi; }

lbd_start() { # MODE
	local ingress=tc fast=false cfg=$LBT_RUN/$1.json mode=${1%@base}
	[[ $mode == *xdp ]] && ingress=xdp
	[[ $mode == lbd-fast-* ]] && fast=true
	cat >"$cfg" <<EOF
{"proxies": [{"name": "pps", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP",
                                       "port": $PORT, "protocol": "udp"},
              "default-target": {"ip": "$B_IP", "port": $PORT}}],
 "settings": {"ingress": "$ingress", "xdp-mode": "native", "fast-path": $fast}}
EOF
	spawn "$NS_LB" "lbd-$1" "$(build_of "$1")/daemon/lbd" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--teardown-on-exit -c "$cfg"
	wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd-$1.log' || ! kill -0 $LBT_LAST_PID" 20 || true
	grep -q 'ready:' "$LBT_LOGDIR/lbd-$1.log" ||
		fail "lbd ($1) did not start: $(tail -n 5 "$LBT_LOGDIR/lbd-$1.log")"
}

lbd_stop() { # MODE
	stop_proc "lbd-$1"
	in_ns "$NS_LB" "$(build_of "$1")/daemon/lbd" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 || true
}

# fast_redirects MODE: lbd's fast-path-redirect counter (0 when lbd does not run).
fast_redirects() {
	in_ns "$NS_LB" "$(build_of "$1")/ctl/lbctl" -s "$SOCK" --json stats 2>/dev/null |
		"$LBT_PY" -c 'import json,sys
print(json.load(sys.stdin)["global"]["fast-path-redirect"])' 2>/dev/null || echo 0
}

# prog_stats: "run_time_ns run_cnt" of the request hook on lbc0 (XDP or TC ingress), then
# of the TC egress program on lbb1, as the kernel's bpf_stats count them.
prog_stats() {
	in_ns "$NS_LB" bpftool -j net show | "$LBT_PY" -c '
import json, subprocess, sys
net = json.load(sys.stdin)[0]
def stats(pid):
    if pid is None:
        return "0 0"
    p = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(pid)],
                                  capture_output=True, text=True).stdout or "{}")
    return "%d %d" % (p.get("run_time_ns", 0), p.get("run_cnt", 0))
req = next((x["id"] for x in net.get("xdp", []) if x["devname"] == sys.argv[1]), None)
req = req or next((x["id"] for x in net.get("tc", []) if x["devname"] == sys.argv[1]
                   and x["kind"].endswith("ingress")), None)
eg = next((x["id"] for x in net.get("tc", []) if x["devname"] == sys.argv[2]
           and x["kind"].endswith("egress")), None)
print(stats(req), stats(eg))' "$LB_IF_C" "$LB_IF_B1"
}

# blast MODE SIZE: one measurement: "forwarded/s offered/s fast-path-redirects
# request-hook-ns egress-ns" (the last two with --prog-ns for lbd's modes, else "- -").
blast() {
	local mode=$1 size=$2 dst=$VIP conf=$LBT_RUN/trafgen-$2.cfg before after t0 t1 tx0 tx1 f0
	[[ $mode == direct ]] && dst=$B_IP
	trafgen_conf "$size" "$dst" >"$conf"
	case $mode in
	nft-dnat)
		in_ns "$NS_LB" nft -f - <<EOF
table ip ppsbench {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP udp dport $PORT dnat to $B_IP
	}
}
EOF
		;;
	lbd-*) lbd_start "$mode" ;;
	esac
	# One short burst first: conntrack entries (nftables, lbd) exist before the clock runs.
	in_ns "$NS_C" timeout -s INT 1 trafgen --dev "$C_IF" --conf "$conf" -P 1 -q -n 64 \
		>/dev/null 2>&1 || true
	sleep 0.2
	f0=$(fast_redirects "$mode")
	local ps0="" ps1="" stats_was="" progns="- -"
	if [[ -n $PROG_NS && $mode == lbd-* ]]; then
		stats_was=$(sysctl -n kernel.bpf_stats_enabled)
		sysctl -qw kernel.bpf_stats_enabled=1
		ps0=$(prog_stats)
	fi
	before=$(sunk)
	tx0=$(ip -n "$NS_C" -j -s link show dev "$C_IF" | "$LBT_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])')
	t0=$(lbt_now_us)
	in_ns "$NS_C" timeout -s INT "$SECONDS_PER" trafgen --dev "$C_IF" --conf "$conf" -P 1 -q \
		>/dev/null 2>&1 || true
	t1=$(lbt_now_us)
	sleep 0.3 # what is still in flight arrives
	after=$(sunk)
	tx1=$(ip -n "$NS_C" -j -s link show dev "$C_IF" | "$LBT_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])')
	FAST=$(($(fast_redirects "$mode") - f0))
	if [[ -n $ps0 ]]; then
		ps1=$(prog_stats)
		sysctl -qw kernel.bpf_stats_enabled="$stats_was"
		progns=$(echo "$ps0 $ps1" | awk '{ printf "%.1f %.1f", ($6 > $2 ? ($5 - $1) / ($6 - $2) : 0), ($8 > $4 ? ($7 - $3) / ($8 - $4) : 0) }')
	fi
	case $mode in
	nft-dnat) in_ns "$NS_LB" nft delete table ip ppsbench; in_ns "$NS_LB" conntrack -F >/dev/null 2>&1 || true ;;
	lbd-*) lbd_stop "$mode" ;;
	esac
	echo "$(((after - before) * 1000000 / (t1 - t0))) $(((tx1 - tx0) * 1000000 / (t1 - t0))) $FAST $progns"
}

for b in "$ROOT/build" ${BASE_BUILD:+"$BASE_BUILD"}; do
	[[ -x $b/daemon/lbd && -x $b/ctl/lbctl ]] || { echo "no lbd or lbctl in $b" >&2; exit 2; }
done
declare -A PPS SENTS FASTS RQ EG
DELIVERED=1000 # the lowest forwarded/offered of any measurement, per mille
n=${#MODES[@]}
log "pps: ${SIZES[*]}-byte frames, ${SECONDS_PER} s per measurement, $ROUNDS rounds, modes ${MODES[*]}"
for ((r = 1; r <= ROUNDS; r++)); do
	for ((k = 0; k < n; k++)); do
		m=${MODES[(k + r - 1) % n]}
		for s in "${SIZES[@]}"; do
			read -r v SENT FAST RQNS EGNS < <(blast "$m" "$s")
			RQ[$m,$s]+="$RQNS "
			EG[$m,$s]+="$EGNS "
			PPS[$m,$s]+="$v "
			SENTS[$m,$s]+="$SENT "
			((SENT > 0 && v * 1000 / SENT < DELIVERED)) && DELIVERED=$((v * 1000 / SENT))
			FASTS[$m,$s]+="$FAST "
			log "round $r $m ${s}B: $v pps forwarded (offered $SENT, fast-path redirects $FAST, ns in request hook/egress $RQNS/$EGNS)"
		done
	done
done

# ratio_median "A1 A2 .." "D1 D2 ..": the median over the rounds of Ai / Di (the same
# round's direct path: the machine's load changes between rounds, less within one).
ratio_median() {
	paste -d' ' <(tr ' ' '\n' <<<"$1" | sed '/^$/d') <(tr ' ' '\n' <<<"$2" | sed '/^$/d') |
		awk '$2 > 0 { print $1 / $2 }' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR) printf "%.2f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-" }'
}

# ratio_range: the lowest and highest of those per-round ratios.
ratio_range() {
	paste -d' ' <(tr ' ' '\n' <<<"$1" | sed '/^$/d') <(tr ' ' '\n' <<<"$2" | sed '/^$/d') |
		awk '$2 > 0 { print $1 / $2 }' | sort -g |
		awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.2f-%.2f", lo, hi; else print "-" }'
}

# median_of "V1 V2 ..": the median of numbers ("-" when there are none).
median_of() {
	tr ' ' '\n' <<<"$1" | grep -E '^[0-9.]+$' | sort -g |
		awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-" }'
}

# The table: median of the rounds and their min-max spread; "x direct" is the median of
# the per-round ratios to the same round's direct path, their range beside it.
report() {
	local m s vals med
	echo "# command: bench/pps.sh${ARGV[*]:+ ${ARGV[*]}}"
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r), $(nproc) CPUs; trafgen -P 1 on the client's veth; median of $ROUNDS interleaved rounds of ${SECONDS_PER} s"
	echo "# lbd: $ROOT/build${BASE_BUILD:+, @base: $BASE_BUILD ($(git -C "$BASE_BUILD/.." rev-parse --short HEAD 2>/dev/null))}; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# forwarded / offered (trafgen's sent packets), lowest of any measurement: $(awk -v d="$DELIVERED" 'BEGIN { printf "%.3f", d / 1000 }')"
	echo "# fast/s: the fast-path-redirect counter's growth per second (median of the rounds)"
	[[ -z $PROG_NS ]] || echo "# req ns, egress ns: ns per run inside the request hook on $LB_IF_C and lb_tc_egress on $LB_IF_B1 (bpf_stats; median of the rounds)"
	printf '%-18s %5s %12s %21s %9s %19s %10s%s\n' mode frame "pps(median)" "spread(min-max)" "x direct" "(rounds' x direct)" "fast/s" "${PROG_NS:+    req ns  egress ns}"
	for s in "${SIZES[@]}"; do
		for m in "${MODES[@]}"; do
			read -r -a vals <<<"${PPS[$m,$s]}"
			med=$(printf '%s\n' "${vals[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
			local lo hi fast
			lo=$(printf '%s\n' "${vals[@]}" | sort -n | head -n 1)
			hi=$(printf '%s\n' "${vals[@]}" | sort -n | tail -n 1)
			read -r -a vals <<<"${FASTS[$m,$s]}"
			fast=$(printf '%s\n' "${vals[@]}" | sort -n | awk -v t="$SECONDS_PER" '{ a[NR] = $1 } END { printf "%d", a[int((NR + 1) / 2)] / t }')
			local progns=""
			[[ -z $PROG_NS ]] || progns=$(printf ' %9s %10s' "$(median_of "${RQ[$m,$s]}")" "$(median_of "${EG[$m,$s]}")")
			printf '%-18s %5s %12s %21s %9s %19s %10s%s\n' "$m" "$s" "$med" "$lo-$hi" \
				"$(ratio_median "${PPS[$m,$s]}" "${PPS[direct,$s]}")" \
				"$(ratio_range "${PPS[$m,$s]}" "${PPS[direct,$s]}")" "$fast" "$progns"
		done
	done
	if [[ -n $MICRO ]]; then
		echo "# datapath micro-benchmark (BPF_PROG_TEST_RUN, ns per packet; bench/datapath.sh):"
		ninja -C "$ROOT/build" bench/datapath_bench >/dev/null 2>&1 || true
		"$ROOT/build/bench/datapath_bench" --rounds 3 2>/dev/null | sed 's/^/#   /' ||
			echo "#   (datapath_bench failed)"
	fi
}

if [[ $OUT == - ]]; then
	report
else
	report | tee "$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
fi
