// SPDX-License-Identifier: MIT
#include "attach.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include "lb_fault.h"
#include "lb_log.h"
#include "lbd.h"
#include "route.h"
#include "sweep.h"

static bool proxy_on_iface(const struct lb_proxy_cfg *p, const char *ifname)
{
	size_t i;

	for (i = 0; i < p->n_ifaces; i++)
		if (!strcmp(p->ifaces[i], ifname))
			return true;
	return false;
}

/*
 * The interface the route towards target @t of a full-nat proxy leaves through, into
 * @ifname: its replies arrive there, addressed to the LB, and need the ingress hook.
 * False when there is no such route, or when the target is an address of this host (the
 * route is local, through lo): its replies never cross an interface's ingress, and every
 * local packet would run lbd's programs on lo.
 */
static bool fullnat_iface(const struct lb_target_cfg *t, char ifname[IF_NAMESIZE])
{
	struct lb_route r;

	return !lb_route_get(&t->addr, &r) && r.type != RTN_LOCAL && r.oif &&
	       if_indextoname(r.oif, ifname);
}

/*
 * Whether the replies of proxy @pc's targets need the ingress hook of the interface they
 * arrive on: full-nat's always (addressed to the LB), nat's with the fast path (their SNAT
 * moves there from TC egress; bpf/lb_fast.h). Only full-nat's when @fullnat_only.
 */
static bool replies_at_ingress(const struct lb_config *cfg, const struct lb_proxy_cfg *pc,
			       bool fullnat_only)
{
	return pc->forwarding == LB_FWD_FULLNAT ||
	       (!fullnat_only && cfg->settings.fast_path && pc->forwarding == LB_FWD_NAT);
}

/*
 * Call @fn for every interface towards a target whose replies need the ingress hook
 * (replies_at_ingress()); stop at non-zero.
 */
static int for_reply_ifaces(const struct lb_config *cfg, bool fullnat_only,
			    int (*fn)(const char *, void *), void *arg)
{
	char ifname[IF_NAMESIZE];
	size_t p, g, t;
	int ret;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		if (!replies_at_ingress(cfg, pc, fullnat_only))
			continue;
		for (g = 0; g < lb_proxy_n_groups(pc); g++)
			for (t = 0; t < lb_proxy_group(pc, g)->n; t++)
				if (fullnat_iface(&lb_proxy_group(pc, g)->t[t], ifname) &&
				    (ret = fn(ifname, arg)))
					return ret;
	}
	return 0;
}

static int same_name(const char *ifname, void *arg)
{
	return !strcmp(ifname, arg);
}

/* Full-nat requests or replies come in through @ifname. */
static bool carries_fullnat(const struct lb_config *cfg, const char *ifname)
{
	size_t p;

	for (p = 0; p < cfg->n_proxies; p++)
		if (cfg->proxies[p].forwarding == LB_FWD_FULLNAT &&
		    proxy_on_iface(&cfg->proxies[p], ifname))
			return true;
	return for_reply_ifaces(cfg, true, same_name, (void *)ifname) != 0;
}

static bool config_uses_iface(const struct lb_config *cfg, const char *ifname)
{
	size_t p;

	for (p = 0; p < cfg->n_proxies; p++)
		if (proxy_on_iface(&cfg->proxies[p], ifname))
			return true;
	return for_reply_ifaces(cfg, false, same_name, (void *)ifname) != 0;
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
				if (lb_ip_is_v4(&g->t[t].addr) &&
				    (ntohl(lb_ip_v4(&g->t[t].addr)) >> 24) == 127)
					return true;
		}
	}
	return false;
}

/* Proxy @name of @running (NULL: none) listens on @ifname. */
static bool running_on_iface(const struct lb_config *running, const char *name, const char *ifname)
{
	const struct lb_proxy_cfg *p = running ? lb_config_find_proxy(running, name) : NULL;

	return p && proxy_on_iface(p, ifname);
}

