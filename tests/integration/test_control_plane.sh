#!/bin/bash
# The control plane end to end: lbctl and raw JSON lines against a real lbd, runtime
# changes under real traffic, lossless restart under load, systemd socket activation and
# sd_notify, and a table of bad inputs that must be refused without any state change.
#
# Usage: test_control_plane.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=cp

lbt_require_env
command -v socat >/dev/null || {
	echo "skip: socat not installed" >&2
	exit 77
}
topo_up 3
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 50}]}]}
EOF

LBD_PID=
LBD_RUN=0
start_lbd() {
	LBD_RUN=$((LBD_RUN + 1))
	LBD_LOG=$LBT_LOGDIR/lbd-$LBD_RUN.log
	spawn "$NS_LB" "lbd-$LBD_RUN" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" \
		--socket "$SOCK" -c "$CONFIG" "$@"
	LBD_PID=$LBT_LAST_PID
	echo "$LBD_PID" >"$LBT_RUN/lbd.pid"
	wait_for "grep -q 'ready:' '$LBD_LOG' || ! kill -0 $LBD_PID" 20 || true
	grep -q 'ready:' "$LBD_LOG" || fail "lbd did not start: $(tail -n 5 "$LBD_LOG")"
}
# (Tests run in subshells: the pid of the current lbd lives in a file.)
stop_lbd() {
	LBD_PID=$(cat "$LBT_RUN/lbd.pid")
	kill -TERM "$LBD_PID" 2>/dev/null || return 0
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop on SIGTERM"
}
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
# rpc JSON-LINE...: send raw lines on one connection, print the replies.
rpc() { printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$SOCK"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" "$@"; }

start_lbd
lbt_on_exit "kill -TERM \$(cat $LBT_RUN/lbd.pid 2>/dev/null) 2>/dev/null; sleep 0.3; in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown >/dev/null 2>&1"

# ---------------------------------------------------------------------------- tests

# Every method answers through lbctl, in human form and as JSON.
test_lbctl_every_method() {
	local out m
	for m in status version get-config list-proxies list-source-routes connection-count \
		connection-stats connections; do
		out=$(lbctl "$m") || fail "lbctl $m failed: $out"
		[[ -n $out ]] || fail "lbctl $m printed nothing"
		out=$(lbctl --json "$m") || fail "lbctl --json $m failed"
		"$LBT_PY" -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out" ||
			fail "lbctl --json $m is not JSON: $out"
	done
	out=$(lbctl --json status)
	assert_eq "$(json_get "$out" proxies)" '["web"]' "status proxies"
	lbctl add-proxy api --interface "$LB_IF_C" --port 81 10.2.3.2:8080 >/dev/null ||
		fail "lbctl add-proxy"
	lbctl add-source-route api 10.1.0.0/24 10.2.2.2:8080 >/dev/null || fail "add-source-route"
	lbctl set-weights api 10.2.3.2:8080@100 >/dev/null || fail "set-weights"
	lbctl attach-interfaces --proxy api "$LB_IF_B1" >/dev/null || fail "attach-interfaces"
	lbctl detach-interfaces --proxy api "$LB_IF_B1" >/dev/null || fail "detach-interfaces"
	lbctl remove-source-route api 10.1.0.0/24 >/dev/null || fail "remove-source-route"
	lbctl remove-proxy api >/dev/null || fail "remove-proxy"
	lbctl reload >/dev/null || fail "reload"
	out=$(lbctl --json list-proxies)
	[[ $out != *'"api"'* ]] || fail "api still listed: $out"
}

