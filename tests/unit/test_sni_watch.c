// SPDX-License-Identifier: MIT
/*
 * Unit tests of the SNI sockets' shared epoll set (daemon/sni/sni_watch.h): what a batch
 * of events delivers when a callback changes the set under it, and the set driving libuv
 * (lb_sni_watcher_run()). Sockets are socketpairs, so no case needs a network.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sni_watch.h"

static uv_loop_t loop;
static struct lb_sni_watcher ws;

struct probe {
	struct lb_sni_watch w;
	int calls, events;
	struct probe *other; /* re-pointed by this probe's first callback, when set */
	int other_fd;	     /* ... to this socket (-1: only taken out) */
};

static void on_ready(struct lb_sni_watch *w, int status, int events)
{
	struct probe *p = w->data;

	ck_assert_int_eq(status, 0);
	p->calls++;
	p->events |= events;
	if (p->other) {
		struct probe *o = p->other;

		/* Done with its own socket: out of the set, as a connection handed on. */
		ck_assert_int_eq(lb_sni_watch_set(&ws, w, 0), 0);
		o->other = NULL;
		p->other = NULL;
		/* What conn_route() does when the early connect is re-dialled: out, new socket, in.
		 */
		ck_assert_int_eq(lb_sni_watch_set(&ws, &o->w, 0), 0);
		if (p->other_fd < 0)
			return;
		lb_sni_watch_init(&o->w, p->other_fd, on_ready, o);
		ck_assert_int_eq(lb_sni_watch_set(&ws, &o->w, EPOLLOUT), 0);
	}
}

/* One end of a socketpair whose send buffer is full: not writable until the peer reads. */
static int full_socket(int *peer)
{
	int sv[2];
	char buf[4096] = {0};

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	while (send(sv[0], buf, sizeof(buf), 0) > 0)
		;
	ck_assert_int_eq(errno, EAGAIN);
	*peer = sv[1];
	return sv[0];
}

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(lb_sni_watcher_open(&ws, &loop), 0);
}

static void watcher_closed(struct lb_sni_watcher *w)
{
	(void)w;
}

static bool ws_closed; /* closed by the test itself */

static void teardown(void)
{
	if (!ws_closed)
		lb_sni_watcher_close(&ws, watcher_closed);
	ws_closed = false;
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/*
 * Two writable sockets @fds[0] and @fds[2] (each with its peer next to it) watched for
 * EPOLLOUT by @a and @b; whichever is dispatched first takes the other out and, unless
 * @repoint is -1, puts it back on @repoint.
 */
static void watch_two(struct probe *a, struct probe *b, int fds[4], int repoint)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds + 2), 0);
	lb_sni_watch_init(&a->w, fds[0], on_ready, a);
	lb_sni_watch_init(&b->w, fds[2], on_ready, b);
	a->other = b;
	a->other_fd = repoint;
	b->other = a;
	b->other_fd = repoint;
	ck_assert_int_eq(lb_sni_watch_set(&ws, &a->w, EPOLLOUT), 0);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b->w, EPOLLOUT), 0);
}

static void unwatch_two(struct probe *a, struct probe *b, int fds[4])
{
	int i;

	ck_assert_int_eq(lb_sni_watch_set(&ws, &a->w, 0), 0);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b->w, 0), 0);
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

