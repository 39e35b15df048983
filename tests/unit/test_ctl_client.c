// SPDX-License-Identifier: MIT
/*
 * Unit tests of lbctl's client (ctl/client.h) against a listening socket the test owns: the
 * request line it sends, notifications and stale replies skipped while waiting, the reply
 * matched by id, and each way of failing (no socket, nobody listening, silence, hang-up,
 * garbage) reported as its own errno. Then the streaming calls (ctl/stream.h): health
 * --follow and drain --wait against a peer that sends notifications around the reply.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "lb_rpc.h"
#include "exit_status.h"
#include "stream.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

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

/* ---- streaming: health --follow, drain --wait ---- */

#define EV_DOWN                                                                               \
	"{\"jsonrpc\":\"2.0\",\"method\":\"health-event\",\"params\":{\"type\":"              \
	"\"target-unhealthy\",\"proxy\":\"web\",\"target\":\"10.0.0.2:8080\",\"last-error\":" \
	"\"connection-refused\",\"last-latency-ms\":0.5,\"last-http-status\":0}}\n"
#define EV_WEIGHTS                                                                                \
	"{\"jsonrpc\":\"2.0\",\"method\":\"health-event\",\"params\":{\"type\":"                  \
	"\"weights-updated\",\"proxy\":\"web\",\"groups\":[{\"source\":\"default\",\"targets\":[" \
	"{\"target\":\"10.0.0.1:8080\",\"configured-weight\":50,\"effective-weight\":100},"       \
	"{\"target\":\"10.0.0.2:8080\",\"configured-weight\":50,\"effective-weight\":0}]}]}}\n"
#define HEALTH_REPLY "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"enabled\":true,\"proxies\":[]}}\n"

/* A drain status object, then as a drain-progress notification and as the final reply. */
#define DRAIN_ST(status, cur, ms)                                                    \
	"{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"status\":\"" status "\"," \
	"\"elapsed-ms\":" #ms ",\"timeout-ms\":60000,\"current-connections\":" #cur  \
	",\"initial-connections\":10}"
#define PROGRESS(cur, ms)                                                                          \
	"{\"jsonrpc\":\"2.0\",\"method\":\"drain-progress\",\"params\":" DRAIN_ST("draining", cur, \
										  ms) "}\n"
#define DRAIN_END(status, cur, ms) \
	"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":" DRAIN_ST(status, cur, ms) "}\n"

static time_t noon(void)
{
	return 12 * 3600 + 1; /* 12:00:01 UTC */
}

/* Where a streaming call prints: two memory streams. */
struct capture {
	char *out, *err;
	size_t outlen, errlen;
	struct lb_stream s;
};

static void capture_open(struct capture *cap, bool json)
{
	memset(cap, 0, sizeof(*cap));
	cap->s.json = json;
	cap->s.out = open_memstream(&cap->out, &cap->outlen);
	cap->s.err = open_memstream(&cap->err, &cap->errlen);
	cap->s.clock = noon;
	ck_assert(cap->s.out && cap->s.err);
}

static void capture_close(struct capture *cap)
{
	fclose(cap->s.out);
	fclose(cap->s.err);
}

static void capture_free(struct capture *cap)
{
	free(cap->out);
	free(cap->err);
}

/* Call @method with @params_json on a fresh connection whose peer already sent @script. */
static int stream_call(struct capture *cap, bool json, int timeout_ms, const char *method,
		       const char *params_json, const char *script, bool hang_up, char *request,
		       size_t reqlen)
{
	json_t *params = json_loads(params_json, 0, NULL);
	struct lb_client c;
	int peer = connect_pair(&c, timeout_ms), r;
	ssize_t n;

	ck_assert(params);
	put(peer, script);
	if (hang_up)
		shutdown(peer, SHUT_WR);
	capture_open(cap, json);
	r = lb_stream_call(&c, method, params, lb_stream_kind_of(method, params), &cap->s);
	capture_close(cap);
	if (request) {
		n = read(peer, request, reqlen - 1);
		request[n > 0 ? n : 0] = '\0';
	}
	close(peer);
	lb_client_close(&c);
	json_decref(params);
	return r;
}

