// SPDX-License-Identifier: MIT
#include "apply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "access_log.h"
#include "attach.h"
#include "conn_fanout.h"
#include "hc_tls.h"
#include "lb_addr.h"
#include "lb_fault.h"
#include "lb_log.h"
#include "lb_select.h"
#include "lbd.h"
#include "neigh.h"
#include "node.h"
#include "stats_view.h"

/*
 * Settings the running datapath cannot take without a restart are refused by name, each
 * message saying "needs a restart" and how (docs/configuration.md lists them, and
 * scripts/check-restart-doc.py checks that it lists every one refused here).
 */
static int check_fixed_settings(const struct lbd *l, const struct lb_config *next, char *err,
				size_t errlen)
{
	const struct lb_settings *cur = &l->cfg->settings, *nx = &next->settings;

	if (cur->max_connections != nx->max_connections)
		return lb_errf(err, errlen, -EINVAL,
			       "settings.max-connections: changing it (%u to %u) needs a restart "
			       "with a new datapath: the conntrack table is sized when it is "
			       "created; stop lbd, run lbd --teardown (this drops tracked "
			       "connections), then start it",
			       cur->max_connections, nx->max_connections);
	if (cur->sni_splice != nx->sni_splice)
		return lb_errf(
			err, errlen, -EINVAL,
			"settings.sni-splice: changing it (%s to %s) needs a restart of lbd: "
			"the splicer is set up when lbd starts",
			lb_splice_mode_name(cur->sni_splice), lb_splice_mode_name(nx->sni_splice));
	if (cur->xdp_mode != nx->xdp_mode)
		return lb_errf(err, errlen, -EINVAL,
			       "settings.xdp-mode: changing it (%s to %s) needs a restart of lbd "
			       "with --teardown, or every interface detached first: programs stay "
			       "attached in the mode they were attached with",
			       lb_xdp_mode_name(cur->xdp_mode), lb_xdp_mode_name(nx->xdp_mode));
	return 0;
}

/* A flag given at start wins over the file's @setting on reload too: say so when they differ. */
static void flag_wins(const char *setting, const char *file, const char *flag, const char *kept)
{
	lb_warn("reload: settings.%s: the file asks for %s, but %s given at start keeps %s; "
		"restart lbd without %s to use the file's value",
		setting, file, flag, kept, flag);
}

/* The flags given at start, over @next read from the file (lbd_reload()). */
static void apply_start_flags(const struct lbd *l, struct lb_settings *nx)
{
	const struct lb_settings *cur = &l->cfg->settings;

	if (l->args.stats_flag && !nx->stats_enabled)
		flag_wins("stats-enabled", "false", "-s", "statistics on");
	if (l->args.stats_flag)
		nx->stats_enabled = true;
	if (l->args.xdp_mode_flag && nx->xdp_mode != cur->xdp_mode)
		flag_wins("xdp-mode", lb_xdp_mode_name(nx->xdp_mode), "--xdp-mode",
			  lb_xdp_mode_name(cur->xdp_mode));
	if (l->args.xdp_mode_flag)
		nx->xdp_mode = cur->xdp_mode;
	if (l->args.ingress_flag && nx->ingress != cur->ingress)
		flag_wins("ingress", lb_ingress_name(nx->ingress), "--ingress",
			  lb_ingress_name(cur->ingress));
	if (l->args.ingress_flag)
		nx->ingress = cur->ingress;
}

