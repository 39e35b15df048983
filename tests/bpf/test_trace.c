// SPDX-License-Identifier: MIT
/*
 * The trace instance (daemon/dataplane/trace.c, bpf/lb_trace.h) against the maps of a
 * loaded datapath: it names the backend the datapath gives the same packet (a Maglev slot,
 * the weights, a source route), reports an existing flow from conntrack, and leaves no
 * trace of its own: conntrack (every entry, byte for byte) and every counter are the same
 * after a trace as before.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "pktbuild.h"
#include "trace.h"

#define VIP   IP(10, 0, 0, 1)
#define GROUP 1
#define M     4093

static struct lb_tracer *tracer;
static struct lb_group group;

/* Conntrack and counters, whole, to compare before and after. */
struct snap {
	__u8 *ct;
	size_t ct_len;
	__u64 g[LB_G_MAX];
	struct lb_stats p[STATS_IDS], t[STATS_IDS];
};

static void dump_map(struct bpf_map *map, __u8 **buf, size_t *len)
{
	size_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map), n = map_count(map);
	__u8 key[64], *p;
	int fd = map_fd(map);

	*buf = realloc(*buf, *len + n * (ksz + vsz) + 1);
	ck_assert_ptr_nonnull(*buf);
	p = *buf + *len;
	/* LRU hash order is stable while nothing is written: walk, read each value. */
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(bpf_map_get_next_key(fd, i ? key : NULL, key), 0);
		memcpy(p, key, ksz);
		ck_assert_int_eq(bpf_map_lookup_elem(fd, key, p + ksz), 0);
		p += ksz + vsz;
	}
	*len += n * (ksz + vsz);
}

static void take(struct snap *s)
{
	__u32 i;

	memset(s, 0, sizeof(*s));
	dump_map(skel->maps.lb_ct, &s->ct, &s->ct_len);
	dump_map(skel->maps.lb_syn, &s->ct, &s->ct_len);
	gstats_get(s->g);
	for (i = 0; i < STATS_IDS; i++) {
		s->p[i] = stats_get(skel->maps.lb_pstats, i);
		s->t[i] = stats_get(skel->maps.lb_tstats, i);
	}
}

static void same(struct snap *a, struct snap *b)
{
	ck_assert_uint_eq(a->ct_len, b->ct_len);
	ck_assert_int_eq(memcmp(a->ct, b->ct, a->ct_len), 0);
	ck_assert_int_eq(memcmp(a->g, b->g, sizeof(a->g)), 0);
	ck_assert_int_eq(memcmp(a->p, b->p, sizeof(a->p)), 0);
	ck_assert_int_eq(memcmp(a->t, b->t, sizeof(a->t)), 0);
	free(a->ct);
	free(b->ct);
}

static void put_table(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	__u32 n = (M + 3) / 4, i, x = 0x2468ace, key = LB_MAGLEV_KEY(GROUP, 0, 0);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t", 4, sizeof(struct lb_maglev_slots), n, &o);

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < n; i++) {
		struct lb_maglev_slots v;
		int k;

		for (k = 0; k < 4; k++) {
			x = x * 1103515245u + 12345u;
			v.s[k] = (__u16)((x >> 16) % group.n_backends);
		}
		ck_assert_int_eq(bpf_map_update_elem(fd, &i, &v, BPF_ANY), 0);
	}
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_maglev), &key, &fd, BPF_ANY), 0);
	close(fd);
	group.table_size = M;
	put_group_def(GROUP, &group);
}

static void setup(void)
{
	char err[256];
	__u32 key = LB_MAGLEV_KEY(GROUP, 0, 0);

	reset_maps();
	bpf_map_delete_elem(map_fd(skel->maps.lb_maglev), &key);
	three_backends(&group, 8080);
	put_group_def(GROUP, &group);
	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
	if (!tracer)
		ck_assert_msg(!lb_tracer_open(skel, &tracer, err, sizeof(err)), "%s", err);
}

