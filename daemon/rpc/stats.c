// SPDX-License-Identifier: MIT
/*
 * Statistics methods: stats (the datapath's counters per proxy and per target, open
 * connections, health and weights, the global counters) and metrics (the same as
 * Prometheus text, which /metrics serves too).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fanout.h"
#include "counters.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "metrics.h"
#include "methods.h"

/* Open flows per proxy id and per target id, from one conntrack scan. */
struct open_flows {
	uint64_t proxy[LB_MAX_PROXIES];
	uint64_t target[LB_MAX_TARGETS];
};

static int count_open_flow(const struct lb_flow_view *f, void *arg)
{
	struct open_flows *o = arg;

	if (!f->live || f->expired)
		return 0;
	if (f->orig->proxy_id < LB_MAX_PROXIES)
		o->proxy[f->orig->proxy_id]++;
	if (f->orig->target_id < LB_MAX_TARGETS)
		o->target[f->orig->target_id]++;
	return 0;
}

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
	uint32_t addr; /* network order */
	uint16_t port; /* host order */
	uint16_t configured, effective;
	uint32_t group;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->addr != y->addr)
		return ntohl(x->addr) < ntohl(y->addr) ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->group < y->group ? -1 : x->group > y->group;
}

/* Every (target, group) of @p with its weights, sorted by target then group. */
static struct member *members_of(struct lbd *l, const struct lb_proxy_cfg *p, size_t *n)
{
	size_t g, k, total = 0;
	struct member *m;

	for (g = 0; g < lb_proxy_n_groups(p); g++)
		total += lb_proxy_group(p, g)->n;
	m = calloc(total ? total : 1, sizeof(*m));
	if (!m)
		return NULL;
	*n = 0;
	for (g = 0; g < lb_proxy_n_groups(p); g++) {
		const struct lb_group_cfg *grp = lb_proxy_group(p, g);
		uint16_t eff[LB_MAX_TARGETS_PER_GROUP];

		lbd_compose_group(l, p, grp, eff);
		for (k = 0; k < grp->n; k++)
			m[(*n)++] = (struct member){grp->t[k].addr, grp->t[k].port,
						    grp->t[k].weight, eff[k], (uint32_t)g};
	}
	qsort(m, *n, sizeof(*m), cmp_member);
	return m;
}

static const char *target_status(struct lbd *l, const char *proxy, uint32_t addr, uint16_t port)
{
	struct lb_health_state hs = {.healthy = true};

	if (l->health)
		hs = lb_health_state(l->health, proxy, addr, port);
	if (!hs.healthy)
		return "unhealthy";
	return hs.recovery_step ? "recovering" : "healthy";
}

/* The targets of @p (each once, whatever the number of groups it is in). */
static int targets_json(struct lbd *l, const struct lb_proxy_cfg *p, uint32_t pid,
			const struct open_flows *o, json_t *out)
{
	char tgt[LB_TARGET_STR_MAX], label[LB_SNI_NAME_MAX + 8];
	size_t n = 0, i = 0, j;
	struct member *m = members_of(l, p, &n);
	int ret = 0;

	if (!m)
		return -ENOMEM;
	while (i < n) {
		int64_t tid = lb_ids_target(&l->ids, pid, m[i].addr, m[i].port);
		struct lb_stats s = {0};
		uint64_t active = 0;
		json_t *weights = json_array();

		if (tid >= 0 && tid < LB_MAX_TARGETS) {
			ret = lb_counters_target(l->dp, (uint32_t)tid, &s);
			if (ret)
				break;
			active = o->target[tid];
		}
		/*
		 * Connections the SNI acceptor spliced are lbd's own, not conntrack's: their
		 * count and payload bytes come from the acceptor (bytes once they ended).
		 */
		if (l->sni) {
			struct lb_sni_target_counters sc =
				lb_sni_target_counters(l->sni, p->name, m[i].addr, m[i].port);

			active += lb_sni_active(l->sni, p->name, m[i].addr, m[i].port);
			s.new_flows += sc.connections;
			s.bytes_in += sc.bytes_to_backend;
			s.bytes_out += sc.bytes_to_client;
		}
		for (j = i; j < n && m[j].addr == m[i].addr && m[j].port == m[i].port; j++)
			json_array_append_new(
				weights,
				json_pack("{s:s, s:i, s:i}", "group",
					  lbd_group_label(p, m[j].group, label, sizeof(label)),
					  "configured", m[j].configured, "effective",
					  m[j].effective));
		json_array_append_new(
			out, json_pack("{s:s, s:s, s:b, s:o, s:o}", "target",
				       lb_format_target(m[i].addr, m[i].port, tgt), "status",
				       target_status(l, p->name, m[i].addr, m[i].port), "draining",
				       l->drains && lb_drains_drained(l->drains, p->name, m[i].addr,
								      m[i].port),
				       "counters", counters_json(&s, active), "weights", weights));
		i = j;
	}
	free(m);
	return ret;
}

