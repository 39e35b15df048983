#!/bin/bash
# A self-contained demo: installs what is missing, builds, then creates a client, a load
# balancer and three backends in network namespaces, runs lbd with a 50/30/20 weighted
# configuration, sends 300 HTTP connections and a UDP burst through it, adds an IPv6
# proxy at runtime with lbctl and sends 300 connections over IPv6, shows which backend
# answered, and removes everything again. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
LBD=$PWD/build/daemon/lbd

LBT_PREFIX=lbdemo$$
. tests/integration/lib.sh
lbt_require_env
topo_up 3
topo_ipv6
bpffs_up
start_backends 8080
start_backends6 8081 --tcp

CONFIG=$LBT_RUN/demo.json
sed "s/\"eth0\"/\"$LB_IF_C\"/" packaging/examples/weighted.json >"$CONFIG"
echo
echo "== configuration ($CONFIG)"
cat "$CONFIG"

spawn "$NS_LB" lbd "$LBD" --bpffs "$BPFFS" --socket "$LBT_RUN/lbd.sock" --teardown-on-exit \
	-c "$CONFIG"
LBD_PID=$LBT_LAST_PID
lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5"
wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd.log' || ! kill -0 $LBD_PID" 20 || true
grep -q 'ready:' "$LBT_LOGDIR/lbd.log" || {
	cat "$LBT_LOGDIR/lbd.log"
	exit 1
}
echo
echo "== lbd log"
cat "$LBT_LOGDIR/lbd.log"
echo
echo "== programs on $LB_IF_C (bpftool net)"
in_ns "$NS_LB" bpftool net show dev "$LB_IF_C" | sed -n '/^xdp/,/^flow/p' | grep -v '^flow'

echo "== one request: curl http://$VIP/"
in_ns "$NS_C" curl -s "http://$VIP/"
echo
echo "== lbctl status"
build/ctl/lbctl -s "$LBT_RUN/lbd.sock" status

report() {
	"$LBT_PY" - "$1" "$2" <<'PY'
import json, sys
r = json.loads(sys.argv[1].splitlines()[-1])
print(f"{sys.argv[2]}: {r['ok']} of {r['total']} answered")
for name, n in sorted(r["by_backend"].items()):
    print(f"  {name}  {n:4d}  {100.0 * n / max(r['ok'], 1):5.1f}%  " + "#" * (n // 5))
PY
}
echo
echo "== 300 new TCP connections to $VIP:80 (configured 50/30/20)"
report "$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 300)" "tcp"
echo
echo "== 200 UDP datagrams to $VIP:5353 (configured 50/50)"
report "$(lbtraffic "$NS_C" tally --proto udp --host "$VIP" --port 5353 --count 200)" "udp"
echo
echo "== lbctl add-proxy web6: IPv6, at runtime (50/30/20)"
# Port 81: "web" listens on port 80 of every address of the interface, IPv6 ones included.
build/ctl/lbctl -s "$LBT_RUN/lbd.sock" add-proxy web6 --interface "$LB_IF_C" --address "$VIP6" \
	--port 81 "[${BACKEND_IPS6[0]}]:8081@50" "[${BACKEND_IPS6[1]}]:8081@30" \
	"[${BACKEND_IPS6[2]}]:8081@20"
echo
echo "== 300 new TCP connections to [$VIP6]:81"
report "$(lbtraffic "$NS_C" tally --host "$VIP6" --port 81 --count 300)" "tcp6"
echo
kill -TERM "$LBD_PID"
wait_for "! kill -0 $LBD_PID" 10
echo "== lbd stopped: $(tail -n 1 "$LBT_LOGDIR/lbd.log")"
echo "demo finished; namespaces are being removed"
