#!/bin/bash
# One full lbd scenario with lbd under valgrind memcheck (scripts/test-valgrind.sh runs it):
# the integration harness's namespaces, real TCP connections and TLS ClientHellos through
# the load balancer, health checks, the control plane through lbctl (every family of
# methods: changes, source routes, SNI routes, weights, drain, stats --follow, health
# --follow, metrics, connections), a reload by SIGHUP and one by lbctl, then SIGTERM.
# Passes when every step worked and valgrind's verdict on lbd is clean: no invalid access,
# no use of uninitialised values, no definitely or indirectly lost block (its exit status
# is then lbd's own, 0). A few lbctl commands run under valgrind too.
#
# Usage: scenario.sh PATH/TO/lbd PATH/TO/lbctl SUPPRESSIONS BATCH-SHIM OUT-DIR
#        (BATCH-SHIM: bpf_batch_defined.c built as a shared object, preloaded into lbd)
#        (OUT-DIR receives valgrind's logs: lbd.vg.log, lbctl-*.vg.log)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
SUPP=$(realpath "${3:?suppression file}")
SHIM=$(realpath "${4:?bpf_batch_defined.so}")
OUT=${5:?output directory}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
INSTANCE=vg
VG_EXIT=99 # valgrind's status when it found an error (lbd never exits with it)
# Error kinds: invalid reads/writes/frees, uninitialised values (with their origin),
# syscall parameters, and leaks of the kinds "definite" and "indirect" (a block still
# reachable at exit is not an error: libraries keep such blocks on purpose).
# shellcheck disable=SC2054 # (the commas are valgrind's list syntax)
VG=(valgrind --tool=memcheck --error-exitcode="$VG_EXIT" --leak-check=full
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--track-origins=yes --track-fds=yes --num-callers=40 --suppressions="$SUPP" -s)

lbt_require_env
command -v valgrind >/dev/null || fail "valgrind is not installed"
command -v openssl >/dev/null || fail "openssl is not installed (TLS backends)"
topo_up 3
bpffs_up
start_backends 8080
TLS=$LBT_DIR/tls_tool.py
for i in 1 2; do
	"$LBT_PY" "$TLS" cert "$LBT_RUN" "b$i" >/dev/null
	spawn "${NS_BACKENDS[i - 1]}" "tls-b$i" "$LBT_PY" "$TLS" serve --name "b$i" \
		--bind "10.2.$i.2" --port 8443 --cert "$LBT_RUN/b$i.pem" --ready-file "$LBT_RUN/tls-b$i.ready"
done
for f in tls-b1 tls-b2; do
	wait_for "[[ -e $LBT_RUN/$f.ready ]]" 10 || fail "$f did not start"
done

SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
# write_config [EXTRA-TARGET]: web balances b1/b2 (50/50, or b1/b2/b3 with EXTRA) with
# HTTP health checks; tls routes server names in lbd's acceptor (splice copy).
write_config() {
	local web='{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 50}'
	[[ -z ${1:-} ]] || web='{"ip": "10.2.1.2", "port": 8080, "weight": 40},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 40},
                     {"ip": "10.2.3.2", "port": 8080, "weight": 20}'
	cat >"$CONFIG.tmp" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [$web]},
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8443},
   "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.2.2", "port": 8443}},
                  {"sni-hostname": "*.wild.example.com",
                   "targets": [{"ip": "10.2.1.2", "port": 8443, "weight": 50},
                               {"ip": "10.2.2.2", "port": 8443, "weight": 50}]}]}],
 "settings": {"health-check-enabled": true,
              "health-check-defaults": {"type": "http", "path": "/", "interval-ms": 2000,
                                        "timeout-ms": 1500, "healthy-threshold": 1,
                                        "unhealthy-threshold": 2},
              "drain-check-interval-ms": 200, "sni-hello-timeout-ms": 5000,
              "sni-splice": "copy"}}
