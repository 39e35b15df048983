/* SPDX-License-Identifier: MIT */
/*
 * lb_events.h - connection events (struct lb_event) into the lb_events ring buffer: "opened" from
 * the packet that created a flow, "closed" from the one that ended it. Emitted only while
 * stats are enabled (lb_events_on); a full ring counts LB_G_EVENTS_LOST.
 */
#ifndef LB_EVENTS_H
#define LB_EVENTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_maps.h"
#include "lb_parse.h"

/*
 * An event is written in place in the ring (reserve, fill, submit): 120 bytes the
 * decisions' stack cannot spare. NULL when the ring is full (counted).
 */
static __always_inline struct lb_event *lb_event_reserve(void)
{
	struct lb_event *ev = bpf_ringbuf_reserve(&lb_events, sizeof(*ev), 0);

	if (!ev) {
		lb_count(LB_G_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	return ev;
}

/* The fields every event has: the flow (@ok: its client-side key), its backend, when. */
static __always_inline void lb_event_flow(struct lb_event *ev, __u8 type,
					  const struct lb_ct_key *ok,
					  const struct lb_ip *backend_addr, __be16 backend_port,
					  __u32 proxy_id, __u32 target_id, __u8 route,
					  __u64 created, __u64 now)
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
	ev->backend_addr = *backend_addr;
	ev->backend_port = backend_port;
	ev->ts_ns = now;
	ev->created_ns = created;
}

/* The "opened" event of a flow lb_ct_create() just created (@k: its ORIG key). */
static __always_inline void lb_emit_opened(const struct lb_ct_key *k, const struct lb_pkt_info *p,
					   const struct lb_listen_val *lv,
					   const struct lb_backend *b, const struct lb_ip *nat_addr,
					   __u8 route, __u8 flags, __u64 now)
{
	struct lb_event *ev = lb_event_reserve();

	if (!ev)
		return;
	lb_event_flow(ev, LB_EV_OPENED, k, nat_addr, b->port, lv->proxy_id, b->target_id, route,
		      now, now);
	ev->flags = flags;
	ev->pkts_in = 1;
	ev->bytes_in = p->ip_len;
	bpf_ringbuf_submit(ev, 0);
}

/* The "closed" event of a flow from its entries (@o or @r may be missing, not both). */
static __always_inline void lb_emit_closed(const struct lb_ct_key *ok, const struct lb_ct_key *rk,
					   const struct lb_ct_val *o, const struct lb_ct_val *r,
					   __u8 reason, __u64 now)
{
	const struct lb_ct_val *any = o ? o : r;
	struct lb_event *ev;

	if (!any)
		return;
	ev = lb_event_reserve();
	if (!ev)
		return;
	lb_event_flow(ev, LB_EV_CLOSED, ok, &rk->saddr, rk->sport, any->proxy_id, any->target_id,
		      any->route, any->created_ns, now);
	ev->reason = reason;
	if (o) {
		ev->flags |= o->flags;
		ev->pkts_in = o->pkts;
		ev->bytes_in = o->bytes;
	}
	if (r) {
		ev->flags |= r->flags;
		ev->pkts_out = r->pkts;
		ev->bytes_out = r->bytes;
	}
	bpf_ringbuf_submit(ev, 0);
}

#endif /* LB_EVENTS_H */
