// SPDX-License-Identifier: MIT
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "announce.h"
#include "lb_addr.h"
#include "lb_log.h"

/*
 * Has @p a healthy target that takes new flows? Not the effective weights alone: with no
 * healthy target a group keeps its configured weights (graceful degradation), which is
 * right for a lone node and wrong for one of several, whose peers may have healthy ones.
 */
static bool proxy_serves(const struct lb_model_proxy *p)
{
	const struct lb_model_target *t;
	size_t g, k;

	for (g = 0; g < p->n_groups; g++)
		for (k = 0; k < p->groups[g].n; k++) {
			t = &p->groups[g].t[k];
			if (t->healthy && !t->draining && t->effective)
				return true;
		}
	return false;
}

/* Why @addr is not announced, or NULL when it is (@ns: the node's state). */
static const char *withheld_reason(const struct lbd *l, const struct lb_node_state *ns,
				   const struct lb_ip *addr)
{
	const struct lb_model *m = l->model;
	bool listened = false;
	size_t i;

	if (!l->cfg->settings.announce_table)
		return "announcements are off (settings.announce-table)";
	if (ns->maintenance)
		return "the node is in maintenance (lbctl node undrain ends it)";
	for (i = 0; m && i < m->n_proxies; i++) {
		if (!m->proxies[i].cfg->has_address || !lb_ip_eq(&m->proxies[i].cfg->address, addr))
			continue;
		if (proxy_serves(&m->proxies[i]))
			return NULL;
		listened = true;
	}
	return listened ? "no healthy target" : "no proxy listens on it any more";
}

/*
 * The addresses to announce now, into a malloc'd *@out (NULL when none), their number in
 * *@n. -ENOMEM: nothing is known, and nothing must be withdrawn for it.
 */
static int wanted(const struct lbd *l, const struct lb_node_state *ns, struct lb_ip **out,
		  size_t *n)
{
	const struct lb_model *m = l->model;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!m || !m->n_proxies)
		return 0;
	*out = calloc(m->n_proxies, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < m->n_proxies; i++)
		if (m->proxies[i].cfg->has_address &&
		    !withheld_reason(l, ns, &m->proxies[i].cfg->address))
			(*out)[(*n)++] = m->proxies[i].cfg->address;
	return 0;
}