static struct lb_trace_out trace(__be32 client, __u16 sport)
{
	struct lb_trace_req r = {.client = lb_ip_from_v4(client),
				 .client_port = sport,
				 .listen = lb_ip_from_v4(VIP),
				 .listen_port = 80,
				 .proto = LB_PROTO_TCP,
				 .ifindex = lo_ifindex};
	struct lb_trace_out o;
	char err[256];

	ck_assert_msg(!lb_tracer_run(tracer, &r, &o, err, sizeof(err)), "%s", err);
	return o;
}

/* The real datapath's answer: a SYN through lb_xdp_ingress, then its conntrack entry. */
static struct lb_ct_val send_syn(__be32 client, __u16 sport)
{
	struct pkt_spec s = {.saddr = client,
			     .daddr = VIP,
			     .sport = sport,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x02};
	__u8 in[PKT_MAX], out[PKT_MAX];
	size_t len = pkt_build(&s, in), out_len;
	struct lb_ct_val v;
	int verdict;

	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert(ct_get(LB_DIR_ORIG, client, VIP, sport, 80, IPPROTO_TCP, &v));
	return v;
}

/* New flows: trace names the backend the datapath then gives them, and creates nothing. */
static void check_new_flows(bool maglev)
{
	struct snap a, b;
	int p, slots_seen = 0;

	for (p = 0; p < 60; p++) {
		__u16 sport = (__u16)(30000 + p * 7);
		struct lb_trace_out o;
		struct lb_ct_val v;

		take(&a);
		o = trace(IP(10, 9, 0, 1), sport);
		take(&b);
		same(&a, &b);
		ck_assert_int_eq(o.verdict, LB_TRACE_REWRITE);
		ck_assert_uint_eq(o.rec.flags & (LB_TRACE_F_LISTENER | LB_TRACE_F_GROUP |
						 LB_TRACE_F_BACKEND | LB_TRACE_F_CT),
				  LB_TRACE_F_LISTENER | LB_TRACE_F_GROUP | LB_TRACE_F_BACKEND);
		ck_assert_uint_eq(!!(o.rec.flags & LB_TRACE_F_MAGLEV), maglev);
		ck_assert_uint_eq(o.rec.proxy_id, 1);
		ck_assert_uint_eq(o.rec.group_id, GROUP);
		ck_assert_uint_eq(o.rec.route, LB_ROUTE_DEFAULT);
		ck_assert_uint_eq(o.rec.table_size, maglev ? M : 0);
		if (maglev) {
			ck_assert_uint_eq(o.rec.slot, lb_maglev_slot(o.rec.hash, M));
			slots_seen += o.rec.slot != 0;
		}
		v = send_syn(IP(10, 9, 0, 1), sport);
		ck_assert_uint_eq(o.rec.target_id, v.target_id);
		ck_assert(lb_ip_eq(&o.rec.addr, &v.nat_addr));
		ck_assert(lb_ip_eq(&o.dst, &v.nat_addr));
		ck_assert_uint_eq(o.dst_port, 8080);
	}
	if (maglev)
		ck_assert_int_gt(slots_seen, 0);
}

START_TEST(test_new_flow_weights)
{
	check_new_flows(false);
}
END_TEST

START_TEST(test_new_flow_maglev)
{
	put_table();
	check_new_flows(true);
}
END_TEST

