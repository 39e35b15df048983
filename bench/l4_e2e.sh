#!/bin/bash
# End-to-end L4 benchmark: lbd's datapaths (native XDP, TC ingress, auto) against nftables
# DNAT, HAProxy (TCP mode), an empty XDP program and the direct client->backend path, on
# the integration-test namespace topology (client, LB, 2 backends routed through the LB),
# with nginx HTTP backends and an iperf3 server, over IPv4 and IPv6 in the same run. See
# bench/README.md.
#
# Usage: sudo bench/l4_e2e.sh [--rounds N] [--seconds S] [--conc C] [--threads T]
#                             [--bulk-seconds S] [--modes LIST] [--family F]
#                             [--quiet-wait S] [--retries N] [--offload KIND]
#                             [--backend KIND] [--out FILE]
#
#   --rounds N        interleaved rounds, every mode once per round, order rotated (default 3)
#   --seconds S       duration of each wrk phase (default 10)
#   --conc C          wrk connections, both HTTP phases (default 32)
#   --threads T       wrk threads (default 2)
#   --bulk-seconds S  duration of each iperf3 phase, one stream (default 10)
#   --modes LIST      comma-separated subset of the modes (default all; `direct` is always
#                     added: the ratios need it, and `direct-split` with any two-backend
#                     load balancer): direct, direct-split, lbd-xdp, lbd-tc, lbd-auto,
#                     lbd-fullnat, lbd-dsr, lbd-lc, nft-dnat, haproxy, empty-xdp, and
#                     MODE/1 of a load balancer: the same over one backend (b1). direct:
#                     client -> b1; direct-split: the HTTP load split evenly over b1 and b2,
#                     straight (the perfect choice), the reference of the two-backend HTTP
#                     rows, while the /1 rows (the datapath's own cost) and every bulk row
#                     compare with direct. lbd-fullnat: lbd-auto with "forwarding":
#                     "full-nat"; lbd-dsr: with "forwarding": "dsr", the backends holding the
#                     VIP on lo and answering the client over a link of their own, not
#                     through the LB; lbd-lc: with "selection": "least-connections"
#   --family F        4, 6 or both (default both): every mode is measured over each family;
#                     the IPv6 runs are named MODE6 (direct6, lbd-auto6, ...), client
#                     fd00:1::2 -> VIP fd00:1::1 -> backends fd00:2:<i>::2, and compared
#                     with direct6 of the same run
#   --quiet-wait S    before each mode, wait up to S s while other processes use more than
#                     10% of the CPUs (default 300; 0: do not wait)
#   --retries N       measure a mode again (up to N times) when other processes used 5% or
#                     more of the CPUs during one of its phases; the least disturbed try
#                     is kept (default 2)
#   --offload KIND    default: veths keep the kernel's offload defaults (TX checksum and
#                     TSO on, GRO off), as a performance run should; harness: lib.sh's
#                     correctness settings (TX checksum off, GRO on at client/backends)
#   --backend KIND    nginx (default): two nginx, whose capacity is the CPUs they share
#                     with everything else; slots: two bench/l4/slot_server.py, each
#                     serving SLOTS requests at once (default --conc / 2) for SERVICE_MS
#                     (default 40) of waiting each and queueing the rest: capacity of their
#                     own, so the two-backend rows show the choice alone (a connection put
#                     on the fuller one waits). Not with lbd-dsr; the issue 8 section is
#                     then left out (the rates are the service time's, not the datapath's)
#   --out FILE        where the report goes (default bench/results-l4.txt; - = print only)
#
# Environment: HAPROXY_THREADS (default 1), NGINX_WORKERS (default 2 per backend).
#
# Builds nothing: expects build/daemon/lbd (and build/bench/empty.bpf.o for empty-xdp)
# from `meson setup build && ninja -C build`. Installs wrk, iperf3, haproxy, nftables,
# conntrack, curl and nginx-light (or nginx) from Debian when missing. All traffic stays
# inside the namespaces created here; lib.sh removes everything on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
ARGS="$*"
ROUNDS=3
SECS=10
CONC=32
THREADS=2
BULK_SECS=10
QUIET_WAIT=300
RETRIES=2
OFFLOAD=default
BACKEND=nginx
OUT=$HERE/results-l4.txt
HAPROXY_THREADS=${HAPROXY_THREADS:-1}
NGINX_WORKERS=${NGINX_WORKERS:-2}
BASE_MODES=(direct direct-split lbd-xdp lbd-tc lbd-auto lbd-fullnat lbd-dsr lbd-lc nft-dnat haproxy empty-xdp)
ALL_MODES=(direct direct-split lbd-xdp lbd-xdp/1 lbd-tc lbd-tc/1 lbd-auto lbd-auto/1 lbd-fullnat lbd-dsr
	lbd-lc nft-dnat nft-dnat/1 haproxy haproxy/1 empty-xdp)
MODES=("${ALL_MODES[@]}")
FAMILY=both

usage() { sed -n '8,48p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--conc) CONC=${2:?}; shift 2 ;;
	--threads) THREADS=${2:?}; shift 2 ;;
	--bulk-seconds) BULK_SECS=${2:?}; shift 2 ;;
	--modes) IFS=, read -r -a MODES <<<"${2:?}"; shift 2 ;;
	--family) FAMILY=${2:?}; shift 2 ;;
	--quiet-wait) QUIET_WAIT=${2:?}; shift 2 ;;
	--retries) RETRIES=${2:?}; shift 2 ;;
	--offload) OFFLOAD=${2:?}; shift 2 ;;
	--backend) BACKEND=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for m in "${MODES[@]}"; do
	b=${m%/1}
	if [[ " ${BASE_MODES[*]} " != *" $b "* ]]; then
		[[ " ${BASE_MODES[*]} " != *" ${b%6} "* ]] ||
			{ echo "unknown mode: $m (IPv6 runs: --family 6 or both)" >&2; exit 2; }
		echo "unknown mode: $m" >&2
		exit 2
	fi
	[[ $m != */1 || $b == lbd-* || $b == nft-dnat || $b == haproxy ]] ||
		{ echo "$m: only a load balancer has a one-backend (/1) run" >&2; exit 2; }
