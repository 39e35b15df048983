// SPDX-License-Identifier: MIT
/*
 * splicer.c - the front of the splicer (splice.h): which mechanism a splicer uses, starting pairs,
 * their statistics. The bytes themselves move in splice_pump.c (user space) and, where the kernel
 * can, through the offload of splice_sockmap.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lb_log.h"
#include "splice_pump.h"
#include "splice_sockmap.h"

struct lb_splicer *lb_splicer_new(uv_loop_t *loop, enum lb_splice_mode mode, char *err,
				  size_t errlen)
{
	struct lb_splicer *s;
	char why[256];
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->loop = loop;
	ret = lb_splicer_watch_open(s);
	if (ret) {
		snprintf(err, errlen, "cannot poll spliced connections: %s", uv_strerror(ret));
		free(s);
		errno = EIO;
		return NULL;
	}
	/*
	 * Auto copies: on bench/sni_vs_haproxy.sh the copy moved bulk data 1.3-2.5x as fast
	 * as the sockmap (whose verdict program forwards skb by skb) and was within noise of it on
	 * new TLS connections and keep-alive requests (bench/README.md). The sockmap stays
	 * what "sockmap" asks for.
	 */
	if (mode != LB_SPLICE_SOCKMAP)
		return s;
	ret = lb_splice_sockmap_open(&s->ops, &s->off, false, why, sizeof(why));
	if (!ret) {
		lb_warn("sni-splice \"sockmap\": a client that sends without reading can make the "
			"kernel hold what it sends (hundreds of MB measured on Linux 6.18: bytes "
			"passed by the verdict program are not charged to the socket, so its TCP "
			"window never closes); \"copy\" (the default, \"auto\") has no such "
			"exposure");
		return s;
	}
	snprintf(err, errlen, "%s", why);
	s->freeing = true;
	lb_splicer_watch_close(s); /* frees s */
	errno = -ret;
	return NULL;
}

struct lb_sni_watcher *lb_splicer_watcher(struct lb_splicer *s)
{
	return &s->watcher;
}

int lb_splicer_run(struct lb_splicer *s)
{
	return lb_sni_watcher_run(&s->watcher);
}

const char *lb_splicer_kind(const struct lb_splicer *s)
{
	return s->ops && !s->copy_new ? s->ops->name : "copy";
}

size_t lb_splicer_active(const struct lb_splicer *s)
{
	return s->active;
}

struct lb_splice *lb_splice_start(struct lb_splicer *s, int client_fd, int backend_fd,
				  const uint8_t *prefix, size_t prefix_len, lb_splice_done_fn done,
				  void *arg)
{
	struct lb_splice *sp = NULL;
	int ret = -EINVAL;

	if (!s || s->freeing || client_fd < 0 || backend_fd < 0 || !done ||
	    (prefix_len && !prefix)) {
		ret = s && s->freeing ? -ESHUTDOWN : -EINVAL;
		goto err_fds;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		ret = -ENOMEM;
		goto err_fds;
	}
	sp->s = s;
	sp->slot = -1;
	sp->done = done;
	sp->arg = arg;
	sp->side[LB_SP_CLIENT].fd = client_fd;
	sp->side[LB_SP_BACKEND].fd = backend_fd;
	if (prefix_len) {
		sp->side[LB_SP_BACKEND].out = malloc(prefix_len);
		if (!sp->side[LB_SP_BACKEND].out) {
			ret = -ENOMEM;
			goto err_free;
		}
		memcpy(sp->side[LB_SP_BACKEND].out, prefix, prefix_len);
		sp->side[LB_SP_BACKEND].out_len = prefix_len;
	}

	/* From here on the pair is running: lb_splice_end() undoes everything. */
	sp->next = s->head;
	if (s->head)
		s->head->prev = sp;
	s->head = sp;
	s->pairs++;
	s->active++;
	ret = lb_splice_pump_init(sp);
	if (ret) {
		sp->done_called = true; /* the caller learns from NULL, not from done */
		lb_splice_end(sp, -ret);
		errno = -ret;
		return NULL;
	}
	if (s->ops && !s->copy_new) {
		ret = s->ops->add(s->off, sp);
		if (ret && !sp->ended)
			lb_debug("splice: copying this pair in user space: %s", strerror(-ret));
	}
	lb_splice_pump_kick(sp); /* a no-op if the pair already ended: done reports why */
	return sp;

err_free:
	free(sp);
err_fds:
	if (client_fd >= 0)
		lb_splice_close_reset(client_fd);
	if (backend_fd >= 0)
		close(backend_fd);
	errno = -ret;
	return NULL;
}

struct lb_splice_stats lb_splice_stats(const struct lb_splice *sp)
{
	return lb_splice_pair_stats(sp);
}

void lb_splicer_free(struct lb_splicer *s)
{
	struct lb_splice *sp;

	if (!s)
		return;
	s->freeing = true;
	/*
	 * done runs here, synchronously, for every pair that has not reported yet (running
	 * ones end with ECANCELED), so that their owner can release what it tied to them
	 * before it goes away itself. The pairs' memory goes when their handles have closed.
	 */
	for (sp = s->head; sp; sp = sp->next) {
		lb_splice_end(sp, ECANCELED);
		if (!sp->done_called) {
			sp->done_called = true;
			sp->done(sp, &sp->final, sp->arg);
		}
	}
	if (s->ops)
		s->ops->close(s->off);
	s->ops = NULL;
	s->off = NULL;
	lb_splicer_watch_close(s); /* s goes with the last of it and the pairs */
}
