// SPDX-License-Identifier: MIT
#include "mapsync.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_addr.h"
#include "lb_log.h"

struct lb_target_key {
	uint32_t proxy_id;
	uint32_t addr;
	uint16_t port;
	uint16_t pad;
};

struct lb_group_key {
	uint32_t proxy_id;
	uint32_t addr;
	uint8_t prefix_len;
	uint8_t is_default;
	uint8_t pad[2];
};

/* Map entries as written: key immediately followed by value (no padding in between). */
struct listen_ent {
	struct lb_listen_key k;
	struct lb_listen_val v;
};

struct route_ent {
	struct lb_route_key k;
	struct lb_route_val v;
};

struct group_ent {
	__u32 k;
	struct lb_group v;
};

/* Everything one sync computes before it writes anything. */
struct desired {
	size_t n_proxies;
	char (*pkeys)[LB_PROXY_NAME_MAX];
	uint32_t *pids;
	uint8_t *pfresh;

	size_t n_targets;
	struct lb_target_key *tkeys;
	uint32_t *tids;
	uint8_t *tfresh;

	size_t n_groups;
	struct lb_group_key *gkeys;
	uint32_t *gids;
	struct group_ent *groups;

	size_t n_routes;
	struct route_ent *routes;

	size_t n_listeners, cap_listeners;
	struct listen_ent *listeners;

	uint16_t *acc_port; /* per proxy: its SNI acceptor's port, 0 when none */
	uint32_t *acc_gid;  /* per proxy: the acceptor group's id (valid when acc_port) */
};

void lb_ids_init(struct lb_ids *ids)
{
	lb_idmap_init(&ids->proxies, LB_PROXY_NAME_MAX, LB_MAX_PROXIES);
	lb_idmap_init(&ids->targets, sizeof(struct lb_target_key), LB_MAX_TARGETS);
	lb_idmap_init(&ids->groups, sizeof(struct lb_group_key), LB_MAX_GROUPS);
}

void lb_ids_release(struct lb_ids *ids)
{
	lb_idmap_release(&ids->proxies);
	lb_idmap_release(&ids->targets);
	lb_idmap_release(&ids->groups);
}

int64_t lb_ids_proxy(const struct lb_ids *ids, const char *name)
{
	char key[LB_PROXY_NAME_MAX] = {};

	snprintf(key, sizeof(key), "%s", name);
	return lb_idmap_find(&ids->proxies, key);
}

