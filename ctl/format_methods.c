// SPDX-License-Identifier: MIT
/*
 * format_methods.c - the methods whose results read better with a layout of their own.
 *
 * Each formatter prints the members it knows and hands the rest to the generic layout, so a
 * member lbd adds later still shows up. Every other method uses lb_format_generic().
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"

static void put_inline(FILE *out, const json_t *v)
{
	char *s = lb_format_inline(v);

	fputs(s ? s : "?", out);
	free(s);
}

/* "lbd 0.1.0 (BPF ABI 1), pid 42, up 3h07m", then the rest, then the interfaces. */
static void format_status(FILE *out, const json_t *r)
{
	static const char *const header[] = {"version",	   "abi",	 "pid",
					     "uptime-sec", "interfaces", NULL};
	const json_t *ifaces = json_object_get(r, "interfaces");
	const json_t *uptime = json_object_get(r, "uptime-sec");
	json_t *wrapped;
	char buf[32];

	fputs("lbd ", out);
	put_inline(out, json_object_get(r, "version"));
	if (json_object_get(r, "abi")) {
		fputs(" (BPF ABI ", out);
		put_inline(out, json_object_get(r, "abi"));
		fputc(')', out);
	}
	if (json_is_integer(json_object_get(r, "pid")))
		fprintf(out, ", pid %" JSON_INTEGER_FORMAT,
			json_integer_value(json_object_get(r, "pid")));
	if (json_is_integer(uptime))
		fprintf(out, ", up %s",
			lb_format_duration(json_integer_value(uptime), buf, sizeof(buf)));
	fputc('\n', out);
	lb_format_kv(out, r, 0, header);
	fputc('\n', out);
	if (json_is_array(ifaces) && json_array_size(ifaces)) {
		wrapped = json_pack("{s:O}", "interfaces", ifaces); /* one member: a table */
		lb_format_generic(out, wrapped);
		json_decref(wrapped);
	} else {
		fputs("no interfaces attached\n", out);
	}
}

/* Targets of a route or group: "targets" (weighted) or "target" (one), as in the config. */
static const json_t *route_targets(const json_t *route)
{
	const json_t *t = json_object_get(route, "targets");

	return t ? t : json_object_get(route, "target");
}

/*
 * Targets as lb_format_inline() shows them, each followed by " (proxy-protocol v2)" when lbd
 * sends it a PROXY protocol header: "10.0.1.1:8443@70 (proxy-protocol v2) 10.0.1.2:8443@30".
 * Anything else as lb_format_inline() shows it. Caller frees; NULL only without memory.
 */
