// SPDX-License-Identifier: MIT
/*
 * splice_pump.c - the user-space pump of a spliced pair: recv() from one socket, send() to
 * the other, on the libuv loop and never blocking it.
 *
 * Every recv() lands in the splicer's shared scratch buffer and is sent on at once; only
 * what the peer's send buffer refuses is copied into a per-side buffer, so an idle or
 * fast pair holds no memory. While a side has such leftovers lbd stops reading its peer
 * (backpressure: a slow reader fills its sender's TCP window, not lbd's memory) and waits
 * for the side to become writable. A FIN read from one side becomes shutdown(SHUT_WR) on
 * the other once everything before it is out; an error on either side resets both.
 *
 * In a sockmap pair the kernel may hold bytes for a socket that it forwarded but has not
 * queued on it yet. Nothing lbd sends to that socket (bytes, FIN) may overtake them, so
 * lbd holds its own output until the offload's flushed() says they are in, looking again
 * on a timer: the kernel does not say when.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "splice_pump.h"

#define LB_SPLICE_FLUSH_MAX_MS 64 /* longest wait between two looks at a kernel flush */

static void lb_splice_pump_read(struct lb_splice *sp, int src);
static void lb_splice_pump_fin(struct lb_splice *sp, int dst);
static void lb_splice_pump_watch(struct lb_splice *sp, int i);
static void lb_splice_pump_close(struct lb_splice *sp);

int lb_splice_sock_error(int fd, int fallback)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || !err)
		return fallback;
	return err;
}

static bool pair_finished(const struct lb_splice *sp)
{
	const struct lb_splice_side *c = &sp->side[LB_SP_CLIENT], *b = &sp->side[LB_SP_BACKEND];

	return c->rd_eof && c->wr_shut && b->rd_eof && b->wr_shut;
}

static void on_flush_timer(uv_timer_t *t);

/* Look at the kernel's progress again soon, less and less soon while it makes none. */
static void wait_for_kernel(struct lb_splice *sp)
{
	if (uv_is_active((uv_handle_t *)&sp->flush_timer))
		return;
	sp->flush_ms = sp->flush_ms ? sp->flush_ms * 2 : 1;
	if (sp->flush_ms > LB_SPLICE_FLUSH_MAX_MS)
		sp->flush_ms = LB_SPLICE_FLUSH_MAX_MS;
	uv_timer_start(&sp->flush_timer, on_flush_timer, sp->flush_ms, 0);
}

/* lbd may write to side @dst now: nothing the kernel forwarded to it is still on its way. */
static bool may_send(struct lb_splice *sp, int dst)
{
	if (sp->slot < 0 || sp->s->ops->flushed(sp, dst))
		return true;
	sp->side[dst].held = true;
	wait_for_kernel(sp);
	return false;
}

/*
 * Bytes read from side @src while the kernel forwards it went out in order only if the
 * kernel forwarded nothing from @src since: they were passed to user space in the moment
 * forwarding began (splice_sockmap.c, step 5), so anything forwarded is newer. If it did,
 * the stream may be out of order and the pair is reset (EPROTO) rather than delivered
 * corrupt. Checked when they arrive and once they are all sent.
 */
static void check_late(struct lb_splice *sp, int src)
{
	struct lb_splice_side *s = &sp->side[src];

	if (!s->late)
		return;
	if (sp->s->ops->bytes(sp, src) != s->fwd_r0) {
		lb_splice_end(sp, EPROTO);
		return;
	}
	if (!sp->side[!src].out_len)
		s->late = false;
}

int lb_splice_queue(struct lb_splice *sp, int dst, const uint8_t *buf, size_t len)
{
	struct lb_splice_side *d = &sp->side[dst];
	uint8_t *out;

	if (d->out_off) {
		memmove(d->out, d->out + d->out_off, d->out_len);
		d->out_off = 0;
	}
	out = realloc(d->out, d->out_len + len);
	if (!out)
		return -ENOMEM;
	memcpy(out + d->out_len, buf, len);
	d->out = out;
	d->out_len += len;
	return 0;
}

