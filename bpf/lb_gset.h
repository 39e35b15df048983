/* SPDX-License-Identifier: MIT */
/*
 * lb_gset.h - the backend of a new flow in a large group (more than LB_GROUP_INLINE
 * backends): everything comes from one generation's set in lb_gsets (lb_abi.h), so the
 * table and the backends it indexes are always of one generation. Bounded: the set (one
 * more on a swap race), its head, one table entry, the backend.
 */
#ifndef LB_GSET_H
#define LB_GSET_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_maps.h"
#include "lb_select.h"
#include "lb_trace.h"

/* The backend of a new flow of @hash (family @v4) in large group @group_id, else NULL. */
static __always_inline const struct lb_backend *lb_gset_choose(__u32 group_id, __u32 gen,
							       __u32 hash, bool v4)
{
	struct lb_scratch *sc = lb_scratch_get();
	const struct lb_gset_head *h;
	const struct lb_gset_slots *e;
	const struct lb_gset_backend *gb;
	__u32 f = v4 ? 0 : 1, at, slot, idx;
	void *set;

	if (!sc)
		return NULL;
	sc->key = LB_GSET_KEY(group_id, gen);
	set = bpf_map_lookup_elem(&lb_gsets, &sc->key);
	if (!set) {
		/* Swap race: this generation is gone, the other one is the group's now. */
		sc->key = LB_GSET_KEY(group_id, gen ^ 1);
		set = bpf_map_lookup_elem(&lb_gsets, &sc->key);
	}
	if (!set)
		return NULL;
	sc->key = 0;
	h = bpf_map_lookup_elem(set, &sc->key);
	if (!h)
		return NULL;
	at = h->table_at[f];
	if (at && h->table_size) {
		slot = lb_maglev_slot(hash, h->table_size);
		sc->key = at + slot / LB_GSET_PER_ENTRY;
		e = bpf_map_lookup_elem(set, &sc->key);
		if (!e)
			return NULL;
		idx = e->s[slot % LB_GSET_PER_ENTRY];
		lb_trace_slot(hash, slot);
	} else {
		idx = h->solo[f];
	}
	/* LB_MAGLEV_NONE: nobody of this family has a weight. */
	if (idx >= h->n_backends || idx >= LB_MAX_TARGETS_PER_GROUP)
		return NULL;
	lb_trace_index(idx);
	sc->key = 1 + idx;
	gb = bpf_map_lookup_elem(set, &sc->key);
	return gb ? &gb->b : NULL;
}

#endif /* LB_GSET_H */
