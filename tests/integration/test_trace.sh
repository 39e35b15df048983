#!/bin/bash
# lbctl trace against real traffic: a client namespace with 50 IPv4 and 8 IPv6 addresses,
# the LB, four backends (b<i>, which answer with their name), the real lbd and lbctl.
#
# Covers: for every client of a proxy with source-address affinity (and a source route),
# `lbctl trace` names the target that client's real connections reached (IPv4 and IPv6),
# and creates no flow; with 5-tuple hashing, the trace of a held connection's exact
# 5-tuple reports its conntrack entry and target even after set-weights took that
# target's weight away, while other ports of the client get a new flow's answer; the text
# output; bad input (unknown proxy, bad address, port given twice, wrong family, protocol
# or interface) gives a clear error and exit status.
#
# Usage: test_trace.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=trace

lbt_require_env
topo_up 4
topo_ipv6
bpffs_up
start_backends 8080        # b<i> on 10.2.<i>.2:8080
start_backends6 8081 --tcp # b<i> on [fd00:2:<i>::2]:8081

CLIENTS=()
for i in $(seq 10 59); do CLIENTS+=("10.1.0.$i"); done
{
	for a in "${CLIENTS[@]}"; do echo "addr add $a/24 dev $C_IF"; done
} | ip -n "$NS_C" -batch -
commas() {
	local IFS=,
	echo "$*"
}

B6_1=${BACKEND_IPS6[0]} B6_2=${BACKEND_IPS6[1]} B6_3=${BACKEND_IPS6[2]} B6_4=${BACKEND_IPS6[3]}
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "sticky", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "hash": "source-address",
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.4.2", "port": 8080, "weight": 25}],
   "source-routes": [{"source": "10.1.0.48/29", "target": {"ip": "10.2.4.2", "port": 8080}}]},
  {"name": "tuple", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 81},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.4.2", "port": 8080, "weight": 25}]},
  {"name": "six", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 86},
   "hash": "source-address",
   "default-target": [{"ip": "$B6_1", "port": 8081, "weight": 25},
                      {"ip": "$B6_2", "port": 8081, "weight": 25},
                      {"ip": "$B6_3", "port": 8081, "weight": 25},
                      {"ip": "$B6_4", "port": 8081, "weight": 25}]}],
 "settings": {"ingress": "$INGRESS", "stats-enabled": true}}
EOF
lbt_start_lbd -c "$CONFIG"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# backend_name ADDR:PORT: b<i> for 10.2.<i>.2:PORT or [fd00:2:<i>::2]:PORT.
backend_name() {
	sed -E 's/^10\.2\.([0-9]+)\.2:[0-9]+$/b\1/; s/^\[fd00:2:([0-9]+)::2\]:[0-9]+$/b\1/' <<<"$1"
}

# trace_map PROXY CLIENT...: "CLIENT BACKEND" per client, from lbctl --json trace.
trace_map() {
	local proxy=$1 c out
	shift
	for c in "$@"; do
		out=$(lbctl --json trace "$proxy" "$c") || fail "trace $proxy $c: $out"
		echo "$c $(backend_name "$(json_get "$out" target.address)")"
	done | sort
}