# New connections follow runtime changes at once; an established one keeps its backend.
test_runtime_changes_keep_established() {
	local hold_log=$LBT_LOGDIR/hold-rt.log out first
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 5 --interval 50 >"$hold_log" 2>&1 &
	local hold_pid=$!
	wait_for "grep -q start '$hold_log'" 5 || fail "hold did not connect: $(cat "$hold_log")"
	first=$(json_get "$(head -n 1 "$hold_log")" backend)
	lbctl add-source-route web 10.1.0.0/24 10.2.3.2:8080 >/dev/null
	out=$(tally --port 80 --count 50)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 50 "routed clients after add-source-route ($out)"
	lbctl add-proxy api --interface "$LB_IF_C" --port 81 10.2.2.2:8080 >/dev/null
	out=$(tally --port 81 --count 20)
	assert_eq "$(json_get "$out" by_backend.b2 0)" 20 "new proxy api ($out)"
	lbctl remove-proxy api >/dev/null
	out=$(tally --port 81 --count 5 --timeout 5)
	assert_eq "$(json_get "$out" ok)" 0 "port 81 after remove-proxy ($out)"
	lbctl remove-source-route web 10.1.0.0/24 >/dev/null
	out=$(tally --port 80 --count 100)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 0 "b3 after remove-source-route ($out)"
	# The request hook moves under the held connection: XDP, then back to auto (TC here).
	lbctl set-ingress xdp >/dev/null
	[[ $(lbctl status) == *"$LB_IF_C"*xdp*native* ]] || fail "status after set-ingress xdp: $(lbctl status)"
	out=$(tally --port 80 --count 50)
	assert_eq "$(json_get "$out" ok)" 50 "connections at XDP ($out)"
	lbctl set-ingress auto >/dev/null
	[[ $(lbctl status) == *"$LB_IF_C"*tc*none* ]] || fail "status after set-ingress auto: $(lbctl status)"
	assert_eq "$(json_get "$(lbctl --json get-config)" settings.ingress)" auto "settings.ingress"
	lbctl set-ingress skb >/dev/null 2>&1 && fail "set-ingress skb was accepted"
	wait "$hold_pid" || fail "the established connection broke: $(cat "$hold_log")"
	out=$(tail -n 1 "$hold_log")
	assert_eq "$(json_get "$out" backend)" "$first" "backend of the established connection"
}

# Weights shifted live 100/0 -> 0/100 move new connections only.
test_weights_shift_moves_new_connections_only() {
	local hold_log=$LBT_LOGDIR/hold-w.log out
	lbctl set-weights web 10.2.1.2:8080@100 10.2.2.2:8080@0 >/dev/null
	out=$(tally --port 80 --count 100)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 100 "all new connections on b1 ($out)"
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 4 --interval 50 >"$hold_log" 2>&1 &
	local hold_pid=$!
	wait_for "grep -q start '$hold_log'" 5 || fail "hold did not connect"
	assert_eq "$(json_get "$(head -n 1 "$hold_log")" backend)" b1 "held connection's backend"
	lbctl set-weights web 10.2.1.2:8080@0 10.2.2.2:8080@100 >/dev/null
	out=$(tally --port 80 --count 100)
	assert_eq "$(json_get "$out" by_backend.b2 0)" 100 "all new connections on b2 ($out)"
	wait "$hold_pid" || fail "the held connection broke: $(cat "$hold_log")"
	assert_eq "$(json_get "$(tail -n 1 "$hold_log")" backend)" b1 "held connection stayed on b1"
	lbctl set-weights web 10.2.1.2:8080@50 10.2.2.2:8080@50 >/dev/null
}

# routes_json N [BAD-INDEX]: N source routes as add-source-routes takes them: 10.1.0.5
# (a client address) to b3 first, then /32s of 172.16.0.0/12 to b1 and b2; the route at
# BAD-INDEX, if given, has host bits set.
routes_json() {
	"$LBT_PY" - "$@" <<'EOF'
import json, sys
n, bad = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else -1
# 10.1.0.7 and the 998 others share one Maglev table (one pair of targets, one weighting).
pair = ["10.2.2.2:8080@50", "10.2.3.2:8080@50"]
routes = [{"source": "10.1.0.5", "targets": ["10.2.3.2:8080"]},
          {"source": "10.1.0.7", "targets": pair}]
for i in range(2, n):
    routes.append({"source": "172.%d.%d.%d/32" % (16 + (i >> 16), (i >> 8) & 255, i & 255),
                   "targets": pair})
if bad >= 0:
    routes[bad]["source"] = "172.31.0.1/16"
print(json.dumps(routes))
EOF
}

# A batch of 1000 source routes is one change: all listed, and traffic follows them.
test_batch_of_routes_applied() {
	local out n
	routes_json 1000 >"$LBT_RUN/routes.json"
	out=$(lbctl --json add-source-routes web --file "$LBT_RUN/routes.json") ||
		fail "add-source-routes: $out"
	assert_eq "$(json_get "$out" added)" 1000 "routes added ($out)"
	out=$(lbctl --json list-source-routes web)
	n=$("$LBT_PY" -c 'import json,sys; r=json.load(sys.stdin)["routes"]; print(len(r), sum(x["source"] == "10.1.0.5/32" for x in r))' <<<"$out")
	assert_eq "$n" "1000 1" "routes listed, and 10.1.0.5/32 among them"
	out=$(tally --port 80 --count 50 --bind 10.1.0.5)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 50 "clients of 10.1.0.5 on b3 ($out)"
	out=$(tally --port 80 --count 50 --bind 10.1.0.6)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 0 "other clients stay off b3 ($out)"
	# A table shared with 998 other routes: b2 and b3, never b1.
	out=$(tally --port 80 --count 60 --bind 10.1.0.7)
	assert_eq "$(json_get "$out" ok)" 60 "clients of 10.1.0.7 answered ($out)"
	assert_eq "$(json_get "$out" by_backend.b1 0)" 0 "clients of 10.1.0.7 off b1 ($out)"
	[[ $(json_get "$out" by_backend.b2 0) -gt 0 && $(json_get "$out" by_backend.b3 0) -gt 0 ]] ||
		fail "clients of 10.1.0.7 not spread over b2 and b3: $out"
	lbctl reload >/dev/null
	out=$(lbctl --json list-source-routes web)
	assert_eq "$(json_get "$out" routes)" "[]" "routes after reload"
}

