/* SPDX-License-Identifier: MIT */
/*
 * lb_conntrack.h - the two conntrack tables (lb_syn: flows their client has not confirmed yet;
 * lb_ct: confirmed ones): creating a flow's two entries, confirming it, accounting each packet to
 * its direction's entry, ending it (FIN, RST), and forgetting a flow whose 4-tuple a new
 * connection reuses.
 */
#ifndef LB_CONNTRACK_H
#define LB_CONNTRACK_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_events.h"
#include "lb_fullnat.h"
#include "lb_lc_count.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"

/*
 * Account one packet to its direction's entry: per-flow counters (while stats are enabled),
 * FIN/RST (and @add, e.g. REPLIED), idle clock (@now: lb_now_ns). Returns the flags this
 * packet set for the first time.
 * The counters are atomic adds: one direction's packets may run on several CPUs at once
 * (a backend's replies are sent from whichever CPU its threads run on).
 */
static __always_inline __u8 lb_ct_touch(struct lb_ct_val *ct, const struct lb_pkt_info *p,
					__u64 now, __u8 add)
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
		rk->daddr = ct->fwd == LB_FWD_FULLNAT ? ct->snat_addr : k->saddr;
		rk->dport = ct->fwd == LB_FWD_FULLNAT ? ct->snat_port : k->sport;
	} else {
		*rk = *k;
		/* A full-nat REPLY entry names the client itself; a nat one is addressed to it. */
		ok->saddr = ct->fwd == LB_FWD_FULLNAT ? ct->snat_addr : k->daddr;
		ok->sport = ct->fwd == LB_FWD_FULLNAT ? ct->snat_port : k->dport;
		ok->daddr = ct->nat_addr;
		ok->dport = ct->nat_port;
	}
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
	struct lb_scratch *sc = lb_scratch_get();
	struct lb_ct_key *ok, *rk;
	struct lb_ct_val *other;
	__u64 now;
	__u8 reason;

	if (!sc)
		return;
	ok = &sc->k[0];
	rk = &sc->k[1];
	lb_ct_pair_keys(k, ct, ok, rk);
	other = bpf_map_lookup_elem(&lb_ct, k->dir == LB_DIR_ORIG ? rk : ok);
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
		lb_emit_closed(ok, rk, ct, other, reason, now);
	else
		lb_emit_closed(ok, rk, other, ct, reason, now);
}

/*
 * A FIN or RST (@added) on entry (@k, @ct) of @map (lb_ct: @confirmed, or lb_syn): when it
 * closes the flow (a RST, the second side's FIN, a dsr client's FIN) and the flow is still
 * counted, take it off its target's live count (lb_lconn), from the part of its table. The
 * same rule as the sweeper's "live" (sweep.c).
 */
static __always_inline void lb_ct_uncount(void *map, bool confirmed, const struct lb_ct_key *k,
					  struct lb_ct_val *ct, __u8 added)
{
	struct lb_scratch *sc = lb_scratch_get();
	struct lb_ct_val *orig = ct, *other;

	if (!sc)
		return;
	lb_ct_pair_keys(k, ct, &sc->k[0], &sc->k[1]);
	if (!(added & LB_CT_F_RST) && ct->fwd != LB_FWD_DSR) {
		other = bpf_map_lookup_elem(map, k->dir == LB_DIR_ORIG ? &sc->k[1] : &sc->k[0]);
		if (!other || !(other->flags & LB_CT_F_FIN))
			return;
		if (k->dir != LB_DIR_ORIG)
			orig = other;
	} else if (k->dir != LB_DIR_ORIG) {
		orig = bpf_map_lookup_elem(map, &sc->k[0]);
	}
	if (!orig || !(orig->flags & LB_CT_F_COUNTED))
		return;
	orig->flags &= ~LB_CT_F_COUNTED;
	lb_lc_dec(orig->target_id, confirmed);
}

