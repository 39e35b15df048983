#!/bin/bash
# Forwarding mode full-nat with real traffic: backends whose default route does not go
# through the LB (after the first test they only have their own link's subnet), IPv4 and
# IPv6, TCP and UDP; the backends see the LB's address on their link. A reload that moves
# a proxy from nat to full-nat keeps an established nat connection working, and a full-nat
# connection survives an lbd restart. `lbctl connections` names a flow's mode and the
# source its backend sees.
#
#   clients 10.1.0.x / fd00:1::x --- LB 10.1.0.1 / fd00:1::1 --- b<i> 10.2.<i>.2 / fd00:2:<i>::2
#   (the LB is 10.2.<i>.1 / fd00:2:<i>::1 on backend link i: the source full-nat picks)
#
# Usage: test_fullnat.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=fullnat

lbt_require_env
topo_up 2
topo_ipv6
bpffs_up
start_backends 8080  # b<i> on 10.2.<i>.2:8080, TCP and UDP
start_backends6 8081 # b<i> on [fd00:2:<i>::2]:8081, TCP and UDP
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

write_config() { # MODE
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 80,
                             "protocol": "both"},
   "forwarding": "$1",
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "web6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 80,
                              "protocol": "both"},
   "forwarding": "$1",
   "default-target": [{"ip": "fd00:2:1::2", "port": 8081, "weight": 50},
                      {"ip": "fd00:2:2::2", "port": 8081, "weight": 50}]}],
 "settings": {"ingress": "$INGRESS", "stats-enabled": true}}
EOF
}

# hold NAME ARGS...: one long-lived echo flow from the client; ends when NAME.stop exists.
hold() {
	local name=$1
	shift
	lbtraffic "$NS_C" hold --interval 100 --seconds 120 --until-file "$LBT_RUN/$name.stop" \
		"$@" >"$LBT_LOGDIR/$name.log" 2>&1 &
	echo $! >"$LBT_RUN/$name.pid"
	wait_for "grep -q start '$LBT_LOGDIR/$name.log'" 5 || fail "hold $name did not start"
}

hold_end() {
	touch "$LBT_RUN/$1.stop"
	wait "$(cat "$LBT_RUN/$1.pid")" 2>/dev/null || true
	HOLD_OUT=$(tail -n 1 "$LBT_LOGDIR/$1.log")
}

# peer URL: the client address the backend saw (its X-Peer header), without the port.
peer() {
	local h
	h=$(in_ns "$NS_C" curl -gsf --max-time 5 -D - -o /dev/null "$1") || fail "curl $1 failed"
	h=$(printf '%s\n' "$h" | tr -d '\r' | awk -F': ' '$1 == "X-Peer" { print $2 }')
	[[ $h == \[* ]] && h=${h%%]*} && echo "${h#[}" && return
	echo "${h%:*}"
}

target_counter() { # PROXY TARGET FIELD
	lbctl --json stats "$1" | "$LBT_PY" -c 'import json,sys
t = [t for t in json.load(sys.stdin)["proxies"][0]["targets"] if t["target"] == sys.argv[1]]
print(t[0]["counters"][sys.argv[2]] if t else "none")' "$2" "$3"
}

global_counter() { # NAME
	lbctl --json stats | "$LBT_PY" -c 'import json,sys
print(json.load(sys.stdin)["global"][sys.argv[1]])' "$1"
}

# reload from nat to full-nat: the established connection finishes as nat, new ones are
# full-nat (the backend sees the LB instead of the client).
test_reload_nat_to_fullnat() {
	local p i
	p=$(peer "http://$VIP/")
	assert_eq "$p" "$CLIENT_IP" "the address a backend sees through nat"
	hold nat --host "$VIP" --port 80
	write_config full-nat
	lbctl reload >/dev/null
	lbctl list-proxies | grep -q 'forwarding   full-nat' ||
		fail "list-proxies after the reload: $(lbctl list-proxies)"
	for i in 1 2 3 4 5 6; do
		p=$(peer "http://$VIP/")
		[[ $p == 10.2.1.1 || $p == 10.2.2.1 ]] || fail "a new connection after the reload came from $p"
	done
	sleep 2 # the held nat flow exchanges 20 more lines meanwhile
	hold_end nat
	[[ $(json_get "$HOLD_OUT" ok) == true ]] || fail "the nat connection broke on the reload: $HOLD_OUT"
	(($(json_get "$HOLD_OUT" exchanges) >= 20)) || fail "too few exchanges: $HOLD_OUT"
	log "nat connection across the reload to full-nat: $HOLD_OUT"
}

