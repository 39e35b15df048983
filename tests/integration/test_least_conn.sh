#!/bin/bash
# Least-connections selection with real traffic: two backends, one of them slow (it waits
# 200 ms before each HTTP answer), and two proxies on the same VIP over the same two
# targets: port 80 with the default "selection" (maglev, the consistent hash), port 81 with
# "least-connections".
#
#   client 10.1.0.2 --- LB 10.1.0.1 --- b1 10.2.1.2:8080 (fast), b2 10.2.2.2:8080 (slow)
#   (port 82: a third proxy, least-connections with full-nat)
#
# Covers: list-proxies says each proxy's selection; a configuration combining
# least-connections with source-address affinity is refused with the reason; on the same
# closed-loop traffic (many concurrent short connections) least-connections sends the slow
# backend a much smaller share of the connections than the hash does; the datapath's live
# counts (stats "live-flows") return to 0 once the connections closed (nat and full-nat);
# they survive an lbd restart while connections stay open; and a SYN flood from spoofed
# sources counts apart, as "unconfirmed-flows" (1/16 of a confirmed flow for the choice),
# never as "live-flows", which keep counting the open connections exactly.
#
# Usage: test_least_conn.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=lc

lbt_require_env
topo_up 2
bpffs_up
lbt_spawn_server "${NS_BACKENDS[0]}" b1 "${BACKEND_IPS[0]}" 8080 --tcp
lbt_spawn_server "${NS_BACKENDS[1]}" b2 "${BACKEND_IPS[1]}" 8080 --tcp --delay 200
lbt_wait_server b1 8080
lbt_wait_server b2 8080

SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
targets='[{"ip": "10.2.1.2", "port": 8080, "weight": 50}, {"ip": "10.2.2.2", "port": 8080, "weight": 50}]'
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "hash", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 80},
   "default-target": $targets},
  {"name": "lc", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 81},
   "selection": "least-connections", "default-target": $targets},
  {"name": "lcfn", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 82},
   "selection": "least-connections", "forwarding": "full-nat", "default-target": $targets}],
 "settings": {"ingress": "$INGRESS"}}
EOF
lbt_start_lbd -c "$CONFIG"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# live_flows PROXY [KEY]: the sum of the datapath's live counts (KEY, default live-flows:
# confirmed ones) over PROXY's targets.
live_flows() {
	lbctl --json stats | "$LBT_PY" -c '
import json, sys
d = json.load(sys.stdin)
print(sum(t["counters"].get(sys.argv[2], 0) for p in d["proxies"] if p["proxy"] == sys.argv[1]
          for t in p["targets"]))' "$1" "${2:-live-flows}"
}

