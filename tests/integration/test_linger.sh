#!/bin/bash
# An interface the configuration stops using while established flows still pass it stays
# attached ("lingering", in lbctl status) until conntrack lets the last of those flows go,
# then lbd detaches it: a held connection keeps exchanging data across a remove-proxy of
# the only nat proxy on its interface, a reload switching its proxy from full-nat to nat
# (the backend-side interface, where full-nat replies are translated), and an lbd restarted
# with a configuration without its proxy.
#
#   client 10.1.0.2 --- lbc0 LB lbb<i> --- b<i> 10.2.<i>.2:8080;   lgdum0: a second listener
#
# Usage: test_linger.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=linger

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080 # b<i> on 10.2.<i>.2:8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# A listener on an interface of its own, so that no test empties the configuration.
ip -n "$NS_LB" link add lgdum0 type veth peer name lgdum1
ip -n "$NS_LB" link set lgdum1 up
ip -n "$NS_LB" addr add 10.9.0.1/24 dev lgdum0
ip -n "$NS_LB" link set lgdum0 up

# write_config [WEB_MODE [WEB_TARGET]]: "other" on lgdum0, and "web" on lbc0 towards b2 (or
# WEB_TARGET) unless WEB_MODE is "none". A short TCP timeout makes the sweeper run every
# second.
write_config() {
	local web=""
	[[ ${1:-nat} == none ]] || web=',
  {"name": "web", "listen": {"interfaces": ["'$LB_IF_C'"], "port": 80},
   "forwarding": "'${1:-nat}'", "default-target": {"ip": "'${2:-10.2.2.2}'", "port": 8080}}'
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "other", "listen": {"interfaces": ["lgdum0"], "port": 80},
   "default-target": {"ip": "10.2.1.2", "port": 8080}}$web],
 "settings": {"ingress": "tc", "connection-timeout-sec": 4}}
EOF
}

# hold NAME: one long-lived echo flow to web; ends when NAME.stop exists.
# (Its failure is hold_end's to report: the background job must not trip the ERR trap.)
hold() {
	{ lbtraffic "$NS_C" hold --host "$VIP" --port 80 --interval 100 --seconds 120 \
		--until-file "$LBT_RUN/$1.stop" >"$LBT_LOGDIR/$1.log" 2>&1 || true; } &
	echo $! >"$LBT_RUN/$1.pid"
	wait_for "grep -q start '$LBT_LOGDIR/$1.log'" 5 || fail "hold $1 did not start"
}

# hold_end NAME: stop it after 2 more seconds of exchanges; checks that it never broke.
hold_end() {
	sleep 2
	touch "$LBT_RUN/$1.stop"
	wait "$(cat "$LBT_RUN/$1.pid")" 2>/dev/null || true
	HOLD_OUT=$(tail -n 1 "$LBT_LOGDIR/$1.log")
	[[ $(json_get "$HOLD_OUT" ok) == true ]] || fail "the held connection broke: $HOLD_OUT"
	(($(json_get "$HOLD_OUT" exchanges) >= 15)) || fail "too few exchanges: $HOLD_OUT"
}

# iface_field NAME MEMBER: MEMBER of interface NAME in `lbctl status` ("" when not listed).
iface_field() {
	lbctl --json status | "$LBT_PY" -c 'import json,sys
m = [i for i in json.load(sys.stdin)["interfaces"] if i["name"] == sys.argv[1]]
print(m[0].get(sys.argv[2], "") if m else "")' "$1" "$2"
}

tc_hooked() { # IFACE: lbd's tc ingress filter is on it (tc fails without a clsact qdisc)
	local f
	f=$(in_ns "$NS_LB" tc filter show dev "$1" ingress 2>&1) || true
	[[ $f == *lb_tc_ingress* ]]
}

# assert_lingering IFACE: listed as lingering, still hooked, for at least one flow.
assert_lingering() {
	assert_eq "$(iface_field "$1" state)" lingering "state of $1 in status"
	(($(iface_field "$1" flows) >= 1)) || fail "$1 lingers for no flow: $(lbctl --json status)"
	tc_hooked "$1" || fail "no tc filter on the lingering $1"
}

# assert_detached_soon IFACE: once the closed flow is gone from conntrack (10 s quiet), two
# sweeps later the interface is detached.
assert_detached_soon() {
	wait_for "[[ -z \$(iface_field $1 state) ]]" 40 ||
		fail "$1 still listed after its flows ended: $(lbctl --json status)"
	! tc_hooked "$1" || fail "tc filter left on $1"
	grep -q "$1: the last flow that started before the change has ended; detaching" \
		"$LBT_LOGDIR/lbd.log" || fail "no detach line for $1 in the log"
}

