/* SPDX-License-Identifier: MIT */
/*
 * lb_fast.h - the opt-in fast path (settings.fast-path, lb_fast_on): a rewritten packet
 * leaves from the hook itself, out of the interface the kernel's FIB names for its new
 * destination, instead of going up to the kernel's IP forwarding. Requests after their
 * DNAT (nat, full-nat), full-nat replies after their translation, and nat replies, which
 * then get their SNAT at the ingress of the backend-facing interface (lb_fast_nat_peek(),
 * LB_V_FAST_REPLY) instead of at TC egress.
 *
 * The hop is what bpf_fib_lookup() answers for the rewritten addresses from the ingress
 * interface, as the kernel's forwarding would: the egress interface and the Ethernet
 * addresses (XDP_TX when it is the ingress interface, else a redirect); the TTL or hop
 * limit is decremented as ip_forward()/ip6_forward() do. Whatever the lookup cannot resolve
 * goes the normal way, unchanged, and is counted (LB_G_FAST_FALLBACK): a TTL of 1 or less
 * (the kernel sends the time-exceeded), no route, a local destination, forwarding off on
 * the interface, a packet larger than the egress MTU, and at XDP a next hop without a
 * neighbour entry (at TC, bpf_redirect_neigh() resolves it, as the kernel would) or an
 * egress interface that is not in lb_fast_tx (not known to take XDP frames).
 *
 * What it bypasses: netfilter's forward and postrouting chains (a host firewall no longer
 * sees balanced traffic), the kernel's forwarding counters, and at XDP the qdiscs of the
 * egress interface.
 */
#ifndef LB_FAST_H
#define LB_FAST_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_csum.h"
#include "lb_dsr.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"

/* Set by lbd (.bss) while settings.fast-path is true. */
__u32 lb_fast_on;

/*
 * At TC a redirected skb still passes the egress hook of the interface it leaves by, where
 * lb_tc_egress runs too: this bit of skb->tc_index (writable from TC programs, kept
 * through bpf_redirect() and bpf_redirect_neigh(); read only by the dsmark qdisc and the
 * tcindex classifier, removed in 6.3; Cilium uses the low bits) marks a packet the fast path sent,
 * and lb_tc_egress returns at once for it, clearing the bit. Such a packet is a rewritten
 * request or an already translated reply: nothing for egress to do.
 */
#define LB_TC_INDEX_FAST 0x4000

/*
 * The hook's stack is full (the entry point plus lb_flow_ingress use all 512 bytes on 6.1):
 * the lookup and the redirect's next hop live per CPU, and the functions below that apply
 * them are subprograms of their own (LB_FAST_FN), whose frames never sit beside
 * lb_flow_ingress's.
 */
struct lb_fast_scratch {
	struct bpf_fib_lookup f;
	struct bpf_redir_neigh nh;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_fast_scratch);
} lb_fast_scratch SEC(".maps");

#define LB_FAST_FN static __attribute__((noinline))

/*
 * A packet that matched no listener nor flow at ingress: is it a backend's reply to a nat
 * flow? Then its SNAT source (the listener address) goes to @src, for the hop lookup.
 * @k is the caller's key of the packet, turned into its REPLY key here. Counts nothing:
 * the reply is accounted only when it takes the fast path (lb_flow_egress()).
 */
static __always_inline bool lb_fast_nat_peek(struct lb_ct_key *k, struct lb_ip *src)
{
	struct lb_ct_val *ct;

	k->dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(&lb_ct, k);
	if (!ct || ct->fwd != LB_FWD_NAT)
		ct = bpf_map_lookup_elem(&lb_syn, k);
	if (!ct || ct->fwd != LB_FWD_NAT)
		return false;
	*src = ct->nat_addr;
	return true;
}

/* The TTL (hop limit) of the IP header at @l3 lets the packet be forwarded once more. */
static __always_inline bool lb_fast_ttl_ok(void *l3, void *data_end, const __u8 family)
{
	if (family == 4) {
		struct iphdr *iph = l3;

		return (void *)(iph + 1) <= data_end && iph->ttl > 1;
	}
	struct ipv6hdr *ip6 = l3;

	return (void *)(ip6 + 1) <= data_end && ip6->hop_limit > 1;
}

