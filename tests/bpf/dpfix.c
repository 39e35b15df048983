// SPDX-License-Identifier: MIT
/* dpfix.c - fixtures of the BPF_PROG_TEST_RUN suites (see dpfix.h). */
#include "dpfix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "pktbuild.h"

struct lb_bpf *skel;
__u32 dpfix_ct_entries = CT_MAX;
__u32 dpfix_syn_entries = CT_MAX;
unsigned int lo_ifindex;
int ncpus;

/* ---- map helpers ---- */

int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

/* Delete every entry: keys are collected first, deleting while walking would restart it. */
void map_clear(struct bpf_map *map)
{
	size_t ksz = bpf_map__key_size(map), n = 0, cap = 1024, i;
	int fd = map_fd(map);
	__u8 *keys = malloc(cap * ksz);

	ck_assert_ptr_nonnull(keys);
	while (!bpf_map_get_next_key(fd, n ? keys + (n - 1) * ksz : NULL, keys + n * ksz)) {
		if (++n == cap) {
			cap *= 2;
			keys = realloc(keys, cap * ksz);
			ck_assert_ptr_nonnull(keys);
		}
	}
	for (i = 0; i < n; i++)
		ck_assert_int_eq(bpf_map_delete_elem(fd, keys + i * ksz), 0);
	free(keys);
}

size_t map_count(struct bpf_map *map)
{
	size_t ksz = bpf_map__key_size(map), n = 0;
	__u8 key[64], next[64];
	int fd = map_fd(map);

	ck_assert_uint_le(ksz, sizeof(key));
	while (!bpf_map_get_next_key(fd, n ? key : NULL, next)) {
		memcpy(key, next, ksz);
		n++;
	}
	return n;
}

/* Zero keys [0, n) of a per-CPU array whose per-CPU values are @vsz bytes. */
void percpu_zero(struct bpf_map *map, __u32 n, size_t vsz)
{
	void *zero = calloc(ncpus, vsz);
	__u32 k;

	ck_assert_ptr_nonnull(zero);
	for (k = 0; k < n; k++)
		ck_assert_int_eq(bpf_map_update_elem(map_fd(map), &k, zero, BPF_ANY), 0);
	free(zero);
}

/* Sum over CPUs, as lbd does. */
struct lb_stats stats_get(struct bpf_map *map, __u32 id)
{
	struct lb_stats *v = calloc(ncpus, sizeof(*v)), sum = {};
	int cpu;

	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(map), &id, v), 0);
	for (cpu = 0; cpu < ncpus; cpu++) {
		sum.pkts_in += v[cpu].pkts_in;
		sum.bytes_in += v[cpu].bytes_in;
		sum.pkts_out += v[cpu].pkts_out;
		sum.bytes_out += v[cpu].bytes_out;
		sum.new_flows += v[cpu].new_flows;
		sum.drop_no_backend += v[cpu].drop_no_backend;
		sum.err_ct_insert += v[cpu].err_ct_insert;
	}
	free(v);
	return sum;
}

void gstats_get(__u64 out[LB_G_MAX])
{
	__u64 *v = calloc(ncpus, sizeof(*v));
	__u32 k;
	int cpu;

	ck_assert_ptr_nonnull(v);
	for (k = 0; k < LB_G_MAX; k++) {
		ck_assert_int_eq(bpf_map_lookup_elem(map_fd(skel->maps.lb_gstats), &k, v), 0);
		out[k] = 0;
		for (cpu = 0; cpu < ncpus; cpu++)
			out[k] += v[cpu];
	}
	free(v);
}

void put_listener6(const struct lb_ip *addr, __u16 port, __u8 proto, __u32 proxy_id, __u32 group,
		   __u32 flags)
{
	struct lb_listen_key k = {
		.ifindex = lo_ifindex, .addr = *addr, .port = htons(port), .proto = proto};
	struct lb_listen_val v = {.proxy_id = proxy_id, .default_group = group, .flags = flags};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_listen), &k, &v, BPF_ANY), 0);
}

void put_listener(__be32 addr, __u16 port, __u8 proto, __u32 proxy_id, __u32 group, __u32 flags)
{
	struct lb_ip a = lb_ip_from_v4(addr);

	put_listener6(&a, port, proto, proxy_id, group, flags);
}

void put_group_def(__u32 key, const struct lb_group *g)
{
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_groups), &key, g, BPF_ANY), 0);
}

void three_backends(struct lb_group *g, __u16 port)
{
	__u32 i;

	memset(g, 0, sizeof(*g));
	g->n_backends = 3;
	for (i = 0; i < 3; i++) {
		g->backends[i].addr = lb_ip_from_v4(IP(10, 2, i + 1, 2));
		g->backends[i].port = htons(port);
		g->backends[i].weight = 1;
		g->backends[i].target_id = i + 1;
	}
}

void three_backends6(struct lb_group *g, __u16 port)
{
	__u32 i;

	three_backends(g, port);
	for (i = 0; i < 3; i++)
		g->backends[i].addr = ip6_of(0xfd02, i + 1, 2);
}

struct lb_ip ip6_of(__u16 net, __u16 subnet, __u16 host)
{
	struct lb_ip a = {0};
	__u8 *b = (__u8 *)&a;

	b[0] = net >> 8;
	b[1] = net & 0xff;
	b[6] = subnet >> 8;
	b[7] = subnet & 0xff;
	b[14] = host >> 8;
	b[15] = host & 0xff;
	return a;
}

