// SPDX-License-Identifier: MIT
/*
 * Large groups in the datapath (BPF_PROG_TEST_RUN): a group of more than LB_GROUP_INLINE
 * backends keeps them, its head and its tables in one generation's set in lb_gsets
 * (lb_abi.h). A new flow takes backend table[hash % M] of the set its group points at; a
 * flip to the other generation moves new flows, never an established one; a packet whose
 * generation is gone uses the other set whole, never that set's table with the other
 * generation's backends; a family without a table takes its one weighted backend (solo)
 * or is dropped; IPv6 clients use the IPv6 table.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "pktbuild.h"

#define VIP   IP(10, 0, 0, 1)
#define GROUP 7
#define M     4093 /* the smallest table size lbd offers */
#define N     200  /* backends */

/* Generation g's backends and IPv4 table; the two generations differ in both. */
static struct lb_backend backends[2][N];
static __u16 table[2][M];

static struct lb_ip backend_addr(int gen, int i)
{
	/* Generation 1 renumbers: its backend i is generation 0's backend (i + 1) % N. */
	int k = gen ? (i + 1) % N : i;

	return lb_ip_from_v4(IP(10, 3, k / 100, 1 + k % 100));
}

static void fill(int gen)
{
	__u32 s, x = 0x2468acu + (__u32)gen * 1009;
	int i;

	for (i = 0; i < N; i++) {
		memset(&backends[gen][i], 0, sizeof(backends[gen][i]));
		backends[gen][i].addr = backend_addr(gen, i);
		backends[gen][i].port = htons(8080);
		backends[gen][i].weight = 1;
		backends[gen][i].target_id = (__u32)(gen * N + i + 1);
	}
	for (s = 0; s < M; s++) {
		x = x * 1103515245u + 12345u;
		table[gen][s] = (__u16)((x >> 8) % N);
	}
}

/*
 * Put generation @gen's set as lbd does: a fresh inner map written whole, then inserted.
 * @with_table false: no table, family @f names backend @solo instead. The other family
 * has neither.
 */
static void put_set_family(int gen, bool with_table, __u16 solo, int f)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	__u32 per = (M + LB_GSET_PER_ENTRY - 1) / LB_GSET_PER_ENTRY;
	__u32 n_ent = 1 + N + (with_table ? per : 0), i, key = LB_GSET_KEY(GROUP, gen);
	struct lb_gset_slots *e = calloc(n_ent, sizeof(*e));
	struct lb_gset_head *h = (struct lb_gset_head *)&e[0];
	int fd;

	ck_assert_ptr_nonnull(e);
	h->n_backends = N;
	h->table_size = M;
	h->solo[f] = with_table ? LB_MAGLEV_NONE : solo;
	h->solo[!f] = LB_MAGLEV_NONE;
	for (i = 0; i < N; i++)
		memcpy(&e[1 + i], &backends[gen][i], sizeof(backends[gen][i]));
	if (with_table) {
		h->table_at[f] = 1 + N;
		for (i = 0; i < per * LB_GSET_PER_ENTRY; i++)
			e[1 + N + i / LB_GSET_PER_ENTRY].s[i % LB_GSET_PER_ENTRY] =
				i < M ? table[gen][i] : LB_MAGLEV_NONE;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "s", 4, sizeof(*e), n_ent, &o);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < n_ent; i++)
		ck_assert_int_eq(bpf_map_update_elem(fd, &i, &e[i], BPF_ANY), 0);
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_gsets), &key, &fd, BPF_ANY), 0);
	close(fd);
	free(e);
}

static void put_set(int gen, bool with_table, __u16 solo)
{
	put_set_family(gen, with_table, solo, 0);
}

static void drop_set(int gen)
{
	__u32 key = LB_GSET_KEY(GROUP, gen);

	bpf_map_delete_elem(map_fd(skel->maps.lb_gsets), &key);
}

