#!/bin/bash
# Build (or find in the cache) a bootable Debian 12 disk image for lbd's booted tests:
#
#   tests/vm/image.sh x86_64|arm64      prints the image's folder
#
# The folder (under $LBD_VM_CACHE, default /var/cache/lbd-vm) holds root.img (a raw ext4
# file system: Debian 12 minbase, systemd as init, the tools the guest checks use and lbd's
# runtime dependencies, so that `apt-get install ./lbd_*.deb` needs no network), vmlinuz and
# initrd.img (the kernel and the initramfs to boot it with) and info (what was built from
# what). Nothing in it depends on lbd's code: the tests hand the package and their scripts
# to the guest on a second disk each run (tests/vm/lib.sh), and boot the image with
# snapshot=on so it is never modified. It is rebuilt when this file, tests/vm/guest-run
# or the kernel the archive offers changes, or after $max_age_days days.
#
# x86_64: mmdebstrap runs natively (dpkg in a chroot), with Debian's linux-image-amd64 and
# its initramfs-tools initrd. arm64: this machine cannot run arm64 programs outside a
# VM, so debootstrap's first stage unpacks the base system here (--foreign), the files of
# Debian's arm64 kernel package are unpacked beside it, and the second stage (dpkg
# configuring everything) runs in the arm64 guest itself, booted once through a small
# busybox initramfs (virtio and ext4 modules from the same kernel package) that later
# boots use too. Needs root and what `scripts/install-deps.sh vm` installs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${LBD_VM_CACHE:-/var/cache/lbd-vm}
mirror=${LBD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
max_age_days=30

arch=${1:-}
case $arch in
x86_64) debarch=amd64 ;;
arm64) debarch=arm64 ;;
*)
	echo "usage: $0 x86_64|arm64" >&2
	exit 2
	;;
esac
[ "$(id -u)" -eq 0 ] || {
	echo "vm-image: needs root (debootstrap, chroot, mkfs)" >&2
	exit 2
}

log() { echo "vm-image: $*" >&2; }
die() {
	echo "vm-image: $*" >&2
	exit 1
}

# What the guest has besides minbase: systemd as init, what the checks run (ip, ethtool,
# python3 for tests/integration/lbtraffic.py, curl for /metrics, logrotate for the
# package's rotation file, kmod for the veth module) and lbd's runtime dependencies
# (libraries, adduser, procps), so that installing the package needs no network.
pkgs="systemd systemd-sysv udev dbus iproute2 ethtool python3 curl logrotate kmod procps
adduser libbpf1 libuv1 libjansson4 libssl3 libelf1 zlib1g"

