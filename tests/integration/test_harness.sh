#!/bin/bash
# Self-test of the integration harness, without lbd: the LB namespace is a plain router,
# the client talks to each backend by its own address (10.2.i.2). Proves the topology,
# the traffic tool, the runner and the cleanup before any load balancer is involved.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=8080

lbt_require_env
topo_up 3
bpffs_up
start_backends "$PORT"

test_topology() {
	local i a addrs
	# (Captured first: `cmd | grep -q` under pipefail fails when grep exits early.)
	addrs=$(ip -n "$NS_C" -o addr show dev "$C_IF")
	for a in "${CLIENT_IPS[@]}"; do
		[[ $addrs == *" $a/24 "* ]] || fail "client lacks $a"
	done
	[[ $(ip -n "$NS_LB" -o addr show dev "$LB_IF_C") == *" $VIP/24 "* ]] || fail "no VIP"
	[[ $(ip -n "$NS_C" route show default) == *"via $VIP "* ]] || fail "client default route"
	for ((i = 1; i <= NBACKENDS; i++)); do
		[[ $(ip -n "$NS_LB" -o addr show dev "lbb$i") == *" 10.2.$i.1/24 "* ]] ||
			fail "lbb$i address"
		[[ $(ip -n "${NS_BACKENDS[i - 1]}" route show default) == *"via 10.2.$i.1 "* ]] ||
			fail "backend $i default route"
		[[ ${BACKEND_IPS[i - 1]} == "10.2.$i.2" ]] || fail "BACKEND_IPS[$((i - 1))]"
		local nsvar=NS_B$i ifvar=LB_IF_B$i
		[[ ${!nsvar} == "${NS_BACKENDS[i - 1]}" && ${!ifvar} == lbb$i ]] || fail "NS_B$i/LB_IF_B$i"
	done
	# Offload must really be off on every end, or BPF checksum updates go wrong.
	local ns dev
	for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do
		for dev in $(ip -n "$ns" -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
			[[ $(in_ns "$ns" ethtool -k "$dev") == *$'\ntx-checksumming: off'* ]] ||
				fail "$ns/$dev: tx checksum offload still on"
		done
		[[ $(ip -n "$ns" -br link show dev lo | awk '{ print $2 }') != DOWN ]] || fail "$ns: lo down"
	done
}

test_lb_is_plain_router() {
	local dev
	# No load balancer here: the LB namespace just forwards (topo_up set this up).
	assert_eq "$(in_ns "$NS_LB" sysctl -n net.ipv4.ip_forward)" 1 ip_forward
	for dev in all default "$LB_IF_C" "${LB_IF_BACKENDS[@]}"; do
		assert_eq "$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$dev.rp_filter")" 0 "rp_filter $dev"
	done
}

test_tcp_tally_each_backend() {
	local i out
	for ((i = 1; i <= NBACKENDS; i++)); do
		out=$(lbtraffic "$NS_C" tally --host "10.2.$i.2" --port "$PORT" --count 300 --timeout 30)
		assert_eq "$(json_get "$out" ok)" 300 "b$i ok ($out)"
		assert_eq "$(json_get "$out" by_backend.b$i)" 300 "b$i count"
	done
}

test_udp_tally_each_backend() {
	local i out
	for ((i = 1; i <= NBACKENDS; i++)); do
		out=$(lbtraffic "$NS_C" tally --proto udp --host "10.2.$i.2" --port "$PORT" \
			--count 300 --timeout 30)
		assert_eq "$(json_get "$out" ok)" 300 "b$i ok ($out)"
		assert_eq "$(json_get "$out" by_backend.b$i)" 300 "b$i count"
	done
}

test_curl_and_source_addresses() {
	command -v curl >/dev/null || skip "curl not installed"
	local i a body peer out
	for ((i = 1; i <= NBACKENDS; i++)); do
		body=$(in_ns "$NS_C" curl -sS --max-time 5 "http://10.2.$i.2:$PORT/")
		assert_eq "$body" "b$i" "curl body"
	done
	# Every extra client address routes through the LB and back (source-route tests).
	for a in "${CLIENT_IPS[@]}"; do
		peer=$(in_ns "$NS_C" curl -sS --max-time 5 --interface "$a" -o /dev/null \
			-w '%header{x-peer}' "http://10.2.1.2:$PORT/")
		[[ $peer == "$a":* ]] || fail "backend saw '$peer' for source $a"
		out=$(lbtraffic "$NS_C" tally --bind "$a" --host 10.2.2.2 --port "$PORT" --count 20 --proto udp)
		assert_eq "$(json_get "$out" ok)" 20 "udp from $a"
	done
}

