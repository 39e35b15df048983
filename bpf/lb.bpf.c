// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * lb.bpf.c - the datapath's entry points. Each one parses, asks lb_flow.h what to do and
 * applies the answer with the rewrite that suits its hook; verdicts are mapped here and
 * nowhere else.
 *
 *   lb_xdp_ingress  XDP: DNAT of client packets to backends.
 *   lb_tc_ingress   the same decisions at TC ingress (clsact), for interfaces where XDP
 *                   costs more than it saves (veth: native XDP turns off the peer's
 *                   segmentation offload). An interface runs one of the two, never both.
 *   lb_tc_egress    TC egress (clsact) on the same interfaces: SNAT of backend replies
 *                   back to the listener address, before they leave towards the client.
 *
 * IPv4 and IPv6 take the same path (lb_parse.h hands both over as struct lb_ip). ICMP and
 * ICMPv6 errors about a balanced flow are translated on the same hooks (lb_icmp.h): those
 * about replies on the way in, those about requests on the way out.
 *
 * Forwarding itself is left to the kernel (XDP_PASS / TC_ACT_OK): routing, neighbours,
 * TTL and fragmentation stay the kernel's business; but for dsr flows (lb_dsr.h), which
 * leave from the hook (XDP_TX, redirect) with only their Ethernet addresses changed.
 * Full-nat flows (lb_fullnat.h, lb_fwd.h) get both addresses rewritten at ingress, their
 * replies too (addressed to the LB, they never reach an egress hook as replies).
 * With the fast path (settings.fast-path, lb_fast.h) rewritten packets leave from the hook
 * too, after a FIB lookup, and nat replies are translated at the backend side's ingress
 * (LB_V_FAST_REPLY) when they can leave from there.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lb_dsr.h"
#include "lb_fast.h"
#include "lb_flow.h"
#include "lb_parse.h"
#include "lb_rewrite.h"
#include "lb_rewrite_fullnat.h"

/*
 * Bytes made linear before a second parse attempt of a paged skb: L2 + 2 VLAN + IP (with
 * IPv4 options or IPv6 extension headers) + TCP, or for an ICMP error L2 + 2 VLAN + IP +
 * ICMP + the inner IP and TCP headers (130 bytes for ICMPv6).
 */
#define LB_SKB_PULL_LEN 256

