// SPDX-License-Identifier: MIT
/* stream.c - health --follow, stats --follow and drain --wait (see stream.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exit_status.h"
#include "format.h"
#include "stream.h"

#define WAIT_MARGIN_MS 10000 /* beyond the drain's timeout, for lbd to notice and answer */

enum lb_stream_kind lb_stream_kind_of(const char *method, const json_t *params)
{
	if ((!strcmp(method, "health") || !strcmp(method, "stats")) &&
	    json_is_true(json_object_get(params, "follow")))
		return LB_STREAM_FOLLOW;
	if (!strcmp(method, "drain") && json_is_true(json_object_get(params, "wait")))
		return LB_STREAM_WAIT;
	return LB_STREAM_NONE;
}

int lb_stream_wait_limit_ms(const json_t *params, int reply_timeout_ms)
{
	const json_t *t = json_object_get(params, "timeout-ms");
	json_int_t limit;

	if (!json_is_integer(t) || json_integer_value(t) < 0 || reply_timeout_ms < 0)
		return -1;
	limit = json_integer_value(t) + WAIT_MARGIN_MS;
	if (limit > INT32_MAX)
		return -1;
	return limit > reply_timeout_ms ? (int)limit : reply_timeout_ms;
}

static void json_line(const struct lb_stream *s, const json_t *v)
{
	lb_format_json_line(s->out, v);
	fflush(s->out);
}

/* A notification of @method: its params (never NULL), else NULL. */
static const json_t *note_params(const json_t *msg, const char *method)
{
	const char *m = json_string_value(json_object_get(msg, "method"));
	const json_t *params = json_object_get(msg, "params");

	if (json_object_get(msg, "id") || !m || strcmp(m, method))
		return NULL;
	return params ? params : json_null();
}

/* What a follow prints: the notifications of one method, of one proxy or all. */
struct follow_filter {
	bool stats;	   /* "stats-event", else "health-event" */
	const char *proxy; /* stats: only this proxy's connections; NULL: all */
};

static void print_event(const struct lb_stream *s, const struct follow_filter *f, const json_t *msg)
{
	const json_t *ev = note_params(msg, f->stats ? "stats-event" : "health-event");
	const char *proxy;

	if (!ev)
		return;
	proxy = json_string_value(json_object_get(ev, "proxy"));
	if (f->stats && f->proxy && (!proxy || strcmp(proxy, f->proxy)))
		return;
	if (s->json)
		json_line(s, ev);
	else if (f->stats)
		lb_format_stats_event(s->out, ev);
	else
		lb_format_health_event(s->out, ev, s->clock ? s->clock() : time(NULL));
	fflush(s->out);
}

struct call_ctx {
	const struct lb_stream *s;
	json_t *early; /* follow: events that came before the reply, printed after it */
};

static void on_note(const json_t *msg, void *arg)
{
	struct call_ctx *ctx = arg;
	const json_t *progress;

	if (ctx->early) {
		json_array_append(ctx->early, (json_t *)msg);
		return;
	}
	progress = note_params(msg, "drain-progress");
	if (!progress)
		return;
	if (ctx->s->json) {
		json_line(ctx->s, progress);
	} else {
		lb_format_drain_line(ctx->s->err, progress);
		fflush(ctx->s->err);
	}
}

/* The final status of a wait: printed, and its exit status. */
static int wait_outcome(const struct lb_stream *s, const json_t *result)
{
	const char *status = json_string_value(json_object_get(result, "status"));
	int rc = EXIT_OK;

	if (status && !strcmp(status, "timeout"))
		rc = EXIT_DRAIN_TIMEOUT;
	else if (status && !strcmp(status, "cancelled"))
		rc = EXIT_DRAIN_CANCELLED;
	if (s->json)
		json_line(s, result);
	else if (rc == EXIT_OK)
		lb_format_result(s->out, "drain", result);
	if (rc != EXIT_OK) {
		fputs("lbctl: ", s->err);
		lb_format_drain_line(s->err, result);
	}
	return rc;
}

/* Print @resp; its exit status, or -EPROTO when it has neither result nor error. */
static int print_reply(const struct lb_stream *s, const char *method, const json_t *resp,
		       enum lb_stream_kind kind)
{
	const json_t *error = json_object_get(resp, "error"), *result;

	result = json_object_get(resp, "result");
	if (json_is_object(error)) {
		if (s->json)
			json_line(s, error);
		lb_format_error(s->err, error);
		return EXIT_DAEMON_ERROR;
	}
	if (!result)
		return -EPROTO;
	if (kind == LB_STREAM_WAIT)
		return wait_outcome(s, result);
	if (s->json)
		json_line(s, result);
	else
		lb_format_result(s->out, method, result);
	fflush(s->out);
	return EXIT_OK;
}

/* After the reply: events until lbd hangs up or the user interrupts. No timeout. */
static int follow(struct lb_client *c, const struct lb_stream *s, const struct follow_filter *f)
{
	json_t *msg;
	int r;

	for (;;) {
		r = lb_client_recv(c, -1, &msg);
		if (r == -EINTR)
			return EXIT_OK;
		if (r == -ECONNRESET) {
			/* As top does: a watcher must tell a daemon gone from its own end. */
			fputs("lbctl: lbd closed the connection (stopped or restarted?)\n", s->err);
			return EXIT_UNREACHABLE;
		}
		if (r)
			return r;
		print_event(s, f, msg);
		json_decref(msg);
	}
}

int lb_stream_call(struct lb_client *c, const char *method, const json_t *params,
		   enum lb_stream_kind kind, const struct lb_stream *s)
{
	struct call_ctx ctx = {.s = s};
	struct follow_filter f = {
		.stats = !strcmp(method, "stats"),
		.proxy = json_string_value(json_object_get(params, "proxy")),
	};
	json_t *resp = NULL, *msg;
	size_t i;
	int r;

	if (kind == LB_STREAM_FOLLOW) {
		ctx.early = json_array();
		if (!ctx.early)
			return -ENOMEM;
	}
	if (kind == LB_STREAM_WAIT)
		c->timeout_ms = lb_stream_wait_limit_ms(params, c->timeout_ms);
	r = lb_client_call(c, method, params, &resp, on_note, &ctx);
	if (!r)
		r = print_reply(s, method, resp, kind);
	else if (r == -EINTR && kind == LB_STREAM_FOLLOW)
		r = EXIT_OK; /* interrupted before the reply: nothing to show */
	if (r == EXIT_OK && resp && kind == LB_STREAM_FOLLOW) {
		if (f.stats &&
		    json_is_false(json_object_get(
			    json_object_get(json_object_get(resp, "result"), "events"), "enabled")))
			fputs("lbctl: stats are disabled: no connection events until "
			      "\"lbctl enable-stats\"\n",
			      s->err);
		json_array_foreach (ctx.early, i, msg)
			print_event(s, &f, msg);
		r = follow(c, s, &f);
	}
	json_decref(ctx.early);
	json_decref(resp);
	return r;
}
