// SPDX-License-Identifier: MIT
#include "snat.h"

#include <errno.h>
#include <string.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "route.h"

/* The proxy's first target of the family, in group order. */
static const struct lb_target_cfg *first_target(const struct lb_proxy_cfg *pc, bool v4)
{
	size_t g, i;

	for (g = 0; g < lb_proxy_n_groups(pc); g++)
		for (i = 0; i < lb_proxy_group(pc, g)->n; i++)
			if (lb_ip_is_v4(&lb_proxy_group(pc, g)->t[i].addr) == v4)
				return &lb_proxy_group(pc, g)->t[i];
	return NULL;
}

int lb_snat_source(const struct lb_proxy_cfg *pc, const struct lb_settings *s, bool v4,
		   const struct lb_ifaddr_table *addrs, struct lb_ip *out, char *err, size_t errlen)
{
	const struct lb_target_cfg *t;
	char a[LB_ADDR_STR_MAX];
	struct lb_route r;
	size_t i;
	int ret;

	if (v4 ? pc->snat.has_v4 : pc->snat.has_v6) {
		*out = v4 ? pc->snat.v4 : pc->snat.v6;
		return 0;
	}
	if (v4 ? s->snat.has_v4 : s->snat.has_v6) {
		*out = v4 ? s->snat.v4 : s->snat.v6;
		return 0;
	}
	t = first_target(pc, v4);
	if (!t)
		return lb_errf(err, errlen, -EINVAL,
			       "proxy \"%s\": no IPv%d target to take a full-nat source address "
			       "from: set snat-address",
			       pc->name, v4 ? 4 : 6);
	ret = lb_route_get(&t->addr, &r);
	if (ret || !r.oif)
		return lb_errf(err, errlen, ret ? ret : -ENETUNREACH,
			       "proxy \"%s\": no route towards %s to take a full-nat source "
			       "address from (%s): set snat-address",
			       pc->name, lb_format_ip(&t->addr, a),
			       ret ? strerror(-ret) : "no interface");
	for (i = 0; i < addrs->n; i++)
		if (addrs->e[i].ifindex == r.oif && lb_ip_is_v4(&addrs->e[i].addr) == v4) {
			*out = addrs->e[i].addr;
			return 0;
		}
	return lb_errf(err, errlen, -EADDRNOTAVAIL,
		       "proxy \"%s\": the interface towards %s has no IPv%d address for "
		       "full-nat: set snat-address",
		       pc->name, lb_format_ip(&t->addr, a), v4 ? 4 : 6);
}
