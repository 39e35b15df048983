// SPDX-License-Identifier: MIT
/*
 * The RPC line framing (proto/lb_rpc.h, lb_linebuf): lines split across reads, over-long
 * lines reported once and skipped with the stream still usable, and a read full of empty
 * lines handled in linear time (each line used to move the rest of the buffer).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lb_rpc.h"

static int feed(struct lb_linebuf *lb, const char *s)
{
	return lb_linebuf_feed(lb, s, strlen(s));
}

static int next(struct lb_linebuf *lb, char *out, size_t outlen)
{
	const char *line;
	size_t len;
	int r = lb_linebuf_next(lb, &line, &len);

	if (r == 1) {
		ck_assert_uint_lt(len, outlen);
		memcpy(out, line, len + 1);
	}
	return r;
}

START_TEST(test_split_across_reads)
{
	struct lb_linebuf lb;
	char out[64];

	lb_linebuf_init(&lb, 100);
	ck_assert_int_eq(feed(&lb, "{\"a\""), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 0);
	ck_assert_int_eq(feed(&lb, ":1}\n{\"b\":2}\n{\"c\""), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "{\"a\":1}");
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "{\"b\":2}");
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 0);
	ck_assert_int_eq(feed(&lb, ":3}\n"), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "{\"c\":3}");
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 0);
	lb_linebuf_release(&lb);
}
END_TEST

START_TEST(test_too_long_then_usable)
{
	struct lb_linebuf lb;
	char big[300], out[64];

	memset(big, 'x', sizeof(big));
	lb_linebuf_init(&lb, 100);
	/* Without its newline yet: reported once, then swallowed up to the newline. */
	ck_assert_int_eq(lb_linebuf_feed(&lb, big, sizeof(big)), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), -E2BIG);
	ck_assert_int_eq(lb_linebuf_feed(&lb, big, sizeof(big)), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 0);
	ck_assert_int_eq(feed(&lb, "xx\nok\n"), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "ok");
	/* With its newline in the same read. */
	ck_assert_int_eq(lb_linebuf_feed(&lb, big, 200), 0);
	ck_assert_int_eq(feed(&lb, "\nfine\n"), 0);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), -E2BIG);
	ck_assert_int_eq(next(&lb, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "fine");
	lb_linebuf_release(&lb);
}
END_TEST

/* 4 MiB of empty lines in 64 KiB reads: 4 Mi lines, no quadratic copying (test timeout). */
START_TEST(test_many_empty_lines)
{
	enum { CHUNK = 64 * 1024, CHUNKS = 64 };
	struct lb_linebuf lb;
	char *nl = malloc(CHUNK);
	size_t lines = 0, bad = 0, i, len;
	const char *line;
	int r;

	ck_assert_ptr_nonnull(nl);
	memset(nl, '\n', CHUNK);
	lb_linebuf_init(&lb, 1 << 20);
	for (i = 0; i < CHUNKS; i++) {
		ck_assert_int_eq(lb_linebuf_feed(&lb, nl, CHUNK), 0);
		/* (No assertion per line: Check reports each one through a pipe.) */
		while ((r = lb_linebuf_next(&lb, &line, &len)) == 1) {
			bad += len != 0 || line[0];
			lines++;
		}
		ck_assert_int_eq(r, 0);
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(lines, (size_t)CHUNK * CHUNKS);
	lb_linebuf_release(&lb);
	free(nl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("linebuf");
	TCase *tc = tcase_create("framing");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_split_across_reads);
	tcase_add_test(tc, test_too_long_then_usable);
	tcase_add_test(tc, test_many_empty_lines);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
