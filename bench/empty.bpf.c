// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * empty.bpf.c - the baselines of datapath_bench: programs that only return their hook's
 * "let it through" verdict. What they cost under BPF_PROG_TEST_RUN is the harness itself
 * (the run loop, the dispatcher, the timer), which every lb.bpf.o measurement also pays.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

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

char LICENSE[] SEC("license") = "Dual MIT/GPL";
