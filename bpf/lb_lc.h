/* SPDX-License-Identifier: MIT */
/*
 * lb_lc.h - least-connections ("selection": "least-connections"): the choice that reads
 * the live flow counts of lb_lc_count.h. A small group scans its
 * inline backends (lb_lc_select, lb_select.h: the same code the unit tests run); a large
 * group compares two candidates its Maglev table names for two hashes of the flow (power
 * of two choices: four lookups instead of a scan of up to 256 backends).
 * Everything it keeps lives in the per-CPU scratch: lb_flow_ingress() has no stack left.
 */
#ifndef LB_LC_H
#define LB_LC_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_gset.h"
#include "lb_lc_count.h"
#include "lb_maps.h"
#include "lb_select.h"
#include "lb_trace.h"

/*
 * The backend of a new flow of @hash in small group @g by least connections: the counts of
 * its backends go to the scratch, then lb_lc_select() picks. NULL: nobody has a weight.
 */
static __always_inline const struct lb_backend *lb_lc_choose_inline(const struct lb_group *g,
								    __u32 hash, bool v4)
{
	struct lb_scratch *sc = lb_scratch_get();
	__u32 n = g->n_backends;
	int i, idx;

	if (!sc)
		return NULL;
	for (i = 0; i < LB_GROUP_INLINE; i++)
		sc->lc_live[i] = (__u32)i < n ? lb_lc_live(g->backends[i].target_id) : 0;
	idx = lb_lc_select(g, sc->lc_live, hash, v4);
	if (idx < 0)
		return NULL;
	lb_trace_index((__u32)idx);
	return &g->backends[idx & (LB_GROUP_INLINE - 1)];
}

/*
 * A large group: of the two backends the group's tables give for @hash and for a second,
 * independent hash of it, the one with fewer live flows per unit of weight; the first on a
 * tie (or when the second has no backend). Both candidates are drawn by weight already.
 */
static __always_inline const struct lb_backend *lb_lc_choose_gset(__u32 group_id, __u32 gen,
								  __u32 hash, bool v4)
{
	const struct lb_backend *a = lb_gset_choose(group_id, gen, hash, v4);
	const struct lb_backend *b;

	if (!a)
		return NULL;
	b = lb_gset_choose(group_id, gen, lb_lc_hash2(hash), v4);
	if (!b || b->target_id == a->target_id)
		return a;
	if (lb_lc_less(lb_lc_live(b->target_id), lb_backend_weight(b, v4), lb_lc_live(a->target_id),
		       lb_backend_weight(a, v4)))
		return b;
	return a;
}

#endif /* LB_LC_H */
