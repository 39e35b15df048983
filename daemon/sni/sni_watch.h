/* SPDX-License-Identifier: MIT */
/*
 * sni_watch.h - readiness of sockets through one epoll set of lbd's own, polled by a
 * single libuv handle, or driving libuv (lb_sni_watcher_run()): the splicer's
 * (lb_splicer_watcher()), which holds the spliced pairs' sockets and the SNI acceptor's pending
 * connections (waiting for a ClientHello, or for the connect to their target) alike.
 *
 * Why not a uv_poll_t per socket: libuv's uv_poll_init() probes every descriptor with an
 * epoll ADD and DEL, every uv_poll_start() that changes the events is an ADD failing with
 * EEXIST then a MOD, every uv_close() a DEL; a pending connection cost 8 epoll_ctl() and
 * 2 ioctl() that way. Here it is one ADD and one DEL per socket.
 *
 * A watch is level-triggered. Its memory must stay valid until the loop's closing phase
 * after its last lb_sni_watch_set(..., 0): a batch being dispatched may still name it (it
 * is skipped, having no events). A watch taken out and put back into the set while a
 * batch is dispatched (a new socket, as when the early connect is re-dialled) gets none of
 * that batch's events: they were the old socket's. Level-triggered, a real one comes again.
 */
#ifndef LBD_SNI_WATCH_H
#define LBD_SNI_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct lb_sni_watch;

/* @status: 0, or UV_EBADF when the socket reported an error (SO_ERROR says which);
 * @events: UV_READABLE / UV_WRITABLE / UV_DISCONNECT, as a uv_poll_cb would see them. */
typedef void (*lb_sni_watch_cb)(struct lb_sni_watch *w, int status, int events);

struct lb_sni_watch {
	int fd;
	uint32_t events;   /* EPOLLIN / EPOLLOUT / EPOLLRDHUP registered now; 0: not in the set */
	uint64_t added_in; /* the watcher's batch when it last entered the set */
	lb_sni_watch_cb cb;
	void *data;
};

struct lb_sni_watcher {
	int epfd;
	uv_poll_t poll; /* referenced (keeps the loop alive) while watched > 0 */
	size_t watched; /* watches in the set */
	uint64_t batch; /* counts the batches dispatched: a watch added during one skips it */
	void (*closed)(struct lb_sni_watcher *ws); /* after lb_sni_watcher_close() */
	bool *closing_run; /* lb_sni_watcher_run()'s: set when the watcher closes under it */
};

/* Open the epoll set and poll it on @loop. 0 or -errno. */
int lb_sni_watcher_open(struct lb_sni_watcher *ws, uv_loop_t *loop);

/*
 * Run the watcher's loop as uv_run(UV_RUN_DEFAULT) would, the other way round: the set
 * holds libuv's own epoll descriptor, so a wake-up for a socket of the set costs one
 * epoll_wait() instead of libuv's and then the set's; libuv runs (UV_RUN_NOWAIT) when its
 * descriptor is ready, a timer is due, or it has work pending. Returns when neither libuv
 * nor the set has anything left (the set is then polled under libuv again), or, when the
 * watcher is closed meanwhile, once uv_run() has run what is left. 0, or -errno when the
 * set failed (logged; the loop went on under libuv to its end).
 */
int lb_sni_watcher_run(struct lb_sni_watcher *ws);

/* Stop polling; @closed runs once libuv has closed the handle (the set is closed then). */
void lb_sni_watcher_close(struct lb_sni_watcher *ws, void (*closed)(struct lb_sni_watcher *ws));

static inline void lb_sni_watch_init(struct lb_sni_watch *w, int fd, lb_sni_watch_cb cb, void *data)
{
	w->fd = fd;
	w->events = 0;
	w->cb = cb;
	w->data = data;
}

/*
 * Watch @w for @events (EPOLLIN, EPOLLOUT; 0 takes it out of the set, as it must be before
 * its socket is closed or handed on). 0 or -errno.
 */
int lb_sni_watch_set(struct lb_sni_watcher *ws, struct lb_sni_watch *w, uint32_t events);

#endif /* LBD_SNI_WATCH_H */