/* The lb_groups value of a large group at generation @gen: no backend inline. */
static void use_gen(int gen)
{
	struct lb_group g = {.n_backends = N, .table_size = M, .table_gen = (__u32)gen};

	put_group_def(GROUP, &g);
}

static void setup(void)
{
	reset_maps();
	drop_set(0);
	drop_set(1);
	fill(0);
	fill(1);
	put_set(0, true, 0);
	use_gen(0);
	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
}

/* Send a TCP segment from @client:@sport; its verdict, and the flow's backend address. */
static int send_tcp(__be32 client, __u16 sport, __u8 flags, struct lb_ip *to)
{
	struct pkt_spec s = {.saddr = client,
			     .daddr = VIP,
			     .sport = sport,
			     .dport = 80,
			     .proto = IPPROTO_TCP,
			     .tcp_flags = flags};
	__u8 in[PKT_MAX], out[PKT_MAX];
	struct lb_ct_val v;
	size_t len = pkt_build(&s, in), out_len;
	int verdict;

	ck_assert_int_eq(run_prog(TC_IN, in, len, out, &out_len, &verdict), 0);
	if (to && ct_get(LB_DIR_ORIG, client, VIP, sport, 80, IPPROTO_TCP, &v))
		*to = v.nat_addr;
	return verdict;
}

static __u32 flow_hash(__be32 client, __u16 sport)
{
	struct lb_ip a = lb_ip_from_v4(client), b = lb_ip_from_v4(VIP);

	return lb_flow_hash(&a, &b, htons(sport), htons(80), IPPROTO_TCP);
}

/* What generation @gen gives a new flow of @hash: its own table, its own backends. */
static struct lb_ip expected(int gen, __u32 hash)
{
	return backends[gen][table[gen][lb_maglev_slot(hash, M)]].addr;
}

/* 2000 new flows: each takes its slot's backend, and they spread over the 200. */
START_TEST(test_new_flows_take_slot)
{
	bool seen[N] = {false};
	int p, distinct = 0, i;

	for (p = 0; p < 2000; p++) {
		__be32 client = IP(10, 9, p / 200, 1 + p % 200);
		struct lb_ip want = expected(0, flow_hash(client, 20000)), got;

		ck_assert_int_eq(send_tcp(client, 20000, 0x02, &got), TC_ACT_OK);
		ck_assert_msg(lb_ip_eq(&got, &want), "flow %d: not its slot's backend", p);
		for (i = 0; i < N; i++)
			if (lb_ip_eq(&got, &backends[0][i].addr) && !seen[i]) {
				seen[i] = true;
				distinct++;
			}
	}
	/* 2000 flows over 200 equal owners: all but a handful are hit. */
	ck_assert_int_gt(distinct, 180);
}
END_TEST

/* A target's load for least connections (lb_lc_load of its two counts). */
static __s64 lconn(__u32 target_id)
{
	struct lb_lconn_val v = {-1, -1};

	ck_assert_int_eq(bpf_map_lookup_elem(map_fd(skel->maps.lb_lconn), &target_id, &v), 0);
	return (__s64)lb_lc_load(v.confirmed, v.unconfirmed);
}

/*
 * Least connections in a large group: of the backends the table gives for the flow hash
 * and for lb_lc_hash2() of it, the one with the smaller load (confirmed flows weigh
 * LB_LC_CONFIRMED, unconfirmed ones 1; all weights 1 here), the first on a tie; each new
 * flow counts on its backend, unconfirmed.
 */
