// SPDX-License-Identifier: MIT
#include "lbd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "conn_fanout.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "lb_select.h"
#include "methods.h"
#include "weights.h"

uint64_t lbd_uptime_ms(const struct lbd *l)
{
	return uv_now(l->loop) - l->started_ms;
}

struct lb_proxy_cfg *lbd_find_proxy(const struct lb_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_proxies; i++)
		if (!strcmp(cfg->proxies[i].name, name))
			return &cfg->proxies[i];
	return NULL;
}

static bool proxy_on_iface(const struct lb_proxy_cfg *p, const char *ifname)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		if (!strcmp(p->ifaces[i], ifname))
			return true;
	return false;
}

static bool config_uses_iface(const struct lb_config *cfg, const char *ifname)
{
	size_t p;

	for (p = 0; p < cfg->n_proxies; p++)
		if (proxy_on_iface(&cfg->proxies[p], ifname))
			return true;
	return false;
}

/* True when some backend reachable through @ifname lives on 127.0.0.0/8. */
static bool needs_localnet(const struct lb_config *cfg, const char *ifname)
{
	size_t p, r, t;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		if (!proxy_on_iface(pc, ifname))
			continue;
		for (r = 0; r < lb_proxy_n_groups(pc); r++) {
			const struct lb_group_cfg *g = lb_proxy_group(pc, r);

			for (t = 0; t < g->n; t++)
				if ((ntohl(g->t[t].addr) >> 24) == 127)
					return true;
		}
	}
	return false;
}

/* Settings the running datapath cannot take without a restart are refused by name. */
static int check_fixed_settings(const struct lbd *l, const struct lb_config *next, char *err,
				size_t errlen)
{
	const struct lb_settings *cur = &l->cfg->settings, *nx = &next->settings;

	if (cur->max_connections != nx->max_connections)
		return lb_errf(err, errlen, -EINVAL,
			       "settings.max-connections: cannot change from %u to %u while lbd "
			       "runs (the conntrack table is sized when it is created); stop lbd, "
			       "run lbd --teardown (this drops tracked connections), then start it",
			       cur->max_connections, nx->max_connections);
	if (cur->sni_splice != nx->sni_splice)
		return lb_errf(err, errlen, -EINVAL,
			       "settings.sni-splice: cannot change from %s to %s while lbd runs; "
			       "restart lbd",
			       lb_splice_mode_name(cur->sni_splice),
			       lb_splice_mode_name(nx->sni_splice));
	if (cur->xdp_mode != nx->xdp_mode)
		return lb_errf(
			err, errlen, -EINVAL,
			"settings.xdp-mode: cannot change from %s to %s while interfaces are "
			"attached; detach the interfaces first or restart with --teardown",
			lb_xdp_mode_name(cur->xdp_mode), lb_xdp_mode_name(nx->xdp_mode));
	return 0;
}

static int check_ifaces_exist(const struct lb_config *cfg, char *err, size_t errlen)
{
	size_t p, i;

	for (p = 0; p < cfg->n_proxies; p++)
		for (i = 0; i < cfg->proxies[p].n_ifaces; i++)
			if (!if_nametoindex(cfg->proxies[p].ifaces[i]))
				return lb_errf(err, errlen, -ENODEV,
					       "proxies[%zu].listen.interfaces[%zu]: interface %s "
					       "does not exist",
					       p, i, cfg->proxies[p].ifaces[i]);
	return 0;
}

/* Attach every interface @cfg uses that is not attached yet; records which were new. */
static int attach_new(struct lbd *l, const struct lb_config *cfg, char (*added)[IF_NAMESIZE],
		      size_t *n_added, char *err, size_t errlen)
{
	size_t p, i;
	int ret;

	for (p = 0; p < cfg->n_proxies; p++) {
		for (i = 0; i < cfg->proxies[p].n_ifaces; i++) {
			const char *ifname = cfg->proxies[p].ifaces[i];

			if (lb_dataplane_attached(l->dp, ifname))
				continue;
			ret = lb_dataplane_attach(l->dp, ifname, cfg->settings.ingress,
						  cfg->settings.xdp_mode,
						  needs_localnet(cfg, ifname), err, errlen);
			if (ret)
				return ret;
			snprintf(added[(*n_added)++], IF_NAMESIZE, "%s", ifname);
		}
	}
	return 0;
}

/*
 * Move the request direction of every attached interface to the hook @cfg asks for
 * (settings.ingress); on failure, those already moved go back to @back's.
 */
