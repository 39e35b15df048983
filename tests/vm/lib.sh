# shellcheck shell=bash
# Booting the images of tests/vm/image.sh under qemu-system (software emulation: this
# machine has no /dev/kvm). Sourced by scripts/test-systemd.sh and tests/vm/image.sh.

# vm_payload DIR TAR: pack DIR (with run.sh at its top) as the tar the guest reads from
# its second disk.
vm_payload() {
	[ -f "$1/run.sh" ] || {
		echo "vm: $1/run.sh missing" >&2
		return 1
	}
	tar -C "$1" --owner=0 --group=0 -cf "$2" .
}

# vm_qemu ARCH IMAGEDIR ROOTIMG PAYLOAD APPEND TIMEOUT LOG: boot IMAGEDIR's kernel and
# initramfs with ROOTIMG as /dev/vda (snapshot=on unless VM_WRITABLE=1: nothing the guest
# writes stays), PAYLOAD (a tar, or "") as /dev/vdb, APPEND added to the kernel command
# line. The serial console goes to LOG and, unless VM_QUIET=1, to stdout. Returns
# non-zero when qemu fails or runs longer than TIMEOUT seconds (then it is killed).
# VM_SMP (default 2) and VM_MEM (default 1536 MiB) size the guest. (--foreground keeps
# qemu in the caller's process group, so that stopping the caller stops the guest too.)
vm_qemu() {
	local arch=$1 dir=$2 img=$3 payload=$4 append=$5 tmo=$6 log=$7 rc=0 console
	local -a qemu drives
	case $arch in
	x86_64)
		qemu=(qemu-system-x86_64 -machine q35 -cpu max)
		console=ttyS0
		;;
	arm64)
		# pauth-impdef: QEMU's cheap pointer-authentication hash (see test-kernels.sh).
		qemu=(qemu-system-aarch64 -machine virt -cpu 'max,pauth-impdef=on')
		console=ttyAMA0
		;;
	*) return 2 ;;
	esac
	drives=(-drive "file=$img,if=virtio,format=raw,cache=unsafe$([ "${VM_WRITABLE:-0}" = 1 ] || echo ,snapshot=on)")
	[ -z "$payload" ] || drives+=(-drive "file=$payload,if=virtio,format=raw,readonly=on")
	timeout --foreground -k 10 "$tmo" "${qemu[@]}" -m "${VM_MEM:-1536}" -smp "${VM_SMP:-2}" -nographic \
		-no-reboot -nic none -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
		"${drives[@]}" \
		-append "root=/dev/vda rw console=$console panic=-1 quiet fsck.mode=skip $append" \
		</dev/null 2>&1 | sed -u 's/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' |
		if [ "${VM_QUIET:-0}" = 1 ]; then cat >"$log"; else tee "$log"; fi || rc=${PIPESTATUS[0]}
	case $rc in
	0) return 0 ;;
	124 | 137)
		echo "vm: the $arch guest did not finish within ${tmo}s" >&2
		return 1
		;;
	*)
		echo "vm: qemu exited with $rc" >&2
		return 1
		;;
	esac
}
