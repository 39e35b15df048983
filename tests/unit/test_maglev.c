// SPDX-License-Identifier: MIT
/*
 * The weighted Maglev table (daemon/policy/maglev.c), over random groups drawn from a
 * seeded generator so every run checks the same groups: each target's share of slots,
 * what removing a target moves, determinism, weight 0. Prints the figures docs/datapath.md
 * quotes (worst balance, worst and mean disruption, build times).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"

#define M_DEF	 LB_MAGLEV_SIZE_DEFAULT
#define MAX_N	 256
#define N_GROUPS 200

/* Digests of two tables, recorded once (test_golden_tables). */
#define GOLDEN_50_30_20	       0x10844339c5217876ull
#define GOLDEN_50_30_20_SEEDED 0x34a396bb4a13c126ull

static const uint32_t all_sizes[] = {LB_MAGLEV_SIZE_SMALL, LB_MAGLEV_SIZE_MEDIUM,
				     LB_MAGLEV_SIZE_DEFAULT, LB_MAGLEV_SIZE_LARGE};

/* splitmix64: a small generator whose sequence is the same everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/*
 * @n targets with distinct identities (half IPv4, half IPv6) and weights 1..1000, each
 * 0 with probability @zero_pct percent.
 */
static void random_group(struct lb_maglev_target *t, size_t n, unsigned int zero_pct)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		do {
			uint64_t a = rnd(), b = rnd();

			if (rnd() & 1) {
				lb_maglev_target_v4(&t[i], (uint32_t)a, (uint16_t)b);
			} else {
				memcpy(t[i].addr, &a, 8);
				memcpy(t[i].addr + 8, &b, 8);
				t[i].port = (uint16_t)(b >> 48);
			}
			for (j = 0; j < i; j++)
				if (!memcmp(t[j].addr, t[i].addr, 16) && t[j].port == t[i].port)
					break;
		} while (j < i);
		t[i].weight = rnd_below(100) < zero_pct ? 0 : 1 + rnd_below(1000);
	}
}

/* Slots per target index. */
static void count_slots(const uint16_t *table, uint32_t m, size_t n, uint32_t *slots)
{
	uint32_t j;

	memset(slots, 0, n * sizeof(*slots));
	for (j = 0; j < m; j++) {
		/* Plain checks in per-slot loops: each ck_assert costs a system call. */
		if (table[j] >= n)
			ck_abort_msg("slot %u names %u of %zu targets", j, table[j], n);
		slots[table[j]]++;
	}
}

