#!/bin/bash
# Install lbd's Debian package into a clean Debian 12 root and check what an operator gets:
#
#   tests/package/test-deb.sh [--build-in-root | lbd_VERSION_ARCH.deb]
#
# Without an argument the package is built first (scripts/build-deb.sh); --build-in-root
# builds it in a second clean root that has only build-essential and the Build-Depends, to
# prove them complete (about two minutes more: it downloads clang). The root is made
# with debootstrap (minbase plus systemd and man-db, the packages whose behaviour the checks
# look at) and cached as a tarball under /var/cache/lbd-debootstrap/, so only the first run
# downloads a system; later runs only fetch lbd's dependencies. Needs root and
# http://deb.debian.org (LBD_DEBIAN_MIRROR overrides it).
#
# The chroot believes systemd runs (/run/systemd/system exists) and its systemctl logs what
# the maintainer scripts ask of it, so "installing starts nothing" is checked against the
# requests the package really makes, not against a chroot where nothing could start anyway.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
mirror=${LBD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=/var/cache/lbd-debootstrap
suite=bookworm
include=systemd,man-db
max_age_days=30
step_timeout=600

failures=0
pass() { printf 'PASS  %s\n' "$1"; }
fail() {
	printf 'FAIL  %s\n' "$1"
	[ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/      /'
	failures=$((failures + 1))
}
die() {
	echo "test-deb: $*" >&2
	exit 2
}

build_in_root=0
deb=
while [ $# -gt 0 ]; do
	case $1 in
	--build-in-root) build_in_root=1 ;;
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	-*) die "unknown option $1 (try --help)" ;;
	*) deb=$(realpath -e "$1" 2>/dev/null) || die "$1: no such file" ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot)"
[ -z "$deb" ] || [ "$build_in_root" = 0 ] || die "--build-in-root builds the package: no .deb"
command -v debootstrap >/dev/null || "$repo/scripts/install-deps.sh" deb
arch=$(dpkg --print-architecture)

work=$(mktemp -d /tmp/lbd-test-deb.XXXXXX)
root=$work/root
roots=()
cleanup() {
	local r m
	for r in "${roots[@]}"; do
		for m in dev proc; do
			if mountpoint -q "$r/$m" 2>/dev/null; then umount -l "$r/$m"; fi
		done
	done
	# Never delete through a mount that is still there (the host's /dev).
	if findmnt -rn -o TARGET | grep -q "^$work/"; then
		echo "test-deb: mounts left under $work, not removing it" >&2
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- a clean Debian 12 root, from the cache -------------------------------------------
mkdir -p "$cache_dir"
tarball=$cache_dir/$suite-$arch-minbase-${include//,/-}.tar.gz
(
	flock 9
	if [ -f "$tarball" ] && [ -z "$(find "$tarball" -mtime +"$max_age_days")" ]; then
		exit 0
	fi
	echo "test-deb: debootstrap $suite ($arch, minbase + $include) into the cache"
	tmp=$(mktemp -d "$cache_dir/build.XXXXXX")
	timeout "$step_timeout" debootstrap --variant=minbase --arch="$arch" --include="$include" \
		"$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1 || {
		tail -n 20 "$tmp/log" >&2
		rm -rf --one-file-system "$tmp"
		exit 1
	}
	# What a fresh Debian 12 install uses: the release, its updates and security.
	cat >"$tmp/root/etc/apt/sources.list" <<-EOF
		deb $mirror $suite main
		deb $mirror $suite-updates main
		deb ${mirror%/debian}/debian-security $suite-security main
	EOF
	chroot "$tmp/root" apt-get clean
	tar -C "$tmp/root" --numeric-owner -czf "$tmp/root.tar.gz" .
	mv "$tmp/root.tar.gz" "$tarball"
	rm -rf --one-file-system "$tmp"
) 9>"$cache_dir/lock" || die "debootstrap failed (log above)"

make_root() {
	mkdir "$1"
	roots+=("$1")
	tar -C "$1" --numeric-owner -xzf "$tarball"
	# No /sys: the prerm would then see (and tear down) a datapath lbd pinned on this host.
	mount -t proc proc "$1/proc"
	mount --bind /dev "$1/dev"
	cp -L /etc/resolv.conf "$1/etc/resolv.conf"
}

# --- the package ----------------------------------------------------------------------
if [ "$build_in_root" = 1 ]; then
	# A second clean root with nothing but build-essential and the Build-Depends.
	make_root "$work/build-root"
	"$repo/scripts/build-deb.sh" --chroot "$work/build-root" -o "$work/out"
	deb=$(ls "$work"/out/lbd_*.deb)
elif [ -z "$deb" ]; then
	"$repo/scripts/build-deb.sh" -o "$work/out"
	deb=$(ls "$work"/out/lbd_*.deb)
fi
version=$(dpkg-deb -f "$deb" Version)
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is not for $arch"
echo "test-deb: $(basename "$deb")"

make_root "$root"
cp "$deb" "$root/tmp/"
debfile=/tmp/$(basename "$deb")

in_root() { timeout "$step_timeout" chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# Make the maintainer scripts see a running systemd and record what they ask of it.
mkdir -p "$root/run/systemd/system"
in_root dpkg-divert --quiet --local --rename --add /usr/bin/systemctl
cat >"$root/usr/bin/systemctl" <<'EOF'
#!/bin/sh
echo "$*" >>/var/log/systemctl-requests
case " $* " in
# What a running systemd would do: only recorded (nothing runs in the chroot).
*" start "* | *" stop "* | *" restart "* | *" try-restart "* | *" reload "* | \
	*" reload-or-restart "* | *" try-reload-or-restart "* | *" daemon-reload "* | \
	*" daemon-reexec "* | *" kill "*)
	exit 0 ;;
*" is-active "* | *" is-failed "*)
	echo inactive
	exit 3 ;;