static char *targets_text(const json_t *v)
{
	const json_t *pp, *t;
	char buf[64], *s = NULL;
	size_t i, len = 0;
	bool any = false;
	FILE *f;

	json_array_foreach (v, i, t) {
		pp = json_object_get(t, "proxy-protocol");
		if (!lb_format_target_obj(t, buf, sizeof(buf)))
			return lb_format_inline(v);
		any |= json_is_string(pp) && strcmp(json_string_value(pp), "none");
	}
	if (!any)
		return lb_format_inline(v);
	f = open_memstream(&s, &len);
	if (!f)
		return NULL;
	json_array_foreach (v, i, t) {
		pp = json_object_get(t, "proxy-protocol");
		fprintf(f, "%s%s", i ? " " : "", lb_format_target_obj(t, buf, sizeof(buf)));
		if (json_is_string(pp) && strcmp(json_string_value(pp), "none"))
			fprintf(f, " (proxy-protocol %s)", json_string_value(pp));
	}
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

static void put_targets(FILE *out, const json_t *v)
{
	char *s = targets_text(v);

	fputs(s ? s : "?", out);
	free(s);
}

/* One line per route of @routes: "  LABEL  KEY  targets", the keys aligned. */
static void put_routes(FILE *out, const json_t *routes, const char *key, const char *label)
{
	const json_t *route, *v;
	size_t i, width = 0;

	json_array_foreach (routes, i, route) {
		v = json_object_get(route, key);
		if (json_is_string(v) && strlen(json_string_value(v)) > width)
			width = strlen(json_string_value(v));
	}
	json_array_foreach (routes, i, route) {
		v = json_object_get(route, key);
		fprintf(out, "  %-12s %-*s  ", label, (int)width,
			json_is_string(v) ? json_string_value(v) : "?");
		put_targets(out, route_targets(route));
		fputc('\n', out);
	}
}

static void format_proxy(FILE *out, const json_t *p)
{
	static const char *const known[] = {"name",	     "listen",	    "default-target",
					    "source-routes", "sni-routes",  "connections",
					    "hash",	     "hash-prefix", "forwarding",
					    "snat-address",  "selection",   NULL};
	const json_t *listen = json_object_get(p, "listen"), *v;

	fputs("proxy ", out);
	put_inline(out, json_object_get(p, "name"));
	fputc('\n', out);
	if (json_is_object(listen)) {
		v = json_object_get(listen, "protocol");
		fprintf(out, "  listen       %s port ",
			json_is_string(v) ? json_string_value(v) : "tcp");
		put_inline(out, json_object_get(listen, "port"));
		fputs(" on ", out);
		put_inline(out, json_object_get(listen, "interfaces"));
		v = json_object_get(listen, "address");
		if (json_is_string(v))
			fprintf(out, ", address %s", json_string_value(v));
		fputc('\n', out);
	}
	/* Only when not the default (the 5-tuple), as get-config leaves it out then. */
	v = json_object_get(p, "hash");
	if (v || json_object_get(p, "hash-prefix")) {
		fputs("  hash         ", out);
		fputs(json_is_string(v) ? json_string_value(v) : "5-tuple", out);
		if ((v = json_object_get(p, "hash-prefix"))) {
			fputs(", prefix /", out);
			put_inline(out, v);
		}
		fputc('\n', out);
	}
	/* lbd always says it in list-proxies: the mode says where replies go. */
	if ((v = json_object_get(p, "forwarding"))) {
		fputs("  forwarding   ", out);
		put_inline(out, v);
		if ((v = json_object_get(p, "snat-address"))) {
			fputs(", snat-address ", out);
			put_inline(out, v);
		}
		fputc('\n', out);
	}
	/* lbd always says it in list-proxies, get-config only when not maglev. */
	if ((v = json_object_get(p, "selection"))) {
		fputs("  selection    ", out);
		put_inline(out, v);
		fputc('\n', out);
	}
	if ((v = json_object_get(p, "connections"))) {
		fputs("  connections  ", out);
		put_inline(out, v);
		fputc('\n', out);
	}
	fputs("  default      ", out);
	put_targets(out, json_object_get(p, "default-target"));
	fputc('\n', out);
	put_routes(out, json_object_get(p, "source-routes"), "source", "route");
	put_routes(out, json_object_get(p, "sni-routes"), "sni-hostname", "sni");
	lb_format_kv(out, p, 2, known);
}

static void format_list_proxies(FILE *out, const json_t *r)
{
	const json_t *proxies = json_object_get(r, "proxies"), *p;
	size_t i;

	if (!json_is_array(proxies)) {
		lb_format_generic(out, r);
		return;
	}
	if (!json_array_size(proxies))
		fputs("no proxies\n", out);
	json_array_foreach (proxies, i, p) {
		if (i)
			fputc('\n', out);
		format_proxy(out, p);
	}
}

static void format_add_proxy(FILE *out, const json_t *r)
{
	const json_t *p = json_object_get(r, "proxy");

	if (json_is_object(p))
		format_proxy(out, p);
	else
		lb_format_generic(out, r);
}

/*
 * The "routes" of list-source-routes or list-sni-routes as a table: PROXY, the route's @key
 * under @header, TARGETS; @none when there are none.
 */
static void format_route_table(FILE *out, const json_t *r, const char *key, const char *header,
			       const char *none)
{
	const char *const headers[] = {"PROXY", header, "TARGETS"};
	const json_t *routes = json_object_get(r, "routes"), *route;
	struct lb_table *t;
	size_t i, k;

	if (!json_is_array(routes)) {
		lb_format_generic(out, r);
		return;
	}
	if (!json_array_size(routes)) {
		fprintf(out, "%s\n", none);
		return;
	}
	t = lb_table_new(headers, 3);
	json_array_foreach (routes, i, route) {
		char *row[] = {lb_format_inline(json_object_get(route, "proxy")),
			       lb_format_inline(json_object_get(route, key)),
			       targets_text(route_targets(route))};

		if (t)
			lb_table_add(t, (const char *const *)row);
		for (k = 0; k < 3; k++)
			free(row[k]);
	}
	if (t)
		lb_table_print(out, t, 0);
	lb_table_free(t);
}

static void format_list_source_routes(FILE *out, const json_t *r)
{
	format_route_table(out, r, "source", "SOURCE", "no source routes");
}

static void format_list_sni_routes(FILE *out, const json_t *r)
{
	format_route_table(out, r, "hostname", "HOSTNAME", "no SNI routes");
}

/* "IN/OUT" of the fields WHAT-in and WHAT-out of connection @c. */
static const char *in_out(const json_t *c, const char *what, char *buf, size_t len)
{
	char in[32], out[32];

	snprintf(in, sizeof(in), "%s-in", what);
	snprintf(out, sizeof(out), "%s-out", what);
	if (!json_object_get(c, in)) /* counted only while stats are enabled */
		return "-";
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(c, in)),
		 json_integer_value(json_object_get(c, out)));
	return buf;
}

