#!/bin/bash
# Forwarding mode dsr (layer-2 direct server return) with real traffic: client, LB and two
# backends on one Ethernet segment (a bridge in a namespace of its own); the backends hold
# the listener address on lo (packaging/examples/dsr-backend.sh) and answer the clients
# directly. IPv4 and IPv6, TCP and UDP: clients get complete answers while the LB counts
# no reply packet for any target (lbctl stats: packets-out 0), only requests (dsr-tx).
# A target without a neighbour entry: its packets are dropped and counted. lbd keeps a
# managed neighbour entry for each dsr target itself (no health checks here), removes the
# ones it made when no target needs them, and never touches an entry of the operator's.
#
#   $NS_C 10.3.0.2 fd03::2 ---+
#   $NS_LB 10.3.0.1 fd03::1 --+-- bridge ($NS_SW)    VIP 10.3.0.100 / fd03::100 (LB: on its
#   $NS_B1 10.3.0.11 fd03::11-+                       interface; backends: on lo)
#   $NS_B2 10.3.0.12 fd03::12-+
#
# With XDP, dsr sends the frames back out of the LB's veth (XDP_TX): they reach the bridge
# only while its end of that veth runs an XDP program (XDP_PASS_OBJ, passing everything).
#
# Usage: test_dsr.sh PATH/TO/lbd PATH/TO/lbctl PATH/TO/dsr-backend.sh XDP_PASS_OBJ [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
DSR_BACKEND=$(realpath "${3:?dsr-backend.sh}")
XDP_PASS_OBJ=$(realpath "${4:?xdp_pass.bpf.o}")
INGRESS=${5:-auto}
INSTANCE=dsr
DVIP=10.3.0.100
DVIP6=fd03::100

lbt_require_env
lbt_init_dirs
topo_down
NS_SW=$LBT_PREFIX-sw
NS_C=$LBT_PREFIX-c
NS_LB=$LBT_PREFIX-lb
NS_BACKENDS=("$LBT_PREFIX-b1" "$LBT_PREFIX-b2")
LB_IF=lbd0

# seg NS IF ADDR4 ADDR6: a port of the bridge into NS as IF, with these addresses.
seg() {
	local ns=$1 dev=$2 port=p$(($(ip -n "$NS_SW" -o link | wc -l)))
	ip -n "$NS_SW" link add "$port" type veth peer name "$dev" netns "$ns"
	ip -n "$NS_SW" link set "$port" master br0 up
	lbt_ipv6_on "$ns" "$dev"
	ip -n "$ns" addr add "$3/24" dev "$dev"
	ip -n "$ns" addr add "$4/64" dev "$dev" nodad
	ip -n "$ns" link set "$dev" up
	# GRO on the bridge side: XDP_TX back into a veth needs NAPI on its peer.
	lbt_veth_tune "$NS_SW" "$port" gro
	lbt_veth_tune "$ns" "$dev"
	SEG_PORT=$port
}
lbt_ns_add "$NS_SW"
ip -n "$NS_SW" link add br0 type bridge
ip -n "$NS_SW" link set br0 up
for ns in "$NS_C" "$NS_LB" "${NS_BACKENDS[@]}"; do lbt_ns_add "$ns"; done
seg "$NS_C" eth0 10.3.0.2 fd03::2
seg "$NS_LB" "$LB_IF" 10.3.0.1 fd03::1
LB_PORT=$SEG_PORT
seg "${NS_BACKENDS[0]}" eth0 10.3.0.11 fd03::11
seg "${NS_BACKENDS[1]}" eth0 10.3.0.12 fd03::12
ip -n "$NS_SW" link set dev "$LB_PORT" xdp obj "$XDP_PASS_OBJ" sec xdp # see above
ip -n "$NS_LB" addr add "$DVIP/24" dev "$LB_IF"
ip -n "$NS_LB" addr add "$DVIP6/64" dev "$LB_IF" nodad
# bpf_fib_lookup answers only where the LB forwards.
in_ns "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
for i in 1 2; do
	in_ns "${NS_BACKENDS[i - 1]}" "$DSR_BACKEND" add "$DVIP" "$DVIP6"
	lbt_spawn_server "${NS_BACKENDS[i - 1]}" "b$i" "$DVIP" 80
	lbt_spawn_server "${NS_BACKENDS[i - 1]}" "b${i}v6" "$DVIP6" 80
