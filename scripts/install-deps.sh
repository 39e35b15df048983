#!/bin/sh
# Install what lbd needs to build and run its demo on Debian 12 (as root); with the
# argument "test", also what only the test suite needs (openssl, Chromium for the
# browser test, promtool from prometheus to check the metrics text, clang's libFuzzer and
# sanitizer runtimes for scripts/fuzz.sh: only recommended by clang-14, so not pulled in
# with --no-install-recommends). Idempotent: only missing packages are installed.
set -eu

PKGS="build-essential pkg-config meson ninja-build clang llvm bpftool libbpf-dev libelf-dev
zlib1g-dev libssl-dev libjansson-dev libuv1-dev check clang-format iproute2 ethtool socat curl
python3 util-linux procps kmod systemd"

[ "${1:-}" = test ] && PKGS="$PKGS openssl chromium prometheus libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