# nat: removing the only proxy on lbc0 keeps its established flow going (DNAT at ingress,
# SNAT at egress), and new connections find no listener.
test_nat_remove_proxy() {
	local out
	write_config nat
	lbctl reload >/dev/null
	hold nat
	lbctl remove-proxy web >/dev/null
	assert_lingering "$LB_IF_C"
	[[ $(iface_field "$LB_IF_C" why) == *web* ]] ||
		fail "why $LB_IF_C lingers: $(iface_field "$LB_IF_C" why)"
	out=$(lbctl status)
	[[ $out == *lingering*"flows of web that started before the change"* ]] ||
		fail "lbctl status does not show $LB_IF_C lingering: $out"
	grep -q "$LB_IF_C: no proxy uses it any more, but 1 flow may still pass it" \
		"$LBT_LOGDIR/lbd.log" || fail "no lingering line in the log"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 2 --req-timeout 1 \
		--timeout 5) || true
	assert_eq "$(json_get "$out" ok 0)" 0 "new connections to the removed proxy ($out)"
	hold_end nat
	log "nat connection across remove-proxy: $HOLD_OUT"
	assert_detached_soon "$LB_IF_C"
}

# A proxy added on a lingering interface just uses it.
test_readd_on_lingering() {
	local out
	write_config nat
	lbctl reload >/dev/null
	hold readd
	lbctl remove-proxy web >/dev/null
	assert_lingering "$LB_IF_C"
	out=$(lbctl add-proxy web2 --interface "$LB_IF_C" --port 80 10.2.1.2:8080) ||
		fail "add-proxy: $out"
	assert_eq "$(iface_field "$LB_IF_C" state)" attached "state of $LB_IF_C"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 5)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 5 "connections to web2 ($out)"
	hold_end readd
	lbctl remove-proxy web2 >/dev/null
}

# full-nat: the replies are translated at lbb2's ingress; a reload to nat no longer needs
# lbb2, which stays until the full-nat flow ends (new nat flows do not keep it).
test_fullnat_to_nat() {
	local out
	write_config full-nat
	lbctl reload >/dev/null
	tc_hooked lbb2 || fail "full-nat did not attach lbb2"
	hold fn
	write_config nat
	lbctl reload >/dev/null
	assert_lingering lbb2
	assert_eq "$(iface_field "$LB_IF_C" state)" attached "state of $LB_IF_C"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 5)
	assert_eq "$(json_get "$out" ok)" 5 "nat connections after the reload ($out)"
	hold_end fn
	log "full-nat connection across the reload to nat: $HOLD_OUT"
	# A nat connection open meanwhile does not keep lbb2.
	hold natbusy
	assert_detached_soon lbb2
	hold_end natbusy
}

# full-nat: a reload that moves web's only target from b2 to b1 no longer needs lbb2; the
# full-nat flows to b1 that keep coming do not keep it.
test_fullnat_target_moves() {
	local out
	write_config full-nat
	lbctl reload >/dev/null
	hold move
	write_config full-nat 10.2.1.2
	lbctl reload >/dev/null
	assert_lingering lbb2
	tc_hooked lbb1 || fail "full-nat to b1 did not attach lbb1"
	hold b1busy
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 5)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 5 "full-nat connections to b1 ($out)"
	hold_end move
	assert_eq "$(json_get "$HOLD_OUT" backend)" b2 "the held connection's backend"
	assert_detached_soon lbb2
	hold_end b1busy
}

# A restarted lbd whose configuration no longer has the proxy lingers what it adopted.
test_restart_without_proxy() {
	write_config full-nat
	lbctl reload >/dev/null
	hold rs
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	mv "$LBT_LOGDIR/lbd.log" "$LBT_LOGDIR/lbd-1.log"
	write_config none
	lbt_start_lbd -c "$CONFIG"
	assert_lingering "$LB_IF_C"
	assert_lingering lbb2
	[[ $(iface_field lbb2 why) == *"a previous lbd attached it"* ]] ||
		fail "why lbb2 lingers: $(iface_field lbb2 why)"
	hold_end rs
	log "full-nat connection across a restart without its proxy: $HOLD_OUT"
	assert_detached_soon lbb2
	assert_detached_soon "$LB_IF_C"
}

write_config nat
lbt_start_lbd -c "$CONFIG"

run_test test_nat_remove_proxy
run_test test_readd_on_lingering
run_test test_fullnat_to_nat
run_test test_fullnat_target_moves
run_test test_restart_without_proxy
run_summary
