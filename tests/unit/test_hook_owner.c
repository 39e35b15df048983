// SPDX-License-Identifier: MIT
/*
 * Whose program runs on a hook (daemon/dataplane/hook_owner.c): told by the maps it uses,
 * never by its name or id, which every instance's programs share or change at a restart.
 */
#include <check.h>
#include <stdlib.h>

#include "hook_owner.h"

/* Map ids: this instance pins 10-12, instance "exa" 20-22, "exb" nothing (a bare mark). */
static const uint32_t self_ids[] = {10, 11, 12};
static const uint32_t exa_ids[] = {20, 21, 22};
static const struct lb_pinned_maps self = {"own", self_ids, 3};
static const struct lb_pinned_maps others[] = {{"exb", NULL, 0}, {"exa", exa_ids, 3}};

static const struct {
	const char *what;
	bool lbd_prog;
	uint32_t maps[4];
	size_t n;
	enum lb_hook_whose want;
	size_t other;
} cases[] = {
	/* 5-7: the program's own .bss, .rodata and scratch, which nobody pins */
	{"this lbd's program, or an earlier lbd's of this instance",
	 true,
	 {5, 10, 6, 11},
	 4,
	 LB_HOOK_OURS,
	 0},
	{"one shared map is enough", true, {5, 6, 7, 12}, 4, LB_HOOK_OURS, 0},
	{"another instance's program, same name", true, {20, 5, 21}, 3, LB_HOOK_OTHER, 1},
	{"an lbd's whose pins are gone", true, {30, 31, 5}, 3, LB_HOOK_ORPHAN, 0},
	{"an lbd program with no maps", true, {0}, 0, LB_HOOK_ORPHAN, 0},
	{"not lbd's, even on this instance's maps", false, {10, 11}, 2, LB_HOOK_FOREIGN, 0},
};

START_TEST(test_decide)
{
	size_t other = 99;
	enum lb_hook_whose got = lb_hook_whose_decide(cases[_i].lbd_prog, cases[_i].maps,
						      cases[_i].n, &self, others, 2, &other);

	ck_assert_msg(got == cases[_i].want, "%s: %d, want %d", cases[_i].what, got,
		      cases[_i].want);
	if (got == LB_HOOK_OTHER)
		ck_assert_msg(other == cases[_i].other, "%s: instance %zu, want %zu",
			      cases[_i].what, other, cases[_i].other);
}
END_TEST

/* A folder with only a mark (`lbd --teardown` of an instance that pins no maps) owns nothing. */
START_TEST(test_self_without_maps)
{
	static const uint32_t prog[] = {20, 5};
	const struct lb_pinned_maps bare = {"exb", NULL, 0};
	size_t other = 99;

	ck_assert_int_eq(lb_hook_whose_decide(true, prog, 2, &bare, &others[1], 1, &other),
			 LB_HOOK_OTHER);
	ck_assert_uint_eq(other, 0);
	ck_assert_int_eq(lb_hook_whose_decide(true, prog, 2, &bare, NULL, 0, &other),
			 LB_HOOK_ORPHAN);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hook_owner");
	TCase *tc = tcase_create("hook_owner");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_decide, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_self_without_maps);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
