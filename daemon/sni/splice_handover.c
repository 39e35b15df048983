// SPDX-License-Identifier: MIT
/*
 * splice_handover.c - spliced pairs handed from one lbd to the next (splice.h, "Hand-over").
 *
 * A frozen pair is a set of numbers, the bytes lbd holds for each side, and two sockets.
 * The numbers are everything the pump (splice_pump.c) and the sockmap offload
 * (splice_sockmap.c) know of the pair besides what the kernel keeps in the offload's maps,
 * which the record of the splicer carries: the next lbd continues with exactly the state
 * this one stopped with, and the kernel forwards the pair all along.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb_log.h"
#include "lb_splice_abi.h"
#include "splice_pump.h"
#include "splice_sockmap.h"

void lb_splicer_freeze(struct lb_splicer *s)
{
	struct lb_splice *sp;
	int i;

	for (sp = s->head; sp; sp = sp->next) {
		if (sp->ended)
			continue;
		for (i = 0; i < 2; i++)
			lb_splice_unwatch(sp, i);
		uv_timer_stop(&sp->flush_timer);
	}
}

void lb_splicer_thaw(struct lb_splicer *s)
{
	struct lb_splice *sp, *next;

	for (sp = s->head; sp; sp = next) {
		next = sp->next; /* a kick may end the pair, never release it at once */
		if (!sp->ended)
			lb_splice_pump_kick(sp);
	}
}

void lb_splicer_copy_new(struct lb_splicer *s)
{
	s->copy_new = s->ops != NULL;
}

/*
 * @sp, copied so far, into the kernel's sockmap, as lb_splice_start() would have put it
 * there: the offload counts from the moment it joins, the pump's totals stay. True when
 * it went in (it may still have a direction to hand over: the pump does that as always).
 */
static bool park_pair(struct lb_splicer *s, struct lb_splice *sp)
{
	int i, ret = s->ops->add(s->off, sp);

	if (ret) {
		if (!sp->ended)
			lb_debug("splice: a copied pair stays in user space over the restart: %s",
				 strerror(-ret));
		return false;
	}
	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];

		/* sockmap_flushed() compares against what lbd wrote since the base. */
		d->base = d->base > d->written ? d->base - d->written : 0;
		d->taken = 0; /* compared with the kernel's passed count, zero at the add */
	}
	lb_splice_pump_kick(sp);
	return true;
}

void lb_splicer_park(struct lb_splicer *s)
{
	struct lb_splice *sp, *next;
	size_t copied = 0, parked = 0;
	char why[256];
	int ret;

	for (sp = s->head; sp; sp = sp->next)
		copied += !sp->ended && sp->slot < 0;
	if (!copied)
		return;
	if (!s->ops) {
		ret = lb_splice_sockmap_open(&s->ops, &s->off, true, why, sizeof(why));
		if (ret) {
			lb_warn("%zu copied SNI connection%s pause until the next lbd runs: %s",
				copied, copied == 1 ? "" : "s", why);
			return;
		}
		s->copy_new = true;
	}
	for (sp = s->head; sp; sp = next) {
		next = sp->next; /* a kick may end the pair, never release it at once */
		if (!sp->ended && sp->slot < 0)
			parked += park_pair(s, sp);
	}
	lb_splicer_freeze(s); /* the kicks watched the pairs again: the kernel has them now */
	lb_info("%zu of %zu copied SNI connection%s handed to the kernel's sockmap until the "
		"next lbd runs",
		parked, copied, copied == 1 ? "" : "s");
}

/* The numbers of side @d as a JSON object. */
static json_t *side_json(const struct lb_splice_side *d)
{
	return json_pack("{s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
			 "s:I}",
			 "out", (json_int_t)d->out_len, "written", (json_int_t)d->written, "rd-eof",
			 d->rd_eof, "wr-shut", d->wr_shut, "held", d->held, "eof-wait", d->eof_wait,
			 "forwarded", d->forwarded, "late", d->late, "fwd-r0",
			 (json_int_t)d->fwd_r0, "taken", (json_int_t)d->taken, "late-left",
			 (json_int_t)d->late_left, "paused-read", (json_int_t)d->paused_read,
			 "paused-sent", (json_int_t)d->paused_sent, "cookie", (json_int_t)d->cookie,
			 "base", (json_int_t)d->base);
}

