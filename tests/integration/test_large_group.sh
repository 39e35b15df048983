#!/bin/bash
# A large group with real traffic: one proxy whose default group has 200 targets, 50 ports
# (9000-9049) on each of four backend namespaces, served by one server process per
# namespace, with relative weights 1, 2, 3, 4 (target k of the list has weight k % 4 + 1:
# they sum to 500, not 100). The real lbd and lbctl.
#
#   client 10.1.0.2 --- LB 10.1.0.1:80 --- b<i>:9000-9049 (10.2.<i>.2, i = 1..4)
#
# Covers: 6000 connections spread over all 200 targets as the weights say (per target
# within 4.5 standard deviations + 3 connections of its expected count, per weight class
# within 4.5 standard deviations); set-weights of all 200 (b1's 50 to weight 0) moves new
# connections off them and keeps the others' proportions; a target set unhealthy
# (set-target-status) gets no new connection; lbctl add-proxy with a group of 10 where
# one target has no weight is refused with the relative-weights message; a reload to 8
# targets deletes the set and back to 200 makes one again; a new lbd process keeps it.
#
# Usage: test_large_group.sh PATH/TO/lbd PATH/TO/lbctl [auto|xdp]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INGRESS=${3:-auto}
INSTANCE=large

lbt_require_env
topo_up 4
bpffs_up
for i in 1 2 3 4; do
	lbt_spawn_server "${NS_BACKENDS[i - 1]}" "b$i" "${BACKEND_IPS[i - 1]}" 9000 --ports 50 --tcp
done
for i in 1 2 3 4; do lbt_wait_server "b$i" 9000; done

# TARGETS: "ip:port@weight name" per target, in the order of the group.
TARGETS=()
k=0
for i in 1 2 3 4; do
	for ((p = 9000; p < 9050; p++)); do
		TARGETS+=("10.2.$i.2:$p@$((k % 4 + 1)) b$i-$p")
		k=$((k + 1))
	done
done

SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
# write_config [ip:port@weight...]: the proxy "big" with these targets (default: TARGETS).
write_config() {
	local eps=("$@") sep='' ep t port
	((${#eps[@]})) || for t in "${TARGETS[@]}"; do eps+=("${t%% *}"); done
	{
		printf '{"proxies": [{"name": "big", "listen": {"interfaces": ["%s"], "address": "%s", "port": 80},\n "default-target": [' \
			"$LB_IF_C" "$VIP"
		for ep in "${eps[@]}"; do
			port=${ep#*:}
			printf '%s\n  {"ip": "%s", "port": %s, "weight": %s}' "$sep" "${ep%:*}" \
				"${port%@*}" "${ep#*@}"
			sep=,
		done
		printf ']}],\n "settings": {"ingress": "%s"}}\n' "$INGRESS"
	} >"$CONFIG"
}
write_config
lbt_start_lbd -c "$CONFIG"
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" --port 80 "$@"; }

# check_split TALLY_JSON WEIGHTS: WEIGHTS is "name weight" lines. Every connection ok;
# a target of weight 0 got none; the others: per target within 4.5 sd + 3 of
# total * w / W, per weight class within 4.5 sd of its sum; prints a summary.
check_split() {
	"$LBT_PY" - "$1" "$2" <<'EOF'
import json, math, sys
r = json.loads(sys.argv[1].splitlines()[-1])
w = {}
for line in sys.argv[2].splitlines():
    name, weight = line.split()
    w[name] = int(weight)
got = r["by_backend"]
if r["failed"] or set(got) - set(w):
    sys.exit("failed=%d errors=%s unknown=%s" % (r["failed"], r["errors"], sorted(set(got) - set(w))[:5]))
n, total = r["ok"], sum(w.values())
bad, classes = [], {}
for name, weight in w.items():
    c = got.get(name, 0)
    if weight == 0:
        if c:
            bad.append("%s (weight 0) got %d" % (name, c))
        continue
    p = weight / total
    e, sd = n * p, math.sqrt(n * p * (1 - p))
    if abs(c - e) > 4.5 * sd + 3:
        bad.append("%s (weight %d) got %d, want %.1f +- %.1f" % (name, weight, c, e, 4.5 * sd + 3))
    cl = classes.setdefault(weight, [0, 0.0])
    cl[0] += c
    cl[1] += p
for weight, (c, p) in sorted(classes.items()):
    e, sd = n * p, math.sqrt(n * p * (1 - p))
    if abs(c - e) > 4.5 * sd:
        bad.append("weight %d class got %d, want %.0f +- %.0f" % (weight, c, e, 4.5 * sd))
if bad:
    sys.exit("; ".join(bad[:8]))
print("%d connections over %d targets; by weight: %s" % (n, len(got), ", ".join(
    "%d: %d (want %.0f)" % (weight, c, n * p) for weight, (c, p) in sorted(classes.items()))))
EOF
}

weights_now() { for t in "${TARGETS[@]}"; do echo "${t#* } $(w_of "$t")"; done; }
w_of() { local ep=${1%% *}; echo "${ep#*@}"; }

test_relative_split() {
	local out msg
	out=$(tally --count 6000 --concurrency 64 --timeout 240)
	assert_eq "$(json_get "$out" ok)" 6000 "connections ($(json_get "$out" errors))"
	msg=$(check_split "$out" "$(weights_now)") || fail "$msg"
	log "$msg"
	assert_eq "$("$LBT_PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["by_backend"]))' \
		"$(tail -n 1 <<<"$out")")" 200 "targets reached"
}

# set-weights with all 200 targets: b1's 50 to weight 0, the rest as they were.
test_set_weights() {
	local args=() t ep w out msg want
	for t in "${TARGETS[@]}"; do
		ep=${t%% *} w=${ep#*@}
		[[ $ep == 10.2.1.2:* ]] && w=0
		args+=("${ep%@*}@$w")
	done
	lbctl set-weights big "${args[@]}" >/dev/null
	want=$(for t in "${TARGETS[@]}"; do
		ep=${t%% *}
		if [[ $ep == 10.2.1.2:* ]]; then echo "${t#* } 0"; else echo "${t#* } $(w_of "$t")"; fi
	done)
	out=$(tally --count 4000 --concurrency 64 --timeout 180)
	assert_eq "$(json_get "$out" ok)" 4000 "connections ($(json_get "$out" errors))"
	msg=$(check_split "$out" "$want") || fail "after set-weights: $msg"
	log "after set-weights: $msg"
}

# A health change on the large group: one target (weight 4) unhealthy gets nothing.
test_unhealthy_target() {
	local out n
	lbctl set-target-status big 10.2.4.2:9047 unhealthy >/dev/null
	out=$(tally --count 2000 --concurrency 64 --timeout 120)
	assert_eq "$(json_get "$out" ok)" 2000 "connections ($(json_get "$out" errors))"
	n=$(json_get "$out" by_backend.b4-9047 0)
	assert_eq "$n" 0 "connections to the unhealthy b4-9047"
	lbctl set-target-status big 10.2.4.2:9047 auto >/dev/null
}

# add-proxy with 10 targets, one without a weight: refused, the message says why.
test_add_proxy_mixed_weights() {
	local args=() i out
	for i in $(seq 1 9); do args+=("10.2.1.2:$((9000 + i))@10"); done
	args+=("10.2.1.2:9010")
	if out=$(lbctl add-proxy mixed --interface "$LB_IF_C" --port 81 "${args[@]}" 2>&1); then
		fail "add-proxy with a missing weight in a group of 10 was accepted: $out"
	fi
	grep -q 'no weight\|missing required key "weight"' <<<"$out" ||
		fail "unexpected message: $out"
	grep -q 'relative shares' <<<"$out" || fail "message does not explain the rule: $out"
	# All relative, no sum to 100 needed: accepted.
	args[9]=10.2.1.2:9010@3
	lbctl add-proxy mixed --interface "$LB_IF_C" --port 81 "${args[@]}" >/dev/null ||
		fail "add-proxy with relative weights refused"
	out=$(tally --count 200 --port 81)
	assert_eq "$(json_get "$out" ok)" 200 "connections to the added proxy"
}

# sets: "key inner-map-id" per entry of lb_gsets (a large group's generations).
sets() {
	bpftool -j map dump pinned "$BPFFS/lbd/$INSTANCE/lb_gsets" | "$LBT_PY" -c '
import json, sys
for e in json.load(sys.stdin):
    k = e.get("key")
    k = int.from_bytes(bytes(int(b, 16) for b in k), "little") if isinstance(k, list) else k
    v = e.get("value", e.get("inner_map_id"))
    v = int.from_bytes(bytes(int(b, 16) for b in v), "little") if isinstance(v, list) else v
    print(k, v)'
}

# Two source routes to the same 10 targets, added in one batch, share one backend set
# (one inner map under two keys), and clients of both are balanced over those 10.
test_same_targets_share_a_set() {
	local before after out i want=""
	before=$(sets)
	"$LBT_PY" - >"$LBT_RUN/twins.json" <<'EOF'
import json
targets = ["10.2.2.2:%d@10" % p for p in range(9001, 9011)]
print(json.dumps([{"source": s, "targets": targets} for s in ("10.1.0.5", "10.1.0.6")]))
EOF
	lbctl add-source-routes big --file "$LBT_RUN/twins.json" >/dev/null
	after=$(sets)
	assert_eq "$(wc -l <<<"$after")" "$(($(wc -l <<<"$before") + 2))" "sets after the batch ($after)"
	assert_eq "$(awk '{ print $2 }' <<<"$after" | sort -u | wc -l)" \
		"$(($(awk '{ print $2 }' <<<"$before" | sort -u | wc -l) + 1))" \
		"inner maps after the batch: two keys, one map ($after)"
	for i in $(seq 9001 9010); do want+="b2-$i 10"$'\n'; done
	for i in 5 6; do
		out=$(tally --count 200 --bind "10.1.0.$i")
		check_split "$out" "$want" || fail "clients of 10.1.0.$i"
	done
	lbctl reload >/dev/null
}

# After the changes above only each large group's current set is left. A reload to 8
# targets (percentages: an inline group) without "mixed" deletes both sets, and only
# those 8 get connections; back to the
# 200, one set again. A new lbd process on the pinned maps keeps that set (same
# inner map: nothing to rebuild when the group did not change) and balances over it.
test_reload_and_restart() {
	local out n before after
	# big's current generation and the 10-target proxy "mixed" added above
	assert_eq "$(sets | wc -l)" 2 "sets in lb_gsets after the changes ($(sets))"
	write_config 10.2.1.2:9000@30 10.2.1.2:9001@10 10.2.2.2:9000@10 10.2.2.2:9001@10 \
		10.2.3.2:9000@10 10.2.3.2:9001@10 10.2.4.2:9000@10 10.2.4.2:9001@10
	lbctl reload >/dev/null
	assert_eq "$(sets | wc -l)" 0 "sets left with an 8-target group ($(sets))"
	out=$(tally --count 400 --concurrency 32 --timeout 60)
	assert_eq "$(json_get "$out" ok)" 400 "connections to the 8 ($(json_get "$out" errors))"
	n=$("$LBT_PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["by_backend"]))' \
		"$(tail -n 1 <<<"$out")")
	assert_eq "$n" 8 "targets reached by the 8-target group ($(json_get "$out" by_backend))"

	write_config
	lbctl reload >/dev/null
	before=$(sets)
	assert_eq "$(wc -l <<<"$before")" 1 "sets after going back to 200 ($before)"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	lbt_start_lbd -c "$CONFIG"
	after=$(sets)
	assert_eq "$after" "$before" "the set after a restart (was: $before)"
	out=$(tally --count 1000 --concurrency 64 --timeout 90)
	assert_eq "$(json_get "$out" ok)" 1000 "connections after the restart ($(json_get "$out" errors))"
	n=$("$LBT_PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["by_backend"]))' \
		"$(tail -n 1 <<<"$out")")
	((n > 150)) || fail "1000 connections reached only $n of the 200 targets"
}

run_test test_relative_split
run_test test_set_weights
run_test test_unhealthy_target
run_test test_same_targets_share_a_set
run_test test_add_proxy_mixed_weights
run_test test_reload_and_restart
run_summary
