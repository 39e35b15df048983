#!/bin/bash
# lbd end to end: a client, the LB and three backends in namespaces, the real lbd binary
# with a configuration file, real TCP (HTTP) and UDP traffic through DNAT (XDP or TC
# ingress) + TC SNAT.
#
# Usage: test_lbd_basic.sh PATH/TO/lbd [INGRESS]   (meson passes the built binary)
#   INGRESS: settings.ingress, auto (default: TC on these veths), xdp or tc
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:-${LBD:-build/daemon/lbd}}")
[[ -x $LBD ]] || {
	echo "lbd binary not found: $LBD" >&2
	exit 1
}
INGRESS=${2:-auto}
case $INGRESS in
auto | tc) HOOK=tc OTHER_HOOK=xdp ;; # auto picks TC ingress on veth
xdp) HOOK=xdp OTHER_HOOK=tc ;;
*)
	echo "INGRESS must be auto, xdp or tc" >&2
	exit 2
	;;
esac
INSTANCE=itest
PIN_DIR= # set once bpffs_up ran
LBD_LOG=
PINNED_ADDR=10.1.0.254 # second address of lbc0, used by a proxy with an explicit address

lbt_require_env
topo_up 3
bpffs_up
PIN_DIR=$BPFFS/lbd/$INSTANCE
start_backends 8080
# Services of the LB host itself: a local target on loopback and one on its own address,
# plus ports/protocols lbd must leave alone.
ip -n "$NS_LB" addr add "$PINNED_ADDR/24" dev "$LB_IF_C"
start_server "$NS_LB" lo9000 127.0.0.1 9000 --tcp
start_server "$NS_LB" self9001 "$VIP" 9001 --tcp
start_server "$NS_LB" host8000 0.0.0.0 8000 --tcp
start_server "$NS_LB" hostudp80 0.0.0.0 80 --udp
start_server "$NS_LB" host84 "$VIP" 84 --tcp

CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{
  "proxies": [
    {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
     "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                        {"ip": "10.2.2.2", "port": 8080, "weight": 30},
                        {"ip": "10.2.3.2", "port": 8080, "weight": 20}]},
    {"name": "dns", "listen": {"interfaces": ["$LB_IF_C"], "port": 53, "protocol": "udp"},
     "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                        {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
    {"name": "routed", "listen": {"interfaces": ["$LB_IF_C"], "port": 81},
     "default-target": {"ip": "10.2.1.2", "port": 8080},
     "source-routes": [{"source": "10.1.0.0/28", "target": {"ip": "10.2.2.2", "port": 8080}},
                       {"source": "10.1.0.4", "target": {"ip": "10.2.3.2", "port": 8080}}]},
    {"name": "local", "listen": {"interfaces": ["$LB_IF_C"], "port": 82},
     "default-target": {"ip": "127.0.0.1", "port": 9000}},
    {"name": "self", "listen": {"interfaces": ["$LB_IF_C"], "port": 83},
     "default-target": {"ip": "$VIP", "port": 9001}},
    {"name": "pinned", "listen": {"interfaces": ["$LB_IF_C"], "port": 84, "address": "$PINNED_ADDR"},
     "default-target": {"ip": "10.2.3.2", "port": 8080}}
  ],
  "settings": {"max-connections": 65536, "ingress": "$INGRESS"}
}
EOF

# ---------------------------------------------------------------------------- lbd control

start_lbd() {
	LBD_LOG=$LBT_LOGDIR/lbd.log
	spawn "$NS_LB" lbd "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" \
		--socket "$LBT_RUN/lbd.sock" -c "$CONFIG"
	LBD_PID=$LBT_LAST_PID
	wait_for "grep -q 'ready:' '$LBD_LOG' || ! kill -0 $LBD_PID" 20 || true
	grep -q 'ready:' "$LBD_LOG" || fail "lbd did not start: $(tail -n 5 "$LBD_LOG")"
}

stop_lbd() {
	kill -TERM "$LBD_PID" 2>/dev/null || return 0
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop on SIGTERM"
}

# Per-CPU counters of proxy NAME summed, field FIELD (new_flows, pkts_in, ...).
proxy_counter() {
	local name=$1 field=$2
	"$LBT_PY" - "$PIN_DIR" "$name" "$field" <<'EOF'
import json, subprocess, sys
pin, name, field = sys.argv[1:]
def dump(m):
    return json.loads(subprocess.check_output(["bpftool", "-j", "map", "dump", "pinned", f"{pin}/{m}"]))
pid = None
for e in dump("lb_pnames"):
    if e["formatted"]["value"]["name"] == name:
        pid = e["formatted"]["key"]
for e in dump("lb_pstats"):
    if e["formatted"]["key"] == pid:
        print(sum(v["value"][field] for v in e["formatted"]["values"]))
EOF
}

