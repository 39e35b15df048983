#!/bin/bash
# Runs inside the booted Debian 12 guest (systemd as PID 1), started by scripts/test-systemd.sh
# as the payload's run.sh, beside lbd_*.deb and lbtraffic.py. Installs the package as an
# operator would and checks lbd under real systemd with the shipped (hardened) units and
# real traffic between namespaces it creates:
#
#   lbc (client 10.1.0.2) -- lbc0 10.1.0.1 [guest root namespace: lbd] lbb<i> 10.2.<i>.1 -- lb<i> (backend 10.2.<i>.2)
#
# plus a backend on 127.0.0.1:3000 in the root namespace (route_localnet) and lbn0, an
# interface without an address (a proxy on it makes lbd warn). Every check prints one line:
#   systemd-test: PASS|FAIL <step>: <what> (<seconds> s)
# and the script ends with "systemd-test: N passed, N failed" and exits non-zero on a failure.
# The step_* functions are called by name (step_$s) at the end:
# shellcheck disable=SC2317
set -uo pipefail
cd "$(dirname "$0")" || exit 1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0
PY=/usr/bin/python3
T=$PWD/lbtraffic.py
VIP=10.1.0.1
CFG=/etc/lbd/lb.json
W=$PWD/work
mkdir -p "$W"
PASSED=0
FAILED=0
STEP=setup
STEP_T=$SECONDS
T_ALL=$SECONDS

step() {
	STEP=$1
	STEP_T=$SECONDS
	echo "systemd-test: --- $1"
}
pass() {
	PASSED=$((PASSED + 1))
	echo "systemd-test: PASS $STEP: $1 ($((SECONDS - STEP_T)) s)"
}
fail() {
	FAILED=$((FAILED + 1))
	echo "systemd-test: FAIL $STEP: $1 ($((SECONDS - STEP_T)) s)"
	[ $# -lt 2 ] || printf '%s\n' "$2" | head -n 60 | sed 's/^/    /'
}
# check WHAT CMD...: PASS when CMD succeeds, FAIL with its output otherwise.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$out"; fi
}
die() {
	fail "$1" "${2:-}"
	summary
}
summary() {
	echo "systemd-test: total $((SECONDS - T_ALL)) s"
	echo "systemd-test: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
	exit
}
# wait_for SECONDS CMD...: until CMD succeeds (every 0.2 s); status 1 after SECONDS.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
# jget JSON KEY[.KEY...]: a field of a JSON object (the last line of JSON).
jget() {
	"$PY" -c 'import json, sys
v = json.loads(sys.argv[1].strip().splitlines()[-1])
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else (str(v).lower() if isinstance(v, bool) else v))' "$1" "$2" 2>/dev/null
}
nsc() { ip netns exec lbc "$@"; }
tally() { nsc "$PY" "$T" tally --host "$VIP" "$@"; }
mainpid() { systemctl show -P MainPID lbd.service; }
unit_active() { [ "$(systemctl is-active "$1")" = active ]; }
metric() { # metric NAME{LABELS}: its value in lbd's /metrics, empty if absent
	curl -s --max-time 5 http://127.0.0.1:9100/metrics | awk -v m="$1" '$1 == m { print $2 }'
}

# tally_ok WHAT EXPECTED-OK ARGS...: a tally in which every connection must succeed.
tally_ok() {
	local what=$1 want=$2 out
	shift 2
	out=$(tally "$@")
	if [ "$(jget "$out" ok)" = "$want" ] && [ "$(jget "$out" failed)" = 0 ]; then
		pass "$what: $(jget "$out" ok)/$want ok $(jget "$out" by_backend)"
	else
		fail "$what: expected $want ok" "$out"
	fi
	LAST_TALLY=$out
}

