// SPDX-License-Identifier: MIT
/*
 * lbd - the load balancer daemon: loads the datapath, keeps its maps in line with the
 * configuration and the interfaces' addresses, sweeps conntrack, and on SIGINT/SIGTERM
 * removes everything it created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "args.h"
#include "counters.h"
#include "dataplane.h"
#include "ifaddr.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "mapsync.h"
#include "sweep.h"

#define STATS_LOG_MS 10000

struct lbd {
	uv_loop_t *loop;
	struct lbd_args args;
	struct lb_config *cfg;
	struct lb_dataplane *dp;
	struct lb_ids ids;
	struct lb_ifaddr_table addrs;
	struct lb_ifwatch *ifwatch;
	struct lb_sweeper *sweeper;
	uv_signal_t sigint, sigterm;
	uv_timer_t stats_timer;
	bool stats_timer_on;
	int exit_code;
};

/* True when some backend reachable through @ifname lives on 127.0.0.0/8. */
static bool needs_localnet(const struct lb_config *cfg, const char *ifname)
{
	size_t p, r, i, t;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		bool on_iface = false;

		for (i = 0; i < pc->n_ifaces; i++)
			on_iface |= !strcmp(pc->ifaces[i], ifname);
		if (!on_iface)
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

/* Refuse before loading anything when an interface of the configuration is missing. */
static int check_interfaces(const struct lb_config *cfg)
{
	size_t p, i;

	for (p = 0; p < cfg->n_proxies; p++)
		for (i = 0; i < cfg->proxies[p].n_ifaces; i++)
			if (!if_nametoindex(cfg->proxies[p].ifaces[i])) {
				lb_err("proxies[%zu].listen.interfaces[%zu]: interface %s does not "
				       "exist",
				       p, i, cfg->proxies[p].ifaces[i]);
				return -ENODEV;
			}
	return 0;
}

static void warn_forwarding(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "r");
	int v = 1;

	if (!f)
		return;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	if (!v)
		lb_warn("net.ipv4.ip_forward is 0: packets for backends on other hosts will be "
			"dropped by the kernel (sysctl -w net.ipv4.ip_forward=1)");
}

static int attach_all(struct lbd *l)
{
	char err[LB_ERR_MAX];
	size_t p, i;
	int ret;

	for (p = 0; p < l->cfg->n_proxies; p++) {
		for (i = 0; i < l->cfg->proxies[p].n_ifaces; i++) {
			const char *ifname = l->cfg->proxies[p].ifaces[i];

			if (lb_dataplane_attached(l->dp, ifname))
				continue;
			ret = lb_dataplane_attach(l->dp, ifname, l->cfg->settings.xdp_mode,
						  needs_localnet(l->cfg, ifname), err, sizeof(err));
			if (ret) {
				lb_err("%s", err);
				return ret;
			}
		}
	}
	return 0;
}

static int sync_maps(struct lbd *l)
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

static void on_addresses_changed(void *arg)
{
	struct lbd *l = arg;

	lb_debug("interface addresses changed; re-syncing listeners");
	sync_maps(l);
}

static void log_stats(uv_timer_t *t)
{
	struct lbd *l = t->data;
	const struct lb_sweep_result *live = lb_sweeper_last(l->sweeper);
	size_t p;

	for (p = 0; p < l->cfg->n_proxies; p++) {
		int64_t id = lb_ids_proxy(&l->ids, l->cfg->proxies[p].name);
		struct lb_stats s;

		if (id < 0 || lb_counters_proxy(l->dp, (uint32_t)id, &s))
			continue;
		lb_info("stats %s: new %llu live %u in %llu pkts %llu bytes out %llu pkts %llu "
			"bytes drop-no-backend %llu",
			l->cfg->proxies[p].name, (unsigned long long)s.new_flows,
			live->live_per_proxy[id], (unsigned long long)s.pkts_in,
			(unsigned long long)s.bytes_in, (unsigned long long)s.pkts_out,
			(unsigned long long)s.bytes_out, (unsigned long long)s.drop_no_backend);
	}
}

static void shutdown_all(struct lbd *l)
{
	uv_signal_stop(&l->sigint);
	uv_signal_stop(&l->sigterm);
	uv_close((uv_handle_t *)&l->sigint, NULL);
	uv_close((uv_handle_t *)&l->sigterm, NULL);
	if (l->stats_timer_on)
		uv_close((uv_handle_t *)&l->stats_timer, NULL);
	lb_ifwatch_stop(l->ifwatch);
	l->ifwatch = NULL;
	lb_sweeper_stop(l->sweeper);
	l->sweeper = NULL;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct lbd *l = s->data;

	lb_info("received %s, stopping", strsignal(signum));
	shutdown_all(l);
}