/* Run the loop until nothing is pending, a bounded number of times. */
static void spin(void)
{
	int i;

	for (i = 0; i < 8; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
}

/*
 * Two writable sockets in one batch; the first callback puts the other watch on a socket
 * that is not writable. The other socket's event of that batch must not reach it: it
 * would take a socket still connecting (or full) for a writable one.
 */
START_TEST(test_stale_event_skipped_after_rewatch)
{
	struct probe a = {0}, b = {0}, *first, *second;
	int fds[4], full_peer, full;
	char buf[65536];

	full = full_socket(&full_peer);
	watch_two(&a, &b, fds, full);
	spin();
	/* One callback ran and re-pointed the other, which never saw its old socket's event. */
	ck_assert_int_eq(a.calls + b.calls, 1);
	first = a.calls ? &a : &b;
	second = a.calls ? &b : &a;

	/* The new socket becomes writable: its own event arrives. */
	while (read(full_peer, buf, sizeof(buf)) > 0)
		;
	spin();
	ck_assert_int_eq(first->calls, 1);
	ck_assert_int_ge(second->calls, 1);
	ck_assert_int_eq(second->events, UV_WRITABLE);

	unwatch_two(&a, &b, fds);
	close(full);
	close(full_peer);
}
END_TEST

/* A watch taken out by an earlier callback of the batch gets nothing more from it. */
START_TEST(test_removed_watch_skipped)
{
	struct probe a = {0}, b = {0};
	int fds[4];

	watch_two(&a, &b, fds, -1);
	spin();
	ck_assert_int_eq(a.calls + b.calls, 1);
	ck_assert_int_eq(ws.watched, 0);
	unwatch_two(&a, &b, fds);
}
END_TEST

/* The loop is kept alive only while something is watched. */
START_TEST(test_loop_ref_follows_the_set)
{
	struct probe a = {0};
	int sa[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
	ck_assert_int_eq(uv_loop_alive(&loop), 0);
	lb_sni_watch_init(&a.w, sa[0], on_ready, &a);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &a.w, EPOLLIN), 0);
	ck_assert_int_ne(uv_loop_alive(&loop), 0);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &a.w, EPOLLIN | EPOLLOUT), 0);
	ck_assert_int_eq(ws.watched, 1);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &a.w, 0), 0);
	ck_assert_int_eq(ws.watched, 0);
	ck_assert_int_eq(uv_loop_alive(&loop), 0);
	close(sa[0]);
	close(sa[1]);
}
END_TEST

/* A readable socket nobody reads keeps the set busy; a timer must fire all the same. */
struct busy {
	struct lb_sni_watch w;
	uv_timer_t timer;
	int calls;
	bool fired;
};

static void on_busy(struct lb_sni_watch *w, int status, int events)
{
	struct busy *b = w->data;

	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(events, UV_READABLE);
	b->calls++; /* and reads nothing: the socket stays readable */
}

static void on_busy_timer(uv_timer_t *t)
{
	struct busy *b = t->data;

	b->fired = true;
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b->w, 0), 0);
	uv_close((uv_handle_t *)t, NULL);
}

/*
 * The set driving libuv: the busy socket is dispatched, libuv's timer fires though the
 * set never waits, the run ends when both are done, and the set is under libuv again.
 */
START_TEST(test_run_timer_fires_while_set_busy)
{
	struct busy b = {0};
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	ck_assert_int_eq(write(sp[1], "x", 1), 1);
	lb_sni_watch_init(&b.w, sp[0], on_busy, &b);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b.w, EPOLLIN), 0);
	ck_assert_int_eq(uv_timer_init(&loop, &b.timer), 0);
	b.timer.data = &b;
	ck_assert_int_eq(uv_timer_start(&b.timer, on_busy_timer, 20, 0), 0);

	ck_assert_int_eq(lb_sni_watcher_run(&ws), 0);
	ck_assert(b.fired);
	ck_assert_int_gt(b.calls, 1);
	ck_assert_int_eq(ws.watched, 0);

	/* Back under libuv: uv_run() dispatches the set's sockets again. */
	b.calls = 0;
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b.w, EPOLLIN), 0);
	spin();
	ck_assert_int_ge(b.calls, 1);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &b.w, 0), 0);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

static bool closed_ran;

static void on_watcher_closed(struct lb_sni_watcher *w)
{
	ck_assert_ptr_eq(w, &ws);
	closed_ran = true;
}

static void on_ready_close(struct lb_sni_watch *w, int status, int events)
{
	struct probe *p = w->data;

	(void)status;
	(void)events;
	p->calls++;
	ck_assert_int_eq(lb_sni_watch_set(&ws, w, 0), 0);
	lb_sni_watcher_close(&ws, on_watcher_closed); /* what lb_splicer_free() does on a stop */
	ws_closed = true;
}