int64_t lb_ids_target(const struct lb_ids *ids, uint32_t proxy_id, uint32_t addr, uint16_t port)
{
	struct lb_target_key k = {.proxy_id = proxy_id, .addr = addr, .port = port};

	return lb_idmap_find(&ids->targets, &k);
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

struct load_ctx {
	const uint8_t *keys;
	size_t key_size;
};

/* By key, then by position: the first of repeated keys sorts first. */
static int cmp_load(const void *a, const void *b, void *arg)
{
	const struct load_ctx *c = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int r = memcmp(c->keys + ia * c->key_size, c->keys + ib * c->key_size, c->key_size);

	return r ? r : (ia > ib) - (ia < ib);
}

/*
 * Load @m with exactly these (key, id) pairs; out-of-range ids are skipped and of repeated
 * keys the first pair wins. Sorted, not inserted one by one: a restart adopting 65,536
 * route groups would otherwise move keys about 10^9 times.
 */
static int idmap_load(struct lb_idmap *m, const uint8_t *keys, const uint32_t *ids, size_t n)
{
	struct load_ctx c = {keys, m->key_size};
	size_t *order = malloc((n ? n : 1) * sizeof(*order)), i, k = 0;

	lb_idmap_release(m);
	m->keys = malloc((n ? n : 1) * m->key_size);
	m->ids = malloc((n ? n : 1) * sizeof(*m->ids));
	if (!order || !m->keys || !m->ids) {
		free(order);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (ids[i] < m->max_ids)
			order[k++] = i;
	qsort_r(order, k, sizeof(*order), cmp_load, &c);
	for (i = 0; i < k; i++) {
		const uint8_t *key = keys + order[i] * m->key_size;

		if (m->n && !memcmp(m->keys + (m->n - 1) * m->key_size, key, m->key_size))
			continue;
		memcpy(m->keys + m->n * m->key_size, key, m->key_size);
		m->ids[m->n++] = ids[order[i]];
	}
	free(order);
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
		ret = idmap_load(&ids->proxies, keys, idv, n);
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
		ret = idmap_load(&ids->targets, keys, idv, n);

	/* Groups: each listener names its proxy's default group, each route its group. */
	n = 0;
	if (!ret) {
		struct lb_listen_key lk, *lprev = NULL;
		struct lb_listen_val lv;
		struct lb_group grp;

		while (!ret && !bpf_map_get_next_key(lb_dataplane_fd_listen(dp), lprev, &lk)) {
			struct lb_group_key gk = {.is_default = 1};

			lprev = &lk;
			if (bpf_map_lookup_elem(lb_dataplane_fd_listen(dp), &lk, &lv))
				continue;
			gk.proxy_id = lv.proxy_id;
			/* An SNI proxy's TCP listeners point at its acceptor group instead. */
			if (!bpf_map_lookup_elem(lb_dataplane_fd_groups(dp), &lv.default_group,
						 &grp) &&
			    grp.n_backends == 1 && grp.backends[0].addr == 0)
				gk.is_default = 2;
			ret = push_key(&keys, &idv, &n, &cap, &gk, sizeof(gk), lv.default_group);
		}
	}
	if (!ret) {
		struct lb_route_key rk, *rprev = NULL;
		struct lb_route_val rv;

		while (!ret && !bpf_map_get_next_key(lb_dataplane_fd_routes(dp), rprev, &rk)) {
			struct lb_group_key gk = {};

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
		ret = idmap_load(&ids->groups, keys, idv, n);
	free(keys);
	free(idv);
	if (!ret)
		lb_info("adopted %zu proxies, %zu targets and %zu groups from the pinned maps",
			ids->proxies.n, ids->targets.n, ids->groups.n);
	return ret;
}

static void desired_free(struct desired *d)
{
	free(d->pkeys);
	free(d->pids);
	free(d->pfresh);
	free(d->tkeys);
	free(d->tids);
	free(d->tfresh);
	free(d->gkeys);
	free(d->gids);
	free(d->groups);
	free(d->routes);
	free(d->listeners);
	free(d->acc_port);
	free(d->acc_gid);
}

static int cmp_target_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct lb_target_key));
}

/* Collect each proxy's distinct targets (a target may sit in several of its groups). */
static int collect_targets(const struct lb_config *cfg, const struct desired *d,
			   struct lb_target_key **out, size_t *n_out)
{
	struct lb_target_key *keys;
	size_t cap = 0, n = 0, p, r, i, u;

	for (p = 0; p < cfg->n_proxies; p++) {
		cap += cfg->proxies[p].default_group.n + 1; /* + the SNI acceptor */
		for (r = 0; r < cfg->proxies[p].n_routes; r++)
			cap += cfg->proxies[p].routes[r].group.n;
		for (r = 0; r < cfg->proxies[p].n_sni_routes; r++)
			cap += cfg->proxies[p].sni_routes[r].group.n;
	}
	keys = calloc(cap ? cap : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		for (r = 0; r < lb_proxy_n_groups(pc); r++) {
			const struct lb_group_cfg *g = lb_proxy_group(pc, r);

			for (i = 0; i < g->n; i++) {
				keys[n].proxy_id = d->pids[p];
				keys[n].addr = g->t[i].addr;
				keys[n].port = g->t[i].port;
				n++;
			}
		}
		if (d->acc_port[p]) {
			keys[n].proxy_id = d->pids[p];
			keys[n].port = d->acc_port[p];
			n++;
		}
	}
	qsort(keys, n, sizeof(*keys), cmp_target_key);
	for (i = 0, u = 0; i < n; i++)
		if (u == 0 || cmp_target_key(&keys[u - 1], &keys[i]))
			keys[u++] = keys[i];
	*out = keys;
	*n_out = u;
	return 0;
}

static void fill_group(const struct lb_ids *ids, const struct lb_weight_src *ws,
		       const struct lb_proxy_cfg *p, uint32_t proxy_id,
		       const struct lb_group_cfg *g, struct lb_group *out)
{
	uint16_t w[LB_MAX_TARGETS_PER_GROUP];
	size_t i;

	for (i = 0; i < g->n; i++)
		w[i] = g->t[i].weight;
	if (ws && ws->fn)
		ws->fn(ws->ctx, p, g, w);
	memset(out, 0, sizeof(*out));
	out->n_backends = g->n;
	for (i = 0; i < g->n; i++) {
		out->backends[i].addr = g->t[i].addr;
		out->backends[i].port = htons(g->t[i].port);
		out->backends[i].weight = w[i];
		out->backends[i].target_id =
			(uint32_t)lb_ids_target(ids, proxy_id, g->t[i].addr, g->t[i].port);
	}
}

static int add_listener(struct desired *d, const struct lb_listen_key *k,
			const struct lb_listen_val *v)
{
	if (d->n_listeners == d->cap_listeners) {
		size_t cap = d->cap_listeners ? 2 * d->cap_listeners : 64;
		struct listen_ent *grown = realloc(d->listeners, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		d->listeners = grown;
		d->cap_listeners = cap;
	}
	memset(&d->listeners[d->n_listeners], 0, sizeof(d->listeners[0]));
	d->listeners[d->n_listeners].k = *k;
	d->listeners[d->n_listeners].v = *v;
	d->n_listeners++;
	return 0;
}

static int build_listeners(const struct lb_config *cfg, const struct lb_ifaddr_table *addrs,
			   struct desired *d, char *err, size_t errlen)
{
	static const uint8_t protos[2][2] = {{LB_L4_TCP, LB_PROTO_TCP}, {LB_L4_UDP, LB_PROTO_UDP}};
	size_t p, i, a, pr;
	int ret;

	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];
		struct lb_listen_val v = {
			.proxy_id = d->pids[p],
			.default_group = d->gids[p],
			.flags = pc->n_routes ? LB_LISTEN_F_HAS_ROUTES : 0,
		};

		for (i = 0; i < pc->n_ifaces; i++) {
			unsigned int idx = if_nametoindex(pc->ifaces[i]);
			size_t before = d->n_listeners;

			if (!idx)
				return lb_errf(err, errlen, -ENODEV,
					       "proxy \"%s\": interface %s does not exist",
					       pc->name, pc->ifaces[i]);
			for (pr = 0; pr < 2; pr++) {
				struct lb_listen_key k = {
					.ifindex = idx,
					.port = htons(pc->port),
					.proto = protos[pr][1],
				};

				if (!(pc->protocols & protos[pr][0]))
					continue;
				/* TCP of an SNI proxy: to the acceptor, unless a route claims it.
				 */
				v.default_group = protos[pr][1] == LB_PROTO_TCP && d->acc_port[p]
							  ? d->acc_gid[p]
							  : d->gids[p];
				if (pc->has_address) {
					k.addr = pc->address;
					ret = add_listener(d, &k, &v);
					if (ret)
						return ret;
					continue;
				}
				for (a = 0; a < addrs->n; a++) {
					if (addrs->e[a].ifindex != idx)
						continue;
					k.addr = addrs->e[a].addr;
					ret = add_listener(d, &k, &v);
					if (ret)
						return ret;
				}
			}
			if (d->n_listeners == before)
				lb_warn("proxy \"%s\": %s has no IPv4 address yet; its listener "
					"starts when one is added",
					pc->name, pc->ifaces[i]);
		}
	}
	if (d->n_listeners > LB_MAX_LISTENERS)
		return lb_errf(err, errlen, -ENOSPC,
			       "%zu listener entries (interface addresses x ports x protocols) "
			       "exceed the limit of %d",
			       d->n_listeners, LB_MAX_LISTENERS);
	return 0;
}