/*
 * The per-packet part of an existing flow's entry: touch it, and maybe end the flow.
 * No helper call unless the packet ends the flow.
 */
static __always_inline void lb_ct_account(const struct lb_ct_key *k, struct lb_ct_val *ct,
					  const struct lb_pkt_info *p, __u8 add)
{
	__u8 added = lb_ct_touch(ct, p, lb_now_ns, add);

	if (added & (LB_CT_F_FIN | LB_CT_F_RST))
		lb_ct_uncount(&lb_ct, true, k, ct, added);
	if (lb_events_on && p->proto == LB_PROTO_TCP && !(ct->flags & LB_CT_F_CLOSED) &&
	    ((added & (LB_CT_F_FIN | LB_CT_F_RST)) || (ct->flags & LB_CT_F_LASTACK)))
		lb_ct_close_step(k, ct, added);
}

/*
 * A SYN (without ACK) that finds a flow whose client already closed or reset it starts a
 * new connection on a reused port: it must be balanced afresh, not glued to the old one.
 */
static __always_inline bool lb_is_reopen(const struct lb_ct_val *ct, const struct lb_pkt_info *p)
{
	return p->proto == LB_PROTO_TCP &&
	       (p->tcp_flags & (LB_TCP_SYN | LB_TCP_ACK)) == LB_TCP_SYN &&
	       (ct->flags & (LB_CT_F_FIN | LB_CT_F_RST));
}

/*
 * Create both conntrack entries of a new flow to @b at nat->addr, in lb_syn: the flow is
 * not confirmed by its client yet. With full-nat the REPLY entry also picks the flow's
 * source port (nat->sport, lb_fullnat.h); a dsr flow has no REPLY entry. 0 or a negative
 * error.
 */
static __always_inline int lb_ct_create(const struct lb_pkt_info *p, const struct lb_listen_val *lv,
					const struct lb_backend *b, struct lb_nat *nat, __u64 now,
					__u8 flags, __u8 route)
{
	const struct lb_ip *nat_addr = &nat->addr;
	struct lb_scratch *sc = lb_scratch_get();
	struct lb_ct_key *k;
	struct lb_ct_val *v;
	int err;

	if (!sc)
		return -1;
	k = &sc->k[0];
	v = &sc->v;
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memset(v, 0, sizeof(*v));
	v->proxy_id = lv->proxy_id;
	v->target_id = b->target_id;
	v->created_ns = now;
	v->last_seen_ns = now;
	v->flags = flags;
	v->route = route;
	v->fwd = nat->fwd;
	if (nat->fwd == LB_FWD_FULLNAT) {
		err = lb_fullnat_reply_create(p, b->port, nat, k, v);
		if (err)
			return err;
		goto orig;
	}
	if (nat->fwd == LB_FWD_DSR)
		goto orig;

	/* The reply entry first: the backend's first answer may race this CPU. */
	k->saddr = *nat_addr;
	k->daddr = p->saddr;
	k->sport = b->port;
	k->dport = p->sport;
	k->proto = p->proto;
	k->dir = LB_DIR_REPLY;
	v->nat_addr = p->daddr;
	v->nat_port = p->dport;
	/*
	 * Replies look in lb_ct first: a closed flow of another listener that left the same
	 * backend-side 4-tuple there (same client port, same backend) would translate this
	 * flow's replies to its listener. The newest flow owns the 4-tuple.
	 */
	bpf_map_delete_elem(&lb_ct, k);
	err = bpf_map_update_elem(&lb_syn, k, v, BPF_ANY);
	if (err)
		return err;

orig:
	__builtin_memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->sport = p->sport;
	k->dport = p->dport;
	k->dir = LB_DIR_ORIG;
	v->nat_addr = *nat_addr;
	v->nat_port = b->port;
	__builtin_memset(&v->snat_addr, 0, sizeof(v->snat_addr));
	v->snat_port = 0;
	if (nat->fwd == LB_FWD_FULLNAT) {
		v->snat_addr = nat->saddr;
		v->snat_port = nat->sport;
	}
	v->pkts = 1;
	v->bytes = p->ip_len;
	/* Counted in lb_lconn by the caller once this entry is in (lb_abi.h). */
	v->flags |= LB_CT_F_COUNTED;
	return bpf_map_update_elem(&lb_syn, k, v, BPF_ANY);
}

