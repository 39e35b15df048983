/* SPDX-License-Identifier: MIT */
/*
 * lb_flow.h - the load balancer's decisions, independent of the hook they run in:
 * conntrack first, then listener match, source route, weighted choice and flow creation
 * for the request direction; conntrack lookup for the reply direction. The hook entry
 * points (lb.bpf.c) parse, call these, and apply the returned NAT with their own rewrite.
 */
#ifndef LB_FLOW_H
#define LB_FLOW_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_maps.h"
#include "lb_parse.h"
#include "lb_select.h"

enum lb_verdict {
	LB_V_PASS = 0, /* not ours: leave the packet exactly as it is */
	LB_V_REWRITE,  /* rewrite to nat_addr:nat_port, then let the kernel forward it */
	LB_V_DROP,
};

struct lb_nat {
	__be32 addr;
	__be16 port;
};

static __always_inline void lb_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&lb_gstats, &idx);

	if (c)
		*c += 1;
}

/* Map a non-OK parse result to its global counter. */
static __always_inline void lb_count_parse(int res)
{
	switch (res) {
	case LB_PARSE_NOT_IP:
		lb_count(LB_G_PASS_NOT_IP);
		break;
	case LB_PARSE_FRAGMENT:
		lb_count(LB_G_PASS_FRAGMENT);
		break;
	case LB_PARSE_OTHER_L4:
		lb_count(LB_G_PASS_OTHER_L4);
		break;
	default:
		lb_count(LB_G_PASS_MALFORMED);
		break;
	}
}

/* Per-proxy and per-target traffic counters of one packet of an existing flow. */
static __always_inline void lb_count_traffic(__u32 proxy_id, __u32 target_id, __u16 ip_len,
					     bool reply)
{
	struct lb_stats *ps = bpf_map_lookup_elem(&lb_pstats, &proxy_id);
	struct lb_stats *ts = bpf_map_lookup_elem(&lb_tstats, &target_id);

	if (reply) {
		if (ps) {
			ps->pkts_out++;
			ps->bytes_out += ip_len;
		}
		if (ts) {
			ts->pkts_out++;
			ts->bytes_out += ip_len;
		}
	} else {
		if (ps) {
			ps->pkts_in++;
			ps->bytes_in += ip_len;
		}
		if (ts) {
			ts->pkts_in++;
			ts->bytes_in += ip_len;
		}
	}
}

/*
 * Account one packet to its direction's entry: per-flow counters (while stats are enabled),
 * FIN/RST (and @add, e.g. REPLIED), idle clock (@now: lb_now_ns). Returns the flags this
 * packet set for the first time.
 * The counters are atomic adds: one direction's packets may run on several CPUs at once
 * (a backend's replies are sent from whichever CPU its threads run on).
 */
static __always_inline __u8 lb_ct_touch(struct lb_ct_val *ct, const struct lb_pkt *p, __u64 now,
					__u8 add)
{
	if (p->tcp_flags & LB_TCP_FIN)
		add |= LB_CT_F_FIN;
	if (p->tcp_flags & LB_TCP_RST)
		add |= LB_CT_F_RST;
	/* Only while stats are on: the two atomic adds are a quarter of this path's cost. */
	if (lb_events_on) {
		__sync_fetch_and_add(&ct->pkts, 1);
		__sync_fetch_and_add(&ct->bytes, p->ip_len);
	}
	/*
	 * Plain read-modify-write of the flags: a lost race only delays a flag to that
	 * direction's next FIN/RST retransmission.
	 */
	add &= ~ct->flags;
	if (add)
		ct->flags |= add;
	/* lbd's clock ticks once a second: one write per tick, and never backwards. */
	if (now > ct->last_seen_ns)
		ct->last_seen_ns = now;
	return add;
}

static __always_inline void lb_emit(const struct lb_event *ev)
{
	if (bpf_ringbuf_output(&lb_events, (void *)ev, sizeof(*ev), 0))
		lb_count(LB_G_EVENTS_LOST);
}

/* The fields every event has: the flow (@ok: its client-side key), its backend, when. */
static __always_inline void lb_event_flow(struct lb_event *ev, __u8 type,
					  const struct lb_ct_key *ok, __be32 backend_addr,
					  __be16 backend_port, __u32 proxy_id, __u32 target_id,
					  __u8 route, __u64 created, __u64 now)
{
	ev->type = type;
	ev->proto = ok->proto;
	ev->route = route;
	ev->proxy_id = proxy_id;
	ev->target_id = target_id;
	ev->client_addr = ok->saddr;
	ev->client_port = ok->sport;
	ev->listen_addr = ok->daddr;
	ev->listen_port = ok->dport;
	ev->backend_addr = backend_addr;
	ev->backend_port = backend_port;
	ev->ts_ns = now;
	ev->created_ns = created;
}

