// SPDX-License-Identifier: MIT
/*
 * lb_config_fwd.c - the rules of the forwarding modes (issue 18): "forwarding",
 * "snat-address" per proxy and in settings, settings.snat-port-min/max.
 */
#include <string.h>

#include "lb_addr.h"
#include "lb_config_priv.h"

/* Each address of @s is of the family its slot says and usable. */
static int check_snat(struct ctx *c, const struct lb_snat_cfg *s, const char *path)
{
	char a[LB_ADDR_STR_MAX];
	int ret;

	if (s->has_v4) {
		if (!lb_ip_is_v4(&s->v4))
			return lb_cfg_fail(c, path, "%s is not an IPv4 address",
					   lb_format_ip(&s->v4, a));
		ret = lb_cfg_check_usable(c, path, &s->v4);
		if (ret)
			return ret;
	}
	if (s->has_v6) {
		if (lb_ip_is_v4(&s->v6))
			return lb_cfg_fail(c, path, "%s is not an IPv6 address",
					   lb_format_ip(&s->v6, a));
		return lb_cfg_check_usable(c, path, &s->v6);
	}
	return 0;
}

int lb_cfg_check_snat_settings(struct ctx *c, const struct lb_settings *s)
{
	int ret = check_snat(c, &s->snat, "settings.snat-address");

	if (ret)
		return ret;
	if (s->snat_port_min < 1024 || s->snat_port_min > 65535)
		return lb_cfg_fail_range(c, "settings.snat-port-min", s->snat_port_min, 1024,
					 65535);
	if (s->snat_port_max < 1024 || s->snat_port_max > 65535)
		return lb_cfg_fail_range(c, "settings.snat-port-max", s->snat_port_max, 1024,
					 65535);
	if (s->snat_port_min > s->snat_port_max)
		return lb_cfg_fail(c, "settings.snat-port-max",
				   "%u is below settings.snat-port-min (%u): the range is empty",
				   s->snat_port_max, s->snat_port_min);
	return 0;
}

/* DSR forwards the packet unchanged but for its MACs: the target must listen on our port. */
static int check_dsr_ports(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char t[LB_TARGET_STR_MAX], sub[JPATH_MAX];
	size_t g, i;

	for (g = 0; g < lb_proxy_n_groups(p); g++) {
		const struct lb_group_cfg *gc = lb_proxy_group(p, g);

		for (i = 0; i < gc->n; i++) {
			if (gc->t[i].port == p->port && !lb_ip_is_zero(&gc->t[i].addr))
				continue;
			lb_cfg_pkey(sub, path, "forwarding");
			if (lb_ip_is_zero(&gc->t[i].addr))
				return lb_cfg_fail(c, sub, "dsr needs a target address");
			return lb_cfg_fail(c, sub,
					   "dsr forwards only the MAC: target %s has port %u, "
					   "which must equal the listener port %u",
					   lb_format_target(&gc->t[i].addr, gc->t[i].port, t),
					   gc->t[i].port, p->port);
		}
	}
	return 0;
}

int lb_cfg_check_forwarding(struct ctx *c, const struct lb_proxy_cfg *p, const char *path)
{
	char sub[JPATH_MAX];
	int ret;

	if (p->forwarding > LB_FWD_DSR)
		return lb_cfg_fail(c, lb_cfg_pkey(sub, path, "forwarding"),
				   "unknown forwarding mode %u", p->forwarding);
	if (p->snat.has_v4 || p->snat.has_v6) {
		lb_cfg_pkey(sub, path, "snat-address");
		if (p->forwarding != LB_FWD_FULLNAT)
			return lb_cfg_fail(c, sub,
					   "only applies with \"forwarding\": \"full-nat\" (this "
					   "proxy forwards with %s)",
					   lb_forwarding_name(p->forwarding));
		ret = check_snat(c, &p->snat, sub);
		if (ret)
			return ret;
	}
	if (p->forwarding == LB_FWD_NAT)
		return 0;
	if (p->n_sni_routes)
		return lb_cfg_fail(c, lb_cfg_pkey(sub, path, "forwarding"),
				   "%s is not possible with sni-routes: lbd's SNI acceptor "
				   "terminates TCP in user space, which only nat supports",
				   lb_forwarding_name(p->forwarding));
	if (p->forwarding == LB_FWD_DSR)
		return check_dsr_ports(c, p, path);
	return 0;
}

/*
 * A full-nat reply arrives for (snat address, port of the range): a listener on such a port
 * would take it for a new client flow (listeners are looked up first).
 */
int lb_cfg_check_snat_ports(struct ctx *c, const struct lb_config *cfg, size_t i)
{
	const struct lb_settings *s = &cfg->settings;
	const struct lb_proxy_cfg *p = &cfg->proxies[i];
	char path[JPATH_MAX];
	bool any = false;
	size_t j;

	for (j = 0; j < cfg->n_proxies; j++)
		any |= cfg->proxies[j].forwarding == LB_FWD_FULLNAT;
	if (!any || p->port < s->snat_port_min || p->port > s->snat_port_max)
		return 0;
	lb_config_proxy_path(p->name, i, c->naming, "listen.port", path, sizeof(path));
	return lb_cfg_fail(c, path,
			   "%u lies in the full-nat source port range %u-%u "
			   "(settings.snat-port-min/max), where replies of full-nat flows arrive: "
			   "move the listener or the range",
			   p->port, s->snat_port_min, s->snat_port_max);
}
