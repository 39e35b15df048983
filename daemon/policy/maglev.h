/* SPDX-License-Identifier: MIT */
/*
 * maglev.h - the weighted Maglev lookup table of one group (Eisenbud et al., NSDI 2016).
 *
 * A table of M slots (M prime) names a target in every slot; the datapath picks a new
 * flow's target as table[flow hash mapped onto 0..M-1]. Built from the group's targets
 * (identity + effective weight) and a seed alone, so:
 *   - every lbd with the same targets, weights and seed builds a byte-identical table
 *     (fixed hash written out here, integer arithmetic only, no pointers, no randomness);
 *   - the order in which the caller lists the targets does not change which target owns
 *     which slot (targets are ranked by identity); the table holds indices into the
 *     caller's array, so the bytes are identical when the arrays are in the same order;
 *   - each target owns round(M * weight / sum of weights) slots: largest remainder, so
 *     every target is within one slot (100/M percentage points) of its exact share;
 *   - removing or re-weighting a target mostly moves its own slots: every target fills
 *     the slots of its own fixed permutation of the table, in a race paced by weight.
 * docs/datapath.md ("Maglev") has the measured balance, disruption and build times, and the memory.
 */
#ifndef LBD_MAGLEV_H
#define LBD_MAGLEV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The table sizes lbd accepts (primes, so that every skip walks the whole table). */
#define LB_MAGLEV_SIZE_SMALL   4093
#define LB_MAGLEV_SIZE_MEDIUM  16381
#define LB_MAGLEV_SIZE_DEFAULT 65537
#define LB_MAGLEV_SIZE_LARGE   131071

/* A slot that names no target: the whole table when no target has a weight. */
#define LB_MAGLEV_EMPTY 0xffffu

/* Table entries are uint16_t indices, so a group may have up to 65535 targets. */
#define LB_MAGLEV_MAX_TARGETS 65535u

struct lb_maglev_target {
	uint8_t addr[16]; /* identity: IPv6 address, IPv4 as ::ffff:a.b.c.d, network order */
	uint16_t port;	  /* identity: port, host order */
	uint32_t weight;  /* effective weight on any scale; 0 = owns no slot */
};

/* Fill @t's identity from an IPv4 address (network order) and a port (host order). */
static inline void lb_maglev_target_v4(struct lb_maglev_target *t, uint32_t addr_be, uint16_t port)
{
	memset(t->addr, 0, 10);
	t->addr[10] = 0xff;
	t->addr[11] = 0xff;
	memcpy(&t->addr[12], &addr_be, 4);
	t->port = port;
}

/* True when @m is one of the LB_MAGLEV_SIZE_* values. */
int lb_maglev_size_ok(uint32_t m);

/*
 * Build the table of @n targets into @table (@m entries, @m one of LB_MAGLEV_SIZE_*):
 * table[slot] is the index in @targets of the slot's owner, or LB_MAGLEV_EMPTY.
 * Returns the number of targets that own at least one slot (0: no target has a weight
 * and every slot is LB_MAGLEV_EMPTY), or -EINVAL (@m not allowed, two targets with the
 * same identity), -E2BIG (more than LB_MAGLEV_MAX_TARGETS), -ENOMEM. A target whose
 * share is below half a slot owns none.
 */
int lb_maglev_build(const struct lb_maglev_target *targets, size_t n, uint32_t seed, uint32_t m,
		    uint16_t *table);

#endif /* LBD_MAGLEV_H */
