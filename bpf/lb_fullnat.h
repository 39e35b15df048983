/* SPDX-License-Identifier: MIT */
/*
 * lb_fullnat.h - full-nat's source ports: a new flow's client side becomes the listener's
 * snat address and a port of lbd's range (settings.snat-port-min/max), chosen so that no
 * two live flows towards one target share a 5-tuple.
 *
 * The port is the flow hash's place in the range, then the next ones (LB_SNAT_PROBES in
 * all): a candidate is taken when no confirmed flow owns its REPLY key (lb_ct) and the
 * insert of the new REPLY entry into lb_syn with BPF_NOEXIST succeeds, so two CPUs racing
 * for one 5-tuple never both get it. When every candidate is taken the flow is dropped
 * (LB_G_FULLNAT_NO_PORT): its client retransmits, and by then some flow may have ended.
 */
#ifndef LB_FULLNAT_H
#define LB_FULLNAT_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_count.h"
#include "lb_maps.h"
#include "lb_nat.h"
#include "lb_parse.h"
#include "lb_select.h"

#define LB_SNAT_PROBES 8

/*
 * Set by lbd (.bss) once a full-nat proxy exists: only then does a packet that matches no
 * listener look for a full-nat flow's REPLY entry. The range: lb_snat_port_n ports from
 * lb_snat_port_min (host order).
 */
__u32 lb_fullnat_on;
__u32 lb_snat_port_min;
__u32 lb_snat_port_n;

/*
 * target id -> the LB's own address on the route towards that target (lbd resolves it),
 * the source of a full-nat proxy's flows when neither the proxy nor settings name one
 * (lb_listen_val.snat_addr all zero). Pinned: a restarted lbd's programs, attached before
 * its first apply, find the addresses the previous one wrote.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lb_ip);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_snat SEC(".maps");

/*
 * Write the REPLY entry of a new full-nat flow from @p to target nat->addr:@bport, source
 * nat->saddr, into lb_syn, with a free source port, which goes to nat->sport. @k and @v
 * are the caller's scratch, @v holding the flow's common fields. 0 or -1.
 */
static __always_inline int lb_fullnat_reply_create(const struct lb_pkt_info *p, __be16 bport,
						   struct lb_nat *nat, struct lb_ct_key *k,
						   struct lb_ct_val *v)
{
	__u32 n = lb_snat_port_n, lo = lb_snat_port_min, base, i;

	k->saddr = nat->addr;
	k->sport = bport;
	k->daddr = nat->saddr;
	k->proto = p->proto;
	k->dir = LB_DIR_REPLY;
	v->nat_addr = p->daddr;
	v->nat_port = p->dport;
	v->snat_addr = p->saddr;
	v->snat_port = p->sport;
	if (lb_ip_is_zero(&nat->saddr)) {
		__u32 id = v->target_id;
		struct lb_ip *a = bpf_map_lookup_elem(&lb_snat, &id);

		if (!a || lb_ip_is_zero(a)) {
			lb_count(LB_G_FULLNAT_NO_PORT);
			return -1;
		}
		nat->saddr = *a;
		k->daddr = *a;
	}
	if (!n || n > 65536 || lo + n > 65536) {
		lb_count(LB_G_FULLNAT_NO_PORT);
		return -1;
	}
	/* Mixed again: not the same number Maglev placed the flow by. */
	base = lb_mix32(lb_flow_hash(&p->saddr, &p->daddr, p->sport, p->dport, p->proto) ^
			0x5bd1e995u) %
	       n;
	for (i = 0; i < LB_SNAT_PROBES; i++) {
		__u32 off = base + i;

		if (off >= n)
			off -= n;
		k->dport = bpf_htons((__u16)(lo + off));
		if (bpf_map_lookup_elem(&lb_ct, k))
			continue;
		if (!bpf_map_update_elem(&lb_syn, k, v, BPF_NOEXIST)) {
			nat->sport = k->dport;
			return 0;
		}
	}
	lb_count(LB_G_FULLNAT_NO_PORT);
	return -1;
}

#endif /* LB_FULLNAT_H */