/* Compute ids and every map entry; nothing is written. */
static int build(const struct lb_config *cfg, const struct lb_ifaddr_table *addrs,
		 const struct lb_weight_src *ws, struct lb_ids *ids, struct desired *d, char *err,
		 size_t errlen)
{
	size_t p, r, g, total_routes = 0, n_acceptors = 0;
	int ret;

	d->n_proxies = cfg->n_proxies;
	d->pkeys = calloc(cfg->n_proxies + 1, sizeof(*d->pkeys));
	d->pids = calloc(cfg->n_proxies + 1, sizeof(*d->pids));
	d->pfresh = calloc(cfg->n_proxies + 1, 1);
	if (!d->pkeys || !d->pids || !d->pfresh)
		return -ENOMEM;
	for (p = 0; p < cfg->n_proxies; p++) {
		snprintf(d->pkeys[p], LB_PROXY_NAME_MAX, "%s", cfg->proxies[p].name);
		total_routes += cfg->proxies[p].n_routes;
	}
	if (total_routes > LB_MAX_ROUTES)
		return lb_errf(err, errlen, -ENOSPC, "%zu source routes exceed the limit of %d",
			       total_routes, LB_MAX_ROUTES);
	ret = lb_idmap_assign(&ids->proxies, d->pkeys, d->n_proxies, d->pids, d->pfresh);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot number the proxies: %s", strerror(-ret));

	d->acc_port = calloc(cfg->n_proxies + 1, sizeof(*d->acc_port));
	d->acc_gid = calloc(cfg->n_proxies + 1, sizeof(*d->acc_gid));
	if (!d->acc_port || !d->acc_gid)
		return -ENOMEM;
	for (p = 0; p < cfg->n_proxies; p++) {
		if (!cfg->proxies[p].n_sni_routes || !ws || !ws->acceptor_port)
			continue;
		d->acc_port[p] = ws->acceptor_port(ws->ctx, &cfg->proxies[p]);
		n_acceptors += d->acc_port[p] != 0;
	}
	ret = collect_targets(cfg, d, &d->tkeys, &d->n_targets);
	if (ret)
		return ret;
	d->tids = calloc(d->n_targets + 1, sizeof(*d->tids));
	d->tfresh = calloc(d->n_targets + 1, 1);
	if (!d->tids || !d->tfresh)
		return -ENOMEM;
	ret = lb_idmap_assign(&ids->targets, d->tkeys, d->n_targets, d->tids, d->tfresh);
	if (ret)
		return lb_errf(err, errlen, ret, "%zu distinct targets exceed the limit of %d",
			       d->n_targets, LB_MAX_TARGETS);

	/*
	 * Groups: first one default group per proxy (index p), then one per route, then one
	 * per SNI acceptor (SNI routes themselves are chosen in user space, not in the maps).
	 */
	d->n_groups = cfg->n_proxies + total_routes + n_acceptors;
	d->gkeys = calloc(d->n_groups + 1, sizeof(*d->gkeys));
	d->gids = calloc(d->n_groups + 1, sizeof(*d->gids));
	d->groups = calloc(d->n_groups + 1, sizeof(*d->groups));
	d->routes = calloc(total_routes + 1, sizeof(*d->routes));
	if (!d->gkeys || !d->gids || !d->groups || !d->routes)
		return -ENOMEM;
	g = cfg->n_proxies;
	for (p = 0; p < cfg->n_proxies; p++) {
		d->gkeys[p].proxy_id = d->pids[p];
		d->gkeys[p].is_default = 1;
		for (r = 0; r < cfg->proxies[p].n_routes; r++, g++) {
			d->gkeys[g].proxy_id = d->pids[p];
			d->gkeys[g].addr = cfg->proxies[p].routes[r].addr;
			d->gkeys[g].prefix_len = cfg->proxies[p].routes[r].prefix_len;
		}
	}
	for (p = 0; p < cfg->n_proxies; p++) {
		if (!d->acc_port[p])
			continue;
		d->gkeys[g].proxy_id = d->pids[p];
		d->gkeys[g].is_default = 2; /* the acceptor */
		g++;
	}
	ret = lb_idmap_assign(&ids->groups, d->gkeys, d->n_groups, d->gids, NULL);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot number the groups: %s", strerror(-ret));

	g = cfg->n_proxies;
	for (p = 0; p < cfg->n_proxies; p++) {
		const struct lb_proxy_cfg *pc = &cfg->proxies[p];

		d->groups[p].k = d->gids[p];
		fill_group(ids, ws, pc, d->pids[p], &pc->default_group, &d->groups[p].v);
		for (r = 0; r < pc->n_routes; r++, g++) {
			struct route_ent *re = &d->routes[d->n_routes++];

			d->groups[g].k = d->gids[g];
			fill_group(ids, ws, pc, d->pids[p], &pc->routes[r].group, &d->groups[g].v);
			re->k.prefixlen = 32 + pc->routes[r].prefix_len;
			re->k.proxy_id = d->pids[p];
			re->k.addr = pc->routes[r].addr;
			re->v.group = d->gids[g];
		}
	}
	for (p = 0; p < cfg->n_proxies; p++) {
		struct lb_backend *b = &d->groups[g].v.backends[0];

		if (!d->acc_port[p])
			continue;
		d->acc_gid[p] = d->gids[g];
		d->groups[g].k = d->gids[g];
		memset(&d->groups[g].v, 0, sizeof(d->groups[g].v));
		d->groups[g].v.n_backends = 1;
		b->addr = 0;
		b->port = htons(d->acc_port[p]);
		b->weight = 100;
		b->target_id = (uint32_t)lb_ids_target(ids, d->pids[p], 0, d->acc_port[p]);
		g++;
	}
	return build_listeners(cfg, addrs, d, err, errlen);
}