static int sync_ingress(struct lbd *l, const struct lb_config *cfg, const struct lb_config *back,
			char *err, size_t errlen)
{
	char undo_err[LB_ERR_MAX];
	size_t i, k;
	int ret;

	for (i = 0; i < l->dp->n_ifaces; i++) {
		ret = lb_dataplane_set_ingress(l->dp, l->dp->ifaces[i].name, cfg->settings.ingress,
					       cfg->settings.xdp_mode, err, errlen);
		if (!ret)
			continue;
		for (k = 0; back && k < i; k++)
			if (lb_dataplane_set_ingress(
				    l->dp, l->dp->ifaces[k].name, back->settings.ingress,
				    back->settings.xdp_mode, undo_err, sizeof(undo_err)))
				lb_err("cannot move %s back: %s", l->dp->ifaces[k].name, undo_err);
		return ret;
	}
	return 0;
}

/* Detach what no proxy of @cfg listens on any more. */
static void detach_unused(struct lbd *l, const struct lb_config *cfg)
{
	size_t i = 0;

	while (i < l->dp->n_ifaces) {
		const char *ifname = l->dp->ifaces[i].name;

		if (config_uses_iface(cfg, ifname)) {
			i++;
			continue;
		}
		lb_info("%s: no proxy listens here any more; detaching", ifname);
		lb_dataplane_detach(l->dp, ifname); /* moves the last entry into slot i */
	}
}

static void update_localnet(struct lbd *l, const struct lb_config *cfg)
{
	size_t i;

	for (i = 0; i < l->dp->n_ifaces; i++)
		lb_dataplane_set_localnet(l->dp, l->dp->ifaces[i].name,
					  needs_localnet(cfg, l->dp->ifaces[i].name));
}

static int count_ifaces(const struct lb_config *cfg)
{
	size_t p, n = 0;

	for (p = 0; p < cfg->n_proxies; p++)
		n += cfg->proxies[p].n_ifaces;
	return (int)n;
}

void lbd_compose_group(void *ctx, const struct lb_proxy_cfg *p, const struct lb_group_cfg *g,
		       uint16_t *out)
{
	struct lb_weight_input in[LB_MAX_TARGETS_PER_GROUP];
	struct lbd *l = ctx;
	size_t i;

	for (i = 0; i < g->n; i++) {
		struct lb_health_state hs = {.healthy = true};

		if (l->health)
			hs = lb_health_state(l->health, p->name, g->t[i].addr, g->t[i].port);
		in[i].configured = g->t[i].weight;
		in[i].healthy = hs.healthy;
		in[i].recovery_step = hs.recovery_step;
		in[i].draining = l->drains &&
				 lb_drains_drained(l->drains, p->name, g->t[i].addr, g->t[i].port);
	}
	lb_weights_compose(in, g->n, out);
}

static uint16_t acceptor_port(void *ctx, const struct lb_proxy_cfg *p)
{
	struct lbd *l = ctx;

	return l->sni ? lb_sni_port(l->sni, p->name) : 0;
}

int lbd_sni_choose(void *ctx, const char *proxy, const char *name, uint32_t client_addr,
		   uint16_t client_port, uint32_t listener_addr, uint16_t listener_port,
		   struct lb_sni_choice *out)
{
	struct lbd *l = ctx;
	const struct lb_proxy_cfg *p = lbd_find_proxy(l->cfg, proxy);
	const struct lb_sni_route_cfg *r;
	const struct lb_group_cfg *g;
	uint16_t w[LB_MAX_TARGETS_PER_GROUP];
	struct lb_group grp = {0};
	size_t i;
	int idx;

	if (!p)
		return -ENOENT;
	r = name ? lb_sni_route_match(p, name) : NULL;
	g = r ? &r->group : &p->default_group;
	/* The same composer and the same hash-to-weight mapping as the datapath. */
	lbd_compose_group(l, p, g, w);
	grp.n_backends = g->n;
	for (i = 0; i < g->n; i++)
		grp.backends[i].weight = w[i];
	idx = lb_select_backend(&grp, lb_flow_hash(client_addr, listener_addr, htons(client_port),
						   htons(listener_port), LB_PROTO_TCP));
	if (idx < 0)
		return -ENOENT;
	out->addr = g->t[idx].addr;
	out->port = g->t[idx].port;
	out->proxy_protocol = g->t[idx].proxy_protocol;
	return 0;
}

