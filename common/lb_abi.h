/* SPDX-License-Identifier: MIT */
/*
 * lb_abi.h - the only place a structure crosses the BPF <-> user-space boundary.
 *
 * Compiled by the BPF programs (clang -target bpf) and by every user-space component.
 * Rules:
 *  - fixed-width types only; network byte order is spelled in the type (__be32, __be16),
 *    everything else is host order;
 *  - explicit padding, sizes checked with _Static_assert so both compilers agree;
 *  - a layout change bumps LB_ABI_VERSION: a running datapath pinned with another version
 *    is refused by lbd instead of being misread.
 */
#ifndef LB_ABI_H
#define LB_ABI_H

#include <linux/types.h>

#define LB_ABI_VERSION 8

/* Capacity limits shared by the programs and the daemon. */
#define LB_MAX_TARGETS_PER_GROUP 256
#define LB_GROUP_INLINE		 8 /* backends held in the lb_groups value itself */
#define LB_MAX_PROXIES		 256
#define LB_MAX_TARGETS		 4096 /* distinct (proxy, ip, port) over all groups */
#define LB_MAX_LISTENERS	 4096
#define LB_MAX_ROUTES		 65536
#define LB_MAX_GROUPS		 (LB_MAX_ROUTES + LB_MAX_PROXIES) /* one per route, one default each */
#define LB_PROXY_NAME_MAX	 64
/* lb_fast_tx: interfaces an XDP redirect of the fast path may go to (ifindex -> ifindex). */
#define LB_MAX_FAST_TX 1024

/* The datapath bounds an inline backend index by masking it with LB_GROUP_INLINE - 1. */
_Static_assert((LB_GROUP_INLINE & (LB_GROUP_INLINE - 1)) == 0,
	       "LB_GROUP_INLINE must be a power of two");

/* IP protocol numbers as they appear in lb_listen_key.proto and lb_ct_key.proto. */
#define LB_PROTO_ICMP	1
#define LB_PROTO_TCP	6
#define LB_PROTO_UDP	17
#define LB_PROTO_ICMPV6 58

/*
 * An address of either family, the one form every map and event uses: an IPv6 address,
 * or an IPv4 address as its IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 2.5.5.2).
 * One layout for both families means one set of maps and one code path for every
 * decision; the price is 12 bytes per IPv4 address in keys (docs/datapath.md, "One layout
 * for both families"). All zero: no address (a backend that keeps the destination).
 */
struct lb_ip {
	__be32 w[4];
};
_Static_assert(sizeof(struct lb_ip) == 16, "lb_ip layout");

/* w[2] of an IPv4-mapped address, in network byte order on either host byte order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LB_IP_V4MAPPED_W2 0xffff0000u
#else
#define LB_IP_V4MAPPED_W2 0x0000ffffu
#endif

/*
 * lb_listen: which packets are load-balanced at all.
 * Key: (ingress ifindex, destination address, destination port, protocol).
 * A listener without an explicit address gets one entry per address of each of its
 * interfaces (IPv4, and IPv6 but link-local); lbd keeps those entries current as addresses
 * come and go.
 */
struct lb_listen_key {
	__u32 ifindex;
	struct lb_ip addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};
_Static_assert(sizeof(struct lb_listen_key) == 24, "lb_listen_key layout");

/* lb_listen_val.flags */
#define LB_LISTEN_F_HAS_ROUTES (1u << 0) /* consult lb_routes before the default group */
#define LB_LISTEN_F_HASH_SADDR (1u << 1) /* session affinity: hash the client prefix only */
/*
 * "selection": "least-connections": a new flow goes to the target with the fewest live
 * flows (lb_lconn) per unit of effective weight; without it, the group's Maglev table.
 */
#define LB_LISTEN_F_LEASTCONN (1u << 4)
/*
 * Bits 8-15 of lb_listen_val.flags: with LB_LISTEN_F_HASH_SADDR, how many leading bits of
 * the client address (its 128-bit form: an IPv4 /24 is 96 + 24) the hash covers.
 */
