// SPDX-License-Identifier: MIT
#include "adopt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
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

/* Mark the weights of @n backends at @b: bit 0 of @seen[id] some 0, bit 1 some above 0. */
static void mark_weights(const struct lb_backend *b, size_t n, uint8_t *seen)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!lb_ip_is_zero(&b[i].addr) && b[i].target_id < LB_MAX_TARGETS)
			seen[b[i].target_id] |= b[i].weight ? 2 : 1;
}

/* The backends of large group @gid, generation @gen, from its set in lb_gsets. */
static int mark_set(struct lb_dataplane *dp, __u32 gid, __u32 gen, uint8_t *seen)
{
	__u32 key = LB_GSET_KEY(gid, gen), inner_id, i;
	struct lb_gset_head head;
	struct lb_gset_backend gb;
	int fd, ret = 0;

	if (bpf_map_lookup_elem(lb_dataplane_fd_gsets(dp), &key, &inner_id))
		return 0; /* between two generations: the next sync writes it */
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	i = 0;
	if (bpf_map_lookup_elem(fd, &i, &head)) {
		ret = -errno;
		goto out;
	}
	for (i = 1; i <= head.n_backends && i <= LB_MAX_TARGETS_PER_GROUP; i++) {
		if (bpf_map_lookup_elem(fd, &i, &gb)) {
			ret = -errno;
			goto out;
		}
		mark_weights(&gb.b, 1, seen);
	}
out:
	close(fd);
	return ret;
}

int lb_adopt_weightless(struct lb_dataplane *dp, uint8_t *weightless)
{
	uint8_t *seen = calloc(LB_MAX_TARGETS, 1);
	__u32 gid, *prev = NULL, i;
	struct lb_group g;
	int ret = 0;

	if (!seen)
		return -ENOMEM;
	while (!ret && !bpf_map_get_next_key(lb_dataplane_fd_groups(dp), prev, &gid)) {
		prev = &gid;
		if (bpf_map_lookup_elem(lb_dataplane_fd_groups(dp), &gid, &g))
			continue;
		if (g.n_backends <= LB_GROUP_INLINE)
			mark_weights(g.backends, g.n_backends, seen);
		else
			ret = mark_set(dp, gid, g.table_gen & 1, seen);
	}
	for (i = 0; !ret && i < LB_MAX_TARGETS; i++)
		weightless[i] = seen[i] == 1;
	free(seen);
	return ret;
}
