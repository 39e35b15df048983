# shellcheck shell=bash
# The three-node topology of tests/integration/test_cluster.sh and scripts/demo-cluster.sh
# (source it after lib.sh; set LBD and LBCTL, then call cluster_up):
#
#   client 10.1.0.2 --- router 10.1.0.1 | 10.3.0.1   BIRD AS 65000, BFD, multipath (L4 hash)
#                                  |
#                  one L2 segment 10.3.0.0/24 (a bridge)
#             /          |           \            \     \     \
#   node n1 .11   node n2 .12   node n3 .13       b1 .21  b2 .22  b3 .23
#   lbd + BIRD AS 65001 each, the same lb.json    default via the router (never a node),
#                                                 VIP on lo for dsr (dsr-backend.sh)
#
# lb.json has two proxies on 10.0.0.100: "dsr" (port 80) and "fnat" (full-nat, port 81),
# three targets each, settings.announce-table 200 and one hash-seed. Each node's lbd has
# its own instance and socket ($LBT_RUN/nI.sock, `lbctl_on nI ...`).

CLUSTER_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TABLE=200
VIPS=10.0.0.100 # the service address, port 80 (dsr) and 81 (full-nat)
NODES=(n1 n2 n3)
BACKS=(b1 b2 b3)

ns() { echo "$LBT_PREFIX-$1"; }
NS_C=$(ns c)
NS_R=$(ns r)
NS_SW=$(ns sw)

# attach NAME NS ADDR: NS's interface "lan" (ADDR/24) on the bridge, through port p-NAME.
attach() {
	ip -n "$NS_SW" link add "p-$1" type veth peer name lan netns "$2"
	ip -n "$NS_SW" link set "p-$1" master br0 up
	ip -n "$2" addr add "$3/24" dev lan
	ip -n "$2" link set lan up
	lbt_veth_tune "$2" lan gro
	in_ns "$NS_SW" ethtool -K "p-$1" tx off gro on >/dev/null
}
sock() { echo "$LBT_RUN/$1.sock"; }
lbctl_on() {
	local n=$1
	shift
	"$LBCTL" -s "$(sock "$n")" "$@"
}
start_node_lbd() {
	local n=$1
	spawn "$(ns "$n")" "lbd-$n" "$LBD" --bpffs "$BPFFS" --instance "$n" --socket "$(sock "$n")" \
		--teardown-on-exit -c "$CONFIG"
	wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd-$n.log'" 20 ||
		fail "lbd on $n did not start: $(tail -n 5 "$LBT_LOGDIR/lbd-$n.log")"
}

# The router's route to the service: "10.3.0.11 10.3.0.12 10.3.0.13" (its next hops).
nexthops() {
	ip -n "$NS_R" -4 route show "$VIPS" proto bird | { grep -o 'via [0-9.]*' || true; } |
		awk '{ print $2 }' | sort | xargs
}
expect_nexthops() {
	wait_for "[[ \"\$(nexthops)\" == '$1' ]]" "${2:-20}" ||
		fail "the router's next hops for $VIPS: \"$(nexthops)\", want \"$1\""
}
# proxy_counter NODE PROXY KEY: a counter of PROXY in NODE's `lbctl --json stats`.
proxy_counter() {
	lbctl_on "$1" --json stats "$2" | "$LBT_PY" -c '
import json, sys
print(json.load(sys.stdin)["proxies"][0]["counters"][sys.argv[1]])' "$3"
}
new_flows() { proxy_counter "$1" "$2" new-connections; }
# weights_settled NODE PROXY: every target of PROXY on NODE has its configured weight.
weights_settled() {
	lbctl_on "$1" --json stats "$2" | "$LBT_PY" -c '
import json, sys
t = json.load(sys.stdin)["proxies"][0]["targets"]
sys.exit(any(w["effective"] != w["configured"] for x in t for w in x["weights"]))'
}

# cut NODE: the node dies as far as anyone can tell: its link goes down first (so nothing
# it says on the way out, like the BGP session's FIN, reaches the router: only BFD tells),
# then its BIRD and lbd are killed.
cut() {
	local pid mine
	mine=" $(jobs -p | tr '\n' ' ') "
	ip -n "$NS_SW" link set "p-$1" down
	for pid in $(ip netns pids "$(ns "$1")"); do
		kill -KILL "$pid" 2>/dev/null || true
		# Reap the ones this shell started, or bash reports each as "Killed" later on.
		if [[ $mine == *" $pid "* ]]; then wait "$pid" 2>/dev/null || true; fi
	done
}

# hold_and_stream PORT: 100 long-lived connections and a steady stream of new ones from
# the client, in the background; stop_load ends both and sets HOLD and STREAM to their
# results (lbtraffic holdmany and tally JSON).
hold_and_stream() {
	rm -f "$LBT_RUN/stop"
	spawn "$NS_C" holdmany "$LBT_PY" "$LBTRAFFIC" holdmany --host "$VIPS" --port "$1" \
		--count 100 --interval 200 --step-timeout 8 --until-file "$LBT_RUN/stop" --seconds 120
	wait_for "grep -q '\"started\"' '$LBT_LOGDIR/holdmany.log'" 30 ||
		fail "holdmany: $(cat "$LBT_LOGDIR/holdmany.log")"
	grep -q '"connected": 100' "$LBT_LOGDIR/holdmany.log" ||
		fail "not all 100 connected: $(cat "$LBT_LOGDIR/holdmany.log")"
	spawn "$NS_C" stream "$LBT_PY" "$LBTRAFFIC" tally --host "$VIPS" --port "$1" --count 100000 \
		--concurrency 2 --req-timeout 3 --timeout 120 --until-file "$LBT_RUN/stop"
	sleep 2
}
stop_load() {
	touch "$LBT_RUN/stop"
	wait_for "[[ \$(grep -c '\"total\"' '$LBT_LOGDIR/holdmany.log') -ge 1 && \$(grep -c '\"total\"' '$LBT_LOGDIR/stream.log') -ge 1 ]]" 60 ||
		fail "the load did not end"
	# shellcheck disable=SC2034 # read by the caller
	HOLD=$(grep '"total"' "$LBT_LOGDIR/holdmany.log" | tail -1)
	# shellcheck disable=SC2034
	STREAM=$(grep '"total"' "$LBT_LOGDIR/stream.log" | tail -1)
}

