// SPDX-License-Identifier: MIT
/*
 * daemon/systemd.c: the watchdog interval from WATCHDOG_USEC/WATCHDOG_PID with
 * sd_watchdog_enabled(3)'s semantics, and a notification reaching a datagram socket the
 * way systemd's NOTIFY_SOCKET receives it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "systemd.h"

static void set_pid(long pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("WATCHDOG_PID", buf, 1);
}

START_TEST(test_watchdog_unset)
{
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(lb_sd_watchdog_usec(), 0);
	/* A PID without an interval means nothing either. */
	set_pid(getpid());
	ck_assert_int_eq(lb_sd_watchdog_usec(), 0);
}
END_TEST

START_TEST(test_watchdog_for_us)
{
	setenv("WATCHDOG_USEC", "20000000", 1);
	set_pid(getpid());
	ck_assert_int_eq(lb_sd_watchdog_usec(), 20000000);
	/* Consumed: children do not inherit it, and a second call sees nothing. */
	ck_assert_ptr_null(getenv("WATCHDOG_USEC"));
	ck_assert_ptr_null(getenv("WATCHDOG_PID"));
	ck_assert_int_eq(lb_sd_watchdog_usec(), 0);
	/* Without WATCHDOG_PID the interval is for whoever reads it. */
	setenv("WATCHDOG_USEC", "1", 1);
	ck_assert_int_eq(lb_sd_watchdog_usec(), 1);
}
END_TEST

START_TEST(test_watchdog_for_another_process)
{
	setenv("WATCHDOG_USEC", "20000000", 1);
	set_pid(getpid() + 1);
	ck_assert_int_eq(lb_sd_watchdog_usec(), 0);
	/* Left for the process it was meant for. */
	ck_assert_str_eq(getenv("WATCHDOG_USEC"), "20000000");
}
END_TEST

START_TEST(test_watchdog_malformed)
{
	static const char *bad[] = {"", "0", "-5", "+5", "12x", "x", "99999999999999999999"};
	size_t i;

	unsetenv("WATCHDOG_PID");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("WATCHDOG_USEC", bad[i], 1);
		ck_assert_msg(lb_sd_watchdog_usec() == -EINVAL, "WATCHDOG_USEC='%s'", bad[i]);
	}
	setenv("WATCHDOG_USEC", "1000", 1);
	setenv("WATCHDOG_PID", "nope", 1);
	ck_assert_int_eq(lb_sd_watchdog_usec(), -EINVAL);
	setenv("WATCHDOG_PID", "0", 1);
	ck_assert_int_eq(lb_sd_watchdog_usec(), -EINVAL);
}
END_TEST

START_TEST(test_notify_reaches_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/lbd-test-sd.XXXXXX", buf[64];
	ssize_t n;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	ck_assert_int_eq(lb_sd_notify("WATCHDOG=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	ck_assert_int_eq(n, 10);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "WATCHDOG=1");
	/* No socket configured: a no-op, not an error. */
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(lb_sd_notify("WATCHDOG=1"), 0);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("systemd");
	TCase *tc = tcase_create("watchdog");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_watchdog_unset);
	tcase_add_test(tc, test_watchdog_for_us);
	tcase_add_test(tc, test_watchdog_for_another_process);
	tcase_add_test(tc, test_watchdog_malformed);
	tcase_add_test(tc, test_notify_reaches_socket);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