done
[[ " ${MODES[*]} " == *" direct "* ]] || MODES=(direct "${MODES[@]}")
# Two-backend HTTP rows compare with the evenly split direct load.
for m in "${MODES[@]}"; do
	if [[ $m != direct* && $m != */1 && $m != empty-xdp && " ${MODES[*]} " != *" direct-split "* ]]; then
		MODES=(direct-split "${MODES[@]}")
		break
	fi
done
for v in "$ROUNDS" "$SECS" "$CONC" "$THREADS" "$BULK_SECS" "$HAPROXY_THREADS" "$NGINX_WORKERS"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "numbers must be positive integers: $v" >&2; exit 2; }
done
((CONC >= THREADS)) || { echo "--conc must be at least --threads" >&2; exit 2; }
[[ $QUIET_WAIT =~ ^[0-9]+$ ]] || { echo "--quiet-wait: seconds, 0 or more" >&2; exit 2; }
[[ $RETRIES =~ ^[0-9]+$ ]] || { echo "--retries: 0 or more" >&2; exit 2; }
[[ $OFFLOAD =~ ^(default|harness)$ ]] || { echo "--offload: default or harness" >&2; exit 2; }
SLOTS=${SLOTS:-$((CONC / 2))}
SERVICE_MS=${SERVICE_MS:-40}
case $BACKEND in
nginx) ;;
slots)
	[[ $SLOTS =~ ^[1-9][0-9]*$ && $SERVICE_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
		{ echo "SLOTS: a positive integer; SERVICE_MS: milliseconds above 0" >&2; exit 2; }
	[[ " ${MODES[*]} " != *" lbd-dsr "* ]] ||
		{ echo "--backend slots: not with lbd-dsr (its backends answer on the VIP)" >&2; exit 2; }
	;;
*) echo "--backend: nginx or slots" >&2; exit 2 ;;
esac
case $FAMILY in
4) FAMILIES=(4) ;;
6) FAMILIES=(6) ;;
both) FAMILIES=(4 6) ;;
*) echo "--family: 4, 6 or both" >&2; exit 2 ;;
esac

. "$HERE/lib.sh"
bench_preflight "$@"
EMPTY_OBJ=$ROOT/build/bench/empty.bpf.o
if [[ " ${MODES[*]} " == *" empty-xdp "* && ! -f $EMPTY_OBJ ]]; then
	echo "$EMPTY_OBJ not found (built by 'ninja -C build'); or leave out empty-xdp with --modes" >&2
	exit 2
fi

# ---------------------------------------------------------------------------- packages

bench_install wrk:wrk iperf3:iperf3 haproxy:haproxy nft:nftables conntrack:conntrack curl:curl || true
bench_require wrk iperf3 haproxy nft conntrack curl nginx

# ---------------------------------------------------------------------------- topology

. "$ROOT/tests/integration/lib.sh"
topo_up 2
# IPv6 beside IPv4 (lib.sh's topo_ipv6): VIP6 fd00:1::1 on lbc0, backends fd00:2:<i>::2.
# Only when IPv6 is measured: an IPv4-only run keeps lib.sh's IPv6-less namespaces.
has_family() { [[ " ${FAMILIES[*]} " == *" $1 "* ]]; }
if has_family 6; then topo_ipv6; fi
has_mode() { [[ " ${MODES[*]} " == *" $1 "* ]]; }

# lbd-dsr: each backend also gets a link of its own to the client (dsr<i> there, dsr0 on
# the backend, 10.4.<i>.0/24 and fd00:4:<i>::/64) and holds the VIP on lo
# (packaging/examples/dsr-backend.sh); during an lbd-dsr run only (dsr_routes), its route
# to the client's subnet takes that link, so its answers bypass the LB as they would
# through a switch. The LB reaches the backends over the links it has (one L2 hop: dsr
# only rewrites the Ethernet addresses). The client accepts answers from the VIP on
# those links: rp_filter off.
DSR_BACKEND=$ROOT/packaging/examples/dsr-backend.sh
dsr_topology() {
	local i ns vips=("$VIP")
	has_family 6 && vips+=("$VIP6")
	in_ns "$NS_C" sysctl -qw net.ipv4.conf.all.rp_filter=0 >/dev/null
	for ((i = 1; i <= NBACKENDS; i++)); do
		ns=${NS_BACKENDS[i - 1]}
		ip -n "$NS_C" link add "dsr$i" type veth peer name dsr0 netns "$ns"
		ip -n "$NS_C" addr add "10.4.$i.1/24" dev "dsr$i"
		ip -n "$ns" addr add "10.4.$i.2/24" dev dsr0
		if has_family 6; then
			lbt_ipv6_on "$NS_C" "dsr$i"
			lbt_ipv6_on "$ns" dsr0
			ip -n "$NS_C" addr add "fd00:4:$i::1/64" dev "dsr$i" nodad
			ip -n "$ns" addr add "fd00:4:$i::2/64" dev dsr0 nodad
		fi
		ip -n "$NS_C" link set "dsr$i" up
		ip -n "$ns" link set dsr0 up
		in_ns "$NS_C" sysctl -qw "net.ipv4.conf.dsr$i.rp_filter=0" >/dev/null
		in_ns "$ns" "$DSR_BACKEND" add "${vips[@]}" >/dev/null
	done
}
dsr_routes() { # dsr_routes add|del: the backends' routes to the client over their own link
	local i ns
	for ((i = 1; i <= NBACKENDS; i++)); do
		ns=${NS_BACKENDS[i - 1]}
		ip -n "$ns" route "$1" 10.1.0.0/24 via "10.4.$i.1" dev dsr0
		! has_family 6 || ip -n "$ns" -6 route "$1" fd00:1::/64 via "fd00:4:$i::1" dev dsr0
	done
}
if has_mode lbd-dsr; then dsr_topology; fi
bpffs_up
for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
	# Up to ~10^5 short connections per phase: a wide port range, TIME-WAIT reuse (IPv6
	# TCP uses these net.ipv4 settings too).
	in_ns "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1 >/dev/null
