#!/bin/bash
# lbd --takeover: a new lbd takes the running one's place without a refused or reset
# connection. 20 spliced TLS connections exchange a line every 200 ms and new TLS
# connections arrive at 20 a second while lbd is replaced (twice: the second time from
# an lbd that itself took over), then a plain TCP flow balanced in the kernel is checked
# too. Zero resets, zero refused, zero lost lines.
#
# Usage: test_takeover.sh PATH/TO/lbd PATH/TO/lbctl [SPLICE-MODE]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
SPLICE=${3:-auto}
INSTANCE=takeover
TLS=$LBT_DIR/tls_tool.py

lbt_require_env
command -v openssl >/dev/null || {
	echo "skip: openssl not installed" >&2
	exit 77
}
topo_up 2
bpffs_up
for i in 1 2; do
	start_tls_server "${NS_BACKENDS[i - 1]}" "b$i" "10.2.$i.2" 8443 "b$i"
done
start_backends 8080

SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8443},
   "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.2.2", "port": 8443}}]},
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]}],
 "settings": {"sni-splice": "$SPLICE"}}
EOF
lbt_start_lbd -c "$CONFIG"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# The lbd serving now (tests run in subshells: the pid lives in a file).
echo "$LBD_PID lbd" >"$LBT_RUN/current"
current_pid() { cut -d' ' -f1 "$LBT_RUN/current"; }
current_log() { echo "$LBT_LOGDIR/$(cut -d' ' -f2 "$LBT_RUN/current").log"; }

# take_over NAME: an lbd that takes over from the running one, which must hand over and
# exit (with status 0 when this shell started it); NAME is then the current lbd.
take_over() {
	local log=$LBT_LOGDIR/$1.log old old_log rc=0 pid
	old=$(current_pid)
	old_log=$(current_log)
	spawn "$NS_LB" "$1" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--takeover -c "$CONFIG"
	pid=$LBT_LAST_PID
	lbt_on_exit "kill -TERM $pid 2>/dev/null; sleep 0.5"
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $pid" 20 || true
	grep -q 'ready:' "$log" || fail "$1 did not start: $(tail -n 5 "$log")"
	echo "$pid $1" >"$LBT_RUN/current"
	[[ -z $old ]] && return 0
	wait_for "! kill -0 $old" 10 || fail "the old lbd (pid $old) still runs after the hand-over"
	if wait "$old" 2>/dev/null; then :; else rc=$?; fi
	((rc == 0 || rc == 127)) || fail "the lbd that handed over exited with status $rc"
	grep -q "handed over to lbd pid $pid" "$old_log" ||
		fail "no hand-over in $old_log: $(tail -n 5 "$old_log")"
}

# ---------------------------------------------------------------------------- tests

