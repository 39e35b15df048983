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

void lbd_attach_commit(struct lbd *l, const struct lb_config *next, struct lbd_attach_undo *u)
{
	size_t i = 0;

	free(u->added);
	u->added = NULL;
	u->n_added = 0;
	/* Before a detach: a nat reply must not be left waiting for an ingress hook. */
	lb_dataplane_set_fast_path(l->dp, next->settings.fast_path);
	for (i = 0; i < l->dp->n_ifaces; i++) {
		lb_dataplane_set_localnet(l->dp, l->dp->ifaces[i].name,
					  needs_localnet(next, l->dp->ifaces[i].name));
		/* Kept once set, while attached: established full-nat flows still need it. */
		if (carries_fullnat(next, l->dp->ifaces[i].name))
			lb_dataplane_set_accept_local(l->dp, l->dp->ifaces[i].name, true);
	}
	/* Detach what no proxy of @next listens on any more. */
	i = 0;
	while (i < l->dp->n_ifaces) {
		const char *ifname = l->dp->ifaces[i].name;

		if (config_uses_iface(next, ifname)) {
			i++;
			continue;
		}
		lb_info("%s: no proxy listens here nor reaches a full-nat (or fast-path) target "
			"through it any more; detaching",
			ifname);
		lb_dataplane_detach(l->dp, ifname); /* moves the last entry into slot i */
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