esac
# Unit files (enable, preset, is-enabled, ...): the real systemctl, offline.
case " $* " in
*" --root="*) exec /usr/bin/systemctl.distrib "$@" ;;
*) exec /usr/bin/systemctl.distrib --root=/ "$@" ;;
esac
EOF
chmod 755 "$root/usr/bin/systemctl"
requests=$root/var/log/systemctl-requests

# What the root holds, minus state that changes with any dpkg/apt run.
snapshot() {
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
		-o -path ./tmp -o -path ./var/cache -o -path ./var/lib/apt -o -path ./var/lib/dpkg \
		-o -path ./var/log -o -path ./var/backups \) -prune -o -print) |
		sed 's|^\.||' | grep -v -x -E '|/etc/(passwd|group|shadow|gshadow)-|/etc/ld\.so\.cache' |
		LC_ALL=C sort >"$1"
}

# Starting, restarting or enabling any unit is what installing must never do.
no_start_requests() {
	local what=$1 bad
	bad=$(grep -E '(^| )(start|restart|try-restart|reload-or-restart|enable|reenable|preset)( |$)' \
		"$requests" 2>/dev/null || true)
	if [ -z "$bad" ]; then
		pass "$what: no unit started or enabled"
	else
		fail "$what: units started or enabled" "$bad"
	fi
	: >"$requests"
}

no_lbd_running() {
	local p
	for p in /proc/[0-9]*; do
		case $(readlink "$p/exe" 2>/dev/null) in
		"$root/usr/sbin/lbd"*) # also "... (deleted)" after a removal
			fail "$1: an lbd process runs ($p)"
			return
			;;
		esac
	done
	pass "$1: no lbd process"
}

check_cmd() { # description, expected output (extended regex), command...
	local what=$1 want=$2 out
	shift 2
	if out=$(in_root "$@" 2>&1) && grep -q -E "$want" <<<"$out"; then
		pass "$what"
	else
		fail "$what" "$(head -n 20 <<<"$out")"
	fi
}

check_file() {
	if [ -e "$root$1" ]; then pass "present: $1"; else fail "missing: $1"; fi
}

group_gid() { in_root getent group lbd | cut -d: -f3; }

# --- install with apt, as an operator would -------------------------------------------
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; die "apt-get update failed"; }
snapshot "$work/before-install"
if in_root apt-get install -y -q "$debfile" >"$work/apt.log" 2>&1; then
	pass "apt-get install ./$(basename "$deb") (dependencies from the archive)"