#define LB_LISTEN_PREFIX_SHIFT	8
#define LB_LISTEN_PREFIX(flags) (((flags) >> LB_LISTEN_PREFIX_SHIFT) & 0xffu)

/*
 * Bits 2-3 of lb_listen_val.flags: the proxy's forwarding mode, LB_FWD_*. A new flow takes
 * its listener's mode and keeps it in its conntrack entries (lb_ct_val.fwd), so a reload
 * that changes the mode moves new flows only.
 *   LB_FWD_NAT      DNAT in, SNAT of the replies at TC egress (replies route via the LB);
 *   LB_FWD_FULLNAT  DNAT and SNAT in (the client becomes snat_addr:a port of the range),
 *                   the replies, addressed to the LB, translated back at ingress;
 *   LB_FWD_DSR      only the Ethernet addresses change, towards a target on a directly
 *                   connected segment; the target answers the client itself.
 */
#define LB_LISTEN_FWD_SHIFT  2
#define LB_LISTEN_FWD_MASK   (3u << LB_LISTEN_FWD_SHIFT)
#define LB_LISTEN_FWD(flags) (((flags) >> LB_LISTEN_FWD_SHIFT) & 3u)
#define LB_FWD_NAT	     0
#define LB_FWD_FULLNAT	     1
#define LB_FWD_DSR	     2

struct lb_listen_val {
	__u32 proxy_id;	     /* index into lb_pstats */
	__u32 default_group; /* key into lb_groups */
	__u32 flags;	     /* LB_LISTEN_F_*, LB_LISTEN_FWD_* */
	/* full-nat: the source new flows get (the key's family); 0: lb_snat's, per target */
	struct lb_ip snat_addr;
};
_Static_assert(sizeof(struct lb_listen_val) == 28, "lb_listen_val layout");

/*
 * lb_routes: per-proxy source routes in one LPM trie. The key is proxy_id followed by the
 * client address, and prefixlen = 32 + the prefix length over the 128-bit form (an IPv4
 * /24 is ::ffff:a.b.c.0/120), so every match is confined to one proxy (all 32 proxy bits
 * must match), an IPv4 prefix never covers an IPv6 client nor the reverse, and the
 * longest client prefix wins. proxy_id is host order: only equality matters for those bits.
 */
struct lb_route_key {
	__u32 prefixlen;
	__u32 proxy_id;
	struct lb_ip addr;
};
_Static_assert(sizeof(struct lb_route_key) == 24, "lb_route_key layout");

struct lb_route_val {
	__u32 group;
};
_Static_assert(sizeof(struct lb_route_val) == 4, "lb_route_val layout");

/* One backend inside a group (of the listener's family: NAT46/64 is not done at L4). */
struct lb_backend {
	struct lb_ip addr; /* all zero: keep the packet's destination, rewrite only the port */
	__be16 port;
	__u16 weight;	 /* effective weight, 0 = never chosen for a new flow */
	__u32 target_id; /* index into lb_tstats */
};
_Static_assert(sizeof(struct lb_backend) == 24, "lb_backend layout");

/*
 * lb_groups: a weighted set of up to LB_MAX_TARGETS_PER_GROUP backends. Stored in a hash
 * map (not an array) on purpose: a hash map update replaces the whole element under RCU,
 * so the datapath never sees a half-written group while lbd changes weights.
 *
 * A small group (n_backends <= LB_GROUP_INLINE) holds its backends inline. A new flow's
 * backend is the Maglev table's (lb_maglev) slot hash % table_size of the group's current
 * generation and the client's family; without such a table (table_size 0, a family with
 * fewer than two weighted backends, a packet racing a swap) the hash is mapped onto the
 * cumulative weights (lb_select.h), which agrees with any table when at most one backend
 * has a weight.
 *
 * A large group (n_backends > LB_GROUP_INLINE) holds no backend inline (backends[] is
 * zero): its backends and tables are one generation's set in lb_gsets (below), and
 * set_digest is lbd's record of what that set holds.
 */