# No default route on the backends: only full-nat can answer the clients.
test_backends_without_default_route() {
	local i out p
	for i in 1 2; do
		ip -n "${NS_BACKENDS[i - 1]}" route del default
		ip -n "${NS_BACKENDS[i - 1]}" -6 route del default
	done
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 60)
	assert_eq "$(json_get "$out" ok)" 60 "IPv4 TCP connections through full-nat ($out)"
	[[ $(json_get "$out" by_backend.b1 0) -gt 0 && $(json_get "$out" by_backend.b2 0) -gt 0 ]] ||
		fail "IPv4 TCP did not reach both backends: $out"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 40 --proto udp)
	assert_eq "$(json_get "$out" ok)" 40 "IPv4 UDP exchanges through full-nat ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 80 --count 40)
	assert_eq "$(json_get "$out" ok)" 40 "IPv6 TCP connections through full-nat ($out)"
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 80 --count 30 --proto udp)
	assert_eq "$(json_get "$out" ok)" 30 "IPv6 UDP exchanges through full-nat ($out)"
	# Each backend sees the LB's address on its own link (per-target default source).
	for i in 1 2 3 4 5 6; do
		p=$(peer "http://$VIP/")
		[[ $p == 10.2.1.1 || $p == 10.2.2.1 ]] || fail "a backend saw $p, not the LB"
		p=$(peer "http://[$VIP6]/")
		[[ $p == fd00:2:1::1 || $p == fd00:2:2::1 ]] || fail "a backend saw $p, not the LB"
	done
	# A large download: every segment's checksums survive both rewrites.
	out=$(lbtraffic "$NS_C" bulk --host "$VIP" --port 80 --download 4000000) ||
		fail "download through full-nat: $out"
	# The replies come back through the LB: counted, and translated at its ingress.
	wait_for "(( \$(target_counter web 10.2.1.2:8080 packets-out) > 0 ))" 5 ||
		fail "no replies counted for 10.2.1.2:8080"
	(($(global_counter full-nat-reply) > 0)) || fail "full-nat-reply counted nothing"
	assert_eq "$(global_counter drop-full-nat-no-port)" 0 "drop-full-nat-no-port"
}

# The check above can fail: nat cannot answer a client from these backends.
test_nat_cannot_without_route() {
	local out
	write_config nat
	lbctl reload >/dev/null
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 4 --req-timeout 1 --timeout 10)
	assert_eq "$(json_get "$out" ok)" 0 "nat connections from backends without a route back"
	write_config full-nat
	lbctl reload >/dev/null
}

# Conntrack is pinned: a full-nat connection goes on across an lbd restart.
test_flow_survives_restart() {
	hold fn --host "$VIP" --port 80
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	sleep 1 # the datapath forwards on its own
	lbt_start_lbd -c "$CONFIG"
	sleep 2
	hold_end fn
	[[ $(json_get "$HOLD_OUT" ok) == true ]] || fail "the full-nat connection broke on the restart: $HOLD_OUT"
	log "full-nat connection across a restart: $HOLD_OUT"
}

