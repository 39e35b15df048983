#!/bin/bash
# settings.fast-path with real traffic: TCP and UDP, IPv4 and IPv6, nat and full-nat.
# Packets leave from lbd's hook (bpf_fib_lookup + redirect) instead of the kernel's IP
# forwarding: an nftables counter in the LB's forward chain shows that balanced packets no
# longer pass it (and that they do with the fast path off), lbd's fast-path-redirect
# counter that the programs sent them. A TTL of 1 is left to the kernel, whose
# time-exceeded reaches the client. At XDP, an egress that cannot take XDP frames (b3's
# veth while its peer has neither GRO nor an XDP program) falls back to the kernel, and
# takes the fast path once it can (lbd follows the kernel's xdp-features).
#
# Usage: test_fast_path.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=fastpath

lbt_require_env
command -v nft >/dev/null || {
	echo "1..0 # SKIP nft (Debian nftables) is not installed"
	exit 77
}
topo_up 3
topo_ipv6
bpffs_up
start_backends 8080  # b<i> on 10.2.<i>.2:8080, TCP and UDP
start_backends6 8081 # b<i> on [fd00:2:<i>::2]:8081, TCP and UDP
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

write_config() { # FAST (true|false)
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 80,
                             "protocol": "both"},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "web6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 80,
                              "protocol": "both"},
   "default-target": [{"ip": "fd00:2:1::2", "port": 8081, "weight": 50},
                      {"ip": "fd00:2:2::2", "port": 8081, "weight": 50}]},
  {"name": "full", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 81,
                              "protocol": "both"},
   "forwarding": "full-nat",
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "full6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 81,
                               "protocol": "both"},
   "forwarding": "full-nat",
   "default-target": [{"ip": "fd00:2:1::2", "port": 8081, "weight": 50},
                      {"ip": "fd00:2:2::2", "port": 8081, "weight": 50}]},
  {"name": "nogro", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 83,
                               "protocol": "both"},
   "default-target": {"ip": "10.2.3.2", "port": 8080}}],
 "settings": {"ingress": "$INGRESS", "stats-enabled": true, "fast-path": $1}}
EOF
}

global_counter() { # NAME
	lbctl --json stats | "$LBT_PY" -c 'import json,sys
print(json.load(sys.stdin)["global"][sys.argv[1]])' "$1"
}

# Packets of balanced flows (to or from a backend port) the LB's kernel forwarded.
forwarded() {
	in_ns "$NS_LB" nft -j list counter inet lbtest balanced | "$LBT_PY" -c 'import json,sys
for o in json.load(sys.stdin)["nftables"]:
    if "counter" in o:
        print(o["counter"]["packets"])'
}

nft_up() {
	in_ns "$NS_LB" nft -f - <<'EOF'
table inet lbtest {
	counter balanced { }
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto { tcp, udp } th sport { 8080, 8081 } counter name "balanced"
		meta l4proto { tcp, udp } th dport { 8080, 8081 } counter name "balanced"
	}
}
EOF
}

# traffic: TCP and UDP over both families to PORT (80: nat, 81: full-nat), and a download.
traffic() { # PORT
	local port=$1 out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port "$port" --count 60)
	assert_eq "$(json_get "$out" ok)" 60 "IPv4 TCP connections to port $port ($out)"
	[[ $(json_get "$out" by_backend.b1 0) -gt 0 && $(json_get "$out" by_backend.b2 0) -gt 0 ]] ||
		fail "IPv4 TCP to port $port did not reach both backends: $out"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port "$port" --count 40 --proto udp)
	assert_eq "$(json_get "$out" ok)" 40 "IPv4 UDP exchanges to port $port ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port "$port" --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "IPv6 TCP connections to port $port ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port "$port" --count 30 --proto udp)
	assert_eq "$(json_get "$out" ok)" 30 "IPv6 UDP exchanges to port $port ($out)"
	# Every segment's checksums (and TTL) survive the rewrite and the redirect.
	out=$(lbtraffic "$NS_C" bulk --host "$VIP" --port "$port" --download 4000000) ||
		fail "IPv4 download through port $port: $out"
	out=$(lbtraffic "$NS_C" bulk --host "$VIP6" --port "$port" --download 4000000) ||
		fail "IPv6 download through port $port: $out"
}