static int cmp_ent(const void *a, const void *b, void *key_size)
{
	return memcmp(a, b, *(size_t *)key_size);
}

/*
 * What one map holds, read back from the kernel: entries laid out as the desired arrays
 * (key, then value), sorted by key. Diffing two sorted arrays in user space costs no
 * system call per entry: with 10,000 source routes, reading entry by entry (a lookup per
 * desired entry, a get-next-key per held one) took 40,000 calls per sync.
 */
struct map_image {
	size_t key_size, ent_size;
	size_t n, cap;
	uint8_t *ents;
};

static void map_image_release(struct map_image *m)
{
	free(m->ents);
	m->ents = NULL;
	m->n = m->cap = 0;
}

static int map_image_push(struct map_image *m, const void *key, const void *val)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		uint8_t *grown = realloc(m->ents, cap * m->ent_size);

		if (!grown)
			return -ENOMEM;
		m->ents = grown;
		m->cap = cap;
	}
	memcpy(m->ents + m->n * m->ent_size, key, m->key_size);
	memcpy(m->ents + m->n * m->ent_size + m->key_size, val, m->ent_size - m->key_size);
	m->n++;
	return 0;
}

#define BATCH_CHUNK 1024 /* entries per BPF_MAP_LOOKUP_BATCH call */

