// SPDX-License-Identifier: MIT
/*
 * Records of open files (common/lb_fdrec.c): what one lbd sends the next over a Unix
 * socket arrives whole, descriptors included, and bytes that are not a record are refused.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_fdrec.h"

static int sv[2];

static void setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

START_TEST(test_record_with_descriptors_and_blob)
{
	uint8_t blob[100000];
	struct lb_fdrec out = {0}, in;
	int p[2], q[2];
	char c = 0;
	size_t i;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pipe(q), 0);
	out.meta = json_pack("{s:s, s:i}", "kind", "splice", "slot", 7);
	out.blob = blob;
	out.blob_len = sizeof(blob);
	out.fds[0] = p[1];
	out.fds[1] = q[0];
	out.n_fds = 2;
	/* A big blob does not fit the socket buffer: the reader runs in a child. */
	if (fork() == 0) {
		int r = lb_fdrec_send(sv[0], &out);

		_exit(r ? 1 : 0);
	}
	ck_assert_int_eq(lb_fdrec_recv(sv[1], &in), 0);
	ck_assert_str_eq(json_string_value(json_object_get(in.meta, "kind")), "splice");
	ck_assert_int_eq(json_integer_value(json_object_get(in.meta, "slot")), 7);
	ck_assert_uint_eq(in.blob_len, sizeof(blob));
	ck_assert_int_eq(memcmp(in.blob, blob, sizeof(blob)), 0);
	ck_assert_uint_eq(in.n_fds, 2);
	ck_assert_int_ne(fcntl(in.fds[0], F_GETFD) & FD_CLOEXEC, 0);
	/* The very same pipes: a byte written through one copy comes out of the original. */
	ck_assert_int_eq(write(in.fds[0], "x", 1), 1);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	ck_assert_int_eq(write(q[1], "y", 1), 1);
	ck_assert_int_eq(read(in.fds[1], &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	/* A descriptor taken is the taker's: release leaves it open. */
	{
		int kept = lb_fdrec_take_fd(&in, 0);

		lb_fdrec_release(&in);
		ck_assert_int_eq(fcntl(kept, F_GETFD) >= 0, 1);
		close(kept);
	}
	json_decref(out.meta);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}
END_TEST

START_TEST(test_garbage_is_refused)
{
	struct lb_fdrec in;

	ck_assert_int_eq(write(sv[0], "GET / HTTP/1.1\r\n\r\n", 18), 18);
	ck_assert_int_eq(lb_fdrec_recv(sv[1], &in), -EPROTO);
	ck_assert_ptr_null(in.meta);
}
END_TEST

START_TEST(test_end_of_stream)
{
	struct lb_fdrec in;

	close(sv[0]);
	sv[0] = -1;
	ck_assert_int_eq(lb_fdrec_recv(sv[1], &in), -ECONNRESET);
}
END_TEST

START_TEST(test_too_many_descriptors)
{
	struct lb_fdrec out = {.meta = json_object(), .n_fds = LB_FDREC_MAX_FDS + 1};

	ck_assert_int_eq(lb_fdrec_send(sv[0], &out), -EMSGSIZE);
	json_decref(out.meta);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fdrec");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_record_with_descriptors_and_blob);
	tcase_add_test(tc, test_garbage_is_refused);
	tcase_add_test(tc, test_end_of_stream);
	tcase_add_test(tc, test_too_many_descriptors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
