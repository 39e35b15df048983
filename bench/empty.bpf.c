// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * empty.bpf.c - the baselines of datapath_bench. The empty programs only return their
 * hook's "let it through" verdict: what they cost under BPF_PROG_TEST_RUN is the harness
 * itself (the run loop, the dispatcher, the timer), which every lb.bpf.o measurement also
 * pays. The floor program is the least any conntrack load balancer does per packet: lbd's
 * own parser and one lookup in an LRU hash shaped like lb_ct (same key, value and size).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lb_parse.h"

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

/* Sized like lb_ct by the benchmark before load. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct lb_ct_key);
	__type(value, struct lb_ct_val);
} floor_ct SEC(".maps");

/* XDP_PASS when the packet's flow is in floor_ct, XDP_DROP otherwise (or not parsed). */
SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_ct_key k = {};
	struct lb_pkt p;

	if (lb_parse(data, data_end, (__u32)(data_end - data), &p) != LB_PARSE_OK)
		return XDP_DROP;
	k.saddr = p.saddr;
	k.daddr = p.daddr;
	k.sport = p.sport;
	k.dport = p.dport;
	k.proto = p.proto;
	k.dir = LB_DIR_ORIG;
	return bpf_map_lookup_elem(&floor_ct, &k) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
