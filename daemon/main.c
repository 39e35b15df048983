// SPDX-License-Identifier: MIT
/*
 * lbd - the load balancer daemon. Loads (or adopts) the datapath, applies the
 * configuration, serves JSON-RPC, keeps listeners in line with interface addresses, sweeps
 * conntrack. SIGHUP reloads the configuration file; SIGUSR1 only opens the access log again
 * (logrotate: a reload would undo runtime changes); SIGINT/SIGTERM stop lbd and leave the
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

#include "access_log.h"
#include "adopt.h"
#include "conn_fanout.h"
#include "fdstore.h"
#include "handover.h"
#include "hc_tls.h"
#include "lb_fault.h"
#include "lb_log.h"
#include "apply.h"
#include "attach.h"
#include "lbd.h"
#include "neigh.h"
#include "node.h"
#include "rpc.h"
#include "stats_view.h"
#include "syscheck.h"
#include "systemd.h"

#define STATS_LOG_MS 10000

/* The control interface: one per process. */
static struct lbd_rpc rpc;
/* The control socket systemd passed (socket activation), -1 when none. */
static int inherited_fd = -1;
/* inherited_fd came from the previous lbd (--takeover), bound to our socket path. */
static bool control_taken_over;
/* Where a next lbd asks to take over (lbd --takeover). */
static struct lbd_handover *handover;
/* What this lbd took over from the previous one (--takeover), until it is in place. */
static struct lbd_takeover taken = {.control_fd = -1};

static void on_addresses_changed(void *arg)
{
	struct lbd *l = arg;

	lb_debug("interface addresses changed; re-syncing listeners");
	/* First: a listener on an interface created again follows its new ifindex. */
	lbd_attach_follow(l);
	lbd_resync(l);
	/* A link came, went or changed: which of them take XDP frames may too. */
	lb_dataplane_sync_fast_tx(l->dp);
	/* And routes towards dsr targets with it (an entry is added once a route is back). */
	lb_neigh_repair(l->neigh);
}

static void on_xdp_features_changed(void *arg)
{
	struct lbd *l = arg;

	lb_dataplane_sync_fast_tx(l->dp);
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
		/* --teardown left this lbd's routes to it: no datapath serves them any more. */
		lbd_node_withdraw(l);
		l->lost = true;
		stop_loop(l);
		return;
	}
	lbd_node_check(l);
}

static void log_stats(uv_timer_t *t)
{
	lbd_stats_log(t->data);
}

/*
 * The systemd watchdog (WatchdogSec=): pinged from the loop at half the interval, so a
 * loop that stops turning (a hang, SIGSTOP) gets lbd restarted; the datapath forwards
 * meanwhile. Static, not in struct lbd: one per process, like the signal handlers.
 */
static uv_timer_t watchdog_timer;

static void ping_watchdog(uv_timer_t *t)
{
	(void)t;
	lb_sd_notify("WATCHDOG=1");
}