done
for i in 1 2; do
	lbt_wait_server "b$i" 80
	lbt_wait_server "b${i}v6" 80
done
bpffs_up
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF"], "address": "$DVIP", "port": 80,
                             "protocol": "both"},
   "forwarding": "dsr",
   "default-target": [{"ip": "10.3.0.11", "port": 80, "weight": 50},
                      {"ip": "10.3.0.12", "port": 80, "weight": 50}]},
  {"name": "web6", "listen": {"interfaces": ["$LB_IF"], "address": "$DVIP6", "port": 80,
                              "protocol": "both"},
   "forwarding": "dsr",
   "default-target": [{"ip": "fd03::11", "port": 80, "weight": 50},
                      {"ip": "fd03::12", "port": 80, "weight": 50}]},
  {"name": "ghost", "listen": {"interfaces": ["$LB_IF"], "address": "$DVIP", "port": 81,
                               "protocol": "udp"},
   "forwarding": "dsr", "default-target": {"ip": "10.3.0.13", "port": 81}}],
 "settings": {"ingress": "$INGRESS", "stats-enabled": true}}
EOF
lbt_start_lbd -c "$CONFIG"

# The LB's neighbour entries for the targets, resolved (lbd's managed entries, or the
# kernel's own from a datagram where they are not).
resolve() {
	local a
	for a in 10.3.0.11 10.3.0.12 fd03::11 fd03::12; do
		# A datagram to the discard port makes the kernel resolve the neighbour.
		in_ns "$NS_LB" bash -c "echo x >/dev/udp/$a/9" 2>/dev/null || true
		wait_for "ip -n $NS_LB neigh show $a | grep -q lladdr" 5 ||
			fail "the LB did not resolve $a"
	done
}

counter() { # PROXY TARGET FIELD
	lbctl --json stats "$1" | "$LBT_PY" -c 'import json,sys
t = [t for t in json.load(sys.stdin)["proxies"][0]["targets"] if t["target"] == sys.argv[1]]
print(t[0]["counters"][sys.argv[2]] if t else "none")' "$2" "$3"
}

global_counter() { # NAME
	lbctl --json stats | "$LBT_PY" -c 'import json,sys
print(json.load(sys.stdin)["global"][sys.argv[1]])' "$1"
}

test_dsr_traffic() {
	local out t
	resolve
	out=$(lbtraffic "$NS_C" tally --host "$DVIP" --port 80 --count 60)
	assert_eq "$(json_get "$out" ok)" 60 "IPv4 TCP through dsr ($out)"
	[[ $(json_get "$out" by_backend.b1 0) -gt 0 && $(json_get "$out" by_backend.b2 0) -gt 0 ]] ||
		fail "IPv4 TCP did not reach both backends: $out"
	out=$(lbtraffic "$NS_C" tally --host "$DVIP" --port 80 --count 40 --proto udp)
	assert_eq "$(json_get "$out" ok)" 40 "IPv4 UDP through dsr ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$DVIP6" --port 80 --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "IPv6 TCP through dsr ($out)"
	[[ $(json_get "$out" by_backend.b1v6 0) -gt 0 && $(json_get "$out" by_backend.b2v6 0) -gt 0 ]] ||
		fail "IPv6 TCP did not reach both backends: $out"
	out=$(lbtraffic "$NS_C" tally --host "$DVIP6" --port 80 --count 30 --proto udp)
	assert_eq "$(json_get "$out" ok)" 30 "IPv6 UDP through dsr ($out)"
	# Complete answers for large downloads: 4 MB, checked byte for byte.
	out=$(lbtraffic "$NS_C" bulk --host "$DVIP" --port 80 --download 4000000) ||
		fail "IPv4 download through dsr: $out"
	out=$(lbtraffic "$NS_C" bulk --host "$DVIP6" --port 80 --download 4000000) ||
		fail "IPv6 download through dsr: $out"
	# The LB saw the requests only.
	for t in 10.3.0.11:80 10.3.0.12:80; do
		(($(counter web "$t" packets-in) > 0)) || fail "$t: no request counted"
		assert_eq "$(counter web "$t" packets-out)" 0 "$t: reply packets through the LB"
	done
	for t in "[fd03::11]:80" "[fd03::12]:80"; do
		(($(counter web6 "$t" packets-in) > 0)) || fail "$t: no request counted"
		assert_eq "$(counter web6 "$t" packets-out)" 0 "$t: reply packets through the LB"
	done
	(($(global_counter dsr-tx) > 0)) || fail "dsr-tx counted nothing"
	lbctl list-proxies | grep -q 'forwarding   dsr' || fail "list-proxies: $(lbctl list-proxies)"
}

