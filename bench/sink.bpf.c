// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * sink.bpf.c - the receiver of bench/pps.sh, on the backend's veth: UDP datagrams to the
 * bench's port are dropped at XDP (the veth counts them, `ethtool -S`: xdp_drops), so the
 * receiver costs next to nothing and the rate measured is the forwarder's; everything else
 * (ARP, neighbour discovery, IPv4 with options) passes. Its XDP program also lets the veth take the
 * frames an XDP_REDIRECT sends into it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define SINK_PORT 9 /* discard */

SEC("xdp")
int sink_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct udphdr *uh;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_UDP || iph->ihl != 5)
			return XDP_PASS;
		uh = (void *)(iph + 1);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
			return XDP_PASS;
		uh = (void *)(ip6 + 1);
	} else {
		return XDP_PASS;
	}
	if ((void *)(uh + 1) > data_end || uh->dest != bpf_htons(SINK_PORT))
		return XDP_PASS;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
