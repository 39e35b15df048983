/* SPDX-License-Identifier: MIT */
/*
 * top.h - lbctl top: a live view of the proxies and targets, with rates.
 *
 * It polls the `stats` method every interval on one connection and turns each pair of
 * successive results into a frame: per proxy and per target, new connections, packets,
 * bytes and drops per second (counter deltas over the CLOCK_MONOTONIC time measured
 * between the two samples), open connections, and a target's health and effective
 * weights. Rates need two samples: the first frame has none ("-", null in JSON).
 *
 * top.c computes frames (pure functions of the samples), top_print.c renders them for
 * people, top_args.c reads the command line, top_run.c polls and prints.
 */
#ifndef LB_TOP_H
#define LB_TOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cli_spec.h"
#include "client.h"

/*
 * The rate of a counter that went from @prev to @cur in @elapsed_sec seconds. Returns
 * false when there is none to tell: no time elapsed, or the counter went backwards (it
 * was reset: its proxy or target was removed and added again and started from zero), in
 * which case the interval's true count is unknown.
 */
bool lb_top_rate(json_int_t prev, json_int_t cur, double elapsed_sec, double *rate);

/*
 * The proxies of a frame, from the `stats` result @cur and the one before it, @prev (NULL
 * on the first frame), sampled @elapsed_sec apart:
 *
 *   [{"proxy": "web", "active-connections": 3, "rates": RATES, "targets": [
 *     {"target": "10.0.0.1:8080", "status": "healthy", "draining": false,
 *      "weights": [{"group": "default", "configured": 50, "effective": 50}],
 *      "active-connections": 2, "rates": RATES}]}]
 *
 * RATES is {"new-connections", "packets-in", "bytes-in", "packets-out", "bytes-out",
 * "drops"} per second (drops of every reason summed), each null when lb_top_rate() has
 * none; RATES itself is null when the proxy or target is not in @prev. Status, draining
 * and weights are copied when @cur has them. NULL without memory.
 */
json_t *lb_top_frame(const json_t *prev, const json_t *cur, double elapsed_sec);

/*
 * @v in human units, three significant digits at most: "0", "0.5", "12", "1.2k", "350M"
 * for counts (@unit ""), "512 B/s", "1.2 MB/s" with a @unit (decimal prefixes, as
 * network rates are written). "-" for NaN or a negative value. Returns @buf.
 */
const char *lb_top_human(double v, const char *unit, char *buf, size_t len);

/*
 * Print the proxies of a frame (lb_top_frame()) as a table: each proxy, then its targets
 * indented below it, with their rates in human units.
 */
void lb_top_print_table(FILE *out, const json_t *proxies);

struct lb_top_opts {
	const char *proxy; /* only this proxy; NULL: every proxy */
	int interval_ms;   /* between samples (> 0) */
	long count;	   /* frames to show; 0: until interrupted */
	bool json;	   /* one JSON object per frame and line */
	bool redraw;	   /* clear the screen before each frame (a terminal) */
};

/* Defaults: every proxy, every second, until interrupted. */
void lb_top_opts_init(struct lb_top_opts *o);

/*
 * Parse the arguments after "top" into @o: [PROXY] [--interval SECONDS] [--count N].
 * Other options go to @extra (lbctl's global options). Returns 0, or -EINVAL with a
 * sentence in @err.
 */
int lb_top_parse_args(int argc, char **argv, struct lb_top_opts *o, lb_cli_extra_opt_fn extra,
		      void *extra_arg, char *err, size_t errlen);

/* Usage line, full help, options and positionals (shell completion) of lbctl top. */
void lb_top_print_usage(FILE *out);
void lb_top_print_help(FILE *out);
void lb_top_print_options(FILE *out);
void lb_top_print_positionals(FILE *out);

/*
 * Show frames on @out from the connected @c until @o->count frames were shown or *@stop
 * becomes non-zero (SIGINT; @c->stop should point to it too). lbd's error, if it answers
 * one, is printed on @err (and as JSON on @out with --json).
 *
 * Returns an exit status: EXIT_OK (also when writing @out failed: ferror(@out) tells, for
 * the caller to report), EXIT_DAEMON_ERROR, EXIT_INTERRUPTED; or -errno of the transport
 * as lb_client_call() (nothing printed), for the caller to report.
 */
int lb_top_run(struct lb_client *c, const struct lb_top_opts *o, FILE *out, FILE *err,
	       const volatile sig_atomic_t *stop);

#endif /* LB_TOP_H */