struct lb_group {
	__u32 n_backends;
	__u32 table_size; /* Maglev slots M (prime), 0: no table */
	__u32 table_seed; /* settings.hash-seed the tables were built with (lbd's record) */
	__u32 table_gen;  /* bit 0: the generation of lb_maglev / lb_gsets the group points at */
	/*
	 * Large group: a 64-bit digest of its set (lbd's record), else 0. Two words, so the
	 * structure keeps 4-byte alignment: lbd's map images pack it after a 4-byte key.
	 */
	__u32 set_digest[2];
	struct lb_backend backends[LB_GROUP_INLINE];
};
_Static_assert(sizeof(struct lb_group) == 24 + 24 * LB_GROUP_INLINE, "lb_group layout");
_Static_assert(_Alignof(struct lb_group) == 4,
	       "lb_group: 4-byte aligned (lbd packs it after its key)");

/*
 * lb_maglev: a hash of maps, key LB_MAGLEV_KEY(group, generation, family) -> an ARRAY map
 * of ceil(M / 4) struct lb_maglev_slots: slot s is slots[s / 4].s[s % 4], the index in
 * the group's backends, LB_MAGLEV_NONE when no backend has a weight. lbd builds a new
 * table whole in a fresh inner map, inserts it under the generation the group does not
 * use, flips the group's table_gen (one lb_groups update), then deletes the old one: a
 * packet sees the old table or the new one, never a mix, and never a table that does not
 * match the backends it read. Small groups only.
 */
#define LB_MAGLEV_NONE		      0xffffu
#define LB_MAGLEV_KEY(group, gen, v6) ((__u32)(group) << 2 | ((__u32)(gen)&1) << 1 | ((v6) ? 1 : 0))
#define LB_MAGLEV_PER_ENTRY	      4

struct lb_maglev_slots {
	__u16 s[LB_MAGLEV_PER_ENTRY];
};
_Static_assert(sizeof(struct lb_maglev_slots) == 8, "lb_maglev_slots layout");

/*
 * lb_gsets: a hash of maps, key LB_GSET_KEY(group, generation) -> the set of one
 * generation of a large group: an ARRAY map of 32-byte entries, all of one generation,
 * written whole before it is inserted, so backends and tables can never come from two
 * generations:
 *   entry 0                    struct lb_gset_head;
 *   entries 1 .. n_backends    struct lb_gset_backend, backend i at entry 1 + i;
 *   entries table_at[f] ..     family f's Maglev table (0: IPv4, 1: IPv6), 16 slots of
 *                              backend indices per entry (struct lb_gset_slots); slot s
 *                              is entry table_at[f] + s / 16, s % 16.
 * A family with fewer than two weighted backends has no table (table_at 0) and names its
 * one weighted backend in solo[f] (LB_MAGLEV_NONE: none: the flow is dropped). lbd
 * inserts the new generation's set, flips the group's table_gen, then deletes the old
 * set; a packet that read the old group and finds its set gone takes the other
 * generation's set, which is then the new one (it was inserted before the flip).
 */
#define LB_GSET_KEY(group, gen) ((__u32)(group) << 1 | ((__u32)(gen)&1))
#define LB_GSET_PER_ENTRY	16

struct lb_gset_head {
	__u32 n_backends;
	__u32 table_size;  /* M of both families' tables */
	__u32 table_at[2]; /* entry of slot 0 of the IPv4 [0] / IPv6 [1] table, 0: none */
	__u16 solo[2];	   /* no table: the family's only weighted backend, or LB_MAGLEV_NONE */
	__u32 pad[3];
};
_Static_assert(sizeof(struct lb_gset_head) == 32, "lb_gset_head layout");

struct lb_gset_backend {
	struct lb_backend b;
	__u64 pad;
};
_Static_assert(sizeof(struct lb_gset_backend) == 32, "lb_gset_backend layout");

struct lb_gset_slots {
	__u16 s[LB_GSET_PER_ENTRY];
};
_Static_assert(sizeof(struct lb_gset_slots) == 32, "lb_gset_slots layout");

