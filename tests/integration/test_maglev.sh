#!/bin/bash
# Weighted Maglev tables and session affinity with real traffic: a client namespace with
# a few hundred addresses, the LB and four backend namespaces serving two ports each (8
# targets), the real lbd and lbctl.
#
#   clients 10.1.0.2-210, 10.1.10-29.2, fd00:1::2-9, fd00:1:0:10-21::2
#      --- LB 10.1.0.1 / fd00:1::1 --- b<i>:8080 c<i>:8082 (IPv4), b<i>:8081 c<i>:8083 (IPv6)
#
# Covers: the split of 8 weighted targets; "hash": "source-address" keeps every connection
# of a client on one target, and a target dropped to weight 0 moves only its own clients
# (restoring the weights brings every client back); "hash-prefix" 24 and 64 keep a subnet
# together (and other subnets spread); a new lbd process (after a teardown) with the same
# configuration and seed picks the same target for every client, another seed does not.
#
# Usage: test_maglev.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=maglev

lbt_require_env
topo_up 4
topo_ipv6
bpffs_up
start_backends 8080        # b<i> on 10.2.<i>.2:8080
start_backends6 8081 --tcp # b<i> on [fd00:2:<i>::2]:8081
for i in 1 2 3 4; do
	lbt_spawn_server "${NS_BACKENDS[i - 1]}" "c$i" "${BACKEND_IPS[i - 1]}" 8082 --tcp
	lbt_spawn_server "${NS_BACKENDS[i - 1]}" "c$i" "${BACKEND_IPS6[i - 1]}" 8083 --tcp
done
for i in 1 2 3 4; do
	lbt_wait_server "c$i" 8082
	lbt_wait_server "c$i" 8083
done

# 200 more client addresses in 10.1.0.0/24, one in each of 20 other /24s and 12 other
# /64s (the LB reaches those over its client link).
CLIENTS=()
for i in $(seq 10 99) $(seq 101 210); do CLIENTS+=("10.1.0.$i"); done
SUBNETS=()
for i in $(seq 10 29); do SUBNETS+=("10.1.$i.2"); done
SUBNETS6=()
for i in $(seq 10 21); do SUBNETS6+=("fd00:1:0:$i::2"); done
{
	for a in "${CLIENTS[@]}"; do echo "addr add $a/24 dev $C_IF"; done
	for a in "${SUBNETS[@]}"; do echo "addr add $a/32 dev $C_IF"; done
	for a in "${SUBNETS6[@]}"; do echo "addr add $a/128 dev $C_IF nodad"; done
} | ip -n "$NS_C" -batch -
ip -n "$NS_LB" route add 10.1.0.0/16 dev "$LB_IF_C"
ip -n "$NS_LB" -6 route add fd00:1::/48 dev "$LB_IF_C"
commas() {
	local IFS=,
	echo "$*"
}
ALL_CLIENTS=$(commas "${CLIENTS[@]}")