test_hold_stays_while_load_runs() {
	local out log=$LBT_LOGDIR/hold.log
	spawn "$NS_C" hold "$LBT_PY" "$LBTRAFFIC" hold --host 10.2.2.2 --port "$PORT" \
		--seconds 3 --interval 50
	local pid=$LBT_LAST_PID
	wait_for "grep -q '\"event\": \"start\"' $log" 5 || fail "hold did not start"
	assert_eq "$(json_get "$(head -n 1 "$log")" backend)" b2 "hold start backend"
	# New connections meanwhile, to the same and another backend.
	out=$(lbtraffic "$NS_C" tally --host 10.2.2.2 --port "$PORT" --count 500)
	assert_eq "$(json_get "$out" ok)" 500 "tally during hold"
	wait_for "! kill -0 $pid" 10 || fail "hold did not finish"
	out=$(tail -n 1 "$log")
	assert_eq "$(json_get "$out" ok)" true "hold result ($out)"
	assert_eq "$(json_get "$out" backend)" b2 "hold backend"
	(($(json_get "$out" exchanges) >= 30)) || fail "too few exchanges: $out"
	# The UDP variant: one socket, one flow, the backend must never change.
	out=$(lbtraffic "$NS_C" hold --proto udp --host 10.2.3.2 --port "$PORT" --seconds 1 \
		--interval 50)
	assert_eq "$(json_get "$out" ok)" true "udp hold ($out)"
}

test_local_servers_in_lb_namespace() {
	local out
	# A "local target" on loopback and a "local service" on the LB's own address.
	start_server "$NS_LB" local 127.0.0.1 9000 --tcp
	start_server "$NS_LB" vipsvc "$VIP" 9001
	out=$(lbtraffic "$NS_LB" tally --host 127.0.0.1 --port 9000 --count 50)
	assert_eq "$(json_get "$out" by_backend.local)" 50 "local target ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 9001 --count 50 --proto udp)
	assert_eq "$(json_get "$out" by_backend.vipsvc)" 50 "service on VIP ($out)"
	stop_server local
	stop_server vipsvc
	out=$(lbtraffic "$NS_LB" tally --host 127.0.0.1 --port 9000 --count 5 --req-timeout 2)
	assert_eq "$(json_get "$out" failed)" 5 "stopped server still answers ($out)"
}

