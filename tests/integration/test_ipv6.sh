#!/bin/bash
# IPv6 end to end, beside IPv4 on the same links: a client, the LB and three backends in
# namespaces, the real lbd and lbctl, real TCP, UDP and TLS over IPv6.
#
#   client fd00:1::2-9 --- LB fd00:1::1 (= $VIP6, also 10.1.0.1) --- b<i> fd00:2:<i>::2
#
# Covers: weighted split over IPv6 targets, UDP (the checksum of every answer is checked
# by the client's kernel), LPM source routes on IPv6 prefixes, one address-less listener
# serving both families over the targets of each, IPv6 addresses added to an interface
# at runtime, runtime proxies and weights written [ipv6]:port@weight, health checks and
# drains of IPv6 targets, SNI over IPv6 (also to IPv4 targets), and a lbd restart under
# IPv6 load.
#
# Usage: test_ipv6.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=ipv6
TLS=$LBT_DIR/tls_tool.py

lbt_require_env
command -v openssl >/dev/null || {
	echo "skip: openssl not installed" >&2
	exit 77
}
topo_up 3
topo_ipv6
bpffs_up
start_backends 8080       # b<i> on 10.2.<i>.2:8080 (IPv4)
start_backends6 8081 --tcp # b<i> on [fd00:2:<i>::2]:8081
for i in 1 2 3; do
	start_server "${NS_BACKENDS[i - 1]}" "u$i" "${BACKEND_IPS6[i - 1]}" 5353 --udp
	start_tls_server "${NS_BACKENDS[i - 1]}" "t$i" "${BACKEND_IPS6[i - 1]}" 8443 "b$i"
done
start_tls_server "${NS_BACKENDS[2]}" t3v4 10.2.3.2 8443 b3
start_tls_server "${NS_BACKENDS[2]}" t3pp "${BACKEND_IPS6[2]}" 9443 b3 --proxy-protocol

start_server "$NS_LB" host84 "$VIP6" 84 --tcp # the LB host's own IPv6 service
B6_1=${BACKEND_IPS6[0]} B6_2=${BACKEND_IPS6[1]} B6_3=${BACKEND_IPS6[2]}
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 80},
   "default-target": [{"ip": "$B6_1", "port": 8081, "weight": 50},
                      {"ip": "$B6_2", "port": 8081, "weight": 30},
                      {"ip": "$B6_3", "port": 8081, "weight": 20}]},
  {"name": "dns6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 53,
                              "protocol": "udp"},
   "default-target": [{"ip": "$B6_1", "port": 5353, "weight": 50,
                       "health-check": {"type": "none"}},
                      {"ip": "$B6_2", "port": 5353, "weight": 50,
                       "health-check": {"type": "none"}}]},
  {"name": "routed6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 81},
   "default-target": {"ip": "$B6_1", "port": 8081},
   "source-routes": [{"source": "fd00:1::/125", "target": {"ip": "$B6_2", "port": 8081}},
                     {"source": "fd00:1::4", "target": {"ip": "$B6_3", "port": 8081}}]},
  {"name": "dual", "listen": {"interfaces": ["$LB_IF_C"], "port": 82},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "$B6_2", "port": 8081, "weight": 50}]},
  {"name": "v4only", "listen": {"interfaces": ["$LB_IF_C"], "port": 84},
   "default-target": {"ip": "10.2.3.2", "port": 8080}},
  {"name": "checked6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 83},
   "default-target": [{"ip": "$B6_1", "port": 8081, "weight": 50},
                      {"ip": "$B6_3", "port": 8081, "weight": 50,
                       "health-check": {"type": "http", "path": "/", "interval-ms": 1000, "timeout-ms": 500,
                                        "unhealthy-threshold": 2}}]},
  {"name": "tls6", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "$B6_1", "port": 8443},
   "sni-routes": [
     {"sni-hostname": "api.example.com", "target": {"ip": "$B6_2", "port": 8443}},
     {"sni-hostname": "v4.example.com", "target": {"ip": "10.2.3.2", "port": 8443}},
     {"sni-hostname": "pp.example.com",
      "target": {"ip": "$B6_3", "port": 9443, "proxy-protocol": "v2"}}]}],
 "settings": {"ingress": "$INGRESS", "health-check-enabled": true,
              "health-check-defaults": {"type": "tcp"},
              "drain-check-interval-ms": 200, "metrics-listen": "[::1]:9100"}}
