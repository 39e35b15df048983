// SPDX-License-Identifier: MIT
/*
 * lbd - the load balancer daemon. Loads (or adopts) the datapath, applies the
 * configuration, serves JSON-RPC, keeps listeners in line with interface addresses, sweeps
 * conntrack. SIGHUP reloads the configuration file; SIGINT/SIGTERM stop lbd and leave the
 * datapath forwarding (a later lbd adopts it) unless --teardown-on-exit was given.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "adopt.h"
#include "conn_fanout.h"
#include "hc_tls.h"
#include "lb_fault.h"
#include "lb_log.h"
#include "apply.h"
#include "lbd.h"
#include "rpc.h"
#include "stats_view.h"
#include "syscheck.h"
#include "systemd.h"

#define STATS_LOG_MS 10000

/* The control interface: one per process. */
static struct lbd_rpc rpc;
/* The control socket systemd passed (socket activation), -1 when none. */
static int inherited_fd = -1;

static void on_addresses_changed(void *arg)
{
	struct lbd *l = arg;

	lb_debug("interface addresses changed; re-syncing listeners");
	lbd_resync(l);
}

static void stop_loop(struct lbd *l);

/* The datapath's clock: established flows stamp it as their last_seen_ns. */
static void tick_clock(uv_timer_t *t)
{
	struct lbd *l = t->data;

	lb_dataplane_tick(l->dp);
	/* lbd --teardown --force removed the datapath: nothing here is real any more. */
	if (!lb_dataplane_present(l->dp)) {
		lb_err("the datapath at %s was removed under this lbd (lbd --teardown --force?); "
		       "stopping: start lbd again to load it anew",
		       l->dp->pin_dir);
		l->lost = true;
		stop_loop(l);
	}
}

static void log_stats(uv_timer_t *t)
{
	lbd_stats_log(t->data);
}

static void notify_status(struct lbd *l)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "STATUS=serving %zu prox%s on %zu interface%s",
		 l->cfg->n_proxies, l->cfg->n_proxies == 1 ? "y" : "ies", l->dp->n_ifaces,
		 l->dp->n_ifaces == 1 ? "" : "s");
	lb_sd_notify(msg);
}

/* Health checks, drains, SNI acceptor, splicer: their handles close on the loop. */
static void free_engines(struct lbd *l)
{
	lb_health_free(l->health);
	l->health = NULL;
	lb_hc_tls_release(); /* running checks keep their contexts until they end */
	lb_drains_free(l->drains);
	l->drains = NULL;
	lb_sni_free(l->sni);
	l->sni = NULL;
	lb_splicer_free(l->splicer);
	l->splicer = NULL;
	lbd_events_stop(l);
	lb_metrics_http_stop(l->metrics);
	l->metrics = NULL;
	lb_sweeper_stop(l->sweeper);
	l->sweeper = NULL;
}

static void stop_loop(struct lbd *l)
{
	uv_close((uv_handle_t *)&l->sigint, NULL);
	uv_close((uv_handle_t *)&l->sigterm, NULL);
	uv_close((uv_handle_t *)&l->sighup, NULL);
	uv_close((uv_handle_t *)&l->stats_timer, NULL);
	uv_close((uv_handle_t *)&l->clock_timer, NULL);
	lbd_rpc_stop(&rpc);
	lb_ifwatch_stop(l->ifwatch);
	l->ifwatch = NULL;
	free_engines(l);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct lbd *l = s->data;
	char err[LB_ERR_MAX];

	if (signum == SIGHUP) {
		lb_sd_notify("RELOADING=1");
		if (lbd_reload(l, err, sizeof(err)))
			lb_err("reload refused, the running configuration stays: %s", err);
		lb_sd_notify("READY=1");
		notify_status(l);
		return;
	}
	lb_info("received %s, stopping", strsignal(signum));
	lb_sd_notify("STOPPING=1");
	stop_loop(l);
}

/* The group allowed to use the socket: --socket-group, else "lbd" when it exists, else root. */
static int socket_gid(const struct lbd *l, gid_t *gid)
{
	const char *name = l->args.socket_group ? l->args.socket_group : "lbd";
	struct group *g = getgrnam(name);

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	if (l->args.socket_group) {
		lb_err("--socket-group %s: no such group", name);
		return -ENOENT;
	}
	*gid = 0;
	return 0;
}

