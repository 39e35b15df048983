/* SPDX-License-Identifier: MIT */
/*
 * lb_flow.h - the load balancer's decisions, independent of the hook they run in:
 * conntrack first (lb_conntrack.h), then listener match, source route, weighted choice
 * and flow creation for the request direction; conntrack lookup for the reply direction.
 * The hook entry points (lb.bpf.c) parse, call these, and apply the returned NAT
 * (lb_nat.h) with their own rewrite.
 */
#ifndef LB_FLOW_H
#define LB_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_count.h"
#include "lb_events.h"
#include "lb_fast.h"
#include "lb_fwd.h"
#include "lb_gset.h"
#include "lb_lc.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"
#include "lb_select.h"
#include "lb_trace.h"

/* The group a new flow of this listener is balanced over: source route, else default. */
static __always_inline __u32 lb_pick_group(const struct lb_listen_val *lv,
					   const struct lb_ip *saddr, __u8 *route)
{
	struct lb_route_key rk;
	struct lb_route_val *rv;

	*route = LB_ROUTE_DEFAULT;
	if (!(lv->flags & LB_LISTEN_F_HAS_ROUTES))
		return lv->default_group;
	rk.prefixlen = 32 + 128;
	rk.proxy_id = lv->proxy_id;
	rk.addr = *saddr;
	rv = bpf_map_lookup_elem(&lb_routes, &rk);
	if (!rv)
		return lv->default_group;
	*route = LB_ROUTE_SOURCE;
	return rv->group;
}

/*
 * The backend of a new flow of @hash in group @g (@group_id), NULL when no backend has a
 * weight. A small group: the slot of its Maglev table for the client's family, one lookup
 * of the table and one of its slot; without a table, the cumulative weights. A large
 * group: its generation's set (lb_gset.h). @lc: least connections instead (lb_lc.h). The
 * lookup keys live in the per-CPU scratch: the caller's stack is full.
 */
static __always_inline const struct lb_backend *lb_choose(const struct lb_group *g, __u32 group_id,
							  __u32 hash, bool v4, bool lc)
{
	struct lb_scratch *sc = lb_scratch_get();
	struct lb_maglev_slots *e;
	__u32 slot, m = g->table_size;
	void *table = NULL;
	int idx;

	if (g->n_backends > LB_GROUP_INLINE)
		return lc ? lb_lc_choose_gset(group_id, g->table_gen, hash, v4)
			  : lb_gset_choose(group_id, g->table_gen, hash, v4);
	if (lc)
		return lb_lc_choose_inline(g, hash, v4);
	if (m && sc) {
		sc->key = LB_MAGLEV_KEY(group_id, g->table_gen, !v4);
		table = bpf_map_lookup_elem(&lb_maglev, &sc->key);
	}
	idx = -1;
	if (table && sc) {
		slot = lb_maglev_slot(hash, m);
		sc->key = slot / LB_MAGLEV_PER_ENTRY;
		e = bpf_map_lookup_elem(table, &sc->key);
		if (e) {
			__u16 i = e->s[slot % LB_MAGLEV_PER_ENTRY];

			lb_trace_slot(hash, slot);
			/* LB_MAGLEV_NONE: nobody has a weight. */
			if (i >= g->n_backends || i >= LB_GROUP_INLINE)
				return NULL;
			idx = i;
		}
	}
	if (idx < 0)
		idx = lb_select_backend(g, hash, v4);
	if (idx < 0)
		return NULL;
	lb_trace_index((__u32)idx);
	return &g->backends[idx & (LB_GROUP_INLINE - 1)];
}

/*
 * Request direction (client -> listener). Conntrack is consulted before anything else, so
 * an established flow keeps its backend whatever happened to weights, routes or listeners.
 */
