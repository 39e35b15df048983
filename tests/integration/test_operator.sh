#!/bin/bash
# Rough edges an operator meets: `lbd --check` against the system it runs on (inside a
# network namespace, as `ip netns exec` runs it), errors of runtime changes that name the
# proxy rather than an index, reloads refused or overridden by settings fixed at start,
# a stats log line only when something changed, and an attached interface deleted (or
# deleted and made again) under lbd.
#
# Usage: test_operator.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=op

lbt_require_env
command -v socat >/dev/null || {
	echo "skip: socat not installed" >&2
	exit 77
}
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 50}]}]}
EOF
# -s: statistics on, so lbd writes its periodic stats line (and a reload of the file,
# which has them off, meets a flag that wins over it).
lbt_start_lbd --teardown-on-exit -s -c "$CONFIG"
LBD_LOG=$LBT_LOGDIR/lbd.log

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
# rpc JSON-LINE: one request, its reply.
rpc() { printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$SOCK"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" --port 80 "$@"; }

# check NS FILE [ARGS...]: `lbd -c FILE --check ARGS` in NS ("-": here); sets CHECK_RC,
# CHECK_OUT (stdout) and CHECK_ERR (stderr).
check() {
	local ns=$1 file=$2
	shift 2
	CHECK_RC=0
	in_ns "$ns" "$LBD" -c "$file" "${@:---check}" >"$LBT_RUN/check.out" 2>"$LBT_RUN/check.err" ||
		CHECK_RC=$?
	CHECK_OUT=$(cat "$LBT_RUN/check.out")
	CHECK_ERR=$(cat "$LBT_RUN/check.err")
}

# has TEXT NEEDLE WHAT: fail unless TEXT contains NEEDLE.
has() {
	[[ $1 == *"$2"* ]] || fail "$3: no \"$2\" in: $1"
}

# ---------------------------------------------------------------------------- --check

# The running configuration, checked where it runs: nothing to say.
test_check_clean() {
	check "$NS_LB" "$CONFIG"
	assert_eq "$CHECK_RC" 0 "exit status ($CHECK_ERR)"
	assert_eq "$CHECK_OUT" "configuration OK: 1 proxy" "stdout"
	assert_eq "$CHECK_ERR" "" "stderr"
}

# An interface that does not exist would make lbd refuse the file: an error, exit 1.
test_check_missing_interface() {
	sed "s/\"$LB_IF_C\"\\]/\"$LB_IF_C\", \"nosuch0\"]/" "$CONFIG" >"$LBT_RUN/noif.json"
	check "$NS_LB" "$LBT_RUN/noif.json"
	assert_eq "$CHECK_RC" 1 "exit status ($CHECK_OUT $CHECK_ERR)"
	has "$CHECK_ERR" "error: proxies[0].listen.interfaces[1]: interface nosuch0 does not exist" \
		"the missing interface"
	[[ $CHECK_OUT != *"configuration OK"* ]] || fail "said OK: $CHECK_OUT"
}

# --check looks at the namespace it runs in: lbc0 exists in the LB's, not in this one;
# --check=file skips the system and accepts the file anywhere.
test_check_in_its_namespace() {
	ip link show "$LB_IF_C" >/dev/null 2>&1 && skip "$LB_IF_C exists in the test's own namespace"
	check - "$CONFIG"
	assert_eq "$CHECK_RC" 1 "exit status outside the LB's namespace ($CHECK_OUT $CHECK_ERR)"
	has "$CHECK_ERR" "interface $LB_IF_C does not exist" "outside the LB's namespace"
	check - "$CONFIG" --check=file
	assert_eq "$CHECK_RC" 0 "exit status of --check=file ($CHECK_ERR)"
	assert_eq "$CHECK_OUT" "configuration OK: 1 proxy" "--check=file stdout"
}