START_TEST(test_kind_and_wait_limit)
{
	static const struct {
		const char *method, *params;
		enum lb_stream_kind kind;
	} kinds[] = {
		{"health", "{\"follow\":true}", LB_STREAM_FOLLOW},
		{"health", "{\"follow\":false}", LB_STREAM_NONE},
		{"health", "{}", LB_STREAM_NONE},
		{"drain", "{\"proxy\":\"web\",\"wait\":true}", LB_STREAM_WAIT},
		{"drain", "{\"proxy\":\"web\"}", LB_STREAM_NONE},
		{"status", "{\"follow\":true}", LB_STREAM_NONE},
	};
	static const struct {
		const char *params;
		int reply_timeout_ms, limit;
	} limits[] = {
		{"{\"wait\":true,\"timeout-ms\":60000}", 10000, 70000},
		{"{\"wait\":true,\"timeout-ms\":1}", 10000, 10001},
		{"{\"wait\":true,\"timeout-ms\":1}", 30000, 30000}, /* never less than asked */
		{"{\"wait\":true,\"timeout-ms\":60000}", -1, -1},   /* --timeout 0: no limit */
		{"{\"wait\":true}", 10000, -1}, /* lbd's default drain timeout: unknown */
		{"{\"wait\":true,\"timeout-ms\":86400000}", 10000, 86410000},
	};
	json_t *p;
	size_t i;

	for (i = 0; i < N(kinds); i++) {
		p = json_loads(kinds[i].params, 0, NULL);
		ck_assert_int_eq(lb_stream_kind_of(kinds[i].method, p), kinds[i].kind);
		json_decref(p);
	}
	ck_assert_int_eq(lb_stream_kind_of("health", NULL), LB_STREAM_NONE);
	for (i = 0; i < N(limits); i++) {
		p = json_loads(limits[i].params, 0, NULL);
		ck_assert_int_eq(lb_stream_wait_limit_ms(p, limits[i].reply_timeout_ms),
				 limits[i].limit);
		json_decref(p);
	}
}
END_TEST

/*
 * An event before the reply is shown after it; other messages are skipped; lbd hangs up:
 * exit status 2, as top's, so a watcher can tell lbd gone from its own end.
 */
START_TEST(test_follow)
{
	struct capture cap;
	char req[512];

	ck_assert_int_eq(
		stream_call(
			&cap, false, 2000, "health", "{\"proxy\":\"web\",\"follow\":true}",
			EV_DOWN HEALTH_REPLY PROGRESS(
				3,
				5000) "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\n" EV_WEIGHTS,
			true, req, sizeof(req)),
		EXIT_UNREACHABLE);
	ck_assert_str_eq(req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"health\",\"params\":"
			      "{\"proxy\":\"web\",\"follow\":true}}\n");
	ck_assert_str_eq(cap.out,
			 "health checks enabled\n"
			 "no proxies\n"
			 "12:00:01 web 10.0.0.2:8080 target-unhealthy (connection-refused)\n"
			 "12:00:01 web weights-updated default: 100/0\n");
	ck_assert_str_eq(cap.err, "lbctl: lbd closed the connection (stopped or restarted?)\n");
	capture_free(&cap);
}
END_TEST

START_TEST(test_follow_json)
{
	struct capture cap;

	ck_assert_int_eq(stream_call(&cap, true, 2000, "health", "{\"follow\":true}",
				     HEALTH_REPLY EV_DOWN, true, NULL, 0),
			 EXIT_UNREACHABLE);
	ck_assert_str_eq(cap.out, "{\"enabled\":true,\"proxies\":[]}\n"
				  "{\"type\":\"target-unhealthy\",\"proxy\":\"web\",\"target\":"
				  "\"10.0.0.2:8080\",\"last-error\":\"connection-refused\","
				  "\"last-latency-ms\":0.5,\"last-http-status\":0}\n");
	capture_free(&cap);
}
END_TEST

/* An error instead of the reply: printed, no following. */
START_TEST(test_follow_error)
{
	static const char error[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32001,"
				    "\"message\":\"no proxy named \\\"api\\\"\"}}\n";
	struct capture cap;

	ck_assert_int_eq(stream_call(&cap, false, 2000, "health",
				     "{\"proxy\":\"api\",\"follow\":true}", error, false, NULL, 0),
			 EXIT_DAEMON_ERROR);
	ck_assert_str_eq(cap.out, "");
	ck_assert_str_eq(cap.err, "lbctl: no proxy named \"api\"\n");
	capture_free(&cap);
	ck_assert_int_eq(
		stream_call(&cap, true, 2000, "health", "{\"follow\":true}", error, false, NULL, 0),
		EXIT_DAEMON_ERROR);
	ck_assert_str_eq(cap.out, "{\"code\":-32001,\"message\":\"no proxy named \\\"api\\\"\"}\n");
	capture_free(&cap);
}
END_TEST

/*
 * The reply timeout (200 ms) covers the reply only: an event 400 ms later is still shown.
 * The peer is a child process that writes late, then hangs up.
 */
START_TEST(test_follow_outlives_reply_timeout)
{
	struct capture cap;
	struct lb_client c;
	int peer = connect_pair(&c, 200), status;
	json_t *params;
	pid_t child;

	put(peer, HEALTH_REPLY);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		usleep(400 * 1000);
		put(peer, EV_DOWN);
		usleep(100 * 1000);
		_exit(0);
	}
	close(peer);
	params =
		json_pack("{s:b}", "follow", 1); /* after the fork: the child has nothing to free */
	capture_open(&cap, false);
	ck_assert_int_eq(lb_stream_call(&c, "health", params, LB_STREAM_FOLLOW, &cap.s),
			 EXIT_UNREACHABLE);
	capture_close(&cap);
	ck_assert_str_eq(cap.out,
			 "health checks enabled\nno proxies\n"
			 "12:00:01 web 10.0.0.2:8080 target-unhealthy (connection-refused)\n");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	capture_free(&cap);
	lb_client_close(&c);
	json_decref(params);
}
END_TEST

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* In 300 ms SIGALRM sets the client's stop flag, as SIGINT does in lbctl. */
static void arm_stop(struct lb_client *c)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {.it_value = {.tv_usec = 300 * 1000}};

	stop_flag = 0;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	c->stop = &stop_flag;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* Interrupted while following: a normal end (exit 0), with what came so far printed. */