/*
 * Read @fd whole with BPF_MAP_LOOKUP_BATCH. Any failure (a kernel without batch
 * operations for this map type answers EINVAL or ENOTSUPP) makes the caller walk the keys
 * instead, which also reports a map that cannot be read at all.
 */
static int read_batch(int fd, struct map_image *m)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t vs = m->ent_size - m->key_size;
	uint8_t *keys = malloc(BATCH_CHUNK * m->key_size), *vals = malloc(BATCH_CHUNK * vs);
	uint8_t in[32], out[32]; /* the position: a bucket index (hash) or a key (others) */
	bool first = true, last = false;
	__u32 count, i;
	int ret = keys && vals ? 0 : -ENOMEM;

	while (!ret && !last) {
		count = BATCH_CHUNK;
		if (bpf_map_lookup_batch(fd, first ? NULL : in, out, keys, vals, &count, &opts)) {
			if (errno != ENOENT) {
				ret = -errno;
				break;
			}
			last = true; /* ENOENT: these are the last @count entries */
		}
		for (i = 0; i < count && !ret; i++)
			ret = map_image_push(m, keys + i * m->key_size, vals + i * vs);
		memcpy(in, out, sizeof(in));
		first = false;
	}
	free(keys);
	free(vals);
	return ret;
}

