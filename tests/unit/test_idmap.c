// SPDX-License-Identifier: MIT
/*
 * Stable ids (daemon/policy/idmap.c): kept while their key stays, retired when it goes,
 * handed to another key only once a conntrack scan made after the retirement found no
 * flow carrying them, given back to a key that returns.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

#define MAX 8

static struct lb_idmap m;
static uint32_t present[MAX];

/* Assign the keys given as a string of letters ("abc"), one byte each; ids into @out. */
static int assign(const char *keys, uint32_t *out, const struct lb_id_quarantine *q)
{
	return lb_idmap_assign(&m, keys, strlen(keys), out, NULL, q);
}

static uint32_t id_of(char key)
{
	int64_t id = lb_idmap_find(&m, &key);

	ck_assert_int_ge(id, 0);
	return (uint32_t)id;
}

static void setup(void)
{
	lb_idmap_init(&m, 1, MAX);
	memset(present, 0, sizeof(present));
}

static void teardown(void)
{
	lb_idmap_release(&m);
}

START_TEST(test_kept_and_lowest_free)
{
	uint32_t ids[MAX];

	ck_assert_int_eq(assign("abc", ids, NULL), 0);
	ck_assert_uint_eq(ids[0], 0);
	ck_assert_uint_eq(ids[1], 1);
	ck_assert_uint_eq(ids[2], 2);
	ck_assert_int_eq(assign("cab", ids, NULL), 0);
	ck_assert_uint_eq(ids[0], 2);
	ck_assert_uint_eq(ids[1], 0);
	ck_assert_int_eq(assign("aa", ids, NULL), -EINVAL);
	ck_assert_int_eq(assign("abcdefghi", ids, NULL), -ENOSPC);
	ck_assert_uint_eq(id_of('c'), 2); /* refused changes left the map alone */
}
END_TEST

START_TEST(test_retired_while_flows_carry_it)
{
	struct lb_id_quarantine q = {.now_ns = 100, .scanned_ns = 50, .present = present};
	uint32_t ids[MAX];

	ck_assert_int_eq(assign("ab", ids, &q), 0); /* a=0 b=1 */
	ck_assert_int_eq(assign("a", ids, &q), 0);  /* b retires at 100 */
	ck_assert_ptr_nonnull(lb_idmap_key_of(&m, 1));
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&m, 1), 'b'); /* still named */
	/* A scan older than the retirement proves nothing: c must not get 1. */
	q.now_ns = 200;
	q.scanned_ns = 150 - 100;
	ck_assert_int_eq(assign("ac", ids, &q), 0);
	ck_assert_uint_eq(id_of('c'), 2);
	/* A newer scan that still sees flows with id 1: not yet. */
	q.now_ns = 300;
	q.scanned_ns = 250;
	present[1] = 3;
	ck_assert_int_eq(assign("acd", ids, &q), 0);
	ck_assert_uint_eq(id_of('d'), 3);
	/* The flows are gone: 1 is free again, and the name with it. */
	present[1] = 0;
	q.now_ns = 400;
	q.scanned_ns = 350;
	ck_assert_int_eq(assign("acde", ids, &q), 0);
	ck_assert_uint_eq(id_of('e'), 1);
}
END_TEST

START_TEST(test_returning_key_gets_its_id)
{
	struct lb_id_quarantine q = {.now_ns = 100, .scanned_ns = 50, .present = present};
	uint32_t ids[MAX];
	uint8_t fresh[4];

	ck_assert_int_eq(assign("abc", ids, &q), 0);
	ck_assert_int_eq(assign("ac", ids, &q), 0); /* b (1) retires */
	present[1] = 1;
	q.scanned_ns = 150;
	q.now_ns = 200;
	/* z sorts after b: the second pass must not give z the id b takes back. */
	ck_assert_int_eq(lb_idmap_assign(&m, "zbac", 4, ids, fresh, &q), 0);
	ck_assert_uint_eq(id_of('b'), 1);
	/* b's counters start again, like z's; a and c keep theirs. */
	ck_assert(fresh[0] && fresh[1] && !fresh[2] && !fresh[3]);
	ck_assert_uint_ne(id_of('z'), 1);
	ck_assert_uint_ne(id_of('z'), id_of('a'));
	ck_assert_uint_ne(id_of('z'), id_of('c'));
}
END_TEST

