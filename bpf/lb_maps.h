/* SPDX-License-Identifier: MIT */
/*
 * lb_maps.h - every map of the datapath, declared once. Key and value layouts live in
 * common/lb_abi.h; this file only says which map holds them and how big it is.
 *
 * All maps are pinned by name (LIBBPF_PIN_BY_NAME) under the folder lbd passes as
 * pin_root_path, so a restarted lbd finds and reuses them instead of starting empty.
 */
#ifndef LB_MAPS_H
#define LB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_abi.h"

/* (ifindex, listener address, port, protocol) -> proxy and its default group. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_LISTENERS);
	__type(key, struct lb_listen_key);
	__type(value, struct lb_listen_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_listen SEC(".maps");

/* (proxy, client prefix) -> group: per-proxy source routes, longest prefix first. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, LB_MAX_ROUTES);
	__type(key, struct lb_route_key);
	__type(value, struct lb_route_val);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_routes SEC(".maps");

/* group id -> weighted backends (hash map: updates replace the whole group atomically). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LB_MAX_GROUPS);
	__type(key, __u32);
	__type(value, struct lb_group);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_groups SEC(".maps");

/*
 * (group, generation, family) -> that group's Maglev table (lb_abi.h, lb_maglev). The inner
 * maps are ARRAYs lbd creates per table; BPF_F_INNER_MAP lets their sizes differ (the
 * table size is a setting). Not preallocated: most groups have no table.
 */
struct lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	/* Sizes, not BTF types: lbd creates these maps without BTF. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct lb_maglev_slots));
	__uint(map_flags, BPF_F_INNER_MAP);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4 * LB_MAX_GROUPS);
	__type(key, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct lb_maglev_inner);
} lb_maglev SEC(".maps");

/*
 * (group, generation) -> that large group's set (lb_abi.h, lb_gsets): its backends and
 * tables in one ARRAY lbd creates per generation, sized to the group.
 */
struct lb_gset_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct lb_gset_slots));
	__uint(map_flags, BPF_F_INNER_MAP);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 2 * LB_MAX_GROUPS);
	__type(key, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct lb_gset_inner);
} lb_gsets SEC(".maps");

/*
 * Flow 5-tuple and direction -> NAT binding. Shared by all CPUs (never per-CPU: the reply
 * of a flow is handled on another CPU than its request). lbd sizes it to twice
 * max-connections before loading (two entries per flow).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2 * 100000);
	__type(key, struct lb_ct_key);
	__type(value, struct lb_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_ct SEC(".maps");

/*
 * Flows their client has not confirmed yet: created by a SYN, a first datagram or a
 * mid-stream pickup, same layout as lb_ct. A flow moves to lb_ct with its client's second
 * packet (TCP: one with ACK and without SYN), so a flood of new flows from spoofed sources,
 * which never send a second packet, only evicts its own kind: established flows in lb_ct
 * are never pushed out by it. lbd sizes it to 2 x max(1024, max-connections / 4).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2 * 25000);
	__type(key, struct lb_ct_key);
	__type(value, struct lb_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_syn SEC(".maps");

/* proxy id -> per-CPU counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_PROXIES);
	__type(key, __u32);
	__type(value, struct lb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_pstats SEC(".maps");

/* target id -> per-CPU counters. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lb_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_tstats SEC(".maps");

/* enum lb_global_counter -> per-CPU packet count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_G_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_gstats SEC(".maps");

/*
 * ifindex -> ifindex (a devmap, bpf_redirect_map()): the interfaces the fast path may send
 * an XDP frame out of, those known to take redirected frames (lbd keeps it:
 * daemon/dataplane/xdp_tx.c). Any other egress falls back to the kernel (lb_fast.h).
 * Not pinned: the kernel adds BPF_F_RDONLY_PROG to a devmap's flags, which a definition
 * may not ask for, so libbpf finds a pinned one incompatible and refuses to load. Each lbd
 * fills its own when it applies its configuration; until then the fast path at XDP falls
 * back.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, LB_MAX_FAST_TX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} lb_fast_tx SEC(".maps");

/*
 * Connection events (struct lb_event) for lbd. Not pinned: each loaded program set writes
 * to its own ring, which the lbd that loaded it reads.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LB_EVENTS_RING_BYTES);
} lb_events SEC(".maps");

/*
 * Room for the conntrack keys and value a decision builds to write a map entry: the
 * stack of a program and the decision it calls must fit 512 bytes together, and these
 * would take 144 of them. One per CPU (a program runs on one CPU from start to end), not
 * pinned, never read by lbd; its users never overlap (lb_conntrack.h).
 */
struct lb_scratch {
	struct lb_ct_key k[2];
	struct lb_ct_val v;
	__u32 key; /* lb_maglev and table lookups of a new flow (lb_flow.h) */
	__u32 pad;
	struct lb_listen_key lk;	/* the listener lookup (lb_listen_lookup) */
	__u64 lc_live[LB_GROUP_INLINE]; /* least connections: the group's counts (lb_lc.h) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_scratch);
} lb_scratch SEC(".maps");

static __always_inline struct lb_scratch *lb_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_scratch, &zero);
}

/*
 * The listener of a packet to @addr:@port/@proto arriving on @ifindex, or NULL. The key
 * is built in the scratch area: the stack of lb_flow_ingress() has no 24 bytes to spare
 * (Linux 6.1 rounds each frame up to 32 bytes before summing them against 512).
 */
static __always_inline struct lb_listen_val *
lb_listen_lookup(__u32 ifindex, const struct lb_ip *addr, __be16 port, __u8 proto)
{
	struct lb_scratch *sc = lb_scratch_get();

	if (!sc)
		return NULL;
	sc->lk.ifindex = ifindex;
	sc->lk.addr = *addr;
	sc->lk.port = port;
	sc->lk.proto = proto;
	sc->lk.pad = 0;
	return bpf_map_lookup_elem(&lb_listen, &sc->lk);
}

/*
 * Non-zero while stats are enabled: each flow's entries count their packets and bytes, and
 * new and ending flows emit events. A global in .bss (memory-mapped by lbd), so the check
 * is a plain load, not a helper call.
 */
__u32 lb_events_on;

/*
 * CLOCK_MONOTONIC (coarse) in ns, written by lbd every LB_CLOCK_TICK_MS: the established
 * path stamps last_seen_ns with it instead of calling a time helper on every packet.
 */
__u64 lb_now_ns;

/*
 * User-space state pinned beside the datapath (the programs never read these): the ABI
 * version of the pinned layout, who holds the instance, the names behind proxy and
 * target ids.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_owner_rec);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_PROXIES);
	__type(key, __u32);
	__type(value, struct lb_proxy_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_pnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LB_MAX_TARGETS);
	__type(key, __u32);
	__type(value, struct lb_target_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb_tnames SEC(".maps");

#endif /* LB_MAPS_H */