static void start_watchdog(uv_loop_t *loop)
{
	long long usec = lb_sd_watchdog_usec();

	uv_timer_init(loop, &watchdog_timer);
	if (usec == -EINVAL)
		lb_warn("WATCHDOG_USEC or WATCHDOG_PID is malformed; not pinging the watchdog");
	if (usec <= 0)
		return;
	uv_timer_start(&watchdog_timer, ping_watchdog, 0, usec / 2000 > 0 ? usec / 2000 : 1);
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
	lbd_handover_close(handover);
	handover = NULL;
	uv_close((uv_handle_t *)&l->sigint, NULL);
	uv_close((uv_handle_t *)&l->sigterm, NULL);
	uv_close((uv_handle_t *)&l->sighup, NULL);
	uv_close((uv_handle_t *)&l->sigusr1, NULL);
	uv_close((uv_handle_t *)&l->stats_timer, NULL);
	uv_close((uv_handle_t *)&l->clock_timer, NULL);
	uv_close((uv_handle_t *)&watchdog_timer, NULL);
	lbd_rpc_stop(&rpc);
	lb_ifwatch_stop(l->ifwatch);
	l->ifwatch = NULL;
	lb_ifwatch_stop(l->xdpwatch);
	l->xdpwatch = NULL;
	lb_ifwatch_stop(l->neighwatch);
	l->neighwatch = NULL;
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
	if (signum == SIGUSR1) {
		/* After a rotation: the file at the path again, nothing else changes. */
		if (!l->access_log)
			lb_info("SIGUSR1: no access log to open again (settings.access-log)");
		else if (lbd_events_reopen_log(l, err, sizeof(err)))
			lb_err("SIGUSR1: %s", err);
		else
			lb_info("SIGUSR1: opened the access log %s again",
				l->cfg->settings.access_log);
		return;
	}
	lb_info("received %s, stopping", strsignal(signum));
	lb_sd_notify("STOPPING=1");
	/* Under systemd with a descriptor store, SNI connections wait there for the next lbd. */
	if (signum == SIGTERM && handover && l->sni && lbd_fdstore_enabled()) {
		lbd_handover_to_store(handover);
		return;
	}
	stop_loop(l);
}

static int store_state(void *ctx, char *err, size_t errlen)
{
	return lbd_fdstore_save(ctx, err, errlen);
}

static void stop_now(void *ctx)
{
	stop_loop(ctx);
}

static int control_fd(void *ctx)
{
	(void)ctx;
	return lb_rpc_server_fd(rpc.server);
}

/* The next lbd took everything: let go of it without a word to any peer, and stop. */
static void handed_over(void *ctx, bool same_socket)
{
	struct lbd *l = ctx;

	l->handed_over = true;
	lbd_node_unclaim(l); /* the next lbd claims the announcements once it has the lock */
	if (same_socket)
		lb_rpc_server_keep_path(rpc.server);
	lb_splicer_forget(l->splicer);
	l->splicer = NULL;
	lb_sni_forget(l->sni);
	l->sni = NULL;
	lb_sd_notify("STOPPING=1");
	stop_loop(l);
}

/* The group allowed to use the socket: --socket-group, else "lbd" when it exists, else root. */
static int socket_gid(const struct lbd *l, gid_t *gid, char *err, size_t errlen)
{
	const char *name = l->args.socket_group ? l->args.socket_group : "lbd";
	struct group *g = getgrnam(name);

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	if (l->args.socket_group)
		return lb_errf(err, errlen, -ENOENT, "--socket-group %s: no such group", name);
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
	uv_signal_init(l->loop, &l->sigusr1);
	l->sigint.data = l->sigterm.data = l->sighup.data = l->sigusr1.data = l;
	uv_signal_start(&l->sigint, on_signal, SIGINT);
	uv_signal_start(&l->sigterm, on_signal, SIGTERM);
	uv_signal_start(&l->sighup, on_signal, SIGHUP);
	uv_signal_start(&l->sigusr1, on_signal, SIGUSR1);
	uv_timer_init(l->loop, &l->stats_timer);
	l->stats_timer.data = l;
	uv_timer_start(&l->stats_timer, log_stats, STATS_LOG_MS, STATS_LOG_MS);
	uv_timer_init(l->loop, &l->clock_timer);
	l->clock_timer.data = l;
	uv_timer_start(&l->clock_timer, tick_clock, LB_CLOCK_TICK_MS, LB_CLOCK_TICK_MS);
	start_watchdog(l->loop);

	ret = socket_gid(l, &ro.group, err, sizeof(err));
	if (ret) {
		lb_err("%s", err);
		return ret;
	}
	ro.inherited_fd = inherited_fd;
	ro.owns_inherited = control_taken_over;
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
	{
		const struct lbd_handover_hooks hooks = {l, control_fd, handed_over, stop_now,
							 store_state};

		handover = lbd_handover_listen(l, &hooks, err, sizeof(err));
		if (!handover)
			lb_warn("%s; lbd --takeover cannot take over from this lbd", err);
	}
	l->ifwatch = lb_ifwatch_start(l->loop, on_addresses_changed, l);
	if (!l->ifwatch)
		lb_warn("cannot watch interface addresses (%s); listeners follow the addresses "
			"present at start only",
			strerror(errno));
	l->xdpwatch = lb_xdp_watch_start(l->loop, on_xdp_features_changed, l);
	if (!l->xdpwatch && errno != ENOENT)
		lb_warn("cannot watch the interfaces' xdp-features (%s); the fast path at XDP "
			"follows them only when links change",
			strerror(errno));
	l->neighwatch = lb_neigh_watch_start(l->loop, l->neigh);
	if (!l->neighwatch)
		lb_warn("cannot watch the neighbour table (%s); a dsr target's entry that is "
			"deleted comes back at the next reload or link change only",
			strerror(errno));
	return 0;
}