static int side_from_json(struct lb_splice_side *d, json_t *j)
{
	json_int_t out = 0, written, fwd_r0, taken, late_left, paused_read, paused_sent, cookie,
		   base;
	int rd_eof, wr_shut, held, eof_wait, forwarded, late;

	if (json_unpack(j,
			"{s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, "
			"s:I}",
			"out", &out, "written", &written, "rd-eof", &rd_eof, "wr-shut", &wr_shut,
			"held", &held, "eof-wait", &eof_wait, "forwarded", &forwarded, "late",
			&late, "fwd-r0", &fwd_r0, "taken", &taken, "late-left", &late_left,
			"paused-read", &paused_read, "paused-sent", &paused_sent, "cookie", &cookie,
			"base", &base) ||
	    out < 0)
		return -EPROTO;
	d->out_len = (size_t)out;
	d->written = (uint64_t)written;
	d->rd_eof = rd_eof;
	d->wr_shut = wr_shut;
	d->held = held;
	d->eof_wait = eof_wait;
	d->forwarded = forwarded;
	d->late = late;
	d->fwd_r0 = (uint64_t)fwd_r0;
	d->taken = (uint64_t)taken;
	d->late_left = (uint64_t)late_left;
	d->paused_read = (uint64_t)paused_read;
	d->paused_sent = (uint64_t)paused_sent;
	d->cookie = (uint64_t)cookie;
	d->base = (uint64_t)base;
	return 0;
}

/* @sp as a record: its numbers, the bytes it holds (client's side first), its sockets. */
static int pair_record(const struct lb_splice *sp, struct lb_fdrec *r)
{
	const struct lb_splice_side *c = &sp->side[LB_SP_CLIENT], *b = &sp->side[LB_SP_BACKEND];

	r->meta = json_pack("{s:s, s:i, s:I, s:[o, o]}", "kind", "splice", "slot", sp->slot,
			    "flush-ms", (json_int_t)sp->flush_ms, "sides", side_json(c),
			    side_json(b));
	r->blob_len = c->out_len + b->out_len;
	r->blob = malloc(r->blob_len ? r->blob_len : 1);
	if (!r->meta || !r->blob)
		return -ENOMEM;
	if (c->out_len)
		memcpy(r->blob, c->out + c->out_off, c->out_len);
	if (b->out_len)
		memcpy(r->blob + c->out_len, b->out + b->out_off, b->out_len);
	r->fds[0] = c->fd;
	r->fds[1] = b->fd;
	r->n_fds = 2;
	return 0;
}

int lb_splicer_export(struct lb_splicer *s, lb_splice_emit_fn emit, void *ctx)
{
	struct lb_fdrec r = {0};
	struct lb_splice *sp;
	int ret;

	if (s->ops) {
		ret = lb_splice_sockmap_export(s->off, &r);
		if (!ret)
			ret = emit(ctx, &r, NULL);
	} else {
		r.meta = json_pack("{s:s, s:s}", "kind", "splicer", "offload", "copy");
		ret = r.meta ? emit(ctx, &r, NULL) : -ENOMEM;
	}
	r.n_fds = 0; /* the descriptors stay the splicer's */
	lb_fdrec_release(&r);
	for (sp = s->head; sp && !ret; sp = sp->next) {
		if (sp->ended)
			continue;
		ret = pair_record(sp, &r);
		if (!ret)
			ret = emit(ctx, &r, sp->arg);
		r.n_fds = 0;
		lb_fdrec_release(&r);
	}
	return ret;
}