done

# lib.sh's lbt_veth_tune turns TX checksum offload off on every veth end (and with it TSO)
# and GRO on at the client and backend ends: the correctness tests need full checksums for
# lbd's incremental updates, and NAPI mode for XDP_TX/REDIRECT. A performance run uses
# what a new veth has: TX checksum and TSO on, GRO off. lbd's XDP path only passes packets
# on (no XDP_TX/REDIRECT), and every mode below is checked to answer before it is measured.
# Partial checksums (CHECKSUM_PARTIAL) then cross the veths, which XDP's by-hand update
# does not fix up but which no stack here verifies: the report counts TcpInCsumErrors.
veth_ends() {
	local i
	echo "$NS_C $C_IF"
	echo "$NS_LB $LB_IF_C"
	for ((i = 1; i <= NBACKENDS; i++)); do
		echo "${NS_BACKENDS[i - 1]} $B_IF"
		echo "$NS_LB ${LB_IF_BACKENDS[i - 1]}"
		if has_mode lbd-dsr; then
			echo "$NS_C dsr$i"
			echo "${NS_BACKENDS[i - 1]} dsr0"
		fi
	done
}
if [[ $OFFLOAD == default ]]; then
	while read -r ns dev; do
		in_ns "$ns" ethtool -K "$dev" tx on gro off >/dev/null 2>&1 ||
			fail "ethtool -K $dev tx on gro off failed in $ns"
	done < <(veth_ends)
fi
offload_state() { # offload_state NS DEV: "tx-csum on, tso on, gro off" (+ ", tso6 on")
	in_ns "$1" ethtool -k "$2" | awk -F': ' -v v6="$(has_family 6 && echo 1)" '
		$1 == "tx-checksumming" { tx = $2 } $1 ~ /^[[:space:]]*tx-tcp-segmentation$/ { tso = $2 }
		$1 ~ /^[[:space:]]*tx-tcp6-segmentation$/ { tso6 = $2 }
		$1 == "generic-receive-offload" { gro = $2 }
		END { printf "tx-csum %s, tso %s, gro %s", tx, tso, gro; if (v6) printf ", tso6 %s", tso6 }' |
		sed 's/ \[[^]]*\]//g'
}

# ---------------------------------------------------------------------------- backends

HTTP_PORT=80
BULK_PORT=5201

# hostport HOST PORT: HOST:PORT, an IPv6 address in brackets ([fd00:1::1]:80), as URLs,
# ss filters and HAProxy want it.
hostport() { if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi; }

# nginx b<i> on 10.2.<i>.2:80 (and [fd00:2:<i>::2]:80 when IPv6 is measured) answering
# "b<i>\n" from memory to any path; keep-alive connections are never closed by nginx
# during a phase. The same workers serve both families.
start_backend() {
	local i=$1
	local ns=${NS_BACKENDS[i - 1]} ip=${BACKEND_IPS[i - 1]} d=$LBT_RUN/b$1 listen6='' vip=''
	mkdir -p "$d/tmp"
	if has_family 6; then
		listen6="listen $(hostport "${BACKEND_IPS6[i - 1]}" "$HTTP_PORT") backlog=4096;"
	fi
	if has_mode lbd-dsr; then # dsr: the clients' packets arrive addressed to the VIP
		vip="listen $VIP:$HTTP_PORT backlog=4096;"
		! has_family 6 || vip+=" listen $(hostport "$VIP6" "$HTTP_PORT") backlog=4096;"
	fi
	cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile 65536;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {
        listen $ip:$HTTP_PORT backlog=4096;
        $listen6
        $vip
        location / { default_type text/plain; return 200 "b$i\n"; }
    }
}
EOF
	spawn "$ns" "nginx-b$i" nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
	wait_for "in_ns $ns ss -Hltn 'src $ip:$HTTP_PORT' | grep -q ." 10 ||
		fail "nginx b$i did not start: $(tail -n 5 "$LBT_LOGDIR/nginx-b$i.log" "$d/error.log" 2>/dev/null)"
	[[ -z $listen6 ]] ||
		wait_for "in_ns $ns ss -Hltn 'src $(hostport "${BACKEND_IPS6[i - 1]}" "$HTTP_PORT")' | grep -q ." 10 ||
		fail "nginx b$i does not listen on ${BACKEND_IPS6[i - 1]}: $(tail -n 5 "$d/error.log" 2>/dev/null)"
}
# slot_server.py b<i> on the same addresses (--backend slots).
start_slot_backend() { # start_slot_backend I
	local i=$1 ns=${NS_BACKENDS[$1 - 1]} ip=${BACKEND_IPS[$1 - 1]}
	local -a bind=(--bind "$ip")
	! has_family 6 || bind+=(--bind "${BACKEND_IPS6[i - 1]}")
	spawn "$ns" "slots-b$i" "$LBT_PY" "$HERE/l4/slot_server.py" "${bind[@]}" --port "$HTTP_PORT" \
		--slots "$SLOTS" --service-ms "$SERVICE_MS" --name "b$i"
	wait_for "in_ns $ns ss -Hltn 'src $ip:$HTTP_PORT' | grep -q ." 10 ||
		fail "slot server b$i did not start: $(tail -n 5 "$LBT_LOGDIR/slots-b$i.log")"
}
if [[ $BACKEND == slots ]]; then
	start_slot_backend 1
	start_slot_backend 2
else
	start_backend 1
	start_backend 2
