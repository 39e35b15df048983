// SPDX-License-Identifier: MIT
/* The Prometheus text of a `stats` result (see metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Proxy and target families share their order: a target's is its proxy's + F_TARGET. */
enum family_id {
	F_UP,
	F_PACKETS,
	F_BYTES,
	F_CONN_NEW,
	F_CONN_ACTIVE,
	F_DROPS,
	F_T_PACKETS,
	F_T_BYTES,
	F_T_CONN_NEW,
	F_T_CONN_ACTIVE,
	F_T_DROPS,
	F_T_HEALTHY,
	F_T_WEIGHT,
	F_T_PAYLOAD,
	F_T_LIVE,
	F_T_UNCONFIRMED,
	F_DATAPATH,
	F_EVENTS_LOST,
	F_CT_ENTRIES,
	F_CT_CAPACITY,
	F_CONFIRMED,
	F_COUNT,
};
#define F_TARGET (F_T_PACKETS - F_PACKETS)

static const struct {
	const char *name, *type, *help;
} family_meta[F_COUNT] = {
	[F_UP] = {"lbd_up", "gauge", "1 while lbd answers."},
	[F_PACKETS] = {"lbd_packets_total", "counter",
		       "Packets of a proxy's connections; direction in is client to backend, out "
		       "is backend to client."},
	[F_BYTES] = {"lbd_bytes_total", "counter",
		     "Bytes of a proxy's connections, counted as IP length (IP header and payload: "
		     "IPv4 total length, IPv6 40 + payload length)."},
	[F_CONN_NEW] = {"lbd_connections_new_total", "counter",
			"Connections (flows) a proxy created."},
	[F_CONN_ACTIVE] = {"lbd_connections_active", "gauge",
			   "Open connections of a proxy: tracked flows not closed or expired."},
	[F_DROPS] = {"lbd_drops_total", "counter", "Packets of a proxy dropped, by reason."},
	[F_T_PACKETS] = {"lbd_target_packets_total", "counter",
			 "Packets of a target's connections; direction in is client to backend."},
	[F_T_BYTES] = {"lbd_target_bytes_total", "counter",
		       "Bytes of a target's connections balanced in the kernel, counted as IP "
		       "length."},
	[F_T_CONN_NEW] = {"lbd_target_connections_new_total", "counter",
			  "Connections (flows) sent to a target."},
	[F_T_CONN_ACTIVE] = {"lbd_target_connections_active", "gauge",
			     "Open connections of a target: tracked flows plus SNI-spliced ones."},
	[F_T_DROPS] = {"lbd_target_drops_total", "counter",
		       "Packets of a target's connections dropped, by reason."},
	[F_T_HEALTHY] = {"lbd_target_healthy", "gauge",
			 "1 when the target takes connections as far as health goes, else 0."},
	[F_T_WEIGHT] = {"lbd_target_weight_effective", "gauge",
			"The target's effective weight in a group (health, recovery and drains "
			"applied): a group's sum to 100, or 10000 in a group of more than 8."},
	[F_T_PAYLOAD] =
		{"lbd_target_payload_bytes_total", "counter",
		 "TCP payload bytes of the SNI connections lbd spliced to a target, counted "
		 "when each connection ends (not IP lengths: see "
		 "lbd_target_bytes_total)."},
	[F_T_LIVE] = {"lbd_target_live_flows", "gauge",
		      "A target's open flows their client confirmed, as the datapath counts them "
		      "at this instant (what least-connections reads, each weighing 16)."},
	[F_T_UNCONFIRMED] = {"lbd_target_unconfirmed_flows", "gauge",
			     "A target's flows their client has not confirmed yet (a SYN, a first "
			     "datagram), as the datapath counts them at this instant (each weighs "
			     "1 for least-connections)."},
	[F_DATAPATH] = {"lbd_datapath_packets_total", "counter",
			"Packets seen by the datapath, by what it did with them."},
	[F_EVENTS_LOST] = {"lbd_events_lost_total", "counter",
			   "Connection events the datapath could not emit: its ring buffer was "
			   "full."},
	[F_CT_ENTRIES] = {"lbd_conntrack_entries", "gauge",
			  "Entries in the conntrack table lb_ct at the last scan; a confirmed "
			  "connection holds two, one per direction."},
	[F_CT_CAPACITY] = {"lbd_conntrack_capacity", "gauge",
			   "Size of the conntrack table lb_ct in entries (max_entries); near it, "
			   "the table evicts its least recently used flows."},
	[F_CONFIRMED] = {"lbd_conntrack_confirmed_total", "counter",
			 "Flows confirmed by their client's second packet (moved from lb_syn to "
			 "lb_ct); far fewer than new connections means unanswered SYNs, e.g. a "
			 "flood."},
};

