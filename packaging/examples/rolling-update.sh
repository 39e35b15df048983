#!/bin/bash
# Rolling update of a proxy's backends without dropping a connection:
# for each target: drain it (no new connections, existing ones finish), wait until its
# last connection closed, replace it, put it back into rotation.
#
#   rolling-update.sh [-s SOCKET] [--timeout 60s] PROXY 'REPLACE-COMMAND' TARGET...
#
# REPLACE-COMMAND runs once per target with $TARGET set (ip:port), e.g.
#   rolling-update.sh web 'ssh deploy@${TARGET%:*} systemctl restart app' 10.0.0.1:8080 10.0.0.2:8080
# It must return only when the new instance serves. A drain that times out stops the
# update (its connections are not cut; undrain or retry by hand).
set -euo pipefail

LBCTL=${LBCTL:-lbctl}
sock=()
timeout=60s
while [[ $# -gt 0 && $1 == -* ]]; do
	case $1 in
	-s) sock=(-s "$2"); shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	*) echo "usage: $0 [-s SOCKET] [--timeout DURATION] PROXY 'REPLACE-COMMAND' TARGET..." >&2; exit 3 ;;
	esac
done
[[ $# -ge 3 ]] || { echo "usage: $0 [-s SOCKET] [--timeout DURATION] PROXY 'REPLACE-COMMAND' TARGET..." >&2; exit 3; }
proxy=$1 replace=$2
shift 2

for TARGET in "$@"; do
	export TARGET
	echo "== $TARGET: draining"
	if ! "$LBCTL" "${sock[@]}" drain "$proxy" "$TARGET" --timeout "$timeout" --wait; then
		echo "== $TARGET: drain did not complete; stopping the update" >&2
		exit 1
	fi
	echo "== $TARGET: replacing"
	bash -c "$replace"
	echo "== $TARGET: back into rotation"
	"$LBCTL" "${sock[@]}" undrain "$proxy" "$TARGET"
done
echo "== all targets updated"
