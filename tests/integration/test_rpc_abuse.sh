#!/bin/bash
# Hostile clients against lbd's JSON-RPC socket (issue 9 item 6): thousands of connections,
# half-open lines, oversize lines, deep nesting, malformed input, clients that never read,
# an unauthorised peer. Throughout, a well-behaved client (the probe) calls status/version
# on its own connection and must get every answer; lbd must never exit and its VmRSS
# stays under a generous bound. The hostile clients live in rpc_abuse.py.
#
# Usage: test_rpc_abuse.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=abuse
ABUSE=$LBT_DIR/rpc_abuse.py
RSS_LIMIT_KB=${RSS_LIMIT_KB:-262144} # 256 MiB: generous; lbd idles far below

# Under AddressSanitizer (scripts/test-sanitizers.sh sets LBD_SANITIZED=1; an lbd linked
# with ASan is also recognised) freed blocks wait in ASan's quarantine, 256 MiB by default:
# after the 1 MiB partial lines go, lbd's RSS stayed at 220 MB and peaked at 310 MB. With
# a 16 MiB quarantine freed memory goes back as in the normal build and the same bound
# holds (peak 145 MB, shadow memory included), so the bound is not widened.
if [[ ${LBD_SANITIZED:-} == 1 ]] || grep -qa __asan_init "$LBD"; then
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
	log "lbd runs under ASan: ASAN_OPTIONS=$ASAN_OPTIONS, RSS bound unchanged"
fi

lbt_require_env
command -v setpriv >/dev/null || {
	echo "skip: setpriv not installed" >&2
	exit 77
}
topo_up 1
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080}]}]}
EOF

LBD_LOG=$LBT_LOGDIR/lbd.log
lbt_start_lbd -c "$CONFIG"

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
abuse() { "$LBT_PY" "$ABUSE" "$@"; }

# The probe: one connection, status/version round trips until $PROBE.stop exists.
PROBE=$LBT_RUN/probe.json
spawn - probe "$LBT_PY" "$ABUSE" probe "$SOCK" "$LBD_PID" "$PROBE" "$PROBE.stop"
PROBE_PID=$LBT_LAST_PID
wait_for "[[ -s '$PROBE' ]]" 10 || fail "the probe did not start: $(cat "$LBT_LOGDIR/probe.log")"
CONFIG_BEFORE=$(lbctl --json get-config)

# phase NAME: label the probe's following round trips (reported per phase).
phase() { echo "$1" >"$PROBE.phase"; }
# healthy: lbd runs, the probe has every answer so far, RSS under the bound.
healthy() {
	local p
	kill -0 "$LBD_PID" 2>/dev/null || fail "lbd exited: $(tail -n 5 "$LBD_LOG")"
	p=$(cat "$PROBE")
	[[ $(json_get "$p" errors) == '[]' ]] || fail "the probe lost answers: $p"
	(($(json_get "$p" rss_max_kb) < RSS_LIMIT_KB)) || fail "lbd VmRSS over the bound: $p"
	lbctl version >/dev/null || fail "lbctl version failed"
}
rss_now() { awk '/^VmRSS/ {print $2}' "/proc/$LBD_PID/status"; }

# ---------------------------------------------------------------------------- tests

# 3000 concurrent connections: lbd keeps 1024 clients (the probe is one of them), closes
# every connection over the cap right after accepting it, and answers the ones it keeps.
test_connection_storm() {
	local out
	phase storm
	out=$(abuse storm "$SOCK" 3000) || fail "storm: $out"
	log "storm: $out (lbd VmRSS now $(rss_now) kB)"
	grep -q "more than 1024 clients; refusing a new one" "$LBD_LOG" ||
		fail "lbd did not log the refused clients"
	phase idle
	wait_for "lbctl version >/dev/null" 10 || fail "no new client after the storm"
	healthy
}

# 1100 connections that send nothing hold every slot for 11 s: a new client is still
# answered (lbd closes the connection silent longest, after 10 s, to make room).
test_silent_clients_make_room() {
	local out
	phase silent
	out=$(abuse silent "$SOCK" 1100 11) || fail "silent: $out"
	log "silent: $out"
	grep -q "closing the one silent longest" "$LBD_LOG" || fail "lbd did not log the eviction"
	phase idle
	healthy
}

# 500 connections each holding a partial line for 5 s: others are served meanwhile, and
# each partial line is answered once completed.
test_half_open_clients() {
	local out
	phase half-open
	out=$(abuse halfopen "$SOCK" 500 5) || fail "half-open: $out"
	log "half-open: $out (lbd VmRSS now $(rss_now) kB)"
	phase idle
	healthy
}

# 100 connections each holding just under 1 MiB of an unfinished line: lbd buffers each
# (about 1 MiB of RSS a client: the bound is 1024 clients x 1 MiB), gives it back when they
# go, and answers every line once completed.
test_half_open_large_partial_lines() {
	local out
	phase half-open-1MiB
	out=$(abuse bigpartial "$SOCK" 100 "$LBD_PID") || fail "bigpartial: $out"
	log "half-open 1 MiB: $out"
	phase idle
	healthy
}

# Lines over 1 MiB: -32005 with data.limit, skipped, the connection stays usable.
test_oversize_lines() {
	local out
	phase oversize
	out=$(abuse oversize "$SOCK") || fail "oversize: $out"
	log "oversize: $out"
	phase idle
	healthy
}

# 100000-deep arrays and objects inside 1 MiB: -32700 naming jansson's depth limit.
test_deep_nesting() {
	local out
	phase deep
	out=$(abuse deep "$SOCK") || fail "deep: $out"
	log "deep: $out"
	phase idle
	healthy
}

