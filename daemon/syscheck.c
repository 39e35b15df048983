// SPDX-License-Identifier: MIT
#include "syscheck.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

#include "hc_tls.h"
#include "ifaddr.h"
#include "lb_addr.h"
#include "route.h"

/* A target's first place in the configuration: proxy, group, index in the group. */
struct place {
	struct lb_ip addr;
	size_t proxy, group, k, order;
};

static void finding(FILE *out, size_t *count, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void finding(FILE *out, size_t *count, const char *kind, const char *fmt, ...)
{
	va_list ap;

	(*count)++;
	fprintf(out, "%s: ", kind);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

#define ERROR(c, out, ...)   finding(out, &(c)->errors, "error", __VA_ARGS__)
#define WARNING(c, out, ...) finding(out, &(c)->warnings, "warning", __VA_ARGS__)

static bool sysctl_off(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = 1;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v == 0;
}

/* Does @cfg balance over any target of the family (IPv6 when @v6)? */
static bool has_family(const struct lb_config *cfg, bool v6)
{
	size_t p, g, k;

	for (p = 0; p < cfg->n_proxies; p++)
		for (g = 0; g < lb_proxy_n_groups(&cfg->proxies[p]); g++)
			for (k = 0; k < lb_proxy_group(&cfg->proxies[p], g)->n; k++)
				if (lb_ip_is_v4(&lb_proxy_group(&cfg->proxies[p], g)->t[k].addr) !=
				    v6)
					return true;
	return false;
}

const char *lb_syscheck_forwarding_off(const struct lb_config *cfg, bool v6)
{
	if (!v6)
		return has_family(cfg, false) && sysctl_off("/proc/sys/net/ipv4/ip_forward")
			       ? "net.ipv4.ip_forward is 0: packets for backends on other hosts "
				 "will be dropped by the kernel (sysctl -w net.ipv4.ip_forward=1)"
			       : NULL;
	return has_family(cfg, true) && sysctl_off("/proc/sys/net/ipv6/conf/all/forwarding")
		       ? "net.ipv6.conf.all.forwarding is 0: IPv6 packets for backends on other "
			 "hosts will be dropped by the kernel (sysctl -w "
			 "net.ipv6.conf.all.forwarding=1)"
		       : NULL;
}

/* Does interface @idx have @addr, and which interface has it otherwise (0: none)? */
static bool has_addr(const struct lb_ifaddr_table *t, unsigned int idx, const struct lb_ip *addr,
		     unsigned int *elsewhere)
{
	size_t i;

	*elsewhere = 0;
	for (i = 0; i < t->n; i++) {
		if (!lb_ip_eq(&t->e[i].addr, addr))
			continue;
		if (t->e[i].ifindex == idx)
			return true;
		*elsewhere = t->e[i].ifindex;
	}
	return false;
}

static bool iface_has_any(const struct lb_ifaddr_table *t, unsigned int idx)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->e[i].ifindex == idx)
			return true;
	return false;
}

/* The interfaces of every listener, and their addresses. */
static void check_listeners(const struct lb_config *cfg, const struct lb_ifaddr_table *addrs,
			    FILE *out, struct lb_syscheck_counts *c)
{
	char a[LB_ADDR_STR_MAX], other[IF_NAMESIZE];
	size_t p, i;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		unsigned int idx[LB_MAX_IFACES_PER_PROXY] = {0}, elsewhere = 0;
		bool found = false, any = false;

		for (i = 0; i < pc->n_ifaces; i++) {
			idx[i] = if_nametoindex(pc->ifaces[i]);
			if (!idx[i]) {
				ERROR(c, out,
				      "proxies[%zu].listen.interfaces[%zu]: interface %s does not "
				      "exist (lbd would refuse this configuration)",
				      p, i, pc->ifaces[i]);
				continue;
			}
			any = true;
			if (!pc->has_address && addrs && !iface_has_any(addrs, idx[i]))
				WARNING(c, out,
					"proxies[%zu].listen.interfaces[%zu]: %s has no address; "
					"its listener starts when one is added",
					p, i, pc->ifaces[i]);
			if (pc->has_address && addrs &&
			    has_addr(addrs, idx[i], &pc->address, &elsewhere))
				found = true;
		}
		if (!pc->has_address || !addrs || !any || found)
			continue;
		lb_format_ip(&pc->address, a);
		if (elsewhere && if_indextoname(elsewhere, other))
			WARNING(c, out,
				"proxies[%zu].listen.address: %s is on %s, not on the listening "
				"interface%s; clients' packets for it arrive there only if they are "
				"routed to it",
				p, a, other, pc->n_ifaces > 1 ? "s" : "");
		else
			WARNING(c, out,
				"proxies[%zu].listen.address: %s is not an address of the listening "
				"interface%s; clients' packets for it arrive there only if they are "
				"routed to it",
				p, a, pc->n_ifaces > 1 ? "s" : "");
	}
}

