#!/bin/bash
# Connection events end to end: the datapath's ring buffer through lbd to `stats --follow`
# subscribers and the access log.
#
# What is exact: every connection sent gets one "opened" and one "closed" event; the
# closed events' packets and bytes, summed, equal the proxy's and each target's counters
# (a TCP close is reported at its last ACK, so every packet of a cleanly closed connection
# is in its event); several subscribers get the same events; a subscriber that stops
# reading misses events (counted) while the others and lbd carry on; disable-stats stops
# events; the access log has one line per closed connection and is reopened on SIGHUP and
# reload.
#
# Usage: test_events.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=events
N=40

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080
start_server "${NS_BACKENDS[0]}" u1 10.2.1.2 5353 --udp
SOCK=$LBT_RUN/lbd.sock
ALOG=$LBT_RUN/access.log

CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{
  "proxies": [
    {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
     "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                        {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
    {"name": "dns", "listen": {"interfaces": ["$LB_IF_C"], "port": 53, "protocol": "udp"},
     "default-target": {"ip": "10.2.1.2", "port": 5353}}
  ],
  "settings": {"max-connections": 65536, "stats-enabled": true, "udp-timeout-sec": 2,
               "access-log": "$ALOG"}
}
EOF

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

lbt_start_lbd -c "$CONFIG"

# py EXPR FILE...: evaluate a Python expression over the JSON lines of FILEs, as lists
# f[0], f[1]...; `closed(f)` / `opened(f)` pick those events of one list.
py() {
	"$LBT_PY" - "$@" <<'EOF'
import json, sys
expr, files = sys.argv[1], sys.argv[2:]
def load(p):
    out = []
    for line in open(p):
        line = line.strip()
        if line.startswith('{'):
            out.append(json.loads(line))
    return out
f = [load(p) for p in files]
closed = lambda l: [e for e in l if e.get('event') == 'closed']
opened = lambda l: [e for e in l if e.get('event') == 'opened']
print(eval(expr))
EOF
}

# count_closed FILE [PROXY]: closed events in FILE.
count_closed() { py "len([e for e in closed(f[0]) if e['proxy'] == '${2:-web}'])" "$1"; }

# follower NAME ARGS...: `lbctl ARGS... stats --follow` in the background, into NAME.out.
follower() {
	local name=$1
	shift
	"$LBCTL" -s "$SOCK" "$@" >"$LBT_RUN/$name.out" 2>"$LBT_RUN/$name.err" &
	echo $!
}

subscribers() { json_get "$(lbctl --json stats)" events.subscribers; }

send() { # send COUNT [CONCURRENCY]
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count "$1" \
		--concurrency "${2:-1}" --timeout 120)
	assert_eq "$(json_get "$out" ok)" "$1" "successful connections ($out)"
}

# ---------------------------------------------------------------------------- tests

test_events_account_for_the_traffic() {
	local f1 f2 s sums field
	f1=$(follower f1 --json stats --follow)
	f2=$(follower f2 stats web --follow)
	lbt_on_exit "kill $f1 $f2 2>/dev/null"
	wait_for "[[ \$(subscribers) == 2 ]]" 10 ||
		fail "the followers did not subscribe: $(cat "$LBT_RUN"/f*.err)"
	send "$N"
	wait_for "[[ \$(count_closed $LBT_RUN/f1.out) -ge $N ]]" 20 ||
		fail "f1 has $(count_closed "$LBT_RUN/f1.out") closed events, want $N"
	sleep 0.5 # nothing more may come
	assert_eq "$(py 'len(opened(f[0]))' "$LBT_RUN/f1.out")" "$N" "opened events"
	assert_eq "$(count_closed "$LBT_RUN/f1.out")" "$N" "closed events"
	assert_eq "$(py 'sorted(set(e["reason"] for e in closed(f[0])))' "$LBT_RUN/f1.out")" \
		"['fin']" "close reasons"
	assert_eq "$(py 'len(set(e["client"] for e in closed(f[0])))' "$LBT_RUN/f1.out")" "$N" \
		"distinct client ports"
	assert_eq "$(py 'set(e["route"] for e in opened(f[0]))' "$LBT_RUN/f1.out")" "{'default'}" \
		"route of opened events"
	assert_eq "$(py 'sorted(e["client"] for e in opened(f[0])) == sorted(e["client"] for e in closed(f[0]))' \
		"$LBT_RUN/f1.out")" True "every opened connection closed"
	# Exact: the closed events account for every packet and byte the counters saw.
	s=$(lbctl --json stats web)
	echo "$s" >"$LBT_RUN/stats.json"
	for field in packets-in bytes-in packets-out bytes-out; do
		sums=$(py "sum(e['$field'] for e in closed(f[0]))" "$LBT_RUN/f1.out")
		assert_eq "$sums" "$(py "f[0][0]['proxies'][0]['counters']['$field']" "$LBT_RUN/stats.json")" \
			"proxy $field"
		assert_eq "$(py "{t: sum(e['$field'] for e in closed(f[0]) if e['target'] == t) for t in ('10.2.1.2:8080', '10.2.2.2:8080')}" "$LBT_RUN/f1.out")" \
			"$(py "{t['target']: t['counters']['$field'] for t in f[1][0]['proxies'][0]['targets']}" "$LBT_RUN/f1.out" "$LBT_RUN/stats.json")" \
			"per-target $field"
	done
	log "closed events: $(py "[sum(e[k] for e in closed(f[0])) for k in ('packets-in','bytes-in','packets-out','bytes-out')]" "$LBT_RUN/f1.out")"
	# The human follower saw the same closes (of proxy web), one line each.
	assert_eq "$(grep -c ' closed web tcp ' "$LBT_RUN/f2.out")" "$N" "human closed lines"
	grep -q ' opened web tcp 10.1.0.2:[0-9]* -> 10.1.0.1:80 -> 10.2.[12].2:8080 (default)$' \
		"$LBT_RUN/f2.out" || fail "no human opened line: $(head -n 3 "$LBT_RUN/f2.out")"
	# The access log: one line per closed connection, the same objects.
	assert_eq "$(py 'len(f[0])' "$ALOG")" "$N" "access log lines"
	assert_eq "$(py 'sorted(map(json.dumps, f[0])) == sorted(map(json.dumps, closed(f[1])))' \
		"$ALOG" "$LBT_RUN/f1.out")" True "access log = closed events"
	kill "$f1" "$f2" 2>/dev/null || true
}