/*
 * lb_ct: connection tracking, one LRU hash shared by all CPUs (the two directions of a flow
 * are handled on different CPUs). Each flow owns two entries:
 *   LB_DIR_ORIG  key (client, client port, listener addr, listener port): value names the
 *                backend, used by ingress to DNAT;
 *   LB_DIR_REPLY key (backend, backend port, client, client port): value names the
 *                listener, used by egress to SNAT the replies.
 * Both entries of an active flow are refreshed by its packets, so LRU eviction takes idle
 * flows first.
 * A full-nat flow (fwd LB_FWD_FULLNAT) also rewrites its client side: its REPLY key is
 * (backend, backend port, snat address, snat port); ORIG's snat_addr/snat_port hold that
 * source, REPLY's hold the client's address and port. A dsr flow has no REPLY entry (its
 * replies never pass the LB).
 */
#define LB_DIR_ORIG  0
#define LB_DIR_REPLY 1

struct lb_ct_key {
	struct lb_ip saddr;
	struct lb_ip daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* LB_DIR_* */
	__u8 pad[2];
};
_Static_assert(sizeof(struct lb_ct_key) == 40, "lb_ct_key layout");

/* lb_ct_val.flags: set by the direction that saw them, merged by lbd's sweeper. */
#define LB_CT_F_FIN	(1u << 0) /* this direction sent a FIN */
#define LB_CT_F_RST	(1u << 1) /* this direction sent a RST */
#define LB_CT_F_PICKUP	(1u << 2) /* created mid-stream (no SYN): conntrack was lost */
#define LB_CT_F_REPLIED (1u << 3) /* REPLY entry only: the backend has answered */
#define LB_CT_F_LASTACK (1u << 4) /* both sides sent FIN, this one first: next is its last ACK */
#define LB_CT_F_CLOSED	(1u << 5) /* the flow's "closed" event was emitted (or not wanted) */
/*
 * ORIG entry only: the flow is counted in lb_lconn (set when it is created, cleared when the
 * datapath sees it close and takes it off the count).
 */
#define LB_CT_F_COUNTED (1u << 6)

/* lb_ct_val.route: how the flow's backend was chosen. */
#define LB_ROUTE_DEFAULT  0 /* the listener's default group */
#define LB_ROUTE_SOURCE	  1 /* a source route (lb_routes) */
#define LB_ROUTE_ACCEPTOR 2 /* lbd's own SNI acceptor (the backend address was 0) */

struct lb_ct_val {
	struct lb_ip nat_addr; /* ORIG: backend address; REPLY: listener address */
	__be16 nat_port;       /* ORIG: backend port;    REPLY: listener port */
	__u8 flags;	       /* LB_CT_F_* */
	__u8 route;	       /* LB_ROUTE_* */
	__u32 proxy_id;
	__u32 target_id;
	__be16 snat_port; /* full-nat: ORIG: the client side's new port; REPLY: the client's */
	__u8 fwd;	  /* LB_FWD_*: the mode the flow started in */
	__u8 pad;
	__u64 created_ns;   /* CLOCK_MONOTONIC (coarse) when the flow was created */
	__u64 last_seen_ns; /* CLOCK_MONOTONIC (coarse): lb_now_ns of the last packet */
	__u64 pkts;	    /* packets of this entry's direction since the flow was created */
	__u64 bytes;	    /* their IP length (lb_stats) */
	struct lb_ip
		snat_addr; /* full-nat: ORIG: the client side's new address; REPLY: the client */
};
_Static_assert(sizeof(struct lb_ct_val) == 80, "lb_ct_val layout");

