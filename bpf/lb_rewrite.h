/* SPDX-License-Identifier: MIT */
/*
 * lb_rewrite.h - apply a NAT decision to one side (source or destination) of a packet.
 *
 * Two implementations of one operation:
 *  - lb_rewrite_direct() writes through data/data_end and updates checksums by hand; used
 *    by XDP, where packets come from the wire with complete checksums;
 *  - lb_rewrite_skb() writes the headers the same way but updates the L4 checksum with
 *    the kernel's csum helpers, which also keep skb->csum (CHECKSUM_COMPLETE) right and
 *    treat CHECKSUM_PARTIAL packets (locally generated replies, e.g. from a target on the
 *    LB host) correctly: for those only the pseudo-header part of the L4 checksum may
 *    change.
 * UDP's "no checksum" (0) stays 0, and a computed 0 is sent as 0xffff (RFC 768).
 */
#ifndef LB_REWRITE_H
#define LB_REWRITE_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "lb_csum.h"
#include "lb_icmp.h"
#include "lb_nat.h"
#include "lb_parse.h"

enum lb_side { LB_SIDE_DST = 0, LB_SIDE_SRC = 1 };

static __always_inline int lb_rewrite_direct(struct lb_pkt *p, void *data_end, enum lb_side side,
					     const struct lb_nat *nat)
{
	struct iphdr *iph = p->iph;
	__be32 old_addr = side == LB_SIDE_SRC ? p->saddr : p->daddr;
	__be16 old_port = side == LB_SIDE_SRC ? p->sport : p->dport;
	__sum16 *l4_check;
	__be16 *port;

	if (p->proto == LB_PROTO_TCP) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		l4_check = &th->check;
		port = side == LB_SIDE_SRC ? &th->source : &th->dest;
	} else {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		l4_check = &uh->check;
		port = side == LB_SIDE_SRC ? &uh->source : &uh->dest;
	}

	if (p->proto == LB_PROTO_TCP || *l4_check) {
		__u16 c = lb_csum_replace4(*l4_check, old_addr, nat->addr);

		c = lb_csum_replace2(c, old_port, nat->port);
		if (p->proto == LB_PROTO_UDP && c == 0)
			c = 0xffff;
		*l4_check = c;
	}
	*port = nat->port;

	iph->check = lb_csum_replace4(iph->check, old_addr, nat->addr);
	if (side == LB_SIDE_SRC)
		iph->saddr = nat->addr;
	else
		iph->daddr = nat->addr;
	return 0;
}

static __always_inline int lb_rewrite_skb(struct __sk_buff *skb, const struct lb_pkt *p,
					  enum lb_side side, const struct lb_nat *nat)
{
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *iph = p->iph;
	__be32 old_addr = side == LB_SIDE_SRC ? p->saddr : p->daddr;
	__be16 old_port = side == LB_SIDE_SRC ? p->sport : p->dport;
	__u32 check_off;
	__u64 mangled = 0;
	__be16 *port;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (p->proto == LB_PROTO_TCP) {
		struct tcphdr *th = p->l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		port = side == LB_SIDE_SRC ? &th->source : &th->dest;
		check_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		struct udphdr *uh = p->l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		port = side == LB_SIDE_SRC ? &uh->source : &uh->dest;
		check_off = p->l4_off + offsetof(struct udphdr, check);
		mangled = BPF_F_MARK_MANGLED_0;
	}

	/*
	 * Headers written in place (the verifier unclones a cloned skb at entry): the IP
	 * header checksum is never partial and its sum stays the same, so skb->csum does too.
	 * The L4 checksum goes through the helpers, after the writes (they move the packet
	 * pointers): they know whether it is partial and keep skb->csum right.
	 */
	iph->check = lb_csum_replace4(iph->check, old_addr, nat->addr);
	if (side == LB_SIDE_SRC)
		iph->saddr = nat->addr;
	else
		iph->daddr = nat->addr;
	*port = nat->port;
	if (bpf_l4_csum_replace(skb, check_off, old_addr, nat->addr,
				mangled | BPF_F_PSEUDO_HDR | sizeof(nat->addr)))
		return -1;
	if (bpf_l4_csum_replace(skb, check_off, old_port, nat->port, mangled | sizeof(nat->port)))
		return -1;
	return 0;
}