static const struct lb_weight_src *weight_src(struct lbd *l)
{
	static struct lb_weight_src ws = {.fn = lbd_compose_group, .acceptor_port = acceptor_port};

	ws.ctx = l;
	return &ws;
}

const char *lbd_group_label(const struct lb_proxy_cfg *p, size_t i, char *buf, size_t len)
{
	if (i == 0)
		snprintf(buf, len, "default");
	else if (i <= p->n_routes)
		lb_format_cidr(p->routes[i - 1].addr, p->routes[i - 1].prefix_len, buf);
	else
		snprintf(buf, len, "sni:%s", p->sni_routes[i - 1 - p->n_routes].hostname);
	return buf;
}

json_t *lbd_weights_json(struct lbd *l, const struct lb_proxy_cfg *p)
{
	json_t *groups = json_array();
	size_t r, k;

	for (r = 0; r < lb_proxy_n_groups(p); r++) {
		const struct lb_group_cfg *g = lb_proxy_group(p, r);
		uint16_t eff[LB_MAX_TARGETS_PER_GROUP];
		char src[LB_SNI_NAME_MAX + 1], tgt[LB_TARGET_STR_MAX];
		json_t *targets = json_array();

		lbd_group_label(p, r, src, sizeof(src));
		lbd_compose_group(l, p, g, eff);
		for (k = 0; k < g->n; k++)
			json_array_append_new(
				targets,
				json_pack("{s:s, s:i, s:i}", "target",
					  lb_format_target(g->t[k].addr, g->t[k].port, tgt),
					  "configured-weight", g->t[k].weight, "effective-weight",
					  eff[k]));
		json_array_append_new(groups,
				      json_pack("{s:s, s:o}", "source", src, "targets", targets));
	}
	return groups;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *b = data;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* A digest of everything lbd_weights_json() shows, without building the JSON: a change of
 * configuration or verdict costs a compose per group, not a JSON document per proxy. */
static uint64_t weights_digest(struct lbd *l, const struct lb_proxy_cfg *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t r, k;

	for (r = 0; r < lb_proxy_n_groups(p); r++) {
		const struct lb_group_cfg *g = lb_proxy_group(p, r);
		uint16_t eff[LB_MAX_TARGETS_PER_GROUP];
		char src[LB_SNI_NAME_MAX + 1];

		lbd_group_label(p, r, src, sizeof(src));
		h = fnv1a(h, src, strlen(src) + 1);
		lbd_compose_group(l, p, g, eff);
		h = fnv1a(h, &g->n, sizeof(g->n));
		for (k = 0; k < g->n; k++) {
			h = fnv1a(h, &g->t[k].addr, sizeof(g->t[k].addr));
			h = fnv1a(h, &g->t[k].port, sizeof(g->t[k].port));
			h = fnv1a(h, &g->t[k].weight, sizeof(g->t[k].weight));
			h = fnv1a(h, &eff[k], sizeof(eff[k]));
		}
	}
	return h;
}

/* Tell health subscribers when a proxy's effective weights changed. */
static void emit_weights(struct lbd *l, const struct lb_proxy_cfg *p)
{
	json_int_t digest = (json_int_t)weights_digest(l, p);
	json_t *was, *ev;

	if (!l->last_weights)
		l->last_weights = json_object();
	was = json_object_get(l->last_weights, p->name);
	if (was && json_integer_value(was) == digest)
		return;
	json_object_set_new(l->last_weights, p->name, json_integer(digest));
	ev = json_pack("{s:s, s:s, s:o}", "type", "weights-updated", "proxy", p->name, "groups",
		       lbd_weights_json(l, p));
	lb_subs_broadcast(&l->health_subs, "health-event", ev);
	json_decref(ev);
}

void lbd_on_health_changed(void *ctx, const char *proxy)
{
	struct lbd *l = ctx;
	struct lb_proxy_cfg *p = lbd_find_proxy(l->cfg, proxy);

	if (!lbd_resync(l) && p)
		emit_weights(l, p);
}

struct drain_count {
	size_t n;
	const int64_t *tids;
	uint32_t *counts;
};

static int count_target_flows(const struct lb_flow_view *f, void *arg)
{
	struct drain_count *c = arg;
	size_t i;

	if (!f->live || f->expired)
		return 0;
	for (i = 0; i < c->n; i++)
		if (c->tids[i] == f->orig->target_id)
			c->counts[i]++;
	return 0;
}

int lbd_drain_count(void *ctx, size_t n, const char *const *proxies, const uint32_t *addrs,
		    const uint16_t *ports, uint32_t *counts)
{
	struct lbd *l = ctx;
	struct lb_sweep_timeouts t = {l->cfg->settings.connection_timeout_sec,
				      l->cfg->settings.udp_timeout_sec};
	int64_t *tids = calloc(n ? n : 1, sizeof(*tids));
	struct drain_count c = {.n = n, .tids = tids, .counts = counts};
	size_t i;
	int ret;

	if (!tids)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		int64_t pid = lb_ids_proxy(&l->ids, proxies[i]);

		tids[i] = pid < 0 ? -1 : lb_ids_target(&l->ids, (uint32_t)pid, addrs[i], ports[i]);
		/* Connections the SNI acceptor spliced are lbd's own, not conntrack's. */
		counts[i] = l->sni ? lb_sni_active(l->sni, proxies[i], addrs[i], ports[i]) : 0;
	}
	ret = lb_ct_scan(l->dp, &t, count_target_flows, &c);
	free(tids);
	return ret;
}