/* The `stats` result for every proxy, or only @only. NULL with a sentence in @e. */
static json_t *stats_json(struct lbd *l, const char *only, struct lbd_rpc_err *e)
{
	struct lb_sweep_timeouts t = {l->cfg->settings.connection_timeout_sec,
				      l->cfg->settings.udp_timeout_sec};
	json_t *proxies = json_array(), *global = json_object();
	struct open_flows *o = calloc(1, sizeof(*o));
	uint64_t g[LB_G_MAX];
	size_t i;
	int ret;

	if (!o || !proxies || !global) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = lb_ct_scan(l->dp, &t, count_open_flow, o);
	if (ret)
		goto fail;
	for (i = 0; i < l->cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &l->cfg->proxies[i];
		int64_t pid = lb_ids_proxy(&l->ids, p->name);
		struct lb_stats s;
		json_t *targets;

		if ((only && strcmp(only, p->name)) || pid < 0 || pid >= LB_MAX_PROXIES)
			continue;
		targets = json_array();
		ret = lb_counters_proxy(l->dp, (uint32_t)pid, &s);
		if (!ret)
			ret = targets_json(l, p, (uint32_t)pid, o, targets);
		if (ret) {
			json_decref(targets);
			goto fail;
		}
		/* An SNI-routed connection is one flow here (client to acceptor). */
		json_array_append_new(
			proxies, json_pack("{s:s, s:o, s:o}", "proxy", p->name, "counters",
					   counters_json(&s, o->proxy[pid]), "targets", targets));
	}
	ret = lb_counters_global(l->dp, g);
	if (ret)
		goto fail;
	for (i = 0; i < LB_G_MAX; i++)
		json_object_set_new(global, lb_counters_global_name(i),
				    json_integer((json_int_t)g[i]));
	free(o);
	return json_pack("{s:o, s:o}", "proxies", proxies, "global", global);
fail:
	free(o);
	json_decref(proxies);
	json_decref(global);
	if (ret == -ENOMEM)
		lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	else
		lbd_rpc_fail(e, LB_RPC_DATAPATH, json_pack("{s:i}", "errno", -ret),
			     "cannot read the datapath's counters: %s", strerror(-ret));
	return NULL;
}

int lbd_rpc_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		  struct lbd_rpc_err *e)
{
	const char *only = json_string_value(json_object_get(params, "proxy"));

	if (only && !lbd_find_proxy(l->cfg, only))
		return lbd_rpc_no_proxy(e, only);
	*result = stats_json(l, only, e);
	if (!*result)
		return -1;
	/* The subscription starts with the reply: no event is lost between the two. */
	if (json_is_true(json_object_get(params, "follow")) &&
	    lb_subs_add(&l->stats_subs, call->client)) {
		json_decref(*result);
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	}
	json_object_set_new(*result, "events", lbd_events_status(l));
	return 0;
}

static int set_stats(struct lbd *l, bool on, json_t **result, struct lbd_rpc_err *e)
{
	struct lb_config *next = lb_config_dup(l->cfg);

	if (!next)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	next->settings.stats_enabled = on;
	if (lbd_rpc_apply(l, next, e))
		return -1;
	*result = json_pack("{s:b}", "enabled", on);
	return 0;
}

int lbd_rpc_enable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			 struct lbd_rpc_err *e)
{
	(void)params;
	return set_stats(l, true, result, e);
}

int lbd_rpc_disable_stats(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
			  struct lbd_rpc_err *e)
{
	(void)params;
	return set_stats(l, false, result, e);
}

int lbd_rpc_metrics(struct lbd *l, struct lbd_call *call, json_t *params, json_t **result,
		    struct lbd_rpc_err *e)
{
	json_t *stats = stats_json(l, NULL, e);
	char *text;

	if (!stats)
		return -1;
	text = lb_metrics_format(stats, NULL);
	json_decref(stats);
	if (!text)
		return lbd_rpc_fail(e, LB_RPC_INTERNAL_ERROR, NULL, "out of memory");
	*result = json_pack("{s:s}", "text", text);
	free(text);
	return 0;
}

char *lbd_metrics_render(void *ctx, size_t *len)
{
	struct lbd_rpc_err e = {0};
	json_t *stats = stats_json(ctx, NULL, &e);
	char *text;

	if (!stats) {
		lb_warn("metrics: %s", e.msg);
		json_decref(e.data);
		errno = EIO;
		return NULL;
	}
	text = lb_metrics_format(stats, len);
	json_decref(stats);
	return text;
}