EOF
start_lbd() { lbt_start_lbd -c "$CONFIG"; }
start_lbd
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
tally6() { lbtraffic "$NS_C" tally --host "$VIP6" "$@"; }
share() { json_get "$1" "by_backend.$2" 0; }

# 1200 new connections to [fd00:1::1]:80 split 50/30/20 within 4 points.
test_weighted_split() {
	local out answer b1 b2 b3
	out=$(tally6 --port 80 --count 1200 --timeout 60)
	assert_eq "$(json_get "$out" ok)" 1200 "IPv6 connections ($out)"
	answer=$(in_ns "$NS_C" curl -gsf --max-time 5 "http://[$VIP6]/") || fail "curl over IPv6"
	[[ $answer == b[123] ]] || fail "curl over IPv6 answered: $answer"
	b1=$(share "$out" b1) b2=$(share "$out" b2) b3=$(share "$out" b3)
	log "IPv6 split over 1200: b1=$b1 b2=$b2 b3=$b3"
	# 4.5 standard deviations of a binomial count, as in test_lbd_basic.sh.
	((b1 >= 522 && b1 <= 678)) || fail "b1 got $b1 of 1200, want 50% +-6.5"
	((b2 >= 288 && b2 <= 432)) || fail "b2 got $b2 of 1200, want 30% +-6"
	((b3 >= 177 && b3 <= 303)) || fail "b3 got $b3 of 1200, want 20% +-5.2"
}

# UDP over IPv6: every datagram answered through the LB (a wrong or zero checksum is
# dropped by the client's kernel and counts as lost), both targets used.
test_udp() {
	local out
	out=$(tally6 --port 53 --proto udp --count 200 --timeout 30)
	assert_eq "$(json_get "$out" ok)" 200 "IPv6 UDP answers ($out)"
	(($(share "$out" u1) > 50 && $(share "$out" u2) > 50)) || fail "UDP spread: $out"
}

# Longest prefix wins: fd00:1::4 -> b3, the rest of fd00:1::/125 -> b2, others -> b1.
test_source_routes() {
	local out src want
	for src in fd00:1::2:b2 fd00:1::3:b2 fd00:1::4:b3 fd00:1::9:b1; do
		want=${src##*:} src=${src%:*}
		out=$(tally6 --port 81 --count 20 --bind "$src")
		assert_eq "$(share "$out" "$want")" 20 "clients from $src go to $want ($out)"
	done
}

# One address-less listener, both families: IPv4 clients over its IPv4 target, IPv6
# clients over its IPv6 one (the kernel datapath does not translate between them).
test_dual_stack_listener() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 82 --count 50)
	assert_eq "$(share "$out" b1)" 50 "IPv4 clients of the dual-stack listener ($out)"
	out=$(tally6 --port 82 --count 50)
	assert_eq "$(share "$out" b2)" 50 "IPv6 clients of the dual-stack listener ($out)"
}

# An address-less listener whose targets are all IPv4 leaves IPv6 packets to its port
# alone: the LB host's own IPv6 service on that port answers them.
test_other_family_passes() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 84 --count 10)
	assert_eq "$(share "$out" b3)" 10 "IPv4 clients of the IPv4-only listener ($out)"
	out=$(tally6 --port 84 --count 10)
	assert_eq "$(share "$out" host84)" 10 "IPv6 clients of the LB host's own service ($out)"
}