/* Does the running configuration still have this target? (drains of removed ones go) */
static bool target_exists(void *ctx, const char *proxy, uint32_t addr, uint16_t port)
{
	const struct lb_proxy_cfg *p = lbd_find_proxy(((struct lbd *)ctx)->cfg, proxy);

	return p && lb_proxy_has_target(p, addr, port);
}

void lbd_on_health_event(void *ctx, json_t *event)
{
	struct lbd *l = ctx;

	lb_subs_broadcast(&l->health_subs, "health-event", event);
}

/*
 * Start the metrics listener @nx asks for unless it runs already, before anything else
 * changes: an address in use then refuses the change whole. *fresh is the new listener
 * (NULL: none was needed); the caller swaps it in once the change is applied, or stops it.
 */
static int metrics_prepare(struct lbd *l, const struct lb_settings *nx,
			   struct lb_metrics_http **fresh, char *err, size_t errlen)
{
	const struct lb_settings *cur = l->cfg ? &l->cfg->settings : NULL;
	char msg[LB_ERR_MAX];

	*fresh = NULL;
	if (!l->loop || !nx->metrics_listen ||
	    lb_metrics_http_listens_on(l->metrics, nx->metrics_addr, nx->metrics_port))
		return 0;
	*fresh = lb_metrics_http_start(l->loop, nx->metrics_addr, nx->metrics_port,
				       lbd_metrics_render, l, msg, sizeof(msg));
	if (!*fresh && errno == EADDRINUSE && l->metrics && cur &&
	    cur->metrics_port == nx->metrics_port) {
		/* 127.0.0.1:9100 -> 0.0.0.0:9100: the running listener holds the port. */
		lb_metrics_http_stop(l->metrics);
		l->metrics = NULL;
		*fresh = lb_metrics_http_start(l->loop, nx->metrics_addr, nx->metrics_port,
					       lbd_metrics_render, l, msg, sizeof(msg));
		if (!*fresh)
			l->metrics =
				lb_metrics_http_start(l->loop, cur->metrics_addr, cur->metrics_port,
						      lbd_metrics_render, l, err, errlen);
	}
	if (!*fresh)
		return lb_errf(err, errlen, -EINVAL, "settings.metrics-listen: %s", msg);
	return 0;
}

/* The change is applied: the listener of @nx runs, any other stops. */
static void metrics_commit(struct lbd *l, const struct lb_settings *nx,
			   struct lb_metrics_http *fresh)
{
	char where[LB_TARGET_STR_MAX];

	if (!fresh && nx->metrics_listen)
		return; /* unchanged */
	lb_metrics_http_stop(l->metrics);
	l->metrics = fresh;
	if (fresh)
		lb_info("serving metrics on http://%s/metrics",
			lb_format_target(nx->metrics_addr, nx->metrics_port, where));
}