fi
# One iperf3 server per measured family on b1 (iperf3 -B binds one address).
start_iperf3() { # start_iperf3 TAG ADDRESS
	spawn "${NS_BACKENDS[0]}" "$1" iperf3 -s -B "$2" -p "$BULK_PORT"
	wait_for "in_ns ${NS_BACKENDS[0]} ss -Hltn 'src $(hostport "$2" "$BULK_PORT")' | grep -q ." 10 ||
		fail "iperf3 server on $2 did not start: $(tail -n 5 "$LBT_LOGDIR/$1.log")"
}
if has_family 4; then start_iperf3 iperf3-b1 "${BACKEND_IPS[0]}"; fi
if has_family 6; then start_iperf3 iperf3-b1v6 "${BACKEND_IPS6[0]}"; fi
if has_mode lbd-dsr; then
	start_iperf3 iperf3-b1-vip "$VIP"
	! has_family 6 || start_iperf3 iperf3-b1-vip6 "$VIP6"
fi

# ---------------------------------------------------------------------------- lbd

INSTANCE=l4bench
SOCK=$LBT_RUN/lbd.sock

# lbd_settings MODE: the "settings" object of an lbd mode. Once lbd knows "ingress",
# lbd-xdp names it too: its default (auto) would pick TC on a veth.
LBD_HAS_INGRESS=0
lbd_settings() {
	case $1 in
	lbd-xdp)
		if ((LBD_HAS_INGRESS)); then
			echo '{"ingress": "xdp", "xdp-mode": "native"}'
		else
			echo '{"xdp-mode": "native"}'
		fi
		;;
	lbd-tc) echo '{"ingress": "tc"}' ;;
	lbd-auto | lbd-fullnat | lbd-dsr | lbd-lc) echo '{"ingress": "auto"}' ;;
	esac
}

# lbd_proxy_opts MODE: the proxies' members of an lbd mode beyond listen and targets.
lbd_proxy_opts() {
	case $1 in
	lbd-fullnat) echo '"forwarding": "full-nat",' ;;
	lbd-dsr) echo '"forwarding": "dsr",' ;;
	lbd-lc) echo '"selection": "least-connections",' ;;
	esac
}

# lbd_config MODE FAMILY FILE [BACKENDS]: port 80 balanced 50/50 over both nginx (over b1
# alone with BACKENDS 1), port 5201 to iperf3 on b1, over the targets of FAMILY (4 or 6).
# The listeners have no address, as before IPv6 was measured: they answer on every
# address of lbc0, and each client is balanced over the targets of its own family
# (docs/configuration.md), i.e. only clients of FAMILY get an answer. The same lookups either way: (ifindex, address, port, protocol).
lbd_config() {
	local b1=${BACKEND_IPS[0]} b2=${BACKEND_IPS[1]} web
	if (($2 == 6)); then b1=${BACKEND_IPS6[0]} b2=${BACKEND_IPS6[1]}; fi
	web="[{\"ip\": \"$b1\", \"port\": $HTTP_PORT, \"weight\": 50},
                      {\"ip\": \"$b2\", \"port\": $HTTP_PORT, \"weight\": 50}]"
	[[ ${4:-2} != 1 ]] || web="{\"ip\": \"$b1\", \"port\": $HTTP_PORT}"
	cat >"$3" <<EOF
{"proxies": [
  {"name": "http", "listen": {"interfaces": ["$LB_IF_C"], "port": $HTTP_PORT}, $(lbd_proxy_opts "$1")
   "default-target": $web},
  {"name": "bulk", "listen": {"interfaces": ["$LB_IF_C"], "port": $BULK_PORT}, $(lbd_proxy_opts "$1")
   "default-target": {"ip": "$b1", "port": $BULK_PORT}}],
 "settings": $(lbd_settings "$1")}
EOF
}

# Which lbd modes this build runs: "ingress" is refused by builds that predate it, IPv6
# targets by builds that predate dual stack (LBD_HAS_IPV6). Asked in the LB's namespace,
# where the configuration's interfaces are (--check also checks them).
LBD_HAS_IPV6=0
detect_lbd_modes() {
	local cfg=$LBT_RUN/check.json m out keep=() fam=${FAMILIES[0]}
	lbd_config lbd-xdp "$fam" "$cfg"
	out=$(in_ns "$NS_LB" "$LBD" --check -c "$cfg" 2>&1) || fail "lbd --check refuses the base configuration: $out"
	lbd_config lbd-tc "$fam" "$cfg"
	if in_ns "$NS_LB" "$LBD" --check -c "$cfg" >/dev/null 2>&1; then LBD_HAS_INGRESS=1; fi
	if has_family 6; then
		lbd_config lbd-xdp 6 "$cfg"
		if out=$(in_ns "$NS_LB" "$LBD" --check -c "$cfg" 2>&1); then
			LBD_HAS_IPV6=1
		else
			log "(lbd --check refuses IPv6 targets: $(tail -n 1 <<<"$out"))"
		fi
	fi
	for m in "${MODES[@]}"; do
		if [[ $m == lbd-* && ${m%/1} != lbd-xdp ]]; then
			lbd_config "${m%/1}" "$fam" "$cfg"
			if ! out=$(in_ns "$NS_LB" "$LBD" --check -c "$cfg" 2>&1); then
				echo "$m: not supported by this lbd build, skipped" >&2
				log "($m: lbd --check said: $(tail -n 1 <<<"$out"))"
				SKIPPED+=("$m")
				continue
			fi
		fi
		keep+=("$m")
	done
	MODES=("${keep[@]}")
}

# lb_datapath: what is attached to the LB's client-facing interface, as one word list:
# "xdp" (native), "xdpgeneric", "tc-ingress", "tc-egress", or "none".
lb_datapath() {
	local link what=()
	link=$(ip -n "$NS_LB" link show dev "$LB_IF_C")
	[[ $link =~ [[:space:]]xdp[[:space:]] ]] && what+=(xdp)
	[[ $link =~ [[:space:]]xdpgeneric[[:space:]] ]] && what+=(xdpgeneric)
	# Captured, not piped into grep -q: with pipefail, tc's SIGPIPE would count as "none".
	[[ -n $(tc -n "$NS_LB" filter show dev "$LB_IF_C" ingress 2>/dev/null) ]] && what+=(tc-ingress)
	[[ -n $(tc -n "$NS_LB" filter show dev "$LB_IF_C" egress 2>/dev/null) ]] && what+=(tc-egress)
	((${#what[@]})) || what=(none)
	echo "${what[*]}"
}

declare -A AUTO_DATAPATH=()
start_lbd() { # start_lbd MODE TAG FAMILY BACKENDS
	local cfg=$LBT_RUN/$1-ipv$3-$4.json dp want
	lbd_config "$1" "$3" "$cfg" "$4"
	spawn "$NS_LB" "lbd-$2" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--teardown-on-exit -c "$cfg"
	wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd-$2.log' || ! kill -0 $LBT_LAST_PID" 20 || true
	grep -q 'ready:' "$LBT_LOGDIR/lbd-$2.log" ||
		fail "lbd ($1) did not start: $(tail -n 5 "$LBT_LOGDIR/lbd-$2.log")"
	case $1 in
	lbd-xdp) want="xdp tc-egress" ;;
	lbd-tc) want="tc-ingress tc-egress" ;;
	lbd-auto | lbd-fullnat | lbd-dsr | lbd-lc) want="*tc-egress" ;;
	esac
	# shellcheck disable=SC2053 # a glob for lbd-auto
	wait_for "[[ \$(lb_datapath) == $want ]]" 5 || true
	dp=$(lb_datapath)
	# shellcheck disable=SC2053
	[[ $dp == $want ]] || fail "$1: expected '$want' on $LB_IF_C, found: $dp"
	[[ $1 != lbd-auto ]] || AUTO_DATAPATH[$dp]=1
}

stop_lbd() { # stop_lbd TAG: SIGTERM; --teardown-on-exit removes the datapath
	stop_proc "lbd-$1"
	if [[ $(lb_datapath) != none ]]; then
		log "lbd left a datapath on $LB_IF_C ($(lb_datapath)): tearing down"
		in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 || true
	fi
}

# ---------------------------------------------------------------------------- other modes

# start_nft FAMILY BACKENDS: table ip l4bench (IPv4) or ip6 l4bench (IPv6), the same
# rules; port 80 to b1 alone with BACKENDS 1.
start_nft() {
	local t=ip vip=$VIP b1=${BACKEND_IPS[0]} b2=${BACKEND_IPS[1]}
	if (($1 == 6)); then t=ip6 vip=$VIP6 b1=${BACKEND_IPS6[0]} b2=${BACKEND_IPS6[1]}; fi
	(($2 == 2)) || b2=$b1
	in_ns "$NS_LB" nft -f - <<EOF
table $t l4bench {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		$t daddr $vip tcp dport $HTTP_PORT dnat to numgen random mod 2 map { 0 : $b1, 1 : $b2 }
		$t daddr $vip tcp dport $BULK_PORT dnat to $b1
	}
}
EOF
}

