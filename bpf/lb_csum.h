/* SPDX-License-Identifier: MIT */
/*
 * lb_csum.h - incremental Internet checksum updates (RFC 1624, eqn. 3) for hooks that
 * write the packet directly (XDP). Hooks with an skb use the kernel's csum helpers
 * instead (lb_rewrite.h), because only those also keep skb->csum and CHECKSUM_PARTIAL
 * packets right.
 *
 * One's-complement sums do not care about byte order as long as every operand is taken in
 * the order it sits in the packet, so fields are passed exactly as read (__be32/__be16).
 */
#ifndef LB_CSUM_H
#define LB_CSUM_H

#include <linux/types.h>

/* Fold a 32-bit one's-complement accumulator to 16 bits, carries included (twice). */
static __always_inline __u16 lb_csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* HC' = ~(~HC + ~m + m') for a 32-bit field changing from @from to @to. */
static __always_inline __u16 lb_csum_replace4(__u16 check, __u32 from, __u32 to)
{
	__u32 s = (__u16)~check;

	s += (~from & 0xffff) + (~from >> 16);
	s += (to & 0xffff) + (to >> 16);
	return (__u16)~lb_csum_fold(s);
}

/* The same for a 16-bit field. */
static __always_inline __u16 lb_csum_replace2(__u16 check, __u16 from, __u16 to)
{
	__u32 s = (__u16)~check;

	s += (__u16)~from;
	s += to;
	return (__u16)~lb_csum_fold(s);
}

#endif /* LB_CSUM_H */
