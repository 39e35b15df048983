// SPDX-License-Identifier: MIT
/*
 * format_health.c - health checks for people: per proxy a table of its targets and a line
 * per group with the configured and effective weights; one line per health event; the
 * short replies of set-target-status, force-check and enable/disable-health-checks.
 *
 * As in format_methods.c, members this file does not know are handed to the generic
 * layout, and a result of an unexpected shape is left to it entirely.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/*
 * "connection-refused", "bad-status, HTTP 503", "tls-verify-failed: hostname mismatch";
 * NULL when no check has run.
 */
static const char *error_text(const json_t *t, char *buf, size_t len)
{
	const json_t *http = json_object_get(t, "last-http-status");
	const char *e = str(t, "last-error"), *detail = str(t, "last-error-detail");

	if (!e)
		return NULL;
	if (detail)
		snprintf(buf, len, "%s: %s", e, detail);
	else if (json_is_integer(http) && json_integer_value(http) > 0)
		snprintf(buf, len, "%s, HTTP %" JSON_INTEGER_FORMAT, e, json_integer_value(http));
	else
		snprintf(buf, len, "%s", e);
	return buf;
}

static const char *latency_text(const json_t *t, char *buf, size_t len)
{
	const json_t *v = json_object_get(t, "last-latency-ms");

	if (!json_is_number(v))
		return NULL;
	snprintf(buf, len, "%.1fms", json_number_value(v));
	return buf;
}

/* "healthy", "unhealthy", "recovering (step 2)" */
static const char *status_text(const json_t *t, char *buf, size_t len)
{
	const json_t *step = json_object_get(t, "recovery-step");
	const char *s = str(t, "status");

	if (s && !strcmp(s, "recovering") && json_is_integer(step) && json_integer_value(step))
		snprintf(buf, len, "%s (step %" JSON_INTEGER_FORMAT ")", s,
			 json_integer_value(step));
	else
		snprintf(buf, len, "%s", s ? s : "?");
	return buf;
}

static bool overridden(const json_t *t)
{
	const char *o = str(t, "override");

	return o && strcmp(o, "none");
}

/* "50/30/20" of the @key of each target of a group. */
static void weights(FILE *out, const json_t *targets, const char *key)
{
	const json_t *t;
	size_t i;

	if (!json_array_size(targets))
		fputs("-", out);
	json_array_foreach (targets, i, t) {
		if (i)
			fputc('/', out);
		if (json_is_integer(json_object_get(t, key)))
			fprintf(out, "%" JSON_INTEGER_FORMAT,
				json_integer_value(json_object_get(t, key)));
		else
			fputc('?', out);
	}
}

/* "proxy web: http checks every 10.0s, timeout 3.0s" when all its targets share a check. */
static void proxy_line(FILE *out, const json_t *p, const json_t *targets)
{
	const json_t *check = json_object_get(json_array_get(targets, 0), "check"), *t;
	const char *type = str(check, "type");
	char every[32], timeout[32];
	size_t i;

	fprintf(out, "proxy %s", str(p, "proxy") ? str(p, "proxy") : "?");
	json_array_foreach (targets, i, t)
		if (!json_equal(json_object_get(t, "check"), check))
			type = NULL;
	if (type && !strcmp(type, "none"))
		fputs(": no health checks (its targets count as healthy)", out);
	else if (type && json_is_integer(json_object_get(check, "interval-ms")) &&
		 json_is_integer(json_object_get(check, "timeout-ms")))
		fprintf(out, ": %s checks every %s, timeout %s", type,
			lb_format_ms(json_integer_value(json_object_get(check, "interval-ms")),
				     every, sizeof(every)),
			lb_format_ms(json_integer_value(json_object_get(check, "timeout-ms")),
				     timeout, sizeof(timeout)));
	fputc('\n', out);
}

static void targets_table(FILE *out, const json_t *targets)
{
	static const char *const headers[] = {"TARGET",	    "STATUS",  "OVERRIDE", "LATENCY",
					      "LAST-ERROR", "OK/FAIL", "CHECKS"};
	char status[64], latency[32], error[320], okfail[48], checks[24];
	bool any_override = false;
	struct lb_table *tbl;
	const json_t *t;
	size_t i;

	json_array_foreach (targets, i, t)
		any_override |= overridden(t);
	/* The OVERRIDE column only when some target has one. */
	tbl = any_override ? lb_table_new(headers, 7)
			   : lb_table_new((const char *const[]){"TARGET", "STATUS", "LATENCY",
								"LAST-ERROR", "OK/FAIL", "CHECKS"},
					  6);
	json_array_foreach (targets, i, t) {
		const char *row[7], **c = row;

		snprintf(okfail, sizeof(okfail), "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(t, "consecutive-successes")),
			 json_integer_value(json_object_get(t, "consecutive-failures")));
		snprintf(checks, sizeof(checks), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(t, "checks")));
		*c++ = str(t, "target");
		*c++ = status_text(t, status, sizeof(status));
		if (any_override)
			*c++ = overridden(t) ? str(t, "override") : NULL;
		*c++ = latency_text(t, latency, sizeof(latency));
		*c++ = error_text(t, error, sizeof(error));
		*c++ = okfail;
		*c++ = checks;
		if (tbl)
			lb_table_add(tbl, row);
	}
	if (tbl)
		lb_table_print(out, tbl, 2);
	lb_table_free(tbl);
}

