#!/bin/bash
# All or nothing: a change that fails at any of its steps leaves everything as it was.
#
# For each step of lbd_apply() (access-log, metrics, attach, ingress, sni, model, maps:
# LBD_FAULT makes the first change after start fail there, once), lbd starts with one
# configuration and is asked to reload a second one that touches every side effect at
# once: a new access log, the metrics listener moved from 127.0.0.1 to 0.0.0.0 on the same
# port, a new interface, another ingress hook, a new SNI proxy (a new acceptor), new SNI
# acceptor settings, a 127.0.0.1 target (route_localnet), routes and listeners. The reload
# is refused, and the configuration, the interfaces and their hooks, the maps, the SNI
# acceptors and their settings, /metrics, the open access log and route_localnet are
# exactly as before. The same reload then succeeds (the fault fired once) and all of it
# is there. Last, a real failure: a metrics address another program holds.
#
# Usage: test_apply_atomic.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=atom

lbt_require_env
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
PIN=$BPFFS/lbd/$INSTANCE
lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

# The configuration lbd starts with, and the change every step is asked to apply.
config_before() {
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "b2.example.com", "target": {"ip": "10.2.2.2", "port": 8080}}]}],
 "settings": {"metrics-listen": "127.0.0.1:9100", "access-log": "$LBT_LOGDIR/access-0.log",
              "stats-enabled": true, "sni-hello-timeout-ms": 1500, "sni-max-pending": 100}}