# The fast path at work: balanced packets in both directions skip the forward chain.
test_fast_path() {
	local port redirect fwd
	# Neighbours resolved first, every one (a few connections could all hash to one
	# backend): at XDP a hop without one falls back to the kernel.
	local a
	for a in 10.2.1.2 10.2.2.2 fd00:2:1::2 fd00:2:2::2 "${CLIENT_IPS[@]}" "${CLIENT_IPS6[@]}"; do
		# A datagram to the discard port makes the LB's kernel resolve the neighbour.
		in_ns "$NS_LB" bash -c "echo x >/dev/udp/$a/9" 2>/dev/null || true
		wait_for "ip -n $NS_LB neigh show $a | grep -q lladdr" 5 || fail "the LB did not resolve $a"
	done
	for port in 80 81; do
		in_ns "$NS_LB" nft reset counter inet lbtest balanced >/dev/null
		redirect=$(global_counter fast-path-redirect)
		traffic "$port"
		fwd=$(forwarded)
		redirect=$(($(global_counter fast-path-redirect) - redirect))
		log "port $port: $redirect packets redirected by the hook, $fwd forwarded by the kernel"
		# 170 exchanges and two 4 MB downloads are thousands of packets each way.
		((redirect > 2000)) || fail "port $port: only $redirect packets took the fast path"
		assert_eq "$fwd" 0 "port $port: packets of balanced flows in the kernel's forward chain"
	done
	(($(global_counter full-nat-reply) > 0)) || fail "full-nat-reply counted nothing"
}

# The check above can fail: without the fast path the kernel forwards every packet.
test_without_fast_path() {
	local redirect fwd
	write_config false
	lbctl reload >/dev/null
	in_ns "$NS_LB" nft reset counter inet lbtest balanced >/dev/null
	redirect=$(global_counter fast-path-redirect)
	traffic 80
	fwd=$(forwarded)
	assert_eq "$(global_counter fast-path-redirect)" "$redirect" "redirects with the fast path off"
	((fwd > 2000)) || fail "without the fast path the kernel forwarded only $fwd packets"
	write_config true
	lbctl reload >/dev/null
}

# A TTL of 1: not the hook's to forward. The kernel drops it and sends time-exceeded, which
# lbd translates back to the client's flow; counted as a fallback.
test_ttl_expiry() {
	local before out
	before=$(global_counter fast-path-fallback)
	out=$(in_ns "$NS_C" "$LBT_PY" - "$VIP" 2>&1 <<'EOF'
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR (not in the socket module)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
s.settimeout(3)
s.connect((sys.argv[1], 80))
s.send(b"ttl one")
try:
    s.recv(100)
    print("answered")
except OSError as e:
    print("EHOSTUNREACH" if e.errno == errno.EHOSTUNREACH else "errno %s" % e.errno)
EOF
	) || true
	assert_eq "$out" EHOSTUNREACH "a datagram with TTL 1 (the kernel's time-exceeded)"
	(($(global_counter fast-path-fallback) > before)) || fail "TTL 1 not counted as a fallback"
}

