/* SPDX-License-Identifier: MIT */
/*
 * stream.h - the calls that keep the connection open around their reply:
 *
 *   health {"follow": true}   the reply, then "health-event" notifications until lbd closes
 *                             the connection or the user interrupts; the client's reply
 *                             timeout applies to the reply only.
 *   stats {"follow": true}    the same with "stats-event" notifications (connections opened
 *                             and closed), of the proxy in "proxy" only when it is given.
 *   drain {"wait": true}      "drain-progress" notifications while the drain runs, then the
 *                             reply (the final status) when it ends; the exit status says
 *                             how it ended.
 *
 * Human output: the reply as lbctl prints it, one line per event on stdout, progress lines
 * on stderr. --json: the reply's result, then each notification's params, one compact JSON
 * line each on stdout. Every line is flushed at once, so a pipe sees it as it happens.
 */
#ifndef LB_STREAM_H
#define LB_STREAM_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "client.h"

enum lb_stream_kind {
	LB_STREAM_NONE,	  /* an ordinary call */
	LB_STREAM_FOLLOW, /* health --follow, stats --follow */
	LB_STREAM_WAIT,	  /* drain --wait */
};

struct lb_stream {
	bool json;
	FILE *out;	       /* results, events, JSON lines */
	FILE *err;	       /* progress lines, error messages */
	time_t (*clock)(void); /* time stamp of an event; NULL: time(NULL) */
};

/* Which kind of call @method with @params (may be NULL) is. */
enum lb_stream_kind lb_stream_kind_of(const char *method, const json_t *params);

/*
 * How long drain --wait may wait for its reply: the drain's "timeout-ms" plus 10 s, and at
 * least @reply_timeout_ms; no limit (-1) when @params has no timeout-ms (lbd's default
 * applies, unknown here) or when @reply_timeout_ms is no limit (< 0).
 */
int lb_stream_wait_limit_ms(const json_t *params, int reply_timeout_ms);

/*
 * Call @method with @params on the connected @c as @kind wants and print everything. For
 * LB_STREAM_WAIT the client's timeout is first set to lb_stream_wait_limit_ms().
 *
 * Returns an exit status (exit_status.h): EXIT_OK (follow: also when lbd closed the
 * connection or the user interrupted), EXIT_DAEMON_ERROR (lbd's error printed), and for a
 * wait EXIT_DRAIN_TIMEOUT or EXIT_DRAIN_CANCELLED (message printed). Or -errno of the
 * transport as lb_client_call(), nothing printed; -EINTR when a wait was interrupted.
 */
int lb_stream_call(struct lb_client *c, const char *method, const json_t *params,
		   enum lb_stream_kind kind, const struct lb_stream *s);

#endif /* LB_STREAM_H */