/* Send @len bytes to side @dst, which holds nothing yet; keep what it refuses. 0 or -errno. */
static int send_or_keep(struct lb_splice *sp, int dst, const uint8_t *buf, size_t len)
{
	struct lb_splice_side *d = &sp->side[dst];
	ssize_t n;

	while (len && may_send(sp, dst)) {
		n = send(d->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return -errno;
		d->written += (size_t)n;
		buf += n;
		len -= (size_t)n;
	}
	return len ? lb_splice_queue(sp, dst, buf, len) : 0;
}

/* recv() returned 0 on side @src: the FIN (or, after a reset, the error) of its remote end. */
static void read_eof(struct lb_splice *sp, int src)
{
	struct lb_splice_side *s = &sp->side[src];
	int err = lb_splice_sock_error(s->fd, 0);

	if (err) {
		lb_splice_end(sp, err);
		return;
	}
	/* Not before every passed byte was read: they may still queue behind others. */
	if (sp->slot >= 0 && s->taken < sp->s->ops->passed(sp, src)) {
		s->eof_wait = true;
		wait_for_kernel(sp);
		return;
	}
	s->rd_eof = true;
	lb_splice_pump_fin(sp, !src);
}

/*
 * lbd read @n bytes from side @src although the kernel forwards it: bytes passed as
 * forwarding began (late: check_late()) or while the kernel paused (the peer is slow: they
 * count towards lb_sp_taken once sent on).
 */
static void read_while_forwarded(struct lb_splice *sp, int src, size_t n)
{
	struct lb_splice_side *s = &sp->side[src];

	if (s->late_left) {
		s->late_left -= n < s->late_left ? n : s->late_left;
		s->late = true;
	} else if (sp->s->ops->paused(sp, src)) {
		s->paused_read += n;
	} else {
		s->late = true; /* passed in the same moment, counted a moment later */
	}
}

/*
 * Side @dst holds nothing of lbd's any more: what lbd read from its peer is all in the
 * socket. Judge late bytes, and let a paused direction resume.
 */
static void peer_bytes_out(struct lb_splice *sp, int dst)
{
	int ret;

	check_late(sp, !dst);
	if (sp->ended || sp->slot < 0)
		return;
	ret = sp->s->ops->taken(sp, !dst);
	if (ret)
		lb_splice_end(sp, -ret);
}

static void lb_splice_pump_read(struct lb_splice *sp, int src)
{
	struct lb_splice_side *s = &sp->side[src], *d = &sp->side[!src];
	int reads = 0, ret;

	while (reads < LB_SPLICE_READS_PER_EVENT) {
		ssize_t n;

		if (sp->ended || s->rd_eof || d->out_len)
			return;
		n = recv(s->fd, sp->s->scratch, sizeof(sp->s->scratch), MSG_DONTWAIT);
		if (n > 0) {
			reads++;
			s->taken += (size_t)n;
			/* The kernel found the stream broken: deliver nothing more of it. */
			if (sp->slot >= 0 && sp->s->ops->broken(sp, src)) {
				lb_splice_end(sp, EPROTO);
				return;
			}
			if (s->forwarded)
				read_while_forwarded(sp, src, (size_t)n);
			check_late(sp, src);
			if (sp->ended)
				return;
			ret = send_or_keep(sp, !src, sp->s->scratch, (size_t)n);
			if (ret) {
				lb_splice_end(sp, lb_splice_sock_error(d->fd, -ret));
				return;
			}
			if (!d->out_len)
				peer_bytes_out(sp, !src);
			/*
			 * A short read emptied the socket: the next recv() would only say EAGAIN,
			 * a syscall per message for nothing. The poll is level-triggered, so
			 * whatever arrives meanwhile wakes lbd again. A sockmap pair reads on: its
			 * EAGAIN is the moment the kernel takes the direction over.
			 */
			if ((size_t)n < sizeof(sp->s->scratch) && sp->slot < 0)
				return;
			continue;
		}
		if (n == 0) {
			read_eof(sp, src);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			lb_splice_end(sp, errno);
			return;
		}
		/*
		 * Read dry and nothing of ours pending for the peer: the moment a sockmap pair
		 * hands this direction to the kernel. The recv() that follows at once collects
		 * what arrived while the kernel was being told.
		 */
		if (sp->slot < 0 || s->forwarded)
			return;
		ret = sp->s->ops->forward(sp, src);
		if (ret) {
			lb_splice_end(sp, -ret);
			return;
		}
	}
}

/* Side @i may be written to: send what it holds. True when it all went out. */
static bool flush_out(struct lb_splice *sp, int i)
{
	struct lb_splice_side *d = &sp->side[i];

	if (sp->ended || (d->out_len && !may_send(sp, i)))
		return false;
	while (d->out_len) {
		ssize_t n =
			send(d->fd, d->out + d->out_off, d->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0) {
			lb_splice_end(sp, lb_splice_sock_error(d->fd, errno));
			return false;
		}
		d->written += (size_t)n;
		d->out_off += (size_t)n;
		d->out_len -= (size_t)n;
	}
	free(d->out);
	d->out = NULL;
	d->out_off = 0;
	peer_bytes_out(sp, i);
	lb_splice_pump_fin(sp, i);
	return !sp->ended;
}

/* Side @i may be written to: send what it holds, then resume its peer's direction. */
static void flush(struct lb_splice *sp, int i)
{
	/*
	 * Read on at once: a sockmap pair may be waiting for this to hand the peer over, and
	 * a copying one saves a trip through the loop.
	 */
	if (flush_out(sp, i))
		lb_splice_pump_read(sp, !i);
}

static void on_flush_timer(uv_timer_t *t)
{
	struct lb_splice *sp = t->data;
	int i;

	for (i = 0; i < 2; i++) {
		if (sp->side[i].held) {
			sp->side[i].held = false;
			flush(sp, i);
		}
		if (sp->side[i].eof_wait) {
			sp->side[i].eof_wait = false;
			lb_splice_pump_read(sp, i);
		}
		lb_splice_pump_fin(sp, i);
	}
	/* Caught up: the next wait starts short again. */
	if (!sp->ended && !uv_is_active((uv_handle_t *)t))
		sp->flush_ms = 0;
	lb_splice_pump_watch(sp, LB_SP_CLIENT);
	lb_splice_pump_watch(sp, LB_SP_BACKEND);
}

static void lb_splice_pump_fin(struct lb_splice *sp, int dst)
{
	struct lb_splice_side *d = &sp->side[dst], *s = &sp->side[!dst];

	if (sp->ended || !s->rd_eof || d->wr_shut || d->out_len)
		return;
	/* A FIN must not cut off forwarded bytes the kernel still holds for this socket. */
	if (!may_send(sp, dst))
		return;
	if (shutdown(d->fd, SHUT_WR)) {
		lb_splice_end(sp, lb_splice_sock_error(d->fd, errno));
		return;
	}
	d->wr_shut = true;
	if (pair_finished(sp))
		lb_splice_end(sp, 0);
}

static void lb_splice_pump_watch(struct lb_splice *sp, int i)
{
	struct lb_splice_side *s = &sp->side[i];
	uint32_t events = 0;
	int ret;

	if (sp->ended)
		return;
	/* EPOLLRDHUP: a FIN wakes lbd even where the kernel forwards all the data. */
	if (!s->rd_eof && !s->eof_wait && !sp->side[!i].out_len)
		events |= EPOLLIN | EPOLLRDHUP;
	/* Held output waits for the timer: the socket itself is writable all along. */
	if (s->out_len && !s->held)
		events |= EPOLLOUT;
	ret = lb_sni_watch_set(&sp->s->watcher, &s->w, events);
	if (ret)
		lb_splice_end(sp, -ret);
}

void lb_splice_unwatch(struct lb_splice *sp, int i)
{
	/* Only fails for a descriptor that is no longer in the set. */
	lb_sni_watch_set(&sp->s->watcher, &sp->side[i].w, 0);
}

static void on_poll(struct lb_sni_watch *w, int status, int events)
{
	struct lb_splice *sp = w->data;
	int i = w == &sp->side[LB_SP_CLIENT].w ? LB_SP_CLIENT : LB_SP_BACKEND;

	/* The watcher reports EPOLLERR as UV_EBADF: the socket says why. */
	if (status < 0) {
		lb_splice_end(sp, lb_splice_sock_error(sp->side[i].fd, -status));
		return;
	}
	if (events & UV_WRITABLE)
		flush(sp, i);
	if (events & (UV_READABLE | UV_DISCONNECT))
		lb_splice_pump_read(sp, i);
	lb_splice_pump_watch(sp, LB_SP_CLIENT);
	lb_splice_pump_watch(sp, LB_SP_BACKEND);
}

/* The last handle of ended @sp closed: run done unless it ran, free @sp (and the splicer). */
static void release(struct lb_splice *sp)
{
	struct lb_splicer *s = sp->s;

	if (!sp->done_called) {
		sp->done_called = true;
		sp->done(sp, &sp->final, sp->arg);
	}
	if (sp->prev)
		sp->prev->next = sp->next;
	else
		s->head = sp->next;
	if (sp->next)
		sp->next->prev = sp->prev;
	free(sp);
	if (!--s->pairs && s->freeing)
		free(s);
}

static void on_close(uv_handle_t *h)
{
	struct lb_splice *sp = h->data;

	if (!--sp->handles)
		release(sp);
}

int lb_splice_pump_init(struct lb_splice *sp)
{
	int i;

	uv_timer_init(sp->s->loop, &sp->flush_timer);
	sp->flush_timer.data = sp;
	sp->handles = 1;
	for (i = 0; i < 2; i++)
		lb_sni_watch_init(&sp->side[i].w, sp->side[i].fd, on_poll, sp);
	return 0;
}

static void watcher_closed(struct lb_sni_watcher *ws)
{
	struct lb_splicer *s =
		(struct lb_splicer *)((char *)ws - offsetof(struct lb_splicer, watcher));

	if (!--s->pairs && s->freeing)
		free(s);
}

int lb_splicer_watch_open(struct lb_splicer *s)
{
	int ret = lb_sni_watcher_open(&s->watcher, s->loop);

	if (!ret)
		s->pairs++;
	return ret;
}

void lb_splicer_watch_close(struct lb_splicer *s)
{
	lb_sni_watcher_close(&s->watcher, watcher_closed);
}

void lb_splice_pump_kick(struct lb_splice *sp)
{
	if (sp->slot < 0) {
		/*
		 * Copying: send the prefix and let the (level-triggered) polls say when either
		 * side has something. Reading now would nearly always find nothing: the
		 * backend has not seen the ClientHello yet, the client waits for the answer.
		 */
		flush_out(sp, LB_SP_BACKEND);
		flush_out(sp, LB_SP_CLIENT);
		lb_splice_pump_watch(sp, LB_SP_CLIENT);
		lb_splice_pump_watch(sp, LB_SP_BACKEND);
		return;
	}
	/*
	 * Backend first: in sockmap mode its direction is handed to the kernel before the
	 * prefix goes out, so a backend that answers at once is forwarded, not read here.
	 * flush() then sends the prefix and reads the client on.
	 */
	lb_splice_pump_read(sp, LB_SP_BACKEND);
	flush(sp, LB_SP_BACKEND);
	flush(sp, LB_SP_CLIENT);
	lb_splice_pump_watch(sp, LB_SP_CLIENT);
	lb_splice_pump_watch(sp, LB_SP_BACKEND);
}

static void lb_splice_pump_close(struct lb_splice *sp)
{
	uv_close((uv_handle_t *)&sp->flush_timer, on_close);
}

struct lb_splice_stats lb_splice_pair_stats(const struct lb_splice *sp)
{
	struct lb_splice_stats st = {0};

	if (sp->ended)
		return sp->final;
	st.bytes_to_backend = sp->side[LB_SP_BACKEND].written;
	st.bytes_to_client = sp->side[LB_SP_CLIENT].written;
	if (sp->slot >= 0) {
		st.bytes_to_backend += sp->s->ops->bytes(sp, LB_SP_CLIENT);
		st.bytes_to_client += sp->s->ops->bytes(sp, LB_SP_BACKEND);
	}
	return st;
}

void lb_splice_close_reset(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

void lb_splice_end(struct lb_splice *sp, int err)
{
	struct lb_splicer *s = sp->s;
	int i;

	if (sp->ended)
		return;
	sp->final = lb_splice_pair_stats(sp);
	sp->final.error = err;
	sp->ended = true;

	/* Out of the maps first: a socket leaving the sockmap must not be redirected to. */
	if (sp->slot >= 0)
		s->ops->remove(sp);
	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];

		lb_splice_unwatch(sp, i);
		if (err)
			lb_splice_close_reset(d->fd);
		else
			close(d->fd);
		d->fd = -1;
		free(d->out);
		d->out = NULL;
		d->out_len = 0;
	}
	uv_timer_stop(&sp->flush_timer);
	s->active--;
	lb_splice_pump_close(sp);
}

void lb_splice_forget(struct lb_splice *sp)
{
	struct lb_splicer *s = sp->s;
	int i;

	if (sp->ended)
		return;
	sp->final = lb_splice_pair_stats(sp);
	sp->final.error = ECANCELED;
	sp->ended = true;
	sp->slot = -1; /* still in the offload's maps: the next lbd runs it there */
	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];

		lb_splice_unwatch(sp, i);
		close(d->fd); /* the next lbd's descriptor keeps the socket open */
		d->fd = -1;
		free(d->out);
		d->out = NULL;
		d->out_len = 0;
	}
	uv_timer_stop(&sp->flush_timer);
	s->active--;
	lb_splice_pump_close(sp);
}
