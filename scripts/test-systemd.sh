#!/bin/bash
# lbd under real systemd: boot Debian 12 (systemd as PID 1, Debian's linux-image-amd64)
# under qemu-system-x86_64 in software emulation, install the package with
# `apt-get install ./lbd_*.deb` and check, with real traffic between namespaces the guest
# creates: socket activation, `systemctl status` with lbd's sd_notify status, reload as a
# diff, restart under load, the watchdog restarting a SIGSTOPped lbd, stop (the datapath
# forwards) and `apt-get remove` (it is torn down), journal priorities, the hardened unit's
# exposure and that CAP_SYS_ADMIN is still needed, logrotate. tests/vm/systemd-guest.sh
# is what runs inside; tests/vm/image.sh builds the image (cached in /var/cache/lbd-vm).
#
#   scripts/test-systemd.sh [lbd_VERSION_amd64.deb]      (default: build it first)
#
# Prints the guest's console and one line per check; exits non-zero when a check fails,
# a step is missing, or the guest does not finish within $SYSTEMD_TEST_TIMEOUT seconds
# (default 600; a passing run takes about 250). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
vm_timeout=${SYSTEMD_TEST_TIMEOUT:-600}
t_start=$SECONDS

log() { echo "test-systemd: $*"; }
die() {
	echo "test-systemd: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "needs root"
scripts/install-deps.sh vm

work=$(mktemp -d /tmp/lbd-test-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT

deb=${1:-}
if [ -z "$deb" ]; then
	scripts/build-deb.sh -o "$work/out"
	deb=$(ls "$work"/out/lbd_*_amd64.deb)
fi
[ -f "$deb" ] || die "$deb: no such file"
[ "$(dpkg-deb -f "$deb" Architecture)" = amd64 ] || die "$deb is not an amd64 package"

t=$SECONDS
image=$(tests/vm/image.sh x86_64)
t_image=$((SECONDS - t))
log "image $image ($t_image s): $(grep -h '^kernel=\|^built=' "$image/info" | tr '\n' ' ')"

mkdir "$work/payload"
cp tests/vm/systemd-guest.sh "$work/payload/run.sh"
cp tests/integration/lbtraffic.py "$deb" "$work/payload/"
. tests/vm/lib.sh
vm_payload "$work/payload" "$work/payload.tar"

log "booting the guest (timeout ${vm_timeout}s)"
t=$SECONDS
status=0
vm_qemu x86_64 "$image" "$image/root.img" "$work/payload.tar" "" "$vm_timeout" "$work/console.log" ||
	status=1
t_vm=$((SECONDS - t))
console=$work/console.log

# Judge the console: the payload ran to its end, every step was reached, nothing failed.
grep -aq '^lbd-vm: EXIT 0$' "$console" || {
	log "FAIL: the guest's test did not exit 0 ($(grep -a '^lbd-vm: EXIT' "$console" || echo 'no exit line'))"
	status=1
}
for s in setup install activation datapath journal reload restart watchdog capabilities \
	logrotate stop remove; do
	grep -aq "^systemd-test: --- $s\$" "$console" || {
		log "FAIL: step $s never ran"
		status=1
	}
done
summary=$(grep -a -E '^systemd-test: [0-9]+ passed, [0-9]+ failed$' "$console" || true)
if [ -z "$summary" ]; then
	log "FAIL: no summary line from the guest"
	status=1
elif [[ $summary != *" 0 failed" ]]; then
	log "FAIL: $summary"
	grep -a '^systemd-test: FAIL' "$console" | sed 's/^/  /'
	status=1
fi
boot=$(sed -n 's/^lbd-vm: START uptime=\([0-9.]*\)s.*/\1/p' "$console")
log "timings: image ${t_image} s, guest ${t_vm} s (booted to multi-user.target in ${boot:-?} s)," \
	"total $((SECONDS - t_start)) s"
if [ "$status" -eq 0 ]; then
	log "PASS ($summary)"
else
	log "FAIL"
fi
exit $status