/*
 * The next hop of a packet from @src to @dst that came in on @ifindex, into the per-CPU
 * scratch @f: the bpf_fib_lookup() result. @tot_len is the IP length the egress MTU is
 * checked against; 0 at TC, where the helper checks the skb itself (GSO included).
 */
static __always_inline int lb_fast_lookup(void *ctx, struct bpf_fib_lookup *f, const __u8 family,
					  __u8 proto, __u16 tot_len, const struct lb_ip *src,
					  const struct lb_ip *dst, __u32 ifindex)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->ifindex = ifindex;
	f->l4_protocol = proto;
	f->tot_len = tot_len;
	if (family == 4) {
		f->family = LB_AF_INET;
		f->ipv4_src = src->w[3];
		f->ipv4_dst = dst->w[3];
	} else {
		f->family = LB_AF_INET6;
		__builtin_memcpy(f->ipv6_src, src, sizeof(f->ipv6_src));
		__builtin_memcpy(f->ipv6_dst, dst, sizeof(f->ipv6_dst));
	}
	return bpf_fib_lookup(ctx, f, sizeof(*f), 0);
}

static __always_inline struct lb_fast_scratch *lb_fast_sc(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_fast_scratch, &zero);
}

static __always_inline struct bpf_fib_lookup *lb_fast_fib(void)
{
	struct lb_fast_scratch *sc = lb_fast_sc();

	return sc ? &sc->f : NULL;
}

/* ip_decrease_ttl() (the checksum follows by RFC 1624), or the hop limit of IPv6. */
static __always_inline void lb_fast_ttl_dec(void *l3, const __u8 family)
{
	if (family == 4) {
		struct iphdr *iph = l3;
		__u16 *w = (__u16 *)&iph->ttl; /* ttl and protocol: one checksum word */
		__u16 old = *w;

		iph->ttl--;
		iph->check = lb_csum_replace2(iph->check, old, *w);
	} else {
		((struct ipv6hdr *)l3)->hop_limit--;
	}
}

/* The new Ethernet addresses of the hop @f into the frame at @data. 0, or -1. */
static __always_inline int lb_fast_macs(void *data, void *data_end, const struct bpf_fib_lookup *f)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, f->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, f->smac, ETH_ALEN);
	return 0;
}

/*
 * XDP: how a frame leaves on the hop @f: XDP_TX out of its ingress interface, XDP_REDIRECT
 * (the target recorded by bpf_redirect_map(), nothing sent yet) to another interface, both
 * only when that interface is in lb_fast_tx, else XDP_PASS: an interface not known to take
 * XDP frames (a bond, a bridge, a VLAN device, a driver without ndo_xdp_xmit, a veth whose
 * peer has neither XDP nor GRO) would lose the frame, the kernel's forwarding does not. A
 * hairpin too: XDP_TX on a veth hands the frame to its peer, which drops it without NAPI.
 */
static __always_inline int lb_fast_xdp_via(struct xdp_md *ctx, const struct bpf_fib_lookup *f)
{
	__u32 ifindex = f->ifindex;

	if (ifindex == ctx->ingress_ifindex)
		return bpf_map_lookup_elem(&lb_fast_tx, &ifindex) ? XDP_TX : XDP_PASS;
	return bpf_redirect_map(&lb_fast_tx, ifindex, XDP_PASS);
}

/*
 * XDP: the hop of the packet at @p (already rewritten: from @src to @dst), or XDP_PASS, the
 * normal path, when there is none. The TTL is checked before anything is written.
 */
