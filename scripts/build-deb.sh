#!/bin/sh
# Build lbd's Debian package from this tree with Debian's own tooling and check it with
# lintian. On a Debian 12 machine, as root (or with the build dependencies installed):
#
#   scripts/build-deb.sh [-o OUTDIR] [--nocheck] [--no-deps] [--chroot DIR] [--arch ARCH]
#
#   -o OUTDIR   where lbd_<version>_<arch>.deb and its build log go (default: dist/)
#   --nocheck   skip the unit suite (DEB_BUILD_OPTIONS=nocheck); the build runs it by
#               default (seconds; the BPF and integration suites need root and netns)
#   --no-deps   do not install missing build dependencies (scripts/install-deps.sh)
#   --chroot DIR  build inside the Debian root DIR (/proc and /dev mounted by the caller)
#               after installing only build-essential and debian/control's Build-Depends
#               there: proves they are complete (tests/package/test-deb.sh --build-in-root)
#   --arch ARCH build for ARCH (amd64 or arm64; default: this machine's), cross-compiling
#               with Debian's cross toolchain when it is not this machine's
#               (dpkg-buildpackage -a ARCH; the Build-Depends for ARCH from the archive).
#               The unit suite runs only in native builds (nocheck and the cross and
#               nocheck build profiles otherwise).
#
# The tree (tracked and untracked files git does not ignore; the working tree minus build
# and dist folders without git) is copied to a temporary folder with packaging/debian as
# debian/, built with dpkg-buildpackage -b, and the result must be lintian-clean: any error
# or warning that packaging/debian/lbd.lintian-overrides does not explain fails the build.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/dist
check=1
deps=1
chroot_dir=
arch=$(dpkg --print-architecture)
while [ $# -gt 0 ]; do
	case $1 in
	-o)
		[ $# -ge 2 ] || { echo "build-deb: -o needs a folder" >&2; exit 2; }
		out=$2
		shift 2
		;;
	--nocheck) check=0; shift ;;
	--no-deps) deps=0; shift ;;
	--chroot)
		if [ $# -lt 2 ] || [ ! -d "$2/tmp" ]; then
			echo "build-deb: --chroot needs a Debian root" >&2
			exit 2
		fi
		chroot_dir=$(cd "$2" && pwd)
		shift 2
		;;
	--arch)
		case ${2:-} in
		amd64 | arm64) arch=$2 ;;
		*)
			echo "build-deb: --arch takes amd64 or arm64" >&2
			exit 2
			;;
		esac
		shift 2
		;;
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	*)
		echo "build-deb: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
done

if [ "$deps" = 1 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "build-deb: installing build dependencies needs root (or pass --no-deps)" >&2
		exit 2
	fi
	# In a chroot the build dependencies are the chroot's; lintian runs here.
	[ -n "$chroot_dir" ] || "$root/scripts/install-deps.sh"
	"$root/scripts/install-deps.sh" deb
	# Cross: the cross toolchain, then whatever debian/control wants for the other arch.
	if [ "$arch" != "$(dpkg --print-architecture)" ]; then
		[ -z "$chroot_dir" ] || { echo "build-deb: --chroot builds natively only" >&2; exit 2; }
		"$root/scripts/install-deps.sh" "$arch"
		if ! dpkg-checkbuilddeps -a "$arch" -P cross,nocheck "$root/packaging/debian/control" \
			2>/dev/null; then
			DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q -a "$arch" -P cross,nocheck \
				--no-install-recommends "$root/packaging" >/dev/null
		fi
	fi
fi

# The package version is the project's: a meson.build bump needs a changelog entry too.
meson_version=$(sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n 1)
deb_version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
if [ "${deb_version%%-*}" != "$meson_version" ]; then
	echo "build-deb: meson.build says $meson_version but packaging/debian/changelog says" \
		"$deb_version; add an entry: (cd packaging && dch -v $meson_version)" >&2
	exit 1
fi
deb=lbd_${deb_version}_${arch}.deb

work=$(mktemp -d "$chroot_dir/tmp/lbd-build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
src=$work/lbd-$meson_version
mkdir "$src"

# Copy what a checkout has, not build folders or earlier results.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# shellcheck disable=SC2016 # the inner shell expands $f
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		(cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh) |
		tar -C "$root" -cf - --no-recursion -T - | tar -C "$src" -xf -
else
	tar -C "$root" -cf - --exclude='./build*' --exclude=./dist --exclude=./.git . |
		tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

opts="parallel=$(nproc)"
[ "$check" = 1 ] || opts="$opts nocheck"
cross=
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
	# arm64 test binaries cannot run here: scripts/test-arm64.sh runs the unit suite under
	# qemu-user, scripts/test-arm64-vm.sh the package in an arm64 guest.
	opts="$opts nocheck"
	cross="-a$arch -Pcross,nocheck"
fi
log=$work/build.log
echo "build-deb: building $deb (DEB_BUILD_OPTIONS=$opts${cross:+, cross-compiled $cross}${chroot_dir:+, in $chroot_dir})"
mkdir -p "$out"
build() {
	if [ -z "$chroot_dir" ]; then
		# shellcheck disable=SC2086 # $cross: empty or options
		(cd "$src" && DEB_BUILD_OPTIONS="$opts" dpkg-buildpackage -b -us -uc $cross)
		return
	fi
	# shellcheck disable=SC2016 # expanded by the shell in the chroot
	chroot "$chroot_dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive DEB_BUILD_OPTIONS="$opts" sh -ec '
		cd "$1"
		apt-get update -qq
		apt-get install -y -q --no-install-recommends build-essential
		apt-get build-dep -y -q --no-install-recommends ./
		dpkg-buildpackage -b -us -uc' sh "${src#"$chroot_dir"}"
}
if ! build >"$log" 2>&1; then
	cp "$log" "$out/lbd_${deb_version}_${arch}.build.log"
	tail -n 60 "$log" >&2
	echo "build-deb: dpkg-buildpackage failed (last lines above; the whole log is" \
		"$out/lbd_${deb_version}_${arch}.build.log)" >&2
	exit 1
fi
cp "$log" "$out/lbd_${deb_version}_${arch}.build.log"
[ -f "$work/$deb" ] || { echo "build-deb: $deb was not built" >&2; ls "$work" >&2; exit 1; }

# Errors and warnings fail; info and pedantic tags are printed, overrides are honoured.
echo "build-deb: lintian"
if ! lintian --fail-on error,warning --info --display-info "$work"/lbd_*.changes; then
	echo "build-deb: lintian found problems (above); fix them or override them with a" \
		"reason in packaging/debian/lbd.lintian-overrides" >&2
	exit 1
fi

cp "$work/$deb" "$out/"
echo "build-deb: $(cd "$out" && pwd)/$deb"
