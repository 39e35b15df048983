// SPDX-License-Identifier: MIT
#include "lbd.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb_log.h"

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

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
		for (r = 0; r <= pc->n_routes; r++) {
			const struct lb_group_cfg *g =
				r == 0 ? &pc->default_group : &pc->routes[r - 1].group;

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
		return seterr(err, errlen, -EINVAL,
			      "settings.max-connections: cannot change from %u to %u while lbd "
			      "runs (the conntrack table is sized when it is created); stop lbd, "
			      "run lbd --teardown (this drops tracked connections), then start it",
			      cur->max_connections, nx->max_connections);
	if (cur->xdp_mode != nx->xdp_mode)
		return seterr(err, errlen, -EINVAL,
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
				return seterr(err, errlen, -ENODEV,
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
			ret = lb_dataplane_attach(l->dp, ifname, cfg->settings.xdp_mode,
						  needs_localnet(cfg, ifname), err, errlen);
			if (ret)
				return ret;
			snprintf(added[(*n_added)++], IF_NAMESIZE, "%s", ifname);
		}
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

int lbd_apply(struct lbd *l, struct lb_config *next, char *err, size_t errlen)
{
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
	added = calloc(count_ifaces(next) + 1, IF_NAMESIZE);
	if (!added)
		return seterr(err, errlen, -ENOMEM, "out of memory");

	/* New interfaces first: with no listener entry yet, their programs only pass. */
	ret = attach_new(l, next, added, &n_added, err, errlen);
	if (!ret) {
		ret = lb_ifaddr_table_read(&l->addrs);
		if (ret)
			seterr(err, errlen, ret, "cannot read interface addresses: %s",
			       strerror(-ret));
	}
	if (!ret)
		ret = lb_mapsync_apply(l->dp, &l->ids, next, &l->addrs, err, errlen);
	if (ret) {
		/* Undo: the maps go back to the running configuration, new attachments go. */
		if (l->cfg &&
		    lb_mapsync_apply(l->dp, &l->ids, l->cfg, &l->addrs, undo_err, sizeof(undo_err)))
			lb_err("cannot restore the previous maps: %s", undo_err);
		for (i = 0; i < n_added; i++)
			lb_dataplane_detach(l->dp, added[i]);
		free(added);
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
	return 0;
}

int lbd_reload(struct lbd *l, char *err, size_t errlen)
{
	struct lb_config *next = NULL;
	int ret;

	if (!l->args.config_path)
		return seterr(err, errlen, -ENOENT,
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
	ret = lbd_apply(l, next, err, errlen);
	if (ret) {
		lb_config_free(next);
		return ret;
	}
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
	ret = lb_mapsync_apply(l->dp, &l->ids, l->cfg, &l->addrs, err, sizeof(err));
	if (ret)
		lb_err("%s", err);
	return ret;
}
