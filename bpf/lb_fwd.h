/* SPDX-License-Identifier: MIT */
/*
 * lb_fwd.h - the forwarding modes in the decisions (lb_flow.h): which mode a new flow
 * takes (its listener's), which one a tracked flow keeps (its conntrack entry's), and the
 * reply direction of full-nat, which arrives at the ingress hook addressed to the LB.
 */
#ifndef LB_FWD_H
#define LB_FWD_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_count.h"
#include "lb_fullnat.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"

/* A new flow of listener @lv: its mode, and with full-nat its source address. */
static __always_inline void lb_fwd_new(struct lb_nat *nat, const struct lb_listen_val *lv)
{
	nat->fwd = LB_LISTEN_FWD(lv->flags);
	if (nat->fwd == LB_FWD_FULLNAT)
		nat->saddr = lv->snat_addr;
}

/* A tracked flow finishes in the mode it started in, whatever its listener says now. */
static __always_inline void lb_fwd_tracked(struct lb_nat *nat, const struct lb_ct_val *ct)
{
	nat->fwd = ct->fwd;
	nat->saddr = ct->snat_addr;
	nat->sport = ct->snat_port;
}

/*
 * A packet that matched no listener: is it a target's reply to a full-nat flow (addressed
 * to the flow's snat address and port)? Then it goes back to the client from the listener:
 * destination (nat->addr, nat->port) the client, source (nat->saddr, nat->sport) the
 * listener. @k is the caller's key of the packet, turned into its REPLY key here.
 */
static __always_inline bool lb_fullnat_reply(struct lb_ct_key *k, const struct lb_pkt_info *p,
					     struct lb_nat *nat)
{
	struct lb_ct_val *ct;

	k->dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(&lb_ct, k);
	if (ct && ct->fwd == LB_FWD_FULLNAT) {
		lb_ct_account(k, ct, p, LB_CT_F_REPLIED);
	} else {
		/* A reply to a flow its client has not confirmed yet (a SYN-ACK). */
		ct = bpf_map_lookup_elem(&lb_syn, k);
		if (!ct || ct->fwd != LB_FWD_FULLNAT)
			return false;
		lb_syn_account(k, ct, p, LB_CT_F_REPLIED);
	}
	nat->fwd = LB_FWD_FULLNAT;
	nat->addr = ct->snat_addr;
	nat->port = ct->snat_port;
	nat->saddr = ct->nat_addr;
	nat->sport = ct->nat_port;
	lb_count_traffic(ct->proxy_id, ct->target_id, p->ip_len, true);
	lb_count(LB_G_FULLNAT_REPLY);
	return true;
}

#endif /* LB_FWD_H */