B6_1=${BACKEND_IPS6[0]} B6_2=${BACKEND_IPS6[1]} B6_3=${BACKEND_IPS6[2]} B6_4=${BACKEND_IPS6[3]}
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
write_config() {
	local seed=$1
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "split", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 25},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 20},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 15},
                      {"ip": "10.2.4.2", "port": 8080, "weight": 10},
                      {"ip": "10.2.1.2", "port": 8082, "weight": 10},
                      {"ip": "10.2.2.2", "port": 8082, "weight": 10},
                      {"ip": "10.2.3.2", "port": 8082, "weight": 5},
                      {"ip": "10.2.4.2", "port": 8082, "weight": 5}]},
  {"name": "sticky", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 81},
   "hash": "source-address",
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 20},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 16},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 16},
                      {"ip": "10.2.4.2", "port": 8080, "weight": 16},
                      {"ip": "10.2.1.2", "port": 8082, "weight": 16},
                      {"ip": "10.2.2.2", "port": 8082, "weight": 16}]},
  {"name": "subnet", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP", "port": 82},
   "hash": "source-address", "hash-prefix": 24,
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 13},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 13},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 13},
                      {"ip": "10.2.4.2", "port": 8080, "weight": 13},
                      {"ip": "10.2.1.2", "port": 8082, "weight": 12},
                      {"ip": "10.2.2.2", "port": 8082, "weight": 12},
                      {"ip": "10.2.3.2", "port": 8082, "weight": 12},
                      {"ip": "10.2.4.2", "port": 8082, "weight": 12}]},
  {"name": "subnet6", "listen": {"interfaces": ["$LB_IF_C"], "address": "$VIP6", "port": 80},
   "hash": "source-address", "hash-prefix": 64,
   "default-target": [{"ip": "$B6_1", "port": 8081, "weight": 13},
                      {"ip": "$B6_2", "port": 8081, "weight": 13},
                      {"ip": "$B6_3", "port": 8081, "weight": 13},
                      {"ip": "$B6_4", "port": 8081, "weight": 13},
                      {"ip": "$B6_1", "port": 8083, "weight": 12},
                      {"ip": "$B6_2", "port": 8083, "weight": 12},
                      {"ip": "$B6_3", "port": 8083, "weight": 12},
                      {"ip": "$B6_4", "port": 8083, "weight": 12}]},
  {"name": "v6only", "listen": {"interfaces": ["$LB_IF_C"], "port": 85},
   "hash": "source-address", "hash-prefix": 64,
   "default-target": [{"ip": "$B6_1", "port": 8081, "weight": 50},
                      {"ip": "$B6_2", "port": 8081, "weight": 50}]}],
 "settings": {"ingress": "$INGRESS", "hash-seed": $seed}}
EOF
}
SEED=1234
write_config "$SEED"
start_lbd() { lbt_start_lbd -c "$CONFIG"; }
start_lbd
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" "$@"; }
share() { json_get "$1" "by_backend.$2" 0; }

# moved MAP_A MAP_B: how many clients have another target in MAP_B than in MAP_A.
moved() {
	join -j 1 <(sort <<<"$1") <(sort <<<"$2") | awk '$2 != $3 { n++ } END { print n + 0 }'
}