/*
 * lb_lconn: target id (as lb_tstats) -> its live flows, one ARRAY shared by all CPUs, in two
 * parts: flows their client has not confirmed yet (in lb_syn) and confirmed ones (in lb_ct).
 * The datapath adds 1 unconfirmed when it creates a flow (LB_CT_F_COUNTED on its ORIG
 * entry), moves it to confirmed when it moves the flow to lb_ct, and takes 1 off the part
 * of the table the flow is in when it sees the flow close: a RST from either side, the
 * second side's FIN (the first FIN for dsr, whose replies it never sees). Each part never
 * goes below 0 (a decrement reads the part first; readers take a negative part, a lost
 * race, as 0). What the datapath cannot see (idle expiry, LRU eviction, a restart's gap)
 * lbd's conntrack sweeper corrects: each sweep counts the ORIG entries still
 * LB_CT_F_COUNTED per target, lb_ct's as confirmed and lb_syn's as unconfirmed, and adds
 * the differences that the counts before and after the walk both show (what changed during
 * the walk is no drift, daemon/dataplane/lconn.h). Two counters rather than one packed
 * word: each is a plain 64-bit atomic add, with no carry or borrow between the parts to
 * reason about and its own guard; a confirmation costs two adds (once per flow).
 */
struct lb_lconn_val {
	__s64 confirmed;   /* flows in lb_ct */
	__s64 unconfirmed; /* flows in lb_syn */
};
_Static_assert(sizeof(struct lb_lconn_val) == 16, "lb_lconn_val layout");

/*
 * Least-connections (LB_LISTEN_F_LEASTCONN) places a new flow by each target's load,
 * confirmed * LB_LC_CONFIRMED + unconfirmed, per unit of effective weight (lb_select.h),
 * IPVS wlc's "activeconns * 256 + inactconns" with a smaller factor. An unconfirmed flow
 * still counts: a burst of SYNs spreads at once instead of herding onto one target for a
 * round trip. It counts 1/16: a SYN flood must place 16 entries per confirmed flow of
 * difference (since the last sweep) before it hides a real imbalance, where it placed one
 * before. The factor is also the most a burst inside one round trip can overshoot: a
 * target lighter by d confirmed flows per unit of weight takes up to 16 * d new flows
 * before its neighbour gets one. IPVS's 256 suits its inactive connections, which include
 * the long TIME_WAIT; an unconfirmed flow here lives one round trip, so 16 keeps both
 * effects in bounds.
 */
#define LB_LC_CONFIRMED 16

/*
 * How often lbd advances the datapath's clock (lb_now_ns in the programs' .bss), which
 * packets of established flows stamp into last_seen_ns: its resolution.
 */
#define LB_CLOCK_TICK_MS 1000

/*
 * Counters, per CPU, summed by lbd. One layout serves proxies (lb_pstats, by proxy_id) and
 * targets (lb_tstats, by target_id). "in" is client -> backend, "out" is backend -> client.
 * Bytes count the IP length: IPv4's total length, IPv6's 40-byte header plus its payload
 * length (extension headers included); no link-layer header, the same on every hook.
 */
struct lb_stats {
	__u64 pkts_in;
	__u64 bytes_in;
	__u64 pkts_out;
	__u64 bytes_out;
	__u64 new_flows;
	__u64 drop_no_backend; /* new flow, but every backend of the group has weight 0 */
	__u64 err_ct_insert;   /* conntrack update failed: the packet is dropped */
	__u64 pad;
};
_Static_assert(sizeof(struct lb_stats) == 64, "lb_stats layout");

