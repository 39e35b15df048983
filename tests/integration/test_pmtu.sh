#!/bin/bash
# Path-MTU discovery through lbd: ICMP "fragmentation needed" about a balanced flow
# reaches the host that must send smaller packets.
#
#   client 10.3.0.2 (MTU 1500)                client2 10.6.0.2
#     |  router R: its side of this link has MTU 1280  |
#   R 10.3.0.1 / 10.4.0.2                            |
#     |                                                |
#   LB lbr0 10.4.0.1 + the listener 10.1.0.1 ------- lbc2 10.6.0.1
#     |- lbb1 10.2.1.1 --- b1 10.2.1.2 (download server)
#     `- lbb2 10.2.2.1 --- router BR 10.2.2.2 / 10.5.0.1 (its side MTU 1280) --- b2 10.5.0.2
#                                                                    (upload sink)
#
# Neither end sees the small MTU (both advertise MSS 1460): a 4 MB download from b1 to the
# client sends full-size DF segments that R cannot forward, so R tells their source, the
# listener address, and lbd must pass that on to b1; a 4 MB upload from client2 to b2 meets
# BR, which tells client2 about a packet to b2 it never sent, so lbd must make it one to
# the listener. Both complete through lbd as they do straight to the backends. (The upload
# comes from client2: a veth drops what exceeds its own MTU, so R would drop the client's
# full-size segments on the way in.)
#
# The same again over IPv6 on the same links (fd00:<link>::/64, listener fd00:1::1), where
# routers never fragment: the ICMPv6 packet-too-big must reach the host that must send
# smaller packets, or the transfer stalls.
#
# Usage: test_pmtu.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=pmtu
LISTENER=10.1.0.1
BYTES=4000000

lbt_require_env
lbt_init_dirs
topo_down
NS_C=$LBT_PREFIX-c NS_R=$LBT_PREFIX-r NS_LB=$LBT_PREFIX-lb NS_B1=$LBT_PREFIX-b1
NS_BR=$LBT_PREFIX-br NS_B2=$LBT_PREFIX-b2 NS_C2=$LBT_PREFIX-c2
log "topology $LBT_PREFIX: client, router (MTU 1280 towards the client), lb, b1, router (MTU 1280 towards b2), b2, client2"
for ns in "$NS_C" "$NS_R" "$NS_LB" "$NS_B1" "$NS_BR" "$NS_B2" "$NS_C2"; do
	lbt_ns_add "$ns"
done
for ns in "$NS_R" "$NS_LB" "$NS_BR"; do
	in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1 >/dev/null
done
# link NS_A DEV_A ADDR_A NS_B DEV_B ADDR_B: a veth between two namespaces, tuned.
link() {
	ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
	lbt_veth_tune "$1" "$2" gro
	lbt_veth_tune "$4" "$5" gro
}
link "$NS_C" eth0 10.3.0.2/24 "$NS_R" rc0 10.3.0.1/24
link "$NS_R" rl0 10.4.0.2/24 "$NS_LB" lbr0 10.4.0.1/24
link "$NS_LB" lbb1 10.2.1.1/24 "$NS_B1" eth0 10.2.1.2/24
link "$NS_LB" lbb2 10.2.2.1/24 "$NS_BR" bl0 10.2.2.2/24
link "$NS_BR" bb0 10.5.0.1/24 "$NS_B2" eth0 10.5.0.2/24
link "$NS_C2" eth0 10.6.0.2/24 "$NS_LB" lbc2 10.6.0.1/24
ip -n "$NS_LB" addr add "$LISTENER/32" dev lbr0
# The small MTUs, on the routers' sides only: the ends never see them.
ip -n "$NS_R" link set rc0 mtu 1280
ip -n "$NS_BR" link set bb0 mtu 1280
ip -n "$NS_C" route add default via 10.3.0.1
ip -n "$NS_R" route add default via 10.4.0.1
ip -n "$NS_LB" route add 10.3.0.0/24 via 10.4.0.2
ip -n "$NS_LB" route add 10.5.0.0/24 via 10.2.2.2
ip -n "$NS_B1" route add default via 10.2.1.1
ip -n "$NS_BR" route add default via 10.2.2.1
ip -n "$NS_B2" route add default via 10.5.0.1
ip -n "$NS_C2" route add default via 10.6.0.1
# IPv6 beside IPv4: link N gets fd00:N::/64 (the same N as 10.N.0.0/24 above, b1's link 21,
# BR's 22), without duplicate address detection.
LISTENER6=fd00:1::1
link6() {
	lbt_ipv6_on "$1" "$2"
	lbt_ipv6_on "$4" "$5"
	ip -n "$1" addr add "$3" dev "$2" nodad
	ip -n "$4" addr add "$6" dev "$5" nodad
}
link6 "$NS_C" eth0 fd00:3::2/64 "$NS_R" rc0 fd00:3::1/64
link6 "$NS_R" rl0 fd00:4::2/64 "$NS_LB" lbr0 fd00:4::1/64
link6 "$NS_LB" lbb1 fd00:21::1/64 "$NS_B1" eth0 fd00:21::2/64
link6 "$NS_LB" lbb2 fd00:22::1/64 "$NS_BR" bl0 fd00:22::2/64
link6 "$NS_BR" bb0 fd00:5::1/64 "$NS_B2" eth0 fd00:5::2/64
link6 "$NS_C2" eth0 fd00:6::2/64 "$NS_LB" lbc2 fd00:6::1/64
lbt_ipv6_on "$NS_LB" lo
ip -n "$NS_LB" addr add "$LISTENER6/128" dev lbr0 nodad
for ns in "$NS_R" "$NS_LB" "$NS_BR"; do
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
done
ip -n "$NS_C" -6 route add default via fd00:3::1
ip -n "$NS_R" -6 route add default via fd00:4::1
ip -n "$NS_LB" -6 route add fd00:3::/64 via fd00:4::2
ip -n "$NS_LB" -6 route add fd00:5::/64 via fd00:22::2
ip -n "$NS_B1" -6 route add default via fd00:21::1
ip -n "$NS_BR" -6 route add default via fd00:22::1
ip -n "$NS_B2" -6 route add default via fd00:5::1
ip -n "$NS_C2" -6 route add default via fd00:6::1