/*
 * Translate an ICMP error (lb_icmp.h): the inner packet's source (@side LB_SIDE_SRC, at
 * ingress) or destination (LB_SIDE_DST, at egress) address and port, and the outer
 * destination or source with it when @nat says so. Every checksum follows by RFC 1624:
 * the inner IP header's, the inner L4 checksum when the error still carries it (UDP's is
 * within the 8 bytes every error has, unless it is 0; TCP's only when 18 bytes of the
 * header came back: what was cut off is not "fixed"), the ICMP checksum over all of those
 * changes, and the outer IP header's. Each header's sum is left what it was, so these
 * direct writes keep an skb's CHECKSUM_COMPLETE value right too. 0, or -1 when a header
 * is not where the parser saw it (cannot happen after lb_parse()).
 */
static __always_inline int lb_rewrite_icmp(struct lb_pkt *p, void *data_end, enum lb_side side,
					   const struct lb_icmp_nat *nat)
{
	struct iphdr *iph = p->iph, *in = p->in_iph;
	struct lb_icmphdr *ih = p->l4;
	__u8 *l4 = p->in_l4;
	__be32 old_addr = side == LB_SIDE_SRC ? p->in_saddr : p->in_daddr;
	__be16 old_port = side == LB_SIDE_SRC ? p->in_sport : p->in_dport;
	__u16 icheck, old_in_check;
	__sum16 *l4_check = NULL;

	if ((void *)(iph + 1) > data_end || (void *)(ih + 1) > data_end ||
	    (void *)(in + 1) > data_end || (void *)(l4 + 8) > data_end)
		return -1;
	icheck = ih->checksum;

	/* The inner L4 checksum, where it came back (pseudo-header address, then port). */
	if (p->in_proto == LB_PROTO_UDP)
		l4_check = (__sum16 *)(l4 + 6);
	else if (p->in_l4_len >= 18 && (void *)(l4 + 18) <= data_end)
		l4_check = (__sum16 *)(l4 + 16);
	if (l4_check && (p->in_proto == LB_PROTO_TCP || *l4_check)) {
		__u16 old = *l4_check, c;

		c = lb_csum_replace4(old, old_addr, nat->in_addr);
		c = lb_csum_replace2(c, old_port, nat->in_port);
		if (p->in_proto == LB_PROTO_UDP && c == 0)
			c = 0xffff;
		*l4_check = c;
		icheck = lb_csum_replace2(icheck, old, c);
	}
	/* The inner port. */
	*(__be16 *)(l4 + (side == LB_SIDE_SRC ? 0 : 2)) = nat->in_port;
	icheck = lb_csum_replace2(icheck, old_port, nat->in_port);
	/* The inner address and the inner IP header's checksum. */
	old_in_check = in->check;
	in->check = lb_csum_replace4(in->check, old_addr, nat->in_addr);
	if (side == LB_SIDE_SRC)
		in->saddr = nat->in_addr;
	else
		in->daddr = nat->in_addr;
	icheck = lb_csum_replace4(icheck, old_addr, nat->in_addr);
	icheck = lb_csum_replace2(icheck, old_in_check, in->check);
	ih->checksum = icheck;
	/* The outer address: the destination at ingress, the source at egress. */
	if (nat->outer) {
		__be32 old = side == LB_SIDE_SRC ? p->daddr : p->saddr;

		iph->check = lb_csum_replace4(iph->check, old, nat->outer_addr);
		if (side == LB_SIDE_SRC)
			iph->daddr = nat->outer_addr;
		else
			iph->saddr = nat->outer_addr;
	}
	return 0;
}

#endif /* LB_REWRITE_H */