/* "default-target[1]", "source-routes[0].target", "sni-routes[2].targets[0]" of @pl. */
static const char *place_path(const struct lb_config *cfg, const struct place *pl, char *buf,
			      size_t len)
{
	const struct lb_proxy_cfg *pc = &cfg->proxies[pl->proxy];
	const struct lb_group_cfg *g = lb_proxy_group(pc, pl->group);
	char group[64];
	int n;

	if (pl->group == 0)
		snprintf(group, sizeof(group), "default-target");
	else if (pl->group <= pc->n_routes)
		snprintf(group, sizeof(group), "source-routes[%zu].%s", pl->group - 1,
			 g->n > 1 ? "targets" : "target");
	else
		snprintf(group, sizeof(group), "sni-routes[%zu].%s", pl->group - 1 - pc->n_routes,
			 g->n > 1 ? "targets" : "target");
	n = snprintf(buf, len, "proxies[%zu].%s", pl->proxy, group);
	if (g->n > 1 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "[%zu]", pl->k);
	return buf;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	int d = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (d)
		return d;
	return (x->order > y->order) - (x->order < y->order);
}

static int cmp_order(const void *a, const void *b)
{
	const struct place *x = a, *y = b;

	return (x->order > y->order) - (x->order < y->order);
}

/* Every target's address once, at its first place, in the order of the configuration. */
static struct place *distinct_targets(const struct lb_config *cfg, size_t *n_out)
{
	size_t p, g, k, n = 0, cap = 0, u;
	struct place *v = NULL, *grown;

	for (p = 0; p < cfg->n_proxies; p++)
		for (g = 0; g < lb_proxy_n_groups(&cfg->proxies[p]); g++)
			for (k = 0; k < lb_proxy_group(&cfg->proxies[p], g)->n; k++) {
				if (n == cap) {
					cap = cap ? 2 * cap : 64;
					grown = realloc(v, cap * sizeof(*v));
					if (!grown) {
						free(v);
						return NULL;
					}
					v = grown;
				}
				v[n] = (struct place){
					lb_proxy_group(&cfg->proxies[p], g)->t[k].addr, p, g, k, n};
				n++;
			}
	if (!n) {
		*n_out = 0;
		return v;
	}
	qsort(v, n, sizeof(*v), cmp_addr);
	for (u = 0, k = 0; k < n; k++)
		if (!u || !lb_ip_eq(&v[k].addr, &v[u - 1].addr))
			v[u++] = v[k];
	qsort(v, u, sizeof(*v), cmp_order);
	*n_out = u;
	return v;
}

/*
 * A route to every target, as `ip route get` would find it. Returns whether some target is
 * on another host (or could not be looked up): then forwarding matters.
 */
static bool check_routes(const struct lb_config *cfg, FILE *out, struct lb_syscheck_counts *c)
{
	bool remote = false;
	char path[160], a[LB_ADDR_STR_MAX];
	struct lb_route r;
	struct place *v;
	size_t n = 0, i;
	int ret;

	v = distinct_targets(cfg, &n);
	if (!v) {
		WARNING(c, out, "out of memory: the targets' routes were not checked");
		return true;
	}
	for (i = 0; i < n; i++) {
		ret = lb_route_get(&v[i].addr, &r);
		remote |= ret || r.type != RTN_LOCAL;
		place_path(cfg, &v[i], path, sizeof(path));
		lb_format_ip(&v[i].addr, a);
		if (ret == -ENETUNREACH || ret == -EHOSTUNREACH || ret == -EACCES || ret == -EINVAL)
			WARNING(c, out,
				"%s: no route to %s (%s); connections sent to it will fail (ip "
				"route get %s)",
				path, a, strerror(-ret), a);
		else if (ret)
			WARNING(c, out, "%s: cannot look up the route to %s: %s", path, a,
				strerror(-ret));
		else if (r.type != RTN_UNICAST && r.type != RTN_LOCAL)
			WARNING(c, out,
				"%s: the route to %s is not a unicast route (type %u); connections "
				"sent to it will fail (ip route get %s)",
				path, a, r.type, a);
	}
	free(v);
	return remote;
}