/* "  group default       configured 50/30/20 -> effective 71/0/29" per group. */
static void groups_lines(FILE *out, const json_t *groups)
{
	const json_t *g;
	size_t i, width = 0;

	json_array_foreach (groups, i, g)
		if (str(g, "source") && strlen(str(g, "source")) > width)
			width = strlen(str(g, "source"));
	json_array_foreach (groups, i, g) {
		fprintf(out, "  group %-*s  configured ", (int)width,
			str(g, "source") ? str(g, "source") : "?");
		weights(out, json_object_get(g, "targets"), "configured-weight");
		fputs(" -> effective ", out);
		weights(out, json_object_get(g, "targets"), "effective-weight");
		fputc('\n', out);
	}
}

static void format_health(FILE *out, const json_t *r)
{
	static const char *const skip[] = {"enabled", "proxies", NULL};
	static const char *const pskip[] = {"proxy", "targets", "groups", NULL};
	const json_t *proxies = json_object_get(r, "proxies"), *p, *targets;
	size_t i;

	if (json_is_true(json_object_get(r, "enabled")))
		fputs("health checks enabled\n", out);
	else
		fputs("health checks disabled: every target counts as healthy "
		      "(lbctl enable-health-checks starts them)\n",
		      out);
	lb_format_kv(out, r, 0, skip);
	if (!json_array_size(proxies))
		fputs("no proxies\n", out);
	json_array_foreach (proxies, i, p) {
		targets = json_object_get(p, "targets");
		fputc('\n', out);
		proxy_line(out, p, targets);
		if (json_array_size(targets))
			targets_table(out, targets);
		else
			fputs("  no targets\n", out);
		groups_lines(out, json_object_get(p, "groups"));
		lb_format_kv(out, p, 2, pskip);
	}
}

static void format_set_target_status(FILE *out, const json_t *r)
{
	const char *proxy = str(r, "proxy"), *target = str(r, "target"), *st = str(r, "status");

	if (!strcmp(st, "auto"))
		fprintf(out, "%s %s follows its health checks again\n", proxy, target);
	else
		fprintf(out, "%s %s is %s by hand until \"lbctl set-target-status %s %s auto\"\n",
			proxy, target, st, proxy, target);
}

static void format_force_check(FILE *out, const json_t *r)
{
	const char *proxy = str(r, "proxy"), *target = str(r, "target");

	if (json_is_true(json_object_get(r, "scheduled")))
		fprintf(out, "health check of %s %s scheduled (lbctl health %s shows its result)\n",
			proxy, target, proxy);
	else
		fprintf(out, "health check of %s %s not scheduled\n", proxy, target);
}

static void format_enabled(FILE *out, const json_t *r)
{
	if (json_is_true(json_object_get(r, "enabled")))
		fputs("health checks enabled\n", out);
	else
		fputs("health checks disabled: every target counts as healthy\n", out);
}

bool lb_format_health_result(FILE *out, const char *method, const json_t *r)
{
	bool pt = str(r, "proxy") && str(r, "target");

	if (!strcmp(method, "health") && json_is_array(json_object_get(r, "proxies")))
		format_health(out, r);
	else if (!strcmp(method, "set-target-status") && pt && str(r, "status"))
		format_set_target_status(out, r);
	else if (!strcmp(method, "force-check") && pt)
		format_force_check(out, r);
	else if ((!strcmp(method, "enable-health-checks") ||
		  !strcmp(method, "disable-health-checks")) &&
		 json_is_boolean(json_object_get(r, "enabled")))
		format_enabled(out, r);
	else
		return false;
	return true;
}

void lb_format_health_event(FILE *out, const json_t *ev, time_t when)
{
	const char *type = str(ev, "type"), *src;
	const json_t *g;
	char error[320], *s;
	json_t *rest;
	struct tm tm;
	size_t i;

	localtime_r(&when, &tm);
	fprintf(out, "%02d:%02d:%02d %s", tm.tm_hour, tm.tm_min, tm.tm_sec,
		str(ev, "proxy") ? str(ev, "proxy") : "-");
	if (type && str(ev, "target") && !strncmp(type, "target-", 7)) {
		fprintf(out, " %s %s", str(ev, "target"), type);
		/* Set by hand: what the operator said, not a check's result. */
		if (str(ev, "cause") && !strcmp(str(ev, "cause"), "override"))
			fprintf(out, " (set-target-status %s)",
				str(ev, "override") && strcmp(str(ev, "override"), "none")
					? str(ev, "override")
					: "auto");
		else if (error_text(ev, error, sizeof(error)))
			fprintf(out, " (%s)", error);
	} else if (type && !strcmp(type, "weights-updated")) {
		fprintf(out, " %s", type);
		json_array_foreach (json_object_get(ev, "groups"), i, g) {
			src = str(g, "source");
			fprintf(out, "%s %s: ", i ? "," : "", src ? src : "?");
			weights(out, json_object_get(g, "targets"), "effective-weight");
		}
	} else {
		/* An event this lbctl does not know: its type, then the rest as JSON. */
		fprintf(out, " %s", type ? type : "event");
		rest = json_deep_copy(ev);
		json_object_del(rest, "type");
		json_object_del(rest, "proxy");
		s = json_object_size(rest) ? json_dumps(rest, JSON_COMPACT) : NULL;
		if (s)
			fprintf(out, " %s", s);
		free(s);
		json_decref(rest);
	}
	fputc('\n', out);
}
