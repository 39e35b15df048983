#!/bin/bash
# Announcements through a real BGP daemon: lbd installs a blackhole host route per
# listener address in a routing table of its own (settings.announce-table), BIRD 2 on the
# LB learns it with its kernel protocol and announces it over BGP (with BFD) to BIRD 2 on
# an upstream router, here the client namespace, which installs it.
#
#   client + router: BIRD AS 65000, 10.1.0.2 --- LB: lbd + BIRD AS 65001, 10.1.0.1 --- b1-b3
#
# Covers: each proxy's address is announced while it has a healthy target and withdrawn
# when it has none (the other proxy's stays); `lbctl node drain --wait` withdraws
# everything, waits for the node's last flow and exits 0 (4 with --timeout while one is
# open); maintenance survives a restart of lbd; `node undrain` announces again; a restart
# of lbd leaves the router's route in place throughout; a reload that moves a proxy's
# address withdraws the old one; `lbd --teardown` withdraws everything; BFD is up; a
# route removed by hand comes back; a take-over keeps announcing; a second instance with
# the same table and protocol is refused and another instance's teardown leaves the
# running one's routes; node drain without announce-table is refused; lbctl help node;
# node drain --wait stops waiting for a full-nat flow quiet for 5 s (not for a nat flow).
#
# Usage: test_announce.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=announce
TABLE=201

command -v bird >/dev/null || {
	echo "1..0 # SKIP bird (Debian's bird2) is not installed: scripts/install-deps.sh test"
	exit 77
}
lbt_require_env
topo_up 3
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
WEB=10.0.0.100
API=10.0.0.101
API2=10.0.0.102

# The LB routes the service addresses to nothing itself: lbd's datapath takes them.
write_config() {
	local api=$1
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "address": "$WEB", "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "api", "listen": {"interfaces": ["$LB_IF_C"], "address": "$api", "port": 80},
   "default-target": {"ip": "10.2.3.2", "port": 8080}}],
 "settings": {"announce-table": $TABLE}}
EOF
}
write_config "$API"

# BIRD on both sides: the router imports everything over BGP into its kernel table (the
# client's routes); the LB exports only what its kernel protocol learnt from lbd's table.
cat >"$LBT_RUN/bird-router.conf" <<EOF
router id 10.1.0.2;
protocol device { }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol kernel { ipv4 { import none; export all; }; merge paths on; }
protocol bgp lb1 { local as 65000; neighbor 10.1.0.1 as 65001; bfd on;
  ipv4 { import all; export none; }; }
EOF
# The LB's is the shipped example with this topology's addresses and table.
sed -e 's/^router id .*/router id 10.1.0.1;/' \
	-e 's/neighbor 192.0.2.1 as 65000/neighbor 10.1.0.2 as 65000/' \
	-e "s/kernel table 200/kernel table $TABLE/" \
	"$(dirname "${BASH_SOURCE[0]}")/../../packaging/examples/bird-lbd.conf" >"$LBT_RUN/bird-lb.conf"
spawn "$NS_C" bird-router bird -f -c "$LBT_RUN/bird-router.conf" -s "$LBT_RUN/bird-router.ctl" -P "$LBT_RUN/bird-router.pid"
spawn "$NS_LB" bird-lb bird -f -c "$LBT_RUN/bird-lb.conf" -s "$LBT_RUN/bird-lb.ctl" -P "$LBT_RUN/bird-lb.pid"

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
start_lbd() { lbt_start_lbd -c "$CONFIG"; }
# Tests run in subshells: the running lbd's pid comes from lbd itself.
stop_lbd() {
	local pid
	pid=$(json_get "$(lbctl --json status)" pid)
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd $pid did not stop"
}
# What the router learnt over BGP, as its kernel table has it: "10.0.0.100 10.0.0.101".
learnt() { ip -n "$NS_C" -4 route show proto bird | awk '{ print $1 }' | sort | xargs; }
lb_table() { ip -n "$NS_LB" -4 route show table "$TABLE" | awk '{ print $2 }' | sort | xargs; }
expect_learnt() {
	wait_for "[[ \"\$(learnt)\" == '$1' ]]" "${2:-10}" ||
		fail "the router learnt \"$(learnt)\", want \"$1\" (lbd's table: $(lb_table))"
}