EOF
}
config_after() {
	cat >"$CONFIG" <<EOF
{"proxies": [
  {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
   "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                      {"ip": "10.2.2.2", "port": 8080, "weight": 50}],
   "source-routes": [{"source": "10.1.0.3/32", "target": {"ip": "127.0.0.1", "port": 8080}}]},
  {"name": "tls", "listen": {"interfaces": ["$LB_IF_C"], "port": 443},
   "default-target": {"ip": "10.2.1.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "b2.example.com", "target": {"ip": "10.2.2.2", "port": 8080}}]},
  {"name": "tls2", "listen": {"interfaces": ["$LB_IF_C"], "port": 8443},
   "default-target": {"ip": "10.2.2.2", "port": 8080},
   "sni-routes": [{"sni-hostname": "b1.example.com", "target": {"ip": "10.2.1.2", "port": 8080}}]},
  {"name": "inner", "listen": {"interfaces": ["${LB_IF_BACKENDS[0]}"], "port": 8081},
   "default-target": {"ip": "10.2.2.2", "port": 8080}}],
 "settings": {"metrics-listen": "0.0.0.0:9100", "access-log": "$LBT_LOGDIR/access-1.log",
              "stats-enabled": true, "sni-hello-timeout-ms": 700, "sni-max-pending": 50,
              "ingress": "xdp"}}
EOF
}

# Everything observable, one section per thing (counters, which move with traffic, left out).
observe() {
	local m
	echo "== config"
	lbctl --json get-config
	echo "== interfaces"
	lbctl --json status | "$LBT_PY" -c 'import json,sys; print(json.load(sys.stdin)["interfaces"])'
	echo "== acceptors"
	lbctl --json list-proxies | "$LBT_PY" -c 'import json,sys
for p in json.load(sys.stdin)["proxies"]:
    a = p.get("sni-acceptor")
    print(p["name"], a and {k: a[k] for k in ("port", "hello-timeout-ms", "max-pending")})'
	echo "== listening sockets"
	in_ns "$NS_LB" ss -Hltn | awk '{print $4}' | sort
	echo "== metrics"
	in_ns "$NS_LB" curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 http://127.0.0.1:9100/metrics || true
	echo "== access log"
	for f in /proc/"$LBD_PID"/fd/*; do readlink "$f"; done 2>/dev/null | grep '\.log$' | sort
	echo "== route_localnet"
	in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$LB_IF_C.route_localnet"
	echo "== hooks"
	in_ns "$NS_LB" bpftool -j net show | "$LBT_PY" -c 'import json,sys
d = json.load(sys.stdin)[0]
print(sorted((x["devname"], x.get("mode")) for x in d.get("xdp", [])))
print(sorted((x["devname"], x["kind"]) for x in d.get("tc", [])))'
	for m in lb_listen lb_routes lb_groups lb_pnames lb_tnames; do
		echo "== $m"
		bpftool -j map dump pinned "$PIN/$m"
	done
}

# start_lbd [FAULT]: a fresh lbd on the "before" configuration (after the previous test's,
# should that one have failed before stopping it).
start_lbd() {
	if [[ -s $LBT_RUN/lbd.pid ]] && kill -0 "$(cat "$LBT_RUN/lbd.pid")" 2>/dev/null; then
		LBD_PID=$(cat "$LBT_RUN/lbd.pid")
		stop_lbd
	fi
	config_before
	LBD_FAULT=${1:-} lbt_start_lbd -c "$CONFIG"
	echo "$LBD_PID" >"$LBT_RUN/lbd.pid"
	wait_for "[[ \$(in_ns $NS_LB curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9100/metrics) == 200 ]]" 10 ||
		fail "no metrics listener at start"
}

stop_lbd() {
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $LBD_PID" 10 || fail "lbd did not stop"
	in_ns "$NS_LB" "$LBD" --bpffs "$BPFFS" --instance "$INSTANCE" --teardown >/dev/null 2>&1 || true
}

# refused_at POINT: the change fails at POINT and nothing observable moves; then it applies.
refused_at() {
	local point=$1 before after out
	start_lbd "$point"
	before=$(observe)
	config_after
	out=$(lbctl reload 2>&1) && fail "the reload applied despite LBD_FAULT=$point: $out"
	[[ $out == *"injected failure at $point"* ]] || fail "not refused at $point: $out"
	after=$(observe)
	[[ $after == "$before" ]] ||
		fail "a change refused at $point left traces: $(diff <(echo "$before") <(echo "$after") | head -30 || true)"
	kill -0 "$LBD_PID" || fail "lbd exited"
	# The fault fired once: the same change now applies, every part of it.
	out=$(lbctl reload 2>&1) || fail "the second reload was refused: $out"
	after=$(observe)
	[[ $after == *"tls2 {'port'"*"'hello-timeout-ms': 700"* ]] || fail "no acceptor for tls2 after the change"
	[[ $after == *"${LB_IF_BACKENDS[0]}"* ]] || fail "${LB_IF_BACKENDS[0]} not attached after the change"
	[[ $after == *"0.0.0.0:9100"* ]] || fail "metrics not moved to 0.0.0.0:9100"
	[[ $after == *"access-1.log"* ]] || fail "access-1.log not open after the change"
	[[ $(in_ns "$NS_LB" sysctl -n "net.ipv4.conf.$LB_IF_C.route_localnet") == 1 ]] ||
		fail "route_localnet not set for the 127.0.0.1 target"
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 8443 --count 5 --sni b1.example.com)
	assert_eq "$(json_get "$out" by_backend)" '{"b1": 5}' "SNI routing of the new proxy ($out)"
	stop_lbd
}

test_refused_at_access_log() { refused_at access-log; }
test_refused_at_metrics() { refused_at metrics; }
test_refused_at_attach() { refused_at attach; }
test_refused_at_ingress() { refused_at ingress; }
test_refused_at_sni() { refused_at sni; }
test_refused_at_model() { refused_at model; }
test_refused_at_maps() { refused_at maps; }

# A real failure: the new metrics address is taken by another program.
test_metrics_address_taken() {
	local before after out
	start_lbd
	spawn "$NS_LB" squatter "$LBT_PY" -c 'import socket,time
s=socket.socket(); s.bind(("127.0.0.1", 9101)); s.listen(); time.sleep(60)'
	wait_for "in_ns $NS_LB ss -Hltn | grep -q 127.0.0.1:9101" 5 || fail "the squatter did not bind"
	before=$(observe)
	config_before
	sed -i 's/127.0.0.1:9100/127.0.0.1:9101/' "$CONFIG"
	out=$(lbctl reload 2>&1) && fail "the reload applied on a taken address: $out"
	[[ $out == *"settings.metrics-listen"* ]] || fail "the refusal does not name the setting: $out"
	after=$(observe)
	[[ $after == "$before" ]] ||
		fail "the refused change left traces: $(diff <(echo "$before") <(echo "$after") | head -30 || true)"
	stop_proc squatter
	stop_lbd
}

run_test test_refused_at_access_log
run_test test_refused_at_metrics
run_test test_refused_at_attach
run_test test_refused_at_ingress
run_test test_refused_at_sni
run_test test_refused_at_model
run_test test_refused_at_maps
run_test test_metrics_address_taken
run_summary