/*
 * A connection that does not go through a listener (e.g. a client talking to a backend
 * directly) may reuse the backend-side 4-tuple of a balanced flow that just closed; the
 * closed flow's REPLY entry would then rewrite the new connection's replies. On such a
 * SYN, a REPLY entry of a closed flow is dropped together with its ORIG entry. @map: lb_ct
 * (@confirmed) or lb_syn.
 */
static __always_inline bool lb_forget_closed(void *map, bool confirmed, const struct lb_pkt_info *p)
{
	struct lb_scratch *sc = lb_scratch_get();
	struct lb_ct_key *rk, *ok;
	struct lb_ct_val *ct;

	if (!sc)
		return false;
	rk = &sc->k[0];
	ok = &sc->k[1];
	__builtin_memset(rk, 0, sizeof(*rk));
	__builtin_memset(ok, 0, sizeof(*ok));
	rk->saddr = p->daddr;
	rk->daddr = p->saddr;
	rk->sport = p->dport;
	rk->dport = p->sport;
	rk->proto = p->proto;
	rk->dir = LB_DIR_REPLY;
	ct = bpf_map_lookup_elem(map, rk);
	if (!ct || !(ct->flags & (LB_CT_F_FIN | LB_CT_F_RST)))
		return false;
	/* Read what names the ORIG entry before the delete releases this one. */
	ok->saddr = ct->fwd == LB_FWD_FULLNAT ? ct->snat_addr : p->saddr;
	ok->sport = ct->fwd == LB_FWD_FULLNAT ? ct->snat_port : p->sport;
	ok->daddr = ct->nat_addr;
	ok->dport = ct->nat_port;
	ok->proto = p->proto;
	ok->dir = LB_DIR_ORIG;
	/* Only the backend had closed (half closed): the flow is still counted (lb_lconn). */
	ct = bpf_map_lookup_elem(map, ok);
	if (ct && (ct->flags & LB_CT_F_COUNTED)) {
		ct->flags &= ~LB_CT_F_COUNTED;
		lb_lc_dec(ct->target_id, confirmed);
	}
	bpf_map_delete_elem(map, rk);
	bpf_map_delete_elem(map, ok);
	return true;
}

/* The same in both tables: a flow reset before its client confirmed it sits in lb_syn. */
static __always_inline bool lb_ct_forget_reused(const struct lb_pkt_info *p)
{
	bool ct = lb_forget_closed(&lb_ct, true, p);
	bool syn = lb_forget_closed(&lb_syn, false, p);

	return ct || syn;
}

/*
 * A RST on a flow its client never confirmed (a backend refusing the SYN, a client giving
 * up): it ends there, and says so like any other flow.
 */
static __always_inline void lb_syn_account(const struct lb_ct_key *k, struct lb_ct_val *sc,
					   const struct lb_pkt_info *p, __u8 add)
{
	struct lb_ct_key *ok, *rk;
	struct lb_ct_val *other;
	struct lb_scratch *tmp;
	__u8 added = lb_ct_touch(sc, p, lb_now_ns, add);

	if (added & (LB_CT_F_FIN | LB_CT_F_RST))
		lb_ct_uncount(&lb_syn, false, k, sc, added);
	if (!(added & LB_CT_F_RST) || !lb_events_on || (sc->flags & LB_CT_F_CLOSED))
		return;
	tmp = lb_scratch_get();
	if (!tmp)
		return;
	ok = &tmp->k[0];
	rk = &tmp->k[1];
	lb_ct_pair_keys(k, sc, ok, rk);
	other = bpf_map_lookup_elem(&lb_syn, k->dir == LB_DIR_ORIG ? rk : ok);
	sc->flags |= LB_CT_F_CLOSED;
	if (other)
		other->flags |= LB_CT_F_CLOSED;
	if (k->dir == LB_DIR_ORIG)
		lb_emit_closed(ok, rk, sc, other, LB_CLOSE_RST, bpf_ktime_get_coarse_ns());
	else
		lb_emit_closed(ok, rk, other, sc, LB_CLOSE_RST, bpf_ktime_get_coarse_ns());
}