static int read_walk(int fd, struct map_image *m)
{
	uint8_t key[32], next[32], val[sizeof(struct lb_group)];
	void *prev = NULL;
	int ret;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, m->key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, val))
			continue;
		ret = map_image_push(m, key, val);
		if (ret)
			return ret;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* Fill @m (fresh, sizes set) with what map @fd holds, sorted by key. */
static int map_read(int fd, const char *name, struct map_image *m, char *err, size_t errlen)
{
	int ret = read_batch(fd, m);

	if (ret && ret != -ENOMEM) {
		m->n = 0;
		ret = read_walk(fd, m);
	}
	if (ret)
		return lb_errf(err, errlen, ret, "cannot read %s: %s", name, strerror(-ret));
	if (m->n > 1) /* an empty map leaves ents NULL: qsort_r() must not get it */
		qsort_r(m->ents, m->n, m->ent_size, cmp_ent, &m->key_size);
	return 0;
}

/* Write @n entries in one BPF_MAP_UPDATE_BATCH call, or one by one where that fails. */
static int write_entries(int fd, const uint8_t *keys, const uint8_t *vals, size_t n, size_t ks,
			 size_t vs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = n;
	size_t i;

	if (n > 1 && !bpf_map_update_batch(fd, keys, vals, &count, &opts))
		return 0;
	/* Rewriting what a failed batch did write is harmless: the values are the same. */
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, keys + i * ks, vals + i * vs, BPF_ANY))
			return -errno;
	return 0;
}

/* Write the entries of @want (sorted by key) that @cur lacks or holds with another value. */
static int map_write_changed(int fd, const char *name, const void *want, size_t n,
			     const struct map_image *cur, char *err, size_t errlen)
{
	size_t ks = cur->key_size, es = cur->ent_size, vs = es - ks, i, j = 0, n_out = 0;
	uint8_t *keys = malloc((n ? n : 1) * ks), *vals = malloc((n ? n : 1) * vs);
	int ret = -ENOMEM;

	if (!keys || !vals)
		goto out;
	for (i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)want + i * es;

		while (j < cur->n && memcmp(cur->ents + j * es, e, ks) < 0)
			j++;
		if (j < cur->n && !memcmp(cur->ents + j * es, e, es))
			continue; /* same key, same value */
		memcpy(keys + n_out * ks, e, ks);
		memcpy(vals + n_out * vs, e + ks, vs);
		n_out++;
	}
	ret = write_entries(fd, keys, vals, n_out, ks, vs);
out:
	free(keys);
	free(vals);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot update %s: %s", name, strerror(-ret));
	return 0;
}

/* Delete every key of @cur that @want (sorted by key) does not hold. */
static int map_delete_stale(int fd, const char *name, const void *want, size_t n,
			    const struct map_image *cur, char *err, size_t errlen)
{
	size_t ks = cur->key_size, es = cur->ent_size, i, j = 0;

	for (i = 0; i < cur->n; i++) {
		const uint8_t *k = cur->ents + i * es;

		while (j < n && memcmp((const uint8_t *)want + j * es, k, ks) < 0)
			j++;
		if (j < n && !memcmp((const uint8_t *)want + j * es, k, ks))
			continue;
		if (bpf_map_delete_elem(fd, k) && errno != ENOENT)
			return lb_errf(err, errlen, -errno, "cannot delete from %s: %s", name,
				       strerror(errno));
	}
	return 0;
}