stop_nft() { # stop_nft FAMILY
	in_ns "$NS_LB" nft delete table "$( (($1 == 6)) && echo ip6 || echo ip)" l4bench
	ct_flush
}

# ct_flush: the LB namespace's conntrack table, of every measured family (conntrack's
# family defaults to IPv4; -f ipv6 makes sure the IPv6 entries go too).
ct_flush() {
	in_ns "$NS_LB" conntrack -F >/dev/null 2>&1 || true
	if has_family 6; then in_ns "$NS_LB" conntrack -F -f ipv6 >/dev/null 2>&1 || true; fi
}

start_haproxy() { # start_haproxy TAG FAMILY BACKENDS
	local cfg=$LBT_RUN/haproxy.cfg vip=$VIP b1=${BACKEND_IPS[0]} b2=${BACKEND_IPS[1]} s2
	if (($2 == 6)); then vip=$VIP6 b1=${BACKEND_IPS6[0]} b2=${BACKEND_IPS6[1]}; fi
	s2="server b2 $(hostport "$b2" "$HTTP_PORT")"
	(($3 == 2)) || s2=""
	cat >"$cfg" <<EOF
global
    maxconn 8000
    nbthread $HAPROXY_THREADS
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend http
    bind $(hostport "$vip" "$HTTP_PORT")
    default_backend web
backend web
    balance roundrobin
    server b1 $(hostport "$b1" "$HTTP_PORT")
    $s2
frontend bulk
    bind $(hostport "$vip" "$BULK_PORT")
    default_backend bulk
backend bulk
    server b1 $(hostport "$b1" "$BULK_PORT")
EOF
	spawn "$NS_LB" "haproxy-$1" haproxy -db -f "$cfg"
	wait_for "in_ns $NS_LB ss -Hltn 'sport = :$BULK_PORT' | grep -q ." 10 ||
		fail "haproxy did not start: $(tail -n 5 "$LBT_LOGDIR/haproxy-$1.log")"
}

start_empty_xdp() {
	ip -n "$NS_LB" link set dev "$LB_IF_C" xdpdrv obj "$EMPTY_OBJ" sec xdp ||
		fail "cannot attach $EMPTY_OBJ natively to $LB_IF_C"
	[[ $(lb_datapath) == xdp ]] || fail "empty-xdp: expected native XDP alone on $LB_IF_C, found: $(lb_datapath)"
}

stop_empty_xdp() { ip -n "$NS_LB" link set dev "$LB_IF_C" xdpdrv off; }

# assert_lb_clean: nothing of a previous phase is left in the LB namespace: no program on
# the interface, no nftables table, no listener, no lbd pins, and the VIP (VIP6) refuses.
assert_lb_clean() {
	local what
	what=$(lb_datapath)
	[[ $what == none ]] || fail "left over on $LB_IF_C: $what"
	what=$(in_ns "$NS_LB" nft list tables)
	[[ -z $what ]] || fail "nftables tables left in the LB namespace: $what"
	what=$(in_ns "$NS_LB" ss -Hltn)
	[[ -z $what ]] || fail "listeners left in the LB namespace: $what"
	what=$( (find "$BPFFS/lbd" -mindepth 1 -not -type d 2>/dev/null || true) | head -n 3)
	[[ -z $what ]] || fail "lbd pins left: $what"
	! in_ns "$NS_C" curl -s --max-time 2 -o /dev/null "http://$VIP:$HTTP_PORT/" ||
		fail "$VIP:$HTTP_PORT answers with no load balancer set up"
	! { has_family 6 && in_ns "$NS_C" curl -gs --max-time 2 -o /dev/null "http://[$VIP6]:$HTTP_PORT/"; } ||
		fail "[$VIP6]:$HTTP_PORT answers with no load balancer set up"
}

