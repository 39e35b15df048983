// SPDX-License-Identifier: MIT
#include "model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "health.h"
#include "lb_addr.h"
#include "lb_select.h"
#include "weights.h"

/* When the ids ran out although the configuration fits: removed ones still have flows. */
#define RETIRED_HINT                                                                         \
	", counting removed ones whose connections are still tracked (their ids stay taken " \
	"until those close: lbctl connections)"

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* What the composer reads of one target: its verdicts (configured weight set by caller). */
static void verdicts(const struct lb_model_inputs *in, const char *proxy, const struct lb_ip *addr,
		     uint16_t port, struct lb_model_target *t)
{
	struct lb_health_state hs = {.healthy = true};

	if (in && in->health)
		hs = lb_health_state(in->health, proxy, addr, port);
	t->healthy = hs.healthy;
	t->recovery_step = hs.recovery_step;
	t->draining = in && in->drains && lb_drains_drained(in->drains, proxy, addr, port);
}

/* Identity order of two of a group's targets (indices): address, then port. */
static int by_identity(const void *a, const void *b, void *arg)
{
	const struct lb_model_target *t = arg, *x = &t[*(const uint16_t *)a],
				     *y = &t[*(const uint16_t *)b];
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (x->port > y->port) - (x->port < y->port);
}

/* The one weight composer over one group's targets (verdicts already in place). */
static void compose(struct lb_model_group *g)
{
	struct lb_weight_input w[LB_MAX_TARGETS_PER_GROUP];
	uint16_t eff[LB_MAX_TARGETS_PER_GROUP], order[LB_MAX_TARGETS_PER_GROUP];
	size_t i;

	for (i = 0; i < g->n; i++) {
		w[i].configured = g->t[i].configured;
		w[i].healthy = g->t[i].healthy;
		w[i].recovery_step = g->t[i].recovery_step;
		w[i].draining = g->t[i].draining;
		order[i] = (uint16_t)i;
	}
	/* Ranks in identity order: rounding must not depend on the config's order. */
	qsort_r(order, g->n, sizeof(order[0]), by_identity, g->t);
	for (i = 0; i < g->n; i++)
		w[order[i]].rank = (uint16_t)i;
	lb_weights_compose(w, g->n, lb_group_relative(g->n) ? LB_WEIGHTS_RELATIVE : LB_WEIGHTS_PCT,
			   eff);
	for (i = 0; i < g->n; i++)
		g->t[i].effective = eff[i];
}

static int cmp_target_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lb_target_key));
}

/* Each proxy's distinct targets (one may sit in several groups) and acceptors, sorted. */
static int collect_targets(const struct lb_config *cfg, const uint32_t *pids,
			   const struct lb_model_inputs *in, struct lb_target_key **out,
			   size_t *n_out)
{
	struct lb_target_key *keys;
	size_t cap = 0, n = 0, p, r, i, u;

	for (p = 0; p < cfg->n_proxies; p++)
		for (r = 0; r < lb_proxy_n_groups(&cfg->proxies[p]); r++)
			cap += lb_proxy_group(&cfg->proxies[p], r)->n;
	cap += cfg->n_proxies; /* the acceptors */
	keys = calloc(cap ? cap : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		for (r = 0; r < lb_proxy_n_groups(pc); r++) {
			const struct lb_group_cfg *g = lb_proxy_group(pc, r);

			for (i = 0; i < g->n; i++)
				keys[n++] = (struct lb_target_key){pids[p], g->t[i].addr,
								   g->t[i].port, 0};
		}
		if (in && in->acceptor_port && in->acceptor_port[p])
			keys[n++] = (struct lb_target_key){pids[p], {{0}}, in->acceptor_port[p], 0};
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_target_key);
	for (i = 0, u = 0; i < n; i++)
		if (u == 0 || cmp_target_key(&keys[u - 1], &keys[i]))
			keys[u++] = keys[i];
	*out = keys;
	*n_out = u;
	return 0;
}

