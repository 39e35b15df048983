// SPDX-License-Identifier: MIT
/*
 * Unit tests of the SNI sockets' shared epoll set (daemon/sni/sni_watch.h): what a batch
 * of events delivers when a callback changes the set under it. Sockets are socketpairs,
 * the loop runs with UV_RUN_NOWAIT, so every case is deterministic and needs no network.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
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

static void teardown(void)
{
	lb_sni_watcher_close(&ws, watcher_closed);
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

static Suite *suite(void)
{
	Suite *s = suite_create("sni_watch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_stale_event_skipped_after_rewatch);
	tcase_add_test(tc, test_removed_watch_skipped);
	tcase_add_test(tc, test_loop_ref_follows_the_set);
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