# ---------------------------------------------------------------------------- measuring

# Leftover sockets of the previous phase (TIME-WAIT etc.) and kernel NAT state out of the
# way: leftovers made kernel NAT stall at 5% of its normal rate (shared/NOTES.md).
flush_state() {
	local ns
	for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
		in_ns "$ns" ss -K -t state time-wait >/dev/null 2>&1 || true
		in_ns "$ns" ss -K -t state close-wait >/dev/null 2>&1 || true
	done
	ct_flush
	sleep 0.5
}

# check_path MODE BACKENDS HOST: 16 new connections must each get an answer from a backend;
# through a load balancer over two backends both must answer, else only b1. A 1 MB iperf3
# transfer must get through too. HOST is an IPv4 or IPv6 address.
check_path() {
	local mode=$1 host=$3 i out seen=" " hp
	hp=$(hostport "$host" "$HTTP_PORT")
	for ((i = 0; i < 16; i++)); do
		out=$(in_ns "$NS_C" curl -gs --max-time 3 "http://$hp/") ||
			fail "$mode: request $((i + 1)) to $hp failed (curl status $?)"
		[[ $out == b1 || $out == b2 ]] || fail "$mode: $hp answered '$out', not a backend"
		seen+="$out "
	done
	if [[ $2 == 2 ]]; then
		[[ $seen == *" b1 "* && $seen == *" b2 "* ]] ||
			fail "$mode: 16 connections did not reach both backends:$seen"
	else # one backend: b1, or the one HOST is
		local want=b1 other=b2
		if [[ $host == "${BACKEND_IPS[1]}" || $host == "${BACKEND_IPS6[1]:-}" ]]; then want=b2 other=b1; fi
		[[ $seen != *" $other "* ]] || fail "$mode: $host answered $other, not $want"
	fi
	out=$(in_ns "$NS_C" timeout 20 iperf3 -c "$host" -p "$BULK_PORT" -n 1M -J 2>&1) ||
		fail "$mode: 1 MB iperf3 check to $host:$BULK_PORT failed: $(iperf_field "$out" error)"
}

# cpu_sample: "busy total foreign top" since the previous call (bench/l4/cpu_sample.py):
# machine-wide busy ticks from /proc/stat (user + nice + system + irq + softirq), all ticks,
# and the ticks of processes outside this benchmark (other work on the machine).
CPU_STATE=$LBT_RUN/cpu.json
OUR_NETNS=()
for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do OUR_NETNS+=("$(stat -L -c %i "/run/netns/$ns")"); done
cpu_sample() { "$LBT_PY" "$HERE/l4/cpu_sample.py" "$CPU_STATE" "$LBT_MAIN_PID" "${OUR_NETNS[@]}"; }
cpu_start() { rm -f "$CPU_STATE"; cpu_sample >/dev/null; }
CLK_TCK=$(getconf CLK_TCK)

# wait_quiet MODE ROUND: other processes on the machine skew every number (the CPUs are
# shared); wait up to --quiet-wait seconds while they use more than 10% of the CPUs.
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) b t f top pct said=0
	while :; do
		cpu_start
		sleep 1
		read -r b t f top < <(cpu_sample)
		pct=$((t ? 100 * f / t : 0))
		((pct > 10)) || break
		if ((SECONDS >= end)); then
			log "$1 round $2: other processes still use $pct% of the CPUs ($top ticks in 1 s); measuring anyway"
			break
		fi
		((said)) || log "$1 round $2: other processes use $pct% of the CPUs ($top ticks in 1 s): waiting up to $QUIET_WAIT s"
		said=1
	done
}

# foreign_note KIND B T F TOP: record the share of the CPUs other processes used in a phase.
foreign_note() {
	local pct
	pct=$(awk -v f="$4" -v t="$3" 'BEGIN { printf "%.0f", t ? 100 * f / t : 0 }')
	record "$MODE" "$ROUND" "${1}_foreign" "$pct"
	((pct <= DISTURBED)) || DISTURBED=$pct
	((pct < 5)) || PHASE_SUMMARY+=" [other processes $pct%, most: $5]"
}

# iperf_field JSON KEY: bps (receiver's bits per second), retr (sender's retransmits) or
# error of an iperf3 -J report.
iperf_field() {
	"$LBT_PY" - "$1" "$2" <<'EOF'
import json, sys
text, key = sys.argv[1], sys.argv[2]
try:
    r = json.loads(text)
except ValueError:  # not a report: iperf3 died, or timeout killed it
    lines = text.strip().splitlines()
    print((lines[-1] if lines else "no output") if key == "error" else 0)
    sys.exit(0)
end = r.get("end", {})
print({"bps": end.get("sum_received", {}).get("bits_per_second", 0),
       "retr": end.get("sum_sent", {}).get("retransmits", 0),
       "error": r.get("error", "")}[key])
EOF
}

RESULTS=$LBT_RUN/results
ROUNDLOG=$LBT_RUN/rounds
: >"$RESULTS"
: >"$ROUNDLOG"
PENDING=$LBT_RUN/pending
record() { echo "$*" >>"$PENDING"; } # record MODE ROUND METRIC VALUE (kept if accepted)