struct lb_splicer *lb_splicer_adopt(uv_loop_t *loop, struct lb_fdrec *r, char *err, size_t errlen)
{
	const char *offload = json_string_value(json_object_get(r->meta, "offload"));
	struct lb_splicer *s = calloc(1, sizeof(*s));
	int ret = 0;

	if (!s) {
		lb_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	s->loop = loop;
	if (offload && !strcmp(offload, "sockmap"))
		ret = lb_splice_sockmap_adopt(r, &s->ops, &s->off, err, errlen);
	else if (!offload || strcmp(offload, "copy"))
		ret = lb_errf(err, errlen, -EPROTO,
			      "the previous lbd's splicer record is malformed");
	if (!ret) {
		ret = lb_splicer_watch_open(s);
		if (ret) {
			if (s->ops)
				s->ops->close(s->off);
			ret = lb_errf(err, errlen, -EIO, "cannot poll spliced connections: %s",
				      uv_strerror(ret));
		}
	}
	if (ret) {
		free(s);
		errno = -ret;
		return NULL;
	}
	return s;
}

struct lb_splice *lb_splice_import(struct lb_splicer *s, struct lb_fdrec *r, lb_splice_done_fn done,
				   void *arg)
{
	json_t *sides = json_object_get(r->meta, "sides");
	json_int_t slot = json_integer_value(json_object_get(r->meta, "slot"));
	struct lb_splice *sp;
	int i, ret = -EPROTO;

	if (r->n_fds != 2 || json_array_size(sides) != 2 || slot < -1 || (slot >= 0 && !s->ops) ||
	    slot >= LB_SPLICE_MAX_PAIRS) {
		errno = EPROTO;
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	sp->s = s;
	sp->slot = (int)slot;
	sp->flush_ms = (uint64_t)json_integer_value(json_object_get(r->meta, "flush-ms"));
	sp->done = done;
	sp->arg = arg;
	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];

		d->fd = -1;
		if (side_from_json(d, json_array_get(sides, i)))
			goto err;
	}
	if (sp->side[0].out_len + sp->side[1].out_len != r->blob_len)
		goto err;
	for (i = 0; i < 2; i++) {
		struct lb_splice_side *d = &sp->side[i];
		size_t at = i ? sp->side[0].out_len : 0;

		if (!d->out_len)
			continue;
		d->out = malloc(d->out_len);
		if (!d->out) {
			ret = -ENOMEM;
			goto err;
		}
		memcpy(d->out, r->blob + at, d->out_len);
	}
	sp->side[LB_SP_CLIENT].fd = lb_fdrec_take_fd(r, 0);
	sp->side[LB_SP_BACKEND].fd = lb_fdrec_take_fd(r, 1);

	/* From here on the pair is running, as if lb_splice_start() had made it. */
	sp->next = s->head;
	if (s->head)
		s->head->prev = sp;
	s->head = sp;
	s->pairs++;
	s->active++;
	ret = lb_splice_pump_init(sp);
	if (ret) {
		sp->done_called = true;
		lb_splice_end(sp, -ret);
		errno = -ret;
		return NULL;
	}
	lb_splice_pump_kick(sp);
	return sp;

err:
	for (i = 0; i < 2; i++)
		free(sp->side[i].out);
	free(sp);
	errno = -ret;
	return NULL;
}

void lb_splicer_forget(struct lb_splicer *s)
{
	struct lb_splice *sp;

	if (!s)
		return;
	s->freeing = true;
	for (sp = s->head; sp; sp = sp->next) {
		lb_splice_forget(sp);
		if (!sp->done_called) {
			sp->done_called = true;
			sp->done(sp, &sp->final, sp->arg);
		}
	}
	/* The offload's maps: the next lbd holds descriptors of its own. */
	if (s->ops)
		s->ops->close(s->off);
	s->ops = NULL;
	s->off = NULL;
	lb_splicer_watch_close(s); /* s goes with the last of it and the pairs */
}