# Background load: tallies of 20 connections one after the other until load_stop, each
# result a JSON line; load_stop sums them into LOAD_OK and LOAD_FAILED.
load_start() {
	LOAD_LOG=$W/load-$1.jsonl
	: >"$LOAD_LOG"
	touch "$W/load.run"
	(
		while [ -e "$W/load.run" ]; do
			tally --port 80 --count 20 --concurrency 4 --req-timeout 5 --timeout 60 >>"$LOAD_LOG"
		done
	) &
	LOAD_PID=$!
}
load_stop() {
	rm -f "$W/load.run"
	wait "$LOAD_PID"
	read -r LOAD_OK LOAD_FAILED < <("$PY" -c 'import json, sys
ok = failed = 0
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        ok += r["ok"]
        failed += r["failed"] + r["total"] - r["ok"] - r["failed"]
print(ok, failed)' "$LOAD_LOG")
}
# hold_start NAME SECONDS [PORT]: one long transfer (16 KiB echoed every 50 ms) through the
# VIP (port 80: balanced in the kernel; 443: spliced by lbd's SNI acceptor, which sends
# what is not TLS to the default target).
hold_start() {
	HOLD_LOG=$W/hold-$1.log
	nsc "$PY" "$T" hold --host "$VIP" --port "${3:-80}" --seconds "$2" --interval 50 \
		--size 16384 >"$HOLD_LOG" 2>&1 &
	HOLD_PID=$!
	wait_for 10 grep -q '"start"' "$HOLD_LOG"
}
# hold_check [WHAT]
hold_check() {
	local out what=${1:-the long transfer}
	wait "$HOLD_PID"
	out=$(tail -n 1 "$HOLD_LOG")
	if [ "$(jget "$out" ok)" = true ]; then
		pass "$what survived ($(jget "$out" exchanges) exchanges of 16 KiB with $(jget "$out" backend) over $(jget "$out" elapsed_s) s)"
	else
		fail "$what broke" "$(cat "$HOLD_LOG")"
	fi
}

# ---------------------------------------------------------------------------- topology
step_setup() {
modprobe veth || die "modprobe veth"
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ns_add() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}
# veth NS IF ADDR GW LBIF LBADDR: a veth between the root namespace (LBIF) and NS (IF).
# TX checksum offload off (the LB rewrites packets incrementally; real NICs deliver full
# checksums), GRO on the far end (XDP_TX/redirect into a veth needs its NAPI mode).
veth() {
	ip link add "$5" type veth peer name "$2" netns "$1"
	ip addr add "$6" dev "$5"
	ip link set "$5" up
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
	ip -n "$1" route add default via "$4"
	ethtool -K "$5" tx off >/dev/null
	ip netns exec "$1" ethtool -K "$2" tx off gro on >/dev/null
}
{
	ns_add lbc
	veth lbc eth0 10.1.0.2/24 "$VIP" lbc0 "$VIP/24"
	for i in 1 2 3; do
		ns_add "lb$i"
		veth "lb$i" eth0 "10.2.$i.2/24" "10.2.$i.1" "lbb$i" "10.2.$i.1/24"
		ip netns exec "lb$i" "$PY" "$T" serve --name "b$i" --bind "10.2.$i.2" --port 8080 \
			--tcp >"$W/b$i.log" 2>&1 &
	done
	"$PY" "$T" serve --name local --bind 127.0.0.1 --port 3000 --tcp >"$W/local.log" 2>&1 &
	ip link add lbn0 type veth peer name lbn1
	ip link set lbn0 up
	ip link set lbn1 up
} || die "building the namespaces"
backend_up() { ip netns exec "lb$1" "$PY" -c "import socket; socket.create_connection(('10.2.$1.2', 8080), 2)"; }
for i in 1 2 3; do wait_for 30 backend_up "$i" || die "backend b$i did not start" "$(cat "$W/b$i.log")"; done
pass "namespaces and backends"

# ---------------------------------------------------------------------------- install
}