static int run(struct lbd *l)
{
	struct lb_sweep_timeouts to = {
		.tcp_idle = l->cfg->settings.connection_timeout_sec,
		.udp_idle = l->cfg->settings.udp_timeout_sec,
	};
	struct lb_dp_opts dpo = {
		.bpffs = l->args.bpffs,
		.instance = l->args.instance,
		.max_connections = l->cfg->settings.max_connections,
	};
	char err[LB_ERR_MAX];
	int ret;

	ret = check_interfaces(l->cfg);
	if (ret)
		return ret;
	ret = lb_dataplane_open(&dpo, &l->dp, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		return ret;
	}
	lb_ids_init(&l->ids);
	ret = sync_maps(l);
	if (!ret)
		ret = attach_all(l);
	if (ret)
		goto err_teardown;
	warn_forwarding();
	if (l->cfg->settings.health_check_enabled)
		lb_warn("settings.health-check-enabled: health checking is not available in this "
			"version; all targets are treated as healthy");

	l->sweeper = lb_sweeper_start(l->loop, l->dp, &to);
	if (!l->sweeper) {
		ret = -ENOMEM;
		goto err_teardown;
	}
	l->ifwatch = lb_ifwatch_start(l->loop, on_addresses_changed, l);
	if (!l->ifwatch)
		lb_warn("cannot watch interface addresses (%s); listeners follow the addresses "
			"present at start only",
			strerror(errno));
	uv_signal_init(l->loop, &l->sigint);
	uv_signal_init(l->loop, &l->sigterm);
	l->sigint.data = l->sigterm.data = l;
	uv_signal_start(&l->sigint, on_signal, SIGINT);
	uv_signal_start(&l->sigterm, on_signal, SIGTERM);
	if (l->cfg->settings.stats_enabled) {
		uv_timer_init(l->loop, &l->stats_timer);
		l->stats_timer.data = l;
		uv_timer_start(&l->stats_timer, log_stats, STATS_LOG_MS, STATS_LOG_MS);
		l->stats_timer_on = true;
	}

	lb_info("ready: %zu prox%s on %zu interface%s", l->cfg->n_proxies,
		l->cfg->n_proxies == 1 ? "y" : "ies", l->dp->n_ifaces,
		l->dp->n_ifaces == 1 ? "" : "s");
	uv_run(l->loop, UV_RUN_DEFAULT);

	lb_dataplane_teardown(l->dp);
	lb_dataplane_free(l->dp);
	lb_ids_release(&l->ids);
	lb_ifaddr_table_clear(&l->addrs);
	return 0;

err_teardown:
	lb_dataplane_teardown(l->dp);
	lb_dataplane_free(l->dp);
	lb_ids_release(&l->ids);
	lb_ifaddr_table_clear(&l->addrs);
	return ret;
}

int main(int argc, char **argv)
{
	struct lbd l = {.exit_code = 0};
	char err[LB_ERR_MAX];
	int ret;

	ret = lbd_args_parse(argc, argv, &l.args, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "lbd: %s\n", err);
		if (!l.args.config_path)
			fprintf(stderr, "Try 'lbd --help'.\n");
		lbd_args_release(&l.args);
		return 2;
	}
	if (l.args.help) {
		lbd_args_usage(stdout);
		return 0;
	}
	if (l.args.version) {
		printf("lbd %s (BPF ABI %d)\n", LBD_VERSION, LB_ABI_VERSION);
		return 0;
	}
	if (l.args.verbose)
		lb_log_set_level(LB_LOG_DEBUG);
	if (l.args.teardown) {
		ret = lb_dataplane_remove_pinned(l.args.bpffs, l.args.instance, err, sizeof(err));
		if (ret)
			fprintf(stderr, "lbd: %s\n", err);
		return ret ? 1 : 0;
	}
	l.cfg = l.args.cfg;
	if (l.args.check_only) {
		printf("configuration OK: %zu prox%s\n", l.cfg->n_proxies,
		       l.cfg->n_proxies == 1 ? "y" : "ies");
		lbd_args_release(&l.args);
		return 0;
	}
	l.loop = uv_default_loop();
	ret = run(&l);
	uv_loop_close(l.loop);
	lbd_args_release(&l.args);
	return ret ? 1 : 0;
}
