/* SPDX-License-Identifier: MIT */
/*
 * route.h - what the kernel's routing table says about reaching an IPv4 address, the
 * question `ip route get ADDR` asks (one RTM_GETROUTE request on NETLINK_ROUTE), asked in
 * the network namespace lbd runs in.
 */
#ifndef LBD_ROUTE_H
#define LBD_ROUTE_H

#include <stdint.h>

struct lb_route {
	unsigned int type; /* RTN_UNICAST, RTN_LOCAL, ... (linux/rtnetlink.h) */
	uint32_t oif;	   /* the interface packets to it leave through; 0 when none */
	uint32_t gateway;  /* the next hop, network byte order; 0 when on-link */
};

/*
 * Look up the route to @dst (network byte order). Returns 0 with @out filled, the kernel's
 * -errno when it has no usable route (-ENETUNREACH: none; -EHOSTUNREACH, -EACCES, -EINVAL:
 * an unreachable, prohibit or blackhole route), or -errno when netlink itself failed.
 */
int lb_route_get(uint32_t dst, struct lb_route *out);

#endif /* LBD_ROUTE_H */