struct family {
	char **lines;
	size_t n, cap;
};

struct ctx {
	struct family f[F_COUNT];
	bool failed;
};

void lb_metrics_put_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* One sample: @labels are name, value pairs ending with NULL. */
static void add(struct ctx *c, enum family_id id, const char *const *labels, json_int_t value)
{
	struct family *f = &c->f[id];
	char *line = NULL, **grown;
	size_t len = 0, i;
	FILE *m;

	if (c->failed)
		return;
	if (f->n == f->cap) {
		grown = realloc(f->lines, (f->cap ? 2 * f->cap : 8) * sizeof(*grown));
		if (!grown)
			goto fail;
		f->lines = grown;
		f->cap = f->cap ? 2 * f->cap : 8;
	}
	m = open_memstream(&line, &len);
	if (!m)
		goto fail;
	fputs(family_meta[id].name, m);
	for (i = 0; labels && labels[i]; i += 2) {
		fprintf(m, "%s%s=\"", i ? "," : "{", labels[i]);
		lb_metrics_put_label_value(m, labels[i + 1]);
		fputc('"', m);
	}
	if (i)
		fputc('}', m);
	fprintf(m, " %" JSON_INTEGER_FORMAT "\n", value);
	if (fclose(m))
		goto fail;
	f->lines[f->n++] = line;
	return;
fail:
	free(line);
	c->failed = true;
}

/* A sample of integer member @key of @o, when it has one. */
static void add_member(struct ctx *c, enum family_id id, const char *const *labels, const json_t *o,
		       const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		add(c, id, labels, json_integer_value(v));
}

/*
 * The counters object of a proxy or a target: @base is F_PACKETS or F_T_PACKETS, @labels
 * has room for two more pairs after the ones it holds (@n strings).
 */
static void add_counters(struct ctx *c, enum family_id base, const json_t *counters,
			 const char **labels, size_t n)
{
	static const char *const dirs[][2] = {{"in", "packets-in"}, {"out", "packets-out"}};
	static const char *const bdirs[][2] = {{"in", "bytes-in"}, {"out", "bytes-out"}};
	const json_t *drops = json_object_get(counters, "drops"), *v;
	const char *reason;
	size_t i;

	labels[n] = NULL;
	add_member(c, base + (F_CONN_NEW - F_PACKETS), labels, counters, "new-connections");
	add_member(c, base + (F_CONN_ACTIVE - F_PACKETS), labels, counters, "active-connections");
	for (i = 0; i < 2; i++) {
		labels[n] = "direction";
		labels[n + 1] = dirs[i][0];
		labels[n + 2] = NULL;
		add_member(c, base, labels, counters, dirs[i][1]);
		add_member(c, base + (F_BYTES - F_PACKETS), labels, counters, bdirs[i][1]);
	}
	json_object_foreach ((json_t *)drops, reason, v) {
		if (!json_is_integer(v))
			continue;
		labels[n] = "reason";
		labels[n + 1] = reason;
		labels[n + 2] = NULL;
		add(c, base + (F_DROPS - F_PACKETS), labels, json_integer_value(v));
	}
}