# Uploads in large aggregates: with TSO on at the client (and GRO on a real NIC) the LB's
# TC hook sees segments far larger than the MTU. The FIB lookup must judge them as the
# kernel's forwarding would (by their segments), not drop them as "too big" by their
# total length.
# (TCP recovers from such drops segment by segment after timeouts, so the upload alone
# could still complete: the drop counter must stay where it was.)
test_gso_upload() {
	local out before
	resolve
	before=$(global_counter drop-dsr-no-route)
	# TSO at the client, and TX offload on the bridge's port into the LB so the bridge
	# hands the aggregates on whole instead of segmenting them.
	in_ns "$NS_C" ethtool -K eth0 tx on tso on >/dev/null
	in_ns "$NS_SW" ethtool -K "$LB_PORT" tx on tso on >/dev/null
	out=$(lbtraffic "$NS_C" bulk --host "$DVIP" --port 80 --upload 4000000 --timeout 30) ||
		fail "IPv4 upload in TSO aggregates through dsr: $out"
	out=$(lbtraffic "$NS_C" bulk --host "$DVIP6" --port 80 --upload 4000000 --timeout 30) ||
		fail "IPv6 upload in TSO aggregates through dsr: $out"
	in_ns "$NS_C" ethtool -K eth0 tx off >/dev/null
	in_ns "$NS_SW" ethtool -K "$LB_PORT" tx off >/dev/null
	assert_eq "$(global_counter drop-dsr-no-route)" "$before" "aggregates dropped as too big"
}

# No neighbour entry for the target (10.3.0.13: nobody on the segment answers ARP for it,
# however often lbd's managed entry makes the LB ask): requests are dropped, not handed to
# the LB's own stack (which holds the VIP too), and counted.
test_no_neighbour() {
	local before out
	before=$(global_counter drop-dsr-no-neighbour)
	out=$(lbtraffic "$NS_C" tally --host "$DVIP" --port 81 --count 4 --proto udp --req-timeout 1 --timeout 10)
	assert_eq "$(json_get "$out" ok)" 0 "UDP answered without a neighbour entry ($out)"
	(($(global_counter drop-dsr-no-neighbour) >= before + 4)) ||
		fail "drop-dsr-no-neighbour did not count the 4 requests"
	ip -n "$NS_LB" neigh show 10.3.0.13 | grep -q lladdr && fail "the LB resolved 10.3.0.13"
	# lbctl trace says so too, instead of "transmit"; a resolved target is transmitted.
	out=$(lbctl --json trace ghost 10.3.0.2:5000 --proto udp)
	[[ $(json_get "$out" verdict) == drop && $(json_get "$out" reason) == drop-dsr-no-neighbour ]] ||
		fail "trace of a dsr target without a neighbour entry: $out"
	out=$(lbctl trace ghost 10.3.0.2:5000 --proto udp)
	[[ $out == *"dropped: drop-dsr-no-neighbour"* ]] || fail "lbctl trace: $out"
	out=$(lbctl --json trace web 10.3.0.2:5000)
	assert_eq "$(json_get "$out" verdict)" transmit "trace of a resolved dsr target ($out)"
	return 0
}

# lbd --check warns of a dsr target behind a router (the datapath would drop its packets).
test_check_routed_target() {
	local out
	ip -n "$NS_LB" route add 10.4.0.0/24 via 10.3.0.11
	sed 's/"10.3.0.12"/"10.4.0.5"/' "$CONFIG" >"$LBT_RUN/routed.json"
	out=$(in_ns "$NS_LB" "$LBD" -c "$LBT_RUN/routed.json" --check 2>&1) || true
	[[ $out == *"dsr target 10.4.0.5 is reached through the router 10.3.0.11"* ]] ||
		fail "lbd --check did not warn of the routed dsr target: $out"
	[[ $out != *"dsr target 10.3.0.11 "* ]] || fail "lbd --check warned of a connected target: $out"
	ip -n "$NS_LB" route del 10.4.0.0/24
}

