#!/bin/bash
# Three lbd nodes behind ECMP, announced over BGP by BIRD 2, with real connections, on the
# topology of cluster.sh (a client, a BIRD router, three nodes and three backends on one L2
# segment).
#
# Covers (docs/scale-out.md): the router installs one route per node; new connections
# spread over the three nodes (each at least 20%) and every node sends a flow to the
# same target (lbctl trace on each); dsr: a node cut off (lbd and BIRD killed, link down)
# under 100 long-lived connections and a steady stream of new ones loses no established
# connection (the others pick the flows up and send them to the same targets) and new
# connections fail only while BFD detects it; `lbctl node drain --wait` under the same
# load: nothing fails and the node takes no new connection after its withdrawal; a node
# whose proxy has no healthy target withdraws it while the others keep it; full-nat: a
# node cut off loses only the connections it carried. Counts go to the log.
#
# Usage: test_cluster.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

# shellcheck disable=SC2034 # cluster.sh's
LBD=$(realpath "${1:?lbd binary}")
# shellcheck disable=SC2034
LBCTL=$(realpath "${2:?lbctl binary}")
command -v bird >/dev/null || {
	echo "1..0 # SKIP bird (Debian's bird2) is not installed: scripts/install-deps.sh test"
	exit 77
}
cluster_up

# ---------------------------------------------------------------------------- tests
test_ecmp_spread_and_same_choice() {
	local out i n t per=() total=0 want
	expect_nexthops "10.3.0.11 10.3.0.12 10.3.0.13" 40
	for n in "${NODES[@]}"; do per+=("$(new_flows "$n" fnat)"); done
	out=$(lbtraffic "$NS_C" tally --host "$VIPS" --port 81 --count 300 --timeout 90)
	assert_eq "$(json_get "$out" ok)" 300 "full-nat connections through three nodes ($out)"
	for i in 0 1 2; do
		n=$(($(new_flows "${NODES[i]}" fnat) - per[i]))
		log "node ${NODES[i]}: $n of 300 new connections"
		((n >= 60)) || fail "node ${NODES[i]} carried $n of 300 (want at least 20%)"
		total=$((total + n))
	done
	assert_eq "$total" 300 "connections counted by the nodes"
	# Every node's datapath picks the same target for a client (same config and seed).
	for port in 40001 40002 40003 40004 40005 40006 40007 40008; do
		want=
		for n in "${NODES[@]}"; do
			out=$(lbctl_on "$n" --json trace dsr "10.1.0.2:$port")
			assert_eq "$(json_get "$out" forwarding)" dsr "trace's forwarding mode on $n"
			assert_eq "$(json_get "$out" verdict) $(json_get "$out" destination)" \
				"transmit $VIPS:80" "trace's dsr verdict on $n"
			t=$(json_get "$out" target.address)
			[[ -n $t ]] || fail "no target from trace on $n"
			[[ -z $want || $t == "$want" ]] || fail "client port $port: $n picks $t, another node $want"
			want=$t
		done
	done
}

test_node_drain_under_load() {
	local before after rc=0 out
	hold_and_stream 80
	out=$(lbctl_on n2 node drain --wait --timeout 60s 2>&1) || rc=$?
	assert_eq "$rc" 0 "node drain --wait on n2 ($out)"
	expect_nexthops "10.3.0.11 10.3.0.13"
	before=$(new_flows n2 dsr)
	sleep 3
	after=$(new_flows n2 dsr)
	stop_load
	log "drain of n2: long-lived $HOLD; new $STREAM; n2 new flows after the withdrawal: $((after - before))"
	assert_eq "$(json_get "$HOLD" failed)" 0 "long-lived connections failed during the drain ($HOLD)"
	assert_eq "$(json_get "$STREAM" failed)" 0 "new connections failed during the drain ($STREAM)"
	assert_eq "$after" "$before" "new flows on n2 after its withdrawal"
	lbctl_on n2 node undrain >/dev/null
	expect_nexthops "10.3.0.11 10.3.0.12 10.3.0.13"
}

# Both proxies listen on the address: it goes when neither has a healthy target on n3.
test_no_healthy_target_withdraws_one_node() {
	local b
	for b in 21 22 23; do
		lbctl_on n3 set-target-status dsr "10.3.0.$b:80" unhealthy >/dev/null
	done
	sleep 1
	assert_eq "$(nexthops)" "10.3.0.11 10.3.0.12 10.3.0.13" "next hops while fnat still serves on n3"
	for b in 21 22 23; do
		lbctl_on n3 set-target-status fnat "10.3.0.$b:81" unhealthy >/dev/null
	done
	expect_nexthops "10.3.0.11 10.3.0.12"
	lbctl_on n3 node status | grep -q "withheld: $VIPS: no healthy target" ||
		fail "n3: $(lbctl_on n3 node status)"
	for b in 21 22 23; do
		lbctl_on n3 set-target-status dsr "10.3.0.$b:80" auto >/dev/null
		lbctl_on n3 set-target-status fnat "10.3.0.$b:81" auto >/dev/null
	done
	expect_nexthops "10.3.0.11 10.3.0.12 10.3.0.13"
	# The targets ramp back in on n3 (health.c): until the ramp ends its tables differ
	# from the other nodes', and a flow another node hands it could land elsewhere.
	wait_for "weights_settled n3 dsr && weights_settled n3 fnat" 60 ||
		fail "n3's weights did not settle: $(lbctl_on n3 health)"
}

test_dsr_node_failure_keeps_connections() {
	local t0 t1
	hold_and_stream 80
	t0=$(lbt_now_us)
	cut n1
	expect_nexthops "10.3.0.12 10.3.0.13" 10
	t1=$(lbt_now_us)
	sleep 3
	stop_load
	log "dsr, n1 cut: router withdrew it after $(((t1 - t0) / 1000)) ms; long-lived $HOLD; new $STREAM"
	assert_eq "$(json_get "$HOLD" failed)" 0 "long-lived dsr connections lost with n1 ($HOLD)"
	assert_eq "$(json_get "$HOLD" ok)" 100 "long-lived dsr connections ($HOLD)"
}

test_fullnat_node_failure_loses_only_its_own() {
	local carried
	hold_and_stream 81
	carried=$(proxy_counter n2 fnat active-connections)
	cut n2
	expect_nexthops "10.3.0.13" 10
	sleep 10
	stop_load
	log "full-nat, n2 cut (it carried $carried of the 100): long-lived $HOLD; new $STREAM"
	(($(json_get "$HOLD" failed) <= carried)) ||
		fail "$(json_get "$HOLD" failed) long-lived connections failed, n2 carried $carried ($HOLD)"
	(($(json_get "$HOLD" ok) >= 100 - carried)) || fail "connections through n3 lost ($HOLD)"
}

run_test test_ecmp_spread_and_same_choice
run_test test_node_drain_under_load
run_test test_no_healthy_target_withdraws_one_node
run_test test_dsr_node_failure_keeps_connections
run_test test_fullnat_node_failure_loses_only_its_own
run_summary