/* The "opened" event of a flow lb_ct_create() just created (@k: its ORIG key). */
static __always_inline void lb_emit_opened(const struct lb_ct_key *k, const struct lb_pkt *p,
					   const struct lb_listen_val *lv,
					   const struct lb_backend *b, __be32 nat_addr, __u8 route,
					   __u8 flags, __u64 now)
{
	struct lb_event ev = {};

	lb_event_flow(&ev, LB_EV_OPENED, k, nat_addr, b->port, lv->proxy_id, b->target_id, route,
		      now, now);
	ev.flags = flags;
	ev.pkts_in = 1;
	ev.bytes_in = p->ip_len;
	lb_emit(&ev);
}

/* From one entry's key and value, the keys of both entries of its flow. */
static __always_inline void lb_ct_pair_keys(const struct lb_ct_key *k, const struct lb_ct_val *ct,
					    struct lb_ct_key *ok, struct lb_ct_key *rk)
{
	__builtin_memset(ok, 0, sizeof(*ok));
	__builtin_memset(rk, 0, sizeof(*rk));
	ok->proto = rk->proto = k->proto;
	ok->dir = LB_DIR_ORIG;
	rk->dir = LB_DIR_REPLY;
	if (k->dir == LB_DIR_ORIG) {
		*ok = *k;
		rk->saddr = ct->nat_addr;
		rk->sport = ct->nat_port;
		rk->daddr = k->saddr;
		rk->dport = k->sport;
	} else {
		*rk = *k;
		ok->saddr = k->daddr;
		ok->sport = k->dport;
		ok->daddr = ct->nat_addr;
		ok->dport = ct->nat_port;
	}
}

/* The "closed" event of a flow from its entries (@o or @r may be missing, not both). */
static __always_inline void lb_emit_closed(const struct lb_ct_key *ok, const struct lb_ct_key *rk,
					   const struct lb_ct_val *o, const struct lb_ct_val *r,
					   __u8 reason, __u64 now)
{
	const struct lb_ct_val *any = o ? o : r;
	struct lb_event ev = {};

	if (!any)
		return;
	lb_event_flow(&ev, LB_EV_CLOSED, ok, rk->saddr, rk->sport, any->proxy_id, any->target_id,
		      any->route, any->created_ns, now);
	ev.reason = reason;
	if (o) {
		ev.flags |= o->flags;
		ev.pkts_in = o->pkts;
		ev.bytes_in = o->bytes;
	}
	if (r) {
		ev.flags |= r->flags;
		ev.pkts_out = r->pkts;
		ev.bytes_out = r->bytes;
	}
	lb_emit(&ev);
}

/*
 * Called for a TCP packet that set FIN or RST on its entry (@added), or that follows both
 * FINs: decide whether it ends the flow and, if so, emit "closed" with every packet so far
 * counted. A RST ends it at once. After a FIN from each side, the side that sent its FIN
 * first still owes the last ACK: that packet ends the flow, so the event counts it too.
 */
static __always_inline void lb_ct_close_step(const struct lb_ct_key *k, struct lb_ct_val *ct,
					     __u8 added)
{
	struct lb_ct_key ok, rk;
	struct lb_ct_val *other;
	__u64 now;
	__u8 reason;

	lb_ct_pair_keys(k, ct, &ok, &rk);
	other = bpf_map_lookup_elem(&lb_ct, k->dir == LB_DIR_ORIG ? &rk : &ok);
	if (added & LB_CT_F_RST) {
		reason = LB_CLOSE_RST;
	} else if (ct->flags & LB_CT_F_LASTACK) {
		reason = LB_CLOSE_FIN;
	} else {
		if (other && (other->flags & (LB_CT_F_FIN | LB_CT_F_LASTACK)) == LB_CT_F_FIN)
			other->flags |= LB_CT_F_LASTACK;
		return;
	}
	ct->flags |= LB_CT_F_CLOSED;
	if (other)
		other->flags |= LB_CT_F_CLOSED;
	now = bpf_ktime_get_coarse_ns(); /* once per flow */
	if (k->dir == LB_DIR_ORIG)
		lb_emit_closed(&ok, &rk, ct, other, reason, now);
	else
		lb_emit_closed(&ok, &rk, other, ct, reason, now);
}

