#!/bin/bash
# Health checking end to end: real backends in namespaces are stopped, started, made to
# answer 500, served over TLS; lbd's checks move new connections away and ramp recovered
# backends back in; `lbctl health --follow` reports every transition once.
#
# Usage: test_health.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=hc

lbt_require_env
command -v openssl >/dev/null || {
	echo "skip: openssl not installed" >&2
	exit 77
}
topo_up 3
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
# 1.5 s checks, 2 to fail, 2 to recover: a dead backend is out within ~3 s.
cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 30},
                      {"ip": "10.2.3.2", "port": 8080, "weight": 20}]},
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": [{"ip": "10.2.1.2", "port": 8443, "weight": 50,
                       "health-check": {"type": "https", "path": "/", "expected-codes": [200]}},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50,
                       "health-check": {"type": "https", "path": "/"}}]}],
 "settings": {"health-check-enabled": true,
              "health-check-defaults": {"type": "http", "path": "/", "interval-ms": 1500,
                                        "timeout-ms": 500, "healthy-threshold": 2,
                                        "unhealthy-threshold": 2}}}
EOF

# A TLS server on b1:8443 with a throw-away self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=b1 -days 1 \
	-keyout "$LBT_RUN/key.pem" -out "$LBT_RUN/cert.pem" >/dev/null 2>&1
spawn "${NS_BACKENDS[0]}" tls-b1 openssl s_server -quiet -www -accept 10.2.1.2:8443 \
	-cert "$LBT_RUN/cert.pem" -key "$LBT_RUN/key.pem"

lbt_start_lbd --teardown-on-exit -c "$CONFIG"

# The event stream, recorded for the whole run: the reply, then one JSON line per event.
spawn - follow "$LBCTL" -s "$SOCK" --json health --follow
FOLLOW_LOG=$LBT_LOGDIR/follow.log

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }
tally() { lbtraffic "$NS_C" tally --host "$VIP" --port 80 "$@"; }

# health_of PROXY TARGET FIELD: a field of one target in `lbctl --json health`.
health_of() {
	lbctl --json health "$1" | "$LBT_PY" -c '
import json, sys
r = json.load(sys.stdin)
for t in r["proxies"][0]["targets"]:
    if t["target"] == sys.argv[1]:
        print(t.get(sys.argv[2], ""))' "$2" "$3"
}

# effective PROXY TARGET: its effective weight in the default group.
effective() {
	lbctl --json health "$1" | "$LBT_PY" -c '
import json, sys
r = json.load(sys.stdin)
for t in r["proxies"][0]["groups"][0]["targets"]:
    if t["target"] == sys.argv[1]:
        print(t["effective-weight"])' "$2"
}

# count_events TYPE TARGET: how many such events of proxy web the follower printed.
count_events() {
	"$LBT_PY" - "$FOLLOW_LOG" "$1" "$2" <<'EOF'
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1])):
    if i == 0 or not line.strip():
        continue  # the first line is the reply to `health`
    e = json.loads(line)
    if e.get("type") == sys.argv[2] and e.get("target") == sys.argv[3] and e["proxy"] == "web":
        n += 1
print(n)
EOF
}

# last_event TYPE TARGET FIELD: FIELD of the last such event of proxy web.
last_event() {
	"$LBT_PY" - "$FOLLOW_LOG" "$1" "$2" "$3" <<'EOF'
import json, sys
v = ""
for i, line in enumerate(open(sys.argv[1])):
    if i == 0 or not line.strip():
        continue
    e = json.loads(line)
    if e.get("type") == sys.argv[2] and e.get("target") == sys.argv[3] and e["proxy"] == "web":
        v = e.get(sys.argv[4], "")
print(v)
EOF
}

share() { json_get "$1" "by_backend.$2" 0; }

wait_for "[[ \$(health_of web 10.2.1.2:8080 checks) -ge 1 ]]" 5 || fail "no check ran"

# ---------------------------------------------------------------------------- tests

test_all_healthy_at_start() {
	local out
	wait_for "[[ \$(health_of tls 10.2.1.2:8443 status) == healthy && \$(health_of tls 10.2.1.2:8443 last-error) == ok ]]" 6 ||
		fail "https check of a TLS server: $(lbctl --json health tls)"
	assert_eq "$(health_of tls 10.2.1.2:8443 last-http-status)" 200 "https status seen"
	out=$(tally --count 400)
	assert_eq "$(json_get "$out" ok)" 400 "connections while all are healthy ($out)"
}