/*
 * What systemd passed: the control socket (lbd.socket), and what a previous lbd kept in
 * the descriptor store (fdstore.h) for this one to take over.
 */
static int systemd_fds(struct lbd *l)
{
	struct lb_sd_fd *fds = NULL;
	char err[LB_ERR_MAX];
	int n, i, ret = 0;

	n = lb_sd_listen_fds(&fds);
	if (n < 0) {
		lb_err("cannot read the descriptors systemd passed: %s", strerror(-n));
		return n;
	}
	if (n > 0) {
		ret = lbd_fdstore_load(fds, (size_t)n, l->socket_path, &taken, err, sizeof(err));
		if (ret < 0)
			lb_warn("%s", err);
		else if (ret > 0)
			lb_info("took %d SNI object%s over from systemd's descriptor store: %zu "
				"acceptor%s, %zu connection%s",
				ret, ret == 1 ? "" : "s", taken.n_acceptors,
				taken.n_acceptors == 1 ? "" : "s", taken.n_conns,
				taken.n_conns == 1 ? "" : "s");
		ret = 0;
	}
	for (i = 0; i < n; i++) {
		if (fds[i].fd < 0)
			continue; /* taken by the store's state */
		if (inherited_fd >= 0) {
			lb_err("systemd passed more than one socket; lbd.socket must declare "
			       "exactly one");
			ret = -EINVAL;
			close(fds[i].fd);
			continue;
		}
		inherited_fd = fds[i].fd;
	}
	free(fds);
	return ret;
}

/*
 * lbd --takeover: whatever would make this lbd refuse @cfg at its start, asked before the
 * running lbd hands over, since that one exits as soon as it has: a refusal after the
 * hand-over leaves no lbd, and the SNI connections it held are reset. The first apply's
 * own checks (the errors lbd --check reports too), the pinned datapath's layout and size,
 * the access log, the control socket's group. Nothing here disturbs the running lbd.
 * 0 or -errno, said.
 */
static int check_before_takeover(struct lbd *l, const struct lb_config *cfg,
				 const struct lb_dp_opts *dpo)
{
	struct lb_access_log *log = NULL;
	char err[LB_ERR_MAX] = "";
	gid_t gid;
	int ret;

	ret = lbd_apply_check(cfg, NULL, LB_CFG_BY_INDEX, err, sizeof(err));
	if (!ret)
		ret = lb_dataplane_check_pinned(dpo, err, sizeof(err));
	if (!ret) {
		ret = lbd_events_prepare(l, &cfg->settings, &log, err, sizeof(err));
		lb_access_log_close(log);
	}
	if (!ret)
		ret = socket_gid(l, &gid, err, sizeof(err));
	if (ret) {
		lb_err("not taking over (an lbd running this instance keeps serving): %s", err);
		lb_hc_tls_release(); /* what the check cached: this lbd stops here */
	}
	return ret;
}

/*
 * lbd --takeover: everything the running lbd hands over, before this one touches the
 * instance; the lock is then waited for while it stops. 0 (also when none runs), or
 * -errno: the running lbd keeps running.
 */
