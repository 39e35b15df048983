#!/bin/bash
# Boot Debian 12's own kernel (linux-image-6.1.0-*) under qemu-system in software emulation
# and run lbd's BPF_PROG_TEST_RUN suites (the tests in tests/bpf/) inside it, for x86_64,
# arm64 or both (default: all). docs/kernels.md says what this verifies and what it does not.
#
# Per arch: builds the tests statically in $KERNELS_BUILD/<arch> (default build-kernels/ in
# this tree, ignored by git; arm64 with scripts/cross/arm64.ini), fetches and unpacks the
# kernel package apt offers for linux-image-<debarch> into $KERNELS_CACHE (default
# /var/cache/lbd-kernels), packs busybox, tests/kernels/init and the stripped test binaries
# into a gzip initramfs, boots it under `timeout` and reads the serial console. Exits
# non-zero when a test fails, a test or the summary is missing, the kernel that ran is not
# the one booted, or the VM does not finish within $KERNELS_TIMEOUT seconds (default 300).
#
# Knobs: KERNELS_SMP (default 2) CPUs per VM; KERNELS_APPEND adds kernel parameters (e.g.
# loglevel=7 to see the boot); CK_TIMEOUT_MULTIPLIER (default 20) stretches Check's
# per-test timeouts, which were chosen for the host.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${KERNELS_BUILD:-$src/build-kernels}
cache=${KERNELS_CACHE:-/var/cache/lbd-kernels}
vm_timeout=${KERNELS_TIMEOUT:-300}
smp=${KERNELS_SMP:-2}

case "${1:-all}" in
x86_64 | arm64) arches=$1 ;;
all) arches="x86_64 arm64" ;;
*)
	echo "usage: $0 [x86_64|arm64|all]" >&2
	exit 2
	;;
esac

scripts/install-deps.sh kernels
case " $arches " in *" arm64 "*) scripts/install-deps.sh arm64 ;; esac

log() { echo "test-kernels: $*"; }
die() {
	echo "test-kernels: $*" >&2
	exit 1
}

# What differs between the arches.
arch_vars() {
	case "$1" in
	x86_64)
		debarch=amd64 multiarch=x86_64-linux-gnu cross="" strip=strip console=ttyS0
		qemu=(qemu-system-x86_64 -machine q35 -cpu max)
		;;
	arm64)
		# tests/kernels/static.ini: static binaries run under qemu-user without a loader.
		debarch=arm64 multiarch=aarch64-linux-gnu cross="--cross-file=$src/scripts/cross/arm64.ini
			--cross-file=$src/tests/kernels/static.ini"
		strip=aarch64-linux-gnu-strip console=ttyAMA0
		# pauth-impdef: QEMU's cheap pointer-authentication hash; the architected one
		# (QARMA) costs much of the emulation time for nothing tested here.
		qemu=(qemu-system-aarch64 -machine virt -cpu 'max,pauth-impdef=on')
		;;
	esac
}

# apt-get download PKG (PKG may carry :arch and =version) into the current directory,
# refreshing the package lists once if the archive has moved on since they were fetched.
download() {
	apt-get download -qq "$1" 2>/dev/null || {
		apt-get update -qq
		apt-get download -qq "$1"
	}
}