START_TEST(test_follow_interrupted)
{
	json_t *params = json_pack("{s:b}", "follow", 1);
	struct capture cap;
	struct lb_client c;
	int peer = connect_pair(&c, 2000);
	int64_t t0 = lb_client_now_ms();

	put(peer, HEALTH_REPLY EV_DOWN);
	arm_stop(&c);
	capture_open(&cap, true);
	ck_assert_int_eq(lb_stream_call(&c, "health", params, LB_STREAM_FOLLOW, &cap.s), EXIT_OK);
	capture_close(&cap);
	ck_assert_int_ge(lb_client_now_ms() - t0, 250);
	ck_assert_int_lt(lb_client_now_ms() - t0, 2000);
	ck_assert_ptr_nonnull(strstr(cap.out, "target-unhealthy"));
	ck_assert_str_eq(cap.err, "");
	capture_free(&cap);
	close(peer);
	lb_client_close(&c);
	json_decref(params);
}
END_TEST

/* drain --wait: progress lines on stderr, the outcome on stdout, exit status by outcome. */
START_TEST(test_wait)
{
	static const struct {
		const char *end;
		int rc;
		const char *out, *err_tail, *json_end;
	} ends[] = {
		{DRAIN_END("completed", 0, 12345), EXIT_OK,
		 "drained web 10.0.0.1:8080: no connections left after 12.3s (10 at the start)\n",
		 "", DRAIN_ST("completed", 0, 12345)},
		{DRAIN_END("timeout", 3, 60000), EXIT_DRAIN_TIMEOUT, "",
		 "lbctl: drain of web 10.0.0.1:8080 timed out after 60.0s with 3 connections "
		 "left; they were not cut\n",
		 DRAIN_ST("timeout", 3, 60000)},
		{DRAIN_END("cancelled", 3, 7000), EXIT_DRAIN_CANCELLED, "",
		 "lbctl: drain of web 10.0.0.1:8080 was cancelled (undrain)\n",
		 DRAIN_ST("cancelled", 3, 7000)},
	};
	static const char progress[] =
		"draining web 10.0.0.1:8080: 5 of 10 connections left, 1.0s of 60.0s\n"
		"draining web 10.0.0.1:8080: 3 of 10 connections left, 5.0s of 60.0s\n";
	char script[2048], err[1024], req[512], json_out[1024];
	struct capture cap;

	snprintf(script, sizeof(script), "%s%s%s", PROGRESS(5, 1000),
		 EV_DOWN /* not drain-progress: skipped */, PROGRESS(3, 5000));
	strcat(script, ends[_i].end);
	ck_assert_int_eq(stream_call(&cap, false, 2000, "drain",
				     "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\","
				     "\"timeout-ms\":60000,\"wait\":true}",
				     script, false, req, sizeof(req)),
			 ends[_i].rc);
	ck_assert_str_eq(req,
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"drain\",\"params\":"
			 "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"timeout-ms\":60000,"
			 "\"wait\":true}}\n");
	ck_assert_str_eq(cap.out, ends[_i].out);
	snprintf(err, sizeof(err), "%s%s", progress, ends[_i].err_tail);
	ck_assert_str_eq(cap.err, err);
	capture_free(&cap);

	/* --json: every progress and the result as JSON lines; the same exit status. */
	ck_assert_int_eq(
		stream_call(&cap, true, 2000, "drain",
			    "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"wait\":true}",
			    script, false, NULL, 0),
		ends[_i].rc);
	ck_assert_str_eq(cap.err, ends[_i].err_tail);
	snprintf(json_out, sizeof(json_out), "%s\n%s\n%s\n", DRAIN_ST("draining", 5, 1000),
		 DRAIN_ST("draining", 3, 5000), ends[_i].json_end);
	ck_assert_str_eq(cap.out, json_out);
	capture_free(&cap);
}
END_TEST