/*
 * The per-packet part of an existing flow's entry: touch it, and maybe end the flow.
 * No helper call unless the packet ends the flow.
 */
static __always_inline void lb_ct_account(const struct lb_ct_key *k, struct lb_ct_val *ct,
					  const struct lb_pkt *p, __u8 add)
{
	__u8 added = lb_ct_touch(ct, p, lb_now_ns, add);

	if (lb_events_on && p->proto == LB_PROTO_TCP && !(ct->flags & LB_CT_F_CLOSED) &&
	    ((added & (LB_CT_F_FIN | LB_CT_F_RST)) || (ct->flags & LB_CT_F_LASTACK)))
		lb_ct_close_step(k, ct, added);
}

/*
 * A SYN (without ACK) that finds a flow whose client already closed or reset it starts a
 * new connection on a reused port: it must be balanced afresh, not glued to the old one.
 */
static __always_inline bool lb_is_reopen(const struct lb_ct_val *ct, const struct lb_pkt *p)
{
	return p->proto == LB_PROTO_TCP &&
	       (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN &&
	       (ct->flags & (LB_CT_F_FIN | LB_CT_F_RST));
}

/* The group a new flow of this listener is balanced over: source route, else default. */
static __always_inline __u32 lb_pick_group(const struct lb_listen_val *lv, __be32 saddr,
					   __u8 *route)
{
	struct lb_route_key rk;
	struct lb_route_val *rv;

	*route = LB_ROUTE_DEFAULT;
	if (!(lv->flags & LB_LISTEN_F_HAS_ROUTES))
		return lv->default_group;
	rk.prefixlen = 64;
	rk.proxy_id = lv->proxy_id;
	rk.addr = saddr;
	rv = bpf_map_lookup_elem(&lb_routes, &rk);
	if (!rv)
		return lv->default_group;
	*route = LB_ROUTE_SOURCE;
	return rv->group;
}

/*
 * Create both conntrack entries of a new flow to @b at @nat_addr, in lb_syn: the flow is
 * not confirmed by its client yet. 0 or a negative error.
 */
static __always_inline int lb_ct_create(const struct lb_pkt *p, const struct lb_listen_val *lv,
					const struct lb_backend *b, __be32 nat_addr, __u64 now,
					__u8 flags, __u8 route)
{
	struct lb_ct_key k = {};
	struct lb_ct_val v = {};
	int err;

	v.proxy_id = lv->proxy_id;
	v.target_id = b->target_id;
	v.created_ns = now;
	v.last_seen_ns = now;
	v.flags = flags;
	v.route = route;

	/* The reply entry first: the backend's first answer may race this CPU. */
	k.saddr = nat_addr;
	k.daddr = p->saddr;
	k.sport = b->port;
	k.dport = p->sport;
	k.proto = p->proto;
	k.dir = LB_DIR_REPLY;
	v.nat_addr = p->daddr;
	v.nat_port = p->dport;
	/*
	 * Replies look in lb_ct first: a closed flow of another listener that left the same
	 * backend-side 4-tuple there (same client port, same backend) would translate this
	 * flow's replies to its listener. The newest flow owns the 4-tuple.
	 */
	bpf_map_delete_elem(&lb_ct, &k);
	err = bpf_map_update_elem(&lb_syn, &k, &v, BPF_ANY);
	if (err)
		return err;

	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = p->sport;
	k.dport = p->dport;
	k.dir = LB_DIR_ORIG;
	v.nat_addr = nat_addr;
	v.nat_port = b->port;
	v.pkts = 1;
	v.bytes = p->ip_len;
	return bpf_map_update_elem(&lb_syn, &k, &v, BPF_ANY);
}

/*
 * A connection that does not go through a listener (e.g. a client talking to a backend
 * directly) may reuse the backend-side 4-tuple of a balanced flow that just closed; the
 * closed flow's REPLY entry would then rewrite the new connection's replies. On such a
 * SYN, a REPLY entry of a closed flow is dropped together with its ORIG entry.
 */
static __always_inline bool lb_forget_closed(void *map, const struct lb_pkt *p)
{
	struct lb_ct_key rk = {}, ok = {};
	struct lb_ct_val *ct;

	rk.saddr = p->daddr;
	rk.daddr = p->saddr;
	rk.sport = p->dport;
	rk.dport = p->sport;
	rk.proto = p->proto;
	rk.dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(map, &rk);
	if (!ct || !(ct->flags & (LB_CT_F_FIN | LB_CT_F_RST)))
		return false;
	/* Read what names the ORIG entry before the delete releases this one. */
	ok.saddr = p->saddr;
	ok.sport = p->sport;
	ok.daddr = ct->nat_addr;
	ok.dport = ct->nat_port;
	ok.proto = p->proto;
	ok.dir = LB_DIR_ORIG;
	bpf_map_delete_elem(map, &rk);
	bpf_map_delete_elem(map, &ok);
	return true;
}

/* The same in both tables: a flow reset before its client confirmed it sits in lb_syn. */
static __always_inline bool lb_ct_forget_reused(const struct lb_pkt *p)
{
	bool ct = lb_forget_closed(&lb_ct, p);
	bool syn = lb_forget_closed(&lb_syn, p);

	return ct || syn;
}

/*
 * A RST on a flow its client never confirmed (a backend refusing the SYN, a client giving
 * up): it ends there, and says so like any other flow.
 */
static __always_inline void lb_syn_account(const struct lb_ct_key *k, struct lb_ct_val *sc,
					   const struct lb_pkt *p, __u8 add)
{
	struct lb_ct_key ok, rk;
	struct lb_ct_val *other;
	__u8 added = lb_ct_touch(sc, p, lb_now_ns, add);

	if (!(added & LB_CT_F_RST) || !lb_events_on || (sc->flags & LB_CT_F_CLOSED))
		return;
	lb_ct_pair_keys(k, sc, &ok, &rk);
	other = bpf_map_lookup_elem(&lb_syn, k->dir == LB_DIR_ORIG ? &rk : &ok);
	sc->flags |= LB_CT_F_CLOSED;
	if (other)
		other->flags |= LB_CT_F_CLOSED;
	if (k->dir == LB_DIR_ORIG)
		lb_emit_closed(&ok, &rk, sc, other, LB_CLOSE_RST, bpf_ktime_get_coarse_ns());
	else
		lb_emit_closed(&ok, &rk, other, sc, LB_CLOSE_RST, bpf_ktime_get_coarse_ns());
}

/* Drop both lb_ct entries of the flow whose ORIG entry is (@k, @ct): a new flow reuses @k. */
static __always_inline void lb_ct_forget(const struct lb_ct_key *k, const struct lb_ct_val *ct)
{
	struct lb_ct_key ok, rk;

	lb_ct_pair_keys(k, ct, &ok, &rk);
	bpf_map_delete_elem(&lb_ct, &rk);
	bpf_map_delete_elem(&lb_ct, &ok);
}

/*
 * Does this packet of an unconfirmed flow (sent by its client) confirm it? A datagram after
 * the first does; for TCP a segment with ACK and without SYN or RST (the handshake's third
 * packet, or data after a pickup).
 */
static __always_inline bool lb_confirms(const struct lb_pkt *p)
{
	if (p->proto != LB_PROTO_TCP)
		return true;
	return (p->tcp_flags & (LB_TCP_ACK | LB_TCP_SYN | LB_TCP_RST)) == LB_TCP_ACK;
}

/*
 * Move a confirmed flow from lb_syn to lb_ct (REPLY first, as at creation). Returns its
 * lb_ct ORIG entry, or NULL when lb_ct refused it (the flow then stays in lb_syn).
 */
static __always_inline struct lb_ct_val *lb_ct_confirm(const struct lb_ct_key *k,
						       struct lb_ct_val *sc)
{
	struct lb_ct_key ok, rk;
	struct lb_ct_val *rsc;

	lb_ct_pair_keys(k, sc, &ok, &rk);
	rsc = bpf_map_lookup_elem(&lb_syn, &rk);
	if (rsc && bpf_map_update_elem(&lb_ct, &rk, rsc, BPF_ANY))
		return NULL;
	if (bpf_map_update_elem(&lb_ct, &ok, sc, BPF_ANY)) {
		bpf_map_delete_elem(&lb_ct, &rk);
		return NULL;
	}
	bpf_map_delete_elem(&lb_syn, &ok);
	bpf_map_delete_elem(&lb_syn, &rk);
	lb_count(LB_G_CT_CONFIRMED);
	return bpf_map_lookup_elem(&lb_ct, &ok);
}

/*
 * Request direction (client -> listener). Conntrack is consulted before anything else, so
 * an established flow keeps its backend whatever happened to weights, routes or listeners.
 */
static __always_inline enum lb_verdict lb_flow_ingress(const struct lb_pkt *p, __u32 ifindex,
						       struct lb_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_listen_key lk = {};
	struct lb_listen_val *lv;
	struct lb_ct_val *ct;
	struct lb_group *g;
	struct lb_stats *ps, *ts;
	const struct lb_backend *b;
	__u32 group_id, target_id;
	__u64 now;
	__be32 nat_addr;
	__u8 flags = 0, route;
	int idx;

	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	k.dir = LB_DIR_ORIG;
	ct = bpf_map_lookup_elem(&lb_ct, &k);
	if (ct && !lb_is_reopen(ct, p)) {
		lb_ct_account(&k, ct, p, 0);
		goto tracked;
	}
	/* A new connection on the 4-tuple of a closed one: the old flow goes. */
	if (ct)
		lb_ct_forget(&k, ct);
	ct = bpf_map_lookup_elem(&lb_syn, &k);
	if (ct && !lb_is_reopen(ct, p)) {
		struct lb_ct_val *confirmed = lb_confirms(p) ? lb_ct_confirm(&k, ct) : NULL;

		if (confirmed) {
			ct = confirmed;
			lb_ct_account(&k, ct, p, 0);
		} else {
			lb_syn_account(&k, ct, p, 0);
		}
		goto tracked;
	}

	lk.ifindex = ifindex;
	lk.addr = p->daddr;
	lk.port = p->dport;
	lk.proto = p->proto;
	lv = bpf_map_lookup_elem(&lb_listen, &lk);
	if (!lv) {
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
		 * the backend the flow started on, and the connection survives.
		 */
		flags = LB_CT_F_PICKUP;
	}

	ps = bpf_map_lookup_elem(&lb_pstats, &lv->proxy_id);
	group_id = lb_pick_group(lv, p->saddr, &route);
	g = bpf_map_lookup_elem(&lb_groups, &group_id);
	idx = g ? lb_select_backend(g,
				    lb_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto))
		: -1;
	if (idx < 0 || !g) {
		if (ps)
			ps->drop_no_backend++;
		lb_count(LB_G_DROP_NO_BACKEND);
		return LB_V_DROP;
	}
	b = &g->backends[idx & (LB_MAX_TARGETS_PER_GROUP - 1)];
	target_id = b->target_id;
	ts = bpf_map_lookup_elem(&lb_tstats, &target_id);

	/*
	 * A backend address of 0 keeps the destination address and rewrites only the port:
	 * that is how new connections reach lbd's own SNI acceptor, which listens on every
	 * local address.
	 */
	now = bpf_ktime_get_coarse_ns();
	nat_addr = b->addr;
	if (!nat_addr) {
		nat_addr = p->daddr;
		route = LB_ROUTE_ACCEPTOR;
	}
	if (lb_ct_create(p, lv, b, nat_addr, now, flags, route)) {
		if (ps)
			ps->err_ct_insert++;
		if (ts)
			ts->err_ct_insert++;
		lb_count(LB_G_ERR_CT_INSERT);
		return LB_V_DROP;
	}
	nat->addr = nat_addr;
	nat->port = b->port;
	if (ps)
		ps->new_flows++;
	if (ts)
		ts->new_flows++;
	if (lb_events_on)
		lb_emit_opened(&k, p, lv, b, nat_addr, route, flags, now);
	lb_count_traffic(lv->proxy_id, target_id, p->ip_len, false);
	lb_count(LB_G_DNAT);
	return LB_V_REWRITE;

tracked:
	nat->addr = ct->nat_addr;
	nat->port = ct->nat_port;
	lb_count_traffic(ct->proxy_id, ct->target_id, p->ip_len, false);
	lb_count(LB_G_DNAT);
	return LB_V_REWRITE;
}

/* Reply direction (backend -> client): only packets of a tracked flow are rewritten. */
static __always_inline enum lb_verdict lb_flow_egress(const struct lb_pkt *p, struct lb_nat *nat)
{
	struct lb_ct_key k = {};
	struct lb_ct_val *ct;

	k.saddr = p->saddr;
	k.daddr = p->daddr;
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	k.dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(&lb_ct, &k);
	if (ct) {
		lb_ct_account(&k, ct, p, LB_CT_F_REPLIED);
	} else {
		/* A reply to a flow its client has not confirmed yet (a SYN-ACK). */
		ct = bpf_map_lookup_elem(&lb_syn, &k);
		if (!ct)
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
