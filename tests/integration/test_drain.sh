#!/bin/bash
# Draining end to end: long-lived connections on backend b1 keep flowing while b1 gets no
# new connection; the drain completes when the last of them closes, times out without
# cutting any, or is cancelled; a rolling restart of every backend under constant load
# loses nothing.
#
# Usage: test_drain.sh PATH/TO/lbd PATH/TO/lbctl PATH/TO/rolling-update.sh
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
ROLLING=$(realpath "${3:?rolling-update.sh}")
INSTANCE=dr

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 50}]}],
 "settings": {"drain-check-interval-ms": 200, "default-drain-timeout-ms": 30000}}
EOF
lbt_start_lbd --teardown-on-exit -c "$CONFIG"

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" --port 80 "$@"; }
share() { json_get "$1" "by_backend.$2" 0; }
B1=10.2.1.2:8080

# hold_on_b1 NAME SECONDS...: one long-lived echo connection per duration, all on b1
# (weights are pointed at b1 while they connect, then restored: established flows stay).
# Hold I also ends, cleanly, once $LBT_RUN/NAME-I.stop exists.
hold_on_b1() {
	local name=$1 s i=0
	shift
	lbctl set-weights web $B1@100 10.2.2.2:8080@0 >/dev/null
	for s in "$@"; do
		i=$((i + 1))
		lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds "$s" --interval 100 \
			--until-file "$LBT_RUN/$name-$i.stop" >"$LBT_LOGDIR/$name-$i.log" 2>&1 &
		echo $! >"$LBT_RUN/$name-$i.pid"
		wait_for "grep -q start '$LBT_LOGDIR/$name-$i.log'" 5 || fail "hold $i did not connect"
		grep -q '"backend": "b1"' "$LBT_LOGDIR/$name-$i.log" || fail "hold $i is not on b1"
	done
	lbctl set-weights web $B1@50 10.2.2.2:8080@50 >/dev/null
}

# holds_ok NAME N: every hold ended on its own with all its echoes intact.
holds_ok() {
	local i out
	for ((i = 1; i <= $2; i++)); do
		wait "$(cat "$LBT_RUN/$1-$i.pid")" 2>/dev/null || true
		out=$(tail -n 1 "$LBT_LOGDIR/$1-$i.log")
		assert_eq "$(json_get "$out" ok)" true "held connection $i ($out)"
	done
}

drain_field() {
	lbctl --json drain-status web --target $B1 |
		"$LBT_PY" -c 'import json,sys; d=json.load(sys.stdin)["drains"]; print(d[0][sys.argv[1]] if d else "none")' "$1"
}

# ---------------------------------------------------------------------------- tests

# Three held connections close one by one; the drain follows them down and completes.
test_drain_completes_when_the_last_closes() {
	local out rc=0 i
	hold_on_b1 h 60 60 60
	lbctl --json drain web $B1 --timeout 30s --wait >"$LBT_LOGDIR/drain-wait.log" 2>&1 &
	local waiter=$!
	wait_for "[[ \$(drain_field status) == draining ]]" 3 || fail "drain did not start"
	assert_eq "$(drain_field initial-connections)" 3 "initial connections"
	out=$(tally --count 200)
	assert_eq "$(json_get "$out" ok)" 200 "new connections during the drain ($out)"
	assert_eq "$(share "$out" b1)" 0 "new connections that reached the draining b1"
	# End the holds one by one: the count follows each down, the last completes the drain.
	for i in 1 2; do
		touch "$LBT_RUN/h-$i.stop"
		wait_for "[[ \$(drain_field current-connections) == $((3 - i)) ]]" 10 ||
			fail "the count did not fall to $((3 - i)): $(drain_field current-connections)"
		assert_eq "$(drain_field status)" draining "status with $((3 - i)) left"
	done
	touch "$LBT_RUN/h-3.stop"
	wait_for "[[ \$(drain_field status) == completed ]]" 10 ||
		fail "drain did not complete: $(drain_field current-connections) left"
	assert_eq "$(drain_field current-connections)" 0 "connections left at completion"
	wait "$waiter" || rc=$?
	assert_eq "$rc" 0 "lbctl drain --wait exit status"
	grep -q '"status":"completed"' "$LBT_LOGDIR/drain-wait.log" || fail "no final status"
	grep -q '"current-connections":2' "$LBT_LOGDIR/drain-wait.log" ||
		fail "no progress notification seen: $(cat "$LBT_LOGDIR/drain-wait.log")"
	holds_ok h 3
	out=$(tally --count 100)
	assert_eq "$(share "$out" b1)" 0 "a completed drain keeps b1 out until undrain"
	lbctl undrain web $B1 >/dev/null
	out=$(tally --count 300)
	(($(share "$out" b1) > 100)) || fail "b1 not back after undrain ($out)"
}

# A short timeout ends the drain as "timeout"; the connections are not cut.
test_drain_timeout_cuts_nothing() {
	local rc=0 out
	hold_on_b1 t 6 6
	out=$(lbctl drain web $B1 --timeout 1500ms --wait 2>&1) || rc=$?
	assert_eq "$rc" 4 "lbctl exit status on timeout ($out)"
	[[ $out == *"timed out"* ]] || fail "unclear timeout message: $out"
	assert_eq "$(drain_field status)" timeout "drain status"
	holds_ok t 2
	lbctl undrain web $B1 >/dev/null
}