start_lbd
wait_for "ip netns exec $NS_C birdc -s $LBT_RUN/bird-router.ctl show protocols lb1 | grep -q Established" 30 ||
	fail "no BGP session: $(ip netns exec "$NS_C" birdc -s "$LBT_RUN/bird-router.ctl" show protocols all lb1 | tail -5)"

test_announced_and_used() {
	local out
	expect_learnt "$WEB $API"
	assert_eq "$(ip -n "$NS_LB" route show table "$TABLE" | head -1 | xargs)" \
		"blackhole $WEB proto 250" "lbd's route"
	# The client now reaches the service addresses through the route it learnt.
	ip -n "$NS_C" route del default
	lbt_on_exit "ip -n $NS_C route add default via $VIP 2>/dev/null || true"
	out=$(lbtraffic "$NS_C" tally --host "$WEB" --port 80 --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "connections to $WEB over the BGP route ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$API" --port 80 --count 10)
	assert_eq "$(json_get "$out" ok)" 10 "connections to $API ($out)"
	ip -n "$NS_C" route add default via "$VIP"
	lbctl node status | grep -qx "announced: $WEB $API" || fail "node status: $(lbctl node status)"
	ip netns exec "$NS_C" birdc -s "$LBT_RUN/bird-router.ctl" show bfd sessions | grep -q " Up " ||
		fail "BFD is not up: $(ip netns exec "$NS_C" birdc -s "$LBT_RUN/bird-router.ctl" show bfd sessions)"
}

test_no_healthy_target_withdraws() {
	lbctl set-target-status api 10.2.3.2:8080 unhealthy >/dev/null
	expect_learnt "$WEB"
	lbctl node status | grep -q "withheld: $API: no healthy target" ||
		fail "node status: $(lbctl node status)"
	lbctl set-target-status api 10.2.3.2:8080 auto >/dev/null
	expect_learnt "$WEB $API"
}

# in_client_py CODE: run Python CODE in the client's namespace, within a few ms, with
# rpc(method) (one call to lbd, its result) and the service address as sys.argv[2].
in_client_py() {
	ip netns exec "$NS_C" "$LBT_PY" - "$SOCK" "$WEB" <<EOF
import json, socket, sys

def rpc(method):
    with socket.socket(socket.AF_UNIX) as u:
        u.connect(sys.argv[1])
        u.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}).encode() + b"\\n")
        return json.loads(u.makefile().readline())["result"]

$1
EOF
}