# A dead backend is out after interval x threshold; the others absorb its share 71/29.
test_dead_backend_goes_out() {
	local out b1 b3
	stop_server b2
	wait_for "[[ \$(health_of web 10.2.2.2:8080 status) == unhealthy ]]" 6 ||
		fail "b2 not unhealthy 6 s after its server stopped: $(lbctl --json health web)"
	assert_eq "$(health_of web 10.2.2.2:8080 last-error)" connection-refused "b2's last error"
	assert_eq "$(effective web 10.2.1.2:8080)/$(effective web 10.2.2.2:8080)/$(effective web 10.2.3.2:8080)" \
		71/0/29 "effective weights with b2 down"
	out=$(tally --count 600)
	assert_eq "$(json_get "$out" ok)" 600 "no connection fails with b2 out ($out)"
	assert_eq "$(share "$out" b2)" 0 "connections to the dead b2"
	b1=$(share "$out" b1)
	b3=$(share "$out" b3)
	((b1 >= 390 && b1 <= 462)) || fail "b1 got $b1 of 600, want 71% +-6"
	((b3 >= 138 && b3 <= 210)) || fail "b3 got $b3 of 600, want 29% +-6"
}

# Back up: healthy after the threshold, then 25/50/75/100 % of its weight, one step per check.
# The effective weights TARGET of PROXY's default group went through in the weights-updated
# events after line SKIP of the follow log, each change once: every step of a ramp, however
# late a poll would have looked.
weights_seen() {
	"$LBT_PY" - "$FOLLOW_LOG" "$1" "$2" "$3" <<'EOF'
import json, sys
path, proxy, target, skip = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
seen = []
for line in open(path).read().splitlines()[skip:]:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    e = e.get("params", e)
    if e.get("type") != "weights-updated" or e.get("proxy") != proxy:
        continue
    for g in e["groups"]:
        for t in g["targets"] if g.get("source") == "default" else []:
            if t["target"] == target and (not seen or seen[-1] != t["effective-weight"]):
                seen.append(t["effective-weight"])
print(" ".join(str(w) for w in seen))
EOF
}

test_recovery_ramps_back_in() {
	local seen="" out first_share last_share skip
	skip=$(wc -l <"$FOLLOW_LOG")
	start_server "${NS_BACKENDS[1]}" b2 10.2.2.2 8080
	wait_for "[[ \$(health_of web 10.2.2.2:8080 status) != unhealthy ]]" 8 ||
		fail "b2 not back 8 s after its server started"
	out=$(tally --count 600)
	first_share=$(share "$out" b2)
	wait_for "[[ \$(effective web 10.2.2.2:8080) == 30 ]]" 10 ||
		fail "b2 did not ramp back to 30: weights seen: $(weights_seen web 10.2.2.2:8080 "$skip")"
	out=$(tally --count 600)
	last_share=$(share "$out" b2)
	# Each effective weight b2 went through, from the event stream.
	wait_for "[[ \$(weights_seen web 10.2.2.2:8080 $skip) == *30 ]]" 5 || true
	seen=" $(weights_seen web 10.2.2.2:8080 "$skip")"
	log "b2 effective weights during recovery:$seen; share $first_share -> $last_share of 600"
	[[ $seen == *" 30" ]] || fail "ramp did not end at the configured 30:$seen"
	local n
	n=$(wc -w <<<"$seen")
	((n >= 3)) || fail "ramp went straight back (weights seen:$seen), want 25/50/75/100 % steps"
	((first_share < last_share)) || fail "b2's share did not climb: $first_share then $last_share"
	((last_share >= 144 && last_share <= 216)) || fail "b2 got $last_share of 600, want 30% +-6"
}

# An HTTP check against a server answering 500 marks it unhealthy.
test_http_500_is_unhealthy() {
	server_fail b3 on 500
	wait_for "[[ \$(health_of web 10.2.3.2:8080 status) == unhealthy ]]" 6 ||
		fail "b3 answering 500 is not unhealthy: $(lbctl --json health web)"
	assert_eq "$(health_of web 10.2.3.2:8080 last-error)" bad-status "b3's last error"
	assert_eq "$(health_of web 10.2.3.2:8080 last-http-status)" 500 "b3's last status"
	server_fail b3 off
	wait_for "[[ \$(effective web 10.2.3.2:8080) == 20 ]]" 12 || fail "b3 not fully back"
}

# https against a plain HTTP port is a TLS error; a stopped TLS server is refused.
test_https_failures() {
	wait_for "[[ \$(health_of tls 10.2.2.2:8080 status) == unhealthy ]]" 6 ||
		fail "https check against plain HTTP passed: $(lbctl --json health tls)"
	assert_eq "$(health_of tls 10.2.2.2:8080 last-error)" tls-error "https against plain HTTP"
	stop_proc tls-b1
	wait_for "[[ \$(health_of tls 10.2.1.2:8443 last-error) == connection-refused ]]" 6 ||
		fail "stopped TLS server not refused"
}

