// SPDX-License-Identifier: MIT
/* The weight composer: the seed's examples, rounding, degradation, drains. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "weights.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct wcase {
	const char *desc;
	size_t n;
	struct lb_weight_input in[8];
	uint16_t want[8];
};

#define H(w)                           \
	{                              \
		(w), true, 0, false, 0 \
	} /* healthy */
#define D(w)                            \
	{                               \
		(w), false, 0, false, 0 \
	} /* down */
#define R(w, s)                          \
	{                                \
		(w), true, (s), false, 0 \
	} /* recovering at step s */
#define DR(w)                         \
	{                             \
		(w), true, 0, true, 0 \
	} /* draining */

static const struct wcase cases[] = {
	{"all healthy keeps the configuration", 3, {H(50), H(30), H(20)}, {50, 30, 20}},
	{"seed: middle one down -> 71/0/29", 3, {H(50), D(30), H(20)}, {71, 0, 29}},
	{"seed: all down keeps the configuration", 3, {D(50), D(30), D(20)}, {50, 30, 20}},
	{"recovery step 1 of 50/50 -> 79/21", 2, {H(50), R(50, 1)}, {79, 21}},
	{"recovery step 2 of 50/50 -> 67/33", 2, {H(50), R(50, 2)}, {67, 33}},
	{"recovery step 3 of 50/50 -> 57/43", 2, {H(50), R(50, 3)}, {57, 43}},
	{"recovery step 4 is full weight", 2, {H(50), R(50, 4)}, {50, 50}},
	{"single target", 1, {H(100)}, {100}},
	{"single target down keeps its weight", 1, {D(100)}, {100}},
	{"single target recovering takes everything", 1, {R(100, 1)}, {100}},
	{"weight 0 stays 0", 3, {H(0), H(60), H(40)}, {0, 60, 40}},
	{"weight 0 healthy, the weighted one down: configuration", 2, {H(0), D(100)}, {0, 100}},
	{"thirds sum to exactly 100", 3, {H(33), H(33), H(34)}, {33, 33, 34}},
	{"three equal survivors of four", 4, {H(25), H(25), H(25), D(25)}, {34, 33, 33, 0}},
	{"drain takes a target out", 3, {H(50), DR(30), H(20)}, {71, 0, 29}},
	{"drain and down: the healthy one takes all", 3, {H(50), DR(30), D(20)}, {100, 0, 0}},
	{"drained plus all others down: others keep theirs",
	 3,
	 {D(50), DR(30), D(20)},
	 {71, 0, 29}},
	{"every target draining: nothing", 2, {DR(50), DR(50)}, {0, 0}},
	{"eight targets, odd weights",
	 8,
	 {H(1), H(2), H(3), H(4), H(10), H(20), H(30), D(30)},
	 {1, 3, 4, 6, 14, 29, 43, 0}},
};

START_TEST(test_case)
{
	const struct wcase *c = &cases[_i];
	uint16_t out[8] = {0};
	unsigned int sum = 0;
	size_t k;

	lb_weights_compose(c->in, c->n, LB_WEIGHTS_PCT, out);
	for (k = 0; k < c->n; k++) {
		ck_assert_msg(out[k] == c->want[k], "'%s': target %zu got %u, want %u", c->desc, k,
			      out[k], c->want[k]);
		sum += out[k];
	}
	ck_assert_msg(sum == 100 || sum == 0, "'%s': sum %u", c->desc, sum);
}
END_TEST

/* Random inputs: always 100 (or 0 when all drain), never weight to a zero-factor target. */
START_TEST(test_random_invariants)
{
	unsigned int seed = 12345;
	int round;

	for (round = 0; round < 20000; round++) {
		struct lb_weight_input in[8];
		uint16_t out[8];
		size_t n = 1 + rand_r(&seed) % 8, k;
		unsigned int sum = 0, left = 100;
		bool any_live = false;

		for (k = 0; k < n; k++) {
			in[k].configured = k + 1 == n ? left : rand_r(&seed) % (left + 1);
			left -= in[k].configured;
			in[k].healthy = rand_r(&seed) % 3 != 0;
			in[k].recovery_step = rand_r(&seed) % 5;
			in[k].draining = rand_r(&seed) % 7 == 0;
			any_live |= !in[k].draining && in[k].configured;
		}
		lb_weights_compose(in, n, LB_WEIGHTS_PCT, out);
		for (k = 0; k < n; k++) {
			sum += out[k];
			ck_assert_msg(!in[k].draining || out[k] == 0, "draining target got %u",
				      out[k]);
			ck_assert_msg(in[k].configured || out[k] == 0, "weight-0 target got %u",
				      out[k]);
		}
		ck_assert_msg(any_live ? sum == 100 : sum == 0, "sum %u (live %d)", sum, any_live);
	}
}
END_TEST