test_failures_are_reported() {
	local out code
	# Nothing listens on port 9: every attempt fails fast and says why.
	out=$(lbtraffic "$NS_C" tally --host 10.2.1.2 --port 9 --count 20)
	assert_eq "$(json_get "$out" ok)" 0 "ok to closed port"
	assert_eq "$(json_get "$out" failed)" 20 "failed to closed port"
	[[ $(json_get "$out" errors) == *Refused* ]] || fail "no error text: $out"
	out=$(lbtraffic "$NS_C" tally --proto udp --host 10.2.1.2 --port 9 --count 5 --req-timeout 1)
	assert_eq "$(json_get "$out" failed)" 5 "udp to closed port"
	# The total timeout bounds a tally that cannot succeed (no host has 10.2.1.99).
	out=$(lbtraffic "$NS_C" tally --proto udp --host 10.2.1.99 --port 9 --count 50 \
		--concurrency 5 --timeout 1 --req-timeout 0.5)
	assert_eq "$(json_get "$out" failed)" 50 "bounded tally"
	(($(json_get "$out" elapsed_s | cut -d. -f1) < 3)) || fail "tally overran: $out"
	# A backend can be made to fail HTTP (for health-check tests) and recover.
	server_fail b1 on
	code=$(in_ns "$NS_C" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://10.2.1.2:$PORT/health")
	assert_eq "$code" 503 "failing backend"
	server_fail b1 off
	code=$(in_ns "$NS_C" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://10.2.1.2:$PORT/health")
	assert_eq "$code" 200 "recovered backend"
	# wait_for is bounded.
	local t0=$SECONDS
	if wait_for false 0.5; then fail "wait_for false succeeded"; fi
	((SECONDS - t0 <= 2)) || fail "wait_for overran"
}

test_sni_clienthello() {
	local out
	out=$(lbtraffic "$NS_C" tally --host 10.2.3.2 --port "$PORT" --count 20 --sni api.example.com)
	assert_eq "$(json_get "$out" by_backend.b3)" 20 "TLS peek ($out)"
}

test_bpffs_survives_ip_netns_exec() {
	mountpoint -q "$BPFFS" || fail "$BPFFS not mounted"
	assert_eq "$(in_ns "$NS_LB" stat -f -c %T "$BPFFS")" bpf_fs "bpffs type inside the lb ns"
	local bpftool
	bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
	[[ -x $bpftool ]] || skip "bpftool not installed"
	in_ns "$NS_LB" "$bpftool" map create "$BPFFS/probe" type array key 4 value 4 entries 1 name lbt_probe
	[[ -e $BPFFS/probe ]] || fail "pin made under ip netns exec is gone"
	rm -f "$BPFFS/probe"
}

test_runner_counts_and_reports() {
	local out rc=0
	# A nested run of the runner itself (its own prefix, nothing to set up).
	out=$(LBT_PREFIX='' LBT_KEEP_LOGS=0 bash -c '
		set -euo pipefail
		. "$1"
		t_ok() { true; }
		t_fail() { fail "deliberate"; }
		t_err() { false; echo unreachable; }
		t_subst() { local x; x=$(fail "inside subst"); }
		t_skip() { skip "not today"; }
		for t in t_ok t_fail t_err t_subst t_skip; do run_test "$t"; done
		run_summary' _ "$LBT_DIR/lib.sh" 2>/dev/null) || rc=$?
	assert_eq "$rc" 1 "runner exit status"
	grep -qx 'ok t_ok' <<<"$out" || fail "no ok line: $out"
	grep -qx 'FAIL t_fail: deliberate' <<<"$out" || fail "no FAIL line: $out"
	grep -q "^FAIL t_err: line .*'false' exited 1" <<<"$out" || fail "no ERR reason: $out"
	grep -qx 'FAIL t_subst: inside subst' <<<"$out" || fail "subst reason: $out"
	grep -qx 'skip t_skip: not today' <<<"$out" || fail "no skip line: $out"
	assert_eq "$(tail -n 1 <<<"$out")" "1 passed, 3 failed" "summary line"
}

# Last: tear down (twice: idempotent) and prove nothing is left behind.
test_teardown_leaves_nothing() {
	local left
	topo_down
	topo_down
	bpffs_down
	bpffs_down
	left=$(lbt_our_netns)
	[[ -z $left ]] || fail "namespaces left: $left"
	# Veths never exist in the root namespace; make sure none leaked there.
	left=$(ip -o link show type veth | grep -E ': (lbc0|lbb[0-9]+)[@:]' || true)
	[[ -z $left ]] || fail "veths left: $left"
	left=$(grep " $LBT_RUN/" /proc/self/mounts || true)
	[[ -z $left ]] || fail "mounts left: $left"
	local pid start name
	while read -r pid start name; do
		! lbt_proc_alive "$pid" "$start" || fail "process left: $pid $name"
	done <"$LBT_RUN/procs"
	left=$(pgrep -f -- "$LBT_RUN/" || true)
	[[ -z $left ]] || fail "processes left: $(ps -o pid=,args= -p "${left//$'\n'/,}")"
}

run_test test_topology
run_test test_lb_is_plain_router
run_test test_tcp_tally_each_backend
run_test test_udp_tally_each_backend
run_test test_curl_and_source_addresses
run_test test_hold_stays_while_load_runs
run_test test_local_servers_in_lb_namespace
run_test test_failures_are_reported
run_test test_sni_clienthello
run_test test_bpffs_survives_ip_netns_exec
run_test test_runner_counts_and_reports
run_test test_teardown_leaves_nothing
run_summary