/* Group keys: each proxy's default group, its source routes, then the acceptors. */
static struct lb_group_key *group_keys(const struct lb_config *cfg, const uint32_t *pids,
				       const struct lb_model_inputs *in, size_t *n_out)
{
	struct lb_group_key *k;
	size_t n = 0, p, r;

	for (p = 0; p < cfg->n_proxies; p++)
		n += 2 + cfg->proxies[p].n_routes;
	k = calloc(n ? n : 1, sizeof(*k));
	if (!k)
		return NULL;
	n = 0;
	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		k[n++] = (struct lb_group_key){.proxy_id = pids[p], .kind = LB_GK_DEFAULT};
		for (r = 0; r < pc->n_routes; r++)
			k[n++] = (struct lb_group_key){
				.proxy_id = pids[p],
				.addr = pc->routes[r].addr,
				.prefix_len =
					lb_prefix128(&pc->routes[r].addr, pc->routes[r].prefix_len),
				.kind = LB_GK_SOURCE};
		if (in && in->acceptor_port && in->acceptor_port[p])
			k[n++] = (struct lb_group_key){.proxy_id = pids[p], .kind = LB_GK_ACCEPTOR};
	}
	*n_out = n;
	return k;
}

/* Number the proxies, targets and groups of the model's configuration in m->ids. */
static int number(struct lb_model *m, const struct lb_model_inputs *in, uint32_t *pids,
		  uint32_t **gids_out, char *err, size_t errlen)
{
	const struct lb_config *cfg = m->cfg;
	char(*pkeys)[LB_PROXY_NAME_MAX] = calloc(cfg->n_proxies + 1, sizeof(*pkeys));
	uint8_t *pfresh = calloc(cfg->n_proxies + 1, 1), *tfresh = NULL;
	uint32_t *tids = NULL, *gids = NULL;
	struct lb_target_key *tkeys = NULL;
	struct lb_group_key *gkeys = NULL;
	size_t n_targets = 0, n_groups = 0, n_routes = 0, p, i;
	int ret;

	if (!pkeys || !pfresh)
		goto oom;
	for (p = 0; p < cfg->n_proxies; p++) {
		snprintf(pkeys[p], LB_PROXY_NAME_MAX, "%s", cfg->proxies[p].name);
		n_routes += cfg->proxies[p].n_routes;
	}
	if (n_routes > LB_MAX_ROUTES) {
		ret = fail(err, errlen, -ENOSPC, "%zu source routes exceed the limit of %d",
			   n_routes, LB_MAX_ROUTES);
		goto out;
	}
	ret = lb_idmap_assign(&m->ids.proxies, pkeys, cfg->n_proxies, pids, pfresh,
			      in && in->proxies_q.now_ns ? &in->proxies_q : NULL);
	if (ret) {
		ret = fail(err, errlen, ret, "%zu proxies exceed the limit of %d%s", cfg->n_proxies,
			   LB_MAX_PROXIES, cfg->n_proxies <= LB_MAX_PROXIES ? RETIRED_HINT : "");
		goto out;
	}
	for (p = 0; p < cfg->n_proxies; p++)
		m->proxies[p].fresh = pfresh[p];

	if (collect_targets(cfg, pids, in, &tkeys, &n_targets))
		goto oom;
	tids = calloc(n_targets + 1, sizeof(*tids));
	tfresh = calloc(n_targets + 1, 1);
	m->fresh_targets = calloc(n_targets + 1, sizeof(*m->fresh_targets));
	if (!tids || !tfresh || !m->fresh_targets)
		goto oom;
	ret = lb_idmap_assign(&m->ids.targets, tkeys, n_targets, tids, tfresh,
			      in && in->targets_q.now_ns ? &in->targets_q : NULL);
	if (ret) {
		ret = fail(err, errlen, ret, "%zu distinct targets exceed the limit of %d%s",
			   n_targets, LB_MAX_TARGETS,
			   n_targets <= LB_MAX_TARGETS ? RETIRED_HINT : "");
		goto out;
	}
	for (i = 0; i < n_targets; i++)
		if (tfresh[i])
			m->fresh_targets[m->n_fresh_targets++] = tids[i];

	gkeys = group_keys(cfg, pids, in, &n_groups);
	gids = calloc(n_groups + 1, sizeof(*gids));
	if (!gkeys || !gids)
		goto oom;
	ret = lb_idmap_assign(&m->ids.groups, gkeys, n_groups, gids, NULL, NULL);
	if (ret)
		ret = fail(err, errlen, ret, "cannot number the groups: %s", strerror(-ret));
	goto out;
oom:
	ret = fail(err, errlen, -ENOMEM, "out of memory");
out:
	free(pkeys);
	free(pfresh);
	free(tkeys);
	free(tids);
	free(tfresh);
	free(gkeys);
	if (ret)
		free(gids);
	else
		*gids_out = gids;
	return ret;
}