test_tls_connections_survive_two_takeovers() {
	local out held_up
	rm -f "$LBT_RUN/load.stop" "$LBT_RUN/load.ready"
	in_ns "$NS_C" "$LBT_PY" "$TLS" load --host "$VIP" --port 443 --sni api.example.com \
		--hold 20 --interval 200 --rate 20 --seconds 120 --until-file "$LBT_RUN/load.stop" \
		--ready-file "$LBT_RUN/load.ready" >"$LBT_RUN/load.out" &
	local load=$!
	wait_for "[[ -e $LBT_RUN/load.ready ]]" 20 || fail "the 20 TLS connections did not come up"
	held_up=$(lbctl --json list-proxies | "$LBT_PY" -c '
import json, sys
p = [p for p in json.load(sys.stdin)["proxies"] if p["name"] == "tls"][0]
print(p["sni-acceptor"]["connections"])')
	((held_up >= 20)) || fail "lbd splices $held_up connections, expected 20 or more"
	sleep 1

	take_over lbd-b
	[[ -S $SOCK ]] || fail "the control socket went with the hand-over"
	grep -q "taking over from lbd pid $LBD_PID: 1 SNI acceptor" "$LBT_LOGDIR/lbd-b.log" ||
		fail "lbd-b did not say what it took over: $(grep -i taking "$LBT_LOGDIR/lbd-b.log")"
	sleep 2 # ten more exchanges on every connection, 40 new connections
	take_over lbd-c
	sleep 2
	touch "$LBT_RUN/load.stop"
	wait "$load" || true
	out=$(cat "$LBT_RUN/load.out")
	log "load across two take-overs: $out"
	assert_eq "$(json_get "$out" held)" 20 "held connections"
	assert_eq "$(json_get "$out" held_errors)" "[]" "errors on held connections"
	assert_eq "$(json_get "$out" new_failed)" 0 "new connections that failed"
	(($(json_get "$out" new_ok) >= 60)) || fail "too few new connections: $out"
	# 200 ms apart for 5+ s: each held connection kept exchanging through both.
	(($(json_get "$out" min_exchanges) >= 20)) || fail "a connection stalled: $out"
}

# A next lbd that hangs up half-way, or speaks another ABI: the running one carries on.
test_failed_takeover_keeps_serving() {
	local out abi pid
	pid=$(current_pid)
	abi=$("$LBD" --version | sed -n 's/.*BPF ABI \([0-9]*\).*/\1/p')
	rm -f "$LBT_RUN/load.stop" "$LBT_RUN/load.ready"
	in_ns "$NS_C" "$LBT_PY" "$TLS" load --host "$VIP" --port 443 --sni api.example.com \
		--hold 5 --interval 200 --rate 10 --seconds 60 --until-file "$LBT_RUN/load.stop" \
		--ready-file "$LBT_RUN/load.ready" >"$LBT_RUN/load.out" &
	local load=$!
	wait_for "[[ -e $LBT_RUN/load.ready ]]" 20 || fail "the TLS connections did not come up"
	out=$(in_ns "$NS_LB" "$LBT_PY" "$LBT_DIR/fake_taker.py" "$BPFFS" "$INSTANCE" "$SOCK" \
		"$abi" --records 4)
	log "a taker that hung up after: $out"
	[[ $out == *'"begin", "control", "sni-acceptor", "splicer"'* ]] || fail "records: $out"
	out=$(in_ns "$NS_LB" "$LBT_PY" "$LBT_DIR/fake_taker.py" "$BPFFS" "$INSTANCE" "$SOCK" \
		999 --records 0)
	[[ $out == *'"kind": "refused"'*"BPF ABI $abi"*"999"* ]] || fail "no refusal: $out"
	sleep 1.5
	touch "$LBT_RUN/load.stop"
	wait "$load" || true
	out=$(cat "$LBT_RUN/load.out")
	assert_eq "$(json_get "$out" held_errors)" "[]" "held connections after failed take-overs"
	assert_eq "$(json_get "$out" new_failed)" 0 "new connections after failed take-overs ($out)"
	kill -0 "$pid" || fail "the running lbd stopped"
	# the taker hangs up mid-transfer: lbd notices while sending or while waiting for
	# the confirmation, whichever comes first (slower under sanitizers)
	grep -Eq "hand-over to lbd pid [0-9]+ failed \((sending|waiting for its confirmation)" \
		"$(current_log)" ||
		fail "the running lbd did not say the hand-over failed"
	grep -q "refused: this lbd speaks hand-over protocol 1 and BPF ABI $abi" "$(current_log)" ||
		fail "the running lbd did not say why it refused"
}

# refused_takeover NAME CONFIG [ARGS...]: lbd --takeover with CONFIG (and ARGS), which it
# must refuse (exit non-zero); its log in $LBT_LOGDIR/NAME.log.
refused_takeover() {
	local name=$1 config=$2 log=$LBT_LOGDIR/$1.log rc=0
	shift 2
	in_ns "$NS_LB" timeout 60 "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--takeover -c "$config" "$@" >"$log" 2>&1 </dev/null || rc=$?
	log "$name: exit status $rc: $(tail -n 1 "$log")"
	((rc != 0)) || fail "$name: lbd --takeover accepted $config: $(tail -n 3 "$log")"
}

# said_before_handover NAME WHAT: NAME's log refuses before the hand-over, naming WHAT.
said_before_handover() {
	local log=$LBT_LOGDIR/$1.log
	grep -q "not taking over.*$2" "$log" ||
		fail "$1 did not refuse before the hand-over, naming $2: $(tail -n 3 "$log")"
}

# A configuration the new lbd refuses (an interface that does not exist; another
# max-connections than the pinned datapath tracks; an access log it cannot open; an
# unknown --socket-group) is refused before the running lbd hands over: it keeps its
# spliced connections, its acceptor and its control socket. Before, it had handed over
# and exited, and the new lbd refused and exited too: no lbd left.
test_refused_config_keeps_serving() {
	local out pid
	pid=$(current_pid)
	"$LBT_PY" - "$CONFIG" "$LBT_RUN/no-iface.json" "$LBT_RUN/max-conn.json" \
		"$LBT_RUN/no-log.json" <<'EOF'
import copy, json, sys
cfg = json.load(open(sys.argv[1]))
c = copy.deepcopy(cfg)
c["proxies"][0]["listen"]["interfaces"].append("nosuch9")
json.dump(c, open(sys.argv[2], "w"))
c = copy.deepcopy(cfg)
c["settings"]["max-connections"] = 50000
json.dump(c, open(sys.argv[3], "w"))
c = copy.deepcopy(cfg)
c["settings"]["access-log"] = "/nonexistent-lbt/access.log"
json.dump(c, open(sys.argv[4], "w"))
EOF
	rm -f "$LBT_RUN/load.stop" "$LBT_RUN/load.ready"
	in_ns "$NS_C" "$LBT_PY" "$TLS" load --host "$VIP" --port 443 --sni api.example.com \
		--hold 5 --interval 200 --rate 10 --seconds 90 --until-file "$LBT_RUN/load.stop" \
		--ready-file "$LBT_RUN/load.ready" >"$LBT_RUN/load.out" || true & # judged below
	local load=$!
	wait_for "[[ -e $LBT_RUN/load.ready ]]" 20 || fail "the TLS connections did not come up"

	refused_takeover lbd-no-iface "$LBT_RUN/no-iface.json"
	refused_takeover lbd-max-conn "$LBT_RUN/max-conn.json"
	refused_takeover lbd-no-log "$LBT_RUN/no-log.json"
	refused_takeover lbd-no-group "$CONFIG" --socket-group nosuchgroup9
	sleep 1.5 # more exchanges on every held connection, 15 more new connections
	touch "$LBT_RUN/load.stop"
	wait "$load" || true
	out=$(cat "$LBT_RUN/load.out")
	log "load across the refused take-overs: $out"
	assert_eq "$(json_get "$out" held_errors)" "[]" "errors on held connections"
	assert_eq "$(json_get "$out" new_failed)" 0 "new TLS connections that failed ($out)"
	kill -0 "$pid" || fail "the running lbd (pid $pid) stopped"
	[[ $(lbctl --json status) == *"\"pid\":$pid"* ]] ||
		fail "the control socket is not served by lbd pid $pid: $(lbctl --json status 2>&1)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "new balanced connections ($out)"
	[[ -n $(json_get "$out" by_backend.b1) && -n $(json_get "$out" by_backend.b2) ]] ||
		fail "new connections not balanced over both backends: $out"
	said_before_handover lbd-no-iface "interface nosuch9 does not exist"
	said_before_handover lbd-max-conn \
		"tracks max-connections 100000, the configuration asks for 50000"
	said_before_handover lbd-max-conn "with: lbd --bpffs $BPFFS --instance $INSTANCE --teardown"
	said_before_handover lbd-no-log "cannot open access log /nonexistent-lbt/access.log"
	said_before_handover lbd-no-group "--socket-group nosuchgroup9: no such group"
}

test_control_socket_and_stats_follow() {
	local out
	out=$(lbctl status 2>&1) || fail "lbctl status through the socket taken over: $out"
	[[ $(lbctl --json status) == *"\"pid\":$(current_pid)"* ]] ||
		fail "the control socket is not served by the last lbd: $(lbctl --json status)"
	[[ -S $SOCK ]] || fail "the control socket path is gone"
}

test_balanced_flows_keep_flowing() {
	local out
	rm -f "$LBT_RUN/hold.stop"
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 60 --interval 100 \
		--until-file "$LBT_RUN/hold.stop" >"$LBT_RUN/hold.out" &
	local hold=$!
	wait_for "grep -q start $LBT_RUN/hold.out" 10 || fail "the TCP flow did not start"
	take_over lbd-d
	sleep 1
	touch "$LBT_RUN/hold.stop"
	wait "$hold" || true
	out=$(tail -n 1 "$LBT_RUN/hold.out")
	assert_eq "$(json_get "$out" ok)" true "the balanced TCP flow across a take-over ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 50)
	assert_eq "$(json_get "$out" ok)" 50 "new connections after the take-over ($out)"
}

test_takeover_with_nothing_running() {
	local pid
	pid=$(current_pid)
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd did not stop"
	echo "" >"$LBT_RUN/current"
	take_over lbd-e
	grep -q "no lbd runs this instance; starting afresh" "$LBT_LOGDIR/lbd-e.log" ||
		fail "lbd-e did not say it started afresh"
	lbctl status >/dev/null || fail "lbd-e does not serve"
}

run_test test_tls_connections_survive_two_takeovers
run_test test_failed_takeover_keeps_serving
run_test test_refused_config_keeps_serving
run_test test_control_socket_and_stats_follow
run_test test_balanced_flows_keep_flowing
run_test test_takeover_with_nothing_running
lbt_on_exit "in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown >/dev/null 2>&1"
run_summary