void put_route6(__u32 proxy_id, const struct lb_ip *addr, __u32 prefix_len, __u32 group)
{
	struct lb_route_key k = {.prefixlen = 32 + prefix_len, .proxy_id = proxy_id, .addr = *addr};
	struct lb_route_val v = {.group = group};

	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_routes), &k, &v, BPF_ANY), 0);
}

void put_route(__u32 proxy_id, __be32 addr, __u32 cidr_len, __u32 group)
{
	struct lb_ip a = lb_ip_from_v4(addr);

	put_route6(proxy_id, &a, LB_IP_V4_PREFIX_BASE + cidr_len, group);
}

bool ct_get6(__u8 dir, const struct lb_ip *saddr, const struct lb_ip *daddr, __u16 sport,
	     __u16 dport, __u8 proto, struct lb_ct_val *v)
{
	struct lb_ct_key k = {.saddr = *saddr,
			      .daddr = *daddr,
			      .sport = htons(sport),
			      .dport = htons(dport),
			      .proto = proto,
			      .dir = dir};

	return bpf_map_lookup_elem(map_fd(skel->maps.lb_ct), &k, v) == 0 ||
	       bpf_map_lookup_elem(map_fd(skel->maps.lb_syn), &k, v) == 0;
}

bool ct_get(__u8 dir, __be32 saddr, __be32 daddr, __u16 sport, __u16 dport, __u8 proto,
	    struct lb_ct_val *v)
{
	struct lb_ip s4 = lb_ip_from_v4(saddr), d4 = lb_ip_from_v4(daddr);

	return ct_get6(dir, &s4, &d4, sport, dport, proto, v);
}

size_t ct_count(void)
{
	return map_count(skel->maps.lb_ct) + map_count(skel->maps.lb_syn);
}

void ct_flush(void)
{
	map_clear(skel->maps.lb_ct);
	map_clear(skel->maps.lb_syn);
}

/* Checked fixture: every case starts from empty maps and zero counters. */
void reset_maps(void)
{
	ct_flush();
	map_clear(skel->maps.lb_listen);
	map_clear(skel->maps.lb_routes);
	map_clear(skel->maps.lb_groups);
	percpu_zero(skel->maps.lb_pstats, STATS_IDS, sizeof(struct lb_stats));
	percpu_zero(skel->maps.lb_tstats, STATS_IDS, sizeof(struct lb_stats));
	percpu_zero(skel->maps.lb_gstats, LB_G_MAX, sizeof(__u64));
}

int run_xdp(__u32 ifindex, const __u8 *in, size_t len, __u8 *out, size_t *out_len)
{
	struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = PKT_MAX, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx));

	ck_assert_int_eq(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.lb_xdp_ingress), &o),
			 0);
	*out_len = o.data_size_out;
	return (int)o.retval;
}

__u64 gcount(enum lb_global_counter which)
{
	__u64 g[LB_G_MAX];

	gstats_get(g);
	return g[which];
}

int run_prog(enum hook hook, const __u8 *in, size_t len, __u8 *out, size_t *out_len, int *verdict)
{
	struct xdp_md xctx = {.data_end = len, .ingress_ifindex = lo_ifindex};
	struct __sk_buff sctx = {.ingress_ifindex = lo_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = PKT_MAX);
	int fd, err;

	if (hook == XDP) {
		/* The listener key holds the ingress ifindex: the program must see lo's. */
		o.ctx_in = &xctx;
		o.ctx_size_in = sizeof(xctx);
		fd = bpf_program__fd(skel->progs.lb_xdp_ingress);
	} else if (hook == TC_IN) {
		o.ctx_in = &sctx;
		o.ctx_size_in = sizeof(sctx);
		fd = bpf_program__fd(skel->progs.lb_tc_ingress);
	} else {
		fd = bpf_program__fd(skel->progs.lb_tc_egress);
	}
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return -errno;
	*verdict = o.retval;
	*out_len = o.data_size_out;
	return 0;
}

/* Open and load lb.bpf.o with no map pinned. Returns 0 or -errno. */
static int load_skel(void)
{
	struct bpf_map *map;
	int err;

	skel = lb_bpf__open();
	if (!skel)
		return -errno;
	/*
	 * The maps are LIBBPF_PIN_BY_NAME: with a pin path libbpf would reuse (and leave behind)
	 * whatever a running lbd pinned. Clearing it gives this process private, empty maps.
	 */
	bpf_object__for_each_map(map, skel->obj)
	{
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			return err;
	}
	err = bpf_map__set_max_entries(skel->maps.lb_ct, dpfix_ct_entries);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.lb_syn, dpfix_syn_entries);
	if (err)
		return err;
	return lb_bpf__load(skel);
}

int dpfix_main(Suite *(*suite)(void))
{
	SRunner *sr;
	int err, failed;

	if (geteuid() != 0) {
		fprintf(stderr, "skipped: BPF_PROG_TEST_RUN needs root\n");
		return 77;
	}
	lo_ifindex = if_nametoindex("lo");
	ncpus = libbpf_num_possible_cpus();
	if (!lo_ifindex || ncpus <= 0) {
		fprintf(stderr, "cannot find lo or the number of CPUs\n");
		return EXIT_FAILURE;
	}
	err = load_skel();
	if (err == -EPERM || err == -EACCES) {
		fprintf(stderr, "skipped: not allowed to load BPF programs (%s)\n", strerror(-err));
		lb_bpf__destroy(skel);
		return 77;
	}
	if (err) {
		fprintf(stderr, "loading lb.bpf.o failed: %s\n", strerror(-err));
		lb_bpf__destroy(skel);
		return EXIT_FAILURE;
	}

	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	lb_bpf__destroy(skel);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
