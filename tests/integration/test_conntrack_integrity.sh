#!/bin/bash
# Conntrack integrity across what operators do: a restart longer than an idle timeout
# while a flow keeps sending, and ids of removed targets and proxies while their flows
# still run.
#
#  - The datapath's clock stands still while no lbd runs: packets of that time are
#    stamped with its last value. A UDP flow keeps sending through a stop longer than the
#    UDP idle timeout; the restarted lbd must not expire it (with its configuration now
#    pointing new flows elsewhere, an expired flow would come back on another backend).
#  - A removed target's id is not given to a new target while a flow carries it: the new
#    target's counters and drain see none of the old flow. A removed proxy's id is not
#    given to a new proxy either, and the old flow's events still name the old proxy.
#
# Usage: test_conntrack_integrity.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=ctint

lbt_require_env
topo_up 3
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
ACCESS=$LBT_LOGDIR/access.log
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# hold NAME ARGS...: one long-lived echo flow from the client; ends when NAME.stop exists.
hold() {
	local name=$1
	shift
	lbtraffic "$NS_C" hold --host "$VIP" --interval 200 --seconds 120 \
		--until-file "$LBT_RUN/$name.stop" --pause-file "$LBT_RUN/$name.pause" "$@" \
		>"$LBT_LOGDIR/$name.log" 2>&1 &
	echo $! >"$LBT_RUN/$name.pid"
	wait_for "grep -q start '$LBT_LOGDIR/$name.log'" 5 || fail "hold $name did not start"
}

# hold_end NAME: end the hold and wait for its verdict, then in $HOLD_OUT (not from a
# command substitution: that subshell could not wait for the hold).
hold_end() {
	touch "$LBT_RUN/$1.stop"
	wait "$(cat "$LBT_RUN/$1.pid")" 2>/dev/null || true
	HOLD_OUT=$(tail -n 1 "$LBT_LOGDIR/$1.log")
}

# start: a fresh lbd on $CONFIG, after whatever an earlier test left running.
start() {
	if [[ -s $LBT_RUN/lbd.pid ]] && kill -0 "$(cat "$LBT_RUN/lbd.pid")" 2>/dev/null; then
		kill -TERM "$(cat "$LBT_RUN/lbd.pid")"
		wait_for "! kill -0 $(cat "$LBT_RUN/lbd.pid")" 10 || fail "lbd did not stop"
	fi
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 || true
	lbt_start_lbd -c "$CONFIG"
	echo "$LBD_PID" >"$LBT_RUN/lbd.pid"
}

# A stop longer than the UDP idle timeout (4 s) while the flow keeps sending; the flow
# is quiet for the first 2 s of the new lbd (its sweeper runs every second), then goes on.
test_udp_flow_survives_a_long_stop() {
	cat >"$CONFIG" <<EOF
{"proxies": [{"name": "dns", "listen": {"interfaces": ["$LB_IF_C"], "port": 53, "protocol": "udp"},
  "default-target": {"ip": "10.2.1.2", "port": 8080}}],
 "settings": {"udp-timeout-sec": 4}}
EOF
	start
	hold udp --port 53 --proto udp
	grep -q '"backend": "b1"' "$LBT_LOGDIR/udp.log" || fail "the flow did not start on b1"
	# New flows would go to b2 from now on: a flow expired and made again shows.
	sed -i 's/10.2.1.2/10.2.2.2/' "$CONFIG"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	sleep 6 # the datapath forwards on its own, its clock standing still
	touch "$LBT_RUN/udp.pause"
	lbt_start_lbd -c "$CONFIG"
	echo "$LBD_PID" >"$LBT_RUN/lbd.pid"
	sleep 2 # a sweep or two: the flow was last seen during the stop, not 6 s ago
	rm "$LBT_RUN/udp.pause"
	sleep 2
	hold_end udp
	[[ $(json_get "$HOLD_OUT" ok) == true ]] || fail "the UDP flow did not survive the stop: $HOLD_OUT"
	log "UDP flow across a 6 s stop: $HOLD_OUT"
}