/* Counters of a newly numbered proxy or target start from zero, whoever held the id before. */
static int zero_stats(struct lb_dataplane *dp, int fd, uint32_t id)
{
	struct lb_stats *zero = calloc(dp->ncpus, sizeof(*zero));
	int ret;

	if (!zero)
		return -ENOMEM;
	ret = bpf_map_update_elem(fd, &id, zero, BPF_ANY) ? -errno : 0;
	free(zero);
	return ret;
}

/* Rewrite the name tables (lb_pnames, lb_tnames) from the id maps, in one batch each. */
static int write_names(struct lb_dataplane *dp, const struct lb_ids *ids)
{
	struct lb_proxy_meta *pm = calloc(LB_MAX_PROXIES, sizeof(*pm));
	struct lb_target_meta *tm = calloc(LB_MAX_TARGETS, sizeof(*tm));
	__u32 *keys = calloc(LB_MAX_TARGETS, sizeof(*keys));
	__u32 count, i;
	int ret = -ENOMEM;

	if (!pm || !tm || !keys)
		goto out;
	for (i = 0; i < LB_MAX_TARGETS; i++)
		keys[i] = i;
	for (i = 0; i < ids->proxies.n; i++)
		memcpy(pm[ids->proxies.ids[i]].name, ids->proxies.keys + i * LB_PROXY_NAME_MAX,
		       LB_PROXY_NAME_MAX);
	for (i = 0; i < ids->targets.n; i++) {
		const struct lb_target_key *k =
			(const void *)(ids->targets.keys + i * sizeof(struct lb_target_key));
		struct lb_target_meta *m = &tm[ids->targets.ids[i]];

		m->proxy_id = k->proxy_id;
		m->addr = k->addr;
		m->port = htons(k->port);
		m->in_use = 1;
	}
	count = LB_MAX_PROXIES;
	ret = bpf_map_update_batch(lb_dataplane_fd_pnames(dp), keys, pm, &count, NULL);
	if (!ret) {
		count = LB_MAX_TARGETS;
		ret = bpf_map_update_batch(lb_dataplane_fd_tnames(dp), keys, tm, &count, NULL);
	}
	ret = ret ? -errno : 0;
out:
	free(pm);
	free(tm);
	free(keys);
	return ret;
}

static bool idmap_same(const struct lb_idmap *a, const struct lb_idmap *b)
{
	return a->n == b->n && (!a->n || (!memcmp(a->keys, b->keys, a->n * a->key_size) &&
					  !memcmp(a->ids, b->ids, a->n * sizeof(*a->ids))));
}

/*
 * The name tables say what the proxy and target ids said after the last sync. Rewriting
 * them costs more than the rest of a small sync (4,352 entries, twice per change since
 * lbd also resyncs), so that happens only when some id changed.
 */
static int sync_names(struct lb_dataplane *dp, const struct lb_ids *ids, const struct lb_ids *was)
{
	if (idmap_same(&ids->proxies, &was->proxies) && idmap_same(&ids->targets, &was->targets))
		return 0;
	return write_names(dp, ids);
}