# The kernel the archive offers today for this arch (as scripts/test-kernels.sh resolves it).
kernel_pkg() {
	local meta=linux-image-$debarch:$debarch
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1
}
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
	apt-get update -qq
	kpkg=$(kernel_pkg)
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-$debarch to a kernel package"
kver=$(apt-cache show --no-all-versions "$kpkg:$debarch" | sed -n 's/^Version: //p')
krel=${kpkg#linux-image-}

key=$( (
	cat "$0" "$here/guest-run" "$here/shim-initramfs.sh"
	echo "$arch $kpkg $kver $pkgs"
) | sha256sum | cut -c1-12)
dir=$cache/$arch-$key
mkdir -p "$cache"
exec 9>"$cache/lock-$arch"
flock 9
if [ -f "$dir/info" ] && [ -z "$(find "$dir/info" -mtime +"$max_age_days")" ]; then
	echo "$dir"
	exit 0
fi

t0=$SECONDS
log "building the $arch image ($suite, kernel $kpkg $kver) in $dir"
rm -rf --one-file-system "$cache/$arch-"*
work=$(mktemp -d "$cache/.build-$arch.XXXXXX")
root=$work/root
cleanup() {
	if findmnt -rn -o TARGET | grep -q "^$work/"; then
		log "mounts left under $work, not removing it"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

# The settings both arches share, written into the root from here.
configure_root() {
	# (After debootstrap's first stage some of these folders do not exist yet.)
	mkdir -p "$root/etc/apt" "$root/etc/systemd/system/multi-user.target.wants"
	echo lbd-vm >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tlbd-vm\n' >"$root/etc/hosts"
	echo '/dev/vda / ext4 rw,errors=remount-ro 0 0' >"$root/etc/fstab"
	cat >"$root/etc/apt/sources.list" <<-EOF
		deb $mirror $suite main
		deb $mirror $suite-updates main
		deb ${mirror%/debian}/debian-security $suite-security main
	EOF
	install -D -m 755 "$here/guest-run" "$root/usr/local/sbin/lbd-vm-run"
	# Runs the payload once the system is up; its output goes to the serial console.
	cat >"$root/etc/systemd/system/lbd-vm-run.service" <<-'EOF'
		[Unit]
		Description=Run the test payload the host attached as /dev/vdb
		After=multi-user.target
		[Service]
		Type=oneshot
		ExecStart=/usr/local/sbin/lbd-vm-run
		StandardOutput=tty
		StandardError=inherit
		TTYPath=/dev/console
		[Install]
		WantedBy=multi-user.target
	EOF
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/lbd-vm-run.service \
		"$root/etc/systemd/system/multi-user.target.wants/lbd-vm-run.service"
	# Nothing that writes to the console or wakes up on a timer during a test.
	for u in serial-getty@ttyS0.service serial-getty@ttyAMA0.service getty@tty1.service \
		apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
		systemd-tmpfiles-clean.timer logrotate.timer; do
		ln -sf /dev/null "$root/etc/systemd/system/$u"
	done
	# The journal in memory only: the image is booted with snapshot=on anyway.
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/lbd-vm.conf"
}

make_fs() {
	local size_mb
	size_mb=$(($(du -sm --one-file-system "$root" | cut -f1) + 1024))
	mkfs.ext4 -q -F -L lbdroot -d "$root" "$work/root.img" "${size_mb}M" >&2
}

if [ "$arch" = x86_64 ]; then
	# mmdebstrap: one apt run, parallel downloads, dpkg without fsync (eatmydata). The
	# initramfs holds only what reaches the root disk (initramfs-tools' default, "most",
	# took 90 s per generation, and the kernel's postinst and a trigger make two).
	# shellcheck disable=SC2086,SC2016
	timeout 900 mmdebstrap --variant=minbase --arch=amd64 --dpkgopt=force-unsafe-io \
		--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
		--essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
			echo MODULES=list >"$1/etc/initramfs-tools/conf.d/lbd-vm" &&
			printf "virtio_pci\nvirtio_blk\ncrc32c_generic\next4\n" >>"$1/etc/initramfs-tools/modules"' \
		--include="linux-image-amd64,zstd,$(echo $pkgs | tr ' ' ,)" \
		--customize-hook='chroot "$1" apt-get clean' \
		"$suite" "$root" "deb $mirror $suite main" "deb $mirror $suite-updates main" \
		"deb ${mirror%/debian}/debian-security $suite-security main" \
		>"$work/mmdebstrap.log" 2>&1 || {
		tail -n 30 "$work/mmdebstrap.log" >&2
		die "mmdebstrap failed"
	}
	[ -f "$root/boot/vmlinuz-$krel" ] && [ -f "$root/boot/initrd.img-$krel" ] ||
		die "the root has another kernel than $kpkg: $(ls "$root/boot")"
	configure_root
	cp "$root/boot/vmlinuz-$krel" "$work/vmlinuz"
	cp "$root/boot/initrd.img-$krel" "$work/initrd.img"
	make_fs
else
	# shellcheck disable=SC2086
	timeout 900 debootstrap --foreign --arch=arm64 --variant=minbase \
		--include="$(echo $pkgs | tr ' ' ,)" "$suite" "$root" "$mirror" \
		>"$work/debootstrap.log" 2>&1 || {
		tail -n 20 "$work/debootstrap.log" >&2
		die "debootstrap --foreign failed"
	}
	configure_root
	# The kernel package's files (modules, /boot), unpacked: not configured by dpkg, since
	# its initramfs would take minutes to build under emulation and the shim boots it.
	(cd "$work" && apt-get download -qq "$kpkg:$debarch=$kver" 2>/dev/null) ||
		die "cannot download $kpkg:$debarch"
	# (--keep-directory-symlink: the merged /lib -> usr/lib stays a link.)
	dpkg-deb --fsys-tarfile "$work/${kpkg}_"*.deb | tar -x --keep-directory-symlink -C "$root"
	rm "$work/${kpkg}_"*.deb
	depmod -b "$root" "$krel"
	cp "$root/boot/vmlinuz-$krel" "$work/vmlinuz"
	# The shim initramfs: busybox, the modules that reach the root disk, an /init.
	"$here/shim-initramfs.sh" "$debarch" "$root" "$krel" "$work/initrd.img"
	# Stage two: dpkg configures the base system inside the arm64 guest, once; without
	# fsync after each file (the image is thrown away if this fails).
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
	echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/lbd-vm-unsafe-io"
	cat >"$root/lbd-stage2" <<-'EOF'
		#!/bin/sh
		export PATH=/usr/sbin:/usr/bin:/sbin:/bin
		mount -t proc proc /proc
		mount -t sysfs sysfs /sys
		start=$(cut -d' ' -f1 /proc/uptime)
		if /debootstrap/debootstrap --second-stage >/dev/console 2>&1; then
			echo "lbd-stage2: second stage done in $start..$(cut -d' ' -f1 /proc/uptime) s" >/dev/console
			rm -f /lbd-stage2
			touch /lbd-stage2-ok
		else
			tail -n 30 /debootstrap/debootstrap.log >/dev/console
		fi
		sync
		umount /sys /proc
		mount -o remount,ro /
		echo o >/proc/sysrq-trigger
		sleep 10
	EOF
	chmod 755 "$root/lbd-stage2"
	make_fs
	log "debootstrap's second stage in the arm64 guest (emulated: minutes)"
	. "$here/lib.sh"
	VM_WRITABLE=1 VM_QUIET=1 vm_qemu arm64 "$work" "$work/root.img" "" "init=/lbd-stage2" 1800 \
		"$work/stage2.log" || {
		tail -n 40 "$work/stage2.log" >&2
		die "the second stage did not finish"
	}
	grep -a '^lbd-stage2:' "$work/stage2.log" | sed 's/^/vm-image: /' >&2 || true
	# (debugfs exits 0 whether or not the file exists: look at what it printed.)
	debugfs -R 'stat /lbd-stage2-ok' "$work/root.img" 2>&1 | grep -q 'Inode:' || {
		tail -n 40 "$work/stage2.log" >&2
		die "debootstrap's second stage failed in the guest"
	}
	debugfs -w -R 'rm /lbd-stage2-ok' "$work/root.img" >/dev/null 2>&1
fi

{
	echo "arch=$arch"
	echo "kernel=$kpkg $kver"
	echo "krel=$krel"
	echo "built=$(date -u +%FT%TZ) in $((SECONDS - t0)) s"
} >"$work/info"
mkdir "$dir"
mv "$work/root.img" "$work/vmlinuz" "$work/initrd.img" "$work/info" "$dir/"
log "built $dir in $((SECONDS - t0)) s"
echo "$dir"
