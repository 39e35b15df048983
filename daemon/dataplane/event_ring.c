// SPDX-License-Identifier: MIT
#include "event_ring.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "lb_log.h"

struct lb_event_ring {
	uv_poll_t poll;
	struct ring_buffer *rb;
	lb_event_fn fn;
	void *arg;
	uint64_t read;
};

static int on_sample(void *ctx, void *data, size_t size)
{
	struct lb_event_ring *e = ctx;
	struct lb_event ev;

	if (size < sizeof(ev))
		return 0; /* not ours: the ring only carries struct lb_event */
	memcpy(&ev, data, sizeof(ev));
	e->read++;
	e->fn(e->arg, &ev);
	return 0;
}

void lb_event_ring_drain(struct lb_event_ring *e)
{
	int n = ring_buffer__consume(e->rb);

	if (n < 0)
		lb_warn("reading connection events: %s", strerror(-n));
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	(void)events;
	if (status < 0) {
		lb_warn("connection event ring: %s", uv_strerror(status));
		return;
	}
	lb_event_ring_drain(h->data);
}

struct lb_event_ring *lb_event_ring_start(uv_loop_t *loop, int ring_fd, lb_event_fn fn, void *arg,
					  char *err, size_t errlen)
{
	struct lb_event_ring *e = calloc(1, sizeof(*e));
	int ret;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->fn = fn;
	e->arg = arg;
	e->rb = ring_buffer__new(ring_fd, on_sample, e, NULL);
	if (!e->rb) {
		snprintf(err, errlen, "cannot read the connection event ring: %s", strerror(errno));
		free(e);
		return NULL;
	}
	ret = uv_poll_init(loop, &e->poll, ring_buffer__epoll_fd(e->rb));
	if (!ret) {
		e->poll.data = e;
		ret = uv_poll_start(&e->poll, UV_READABLE, on_readable);
		if (ret)
			uv_close((uv_handle_t *)&e->poll, NULL);
	}
	if (ret) {
		snprintf(err, errlen, "cannot poll the connection event ring: %s",
			 uv_strerror(ret));
		ring_buffer__free(e->rb);
		free(e);
		return NULL;
	}
	return e;
}

uint64_t lb_event_ring_read(const struct lb_event_ring *e)
{
	return e ? e->read : 0;
}

static void on_closed(uv_handle_t *h)
{
	struct lb_event_ring *e = h->data;

	ring_buffer__free(e->rb);
	free(e);
}

void lb_event_ring_stop(struct lb_event_ring *e)
{
	if (e)
		uv_close((uv_handle_t *)&e->poll, on_closed);
}