start_lbd
lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5; in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown >/dev/null 2>&1"

# ---------------------------------------------------------------------------- tests

# 1200 new connections split 50/30/20 within 4 points, each with its complete answer.
test_weighted_split() {
	local out ok b1 b2 b3 before after
	before=$(proxy_counter web new_flows)
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 1200 --timeout 60)
	ok=$(json_get "$out" ok)
	assert_eq "$ok" 1200 "successful connections ($out)"
	b1=$(json_get "$out" by_backend.b1 0)
	b2=$(json_get "$out" by_backend.b2 0)
	b3=$(json_get "$out" by_backend.b3 0)
	log "split over 1200: b1=$b1 b2=$b2 b3=$b3"
	# 4.5 standard deviations of a binomial count (17, 16, 14 connections): +-4% was 2.8
	# for b1, and b1=551 failed a CI run by chance (about 1 run in 60 over both variants).
	((b1 >= 522 && b1 <= 678)) || fail "b1 got $b1 of 1200, want 50% +-6.5"
	((b2 >= 288 && b2 <= 432)) || fail "b2 got $b2 of 1200, want 30% +-6"
	((b3 >= 177 && b3 <= 303)) || fail "b3 got $b3 of 1200, want 20% +-5.2"
	after=$(proxy_counter web new_flows)
	assert_eq "$((after - before))" 1200 "lb_pstats new_flows of web"
}

# UDP datagrams from fresh sockets are balanced and their replies translated back
# (tally only counts a reply that comes from the address it sent to).
test_udp() {
	local out b1 b2
	out=$(lbtraffic "$NS_C" tally --proto udp --host "$VIP" --port 53 --count 400 --timeout 60)
	assert_eq "$(json_get "$out" ok)" 400 "UDP answers ($out)"
	b1=$(json_get "$out" by_backend.b1 0)
	b2=$(json_get "$out" by_backend.b2 0)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 0 "UDP answers from b3 (not in the group)"
	((b1 >= 160 && b2 >= 160)) || fail "UDP split b1=$b1 b2=$b2, want about 200 each"
}

# A long-lived connection keeps its backend and its data while new connections spread.
test_long_lived_connection_stays() {
	local out spread hold_log
	hold_log=$LBT_LOGDIR/hold.log
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 6 --interval 50 >"$hold_log" 2>&1 &
	local hold_pid=$!
	wait_for "grep -q start '$hold_log'" 5 || fail "hold did not connect: $(cat "$hold_log")"
	spread=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 300 --timeout 30)
	assert_eq "$(json_get "$spread" ok)" 300 "new connections during the hold"
	for b in b1 b2 b3; do
		(($(json_get "$spread" by_backend.$b 0) > 0)) || fail "no new connection reached $b"
	done
	wait "$hold_pid" || fail "long-lived connection broke: $(cat "$hold_log")"
	out=$(tail -n 1 "$hold_log")
	assert_eq "$(json_get "$out" ok)" true "hold result ($out)"
	(($(json_get "$out" exchanges 0) >= 50)) || fail "too few exchanges: $out"
}

# Source routes: longest prefix wins, unmatched clients get the default target.
test_source_routes() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 81 --count 40 --bind 10.1.0.2)
	assert_eq "$(json_get "$out" by_backend.b2 0)" 40 "10.1.0.2 via 10.1.0.0/28 ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 81 --count 40 --bind 10.1.0.4)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 40 "10.1.0.4 via its /32 ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 81 --count 40 --bind 10.1.0.100)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 40 "10.1.0.100 via the default ($out)"
}

# Backends on the LB host itself: 127.0.0.1 and the LB's own address.
test_local_targets() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 82 --count 50)
	assert_eq "$(json_get "$out" by_backend.lo9000 0)" 50 "127.0.0.1 target ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 83 --count 50)
	assert_eq "$(json_get "$out" by_backend.self9001 0)" 50 "own-address target ($out)"
}

# Everything that is not a listener reaches whoever really owns it.
test_untouched_traffic() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 8000 --count 20)
	assert_eq "$(json_get "$out" by_backend.host8000 0)" 20 "other port of the LB ($out)"
	out=$(lbtraffic "$NS_C" tally --proto udp --host "$VIP" --port 80 --count 20)
	assert_eq "$(json_get "$out" by_backend.hostudp80 0)" 20 "UDP to a TCP-only port ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 84 --count 20)
	assert_eq "$(json_get "$out" by_backend.host84 0)" 20 "port 84 on an address not pinned ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$PINNED_ADDR" --port 84 --count 20)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 20 "port 84 on the pinned address ($out)"
	out=$(lbtraffic "$NS_C" tally --host 10.2.1.2 --port 8080 --count 20)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 20 "transit traffic to a backend ($out)"
}