/* The composer's inputs for @cfg; *acc (per proxy: its SNI acceptor's port) is the caller's. */
static int model_inputs(struct lbd *l, const struct lb_config *cfg, struct lb_model_inputs *in,
			uint16_t **acc)
{
	size_t p;

	*acc = calloc(cfg->n_proxies + 1, sizeof(**acc));
	if (!*acc)
		return -ENOMEM;
	for (p = 0; p < cfg->n_proxies; p++)
		if (cfg->proxies[p].n_sni_routes && l->sni)
			(*acc)[p] = lb_sni_port(l->sni, cfg->proxies[p].name);
	in->health = l->health;
	in->drains = l->drains;
	in->acceptor_port = *acc;
	/* Retired ids wait until a scan shows no flow carries them: the last one will do. */
	memset(&in->proxies_q, 0, sizeof(in->proxies_q));
	memset(&in->targets_q, 0, sizeof(in->targets_q));
	if (l->sweeper) {
		const struct lb_live *live = lb_sweeper_live(l->sweeper, UINT64_MAX / 2000000);

		in->proxies_q.now_ns = in->targets_q.now_ns = uv_hrtime();
		if (live) {
			in->proxies_q.scanned_ns = in->targets_q.scanned_ns = live->at_ns;
			in->proxies_q.present = live->present_proxy;
			in->targets_q.present = live->present_target;
		}
	}
	return 0;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/*
 * A digest of everything lb_model_weights_json() shows of @p, without building the JSON: the
 * groups (a route's prefix, an SNI route's name) and each target's weights.
 */
static uint64_t weights_digest(const struct lb_model_proxy *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t r, k;

	for (r = 0; r < p->n_groups; r++) {
		const struct lb_model_group *g = &p->groups[r];

		h = fnv1a(h, &g->kind, sizeof(g->kind));
		if (g->kind == LB_MG_SOURCE) {
			const struct lb_route_cfg *rc = &p->cfg->routes[r - 1];

			h = fnv1a(h, &rc->addr, sizeof(rc->addr));
			h = fnv1a(h, &rc->prefix_len, sizeof(rc->prefix_len));
		} else if (g->kind == LB_MG_SNI) {
			const char *host = p->cfg->sni_routes[r - 1 - p->cfg->n_routes].hostname;

			h = fnv1a(h, host, strlen(host) + 1);
		}
		h = fnv1a(h, &g->n, sizeof(g->n));
		for (k = 0; k < g->n; k++) {
			h = fnv1a(h, &g->t[k].addr, sizeof(g->t[k].addr));
			h = fnv1a(h, &g->t[k].port, sizeof(g->t[k].port));
			h = fnv1a(h, &g->t[k].configured, sizeof(g->t[k].configured));
			h = fnv1a(h, &g->t[k].effective, sizeof(g->t[k].effective));
		}
	}
	return h;
}

/* Tell health followers when a proxy's effective weights changed. */
static void announce_weights(struct lbd *l, const struct lb_model_proxy *p)
{
	json_int_t digest = (json_int_t)weights_digest(p);
	json_t *was, *ev;

	if (!l->last_weights)
		l->last_weights = json_object();
	was = json_object_get(l->last_weights, p->cfg->name);
	if (was && json_integer_value(was) == digest)
		return;
	json_object_set_new(l->last_weights, p->cfg->name, json_integer(digest));
	/* With 40,000 routes the event is megabytes: built only for someone to read it. */
	if (!l->notify.health || !l->notify.health_wanted ||
	    !l->notify.health_wanted(l->notify.ctx))
		return;
	ev = json_pack("{s:s, s:s, s:o}", "type", "weights-updated", "proxy", p->cfg->name,
		       "groups", lb_model_weights_json(p));
	l->notify.health(l->notify.ctx, ev);
	json_decref(ev);
}

void lbd_policy_changed(void *ctx, const char *proxy)
{
	struct lbd *l = ctx;
	struct lb_model_inputs in = {.health = l->health, .drains = l->drains};
	const struct lb_model_proxy *p;
	char err[LB_ERR_MAX];

	if (!l->model || !lb_model_recompose(l->model, proxy, &in))
		return;
	p = lb_model_find(l->model, proxy);
	if (lb_mapsync_groups(l->maps, p, err, sizeof(err)))
		lb_err("%s", err);
	announce_weights(l, p);
	lbd_node_update(l, false);
}

/*
 * A change (set-weights, a reload) must not leave a group whose only targets that could take
 * new connections are drained: `drain` refuses to drain a group's last one, and the same
 * state reached from the other side is refused too, or every new connection is dropped.
 */
static int check_drains_proxy(struct lbd *l, const struct lb_proxy_cfg *p, char *err, size_t errlen)
{
	char src[LB_SNI_NAME_MAX + 8];
	int r = l->drains ? lb_drains_starved_group(l->drains, p, NULL, 0) : -1;

	if (r < 0)
		return 0;
	lb_proxy_group_label(p, (size_t)r, src, sizeof(src));
	return lb_errf(err, errlen, -EBUSY,
		       "proxy \"%s\" (%s): every target with a weight there is drained, so no "
		       "target would take new connections; give an undrained target a weight, or "
		       "undrain one first (lbctl drain-status, lbctl undrain)",
		       p->name, src);
}

static int check_drains(struct lbd *l, const struct lb_config *next, char *err, size_t errlen)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < next->n_proxies; i++)
		ret = check_drains_proxy(l, &next->proxies[i], err, errlen);
	return ret;
}

