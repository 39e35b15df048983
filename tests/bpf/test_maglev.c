// SPDX-License-Identifier: MIT
/*
 * Maglev selection in the datapath (BPF_PROG_TEST_RUN): a new flow takes the backend of
 * slot hash % M of its group's table (lb_maglev), a table swap (new generation, group
 * flipped) moves no established flow, and source-address affinity: every port of a
 * client, and with a /24 prefix every client of the /24, takes one slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "dpfix.h"
#include "lb_select.h"
#include "pktbuild.h"

#define VIP   IP(10, 0, 0, 1)
#define GROUP 1
#define M     4093 /* the smallest table size lbd offers */

static struct lb_group group;
static __u16 table[2][M];

/* Table @gen: a pseudo-random owner per slot, different for each generation. */
static void fill_table(int gen)
{
	__u32 s, x = 0x1234567u + (__u32)gen * 77;

	for (s = 0; s < M; s++) {
		x = x * 1103515245u + 12345u;
		table[gen][s] = (__u16)((x >> 16) % group.n_backends);
	}
}

/* Insert table @gen as lbd does: a fresh inner map, written whole, then put in lb_maglev. */
static void put_table(int gen)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	__u32 n = (M + 3) / 4, i, key = LB_MAGLEV_KEY(GROUP, gen, 0);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t", 4, sizeof(struct lb_maglev_slots), n, &o);

	ck_assert_int_ge(fd, 0);
	for (i = 0; i < n; i++) {
		struct lb_maglev_slots v;
		int k;

		for (k = 0; k < 4; k++)
			v.s[k] = i * 4 + k < M ? table[gen][i * 4 + k] : LB_MAGLEV_NONE;
		ck_assert_int_eq(bpf_map_update_elem(fd, &i, &v, BPF_ANY), 0);
	}
	ck_assert_int_eq(bpf_map_update_elem(map_fd(skel->maps.lb_maglev), &key, &fd, BPF_ANY), 0);
	close(fd);
}

static void use_gen(int gen)
{
	group.table_size = M;
	group.table_gen = (__u32)gen;
	put_group_def(GROUP, &group);
}

static void setup(void)
{
	__u32 key;
	int gen;

	reset_maps();
	for (gen = 0; gen < 2; gen++) {
		key = LB_MAGLEV_KEY(GROUP, gen, 0);
		bpf_map_delete_elem(map_fd(skel->maps.lb_maglev), &key);
	}
	memset(&group, 0, sizeof(group));
	three_backends(&group, 8080);
	group.backends[2].weight = 5; /* the table, not the weights, decides */
	fill_table(0);
	fill_table(1);
	put_table(0);
	use_gen(0);
}

/* Send a TCP segment from @client:@sport; the backend index its flow got (conntrack). */
static int send_tcp(__be32 client, __u16 sport, __u8 flags)
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
	__u32 i;

	ck_assert_int_eq(run_prog(TC_IN, in, len, out, &out_len, &verdict), 0);
	ck_assert(ct_get(LB_DIR_ORIG, client, VIP, sport, 80, IPPROTO_TCP, &v));
	for (i = 0; i < group.n_backends; i++)
		if (lb_ip_eq(&v.nat_addr, &group.backends[i].addr))
			return (int)i;
	ck_abort_msg("flow went to no backend of the group");
	return -1;
}

static int expected(int gen, __u32 hash)
{
	return table[gen][lb_maglev_slot(hash, M)];
}

static __u32 flow_hash(__be32 client, __u16 sport)
{
	struct lb_ip a = lb_ip_from_v4(client), b = lb_ip_from_v4(VIP);

	return lb_flow_hash(&a, &b, htons(sport), htons(80), IPPROTO_TCP);
}

/* A new flow takes table[hash % M]: 300 flows, and the weights say otherwise. */
START_TEST(test_new_flow_takes_slot)
{
	__u16 p;
	int differ = 0;

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
	for (p = 0; p < 300; p++) {
		__u32 h = flow_hash(IP(10, 9, 0, 1), (__u16)(20000 + p));

		ck_assert_int_eq(send_tcp(IP(10, 9, 0, 1), (__u16)(20000 + p), 0x02),
				 expected(0, h));
		differ += expected(0, h) != lb_select_backend(&group, h, true);
	}
	ck_assert_int_gt(differ, 0); /* the test can tell a table from the weights */
}
END_TEST