static int start_services(struct lbd *l)
{
	struct lb_rpc_server_opts ro = {.path = l->socket_path};
	char err[LB_ERR_MAX] = "";
	int ret;

	/* Handles first: whatever fails below, stop_loop() closes a consistent set. */
	uv_signal_init(l->loop, &l->sigint);
	uv_signal_init(l->loop, &l->sigterm);
	uv_signal_init(l->loop, &l->sighup);
	l->sigint.data = l->sigterm.data = l->sighup.data = l;
	uv_signal_start(&l->sigint, on_signal, SIGINT);
	uv_signal_start(&l->sigterm, on_signal, SIGTERM);
	uv_signal_start(&l->sighup, on_signal, SIGHUP);
	uv_timer_init(l->loop, &l->stats_timer);
	l->stats_timer.data = l;
	uv_timer_start(&l->stats_timer, log_stats, STATS_LOG_MS, STATS_LOG_MS);
	uv_timer_init(l->loop, &l->clock_timer);
	l->clock_timer.data = l;
	uv_timer_start(&l->clock_timer, tick_clock, LB_CLOCK_TICK_MS, LB_CLOCK_TICK_MS);

	ret = socket_gid(l, &ro.group);
	if (ret)
		return ret;
	ro.inherited_fd = inherited_fd;
	ret = lbd_rpc_start(&rpc, l, &ro, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		return ret;
	}
	ret = lbd_events_start(l, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		return ret;
	}
	l->ifwatch = lb_ifwatch_start(l->loop, on_addresses_changed, l);
	if (!l->ifwatch)
		lb_warn("cannot watch interface addresses (%s); listeners follow the addresses "
			"present at start only",
			strerror(errno));
	return 0;
}

static void warn_forwarding(void)
{
	if (lb_syscheck_forwarding_off())
		lb_warn("net.ipv4.ip_forward is 0: packets for backends on other hosts will be "
			"dropped by the kernel (sysctl -w net.ipv4.ip_forward=1)");
}

static int run(struct lbd *l, struct lb_config *cfg)
{
	struct lb_dp_opts dpo = {
		.bpffs = l->args.bpffs,
		.instance = l->args.instance,
		.socket = l->socket_path,
		.max_connections = cfg->settings.max_connections,
	};
	struct lb_sweep_timeouts to = {
		.tcp_idle = cfg->settings.connection_timeout_sec,
		.udp_idle = cfg->settings.udp_timeout_sec,
	};
	char err[LB_ERR_MAX];
	int ret;

	lbd_args_socket_path(&l->args, l->socket_path, sizeof(l->socket_path));
	/*
	 * One lbd per datapath: the control socket first (another lbd answering there), then
	 * the instance's lock (lb_dataplane_open), before anything pinned is read or changed.
	 */
	inherited_fd = lb_sd_listen_fd();
	if (inherited_fd == -EINVAL) {
		lb_err("systemd passed more than one socket; lbd.socket must declare exactly one");
		lb_config_free(cfg);
		return -EINVAL;
	}
	if (inherited_fd < 0 && (ret = lb_rpc_server_check(l->socket_path, err, sizeof(err)))) {
		lb_err("%s", err);
		lb_config_free(cfg);
		return ret;
	}
	ret = lb_dataplane_open(&dpo, &l->dp, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		lb_config_free(cfg);
		return ret;
	}
	lb_ids_init(&l->adopted);
	l->health = lb_health_new(l->loop, lbd_policy_changed, lbd_on_health_event, l);
	l->drains = lb_drains_new(l->loop, lbd_drain_count, lbd_policy_changed, l);
	l->sweeper = lb_sweeper_start(l->loop, l->dp, &to);
	if (!l->health || !l->drains || !l->sweeper) {
		lb_err("out of memory");
		lb_config_free(cfg);
		ret = -ENOMEM;
		goto out;
	}
	l->splicer = lb_splicer_new(l->loop, cfg->settings.sni_splice, err, sizeof(err));
	if (!l->splicer) {
		lb_err("settings.sni-splice: %s", err);
		lb_config_free(cfg);
		ret = -EINVAL;
		goto out;
	}
	l->sni = lb_sni_new(l->loop, l->splicer, lbd_sni_choose, l);
	if (!l->sni) {
		lb_err("out of memory");
		lb_config_free(cfg);
		ret = -ENOMEM;
		goto out;
	}
	if (l->dp->reused && (ret = lb_ids_adopt(&l->adopted, l->dp)))
		lb_warn("cannot read the ids of the adopted datapath (%s); renumbering",
			strerror(-ret));
	l->maps = lb_mapsync_new(l->dp, &l->adopted);
	if (!l->maps) {
		lb_err("out of memory");
		lb_config_free(cfg);
		ret = -ENOMEM;
		goto out;
	}
	ret = lbd_apply(l, cfg, LB_CFG_BY_INDEX, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		lb_config_free(cfg);
		goto out;
	}
	ret = start_services(l);
	if (ret) {
		stop_loop(l);
		uv_run(l->loop, UV_RUN_DEFAULT);
		goto out;
	}
	warn_forwarding();
	lb_fault_arm();
	lb_info("ready: %zu prox%s on %zu interface%s, control socket %s", l->cfg->n_proxies,
		l->cfg->n_proxies == 1 ? "y" : "ies", l->dp->n_ifaces,
		l->dp->n_ifaces == 1 ? "" : "s", l->socket_path);
	lb_sd_notify("READY=1");
	notify_status(l);
	uv_run(l->loop, UV_RUN_DEFAULT);
	ret = l->lost ? -ENOENT : 0;
out:
	if (l->health || l->drains || l->splicer || l->sni || l->metrics || l->sweeper) {
		/* Failed before the loop ran: close what was created, let the loop free it. */
		free_engines(l);
		uv_run(l->loop, UV_RUN_DEFAULT);
	}
	/*
	 * A datapath this lbd created and never served from is removed; one that was serving
	 * (now, or under a previous lbd) keeps forwarding unless told otherwise.
	 */
	if (l->lost)
		; /* nothing left to remove or to leave running */
	else if (l->args.teardown_on_exit || (!l->cfg && !l->dp->reused))
		lb_dataplane_teardown(l->dp);
	else
		lb_info("datapath left running at %s (lbd --teardown removes it)", l->dp->pin_dir);
	lb_mapsync_free(l->maps);
	l->maps = NULL;
	lb_dataplane_free(l->dp);
	lb_model_free(l->model);
	l->model = NULL;
	lb_ids_release(&l->adopted);
	lb_ifaddr_table_clear(&l->addrs);
	lb_config_free(l->cfg);
	l->cfg = NULL;
	json_decref(l->last_weights);
	l->last_weights = NULL;
	json_decref(l->last_stats);
	l->last_stats = NULL;
	return ret;
}