# What lbd accepts but what will not work as meant: warnings, exit 0, one line each.
test_check_warnings() {
	in_ns "$NS_LB" ip link add lbtdum0 type veth peer name lbtdum1
	in_ns "$NS_LB" ip link set lbtdum0 up
	cat >"$LBT_RUN/warn.json" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80, "address": "10.1.0.77"},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.9.9.9", "port": 8080, "weight": 50}]},
  {"name": "side", "listen": {"interfaces": ["$LB_IF_C"], "port": 81, "address": "10.2.1.1"},
   "default-target": {"ip": "10.2.2.2", "port": 8080}},
  {"name": "dark", "listen": {"interfaces": ["lbtdum0"], "port": 82},
   "default-target": {"ip": "10.2.2.2", "port": 8080}},
  {"name": "fnat", "listen": {"interfaces": ["$LB_IF_C"], "port": 83},
   "forwarding": "full-nat", "snat-address": "10.99.0.1",
   "default-target": {"ip": "10.2.2.2", "port": 8080}}]}
EOF
	check "$NS_LB" "$LBT_RUN/warn.json"
	in_ns "$NS_LB" ip link del lbtdum0
	assert_eq "$CHECK_RC" 0 "exit status with warnings only ($CHECK_ERR)"
	assert_eq "$CHECK_OUT" "configuration OK: 4 proxies (5 warnings)" "stdout"
	has "$CHECK_ERR" "warning: proxies[0].listen.address: 10.1.0.77 is not an address of the listening interface" \
		"a listener address on no interface"
	has "$CHECK_ERR" "warning: proxies[1].listen.address: 10.2.1.1 is on $LB_IF_B1, not on the listening interface" \
		"a listener address on another interface"
	has "$CHECK_ERR" "warning: proxies[2].listen.interfaces[0]: lbtdum0 has no address; its listener starts when one is added" \
		"an interface without an address"
	has "$CHECK_ERR" "warning: proxies[0].default-target[1]: no route to 10.9.9.9" \
		"a target without a route"
	has "$CHECK_ERR" "warning: proxies[3].snat-address: 10.99.0.1 is not an address of this host" \
		"a full-nat source address elsewhere"
	assert_eq "$(grep -c '^warning: ' <<<"$CHECK_ERR")" 5 "warning lines ($CHECK_ERR)"
}

# --check beside the running lbd of the same instance: no lock, nothing of it touched.
test_check_beside_the_running_lbd() {
	local before
	before=$(lbctl --json get-config)
	check "$NS_LB" "$CONFIG" --bpffs "$BPFFS" --instance "$INSTANCE" --socket "$SOCK" --check
	assert_eq "$CHECK_RC" 0 "exit status beside the running lbd ($CHECK_ERR)"
	kill -0 "$LBD_PID" || fail "lbd exited"
	assert_eq "$(lbctl --json get-config)" "$before" "the running lbd's configuration"
}

# ---------------------------------------------------------------------------- runtime errors

# Errors of changes made at run time name the proxy, never proxies[N]; data says which.
test_runtime_errors_name_the_proxy() {
	local before out
	before=$(lbctl --json get-config)
	out=$(rpc '{"jsonrpc":"2.0","id":1,"method":"add-proxy","params":{"proxy":{"name":"api2","listen":{"interfaces":["'"$LB_IF_C"'"],"port":80},"default-target":{"ip":"10.2.2.2","port":8080}}}}')
	has "$out" '"message":"proxy \"api2\": listen: conflicts with proxy \"web\" on lbc0 port 80/tcp"' \
		"a listener conflict"
	has "$out" '"data":{"proxy":"api2","path":"listen"}' "the conflict's data"
	out=$(lbctl add-proxy api3 --interface "$LB_IF_C" --port 81 10.2.1.2:8080@50 10.2.1.2:8080@50 2>&1) &&
		fail "a proxy listing a target twice was added: $out"
	has "$out" 'proxy "api3": default-target[1]: 10.2.1.2:8080 is already listed as default-target[0]' \
		"a target listed twice (lbctl)"
	out=$(lbctl attach-interfaces nosuch0 2>&1) && fail "nosuch0 was attached: $out"
	has "$out" 'proxy "web": listen.interfaces[1]: interface nosuch0 does not exist' \
		"an interface that does not exist"
	lbctl add-proxy dns --interface "$LB_IF_C" --port 53 --protocol udp 10.2.1.2:53 >/dev/null
	out=$(lbctl add-sni-route dns api.example.com 10.2.1.2:8443 2>&1) &&
		fail "an SNI route was added to a UDP proxy: $out"
	has "$out" 'proxy "dns": listen.protocol: a proxy with sni-routes reads the TLS ClientHello' \
		"an SNI route on a UDP proxy"
	lbctl remove-proxy dns >/dev/null
	assert_eq "$(lbctl --json get-config)" "$before" "configuration after the refused changes"
}

