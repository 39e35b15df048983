// SPDX-License-Identifier: MIT
#include "adopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Append (key, id) to growable parallel arrays. */
static int push_key(uint8_t **keys, uint32_t **ids, size_t *n, size_t *cap, const void *key,
		    size_t key_size, uint32_t id)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		uint8_t *k = realloc(*keys, c * key_size);
		uint32_t *i;

		if (!k)
			return -ENOMEM;
		*keys = k;
		i = realloc(*ids, c * sizeof(**ids));
		if (!i)
			return -ENOMEM;
		*ids = i;
		*cap = c;
	}
	memcpy(*keys + *n * key_size, key, key_size);
	(*ids)[(*n)++] = id;
	return 0;
}

int lb_ids_adopt(struct lb_ids *ids, struct lb_dataplane *dp)
{
	uint8_t *keys = NULL;
	uint32_t *idv = NULL;
	size_t n = 0, cap = 0;
	__u32 i;
	int ret = 0;

	/* Proxies: lb_pnames[id] = name. */
	for (i = 0; i < LB_MAX_PROXIES && !ret; i++) {
		struct lb_proxy_meta pm;

		if (bpf_map_lookup_elem(lb_dataplane_fd_pnames(dp), &i, &pm) || !pm.name[0])
			continue;
		pm.name[LB_PROXY_NAME_MAX - 1] = '\0';
		ret = push_key(&keys, &idv, &n, &cap, pm.name, LB_PROXY_NAME_MAX, i);
	}
	if (!ret)
		ret = lb_idmap_load(&ids->proxies, keys, idv, n);
	free(keys);
	free(idv);
	keys = NULL;
	idv = NULL;
	n = cap = 0;

	/* Targets: lb_tnames[id] = (proxy, addr, port). */
	for (i = 0; i < LB_MAX_TARGETS && !ret; i++) {
		struct lb_target_meta tm;
		struct lb_target_key tk = {};

		if (bpf_map_lookup_elem(lb_dataplane_fd_tnames(dp), &i, &tm) || !tm.in_use)
			continue;
		tk.proxy_id = tm.proxy_id;
		tk.addr = tm.addr;
		tk.port = ntohs(tm.port);
		ret = push_key(&keys, &idv, &n, &cap, &tk, sizeof(tk), i);
	}
	if (!ret)
		ret = lb_idmap_load(&ids->targets, keys, idv, n);

	/* Groups: each listener names its proxy's default group, each route its group. */
	n = 0;
	if (!ret) {
		struct lb_listen_key lk, *lprev = NULL;
		struct lb_listen_val lv;
		struct lb_group grp;

		while (!ret && !bpf_map_get_next_key(lb_dataplane_fd_listen(dp), lprev, &lk)) {
			struct lb_group_key gk = {.kind = LB_GK_DEFAULT};

			lprev = &lk;
			if (bpf_map_lookup_elem(lb_dataplane_fd_listen(dp), &lk, &lv))
				continue;
			gk.proxy_id = lv.proxy_id;
			/* An SNI proxy's TCP listeners point at its acceptor group instead. */
			if (!bpf_map_lookup_elem(lb_dataplane_fd_groups(dp), &lv.default_group,
						 &grp) &&
			    grp.n_backends == 1 && lb_ip_is_zero(&grp.backends[0].addr))
				gk.kind = LB_GK_ACCEPTOR;
			ret = push_key(&keys, &idv, &n, &cap, &gk, sizeof(gk), lv.default_group);
		}
	}
	if (!ret) {
		struct lb_route_key rk, *rprev = NULL;
		struct lb_route_val rv;

		while (!ret && !bpf_map_get_next_key(lb_dataplane_fd_routes(dp), rprev, &rk)) {
			struct lb_group_key gk = {.kind = LB_GK_SOURCE};

			rprev = &rk;
			if (bpf_map_lookup_elem(lb_dataplane_fd_routes(dp), &rk, &rv))
				continue;
			gk.proxy_id = rk.proxy_id;
			gk.addr = rk.addr;
			gk.prefix_len = rk.prefixlen - 32;
			ret = push_key(&keys, &idv, &n, &cap, &gk, sizeof(gk), rv.group);
		}
	}
	if (!ret)
		ret = lb_idmap_load(&ids->groups, keys, idv, n);
	free(keys);
	free(idv);
	/*
	 * Conntrack may carry ids the names did not (a datapath whose lbd never said): until a
	 * scan says otherwise, every other proxy and target id counts as in use.
	 */
	if (!ret)
		ret = lb_idmap_retire_rest(&ids->proxies, now_ns());
	if (!ret)
		ret = lb_idmap_retire_rest(&ids->targets, now_ns());
	if (!ret)
		lb_info("adopted %zu proxies, %zu targets and %zu groups from the pinned maps",
			ids->proxies.n, ids->targets.n, ids->groups.n);
	return ret;
}