config_web() { # TARGETS...: proxy web on :80 with these backends (one or two), $EXTRA_PROXY
	local t json="" sep="" w=100
	(($# == 2)) && w=50
	for t in "$@"; do
		json+="$sep{\"ip\": \"$t\", \"port\": 8080, \"weight\": $w}"
		sep=", "
	done
	cat >"$CONFIG" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [$json]}$EXTRA_PROXY],
 "settings": {"stats-enabled": true, "access-log": "$ACCESS"}}
EOF
}

target_counter() { # TARGET FIELD
	lbctl --json stats web | "$LBT_PY" -c 'import json,sys
t = [t for t in json.load(sys.stdin)["proxies"][0]["targets"] if t["target"] == sys.argv[1]]
print(t[0]["counters"][sys.argv[2]] if t else "none")' "$1" "$2"
}

# A removed target's flow goes on; the target added after it is charged nothing of it.
test_new_target_does_not_inherit_an_old_flow() {
	local out before
	EXTRA_PROXY=""
	config_web 10.2.2.2
	start
	hold tcp --port 80
	grep -q '"backend": "b2"' "$LBT_LOGDIR/tcp.log" || fail "the flow did not start on b2"
	config_web 10.2.1.2 # b2 goes (its flow stays on it: conntrack pins it)
	lbctl reload >/dev/null
	config_web 10.2.1.2 10.2.3.2 # b3 comes
	lbctl reload >/dev/null
	before=$(target_counter 10.2.3.2:8080 packets-in)
	sleep 2 # the held flow exchanges 10 lines meanwhile
	assert_eq "$(target_counter 10.2.3.2:8080 packets-in)" "$before" "b3's packets while b2's flow runs"
	assert_eq "$(target_counter 10.2.3.2:8080 active-connections)" 0 "b3's open connections"
	out=$(lbctl --json drain web 10.2.3.2:8080 --timeout 5s)
	assert_eq "$(json_get "$out" initial-connections)" 0 "b3's connections when its drain starts"
	lbctl undrain web 10.2.3.2:8080 >/dev/null
	out=$(lbctl --json connections --proxy web)
	[[ $out == *'"backend":"10.2.2.2:8080"'* ]] || fail "connections lost the b2 flow: $out"
	hold_end tcp
	[[ $(json_get "$HOLD_OUT" ok) == true ]] || fail "the b2 flow broke: $HOLD_OUT"
	wait_for "grep -q '\"target\":\"10.2.2.2:8080\"' '$ACCESS'" 10 ||
		fail "no access log line for the b2 flow: $(tail -n 3 "$ACCESS")"
}

# A removed proxy's flow goes on; the proxy added after it is not named in its events.
test_new_proxy_does_not_inherit_an_old_flow() {
	local line
	EXTRA_PROXY=", {\"name\": \"old\", \"listen\": {\"interfaces\": [\"$LB_IF_C\"], \"port\": 81}, \"default-target\": {\"ip\": \"10.2.1.2\", \"port\": 8080}}"
	config_web 10.2.1.2
	lbctl reload >/dev/null
	hold old --port 81
	EXTRA_PROXY=""
	config_web 10.2.1.2 # "old" goes
	lbctl reload >/dev/null
	EXTRA_PROXY=", {\"name\": \"new\", \"listen\": {\"interfaces\": [\"$LB_IF_C\"], \"port\": 82}, \"default-target\": {\"ip\": \"10.2.1.2\", \"port\": 8080}}"
	config_web 10.2.1.2 # "new" comes
	lbctl reload >/dev/null
	[[ $(lbctl --json connections) == *'"proxy":"old"'* ]] ||
		fail "connections does not name the old proxy: $(lbctl --json connections)"
	hold_end old
	wait_for "grep -q '\"listener\":\"$VIP:81\"' '$ACCESS'" 10 || fail "no access log line for :81"
	line=$(grep "\"listener\":\"$VIP:81\"" "$ACCESS" | tail -n 1)
	[[ $line == *'"proxy":"old"'* ]] || fail "the old proxy's flow is logged as another's: $line"
}

run_test test_udp_flow_survives_a_long_stop
run_test test_new_target_does_not_inherit_an_old_flow
run_test test_new_proxy_does_not_inherit_an_old_flow
run_summary
