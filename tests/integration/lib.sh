# shellcheck shell=bash
# Harness for lbd integration tests: network namespaces, backends, a private bpffs and a
# tiny test runner. Source it from a test script that uses `set -euo pipefail`:
#
#   . "$(dirname "$0")/lib.sh"
#   topo_up 3; bpffs_up; start_backends 8080
#   test_spread() { out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 300); ...; }
#   run_test test_spread
#   run_summary            # prints "N passed, N failed"; non-zero status if any failed
#
# Topology (addresses are fixed; tests rely on them):
#
#   $NS_C  eth0 10.1.0.2/24 (+ 10.1.0.3-9, 10.1.0.100)  default via 10.1.0.1
#      |
#   $NS_LB lbc0 10.1.0.1/24 (= $VIP)   lbb<i> 10.2.<i>.1/24   ip_forward=1, rp_filter=0
#      |
#   $NS_B<i> eth0 10.2.<i>.2/24                         default via 10.2.<i>.1
#
# Backends route their replies through the LB namespace, as a DNAT load balancer needs.
# Everything the harness creates is removed by an EXIT trap, also when a test fails or
# the script is interrupted. Traffic never leaves these namespaces.

[[ -n ${LBT_LIB_LOADED:-} ]] && return 0
LBT_LIB_LOADED=1

LBT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's interpreter explicitly: the PATH python3 may be a pyenv shim.
LBT_PY=${LBT_PY:-/usr/bin/python3}
LBTRAFFIC=$LBT_DIR/lbtraffic.py

# One prefix per run, so parallel runs never share a namespace, directory or mount.
# Interface names do not carry it: every veth is created directly inside its namespace
# (ip -n NS link add ... peer ... netns OTHER), never in the root namespace, so fixed
# names like "lbc0" cannot collide and stay far below the kernel's 15 characters.
LBT_PREFIX=${LBT_PREFIX:-lbt$$}
LBT_PREFIX=${LBT_PREFIX:0:12}
[[ $LBT_PREFIX =~ ^[A-Za-z0-9_]+$ ]] || {
	echo "LBT_PREFIX must be letters, digits or _" >&2
	exit 2
}
LBT_RUN=/run/lbtest-$LBT_PREFIX              # pid table, ready files, bpffs mount point
LBT_LOGDIR=${TMPDIR:-/tmp}/lbtest-$LBT_PREFIX # process logs; kept when something failed
LBT_KEEP_LOGS=${LBT_KEEP_LOGS:-auto}         # auto: keep on failure; 1: always; 0: never
LBT_TEST_TIMEOUT=${LBT_TEST_TIMEOUT:-300}    # seconds per run_test function
export LBT_PREFIX LBT_RUN LBT_LOGDIR LBT_PY LBTRAFFIC

# Fixed addressing plan.
VIP=10.1.0.1
CLIENT_IP=10.1.0.2
CLIENT_IPS=(10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7 10.1.0.8 10.1.0.9 10.1.0.100)
C_IF=eth0    # client's interface (in $NS_C)
B_IF=eth0    # each backend's interface (in $NS_B<i>)
LB_IF_C=lbc0 # client-facing interface in $NS_LB
export VIP CLIENT_IP C_IF B_IF LB_IF_C

NBACKENDS=0
NS_C=
NS_LB=
NS_BACKENDS=()    # NS_B1..NS_Bn as an array
LB_IF_BACKENDS=() # LB_IF_B1..LB_IF_Bn as an array
BACKEND_IPS=()    # 10.2.i.2
BACKEND_GWS=()    # 10.2.i.1 (the LB's address on backend link i)
BACKEND_NAMES=()  # b1..bn: what start_backends' servers answer
BPFFS=
LBT_PASSED=0
LBT_FAILED=0
LBT_SKIPPED=0
LBT_EXIT_HOOKS=()
LBT_MAIN_PID=$BASHPID
LBT_TEST_PID=