# b3's end of its veth without GRO (nor an XDP program): lbb3 cannot take XDP frames (a
# frame XDP_REDIRECTed there is lost: the veth hands it to a peer that has no NAPI). At XDP
# lbd leaves lbb3 out of lb_fast_tx and the requests fall back to the kernel, counted; once
# GRO is on, the kernel's xdp-features say lbb3 takes them, and they are redirected. At TC
# the redirect is an skb's and works either way.
lbd_says() { grep -c "$1" "$LBT_LOGDIR/lbd.log" || true; }
test_egress_without_xdp() {
	local fb rd out fwd n
	n=$(lbd_says "$LB_IF_B3: does not take XDP frames")
	in_ns "$NS_B3" ethtool -K "$B_IF" gro off
	if [[ $INGRESS == xdp ]]; then
		wait_for "(( \$(lbd_says '$LB_IF_B3: does not take XDP frames') > n ))" 10 ||
			fail "lbd did not notice that $LB_IF_B3 no longer takes XDP frames"
	fi
	fb=$(global_counter fast-path-fallback)
	rd=$(global_counter fast-path-redirect)
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 83 --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "TCP connections to b3 without GRO ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 83 --count 30 --proto udp)
	assert_eq "$(json_get "$out" ok)" 30 "UDP exchanges with b3 without GRO ($out)"
	fb=$(($(global_counter fast-path-fallback) - fb))
	rd=$(($(global_counter fast-path-redirect) - rd))
	log "b3 without GRO: $fb fallbacks, $rd redirects"
	if [[ $INGRESS == xdp ]]; then
		# Every request packet towards lbb3: 40 SYNs and 30 datagrams at least.
		((fb >= 70)) || fail "only $fb fallbacks towards $LB_IF_B3 (no XDP transmit)"
	else
		assert_eq "$fb" 0 "fallbacks at TC"
	fi
	((rd > 0)) || fail "the replies (towards $LB_IF_C) took no fast path"

	n=$(lbd_says "$LB_IF_B3: takes XDP frames")
	in_ns "$NS_B3" ethtool -K "$B_IF" gro on
	if [[ $INGRESS == xdp ]]; then
		wait_for "(( \$(lbd_says '$LB_IF_B3: takes XDP frames') > n ))" 10 ||
			fail "lbd did not notice that $LB_IF_B3 takes XDP frames again"
	fi
	in_ns "$NS_LB" nft reset counter inet lbtest balanced >/dev/null
	fb=$(global_counter fast-path-fallback)
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 83 --count 40 --proto udp)
	assert_eq "$(json_get "$out" ok)" 40 "UDP exchanges with b3 with GRO ($out)"
	assert_eq "$(($(global_counter fast-path-fallback) - fb))" 0 "fallbacks with GRO on b3"
	fwd=$(forwarded)
	assert_eq "$fwd" 0 "packets to and from b3 in the kernel's forward chain"
}

# b3's veth peer down: lbd's side stays up without a carrier, and a frame redirected there
# would be lost; lbd takes it out of the XDP transmit map, and back once the peer is up.
test_peer_down() {
	local n out routes
	routes=$(ip -n "$NS_B3" route show default)
	n=$(lbd_says "$LB_IF_B3: does not take XDP frames")
	ip -n "$NS_B3" link set "$B_IF" down
	wait_for "(( \$(lbd_says '$LB_IF_B3: does not take XDP frames') > n ))" 10 ||
		fail "lbd kept $LB_IF_B3 for XDP frames with its peer down"
	n=$(lbd_says "$LB_IF_B3: takes XDP frames")
	ip -n "$NS_B3" link set "$B_IF" up
	# A link taken down loses its routes; the default one is b3's way back.
	[[ -z $routes ]] || ip -n "$NS_B3" route replace $routes
	wait_for "(( \$(lbd_says '$LB_IF_B3: takes XDP frames') > n ))" 10 ||
		fail "lbd did not take $LB_IF_B3 back for XDP frames with its peer up"
	wait_for "lbtraffic '$NS_C' tally --host '$VIP' --port 83 --count 1 --proto udp | grep -q '\"ok\": 1'" 10 ||
		fail "b3 unreachable after its link came back"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 83 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "TCP connections to b3 after its link came back ($out)"
}

# A target on this host (127.0.0.1): its route is local, through lo. Its replies never
# cross an interface's ingress, so lo gets no hook (every local packet would run it).
test_local_target_not_on_lo() {
	sed -i 's|"proxies": \[|"proxies": [\n  {"name": "local", "listen": {"interfaces": ["'"$LB_IF_C"'"], "address": "'"$VIP"'", "port": 82}, "default-target": {"ip": "127.0.0.1", "port": 8080}},|' \
		"$CONFIG"
	lbctl reload >/dev/null || fail "reload with a local target refused"
	lbctl list-proxies | grep -q local || fail "the local proxy is missing: $(lbctl list-proxies)"
	assert_eq "$(tc -n "$NS_LB" filter show dev lo ingress)" "" "lbd's hook on lo"
	write_config true
	lbctl reload >/dev/null
}

nft_up
write_config true
lbt_start_lbd -c "$CONFIG"
wait_for "lbctl status | grep -q lbb1" 10 || fail "lbb1 (towards nat targets) not attached: $(lbctl status)"

run_test test_fast_path
run_test test_without_fast_path
run_test test_ttl_expiry
run_test test_egress_without_xdp
[[ $INGRESS != xdp ]] || run_test test_peer_down
run_test test_local_target_not_on_lo
run_summary