SEC("xdp")
int lb_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb_pkt p;
	int res;

	/* Whole: the decisions read it as plain memory (lb_nat.h, LB_DECISION). */
	__builtin_memset(&p, 0, sizeof(p));
	res = lb_parse(data, data_end, (__u32)(data_end - data), &p);
	if (res == LB_PARSE_ICMP_ERROR) {
		struct lb_icmp_nat inat = {};

		if (lb_icmp_ingress(&p.info, &inat) == LB_V_REWRITE &&
		    lb_rewrite_icmp(&p, data_end, LB_SIDE_SRC, &inat))
			return XDP_ABORTED;
		return XDP_PASS;
	}
	if (res != LB_PARSE_OK) {
		lb_count_parse(res);
		return XDP_PASS;
	}
	/* Declared only here: its stack may be the ICMP branch's (the 512 bytes are tight). */
	struct lb_nat nat = {};

	switch (lb_flow_ingress(&p.info, ctx->ingress_ifindex, &nat)) {
	case LB_V_REWRITE:
		if (nat.fwd == LB_FWD_DSR)
			return lb_dsr_xdp(ctx, &p, &nat);
		/* Cannot fail after lb_parse() (its bounds checks are the verifier's): if it
		 * ever did, XDP_ABORTED shows in the xdp:xdp_exception tracepoint. */
		if (lb_rewrite_direct(&p, data_end, LB_SIDE_DST, &nat))
			return XDP_ABORTED;
		if (nat.fwd == LB_FWD_FULLNAT && lb_rewrite_direct(&p, data_end, LB_SIDE_SRC, &nat))
			return XDP_ABORTED;
		if (lb_fast_on)
			return lb_fast_xdp(ctx, &p,
					   nat.fwd == LB_FWD_FULLNAT ? &nat.saddr : &p.saddr,
					   &nat.addr);
		return XDP_PASS;
	case LB_V_FAST_REPLY:
		/* Translated here only when it leaves from here; else TC egress does it. */
		if (!lb_fast_xdp_hop_ok(ctx, &p, &nat.addr) ||
		    lb_flow_egress(&p.info, &nat) != LB_V_REWRITE)
			return XDP_PASS;
		nat.fwd = LB_FWD_NAT;
		if (lb_rewrite_direct(&p, data_end, LB_SIDE_SRC, &nat))
			return XDP_ABORTED;
		return lb_fast_xdp_out(ctx, &p);
	case LB_V_DROP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

/*
 * Parse an skb; headers that sit in paged data (a GSO packet, a tunnel) are made linear
 * and parsed again. Returns the lb_parse() result.
 */
static __always_inline int lb_parse_skb(struct __sk_buff *skb, struct lb_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int res;

	/* Whole: the decisions read it as plain memory (lb_nat.h, LB_DECISION). */
	__builtin_memset(p, 0, sizeof(*p));
	res = lb_parse(data, data_end, skb->len, p);

	if (res == LB_PARSE_MALFORMED && skb->len > (__u32)(data_end - data)) {
		if (bpf_skb_pull_data(skb, skb->len < LB_SKB_PULL_LEN ? skb->len : LB_SKB_PULL_LEN))
			return res;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		res = lb_parse(data, data_end, skb->len, p);
	}
	return res;
}

SEC("tc")
int lb_tc_ingress(struct __sk_buff *skb)
{
	struct lb_pkt p;
	int res = lb_parse_skb(skb, &p);

	if (res == LB_PARSE_ICMP_ERROR) {
		struct lb_icmp_nat inat = {};

		if (lb_icmp_ingress(&p.info, &inat) == LB_V_REWRITE)
			lb_rewrite_icmp(&p, (void *)(long)skb->data_end, LB_SIDE_SRC, &inat);
		return TC_ACT_OK;
	}
	if (res != LB_PARSE_OK) {
		lb_count_parse(res);
		return TC_ACT_OK;
	}
	struct lb_nat nat = {};

	switch (lb_flow_ingress(&p.info, skb->ingress_ifindex, &nat)) {
	case LB_V_REWRITE:
		if (nat.fwd == LB_FWD_DSR)
			return lb_dsr_tc(skb, &p, &nat);
		if (nat.fwd == LB_FWD_FULLNAT)
			lb_rewrite_skb_fullnat(skb, &p, &nat);
		else
			lb_rewrite_skb(skb, &p, LB_SIDE_DST, &nat);
		if (lb_fast_on)
			return lb_fast_tc(skb, &p, &nat);
		return TC_ACT_OK;
	case LB_V_FAST_REPLY:
		/* Translated here only when it leaves from here; else TC egress does it. */
		res = lb_fast_tc_hop(skb, &p, &nat.addr, &p.daddr);
		if (res < 0 || lb_flow_egress(&p.info, &nat) != LB_V_REWRITE)
			return TC_ACT_OK;
		lb_rewrite_skb(skb, &p, LB_SIDE_SRC, &nat);
		return lb_fast_tc_out(skb, &p, res);
	case LB_V_DROP:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
}

SEC("tc")
int lb_tc_egress(struct __sk_buff *skb)
{
	struct lb_pkt p;
	int res;

	/* Sent by the fast path at TC ingress: rewritten already (lb_fast.h). */
	if (skb->tc_index & LB_TC_INDEX_FAST) {
		skb->tc_index &= ~LB_TC_INDEX_FAST;
		return TC_ACT_OK;
	}
	res = lb_parse_skb(skb, &p);

	if (res == LB_PARSE_ICMP_ERROR) {
		struct lb_icmp_nat inat = {};

		if (lb_icmp_egress(&p.info, &inat) == LB_V_REWRITE)
			lb_rewrite_icmp(&p, (void *)(long)skb->data_end, LB_SIDE_DST, &inat);
		return TC_ACT_OK;
	}
	if (res != LB_PARSE_OK)
		return TC_ACT_OK; /* egress counts nothing it does not own */
	struct lb_nat nat = {};

	if (lb_flow_egress(&p.info, &nat) == LB_V_REWRITE)
		lb_rewrite_skb(skb, &p, LB_SIDE_SRC, &nat);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
