#!/bin/bash
# lbctl top end to end: a proxy over two backends, batches of HTTP connections sent in the
# background while `lbctl top` polls, then what it showed.
#
# What is exact and what is bounded: the connections sent are counted (every batch reports
# its successes) and lbd's new-connections counter grows by exactly that many; top's rates
# depend on when its samples fall, so they are only checked to be non-negative, non-zero
# while traffic flows, and, over the frames of a run, to add up (rate x measured interval)
# to no more than was sent.
#
# Usage: test_top.sh PATH/TO/lbd PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
LBCTL=$(realpath "${2:?lbctl binary}")
INSTANCE=top
SOCK=
BATCH=5

lbt_require_env
topo_up 2
bpffs_up
start_backends 8080
SOCK=$LBT_RUN/lbd.sock

CONFIG=$LBT_RUN/lb.json
cat >"$CONFIG" <<EOF
{
  "proxies": [
    {"name": "web", "listen": {"interfaces": ["$LB_IF_C"], "port": 80},
     "default-target": [{"ip": "10.2.1.2", "port": 8080, "weight": 50},
                        {"ip": "10.2.2.2", "port": 8080, "weight": 50}]},
    {"name": "idle", "listen": {"interfaces": ["$LB_IF_C"], "port": 81},
     "default-target": {"ip": "10.2.1.2", "port": 8080}}
  ],
  "settings": {"max-connections": 65536}
}
EOF

lbctl() { "$LBCTL" -s "$SOCK" "$@"; }

lbt_start_lbd -c "$CONFIG"

# new_connections: web's new-connections counter now.
new_connections() {
	json_get "$(lbctl --json stats web | "$LBT_PY" -c \
		'import json,sys; print(json.dumps(json.load(sys.stdin)["proxies"][0]["counters"]))')" \
		new-connections
}

# traffic_loop STOP OKS: batches of $BATCH sequential connections through web until the
# file STOP exists (300 batches at most); each batch's successes appended to OKS.
traffic_loop() {
	local i out
	for ((i = 0; i < 300; i++)); do
		[[ -e $1 ]] && break
		out=$(lbtraffic "$NS_C" tally --host "$VIP" --port 80 --count "$BATCH" \
			--concurrency 1 --timeout 30) || true
		json_get "$out" ok 0 >>"$2"
	done
}

# with_traffic CMD...: run CMD while traffic_loop runs (started first, stopped after), its
# output in $LBT_RUN/out; sets SENT (connections that succeeded) and BATCHES.
with_traffic() {
	local stop=$LBT_RUN/traffic.stop oks=$LBT_RUN/traffic.oks pid
	rm -f "$stop"
	: >"$oks"
	traffic_loop "$stop" "$oks" &
	pid=$!
	wait_for "[[ -s $oks ]]" 30 || fail "no traffic batch finished within 30 s"
	"$@" >"$LBT_RUN/out"
	touch "$stop"
	wait "$pid"
	SENT=$(awk '{ s += $1 } END { print s + 0 }' "$oks")
	BATCHES=$(wc -l <"$oks")
	log "$BATCHES batches, $SENT connections sent"
	assert_eq "$SENT" "$((BATCHES * BATCH))" "connections answered ($(tr '\n' ' ' <"$oks"))"
}

# ---------------------------------------------------------------------------- tests

test_frames_follow_traffic() {
	local before after
	before=$(new_connections)
	with_traffic lbctl top --count 3 --interval 0.5
	# The last ACKs of a batch may trail it by a moment.
	sleep 1
	after=$(new_connections)
	assert_eq "$((after - before))" "$SENT" "new-connections grew by the connections sent"
	log "lbctl top output:"$'\n'"$(cat "$LBT_RUN/out")"
	"$LBT_PY" - "$LBT_RUN/out" <<'EOF' || fail "top's frames are not as expected (above)"
import re, sys
text = open(sys.argv[1]).read()
assert "\033" not in text, "escape sequences in a pipe"
frames = [f for f in text.split("\n\n") if f.strip()]
assert len(frames) == 3, f"{len(frames)} frames, not 3"
rates = []
for n, f in enumerate(frames, 1):
    lines = f.splitlines()
    assert re.match(r"\d\d:\d\d:\d\d  lbctl top, every 0.5s: rates", lines[0]), lines[0]
    assert lines[1].split()[:5] == ["PROXY/TARGET", "STATUS", "WEIGHT", "NEW/S", "ACTIVE"], lines[1]
    proxies, targets = {}, {}  # targets: of web only
    for l in lines[2:]:
        if not l.startswith("  "):
            proxy = l.split()[0]
            proxies[proxy] = l.split()
        elif proxy == "web":
            targets[l.split()[0]] = l.split()
    assert list(proxies) == ["web", "idle"], proxies.keys()
    assert list(targets) == ["10.2.1.2:8080", "10.2.2.2:8080"], targets.keys()
    for t in targets.values():
        assert t[1:3] == ["healthy", "50"], t
    rows = {**proxies, **targets}
    new = proxies["web"][1]  # a proxy row has no status or weight
    if n == 1:
        assert new == "-", f"frame 1 has a rate: {new}"
    else:
        assert re.fullmatch(r"[0-9.]+k?", new), f"frame {n}: web's NEW/S is {new!r}"
        rates.append(float(new.rstrip("k")))
    assert not any(c.startswith("-") and c != "-" for r in rows.values() for c in r), \
        f"frame {n} has a negative number"
# Batches start every few hundred ms; on a loaded machine one 0.5 s frame may see none.
assert any(r > 0 for r in rates), f"no frame saw a new connection: {rates}"
EOF
}