for ns in "$NS_C" "$NS_R" "$NS_LB" "$NS_B1" "$NS_BR" "$NS_B2" "$NS_C2"; do
	# Black holes must stay black: no blind MTU probing that would hide a lost ICMP.
	in_ns "$ns" sysctl -qw net.ipv4.tcp_mtu_probing=0 net.ipv4.ip_no_pmtu_disc=0 >/dev/null
done
start_server "$NS_B1" b1 10.2.1.2 9000
start_server "$NS_B2" b2 10.5.0.2 9000
start_server "$NS_B1" b1 fd00:21::2 9001 --tcp
start_server "$NS_B2" b2 fd00:5::2 9001 --tcp

bpffs_up
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "down", "listen": {"interfaces": ["lbr0"], "address": "$LISTENER", "port": 80},
   "default-target": {"ip": "10.2.1.2", "port": 9000}},
  {"name": "up", "listen": {"interfaces": ["lbc2"], "address": "$LISTENER", "port": 81},
   "default-target": {"ip": "10.5.0.2", "port": 9000}},
  {"name": "down6", "listen": {"interfaces": ["lbr0"], "address": "$LISTENER6", "port": 80},
   "default-target": {"ip": "fd00:21::2", "port": 9001}},
  {"name": "up6", "listen": {"interfaces": ["lbc2"], "address": "$LISTENER6", "port": 81},
   "default-target": {"ip": "fd00:5::2", "port": 9001}}],
 "settings": {"ingress": "$INGRESS"}}
EOF
lbt_start_lbd --teardown-on-exit -c "$CONFIG"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
icmp() { lbctl --json stats | "$LBT_PY" -c "import json,sys; print(json.load(sys.stdin)['global'].get('$1', 0))"; }

# flush_pmtu: forget learnt path MTUs, so each transfer has to learn its own.
flush_pmtu() {
	local ns
	for ns in "$NS_C" "$NS_C2" "$NS_B1" "$NS_B2"; do
		in_ns "$ns" ip route flush cache 2>/dev/null || true
		in_ns "$ns" ip -6 route flush cache 2>/dev/null || true
	done
}


# direct CLIENT MODE HOST PORT: a transfer straight to a backend (the path itself works).
direct() {
	local out
	flush_pmtu
	out=$(lbtraffic "$1" bulk --timeout 20 --host "$3" --port "$4" "--$2" $BYTES) ||
		fail "the path itself does not work: $out"
	log "straight to $3: $out"
}

# through CLIENT MODE HOST PORT COUNTER: the same through lbd, which must have translated
# at least one ICMP error (COUNTER: icmp-to-backend or icmp-to-client).
through() {
	local out before
	before=$(icmp "$5")
	flush_pmtu
	out=$(lbtraffic "$1" bulk --timeout 20 --host "$3" --port "$4" "--$2" $BYTES) ||
		fail "$2 through lbd ($INGRESS) to $3: $out"
	log "through lbd to $3: $out"
	(($(icmp "$5") > before)) || fail "no ICMP error was translated ($5)"
}

test_download_without_lbd() { direct "$NS_C" download 10.2.1.2 9000; }
test_download_through_lbd() { through "$NS_C" download $LISTENER 80 icmp-to-backend; }
test_upload_without_lbd() { direct "$NS_C2" upload 10.5.0.2 9000; }
test_upload_through_lbd() { through "$NS_C2" upload $LISTENER 81 icmp-to-client; }
test_download6_without_lbd() { direct "$NS_C" download fd00:21::2 9001; }
test_download6_through_lbd() { through "$NS_C" download $LISTENER6 80 icmp-to-backend; }
test_upload6_without_lbd() { direct "$NS_C2" upload fd00:5::2 9001; }
test_upload6_through_lbd() { through "$NS_C2" upload $LISTENER6 81 icmp-to-client; }

run_test test_download_without_lbd
run_test test_download_through_lbd
run_test test_upload_without_lbd
run_test test_upload_through_lbd
run_test test_download6_without_lbd
run_test test_download6_through_lbd
run_test test_upload6_without_lbd
run_test test_upload6_through_lbd
run_summary
