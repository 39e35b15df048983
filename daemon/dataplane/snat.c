// SPDX-License-Identifier: MIT
#include "snat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lb_addr.h"
#include "lb_log.h"
#include "route.h"

bool lb_snat_configured(const struct lb_proxy_cfg *pc, const struct lb_settings *s, bool v4,
			struct lb_ip *out)
{
	if (v4 ? pc->snat.has_v4 : pc->snat.has_v6) {
		*out = v4 ? pc->snat.v4 : pc->snat.v6;
		return true;
	}
	if (v4 ? s->snat.has_v4 : s->snat.has_v6) {
		*out = v4 ? s->snat.v4 : s->snat.v6;
		return true;
	}
	return false;
}

/* The LB's address on the interface the route towards @dst leaves through. */
static int route_source(const struct lb_ip *dst, const struct lb_ifaddr_table *addrs,
			struct lb_ip *out)
{
	struct lb_route r;
	size_t i;
	int ret = lb_route_get(dst, &r);

	if (ret)
		return ret;
	if (!r.oif)
		return -ENETUNREACH;
	for (i = 0; i < addrs->n; i++)
		if (addrs->e[i].ifindex == r.oif &&
		    lb_ip_is_v4(&addrs->e[i].addr) == lb_ip_is_v4(dst)) {
			*out = addrs->e[i].addr;
			return 0;
		}
	return -EADDRNOTAVAIL;
}

int lb_snat_sync(int fd, const struct lb_model *m, const struct lb_ifaddr_table *addrs)
{
	struct lb_ip *v = calloc(LB_MAX_TARGETS, sizeof(*v));
	__u32 *keys = calloc(LB_MAX_TARGETS, sizeof(*keys));
	char a[LB_ADDR_STR_MAX];
	size_t p, g, t;
	__u32 i, count = LB_MAX_TARGETS;
	int ret = 0;

	if (!v || !keys) {
		free(v);
		free(keys);
		return -ENOMEM;
	}
	for (p = 0; p < m->n_proxies; p++) {
		const struct lb_model_proxy *mp = &m->proxies[p];
		struct lb_ip conf;

		if (mp->cfg->forwarding != LB_FWD_FULLNAT)
			continue;
		for (g = 0; g < mp->n_groups; g++)
			for (t = 0; t < mp->groups[g].n; t++) {
				const struct lb_model_target *mt = &mp->groups[g].t[t];
				bool v4 = lb_ip_is_v4(&mt->addr);
				int r;

				if (mt->target_id >= LB_MAX_TARGETS ||
				    lb_snat_configured(mp->cfg, &m->cfg->settings, v4, &conf) ||
				    !lb_ip_is_zero(&v[mt->target_id]))
					continue;
				r = route_source(&mt->addr, addrs, &v[mt->target_id]);
				if (r)
					lb_warn("proxy \"%s\": no address of this host towards %s "
						"to use as its full-nat source (%s): new flows to it "
						"are dropped; set snat-address",
						mp->cfg->name, lb_format_ip(&mt->addr, a),
						strerror(-r));
			}
	}
	for (i = 0; i < LB_MAX_TARGETS; i++)
		keys[i] = i;
	if (bpf_map_update_batch(fd, keys, v, &count, NULL))
		ret = -errno;
	free(v);
	free(keys);
	return ret;
}
