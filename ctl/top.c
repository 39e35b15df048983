// SPDX-License-Identifier: MIT
/* top.c - the frames of lbctl top: rates from two `stats` samples (see top.h). */
#include <string.h>

#include "top.h"

/* The counters that become rates, by their name in `stats` ("drops" is summed). */
static const char *const rate_keys[] = {
	"new-connections", "packets-in", "bytes-in", "packets-out", "bytes-out", "drops",
};

bool lb_top_rate(json_int_t prev, json_int_t cur, double elapsed_sec, double *rate)
{
	if (!(elapsed_sec > 0) || prev < 0 || cur < prev)
		return false;
	*rate = (double)(cur - prev) / elapsed_sec;
	return true;
}

/* Counter @key of a "counters" object; "drops" is the sum of its reasons. */
static bool counter(const json_t *counters, const char *key, json_int_t *v)
{
	const json_t *c = json_object_get(counters, key), *e;
	const char *k;

	if (json_is_integer(c)) {
		*v = json_integer_value(c);
		return true;
	}
	if (strcmp(key, "drops") || !json_is_object(c))
		return false;
	*v = 0;
	json_object_foreach ((json_t *)c, k, e) {
		if (!json_is_integer(e))
			return false;
		*v += json_integer_value(e);
	}
	return true;
}

/* RATES of top.h between two "counters" objects; null when there is no @prev. */
static json_t *rates_json(const json_t *prev, const json_t *cur, double elapsed_sec)
{
	json_t *rates;
	json_int_t a, b;
	double r;
	size_t i;

	if (!prev)
		return json_null();
	rates = json_object();
	for (i = 0; rates && i < sizeof(rate_keys) / sizeof(rate_keys[0]); i++) {
		if (counter(prev, rate_keys[i], &a) && counter(cur, rate_keys[i], &b) &&
		    lb_top_rate(a, b, elapsed_sec, &r))
			json_object_set_new(rates, rate_keys[i], json_real(r));
		else
			json_object_set_new(rates, rate_keys[i], json_null());
	}
	return rates;
}

/* The element of array @arr whose member @key is the string @value, else NULL. */
static const json_t *find_by(const json_t *arr, const char *key, const char *value)
{
	const json_t *e;
	size_t i;

	json_array_foreach (arr, i, e)
		if (value && !strcmp(json_string_value(json_object_get(e, key)) ?: "", value))
			return e;
	return NULL;
}

/*
 * A row of the frame for @cur (a proxy or a target of `stats`), named by its member @key,
 * with @prev the same one in the previous sample (may be NULL).
 */
static json_t *row_json(const json_t *prev, const json_t *cur, const char *key, double elapsed_sec)
{
	static const char *const copied[] = {"status", "draining", "weights"};
	const json_t *counters = json_object_get(cur, "counters"), *v;
	json_t *row = json_object();
	size_t i;

	if (!row)
		return NULL;
	json_object_set(row, key, json_object_get(cur, key) ?: json_null());
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		v = json_object_get(cur, copied[i]);
		if (v)
			json_object_set(row, copied[i], (json_t *)v);
	}
	v = json_object_get(counters, "active-connections");
	json_object_set(row, "active-connections", (json_t *)(v ?: json_null()));
	json_object_set_new(
		row, "rates",
		rates_json(prev ? json_object_get(prev, "counters") : NULL, counters, elapsed_sec));
	return row;
}

json_t *lb_top_frame(const json_t *prev, const json_t *cur, double elapsed_sec)
{
	const json_t *p, *pp, *t, *tp, *prev_proxies = json_object_get(prev, "proxies");
	json_t *proxies = json_array(), *row, *targets;
	size_t i, k;

	if (!proxies)
		return NULL;
	json_array_foreach (json_object_get(cur, "proxies"), i, p) {
		pp = find_by(prev_proxies, "proxy", json_string_value(json_object_get(p, "proxy")));
		row = row_json(pp, p, "proxy", elapsed_sec);
		targets = json_array();
		if (!row || !targets || json_array_append_new(proxies, row)) {
			json_decref(targets);
			json_decref(proxies);
			return NULL;
		}
		json_array_foreach (json_object_get(p, "targets"), k, t) {
			tp = find_by(json_object_get(pp, "targets"), "target",
				     json_string_value(json_object_get(t, "target")));
			json_array_append_new(targets, row_json(tp, t, "target", elapsed_sec));
		}
		json_object_set_new(row, "targets", targets);
	}
	return proxies;
}