# ---------------------------------------------------------------------------- small helpers

# log MSG...: progress message on stderr (TAP-style comment).
log() { printf '# %s\n' "$*" >&2; }

# fail MSG...: fail the current test (or the script) with MSG as the reason.
fail() {
	if [[ -d $LBT_RUN && ! -s $LBT_RUN/reason ]]; then
		printf '%s\n' "$*" >"$LBT_RUN/reason"
	fi
	log "FAIL: $*"
	exit 1
}

# skip MSG...: inside a run_test function: report the test as skipped.
skip() {
	[[ -d $LBT_RUN ]] && printf '%s\n' "$*" >"$LBT_RUN/reason"
	exit 77
}

# in_ns NS CMD...: run an external command in network namespace NS ("-" = here).
in_ns() {
	local ns=$1
	shift
	if [[ $ns == - ]]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# lbtraffic NS SUBCMD ARGS...: run lbtraffic.py (serve/tally/hold) inside NS.
lbtraffic() {
	local ns=$1
	shift
	in_ns "$ns" "$LBT_PY" "$LBTRAFFIC" "$@"
}

# Microseconds since the epoch; seconds (decimals allowed) to microseconds.
lbt_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo $((10#$t)); }
lbt_s_to_us() {
	local int=${1%%.*} frac=
	[[ $1 == *.* ]] && frac=${1#*.}
	frac=${frac}000000
	echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}

# wait_for CMD TIMEOUT_S: evaluate the shell string CMD every 0.1 s until it succeeds;
# status 1 once TIMEOUT_S (decimals allowed, default 10) has passed.
wait_for() {
	local cmd=$1 end
	end=$(($(lbt_now_us) + $(lbt_s_to_us "${2:-10}")))
	while :; do
		if eval "$cmd" >/dev/null 2>&1; then return 0; fi
		(($(lbt_now_us) < end)) || return 1
		sleep 0.1
	done
}

# json_get JSON PATH [DEFAULT]: a field of the last JSON line of JSON ("ok",
# "by_backend.b1"); DEFAULT (empty if not given) when missing. Booleans print true/false.
json_get() {
	"$LBT_PY" - "$1" "$2" "${3-}" <<'EOF'
import json, sys
lines = [l for l in sys.argv[1].splitlines() if l.strip()]
v = json.loads(lines[-1]) if lines else None
for key in sys.argv[2].split("."):
    v = v.get(key) if isinstance(v, dict) else None
if v is None:
    print(sys.argv[3])
elif isinstance(v, bool):
    print("true" if v else "false")
elif isinstance(v, (dict, list)):
    print(json.dumps(v))
else:
    print(v)
EOF
}

# client_map TALLY_JSON: "SOURCE TARGET" per client of a tally with several --bind
# addresses, sorted; fails when a connection failed or a client reached two targets.
client_map() {
	"$LBT_PY" - "$1" <<'EOF'
import json, sys
r = json.loads(sys.argv[1].splitlines()[-1])
split = {s: t for s, t in r.get("by_source", {}).items() if len(t) != 1}
if r["failed"] or split or not r.get("by_source"):
    sys.exit("failed=%d errors=%s clients on several targets: %s"
             % (r["failed"], r["errors"], json.dumps(dict(list(split.items())[:5]))))
for s, t in sorted(r["by_source"].items()):
    print(s, next(iter(t)))
EOF
}

# assert_eq ACTUAL EXPECTED WHAT: fail "WHAT: expected E, got A" unless equal.
assert_eq() {
	[[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

# lbt_on_exit CMD: run the shell string CMD at cleanup, before processes are killed and
# namespaces removed (e.g. a graceful lbd shutdown). Call it from the top level.
lbt_on_exit() { LBT_EXIT_HOOKS+=("$1"); }

lbt_init_dirs() {
	mkdir -p "$LBT_RUN" "$LBT_LOGDIR"
	touch "$LBT_RUN/procs"
}

# lbt_require_env: exit 77 (skip) unless we are root, have the tools and can create
# network namespaces.
lbt_require_env() {
	[[ -n ${LBT_ENV_OK:-} ]] && return 0
	local c
	if ((EUID != 0)); then
		echo "skip: integration tests need root (network namespaces)" >&2
		exit 77
	fi
	for c in ip ethtool "$LBT_PY"; do
		command -v "$c" >/dev/null || {
			echo "skip: $c not installed" >&2
			exit 77
		}
	done
	if ! ip netns add "$LBT_PREFIX-probe" 2>/dev/null; then
		echo "skip: cannot create network namespaces" >&2
		exit 77
	fi
	ip netns del "$LBT_PREFIX-probe"
	LBT_ENV_OK=1
}

# ---------------------------------------------------------------------------- processes

# Field 22 of /proc/PID/stat (start time): a recorded PID is only ever signalled while
# its start time still matches, so a recycled PID is never hit.
lbt_proc_stat() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo "$1 ${20}" # state starttime
}

# lbt_proc_alive PID STARTTIME: true while that very process runs (zombies count as gone).
lbt_proc_alive() {
	local st
	st=$(lbt_proc_stat "$1") || return 1
	[[ ${st#* } == "$2" && ${st%% *} != Z ]]
}

# spawn NS NAME CMD...: start CMD in the background inside NS ("-" = here), output to
# $LBT_LOGDIR/NAME.log; recorded so cleanup kills it. Sets LBT_LAST_PID.
spawn() {
	local ns=$1 name=$2 st
	shift 2
	lbt_init_dirs
	# No shell function in between: $! must be the program itself (ip netns exec
	# execs it), or a kill would hit a wrapper subshell and orphan the program.
	if [[ $ns == - ]]; then
		"$@" >"$LBT_LOGDIR/$name.log" 2>&1 </dev/null &
	else
		ip netns exec "$ns" "$@" >"$LBT_LOGDIR/$name.log" 2>&1 </dev/null &
	fi
	LBT_LAST_PID=$!
	st=$(lbt_proc_stat "$LBT_LAST_PID") || st="? ?"
	echo "$LBT_LAST_PID ${st#* } $name" >>"$LBT_RUN/procs"
}

# lbt_start_lbd ARGS...: start lbd in $NS_LB with $BPFFS, $INSTANCE, $SOCK and ARGS (e.g.
# -c "$CONFIG"), its log in $LBT_LOGDIR/lbd.log; fail with the log's tail unless it says
# "ready:" within 20 s. Sets LBD_PID. On exit lbd gets SIGTERM and its datapath is torn
# down (by lbd itself when ARGS has --teardown-on-exit).
lbt_start_lbd() {
	local log
	lbt_init_dirs
	log=$LBT_LOGDIR/lbd.log
	spawn "$NS_LB" lbd "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" "$@"
	LBD_PID=$LBT_LAST_PID
	if [[ " $* " == *" --teardown-on-exit "* ]]; then
		lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5"
	else
		lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5; in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown >/dev/null 2>&1"
	fi
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $LBD_PID" 20 || true
	grep -q 'ready:' "$log" || fail "lbd did not start: $(tail -n 5 "$log")"
}

# lbt_kill_matching PATTERN: TERM every recorded process whose name matches the glob,
# KILL what is left after 3 s.
lbt_kill_matching() {
	local pattern=$1 pid start name i
	local -a pids=() starts=()
	[[ -f $LBT_RUN/procs ]] || return 0
	while read -r pid start name; do
		# shellcheck disable=SC2053
		[[ $name == $pattern ]] || continue
		lbt_proc_alive "$pid" "$start" || continue
		kill -TERM "$pid" 2>/dev/null || true
		pids+=("$pid")
		starts+=("$start")
	done <"$LBT_RUN/procs"
	for ((i = 0; i < ${#pids[@]}; i++)); do
		wait_for "! lbt_proc_alive ${pids[i]} ${starts[i]}" 3 ||
			kill -KILL "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true # reap if it is our child
	done
}

# lbt_descendants PID: every process below PID (children first listed after parents).
lbt_descendants() {
	local child
	for child in $(pgrep -P "$1"); do
		echo "$child"
		lbt_descendants "$child"
	done
}

# lbt_kill_tree PID: SIGKILL PID and everything it started (a timed-out test must not
# leave its foreground command running).
lbt_kill_tree() {
	local pids
	pids=$(lbt_descendants "$1")
	# shellcheck disable=SC2086
	kill -KILL "$1" $pids 2>/dev/null || true
}

# stop_proc NAME: stop the process(es) spawn recorded under NAME.
stop_proc() { lbt_kill_matching "$1"; }

# start_server NS NAME IP PORT [SERVE ARGS...]: run `lbtraffic.py serve` answering NAME on
# IP:PORT (TCP and UDP unless --tcp/--udp is given) and wait until it listens.
start_server() {
	lbt_spawn_server "$@"
	lbt_wait_server "$2" "$4"
}

lbt_spawn_server() {
	local ns=$1 name=$2 ip=$3 port=$4
	shift 4
	lbt_init_dirs
	rm -f "$LBT_RUN/server-$name-$port.ready"
	spawn "$ns" "server-$name-$port" "$LBT_PY" "$LBTRAFFIC" serve --name "$name" \
		--bind "$ip" --port "$port" --ready-file "$LBT_RUN/server-$name-$port.ready" \
		--fail-file "$LBT_RUN/server-$name.fail" "$@"
}

lbt_wait_server() {
	local name=$1 port=$2 ready=$LBT_RUN/server-$1-$2.ready pid start
	# The server writes its ready file after bind()+listen(): no port polling needed.
	read -r pid start _ < <(grep " server-$name-$port\$" "$LBT_RUN/procs" | tail -n 1) || true
	wait_for "[[ -e $ready ]] || ! lbt_proc_alive $pid $start" 10 || true
	[[ -e $ready ]] ||
		fail "server $name:$port did not start: $(tail -n 3 "$LBT_LOGDIR/server-$name-$port.log" 2>/dev/null)"
}

# stop_server NAME [PORT]: stop the server(s) named NAME (all ports unless PORT given).
stop_server() { lbt_kill_matching "server-$1-${2:-*}"; }

# server_fail NAME on [STATUS]|off: while on, NAME's HTTP answers carry STATUS (default 503).
server_fail() {
	case $2 in
	on) echo "${3:-503}" >"$LBT_RUN/server-$1.fail" ;;
	off) rm -f "$LBT_RUN/server-$1.fail" ;;
	*) fail "server_fail NAME on [STATUS]|off" ;;
	esac
}

# start_backends PORT [SERVE ARGS...]: server "b<i>" on 10.2.<i>.2:PORT in every backend.
start_backends() {
	local port=$1 i
	shift
	((NBACKENDS > 0)) || fail "start_backends: call topo_up first"
	for ((i = 1; i <= NBACKENDS; i++)); do
		lbt_spawn_server "${NS_BACKENDS[i - 1]}" "b$i" "${BACKEND_IPS[i - 1]}" "$port" "$@"
	done
	for ((i = 1; i <= NBACKENDS; i++)); do
		lbt_wait_server "b$i" "$port"
	done
}

# start_tls_server NS NAME IP PORT CERT [SERVE ARGS...]: tls_tool.py serve answering NAME on
# IP:PORT (an IPv6 address too) with the certificate CERT (made in $LBT_RUN the first time),
# recorded as process tls-NAME; waits until it listens.
start_tls_server() {
	local ns=$1 name=$2 ip=$3 port=$4 cert=$5 tls=$LBT_DIR/tls_tool.py
	shift 5
	lbt_init_dirs
	[[ -e $LBT_RUN/$cert.pem ]] || "$LBT_PY" "$tls" cert "$LBT_RUN" "$cert" >/dev/null
	rm -f "$LBT_RUN/tls-$name.ready"
	spawn "$ns" "tls-$name" "$LBT_PY" "$tls" serve --name "$name" --bind "$ip" --port "$port" \
		--cert "$LBT_RUN/$cert.pem" --ready-file "$LBT_RUN/tls-$name.ready" "$@"
	wait_for "[[ -e $LBT_RUN/tls-$name.ready ]]" 10 || fail "TLS server $name did not start"
}

# start_backends6 PORT [SERVE ARGS...]: server "b<i>" on [fd00:2:<i>::2]:PORT (topo_ipv6).
# A port a start_backends server already uses needs another PORT: servers are named by it.
start_backends6() {
	local port=$1 i
	shift
	((${#BACKEND_IPS6[@]} > 0)) || fail "start_backends6: call topo_ipv6 first"
	for ((i = 1; i <= NBACKENDS; i++)); do
		lbt_spawn_server "${NS_BACKENDS[i - 1]}" "b$i" "${BACKEND_IPS6[i - 1]}" "$port" "$@"
	done
	for ((i = 1; i <= NBACKENDS; i++)); do
		lbt_wait_server "b$i" "$port"
	done
}

# ---------------------------------------------------------------------------- topology

lbt_our_netns() {
	ip netns list 2>/dev/null | awk -v p="$LBT_PREFIX-" 'index($1, p) == 1 { print $1 }'
}

lbt_ns_add() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	# rp_filter: the kernel uses max(all, <if>), so "all" must be 0 too. Strict reverse
	# path filtering would drop packets the LB has rewritten (source and destination
	# no longer match the routes of the interface they arrive on); a failure must come
	# from lbd, not from the filter. IPv6 off unless a test turns it on (topo_ipv6): no
	# router solicitations or DAD packets in the middle of counted IPv4 test traffic.
	in_ns "$1" sysctl -qew net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

# lbt_veth_tune NS DEV [GRO]: TX checksum offload off on a veth end. With it on,
# packets generated in a namespace carry partial checksums (CHECKSUM_PARTIAL) and an
# incremental checksum update, as the LB's DNAT/SNAT does, yields a wrong checksum; real
# NICs hand the LB full checksums, so the test must too. rp_filter 0 on the interface as
# well. GRO on the client/backend ends puts their receive side in NAPI mode, which
# XDP_TX / XDP_REDIRECT into a veth requires.
lbt_veth_tune() {
	local ns=$1 dev=$2 gro=${3:-}
	in_ns "$ns" ethtool -K "$dev" tx off ${gro:+gro on} >/dev/null
	in_ns "$ns" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0" >/dev/null
}

# topo_up NBACKENDS: build client, LB and NBACKENDS backend namespaces (see the top).
topo_up() {
	local n=${1:?topo_up NBACKENDS} i a ns lbif
	((n >= 1 && n <= 200)) || fail "topo_up: 1..200 backends"
	lbt_require_env
	lbt_init_dirs
	topo_down # leftovers of a crashed run that had the same prefix

	NBACKENDS=$n
	NS_C=$LBT_PREFIX-c
	NS_LB=$LBT_PREFIX-lb
	NS_BACKENDS=() LB_IF_BACKENDS=() BACKEND_IPS=() BACKEND_GWS=() BACKEND_NAMES=()
	for ((i = 1; i <= n; i++)); do
		NS_BACKENDS+=("$LBT_PREFIX-b$i")
		LB_IF_BACKENDS+=("lbb$i")
		BACKEND_IPS+=("10.2.$i.2")
		BACKEND_GWS+=("10.2.$i.1")
		BACKEND_NAMES+=("b$i")
		declare -g "NS_B$i=$LBT_PREFIX-b$i" "LB_IF_B$i=lbb$i"
		export "NS_B$i" "LB_IF_B$i"
	done
	export NBACKENDS NS_C NS_LB
	log "topology $LBT_PREFIX: client, lb, $n backends"

	lbt_ns_add "$NS_C"
	lbt_ns_add "$NS_LB"
	# The LB is a router: the kernel forwards whatever its programs pass up.
	in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 >/dev/null

	ip -n "$NS_LB" link add "$LB_IF_C" type veth peer name "$C_IF" netns "$NS_C"
	ip -n "$NS_LB" addr add "$VIP/24" dev "$LB_IF_C"
	ip -n "$NS_LB" link set "$LB_IF_C" up
	{
		for a in "${CLIENT_IPS[@]}"; do echo "addr add $a/24 dev $C_IF"; done
		echo "link set $C_IF up"
		echo "route add default via $VIP"
	} | ip -n "$NS_C" -batch -
	lbt_veth_tune "$NS_C" "$C_IF" gro
	lbt_veth_tune "$NS_LB" "$LB_IF_C"

	for ((i = 1; i <= n; i++)); do
		ns=${NS_BACKENDS[i - 1]}
		lbif=${LB_IF_BACKENDS[i - 1]}
		lbt_ns_add "$ns"
		ip -n "$NS_LB" link add "$lbif" type veth peer name "$B_IF" netns "$ns"
		ip -n "$NS_LB" addr add "10.2.$i.1/24" dev "$lbif"
		ip -n "$NS_LB" link set "$lbif" up
		ip -n "$ns" addr add "10.2.$i.2/24" dev "$B_IF"
		ip -n "$ns" link set "$B_IF" up
		# Replies must come back through the LB: it translates them back to the VIP.
		ip -n "$ns" route add default via "10.2.$i.1"
		lbt_veth_tune "$ns" "$B_IF" gro
		lbt_veth_tune "$NS_LB" "$lbif"
	done
}

# topo_ipv6: IPv6 on the topology topo_up built (call after it), beside IPv4:
#
#   $NS_C  eth0 fd00:1::2/64 (+ ::3-9)  default via fd00:1::1
#   $NS_LB lbc0 fd00:1::1/64 (= $VIP6)  lbb<i> fd00:2:<i>::1/64   forwarding=1
#   $NS_B<i> eth0 fd00:2:<i>::2/64       default via fd00:2:<i>::1
#
# No duplicate address detection (addresses are usable at once) and no router
# solicitations; the links keep their link-local addresses, as neighbour discovery needs.
VIP6=fd00:1::1
CLIENT_IP6=fd00:1::2
CLIENT_IPS6=(fd00:1::2 fd00:1::3 fd00:1::4 fd00:1::5 fd00:1::6 fd00:1::7 fd00:1::8 fd00:1::9)
BACKEND_IPS6=() # fd00:2:i::2
export VIP6 CLIENT_IP6
lbt_ipv6_on() {
	local ns=$1 dev
	shift
	for dev in lo "$@"; do
		in_ns "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_dad=0" \
			"net.ipv6.conf.$dev.router_solicitations=0" "net.ipv6.conf.$dev.accept_ra=0" \
			"net.ipv6.conf.$dev.disable_ipv6=0" >/dev/null
	done
}

topo_ipv6() {
	local i a ns lbif
	((NBACKENDS > 0)) || fail "topo_ipv6: call topo_up first"
	lbt_ipv6_on "$NS_C" "$C_IF"
	lbt_ipv6_on "$NS_LB" "$LB_IF_C" "${LB_IF_BACKENDS[@]}"
	in_ns "$NS_LB" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
	ip -n "$NS_LB" addr add "$VIP6/64" dev "$LB_IF_C" nodad
	{
		for a in "${CLIENT_IPS6[@]}"; do echo "addr add $a/64 dev $C_IF nodad"; done
		echo "route add default via $VIP6"
	} | ip -n "$NS_C" -batch -
	BACKEND_IPS6=()
	for ((i = 1; i <= NBACKENDS; i++)); do
		ns=${NS_BACKENDS[i - 1]}
		lbif=${LB_IF_BACKENDS[i - 1]}
		BACKEND_IPS6+=("fd00:2:$i::2")
		lbt_ipv6_on "$ns" "$B_IF"
		ip -n "$NS_LB" addr add "fd00:2:$i::1/64" dev "$lbif" nodad
		ip -n "$ns" addr add "fd00:2:$i::2/64" dev "$B_IF" nodad
		ip -n "$ns" -6 route add default via "fd00:2:$i::1"
	done
}

# topo_static_neigh: permanent ARP entries on every link, for tests that must not depend
# on ARP resolution (an XDP fib lookup reports "no neighbour" until one exists).
topo_static_neigh() {
	local i a cmac lbmac bmac
	cmac=$(ip -n "$NS_C" -br link show dev "$C_IF" | awk '{ print $3 }')
	lbmac=$(ip -n "$NS_LB" -br link show dev "$LB_IF_C" | awk '{ print $3 }')
	for a in "${CLIENT_IPS[@]}"; do
		ip -n "$NS_LB" neigh replace "$a" lladdr "$cmac" dev "$LB_IF_C" nud permanent
	done
	ip -n "$NS_C" neigh replace "$VIP" lladdr "$lbmac" dev "$C_IF" nud permanent
	for ((i = 1; i <= NBACKENDS; i++)); do
		bmac=$(ip -n "${NS_BACKENDS[i - 1]}" -br link show dev "$B_IF" | awk '{ print $3 }')
		lbmac=$(ip -n "$NS_LB" -br link show dev "lbb$i" | awk '{ print $3 }')
		ip -n "$NS_LB" neigh replace "10.2.$i.2" lladdr "$bmac" dev "lbb$i" nud permanent
		ip -n "${NS_BACKENDS[i - 1]}" neigh replace "10.2.$i.1" lladdr "$lbmac" \
			dev "$B_IF" nud permanent
	done
}

# topo_down: stop every process the harness started, kill anything else still inside
# this run's namespaces, delete the namespaces (their veths go with them). Idempotent.
topo_down() {
	local ns pid
	lbt_kill_matching '*'
	for ns in $(lbt_our_netns); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	NBACKENDS=0
}

# ---------------------------------------------------------------------------- bpffs

# bpffs_up: a private bpffs at $LBT_RUN/bpffs, exported as $BPFFS. It is mounted in our
# mount namespace, so every `ip netns exec` (which unshares from it) sees it, and pins
# survive the command, unlike a bpffs mounted at /sys/fs/bpf inside `ip netns exec`.
bpffs_up() {
	lbt_init_dirs
	BPFFS=$LBT_RUN/bpffs
	mkdir -p "$BPFFS"
	mountpoint -q "$BPFFS" || mount -t bpf "bpf-$LBT_PREFIX" "$BPFFS"
	export BPFFS
}

# bpffs_down: unmount and remove it (idempotent). Pins inside are released.
bpffs_down() {
	local d=$LBT_RUN/bpffs
	if mountpoint -q "$d" 2>/dev/null; then
		umount "$d" 2>/dev/null || umount -l "$d"
	fi
	[[ -d $d ]] && rmdir "$d" 2>/dev/null
	return 0
}

# ---------------------------------------------------------------------------- runner

lbt_err_trap() {
	if [[ -d $LBT_RUN && ! -s $LBT_RUN/reason ]]; then
		printf "line %s: '%s' exited %s\n" "$2" "$3" "$1" >"$LBT_RUN/reason"
	fi
}

# run_test NAME: run function NAME in a subshell with errexit; print "ok NAME",
# "FAIL NAME: reason" or "skip NAME: reason". A test fails on fail(), on any failing
# command, or after LBT_TEST_TIMEOUT seconds. Variables it sets do not leak out.
# (As everywhere with errexit: `local x=$(cmd)` hides cmd's failure; declare first.)
run_test() {
	local name=$1 rc reason errexit=0 end
	[[ $- == *e* ]] && errexit=1
	lbt_init_dirs
	: >"$LBT_RUN/reason"
	set +e
	(
		set -eE -o pipefail
		shopt -s inherit_errexit
		trap 'lbt_err_trap "$?" "$LINENO" "$BASH_COMMAND"' ERR
		"$name"
	) &
	LBT_TEST_PID=$!
	end=$(($(lbt_now_us) + LBT_TEST_TIMEOUT * 1000000))
	# Bounded: poll instead of a watchdog process that could outlive the test.
	while kill -0 "$LBT_TEST_PID" 2>/dev/null && [[ $(lbt_proc_stat "$LBT_TEST_PID") != Z* ]]; do
		if (($(lbt_now_us) > end)); then
			echo "timed out after ${LBT_TEST_TIMEOUT}s" >"$LBT_RUN/reason"
			lbt_kill_tree "$LBT_TEST_PID"
			break
		fi
		sleep 0.05
	done
	wait "$LBT_TEST_PID" 2>/dev/null # (no "Killed" job notice after a timeout)
	rc=$?
	LBT_TEST_PID=
	((errexit)) && set -e
	reason=$(head -c 500 "$LBT_RUN/reason" | tr '\n' ' ')
	reason=${reason% }
	if ((rc == 0)); then
		echo "ok $name"
		LBT_PASSED=$((LBT_PASSED + 1))
	elif ((rc == 77)); then
		echo "skip $name: ${reason:-skipped}"
		LBT_SKIPPED=$((LBT_SKIPPED + 1))
	else
		echo "FAIL $name: ${reason:-exit status $rc}"
		LBT_FAILED=$((LBT_FAILED + 1))
	fi
	return 0
}

# run_summary: print "N passed, N failed"; status 1 if any failed, 77 if all skipped.
run_summary() {
	((LBT_SKIPPED == 0)) || log "$LBT_SKIPPED skipped"
	echo "$LBT_PASSED passed, $LBT_FAILED failed"
	((LBT_FAILED == 0)) || return 1
	((LBT_PASSED > 0 || LBT_SKIPPED == 0)) || return 77
	return 0
}

# ---------------------------------------------------------------------------- cleanup

# lbt_cleanup: the EXIT trap. Hooks, processes, bpffs, namespaces, directories; never
# stops half way (errexit off) and keeps the script's exit status.
lbt_cleanup() {
	local rc=$? i
	[[ $BASHPID == "$LBT_MAIN_PID" ]] || return 0
	set +e
	trap - ERR
	if [[ -n $LBT_TEST_PID ]]; then
		lbt_kill_tree "$LBT_TEST_PID"
		wait "$LBT_TEST_PID" 2>/dev/null
	fi
	for ((i = ${#LBT_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${LBT_EXIT_HOOKS[i]}"
	done
	topo_down
	bpffs_down
	if [[ -n $LBT_PREFIX && -d $LBT_RUN ]] && ! mountpoint -q "$LBT_RUN/bpffs" 2>/dev/null; then
		rm -rf "$LBT_RUN"
	fi
	if [[ -d $LBT_LOGDIR ]]; then
		if [[ $LBT_KEEP_LOGS == 1 || ($LBT_KEEP_LOGS == auto && ($rc != 0 || $LBT_FAILED != 0)) ]]; then
			log "logs kept in $LBT_LOGDIR"
		else
			rm -rf "$LBT_LOGDIR"
		fi
	fi
	return "$rc"
}

trap lbt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