static void add_target(struct ctx *c, const char *proxy, const json_t *t)
{
	const char *target = json_string_value(json_object_get(t, "target"));
	const char *status = json_string_value(json_object_get(t, "status"));
	const char *labels[8] = {"proxy", proxy, "target", target};
	const json_t *w;
	size_t i;

	if (!target)
		return;
	add_counters(c, F_T_PACKETS, json_object_get(t, "counters"), labels, 4);
	for (i = 0; i < 2; i++) {
		labels[4] = "direction";
		labels[5] = i ? "out" : "in";
		labels[6] = NULL;
		add_member(c, F_T_PAYLOAD, labels, json_object_get(t, "counters"),
			   i ? "payload-bytes-out" : "payload-bytes-in");
	}
	labels[4] = NULL;
	add_member(c, F_T_LIVE, labels, json_object_get(t, "counters"), "live-flows");
	add_member(c, F_T_UNCONFIRMED, labels, json_object_get(t, "counters"), "unconfirmed-flows");
	if (status)
		add(c, F_T_HEALTHY, labels, strcmp(status, "unhealthy") != 0);
	json_array_foreach (json_object_get(t, "weights"), i, w) {
		const char *group = json_string_value(json_object_get(w, "group"));

		if (!group)
			continue;
		labels[4] = "group";
		labels[5] = group;
		labels[6] = NULL;
		add_member(c, F_T_WEIGHT, labels, w, "effective");
	}
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *render(struct ctx *c, size_t *len)
{
	char *text = NULL;
	size_t n = 0, i, k;
	FILE *m = open_memstream(&text, &n);

	if (!m)
		return NULL;
	for (i = 0; i < F_COUNT; i++) {
		struct family *f = &c->f[i];

		if (!f->n)
			continue;
		/* The HELP texts are ours: nothing in them needs escaping. */
		fprintf(m, "# HELP %s %s\n# TYPE %s %s\n", family_meta[i].name, family_meta[i].help,
			family_meta[i].name, family_meta[i].type);
		qsort(f->lines, f->n, sizeof(*f->lines), cmp_lines);
		for (k = 0; k < f->n; k++)
			fputs(f->lines[k], m);
	}
	if (fclose(m)) {
		free(text);
		return NULL;
	}
	if (len)
		*len = n;
	return text;
}

char *lb_metrics_format(const json_t *stats, size_t *len)
{
	struct ctx c = {0};
	const json_t *p, *t, *v;
	const char *reason;
	char *text = NULL;
	size_t i, k;

	add(&c, F_UP, NULL, 1);
	json_array_foreach (json_object_get(stats, "proxies"), i, p) {
		const char *name = json_string_value(json_object_get(p, "proxy"));
		const char *labels[6] = {"proxy", name};

		if (!name)
			continue;
		add_counters(&c, F_PACKETS, json_object_get(p, "counters"), labels, 2);
		json_array_foreach (json_object_get(p, "targets"), k, t)
			add_target(&c, name, t);
	}
	json_object_foreach ((json_t *)json_object_get(stats, "global"), reason, v) {
		const char *labels[] = {"reason", reason, NULL};

		if (!json_is_integer(v))
			continue;
		/* Not packet counts: lost events, confirmed flows. */
		if (!strcmp(reason, "events-lost"))
			add(&c, F_EVENTS_LOST, NULL, json_integer_value(v));
		else if (!strcmp(reason, "conntrack-confirmed"))
			add(&c, F_CONFIRMED, NULL, json_integer_value(v));
		else
			add(&c, F_DATAPATH, labels, json_integer_value(v));
	}
	v = json_object_get(json_object_get(stats, "conntrack"), "entries");
	if (json_is_integer(v))
		add(&c, F_CT_ENTRIES, NULL, json_integer_value(v));
	v = json_object_get(json_object_get(stats, "conntrack"), "capacity");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		add(&c, F_CT_CAPACITY, NULL, json_integer_value(v));
	if (!c.failed)
		text = render(&c, len);
	for (i = 0; i < F_COUNT; i++) {
		for (k = 0; k < c.f[i].n; k++)
			free(c.f[i].lines[k]);
		free(c.f[i].lines);
	}
	if (!text)
		errno = ENOMEM;
	return text;
}
