// SPDX-License-Identifier: MIT
/*
 * Unit tests of lbctl's client (ctl/client.h) against a listening socket the test owns: the
 * request line it sends, notifications and stale replies skipped while waiting, the reply
 * matched by id, and each way of failing (no socket, nobody listening, silence, hang-up,
 * garbage) reported as its own errno.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

static char dir[32], path[64];
static int listener = -1;

static void setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(dir, sizeof(dir), "/tmp/lbctl-client-XXXXXX");
	ck_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lbd.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(listener, 0);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(listener, 4), 0);
}

static void teardown(void)
{
	close(listener);
	unlink(path);
	rmdir(dir);
}

/* Connect a client (the backlog completes it) and accept its peer. */
static int connect_pair(struct lb_client *c, int timeout_ms)
{
	int peer;

	ck_assert_int_eq(lb_client_connect(c, path, timeout_ms), 0);
	peer = accept(listener, NULL, NULL);
	ck_assert_int_ge(peer, 0);
	return peer;
}

static void put(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static int notified;

static void on_note(const json_t *n, void *arg)
{
	ck_assert_str_eq(json_string_value(json_object_get(n, "method")), (const char *)arg);
	notified++;
}

START_TEST(test_call_skips_notifications)
{
	struct lb_client c;
	json_t *resp, *params = json_pack("{s:s}", "proxy", "web");
	char req[512] = "";
	int peer = connect_pair(&c, 2000);

	/* Queued before the request is even sent: the client must sort them out. */
	put(peer, "{\"jsonrpc\":\"2.0\",\"method\":\"stats\",\"params\":{}}\n"
		  "\n"
		  "{\"jsonrpc\":\"2.0\",\"id\":77,\"result\":{\"stale\":true}}\n"
		  "{\"jsonrpc\":\"2.0\",\"method\":\"stats\",\"params\":{\"n\":2}}\n"
		  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"removed\":\"web\"}}\n");
	notified = 0;
	ck_assert_int_eq(lb_client_call(&c, "remove-proxy", params, &resp, on_note, "stats"), 0);
	ck_assert_int_eq(notified, 2);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(resp, "result"), "removed")),
		"web");
	json_decref(resp);

	ck_assert_int_gt(read(peer, req, sizeof(req) - 1), 0);
	ck_assert_str_eq(req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"remove-proxy\","
			      "\"params\":{\"proxy\":\"web\"}}\n");

	/* The next call has the next id; a reply split across writes still arrives whole. */
	put(peer, "{\"jsonrpc\":\"2.0\",\"id\":2,\"res");
	put(peer, "ult\":{\"version\":\"0.1.0\"}}\n");
	ck_assert_int_eq(lb_client_call(&c, "version", NULL, &resp, NULL, NULL), 0);
	ck_assert(json_object_get(resp, "result"));
	json_decref(resp);
	memset(req, 0, sizeof(req));
	ck_assert_int_gt(read(peer, req, sizeof(req) - 1), 0);
	ck_assert_str_eq(req, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"version\"}\n");

	json_decref(params);
	close(peer);
	lb_client_close(&c);
}
END_TEST

/* lbd could not parse the request: its error has a null id, and is still our answer. */
START_TEST(test_null_id_error)
{
	struct lb_client c;
	json_t *resp;
	int peer = connect_pair(&c, 2000);

	put(peer,
	    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}\n");
	ck_assert_int_eq(lb_client_call(&c, "status", NULL, &resp, NULL, NULL), 0);
	ck_assert(json_object_get(resp, "error"));
	json_decref(resp);
	close(peer);
	lb_client_close(&c);
}
END_TEST

START_TEST(test_timeout)
{
	struct lb_client c;
	json_t *resp = NULL;
	int64_t t0;
	int peer = connect_pair(&c, 200);

	put(peer, "{\"jsonrpc\":\"2.0\",\"method\":\"stats\",\"params\":{}}\n");
	t0 = lb_client_now_ms();
	ck_assert_int_eq(lb_client_call(&c, "status", NULL, &resp, NULL, NULL), -ETIMEDOUT);
	ck_assert_int_ge(lb_client_now_ms() - t0, 190);
	ck_assert_int_lt(lb_client_now_ms() - t0, 2000);
	ck_assert(resp == NULL);
	close(peer);
	lb_client_close(&c);
}
END_TEST

START_TEST(test_hangup_and_garbage)
{
	struct lb_client c;
	json_t *resp;
	int peer = connect_pair(&c, 2000);

	close(peer);
	ck_assert_int_eq(lb_client_call(&c, "status", NULL, &resp, NULL, NULL), -ECONNRESET);
	lb_client_close(&c);
	lb_client_close(&c);

	peer = connect_pair(&c, 2000);
	put(peer, "HTTP/1.0 400 Bad Request\r\n\r\n");
	ck_assert_int_eq(lb_client_call(&c, "status", NULL, &resp, NULL, NULL), -EPROTO);
	close(peer);
	lb_client_close(&c);

	peer = connect_pair(&c, 2000);
	put(peer, "[1,2]\n");
	ck_assert_int_eq(lb_client_call(&c, "status", NULL, &resp, NULL, NULL), -EPROTO);
	close(peer);
	lb_client_close(&c);
}
END_TEST

START_TEST(test_connect_errors)
{
	struct lb_client c;
	char missing[160], longpath[200];

	snprintf(missing, sizeof(missing), "%s/none.sock", dir);
	ck_assert_int_eq(lb_client_connect(&c, missing, 1000), -ENOENT);
	lb_client_close(&c);

	close(listener); /* the file stays, nobody listens: a stale socket */
	listener = -1;
	ck_assert_int_eq(lb_client_connect(&c, path, 1000), -ECONNREFUSED);
	lb_client_close(&c);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(lb_client_connect(&c, longpath, 1000), -ENAMETOOLONG);
	lb_client_close(&c);
}
END_TEST

static Suite *ctl_client_suite(void)
{
	Suite *s = suite_create("ctl_client");
	TCase *tc = tcase_create("client");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_call_skips_notifications);
	tcase_add_test(tc, test_null_id_error);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_hangup_and_garbage);
	tcase_add_test(tc, test_connect_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_client_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