static __always_inline int lb_fast_xdp_fam(struct xdp_md *ctx, const struct lb_pkt *p,
					   const struct lb_ip *src, const struct lb_ip *dst,
					   const __u8 family)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup *f = lb_fast_fib();
	int verdict;

	if (!f || !lb_fast_ttl_ok(p->l3, data_end, family) ||
	    lb_fast_lookup(ctx, f, family, p->l4_proto, p->ip_len, src, dst,
			   ctx->ingress_ifindex) != BPF_FIB_LKUP_RET_SUCCESS) {
		lb_count(LB_G_FAST_FALLBACK);
		return XDP_PASS;
	}
	verdict = lb_fast_xdp_via(ctx, f);
	if (verdict == XDP_PASS) {
		lb_count(LB_G_FAST_FALLBACK);
		return XDP_PASS;
	}
	/* Checked again for the verifier: the lookup is a helper call. */
	if (!lb_fast_ttl_ok(p->l3, data_end, family) || lb_fast_macs(data, data_end, f))
		return XDP_ABORTED;
	lb_fast_ttl_dec(p->l3, family);
	lb_count(LB_G_FAST_REDIRECT);
	return verdict;
}

LB_FAST_FN int lb_fast_xdp(struct xdp_md *ctx, const struct lb_pkt *p, const struct lb_ip *src,
			   const struct lb_ip *dst)
{
	/*
	 * A VLAN-tagged frame: the lookup would answer for the physical interface and the
	 * frame would leave with its tag. The kernel's forwarding knows the VLAN device.
	 */
	if (p->l3_off != sizeof(struct ethhdr)) {
		lb_count(LB_G_FAST_FALLBACK);
		return XDP_PASS;
	}
	if (p->l3_family == 4)
		return lb_fast_xdp_fam(ctx, p, src, dst, 4);
	return lb_fast_xdp_fam(ctx, p, src, dst, 6);
}

/*
 * XDP, a nat reply (LB_V_FAST_REPLY): only when it has a hop does it get its SNAT here
 * (lb_flow_egress(), @nat its scratch); otherwise it passes untouched and TC egress
 * translates it as without the fast path.
 */
LB_FAST_FN int lb_fast_xdp_hop_ok(struct xdp_md *ctx, const struct lb_pkt *p,
				  const struct lb_ip *src)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup *f = lb_fast_fib();
	int rc;

	if (!f)
		return 0;
	if (p->l3_off != sizeof(struct ethhdr)) { /* VLAN-tagged: see lb_fast_xdp() */
		lb_count(LB_G_FAST_FALLBACK);
		return 0;
	}
	if (p->l3_family == 4)
		rc = lb_fast_ttl_ok(p->l3, data_end, 4)
			     ? lb_fast_lookup(ctx, f, 4, p->l4_proto, p->ip_len, src, &p->daddr,
					      ctx->ingress_ifindex)
			     : -1;
	else
		rc = lb_fast_ttl_ok(p->l3, data_end, 6)
			     ? lb_fast_lookup(ctx, f, 6, p->l4_proto, p->ip_len, src, &p->daddr,
					      ctx->ingress_ifindex)
			     : -1;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || lb_fast_xdp_via(ctx, f) == XDP_PASS) {
		lb_count(LB_G_FAST_FALLBACK);
		return 0;
	}
	return 1;
}

/*
 * XDP: send the (translated) packet @p out on the hop lb_fast_xdp_hop_ok() found; nothing
 * between the two calls a redirect helper.
 */
static __always_inline int lb_fast_xdp_out_fam(struct xdp_md *ctx, const struct lb_pkt *p,
					       const __u8 family)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup *f = lb_fast_fib();

	if (!f || !lb_fast_ttl_ok(p->l3, data_end, family) || lb_fast_macs(data, data_end, f))
		return XDP_ABORTED;
	lb_fast_ttl_dec(p->l3, family);
	lb_count(LB_G_FAST_REDIRECT);
	/* lb_fast_xdp_hop_ok() recorded the redirect's target (lb_fast_xdp_via()). */
	return f->ifindex == ctx->ingress_ifindex ? XDP_TX : XDP_REDIRECT;
}

LB_FAST_FN int lb_fast_xdp_out(struct xdp_md *ctx, const struct lb_pkt *p)
{
	if (p->l3_family == 4)
		return lb_fast_xdp_out_fam(ctx, p, 4);
	return lb_fast_xdp_out_fam(ctx, p, 6);
}

