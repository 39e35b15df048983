/* SPDX-License-Identifier: MIT */
/*
 * route.h - what the kernel's routing table says about reaching an address (IPv4 or IPv6),
 * the question `ip route get ADDR` asks (one RTM_GETROUTE request on NETLINK_ROUTE), asked
 * in the network namespace lbd runs in.
 */
#ifndef LBD_ROUTE_H
#define LBD_ROUTE_H

#include <stdint.h>

#include "lb_ip.h"

struct lb_route {
	unsigned int type; /* RTN_UNICAST, RTN_LOCAL, ... (linux/rtnetlink.h) */
	uint32_t oif;	   /* the interface packets to it leave through; 0 when none */
	bool has_gateway;
	struct lb_ip gateway; /* the next hop, when there is one (not on-link) */
};

/*
 * Look up the route to @dst. Returns 0 with @out filled, the kernel's
 * -errno when it has no usable route (-ENETUNREACH: none; -EHOSTUNREACH, -EACCES, -EINVAL:
 * an unreachable, prohibit or blackhole route), or -errno when netlink itself failed.
 */
int lb_route_get(const struct lb_ip *dst, struct lb_route *out);

#endif /* LBD_ROUTE_H */