# One bad route refuses the whole batch, names its index, and changes nothing.
test_batch_with_a_bad_route_changes_nothing() {
	local before after out rc=0
	before=$(lbctl --json get-config)
	routes_json 1000 700 >"$LBT_RUN/bad-routes.json"
	out=$(lbctl add-source-routes web --file "$LBT_RUN/bad-routes.json" 2>&1) || rc=$?
	assert_eq "$rc" 1 "lbctl exit code for a refused batch"
	[[ $out == *'routes[700].source: "172.31.0.1/16" has host bits set'* ]] ||
		fail "the error does not name routes[700]: $out"
	out=$(rpc '{"jsonrpc":"2.0","id":1,"method":"add-source-routes","params":{"proxy":"web","routes":[{"source":"10.1.0.5","targets":["10.2.3.2:8080"]},{"source":"10.1.0.6","targets":["10.2.3.2:8080@60","10.2.1.2:8080@30"]}]}}')
	[[ $out == *'"code":-32000'* && $out == *'"path":"routes[1].targets"'* ]] ||
		fail "bad weights in routes[1]: $out"
	after=$(lbctl --json get-config)
	assert_eq "$after" "$before" "configuration after refused batches"
	out=$(tally --port 80 --count 50 --bind 10.1.0.5)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 0 "10.1.0.5 is not routed to b3 ($out)"
}

# Bad input is refused with the right error, the connection stays usable, and nothing
# changes: the running configuration is compared before and after.
test_bad_inputs_change_nothing() {
	local before after out big
	before=$(lbctl --json get-config)
	out=$(rpc 'this is not json' '{"jsonrpc":"2.0","id":1,"method":"version"}')
	[[ $out == *'"code":-32700'* && $out == *'"id":1,"result"'* ]] ||
		fail "malformed JSON, then a valid request on the same connection: $out"
	big=$("$LBT_PY" -c 'print("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"status\",\"params\":{\"x\":\"" + "a" * 2000000 + "\"}}")')
	out=$(rpc "$big" '{"jsonrpc":"2.0","id":3,"method":"version"}')
	[[ $out == *'"code":-32005'* && $out == *'"id":3,"result"'* ]] ||
		fail "oversize request, then a valid one: ${out:0:300}"
	out=$(rpc '{"jsonrpc":"2.0","id":4,"method":"nope"}')
	[[ $out == *'"code":-32601'* ]] || fail "unknown method: $out"
	out=$(rpc '{"jsonrpc":"2.0","id":5,"method":"set-weights","params":{"proxy":"web","targets":7}}')
	[[ $out == *'"code":-32602'* && $out == *'"field":"targets"'* ]] || fail "bad params: $out"
	out=$(rpc '{"jsonrpc":"2.0","id":6,"method":"set-weights","params":{"proxy":"web","targets":["10.2.1.2:8080@60","10.2.2.2:8080@60"]}}')
	[[ $out == *'"code":-32000'* && $out == *'120'* ]] || fail "weights summing to 120: $out"
	out=$(rpc '{"jsonrpc":"2.0","id":7,"method":"add-proxy","params":{"proxy":{"name":"x","listen":{"interfaces":["nosuch0"],"port":82},"default-target":{"ip":"10.2.1.2","port":8080}}}}')
	[[ $out == *'"code":-32001'* && $out == *nosuch0* ]] || fail "missing interface: $out"
	out=$(rpc '{"jsonrpc":"2.0","id":8,"method":"add-proxy","params":{"proxy":{"name":"y","listen":{"interfaces":["'"$LB_IF_C"'"],"port":80},"default-target":{"ip":"10.2.1.2","port":8080}}}}')
	[[ $out == *'"code":-32000'* && $out == *conflicts* ]] || fail "listener conflict: $out"
	after=$(lbctl --json get-config)
	assert_eq "$after" "$before" "configuration after refused requests"
	# lbctl's exit codes: 1 daemon error, 3 usage, 2 no daemon.
	local rc=0
	lbctl set-weights web 10.2.1.2:8080@60 10.2.2.2:8080@60 >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 1 "lbctl exit code for a refused change"
	rc=0
	lbctl set-weights web 10.2.1.2:99999 >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 3 "lbctl exit code for a bad target"
	rc=0
	"$LBCTL" -s "$LBT_RUN/nosuch.sock" status >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 2 "lbctl exit code without a daemon"
}