static int take_over(struct lbd *l, struct lb_dp_opts *dpo)
{
	char err[LB_ERR_MAX] = "";
	int ret;

	lbd_takeover_release(&taken); /* a descriptor store's, if any: the running lbd has newer */
	ret = lbd_takeover_receive(&l->args, l->socket_path, &taken, err, sizeof(err));
	if (ret < 0) {
		lb_err("cannot take over: %s", err);
		return ret;
	}
	if (ret > 0) {
		lb_info("--takeover: no lbd runs this instance; starting afresh");
		return 0;
	}
	lb_info("taking over from lbd pid %d: %zu SNI acceptor%s, %zu connection%s",
		(int)taken.from, taken.n_acceptors, taken.n_acceptors == 1 ? "" : "s",
		taken.n_conns, taken.n_conns == 1 ? "" : "s");
	if (taken.control_fd >= 0) {
		if (inherited_fd >= 0)
			close(inherited_fd);
		inherited_fd = taken.control_fd;
		taken.control_fd = -1;
		control_taken_over = true;
	}
	dpo->lock_wait_ms = 10000;
	return 0;
}

/* The splicer: the previous lbd's sockmap when it handed one over, else a new one. */
/*
 * A restart or take-over keeps the verdicts of the health checks: the targets the adopted
 * datapath gives no weight start unhealthy (lb_health_assume_unhealthy()), or a backend
 * that was dead gets its full share of new connections until its checks fail again.
 */
static void assume_weightless_unhealthy(struct lbd *l)
{
	uint8_t *weightless = calloc(LB_MAX_TARGETS, 1);
	const struct lb_target_key *tk;
	const char *proxy;
	uint32_t id;
	int ret;

	ret = weightless ? lb_adopt_weightless(l->dp, weightless) : -ENOMEM;
	for (id = 0; !ret && id < LB_MAX_TARGETS; id++) {
		if (!weightless[id] || !(tk = lb_idmap_key_of(&l->adopted.targets, id)) ||
		    !(proxy = lb_idmap_key_of(&l->adopted.proxies, tk->proxy_id)))
			continue;
		ret = lb_health_assume_unhealthy(l->health, proxy, &tk->addr, tk->port);
	}
	if (ret)
		lb_warn("cannot read which targets had no weight under the previous lbd (%s): "
			"they start healthy",
			strerror(-ret));
	free(weightless);
}

static struct lb_splicer *splicer_new(struct lbd *l, enum lb_splice_mode mode, char *err,
				      size_t errlen)
{
	const char *offload = json_string_value(json_object_get(taken.splicer.meta, "offload"));
	struct lb_splicer *s;

	if (!offload || strcmp(offload, "sockmap"))
		return lb_splicer_new(l->loop, mode, err, errlen);
	s = lb_splicer_adopt(l->loop, &taken.splicer, err, errlen);
	/* The pairs taken over finish in the kernel; new ones follow settings.sni-splice. */
	if (s && mode != LB_SPLICE_SOCKMAP)
		lb_splicer_copy_new(s);
	return s;
}

static int adopt_acceptors(struct lbd *l)
{
	char err[LB_ERR_MAX];
	size_t i;
	int ret;

	for (i = 0; i < taken.n_acceptors; i++) {
		ret = lb_sni_adopt_acceptor(l->sni, &taken.acceptors[i], err, sizeof(err));
		if (ret) {
			lb_err("cannot take over an SNI acceptor: %s", err);
			return ret;
		}
	}
	return 0;
}

/* The spliced and pending connections taken over, once acceptors and model are in place. */
static void import_connections(struct lbd *l)
{
	size_t i, failed = 0;

	for (i = 0; i < taken.n_conns; i++)
		if (lb_sni_import(l->sni, &taken.conns[i]))
			failed++;
	if (failed)
		lb_warn("%zu of the %zu SNI connections taken over could not continue: reset",
			failed, taken.n_conns);
	lbd_takeover_release(&taken);
}

