#!/bin/bash
# The operations kit names only metrics lbd really exports: start a real lbd in a network
# namespace (tests/integration/lib.sh) with settings.metrics-listen, health checks and
# stats on, scrape /metrics with traffic counted, and check every metric, label and label
# value used by packaging/ops/alerts.yml and grafana-dashboard.json against the scrape
# (check_metric_names.py).
# Then feed the checker deliberately wrong copies, which it must refuse.
#
# Usage: test_metric_names.sh PATH/TO/lbd
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# LBD, INSTANCE and SOCK are read by lib.sh's lbt_start_lbd.
# shellcheck disable=SC2034
LBD=$(realpath "${1:?lbd binary}")
OPS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../packaging/ops" && pwd)
CHECK=$(dirname "${BASH_SOURCE[0]}")/check_metric_names.py
# shellcheck disable=SC2034
INSTANCE=ops

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080
# shellcheck disable=SC2034
SOCK=$LBT_RUN/lbd.sock
CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<JSON
{"proxies": [{"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
  "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                     {"ip": "10.2.2.2", "port": 8080, "weight": 50}]}],
 "settings": {"metrics-listen": "127.0.0.1:9100", "stats-enabled": true,
              "health-check-enabled": true}}
JSON
lbt_start_lbd -c "$CONFIG" --teardown-on-exit

test_names_exist() {
	local out
	out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count 20)
	assert_eq "$(json_get "$out" ok)" 20 "connections through lbd"
	in_ns "$NS_LB" curl -sf --max-time 10 http://127.0.0.1:9100/metrics >"$LBT_RUN/metrics.txt" ||
		fail "cannot scrape http://127.0.0.1:9100/metrics"
	grep -q '^lbd_target_healthy{' "$LBT_RUN/metrics.txt" || fail "the scrape has no health metrics"
	"$LBT_PY" "$CHECK" "$LBT_RUN/metrics.txt" "$OPS/alerts.yml" "$OPS/grafana-dashboard.json" >&2 ||
		fail "the operations kit uses metrics or labels lbd does not export (above)"
}

# The checker must catch a wrong metric, label and label value.
test_checker_refuses_mistakes() {
	local bad=$LBT_RUN/bad from to
	mkdir -p "$bad"
	while IFS='|' read -r from to; do
		sed "s/$from/$to/" "$OPS/grafana-dashboard.json" >"$bad/dash.json"
		cmp -s "$bad/dash.json" "$OPS/grafana-dashboard.json" && fail "no '$from' in the dashboard"
		if "$LBT_PY" "$CHECK" "$LBT_RUN/metrics.txt" "$OPS/alerts.yml" "$bad/dash.json" >/dev/null; then
			fail "the checker accepted the dashboard with '$from' changed to '$to'"
		fi
	done <<-'LIST'
		lbd_connections_active{|lbd_connections_open{
		sum by (proxy, reason) (rate(lbd_drops_total|sum by (proxy, cause) (rate(lbd_drops_total
		lbd_target_healthy{instance|lbd_target_healthy{backend=\\"x\\",instance
		sum by (reason) (rate(lbd_datapath_packets_total|sum by (reason) (rate(lbd_datapath_packet_total
	LIST
	sed 's/lbd_events_lost_total/lbd_events_dropped_total/' "$OPS/alerts.yml" >"$bad/alerts.yml"
	if "$LBT_PY" "$CHECK" "$LBT_RUN/metrics.txt" "$bad/alerts.yml" "$OPS/grafana-dashboard.json" >/dev/null; then
		fail "the checker accepted an alert on lbd_events_dropped_total"
	fi
	sed 's/direction="in"/direction="inbound"/' "$LBT_RUN/metrics.txt" >"$bad/metrics.txt"
	printf 'lbd_drops_total{proxy="web",reason="x"} 0\n' >>"$bad/metrics.txt"
	sed 's/proxy, direction) (rate(lbd_bytes_total{/proxy, direction) (rate(lbd_bytes_total{direction=\\"in\\",/' \
		"$OPS/grafana-dashboard.json" >"$bad/dash.json"
	if "$LBT_PY" "$CHECK" "$bad/metrics.txt" "$OPS/alerts.yml" "$bad/dash.json" >/dev/null; then
		fail "the checker accepted a label value lbd does not export"
	fi
	grep -v '^lbd_conntrack_capacity' "$LBT_RUN/metrics.txt" >"$bad/metrics.txt"
	if "$LBT_PY" "$CHECK" "$bad/metrics.txt" "$OPS/alerts.yml" "$OPS/grafana-dashboard.json" >/dev/null; then
		fail "the checker accepted the conntrack alert without lbd_conntrack_capacity"
	fi
}

run_test test_names_exist
run_test test_checker_refuses_mistakes
run_summary