/* Fill group @g from its configuration: targets, ids, verdicts, effective weights. */
static void fill_group(struct lb_model_group *g, const struct lb_ids *ids, const char *proxy,
		       uint32_t pid, const struct lb_group_cfg *gc,
		       const struct lb_model_inputs *in)
{
	size_t i;

	g->n = gc->n;
	for (i = 0; i < gc->n; i++) {
		struct lb_model_target *t = &g->t[i];

		t->addr = gc->t[i].addr;
		t->port = gc->t[i].port;
		t->configured = gc->t[i].weight;
		t->proxy_protocol = gc->t[i].proxy_protocol;
		t->target_id = (uint32_t)lb_ids_target(ids, pid, &t->addr, t->port);
		verdicts(in, proxy, &t->addr, t->port, t);
	}
	compose(g);
}

static int build_proxy(struct lb_model *m, size_t p, uint32_t pid, const uint32_t *gids, size_t *gi,
		       const struct lb_model_inputs *in)
{
	const struct lb_proxy_cfg *pc = &m->cfg->proxies[p];
	struct lb_model_proxy *mp = &m->proxies[p];
	size_t total = 0, r;
	struct lb_model_target *pool;

	mp->cfg = pc;
	mp->id = pid;
	mp->n_groups = lb_proxy_n_groups(pc);
	for (r = 0; r < mp->n_groups; r++)
		total += lb_proxy_group(pc, r)->n;
	mp->groups = calloc(mp->n_groups, sizeof(*mp->groups));
	pool = calloc(total + 1, sizeof(*pool)); /* groups[0].t points here: freed through it */
	if (!mp->groups || !pool) {
		free(pool);
		return -ENOMEM;
	}
	for (r = 0; r < mp->n_groups; r++) {
		struct lb_model_group *g = &mp->groups[r];

		g->kind = r == 0 ? LB_MG_DEFAULT : r <= pc->n_routes ? LB_MG_SOURCE : LB_MG_SNI;
		g->id = g->kind == LB_MG_SNI ? 0 : gids[(*gi)++];
		g->t = pool;
		pool += lb_proxy_group(pc, r)->n;
		fill_group(g, &m->ids, pc->name, pid, lb_proxy_group(pc, r), in);
	}
	mp->acceptor_port = in && in->acceptor_port ? in->acceptor_port[p] : 0;
	if (mp->acceptor_port) {
		struct lb_model_target *t = calloc(1, sizeof(*t));

		if (!t)
			return -ENOMEM;
		mp->acceptor.kind = LB_MG_ACCEPTOR;
		mp->acceptor.id = gids[(*gi)++];
		mp->acceptor.n = 1;
		mp->acceptor.t = t;
		t->port = mp->acceptor_port;
		t->configured = t->effective = 100;
		t->healthy = true;
		t->target_id = (uint32_t)lb_ids_target(&m->ids, pid, &t->addr, mp->acceptor_port);
	}
	return 0;
}