step_install() {
deb=$(ls ./lbd_*.deb)
check "apt-get install ./$(basename "$deb") (no network: dependencies preinstalled)" \
	env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$deb")"
for u in lbd.service lbd.socket; do
	[ "$(systemctl is-enabled "$u" 2>&1)" = disabled ] && pass "$u installed disabled" ||
		fail "$u is $(systemctl is-enabled "$u" 2>&1) after install"
done
check "the shipped unit has WatchdogSec=20s" grep -qx 'WatchdogSec=20s' /lib/systemd/system/lbd.service
sec=$(systemd-analyze security --no-pager lbd.service 2>&1)
score=$(sed -n 's/.*Overall exposure level for lbd.service: \([0-9.]*\).*/\1/p' <<<"$sec")
echo "systemd-test: systemd-analyze security lbd.service: $score"
grep '✗' <<<"$sec" | sed 's/^/    /'
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
	pass "exposure $score (at most 3.0)"
else
	fail "exposure '$score' above 3.0" "$sec"
fi
cat >"$CFG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["lbc0"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "local", "listen": {"interfaces": ["lbc0"], "port": 8000},
   "default-target": {"ip": "127.0.0.1", "port": 3000}},
  {"name": "tls", "listen": {"interfaces": ["lbc0"], "port": 443},
   "default-target": {"ip": "10.2.3.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "api.example.com", "target": {"ip": "10.2.1.2", "port": 8080}}]},
  {"name": "pending", "listen": {"interfaces": ["lbn0"], "port": 80},
   "default-target": {"ip": "10.2.3.2", "port": 8080}}],
 "settings": {"ingress": "xdp", "stats-enabled": true, "access-log": "/var/log/lbd/access.log",
              "metrics-listen": "127.0.0.1:9100", "health-check-enabled": true,
              "health-check-defaults": {"type": "tcp", "interval-ms": 2000, "timeout-ms": 1000}}}
EOF
check "lbd --check of the test configuration" lbd -c "$CFG" --check

# ---------------------------------------------------------------------------- activation
}

step_activation() {
check "systemctl enable --now lbd.socket" systemctl enable --now lbd.socket
check "lbd.socket listens" unit_active lbd.socket
if [ "$(systemctl is-active lbd.service)" != active ] && ! pgrep -x lbd >/dev/null; then
	pass "lbd not started by enabling the socket"
else
	fail "lbd runs before anything used the socket"
fi
t=$SECONDS
# Everything after this needs a running lbd: stop here if it does not start.
out=$(lbctl --timeout 60 status 2>&1) && grep -q web <<<"$out" &&
	pass "the first lbctl status starts lbd through the socket ($((SECONDS - t)) s): $(head -n 1 <<<"$out")" ||
	die "lbctl status through the socket" "$out
$(journalctl -u lbd.service --no-pager -n 40)"
st=$(systemctl status --no-pager lbd.service 2>&1)
grep -q 'Active: active (running)' <<<"$st" && grep -Eq 'Status: "serving 4 proxies on [0-9]+ interfaces?"' <<<"$st" &&
	pass "systemctl status lbd: active, $(grep -o 'Status: .*' <<<"$st")" ||
	fail "systemctl status lbd: not active with its sd_notify status" "$st"

# ---------------------------------------------------------------------------- datapath
}

step_datapath() {
out=$(lbctl status 2>&1)
grep -Eq 'lbc0.*xdp' <<<"$out" && pass "XDP attached on lbc0 (lbctl status)" || fail "no XDP on lbc0" "$out"
ip -d link show lbc0 | grep -q 'prog/xdp' && pass "the kernel shows XDP on lbc0" ||
	fail "ip link shows no XDP on lbc0" "$(ip -d link show lbc0)"
tc filter show dev lbc0 egress | grep -q lb_tc_egress && pass "TC egress filter on lbc0" ||
	fail "no TC egress filter on lbc0" "$(tc filter show dev lbc0 egress)"
pins=$(ls /sys/fs/bpf/lbd/default 2>&1)
grep -q lb_ct <<<"$pins" && grep -q lbc0 <<<"$pins" && pass "pinned under /sys/fs/bpf/lbd/default: $(echo $pins)" ||
	fail "pins missing" "$pins"
tally_ok "100 connections to web" 100 --port 80 --count 100
b1=$(jget "$LAST_TALLY" by_backend.b1)
b2=$(jget "$LAST_TALLY" by_backend.b2)
[ "${b1:-0}" -ge 25 ] && [ "${b2:-0}" -ge 25 ] && pass "both web backends answered ($b1/$b2)" ||
	fail "web spread $b1/$b2 is not 50/50-ish"
tally_ok "a backend on 127.0.0.1 (route_localnet under ProtectKernelTunables)" 20 --port 8000 --count 20
[ "$(cat /proc/sys/net/ipv4/conf/lbc0/route_localnet)" = 1 ] && pass "route_localnet set on lbc0" ||
	fail "route_localnet not set on lbc0"
tally_ok "SNI api.example.com spliced to b1" 20 --port 443 --count 20 --sni api.example.com
[ "$(jget "$LAST_TALLY" by_backend.b1)" = 20 ] && pass "SNI route chose b1" || fail "SNI route" "$LAST_TALLY"
tally_ok "other SNI names to the default target" 10 --port 443 --count 10 --sni other.example.org
[ "$(jget "$LAST_TALLY" by_backend.b3)" = 10 ] && pass "SNI default chose b3" || fail "SNI default" "$LAST_TALLY"
v=$(metric 'lbd_connections_new_total{proxy="web"}')
[ "${v:-0}" -ge 100 ] && pass "metrics listener: lbd_connections_new_total{proxy=\"web\"} $v" ||
	fail "metrics on 127.0.0.1:9100" "$(curl -s --max-time 5 http://127.0.0.1:9100/metrics | head -n 20)"
wait_for 20 sh -c '[ "$(grep -c "\"proxy\":\"web\"" /var/log/lbd/access.log)" -ge 100 ]' &&
	pass "access log: $(wc -l </var/log/lbd/access.log) lines in /var/log/lbd/access.log ($(stat -c '%a %U:%G' /var/log/lbd/access.log))" ||
	fail "access log under /var/log/lbd" "$(ls -la /var/log/lbd 2>&1; tail -n 3 /var/log/lbd/access.log 2>&1)"
v=$(metric 'lbd_target_healthy{proxy="web",target="10.2.1.2:8080"}')
[ "$v" = 1 ] && pass "health checks: 10.2.1.2:8080 healthy" ||
	fail "health of 10.2.1.2:8080 is '$v'" "$(lbctl health 2>&1)"

# ---------------------------------------------------------------------------- warnings
}