static void format_connections(FILE *out, const json_t *r)
{
	static const char *const headers[] = {
		"PROXY", "PROTO", "CLIENT", "LISTENER", "BACKEND",     "FORWARDING",
		"STATE", "AGE",	  "IDLE",   "PICKUP",	"PKTS IN/OUT", "BYTES IN/OUT"};
	const json_t *conns = json_object_get(r, "connections"), *c, *total;
	char age[32], idle[32], pkts[48], bytes[48], fwd[96];
	struct lb_table *t;
	size_t i;

	if (!json_is_array(conns)) {
		lb_format_generic(out, r);
		return;
	}
	total = json_object_get(r, "total");
	if (!json_array_size(conns)) {
		fputs("no connections\n", out);
		return;
	}
	t = lb_table_new(headers, 12);
	json_array_foreach (conns, i, c) {
		const json_t *proto = json_object_get(c, "protocol");
		const char *mode = json_string_value(json_object_get(c, "forwarding"));
		const char *via = json_string_value(json_object_get(c, "lb-source"));
		const char *row[] = {
			json_string_value(json_object_get(c, "proxy")),
			json_string_value(proto),
			json_string_value(json_object_get(c, "client")),
			json_string_value(json_object_get(c, "listener")),
			json_string_value(json_object_get(c, "backend")),
			via ? (snprintf(fwd, sizeof(fwd), "%s from %s", mode ? mode : "?", via),
			       fwd)
			    : mode,
			json_string_value(json_object_get(c, "state")),
			lb_format_duration(json_integer_value(json_object_get(c, "age-sec")), age,
					   sizeof(age)),
			lb_format_duration(json_integer_value(json_object_get(c, "idle-sec")), idle,
					   sizeof(idle)),
			json_is_true(json_object_get(c, "pickup")) ? "yes" : "no",
			in_out(c, "packets", pkts, sizeof(pkts)),
			in_out(c, "bytes", bytes, sizeof(bytes)),
		};

		if (t)
			lb_table_add(t, row);
	}
	if (t)
		lb_table_print(out, t, 0);
	lb_table_free(t);
	if (json_is_true(json_object_get(r, "truncated")))
		fprintf(out,
			"(%zu of %" JSON_INTEGER_FORMAT
			" connections shown: use --limit for more)\n",
			json_array_size(conns), json_integer_value(total));
}

