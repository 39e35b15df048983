// SPDX-License-Identifier: MIT
#include "mapsync.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "lb_abi.h"
#include "lb_fault.h"
#include "lb_addr.h"
#include "lb_log.h"
#include "lb_select.h"
#include "inner_maps.h"
#include "maglev.h"
#include "map_image.h"
#include "snat.h"

struct lb_mapsync {
	struct lb_dataplane *dp;
	bool held; /* the images say what the maps hold */
	struct lb_map_image listen, routes, groups;
	uint32_t *group_at;	   /* group id -> 1 + its entry in the groups image, 0: none */
	struct lb_ids names;	   /* what lb_pnames and lb_tnames say */
	uint32_t seed, table_size; /* of the Maglev tables: settings of the last full sync */
	uint16_t *table;	   /* room for one table being built */
	struct lb_inner_cache tables, sets;	/* of the sync under way, by their inputs */
	struct lb_outer_puts maglev_q, gsets_q; /* its inserts into lb_maglev, lb_gsets */
};

/* Index the groups image by id: a verdict change looks 40,000 groups up in it. */
static void index_groups(struct lb_mapsync *ms)
{
	size_t i;

	memset(ms->group_at, 0, LB_MAX_GROUPS * sizeof(*ms->group_at));
	for (i = 0; i < ms->groups.n; i++) {
		__u32 id;

		memcpy(&id, ms->groups.ents + i * ms->groups.ent_size, sizeof(id));
		if (id < LB_MAX_GROUPS)
			ms->group_at[id] = (uint32_t)i + 1;
	}
}

/* What one full sync wants the maps to hold. */
struct want {
	struct lb_map_image listen, routes, groups;
	const struct lb_model_group **big; /* group id -> its model group, large groups only */
};

static void images_init(struct lb_map_image *l, struct lb_map_image *r, struct lb_map_image *g)
{
	lb_map_image_init(l, sizeof(struct lb_listen_key), sizeof(struct lb_listen_val));
	lb_map_image_init(r, sizeof(struct lb_route_key), sizeof(struct lb_route_val));
	lb_map_image_init(g, sizeof(__u32), sizeof(struct lb_group));
}

struct lb_mapsync *lb_mapsync_new(struct lb_dataplane *dp, const struct lb_ids *names)
{
	struct lb_mapsync *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	ms->dp = dp;
	images_init(&ms->listen, &ms->routes, &ms->groups);
	ms->group_at = calloc(LB_MAX_GROUPS, sizeof(*ms->group_at));
	if (!ms->group_at || lb_ids_clone(&ms->names, names)) {
		free(ms->group_at);
		free(ms);
		return NULL;
	}
	return ms;
}

void lb_mapsync_free(struct lb_mapsync *ms)
{
	if (!ms)
		return;
	lb_map_image_release(&ms->listen);
	lb_map_image_release(&ms->routes);
	lb_map_image_release(&ms->groups);
	lb_ids_release(&ms->names);
	free(ms->group_at);
	free(ms->table);
	free(ms);
}

/*
 * Maglev tables (lb_abi.h, lb_maglev). A group has tables when one of its families has
 * two or more backends with a weight: with fewer, the datapath's cumulative-weight choice
 * gives what any table would, and the group costs no table memory.
 */
static unsigned int weighted(const struct lb_backend *bk, size_t n, bool v4)
{
	unsigned int w = 0;
	size_t i;

	for (i = 0; i < n; i++)
		w += lb_backend_weight(&bk[i], v4) > 0;
	return w;
}

static bool wants_tables(const struct lb_backend *bk, size_t n)
{
	return weighted(bk, n, true) >= 2 || weighted(bk, n, false) >= 2;
}

/* Does group value @v use lb_maglev or lb_gsets entries (of its generation)? */
static bool out_of_line(const struct lb_group *v)
{
	return v->table_size || v->n_backends > LB_GROUP_INLINE;
}

/* Keys of group tables and sets to delete, collected to be deleted at once (inner_maps.h). */
struct gone {
	uint32_t *maglev, *gsets;
	size_t n_maglev, n_gsets;
};

static int gone_init(struct gone *g, size_t groups)
{
	g->maglev = malloc((2 * groups + 1) * sizeof(*g->maglev));
	g->gsets = malloc((groups + 1) * sizeof(*g->gsets));
	g->n_maglev = g->n_gsets = 0;
	if (g->maglev && g->gsets)
		return 0;
	free(g->maglev);
	free(g->gsets);
	return -ENOMEM;
}

