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
 * IPv4 has a header checksum, IPv6 none; both L4 checksums cover the addresses through the
 * pseudo-header (four 32-bit words of each IPv6 address). UDP over IPv4's "no checksum"
 * (0) stays 0, and a computed 0 is sent as 0xffff (RFC 768; over IPv6, where a checksum
 * is mandatory, the same 0xffff).
 */
#ifndef LB_REWRITE_H
#define LB_REWRITE_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "lb_csum.h"
#include "lb_icmp.h"
#include "lb_nat.h"
#include "lb_parse.h"

enum lb_side { LB_SIDE_DST = 0, LB_SIDE_SRC = 1 };

/* An address change in a checksum: one word for IPv4, four for IPv6. */
static __always_inline __u16 lb_csum_replace_ip(__u16 c, __u8 family, const struct lb_ip *from,
						const struct lb_ip *to)
{
	if (family == 4)
		return lb_csum_replace4(c, from->w[3], to->w[3]);
	c = lb_csum_replace4(c, from->w[0], to->w[0]);
	c = lb_csum_replace4(c, from->w[1], to->w[1]);
	c = lb_csum_replace4(c, from->w[2], to->w[2]);
	return lb_csum_replace4(c, from->w[3], to->w[3]);
}

/*
 * Write @to into the source or destination address of the IP header at @l3 (bounds
 * checked by the caller), keeping the IPv4 header checksum right.
 */
static __always_inline void lb_write_addr(void *l3, __u8 family, enum lb_side side,
					  const struct lb_ip *from, const struct lb_ip *to)
{
	if (family == 4) {
		struct iphdr *iph = l3;

		iph->check = lb_csum_replace4(iph->check, from->w[3], to->w[3]);
		if (side == LB_SIDE_SRC)
			iph->saddr = to->w[3];
		else
			iph->daddr = to->w[3];
	} else {
		struct ipv6hdr *ip6 = l3;

		if (side == LB_SIDE_SRC)
			__builtin_memcpy(&ip6->saddr, to, sizeof(*to));
		else
			__builtin_memcpy(&ip6->daddr, to, sizeof(*to));
	}
}

/* The IP header at p->l3 lies within the packet (true after lb_parse(): for the verifier). */
static __always_inline bool lb_l3_ok(const struct lb_pkt *p, __u8 family, void *data_end)
{
	if (family == 4)
		return (void *)((struct iphdr *)p->l3 + 1) <= data_end;
	return (void *)((struct ipv6hdr *)p->l3 + 1) <= data_end;
}

static __always_inline int lb_rewrite_direct_fam(struct lb_pkt *p, void *data_end,
						 enum lb_side side, const struct lb_nat *to,
						 const __u8 family)
{
	/* With full-nat the source side takes the second address of @to. */
	const struct lb_ip *to_addr =
		side == LB_SIDE_SRC && to->fwd == LB_FWD_FULLNAT ? &to->saddr : &to->addr;
	__be16 to_port = side == LB_SIDE_SRC && to->fwd == LB_FWD_FULLNAT ? to->sport : to->port;
	const struct lb_ip *old_addr = side == LB_SIDE_SRC ? &p->saddr : &p->daddr;
	__be16 old_port = side == LB_SIDE_SRC ? p->sport : p->dport;
	__sum16 *l4_check;
	__be16 *port;

	if (!lb_l3_ok(p, family, data_end))
		return -1;
	if (p->l4_proto == LB_PROTO_TCP) {
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

	if (p->l4_proto == LB_PROTO_TCP || *l4_check) {
		__u16 c = lb_csum_replace_ip(*l4_check, family, old_addr, to_addr);

		c = lb_csum_replace2(c, old_port, to_port);
		if (p->l4_proto == LB_PROTO_UDP && c == 0)
			c = 0xffff;
		*l4_check = c;
	}
	*port = to_port;
	lb_write_addr(p->l3, family, side, old_addr, to_addr);
	return 0;
}

/*
 * The family is read once, here, and each copy below is compiled for one family: after a
 * decision the verifier knows nothing of it (lb_nat.h), and two reads could disagree.
 */
static __always_inline int lb_rewrite_direct(struct lb_pkt *p, void *data_end, enum lb_side side,
					     const struct lb_nat *nat)
{
	if (p->l3_family == 4)
		return lb_rewrite_direct_fam(p, data_end, side, nat, 4);
	return lb_rewrite_direct_fam(p, data_end, side, nat, 6);
}

static __always_inline int lb_rewrite_skb_fam(struct __sk_buff *skb, const struct lb_pkt *p,
					      enum lb_side side, const struct lb_nat *nat,
					      const __u8 family)
{
	void *data_end = (void *)(long)skb->data_end;
	const struct lb_ip *old_addr = side == LB_SIDE_SRC ? &p->saddr : &p->daddr;
	struct lb_ip old = *old_addr;
	__be16 old_port = side == LB_SIDE_SRC ? p->sport : p->dport;
	__u32 check_off;
	__u64 mangled = 0;
	__be16 *port;
	int i;

	if (!lb_l3_ok(p, family, data_end))
		return -1;
	if (p->l4_proto == LB_PROTO_TCP) {
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
	 * Headers written in place (the verifier unclones a cloned skb at entry): the IPv4
	 * header checksum is never partial and its sum stays the same, so skb->csum does too.
	 * The L4 checksum goes through the helpers, after the writes (they move the packet
	 * pointers): they know whether it is partial and keep skb->csum right.
	 */
	lb_write_addr(p->l3, family, side, &old, &nat->addr);
	*port = nat->port;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (family == 4 && i < 3)
			continue;
		if (bpf_l4_csum_replace(skb, check_off, old.w[i], nat->addr.w[i],
					mangled | BPF_F_PSEUDO_HDR | sizeof(__be32)))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, check_off, old_port, nat->port, mangled | sizeof(nat->port)))
		return -1;
	return 0;
}