# http_phase MODE ROUND KIND URL...: one wrk run (KIND close or ka) per URL, side by side,
# the connections and threads shared evenly among them (direct-split: b1 and b2 at once),
# with /proc/stat around them; records the summed rate, the worst p99 (ka), CPU per
# request and busy share; prints a summary.
http_phase() {
	local mode=$1 round=$2 kind=$3 out reqs=0 dur=0 errs=0 p99us=0 rps cpu busy p99 b t f top
	local n=$(($# - 3)) k conc threads v
	local -a hdr=() pids=()
	shift 3
	[[ $kind == close ]] && hdr=(-H 'Connection: close')
	conc=$((CONC / n)) threads=$((THREADS / n))
	((threads > 0)) || threads=1
	flush_state
	cpu_start
	for ((k = 0; k < n; k++)); do
		in_ns "$NS_C" timeout $((SECS + 30)) wrk -t "$threads" -c "$conc" -d "${SECS}s" \
			--timeout 5s --latency "${hdr[@]}" -s "$HERE/l4/wrk_report.lua" "${@:k+1:1}" \
			>"$LBT_RUN/wrk.$k" 2>&1 &
		pids+=($!)
	done
	for ((k = 0; k < n; k++)); do
		wait "${pids[k]}" || fail "$mode: wrk ($kind) to ${*:k+1:1} failed: $(tail -n 3 "$LBT_RUN/wrk.$k")"
	done
	read -r b t f top < <(cpu_sample)
	for ((k = 0; k < n; k++)); do
		out=$(<"$LBT_RUN/wrk.$k")
		v=$(json_get "$out" requests 0)
		((v > 0)) || fail "$mode: wrk ($kind) completed no request to ${*:k+1:1}: $(tail -n 3 <<<"$out")"
		reqs=$((reqs + v))
		v=$(json_get "$out" duration_us)
		((v <= dur)) || dur=$v
		v=$(json_get "$out" p99_us)
		((v <= p99us)) || p99us=$v
		v=$(($(json_get "$out" connect) + $(json_get "$out" read) + $(json_get "$out" write) +
			$(json_get "$out" timeout) + $(json_get "$out" status)))
		((v == 0)) || log "$mode round $round: wrk ($kind) errors: $(tail -n 1 <<<"$out")"
		errs=$((errs + v))
	done
	read -r rps cpu busy < <(awk -v r="$reqs" -v d="$dur" -v b="$b" -v t="$t" -v hz="$CLK_TCK" \
		'BEGIN { printf "%.1f %.2f %.0f\n", r / (d / 1e6), b / hz * 1e6 / r, t ? 100 * b / t : 0 }')
	record "$mode" "$round" "${kind}_rps" "$rps"
	record "$mode" "$round" "${kind}_cpu" "$cpu"
	record "$mode" "$round" "${kind}_busy" "$busy"
	record "$mode" "$round" "${kind}_errors" "$errs"
	if [[ $kind == ka ]]; then
		p99=$(awk -v u="$p99us" 'BEGIN { printf "%.3f", u / 1000 }')
		record "$mode" "$round" ka_p99 "$p99"
		PHASE_SUMMARY+=" ka $rps req/s p99 $p99 ms ${cpu} us/req (busy $busy%)"
	else
		PHASE_SUMMARY+=" close $rps req/s ${cpu} us/req (busy $busy%)"
	fi
	((errs == 0)) || PHASE_SUMMARY+=" [$errs errors]"
	foreign_note "$kind" "$b" "$t" "$f" "$top"
}

# bulk_phase MODE ROUND HOST DIR: one iperf3 stream; DIR up = client sends (DNAT path),
# down = backend sends (-R, the reply path).
bulk_phase() {
	local mode=$1 round=$2 host=$3 dir=$4 out gbps err b t f top
	local -a rev=()
	[[ $dir == down ]] && rev=(-R)
	flush_state
	cpu_start
	out=$(in_ns "$NS_C" timeout $((BULK_SECS + 30)) iperf3 -c "$host" -p "$BULK_PORT" \
		-t "$BULK_SECS" "${rev[@]}" -J 2>&1) || true
	read -r b t f top < <(cpu_sample)
	err=$(iperf_field "$out" error)
	[[ -z $err ]] || fail "$mode: iperf3 ($dir) failed: $err"
	gbps=$(awk -v b="$(iperf_field "$out" bps)" 'BEGIN { printf "%.3f", b / 1e9 }')
	record "$mode" "$round" "bulk_${dir}" "$gbps"
	PHASE_SUMMARY+=" $dir $gbps Gbit/s (retr $(iperf_field "$out" retr))"
	foreign_note "bulk_$dir" "$b" "$t" "$f" "$top"
}

# measure MODE ROUND BACKENDS HOST...: the path check and the four phases (the two HTTP
# phases only for a one-backend run and direct-split: their bulk phases would repeat
# those of the two-backend run and of direct). A try during which other
# processes used 5% or more of the CPUs in some phase is measured again, after waiting for
# quiet, up to --retries times; the least disturbed try is kept, marked in its round line.
measure() {
	local try best=101 best_try=0 best_summary=
	MODE=$1 ROUND=$2
	for ((try = 0; ; try++)); do
		PHASE_SUMMARY=
		DISTURBED=0 # the most % of the CPUs other processes used in one phase
		: >"$PENDING"
		local h urls=()
		for h in "${@:4}"; do
			check_path "$1" "$3" "$h"
			urls+=("http://$(hostport "$h" "$HTTP_PORT")/")
		done
		http_phase "$1" "$2" close "${urls[@]}"
		http_phase "$1" "$2" ka "${urls[@]}"
		if [[ $1 != */1 && ${1%6} != direct-split ]]; then
			bulk_phase "$1" "$2" "$4" up
			bulk_phase "$1" "$2" "$4" down
		fi
		if ((DISTURBED < best)); then
			best=$DISTURBED best_try=$try best_summary=$PHASE_SUMMARY
			cp "$PENDING" "$PENDING.best"
		fi
		((DISTURBED >= 5 && try < RETRIES)) || break
		log "round $2 $1 disturbed by other processes (up to $DISTURBED% of the CPUs), measuring again:$PHASE_SUMMARY"
		((QUIET_WAIT == 0)) || wait_quiet "$1" "$2"
	done
	cat "$PENDING.best" >>"$RESULTS"
	((try == 0)) || best_summary+=" (try $((best_try + 1)) of $((try + 1)), the least disturbed)"
	printf '# round %s %-9s%s\n' "$2" "$1" "$best_summary" | tee -a "$ROUNDLOG" >&2
}

# A run is a mode over one family and a number of backends: MODE over IPv4, MODE6 (direct6,
# lbd-auto6, ...) over IPv6 (no mode name ends in 6), MODE/1 and MODE6/1 over b1 alone.
# Every run is recorded and reported under its own name.
run_mode() { # run_mode RUN ROUND
	local run=$1 base=${1%/1} mode fam=4 nb=2 tag direct=${BACKEND_IPS[0]} direct2=${BACKEND_IPS[1]} vip=$VIP
	mode=${base%6}
	[[ $run == "$base" ]] || nb=1
	[[ $base == "$mode" ]] || fam=6 direct=${BACKEND_IPS6[0]} direct2=${BACKEND_IPS6[1]} vip=$VIP6
	tag=$base-$nb-r$2
	assert_lb_clean
	((QUIET_WAIT == 0)) || wait_quiet "$run" "$2"
	case $mode in
	direct) measure "$run" "$2" 1 "$direct" ;;
	direct-split) measure "$run" "$2" 1 "$direct" "$direct2" ;;
	lbd-dsr) dsr_routes add; start_lbd "$mode" "$tag" "$fam" "$nb"; measure "$run" "$2" "$nb" "$vip"
		stop_lbd "$tag"; dsr_routes del ;;
	lbd-*) start_lbd "$mode" "$tag" "$fam" "$nb"; measure "$run" "$2" "$nb" "$vip"; stop_lbd "$tag" ;;
	nft-dnat) start_nft "$fam" "$nb"; measure "$run" "$2" "$nb" "$vip"; stop_nft "$fam" ;;
	haproxy) start_haproxy "$tag" "$fam" "$nb"; measure "$run" "$2" "$nb" "$vip"; stop_proc "haproxy-$tag" ;;
	empty-xdp) start_empty_xdp; measure "$run" "$2" 1 "$direct"; stop_empty_xdp ;;
	esac
	wait_for "[[ \$(lb_datapath) == none ]] && [[ -z \$(in_ns $NS_LB ss -Hltn) ]]" 5 || true
}

