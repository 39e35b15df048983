// SPDX-License-Identifier: MIT
/*
 * Unit tests of common/lb_select.h, the flow hash and weighted choice the datapath compiles
 * in: shares follow the weights, weight 0 is never chosen, an empty group says so, and the
 * hash depends on every field of the flow. Pure user space, no privileges needed.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lb_ip.h"
#include "lb_select.h"

#define N(a)  (sizeof(a) / sizeof((a)[0]))
#define FLOWS 100000

/* xorshift32: a fixed seed keeps every run identical. */
static __u32 rnd_state;

static __u32 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static struct lb_group group_of(const __u16 *weights, __u32 n)
{
	struct lb_group g = {.n_backends = n};
	__u32 i;

	for (i = 0; i < n; i++) {
		g.backends[i].addr = lb_ip_from_v4(htonl(0x0a020000 + i));
		g.backends[i].port = htons(8080);
		g.backends[i].weight = weights[i];
		g.backends[i].target_id = i;
	}
	return g;
}

/*
 * The hash of the i-th of FLOWS flows: neighbouring clients and neighbouring ports, the
 * least random input there is, so the shares also show the hash spreads it.
 */
static __u32 flow_hash_of(__u32 i)
{
	struct lb_ip s = lb_ip_from_v4(htonl(0xc6120000 + (i >> 4))),
		     d = lb_ip_from_v4(htonl(0x0a010001));

	return lb_flow_hash(&s, &d, htons(32768 + (i & 15)), htons(80), LB_PROTO_TCP);
}

static const struct {
	__u16 w[LB_GROUP_INLINE];
	__u32 n;
} tables[] = {
	{{1}, 1},
	{{1, 1}, 2},
	{{50, 30, 20}, 3},
	{{1, 2, 3, 4, 5, 6, 7, 8}, 8},
	{{0, 100, 0}, 3},
	{{100, 0, 0, 0, 0, 0, 0, 1}, 8},
	{{0, 0, 0, 0, 0, 0, 0, 5}, 8},
	{{65535, 65535, 1}, 3},
	{{3, 0, 7, 0, 10}, 5},
};

/* Each backend's share of FLOWS flows within 1 percentage point; weight 0 gets none. */
START_TEST(test_shares_follow_weights)
{
	struct lb_group g = group_of(tables[_i].w, tables[_i].n);
	unsigned int count[LB_GROUP_INLINE] = {}, total = 0;
	__u32 i, b;

	for (b = 0; b < g.n_backends; b++)
		total += g.backends[b].weight;
	for (i = 0; i < FLOWS; i++) {
		int idx = lb_select_backend(&g, flow_hash_of(i), true);

		ck_assert_msg(idx >= 0 && (__u32)idx < g.n_backends,
			      "table %d: flow %u got index %d of %u backends", _i, i, idx,
			      g.n_backends);
		count[idx]++;
	}
	for (b = 0; b < g.n_backends; b++) {
		double got = 100.0 * count[b] / FLOWS;
		double want = 100.0 * g.backends[b].weight / total;

		if (!g.backends[b].weight)
			ck_assert_msg(count[b] == 0,
				      "table %d: backend %u of weight 0 got %u flows", _i, b,
				      count[b]);
		ck_assert_msg(got > want - 1 && got < want + 1,
			      "table %d: backend %u (weight %u of %u) got %.2f%%, want %.2f%% +- 1",
			      _i, b, g.backends[b].weight, total, got, want);
	}
}
END_TEST

/*
 * The exact edges of the ranges: hash * total >> 32 puts the boundary of backend b at
 * ceil(cumulative weight before b * 2^32 / total).
 */
