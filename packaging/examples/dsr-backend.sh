#!/bin/bash
# Prepare a backend for lbd's "forwarding": "dsr" (layer-2 direct server return): the LB
# sends it the clients' packets unchanged but for their Ethernet addresses, so they arrive
# addressed to the listener address (the VIP). The backend must
#   - hold the VIP, on lo or on a dummy interface, so its stack accepts those packets and
#     answers the clients from the VIP, straight, not through the LB;
#   - never answer ARP for the VIP (the LB does): arp_ignore=1 answers ARP only for
#     addresses of the interface it came in on, arp_announce=2 never uses the VIP as the
#     source of its own ARP requests. IPv6 needs no such setting: neighbour discovery
#     only answers for addresses of the interface the solicitation came in on; the
#     address is added with nodad (no duplicate address detection against the LB).
# Its service must listen on the VIP (or on every address) at the listener's port.
#
#   dsr-backend.sh add|del [--dev DEV] VIP...
#
# --dev DEV: a dummy interface to hold the VIPs (created by add, deleted by del when it is
# empty); default lo. Run as root on each backend, e.g. at boot:
#   dsr-backend.sh add 10.0.0.10 2001:db8::10
set -euo pipefail

usage() {
	echo "usage: $0 add|del [--dev DEV] VIP..." >&2
	exit 3
}
[[ $# -ge 2 ]] || usage
action=$1
shift
[[ $action == add || $action == del ]] || usage
dev=lo
if [[ $1 == --dev ]]; then
	[[ $# -ge 3 ]] || usage
	dev=$2
	shift 2
fi

if [[ $action == add ]]; then
	sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
	if [[ $dev != lo ]] && ! ip link show dev "$dev" >/dev/null 2>&1; then
		ip link add "$dev" type dummy
	fi
	ip link set "$dev" up
fi
for vip in "$@"; do
	case $vip in
	*:*)
		if [[ $action == add ]]; then
			ip -6 addr replace "$vip/128" dev "$dev" nodad
		else
			ip -6 addr del "$vip/128" dev "$dev" 2>/dev/null || true
		fi
		;;
	*.*.*.*)
		if [[ $action == add ]]; then
			ip addr replace "$vip/32" dev "$dev"
		else
			ip addr del "$vip/32" dev "$dev" 2>/dev/null || true
		fi
		;;
	*)
		echo "$0: $vip is not an IPv4 or IPv6 address" >&2
		exit 3
		;;
	esac
done
if [[ $action == del && $dev != lo ]] && [[ -z $(ip -o addr show dev "$dev" scope global) ]]; then
	ip link del "$dev"
fi