# Every client of "sticky" (source-address affinity; 10.1.0.48/29 routed to b4): the
# trace names the backend its 3 real connections reached, and the answers are not all
# one backend (the test can tell). The traces create no flow.
test_trace_agrees_with_traffic() {
	local out real traced
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 150 \
		--bind "$(commas "${CLIENTS[@]}")" --timeout 60)
	real=$(client_map "$out" 2>&1) || fail "sticky: $real"
	log "sticky: 50 clients over $(json_get "$out" by_backend)"
	out=$(lbctl --json trace sticky 10.1.0.10)
	log "first trace: trace instance loaded in $(json_get "$out" load-ms) ms, run $(json_get "$out" run-us) us"
	(($(cut -d' ' -f2 <<<"$real" | sort -u | wc -l) >= 3)) || fail "too few backends: $real"
	traced=$(trace_map sticky "${CLIENTS[@]}")
	[[ $traced == "$real" ]] ||
		fail "trace disagrees with traffic: $(diff <(echo "$real") <(echo "$traced") | head -5)"
	out=$(lbctl --json trace sticky 10.1.0.50)
	assert_eq "$(json_get "$out" route.kind)" source-route "route of 10.1.0.50 ($out)"
	assert_eq "$(json_get "$out" route.source)" 10.1.0.48/29 "route prefix ($out)"
	assert_eq "$(json_get "$out" target.address)" 10.2.4.2:8080 "route target ($out)"
	out=$(lbctl --json trace sticky 10.1.0.20)
	assert_eq "$(json_get "$out" route.kind)" default "route of 10.1.0.20 ($out)"
	assert_eq "$(json_get "$out" hash.mode)" source-address "hash ($out)"
	assert_eq "$(json_get "$out" listener.address)" "$VIP" "listener ($out)"
	assert_eq "$(json_get "$out" listener.interface)" "$LB_IF_C" "interface ($out)"
	assert_eq "$(json_get "$out" selection.method)" maglev "selection ($out)"
	# A client that never sent a packet: its traces leave no flow behind.
	lbctl --json trace sticky 10.1.0.200:40000 >/dev/null
	lbctl --json trace tuple 10.1.0.200:40000 >/dev/null
	out=$(lbctl --json connections --client 10.1.0.200)
	[[ $out != *10.1.0.200* ]] || fail "a trace left a flow: $out"
}

# IPv6 clients of "six": the trace agrees with real connections too.
test_trace_ipv6() {
	local out real traced
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 86 --count 24 \
		--bind "$(commas "${CLIENT_IPS6[@]}")")
	real=$(client_map "$out" 2>&1) || fail "six: $real"
	traced=$(trace_map six "${CLIENT_IPS6[@]}")
	[[ $traced == "$real" ]] ||
		fail "IPv6 trace disagrees: $(diff <(echo "$real") <(echo "$traced") | head -5)"
	out=$(lbctl --json trace six "[$CLIENT_IP6]:5555")
	assert_eq "$(json_get "$out" client)" "[$CLIENT_IP6]:5555" "client ($out)"
	assert_eq "$(json_get "$out" listener.address)" "$VIP6" "listener ($out)"
}