int lbd_set_weights(struct lbd *l, const char *proxy, size_t group, const struct lb_group_cfg *w,
		    char *err, size_t errlen)
{
	struct lb_model_inputs in = {.health = l->health, .drains = l->drains};
	struct lb_proxy_cfg *pc = lb_config_find_proxy(l->cfg, proxy);
	const struct lb_model_proxy *p = lb_model_find(l->model, proxy);
	struct lb_group_cfg *g;
	uint8_t was[LB_MAX_TARGETS_PER_GROUP];
	char undo_err[LB_ERR_MAX];
	size_t i, k;
	int ret;

	if (!pc || !p || group >= lb_proxy_n_groups(pc))
		return lb_errf(err, errlen, -ENOENT, "no such proxy or group");
	g = lb_proxy_group(pc, group);
	for (k = 0; k < g->n; k++) {
		was[k] = g->t[k].weight;
		for (i = 0; i < w->n; i++)
			if (lb_ip_eq(&g->t[k].addr, &w->t[i].addr) && g->t[k].port == w->t[i].port)
				g->t[k].weight = w->t[i].weight;
	}
	ret = check_drains_proxy(l, pc, err, errlen);
	if (ret) {
		for (k = 0; k < g->n; k++)
			g->t[k].weight = was[k];
		return ret;
	}
	if (!lb_model_recompose(l->model, proxy, &in))
		return 0;
	ret = lb_mapsync_groups(l->maps, p, err, errlen);
	if (ret) {
		/* All or nothing: the weights go back, and so do the groups written. */
		for (k = 0; k < g->n; k++)
			g->t[k].weight = was[k];
		lb_model_recompose(l->model, proxy, &in);
		if (lb_mapsync_groups(l->maps, p, undo_err, sizeof(undo_err)))
			lb_err("cannot restore the weights of \"%s\": %s", proxy, undo_err);
		return ret;
	}
	announce_weights(l, p);
	lbd_node_update(l, false);
	return 0;
}

void lbd_on_health_event(void *ctx, json_t *event)
{
	struct lbd *l = ctx;

	if (l->notify.health)
		l->notify.health(l->notify.ctx, event);
}

int lbd_drain_count(void *ctx, size_t n, const char *const *proxies, const struct lb_ip *addrs,
		    const uint16_t *ports, uint32_t *counts)
{
	struct lbd *l = ctx;
	/* Younger than half a check interval: every check sees what the last one did not. */
	uint64_t age = l->cfg->settings.drain_check_interval_ms / 2;
	const struct lb_live *live = lb_sweeper_live(l->sweeper, age ? age : 1);
	size_t i;

	if (!live)
		return -errno;
	for (i = 0; i < n; i++) {
		int64_t pid = lb_ids_proxy(&l->model->ids, proxies[i]);
		int64_t tid =
			pid < 0 ? -1
				: lb_ids_target(&l->model->ids, (uint32_t)pid, &addrs[i], ports[i]);

		counts[i] = tid < 0 ? 0 : live->per_target[tid];
		/* Connections the SNI acceptor spliced are lbd's own, not conntrack's. */
		if (l->sni)
			counts[i] += lb_sni_active(l->sni, proxies[i], &addrs[i], ports[i]);
	}
	return 0;
}

int lbd_sni_choose(void *ctx, const char *proxy, const char *name, const struct lb_ip *client_addr,
		   uint16_t client_port, const struct lb_ip *listener_addr, uint16_t listener_port,
		   struct lb_sni_choice *out)
{
	struct lbd *l = ctx;
	const struct lb_model_proxy *p = lb_model_find(l->model, proxy);
	const struct lb_sni_route_cfg *r;
	const struct lb_model_target *t;
	size_t g = 0;

