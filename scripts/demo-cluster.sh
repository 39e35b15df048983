#!/bin/bash
# A self-contained demo of several lbd nodes behind ECMP (docs/scale-out.md): installs what
# is missing (BIRD 2 included), builds, then creates a client, a BIRD router, three lbd
# nodes (each with its own BIRD) and three backends in network namespaces, and shows
#   - the router's multipath route to the service address, one next hop per node;
#   - 300 connections spread over the nodes, and every node naming the same target for a
#     client (lbctl trace);
#   - `lbctl node drain --wait` on one node under load: counts of connections kept;
#   - a node cut off (link down, lbd and BIRD killed) under load, in dsr and in full-nat
#     mode: counts of connections kept and lost, and how long the router took to notice.
# Removes everything again. Needs root; takes about three minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
scripts/build.sh >/dev/null
LBD=$PWD/build/daemon/lbd
LBCTL=$PWD/build/ctl/lbctl

LBT_PREFIX=lbclu$$
. tests/integration/lib.sh
. tests/integration/cluster.sh
say() { printf '\n== %s\n' "$*"; }
counts() { "$LBT_PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("%d of %d kept, %d failed" % (r["ok"], r["total"], r["failed"]))' "$1"; }

say "building the topology: client, router, nodes n1-n3, backends b1-b3 (BIRD everywhere)"
cluster_up
expect_nexthops "10.3.0.11 10.3.0.12 10.3.0.13" 60
say "the router's route to $VIPS (learnt over BGP from every node)"
ip -n "$NS_R" route show "$VIPS"
say "node n1: lbctl node status"
lbctl_on n1 node status

say "300 new connections to $VIPS:81 (full-nat), per node"
for n in "${NODES[@]}"; do before[${n#n}]=$(new_flows "$n" fnat); done
out=$(lbtraffic "$NS_C" tally --host "$VIPS" --port 81 --count 300 --timeout 90)
echo "client: $(json_get "$out" ok) of 300 answered, by backend $(json_get "$out" by_backend)"
for n in "${NODES[@]}"; do echo "$n: $(($(new_flows "$n" fnat) - before[${n#n}])) connections"; done
say "which target each node would give client 10.1.0.2:40001 (lbctl trace on each)"
for n in "${NODES[@]}"; do
	echo "$n: $(json_get "$(lbctl_on "$n" --json trace dsr 10.1.0.2:40001)" target.address)"
done

say "lbctl node drain --wait on n2, with 100 long-lived dsr connections and new ones arriving"
hold_and_stream 80
lbctl_on n2 node drain --wait --timeout 60s
ip -n "$NS_R" route show "$VIPS"
stop_load
echo "long-lived: $(counts "$HOLD"); new: $(counts "$STREAM")"
lbctl_on n2 node undrain >/dev/null
expect_nexthops "10.3.0.11 10.3.0.12 10.3.0.13"

say "n1 cut off (link down, lbd and BIRD killed) under dsr load"
hold_and_stream 80
t0=$(lbt_now_us)
cut n1
expect_nexthops "10.3.0.12 10.3.0.13" 10
echo "the router withdrew n1 after $((($(lbt_now_us) - t0) / 1000)) ms (BFD)"
sleep 3
stop_load
echo "long-lived: $(counts "$HOLD"); new: $(counts "$STREAM")"

say "n2 cut off under full-nat load (its connections are lost, the others are not)"
hold_and_stream 81
echo "n2 has $(proxy_counter n2 fnat active-connections) connections open (its share of the 100 long-lived ones, and new ones in flight)"
cut n2
expect_nexthops "10.3.0.13" 10
sleep 10
stop_load
echo "long-lived: $(counts "$HOLD"); new: $(counts "$STREAM")"
say "done; removing everything"
