// SPDX-License-Identifier: MIT
/*
 * format_drain.c - drains for people: a drain status as one sentence (the reply of drain,
 * each progress line of drain --wait, its outcome), the reply of undrain, and drain-status
 * as a table.
 */
#include <string.h>

#include "format.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A drain status object: proxy, target and status are strings. */
static bool is_drain(const json_t *st)
{
	return str(st, "proxy") && str(st, "target") && str(st, "status");
}

void lb_format_drain_line(FILE *out, const json_t *st)
{
	const char *proxy = str(st, "proxy"), *target = str(st, "target"), *status;
	json_int_t cur = num(st, "current-connections"), init = num(st, "initial-connections");
	char elapsed[32], timeout[32];

	status = str(st, "status") ? str(st, "status") : "?";
	lb_format_ms(num(st, "elapsed-ms"), elapsed, sizeof(elapsed));
	lb_format_ms(num(st, "timeout-ms"), timeout, sizeof(timeout));
	if (!strcmp(status, "draining"))
		fprintf(out,
			"draining %s %s: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
			" connections left, %s of %s\n",
			proxy, target, cur, init, elapsed, timeout);
	else if (!strcmp(status, "completed"))
		fprintf(out,
			"drained %s %s: no connections left after %s (%" JSON_INTEGER_FORMAT
			" at the start)\n",
			proxy, target, elapsed, init);
	else if (!strcmp(status, "timeout"))
		fprintf(out,
			"drain of %s %s timed out after %s with %" JSON_INTEGER_FORMAT
			" connection%s left; %s not cut\n",
			proxy, target, elapsed, cur, cur == 1 ? "" : "s",
			cur == 1 ? "it was" : "they were");
	else if (!strcmp(status, "cancelled"))
		fprintf(out, "drain of %s %s was cancelled (undrain)\n", proxy, target);
	else
		fprintf(out, "drain of %s %s: %s\n", proxy, target, status);
}

static void format_undrain(FILE *out, const json_t *r)
{
	const char *prev = str(r, "previous-status");

	fprintf(out, "undrained %s %s", str(r, "proxy"), str(r, "target"));
	if (prev && !strcmp(prev, "draining"))
		fputs(", which was draining", out);
	else if (prev && !strcmp(prev, "completed"))
		fputs(", which was drained", out);
	else if (prev && !strcmp(prev, "timeout"))
		fputs(", whose drain had timed out", out);
	fputs(": it takes new connections again\n", out);
}

static void format_drain_status(FILE *out, const json_t *drains)
{
	static const char *const headers[] = {"PROXY",	 "TARGET",  "STATUS",
					      "ELAPSED", "TIMEOUT", "CONNECTIONS"};
	char elapsed[32], timeout[32], conns[48];
	struct lb_table *t;
	const json_t *d;
	size_t i;

	if (!json_array_size(drains)) {
		fputs("no drains\n", out);
		return;
	}
	t = lb_table_new(headers, 6);
	json_array_foreach (drains, i, d) {
		const char *row[] = {
			str(d, "proxy"),
			str(d, "target"),
			str(d, "status"),
			lb_format_ms(num(d, "elapsed-ms"), elapsed, sizeof(elapsed)),
			lb_format_ms(num(d, "timeout-ms"), timeout, sizeof(timeout)),
			conns,
		};

		snprintf(conns, sizeof(conns), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 num(d, "current-connections"), num(d, "initial-connections"));
		if (t)
			lb_table_add(t, row);
	}
	if (t)
		lb_table_print(out, t, 0);
	lb_table_free(t);
}

bool lb_format_drain_result(FILE *out, const char *method, const json_t *r)
{
	if (!strcmp(method, "drain") && is_drain(r))
		lb_format_drain_line(out, r);
	else if (!strcmp(method, "undrain") && str(r, "proxy") && str(r, "target"))
		format_undrain(out, r);
	else if (!strcmp(method, "drain-status") && json_is_array(json_object_get(r, "drains")))
		format_drain_status(out, json_object_get(r, "drains"));
	else
		return false;
	return true;
}