	if (!p)
		return -ENOENT;
	r = name ? lb_sni_route_match(p->cfg, name) : NULL;
	if (r)
		g = 1 + p->cfg->n_routes + (size_t)(r - p->cfg->sni_routes);
	/* The same hash-to-weight mapping as the datapath's. */
	t = lb_model_select(&p->groups[g],
			    lb_flow_hash(client_addr, listener_addr, htons(client_port),
					 htons(listener_port), LB_PROTO_TCP));
	if (!t)
		return -ENOENT;
	out->addr = t->addr;
	out->port = t->port;
	out->proxy_protocol = t->proxy_protocol;
	return 0;
}

/* Does the running configuration still have this target? (drains of removed ones go) */
static bool target_exists(void *ctx, const char *proxy, const struct lb_ip *addr, uint16_t port)
{
	const struct lb_proxy_cfg *p = lb_config_find_proxy(((struct lbd *)ctx)->cfg, proxy);

	return p && lb_proxy_has_target(p, addr, port);
}

/* What preparing the metrics listener did, for its commit or abort. */
struct metrics_step {
	struct lb_metrics_http *fresh; /* the listener the change asks for, when new */
	bool stopped;		       /* the running one had to stop to free its port */
	struct lb_ip addr;	       /* ... and where it listened */
	uint16_t port;
};

static struct lb_metrics_http *metrics_start(struct lbd *l, const struct lb_ip *addr, uint16_t port,
					     char *err, size_t errlen)
{
	return lb_metrics_http_start(l->loop, addr, port, lbd_metrics_render, l, err, errlen);
}

/* Put the running listener back as it was. */
static void metrics_abort(struct lbd *l, struct metrics_step *m)
{
	char where[LB_TARGET_STR_MAX], msg[LB_ERR_MAX];

	lb_metrics_http_stop(m->fresh);
	m->fresh = NULL;
	if (!m->stopped)
		return;
	m->stopped = false;
	l->metrics = metrics_start(l, &m->addr, m->port, msg, sizeof(msg));
	if (!l->metrics)
		lb_err("cannot serve metrics on %s again: %s",
		       lb_format_target(&m->addr, m->port, where), msg);
}

/*
 * Start the metrics listener @nx asks for unless it runs already, before anything else
 * changes: an address in use then refuses the change whole.
 */
static int metrics_prepare(struct lbd *l, const struct lb_settings *nx, struct metrics_step *m,
			   char *err, size_t errlen)
{
	const struct lb_settings *cur = l->cfg ? &l->cfg->settings : NULL;
	char msg[LB_ERR_MAX];
	int ret;

	memset(m, 0, sizeof(*m));
	if (!l->loop || !nx->metrics_listen ||
	    lb_metrics_http_listens_on(l->metrics, &nx->metrics_addr, nx->metrics_port))
		return 0;
	ret = lb_fault("metrics", err, errlen);
	if (ret)
		return ret;
	m->fresh = metrics_start(l, &nx->metrics_addr, nx->metrics_port, msg, sizeof(msg));
	if (!m->fresh && errno == EADDRINUSE && l->metrics && cur &&
	    cur->metrics_port == nx->metrics_port) {
		/* 127.0.0.1:9100 -> 0.0.0.0:9100: the running listener holds the port. */
		lb_metrics_http_stop(l->metrics);
		l->metrics = NULL;
		m->stopped = true;
		m->addr = cur->metrics_addr;
		m->port = cur->metrics_port;
		m->fresh = metrics_start(l, &nx->metrics_addr, nx->metrics_port, msg, sizeof(msg));
	}
	if (!m->fresh) {
		metrics_abort(l, m);
		return lb_errf(err, errlen, -EINVAL, "settings.metrics-listen: %s", msg);
	}
	return 0;
}