START_TEST(test_range_edges)
{
	static const __u16 w[] = {0, 50, 0, 30, 20, 0};
	struct lb_group g = group_of(w, N(w));

	ck_assert_int_eq(lb_select_backend(&g, 0, true), 1);
	ck_assert_int_eq(lb_select_backend(&g, 0x7fffffff, true), 1);
	ck_assert_int_eq(lb_select_backend(&g, 0x80000000, true), 3);
	/* 0.8 * 2^32 = 3435973836.8 */
	ck_assert_int_eq(lb_select_backend(&g, 3435973836u, true), 3);
	ck_assert_int_eq(lb_select_backend(&g, 3435973837u, true), 4);
	ck_assert_int_eq(lb_select_backend(&g, 0xffffffff, true), 4);
}
END_TEST

/* No backend of non-zero weight: -1 for every hash, whatever the group looks like. */
START_TEST(test_no_eligible_backend)
{
	static const __u16 zeros[LB_GROUP_INLINE] = {};
	static const __u16 ones[LB_GROUP_INLINE] = {1, 1, 1, 1, 1, 1, 1, 1};
	struct lb_group all_zero = group_of(zeros, LB_GROUP_INLINE);
	struct lb_group empty = group_of(ones, LB_GROUP_INLINE);
	__u32 i, h;

	empty.n_backends = 0; /* weights beyond n_backends do not count */
	rnd_state = 0x9e3779b9;
	for (i = 0; i < 10000; i++) {
		h = i < 2 ? -i : rnd();
		ck_assert_int_eq(lb_select_backend(&all_zero, h, true), -1);
		ck_assert_int_eq(lb_select_backend(&empty, h, true), -1);
	}
}
END_TEST

/* Backends past n_backends are never chosen, even when they carry a weight. */
START_TEST(test_ignores_slots_past_n)
{
	static const __u16 w[LB_GROUP_INLINE] = {1, 1, 1, 100, 100, 100, 100, 100};
	struct lb_group g = group_of(w, LB_GROUP_INLINE);
	__u32 i;

	g.n_backends = 3;
	for (i = 0; i < FLOWS; i++) {
		int idx = lb_select_backend(&g, flow_hash_of(i), true);

		ck_assert_msg(idx >= 0 && idx < 3, "flow %u got index %d of 3 backends", i, idx);
	}
}
END_TEST

/*
 * n_backends above LB_GROUP_INLINE is a large group, whose backends are not inline: the
 * cumulative weights never pick one of the inline slots for it (lb_gset.h chooses).
 */
START_TEST(test_large_group_not_inline)
{
	static const __u16 w[LB_GROUP_INLINE] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct lb_group g8 = group_of(w, LB_GROUP_INLINE), big = g8;
	__u32 i;

	for (i = 0; i < FLOWS; i++) {
		__u32 h = flow_hash_of(i);

		big.n_backends = LB_GROUP_INLINE + 1 + i % 1000;
		ck_assert_int_eq(lb_select_backend(&big, h, true), -1);
		ck_assert_int_ge(lb_select_backend(&g8, h, true), 0);
	}
}
END_TEST

struct flow {
	__be32 saddr, daddr;
	__be16 sport, dport;
	__u8 proto;
};

static __u32 hash(const struct flow *f)
{
	struct lb_ip s = lb_ip_from_v4(f->saddr), d = lb_ip_from_v4(f->daddr);

	return lb_flow_hash(&s, &d, f->sport, f->dport, f->proto);
}

START_TEST(test_hash_deterministic)
{
	struct flow f = {htonl(0xc6336464), htonl(0x0a010001), htons(40000), htons(80), 6};
	__u32 h = hash(&f);
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(hash(&f), h);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * A known answer (computed apart from this header, from murmur3's finaliser on the
	 * little-endian loads the datapath makes, over the IPv4-mapped addresses): changing the
	 * hash re-balances every flow that loses its conntrack entry across an upgrade, so it
	 * must be a deliberate change of this value (the last: BPF ABI 4, IPv6).
	 */
	ck_assert_uint_eq(h, 0x2bafd42f);
#endif
}
END_TEST