int lb_attach_check(const struct lb_config *cfg, const struct lb_config *running,
		    enum lb_cfg_naming naming, char *err, size_t errlen)
{
	char member[48], where[LB_ERR_MAX / 2];
	size_t p, i;

	for (p = 0; p < cfg->n_proxies; p++)
		for (i = 0; i < cfg->proxies[p].n_ifaces; i++) {
			if (if_nametoindex(cfg->proxies[p].ifaces[i]))
				continue;
			/*
			 * Every interface of the running configuration existed when it was
			 * applied: this one vanished since (a veth or VLAN removed), which must
			 * not block changes to anything else. A new name stays an error.
			 */
			if (running_on_iface(running, cfg->proxies[p].name,
					     cfg->proxies[p].ifaces[i]))
				continue;
			snprintf(member, sizeof(member), "listen.interfaces[%zu]", i);
			return lb_errf(err, errlen, -ENODEV, "%s: interface %s does not exist",
				       lb_config_proxy_path(cfg->proxies[p].name, p, naming, member,
							    where, sizeof(where)),
				       cfg->proxies[p].ifaces[i]);
		}
	return 0;
}

struct attach_ctx {
	struct lbd *l;
	const struct lb_config *cfg;
	struct lbd_attach_undo *u;
	size_t cap;
	char *err;
	size_t errlen;
};

static int attach_one(const char *ifname, void *arg)
{
	struct attach_ctx *a = arg;
	int ret;

	/* Gone since it was attached (lb_attach_check() lets only those through). */
	if (lb_dataplane_attached(a->l->dp, ifname) || !if_nametoindex(ifname))
		return 0;
	if (a->u->n_added == a->cap)
		return lb_errf(a->err, a->errlen, -ENOSPC, "too many interfaces");
	ret = lb_dataplane_attach(a->l->dp, ifname, a->cfg->settings.ingress,
				  a->cfg->settings.xdp_mode, needs_localnet(a->cfg, ifname), a->err,
				  a->errlen);
	if (ret)
		return ret;
	snprintf(a->u->added[a->u->n_added++], IF_NAMESIZE, "%s", ifname);
	return 0;
}

/*
 * Attach every interface @cfg uses that is not attached yet (the proxies' interfaces, and
 * those towards targets whose replies need the ingress hook); records which were new.
 */
