/* SPDX-License-Identifier: MIT */
/*
 * lb_lc_count.h - the live flow count of every target (lb_lconn, lb_abi.h), in two parts:
 * unconfirmed flows (lb_syn) and confirmed ones (lb_ct). +1 unconfirmed when the datapath
 * creates a flow, moved to confirmed when it confirms the flow, -1 from the flow's part
 * when it sees the flow close (lb_conntrack.h); lbd's sweeper corrects what it cannot see.
 * Least connections (lb_lc.h) reads the load of both (lb_lc_load, lb_select.h).
 */
#ifndef LB_LC_COUNT_H
#define LB_LC_COUNT_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_select.h"

/* target id -> its live flows (lb_abi.h, lb_lconn); pinned, so a restart keeps the counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lb_lconn_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_lconn SEC(".maps");

/* The load of @target_id: confirmed * LB_LC_CONFIRMED + unconfirmed (lb_lc_load). */
static __always_inline __u64 lb_lc_live(__u32 target_id)
{
	struct lb_lconn_val *v = bpf_map_lookup_elem(&lb_lconn, &target_id);

	return v ? lb_lc_load(v->confirmed, v->unconfirmed) : 0;
}

/* A flow to @target_id was created, unconfirmed (its ORIG entry carries LB_CT_F_COUNTED). */
static __always_inline void lb_lc_inc(__u32 target_id)
{
	struct lb_lconn_val *v = bpf_map_lookup_elem(&lb_lconn, &target_id);

	if (v)
		__sync_fetch_and_add(&v->unconfirmed, 1);
}

/*
 * A counted flow to @target_id closed, from lb_ct (@confirmed) or from lb_syn. Never below
 * zero: a part that is already 0 (the sweeper corrected it down first) stays 0; two CPUs
 * racing on a part of 1 can still leave -1 for an instant, which readers take as 0 and the
 * next sweep corrects.
 */
static __always_inline void lb_lc_dec(__u32 target_id, bool confirmed)
{
	struct lb_lconn_val *v = bpf_map_lookup_elem(&lb_lconn, &target_id);
	__s64 *part;

	if (!v)
		return;
	part = confirmed ? &v->confirmed : &v->unconfirmed;
	if (*part > 0)
		__sync_fetch_and_add(part, -1);
}

/*
 * A counted flow to @target_id moved from lb_syn to lb_ct: one unit from unconfirmed to
 * confirmed (the unconfirmed part under the same guard as lb_lc_dec). Two adds: a reader
 * between them sees the flow in neither part, for an instant.
 */
static __always_inline void lb_lc_confirm(__u32 target_id)
{
	struct lb_lconn_val *v = bpf_map_lookup_elem(&lb_lconn, &target_id);

	if (!v)
		return;
	if (v->unconfirmed > 0)
		__sync_fetch_and_add(&v->unconfirmed, -1);
	__sync_fetch_and_add(&v->confirmed, 1);
}

#endif /* LB_LC_COUNT_H */