/* The change is applied: the listener of @nx runs, any other stops. */
static void metrics_commit(struct lbd *l, const struct lb_settings *nx, struct metrics_step *m)
{
	char where[LB_TARGET_STR_MAX];

	if (!m->fresh && nx->metrics_listen)
		return; /* unchanged */
	lb_metrics_http_stop(l->metrics);
	l->metrics = m->fresh;
	if (m->fresh)
		lb_info("serving metrics on http://%s/metrics",
			lb_format_target(&nx->metrics_addr, nx->metrics_port, where));
}

/* The model of @next, written to the maps. 0 or -errno with @err (the maps unchanged). */
static int sync_model(struct lbd *l, const struct lb_config *next, struct lb_model **out, char *err,
		      size_t errlen)
{
	const struct lb_ids *prev = l->model ? &l->model->ids : &l->adopted;
	const struct lb_live *live;
	struct lb_model_inputs in;
	char undo_err[LB_ERR_MAX];
	uint16_t *acc;
	int ret;

	ret = lb_ifaddr_table_read(&l->addrs);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot read interface addresses: %s",
			       strerror(-ret));
	if (model_inputs(l, next, &in, &acc))
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	ret = lb_model_build(next, prev, &in, out, err, errlen);
	if (ret == -ENOSPC && l->sweeper && (live = lb_sweeper_live(l->sweeper, 1))) {
		/*
		 * Old and new ids together do not fit (a fleet renumbered, proxies renamed): the
		 * ids of what goes are free where a count of just now finds no flow with them.
		 */
		in.proxies_q.scanned_ns = in.targets_q.scanned_ns = live->at_ns;
		in.proxies_q.present = live->present_proxy;
		in.targets_q.present = live->present_target;
		in.proxies_q.free_going = in.targets_q.free_going = true;
		ret = lb_model_build(next, prev, &in, out, err, errlen);
	}
	free(acc);
	if (!ret && (ret = lb_fault("model", err, errlen))) {
		lb_model_free(*out);
		*out = NULL;
	}
	if (ret)
		return ret;
	ret = lb_mapsync_apply(l->maps, *out, &l->addrs, err, errlen);
	if (ret) {
		/* The maps go back to the running model. */
		if (l->model &&
		    lb_mapsync_apply(l->maps, l->model, &l->addrs, undo_err, sizeof(undo_err)))
			lb_err("cannot restore the previous maps: %s", undo_err);
		lb_model_free(*out);
		*out = NULL;
	}
	return ret;
}

int lbd_apply_check(const struct lb_config *next, const struct lb_config *running,
		    enum lb_cfg_naming naming, char *err, size_t errlen)
{
	int ret;

	ret = lb_config_validate_as(next, naming, err, errlen);
	if (!ret)
		ret = lb_attach_check(next, running, naming, err, errlen);
	if (!ret)
		ret = lb_hc_tls_check(next, err, errlen);
	return ret;
}