test_list_proxies() {
	local out bad=$LBT_RUN/bad.json
	out=$(lbctl list-proxies)
	grep -Eq '^  selection +least-connections$' <<<"$out" || fail "no least-connections: $out"
	grep -Eq '^  selection +maglev$' <<<"$out" || fail "no maglev: $out"
	lbctl --json get-config | grep -Eq '"selection": ?"least-connections"' ||
		fail "get-config lost the selection"
	sed 's/"selection": "least-connections"/"selection": "least-connections", "hash": "source-address"/' \
		"$CONFIG" >"$bad"
	out=$("$LBD" --check=file -c "$bad" 2>&1) && fail "least-connections with affinity accepted"
	grep -q 'least-connections cannot keep "hash": "source-address"' <<<"$out" ||
		fail "unclear refusal: $out"
	# SNI routes go to lbd's acceptor, which least-connections would not steer: refused.
	out=$(lbctl add-sni-route lc api.example.com 10.2.1.2:8080 2>&1) &&
		fail "an SNI route on a least-connections proxy was accepted"
	grep -q 'least-connections does not apply to a proxy with sni-routes' <<<"$out" ||
		fail "unclear refusal: $out"
	lbctl list-sni-routes lc 2>&1 | grep -q api.example.com && fail "the refused route is there"
	# At run time: lbctl add-proxy --selection.
	lbctl add-proxy lc2 --interface "$LB_IF_C" --address "$VIP" --port 83 \
		--selection least-connections 10.2.1.2:8080@50 10.2.2.2:8080@50 >/dev/null
	lbctl --json list-proxies | grep -Eq '"name": ?"lc2"[^}]*' || fail "lc2 not added"
	out=$(lbctl --json list-proxies | "$LBT_PY" -c '
import json, sys
print([p["selection"] for p in json.load(sys.stdin)["proxies"] if p["name"] == "lc2"][0])')
	[[ $out == least-connections ]] || fail "lc2's selection: $out"
	lbctl remove-proxy lc2 >/dev/null
	out=$(lbctl add-proxy lc3 --interface "$LB_IF_C" --port 84 --selection fewest 10.2.1.2:8080 2>&1) &&
		fail "--selection fewest accepted"
	grep -q 'maglev|least-connections' <<<"$out" || fail "unclear refusal: $out"
	# Flag mode: -S.
	"$LBD" --check=file -i lo -S least-connections -t 10.2.1.2:8080 >/dev/null ||
		fail "lbd -S least-connections refused"
	out=$("$LBD" --check=file -i lo -S fewest -t 10.2.1.2:8080 2>&1) && fail "lbd -S fewest accepted"
	grep -q -- '-S fewest: the selection must be maglev or least-connections' <<<"$out" ||
		fail "unclear refusal: $out"
	sed 's/"least-connections"/"fewest"/' "$CONFIG" >"$bad"
	out=$("$LBD" --check=file -c "$bad" 2>&1) && fail "an unknown selection accepted"
	grep -q 'selection' <<<"$out" || fail "unclear refusal: $out"
}

# The same closed loop through both proxies, interleaved twice: 20 clients, each opening
# one connection after the other. The hash splits them about evenly whatever the backends
# do; least-connections sees the slow backend's connections pile up and sends it fewer.
test_slow_backend_gets_fewer() {
	local round port out ok slow
	declare -A OK=([80]=0 [81]=0) SLOW=([80]=0 [81]=0)
	for round in 1 2; do
		for port in 80 81; do
			out=$(lbtraffic "$NS_C" tally --host "$VIP" --port "$port" --count 300 \
				--concurrency 20 --timeout 120)
			ok=$(json_get "$out" ok 0)
			[[ $ok == 300 ]] || fail "port $port round $round: $out"
			slow=$(json_get "$out" by_backend.b2 0)
			OK[$port]=$((OK[$port] + ok))
			SLOW[$port]=$((SLOW[$port] + slow))
			log "port $port round $round: $(json_get "$out" by_backend) in $(json_get "$out" elapsed_s) s"
		done
	done
	log "slow backend's share: hash ${SLOW[80]}/${OK[80]}, least-connections ${SLOW[81]}/${OK[81]}"
	# The hash: 600 connections, half expected, 1.2 % standard deviation: 35 % is 12 sd off.
	((SLOW[80] * 100 >= 35 * OK[80])) || fail "the hash sent the slow backend only ${SLOW[80]}/${OK[80]}"
	# Least connections: at most two thirds of the hash's share (measured: a third).
	((SLOW[81] * 3 <= SLOW[80] * 2)) ||
		fail "least-connections sent the slow backend ${SLOW[81]}, the hash ${SLOW[80]} (of 600)"
	((SLOW[81] > 0)) || fail "least-connections never used the slow backend"
}

# Every connection closed (FIN both ways): the datapath counted each one down. full-nat
# (its replies translated at ingress) too, and its choice favours the fast backend as well.
test_counts_return_to_zero() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 82 --count 200 --concurrency 20 --timeout 120)
	[[ $(json_get "$out" ok 0) == 200 ]] || fail "full-nat: $out"
	log "full-nat, least-connections: $(json_get "$out" by_backend)"
	(($(json_get "$out" by_backend.b2 0) * 100 <= 35 * 200)) || fail "full-nat: the slow backend got $out"
	wait_for '[[ $(live_flows lc) == 0 && $(live_flows hash) == 0 && $(live_flows lcfn) == 0 ]]' 10 ||
		fail "live flows after the traffic: lc $(live_flows lc), hash $(live_flows hash), lcfn $(live_flows lcfn)"
}