static void warn_forwarding(const struct lb_config *cfg)
{
	const char *why;

	if ((why = lb_syscheck_forwarding_off(cfg, false)))
		lb_warn("%s", why);
	if ((why = lb_syscheck_forwarding_off(cfg, true)))
		lb_warn("%s", why);
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
	size_t i;
	int ret;

	for (i = 0; i < cfg->n_proxies; i++)
		dpo.fullnat |= cfg->proxies[i].forwarding == LB_FWD_FULLNAT;
	dpo.holds_fullnat = lbd_attach_ct_fullnat;
	dpo.snat_port_min = cfg->settings.snat_port_min;
	dpo.snat_port_max = cfg->settings.snat_port_max;
	lbd_args_socket_path(&l->args, l->socket_path, sizeof(l->socket_path));
	/*
	 * One lbd per datapath: the control socket first (another lbd answering there), then
	 * the instance's lock (lb_dataplane_open), before anything pinned is read or changed.
	 */
	ret = systemd_fds(l);
	if (ret < 0) {
		lb_config_free(cfg);
		return ret;
	}
	if (l->args.takeover) {
		ret = check_before_takeover(l, cfg, &dpo);
		if (!ret)
			ret = take_over(l, &dpo);
		if (ret < 0) {
			lb_config_free(cfg);
			return ret;
		}
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
	lb_sweeper_on_sweep(l->sweeper, lbd_attach_linger_check, l);
	l->splicer = splicer_new(l, cfg->settings.sni_splice, err, sizeof(err));
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
	lb_sni_set_listener_hook(l->sni, lbd_fdstore_listener, l);
	ret = adopt_acceptors(l);
	if (ret) {
		lb_config_free(cfg);
		goto out;
	}
	if (l->dp->reused && (ret = lb_ids_adopt(&l->adopted, l->dp)))
		lb_warn("cannot read the ids of the adopted datapath (%s); renumbering",
			strerror(-ret));
	else if (l->dp->reused)
		assume_weightless_unhealthy(l);
	l->maps = lb_mapsync_new(l->dp, &l->adopted);
	l->neigh = lb_neigh_new();
	if (!l->maps || !l->neigh) {
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
	import_connections(l);
	warn_forwarding(l->cfg);
	lb_fault_arm();
	lb_info("ready: %zu prox%s on %zu interface%s, control socket %s", l->cfg->n_proxies,
		l->cfg->n_proxies == 1 ? "y" : "ies", l->dp->n_ifaces,
		l->dp->n_ifaces == 1 ? "" : "s", l->socket_path);
	lb_sd_notify("READY=1");
	notify_status(l);
	/* The loop: the SNI sockets' set drives libuv, one epoll_wait() per wake-up. */
	if (l->splicer)
		lb_splicer_run(l->splicer);
	else
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
	/* Before a teardown, whose withdrawal claims the table for its time. */
	lbd_node_unclaim(l);
	if (l->lost)
		; /* nothing left to remove or to leave running */
	else if (l->handed_over)
		lb_info("datapath at %s left to the next lbd", l->dp->pin_dir);
	else if (l->args.teardown_on_exit || (!l->cfg && !l->dp->reused))
		lb_dataplane_teardown(l->dp);
	else
		lb_info("datapath left running at %s (lbd --teardown removes it)", l->dp->pin_dir);
	lb_mapsync_free(l->maps);
	l->maps = NULL;
	lb_neigh_free(l->neigh);
	l->neigh = NULL;
	lb_dataplane_free(l->dp);
	lb_model_free(l->model);
	l->model = NULL;
	lb_ids_release(&l->adopted);
	free(l->linger);
	l->linger = NULL;
	l->n_linger = 0;
	lb_ifaddr_table_clear(&l->addrs);
	lb_config_free(l->cfg);
	l->cfg = NULL;
	json_decref(l->last_weights);
	l->last_weights = NULL;
	lbd_takeover_release(&taken);

	json_decref(l->last_stats);
	l->last_stats = NULL;
	free(l->announced);
	l->announced = NULL;
	l->n_announced = 0;
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
	struct lbd l = {.claim_fd = -1};
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