/* Totals, then one row per proxy with short column names. */
static void format_connection_stats(FILE *out, const json_t *r)
{
	static const char *const keys[] = {"connections",     "new-connections", "packets-forward",
					   "bytes-forward",   "packets-reverse", "bytes-reverse",
					   "drops-no-backend"};
	static const char *const headers[] = {"PROXY",	   "CONNS",    "NEW",	    "PKTS-FWD",
					      "BYTES-FWD", "PKTS-REV", "BYTES-REV", "NO-BACKEND"};
	static const char *const skip[] = {"proxies", NULL};
	const json_t *proxies = json_object_get(r, "proxies"), *p, *row[8];
	struct lb_table *t;
	const char *name;
	json_t *jname;
	size_t i;

	lb_format_kv(out, r, 0, skip);
	if (!json_is_object(proxies) || !json_object_size(proxies))
		return;
	fputc('\n', out);
	t = lb_table_new(headers, 8);
	json_object_foreach ((json_t *)proxies, name, p) {
		jname = json_string(name);
		row[0] = jname;
		for (i = 0; i < 7; i++)
			row[i + 1] = json_object_get(p, keys[i]);
		if (t)
			lb_table_add_json(t, row);
		json_decref(jname);
	}
	if (t)
		lb_table_print(out, t, 0);
	lb_table_free(t);
}

/* The counter columns of a stats row, after its first cells. */
#define STATS_COLS 8
static const char *const stats_keys[STATS_COLS] = {
	"packets-in",	   "bytes-in",		 "packets-out", "bytes-out",
	"new-connections", "active-connections", "no-backend",	"conntrack-insert"};
static const char *const stats_headers[STATS_COLS] = {
	"PKTS-IN", "BYTES-IN", "PKTS-OUT",	  "BYTES-OUT",
	"NEW",	   "ACTIVE",   "DROP-NO-BACKEND", "DROP-CT-INSERT"};

/* Cells @row[0..STATS_COLS) from a "counters" object (drops are one level down). */
static void stats_cells(const json_t *counters, const json_t **row)
{
	const json_t *drops = json_object_get(counters, "drops");
	size_t i;

	for (i = 0; i < STATS_COLS; i++) {
		row[i] = json_object_get(counters, stats_keys[i]);
		if (!row[i])
			row[i] = json_object_get(drops, stats_keys[i]);
	}
}

/* "default:70 10.10.0.0/16:0": a target's effective weight in each of its groups. */
static json_t *weights_cell(const json_t *weights)
{
	const json_t *w;
	char *s = NULL;
	size_t i, len = 0;
	json_t *cell;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	json_array_foreach (weights, i, w)
		fprintf(f, "%s%s:%" JSON_INTEGER_FORMAT, i ? " " : "",
			json_string_value(json_object_get(w, "group")),
			json_integer_value(json_object_get(w, "effective")));
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	cell = json_string(s);
	free(s);
	return cell;
}

/* Does a target of @targets have counter @key (a column only some targets fill)? */
static bool targets_have(const json_t *targets, const char *key)
{
	const json_t *t;
	size_t i;

	json_array_foreach (targets, i, t)
		if (json_object_get(json_object_get(t, "counters"), key))
			return true;
	return false;
}

/* A target's optional columns: least-connections' counts, SNI-spliced payload (own unit). */
#define STATS_OPT 4
static const char *const stats_opt_keys[STATS_OPT] = {"live-flows", "unconfirmed-flows",
						      "payload-bytes-in", "payload-bytes-out"};
static const char *const stats_opt_headers[STATS_OPT] = {"LIVE", "UNCONFIRMED", "PAYLOAD-IN",
							 "PAYLOAD-OUT"};