# Unpack the kernel linux-image-$debarch depends on today; sets kdir (the unpacked /boot),
# kpkg, kver (package version) and krel (uname -r of that kernel).
fetch_kernel() {
	local meta=linux-image-$debarch:$debarch tmp
	kpkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' |
		head -n 1)
	[ -n "$kpkg" ] || die "cannot resolve $meta to a kernel package (apt-get update?)"
	kver=$(apt-cache show --no-all-versions "$kpkg:$debarch" | sed -n 's/^Version: //p')
	kdir=$cache/${kpkg}_$kver
	if [ ! -d "$kdir/boot" ]; then
		log "fetching $kpkg $kver ($debarch)"
		tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
		# Only boot/ (kernel, config, System.map); the few modules a test needs come
		# from fetch_modules.
		(cd "$tmp" && download "$kpkg:$debarch=$kver" && mkdir root &&
			dpkg-deb --fsys-tarfile ./*.deb | tar -x -C root ./boot)
		rm -rf "$kdir"
		mv "$tmp/root" "$kdir"
		rm -rf "$tmp"
	fi
	krel=${kpkg#linux-image-}
	fetch_modules
}

# The modules the tests need beyond the kernel itself, into $kdir/modules: veth (bpf-dsr's
# FIB, tests/bpf/test_dsr.c). Fetched once per kernel, beside an earlier boot/.
KERNEL_MODULES="drivers/net/veth.ko"
fetch_modules() {
	local tmp m missing=
	for m in $KERNEL_MODULES; do
		[ -e "$kdir/modules/${m##*/}" ] || missing=1
	done
	[ -n "$missing" ] || return 0
	log "fetching modules of $kpkg $kver: $KERNEL_MODULES"
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	(cd "$tmp" && download "$kpkg:$debarch=$kver" && mkdir root &&
		dpkg-deb --fsys-tarfile ./*.deb | tar -x -C root ./lib/modules/"$krel"/kernel)
	mkdir -p "$kdir/modules"
	for m in $KERNEL_MODULES; do
		cp "$tmp/root/lib/modules/$krel/kernel/$m" "$kdir/modules/" ||
			die "$kpkg has no $m"
	done
	rm -rf "$tmp"
}

# A static busybox for the guest: the host's for x86_64, busybox-static:arm64's for arm64.
fetch_busybox() {
	local tmp
	if [ "$debarch" = amd64 ]; then
		busybox=/bin/busybox
		return
	fi
	busybox=$cache/busybox-$debarch
	[ -x "$busybox" ] && return
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	(cd "$tmp" && download "busybox-static:$debarch" && dpkg-deb -x ./*.deb root)
	mv "$tmp/root/bin/busybox" "$busybox"
	rm -rf "$tmp"
}

# Build the tests statically; sets tests to "NAME PATH" lines: every test in tests/bpf/ and
# unit-splice, the one test that loads lb_splice.bpf.o (its sockmap cases, over loopback).
build_tests() {
	local b=$1 libs=$1.libs
	if [ ! -f "$b/build.ninja" ]; then
		# Debian ships libuv's static archive as libuv_a.a: -luv finds it under its name.
		mkdir -p "$libs"
		ln -sf "/usr/lib/$multiarch/libuv_a.a" "$libs/libuv.a"
		# shellcheck disable=SC2086
		meson setup "$b" $cross -Dtests=enabled -Dprefer_static=true \
			-Dc_link_args="-static -L$libs" >"$b.setup.log" 2>&1 || {
			cat "$b.setup.log"
			die "meson setup $b failed"
		}
	fi
	# Regenerate first: a test added to a meson.build since the last run must be listed.
	ninja -C "$b" build.ninja >/dev/null
	tests=$(meson introspect --tests "$b" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    exe = t["cmd"][-1]
    if "/tests/bpf/" in exe or t["name"] == "unit-splice":
        print(t["name"], exe)')
	[ -n "$tests" ] || die "no test in tests/bpf/ found in $b"
	# shellcheck disable=SC2046
	ninja -C "$b" $(echo "$tests" | awk -v b="$b/" '{ sub(b, "", $2); print $2 }') >/dev/null
}

# Pack the initramfs: busybox, /init, the stripped tests, their list and settings.
make_initramfs() {
	local b=$1 root=$1/initramfs name exe
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests}
	mknod -m 600 "$root/dev/console" c 5 1
	cp "$busybox" "$root/bin/busybox"
	install -m 755 tests/kernels/init "$root/init"
	mkdir -p "$root/modules"
	cp "$kdir"/modules/*.ko "$root/modules/"
	: >"$root/tests/list"
	while read -r name exe; do
		"$strip" -o "$root/tests/${exe##*/}" "$exe"
		echo "$name ${exe##*/}" >>"$root/tests/list"
	done <<<"$tests"
	# Check's per-test timeouts were set for the host; emulation is 10-50 times slower.
	echo "CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-20}" >"$root/tests/env"
	(cd "$root" && find . | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$b/initramfs.cpio.gz"
}

# Boot the kernel with the initramfs, the serial console to $b/serial.log and stdout; then
# judge the log. Returns non-zero on any failure.
boot_and_check() {
	local b=$1 serial=$1/serial.log rc=0 name exe ok=0 summary
	log "booting $krel ($kpkg $kver) under ${qemu[0]}, timeout ${vm_timeout}s"
	timeout -k 10 "$vm_timeout" "${qemu[@]}" -m 1G -smp "$smp" -nographic -no-reboot \
		-kernel "$kdir/boot/vmlinuz-$krel" -initrd "$b/initramfs.cpio.gz" \
		-append "console=$console panic=-1 quiet ${KERNELS_APPEND:-}" \
		</dev/null 2>&1 | sed -u 's/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
		tee "$serial" || rc=${PIPESTATUS[0]}
	case $rc in
	0) ;;
	124 | 137)
		log "FAIL: the VM did not finish within ${vm_timeout}s"
		ok=1
		;;
	*)
		log "FAIL: qemu exited with $rc"
		ok=1
		;;
	esac
	summary=$(grep -a '^lbd-kernel-test: SUMMARY ' "$serial" || true)
	if [ -z "$summary" ]; then
		log "FAIL: no summary line on the serial console"
		ok=1
	elif [[ "$summary" != *" kernel=$krel "* ]]; then
		log "FAIL: the VM ran another kernel than $krel: $summary"
		ok=1
	fi
	while read -r name exe; do
		grep -aq "^lbd-kernel-test: PASS $name " "$serial" || {
			log "FAIL: $name did not pass"
			ok=1
		}
	done <<<"$tests"
	return $ok
}

mkdir -p "$build" "$cache"
status=0
results=""
for arch in $arches; do
	start=$SECONDS
	arch_vars "$arch"
	fetch_kernel
	fetch_busybox
	log "$arch: building the tests statically in $build/$arch"
	build_tests "$build/$arch"
	make_initramfs "$build/$arch"
	boot=$SECONDS
	if boot_and_check "$build/$arch"; then
		verdict=PASS
	else
		verdict=FAIL
		status=1
	fi
	results+="test-kernels: $verdict $arch, kernel $krel ($kpkg $kver): $((SECONDS - start)) s"
	results+=" ($((SECONDS - boot)) s in the VM)"$'\n'
done
printf '%s' "$results"
exit $status
