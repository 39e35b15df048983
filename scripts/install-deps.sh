#!/bin/sh
# Install what lbd needs to build and run its demo on Debian 12 (as root). Idempotent:
# only missing packages are installed. An argument adds what one kind of check needs:
#   test    the test suite: openssl, Chromium for the browser test, promtool (prometheus)
#           to check the metrics text, clang's libFuzzer and sanitizer runtimes for
#           scripts/fuzz.sh (only recommended by clang-14, so not pulled in by default),
#           valgrind for scripts/test-valgrind.sh, BIRD 2 (bird2) as the routing daemon of
#           the announcement test, nftables (the fast-path test counts the forward chain)
#   bench   the benchmarks (bench/): wrk, iperf3, HAProxy, nginx, nftables, conntrack,
#           trafgen (netsniff-ng) for bench/pps.sh
#   arm64   cross-building for arm64 (Debian's cross toolchain and the arm64 -dev
#           packages, multiarch) and running its binaries under qemu-user
#   kernels booting Debian kernels under qemu-system (x86_64 and aarch64)
#   vm      building and booting Debian 12 images under qemu-system (tests/vm/image.sh,
#           scripts/test-systemd.sh): qemu, mmdebstrap, debootstrap, eatmydata, e2fsprogs
#   deb     building and checking the Debian package (debhelper, lintian, debootstrap)
set -eu

PKGS="build-essential pkg-config meson ninja-build clang llvm bpftool libbpf-dev libelf-dev
zlib1g-dev libssl-dev libjansson-dev libuv1-dev check clang-format iproute2 ethtool socat curl
python3 util-linux procps kmod systemd"

case "${1:-}" in
test) PKGS="$PKGS openssl chromium prometheus libclang-rt-14-dev valgrind bird2 nftables" ;;
bench) PKGS="$PKGS wrk iperf3 haproxy nginx-light nftables conntrack netsniff-ng" ;;
arm64)
	dpkg --print-foreign-architectures | grep -qx arm64 || {
		dpkg --add-architecture arm64
		FORCE_UPDATE=1
	}
	PKGS="$PKGS crossbuild-essential-arm64 libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64
	libssl-dev:arm64 libjansson-dev:arm64 libuv1-dev:arm64 check:arm64 libzstd-dev:arm64
	qemu-user-static file"
	;;
kernels) PKGS="$PKGS qemu-system-x86 qemu-system-arm cpio busybox-static" ;;
vm)
	PKGS="$PKGS qemu-system-x86 qemu-system-arm cpio busybox-static mmdebstrap debootstrap
	eatmydata e2fsprogs"
	;;
deb) PKGS="$PKGS debhelper devscripts lintian debootstrap dpkg-dev fakeroot" ;;
"") ;;
*)
	echo "usage: $0 [test|bench|arm64|kernels|deb|vm]" >&2
	exit 2
	;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ] || [ -n "${FORCE_UPDATE:-}" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