test_udp_and_rst() {
	local f1 out
	f1=$(follower f3 --json stats --follow)
	sleep 0.5
	out=$(lbtraffic "$NS_C" tally --proto udp --host "$VIP" --port 53 --count 3 --timeout 30)
	assert_eq "$(json_get "$out" ok)" 3 "udp answers ($out)"
	# A client that resets its connection.
	in_ns "$NS_C" "$LBT_PY" -c '
import socket, struct
s = socket.create_connection(("10.1.0.1", 80), timeout=5)
s.sendall(b"GET / HTTP/1.0\r\n\r\n"); s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()'
	# UDP flows end by idle timeout (2 s here), reported by lbd's sweeper.
	wait_for "[[ \$(count_closed $LBT_RUN/f3.out dns) -ge 3 ]]" 20 ||
		fail "udp closed events: $(cat "$LBT_RUN/f3.out")"
	assert_eq "$(py "[(e['reason'], e['packets-in'], e['packets-out']) for e in closed(f[0]) if e['proxy'] == 'dns']" "$LBT_RUN/f3.out")" \
		"[('timeout', 1, 1), ('timeout', 1, 1), ('timeout', 1, 1)]" "udp closes"
	assert_eq "$(py "[e['reason'] for e in closed(f[0]) if e['proxy'] == 'web']" "$LBT_RUN/f3.out")" \
		"['rst']" "reset connection"
	kill "$f1" 2>/dev/null || true
}

test_stalled_subscriber() {
	local f1 stall s t0 missed
	f1=$(follower f4 --json stats --follow)
	# A subscriber that never reads: a tiny receive buffer, held open for the whole test.
	"$LBT_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"stats\",\"params\":{\"follow\":true}}\n")
time.sleep(120)' "$SOCK" &
	stall=$!
	lbt_on_exit "kill $stall $f1 2>/dev/null"
	wait_for "[[ \$(subscribers) == 2 ]]" 10 || fail "subscribers: $(subscribers), want 2"
	s=$(lbctl --json stats)
	t0=$(json_get "$s" events.sent)
	send 3000 8
	# lbd answered all along (send would have failed otherwise) and answers now.
	lbctl status >/dev/null || fail "lbd does not answer with a stalled subscriber"
	wait_for "[[ \$(count_closed $LBT_RUN/f4.out) -ge 3000 ]]" 30 ||
		fail "the reading subscriber got $(count_closed "$LBT_RUN/f4.out") of 3000 closes"
	s=$(lbctl --json stats)
	missed=$(json_get "$s" events.missed-by-slow-subscribers)
	log "events sent $(($(json_get "$s" events.sent) - t0)), missed by the stalled subscriber $missed"
	((missed > 0)) || fail "the stalled subscriber missed nothing: was it reading?"
	assert_eq "$(json_get "$s" events.subscribers)" 2 "the stalled subscriber stays subscribed"
	assert_eq "$(json_get "$s" global.events-lost)" 0 "events lost in the ring"
	kill "$stall" "$f1" 2>/dev/null || true
}

