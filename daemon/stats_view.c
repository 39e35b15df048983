// SPDX-License-Identifier: MIT
#include "stats_view.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "lbd.h"
#include "metrics.h"

static json_t *counters_json(const struct lb_stats *s, uint64_t active)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}}", "packets-in",
			 (json_int_t)s->pkts_in, "bytes-in", (json_int_t)s->bytes_in, "packets-out",
			 (json_int_t)s->pkts_out, "bytes-out", (json_int_t)s->bytes_out,
			 "new-connections", (json_int_t)s->new_flows, "active-connections",
			 (json_int_t)active, "drops", "no-backend", (json_int_t)s->drop_no_backend,
			 "conntrack-insert", (json_int_t)s->err_ct_insert);
}

/* One membership of a target in a group of a proxy. */
struct member {
	const struct lb_model_target *t;
	uint32_t group;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	int d = memcmp(&x->t->addr, &y->t->addr, sizeof(x->t->addr));

	if (d)
		return d;
	if (x->t->port != y->t->port)
		return x->t->port < y->t->port ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/* Every (target, group) of @p, sorted by target then group. */
static struct member *members_of(const struct lb_model_proxy *p, size_t *n)
{
	size_t g, k, total = 0;
	struct member *m;

	for (g = 0; g < p->n_groups; g++)
		total += p->groups[g].n;
	m = calloc(total ? total : 1, sizeof(*m));
	if (!m)
		return NULL;
	*n = 0;
	for (g = 0; g < p->n_groups; g++)
		for (k = 0; k < p->groups[g].n; k++)
			m[(*n)++] = (struct member){&p->groups[g].t[k], (uint32_t)g};
	qsort(m, *n, sizeof(*m), cmp_member);
	return m;
}

static const char *target_status(const struct lb_model_target *t)
{
	if (!t->healthy)
		return "unhealthy";
	return t->recovery_step ? "recovering" : "healthy";
}

/* The targets of @p (each once, whatever the number of groups it is in). */
static int targets_json(struct lbd *l, const struct lb_model_proxy *p, const struct lb_live *live,
			json_t *out)
{
	char tgt[LB_TARGET_STR_MAX], label[LB_SNI_NAME_MAX + 8];
	size_t n = 0, i = 0, j;
	struct member *m = members_of(p, &n);
	int ret = 0;

	if (!m)
		return -ENOMEM;
	while (i < n) {
		const struct lb_model_target *t = m[i].t;
		struct lb_sni_target_counters sc = {0};
		struct lb_stats s = {0};
		uint64_t active = 0;
		json_t *weights = json_array(), *counters;

		if (t->target_id < LB_MAX_TARGETS) {
			ret = lb_counters_target(l->dp, t->target_id, &s);
			if (ret) {
				json_decref(weights);
				break;
			}
			active = live->per_target[t->target_id];
		}
		/*
		 * Connections the SNI acceptor spliced are lbd's own, not conntrack's: their
		 * count comes from the acceptor, and so do their bytes, which are TCP payload
		 * (counted once a connection ended), not the datapath's IP lengths:
		 * they are counted apart, never added to bytes-in/out.
		 */
		if (l->sni) {
			sc = lb_sni_target_counters(l->sni, p->cfg->name, &t->addr, t->port);
			active += lb_sni_active(l->sni, p->cfg->name, &t->addr, t->port);
			s.new_flows += sc.connections;
		}
		counters = counters_json(&s, active);
		/*
		 * What least-connections reads: the datapath's own counts, of this instant,
		 * confirmed flows and flows their client has not confirmed yet.
		 */
		if (t->target_id < LB_MAX_TARGETS) {
			struct lb_lconn_val lc = lb_counters_live(l->dp, t->target_id);

			json_object_set_new(counters, "live-flows", json_integer(lc.confirmed));
			json_object_set_new(counters, "unconfirmed-flows",
					    json_integer(lc.unconfirmed));
		}
		if (p->cfg->n_sni_routes || sc.bytes_to_backend || sc.bytes_to_client) {
			json_object_set_new(counters, "payload-bytes-in",
					    json_integer((json_int_t)sc.bytes_to_backend));
			json_object_set_new(counters, "payload-bytes-out",
					    json_integer((json_int_t)sc.bytes_to_client));
		}
		for (j = i; j < n && lb_ip_eq(&m[j].t->addr, &t->addr) && m[j].t->port == t->port;
		     j++)
			json_array_append_new(weights,
					      json_pack("{s:s, s:i, s:i}", "group",
							lb_proxy_group_label(p->cfg, m[j].group,
									     label, sizeof(label)),
							"configured", m[j].t->configured,
							"effective", m[j].t->effective));
		json_array_append_new(out,
				      json_pack("{s:s, s:s, s:b, s:o, s:o}", "target",
						lb_format_target(&t->addr, t->port, tgt), "status",
						target_status(t), "draining", t->draining,
						"counters", counters, "weights", weights));
		i = j;
	}
	free(m);
	return ret;
}

json_t *lbd_stats_json(struct lbd *l, const char *only, bool fresh, char *err, size_t errlen)
{
	json_t *proxies = json_array(), *global = json_object();
	const struct lb_live *live = lbd_live(l, fresh);
	uint64_t g[LB_G_MAX];
	size_t i;
	int ret = -ENOMEM;

	if (!live) {
		ret = -errno;
		goto fail;
	}
	if (!proxies || !global)
		goto fail;
	for (i = 0; i < l->model->n_proxies; i++) {
		const struct lb_model_proxy *p = &l->model->proxies[i];
		struct lb_stats s;
		json_t *targets;

		if (only && strcmp(only, p->cfg->name))
			continue;
		targets = json_array();
		ret = lb_counters_proxy(l->dp, p->id, &s);
		if (!ret)
			ret = targets_json(l, p, live, targets);
		if (ret) {
			json_decref(targets);
			goto fail;
		}
		/* An SNI-routed connection is one flow here (client to acceptor). */
		json_array_append_new(proxies, json_pack("{s:s, s:o, s:o}", "proxy", p->cfg->name,
							 "counters",
							 counters_json(&s, live->per_proxy[p->id]),
							 "targets", targets));
	}
	ret = lb_counters_global(l->dp, g);
	if (ret)
		goto fail;
	for (i = 0; i < LB_G_MAX; i++)
		json_object_set_new(global, lb_counters_global_name(i),
				    json_integer((json_int_t)g[i]));
	/* lb_ct's fill as the live-flow scan saw it (a confirmed flow holds two entries). */
	return json_pack("{s:o, s:o, s:{s:I, s:I}}", "proxies", proxies, "global", global,
			 "conntrack", "entries", (json_int_t)live->ct_entries, "capacity",
			 (json_int_t)live->ct_capacity);
fail:
	json_decref(proxies);
	json_decref(global);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else
		snprintf(err, errlen, "cannot read the datapath's counters: %s", strerror(-ret));
	errno = -ret;
	return NULL;
}

void lbd_stats_log(struct lbd *l)
{
	const struct lb_live *live;
	json_t *lines;
	size_t p;

	if (!l->cfg->settings.stats_enabled) {
		/* Enabled again later: the first line of each proxy is written again. */
		json_decref(l->last_stats);
		l->last_stats = NULL;
		return;
	}
	live = lbd_live(l, false);
	lines = json_object();
	if (!live || !lines) {
		json_decref(lines);
		return;
	}
	for (p = 0; p < l->model->n_proxies; p++) {
		const struct lb_model_proxy *mp = &l->model->proxies[p];
		const char *was = json_string_value(json_object_get(l->last_stats, mp->cfg->name));
		char line[LB_PROXY_NAME_MAX + 256];
		struct lb_stats s;

		if (lb_counters_proxy(l->dp, mp->id, &s))
			continue;
		snprintf(line, sizeof(line),
			 "stats %s: new %llu live %u in %llu pkts %llu bytes out %llu pkts %llu "
			 "bytes drop-no-backend %llu",
			 mp->cfg->name, (unsigned long long)s.new_flows, live->per_proxy[mp->id],
			 (unsigned long long)s.pkts_in, (unsigned long long)s.bytes_in,
			 (unsigned long long)s.pkts_out, (unsigned long long)s.bytes_out,
			 (unsigned long long)s.drop_no_backend);
		if (!was || strcmp(was, line))
			lb_info("%s", line);
		json_object_set_new(lines, mp->cfg->name, json_string(line));
	}
	/* Only the proxies there are now: one removed and added again starts afresh. */
	json_decref(l->last_stats);
	l->last_stats = lines;
}

char *lbd_metrics_render(void *ctx, size_t *len)
{
	char err[LB_ERR_MAX];
	json_t *stats = lbd_stats_json(ctx, NULL, false, err, sizeof(err));
	char *text;

	if (!stats) {
		lb_warn("metrics: %s", err);
		errno = EIO;
		return NULL;
	}
	text = lb_metrics_format(stats, len);
	json_decref(stats);
	return text;
}
