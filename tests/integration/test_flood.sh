#!/bin/bash
# Full tables and floods, with real traffic through the real lbd:
#   - a SYN flood from spoofed sources (synflood.py, raw sockets in the client namespace)
#     fills only lb_syn, the table of flows not confirmed by their client: established
#     connections keep working through it, busy ones and idle ones whose server speaks
#     first after the flood (an evicted flow would send that reply untranslated and the
#     client would reset it), new real clients still connect, lbd answers;
#   - with max-connections small, thousands of short connections churn lb_ct: the LRU
#     evicts closed and idle flows, and active long-lived connections keep working.
#
# Usage: test_flood.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=flood
MAXCONN=1024 # lb_ct: 1024 flows; lb_syn: max(1024, 1024 / 4) = 1024 flows
HOLDS=20

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock

CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{
  "proxies": [
    {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
     "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                        {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
    {"name": "push", "listen": {"interfaces": ["$LB_IF_C"], "port": 91},
     "default-target": {"ip": "10.2.1.2", "port": 9090}}
  ],
  "settings": {"max-connections": $MAXCONN}
}
EOF

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

lbt_start_lbd -c "$CONFIG"

global() { json_get "$(lbctl --json stats)" "global.$1"; }

# A server that speaks first after a long silence: each connection sends a line, the
# server waits until $LBT_RUN/push exists, then answers "push". Runs in backend 1.
PUSH_SERVER='
import os, socket, sys, threading, time
flag = sys.argv[1]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("10.2.1.2", 9090)); srv.listen(64)
open(flag + ".ready", "w").close()
def serve(c):
    c.recv(100)
    while not os.path.exists(flag):
        time.sleep(0.05)
    c.sendall(b"push\n"); time.sleep(1); c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
'
# IDLE clients: connect through the LB, say hello, then wait (silent) for the push.
PUSH_CLIENTS='
import json, socket, sys, threading
n, ok = int(sys.argv[1]), []
socks = []
for i in range(n):
    s = socket.create_connection(("10.1.0.1", 91), timeout=60)
    s.sendall(b"hi\n"); socks.append(s)
print("connected", flush=True)
def wait(s):
    try:
        ok.append(s.recv(100) == b"push\n")
    except OSError:
        ok.append(False)
ts = [threading.Thread(target=wait, args=(s,)) for s in socks]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"pushed": sum(ok), "of": n}))
'
spawn "${NS_BACKENDS[0]}" push-server "$LBT_PY" -c "$PUSH_SERVER" "$LBT_RUN/push"
wait_for "[[ -e $LBT_RUN/push.ready ]]" 10 || fail "the push server did not start"

# start_holds SECONDS: HOLDS long-lived connections exchanging every 100 ms, from the
# client's several addresses; their pids in HOLD_PIDS.
start_holds() {
	local i log
	HOLD_PIDS=()
	for ((i = 0; i < HOLDS; i++)); do
		log=$LBT_LOGDIR/hold-$i.log
		lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds "$1" --interval 100 \
			--bind "${CLIENT_IPS[i % ${#CLIENT_IPS[@]}]}" >"$log" 2>&1 &
		HOLD_PIDS+=($!)
	done
	for ((i = 0; i < HOLDS; i++)); do
		wait_for "grep -q start '$LBT_LOGDIR/hold-$i.log'" 10 ||
			fail "hold $i did not connect: $(cat "$LBT_LOGDIR/hold-$i.log")"
	done
}

# wait_holds: every long-lived connection ran to its end without a break.
wait_holds() {
	local i out
	for ((i = 0; i < HOLDS; i++)); do
		wait "${HOLD_PIDS[i]}" || fail "hold $i broke: $(tail -n 2 "$LBT_LOGDIR/hold-$i.log")"
		out=$(tail -n 1 "$LBT_LOGDIR/hold-$i.log")
		assert_eq "$(json_get "$out" ok)" true "hold $i ($out)"
	done
}

test_syn_flood_spares_established_flows() {
	local flood_log=$LBT_LOGDIR/flood.log flood_pid out sent i idle_pid
	local idle_log=$LBT_LOGDIR/idle.log
	in_ns "$NS_C" "$LBT_PY" -c "$PUSH_CLIENTS" 20 >"$idle_log" 2>&1 &
	idle_pid=$!
	wait_for "grep -q connected '$idle_log'" 10 || fail "idle clients: $(cat "$idle_log")"
	start_holds 16
	in_ns "$NS_C" "$LBT_PY" "$LBT_DIR/synflood.py" --dst "$VIP" --port 80 --seconds 8 --copies 2 \
		>"$flood_log" 2>&1 &
	flood_pid=$!
	sleep 1
	# lbd answers during the flood, and real clients still connect.
	for i in 1 2 3; do
		lbctl --timeout 5 status >/dev/null || fail "lbd did not answer during the flood"
	done
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 100 --timeout 60)
	assert_eq "$(json_get "$out" ok)" 100 "real connections during the flood ($out)"
	wait "$flood_pid" || fail "synflood failed: $(cat "$flood_log")"
	# The idle connections' server speaks first, after the flood.
	touch "$LBT_RUN/push"
	wait "$idle_pid" || fail "idle clients failed: $(cat "$idle_log")"
	assert_eq "$(json_get "$(tail -n 1 "$idle_log")" pushed)" 20 \
		"idle connections that got their server's push after the flood ($(tail -n 1 "$idle_log"))"
	sent=$(json_get "$(cat "$flood_log")" sent)
	log "flood: $sent spoofed SYNs; new connections during it: $out"
	((sent > 10 * MAXCONN)) || fail "the flood sent only $sent SYNs: not enough to fill lb_syn"
	wait_holds
	log "conntrack-confirmed: $(global conntrack-confirmed), dnat: $(global dnat)"
}

test_full_table_keeps_active_flows() {
	local out
	start_holds 12
	# Three times as many completed connections as lb_ct holds flows.
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count $((3 * MAXCONN)) \
		--concurrency 8 --timeout 120)
	assert_eq "$(json_get "$out" ok)" $((3 * MAXCONN)) "short connections ($out)"
	wait_holds
}

run_test test_syn_flood_spares_established_flows
run_test test_full_table_keeps_active_flows
run_summary
