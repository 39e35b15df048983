// SPDX-License-Identifier: MIT
/*
 * Unit tests of the access log: lines read back exactly, logrotate's rename then reopen, a
 * reopen that fails, open errors, lost lines counted (and warned about once) on a full disk,
 * and a line cut short by the file size limit not spoiling the next one.
 *
 * Every test works in its own temporary directory and removes it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access_log.h"

static char dir[64], path[128], err[512];

static void setup(void)
{
	strcpy(dir, "/tmp/lbd-test-access-log-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/access.log", dir);
	err[0] = '\0';
}

/* Remove what a test left in its directory (files only), then the directory. */
static void teardown(void)
{
	static const char *const names[] = {"access.log", "access.log.1", "sub/access.log",
					    "moved.log"};
	char p[192];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
}

/* The whole content of @file (NUL-terminated); free() it. */
static char *slurp(const char *file)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd;

	fd = open(file, O_RDONLY);
	ck_assert_msg(fd >= 0, "cannot open %s: %s", file, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	n = read(fd, buf, (size_t)st.st_size);
	ck_assert_int_eq(n, st.st_size);
	close(fd);
	return buf;
}

static void assert_content(const char *file, const char *want)
{
	char *got = slurp(file);

	ck_assert_msg(!strcmp(got, want), "%s:\ngot:      [%s]\nexpected: [%s]", file, got, want);
	free(got);
}

/* Write the record {"n": @n, ...} and expect @ret. */
static void put(struct lb_access_log *a, int n, int ret)
{
	json_t *r = json_pack("{s:i,s:s}", "n", n, "peer", "10.0.0.1:40000");

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(lb_access_log_write(a, r), ret);
	json_decref(r);
}

#define LINE(n) "{\"n\":" #n ",\"peer\":\"10.0.0.1:40000\"}\n"