/* An existing flow: its conntrack entry answers, and stays exactly as it was. */
START_TEST(test_existing_flow)
{
	struct lb_ct_val v = send_syn(IP(10, 9, 0, 2), 40000), v2;
	struct lb_trace_out o;
	struct snap a, b;
	int i;

	/* Whatever the group says now, the flow keeps its backend: move every weight away. */
	for (i = 0; i < 3; i++)
		group.backends[i].weight = group.backends[i].target_id == v.target_id ? 0 : 1;
	put_group_def(GROUP, &group);
	take(&a);
	o = trace(IP(10, 9, 0, 2), 40000);
	take(&b);
	same(&a, &b);
	ck_assert_uint_eq(o.rec.flags & (LB_TRACE_F_CT | LB_TRACE_F_SYN | LB_TRACE_F_GROUP),
			  LB_TRACE_F_CT | LB_TRACE_F_SYN);
	ck_assert_uint_eq(o.rec.ct.target_id, v.target_id);
	ck_assert_uint_eq(o.rec.ct.created_ns, v.created_ns);
	ck_assert(lb_ip_eq(&o.dst, &v.nat_addr));
	ck_assert_int_eq(o.verdict, LB_TRACE_REWRITE);
	ck_assert(ct_get(LB_DIR_ORIG, IP(10, 9, 0, 2), VIP, 40000, 80, IPPROTO_TCP, &v2));
	ck_assert_int_eq(memcmp(&v, &v2, sizeof(v)), 0);
}
END_TEST