# A reload of a broken file is refused whole; the running configuration stays.
test_bad_reload_file_refused() {
	local before after out rc=0
	before=$(lbctl --json get-config)
	cp "$CONFIG" "$CONFIG.good"
	echo '{"proxies": [{"name": "web", "listen": {"interfaces": ["lbc0"], "port": 80}, "default-target": {"ip": "10.2.1.2"}}]}' >"$CONFIG"
	out=$(lbctl reload 2>&1) || rc=$?
	mv "$CONFIG.good" "$CONFIG"
	assert_eq "$rc" 1 "lbctl reload exit code with a broken file"
	[[ $out == *port* ]] || fail "reload error does not name the missing port: $out"
	after=$(lbctl --json get-config)
	assert_eq "$after" "$before" "configuration after a refused reload"
	out=$(tally --port 80 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "traffic after a refused reload"
}

# A reload that renames every proxy into a file of 256 (the limit): old and new names do
# not fit in the ids together. While conntrack holds flows of the old one (the earlier
# tests' closed ones linger 10 s) its id stays taken and the reload is refused; then it is
# handed on. And back again, at once: 255 of the 256 went without a flow.
test_reload_replacing_every_proxy() {
	local out rc=0
	cp "$CONFIG" "$CONFIG.good"
	"$LBT_PY" - "$LB_IF_C" >"$CONFIG" <<'PYEOF2'
import json, sys
t = [{"ip": "10.2.1.2", "port": 8080, "weight": 50}, {"ip": "10.2.2.2", "port": 8080, "weight": 50}]
print(json.dumps({"proxies": [{"name": "p%d" % i, "listen": {"interfaces": [sys.argv[1]],
    "port": 20000 + i}, "default-target": t} for i in range(256)]}))
PYEOF2
	out=$(tally --port 80 --count 5)
	out=$(lbctl reload 2>&1) || rc=$?
	[[ $rc == 1 && $out == *"whose connections are still tracked"* ]] ||
		fail "reload with flows of the old proxy in conntrack: rc $rc, $out"
	rc=0
	wait_for "lbctl reload" 45 || {
		rc=1
		out=$(lbctl reload 2>&1) || true
	}
	mv "$CONFIG.good" "$CONFIG"
	assert_eq "$rc" 0 "reload to 256 renamed proxies once web's flows were gone ($out)"
	out=$(tally --port 20255 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "traffic to the last new proxy ($out)"
	out=$(lbctl reload 2>&1) || fail "reload back to the file of one proxy: $out"
	out=$(tally --port 80 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "traffic after the reload back ($out)"
}

# Only root and the socket's group may change things; others may only look.
test_unauthorised_peer() {
	local out
	chmod 0666 "$SOCK"
	out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"status"}' |
		setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 5 - "UNIX-CONNECT:$SOCK")
	[[ $out == *'"id":1,"result"'* ]] || fail "read-only method as nobody: $out"
	out=$(printf '%s\n' '{"jsonrpc":"2.0","id":2,"method":"remove-proxy","params":{"proxy":"web"}}' |
		setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 5 - "UNIX-CONNECT:$SOCK")
	chmod 0660 "$SOCK"
	[[ $out == *'"code":-32003'* ]] || fail "mutating method as nobody: $out"
	lbctl --json list-proxies | grep -q '"web"' || fail "web was removed by an unauthorised peer"
}

# Many clients at once, and one that never reads, do not stall the others.
test_many_clients_and_a_stuck_one() {
	local out
	"$LBT_PY" - "$SOCK" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.setblocking(False)
req = b'{"jsonrpc":"2.0","id":1,"method":"get-config"}\n' * 2000
end = time.time() + 4
while time.time() < end:   # writes requests, never reads a reply
    try:
        s.send(req)
    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
        time.sleep(0.01)
EOF
	local stuck=$!
	out=$("$LBT_PY" - "$SOCK" <<'EOF'
import json, socket, sys, threading
ok = []
def one():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(sys.argv[1])
    f = s.makefile("rwb")
    for i in range(5):
        f.write(b'{"jsonrpc":"2.0","id":%d,"method":"status"}\n' % i)
        f.flush()
        if json.loads(f.readline())["id"] == i:
            ok.append(1)
threads = [threading.Thread(target=one) for _ in range(100)]
for t in threads: t.start()
for t in threads: t.join()
print(len(ok))
EOF
)
	assert_eq "$out" 500 "status replies to 100 concurrent clients"
	wait "$stuck" || true
	lbctl status >/dev/null || fail "lbd unresponsive after a stuck client"
	grep -q "does not read its replies" "$LBD_LOG" || log "(the stuck client was never cut off: its replies fit the queue)"
}

# Restart lbd while new connections keep coming and a long-lived one streams: nothing fails.
test_restart_under_load() {
	local hold_log=$LBT_LOGDIR/hold-restart.log load_log=$LBT_LOGDIR/load-restart.log out
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 7 --interval 20 >"$hold_log" 2>&1 &
	local hold_pid=$!
	# (--req-timeout 10: on two shared cores a slow answer is not a lost connection;
	# a connection the restart lost would time out or be reset all the same.)
	lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 25000 --concurrency 8 --timeout 60 \
		--req-timeout 10 >"$load_log" 2>&1 &
	local load_pid=$!
	wait_for "grep -q start '$hold_log'" 5 || fail "hold did not connect"
	sleep 1
	stop_lbd
	sleep 1 # no lbd at all for a while: the datapath serves alone
	start_lbd
	grep -q "adopted" "$LBD_LOG" || fail "the new lbd did not adopt the datapath: $(cat "$LBD_LOG")"
	wait "$load_pid" || true
	out=$(tail -n 1 "$load_log")
	assert_eq "$(json_get "$out" failed)" 0 "failed connections across the restart ($out)"
	assert_eq "$(json_get "$out" ok)" 25000 "successful connections across the restart"
	wait "$hold_pid" || fail "long-lived connection broke across the restart: $(tail -n 2 "$hold_log")"
	out=$(tail -n 1 "$hold_log")
	assert_eq "$(json_get "$out" ok)" true "long-lived stream intact ($out)"
	out=$(lbctl --json list-proxies)
	[[ $out == *'"web"'* ]] || fail "the restarted lbd lost the proxy: $out"
}

# Socket activation (LISTEN_FDS) and sd_notify, as systemd does them.
test_socket_activation_and_notify() {
	local sa_sock=$LBT_RUN/sa.sock notify=$LBT_RUN/notify.sock nlog=$LBT_LOGDIR/notify.log out
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
	stop_lbd
	# A stand-in for systemd's notification socket: one line per datagram.
	cat >"$LBT_RUN/notify.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
EOF
	spawn - notify "$LBT_PY" "$LBT_RUN/notify.py" "$notify" "$nlog"
	wait_for "[[ -S $notify ]]" 5 || fail "notify listener did not start"
	spawn "$NS_LB" lbd-sa systemd-socket-activate -l "$sa_sock" -E "NOTIFY_SOCKET=$notify" \
		"$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" -c "$CONFIG"
	wait_for "[[ -S $sa_sock ]]" 5 || fail "systemd-socket-activate did not listen"
	# The first connection starts lbd, which must answer on the socket it was handed.
	out=$("$LBCTL" -s "$sa_sock" --timeout 20 --json status) || fail "no answer via the activated socket"
	assert_eq "$(json_get "$out" proxies)" '["web"]' "status through socket activation"
	wait_for "grep -q READY=1 '$nlog'" 5 || fail "no READY=1: $(cat "$nlog")"
	grep -q "STATUS=serving 1 proxy" "$nlog" || fail "no STATUS: $(cat "$nlog")"
	kill -HUP "$(pgrep -f -n "$LBD --bpffs $BPFFS --instance $INSTANCE")"
	wait_for "grep -q RELOADING=1 '$nlog'" 5 || fail "no RELOADING=1 on SIGHUP: $(cat "$nlog")"
	stop_proc lbd-sa
	wait_for "grep -q STOPPING=1 '$nlog'" 5 || fail "no STOPPING=1: $(cat "$nlog")"
	out=$(tally --port 80 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "traffic after the activated lbd stopped"
}

run_test test_lbctl_every_method
run_test test_runtime_changes_keep_established
run_test test_weights_shift_moves_new_connections_only
run_test test_batch_of_routes_applied
run_test test_batch_with_a_bad_route_changes_nothing
run_test test_bad_inputs_change_nothing
run_test test_bad_reload_file_refused
run_test test_reload_replacing_every_proxy
run_test test_unauthorised_peer
run_test test_many_clients_and_a_stuck_one
run_test test_restart_under_load
run_test test_socket_activation_and_notify
run_summary
