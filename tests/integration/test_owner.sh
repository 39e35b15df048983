#!/bin/bash
# One lbd per datapath. lbd A runs an instance with a source route, an SNI proxy and a
# proxy added at runtime. Then a second lbd B with another configuration tries the same
# instance and socket, the same socket under another instance, the same instance under
# another socket, and `lbd --teardown` tries to remove A's instance: each is refused with a
# sentence naming A (pid, socket) and exits non-zero, and A's configuration, its maps
# and its traffic are exactly as before. `lbd --teardown --force` does remove it, and A
# notices and exits non-zero instead of answering for listeners that are gone.
#
# Instances share interfaces' hooks (one tc handle and priority, one XDP slot): an lbd of
# another instance configured on A's interface is refused with a sentence naming A's
# instance, and `lbd --teardown` of another instance leaves A's filters; A's filters, its
# counters and its traffic stay A's. Then A again: stopped (its datapath keeps serving and
# stays A's), restarted (it replaces its own filters), stopped with its pins removed by
# hand (its filters are orphans, which another instance may replace).
#
# Usage: test_owner.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=own

lbt_require_env
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}],
   "source-routes": [{"source": "10.1.0.3/32", "target": {"ip": "10.2.2.2", "port": 8080}}]},
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "b2.example.com", "target": {"ip": "10.2.2.2", "port": 8080}}]}]}
EOF
lbt_start_lbd -c "$CONFIG"
A_PID=$LBD_PID
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
lbctl add-proxy api --interface "$LB_IF_C" --port 8000 10.2.1.2:8080 >/dev/null
PIN=$BPFFS/lbd/$INSTANCE

# What A serves, as seen from outside: the configuration, the maps, where traffic goes.
maps() {
	local m
	for m in lb_listen lb_routes lb_groups lb_pnames lb_tnames lb_owner; do
		echo "== $m"
		bpftool -j map dump pinned "$PIN/$m" 2>&1 || true
	done
}
traffic() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 40)
	echo "web: ok $(json_get "$out" ok) b1>0 $(($(json_get "$out" by_backend.b1 0) > 0))"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 10 --bind 10.1.0.3)
	echo "routed: $(json_get "$out" by_backend)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 443 --count 10 --sni b2.example.com)
	echo "sni: $(json_get "$out" by_backend)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 8000 --count 10)
	echo "api: $(json_get "$out" by_backend)"
}
# The tc filters on A's interface: "ingress <ids> egress <ids>".
filters() {
	local dir
	for dir in ingress egress; do
		printf '%s%s ' "$dir" "$(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" "$dir" |
			{ grep -o ' id [0-9]*' || true; } | tr -d '\n')"
	done
}
# A's count of requests its programs rewrote.
dnat() { json_get "$(lbctl --json stats)" global.dnat; }
CONFIG_A=$(lbctl --json get-config)
FILTERS_A=$(filters)
[[ $FILTERS_A =~ ^ingress\ id\ [0-9]+\ egress\ id\ [0-9]+\ $ ]] ||
	fail "A's filters on $LB_IF_C are not one per direction: $FILTERS_A"
ROUTES_A=$(lbctl --json list-source-routes)
MAPS_A=$(maps)
TRAFFIC_A=$(traffic)
log "A (pid $A_PID) serves: $(echo "$TRAFFIC_A" | tr '\n' ';')"
[[ $TRAFFIC_A == *"sni: {\"b2\": 10}"* && $TRAFFIC_A == *'routed: {"b2": 10}'* &&
	$TRAFFIC_A == *'api: {"b1": 10}'* ]] || fail "A does not serve as configured: $TRAFFIC_A"

