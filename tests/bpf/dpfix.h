/* SPDX-License-Identifier: MIT */
/*
 * dpfix.h - what the BPF_PROG_TEST_RUN suites share: lb.bpf.o loaded with private maps
 * (nothing pinned, nothing left behind), helpers to fill and read the maps, and one packet
 * run through a hook. Assertions use Check: call these from tests only.
 */
#ifndef DPFIX_H
#define DPFIX_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "lb_abi.h"
#include "lb_ip.h"
#include "lb.skel.h"

/* Room for every flow the loop tests create (two entries each), and fast to empty. */
#define CT_MAX 65536
/* Stats ids the cases use are below this: reset_maps() zeroes their counters. */
#define STATS_IDS 16

/* An IPv4 address in network order from its four octets. */
#define IP(a, b, c, d) htonl((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (__u32)(d))

extern struct lb_bpf *skel;
/* Sizes of lb_ct and lb_syn; a suite may change them before dpfix_main(). */
extern __u32 dpfix_ct_entries, dpfix_syn_entries;
extern unsigned int lo_ifindex; /* listeners are keyed on lo: the XDP runs say it is theirs */
extern int ncpus;

/* XDP and TC_IN run the request direction (lb_xdp_ingress, lb_tc_ingress), TC the replies. */
enum hook { HOOK_END = 0, XDP, TC, TC_IN };

int map_fd(struct bpf_map *map);
void map_clear(struct bpf_map *map);
size_t map_count(struct bpf_map *map);
/* Zero keys [0, n) of a per-CPU array whose per-CPU values are @vsz bytes. */
void percpu_zero(struct bpf_map *map, __u32 n, size_t vsz);
/* lb_pstats / lb_tstats entry @id summed over CPUs, as lbd does. */
struct lb_stats stats_get(struct bpf_map *map, __u32 id);
void gstats_get(__u64 out[LB_G_MAX]);

/* NET:0:0:SUBNET::HOST, e.g. ip6_of(0xfd02, 1, 2) is fd02:0:0:1::2. */
struct lb_ip ip6_of(__u16 net, __u16 subnet, __u16 host);

/* A listener on lo; @port host order. IPv4 addresses are written IPv4-mapped. */
void put_listener(__be32 addr, __u16 port, __u8 proto, __u32 proxy_id, __u32 group, __u32 flags);
void put_listener6(const struct lb_ip *addr, __u16 port, __u8 proto, __u32 proxy_id, __u32 group,
		   __u32 flags);
void put_group_def(__u32 key, const struct lb_group *g);
/* @g: three backends 10.2.1.2, 10.2.2.2, 10.2.3.2 on @port (host order), weight 1 each,
 * target ids 1-3; three_backends6: the same at fd02:0:0:1::2, fd02:0:0:2::2, fd02:0:0:3::2. */
void three_backends(struct lb_group *g, __u16 port);
void three_backends6(struct lb_group *g, __u16 port);
/* A source route: an IPv4 /@cidr_len, or a prefix of the 128-bit form (put_route6). */
void put_route(__u32 proxy_id, __be32 addr, __u32 cidr_len, __u32 group);
void put_route6(__u32 proxy_id, const struct lb_ip *addr, __u32 prefix_len, __u32 group);
/*
 * The conntrack entry of direction @dir (ports host order), in lb_ct or lb_syn (flows not
 * confirmed by their client yet); false when there is none.
 */
bool ct_get(__u8 dir, __be32 saddr, __be32 daddr, __u16 sport, __u16 dport, __u8 proto,
	    struct lb_ct_val *v);
bool ct_get6(__u8 dir, const struct lb_ip *saddr, const struct lb_ip *daddr, __u16 sport,
	     __u16 dport, __u8 proto, struct lb_ct_val *v);
/* Entries in lb_ct and lb_syn together; empty both. */
size_t ct_count(void);
void ct_flush(void);

/* Checked fixture: empty maps, zero counters. */
void reset_maps(void);

/* Run the frame @in through @hook; the verdict and the frame as it left. 0 or -errno. */
int run_prog(enum hook hook, const __u8 *in, size_t len, __u8 *out, size_t *out_len, int *verdict);

/* Run @in at XDP as arriving on @ifindex: the verdict; the frame as it left into @out. */
int run_xdp(__u32 ifindex, const __u8 *in, size_t len, __u8 *out, size_t *out_len);

/* Global counter @which, summed over the CPUs. */
__u64 gcount(enum lb_global_counter which);

/* main() of a suite: skip (77) without root, load lb.bpf.o, run @suite, exit status. */
int dpfix_main(Suite *(*suite)(void));

#endif /* DPFIX_H */