# ---------------------------------------------------------------------------- the run

SKIPPED=()
detect_lbd_modes
# The runs, each mode next to its IPv6 twin: direct direct6 lbd-auto lbd-auto6 ...
RUNS=()
for m in "${MODES[@]}"; do
	for f in "${FAMILIES[@]}"; do
		r6=${m%/1}6${m#"${m%/1}"} # lbd-auto/1 -> lbd-auto6/1
		if ((f == 4)); then
			RUNS+=("$m")
		elif [[ $m == lbd-* ]] && ((!LBD_HAS_IPV6)); then
			echo "$r6: this lbd build refuses IPv6 targets, skipped" >&2
			SKIPPED+=("$r6")
		else
			RUNS+=("$r6")
		fi
	done
done
HEADER=$LBT_RUN/header
{
	echo "# bench/l4_e2e.sh $ARGS"
	echo "# $(date -u +%FT%TZ), kernel $(uname -r), $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# rounds $ROUNDS; wrk $THREADS threads, $CONC connections, ${SECS} s per phase;" \
		"iperf3 1 stream, ${BULK_SECS} s per direction; quiet-wait ${QUIET_WAIT} s, retries $RETRIES"
	echo "# lbd: $LBD ($("$LBD" --version 2>&1 | head -n 1))"
	http="$(nginx -v 2>&1 | sed 's/.*: //') ($NGINX_WORKERS workers each)"
	if [[ $BACKEND == slots ]]; then
		http="bench/l4/slot_server.py ($SLOTS requests at once each, $SERVICE_MS ms of"
		http+=" waiting per request, the rest queued: --backend slots)"
	fi
	echo "# backends: $http," \
		"iperf3 $(iperf3 -v | head -n 1 | cut -d' ' -f2) on b1;" \
		"$(haproxy -v | head -n 1 | cut -d' ' -f1-3) (nbthread $HAPROXY_THREADS)"
	echo "# veth offloads ($OFFLOAD): client $(offload_state "$NS_C" "$C_IF"); lb $(offload_state "$NS_LB" "$LB_IF_C")"
	if has_family 6; then
		echo "# IPv6 runs (MODE6): client $CLIENT_IP6 -> VIP $VIP6 -> backends fd00:2:<i>::2," \
			"direct6 to ${BACKEND_IPS6[0]}; each compared with direct6 of this run"
	fi
	echo "# modes: ${RUNS[*]}${SKIPPED[*]:+ (skipped, not supported by this lbd: ${SKIPPED[*]})}"
} >"$HEADER"
cat "$HEADER" >&2

n=${#RUNS[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order each round so no mode always runs first or last.
	for ((k = 0; k < n; k++)); do
		run_mode "${RUNS[(k + r - 1) % n]}" "$r"
	done
done
assert_lb_clean

# With TX checksum offload on, packets keep partial checksums across the veths and nothing
# verifies them there; a receiver that did would count them here.
csum_errors() {
	local ns sum=0 v
	for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
		v=$(in_ns "$ns" nstat -asz TcpInCsumErrors | awk '$1 == "TcpInCsumErrors" { print $2 }')
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
echo "# TCP checksum errors counted by the namespaces' stacks: $(csum_errors)" >>"$HEADER"
if ((${#AUTO_DATAPATH[@]})); then
	echo "# lbd-auto attached: ${!AUTO_DATAPATH[*]}" >>"$HEADER"
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$HEADER"

REPORT=$LBT_RUN/report
{
	cat "$HEADER"
	cat "$ROUNDLOG"
	echo
	L4_BACKEND=$BACKEND "$LBT_PY" "$HERE/l4/report.py" "$RESULTS" "${RUNS[@]}"
} >"$REPORT"
echo >&2
cat "$REPORT"
if [[ $OUT != - ]]; then
	cp "$REPORT" "$OUT"
	log "written to $OUT"
fi
