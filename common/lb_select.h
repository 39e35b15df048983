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

/* A 32-bit word of network byte order with its first @bits (0..32) bits kept. */
LB_INLINE __u32 lb_keep_bits(__u32 w, __u32 bits)
{
	__u32 host_mask;

	if (bits >= 32)
		return w;
	if (bits == 0)
		return 0;
	host_mask = ~0u << (32 - bits);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return w & __builtin_bswap32(host_mask);
#else
	return w & host_mask;
#endif
}

/*
 * The hash a new flow of a listener with lb_listen_val.flags @flags is placed by: the
 * flow's (lb_flow_hash), or with LB_LISTEN_F_HASH_SADDR ("hash": "source-address") the
 * client's address cut to its first LB_LISTEN_PREFIX(flags) bits of the 128-bit form (an
 * IPv4 /24 is 96 + 24) and nothing else, so every connection of every client of that
 * prefix hashes alike. One loop for both keeps the datapath's stack as it was.
 */
LB_INLINE __u32 lb_listen_hash(__u32 flags, const struct lb_ip *saddr, const struct lb_ip *daddr,
			       __be16 sport, __be16 dport, __u8 proto)
{
	bool src = flags & LB_LISTEN_F_HASH_SADDR;
	__u32 prefix = src ? LB_LISTEN_PREFIX(flags) : 128;
	__u32 h = 0x9e3779b9u ^ (src ? 0 : proto);
	int i;

	for (i = 0; i < 4; i++) {
		__u32 bits = prefix > 32u * i ? prefix - 32u * i : 0;

		h = lb_mix32(h ^ lb_keep_bits((__u32)saddr->w[i], bits));
	}
	if (src)
		return h;
	for (i = 0; i < 4; i++)
		h = lb_mix32(h ^ (__u32)daddr->w[i]);
	return lb_mix32(h ^ (((__u32)sport << 16) | (__u32)dport));
}

/* lb_listen_hash() of a source-address listener hashing @prefix bits (128-bit form). */
LB_INLINE __u32 lb_source_hash(const struct lb_ip *saddr, __u32 prefix)
{
	return lb_listen_hash(LB_LISTEN_F_HASH_SADDR | prefix << LB_LISTEN_PREFIX_SHIFT, saddr,
			      saddr, 0, 0, 0);
}

/* The Maglev slot of @hash in a table of @m slots (@m > 0). */
LB_INLINE __u32 lb_maglev_slot(__u32 hash, __u32 m)
{
	return hash % m;
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
 * backend of non-zero weight for that family. Small groups only (n_backends <=
 * LB_GROUP_INLINE): a large group keeps no backend inline, and -1 for it.
 */
LB_INLINE int lb_select_backend(const struct lb_group *g, __u32 hash, bool v4)
{
	__u32 n = g->n_backends;
	__u32 total = 0, point, acc = 0;
	int i;

	if (n > LB_GROUP_INLINE)
		return -1;
	for (i = 0; i < LB_GROUP_INLINE; i++) {
		if ((__u32)i >= n)
			break;
		total += lb_backend_weight(&g->backends[i], v4);
	}
	if (total == 0)
		return -1;
	point = (__u32)(((__u64)hash * total) >> 32);
	for (i = 0; i < LB_GROUP_INLINE; i++) {
		if ((__u32)i >= n)
			break;
		acc += lb_backend_weight(&g->backends[i], v4);
		if (point < acc)
			return i;
	}
	return -1; /* unreachable: point < total == acc after the loop */
}

/* Each part of a target's count a load takes, at most: a bound for lb_lc_less(). */
#define LB_LC_PART_MAX 0xffffffffull

/*
 * A target's load for least connections (lb_abi.h, LB_LC_CONFIRMED) from its two counts:
 * @confirmed * LB_LC_CONFIRMED + @unconfirmed. A negative part (a lost race) counts 0, a
 * part above LB_LC_PART_MAX counts that much: the load stays below 17 * 2^32 < 2^37.
 */
LB_INLINE __u64 lb_lc_load(__s64 confirmed, __s64 unconfirmed)
{
	__u64 c = confirmed > 0 ? (__u64)confirmed : 0;
	__u64 u = unconfirmed > 0 ? (__u64)unconfirmed : 0;

	if (c > LB_LC_PART_MAX)
		c = LB_LC_PART_MAX;
	if (u > LB_LC_PART_MAX)
		u = LB_LC_PART_MAX;
	return c * LB_LC_CONFIRMED + u;
}

/*
 * Least connections (IPVS wlc): does a target with load @live_a (lb_lc_load) and weight
 * @w_a carry less per unit of weight than one with @live_b and @w_b? live_a / w_a <
 * live_b / w_b without a division. Loads stay below 2^37 and weights are 16 bits, so the
 * products stay below 2^53.
 */
LB_INLINE bool lb_lc_less(__u64 live_a, __u32 w_a, __u64 live_b, __u32 w_b)
{
	return live_a * w_b < live_b * w_a;
}

/* A second hash of a flow, independent of @hash (power of two choices in large groups). */
LB_INLINE __u32 lb_lc_hash2(__u32 hash)
{
	return lb_mix32(hash ^ 0x5bd1e995u);
}

/* A backend's draw for a flow of @hash: among equally loaded backends, the highest wins. */
LB_INLINE __u32 lb_lc_draw(__u32 hash, __u32 i)
{
	return lb_mix32(hash ^ ((i + 1) * 0x9e3779b9u));
}

/*
 * Least connections in a small group: of the backends with a weight for family @v4, the
 * one with the smallest load (@live[i] of backend i, lb_lc_load) per unit of weight. Equally loaded
 * backends are told apart by a draw from the flow hash (lb_lc_draw, as rendezvous hashing
 * does), so ties go by the hash and equal targets share the new flows evenly. Returns the
 * index, or -1 when nobody has a weight (or the group is large).
 */
LB_INLINE int lb_lc_select(const struct lb_group *g, const __u64 *live, __u32 hash, bool v4)
{
	__u32 n = g->n_backends, i, w, best_w = 0, draw, best_draw = 0;
	__u64 best_live = 0;
	int best = -1;

	if (n == 0 || n > LB_GROUP_INLINE)
		return -1;
	for (i = 0; i < LB_GROUP_INLINE; i++) {
		if (i >= n)
			break;
		w = lb_backend_weight(&g->backends[i], v4);
		if (!w)
			continue;
		draw = lb_lc_draw(hash, i);
		if (best >= 0 && !lb_lc_less(live[i], w, best_live, best_w) &&
		    (lb_lc_less(best_live, best_w, live[i], w) || draw <= best_draw))
			continue;
		best = (int)i;
		best_live = live[i];
		best_w = w;
		best_draw = draw;
	}
	return best;
}

#endif /* LB_SELECT_H */
