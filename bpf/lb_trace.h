/* SPDX-License-Identifier: MIT */
/*
 * lb_trace.h - `lbctl trace`: the decisions note what they decided into lb_trace (a .bss
 * record, lb_abi.h) when the object is loaded as lbd's trace instance, with lb_trace_mode
 * set in .rodata. The verifier reads a .rodata value as a constant: in the instance that
 * carries traffic every note is dead code it removes (what stays is the flag's load, three
 * instructions per check); in the trace instance the decision returns as soon as it knows
 * its answer, so nothing after that point (conntrack writes, counters, events) is ever
 * verified or run there.
 */
#ifndef LB_TRACE_H
#define LB_TRACE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_conntrack.h"
#include "lb_ip.h"
#include "lb_nat.h"
#include "lb_parse.h"

/* Set by lbd before it loads the trace instance; 0 in the instance on the interfaces. */
const volatile __u32 lb_trace_mode = 0;

/* The trace instance's record of its one packet; lbd zeroes it before each run. */
struct lb_trace_rec lb_trace;

/*
 * An existing flow (@ct, found in lb_syn when @syn) answers: in the trace instance, note
 * it and its NAT (into @nat) and return true; the caller returns LB_V_REWRITE at once,
 * before the packet would touch the entry. A SYN that reopens a closed flow's 4-tuple is
 * balanced afresh, as lb_flow_ingress() does.
 */
static __always_inline bool lb_trace_ct(const struct lb_ct_val *ct, const struct lb_pkt_info *p,
					bool syn, struct lb_nat *nat)
{
	if (!lb_trace_mode || !ct || lb_is_reopen(ct, p))
		return false;
	lb_trace.flags |= LB_TRACE_F_CT | (syn ? LB_TRACE_F_SYN : 0);
	lb_trace.ct = *ct;
	nat->addr = ct->nat_addr;
	nat->port = ct->nat_port;
	return true;
}

/* The listener matched, and the group a new flow of it goes to (@g may be NULL). */
static __always_inline void lb_trace_group(const struct lb_listen_val *lv, __u32 group_id,
					   __u8 route, const struct lb_group *g)
{
	if (!lb_trace_mode)
		return;
	lb_trace.flags |= LB_TRACE_F_LISTENER | LB_TRACE_F_GROUP;
	lb_trace.proxy_id = lv->proxy_id;
	lb_trace.listen_flags = lv->flags;
	lb_trace.group_id = group_id;
	lb_trace.route = route;
	if (g) {
		lb_trace.table_size = g->table_size;
		lb_trace.table_gen = g->table_gen;
		lb_trace.n_backends = g->n_backends;
	}
}

/* The Maglev table's slot @slot of @hash chose. */
static __always_inline void lb_trace_slot(__u32 hash, __u32 slot)
{
	if (!lb_trace_mode)
		return;
	lb_trace.flags |= LB_TRACE_F_MAGLEV;
	lb_trace.hash = hash;
	lb_trace.slot = slot;
}

/* The chosen backend is the group's backend @idx (lb_choose(), lb_gset_choose()). */
static __always_inline void lb_trace_index(__u32 idx)
{
	if (lb_trace_mode)
		lb_trace.idx = idx;
}

/*
 * Backend @b is a new flow's: in the trace instance, note it, write its NAT into @nat (a
 * backend address of 0 keeps the destination) and return true; the caller returns
 * LB_V_REWRITE before creating the flow.
 */
static __always_inline bool lb_trace_backend(const struct lb_backend *b,
					     const struct lb_pkt_info *p, struct lb_nat *nat)
{
	if (!lb_trace_mode)
		return false;
	lb_trace.flags |= LB_TRACE_F_BACKEND;
	lb_trace.target_id = b->target_id;
	lb_trace.addr = b->addr;
	lb_trace.port = b->port;
	nat->addr = lb_ip_is_zero(&b->addr) ? p->daddr : b->addr;
	nat->port = b->port;
	return true;
}

#endif /* LB_TRACE_H */