/*
 * Old and new keys together exceed the ids (a fleet renumbered): with a scan of just now
 * (free_going), ids of keys that go and that no flow carries are handed on, after every
 * id that was free anyway; one a flow still carries stays reserved, and retires.
 */
START_TEST(test_going_ids_free_when_no_flow)
{
	struct lb_id_quarantine q = {.now_ns = 100, .scanned_ns = 50, .present = present};
	uint32_t ids[MAX];

	ck_assert_int_eq(assign("abcdef", ids, &q), 0); /* 0-5 */
	q.now_ns = 200;
	q.scanned_ns = 199;
	present[id_of('b')] = 1;
	ck_assert_int_eq(assign("ghijk", ids, &q), -ENOSPC); /* 6 and 7 only */
	q.free_going = true;
	ck_assert_int_eq(assign("ghijklmn", ids, &q), -ENOSPC); /* 7: b's id is not free */
	ck_assert_int_eq(assign("ghijk", ids, &q), 0);
	ck_assert_uint_eq(id_of('g'), 6);
	ck_assert_uint_eq(id_of('h'), 7);
	ck_assert_uint_eq(id_of('i'), 0);
	ck_assert_uint_eq(id_of('j'), 2);
	ck_assert_uint_eq(id_of('k'), 3);
	/* b retired under its name; a, c, d went to others; e and f retired unused. */
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&m, 1), 'b');
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&m, 0), 'i');
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&m, 4), 'e');
	ck_assert_int_eq(lb_idmap_find(&m, "a"), -1);
	/* b comes back: its own id again. */
	ck_assert_int_eq(assign("ghijkb", ids, &q), 0);
	ck_assert_uint_eq(id_of('b'), 1);
}
END_TEST

START_TEST(test_without_scans_one_change)
{
	uint32_t ids[MAX];

	ck_assert_int_eq(assign("ab", ids, NULL), 0);
	ck_assert_int_eq(assign("ac", ids, NULL), 0); /* not in the change b goes in */
	ck_assert_uint_eq(id_of('c'), 2);
	ck_assert_int_eq(assign("acd", ids, NULL), 0); /* the next one may */
	ck_assert_uint_eq(id_of('d'), 1);
}
END_TEST

START_TEST(test_adopted_ids_wait_for_a_scan)
{
	struct lb_id_quarantine q = {.now_ns = 200, .scanned_ns = 50, .present = present};
	const char key = 'a';
	const uint32_t three = 3;
	uint32_t ids[MAX];

	ck_assert_int_eq(lb_idmap_load(&m, &key, &three, 1), 0);
	ck_assert_int_eq(lb_idmap_retire_rest(&m, 100), 0);
	ck_assert_ptr_null(lb_idmap_key_of(&m, 0)); /* retired, but no name known */
	/* No scan since the adoption: every unknown id may be in conntrack. */
	ck_assert_int_eq(assign("ab", ids, &q), -ENOSPC);
	q.scanned_ns = 150;
	present[0] = 1;
	ck_assert_int_eq(assign("ab", ids, &q), 0);
	ck_assert_uint_eq(id_of('a'), 3);
	ck_assert_uint_eq(id_of('b'), 1);
}
END_TEST

START_TEST(test_clone_is_independent)
{
	struct lb_id_quarantine q = {.now_ns = 100, .scanned_ns = 50, .present = present};
	struct lb_idmap c;
	uint32_t ids[MAX];

	ck_assert_int_eq(assign("ab", ids, &q), 0);
	ck_assert_int_eq(assign("a", ids, &q), 0);
	ck_assert_int_eq(lb_idmap_clone(&c, &m), 0);
	ck_assert_uint_eq(c.n_retired, 1);
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&c, 1), 'b');
	lb_idmap_release(&m);
	ck_assert_int_eq(*(const char *)lb_idmap_key_of(&c, 1), 'b');
	m = c;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("idmap");
	TCase *tc = tcase_create("idmap");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kept_and_lowest_free);
	tcase_add_test(tc, test_retired_while_flows_carry_it);
	tcase_add_test(tc, test_returning_key_gets_its_id);
	tcase_add_test(tc, test_going_ids_free_when_no_flow);
	tcase_add_test(tc, test_without_scans_one_change);
	tcase_add_test(tc, test_adopted_ids_wait_for_a_scan);
	tcase_add_test(tc, test_clone_is_independent);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