# Listeners without an address follow the interface's addresses as they come and go.
test_interface_address_tracking() {
	local out
	ip -n "$NS_LB" addr add 10.1.0.253/24 dev "$LB_IF_C"
	wait_for "in_ns $NS_C $LBT_PY $LBTRAFFIC tally --host 10.1.0.253 --port 80 --count 1 --timeout 2 | grep -q '\"ok\": 1'" 5 ||
		fail "new address 10.1.0.253 not balanced"
	out=$(lbtraffic "$NS_C" tally --host 10.1.0.253 --port 80 --count 60)
	assert_eq "$(json_get "$out" ok)" 60 "connections to the added address ($out)"
	ip -n "$NS_LB" addr del 10.1.0.253/24 dev "$LB_IF_C"
	wait_for "! listener_has_addr 0xfd" 5 || fail "listener for the removed address remains"
	listener_has_addr 0x01 || fail "listener for the VIP is gone"
}

# True when lb_listen holds an entry for 10.1.0.LAST (LAST as "0x.." byte).
listener_has_addr() {
	local dump
	dump=$(bpftool -j map dump pinned "$PIN_DIR/lb_listen")
	[[ $dump == *'"0x0a","0x01","0x00","'$1'"'* ]]
}

# The named, pinned maps and the attached programs are visible to bpftool.
test_bpftool_view() {
	local maps net m
	maps=$(ls "$PIN_DIR")
	for m in lb_listen lb_ct lb_groups lb_routes lb_pstats lb_tstats lb_gstats; do
		[[ $maps == *"$m"* ]] || fail "no pin $m in $PIN_DIR: $maps"
	done
	expect_hook "$HOOK"
	net=$(in_ns "$NS_LB" bpftool net show dev "$LB_IF_C")
	[[ $net == *lb_tc_egress* ]] || fail "bpftool net: no tc egress program: $net"
	[[ $(bpftool map show pinned "$PIN_DIR/lb_ct") == *"lru_hash  name lb_ct"* ]] ||
		fail "lb_ct is not a named LRU hash"
}

# expect_hook xdp|tc: requests run there on $LB_IF_C, and not at the other hook.
expect_hook() {
	local net
	net=$(in_ns "$NS_LB" bpftool net show dev "$LB_IF_C")
	if [[ $1 == xdp ]]; then
		# bpftool net names tc programs but shows XDP by id only.
		[[ $net =~ $LB_IF_C\([0-9]+\)\ driver\ id\ ([0-9]+) ]] || fail "no native XDP: $net"
		[[ $(bpftool prog show id "${BASH_REMATCH[1]}") == *"xdp  name lb_xdp_ingress"* ]] ||
			fail "XDP program ${BASH_REMATCH[1]} is not lb_xdp_ingress"
		[[ $net != *lb_tc_ingress* ]] || fail "tc ingress still attached: $net"
		[[ -e $PIN_DIR/xdp_$LB_IF_C && ! -e $PIN_DIR/tc_$LB_IF_C ]] ||
			fail "pins do not say XDP: $(ls "$PIN_DIR")"
	else
		[[ $net == *lb_tc_ingress* ]] || fail "bpftool net: no tc ingress program: $net"
		[[ $net != *"driver id"* && $net != *"generic id"* ]] || fail "XDP still attached: $net"
		[[ -e $PIN_DIR/tc_$LB_IF_C && ! -e $PIN_DIR/xdp_$LB_IF_C ]] ||
			fail "pins do not say tc: $(ls "$PIN_DIR")"
	fi
}

# set_ingress HOOK: edit settings.ingress and reload with SIGHUP; wait for the reload.
set_ingress() {
	local n
	n=$(grep -c 'reloaded' "$LBD_LOG" || true)
	sed -i "s/\"ingress\": \"[a-z]*\"/\"ingress\": \"$1\"/" "$CONFIG"
	kill -HUP "$LBD_PID"
	wait_for "(( \$(grep -c reloaded '$LBD_LOG') > $n ))" 10 ||
		fail "no reload: $(tail -n 3 "$LBD_LOG")"
}

