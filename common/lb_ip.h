/* SPDX-License-Identifier: MIT */
/*
 * lb_ip.h - struct lb_ip (lb_abi.h) in code: building, comparing and telling the families
 * apart. Header-only and free of helpers, so the BPF programs and user space share it.
 */
#ifndef LB_IP_H
#define LB_IP_H

#include <stdbool.h>

#include "lb_abi.h"

#ifndef LB_INLINE
#define LB_INLINE static inline __attribute__((always_inline))
#endif

/* ::ffff:@v4 (@v4 in network byte order). */
LB_INLINE struct lb_ip lb_ip_from_v4(__be32 v4)
{
	struct lb_ip a = {{0, 0, LB_IP_V4MAPPED_W2, v4}};

	return a;
}

/* Is @a an IPv4 address (IPv4-mapped)? */
LB_INLINE bool lb_ip_is_v4(const struct lb_ip *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == LB_IP_V4MAPPED_W2;
}

/* The IPv4 address of an IPv4-mapped @a (network byte order). */
LB_INLINE __be32 lb_ip_v4(const struct lb_ip *a)
{
	return a->w[3];
}

LB_INLINE bool lb_ip_eq(const struct lb_ip *a, const struct lb_ip *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) | (a->w[2] ^ b->w[2]) |
		(a->w[3] ^ b->w[3])) == 0;
}

/* No address at all (all zero): a backend that keeps the packet's destination. */
LB_INLINE bool lb_ip_is_zero(const struct lb_ip *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/* An IPv6 link-local address (fe80::/10): it names no destination without an interface. */
LB_INLINE bool lb_ip_is_link_local6(const struct lb_ip *a)
{
	const __u8 *b = (const __u8 *)a;

	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

/* Prefix lengths over the 128-bit form: an IPv4 /len is ::ffff:0:0/96 + len. */
#define LB_IP_V4_PREFIX_BASE 96

#endif /* LB_IP_H */
