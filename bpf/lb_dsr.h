/* SPDX-License-Identifier: MIT */
/*
 * lb_dsr.h - layer-2 direct server return: a dsr flow's packets keep every IP and L4 byte;
 * only their Ethernet addresses change, to those the kernel's FIB and neighbour table give
 * for the target (bpf_fib_lookup), and they leave from the hook itself: XDP_TX when the
 * target is behind the interface they came in on, else a redirect (XDP and TC alike).
 *
 * The target must be on a directly connected segment (the FIB's next hop is the target
 * itself) and hold the listener address on a loopback or dummy interface; it answers the
 * client directly, so the LB sees one direction only.
 *
 * No neighbour entry for the target (BPF_FIB_LKUP_RET_NO_NEIGH): the packet is dropped
 * and counted (LB_G_DSR_NO_NEIGH). Passing it on would hand it to the LB's own stack,
 * which holds the listener address too and would answer a TCP SYN with a RST. Nothing
 * here asks the kernel to resolve the target (bpf_fib_lookup() never does): lbd keeps a
 * managed neighbour entry for every dsr target (daemon/dataplane/neigh.h), which the
 * kernel resolves and keeps resolved with no traffic and no health check; the client
 * retransmits meanwhile. Any other FIB answer (a gateway in between, forwarding disabled,
 * an MTU too small, no route) drops and counts LB_G_DSR_NO_ROUTE.
 */
#ifndef LB_DSR_H
#define LB_DSR_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_nat.h"
#include "lb_parse.h"

#define LB_AF_INET  2
#define LB_AF_INET6 10

/* The FIB lookup's 64 bytes, per CPU: the hook's stack holds the parsed packet already. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} lb_fib_scratch SEC(".maps");

/*
 * Where the packet @p goes to reach target nat->addr from ingress interface @ifindex: the
 * FIB's answer (egress ifindex, smac, dmac), or NULL when it cannot go (counted).
 *
 * @tot_len: the length the egress MTU is checked against. XDP gives the packet's own (a
 * frame there is never larger than the MTU it came in with). TC gives 0, which makes the
 * kernel check the skb itself as its forwarding does: a GRO or TSO aggregate of many
 * segments (tens of KB at TC ingress) by the size of its segments. Its total length
 * would fail every MTU and drop every bulk upload.
 */
static __always_inline struct bpf_fib_lookup *lb_dsr_fib(void *ctx, const struct lb_pkt *p,
							 const struct lb_nat *nat, __u32 ifindex,
							 __u16 tot_len)
{
	__u32 zero = 0;
	struct bpf_fib_lookup *f = bpf_map_lookup_elem(&lb_fib_scratch, &zero);
	int rc;

	if (!f)
		return NULL;
	__builtin_memset(f, 0, sizeof(*f));
	f->ifindex = ifindex;
	f->l4_protocol = p->l4_proto;
	f->tot_len = tot_len;
	if (p->l3_family == 4) {
		f->family = LB_AF_INET;
		f->ipv4_src = p->saddr.w[3];
		f->ipv4_dst = nat->addr.w[3];
	} else {
		f->family = LB_AF_INET6;
		__builtin_memcpy(f->ipv6_src, &p->saddr, sizeof(f->ipv6_src));
		__builtin_memcpy(f->ipv6_dst, &nat->addr, sizeof(f->ipv6_dst));
	}
	rc = bpf_fib_lookup(ctx, f, sizeof(*f), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		lb_count(LB_G_DSR_NO_NEIGH);
		return NULL;
	}
	/* The next hop must be the target itself: dsr does not cross a router. */
	if (rc != BPF_FIB_LKUP_RET_SUCCESS ||
	    (p->l3_family == 4
		     ? f->ipv4_dst != nat->addr.w[3]
		     : f->ipv6_dst[0] != nat->addr.w[0] || f->ipv6_dst[1] != nat->addr.w[1] ||
			       f->ipv6_dst[2] != nat->addr.w[2] ||
			       f->ipv6_dst[3] != nat->addr.w[3])) {
		lb_count(LB_G_DSR_NO_ROUTE);
		return NULL;
	}
	return f;
}

/* The new Ethernet addresses into the frame at @data. 0, or -1 when it is too short. */
static __always_inline int lb_dsr_write_macs(void *data, void *data_end,
					     const struct bpf_fib_lookup *f)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, f->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, f->smac, ETH_ALEN);
	lb_count(LB_G_DSR_TX);
	return 0;
}

static __always_inline int lb_dsr_xdp(struct xdp_md *ctx, const struct lb_pkt *p,
				      const struct lb_nat *nat)
{
	struct bpf_fib_lookup *f = lb_dsr_fib(ctx, p, nat, ctx->ingress_ifindex, p->ip_len);

	if (!f)
		return XDP_DROP;
	if (lb_dsr_write_macs((void *)(long)ctx->data, (void *)(long)ctx->data_end, f))
		return XDP_ABORTED;
	if (f->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(f->ifindex, 0);
}

static __always_inline int lb_dsr_tc(struct __sk_buff *skb, const struct lb_pkt *p,
				     const struct lb_nat *nat)
{
	struct bpf_fib_lookup *f = lb_dsr_fib(skb, p, nat, skb->ingress_ifindex, 0);

	if (!f)
		return TC_ACT_SHOT;
	if (lb_dsr_write_macs((void *)(long)skb->data, (void *)(long)skb->data_end, f))
		return TC_ACT_SHOT;
	return bpf_redirect(f->ifindex, 0);
}

#endif /* LB_DSR_H */