# ---------------------------------------------------------------------------- reload

# A reload that changes a setting fixed at start is refused, naming it and saying so.
test_reload_refuses_restart_settings() {
	local before setting value out
	before=$(lbctl --json get-config)
	for setting in max-connections:200000 sni-splice:'"copy"' xdp-mode:'"native"'; do
		value=${setting#*:}
		setting=${setting%%:*}
		"$LBT_PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); c.setdefault("settings", {})[sys.argv[2]]=json.loads(sys.argv[3]); json.dump(c, open(sys.argv[4], "w"))' \
			"$CONFIG" "$setting" "$value" "$LBT_RUN/fixed.json"
		cp "$CONFIG" "$LBT_RUN/lb.json.orig"
		cp "$LBT_RUN/fixed.json" "$CONFIG"
		out=$(lbctl reload 2>&1) && {
			cp "$LBT_RUN/lb.json.orig" "$CONFIG"
			fail "a reload changing $setting was accepted: $out"
		}
		cp "$LBT_RUN/lb.json.orig" "$CONFIG"
		has "$out" "settings.$setting: changing it" "the refusal of $setting"
		has "$out" "needs a restart" "the refusal of $setting"
	done
	assert_eq "$(lbctl --json get-config)" "$before" "configuration after the refused reloads"
}

# A reload reads the file on lbd's loop: a FIFO put there is refused, not waited on (lbd
# would stop answering, checking and sweeping until someone wrote to it).
test_reload_refuses_a_fifo() {
	local rc=0 out
	mv "$CONFIG" "$LBT_RUN/lb.json.orig"
	mkfifo "$CONFIG"
	out=$(lbctl --timeout 5 reload 2>&1) || rc=$?
	# Without the check lbd is blocked in the read: writing nothing ends it.
	timeout 2 bash -c ": >'$CONFIG'" 2>/dev/null || true
	rm -f "$CONFIG"
	mv "$LBT_RUN/lb.json.orig" "$CONFIG"
	assert_eq "$rc" 1 "reload of a FIFO ($out)"
	has "$out" "not a regular file" "the refusal"
	lbctl status >/dev/null || fail "lbd does not answer after the refused reload"
	lbctl reload >/dev/null || fail "reload of the file again"
}

# --socket naming a file that is not a socket (here a copy of the configuration): lbd
# refuses to start and leaves the file alone; only a socket nobody answers on is replaced.
test_socket_path_not_a_socket() {
	local victim=$LBT_RUN/victim.json rc=0 err
	sed "s/\"$LB_IF_C\"/\"lbb1\"/; s/\"port\": 80}/\"port\": 9999}/" "$CONFIG" >"$victim"
	cp "$victim" "$LBT_RUN/victim.copy"
	err=$(in_ns "$NS_LB" timeout 10 "$LBD" --bpffs "$BPFFS" --instance op2 --teardown-on-exit \
		--socket "$victim" -c "$LBT_RUN/victim.copy" 2>&1) || rc=$?
	assert_eq "$rc" 1 "lbd with --socket naming a regular file ($err)"
	has "$err" "exists and is not a socket" "the refusal"
	cmp -s "$victim" "$LBT_RUN/victim.copy" || fail "the file at --socket changed: $(ls -l "$victim")"
	assert_eq "$(json_get "$(tally --count 10)" ok)" 10 "connections through the running lbd"
}

# --bpffs naming a folder that holds files and no BPF filesystem (a typo): lbd refuses
# rather than mounting one over them.
test_bpffs_over_files_refused() {
	local dir=$LBT_RUN/notbpf rc=0 err
	mkdir -p "$dir"
	echo keep >"$dir/data.txt"
	sed "s/\"$LB_IF_C\"/\"lbb1\"/; s/\"port\": 80}/\"port\": 9998}/" "$CONFIG" >"$LBT_RUN/op3.json"
	err=$(in_ns "$NS_LB" timeout 10 "$LBD" --bpffs "$dir" --instance op3 --teardown-on-exit \
		--socket "$LBT_RUN/op3.sock" -c "$LBT_RUN/op3.json" 2>&1) || rc=$?
	assert_eq "$rc" 1 "lbd with --bpffs over a folder of files ($err)"
	has "$err" "holds files: lbd mounts one only on an empty folder" "the refusal"
	assert_eq "$(cat "$dir/data.txt")" keep "the folder's file"
}

# --bpffs naming a folder not made yet inside a bpffs: lbd makes it there and mounts
# nothing over it (under `ip netns exec` such a mount is lbd's alone, so a take-over or a
# restart would not find the pins).
test_bpffs_subfolder_not_mounted() {
	local dir=$BPFFS/sub/dir pid log=$LBT_LOGDIR/lbd-op4.log
	sed "s/\"$LB_IF_C\"/\"lbb1\"/; s/\"port\": 80}/\"port\": 9997}/" "$CONFIG" >"$LBT_RUN/op4.json"
	spawn "$NS_LB" lbd-op4 "$LBD" --bpffs "$dir" --instance op4 --teardown-on-exit \
		--socket "$LBT_RUN/op4.sock" -c "$LBT_RUN/op4.json"
	pid=$LBT_LAST_PID
	wait_for "grep -q 'ready:' '$log'" 20 || fail "lbd did not start: $(tail -n 5 "$log")"
	[[ -e $dir/lbd/op4/lb_ct ]] || fail "pins not visible at $dir: $(ls -R "$BPFFS/sub" 2>&1 | head)"
	grep -q "mounted a BPF filesystem" "$log" && fail "lbd mounted a bpffs inside one: $(grep mounted "$log")"
	kill -TERM "$pid"
	wait_for "! kill -0 $pid" 10 || fail "lbd did not stop"
}

# A flag that takes one value, given twice: refused (the last one won, silently).
test_flag_given_twice() {
	local rc=0 err
	err=$("$LBD" -i "$LB_IF_C" -p 80 -p 81 -t 10.2.1.2:8080 --check=file 2>&1) || rc=$?
	assert_eq "$rc" 2 "lbd -p 80 -p 81 ($err)"
	has "$err" "-p/--port given twice; give it once" "the refusal"
	"$LBD" -i "$LB_IF_C" -i lbb1 -t 10.2.1.2:8080@50 -t 10.2.2.2:8080@50 -s -s --check=file \
		>/dev/null || fail "repeated -i, -t and -s were refused"
}

# A flag given at start (-s here) keeps winning over the file: the reload says so.
test_reload_says_which_flag_wins() {
	lbctl reload >/dev/null || fail "reload"
	wait_for "grep -q 'reload: settings.stats-enabled: the file asks for false, but -s given at start keeps statistics on' '$LBD_LOG'" 5 ||
		fail "no word of -s winning over the file: $(tail -n 5 "$LBD_LOG")"
	assert_eq "$(json_get "$(lbctl --json status)" stats-enabled)" true "stats after the reload"
}

# ---------------------------------------------------------------------------- stats line

# The stats line every 10 s is written only when something changed: none while idle,
# one after traffic.
test_stats_line_only_when_changed() {
	local n0 n1 out line
	wait_for "grep -q 'stats web:' '$LBD_LOG'" 15 || fail "no stats line at all: $(tail -n 5 "$LBD_LOG")"
	n0=$(grep -c 'stats web:' "$LBD_LOG")
	sleep 21 # two periods, idle
	n1=$(grep -c 'stats web:' "$LBD_LOG")
	assert_eq "$n1" "$n0" "stats lines written while idle ($(grep 'stats web:' "$LBD_LOG" | tail -n 3))"
	out=$(tally --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "connections ($out)"
	wait_for "(( \$(grep -c 'stats web:' '$LBD_LOG') > n1 ))" 15 ||
		fail "no stats line after traffic: $(tail -n 5 "$LBD_LOG")"
	line=$(grep 'stats web:' "$LBD_LOG" | tail -n 1)
	[[ $line =~ stats\ web:\ new\ ([0-9]+) ]] && ((BASH_REMATCH[1] >= 20)) ||
		fail "the new line does not count the 20 connections: $line"
}

# ---------------------------------------------------------------------------- vanished interfaces

# A second client-facing link, as a container runtime or an operator makes and removes
# them: $EX_IF (10.3.0.1/24) in the LB's namespace, its peer eth0 (10.3.0.2, default via
# 10.3.0.1) in $NS_C2. Made again after a deletion, it has the same name and addresses and
# another ifindex. topo_down removes $NS_C2 with the others (it carries the prefix).
NS_C2=$LBT_PREFIX-c2
EX_IF=exv0
EX_VIP=10.3.0.1
ex_up() {
	[[ -e /run/netns/$NS_C2 ]] || lbt_ns_add "$NS_C2"
	ip -n "$NS_LB" link del "$EX_IF" 2>/dev/null || true
	ip -n "$NS_LB" link add "$EX_IF" type veth peer name "$C_IF" netns "$NS_C2"
	ip -n "$NS_LB" addr add "$EX_VIP/24" dev "$EX_IF"
	ip -n "$NS_LB" link set "$EX_IF" up
	ip -n "$NS_C2" addr add 10.3.0.2/24 dev "$C_IF"
	ip -n "$NS_C2" link set "$C_IF" up
	ip -n "$NS_C2" route add default via "$EX_VIP"
	lbt_veth_tune "$NS_C2" "$C_IF" gro
	lbt_veth_tune "$NS_LB" "$EX_IF"
}
ex_del() { ip -n "$NS_LB" link del "$EX_IF"; }
ex_ifindex() { ip -n "$NS_LB" -o link show dev "$EX_IF" | cut -d: -f1; }
ex_tally() { lbtraffic "$NS_C2" tally --host "$EX_VIP" --port 80 "$@"; }

# iface_field NAME MEMBER: MEMBER of interface NAME in `lbctl status` ("" when not listed).
iface_field() {
	lbctl --json status | "$LBT_PY" -c 'import json, sys
m = [i for i in json.load(sys.stdin)["interfaces"] if i["name"] == sys.argv[1]]
print(m[0].get(sys.argv[2], "") if m else "")' "$1" "$2"
}

# ex_attached_again IFINDEX: lbd attached its programs to $EX_IF under IFINDEX by itself,
# and connections to $EX_VIP are balanced again.
ex_attached_again() {
	local idx=$1 out
	wait_for '[[ $(iface_field "$EX_IF" ifindex) == "$idx" ]]' 10 ||
		fail "lbd did not attach $EX_IF again (ifindex $idx): $(lbctl status)"
	assert_eq "$(iface_field "$EX_IF" state)" attached "state of $EX_IF"
	in_ns "$NS_LB" tc filter show dev "$EX_IF" ingress | grep -q lb_tc_ingress ||
		fail "no tc ingress filter on $EX_IF: $(in_ns "$NS_LB" tc filter show dev "$EX_IF" ingress)"
	out=$(ex_tally --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "connections through $EX_IF after it came back ($out)"
	[[ -n $(json_get "$out" by_backend.b1) && -n $(json_get "$out" by_backend.b2) ]] ||
		fail "connections through $EX_IF not spread over both backends: $out"
}

# An attached interface deleted under lbd blocks no change: other proxies come and go,
# hooks move, traffic on the other interface flows; a detach forgets it. A name that does
# not exist stays an error, for a new proxy too.
test_vanished_interface_blocks_nothing() {
	local before out
	before=$(lbctl --json get-config)
	ex_up
	lbctl attach-interfaces "$EX_IF" --proxy web >/dev/null
	out=$(ex_tally --count 10)
	assert_eq "$(json_get "$out" ok)" 10 "connections through $EX_IF ($out)"
	ex_del
	wait_for '[[ $(iface_field "$EX_IF" state) == gone ]]' 10 ||
		fail "status does not show $EX_IF as gone: $(lbctl status)"
	out=$(lbctl add-proxy p6 --interface "$LB_IF_C" --port 9010 10.2.1.2:8080 2>&1) ||
		fail "add-proxy refused: $out"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 9010 --count 10)
	assert_eq "$(json_get "$out" by_backend.b1)" 10 "connections to the new proxy ($out)"
	out=$(lbctl remove-proxy p6 2>&1) || fail "remove-proxy refused: $out"
	out=$(lbctl set-ingress tc 2>&1) || fail "set-ingress tc refused: $out"
	out=$(lbctl set-ingress auto 2>&1) || fail "set-ingress auto refused: $out"
	out=$(lbctl add-proxy p7 --interface "$EX_IF" --port 9011 10.2.1.2:8080 2>&1) &&
		fail "a new proxy on the vanished $EX_IF was added: $out"
	has "$out" "interface $EX_IF does not exist" "a new proxy on the vanished interface"
	out=$(lbctl attach-interfaces nosuch0 --proxy web 2>&1) && fail "nosuch0 was attached: $out"
	has "$out" "interface nosuch0 does not exist" "an interface that does not exist"
	out=$(tally --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "connections through $LB_IF_C ($out)"
	out=$(lbctl detach-interfaces "$EX_IF" --proxy web 2>&1) || fail "detach refused: $out"
	assert_eq "$(iface_field "$EX_IF" state)" "" "$EX_IF in status after the detach"
	assert_eq "$(lbctl --json get-config)" "$before" "configuration after the detach"
}

# A reload of a file that no longer names the deleted interface: accepted at once, before
# lbd's watcher has seen the deletion.
test_vanished_interface_reload() {
	local out
	ex_up
	lbctl attach-interfaces "$EX_IF" --proxy web >/dev/null
	ex_del
	out=$(lbctl reload 2>&1) || fail "reload refused: $out"
	assert_eq "$(iface_field "$EX_IF" state)" "" "$EX_IF in status after the reload"
	out=$(tally --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "connections through $LB_IF_C ($out)"
}

# An interface deleted and made again under its name (a veth restarted) is balanced again
# without an RPC: once after lbd saw it gone, once made again at once.
test_recreated_interface_balanced_again() {
	local old idx
	ex_up
	lbctl attach-interfaces "$EX_IF" --proxy web >/dev/null
	old=$(ex_ifindex)
	ex_del
	wait_for '[[ $(iface_field "$EX_IF" state) == gone ]]' 10 ||
		fail "status does not show $EX_IF as gone: $(lbctl status)"
	ex_up
	idx=$(ex_ifindex)
	[[ $idx != "$old" ]] || fail "$EX_IF has its old ifindex $old again"
	ex_attached_again "$idx"
	ex_del
	ex_up
	ex_attached_again "$(ex_ifindex)"
	lbctl detach-interfaces "$EX_IF" --proxy web >/dev/null
	ex_del
}

run_test test_check_clean
run_test test_check_missing_interface
run_test test_check_in_its_namespace
run_test test_check_warnings
run_test test_check_beside_the_running_lbd
run_test test_runtime_errors_name_the_proxy
run_test test_reload_refuses_restart_settings
run_test test_reload_says_which_flag_wins
run_test test_reload_refuses_a_fifo
run_test test_socket_path_not_a_socket
run_test test_bpffs_over_files_refused
run_test test_bpffs_subfolder_not_mounted
run_test test_flag_given_twice
run_test test_stats_line_only_when_changed
run_test test_vanished_interface_blocks_nothing
run_test test_vanished_interface_reload
run_test test_recreated_interface_balanced_again
run_summary
