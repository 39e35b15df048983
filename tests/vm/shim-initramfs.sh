#!/bin/bash
# A small initramfs that boots a Debian root on /dev/vda without initramfs-tools: static
# busybox for the root's architecture, the modules that reach a virtio disk with ext4 (from
# ROOT/lib/modules/KREL), and an /init that loads them, mounts the disk and switches to it
# (init= on the kernel command line, else /sbin/init). tests/vm/image.sh uses it for the
# arm64 image, whose initramfs-tools would have to run under emulation.
#
#   tests/vm/shim-initramfs.sh DEBARCH ROOT KREL OUT.cpio.gz
set -euo pipefail
rarch=$1 root=$2 krel=$3 out=$4
mods=$root/lib/modules/$krel
[ -f "$mods/modules.dep" ] || {
	echo "shim-initramfs: no $mods/modules.dep" >&2
	exit 1
}
arch=$(dpkg --print-architecture)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,newroot,lib/modules}

# busybox-static of the root's architecture.
if [ "$rarch" = "$arch" ]; then
	cp /bin/busybox "$work/bin/busybox"
else
	(cd "$work" && apt-get download -qq "busybox-static:$rarch" 2>/dev/null) || {
		echo "shim-initramfs: cannot download busybox-static:$rarch" >&2
		exit 1
	}
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
	mv "$work/bb/bin/busybox" "$work/bin/busybox"
	rm -rf "$work/bb" "$work"/busybox-static_*.deb
fi

# The wanted modules and their dependencies, in load order (modules.dep lists a module's
# dependencies so that loading them from last to first works).
: >"$work/modules"
want() {
	local name=$1 line path deps d
	line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$mods/modules.dep" | head -n 1) || return 0
	[ -n "$line" ] || return 0 # built in
	path=${line%%:*}
	deps=${line#*:}
	for d in $(echo "$deps" | tr ' ' '\n' | tac); do
		grep -qx "$d" "$work/modules" || echo "$d" >>"$work/modules"
	done
	grep -qx "$path" "$work/modules" || echo "$path" >>"$work/modules"
}
for m in virtio_pci virtio_mmio virtio_blk crc32c_generic ext4; do want "$m"; done
while read -r path; do
	cp "$mods/$path" "$work/lib/modules/"
done <"$work/modules"
sed 's|.*/||' "$work/modules" >"$work/lib/modules/order"

cat >"$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m" 2>/dev/null; done
root=/dev/vda init=/sbin/init
for a in $(cat /proc/cmdline); do
	case $a in
	root=*) root=${a#root=} ;;
	init=*) init=${a#init=} ;;
	esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw "$root" /newroot || {
	echo "shim: cannot mount $root"
	echo o >/proc/sysrq-trigger
}
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot "$init"
INIT
chmod 755 "$work/init"
mknod -m 600 "$work/dev/console" c 5 1
(cd "$work" && find . | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out"
