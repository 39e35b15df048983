/* SPDX-License-Identifier: MIT */
/*
 * lb_icmp.h - ICMP and ICMPv6 errors about balanced flows, translated like the flows themselves, so
 * that path-MTU discovery and the other error reports work through the load balancer
 * (what RFC 5508 asks of a NAT).
 *
 * An error carries the start of the packet it is about, as that packet looked where the
 * error was raised:
 *  - about a reply (backend -> client, already rewritten to come from the listener): a
 *    router towards the client sends it to the listener address. It goes on to the flow's
 *    backend: the outer destination and the inner source become the backend's address
 *    and port (lb_icmp_ingress, on the listening interface's ingress hook);
 *  - about a request (client -> backend, already rewritten to go to the backend): the
 *    backend itself or a router on its side sends it to the client. The inner destination
 *    becomes the listener's address and port, and so does the outer source when the
 *    backend sent it (lb_icmp_egress, at TC egress towards the client).
 * Errors that match no flow pass untouched. Nothing is rate-limited here: the sender's
 * kernel already limits its ICMP.
 */
#ifndef LB_ICMP_H
#define LB_ICMP_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_ip.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"

/* What translating one ICMP error changes. */
struct lb_icmp_nat {
	struct lb_ip in_addr; /* the inner packet's source (ingress) or destination (egress) */
	__be16 in_port;
	bool outer; /* the outer destination (ingress) or source (egress) too */
	struct lb_ip outer_addr;
};

/* The conntrack entry @k, confirmed or not. */
static __always_inline struct lb_ct_val *lb_icmp_flow(struct lb_ct_key *k)
{
	struct lb_ct_val *ct = bpf_map_lookup_elem(&lb_ct, k);

	return ct ? ct : bpf_map_lookup_elem(&lb_syn, k);
}

/*
 * The conntrack key of the flow the quoted packet belongs to, in direction @dir: the
 * quoted packet went the other way (an error answers it), so its ends are swapped.
 */
static __always_inline void lb_icmp_key(const struct lb_pkt_info *p, __u8 dir, struct lb_ct_key *k)
{
	k->saddr = p->in_daddr;
	k->sport = p->in_dport;
	k->daddr = p->in_saddr;
	k->dport = p->in_sport;
	k->proto = p->in_proto;
	k->dir = dir;
}

/* An error arriving for a listener address about a reply we sent: to the backend. */
LB_DECISION int lb_icmp_ingress(const struct lb_pkt_info *p, struct lb_icmp_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_ct_val *ct;

	if (!p || !nat)
		return LB_V_PASS;
	/* The reply went listener -> client: the flow's ORIG key is the other way round. */
	lb_icmp_key(p, LB_DIR_ORIG, &k);
	/*
	 * Sent to where the reply came from, or not about our reply at all. Only nat flows
	 * are translated: a full-nat flow's target knows another 4-tuple, a dsr flow's
	 * replies never came from here.
	 */
	if (!lb_ip_eq(&p->daddr, &p->in_saddr) || !(ct = lb_icmp_flow(&k)) ||
	    ct->fwd != LB_FWD_NAT) {
		lb_count(LB_G_PASS_OTHER_L4);
		return LB_V_PASS;
	}
	nat->in_addr = ct->nat_addr;
	nat->in_port = ct->nat_port;
	nat->outer = true;
	nat->outer_addr = ct->nat_addr;
	lb_count(LB_G_ICMP_TO_BACKEND);
	return LB_V_REWRITE;
}

/* An error leaving towards a client about a request we rewrote: to the client. */
LB_DECISION int lb_icmp_egress(const struct lb_pkt_info *p, struct lb_icmp_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_ct_val *ct;

	if (!p || !nat)
		return LB_V_PASS;
	/* The request went client -> backend: the flow's REPLY key is the other way round. */
	lb_icmp_key(p, LB_DIR_REPLY, &k);
	if (!lb_ip_eq(&p->daddr, &p->in_saddr) || !(ct = lb_icmp_flow(&k)) || ct->fwd != LB_FWD_NAT)
		return LB_V_PASS; /* egress counts nothing it does not own */
	nat->in_addr = ct->nat_addr;
	nat->in_port = ct->nat_port;
	/* From the backend itself: it must seem to come from the address the client knows. */
	nat->outer = lb_ip_eq(&p->saddr, &p->in_daddr);
	nat->outer_addr = ct->nat_addr;
	lb_count(LB_G_ICMP_TO_CLIENT);
	return LB_V_REWRITE;
}

#endif /* LB_ICMP_H */