test_disable_stops_events() {
	local f1 n0
	f1=$(follower f5 --json stats --follow)
	sleep 0.5
	assert_eq "$(json_get "$(lbctl --json disable-stats)" enabled)" false "disable-stats"
	assert_eq "$(json_get "$(lbctl --json get-config)" settings.stats-enabled)" false \
		"get-config after disable"
	n0=$(py 'len(f[0])' "$ALOG")
	send 10
	sleep 1.5
	assert_eq "$(py 'len([e for e in f[0] if "event" in e])' "$LBT_RUN/f5.out")" 0 \
		"events while disabled"
	assert_eq "$(py 'len(f[0])' "$ALOG")" "$n0" "access log lines while disabled"
	timeout 2 "$LBCTL" -s "$SOCK" stats --follow >/dev/null 2>"$LBT_RUN/warn.err" || true
	grep -q 'stats are disabled' "$LBT_RUN/warn.err" ||
		fail "stats --follow did not warn that stats are disabled: $(cat "$LBT_RUN/warn.err")"
	lbctl enable-stats >/dev/null
	send 5
	wait_for "[[ \$(count_closed $LBT_RUN/f5.out) -ge 5 ]]" 20 || fail "no events after enable"
	assert_eq "$(count_closed "$LBT_RUN/f5.out")" 5 "closed events after enable"
	kill "$f1" 2>/dev/null || true
}

test_access_log_reopens() {
	local n0
	n0=$(py 'len(f[0])' "$ALOG")
	mv "$ALOG" "$ALOG.1"
	kill -HUP "$LBD_PID"
	wait_for "[[ -e $ALOG ]]" 10 || fail "SIGHUP did not create a new access log"
	send 4
	wait_for "[[ \$(py 'len(f[0])' $ALOG) -ge 4 ]]" 20 || fail "no lines in the new log"
	assert_eq "$(py 'len(f[0])' "$ALOG")" 4 "lines in the new log"
	assert_eq "$(py 'len(f[0])' "$ALOG.1")" "$n0" "lines in the rotated log"
	mv "$ALOG" "$ALOG.2"
	lbctl reload >/dev/null
	[[ -e $ALOG ]] || fail "reload did not create a new access log"
	# An access log that cannot be opened refuses the change and keeps the running one.
	sed -i "s|\"access-log\": \"$ALOG\"|\"access-log\": \"/nonexistent/dir/a.log\"|" "$CONFIG"
	if lbctl reload >"$LBT_RUN/reload.out" 2>&1; then fail "reload with a bad access log passed"; fi
	grep -q '/nonexistent/dir/a.log' "$LBT_RUN/reload.out" ||
		fail "unclear refusal: $(cat "$LBT_RUN/reload.out")"
	assert_eq "$(json_get "$(lbctl --json get-config)" settings.access-log)" "$ALOG" \
		"running access log kept"
}

# SIGUSR1 (what the shipped logrotate sends) opens the access log again and changes
# nothing else: a weight set at run time stays, where a reload (SIGHUP) would put back the
# file's.
test_sigusr1_reopens_log_only() {
	local n0 w
	lbctl set-weights web 10.2.1.2:8080@90 10.2.2.2:8080@10 >/dev/null
	n0=$(py 'len(f[0])' "$ALOG")
	mv "$ALOG" "$ALOG.u1"
	kill -USR1 "$LBD_PID"
	wait_for "[[ -e $ALOG ]]" 10 || fail "SIGUSR1 did not create a new access log"
	kill -0 "$LBD_PID" || fail "lbd died of SIGUSR1"
	send 3
	wait_for "[[ \$(py 'len(f[0])' $ALOG) -ge 3 ]]" 20 || fail "no lines in the new log"
	assert_eq "$(py 'len(f[0])' "$ALOG.u1")" "$n0" "lines in the rotated log"
	w=$(lbctl --json get-config | "$LBT_PY" -c 'import json,sys
print(" ".join(str(t["weight"]) for t in json.load(sys.stdin)["proxies"][0]["default-target"]))')
	assert_eq "$w" "90 10" "weights set at run time, after SIGUSR1"
	grep -q "SIGUSR1: opened the access log $ALOG again" "$LBT_LOGDIR/lbd.log" ||
		fail "no SIGUSR1 line in lbd's log"
	lbctl set-weights web 10.2.1.2:8080@50 10.2.2.2:8080@50 >/dev/null
}

run_test test_events_account_for_the_traffic
run_test test_udp_and_rst
run_test test_stalled_subscriber
run_test test_disable_stops_events
run_test test_access_log_reopens
run_test test_sigusr1_reopens_log_only
run_summary