static const char *const field_names[] = {"saddr", "daddr", "sport", "dport", "proto"};

/* Flip bit @bit of field @field of @f. */
static void flip(struct flow *f, int field, int bit)
{
	switch (field) {
	case 0:
		f->saddr ^= 1u << bit;
		break;
	case 1:
		f->daddr ^= 1u << bit;
		break;
	case 2:
		f->sport ^= 1u << bit;
		break;
	case 3:
		f->dport ^= 1u << bit;
		break;
	default:
		f->proto ^= 1u << bit;
		break;
	}
}

/*
 * Every bit of every field changes the hash (each field enters through a bijection, so this
 * must hold for all flows), and on average about half the hash bits (avalanche: what lets
 * neighbouring ports spread over the weights).
 */
START_TEST(test_hash_every_field)
{
	static const int bits[] = {32, 32, 16, 16, 8};
	const int samples = 1000;
	int field = _i, bit, s;
	double flipped = 0, avg;

	rnd_state = 0x12345678 + field;
	for (s = 0; s < samples; s++) {
		struct flow f = {rnd(), rnd(), rnd(), rnd(), rnd()};
		__u32 h = hash(&f);

		for (bit = 0; bit < bits[field]; bit++) {
			struct flow g = f;
			__u32 h2;

			flip(&g, field, bit);
			h2 = hash(&g);
			ck_assert_msg(h2 != h, "flipping bit %d of %s left the hash %08x unchanged",
				      bit, field_names[field], h);
			flipped += __builtin_popcount(h ^ h2);
		}
	}
	avg = flipped / (samples * bits[field]);
	ck_assert_msg(avg > 15 && avg < 17,
		      "a flipped bit of %s changes %.2f hash bits on average, want about 16",
		      field_names[field], avg);
}
END_TEST

/* The two directions of a flow and swapped ports are different flows. */
START_TEST(test_hash_order_matters)
{
	int s;

	rnd_state = 0xcafef00d;
	for (s = 0; s < 10000; s++) {
		struct flow f = {rnd(), rnd(), rnd(), rnd(), LB_PROTO_TCP};
		struct flow rev = {f.daddr, f.saddr, f.dport, f.sport, f.proto};
		struct flow swp = {f.saddr, f.daddr, f.dport, f.sport, f.proto};

		if (f.saddr == f.daddr || f.sport == f.dport)
			continue;
		ck_assert_uint_ne(hash(&f), hash(&rev));
		ck_assert_uint_ne(hash(&f), hash(&swp));
	}
}
END_TEST

/* live_a / w_a < live_b / w_b, exactly, at the extremes of both. */
START_TEST(test_lc_less)
{
	ck_assert(lb_lc_less(1, 1, 2, 1));
	ck_assert(!lb_lc_less(2, 1, 1, 1));
	ck_assert(!lb_lc_less(2, 2, 1, 1)); /* equal per unit: not less */
	ck_assert(lb_lc_less(3, 3, 2, 1));
	ck_assert(lb_lc_less(0, 1, 1, 65535));
	ck_assert(!lb_lc_less(1, 65535, 0, 1));
	/* No overflow: counts far beyond any conntrack table, the largest weights. */
	ck_assert(lb_lc_less(1ull << 40, 65535, (1ull << 40) + 1, 65535));
	ck_assert(lb_lc_less((1ull << 40) * 2, 65535, (1ull << 40), 32767));
}
END_TEST

/*
 * A target's load: a confirmed flow weighs LB_LC_CONFIRMED, an unconfirmed one 1; a
 * negative part (a lost race) 0; each part at most LB_LC_PART_MAX, so that the largest
 * load times the largest weight still compares exactly.
 */