/* Drop both lb_ct entries of the flow whose ORIG entry is (@k, @ct): a new flow reuses @k. */
static __always_inline void lb_ct_forget(const struct lb_ct_key *k, const struct lb_ct_val *ct)
{
	struct lb_scratch *sc = lb_scratch_get();

	if (!sc)
		return;
	/* Half closed (the client's FIN only) and reopened: it ends uncounted here. */
	if (ct->flags & LB_CT_F_COUNTED)
		lb_lc_dec(ct->target_id, true);
	lb_ct_pair_keys(k, ct, &sc->k[0], &sc->k[1]);
	bpf_map_delete_elem(&lb_ct, &sc->k[1]);
	bpf_map_delete_elem(&lb_ct, &sc->k[0]);
}

/*
 * The same for an unconfirmed flow (lb_syn ORIG entry @ct) whose client closed it before
 * confirming it (a FIN without ACK) and opens it again: lb_ct_create() overwrites its
 * entries, so only its count goes here (a reset one is off the count already).
 */
static __always_inline void lb_syn_forget(struct lb_ct_val *ct)
{
	if (!(ct->flags & LB_CT_F_COUNTED))
		return;
	ct->flags &= ~LB_CT_F_COUNTED;
	lb_lc_dec(ct->target_id, false);
}

/*
 * Does this packet of an unconfirmed flow (sent by its client) confirm it? A datagram after
 * the first does; for TCP a segment with ACK and without SYN or RST (the handshake's third
 * packet, or data after a pickup).
 */
static __always_inline bool lb_confirms(const struct lb_pkt_info *p)
{
	if (p->proto != LB_PROTO_TCP)
		return true;
	return (p->tcp_flags & (LB_TCP_ACK | LB_TCP_SYN | LB_TCP_RST)) == LB_TCP_ACK;
}

/*
 * The REPLY entry of the flow whose ORIG entry is (@k, @ct), rebuilt from ORIG into @out
 * (key) and @v: everything but the reply direction's own counters and FIN/RST, which are
 * lost with it. @replied: the backend has answered (the flow is confirmed).
 */
static __always_inline void lb_ct_reply_of(const struct lb_ct_key *k, const struct lb_ct_val *ct,
					   bool replied, struct lb_ct_key *rk, struct lb_ct_val *v)
{
	/* @k is the ORIG key: (client, listener) -> (backend, client). */
	__builtin_memset(rk, 0, sizeof(*rk));
	rk->saddr = ct->nat_addr;
	rk->sport = ct->nat_port;
	rk->daddr = k->saddr;
	rk->dport = k->sport;
	rk->proto = k->proto;
	rk->dir = LB_DIR_REPLY;
	__builtin_memset(v, 0, sizeof(*v));
	v->nat_addr = k->daddr;
	v->nat_port = k->dport;
	v->fwd = ct->fwd;
	if (ct->fwd == LB_FWD_FULLNAT) {
		/* Addressed to the LB's source, naming the client. */
		rk->daddr = ct->snat_addr;
		rk->dport = ct->snat_port;
		v->snat_addr = k->saddr;
		v->snat_port = k->sport;
	}
	v->proxy_id = ct->proxy_id;
	v->target_id = ct->target_id;
	v->created_ns = ct->created_ns;
	v->last_seen_ns = ct->last_seen_ns;
	v->route = ct->route;
	v->flags = (ct->flags & LB_CT_F_CLOSED) | (replied ? LB_CT_F_REPLIED : 0);
}