test_json_frames() {
	local before after
	before=$(new_connections)
	with_traffic lbctl --json top web --count 3 --interval 0.5
	sleep 1
	after=$(new_connections)
	"$LBT_PY" - "$LBT_RUN/out" "$((after - before))" <<'EOF' || fail "JSON frames: $(cat "$LBT_RUN/out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
grown = int(sys.argv[2])
assert len(lines) == 3, f"{len(lines)} lines, not 3"
frames = [json.loads(l) for l in lines]
assert frames[0]["elapsed-sec"] is None
total, moved = 0.0, 0
for n, f in enumerate(frames, 1):
    assert [p["proxy"] for p in f["proxies"]] == ["web"], f["proxies"]
    web = f["proxies"][0]
    assert [t["target"] for t in web["targets"]] == ["10.2.1.2:8080", "10.2.2.2:8080"]
    assert isinstance(web["active-connections"], int) and web["active-connections"] >= 0
    rows = [web] + web["targets"]
    if n == 1:
        assert all(r["rates"] is None for r in rows), "rates on the first frame"
        continue
    assert 0.2 < f["elapsed-sec"] < 5, f"elapsed {f['elapsed-sec']}"
    for r in rows:
        assert set(r["rates"]) == {"new-connections", "packets-in", "bytes-in",
                                   "packets-out", "bytes-out", "drops"}, r["rates"]
        for k, v in r["rates"].items():
            assert isinstance(v, (int, float)) and v >= 0, f"frame {n}: {k} = {v}"
    # Not every frame need see traffic on a busy machine; the frames together must.
    moved += web["rates"]["packets-in"] > 0 and web["rates"]["bytes-out"] > 0
    total += web["rates"]["new-connections"] * f["elapsed-sec"]
assert moved > 0, "no frame saw packets in and bytes out"
# The frames' counts are whole connections seen between the first and the last sample.
assert abs(total - round(total)) < 1e-6 and 0 < round(total) <= grown, (total, grown)
print(f"# {round(total)} of {grown} connections fell between the first and last sample")
EOF
}

test_errors() {
	local rc=0 out
	out=$("$LBCTL" -s "$LBT_RUN/nosuch.sock" top --count 1 2>&1) || rc=$?
	assert_eq "$rc" 2 "exit status of top on a missing socket"
	[[ $out == *"nosuch.sock does not exist"* ]] || fail "unclear message: $out"
	rc=0
	out=$(lbctl top nosuch --count 1 2>&1) || rc=$?
	assert_eq "$rc" 1 "exit status of top on an unknown proxy"
	[[ $out == *nosuch* ]] || fail "unclear message: $out"
	rc=0
	lbctl top --interval 0 >/dev/null 2>&1 || rc=$?
	assert_eq "$rc" 3 "exit status of top --interval 0"
	# Ctrl-C ends a run without --count with 130, after the first frame was shown.
	# --foreground: no SIGCONT after the SIGINT (under ASan it resumed lbctl while
	# LeakSanitizer's tracer had it stopped at exit, and both waited forever).
	rc=0
	timeout --foreground --preserve-status -s INT 1 "$LBCTL" -s "$SOCK" top --interval 0.2 \
		>"$LBT_RUN/out" || rc=$?
	assert_eq "$rc" 130 "exit status of top after SIGINT"
	grep -q '^web ' "$LBT_RUN/out" || fail "no frame before SIGINT: $(cat "$LBT_RUN/out")"
}

# A proxy removed and added again starts from zero: top shows no rate for a frame, never a
# negative one.
test_counter_reset() {
	local pid
	(($(new_connections) > 0)) || fail "web has no connections to reset"
	lbctl --json top --count 5 --interval 0.3 >"$LBT_RUN/out" &
	pid=$!
	wait_for "[[ -s $LBT_RUN/out ]]" 10 || fail "top showed no frame"
	sleep 0.4
	lbctl remove-proxy web >/dev/null
	lbctl add-proxy web --interface "$LB_IF_C" --port 80 10.2.1.2:8080@50 10.2.2.2:8080@50 \
		>/dev/null
	assert_eq "$(new_connections)" 0 "new-connections of web added again"
	wait "$pid" || fail "top failed across the reset"
	"$LBT_PY" - "$LBT_RUN/out" <<'EOF' || fail "frames across a reset: $(cat "$LBT_RUN/out")"
import json, sys
frames = [json.loads(l) for l in open(sys.argv[1])]
assert len(frames) == 5, len(frames)
unknown = 0
for n, f in enumerate(frames[1:], 2):
    for p in f["proxies"]:
        for r in [p] + p["targets"]:
            for k, v in (r["rates"] or {}).items():
                assert v is None or v >= 0, f"frame {n}: {p['proxy']} {k} = {v}"
        if p["proxy"] == "web":
            unknown += (p["rates"] or {}).get("new-connections") is None
assert unknown >= 1, "no frame without a rate for web across its reset"
EOF
}

# Last: stops lbd. A run that loses lbd says so and exits 2.
test_lbd_goes_away() {
	local pid rc=0
	"$LBCTL" -s "$SOCK" top --interval 0.2 >"$LBT_RUN/out" 2>"$LBT_RUN/err" &
	pid=$!
	wait_for "grep -q '^web ' '$LBT_RUN/out'" 10 || fail "top showed no frame"
	kill -TERM "$LBD_PID"
	wait_for "! kill -0 $pid" 10 || fail "top still runs after lbd stopped"
	wait "$pid" || rc=$?
	assert_eq "$rc" 2 "exit status of top when lbd goes away"
	grep -q "lbctl: .*$SOCK" "$LBT_RUN/err" || fail "unclear message: $(cat "$LBT_RUN/err")"
	log "$(cat "$LBT_RUN/err")"
}

run_test test_frames_follow_traffic
run_test test_json_frames
run_test test_errors
run_test test_counter_reset
run_test test_lbd_goes_away
run_summary
