#!/bin/bash
# lbd under real systemd: boot Debian 12 (systemd as PID 1, Debian's kernel) under
# qemu-system in software emulation, install the package with `apt-get install ./lbd_*.deb`
# and check, with real traffic between namespaces the guest creates: socket activation,
# `systemctl status` with lbd's sd_notify status, reload as a diff, restart under load, the
# watchdog restarting a SIGSTOPped lbd, stop (the datapath forwards) and `apt-get remove`
# (it is torn down), journal priorities, the hardened unit's exposure and that
# CAP_SYS_ADMIN is still needed, logrotate. tests/vm/systemd-guest.sh is what runs inside;
# tests/vm/image.sh builds the image (cached in /var/cache/lbd-vm).
#
#   scripts/test-systemd.sh [--arch x86_64|arm64] [lbd_VERSION_ARCH.deb]
#
# Without a package, scripts/build-deb.sh builds one first. --arch arm64 boots Debian's
# arm64 kernel under qemu-system-aarch64 with the arm64 package (build-deb.sh --arch
# arm64) and runs the lean subset (install, activation, datapath, restart under load,
# stop, remove): emulating arm64 is several times slower. Prints the guest's console and
# one line per check; exits non-zero when a check fails, a step is missing, or the guest
# does not finish within $SYSTEMD_TEST_TIMEOUT seconds (default 600 for x86_64, 1200 for
# arm64). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
t_start=$SECONDS
arch=x86_64
if [ "${1:-}" = --arch ]; then
	arch=${2:-}
	shift 2
fi
case $arch in
x86_64)
	debarch=amd64
	steps="setup install activation datapath journal reload restart watchdog capabilities logrotate stop remove"
	vm_timeout=${SYSTEMD_TEST_TIMEOUT:-600}
	;;
arm64)
	debarch=arm64
	steps="setup install activation datapath restart stop remove"
	vm_timeout=${SYSTEMD_TEST_TIMEOUT:-1200}
	;;
*)
	echo "usage: $0 [--arch x86_64|arm64] [lbd_VERSION_ARCH.deb]" >&2
	exit 2
	;;
esac

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
	scripts/build-deb.sh --arch "$debarch" -o "$work/out"
	deb=$(ls "$work"/out/lbd_*_"$debarch".deb)
fi
[ -f "$deb" ] || die "$deb: no such file"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$debarch" ] || die "$deb is not an $debarch package"

t=$SECONDS
image=$(tests/vm/image.sh "$arch")
t_image=$((SECONDS - t))
log "image $image ($t_image s): $(grep -h '^kernel=\|^built=' "$image/info" | tr '\n' ' ')"

mkdir "$work/payload"
cp tests/vm/systemd-guest.sh "$work/payload/run.sh"
cp tests/integration/lbtraffic.py "$deb" "$work/payload/"
[ "$arch" = x86_64 ] || touch "$work/payload/lean"
. tests/vm/lib.sh
vm_payload "$work/payload" "$work/payload.tar"

log "booting the $arch guest (timeout ${vm_timeout}s)"
t=$SECONDS
status=0
vm_qemu "$arch" "$image" "$image/root.img" "$work/payload.tar" "" "$vm_timeout" "$work/console.log" ||
	status=1
t_vm=$((SECONDS - t))
console=$work/console.log

# Judge the console: the payload ran to its end, every step was reached, nothing failed.
grep -aq '^lbd-vm: EXIT 0$' "$console" || {
	log "FAIL: the guest's test did not exit 0 ($(grep -a '^lbd-vm: EXIT' "$console" || echo 'no exit line'))"
	status=1
}
for s in $steps; do
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
	log "PASS $arch ($summary)"
else
	log "FAIL $arch"
fi
exit $status