/*
 * LRU tables evict entries one at a time: a flow whose replies stopped, or never came (SYN
 * retransmits refresh only ORIG), can lose its REPLY entry while ORIG lives on, and its
 * replies would leave untranslated. Put it back into @map when it is missing.
 */
static __always_inline void lb_ct_restore_reply(void *map, const struct lb_ct_key *k,
						const struct lb_ct_val *ct, bool replied)
{
	struct lb_scratch *sc = lb_scratch_get();

	/* A dsr flow has none: its replies never pass the LB. */
	if (!sc || ct->fwd == LB_FWD_DSR)
		return;
	lb_ct_reply_of(k, ct, replied, &sc->k[0], &sc->v);
	if (bpf_map_lookup_elem(map, &sc->k[0]))
		return;
	if (!bpf_map_update_elem(map, &sc->k[0], &sc->v, BPF_NOEXIST))
		lb_count(LB_G_CT_REPLY_RESTORED);
}

/*
 * The end of a confirmation: the flow's ORIG entry @k is in lb_ct, and @gone is what
 * deleting it from lb_syn returned. Only the CPU whose delete took it out of lb_syn moves
 * its unit of lb_lconn to confirmed (the delete is atomic: two CPUs confirming the same
 * flow at once move it once). Returns its lb_ct ORIG entry.
 */
static __always_inline struct lb_ct_val *lb_ct_confirmed(const struct lb_ct_key *k, long gone)
{
	struct lb_ct_val *ct = bpf_map_lookup_elem(&lb_ct, k);

	lb_count(LB_G_CT_CONFIRMED);
	if (ct && !gone && (ct->flags & LB_CT_F_COUNTED))
		lb_lc_confirm(ct->target_id);
	return ct;
}

/*
 * Move a confirmed flow from lb_syn to lb_ct (REPLY first, as at creation), and its count
 * from unconfirmed to confirmed. Returns its lb_ct ORIG entry, or NULL when lb_ct refused
 * it (the flow then stays in lb_syn, and unconfirmed).
 */
static __always_inline struct lb_ct_val *lb_ct_confirm(const struct lb_ct_key *k,
						       struct lb_ct_val *sc)
{
	struct lb_scratch *tmp = lb_scratch_get();
	struct lb_ct_val *rsc;
	struct lb_ct_key *rk;

	if (!tmp)
		return NULL;
	if (sc->fwd == LB_FWD_DSR) {
		if (bpf_map_update_elem(&lb_ct, k, sc, BPF_ANY))
			return NULL;
		return lb_ct_confirmed(k, bpf_map_delete_elem(&lb_syn, k));
	}
	/* @k is the flow's ORIG key; its REPLY key and entry go to the scratch area. */
	rk = &tmp->k[1];
	lb_ct_reply_of(k, sc, true, rk, &tmp->v);
	rsc = bpf_map_lookup_elem(&lb_syn, rk);
	if (!rsc) {
		/* Evicted alone: confirming the flow brings it back (the backend answered). */
		rsc = &tmp->v;
		lb_count(LB_G_CT_REPLY_RESTORED);
	}
	if (bpf_map_update_elem(&lb_ct, rk, rsc, BPF_ANY))
		return NULL;
	if (bpf_map_update_elem(&lb_ct, k, sc, BPF_ANY)) {
		bpf_map_delete_elem(&lb_ct, rk);
		return NULL;
	}
	bpf_map_delete_elem(&lb_syn, rk);
	return lb_ct_confirmed(k, bpf_map_delete_elem(&lb_syn, k));
}

#endif /* LB_CONNTRACK_H */
