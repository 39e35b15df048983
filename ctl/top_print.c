// SPDX-License-Identifier: MIT
/* top_print.c - lbctl top's frames for people: one table, rates in human units (top.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "top.h"

const char *lb_top_human(double v, const char *unit, char *buf, size_t len)
{
	static const char prefixes[] = " kMGTPE";
	const char *p = prefixes;

	if (isnan(v) || v < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	/* 999.7 would print as "1000": step up a prefix before rounding can get there. */
	while (v >= 999.5 && p[1]) {
		v /= 1000;
		p++;
	}
	if (v == 0)
		snprintf(buf, len, "0%s%s", *unit ? " " : "", unit);
	else
		snprintf(buf, len, v < 9.95 ? "%.1f%s%.*s%s" : "%.0f%s%.*s%s", v, *unit ? " " : "",
			 *p != ' ', p, unit);
	return buf;
}

/* Columns after the name, status and weight: the rates, with "active" among them. */
#define NCOLS 10
static const char *const headers[NCOLS] = {
	"PROXY/TARGET", "STATUS",     "WEIGHT",	    "NEW/S",	   "ACTIVE",
	"PKTS-IN/S",	"BYTES-IN/S", "PKTS-OUT/S", "BYTES-OUT/S", "DROPS/S",
};
static const struct {
	const char *key, *unit; /* key NULL: active-connections, a gauge */
} rate_cols[NCOLS - 3] = {
	{"new-connections", ""}, {NULL, NULL},	       {"packets-in", ""}, {"bytes-in", "B/s"},
	{"packets-out", ""},	 {"bytes-out", "B/s"}, {"drops", ""},
};

/* The effective weights of a target: "50" in one group, "default:50 10.9.0.0/16:0" in more. */
static void weight_cell(const json_t *weights, char *buf, size_t len)
{
	const json_t *w;
	size_t i, n = 0;

	buf[0] = '\0';
	json_array_foreach (weights, i, w) {
		if (json_array_size(weights) == 1)
			n += (size_t)snprintf(buf + n, len - n, "%" JSON_INTEGER_FORMAT,
					      json_integer_value(json_object_get(w, "effective")));
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s:%" JSON_INTEGER_FORMAT,
					      i ? " " : "",
					      json_string_value(json_object_get(w, "group")) ?: "?",
					      json_integer_value(json_object_get(w, "effective")));
		if (n >= len)
			break;
	}
}

static int add_row(struct lb_table *t, const json_t *row, bool target)
{
	char cells[NCOLS][96];
	const char *cp[NCOLS];
	const json_t *rates = json_object_get(row, "rates"), *v, *active;
	const char *status = json_string_value(json_object_get(row, "status"));
	size_t i;

	active = json_object_get(row, "active-connections");
	snprintf(cells[0], sizeof(cells[0]), "%s%s", target ? "  " : "",
		 json_string_value(json_object_get(row, target ? "target" : "proxy")) ?: "?");
	if (json_is_true(json_object_get(row, "draining")))
		status = "draining";
	snprintf(cells[1], sizeof(cells[1]), "%s", status ?: "");
	weight_cell(json_object_get(row, "weights"), cells[2], sizeof(cells[2]));
	for (i = 3; i < NCOLS; i++) {
		v = rate_cols[i - 3].key ? json_object_get(rates, rate_cols[i - 3].key) : NULL;
		if (rate_cols[i - 3].key)
			lb_top_human(json_is_number(v) ? json_number_value(v) : NAN,
				     rate_cols[i - 3].unit, cells[i], sizeof(cells[i]));
		else if (json_is_integer(active))
			snprintf(cells[i], sizeof(cells[i]), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(active));
		else
			snprintf(cells[i], sizeof(cells[i]), "-");
	}
	for (i = 0; i < NCOLS; i++)
		cp[i] = cells[i];
	return lb_table_add(t, cp);
}

void lb_top_print_table(FILE *out, const json_t *proxies)
{
	struct lb_table *t;
	const json_t *p, *tg;
	size_t i, k;

	if (!json_array_size(proxies)) {
		fputs("no proxies\n", out);
		return;
	}
	t = lb_table_new(headers, NCOLS);
	if (!t)
		return;
	json_array_foreach (proxies, i, p) {
		if (add_row(t, p, false))
			goto out;
		json_array_foreach (json_object_get(p, "targets"), k, tg)
			if (add_row(t, tg, true))
				goto out;
	}
	lb_table_print(out, t, 0);
out:
	lb_table_free(t);
}