# Undrain during a drain: the waiter learns "cancelled", b1 gets its share again.
test_undrain_cancels_a_waiting_drain() {
	local rc=0 out
	hold_on_b1 u 5
	lbctl drain web $B1 --wait >"$LBT_LOGDIR/drain-cancel.log" 2>&1 &
	local waiter=$!
	wait_for "[[ \$(drain_field status) == draining ]]" 3 || fail "drain did not start"
	out=$(lbctl --json undrain web $B1)
	assert_eq "$(json_get "$out" previous-status)" draining "undrain result ($out)"
	wait "$waiter" || rc=$?
	assert_eq "$rc" 5 "lbctl drain --wait exit status when cancelled"
	grep -q cancelled "$LBT_LOGDIR/drain-cancel.log" || fail "waiter not told: $(cat "$LBT_LOGDIR/drain-cancel.log")"
	out=$(tally --count 400)
	local b1
	b1=$(share "$out" b1)
	((b1 >= 160 && b1 <= 240)) || fail "b1 got $b1 of 400 after undrain, want about half"
	holds_ok u 1
}

# Draining every target of a group is refused: nothing could take new connections.
test_draining_the_last_target_is_refused() {
	local rc=0 out
	lbctl drain web $B1 >/dev/null
	out=$(lbctl drain web 10.2.2.2:8080 2>&1) || rc=$?
	assert_eq "$rc" 1 "exit status of draining the last target"
	[[ $out == *"without a target for new connections"* ]] || fail "unclear refusal: $out"
	out=$(tally --count 50)
	assert_eq "$(share "$out" b2)" 50 "b2 still serves"
	lbctl undrain web $B1 >/dev/null
}

# The same state reached from the other side: with b1 drained, a set-weights or a reload
# that leaves b1 the only target with a weight is refused, and nothing changes.
test_weights_cannot_leave_only_drained_targets() {
	local rc=0 out before
	lbctl drain web $B1 >/dev/null
	before=$(lbctl --json health web)
	out=$(lbctl set-weights web $B1@100 10.2.2.2:8080@0 2>&1) || rc=$?
	assert_eq "$rc" 1 "exit status of set-weights leaving only b1 ($out)"
	[[ $out == *"every target with a weight there is drained"* ]] || fail "unclear refusal: $out"
	cp "$CONFIG" "$LBT_RUN/lb.json.orig"
	sed 's/"weight": 50},/"weight": 100},/; s/"weight": 50}]/"weight": 0}]/' "$LBT_RUN/lb.json.orig" >"$CONFIG"
	rc=0
	out=$(lbctl reload 2>&1) || rc=$?
	cp "$LBT_RUN/lb.json.orig" "$CONFIG"
	assert_eq "$rc" 1 "exit status of a reload leaving only b1 ($out)"
	[[ $out == *"every target with a weight there is drained"* ]] || fail "unclear refusal: $out"
	assert_eq "$(lbctl --json health web)" "$before" "weights after the refusals"
	out=$(tally --count 50)
	assert_eq "$(share "$out" b2)" 50 "b2 still serves"
	lbctl undrain web $B1 >/dev/null
}

# Every backend restarted in turn under constant load: not one connection fails.
test_rolling_restart_under_load() {
	local out load_log=$LBT_LOGDIR/rolling-load.log replace=$LBT_RUN/replace.sh
	# The "deployment": stop backend i's server, start a new one, return once it listens.
	cat >"$replace" <<EOF
#!/bin/bash
set -eu
i=\${TARGET:5:1}
old=\$(awk -v n="server-b\$i-8080" '\$3 == n { p = \$1 } END { print p }' "$LBT_RUN/procs")
kill "\$old"
ready="$LBT_RUN/server-b\$i-8080.ready"
rm -f "\$ready"
for _ in \$(seq 100); do
	ip netns exec "$LBT_PREFIX-b\$i" "$LBT_PY" "$LBTRAFFIC" serve --name "b\$i" \\
		--bind "\${TARGET%:*}" --port 8080 --ready-file "\$ready" </dev/null >/dev/null 2>&1 &
	echo "\$! 0 server-b\$i-8080" >>"$LBT_RUN/procs"
	sleep 0.2
	[[ -e \$ready ]] && exit 0 # (the old one may still hold the port: retry)
done
exit 1
EOF
	chmod +x "$replace"
	# Load for as long as the rolling update takes, however busy the machine (--req-timeout
	# 10: on two shared cores a slow answer is not a lost connection).
	rm -f "$LBT_RUN/rolling.done"
	tally --count 10000000 --concurrency 4 --timeout 600 --req-timeout 10 \
		--until-file "$LBT_RUN/rolling.done" >"$load_log" 2>&1 &
	local load=$!
	sleep 0.5
	LBCTL="$LBCTL" "$ROLLING" -s "$SOCK" --timeout 20s web "$replace" $B1 10.2.2.2:8080 \
		>"$LBT_LOGDIR/rolling.log" 2>&1 ||
		fail "rolling update failed: $(tail -n 5 "$LBT_LOGDIR/rolling.log")"
	touch "$LBT_RUN/rolling.done"
	wait "$load" || true
	out=$(tail -n 1 "$load_log")
	log "load during the rolling restart: $out"
	assert_eq "$(json_get "$out" failed)" 0 "failed connections during the rolling restart ($out)"
	assert_eq "$(json_get "$out" ok)" "$(json_get "$out" total)" "connections served ($out)"
	(($(json_get "$out" ok) >= 100)) || fail "too little load to prove anything ($out)"
	grep -q "all targets updated" "$LBT_LOGDIR/rolling.log" || fail "update incomplete"
	[[ $(lbctl --json drain-status) == '{"drains":[]}' ]] || fail "drains left behind"
}

run_test test_drain_completes_when_the_last_closes
run_test test_drain_timeout_cuts_nothing
run_test test_undrain_cancels_a_waiting_drain
run_test test_draining_the_last_target_is_refused
run_test test_weights_cannot_leave_only_drained_targets
run_test test_rolling_restart_under_load
run_summary
