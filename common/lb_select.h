/* SPDX-License-Identifier: MIT */
/*
 * lb_select.h - flow hashing and weighted backend selection.
 *
 * Header-only and free of helpers so the very same code runs in the BPF programs and in
 * the unit tests: what the tests prove about distribution and weight-0 exclusion is what
 * the datapath does.
 */
#ifndef LB_SELECT_H
#define LB_SELECT_H

#include <stdbool.h>

#include "lb_abi.h"
#include "lb_ip.h"

#ifndef LB_INLINE
#define LB_INLINE static inline __attribute__((always_inline))
#endif

/* murmur3's 32-bit finaliser: full avalanche, so nearby ports spread evenly. */
LB_INLINE __u32 lb_mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * Hash of a flow as the client sent it. Addresses (all four words: IPv4 ones IPv4-mapped)
 * and ports enter in network byte order, exactly as they sit in the packet; the result
 * only has to be stable, not portable.
 */
LB_INLINE __u32 lb_flow_hash(const struct lb_ip *saddr, const struct lb_ip *daddr, __be16 sport,
			     __be16 dport, __u8 proto)
{
	__u32 h = 0x9e3779b9u ^ proto;
	int i;

	for (i = 0; i < 4; i++)
		h = lb_mix32(h ^ (__u32)saddr->w[i]);
	for (i = 0; i < 4; i++)
		h = lb_mix32(h ^ (__u32)daddr->w[i]);
	h = lb_mix32(h ^ (((__u32)sport << 16) | (__u32)dport));
	return h;
}

/*
 * The weight backend @b has for a client of family @v4 (true: IPv4): its own when it is of
 * that family, or has no address at all (lbd's SNI acceptor: the destination stays), else
 * 0: a group of a dual-stack listener balances each family over its own targets.
 */
LB_INLINE __u32 lb_backend_weight(const struct lb_backend *b, bool v4)
{
	if (lb_ip_is_zero(&b->addr) || lb_ip_is_v4(&b->addr) == v4)
		return b->weight;
	return 0;
}

/*
 * Pick a backend for a new flow of family @v4: the hash is mapped onto [0, total weight) by
 * a multiply and shift (no division in the datapath) and the backend whose cumulative
 * weight range covers that point wins. A backend of weight 0 (or of the other family) owns
 * an empty range and can never win. Returns the backend index, or -1 when the group has no
 * backend of non-zero weight for that family.
 */
LB_INLINE int lb_select_backend(const struct lb_group *g, __u32 hash, bool v4)
{
	__u32 n = g->n_backends;
	__u32 total = 0, point, acc = 0;
	int i;

	if (n > LB_MAX_TARGETS_PER_GROUP)
		n = LB_MAX_TARGETS_PER_GROUP;
	for (i = 0; i < LB_MAX_TARGETS_PER_GROUP; i++) {
		if ((__u32)i >= n)
			break;
		total += lb_backend_weight(&g->backends[i], v4);
	}
	if (total == 0)
		return -1;
	point = (__u32)(((__u64)hash * total) >> 32);
	for (i = 0; i < LB_MAX_TARGETS_PER_GROUP; i++) {
		if ((__u32)i >= n)
			break;
		acc += lb_backend_weight(&g->backends[i], v4);
		if (point < acc)
			return i;
	}
	return -1; /* unreachable: point < total == acc after the loop */
}

#endif /* LB_SELECT_H */