/* lb_gstats: per-CPU global counters by reason, indexed by LB_G_*. */
enum lb_global_counter {
	LB_G_PASS_NOT_IP = 0,  /* neither IPv4 nor IPv6 (after up to two VLAN tags) */
	LB_G_PASS_MALFORMED,   /* truncated or bogus IP/TCP/UDP header: left to the kernel */
	LB_G_PASS_FRAGMENT,    /* a fragment (IPv4, or IPv6 fragment header): never rewritten */
	LB_G_PASS_OTHER_L4,    /* neither TCP nor UDP (ICMP not about a flow, NDP, ...) */
	LB_G_PASS_NO_LISTENER, /* TCP/UDP that matches no listener and no flow */
	LB_G_PASS_STRAY_RST,   /* RST to a listener for a flow lbd does not track: not rewritten */
	LB_G_DNAT,	       /* packets rewritten towards a backend */
	LB_G_SNAT,	       /* replies rewritten back to the listener address */
	LB_G_DROP_NO_BACKEND,  /* new flow with no eligible backend */
	LB_G_ERR_CT_INSERT,    /* conntrack insert failed */
	LB_G_CT_REUSED,	       /* a closed flow's entries dropped: its backend 4-tuple was reused */
	LB_G_EVENTS_LOST,      /* connection events not emitted: the ring buffer was full */
	LB_G_CT_CONFIRMED,     /* flows confirmed by their client: moved from lb_syn to lb_ct */
	LB_G_ICMP_TO_BACKEND,  /* ICMP errors about a flow's replies, sent on to its backend */
	LB_G_ICMP_TO_CLIENT,   /* ICMP errors about a flow's requests, sent on to its client */
	LB_G_CT_REPLY_RESTORED, /* a flow's REPLY entry, evicted alone, written again from ORIG */
	LB_G_DSR_TX,		/* dsr: packets sent on towards their target (MAC rewritten) */
	LB_G_DSR_NO_NEIGH,	/* dsr: the target has no neighbour entry: dropped */
	LB_G_DSR_NO_ROUTE,	/* dsr: the target is not on a connected segment (fib): dropped */
	LB_G_FULLNAT_REPLY,	/* full-nat: replies translated back to listener -> client */
	LB_G_FULLNAT_NO_PORT, /* full-nat: every probed port taken, or no source address: dropped */
	LB_G_FAST_REDIRECT, /* fast path: packets sent out of their egress interface by the hook */
	LB_G_FAST_FALLBACK, /* fast path: no usable next hop (neighbour, MTU, TTL, local): kernel */
	LB_G_MAX,
};

/*
 * lb_events: the connection event stream, a BPF ring buffer read by lbd on its event loop.
 * Emitted only while stats are enabled (lb_events_on in the programs' .bss, set by lbd).
 * "opened" comes from the packet that created the flow; "closed" from the packet that ended
 * it (a RST, or the last ACK after both FINs), counters included; flows that end without
 * such a packet (idle timeout, lost last ACK) get their "closed" event from lbd's sweeper,
 * in the same layout. "in" is client -> backend, "out" backend -> client.
 */
#define LB_EV_OPENED 1
#define LB_EV_CLOSED 2

/* lb_event.reason of LB_EV_CLOSED. */
#define LB_CLOSE_FIN	    1 /* both sides sent FIN */
#define LB_CLOSE_RST	    2 /* a side sent RST */
#define LB_CLOSE_TIMEOUT    3 /* idle longer than the protocol's timeout (lbd's sweeper) */
#define LB_CLOSE_UNANSWERED 4 /* the backend never answered (lbd's sweeper) */

struct lb_event {
	__u8 type;   /* LB_EV_* */
	__u8 proto;  /* LB_PROTO_* */
	__u8 route;  /* LB_ROUTE_* */
	__u8 reason; /* LB_CLOSE_* (closed only) */
	__u8 flags;  /* both entries' LB_CT_F_* merged */
	__u8 pad0[3];
	__u32 proxy_id;
	__u32 target_id;
	struct lb_ip client_addr;
	struct lb_ip listen_addr;
	struct lb_ip backend_addr;
	__be16 client_port;
	__be16 listen_port;
	__be16 backend_port;
	__u16 pad1;
	__u64 ts_ns;	  /* CLOCK_MONOTONIC (coarse) of the event */
	__u64 created_ns; /* CLOCK_MONOTONIC (coarse) when the flow was created */
	__u64 pkts_in;
	__u64 bytes_in;
	__u64 pkts_out;
	__u64 bytes_out;
};
_Static_assert(sizeof(struct lb_event) == 120, "lb_event layout");

/* Size of the lb_events ring buffer (a power of two, page aligned): ~10,000 events. */
#define LB_EVENTS_RING_BYTES (1u << 20)

/*
 * lb_trace: what the decision of one packet found, written by the trace instance of the
 * datapath (lb_trace_mode set in its .rodata: the same object, loaded by lbd on demand for
 * `lbctl trace`, its side effects compiled out by the verifier) into its .bss, which lbd
 * reads after one BPF_PROG_TEST_RUN. Never written by the instance that carries traffic.
 */
