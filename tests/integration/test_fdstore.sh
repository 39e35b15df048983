#!/bin/bash
# SNI connections across restarts under systemd's descriptor store (FileDescriptorStoreMax=,
# FDSTORE=1), played by fake_systemd.py (tests/vm/ checks the real one): a `systemctl
# restart` (SIGTERM, then a new lbd) keeps 20 spliced TLS connections exchanging data and
# refuses no new one; a crash (SIGKILL, Restart=always) loses the spliced connections, but
# connections opened while no lbd runs are served once the next one is up, since the
# acceptor's listening socket waits in the store; the store holds no stale descriptor.
# A restart that leaves seconds with no lbd (fake_systemd.py --gate) does not stall a
# spliced transfer: the kernel forwards it meanwhile, copy-spliced pairs included (lbd
# parks them in the sockmap at the stop). CASES `full`: a store too small for every
# connection (FileDescriptorStoreMax=16) keeps what fits, and those go on.
#
# Usage: test_fdstore.sh PATH/TO/lbd PATH/TO/lbctl [SPLICE-MODE [CASES]]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
SPLICE=${3:-auto}
CASES=${4:-all}
# Room for every connection of the cases (a store too small drops some, test_full_store);
# systemd's unit (packaging/lbd.service) says 16384.
STORE_MAX=256
[[ $CASES == full ]] && STORE_MAX=16
INSTANCE=fdstore
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
start_backends 8080 # echo servers: what is not TLS goes to the default target

SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
SD=$LBT_RUN/sd
mkdir -p "$SD"
cat >"$CONFIG" <<CFG
{"proxies": [
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.2.2", "port": 8443}}]}],
 "settings": {"sni-splice": "$SPLICE"}}
CFG
spawn "$NS_LB" service "$LBT_PY" "$LBT_DIR/fake_systemd.py" --dir "$SD" --restarts 3 \
	--gate "$SD/gate" --fdstore-max "$STORE_MAX" --control-socket "$SOCK" -- "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
	-c "$CONFIG"
SERVICE=$LBT_LAST_PID
lbt_on_exit "kill -TERM \$(cat $SD/pid) 2>/dev/null; sleep 0.5; kill -KILL $SERVICE 2>/dev/null; true"
lbt_on_exit "in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown --force >/dev/null 2>&1"
wait_for "[[ -e $SD/ready.0 ]]" 20 || fail "lbd did not start: $(tail -n 5 "$LBT_LOGDIR/service.log")"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# restart SIGNAL RUN: kill the running lbd with SIGNAL; the service starts run RUN.
restart() {
	local pid
	pid=$(cat "$SD/pid")
	kill "-$1" "$pid"
	wait_for "[[ -e $SD/ready.$2 ]]" 20 ||
		fail "lbd did not come back after SIG$1: $(tail -n 5 "$LBT_LOGDIR/service.log")"
}

# ---------------------------------------------------------------------------- tests

test_restart_keeps_tls_connections() {
	local out
	rm -f "$LBT_RUN/load.stop" "$LBT_RUN/load.ready"
	in_ns "$NS_C" "$LBT_PY" "$TLS" load --host "$VIP" --port 443 --sni api.example.com \
		--hold 20 --interval 200 --rate 20 --seconds 60 --until-file "$LBT_RUN/load.stop" \
		--ready-file "$LBT_RUN/load.ready" >"$LBT_RUN/load.out" &
	local load=$!
	wait_for "[[ -e $LBT_RUN/load.ready ]]" 20 || fail "the 20 TLS connections did not come up"
	sleep 1
	restart TERM 1
	grep -q "took .* over from systemd's descriptor store: 1 acceptor, 2[0-9] connections" \
		"$LBT_LOGDIR/service.log" ||
		fail "the new lbd took nothing over: $(grep -i 'store' "$LBT_LOGDIR/service.log")"
	sleep 2
	touch "$LBT_RUN/load.stop"
	wait "$load" || true
	out=$(cat "$LBT_RUN/load.out")
	log "load across a restart: $out"
	assert_eq "$(json_get "$out" held_errors)" "[]" "errors on held connections"
	assert_eq "$(json_get "$out" new_failed)" 0 "new connections that failed"
	(($(json_get "$out" min_exchanges) >= 10)) || fail "a connection stalled: $out"
	lbctl status >/dev/null || fail "lbctl after the restart"
}

# A long echo transfer (64 KiB each way every 20 ms, each checked byte for byte; lbtraffic
# gives up after 2 s without an answer) through the SNI acceptor keeps flowing while no
# lbd runs for 4 s, then through the next lbd.
test_restart_keeps_forwarding_while_no_lbd_runs() {
	local out pid hold
	rm -f "$LBT_RUN/hold.stop"
	in_ns "$NS_C" "$LBT_PY" "$LBTRAFFIC" hold --host "$VIP" --port 443 --seconds 60 \
		--interval 20 --size 65536 --until-file "$LBT_RUN/hold.stop" >"$LBT_RUN/hold.out" 2>&1 &
	hold=$!
	wait_for "grep -q '\"start\"' $LBT_RUN/hold.out" 10 ||
		fail "the transfer did not start: $(cat "$LBT_RUN/hold.out")"
	sleep 1
	pid=$(cat "$SD/pid")
	touch "$SD/gate"
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd did not stop"
	sleep 4 # no lbd runs
	rm -f "$SD/gate"
	kill -0 "$hold" 2>/dev/null || fail "the transfer ended while no lbd ran: $(cat "$LBT_RUN/hold.out")"
	wait_for "[[ -e $SD/ready.2 ]]" 20 || fail "lbd did not come back: $(tail -n 5 "$LBT_LOGDIR/service.log")"
	sleep 1
	touch "$LBT_RUN/hold.stop"
	wait "$hold" || true
	out=$(tail -n 1 "$LBT_RUN/hold.out")
	log "transfer across a restart with no lbd for 4 s: $out"
	assert_eq "$(json_get "$out" ok)" true "the transfer survived"
	if [[ $SPLICE != sockmap ]]; then
		grep -q "[1-9][0-9]* of [1-9][0-9]* copied SNI connections\? handed to the kernel's sockmap" \
			"$LBT_LOGDIR/service.log" || fail "no pair parked in the sockmap: $(grep -i 'sockmap\|copied' "$LBT_LOGDIR/service.log")"
		# New connections copy again; only the parked pairs finish in the kernel.
		grep "taken over (" "$LBT_LOGDIR/service.log" | tail -n 1 | grep -q "(copy splicing)" ||
			fail "the next lbd does not copy: $(grep "taken over (" "$LBT_LOGDIR/service.log")"
	fi
}

test_store_keeps_only_the_listener() {
	assert_eq "$(cat "$SD/store")" "lbd-acc-tls" "what the store holds while lbd runs"
}

test_crash_refuses_no_new_connection() {
	local out pid
	pid=$(cat "$SD/pid")
	kill -KILL "$pid"
	wait_for "! kill -0 $pid" 5 || fail "lbd survived SIGKILL"
	# While no lbd runs (the next one loads its programs for a second or so).
	[[ -e $SD/ready.3 ]] && fail "the next lbd was ready before the test connected"
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP" --port 443 --sni api.example.com \
		--count 20 --timeout 20)
	log "new connections opened while no lbd ran: $out"
	assert_eq "$(json_get "$out" ok)" 20 "new connections across a crash"
	wait_for "[[ -e $SD/ready.3 ]]" 20 || fail "lbd did not come back after the crash"
	grep -q "took 1 SNI object over from systemd's descriptor store: 1 acceptor, 0 connections" \
		"$LBT_LOGDIR/service.log" || fail "the acceptor was not found again after the crash: $(grep -iE "store|took|warn" "$LBT_LOGDIR/service.log" | tail -n 4)"
	assert_eq "$(cat "$SD/store")" "lbd-acc-tls" "what the store holds after the crash"
}

# A store of 16 holds the acceptor, the splicer's maps and a few spliced connections (2
# descriptors each) besides the state: of 20 held connections, those that fit go on
# through the next lbd and the others end, where a store that dropped the state (stored
# last) would have taken every connection with it.
test_full_store_keeps_what_fits() {
	local out left taken
	rm -f "$LBT_RUN/load.stop" "$LBT_RUN/load.ready"
	in_ns "$NS_C" "$LBT_PY" "$TLS" load --host "$VIP" --port 443 --sni api.example.com \
		--hold 20 --interval 200 --rate 0 --seconds 60 --until-file "$LBT_RUN/load.stop" \
		--ready-file "$LBT_RUN/load.ready" >"$LBT_RUN/load.out" &
	local load=$!
	wait_for "[[ -e $LBT_RUN/load.ready ]]" 20 || fail "the 20 TLS connections did not come up"
	sleep 1
	restart TERM 1
	left=$(sed -n 's/.* \([0-9]*\) SNI connections\{0,1\} ([0-9]* descriptors) did not fit and end with this lbd.*/\1/p' \
		"$LBT_LOGDIR/service.log" | head -n 1)
	taken=$(sed -n "s/.*took .* over from systemd's descriptor store: 1 acceptor, \([0-9]*\) connections.*/\1/p" \
		"$LBT_LOGDIR/service.log" | head -n 1)
	[[ -n $left ]] || fail "no word of what did not fit: $(grep -iE 'store|fit' "$LBT_LOGDIR/service.log")"
	[[ -n $taken ]] || fail "the new lbd took nothing over: $(grep -i 'store' "$LBT_LOGDIR/service.log")"
	log "a store of 16: $taken connections kept, $left ended"
	((taken >= 1)) || fail "no connection kept"
	assert_eq $((taken + left)) 20 "kept and ended connections"
	sleep 2
	touch "$LBT_RUN/load.stop"
	wait "$load" || true
	out=$(cat "$LBT_RUN/load.out")
	log "20 held connections, a store of 16: $out"
	assert_eq "$(json_get "$out" held)" 20 "held connections"
	assert_eq "$("$LBT_PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["held_errors"]))' "$out")" "$left" \
		"held connections that ended"
}

if [[ $CASES == full ]]; then
	run_test test_full_store_keeps_what_fits
else
	run_test test_restart_keeps_tls_connections
	run_test test_restart_keeps_forwarding_while_no_lbd_runs
	run_test test_store_keeps_only_the_listener
	run_test test_crash_refuses_no_new_connection
fi
run_summary