static uint16_t *new_table(uint32_t m)
{
	uint16_t *t = malloc(m * sizeof(*t));

	ck_assert_ptr_nonnull(t);
	return t;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Balance: every target owns its exact share M * w / W rounded up or down, so it is within
 * 100/M percentage points of its weight share (0.024 at M = 4093, the smallest size) and
 * the 0.5 point bound holds for every size and any N.
 */
START_TEST(test_balance)
{
	static struct lb_maglev_target t[MAX_N];
	uint32_t slots[MAX_N];
	double worst_pp = 0;
	size_t s;
	int g;

	rng_state = 1;
	for (s = 0; s < sizeof(all_sizes) / sizeof(all_sizes[0]); s++) {
		uint32_t m = all_sizes[s];
		uint16_t *table = new_table(m);
		int groups = m == M_DEF ? N_GROUPS : N_GROUPS / 4;

		for (g = 0; g < groups; g++) {
			size_t n = 1 + rnd_below(MAX_N), i, live = 0;
			uint64_t sum = 0;
			int owners;

			random_group(t, n, 20);
			for (i = 0; i < n; i++) {
				sum += t[i].weight;
				live += t[i].weight > 0;
			}
			owners = lb_maglev_build(t, n, (uint32_t)rnd(), m, table);
			if (!sum) {
				ck_assert_int_eq(owners, 0);
				continue;
			}
			ck_assert_int_gt(owners, 0);
			ck_assert_uint_le((size_t)owners, live);
			count_slots(table, m, n, slots);
			for (i = 0; i < n; i++) {
				double exact = (double)m * t[i].weight / sum;
				double pp = 100.0 * (slots[i] - exact) / m;

				if (!(slots[i] + 1 > exact && slots[i] < exact + 1))
					ck_abort_msg(
						"M=%u n=%zu target %zu: %u slots for a share of %.3f",
						m, n, i, slots[i], exact);
				if (!(pp < 0.5 && pp > -0.5))
					ck_abort_msg("M=%u n=%zu target %zu: %.3f pp off", m, n, i,
						     pp);
				if (m == M_DEF && (pp > worst_pp || -pp > worst_pp))
					worst_pp = pp > 0 ? pp : -pp;
			}
		}
		free(table);
	}
	printf("balance at M=%u, %d groups of 1..%d targets: worst %.5f percentage points\n", M_DEF,
	       N_GROUPS, MAX_N, worst_pp);
}
END_TEST

/* Index @i of @t after removing index @gone. */
static size_t shifted(size_t i, size_t gone)
{
	return i > gone ? i - 1 : i;
}

/*
 * Disruption at the default size: removing one target of 2..256 moves its own slots and at
 * most 1% of the others' (measured worst about 0.8%, docs/datapath.md).
 */
START_TEST(test_remove_one)
{
	static struct lb_maglev_target t[MAX_N], rest[MAX_N];
	uint16_t *before = new_table(M_DEF), *after = new_table(M_DEF);
	double worst = 0, total = 0;
	size_t worst_n = 0;
	int g, measured = 0;

	rng_state = 2;
	for (g = 0; g < N_GROUPS; g++) {
		size_t n = 2 + rnd_below(MAX_N - 1), gone, i;
		uint32_t seed = (uint32_t)rnd(), j, others = 0, moved = 0;
		double pct;

		random_group(t, n, 20);
		gone = rnd_below((uint32_t)n);
		if (!t[gone].weight) /* removing a target without slots would move nothing */
			t[gone].weight = 1 + rnd_below(1000);
		if (lb_maglev_build(t, n, seed, M_DEF, before) < 2)
			continue; /* nobody left to take its slots */
		for (i = 0; i < n; i++)
			if (i != gone)
				rest[shifted(i, gone)] = t[i];
		ck_assert_int_gt(lb_maglev_build(rest, n - 1, seed, M_DEF, after), 0);
		for (j = 0; j < M_DEF; j++) {
			if (before[j] == gone) {
				if (after[j] == LB_MAGLEV_EMPTY)
					ck_abort_msg("slot %u left empty", j);
				continue;
			}
			others++;
			moved += after[j] != shifted(before[j], gone);
		}
		pct = 100.0 * moved / others;
		ck_assert_msg(pct <= 1.0,
			      "n=%zu: removing target %zu moved %.3f%% of the others' slots", n,
			      gone, pct);
		total += pct;
		measured++;
		if (pct > worst) {
			worst = pct;
			worst_n = n;
		}
	}
	printf("removing 1 of 2..%d targets at M=%u (%d groups): others' slots moved: mean %.3f%%, "
	       "worst %.3f%% (n=%zu)\n",
	       MAX_N, M_DEF, measured, total / measured, worst, worst_n);
	free(before);
	free(after);
}
END_TEST

/* Same inputs, same bytes; shuffled inputs, the same owner in every slot. */
START_TEST(test_deterministic_and_order_free)
{
	static struct lb_maglev_target t[MAX_N], shuffled[MAX_N];
	uint16_t *a = new_table(M_DEF), *b = new_table(M_DEF);
	size_t perm[MAX_N], i;
	uint32_t j;
	int g;

	rng_state = 3;
	for (g = 0; g < 20; g++) {
		size_t n = 1 + rnd_below(MAX_N);
		uint32_t seed = (uint32_t)rnd();

		random_group(t, n, 20);
		lb_maglev_build(t, n, seed, M_DEF, a);
		lb_maglev_build(t, n, seed, M_DEF, b);
		ck_assert_mem_eq(a, b, M_DEF * sizeof(*a));

		for (i = 0; i < n; i++)
			perm[i] = i;
		for (i = n; i > 1; i--) { /* Fisher-Yates */
			size_t k = rnd_below((uint32_t)i), tmp = perm[i - 1];

			perm[i - 1] = perm[k];
			perm[k] = tmp;
		}
		for (i = 0; i < n; i++)
			shuffled[i] = t[perm[i]];
		lb_maglev_build(shuffled, n, seed, M_DEF, b);
		for (j = 0; j < M_DEF; j++)
			if (a[j] != (b[j] == LB_MAGLEV_EMPTY ? b[j] : perm[b[j]]))
				ck_abort_msg("slot %u: %u unshuffled, %u shuffled", j, a[j], b[j]);
	}
	free(a);
	free(b);
}
END_TEST

/* FNV-1a over the table's bytes, little-endian whatever the host. */
static uint64_t table_digest(const uint16_t *table, uint32_t m)
{
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t j;

	for (j = 0; j < m; j++) {
		h = (h ^ (table[j] & 0xff)) * 0x100000001b3ull;
		h = (h ^ (table[j] >> 8)) * 0x100000001b3ull;
	}
	return h;
}

/*
 * Every machine builds these very bytes: the digests were recorded once, so a change of
 * hash, rounding or tie-break, or a host that computes differently, fails here. A change
 * on purpose moves every lbd's flows: it must say so in its commit.
 */
START_TEST(test_golden_tables)
{
	struct lb_maglev_target t[3];
	uint16_t *table = new_table(M_DEF);

	lb_maglev_target_v4(&t[0], 0x0100000a, 8080); /* 10.0.0.1 */
	lb_maglev_target_v4(&t[1], 0x0200000a, 8080);
	lb_maglev_target_v4(&t[2], 0x0300000a, 8080);
	t[0].weight = 50;
	t[1].weight = 30;
	t[2].weight = 20;
	ck_assert_int_eq(lb_maglev_build(t, 3, 0, M_DEF, table), 3);
	printf("golden 50/30/20 seed 0: %016llx\n", (unsigned long long)table_digest(table, M_DEF));
	ck_assert_uint_eq(table_digest(table, M_DEF), GOLDEN_50_30_20);
	ck_assert_int_eq(lb_maglev_build(t, 3, 0xdeadbeef, M_DEF, table), 3);
	printf("golden 50/30/20 seed 0xdeadbeef: %016llx\n",
	       (unsigned long long)table_digest(table, M_DEF));
	ck_assert_uint_eq(table_digest(table, M_DEF), GOLDEN_50_30_20_SEEDED);
	free(table);
}
END_TEST

/*
 * Only ratios matter: 50/30/20 and 5/3/2 give one table (so a percentage group reads the
 * same as relative weights), and so does the composer's x100 scale.
 */
START_TEST(test_scale_free)
{
	struct lb_maglev_target t[3];
	uint16_t *a = new_table(M_DEF), *b = new_table(M_DEF);
	const uint32_t w[3] = {5, 3, 2}, scale[] = {10, 100, 1000 * 100};
	size_t s;
	int i;

	for (i = 0; i < 3; i++) {
		lb_maglev_target_v4(&t[i], 0x0100000a + ((uint32_t)i << 24), 443);
		t[i].weight = w[i];
	}
	lb_maglev_build(t, 3, 7, M_DEF, a);
	for (s = 0; s < sizeof(scale) / sizeof(scale[0]); s++) {
		for (i = 0; i < 3; i++)
			t[i].weight = w[i] * scale[s];
		lb_maglev_build(t, 3, 7, M_DEF, b);
		ck_assert_mem_eq(a, b, M_DEF * sizeof(*a));
	}
	free(a);
	free(b);
}
END_TEST

START_TEST(test_seed_matters)
{
	static struct lb_maglev_target t[16];
	uint16_t *a = new_table(M_DEF), *b = new_table(M_DEF);
	uint32_t j, same = 0;

	rng_state = 4;
	random_group(t, 16, 0);
	lb_maglev_build(t, 16, 1, M_DEF, a);
	lb_maglev_build(t, 16, 2, M_DEF, b);
	for (j = 0; j < M_DEF; j++)
		same += a[j] == b[j];
	/* Independent tables agree on about sum(share^2) of the slots: a few percent here. */
	ck_assert_uint_lt(same, M_DEF / 4);
	free(a);
	free(b);
}
END_TEST

/* Weight 0 owns nothing; nothing weighted leaves an empty table the caller can see. */
START_TEST(test_weight_zero)
{
	struct lb_maglev_target t[4];
	uint16_t *table = new_table(M_DEF);
	uint32_t slots[4], j;
	int i;

	for (i = 0; i < 4; i++) {
		lb_maglev_target_v4(&t[i], 0x0100000a + ((uint32_t)i << 24), 80);
		t[i].weight = i % 2 ? 0 : 10;
	}
	ck_assert_int_eq(lb_maglev_build(t, 4, 0, M_DEF, table), 2);
	count_slots(table, M_DEF, 4, slots);
	ck_assert_uint_eq(slots[1], 0);
	ck_assert_uint_eq(slots[3], 0);
	ck_assert_uint_eq(slots[0] + slots[2], M_DEF);

	t[0].weight = t[2].weight = 0;
	ck_assert_int_eq(lb_maglev_build(t, 4, 0, M_DEF, table), 0);
	for (j = 0; j < M_DEF; j++)
		if (table[j] != LB_MAGLEV_EMPTY)
			ck_abort_msg("slot %u not empty", j);
	ck_assert_int_eq(lb_maglev_build(NULL, 0, 0, M_DEF, table), 0);
	ck_assert_uint_eq(table[M_DEF - 1], LB_MAGLEV_EMPTY);

	t[0].weight = 1; /* one target takes everything */
	ck_assert_int_eq(lb_maglev_build(t, 4, 0, M_DEF, table), 1);
	count_slots(table, M_DEF, 4, slots);
	ck_assert_uint_eq(slots[0], M_DEF);
	free(table);
}
END_TEST

START_TEST(test_refused)
{
	struct lb_maglev_target t[2];
	uint16_t *table = new_table(LB_MAGLEV_SIZE_LARGE);

	lb_maglev_target_v4(&t[0], 0x0100000a, 80);
	t[0].weight = 1;
	t[1] = t[0];
	ck_assert_int_eq(lb_maglev_build(t, 2, 0, M_DEF, table), -EINVAL); /* same identity */
	t[1].port = 81;
	ck_assert_int_eq(lb_maglev_build(t, 2, 0, M_DEF, table), 2);
	ck_assert_int_eq(lb_maglev_build(t, 2, 0, 65536, table), -EINVAL); /* not prime */
	ck_assert_int_eq(lb_maglev_build(t, 2, 0, 65521, table), -EINVAL); /* prime, not offered */
	ck_assert_int_eq(lb_maglev_build(t, LB_MAGLEV_MAX_TARGETS + 1, 0, M_DEF, table), -E2BIG);
	ck_assert(lb_maglev_size_ok(M_DEF) && !lb_maglev_size_ok(0));
	free(table);
}
END_TEST

/* Build times, printed for docs/datapath.md (no bound: the machine is shared). */
START_TEST(test_build_time)
{
	static struct lb_maglev_target t[MAX_N];
	size_t s;

	rng_state = 5;
	random_group(t, MAX_N, 0);
	for (s = 0; s < sizeof(all_sizes) / sizeof(all_sizes[0]); s++) {
		uint32_t m = all_sizes[s];
		uint16_t *table = new_table(m);
		double best = 1e9;
		int rep;

		for (rep = 0; rep < 5; rep++) {
			double t0 = now_ms();

			lb_maglev_build(t, MAX_N, (uint32_t)rep, m, table);
			if (now_ms() - t0 < best)
				best = now_ms() - t0;
		}
		printf("build: %d targets, M=%u: %.2f ms (best of 5)\n", MAX_N, m, best);
		free(table);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maglev");
	TCase *tc = tcase_create("maglev");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_balance);
	tcase_add_test(tc, test_remove_one);
	tcase_add_test(tc, test_deterministic_and_order_free);
	tcase_add_test(tc, test_golden_tables);
	tcase_add_test(tc, test_scale_free);
	tcase_add_test(tc, test_seed_matters);
	tcase_add_test(tc, test_weight_zero);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_build_time);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