START_TEST(test_least_conn_two_choices)
{
	int p, second = 0, i;

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, LB_LISTEN_F_LEASTCONN);
	for (i = 0; i < N; i++) {
		struct lb_lconn_val v = {i % 7, (i % 5) * 9};

		ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_lconn),
						     &backends[0][i].target_id, &v, BPF_ANY),
				 0);
	}
	for (p = 0; p < 1000; p++) {
		__be32 client = IP(10, 9, p / 200, 1 + p % 200);
		__u32 h = flow_hash(client, 20000);
		__u16 a = table[0][lb_maglev_slot(h, M)],
		      b = table[0][lb_maglev_slot(lb_lc_hash2(h), M)];
		__s64 la = lconn(backends[0][a].target_id), lb = lconn(backends[0][b].target_id);
		__u16 want = a != b && lb_lc_less((__u64)lb, 1, (__u64)la, 1) ? b : a;
		struct lb_ip got;

		second += want != a;
		ck_assert_int_eq(send_tcp(client, 20000, 0x02, &got), TC_ACT_OK);
		ck_assert_msg(
			lb_ip_eq(&got, &backends[0][want].addr),
			"flow %d: candidates %u (%lld flows) and %u (%lld): not the less loaded", p,
			a, (long long)la, b, (long long)lb);
		ck_assert_int_eq(lconn(backends[0][want].target_id), (want == a ? la : lb) + 1);
	}
	/* The second choice mattered for a good share of the flows. */
	ck_assert_int_gt(second, 200);
}
END_TEST

/*
 * A flip to generation 1 (set 1 put first, as lbd does): established flows keep their
 * backend, new ones follow generation 1's table and backends. Then generation 0 is
 * deleted while the group still says 0 (a packet that read the group just before the
 * flip): new flows take set 1 whole, never set 1's slot with set 0's backends.
 */
START_TEST(test_generations_never_mix)
{
	struct lb_ip before[300], got;
	int p, moved = 0, mixed_would_differ = 0;

	for (p = 0; p < 300; p++)
		ck_assert_int_eq(send_tcp(IP(10, 9, 1, 1), (__u16)(30000 + p), 0x02, &before[p]),
				 TC_ACT_OK);
	put_set(1, true, 0);
	use_gen(1);
	for (p = 0; p < 300; p++) {
		__u32 h = flow_hash(IP(10, 9, 1, 1), (__u16)(30000 + p));
		struct lb_ip want = expected(1, h);

		/* established: conntrack first */
		ck_assert_int_eq(send_tcp(IP(10, 9, 1, 1), (__u16)(30000 + p), 0x10, &got),
				 TC_ACT_OK);
		ck_assert(lb_ip_eq(&got, &before[p]));
		moved += !lb_ip_eq(&want, &before[p]);
		/* new: generation 1 */
		h = flow_hash(IP(10, 9, 1, 2), (__u16)(30000 + p));
		want = expected(1, h);
		ck_assert_int_eq(send_tcp(IP(10, 9, 1, 2), (__u16)(30000 + p), 0x02, &got),
				 TC_ACT_OK);
		ck_assert(lb_ip_eq(&got, &want));
	}
	ck_assert_int_gt(moved, 0);

	/* The race: the group says 0, only set 1 is left. */
	use_gen(0);
	drop_set(0);
	for (p = 0; p < 300; p++) {
		__u32 h = flow_hash(IP(10, 9, 1, 3), (__u16)(30000 + p));
		struct lb_ip want = expected(1, h),
			     mix = backends[0][table[1][lb_maglev_slot(h, M)]].addr;

		ck_assert_int_eq(send_tcp(IP(10, 9, 1, 3), (__u16)(30000 + p), 0x02, &got),
				 TC_ACT_OK);
		ck_assert(lb_ip_eq(&got, &want));
		mixed_would_differ += !lb_ip_eq(&mix, &want);
	}
	/* generation 1 renumbers its backends: a mix would have been seen */
	ck_assert_int_eq(mixed_would_differ, 300);
}
END_TEST