# 1200 connections (5-tuple hash, fresh source ports) over 8 targets weighted
# 25/20/15/10/10/10/5/5: every target within 5 points (60 connections, 4 standard
# deviations of the largest share) of its weight.
test_weighted_split() {
	local out name want got t
	out=$(tally --port 80 --count 1200 --timeout 90)
	assert_eq "$(json_get "$out" ok)" 1200 "connections ($out)"
	log "split over 1200: $(json_get "$out" by_backend)"
	for t in b1:25 b2:20 b3:15 b4:10 c1:10 c2:10 c3:5 c4:5; do
		name=${t%:*} want=$((${t#*:} * 12))
		got=$(share "$out" "$name")
		((got >= want - 60 && got <= want + 60)) ||
			fail "$name got $got of 1200, want $want +-60 ($out)"
	done
}

# "source-address": 200 clients, 3 connections each, every client on one target (the
# same 5-tuple proxy spreads one client's connections). Target b1 (weight 20) set to 0:
# its clients, and at most 3% of the others, move; the old weights bring everyone back.
test_affinity_and_set_weights() {
	local out before after back n_b1 n_moved
	out=$(tally --port 80 --count 40 --bind "$CLIENT_IP")
	(($(json_get "$out" by_backend | tr -cd , | wc -c) >= 2)) ||
		fail "one client's 5-tuple connections reached fewer than 3 targets: $out"
	out=$(tally --port 81 --count 600 --bind "$ALL_CLIENTS" --timeout 90)
	before=$(client_map "$out" 2>&1) || fail "before: $before"
	n_b1=$(grep -c ' b1$' <<<"$before" || true)
	log "sticky: 200 clients over $(json_get "$out" by_backend), b1 has $n_b1 clients"
	((n_b1 >= 20 && n_b1 <= 60)) || fail "b1 (weight 20) has $n_b1 of 200 clients"

	lbctl set-weights sticky 10.2.1.2:8080@0 10.2.2.2:8080@20 10.2.3.2:8080@20 \
		10.2.4.2:8080@20 10.2.1.2:8082@20 10.2.2.2:8082@20 >/dev/null
	out=$(tally --port 81 --count 600 --bind "$ALL_CLIENTS" --timeout 90)
	after=$(client_map "$out" 2>&1) || fail "after set-weights: $after"
	grep -q ' b1$' <<<"$after" && fail "clients still on b1 (weight 0): $(grep ' b1$' <<<"$after" | head -3)"
	n_moved=$(moved "$before" "$after")
	log "b1 to weight 0: $n_moved of 200 clients changed target ($n_b1 were on b1)"
	((n_moved >= n_b1 && n_moved <= n_b1 + 6)) ||
		fail "$n_moved clients moved, want b1's $n_b1 plus at most 6 (3%)"

	lbctl set-weights sticky 10.2.1.2:8080@20 10.2.2.2:8080@16 10.2.3.2:8080@16 \
		10.2.4.2:8080@16 10.2.1.2:8082@16 10.2.2.2:8082@16 >/dev/null
	out=$(tally --port 81 --count 200 --bind "$ALL_CLIENTS" --timeout 60)
	back=$(client_map "$out" 2>&1) || fail "after restoring the weights: $back"
	assert_eq "$(moved "$before" "$back")" 0 "clients not back on their target"
}

# "hash-prefix": 24: 10.1.0.2-9 and 200 more of 10.1.0.0/24 on one target; one client of
# each of 20 other /24s spreads over several targets.
test_prefix24() {
	local out
	out=$(tally --port 82 --count 400 --bind "$(commas "${CLIENT_IPS[@]}" "${CLIENTS[@]}")" \
		--timeout 60)
	assert_eq "$(json_get "$out" ok)" 400 "connections ($out)"
	assert_eq "$(json_get "$out" by_backend | tr -cd : | wc -c)" 1 \
		"targets of the clients of 10.1.0.0/24 ($(json_get "$out" by_backend))"
	out=$(tally --port 82 --count 60 --bind "$(commas "${SUBNETS[@]}")")
	client_map "$out" >/dev/null || fail "a client of another /24 on several targets: $out"
	(($(json_get "$out" by_backend | tr -cd : | wc -c) >= 3)) ||
		fail "20 /24s reached fewer than 3 targets: $(json_get "$out" by_backend)"
}

# "hash-prefix": 64 for IPv6: fd00:1::2-9 on one target; 12 other /64s spread.
test_prefix64() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 80 --count 160 \
		--bind "$(commas "${CLIENT_IPS6[@]}")")
	assert_eq "$(json_get "$out" ok)" 160 "IPv6 connections ($out)"
	assert_eq "$(json_get "$out" by_backend | tr -cd : | wc -c)" 1 \
		"targets of the clients of fd00:1::/64 ($(json_get "$out" by_backend))"
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 80 --count 48 \
		--bind "$(commas "${SUBNETS6[@]}")")
	client_map "$out" >/dev/null || fail "a client of another /64 on several targets: $out"
	(($(json_get "$out" by_backend | tr -cd : | wc -c) >= 3)) ||
		fail "12 /64s reached fewer than 3 targets: $(json_get "$out" by_backend)"
}

# Another lbd process, on a datapath built from nothing (the old one torn down), with the
# same configuration and seed: every client on the target it had. A reload with another
# seed moves most of them; the old seed brings them back.
test_same_choice_in_a_new_process() {
	local out first second other
	lbctl reload >/dev/null # the file's weights, whatever the tests before left
	out=$(tally --port 81 --count 200 --bind "$ALL_CLIENTS" --timeout 60)
	first=$(client_map "$out" 2>&1) || fail "first lbd: $first"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 ||
		fail "teardown"
	[[ -z $(ls -A "$BPFFS/lbd/$INSTANCE" 2>/dev/null) ]] || fail "pins left after teardown"
	start_lbd
	out=$(tally --port 81 --count 200 --bind "$ALL_CLIENTS" --timeout 60)
	second=$(client_map "$out" 2>&1) || fail "second lbd: $second"
	assert_eq "$(moved "$first" "$second")" 0 "clients on another target in the new lbd"

	write_config $((SEED + 1))
	lbctl reload >/dev/null
	out=$(tally --port 81 --count 200 --bind "$ALL_CLIENTS" --timeout 60)
	other=$(client_map "$out" 2>&1) || fail "other seed: $other"
	log "hash-seed $((SEED + 1)): $(moved "$first" "$other") of 200 clients elsewhere"
	(($(moved "$first" "$other") >= 100)) || fail "another seed moved too few clients"
	write_config "$SEED"
	lbctl reload >/dev/null
	out=$(tally --port 81 --count 200 --bind "$ALL_CLIENTS" --timeout 60)
	other=$(client_map "$out" 2>&1) || fail "seed back: $other"
	assert_eq "$(moved "$first" "$other")" 0 "clients elsewhere after the seed came back"
}

