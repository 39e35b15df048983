// SPDX-License-Identifier: MIT
/*
 * sni_watch.c - the pending connections' epoll set under one libuv handle (sni_watch.h).
 */
#include "sni_watch.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define WATCH_BATCH 64 /* events taken per wake-up; the rest wake the loop again */

static void on_epoll(uv_poll_t *p, int status, int events)
{
	struct lb_sni_watcher *ws = p->data;
	struct epoll_event ev[WATCH_BATCH];
	int n, i;

	(void)status;
	(void)events;
	n = epoll_wait(ws->epfd, ev, WATCH_BATCH, 0);
	ws->batch++;
	for (i = 0; i < n; i++) {
		struct lb_sni_watch *w = ev[i].data.ptr;
		int uv_events = 0;

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
	uv_close((uv_handle_t *)&ws->poll, watcher_closed);
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