# The request direction moves between XDP and TC ingress at runtime (settings.ingress and
# a reload): a connection open across both moves keeps working, new ones are balanced.
test_ingress_moves_at_runtime() {
	local out hold_log=$LBT_LOGDIR/hold-move.log hold_pid
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 6 --interval 50 >"$hold_log" 2>&1 &
	hold_pid=$!
	wait_for "grep -q start '$hold_log'" 5 || fail "hold did not connect: $(cat "$hold_log")"
	set_ingress "$OTHER_HOOK"
	expect_hook "$OTHER_HOOK"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 200 --timeout 30)
	assert_eq "$(json_get "$out" ok)" 200 "connections after the move to $OTHER_HOOK ($out)"
	(($(json_get "$out" by_backend.b3 0) > 0)) || fail "not balanced at $OTHER_HOOK: $out"
	set_ingress "$INGRESS"
	expect_hook "$HOOK"
	wait "$hold_pid" || fail "the held connection broke across the moves: $(cat "$hold_log")"
	assert_eq "$(json_get "$(tail -n 1 "$hold_log")" ok)" true "hold result"
}

# A configuration error is reported with its place; nothing is attached or pinned.
test_bad_config_refused() {
	local bad=$LBT_RUN/bad.json out rc=0
	cat >"$bad" <<EOF
{"proxies": [{"name": "x", "listen": {"interfaces": ["$LB_IF_C"], "port": 90},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 60},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 30}]}]}
EOF
	out=$(in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance bad -c "$bad" 2>&1) || rc=$?
	((rc != 0)) || fail "lbd accepted weights summing to 90"
	[[ $out == *"proxies[0].default-target"*"90"*"100"* ]] || fail "unclear error: $out"
	[[ ! -e $BPFFS/lbd/bad ]] || fail "a refused configuration left pins"
}

# Stopping lbd leaves the datapath forwarding (a restarted lbd adopts it); lbd --teardown
# then removes its programs, filters and pins, and puts back the sysctls lbd raised.
test_stop_keeps_forwarding_then_teardown() {
	local net tcf out
	stop_lbd
	grep -q "datapath left running" "$LBD_LOG" || fail "no 'left running' message in the log"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 100)
	assert_eq "$(json_get "$out" ok)" 100 "connections balanced while lbd is stopped ($out)"
	(($(json_get "$out" by_backend.b3 0) > 0)) || fail "not balanced while stopped: $out"
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown ||
		fail "lbd --teardown failed"
	net=$(in_ns "$NS_LB" bpftool net show dev "$LB_IF_C")
	[[ $net != *lb_* && $net != *"driver id"* ]] || fail "programs left after teardown: $net"
	[[ $(ip -n "$NS_LB" link show dev "$LB_IF_C") != *xdp* ]] || fail "XDP left on $LB_IF_C"
	tcf=$(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" egress)
	tcf+=$(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" ingress)
	[[ -z $tcf ]] || fail "tc filter left: $tcf"
	[[ ! -e $BPFFS/lbd ]] || fail "pins left: $(find "$BPFFS")"
	# The sysctl lbd raised for the 127.0.0.1 target goes back, although the lbd that
	# raised it is gone: its old value was kept with the datapath.
	assert_eq "$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$LB_IF_C.route_localnet")" 0 \
		"route_localnet after lbd --teardown"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 8000 --count 5)
	assert_eq "$(json_get "$out" ok)" 5 "the LB host still answers for itself"
}

# --teardown-on-exit: stopping removes everything, route_localnet included.
test_teardown_on_exit() {
	local log=$LBT_LOGDIR/lbd-tde.log pid
	spawn "$NS_LB" lbd-tde "$LBD" --bpffs "$BPFFS" --instance tde --socket "$LBT_RUN/tde.sock" \
		--teardown-on-exit -c "$CONFIG"
	pid=$LBT_LAST_PID
	wait_for "grep -q 'ready:' '$log'" 20 || fail "lbd did not start: $(tail -n 5 "$log")"
	assert_eq "$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$LB_IF_C.route_localnet")" 1 \
		"route_localnet while a 127.0.0.1 target is configured"
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd did not stop"
	[[ ! -e $BPFFS/lbd/tde ]] || fail "pins left: $(find "$BPFFS")"
	[[ $(ip -n "$NS_LB" link show dev "$LB_IF_C") != *xdp* ]] || fail "XDP left on $LB_IF_C"
	[[ -z $(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" egress) ]] || fail "tc filter left"
	[[ -z $(in_ns "$NS_LB" tc filter show dev "$LB_IF_C" ingress) ]] || fail "tc ingress left"
	assert_eq "$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$LB_IF_C.route_localnet")" 0 \
		"route_localnet restored"
}

run_test test_weighted_split
run_test test_udp
run_test test_long_lived_connection_stays
run_test test_source_routes
run_test test_local_targets
run_test test_untouched_traffic
run_test test_interface_address_tracking
run_test test_bpftool_view
run_test test_ingress_moves_at_runtime
run_test test_bad_config_refused
run_test test_stop_keeps_forwarding_then_teardown
run_test test_teardown_on_exit
run_summary