B_CONFIG=$LBT_RUN/b.json
cat >"$B_CONFIG" <<EOF
{"proxies": [{"name": "other", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": {"ip": "10.2.2.2", "port": 8080}}]}
EOF

# run_b NAME ARGS...: run lbd B (or a teardown) to its end; its stderr in $B_OUT, status in $B_RC.
run_b() {
	local name=$1
	shift
	B_RC=0
	in_ns "$NS_LB" timeout 30 "$LBD" --bpffs "$BPFFS" "$@" >"$LBT_LOGDIR/$name.log" 2>&1 || B_RC=$?
	B_OUT=$(cat "$LBT_LOGDIR/$name.log")
}

# A is untouched: alive, same configuration, routes, maps, traffic.
a_unchanged() {
	kill -0 "$A_PID" || fail "lbd A exited"
	assert_eq "$(lbctl --json get-config)" "$CONFIG_A" "A's get-config after $1"
	assert_eq "$(lbctl --json list-source-routes)" "$ROUTES_A" "A's source routes after $1"
	[[ "$(maps)" == "$MAPS_A" ]] || fail "A's maps changed after $1: $(diff <(echo "$MAPS_A") <(maps) | head -20)"
	assert_eq "$(traffic)" "$TRAFFIC_A" "A's traffic after $1"
}

# served_by_a WHAT: B exited non-zero, refused by a sentence naming the interface, A's
# instance and what to do.
served_by_a() {
	((B_RC != 0 && B_RC != 124)) || fail "$1: exit status $B_RC, expected a refusal: $B_OUT"
	[[ $B_OUT == *"$LB_IF_C is served by another lbd instance, $INSTANCE "* &&
		$B_OUT == *"lbd --bpffs $BPFFS --instance $INSTANCE --teardown"* ]] ||
		fail "$1: the refusal does not say that $INSTANCE serves $LB_IF_C: $B_OUT"
	[[ ! -e $BPFFS/lbd/exb ]] || fail "$1: the refused lbd left pins: $(ls "$BPFFS/lbd/exb")"
	log "$1: $(grep -m1 'served by' <<<"$B_OUT")"
}

# a_forwards WHAT: A's filters are the ones it attached, and its programs (its counters)
# forward A's traffic.
a_forwards() {
	local before
	assert_eq "$(filters)" "$FILTERS_A" "A's tc filters on $LB_IF_C after $1"
	before=$(dnat)
	a_unchanged "$1"
	(($(dnat) > before)) || fail "A's dnat counter stood still after $1 ($before)"
}

# refused WHAT: B exited non-zero with a sentence naming A's pid and socket.
refused() {
	((B_RC != 0 && B_RC != 124)) || fail "$1: exit status $B_RC, expected a refusal: $B_OUT"
	[[ $B_OUT == *"pid $A_PID"* && $B_OUT == *"$SOCK"* ]] ||
		fail "$1: the refusal does not name A (pid $A_PID, $SOCK): $B_OUT"
	log "$1: $(grep -m1 -E 'pid [0-9]+' <<<"$B_OUT")"
}

test_same_instance_same_socket() {
	run_b same -c "$B_CONFIG" --instance "$INSTANCE" --socket "$SOCK"
	refused "same instance, same socket"
	a_unchanged "a second lbd on A's instance and socket"
}

test_same_socket_other_instance() {
	run_b socket -c "$B_CONFIG" --instance other --socket "$SOCK"
	refused "same socket, another instance"
	[[ ! -e $BPFFS/lbd/other ]] || fail "the refused lbd left pins at $BPFFS/lbd/other"
	a_unchanged "a second lbd on A's socket"
}

test_other_socket_same_instance() {
	run_b instance -c "$B_CONFIG" --instance "$INSTANCE" --socket "$LBT_RUN/b.sock"
	refused "another socket, same instance"
	[[ ! -e $LBT_RUN/b.sock ]] || fail "the refused lbd left its socket"
	a_unchanged "a second lbd on A's instance"
}

test_teardown_refused_while_a_runs() {
	run_b teardown --instance "$INSTANCE" --teardown
	refused "lbd --teardown"
	[[ $B_OUT == *"--force"* ]] || fail "the refusal does not say how to override: $B_OUT"
	a_unchanged "lbd --teardown"
}

test_check_needs_no_lock() {
	run_b check -c "$B_CONFIG" --instance "$INSTANCE" --socket "$SOCK" --check
	assert_eq "$B_RC" 0 "lbd --check beside a running lbd ($B_OUT)"
	a_unchanged "lbd --check"
}

# Another instance with a configuration on A's interface (the hooks every instance
# attaches at are the same) is refused before it attaches anything.
test_other_instance_on_a_interface() {
	run_b other-instance -c "$B_CONFIG" --instance exb --socket "$LBT_RUN/b.sock"
	served_by_a "another instance on $LB_IF_C"
	a_forwards "another instance on $LB_IF_C"
}

# `lbd --teardown` of an instance whose pins say it served A's interface (its tc_ mark,
# pinned here by hand: a refused lbd never gets that far) removes its pins, not A's filters.
test_other_teardown_leaves_a() {
	local id
	id=$(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" ingress | grep -o ' id [0-9]*')
	mkdir -p "$BPFFS/lbd/exb"
	[[ -e $BPFFS/lbd/exb/tc_$LB_IF_C ]] ||
		bpftool prog pin id "${id# id }" "$BPFFS/lbd/exb/tc_$LB_IF_C"
	run_b other-teardown --instance exb --teardown
	assert_eq "$B_RC" 0 "lbd --instance exb --teardown ($B_OUT)"
	[[ ! -e $BPFFS/lbd/exb ]] || fail "exb's pins are still there: $(ls "$BPFFS/lbd/exb")"
	a_forwards "lbd --instance exb --teardown"
}

# Last: --force removes A's datapath from under it; A says so and exits non-zero.
test_forced_teardown_stops_a() {
	run_b force --instance "$INSTANCE" --teardown --force
	assert_eq "$B_RC" 0 "lbd --teardown --force ($B_OUT)"
	[[ ! -e $PIN ]] || fail "the pins are still there"
	wait_for "! kill -0 $A_PID" 10 || fail "lbd A still runs on a datapath that is gone"
	grep -q "was removed under this lbd" "$LBT_LOGDIR/lbd.log" ||
		fail "A did not say why it stopped: $(tail -n 3 "$LBT_LOGDIR/lbd.log")"
}

# (A is a child of this script, not of a test's subshell: its status is read here.)
test_a_exited_non_zero() {
	((A_RC != 0 && A_RC != 127)) || fail "lbd A exited with status $A_RC after losing its datapath"
}

run_test test_same_instance_same_socket
run_test test_same_socket_other_instance
run_test test_other_socket_same_instance
run_test test_teardown_refused_while_a_runs
run_test test_check_needs_no_lock
run_test test_other_instance_on_a_interface
run_test test_other_teardown_leaves_a
run_test test_forced_teardown_stops_a
A_RC=0
kill -0 "$A_PID" 2>/dev/null && kill -TERM "$A_PID" # (still running: that test failed)
wait "$A_PID" 2>/dev/null || A_RC=$?
run_test test_a_exited_non_zero

# web's traffic goes to N connections' worth of backends: "ok N by {...}".
web() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count "$1")
	echo "ok $(json_get "$out" ok) by $(json_get "$out" by_backend)"
}

# A stopped: its datapath keeps serving, and is still A's instance's.
test_other_instance_while_a_is_stopped() {
	kill -TERM "$A_PID"
	wait_for "! kill -0 $A_PID" 10 || fail "lbd A did not stop"
	grep -q "datapath left running" "$LBT_LOGDIR/lbd.log" || fail "A did not leave its datapath"
	[[ $(web 20) == "ok 20 "* ]] || fail "A's datapath does not serve while A is stopped"
	run_b stopped -c "$B_CONFIG" --instance exb --socket "$LBT_RUN/b.sock"
	served_by_a "another instance while A is stopped"
	assert_eq "$(filters)" "$FILTERS_A" "A's tc filters while A is stopped"
	[[ $(web 20) == "ok 20 "* ]] || fail "A's datapath stopped serving: $(web 1)"
}

# A started again adopts its datapath and replaces its own filters with its new programs.
test_restart_replaces_own_filters() {
	grep -q "$LB_IF_C: adopted the running datapath" "$LBT_LOGDIR/lbd.log" ||
		fail "A did not adopt $LB_IF_C: $(grep "$LB_IF_C" "$LBT_LOGDIR/lbd.log")"
	[[ $(filters) =~ ^ingress\ id\ [0-9]+\ egress\ id\ [0-9]+\ $ && $(filters) != "$FILTERS_A" ]] ||
		fail "A's filters after its restart: $(filters), before: $FILTERS_A"
	local before
	before=$(dnat)
	[[ $(web 40) == "ok 40 "* ]] || fail "the restarted A does not serve"
	(($(dnat) >= before + 40)) || fail "A's new programs did not count the requests"
}

# A gone and its pins removed by hand: the filters it left serve maps nobody can reach.
# Another instance may replace them (then serves $LB_IF_C alone), and removes them as it
# stops.
test_orphan_filters_replaced() {
	local log=$LBT_LOGDIR/lbd-exb.log pid
	kill -TERM "$A_PID"
	wait_for "! kill -0 $A_PID" 10 || fail "lbd A did not stop"
	rm -r "$BPFFS/lbd/$INSTANCE"
	spawn "$NS_LB" lbd-exb "$LBD" --bpffs "$BPFFS" --instance exb --socket "$LBT_RUN/b.sock" \
		--teardown-on-exit -c "$B_CONFIG"
	pid=$LBT_LAST_PID
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $pid" 20 || true
	grep -q 'ready:' "$log" || fail "B did not replace orphan filters: $(tail -n 3 "$log")"
	grep -q "replacing the tc egress filter of an lbd whose datapath is no longer pinned" "$log" ||
		fail "B did not say it replaced an orphan: $(grep "$LB_IF_C" "$log")"
	assert_eq "$(web 20)" 'ok 20 by {"b2": 20}' "web through B's datapath"
	stop_proc lbd-exb
	assert_eq "$(filters)" "ingress egress " "filters after B's teardown on exit"
}

# Phase 2: A again from its configuration file.
lbt_start_lbd -c "$CONFIG"
A_PID=$LBD_PID
FILTERS_A=$(filters)
run_test test_other_instance_while_a_is_stopped
lbt_start_lbd -c "$CONFIG"
A_PID=$LBD_PID
run_test test_restart_replaces_own_filters
run_test test_orphan_filters_replaced
run_summary