static __always_inline int lb_rewrite_skb(struct __sk_buff *skb, const struct lb_pkt *p,
					  enum lb_side side, const struct lb_nat *nat)
{
	if (p->l3_family == 4)
		return lb_rewrite_skb_fam(skb, p, side, nat, 4);
	return lb_rewrite_skb_fam(skb, p, side, nat, 6);
}

/*
 * Translate an ICMP(v6) error (lb_icmp.h): the inner packet's source (@side LB_SIDE_SRC, at
 * ingress) or destination (LB_SIDE_DST, at egress) address and port, and the outer
 * destination or source with it when @nat says so. Every checksum follows by RFC 1624:
 * the inner IPv4 header's, the inner L4 checksum when the error still carries it (UDP's is
 * within the 8 bytes every error has, unless it is 0 over IPv4; TCP's only when 18 bytes
 * of the header came back: what was cut off is not "fixed"), the ICMP checksum over all of
 * those changes (ICMPv6's also over the outer addresses: its pseudo-header), and the outer
 * IPv4 header's. Each header's sum is left what it was, so these direct writes keep an
 * skb's CHECKSUM_COMPLETE value right too. 0, or -1 when a header is not where the parser
 * saw it (cannot happen after lb_parse()).
 */
static __always_inline int lb_rewrite_icmp_fam(struct lb_pkt *p, void *data_end, enum lb_side side,
					       const struct lb_icmp_nat *nat, const __u8 family)
{
	struct lb_icmphdr *ih = p->l4;
	__u8 *l4 = p->in_l4;
	const struct lb_ip *old_addr = side == LB_SIDE_SRC ? &p->in_saddr : &p->in_daddr;
	struct lb_ip old = *old_addr;
	__be16 old_port = side == LB_SIDE_SRC ? p->in_sport : p->in_dport;
	const __u8 in_proto = p->in_l4_proto;
	__u16 icheck;
	__sum16 *l4_check = NULL;

	if (!lb_l3_ok(p, family, data_end) || (void *)(ih + 1) > data_end ||
	    (void *)(l4 + 8) > data_end)
		return -1;
	if (family == 4 && (void *)((struct iphdr *)p->in_l3 + 1) > data_end)
		return -1;
	if (family != 4 && (void *)((struct ipv6hdr *)p->in_l3 + 1) > data_end)
		return -1;
	icheck = ih->checksum;

	/* The inner L4 checksum, where it came back (pseudo-header address, then port). */
	if (in_proto == LB_PROTO_UDP)
		l4_check = (__sum16 *)(l4 + 6);
	else if (p->in_l4_len >= 18 && (void *)(l4 + 18) <= data_end)
		l4_check = (__sum16 *)(l4 + 16);
	if (l4_check && (in_proto == LB_PROTO_TCP || *l4_check)) {
		__u16 prev = *l4_check, c;

		c = lb_csum_replace_ip(prev, family, &old, &nat->in_addr);
		c = lb_csum_replace2(c, old_port, nat->in_port);
		if (in_proto == LB_PROTO_UDP && c == 0)
			c = 0xffff;
		*l4_check = c;
		icheck = lb_csum_replace2(icheck, prev, c);
	}
	/* The inner port. */
	*(__be16 *)(l4 + (side == LB_SIDE_SRC ? 0 : 2)) = nat->in_port;
	icheck = lb_csum_replace2(icheck, old_port, nat->in_port);
	/* The inner address (and the inner IPv4 header's checksum, which the ICMP sum covers). */
	if (family == 4) {
		struct iphdr *in = p->in_l3;
		__u16 old_in_check = in->check;

		lb_write_addr(in, 4, side, &old, &nat->in_addr);
		icheck = lb_csum_replace2(icheck, old_in_check, in->check);
	} else {
		lb_write_addr(p->in_l3, 6, side, &old, &nat->in_addr);
	}
	icheck = lb_csum_replace_ip(icheck, family, &old, &nat->in_addr);
	/* The outer address: the destination at ingress, the source at egress. */
	if (nat->outer) {
		const struct lb_ip *outer = side == LB_SIDE_SRC ? &p->daddr : &p->saddr;
		struct lb_ip prev = *outer;
		enum lb_side os = side == LB_SIDE_SRC ? LB_SIDE_DST : LB_SIDE_SRC;

		/* ICMPv6 sums its pseudo-header too: the outer addresses. */
		if (family != 4)
			icheck = lb_csum_replace_ip(icheck, 6, &prev, &nat->outer_addr);
		lb_write_addr(p->l3, family, os, &prev, &nat->outer_addr);
	}
	ih->checksum = icheck;
	return 0;
}

static __always_inline int lb_rewrite_icmp(struct lb_pkt *p, void *data_end, enum lb_side side,
					   const struct lb_icmp_nat *nat)
{
	if (p->l3_family == 4)
		return lb_rewrite_icmp_fam(p, data_end, side, nat, 4);
	return lb_rewrite_icmp_fam(p, data_end, side, nat, 6);
}

#endif /* LB_REWRITE_H */