/* After a swap, established flows keep their backend; new ones follow the new table. */
START_TEST(test_swap_keeps_flows)
{
	int before[200], moved = 0;
	__u16 p;

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
	for (p = 0; p < 200; p++)
		before[p] = send_tcp(IP(10, 9, 0, 2), (__u16)(30000 + p), 0x02);
	put_table(1);
	use_gen(1);
	for (p = 0; p < 200; p++) {
		__u32 h = flow_hash(IP(10, 9, 0, 2), (__u16)(30000 + p));

		ck_assert_int_eq(send_tcp(IP(10, 9, 0, 2), (__u16)(30000 + p), 0x10), before[p]);
		moved += expected(1, h) != before[p];
		/* a new client port follows generation 1 */
		h = flow_hash(IP(10, 9, 0, 2), (__u16)(40000 + p));
		ck_assert_int_eq(send_tcp(IP(10, 9, 0, 2), (__u16)(40000 + p), 0x02),
				 expected(1, h));
	}
	ck_assert_int_gt(moved, 0); /* the new table would have moved some */
}
END_TEST

/* Without the group's table (a packet racing a swap), the weights decide. */
START_TEST(test_missing_table_falls_back)
{
	__u32 h = flow_hash(IP(10, 9, 0, 3), 1234);

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, 0);
	use_gen(1); /* generation 1 was never put */
	ck_assert_int_eq(send_tcp(IP(10, 9, 0, 3), 1234, 0x02), lb_select_backend(&group, h, true));
}
END_TEST

/* "hash": "source-address": every port of a client takes the same slot. */
START_TEST(test_source_affinity)
{
	const __u32 flags = LB_LISTEN_F_HASH_SADDR | 128u << LB_LISTEN_PREFIX_SHIFT;
	int c, first, seen[3] = {0};
	__u16 p;

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, flags);
	for (c = 1; c <= 30; c++) {
		__be32 client = IP(10, 9, 1, c);
		struct lb_ip a = lb_ip_from_v4(client);

		first = send_tcp(client, 20000, 0x02);
		ck_assert_int_eq(first, expected(0, lb_source_hash(&a, 128)));
		for (p = 1; p < 10; p++)
			ck_assert_int_eq(send_tcp(client, (__u16)(20000 + p * 7), 0x02), first);
		seen[first]++;
	}
	/* ... while different clients still spread */
	ck_assert_int_lt(seen[0], 30);
	ck_assert_int_lt(seen[1], 30);
}
END_TEST

/* With hash-prefix 24, the clients of a /24 share a slot; another /24 may not. */
START_TEST(test_source_prefix24)
{
	const __u32 flags = LB_LISTEN_F_HASH_SADDR | (96u + 24) << LB_LISTEN_PREFIX_SHIFT;
	int net, c, first, nets_differ = 0, prev = -1;

	put_listener(VIP, 80, IPPROTO_TCP, 1, GROUP, flags);
	for (net = 0; net < 20; net++) {
		struct lb_ip a = lb_ip_from_v4(IP(10, 20, net, 0));

		first = send_tcp(IP(10, 20, net, 1), 5555, 0x02);
		ck_assert_int_eq(first, expected(0, lb_source_hash(&a, 96 + 24)));
		for (c = 2; c < 255; c += 23)
			ck_assert_int_eq(send_tcp(IP(10, 20, net, c), (__u16)(5000 + c), 0x02),
					 first);
		nets_differ += prev >= 0 && prev != first;
		prev = first;
	}
	ck_assert_int_gt(nets_differ, 0);
}
END_TEST

static Suite *maglev_suite(void)
{
	Suite *s = suite_create("bpf-maglev");
	TCase *tc = tcase_create("maglev");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_new_flow_takes_slot);
	tcase_add_test(tc, test_swap_keeps_flows);
	tcase_add_test(tc, test_missing_table_falls_back);
	tcase_add_test(tc, test_source_affinity);
	tcase_add_test(tc, test_source_prefix24);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return dpfix_main(maglev_suite);
}