/* A family without a table takes its one weighted backend; none: dropped and counted. */
START_TEST(test_solo_and_none)
{
	struct lb_ip got;
	__u64 g[LB_G_MAX];
	int p;

	drop_set(0);
	put_set(0, false, 123);
	for (p = 0; p < 50; p++) {
		ck_assert_int_eq(send_tcp(IP(10, 9, 2, 1), (__u16)(40000 + p), 0x02, &got),
				 TC_ACT_OK);
		ck_assert(lb_ip_eq(&got, &backends[0][123].addr));
	}
	drop_set(0);
	put_set(0, false, LB_MAGLEV_NONE);
	ck_assert_int_eq(send_tcp(IP(10, 9, 2, 2), 40000, 0x02, NULL), TC_ACT_SHOT);
	/* No set of either generation: dropped too, never an inline (zero) backend. */
	drop_set(0);
	ck_assert_int_eq(send_tcp(IP(10, 9, 2, 3), 40000, 0x02, NULL), TC_ACT_SHOT);
	gstats_get(g);
	ck_assert_uint_eq(g[LB_G_DROP_NO_BACKEND], 2);
}
END_TEST

/*
 * IPv6: a set of 200 IPv6 backends with an IPv6 table only. IPv6 flows take their slot's
 * backend; an IPv4 client of the same group finds no table and no solo: dropped.
 */
START_TEST(test_ipv6_family)
{
	const struct lb_ip vip6 = ip6_of(0xfd01, 0, 1);
	__u8 in[PKT_MAX], out[PKT_MAX];
	struct lb_ct_val v;
	size_t len, out_len;
	int verdict, p, i, distinct = 0;
	bool seen[N] = {false};

	for (i = 0; i < N; i++)
		backends[0][i].addr = ip6_of(0xfd02, (__u16)(1 + i / 100), (__u16)(2 + i % 100));
	drop_set(0);
	put_set_family(0, true, 0, 1);
	put_listener6(&vip6, 80, LB_PROTO_TCP, 1, GROUP, 0);
	for (p = 0; p < 1000; p++) {
		struct lb_ip client = ip6_of(0xfd03, (__u16)(p / 100), (__u16)(2 + p % 100));
		struct pkt_spec s = {.ethertype = ETH_P_IPV6,
				     .proto = IPPROTO_TCP,
				     .sport = 20000,
				     .dport = 80,
				     .tcp_flags = 0x02};
		__u32 h = lb_flow_hash(&client, &vip6, htons(20000), htons(80), IPPROTO_TCP);
		struct lb_ip want = expected(0, h);

		memcpy(s.saddr6, &client, 16);
		memcpy(s.daddr6, &vip6, 16);
		len = pkt_build(&s, in);
		ck_assert_int_eq(run_prog(TC_IN, in, len, out, &out_len, &verdict), 0);
		ck_assert_int_eq(verdict, TC_ACT_OK);
		ck_assert(ct_get6(LB_DIR_ORIG, &client, &vip6, 20000, 80, LB_PROTO_TCP, &v));
		ck_assert_msg(lb_ip_eq(&v.nat_addr, &want), "IPv6 flow %d: not its slot's backend",
			      p);
		for (i = 0; i < N; i++)
			if (lb_ip_eq(&v.nat_addr, &backends[0][i].addr) && !seen[i]) {
				seen[i] = true;
				distinct++;
			}
	}
	ck_assert_int_gt(distinct, 150);
	/* The IPv4 listener of the same group: no IPv4 table, no IPv4 backend. */
	ck_assert_int_eq(send_tcp(IP(10, 9, 3, 1), 20000, 0x02, NULL), TC_ACT_SHOT);
}
END_TEST

static Suite *gset_suite(void)
{
	Suite *s = suite_create("bpf-gset");
	TCase *tc = tcase_create("gset");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_flows_take_slot);
	tcase_add_test(tc, test_least_conn_two_choices);
	tcase_add_test(tc, test_generations_never_mix);
	tcase_add_test(tc, test_solo_and_none);
	tcase_add_test(tc, test_ipv6_family);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(gset_suite);
}