static int attach_new(struct lbd *l, const struct lb_config *cfg, struct lbd_attach_undo *u,
		      size_t cap, char *err, size_t errlen)
{
	struct attach_ctx a = {l, cfg, u, cap, err, errlen};
	size_t p, i;
	int ret;

	for (p = 0; p < cfg->n_proxies; p++) {
		for (i = 0; i < cfg->proxies[p].n_ifaces; i++) {
			ret = attach_one(cfg->proxies[p].ifaces[i], &a);
			if (ret)
				return ret;
		}
	}
	return for_reply_ifaces(cfg, false, attach_one, &a);
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

static size_t count_ifaces(const struct lb_config *cfg)
{
	size_t p, g, n = 0;

	for (p = 0; p < cfg->n_proxies; p++) {
		n += cfg->proxies[p].n_ifaces;
		if (replies_at_ingress(cfg, &cfg->proxies[p], false))
			for (g = 0; g < lb_proxy_n_groups(&cfg->proxies[p]); g++)
				n += lb_proxy_group(&cfg->proxies[p], g)->n;
	}
	return n;
}

/*
 * Whether the device lbd attached as @ifc is gone: deleted, or deleted and created again
 * under its name (another ifindex).
 */
static bool iface_gone(const struct lb_dp_iface *ifc)
{
	unsigned int idx;

	errno = 0;
	idx = if_nametoindex(ifc->name);
	/* Any other failure (no descriptor left for the ioctl) cannot tell: keep it. */
	return idx ? idx != ifc->ifindex : errno == ENODEV;
}

/*
 * Forget the attached interfaces whose device is gone: moving their hooks or detaching
 * them fails (ENODEV), which would refuse every change until lbd restarts.
 */
static void forget_vanished(struct lbd *l)
{
	char ifname[IF_NAMESIZE];
	unsigned int idx;
	size_t i = 0;

	while (i < l->dp->n_ifaces) {
		if (!iface_gone(&l->dp->ifaces[i])) {
			i++;
			continue;
		}
		snprintf(ifname, sizeof(ifname), "%s", l->dp->ifaces[i].name);
		idx = l->dp->ifaces[i].ifindex;
		lb_dataplane_forget(l->dp, ifname); /* moves the last entry into slot i */
		if (l->cfg && config_uses_iface(l->cfg, ifname))
			lb_warn("%s (ifindex %u) is gone, and lbd's programs with it; they are "
				"attached again when an interface of that name comes back (or "
				"lbctl detach-interfaces %s forgets it)",
				ifname, idx, ifname);
		else
			lb_info("%s (ifindex %u) is gone, and lbd's programs with it", ifname, idx);
	}
}

int lbd_attach_prepare(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u,
		       char *err, size_t errlen)
{
	int ret;

	size_t cap = count_ifaces(next) + 1, i;

	u->n_added = 0;
	u->added = calloc(cap, IF_NAMESIZE);
	if (!u->added)
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	/* Before anything walks the attached interfaces; the watcher may not have run yet. */
	forget_vanished(l);
	/*
	 * Before any program of a new lbd is attached: pinned conntrack may hold full-nat
	 * flows of the previous one, whose replies must not pass untranslated (the LB's
	 * stack would reset them). Off again only with a new datapath.
	 */
	u->fullnat_set = false;
	for (i = 0; i < next->n_proxies; i++)
		if (next->proxies[i].forwarding == LB_FWD_FULLNAT) {
			u->fullnat_set = lb_dataplane_fullnat_range(l->dp, &u->old_port_min,
								    &u->old_port_max);
			lb_dataplane_set_fullnat(l->dp, next->settings.snat_port_min,
						 next->settings.snat_port_max);
			break;
		}
	/* New interfaces first: with no listener entry yet, their programs only pass. */
	ret = attach_new(l, next, u, cap, err, errlen);
	if (!ret)
		ret = lb_fault("attach", err, errlen);
	/* Interfaces adopted from a previous lbd, or a changed settings.ingress. */
	if (!ret)
		ret = sync_ingress(l, next, l->cfg, err, errlen);
	if (!ret)
		ret = lb_fault("ingress", err, errlen);
	if (ret)
		lbd_attach_abort(l, u);
	return ret;
}

void lbd_attach_abort(struct lbd *l, struct lbd_attach_undo *u)
{
	char undo_err[LB_ERR_MAX];
	size_t i;

	if (l->cfg && sync_ingress(l, l->cfg, NULL, undo_err, sizeof(undo_err)))
		lb_err("cannot restore the previous hooks: %s", undo_err);
	for (i = 0; i < u->n_added; i++)
		lb_dataplane_detach(l->dp, u->added[i]);
	/* The running range comes back (full-nat stays on: flows may already use it). */
	if (u->fullnat_set)
		lb_dataplane_set_fullnat(l->dp, u->old_port_min, u->old_port_max);
	u->fullnat_set = false;
	free(u->added);
	u->added = NULL;
	u->n_added = 0;
	lb_dataplane_sync_fast_tx(l->dp);
}

static struct lbd_linger *find_linger(struct lbd *l, const char *ifname)
{
	size_t i;

	for (i = 0; i < l->n_linger; i++)
		if (!strcmp(l->linger[i].name, ifname))
			return &l->linger[i];
	return NULL;
}

static void set_bit(uint8_t *bits, uint32_t i)
{
	bits[i / 8] |= 1u << (i % 8);
}

static bool has_bit(const uint8_t *bits, uint32_t i)
{
	return bits[i / 8] & (1u << (i % 8));
}

/* Append ", @name" to the list of names @buf. */
static void add_name(char *buf, size_t size, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", name);
}

/*
 * What needed @ifname in the running configuration, before @next: the flows of every proxy
 * that listened there (requests come in, nat replies go out), and the full-nat flows to
 * every target reached through it (their replies come in). Without a running configuration
 * (the first change of a restarted lbd, which adopted @ifname), or when nothing in it uses
 * @ifname any more (a route that changed since), nobody knows: every flow counts.
 */
static void linger_users(struct lbd *l, struct lbd_linger *e)
{
	const struct lb_config *cfg = l->cfg;
	const struct lb_ids *ids = l->model ? &l->model->ids : NULL;
	char ifname[IF_NAMESIZE], names[sizeof(e->why) - 48] = "";
	size_t p, g, t;
	int64_t pid, tid;

	for (p = 0; cfg && ids && p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		bool listed = false;

		pid = lb_ids_proxy(ids, pc->name);
		if (pid < 0 || pid >= LB_MAX_PROXIES)
			continue;
		if (proxy_on_iface(pc, e->name)) {
			set_bit(e->proxies, pid);
			add_name(names, sizeof(names), pc->name);
			listed = true;
		}
		if (pc->forwarding != LB_FWD_FULLNAT)
			continue;
		for (g = 0; g < lb_proxy_n_groups(pc); g++)
			for (t = 0; t < lb_proxy_group(pc, g)->n; t++) {
				const struct lb_target_cfg *tc = &lb_proxy_group(pc, g)->t[t];

				if (!fullnat_iface(tc, ifname) || strcmp(ifname, e->name))
					continue;
				tid = lb_ids_target(ids, pid, &tc->addr, tc->port);
				if (tid < 0 || tid >= LB_MAX_TARGETS)
					continue;
				set_bit(e->targets, tid);
				if (!listed)
					add_name(names, sizeof(names), pc->name);
				listed = true;
			}
	}
	if (names[0]) {
		snprintf(e->why, sizeof(e->why), "flows of %s that started before the change",
			 names);
		return;
	}
	/*
	 * Only the fast path's nat replies came in there: without its hook they go up and
	 * are translated at the client side's egress, as without the fast path.
	 */
	if (cfg && ids && config_uses_iface(cfg, e->name)) {
		snprintf(e->why, sizeof(e->why), "no flow: only nat replies of the fast path");
		return;
	}
	e->any = true;
	snprintf(e->why, sizeof(e->why), "every flow that started before the change (%s)",
		 cfg ? "its users are not known" : "a previous lbd attached it");
}

/*
 * @ifname is no longer used by the next configuration: it lingers, its programs attached
 * but no listener pointing at it, until no flow that may pass it is left (linger_scan()).
 */
static int linger_start(struct lbd *l, const char *ifname)
{
	struct lbd_linger *e, *grown;

	if (find_linger(l, ifname))
		return 0; /* lingering already, for the flows of an earlier change */
	grown = realloc(l->linger, (l->n_linger + 1) * sizeof(*l->linger));
	if (!grown)
		return -ENOMEM;
	l->linger = grown;
	e = &l->linger[l->n_linger++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", ifname);
	e->since_ns = uv_hrtime();
	linger_users(l, e);
	e->fresh = true;
	return 0;
}

static void linger_drop(struct lbd *l, struct lbd_linger *e)
{
	*e = l->linger[--l->n_linger];
}

/*
 * Whether flow @f may still pass a lingering interface @e: one that began before the change
 * (a flow's created_ns is the datapath's clock, which lags, never leads), of a proxy that
 * listened there, or a full-nat one to a target reached through it. Flows that began later
 * never pass it: no listener points at it. A proxy that moved to another interface, or
 * switched from full-nat to nat, therefore lets it go once its older flows end.
 */
static bool linger_needs(const struct lbd_linger *e, const struct lb_flow_view *f)
{
	const struct lb_ct_val *o = f->orig;

	if (o->created_ns >= e->since_ns)
		return false;
	if (e->any)
		return true;
	if (o->proxy_id < LB_MAX_PROXIES && has_bit(e->proxies, o->proxy_id))
		return true;
	return o->fwd == LB_FWD_FULLNAT && o->target_id < LB_MAX_TARGETS &&
	       has_bit(e->targets, o->target_id);
}

static int linger_count(const struct lb_flow_view *f, void *arg)
{
	struct lbd *l = arg;
	size_t i;

	for (i = 0; i < l->n_linger; i++)
		if (linger_needs(&l->linger[i], f))
			l->linger[i].seen++;
	return 0;
}

/*
 * One scan of conntrack (closed and expired flows count until the sweeper removes them):
 * each lingering interface learns how many of its flows are left. Two scans in a row that
 * began after it started lingering and found none let it go: a flow being confirmed moves
 * from lb_syn to lb_ct and can be missed by one scan (it reads lb_ct first), never by two.
 */
static void linger_scan(struct lbd *l, const struct lb_settings *st)
{
	struct lb_sweep_timeouts to = {
		.tcp_idle = st->connection_timeout_sec,
		.udp_idle = st->udp_timeout_sec,
	};
	uint64_t start = uv_hrtime();
	struct lbd_linger *e;
	size_t i;
	int ret;

	for (i = 0; i < l->n_linger; i++)
		l->linger[i].seen = 0;
	ret = lb_ct_scan(l->dp, &to, linger_count, l);
	if (ret) {
		lb_warn("cannot read conntrack to see whether lingering interfaces still carry "
			"flows: %s; they stay attached",
			strerror(-ret));
		return;
	}
	i = 0;
	while (i < l->n_linger) {
		e = &l->linger[i];
		e->flows = e->seen;
		e->clean = e->seen || start <= e->since_ns ? 0 : e->clean + 1;
		if (!lb_dataplane_attached(l->dp, e->name)) {
			linger_drop(l, e); /* gone (forget_vanished()) */
			continue;
		}
		if (e->clean < 2) {
			i++;
			continue;
		}
		if (!e->fresh)
			lb_info("%s: the last flow that started before the change has ended; "
				"detaching",
				e->name);
		else
			lb_info("%s: no proxy listens here nor reaches a full-nat (or fast-path) "
				"target through it any more, and no flow passes it; detaching",
				e->name);
		lb_dataplane_detach(l->dp, e->name);
		linger_drop(l, e);
	}
}

/* A flow view callback: stops the scan at the first full-nat flow, noted in @arg (bool). */
static int found_fullnat(const struct lb_flow_view *f, void *arg)
{
	if (f->orig->fwd != LB_FWD_FULLNAT)
		return 0;
	*(bool *)arg = true;
	return 1;
}

bool lbd_attach_ct_fullnat(const struct lb_dataplane *dp)
{
	struct lb_sweep_timeouts t = {.tcp_idle = 1, .udp_idle = 1};
	bool found = false;

	return lb_ct_scan(dp, &t, found_fullnat, &found) || found;
}

void lbd_attach_linger_check(void *arg)
{
	struct lbd *l = arg;
	size_t n = l->n_linger;

	if (!n || !l->cfg)
		return;
	linger_scan(l, &l->cfg->settings);
	/* Detached (a hook less): the interfaces that take XDP frames may have changed. */
	if (l->n_linger < n)
		lb_dataplane_sync_fast_tx(l->dp);
}

const struct lbd_linger *lbd_attach_lingering(struct lbd *l, const char *ifname)
{
	return find_linger(l, ifname);
}

void lbd_attach_commit(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u)
{
	struct lbd_linger *e;
	size_t i = 0, n;

	free(u->added);
	u->added = NULL;
	u->n_added = 0;
	/* Before a detach: a nat reply must not be left waiting for an ingress hook. */
	lb_dataplane_set_fast_path(l->dp, next->settings.fast_path);
	/* An interface that lingers and is named again: it is just used (it is attached). */
	i = 0;
	while (i < l->n_linger) {
		e = &l->linger[i];
		if (!config_uses_iface(next, e->name)) {
			i++;
			continue;
		}
		lb_info("%s: used again by the configuration; no longer lingering", e->name);
		linger_drop(l, e);
	}
	/*
	 * What @next does not use stays attached while conntrack may hold flows through it
	 * (established flows finish where they started); only its listeners go.
	 */
	n = l->n_linger;
	for (i = 0; i < l->dp->n_ifaces; i++)
		if (!config_uses_iface(next, l->dp->ifaces[i].name) &&
		    linger_start(l, l->dp->ifaces[i].name))
			lb_err("%s: out of memory; it stays attached until the next change",
			       l->dp->ifaces[i].name);
	for (i = 0; i < l->dp->n_ifaces; i++) {
		const char *ifname = l->dp->ifaces[i].name;

		/* A lingering one keeps it: a nat flow to 127.0.0.0/8 may still pass. */
		if (!find_linger(l, ifname))
			lb_dataplane_set_localnet(l->dp, ifname, needs_localnet(next, ifname));
		/* Kept once set, while attached: established full-nat flows still need it. */
		if (carries_fullnat(next, ifname))
			lb_dataplane_set_accept_local(l->dp, ifname, true);
	}
	/* Detach at once what no flow passes (two scans: linger_scan()); log the others. */
	if (l->n_linger > n) {
		linger_scan(l, &next->settings);
		linger_scan(l, &next->settings);
	}
	for (i = 0; i < l->n_linger; i++) {
		e = &l->linger[i];
		if (!e->fresh)
			continue;
		e->fresh = false;
		lb_info("%s: no proxy uses it any more, but %llu flow%s may still pass it (%s); "
			"it stays attached, with no listener, until they end",
			e->name, (unsigned long long)e->flows, e->flows == 1 ? "" : "s", e->why);
	}
	/* Hooks moved (XDP native or not): the interfaces that take XDP frames may too. */
	lb_dataplane_sync_fast_tx(l->dp);
}

/* Attach @ifname, used by the running configuration, when it exists and is not attached. */
static int follow_one(const char *ifname, void *arg)
{
	struct lbd *l = arg;
	const struct lb_config *cfg = l->cfg;
	char err[LB_ERR_MAX];
	unsigned int idx;

	if (lb_dataplane_attached(l->dp, ifname) || !(idx = if_nametoindex(ifname)))
		return 0;
	if (lb_dataplane_attach(l->dp, ifname, cfg->settings.ingress, cfg->settings.xdp_mode,
				needs_localnet(cfg, ifname), err, sizeof(err))) {
		lb_err("%s (ifindex %u) is back, but lbd cannot attach its programs: %s; nothing "
		       "is balanced there until that is fixed and the link changes again (or "
		       "lbctl reload)",
		       ifname, idx, err);
		return 0;
	}
	if (carries_fullnat(cfg, ifname))
		lb_dataplane_set_accept_local(l->dp, ifname, true);
	lb_info("%s (ifindex %u) is there again: lbd's programs are attached to it", ifname, idx);
	return 0;
}

void lbd_attach_follow(struct lbd *l)
{
	size_t p, i;

	forget_vanished(l);
	if (!l->cfg)
		return;
	for (p = 0; p < l->cfg->n_proxies; p++)
		for (i = 0; i < l->cfg->proxies[p].n_ifaces; i++)
			follow_one(l->cfg->proxies[p].ifaces[i], l);
	for_reply_ifaces(l->cfg, false, follow_one, l);
}