int lbd_apply(struct lbd *l, struct lb_config *next, enum lb_cfg_naming naming, char *err,
	      size_t errlen)
{
	struct lbd_attach_undo undo = {0};
	struct metrics_step metrics;
	struct lb_access_log *log;
	struct lb_model *model;
	int claim = -1;
	size_t i;
	int ret;

	ret = lbd_apply_check(next, l->cfg, naming, err, errlen);
	if (ret)
		return ret;
	if (l->cfg && (ret = check_fixed_settings(l, next, err, errlen)))
		return ret;
	ret = check_drains(l, next, err, errlen);
	if (ret)
		return ret;

	/*
	 * Prepare every side effect that can fail, each undone by its abort if a later one
	 * fails; only then commit them all. Until the commit nothing observable has changed:
	 * new listeners and acceptors exist, but nothing points at them yet.
	 */
	ret = lbd_node_claim_prepare(l, &next->settings, &claim, err, errlen);
	if (ret)
		return ret;
	ret = lbd_events_prepare(l, &next->settings, &log, err, errlen);
	if (ret)
		goto abort_claim;
	ret = metrics_prepare(l, &next->settings, &metrics, err, errlen);
	if (ret)
		goto abort_log;
	ret = lbd_attach_prepare(l, next, &undo, err, errlen);
	if (ret)
		goto abort_metrics;
	/* SNI acceptors of new SNI proxies must listen before the maps point at them. */
	if (l->sni && (ret = lb_sni_prepare(l->sni, next, err, errlen)))
		goto abort_attach;
	ret = sync_model(l, next, &model, err, errlen);
	if (ret)
		goto abort_sni;

	lbd_attach_commit(l, next, &undo);
	if (l->sweeper) {
		struct lb_sweep_timeouts to = {
			.tcp_idle = next->settings.connection_timeout_sec,
			.udp_idle = next->settings.udp_timeout_sec,
		};

		lb_sweeper_set_timeouts(l->sweeper, &to);
	}
	lb_model_free(l->model);
	l->model = model;
	lb_config_free(l->cfg);
	l->cfg = next;
	metrics_commit(l, &l->cfg->settings, &metrics);
	lbd_events_commit(l, log);
	lbd_node_claim_commit(l, claim);
	if (l->sni)
		lb_sni_commit(l->sni, l->cfg);
	if (l->drains) {
		lb_drains_prune(l->drains, target_exists, l);
		lb_drains_set_interval(l->drains, l->cfg->settings.drain_check_interval_ms);
	}
	/*
	 * Turning checks on or off changes every target's verdict at once; a change of check
	 * type can change one. Otherwise the model was composed with the verdicts in force.
	 */
	if (l->health && lb_health_sync(l->health, l->cfg))
		for (i = 0; i < l->cfg->n_proxies; i++)
			lbd_policy_changed(l, l->cfg->proxies[i].name);
	for (i = 0; i < l->model->n_proxies; i++)
		announce_weights(l, &l->model->proxies[i]);
	lbd_node_update(l, true);
	if (l->neigh && lb_neigh_set(l->neigh, l->cfg))
		lb_warn("out of memory: the neighbour entries of dsr targets stay as they were");
	return 0;

abort_sni:
	if (l->sni)
		lb_sni_abort(l->sni);
abort_attach:
	lbd_attach_abort(l, &undo);
abort_metrics:
	metrics_abort(l, &metrics);
abort_log:
	lb_access_log_close(log);
abort_claim:
	lbd_node_claim_abort(claim);
	return ret;
}

int lbd_reload(struct lbd *l, char *err, size_t errlen)
{
	struct lb_config *next = NULL;
	struct stat st;
	int ret;

	if (!l->args.config_path)
		return lb_errf(
			err, errlen, -ENOENT,
			"lbd was started with flags (-i/-t), not a configuration file: there "
			"is nothing to reload");
	/*
	 * The read blocks the loop: a FIFO (or a device) there would stop RPC, health checks
	 * and sweeps until someone writes to it. At start (`-c <(...)`) it is fine.
	 */
	if (!stat(l->args.config_path, &st) && !S_ISREG(st.st_mode))
		return lb_errf(err, errlen, -EINVAL,
			       "cannot reload %s: not a regular file (lbd reads a FIFO or a device "
			       "only at start); put the configuration in a file there",
			       l->args.config_path);
	ret = lb_config_parse_file(l->args.config_path, &next, err, errlen);
	if (ret)
		return ret;
	/* Flags given at start still win over the file, as they did then. */
	apply_start_flags(l, &next->settings);
	ret = lbd_apply(l, next, LB_CFG_BY_INDEX, err, errlen);
	if (ret) {
		lb_config_free(next);
		return ret;
	}
	/* logrotate sends SIGHUP after moving the log away: write a new one. */
	if (lbd_events_reopen_log(l, err, errlen))
		lb_warn("%s", err);
	lb_info("reloaded %s: %zu prox%s", l->args.config_path, l->cfg->n_proxies,
		l->cfg->n_proxies == 1 ? "y" : "ies");
	return 0;
}

int lbd_resync(struct lbd *l)
{
	char err[LB_ERR_MAX];
	int ret = lb_ifaddr_table_read(&l->addrs);

	if (ret) {
		lb_err("cannot read the interface addresses: %s", strerror(-ret));
		return ret;
	}
	ret = lb_mapsync_apply(l->maps, l->model, &l->addrs, err, sizeof(err));
	if (ret)
		lb_err("%s", err);
	return ret;
}