# A flow opened just after a count (a status call) is counted by the drain all the same:
# lbd reuses a count for 250 ms, and one taken before the drain began would say 0.
test_node_drain_counts_a_new_flow() {
	local out
	out=$(in_client_py '
before = rpc("node-status")["flows"]
with socket.create_connection((sys.argv[2], 80), timeout=5):
    rpc("node-drain")
    print(before, rpc("node-status")["flows"])')
	assert_eq "$out" "0 1" "flows before the connection, then after the drain"
	lbctl node undrain >/dev/null
	expect_learnt "$WEB $API"
}

# A flow opened after the drain began, then a poll: its 0 is counted afresh, not reused.
test_node_drain_counts_a_late_flow() {
	local out
	out=$(in_client_py '
rpc("node-drain")
before = rpc("node-status")["flows"]
with socket.create_connection((sys.argv[2], 80), timeout=5):
    print(before, rpc("node-status")["flows"])')
	assert_eq "$out" "0 1" "flows after the drain, then with a connection opened since"
	lbctl node undrain >/dev/null
	expect_learnt "$WEB $API"
}

test_node_drain_waits_for_flows() {
	local held out rc
	# One open connection (kept working through the static default route).
	spawn "$NS_C" hold "$LBT_PY" "$LBTRAFFIC" hold --host "$WEB" --port 80 --seconds 6 --interval 200
	held=$LBT_LAST_PID
	wait_for "grep -q '\"start\"' '$LBT_LOGDIR/hold.log'" 10 || fail "hold: $(cat "$LBT_LOGDIR/hold.log")"
	rc=0
	out=$(lbctl node drain --wait --timeout 1s 2>&1) || rc=$?
	assert_eq "$rc" 4 "node drain --wait --timeout 1s with a flow open ($out)"
	expect_learnt ""
	rc=0
	out=$(lbctl node drain --wait --timeout 30s 2>&1) || rc=$?
	assert_eq "$rc" 0 "node drain --wait ($out)"
	grep -q "0 flows left" <<<"$out" || fail "node drain --wait printed: $out"
	wait "$held" 2>/dev/null || true
	grep -q '"ok": true' "$LBT_LOGDIR/hold.log" || fail "the held connection broke: $(tail -2 "$LBT_LOGDIR/hold.log")"
	lbctl node status | grep -qx "node: maintenance" || fail "node status: $(lbctl node status)"

	# Maintenance outlives lbd.
	stop_lbd
	start_lbd
	sleep 1
	assert_eq "$(learnt)" "" "announced after a restart in maintenance"
	lbctl node status | grep -qx "node: maintenance" || fail "after restart: $(lbctl node status)"
	lbctl node undrain >/dev/null
	expect_learnt "$WEB $API"
}

# Behind ECMP a full-nat flow cannot outlive its node's withdrawal (another node would
# give it another source port): once it has been quiet for 5 s, node drain --wait no
# longer waits for it, as for dsr. A nat flow, as quiet, is still waited for.
test_node_drain_lets_quiet_full_nat_go() {
	local fnat=10.0.0.103 out rc
	lbctl add-proxy fnat --interface "$LB_IF_C" --address "$fnat" --port 80 \
		--forwarding full-nat 10.2.3.2:8080 >/dev/null
	expect_learnt "$WEB $API $fnat"
	out=$(ip netns exec "$NS_C" "$LBT_PY" - "$fnat" "$WEB" "$LBCTL" "$SOCK" <<'EOF'
import socket, subprocess, sys

def drain(timeout):
    r = subprocess.run([sys.argv[3], "-s", sys.argv[4], "node", "drain", "--wait",
                        "--timeout", timeout], capture_output=True, text=True)
    return r.returncode

fnat = socket.create_connection((sys.argv[1], 80), timeout=5)
# Both quiet from here on, and both still open.
print(drain("3s"), drain("20s"), end=" ")
subprocess.run([sys.argv[3], "-s", sys.argv[4], "node", "undrain"], capture_output=True)
with socket.create_connection((sys.argv[2], 80), timeout=5):
    print(drain("8s"))
fnat.close()
EOF
)
	assert_eq "$out" "4 0 4" "drain --wait: full-nat flow before 5 s quiet, after, then a quiet nat flow"
	lbctl node undrain >/dev/null
	lbctl remove-proxy fnat >/dev/null
	expect_learnt "$WEB $API"
}

test_restart_keeps_route() {
	local _ seen=""
	stop_lbd
	# While no lbd runs and while the next one starts, the router keeps both routes.
	for _ in $(seq 1 10); do
		seen+="$(learnt | wc -w)"
		sleep 0.1
	done
	start_lbd
	for _ in $(seq 1 10); do
		seen+="$(learnt | wc -w)"
		sleep 0.1
	done
	[[ $seen == 22222222222222222222 ]] || fail "routes seen on the router during the restart: $seen"
}

# A route someone else removes (`ip route flush table N`) is put back within seconds,
# with one log line; the router learns it again.
test_removed_route_comes_back() {
	ip -n "$NS_LB" route flush table "$TABLE"
	wait_for "[[ \"\$(lb_table)\" == '$WEB $API' ]]" 5 ||
		fail "lbd's table 5 s after a flush: \"$(lb_table)\" ($(tail -n 3 "$LBT_LOGDIR/lbd.log"))"
	expect_learnt "$WEB $API"
	assert_eq "$(grep -c "re-added 2 routes that something else removed from routing table $TABLE" \
		"$LBT_LOGDIR/lbd.log")" 1 "log lines about the re-added routes"
	if lbctl node status | grep -q "not in the routing table yet"; then
		fail "node status still promises: $(lbctl node status)"
	fi
}

# lbd --takeover: the new lbd holds the table's claim (announces, repairs); the routes stay.
test_takeover_keeps_announcing() {
	local log=$LBT_LOGDIR/lbd-takeover.log old pid
	old=$(json_get "$(lbctl --json status)" pid)
	spawn "$NS_LB" lbd-takeover "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" \
		--takeover -c "$CONFIG"
	pid=$LBT_LAST_PID
	lbt_on_exit "kill -TERM $pid 2>/dev/null; sleep 0.5"
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $pid" 20 || true
	grep -q 'ready:' "$log" || fail "lbd --takeover did not start: $(tail -n 5 "$log")"
	wait_for "! kill -0 $old" 10 || fail "the old lbd (pid $old) still runs after the hand-over"
	assert_eq "$(lb_table)" "$WEB $API" "lbd's table after the take-over"
	ip -n "$NS_LB" route del blackhole "$WEB" table "$TABLE"
	wait_for "[[ \"\$(lb_table)\" == '$WEB $API' ]]" 5 ||
		fail "the new lbd did not put $WEB back: \"$(lb_table)\" ($(tail -n 3 "$log"))"
	grep -q "re-added 1 route that something else removed from routing table $TABLE: $WEB" "$log" ||
		fail "no log line: $(tail -n 3 "$log")"
	expect_learnt "$WEB $API"
}

# Another instance in this namespace (lbd --instance) with the same table and protocol
# would take the first one's routes for its own: it is refused, and the first one's routes
# stay; its teardown leaves routes a running lbd announces alone. With another protocol
# it runs beside the first, and its teardown withdraws its own routes only.
API3=10.0.0.103
SOCK_B=$LBT_RUN/lbd-b.sock
CONFIG_B=$LBT_RUN/lb-b.json
# start_b NAME: lbd --instance announce-b, its log NAME.log; 0 when ready, 1 when it exited.
start_b() {
	local log=$LBT_LOGDIR/$1.log pid
	spawn "$NS_LB" "$1" "$LBD" --bpffs "$BPFFS" --instance announce-b --socket "$SOCK_B" -c "$CONFIG_B"
	pid=$LBT_LAST_PID
	lbt_on_exit "kill -TERM $pid 2>/dev/null; sleep 0.5; in_ns $NS_LB $LBD --bpffs $BPFFS --instance announce-b --teardown >/dev/null 2>&1"
	wait_for "grep -q 'ready:' '$log' || ! kill -0 $pid" 20 || true
	if grep -q 'ready:' "$log"; then
		echo "$pid" >"$LBT_RUN/b.pid"
		return 0
	fi
	wait_for "! kill -0 $pid" 5 || fail "$1 neither ready nor gone: $(tail -n 3 "$log")"
	wait "$pid" 2>/dev/null || true
	return 1
}
stop_b() {
	local pid
	pid=$(cat "$LBT_RUN/b.pid")
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd $pid (announce-b) did not stop"
}
teardown_b() { in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance announce-b --teardown 2>&1; }
# write_config_b PROTOCOL
write_config_b() {
	cat >"$CONFIG_B" <<EOF
{"proxies": [
  {"name": "other", "listen": {"interfaces": ["lbo0"], "address": "$API3", "port": 81},
   "default-target": {"ip": "10.2.3.2", "port": 8080}}],
 "settings": {"announce-table": $TABLE, "announce-protocol": $1}}
EOF
}
table_proto() { ip -n "$NS_LB" -4 route show table "$TABLE" proto "$1" | awk '{ print $2 }' | sort | xargs; }

test_second_instance_same_table() {
	local out
	# Its own interface: one instance per interface.
	ip -n "$NS_LB" link add lbo0 type veth peer name lbo1
	ip -n "$NS_LB" link set lbo1 up
	ip -n "$NS_LB" link set lbo0 up
	write_config_b 250
	# announce-b announces in the table while the first lbd is stopped (the routes there
	# are then announce-b's: one lbd per table and protocol), and stops, leaving its record.
	stop_lbd
	start_b lbd-b1 || fail "announce-b alone did not start: $(tail -n 3 "$LBT_LOGDIR/lbd-b1.log")"
	wait_for "[[ \"\$(lb_table)\" == '$API3' ]]" 5 || fail "announce-b's table: $(lb_table)"
	stop_b
	start_lbd
	wait_for "[[ \"\$(lb_table)\" == '$WEB $API' ]]" 5 || fail "the first lbd's table: $(lb_table)"
	# announce-b's teardown: the table is the running lbd's now.
	out=$(teardown_b) || fail "lbd --teardown --instance announce-b: $out"
	grep -q "another lbd running in this network namespace announces there; its routes stay" <<<"$out" ||
		fail "teardown said: $out"
	assert_eq "$(lb_table)" "$WEB $API" "the first lbd's routes after announce-b's teardown"
	# A second lbd with the same table and protocol is refused, and changes nothing.
	if start_b lbd-b2; then
		fail "announce-b started beside the first lbd with table $TABLE protocol 250"
	fi
	grep -q "another lbd in this network namespace announces there already.*another settings.announce-protocol" \
		"$LBT_LOGDIR/lbd-b2.log" || fail "announce-b's refusal: $(tail -n 3 "$LBT_LOGDIR/lbd-b2.log")"
	assert_eq "$(lb_table)" "$WEB $API" "the first lbd's routes after announce-b's refusal"
	expect_learnt "$WEB $API"
	lbctl node status | grep -qx "announced: $WEB $API" || fail "node status: $(lbctl node status)"
	# Another protocol: both announce, each tears down its own.
	write_config_b 251
	start_b lbd-b3 || fail "announce-b with protocol 251: $(tail -n 3 "$LBT_LOGDIR/lbd-b3.log")"
	wait_for "[[ \"\$(table_proto 251)\" == '$API3' ]]" 5 || fail "protocol 251: $(table_proto 251)"
	assert_eq "$(table_proto 250)" "$WEB $API" "the first lbd's routes beside announce-b"
	stop_b
	out=$(teardown_b) || fail "lbd --teardown --instance announce-b: $out"
	assert_eq "$(table_proto 251)" "" "announce-b's routes after its teardown"
	assert_eq "$(table_proto 250)" "$WEB $API" "the first lbd's routes after announce-b's teardown"
}

# Without announce-table, node drain could withdraw nothing: refused, saying so.
test_node_drain_without_table() {
	local out rc=0
	sed -i "s/\"settings\": {\"announce-table\": $TABLE}/\"settings\": {}/" "$CONFIG"
	if grep -q announce-table "$CONFIG"; then fail "config still has announce-table: $(cat "$CONFIG")"; fi
	lbctl reload >/dev/null
	out=$(lbctl node drain 2>&1) || rc=$?
	assert_eq "$rc" 1 "node drain without announce-table ($out)"
	grep -q "settings.announce-table is not set" <<<"$out" || fail "node drain said: $out"
	lbctl node status | grep -qx "node: active" || fail "node status: $(lbctl node status)"
	lbctl node undrain >/dev/null || fail "node undrain without announce-table"
	write_config "$API"
	lbctl reload >/dev/null
	expect_learnt "$WEB $API"
}

test_help_node() {
	local out
	out=$(lbctl help node) || fail "lbctl help node: $out"
	grep -q "^  drain " <<<"$out" || fail "lbctl help node: $out"
	out=$(lbctl node --help) || fail "lbctl node --help: $out"
	grep -q "^  undrain " <<<"$out" || fail "lbctl node --help: $out"
	out=$(lbctl help node drain) || fail "lbctl help node drain: $out"
	grep -q -- "--wait" <<<"$out" || fail "lbctl help node drain: $out"
}

test_reload_moves_address() {
	write_config "$API2"
	lbctl reload >/dev/null
	expect_learnt "$WEB $API2"
	assert_eq "$(lb_table)" "$WEB $API2" "lbd's table"
}

test_teardown_withdraws() {
	stop_lbd
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 ||
		fail "lbd --teardown failed"
	expect_learnt ""
	assert_eq "$(lb_table)" "" "lbd's table after --teardown"
}

test_bad_table_refused() {
	local out rc=0
	out=$("$LBD" --check -c <(sed "s/\"announce-table\": $TABLE/\"announce-table\": 254/" "$CONFIG") 2>&1) || rc=$?
	[[ $rc != 0 ]] || fail "announce-table 254 accepted"
	grep -q "table 254 is one the kernel routes with" <<<"$out" || fail "message: $out"
}

run_test test_announced_and_used
run_test test_no_healthy_target_withdraws
run_test test_node_drain_counts_a_new_flow
run_test test_node_drain_counts_a_late_flow
run_test test_node_drain_waits_for_flows
run_test test_node_drain_lets_quiet_full_nat_go
run_test test_restart_keeps_route
run_test test_removed_route_comes_back
run_test test_takeover_keeps_announcing
run_test test_second_instance_same_table
run_test test_node_drain_without_table
run_test test_help_node
run_test test_reload_moves_address
run_test test_teardown_withdraws
run_test test_bad_table_refused
run_summary
