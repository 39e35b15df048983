/* SPDX-License-Identifier: MIT */
/*
 * lb_count.h - the datapath's counters: global ones by reason (lb_gstats), and per proxy and per
 * target (lb_pstats, lb_tstats). All per-CPU arrays: the kernel inlines their lookups.
 */
#ifndef LB_COUNT_H
#define LB_COUNT_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"
#include "lb_maps.h"
#include "lb_parse.h"

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

#endif /* LB_COUNT_H */