START_TEST(test_lc_load)
{
	const __u64 max = LB_LC_PART_MAX * (LB_LC_CONFIRMED + 1);

	ck_assert_uint_eq(LB_LC_CONFIRMED, 16);
	ck_assert_uint_eq(lb_lc_load(0, 0), 0);
	ck_assert_uint_eq(lb_lc_load(1, 0), 16);
	ck_assert_uint_eq(lb_lc_load(0, 1), 1);
	ck_assert_uint_eq(lb_lc_load(2, 3), 35);
	ck_assert_uint_eq(lb_lc_load(-1, 3), 3);
	ck_assert_uint_eq(lb_lc_load(2, -5), 32);
	ck_assert_uint_eq(lb_lc_load(INT64_MAX, INT64_MAX), max);
	ck_assert_uint_eq(lb_lc_load(1ll << 40, 0), LB_LC_PART_MAX * LB_LC_CONFIRMED);
	/* The largest loads and weights: still exact (no product wraps). */
	ck_assert(lb_lc_less(max - 1, 65535, max, 65535));
	ck_assert(!lb_lc_less(max, 65535, max - 1, 65535));
	ck_assert(lb_lc_less(max, 65535, max, 65534));
	ck_assert(!lb_lc_less(max, 65534, max, 65535));
}
END_TEST

/*
 * A SYN flood's entries (unconfirmed) weigh 1/LB_LC_CONFIRMED of a real flow: a target with
 * 50 of them and no real flow is still less loaded than one with 10 real flows (50 < 160),
 * where counting all flows alike (50 > 10) would send the new flows to the busy one. The
 * flood hides the difference only once it placed LB_LC_CONFIRMED entries per real flow.
 */
START_TEST(test_lc_flood_weighs_little)
{
	static const __u16 w[] = {1, 1, 2};
	struct lb_group g = group_of(w, N(w));
	__u64 live[LB_GROUP_INLINE] = {0};
	__u32 n[LB_GROUP_INLINE] = {0}, i;

	live[0] = lb_lc_load(0, 50);  /* flooded, idle */
	live[1] = lb_lc_load(10, 0);  /* 10 real flows */
	live[2] = lb_lc_load(20, 20); /* weight 2: 170 per unit */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(lb_lc_select(&g, live, flow_hash_of(i), true), 0);
	/* 159 flood entries: still less; 160: a tie, which the hash breaks both ways. */
	live[0] = lb_lc_load(0, 159);
	ck_assert_int_eq(lb_lc_select(&g, live, flow_hash_of(1), true), 0);
	live[0] = lb_lc_load(0, 160);
	for (i = 0; i < 1000; i++)
		n[lb_lc_select(&g, live, flow_hash_of(i), true)]++;
	ck_assert_msg(n[0] > 400 && n[1] > 400 && n[2] == 0, "tied at 160: %u %u %u", n[0], n[1],
		      n[2]);
	/* A burst of unconfirmed flows over idle targets spreads at once, by weight. */
	memset(live, 0, sizeof(live));
	for (i = 0; i < 100; i++)
		live[lb_lc_select(&g, live, flow_hash_of(i), true)]++;
	ck_assert_uint_eq(live[0], 25);
	ck_assert_uint_eq(live[1], 25);
	ck_assert_uint_eq(live[2], 50);
}
END_TEST

/*
 * Flows that never close, placed one by one: least connections keeps every backend's count
 * within one flow of its weight's share, whatever the hashes; weight 0 gets none.
 */
START_TEST(test_lc_counts_follow_weights)
{
	struct lb_group g = group_of(tables[_i].w, tables[_i].n);
	__u64 live[LB_GROUP_INLINE] = {0};
	__u32 i, total = 0;
	int idx;

	for (i = 0; i < tables[_i].n; i++)
		total += tables[_i].w[i];
	rnd_state = 0x1234567u;
	for (i = 0; i < 10000; i++) {
		idx = lb_lc_select(&g, live, rnd(), true);
		ck_assert_int_ge(idx, 0);
		ck_assert_uint_gt(tables[_i].w[idx], 0);
		live[idx]++;
	}
	for (i = 0; i < tables[_i].n; i++) {
		double want = 10000.0 * tables[_i].w[i] / total;

		ck_assert_msg(live[i] + 1.0 >= want && live[i] <= want + 1.0,
			      "table %d backend %u (weight %u): %llu flows, want %.1f", _i, i,
			      tables[_i].w[i], (unsigned long long)live[i], want);
	}
}
END_TEST

