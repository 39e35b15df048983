// SPDX-License-Identifier: MIT
/* top_run.c - lbctl top's polling loop and its output (see top.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "exit_status.h"
#include "format.h"
#include "top.h"

#define NSEC_PER_SEC  1000000000LL
#define NSEC_PER_MSEC 1000000LL

static int64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * Wait until @deadline (CLOCK_MONOTONIC ns); -EINTR as soon as *@stop is set. SIGINT stays
 * blocked from the check of *@stop until ppoll() waits, so a Ctrl-C that comes in between
 * cannot go unnoticed for a whole interval.
 */
static int sleep_until(int64_t deadline, const volatile sig_atomic_t *stop)
{
	sigset_t block, old;
	struct timespec ts;
	int64_t left;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!(stop && *stop) && (left = deadline - now_ns(CLOCK_MONOTONIC)) > 0) {
		ts = (struct timespec){left / NSEC_PER_SEC, left % NSEC_PER_SEC};
		ppoll(NULL, 0, &ts, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return stop && *stop ? -EINTR : 0;
}

/*
 * One `stats` sample: 0 with its *@result (caller decrefs) and the CLOCK_MONOTONIC time
 * *@at it was taken; EXIT_DAEMON_ERROR with lbd's error printed; or -errno.
 */
static int sample(struct lb_client *c, const json_t *params, const struct lb_top_opts *o, FILE *out,
		  FILE *err, json_t **result, int64_t *at)
{
	int64_t sent = now_ns(CLOCK_MONOTONIC);
	json_t *resp = NULL, *error;
	int r;

	r = lb_client_call(c, "stats", params, &resp, NULL, NULL);
	if (r)
		return r;
	/* lbd read its counters between our request and its reply: the middle is the best guess. */
	*at = sent + (now_ns(CLOCK_MONOTONIC) - sent) / 2;
	error = json_object_get(resp, "error");
	*result = json_incref(json_object_get(resp, "result"));
	if (json_is_object(error)) {
		if (o->json)
			lb_format_json_line(out, error);
		lb_format_error(err, error);
		r = EXIT_DAEMON_ERROR;
	} else if (!json_is_object(*result)) {
		r = -EPROTO;
	}
	json_decref(resp);
	if (r) {
		json_decref(*result);
		*result = NULL;
	}
	return r;
}

/*
 * @text as it fits a terminal of @rows x @cols: each line cut at @cols columns (UTF-8
 * continuation bytes take none), the lines beyond the screen replaced by a note saying how
 * many there are, so that the header never scrolls away.
 */
static void put_fitted(FILE *out, const char *text, int rows, int cols)
{
	const char *line, *end, *p;
	int n = 0, total = 0, shown, w;

	for (p = text; *p; p++)
		total += *p == '\n';
	shown = total < rows ? total : rows - 2; /* the last row is the cursor's */
	for (line = text; *line && n < shown; line = end + 1, n++) {
		end = line + strcspn(line, "\n");
		for (p = line, w = 0; p < end && (w < cols || ((unsigned char)*p & 0xc0) == 0x80);
		     p++)
			w += ((unsigned char)*p & 0xc0) != 0x80;
		fprintf(out, "%.*s\n", (int)(p - line), line);
		if (!*end)
			break;
	}
	if (shown < total)
		fprintf(out, "(%d more lines below: make the window taller)\n", total - shown);
}

/* Frame @n (from 1), its rates over @elapsed seconds (< 0: none). */
static void print_frame(FILE *out, const struct lb_top_opts *o, const json_t *proxies, long n,
			double elapsed)
{
	int64_t wall = now_ns(CLOCK_REALTIME);
	time_t sec = (time_t)(wall / NSEC_PER_SEC);
	char *text = NULL, when[16] = "";
	size_t len = 0;
	struct tm tm;
	json_t *frame;
	struct winsize ws;
	FILE *f;

	if (o->json) {
		frame = json_pack("{s:f, s:o, s:O}", "time", (double)wall / NSEC_PER_SEC,
				  "elapsed-sec", elapsed < 0 ? json_null() : json_real(elapsed),
				  "proxies", proxies);
		lb_format_json_line(out, frame);
		json_decref(frame);
		return;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return;
	if (!o->redraw && n > 1)
		fputc('\n', f);
	if (localtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(f, "%s  lbctl top%s%s, every %gs: ", when, o->proxy ? " " : "", o->proxy ?: "",
		o->interval_ms / 1000.0);
	if (elapsed < 0)
		fprintf(f, "rates (/S) from the next frame on\n");
	else
		fprintf(f, "rates (/S) over the last %.2fs\n", elapsed);
	lb_top_print_table(f, proxies);
	if (fclose(f)) {
		free(text);
		return;
	}
	if (o->redraw && !ioctl(fileno(out), TIOCGWINSZ, &ws) && ws.ws_row > 2 && ws.ws_col) {
		fputs("\033[H\033[2J", out);
		put_fitted(out, text, ws.ws_row, ws.ws_col);
	} else {
		fputs(o->redraw ? "\033[H\033[2J" : "", out);
		fwrite(text, 1, len, out);
	}
	free(text);
}

int lb_top_run(struct lb_client *c, const struct lb_top_opts *o, FILE *out, FILE *err,
	       const volatile sig_atomic_t *stop)
{
	json_t *params = o->proxy ? json_pack("{s:s}", "proxy", o->proxy) : NULL;
	json_t *prev = NULL, *cur, *proxies;
	int64_t prev_at = 0, at, next = now_ns(CLOCK_MONOTONIC);
	double elapsed;
	long n;
	int r = 0;

	for (n = 1; !o->count || n <= o->count; n++) {
		if (n > 1) {
			r = sleep_until(next, stop);
			if (r)
				break;
		}
		r = sample(c, params, o, out, err, &cur, &at);
		if (r)
			break;
		elapsed = prev ? (double)(at - prev_at) / NSEC_PER_SEC : -1;
		proxies = lb_top_frame(prev, cur, elapsed);
		if (!proxies) {
			json_decref(cur);
			r = -ENOMEM;
			break;
		}
		print_frame(out, o, proxies, n, elapsed);
		json_decref(proxies);
		json_decref(prev);
		prev = cur;
		prev_at = at;
		if (fflush(out) || ferror(out))
			break; /* the caller sees ferror(out) and says so */
		/*
		 * Ticks are planned from the first sample, so slow calls do not make the interval
		 * drift; after a call slower than the interval, the next one goes at once.
		 */
		next += (int64_t)o->interval_ms * NSEC_PER_MSEC;
		if (next < now_ns(CLOCK_MONOTONIC))
			next = now_ns(CLOCK_MONOTONIC);
	}
	json_decref(prev);
	json_decref(params);
	return r == -EINTR ? EXIT_INTERRUPTED : r;
}