#define LB_TRACE_F_LISTENER (1u << 0) /* a listener matched: proxy_id, listen_flags, ... */
#define LB_TRACE_F_GROUP    (1u << 1) /* group_id, route: the group a new flow is balanced over */
#define LB_TRACE_F_MAGLEV   (1u << 2) /* hash, slot: the Maglev table chose (else weights) */
#define LB_TRACE_F_BACKEND  (1u << 3) /* idx, target_id, addr, port: a backend was chosen */
#define LB_TRACE_F_CT	    (1u << 4) /* an existing flow answered: ct is its ORIG entry */
#define LB_TRACE_F_SYN	    (1u << 5) /* ... found in lb_syn (not confirmed by its client) */

struct lb_trace_rec {
	__u32 flags; /* LB_TRACE_F_* */
	__u32 proxy_id;
	__u32 listen_flags; /* lb_listen_val.flags: routes, hash mode and prefix, forwarding */
	__u32 group_id;
	__u32 route;	  /* LB_ROUTE_* */
	__u32 table_size; /* the group's Maglev table size, 0: none */
	__u32 table_gen;
	__u32 n_backends;
	__u32 hash;
	__u32 slot;
	__u32 idx; /* index of the chosen backend in the group */
	__u32 target_id;
	struct lb_ip addr; /* the chosen backend (all zero: lbd's own acceptor) */
	__be16 port;
	__u16 pad0;
	__u32 pad1;
	struct lb_ct_val ct;
};
_Static_assert(sizeof(struct lb_trace_rec) == 72 + sizeof(struct lb_ct_val), "lb_trace_rec layout");

/*
 * lb_meta: one entry written by lbd, read back by the next lbd to check the pinned layout.
 * clock_ns is the datapath's clock (lb_now_ns) as lbd last advanced it: while no lbd runs
 * the clock stands still and packets stamp that value, which the next lbd must not take
 * for idleness (docs/datapath.md, "Restarts").
 */
struct lb_meta {
	__u32 abi_version;
	__u32 max_connections;
	__u64 clock_ns;
};
_Static_assert(sizeof(struct lb_meta) == 16, "lb_meta layout");

/*
 * lb_owner: user-space only. The lbd that holds the instance (an flock on its pin folder)
 * writes who it is, so another lbd, or `lbd --teardown`, can name it when it refuses. It
 * also keeps the node's state that must outlive one lbd: maintenance (`lbctl node drain`)
 * and where the announcements are (settings.announce-table), so a restart keeps a drained
 * node drained and `lbd --teardown` can withdraw what it announced.
 */
#define LB_OWNER_SOCKET_MAX 108 /* sizeof(sockaddr_un.sun_path) */

#define LB_NODE_F_MAINTENANCE (1u << 0) /* lbctl node drain: announce nothing */

struct lb_owner_rec {
	__u32 pid;
	__u32 node_flags;	/* LB_NODE_F_* */
	__u32 announce_table;	/* routing table of the announcements; 0: none */
	__u8 announce_protocol; /* their route protocol number */
	__u8 pad[3];
	char socket[LB_OWNER_SOCKET_MAX]; /* its control socket, NUL-terminated */
};
_Static_assert(sizeof(struct lb_owner_rec) == 16 + LB_OWNER_SOCKET_MAX, "lb_owner_rec layout");

/* lb_pnames / lb_tnames: user-space only, pinned so a later lbd can name the counters. */
struct lb_proxy_meta {
	char name[LB_PROXY_NAME_MAX];
};
_Static_assert(sizeof(struct lb_proxy_meta) == LB_PROXY_NAME_MAX, "lb_proxy_meta layout");

struct lb_target_meta {
	__u32 proxy_id;
	struct lb_ip addr;
	__be16 port;
	__u8 in_use;
	__u8 pad;
};
_Static_assert(sizeof(struct lb_target_meta) == 24, "lb_target_meta layout");

#endif /* LB_ABI_H */