int lb_mapsync_apply(struct lb_dataplane *dp, struct lb_ids *ids, const struct lb_config *cfg,
		     const struct lb_ifaddr_table *addrs, const struct lb_weight_src *ws, char *err,
		     size_t errlen)
{
	struct lb_ids saved;
	struct desired d = {};
	size_t lk = sizeof(struct lb_listen_key), rk = sizeof(struct lb_route_key),
	       gk = sizeof(__u32);
	struct map_image cur_g = {.key_size = gk, .ent_size = sizeof(struct group_ent)};
	struct map_image cur_r = {.key_size = rk, .ent_size = sizeof(struct route_ent)};
	struct map_image cur_l = {.key_size = lk, .ent_size = sizeof(struct listen_ent)};
	size_t i;
	int ret;

	/* Numbering happens on a copy: a refused configuration leaves every id as it was. */
	lb_ids_init(&saved);
	if (lb_idmap_clone(&saved.proxies, &ids->proxies) ||
	    lb_idmap_clone(&saved.targets, &ids->targets) ||
	    lb_idmap_clone(&saved.groups, &ids->groups)) {
		lb_ids_release(&saved);
		return lb_errf(err, errlen, -ENOMEM, "out of memory");
	}

	ret = build(cfg, addrs, ws, ids, &d, err, errlen);
	if (ret) {
		if (ret == -ENOMEM)
			lb_errf(err, errlen, ret, "out of memory");
		goto out;
	}
	/* An empty array may be NULL, which qsort_r() must not get (its base is nonnull). */
	if (d.n_listeners > 1)
		qsort_r(d.listeners, d.n_listeners, sizeof(*d.listeners), cmp_ent, &lk);
	if (d.n_routes > 1)
		qsort_r(d.routes, d.n_routes, sizeof(*d.routes), cmp_ent, &rk);
	if (d.n_groups > 1)
		qsort_r(d.groups, d.n_groups, sizeof(*d.groups), cmp_ent, &gk);
	for (i = 1; i < d.n_listeners; i++)
		if (!memcmp(&d.listeners[i - 1].k, &d.listeners[i].k, lk)) {
			ret = lb_errf(err, errlen, -EEXIST,
				      "two proxies listen on the same address, port and protocol");
			goto out;
		}

	for (i = 0; i < d.n_proxies; i++)
		if (d.pfresh[i] && (ret = zero_stats(dp, lb_dataplane_fd_pstats(dp), d.pids[i])))
			goto out_errno;
	for (i = 0; i < d.n_targets; i++)
		if (d.tfresh[i] && (ret = zero_stats(dp, lb_dataplane_fd_tstats(dp), d.tids[i])))
			goto out_errno;

	/* Read what the maps hold, then write only the difference, in the order mapsync.h gives. */
	ret = map_read(lb_dataplane_fd_groups(dp), "lb_groups", &cur_g, err, errlen);
	if (!ret)
		ret = map_read(lb_dataplane_fd_routes(dp), "lb_routes", &cur_r, err, errlen);
	if (!ret)
		ret = map_read(lb_dataplane_fd_listen(dp), "lb_listen", &cur_l, err, errlen);
	if (!ret)
		ret = map_write_changed(lb_dataplane_fd_groups(dp), "lb_groups", d.groups,
					d.n_groups, &cur_g, err, errlen);
	if (!ret)
		ret = map_write_changed(lb_dataplane_fd_routes(dp), "lb_routes", d.routes,
					d.n_routes, &cur_r, err, errlen);
	if (!ret)
		ret = map_write_changed(lb_dataplane_fd_listen(dp), "lb_listen", d.listeners,
					d.n_listeners, &cur_l, err, errlen);
	if (!ret)
		ret = map_delete_stale(lb_dataplane_fd_listen(dp), "lb_listen", d.listeners,
				       d.n_listeners, &cur_l, err, errlen);
	if (!ret)
		ret = map_delete_stale(lb_dataplane_fd_routes(dp), "lb_routes", d.routes,
				       d.n_routes, &cur_r, err, errlen);
	if (!ret)
		ret = map_delete_stale(lb_dataplane_fd_groups(dp), "lb_groups", d.groups,
				       d.n_groups, &cur_g, err, errlen);
	if (!ret && (ret = sync_names(dp, ids, &saved))) {
		/* A half-written table must match the ids restored below. */
		if (write_names(dp, &saved))
			lb_err("cannot restore the name tables");
		goto out_errno;
	}
	if (!ret)
		lb_debug("maps synced: %zu listeners, %zu routes, %zu groups, %zu targets",
			 d.n_listeners, d.n_routes, d.n_groups, d.n_targets);
	goto out;
out_errno:
	lb_errf(err, errlen, ret, "cannot write the datapath maps: %s", strerror(-ret));
out:
	if (ret) {
		lb_ids_release(ids);
		*ids = saved;
	} else {
		lb_ids_release(&saved);
	}
	map_image_release(&cur_g);
	map_image_release(&cur_r);
	map_image_release(&cur_l);
	desired_free(&d);
	return ret;
}