/*
 * The reply timeout (200 ms) does not cut a wait: with a drain timeout of 100 ms, lbctl
 * waits 10.1 s; the progress comes at 300 ms and the end at 500 ms.
 */
START_TEST(test_wait_outlives_reply_timeout)
{
	struct capture cap;
	struct lb_client c;
	int peer = connect_pair(&c, 200), status;
	json_t *params;
	pid_t child;

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		usleep(300 * 1000);
		put(peer, PROGRESS(1, 300));
		usleep(200 * 1000);
		put(peer, DRAIN_END("completed", 0, 500));
		_exit(0);
	}
	close(peer);
	params = json_pack("{s:s, s:s, s:i, s:b}", "proxy", "web", "target", "10.0.0.1:8080",
			   "timeout-ms", 100, "wait", 1);
	capture_open(&cap, false);
	ck_assert_int_eq(lb_stream_call(&c, "drain", params, LB_STREAM_WAIT, &cap.s), EXIT_OK);
	capture_close(&cap);
	ck_assert_int_eq(c.timeout_ms, 10100);
	ck_assert_str_eq(cap.err, "draining web 10.0.0.1:8080: 1 of 10 connections left, 0.3s of "
				  "60.0s\n");
	ck_assert_str_eq(cap.out, "drained web 10.0.0.1:8080: no connections left after 0.5s (10 "
				  "at the start)\n");
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	capture_free(&cap);
	lb_client_close(&c);
	json_decref(params);
}
END_TEST

/* Interrupted while waiting: -EINTR (lbctl says the drain goes on); hang-up: -ECONNRESET. */
START_TEST(test_wait_interrupted_or_cut)
{
	json_t *params =
		json_pack("{s:s, s:s, s:b}", "proxy", "web", "target", "10.0.0.1:8080", "wait", 1);
	struct capture cap;
	struct lb_client c;
	int peer = connect_pair(&c, 100);

	put(peer, PROGRESS(3, 5000));
	arm_stop(&c);
	capture_open(&cap, false);
	ck_assert_int_eq(lb_stream_call(&c, "drain", params, LB_STREAM_WAIT, &cap.s), -EINTR);
	capture_close(&cap);
	ck_assert_int_eq(c.timeout_ms, -1); /* no timeout-ms: no limit (and 100 ms passed) */
	ck_assert_str_eq(cap.out, "");
	ck_assert_ptr_nonnull(strstr(cap.err, "3 of 10 connections left"));
	capture_free(&cap);
	close(peer);
	lb_client_close(&c);

	ck_assert_int_eq(
		stream_call(&cap, false, 2000, "drain",
			    "{\"proxy\":\"web\",\"target\":\"10.0.0.1:8080\",\"wait\":true}",
			    PROGRESS(3, 5000), true, NULL, 0),
		-ECONNRESET);
	capture_free(&cap);
	json_decref(params);
}
END_TEST

/* A request longer than lbd takes is not sent at all: lbd would refuse it anyway. */
START_TEST(test_oversized_request_not_sent)
{
	struct lb_client c;
	int peer = connect_pair(&c, 2000);
	char *big = malloc(LB_RPC_MAX_REQUEST + 1), byte;
	json_t *params, *resp = NULL;

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', LB_RPC_MAX_REQUEST);
	big[LB_RPC_MAX_REQUEST] = '\0';
	params = json_pack("{s:s}", "blob", big);
	ck_assert_int_eq(lb_client_call(&c, "status", params, &resp, NULL, NULL), -EMSGSIZE);
	ck_assert_ptr_null(resp);
	ck_assert_int_eq(recv(peer, &byte, 1, MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	json_decref(params);
	free(big);
	close(peer);
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
	tcase_add_test(tc, test_oversized_request_not_sent);
	tcase_add_test(tc, test_hangup_and_garbage);
	tcase_add_test(tc, test_connect_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kind_and_wait_limit);
	tcase_add_test(tc, test_follow);
	tcase_add_test(tc, test_follow_json);
	tcase_add_test(tc, test_follow_error);
	tcase_add_test(tc, test_follow_outlives_reply_timeout);
	tcase_add_test(tc, test_follow_interrupted);
	tcase_add_loop_test(tc, test_wait, 0, 3);
	tcase_add_test(tc, test_wait_outlives_reply_timeout);
	tcase_add_test(tc, test_wait_interrupted_or_cut);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	setenv("TZ", "UTC", 1); /* event time stamps are local time */
	tzset();
	sr = srunner_create(ctl_client_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