step_journal() {
out=$(journalctl -u lbd.service -p warning --no-pager -o cat 2>&1)
grep -q 'proxy "pending": lbn0 has no IPv4 address yet' <<<"$out" &&
	pass "journalctl -u lbd -p warning shows lbd's warning" || fail "no warning at -p warning" "$out"
! grep -q 'ready:' <<<"$out" && pass "info lines are not at warning priority" ||
	fail "lbd's info lines pass -p warning" "$out"
pri=$(journalctl -u lbd.service -o json --no-pager | "$PY" -c 'import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if "has no IPv4 address yet" in str(r.get("MESSAGE")):
        print(r.get("PRIORITY")); break')
[ "$pri" = 4 ] && pass "the warning has PRIORITY=4" || fail "the warning has PRIORITY '$pri'"

# ---------------------------------------------------------------------------- reload
}

step_reload() {
pid=$(mainpid)
local_before=$(metric 'lbd_connections_new_total{proxy="local"}')
hold_start reload 25 || fail "the long transfer did not start" "$(cat "$HOLD_LOG")"
"$PY" - "$CFG" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
web = c["proxies"][0]
web["default-target"][0]["weight"] = 90
web["default-target"][1]["weight"] = 10
c["proxies"].append({"name": "extra", "listen": {"interfaces": ["lbc0"], "port": 81},
                     "default-target": {"ip": "10.2.3.2", "port": 8080}})
json.dump(c, open(sys.argv[1], "w"), indent=1)
EOF
check "systemctl reload lbd" systemctl reload lbd.service
wait_for 30 sh -c 'lbctl status | grep -q extra' && pass "the new proxy is there after the reload" ||
	fail "reload not applied" "$(lbctl status 2>&1; journalctl -u lbd -n 20 --no-pager)"
[ "$pid" != 0 ] && [ "$(mainpid)" = "$pid" ] && pass "same lbd process (pid $pid)" || fail "lbd was restarted, not reloaded"
tally_ok "the new proxy on port 81" 20 --port 81 --count 20
tally_ok "web after the reload" 100 --port 80 --count 100
b1=$(jget "$LAST_TALLY" by_backend.b1)
[ "${b1:-0}" -ge 75 ] && pass "new connections follow the new weights 90/10 (b1 $b1 of 100)" ||
	fail "weights not applied: $LAST_TALLY"
local_after=$(metric 'lbd_connections_new_total{proxy="local"}')
[ -n "$local_before" ] && [ "$local_after" = "$local_before" ] &&
	pass "an unchanged proxy kept its counters ($local_after): applied as a diff" ||
	fail "local's counter went from '$local_before' to '$local_after'"
hold_check
grep -q 'reloaded /etc/lbd/lb.json' <(journalctl -u lbd.service --no-pager -o cat) &&
	pass "lbd logged the reload" || fail "no reload line in the journal"

# ---------------------------------------------------------------------------- restart
}

step_restart() {
pid=$(mainpid)
# A connection lbd itself splices: it crosses the restart through the descriptor store.
hold_start restart-sni 25 443 || fail "the spliced transfer did not start" "$(cat "$HOLD_LOG")"
SNI_HOLD_PID=$HOLD_PID SNI_HOLD_LOG=$HOLD_LOG
hold_start restart 25 || fail "the long transfer did not start" "$(cat "$HOLD_LOG")"
load_start restart
sleep 3
t=$SECONDS
check "systemctl restart lbd" systemctl restart lbd.service
echo "systemd-test: restart took $((SECONDS - t)) s"
sleep 4
load_stop
[ "$(mainpid)" != "$pid" ] && unit_active lbd.service && pass "a new lbd runs ($pid -> $(mainpid))" ||
	fail "lbd did not restart"
[ "$LOAD_FAILED" = 0 ] && [ "$LOAD_OK" -ge 20 ] &&
	pass "connections made during the restart: $LOAD_OK ok, 0 failed" ||
	fail "connections made during the restart: $LOAD_OK ok, $LOAD_FAILED failed" "$(grep -v '"failed": 0' "$LOAD_LOG")"
hold_check
HOLD_PID=$SNI_HOLD_PID HOLD_LOG=$SNI_HOLD_LOG hold_check "the spliced SNI transfer (descriptor store)"
grep -q "took .* over from systemd's descriptor store: 1 acceptor, [1-9]" \
	<(journalctl -u lbd.service --no-pager -o cat) &&
	pass "the new lbd took the SNI acceptor and connections from the descriptor store" ||
	fail "nothing taken from the descriptor store" "$(journalctl -u lbd.service --no-pager -o cat | grep -i store)"
tally_ok "web after the restart" 50 --port 80 --count 50

# ---------------------------------------------------------------------------- watchdog
}

step_watchdog() {
pid=$(mainpid)
restarts=$(systemctl show -P NRestarts lbd.service)
hold_start watchdog 45 || fail "the long transfer did not start" "$(cat "$HOLD_LOG")"
load_start watchdog
sleep 2
t=$SECONDS
[ "$pid" -gt 1 ] || die "no lbd to stop (MainPID '$pid')"
kill -STOP "$pid"
if wait_for 60 sh -c "[ \"\$(systemctl show -P MainPID lbd.service)\" != $pid ] && systemctl is-active -q lbd.service && lbctl status >/dev/null"; then
	pass "SIGSTOPped lbd (pid $pid) restarted by systemd after $((SECONDS - t)) s (pid $(mainpid))"
else
	fail "systemd did not restart the stopped lbd" "$(systemctl status --no-pager lbd.service 2>&1)"
	kill -CONT "$pid" 2>/dev/null
fi
sleep 3
load_stop
journalctl -u lbd.service --no-pager -o cat | grep -q 'Watchdog timeout' &&
	pass "the journal says why: $(journalctl -u lbd.service --no-pager -o cat | grep -m1 'Watchdog timeout')" ||
	fail "no watchdog timeout in the journal"
[ "$(systemctl show -P NRestarts lbd.service)" -gt "$restarts" ] &&
	pass "NRestarts $restarts -> $(systemctl show -P NRestarts lbd.service)" || fail "NRestarts did not grow"
[ "$LOAD_FAILED" = 0 ] && [ "$LOAD_OK" -ge 20 ] &&
	pass "connections made while lbd hung and restarted: $LOAD_OK ok, 0 failed" ||
	fail "connections while lbd hung: $LOAD_OK ok, $LOAD_FAILED failed" "$(grep -v '"failed": 0' "$LOAD_LOG")"
hold_check

# ---------------------------------------------------------------------------- capabilities
# Is CAP_SYS_ADMIN still needed next to CAP_BPF and CAP_PERFMON on 6.1? A restart without
# it must recognise the tc filters the previous lbd left; it cannot (BPF_PROG_GET_FD_BY_ID
# wants CAP_SYS_ADMIN), cannot tell whose they are, refuses to replace them and exits.
# Forwarding goes on meanwhile.
}

step_capabilities() {
mkdir -p /run/systemd/system/lbd.service.d
printf '[Service]\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN\nRestart=no\n' \
	>/run/systemd/system/lbd.service.d/no-sys-admin.conf
systemctl daemon-reload
since=$(date '+%Y-%m-%d %H:%M:%S')
systemctl restart lbd.service >/dev/null 2>&1
wait_for 30 sh -c '! systemctl is-active -q lbd.service'
out=$(journalctl -u lbd.service --since "$since" --no-pager -o cat)
grep -q 'cannot tell which lbd instance runs the tc .* filter.*CAP_SYS_ADMIN' <<<"$out" &&
	pass "without CAP_SYS_ADMIN a restart refuses its own tc filters: $(grep -m1 'cannot tell which' <<<"$out")" ||
	fail "without CAP_SYS_ADMIN lbd did not fail as expected" "$out"
tally_ok "forwarding while lbd cannot start" 20 --port 80 --count 20
rm -r /run/systemd/system/lbd.service.d
systemctl daemon-reload
systemctl reset-failed lbd.service
check "with the shipped capabilities lbd starts again" systemctl start lbd.service
tally_ok "web with lbd back" 20 --port 80 --count 20

# ---------------------------------------------------------------------------- logrotate
}

step_logrotate() {
check "/etc/logrotate.d/lbd installed" test -f /etc/logrotate.d/lbd
check "logrotate -f /etc/logrotate.d/lbd" logrotate -f /etc/logrotate.d/lbd
check "the log was rotated (access.log.1)" test -s /var/log/lbd/access.log.1
tally_ok "connections after the rotation" 10 --port 81 --count 10
wait_for 20 sh -c 'grep -q "\"proxy\":\"extra\"" /var/log/lbd/access.log' &&
	pass "lbd writes a new access.log after the rotation ($(wc -l </var/log/lbd/access.log) lines)" ||
	fail "no new access.log after the rotation" "$(ls -la /var/log/lbd)"
# The shipped postrotate signals SIGUSR1 (open the log again), not a reload.
wait_for 10 sh -c 'journalctl -u lbd.service --no-pager -o cat | grep -q "SIGUSR1: opened the access log"' &&
	pass "logrotate's postrotate made lbd open the log again (SIGUSR1), no reload" ||
	fail "no SIGUSR1 reopen in lbd's journal" "$(journalctl -u lbd.service --no-pager -n 20)"

# ---------------------------------------------------------------------------- stop
}

step_stop() {
check "systemctl stop lbd" systemctl stop lbd.service
! pgrep -x lbd >/dev/null && pass "no lbd process" || fail "lbd still runs"
tally_ok "the datapath forwards with lbd stopped" 50 --port 80 --count 50
check "pins kept" test -e /sys/fs/bpf/lbd/default/lb_ct

# ---------------------------------------------------------------------------- remove
}

step_remove() {
check "apt-get remove lbd" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q lbd
! pgrep -x lbd >/dev/null && pass "no lbd process" || fail "lbd still runs after remove"
[ ! -e /sys/fs/bpf/lbd/default ] && pass "pins removed" || fail "pins left" "$(ls /sys/fs/bpf/lbd/default)"
! ip -d link show lbc0 | grep -q 'prog/xdp' && pass "no XDP left on lbc0" ||
	fail "XDP left on lbc0" "$(ip -d link show lbc0)"
[ -z "$(tc filter show dev lbc0 egress)" ] && pass "no tc filter left on lbc0" ||
	fail "tc filter left" "$(tc filter show dev lbc0 egress)"
out=$(tally --port 80 --count 5 --req-timeout 2 --timeout 20)
[ "$(jget "$out" ok)" = 0 ] && pass "nothing balances any more (5 of 5 refused)" ||
	fail "connections still balanced after remove" "$out"

}

# The lean run (arm64, emulated: everything is slower) checks installing, activation, the
# datapath, a restart under load, stop and remove.
if [ -f ./lean ]; then
	steps="setup install activation datapath restart stop remove"
else
	steps="setup install activation datapath journal reload restart watchdog capabilities logrotate stop remove"
fi
for s in $steps; do
	step "$s"
	"step_$s"
done
summary