else
	fail "apt-get install ./$(basename "$deb")" "$(tail -n 20 "$work/apt.log")"
	exit 1
fi

check_cmd "lbd --version" "^lbd $version " lbd --version
check_cmd "lbctl --help" "lbctl" lbctl --help
check_cmd "lbd --check=file of /etc/lbd/lb.json.example" "configuration OK" \
	lbd -c /etc/lbd/lb.json.example --check=file
check_cmd "man -w lbd" "^/usr/share/man/man8/lbd\.8\.gz$" man -w lbd
check_cmd "man -w lbctl" "^/usr/share/man/man1/lbctl\.1\.gz$" man -w lbctl
check_cmd "man lbd renders" "lbd .* eBPF" sh -c 'MANWIDTH=80 man lbd 2>&1 | col -b'
for f in /usr/sbin/lbd /usr/bin/lbctl /lib/systemd/system/lbd.service \
	/lib/systemd/system/lbd.socket /etc/lbd/lb.json.example \
	/usr/share/doc/lbd/examples/lb.json /usr/share/doc/lbd/examples/weighted.json \
	/usr/share/doc/lbd/examples/rolling-update.sh /usr/share/doc/lbd/examples/dsr-backend.sh \
	/usr/share/doc/lbd/examples/bird-lbd.conf /usr/share/doc/lbd/copyright \
	/usr/share/bash-completion/completions/lbctl /usr/share/lbd/alerts.yml \
	/usr/share/lbd/grafana-dashboard.json /usr/share/doc/lbd/operations-kit.md \
	/etc/logrotate.d/lbd; do
	check_file "$f"
done
if [ ! -e "$root/etc/lbd/lb.json" ]; then
	pass "no active configuration (/etc/lbd/lb.json absent)"
else
	fail "/etc/lbd/lb.json was installed: the service would start balancing"
fi
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
check_cmd "/etc/lbd/lb.json.example is a conffile" "^ /etc/lbd/lb\.json\.example " \
	dpkg-query -W -f='${Conffiles}\n' lbd
check_cmd "bash completion registers lbctl" "complete .*lbctl$" \
	bash -c '. /usr/share/bash-completion/completions/lbctl && complete -p lbctl'
for u in lbd.service lbd.socket; do
	check_cmd "$u is disabled" "^disabled$" sh -c "systemctl is-enabled $u || true"
done
no_start_requests "apt-get install"
no_lbd_running "apt-get install"
gid=$(group_gid)
if [ -n "$gid" ] && [ "$gid" -lt 1000 ]; then
	pass "system group lbd exists (gid $gid)"
else
	fail "system group lbd missing or not a system group (gid '${gid}')"
fi
if out=$(in_root systemd-analyze verify lbd.socket lbd.service 2>&1) && [ -z "$out" ]; then
	pass "systemd-analyze verify lbd.socket lbd.service"
else
	fail "systemd-analyze verify lbd.socket lbd.service" "$out"
fi

# Reinstalling (what an upgrade runs) keeps the group and still starts nothing.
if in_root dpkg -i "$debfile" >"$work/dpkg.log" 2>&1 && [ "$(group_gid)" = "$gid" ]; then
	pass "reinstall over itself (postinst is idempotent, group kept)"
else
	fail "reinstall over itself" "$(tail -n 20 "$work/dpkg.log")"
fi
no_start_requests "reinstall"