/* Log what changed between the last announced set and @now. */
static void log_changes(const struct lbd *l, const struct lb_node_state *ns,
			const struct lb_ip *now, size_t n)
{
	char a[LB_ADDR_STR_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		if (!lb_announce_in(l->announced, l->n_announced, &now[i]))
			lb_info("announcing %s (routing table %u)", lb_format_ip(&now[i], a),
				l->cfg->settings.announce_table);
	for (i = 0; i < l->n_announced; i++)
		if (!lb_announce_in(now, n, &l->announced[i])) {
			const char *why = withheld_reason(l, ns, &l->announced[i]);

			lb_warn("withdrawing %s: %s", lb_format_ip(&l->announced[i], a),
				why ? why : "?");
		}
}

static bool holds_claim(const struct lbd *l, const struct lb_settings *s)
{
	return l->claim_fd >= 0 && l->claim_table == s->announce_table &&
	       l->claim_protocol == (uint8_t)s->announce_protocol;
}

int lbd_node_claim_prepare(struct lbd *l, const struct lb_settings *next, int *fd, char *err,
			   size_t errlen)
{
	uint8_t proto = (uint8_t)next->announce_protocol;

	*fd = -1;
	if (!next->announce_table || holds_claim(l, next))
		return 0;
	*fd = lb_announce_claim(next->announce_table, proto);
	if (*fd == -EADDRINUSE)
		return lb_errf(err, errlen, *fd,
			       "settings.announce-table %u with announce-protocol %u: another lbd "
			       "in this network namespace announces there already, and each would "
			       "withdraw the other's routes; give this instance another "
			       "settings.announce-protocol (e.g. %u) or another "
			       "settings.announce-table",
			       next->announce_table, proto, proto == 255 ? 254 : proto + 1);
	if (*fd < 0)
		return lb_errf(err, errlen, *fd,
			       "cannot claim routing table %u, protocol %u for announcements: %s",
			       next->announce_table, proto, strerror(-*fd));
	return 0;
}

void lbd_node_claim_commit(struct lbd *l, int fd)
{
	const struct lb_settings *s = &l->cfg->settings;

	if (s->announce_table && holds_claim(l, s))
		return;
	lbd_node_unclaim(l);
	if (fd < 0)
		return;
	l->claim_fd = fd;
	l->claim_table = s->announce_table;
	l->claim_protocol = (uint8_t)s->announce_protocol;
}

void lbd_node_claim_abort(int fd)
{
	if (fd >= 0)
		close(fd);
}

void lbd_node_unclaim(struct lbd *l)
{
	if (l->claim_fd >= 0)
		close(l->claim_fd);
	l->claim_fd = -1;
	l->claim_table = 0;
	l->claim_protocol = 0;
}

void lbd_node_withdraw(struct lbd *l)
{
	char err[LB_ERR_MAX];

	if (l->claim_fd >= 0 &&
	    lb_announce_sync(l->claim_table, l->claim_protocol, NULL, 0, err, sizeof(err)))
		lb_warn("%s", err);
	else if (l->claim_fd >= 0 && l->n_announced)
		lb_warn("withdrew the announcements in routing table %u", l->claim_table);
	lbd_node_unclaim(l);
	free(l->announced);
	l->announced = NULL;
	l->n_announced = 0;
}

int lbd_node_sync(struct lbd *l, bool repair, char *err, size_t errlen)
{
	const struct lb_settings *s = &l->cfg->settings;
	struct lb_node_state ns;
	char old_err[LB_ERR_MAX];
	struct lb_ip *want;
	size_t n;
	bool moved;
	int ret;

	if (!l->dp || l->handed_over || l->lost)
		return 0; /* what is announced is the next lbd's, or goes with the datapath */
	if (s->announce_table && !holds_claim(l, s))
		return lb_errf(err, errlen, -ENOLCK,
			       "not announcing: this lbd does not hold routing table %u, protocol "
			       "%u",
			       s->announce_table, s->announce_protocol);
	ret = lb_dataplane_node_get(l->dp, &ns);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot read the node's state (lb_owner): %s",
			       strerror(-ret));
	moved = ns.announce_table != s->announce_table ||
		(s->announce_table && ns.announce_protocol != s->announce_protocol);
	ret = wanted(l, &ns, &want, &n);
	if (ret)
		return lb_errf(err, errlen, ret,
			       "out of memory: the announcements stay as they are");
	n = lb_announce_set(want, n);
	if (!repair && !moved && n == l->n_announced &&
	    (!n || !memcmp(want, l->announced, n * sizeof(*want)))) {
		free(want);
		return 0;
	}
	/*
	 * The table moved (or announcing stopped): nothing stays behind in the old one,
	 * unless another lbd announces there now (its routes, not ours).
	 */
	if (moved && ns.announce_table) {
		ret = lb_announce_withdraw_unclaimed(ns.announce_table, ns.announce_protocol,
						     old_err, sizeof(old_err));
		if (ret < 0)
			lb_warn("%s", old_err);
		else if (ret)
			lb_warn("routing table %u, protocol %u: left alone, another lbd in this "
				"network namespace announces there now",
				ns.announce_table, ns.announce_protocol);
	}
	if (s->announce_table &&
	    (ret = lb_announce_sync(s->announce_table, (uint8_t)s->announce_protocol, want, n, err,
				    errlen))) {
		free(want);
		return ret;
	}
	log_changes(l, &ns, want, n);
	free(l->announced);
	l->announced = want;
	l->n_announced = n;
	if (moved) {
		ns.announce_table = s->announce_table;
		ns.announce_protocol = (uint8_t)s->announce_protocol;
		ret = lb_dataplane_node_set(l->dp, &ns);
		if (ret)
			lb_warn("cannot record the announce table in lb_owner: %s", strerror(-ret));
	}
	return 0;
}

void lbd_node_update(struct lbd *l, bool repair)
{
	char err[LB_ERR_MAX];

	if (lbd_node_sync(l, repair, err, sizeof(err)))
		lb_err("%s", err);
}

void lbd_node_check(struct lbd *l)
{
	char err[LB_ERR_MAX], list[256] = "", a[LB_ADDR_STR_MAX];
	struct lb_ip *have = NULL;
	size_t n_have, i, missing = 0, len = 0;
	uint32_t table;

	if (!l->cfg || !l->n_announced || l->handed_over || l->lost ||
	    !holds_claim(l, &l->cfg->settings))
		return;
	table = l->claim_table;
	if (lb_announce_list(table, l->claim_protocol, &have, &n_have))
		return; /* the next tick asks again */
	for (i = 0; i < l->n_announced; i++) {
		if (lb_announce_in(have, n_have, &l->announced[i]))
			continue;
		if (missing++ < 8 && len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
						missing > 1 ? " " : "",
						lb_format_ip(&l->announced[i], a));
	}
	free(have);
	if (!missing)
		return;
	if (lbd_node_sync(l, true, err, sizeof(err))) {
		if (!l->repair_failed)
			lb_err("%zu route%s announced in routing table %u %s removed by something "
			       "else (%s%s), and cannot be added back (trying every second): %s",
			       missing, missing == 1 ? "" : "s", table,
			       missing == 1 ? "was" : "were", list, missing > 8 ? " ..." : "", err);
		l->repair_failed = true;
		return;
	}
	l->repair_failed = false;
	lb_warn("re-added %zu route%s that something else removed from routing table %u: %s%s",
		missing, missing == 1 ? "" : "s", table, list, missing > 8 ? " ..." : "");
}