# Malformed lines, each answered with its JSON-RPC code on a connection that stays usable.
test_malformed_input() {
	local out
	phase malformed
	out=$(abuse badinput "$SOCK") || fail "badinput: $out"
	log "malformed: $out"
	phase idle
	healthy
}

# A stream of blank lines (ignored by design) on one connection: answered in the end, and
# the probe keeps its answers (within lbctl's 10 s). The probe's figures for this phase
# show the cost (see docs/hardening.md: each line moves the rest of the buffer).
test_blank_line_flood() {
	local out
	phase blank-lines
	out=$(abuse newlines "$SOCK" 16) || fail "newlines: $out"
	log "blank lines: $out"
	phase idle
	healthy
}

# A health --follow subscriber and a pipeliner that never read: the pipeliner is cut off
# at 4 MiB queued, the probe keeps its answers.
test_clients_that_never_read() {
	local out
	phase never-read
	out=$(abuse stuck "$SOCK" 8) || fail "stuck: $out"
	log "never-read: $out"
	grep -q "does not read its replies" "$LBD_LOG" || fail "no disconnect logged for the pipeliner"
	phase idle
	healthy
}

# Clients that send requests and are gone before the replies (closed, or reset): lbd's
# writes fail with EPIPE/ECONNRESET and it carries on (SIGPIPE used to kill it).
test_clients_gone_before_replies() {
	local out
	phase vanish
	out=$(abuse vanish "$SOCK" 100) || fail "vanish: $out"
	sleep 1
	phase idle
	healthy
}

# A peer that is neither root nor in the socket group (socket widened to 0666): every
# read-only method answers, all 20 mutating methods get -32003, nothing changes.
test_unauthorised_peer_every_method() {
	local out after
	phase unauthorised
	chmod 0666 "$SOCK"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$LBT_PY" "$ABUSE" unauth "$SOCK") || {
		chmod 0660 "$SOCK"
		fail "unauth: $out"
	}
	chmod 0660 "$SOCK"
	log "unauthorised: $out"
	after=$(lbctl --json get-config)
	assert_eq "$after" "$CONFIG_BEFORE" "get-config after the unauthorised peer"
	phase idle
	healthy
}

# A member of the socket's group through a supplementary group may change things, however
# many other groups it has: lbd asks the kernel (SO_PEERGROUPS). It read /proc/PID/status,
# whose Groups line is sorted and was read in 4 KiB pieces: a group listed after the first
# 4 KiB (here the socket's, nogroup, after 1,200 lower gids) was missed. A second lbd with
# --socket-group nogroup, on an interface of its own, is the one asked.
test_group_member_with_many_groups() {
	local sock=$LBT_RUN/grp.sock cfg=$LBT_RUN/grp.json out
	phase many-groups
	getent group nogroup >/dev/null || skip "no group nogroup"
	# (veth: this kernel has no dummy interfaces)
	in_ns "$NS_LB" ip link add lbtgrp0 type veth peer name lbtgrp1
	in_ns "$NS_LB" ip link set lbtgrp0 up
	in_ns "$NS_LB" ip addr add 10.9.9.1/32 dev lbtgrp0
	cat >"$cfg" <<EOF
{"proxies": [{"name": "grp", "listen": {"interfaces": ["lbtgrp0"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080}]}]}
EOF
	spawn "$NS_LB" lbd-grp "$LBD" --bpffs "$BPFFS" --instance grp --socket "$sock" \
		--socket-group nogroup --teardown-on-exit -c "$cfg"
	wait_for "[[ -S $sock ]]" 20 ||
		fail "the second lbd did not start: $(tail -n 3 "$LBT_LOGDIR/lbd-grp.log")"
	out=$(setpriv --reuid=65534 --regid=12345 --groups="$(seq -s, 60000 61199),65534" \
		"$LBCTL" -s "$sock" --json disable-stats 2>&1) ||
		fail "a member of the socket's group was refused: $out"
	assert_eq "$(json_get "$out" enabled)" false "disable-stats by a group member ($out)"
	out=$(setpriv --reuid=65534 --regid=12345 --groups="$(seq -s, 60000 61199)" \
		"$LBCTL" -s "$sock" --json disable-stats 2>&1) && fail "a non-member could mutate: $out"
	stop_proc lbd-grp
	phase idle
	healthy
}

# The probe's totals: every call answered (within lbctl's 10 s timeout), lbd alive, RSS.
test_probe_summary() {
	local p
	touch "$PROBE.stop"
	wait_for "! kill -0 $PROBE_PID" 15 || fail "the probe did not stop"
	p=$(cat "$PROBE")
	log "probe: $p"
	[[ $(json_get "$p" lbd_alive) == true ]] || fail "lbd exited: $p"
	[[ $(json_get "$p" errors) == '[]' ]] || fail "the probe lost answers: $p"
	assert_eq "$(json_get "$p" answered)" "$(json_get "$p" calls)" "probe calls answered"
	(($(json_get "$p" calls) > 100)) || fail "the probe made too few calls: $p"
	(($(json_get "$p" rss_max_kb) < RSS_LIMIT_KB)) || fail "lbd VmRSS over the bound: $p"
	kill -0 "$LBD_PID" || fail "lbd exited"
}

# RPC_ABUSE_ONLY=PATTERN runs the matching cases only (the probe summary always runs).
for t in test_connection_storm test_silent_clients_make_room test_half_open_clients \
	test_half_open_large_partial_lines test_oversize_lines test_deep_nesting \
	test_malformed_input test_blank_line_flood test_clients_that_never_read \
	test_clients_gone_before_replies test_unauthorised_peer_every_method \
	test_group_member_with_many_groups; do
	# shellcheck disable=SC2053
	[[ $t == ${RPC_ABUSE_ONLY:-*} ]] && run_test "$t"
done
run_test test_probe_summary
run_summary