# accept_local, which lbd raised for full-nat, goes back to 0 on the interfaces when the
# datapath goes, even through a restarted lbd and an lbd --teardown of its own.
test_teardown_puts_accept_local_back() {
	local i v pid
	for i in "$LB_IF_C" "${LB_IF_BACKENDS[@]}"; do
		v=$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$i.accept_local")
		assert_eq "$v" 1 "accept_local on $i under full-nat"
	done
	pid=$(json_get "$(lbctl --json status)" pid) # restarted in a test's subshell
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd did not stop"
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 ||
		fail "lbd --teardown failed"
	for i in "$LB_IF_C" "${LB_IF_BACKENDS[@]}"; do
		v=$(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$i.accept_local")
		assert_eq "$v" 0 "accept_local on $i after lbd --teardown"
	done
}

# lbctl connections names a flow's mode, and for full-nat the source its backend sees.
test_connections_show_lb_source() {
	local out
	out=$(ip netns exec "$NS_C" "$LBT_PY" - "$VIP" "$LBCTL" "$SOCK" <<'EOF'
import json, socket, subprocess, sys

with socket.create_connection((sys.argv[1], 80), timeout=5) as s:
    s.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    seen = [l.split(b": ", 1)[1].decode() for l in head.split(b"\r\n")
            if l.startswith(b"X-Peer: ")][0]
    mine = "%s:%d" % s.getsockname()
    r = subprocess.run([sys.argv[2], "-s", sys.argv[3], "--json", "connections",
                        "--proxy", "web", "--client", s.getsockname()[0]],
                       capture_output=True, text=True, check=True)
    flows = [c for c in json.loads(r.stdout)["connections"] if c["client"] == mine]
    table = subprocess.run([sys.argv[2], "-s", sys.argv[3], "connections", "--proxy", "web"],
                           capture_output=True, text=True, check=True).stdout
    print(len(flows), flows[0]["forwarding"], flows[0]["lb-source"] == seen,
          ("full-nat from " + seen) in table)
EOF
)
	assert_eq "$out" "1 full-nat True True" "connections: mode and the source the backend saw"
}

# Flag mode: lbd -m; run time: lbctl add-proxy --forwarding; both validated.
test_flags_and_add_proxy() {
	local out
	out=$(in_ns "$NS_LB" "$LBD" -i "$LB_IF_C" -p 80 -t 10.2.1.2:8080 -m dsr --check 2>&1) &&
		fail "lbd -m dsr with target port 8080 on port 80 was accepted: $out"
	[[ $out == *"dsr forwards only the MAC: target 10.2.1.2:8080 has port 8080, which must equal the listener port 80"* ]] ||
		fail "lbd -m dsr: $out"
	out=$(in_ns "$NS_LB" "$LBD" -i "$LB_IF_C" -p 80 -t 10.2.1.2:8080 -m tunnel --check 2>&1) &&
		fail "lbd -m tunnel was accepted"
	[[ $out == *"-m tunnel: the forwarding mode must be nat, full-nat or dsr"* ]] || fail "lbd -m tunnel: $out"
	in_ns "$NS_LB" "$LBD" -i "$LB_IF_C" -p 80 -t 10.2.1.2:8080 -m full-nat --check >/dev/null 2>&1 ||
		fail "lbd -m full-nat --check failed"
	out=$(lbctl add-proxy extra --interface "$LB_IF_C" --address "$VIP" --port 82 \
		--forwarding full-nat --snat-address 10.2.1.1 10.2.1.2:8080) || fail "add-proxy: $out"
	out=$(lbctl list-proxies)
	[[ $out == *"forwarding   full-nat, snat-address 10.2.1.1"* ]] || fail "list-proxies: $out"
	out=$(lbctl --json list-proxies)
	[[ $out == *'"forwarding":"full-nat","snat-address":["10.2.1.1"]'* ]] || fail "list-proxies --json: $out"
	out=$(lbctl --json get-config)
	[[ $out == *'"forwarding":"full-nat"'* ]] || fail "get-config: $out"
	out=$(lbctl add-proxy bad --interface "$LB_IF_C" --address "$VIP" --port 83 \
		--forwarding dsr 10.2.1.2:8080 2>&1) && fail "add-proxy --forwarding dsr with port 8080 was accepted"
	[[ $out == *"must equal the listener port 83"* ]] || fail "add-proxy dsr: $out"
	lbctl remove-proxy extra >/dev/null
}

write_config nat
lbt_start_lbd -c "$CONFIG"

run_test test_flags_and_add_proxy
run_test test_reload_nat_to_fullnat
run_test test_backends_without_default_route
run_test test_nat_cannot_without_route
run_test test_flow_survives_restart
run_test test_connections_show_lb_source
run_test test_teardown_puts_accept_local_back
run_summary