# "tuple" (5-tuple hashing): a held connection. After set-weights takes its backend's
# weight away, the trace of its exact 5-tuple still names that backend, from conntrack;
# another port of the same client gets a new flow's answer, never that backend.
test_trace_conntrack() {
	local out conn client backend name i others=""
	spawn "$NS_C" hold "$LBT_PY" "$LBTRAFFIC" hold --host "$VIP" --port 81 --seconds 30 \
		--interval 100 --bind "$CLIENT_IP" --until-file "$LBT_RUN/hold.stop"
	wait_for "grep -q start '$LBT_LOGDIR/hold.log'" 5 || fail "hold did not connect"
	name=$(sed -nE '1s/.*"backend": "(b[0-9]+)".*/\1/p' "$LBT_LOGDIR/hold.log")
	wait_for "lbctl --json connections --proxy tuple | grep -q $CLIENT_IP" 5 ||
		fail "no tracked connection of the hold"
	conn=$(lbctl --json connections --proxy tuple)
	client=$(json_get "$conn" connections | "$LBT_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["client"])')
	backend=$(json_get "$conn" connections | "$LBT_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["backend"])')
	assert_eq "$(backend_name "$backend")" "$name" "the hold's backend"
	log "held connection $client -> $backend ($name)"
	local weights=() share=33
	for i in 1 2 3 4; do
		if [[ b$i == "$name" ]]; then
			weights+=("10.2.$i.2:8080@0")
		else
			weights+=("10.2.$i.2:8080@$share")
			share=$((share == 33 && ${#weights[@]} >= 2 ? 34 : 33))
		fi
	done
	lbctl set-weights tuple "${weights[@]}" >/dev/null || fail "set-weights ${weights[*]}"
	out=$(lbctl --json trace tuple "$client")
	assert_eq "$(json_get "$out" conntrack.target)" "$backend" "conntrack target ($out)"
	assert_eq "$(json_get "$out" conntrack.state)" established "conntrack state ($out)"
	assert_eq "$(json_get "$out" destination)" "$backend" "destination ($out)"
	assert_eq "$(json_get "$out" target)" "" "a new-flow answer beside conntrack ($out)"
	(($(json_get "$out" conntrack.packets) >= 2)) || fail "conntrack packets ($out)"
	out=$(lbctl trace tuple "$client")
	log "$out"
	[[ $out == *"answer    $backend"*"already exists in conntrack (established"* ]] ||
		fail "text: $out"
	for i in 1 2 3 4 5 6 7 8; do
		out=$(lbctl --json trace tuple "$CLIENT_IP:$((20000 + i))")
		assert_eq "$(json_get "$out" conntrack)" "" "conntrack of an unused port ($out)"
		others+=" $(json_get "$out" target.address)"
	done
	[[ $others != *"$backend"* ]] || fail "a new flow would go to weight 0: $others"
	touch "$LBT_RUN/hold.stop"
	wait_for "! kill -0 $LBT_LAST_PID" 10 || true
	lbctl reload >/dev/null
}

# The text output of a new flow: the answer first, then why, and the client port note.
test_text_output() {
	local out
	out=$(lbctl trace tuple 10.1.0.30)
	log "$out"
	[[ $out == "tuple: 10.1.0.30:49152 -> $VIP:81/tcp on $LB_IF_C"* ]] || fail "header: $out"
	[[ $out == *"answer    10.2."*"why       new flow; no source route matches -> default group"* ]] ||
		fail "answer/why: $out"
	[[ $out == *"hash 5-tuple"*"Maglev table slot "*" of "*"note      client port 49152 is lbctl's default"* ]] ||
		fail "hash/slot/note: $out"
	[[ $out == *"mode      nat forwarding"* ]] || fail "forwarding: $out"
	out=$(lbctl trace sticky 10.1.0.50:1234)
	log "$out"
	[[ $out == *"source route 10.1.0.48/29 -> group"*"hash source-address /32: every connection of this client's /32"* ]] ||
		fail "sticky text: $out"
	[[ $out != *note* ]] || fail "a port note with the port given: $out"
}

# expect_error STATUS TEXT lbctl ARGS...: the command fails with STATUS and says TEXT.
expect_error() {
	local status=$1 text=$2 out rc=0
	shift 2
	out=$(lbctl "$@" 2>&1) || rc=$?
	assert_eq "$rc" "$status" "exit status of lbctl $* ($out)"
	[[ $out == *"$text"* ]] || fail "lbctl $*: expected '$text' in: $out"
}

test_bad_input() {
	expect_error 1 'no proxy named "nope"' trace nope 10.1.0.2
	expect_error 3 'is not an IP address' trace sticky 10.1.0
	expect_error 3 'is not a valid port' trace sticky 10.1.0.2:70000
	expect_error 3 'tcp|udp' trace sticky 10.1.0.2 --proto sctp
	expect_error 1 'already says its port' trace sticky 10.1.0.2:5555 --port 6666
	expect_error 1 'has no IPv6 listener address on' trace sticky "$CLIENT_IP6"
	expect_error 1 "listens on $VIP6 only: give an IPv6 client" trace six 10.1.0.2
	expect_error 1 'does not listen on udp' trace sticky 10.1.0.2 --proto udp
	expect_error 1 'is not a listening interface of proxy "sticky"' trace sticky 10.1.0.2 \
		--interface lo
	expect_error 3 'is not an IP address' --json trace sticky 'fd00::g'
}

run_test test_trace_agrees_with_traffic
run_test test_trace_ipv6
run_test test_trace_conntrack
run_test test_text_output
run_test test_bad_input
run_summary