int lbd_apply(struct lbd *l, struct lb_config *next, char *err, size_t errlen)
{
	struct lb_metrics_http *metrics;
	struct lb_access_log *log;
	char(*added)[IF_NAMESIZE];
	char undo_err[LB_ERR_MAX];
	size_t n_added = 0, i;
	int ret;

	ret = lb_config_validate(next, err, errlen);
	if (ret)
		return ret;
	if (l->cfg && (ret = check_fixed_settings(l, next, err, errlen)))
		return ret;
	ret = check_ifaces_exist(next, err, errlen);
	if (ret)
		return ret;
	ret = lbd_events_prepare(l, &next->settings, &log, err, errlen);
	if (ret)
		return ret;
	ret = metrics_prepare(l, &next->settings, &metrics, err, errlen);
	if (ret) {
		lb_access_log_close(log);
		return ret;
	}
	added = calloc(count_ifaces(next) + 1, IF_NAMESIZE);
	if (!added) {
		lb_metrics_http_stop(metrics);
		lb_access_log_close(log);
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	}

	/* New interfaces first: with no listener entry yet, their programs only pass. */
	ret = attach_new(l, next, added, &n_added, err, errlen);
	/* Interfaces adopted from a previous lbd, or a changed settings.ingress. */
	if (!ret)
		ret = sync_ingress(l, next, l->cfg, err, errlen);
	/* SNI acceptors of new SNI proxies must listen before the maps point at them. */
	if (!ret && l->sni)
		ret = lb_sni_sync(l->sni, next, false, err, errlen);
	if (!ret) {
		ret = lb_ifaddr_table_read(&l->addrs);
		if (ret)
			lb_errf(err, errlen, ret, "cannot read interface addresses: %s",
				strerror(-ret));
	}
	if (!ret)
		ret = lb_mapsync_apply(l->dp, &l->ids, next, &l->addrs, weight_src(l), err, errlen);
	if (ret) {
		/* Undo: the maps go back to the running configuration, new attachments go. */
		if (l->cfg && lb_mapsync_apply(l->dp, &l->ids, l->cfg, &l->addrs, weight_src(l),
					       undo_err, sizeof(undo_err)))
			lb_err("cannot restore the previous maps: %s", undo_err);
		if (l->cfg && sync_ingress(l, l->cfg, NULL, undo_err, sizeof(undo_err)))
			lb_err("cannot restore the previous hooks: %s", undo_err);
		for (i = 0; i < n_added; i++)
			lb_dataplane_detach(l->dp, added[i]);
		free(added);
		lb_metrics_http_stop(metrics);
		lb_access_log_close(log);
		return ret;
	}
	free(added);
	update_localnet(l, next);
	detach_unused(l, next);

	if (l->sweeper) {
		struct lb_sweep_timeouts to = {
			.tcp_idle = next->settings.connection_timeout_sec,
			.udp_idle = next->settings.udp_timeout_sec,
		};

		lb_sweeper_set_timeouts(l->sweeper, &to);
	}
	lb_config_free(l->cfg);
	l->cfg = next;
	metrics_commit(l, &l->cfg->settings, metrics);
	lbd_events_commit(l, log);
	if (l->sni && lb_sni_sync(l->sni, l->cfg, true, undo_err, sizeof(undo_err)))
		lb_warn("%s", undo_err);
	if (l->drains) {
		lb_drains_prune(l->drains, target_exists, l);
		lb_drains_set_interval(l->drains, l->cfg->settings.drain_check_interval_ms);
	}
	if (l->health) {
		/* Turning checks on or off changes every target's verdict at once; a change
		 * of check type can change one. Otherwise the maps already hold the weights. */
		if (lb_health_sync(l->health, l->cfg))
			lbd_resync(l);
	}
	for (i = 0; i < l->cfg->n_proxies; i++)
		emit_weights(l, &l->cfg->proxies[i]);
	return 0;
}

int lbd_reload(struct lbd *l, char *err, size_t errlen)
{
	struct lb_config *next = NULL;
	int ret;

	if (!l->args.config_path)
		return lb_errf(
			err, errlen, -ENOENT,
			"lbd was started with flags (-i/-t), not a configuration file: there "
			"is nothing to reload");
	ret = lb_config_parse_file(l->args.config_path, &next, err, errlen);
	if (ret)
		return ret;
	/* Flags given at start still win over the file, as they did then. */
	if (l->args.stats_flag)
		next->settings.stats_enabled = true;
	if (l->args.xdp_mode_flag)
		next->settings.xdp_mode = l->cfg->settings.xdp_mode;
	if (l->args.ingress_flag)
		next->settings.ingress = l->cfg->settings.ingress;
	ret = lbd_apply(l, next, err, errlen);
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
	ret = lb_mapsync_apply(l->dp, &l->ids, l->cfg, &l->addrs, weight_src(l), err, sizeof(err));
	if (ret)
		lb_err("%s", err);
	return ret;
}