/*
 * TC: the hop of an skb, into the scratch: the lookup's result, or -1 (TTL). A next hop
 * without a neighbour entry is a hop too here: bpf_redirect_neigh() resolves it.
 */
LB_FAST_FN int lb_fast_tc_hop(struct __sk_buff *skb, const struct lb_pkt *p,
			      const struct lb_ip *src, const struct lb_ip *dst)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct bpf_fib_lookup *f = lb_fast_fib();
	void *l3 = data + p->l3_off;
	int rc = -1;

	if (!f)
		return -1;
	/* At TC the headers moved if a csum helper ran: p->l3 is stale, its offset is not. */
	if (p->l3_off > 64)
		return -1;
	if (p->l3_family == 4) {
		if (lb_fast_ttl_ok(l3, data_end, 4))
			rc = lb_fast_lookup(skb, f, 4, p->l4_proto, 0, src, dst,
					    skb->ingress_ifindex);
	} else if (lb_fast_ttl_ok(l3, data_end, 6)) {
		rc = lb_fast_lookup(skb, f, 6, p->l4_proto, 0, src, dst, skb->ingress_ifindex);
	}
	/*
	 * Only a successful lookup checked the skb against the egress MTU (tot_len 0: the
	 * helper's is_skb_forwardable()); without a neighbour it did not, so check here.
	 */
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		__u32 mtu_len = 0;

		if (bpf_check_mtu(skb, f->ifindex, &mtu_len, 0, 0))
			rc = BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		lb_count(LB_G_FAST_FALLBACK);
		return -1;
	}
	return rc;
}

/* TC: out on the hop lb_fast_tc_hop() found (@rc its result), TTL decremented. */
LB_FAST_FN int lb_fast_tc_out(struct __sk_buff *skb, const struct lb_pkt *p, int rc)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct lb_fast_scratch *sc = lb_fast_sc();
	void *l3 = data + p->l3_off;
	struct bpf_redir_neigh *nh;
	struct bpf_fib_lookup *f;

	if (!sc || p->l3_off > 64)
		return TC_ACT_SHOT;
	f = &sc->f;
	nh = &sc->nh;
	__builtin_memset(nh, 0, sizeof(*nh));
	if (p->l3_family == 4) {
		if (!lb_fast_ttl_ok(l3, data_end, 4))
			return TC_ACT_SHOT;
		lb_fast_ttl_dec(l3, 4);
	} else {
		if (!lb_fast_ttl_ok(l3, data_end, 6))
			return TC_ACT_SHOT;
		lb_fast_ttl_dec(l3, 6);
	}
	/*
	 * The next hop's family is the lookup's answer, not the packet's: an IPv4 route may
	 * have an IPv6 gateway (RFC 8950), which the lookup writes to ipv6_dst with family
	 * AF_INET6.
	 */
	if (f->family == LB_AF_INET6) {
		nh->nh_family = LB_AF_INET6;
		__builtin_memcpy(nh->ipv6_nh, f->ipv6_dst, sizeof(nh->ipv6_nh));
	} else {
		nh->nh_family = LB_AF_INET;
		nh->ipv4_nh = f->ipv4_dst;
	}
	lb_count(LB_G_FAST_REDIRECT);
	skb->tc_index |= LB_TC_INDEX_FAST;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(f->ifindex, nh, sizeof(*nh), 0);
	if (lb_fast_macs(data, data_end, f))
		return TC_ACT_SHOT;
	return bpf_redirect(f->ifindex, 0);
}

/* TC: a rewritten request or full-nat reply from @nat out on its hop, or the normal path. */
LB_FAST_FN int lb_fast_tc(struct __sk_buff *skb, const struct lb_pkt *p, const struct lb_nat *nat)
{
	int rc = lb_fast_tc_hop(skb, p, nat->fwd == LB_FWD_FULLNAT ? &nat->saddr : &p->saddr,
				&nat->addr);

	if (rc < 0)
		return TC_ACT_OK;
	return lb_fast_tc_out(skb, p, rc);
}

#endif /* LB_FAST_H */