# lbctl list-proxies names a proxy's hash when it is not the 5-tuple.
test_list_proxies() {
	local out
	out=$(lbctl list-proxies)
	[[ $out == *"proxy subnet6"*"hash         source-address, prefix /64"* ]] ||
		fail "no hash line for subnet6: $out"
	[[ $(grep -c '^  hash ' <<<"$out") == 4 ]] || fail "hash lines: $out"
	out=$(lbctl --json list-proxies)
	[[ $out == *'"hash":"source-address","hash-prefix":24'* ]] || fail "JSON: $out"
	# A proxy added at run time with --hash and --hash-prefix.
	out=$(lbctl add-proxy rt --interface "$LB_IF_C" --address "$VIP" --port 90 \
		--hash source-address --hash-prefix 24 10.2.1.2:8080@50 10.2.2.2:8082@50 2>&1) ||
		fail "add-proxy --hash: $out"
	[[ $out == *"hash         source-address, prefix /24"* ]] || fail "add-proxy shows: $out"
	out=$(tally --port 90 --count 40 --bind "$(commas "${CLIENT_IPS[@]}")")
	assert_eq "$(json_get "$out" by_backend | tr -cd : | wc -c)" 1 "targets of rt ($out)"
	lbctl remove-proxy rt >/dev/null
}

# Flag mode: -H source-address/PREFIX, the prefix checked against the targets' family.
test_flag_mode() {
	local out
	out=$("$LBD" --check=file -i "$LB_IF_C" -t 10.2.1.2:8080@50 -t 10.2.2.2:8080@50 \
		-H source-address/24 2>&1) || fail "-H source-address/24: $out"
	out=$("$LBD" --check=file -i "$LB_IF_C" -t "[$B6_1]:8081@50" -t "[$B6_2]:8081@50" \
		-H source-address/64 2>&1) || fail "-H source-address/64: $out"
	out=$("$LBD" --check=file -i "$LB_IF_C" -t 10.2.1.2:8080@50 -t 10.2.2.2:8080@50 \
		-H source-address/64 2>&1) && fail "an IPv4 prefix of 64 accepted"
	[[ $out == *"-H source-address/64: longer than an IPv4 address"* ]] || fail "-H /64: $out"
	return 0
}

# An address-less listener whose targets are all IPv6 (hash-prefix 64 is accepted for it)
# serves IPv6 clients and leaves IPv4 ones to the kernel, which refuses them: no IPv4
# listener entry that could only drop them (the families were 4 | 6 == 6 before).
test_ipv6_only_listener() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP6" --port 85 --count 16 \
		--bind "$(commas "${CLIENT_IPS6[@]}")")
	assert_eq "$(json_get "$out" ok)" 16 "IPv6 clients of v6only ($out)"
	assert_eq "$(json_get "$out" by_backend | tr -cd : | wc -c)" 1 "v6only targets ($out)"
	out=$(tally --port 85 --count 2 --timeout 10 --req-timeout 3)
	[[ $out == *ConnectionRefused* ]] || fail "IPv4 clients of v6only were not refused: $out"
}

run_test test_flag_mode
run_test test_ipv6_only_listener
run_test test_list_proxies
run_test test_weighted_split
run_test test_affinity_and_set_weights
run_test test_prefix24
run_test test_prefix64
run_test test_same_choice_in_a_new_process
run_summary