/* dsr only reaches targets on a directly connected segment: no router, not this host. */
static void check_dsr_targets(const struct lb_config *cfg, FILE *out, struct lb_syscheck_counts *c)
{
	char path[160], a[LB_ADDR_STR_MAX], gw[LB_ADDR_STR_MAX];
	struct lb_route r;
	size_t p, g, t;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		if (pc->forwarding != LB_FWD_DSR)
			continue;
		lb_config_proxy_path(pc->name, p, LB_CFG_BY_INDEX, "forwarding", path,
				     sizeof(path));
		for (g = 0; g < lb_proxy_n_groups(pc); g++)
			for (t = 0; t < lb_proxy_group(pc, g)->n; t++) {
				const struct lb_ip *ip = &lb_proxy_group(pc, g)->t[t].addr;

				if (lb_route_get(ip, &r))
					continue; /* check_routes says so */
				lb_format_ip(ip, a);
				if (r.type == RTN_LOCAL)
					WARNING(c, out,
						"%s: dsr target %s is this host: dsr sends frames "
						"to other hosts on the segment only",
						path, a);
				else if (r.has_gateway)
					WARNING(c, out,
						"%s: dsr target %s is reached through the router "
						"%s: dsr only reaches targets on a directly "
						"connected segment (its packets are dropped, "
						"drop-dsr-no-route)",
						path, a, lb_format_ip(&r.gateway, gw));
			}
	}
}

/* A full-nat source address must come back here: the targets answer to it. */
static void check_snat_one(const struct lb_ip *ip, const char *path, FILE *out,
			   struct lb_syscheck_counts *c)
{
	char a[LB_ADDR_STR_MAX];
	struct lb_route r;

	if (!lb_route_get(ip, &r) && r.type == RTN_LOCAL)
		return;
	WARNING(c, out,
		"%s: %s is not an address of this host: the targets answer to it, and their "
		"replies reach lbd only if the network routes that address here",
		path, lb_format_ip(ip, a));
}

static void check_snat(const struct lb_config *cfg, FILE *out, struct lb_syscheck_counts *c)
{
	const struct lb_snat_cfg *s = &cfg->settings.snat;
	char path[160];
	size_t p;
	bool fullnat = false;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		if (pc->forwarding != LB_FWD_FULLNAT)
			continue;
		fullnat |= !pc->snat.has_v4 || !pc->snat.has_v6;
		lb_config_proxy_path(pc->name, p, LB_CFG_BY_INDEX, "snat-address", path,
				     sizeof(path));
		if (pc->snat.has_v4)
			check_snat_one(&pc->snat.v4, path, out, c);
		if (pc->snat.has_v6)
			check_snat_one(&pc->snat.v6, path, out, c);
	}
	if (fullnat && s->has_v4)
		check_snat_one(&s->v4, "settings.snat-address", out, c);
	if (fullnat && s->has_v6)
		check_snat_one(&s->v6, "settings.snat-address", out, c);
}

struct lb_syscheck_counts lb_syscheck(const struct lb_config *cfg, FILE *out)
{
	struct lb_syscheck_counts c = {0};
	struct lb_ifaddr_table addrs = {0};
	char err[LB_ERR_MAX];
	bool remote;
	int ret;

	ret = lb_ifaddr_table_read(&addrs);
	if (ret)
		WARNING(&c, out, "cannot read the interfaces' addresses: %s", strerror(-ret));
	check_listeners(cfg, ret ? NULL : &addrs, out, &c);
	lb_ifaddr_table_clear(&addrs);
	remote = check_routes(cfg, out, &c);
	check_dsr_targets(cfg, out, &c);
	check_snat(cfg, out, &c);
	if (lb_hc_tls_check(cfg, err, sizeof(err)))
		ERROR(&c, out, "%s (lbd would refuse this configuration)", err);
	for (int v6 = 0; remote && v6 <= 1; v6++) {
		const char *why = lb_syscheck_forwarding_off(cfg, v6);

		if (why)
			WARNING(&c, out, "%s", why);
	}
	return c;
}
