# Shared by the end-to-end benchmarks (l4_e2e.sh, sni_vs_haproxy.sh); sourced after ROOT
# is set. They build nothing, run as root, and install their load tools from Debian.

# Exit 2 unless lbd is built and we are root. Sets LBD.
bench_preflight() {
	LBD=$ROOT/build/daemon/lbd
	if [[ ! -x $LBD ]]; then
		echo "$LBD not found: this script builds nothing; run 'meson setup build && ninja -C build' first" >&2
		exit 2
	fi
	if ((EUID != 0)); then
		echo "needs root (network namespaces, XDP): sudo $0 $*" >&2
		exit 2
	fi
}

bench_apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >&2
}

# bench_install COMMAND:PACKAGE...: install the packages of missing commands, and nginx
# (nginx-light, else nginx) when it is missing too. Returns non-zero when nginx could not
# be installed; the caller decides whether that is fatal.
bench_install() {
	local need=() pair
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
	done
	command -v nginx >/dev/null && ((${#need[@]} == 0)) && return 0
	echo "# installing from Debian: ${need[*]} $(command -v nginx >/dev/null || echo nginx-light)" >&2
	apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 || true
	((${#need[@]} == 0)) || bench_apt_install "${need[@]}"
	command -v nginx >/dev/null || bench_apt_install nginx-light || bench_apt_install nginx
}

# bench_require COMMAND...: exit 2 naming the first that is still missing.
bench_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "$c is missing and could not be installed" >&2; exit 2; }
	done
}