/*
 * --check: the configuration's own rules held (lbd_args_parse); now what this system says
 * about it. Errors (what lbd would refuse) exit 1, warnings alone 0. No lock, no pin.
 */
static int check_only(struct lbd_args *a)
{
	struct lb_syscheck_counts c = {0};
	size_t n = a->cfg->n_proxies;

	if (a->check_system)
		c = lb_syscheck(a->cfg, stderr);
	lb_hc_tls_release();
	lbd_args_release(a);
	if (c.errors) {
		fprintf(stderr,
			"lbd: configuration refused by the checks of this system: %zu "
			"error%s, %zu warning%s\n",
			c.errors, c.errors == 1 ? "" : "s", c.warnings, c.warnings == 1 ? "" : "s");
		return 1;
	}
	printf("configuration OK: %zu prox%s", n, n == 1 ? "y" : "ies");
	if (c.warnings)
		printf(" (%zu warning%s)", c.warnings, c.warnings == 1 ? "" : "s");
	putchar('\n');
	return 0;
}

/*
 * Raise the open-file limit to its hard maximum: 1024 RPC clients plus health checks, SNI
 * connections (two descriptors each) and BPF objects do not fit the usual soft 1024.
 */
static void raise_nofile(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

int main(int argc, char **argv)
{
	struct lbd l = {0};
	struct lb_config *cfg;
	char err[LB_ERR_MAX];
	int ret;

	/*
	 * A control client that goes away before its reply (or a stats/health follower
	 * before its next event) makes the write fail with EPIPE, which libuv reports to the
	 * caller; without this the default SIGPIPE action killed lbd (systemd ignores SIGPIPE
	 * for services, a shell does not).
	 */
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
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
		ret = lb_dataplane_remove_pinned(l.args.bpffs, l.args.instance, l.args.force, err,
						 sizeof(err));
		if (ret)
			fprintf(stderr, "lbd: %s\n", err);
		return ret ? 1 : 0;
	}
	if (l.args.check_only)
		return check_only(&l.args);
	cfg = l.args.cfg;
	l.args.cfg = NULL; /* lbd_apply() takes it over */
	l.loop = uv_default_loop();
	l.started_ms = uv_now(l.loop);
	ret = run(&l, cfg);
	uv_loop_close(l.loop);
	lbd_args_release(&l.args);
	return ret ? 1 : 0;
}