# On a fresh node nothing but lbd makes the LB resolve its dsr targets (no health checks
# here, no traffic from the LB): lbd's managed entries are the only ones, and they come
# back after a flush. Then the first connections all get through, none dropped.
test_managed_neighbour() {
	local a out
	ip -n "$NS_LB" neigh flush dev "$LB_IF"
	# (A wait for the entries to be resolved again, not a failure: the traffic says.)
	for a in 10.3.0.11 10.3.0.12 fd03::11 fd03::12; do
		wait_for "ip -n $NS_LB neigh show $a dev $LB_IF | grep -q lladdr" 5 || true
	done
	out=$(lbtraffic "$NS_C" tally --host "$DVIP" --port 80 --count 30 --timeout 20)
	assert_eq "$(json_get "$out" ok)" 30 "IPv4 TCP through dsr after a flush ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$DVIP6" --port 80 --count 30 --timeout 20)
	assert_eq "$(json_get "$out" ok)" 30 "IPv6 TCP through dsr after a flush ($out)"
	# Nothing has been sent to the ghost target yet: no drop at all.
	assert_eq "$(global_counter drop-dsr-no-neighbour)" 0 "drops for want of a neighbour"
	for a in 10.3.0.11 10.3.0.12 fd03::11 fd03::12; do
		ip -n "$NS_LB" neigh show "$a" dev "$LB_IF" | grep -q 'lladdr .* managed' ||
			fail "no managed neighbour entry for $a: '$(ip -n "$NS_LB" neigh show "$a")'"
	done
}

# A reload that drops a dsr proxy removes the entries lbd made for its targets; an entry
# the operator made for a dsr target (permanent) is neither replaced nor removed, by a
# reload or by the teardown; a stop leaves lbd's entries (the datapath still forwards),
# `lbd --teardown` removes them all. Stops lbd: the last test.
test_neighbour_ownership() {
	local a out
	ip -n "$NS_LB" neigh replace 10.3.0.14 lladdr 02:00:00:00:00:14 nud permanent dev "$LB_IF"
	# A plain dynamic entry (as the kernel learns them): lbd makes it managed, in place.
	ip -n "$NS_LB" neigh replace 10.3.0.15 lladdr 02:00:00:00:00:15 nud stale dev "$LB_IF"
	"$LBT_PY" - "$CONFIG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["proxies"] = [p for p in c["proxies"] if p["name"] != "web6"]
c["proxies"].append({
    "name": "perm", "forwarding": "dsr",
    "listen": {"interfaces": ["lbd0"], "address": "10.3.0.100", "port": 82, "protocol": "udp"},
    "default-target": [{"ip": "10.3.0.14", "port": 82, "weight": 50},
                       {"ip": "10.3.0.15", "port": 82, "weight": 50}]})
json.dump(c, open(sys.argv[1], "w"))
PY
	lbctl reload >/dev/null
	for a in fd03::11 fd03::12; do
		wait_for "! ip -n $NS_LB neigh show $a | grep -q managed" 5 ||
			fail "the reload left lbd's entry for $a: '$(ip -n "$NS_LB" neigh show "$a")'"
	done
	ip -n "$NS_LB" neigh show 10.3.0.11 | grep -q managed ||
		fail "no managed entry for 10.3.0.11 (still a dsr target) after the reload"
	ip -n "$NS_LB" neigh show 10.3.0.14 | grep -q '02:00:00:00:00:14 PERMANENT' ||
		fail "the reload changed the operator's entry: '$(ip -n "$NS_LB" neigh show 10.3.0.14)'"
	ip -n "$NS_LB" neigh show 10.3.0.15 | grep -q '02:00:00:00:00:15 .*managed' ||
		fail "the dynamic entry did not become managed: '$(ip -n "$NS_LB" neigh show 10.3.0.15)'"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	ip -n "$NS_LB" neigh show 10.3.0.11 | grep -q managed || fail "a stop removed lbd's entries"
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown
	out=$(ip -n "$NS_LB" neigh show)
	[[ $out != *managed* ]] || fail "lbd --teardown left entries it made: $out"
	[[ $out == *"10.3.0.14 dev $LB_IF lladdr 02:00:00:00:00:14 PERMANENT"* ]] ||
		fail "lbd --teardown touched the operator's entry: $out"
}

run_test test_managed_neighbour
run_test test_dsr_traffic
# Only TC meets aggregates: veth gives an XDP device's peer no GSO, and a real NIC's
# XDP sees frames before GRO.
[[ $INGRESS == xdp ]] || run_test test_gso_upload
run_test test_check_routed_target
run_test test_no_neighbour
run_test test_neighbour_ownership
run_summary
