// SPDX-License-Identifier: MIT
/* Every method of the shared table (proto/lb_rpc.h) has a handler in lbd. */
#include <check.h>
#include <stdlib.h>

#include "rpc.h"

START_TEST(test_every_method_has_a_handler)
{
	size_t i;

	for (i = 0; i < LB_M_COUNT; i++)
		ck_assert_msg(lbd_rpc_has_handler(lb_methods[i].id),
			      "method %s has no handler in lbd", lb_methods[i].name);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rpc-table");
	TCase *tc = tcase_create("handlers");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_every_method_has_a_handler);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