# A manual override holds until cleared, whatever the checks say. It is reported like a
# real failure (target-unhealthy, "cause":"override"), and clearing it goes back through
# the recovery ramp like a real recovery, one step per passing check.
test_manual_override_holds() {
	local out seen="" w prev=-1 n
	lbctl set-target-status web 10.2.1.2:8080 unhealthy >/dev/null
	assert_eq "$(health_of web 10.2.1.2:8080 status)" unhealthy "status under override"
	assert_eq "$(effective web 10.2.1.2:8080)" 0 "b1's weight under override"
	wait_for "[[ \$(count_events target-unhealthy 10.2.1.2:8080) == 1 ]]" 5 ||
		fail "no target-unhealthy event for b1 set unhealthy by hand: $(tail -n 3 "$FOLLOW_LOG")"
	assert_eq "$(last_event target-unhealthy 10.2.1.2:8080 cause)" override "the event's cause"
	sleep 3.5 # two more (passing) checks
	assert_eq "$(health_of web 10.2.1.2:8080 status)" unhealthy "override held"
	assert_eq "$(count_events target-unhealthy 10.2.1.2:8080)" 1 "target-unhealthy events for b1"
	out=$(tally --count 300)
	assert_eq "$(share "$out" b1)" 0 "new connections to b1 while overridden ($out)"
	lbctl set-target-status web 10.2.1.2:8080 auto >/dev/null
	assert_eq "$(health_of web 10.2.1.2:8080 status)" recovering "status after clearing"
	wait_for "w=\$(effective web 10.2.1.2:8080); [[ \$w != \$prev ]] && seen=\"\$seen \$w\" prev=\$w; ((w == 50))" 10 ||
		fail "b1 did not ramp back to 50: weights seen:$seen"
	log "b1 effective weights after clearing its override:$seen"
	n=$(wc -w <<<"$seen")
	((n >= 3)) || fail "b1 went straight back (weights seen:$seen), want 25/50/75/100 % steps"
	assert_eq "$(count_events target-healthy 10.2.1.2:8080)" 1 "target-healthy events for b1"
	assert_eq "$(last_event target-healthy 10.2.1.2:8080 cause)" override "the event's cause"
	assert_eq "$(health_of web 10.2.1.2:8080 status)" healthy "status after the ramp"
	lbctl force-check web 10.2.1.2:8080 >/dev/null || fail "force-check"
}

# Checks off: every target counts as healthy; on again: the dead one is found again.
test_disable_and_enable() {
	stop_server b3
	wait_for "[[ \$(health_of web 10.2.3.2:8080 status) == unhealthy ]]" 6 || fail "b3 not out"
	lbctl disable-health-checks >/dev/null
	assert_eq "$(effective web 10.2.3.2:8080)" 20 "b3's weight with checks off"
	lbctl --json get-config | grep -q '"health-check-enabled":false' || fail "get-config"
	lbctl enable-health-checks >/dev/null
	wait_for "[[ \$(health_of web 10.2.3.2:8080 status) == unhealthy ]]" 6 ||
		fail "b3 not found dead after re-enabling"
	start_server "${NS_BACKENDS[2]}" b3 10.2.3.2 8080
}

# The stream showed each of b2's transitions exactly once, and weight changes.
test_event_stream() {
	assert_eq "$(count_events target-unhealthy 10.2.2.2:8080)" 1 "target-unhealthy events for b2"
	assert_eq "$(count_events target-healthy 10.2.2.2:8080)" 1 "target-healthy events for b2"
	grep -q '"type":"weights-updated"' "$FOLLOW_LOG" || fail "no weights-updated event"
}

# lbd killed and started again on its pinned datapath (a crash, a watchdog restart; a
# take-over adopts the same way): a backend found dead before stays out, and is checked
# at once, instead of getting its share until its checks fail again. Last: it ends the
# event stream the tests above read.
test_restart_keeps_a_dead_backend_out() {
	local out
	stop_server b3
	wait_for "[[ \$(effective web 10.2.3.2:8080) == 0 ]]" 8 ||
		fail "b3 not out 8 s after its server stopped: $(lbctl --json health web)"
	kill -KILL "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 5 || fail "lbd did not die"
	lbt_start_lbd --teardown-on-exit -c "$CONFIG"
	assert_eq "$(health_of web 10.2.3.2:8080 status)" unhealthy "b3 right after the restart"
	assert_eq "$(effective web 10.2.3.2:8080)" 0 "b3's effective weight after the restart"
	out=$(tally --count 100)
	assert_eq "$(json_get "$out" ok)" 100 "connections right after the restart ($out)"
	assert_eq "$(share "$out" b3)" 0 "connections to the dead b3"
	start_server "${NS_BACKENDS[2]}" b3 10.2.3.2 8080
	wait_for "[[ \$(health_of web 10.2.3.2:8080 status) != unhealthy ]]" 8 ||
		fail "b3 not back 8 s after its server started: $(lbctl --json health web)"
}

run_test test_all_healthy_at_start
run_test test_dead_backend_goes_out
run_test test_recovery_ramps_back_in
run_test test_http_500_is_unhealthy
run_test test_https_failures
run_test test_manual_override_holds
run_test test_disable_and_enable
run_test test_event_stream
run_test test_restart_keeps_a_dead_backend_out
run_summary
