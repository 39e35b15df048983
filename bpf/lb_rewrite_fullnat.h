/* SPDX-License-Identifier: MIT */
/*
 * lb_rewrite_fullnat.h - full-nat's rewrite of an skb: both addresses and both ports at once
 * (requests: client -> listener becomes snat -> target; replies: target -> snat becomes
 * listener -> client). As in lb_rewrite_skb(), every header is written first and the L4
 * checksum follows through the kernel's helpers afterwards: they move the packet pointers,
 * so a second pass over the headers after them would need a new parse.
 */
#ifndef LB_REWRITE_FULLNAT_H
#define LB_REWRITE_FULLNAT_H

#include "lb_rewrite.h"

static __always_inline int lb_rewrite_skb_fullnat_fam(struct __sk_buff *skb, const struct lb_pkt *p,
						      const struct lb_nat *nat, const __u8 family)
{
	void *data_end = (void *)(long)skb->data_end;
	__be16 old_sport = p->sport, old_dport = p->dport;
	__be16 *sport, *dport;
	__u64 mangled = 0;
	__u32 check_off;
	int i;

	if (!lb_l3_ok(p, family, data_end))
		return -1;
	if (p->l4_proto == LB_PROTO_TCP) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		sport = &th->source;
		dport = &th->dest;
		check_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		sport = &uh->source;
		dport = &uh->dest;
		check_off = p->l4_off + offsetof(struct udphdr, check);
		mangled = BPF_F_MARK_MANGLED_0;
	}
	lb_write_addr(p->l3, family, LB_SIDE_DST, &p->daddr, &nat->addr);
	lb_write_addr(p->l3, family, LB_SIDE_SRC, &p->saddr, &nat->saddr);
	*dport = nat->port;
	*sport = nat->sport;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (family == 4 && i < 3)
			continue;
		if (bpf_l4_csum_replace(skb, check_off, p->daddr.w[i], nat->addr.w[i],
					mangled | BPF_F_PSEUDO_HDR | sizeof(__be32)))
			return -1;
		if (bpf_l4_csum_replace(skb, check_off, p->saddr.w[i], nat->saddr.w[i],
					mangled | BPF_F_PSEUDO_HDR | sizeof(__be32)))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, check_off, old_dport, nat->port, mangled | sizeof(__be16)))
		return -1;
	if (bpf_l4_csum_replace(skb, check_off, old_sport, nat->sport, mangled | sizeof(__be16)))
		return -1;
	return 0;
}

static __always_inline int lb_rewrite_skb_fullnat(struct __sk_buff *skb, const struct lb_pkt *p,
						  const struct lb_nat *nat)
{
	if (p->l3_family == 4)
		return lb_rewrite_skb_fullnat_fam(skb, p, nat, 4);
	return lb_rewrite_skb_fullnat_fam(skb, p, nat, 6);
}

#endif /* LB_REWRITE_FULLNAT_H */