int lb_model_build(const struct lb_config *cfg, const struct lb_ids *prev,
		   const struct lb_model_inputs *in, struct lb_model **out, char *err,
		   size_t errlen)
{
	struct lb_model *m = calloc(1, sizeof(*m));
	uint32_t *pids = NULL, *gids = NULL;
	size_t p, gi = 0;
	int ret;

	*out = NULL;
	if (!m)
		return fail(err, errlen, -ENOMEM, "out of memory");
	m->cfg = cfg;
	m->n_proxies = cfg->n_proxies;
	m->proxies = calloc(cfg->n_proxies + 1, sizeof(*m->proxies));
	pids = calloc(cfg->n_proxies + 1, sizeof(*pids));
	lb_ids_init(&m->ids);
	if (!m->proxies || !pids || lb_ids_clone(&m->ids, prev)) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ret = number(m, in, pids, &gids, err, errlen);
	for (p = 0; p < cfg->n_proxies && !ret; p++)
		if (build_proxy(m, p, pids[p], gids, &gi, in))
			ret = fail(err, errlen, -ENOMEM, "out of memory");
	free(gids);
out:
	free(pids);
	if (ret) {
		lb_model_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

bool lb_model_recompose(struct lb_model *m, const char *name, const struct lb_model_inputs *in)
{
	struct lb_model_proxy *mp = (struct lb_model_proxy *)lb_model_find(m, name);
	bool changed = false;
	size_t r, i;

	if (!mp)
		return false;
	for (r = 0; r < mp->n_groups; r++) {
		struct lb_model_group *g = &mp->groups[r];
		const struct lb_group_cfg *gc = lb_proxy_group(mp->cfg, r);
		struct lb_model_target was[LB_MAX_TARGETS_PER_GROUP];

		memcpy(was, g->t, g->n * sizeof(*was));
		for (i = 0; i < g->n; i++) {
			g->t[i].configured = gc->t[i].weight;
			verdicts(in, name, &g->t[i].addr, g->t[i].port, &g->t[i]);
		}
		compose(g);
		changed |= memcmp(was, g->t, g->n * sizeof(*was)) != 0;
	}
	return changed;
}

const struct lb_model_proxy *lb_model_find(const struct lb_model *m, const char *name)
{
	size_t p;

	for (p = 0; m && p < m->n_proxies; p++)
		if (!strcmp(m->proxies[p].cfg->name, name))
			return &m->proxies[p];
	return NULL;
}

/*
 * The datapath's cumulative-weight choice (lb_select_backend()) for a group of any size:
 * the hash mapped onto [0, total weight), the target whose range covers it.
 */
const struct lb_model_target *lb_model_select(const struct lb_model_group *g, uint32_t hash)
{
	uint32_t total = 0, point, acc = 0;
	size_t i;

	for (i = 0; i < g->n; i++)
		total += g->t[i].effective;
	if (!total)
		return NULL;
	point = (uint32_t)(((uint64_t)hash * total) >> 32);
	for (i = 0; i < g->n; i++) {
		acc += g->t[i].effective;
		if (point < acc)
			return &g->t[i];
	}
	return NULL;
}

void lb_model_free(struct lb_model *m)
{
	size_t p;

	if (!m)
		return;
	for (p = 0; p < m->n_proxies; p++) {
		if (m->proxies[p].groups)
			free(m->proxies[p].groups[0].t);
		free(m->proxies[p].groups);
		free(m->proxies[p].acceptor.t);
	}
	free(m->proxies);
	free(m->fresh_targets);
	lb_ids_release(&m->ids);
	free(m);
}

json_t *lb_model_weights_json(const struct lb_model_proxy *p)
{
	json_t *groups = json_array();
	size_t r, k;

	for (r = 0; r < p->n_groups; r++) {
		const struct lb_model_group *g = &p->groups[r];
		char src[LB_SNI_NAME_MAX + 8], tgt[LB_TARGET_STR_MAX];
		json_t *targets = json_array();

		for (k = 0; k < g->n; k++)
			json_array_append_new(
				targets,
				json_pack("{s:s, s:i, s:i}", "target",
					  lb_format_target(&g->t[k].addr, g->t[k].port, tgt),
					  "configured-weight", g->t[k].configured,
					  "effective-weight", g->t[k].effective));
		json_array_append_new(groups,
				      json_pack("{s:s, s:o}", "source",
						lb_proxy_group_label(p->cfg, r, src, sizeof(src)),
						"targets", targets));
	}
	return groups;
}