/*
 * A relative group of 200 targets (weights 1..100): every effective weight is the exact
 * share of 10000 within one unit, nobody with a share gets 0, the sum is exactly 10000;
 * a down target's share goes to the others in proportion, a ramping one gets its step.
 */
START_TEST(test_relative_200)
{
	struct lb_weight_input in[200];
	uint16_t out[200];
	unsigned int seed = 777, cfg_sum = 0, sum, k;

	memset(in, 0, sizeof(in));
	for (k = 0; k < 200; k++) {
		in[k].configured = (uint8_t)(1 + rand_r(&seed) % 100);
		in[k].healthy = true;
		cfg_sum += in[k].configured;
	}
	in[7].configured = 1; /* the smallest share: 1 / ~10000 of the total */
	cfg_sum = 0;
	for (k = 0; k < 200; k++)
		cfg_sum += in[k].configured;
	lb_weights_compose(in, 200, LB_WEIGHTS_RELATIVE, out);
	for (k = 0, sum = 0; k < 200; k++) {
		double exact = 10000.0 * in[k].configured / cfg_sum;

		sum += out[k];
		ck_assert_msg(out[k] >= 1, "target %u (weight %u) got 0", k, in[k].configured);
		ck_assert_msg(out[k] > exact - 1.01 && out[k] < exact + 1.01,
			      "target %u: %u, exact %.2f", k, out[k], exact);
	}
	ck_assert_uint_eq(sum, 10000);

	/* Target 0 down, target 1 at recovery step 2 (half its weight). */
	in[0].healthy = false;
	in[1].recovery_step = 2;
	lb_weights_compose(in, 200, LB_WEIGHTS_RELATIVE, out);
	ck_assert_uint_eq(out[0], 0);
	{
		double rest = cfg_sum - in[0].configured - in[1].configured +
			      (in[1].configured * 50 + 50) / 100;

		for (k = 1, sum = 0; k < 200; k++) {
			double w = k == 1 ? (in[1].configured * 50 + 50) / 100 : in[k].configured;
			double exact = 10000.0 * w / rest;

			ck_assert_msg(out[k] > exact - 1.01 && out[k] < exact + 1.01,
				      "down/ramp: target %u: %u, exact %.2f", k, out[k], exact);
		}
	}
	for (k = 0, sum = 0; k < 200; k++)
		sum += out[k];
	ck_assert_uint_eq(sum, 10000);

	/* Everyone down: the configured weights stay in force (graceful degradation). */
	for (k = 0; k < 200; k++)
		in[k].healthy = false;
	in[5].draining = true;
	lb_weights_compose(in, 200, LB_WEIGHTS_RELATIVE, out);
	ck_assert_uint_eq(out[5], 0);
	for (k = 0, sum = 0; k < 200; k++)
		sum += out[k];
	ck_assert_uint_eq(sum, 10000);
	ck_assert_uint_ge(out[7], 1);
}
END_TEST

/* 256 targets of weight 100 (the most there can be): no 32-bit overflow, equal shares. */
START_TEST(test_relative_256_max)
{
	struct lb_weight_input in[256];
	uint16_t out[256];
	unsigned int k, sum = 0;

	memset(in, 0, sizeof(in));
	for (k = 0; k < 256; k++) {
		in[k].configured = 100;
		in[k].healthy = true;
	}
	lb_weights_compose(in, 256, LB_WEIGHTS_RELATIVE, out);
	for (k = 0; k < 256; k++) {
		ck_assert_msg(out[k] == 39 || out[k] == 40, "target %u: %u", k, out[k]);
		sum += out[k];
	}
	ck_assert_uint_eq(sum, 10000);
}
END_TEST

/* A rounding tie goes to the lower rank (identity order), wherever the target is listed. */
START_TEST(test_ties_by_rank)
{
	struct lb_weight_input in[4] = {{25, true, 0, false, 2},
					{25, true, 0, false, 1},
					{25, true, 0, false, 0},
					{25, false, 0, false, 3}};
	uint16_t out[4];

	lb_weights_compose(in, 4, LB_WEIGHTS_PCT, out);
	ck_assert_uint_eq(out[0], 33);
	ck_assert_uint_eq(out[1], 33);
	ck_assert_uint_eq(out[2], 34);
	ck_assert_uint_eq(out[3], 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("weights");
	TCase *tc = tcase_create("compose");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_case, 0, N(cases));
	tcase_add_test(tc, test_random_invariants);
	tcase_add_test(tc, test_relative_200);
	tcase_add_test(tc, test_relative_256_max);
	tcase_add_test(tc, test_ties_by_rank);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
