// SPDX-License-Identifier: MIT
/*
 * sni_watch.c - the SNI sockets' epoll set, under one libuv handle or driving libuv
 * (sni_watch.h).
 */
#include "sni_watch.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lb_log.h"

#define WATCH_BATCH 64 /* events taken per wake-up; the rest wake the loop again */

/* Deliver a batch of @n events; true when libuv's own descriptor (data.ptr == @ws) was one. */
static bool dispatch(struct lb_sni_watcher *ws, const struct epoll_event *ev, int n)
{
	bool uv_ready = false;
	int i;

	ws->batch++;
	for (i = 0; i < n; i++) {
		struct lb_sni_watch *w = ev[i].data.ptr;
		int uv_events = 0;

		if (ev[i].data.ptr == ws) {
			uv_ready = true;
			continue;
		}
		/*
		 * Taken out of the set by an earlier callback of this batch, or taken out and
		 * put back: then the event is the old socket's, and the new one, if ready, is
		 * reported by the next epoll_wait().
		 */
		if (!w->events || w->added_in == ws->batch)
			continue;
		if (ev[i].events & EPOLLERR) {
			w->cb(w, UV_EBADF, 0);
			continue;
		}
		/* A hang-up shows as what was asked for: the read or the write says the rest. */
		if (ev[i].events & (EPOLLIN | EPOLLHUP))
			uv_events |= (w->events & EPOLLIN) ? UV_READABLE : 0;
		if (ev[i].events & (EPOLLOUT | EPOLLHUP))
			uv_events |= (w->events & EPOLLOUT) ? UV_WRITABLE : 0;
		if (ev[i].events & (EPOLLRDHUP | EPOLLHUP))
			uv_events |= (w->events & EPOLLRDHUP) ? UV_DISCONNECT : 0;
		if (uv_events)
			w->cb(w, 0, uv_events);
	}
	return uv_ready;
}

static void on_epoll(uv_poll_t *p, int status, int events)
{
	struct lb_sni_watcher *ws = p->data;
	struct epoll_event ev[WATCH_BATCH];
	int n;

	(void)status;
	(void)events;
	n = epoll_wait(ws->epfd, ev, WATCH_BATCH, 0);
	dispatch(ws, ev, n > 0 ? n : 0);
}

int lb_sni_watcher_open(struct lb_sni_watcher *ws, uv_loop_t *loop)
{
	int ret;

	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ws->epfd < 0)
		return -errno;
	ret = uv_poll_init(loop, &ws->poll, ws->epfd);
	if (!ret) {
		ws->poll.data = ws;
		ret = uv_poll_start(&ws->poll, UV_READABLE, on_epoll);
		ws->watched = 0;
		ws->batch = 0;
		ws->closing_run = NULL;
		uv_unref((uv_handle_t *)&ws->poll);
		if (ret)
			uv_close((uv_handle_t *)&ws->poll, NULL);
	}
	if (ret) {
		close(ws->epfd);
		ws->epfd = -1;
	}
	return ret;
}

static void watcher_closed(uv_handle_t *h)
{
	struct lb_sni_watcher *ws = h->data;

	close(ws->epfd);
	ws->epfd = -1;
	ws->closed(ws);
}

void lb_sni_watcher_close(struct lb_sni_watcher *ws, void (*closed)(struct lb_sni_watcher *ws))
{
	ws->closed = closed;
	if (ws->closing_run) {
		/* Driving: the run goes on under uv_run() (its poll was stopped, so it closes). */
		*ws->closing_run = true;
		ws->closing_run = NULL;
	}
	uv_close((uv_handle_t *)&ws->poll, watcher_closed);
}

/* Put libuv's own descriptor into the set (@drive) or the set back under libuv. 0 or -errno. */
static int nest(struct lb_sni_watcher *ws, bool drive)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = ws};
	int ret;

	if (drive) {
		ret = uv_poll_stop(&ws->poll); /* out of libuv's set: a set may not hold itself */
		if (!ret && epoll_ctl(ws->epfd, EPOLL_CTL_ADD, uv_backend_fd(ws->poll.loop), &ev))
			ret = -errno;
		if (ret)
			uv_poll_start(&ws->poll, UV_READABLE, on_epoll);
		return ret;
	}
	epoll_ctl(ws->epfd, EPOLL_CTL_DEL, uv_backend_fd(ws->poll.loop), &ev);
	return uv_poll_start(&ws->poll, UV_READABLE, on_epoll);
}

/* How long the set may wait for libuv: until its next timer, 0 if it has work now. */
static int uv_wait_ms(uv_loop_t *loop)
{
	/* A loop with nothing alive has nothing to wait for (it says 0, and runs nothing). */
	if (!uv_loop_alive(loop))
		return -1;
	/* 0 too when its callbacks asked for changes to its own epoll set: its next poll
	 * makes them, and until then its descriptor cannot report what they are for. */
	return uv_backend_timeout(loop);
}

int lb_sni_watcher_run(struct lb_sni_watcher *ws)
{
	uv_loop_t *loop = ws->poll.loop;
	struct epoll_event ev[WATCH_BATCH];
	bool closed = false, run_uv = true;
	int n, ret = nest(ws, true);

	if (ret)
		return ret;
	ws->closing_run = &closed;
	for (;;) {
		/* libuv's turn: its timers, its descriptors, its closing handles. */
		if (run_uv) {
			uv_run(loop, UV_RUN_NOWAIT);
			if (closed)
				break;
		}
		if (!ws->watched && !uv_loop_alive(loop))
			break;
		n = epoll_wait(ws->epfd, ev, WATCH_BATCH, uv_wait_ms(loop));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		run_uv = dispatch(ws, ev, n > 0 ? n : 0);
		if (closed)
			break;
		if (!run_uv) {
			/* A timer that fell due while sockets kept the set busy is libuv's too. */
			uv_update_time(loop);
			run_uv = uv_wait_ms(loop) == 0;
		}
	}
	if (closed) {
		/* @ws may be gone: what is left runs on libuv alone. */
		uv_run(loop, UV_RUN_DEFAULT);
		return 0;
	}
	ws->closing_run = NULL;
	n = nest(ws, false);
	if (ret)
		lb_warn("SNI sockets' epoll set: %s; libuv polls it from now on", strerror(-ret));
	if (n)
		lb_err("SNI sockets' epoll set: cannot poll it on libuv's loop: %s",
		       uv_strerror(n));
	else if (ret)
		uv_run(loop, UV_RUN_DEFAULT);
	return ret ? ret : n;
}

int lb_sni_watch_set(struct lb_sni_watcher *ws, struct lb_sni_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};
	int op;

	if (events == w->events)
		return 0;
	op = !w->events ? EPOLL_CTL_ADD : events ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
	if (epoll_ctl(ws->epfd, op, w->fd, &ev) && !(op == EPOLL_CTL_DEL && errno == EBADF))
		return -errno;
	w->events = events;
	if (op == EPOLL_CTL_ADD)
		w->added_in = ws->batch;
	/* The loop stays alive for the set only while it watches something. */
	if (op == EPOLL_CTL_ADD && !ws->watched++)
		uv_ref((uv_handle_t *)&ws->poll);
	else if (op == EPOLL_CTL_DEL && !--ws->watched)
		uv_unref((uv_handle_t *)&ws->poll);
	return 0;
}