# Open connections keep their count through an lbd restart (the pinned lb_lconn), and
# are counted down when they close after it.
test_restart_keeps_counts() {
	rm -f "$LBT_RUN/stop"
	spawn "$NS_C" holdmany "$LBT_PY" "$LBTRAFFIC" holdmany --host "$VIP" --port 81 \
		--count 10 --interval 200 --step-timeout 8 --until-file "$LBT_RUN/stop" --seconds 60
	wait_for "grep -q '\"started\"' '$LBT_LOGDIR/holdmany.log'" 30 ||
		fail "holdmany: $(cat "$LBT_LOGDIR/holdmany.log")"
	wait_for '[[ $(live_flows lc) == 10 ]]' 10 || fail "live flows with 10 open: $(live_flows lc)"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	mv "$LBT_LOGDIR/lbd.log" "$LBT_LOGDIR/lbd-1.log"
	lbt_start_lbd -c "$CONFIG"
	[[ $(live_flows lc) == 10 ]] || fail "live flows after the restart: $(live_flows lc)"
	touch "$LBT_RUN/stop"
	wait_for "grep -q '\"total\"' '$LBT_LOGDIR/holdmany.log'" 30 || true
	grep -q '"ok": 10, "failed": 0' "$LBT_LOGDIR/holdmany.log" ||
		fail "held connections broke: $(tail -2 "$LBT_LOGDIR/holdmany.log")"
	wait_for '[[ $(live_flows lc) == 0 ]]' 10 || fail "live flows after they closed: $(live_flows lc)"
}

# Spoofed SYNs (synflood.py) beside 6 open connections: the flood's flows, never confirmed,
# are counted as unconfirmed-flows (JSON, lbctl stats, the metric), the open connections
# alone as live-flows.
test_flood_counts_apart() {
	local flood_log=$LBT_LOGDIR/synflood.log sent unconf
	rm -f "$LBT_RUN/stop"
	spawn "$NS_C" holdsix "$LBT_PY" "$LBTRAFFIC" holdmany --host "$VIP" --port 81 \
		--count 6 --interval 200 --step-timeout 8 --until-file "$LBT_RUN/stop" --seconds 60
	wait_for "grep -q '\"started\"' '$LBT_LOGDIR/holdsix.log'" 30 ||
		fail "holdmany: $(cat "$LBT_LOGDIR/holdsix.log")"
	wait_for '[[ $(live_flows lc) == 6 && $(live_flows lc unconfirmed-flows) == 0 ]]' 10 ||
		fail "6 open: live $(live_flows lc), unconfirmed $(live_flows lc unconfirmed-flows)"
	in_ns "$NS_C" "$LBT_PY" "$LBT_DIR/synflood.py" --dst "$VIP" --port 81 --seconds 2 \
		>"$flood_log" 2>&1 || fail "synflood failed: $(cat "$flood_log")"
	sent=$(json_get "$(cat "$flood_log")" sent 0)
	unconf=$(live_flows lc unconfirmed-flows)
	log "flood: $sent spoofed SYNs; unconfirmed flows $unconf, live $(live_flows lc)"
	((sent >= 200)) || fail "the flood sent only $sent SYNs"
	((unconf >= 100)) || fail "$sent spoofed SYNs, $unconf unconfirmed flows"
	[[ $(live_flows lc) == 6 ]] || fail "live flows beside the flood: $(live_flows lc), not 6"
	lbctl stats | grep -q 'UNCONFIRMED' || fail "lbctl stats: no UNCONFIRMED column"
	lbctl metrics | grep -q '^lbd_target_unconfirmed_flows{proxy="lc"' ||
		fail "no lbd_target_unconfirmed_flows for lc: $(lbctl metrics | grep unconfirmed)"
	touch "$LBT_RUN/stop"
	wait_for "grep -q '\"total\"' '$LBT_LOGDIR/holdsix.log'" 30 || true
	grep -q '"ok": 6, "failed": 0' "$LBT_LOGDIR/holdsix.log" ||
		fail "held connections broke: $(tail -2 "$LBT_LOGDIR/holdsix.log")"
	wait_for '[[ $(live_flows lc) == 0 ]]' 10 || fail "live flows after they closed: $(live_flows lc)"
}

# lbctl trace of a least-connections proxy says what a confirmed flow weighs.
test_trace_names_the_weight() {
	local out
	out=$(lbctl --json trace lc 10.1.0.2:40000)
	assert_eq "$(json_get "$out" selection.method)" least-connections "selection ($out)"
	assert_eq "$(json_get "$out" selection.confirmed-weight)" 16 "confirmed-weight ($out)"
	out=$(lbctl trace lc 10.1.0.2:40000)
	grep -q 'smallest load (confirmed flows x 16 + unconfirmed) per unit of weight' <<<"$out" ||
		fail "lbctl trace: $out"
}

run_test test_list_proxies
run_test test_trace_names_the_weight
run_test test_slow_backend_gets_fewer
run_test test_counts_return_to_zero
run_test test_restart_keeps_counts
run_test test_flood_counts_apart
run_summary