EOF
	mv "$CONFIG.tmp" "$CONFIG"
}
write_config

spawn "$NS_LB" lbd env LD_PRELOAD="$SHIM" "${VG[@]}" --log-file="$OUT/lbd.vg.log" "$LBD" --bpffs "$BPFFS" \
	--instance "$INSTANCE" --socket "$SOCK" --teardown-on-exit -c "$CONFIG"
LBD_PID=$LBT_LAST_PID
LBD_LOG=$LBT_LOGDIR/lbd.log
lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 1; in_ns $NS_LB $LBD --bpffs $BPFFS --instance $INSTANCE --teardown >/dev/null 2>&1"
t0=$SECONDS
wait_for "grep -q 'ready:' '$LBD_LOG' || ! kill -0 $LBD_PID" 180 || true
grep -q 'ready:' "$LBD_LOG" || fail "lbd did not start: $(tail -n 5 "$LBD_LOG") $(tail -n 20 "$OUT/lbd.vg.log")"
log "lbd under valgrind ready after $((SECONDS - t0)) s"

# lbd answers slowly under valgrind: lbctl waits up to 60 s.
lbctl() { "$LBCTL" -s "$SOCK" --timeout 60 "$@"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" --req-timeout 20 --concurrency 8 "$@"; }
tls() { in_ns "$NS_C" "$LBT_PY" "$TLS" "$@"; }

# ---------------------------------------------------------------------------- scenario

# Connections through the datapath reach both backends; health checks mark them healthy.
test_traffic() {
	local out
	wait_for "[[ \$(lbctl --json health web | grep -o '\"healthy\"' | wc -l) -ge 2 ]]" 60 ||
		fail "targets not healthy: $(lbctl health web)"
	out=$(tally --port 80 --count 60)
	assert_eq "$(json_get "$out" ok)" 60 "connections through the LB ($out)"
	(($(json_get "$out" by_backend.b1 0) > 0 && $(json_get "$out" by_backend.b2 0) > 0)) ||
		fail "not spread over b1 and b2: $out"
}

# TLS ClientHellos are routed by server name in lbd's acceptor, then spliced.
test_sni() {
	local out
	out=$(tls tally --host "$VIP" --port 443 --sni api.example.com --count 10)
	assert_eq "$(json_get "$out" by_backend.b2 0)" 10 "api.example.com ($out)"
	out=$(tls tally --host "$VIP" --port 443 --sni x.wild.example.com --count 10)
	assert_eq "$(json_get "$out" ok)" 10 "x.wild.example.com ($out)"
	out=$(tls tally --host "$VIP" --port 443 --no-sni --count 5)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 5 "no SNI: default target ($out)"
	lbctl add-sni-route tls new.example.com 10.2.2.2:8443 >/dev/null || fail "add-sni-route"
	out=$(lbctl list-sni-routes tls)
	[[ $out == *new.example.com* ]] || fail "list-sni-routes: ${out:0:300}"
	out=$(tls tally --host "$VIP" --port 443 --sni new.example.com --count 5)
	assert_eq "$(json_get "$out" by_backend.b2 0)" 5 "new.example.com ($out)"
	lbctl remove-sni-route tls new.example.com >/dev/null || fail "remove-sni-route"
}

# Read-only methods, human and JSON, and errors that change nothing.
test_read_methods() {
	local m out
	for m in status version get-config list-proxies list-source-routes connection-count \
		connection-stats connections health drain-status metrics stats list-sni-routes; do
		out=$(lbctl "$m") || fail "lbctl $m failed: $out"
		out=$(lbctl --json "$m") || fail "lbctl --json $m failed: $out"
	done
	lbctl add-proxy bad --interface nosuchif0 --port 82 10.2.1.2:8080 >/dev/null 2>&1 &&
		fail "add-proxy on a missing interface was accepted"
	lbctl set-weights web 10.2.1.2:8080@70 >/dev/null 2>&1 && fail "set-weights not summing to 100"
	lbctl call no-such-method >/dev/null 2>&1 && fail "an unknown method answered"
	return 0
}

# Runtime changes under traffic: proxies, source routes (one and many), weights, ingress.
test_changes() {
	local out routes
	lbctl add-proxy api --interface "$LB_IF_C" --port 81 10.2.3.2:8080 >/dev/null || fail "add-proxy"
	out=$(tally --port 81 --count 10)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 10 "new proxy api ($out)"
	lbctl add-source-route web 10.1.0.0/24 10.2.3.2:8080 >/dev/null || fail "add-source-route"
	out=$(tally --port 80 --count 10)
	assert_eq "$(json_get "$out" by_backend.b3 0)" 10 "source route ($out)"
	lbctl remove-source-route web 10.1.0.0/24 >/dev/null || fail "remove-source-route"
	routes=$("$LBT_PY" -c 'import json; print(json.dumps([{"source": "172.16.%d.%d" % (i // 250, i % 250), "targets": ["10.2.1.2:8080"]} for i in range(500)]))')
	lbctl add-source-routes web --file - <<<"$routes" >/dev/null || fail "add-source-routes (500)"
	out=$(lbctl list-source-routes web)
	[[ $out == *172.16.1.10/32* ]] || fail "routes not listed: ${out:0:300}"
	lbctl set-weights web 10.2.1.2:8080@100 10.2.2.2:8080@0 >/dev/null || fail "set-weights"
	out=$(tally --port 80 --count 20)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 20 "weights 100/0 ($out)"
	lbctl set-weights web 10.2.1.2:8080@50 10.2.2.2:8080@50 >/dev/null
	lbctl set-ingress xdp >/dev/null || fail "set-ingress xdp"
	out=$(tally --port 80 --count 10)
	assert_eq "$(json_get "$out" ok)" 10 "connections at XDP ($out)"
	lbctl set-ingress auto >/dev/null || fail "set-ingress auto"
	lbctl remove-proxy api >/dev/null || fail "remove-proxy"
	lbctl reload >/dev/null || fail "reload" # drops the 500 routes: back to the file
}

# Health: a manual override, a forced check, health --follow seeing the change.
test_health() {
	local follow=$LBT_LOGDIR/health-follow.log pid
	"$LBCTL" -s "$SOCK" --timeout 60 --json health web --follow >"$follow" 2>&1 &
	pid=$!
	sleep 2
	lbctl set-target-status web 10.2.2.2:8080 unhealthy >/dev/null || fail "set-target-status"
	# (an override reports itself as target-unhealthy and as the weights it changes)
	wait_for "grep -q weights-updated '$follow'" 30 ||
		fail "health --follow saw no event: $(tail -c 300 "$follow")"
	lbctl set-target-status web 10.2.2.2:8080 auto >/dev/null || fail "set-target-status auto"
	lbctl force-check web 10.2.2.2:8080 >/dev/null || fail "force-check"
	lbctl disable-health-checks >/dev/null || fail "disable-health-checks"
	lbctl enable-health-checks >/dev/null || fail "enable-health-checks"
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Drain with an established connection: --wait ends when it closes; undrain.
test_drain() {
	local hold_log=$LBT_LOGDIR/hold.log hold_pid out
	lbctl set-weights web 10.2.1.2:8080@0 10.2.2.2:8080@100 >/dev/null
	lbtraffic "$NS_C" hold --host "$VIP" --port 80 --seconds 4 --interval 200 >"$hold_log" 2>&1 &
	hold_pid=$!
	wait_for "grep -q start '$hold_log'" 20 || fail "hold did not connect: $(cat "$hold_log")"
	lbctl set-weights web 10.2.1.2:8080@50 10.2.2.2:8080@50 >/dev/null
	out=$(lbctl drain web 10.2.2.2:8080 --timeout 60s --wait 2>&1) || fail "drain --wait: $out"
	wait "$hold_pid" || fail "the held connection broke: $(cat "$hold_log")"
	out=$(tally --port 80 --count 10)
	assert_eq "$(json_get "$out" by_backend.b1 0)" 10 "b2 drained ($out)"
	lbctl drain-status >/dev/null || fail "drain-status"
	lbctl undrain web 10.2.2.2:8080 >/dev/null || fail "undrain"
}

# Connection events: stats --follow streams opened/closed while traffic flows.
test_stats_follow() {
	local follow=$LBT_LOGDIR/stats-follow.log pid out
	lbctl enable-stats >/dev/null || fail "enable-stats"
	"$LBCTL" -s "$SOCK" --timeout 60 --json stats --follow >"$follow" 2>&1 &
	pid=$!
	sleep 2
	out=$(tally --port 80 --count 10)
	assert_eq "$(json_get "$out" ok)" 10 "connections while following ($out)"
	wait_for "grep -q closed '$follow'" 30 || fail "stats --follow saw nothing: $(tail -c 300 "$follow")"
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	lbctl connections >/dev/null || fail "connections"
	lbctl stats web >/dev/null || fail "stats web"
	lbctl disable-stats >/dev/null || fail "disable-stats"
}

# Reloads: SIGHUP with a third target in the file, then lbctl reload back to two.
test_reload() {
	local out
	write_config three
	kill -HUP "$LBD_PID"
	wait_for "[[ \$(lbctl --json get-config) == *10.2.3.2* ]]" 60 || fail "SIGHUP did not reload"
	out=$(tally --port 80 --count 30)
	assert_eq "$(json_get "$out" ok)" 30 "after SIGHUP ($out)"
	write_config
	lbctl reload >/dev/null || fail "lbctl reload"
	out=$(lbctl --json get-config)
	[[ $out != *10.2.3.2* ]] || fail "lbctl reload did not apply"
}

# A target that stops answering its health checks goes unhealthy, and back once it answers.
test_health_failure() {
	local follow=$LBT_LOGDIR/health-follow2.log pid
	"$LBCTL" -s "$SOCK" --timeout 60 --json health web --follow >"$follow" 2>&1 &
	pid=$!
	sleep 1
	stop_server b2 8080
	wait_for "grep -q target-unhealthy '$follow'" 30 ||
		fail "b2 not found unhealthy: $(tail -c 300 "$follow")"
	start_server "${NS_BACKENDS[1]}" b2 10.2.2.2 8080
	wait_for "grep -q target-healthy '$follow'" 30 ||
		fail "b2 not found healthy again: $(tail -c 300 "$follow")"
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Refused changes leave lbd as it was: a broken file on SIGHUP, a client that leaves in
# the middle of a request line, an over-long line, clients gone before their replies.
test_refusals() {
	local before out
	before=$(lbctl --json get-config)
	echo '{"proxies": [{"name": "web"' >"$CONFIG"
	kill -HUP "$LBD_PID"
	wait_for "grep -q 'reload refused' '$LBD_LOG'" 30 || fail "no refusal logged"
	out=$(lbctl reload 2>&1) && fail "lbctl reload of a broken file succeeded: $out"
	write_config
	"$LBT_PY" - "$SOCK" <<'PY' || fail "raw clients"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"sta'); s.close()
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"x" * (1 << 20) + b"y" * 1000 + b'\n{"jsonrpc":"2.0","id":2,"method":"version"}\n')
s.settimeout(60)
buf = b""
while buf.count(b"\n") < 2:
    d = s.recv(65536)
    if not d:
        sys.exit("closed early: %r" % buf)
    buf += d
assert b"-32005" in buf and b'"id":2' in buf, buf
s.close()
# Requests, then gone before the replies: lbd's writes fail with EPIPE (SIGPIPE killed
# lbd before it ignored that signal).
for _ in range(50):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"get-config"}\n' * 20); s.close()
PY
	sleep 1
	kill -0 "$LBD_PID" || fail "lbd died: $(tail -n 3 "$LBD_LOG")"
	assert_eq "$(lbctl --json get-config)" "$before" "configuration after the refusals"
}

# lbctl itself under valgrind: a few commands, human and JSON output, a refused change
# (status 1), a follower stopped by SIGINT.
test_lbctl_under_valgrind() {
	local n=0 spec want args st log
	for spec in "0 status" "0 --json list-proxies" "0 health web" "0 metrics" \
		"0 connections" "1 set-weights web 10.2.1.2:8080@70"; do
		n=$((n + 1))
		want=${spec%% *}
		args=${spec#* }
		log=$OUT/lbctl-$n.vg.log
		st=0
		# shellcheck disable=SC2086
		"${VG[@]}" --log-file="$log" "$LBCTL" -s "$SOCK" --timeout 60 $args >/dev/null 2>&1 || st=$?
		((st != VG_EXIT)) ||
			fail "valgrind found errors in lbctl $args: $(grep -A 15 -m 1 -E '^==[0-9]+== [A-Z]' "$log")"
		assert_eq "$st" "$want" "exit status of lbctl $args"
		grep -q 'ERROR SUMMARY: 0 errors' "$log" || fail "lbctl $args: $(grep 'ERROR SUMMARY' "$log")"
	done
	n=$((n + 1))
	log=$OUT/lbctl-$n.vg.log
	"${VG[@]}" --log-file="$log" "$LBCTL" -s "$SOCK" --timeout 60 health --follow >/dev/null 2>&1 &
	st=$!
	sleep 8
	kill -INT "$st"
	wait "$st" || true
	wait_for "grep -q 'ERROR SUMMARY' '$log'" 30 || fail "lbctl health --follow did not stop"
	grep -q 'ERROR SUMMARY: 0 errors' "$log" ||
		fail "lbctl health --follow: $(grep -A 15 -m 1 -E '^==[0-9]+== [A-Z]' "$log")"
}

for t in test_traffic test_sni test_read_methods test_changes test_health test_drain \
	test_stats_follow test_reload test_health_failure test_refusals test_lbctl_under_valgrind; do
	run_test "$t"
done

# ---------------------------------------------------------------------------- verdict

# SIGTERM: lbd stops, frees what it holds, and valgrind checks for leaks.
kill -TERM "$LBD_PID" 2>/dev/null || log "lbd was no longer running before SIGTERM"
t0=$SECONDS
wait_for "! kill -0 $LBD_PID" 120 || fail "lbd did not stop within 120 s of SIGTERM"
LBD_RC=0 # (not "rc": run_test has a local of that name)
wait "$LBD_PID" || LBD_RC=$?
log "lbd under valgrind stopped in $((SECONDS - t0)) s, exit status $LBD_RC"
cp "$LBD_LOG" "$OUT/lbd.log"
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|FILE DESCRIPTORS' "$OUT/lbd.vg.log" >&2 || true
verdict() {
	((LBD_RC != VG_EXIT)) ||
		fail "valgrind found errors in lbd (see $OUT/lbd.vg.log): $(grep -A 25 -m 1 -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in)' "$OUT/lbd.vg.log")"
	((LBD_RC == 0)) || fail "lbd exited with status $LBD_RC: $(tail -n 5 "$OUT/lbd.log")"
	grep -q 'ERROR SUMMARY: 0 errors' "$OUT/lbd.vg.log" || fail "$(grep 'ERROR SUMMARY' "$OUT/lbd.vg.log")"
	# --track-fds: every descriptor still open at exit must be one lbd inherited.
	local leaked
	leaked=$(awk '/Open (file descriptor|AF_)/ {d = $0; next}
		d != "" { if ($0 !~ /inherited from parent/) print d; d = "" }' "$OUT/lbd.vg.log")
	[[ -z $leaked ]] || fail "descriptors lbd opened and left open at exit: $leaked"
}
run_test verdict
run_summary