/* The tables and the set of generation @gen of group @id go (absent ones are fine). */
static void gone_add(struct gone *g, uint32_t id, uint32_t gen)
{
	int v6;

	for (v6 = 0; v6 < 2; v6++)
		g->maglev[g->n_maglev++] = LB_MAGLEV_KEY(id, gen, v6);
	g->gsets[g->n_gsets++] = LB_GSET_KEY(id, gen);
}

static void gone_delete(struct lb_mapsync *ms, struct gone *g)
{
	int ret;

	if ((ret = lb_outer_delete(lb_dataplane_fd_maglev(ms->dp), g->maglev, g->n_maglev)))
		lb_warn("cannot delete %zu old Maglev tables: %s", g->n_maglev, strerror(-ret));
	if ((ret = lb_outer_delete(lb_dataplane_fd_gsets(ms->dp), g->gsets, g->n_gsets)))
		lb_warn("cannot delete %zu old backend sets: %s", g->n_gsets, strerror(-ret));
	free(g->maglev);
	free(g->gsets);
}

/* What the Maglev table of family @v4 of the @n backends @bk is built from, into @t. */
static int targets_of(const struct lb_backend *bk, size_t n, bool v4, struct lb_maglev_target *t)
{
	size_t i;

	if (n > LB_MAX_TARGETS_PER_GROUP)
		return -E2BIG;
	memset(t, 0, n * sizeof(*t));
	for (i = 0; i < n; i++) {
		memcpy(t[i].addr, &bk[i].addr, sizeof(t[i].addr));
		t[i].port = ntohs(bk[i].port);
		t[i].weight = lb_backend_weight(&bk[i], v4);
	}
	return 0;
}

/* The Maglev table of family @v4 of the @n backends @bk, into ms->table. */
static int build_table(struct lb_mapsync *ms, const struct lb_backend *bk, size_t n, bool v4)
{
	struct lb_maglev_target t[LB_MAX_TARGETS_PER_GROUP];
	int ret = targets_of(bk, n, v4, t);

	if (ret)
		return ret;
	if (!ms->table) {
		ms->table = malloc(LB_MAGLEV_SIZE_LARGE * sizeof(*ms->table));
		if (!ms->table)
			return -ENOMEM;
	}
	return lb_maglev_build(t, n, ms->seed, ms->table_size, ms->table);
}

/* A new inner map of @n_ent entries of @vals, written whole; its fd or -errno. */
static int new_inner(const char *name, const void *vals, uint32_t val_size, uint32_t n_ent)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys = calloc(n_ent, sizeof(*keys)), i;
	int fd, ret;

	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n_ent; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), val_size, n_ent, &o);
	if (fd < 0) {
		ret = -errno;
		free(keys);
		return ret;
	}
	ret = lb_map_write_entries(fd, (uint8_t *)keys, (const uint8_t *)vals, n_ent, sizeof(*keys),
				   val_size);
	free(keys);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * The set of large group @id under generation @gen (lb_abi.h, lb_gsets): head, the @n
 * backends @bk, the table of each family with two or more weighted backends. Written
 * whole into a fresh inner map before it is inserted.
 */