# cluster_up: the namespaces, links, backends, BIRD everywhere and lbd on every node.
cluster_up() {
	lbt_require_env
	lbt_init_dirs
	topo_down
	bpffs_up
	for n in c r sw "${NODES[@]}" "${BACKS[@]}"; do lbt_ns_add "$(ns "$n")"; done
	in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 >/dev/null
	ip -n "$NS_R" link add rc type veth peer name eth0 netns "$NS_C"
	ip -n "$NS_R" addr add 10.1.0.1/24 dev rc
	ip -n "$NS_R" link set rc up
	ip -n "$NS_C" addr add 10.1.0.2/24 dev eth0
	ip -n "$NS_C" link set eth0 up
	ip -n "$NS_C" route add default via 10.1.0.1
	lbt_veth_tune "$NS_C" eth0 gro
	lbt_veth_tune "$NS_R" rc

	ip -n "$NS_SW" link add br0 type bridge
	ip -n "$NS_SW" link set br0 up
	attach r "$NS_R" 10.3.0.1
	for i in 1 2 3; do
		attach "n$i" "$(ns "n$i")" "10.3.0.1$i"
		in_ns "$(ns "n$i")" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
		ip -n "$(ns "n$i")" route add default via 10.3.0.1
		attach "b$i" "$(ns "b$i")" "10.3.0.2$i"
		ip -n "$(ns "b$i")" route add default via 10.3.0.1
		in_ns "$(ns "b$i")" bash "$CLUSTER_SRC/packaging/examples/dsr-backend.sh" add "$VIPS" >/dev/null
		lbt_spawn_server "$(ns "b$i")" "b$i" 0.0.0.0 80 --tcp
		lbt_spawn_server "$(ns "b$i")" "b$i" 0.0.0.0 81 --tcp
	done
	for i in 1 2 3; do
		lbt_wait_server "b$i" 80
		lbt_wait_server "b$i" 81
	done

	# BFD at 150 ms x 5 (750 ms) here rather than the example's 100 ms x 3: two cores shared
	# with everything else a test run does can hold BIRD off the CPU for 300 ms, and a BFD
	# session that drops under load withdraws a healthy node.
	BFD='min rx interval 150 ms; min tx interval 150 ms; multiplier 5;'
	cat >"$LBT_RUN/bird-r.conf" <<-EOF
	log stderr all;
	router id 10.3.0.1;
	protocol device { }
	protocol bfd { interface "*" { $BFD }; }
	protocol kernel { ipv4 { import none; export all; }; merge paths on; }
	template bgp lbnode { local as 65000; bfd on; ipv4 { import all; export none; }; }
	protocol bgp n1 from lbnode { neighbor 10.3.0.11 as 65001; }
	protocol bgp n2 from lbnode { neighbor 10.3.0.12 as 65001; }
	protocol bgp n3 from lbnode { neighbor 10.3.0.13 as 65001; }
	EOF
	spawn "$NS_R" bird-r bird -f -c "$LBT_RUN/bird-r.conf" -s "$LBT_RUN/bird-r.ctl" -P "$LBT_RUN/bird-r.pid"
	for i in 1 2 3; do
		sed -e "s/^router id .*/log stderr all;\nrouter id 10.3.0.1$i;/" \
			-e 's/neighbor 192.0.2.1 as 65000/neighbor 10.3.0.1 as 65000/' \
			-e "s/min rx interval 100 ms;/min rx interval 150 ms;/; s/min tx interval 100 ms;/min tx interval 150 ms;/" \
			-e "s/multiplier 3;/multiplier 5;/" \
			"$CLUSTER_SRC/packaging/examples/bird-lbd.conf" >"$LBT_RUN/bird-n$i.conf"
		spawn "$(ns "n$i")" "bird-n$i" bird -f -c "$LBT_RUN/bird-n$i.conf" \
			-s "$LBT_RUN/bird-n$i.ctl" -P "$LBT_RUN/bird-n$i.pid"
	done

	CONFIG=$LBT_RUN/lb.json
	cat >"$CONFIG" <<-EOF
	{"proxies": [
	  {"name": "dsr", "listen": {"interfaces": ["lan"], "address": "$VIPS", "port": 80},
	   "forwarding": "dsr",
	   "default-target": [{"ip": "10.3.0.21", "port": 80, "weight": 34},
	                      {"ip": "10.3.0.22", "port": 80, "weight": 33},
	                      {"ip": "10.3.0.23", "port": 80, "weight": 33}]},
	  {"name": "fnat", "listen": {"interfaces": ["lan"], "address": "$VIPS", "port": 81},
	   "forwarding": "full-nat",
	   "default-target": [{"ip": "10.3.0.21", "port": 81, "weight": 34},
	                      {"ip": "10.3.0.22", "port": 81, "weight": 33},
	                      {"ip": "10.3.0.23", "port": 81, "weight": 33}]}],
	 "settings": {"announce-table": $TABLE, "hash-seed": 77}}
	EOF
	for n in "${NODES[@]}"; do start_node_lbd "$n"; done
}