START_TEST(test_write_read_back)
{
	struct lb_access_log *a = NULL;
	json_t *r;
	struct stat st;

	umask(022);
	ck_assert_msg(lb_access_log_open(&a, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(lb_access_log_path(a), path);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);

	put(a, 1, 0);
	/* Keys stay in insertion order; text with newlines and quotes stays on one line. */
	r = json_pack("{s:s,s:s,s:I,s:n}", "z", "last\nfirst", "a", "\"q\"", "big",
		      (json_int_t)1 << 40, "none");
	ck_assert_int_eq(lb_access_log_write(a, r), 0);
	json_decref(r);
	r = json_object();
	ck_assert_int_eq(lb_access_log_write(a, r), 0);
	json_decref(r);
	ck_assert_uint_eq(lb_access_log_written(a), 3);
	ck_assert_uint_eq(lb_access_log_failed(a), 0);
	assert_content(path, LINE(1) "{\"z\":\"last\\nfirst\",\"a\":\"\\\"q\\\"\",\"big\":"
				     "1099511627776,\"none\":null}\n{}\n");

	/* Not an object: refused, counted, nothing written. */
	r = json_array();
	ck_assert_int_eq(lb_access_log_write(a, r), -EINVAL);
	json_decref(r);
	ck_assert_int_eq(lb_access_log_write(a, NULL), -EINVAL);
	ck_assert_uint_eq(lb_access_log_failed(a), 2);
	ck_assert_uint_eq(lb_access_log_written(a), 3);
	lb_access_log_close(a);

	/* Opening again appends. */
	ck_assert_int_eq(lb_access_log_open(&a, path, err, sizeof(err)), 0);
	put(a, 2, 0);
	lb_access_log_close(a);
	lb_access_log_close(NULL);
	assert_content(path, LINE(1) "{\"z\":\"last\\nfirst\",\"a\":\"\\\"q\\\"\",\"big\":"
				     "1099511627776,\"none\":null}\n{}\n" LINE(2));
}
END_TEST

/* A line longer than the first buffer grows it and stays whole. */
START_TEST(test_long_line)
{
	struct lb_access_log *a = NULL;
	char *big = malloc(100001), *got, *want = malloc(100100);
	json_t *r;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(want);
	memset(big, 'x', 100000);
	big[100000] = '\0';
	ck_assert_int_eq(lb_access_log_open(&a, path, err, sizeof(err)), 0);
	r = json_pack("{s:s}", "sni", big);
	ck_assert_int_eq(lb_access_log_write(a, r), 0);
	json_decref(r);
	put(a, 1, 0);
	lb_access_log_close(a);

	snprintf(want, 100100, "{\"sni\":\"%s\"}\n" LINE(1), big);
	got = slurp(path);
	ck_assert_uint_eq(strlen(got), strlen(want));
	ck_assert(!strcmp(got, want));
	free(got);
	free(want);
	free(big);
}
END_TEST

/* What logrotate does: rename the file, then tell lbd, which reopens the path. */
START_TEST(test_reopen_after_rename)
{
	struct lb_access_log *a = NULL;
	char rotated[192];

	snprintf(rotated, sizeof(rotated), "%s.1", path);
	ck_assert_int_eq(lb_access_log_open(&a, path, err, sizeof(err)), 0);
	put(a, 1, 0);
	ck_assert_int_eq(rename(path, rotated), 0);
	/* Until the reopen, lines follow the renamed file. */
	put(a, 2, 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_msg(lb_access_log_reopen(a, err, sizeof(err)) == 0, "%s", err);
	put(a, 3, 0);
	put(a, 4, 0);
	/* A reopen without a rotation keeps appending to the same file. */
	ck_assert_int_eq(lb_access_log_reopen(a, err, sizeof(err)), 0);
	put(a, 5, 0);
	ck_assert_uint_eq(lb_access_log_written(a), 5);
	lb_access_log_close(a);
	assert_content(rotated, LINE(1) LINE(2));
	assert_content(path, LINE(3) LINE(4) LINE(5));
}
END_TEST

/* The log's directory is gone: the reopen fails and lines keep going to the open file. */
START_TEST(test_reopen_fails)
{
	struct lb_access_log *a = NULL;
	char sub[128], file[160], moved[160], want[512];

	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(file, sizeof(file), "%s/access.log", sub);
	snprintf(moved, sizeof(moved), "%s/moved.log", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(lb_access_log_open(&a, file, err, sizeof(err)), 0);
	put(a, 1, 0);
	ck_assert_int_eq(rename(file, moved), 0);
	ck_assert_int_eq(rmdir(sub), 0);

	ck_assert_int_eq(lb_access_log_reopen(a, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot reopen access log %s: No such file or directory",
		 file);
	ck_assert_str_eq(err, want);
	put(a, 2, 0);
	ck_assert_uint_eq(lb_access_log_written(a), 2);
	ck_assert_uint_eq(lb_access_log_failed(a), 0);
	ck_assert_str_eq(lb_access_log_path(a), file);
	lb_access_log_close(a);
	assert_content(moved, LINE(1) LINE(2));

	ck_assert_int_eq(lb_access_log_reopen(NULL, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_open_errors)
{
	struct lb_access_log *a = (struct lb_access_log *)0x1;
	char want[512];

	ck_assert_int_eq(
		lb_access_log_open(&a, "/nonexistent-lbd-dir/access.log", err, sizeof(err)),
		-ENOENT);
	ck_assert_str_eq(err, "cannot open access log /nonexistent-lbd-dir/access.log: No such "
			      "file or directory");
	ck_assert_ptr_null(a);

	ck_assert_int_eq(lb_access_log_open(&a, dir, err, sizeof(err)), -EISDIR);
	snprintf(want, sizeof(want), "cannot open access log %s: Is a directory", dir);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(a);

	ck_assert_int_eq(lb_access_log_open(&a, NULL, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "cannot open access log: no path was given");
	/* No room for a message is fine. */
	ck_assert_int_eq(lb_access_log_open(&a, "/nonexistent-lbd-dir/x", NULL, 0), -ENOENT);
}
END_TEST

/*
 * Send stderr (where lb_warn writes) into a pipe, which no file size limit cuts; returns its
 * read end, which captured() reads without waiting.
 */
static int capture_stderr(void)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	fflush(stderr);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	return p[0];
}

/* What was logged so far (stderr is unbuffered: it is all in the pipe); free() it. */
static char *captured(int fd)
{
	char *buf = calloc(1, 65536);
	ssize_t n;

	ck_assert_ptr_nonnull(buf);
	n = read(fd, buf, 65535);
	ck_assert_int_gt(n, 0);
	close(fd);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay++;
	}
	return n;
}

/* /dev/full answers every write with ENOSPC: lines are counted lost, warned about once. */
START_TEST(test_full_disk)
{
	struct lb_access_log *a = NULL;
	char *text;
	int log, i;

	if (access("/dev/full", W_OK))
		return;
	log = capture_stderr();
	ck_assert_int_eq(lb_access_log_open(&a, "/dev/full", err, sizeof(err)), 0);
	for (i = 0; i < 100; i++)
		put(a, i, -ENOSPC);
	ck_assert_uint_eq(lb_access_log_failed(a), 100);
	ck_assert_uint_eq(lb_access_log_written(a), 0);
	lb_access_log_close(a);

	text = captured(log);
	ck_assert_msg(count(text, "No space left on device") == 1, "warnings:\n%s", text);
	ck_assert_msg(strstr(text, "access log /dev/full: cannot write: No space left on device"),
		      "warnings:\n%s", text);
	free(text);
}
END_TEST

/*
 * The file size limit cuts a line short (a partial write, then EFBIG): the line is lost, and
 * the next one starts on a line of its own instead of being glued to the fragment.
 */
START_TEST(test_torn_line)
{
	struct lb_access_log *a = NULL;
	struct rlimit old, lim;
	char *text;
	int log;

	log = capture_stderr();
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(lb_access_log_open(&a, path, err, sizeof(err)), 0);
	put(a, 1, 0);
	lim = old;
	lim.rlim_cur = strlen(LINE(1)) + 10;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	put(a, 2, -EFBIG);
	put(a, 3, -EFBIG);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	put(a, 4, 0);
	put(a, 5, 0);
	ck_assert_uint_eq(lb_access_log_written(a), 3);
	ck_assert_uint_eq(lb_access_log_failed(a), 2);
	lb_access_log_close(a);
	assert_content(path, LINE(1) "{\"n\":2,\"pe\n" LINE(4) LINE(5));

	text = captured(log);
	ck_assert_msg(count(text, "cannot write: File too large") == 1, "warnings:\n%s", text);
	ck_assert_msg(strstr(text, "writing again; lines lost: 2"), "warnings:\n%s", text);
	free(text);
}
END_TEST

static Suite *access_log_suite(void)
{
	Suite *s = suite_create("access_log");
	TCase *tc = tcase_create("access_log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_read_back);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_reopen_after_rename);
	tcase_add_test(tc, test_reopen_fails);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_full_disk);
	tcase_add_test(tc, test_torn_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(access_log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