static int put_set(struct lb_mapsync *ms, uint32_t id, uint32_t gen, const struct lb_backend *bk,
		   size_t n)
{
	uint32_t m = ms->table_size, per_table = (m + LB_GSET_PER_ENTRY - 1) / LB_GSET_PER_ENTRY;
	uint32_t n_ent = 1 + (uint32_t)n, f, i;
	struct lb_gset_slots *ents;
	struct lb_gset_head *h;
	__u32 key = LB_GSET_KEY(id, gen);
	int ret = 0, fd = lb_inner_cache_get(&ms->sets, bk, n * sizeof(*bk));

	if (fd >= 0) /* a set this sync built from the same backends (inner_maps.h) */
		return lb_outer_put(&ms->gsets_q, key, fd);
	for (f = 0; f < 2; f++)
		if (weighted(bk, n, !f) >= 2)
			n_ent += per_table;
	ents = calloc(n_ent, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	h = (struct lb_gset_head *)&ents[0];
	h->n_backends = (__u32)n;
	h->table_size = m;
	for (i = 0; i < n; i++)
		memcpy(&ents[1 + i], &bk[i], sizeof(bk[i]));
	n_ent = 1 + (uint32_t)n;
	for (f = 0; f < 2 && !ret; f++) {
		h->solo[f] = LB_MAGLEV_NONE;
		if (weighted(bk, n, !f) < 2) {
			for (i = 0; i < n; i++)
				if (lb_backend_weight(&bk[i], !f))
					h->solo[f] = (__u16)i;
			continue;
		}
		ret = build_table(ms, bk, n, !f);
		if (ret < 0)
			break;
		ret = 0;
		h->table_at[f] = n_ent;
		for (i = 0; i < per_table * LB_GSET_PER_ENTRY; i++)
			ents[n_ent + i / LB_GSET_PER_ENTRY].s[i % LB_GSET_PER_ENTRY] =
				i < m ? ms->table[i] : LB_MAGLEV_NONE;
		n_ent += per_table;
	}
	if (!ret) {
		fd = new_inner("lb_gset", ents, sizeof(*ents), n_ent);
		ret = fd < 0 ? fd : lb_outer_put(&ms->gsets_q, key, fd);
		if (!ret && lb_inner_cache_put(&ms->sets, bk, n * sizeof(*bk), fd))
			lb_debug("backend set %u: not shared (out of memory)", key);
		if (fd >= 0)
			close(fd); /* the queue and the cache have their own */
	}
	free(ents);
	return ret;
}

/* 64-bit digest of @n backends: a large group's set_digest. */
static uint64_t set_digest(const struct lb_backend *bk, size_t n)
{
	const uint8_t *p = (const uint8_t *)bk;
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	size_t i;

	for (i = 0; i < n * sizeof(*bk); i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

/*
 * Insert the table of family @v4 of @bk under @key: one this sync already built from the
 * same targets (inner_maps.h), else a new inner map built and written whole.
 */
static int put_table(struct lb_mapsync *ms, const struct lb_backend *bk, size_t n, bool v4,
		     __u32 key)
{
	uint32_t m = ms->table_size, n_ent = (m + LB_MAGLEV_PER_ENTRY - 1) / LB_MAGLEV_PER_ENTRY;
	struct lb_maglev_target t[LB_MAX_TARGETS_PER_GROUP];
	struct lb_maglev_slots *vals;
	__u32 i;
	int fd, ret = targets_of(bk, n, v4, t);

	if (ret)
		return ret;
	fd = lb_inner_cache_get(&ms->tables, t, n * sizeof(*t));
	if (fd >= 0)
		return lb_outer_put(&ms->maglev_q, key, fd);
	ret = build_table(ms, bk, n, v4);
	if (ret < 0)
		return ret;
	vals = calloc(n_ent, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n_ent * LB_MAGLEV_PER_ENTRY; i++)
		vals[i / LB_MAGLEV_PER_ENTRY].s[i % LB_MAGLEV_PER_ENTRY] =
			i < m ? ms->table[i] : LB_MAGLEV_NONE;
	fd = new_inner("lb_maglev_t", vals, sizeof(*vals), n_ent);
	ret = fd < 0 ? fd : lb_outer_put(&ms->maglev_q, key, fd);
	if (!ret && lb_inner_cache_put(&ms->tables, t, n * sizeof(*t), fd))
		lb_debug("Maglev table of group key %u: not shared (out of memory)", key);
	if (fd >= 0)
		close(fd); /* the queue and the cache have their own */
	free(vals);
	return ret;
}

/*
 * Make @v (group @id, to be written over @held, NULL when new; its backends @bk) point at
 * tables: the held generation when nothing the tables depend on changed (they are there:
 * the same inputs build the same bytes), else fresh tables (a small group) or a fresh set
 * (a large group) under the other generation. Returns 1 when the held generation's
 * tables or set go once the group is written, 0, -errno.
 */
static int prepare_tables(struct lb_mapsync *ms, uint32_t id, struct lb_group *v,
			  const struct lb_group *held, const struct lb_backend *bk)
{
	size_t n = v->n_backends;
	int v6, ret;

	v->table_gen = held ? held->table_gen & 1 : 0;
	v->table_size = wants_tables(bk, n) ? ms->table_size : 0;
	v->table_seed = v->table_size ? ms->seed : 0;
	if (held && !memcmp(held, v, sizeof(*v)))
		return 0;
	if (!out_of_line(v))
		return held && out_of_line(held) ? 1 : 0;
	v->table_gen = held ? (held->table_gen & 1) ^ 1 : 0;
	if (n > LB_GROUP_INLINE) {
		ret = put_set(ms, id, v->table_gen, bk, n);
		return ret ? ret : held && out_of_line(held) ? 1 : 0;
	}
	for (v6 = 0; v6 < 2; v6++) {
		__u32 key = LB_MAGLEV_KEY(id, v->table_gen, v6);

		if (weighted(bk, n, !v6) >= 2)
			ret = put_table(ms, bk, n, !v6, key);
		else /* no table for this family: none left from an earlier one either */
			ret = lb_outer_delete(lb_dataplane_fd_maglev(ms->dp), &key, 1);
		if (ret)
			return ret;
	}
	return held && out_of_line(held) ? 1 : 0;
}

/* The backends of model group @g as the datapath holds them, into @out (room for g->n). */
static void backends_of(const struct lb_model_group *g, struct lb_backend *out)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr = g->t[i].addr;
		out[i].port = htons(g->t[i].port);
		out[i].weight = g->t[i].effective;
		out[i].target_id = g->t[i].target_id;
	}
}

/* The lb_groups value of a model group. */
static void group_value(const struct lb_model_group *g, struct lb_group *out)
{
	struct lb_backend bk[LB_MAX_TARGETS_PER_GROUP];
	uint64_t digest;

	memset(out, 0, sizeof(*out));
	out->n_backends = (__u32)g->n;
	if (g->n <= LB_GROUP_INLINE) {
		backends_of(g, out->backends);
		return;
	}
	backends_of(g, bk);
	digest = set_digest(bk, g->n);
	memcpy(out->set_digest, &digest, sizeof(digest));
}

/* Push the entry of model group @g into @w (and note it when it is large). */
static int push_group(struct want *w, const struct lb_model_group *g)
{
	struct lb_group v;

	group_value(g, &v);
	if (g->n > LB_GROUP_INLINE && g->id < LB_MAX_GROUPS)
		w->big[g->id] = g;
	return lb_map_image_push(&w->groups, &g->id, &v);
}

/* The map groups of @p: its default group, its source routes, its acceptor. */
static int push_groups(struct want *w, const struct lb_model_proxy *p)
{
	size_t r;
	int ret = 0;

	for (r = 0; r < p->n_groups && !ret; r++)
		if (p->groups[r].kind != LB_MG_SNI)
			ret = push_group(w, &p->groups[r]);
	if (!ret && p->acceptor_port)
		ret = push_group(w, &p->acceptor);
	return ret;
}

static int push_routes(struct lb_map_image *img, const struct lb_model_proxy *p)
{
	size_t r;
	int ret = 0;

	for (r = 0; r < p->cfg->n_routes && !ret; r++) {
		struct lb_route_key k = {
			.prefixlen = 32 + lb_prefix128(&p->cfg->routes[r].addr,
						       p->cfg->routes[r].prefix_len),
			.proxy_id = p->id,
			.addr = p->cfg->routes[r].addr,
		};
		struct lb_route_val v = {.group = p->groups[1 + r].id};

		ret = lb_map_image_push(img, &k, &v);
	}
	return ret;
}

/* lb_listen_val.flags of @pc's listener entry for address @addr. */
static __u32 listen_flags(const struct lb_proxy_cfg *pc, const struct lb_ip *addr)
{
	__u32 f = pc->n_routes ? LB_LISTEN_F_HAS_ROUTES : 0, prefix;

	f |= ((__u32)pc->forwarding << LB_LISTEN_FWD_SHIFT) & LB_LISTEN_FWD_MASK;
	if (pc->selection == LB_SEL_LEASTCONN)
		f |= LB_LISTEN_F_LEASTCONN;
	bool v4 = lb_ip_is_v4(addr);

	if (pc->hash != LB_HASH_SOURCE)
		return f;
	prefix = pc->has_hash_prefix ? pc->hash_prefix : v4 ? 32 : 128;
	if (v4)
		prefix = LB_IP_V4_PREFIX_BASE + (prefix > 32 ? 32 : prefix);
	return f | LB_LISTEN_F_HASH_SADDR | prefix << LB_LISTEN_PREFIX_SHIFT;
}

/* The value of @p's listener entry for address @addr (its configured full-nat source). */
static void listen_val(const struct lb_model_proxy *p, const struct lb_settings *s,
		       const struct lb_ip *addr, struct lb_listen_val *v)
{
	v->flags = listen_flags(p->cfg, addr);
	memset(&v->snat_addr, 0, sizeof(v->snat_addr));
	if (p->cfg->forwarding == LB_FWD_FULLNAT)
		lb_snat_configured(p->cfg, s, lb_ip_is_v4(addr), &v->snat_addr);
}

/*
 * The listener entries of @p: (interface, address, port, protocol) for its address, or
 * for each address of each of its interfaces. TCP of a proxy with an SNI acceptor goes to
 * the acceptor's group (source routes are looked up first), everything else to the
 * default group.
 */
static int push_listeners(struct lb_map_image *img, const struct lb_model_proxy *p,
			  const struct lb_settings *s, const struct lb_ifaddr_table *addrs)
{
	static const uint8_t protos[2][2] = {{LB_L4_TCP, LB_PROTO_TCP}, {LB_L4_UDP, LB_PROTO_UDP}};
	const struct lb_proxy_cfg *pc = p->cfg;
	struct lb_listen_val v = {
		.proxy_id = p->id,
		.flags = pc->n_routes ? LB_LISTEN_F_HAS_ROUTES : 0,
	};
	/* Packets of another family to the port are none of its business: they pass to the host. */
	unsigned int families = lb_proxy_families(pc);
	size_t i, a, pr;
	int ret;

	for (i = 0; i < pc->n_ifaces; i++) {
		unsigned int idx = if_nametoindex(pc->ifaces[i]);
		size_t before = img->n;

		/*
		 * Gone since lbd attached it (an apply refuses a new name that does not
		 * exist): no entry until an interface of that name comes back, under its own
		 * ifindex; the others' entries are written as usual.
		 */
		if (!idx) {
			lb_debug("proxy \"%s\": interface %s does not exist; no listener there",
				 pc->name, pc->ifaces[i]);
			continue;
		}
		for (pr = 0; pr < 2; pr++) {
			struct lb_listen_key k = {
				.ifindex = idx,
				.port = htons(pc->port),
				.proto = protos[pr][1],
			};

			if (!(pc->protocols & protos[pr][0]))
				continue;
			v.default_group = protos[pr][1] == LB_PROTO_TCP && p->acceptor_port
						  ? p->acceptor.id
						  : p->groups[0].id;
			if (pc->has_address) {
				k.addr = pc->address;
				listen_val(p, s, &k.addr, &v);
				ret = lb_map_image_push(img, &k, &v);
				if (ret)
					return ret;
				continue;
			}
			for (a = 0; a < addrs->n; a++) {
				if (addrs->e[a].ifindex != idx ||
				    !(families & lb_ip_family(&addrs->e[a].addr)))
					continue;
				k.addr = addrs->e[a].addr;
				listen_val(p, s, &k.addr, &v);
				ret = lb_map_image_push(img, &k, &v);
				if (ret)
					return ret;
			}
		}
		if (img->n == before)
			lb_warn("proxy \"%s\": %s has no %s address yet; its listener starts when "
				"one is added",
				pc->name, pc->ifaces[i],
				families == LB_FAMILY_V4   ? "IPv4"
				: families == LB_FAMILY_V6 ? "IPv6"
							   : "IPv4 or IPv6");
	}
	return 0;
}

/* Every entry @m wants, sorted and checked against the capacities. */
static int build(const struct lb_model *m, const struct lb_ifaddr_table *addrs, struct want *w,
		 char *err, size_t errlen)
{
	size_t p, i;
	int ret = 0;

	for (p = 0; p < m->n_proxies && !ret; p++) {
		ret = push_groups(w, &m->proxies[p]);
		if (!ret)
			ret = push_routes(&w->routes, &m->proxies[p]);
		if (!ret)
			ret = push_listeners(&w->listen, &m->proxies[p], &m->cfg->settings, addrs);
	}
	if (ret == -ENOMEM)
		return lb_errf(err, errlen, ret, "out of memory");
	if (ret)
		return ret;
	if (w->listen.n > LB_MAX_LISTENERS)
		return lb_errf(err, errlen, -ENOSPC,
			       "%zu listener entries (interface addresses x ports x protocols) "
			       "exceed the limit of %d",
			       w->listen.n, LB_MAX_LISTENERS);
	lb_map_image_sort(&w->listen);
	lb_map_image_sort(&w->routes);
	lb_map_image_sort(&w->groups);
	for (i = 1; i < w->listen.n; i++)
		if (!memcmp(w->listen.ents + (i - 1) * w->listen.ent_size,
			    w->listen.ents + i * w->listen.ent_size, w->listen.key_size))
			return lb_errf(err, errlen, -EEXIST,
				       "two proxies listen on the same address, port and protocol");
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

static int zero_fresh(struct lb_dataplane *dp, const struct lb_model *m)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < m->n_proxies && !ret; i++)
		if (m->proxies[i].fresh)
			ret = zero_stats(dp, lb_dataplane_fd_pstats(dp), m->proxies[i].id);
	for (i = 0; i < m->n_fresh_targets && !ret; i++) {
		struct lb_lconn_val none = {0};

		ret = zero_stats(dp, lb_dataplane_fd_tstats(dp), m->fresh_targets[i]);
		/* No flow carries a fresh id (idmap.c quarantines ids conntrack still holds). */
		if (!ret && bpf_map_update_elem(lb_dataplane_fd_lconn(dp), &m->fresh_targets[i],
						&none, BPF_ANY))
			ret = -errno;
	}
	return ret;
}