# --- remove and purge -----------------------------------------------------------------
# Purge once to get the root with lbd's dependencies but without lbd, then compare a
# install/remove/purge cycle against it.
in_root dpkg -P lbd >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; die "dpkg -P failed"; }
snapshot "$work/purged"
# A file of one of the dependencies apt installed: dpkg knows it (under its name before
# the /usr merge, e.g. /bin/kill for /usr/bin/kill), or it is an init script's rc link.
dependency_file() {
	in_root dpkg -S "$1" >/dev/null 2>&1 && return 0
	case $1 in
	/usr/bin/* | /usr/sbin/* | /usr/lib/*) in_root dpkg -S "${1#/usr}" >/dev/null 2>&1 ;;
	/etc/rc[0-6S].d/*) [ "$(basename "$(readlink "$root$1")")" != lbd ] ;;
	*) return 1 ;;
	esac
}
left=$(comm -13 "$work/before-install" "$work/purged" | while read -r f; do
	dependency_file "$f" || echo "$f"
done)
if [ -z "$left" ]; then
	pass "purge after apt-get install: only the dependencies' files stay"
else
	fail "purge after apt-get install left files no package owns" "$left"
fi

dpkg_ok() { # description, dpkg arguments...
	local what=$1
	shift
	if in_root dpkg "$@" >"$work/dpkg.log" 2>&1; then
		pass "$what"
	else
		fail "$what" "$(tail -n 20 "$work/dpkg.log")"
	fi
}

# Only these may differ from the purged root: $1 lists what else may be there (regex).
compare_with_purged() { # description, snapshot, allowed extra paths (extended regex)
	local what=$1 extra missing
	extra=$(comm -13 "$work/purged" "$2" | grep -v -x -E "$3" || true)
	missing=$(comm -23 "$work/purged" "$2")
	if [ -z "$extra$missing" ]; then
		pass "$what"
	else
		fail "$what" "extra: $extra
missing: $missing"
	fi
}

# Cycle 1, the units never enabled: remove keeps the conffiles (and debhelper's record of
# the units' enablement, /var/lib/systemd/deb-systemd-helper-enabled/*.dsh-also, which
# purge removes like a conffile); purge returns to the root without lbd.
dpkg_ok "dpkg -i" -i "$debfile"
: >"$requests"
dpkg_ok "dpkg -r lbd" -r lbd
if grep -q -E '(^| )stop( .*)? lbd\.(service|socket)' "$requests"; then
	pass "dpkg -r stops the units"
else
	fail "dpkg -r did not ask systemd to stop lbd" "$(cat "$requests")"
fi
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
conffiles=$(in_root dpkg-query -W -f='${Conffiles}\n' lbd | awk 'NF { print $1 }' | paste -sd'|')
snapshot "$work/removed"
compare_with_purged "dpkg -r leaves only the conffiles ($conffiles) and the units' state" \
	"$work/removed" "/etc/lbd|$conffiles|/var/lib/systemd/deb-systemd-helper-enabled/lbd\.(service|socket)\.dsh-also"
dpkg_ok "dpkg -P lbd" -P lbd
snapshot "$work/repurged"
compare_with_purged "dpkg -P removes the conffiles and everything else" "$work/repurged" ""
if [ -z "$(group_gid)" ]; then
	pass "dpkg -P removes the lbd group"
else
	fail "dpkg -P leaves the lbd group"
fi

# Cycle 2, an operator's installation: configuration written, units enabled. An upgrade
# restarts lbd (lossless: it adopts its pinned datapath), removal stops it, purge removes
# the enablement but not the configuration the operator wrote.
dpkg_ok "dpkg -i (operator cycle)" -i "$debfile"
cp "$root/etc/lbd/lb.json.example" "$root/etc/lbd/lb.json"
in_root systemctl.distrib --root=/ --quiet enable lbd.socket lbd.service
check_cmd "operator enabled lbd.service" "^enabled$" systemctl is-enabled lbd.service
: >"$requests"
dpkg_ok "upgrade (reinstall) with the units enabled" -i "$debfile"
if grep -q -E '(^| )restart( .*)? lbd\.service' "$requests"; then
	pass "upgrade restarts the enabled lbd"
else
	fail "upgrade did not restart the enabled lbd" "$(cat "$requests")"
fi
check_cmd "upgrade keeps lbd.service enabled" "^enabled$" systemctl is-enabled lbd.service
dpkg_ok "dpkg -r lbd (operator cycle)" -r lbd
dpkg_ok "dpkg -P lbd (operator cycle)" -P lbd
snapshot "$work/operator-purged"
compare_with_purged "dpkg -P removes the enablement, keeps the operator's lb.json" \
	"$work/operator-purged" "/etc/lbd|/etc/lbd/lb\.json"
no_lbd_running "remove and purge"

if [ "$failures" -eq 0 ]; then
	echo "test-deb: all checks passed"
else
	echo "test-deb: $failures check(s) failed"
	exit 1
fi