static void on_later(uv_timer_t *t)
{
	*(bool *)t->data = true;
	uv_close((uv_handle_t *)t, NULL);
}

/* The watcher closed from one of its own callbacks: the rest of the loop runs under libuv. */
START_TEST(test_run_watcher_closed_under_it)
{
	struct probe a = {0};
	uv_timer_t later;
	bool later_ran = false;
	int sp[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	ck_assert_int_eq(write(sp[1], "x", 1), 1);
	lb_sni_watch_init(&a.w, sp[0], on_ready_close, &a);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &a.w, EPOLLIN), 0);
	ck_assert_int_eq(uv_timer_init(&loop, &later), 0);
	later.data = &later_ran;
	ck_assert_int_eq(uv_timer_start(&later, on_later, 10, 0), 0);
	closed_ran = false;

	ck_assert_int_eq(lb_sni_watcher_run(&ws), 0);
	ck_assert_int_eq(a.calls, 1);
	ck_assert(closed_ran);
	ck_assert(later_ran);
	close(sp[0]);
	close(sp[1]);
}
END_TEST

/* Two pipes with bytes waiting: a socket of the set starts reading the first, whose read
 * callback (libuv's) starts reading the second. */
struct late_read {
	struct lb_sni_watch w;
	uv_pipe_t pipe[2];
	char buf[16];
	ssize_t got[2];
};

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	struct late_read *r = h->data;

	(void)size;
	*buf = uv_buf_init(r->buf, sizeof(r->buf));
}

static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct late_read *r = s->data;
	int i = s == (uv_stream_t *)&r->pipe[1];

	(void)buf;
	r->got[i] = n;
	uv_close((uv_handle_t *)s, NULL);
	if (!i) /* from libuv's own poll: queued for its next one */
		ck_assert_int_eq(uv_read_start((uv_stream_t *)&r->pipe[1], on_alloc, on_pipe_read),
				 0);
}

static void on_start_reading(struct lb_sni_watch *w, int status, int events)
{
	struct late_read *r = w->data;

	(void)status;
	(void)events;
	ck_assert_int_eq(lb_sni_watch_set(&ws, w, 0), 0);
	/* From the set's dispatch: libuv only queues the descriptor for its next poll. */
	ck_assert_int_eq(uv_read_start((uv_stream_t *)&r->pipe[0], on_alloc, on_pipe_read), 0);
}

/*
 * Reads started from the set's callbacks and from libuv's own: libuv adds a descriptor to
 * its epoll set at its next poll (its uv_backend_timeout() says 0 meanwhile), so the set
 * must not wait before that poll: it would wait for ever, nothing else being due.
 */
START_TEST(test_run_makes_libuv_changes_before_waiting)
{
	struct late_read r = {.got = {0, 0}};
	int sp[3][2], i;

	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[i]), 0);
		ck_assert_int_eq(write(sp[i][1], "hello", 5), 5);
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(uv_pipe_init(&loop, &r.pipe[i], 0), 0);
		ck_assert_int_eq(uv_pipe_open(&r.pipe[i], sp[i][0]), 0);
		r.pipe[i].data = &r;
	}
	lb_sni_watch_init(&r.w, sp[2][0], on_start_reading, &r);
	ck_assert_int_eq(lb_sni_watch_set(&ws, &r.w, EPOLLIN), 0);

	ck_assert_int_eq(lb_sni_watcher_run(&ws), 0);
	ck_assert_int_eq(r.got[0], 5);
	ck_assert_int_eq(r.got[1], 5);
	for (i = 0; i < 3; i++)
		close(sp[i][1]);
	close(sp[2][0]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sni_watch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_stale_event_skipped_after_rewatch);
	tcase_add_test(tc, test_removed_watch_skipped);
	tcase_add_test(tc, test_loop_ref_follows_the_set);
	tcase_add_test(tc, test_run_timer_fires_while_set_busy);
	tcase_add_test(tc, test_run_watcher_closed_under_it);
	tcase_add_test(tc, test_run_makes_libuv_changes_before_waiting);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
