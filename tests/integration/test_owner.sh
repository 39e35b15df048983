#!/bin/bash
# One lbd per datapath. lbd A runs an instance with a source route, an SNI proxy and a
# proxy added at runtime. Then a second lbd B with another configuration tries the same
# instance and socket, the same socket under another instance, the same instance under
# another socket, and `lbd --teardown` tries to remove A's instance: each is refused with a
# sentence naming A (pid, socket) and exits non-zero, and A's configuration, its maps
# and its traffic are exactly as before. `lbd --teardown --force` does remove it, and A
# notices and exits non-zero instead of answering for listeners that are gone.
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
CONFIG_A=$(lbctl --json get-config)
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
run_test test_forced_teardown_stops_a
A_RC=0
kill -0 "$A_PID" 2>/dev/null && kill -TERM "$A_PID" # (still running: that test failed)
wait "$A_PID" 2>/dev/null || A_RC=$?
run_test test_a_exited_non_zero
run_summary
