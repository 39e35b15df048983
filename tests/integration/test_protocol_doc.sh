#!/bin/bash
# proto/PROTOCOL.md stays true: every request example in it is sent to a real lbd and the
# reply must match the documented one.
#
# Usage: test_protocol_doc.sh PATH/TO/lbd PATH/TO/PROTOCOL.md PATH/TO/lbctl
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LBD=$(realpath "${1:?lbd binary}")
DOC=$(realpath "${2:?PROTOCOL.md}")
LBCTL=$(realpath "${3:?lbctl binary}")
DOCPY=$LBT_DIR/protocol_doc.py

lbt_require_env
topo_up 3
bpffs_up
CONFIG=$LBT_RUN/doc.json
"$LBT_PY" "$DOCPY" config "$DOC" >"$CONFIG"
SOCK=$LBT_RUN/lbd.sock
spawn "$NS_LB" lbd "$LBD" --bpffs "$BPFFS" --socket "$SOCK" --teardown-on-exit -c "$CONFIG"
LBD_PID=$LBT_LAST_PID
lbt_on_exit "kill -TERM $LBD_PID 2>/dev/null; sleep 0.5"
wait_for "grep -q 'ready:' '$LBT_LOGDIR/lbd.log' || ! kill -0 $LBD_PID" 20 || true
grep -q 'ready:' "$LBT_LOGDIR/lbd.log" || fail "lbd did not start: $(tail -n 5 "$LBT_LOGDIR/lbd.log")"

test_every_documented_example() {
	local out
	out=$("$LBT_PY" "$DOCPY" run "$DOC" "$SOCK") || fail "$(grep -A2 "^FAIL" <<<"$out" | head -n 12)"
	log "$(tail -n 1 <<<"$out")"
}

# Every method of the shared table (lbctl has one subcommand per method) has an example.
test_every_method_has_an_example() {
	local m missing=""
	for m in $("$LBCTL" --list-commands); do
		[[ $m == call || $m == help || $m == top ]] && continue # lbctl builtins
		grep -q "\"method\":\"$m\"" "$DOC" || missing="$missing $m"
	done
	[[ -z $missing ]] || fail "methods without an example in PROTOCOL.md:$missing"
}

run_test test_every_documented_example
run_test test_every_method_has_an_example
run_summary