/* One table of proxies, then one table of targets per proxy, then the datapath's counters. */
static void format_stats(FILE *out, const json_t *r)
{
	const char *headers[STATS_COLS + 1] = {"PROXY"}, *theaders[STATS_COLS + 3 + STATS_OPT] = {
								 "TARGET", "STATUS", "WEIGHTS"};
	const json_t *proxies = json_object_get(r, "proxies"), *p, *t,
		     *row[STATS_COLS + 3 + STATS_OPT];
	const json_t *global = json_object_get(r, "global"), *counters;
	const char *opt[STATS_OPT];
	struct lb_table *tab;
	size_t i, j, k, n_opt;
	bool payload;

	for (i = 0; i < STATS_COLS; i++)
		headers[i + 1] = theaders[i + 3] = stats_headers[i];
	tab = lb_table_new(headers, STATS_COLS + 1);
	json_array_foreach (proxies, i, p) {
		row[0] = json_object_get(p, "proxy");
		stats_cells(json_object_get(p, "counters"), row + 1);
		if (tab)
			lb_table_add_json(tab, row);
	}
	if (tab && lb_table_rows(tab))
		lb_table_print(out, tab, 0);
	lb_table_free(tab);
	json_array_foreach (proxies, i, p) {
		fprintf(out, "\ntargets of %s:\n", json_string_value(json_object_get(p, "proxy")));
		payload = targets_have(json_object_get(p, "targets"), "payload-bytes-in");
		/* Columns only when a target fills them (an older lbd has no live counts). */
		for (j = n_opt = 0; j < STATS_OPT; j++) {
			if (!targets_have(json_object_get(p, "targets"), stats_opt_keys[j]))
				continue;
			opt[n_opt] = stats_opt_keys[j];
			theaders[STATS_COLS + 3 + n_opt++] = stats_opt_headers[j];
		}
		tab = lb_table_new(theaders, STATS_COLS + 3 + n_opt);
		json_array_foreach (json_object_get(p, "targets"), k, t) {
			json_t *weights = weights_cell(json_object_get(t, "weights"));

			row[0] = json_object_get(t, "target");
			row[1] = json_object_get(t, "status");
			if (json_is_true(json_object_get(t, "draining")))
				row[1] = json_string("draining");
			row[2] = weights;
			counters = json_object_get(t, "counters");
			stats_cells(counters, row + 3);
			for (j = 0; j < n_opt; j++)
				row[STATS_COLS + 3 + j] = json_object_get(counters, opt[j]);
			if (tab)
				lb_table_add_json(tab, row);
			if (json_is_true(json_object_get(t, "draining")))
				json_decref((json_t *)row[1]);
			json_decref(weights);
		}
		if (tab)
			lb_table_print(out, tab, 2);
		lb_table_free(tab);
		if (payload)
			fputs("  (BYTES: IP lengths of flows balanced in the kernel; PAYLOAD: "
			      "TCP payload of SNI connections lbd spliced, counted when each ends)\n",
			      out);
	}
	if (json_is_object(global) && json_object_size(global)) {
		fputs("\ndatapath packets by reason:\n", out);
		lb_format_kv(out, global, 2, NULL);
	}
}

/* The Prometheus text, exactly as /metrics serves it. */
static void format_metrics(FILE *out, const json_t *r)
{
	const char *text = json_string_value(json_object_get(r, "text"));

	if (text)
		fputs(text, out);
	else
		lb_format_generic(out, r);
}

static void format_get_config(FILE *out, const json_t *r)
{
	json_dumpf(r, out, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', out);
}

static const struct {
	const char *method;
	void (*format)(FILE *out, const json_t *result);
} formatters[] = {
	{"status", format_status},
	{"get-config", format_get_config},
	{"list-proxies", format_list_proxies},
	{"add-proxy", format_add_proxy},
	{"list-source-routes", format_list_source_routes},
	{"list-sni-routes", format_list_sni_routes},
	{"connections", format_connections},
	{"connection-stats", format_connection_stats},
	{"stats", format_stats},
	{"metrics", format_metrics},
};

void lb_format_result(FILE *out, const char *method, const json_t *result)
{
	size_t i;

	if (json_is_object(result))
		for (i = 0; i < sizeof(formatters) / sizeof(formatters[0]); i++)
			if (!strcmp(formatters[i].method, method)) {
				formatters[i].format(out, result);
				return;
			}
	if (lb_format_health_result(out, method, result) ||
	    lb_format_drain_result(out, method, result) ||
	    lb_format_trace_result(out, method, result) ||
	    lb_format_node_result(out, method, result))
		return;
	lb_format_generic(out, result);
}
