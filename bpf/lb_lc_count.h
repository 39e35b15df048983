/* SPDX-License-Identifier: MIT */
/*
 * lb_lc_count.h - the live flow count of every target (lb_lconn, lb_abi.h): up when the
 * datapath creates a flow, down when it sees the flow close (lb_conntrack.h); lbd's
 * sweeper corrects what it cannot see. Least connections (lb_lc.h) reads it.
 */
#ifndef LB_LC_COUNT_H
#define LB_LC_COUNT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"

/* target id -> live flows (lb_abi.h, lb_lconn); pinned, so a restart keeps the counts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __s64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_lconn SEC(".maps");

/* The live flows of @target_id, a lost race's negative count read as 0. */
static __always_inline __u64 lb_lc_live(__u32 target_id)
{
	__s64 *v = bpf_map_lookup_elem(&lb_lconn, &target_id);
	__s64 n = v ? *v : 0;

	return n > 0 ? (__u64)n : 0;
}

/* A flow to @target_id was created (its ORIG entry carries LB_CT_F_COUNTED). */
static __always_inline void lb_lc_inc(__u32 target_id)
{
	__s64 *v = bpf_map_lookup_elem(&lb_lconn, &target_id);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/*
 * A counted flow to @target_id closed. Never below zero: a count that is already 0 (the
 * sweeper corrected it down first) stays 0; two CPUs racing on a count of 1 can still
 * leave -1 for an instant, which readers take as 0 and the next sweep corrects.
 */
static __always_inline void lb_lc_dec(__u32 target_id)
{
	__s64 *v = bpf_map_lookup_elem(&lb_lconn, &target_id);

	if (v && *v > 0)
		__sync_fetch_and_add(v, -1);
}

#endif /* LB_LC_COUNT_H */
