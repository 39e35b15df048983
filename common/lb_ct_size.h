/* SPDX-License-Identifier: MIT */
/*
 * lb_ct_size.h - how many entries lbd gives the two conntrack tables (and the tests with
 * it): two per flow, plus what the kernel's LRU keeps aside per CPU.
 *
 * An LRU hash map (with its common LRU list) hands free entries to each CPU in batches of
 * LOCAL_FREE_TARGET (128, kernel/bpf/bpf_lru_list.c). A CPU whose batch ran out takes a
 * new one, and when the map has fewer than that left it evicts live entries to make up
 * the batch, even while other CPUs hold unused free entries of their own (seen on Linux
 * 6.1 and 6.18, tests/bpf/test_lru.c). A table sized to exactly its flows thus starts
 * evicting up to 128 x CPUs entries early: with 64 CPUs, a 1,024-flow lb_syn would never
 * hold more than a handful. The headroom below keeps those aside.
 */
#ifndef LB_CT_SIZE_H
#define LB_CT_SIZE_H

#include <linux/types.h>

#define LB_LRU_LOCAL_FREE 128 /* the kernel's LOCAL_FREE_TARGET */

/* Entries of an LRU conntrack table for @flows flows on a machine of @ncpus possible CPUs. */
static inline __u32 lb_ct_entries(__u32 flows, int ncpus)
{
	return 2 * flows + (__u32)(ncpus > 0 ? ncpus : 1) * LB_LRU_LOCAL_FREE;
}

/* Unconfirmed flows lb_syn holds for @max_connections: a quarter, at least 1024. */
static inline __u32 lb_syn_flows(__u32 max_connections)
{
	return max_connections / 4 > 1024 ? max_connections / 4 : 1024;
}

#endif /* LB_CT_SIZE_H */