# An IPv6 address added to the interface while lbd runs is served by the address-less
# listener within moments; removed, it is not.
test_address_followed() {
	local out ll
	ip -n "$NS_LB" addr add fd00:1::50/64 dev "$LB_IF_C" nodad
	wait_for "lbtraffic $NS_C tally --host fd00:1::50 --port 82 --count 1 --timeout 2 | grep -q '\"ok\": 1'" 10 ||
		fail "fd00:1::50 added at runtime is not balanced"
	out=$(lbtraffic "$NS_C" tally --host fd00:1::50 --port 82 --count 20)
	assert_eq "$(share "$out" b2)" 20 "the new address's clients ($out)"
	ip -n "$NS_LB" addr del fd00:1::50/64 dev "$LB_IF_C"
	wait_for "lbtraffic $NS_C tally --host fd00:1::50 --port 82 --count 1 --timeout 1 | grep -q '\"ok\": 0'" 10 ||
		fail "fd00:1::50 is still balanced after its removal"
	# Link-local addresses are not listened on: nothing answers on the LB's own.
	ll=$(ip -n "$NS_LB" -6 -br addr show dev "$LB_IF_C" scope link | awk '{ print $3 }')
	ll=${ll%/*}
	[[ $ll == fe80:* ]] || fail "no link-local address on $LB_IF_C: $ll"
	out=$(lbtraffic "$NS_C" tally --host "$ll%$C_IF" --port 82 --count 3 --timeout 2)
	assert_eq "$(json_get "$out" ok)" 0 "connections to the link-local $ll ($out)"
}

# Runtime changes in IPv6 forms: add-proxy, set-weights, list-proxies, remove-proxy.
test_runtime_changes() {
	local out
	out=$(lbctl add-proxy rt6 --interface "$LB_IF_C" --address "$VIP6" --port 90 \
		"[$B6_1]:8081@50" "[$B6_3]:8081@50" 2>&1) || fail "add-proxy: $out"
	out=$(tally6 --port 90 --count 100)
	assert_eq "$(json_get "$out" ok)" 100 "runtime IPv6 proxy ($out)"
	(($(share "$out" b1) > 20 && $(share "$out" b3) > 20)) || fail "rt6 spread: $out"
	lbctl set-weights rt6 "[$B6_1]:8081@0" "[$B6_3]:8081@100" >/dev/null ||
		fail "set-weights with IPv6 targets"
	out=$(tally6 --port 90 --count 50)
	assert_eq "$(share "$out" b3)" 50 "after set-weights ($out)"
	out=$(lbctl list-proxies)
	[[ $out == *"[$B6_3]:8081"* && $out == *"$VIP6"* ]] || fail "list-proxies: $out"
	out=$(lbctl set-weights rt6 "$B6_1:8081@100" 2>&1) && fail "unbracketed target accepted"
	[[ $out == *"in brackets"* ]] || fail "unbracketed IPv6 target: $out"
	out=$(lbctl add-proxy bad --interface "$LB_IF_C" --address "$VIP" --port 91 \
		"[$B6_1]:8081" 2>&1) && fail "IPv4 listener with an IPv6 target accepted"
	[[ $out == *"IPv6 target"* ]] || fail "mixed families: $out"
	lbctl remove-proxy rt6 >/dev/null || fail "remove-proxy"
	lbctl --json list-proxies | grep -q '"rt6"' && fail "rt6 still listed"
	return 0
}

# A failing IPv6 target is taken out by its health check, then a drain of an IPv6 target
# ends with its connections.
# status_of PROXY TARGET: the health status lbctl reports for TARGET ([v6]:port).
status_of() {
	lbctl --json health "$1" | "$LBT_PY" -c 'import json, sys
for t in json.load(sys.stdin)["proxies"][0]["targets"]:
    if t["target"] == sys.argv[1]:
        print(t["status"])' "$2"
}

test_health_and_drain() {
	local out
	stop_server b3 8081
	wait_for "[[ \$(status_of checked6 '[$B6_3]:8081') == unhealthy ]]" 15 ||
		fail "b3 was not marked down: $(lbctl health checked6)"
	out=$(tally6 --port 83 --count 60)
	assert_eq "$(share "$out" b1)" 60 "all of checked6 on b1 while b3 is down ($out)"
	lbt_spawn_server "${NS_BACKENDS[2]}" b3 "$B6_3" 8081 --tcp
	lbt_wait_server b3 8081
	out=$(lbctl drain web6 "[$B6_1]:8081" --wait --timeout 10s 2>&1) || fail "drain: $out"
	out=$(tally6 --port 80 --count 100)
	assert_eq "$(share "$out" b1)" 0 "new connections to the drained IPv6 target ($out)"
	lbctl undrain web6 "[$B6_1]:8081" >/dev/null || fail "undrain"
}

# SNI over IPv6: names routed to IPv6 targets and, across families, to an IPv4 one.
test_sni() {
	local out
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP6" --port 443 --sni api.example.com \
		--count 20)
	assert_eq "$(share "$out" t2)" 20 "api.example.com over IPv6 ($out)"
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP6" --port 443 --sni v4.example.com \
		--count 10)
	assert_eq "$(share "$out" t3v4)" 10 "IPv6 client, IPv4 target ($out)"
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP" --port 443 --sni api.example.com \
		--count 10)
	assert_eq "$(share "$out" t2)" 10 "IPv4 client, IPv6 target ($out)"
	# PROXY v2 names the client in its own family, whatever the target's.
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP6" --port 443 --sni pp.example.com \
		--count 2 --bind "$CLIENT_IP6")
	[[ $out == *"t3pp pp.example.com [$CLIENT_IP6]:"* ]] || fail "PROXY v2 over IPv6: $out"
	out=$(in_ns "$NS_C" "$LBT_PY" "$TLS" tally --host "$VIP" --port 443 --sni pp.example.com \
		--count 2 --bind "$CLIENT_IP")
	[[ $out == *"t3pp pp.example.com $CLIENT_IP:"* ]] || fail "PROXY v2, IPv4 client: $out"
}

# A lbd restart under IPv6 load: a held flow and new connections lose nothing.
test_restart_under_load() {
	local out conns
	rm -f "$LBT_RUN/hold.stop" "$LBT_RUN/load.stop"
	lbtraffic "$NS_C" hold --host "$VIP6" --port 80 --seconds 60 --interval 100 \
		--until-file "$LBT_RUN/hold.stop" >"$LBT_RUN/hold.out" &
	local hold=$!
	lbtraffic "$NS_C" tally --host "$VIP6" --port 80 --count 100000 --concurrency 4 \
		--until-file "$LBT_RUN/load.stop" >"$LBT_RUN/load.out" &
	local load=$!
	wait_for "grep -q start $LBT_RUN/hold.out" 10 || fail "the IPv6 flow did not start"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	start_lbd
	sleep 1
	touch "$LBT_RUN/hold.stop" "$LBT_RUN/load.stop"
	wait "$hold" || true
	wait "$load" || true
	out=$(tail -n 1 "$LBT_RUN/hold.out")
	assert_eq "$(json_get "$out" ok)" true "the IPv6 flow across a restart ($out)"
	out=$(cat "$LBT_RUN/load.out")
	assert_eq "$(json_get "$out" failed)" 0 "new IPv6 connections across a restart ($out)"
	# What lbctl shows of IPv6 flows: [addr]:port on both ends.
	conns=$(lbctl connections --proxy web6 --limit 5)
	[[ $conns == *" [fd00:1::"*"]:"*" [$VIP6]:80 "*" [fd00:2:"*"::2]:8081 "* ]] ||
		fail "lbctl connections: $conns"
	(($(json_get "$out" ok) > 20)) || fail "too few connections during the restart: $out"
}

# lbd --check and the daemon's start name IPv6 forwarding when IPv6 targets need it.
test_check_forwarding() {
	local out
	out=$(in_ns "$NS_LB" "$LBD" --check -c "$CONFIG" 2>&1) || fail "--check: $out"
	[[ $out != *forwarding* ]] || fail "a forwarding warning with forwarding on: $out"
	in_ns "$NS_LB" sysctl -qw net.ipv6.conf.all.forwarding=0 >/dev/null
	out=$(in_ns "$NS_LB" "$LBD" --check -c "$CONFIG" 2>&1) || true
	in_ns "$NS_LB" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
	[[ $out == *"warning: net.ipv6.conf.all.forwarding is 0"* ]] ||
		fail "no warning about IPv6 forwarding: $out"
}

# The Prometheus endpoint on an IPv6 address, with IPv6 targets as labels.
scrape() {
	in_ns "$NS_LB" "$LBT_PY" -c 'import urllib.request
print(urllib.request.urlopen("http://[::1]:9100/metrics", timeout=5).read().decode())'
}
ct_filled() {
	local out entries capacity
	out=$(scrape) || return 1
	entries=$(sed -n 's/^lbd_conntrack_entries //p' <<<"$out")
	capacity=$(sed -n 's/^lbd_conntrack_capacity //p' <<<"$out")
	((${entries:-0} >= 2 && ${capacity:-0} > ${entries:-0}))
}
test_metrics() {
	local out
	rm -f "$LBT_RUN/hold.stop"
	lbtraffic "$NS_C" hold --host "$VIP6" --port 80 --seconds 30 --interval 100 \
		--until-file "$LBT_RUN/hold.stop" >/dev/null &
	local hold=$!
	out=$(scrape) || fail "no metrics at [::1]:9100"
	[[ $out == *'target="['"$B6_1"']:8081"'* ]] || fail "no IPv6 target label: $(grep -m3 target= <<<"$out")"
	# The conntrack table's fill, as the scans see it: the held flow's two entries at least.
	wait_for ct_filled 20 || fail "conntrack fill: $(scrape | grep '^lbd_conntrack')"
	touch "$LBT_RUN/hold.stop"
	wait "$hold" || true
}

run_test test_check_forwarding
run_test test_metrics
run_test test_weighted_split
run_test test_udp
run_test test_source_routes
run_test test_dual_stack_listener
run_test test_other_family_passes
run_test test_address_followed
run_test test_runtime_changes
run_test test_health_and_drain
run_test test_sni
run_test test_restart_under_load
run_summary