int lbd_node_set_maintenance(struct lbd *l, bool on, char *err, size_t errlen)
{
	char why[LB_ERR_MAX];
	struct lb_node_state ns;
	int ret;

	if (on && !l->cfg->settings.announce_table)
		return lb_errf(err, errlen, -ENOTCONN,
			       "nothing to drain: settings.announce-table is not set, so this node "
			       "announces no address and the router keeps sending it flows; set "
			       "settings.announce-table (docs/scale-out.md), or take the node out "
			       "of the balancing where it is configured");
	ret = lb_dataplane_node_get(l->dp, &ns);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot read the node's state (lb_owner): %s",
			       strerror(-ret));
	if (ns.maintenance != on) {
		ns.maintenance = on;
		ret = lb_dataplane_node_set(l->dp, &ns);
		if (ret)
			return lb_errf(err, errlen, ret,
				       "cannot record the node's state (lb_owner): %s",
				       strerror(-ret));
		lb_warn("node %s maintenance", on ? "enters" : "leaves");
	}
	if (on) /* node-status now counts what is open from here on, not a snapshot before */
		lbd_live_recount(l);
	/* The flag is kept either way; the routes follow at the next change or reload. */
	ret = lbd_node_sync(l, true, why, sizeof(why));
	if (ret)
		return lb_errf(err, errlen, ret, "the node is %s maintenance, but %s: %s",
			       on ? "in" : "out of",
			       on ? "its addresses may still be announced"
				  : "its addresses are not announced yet",
			       why);
	return 0;
}

json_t *lbd_node_json(struct lbd *l)
{
	const struct lb_settings *s = &l->cfg->settings;
	const struct lb_live *live = lbd_live(l, true);
	json_t *announced = json_array(), *withheld = json_array(), *r;
	char a[LB_ADDR_STR_MAX];
	struct lb_node_state ns = {0};
	struct lb_ip *have = NULL;
	size_t n_have = 0, i, k;

	lb_dataplane_node_get(l->dp, &ns);
	/* A drain's poll may reuse a count, but never its last: "0 flows" must be of now,
	 * or a flow opened since the count (an ECMP straggler) ends the drain with it open. */
	if (ns.maintenance && live && !live->bound) {
		lbd_live_recount(l);
		live = lbd_live(l, true);
	}
	if (s->announce_table &&
	    lb_announce_list(s->announce_table, (uint8_t)s->announce_protocol, &have, &n_have))
		n_have = 0;
	for (i = 0; i < n_have; i++)
		json_array_append_new(announced, json_string(lb_format_ip(&have[i], a)));
	for (i = 0; i < l->cfg->n_proxies; i++) {
		const struct lb_proxy_cfg *p = &l->cfg->proxies[i];
		const char *why;

		if (!p->has_address || lb_announce_in(have, n_have, &p->address))
			continue;
		for (k = 0; k < i; k++) /* once per address */
			if (l->cfg->proxies[k].has_address &&
			    lb_ip_eq(&l->cfg->proxies[k].address, &p->address))
				break;
		if (k < i)
			continue;
		why = withheld_reason(l, &ns, &p->address);
		if (!why && lb_announce_in(l->announced, l->n_announced, &p->address))
			why = "removed from the routing table by something other than lbd; lbd "
			      "adds it back within a second";
		else if (!why)
			why = "lbd could not add it to the routing table (see its log)";
		json_array_append_new(withheld,
				      json_pack("{s:s, s:s}", "address",
						lb_format_ip(&p->address, a), "reason", why));
	}
	free(have);
	r = json_pack("{s:s, s:o, s:o, s:o, s:I}", "state",
		      ns.maintenance ? "maintenance" : "active", "announce-table",
		      s->announce_table ? json_integer(s->announce_table) : json_null(),
		      "announced", announced, "withheld", withheld, "flows",
		      (json_int_t)(live ? live->bound : 0));
	return r;
}