/* Equal counts: the hash breaks the tie, evenly over the backends that have a weight. */
START_TEST(test_lc_ties_by_hash)
{
	static const __u16 w[] = {1, 0, 5, 1, 0, 2};
	struct lb_group g = group_of(w, N(w));
	__u64 live[LB_GROUP_INLINE] = {7, 0, 7, 7, 0, 7};
	__u32 n[LB_GROUP_INLINE] = {0}, i;

	/* Per unit of weight 7, 1.4, 7, 3.5: backend 2 wins whatever the hash. */
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(lb_lc_select(&g, live, flow_hash_of(i), true), 2);
	live[2] = 35; /* 7 per unit: four equal */
	live[5] = 14;
	for (i = 0; i < FLOWS; i++)
		n[lb_lc_select(&g, live, flow_hash_of(i), true)]++;
	ck_assert_uint_eq(n[1] + n[4], 0);
	for (i = 0; i < N(w); i++)
		if (w[i])
			ck_assert_msg(n[i] > FLOWS / 4 - FLOWS / 100 &&
					      n[i] < FLOWS / 4 + FLOWS / 100,
				      "backend %u took %u of %u tied flows", i, n[i], FLOWS);
	/* The same hash, the same choice. */
	ck_assert_int_eq(lb_lc_select(&g, live, 12345, true), lb_lc_select(&g, live, 12345, true));
}
END_TEST

START_TEST(test_lc_no_eligible_backend)
{
	static const __u16 zero[] = {0, 0, 0};
	static const __u16 one[] = {1, 1};
	struct lb_group g = group_of(zero, N(zero));
	__u64 live[LB_GROUP_INLINE] = {0};

	ck_assert_int_eq(lb_lc_select(&g, live, 1, true), -1);
	/* IPv4 backends give an IPv6 client nobody. */
	g = group_of(one, N(one));
	ck_assert_int_eq(lb_lc_select(&g, live, 1, false), -1);
	ck_assert_int_ge(lb_lc_select(&g, live, 1, true), 0);
	g.n_backends = 0;
	ck_assert_int_eq(lb_lc_select(&g, live, 1, true), -1);
	g.n_backends = LB_GROUP_INLINE + 1; /* large: never inline */
	ck_assert_int_eq(lb_lc_select(&g, live, 1, true), -1);
}
END_TEST

static Suite *select_suite(void)
{
	Suite *s = suite_create("select");
	TCase *tc;

	tc = tcase_create("weights");
	tcase_add_loop_test(tc, test_shares_follow_weights, 0, N(tables));
	tcase_add_test(tc, test_range_edges);
	tcase_add_test(tc, test_no_eligible_backend);
	tcase_add_test(tc, test_ignores_slots_past_n);
	tcase_add_test(tc, test_large_group_not_inline);
	suite_add_tcase(s, tc);

	tc = tcase_create("least-connections");
	tcase_add_test(tc, test_lc_less);
	tcase_add_test(tc, test_lc_load);
	tcase_add_test(tc, test_lc_flood_weighs_little);
	tcase_add_loop_test(tc, test_lc_counts_follow_weights, 0, N(tables));
	tcase_add_test(tc, test_lc_ties_by_hash);
	tcase_add_test(tc, test_lc_no_eligible_backend);
	suite_add_tcase(s, tc);

	tc = tcase_create("hash");
	tcase_add_test(tc, test_hash_deterministic);
	tcase_add_loop_test(tc, test_hash_every_field, 0, N(field_names));
	tcase_add_test(tc, test_hash_order_matters);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(select_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