/* Rewrite the name tables (lb_pnames, lb_tnames) from @ids, in one batch each. */
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
	/* Retired ids too: flows that still carry them are named after a restart. */
	for (i = 0; i < LB_MAX_PROXIES; i++) {
		const char *name = lb_idmap_key_of(&ids->proxies, i);

		if (name)
			memcpy(pm[i].name, name, LB_PROXY_NAME_MAX);
	}
	for (i = 0; i < LB_MAX_TARGETS; i++) {
		const struct lb_target_key *k = lb_idmap_key_of(&ids->targets, i);
		struct lb_target_meta *t = &tm[i];

		if (!k)
			continue;
		t->proxy_id = k->proxy_id;
		t->addr = k->addr;
		t->port = htons(k->port);
		t->in_use = 1;
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

/*
 * The name tables say what the proxy and target ids said after the last sync. Rewriting
 * them costs more than the rest of a small sync (4,352 entries), so that happens only
 * when some id changed.
 */
static int sync_names(struct lb_mapsync *ms, const struct lb_ids *ids)
{
	struct lb_ids copy;
	int ret;

	if (lb_ids_same_names(&ms->names, ids))
		return 0;
	if (lb_ids_clone(&copy, ids))
		return -ENOMEM;
	ret = write_names(ms->dp, ids);
	if (ret) {
		/* A half-written table must say what it said. */
		if (write_names(ms->dp, &ms->names))
			lb_err("cannot restore the name tables");
		lb_ids_release(&copy);
		return ret;
	}
	lb_ids_release(&ms->names);
	ms->names = copy;
	return 0;
}

/* Read what the maps hold (when the images cannot say). */
static int read_held(struct lb_mapsync *ms, char *err, size_t errlen)
{
	struct lb_dataplane *dp = ms->dp;
	int ret;

	if (ms->held)
		return 0;
	ret = lb_map_image_read(lb_dataplane_fd_groups(dp), "lb_groups", &ms->groups, err, errlen);
	if (!ret)
		ret = lb_map_image_read(lb_dataplane_fd_routes(dp), "lb_routes", &ms->routes, err,
					errlen);
	if (!ret)
		ret = lb_map_image_read(lb_dataplane_fd_listen(dp), "lb_listen", &ms->listen, err,
					errlen);
	ms->held = !ret;
	if (!ret)
		index_groups(ms);
	return ret;
}

/* Write @w's difference from what the maps hold, in the order mapsync.h gives. */
static int write_diff(struct lb_mapsync *ms, const struct want *w, char *err, size_t errlen)
{
	struct lb_dataplane *dp = ms->dp;
	int fg = lb_dataplane_fd_groups(dp), fr = lb_dataplane_fd_routes(dp);
	int fl = lb_dataplane_fd_listen(dp);
	int ret;

	ret = lb_map_image_write_changed(fg, "lb_groups", &w->groups, &ms->groups, err, errlen);
	if (!ret)
		ret = lb_map_image_write_changed(fr, "lb_routes", &w->routes, &ms->routes, err,
						 errlen);
	/* Half-way: groups and routes written, listeners not yet. */
	if (!ret)
		ret = lb_fault("maps", err, errlen);
	if (!ret)
		ret = lb_map_image_write_changed(fl, "lb_listen", &w->listen, &ms->listen, err,
						 errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fl, "lb_listen", &w->listen, &ms->listen, err,
						errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fr, "lb_routes", &w->routes, &ms->routes, err,
						errlen);
	if (!ret)
		ret = lb_map_image_delete_stale(fg, "lb_groups", &w->groups, &ms->groups, err,
						errlen);
	return ret;
}

/* The held value of group @id, NULL when the maps hold none. */
static struct lb_group *held_group(struct lb_mapsync *ms, uint32_t id)
{
	uint32_t at = id < LB_MAX_GROUPS ? ms->group_at[id] : 0;

	if (!at)
		return NULL;
	return (struct lb_group *)(ms->groups.ents + (at - 1) * ms->groups.ent_size +
				   sizeof(__u32));
}

/* Write the queued inserts into lb_maglev and lb_gsets. 0 or -errno. */
static int flush_tables(struct lb_mapsync *ms)
{
	int ret = lb_outer_flush(&ms->maglev_q), ret2 = lb_outer_flush(&ms->gsets_q);

	return ret ? ret : ret2;
}

/* A sync that failed: its queued inserts are not written. */
static void drop_tables(struct lb_mapsync *ms)
{
	lb_outer_drop(&ms->maglev_q);
	lb_outer_drop(&ms->gsets_q);
}

/*
 * Point every group of @w at its tables, building those that changed. @old gets the ids
 * (bit 31: generation) whose held generation goes once the groups are written.
 */
static int prepare_all_tables(struct lb_mapsync *ms, struct want *w, uint32_t *old, size_t *n_old,
			      char *err, size_t errlen)
{
	struct lb_backend bk[LB_MAX_TARGETS_PER_GROUP];
	size_t i;
	int ret = 0;

	*n_old = 0;
	lb_outer_puts_init(&ms->maglev_q, lb_dataplane_fd_maglev(ms->dp));
	lb_outer_puts_init(&ms->gsets_q, lb_dataplane_fd_gsets(ms->dp));
	for (i = 0; i < w->groups.n; i++) {
		uint8_t *e = w->groups.ents + i * w->groups.ent_size;
		struct lb_group *held, *v;
		__u32 id;

		memcpy(&id, e, sizeof(id));
		held = held_group(ms, id);
		v = (struct lb_group *)(e + sizeof(id));
		if (v->n_backends > LB_GROUP_INLINE) {
			if (id >= LB_MAX_GROUPS || !w->big[id])
				return lb_errf(err, errlen, -EINVAL, "group %u: no backends", id);
			backends_of(w->big[id], bk);
		}
		ret = prepare_tables(ms, id, v, held,
				     v->n_backends > LB_GROUP_INLINE ? bk : v->backends);
		if (ret < 0) {
			drop_tables(ms);
			return lb_errf(err, errlen, ret,
				       "cannot write the Maglev table of group %u: %s", id,
				       strerror(-ret));
		}
		if (ret)
			old[(*n_old)++] = id | (held->table_gen & 1) << 31;
	}
	ret = flush_tables(ms);
	if (ret)
		return lb_errf(err, errlen, ret, "cannot write the Maglev tables: %s",
			       strerror(-ret));
	return 0;
}

/* After the groups are written: the replaced generations, and every table of a gone group. */
static void drop_old_tables(struct lb_mapsync *ms, const struct want *w, const uint32_t *old,
			    size_t n_old)
{
	uint8_t *kept = calloc(LB_MAX_GROUPS, 1);
	struct gone g;
	size_t i;

	if (!kept || gone_init(&g, n_old + 2 * ms->groups.n)) {
		free(kept);
		lb_warn("out of memory: old tables stay until the next change");
		return;
	}
	for (i = 0; i < n_old; i++)
		gone_add(&g, old[i] & ~(1u << 31), old[i] >> 31);
	for (i = 0; i < w->groups.n; i++) {
		__u32 id;

		memcpy(&id, w->groups.ents + i * w->groups.ent_size, sizeof(id));
		if (id < LB_MAX_GROUPS)
			kept[id] = 1;
	}
	for (i = 0; i < ms->groups.n; i++) {
		__u32 id;

		memcpy(&id, ms->groups.ents + i * ms->groups.ent_size, sizeof(id));
		if (id < LB_MAX_GROUPS && !kept[id] && out_of_line(held_group(ms, id))) {
			gone_add(&g, id, 0);
			gone_add(&g, id, 1);
		}
	}
	gone_delete(ms, &g);
	free(kept);
}

int lb_mapsync_apply(struct lb_mapsync *ms, const struct lb_model *m,
		     const struct lb_ifaddr_table *addrs, char *err, size_t errlen)
{
	uint32_t *old = NULL;
	size_t n_old = 0;
	struct want w;
	int ret;

	ms->seed = m->cfg->settings.hash_seed;
	ms->table_size = m->cfg->settings.maglev_table_size;
	images_init(&w.listen, &w.routes, &w.groups);
	w.big = calloc(LB_MAX_GROUPS, sizeof(*w.big));
	ret = w.big ? build(m, addrs, &w, err, errlen)
		    : lb_errf(err, errlen, -ENOMEM, "out of memory");
	if (!ret && (ret = zero_fresh(ms->dp, m)))
		lb_errf(err, errlen, ret, "cannot reset the counters of new ids: %s",
			strerror(-ret));
	if (!ret)
		ret = read_held(ms, err, errlen);
	if (!ret && !(old = calloc(w.groups.n + 1, sizeof(*old))))
		ret = lb_errf(err, errlen, -ENOMEM, "out of memory");
	if (!ret)
		ret = prepare_all_tables(ms, &w, old, &n_old, err, errlen);
	lb_inner_cache_clear(&ms->tables);
	lb_inner_cache_clear(&ms->sets);
	if (!ret)
		ret = write_diff(ms, &w, err, errlen);
	if (!ret)
		drop_old_tables(ms, &w, old, n_old);
	free(old);
	free(w.big);
	if (!ret && (ret = sync_names(ms, &m->ids)))
		lb_errf(err, errlen, ret, "cannot write the name tables: %s", strerror(-ret));
	if (!ret && (ret = lb_snat_sync(lb_dataplane_fd_snat(ms->dp), m, addrs)))
		lb_errf(err, errlen, ret, "cannot write the full-nat sources: %s", strerror(-ret));
	if (ret) {
		/* Some of it may be written: what the maps hold is unknown until read again. */
		ms->held = false;
		lb_map_image_release(&w.listen);
		lb_map_image_release(&w.routes);
		lb_map_image_release(&w.groups);
		return ret;
	}
	lb_map_image_release(&ms->listen);
	lb_map_image_release(&ms->routes);
	lb_map_image_release(&ms->groups);
	ms->listen = w.listen;
	ms->routes = w.routes;
	ms->groups = w.groups;
	index_groups(ms);
	lb_debug("maps synced: %zu listeners, %zu routes, %zu groups, %zu targets", w.listen.n,
		 w.routes.n, w.groups.n, m->ids.targets.n);
	return 0;
}

/*
 * Append the entry of model group @g to @keys/@vals (at *n) when the image holds another
 * value for it, and make the image say the new value.
 */
static int queue_group(struct lb_mapsync *ms, const struct lb_model_group *g, __u32 *keys,
		       struct lb_group *vals, uint32_t *old, size_t *n, size_t *n_old)
{
	struct lb_backend bk[LB_MAX_TARGETS_PER_GROUP];
	struct lb_group *held = held_group(ms, g->id);
	struct lb_group *v = &vals[*n];
	int ret;

	group_value(g, v);
	backends_of(g, bk);
	ret = prepare_tables(ms, g->id, v, held, bk);
	if (ret < 0)
		return ret;
	if (ret)
		old[(*n_old)++] = g->id | (held->table_gen & 1) << 31;
	if (held && !memcmp(held, v, sizeof(*v)))
		return 0;
	if (held)
		memcpy(held, v, sizeof(*v));
	else
		ms->held = false; /* not there: the next full sync reads the maps again */
	keys[(*n)++] = g->id;
	return 0;
}

int lb_mapsync_groups(struct lb_mapsync *ms, const struct lb_model_proxy *p, char *err,
		      size_t errlen)
{
	__u32 *keys = calloc(p->n_groups + 1, sizeof(*keys));
	struct lb_group *vals = calloc(p->n_groups + 1, sizeof(*vals));
	uint32_t *old = calloc(p->n_groups + 1, sizeof(*old));
	size_t r, n = 0, n_old = 0, i;
	int ret = keys && vals && old ? 0 : -ENOMEM;
	struct gone g;

	if (!ret)
		ret = read_held(ms, err, errlen);
	lb_outer_puts_init(&ms->maglev_q, lb_dataplane_fd_maglev(ms->dp));
	lb_outer_puts_init(&ms->gsets_q, lb_dataplane_fd_gsets(ms->dp));
	for (r = 0; r < p->n_groups && !ret; r++)
		if (p->groups[r].kind != LB_MG_SNI)
			ret = queue_group(ms, &p->groups[r], keys, vals, old, &n, &n_old);
	lb_inner_cache_clear(&ms->tables);
	lb_inner_cache_clear(&ms->sets);
	if (!ret)
		ret = flush_tables(ms);
	else
		drop_tables(ms);
	if (!ret && n)
		ret = lb_map_write_entries(lb_dataplane_fd_groups(ms->dp), (uint8_t *)keys,
					   (uint8_t *)vals, n, sizeof(*keys), sizeof(*vals));
	if (!ret && n_old && gone_init(&g, n_old))
		lb_warn("out of memory: old tables stay until the next change");
	else if (!ret && n_old) {
		for (i = 0; i < n_old; i++)
			gone_add(&g, old[i] & ~(1u << 31), old[i] >> 31);
		gone_delete(ms, &g);
	}
	free(old);
	if (ret) {
		ms->held = false;
		lb_errf(err, errlen, ret, "cannot update lb_groups: %s", strerror(-ret));
	} else {
		lb_debug("groups of \"%s\": %zu of %zu rewritten", p->cfg->name, n, p->n_groups);
	}
	free(keys);
	free(vals);
	return ret;
}