LB_DECISION int lb_flow_ingress(const struct lb_pkt_info *p, __u32 ifindex, struct lb_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_listen_val *lv;
	struct lb_ct_val *ct;
	struct lb_group *g;
	struct lb_stats *ps, *ts;
	const struct lb_backend *b;
	__u32 group_id, target_id;
	__u64 now;
	__u8 flags = 0, route;

	if (!p || !nat)
		return LB_V_PASS;
	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	k.dir = LB_DIR_ORIG;
	ct = bpf_map_lookup_elem(&lb_ct, &k);
	if (lb_trace_ct(ct, p, false, nat))
		return LB_V_REWRITE;
	if (ct && !lb_is_reopen(ct, p)) {
		__u64 seen = ct->last_seen_ns;

		lb_ct_account(&k, ct, p, 0);
		/* Once a clock tick per flow: is its REPLY entry still there? */
		if (ct->last_seen_ns != seen)
			lb_ct_restore_reply(&lb_ct, &k, ct, true);
		goto tracked;
	}
	/* A new connection on the 4-tuple of a closed one: the old flow goes. */
	if (ct && !lb_trace_mode)
		lb_ct_forget(&k, ct);
	ct = bpf_map_lookup_elem(&lb_syn, &k);
	if (lb_trace_ct(ct, p, true, nat))
		return LB_V_REWRITE;
	if (ct && !lb_is_reopen(ct, p)) {
		struct lb_ct_val *confirmed = lb_confirms(p) ? lb_ct_confirm(&k, ct) : NULL;

		if (confirmed) {
			ct = confirmed;
			lb_ct_account(&k, ct, p, 0);
		} else {
			lb_syn_account(&k, ct, p, 0);
			lb_ct_restore_reply(&lb_syn, &k, ct, false);
		}
		goto tracked;
	}
	/* Reopened before it was confirmed: lb_ct_create() overwrites it, uncounted here. */
	if (ct && !lb_trace_mode)
		lb_syn_forget(ct);

	lv = lb_listen_lookup(ifindex, &p->daddr, p->dport, p->proto);
	if (!lv) {
		if (lb_trace_mode)
			return LB_V_PASS;
		if (lb_fullnat_on && lb_fullnat_reply(&k, p, nat))
			return LB_V_REWRITE;
		if (lb_fast_on && lb_fast_nat_peek(&k, &nat->addr))
			return LB_V_FAST_REPLY;
		if (p->proto == LB_PROTO_TCP &&
		    (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN &&
		    lb_ct_forget_reused(p))
			lb_count(LB_G_CT_REUSED);
		else
			lb_count(LB_G_PASS_NO_LISTENER);
		return LB_V_PASS;
	}

	if (p->proto == LB_PROTO_TCP && !(p->tcp_flags & LB_TCP_SYN)) {
		/* A reset for a flow we do not know has nothing to reset behind us. */
		if (p->tcp_flags & LB_TCP_RST) {
			lb_count(LB_G_PASS_STRAY_RST);
			return LB_V_PASS;
		}
		/*
		 * Mid-stream packet without conntrack (entry evicted or lost): the choice is a
		 * pure function of the flow hash, so while the group is unchanged this picks
		 * the backend the flow started on, and the connection survives. Least
		 * connections placed it by load, not hash: a pickup takes the hash's choice
		 * too, right only when the flow's target was also the hash's.
		 */
		flags = LB_CT_F_PICKUP;
	}

	ps = bpf_map_lookup_elem(&lb_pstats, &lv->proxy_id);
	group_id = lb_pick_group(lv, &p->saddr, &route);
	g = bpf_map_lookup_elem(&lb_groups, &group_id);
	lb_trace_group(lv, group_id, route, g);
	b = g ? lb_choose(g, group_id,
			  lb_listen_hash(lv->flags, &p->saddr, &p->daddr, p->sport, p->dport,
					 p->proto),
			  p->family == 4,
			  (lv->flags & LB_LISTEN_F_LEASTCONN) && !(flags & LB_CT_F_PICKUP))
	      : NULL;
	if (!b) {
		if (lb_trace_mode)
			return LB_V_DROP;
		if (ps)
			ps->drop_no_backend++;
		lb_count(LB_G_DROP_NO_BACKEND);
		return LB_V_DROP;
	}
	target_id = b->target_id;
	if (lb_trace_backend(b, p, nat))
		return LB_V_REWRITE;
	ts = bpf_map_lookup_elem(&lb_tstats, &target_id);

	/*
	 * A backend address of 0 keeps the destination address and rewrites only the port:
	 * that is how new connections reach lbd's own SNI acceptor, which listens on every
	 * local address.
	 */
	now = bpf_ktime_get_coarse_ns();
	/* Built in place in @nat (written only for LB_V_REWRITE): this stack is full. */
	nat->addr = b->addr;
	if (lb_ip_is_zero(&nat->addr)) {
		nat->addr = p->daddr;
		route = LB_ROUTE_ACCEPTOR;
	}
	lb_fwd_new(nat, lv);
	if (lb_ct_create(p, lv, b, nat, now, flags, route)) {
		if (ps)
			ps->err_ct_insert++;
		if (ts)
			ts->err_ct_insert++;
		lb_count(LB_G_ERR_CT_INSERT);
		return LB_V_DROP;
	}
	nat->port = b->port;
	lb_lc_inc(target_id);
	if (ps)
		ps->new_flows++;
	if (ts)
		ts->new_flows++;
	if (lb_events_on)
		lb_emit_opened(&k, p, lv, b, &nat->addr, route, flags, now);
	lb_count_traffic(lv->proxy_id, target_id, p->ip_len, false);
	lb_count(LB_G_DNAT);
	return LB_V_REWRITE;

tracked:
	nat->addr = ct->nat_addr;
	nat->port = ct->nat_port;
	lb_fwd_tracked(nat, ct);
	lb_count_traffic(ct->proxy_id, ct->target_id, p->ip_len, false);
	lb_count(LB_G_DNAT);
	return LB_V_REWRITE;
}

/* Reply direction (backend -> client): only packets of a tracked flow are rewritten. */
LB_DECISION int lb_flow_egress(const struct lb_pkt_info *p, struct lb_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_ct_val *ct;

	if (!p || !nat)
		return LB_V_PASS;
	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	k.dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(&lb_ct, &k);
	/* Full-nat replies come back at ingress (lb_fwd.h), never through here. */
	if (ct && ct->fwd == LB_FWD_NAT) {
		lb_ct_account(&k, ct, p, LB_CT_F_REPLIED);
	} else {
		/* A reply to a flow its client has not confirmed yet (a SYN-ACK). */
		ct = bpf_map_lookup_elem(&lb_syn, &k);
		if (!ct || ct->fwd != LB_FWD_NAT)
			return LB_V_PASS;
		lb_syn_account(&k, ct, p, LB_CT_F_REPLIED);
	}
	nat->addr = ct->nat_addr;
	nat->port = ct->nat_port;
	lb_count_traffic(ct->proxy_id, ct->target_id, p->ip_len, true);
	lb_count(LB_G_SNAT);
	return LB_V_REWRITE;
}

#endif /* LB_FLOW_H */