/* A flow its client confirmed (in lb_ct), and a UDP flow: the same, from their table. */
START_TEST(test_confirmed_and_udp)
{
	struct pkt_spec s = {.saddr = IP(10, 9, 0, 4),
			     .daddr = VIP,
			     .sport = 41000,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x10};
	struct lb_trace_req r = {.client = lb_ip_from_v4(IP(10, 9, 0, 5)),
				 .client_port = 5353,
				 .listen = lb_ip_from_v4(VIP),
				 .listen_port = 53,
				 .proto = LB_PROTO_UDP,
				 .ifindex = lo_ifindex};
	__u8 in[PKT_MAX], out[PKT_MAX];
	struct lb_ct_val v = send_syn(IP(10, 9, 0, 4), 41000), v2;
	struct lb_trace_out o;
	size_t len, out_len;
	struct snap a, b;
	char err[256];
	int verdict;

	len = pkt_build(&s, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 0); /* confirmed: moved to lb_ct */
	take(&a);
	o = trace(IP(10, 9, 0, 4), 41000);
	take(&b);
	same(&a, &b);
	ck_assert_uint_eq(o.rec.flags, LB_TRACE_F_CT);
	ck_assert_uint_eq(o.rec.ct.target_id, v.target_id);
	ck_assert(lb_ip_eq(&o.dst, &v.nat_addr));

	/* UDP: a new flow's answer, then (after a real datagram) its unconfirmed flow. */
	put_listener(VIP, 53, IPPROTO_UDP, 1, GROUP, 0);
	ck_assert(!lb_tracer_run(tracer, &r, &o, err, sizeof(err)));
	ck_assert_uint_eq(o.rec.flags & LB_TRACE_F_BACKEND, LB_TRACE_F_BACKEND);
	s.saddr = IP(10, 9, 0, 5);
	s.sport = 5353;
	s.dport = 53;
	s.proto = IPPROTO_UDP;
	len = pkt_build(&s, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert(ct_get(LB_DIR_ORIG, IP(10, 9, 0, 5), VIP, 5353, 53, IPPROTO_UDP, &v2));
	ck_assert_uint_eq(v2.target_id, o.rec.target_id);
	take(&a);
	ck_assert(!lb_tracer_run(tracer, &r, &o, err, sizeof(err)));
	take(&b);
	same(&a, &b);
	ck_assert_uint_eq(o.rec.flags, LB_TRACE_F_CT | LB_TRACE_F_SYN);
	ck_assert_uint_eq(o.rec.ct.target_id, v2.target_id);
	ck_assert_uint_eq(map_count(skel->maps.lb_syn), 2); /* not confirmed by the trace */
}
END_TEST

/* An IPv6 client: the answer names the backend the datapath gives it. */
START_TEST(test_ipv6)
{
	struct lb_ip vip6 = ip6_of(0xfd01, 0, 1), cl6 = ip6_of(0xfd09, 0, 7);
	struct lb_trace_req r = {.client = cl6,
				 .client_port = 7777,
				 .listen = vip6,
				 .listen_port = 80,
				 .proto = LB_PROTO_TCP,
				 .ifindex = lo_ifindex};
	struct pkt_spec s = {.ethertype = ETH_P_IPV6,
			     .sport = 7777,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = 0x02};
	__u8 in[PKT_MAX], out[PKT_MAX];
	struct lb_group g6;
	struct lb_trace_out o;
	struct lb_ct_val v;
	size_t len, out_len;
	char err[256];
	int verdict;

	three_backends6(&g6, 8080);
	put_group_def(2, &g6);
	put_listener6(&vip6, 80, IPPROTO_TCP, 1, 2, 0);
	ck_assert(!lb_tracer_run(tracer, &r, &o, err, sizeof(err)));
	ck_assert_int_eq(o.verdict, LB_TRACE_REWRITE);
	ck_assert_uint_eq(ct_count(), 0);
	memcpy(s.saddr6, &cl6, 16);
	memcpy(s.daddr6, &vip6, 16);
	len = pkt_build(&s, in);
	ck_assert_int_eq(run_prog(XDP, in, len, out, &out_len, &verdict), 0);
	ck_assert(ct_get6(LB_DIR_ORIG, &cl6, &vip6, 7777, 80, IPPROTO_TCP, &v));
	ck_assert_uint_eq(o.rec.target_id, v.target_id);
	ck_assert(lb_ip_eq(&o.dst, &v.nat_addr));
}
END_TEST

/* A source route: its group, and the route is named. */
START_TEST(test_source_route)
{
	struct lb_group g2;
	struct lb_trace_out o;

	memset(&g2, 0, sizeof(g2));
	g2.n_backends = 1;
	g2.backends[0].addr = lb_ip_from_v4(IP(10, 3, 0, 9));
	g2.backends[0].port = htons(9090);
	g2.backends[0].weight = 1;
	g2.backends[0].target_id = 9;
	put_group_def(7, &g2);
	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, LB_LISTEN_F_HAS_ROUTES);
	put_route(1, IP(192, 168, 5, 0), 24, 7);
	o = trace(IP(192, 168, 5, 77), 50000);
	ck_assert_uint_eq(o.rec.route, LB_ROUTE_SOURCE);
	ck_assert_uint_eq(o.rec.group_id, 7);
	ck_assert_uint_eq(o.rec.target_id, 9);
	ck_assert_uint_eq(o.dst_port, 9090);
	o = trace(IP(192, 168, 6, 77), 50000);
	ck_assert_uint_eq(o.rec.route, LB_ROUTE_DEFAULT);
	ck_assert_uint_eq(o.rec.group_id, GROUP);
	ck_assert_uint_eq(ct_count(), 0);
}
END_TEST

/* No listener: passed untouched, nothing noted; a group without weights: dropped. */
START_TEST(test_no_listener_no_backend)
{
	struct lb_trace_out o;
	int i;

	map_clear(skel->maps.lb_listen);
	o = trace(IP(10, 9, 0, 3), 1234);
	ck_assert_int_eq(o.verdict, LB_TRACE_PASS);
	ck_assert_uint_eq(o.rec.flags, 0);
	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
	for (i = 0; i < 3; i++)
		group.backends[i].weight = 0;
	put_group_def(GROUP, &group);
	o = trace(IP(10, 9, 0, 3), 1234);
	ck_assert_int_eq(o.verdict, LB_TRACE_DROP);
	ck_assert_uint_eq(o.rec.flags, LB_TRACE_F_LISTENER | LB_TRACE_F_GROUP);
	ck_assert_uint_eq(stats_get(skel->maps.lb_pstats, 1).drop_no_backend, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("trace");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_flow_weights);
	tcase_add_test(tc, test_new_flow_maglev);
	tcase_add_test(tc, test_existing_flow);
	tcase_add_test(tc, test_confirmed_and_udp);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_source_route);
	tcase_add_test(tc, test_no_listener_no_backend);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(suite);
}
